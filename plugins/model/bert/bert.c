/*
 * bert.c - the "distilbert" and "bert" model plugins: Hugging Face's
 * DistilBertForSequenceClassification and BertForSequenceClassification
 * (TRANSFORMER-SPEC.md), built twice from this file (BERT_FLAVOR_DISTIL).
 *
 *   texts -> WordPiece ([CLS] A [SEP]), cut to max_length, padded per batch
 *   -> word + position (+ token type) embeddings -> LayerNorm -> dropout
 *   -> layers x [ qkv = x [Wq;Wk;Wv]^T + b (one sgemm: the three weights are
 *      declared one after another, so they are one (3D, D) block of the flat
 *      parameter buffer) -> tc_attention (key padding mask, dropout on P)
 *      -> out projection (BERT: dropout) -> LayerNorm(a + x)
 *      -> GELU FFN -> dropout -> LayerNorm(f + x1) ]
 *   -> the [CLS] row -> DistilBERT: pre_classifier, ReLU, dropout,
 *      classifier; BERT: pooler (tanh), dropout, classifier -> logits
 *
 * Parameters carry the checkpoint's names ("distilbert.transformer.layer.0.
 * attention.q_lin.weight", "classifier.bias"), so the host's model.safetensors
 * is a checkpoint transformers loads. Shapes come from the `from`
 * checkpoint's config.json, else from the `config` option (a preset or a
 * config.json path) with size overrides. Fresh parameters start as
 * transformers initialises them: N(0, initializer_range) for Linear and
 * Embedding weights (the padding row zero), zero biases, LayerNorm 1 and 0.
 *
 * load_pretrained() reads model.safetensors (F32, F16 or BF16) under the
 * name variants transformers accepts: with or without the base prefix,
 * LayerNorm gamma/beta for weight/bias; pre-training heads and unknown
 * tensors are left out (and counted in a log line), a missing head or one
 * of another label count keeps its fresh init (logged), and a missing or
 * misshapen backbone tensor is an error naming it.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <tc/ops.h>
#include <tc/plugin.h>
#include <tc/safetensors.h>
#include <tc/tokenizer.h>

#include "../../common/hfconfig.h"
#include "../../common/labels.h"

#ifdef BERT_FLAVOR_DISTIL
#define BT_NAME "distilbert"
#define BT_PREFIX "distilbert."
#define BT_ARCH "DistilBertForSequenceClassification"
#else
#define BT_NAME "bert"
#define BT_PREFIX "bert."
#define BT_ARCH "BertForSequenceClassification"
#endif

#define BT_PATH_MAX 4096
#define BT_MAX_LAYERS 128
#define BT_NAME_MAX 160

typedef struct bt_config {
    int64_t vocab, D, layers, heads, ffn, max_pos, type_vocab;
    double ln_eps, init_range;
    double dropout, attn_dropout, cls_dropout;
    int64_t pad_id;
} bt_config;

typedef struct bt_layer {
    tc_tensor *wq, *wk, *wv, *bq, *bk, *bv;
    tc_tensor wqkv, bqkv; /* views of the three weights and biases as one block */
    tc_tensor *wo, *bo, *ln1_w, *ln1_b, *w1, *b1, *w2, *b2, *ln2_w, *ln2_b;
} bt_layer;

typedef struct bert {
    bt_config c;
    tc_params *params;
    const tc_host *host;
    tc_tokenizer *tok;
    cJSON *raw; /* the checkpoint's config.json, kept for save, or NULL */
    char *tok_dir;
    int32_t L, max_length;
    char **label_names;
    tc_tensor *wemb, *pemb, *temb, *eln_w, *eln_b;
    bt_layer *layer;
    tc_tensor *head_w, *head_b; /* DistilBERT pre_classifier / BERT pooler.dense */
    tc_tensor *cls_w, *cls_b;
    tc_rng init_rng; /* a copy, to initialise the head again when a checkpoint lacks it */
} bert;

static const tc_option_spec bt_options[] = {
    {"from", TC_OPTION_STRING, NULL,
     "checkpoint folder (config.json, model.safetensors, tokenizer); tcd-worker sets it from "
     "model.from",
     1, 0},
    {"config", TC_OPTION_STRING, NULL,
     "without from: a preset (distilbert-base, bert-base) or a config.json path", 1, 0},
    {"tokenizer", TC_OPTION_STRING, NULL,
     "tokenizer.json, vocab.txt or a folder with one (default: the from folder's)", 1, 0},
    {"max_length", TC_OPTION_INT, "0",
     "tokens per text, [CLS] and [SEP] included (0: data.max_length, else 128)", 0, 65536},
    {"layers", TC_OPTION_INT, "0", "with config: number of layers (0: the config's)", 0,
     BT_MAX_LAYERS},
    {"hidden_size", TC_OPTION_INT, "0", "with config: model width (0: the config's)", 0, 65536},
    {"heads", TC_OPTION_INT, "0", "with config: attention heads (0: the config's)", 0, 1024},
    {"intermediate_size", TC_OPTION_INT, "0", "with config: FFN width (0: the config's)", 0,
     262144},
    {"dropout", TC_OPTION_FLOAT, "-1", "hidden dropout (-1: the config's)", -1, 0.99},
    {"attention_dropout", TC_OPTION_FLOAT, "-1",
     "dropout on attention probabilities (-1: the "
     "config's)",
     -1, 0.99},
    {"classifier_dropout", TC_OPTION_FLOAT, "-1",
     "dropout before the classifier (-1: the "
     "config's)",
     -1, 0.99},
};

/* ---- config ------------------------------------------------------------------------------- */

