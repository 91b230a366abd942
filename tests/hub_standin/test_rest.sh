#!/usr/bin/env bash
# Fidelity test 3: REST details of scripts/local-hub with curl (HUB-PROTOCOL.md sections 1, 4.6, 5).
. "$(dirname "$0")/lib.sh"
hub_start --page-size 25 --multipart-threshold 100000 --multipart-chunk 65536
cd "$WORK"
H="$WORK/h.txt"
# hv NAME: value of header NAME in $H (last response of a redirect chain not followed)
hv() { grep -i "^$1:" "$H" | tail -1 | cut -d' ' -f2- | tr -d '\r'; }
st() { head -1 "$H" | cut -d' ' -f2; }
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

eq "create org/rest" "$(create_repo org/rest)" 200
git clone -q "$URL/org/rest" c && cd c
git lfs track "*.bin" >/dev/null
head -c 300000 /dev/urandom >weights.bin
printf 'small text\n' >notes.txt
mkdir -p many sub && for i in $(seq 1 60); do echo "$i" >"many/f$(printf %02d "$i").txt"; done
echo deep >sub/deep.txt
git add -A && git commit -qm content
check "push content" gitauth push -q origin main 2>/dev/null
BIN_SHA=$(sha256sum weights.bin | cut -d' ' -f1)
TXT_OID=$(git rev-parse HEAD:notes.txt)
COMMIT=$(git rev-parse HEAD)
cd "$WORK"
R="$URL/org/rest/resolve"

echo "# resolve headers"
curl -sS -I "$R/main/notes.txt" >"$H"
eq "HEAD small file: 200" "$(st)" 200
eq "HEAD small file: ETag = quoted git blob sha1" "$(hv ETag)" "\"$TXT_OID\""
eq "HEAD small file: X-Repo-Commit" "$(hv X-Repo-Commit)" "$COMMIT"
eq "HEAD small file: Content-Length" "$(hv Content-Length)" 11
eq "HEAD small file: Accept-Ranges" "$(hv Accept-Ranges)" bytes
curl -sS -I "$R/main/weights.bin" >"$H"
eq "HEAD LFS file: 302" "$(st)" 302
eq "HEAD LFS file: X-Linked-Etag = quoted sha256" "$(hv X-Linked-Etag)" "\"$BIN_SHA\""
eq "HEAD LFS file: X-Linked-Size" "$(hv X-Linked-Size)" 300000
eq "HEAD LFS file: X-Repo-Commit" "$(hv X-Repo-Commit)" "$COMMIT"
LOC=$(hv Location)
check "HEAD LFS file: absolute Location" test "${LOC#$URL/}" != "$LOC"
curl -sS -I "$LOC" >"$H"
eq "storage HEAD: ETag = quoted sha256" "$(hv ETag)" "\"$BIN_SHA\""
eq "storage HEAD: Content-Length" "$(hv Content-Length)" 300000
eq "storage HEAD: Accept-Ranges" "$(hv Accept-Ranges)" bytes
eq "GET LFS via redirect: sha256" "$(curl -sSL "$R/main/weights.bin" | sha256sum | cut -d' ' -f1)" "$BIN_SHA"
eq "resolve by commit sha" "$(curl -sS "$R/$COMMIT/notes.txt")" "small text"
eq "resolve subfolder file" "$(curl -sS "$R/main/sub/deep.txt")" "deep"
eq "raw of LFS file gives the pointer" "$(curl -sS "$URL/org/rest/raw/main/weights.bin" | sed -n 1p)" "version https://git-lfs.github.com/spec/v1"
eq "resolve via Bearer on public repo" "$(api -s -o /dev/null -w '%{http_code}' "$R/main/notes.txt")" 200

echo "# ranges"
curl -sS -D "$H" -o part.bin -H 'Range: bytes=10-19' "$LOC"
eq "Range 10-19: 206" "$(st)" 206
eq "Range 10-19: Content-Range" "$(hv Content-Range)" "bytes 10-19/300000"
eq "Range 10-19: body" "$(od -An -tx1 part.bin | tr -d ' \n')" "$(curl -sSL "$R/main/weights.bin" 2>/dev/null | dd bs=1 skip=10 count=10 2>/dev/null | od -An -tx1 | tr -d ' \n')"
curl -sS -D "$H" -o part.bin -H 'Range: bytes=299990-' "$LOC"
eq "open Range: 206 + 10 bytes" "$(st) $(stat -c %s part.bin)" "206 10"
curl -sS -D "$H" -o part.bin -H 'Range: bytes=-5' "$LOC"
eq "suffix Range: Content-Range" "$(hv Content-Range)" "bytes 299995-299999/300000"
curl -sS -D "$H" -o /dev/null -H 'Range: bytes=300000-' "$LOC"
eq "Range past end: 416" "$(st)" 416
eq "416 Content-Range" "$(hv Content-Range)" "bytes */300000"
curl -sS -D "$H" -o part.bin -H 'Range: bytes=0-4' "$R/main/notes.txt"
eq "Range on a regular file: 206 'small'" "$(st) $(cat part.bin)" "206 small"

