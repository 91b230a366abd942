#!/usr/bin/env bash
# Bad requests against a real tcd on a temporary state dir: every one must get
# its specific 4xx status and error code (docs/api.md), tcd must still answer
# /v1/ping afterwards, and it must exit 0 on SIGTERM (in a sanitizer build that
# also means no leak and no sanitizer report). Pull jobs that are accepted
# (the boundary cases) run offline against an empty cache and fail at once.
# Usage: bad_requests.sh TCD TCD_WORKER SOURCE_DIR
set -u
tcd=$1
worker=$2
src=$3
tmp=$(mktemp -d)
sock=$tmp/tcd.sock
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
    [ -s "$tmp/body" ] && head -c 600 "$tmp/body" | sed 's/^/     /' && echo
}

[ -x "$worker" ] || { echo "no tcd-worker at $worker"; exit 1; }
HF_HUB_OFFLINE=1 HF_HUB_CACHE=$tmp/hf-cache HF_ENDPOINT=http://127.0.0.1:9 HF_TOKEN='' \
    "$tcd" --state-dir "$tmp/state" --socket "$sock" 2>"$tmp/tcd.log" &
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

# req NAME STATUS CODE [ALLOW] -- curl arguments...
# The body must be {"error":{"code":CODE,"message":...}} (CODE - : no body to
# check, as for HEAD); with ALLOW, the Allow header must be exactly ALLOW; with
# MSG=TEXT in req's environment, the message must contain TEXT (a field's name).
req() {
    local name=$1 want=$2 code=$3 allow=
    shift 3
    if [ "$1" != "--" ]; then allow=$1; shift; fi
    shift
    rm -f "$tmp/body" "$tmp/headers"
    local got
    got=$(curl -sS --unix-socket "$sock" --max-time 30 -o "$tmp/body" -D "$tmp/headers" \
        -w '%{http_code}' "$@" 2>"$tmp/curl.err")
    if [ "$got" != "$want" ]; then
        fail "$name" "status $got, want $want $(head -c 200 "$tmp/curl.err")"
        return
    fi
    local gotcode="$code string" filter='.error.code + " " + (.error.message | type)'
    # with MSG, one jq call also checks the message: a miss shows as a different answer
    [ -z "${MSG:-}" ] ||
        filter+=' + (if .error.message | tostring | contains($m) then "" else " not naming \($m)" end)'
    [ "$code" = - ] || gotcode=$(jq -r --arg m "${MSG:-}" "$filter" "$tmp/body" 2>/dev/null)
    if [ "$gotcode" != "$code string" ]; then
        fail "$name" "error code '$gotcode', want '$code'"
        return
    fi
    if [ -n "$allow" ]; then
        local h
        h=$(tr -d '\r' <"$tmp/headers" | sed -n 's/^[Aa]llow: //p')
        if [ "$h" != "$allow" ]; then
            fail "$name" "Allow '$h', want '$allow'"
            return
        fi
    fi
    if ! tr -d '\r' <"$tmp/headers" | grep -qi '^content-type: application/json$'; then
        fail "$name" "Content-Type is not application/json"
        return
    fi
    ok "$name"
}

u=http://tcd/v1
post() { printf '%s' "$1" >"$tmp/post"; }
J=(-X POST -H 'Content-Type: application/json' --data-binary @"$tmp/post")
id=j0123456789abcdef

