#!/usr/bin/env bash
# Push jobs in tcd and `tcctl push`, end to end with a stand-in for the worker's push: tcd is
# configured with a stub tcd-worker that plays `push` and `pull` from a script (recording its
# argv and whether it got HF_TOKEN) and hands every other command to the real tcd-worker. This
# checks tcd's side of the contract whatever state the real `tcd-worker push` is in:
#   - the argv tcd spawns (push DIR --repo R --type T --branch B [--message M] [--private]
#     [--force] --json), with DIR the resolved directory or a train job's output;
#   - HF_TOKEN reaches push (and pull) workers, not train workers, and is in no job file;
#   - tcctl push: per-file upload progress with bytes/s, the commit URL, "nothing changed; no
#     commit", -q, --json, --detach, exit codes 0 / 1 (with the worker's message) / 3;
#   - status and jobs show the kind, the repo and the source;
#   - push and pull share transfer_concurrency; a queued push whose directory is gone fails
#     with a reason; a train job that a push reads from cannot be removed (409);
#   - a push interrupted by a daemon restart is re-queued and runs again.
#
#   test_push_daemon.sh TCD TCD_WORKER TCCTL SOURCE_DIR
set -u
tcd=$(realpath "$1")
worker=$(realpath "$2")
tcctl=$(realpath "$3")
src=$4
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/tcd-push.XXXXXX)
sock=$tmp/tcd.sock
token=hf_push_daemon_test_token_do_not_leak_42
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
# expect NAME CODE [PATTERN] -- command...: exit CODE, and PATTERN (grep -E) in stdout+stderr.
expect() {
    local name=$1 code=$2 pattern=
    shift 2
    if [ "$1" != "--" ]; then pattern=$1; shift; fi
    shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq "$code" ] && { [ -z "$pattern" ] || cat "$tmp/out" "$tmp/err" | grep -Eq -- "$pattern"; }; then
        ok "$name"
    else
        echo "     exit $rc (want $code)${pattern:+, want /$pattern/}"
        fail "$name"
    fi
}
# check NAME command...: the command succeeds.
check() {
    local name=$1
    shift
    if "$@" >/dev/null; then ok "$name"; else fail "$name"; fi
}
# eq NAME GOT WANT
eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else
        printf '     got:  %s\n     want: %s\n' "$2" "$3"
        fail "$1"
    fi
}
# jstate ID: the job's state; jget ID JQ
jget() { "$tcctl" --json status "$1" 2>/dev/null | jq -r "$2"; }
# wait_for ID STATE [SECONDS]: until the job is in STATE
wait_for() {
    local _
    for _ in $(seq $((${3:-20} * 10))); do
        [ "$(jget "$1" .state)" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# wait_file PATH: until it exists (10 s)
wait_file() {
    local _
    for _ in $(seq 100); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
argv_of() { cat "$tmp/stub/last-$1.argv" 2>/dev/null; }

# ---- the stub worker --------------------------------------------------------------------------
mkdir -p "$tmp/stub"
echo ok >"$tmp/stub/mode"
cat >"$tmp/stub-worker" <<EOF
#!/usr/bin/env bash
# push and pull from a script (mode in $tmp/stub/mode); everything else: the real worker.
T=$tmp/stub
cmd=\$1
if [ -n "\${HF_TOKEN+set}" ]; then echo "HF_TOKEN=\$HF_TOKEN"; else echo "HF_TOKEN unset"; fi >"\$T/last-\$cmd.env"
echo "HF_ENDPOINT=\${HF_ENDPOINT:-}" >>"\$T/last-\$cmd.env"
cat "\$T/last-\$cmd.env" >>"\$T/all-\$cmd.env"
case "\$cmd" in push | pull) ;; *) exec "$worker" "\$@" ;; esac
printf '%s\n' "\$@" >"\$T/last-\$cmd.argv"
repo=\$3
[ "\$cmd" = push ] && repo=\$4
mode=\$(cat "\$T/mode")
sha=0123456789abcdef0123456789abcdef01234567
case "\$mode" in
slow)
    trap 'echo "{\"type\":\"log\",\"level\":\"info\",\"message\":\"cancelled\"}"; exit 3' TERM
    touch "\$T/started-\$cmd"
    echo '{"type":"log","level":"info","message":"working slowly"}'
    for _ in \$(seq 600); do sleep 0.1 & wait \$!; done
    ;;
