#!/usr/bin/env bash
# Push jobs in tcd and `tcctl push`, end to end with a stand-in for the worker's push: tcd is
# configured with a stub tcd-worker that plays `push` and `pull` from a script (recording its
# argv and whether it got HF_TOKEN) and hands every other command to the real tcd-worker. This
# checks tcd's side of the contract whatever state the real `tcd-worker push` is in:
#   - the argv tcd spawns (push DIR --repo R --type T --branch B [--message M] [--private]
#     [--force] --when W --json), with DIR the resolved directory or a train job's output, and
#     --when always for a manual push (or the request's "when");
#   - HF_TOKEN reaches push (and pull) workers, not train workers, and is in no job file;
#   - tcctl push: per-file upload progress with bytes/s, the commit URL, "nothing changed; no
#     commit", -q, --json, --detach, exit codes 0 / 1 (with the worker's message) / 3;
#   - status and jobs show the kind, the repo and the source;
#   - push and pull share transfer_concurrency; a queued push whose directory is gone fails
#     with a reason; a train job that a push reads from cannot be removed (409);
#   - a push interrupted by a daemon restart is re-queued and runs again;
#   - a train spec with a push section: the succeeded train job queues exactly one push job
#     (source the train job, repo/branch/private/message from the section, --when from
#     push.when, "auto": true), named by the train job's push_job; `tcctl train` follows it and
#     exits 0 (pushed), 0 (not pushed: the reason line), 1 (failed), 3 (cancelled); --json
#     carries the push result; push.when never queues none; a tcd killed (TCD_TEST_CRASH)
#     between the train job's end and the push job's creation, or right after it, makes the
#     push job at start, once.
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
notpushed)
    echo "{\"type\":\"result\",\"state\":\"succeeded\",\"pushed\":false,\"repo\":\"\$repo\",\"reason\":\"not pushed: test accuracy 0.4 does not beat the champion's 0.9 on \$repo@main\",\"changed\":false,\"commit\":\"\",\"url\":\"\",\"metrics\":{\"files\":0,\"lfs_files\":0,\"lfs_uploaded\":0,\"lfs_skipped\":0,\"bytes_uploaded\":0,\"seconds\":0.1}}"
    exit 0 ;;
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
echo "{\"type\":\"result\",\"state\":\"succeeded\",\"pushed\":true,\"commit\":\"\$sha\",\"url\":\"\$HF_ENDPOINT/\$repo/commit/\$sha\",\"changed\":\$changed,\"metrics\":{\"lfs_uploaded\":\$up,\"lfs_skipped\":\$skip,\"bytes_uploaded\":\$((up * 1000)),\"files\":2,\"seconds\":0.5}}"
EOF
chmod +x "$tmp/stub-worker"
printf 'worker: %s\ntransfer_concurrency: 1\ncancel_grace_s: 5\n' "$tmp/stub-worker" >"$tmp/tcd.yaml"

