#!/usr/bin/python3
"""Model cards: README.md and training_curves.svg from daemon/src/worker/card.c.

    /usr/bin/python3 tests/card/test_card.py BUILD/tests/card/card_tool

Builds fixture output directories (metrics.json with and without a per-epoch
history, nulls, gaps, a repo id full of quotes, colons, markdown, a newline
and invalid UTF-8), runs `card_tool write` on each and checks that

- README.md is UTF-8 and its front matter parses with yaml.safe_load, with
  license, base_model, datasets, tags, library_name, pipeline_tag and a
  model-index whose metric values equal metrics.json's;
- the body holds the recipe (the spec in a fence that survives backticks),
  the evaluation table, the plot, and load snippets that shell, YAML and
  Python read back as the repo id;
- training_curves.svg parses with xml.etree, refers to nothing outside
  itself, and has one polyline per run of consecutive values and one marker
  per point (an isolated point still gets one), also for absurd values;
- `card_tool read` (tcd_card_read_metric) reads the metrics back, returns
  none for what is not there and an error, not a crash, for malformed cards
  and for a card over 1 MiB.
"""
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

try:
    import yaml
except ImportError:
    print("SKIP: PyYAML is not installed for /usr/bin/python3 (Debian: python3-yaml)")
    sys.exit(0)

TOOL = sys.argv[1]
SVG = "{http://www.w3.org/2000/svg}"
TC_ENOTFOUND, TC_EFORMAT, TC_ERANGE = -4, -8, -10
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def tool(*args):
    r = subprocess.run([TOOL, *args], capture_output=True, timeout=30)
    if r.returncode not in (0, 1):
        raise SystemExit("card_tool %r crashed or misused: rc %d, %s %s"
                         % (args[:2], r.returncode, r.stdout, r.stderr))
    return r.returncode, r.stdout.decode("utf-8", "replace").strip()


def read_metric(readme, mtype, split):
    """("found", value), ("none", None) or ("error", code)."""
    rc, out = tool("read", readme, mtype, split)
    if out.startswith("found "):
        return "found", float(out.split()[1])
    if out == "none":
        return "none", None
    m = re.match(r"error (-?\d+) ", out + " ")
    return "error", int(m.group(1)) if m else out


def make_out(root, name, metrics, files=("model.safetensors", "config.json")):
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "metrics.json"), "w") as f:
        f.write(metrics if isinstance(metrics, str) else json.dumps(metrics, indent=2))
    for fn in files:
        with open(os.path.join(d, fn), "w") as f:
            f.write("{}\n")
    return d


def write_card(d, repo, **opts):
    args = [b"write", d.encode(), repo if isinstance(repo, bytes) else repo.encode()]
    args += [("%s=%s" % kv).encode() for kv in opts.items()]
    r = subprocess.run([TOOL.encode(), *args], capture_output=True, timeout=30)
    check(r.returncode == 0, "card_tool write %s: rc %d %s" % (d, r.returncode, r.stdout))


def split_card(d):
    raw = open(os.path.join(d, "README.md"), "rb").read()
    check(len(raw) < (1 << 20), "README.md is under 1 MiB")
    text = raw.decode("utf-8")  # strict: the card must be valid UTF-8
    check(text.startswith("---\n"), "README.md starts with front matter")
    end = text.index("\n---\n", 3)
    fm = yaml.safe_load(text[4:end + 1])
    check(isinstance(fm, dict), "front matter is a mapping")
    return fm, text[end + 5:].lstrip("\n")


def check_model_index(fm, name, metrics, tag, ds_type, where):
    mi = fm.get("model-index")
    splits = [s for s in ("test", "val") if any(
        metrics.get("%s_%s" % (s, m)) is not None for m in ("accuracy", "f1", "loss"))]
    if not splits:
        check(mi is None, "%s: no model-index without metrics" % where)
        return
    check(isinstance(mi, list) and len(mi) == 1, "%s: model-index is a one-entry list" % where)
    check(mi[0]["name"] == name, "%s: model-index name %r == %r" % (where, mi[0]["name"], name))
    results = mi[0]["results"]
    check(len(results) == len(splits), "%s: one result per split with values" % where)
    for res, s in zip(results, splits):
        split = "test" if s == "test" else "validation"
        check(res["task"]["type"] == tag, "%s: task type" % where)
        check(isinstance(res["task"]["name"], str), "%s: task name" % where)
        check(res["dataset"]["type"] == ds_type, "%s: dataset type %r" % (where, ds_type))
        check(isinstance(res["dataset"]["name"], str), "%s: dataset name" % where)
        check(res["dataset"]["split"] == split, "%s: split %s" % (where, split))
        got = {m["type"]: m for m in res["metrics"]}
        for m in ("accuracy", "f1", "loss"):
            want = metrics.get("%s_%s" % (s, m))
            if want is None:
                check(m not in got, "%s: %s %s absent when null" % (where, split, m))
                continue
            v = got.get(m, {}).get("value")
            check(isinstance(v, float) and v == want,
                  "%s: %s %s: card %r == metrics.json %r" % (where, split, m, v, want))
            check(isinstance(got[m].get("name"), str), "%s: metric name" % where)


