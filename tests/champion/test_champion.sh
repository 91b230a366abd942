#!/usr/bin/env bash
# Champion/challenger with real tcd, tcd-worker and tcctl against scripts/local-hub, on a tiny
# MLP (32-16 hidden units) trained on 1000 Fashion-MNIST images a split (idx plugin; about half
# a second a run). The spec's push section says when: improved, min_improvement: 0.01.
#   test_champion.sh TCD TCD_WORKER TCCTL SOURCE_DIR
# Checks:
#   - a first run (A: 1 epoch at lr 1e-4) is pushed: no champion on the repo yet;
#   - a planted worse run (W: lr 0, the initial weights) is not pushed, and the push job, its
#     result, `tcctl status` of the train job and `tcctl train`'s output say why with both
#     numbers ("not pushed: challenger accuracy X <= champion Y + min_improvement 0.01 on test
#     (n=1000)"); the branch head does not move;
#   - the champion was evaluated: the push job's result has champion {commit, metric, value, n,
#     evaluated} and challenger {...}, equal to `tcd-worker evaluate` of the pulled champion
#     snapshot and of the run's output, run directly;
#   - a better run (B: 3 epochs at lr 1e-3) is pushed, and records the champion it replaced
#     (result "previous", tcd-previous.json in the pushed tree);
#   - a champion that cannot be evaluated (no tcd-spec.yaml) falls back to its card, and the
#     reason says so;
#   - `tcctl promote W` pushes the candidate (when always); the Hub's weights are W's;
#   - `tcctl rollback REPO` makes a new commit on top (history kept) whose tree equals B's
#     commit's tree, and a pulled model.safetensors byte-identical to B's output;
#   - a new dataset revision: an embedbag champion trained on a tiny Hub text dataset v1 and a
#     worse challenger trained on v2 are both evaluated on v2's test split (the challenger run's
#     dataset commit, data_revision in the result; n = v2's 150 texts), and tcd-worker evaluate
#     of the champion at v2 gives the same value (at v1: its own test accuracy on 100 texts);
#   - bad input: promote of a job that does not exist (1), of a job that was pushed (1), of a
#     non-id (2); rollback of a repo whose model has no previous champion (1), of a repo that
#     does not exist (1), of a bad repo id (2); each with a message naming what was wrong.
TCD=$(realpath "$1")
WORKER=$(realpath "$2")
TCCTL=$(realpath "$3")
SRC=$(realpath "$4")
. "$SRC/tests/hub_standin/lib.sh"
PY=/usr/bin/python3
REPO=org/champ
hub_start
tcd_start "$TCD" "$TCCTL"