export TCD_SOCKET=$sock
# start_tcd [VAR=VALUE...]: extra environment for tcd (TCD_TEST_CRASH=...)
start_tcd() {
    env "$@" HF_ENDPOINT=http://hub.invalid HF_TOKEN=$token HF_HUB_CACHE=$tmp/cache \
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
eq "argv: push DIR --repo R --type model --branch main --when always --json" \
    "$(argv_of push | tr '\n' ' ')" "push $dir --repo org/m --type model --branch main --when always --json "
eq "the push worker gets tcd's HF_TOKEN and HF_ENDPOINT" "$(cat "$tmp/stub/last-push.env")" \
    "$(printf 'HF_TOKEN=%s\nHF_ENDPOINT=http://hub.invalid' "$token")"

(cd "$tmp" && "$tcctl" push model --repo org/m --dataset --private --force --branch dev \
    --message "two words" >"$tmp/out" 2>"$tmp/err")
eq "a relative DIR and every flag" "$(argv_of push | tr '\n' '|')" \
    "push|$dir|--repo|org/m|--type|dataset|--branch|dev|--message|two words|--private|--force|--when|always|--json|"
"$tcctl" push "$dir" --repo org/m --when improved >"$tmp/out" 2>"$tmp/err"
eq "push --when improved passes it on" "$(argv_of push | tr '\n' ' ')" \
    "push $dir --repo org/m --type model --branch main --when improved --json "
expect "push --when never is a usage error" 2 "--when is always or improved" -- \
    "$tcctl" push "$dir" --repo org/m --when never

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
eq "a train job without a push section has push_job null" "$(jget "$train" .push_job)" null
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

# ---- a train spec with a push section ---------------------------------------------------------
pspec=$tmp/push-spec.yaml
cp "$src/examples/fashion-mnist-mlp.yaml" "$pspec"
printf 'push: {repo: org/auto, branch: dev, private: true, when: improved, message: "auto push"}\n' >>"$pspec"
tiny=(--set data.limit=2000 --set train.epochs=1 --set model.fc1=16)
auto_url=http://hub.invalid/org/auto/commit/$sha
# n_pushes: how many push workers the stub has run
n_pushes() { grep -c HF_TOKEN "$tmp/stub/all-push.env" 2>/dev/null || echo 0; }
# pushes_of ID: the push jobs whose source is ID
pushes_of() { "$tcctl" --json jobs --limit 1000 | jq -r --arg s "$1" '.jobs[] | select(.kind == "push" and .push.source == $s) | .id'; }
submitted() { grep -Eo 'submitted j[0-9a-f]{16}' "$tmp/err" | head -1 | cut -d' ' -f2; }

echo ok >"$tmp/stub/mode"
before=$(n_pushes)
expect "train with push: {when: improved} waits for the push and exits 0" 0 -- \
    "$tcctl" train "$pspec" "${tiny[@]}"
t1=$(submitted)
p1=$(jget "$t1" .push_job)
check "  the train job names its push job" grep -Eq '^j[0-9a-f]{16}$' <<<"$p1"
eq "  exactly one push job has the train job as its source" "$(pushes_of "$t1")" "$p1"
eq "  the stub ran one push worker" "$(n_pushes)" $((before + 1))
eq "  argv: the output, repo/branch/message/private from the spec, --when improved" \
    "$(argv_of push | tr '\n' '|')" \
    "push|$tmp/state/jobs/$t1/output|--repo|org/auto|--type|model|--branch|dev|--message|auto push|--private|--when|improved|--json|"
check "  the push job: auto, when improved, the train job's owner" test \
    "$("$tcctl" --json status "$p1" | jq -c '[.push.auto, .push.when, .push.repo, .push.branch,
        .push.private, .push.force, .push.message, .push.dir, .owner_uid, .state]')" = \
    "[true,\"improved\",\"org/auto\",\"dev\",true,false,\"auto push\",\"$tmp/state/jobs/$t1/output\",$(jget "$t1" .owner_uid),\"succeeded\"]"
eq "  the last line on stdout is the commit URL" "$(tail -1 "$tmp/out")" "$auto_url"
check "  the train outcome comes first" grep -q "^$t1 succeeded" "$tmp/out"
check "  it says it follows the push job" \
    grep -q "push job $p1: org/auto, branch dev (push.when improved); following it" "$tmp/err"
check "  with the push's upload progress" grep -Eq "model.safetensors 1.0 kB/1.0 kB 2.5 MB/s" "$tmp/err"
eq "  the train job's result event names the push job" \
    "$("$tcctl" --json logs "$t1" | jq -rs 'last | .push_job')" "$p1"
