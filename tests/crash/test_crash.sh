#!/usr/bin/env bash
# Crash isolation and ownership checks.
#   test_crash.sh TCD_WORKER TCD(or "") CRASH_PLUGIN SOURCE_DIR
# 1. tcd-worker with a plugin that abort()s / SIGSEGVs in forward dies by that signal.
# 2. Under tcd, such a job fails with reason plugin_crashed and tcd keeps answering.
# 3. Another uid cannot cancel or delete someone's job (403 permission_denied).
set -u
# Under AddressSanitizer a SIGSEGV is caught and turned into exit 1; let it
# kill the process as it would in a normal build.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
worker=$1
tcd=$2
plugin=$(realpath "$3")
src=$4
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/tcd-crash.XXXXXX)
chmod 755 "$tmp" # the second uid must reach the socket inside
tcd_pid=
cleanup() {
    [ -n "$tcd_pid" ] && kill -9 "$tcd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/     /' "$2"; }

spec="$tmp/crash.yaml"
printf 'model: {plugin: %s, after: 3}\ndata: {plugin: idx, limit: 1000}\ntrain: {epochs: 1}\n' "$plugin" >"$spec"

# --- 1. the worker alone --------------------------------------------------------------------
"$worker" run "$spec" --out "$tmp/w1" >/dev/null 2>"$tmp/w1.err"
rc=$?
[ "$rc" -eq 134 ] && ok "worker dies by SIGABRT (exit $rc)" || fail "worker dies by SIGABRT (exit $rc, want 134)" "$tmp/w1.err"
"$worker" run "$spec" --set model.segv=true --out "$tmp/w2" >/dev/null 2>"$tmp/w2.err"
rc=$?
[ "$rc" -eq 139 ] && ok "worker dies by SIGSEGV (exit $rc)" || fail "worker dies by SIGSEGV (exit $rc, want 139)" "$tmp/w2.err"

if [ -z "$tcd" ] || [ ! -x "$tcd" ]; then
    echo "tcd not built: skipping the daemon checks"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

# --- 2. under tcd ----------------------------------------------------------------------------
sock="$tmp/s.sock"
printf 'socket_mode: 0666\n' >"$tmp/tcd.yaml"
"$tcd" --state-dir "$tmp/state" --socket "$sock" --config "$tmp/tcd.yaml" 2>"$tmp/tcd.err" &
tcd_pid=$!
for _ in $(seq 1 100); do
    curl -s --unix-socket "$sock" http://tcd/v1/ping >/dev/null 2>&1 && break
    sleep 0.1
done
api() { curl -s --unix-socket "$sock" "$@"; }
submit() { # submit SPEC_FILE [SET...] -> prints the job id
    local f=$1
    shift
    $py - "$f" "$@" <<'PY' | api -X POST -H 'Content-Type: application/json' --data-binary @- http://tcd/v1/jobs |
import json, sys
print(json.dumps({"kind": "train", "spec_yaml": open(sys.argv[1]).read(), "set": sys.argv[2:]}))
PY
        tee -a "$tmp/submit.log" | $py -c 'import json,sys; print(json.load(sys.stdin).get("id",""))'
}
final_state() { # follow the events of job $1 to the end; print "state|reason"
    api "http://tcd/v1/jobs/$1/events?follow=1" >/dev/null
    api "http://tcd/v1/jobs/$1" | $py -c 'import json,sys; j=json.load(sys.stdin); print("%s|%s" % (j["state"], j.get("reason") or ""))'
}

for variant in "abort:6" "segv:11"; do
    name=${variant%%:*}
    sig=${variant##*:}
    sets=()
    [ "$name" = segv ] && sets=(model.segv=true)
    id=$(submit "$spec" "${sets[@]}")
    if [ -z "$id" ]; then
        fail "$name: job accepted" "$tmp/submit.log"
        continue
    fi
    res=$(timeout 120 bash -c "$(declare -f api final_state); sock=$sock; py=$py; final_state $id")
    case "$res" in
    "failed|plugin_crashed"*"signal $sig"*) ok "$name: job failed with $res" ;;
    *) fail "$name: job failed with plugin_crashed and signal $sig (got '$res')" ;;
    esac
    api http://tcd/v1/ping | grep -q '"api"' && ok "$name: tcd still answers" || fail "$name: tcd still answers"
done

# --- 3. ownership: another uid may not cancel or delete -------------------------------------
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
    echo "not root or no setpriv: the second-uid check is covered by the daemon's unit tests only"
else
    long="$tmp/long.yaml"
    printf 'model: {plugin: mlp}\ndata: {plugin: idx}\ntrain: {epochs: 3}\n' >"$long"
    id=$(submit "$long")
    other() { setpriv --reuid=65534 --regid=65534 --clear-groups curl -s --unix-socket "$sock" "$@"; }
    # (the other uid cannot write into $tmp: its output goes to our stdout)
    body=$(other -w '\n%{http_code}' -X POST "http://tcd/v1/jobs/$id/cancel")
    code=${body##*$'\n'}
    printf '%s\n' "$body" >"$tmp/other.json"
    if [ "$code" = 403 ] && grep -q permission_denied "$tmp/other.json"; then
        ok "uid 65534 cannot cancel a root job (403)"
    else
        fail "uid 65534 cannot cancel a root job (got $code)" "$tmp/other.json"
    fi
    code=$(other -o /dev/null -w '%{http_code}' -X DELETE "http://tcd/v1/jobs/$id")
    [ "$code" = 403 ] && ok "uid 65534 cannot delete a root job (403)" || fail "uid 65534 cannot delete a root job (got $code)" "$tmp/other.json"
    code=$(other -o /dev/null -w '%{http_code}' "http://tcd/v1/jobs/$id")
    [ "$code" = 200 ] && ok "uid 65534 can read the job" || fail "uid 65534 can read the job (got $code)"
    code=$(api -o "$tmp/own.json" -w '%{http_code}' -X POST "http://tcd/v1/jobs/$id/cancel")
    [ "$code" = 202 ] && ok "the owner can cancel (202)" || fail "the owner can cancel (got $code)" "$tmp/own.json"
    res=$(timeout 120 bash -c "$(declare -f api final_state); sock=$sock; py=$py; final_state $id")
    case "$res" in cancelled*) ok "job ends cancelled" ;; *) fail "job ends cancelled (got '$res')" ;; esac
fi

kill -TERM "$tcd_pid"
wait "$tcd_pid"
rc=$?
tcd_pid=
[ "$rc" -eq 0 ] && ok "tcd stops cleanly on SIGTERM" || fail "tcd stops cleanly on SIGTERM (exit $rc)" "$tmp/tcd.err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
