#!/usr/bin/env bash
# End-to-end checks of tcctl: usage errors (exit 2, push included), an unreachable daemon
# (exit 69), an unreadable spec (78), then against a real tcd: ping, train
# (--wait, --json, -q --detach), wait, jobs, status, logs, cancel (wait -> 3),
# a daemon-side --timeout (4), a client-side wait --timeout (4), an invalid
# spec (78), rm, plugins, and the bash completion.
#
#   test_tcctl.sh TCCTL TCD|"" TCD_WORKER SOURCE_DIR
#
# With an empty TCD only the daemon-free checks run.
set -u
tcctl=$1
tcd=$2
worker=$3
src=$4
py=/usr/bin/python3
# a short path: unix socket paths are limited to 108 bytes
tmp=$(mktemp -d /tmp/tcctl-test.XXXXXX)
sock=$tmp/tcd.sock
tcd_pid=
passed=0
failed=0

cleanup() {
    if [ -n "$tcd_pid" ]; then
        kill -TERM "$tcd_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$tcd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$tcd_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    for f in "$tmp/out" "$tmp/err"; do
        [ -s "$f" ] && sed 's/^/     /' "$f" | head -20
    done
}

# run CODE -- command...: run it with output in $tmp/out and $tmp/err; 0 if it exited CODE.
run() {
    local want=$1
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq "$want" ]
}

# expect NAME CODE [PATTERN] -- command...: exit CODE, and PATTERN (grep -E) in stdout+stderr.
expect() {
    local name=$1 code=$2 pattern=
    shift 2
    if [ "$1" != "--" ]; then pattern=$1; shift; fi
    if run "$code" "$@" && { [ -z "$pattern" ] || cat "$tmp/out" "$tmp/err" | grep -Eq -- "$pattern"; }; then
        ok "$name"
    else
        echo "     exit $rc (want $code)${pattern:+, want /$pattern/}"
        fail "$name"
    fi
}

# pycheck NAME FILE EXPR: FILE's JSON (or NDJSON lines as a list `lines`) makes EXPR true.
pycheck() {
    local name=$1 file=$2 expr=$3
    if "$py" - "$file" "$expr" <<'PY' >"$tmp/py" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/     /' "$tmp/py"; fi
import json, sys
text = open(sys.argv[1]).read()
lines = [json.loads(l) for l in text.splitlines() if l.strip()]
doc = lines[-1] if lines else None
if not eval(sys.argv[2]):
    print("false:", sys.argv[2]); print(text[:2000]); sys.exit(1)
PY
}

spec=$src/examples/fashion-mnist-mlp.yaml
small=(--set data.limit=2000 --set train.epochs=2 --set model.fc1=64 --set model.fc2=32)
# long enough to be cancelled or timed out while running
long=(--set data.limit=20000 --set train.epochs=50 --set model.fc1=256 --set model.fc2=64)
idre='^j[0-9a-f]{16}$'

