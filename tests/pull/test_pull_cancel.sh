#!/usr/bin/env bash
# tcctl cancel of a running pull: tcd + tcd-worker + libtchub against scripts/local-hub.
#   test_pull_cancel.sh TCD TCD_WORKER TCCTL SOURCE_DIR
# A 40 MB LFS file whose first GET is dropped by the stand-in at DROP bytes and whose resuming
# GET is held back (a fault with a long delay), so the job is reliably mid-download with a
# partial file on disk when it is cancelled; the test polls the stand-in's pending faults to
# know when that point is reached (no sleeps guessing timing). Checks: the job ends cancelled
# (tcctl wait exits 3, the job object and the result event say so), the partial stays under
# blobs/ and is kept by prune --partials while the worker holds its lock, the next pull resumes
# it with one Range request for exactly the missing bytes (under 1.3x the file in all) and gets
# the right sha256, prune --partials then finds no partial, and after a second cancelled pull
# prune --partials removes the partial, which a last pull then downloads again from byte 0.
TCD=$(realpath "$1")
TCCTL=$(realpath "$3")
. "$4/tests/hub_standin/lib.sh"
hub_start

unset TCD_WORKER_PULL_KILL_AT
tcd_start "$TCD" "$TCCTL"
# sent OID: body bytes the "CDN" sent for one LFS object since the last reset
sent() { log | awk -v p="/_storage/lfs/$1" 'index($2, p) == 1 { s += $NF } END { print s + 0 }'; }
# cdn_gets: "GET /_storage/lfs/OID STATUS BYTES" for each CDN GET of the file since the last reset
cdn_gets() {
    log | awk -v p="/_storage/lfs/$OID" \
        '$1 == "GET" && index($2, p) == 1 { sub(/\?.*/, "", $2); print $1, $2, $3, $NF }'
}
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
CRED="!f() { echo username=u; echo password=$TOKEN; }; f"

ID=org/cancel
SIZE=40000000
eq "create repo" "$(create_repo $ID)" 200
git -c credential.helper="$CRED" clone -q "http://$HOSTPORT/$ID" "$WORK/src" && cd "$WORK/src" || finish
git lfs track '*.bin' >/dev/null
head -c $SIZE /dev/urandom >model.bin
OID=$(sha256sum model.bin | cut -d' ' -f1)
git add -A && git commit -qm big && git -c credential.helper="$CRED" push -q origin main 2>/dev/null
check "push 40 MB" test $? -eq 0
rm -f model.bin
cd "$WORK" || finish
R=$WORK/cache/models--org--cancel
INC=$R/blobs/$OID.incomplete