static double num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* The preset's config.json text, or NULL. */
static const char *preset(const char *name)
{
    if (!strcmp(name, "distilbert-base"))
        return "{\"model_type\": \"distilbert\", \"vocab_size\": 30522, \"dim\": 768, "
               "\"n_layers\": 6, \"n_heads\": 12, \"hidden_dim\": 3072, "
               "\"max_position_embeddings\": 512, \"dropout\": 0.1, \"attention_dropout\": 0.1, "
               "\"seq_classif_dropout\": 0.2, \"activation\": \"gelu\", \"initializer_range\": "
               "0.02, \"pad_token_id\": 0, \"sinusoidal_pos_embds\": false}";
    if (!strcmp(name, "bert-base"))
        return "{\"model_type\": \"bert\", \"vocab_size\": 30522, \"hidden_size\": 768, "
               "\"num_hidden_layers\": 12, \"num_attention_heads\": 12, \"intermediate_size\": "
               "3072, \"max_position_embeddings\": 512, \"type_vocab_size\": 2, "
               "\"hidden_dropout_prob\": 0.1, \"attention_probs_dropout_prob\": 0.1, "
               "\"hidden_act\": \"gelu\", \"initializer_range\": 0.02, \"layer_norm_eps\": "
               "1e-12, \"pad_token_id\": 0, \"position_embedding_type\": \"absolute\"}";
    return NULL;
}

/* Read the model's sizes from a config.json object; check what we support. */
static int parse_config(bt_config *c, const cJSON *j, const char *where)
{
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    const char *type = cJSON_GetStringValue(mt);
    const char *act;

    if (!type || strcmp(type, BT_NAME))
        return tc_error_set(TC_EUNSUPPORTED,
                            "%s: model_type '%s' is not supported by the %s plugin (it reads "
                            "model_type '%s'%s)",
                            where, type ? type : "(none)", BT_NAME, BT_NAME,
#ifdef BERT_FLAVOR_DISTIL
                            "; for BERT checkpoints use model: {plugin: bert}"
#else
                            "; for DistilBERT checkpoints use model: {plugin: distilbert}"
#endif
        );
#ifdef BERT_FLAVOR_DISTIL
    c->D = (int64_t)num(j, "dim", 768);
    c->layers = (int64_t)num(j, "n_layers", 6);
    c->heads = (int64_t)num(j, "n_heads", 12);
    c->ffn = (int64_t)num(j, "hidden_dim", 3072);
    c->type_vocab = 0;
    c->ln_eps = 1e-12; /* hard-coded in DistilBERT */
    c->dropout = num(j, "dropout", 0.1);
    c->attn_dropout = num(j, "attention_dropout", 0.1);
    c->cls_dropout = num(j, "seq_classif_dropout", 0.2);
    act = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "activation"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "sinusoidal_pos_embds")))
        return tc_error_set(TC_EUNSUPPORTED, "%s: sinusoidal_pos_embds is not supported", where);
#else
    c->D = (int64_t)num(j, "hidden_size", 768);
    c->layers = (int64_t)num(j, "num_hidden_layers", 12);
    c->heads = (int64_t)num(j, "num_attention_heads", 12);
    c->ffn = (int64_t)num(j, "intermediate_size", 3072);
    c->type_vocab = (int64_t)num(j, "type_vocab_size", 2);
    c->ln_eps = num(j, "layer_norm_eps", 1e-12);
    c->dropout = num(j, "hidden_dropout_prob", 0.1);
    c->attn_dropout = num(j, "attention_probs_dropout_prob", 0.1);
    c->cls_dropout = num(j, "classifier_dropout", c->dropout);
    act = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "hidden_act"));
    {
        const char *pe =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "position_embedding_type"));
        if (pe && strcmp(pe, "absolute"))
            return tc_error_set(TC_EUNSUPPORTED,
                                "%s: position_embedding_type '%s' is not supported (absolute only)",
                                where, pe);
    }
#endif
    c->vocab = (int64_t)num(j, "vocab_size", 30522);
    c->max_pos = (int64_t)num(j, "max_position_embeddings", 512);
    c->init_range = num(j, "initializer_range", 0.02);
    c->pad_id = (int64_t)num(j, "pad_token_id", 0);
    if (act && strcmp(act, "gelu"))
        return tc_error_set(TC_EUNSUPPORTED, "%s: activation '%s' is not supported (gelu only)",
                            where, act);
    return TC_OK;
}

static int check_sizes(const bt_config *c, const char *where)
{
    if (c->vocab < 1 || c->D < 1 || c->layers < 1 || c->layers > BT_MAX_LAYERS || c->heads < 1 ||
        c->ffn < 1 || c->max_pos < 1 || c->D % c->heads || c->vocab > (1 << 24) || c->D > 65536 ||
        c->ffn > 262144 || c->max_pos > 65536 || c->type_vocab < 0 || c->type_vocab > 1024)
        return tc_error_set(TC_EINVAL,
                            "%s: unusable sizes (vocab %lld, width %lld, layers %lld, heads "
                            "%lld, ffn %lld, positions %lld); the width must be a multiple of "
                            "the heads",
                            where, (long long)c->vocab, (long long)c->D, (long long)c->layers,
                            (long long)c->heads, (long long)c->ffn, (long long)c->max_pos);
    if (!(c->dropout >= 0 && c->dropout < 1 && c->attn_dropout >= 0 && c->attn_dropout < 1 &&
          c->cls_dropout >= 0 && c->cls_dropout < 1))
        return tc_error_set(TC_EINVAL, "%s: dropout probabilities must be in [0, 1)", where);
    return TC_OK;
}

