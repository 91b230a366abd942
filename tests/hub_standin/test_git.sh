#!/usr/bin/env bash
# Fidelity test 1: stock git + git-lfs against scripts/local-hub.
. "$(dirname "$0")/lib.sh"
hub_start
cd "$WORK"

eq "create model repo" "$(create_repo org/gitmodel)" 200
eq "create again -> 409" "$(create_repo org/gitmodel)" 409
eq "create dataset repo" "$(create_repo org/gitdata dataset)" 200

# clone (public repo, anonymous), then push with the token via a credential helper
check "anonymous clone of new repo" git clone -q "$URL/org/gitmodel" c1
cd c1
check "seeded .gitattributes tracks *.bin" grep -q '^\*\.bin filter=lfs' .gitattributes
git lfs track "*.bin" >/dev/null
head -c 5000000 /dev/urandom >weights.bin
mkdir -p sub/dir && echo "hello from a subfolder" >sub/dir/notes.txt
git add -A && git commit -qm "add weights and notes"
SHA=$(sha256sum weights.bin | cut -d' ' -f1)
if GIT_TERMINAL_PROMPT=0 git push -q origin main >"$WORK/push-anon.log" 2>&1; then
    bad "push without token refused"
else
    check "push without token refused (401/403)" grep -Eqi '401|403|Authentication|could not read' "$WORK/push-anon.log"
fi
check "push with token (LFS batch upload + receive-pack)" gitauth push -q origin main
check "LFS object stored under root/lfs" test -f "$WORK/root/lfs/${SHA:0:2}/${SHA:2:2}/$SHA"
cd "$WORK"

# fresh clone pulls the LFS content
check "fresh clone over .git URL" git clone -q "$URL/org/gitmodel.git" c2
eq "LFS content sha256 after clone" "$(sha256sum c2/weights.bin | cut -d' ' -f1)" "$SHA"
eq "subfolder text file" "$(cat c2/sub/dir/notes.txt)" "hello from a subfolder"
check "pointer committed, not content" sh -c "cd c2 && git cat-file -p HEAD:weights.bin | grep -q 'oid sha256:$SHA'"

# 12 MB non-LFS binary is rejected by the pre-receive hook
cd c1
printf '*.bin filter=lfs diff=lfs merge=lfs -text\n' >.gitattributes
head -c 12000000 /dev/urandom >big.dat
git add big.dat .gitattributes && git commit -qm "big non-LFS binary"
if gitauth push origin main >"$WORK/push-big.log" 2>&1; then
    bad "12 MB non-LFS push rejected"
else
    check "12 MB non-LFS push rejected" grep -q "rejected because it contains files larger than 10 MiB" "$WORK/push-big.log"
    check "rejection names the file" grep -q "big.dat" "$WORK/push-big.log"
fi
git reset -q --hard HEAD~1
# a 2 MB binary (NUL bytes) outside LFS is rejected as binary
head -c 2000000 /dev/urandom >blob.dat
git add blob.dat && git commit -qm "binary non-LFS"
if gitauth push origin main >"$WORK/push-bin.log" 2>&1; then
    bad "binary non-LFS push rejected"
else
    check "binary non-LFS push rejected" grep -q "contains binary files" "$WORK/push-bin.log"
fi
git reset -q --hard HEAD~1
cd "$WORK"

# datasets: /datasets/{id} with LFS, and refs/convert/parquet served by revision
check "clone dataset" git clone -q "$URL/datasets/org/gitdata" d1
cd d1
printf 'PAR1fakeparquet\0\1\2' >train.parquet
git add train.parquet && git commit -qm data
check "push dataset (parquet via seeded LFS rule)" gitauth push -q origin main
git checkout -q --orphan conv && git rm -rq --cached . && rm -f train.parquet
mkdir -p default/train && head -c 4096 /dev/urandom >default/train/0000.parquet
git add default && git commit -qm "convert"
check "push refs/convert/parquet" gitauth push -q origin HEAD:refs/convert/parquet
PQ=$(sha256sum default/train/0000.parquet | cut -d' ' -f1)
cd "$WORK"
got=$(curl -sSL "$URL/datasets/org/gitdata/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet" | sha256sum | cut -d' ' -f1)
eq "resolve refs%2Fconvert%2Fparquet (encoded)" "$got" "$PQ"
got=$(curl -sSL "$URL/datasets/org/gitdata/resolve/refs/convert/parquet/default/train/0000.parquet" | sha256sum | cut -d' ' -f1)
eq "resolve refs/convert/parquet (raw)" "$got" "$PQ"
conv=$(curl -sS "$URL/api/datasets/org/gitdata/refs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["converts"][0]["ref"])')
eq "refs API lists the convert ref" "$conv" "refs/convert/parquet"
hub_finish