# ---- without a daemon -------------------------------------------------------------------------
export TCD_SOCKET=$tmp/nothing-here.sock
expect "no command is a usage error" 2 "usage: tcctl" -- "$tcctl"
expect "unknown command" 2 "unknown command 'frobnicate'" -- "$tcctl" frobnicate
expect "unknown global flag" 2 "unknown flag '--frob'" -- "$tcctl" --frob ping
expect "--socket without a value" 2 "needs a value" -- "$tcctl" --socket
expect "train without a spec" 2 "usage: tcctl train" -- "$tcctl" train
expect "train --set without =" 2 "SECTION.KEY=VALUE" -- "$tcctl" train "$spec" --set epochs
expect "train --timeout garbage" 2 "duration" -- "$tcctl" train "$spec" --timeout soon
expect "train --wait --detach" 2 "exclude" -- "$tcctl" train "$spec" --wait --detach
expect "train --deadline garbage" 2 "--deadline wants a duration" -- "$tcctl" train "$spec" --deadline soon
expect "train --deadline 0" 2 "--deadline wants a duration" -- "$tcctl" train "$spec" --deadline 0
expect "train --deadline without a value" 2 "needs a value" -- "$tcctl" train "$spec" --deadline
expect "train --concurrency unknown" 2 "allow, forbid or replace; got 'sometimes'" -- "$tcctl" train "$spec" --concurrency sometimes
expect "train --skip-exit-code 256" 2 "0..255" -- "$tcctl" train "$spec" --skip-exit-code 256
expect "train --skip-exit-code x" 2 "0..255" -- "$tcctl" train "$spec" --skip-exit-code x
expect "train --schedule-key empty" 2 "--schedule-key wants 1..256 bytes" -- "$tcctl" train "$spec" --schedule-key ""
expect "train --idempotency-key too long" 2 "--idempotency-key wants 1..256 bytes" -- "$tcctl" train "$spec" --idempotency-key "$(head -c 257 /dev/zero | tr '\0' k)"
expect "train --idempotency-key and --no-idempotency-key" 2 "exclude each other" -- "$tcctl" train "$spec" --idempotency-key a --no-idempotency-key
expect "train unknown flag" 2 "unknown flag '--bogus'" -- "$tcctl" train "$spec" --bogus
expect "status without an id" 2 "usage: tcctl status ID" -- "$tcctl" status
expect "status with a malformed id" 2 "not a job id" -- "$tcctl" status ../../etc
expect "jobs --limit 0" 2 "1..1000" -- "$tcctl" jobs --limit 0
expect "jobs --state nonsense" 2 "unknown state" -- "$tcctl" jobs --state nonsense
expect "wait --timeout garbage" 2 "duration" -- "$tcctl" wait j0123456789abcdef --timeout x
expect "logs --since garbage" 2 "event number" -- "$tcctl" logs j0123456789abcdef --since -3
expect "push without a source" 2 "a job id or a directory to push is needed" -- "$tcctl" push --repo org/x
expect "push without --repo" 2 "--repo ORG/NAME is needed" -- "$tcctl" push "$tmp"
expect "push with a repo id without a slash" 2 "'gpt2' is not a repo id ORG/NAME" -- \
    "$tcctl" push "$tmp" --repo gpt2
expect "push with a repo id with a space" 2 "'org/a b' is not a repo id" -- \
    "$tcctl" push "$tmp" --repo "org/a b"
expect "push with a repo id with .." 2 "'org/..' is not a repo id" -- "$tcctl" push "$tmp" --repo org/..
expect "pull with a repo id ending with -" 2 "'org/x-' is not a repo id" -- "$tcctl" pull model org/x-
expect "push of a directory that does not exist" 2 "'$tmp/nope': no such directory" -- \
    "$tcctl" push "$tmp/nope" --repo org/x
expect "push of a relative directory that does not exist" 2 "'nope/x': no such directory" -- \
    "$tcctl" push nope/x --repo org/x
expect "push of a file" 2 "is not a directory" -- "$tcctl" push "$spec" --repo org/x
expect "push usage names the command" 2 "usage: tcctl push JOB_ID\|DIR --repo" -- \
    "$tcctl" push "$tmp/nope" --repo org/x
expect "push --repo without a value" 2 "--repo needs a value" -- "$tcctl" push "$tmp" --repo
expect "push --branch -x" 2 "--branch wants a branch name" -- "$tcctl" push "$tmp" --repo org/x --branch -x
expect "push --message ''" 2 "--message must be 1..4096 bytes" -- "$tcctl" push "$tmp" --repo org/x --message ''
expect "push --timeout garbage" 2 "duration" -- "$tcctl" push "$tmp" --repo org/x --timeout soon
expect "push unknown flag" 2 "unknown flag '--bogus'" -- "$tcctl" push "$tmp" --repo org/x --bogus
expect "push of two sources" 2 "one job id or directory only" -- "$tcctl" push "$tmp" /etc --repo org/x
expect "push --help exits 0" 0 "usage: tcctl push JOB_ID\|DIR --repo ORG/NAME" -- "$tcctl" push --help
expect "help push names --dataset and --private" 0 "--dataset.*--private" -- "$tcctl" help push
expect "a valid push of a relative directory reaches for the daemon (69)" 69 "nothing-here.sock" -- \
    env -C "$tmp" "$tcctl" push . --repo org/x --dataset --private --branch dev --message m --force
expect "plugins show without a name" 2 "usage: tcctl plugins" -- "$tcctl" plugins show
expect "completion for an unknown shell" 2 "bash" -- "$tcctl" completion tcsh
expect "--help exits 0" 0 "usage: tcctl" -- "$tcctl" --help
expect "train --help exits 0" 0 "usage: tcctl train" -- "$tcctl" train --help
expect "--version" 0 "^tcctl [0-9]+\.[0-9]+" -- "$tcctl" --version
if "$tcctl" completion bash | cmp -s - "$src/contrib/completion/tcctl.bash"; then
    ok "completion bash prints contrib/completion/tcctl.bash"
else
    fail "completion bash prints contrib/completion/tcctl.bash (regenerate with tests/tcctl/gen_completion.sh)"
