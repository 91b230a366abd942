#!/usr/bin/python3
"""The PyTorch twin of examples/fashion-mnist-mlp.yaml, for bench/mlp_vs_torch.sh.

784 -> 1024 -> 128 -> 10 MLP with ReLU and dropout 0.5 (torch.nn.Linear's default
init), Adam(lr=1e-3) (== AdamW with weight decay 0), batch 64, shuffled every epoch,
10% of train held out for validation, unit normalisation (x/255), 2 threads. Like
tcd's trainer it keeps the weights of the epoch with the best validation accuracy and
reports test accuracy with them; an epoch's seconds cover its training pass and its
validation pass.

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy):
    /usr/bin/python3 bench/mlp_torch.py [--epochs 3] [--json]
"""
import argparse
import copy
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path, magic):
    """An IDX u8 file (gzipped or plain) as a numpy array, validated like tcd's idx plugin."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or struct.unpack(">I", data[:4])[0] != magic:
        raise SystemExit(f"{path}: bad magic, expected 0x{magic:08x}")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise SystemExit(f"{path}: {body.size} data bytes, header declares {int(np.prod(dims))}")
    return body.reshape(dims)


def load_split(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"), 0x00000803)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"), 0x00000801)
    if len(images) != len(labels):
        raise SystemExit(f"{prefix}: {len(labels)} labels for {len(images)} images")
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def make_model(n_in, fc1, fc2, dropout, n_out):
    layers = [nn.Linear(n_in, fc1), nn.ReLU(), nn.Dropout(dropout)]
    width = fc1
    if fc2 > 0:
        layers += [nn.Linear(fc1, fc2), nn.ReLU(), nn.Dropout(dropout)]
        width = fc2
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


@torch.no_grad()
def evaluate(model, x, y, batch_size=1024):
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(x), batch_size):
        logits = model(x[i : i + batch_size])
        loss += nn.functional.cross_entropy(logits, y[i : i + batch_size], reduction="sum").item()
        correct += (logits.argmax(1) == y[i : i + batch_size]).sum().item()
    return correct / len(x), loss / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--fc1", type=int, default=1024)
    ap.add_argument("--fc2", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--json", action="store_true", help="print one JSON line of results on stdout")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = sys.stderr if args.json else sys.stdout

    x, y = load_split(args.data_dir, "train")
    x_test, y_test = load_split(args.data_dir, "t10k")
    perm = torch.randperm(len(x))
    n_val = int(args.val_fraction * len(x) + 0.5) if args.val_fraction > 0 else 0
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    x_val, y_val = x[val_idx], y[val_idx]
    x_train, y_train = x[train_idx], y[train_idx]
    n_labels = int(y.max().item()) + 1

    model = make_model(x.shape[1], args.fc1, args.fc2, args.dropout, n_labels)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    epoch_seconds, best_acc, best_state = [], -1.0, None
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train))
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            idx = order[i : i + args.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        val_acc, val_loss = evaluate(model, x_val, y_val) if n_val else (float("nan"),) * 2
        seconds = time.perf_counter() - t0
        epoch_seconds.append(seconds)
        if not n_val or val_acc > best_acc:
            best_acc, best_state = val_acc, copy.deepcopy(model.state_dict())
        print(
            f"epoch {epoch}/{args.epochs}: {seconds:.2f} s, train loss {total / len(order):.4f}, "
            f"val loss {val_loss:.4f}, val accuracy {val_acc:.4f}",
            file=log,
        )
    model.load_state_dict(best_state)
    test_acc, test_loss = evaluate(model, x_test, y_test)
    print(f"test accuracy {test_acc:.4f}, test loss {test_loss:.4f}", file=log)
    if args.json:
        print(
            json.dumps(
                {
                    "epoch_seconds": [round(s, 4) for s in epoch_seconds],
                    "test_accuracy": test_acc,
                    "test_loss": test_loss,
                    "val_accuracy": best_acc,
                    "threads": args.threads,
                    "torch_version": torch.__version__,
                }
            )
        )


if __name__ == "__main__":
    main()