/* ---- parameters --------------------------------------------------------------------------- */

static int add(bert *m, tc_tensor **t, const char *name, int64_t rows, int64_t cols, int decay)
{
    int64_t shape[2] = {rows, cols};

    return tc_params_add(m->params, t, name, cols ? 2 : 1, shape, decay ? 0 : TC_TENSOR_NO_DECAY);
}

static int add_linear(bert *m, tc_tensor **w, tc_tensor **b, const char *prefix, int64_t n_out,
                      int64_t n_in)
{
    char name[BT_NAME_MAX];
    int err;

    snprintf(name, sizeof(name), "%s.weight", prefix);
    if ((err = add(m, w, name, n_out, n_in, 1)) < 0)
        return err;
    snprintf(name, sizeof(name), "%s.bias", prefix);
    return add(m, b, name, n_out, 0, 0);
}

static int add_norm(bert *m, tc_tensor **w, tc_tensor **b, const char *prefix)
{
    char name[BT_NAME_MAX];
    int err;

    snprintf(name, sizeof(name), "%s.weight", prefix);
    if ((err = add(m, w, name, m->c.D, 0, 0)) < 0)
        return err;
    snprintf(name, sizeof(name), "%s.bias", prefix);
    return add(m, b, name, m->c.D, 0, 0);
}

static int declare(bert *m)
{
    const bt_config *c = &m->c;
    char p[64], n[BT_NAME_MAX];
    int64_t i;
    int err;

    if ((err = add(m, &m->wemb, BT_PREFIX "embeddings.word_embeddings.weight", c->vocab, c->D, 1)) <
            0 ||
        (err = add(m, &m->pemb, BT_PREFIX "embeddings.position_embeddings.weight", c->max_pos, c->D,
                   1)) < 0)
        return err;
    if (c->type_vocab > 0 &&
        (err = add(m, &m->temb, BT_PREFIX "embeddings.token_type_embeddings.weight", c->type_vocab,
                   c->D, 1)) < 0)
        return err;
    if ((err = add_norm(m, &m->eln_w, &m->eln_b, BT_PREFIX "embeddings.LayerNorm")) < 0)
        return err;
    for (i = 0; i < c->layers; i++) {
        bt_layer *l = &m->layer[i];
#ifdef BERT_FLAVOR_DISTIL
        static const char *const qkv[3] = {"q_lin", "k_lin", "v_lin"};
        snprintf(p, sizeof(p), BT_PREFIX "transformer.layer.%lld.", (long long)i);
#else
        static const char *const qkv[3] = {"self.query", "self.key", "self.value"};
        snprintf(p, sizeof(p), BT_PREFIX "encoder.layer.%lld.", (long long)i);
#endif
        tc_tensor **w[3] = {&l->wq, &l->wk, &l->wv}, **b[3] = {&l->bq, &l->bk, &l->bv};
        int k;
        /* the three weights, then the three biases: one block each (see forward) */
        for (k = 0; k < 3; k++) {
            snprintf(n, sizeof(n), "%sattention.%s.weight", p, qkv[k]);
            if ((err = add(m, w[k], n, c->D, c->D, 1)) < 0)
                return err;
        }
        for (k = 0; k < 3; k++) {
            snprintf(n, sizeof(n), "%sattention.%s.bias", p, qkv[k]);
            if ((err = add(m, b[k], n, c->D, 0, 0)) < 0)
                return err;
        }
#ifdef BERT_FLAVOR_DISTIL
        snprintf(n, sizeof(n), "%sattention.out_lin", p);
        if ((err = add_linear(m, &l->wo, &l->bo, n, c->D, c->D)) < 0)
            return err;
        snprintf(n, sizeof(n), "%ssa_layer_norm", p);
        if ((err = add_norm(m, &l->ln1_w, &l->ln1_b, n)) < 0)
            return err;
        snprintf(n, sizeof(n), "%sffn.lin1", p);
        if ((err = add_linear(m, &l->w1, &l->b1, n, c->ffn, c->D)) < 0)
            return err;
        snprintf(n, sizeof(n), "%sffn.lin2", p);
        if ((err = add_linear(m, &l->w2, &l->b2, n, c->D, c->ffn)) < 0)
            return err;
        snprintf(n, sizeof(n), "%soutput_layer_norm", p);
        if ((err = add_norm(m, &l->ln2_w, &l->ln2_b, n)) < 0)
            return err;
#else
        snprintf(n, sizeof(n), "%sattention.output.dense", p);
        if ((err = add_linear(m, &l->wo, &l->bo, n, c->D, c->D)) < 0)
            return err;
        snprintf(n, sizeof(n), "%sattention.output.LayerNorm", p);
        if ((err = add_norm(m, &l->ln1_w, &l->ln1_b, n)) < 0)
            return err;
        snprintf(n, sizeof(n), "%sintermediate.dense", p);
        if ((err = add_linear(m, &l->w1, &l->b1, n, c->ffn, c->D)) < 0)
            return err;
        snprintf(n, sizeof(n), "%soutput.dense", p);
        if ((err = add_linear(m, &l->w2, &l->b2, n, c->D, c->ffn)) < 0)
            return err;
        snprintf(n, sizeof(n), "%soutput.LayerNorm", p);
        if ((err = add_norm(m, &l->ln2_w, &l->ln2_b, n)) < 0)
            return err;
#endif
    }
#ifdef BERT_FLAVOR_DISTIL
    if ((err = add_linear(m, &m->head_w, &m->head_b, "pre_classifier", c->D, c->D)) < 0)
        return err;
#else
    if ((err = add_linear(m, &m->head_w, &m->head_b, BT_PREFIX "pooler.dense", c->D, c->D)) < 0)
        return err;
#endif
    return add_linear(m, &m->cls_w, &m->cls_b, "classifier", m->L, c->D);
}