# --- malformed JSON ---------------------------------------------------------------------------
post '{"kind":"train","spec_yaml":"model: {plugin: mlp}'
req "truncated JSON" 400 invalid_json -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x"} trailing'
req "trailing garbage" 400 invalid_json -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x",}'
req "trailing comma" 400 invalid_json -- "${J[@]}" "$u/jobs"
post "{'spec_yaml':'x'}"
req "single quotes" 400 invalid_json -- "${J[@]}" "$u/jobs"
post ''
req "empty body" 400 invalid_json -- "${J[@]}" "$u/jobs"
printf '{"spec_yaml":"\xff\xfe"}' >"$tmp/post"
req "invalid UTF-8" 400 invalid_json -- "${J[@]}" "$u/jobs"
printf '{"spec_yaml":"\xc0\xaf"}' >"$tmp/post"
req "overlong UTF-8" 400 invalid_json -- "${J[@]}" "$u/jobs"
printf '{"spec_yaml":"x"}\0{"more":1}' >"$tmp/post"
req "NUL byte" 400 invalid_json -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"a\u0000b"}'
req "\\u0000 escape" 400 invalid_json -- "${J[@]}" "$u/jobs"
post "$(printf '{"spec_yaml":"a\tb"}')"
req "raw control character in a string" 400 invalid_json -- "${J[@]}" "$u/jobs"
post '[{"spec_yaml":"x"}]'
req "not an object (array)" 400 bad_request -- "${J[@]}" "$u/jobs"
post '"spec_yaml"'
req "not an object (string)" 400 bad_request -- "${J[@]}" "$u/jobs"
post "$(printf '%.0s[' $(seq 1 1000))$(printf '%.0s]' $(seq 1 1000))"
req "nesting depth 1000" 400 invalid_json -- "${J[@]}" "$u/jobs"
post "{\"spec_yaml\":\"x\",\"set\":$(printf '%.0s[' $(seq 1 32))$(printf '%.0s]' $(seq 1 32))}"
req "nesting depth 33 (limit 32)" 400 invalid_json -- "${J[@]}" "$u/jobs"

# --- sizes ------------------------------------------------------------------------------------
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$tmp/big"
req "2 MB body (Content-Length)" 413 payload_too_large -- -X POST --data-binary @"$tmp/big" "$u/jobs"
req "2 MB body (chunked)" 413 payload_too_large -- -X POST -H 'Transfer-Encoding: chunked' \
    --data-binary @"$tmp/big" "$u/jobs"
post '{"kind":"train","spec_yaml":"x"}'
req "Content-Length shorter than the body" 400 invalid_json -- "${J[@]}" -H 'Content-Length: 9' "$u/jobs"
req "Content-Length over the limit, no body" 413 payload_too_large -- -X POST \
    -H 'Content-Length: 99999999999' "$u/jobs"
req "URL of 8 KiB" 414 uri_too_long -- "$u/jobs?state=$(head -c 8192 /dev/zero | tr '\0' 'a')"
post "{\"spec_yaml\":\"x\",\"set\":[$(seq -s, 1 100000)]}"
req "100000 JSON values" 400 bad_request -- "${J[@]}" "$u/jobs"
# Past the connection's memory pool MHD answers by itself, with an HTML body.
mhd_status() {
    local name=$1 want=$2 got
    shift 2
    got=$(curl -sS --unix-socket "$sock" --max-time 30 -o /dev/null -w '%{http_code}' "$@" 2>&1)
    if [ "$got" = "$want" ]; then ok "$name"; else fail "$name" "status $got, want $want"; fi
}
mhd_status "URL of 100 KiB (MHD's own 414)" 414 "$u/jobs?state=$(head -c 102400 /dev/zero | tr '\0' 'a')"
mhd_status "header of 100 KiB (MHD's own 431)" 431 -H "X-Big: $(head -c 102400 /dev/zero | tr '\0' 'a')" "$u/ping"
big_spec=$(head -c $((256 * 1024 + 1)) /dev/zero | tr '\0' '#')
post "{\"spec_yaml\":\"$big_spec\"}"
req "spec_yaml over 256 KiB" 400 bad_request -- "${J[@]}" "$u/jobs"
post "{\"spec_yaml\":\"x\",\"set\":[$(for i in $(seq 1 257); do printf '"a.b=%d",' "$i"; done)\"a.b=0\"]}"
req "258 set entries" 400 bad_request -- "${J[@]}" "$u/jobs"
post "{\"spec_yaml\":\"x\",\"set\":[\"a.b=$(head -c 4100 /dev/zero | tr '\0' 'v')\"]}"
req "set entry over 4 KiB" 400 bad_request -- "${J[@]}" "$u/jobs"
post "{\"spec_yaml\":\"x\",\"name\":\"$(head -c 129 /dev/zero | tr '\0' 'n')\"}"
req "name over 128 bytes" 400 bad_request -- "${J[@]}" "$u/jobs"

