#!/usr/bin/env bash
# Fidelity test 2: npm @huggingface/hub against scripts/local-hub (repo content pushed with git).
# The package is installed by `scripts/setup --dev` into $TC_HUB_JS_DIR
# (default ${XDG_CACHE_HOME:-~/.cache}/tcd/hub-standin-js); missing node or package -> SKIP.
. "$(dirname "$0")/lib.sh"
JSDIR=${TC_HUB_JS_DIR:-${XDG_CACHE_HOME:-$ORIG_HOME/.cache}/tcd/hub-standin-js}
if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (scripts/setup --dev installs it)"; rm -rf "$WORK"; exit 0
fi
if [ ! -f "$JSDIR/node_modules/@huggingface/hub/package.json" ]; then
    echo "SKIP: @huggingface/hub is not installed in $JSDIR (run scripts/setup --dev)"; rm -rf "$WORK"; exit 0
fi
hub_start --page-size 20
cd "$WORK"
export HUB_URL=$URL HUB_TOKEN=$TOKEN REPO=org/jsmodel
node "$HERE/js/hub_client.js" "$JSDIR" create >"$WORK/js1.log" 2>&1 || echo "FAIL - node phase create exited non-zero" >>"$WORK/js1.log"
grep -v 'passed, .* failed' "$WORK/js1.log"
PASS=$((PASS + $(grep -c '^ok' "$WORK/js1.log"))); FAIL=$((FAIL + $(grep -c '^FAIL' "$WORK/js1.log")))

check "clone the repo created by createRepo" git clone -q "$URL/org/jsmodel" c
cd c
git lfs track "*.bin" >/dev/null
head -c 5000000 /dev/urandom >weights.bin
mkdir -p sub/dir many && printf 'hello from a subfolder\n' >sub/dir/notes.txt
for i in $(seq 1 45); do echo "$i" >"many/f$i.txt"; done
git add -A && git commit -qm "content"
check "git push" gitauth push -q origin main
EXPECT_JSON=$(printf '{"binSha":"%s","binSize":%d,"txt":"hello from a subfolder\\n","txtSize":23,"txtOid":"%s","many":45}' \
    "$(sha256sum weights.bin | cut -d' ' -f1)" "$(stat -c %s weights.bin)" "$(git rev-parse HEAD:sub/dir/notes.txt)")
export EXPECT_JSON
cd "$WORK"
node "$HERE/js/hub_client.js" "$JSDIR" check >"$WORK/js2.log" 2>&1 || echo "FAIL - node phase check exited non-zero" >>"$WORK/js2.log"
grep -v 'passed, .* failed' "$WORK/js2.log"
PASS=$((PASS + $(grep -c '^ok' "$WORK/js2.log"))); FAIL=$((FAIL + $(grep -c '^FAIL' "$WORK/js2.log")))
hub_finish
