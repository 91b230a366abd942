#!/usr/bin/env bash
# POST /v1/jobs with kind "push" against a real tcd on a temporary state dir (docs/api.md,
# "push jobs"): every invalid body gets its 400 / 403 / 404 and a message naming the field or
# the file; a valid push job is created with its "push" member, is listed with kind push, and,
# with no Hub to push to (HF_ENDPOINT is a closed port), fails with a reason instead of
# hanging; the token given to tcd appears in no job file. The 403 checks run requests as uid
# 65534 (setpriv; when the test runs as root) against directories and jobs of other uids.
# Usage: push_requests.sh TCD TCD_WORKER SOURCE_DIR
set -u
tcd=$1
worker=$2
src=$3
tmp=$(mktemp -d /tmp/tcd-push-api.XXXXXX)
sock=$tmp/tcd.sock
io=$tmp/io # request and response files, writable by the uid of the 403 checks too
token=hf_push_api_test_token_do_not_leak_0123456789
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    [ -n "${KEEP_LOG:-}" ] && cp "$tmp/tcd.log" "$KEEP_LOG"
    rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL $1${2:+: $2}"
    [ -s "$io/body" ] && head -c 600 "$io/body" | sed 's/^/     /' && echo
}

[ -x "$worker" ] || { echo "no tcd-worker at $worker"; exit 1; }
mkdir -m 777 "$io"
# a short grace: push workers still retrying the closed port at the end are killed, not awaited
printf 'cancel_grace_s: 3\n' >"$tmp/tcd.yaml"
HF_ENDPOINT=http://127.0.0.1:9 HF_TOKEN=$token HF_HUB_CACHE=$tmp/hf-cache \
    "$tcd" --config "$tmp/tcd.yaml" --state-dir "$tmp/state" --socket "$sock" 2>"$tmp/tcd.log" &
pid=$!
for _ in $(seq 1 300); do
    curl -sf --unix-socket "$sock" http://tcd/v1/ping >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if ! curl -sf --unix-socket "$sock" http://tcd/v1/ping >/dev/null 2>&1; then
    echo "tcd did not answer /v1/ping:"
    cat "$tmp/tcd.log"
    exit 1
fi

u=http://tcd/v1
# AS: a command prefix to run curl with (another uid); empty for ourselves.
AS=
# call ARGS...: curl on the socket, body in $io/body; prints the HTTP status.
call() {
    rm -f "$io/body"
    $AS curl -sS --unix-socket "$sock" --max-time 30 -o "$io/body" -w '%{http_code}' "$@" \
        2>"$io/curl.err"
}
post() { printf '%s' "$1" >"$io/post"; }
J=(-X POST -H 'Content-Type: application/json' --data-binary @"$io/post")

# req NAME STATUS CODE TEXT: POST $io/post; STATUS, error CODE, and a message containing TEXT.
req() {
    local name=$1 want=$2 code=$3 text=$4 got
    got=$(call "${J[@]}" "$u/jobs")
    if [ "$got" != "$want" ]; then
        fail "$name" "status $got, want $want $(head -c 200 "$io/curl.err")"
    elif [ "$(jq -r .error.code "$io/body" 2>/dev/null)" != "$code" ]; then
        fail "$name" "error code is not $code"
    elif ! jq -e --arg t "$text" '.error.message | contains($t)' "$io/body" >/dev/null 2>&1; then
        fail "$name" "the message does not contain '$text'"
    else
        ok "$name"
    fi
}
# bad NAME TEXT BODY: 400 bad_request naming TEXT.
bad() {
    post "$3"
    req "push: $1" 400 bad_request "$2"
}
# accepted NAME JQ: POST $io/post is 201 with a job for which JQ holds; the job id in $job.
accepted() {
    local got
    job=
    got=$(call "${J[@]}" "$u/jobs")
    if [ "$got" != 201 ]; then
        fail "$1" "status $got, want 201"
    elif ! jq -e "$2" "$io/body" >/dev/null 2>&1; then
        fail "$1" "the job does not satisfy $2"
    else
        job=$(jq -r .id "$io/body")
        ok "$1"
    fi
}
# job_field ID JQ: JQ of the job object.
job_field() { curl -sS --unix-socket "$sock" --max-time 10 "$u/jobs/$1" | jq -r "$2"; }
# wait_final ID SECONDS: until the job is in a final state; 1 if it is not by then.
wait_final() {
    local _
    for _ in $(seq $(($2 * 10))); do
        case "$(job_field "$1" .state)" in
        succeeded | failed | cancelled | timed_out | interrupted) return 0 ;;
        esac
        sleep 0.1
    done
    return 1
}