# --- schema of POST /v1/jobs ------------------------------------------------------------------
post '{"kind":"eval","spec_yaml":"x"}'
req "kind is not train" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"kind":1,"spec_yaml":"x"}'
req "kind is a number" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"kind":"train"}'
req "spec_yaml missing" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":42}'
req "spec_yaml is a number" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":{"model":{}}}'
req "spec_yaml is an object" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","set":"train.epochs=1"}'
req "set is a string" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","set":[1]}'
req "set entry is a number" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","set":["train.epochs"]}'
req "set entry without =" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","set":["epochs=1"]}'
req "set entry without a section" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","set":[".epochs=1"]}'
req "set entry with an empty section" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","name":7}'
req "name is a number" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","name":"a\nb"}'
req "name with a newline" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","timeout_s":"60"}'
req "timeout_s is a string" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","timeout_s":-1}'
req "timeout_s negative" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","timeout_s":1e8}'
req "timeout_s over 1e7" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"x","priority":5}'
req "unknown field" 400 bad_request -- "${J[@]}" "$u/jobs"
# scheduled runs (docs/api.md "Scheduled runs")
bad_sched() { # bad_sched NAME TEXT BODY [curl args]: 400 bad_request naming TEXT
    post "$3"
    MSG=$2 req "scheduled: $1" 400 bad_request -- "${J[@]}" "${@:4}" "$u/jobs"
}
k300=$(head -c 300 /dev/zero | tr '\0' k)
bad_sched "concurrency unknown" "'concurrency' must be 'allow', 'forbid' or 'replace'" '{"spec_yaml":"x","schedule_key":"k","concurrency":"sometimes"}'
bad_sched "concurrency a number" "'concurrency' must be a string" '{"spec_yaml":"x","schedule_key":"k","concurrency":2}'
bad_sched "deadline_s zero" "'deadline_s' must be above 0" '{"spec_yaml":"x","deadline_s":0}'
bad_sched "deadline_s over 1e7" "'deadline_s' must be above 0 and at most 10000000" '{"spec_yaml":"x","deadline_s":1e8}'
bad_sched "deadline_s a string" "'deadline_s' must be a number" '{"spec_yaml":"x","deadline_s":"30m"}'
bad_sched "if_changed a string" "'if_changed' must be true or false" '{"spec_yaml":"x","schedule_key":"k","if_changed":"yes"}'
bad_sched "if_changed without schedule_key" "'if_changed' needs a 'schedule_key'" '{"spec_yaml":"x","if_changed":true}'
bad_sched "replace without schedule_key" "'concurrency' needs a 'schedule_key'" '{"spec_yaml":"x","concurrency":"replace"}'
bad_sched "schedule_key empty" "'schedule_key' must be 1..256 bytes" '{"spec_yaml":"x","schedule_key":""}'
bad_sched "schedule_key with a newline" "'schedule_key' must be 1..256 bytes without control" '{"spec_yaml":"x","schedule_key":"a\nb"}'
bad_sched "idempotency_key of 300 bytes" "'idempotency_key' must be 1..256 bytes" "{\"spec_yaml\":\"x\",\"idempotency_key\":\"$k300\"}"
bad_sched "Idempotency-Key header of 300 bytes" "header 'Idempotency-Key' must be 1..256" '{"spec_yaml":"x"}' -H "Idempotency-Key: $k300"
bad_sched "Idempotency-Key header and field differ" "differ" '{"spec_yaml":"x","idempotency_key":"a"}' -H "Idempotency-Key: b"
bad_sched "Idempotency-Key on a pull" "train jobs only" '{"kind":"pull","repo":"a/b"}' -H "Idempotency-Key: b"
bad_sched "schedule_key on a pull" "unknown field 'schedule_key'" '{"kind":"pull","repo":"a/b","schedule_key":"k"}'
bad_sched "deadline_s on a push" "unknown field 'deadline_s'" '{"kind":"push","source":"/tmp","repo":"a/b","deadline_s":5}' 
post '{"spec_yaml":"x","spec_yaml":"y"}'
req "duplicate field" 400 bad_request -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"model: {plugin: mlp}\ndata: {plugin: idx}\ntrain: {epochz: 3}\n"}'
req "spec with an unknown key" 400 invalid_spec -- "${J[@]}" "$u/jobs"
post '{"spec_yaml":"model: [unclosed\n"}'
req "spec that is not YAML" 400 invalid_spec -- "${J[@]}" "$u/jobs"

