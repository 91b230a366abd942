#!/usr/bin/env bash
# Integration test of libtchub against scripts/local-hub:
#   test_download.sh HUB_PULL SOURCE_DIR
# Pushes a repo with git + git-lfs (config.json, sub/nested.txt, a 3 MB LFS
# weights.bin), downloads it with the library (tests/hub/hub_pull.c) and checks
# the huggingface_hub cache layout, no-network re-use, resume, retries and errors.
PULL=$(realpath "$1")
. "$2/tests/hub_standin/lib.sh"
hub_start

ID=org/tiny
eq "create repo" "$(create_repo $ID)" 200
CRED="!f() { echo username=u; echo password=$TOKEN; }; f"
git -c credential.helper="$CRED" clone -q "http://$HOSTPORT/$ID" "$WORK/src" && cd "$WORK/src" || exit 1
git lfs track '*.bin' >/dev/null
echo '{"hidden_size": 4}' >config.json
mkdir sub && echo nested >sub/nested.txt
head -c 3145728 /dev/urandom >weights.bin
SHA=$(sha256sum weights.bin | cut -d' ' -f1)
git add -A && git commit -qm init
git -c credential.helper="$CRED" push -q origin main 2>"$WORK/push.err"
check "push" test $? -eq 0
COMMIT=$(git rev-parse HEAD)
cd "$WORK" || exit 1

export HF_ENDPOINT=$URL HF_HUB_CACHE=$WORK/cache HF_TOKEN=$TOKEN
unset HF_HUB_OFFLINE HF_HOME
R=$WORK/cache/models--org--tiny

SNAP=$("$PULL" snapshot model $ID main 2>"$WORK/pull.err")
check "snapshot download" test $? -eq 0 || cat "$WORK/pull.err"
eq "snapshot path" "$SNAP" "$R/snapshots/$COMMIT"
eq "refs/main" "$(cat "$R/refs/main")" "$COMMIT"
check "CACHEDIR.TAG" grep -q 8a477f597d28d172789f06886806bc55 "$WORK/cache/CACHEDIR.TAG"
check "LFS blob named by sha256" test -f "$R/blobs/$SHA"
eq "LFS blob sha256" "$(sha256sum "$R/blobs/$SHA" | cut -d' ' -f1)" "$SHA"
CFG_OID=$(git -C "$WORK/src" rev-parse HEAD:config.json)
check "regular blob named by git sha1" test -f "$R/blobs/$CFG_OID"
eq "link config.json" "$(readlink "$SNAP/config.json")" "../../blobs/$CFG_OID"
eq "link sub/nested.txt" "$(readlink "$SNAP/sub/nested.txt")" \
    "../../../blobs/$(git -C "$WORK/src" rev-parse HEAD:sub/nested.txt)"
