#!/bin/bash
# distilbert_vs_torch.sh - DistilBERT-base (or BERT-base) training-step throughput,
# tc-bench train-step against PyTorch (bench/distilbert_torch_step.py), in the same run.
#
#   bench/distilbert_vs_torch.sh [BUILD_DIR] [ROUNDS]
#
# BUILD_DIR (default build) holds bin/tc-bench, the distilbert/bert plugins and
# bin/bench_matmul; this script builds nothing. For each shape (SHAPES, default
# "32x128 32x32", BATCHxSEQ) it runs tc and torch alternately ROUNDS times
# (default 3: tc, torch, tc, torch, ...), each run STEPS timed steps (default 3)
# after WARMUP (default 1), and prints the median samples/s of each side, their
# ratio, GFLOP/s and its fraction of the machine's sgemm peak (bench_matmul's
# cblas_sgemm 1024^3, measured before and after the runs: the better) and the peak RSS.
#
# Environment: THREADS (default nproc) for both sides; MODEL distilbert-base or
# bert-base; PYTHON an interpreter with torch (default Debian's /usr/bin/python3);
# ONLY=torch or ONLY=tc runs one side. Run on an otherwise idle machine: a step of
# DistilBERT at 32x128 takes seconds to tens of seconds on 2 cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${2:-3}
threads=${THREADS:-$(nproc)}
steps=${STEPS:-3}
warmup=${WARMUP:-1}
model=${MODEL:-distilbert-base}
shapes=${SHAPES:-32x128 32x32}
only=${ONLY:-}
python=${PYTHON:-/usr/bin/python3}

die() {
    echo "distilbert_vs_torch: $*" >&2
    exit 1
}

posint() {
    case $2 in '' | *[!0-9]* | 0) die "$1 must be a positive integer, got '$2'" ;; esac
}
posint ROUNDS "$rounds"
posint THREADS "$threads"
posint STEPS "$steps"
case $warmup in '' | *[!0-9]*) die "WARMUP must be an integer >= 0, got '$warmup'" ;; esac
case $model in distilbert-base | bert-base) ;; *) die "MODEL must be distilbert-base or bert-base" ;; esac
case $only in '' | tc | torch) ;; *) die "ONLY must be tc or torch" ;; esac
read -r -a shape_list <<<"$shapes"
[ ${#shape_list[@]} -gt 0 ] || die "SHAPES is empty"
for s in "${shape_list[@]}"; do
    case $s in *[!0-9x]* | x* | *x | *x*x*) die "SHAPES wants BATCHxSEQ words, got '$s'" ;; esac
done
tc_bench=$build/bin/tc-bench
[ "$only" = torch ] || [ -x "$tc_bench" ] || die "no tc-bench at '$tc_bench' (build it, or pass BUILD_DIR)"
[ "$only" = tc ] || "$python" -c 'import torch' 2>/dev/null || die "'$python' lacks torch (set PYTHON)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/distilbert-vs-torch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads

# The machine's sgemm peak: bench_matmul's cblas_sgemm 1024^3 (1 s measurements),
# before and after the runs, the better of the two. Torch gets the OpenBLAS kernel
# set libtc picked (Debian's torch does its matmuls in OpenBLAS, which misdetects
# some CPUs as Prescott and then runs 6-8x slower).
peaks=()
sgemm_peak() { # label
    [ -x "$build/bin/bench_matmul" ] || return 0
    echo "== bench_matmul, $1 ($threads threads)" >&2
    "$build/bin/bench_matmul" 1.0 >"$tmp/matmul.txt" || die "bench_matmul failed (exit $?)"
    blas=$(head -n 1 "$tmp/matmul.txt")
    p=$(awk '$1 == "matmul" && $2 == "1024^3" && $3 == "cblas_sgemm" { print $5 }' "$tmp/matmul.txt")
    [ -n "$p" ] && peaks+=("$p")
    echo "   $blas; sgemm 1024^3 ${p:-?} GFLOP/s" >&2
}
blas=
sgemm_peak before
[ -n "$blas" ] || echo "== no $build/bin/bench_matmul: no sgemm peak" >&2
core=$(printf '%s\n' "$blas" | sed -n 's/^OpenBLAS \([A-Za-z0-9]*\),.*/\1/p')
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -n "$core" ]; then
    export OPENBLAS_CORETYPE=$core
