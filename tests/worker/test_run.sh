#!/usr/bin/env bash
# End-to-end checks of `tcd-worker run`: spec validation, --set, outputs,
# the JSON result line, and crash + resume ending bitwise equal to an
# uninterrupted run. Usage: test_run.sh TCD_WORKER SOURCE_DIR
set -u
worker=$1
src=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2"; }

# expect_fail NAME EXIT_CODE PATTERN -- command...
expect_fail() {
    local name=$1 code=$2 pattern=$3
    shift 4
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$code" ] && grep -q -- "$pattern" "$tmp/err"; then
        ok "$name"
    else
        echo "     exit $rc (want $code), stderr:"
        fail "$name" "$tmp/err"
    fi
}

small="--set data.limit=3000 --set train.epochs=3 --set train.batch_size=64 --set model.fc1=64 --set model.fc2=32"
spec="$src/examples/fashion-mnist-mlp.yaml"

# --- bad specs are refused before any work, naming the key ------------------------------------
printf 'model: {plugin: mlp}\ndata: {plugin: idx}\ntrain: {epochz: 3}\n' >"$tmp/typo.yaml"
expect_fail "unknown train key names the key and line" 78 "typo.yaml:3: unknown key 'train.epochz'" -- \
    "$worker" run "$tmp/typo.yaml" --out "$tmp/o1"
[ ! -e "$tmp/o1" ] && ok "nothing written for a refused spec" || fail "nothing written for a refused spec"

printf 'model: {plugin: mlp, fc1: lots}\ndata: {plugin: idx}\n' >"$tmp/badopt.yaml"
expect_fail "ill-typed plugin option names option and type" 78 "option 'fc1' of plugin 'mlp' must be an int, got 'lots'" -- \
    "$worker" run "$tmp/badopt.yaml" --out "$tmp/o2"

printf 'model: {plugin: mlp, fc9: 3}\ndata: {plugin: idx}\n' >"$tmp/unknownopt.yaml"
expect_fail "unknown plugin option is refused" 78 "unknown option 'fc9' for model plugin 'mlp'" -- \
    "$worker" run "$tmp/unknownopt.yaml" --out "$tmp/o3"

printf 'model: {plugin: nosuchmodel}\ndata: {plugin: idx}\n' >"$tmp/noplugin.yaml"
expect_fail "missing plugin is refused" 78 "plugin 'nosuchmodel' not found" -- \
    "$worker" run "$tmp/noplugin.yaml" --out "$tmp/o4"

printf 'model: {plugin: idx}\ndata: {plugin: idx}\n' >"$tmp/kind.yaml"
expect_fail "data plugin as model is refused" 78 "needs a model plugin" -- \
    "$worker" run "$tmp/kind.yaml" --out "$tmp/o5"

printf 'model: [1, 2\n' >"$tmp/yaml.yaml"
expect_fail "malformed YAML gives file:line" 78 "yaml.yaml:" -- "$worker" run "$tmp/yaml.yaml" --out "$tmp/o6"

expect_fail "bad --set value names the key" 78 "train.epochs must be an integer, got 'three'" -- \
    "$worker" run "$spec" --set train.epochs=three --out "$tmp/o7"
expect_fail "bad --set syntax" 78 "--set wants section.key=value" -- \
    "$worker" run "$spec" --set epochs --out "$tmp/o8"
expect_fail "out-of-bounds option" 78 "option 'dropout' of plugin 'mlp' must be a float in" -- \
    "$worker" run "$spec" --set model.dropout=1.5 --out "$tmp/o9"
# the push section is checked as strictly as the others
printf 'model: {plugin: mlp}\ndata: {plugin: idx}\npush: {repo: org/m, wen: always}\n' >"$tmp/push.yaml"
expect_fail "unknown push key names the key and line" 78 "push.yaml:3: unknown key 'push.wen'" -- \
    "$worker" check "$tmp/push.yaml"
expect_fail "push.when is checked" 78 "push.when must be always, improved or never, got 'sometimes'" -- \
    "$worker" check "$spec" --set push.repo=org/m --set push.when=sometimes