echo "# errors"
curl -sS -D "$H" -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL/org/nope/resolve/main/x"
eq "missing repo (token): 404 RepoNotFound" "$(st) $(hv X-Error-Code)" "404 RepoNotFound"
curl -sS -D "$H" -o /dev/null "$URL/api/models/org/nope"
eq "missing repo (anonymous): 401 RepoNotFound" "$(st) $(hv X-Error-Code)" "401 RepoNotFound"
curl -sS -D "$H" -o /dev/null "$R/nobranch/notes.txt"
eq "missing revision: 404 RevisionNotFound" "$(st) $(hv X-Error-Code)" "404 RevisionNotFound"
curl -sS -D "$H" -o /dev/null -I "$R/main/missing.txt"
eq "missing entry: 404 EntryNotFound" "$(st) $(hv X-Error-Code)" "404 EntryNotFound"
eq "EntryNotFound carries X-Repo-Commit" "$(hv X-Repo-Commit)" "$COMMIT"
curl -sS -D "$H" -o /dev/null -H 'Authorization: Bearer wrong' "$R/main/notes.txt"
eq "bad token: 401 + message" "$(st) $(hv X-Error-Message)" "401 Invalid credentials in Authorization header"
eq "whoami-v2 with token" "$(api "$URL/api/whoami-v2" | js 'd["name"]')" local-user
eq "whoami-v2 anonymous: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/whoami-v2")" 401
eq "create without token: 401" "$(curl -s -o /dev/null -w '%{http_code}' -XPOST -d '{"name":"x"}' "$URL/api/repos/create")" 401
eq "receive-pack discovery without token: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/org/rest.git/info/refs?service=git-receive-pack")" 401
eq "receive-pack discovery with Basic token: 200" "$(curl -s -o /dev/null -w '%{http_code}' -u "x:$TOKEN" "$URL/org/rest.git/info/refs?service=git-receive-pack")" 200

echo "# gated and private repos"
eq "create org/gated" "$(create_repo org/gated)" 200
api -s -o /dev/null -XPUT -H 'Content-Type: application/json' -d '{"gated":"manual"}' "$URL/api/models/org/gated/settings"
curl -sS -D "$H" -o /dev/null "$URL/org/gated/resolve/main/.gitattributes"
eq "gated, anonymous: 401 GatedRepo" "$(st) $(hv X-Error-Code)" "401 GatedRepo"
eq "gated, with token: 200" "$(api -s -o /dev/null -w '%{http_code}' "$URL/org/gated/resolve/main/.gitattributes")" 200
eq "repo info says gated" "$(api "$URL/api/models/org/gated" | js 'd["gated"]')" manual
api -s -o /dev/null -XPUT -H 'Content-Type: application/json' -d '{"gated_approved":false}' "$URL/api/models/org/gated/settings"
api -sS -D "$H" -o /dev/null "$URL/org/gated/resolve/main/.gitattributes"
eq "gated, token not approved: 403 GatedRepo" "$(st) $(hv X-Error-Code)" "403 GatedRepo"
python3 - "$WORK/root/repos/models/org/rest.git/hub.json" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["private"] = True; json.dump(s, open(p, "w"))
PY
curl -sS -D "$H" -o /dev/null "$R/main/notes.txt"
eq "private (hub.json edited), anonymous: 401 RepoNotFound" "$(st) $(hv X-Error-Code)" "401 RepoNotFound"
eq "private, with token: 200" "$(api -s -o /dev/null -w '%{http_code}' "$R/main/notes.txt")" 200
eq "anonymous clone of a private repo refused" "$(git clone -q "$URL/org/rest" priv >/dev/null 2>&1; echo $?)" 128
check "clone of a private repo with the token" gitauth clone -q "$URL/org/rest" priv
api -s -o /dev/null -XPUT -H 'Content-Type: application/json' -d '{"private":false}' "$URL/api/models/org/rest/settings"
eq "settings PUT private=false: anonymous 200 again" "$(curl -s -o /dev/null -w '%{http_code}' "$R/main/notes.txt")" 200

