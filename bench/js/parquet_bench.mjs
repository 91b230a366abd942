// bench/js/parquet_bench.mjs - the files and the peer of bench/parquet_vs_hyparquet.sh.
//
//   node bench/js/parquet_bench.mjs JSDIR gen PREFIX ROWS   write PREFIX.snappy.parquet and
//                                                            PREFIX.zstd.parquet
//   node bench/js/parquet_bench.mjs JSDIR read FILE [REPS]  read FILE with hyparquet
//
// gen: ROWS deterministic rows of four columns, written with parquet-wasm (arrow-rs's writer)
// with dictionary encoding enabled (arrow-rs keeps it where the dictionary stays under 1 MiB:
// "label" and "id" pages fall back to PLAIN when the dictionary grows), data pages v1, row
// groups of 131,072 rows: "id" int64, "score" double, "label" a short string of 8 values,
// "text" 3 to 40 words (a few non-ASCII) of a 200-word vocabulary.
//
// read: the file is loaded into memory first; each pass is one hyparquet parquetRead of every
// column (rows as arrays, strings decoded, hyparquet-compressors for zstd), which alone is
// timed. Prints, as bench_table does:
//   hyparquet rows=N bytes=FILE_BYTES best_s=S median_s=M checksum=C
// checksum = int64 sum mod 2^64 : the bits of the double sum in row order (hex) : the sum over
// string cells of 31 * (UTF-16 length) + first UTF-16 unit : nulls.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [jsDir, mode, ...args] = process.argv.slice(2);
const mod = (p) => pathToFileURL(path.join(jsDir, "node_modules", p)).href;

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function gen(prefix, rows) {
  const require = createRequire(path.join(jsDir, "package.json"));
  const pw = require("parquet-wasm/node");
  const arrow = await import(mod("apache-arrow/Arrow.node.mjs"));
  const r = rng(6);
  const vocab = [];
  for (let i = 0; i < 200; i++) {
    let w = "";
    const n = 2 + Math.floor(r() * 9);
    for (let j = 0; j < n; j++) w += String.fromCharCode(97 + Math.floor(r() * 26));
    if (i % 40 === 0) w += ["é", "ü", "ß", "日本", "😀"][i / 40];
    vocab.push(w);
  }
  const labels = ["spam", "ham", "news", "sports", "tech", "finance", "travel", "other"];
  const id = new BigInt64Array(rows), score = new Float64Array(rows);
  const label = new Array(rows), text = new Array(rows);
  for (let i = 0; i < rows; i++) {
    id[i] = BigInt(i) * 1000003n + BigInt(Math.floor(r() * 1000)) - 500000n;
    score[i] = (r() - 0.5) * 1000;
    label[i] = labels[Math.floor(r() * labels.length)];
    const n = 3 + Math.floor(r() * 38);
    const words = new Array(n);
    for (let j = 0; j < n; j++) words[j] = vocab[Math.floor(r() * vocab.length)];
    text[i] = words.join(" ");
  }
  const table = new arrow.Table({
    id: arrow.makeVector(id),
    score: arrow.makeVector(score),
    label: arrow.vectorFromArray(label, new arrow.Utf8()),
    text: arrow.vectorFromArray(text, new arrow.Utf8()),
  });
  const wt = pw.Table.fromIPCStream(arrow.tableToIPC(table, "stream"));
  for (const [name, codec] of [["snappy", pw.Compression.SNAPPY], ["zstd", pw.Compression.ZSTD]]) {
    const props = new pw.WriterPropertiesBuilder()
      .setCreatedBy("tcd bench (parquet-wasm 0.8.0)")
      .setCompression(codec)
      .setWriterVersion(pw.WriterVersion.V1)
      .setDictionaryEnabled(true)
      .setMaxRowGroupSize(131072)
      .build();
    fs.writeFileSync(`${prefix}.${name}.parquet`, pw.writeParquet(wt.clone ? wt.clone() : pw.Table.fromIPCStream(arrow.tableToIPC(table, "stream")), props));
  }
}

function checksum(rows) {
  let isum = 0n, fsum = 0, ssum = 0, nulls = 0;
  for (const row of rows) {
    for (const v of row) {
      if (v === null || v === undefined) nulls++;
      else if (typeof v === "bigint") isum += v;
      else if (typeof v === "number") fsum += v;
      else if (typeof v === "string") ssum += 31 * v.length + (v.length ? v.charCodeAt(0) : 0);
    }
  }
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, fsum);
  return `${BigInt.asUintN(64, isum)}:${dv.getBigUint64(0).toString(16).padStart(16, "0")}:${ssum}:${nulls}`;
}

async function read(file, reps) {
  const { parquetRead } = await import(mod("hyparquet/src/index.js"));
  const { compressors } = await import(mod("hyparquet-compressors/src/index.js"));
  const buf = fs.readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const secs = [];
  let rows;
  for (let r = 0; r < reps; r++) {
    rows = null;
    const t0 = process.hrtime.bigint();
    await parquetRead({ file: ab, compressors, onComplete: (data) => { rows = data; } });
    secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  secs.sort((a, b) => a - b);
  console.log(`hyparquet rows=${rows.length} bytes=${ab.byteLength} best_s=${secs[0].toFixed(6)} ` +
    `median_s=${secs[Math.floor(reps / 2)].toFixed(6)} checksum=${checksum(rows)}`);
}

if (mode === "gen") await gen(args[0], Number(args[1]));
else if (mode === "read") await read(args[0], Number(args[1] || 3));
else {
  console.error("usage: parquet_bench.mjs JSDIR gen PREFIX ROWS | read FILE [REPS]");
  process.exit(2);
}
