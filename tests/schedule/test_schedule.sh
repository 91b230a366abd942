#!/usr/bin/env bash
# Schedules inside tcd (issue 8), end to end with the real tcd, tcd-worker and tcctl and a tiny
# MLP spec (Fashion-MNIST, 500 examples, one epoch: about a second):
#   - bad schedules are refused by tcctl with exit 2 and a message naming the field (cron,
#     spec, time_zone, concurrency, keep_*), bad config-file schedules by tcd (78, file:line);
#   - a config-file schedule is listed (source config), cannot be removed through the API, and
#     `tcctl schedule run-now` creates its job at once (schedule set, slot null);
#   - a one-minute schedule (`* * * * *`) added with tcctl fires within its minute (a real
#     minute boundary), survives a tcd restart (still listed) and fires again after it;
#   - list shows next run, last run and its outcome; --json too; /v1/metrics has
#     tcd_schedule_last_success_by_name_timestamp{schedule="..."};
#   - history limits: keep_succeeded / keep_failed jobs are kept, older ones removed with their
#     directories;
#   - persistent: with tcd stopped across a slot (made fast with the test clock
#     TCD_TEST_NOW_OFFSET, see daemon/src/tcd/schedule.h), the latest missed slot runs once
#     at start, a non-persistent schedule's slot not at all, and another restart does not fire
#     it again; a tcd killed (TCD_TEST_CRASH) between saving a slot and creating its job does
#     not fire that slot after the restart (at most once).
#
#   test_schedule.sh TCD TCD_WORKER TCCTL SOURCE_DIR
set -u
tcd=$(realpath "$1")
worker=$(realpath "$2")
tcctl=$(realpath "$3")
src=$4
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/tcd-sched.XXXXXX)
sock=$tmp/tcd.sock
state=$tmp/state
tcd_pid=
passed=0
failed=0
t0=$SECONDS

cleanup() {
    if [ -n "$tcd_pid" ]; then
        kill -TERM "$tcd_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$tcd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$tcd_pid" 2>/dev/null
    fi
    if [ -n "${TCD_TEST_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1 ($((SECONDS - t0)) s)"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    for f in "$tmp/out" "$tmp/err"; do
        [ -s "$f" ] && sed 's/^/     /' "$f" | head -20
    done
    tail -n 15 "$tmp/tcd.log" | sed 's/^/     tcd: /'
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
# expect NAME CODE PATTERN -- command...: exit CODE and PATTERN (grep -E) in stdout+stderr.
expect() {
    local name=$1 code=$2 pattern=$3 rc
    shift 4
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = "$code" ] && cat "$tmp/out" "$tmp/err" | grep -Eq -- "$pattern"; then
        ok "$name"
    else
        echo "     exit $rc (want $code), pattern: $pattern"
        fail "$name"
    fi
}
ctl() { "$tcctl" --socket "$sock" "$@"; }

cat >"$tmp/spec.yaml" <<'EOF'
model: {plugin: mlp, fc1: 32, fc2: 16, dropout: 0.0}
data:  {plugin: idx, limit: 500}
train: {epochs: 1, batch_size: 64, optimizer: adamw, lr: 1.0e-3, schedule: constant, seed: 42, metric: accuracy, val_fraction: 0.1}
EOF
sed 's|data:  {plugin: idx, limit: 500}|data:  {plugin: idx, limit: 500, train_images: /nonexistent/x.gz}|' \
    "$tmp/spec.yaml" >"$tmp/fail.yaml"
cat >"$tmp/tcd.yaml" <<EOF
train_concurrency: 2
schedules:
  - name: fromconfig
    cron: "0 0 1 1 *"
    spec: $tmp/spec.yaml
    time_zone: Europe/Berlin
    keep_succeeded: 5
EOF

start_tcd() {
    env ${TEST_NOW:+TCD_TEST_NOW_OFFSET=$TEST_NOW} "$tcd" --state-dir "$state" --socket "$sock" \
        --config "$tmp/tcd.yaml" 2>>"$tmp/tcd.log" &
    tcd_pid=$!
    for _ in $(seq 100); do
        ctl ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "tcd did not come up"; tail -n 20 "$tmp/tcd.log"
    exit 1
}
stop_tcd() {
    kill -TERM "$tcd_pid"
    for _ in $(seq 100); do kill -0 "$tcd_pid" 2>/dev/null || break; sleep 0.1; done
    wait "$tcd_pid" 2>/dev/null
    tcd_pid=
}

# jobs_of NAME: "id state created slot" lines of the jobs of schedule NAME, oldest first
jobs_of() {
    ctl --json jobs --limit 1000 | $py -c '
import json, sys
jobs = [j for j in json.load(sys.stdin)["jobs"] if j.get("schedule") == sys.argv[1]]
for j in sorted(jobs, key=lambda j: j["created"]):
    print(j["id"], j["state"], j["created"], j["slot"])' "$1"
}
# wait_jobs NAME N SECONDS: until schedule NAME has N jobs, all finished
wait_jobs() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        if [ "$(jobs_of "$1" | grep -cvE ' (queued|running) ')" -ge "$2" ]; then return 0; fi
        sleep 0.3
    done
    return 1
}
# wait_done ID SECONDS: until job ID is in a final state
wait_done() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        case "$(ctl --json status "$1" 2>/dev/null | $py -c \
            'import json, sys; print(json.load(sys.stdin)["state"])' 2>/dev/null)" in
            succeeded | failed | cancelled | timed_out | interrupted) return 0 ;;
        esac
        sleep 0.3
    done
    return 1
}
# sched_field NAME FIELD: a field of the schedule in `tcctl --json schedule list` (dots nest)
sched_field() {
    ctl --json schedule list | $py -c '
import json, sys
s = [s for s in json.load(sys.stdin)["schedules"] if s["name"] == sys.argv[1]][0]
for k in sys.argv[2].split("."):
    s = s[k] if s is not None else None
print("null" if s is None else s)' "$1" "$2"
}

