#!/usr/bin/env bash
# bench/hub_download.sh - libtchub downloads from scripts/local-hub, beside curl.
#
#   bench/hub_download.sh [BUILD_DIR] [SIZE_MB] [N_SMALL]     (defaults: build, 1024, 1000)
#
# 1. One SIZE_MB LFS file: the library (tests/hub/hub_pull, a snapshot download
#    into a fresh cache, sha256 verified) versus `curl -o /dev/null` of the same
#    storage URL, in the same run; prints MB/s of each and the ratio. For context (not
#    the target): `curl -o FILE` + `sync FILE` + `sha256sum FILE`, which does the same
#    work as the library but one step after the other, and the library with its writer
#    thread turned off (TC_HUB_THREAD_MIN_BYTES, the path small files take).
# 2. A repo of N_SMALL small files: snapshot download with the default bounded
#    parallelism versus one at a time (HUB_PULL_PARALLEL=1).
# Everything stays on loopback. Not part of CI. Needs the build's hub_pull.
set -u
build=$(realpath "${1:-build}")
size_mb=${2:-1024}
n_small=${3:-1000}
src=$(cd "$(dirname "$0")/.." && pwd)
pull="$build/tests/hub/hub_pull"
[ -x "$pull" ] || pull="$build/bin/hub_pull"
[ -x "$pull" ] || { echo "hub_download: no hub_pull in $build (build the tests)" >&2; exit 1; }
. "$src/tests/hub_standin/lib.sh"
hub_start
CRED="!f() { echo username=u; echo password=$TOKEN; }; f"
now() { date +%s.%N; }

# --- 1. one large LFS file --------------------------------------------------------------------
create_repo org/big >/dev/null
git -c credential.helper="$CRED" clone -q "http://$HOSTPORT/org/big" "$WORK/big" && cd "$WORK/big" || exit 1
git lfs track '*.bin' >/dev/null
head -c $((size_mb * 1048576)) /dev/urandom >big.bin
git add -A && git commit -qm big && git -c credential.helper="$CRED" push -q origin main 2>/dev/null
rm -f big.bin
cd "$WORK" || exit 1
storage=$(curl -sS -o /dev/null -w '%{redirect_url}' -H "Authorization: Bearer $TOKEN" "$URL/org/big/resolve/main/big.bin")
sync
# Three rounds of curl then libtchub (a fresh cache each time), so neither side always runs
# first after the push's writeback; the medians are compared.
times=""
for round in 1 2 3; do
    t0=$(now)
    curl -sS -o /dev/null "$storage"
    t1=$(now)
    HF_ENDPOINT=$URL HF_HUB_CACHE=$WORK/cache1 HF_TOKEN=$TOKEN "$pull" snapshot model org/big main >/dev/null 2>"$WORK/pull1.err" ||
        { cat "$WORK/pull1.err"; exit 1; }
    t2=$(now)
    rm -rf "$WORK/cache1"
    sync
    times="$times $t0 $t1 $t2"
done
t2=$(now)
curl -sS -o "$WORK/big.curl" "$storage" && sync "$WORK/big.curl" && sha256sum "$WORK/big.curl" >/dev/null
t3=$(now)
rm -f "$WORK/big.curl"
TC_HUB_THREAD_MIN_BYTES=18446744073709551615 HF_ENDPOINT=$URL HF_HUB_CACHE=$WORK/cache0 HF_TOKEN=$TOKEN \
    "$pull" snapshot model org/big main >/dev/null 2>"$WORK/pull0.err" || { cat "$WORK/pull0.err"; exit 1; }
t4=$(now)
rm -rf "$WORK/cache0"
/usr/bin/python3 - "$size_mb" "$t2" "$t3" "$t4" $times <<'PY'
import statistics, sys
mb, t2, t3, t4 = float(sys.argv[1]), *map(float, sys.argv[2:5])
r = list(map(float, sys.argv[5:]))
curl = [r[i + 1] - r[i] for i in range(0, len(r), 3)]
lib = [r[i + 2] - r[i + 1] for i in range(0, len(r), 3)]
cm, lm = statistics.median(curl), statistics.median(lib)
print("rounds (s): curl " + " ".join(f"{x:.2f}" for x in curl) + "; libtchub " + " ".join(f"{x:.2f}" for x in lib))
print(f"{int(mb)} MB LFS file, medians: curl -o /dev/null {cm:6.2f} s ({mb/cm:7.1f} MB/s), "
      f"libtchub into the cache {lm:6.2f} s ({mb/lm:7.1f} MB/s), ratio {cm/lm:.2f}")
print(f"  context: curl -o FILE + sync + sha256sum {t3-t2:6.2f} s ({mb/(t3-t2):7.1f} MB/s); "
      f"libtchub without its writer thread {t4-t3:6.2f} s ({mb/(t4-t3):7.1f} MB/s)")
PY

# --- 2. many small files ----------------------------------------------------------------------
create_repo org/many >/dev/null
git -c credential.helper="$CRED" clone -q "http://$HOSTPORT/org/many" "$WORK/many" && cd "$WORK/many" || exit 1
for i in $(seq 1 "$n_small"); do echo "file $i" >"f$i.txt"; done
git add -A && git commit -qm many && git -c credential.helper="$CRED" push -q origin main 2>/dev/null
cd "$WORK" || exit 1
t0=$(now)
HF_ENDPOINT=$URL HF_HUB_CACHE=$WORK/cache2 HF_TOKEN=$TOKEN "$pull" snapshot model org/many main >/dev/null 2>&1
t1=$(now)
HUB_PULL_PARALLEL=1 HF_ENDPOINT=$URL HF_HUB_CACHE=$WORK/cache3 HF_TOKEN=$TOKEN "$pull" snapshot model org/many main >/dev/null 2>&1
t2=$(now)
/usr/bin/python3 - "$n_small" "$t0" "$t1" "$t2" <<'PY'
import sys
n, t0, t1, t2 = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"{n} small files: parallel (default) {t1-t0:6.2f} s, one at a time {t2-t1:6.2f} s, "
      f"speed-up {(t2-t1)/(t1-t0):.2f}x")
PY
hub_finish >/dev/null
