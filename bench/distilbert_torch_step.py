#!/usr/bin/python3
"""distilbert_torch_step.py - time full training steps of DistilBERT-base (or
BERT-base) for sequence classification in plain PyTorch: the peer of
`tc-bench train-step` (bench/tc_bench.c), run by bench/distilbert_vs_torch.sh.

`transformers` is not needed: the model is written out here exactly as
TRANSFORMER-SPEC.md sections 4 and 6 describe DistilBertForSequenceClassification
and BertForSequenceClassification (eager attention with a key padding mask,
exact erf GELU, post-LayerNorm with eps 1e-12, DistilBERT's pre_classifier +
ReLU head, BERT's tanh pooler; dropout 0.1 / attention 0.1 / head 0.2 for
DistilBERT, 0.1 everywhere for BERT, all active: training mode), randomly
initialised as section 5 (normal(0, 0.02) weights, zero biases, LayerNorm 1/0,
the [PAD] embedding row zero).

One step is what `tc-bench train-step` and tc_train do per batch: forward,
cross-entropy, backward, clip_grad_norm_(1.0), one AdamW step (lr 2e-5,
weight decay 0.01 on every parameter but biases and LayerNorm weights, as the
HF Trainer groups them), zero_grad. Every one of the B sequences is exactly T
tokens ([CLS], T-2 word ids, [SEP]), so the attention mask is all ones and
nothing is padded, as on the tc side.

Prints one JSON line (--json) or a short report:
  {"samples_per_s", "gflops", "peak_rss_mb", "ms_per_step", "model", "batch",
   "seq", "threads"}
GFLOP/s uses the same count as tc-bench (see flops_per_step).
"""
import argparse
import json
import math
import os
import resource
import sys
import time


def blas_environment(argv):
    """Set OpenBLAS's environment before torch loads it. Debian's torch does its
    matmuls in OpenBLAS (BLAS_INFO=generic), which misdetects some CPUs as
    Prescott and runs its generic SSE3 kernels, about 6x slower; pick the kernel
    set as libtc does (sdk/src/blas.c) unless OPENBLAS_CORETYPE is set. Its
    thread pool follows --threads (torch.set_num_threads sets only OpenMP's)."""
    if "OPENBLAS_CORETYPE" not in os.environ:
        try:
            with open("/proc/cpuinfo") as f:
                flags = next((line.split(":", 1)[1].split() for line in f
                              if line.startswith("flags")), [])
        except OSError:
            flags = []
        if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= set(flags):
            os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
        elif {"avx2", "fma"} <= set(flags):
            os.environ["OPENBLAS_CORETYPE"] = "Haswell"
    for i, a in enumerate(argv):
        n = a.split("=", 1)[1] if a.startswith("--threads=") else \
            argv[i + 1] if a == "--threads" and i + 1 < len(argv) else None
        if n and n.isdigit() and int(n) > 0:
            os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = n


blas_environment(sys.argv[1:])

import torch  # noqa: E402 (after the OpenBLAS environment)
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

PRESETS = {
    # vocab, positions, dim, layers, heads, ffn, dropout, attention dropout, head dropout
    "distilbert-base": dict(kind="distilbert", V=30522, P=512, D=768, L=6, NH=12, FF=3072,
                            p=0.1, p_attn=0.1, p_head=0.2),
    "bert-base": dict(kind="bert", V=30522, P=512, D=768, L=12, NH=12, FF=3072,
                      p=0.1, p_attn=0.1, p_head=0.1),
}
CLS_ID, SEP_ID, FIRST_WORD_ID = 101, 102, 1000
LN_EPS = 1e-12


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["V"], c["D"], padding_idx=0)
        self.position_embeddings = nn.Embedding(c["P"], c["D"])
        # BERT adds a token-type row (all ids 0); DistilBERT has none.
        self.token_type_embeddings = nn.Embedding(2, c["D"]) if c["kind"] == "bert" else None
        self.LayerNorm = nn.LayerNorm(c["D"], eps=LN_EPS)
        self.dropout = nn.Dropout(c["p"])

    def forward(self, ids):
        T = ids.shape[1]
        pos = torch.arange(T, device=ids.device)
        e = self.word_embeddings(ids) + self.position_embeddings(pos)[None]
        if self.token_type_embeddings is not None:
            e = e + self.token_type_embeddings.weight[0]
        return self.dropout(self.LayerNorm(e))


class SelfAttention(nn.Module):
    """Q, K, V projections, eager softmax attention with a key mask, output projection."""

    def __init__(self, c):
        super().__init__()
        D = c["D"]
        self.NH, self.hd = c["NH"], D // c["NH"]
        self.q_lin, self.k_lin = nn.Linear(D, D), nn.Linear(D, D)
        self.v_lin, self.out_lin = nn.Linear(D, D), nn.Linear(D, D)
        self.dropout = nn.Dropout(c["p_attn"])

    def forward(self, x, mask):
        B, T, D = x.shape

        def heads(t):
            return t.view(B, T, self.NH, self.hd).transpose(1, 2)

        q = heads(self.q_lin(x)) / math.sqrt(self.hd)
        k, v = heads(self.k_lin(x)), heads(self.v_lin(x))
        s = q @ k.transpose(-1, -2)
        s = s.masked_fill(mask[:, None, None, :] == 0, torch.finfo(s.dtype).min)
        p = self.dropout(F.softmax(s, dim=-1))
        ctx = (p @ v).transpose(1, 2).reshape(B, T, D)
        return self.out_lin(ctx)


