/*
 * lstm.c - the "lstm" model plugin: token embeddings, a stacked (optionally
 * bidirectional) LSTM, and a linear head on the final states.
 *
 *   ids (B, T), padded per batch -> embedding (B, T, D) -> dropout
 *   -> LSTM layer 1..layers (each direction: x @ w_ih^T + b_ih + b_hh over
 *      all steps at once, then the recurrence; directions concatenated;
 *      dropout between layers, as torch.nn.LSTM's dropout)
 *   -> final states: the forward direction at each text's last token, the
 *      backward direction at its first (torch's h_n), concatenated
 *   -> dropout -> classifier (Linear H * directions -> L) -> logits
 *
 * Parameters carry torch.nn.LSTM's names and shapes: embedding.weight
 * (V, D); lstm.weight_ih_l{k}[_reverse] (4H, in), lstm.weight_hh_l{k}[_reverse]
 * (4H, H), lstm.bias_ih_l{k}[_reverse] and lstm.bias_hh_l{k}[_reverse] (4H),
 * gate order [i, f, g, o]; classifier.weight (L, H * dirs), classifier.bias
 * (L). A saved model loads into torch.nn.Embedding + torch.nn.LSTM(batch_first)
 * + torch.nn.Linear by name. Initialisation as torch: LSTM weights and biases
 * U(-1/sqrt(H), 1/sqrt(H)), embeddings N(0, 1) with the pad row zero (then
 * the pretrained vectors where given), the classifier as torch.nn.Linear.
 *
 * Texts are cut to max_length tokens (default 256) and each batch is padded
 * to its longest text; the recurrence stops at each text's length, so
 * padding changes nothing.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <tc/ops.h>
#include <tc/plugin.h>

#include "../../common/hfconfig.h"
#include "../../common/labels.h"
#include "../common/textmodel.h"

#define LS_WHO "lstm"
#define LS_MAX_LAYERS 8

typedef struct ls_dir {
    tc_tensor *w_ih, *w_hh, *b_ih, *b_hh;
} ls_dir;

typedef struct lstm {
    tc_params *params; /* borrowed from create */
    tc_tokenizer *tok;
    int64_t V, D, H;
    int32_t L, layers, dirs, max_length;
    double dropout;
    char **label_names;
    char *vectors;
    tc_tensor *emb, *cls_w, *cls_b;
    ls_dir cell[LS_MAX_LAYERS][2];
} lstm;

static const tc_option_spec ls_options[] = {
    {"embed_dim", TC_OPTION_INT, "100", "width of the token embeddings", 1, 65536},
    {"hidden", TC_OPTION_INT, "128", "LSTM hidden size per direction", 1, 16384},
    {"layers", TC_OPTION_INT, "1", "stacked LSTM layers", 1, LS_MAX_LAYERS},
    {"bidirectional", TC_OPTION_BOOL, "true", "also run each layer from the end of the text", 1, 0},
    {"dropout", TC_OPTION_FLOAT, "0.3",
     "dropout on the embeddings, between layers and before the classifier", 0, 0.99},
    {"max_length", TC_OPTION_INT, "256", "tokens kept per text, from the start (0: all)", 0,
     1048576},
    TM_TOKENIZER_OPTIONS,
};

static void ls_destroy(void *self)
{
    lstm *m = self;

    if (!m)
        return;
    tc_tokenizer_free(m->tok);
    labels_free(m->label_names, m->L);
    tc_free(m->vectors);
    tc_free(m);
}

static int add(tc_params *p, tc_tensor **t, const char *name, int32_t l, int reverse, int64_t rows,
               int64_t cols, uint32_t flags)
{
    char full[96];
    int64_t shape[2] = {rows, cols};

    snprintf(full, sizeof(full), "lstm.%s_l%d%s", name, (int)l, reverse ? "_reverse" : "");
    return tc_params_add(p, t, full, cols ? 2 : 1, shape, flags);
}