/* The (3D, D) and (3D) views over each layer's q, k, v blocks; after every add. */
static int make_views(bert *m)
{
    int64_t i, D = m->c.D;

    for (i = 0; i < m->c.layers; i++) {
        bt_layer *l = &m->layer[i];
        if (l->wk->data != l->wq->data + D * D || l->wv->data != l->wk->data + D * D ||
            l->bk->data != l->bq->data + D || l->bv->data != l->bk->data + D)
            return tc_error_set(TC_ERROR, BT_NAME ": q, k and v are not one block");
        l->wqkv = *l->wq;
        l->wqkv.shape[0] = 3 * D;
        l->wqkv.numel = 3 * D * D;
        l->wqkv.name = NULL;
        l->bqkv = *l->bq;
        l->bqkv.shape[0] = 3 * D;
        l->bqkv.numel = 3 * D;
        l->bqkv.name = NULL;
    }
    return TC_OK;
}

/* transformers' _init_weights: Linear and Embedding N(0, range), zero biases, LayerNorm 1/0. */
static void init_linear(tc_tensor *w, tc_tensor *b, tc_rng *rng, float std)
{
    tc_init_normal(w, rng, 0.0f, std);
    tc_init_constant(b, 0.0f);
}

static void init_head(bert *m, tc_rng *rng)
{
    float std = (float)m->c.init_range;

    init_linear(m->head_w, m->head_b, rng, std);
    init_linear(m->cls_w, m->cls_b, rng, std);
}

static void init_all(bert *m, tc_rng *rng)
{
    const bt_config *c = &m->c;
    float std = (float)c->init_range;
    int64_t i;

    tc_init_normal(m->wemb, rng, 0.0f, std);
    if (c->pad_id >= 0 && c->pad_id < c->vocab)
        memset(m->wemb->data + c->pad_id * c->D, 0, (size_t)c->D * sizeof(float));
    tc_init_normal(m->pemb, rng, 0.0f, std);
    if (m->temb)
        tc_init_normal(m->temb, rng, 0.0f, std);
    tc_init_constant(m->eln_w, 1.0f);
    tc_init_constant(m->eln_b, 0.0f);
    for (i = 0; i < c->layers; i++) {
        bt_layer *l = &m->layer[i];
        init_linear(l->wq, l->bq, rng, std);
        init_linear(l->wk, l->bk, rng, std);
        init_linear(l->wv, l->bv, rng, std);
        init_linear(l->wo, l->bo, rng, std);
        tc_init_constant(l->ln1_w, 1.0f);
        tc_init_constant(l->ln1_b, 0.0f);
        init_linear(l->w1, l->b1, rng, std);
        init_linear(l->w2, l->b2, rng, std);
        tc_init_constant(l->ln2_w, 1.0f);
        tc_init_constant(l->ln2_b, 0.0f);
    }
    init_head(m, rng);
}

/* ---- create / destroy --------------------------------------------------------------------- */

static void bt_destroy(void *self)
{
    bert *m = self;

    if (!m)
        return;
    tc_tokenizer_free(m->tok);
    cJSON_Delete(m->raw);
    tc_free(m->tok_dir);
    labels_free(m->label_names, m->L);
    tc_free(m->layer);
    tc_free(m);
}

/* The config: the from folder's config.json, a preset, or a config.json path. */
static int load_config(bert *m, const tc_options *o, char *where, size_t cap)
{
    const char *from = tc_options_string(o, "from"), *cfg = tc_options_string(o, "config");
    const char *text;
    cJSON *j = NULL;
    int err;

    if (from && *from) {
        snprintf(where, cap, "%s/config.json", from);
        if ((err = hf_read_json(&j, from, "config.json")) < 0)
            return err;
    } else if (cfg && (text = preset(cfg))) {
        snprintf(where, cap, "preset %s", cfg);
        j = cJSON_Parse(text);
        if (!j)
            return TC_ENOMEM;
    } else if (cfg && *cfg) {
        snprintf(where, cap, "%s", cfg);
        {
            char dir[BT_PATH_MAX], *slash;
            snprintf(dir, sizeof(dir), "%s", cfg);
            slash = strrchr(dir, '/');
            if ((err = slash ? (*slash = '\0', hf_read_json(&j, dir[0] ? dir : "/", slash + 1))
                             : hf_read_json(&j, ".", cfg)) < 0)
                return err;
        }
    } else {
        return tc_error_set(TC_EINVAL,
                            BT_NAME ": give model.from (a checkpoint folder or Hub id) or "
                                    "model.config (distilbert-base, bert-base or a config.json)");
    }
    m->raw = j;
    return parse_config(&m->c, j, where);
}

