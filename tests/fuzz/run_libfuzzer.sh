#!/usr/bin/env bash
# tests/fuzz/run_libfuzzer.sh - run one libFuzzer target for a bounded time (a ctest entry).
#
#   run_libfuzzer.sh BINARY SECONDS WORKDIR SEED_DIR...
#
# New corpus entries go to WORKDIR/corpus (emptied first, never the seed directories), crash
# inputs to WORKDIR/artifacts/. Exits non-zero when the fuzzer finds a crash, a leak, a
# timeout (-timeout=10 s for one input) or an out-of-memory (-rss_limit_mb=2048).
set -euo pipefail
bin=$1
secs=$2
work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$@"