fi
expect "unreachable daemon exits 69 naming the socket" 69 "$tmp/nothing-here.sock.*no such socket" -- "$tcctl" ping
expect "unreachable daemon suggests starting tcd" 69 "start it with .tcd" -- "$tcctl" jobs
"$py" -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$tmp/dead.sock"
expect "a dead socket exits 69 (connection refused)" 69 "refused" -- "$tcctl" --socket "$tmp/dead.sock" status j0123456789abcdef
if [ ! -e /run/tcd/tcd.sock ]; then
    expect "default socket is \$XDG_RUNTIME_DIR/tcd/tcd.sock" 69 "$tmp/xdg/tcd/tcd.sock" -- \
        env -u TCD_SOCKET XDG_RUNTIME_DIR="$tmp/xdg" "$tcctl" ping
    expect "without XDG_RUNTIME_DIR: /tmp/tcd-\$UID/tcd.sock" 69 "/tmp/tcd-$(id -u)/tcd.sock" -- \
        env -u TCD_SOCKET -u XDG_RUNTIME_DIR "$tcctl" ping
fi
expect "an unreadable spec exits 78" 78 "cannot read spec" -- "$tcctl" train "$tmp/missing.yaml"
head -c 300000 /dev/zero | tr '\0' '#' >"$tmp/huge.yaml"
expect "a spec over 256 KiB exits 78" 78 "larger than 256 KiB" -- "$tcctl" train "$tmp/huge.yaml"

if [ -z "$tcd" ]; then
    echo "note: tcd is not built; the daemon checks were skipped"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

# ---- against tcd ------------------------------------------------------------------------------
export TCD_SOCKET=$sock
start_tcd() {
    "$tcd" --state-dir "$tmp/state" --socket "$sock" >>"$tmp/tcd.log" 2>&1 &
    tcd_pid=$!
    for _ in $(seq 100); do
        "$tcctl" ping >/dev/null 2>&1 && break
        kill -0 "$tcd_pid" 2>/dev/null || break
        sleep 0.1
    done
}
# wait_running ID: until the job is running and has reported progress (at most 20 s)
wait_running() {
    local _
    for _ in $(seq 100); do
        "$tcctl" --json status "$1" 2>/dev/null | "$py" -c '
import json, sys
j = json.load(sys.stdin)
sys.exit(0 if j["state"] == "running" and (j.get("progress") or {}).get("completed") else 1)' && return 0
        sleep 0.2
    done
    return 1
}
start_tcd
expect "ping" 0 "^tcd .*api" -- "$tcctl" ping
if [ "$rc" -ne 0 ]; then
    echo "tcd did not come up; its log:"
    sed 's/^/     /' "$tmp/tcd.log" | tail -20
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
fi
expect "ping --json" 0 -- "$tcctl" --json ping
pycheck "ping --json has api" "$tmp/out" "doc['api'].startswith('1.')"
expect "--socket flag overrides TCD_SOCKET" 0 -- env TCD_SOCKET="$tmp/nothing-here.sock" "$tcctl" --socket "$sock" ping

expect "train waits and succeeds" 0 "succeeded" -- "$tcctl" train "$spec" "${small[@]}" --name small
grep -q "test_accuracy=" "$tmp/out" && ok "train prints the result metrics" || fail "train prints the result metrics"
expect "--json train prints the result line" 0 -- "$tcctl" --json train "$spec" "${small[@]}"
pycheck "--json train: one result line, succeeded" "$tmp/out" \
    "len(lines) == 1 and doc['type'] == 'result' and doc['state'] == 'succeeded' and 'test_accuracy' in doc['metrics']"

expect "-q train --detach prints an id" 0 "$idre" -- "$tcctl" -q train "$spec" "${small[@]}" --detach
id=$(head -1 "$tmp/out")
[ "$(wc -l <"$tmp/out")" -eq 1 ] && ok "-q train --detach prints only the id" || fail "-q train --detach prints only the id"
expect "wait ID exits 0" 0 "succeeded" -- "$tcctl" wait "$id"
expect "--json wait ID on a finished job" 0 -- "$tcctl" --json wait "$id"
pycheck "--json wait: the result line" "$tmp/out" "doc['type'] == 'result' and doc['state'] == 'succeeded'"