fail)
    echo '{"type":"log","level":"warn","message":"main has moved on"}'
    echo '{"type":"result","state":"failed","error":{"code":"non_fast_forward","message":"the branch main has moved on; push with --force to overwrite it"}}'
    exit 1 ;;
esac
if [ "\$cmd" = pull ]; then
    echo '{"type":"result","state":"succeeded","snapshot":"/nowhere","metrics":{"bytes_transferred":0,"files":0,"seconds":0.1}}'
    exit 0
fi
for f in config.json model.safetensors; do
    echo "{\"type\":\"progress\",\"phase\":\"upload\",\"file\":\"\$f\",\"completed\":500,\"total\":1000,\"unit\":\"bytes\",\"bytes_per_s\":2500000,\"files_done\":0,\"files_total\":2}"
    echo "{\"type\":\"progress\",\"phase\":\"upload\",\"file\":\"\$f\",\"completed\":1000,\"total\":1000,\"unit\":\"bytes\",\"bytes_per_s\":2500000,\"files_done\":1,\"files_total\":2}"
done
changed=true up=1 skip=0
[ "\$mode" = unchanged ] && changed=false up=0 skip=1
echo "{\"type\":\"result\",\"state\":\"succeeded\",\"commit\":\"\$sha\",\"url\":\"\$HF_ENDPOINT/\$repo/commit/\$sha\",\"changed\":\$changed,\"metrics\":{\"lfs_uploaded\":\$up,\"lfs_skipped\":\$skip,\"bytes_uploaded\":\$((up * 1000)),\"files\":2,\"seconds\":0.5}}"
EOF
chmod +x "$tmp/stub-worker"
printf 'worker: %s\ntransfer_concurrency: 1\ncancel_grace_s: 5\n' "$tmp/stub-worker" >"$tmp/tcd.yaml"

export TCD_SOCKET=$sock
start_tcd() {
    HF_ENDPOINT=http://hub.invalid HF_TOKEN=$token HF_HUB_CACHE=$tmp/cache \
        "$tcd" --config "$tmp/tcd.yaml" --state-dir "$tmp/state" --socket "$sock" \
        >>"$tmp/tcd.log" 2>&1 &
    tcd_pid=$!
    for _ in $(seq 100); do
        "$tcctl" ping >/dev/null 2>&1 && return 0
        kill -0 "$tcd_pid" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}
if ! start_tcd; then
    echo "tcd did not come up:"
    sed 's/^/     /' "$tmp/tcd.log" | tail -20
    exit 1
fi

dir=$tmp/model
mkdir -p "$dir"
echo '{"a": 1}' >"$dir/config.json"
head -c 1000 /dev/urandom >"$dir/model.safetensors"
sha=0123456789abcdef0123456789abcdef01234567
url=http://hub.invalid/org/m/commit/$sha

# ---- a push that commits ----------------------------------------------------------------------
expect "push DIR waits and exits 0" 0 -- "$tcctl" push "$dir" --repo org/m
eq "it prints the commit URL on stdout" "$(cat "$tmp/out")" "$url"
check "per-file upload progress with bytes/s" grep -Eq "model.safetensors 1.0 kB/1.0 kB 2.5 MB/s \(1/2 files\)" "$tmp/err"
check "a summary on stderr" grep -q "succeeded: 2 files; LFS objects: 1 uploaded (1.0 kB), 0 already on the Hub; 0.5 s" "$tmp/err"
eq "argv: push DIR --repo R --type model --branch main --json" "$(argv_of push | tr '\n' ' ')" \
    "push $dir --repo org/m --type model --branch main --json "