# --- config checks ----------------------------------------------------------------------------
cat >"$tmp/bad.yaml" <<EOF
schedules:
  - name: broken
    cron: "*/15 25 * * *"
    spec: $tmp/spec.yaml
EOF
expect "bad config schedule: tcd --check-config exits 78 naming file, line and field" 78 \
    "bad.yaml:2: schedule 'broken': cron 'hour' field: 25 is out of range 0-23" -- \
    "$tcd" --check-config --config "$tmp/bad.yaml" --state-dir "$state" --socket "$sock"
printf 'schedules:\n  - name: nospec\n    cron: "@daily"\n    spec: %s/none.yaml\n' "$tmp" \
    >"$tmp/bad2.yaml"
expect "config schedule with a missing spec: refused" 78 "schedule 'nospec': spec: cannot read" -- \
    "$tcd" --check-config --config "$tmp/bad2.yaml" --state-dir "$state" --socket "$sock"

start_tcd

# --- bad schedules through tcctl ----------------------------------------------------------------
expect "bad cron: exit 2 naming the field and token" 2 \
    "cron 'minute' field: 61 is out of range 0-59" -- \
    ctl schedule add bad --cron '61 * * * *' --spec "$tmp/spec.yaml"
expect "bad cron (fields): exit 2" 2 "cron expression must have 5 fields" -- \
    ctl schedule add bad --cron '* * *' --spec "$tmp/spec.yaml"
expect "bad weekday name: exit 2" 2 "cron 'day-of-week' field: 'funday' is not a number or name" -- \
    ctl schedule add bad --cron '0 0 * * funday' --spec "$tmp/spec.yaml"
expect "missing spec file: exit 2 naming spec" 2 "spec: cannot read '$tmp/none.yaml'" -- \
    ctl schedule add bad --cron '@daily' --spec "$tmp/none.yaml"
expect "unknown time zone: exit 2 naming time_zone" 2 "time_zone: unknown time zone 'Mars/Olympus'" -- \
    ctl schedule add bad --cron '@daily' --spec "$tmp/spec.yaml" --time-zone Mars/Olympus
