#!/usr/bin/python3
"""Generate the reference fixtures for tests/sdk/test_optim.c, test_schedule.c
and test_metrics.c from PyTorch (and scikit-learn when it is installed).

Run with Debian's interpreter, which has torch:

    /usr/bin/python3 tests/sdk/gen_optim_fixture.py

It writes three small text files under tests/fixtures/:

  optim_fixture.txt     torch.optim.AdamW / torch.optim.SGD trajectories
  schedule_fixture.txt  HF schedules through torch's LambdaLR, fastai one-cycle
  metrics_fixture.txt   labels/predictions with sklearn accuracy and macro F1

Floats are printed with %.9g (f32 values round-trip exactly) or repr (doubles).
"""
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")

STEPS = 5


def f32s(t):
    return " ".join("%.9g" % v for v in t.detach().reshape(-1).tolist())


# --- HF schedule lambdas, verbatim from transformers/optimization.py ---------

def _get_constant_schedule_with_warmup_lr_lambda(current_step: int, *, num_warmup_steps: int):
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1.0, num_warmup_steps))
    return 1.0


def _get_linear_schedule_with_warmup_lr_lambda(current_step: int, *, num_warmup_steps: int,
                                               num_training_steps: int):
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    return max(0.0, float(num_training_steps - current_step)
               / float(max(1, num_training_steps - num_warmup_steps)))


def _get_cosine_schedule_with_warmup_lr_lambda(current_step: int, *, num_warmup_steps: int,
                                               num_training_steps: int, num_cycles: float):
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    progress = float(current_step - num_warmup_steps) / float(
        max(1, num_training_steps - num_warmup_steps))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def hf_lambda(kind, warmup, total):
    if kind == "constant":
        return lambda k: _get_constant_schedule_with_warmup_lr_lambda(k, num_warmup_steps=warmup)
    if kind == "linear":
        return lambda k: _get_linear_schedule_with_warmup_lr_lambda(
            k, num_warmup_steps=warmup, num_training_steps=total)
    if kind == "cosine":
        return lambda k: _get_cosine_schedule_with_warmup_lr_lambda(
            k, num_warmup_steps=warmup, num_training_steps=total, num_cycles=0.5)
    raise ValueError(kind)


def lambdalr_lrs(kind, lr, warmup, total, count):
    """The lr LambdaLR hands each of `count` successive optimizer steps."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, hf_lambda(kind, warmup, total))
    out = []
    for _ in range(count):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


# --- fastai one-cycle ---------------------------------------------------------

def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combine_scheds_fastai(pcts, scheds):
    """fastai.callback.schedule.combine_scheds, verbatim (float32 tensors)."""
    assert sum(pcts) == 1.
    pcts = torch.tensor([0] + list(pcts))
    assert torch.all(pcts >= 0)
    pcts = torch.cumsum(pcts, 0)
    pct_lim = len(pcts) - 2

    def _inner(pos):
        idx = min((pos >= pcts).nonzero().max(), pct_lim)
        actual_pos = (pos - pcts[idx]) / (pcts[idx + 1] - pcts[idx])
        return scheds[idx](actual_pos.item())
    return _inner


def combined_cos_fastai(pct, start, middle, end):
    return combine_scheds_fastai([pct, 1 - pct], [lambda p: sched_cos(start, middle, p),
                                                  lambda p: sched_cos(middle, end, p)])


def combined_cos_exact(pct, start, middle, end, pos):
    """The same schedule in double precision (what the C code computes)."""
    if pos < pct:
        return sched_cos(start, middle, pos / pct)
    return sched_cos(middle, end, (pos - pct) / (1 - pct))


def one_cycle(lr_max, n_epoch, n_iter, div=25., div_final=1e5, pct_start=0.25,
              moms=(0.95, 0.85, 0.95)):
    """(lr, mom) per update, with fastai's pct_train bookkeeping
    (TrainEvalCallback: reset to epoch/n_epoch per epoch, += 1/(n_iter*n_epoch)
    per batch). Returns the double-precision values after checking them against
    fastai's float32 combine_scheds."""
    lr_max = np.array([lr_max])
    f_lr = combined_cos_fastai(pct_start, lr_max / div, lr_max, lr_max / div_final)
    f_mom = combined_cos_fastai(pct_start, *moms)
    total = n_epoch * n_iter
    out = []
    for epoch in range(n_epoch):
        pct_train = epoch / n_epoch
        for _ in range(n_iter):
            k = len(out)
            assert abs(pct_train - k / total) < 1e-12
            lr = combined_cos_exact(pct_start, lr_max[0] / div, lr_max[0],
                                    lr_max[0] / div_final, k / total)
            mom = combined_cos_exact(pct_start, moms[0], moms[1], moms[2], k / total)
            lr_fa, mom_fa = float(f_lr(pct_train)[0]), float(f_mom(pct_train))
            assert abs(lr - lr_fa) <= 1e-5 * lr, (k, lr, lr_fa)
            assert abs(mom - mom_fa) <= 1e-6, (k, mom, mom_fa)
            out.append((lr, mom))
            pct_train += 1. / (n_iter * n_epoch)
    return out