# --- schema of a pull job (kind "pull") -------------------------------------------------------
# bad_pull NAME TEXT BODY: POST BODY to /v1/jobs; 400 bad_request whose message contains TEXT.
bad_pull() {
    post "$3"
    MSG=$2 req "pull: $1" 400 bad_request -- "${J[@]}" "$u/jobs"
}
r96=org/$(head -c 92 /dev/zero | tr '\0' 'n')
bad_pull "repo missing" "'repo'" '{"kind":"pull"}'
bad_pull "repo missing, the other fields given" "'repo'" \
    '{"kind":"pull","repo_type":"model","revision":"main","include":["*.json"],"exclude":[]}'
bad_pull "repo null" "'repo'" '{"kind":"pull","repo":null}'
bad_pull "repo is a number" "'repo'" '{"kind":"pull","repo":42}'
bad_pull "repo is an array" "'repo'" '{"kind":"pull","repo":["org/x"]}'
bad_pull "repo is an object" "'repo'" '{"kind":"pull","repo":{"org":"x"}}'
bad_pull "repo is true" "'repo'" '{"kind":"pull","repo":true}'
bad_pull "repo empty" "'repo'" '{"kind":"pull","repo":""}'
bad_pull "repo without a slash" "'repo'" '{"kind":"pull","repo":"gpt2"}'
bad_pull "repo ../x" "'repo'" '{"kind":"pull","repo":"../x"}'
bad_pull "repo org/.." "'repo'" '{"kind":"pull","repo":"org/.."}'
bad_pull "repo org/../../etc" "'repo'" '{"kind":"pull","repo":"org/../../etc"}'
bad_pull "repo with .. inside" "'repo'" '{"kind":"pull","repo":"org/a..b"}'
bad_pull "repo with -- (the cache's separator)" "'repo'" '{"kind":"pull","repo":"org--x/y"}'
bad_pull "repo /x" "'repo'" '{"kind":"pull","repo":"/x"}'
bad_pull "repo org/" "'repo'" '{"kind":"pull","repo":"org/"}'
bad_pull "repo a/b/c" "'repo'" '{"kind":"pull","repo":"a/b/c"}'
bad_pull "repo -org/x (would read as a flag)" "'repo'" '{"kind":"pull","repo":"-org/x"}'
bad_pull "repo org/x- (ends with -)" "'repo'" '{"kind":"pull","repo":"org/x-"}'
bad_pull "repo org/.x (starts with .)" "'repo'" '{"kind":"pull","repo":"org/.x"}'
bad_pull "repo with a space" "'repo'" '{"kind":"pull","repo":"org/na me"}'
bad_pull "repo with a ;" "'repo'" '{"kind":"pull","repo":"org/x;reboot"}'
bad_pull "repo with a backslash" "'repo'" '{"kind":"pull","repo":"org\\x"}'
bad_pull "repo with an escaped newline" "'repo'" '{"kind":"pull","repo":"org/x\n"}'
bad_pull "repo with non-ASCII" "'repo'" '{"kind":"pull","repo":"org/caf\u00e9"}'
bad_pull "repo of 97 bytes" "'repo'" "{\"kind\":\"pull\",\"repo\":\"${r96}n\"}"
bad_pull "repo_type space" "'repo_type'" '{"kind":"pull","repo":"org/x","repo_type":"space"}'
bad_pull "repo_type Model" "'repo_type'" '{"kind":"pull","repo":"org/x","repo_type":"Model"}'
bad_pull "repo_type models" "'repo_type'" '{"kind":"pull","repo":"org/x","repo_type":"models"}'
bad_pull "repo_type empty" "'repo_type'" '{"kind":"pull","repo":"org/x","repo_type":""}'
bad_pull "repo_type is a number" "'repo_type'" '{"kind":"pull","repo":"org/x","repo_type":1}'
bad_pull "revision empty" "'revision'" '{"kind":"pull","repo":"org/x","revision":""}'
bad_pull "revision starting with -" "'revision'" \
    '{"kind":"pull","repo":"org/x","revision":"--upload-pack=x"}'
