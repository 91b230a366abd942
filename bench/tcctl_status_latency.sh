#!/usr/bin/env bash
# tcctl_status_latency.sh - how quickly tcd answers `tcctl status` while a
# training job keeps the CPUs busy.
#
#   bench/tcctl_status_latency.sh [BUILD_DIR] [N]      (defaults: build, 50)
#
# Starts tcd on a temporary state dir and socket, submits the full
# Fashion-MNIST MLP (examples/fashion-mnist-mlp.yaml), waits until it is
# running and has reported training progress, then runs N `tcctl status ID`
# at once, each timed on its own (fork + exec + connect + request + exit),
# and prints the success count and the p50 / p99 / max latency in ms. For
# scale it also times the same burst against the idle daemon (before the job)
# and N calls one after another under load. Cancels the job and stops tcd
# afterwards. Not part of CI.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-50}
bin=$build/bin
for b in tcd tcctl tcd-worker; do
    [ -x "$bin/$b" ] || { echo "no $bin/$b: build first (cmake --build $build)" >&2; exit 2; }
done
tmp=$(mktemp -d /tmp/tcctl-bench.XXXXXX)
export TCD_SOCKET=$tmp/tcd.sock
tcd_pid=
id=
cleanup() {
    [ -n "$id" ] && "$bin/tcctl" cancel "$id" >/dev/null 2>&1
    if [ -n "$tcd_pid" ]; then
        kill -TERM "$tcd_pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$tcd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$tcd_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

"$bin/tcd" --state-dir "$tmp/state" --socket "$TCD_SOCKET" >"$tmp/tcd.log" 2>&1 &
tcd_pid=$!
for _ in $(seq 100); do "$bin/tcctl" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$bin/tcctl" ping || { echo "tcd did not start:" >&2; tail "$tmp/tcd.log" >&2; exit 1; }

# burst LABEL ID: N concurrent `tcctl status ID`, each timed; prints a summary line
burst() {
    local i
    rm -f "$tmp"/lat.*
    for i in $(seq "$n"); do
        (
            s=$(date +%s%N)
            "$bin/tcctl" status "$2" >/dev/null 2>&1
            rc=$?
            e=$(date +%s%N)
            echo "$rc $(((e - s) / 1000))" >"$tmp/lat.$i"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    pids=()
    summary "$1"
}

# sequential LABEL ID: N calls one after another
sequential() {
    local i s e rc
    rm -f "$tmp"/lat.*
    for i in $(seq "$n"); do
        s=$(date +%s%N)
        "$bin/tcctl" status "$2" >/dev/null 2>&1
        rc=$?
        e=$(date +%s%N)
        echo "$rc $(((e - s) / 1000))" >"$tmp/lat.$i"
    done
    summary "$1"
}

summary() {
    cat "$tmp"/lat.* | /usr/bin/python3 -c '
import math, sys
rows = [l.split() for l in sys.stdin if l.strip()]
ok = sorted(int(us) / 1000 for rc, us in rows if rc == "0")
def pct(q):
    return ok[max(0, math.ceil(q * len(ok)) - 1)] if ok else float("nan")
print(f"{sys.argv[1]:<34} {len(ok)}/{len(rows)} ok   p50 {pct(0.5):7.1f} ms   p99 {pct(0.99):7.1f} ms   max {pct(1.0):7.1f} ms")
' "$1"
}
pids=()

# the same burst against an idle daemon, for scale
"$bin/tcctl" -q train examples/fashion-mnist-mlp.yaml --set train.epochs=1 --set data.limit=64 \
    --name warmup >"$tmp/warm.id" || exit 1
"$bin/tcctl" wait "$(cat "$tmp/warm.id")" >/dev/null 2>&1
burst "idle, $n concurrent" "$(cat "$tmp/warm.id")"

id=$("$bin/tcctl" -q train examples/fashion-mnist-mlp.yaml --name bench --detach) || exit 1
echo "job $id submitted; waiting for training progress"
for _ in $(seq 600); do
    "$bin/tcctl" --json status "$id" >"$tmp/job.json" 2>/dev/null
    /usr/bin/python3 - "$tmp/job.json" <<'PY' && break
import json, sys
j = json.load(open(sys.argv[1]))
p = j.get("progress") or {}
sys.exit(0 if j["state"] == "running" and (p.get("completed") or 0) > 0 else 1)
PY
    sleep 0.1
done
"$bin/tcctl" status "$id" | grep -E '^(state|progress)'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

burst "training, $n concurrent" "$id"
sequential "training, $n sequential" "$id"
"$bin/tcctl" status "$id" | grep -E '^state'