static int ls_create(void **out, const tc_options *opts, const tc_data_info *data,
                     tc_params *params, tc_rng *init_rng, const tc_host *host)
{
    lstm *m;
    int64_t shape[2];
    const char *vec;
    int32_t l, d;
    int err;

    TC_ASSERT_ARG(out && opts && data && params && init_rng);
    if (!(m = tc_calloc(1, sizeof(*m))))
        return TC_ENOMEM;
    m->params = params;
    m->D = tc_options_int(opts, "embed_dim");
    m->H = tc_options_int(opts, "hidden");
    m->layers = (int32_t)tc_options_int(opts, "layers");
    m->dirs = tc_options_bool(opts, "bidirectional") ? 2 : 1;
    m->dropout = tc_options_float(opts, "dropout");
    m->max_length = tm_max_length(opts, data);
    m->L = data->num_labels;
    vec = tc_options_string(opts, "vectors");
    if (vec && !(m->vectors = tc_strdup(vec))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = labels_copy(&m->label_names, m->L, data->label_names)) < 0)
        goto out;
    if ((err = tm_tokenizer_make(&m->tok, opts, data, host, LS_WHO)) < 0)
        goto out;
    m->V = tc_tokenizer_vocab_size(m->tok);
    shape[0] = m->V;
    shape[1] = m->D;
    if ((err = tc_params_add(params, &m->emb, "embedding.weight", 2, shape, 0)) < 0)
        goto out;
    for (l = 0; l < m->layers; l++)
        for (d = 0; d < m->dirs; d++) {
            ls_dir *c = &m->cell[l][d];
            int64_t in = l == 0 ? m->D : m->H * m->dirs;
            if ((err = add(params, &c->w_ih, "weight_ih", l, d, 4 * m->H, in, 0)) < 0 ||
                (err = add(params, &c->w_hh, "weight_hh", l, d, 4 * m->H, m->H, 0)) < 0 ||
                (err = add(params, &c->b_ih, "bias_ih", l, d, 4 * m->H, 0, TC_TENSOR_NO_DECAY)) <
                    0 ||
                (err = add(params, &c->b_hh, "bias_hh", l, d, 4 * m->H, 0, TC_TENSOR_NO_DECAY)) < 0)
                goto out;
        }
    shape[0] = m->L;
    shape[1] = m->H * m->dirs;
    if ((err = tc_params_add(params, &m->cls_w, "classifier.weight", 2, shape, 0)) < 0 ||
        (err = tc_params_add(params, &m->cls_b, "classifier.bias", 1, shape, TC_TENSOR_NO_DECAY)) <
            0)
        goto out;
    /* Initialise after every add (adding may move the flat buffers), in declaration order. */
    if ((err = tm_init_embeddings(m->emb, m->tok, m->vectors, 1.0f, init_rng, host, LS_WHO)) < 0)
        goto out;
    for (l = 0; l < m->layers; l++)
        for (d = 0; d < m->dirs; d++) {
            ls_dir *c = &m->cell[l][d];
            float k = 1.0f / sqrtf((float)m->H);
            tc_init_uniform(c->w_ih, init_rng, -k, k);
            tc_init_uniform(c->w_hh, init_rng, -k, k);
            tc_init_uniform(c->b_ih, init_rng, -k, k);
            tc_init_uniform(c->b_hh, init_rng, -k, k);
        }
    tc_init_linear(m->cls_w, m->cls_b, init_rng);
    *out = m;
    m = NULL;
out:
    ls_destroy(m);
    return err;
}