dir=$tmp/model
mkdir -p "$dir/sub"
echo '{"hidden_size": 4}' >"$dir/config.json"
echo nested >"$dir/sub/x.txt"
echo plain >"$tmp/file"

# --- the body schema --------------------------------------------------------------------------
r96=org/$(head -c 92 /dev/zero | tr '\0' 'n')
bad "source missing" "'source'" '{"kind":"push","repo":"org/x"}'
bad "repo missing" "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\"}"
bad "source null" "'source'" '{"kind":"push","source":null,"repo":"org/x"}'
bad "source is a number" "'source'" '{"kind":"push","source":5,"repo":"org/x"}'
bad "source is an array" "'source'" "{\"kind\":\"push\",\"source\":[\"$dir\"],\"repo\":\"org/x\"}"
bad "source empty" "'source'" '{"kind":"push","source":"","repo":"org/x"}'
bad "source relative" "'source'" '{"kind":"push","source":"model","repo":"org/x"}'
bad "source ./dir" "'source'" '{"kind":"push","source":"./model","repo":"org/x"}'
bad "source ../etc" "'source'" '{"kind":"push","source":"../etc","repo":"org/x"}'
bad "source a malformed job id" "'source'" '{"kind":"push","source":"j0123","repo":"org/x"}'
bad "source an uppercase job id" "'source'" '{"kind":"push","source":"J0123456789abcdef","repo":"org/x"}'
bad "source with a control character" "'source'" \
    "{\"kind\":\"push\",\"source\":\"$dir\\n\",\"repo\":\"org/x\"}"
bad "source of 4097 bytes" "'source'" \
    "{\"kind\":\"push\",\"source\":\"/$(head -c 4096 /dev/zero | tr '\0' s)\",\"repo\":\"org/x\"}"
bad "repo null" "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":null}"
bad "repo is a number" "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":1}"
bad "repo without a slash" "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"gpt2\"}"
bad "repo org/.." "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"org/..\"}"
bad "repo with --" "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"org--x/y\"}"
bad "repo a/b/c" "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"a/b/c\"}"
bad "repo with a space" "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"org/a b\"}"
bad "repo of 97 bytes" "'repo'" "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"${r96}n\"}"
bad "repo_type space" "'repo_type'" \
    "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"org/x\",\"repo_type\":\"space\"}"
bad "repo_type is true" "'repo_type'" \
    "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"org/x\",\"repo_type\":true}"
P="\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"org/x\""
for b in "" "-main" "--force" "a..b" "a b" "a~1" "a^" "a:b" "a?" "a*" "a[b" 'a\\b' "x.lock" \
    "x.lock/y" "/main" "main/" "a//b" ".hidden" "a/.b" "main." "@" "a@{1}" "tab\\tx"; do
    bad "branch '$b'" "'branch'" "{$P,\"branch\":\"$b\"}"
