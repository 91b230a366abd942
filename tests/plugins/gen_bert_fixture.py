#!/usr/bin/python3
"""Generate tests/fixtures/bert/ (tiny DistilBERT / BERT checkpoints and their
PyTorch reference results) for the transformer plugin's parity tests.

Run with Debian's interpreter, which has torch (transformers and safetensors
are not needed; both models are written out below in plain torch following
/work/shared/design/TRANSFORMER-SPEC.md sections 2-7, and the safetensors files
are written by hand):
    /usr/bin/python3 tests/plugins/gen_bert_fixture.py [OUTDIR]
OUTDIR defaults to tests/fixtures/bert next to this script. The output is
deterministic: running it twice gives byte-identical files.

Models (Hugging Face tensor names, 3 labels neg/neu/pos, vocab 40, 16 wide,
2 layers, 2 heads of 8, FFN 32, 24 positions):
  distilbert  DistilBertForSequenceClassification as transformers v4.44 eager:
              q / sqrt(hd) before q.k^T, masked_fill(finfo(float32).min) on
              padded keys, exact erf GELU, LayerNorm eps 1e-12, [CLS] state ->
              pre_classifier -> ReLU -> classifier.
  bert        BertForSequenceClassification, v4.44 eager: scores / sqrt(hd)
              after q.k^T, additive mask (1 - m) * finfo(float32).min,
              word + token_type + position embeddings, post-LN blocks, pooler
              dense + tanh on [CLS], classifier.
Every dropout probability is 0 (the configs say so too), so "training mode"
is deterministic. Weights: matrices and embeddings ~ N(0, 0.2), LayerNorm
weights 1 + 0.1 N(0,1), biases (LayerNorm biases too) 0.1 N(0,1), drawn in
checkpoint order from one seeded generator. The [PAD] row (id 0) of
word_embeddings is random too, but nn.Embedding(padding_idx=0) never gives
it a gradient (as in transformers).

Batch: B=3, T=9, lengths 9, 6, 4: [CLS]=2, words, [SEP]=3, then [PAD]=0;
attention_mask 1 on real tokens; token_type_ids (bert only) row 0 is 0 then
1 from t=5, row 1 is 0 then 1 from t=3 up to its end, row 2 all 0 (padding
positions 0); labels 2, 0, 1. Loss: mean cross-entropy over the batch. For
bert, every row is a pair as the tokenizer lays it out, [CLS] A [SEP] B [SEP]
with type 1 from B on, so that a test can rebuild texts and pairs from the
ids: [SEP] at t=4 in row 0; at t=2 in row 1, whose [UNK] moves to t=3; and
row 2 is [CLS] A [SEP] [SEP], an empty second text (type 1 at t=3).

Training: torch.optim.AdamW(lr 1e-3, betas (0.9, 0.999), eps 1e-8,
foreach=False) with two parameter groups as the HF Trainer builds them:
weight_decay 0.01 for every parameter except biases and LayerNorm weights
(weight_decay 0 for those; embeddings are decayed). Five steps on the same
batch, each: forward, loss, zero_grad, backward, step.

Files, per model M in {distilbert, bert}, under OUTDIR/M/:
  config.json             as transformers writes it (indent 2, sorted keys)
  tokenizer_config.json   do_lower_case true, model_max_length 24
  vocab.txt               [PAD] [UNK] [CLS] [SEP] [MASK] + 35 lowercase words
  model.safetensors       F32 initial weights: the classification model's
                          tensors plus pre-training extras a loader must drop
                          (distilbert: vocab_transform.*, vocab_layer_norm.*,
                          vocab_projector.bias; bert: cls.predictions.bias,
                          cls.predictions.transform.*, cls.seq_relationship.*)
  expected.txt            reference results, format below
Loader variants (same initial weights, only the file differs):
  bert-gamma/model.safetensors           LayerNorm .weight/.bias stored as
                                         .gamma/.beta (old TF conversions)
  distilbert-noprefix/model.safetensors  DistilBertModel state: no
                                         "distilbert." prefix, no head, no extras
  distilbert-f16/model.safetensors       every tensor F16 (round to nearest even)
  distilbert-bf16/model.safetensors      every tensor BF16 (round to nearest even)
  distilbert-f16/expected_logits.txt,
  distilbert-bf16/expected_logits.txt    logits and loss of the F32 forward of
                                         the rounded weights
safetensors files follow the reference writer: "__metadata__": {"format":"pt"}
first, tensors sorted by name (all one dtype) and packed from offset 0,
compact JSON padded with spaces to a multiple of 8 bytes.

expected.txt / expected_logits.txt format (same as the other fixtures): lines
starting with '#' are comments; every other line is one array
    NAME COUNT V1 ... VCOUNT
(NAME at most 63 characters) with COUNT whitespace-separated decimal numbers
that strtod / fscanf("%lf") read. Integers print exactly. Floats drop the
leading zero and exponent padding (".25", "-.0123", "1.5e-5"). To keep the
whole tree under 400 KB the long arrays are rounded, each far below its
test tolerance; the rest is exact:
  grad.*    6 significant digits (error <= 5e-6 of the value, tests allow
            1e-4 of the tensor's largest |gradient|)
  after5.*  7 significant digits (error <= 5e-7 relative, tests allow 1e-5)
  all other floats: the shortest text that reads back as the identical
            float32 value (strtof, or strtod then a cast to float).
Tensors are flattened row-major; shapes are the ones in model.safetensors /
the batch. Arrays, in this order:
  dims 3                     B T num_labels
  input_ids B*T
  attention_mask B*T
  token_type_ids B*T         bert only
  labels B
  logits B*C                 initial weights, before any step
  loss 1                     mean cross-entropy, initial weights
  grad.<param> n             d loss / d param for every trainable parameter
                             (classification model names, model order)
  adamw_loss 5               the loss of step k's forward (k = 1..5, before
                             step k's update; adamw_loss[0] == loss)
  after5_loss 1              the loss with the parameters after step 5
  after5.<param> n           every parameter after the 5th AdamW step
expected_logits.txt holds just "logits" and "loss".

Key biases (distilbert ...attention.k_lin.bias, bert ...attention.self.key.bias)
have a gradient of exactly 0 in exact arithmetic: adding q.b_k to every score
of a row does not change the softmax. The stored grad.* values for them are
float32 rounding noise (~1e-9), and AdamW, being scale-free, turns noise into
steps of up to lr, so their after5.* values are noise too (they differ from a
float64 run by up to 6e-4). Tests must compare those two tensors with
absolute bounds (grad: tiny against the model's largest gradient; after5:
within 5 * lr of the initial value), not relative ones. Everything else
matches a float64 run to 1e-6 of its tensor's largest gradient and 2e-7
absolute after five steps; parameters near 0 need an absolute floor there.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
SEED = 20240917
V, D, NL, NH, FF, P, C = 40, 16, 2, 2, 32, 24, 3
B, T = 3, 9
LENGTHS = [9, 6, 4]
LABELS = [2, 0, 1]
PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
ID2LABEL = {"0": "neg", "1": "neu", "2": "pos"}
LABEL2ID = {"neg": 0, "neu": 1, "pos": 2}
TRANSFORMERS_VERSION = "4.44.0"
WORDS = ["the", "a", "movie", "film", "was", "is", "good", "bad", "great", "not",
         "very", "and", "but", "i", "it", "this", "plot", "acting", "boring", "fun",
         "loved", "hated", "story", "end", "best", "worst", "ever", "really", "so",
         "too", "long", "short", "funny", "sad", "ok"]
assert len(WORDS) == V - 5 and len(set(WORDS)) == len(WORDS)
GRAD_DIGITS, AFTER5_DIGITS = 6, 7  # see the format notes above


# --------------------------------------------------------------- the models
class DistilEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(V, D, padding_idx=PAD)
        self.position_embeddings = nn.Embedding(P, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))


class DistilAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_lin, self.k_lin = nn.Linear(D, D), nn.Linear(D, D)
        self.v_lin, self.out_lin = nn.Linear(D, D), nn.Linear(D, D)

    def forward(self, x, mask):
        bs, t, _ = x.shape
        hd = D // NH

        def shape(y):
            return y.view(bs, -1, NH, hd).transpose(1, 2)

        q, k, v = shape(self.q_lin(x)), shape(self.k_lin(x)), shape(self.v_lin(x))
        q = q / math.sqrt(hd)
        scores = torch.matmul(q, k.transpose(2, 3))
        m = (mask == 0).view(bs, 1, 1, t).expand_as(scores)
        scores = scores.masked_fill(m, torch.finfo(scores.dtype).min)
        w = F.softmax(scores, dim=-1)
        ctx = torch.matmul(w, v).transpose(1, 2).contiguous().view(bs, -1, NH * hd)
        return self.out_lin(ctx)


class DistilFFN(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(D, FF), nn.Linear(FF, D)

    def forward(self, x):
        return self.lin2(F.gelu(self.lin1(x)))


class DistilBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = DistilAttention()
        self.sa_layer_norm = nn.LayerNorm(D, eps=1e-12)
        self.ffn = DistilFFN()
        self.output_layer_norm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, x, mask):
        sa = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(sa) + sa)


class DistilTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([DistilBlock() for _ in range(NL)])


class DistilBertModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = DistilEmbeddings()
        self.transformer = DistilTransformer()

    def forward(self, ids, mask):
        x = self.embeddings(ids)
        for blk in self.transformer.layer:
            x = blk(x, mask)
        return x


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self):
        super().__init__()
        self.distilbert = DistilBertModel()
        self.pre_classifier = nn.Linear(D, D)
        self.classifier = nn.Linear(D, C)

    def forward(self, ids, mask, token_type_ids=None):
        h = self.distilbert(ids, mask)[:, 0]
        return self.classifier(F.relu(self.pre_classifier(h)))


class BertEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(V, D, padding_idx=PAD)
        self.position_embeddings = nn.Embedding(P, D)
        self.token_type_embeddings = nn.Embedding(2, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, ids, tt):
        e = self.word_embeddings(ids) + self.token_type_embeddings(tt)
        e = e + self.position_embeddings(torch.arange(ids.shape[1]))
        return self.LayerNorm(e)


class BertSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)

    def forward(self, x, ext_mask):
        bs = x.shape[0]
        hd = D // NH

        def shape(y):
            return y.view(bs, -1, NH, hd).permute(0, 2, 1, 3)

        q, k, v = shape(self.query(x)), shape(self.key(x)), shape(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores + ext_mask
        probs = F.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(bs, -1, D)


class BertDenseLN(nn.Module):  # BertSelfOutput / BertOutput
    def __init__(self, n_in):
        super().__init__()
        self.dense = nn.Linear(n_in, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)

    def forward(self, h, residual):
        return self.LayerNorm(self.dense(h) + residual)


class BertAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.self = BertSelfAttention()
        self.output = BertDenseLN(D)

    def forward(self, x, ext_mask):
        return self.output(self.self(x, ext_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, FF)

    def forward(self, x):
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = BertAttention()
        self.intermediate = BertIntermediate()
        self.output = BertDenseLN(FF)

    def forward(self, x, ext_mask):
        a = self.attention(x, ext_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer() for _ in range(NL)])


class BertPooler(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(D, D)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = BertEmbeddings()
        self.encoder = BertEncoder()
        self.pooler = BertPooler()

    def forward(self, ids, mask, tt):
        x = self.embeddings(ids, tt)
        ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for lyr in self.encoder.layer:
            x = lyr(x, ext)
        return self.pooler(x)


class BertForSequenceClassification(nn.Module):
    def __init__(self):
        super().__init__()
        self.bert = BertModel()
        self.classifier = nn.Linear(D, C)

    def forward(self, ids, mask, token_type_ids):
        return self.classifier(self.bert(ids, mask, token_type_ids))


def extras_shapes(kind):
    """Pre-training head tensors present in the checkpoint but not in the model."""
    if kind == "distilbert":
        return [("vocab_transform.weight", [D, D]), ("vocab_transform.bias", [D]),
                ("vocab_layer_norm.weight", [D]), ("vocab_layer_norm.bias", [D]),
                ("vocab_projector.bias", [V])]
    return [("cls.predictions.bias", [V]),
            ("cls.predictions.transform.dense.weight", [D, D]),
            ("cls.predictions.transform.dense.bias", [D]),
            ("cls.predictions.transform.LayerNorm.weight", [D]),
            ("cls.predictions.transform.LayerNorm.bias", [D]),
            ("cls.seq_relationship.weight", [2, D]),
            ("cls.seq_relationship.bias", [2])]


def is_layernorm_weight(name):
    return name.endswith(".weight") and ("LayerNorm" in name or "layer_norm" in name)


def is_no_decay(name):
    return name.endswith(".bias") or is_layernorm_weight(name)


def init_weights(model, kind, gen):
    """Initial checkpoint: model parameters then extras, drawn in that order."""
    tensors = {}
    with torch.no_grad():
        shapes = [(n, list(p.shape)) for n, p in model.named_parameters()] + extras_shapes(kind)
        for name, shape in shapes:
            r = torch.randn(shape, generator=gen, dtype=torch.float32)
            if name.endswith(".bias"):
                t = 0.1 * r
            elif is_layernorm_weight(name):
                t = 1.0 + 0.1 * r
            else:
                t = 0.2 * r
            tensors[name] = t
        for name, p in model.named_parameters():
            p.copy_(tensors[name])
    return tensors


# ------------------------------------------------------------------- batch
def make_batch(gen, kind):
    ids = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        words = torch.randint(5, V, (n - 2,), generator=gen)
        ids[b, 0], ids[b, n - 1] = CLS, SEP
        ids[b, 1:n - 1] = words
    ids[0, 3] = ids[0, 6]   # a repeated token: embedding gradients scatter-add
    ids[1, 2] = UNK         # an [UNK] in the middle
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = 1
    tt = torch.zeros(B, T, dtype=torch.long)
    tt[0, 5:LENGTHS[0]] = 1
    tt[1, 3:LENGTHS[1]] = 1
    if kind == "bert":  # pairs: the [SEP] that ends the first text comes before type 1
        ids[0, 4] = SEP
        ids[1, 2], ids[1, 3] = SEP, UNK
        ids[2, 2], tt[2, 3] = SEP, 1  # an empty second text: [CLS] A [SEP] [SEP]
    labels = torch.tensor(LABELS, dtype=torch.long)
    return ids, mask, tt, labels


# ------------------------------------------------------------- safetensors
DT_SIZE = {"F32": 4, "F16": 2, "BF16": 2}
DT_TORCH = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
DT_INT = {"F32": torch.int32, "F16": torch.int16, "BF16": torch.int16}


def tensor_bytes(t, dtype):
    x = t.detach().to(DT_TORCH[dtype]).contiguous().view(DT_INT[dtype])
    return x.numpy().astype("<i%d" % DT_SIZE[dtype]).tobytes()


def safetensors_bytes(tensors, dtype):
    """Like safetensors.torch.save_file(tensors, metadata={"format": "pt"})."""
    names = sorted(tensors)
    header = {"__metadata__": {"format": "pt"}}
    blobs, off = [], 0
    for n in names:
        blob = tensor_bytes(tensors[n], dtype)
        header[n] = {"dtype": dtype, "shape": list(tensors[n].shape),
                     "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def read_safetensors(path):
    """Tiny independent reader for the self-check: name -> float32 tensor."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0 and 8 + n <= len(data) and data[8:9] == b"{"
    hdr = json.loads(data[8:8 + n].decode("utf-8"))
    assert hdr.pop("__metadata__") == {"format": "pt"}
    buf = data[8 + n:]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in hdr.items())
    pos = 0
    for b0, b1, k in spans:
        assert b0 == pos and b1 >= b0, k
        pos = b1
    assert pos == len(buf)
    out = {}
    for k, v in hdr.items():
        b0, b1 = v["data_offsets"]
        size = DT_SIZE[v["dtype"]]
        count = 1
        for s in v["shape"]:
            count *= s
        assert (b1 - b0) == count * size, k
        raw = torch.frombuffer(bytearray(buf[b0:b1]), dtype=DT_INT[v["dtype"]])
        out[k] = raw.view(DT_TORCH[v["dtype"]]).to(torch.float32).reshape(v["shape"])
    return out