static int bt_create(void **out, const tc_options *o, const tc_data_info *data, tc_params *params,
                     tc_rng *init_rng, const tc_host *host)
{
    const char *from = tc_options_string(o, "from"), *tokp = tc_options_string(o, "tokenizer");
    char where[BT_PATH_MAX];
    bert *m;
    int64_t v;
    int err;

    TC_ASSERT_ARG(out && o && data && params && init_rng);
    if (data->input != TC_INPUT_TEXT)
        return tc_error_set(TC_EINVAL, BT_NAME " needs text input; the data plugin gives tensors");
    if (!(m = tc_calloc(1, sizeof(*m))))
        return TC_ENOMEM;
    m->params = params;
    m->host = host;
    m->L = data->num_labels;
    if ((err = labels_copy(&m->label_names, m->L, data->label_names)) < 0)
        goto out;
    if ((err = load_config(m, o, where, sizeof(where))) < 0)
        goto out;
    if ((v = tc_options_int(o, "layers")) > 0)
        m->c.layers = v;
    if ((v = tc_options_int(o, "hidden_size")) > 0)
        m->c.D = v;
    if ((v = tc_options_int(o, "heads")) > 0)
        m->c.heads = v;
    if ((v = tc_options_int(o, "intermediate_size")) > 0)
        m->c.ffn = v;
    if (tc_options_float(o, "dropout") >= 0)
        m->c.dropout = tc_options_float(o, "dropout");
    if (tc_options_float(o, "attention_dropout") >= 0)
        m->c.attn_dropout = tc_options_float(o, "attention_dropout");
    if (tc_options_float(o, "classifier_dropout") >= 0)
        m->c.cls_dropout = tc_options_float(o, "classifier_dropout");
    /* the tokenizer: the option's, else the checkpoint's */
    if (!(tokp && *tokp) && !(from && *from)) {
        err = tc_error_set(TC_EINVAL, BT_NAME ": without model.from, give model.tokenizer (a "
                                              "vocab.txt or tokenizer.json)");
        goto out;
    }
    if (!(m->tok_dir = tc_strdup(tokp && *tokp ? tokp : from))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = tc_tokenizer_load(&m->tok, m->tok_dir)) < 0)
        goto out;
    if (!(from && *from))
        m->c.vocab = tc_tokenizer_vocab_size(m->tok); /* a fresh model fits its tokenizer */
    if (tc_tokenizer_vocab_size(m->tok) > m->c.vocab) {
        err =
            tc_error_set(TC_EINVAL, BT_NAME ": the tokenizer has %d ids but %s has vocab_size %lld",
                         tc_tokenizer_vocab_size(m->tok), where, (long long)m->c.vocab);
        goto out;
    }
    if ((err = check_sizes(&m->c, where)) < 0)
        goto out;
    m->max_length = (int32_t)tc_options_int(o, "max_length");
    if (!m->max_length)
        m->max_length = data->max_length > 0 ? data->max_length : 128;
    if (m->max_length > m->c.max_pos || m->max_length < 3) {
        err = tc_error_set(TC_EINVAL,
                           BT_NAME ": max_length %d must be 3..%lld (max_position_embeddings)",
                           m->max_length, (long long)m->c.max_pos);
        goto out;
    }
    if (tc_tokenizer_pad_id(m->tok) < 0) {
        err =
            tc_error_set(TC_EINVAL, BT_NAME ": the tokenizer '%s' has no [PAD] token", m->tok_dir);
        goto out;
    }
    if (!(m->layer = tc_calloc((size_t)m->c.layers, sizeof(*m->layer)))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = declare(m)) < 0 || (err = make_views(m)) < 0)
        goto out;
    init_all(m, init_rng);
    /* a head that a checkpoint lacks gets its own stream, drawn after the fresh init */
    tc_rng_init(&m->init_rng, tc_rng_u64(init_rng), 1);
    *out = m;
    m = NULL;
out:
    bt_destroy(m);
    return err;
}

/* ---- forward ------------------------------------------------------------------------------ */

/* A batch's inputs in the graph arena: (B, T) ids, positions, token types and key mask. */
typedef struct bt_inputs {
    int64_t T;
    int32_t *ids, *pos, *types, *mask, *zeros;
} bt_inputs;

static int alloc_inputs(bt_inputs *in, tc_graph *g, int64_t B, int64_t T)
{
    size_t n = (size_t)(B * T + 1) * sizeof(int32_t);

    in->T = T;
    in->ids = tc_graph_alloc(g, n);
    in->pos = tc_graph_alloc(g, n);
    in->types = tc_graph_alloc(g, n);
    in->mask = tc_graph_alloc(g, n);
    in->zeros = tc_graph_alloc(g, (size_t)(B + 1) * sizeof(int32_t));
    if (!in->ids || !in->pos || !in->types || !in->mask || !in->zeros)
        return tc_error_set(TC_ENOMEM, "out of memory for a batch");
    return TC_OK;
}

/* Tokenize the batch's texts (pairs) with WordPiece, cut to max_length, padded to the longest. */
static int encode_texts(bert *m, tc_graph *g, const tc_batch *batch, bt_inputs *in)
{
    tc_encode_options eo = TC_ENCODE_OPTIONS_INIT;
    int64_t B = batch->size, T, i, t;
    tc_encoding *enc;
    int err;

    eo.truncation = TC_TRUNCATION_LONGEST_FIRST;
    eo.max_length = m->max_length;
    eo.padding = TC_PADDING_LONGEST;
    if (!(enc = tc_calloc((size_t)(B > 0 ? B : 1), sizeof(*enc))))
        return TC_ENOMEM;
    if ((err = tc_tokenizer_encode_batch(enc, m->tok, batch->texts, NULL, batch->pairs, NULL,
                                         (size_t)B, &eo)) < 0) {
        tc_free(enc);
        return err;
    }
    T = B > 0 ? (int64_t)enc[0].len : 0;
    if ((err = alloc_inputs(in, g, B, T)) == TC_OK)
        for (i = 0; i < B; i++)
            for (t = 0; t < T; t++) {
                in->ids[i * T + t] = enc[i].ids[t];
                in->types[i * T + t] = enc[i].type_ids[t];
                in->mask[i * T + t] = enc[i].attention_mask[t];
            }
    for (i = 0; i < B; i++)
        tc_encoding_dispose(&enc[i]);
    tc_free(enc);
    return err;
}

