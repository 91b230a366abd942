#!/usr/bin/env bash
# tcctl pull end to end: tcd (finding tcd-worker beside it) pulls from scripts/local-hub into
# a huggingface_hub cache.
#   test_pull.sh TCD TCD_WORKER TCCTL SOURCE_DIR
# Checks the cache tree (refs, blobs by sha256 / git sha1, relative snapshot links), no file
# GET on a second pull, a pull by commit with the stand-in stopped, resume of a 200 MB LFS file
# after a dropped transfer and after a killed worker (under 260 MB sent each), prune
# --partials, and RepoNotFound.
TCD=$(realpath "$1")
TCCTL=$(realpath "$3")
. "$4/tests/hub_standin/lib.sh"
hub_start

export TCD_WORKER_PULL_KILL_AT="100000000:$WORK/kill-once"
tcd_start "$TCD" "$TCCTL"
# sent OID: body bytes the "CDN" sent for one LFS object since the last reset
sent() { log | awk -v p="/_storage/lfs/$1" 'index($2, p) == 1 { s += $NF } END { print s + 0 }'; }
CRED="!f() { echo username=u; echo password=$TOKEN; }; f"

# ---- a small repo: layout, no GET the second time, offline by commit ---------------------------
ID=org/tiny
eq "create repo" "$(create_repo $ID)" 200
git -c credential.helper="$CRED" clone -q "http://$HOSTPORT/$ID" "$WORK/src" && cd "$WORK/src" || finish
git lfs track '*.bin' >/dev/null
echo '{"hidden_size": 4}' >config.json
mkdir sub && echo nested >sub/nested.txt
head -c 2097152 /dev/urandom >weights.bin
SHA=$(sha256sum weights.bin | cut -d' ' -f1)
git add -A && git commit -qm init && git -c credential.helper="$CRED" push -q origin main 2>/dev/null
check "push" test $? -eq 0
COMMIT=$(git rev-parse HEAD)
cd "$WORK" || finish
R=$WORK/cache/models--org--tiny

SNAP=$("$TCCTL" pull model $ID 2>"$WORK/pull.err")
check "tcctl pull model $ID exits 0" test $? -eq 0 || cat "$WORK/pull.err"
eq "prints the snapshot path" "$SNAP" "$R/snapshots/$COMMIT"
check "per-file progress with bytes/s" grep -q "weights.bin .*/s" "$WORK/pull.err"
eq "refs/main" "$(cat "$R/refs/main")" "$COMMIT"
check "LFS blob named by its sha256" test "$(sha256sum "$R/blobs/$SHA" | cut -d' ' -f1)" = "$SHA"
for f in config.json sub/nested.txt .gitattributes; do
    oid=$(git -C "$WORK/src" rev-parse "HEAD:$f")
    check "blob of $f named by its git sha1" test -f "$R/blobs/$oid"
done
eq "link sub/nested.txt" "$(readlink "$SNAP/sub/nested.txt")" \
    "../../../blobs/$(git -C "$WORK/src" rev-parse HEAD:sub/nested.txt)"