class Block(nn.Module):
    """One post-LayerNorm encoder layer. BERT drops out the attention output; DistilBERT does not."""

    def __init__(self, c):
        super().__init__()
        self.attention = SelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["D"], eps=LN_EPS)
        self.attn_dropout = nn.Dropout(c["p"]) if c["kind"] == "bert" else nn.Identity()
        self.lin1, self.lin2 = nn.Linear(c["D"], c["FF"]), nn.Linear(c["FF"], c["D"])
        self.dropout = nn.Dropout(c["p"])
        self.output_layer_norm = nn.LayerNorm(c["D"], eps=LN_EPS)

    def forward(self, x, mask):
        x1 = self.sa_layer_norm(self.attn_dropout(self.attention(x, mask)) + x)
        f = self.dropout(self.lin2(F.gelu(self.lin1(x1))))  # exact (erf) GELU
        return self.output_layer_norm(f + x1)


class Classifier(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.kind = c["kind"]
        self.embeddings = Embeddings(c)
        self.layer = nn.ModuleList(Block(c) for _ in range(c["L"]))
        # DistilBERT: pre_classifier -> ReLU; BERT: pooler dense -> tanh.
        self.pre_classifier = nn.Linear(c["D"], c["D"])
        self.dropout = nn.Dropout(c["p_head"])
        self.classifier = nn.Linear(c["D"], num_labels)
        self.apply(init_weights)

    def forward(self, ids, mask):
        x = self.embeddings(ids)
        for blk in self.layer:
            x = blk(x, mask)
        h = self.pre_classifier(x[:, 0])
        h = F.relu(h) if self.kind == "distilbert" else torch.tanh(h)
        return self.classifier(self.dropout(h))


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def flops_per_step(model, B, T, c):
    """6 * (encoder-layer matmul weights) * B*T + 6 * (head matmul weights) * B
    + 12 * L * B * T^2 * D for the attention scores and P*V. Embeddings,
    LayerNorms, biases, softmax, GELU and the optimizer are not counted.
    The same count as tc-bench's (bench/tc_bench.c)."""
    per_token = sum(m.weight.numel() for blk in model.layer for m in blk.modules()
                    if isinstance(m, nn.Linear))
    per_sample = model.pre_classifier.weight.numel() + model.classifier.weight.numel()
    return (6.0 * per_token * B * T + 6.0 * per_sample * B
            + 12.0 * c["L"] * B * T * T * c["D"])


def make_batch(B, T, V, gen):
    ids = torch.randint(FIRST_WORD_ID, V, (B, T), generator=gen)
    ids[:, 0], ids[:, -1] = CLS_ID, SEP_ID
    labels = torch.arange(B) % 2
    return ids, torch.ones(B, T, dtype=torch.long), labels


def optimizer(model, lr, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name
         else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="distilbert-base", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: keep)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    c = PRESETS[a.model]
    if a.batch < 1 or a.steps < 1 or a.warmup < 0 or not 3 <= a.seq <= c["P"]:
        sys.exit(f"distilbert_torch_step: need batch >= 1, steps >= 1, warmup >= 0 and "
                 f"3 <= seq <= {c['P']}")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    model = Classifier(c, 2)
    model.train()
    opt = optimizer(model, 2e-5, 0.01)
    ids, mask, labels = make_batch(a.batch, a.seq, c["V"], gen)

    def step():
        logits = model(ids, mask)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()  # set_to_none=False in 1.13: the grads stay allocated, as tc's
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    secs = (time.perf_counter() - t0) / a.steps
    if not math.isfinite(loss):
        sys.exit(f"distilbert_torch_step: loss became {loss}")

    res = {
        "samples_per_s": a.batch / secs,
        "gflops": flops_per_step(model, a.batch, a.seq, c) / secs * 1e-9,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "ms_per_step": secs * 1e3,
        "model": a.model,
        "batch": a.batch,
        "seq": a.seq,
        "threads": torch.get_num_threads(),
    }
    if a.json:
        print(json.dumps(res))
    else:
        print(f"torch {torch.__version__} {a.model} B={a.batch} T={a.seq} "
              f"threads={res['threads']}: {res['samples_per_s']:.2f} samples/s, "
              f"{res['ms_per_step']:.0f} ms/step, {res['gflops']:.1f} GFLOP/s, "
              f"peak RSS {res['peak_rss_mb']:.0f} MB (loss {loss:.4f})")


if __name__ == "__main__":
    main()