/* Token input (tc_batch.input_ids), checked against the vocabulary and the positions. */
static int copy_ids(bert *m, tc_graph *g, const tc_batch *batch, bt_inputs *in)
{
    int64_t B = batch->size, T = batch->seq_len, k;
    int err;

    if (T < 1 || T > m->c.max_pos)
        return tc_error_set(TC_EINVAL, BT_NAME ": sequences of %lld tokens (1..%lld)", (long long)T,
                            (long long)m->c.max_pos);
    if ((err = alloc_inputs(in, g, B, T)) < 0)
        return err;
    for (k = 0; k < B * T; k++) {
        int32_t id = batch->input_ids[k];
        int32_t am = batch->attention_mask ? batch->attention_mask[k] : 1;
        int32_t ty = batch->token_type_ids ? batch->token_type_ids[k] : 0;
        if (id < 0 || id >= m->c.vocab || (am != 0 && am != 1) || ty < 0 ||
            (m->c.type_vocab > 0 && ty >= m->c.type_vocab))
            return tc_error_set(TC_EINVAL,
                                BT_NAME ": row %lld, position %lld: input id %d (vocabulary "
                                        "%lld), attention mask %d, token type %d",
                                (long long)(k / T), (long long)(k % T), id, (long long)m->c.vocab,
                                am, ty);
        in->ids[k] = id;
        in->mask[k] = am;
        in->types[k] = ty;
    }
    return TC_OK;
}

static int bt_forward(void *self, tc_graph *g, const tc_batch *batch, tc_tensor **out_logits)
{
    bert *m = self;
    const bt_config *c = &m->c;
    int64_t B = batch->size, T, i, t, bt, s3[3], s2[2];
    int32_t *ids, *pos, *types, *mask, *zeros;
    bt_inputs in;
    tc_tensor *x, *cls;
    int err;

    TC_ASSERT_ARG(m && g && batch && out_logits);
    if (batch->texts)
        err = encode_texts(m, g, batch, &in);
    else if (batch->input_ids)
        err = copy_ids(m, g, batch, &in);
    else
        err = tc_error_set(TC_EINVAL, BT_NAME ": the batch holds neither texts nor token ids");
    if (err < 0)
        return err;
    T = in.T;
    bt = B * T;
    ids = in.ids, pos = in.pos, types = in.types, mask = in.mask, zeros = in.zeros;
    for (i = 0; i < B; i++) {
        for (t = 0; t < T; t++) {
            pos[i * T + t] = (int32_t)t;
            if (c->type_vocab <= 0 || types[i * T + t] >= c->type_vocab)
                types[i * T + t] = 0;
        }
        zeros[i] = 0;
    }
    /* embeddings: word + position (+ token type), LayerNorm, dropout; rows (B*T, D) */
    x = tc_add(g, tc_embedding_padded(g, m->wemb, ids, bt, (int32_t)c->pad_id),
               tc_embedding(g, m->pemb, pos, bt));
    if (m->temb)
        x = tc_add(g, x, tc_embedding(g, m->temb, types, bt));
    x = tc_layer_norm(g, x, m->eln_w, m->eln_b, (float)c->ln_eps);
    x = tc_dropout(g, x, (float)c->dropout);
    s3[0] = B;
    s3[1] = T;
    s3[2] = 3 * c->D;
    s2[0] = bt;
    s2[1] = c->D;
    for (i = 0; i < c->layers; i++) {
        bt_layer *l = &m->layer[i];
        tc_tensor *a, *x1, *f;
        a = tc_linear(g, x, &l->wqkv, &l->bqkv); /* (B*T, 3D) */
        a = tc_attention(g, tc_reshape(g, a, 3, s3), (int32_t)c->heads, mask,
                         (float)c->attn_dropout); /* (B, T, D) */
        a = tc_linear(g, tc_reshape(g, a, 2, s2), l->wo, l->bo);
#ifndef BERT_FLAVOR_DISTIL
        a = tc_dropout(g, a, (float)c->dropout);
#endif
        x1 = tc_layer_norm(g, tc_add(g, a, x), l->ln1_w, l->ln1_b, (float)c->ln_eps);
        f = tc_gelu(g, tc_linear(g, x1, l->w1, l->b1));
        f = tc_dropout(g, tc_linear(g, f, l->w2, l->b2), (float)c->dropout);
        x = tc_layer_norm(g, tc_add(g, f, x1), l->ln2_w, l->ln2_b, (float)c->ln_eps);
    }
    s3[2] = c->D;
    cls = tc_select_steps(g, tc_reshape(g, x, 3, s3), zeros); /* the [CLS] rows (B, D) */
#ifdef BERT_FLAVOR_DISTIL
    cls = tc_relu(g, tc_linear(g, cls, m->head_w, m->head_b));
#else
    cls = tc_tanh(g, tc_linear(g, cls, m->head_w, m->head_b));
#endif
    cls = tc_dropout(g, cls, (float)c->cls_dropout);
    cls = tc_linear(g, cls, m->cls_w, m->cls_b);
    if (!cls) {
        err = tc_graph_status(g);
        return err < 0 ? err : tc_error_set(TC_ERROR, BT_NAME " forward failed");
    }
    *out_logits = cls;
    return TC_OK;
}

/* ---- load_pretrained ---------------------------------------------------------------------- */