remote_head() { git ls-remote "$URL/$1" "refs/heads/${2:-main}" | cut -f1; }
# json FILE EXPR: a value of the JSON document in FILE (EXPR in Python, the document is j)
json() { "$PY" -c 'import json,sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# last FILE: the last line (the result) of `tcctl --json ...` output, as a file
last() { tail -n 1 "$1" >"$1.last"; echo "$1.last"; }

cat >"$WORK/spec.yaml" <<YAML
model: {plugin: mlp, fc1: 32, fc2: 16, dropout: 0.0}
data:  {plugin: idx, limit: 1000}
train: {epochs: 1, batch_size: 32, optimizer: adamw, lr: 1.0e-4, schedule: constant, seed: 1, metric: accuracy, val_fraction: 0.1}
push:  {repo: $REPO, when: improved, min_improvement: 0.01}
YAML

# train NAME [--set ...]: tcctl --json train, stdout in $WORK/NAME.out; echoes nothing
train() {
    local name=$1
    shift
    "$TCCTL" --json train "$WORK/spec.yaml" --name "$name" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    echo $? >"$WORK/$name.rc"
}

# ---- A: the first model is pushed (no champion) -----------------------------------------------
train A
eq "train A exits 0" "$(cat "$WORK/A.rc")" 0
RA=$(last "$WORK/A.out")
JA=$(json "$RA" 'j["job"]')
OUTA=$(json "$RA" 'j["output"]')
eq "A's push: pushed" "$(json "$RA" 'j["push"]["pushed"]')" True
check "  because there is no champion" grep -q 'no champion on org/champ@main' "$RA"
C1=$(remote_head $REPO)
check "  the repo has a commit" test -n "$C1"
eq "  the push records no previous champion" "$(json "$RA" 'j["push"].get("previous")')" None

# ---- W: a planted worse model is not pushed, and the job says why ------------------------------
train W --set train.lr=0
eq "train W (lr 0) exits 0" "$(cat "$WORK/W.rc")" 0
RW=$(last "$WORK/W.out")
JW=$(json "$RW" 'j["job"]')
OUTW=$(json "$RW" 'j["output"]')
PW=$(json "$RW" 'j["push_job"]')
eq "W's push: not pushed" "$(json "$RW" 'j["push"]["pushed"]')" False
WHY=$(json "$RW" 'j["push"]["reason"]')
echo "     reason: $WHY"
check "  the reason has both numbers, the margin, the split and n" "$PY" - "$WHY" <<'PY'
import re, sys
sys.exit(not re.match(r"not pushed: challenger accuracy 0?\.\d+ <= champion 0?\.\d+ \+ "
                      r"min_improvement 0\.01 on test \(n=1000;", sys.argv[1]))
PY
eq "  the champion stays" "$(remote_head $REPO)" "$C1"
"$TCCTL" train "$WORK/spec.yaml" --name W-human --set train.lr=0 >"$WORK/Wh.out" 2>"$WORK/Wh.err"
eq "tcctl train (human output) of a worse model exits 0" "$?" 0
check "  and prints the reason line" grep -q '^not pushed: challenger accuracy .* <= champion .* on test (n=1000' "$WORK/Wh.out"
"$TCCTL" status "$JW" >"$WORK/Ws.out" 2>&1
check "tcctl status of the train job shows why it was not pushed" grep -q "^push .*$PW (succeeded: not pushed: challenger accuracy" "$WORK/Ws.out"
"$TCCTL" status "$PW" >"$WORK/Pws.out" 2>&1
check "tcctl status of the push job shows the champion and the challenger" \
    grep -q "champion .*accuracy .* on test (n=1000), commit ${C1:0:12}, evaluated" "$WORK/Pws.out"
"$TCCTL" --json status "$PW" >"$WORK/Pw.json"
eq "the push job's result: champion.commit is the branch head" "$(json "$WORK/Pw.json" 'j["result"]["champion"]["commit"]')" "$C1"
eq "  champion.evaluated" "$(json "$WORK/Pw.json" 'j["result"]["champion"]["evaluated"]')" True
eq "  champion.n" "$(json "$WORK/Pw.json" 'j["result"]["champion"]["n"]')" 1000
eq "  challenger.n" "$(json "$WORK/Pw.json" 'j["result"]["challenger"]["n"]')" 1000
eq "  challenger.metric" "$(json "$WORK/Pw.json" 'j["result"]["challenger"]["metric"]')" accuracy
eq "  the reason" "$(json "$WORK/Pw.json" 'j["result"]["reason"]')" "$WHY"

# The champion was really evaluated: tcd-worker evaluate on the pulled champion gives its numbers
SNAP=$("$TCCTL" -q pull model $REPO --revision "$C1" 2>/dev/null | tail -1)
check "the champion's snapshot pulled" test -f "$SNAP/model.safetensors"
"$WORKER" evaluate --model "$SNAP" --spec "$OUTW/tcd-spec.yaml" --json >"$WORK/evc.json" 2>"$WORK/evc.err"
check "tcd-worker evaluate of the champion exits 0" test $? -eq 0 || cat "$WORK/evc.err"
eq "  its accuracy is the push job's champion.value" "$(json "$WORK/evc.json" 'j["accuracy"]')" \
    "$(json "$WORK/Pw.json" 'j["result"]["champion"]["value"]')"
eq "  its n is champion.n" "$(json "$WORK/evc.json" 'j["n"]')" 1000
eq "  and it is A's test accuracy" "$(json "$WORK/evc.json" 'j["accuracy"]')" "$(json "$OUTA/metrics.json" 'j["test_accuracy"]')"
"$WORKER" evaluate --model "$OUTW" --spec "$OUTW/tcd-spec.yaml" --json >"$WORK/evw.json" 2>"$WORK/evw.err"
eq "tcd-worker evaluate of the challenger gives challenger.value" "$(json "$WORK/evw.json" 'j["accuracy"]')" \
    "$(json "$WORK/Pw.json" 'j["result"]["challenger"]["value"]')"
"$WORKER" evaluate --model "$OUTW" --spec "$OUTW/tcd-spec.yaml" >"$WORK/evh.out" 2>&1
check "tcd-worker evaluate (human): one line with n" grep -q '^test: n=1000 accuracy=' "$WORK/evh.out"
"$WORKER" evaluate --model "$WORK/nowhere" --spec "$OUTW/tcd-spec.yaml" >"$WORK/eve.out" 2>&1
eq "tcd-worker evaluate of a missing folder exits 1" "$?" 1
check "  naming it" grep -q "nowhere" "$WORK/eve.out"

# ---- B: a better model is pushed and records the champion it replaced ---------------------------
train B --set train.epochs=3 --set train.lr=1.0e-3
eq "train B (3 epochs, lr 1e-3) exits 0" "$(cat "$WORK/B.rc")" 0
RB=$(last "$WORK/B.out")
JB=$(json "$RB" 'j["job"]')
OUTB=$(json "$RB" 'j["output"]')
eq "B's push: pushed" "$(json "$RB" 'j["push"]["pushed"]')" True
check "  the reason: it beats the champion" grep -q 'challenger accuracy 0*\.[0-9]* > champion 0*\.[0-9]* + min_improvement 0.01 on test (n=1000' "$RB"
C3=$(remote_head $REPO)
check "  a new head" test "$C3" != "$C1"
eq "  the result's previous is the replaced champion" "$(json "$RB" 'j["push"]["previous"]')" "$C1"
curl -sS "$URL/$REPO/resolve/$C3/tcd-previous.json" -o "$WORK/prev.json"
eq "  tcd-previous.json on the Hub names it" "$(json "$WORK/prev.json" 'j["commit"]')" "$C1"

# ---- a champion without tcd-spec.yaml is compared by its card -------------------------------------
nospec=$WORK/nospec && cp -r "$OUTA" "$nospec" && rm -f "$nospec/tcd-spec.yaml"
"$WORKER" push "$nospec" --repo org/nospec --json >"$WORK/ns1.out" 2>&1
check "a champion without tcd-spec.yaml pushed to org/nospec" grep -q '"pushed":true' "$WORK/ns1.out"
"$WORKER" push "$OUTW" --repo org/nospec --when improved --json >"$WORK/ns2.out" 2>&1
check "  W against it: not pushed" grep -q '"pushed":false' "$WORK/ns2.out"
check "  the reason says the champion could not be evaluated and its card was used" \
    grep -q 'could not be evaluated: .*tcd-spec.yaml.*compared with the champion.s card' "$WORK/ns2.out" ||
    tail -1 "$WORK/ns2.out"
check "  the result's champion is the card's" grep -q '"champion":{[^}]*"source":"card"' "$WORK/ns2.out"

"$WORKER" push "$OUTW" --repo $REPO --when improved --champion card --json >"$WORK/cc.out" 2>&1
check "--champion card: W against B's card is not pushed" grep -q '"pushed":false' "$WORK/cc.out"
check "  the champion's value is its card's" grep -q '"champion":{[^}]*"evaluated":false,"source":"card"' "$WORK/cc.out"
"$WORKER" check "$WORK/spec.yaml" --set push.eval_split=train >"$WORK/ck.out" 2>&1
eq "a spec with push.eval_split=train is refused (78)" "$?" 78
check "  naming the key" grep -q "push.eval_split must be test or validation" "$WORK/ck.out" || cat "$WORK/ck.out"
"$WORKER" check "$WORK/spec.yaml" --set push.metric=auc >"$WORK/ck2.out" 2>&1
eq "a spec with push.metric=auc is refused (78)" "$?" 78

# ---- tcctl promote: the candidate W is pushed by hand ---------------------------------------------
"$TCCTL" promote "$JW" >"$WORK/pr.out" 2>"$WORK/pr.err"
eq "tcctl promote W exits 0" "$?" 0 || cat "$WORK/pr.err"
C4=$(remote_head $REPO)
check "  prints the commit URL" grep -q "^$URL/$REPO/commit/$C4$" "$WORK/pr.out"
check "  a new head" test "$C4" != "$C3"
SNAP4=$("$TCCTL" -q pull model $REPO --revision "$C4" 2>/dev/null | tail -1)
check "  the Hub has W's weights" cmp -s "$SNAP4/model.safetensors" "$OUTW/model.safetensors"
curl -sS "$URL/$REPO/resolve/$C4/tcd-previous.json" -o "$WORK/prev4.json"
eq "  and records B's commit as the previous champion" "$(json "$WORK/prev4.json" 'j["commit"]')" "$C3"
"$TCCTL" --json promote "$JW" >"$WORK/pr2.out" 2>&1
check "tcctl --json promote again: a result line" grep -q '"type":"result".*"changed":false' "$WORK/pr2.out"
"$TCCTL" -q promote "$JW" >"$WORK/pr3.out" 2>&1
eq "tcctl -q promote again: exit 0" "$?" 0
eq "  nothing changed: the same output is not a new champion" "$(remote_head $REPO)" "$C4"

# ---- tcctl rollback: B is the champion again ------------------------------------------------------
"$TCCTL" rollback $REPO >"$WORK/rb.out" 2>"$WORK/rb.err"
eq "tcctl rollback $REPO exits 0" "$?" 0 || cat "$WORK/rb.err"
C5=$(remote_head $REPO)
check "  a new commit" test "$C5" != "$C4"
check "  says what it restored" grep -q "rolled back to ${C3:0:12}" "$WORK/rb.err"
SNAP5=$("$TCCTL" -q pull model $REPO 2>/dev/null | tail -1)
check "  the pulled model.safetensors is B's, byte for byte" cmp -s "$SNAP5/model.safetensors" "$OUTB/model.safetensors"
git init -q --bare "$WORK/g" && git -C "$WORK/g" fetch -q "$URL/$REPO" main 2>/dev/null
eq "  its tree is B's commit's tree" "$(git -C "$WORK/g" rev-parse "$C5^{tree}")" "$(git -C "$WORK/g" rev-parse "$C3^{tree}")"
eq "  history is kept: its parent is the promoted commit" "$(git -C "$WORK/g" rev-parse "$C5^")" "$C4"
"$TCCTL" --json rollback $REPO >"$WORK/rb2.out" 2>&1
eq "tcctl --json rollback again exits 0 (one champion further back)" "$?" 0
eq "  rolled_back_to is A's commit" "$(json "$(last "$WORK/rb2.out")" 'j.get("rolled_back_to")')" "$C1"

# ---- a new dataset revision: both models are evaluated on the challenger's ------------------------
# A tiny text dataset (300 train, 100 then 150 test texts; 15% label noise) on the Hub as
# org/texts, embedbag models: the champion trained on v1, the challenger (lr 0) on v2, and the
# comparison is on v2's test split (the challenger run's dataset commit), not on v1's.
gen() { "$PY" - "$@" <<'PY'
import json, os, random, sys
out, seed, ntest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
pos = "good great fine happy superb lovely nice excellent".split()
neg = "bad awful poor sad terrible ugly nasty horrid".split()
noise = "the a movie film plot actor scene story was is it this".split()
def row():
    lab = r.choice(["neg", "pos"])
    words = [r.choice(noise) for _ in range(6)]
    words += [r.choice(pos if lab == "pos" else neg) for _ in range(r.choice([1, 2]))]
    if r.random() < 0.15:
        lab = "pos" if lab == "neg" else "neg"
    r.shuffle(words)
    return {"text": " ".join(words), "label": lab}
os.makedirs(out, exist_ok=True)
for name, n in (("train", 300), ("test", ntest)):
    with open(f"{out}/{name}.jsonl", "w") as f:
        f.writelines(json.dumps(row()) + "\n" for _ in range(n))
PY
}
gen "$WORK/texts" 1 100
"$TCCTL" -q push "$WORK/texts" --repo org/texts --dataset --message v1 >/dev/null 2>"$WORK/d1.err"
check "dataset v1 pushed" test $? -eq 0 || cat "$WORK/d1.err"
D1=$(git ls-remote "$URL/datasets/org/texts" refs/heads/main | cut -f1)
cat >"$WORK/text.yaml" <<YAML
model: {plugin: embedbag, embed_dim: 16, ngrams: 1, buckets: 16, min_freq: 1}
data:  {plugin: text, dataset: org/texts}
train: {epochs: 3, batch_size: 16, optimizer: adamw, lr: 0.05, schedule: constant, seed: 1, metric: accuracy, val_fraction: 0.1}
push:  {repo: org/textchamp, when: improved, eval_split: test}
YAML
"$TCCTL" --json train "$WORK/text.yaml" >"$WORK/T1.out" 2>"$WORK/T1.err"
eq "train on dataset v1 exits 0" "$?" 0 || tail -3 "$WORK/T1.err"
RT1=$(last "$WORK/T1.out")
eq "  pushed (no champion)" "$(json "$RT1" 'j["push"]["pushed"]')" True
OUTT1=$(json "$RT1" 'j["output"]')
rm -rf "$WORK/texts" && gen "$WORK/texts" 2 150
"$TCCTL" -q push "$WORK/texts" --repo org/texts --dataset --message v2 >/dev/null 2>"$WORK/d2.err"
D2=$(git ls-remote "$URL/datasets/org/texts" refs/heads/main | cut -f1)
check "dataset v2 pushed (a new commit)" test -n "$D2" -a "$D2" != "$D1"
"$TCCTL" --json train "$WORK/text.yaml" --set train.lr=0 >"$WORK/T2.out" 2>"$WORK/T2.err"
eq "a worse train (lr 0) on dataset v2 exits 0" "$?" 0 || tail -3 "$WORK/T2.err"
RT2=$(last "$WORK/T2.out")
OUTT2=$(json "$RT2" 'j["output"]')
eq "  its run's dataset revision is v2" "$(json "$OUTT2/metrics.json" 'j["data_fingerprint"]')" "$D2"
eq "  not pushed" "$(json "$RT2" 'j["push"]["pushed"]')" False
echo "     reason: $(json "$RT2" 'j["push"]["reason"]')"
check "  the reason has both numbers and v2's test size" grep -q 'not pushed: challenger accuracy .* <= champion .* + min_improvement 0 on test (n=150;' "$RT2"
eq "  the champion was evaluated on v2" "$(json "$RT2" 'j["push"]["champion"]["data_revision"]')" "$D2"
eq "  and so was the challenger" "$(json "$RT2" 'j["push"]["challenger"]["data_revision"]')" "$D2"
eq "  on v2's 150 test texts" "$(json "$RT2" 'j["push"]["champion"]["n"]')" 150
TSNAP=$("$TCCTL" -q pull model org/textchamp 2>/dev/null | tail -1)
"$WORKER" evaluate --model "$TSNAP" --spec "$OUTT2/tcd-spec.yaml" --revision "$D2" --json >"$WORK/tev2.json" 2>"$WORK/tev2.err"
eq "tcd-worker evaluate of the champion at v2 gives champion.value" "$(json "$WORK/tev2.json" 'j["accuracy"]')" \
    "$(json "$RT2" 'j["push"]["champion"]["value"]')"
"$WORKER" evaluate --model "$TSNAP" --spec "$OUTT2/tcd-spec.yaml" --revision "$D1" --json >"$WORK/tev1.json" 2>"$WORK/tev1.err"
eq "  at v1: 100 texts" "$(json "$WORK/tev1.json" 'j["n"]')" 100
eq "  at v1: the champion's own test accuracy" "$(json "$WORK/tev1.json" 'j["accuracy"]')" \
    "$(json "$OUTT1/metrics.json" 'j["test_accuracy"]')"

# ---- bad input -------------------------------------------------------------------------------------
"$TCCTL" promote j0123456789abcdef >"$WORK/b1.out" 2>&1
eq "promote of a job that does not exist: exit 1" "$?" 1
check "  naming it" grep -q "j0123456789abcdef" "$WORK/b1.out"
"$TCCTL" promote "$JB" >"$WORK/b2.out" 2>&1
eq "promote of a job that was pushed: exit 1" "$?" 1
check "  saying it is not a candidate" grep -q "is not a candidate: its push job .* pushed it" "$WORK/b2.out"
"$TCCTL" promote not-a-job >"$WORK/b3.out" 2>&1
eq "promote of a non-id: exit 2" "$?" 2
"$TCCTL" push "$JA" --repo org/other >/dev/null 2>&1
"$TCCTL" rollback org/other >"$WORK/b4.out" 2>&1
eq "rollback of a repo whose model has no previous champion: exit 1" "$?" 1
check "  saying so" grep -q "org/other@main (commit .*) has no previous champion" "$WORK/b4.out" || cat "$WORK/b4.out"
"$TCCTL" rollback org/none >"$WORK/b5.out" 2>&1
eq "rollback of a repo that does not exist: exit 1" "$?" 1
check "  naming it" grep -q "no model on org/none@main: nothing to roll back" "$WORK/b5.out" || cat "$WORK/b5.out"
"$TCCTL" status "$(json "$(last "$WORK/rb2.out")" 'j["job"]')" >"$WORK/rbs.out" 2>&1
check "tcctl status of a rollback job says so" grep -q "^repo .*org/champ, branch main, rollback to the previous champion" "$WORK/rbs.out"
# the API: a rollback takes no source, and is for model repos only
apipost() { curl -sS --unix-socket "$TCD_SOCKET" -o "$WORK/api.out" -w '%{http_code}' -X POST http://tcd/v1/jobs -d "$1"; }
eq "POST a rollback with a source: 400" "$(apipost '{"kind":"push","rollback":true,"source":"/tmp","repo":"org/champ"}')" 400
check "  naming it" grep -q "rollback takes no 'source'" "$WORK/api.out"
eq "POST a rollback of a dataset repo: 400" "$(apipost '{"kind":"push","rollback":true,"repo":"org/champ","repo_type":"dataset"}')" 400
eq "POST a rollback that is not a boolean: 400" "$(apipost '{"kind":"push","rollback":"yes","repo":"org/champ"}')" 400
"$TCCTL" rollback 'bad/../id' >"$WORK/b6.out" 2>&1
eq "rollback of a bad repo id: exit 2" "$?" 2
"$TCCTL" rollback >"$WORK/b7.out" 2>&1
eq "rollback without a repo: exit 2" "$?" 2
finish
