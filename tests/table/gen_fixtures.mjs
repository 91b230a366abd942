// tests/table/gen_fixtures.mjs - write the parquet fixtures of tests/fixtures/table/.
//
//   node tests/table/gen_fixtures.mjs [OUTDIR]     (default tests/fixtures/table)
//
// Writers: parquet-wasm (arrow-rs's writer compiled to wasm, fed Arrow tables built with
// apache-arrow) and hyparquet-writer. Every file is read back with hyparquet (an independent
// reader); its rows must equal the source rows, and they are written next to the file as
// expected/NAME.parquet.json, which the C tests compare libtc's reader with:
//
//   {"file": "NAME.parquet", "writer": "...", "row_groups": N,
//    "columns": [{"name": "i32", "type": "int", "supported": true}, ...],
//    "rows": [[cell, ...], ...]}     (only the supported columns, in schema order)
//
// Cells: null; true/false; int as a decimal string (int64 is exact); float as a number
// (float32 columns hold the float32 value widened to double); string as a string; bytes as
// {"hex": "..."}.
//
// The npm packages come from tests/table/js/package.json, installed by `scripts/setup --dev`
// into $TC_TABLE_JS_DIR (default ~/.cache/tcd/table-js). The output is deterministic: running
// it again rewrites the same bytes.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const jsDir = process.env.TC_TABLE_JS_DIR ||
    path.join(process.env.XDG_CACHE_HOME || path.join(process.env.HOME, '.cache'), 'tcd', 'table-js');
const outDir = path.resolve(process.argv[2] || path.join(here, '..', 'fixtures', 'table'));
const mod = (p) => pathToFileURL(path.join(jsDir, 'node_modules', p)).href;

const require = createRequire(path.join(jsDir, 'package.json'));
const pw = require('parquet-wasm/node');
const arrow = await import(mod('apache-arrow/Arrow.node.mjs'));
const hyparquet = await import(mod('hyparquet/src/index.js'));
const { compressors: hyCompressors } = await import(mod('hyparquet-compressors/src/index.js'));
const { parquetWriteBuffer } = await import(mod('hyparquet-writer/src/index.js'));

// ---- deterministic data -------------------------------------------------------------------