expect "bad concurrency: exit 2" 2 "concurrency: 'sometimes' is not allow, forbid or replace" -- \
    ctl schedule add bad --cron '@daily' --spec "$tmp/spec.yaml" --concurrency sometimes
expect "bad keep_failed: exit 2" 2 "keep_failed: must be an integer" -- \
    ctl schedule add bad --cron '@daily' --spec "$tmp/spec.yaml" --keep-failed -1
expect "bad name: exit 2" 2 "name: must be" -- \
    ctl schedule add 'a/b' --cron '@daily' --spec "$tmp/spec.yaml"
expect "add without --cron: usage, exit 2" 2 "needs --cron" -- ctl schedule add bad --spec x
expect "name taken by the config file: 409" 1 "exists" -- \
    ctl schedule add fromconfig --cron '@daily' --spec "$tmp/spec.yaml"
expect "unknown field through the API: 400" 0 "invalid_schedule.*unknown field 'colour'" -- \
    curl -s --unix-socket "$sock" -d '{"name":"x","cron":"@daily","spec":"/x","colour":1}' \
    http://tcd/v1/schedules
check "nothing refused was added" test "$(ctl -q schedule list | tr '\n' ' ')" = "fromconfig "

# --- the routes' own checks ---------------------------------------------------------------------
# api STATUS METHOD PATH [BODY]: the HTTP status is STATUS (body in $tmp/out)
api() {
    local want=$1 method=$2 path=$3 body=${4:-} code
    code=$(curl -s -o "$tmp/out" -w '%{http_code}' --unix-socket "$sock" -X "$method" \
        ${body:+--data-binary "$body"} "http://tcd$path")
    [ "$code" = "$want" ] || { echo "     HTTP $code: $(cat "$tmp/out")"; return 1; }
}
not_found() { api 404 GET /v1/schedules/nothere && grep -q schedule_not_found "$tmp/out"; }
check "GET /v1/schedules/nothere: 404 schedule_not_found" not_found
check "PUT /v1/schedules: 405" api 405 PUT /v1/schedules
check "DELETE /v1/schedules/x/run: 405" api 405 DELETE /v1/schedules/x/run
check "an invalid schedule name in the path: 400" api 400 GET /v1/schedules/.hidden
check "a body on GET: 400" api 400 GET /v1/schedules '{}'
check "a query parameter: 400" api 400 GET '/v1/schedules?x=1'
check "a body that is not an object: 400" api 400 POST /v1/schedules '[1]'
deep=$($py -c 'print("{\"a\":" * 40 + "1" + "}" * 40)')
check "a definition nested too deep: 400" api 400 POST /v1/schedules "$deep"
check "run takes no body: 400" api 400 POST /v1/schedules/fromconfig/run '{}'
caps() { api 200 GET /v1/ping && grep -q '"schedules"' "$tmp/out"; }
check "ping lists the schedules capability" caps
ctl schedule add jitter --cron '0 0 1 1 *' --spec "$tmp/spec.yaml" --randomized-delay 7d >/dev/null
jit=$(sched_field jitter next_run)
check "randomized_delay 7d: next_run within [slot, slot + 7 d)" $py -c "import sys, time, calendar
n = $jit
slot = calendar.timegm((time.gmtime().tm_year + 1, 1, 1, 0, 0, 0))
sys.exit(not (slot <= n < slot + 7 * 86400 and n != slot))"
ctl schedule rm jitter >/dev/null

# --- config schedule: listed, read-only, run-now ---------------------------------------------
check "config schedule listed with its source and zone" \
    test "$(sched_field fromconfig source) $(sched_field fromconfig time_zone)" = "config Europe/Berlin"
expect "config schedule cannot be removed through the API" 1 "config file" -- \
    ctl schedule rm fromconfig
expect "run-now prints the job id at once" 0 '^j[0-9a-f]{16}$' -- ctl schedule run-now fromconfig
rn_id=$(cat "$tmp/out")
wait_done "$rn_id" 60
check "run-now job: schedule set, slot null, succeeded" \
    grep -Eq "^$rn_id succeeded [0-9.]+ None$" <(jobs_of fromconfig)