/* The checkpoint's tensor for a parameter name, under transformers' name variants. */
static const tc_st_tensor *find_tensor(tc_safetensors *st, const char *name, int prefixed)
{
    const char *n = name;
    char alt[BT_NAME_MAX + 8];
    const tc_st_tensor *t;
    size_t len;

    if (!prefixed && !strncmp(n, BT_PREFIX, strlen(BT_PREFIX)))
        n += strlen(BT_PREFIX);
    if ((t = tc_safetensors_find(st, n)))
        return t;
    /* old TF-converted checkpoints: LayerNorm.gamma / LayerNorm.beta */
    len = strlen(n);
    if (len > 7 && strstr(n, "LayerNorm.") && !strcmp(n + len - 7, ".weight")) {
        snprintf(alt, sizeof(alt), "%.*s.gamma", (int)(len - 7), n);
        return tc_safetensors_find(st, alt);
    }
    if (len > 5 && strstr(n, "LayerNorm.") && !strcmp(n + len - 5, ".bias")) {
        snprintf(alt, sizeof(alt), "%.*s.beta", (int)(len - 5), n);
        return tc_safetensors_find(st, alt);
    }
    return NULL;
}

static int is_head(const bert *m, const tc_tensor *p)
{
    return p == m->cls_w || p == m->cls_b
#ifdef BERT_FLAVOR_DISTIL
           || p == m->head_w || p == m->head_b
#endif
        ;
}

static int same_shape(const tc_st_tensor *t, const tc_tensor *p)
{
    int32_t k;

    if (t->ndim != p->ndim)
        return 0;
    for (k = 0; k < p->ndim; k++)
        if (t->shape[k] != p->shape[k])
            return 0;
    return 1;
}

static void shape_str(char *out, size_t cap, int32_t ndim, const int64_t *shape)
{
    size_t len = (size_t)snprintf(out, cap, "[");
    int32_t k;

    for (k = 0; k < ndim && len < cap; k++)
        len += (size_t)snprintf(out + len, cap - len, "%s%lld", k ? ", " : "", (long long)shape[k]);
    if (len < cap)
        snprintf(out + len, cap - len, "]");
}

static int bt_load_pretrained(void *self, const char *dir)
{
    bert *m = self;
    char path[BT_PATH_MAX], a[64], b[64], msg[1024], fresh[256];
    tc_safetensors *st = NULL;
    size_t i, n, used = 0;
    int prefixed = 0, head_fresh = 0, err = TC_OK;

    TC_ASSERT_ARG(m && dir);
    if ((size_t)snprintf(path, sizeof(path), "%s/model.safetensors", dir) >= sizeof(path))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", dir);
    if ((err = tc_safetensors_open(&st, path)) < 0)
        return err;
    for (i = 0; i < tc_safetensors_count(st); i++)
        prefixed |= !strncmp(tc_safetensors_at(st, i)->name, BT_PREFIX, strlen(BT_PREFIX));
    n = tc_params_count(m->params);
    /* check every name and shape first, so that an error changes no parameter */
    for (i = 0; i < n; i++) {
        tc_tensor *p = tc_params_at(m->params, i);
        const tc_st_tensor *t = find_tensor(st, p->name, prefixed);
        if (!t || !same_shape(t, p)) {
            if (is_head(m, p)) {
                head_fresh = 1; /* fresh, as transformers' "newly initialized" */
                continue;
            }
            if (t) {
                shape_str(a, sizeof(a), t->ndim, t->shape);
                shape_str(b, sizeof(b), p->ndim, p->shape);
                err = tc_error_set(TC_EFORMAT,
                                   "%s: tensor '%s' is %s, the model (%s) needs %s; is the "
                                   "config.json beside it the checkpoint's?",
                                   path, t->name, a, BT_NAME, b);
            } else {
                err = tc_error_set(TC_EFORMAT,
                                   "%s lacks the tensor '%s' (or a name variant of it); is it a "
                                   "%s checkpoint?",
                                   path, p->name, BT_NAME);
            }
            goto out;
        }
    }
    if (head_fresh) {
        /* the whole head afresh, then the head tensors the checkpoint has with the right shape
         * over it: transformers keeps those too (a 3-label checkpoint loaded for 2 labels keeps
         * its pre_classifier) */
        tc_rng rng = m->init_rng;
        init_head(m, &rng);
    }
    fresh[0] = '\0';
    for (i = 0; i < n; i++) {
        tc_tensor *p = tc_params_at(m->params, i);
        const tc_st_tensor *t = find_tensor(st, p->name, prefixed);
        if (!t || !same_shape(t, p)) { /* a head tensor, initialised afresh above */
            size_t len = strlen(fresh);
            snprintf(fresh + len, sizeof(fresh) - len, "%s%s", len ? ", " : "", p->name);
            continue;
        }
        if ((err = tc_safetensors_read_f32(st, t->name, p->data, p->numel)) < 0)
            goto out;
        used++;
    }
    if (m->host && m->host->log) {
        snprintf(msg, sizeof(msg),
                 "%s: loaded %zu tensors%s%s; %zu tensors of the checkpoint were not used "
                 "(pre-training heads)",
                 dir, used, head_fresh ? ", newly initialized: " : "", fresh,
                 tc_safetensors_count(st) - used);
        m->host->log(m->host->ctx, TC_LOG_INFO, msg);
    }
out:
    tc_safetensors_free(st);
    return err;
}

/* ---- save --------------------------------------------------------------------------------- */

static int set_num(cJSON *o, const char *key, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    return cJSON_AddNumberToObject(o, key, v) != NULL;
}