expect_fail "push.repo is checked" 78 "push.repo must be a Hub repo id" -- \
    "$worker" check "$spec" --set push.repo=../etc
expect_fail "push.private is checked" 78 "push.private must be true or false" -- \
    "$worker" check "$spec" --set push.repo=org/m --set push.private=maybe
expect_fail "push.min_improvement is checked" 78 "push.min_improvement must be a number >= 0" -- \
    "$worker" check "$spec" --set push.repo=org/m --set push.min_improvement=-0.1
expect_fail "a push section needs a repo" 78 "the push section needs 'repo'" -- \
    "$worker" check "$spec" --set push.when=always
"$worker" check "$spec" --set push.repo=org/m --set push.when=improved --set push.branch=dev >"$tmp/out" 2>"$tmp/err" &&
    ! grep -q "not used" "$tmp/err" && ok "a valid push section passes check without warnings" ||
    fail "a valid push section passes check without warnings" "$tmp/err"
a=$("$worker" check "$spec" --json | $py -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
b=$("$worker" check "$spec" --set push.repo=org/m --json | $py -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
[ -n "$a" ] && [ "$a" = "$b" ] && ok "the push section does not change the run id (resume still works)" ||
    fail "the push section does not change the run id ($a vs $b)"
expect_fail "missing spec file" 78 "cannot open job spec" -- "$worker" run "$tmp/none.yaml" --out "$tmp/o10"
expect_fail "usage error" 2 "usage" -- "$worker" run
expect_fail "normalize value checked by the plugin" 1 "normalize" -- \
    "$worker" run "$spec" $small --set data.normalize=weird --out "$tmp/o11"

# --- check validates without running ------------------------------------------------------------
"$worker" check "$spec" --set train.epochs=2 >"$tmp/check.out" 2>&1 && grep -q ": ok" "$tmp/check.out" \
    && ok "check accepts a good spec" || fail "check accepts a good spec" "$tmp/check.out"
expect_fail "check refuses a bad spec with 78" 78 "unknown key 'train.epochz'" -- "$worker" check "$tmp/typo.yaml"
"$worker" check "$tmp/typo.yaml" --json >"$tmp/check.json" 2>/dev/null
grep -q '"ok":false' "$tmp/check.json" && ok "check --json reports the error" || fail "check --json reports the error" "$tmp/check.json"

# --- a small run: outputs and the JSON result ---------------------------------------------------
if "$worker" run "$spec" $small --out "$tmp/a" --json >"$tmp/a.json" 2>"$tmp/a.err"; then
    ok "small run succeeds"
else
    fail "small run succeeds" "$tmp/a.err"
fi
for f in model.safetensors config.json metrics.json; do
    [ -s "$tmp/a/$f" ] && ok "output has $f" || fail "output has $f"
done
if tail -n 1 "$tmp/a.json" | $py -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["type"] == "result" and r["state"] == "succeeded", r
m = r["metrics"]
assert m["test_accuracy"] > 0.6, m
assert m["val_accuracy"] > 0.6, m
assert m["epochs_run"] == 3 and len(m["epoch_seconds"]) == 3, m
' 2>"$tmp/py.err"; then ok "json result line"; else fail "json result line" "$tmp/py.err"; fi
if $py -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
types = {l["type"] for l in lines}
assert {"progress", "metric", "result"} <= types, types
names = {l["name"] for l in lines if l["type"] == "metric"}
assert {"train_loss", "val_accuracy", "val_loss"} <= names, names
' "$tmp/a.json" 2>"$tmp/py.err"; then ok "json events are NDJSON"; else fail "json events are NDJSON" "$tmp/py.err"; fi
grep -q "epoch 3/3" "$tmp/a.err" && ok "one progress line per epoch on stderr" || fail "one progress line per epoch on stderr" "$tmp/a.err"
if $py -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["num_labels"] == 10 and c["model_type"] == "tc-mlp", c
assert c["id2label"]["9"] == "Ankle boot", c
' "$tmp/a/config.json" 2>"$tmp/py.err"; then ok "config.json"; else fail "config.json" "$tmp/py.err"; fi

# Same seed, fresh run: bitwise the same weights (determinism).
"$worker" run "$spec" $small --out "$tmp/b" --fresh >/dev/null 2>"$tmp/b.err"
cmp -s "$tmp/a/model.safetensors" "$tmp/b/model.safetensors" && ok "same seed, same weights" \
    || fail "same seed, same weights" "$tmp/b.err"
# Another seed: different weights.
"$worker" run "$spec" $small --set train.seed=7 --out "$tmp/s7" >/dev/null 2>&1
cmp -s "$tmp/a/model.safetensors" "$tmp/s7/model.safetensors" && fail "other seed, other weights" \
    || ok "other seed, other weights"

# --- crash during epoch 2, then resume: bitwise equal to the uninterrupted run -------------------
TCD_WORKER_CRASH_AT=2:20 "$worker" run "$spec" $small --out "$tmp/c" >/dev/null 2>"$tmp/c1.err"
rc=$?
[ "$rc" -eq 137 ] && ok "worker killed during epoch 2" || fail "worker killed during epoch 2 (exit $rc)" "$tmp/c1.err"
grep -Eq '"epoch":[[:space:]]*1,' "$tmp/c/checkpoints/state.json" 2>/dev/null && ok "epoch-1 checkpoint on disk" \
    || fail "epoch-1 checkpoint on disk"
[ ! -e "$tmp/c/model.safetensors" ] && ok "no final model after the crash" || fail "no final model after the crash"
"$worker" run "$spec" $small --out "$tmp/c" >/dev/null 2>"$tmp/c2.err"
grep -q "resuming from the checkpoint of epoch 1" "$tmp/c2.err" && ok "resumes from epoch 1" \
    || fail "resumes from epoch 1" "$tmp/c2.err"
cmp -s "$tmp/a/model.safetensors" "$tmp/c/model.safetensors" && ok "resumed weights bitwise equal" \
    || fail "resumed weights bitwise equal" "$tmp/c2.err"

# SIGTERM inside epoch 2: checkpoint of the position, exit 3; rerun resumes from that batch.
TCD_WORKER_TERM_AT=2:20 "$worker" run "$spec" $small --out "$tmp/t" >/dev/null 2>"$tmp/t1.err"
rc=$?
[ "$rc" -eq 3 ] && ok "SIGTERM in epoch 2 exits 3" || fail "SIGTERM in epoch 2 exits 3 (exit $rc)" "$tmp/t1.err"
ls "$tmp/t/checkpoints" | grep -q '^epoch-0002-batch-000020$' && ok "mid-epoch checkpoint on disk" \
    || fail "mid-epoch checkpoint on disk"
"$worker" run "$spec" $small --out "$tmp/t" >/dev/null 2>"$tmp/t2.err"
grep -q "resuming epoch 2 from batch 20" "$tmp/t2.err" && ok "resumes inside epoch 2" \
    || fail "resumes inside epoch 2" "$tmp/t2.err"
cmp -s "$tmp/a/model.safetensors" "$tmp/t/model.safetensors" && ok "mid-epoch resume bitwise equal" \
    || fail "mid-epoch resume bitwise equal" "$tmp/t2.err"
# SIGTERM inside epoch 1: nothing completed yet, still resumable.
TCD_WORKER_TERM_AT=1:20 "$worker" run "$spec" $small --out "$tmp/t0" >/dev/null 2>&1
"$worker" run "$spec" $small --out "$tmp/t0" >/dev/null 2>"$tmp/t0.err"
grep -q "resuming epoch 1 from batch 20" "$tmp/t0.err" && cmp -s "$tmp/a/model.safetensors" "$tmp/t0/model.safetensors" \
    && ok "resume inside epoch 1 bitwise equal" || fail "resume inside epoch 1 bitwise equal" "$tmp/t0.err"

# A different spec must not resume someone else's checkpoint.
TCD_WORKER_CRASH_AT=2:1 "$worker" run "$spec" $small --out "$tmp/d" >/dev/null 2>&1
expect_fail "checkpoint of another spec is refused" 1 "different job spec" -- \
    "$worker" run "$spec" $small --set train.lr=0.01 --out "$tmp/d"

# Damaged checkpoints are refused with a clear error, never a crash.
TCD_WORKER_CRASH_AT=2:1 "$worker" run "$spec" $small --out "$tmp/f" >/dev/null 2>&1
cp -r "$tmp/f/checkpoints" "$tmp/f.good"
printf '{"epoch": 1, "dir": ' >"$tmp/f/checkpoints/state.json"
expect_fail "truncated state.json" 1 "checkpoint state .* is damaged" -- "$worker" run "$spec" $small --out "$tmp/f"
printf '{"epoch": 1, "dir": "../../etc", "run_id": ""}' >"$tmp/f/checkpoints/state.json"
expect_fail "state.json pointing outside" 1 "is damaged" -- "$worker" run "$spec" $small --out "$tmp/f"
printf '{"epoch": 99999999, "dir": "epoch-0001"}' >"$tmp/f/checkpoints/state.json"
expect_fail "state.json with a bad epoch" 1 "is damaged" -- "$worker" run "$spec" $small --out "$tmp/f"
rm -rf "$tmp/f/checkpoints" && cp -r "$tmp/f.good" "$tmp/f/checkpoints"
printf '{"version": 1, "epoch": 1' >"$tmp/f/checkpoints/epoch-0001/trainer.json"
expect_fail "truncated trainer.json" 1 "trainer.json' is damaged" -- "$worker" run "$spec" $small --out "$tmp/f"
rm -rf "$tmp/f/checkpoints" && cp -r "$tmp/f.good" "$tmp/f/checkpoints"
head -c 100 "$tmp/f.good/epoch-0001/model.safetensors" >"$tmp/f/checkpoints/epoch-0001/model.safetensors"
expect_fail "truncated checkpoint weights" 1 "model.safetensors" -- "$worker" run "$spec" $small --out "$tmp/f"
rm -rf "$tmp/f/checkpoints" && cp -r "$tmp/f.good" "$tmp/f/checkpoints"
"$worker" run "$spec" $small --out "$tmp/f" >/dev/null 2>"$tmp/f.err" && ok "intact checkpoint resumes after repair" \
    || fail "intact checkpoint resumes after repair" "$tmp/f.err"
"$worker" run "$spec" $small --out "$tmp/f" --fresh >/dev/null 2>"$tmp/f.err" && ! grep -q resuming "$tmp/f.err" \
    && ok "--fresh ignores the checkpoint" || fail "--fresh ignores the checkpoint" "$tmp/f.err"

# SIGTERM: cancelled with exit 3, resumable.
"$worker" run "$spec" --set data.limit=20000 --set train.epochs=3 --out "$tmp/e" >/dev/null 2>"$tmp/e.err" &
pid=$!
for _ in $(seq 1 600); do grep -q "epoch 1/3" "$tmp/e.err" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 3 ] && ok "SIGTERM cancels with exit 3" || fail "SIGTERM cancels with exit 3 (exit $rc)" "$tmp/e.err"

# --- plugins listing -------------------------------------------------------------------------
"$worker" plugins --json >"$tmp/p.json" 2>"$tmp/p.err"
if $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = {p["name"] for p in d["plugins"] if p["status"] == "ok"}
assert {"mlp", "idx"} <= names, names
' "$tmp/p.json" 2>"$tmp/py.err"; then ok "plugins --json lists idx and mlp"; else fail "plugins --json" "$tmp/py.err"; fi
"$worker" plugins show mlp >"$tmp/show.txt" 2>&1
grep -q "^fc1 *int *1024" "$tmp/show.txt" && ok "plugins show prints options" || fail "plugins show prints options" "$tmp/show.txt"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