def svg_series(d):
    path = os.path.join(d, "training_curves.svg")
    tree = ET.parse(path)
    root = tree.getroot()
    check(root.tag == SVG + "svg", "svg root element")
    for el in root.iter():
        tag = el.tag.replace(SVG, "")
        check(tag not in ("script", "image", "use", "foreignObject", "style"),
              "svg: no <%s>" % tag)
        for k, v in el.attrib.items():
            check(not k.endswith("href") and not k.startswith("on") and "url(" not in v,
                  "svg: no external reference or handler (%s=%r)" % (k, v))
    check(root.find(SVG + "title") is not None, "svg has a <title>")
    out = {}
    for g in root.iter(SVG + "g"):
        if g.get("class") == "series":
            lines = [[tuple(map(float, p.split(","))) for p in pl.get("points").split()]
                     for pl in g.findall(SVG + "polyline")]
            out[g.get("id")] = (lines, len(g.findall(SVG + "circle")))
    texts = " ".join(t.text or "" for t in root.iter(SVG + "text"))
    return out, texts, root


def fenced_blocks(body, lang):
    """(fence, content) of each fenced code block with that info string."""
    blocks, lines, i = [], body.split("\n"), 0
    while i < len(lines):
        m = re.match(r"^(`{3,})(\S*)$", lines[i])
        if m:
            fence, j = m.group(1), i + 1
            while not re.match("^" + fence + "`*$", lines[j]):
                j += 1
            if m.group(2) == lang:
                blocks.append((fence, "\n".join(lines[i + 1:j]) + "\n"))
            i = j
        i += 1
    return blocks


def history(n, nulls=()):
    h = []
    for e in range(1, n + 1):
        h.append({"epoch": e, "train_loss": 1.0 / e + 0.013, "val_loss": 1.1 / e + 0.021,
                  "val_accuracy": 0.5 + 0.1 * e + 0.0031, "val_f1": 0.45 + 0.1 * e + 0.0017,
                  "seconds": 10.25 * e, "lr": 1e-3 / e})
    for e, key in nulls:
        h[e - 1][key] = None
    return h


def base_metrics(**kw):
    m = {"test_accuracy": 0.8735, "test_loss": 0.35412345678901234, "test_f1": 0.87123,
         "val_accuracy": 0.881, "val_loss": 0.3333333333333333, "val_f1": 1e-05,
         "best_epoch": 3, "epochs_run": 3, "resumed_from_epoch": 0, "early_stopped": False,
         "steps": 2532, "epoch_seconds": [10.5, 10.25, 11.0],
         "data_fingerprint": "idx:abc123", "run_id": "run-42",
         "model_plugin": "mlp", "data_plugin": "idx"}
    m.update(kw)
    return m