# --- optimizer trajectories ---------------------------------------------------

def as_c_float(x):
    """The double the C side works with for x: tc_optim_step takes f32 lr and
    beta1 and widens them to the shortest decimal that round-trips (numpy's
    repr of a float32 is exactly that decimal)."""
    return x if x < 0 else float(str(np.float32(x)))


def optim_case(f, name, kind, hp, lrs, betas1, seed):
    lrs = [as_c_float(x) for x in lrs]
    betas1 = [as_c_float(x) for x in betas1]
    gen = torch.Generator().manual_seed(seed)
    shapes = [("weight", (3, 5), 0), ("bias", (5,), 1)]
    params = [torch.randn(*s, generator=gen, dtype=torch.float32).requires_grad_(True)
              for _, s, _ in shapes]
    decay = [p for (_, _, nd), p in zip(shapes, params) if not nd]
    no_decay = [p for (_, _, nd), p in zip(shapes, params) if nd]
    groups = [{"params": decay, "weight_decay": hp["weight_decay"]},
              {"params": no_decay, "weight_decay": 0.0}]
    if kind == "adamw":
        opt = torch.optim.AdamW(groups, lr=lrs[0], betas=(hp["beta1"], hp["beta2"]),
                                eps=hp["eps"], foreach=False)
    else:
        opt = torch.optim.SGD(groups, lr=lrs[0], momentum=hp["momentum"],
                              nesterov=bool(hp["nesterov"]), foreach=False)

    f.write("case %s\nkind %s\n" % (name, kind))
    for key in ("weight_decay", "beta1", "beta2", "eps", "momentum", "nesterov"):
        f.write("%s %r\n" % (key, hp[key]))
    for (pname, shape, nd) in shapes:
        f.write("param %s %d %d %s\n" % (pname, nd, len(shape), " ".join(map(str, shape))))
    for (pname, _, _), p in zip(shapes, params):
        f.write("init %s %s\n" % (pname, f32s(p)))
    for step in range(len(lrs)):
        for g in opt.param_groups:
            g["lr"] = lrs[step]
            if betas1[step] >= 0:
                if kind == "adamw":
                    g["betas"] = (betas1[step], hp["beta2"])
                else:
                    g["momentum"] = betas1[step]
        f.write("step %d %r %r\n" % (step + 1, lrs[step], betas1[step]))
        for (pname, _, _), p in zip(shapes, params):
            p.grad = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            f.write("grad %s %s\n" % (pname, f32s(p.grad)))
        opt.step()
        for (pname, _, _), p in zip(shapes, params):
            f.write("expect %s %s\n" % (pname, f32s(p)))
    state_keys = ("exp_avg", "exp_avg_sq") if kind == "adamw" else ("momentum_buffer",)
    for (pname, _, _), p in zip(shapes, params):
        for key in state_keys:
            f.write("state %s %s %s\n" % (pname, key, f32s(opt.state[p][key])))
    f.write("end\n")


def write_optim(path):
    adam_hp = {"weight_decay": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
               "momentum": 0.0, "nesterov": 0}
    sgd_hp = {"weight_decay": 0.01, "beta1": 0.0, "beta2": 0.0, "eps": 0.0,
              "momentum": 0.9, "nesterov": 0}
    keep = [-1.0] * STEPS
    with open(path, "w") as f:
        f.write("# generated by tests/sdk/gen_optim_fixture.py (torch %s); do not edit\n"
                % torch.__version__)
        # AdamW, lr from HF linear decay without warmup over 5 steps
        lrs = lambdalr_lrs("linear", 1e-3, 0, STEPS, STEPS)
        optim_case(f, "adamw", "adamw", adam_hp, lrs, keep, seed=1)
        # AdamW under fastai one-cycle: lr and beta1 change every step
        oc = one_cycle(1e-2, 1, STEPS)
        optim_case(f, "adamw_one_cycle", "adamw", adam_hp, [x[0] for x in oc],
                   [x[1] for x in oc], seed=2)
        # SGD with momentum, HF linear with one warmup step (the first lr is 0)
        lrs = lambdalr_lrs("linear", 0.1, 1, STEPS, STEPS)
        optim_case(f, "sgd_momentum", "sgd", sgd_hp, lrs, keep, seed=3)
        # SGD with Nesterov momentum, constant lr
        optim_case(f, "sgd_nesterov", "sgd", dict(sgd_hp, nesterov=1), [0.05] * STEPS, keep,
                   seed=4)