echo "# api: info, tree pagination, paths-info, refs"
eq "info blobs=true: lfs sha256" "$(api "$URL/api/models/org/rest?blobs=true" | js '[s["lfs"]["sha256"] for s in d["siblings"] if s["rfilename"]=="weights.bin"][0]')" "$BIN_SHA"
eq "info sha" "$(api "$URL/api/models/org/rest/revision/main" | js 'd["sha"]')" "$COMMIT"
# follow Link pages
next="$URL/api/models/org/rest/tree/main/many?recursive=1"; total=0; pages=0
while [ -n "$next" ]; do
    api -D "$H" -o page.json "$next"
    total=$((total + $(js 'len(d)' <page.json))); pages=$((pages + 1))
    next=$(hv Link | sed -n 's/^<\([^>]*\)>; rel="next"$/\1/p')
done
eq "tree pagination: 60 entries over 3 pages" "$total/$pages" "60/3"
eq "tree with %2F-encoded path" "$(api "$URL/api/models/org/rest/tree/main/sub%2F" | js 'd[0]["path"]')" sub/deep.txt
eq "tree lists LFS entry" "$(api "$URL/api/models/org/rest/tree/main" | js '[e["lfs"]["oid"] for e in d if e["path"]=="weights.bin"][0]')" "$BIN_SHA"
eq "tree missing path: EntryNotFound" "$(api -s -o /dev/null -D - "$URL/api/models/org/rest/tree/main/zzz" | grep -i x-error-code | tr -d '\r' | cut -d' ' -f2)" EntryNotFound
eq "paths-info (form)" "$(api -d 'paths=notes.txt&paths=weights.bin&paths=nope' "$URL/api/models/org/rest/paths-info/main" | js 'len(d)')" 2
eq "paths-info (JSON, expand)" "$(api -H 'Content-Type: application/json' -d '{"paths":["sub"],"expand":true}' "$URL/api/models/org/rest/paths-info/main" | js 'd[0]["type"]+" "+str(len(d[0]["lastCommit"]["id"]))')" "directory 40"
eq "refs: main branch" "$(api "$URL/api/models/org/rest/refs" | js 'd["branches"][0]["targetCommit"]')" "$COMMIT"

echo "# LFS batch API"
B="$URL/org/rest.git/info/lfs/objects/batch"
lfsreq() { curl -sS -H 'Content-Type: application/vnd.git-lfs+json' -H 'Accept: application/vnd.git-lfs+json' "$@"; }
eq "download batch: href to storage" "$(lfsreq -d "{\"operation\":\"download\",\"objects\":[{\"oid\":\"$BIN_SHA\",\"size\":300000}]}" "$B" -u "x:$TOKEN" | js 'd["objects"][0]["actions"]["download"]["href"].split("/_storage/")[1]')" "lfs/$BIN_SHA"
Z=$(printf '%064d' 0)
eq "download batch: unknown object -> per-object 404" "$(lfsreq -u "x:$TOKEN" -d "{\"operation\":\"download\",\"objects\":[{\"oid\":\"$Z\",\"size\":3}]}" "$B" | js 'd["objects"][0]["error"]["code"]')" 404
eq "upload batch without token: 401 + LFS-Authenticate" "$(lfsreq -D - -o /dev/null -d '{"operation":"upload","objects":[]}' "$B" | grep -ci '^LFS-Authenticate')" 1
eq "upload batch, known object: no actions" "$(lfsreq -u "x:$TOKEN" -d "{\"operation\":\"upload\",\"ref\":{\"name\":\"main\"},\"hash_algo\":\"sha_256\",\"objects\":[{\"oid\":\"$BIN_SHA\",\"size\":300000}]}" "$B" | js '"actions" in d["objects"][0]')" False
head -c 150000 /dev/urandom >mp.bin
MP=$(sha256sum mp.bin | cut -d' ' -f1)
lfsreq -u "x:$TOKEN" -d "{\"operation\":\"upload\",\"transfers\":[\"basic\",\"multipart\"],\"ref\":{\"name\":\"refs/heads/main\"},\"objects\":[{\"oid\":\"$MP\",\"size\":150000}]}" "$URL/datasets/org/nope.git/info/lfs/objects/batch" -o /dev/null -w '%{http_code}' >code.txt
eq "dataset batch on missing repo: 404" "$(cat code.txt)" 404
lfsreq -u "x:$TOKEN" -d "{\"operation\":\"upload\",\"transfers\":[\"basic\",\"multipart\"],\"objects\":[{\"oid\":\"$MP\",\"size\":150000}]}" "$B" >mp.json
eq "multipart chosen above threshold" "$(js 'd["transfer"]+" "+d["objects"][0]["actions"]["upload"]["header"]["chunk_size"]' <mp.json)" "multipart 65536"
python3 - mp.json mp.bin <<'PY' >mpout.txt
import json, sys, urllib.request
d = json.load(open(sys.argv[1]))["objects"][0]; data = open(sys.argv[2], "rb").read()
hdr = d["actions"]["upload"]["header"]; cs = int(hdr["chunk_size"])
keys = sorted((k for k in hdr if k.isdigit()), key=int)
parts = []
for i, k in enumerate(keys):
    r = urllib.request.urlopen(urllib.request.Request(hdr[k], data=data[i*cs:(i+1)*cs], method="PUT"))
    parts.append({"partNumber": i + 1, "etag": r.headers["ETag"]})
