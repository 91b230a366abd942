#!/usr/bin/env bash
# bench/parquet_vs_hyparquet.sh - parquet read throughput of libtc's <tc/table.h>
# (bench_table) beside npm hyparquet, in the same run on the same files.
#
#   bench/parquet_vs_hyparquet.sh [BUILD_DIR] [ROWS]        (defaults: build, 1000000)
#
# bench/js/parquet_bench.mjs writes ROWS deterministic rows ("id" int64, "score" double,
# "label" a short string of 8 values, "text" 3-40 words) with parquet-wasm, dictionary
# encoding on, row groups of 131,072 rows, once with snappy and once with zstd. Each file is
# loaded into memory, then read REPS times (default 3) in full by libtc (tc_table_next over
# every cell, one thread) and by hyparquet (parquetRead of every column, rows as arrays,
# strings decoded, hyparquet-compressors for zstd); the best pass is reported. Prints rows/s
# and MB/s (file bytes) of each, libtc's speedup, and checks that both read the same rows
# and the same checksum of the values (exit 1 when not). Needs node and `scripts/setup
# --dev`'s packages in $TC_TABLE_JS_DIR (default ~/.cache/tcd/table-js). Not part of CI.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-build}")
rows=${2:-1000000}
reps=${REPS:-3}
bench="$build/bin/bench_table"
jsdir=${TC_TABLE_JS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tcd/table-js}

die() {
    echo "parquet_vs_hyparquet: $*" >&2
    exit 1
}
[ -x "$bench" ] || die "no $bench (build first: cmake --build $build)"
command -v node >/dev/null || die "node is not installed (scripts/setup --dev)"
for p in hyparquet hyparquet-compressors parquet-wasm apache-arrow; do
    [ -f "$jsdir/node_modules/$p/package.json" ] || die "npm package $p is not in $jsdir (scripts/setup --dev)"
done
case $rows in '' | *[!0-9]* | 0) die "ROWS must be a positive integer, got '$rows'" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/parquet-vs-hyparquet.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
node --max-old-space-size=8192 "$root/bench/js/parquet_bench.mjs" "$jsdir" gen "$tmp/data" "$rows"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; best of $reps passes"
status=0
for codec in snappy zstd; do
    f="$tmp/data.$codec.parquet"
    "$bench" "$f" "$reps" >"$tmp/$codec.results"
    node --max-old-space-size=8192 "$root/bench/js/parquet_bench.mjs" "$jsdir" read "$f" "$reps" >>"$tmp/$codec.results"
    awk -v codec="$codec" '
    {
        name[NR] = $1
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] }
    }
    END {
        printf "%s: %d rows, %.2f MB (id int64, score double, label, text; dictionary, parquet-wasm)\n",
            codec, v[1, "rows"], v[1, "bytes"] / 1e6
        printf "  %-10s %9s %12s %9s %12s  %s\n", "impl", "best s", "rows/s", "MB/s", "tc speedup", "checksum"
        bad = 0
        for (r = 1; r <= NR; r++) {
            s = v[r, "best_s"]
            printf "  %-10s %9.3f %12.0f %9.2f %12s  %s\n", name[r], s, v[r, "rows"] / s,
                v[r, "bytes"] / 1e6 / s, r == 1 ? "-" : sprintf("%.2fx", s / v[1, "best_s"]), v[r, "checksum"]
            if (v[r, "rows"] != v[1, "rows"] || v[r, "checksum"] != v[1, "checksum"]) bad = 1
        }
        if (bad) { print "  sanity: MISMATCH in rows or checksum"; exit 1 }
        print "  sanity: same rows and checksum"
    }' "$tmp/$codec.results" || status=1
done
exit $status
