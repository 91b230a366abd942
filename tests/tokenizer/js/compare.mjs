// Compare tcd's token ids with the references, line by line.
//
//   node compare.mjs LABEL INPUT.jsonl TCD.jsonl RUST.jsonl [JS.jsonl]
//
// Fails (exit 1) when any line of TCD differs from RUST (Hugging Face's Rust tokenizers,
// the reference). Lines where @huggingface/tokenizers (JS) differs from tcd are counted
// and must be lines where JS also differs from Rust (known divergences of the JavaScript
// port: supplementary-plane CJK, final sigma, an empty second text). Prints one summary
// line, "LABEL: N texts, ...", and the first mismatches with the differing position.
import fs from "fs";

const [label, inPath, tcdPath, rustPath, jsPath] = process.argv.slice(2);
const lines = (p) => fs.readFileSync(p, "utf8").split("\n").filter((l) => l.length);
const inputs = lines(inPath);
const tcd = lines(tcdPath).map((l) => JSON.parse(l));
const rust = lines(rustPath).map((l) => JSON.parse(l));
const js = jsPath ? lines(jsPath).map((l) => JSON.parse(l)) : null;

function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const same = (a, b, key) => JSON.stringify(a[key] ?? null) === JSON.stringify(b[key] ?? null);
let bad = 0, jsDiff = 0, jsUnexplained = 0, tokens = 0, shown = 0;
const show = (what, i, a, b) => {
  if (shown++ >= 5) return;
  const text = JSON.parse(inputs[i]).text;
  const at = firstDiff(a.ids || [], b.ids || []);
  console.log(`  line ${i + 1}: ${what} at id ${at}: tcd ${JSON.stringify((a.ids || []).slice(Math.max(0, at - 3), at + 5))} ` +
    `ref ${JSON.stringify((b.ids || []).slice(Math.max(0, at - 3), at + 5))} ${a.error || b.error || ""}` +
    `\n    text: ${JSON.stringify(text.slice(0, 160))}`);
};
if (tcd.length !== inputs.length || rust.length !== inputs.length || (js && js.length !== inputs.length)) {
  console.log(`${label}: line counts differ: input ${inputs.length}, tcd ${tcd.length}, rust ${rust.length}` +
    (js ? `, js ${js.length}` : ""));
  process.exit(1);
}
for (let i = 0; i < inputs.length; i++) {
  tokens += (rust[i].ids || []).length;
  const keys = ["ids", "type_ids", "attention_mask"].filter((k) => k in tcd[i]);
  if (rust[i].error || !keys.every((k) => same(tcd[i], rust[i], k))) {
    bad++;
    show("differs from Rust", i, tcd[i], rust[i]);
  }
  if (js && js[i].ids && !same(tcd[i], js[i], "ids")) {
    jsDiff++;
    if (same(js[i], rust[i], "ids")) jsUnexplained++;
    else if (shown < 5) console.log(`  line ${i + 1}: @huggingface/tokenizers differs from Rust and tcd (known divergence)`);
  }
}
console.log(`${label}: ${inputs.length} texts, ${tokens} tokens: ${bad} differ from Rust tokenizers` +
  (js ? `, ${jsDiff} from @huggingface/tokenizers (${jsDiff - jsUnexplained} where it also differs from Rust)` : ""));
process.exit(bad ? 1 : 0);
