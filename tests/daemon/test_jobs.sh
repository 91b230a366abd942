#!/usr/bin/env bash
# End-to-end checks of tcd's job manager over its control socket with
# curl --unix-socket: ping, a small training job followed to its result,
# seq continuity, invalid specs, cancel (queued and running), timeouts,
# kill -9 of tcd and resume on restart, graceful SIGTERM and resume, a
# crashing worker, config checks.
# Usage: test_jobs.sh TCD TCD_WORKER SOURCE_DIR
set -u
tcd=$1
worker=$2
src=$3
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/tcdtest.XXXXXX)
sock=$tmp/s.sock
state=$tmp/state
tcd_pid=
passed=0
# Under AddressSanitizer a SIGSEGV would become "exit 1" with a report; let it kill the worker.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
failed=0

cleanup() {
    [ -n "$tcd_pid" ] && kill -KILL "$tcd_pid" 2>/dev/null
    pkill -KILL -f "$state/jobs/" 2>/dev/null
    if [ -n "${TCD_TEST_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/     /' "$2" | tail -n 30; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name" "$tmp/last"; fi; }

cat >"$tmp/tcd.yaml" <<'EOF'
# test config
train_concurrency: 1
cancel_grace_s: 5
max_jobs: 50
socket_mode: 0660
EOF

start_tcd() {
    "$tcd" --state-dir "$state" --socket "$sock" --config "$tmp/tcd.yaml" 2>>"$tmp/tcd.log" &
    tcd_pid=$!
    for _ in $(seq 1 100); do
        curl -s --unix-socket "$sock" http://tcd/v1/ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "tcd did not come up"; tail -n 20 "$tmp/tcd.log"
    return 1
}

# api METHOD PATH [BODY-FILE]: body in $tmp/last, HTTP status in $code
api() {
    local data=()
    [ -n "${3:-}" ] && data=(-H 'Content-Type: application/json' --data-binary "@$3")
    code=$(curl -s --max-time 60 --unix-socket "$sock" -X "$1" "${data[@]}" -o "$tmp/last" \
        -w '%{http_code}' "http://tcd$2")
}

# jfield FIELD: a field of the JSON in $tmp/last (dots for nesting)
jfield() {
    $py -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k] if v is not None else None
print("null" if v is None else v)' "$tmp/last" "$1" 2>/dev/null
}

# create_job NAME TIMEOUT SET...: prints the job id (empty on failure)
create_job() {
    local name=$1 timeout=$2
    shift 2
    $py -c '
import json, sys
spec = open(sys.argv[1]).read()
print(json.dumps({"kind": "train", "spec_yaml": spec, "set": sys.argv[4:], "name": sys.argv[2],
                  "timeout_s": float(sys.argv[3])}))' "$src/examples/fashion-mnist-mlp.yaml" \
        "$name" "$timeout" "$@" >"$tmp/body.json"
    api POST /v1/jobs "$tmp/body.json"
    [ "$code" = 201 ] && jfield id
}

# follow ID [SECONDS]: the whole event stream until the result, into $tmp/ev-ID
follow() {
    curl -s -N --max-time "${2:-120}" --unix-socket "$sock" \
        "http://tcd/v1/jobs/$1/events?follow=1" >"$tmp/ev-$1" 2>/dev/null
}

# wait_event ID PATTERN [SECONDS]: until an event line matches
wait_event() {
    local deadline=$((SECONDS + ${3:-60}))
    while [ $SECONDS -lt $deadline ]; do
        curl -s --max-time 5 --unix-socket "$sock" "http://tcd/v1/jobs/$1/events" 2>/dev/null \
            | grep -q -- "$2" && return 0
        sleep 0.2
    done
    return 1
}

job_state() { api GET "/v1/jobs/$1"; jfield state; }

# seq_ok FILE: seq 1..N without gaps, the last event a result
seq_ok() {
    $py -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
seqs = [e["seq"] for e in ev]
assert seqs == list(range(1, len(seqs) + 1)), seqs
assert ev[-1]["type"] == "result", ev[-1]
' "$1" 2>"$tmp/last"
}

small=(data.limit=2000 train.epochs=2 model.fc1=64 model.fc2=32)
long=(data.limit=20000 train.epochs=30)