def write_schedule(path):
    with open(path, "w") as f:
        f.write("# generated by tests/sdk/gen_optim_fixture.py (torch %s); do not edit\n"
                "# schedule KIND LR TOTAL WARMUP COUNT, then COUNT lrs for k = 0 .. COUNT-1\n"
                % torch.__version__)
        for kind, lr, total, warmup in (("linear", 5e-5, 10, 3), ("linear", 2e-5, 7, 0),
                                        ("linear", 1e-3, 4, 4), ("cosine", 5e-5, 12, 2),
                                        ("cosine", 3e-4, 9, 0), ("constant", 1e-3, 6, 2),
                                        ("constant", 1e-3, 4, 0)):
            count = total + 2
            lrs = lambdalr_lrs(kind, lr, warmup, total, count)
            f.write("schedule %s %r %d %d %d\n" % (kind, lr, total, warmup, count))
            f.write("lrs %s\n" % " ".join(repr(x) for x in lrs))
        # one-cycle over 2 epochs of 10 batches; lr and beta1 for k = 0 .. 19
        oc = one_cycle(1e-3, 2, 10)
        f.write("schedule one_cycle %r %d %d %d\n" % (1e-3, 20, 0, 20))
        f.write("lrs %s\n" % " ".join(repr(x[0]) for x in oc))
        f.write("moms %s\n" % " ".join(repr(x[1]) for x in oc))


def macro_f1_union(labels, preds):
    """sklearn's rule: mean F1 over the classes in labels or preds."""
    classes = sorted(set(labels) | set(preds))
    f1s = []
    for c in classes:
        tp = sum(1 for y, p in zip(labels, preds) if y == c and p == c)
        fp = sum(1 for y, p in zip(labels, preds) if y != c and p == c)
        fn = sum(1 for y, p in zip(labels, preds) if y == c and p != c)
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def write_metrics(path):
    rng = np.random.default_rng(5)
    num_labels, n = 6, 64
    # class 3: occurs but is never predicted; class 4: never occurs nor is
    # predicted; class 5: predicted but never occurs; some labels ignored.
    labels = rng.choice([0, 1, 2, 3], size=n).tolist()
    preds = [y if rng.random() < 0.6 else int(rng.choice([0, 1, 2, 5])) for y in labels]
    preds = [p if p != 3 else 0 for p in preds]
    for i in range(0, n, 9):
        labels[i] = -100
    kept = [(y, p) for y, p in zip(labels, preds) if y != -100]
    ky, kp = [y for y, _ in kept], [p for _, p in kept]
    acc = sum(1 for y, p in kept if y == p) / len(kept)
    f1 = macro_f1_union(ky, kp)
    source = "hand-computed union rule"
    try:
        from sklearn.metrics import accuracy_score, f1_score
        assert abs(accuracy_score(ky, kp) - acc) < 1e-15
        sk = f1_score(ky, kp, average="macro", zero_division=0)
        assert abs(sk - f1) < 1e-12, (sk, f1)
        f1, source = float(sk), "sklearn %s" % __import__("sklearn").__version__
    except ImportError:
        pass
    assert 3 in ky and 3 not in kp and 4 not in ky + kp and 5 in kp and 5 not in ky
    with open(path, "w") as f:
        f.write("# generated by tests/sdk/gen_optim_fixture.py (%s); do not edit\n" % source)
        f.write("num_labels %d\nn %d\n" % (num_labels, n))
        f.write("labels %s\n" % " ".join(map(str, labels)))
        f.write("preds %s\n" % " ".join(map(str, preds)))
        f.write("accuracy %r\nmacro_f1 %r\n" % (acc, f1))


def main():
    torch.manual_seed(0)
    os.makedirs(FIXTURES, exist_ok=True)
    write_optim(os.path.join(FIXTURES, "optim_fixture.txt"))
    write_schedule(os.path.join(FIXTURES, "schedule_fixture.txt"))
    write_metrics(os.path.join(FIXTURES, "metrics_fixture.txt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
