#!/usr/bin/env bash
# Scheduled retraining with tcd, tcd-worker and scripts/local-hub (issue 8, the cron-safe half):
#   - a small text dataset v1 is pushed to the local Hub as local/retrain-data; the cron line
#     `tcctl train SPEC --if-changed --concurrency forbid -q` trains (embedbag, a few seconds)
#     and pushes the model (the spec's push section), printing nothing; the job records its
#     schedule_key (the spec's absolute path), data_revision (the dataset's commit) and
#     model_revision (null: no Hub base model);
#   - the same line again exits 0, prints nothing and makes no job (tcd says "unchanged");
#   - dataset v2 is pushed: the line trains again, recording the new commit; then it is quiet;
#   - dataset v3 and a planted worse model (lr 0, push.when improved): the champion on the Hub is
#     pulled and evaluated on v3 with the same code; the model is kept back, the job says why;
#   - the decision survives a tcd restart (the job fields are in job.json);
#   - two `--concurrency forbid` runs started at the same moment make exactly one job (the
#     other says so, exit 0; --skip-exit-code 75 gives 75); replace cancels the running job
#     ("replaced by job ...");
#   - --deadline with train_concurrency 1 and a long job running: the job ends `missed` (exit 4)
#     and never starts; the state survives a restart;
#   - an idempotency key (explicit, the Idempotency-Key header, or the default KEY@minute) makes
#     a repeated create return the same job (201, then 200);
#   - bad values (durations, policies, keys, exit codes) are exit 2 in tcctl and 400 naming the
#     field in the API; --timeout 30m is timeout_s 1800;
#   - cron manners: one outcome line per keyed job in tcd's log; with $JOURNAL_STREAM, tcctl -q
#     writes its one-line outcome on stderr; the documented crontab line and the systemd
#     service's ExecStart (scripts/cron) run quietly on the test's spec;
#   - /v1/metrics has tcd_schedule_last_success_timestamp{key,uid}; tcctl status shows the
#     schedule and the revisions.
#   test_retrain.sh TCD TCCTL SOURCE_DIR
TCD=$(realpath "$1")
TCCTL=$(realpath "$2")
SRC=$(realpath "$3")

. "$SRC/tests/hub_standin/lib.sh"
PY=/usr/bin/python3
DATA_ID=local/retrain-data
MODEL_ID=local/retrain-model
export TCCTL_SYSLOG=0 # keep the host's syslog out of it
unset JOURNAL_STREAM