# --- config checks (no daemon) -------------------------------------------------------------
printf 'train_concurrency: 2\nmax_bodyy: 10\n' >"$tmp/bad.yaml"
"$tcd" --config "$tmp/bad.yaml" --check-config >"$tmp/last" 2>&1
rc=$?
check "unknown config key: 78 naming file:line and key" \
    test "$rc" = 78 -a -n "$(grep "bad.yaml:2: 'max_bodyy' is not a known key" "$tmp/last")"
printf 'train_concurrency: lots\n' >"$tmp/bad2.yaml"
"$tcd" --config "$tmp/bad2.yaml" --check-config >"$tmp/last" 2>&1
rc=$?
check "ill-typed config value: 78" test "$rc" = 78 -a -n "$(grep "bad2.yaml:1: 'train_concurrency'" "$tmp/last")"
"$tcd" --config "$tmp/tcd.yaml" --state-dir "$state" --socket "$sock" --check-config >"$tmp/last" 2>&1
check "good config: --check-config 0" test $? = 0

# --- ping, a small job ---------------------------------------------------------------------
start_tcd || { echo "0 passed, 1 failed"; exit 1; }
api GET /v1/ping
check "ping answers api 1.0" test "$code" = 200 -a "$(jfield api)" = 1.0
check "socket mode 0660" test "$(stat -c %a "$sock")" = 660

id=$(create_job small 0 "${small[@]}")
check "create a small job: 201" test -n "$id"
follow "$id" 120
tail -n 1 "$tmp/ev-$id" >"$tmp/last"
check "follow ends with the result, succeeded" test "$(jfield type)" = result -a "$(jfield state)" = succeeded
check "job state succeeded" test "$(job_state "$id")" = succeeded
check "output/model.safetensors exists" test -s "$state/jobs/$id/output/model.safetensors"
check "events seq 1..N, last is the result" seq_ok "$tmp/ev-$id"
check "events.ndjson equals the stream" cmp -s "$tmp/ev-$id" "$state/jobs/$id/events.ndjson"
api GET "/v1/jobs/$id"
check "job result holds the metrics" test "$(jfield result.epochs_run)" = 2

# --- invalid spec --------------------------------------------------------------------------
printf '{"kind":"train","spec_yaml":"model: {plugin: mlp}\\ndata: {plugin: idx}\\ntrain: {epochz: 3}\\n"}' >"$tmp/bad.json"
api POST /v1/jobs "$tmp/bad.json"
check "invalid spec: 400 invalid_spec naming the key" \
    test "$code" = 400 -a "$(jfield error.code)" = invalid_spec -a -n "$(grep -o "epochz" "$tmp/last")"
bad_id=$(create_job badset 0 train.epochs=three)
check "invalid --set: refused" test -z "$bad_id" -a "$code" = 400
check "no job directory left for refused specs" test "$(ls "$state/jobs" | wc -l)" = 1

# --- cancel: running and queued ------------------------------------------------------------
run_id=$(create_job long 0 "${long[@]}")
queued_id=$(create_job queued 0 "${small[@]}")
check "second job waits in the queue (train_concurrency 1)" test "$(job_state "$queued_id")" = queued
api POST "/v1/jobs/$queued_id/cancel"
check "cancel a queued job: 202, cancelled at once" test "$code" = 202 -a "$(jfield state)" = cancelled
follow "$queued_id" 10
tail -n 1 "$tmp/ev-$queued_id" >"$tmp/last"
check "cancelled queued job ends with a result event" test "$(jfield type)" = result -a "$(jfield state)" = cancelled
wait_event "$run_id" '"type":"progress"' 60
api POST "/v1/jobs/$run_id/cancel"
check "cancel a running job: 202" test "$code" = 202
follow "$run_id" 60
check "running job ends cancelled" test "$(job_state "$run_id")" = cancelled
check "reason names the uid" test "$(jfield reason)" = "cancelled by uid $(id -u)"
check "cancelled job's events are continuous" seq_ok "$tmp/ev-$run_id"
api POST "/v1/jobs/$run_id/cancel"
check "cancel a finished job: 409" test "$code" = 409
api DELETE "/v1/jobs/$queued_id"
check "delete a finished job" test "$code" = 200 -a ! -e "$state/jobs/$queued_id"