def test_full(root):
    metrics = base_metrics(history=history(3))
    d = make_out(root, "full", metrics)
    spec = ("# a spec with ``` and ```` inside a comment, and unicode: é ✓\n"
            "model: {plugin: mlp, fc1: 1024}\ndata: {plugin: idx}\ntrain: {epochs: 3}\n")
    with open(os.path.join(root, "full-spec.yaml"), "w") as f:
        f.write(spec)
    write_card(d, "tcd-test/fmnist-mlp", model="mlp", data="idx",
               dataset="zalando-datasets/fashion_mnist", spec=os.path.join(root, "full-spec.yaml"),
               spec_file="tcd-spec.yaml")
    fm, body = split_card(d)
    check(fm["license"] == "apache-2.0", "full: default license")
    check("base_model" not in fm, "full: no base_model when trained from scratch")
    check(fm["datasets"] == ["zalando-datasets/fashion_mnist"], "full: datasets")
    check(fm["tags"] == ["tcd", "mlp", "image-classification"], "full: tags %r" % fm["tags"])
    check(fm["library_name"] == "tcd", "full: library_name tcd")
    check(fm["pipeline_tag"] == "image-classification", "full: pipeline_tag")
    check_model_index(fm, "fmnist-mlp", metrics, "image-classification",
                      "zalando-datasets/fashion_mnist", "full")
    check("![Training curves](training_curves.svg)" in body, "full: plot embedded")
    check(body.startswith("# fmnist-mlp\n"), "full: title")
    blocks = fenced_blocks(body, "yaml")
    check(any(c == spec and len(f) >= 5 for f, c in blocks),
          "full: the spec verbatim in a fence longer than its backtick runs")
    check("[tcd\\-spec.yaml](tcd-spec.yaml)" in body or "[tcd-spec.yaml](tcd-spec.yaml)" in body,
          "full: link to the spec file")
    check("- Epochs run: 3 (best epoch: 3)" in body, "full: epochs and best epoch")
    check("- Optimizer steps: 2532" in body, "full: steps")
    check("- Training time: 31.8 s" in body, "full: training time (sum of epoch_seconds)")
    check("| test | 0.8735 | 0.8712 | 0.3541 |" in body, "full: test row of the table")
    check("| validation | 0.8810 | 0.0000 | 0.3333 |" in body, "full: validation row")
    check(re.search(r"^\| 2 \| 0\.5130 \| 0\.5710 \| 0\.7031 \| 0\.6517 \| 0\.0005 \| 20\.5 \|$",
                    body, re.M), "full: per-epoch row for epoch 2")
    check("snapshot=$(tcctl -q pull model tcd-test/fmnist-mlp)" in body, "full: tcctl pull")
    check("model.from" in body and 'from: "/path/of/the/snapshot"' in body,
          "full: model.from with the pulled snapshot")
    check("AutoModelForSequenceClassification" not in body, "full: no transformers code")
    series, texts, _ = svg_series(d)
    for sid in ("train_loss", "val_loss", "val_accuracy", "val_f1"):
        lines, circles = series.get(sid, ([], 0))
        check(len(lines) == 1 and len(lines[0]) == 3, "full: %s is one 3-point polyline" % sid)
        check(circles == 3, "full: %s has 3 markers" % sid)
        xs = [p[0] for p in lines[0]] if lines else []
        check(xs == sorted(xs) and len(set(xs)) == len(xs), "full: %s x increases" % sid)
    tl, vl = series["train_loss"][0], series["val_accuracy"][0]
    check(len(tl) == 1 and tl[0][0][1] < tl[0][2][1],
          "full: falling train loss is drawn falling (svg y grows down)")
    check(len(vl) == 1 and vl[0][0][1] > vl[0][2][1], "full: rising accuracy is drawn rising")
    check("epoch" in texts and "train loss" in texts and "validation accuracy" in texts,
          "full: axis label and legend")
    check(read_metric(os.path.join(d, "README.md"), "accuracy", "test")
          == ("found", metrics["test_accuracy"]), "full: read back test accuracy")
    check(read_metric(os.path.join(d, "README.md"), "loss", "test")
          == ("found", metrics["test_loss"]), "full: read back test loss (17 digits)")
    check(read_metric(os.path.join(d, "README.md"), "f1", "validation")
          == ("found", metrics["val_f1"]), "full: read back validation f1 (1e-05)")
    check(read_metric(os.path.join(d, "README.md"), "precision", "test") == ("none", None),
          "full: a missing metric is none")
    check(read_metric(os.path.join(d, "README.md"), "accuracy", "train") == ("none", None),
          "full: a missing split is none")


WEIRD = (b'we"ird: org/na\'me: "x" #1 | *y* `z` $(id) \xc3\xa9 \xff\t\\n\n'
         b'- [a]: {b} &c !d %e\xe2\x80\xa8end')