static int ls_forward(void *self, tc_graph *g, const tc_batch *batch, tc_tensor **out_logits)
{
    lstm *m = self;
    float p = (float)m->dropout;
    int32_t *last, *first, l;
    tc_tensor *x, *fin = NULL;
    int64_t shape[3], i;
    tm_ids ids;
    int err;

    TC_ASSERT_ARG(m && g && batch && out_logits);
    if ((err = tm_encode(&ids, g, m->tok, batch, m->max_length, 1)) < 0)
        return err;
    last = tc_graph_alloc(g, (size_t)ids.B * sizeof(int32_t));
    first = tc_graph_alloc(g, (size_t)ids.B * sizeof(int32_t));
    if (!last || !first)
        return tc_error_set(TC_ENOMEM, "out of memory for a batch");
    for (i = 0; i < ids.B; i++) {
        /* an empty text selects t = 0, where the LSTM output is 0 */
        last[i] = ids.lengths[i] > 0 ? ids.lengths[i] - 1 : 0;
        first[i] = 0;
    }
    shape[0] = ids.B;
    shape[1] = ids.T;
    shape[2] = m->D;
    x = tc_embedding(g, m->emb, ids.ids, ids.B * ids.T); /* (B*T, D) */
    x = tc_reshape(g, x, 3, shape);                      /* (B, T, D) */
    x = tc_dropout(g, x, p);
    for (l = 0; l < m->layers; l++) {
        const ls_dir *f = &m->cell[l][0], *b = &m->cell[l][1];
        tc_tensor *hf, *hb = NULL;
        if (l > 0)
            x = tc_dropout(g, x, p);
        hf = tc_lstm(g, tc_bias_add(g, tc_linear(g, x, f->w_ih, f->b_ih), f->b_hh), f->w_hh,
                     ids.lengths, 0); /* (B, T, H) */
        if (m->dirs == 2)
            hb = tc_lstm(g, tc_bias_add(g, tc_linear(g, x, b->w_ih, b->b_ih), b->b_hh), b->w_hh,
                         ids.lengths, 1);
        if (l + 1 == m->layers) {
            fin = tc_select_steps(g, hf, last); /* (B, H) */
            if (m->dirs == 2)
                fin = tc_concat(g, fin, tc_select_steps(g, hb, first));
        }
        x = m->dirs == 2 ? tc_concat(g, hf, hb) : hf;
    }
    fin = tc_dropout(g, fin, p);
    fin = tc_linear(g, fin, m->cls_w, m->cls_b); /* (B, L) */
    if (!fin) {
        err = tc_graph_status(g);
        return err < 0 ? err : tc_error_set(TC_ERROR, "lstm forward failed");
    }
    *out_logits = fin;
    return TC_OK;
}

static int ls_load_pretrained(void *self, const char *dir)
{
    lstm *m = self;

    TC_ASSERT_ARG(m && dir);
    return tm_load_pretrained(m->params, m->tok, dir, LS_WHO);
}

static int ls_save(void *self, const char *dir)
{
    lstm *m = self;
    cJSON *root = cJSON_CreateObject();
    int ok;

    TC_ASSERT_ARG(m && dir);
    ok = root && hf_add_arch(root, "TcLSTMForSequenceClassification", "tc-lstm");
    ok = ok && cJSON_AddNumberToObject(root, "vocab_size", (double)m->V);
    ok = ok && cJSON_AddNumberToObject(root, "embed_dim", (double)m->D);
    ok = ok && cJSON_AddNumberToObject(root, "hidden_size", (double)m->H);
    ok = ok && cJSON_AddNumberToObject(root, "num_layers", m->layers);
    ok = ok && cJSON_AddBoolToObject(root, "bidirectional", m->dirs == 2);
    ok = ok && cJSON_AddStringToObject(root, "pooling", "final_states");
    ok = ok && cJSON_AddNumberToObject(root, "dropout", m->dropout);
    ok = ok && cJSON_AddNumberToObject(root, "max_length", m->max_length);
    return tm_save(dir, root, ok, m->label_names, m->L, m->tok);
}

static const tc_model_vtable ls_vtable = {
    .struct_size = sizeof(tc_model_vtable),
    .create = ls_create,
    .load_pretrained = ls_load_pretrained,
    .forward = ls_forward,
    .save = ls_save,
    .destroy = ls_destroy,
};

static const tc_plugin_desc ls_desc = {
    .struct_size = sizeof(tc_plugin_desc),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .name = "lstm",
    .version = "0.1.0",
    .license = "MIT",
    .description = "LSTM text classifier: embeddings, stacked (bi)LSTM, linear head on the final "
                   "states",
    .kind = TC_PLUGIN_MODEL,
    .options = ls_options,
    .n_options = sizeof(ls_options) / sizeof(ls_options[0]),
    .vtable = &ls_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    /* the training corpus (vocabulary) and text pairs need a 1.1 host */
    if (host_major != TC_PLUGIN_ABI_MAJOR || host_minor < 1)
        return NULL;
    return &ls_desc;
}