# --- timeout -------------------------------------------------------------------------------
to_id=$(create_job timeout 1 "${long[@]}")
follow "$to_id" 60
check "timeout_s=1 ends timed_out" test "$(job_state "$to_id")" = timed_out
check "timeout reason" test "$(jfield reason)" = "timeout after 1 s"

# --- kill -9 tcd during a running job, restart: the job resumes ----------------------------
k_id=$(create_job resume 0 data.limit=20000 train.epochs=2)
wait_event "$k_id" '"name":"epoch_seconds"' 90
{ kill -KILL "$tcd_pid"; wait "$tcd_pid"; } 2>/dev/null
tcd_pid=
start_tcd
follow "$k_id" 120
check "resumed job succeeds after kill -9 of tcd" test "$(job_state "$k_id")" = succeeded
check "it resumed from the epoch-1 checkpoint" test "$(jfield result.resumed_from_epoch)" = 1
check "events continuous across the restart" seq_ok "$tmp/ev-$k_id"
check "a 'resuming' log event" grep -q 'daemon restarted; resuming from the last checkpoint' "$tmp/ev-$k_id"
check "attempts 2" test "$(job_state "$k_id" >/dev/null; jfield attempts)" = 2

# --- SIGTERM to tcd: graceful stop, the job stays running and resumes ------------------------
g_id=$(create_job graceful 0 data.limit=20000 train.epochs=2)
wait_event "$g_id" '"name":"epoch_seconds"' 90
kill -TERM "$tcd_pid"
t0=$SECONDS
wait "$tcd_pid"
rc=$?
tcd_pid=
check "SIGTERM: tcd exits 0 within the grace period" test "$rc" = 0 -a $((SECONDS - t0)) -le 10
check "no worker left behind" test -z "$(pgrep -f "$state/jobs/$g_id/spec.yaml")"
cp "$state/jobs/$g_id/job.json" "$tmp/last"
check "job.json still says running" test "$(jfield state)" = running
check "socket removed on exit" test ! -e "$sock"
start_tcd
follow "$g_id" 120
check "gracefully stopped job resumes and succeeds" test "$(job_state "$g_id")" = succeeded
check "events continuous across the graceful restart" seq_ok "$tmp/ev-$g_id"

# --- a crashing worker ---------------------------------------------------------------------
c_id=$(create_job crash 0 "${long[@]}")
wait_event "$c_id" '"type":"progress"' 60
pid=$(pgrep -f "$state/jobs/$c_id/spec.yaml" | head -n 1)
kill -SEGV "$pid"
follow "$c_id" 30
check "SIGSEGV in the worker: failed" test "$(job_state "$c_id")" = failed
check "reason plugin_crashed: signal 11" test "$(jfield reason)" = "plugin_crashed: signal 11 (Segmentation fault)"
check "exit.signal 11" test "$(jfield exit.signal)" = 11
tail -n 1 "$tmp/ev-$c_id" >"$tmp/last"
check "synthesized result event with the error" test "$(jfield error.code)" = plugin_crashed
api GET /v1/ping
check "tcd still answers ping" test "$code" = 200
api GET /v1/health
check "health ok, nothing running" test "$(jfield status)" = ok -a "$(jfield jobs.running)" = 0
api GET "/v1/jobs?state=succeeded"
check "list by state" test "$($py -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["jobs"]))' "$tmp/last")" = 3
api GET /v1/metrics
check "metrics" grep -q 'tcd_jobs{state="succeeded"} 3' "$tmp/last"

kill -TERM "$tcd_pid"
wait "$tcd_pid"
rc=$?
tcd_pid=
check "tcd exits 0 at the end" test "$rc" = 0
if grep -E -q "Sanitizer|runtime error" "$tmp/tcd.log"; then
    fail "no sanitizer reports in the daemon log" "$tmp/tcd.log"
else
    ok "no sanitizer reports in the daemon log"
fi
if grep -qi "hf_token" "$tmp/tcd.log"; then fail "no token in the log"; else ok "no token in the log"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