# start_stalled DROP: submit a detached pull whose first CDN GET is dropped after DROP bytes and
# whose resuming GET is held back for longer than the test runs; sets JOB once the worker sits
# in that held-back GET (both faults taken).
start_stalled() {
    fault "[{\"method\": \"GET\", \"path_glob\": \"/_storage/*\", \"drop_after_bytes\": $1},
            {\"method\": \"GET\", \"path_glob\": \"/_storage/*\", \"delay\": 300,
             \"drop_after_bytes\": 0}]"
    JOB=$("$TCCTL" -q pull $ID --detach 2>"$WORK/pull.err")
    check "pull --detach exits 0 with a job id" grep -qE '^j[0-9a-f]{16}$' <<<"$JOB" ||
        cat "$WORK/pull.err"
    local i
    for i in $(seq 300); do
        [ "$(curl -sS "$URL/_test/faults")" = "[]" ] && break
        sleep 0.1
    done
    check "the worker reached the held-back resume GET (after $((i / 10)) s)" \
        test "$(curl -sS "$URL/_test/faults")" = "[]"
    eq "the job is running" "$("$TCCTL" status "$JOB" --json | jq -r .state)" running
}

# cancel_job: cancel JOB and check that it ended cancelled.
cancel_job() {
    "$TCCTL" cancel "$JOB" >/dev/null
    check "tcctl cancel exits 0" test $? -eq 0
    "$TCCTL" wait "$JOB" --timeout 60 >/dev/null 2>&1
    eq "tcctl wait: exit 3 (cancelled)" "$?" 3
    local st
    st=$("$TCCTL" status "$JOB" --json)
    eq "job state" "$(jq -r .state <<<"$st")" cancelled
    check "job reason: cancelled by uid" grep -q "cancelled by uid" <<<"$(jq -r .reason <<<"$st")"
    eq "result event" "$("$TCCTL" logs "$JOB" --json | tail -n 1 | jq -r '.type + " " + .state')" \
        "result cancelled"
}

# ---- cancel mid-download, then resume -------------------------------------------------------
reset_log
start_stalled 15000000
P=$(size_of "$INC")
check "running: the partial holds the dropped transfer's bytes ($P)" \
    test "$P" -gt 0 -a "$P" -lt $SIZE
OUT=$("$TCCTL" prune --partials 2>&1)
check "prune --partials while running: the partial is kept" test -f "$INC"
check "prune --partials while running: says why" grep -q "is being downloaded now" <<<"$OUT"
cancel_job
P=$(size_of "$INC")
check "cancelled: the partial is kept ($P bytes)" test "$P" -gt 0 -a "$P" -lt $SIZE
check "cancelled: no finished blob" test ! -e "$R/blobs/$OID"
S1=$(sent "$OID")

reset_log
curl -sS -X DELETE "$URL/_test/faults" >/dev/null
SNAP=$("$TCCTL" -q pull $ID 2>"$WORK/pull.err")
check "resume: pull exits 0" test $? -eq 0 || cat "$WORK/pull.err"
eq "resume: sha256" "$(sha256sum "$SNAP/model.bin" | cut -d' ' -f1)" "$OID"
eq "resume: one CDN GET, a 206 for exactly the missing bytes" "$(cdn_gets)" \
    "GET /_storage/lfs/$OID 206 $((SIZE - P))"
S2=$(sent "$OID")
check "resume: $S1 + $S2 bytes sent < 1.3 x $SIZE" test $((S1 + S2)) -lt $((SIZE * 13 / 10))
check "resume: no partial left" test ! -e "$INC"
OUT=$("$TCCTL" prune --partials 2>&1)
check "prune --partials after the resume: exits 0" test $? -eq 0
check "prune --partials after the resume: no partial to remove" \
    test -z "$(grep '\.incomplete' <<<"$OUT")"
check "prune --partials after the resume: 0 bytes freed" grep -q " 0 bytes freed" <<<"$OUT"
check "prune --partials after the resume: the blob stays" test -f "$R/blobs/$OID"

# ---- a second cancelled pull: prune --partials removes its partial ---------------------------
rm -rf "$R" "$WORK/cache/.locks/models--org--cancel"
reset_log
start_stalled 25000000
cancel_job
P=$(size_of "$INC")
check "second cancel: the partial is kept ($P bytes)" test "$P" -gt 0 -a "$P" -lt $SIZE
OUT=$("$TCCTL" prune --partials --dry-run 2>&1)
check "prune --dry-run names the partial" grep -qF "would remove $INC ($P bytes)" <<<"$OUT"
check "prune --dry-run keeps it" test -f "$INC"
OUT=$("$TCCTL" prune --partials 2>&1)
check "prune --partials exits 0" test $? -eq 0
check "prune --partials removed the partial (the cancelled worker let go of its lock)" \
    test ! -e "$INC"
check "prune --partials reports $P bytes freed" grep -q " $P bytes freed" <<<"$OUT"
reset_log
SNAP=$("$TCCTL" -q pull $ID 2>"$WORK/pull.err")
check "after prune: pull exits 0" test $? -eq 0 || cat "$WORK/pull.err"
eq "after prune: sha256" "$(sha256sum "$SNAP/model.bin" | cut -d' ' -f1)" "$OID"
eq "after prune: the whole file again, no Range" "$(cdn_gets)" \
    "GET /_storage/lfs/$OID 200 $SIZE"
check "HF_TOKEN not in job files" test -z "$(grep -rl "$TOKEN" "$WORK/state" 2>/dev/null)"
finish