eq "link weights.bin" "$(readlink "$SNAP/weights.bin")" "../../blobs/$SHA"
for f in config.json sub/nested.txt weights.bin .gitattributes; do
    t=$(readlink "$SNAP/$f")
    case "$t" in /*) bad "$f link is absolute";; esac
    check "$f resolves into blobs/" test "$(dirname "$(realpath "$SNAP/$f")")" = "$(realpath "$R/blobs")"
done
check "nested content" test "$(cat "$SNAP/sub/nested.txt")" = nested
check "no .incomplete left" test -z "$(ls "$R/blobs" | grep incomplete)"

reset_log
"$PULL" snapshot model $ID main >/dev/null 2>"$WORK/pull.err"
check "second download" test $? -eq 0
eq "second download: no file GET" "$(log | grep -c -E '/resolve/|/_storage/')" 0

reset_log
HF_HUB_OFFLINE=1 "$PULL" snapshot model $ID main >/dev/null 2>&1
check "offline by branch (refs/main)" test $? -eq 0
"$PULL" snapshot model $ID "$COMMIT" >/dev/null 2>&1
check "by commit from cache" test $? -eq 0
eq "by commit: no request at all" "$(log | wc -l)" 0

# resume: drop the LFS transfer after 1 MB, in a fresh cache
export HF_HUB_CACHE=$WORK/cache2
R2=$WORK/cache2/models--org--tiny
reset_log
fault '{"drop_after_bytes": 1000000, "path_glob": "/_storage/*", "count": 1}'
out=$("$PULL" snapshot model $ID main 2>"$WORK/pull.err")
check "download with a dropped connection" test $? -eq 0 || cat "$WORK/pull.err"
check "resumed with Range (206)" grep -q "GET /_storage/.* 206" "$WORK/root/requests.log"
sent=$(log | awk '$1=="GET" && $2 ~ /_storage/ {s+=$4} END {print s+0}')
check "bytes sent for the LFS file bounded ($sent)" test "$sent" -le $((3145728 + 1100000))
eq "resumed blob sha256" "$(sha256sum "$R2/blobs/$SHA" | cut -d' ' -f1)" "$SHA"

# cancel leaves .incomplete, a later run resumes it
export HF_HUB_CACHE=$WORK/cache3
R3=$WORK/cache3/models--org--tiny
fault '{"delay": 0.05, "path_glob": "/_storage/*", "count": -1}'
HUB_PULL_CANCEL_AFTER=500000 "$PULL" snapshot model $ID main weights.bin >/dev/null 2>"$WORK/pull.err"
eq "cancel exit" $? 2
check "cancel kind" grep -q "error Cancelled" "$WORK/pull.err"
check "cancel keeps .incomplete" test -s "$R3/blobs/$SHA.incomplete"
curl -sS -X DELETE "$URL/_test/faults" >/dev/null
reset_log
"$PULL" snapshot model $ID main weights.bin >/dev/null 2>&1
check "resume after cancel" test $? -eq 0
check "resume after cancel used Range" grep -q "GET /_storage/.* 206" "$WORK/root/requests.log"
eq "resumed-after-cancel sha256" "$(sha256sum "$R3/blobs/$SHA" | cut -d' ' -f1)" "$SHA"

# 429 with Retry-After is retried
export HF_HUB_CACHE=$WORK/cache4
fault '{"status": 429, "retry_after": 1, "path_glob": "*/resolve/*", "count": 1}'
reset_log
"$PULL" file model $ID main config.json >/dev/null 2>"$WORK/pull.err"
check "429 retried" test $? -eq 0
check "429 seen" grep -q " 429 " "$WORK/root/requests.log"
fault '{"status": 503, "count": 2, "path_glob": "/api/*"}'
"$PULL" snapshot model $ID main >/dev/null 2>"$WORK/pull.err"
check "503 on the API retried" test $? -eq 0

# distinct errors
"$PULL" snapshot model org/missing main 2>"$WORK/e1"; eq "RepoNotFound exit" $? 2
check "RepoNotFound kind" grep -q "error RepoNotFound" "$WORK/e1"
"$PULL" snapshot model $ID nobranch 2>"$WORK/e2"
check "RevisionNotFound kind" grep -q "error RevisionNotFound" "$WORK/e2"
"$PULL" file model $ID main missing.txt 2>"$WORK/e3"
check "EntryNotFound kind" grep -q "error EntryNotFound" "$WORK/e3"
check ".no_exist marker" test -f "$WORK/cache4/models--org--tiny/.no_exist/$COMMIT/missing.txt"
HF_TOKEN=hf_wrongwrongwrongwrongwrongwrongwrong "$PULL" file model $ID main config.json 2>"$WORK/e4" >/dev/null
echo "(bad token: $(cat "$WORK/e4"))"

# stand-in stopped: a download by commit still works; a new repo says Network
hub_stop_now() { kill "$HUB_PID" && wait "$HUB_PID" 2>/dev/null; HUB_PID=; }
hub_stop_now
export HF_HUB_CACHE=$WORK/cache
"$PULL" snapshot model $ID "$COMMIT" >/dev/null 2>"$WORK/pull.err"
check "by commit with the hub down" test $? -eq 0
"$PULL" snapshot model $ID main >/dev/null 2>"$WORK/pull.err"
check "by branch with the hub down falls back to refs/main" test $? -eq 0
"$PULL" snapshot model org/other main 2>"$WORK/e5"
check "Network kind" grep -q "error Network" "$WORK/e5"
hub_finish