def test_nulls(root):
    metrics = base_metrics(test_accuracy=None, test_loss=None, test_f1=None, val_loss=None,
                           model_plugin="lstm", data_plugin="text")
    del metrics["epoch_seconds"]
    d = make_out(root, "nulls", metrics)
    write_card(d, WEIRD, license="mit", transformers="1")
    repo = WEIRD.decode("utf-8", "replace")
    fm, body = split_card(d)
    check(fm["license"] == "mit", "nulls: license")
    check("datasets" not in fm, "nulls: no datasets without a dataset id")
    check(fm["tags"] == ["tcd", "lstm", "text-classification"],
          "nulls: plugins from metrics.json, pipeline from the text data plugin: %r" % fm["tags"])
    check(fm["pipeline_tag"] == "text-classification", "nulls: pipeline_tag")
    check(fm["library_name"] == "transformers", "nulls: library_name transformers")
    check_model_index(fm, repo.rsplit("/", 1)[1], metrics, "text-classification", "text",
                      "nulls")
    title = body.split("\n", 1)[0]
    check(title.startswith("# ") and "na" in title and "\\*y\\*" in title and "\\|" in title,
          "nulls: title is one escaped line: %r" % title)
    check(not re.search(r"^- \[a\]", body, re.M), "nulls: the repo's newline made no list item")
    check("| test |" not in body and "| validation | 0.8810 | 0.0000 | n/a |" in body,
          "nulls: only the validation row, with n/a")
    check("no per-epoch history" in body, "nulls: says there is no per-epoch history")
    check("Training time" not in body, "nulls: no training time without seconds")
    line = [l for l in body.split("\n") if l.startswith("snapshot=$(tcctl -q pull model ")]
    check(len(line) == 1, "nulls: one tcctl pull line")
    word = line[0][len("snapshot=$(tcctl -q pull model "):-1]
    r = subprocess.run(["bash", "-c", "printf %s " + word], capture_output=True)
    check(r.returncode == 0 and r.stdout == WEIRD,
          "nulls: bash reads the quoted repo back: %r" % r.stdout)
    yblocks = [c for f, c in fenced_blocks(body, "yaml")]
    spec = yaml.safe_load(yblocks[-1]) if yblocks else None
    check(spec == {"model": {"plugin": "lstm", "from": "/path/of/the/snapshot"}},
          "nulls: the model.from snippet is valid YAML: %r" % spec)
    py = [c for f, c in fenced_blocks(body, "python")]
    calls = [n for n in ast.walk(ast.parse(py[0]))
             if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "from_pretrained"] \
        if py else []
    check(len(calls) == 1 and ast.literal_eval(calls[0].args[0]) == repo,
          "nulls: the transformers snippet loads the repo")
    check("AutoTokenizer" not in body, "nulls: no tokenizer line without tokenizer files")
    series, texts, root_el = svg_series(d)
    check(all(not lines and circles == 0 for lines, circles in series.values()),
          "nulls: no plot lines or markers without history")
    check("no per-epoch history" in texts, "nulls: the svg says there is no history")
    check(repo.rsplit("/", 1)[1].replace("\n", " ").replace("\t", " ")[:10] in
          (root_el.find(SVG + "title").text or ""), "nulls: svg title has the repo")
    check(read_metric(os.path.join(d, "README.md"), "accuracy", "validation")
          == ("found", 0.881), "nulls: read back validation accuracy")
    check(read_metric(os.path.join(d, "README.md"), "accuracy", "test") == ("none", None),
          "nulls: no test accuracy")


def test_one_epoch(root):
    metrics = base_metrics(history=history(1), best_epoch=1, epochs_run=1, steps=10,
                           epoch_seconds=[4000.0], model_plugin="distilbert", data_plugin="text")
    d = make_out(root, "one", metrics, files=("model.safetensors", "config.json",
                                              "tokenizer.json"))
    write_card(d, "tcd-test/imdb-distilbert", model="distilbert", data="text",
               dataset="stanfordnlp/imdb", base="distilbert/distilbert-base-uncased",
               pipeline="text-classification", transformers="1")
    fm, body = split_card(d)
    check(fm["base_model"] == "distilbert/distilbert-base-uncased", "one: base_model")
    check(fm["library_name"] == "transformers", "one: library_name")
    check("fine-tuned from [distilbert/distilbert\\-base\\-uncased]("
          "https://huggingface.co/distilbert/distilbert-base-uncased)" in body or
          "fine-tuned from [distilbert/distilbert-base-uncased]("
          "https://huggingface.co/distilbert/distilbert-base-uncased)" in body,
          "one: base model link")
    check("- Training time: 1 h 6 min" in body, "one: long training time")
    py = "".join(c for f, c in fenced_blocks(body, "python"))
    check('AutoModelForSequenceClassification.from_pretrained("tcd-test/imdb-distilbert")' in py
          and 'AutoTokenizer.from_pretrained("tcd-test/imdb-distilbert")' in py,
          "one: transformers snippet with the tokenizer")
    compile(py, "snippet", "exec")
    series, _, _ = svg_series(d)
    for sid in ("train_loss", "val_loss", "val_accuracy", "val_f1"):
        lines, circles = series.get(sid, ([None], 0))
        check(lines == [] and circles == 1, "one: %s is a single marker" % sid)