function rng(seed)
{
    let s = seed >>> 0;
    return () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const WORDS = [
    '', 'a', 'hello', 'héllo wörld', '日本語のテキスト', 'emoji 😀🎉', 'Ελληνικά γράμματα',
    'quote " and, comma', 'line\nbreak', 'tab\tseparated', 'naïve café', 'Ω≈ç√∫ ∑', 'x'.repeat(300),
    'Привет, мир', 'עברית', '한국어', 'ok',
];

// kind: bool int float string bytes (what libtc's reader reports); nulls: fraction of nulls.
function makeColumn(kind, n, seed, opts = {})
{
    const r = rng(seed);
    const out = [];
    for (let i = 0; i < n; i++) {
        if (opts.nulls && r() < opts.nulls) {
            out.push(null);
            continue;
        }
        switch (opts.gen || kind) {
        case 'bool': out.push(r() < 0.5); break;
        case 'i32': out.push(Math.floor(r() * 4294967296) - 2147483648); break;
        case 'i32small': out.push(Math.floor(r() * 7) - 3); break;
        case 'i64': out.push(BigInt.asIntN(64, (BigInt(Math.floor(r() * 4294967296)) << 32n) |
                                                  BigInt(Math.floor(r() * 4294967296)))); break;
        case 'i64small': out.push(BigInt(Math.floor(r() * 1000) - 500)); break;
        case 'f32': out.push(Math.fround((r() - 0.5) * 1e6)); break;
        case 'f64': out.push((r() - 0.5) * Math.pow(10, Math.floor(r() * 40) - 20)); break;
        case 'f64small': out.push(Math.floor(r() * 5) / 4); break;
        case 'string': out.push(WORDS[Math.floor(r() * WORDS.length)]); break;
        case 'text': out.push(`row ${i} ${WORDS[Math.floor(r() * WORDS.length)]} ${Math.floor(r() * 1e9)}`); break;
        case 'bytes': {
            const b = new Uint8Array(Math.floor(r() * 12));
            for (let k = 0; k < b.length; k++) b[k] = Math.floor(r() * 256);
            out.push(b);
            break;
        }
        default: throw new Error(`unknown generator ${opts.gen || kind}`);
        }
    }
    if (opts.edges) { // extreme values at the start, where the writer cannot drop them
        opts.edges.forEach((v, k) => { if (k < n) out[k] = v; });
    }
    return out;
}

const I32_EDGES = [2147483647, -2147483648, 0, -1];
const I64_EDGES = [9223372036854775807n, -9223372036854775808n, 0n, 9007199254740993n];
const F64_EDGES = [0, -0.5, 1.7976931348623157e308, 5e-324, 0.1];
const F32_EDGES = [Math.fround(3.4028234663852886e38), Math.fround(1.4e-45), Math.fround(0.1)];

// ---- normalising cells to the expected-JSON form --------------------------------------------

function hex(b)
{
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function norm(kind, v, unit)
{
    if (v === null || v === undefined) return null;
    switch (kind) {
    case 'bool': return !!v;
    case 'int':
        if (v instanceof Date) return String(unit === 'day' ? Math.round(v.getTime() / 86400000) : v.getTime());
        return typeof v === 'bigint' ? v.toString() : String(v);
    case 'float': return Number(v);
    case 'string':
        if (typeof v !== 'string') throw new Error(`string column gave ${typeof v}`);
        return v;
    case 'bytes':
        if (typeof v === 'string') return { hex: Buffer.from(v, 'utf8').toString('hex') };
        return { hex: hex(v) };
    default: throw new Error(`kind ${kind}`);
    }
}

async function readBack(buf)
{
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const meta = hyparquet.parquetMetadata(ab);
    const rows = await hyparquet.parquetReadObjects({ file: ab, compressors: hyCompressors, utf8: false });
    return { meta, rows };
}

// cols: [{name, kind, data, unit?, unsupported?}]; the source rows are data[i].
async function finish(name, writer, buf, cols)
{
    const { meta, rows } = await readBack(buf);
    const n = cols.length ? cols[0].data.length : 0;
    if (rows.length !== n) throw new Error(`${name}: hyparquet read ${rows.length} rows, wrote ${n}`);
    const supported = cols.filter(c => !c.unsupported);
    const out = [];
    for (let i = 0; i < n; i++) {
        const row = [];
        for (const c of supported) {
            const got = norm(c.kind, rows[i][c.name], c.unit);
            const want = norm(c.kind, c.data[i], c.unit);
            if (JSON.stringify(got) !== JSON.stringify(want) && !(Object.is(got, -0) && want === 0))
                throw new Error(`${name}: row ${i} column ${c.name}: hyparquet read ${JSON.stringify(got)}, wrote ${JSON.stringify(want)}`);
            row.push(got);
        }
        out.push(row);
    }
    fs.writeFileSync(path.join(outDir, 'parquet', `${name}.parquet`), buf);
    const expected = {
        file: `${name}.parquet`,
        writer,
        row_groups: meta.row_groups.length,
        columns: cols.map(c => ({ name: c.name, type: c.kind, supported: !c.unsupported })),
        rows: out,
    };
    fs.writeFileSync(path.join(outDir, 'expected', `${name}.parquet.json`), JSON.stringify(expected) + '\n');
    const encodings = new Set();
    for (const rg of meta.row_groups)
        for (const cc of rg.columns)
            for (const e of cc.meta_data.encodings) encodings.add(e);
    console.log(`${name}.parquet: ${buf.length} bytes, ${n} rows, ${meta.row_groups.length} row groups, ` +
                `${[...encodings].join(' ')}`);
}

// ---- parquet-wasm ---------------------------------------------------------------------------

function arrowType(c)
{
    const A = arrow;
    switch (c.atype) {
    case 'bool': return new A.Bool();
    case 'i8': return new A.Int8();
    case 'i16': return new A.Int16();
    case 'i32': return new A.Int32();
    case 'i64': return new A.Int64();
    case 'u8': return new A.Uint8();
    case 'u16': return new A.Uint16();
    case 'u32': return new A.Uint32();
    case 'u64': return new A.Uint64();
    case 'f32': return new A.Float32();
    case 'f64': return new A.Float64();
    case 'utf8': return new A.Utf8();
    case 'binary': return new A.Binary();
    case 'date': return new A.DateDay();
    case 'ts': return new A.TimestampMillisecond();
    default: throw new Error(`arrow type ${c.atype}`);
    }
}

async function parquetWasm(name, cols, props, extraVectors = {})
{
    const vectors = {};
    for (const c of cols) {
        if (c.unsupported) continue;
        vectors[c.name] = arrow.vectorFromArray(c.adata || c.data, arrowType(c));
    }
    Object.assign(vectors, extraVectors);
    const table = new arrow.Table(vectors);
    const ipc = arrow.tableToIPC(table, 'stream');
    const wt = pw.Table.fromIPCStream(ipc);
    let b = new pw.WriterPropertiesBuilder().setCreatedBy('tcd fixtures (parquet-wasm 0.8.0)');
    b = props(b);
    const buf = pw.writeParquet(wt, b.build());
    // Schema order of the file is the order of `vectors`.
    const order = Object.keys(vectors);
    const byName = Object.fromEntries(cols.map(c => [c.name, c]));
    await finish(name, 'parquet-wasm 0.8.0', buf, order.map(k => byName[k]));
}

function typesColumns(n, seed, nulls)
{
    const o = { nulls };
    return [
        { name: 'b', kind: 'bool', atype: 'bool', data: makeColumn('bool', n, seed + 1, o) },
        { name: 'i32', kind: 'int', atype: 'i32', data: makeColumn('int', n, seed + 2, { ...o, gen: 'i32', edges: I32_EDGES }) },
        { name: 'i64', kind: 'int', atype: 'i64', data: makeColumn('int', n, seed + 3, { ...o, gen: 'i64', edges: I64_EDGES }) },
        { name: 'f32', kind: 'float', atype: 'f32', data: makeColumn('float', n, seed + 4, { ...o, gen: 'f32', edges: F32_EDGES }) },
        { name: 'f64', kind: 'float', atype: 'f64', data: makeColumn('float', n, seed + 5, { ...o, gen: 'f64', edges: F64_EDGES }) },
        { name: 's', kind: 'string', atype: 'utf8', data: makeColumn('string', n, seed + 6, o) },
        { name: 'bin', kind: 'bytes', atype: 'binary', data: makeColumn('bytes', n, seed + 7, o) },
        { name: 'cat', kind: 'int', atype: 'i32', data: makeColumn('int', n, seed + 8, { ...o, gen: 'i32small' }) },
    ];
}

async function writeParquetWasm()
{
    const C = pw.Compression, V = pw.WriterVersion, E = pw.Encoding;
    await parquetWasm('pw_plain_v1_none', typesColumns(24, 100, 0),
        b => b.setCompression(C.UNCOMPRESSED).setWriterVersion(V.V1).setDictionaryEnabled(false));
    await parquetWasm('pw_dict_v1_snappy', typesColumns(40, 200, 0.3),
        b => b.setCompression(C.SNAPPY).setWriterVersion(V.V1).setDictionaryEnabled(true));
    await parquetWasm('pw_dict_v2_gzip', typesColumns(40, 300, 0.25),
        b => b.setCompression(C.GZIP).setWriterVersion(V.V2).setDictionaryEnabled(true));
    await parquetWasm('pw_plain_v2_zstd', typesColumns(40, 400, 0.25),
        b => b.setCompression(C.ZSTD).setWriterVersion(V.V2).setDictionaryEnabled(false).setEncoding(E.PLAIN));
    // Writer version 2 without a dictionary: arrow-rs falls back to DELTA_BINARY_PACKED (ints),
    // DELTA_BYTE_ARRAY (byte arrays) and RLE (booleans).
    await parquetWasm('pw_delta_v2_none', typesColumns(300, 500, 0.2),
        b => b.setCompression(C.UNCOMPRESSED).setWriterVersion(V.V2).setDictionaryEnabled(false));
    // Many row groups and many small pages per chunk; the tiny dictionary limit makes the
    // writer fall back from dictionary to plain pages inside a chunk.
    const rgCols = [
        { name: 'id', kind: 'int', atype: 'i64', data: Array.from({ length: 230 }, (_, i) => BigInt(i)) },
        { name: 'text', kind: 'string', atype: 'utf8', data: makeColumn('string', 230, 601, { gen: 'text', nulls: 0.1 }) },
        { name: 'label', kind: 'int', atype: 'i32', data: makeColumn('int', 230, 602, { gen: 'i32small' }) },
        { name: 'score', kind: 'float', atype: 'f64', data: makeColumn('float', 230, 603, { gen: 'f64small', nulls: 0.1 }) },
    ];
    await parquetWasm('pw_rowgroups_zstd', rgCols,
        b => b.setCompression(C.ZSTD).setWriterVersion(V.V1).setMaxRowGroupSize(32)
            .setDataPageSizeLimit(64).setWriteBatchSize(8).setDictionaryPageSizeLimit(128));
    await parquetWasm('pw_rowgroups_v2_snappy', rgCols,
        b => b.setCompression(C.SNAPPY).setWriterVersion(V.V2).setMaxRowGroupSize(50)
            .setDataPageSizeLimit(100).setWriteBatchSize(10).setDictionaryPageSizeLimit(256));

    // Logical types read as ints, and nested columns the reader lists but refuses.
    const n = 12;
    const ints = (lo, hi, seed) => { const r = rng(seed); return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1))); };
    const days = ints(-1000, 30000, 701);
    const ms = ints(0, 2000000000, 702).map(x => x * 1000 + 123);
    const extra = [
        { name: 'i8', kind: 'int', atype: 'i8', data: ints(-128, 127, 703) },
        { name: 'i16', kind: 'int', atype: 'i16', data: ints(-32768, 32767, 704) },
        { name: 'u8', kind: 'int', atype: 'u8', data: ints(0, 255, 705) },
        { name: 'u16', kind: 'int', atype: 'u16', data: ints(0, 65535, 706) },
        { name: 'u32', kind: 'int', atype: 'u32', data: [4294967295, ...ints(0, 4294967295, 707).slice(1)] },
        { name: 'u64', kind: 'int', atype: 'u64', data: ints(0, 1e9, 708).map(BigInt) },
        { name: 'day', kind: 'int', atype: 'date', unit: 'day', data: days, adata: days.map(d => new Date(d * 86400000)) },
        { name: 'ts', kind: 'int', atype: 'ts', unit: 'ms', data: ms, adata: ms.map(x => new Date(x)) },
        { name: 'nested', kind: 'string', unsupported: true, data: [] },
        { name: 'tags', kind: 'string', unsupported: true, data: [] },
        { name: 'title', kind: 'string', atype: 'utf8', data: makeColumn('string', n, 709, { nulls: 0.2 }) },
    ];
    const A = arrow;
    const structType = new A.Struct([new A.Field('x', new A.Int32(), true), new A.Field('y', new A.Utf8(), true)]);
    const nested = A.vectorFromArray(Array.from({ length: n }, (_, i) => ({ x: i, y: `y${i}` })), structType);
    const tags = A.vectorFromArray(Array.from({ length: n }, (_, i) => Array.from({ length: i % 3 }, (_, k) => k + i)),
        new A.List(new A.Field('item', new A.Int32(), true)));
    const vectors = {};
    for (const c of extra) {
        if (c.name === 'nested') vectors.nested = nested;
        else if (c.name === 'tags') vectors.tags = tags;
        else vectors[c.name] = A.vectorFromArray(c.adata || c.data, arrowType(c));
    }
    const table = new A.Table(vectors);
    const wt = pw.Table.fromIPCStream(A.tableToIPC(table, 'stream'));
    const buf = pw.writeParquet(wt, new pw.WriterPropertiesBuilder()
        .setCreatedBy('tcd fixtures (parquet-wasm 0.8.0)').setCompression(C.SNAPPY).build());
    for (const c of extra) if (c.unsupported) c.data = new Array(n).fill(null);
    await finish('pw_logical_nested_snappy', 'parquet-wasm 0.8.0', buf, extra);

    // No rows at all.
    await parquetWasm('pw_empty', [
        { name: 'a', kind: 'int', atype: 'i32', data: [] },
        { name: 's', kind: 'string', atype: 'utf8', data: [] },
    ], b => b);
}