r = urllib.request.urlopen(urllib.request.Request(d["actions"]["upload"]["href"],
    data=json.dumps({"oid": d["oid"], "parts": parts}).encode(), method="POST",
    headers={"Content-Type": "application/vnd.git-lfs+json"}))
v = d["actions"]["verify"]
r2 = urllib.request.urlopen(urllib.request.Request(v["href"], data=json.dumps({"oid": d["oid"], "size": d["size"]}).encode(),
    method="POST", headers={"Content-Type": "application/vnd.git-lfs+json", }))
print(len(keys), r.status, r2.status)
PY
eq "multipart upload: 3 parts, completion 200, verify 200" "$(cat mpout.txt)" "3 200 200"
eq "multipart object stored" "$(curl -sS "$URL/_storage/lfs/$MP" | sha256sum | cut -d' ' -f1)" "$MP"

echo "# requests.log"
curl -sS -X POST "$URL/_test/reset-log" -o /dev/null
for i in 1 2 3; do curl -sS -o /dev/null "$R/main/sub/deep.txt"; done
curl -sS -o /dev/null -I "$R/main/sub/deep.txt"
eq "log counts 3 GETs of the file" "$(grep -c '^GET /org/rest/resolve/main/sub/deep.txt 200 5$' "$WORK/root/requests.log")" 3
eq "log has the HEAD (0 bytes)" "$(grep -c '^HEAD /org/rest/resolve/main/sub/deep.txt 200 0$' "$WORK/root/requests.log")" 1

echo "# faults"
F="$URL/_test/faults"
curl -sS -o /dev/null -d '{"status":503,"count":2,"path_glob":"*/deep.txt"}' "$F"
codes=$(for i in 1 2 3; do curl -s -o /dev/null -w '%{http_code} ' "$R/main/sub/deep.txt"; done)
eq "503 x2 then 200" "$codes" "503 503 200 "
curl -sS -o /dev/null -d '{"status":429,"retry_after":2,"count":1,"path_glob":"/api/*"}' "$F"
curl -sS -D "$H" -o /dev/null "$URL/api/models/org/rest/refs" -u "x:$TOKEN"
eq "429 status" "$(st)" 429
eq "429 Retry-After" "$(hv Retry-After)" 2
eq "429 RateLimit" "$(hv RateLimit)" '"api";r=0;t=2'
check "429 RateLimit-Policy" test -n "$(hv RateLimit-Policy)"
curl -sS -o /dev/null -d '{"status":429,"count":1,"ratelimit":"\"resolvers\";r=0;t=7"}' "$F"
curl -sS -D "$H" -o /dev/null "$R/main/notes.txt" -u "x:$TOKEN"
eq "429 custom RateLimit" "$(hv RateLimit)" '"resolvers";r=0;t=7'
curl -sS -o /dev/null -d '{"drop_after_bytes":1000,"path_glob":"/_storage/*","count":1}' "$F"
curl -sS -o drop.bin "$LOC" 2>/dev/null; rc=$?
eq "drop_after_bytes: curl sees a short body (exit 18), 1000 bytes" "$rc $(stat -c %s drop.bin)" "18 1000"
eq "after the drop, GET is whole" "$(curl -sS "$LOC" | sha256sum | cut -d' ' -f1)" "$BIN_SHA"
curl -sS -D "$H" -o rest.bin -H 'Range: bytes=1000-' "$LOC"
eq "resume from 1000 completes the file" "$(cat drop.bin rest.bin | sha256sum | cut -d' ' -f1)" "$BIN_SHA"
curl -sS -o /dev/null -d '{"delay":0.5,"count":1}' "$F"
t=$(curl -s -o /dev/null -w '%{time_total}' "$R/main/notes.txt" -u "x:$TOKEN")
check "delay fault (${t}s >= 0.5)" python3 -c "import sys; sys.exit(0 if float('$t') >= 0.5 else 1)"
curl -sS -o /dev/null -d '{"status":500,"count":-1,"path_glob":"/never/*"}' "$F"
eq "GET /_test/faults lists pending" "$(curl -sS "$F" | js 'len(d)')" 1
curl -sS -o /dev/null -X DELETE "$F"
eq "DELETE /_test/faults clears" "$(curl -sS "$F" | js 'len(d)')" 0
eq "log line of a fault" "$(grep -c '^GET /org/rest/resolve/main/sub/deep.txt 503 ' "$WORK/root/requests.log")" 2
hub_finish
