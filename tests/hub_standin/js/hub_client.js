// Fidelity test 2 (node side): the official @huggingface/hub client against scripts/local-hub.
// Usage: node hub_client.js MODULES_DIR PHASE   (env HUB_URL, HUB_TOKEN, REPO, EXPECT_JSON)
// PHASE "create": createRepo + whoAmI; PHASE "check": listFiles / downloadFile / fileDownloadInfo.
// PHASE "verify": every file of EXPECT_FILES ({"path": "sha256 of the content", ...}, repo type
// REPO_TYPE) is listed by listFiles and downloads with downloadFile to the same sha256.
"use strict";
const path = require("path");
const crypto = require("crypto");
const hub = require(path.join(process.argv[2], "node_modules", "@huggingface", "hub"));
const phase = process.argv[3];
const hubUrl = process.env.HUB_URL;
const accessToken = process.env.HUB_TOKEN;
const repoName = process.env.REPO;
let passed = 0, failed = 0;
function ok(c, d, extra) {
  if (c) { passed++; console.log("ok   - " + d); }
  else { failed++; console.log("FAIL - " + d + (extra !== undefined ? " (" + extra + ")" : "")); }
}
async function sha256(blob) {
  return crypto.createHash("sha256").update(Buffer.from(await blob.arrayBuffer())).digest("hex");
}
async function main() {
  const repo = { type: process.env.REPO_TYPE || "model", name: repoName };
  if (phase === "verify") {
    const exp = JSON.parse(process.env.EXPECT_FILES);
    const listed = {};
    for await (const f of hub.listFiles({ repo, recursive: true, hubUrl, accessToken })) listed[f.path] = f;
    for (const [p, sha] of Object.entries(exp)) {
      ok(listed[p] && listed[p].type === "file", "listFiles lists " + p);
      const blob = await hub.downloadFile({ repo, path: p, hubUrl, accessToken });
      const got = blob ? await sha256(blob) : "missing";
      ok(got === sha, "downloadFile " + p + " has the pushed content", got);
    }
    return;
  }
  if (phase === "create") {
    const who = await hub.whoAmI({ hubUrl, accessToken });
    ok(who.name === "local-user" && who.type === "user", "whoAmI", JSON.stringify(who));
    const r = await hub.createRepo({ repo, hubUrl, accessToken });
    ok(r.repoUrl === hubUrl + "/" + repoName, "createRepo returns repoUrl", JSON.stringify(r));
    let conflict = false;
    try { await hub.createRepo({ repo, hubUrl, accessToken }); } catch (e) { conflict = /409|already/i.test(String(e.statusCode || "") + e.message); }
    ok(conflict, "createRepo twice -> conflict error");
    const ds = await hub.createRepo({ repo: { type: "dataset", name: repoName + "-ds" }, hubUrl, accessToken });
    ok(ds.repoUrl === hubUrl + "/datasets/" + repoName + "-ds", "createRepo dataset", JSON.stringify(ds));
  } else {
    const exp = JSON.parse(process.env.EXPECT_JSON);
    const files = [];
    for await (const f of hub.listFiles({ repo, recursive: true, hubUrl, accessToken })) files.push(f);
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
    ok(byPath["sub/dir/notes.txt"] && byPath["sub/dir/notes.txt"].type === "file", "listFiles recursive sees subfolder file", Object.keys(byPath).join(","));
    ok(byPath["sub"] && byPath["sub"].type === "directory", "listFiles lists directories");
    const w = byPath["weights.bin"];
    ok(w && w.size === exp.binSize && w.lfs && w.lfs.oid === exp.binSha && w.lfs.size === exp.binSize, "listFiles LFS size and oid", JSON.stringify(w));
    ok(byPath["sub/dir/notes.txt"] && byPath["sub/dir/notes.txt"].size === exp.txtSize, "listFiles small file size");
    // pagination: more files than the server page size
    const many = [];
    for await (const f of hub.listFiles({ repo, path: "many", hubUrl, accessToken })) many.push(f);
    ok(many.length === exp.many, "listFiles follows Link pagination", many.length + " vs " + exp.many);
    const top = [];
    for await (const f of hub.listFiles({ repo, hubUrl, accessToken, expand: true })) top.push(f);
    ok(top.length > 0 && top.every((f) => f.lastCommit && f.lastCommit.id && f.lastCommit.id.length === 40), "listFiles expand=true has lastCommit");

    const bin = await hub.downloadFile({ repo, path: "weights.bin", hubUrl, accessToken, xet: false });
    ok(bin && (await sha256(bin)) === exp.binSha, "downloadFile LFS content matches");
    const txt = await hub.downloadFile({ repo, path: "sub/dir/notes.txt", hubUrl, accessToken });
    ok(txt && (await txt.text()) === exp.txt, "downloadFile small file matches");
    const raw = await hub.downloadFile({ repo, path: "weights.bin", raw: true, hubUrl, accessToken });
    ok(raw && (await raw.text()).includes("oid sha256:" + exp.binSha), "downloadFile raw gives the LFS pointer");
    const missing = await hub.downloadFile({ repo, path: "nope.txt", hubUrl, accessToken });
    ok(missing === null, "downloadFile of a missing file -> null (EntryNotFound)");
    const info = await hub.fileDownloadInfo({ repo, path: "weights.bin", hubUrl, accessToken });
    ok(info && info.size === exp.binSize && info.etag.replace(/^(W\/)?"|"$/g, "") === exp.binSha, "fileDownloadInfo size + etag of LFS file", JSON.stringify(info));
    const info2 = await hub.fileDownloadInfo({ repo, path: "sub/dir/notes.txt", hubUrl, accessToken });
    ok(info2 && info2.size === exp.txtSize && info2.etag.replace(/^(W\/)?"|"$/g, "") === exp.txtOid, "fileDownloadInfo etag = git blob sha1", JSON.stringify(info2));
    const ex = await hub.fileExists({ repo, path: "weights.bin", hubUrl, accessToken });
    ok(ex === true, "fileExists");
    const mi = await hub.modelInfo({ name: repoName, hubUrl, accessToken, additionalFields: ["sha"] });
    ok(mi && mi.name === repoName, "modelInfo", JSON.stringify(mi));
    let revErr = "";
    try { await hub.downloadFile({ repo, path: "weights.bin", revision: "nobranch", hubUrl, accessToken }); } catch (e) { revErr = e.message; }
    ok(/rev|not found|404/i.test(revErr), "downloadFile at a missing revision -> error", revErr);
  }
}
main().then(() => {
  console.log(passed + " passed, " + failed + " failed");
  process.exit(failed ? 1 : 0);
}, (e) => { console.log("FAIL - exception: " + (e && e.stack || e)); console.log(passed + " passed, " + (failed + 1) + " failed"); process.exit(1); });
