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