bad_pull "revision with a control character" "'revision'" \
    '{"kind":"pull","repo":"org/x","revision":"main\u0001"}'
bad_pull "revision of 257 bytes" "'revision'" \
    "{\"kind\":\"pull\",\"repo\":\"org/x\",\"revision\":\"$(head -c 257 /dev/zero | tr '\0' r)\"}"
bad_pull "revision is a number" "'revision'" '{"kind":"pull","repo":"org/x","revision":5}'
bad_pull "include is a string" "'include'" '{"kind":"pull","repo":"org/x","include":"*.json"}'
bad_pull "include is an object" "'include'" '{"kind":"pull","repo":"org/x","include":{"a":"*"}}'
bad_pull "include entry is a number" "'include'" '{"kind":"pull","repo":"org/x","include":[1]}'
bad_pull "include entry is null" "'include'" '{"kind":"pull","repo":"org/x","include":["*",null]}'
bad_pull "include entry is an array" "'include'" '{"kind":"pull","repo":"org/x","include":[["*"]]}'
bad_pull "include entry empty" "include[1]" '{"kind":"pull","repo":"org/x","include":["*",""]}'
bad_pull "include entry with a control character" "include[0]" \
    '{"kind":"pull","repo":"org/x","include":["a\tb"]}'
bad_pull "include entry of 1025 bytes" "include[0]" \
    "{\"kind\":\"pull\",\"repo\":\"org/x\",\"include\":[\"$(head -c 1025 /dev/zero | tr '\0' g)\"]}"
bad_pull "257 include entries" "'include'" \
    "{\"kind\":\"pull\",\"repo\":\"org/x\",\"include\":[$(seq -s, -f '"p%g"' 1 257)]}"
bad_pull "exclude is a string" "'exclude'" '{"kind":"pull","repo":"org/x","exclude":"*.onnx"}'
bad_pull "exclude entry is true" "'exclude'" '{"kind":"pull","repo":"org/x","exclude":[true]}'
bad_pull "exclude entry empty" "exclude[0]" '{"kind":"pull","repo":"org/x","exclude":[""]}'
bad_pull "257 exclude entries" "'exclude'" \
    "{\"kind\":\"pull\",\"repo\":\"org/x\",\"exclude\":[$(seq -s, -f '"p%g"' 1 257)]}"
bad_pull "spec_yaml is unknown for a pull" "'spec_yaml'" \
    '{"kind":"pull","repo":"org/x","spec_yaml":"model: {plugin: mlp}"}'
