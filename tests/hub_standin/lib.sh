# Shared helpers for the scripts/local-hub fidelity tests (sourced by bash test scripts).
# Usage: . lib.sh; hub_start [extra local-hub args]; ... ; hub_finish
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
HUB="$SRC/scripts/local-hub"
PASS=0
FAIL=0
TOKEN=hf_localtesttoken0123456789abcdefghijkl
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hub-standin.XXXXXX")
HUB_PID=

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { # check DESC COMMAND...
    local d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
eq() { # eq DESC GOT WANT
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (got '$2', want '$3')"; fi
}

hub_start() {
    mkfifo "$WORK/url.fifo"
    /usr/bin/python3 "$HUB" --root "$WORK/root" --port 0 --token "$TOKEN" "$@" \
        >"$WORK/url.fifo" 2>"$WORK/hub.err" &
    HUB_PID=$!
    exec 9<"$WORK/url.fifo"
    if ! read -r -t 20 URL <&9; then
        echo "local-hub did not start:"; cat "$WORK/hub.err"; exit 1
    fi
    HOSTPORT=${URL#http://}
}

hub_finish() {
    [ -n "$HUB_PID" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
    if [ -s "$WORK/hub.err" ]; then echo "--- local-hub stderr:"; cat "$WORK/hub.err"; fi
    echo "$PASS passed, $FAIL failed"
    if [ "$FAIL" -eq 0 ]; then rm -rf "$WORK"; exit 0; fi
    echo "(work dir kept: $WORK)"
    exit 1
}

# curl wrappers: hdr FILE = dump headers
api() { curl -sS -H "Authorization: Bearer $TOKEN" "$@"; }
create_repo() { # create_repo ID [TYPE]
    api -o /dev/null -w '%{http_code}' -X POST "$URL/api/repos/create" \
        -H 'Content-Type: application/json' \
        -d "{\"name\":\"${1#*/}\",\"organization\":\"${1%%/*}\",\"type\":\"${2:-model}\"}"
}
# git with the token through a credential helper, no global config
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_ASKPASS=/bin/false
ORIG_HOME=${HOME:-/root}
export HOME="$WORK/home"
mkdir -p "$HOME"
git config --global user.name tester
git config --global user.email tester@localhost
git config --global init.defaultBranch main
git config --global lfs.locksverify false
git lfs install --skip-repo >/dev/null
gitauth() { git -c credential.helper= -c "credential.helper=!f() { echo username=user; echo password=$TOKEN; }; f" "$@"; }

# The stand-in's request log without control requests, and its test controls.
log() { grep -v " /_test/" "$WORK/root/requests.log"; }
reset_log() { curl -sS -X POST "$URL/_test/reset-log" >/dev/null; }
fault() { curl -sS -X POST "$URL/_test/faults" -H 'Content-Type: application/json' -d "$1" >/dev/null; }

# tcd_start TCD TCCTL: tcd on $WORK/state, socket $WORK/tcd.sock, Hub settings pointing at the
# stand-in (export extra worker settings before); TCD_PID is its pid. finish stops it, shows the
# tail of its log when a check failed, and ends as hub_finish does.
tcd_start() {
    export TCD_SOCKET=$WORK/tcd.sock HF_ENDPOINT=$URL HF_TOKEN=$TOKEN HF_HUB_CACHE=$WORK/cache
    unset HF_HUB_OFFLINE HF_HOME
    "$1" --state-dir "$WORK/state" --socket "$TCD_SOCKET" >>"$WORK/tcd.log" 2>&1 &
    TCD_PID=$!
    for _ in $(seq 100); do "$2" ping >/dev/null 2>&1 && break; sleep 0.1; done
    check "tcd is up" "$2" ping
}
finish() {
    kill "$TCD_PID" 2>/dev/null && wait "$TCD_PID" 2>/dev/null
    [ "$FAIL" -ne 0 ] && { echo "--- tcd log (tail):"; tail -20 "$WORK/tcd.log"; }
    hub_finish
}
