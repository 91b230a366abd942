// Reference encoders for the tokenizer parity tests.
//
//   node reference.mjs JSDIR rust|js TOKENIZER_JSON < cases.jsonl > ids.jsonl
//
// JSDIR holds node_modules with the packages of package.json (scripts/setup --dev installs
// them into ~/.cache/tcd/tokenizer-js). "rust" is Hugging Face's Rust tokenizers through
// the Node binding of the npm package "tokenizers" (the fast tokenizer transformers uses),
// "js" is @huggingface/tokenizers, the Hub's JavaScript port.
//
// Each input line is {"text": ..., "text_pair"?: ..., "options"?: {...}} with options
// add_special_tokens (default true), truncation ("longest_first", "only_first",
// "only_second"), max_length, padding ("max_length") and pad_to_multiple_of. Each output
// line is {"ids": [...], "type_ids": [...], "attention_mask": [...]}, {"error": "..."} when
// the reference refuses the input, or {"skip": "..."} when it cannot do what is asked (the
// JavaScript port has no truncation or padding).
import { createRequire } from "module";
import fs from "fs";
import path from "path";
import readline from "readline";

const STRATEGIES = { longest_first: "LongestFirst", only_first: "OnlyFirst", only_second: "OnlySecond" };

export async function loadReferences(jsDir) {
  const require = createRequire(path.join(path.resolve(jsDir), "noop.js"));
  const rust = require("tokenizers-linux-x64-gnu");
  const js = await import(
    path.join(path.resolve(jsDir), "node_modules/@huggingface/tokenizers/dist/tokenizers.mjs")
  );
  return { rust, js };
}

// A Rust tokenizer per distinct truncation/padding setting (they live in tokenizer.json).
export function rustEncoder(refs, tokenizerJson) {
  const cache = new Map();
  const base = JSON.parse(tokenizerJson);
  const padToken = (base.added_tokens || []).find((t) => t.content === "[PAD]" || t.content === "<pad>");
  return async (item) => {
    const o = item.options || {};
    const key = JSON.stringify([o.truncation, o.max_length, o.padding, o.pad_to_multiple_of]);
    if (!cache.has(key)) {
      const cfg = { ...base };
      cfg.truncation = o.truncation
        ? { direction: "Right", max_length: o.max_length, strategy: STRATEGIES[o.truncation], stride: 0 }
        : null;
      cfg.padding = o.padding
        ? {
            strategy: { Fixed: o.max_length },
            direction: "Right",
            pad_to_multiple_of: o.pad_to_multiple_of || null,
            pad_id: padToken.id,
            pad_type_id: 0,
            pad_token: padToken.content,
          }
        : null;
      cache.set(key, refs.rust.Tokenizer.fromString(JSON.stringify(cfg)));
    }
    const tok = cache.get(key);
    try {
      const e = await tok.encode(item.text, item.text_pair ?? null, {
        addSpecialTokens: o.add_special_tokens ?? true,
      });
      return { ids: e.getIds(), type_ids: e.getTypeIds(), attention_mask: e.getAttentionMask() };
    } catch (err) {
      return { error: String(err.message || err) };
    }
  };
}

// Rust's decode(ids, skip_special_tokens = true).
export function rustDecoder(refs, tokenizerJson) {
  const tok = refs.rust.Tokenizer.fromString(tokenizerJson);
  return async (ids) => await tok.decode(ids, true);
}

export function jsEncoder(refs, tokenizerJson) {
  const tok = new refs.js.Tokenizer(JSON.parse(tokenizerJson), {});
  return async (item) => {
    const o = item.options || {};
    if (o.truncation || o.padding) return { skip: "no truncation or padding in @huggingface/tokenizers" };
    try {
      const e = tok.encode(item.text, {
        text_pair: item.text_pair ?? null,
        add_special_tokens: o.add_special_tokens ?? true,
        return_token_type_ids: true,
      });
      return { ids: e.ids, type_ids: e.token_type_ids, attention_mask: e.attention_mask };
    } catch (err) {
      return { error: String(err.message || err) };
    }
  };
}

async function main() {
  const [jsDir, impl, tokPath] = process.argv.slice(2);
  if (!jsDir || !["rust", "js"].includes(impl) || !tokPath) {
    console.error("usage: node reference.mjs JSDIR rust|js TOKENIZER_JSON < cases.jsonl");
    process.exit(2);
  }
  const refs = await loadReferences(jsDir);
  const json = fs.readFileSync(tokPath, "utf8");
  const encode = impl === "rust" ? rustEncoder(refs, json) : jsEncoder(refs, json);
  const out = [];
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    out.push(JSON.stringify(await encode(JSON.parse(line))));
    if (out.length >= 256) {
      process.stdout.write(out.join("\n") + "\n");
      out.length = 0;
    }
  }
  if (out.length) process.stdout.write(out.join("\n") + "\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  await main();
}