# --- a one-minute schedule ---------------------------------------------------------------------
expect "add a one-minute schedule" 0 "added schedule minute" -- \
    ctl schedule add minute --cron '* * * * *' --spec "$tmp/spec.yaml" --keep-succeeded 5
added_at=$($py -c 'import time; print(time.time())')
if wait_jobs minute 1 120; then
    read -r m_id m_state m_created m_slot < <(jobs_of minute | head -n 1)
    check "one-minute schedule fired within its minute (slot on the boundary, job created in it)" \
        $py -c "import sys; s, c, a = $m_slot, $m_created, $added_at; \
sys.exit(not (s % 60 == 0 and 0 <= c - s < 60 and a - 2 < s <= a + 61))"
    check "its job succeeded" test "$m_state" = succeeded
    ctl logs "$m_id" >"$tmp/out" 2>"$tmp/err"
    check "its log says which schedule and slot created it" \
        grep -Eq "created by schedule minute for the slot of [0-9-]+T[0-9:]+Z" "$tmp/out"
    # created as a scheduled run (docs/api.md "Scheduled runs"): key, one job per slot, forbid
    curl -s --unix-socket "$sock" "http://tcd/v1/jobs/$m_id" >"$tmp/out"
    check "its job: schedule_key schedule:minute, idempotency key of the slot, concurrency forbid" \
        $py -c "import json, sys, time; j = json.load(open('$tmp/out'))
slot = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime($m_slot))
sys.exit(not (j['schedule_key'] == 'schedule:minute' and
              j['idempotency_key'] == 'schedule:minute@' + slot and j['concurrency'] == 'forbid'))"
else
    fail "one-minute schedule fired within its minute"
fi
ctl schedule list >"$tmp/out" 2>"$tmp/err"
check "list: name, cron, zone, next and last run, outcome" \
    grep -Eq "^minute +\* \* \* \* \* +UTC +[0-9]{4}-[0-9-]+ [0-9:]+ +[0-9]{4}-[0-9-]+ [0-9:]+ +succeeded \(j" "$tmp/out"
check "list --json: next_run after the last run's slot" \
    $py -c "import sys; sys.exit(not ($(sched_field minute next_run) > $(sched_field minute last_run.slot)))"
curl -s --unix-socket "$sock" http://tcd/v1/metrics >"$tmp/out"
check "metrics: tcd_schedule_last_success_by_name_timestamp of the schedule" \
    grep -Eq '^tcd_schedule_last_success_by_name_timestamp\{schedule="minute"\} [0-9.]+$' "$tmp/out"

# restart: still listed, fires again
stop_tcd
start_tcd
restarted_at=$($py -c 'import time; print(time.time())')
check "after a restart the added schedule is still listed" \
    test "$(ctl -q schedule list | tr '\n' ' ')" = "fromconfig minute "
n_before=$(jobs_of minute | wc -l)
if wait_jobs minute $((n_before + 1)) 120; then
    read -r _ _ c2 s2 < <(jobs_of minute | tail -n 1)
    check "after the restart it fires again, on a later minute" \
        $py -c "import sys; sys.exit(not ($s2 > $m_slot and $s2 % 60 == 0 and 0 <= $c2 - $s2 < 60 \
and $c2 > $restarted_at))"
else
    fail "after the restart it fires again"
fi
ctl schedule rm minute >/dev/null
check "rm: removed" test "$(ctl -q schedule list | tr '\n' ' ')" = "fromconfig "

# --- history limits ---------------------------------------------------------------------------
ctl schedule add hist --cron '0 0 1 1 *' --spec "$tmp/spec.yaml" --keep-succeeded 2 \
    --keep-failed 1 >/dev/null
ctl schedule add histfail --cron '0 0 1 1 *' --spec "$tmp/fail.yaml" --keep-failed 1 >/dev/null
ids=()
for i in 1 2 3; do
    ids+=("$(ctl schedule run-now hist)")
    wait_done "${ids[-1]}" 60
done
fids=()
for i in 1 2; do
    fids+=("$(ctl schedule run-now histfail)")
    wait_done "${fids[-1]}" 60