# ------------------------------------------------------------------ configs
def distilbert_config():
    return {
        "activation": "gelu",
        "architectures": ["DistilBertForSequenceClassification"],
        "attention_dropout": 0.0,
        "dim": D,
        "dropout": 0.0,
        "hidden_dim": FF,
        "id2label": ID2LABEL,
        "initializer_range": 0.02,
        "label2id": LABEL2ID,
        "max_position_embeddings": P,
        "model_type": "distilbert",
        "n_heads": NH,
        "n_layers": NL,
        "pad_token_id": PAD,
        "problem_type": "single_label_classification",
        "qa_dropout": 0.0,
        "seq_classif_dropout": 0.0,
        "sinusoidal_pos_embds": False,
        "tie_weights_": True,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "vocab_size": V,
    }


def bert_config():
    return {
        "architectures": ["BertForSequenceClassification"],
        "attention_probs_dropout_prob": 0.0,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": D,
        "id2label": ID2LABEL,
        "initializer_range": 0.02,
        "intermediate_size": FF,
        "label2id": LABEL2ID,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": P,
        "model_type": "bert",
        "num_attention_heads": NH,
        "num_hidden_layers": NL,
        "pad_token_id": PAD,
        "position_embedding_type": "absolute",
        "problem_type": "single_label_classification",
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": V,
    }


