#!/usr/bin/env bash
# bench/hub_push.sh - pushing a large model to scripts/local-hub: `tcctl push` (through tcd
# and tcd-worker, libtchub) versus stock `git push` with git-lfs, in the same run.
#
#   bench/hub_push.sh [BUILD_DIR] [SIZE_MB]        (defaults: build, 500)
#
# A folder with a SIZE_MB model.safetensors (random bytes) and a config.json is pushed
#   1. by `tcctl push DIR --repo org/bench-tcctl` (hashing, LFS upload, commit, git push;
#      the stand-in asks for the Hub's multipart transfer above 64 MiB, 16 MiB parts), and
#   2. by stock git + git-lfs into org/bench-git: `git add` + `git commit` (git-lfs's clean
#      filter hashes and copies the file) and `git push` (LFS basic upload, then the pack),
#      timed separately and together.
# Each goes to a fresh repo, so everything is uploaded. Prints seconds, MB/s and the ratio
# of git's total time to tcctl's (above 1: tcctl push is faster). HUB_ARGS passes options to
# scripts/local-hub (see hub_start below). Not part of CI.
set -u
build=$(realpath "${1:-build}")
size_mb=${2:-500}
src=$(cd "$(dirname "$0")/.." && pwd)
for b in tcd tcctl tcd-worker; do
    [ -x "$build/bin/$b" ] || { echo "hub_push: no $build/bin/$b (build first)" >&2; exit 1; }
done
. "$src/tests/hub_standin/lib.sh"
# HUB_ARGS: extra scripts/local-hub options, e.g. "--multipart-threshold 1000000000000" to have
# the stand-in offer the basic transfer only (as stock git-lfs always gets)
# shellcheck disable=SC2086
hub_start ${HUB_ARGS:-}
export TCD_SOCKET=$WORK/tcd.sock HF_ENDPOINT=$URL HF_TOKEN=$TOKEN HF_HUB_CACHE=$WORK/cache
"$build/bin/tcd" --state-dir "$WORK/state" --socket "$TCD_SOCKET" >"$WORK/tcd.log" 2>&1 &
tcd_pid=$!
for _ in $(seq 100); do "$build/bin/tcctl" ping >/dev/null 2>&1 && break; sleep 0.1; done
now() { date +%s.%N; }

mkdir -p "$WORK/model" "$WORK/model2"
head -c $((size_mb * 1048576)) /dev/urandom >"$WORK/model/model.safetensors"
echo '{"model_type": "tc-mlp"}' >"$WORK/model/config.json"
sync

t0=$(now)
"$build/bin/tcctl" push "$WORK/model" --repo org/bench-tcctl >"$WORK/tcctl.out" 2>"$WORK/tcctl.err" ||
    { cat "$WORK/tcctl.err"; kill "$tcd_pid"; exit 1; }
t1=$(now)

create_repo org/bench-git >/dev/null
gitauth clone -q "$URL/org/bench-git" "$WORK/git" && cd "$WORK/git" || exit 1
git lfs track '*.safetensors' >/dev/null
# other random bytes: the stand-in stores LFS objects by oid across repos, so the same file
# would not be uploaded again
head -c $((size_mb * 1048576)) /dev/urandom >model.safetensors
cp "$WORK/model/config.json" .
sync
t2=$(now)
git add -A && git commit -qm bench
t3=$(now)
gitauth push -q origin main 2>"$WORK/git.err" || { cat "$WORK/git.err"; exit 1; }
t4=$(now)
cd "$WORK" || exit 1
# context: the library alone (tests/hub/hub_push: no daemon, no worker process), other bytes
head -c $((size_mb * 1048576)) /dev/urandom >"$WORK/model2/model.safetensors"
cp "$WORK/model/config.json" "$WORK/model2/"
sync
t5=$(now)
"$build/bin/hub_push" model org/bench-lib "$WORK/model2" >/dev/null 2>"$WORK/lib.err" || cat "$WORK/lib.err"
t6=$(now)
kill "$tcd_pid" 2>/dev/null && wait "$tcd_pid" 2>/dev/null
/usr/bin/python3 - "$size_mb" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$t6" <<'PY'
import sys
mb, t0, t1, t2, t3, t4, t5, t6 = float(sys.argv[1]), *map(float, sys.argv[2:])
tc, add, push = t1 - t0, t3 - t2, t4 - t3
print(f"{int(mb)} MB model: tcctl push {tc:6.2f} s ({mb/tc:6.1f} MB/s); "
      f"git add+commit {add:5.2f} s + git push {push:5.2f} s = {add+push:6.2f} s ({mb/(add+push):6.1f} MB/s)")
print(f"  ratio git total / tcctl push = {(add+push)/tc:.2f}; git push alone / tcctl push = {push/tc:.2f}")
print(f"  context: libtchub alone (hub_push) {t6-t5:6.2f} s ({mb/(t6-t5):6.1f} MB/s)")
PY
grep -c '^PUT /_storage/part/' "$WORK/root/requests.log" | xargs echo "  tcctl push multipart PUTs:"
hub_finish >/dev/null