done
sleep 1
check "keep_succeeded 2: the two newest succeeded jobs are kept" \
    test "$(jobs_of hist | awk '{print $1 ":" $2}' | tr '\n' ' ')" = "${ids[1]}:succeeded ${ids[2]}:succeeded "
check "the oldest succeeded job is gone with its directory" test ! -e "$state/jobs/${ids[0]}"
check "keep_failed 1: only the newest failed job is kept" \
    test "$(jobs_of histfail | awk '{print $1 ":" $2}' | tr '\n' ' ')" = "${fids[1]}:failed "
check "the older failed job's directory is removed" test ! -e "$state/jobs/${fids[0]}"
check "kept jobs keep their directories (checkpoints, output)" \
    test -d "$state/jobs/${ids[2]}/output" -a -d "$state/jobs/${ids[1]}"
ctl schedule list >"$tmp/out"
check "list shows a failed outcome" grep -Eq "^histfail .* failed \(${fids[1]}\)" "$tmp/out"
ctl schedule rm hist histfail >/dev/null

# --- persistent: a slot missed while tcd was stopped --------------------------------------------
ctl schedule add pers --cron '0 3 * * *' --spec "$tmp/spec.yaml" --persistent >/dev/null
ctl schedule add nopers --cron '0 3 * * *' --spec "$tmp/spec.yaml" >/dev/null
# the next 03:00 UTC; restart tcd with a clock 30 s past it
read -r slot offset < <($py -c '
import time
now = time.time()
slot = (int(now) // 86400) * 86400 + 3 * 3600
if slot <= now:
    slot += 86400
print(slot, int(slot + 30 - now))')
stop_tcd
TEST_NOW=$offset start_tcd
wait_jobs pers 1 30
sleep 2
check "persistent: the missed slot ran once at start, with its slot time" \
    test "$(jobs_of pers | awk '{print $2, $4}')" = "succeeded $slot"
check "not persistent: the missed slot did not run" test -z "$(jobs_of nopers)"
check "not persistent: next run is the following day's slot" \
    test "$(sched_field nopers next_run | cut -d. -f1)" = "$((slot + 86400))"
stop_tcd
TEST_NOW=$offset start_tcd
sleep 2
check "another restart does not fire the slot again" test "$(jobs_of pers | wc -l)" = 1
# a crash after the slot is saved and before its job exists: the slot is lost, never doubled
ctl schedule add crashy --cron '0 3 * * *' --spec "$tmp/spec.yaml" --persistent >/dev/null
stop_tcd
offset2=$((offset + 86400))
{
    env TCD_TEST_CRASH=schedule-after-slot TCD_TEST_NOW_OFFSET=$offset2 timeout 30 "$tcd" \
        --state-dir "$state" --socket "$sock" --config "$tmp/tcd.yaml" 2>>"$tmp/tcd.log"
    crash_rc=$?
} 2>/dev/null # bash's "Killed" line
rm -f "$sock"
check "TCD_TEST_CRASH=schedule-after-slot: tcd killed itself after saving the slot" \
    test "$crash_rc" = 137 -a "$(grep -c 'TCD_TEST_CRASH=schedule-after-slot' "$tmp/tcd.log")" = 1
TEST_NOW=$offset2 start_tcd
sleep 2
check "after the crash, neither the slot of crashy nor the second slot of pers fires again" \
    test "$(jobs_of crashy | wc -l) $(jobs_of pers | wc -l)" = "0 1"
check "last_run.slot says which slot was taken" \
    test "$(sched_field crashy last_run.slot | cut -d. -f1)" = "$((slot + 86400))"
check "the test clock is logged as test-only" grep -q "TCD_TEST_NOW_OFFSET=.*for tests only" "$tmp/tcd.log"
check "state file written atomically (no temp left)" \
    test -s "$state/schedules.json" -a -z "$(ls "$state" | grep -v -E '^(jobs|tmp|tcd.lock|schedules.json)$')"

echo "$passed passed, $failed failed ($((SECONDS - t0)) s)"
[ "$failed" = 0 ]