eq "the push worker gets tcd's HF_TOKEN and HF_ENDPOINT" "$(cat "$tmp/stub/last-push.env")" \
    "$(printf 'HF_TOKEN=%s\nHF_ENDPOINT=http://hub.invalid' "$token")"

(cd "$tmp" && "$tcctl" push model --repo org/m --dataset --private --force --branch dev \
    --message "two words" >"$tmp/out" 2>"$tmp/err")
eq "a relative DIR and every flag" "$(argv_of push | tr '\n' '|')" \
    "push|$dir|--repo|org/m|--type|dataset|--branch|dev|--message|two words|--private|--force|--json|"

echo unchanged >"$tmp/stub/mode"
expect "push with nothing to change exits 0" 0 -- "$tcctl" push "$dir" --repo org/m
eq "it says so on stdout" "$(cat "$tmp/out")" "nothing changed; no commit"
check "  and counts the objects already on the Hub" grep -q "LFS objects: 0 uploaded (0 B), 1 already on the Hub" "$tmp/err"
expect "-q push prints only the URL" 0 -- "$tcctl" -q push "$dir" --repo org/m
eq "  (also when nothing changed)" "$(cat "$tmp/out")" "$url"
[ ! -s "$tmp/err" ] && ok "  and nothing on stderr" || fail "  and nothing on stderr"
echo ok >"$tmp/stub/mode"
expect "--json push" 0 -- "$tcctl" --json push "$dir" --repo org/m
check "--json prints the result event" jq -se "length == 1 and .[0].type == \"result\" and
    .[0].state == \"succeeded\" and .[0].commit == \"$sha\" and .[0].url == \"$url\" and
    .[0].changed == true and .[0].metrics.lfs_uploaded == 1" "$tmp/out"

# ---- the job object, status, jobs -------------------------------------------------------------
expect "-q push --detach prints the id" 0 "^j[0-9a-f]{16}$" -- "$tcctl" -q push "$dir" --repo org/m --name card --detach
id=$(cat "$tmp/out")
wait_for "$id" succeeded || echo "     ($id did not succeed)"
check "the job's result has the metrics and commit, url, changed" \
    test "$(jget "$id" '.result | [.lfs_uploaded, .files, .commit, .url, .changed] | @json')" = \
    "[1,2,\"$sha\",\"$url\",true]"
expect "status of a push job" 0 -- "$tcctl" status "$id"
check "  kind push" grep -Eq "^kind +push, owner uid" "$tmp/out"
check "  the repo and branch" grep -Eq "^repo +model org/m, branch main$" "$tmp/out"
check "  the source" grep -Eq "^source +$dir$" "$tmp/out"
check "  the commit URL" grep -Eq "url +$url" "$tmp/out"
check "  no output directory" sh -c "! grep -q '^output' '$tmp/out'"
expect "jobs lists push jobs" 0 -- "$tcctl" jobs
check "  with kind push and the name" grep -Eq "^$id +push +succeeded +card " "$tmp/out"
check "  an unnamed one shows its repo" grep -Eq "^j[0-9a-f]{16} +push +succeeded +org/m " "$tmp/out"

# ---- failure and cancel -----------------------------------------------------------------------
echo fail >"$tmp/stub/mode"
expect "a failed push exits 1 with the worker's message" 1 \
    "failed: the branch main has moved on" -- "$tcctl" push "$dir" --repo org/m
check "  the job's reason has it too" grep -q "state failed (worker exited with 1: the branch main has moved on" "$tmp/err"
echo slow >"$tmp/stub/mode"
rm -f "$tmp/stub/started-push"
expect "push --detach (slow)" 0 "^j[0-9a-f]{16}$" -- "$tcctl" push "$dir" --repo org/m --detach
slow=$(cat "$tmp/out")
wait_file "$tmp/stub/started-push"
"$tcctl" cancel "$slow" >/dev/null
expect "wait on a cancelled push exits 3" 3 "cancelled" -- timeout 30 "$tcctl" wait "$slow"