# json FILE EXPR: a value of the JSON in FILE (EXPR in Python, the document is j)
json() { "$PY" -c 'import json,sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# train_jobs [KEY]: the number of train jobs (of schedule key KEY)
train_jobs() {
    "$TCCTL" --json jobs --limit 1000 >"$WORK/jobs.json" 2>/dev/null
    "$PY" - "$WORK/jobs.json" "${1:-}" <<'PY'
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
print(sum(1 for j in jobs if j["kind"] == "train" and (not sys.argv[2] or j.get("schedule_key") == sys.argv[2])))
PY
}
# job ID EXPR: a value of the job object (the document is j)
job() {
    "$TCCTL" --json status "$1" >"$WORK/job.json" 2>/dev/null
    json "$WORK/job.json" "$2"
}
# newest_train [KEY]: the id of the newest train job (of schedule key KEY)
newest_train() {
    "$TCCTL" --json jobs --limit 1000 >"$WORK/jobs.json" 2>/dev/null
    "$PY" - "$WORK/jobs.json" "${1:-}" <<'PY'
import json, sys
jobs = [j for j in json.load(open(sys.argv[1]))["jobs"] if j["kind"] == "train" and (not sys.argv[2] or j.get("schedule_key") == sys.argv[2])]
print(jobs[0]["id"] if jobs else "")
PY
}
# wait_state ID STATE...: up to 60 s for the job to be in one of the states
wait_state() {
    local id=$1 s
    shift
    for _ in $(seq 600); do
        s=$(job "$id" 'j["state"]')
        for want in "$@"; do [ "$s" = "$want" ] && return 0; done
        sleep 0.1
    done
    return 1
}
# post BODY [HEADER...]: POST /v1/jobs; the status in $WORK/post.code, the body in $WORK/post.out
post() {
    local body=$1
    shift
    curl -sS --unix-socket "$TCD_SOCKET" -o "$WORK/post.out" -w '%{http_code}' \
        -H 'Content-Type: application/json' "$@" -d "$body" http://tcd/v1/jobs >"$WORK/post.code"
}
tcd_restart() {
    kill "$TCD_PID" 2>/dev/null && wait "$TCD_PID" 2>/dev/null
    tcd_start "$TCD" "$TCCTL"
}

# ---- dataset v1 on the Hub, the spec ----------------------------------------------------------
# make_data DIR SEED: 300 train and 100 test texts of two classes, different for each seed
make_data() {
    "$PY" - "$1" "$2" <<'PY'
import json, os, random, sys
out, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
good = "great lovely superb fine happy wonderful pleasant excellent".split()
bad = "awful terrible poor sad horrible nasty dreadful broken".split()
filler = "the a movie film plot actor was is very quite and but it this".split()
os.makedirs(out, exist_ok=True)
for split, n in (("train", 300), ("test", 100)):
    with open(os.path.join(out, split + ".jsonl"), "w") as f:
        for i in range(n):
            label = rng.randrange(2)
            words = [rng.choice(filler) for _ in range(6)] + [rng.choice(good if label else bad) for _ in range(2)]
            rng.shuffle(words)
            f.write(json.dumps({"text": " ".join(words), "label": label}) + "\n")
PY
}
make_data "$WORK/data" 1

hub_start
tcd_start "$TCD" "$TCCTL"

"$TCCTL" push "$WORK/data" --repo "$DATA_ID" --dataset --message "v1" >"$WORK/p1.out" 2>"$WORK/p1.err"
check "dataset v1 pushed to $DATA_ID" test $? -eq 0 || cat "$WORK/p1.err"
V1=$(git ls-remote "$URL/datasets/$DATA_ID" refs/heads/main | cut -f1)
check "the dataset has a commit" test -n "$V1"

mkdir -p "$WORK/jobs"
SPEC=$WORK/jobs/nightly.yaml
cat >"$SPEC" <<EOF
model: {plugin: embedbag, embed_dim: 16, ngrams: 1, buckets: 1000, min_freq: 1, max_vocab: 1000}
data:  {plugin: text, dataset: $DATA_ID, text_column: text, label_column: label}
train: {epochs: 2, batch_size: 32, optimizer: adamw, lr: 1.0e-2, seed: 1, metric: accuracy, val_fraction: 0.1}
push:  {repo: $MODEL_ID, when: always}
EOF
KEY=$(realpath "$SPEC")
# the cron line; each invocation gets its own idempotency key (a cron slot of its own)
cron() { # cron SLOT [more args]
    local slot=$1
    shift
    "$TCCTL" train "$SPEC" --if-changed --concurrency forbid -q --idempotency-key "$slot" "$@"
}

# ---- --if-changed: v1 trains and pushes, quietly ------------------------------------------------
cron slot-1 >"$WORK/c1.out" 2>"$WORK/c1.err"
rc=$?
eq "cron line, dataset v1: exit 0" "$rc" 0
check "  prints nothing on stdout" test ! -s "$WORK/c1.out"
check "  prints nothing on stderr" test ! -s "$WORK/c1.err" || cat "$WORK/c1.err"
eq "  one train job" "$(train_jobs)" 1
J1=$(newest_train)
eq "  it succeeded" "$(job "$J1" 'j["state"]')" succeeded
eq "  schedule_key is the spec's absolute path" "$(job "$J1" 'j["schedule_key"]')" "$KEY"
eq "  data_revision is the dataset's v1 commit" "$(job "$J1" 'j["data_revision"]')" "$V1"
eq "  model_revision is null (no Hub base model)" "$(job "$J1" 'j["model_revision"]')" None
eq "  if_changed and concurrency recorded" "$(job "$J1" '(j["if_changed"], j["concurrency"], j["idempotency_key"])')" "(True, 'forbid', 'slot-1')"
P1=$(job "$J1" 'j["push_job"]')
eq "  its push job succeeded" "$(job "$P1" 'j["state"]')" succeeded
M1=$(git ls-remote "$URL/$MODEL_ID" refs/heads/main | cut -f1)
check "  the model repo has a commit" test -n "$M1"
check "tcd logs the outcome of the keyed job" grep -q "schedule '$KEY': job $J1 succeeded (data $V1, model -)" "$WORK/tcd.log"

# ---- the same line again: nothing to do ---------------------------------------------------------
cron slot-2 >"$WORK/c2.out" 2>"$WORK/c2.err"
eq "cron line again: exit 0" "$?" 0
check "  prints nothing" test ! -s "$WORK/c2.out" -a ! -s "$WORK/c2.err"
eq "  no new job" "$(train_jobs)" 1
check "  tcd says unchanged" grep -q "schedule '$KEY' of uid [0-9]*: unchanged since job $J1" "$WORK/tcd.log"
"$TCCTL" --json train "$SPEC" --if-changed --idempotency-key slot-2b >"$WORK/c2j.out" 2>&1
eq "  --json: exit 0" "$?" 0
eq "  --json: skipped, unchanged, naming the last run" "$(json "$WORK/c2j.out" '(j["skipped"]["code"], j["skipped"]["job"], j["skipped"]["data_revision"])')" "('unchanged', '$J1', '$V1')"
"$TCCTL" train "$SPEC" --if-changed --idempotency-key slot-2c >"$WORK/c2h.out" 2>"$WORK/c2h.err"
check "  without -q: one line on stderr saying why" grep -q "^tcctl: no job: unchanged since job $J1" "$WORK/c2h.err"
JOURNAL_STREAM=8:1234 "$TCCTL" train "$SPEC" --if-changed -q --idempotency-key slot-2d >"$WORK/c2s.out" 2>"$WORK/c2s.err"
eq "  under systemd (\$JOURNAL_STREAM) -q: one outcome line on stderr (the journal)" "$(wc -l <"$WORK/c2s.err")" 1
check "    naming the schedule and the reason" grep -q "^tcctl: train $KEY: no job: unchanged since job $J1" "$WORK/c2s.err"

# ---- a tcd restart keeps what the decision needs ----------------------------------------------
tcd_restart
eq "after a restart the job keeps its revisions" "$(job "$J1" '(j["schedule_key"], j["data_revision"])')" "('$KEY', '$V1')"
cron slot-3 >"$WORK/c3.out" 2>&1
eq "cron line after a restart: exit 0, quiet" "$?:$(wc -c <"$WORK/c3.out")" "0:0"
eq "  still no new job" "$(train_jobs)" 1

# ---- dataset v2: trains again -------------------------------------------------------------------
make_data "$WORK/data" 2
"$TCCTL" push "$WORK/data" --repo "$DATA_ID" --dataset --message "v2" >"$WORK/p2.out" 2>"$WORK/p2.err"
check "dataset v2 pushed" test $? -eq 0 || cat "$WORK/p2.err"
V2=$(git ls-remote "$URL/datasets/$DATA_ID" refs/heads/main | cut -f1)
check "  a new commit" test -n "$V2" -a "$V2" != "$V1"
cron slot-4 >"$WORK/c4.out" 2>"$WORK/c4.err"
eq "cron line, dataset v2: exit 0" "$?" 0
check "  prints nothing" test ! -s "$WORK/c4.out" -a ! -s "$WORK/c4.err"
eq "  a second train job" "$(train_jobs)" 2
J2=$(newest_train)
eq "  it succeeded on v2" "$(job "$J2" '(j["state"], j["data_revision"])')" "('succeeded', '$V2')"
M2=$(git ls-remote "$URL/$MODEL_ID" refs/heads/main | cut -f1)
check "  and pushed a new model commit" test -n "$M2" -a "$M2" != "$M1"
cron slot-5 >"$WORK/c5.out" 2>&1
eq "cron line again after v2: exit 0, quiet, no job" "$?:$(wc -c <"$WORK/c5.out"):$(train_jobs)" "0:0:2"

# ---- dataset v3 and a planted worse model: evaluated against the champion, kept back -------------
# push.when improved: the champion (the model the v2 run pushed, commit M2) is pulled and both
# are evaluated by the same code on v3's test split; lr 0 leaves the new model untrained.
make_data "$WORK/data" 3
"$TCCTL" push "$WORK/data" --repo "$DATA_ID" --dataset --message "v3" >"$WORK/p3.out" 2>"$WORK/p3.err"
check "dataset v3 pushed" test $? -eq 0 || cat "$WORK/p3.err"
V3=$(git ls-remote "$URL/datasets/$DATA_ID" refs/heads/main | cut -f1)
cron slot-w --set push.when=improved --set train.lr=0 >"$WORK/cw.out" 2>"$WORK/cw.err"
eq "cron line, dataset v3, a worse model (lr 0, push.when improved): exit 0" "$?" 0
check "  prints nothing" test ! -s "$WORK/cw.out" -a ! -s "$WORK/cw.err"
eq "  a third train job, on v3" "$(train_jobs):$(job "$(newest_train)" 'j["data_revision"]')" "3:$V3"
JW=$(newest_train)
PW=$(job "$JW" 'j["push_job"]')
eq "  its push job succeeded and did not push" "$(job "$PW" '(j["state"], j["result"]["pushed"])')" "('succeeded', False)"
WHY=$(job "$PW" 'j["result"]["reason"]')
check "  the job says why, with both numbers: $WHY" \
    grep -Eq '^not pushed: challenger accuracy [0-9.]+ <= champion [0-9.]+ .* on test \(n=100' <<<"$WHY"
eq "  the champion (the Hub's head) was evaluated on v3" \
    "$(job "$PW" '(j["result"]["champion"]["commit"], j["result"]["champion"]["evaluated"], j["result"]["champion"]["data_revision"])')" \
    "('$M2', True, '$V3')"
eq "  the Hub's model did not move" "$(git ls-remote "$URL/$MODEL_ID" refs/heads/main | cut -f1)" "$M2"
"$TCCTL" status "$JW" >"$WORK/sw.out" 2>&1
check "  tcctl status of the train job shows the reason" grep -q "not pushed: challenger accuracy" "$WORK/sw.out"
cron slot-w2 --set push.when=improved --set train.lr=0 >"$WORK/cw2.out" 2>&1
eq "  the line again: exit 0, quiet, no job (v3 was trained on)" "$?:$(wc -c <"$WORK/cw2.out"):$(train_jobs)" "0:0:3"

# the documented lines of scripts/cron, on this spec: nothing to do, quietly
line=$(grep -E '^[0-9]+ +[0-9]+ .* tcctl train ' "$SRC/scripts/cron/tcd-retrain.crontab" | sed -E 's/^([^ ]+ +){5}//')
read -r -a argv <<<"${line/\/etc\/tcd\/jobs\/nightly.yaml/$SPEC}"
check "scripts/cron/tcd-retrain.crontab has a tcctl train line" test "${argv[0]:-}" = tcctl
"$TCCTL" "${argv[@]:1}" --idempotency-key slot-crontab >"$WORK/ct.out" 2>&1
eq "  that line on this spec: exit 0, quiet, no job" "$?:$(wc -c <"$WORK/ct.out"):$(train_jobs)" "0:0:3"
line=$(sed -n 's/^ExecStart=//p' "$SRC/scripts/cron/tcd-retrain@.service")
read -r -a argv <<<"${line/\/etc\/tcd\/jobs\/%i.yaml/$SPEC}"
"$TCCTL" "${argv[@]:1}" --idempotency-key slot-service >"$WORK/sv.out" 2>&1
eq "tcd-retrain@.service's ExecStart on this spec: exit 0, quiet, no job" "$?:$(wc -c <"$WORK/sv.out"):$(train_jobs)" "0:0:3"
curl -sS --unix-socket "$TCD_SOCKET" http://tcd/v1/metrics >"$WORK/metrics.out"
T2=$(job "$JW" '"%.3f" % j["finished"]')
check "/v1/metrics: the schedule's last success time (its newest succeeded job)" \
    grep -qxF "tcd_schedule_last_success_timestamp{key=\"$KEY\",uid=\"$(id -u)\"} $T2" "$WORK/metrics.out"
check "  and the missed state" grep -q '^tcd_jobs{state="missed"} ' "$WORK/metrics.out"
"$TCCTL" status "$J2" >"$WORK/st.out" 2>&1
check "tcctl status shows the schedule" grep -q "^schedule  $KEY (if-changed, concurrency forbid)$" "$WORK/st.out"
check "  and the revisions" grep -q "^revisions data $V2, model -$" "$WORK/st.out"

# ---- the probe itself: tcd-worker check --revisions ----------------------------------------------
WORKER=$(dirname "$TCD")/tcd-worker
"$WORKER" check "$SPEC" --set model.from=$MODEL_ID --json --revisions >"$WORK/rev.out" 2>"$WORK/rev.err"
check "tcd-worker check --revisions exits 0" test $? -eq 0 || cat "$WORK/rev.err"
tail -n 1 "$WORK/rev.out" >"$WORK/rev.json"
eq "  data: the dataset's Hub commit; model: model.from's Hub commit" "$(json "$WORK/rev.json" '(j["ok"], j["revisions"]["data"], j["revisions"]["model"])')" "(True, '$V3', '$M2')"
"$WORKER" check "$SPEC" --set data.revision="$V1" --json --revisions 2>/dev/null | tail -n 1 >"$WORK/rev1.json"
eq "  data.revision pins the commit" "$(json "$WORK/rev1.json" 'j["revisions"]["data"]')" "$V1"
"$WORKER" check "$SPEC" --set data.dataset=local/no-such-data --json --revisions 2>/dev/null | tail -n 1 >"$WORK/rev2.json"
eq "  a dataset the Hub does not have: revisions_error, the spec is fine" "$(json "$WORK/rev2.json" '(j["ok"], "revisions" in j, "no-such-data" in j["revisions_error"]["message"])')" "(True, False, True)"
"$TCCTL" train "$SPEC" --set data.dataset=local/no-such-data --if-changed -q --idempotency-key slot-x >"$WORK/nd.out" 2>"$WORK/nd.err"
eq "  --if-changed on a dataset the Hub does not have: exit 78 (invalid spec), no job" "$?:$(train_jobs)" "78:3"
check "    saying why" grep -q "cannot resolve the revisions.*no-such-data" "$WORK/nd.err"
fault '{"status": 503, "count": -1, "path_glob": "/api/datasets/*"}'
"$TCCTL" train "$SPEC" --if-changed -q --idempotency-key slot-y >"$WORK/nh.out" 2>"$WORK/nh.err"
eq "  --if-changed while the Hub answers 503: exit 75 (try later), no job" "$?:$(train_jobs)" "75:3"
curl -sS -X DELETE "$URL/_test/faults" >/dev/null


# ---- a local dataset folder: the data plugin's fingerprint ------------------------------------
make_data "$WORK/local" 3
lcron() { "$TCCTL" train "$SPEC" --set data.dataset="$WORK/local" --set push.when=never --schedule-key local --if-changed -q --idempotency-key "$1"; }
lcron l1 >"$WORK/l1.out" 2>&1
eq "local dataset: the cron line trains, quietly" "$?:$(wc -c <"$WORK/l1.out"):$(train_jobs local)" "0:0:1"
L1=$(newest_train local)
FP1=$(job "$L1" 'j["data_revision"]')
check "  data_revision is the text plugin's fingerprint (16 hex digits)" grep -qxE '[0-9a-f]{16}' <<<"$FP1"
"$WORKER" check "$SPEC" --set data.dataset="$WORK/local" --json --revisions 2>/dev/null | tail -n 1 >"$WORK/rev3.json"
eq "  tcd-worker check --revisions gives the same fingerprint" "$(json "$WORK/rev3.json" 'j["revisions"]["data"]')" "$FP1"
lcron l2 >"$WORK/l2.out" 2>&1
eq "  again: exit 0, quiet, no job" "$?:$(wc -c <"$WORK/l2.out"):$(train_jobs local)" "0:0:1"
make_data "$WORK/local" 4
lcron l3 >"$WORK/l3.out" 2>&1
eq "  the files changed: it trains again" "$?:$(wc -c <"$WORK/l3.out"):$(train_jobs local)" "0:0:2"
check "  with another fingerprint" test "$(job "$(newest_train local)" 'j["data_revision"]')" != "$FP1"

# ---- idempotency keys ---------------------------------------------------------------------------
"$TCCTL" --json train "$SPEC" --if-changed --idempotency-key slot-4 --detach >"$WORK/i1.out" 2>&1
eq "a repeated idempotency key returns the same job" "$(json "$WORK/i1.out" 'j["id"]')" "$J2"
eq "  no new job" "$(train_jobs "$KEY")" 3
SPEC_JSON=$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$SPEC")
BODY='{"kind":"train","spec_yaml":'$SPEC_JSON',"set":["push.when=never","train.epochs=1"],"schedule_key":"api"}'
post "$BODY" -H "Idempotency-Key: api-key-1"
eq "API: POST with an Idempotency-Key header: 201" "$(cat "$WORK/post.code")" 201
A1=$(json "$WORK/post.out" 'j["id"]')
eq "  the job records the key" "$(json "$WORK/post.out" 'j["idempotency_key"]')" api-key-1
post "$BODY" -H "Idempotency-Key: api-key-1"
eq "  the same again: 200 and the same job" "$(cat "$WORK/post.code"):$(json "$WORK/post.out" 'j["id"]')" "200:$A1"
post "${BODY%\}},\"idempotency_key\":\"api-key-1\"}"
eq "  the key as a body field: the same job" "$(cat "$WORK/post.code"):$(json "$WORK/post.out" 'j["id"]')" "200:$A1"
post "${BODY%\}},\"idempotency_key\":\"other\"}" -H "Idempotency-Key: api-key-1"
eq "  header and field differ: 400" "$(cat "$WORK/post.code")" 400
wait_state "$A1" succeeded failed
# the default key: the schedule key + "@" + the UTC minute
dflt() { "$TCCTL" --json train "$SPEC" --schedule-key dflt --set push.when=never --set train.epochs=1 --detach; }
dflt >"$WORK/d1.out" 2>&1
dflt >"$WORK/d2.out" 2>&1
k1=$(json "$WORK/d1.out" 'j["idempotency_key"]')
k2=$(json "$WORK/d2.out" 'j["idempotency_key"]')
if [ "$k1" != "$k2" ]; then # the minute turned between the two: once more
    dflt >"$WORK/d1.out" 2>&1
    k1=$k2
fi
check "default idempotency key is dflt@<UTC minute>" "$PY" -c "import re,sys; sys.exit(not re.fullmatch(r'dflt@\d{4}-\d\d-\d\dT\d\d:\d\dZ', '$k1'))"
eq "  two runs in one minute make one job" "$(json "$WORK/d1.out" 'j["id"]')" "$(json "$WORK/d2.out" 'j["id"]')"
eq "  one job of key dflt" "$(train_jobs dflt)" 1
wait_state "$(json "$WORK/d1.out" 'j["id"]')" succeeded failed

# ---- concurrency forbid and replace -------------------------------------------------------------
# long: a job that runs until cancelled (many epochs, no push)
long() { # long KEY [args]
    local key=$1
    shift
    "$TCCTL" train "$SPEC" --schedule-key "$key" --no-idempotency-key --set push.when=never \
        --set train.epochs=100000 --detach "$@"
}
long race --concurrency forbid >"$WORK/r1.out" 2>"$WORK/r1.err" &
pa=$!
long race --concurrency forbid >"$WORK/r2.out" 2>"$WORK/r2.err" &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
eq "two --concurrency forbid runs at the same moment: both exit 0" "$ra:$rb" "0:0"
eq "  exactly one job" "$(train_jobs race)" 1
R=$(newest_train race)
check "  one of them printed the job id" grep -qx "$R" "$WORK/r1.out" "$WORK/r2.out"
check "  the other said why there is none" grep -q "no job: job $R of this schedule is .* (concurrency forbid)" "$WORK/r1.err" "$WORK/r2.err"
wait_state "$R" running
long race --concurrency forbid --skip-exit-code 75 -q >"$WORK/r3.out" 2>"$WORK/r3.err"
eq "  forbid with --skip-exit-code 75 while it runs: 75, quiet" "$?:$(cat "$WORK/r3.out" "$WORK/r3.err" | wc -c)" "75:0"
eq "  still one job" "$(train_jobs race)" 1
"$TCCTL" train "$SPEC" --schedule-key quiet-detach --no-idempotency-key --set push.when=never \
    --set train.epochs=1 --detach -q >"$WORK/qd.out" 2>"$WORK/qd.err"
eq "a scheduled --detach -q: exit 0, prints nothing, queues the job" "$?:$(cat "$WORK/qd.out" "$WORK/qd.err" | wc -c):$(train_jobs quiet-detach)" "0:0:1"
long race --concurrency replace >"$WORK/r4.out" 2>"$WORK/r4.err"
eq "replace: exit 0" "$?" 0
R2=$(cat "$WORK/r4.out")
check "  a new job" test "$R2" != "$R" -a -n "$R2"
wait_state "$R" cancelled
eq "  the running one is cancelled, replaced" "$(job "$R" 'j["reason"]')" "replaced by job $R2"
wait_state "$R2" running
check "  the new one runs" test "$(job "$R2" 'j["state"]')" = running

# ---- deadline: a job that cannot start in time is missed ----------------------------------------
t0=$(date +%s)
"$TCCTL" train "$SPEC" --schedule-key late --no-idempotency-key --deadline 2s \
    --set push.when=never >"$WORK/dl.out" 2>"$WORK/dl.err"
rc=$?
eq "--deadline 2s behind a running job (train_concurrency 1): exit 4" "$rc" 4
D=$(newest_train late)
eq "  the job is missed" "$(job "$D" 'j["state"]')" missed
eq "  it never started" "$(job "$D" '(j["started"], j["attempts"], j["deadline_s"])')" "(None, 0, 2)"
check "  the reason names the deadline" grep -q "deadline" <<<"$(job "$D" 'j["reason"]')"
check "  tcctl says so on stderr" grep -q "missed" "$WORK/dl.err"
check "  within a few seconds" test $(($(date +%s) - t0)) -lt 30
"$TCCTL" train "$SPEC" --schedule-key late2 --no-idempotency-key --deadline 1h \
    --set push.when=never --detach >"$WORK/dl2.out" 2>&1
D2=$(cat "$WORK/dl2.out")
"$TCCTL" cancel "$R2" >/dev/null 2>&1
wait_state "$R2" cancelled
wait_state "$D2" running succeeded
check "a job within its deadline starts once a slot is free" test $? -eq 0
"$TCCTL" cancel "$D2" >/dev/null 2>&1
wait_state "$D2" cancelled succeeded

# ---- timeout durations ------------------------------------------------------------------------
"$TCCTL" --json train "$SPEC" --timeout 30m --set push.when=never --set train.epochs=1 \
    --detach >"$WORK/to.out" 2>&1
eq "--timeout 30m: timeout_s 1800" "$(json "$WORK/to.out" 'j["timeout_s"]')" 1800
wait_state "$(json "$WORK/to.out" 'j["id"]')" succeeded failed

# ---- malformed values: exit 2, API 400 ----------------------------------------------------------
bad_flag() { # bad_flag DESC PATTERN ARGS...
    local d=$1 p=$2
    shift 2
    "$TCCTL" train "$SPEC" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
    eq "$d: exit 2" "$?" 2
    check "  the message names it" grep -q -- "$p" "$WORK/bad.err"
}
bad_flag "--deadline soon" "--deadline wants a duration" --deadline soon
bad_flag "--deadline 0" "--deadline wants a duration" --deadline 0
bad_flag "--timeout 5x" "--timeout wants a duration" --timeout 5x
bad_flag "--concurrency sometimes" "--concurrency wants allow, forbid or replace" --concurrency sometimes
bad_flag "--skip-exit-code 300" "--skip-exit-code wants 0..255" --skip-exit-code 300
bad_flag "--schedule-key ''" "--schedule-key wants" --schedule-key ""
bad_flag "--idempotency-key with --no-idempotency-key" "exclude each other" --idempotency-key a --no-idempotency-key
n_before=$(train_jobs)
apibad() { # apibad DESC FIELDS PATTERN [HEADER...]
    local d=$1 f=$2 p=$3
    shift 3
    post '{"kind":"train","spec_yaml":"model: {plugin: x}",'"$f"'}' "$@"
    eq "API $d: 400" "$(cat "$WORK/post.code")" 400
    check "  the message names it" grep -q -- "$p" "$WORK/post.out"
}
apibad "concurrency \"sometimes\"" '"schedule_key":"k","concurrency":"sometimes"' "'concurrency' must be 'allow', 'forbid' or 'replace'"
apibad "concurrency 1" '"schedule_key":"k","concurrency":1' "'concurrency' must be a string"
apibad "deadline_s -1" '"deadline_s":-1' "'deadline_s' must be above 0"
apibad "deadline_s \"2h\"" '"deadline_s":"2h"' "'deadline_s' must be a number"
apibad "if_changed \"yes\"" '"schedule_key":"k","if_changed":"yes"' "'if_changed' must be true or false"
apibad "if_changed without schedule_key" '"if_changed":true' "needs a 'schedule_key'"
apibad "forbid without schedule_key" '"concurrency":"forbid"' "needs a 'schedule_key'"
apibad "empty schedule_key" '"schedule_key":""' "'schedule_key' must be 1..256 bytes"
LONGKEY=$(printf 'k%.0s' $(seq 300))
apibad "a 300-byte idempotency_key" '"idempotency_key":"'"$LONGKEY"'"' "'idempotency_key' must be 1..256 bytes"
apibad "a 300-byte Idempotency-Key header" '"name":"x"' "header 'Idempotency-Key' must be 1..256 bytes" -H "Idempotency-Key: $LONGKEY"
post '{"kind":"pull","repo":"a/b"}' -H "Idempotency-Key: p"
eq "API: Idempotency-Key on a pull: 400" "$(cat "$WORK/post.code")" 400
post '{"kind":"pull","repo":"a/b","schedule_key":"k"}'
eq "API: schedule_key on a pull: 400 (unknown field)" "$(cat "$WORK/post.code")" 400
eq "no job was made by the bad requests" "$(train_jobs)" "$n_before"

# ---- the missed state and the keys after a restart -----------------------------------------------
tcd_restart
eq "after a restart the missed job is still missed" "$(job "$D" '(j["state"], j["deadline_s"], j["schedule_key"])')" "('missed', 2, 'late')"
"$TCCTL" jobs --state missed >"$WORK/missed.out" 2>&1
check "tcctl jobs --state missed lists it" grep -q "$D" "$WORK/missed.out"
"$TCCTL" --json train "$SPEC" --if-changed --idempotency-key slot-4 --detach >"$WORK/i2.out" 2>&1
eq "an idempotency key still names its job after a restart" "$(json "$WORK/i2.out" 'j["id"]')" "$J2"
finish
