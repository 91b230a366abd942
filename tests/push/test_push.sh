#!/usr/bin/env bash
# tcctl push end to end: a model trained by tcd is pushed to scripts/local-hub and read back
# with stock git + git-lfs, PyYAML (the card's front matter) and @huggingface/hub (npm).
#   test_push.sh TCD TCD_WORKER TCCTL SOURCE_DIR
# Checks byte-identical files, the LFS pointer of the weights, the model card's front matter
# and plot, no upload and no commit on a second push, a push interrupted after its LFS upload
# completing without uploading again, push.when=improved against the remote champion, and
# errors (wrong token, bad repo id).
TCD=$(realpath "$1")
WORKER=$(realpath "$2")
TCCTL=$(realpath "$3")
SRC=$(realpath "$4")
. "$SRC/tests/hub_standin/lib.sh"
hub_start

tcd_start "$TCD" "$TCCTL"
remote_head() { git ls-remote "$URL/$1" refs/heads/main | cut -f1; }

# ---- train a small model through tcd ---------------------------------------------------------
small=(--set data.limit=2000 --set train.epochs=3 --set model.fc1=64 --set model.fc2=32)
JOB=$("$TCCTL" -q train "$SRC/examples/fashion-mnist-mlp.yaml" "${small[@]}" --detach)
check "train job submitted" test -n "$JOB"
"$TCCTL" wait "$JOB" >/dev/null 2>&1
check "train job succeeded" "$TCCTL" wait "$JOB"
OUT=$("$TCCTL" --json status "$JOB" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["output"])')
check "the job has an output folder" test -f "$OUT/model.safetensors"

# ---- tcctl push JOB --repo -------------------------------------------------------------------
"$TCCTL" push "$JOB" --repo org/fm --message "fashion mlp" >"$WORK/p1.out" 2>"$WORK/p1.err"
check "tcctl push JOB --repo org/fm exits 0" test $? -eq 0 || cat "$WORK/p1.err"
C1=$(remote_head org/fm)
check "prints the commit URL" grep -q "^$URL/org/fm/commit/$C1$" "$WORK/p1.out"
cd "$WORK" && gitauth clone -q "$URL/org/fm" fm && cd fm || finish
for f in model.safetensors config.json metrics.json tcd-spec.yaml; do
    check "git clone + git lfs: $f byte-identical" cmp -s "$f" "$OUT/$f"
done
eq "git lfs ls-files lists the weights" "$(git lfs ls-files -n)" "model.safetensors"
eq "commit message" "$(git log -1 --format=%s)" "fashion mlp"
check "no checkpoints pushed" test ! -e checkpoints
check "the card embeds the plot" grep -q '](training_curves.svg)' README.md
check "the plot is SVG" /usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse("training_curves.svg").getroot(); sys.exit(not r.tag.endswith("svg"))'
/usr/bin/python3 - "$OUT/metrics.json" >"$WORK/card.log" 2>&1 <<'PY'
import json, sys, yaml
text = open("README.md").read()
assert text.startswith("---\n"), "no front matter"
fm = yaml.safe_load(text.split("---\n")[1])
m = json.load(open(sys.argv[1]))
def ok(c, d):
    print(("ok   - " if c else "FAIL - ") + "card: " + d)
ok(fm.get("license") == "apache-2.0", "license")
ok(fm.get("pipeline_tag") == "image-classification", "pipeline_tag")
ok(fm.get("library_name") == "tcd", "library_name")
ok("tcd" in fm.get("tags", []) and "mlp" in fm.get("tags", []), "tags")
res = fm["model-index"][0]["results"]
by = {r["dataset"]["split"]: {x["type"]: x["value"] for x in r["metrics"]} for r in res}
ok(fm["model-index"][0]["name"] == "fm", "model-index name")
ok(abs(by["test"]["accuracy"] - m["test_accuracy"]) < 1e-12, "model-index test accuracy = metrics.json")
ok(abs(by["validation"]["accuracy"] - m["val_accuracy"]) < 1e-12, "model-index validation accuracy")
ok(abs(by["test"]["loss"] - m["test_loss"]) < 1e-12, "model-index test loss")
ok(all(r["task"]["type"] == "image-classification" for r in res), "model-index task type")
ok(len(m.get("history", [])) == 3, "metrics.json has the 3 epochs' history")
PY
cat "$WORK/card.log"
PASS=$((PASS + $(grep -c '^ok' "$WORK/card.log"))); FAIL=$((FAIL + $(grep -c '^FAIL' "$WORK/card.log")))
grep -q '^ok' "$WORK/card.log" || bad "card check ran"
cd "$WORK" || finish

