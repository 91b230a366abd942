#!/bin/sh
# test_oot.sh CMAKE BUILD_DIR LIBDIR OOT_SOURCE_DIR WORK_DIR
#
# The plugin author's path, end to end, using only an installed SDK:
#   1. cmake --install the build into a temporary prefix;
#   2. compile logreg.c with `cc ... $(pkg-config --cflags --libs tc-sdk)`;
#   3. `tcd-worker plugins show logreg.so --json` describes it;
#   4. `tcd-worker run` trains it on 2,000 Fashion-MNIST examples for one
#      epoch; the result line must say "succeeded" with test accuracy > 0.5,
#      and the output must hold the model (config.json from the plugin,
#      model.safetensors from the SDK).
set -eu

cmake=$1 build=$2 libdir=$3 src=$4 work=$5

fail()
{
    echo "test_oot: FAIL: $*" >&2
    exit 1
}

python=/usr/bin/python3
[ -x "$python" ] || python=python3

mkdir -p "$work"
tmp=$(mktemp -d "$work/oot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

# 1. Install.
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }

# 2. Build the plugin against the installed SDK only.
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
unset LD_LIBRARY_PATH TCD_PLUGIN_PATH || true
flags=$(pkg-config --cflags --libs tc-sdk) || fail "pkg-config tc-sdk failed"
# shellcheck disable=SC2086 # word splitting of pkg-config output is intended
cc -std=c11 -Wall -Wextra -pedantic -Werror -shared -fPIC -o "$tmp/logreg.so" "$src/logreg.c" \
    $flags || fail "logreg.c does not build against the installed SDK ($flags)"
echo "built logreg.so with: $flags"

worker=$prefix/bin/tcd-worker

# 3. Describe it.
"$worker" plugins show "$tmp/logreg.so" --json >"$tmp/show.json" 2>"$tmp/show.err" ||
    { cat "$tmp/show.err" "$tmp/show.json" >&2; fail "tcd-worker plugins show failed"; }
"$python" - "$tmp/show.json" <<'PY' || fail "plugins show --json output is wrong"
import json, sys
text = open(sys.argv[1]).read()
doc = json.loads(text)
def strings(v):
    if isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)
    elif isinstance(v, str):
        yield v
found = set(strings(doc))
for want in ("logreg", "model", "zero_init"):
    if want not in found:
        sys.exit("plugins show --json: no %r in %s" % (want, text))
print("plugins show: ok")
PY

# 4. Train it.
cat >"$tmp/spec.yaml" <<YAML
model: {plugin: $tmp/logreg.so}
data: {plugin: idx, limit: 2000}
train: {epochs: 1, batch_size: 64, lr: 1.0e-3}
YAML
"$worker" run "$tmp/spec.yaml" --out "$tmp/out" --json >"$tmp/run.ndjson" 2>"$tmp/run.err" ||
    { tail -n 20 "$tmp/run.err" "$tmp/run.ndjson" >&2; fail "tcd-worker run failed"; }
"$python" - "$tmp/run.ndjson" "$tmp/out" <<'PY' || { tail -n 20 "$tmp/run.err" >&2; fail "run result"; }
import json, os, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
if not lines:
    sys.exit("tcd-worker run --json printed nothing")
last = json.loads(lines[-1])
def find(v, key):
    if isinstance(v, dict):
        if key in v:
            return v[key]
        for x in v.values():
            r = find(x, key)
            if r is not None:
                return r
    elif isinstance(v, list):
        for x in v:
            r = find(x, key)
            if r is not None:
                return r
    return None
state, acc = find(last, "state"), find(last, "test_accuracy")
print("result: state=%s test_accuracy=%s" % (state, acc))
if state != "succeeded":
    sys.exit("last line does not say succeeded: " + lines[-1])
if not isinstance(acc, (int, float)) or not acc > 0.5:
    sys.exit("test_accuracy is not above 0.5: " + lines[-1])
configs = []
for root, dirs, files in os.walk(sys.argv[2]):
    if "config.json" in files and "model.safetensors" in files:
        configs.append(os.path.join(root, "config.json"))
if not configs:
    sys.exit("no directory with config.json and model.safetensors under " + sys.argv[2])
cfg = json.load(open(configs[0]))
if cfg.get("model_type") != "tc-logreg" or cfg.get("input_size") != 784 \
        or cfg.get("num_labels") != 10:
    sys.exit("unexpected %s: %r" % (configs[0], cfg))
print("model: " + os.path.dirname(configs[0]))
PY
echo "oot ok"
