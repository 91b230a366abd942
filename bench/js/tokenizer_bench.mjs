// bench/js/tokenizer_bench.mjs - the peers of bench/tokenizer_vs_hf.sh: encoding throughput of
// the Hub's @huggingface/tokenizers ("js") and of Hugging Face's Rust tokenizers through the
// Node binding of npm "tokenizers" ("rust", one awaited encode per text, as the parity tests
// call it; "rust-batch", one encodeBatch of all texts, which runs on Rayon's thread pool, every
// core unless RAYON_RS_NUM_CPUS says otherwise).
//
//   node bench/js/tokenizer_bench.mjs JSDIR TOKENIZER_JSON INPUT.jsonl [REPS]
//
// INPUT lines are {"text": ...}; all texts are read first and only the encoding is timed
// (encodings are kept and their tokens counted after the clock stops). Prints one line per
// implementation, in bench_tokenizer's format:
//   NAME texts=N bytes=B tokens=T best_s=S median_s=M
import { createRequire } from "module";
import fs from "fs";
import path from "path";

const [jsDir, tokPath, input, repsArg] = process.argv.slice(2);
if (!jsDir || !tokPath || !input) {
  console.error("usage: node tokenizer_bench.mjs JSDIR TOKENIZER_JSON INPUT.jsonl [REPS]");
  process.exit(2);
}
const reps = Number(repsArg || 5);
const require = createRequire(path.join(path.resolve(jsDir), "noop.js"));
const rustMod = require("tokenizers-linux-x64-gnu");
const jsMod = await import(path.join(path.resolve(jsDir), "node_modules/@huggingface/tokenizers/dist/tokenizers.mjs"));

const json = fs.readFileSync(tokPath, "utf8");
const texts = fs.readFileSync(input, "utf8").split("\n").filter((l) => l.length).map((l) => JSON.parse(l).text);
const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t, "utf8"), 0);

async function measure(name, run, count) {
  const secs = [];
  let tokens = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    const encs = await run();
    secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
    tokens = encs.reduce((s, e) => s + count(e), 0);
  }
  secs.sort((a, b) => a - b);
  console.log(`${name} texts=${texts.length} bytes=${bytes} tokens=${tokens} ` +
    `best_s=${secs[0].toFixed(6)} median_s=${secs[Math.floor(reps / 2)].toFixed(6)}`);
}

const jsTok = new jsMod.Tokenizer(JSON.parse(json), {});
await measure("js", async () => texts.map((t) => jsTok.encode(t, { add_special_tokens: true })), (e) => e.ids.length);

const rustTok = rustMod.Tokenizer.fromString(json);
await measure("rust", async () => {
  const out = [];
  for (const t of texts) out.push(await rustTok.encode(t, null, { addSpecialTokens: true }));
  return out;
}, (e) => e.getLength());
await measure("rust-batch", async () => await rustTok.encodeBatch(texts, { addSpecialTokens: true }), (e) => e.getLength());