bad_pull "set is unknown for a pull" "'set'" '{"kind":"pull","repo":"org/x","set":["a.b=1"]}'
bad_pull "token is unknown" "'token'" '{"kind":"pull","repo":"org/x","token":"hf_x"}'
bad_pull "unknown field" "'repository'" '{"kind":"pull","repository":"org/x"}'
bad_pull "Repo (case matters)" "'Repo'" '{"kind":"pull","Repo":"org/x"}'
bad_pull "duplicate repo" "'repo'" '{"kind":"pull","repo":"org/x","repo":"org/y"}'
bad_pull "repo on a train job" "'repo'" '{"spec_yaml":"x","repo":"org/x"}'
bad_pull "include on a train job" "'include'" '{"kind":"train","spec_yaml":"x","include":["*"]}'
bad_pull "kind after the fields it governs" "'include'" \
    '{"repo":"org/x","include":5,"kind":"pull"}'
bad_pull "kind PULL" "kind" '{"kind":"PULL","repo":"org/x"}'
bad_pull "kind is null" "'kind'" '{"kind":null,"repo":"org/x"}'
bad_pull "name is a number" "'name'" '{"kind":"pull","repo":"org/x","name":7}'
bad_pull "name with a newline" "'name'" '{"kind":"pull","repo":"org/x","name":"a\nb"}'
bad_pull "timeout_s negative" "'timeout_s'" '{"kind":"pull","repo":"org/x","timeout_s":-1}'
bad_pull "timeout_s is a string" "'timeout_s'" '{"kind":"pull","repo":"org/x","timeout_s":"1h"}'
post '{"kind":"pull","repo":"org/x","include":["*.json"}'
req "pull: truncated JSON" 400 invalid_json -- "${J[@]}" "$u/jobs"
post '["kind","pull","repo","org/x"]'
req "pull: not an object" 400 bad_request -- "${J[@]}" "$u/jobs"
post "{\"kind\":\"pull\",\"repo\":\"org/x\",\"include\":$(printf '%.0s[' $(seq 1 32))\"*\"$(printf '%.0s]' $(seq 1 32))}"
req "pull: include nested 33 deep" 400 invalid_json -- "${J[@]}" "$u/jobs"
post "{\"kind\":\"pull\",\"repo\":\"org/x\",\"include\":[$(seq -s, -f '"p%g"' 1 100000)]}"
req "pull: 100000 include entries" 400 bad_request -- "${J[@]}" "$u/jobs"
post "{\"kind\":\"pull\",\"repo\":\"org/x\",\"include\":[\"$(head -c $((1024 * 1024)) /dev/zero | tr '\0' i)\"]}"
req "pull: body over 1 MiB" 413 payload_too_large -- "${J[@]}" "$u/jobs"
n_jobs=$(curl -sS --unix-socket "$sock" --max-time 10 "$u/jobs" | jq '.jobs | length')
if [ "$n_jobs" = 0 ]; then
    ok "no job was created by a rejected body"
else
    fail "no job was created by a rejected body" "$n_jobs jobs"
fi

# The boundaries are accepted: 201 and a pull job with the values as given.
# accepted NAME JQ: POST $tmp/post must be 201 with a job for which the jq filter JQ holds.
accepted() {
    local got
    rm -f "$tmp/body"
    got=$(curl -sS --unix-socket "$sock" --max-time 30 -o "$tmp/body" -w '%{http_code}' \
        "${J[@]}" "$u/jobs" 2>"$tmp/curl.err")
    if [ "$got" != 201 ]; then
        fail "$1" "status $got, want 201"
    elif ! jq -e "$2" "$tmp/body" >/dev/null 2>&1; then
        fail "$1" "the job does not satisfy $2"
    else
        ok "$1"
    fi
}
post "{\"kind\":\"pull\",\"repo\":\"$r96\"}"
accepted "pull: repo of 96 bytes, defaults" \
    ".kind == \"pull\" and .output == null and .pull == {\"repo\":\"$r96\",\"repo_type\":\"model\",
     \"revision\":\"main\",\"include\":[],\"exclude\":[]}"