/* Copy DIR/name from the tokenizer's folder when it is there. */
static int copy_file(const char *from_dir, const char *dir, const char *name)
{
    char src[BT_PATH_MAX], dst[BT_PATH_MAX], *buf;
    struct stat s;
    FILE *f;
    size_t len;
    int err;

    snprintf(src, sizeof(src), "%s/%s", from_dir, name);
    snprintf(dst, sizeof(dst), "%s/%s", dir, name);
    if (stat(src, &s) < 0 || !S_ISREG(s.st_mode) || !strcmp(src, dst))
        return TC_OK;
    if (s.st_size > (16 << 20))
        return tc_error_set(TC_ERANGE, "'%s' is over 16 MiB", src);
    if (!(f = fopen(src, "rb")))
        return tc_error_set(TC_EIO, "cannot read '%s'", src);
    len = (size_t)s.st_size;
    if (!(buf = tc_malloc(len + 1))) {
        fclose(f);
        return TC_ENOMEM;
    }
    err = fread(buf, 1, len, f) == len ? tc_write_file_atomic(dst, buf, len)
                                       : tc_error_set(TC_EIO, "cannot read '%s'", src);
    fclose(f);
    tc_free(buf);
    return err;
}

static int bt_save(void *self, const char *dir)
{
    bert *m = self;
    const bt_config *c = &m->c;
    cJSON *root = m->raw ? cJSON_Duplicate(m->raw, 1) : cJSON_CreateObject();
    struct stat s;
    char path[BT_PATH_MAX], tdir[BT_PATH_MAX];
    int ok, err;

    TC_ASSERT_ARG(m && dir);
    ok = root != NULL;
    if (ok) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, "architectures");
        cJSON_DeleteItemFromObjectCaseSensitive(root, "model_type");
        cJSON_DeleteItemFromObjectCaseSensitive(root, "id2label");
        cJSON_DeleteItemFromObjectCaseSensitive(root, "label2id");
        cJSON_DeleteItemFromObjectCaseSensitive(root, "num_labels");
        cJSON_DeleteItemFromObjectCaseSensitive(root, "problem_type");
        cJSON_DeleteItemFromObjectCaseSensitive(root, "torch_dtype");
        ok = hf_add_arch(root, BT_ARCH, BT_NAME);
    }
#ifdef BERT_FLAVOR_DISTIL
    ok = ok && set_num(root, "dim", (double)c->D) && set_num(root, "n_layers", (double)c->layers) &&
         set_num(root, "n_heads", (double)c->heads) &&
         set_num(root, "hidden_dim", (double)c->ffn) && set_num(root, "dropout", c->dropout) &&
         set_num(root, "attention_dropout", c->attn_dropout) &&
         set_num(root, "seq_classif_dropout", c->cls_dropout);
#else
    ok = ok && set_num(root, "hidden_size", (double)c->D) &&
         set_num(root, "num_hidden_layers", (double)c->layers) &&
         set_num(root, "num_attention_heads", (double)c->heads) &&
         set_num(root, "intermediate_size", (double)c->ffn) &&
         set_num(root, "type_vocab_size", (double)c->type_vocab) &&
         set_num(root, "hidden_dropout_prob", c->dropout) &&
         set_num(root, "attention_probs_dropout_prob", c->attn_dropout);
#endif
    ok = ok && set_num(root, "vocab_size", (double)c->vocab) &&
         set_num(root, "max_position_embeddings", (double)c->max_pos) &&
         hf_add_labels(root, m->label_names, m->L) &&
         cJSON_AddStringToObject(root, "problem_type", "single_label_classification") &&
         cJSON_AddStringToObject(root, "torch_dtype", "float32");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "num_labels"); /* transformers derives it */
    if ((err = hf_finish_config(dir, root, ok)) < 0)
        return err;
    /* the tokenizer beside the weights: tokenizer.json, plus the source folder's files */
    snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
    if ((err = tc_tokenizer_save(m->tok, path)) < 0)
        return err;
    snprintf(tdir, sizeof(tdir), "%s", m->tok_dir);
    if (stat(tdir, &s) == 0 && !S_ISDIR(s.st_mode)) {
        char *slash = strrchr(tdir, '/');
        snprintf(tdir, sizeof(tdir), "%.*s", slash ? (int)(slash - tdir) : 1,
                 slash ? m->tok_dir : ".");
    }
    if ((err = copy_file(tdir, dir, "tokenizer_config.json")) < 0 ||
        (err = copy_file(tdir, dir, "special_tokens_map.json")) < 0)
        return err;
    return copy_file(tdir, dir, "vocab.txt");
}

static const tc_model_vtable bt_vtable = {
    .struct_size = sizeof(tc_model_vtable),
    .create = bt_create,
    .load_pretrained = bt_load_pretrained,
    .forward = bt_forward,
    .save = bt_save,
    .destroy = bt_destroy,
};

static const tc_plugin_desc bt_desc = {
    .struct_size = sizeof(tc_plugin_desc),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .name = BT_NAME,
    .version = "0.1.0",
    .license = "MIT",
#ifdef BERT_FLAVOR_DISTIL
    .description = "DistilBERT sequence classifier (DistilBertForSequenceClassification): Hub "
                   "checkpoints or a fresh model, saved for transformers",
#else
    .description = "BERT sequence classifier (BertForSequenceClassification): Hub checkpoints "
                   "or a fresh model, saved for transformers",
#endif
    .kind = TC_PLUGIN_MODEL,
    .options = bt_options,
    .n_options = sizeof(bt_options) / sizeof(bt_options[0]),
    .vtable = &bt_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    if (host_major != TC_PLUGIN_ABI_MAJOR || host_minor < 1)
        return NULL;
    return &bt_desc;
}