done
bad "branch of 257 bytes" "'branch'" "{$P,\"branch\":\"$(head -c 257 /dev/zero | tr '\0' b)\"}"
bad "branch is a number" "'branch'" "{$P,\"branch\":1}"
bad "message empty" "'message'" "{$P,\"message\":\"\"}"
bad "message is a number" "'message'" "{$P,\"message\":42}"
bad "message is an object" "'message'" "{$P,\"message\":{\"a\":1}}"
bad "message of 4097 bytes" "'message'" "{$P,\"message\":\"$(head -c 4097 /dev/zero | tr '\0' m)\"}"
bad "private is a string" "'private'" "{$P,\"private\":\"true\"}"
bad "private is 1" "'private'" "{$P,\"private\":1}"
bad "force is a string" "'force'" "{$P,\"force\":\"yes\"}"
bad "force is 0" "'force'" "{$P,\"force\":0}"
for w in never sometimes ALWAYS Improved "" "always "; do
    bad "when '$w'" "'when'" "{$P,\"when\":\"$w\"}"
done
bad "when is true" "'when'" "{$P,\"when\":true}"
bad "when is a number" "'when'" "{$P,\"when\":1}"
bad "when is an array" "'when'" "{$P,\"when\":[\"always\"]}"
bad "duplicate when" "'when'" "{$P,\"when\":\"always\",\"when\":\"improved\"}"
bad "auto is not a request field" "'auto'" "{$P,\"auto\":true}"
bad "revision is a pull field" "'revision'" "{$P,\"revision\":\"main\"}"
bad "include is a pull field" "'include'" "{$P,\"include\":[\"*\"]}"
bad "spec_yaml is a train field" "'spec_yaml'" "{$P,\"spec_yaml\":\"x\"}"
bad "set is a train field" "'set'" "{$P,\"set\":[\"a.b=1\"]}"
bad "token is unknown" "'token'" "{$P,\"token\":\"hf_x\"}"
bad "dir is not a request field" "'dir'" "{$P,\"dir\":\"/etc\"}"
bad "duplicate source" "'source'" "{$P,\"source\":\"/etc\"}"
bad "kind PUSH" "kind" "{\"kind\":\"PUSH\",\"source\":\"$dir\",\"repo\":\"org/x\"}"
bad "source on a pull job" "'source'" "{\"kind\":\"pull\",\"repo\":\"org/x\",\"source\":\"$dir\"}"
bad "branch on a train job" "'branch'" '{"spec_yaml":"x","branch":"main"}'
bad "when on a train job" "'when'" '{"spec_yaml":"x","when":"always"}'
bad "when on a pull job" "'when'" '{"kind":"pull","repo":"org/x","when":"always"}'
bad "name with a newline" "'name'" "{$P,\"name\":\"a\\nb\"}"
bad "timeout_s negative" "'timeout_s'" "{$P,\"timeout_s\":-1}"

# --- the source -------------------------------------------------------------------------------
bad "a directory that does not exist" "does not exist" \
    "{\"kind\":\"push\",\"source\":\"$tmp/nope\",\"repo\":\"org/x\"}"
bad "a regular file" "is not a directory" \
    "{\"kind\":\"push\",\"source\":\"$tmp/file\",\"repo\":\"org/x\"}"
bad "a path through a file" "is not a directory" \
    "{\"kind\":\"push\",\"source\":\"$tmp/file/x\",\"repo\":\"org/x\"}"
post '{"kind":"push","source":"j0123456789abcdef","repo":"org/x"}'
req "push: an unknown job id is 404" 404 job_not_found "j0123456789abcdef"
n_jobs=$(curl -sS --unix-socket "$sock" --max-time 10 "$u/jobs" | jq '.jobs | length')
[ "$n_jobs" = 0 ] && ok "no job was created by a rejected body" ||
    fail "no job was created by a rejected body" "$n_jobs jobs"