post '{"kind":"pull","repo":"a-b_c.d/E.F-g_1","repo_type":null,"revision":null,"include":null,
       "exclude":null,"name":null,"timeout_s":null}'
accepted "pull: nulls count as absent" \
    '.pull == {"repo":"a-b_c.d/E.F-g_1","repo_type":"model","revision":"main","include":[],"exclude":[]}'
rev=$(head -c 256 /dev/zero | tr '\0' r)
pat=$(head -c 1024 /dev/zero | tr '\0' g)
jq -n --arg rev "$rev" --arg pat "$pat" '{repo: "org/x", kind: "pull", repo_type: "dataset",
    revision: $rev, include: ([range(255)] | map("i\(.)") + [$pat]),
    exclude: ([range(256)] | map("e\(.)")), name: "edge", timeout_s: 10000000}' >"$tmp/post"
accepted "pull: 256 include and 256 exclude entries, a 1024-byte pattern, a 256-byte revision" \
    "(.pull.include | length) == 256 and (.pull.exclude | length) == 256 and
     .pull.include[255] == \"$pat\" and .pull.revision == \"$rev\" and
     .pull.repo_type == \"dataset\" and .name == \"edge\""

# --- routes and methods -----------------------------------------------------------------------
req "unknown route" 404 not_found -- "$u/nope"
req "unknown version" 404 not_found -- http://tcd/v2/ping
req "root" 404 not_found -- http://tcd/
req "trailing slash" 404 not_found -- "$u/ping/"
req "unknown job subroute" 404 not_found -- "$u/jobs/$id/logs"
req "too deep" 404 not_found -- "$u/jobs/$id/events/1/2"
req "POST /v1/ping" 405 method_not_allowed "GET" -- -X POST "$u/ping"
req "DELETE /v1/jobs" 405 method_not_allowed "GET, POST" -- -X DELETE "$u/jobs"
req "PUT /v1/jobs/{id}" 405 method_not_allowed "GET, DELETE" -- -X PUT "$u/jobs/$id"
req "GET /v1/jobs/{id}/cancel" 405 method_not_allowed "POST" -- "$u/jobs/$id/cancel"
req "POST /v1/jobs/{id}/events" 405 method_not_allowed "GET" -- -X POST "$u/jobs/$id/events"
req "HEAD /v1/metrics" 405 - "GET" -- -I "$u/metrics"
req "GET with a body" 400 bad_request -- -X GET --data-binary '{}' "$u/ping"

# --- query parameters -------------------------------------------------------------------------
req "since=2^63" 400 bad_request -- "$u/jobs/$id/events?since=9223372036854775808"
req "since=2^53+1" 400 bad_request -- "$u/jobs/$id/events?since=9007199254740993"
req "since=-1" 400 bad_request -- "$u/jobs/$id/events?since=-1"
req "since=abc" 400 bad_request -- "$u/jobs/$id/events?since=abc"
req "since=+1" 400 bad_request -- "$u/jobs/$id/events?since=%2B1"
req "since empty" 400 bad_request -- "$u/jobs/$id/events?since="
req "since=2^53 is allowed (unknown job)" 404 job_not_found -- \
    "$u/jobs/$id/events?since=9007199254740992"
req "follow=maybe" 400 bad_request -- "$u/jobs/$id/events?follow=maybe"
req "follow without a value" 400 bad_request -- "$u/jobs/$id/events?follow"
req "limit=0" 400 bad_request -- "$u/jobs?limit=0"
req "limit=5000" 400 bad_request -- "$u/jobs?limit=5000"
req "limit=1.5" 400 bad_request -- "$u/jobs?limit=1.5"
req "state=bogus" 400 bad_request -- "$u/jobs?state=bogus"
req "state=RUNNING" 400 bad_request -- "$u/jobs?state=RUNNING"
req "unknown query parameter" 400 bad_request -- "$u/jobs?sort=name"
req "query on /v1/ping" 400 bad_request -- "$u/ping?verbose=1"
req "repeated parameter" 400 bad_request -- "$u/jobs?limit=1&limit=2"