expect "jobs" 0 "^ID +KIND +STATE +NAME +CREATED +PROGRESS +REASON" -- "$tcctl" jobs
grep -Eq "$id +train +succeeded" "$tmp/out" && ok "jobs lists the job" || fail "jobs lists the job"
expect "jobs --json" 0 -- "$tcctl" jobs --json
pycheck "jobs --json is {\"jobs\":[...]} with states" "$tmp/out" \
    "len(doc['jobs']) == 3 and all('state' in j and 'id' in j for j in doc['jobs'])"
expect "-q jobs prints ids" 0 -- "$tcctl" -q jobs
[ "$(grep -cE "$idre" "$tmp/out")" -eq 3 ] && [ "$(wc -l <"$tmp/out")" -eq 3 ] &&
    ok "-q jobs: three ids, one per line" || fail "-q jobs: three ids, one per line"
expect "jobs --state succeeded --limit 1" 0 -- "$tcctl" --json jobs --state succeeded --limit 1
pycheck "jobs --limit 1 gives one" "$tmp/out" "len(doc['jobs']) == 1"

expect "status --json" 0 -- "$tcctl" --json status "$id"
pycheck "status --json is the job object" "$tmp/out" "doc['id'] == '$id' and doc['state'] == 'succeeded'"
expect "status" 0 "state +succeeded" -- "$tcctl" status "$id"
grep -q "^output " "$tmp/out" && grep -q "test_accuracy" "$tmp/out" &&
    ok "status shows output and metrics" || fail "status shows output and metrics"
expect "status of an unknown job" 1 "job_not_found" -- "$tcctl" status j0000000000000000

expect "logs" 0 "epoch" -- "$tcctl" logs "$id"
grep -Eq '^\[[0-9]{2}:[0-9]{2}:[0-9]{2}\] ' "$tmp/out" && grep -q "val_accuracy=" "$tmp/out" &&
    grep -q "result succeeded" "$tmp/out" && ok "logs: timestamped lines, metrics, result" ||
    fail "logs: timestamped lines, metrics, result"
expect "logs --json" 0 -- "$tcctl" --json logs "$id"
pycheck "logs --json is NDJSON ending with the result" "$tmp/out" \
    "len(lines) > 3 and doc['type'] == 'result' and [l['seq'] for l in lines] == sorted(l['seq'] for l in lines)"
n=$("$py" -c "import json,sys; print(len(open(sys.argv[1]).read().splitlines()))" "$tmp/out")
expect "logs --since" 0 -- "$tcctl" --json logs "$id" --since 2
pycheck "logs --since 2 starts at seq 3" "$tmp/out" "lines[0]['seq'] == 3 and len(lines) == $n - 2"
expect "logs -f on a finished job ends" 0 "result succeeded" -- timeout 20 "$tcctl" logs -f "$id"

# cancel a running job; a client-side wait --timeout first
expect "train --detach (long job)" 0 "$idre" -- "$tcctl" train "$spec" "${long[@]}" --detach
long_id=$(head -1 "$tmp/out")
wait_running "$long_id" || echo "     (the job did not start running in 20 s)"
expect "wait --timeout 1s gives up with 4" 4 "did not finish within 1s" -- "$tcctl" wait "$long_id" --timeout 1s
expect "rm of a running job is refused" 1 "conflict" -- "$tcctl" rm "$long_id"
expect "cancel" 0 "$long_id" -- "$tcctl" cancel "$long_id"
expect "wait on the cancelled job exits 3" 3 "cancelled" -- timeout 60 "$tcctl" wait "$long_id"
expect "cancel of a finished job" 1 "conflict" -- "$tcctl" cancel "$long_id"

# daemon-side timeout
expect "train --timeout 1s exits 4" 4 "timed_out" -- timeout 60 "$tcctl" train "$spec" "${long[@]}" --timeout 1s
expect "the timed-out job is timed_out" 0 -- "$tcctl" --json jobs --limit 1
pycheck "jobs shows timed_out with a reason" "$tmp/out" "doc['jobs'][0]['state'] == 'timed_out' and doc['jobs'][0]['timeout_s'] == 1"

# a worker that dies: the job fails, wait exits 1 with the reason
expect "train --detach (job to crash)" 0 "$idre" -- "$tcctl" train "$spec" "${long[@]}" --detach
crash_id=$(head -1 "$tmp/out")
wait_running "$crash_id"
worker_pid=$(pgrep -P "$tcd_pid" tcd-worker | head -1)
if [ -n "$worker_pid" ]; then
    kill -KILL "$worker_pid"
    expect "wait on a job whose worker was killed exits 1" 1 "failed: .*signal 9" -- timeout 60 "$tcctl" wait "$crash_id"
else
    fail "found the worker of $crash_id"
fi