# ---- the same output again: no upload, no commit ---------------------------------------------
reset_log
"$TCCTL" push "$JOB" --repo org/fm >"$WORK/p2.out" 2>"$WORK/p2.err"
check "second push exits 0" test $? -eq 0
check "second push says nothing changed" grep -qi "nothing changed" "$WORK/p2.out" "$WORK/p2.err"
eq "second push: no new commit" "$(remote_head org/fm)" "$C1"
eq "second push: no PUT" "$(log | grep -c '^PUT ')" 0

# ---- interrupted after the LFS upload, then retried --------------------------------------------
cp -r "$OUT" "$WORK/out2" && rm -rf "$WORK/out2/checkpoints"
head -c 3000000 /dev/urandom >"$WORK/out2/model.safetensors" # new weights: a new LFS object
reset_log
fault '{"status": 503, "count": -1, "path_glob": "*/git-receive-pack"}'
"$TCCTL" push "$WORK/out2" --repo org/fm >"$WORK/p3.out" 2>"$WORK/p3.err"
check "push with receive-pack failing exits 1" test $? -eq 1
eq "  the weights were uploaded" "$(log | grep -c '^PUT /_storage/upload/')" 1
eq "  the branch did not move" "$(remote_head org/fm)" "$C1"
curl -sS -X DELETE "$URL/_test/faults" >/dev/null
reset_log
"$TCCTL" push "$WORK/out2" --repo org/fm >"$WORK/p4.out" 2>"$WORK/p4.err"
check "the retry exits 0" test $? -eq 0
eq "  the retry uploads nothing" "$(log | grep -c '^PUT ')" 0
check "  and lands a commit" test "$(remote_head org/fm)" != "$C1"
C4=$(remote_head org/fm)

# ---- @huggingface/hub downloads what tcctl pushed ----------------------------------------------
JSDIR=${TC_HUB_JS_DIR:-${XDG_CACHE_HOME:-$ORIG_HOME/.cache}/tcd/hub-standin-js}
if command -v node >/dev/null 2>&1 && [ -f "$JSDIR/node_modules/@huggingface/hub/package.json" ]; then
    sha() { sha256sum "$1" | cut -d' ' -f1; }
    EXPECT_FILES=$(printf '{"model.safetensors":"%s","config.json":"%s","metrics.json":"%s"}' \
        "$(sha "$WORK/out2/model.safetensors")" "$(sha "$WORK/out2/config.json")" "$(sha "$WORK/out2/metrics.json")")
    HUB_URL=$URL HUB_TOKEN=$TOKEN REPO=org/fm EXPECT_FILES=$EXPECT_FILES \
        node "$SRC/tests/hub_standin/js/hub_client.js" "$JSDIR" verify >"$WORK/js.log" 2>&1 ||
        echo "FAIL - node verify exited non-zero" >>"$WORK/js.log"
    grep -v 'passed, .* failed' "$WORK/js.log"
    PASS=$((PASS + $(grep -c '^ok' "$WORK/js.log"))); FAIL=$((FAIL + $(grep -c '^FAIL' "$WORK/js.log")))
else
    echo "SKIP: @huggingface/hub not installed (scripts/setup --dev)"
fi
SNAP=$("$TCCTL" -q pull model org/fm 2>/dev/null | tail -1)
check "tcctl pull of the pushed model: weights identical" cmp -s "$SNAP/model.safetensors" "$WORK/out2/model.safetensors"