# --- ids and names ----------------------------------------------------------------------------
req "../../etc/passwd as id" 400 bad_request -- --path-as-is "$u/jobs/../../etc/passwd"
req "%2e%2e%2f as id" 400 bad_request -- "$u/jobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd"
req "j../.. as id" 400 bad_request -- --path-as-is "$u/jobs/j../../cancel"
req "id with 17 hex digits" 400 bad_request -- "$u/jobs/j0123456789abcdef0"
req "id with 15 hex digits" 400 bad_request -- "$u/jobs/j0123456789abcde"
req "id with uppercase hex" 400 bad_request -- "$u/jobs/j0123456789ABCDEF"
req "id without the j" 400 bad_request -- "$u/jobs/00123456789abcdef"
req "id of 3000 bytes" 400 bad_request -- "$u/jobs/j$(head -c 3000 /dev/zero | tr '\0' 'a')"
req "unknown job" 404 job_not_found -- "$u/jobs/$id"
req "events of an unknown job" 404 job_not_found -- "$u/jobs/$id/events"
req "cancel of an unknown job" 404 job_not_found -- -X POST "$u/jobs/$id/cancel"
req "delete of an unknown job" 404 job_not_found -- -X DELETE "$u/jobs/$id"
req "plugin name ../.." 400 bad_request -- "$u/plugins/..%2f..%2fetc%2fpasswd"
req "plugin name with a dot" 400 bad_request -- "$u/plugins/mlp.so"
req "plugin name in uppercase" 400 bad_request -- "$u/plugins/MLP"
req "plugin name of 65 bytes" 400 bad_request -- "$u/plugins/$(head -c 65 /dev/zero | tr '\0' 'p')"
req "unknown plugin" 404 plugin_not_found -- "$u/plugins/no_such_plugin"

# --- clients that leave a followed stream, and one still following at SIGTERM -----------------
jq -n --rawfile spec "$src/examples/fashion-mnist-mlp.yaml" \
    '{spec_yaml: $spec, set: ["data.limit=3000", "train.epochs=100", "model.fc1=64"]}' >"$tmp/post"
job=$(curl -sS --unix-socket "$sock" --max-time 60 "${J[@]}" "$u/jobs" | jq -r '.id // empty')
follower=
if [ -n "$job" ]; then
    ok "a long job to follow"
    curl -sS -N --unix-socket "$sock" "$u/jobs/$job/events?follow=1" >/dev/null 2>&1 &
    leaver=$!
    curl -sS -N --unix-socket "$sock" "$u/jobs/$job/events?follow=1" >"$tmp/follow" 2>&1 &
    follower=$!
    sleep 1.5
    kill "$leaver"
    wait "$leaver" 2>/dev/null
    sleep 1.5
    if head -n 1 "$tmp/follow" | jq -e ".seq == 1 and .job == \"$job\"" >/dev/null; then
        ok "a followed stream starts with seq 1"
    else
        fail "a followed stream starts with seq 1"
    fi
else
    fail "a long job to follow"
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
if [ -n "$follower" ]; then
    # tcd has exited: the follower's stream must have ended with it
    for _ in $(seq 1 50); do
        kill -0 "$follower" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$follower" 2>/dev/null; then
        kill "$follower"
        fail "a followed stream ends when tcd stops"
    else
        ok "a followed stream ends when tcd stops"
    fi
fi
if [ "$rc" -eq 0 ]; then
    ok "tcd exits 0 on SIGTERM"
else
    fail "tcd exits 0 on SIGTERM" "exit status $rc"
fi
if grep -qE 'Sanitizer|runtime error:' "$tmp/tcd.log"; then
    fail "no sanitizer report"
    sed 's/^/     /' "$tmp/tcd.log" | head -60
else
    ok "no sanitizer report"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
