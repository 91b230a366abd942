#!/usr/bin/env bash
# Integration test of tc_hub_push_folder against scripts/local-hub:
#   test_push.sh HUB_PUSH HUB_PULL SOURCE_DIR
# Pushes folders with the library (tests/hub/hub_push.c) and checks them with
# stock git + git-lfs, the stand-in's request log, @huggingface/hub (npm) and
# our own downloader: byte-identical content, LFS pointers, no re-upload, no
# empty commits, resume after an interrupted push, multipart, conflicts, errors.
PUSH=$(realpath "$1")
PULL=$(realpath "$2")
SRC=$(realpath "$3")
. "$SRC/tests/hub_standin/lib.sh"
# Objects of 3 MB and more go through the Hub's multipart transfer, in 1 MiB parts.
hub_start --multipart-threshold 3000000 --multipart-chunk 1048576

export HF_ENDPOINT=$URL HF_HUB_CACHE=$WORK/cache HF_TOKEN=$TOKEN
unset HF_HUB_OFFLINE HF_HOME
count() { log | grep -c "$1"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2"; }
remote_head() { git ls-remote "$URL/$1" "refs/heads/${2:-main}" | cut -f1; }

# --- a model folder: weights (LFS by rule), a big binary (LFS by size), text files ---------
OUT=$WORK/out
mkdir -p "$OUT/sub/deep" "$OUT/checkpoints"
head -c 2500000 /dev/urandom >"$OUT/model.safetensors" # basic transfer
head -c 5000000 /dev/urandom >"$OUT/extra.dat"         # binary, no rule: LFS, multipart
echo '{"model_type": "mlp"}' >"$OUT/config.json"
printf 'a note\n' >"$OUT/sub/deep/notes.txt"
printf 'ckpt\n' >"$OUT/checkpoints/skip.txt"
: >"$OUT/empty.txt"
"$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' --message "first push" >"$WORK/p1.out" 2>"$WORK/p1.err"
check "push a new repo" test $? -eq 0
eq "it was created" "$(field created "$WORK/p1.out")" 1
eq "files in the selection (checkpoints excluded)" "$(field files "$WORK/p1.out")" 5
eq "LFS files" "$(field lfs "$WORK/p1.out")" 2
eq "LFS objects uploaded" "$(field uploaded "$WORK/p1.out")" 2
C1=$(field commit "$WORK/p1.out")
eq "the commit is the remote head" "$(remote_head org/m1)" "$C1"
check "notice for the auto-tracked binary" grep -q "extra.dat.*goes to LFS" "$WORK/p1.err"
check "multipart: parts uploaded" test "$(count '^PUT /_storage/part/')" -eq 5
check "multipart: completion posted" test "$(count '^POST /_storage/complete/')" -eq 1
check "basic upload for the small object" test "$(count '^PUT /_storage/upload/')" -eq 1
check "verify after each upload" test "$(count 'objects/verify 200')" -eq 2

cd "$WORK" && gitauth clone -q "$URL/org/m1" clone1 && cd clone1 || exit 1
for f in model.safetensors extra.dat config.json sub/deep/notes.txt empty.txt; do
    check "git clone + lfs: $f byte-identical" cmp -s "$f" "$OUT/$f"
done
check "checkpoints/ not pushed" test ! -e checkpoints
LFS=$(git lfs ls-files -n | sort | tr '\n' ' ')
eq "git lfs ls-files" "$LFS" "extra.dat model.safetensors "
check "the weights are a pointer in git" sh -c "git cat-file -p HEAD:model.safetensors | grep -q '^oid sha256:$(sha256sum "$OUT/model.safetensors" | cut -d' ' -f1)$'"
check ".gitattributes keeps the Hub's rules" grep -q '^\*\.safetensors filter=lfs' .gitattributes
check ".gitattributes tracks the auto-tracked file" grep -qx '/extra.dat filter=lfs diff=lfs merge=lfs -text' .gitattributes
eq "commit message" "$(git log -1 --format=%s)" "first push"
eq "parent is the repo's initial commit" "$(git log --format=%s | tail -1)" "initial commit"
cd "$WORK" || exit 1

# --- the same folder again: no upload, no commit --------------------------------------------
reset_log
"$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' >"$WORK/p2.out" 2>"$WORK/p2.err"
check "second push succeeds" test $? -eq 0
eq "second push: nothing changed" "$(field changed "$WORK/p2.out")" 0
eq "second push: no new commit" "$(remote_head org/m1)" "$C1"
eq "second push: no PUT at all" "$(count '^PUT ')" 0
eq "second push: no receive-pack" "$(count 'git-receive-pack')" 0
check "second push says nothing changed" grep -q "nothing changed" "$WORK/p2.err"

# --- a changed text file: a commit, the LFS objects are not sent again ------------------------
echo '{"model_type": "mlp", "v": 2}' >"$OUT/config.json"
reset_log
"$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' >"$WORK/p3.out" 2>&1
eq "changed config: a commit" "$(field changed "$WORK/p3.out")" 1
eq "changed config: LFS objects skipped" "$(field skipped "$WORK/p3.out")" 2
eq "changed config: no PUT" "$(count '^PUT ')" 0
C3=$(field commit "$WORK/p3.out")
eq "changed config: on top of the first commit" "$(git --git-dir="$WORK/clone1/.git" fetch -q origin && git --git-dir="$WORK/clone1/.git" rev-parse origin/main^)" "$C1"

# --- interrupted after the LFS upload: the retry sends no object again ------------------------
head -c 4000000 /dev/urandom >"$OUT/model.safetensors"
reset_log
fault '{"status": 503, "count": -1, "path_glob": "*/git-receive-pack"}'
"$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' >"$WORK/p4.out" 2>"$WORK/p4.err"
check "push fails while receive-pack answers 503" test $? -ne 0
check "the failure says so" grep -q "error HTTPError: git could not push" "$WORK/p4.err"
eq "the failed push uploaded the new weights" "$(count '^POST /_storage/complete/')" 1
eq "the remote head did not move" "$(remote_head org/m1)" "$C3"
curl -sS -X DELETE "$URL/_test/faults" >/dev/null
reset_log
"$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' >"$WORK/p5.out" 2>&1
check "retry succeeds" test $? -eq 0
eq "retry: no PUT" "$(count '^PUT ')" 0
eq "retry: the weights skipped" "$(field uploaded "$WORK/p5.out"),$(field skipped "$WORK/p5.out")" "0,2"
C5=$(field commit "$WORK/p5.out")
eq "retry: the commit landed" "$(remote_head org/m1)" "$C5"

# --- someone pushes while we push: conflict, then --force -------------------------------------
cd "$WORK/clone1" && git pull -q origin main && echo other >other.txt && git add other.txt &&
    git commit -qm "someone else" && cd "$WORK" || exit 1
echo '{"v": 3}' >"$OUT/config.json"
HUB_PUSH_BEFORE_GIT="cd $WORK/clone1 && git -c credential.helper='!f() { echo username=u; echo password=$TOKEN; }; f' push -q origin main" \
    "$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' >"$WORK/p6.out" 2>"$WORK/p6.err"
check "a push racing another is refused" test $? -ne 0
check "  with a Conflict error" grep -q "error Conflict: .*not a fast-forward" "$WORK/p6.err"
OTHER=$(git --git-dir="$WORK/clone1/.git" rev-parse HEAD)
eq "  the other push stays" "$(remote_head org/m1)" "$OTHER"
"$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' >"$WORK/p7.out" 2>&1
check "pushing again commits on top" test "$(git ls-remote "$URL/org/m1" main | cut -f1)" = "$(field commit "$WORK/p7.out")"
cd "$WORK/clone1" && git fetch -q origin && eq "  its parent is the other push" "$(git rev-parse origin/main^)" "$OTHER" &&
    check "  and other.txt is kept" git cat-file -e origin/main:other.txt && cd "$WORK" || exit 1
echo '{"v": 4}' >"$OUT/config.json"
HUB_PUSH_BEFORE_GIT="cd $WORK/clone1 && git reset -q --hard origin/main && echo x >x.txt && git add x.txt && git commit -qm x && git -c credential.helper='!f() { echo username=u; echo password=$TOKEN; }; f' push -q origin main" \
    "$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' --force >"$WORK/p8.out" 2>"$WORK/p8.err"
check "--force replaces the moved branch" test $? -eq 0
eq "  the forced commit is the head" "$(remote_head org/m1)" "$(field commit "$WORK/p8.out")"

# --- branches, deletions, datasets ------------------------------------------------------------
"$PUSH" model org/m1 "$OUT" --exclude 'checkpoints/*' --branch dev --message "on dev" >"$WORK/p9.out" 2>&1
check "push to a new branch" test "$(remote_head org/m1 dev)" = "$(field commit "$WORK/p9.out")"
mkdir -p "$WORK/small" && echo hi >"$WORK/small/only.txt"
"$PUSH" model org/m1 "$WORK/small" --branch dev --delete '*.txt' --delete '*.dat' >"$WORK/p10.out" 2>&1
cd "$WORK" && gitauth clone -q -b dev "$URL/org/m1" clone2 || exit 1
eq "delete patterns remove remote files not in the folder" "$(cd clone2 && git ls-files | sort | tr '\n' ' ')" \
    ".gitattributes config.json model.safetensors only.txt "
mkdir -p "$WORK/ds/data" && printf 'text,label\nhi,1\n' >"$WORK/ds/data/train.csv" &&
    head -c 2000000 /dev/urandom >"$WORK/ds/data/train.parquet"
"$PUSH" dataset org/d1 "$WORK/ds" >"$WORK/p11.out" 2>&1
check "push a dataset" test $? -eq 0
gitauth clone -q "$URL/datasets/org/d1" clone3 && check "dataset clone byte-identical" cmp -s clone3/data/train.parquet "$WORK/ds/data/train.parquet"
check "dataset .gitattributes has the dataset rules" grep -q '^\*\.wav filter=lfs' clone3/.gitattributes

# --- our downloader and @huggingface/hub read what we pushed ----------------------------------
SNAP=$("$PULL" snapshot model org/m1 main 2>"$WORK/pull.err")
check "hub_pull of the pushed repo" test -n "$SNAP"
check "  weights identical" cmp -s "$SNAP/model.safetensors" "$OUT/model.safetensors"
check "  nested file identical" cmp -s "$SNAP/sub/deep/notes.txt" "$OUT/sub/deep/notes.txt"
JSDIR=${TC_HUB_JS_DIR:-${XDG_CACHE_HOME:-$ORIG_HOME/.cache}/tcd/hub-standin-js}
if command -v node >/dev/null 2>&1 && [ -f "$JSDIR/node_modules/@huggingface/hub/package.json" ]; then
    sha() { sha256sum "$1" | cut -d' ' -f1; }
    EXPECT_FILES=$(printf '{"model.safetensors":"%s","extra.dat":"%s","config.json":"%s","sub/deep/notes.txt":"%s"}' \
        "$(sha "$OUT/model.safetensors")" "$(sha "$OUT/extra.dat")" "$(sha "$OUT/config.json")" "$(sha "$OUT/sub/deep/notes.txt")")
    HUB_URL=$URL HUB_TOKEN=$TOKEN REPO=org/m1 EXPECT_FILES=$EXPECT_FILES \
        node "$SRC/tests/hub_standin/js/hub_client.js" "$JSDIR" verify >"$WORK/js.log" 2>&1 ||
        echo "FAIL - node verify exited non-zero" >>"$WORK/js.log"
    grep -v 'passed, .* failed' "$WORK/js.log"
    PASS=$((PASS + $(grep -c '^ok' "$WORK/js.log"))); FAIL=$((FAIL + $(grep -c '^FAIL' "$WORK/js.log")))
else
    echo "SKIP: @huggingface/hub not installed (scripts/setup --dev)"
fi

# --- errors -----------------------------------------------------------------------------------
HF_TOKEN=hf_wrongtoken0000000000000000000000000 "$PUSH" model org/m1 "$OUT" >/dev/null 2>"$WORK/e1.err"
check "a wrong token is a BadToken error" grep -q "^error BadToken:" "$WORK/e1.err"
HF_TOKEN= HF_HOME=$WORK/nohome "$PUSH" model org/m1 "$OUT" >/dev/null 2>"$WORK/e2.err"
check "no token: says to set HF_TOKEN" grep -q "^error BadToken: .*set HF_TOKEN" "$WORK/e2.err"
"$PUSH" model org/m1 "$WORK/nonexistent" >/dev/null 2>"$WORK/e3.err"
check "a missing folder is named" grep -q "nonexistent' is not a folder" "$WORK/e3.err"
"$PUSH" model org/m1 "$OUT" --branch 'bad..name' >/dev/null 2>"$WORK/e4.err"
check "a bad branch name is refused" grep -q "not a valid branch name" "$WORK/e4.err"
"$PUSH" model 'org/../x' "$OUT" >/dev/null 2>"$WORK/e5.err"
check "a bad repo id is refused" grep -q "not a valid repo id" "$WORK/e5.err"
HF_ENDPOINT=http://127.0.0.1:1 "$PUSH" model org/m1 "$OUT" >/dev/null 2>"$WORK/e6.err"
check "no network: a Network error" grep -q "^error Network:" "$WORK/e6.err"
check "no scratch repositories left behind" test -z "$(ls -A "$WORK/cache/.tcd-push" 2>/dev/null)"
hub_finish