def test_gaps(root):
    h = history(5, nulls=[(2, "train_loss"), (3, "val_loss"), (5, "val_loss"),
                          (3, "val_accuracy"), (1, "val_f1"), (2, "val_f1"), (3, "val_f1"),
                          (4, "val_f1"), (5, "val_f1")])
    h.append(None)  # not an object: skipped
    metrics = base_metrics(history=h, epochs_run=5, best_epoch=4, early_stopped=True,
                           resumed_from_epoch=2)
    d = make_out(root, "gaps", metrics)
    write_card(d, "tcd-test/gaps")
    fm, body = split_card(d)
    check("- Epochs run: 5 (best epoch: 4), stopped early, resumed after epoch 2" in body,
          "gaps: early stop and resume")
    check(re.search(r"^\| 3 \| 0\.3463 \| n/a \| n/a \| n/a \|", body, re.M),
          "gaps: nulls are n/a in the per-epoch table")
    series, _, root_el = svg_series(d)
    want = {"train_loss": ([3], 4), "val_loss": ([2], 3), "val_accuracy": ([2, 2], 4),
            "val_f1": ([], 0)}
    for sid, (lens, circles) in want.items():
        lines, got = series.get(sid, ([], -1))
        check([len(l) for l in lines] == lens and got == circles,
              "gaps: %s polylines %r markers %d, want %r %d"
              % (sid, [len(l) for l in lines], got, lens, circles))
    check(any(g.get("class") == "best-epoch" for g in root_el.iter(SVG + "g")),
          "gaps: best epoch marked")


def test_absurd(root):
    h = [{"epoch": 1, "train_loss": 1e308, "val_loss": -1e308, "val_accuracy": 5e-324,
          "val_f1": 1.0, "seconds": 1e300, "lr": "fast"},
         {"epoch": 1e300, "train_loss": -1e308, "val_loss": 1e-320, "val_accuracy": 5e-324,
          "val_f1": 1.0 + 2 ** -52, "seconds": -1.0},
         {"epoch": "three", "train_loss": True, "val_loss": [1], "val_accuracy": {},
          "val_f1": "0.5"}]
    metrics = base_metrics(history=h, epoch_seconds=[1e300], best_epoch=1e300, steps=-5,
                           run_id=7, model_plugin=["mlp"])
    d = make_out(root, "absurd", metrics)
    write_card(d, "org/absurd")
    fm, body = split_card(d)
    check(fm["tags"] == ["tcd", "image-classification"], "absurd: a non-string plugin is ignored")
    series, _, _ = svg_series(d)
    check(sorted(series) == ["train_loss", "val_accuracy", "val_f1", "val_loss"],
          "absurd: the plot still has its series")


def test_write_errors(root):
    d = os.path.join(root, "empty")
    os.makedirs(d)
    rc, out = tool("write", d, "org/x")
    check(rc == 1 and out.startswith("error %d " % TC_ENOTFOUND), "no metrics.json: %s" % out)
    d = make_out(root, "array", "[1, 2]")
    rc, out = tool("write", d, "org/x")
    check(rc == 1 and out.startswith("error %d " % TC_EFORMAT), "metrics.json array: %s" % out)
    d = make_out(root, "broken", "{\"test_accuracy\": ")
    rc, out = tool("write", d, "org/x")
    check(rc == 1 and out.startswith("error %d " % TC_EFORMAT), "broken metrics.json: %s" % out)
    check(not os.path.exists(os.path.join(d, "README.md")), "no card after an error")


GOOD_FM = ("model-index:\n- name: x\n  results:\n  - task: {type: text-classification}\n"
           "    dataset: {name: d, type: d, split: test}\n"
           "    metrics:\n    - {type: accuracy, value: 0.5}\n")