// ---- hyparquet-writer -----------------------------------------------------------------------

function hwColumns(n, seed)
{
    const o = { nulls: 0.2 };
    return [
        { name: 'text', kind: 'string', type: 'STRING', data: makeColumn('string', n, seed + 1, o) },
        { name: 'label', kind: 'int', type: 'INT32', data: makeColumn('int', n, seed + 2, { ...o, gen: 'i32small' }) },
        { name: 'big', kind: 'int', type: 'INT64', data: makeColumn('int', n, seed + 3, { ...o, gen: 'i64', edges: I64_EDGES }) },
        { name: 'x', kind: 'float', type: 'DOUBLE', data: makeColumn('float', n, seed + 4, { ...o, gen: 'f64', edges: F64_EDGES }) },
        { name: 'y', kind: 'float', type: 'FLOAT', data: makeColumn('float', n, seed + 5, { ...o, gen: 'f32', edges: F32_EDGES }) },
        { name: 'flag', kind: 'bool', type: 'BOOLEAN', data: makeColumn('bool', n, seed + 6, o) },
        { name: 'raw', kind: 'bytes', type: 'BYTE_ARRAY', data: makeColumn('bytes', n, seed + 7, o) },
    ];
}

async function hyparquetWriter(name, cols, options)
{
    const ab = parquetWriteBuffer({
        columnData: cols.map(c => ({ name: c.name, data: c.data, type: c.type, ...(c.encoding ? { encoding: c.encoding } : {}) })),
        createdBy: 'tcd fixtures (hyparquet-writer 0.17.0)',
        ...options,
    });
    await finish(name, 'hyparquet-writer 0.17.0', new Uint8Array(ab), cols);
}

async function writeHyparquet()
{
    await hyparquetWriter('hw_default_snappy', hwColumns(60, 800), {});
    const enc = hwColumns(80, 900);
    const encodings = {
        text: 'DELTA_BYTE_ARRAY', label: 'DELTA_BINARY_PACKED', big: 'DELTA_BINARY_PACKED',
        x: 'BYTE_STREAM_SPLIT', y: 'BYTE_STREAM_SPLIT', flag: 'RLE', raw: 'DELTA_LENGTH_BYTE_ARRAY',
    };
    for (const c of enc) c.encoding = encodings[c.name];
    await hyparquetWriter('hw_encodings_none', enc, { codec: 'UNCOMPRESSED' });
    const gz = hwColumns(45, 1000);
    await hyparquetWriter('hw_gzip_rowgroups', gz, {
        codec: 'GZIP', rowGroupSize: 10, pageSize: 64,
        compressors: { GZIP: (b) => new Uint8Array(zlib.gzipSync(b, { level: 6 })) },
    });
}

fs.mkdirSync(path.join(outDir, 'parquet'), { recursive: true });
fs.mkdirSync(path.join(outDir, 'expected'), { recursive: true });
await writeParquetWasm();
await writeHyparquet();