expect "  status of the train job shows the push job and its state" 0 -- "$tcctl" status "$t1"
check "    push line" grep -Eq "^push +$p1 \(succeeded: $auto_url\)$" "$tmp/out"
expect "  status of the push job shows when and where it came from" 0 -- "$tcctl" status "$p1"
check "    when improved" grep -Eq "^repo +model org/auto, branch dev, private, when improved$" "$tmp/out"
check "    by its push section" grep -Eq "^source +$t1 \(.*\), by its push section$" "$tmp/out"

echo notpushed >"$tmp/stub/mode"
expect "train with push, the model not better: exits 0" 0 -- "$tcctl" train "$pspec" "${tiny[@]}"
t2=$(submitted)
eq "  it prints the reason line last" "$(tail -1 "$tmp/out")" \
    "not pushed: test accuracy 0.4 does not beat the champion's 0.9 on org/auto@main"
p2=$(jget "$t2" .push_job)
check "  the push job succeeded with pushed false and the reason" test \
    "$(jget "$p2" '[.state, .result.pushed, .result.reason] | @json')" = \
    "[\"succeeded\",false,\"not pushed: test accuracy 0.4 does not beat the champion's 0.9 on org/auto@main\"]"
expect "  status of the train job shows it" 0 "^push +$p2 \(succeeded: not pushed: test accuracy" -- \
    "$tcctl" status "$t2"
expect "  logs of the push job show the reason" 0 "result succeeded .*\(not pushed: test accuracy 0.4" -- \
    "$tcctl" logs "$p2"

echo fail >"$tmp/stub/mode"
expect "train with push, the push fails: exits 1 with the message" 1 \
    "tcctl: job j[0-9a-f]{16} failed: .*the branch main has moved on" -- "$tcctl" train "$pspec" "${tiny[@]}"
t3=$(submitted)
eq "  the train job itself succeeded" "$(jget "$t3" .state)" succeeded
eq "  its push job failed" "$(jget "$(jget "$t3" .push_job)" .state)" failed

echo ok >"$tmp/stub/mode"
expect "--json train with push" 0 -- "$tcctl" --json train "$pspec" "${tiny[@]}"
check "  one line: the train result with the push result in \"push\"" jq -se "length == 1 and
    .[0].type == \"result\" and .[0].state == \"succeeded\" and (.[0].metrics | has(\"test_accuracy\"))
    and .[0].push_job == .[0].push.job and .[0].push.type == \"result\" and
    .[0].push.state == \"succeeded\" and .[0].push.pushed == true and .[0].push.url == \"$auto_url\" and
    .[0].push.changed == true" "$tmp/out"
echo notpushed >"$tmp/stub/mode"
expect "--json train with push, not pushed" 0 -- "$tcctl" --json train "$pspec" "${tiny[@]}"
check "  push.pushed false and the reason" jq -se 'length == 1 and .[0].push.pushed == false and
    (.[0].push.reason | startswith("not pushed: "))' "$tmp/out"
echo ok >"$tmp/stub/mode"
expect "-q train with push" 0 -- "$tcctl" -q train "$pspec" "${tiny[@]}"
check "  prints the train job id, then the URL" test "$(sed 1d "$tmp/out")" = "$auto_url" -a \
    "$(grep -cE '^j[0-9a-f]{16}$' "$tmp/out")" = 1
expect "train --detach with push prints only the id" 0 "^j[0-9a-f]{16}$" -- \
    "$tcctl" train "$pspec" "${tiny[@]}" --detach
t4=$(cat "$tmp/out")
check "  the push job runs all the same" wait_for "$t4" succeeded
check "  and succeeds" wait_for "$(jget "$t4" .push_job)" succeeded

echo slow >"$tmp/stub/mode"
rm -f "$tmp/stub/started-push"
"$tcctl" train "$pspec" "${tiny[@]}" >"$tmp/bg.out" 2>"$tmp/bg.err" &
bg=$!
wait_file "$tmp/stub/started-push"
t5=$(grep -Eo 'submitted j[0-9a-f]{16}' "$tmp/bg.err" | head -1 | cut -d' ' -f2)
"$tcctl" cancel "$(jget "$t5" .push_job)" >/dev/null
wait "$bg"
eq "train with push, the push cancelled: exits 3" "$?" 3