fi

run_tc() { # batch seq out
    "$tc_bench" train-step --model "$model" --batch "$1" --seq "$2" --steps "$steps" \
        --warmup "$warmup" --threads "$threads" --json >"$3" 2>"$3.err" ||
        die "tc-bench failed (exit $?): $(tail -n 3 "$3.err")"
}

run_torch() { # batch seq out
    "$python" "$root/bench/distilbert_torch_step.py" --model "$model" --batch "$1" --seq "$2" \
        --steps "$steps" --warmup "$warmup" --threads "$threads" --json >"$3" 2>"$3.err" ||
        die "distilbert_torch_step.py failed (exit $?): $(tail -n 3 "$3.err")"
}

for s in "${shape_list[@]}"; do
    b=${s%x*} t=${s#*x}
    for r in $(seq 1 "$rounds"); do
        for side in tc torch; do
            [ -n "$only" ] && [ "$only" != "$side" ] && continue
            echo "== $model B=$b T=$t round $r/$rounds: $side" >&2
            "run_$side" "$b" "$t" "$tmp/$side-$s-$r.json"
            tail -n 1 "$tmp/$side-$s-$r.json" >&2
        done
    done
done

sgemm_peak after
peak=$(printf '%s\n' "${peaks[@]}" | sort -g | tail -n 1)

"$python" - "$tmp" "$model" "$threads" "$rounds" "$steps" "$warmup" "${peak:-}" "${shape_list[@]}" <<'EOF'
import glob
import json
import os
import statistics
import sys

tmp, model, threads, rounds, steps, warmup, peak = sys.argv[1:8]
shapes = sys.argv[8:]
peak = float(peak) if peak else None


def side(name, shape):
    runs = []
    for path in sorted(glob.glob(os.path.join(tmp, f"{name}-{shape}-*.json"))):
        with open(path) as f:
            runs.append(json.loads(f.read().strip().splitlines()[-1]))
    if not runs:
        return None
    # The median samples/s (the mean of the middle two for an even count), the
    # GFLOP/s that goes with it (the FLOPs per sample are fixed), the largest RSS.
    med = dict(runs[0])
    med["samples_per_s"] = statistics.median(r["samples_per_s"] for r in runs)
    med["gflops"] = med["samples_per_s"] * runs[0]["gflops"] / runs[0]["samples_per_s"]
    med["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return med


def cell(r, key, fmt):
    return format(r[key], fmt) if r else "-"


def frac(r):
    return f"{r['gflops'] / peak:.0%}" if r and peak else "-"


print(f"{model}, {threads} threads, median of {rounds} round(s) of {steps} step(s) after "
      f"{warmup} warm-up; sgemm peak " + (f"{peak:.1f} GFLOP/s" if peak else "unknown"))
head = ("B x T", "tc s/s", "torch s/s", "tc/torch", "tc GF/s", "torch GF/s", "tc %pk",
        "torch %pk", "tc RSS MB", "torch RSS MB")
print("".join(f"{h:>13}" for h in head))
for s in shapes:
    a, b = side("tc", s), side("torch", s)
    ratio = f"{a['samples_per_s'] / b['samples_per_s']:.2f}" if a and b else "-"
    row = (s, cell(a, "samples_per_s", ".3f"), cell(b, "samples_per_s", ".3f"), ratio,
           cell(a, "gflops", ".1f"), cell(b, "gflops", ".1f"), frac(a), frac(b),
           cell(a, "peak_rss_mb", ".0f"), cell(b, "peak_rss_mb", ".0f"))
    print("".join(f"{c:>13}" for c in row))
EOF