# ---- one transfer pool for push and pull (transfer_concurrency: 1) ---------------------------
rm -f "$tmp/stub/started-push" "$tmp/stub/started-pull"
expect "a slow push" 0 -- "$tcctl" -q push "$dir" --repo org/m --detach
p1=$(cat "$tmp/out")
wait_file "$tmp/stub/started-push"
expect "a pull behind it" 0 -- "$tcctl" -q pull org/p --detach
p2=$(cat "$tmp/out")
mkdir -p "$tmp/gone" && echo x >"$tmp/gone/f"
expect "a push of a directory that goes away before it starts" 0 -- \
    "$tcctl" -q push "$tmp/gone" --repo org/m --detach
p3=$(cat "$tmp/out")
rm -rf "$tmp/gone"
sleep 0.5
eq "the pull waits for the push (one transfer at a time)" "$(jget "$p2" .state)" queued
"$tcctl" cancel "$p1" >/dev/null
check "the pull starts when the push ends" wait_for "$p2" running
"$tcctl" cancel "$p2" >/dev/null
check "the push whose directory is gone fails" wait_for "$p3" failed
eq "  with the reason" "$(jget "$p3" .reason)" "source directory: '$tmp/gone' does not exist"

# ---- a train job's output as the source -------------------------------------------------------
echo ok >"$tmp/stub/mode"
expect "a small train job" 0 -- "$tcctl" -q train "$src/examples/fashion-mnist-mlp.yaml" \
    --set data.limit=1000 --set train.epochs=1 --set model.fc1=16 --set model.fc2=16
train=$(head -1 "$tmp/out")
eq "the train worker has no HF_TOKEN" "$(grep HF_TOKEN "$tmp/stub/all-run.env" | sort -u)" "HF_TOKEN unset"
eq "the spec check has no HF_TOKEN" "$(grep HF_TOKEN "$tmp/stub/all-check.env" | sort -u)" "HF_TOKEN unset"
eq "the pull worker gets HF_TOKEN" "$(grep HF_TOKEN "$tmp/stub/all-pull.env" | sort -u)" "HF_TOKEN=$token"
expect "push TRAIN_JOB_ID" 0 "$url" -- "$tcctl" push "$train" --repo org/m
eq "  pushes the job's output directory" "$(argv_of push | sed -n 2p)" "$tmp/state/jobs/$train/output"
echo slow >"$tmp/stub/mode"
rm -f "$tmp/stub/started-push"
expect "a slow push of the train job" 0 -- "$tcctl" -q push "$train" --repo org/m --detach
p4=$(cat "$tmp/out")
wait_file "$tmp/stub/started-push"
expect "rm of a train job a push reads from is refused" 1 "source of push job '$p4'.*conflict" -- \
    "$tcctl" rm "$train"

# ---- a daemon restart re-queues a running push ------------------------------------------------
kill -TERM "$tcd_pid"
wait "$tcd_pid"
tcd_pid=
echo ok >"$tmp/stub/mode"
check "tcd starts again" start_tcd
check "the interrupted push runs again and succeeds" wait_for "$p4" succeeded
eq "  on its second attempt" "$(jget "$p4" .attempts)" 2
"$tcctl" --json logs "$p4" >"$tmp/out"
check "  its events say it resumed the upload" grep -q "daemon restarted; resuming the upload" "$tmp/out"
expect "logs of a push show the commit URL" 0 "result succeeded .* \(commit $url\)" -- "$tcctl" logs "$p4"
expect "rm of the train job once the push is done" 0 "deleted $train" -- "$tcctl" rm "$train"

# ---- the token stays out of the state directory ----------------------------------------------
if grep -rqF "$token" "$tmp/state" "$tmp/tcd.log"; then
    fail "HF_TOKEN is in no job file and not in tcd's log"
else
    ok "HF_TOKEN is in no job file and not in tcd's log"
fi

kill -0 "$tcd_pid" 2>/dev/null && ok "tcd is still up" || fail "tcd is still up"
if [ "$failed" -ne 0 ]; then
    echo "tcd log (tail):"
    tail -20 "$tmp/tcd.log" | sed 's/^/     /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