# --- a valid push job -------------------------------------------------------------------------
post "{$P,\"name\":\"to-hub\"}"
accepted "push: a directory, defaults" \
    ".kind == \"push\" and .output == null and .name == \"to-hub\" and (.spec | not) and
     .push == {\"source\":\"$dir\",\"dir\":\"$dir\",\"repo\":\"org/x\",\"repo_type\":\"model\",
               \"branch\":\"main\",\"private\":false,\"force\":false,\"message\":null,
               \"when\":\"always\",\"auto\":false}"
push_job=$job
if [ -n "$push_job" ] && [ "$(curl -sS --unix-socket "$sock" "$u/jobs" |
    jq -r --arg id "$push_job" '.jobs[] | select(.id == $id) | .kind')" = push ]; then
    ok "the job list has the push job with kind push"
else
    fail "the job list has the push job with kind push"
fi
if [ -n "$push_job" ] && wait_final "$push_job" 120; then
    ok "the push job finishes without a Hub (in under 120 s)"
    [ "$(job_field "$push_job" .state)" = failed ] && ok "  it failed" || fail "  it failed"
    reason=$(job_field "$push_job" '.reason // ""')
    if [[ "$reason" == "worker exited with "[0-9]*": "?* ]]; then
        ok "  with a reason that says why: $reason"
    else
        fail "  with a reason that says why" "reason '$reason'"
    fi
    curl -sS --unix-socket "$sock" "$u/jobs/$push_job/events" >"$io/events"
    if jq -se 'last | .type == "result" and .state == "failed" and (.error.message | length > 0)' \
        "$io/events" >/dev/null; then
        ok "  its events end with a failed result and an error message"
    else
        fail "  its events end with a failed result and an error message"
    fi
else
    fail "the push job finishes without a Hub (in under 120 s)" "state $(job_field "$push_job" .state)"
fi
# a symbolic link to the directory is resolved: "dir" is where the files are
ln -s "$dir" "$tmp/link"
msg=$(head -c 4096 /dev/zero | tr '\0' m)
br=$(head -c 256 /dev/zero | tr '\0' b)
jq -n --arg s "$tmp/link/" --arg m "$msg" --arg b "$br" '{kind: "push", source: $s, repo: "a-b_c.d/E.F-g_1",
    repo_type: "dataset", branch: $b, message: $m, private: true, force: true, timeout_s: 60}' >"$io/post"
accepted "push: a 4096-byte message, a 256-byte branch, flags set, through a symlink" \
    ".push.source == \"$tmp/link/\" and .push.dir == \"$dir\" and .push.repo_type == \"dataset\" and
     .push.branch == \"$br\" and .push.private and .push.force and (.push.message | length) == 4096
     and .timeout_s == 60"
post "{$P,\"repo_type\":null,\"branch\":null,\"message\":null,\"private\":null,\"force\":null,
       \"when\":null,\"name\":null,\"timeout_s\":null}"
accepted "push: nulls count as absent" \
    '.push.repo_type == "model" and .push.branch == "main" and .push.private == false and
     .push.force == false and .push.message == null and .push.when == "always" and
     .push.auto == false and .name == null'
post "{$P,\"when\":\"improved\"}"
accepted "push: when improved" '.push.when == "improved" and .push.auto == false'
post "{$P,\"when\":\"always\"}"
accepted "push: when always" '.push.when == "always"'
post "{$P,\"branch\":\"feature/x-1.2\",\"message\":\"line one\\n\\nline three\"}"
accepted "push: a branch with a slash, a multi-line message" \
    '.push.branch == "feature/x-1.2" and .push.message == "line one\n\nline three"'

# --- a train job as the source ----------------------------------------------------------------
spec_body() {
    jq -n --rawfile spec "$src/examples/fashion-mnist-mlp.yaml" --argjson n "$1" \
        '{spec_yaml: $spec, set: (["data.limit=1000", "model.fc1=16", "model.fc2=16"] +
          ["train.epochs=\($n)"])}' >"$io/post"
}
spec_body 1
accepted "a small train job" '.kind == "train"'
train=$job
spec_body 200
accepted "a long train job" '.kind == "train"'
long=$job
if [ -n "$long" ]; then
    post "{\"kind\":\"push\",\"source\":\"$long\",\"repo\":\"org/x\"}"
    req "push: a train job that has not succeeded" 400 bad_request "push takes the output of a succeeded train job"
    curl -sS --unix-socket "$sock" -X POST "$u/jobs/$long/cancel" >/dev/null