MALFORMED = {
    "unterminated": "---\n" + GOOD_FM,
    "unterminated-empty": "---",
    "invalid-yaml": "---\nkey: [unclosed\n---\n",
    "sequence": "---\n- a\n- b\n---\n",
    "scalar": "---\njust text\n---\n",
    "mi-mapping": "---\nmodel-index: {a: 1}\n---\n",
    "mi-scalar": "---\nmodel-index: 3\n---\n",
    "entry-scalar": "---\nmodel-index:\n- 3\n---\n",
    "results-scalar": "---\nmodel-index:\n- name: x\n  results: 3\n---\n",
    "result-list": "---\nmodel-index:\n- name: x\n  results:\n  - [1, 2]\n---\n",
    "dataset-list": "---\nmodel-index:\n- name: x\n  results:\n  - dataset: [test]\n"
                    "    metrics: []\n---\n",
    "split-map": "---\nmodel-index:\n- results:\n  - dataset: {split: {a: b}}\n---\n",
    "metrics-map": "---\nmodel-index:\n- results:\n  - dataset: {split: test}\n"
                   "    metrics: {type: accuracy}\n---\n",
    "metric-scalar": "---\nmodel-index:\n- results:\n  - dataset: {split: test}\n"
                     "    metrics: [accuracy]\n---\n",
    "type-list": "---\nmodel-index:\n- results:\n  - dataset: {split: test}\n"
                 "    metrics: [{type: [accuracy], value: 1}]\n---\n",
    "value-text": "---\nmodel-index:\n- results:\n  - dataset: {split: test}\n"
                  "    metrics: [{type: accuracy, value: high}]\n---\n",
    "value-missing": "---\nmodel-index:\n- results:\n  - dataset: {split: test}\n"
                     "    metrics: [{type: accuracy}]\n---\n",
    "value-nan": "---\nmodel-index:\n- results:\n  - dataset: {split: test}\n"
                 "    metrics: [{type: accuracy, value: nan}]\n---\n",
}

NOT_FOUND = {
    "no-front-matter": "# Title\n\nno metadata\n",
    "dashes-later": "# Title\n---\nmodel-index: 3\n---\n",
    "empty-front-matter": "---\n---\n# body\n",
    "no-model-index": "---\nlicense: mit\n---\n",
    "no-results": "---\nmodel-index:\n- name: x\n---\n",
    "other-split": "---\n" + GOOD_FM.replace("split: test", "split: validation") + "---\n",
    "no-split": "---\n" + GOOD_FM.replace(", split: test", "") + "---\n",
}


def test_read_metric(root):
    def card(name, text):
        p = os.path.join(root, name + ".md")
        with open(p, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        return p

    for name, text in MALFORMED.items():
        got = read_metric(card(name, text), "accuracy", "test")
        check(got == ("error", TC_EFORMAT), "read %s: %r, want a format error" % (name, got))
    for name, text in NOT_FOUND.items():
        got = read_metric(card(name, text), "accuracy", "test")
        check(got == ("none", None), "read %s: %r, want none" % (name, got))
    got = read_metric(card("good", "---\n" + GOOD_FM + "---\n# body\n"), "accuracy", "test")
    check(got == ("found", 0.5), "read good: %r" % (got,))
    crlf = ("\ufeff---\n" + GOOD_FM + "...\n").replace("\n", "\r\n")
    got = read_metric(card("bom-crlf", crlf), "accuracy", "test")
    check(got == ("found", 0.5), "read BOM + CRLF card closed by '...': %r" % (got,))
    huge = "---\nlicense: mit\n---\n" + "x" * (1 << 20)
    got = read_metric(card("huge", huge), "accuracy", "test")
    check(got == ("error", TC_ERANGE), "read a card over 1 MiB: %r" % (got,))
    got = read_metric(os.path.join(root, "missing.md"), "accuracy", "test")
    check(got == ("error", TC_ENOTFOUND), "read a missing card: %r" % (got,))
    # Aliases make a small file a huge tree: the walk is bounded.
    bomb = ("---\nr: &r {dataset: {split: nomatch}, metrics: []}\nrs: &rs ["
            + ", ".join(["*r"] * 1000) + "]\nmodel-index: ["
            + ", ".join(["{results: *rs}"] * 1000) + "]\n---\n")
    got = read_metric(card("alias-bomb", bomb), "accuracy", "test")
    check(got == ("error", TC_ERANGE), "read an alias bomb: %r" % (got,))
    got = read_metric(card("binary", b"---\nmodel-index: \xff\xfe\x00\x01\n---\n"), "accuracy",
                      "test")
    check(got == ("error", TC_EFORMAT), "read a card with invalid UTF-8: %r" % (got,))


def main():
    with tempfile.TemporaryDirectory(prefix="card-") as root:
        for t in (test_full, test_nulls, test_one_epoch, test_gaps, test_absurd,
                  test_write_errors, test_read_metric):
            t(root)
    if failures:
        print("%d checks failed" % len(failures))
        sys.exit(1)
    print("ok: model cards")


if __name__ == "__main__":
    main()