# a follower survives a daemon restart: it reconnects and resumes at its last event; the job
# (resumed by the new daemon) is then cancelled, which the same `wait` reports with 3
expect "train --detach (job across a restart)" 0 "$idre" -- "$tcctl" train "$spec" "${long[@]}" --detach
rs_id=$(head -1 "$tmp/out")
wait_running "$rs_id"
"$tcctl" wait "$rs_id" >"$tmp/wait.out" 2>"$tmp/wait.err" &
wait_pid=$!
sleep 0.5
kill -TERM "$tcd_pid"
wait "$tcd_pid"
sleep 1
start_tcd
wait_running "$rs_id"
"$tcctl" cancel "$rs_id" >/dev/null
wait "$wait_pid"
rc=$?
if [ "$rc" -eq 3 ] && grep -q reconnecting "$tmp/wait.err"; then
    ok "wait follows a job across a daemon restart"
else
    echo "     exit $rc (want 3)"
    sed 's/^/     /' "$tmp/wait.out" "$tmp/wait.err" | tail -20
    fail "wait follows a job across a daemon restart"
fi
"$tcctl" --json logs "$rs_id" >"$tmp/out"
pycheck "events after a restart: no repeated seq, one result" "$tmp/out" \
    "len({l['seq'] for l in lines}) == len(lines) and [l['type'] for l in lines].count('result') == 1 and doc['state'] == 'cancelled'"

# invalid spec
printf 'model: {plugin: mlp, fc9: 3}\ndata: {plugin: idx}\n' >"$tmp/bad.yaml"
expect "an invalid spec exits 78 with the worker's message" 78 "fc9.*invalid_spec" -- "$tcctl" train "$tmp/bad.yaml"
expect "an invalid --set exits 78" 78 "invalid_spec" -- "$tcctl" train "$spec" --set train.epochs=three

# rm
expect "rm" 0 "deleted $id" -- "$tcctl" rm "$id"
expect "status after rm is job_not_found" 1 "job_not_found" -- "$tcctl" status "$id"

# plugins
expect "plugins" 0 "^NAME +KIND" -- "$tcctl" plugins
grep -Eq '^idx +data' "$tmp/out" && grep -Eq '^mlp +model' "$tmp/out" &&
    ok "plugins lists idx and mlp" || fail "plugins lists idx and mlp"
expect "plugins --json" 0 -- "$tcctl" --json plugins
pycheck "plugins --json" "$tmp/out" "{'idx', 'mlp'} <= {p.get('name') for p in doc['plugins']}"
expect "plugins show mlp" 0 "fc1 +int" -- "$tcctl" plugins show mlp
expect "plugins show of an unknown plugin" 1 "plugin_not_found" -- "$tcctl" plugins show nosuch

# permissions, as another uid (root only): the socket refuses us, then the daemon does
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -x "$tcctl" ] &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$tcctl"; then
    as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    chmod 755 "$tmp"
    expect "a socket we may not open exits 77" 77 "permission denied on $sock" -- as_nobody "$tcctl" ping
    chmod 666 "$sock"
    expect "removing another uid's job exits 77" 77 "permission_denied" -- as_nobody "$tcctl" rm "$rs_id"
    chmod 700 "$tmp"
else
    echo "note: the permission checks need root and setpriv; skipped"
fi

# completion against the live daemon
comp() {
    PATH="$(dirname "$tcctl"):$PATH" bash -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tcctl; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$src/contrib/completion/tcctl.bash" "$@"
}
[ "$(comp tcctl st)" = "$(printf 'status')" ] && ok "completion: commands" || fail "completion: commands"
comp tcctl plugins show "" | grep -qx mlp && ok "completion: plugin names" || fail "completion: plugin names"
comp tcctl status "" | grep -qx "$long_id" && ok "completion: job ids" || fail "completion: job ids"
comp tcctl train --d | grep -qx -- --detach && ok "completion: flags" || fail "completion: flags"
[ "$(comp tcctl push --d | sort | tr '\n' ' ')" = "--dataset --detach " ] &&
    ok "completion: push flags" || fail "completion: push flags"
[ "$(comp tcctl pu | sort | tr '\n' ' ')" = "pull push " ] && ok "completion: push is a command" ||
    fail "completion: push is a command"

kill -0 "$tcd_pid" 2>/dev/null && ok "tcd is still up" || fail "tcd is still up"
if [ "$failed" -ne 0 ]; then
    echo "tcd log (tail):"
    tail -20 "$tmp/tcd.log" | sed 's/^/     /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