# ---- when: improved against the champion (the card on the Hub) ---------------------------------
worse=$WORK/worse && cp -r "$WORK/out2" "$worse"
/usr/bin/python3 - "$worse/metrics.json" -0.2 <<'PY'
import json, sys
p, d = sys.argv[1], float(sys.argv[2])
m = json.load(open(p)); m["test_accuracy"] += d; json.dump(m, open(p, "w"))
PY
head -c 1000 /dev/urandom >"$worse/model.safetensors"
reset_log
"$WORKER" push "$worse" --repo org/fm --when improved --json >"$WORK/w1.out" 2>"$WORK/w1.err"
check "a worse model: push exits 0" test $? -eq 0
check "  and says it was not pushed, and why" grep -q '"pushed":false,.*"reason":"not pushed: test accuracy .* does not beat the champion' "$WORK/w1.out"
eq "  nothing uploaded" "$(log | grep -c '^PUT ')" 0
eq "  the champion stays" "$(remote_head org/fm)" "$C4"
better=$WORK/better && cp -r "$WORK/out2" "$better"
/usr/bin/python3 - "$better/metrics.json" 0.05 <<'PY'
import json, sys
p, d = sys.argv[1], float(sys.argv[2])
m = json.load(open(p)); m["test_accuracy"] += d; json.dump(m, open(p, "w"))
PY
"$WORKER" push "$better" --repo org/fm --when improved --json >"$WORK/w2.out" 2>"$WORK/w2.err"
check "a better model is pushed" grep -q '"pushed":true' "$WORK/w2.out"
check "  with the comparison in its reason" grep -q 'beats the champion' "$WORK/w2.out"
"$WORKER" push "$better" --repo org/fm --when improved --min-improvement 0.5 --json >"$WORK/w3.out" 2>&1
check "min_improvement is honoured" grep -q '"pushed":false' "$WORK/w3.out"

# ---- commit author ---------------------------------------------------------------------------
echo '{"note": "author test"}' >"$WORK/out2/extra.json"
"$WORKER" push "$WORK/out2" --repo org/fm --author 'Jane Doe <jane@example.com>' --message 'by jane' >/dev/null 2>"$WORK/a1.err"
check "push with --author" test $? -eq 0
cd "$WORK/fm" && git pull -q origin main 2>/dev/null
eq "  the commit's author" "$(git log -1 --format='%an <%ae>|%s')" "Jane Doe <jane@example.com>|by jane"
cd "$WORK" || finish
"$WORKER" push "$WORK/out2" --repo org/fm --author 'no email' >/dev/null 2>"$WORK/a2.err"
check "a malformed --author is refused" grep -q "must look like 'Name <email>'" "$WORK/a2.err"

# ---- errors ------------------------------------------------------------------------------------
HF_TOKEN=hf_wrong00000000000000000000000000000000 "$WORKER" push "$WORK/out2" --repo org/fm --json >"$WORK/e1.out" 2>&1
check "a wrong token fails with bad_token" grep -q '"code":"bad_token"' "$WORK/e1.out"
"$TCCTL" push "$JOB" --repo 'bad/../id' >"$WORK/e2.out" 2>&1
check "a bad repo id is refused" test $? -ne 0
# SIGTERM while the worker waits to retry an unreachable Hub: it stops at once, exit 3
HF_ENDPOINT=http://127.0.0.1:1 "$WORKER" push "$WORK/out2" --repo org/fm --json >"$WORK/e3.out" 2>&1 &
wpid=$!
for _ in $(seq 50); do grep -q . "$WORK/e3.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
t0=$(date +%s%N)
kill -TERM "$wpid"
wait "$wpid"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
eq "SIGTERM during retry waits: exit 3" "$rc" 3
check "  within 2 s (took ${ms} ms)" test "$ms" -lt 2000
check "  with a cancelled result" grep -q '"state":"cancelled"' "$WORK/e3.out"
finish