def tokenizer_config(kind):
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return {
        "added_tokens_decoder": {
            str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for i, s in enumerate(specials)},
        "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]",
        "do_lower_case": True,
        "mask_token": "[MASK]",
        "model_max_length": P,
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "tokenizer_class": "DistilBertTokenizer" if kind == "distilbert" else "BertTokenizer",
        "unk_token": "[UNK]",
    }


def dump_json(obj):
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


# ------------------------------------------------------------------- output
def compact(s):
    """'0.25' -> '.25', '-0.25' -> '-.25', '1e-05' -> '1e-5' (all strtod input)."""
    if "e" in s:
        m, e = s.split("e")
        s = m + "e" + str(int(e))
    if s.startswith("0."):
        s = s[1:]
    elif s.startswith("-0."):
        s = "-" + s[2:]
    return s


def fmt(x, digits=None):
    """digits None: the shortest text that reads back as the same float32."""
    if digits is not None:
        return compact("%.*g" % (digits, x))
    f = np.float32(x)
    a = compact(np.format_float_positional(f, unique=True, trim="-"))
    b = compact(np.format_float_scientific(f, unique=True, trim="-"))
    return a if len(a) <= len(b) else b


def arr_line(name, t, digits=None):
    v = t.detach().reshape(-1).tolist() if torch.is_tensor(t) else list(t)
    assert len(name) <= 63
    return "%s %d %s\n" % (name, len(v), " ".join(fmt(float(x), digits) for x in v))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def read_expected(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            w = line.split()
            assert int(w[1]) == len(w) - 2, w[0]
            out[w[0]] = [float(x) for x in w[2:]]
    return out


def new_model(kind):
    return DistilBertForSequenceClassification() if kind == "distilbert" \
        else BertForSequenceClassification()


def run_model(kind, outdir):
    gen = torch.Generator().manual_seed(SEED + (0 if kind == "distilbert" else 1))
    model = new_model(kind)
    model.train()  # every dropout is p = 0: nothing random happens
    init = init_weights(model, kind, gen)
    ids, mask, tt, labels = make_batch(gen, kind)
    pnames = [n for n, _ in model.named_parameters()]

    logits = model(ids, mask, tt)
    loss = F.cross_entropy(logits, labels)
    model.zero_grad()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    logits0, loss0 = logits.detach().clone(), loss.detach().clone()

    decay = [p for n, p in model.named_parameters() if not is_no_decay(n)]
    no_decay = [p for n, p in model.named_parameters() if is_no_decay(n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    losses = []
    for _ in range(5):
        loss = F.cross_entropy(model(ids, mask, tt), labels)
        losses.append(float(loss))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after5_loss = F.cross_entropy(model(ids, mask, tt), labels)
    assert losses[0] == float(loss0)

    lines = ["# generated by tests/plugins/gen_bert_fixture.py (torch %s); do not edit\n"
             % torch.__version__,
             "# %s: reference for %sForSequenceClassification, see the generator's docstring\n"
             % (kind, "DistilBert" if kind == "distilbert" else "Bert"),
             "# grad.*key bias (k_lin.bias / self.key.bias) is 0 in exact arithmetic: the stored\n"
             "# values and their after5.* are float32 noise; compare them with absolute bounds\n",
             arr_line("dims", [B, T, C]),
             arr_line("input_ids", ids),
             arr_line("attention_mask", mask)]
    if kind == "bert":
        lines.append(arr_line("token_type_ids", tt))
    lines += [arr_line("labels", labels), arr_line("logits", logits0), arr_line("loss", [loss0])]
    lines += [arr_line("grad." + n, grads[n], GRAD_DIGITS) for n in pnames]
    lines += [arr_line("adamw_loss", losses), arr_line("after5_loss", [after5_loss])]
    after = {n: p.detach().clone() for n, p in model.named_parameters()}
    lines += [arr_line("after5." + n, after[n], AFTER5_DIGITS) for n in pnames]

    d = os.path.join(outdir, kind)
    cfg = distilbert_config() if kind == "distilbert" else bert_config()
    write(os.path.join(d, "config.json"), dump_json(cfg))
    write(os.path.join(d, "tokenizer_config.json"), dump_json(tokenizer_config(kind)))
    write(os.path.join(d, "vocab.txt"),
          ("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS) + "\n").encode())
    write(os.path.join(d, "model.safetensors"), safetensors_bytes(init, "F32"))
    write(os.path.join(d, "expected.txt"), "".join(lines).encode())
    return {"init": init, "pnames": pnames, "batch": (ids, mask, tt, labels),
            "logits": logits0, "loss": loss0, "grads": grads, "losses": losses,
            "after": after, "after5_loss": after5_loss}


def rounded_forward(init, batch, dtype):
    """Logits/loss of the F32 model whose weights went through `dtype`."""
    model = new_model("distilbert")
    names = {n for n, _ in model.named_parameters()}
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(init[n].to(DT_TORCH[dtype]).to(torch.float32))
        ids, mask, tt, labels = batch
        logits = model(ids, mask, tt)
        loss = F.cross_entropy(logits, labels)
    assert names <= set(init)
    return logits, loss


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "fixtures", "bert")
    assert sys.byteorder == "little"
    res = {k: run_model(k, outdir) for k in ("distilbert", "bert")}

    # loader variants
    dinit, binit = res["distilbert"]["init"], res["bert"]["init"]
    gamma = {}
    for n, t in binit.items():
        if n.endswith(".LayerNorm.weight"):
            n = n[:-len("weight")] + "gamma"
        elif n.endswith(".LayerNorm.bias"):
            n = n[:-len("bias")] + "beta"
        gamma[n] = t
    noprefix = {n[len("distilbert."):]: t for n, t in dinit.items()
                if n.startswith("distilbert.")}
    variants = {"bert-gamma": (gamma, "F32"), "distilbert-noprefix": (noprefix, "F32"),
                "distilbert-f16": (dinit, "F16"), "distilbert-bf16": (dinit, "BF16")}
    for vname, (tensors, dtype) in variants.items():
        write(os.path.join(outdir, vname, "model.safetensors"), safetensors_bytes(tensors, dtype))
        if dtype != "F32":
            logits, loss = rounded_forward(dinit, res["distilbert"]["batch"], dtype)
            txt = ("# generated by tests/plugins/gen_bert_fixture.py (torch %s); do not edit\n"
                   "# distilbert with every weight rounded to %s: F32 forward of the rounded "
                   "weights, batch of ../distilbert/expected.txt\n" % (torch.__version__, dtype)
                   + arr_line("logits", logits) + arr_line("loss", [loss]))
            write(os.path.join(outdir, vname, "expected_logits.txt"), txt.encode())

    # self-check: the files read back to what was meant
    for kind, r in res.items():
        st = read_safetensors(os.path.join(outdir, kind, "model.safetensors"))
        assert set(st) == set(r["init"]) and set(r["pnames"]) < set(st)
        for n, t in r["init"].items():
            assert torch.equal(st[n], t), n
        ex = read_expected(os.path.join(outdir, kind, "expected.txt"))
        want = {"logits": r["logits"], "loss": r["loss"], "adamw_loss": r["losses"],
                "after5_loss": r["after5_loss"]}
        want.update({"grad." + n: g for n, g in r["grads"].items()})
        want.update({"after5." + n: a for n, a in r["after"].items()})
        for n, t in want.items():
            t = torch.as_tensor(t, dtype=torch.float32).reshape(-1)
            got = torch.tensor(ex[n], dtype=torch.float32)
            digits = GRAD_DIGITS if n.startswith("grad.") else \
                AFTER5_DIGITS if n.startswith("after5.") else None
            if digits is None:
                assert torch.equal(got, t), n
            else:
                tol = 0.5 * 10.0 ** (1 - digits) * t.abs() * (1 + 1e-6)
                got = torch.tensor(ex[n], dtype=torch.float64)
                assert bool(((got - t.double()).abs() <= tol.double()).all()), n
        assert ex["input_ids"] == [float(x) for x in r["batch"][0].reshape(-1).tolist()]
        # sanity: the head matters and training moves the loss down
        assert r["losses"][4] < r["losses"][0] and float(r["after5_loss"]) < r["losses"][4]
        assert all(float(g.abs().max()) > 0 for n, g in r["grads"].items()
                   if "position_embeddings" not in n)
    for vname, (tensors, dtype) in variants.items():
        st = read_safetensors(os.path.join(outdir, vname, "model.safetensors"))
        assert set(st) == set(tensors), vname
        for n, t in tensors.items():
            assert torch.equal(st[n], t.to(DT_TORCH[dtype]).to(torch.float32)), (vname, n)
    for dtype in ("F16", "BF16"):
        ex = read_expected(os.path.join(outdir, "distilbert-" + dtype.lower(),
                                        "expected_logits.txt"))
        delta = max(abs(a - b) for a, b in zip(ex["logits"], res["distilbert"]["logits"]
                                               .reshape(-1).tolist()))
        assert 0 < delta < (0.01 if dtype == "F16" else 0.1), (dtype, delta)


if __name__ == "__main__":
    main()
