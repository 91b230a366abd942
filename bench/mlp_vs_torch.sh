#!/bin/bash
# mlp_vs_torch.sh - train the Fashion-MNIST MLP with tcd-worker and with PyTorch
# (bench/mlp_torch.py) and compare seconds per epoch and test accuracy.
#
#   bench/mlp_vs_torch.sh [WORKER] [EPOCHS]
#
# WORKER is a built tcd-worker (default build/bin/tcd-worker; this script builds
# nothing), EPOCHS defaults to 3. PYTHON names an interpreter with torch and numpy
# (default Debian's /usr/bin/python3). Both runs use the same network, optimizer,
# batch size, 10% validation hold-out and 2 threads (set OMP_NUM_THREADS and
# OPENBLAS_NUM_THREADS to change tcd's); an epoch's seconds cover its training and
# validation passes in both. Run on an otherwise idle machine.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
worker=${1:-$root/build/bin/tcd-worker}
epochs=${2:-3}
python=${PYTHON:-/usr/bin/python3}
spec=$root/examples/fashion-mnist-mlp.yaml

die() {
    echo "mlp_vs_torch: $*" >&2
    exit 1
}

[ -x "$worker" ] || die "no tcd-worker at '$worker' (build it first, or pass its path)"
case $epochs in '' | *[!0-9]* | 0) die "EPOCHS must be a positive integer, got '$epochs'" ;; esac
"$python" -c 'import torch, numpy' 2>/dev/null || die "'$python' lacks torch or numpy (set PYTHON)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlp-vs-torch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}

echo "== tcd-worker: $epochs epoch(s) of $spec" >&2
"$worker" run "$spec" --set "train.epochs=$epochs" --out "$tmp/out" --json >"$tmp/tcd.out" ||
    die "tcd-worker failed (exit $?)"
tail -n 1 "$tmp/tcd.out" >"$tmp/tcd.json"

# Debian's torch does its matmuls in the same OpenBLAS (BLAS_INFO=generic).
# libtc picks OpenBLAS's kernel set for the CPU (some CPUs are misdetected as
# Prescott, 8x slower); give torch the same one so the comparison is fair.
blas=$("$worker" --version | sed -n 's/^blas: //p')
core=$(printf '%s\n' "$blas" | sed -n 's/^OpenBLAS \([A-Za-z0-9]*\),.*/\1/p')
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -n "$core" ]; then
    export OPENBLAS_CORETYPE=$core
fi
echo "== PyTorch: $epochs epoch(s) of bench/mlp_torch.py (tcd blas: $blas; torch OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})" >&2
"$python" "$root/bench/mlp_torch.py" --epochs "$epochs" --json >"$tmp/torch.json" ||
    die "bench/mlp_torch.py failed (exit $?)"

"$python" - "$tmp/tcd.json" "$tmp/torch.json" <<'EOF'
import json
import sys

with open(sys.argv[1]) as f:
    tcd = json.load(f)
with open(sys.argv[2]) as f:
    torch = json.load(f)
if tcd.get("type") != "result" or tcd.get("state") != "succeeded":
    sys.exit(f"mlp_vs_torch: tcd-worker did not succeed: {json.dumps(tcd)}")
m = tcd["metrics"]
a, b = m["epoch_seconds"], torch["epoch_seconds"]


def ratio(x, y):
    return f"{x / y:9.2f}" if y > 0 else f"{'-':>9}"


print(f"{'':16}{'tcd':>9}{'torch':>9}{'tcd/torch':>11}")
for i in range(max(len(a), len(b))):
    x = a[i] if i < len(a) else float("nan")
    y = b[i] if i < len(b) else float("nan")
    print(f"{'epoch %d (s)' % (i + 1):16}{x:9.2f}{y:9.2f}  {ratio(x, y)}")
ma, mb = sum(a) / len(a), sum(b) / len(b)
print(f"{'mean epoch (s)':16}{ma:9.2f}{mb:9.2f}  {ratio(ma, mb)}")
print(f"{'test accuracy':16}{m['test_accuracy']:9.4f}{torch['test_accuracy']:9.4f}")
if "test_loss" in m and "test_loss" in torch:
    print(f"{'test loss':16}{m['test_loss']:9.4f}{torch['test_loss']:9.4f}")
EOF