echo ok >"$tmp/stub/mode"
before=$(n_pushes)
expect "train with --set push.when=never" 0 -- "$tcctl" train "$pspec" "${tiny[@]}" --set push.when=never
t6=$(submitted)
eq "  push_job is null" "$(jget "$t6" .push_job)" null
eq "  no push job has it as its source" "$(pushes_of "$t6")" ""
eq "  no push worker ran" "$(n_pushes)" "$before"
check "  its events say why" sh -c "'$tcctl' logs '$t6' | grep -q \"push.when is 'never': no push job for org/auto\""

# ---- a crash between the train job's end and its push job's creation ---------------------------
# kill_tcd_at POINT: restart tcd with TCD_TEST_CRASH=POINT, submit a train job with a push
# section, wait for tcd to kill itself there; $crash is the train job's id.
kill_tcd_at() {
    kill -TERM "$tcd_pid"
    wait "$tcd_pid"
    tcd_pid=
    start_tcd TCD_TEST_CRASH="$1" || return 1
    crash=$("$tcctl" -q train "$pspec" "${tiny[@]}" --detach)
    local rc
    { # bash's "Killed" notice goes nowhere
        for _ in $(seq 300); do kill -0 "$tcd_pid" 2>/dev/null || break; sleep 0.1; done
        wait "$tcd_pid"
        rc=$?
    } 2>/dev/null
    tcd_pid=
    [ "$rc" = 137 ]
}
tjson() { jq -c "$2" "$tmp/state/jobs/$1/job.json"; }
before=$(n_pushes)
check "tcd killed right after a train job with a push section succeeded" kill_tcd_at before-auto-push
cp=$(jq -r .push_job "$tmp/state/jobs/$crash/job.json")
eq "  job.json: succeeded, a push job id, push_pending" "$(tjson "$crash" '[.state, (.push_job | test("^j[0-9a-f]{16}$")), .tcd.push_pending]')" \
    '["succeeded",true,true]'
check "  the push job does not exist yet" test ! -e "$tmp/state/jobs/$cp"
check "tcd starts again" start_tcd
check "  the push job is created at start, with the id the train job saved" wait_for "$cp" succeeded
eq "  exactly one push job for the train job" "$(pushes_of "$crash")" "$cp"
eq "  one push worker ran" "$(n_pushes)" $((before + 1))
eq "  with the spec's arguments" "$(argv_of push | tr '\n' '|')" \
    "push|$tmp/state/jobs/$crash/output|--repo|org/auto|--type|model|--branch|dev|--message|auto push|--private|--when|improved|--json|"
eq "  push_pending is cleared" "$(tjson "$crash" '[.push_job, .tcd.push_pending]')" "[\"$cp\",null]"

before=$(n_pushes)
check "tcd killed right after it created the push job" kill_tcd_at after-auto-push
cp=$(jq -r .push_job "$tmp/state/jobs/$crash/job.json")
eq "  job.json still says push_pending" "$(tjson "$crash" .tcd.push_pending)" true
check "  the push job's directory is there" test -s "$tmp/state/jobs/$cp/job.json"
check "tcd starts again" start_tcd
check "  the push job runs" wait_for "$cp" succeeded
eq "  no second push job for the train job" "$(pushes_of "$crash")" "$cp"
eq "  one push worker ran" "$(n_pushes)" $((before + 1))
eq "  push_pending is cleared" "$(tjson "$crash" '.tcd.push_pending')" null
kill -TERM "$tcd_pid"
wait "$tcd_pid"
tcd_pid=
check "tcd starts again (a plain restart)" start_tcd
sleep 0.5
eq "  still one push job for the train job" "$(pushes_of "$crash")" "$cp"
eq "  and no new push worker" "$(n_pushes)" $((before + 1))

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