fi
if [ -n "$push_job" ]; then
    post "{\"kind\":\"push\",\"source\":\"$push_job\",\"repo\":\"org/x\"}"
    req "push: a push job as the source" 400 bad_request "is a push job"
fi
if [ -n "$train" ] && wait_final "$train" 120 && [ "$(job_field "$train" .state)" = succeeded ]; then
    post "{\"kind\":\"push\",\"source\":\"$train\",\"repo\":\"org/x\"}"
    accepted "push: a succeeded train job's output" \
        ".push.source == \"$train\" and .push.dir == \"$tmp/state/jobs/$train/output\""
else
    fail "the small train job succeeds" "state $(job_field "$train" .state)"
fi

# --- another uid (403) ------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
    chmod 755 "$tmp"
    chmod 666 "$sock"
    theirs=$tmp/theirs
    mkdir -p "$theirs/sub" && echo x >"$theirs/sub/w.bin" && chown -R 65534:65534 "$theirs"
    post "{\"kind\":\"push\",\"source\":\"/etc\",\"repo\":\"org/x\"}"
    req "push as uid 65534: /etc (root's) is 403" 403 permission_denied "belongs to uid 0"
    post "{\"kind\":\"push\",\"source\":\"$dir\",\"repo\":\"org/x\"}"
    req "push as uid 65534: a directory of root is 403" 403 permission_denied "not to the caller (uid 65534)"
    if [ -n "$train" ]; then
        post "{\"kind\":\"push\",\"source\":\"$train\",\"repo\":\"org/x\"}"
        req "push as uid 65534: root's train job is 403" 403 permission_denied "belongs to uid 0"
    fi
    post "{\"kind\":\"push\",\"source\":\"$theirs\",\"repo\":\"org/x\"}"
    accepted "push as uid 65534: its own directory is accepted" \
        ".owner_uid == 65534 and .push.dir == \"$theirs\""
    echo secret >"$theirs/sub/root-owned"
    post "{\"kind\":\"push\",\"source\":\"$theirs\",\"repo\":\"org/x\"}"
    req "push as uid 65534: a root-owned file inside is 403" 403 permission_denied "$theirs/sub/root-owned"
    rm -f "$theirs/sub/root-owned"
    ln -s /etc/shadow "$theirs/shadow" && chown -h 65534:65534 "$theirs/shadow"
    post "{\"kind\":\"push\",\"source\":\"$theirs\",\"repo\":\"org/x\"}"
    req "push as uid 65534: its own symlink to /etc/shadow inside is 403" 403 permission_denied \
        "$theirs/shadow' is a symbolic link"
    rm -f "$theirs/shadow"
    ln -s "$dir" "$theirs/alias" && chown -h 65534:65534 "$theirs/alias"
    post "{\"kind\":\"push\",\"source\":\"$theirs/alias\",\"repo\":\"org/x\"}"
    req "push as uid 65534: its own symlink to root's directory is 403" 403 permission_denied \
        "'$dir' belongs to uid 0"
    AS=
    chmod 700 "$tmp"
else
    echo "note: the 403 checks need root and setpriv; skipped"
fi

# --- the token stays out of the job files -----------------------------------------------------
if grep -rqF "$token" "$tmp/state"; then
    fail "HF_TOKEN appears in no job file" "$(grep -rlF "$token" "$tmp/state" | head -3)"
else
    ok "HF_TOKEN appears in no job file"
fi

# --- still alive, and a clean exit ------------------------------------------------------------
if curl -sf --unix-socket "$sock" --max-time 10 "$u/ping" | jq -e '.api == "1.0"' >/dev/null; then
    ok "tcd still answers /v1/ping"
else
    fail "tcd still answers /v1/ping"
fi
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] && ok "tcd exits 0 on SIGTERM" || fail "tcd exits 0 on SIGTERM" "exit status $rc"
if grep -qE 'Sanitizer|runtime error:' "$tmp/tcd.log"; then
    fail "no sanitizer report"
    sed 's/^/     /' "$tmp/tcd.log" | head -60
else
    ok "no sanitizer report"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