n=0
while IFS= read -r -d '' l; do
    n=$((n + 1))
    t=$(readlink "$l")
    case "$t" in /*) bad "${l#"$SNAP"/} links absolutely ($t)" ;; esac
    check "${l#"$SNAP"/} resolves into blobs/" test "$(dirname "$(realpath -e "$l")")" = "$(realpath "$R/blobs")"
done < <(find "$SNAP" -type l -print0)
eq "snapshot links" "$n" 4
check "nested content" test "$(cat "$SNAP/sub/nested.txt")" = nested

reset_log
SNAP2=$("$TCCTL" -q pull $ID 2>/dev/null)
check "second pull exits 0" test $? -eq 0
eq "second pull: same snapshot (-q prints only the path)" "$SNAP2" "$SNAP"
eq "second pull: no file GET" "$(log | grep -c -E '^GET .*(/resolve/|/_storage/)')" 0

JSON=$("$TCCTL" --json pull model $ID --include 'sub/*' 2>/dev/null)
check "--json prints the result with the snapshot" grep -q "\"snapshot\":\"$SNAP\"" <<<"$JSON"

kill "$HUB_PID" && wait "$HUB_PID" 2>/dev/null
HUB_PID=
OUT=$("$TCCTL" -q pull model $ID --revision "$COMMIT" 2>"$WORK/pull.err")
check "stand-in stopped: pull by commit exits 0" test $? -eq 0 || cat "$WORK/pull.err"
eq "stand-in stopped: snapshot" "$OUT" "$SNAP"

# restart the stand-in on the same root and port
/usr/bin/python3 "$HUB" --root "$WORK/root" --port "${HOSTPORT##*:}" --token "$TOKEN" \
    >"$WORK/url2" 2>>"$WORK/hub.err" &
HUB_PID=$!
for _ in $(seq 100); do [ -s "$WORK/url2" ] && break; sleep 0.1; done

# ---- a 200 MB LFS file: dropped at 50 MB, then a killed worker ---------------------------------
ID=org/big
eq "create big repo" "$(create_repo $ID)" 200
git -c credential.helper="$CRED" clone -q "http://$HOSTPORT/$ID" "$WORK/big" && cd "$WORK/big" || finish
git lfs track '*.bin' >/dev/null
head -c 200000000 /dev/urandom >model.bin
BIG=$(sha256sum model.bin | cut -d' ' -f1)
git add -A && git commit -qm big && git -c credential.helper="$CRED" push -q origin main 2>/dev/null
check "push 200 MB" test $? -eq 0
rm -f model.bin
cd "$WORK" || finish
RB=$WORK/cache/models--org--big

reset_log
fault '{"drop_after_bytes": 50000000, "path_glob": "/_storage/*", "count": 1}'
OUT=$("$TCCTL" -q pull $ID 2>"$WORK/pull.err")
check "dropped at 50 MB: pull exits 0" test $? -eq 0 || cat "$WORK/pull.err"
eq "dropped at 50 MB: sha256" "$(sha256sum "$OUT/model.bin" | cut -d' ' -f1)" "$BIG"
S=$(sent "$BIG")
check "dropped at 50 MB: $S bytes sent < 260 MB" test "$S" -lt 260000000
check "dropped at 50 MB: resumed with Range (two GETs)" test "$(log | grep -c "^GET /_storage/lfs/$BIG")" -ge 2

rm -rf "$RB" "$WORK/cache/.locks/models--org--big"
reset_log
touch "$WORK/kill-once"
"$TCCTL" -q pull $ID >/dev/null 2>"$WORK/pull.err"
eq "worker killed at 100 MB: the job fails" "$?" 1
check "worker killed: a partial file is kept" test -n "$(ls "$RB/blobs/" | grep '\.incomplete$')"
OUT=$("$TCCTL" -q pull $ID 2>"$WORK/pull.err")
check "worker killed: the next pull exits 0" test $? -eq 0 || cat "$WORK/pull.err"
eq "worker killed: sha256" "$(sha256sum "$OUT/model.bin" | cut -d' ' -f1)" "$BIG"
S=$(sent "$BIG")
check "worker killed: $S bytes sent < 260 MB" test "$S" -lt 260000000

# ---- prune --partials, errors ------------------------------------------------------------------
head -c 1000 /dev/urandom >"$RB/blobs/$(printf '%064d' 0).incomplete"
OUT=$("$TCCTL" prune --partials --dry-run)
check "prune --dry-run names the partial" test -f "$RB/blobs/$(printf '%064d' 0).incomplete"
OUT=$("$TCCTL" prune --partials)
check "prune --partials exits 0" test $? -eq 0
check "prune --partials removed the partial" test ! -e "$RB/blobs/$(printf '%064d' 0).incomplete"
check "prune reports bytes freed" grep -q "1000 bytes freed" <<<"$OUT"

"$TCCTL" pull model org/does-not-exist >/dev/null 2>"$WORK/pull.err"
eq "RepoNotFound: exit 1" "$?" 1
check "RepoNotFound: a clear message" grep -qi "not found\|repo_not_found\|RepoNotFound" "$WORK/pull.err" || cat "$WORK/pull.err"
"$TCCTL" pull model not-a-repo-id >/dev/null 2>&1
eq "bad repo id: usage error" "$?" 2
check "HF_TOKEN not in job files" test -z "$(grep -rl "$TOKEN" "$WORK/state" 2>/dev/null)"
finish
