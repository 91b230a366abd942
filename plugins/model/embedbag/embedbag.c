/*
 * embedbag.c - the "embedbag" model plugin: a fastText-style text
 * classifier, the mean of a text's token embeddings (and of its hashed word
 * bigrams) through a linear layer.
 *
 *   tokens t_1..t_n -> ids, plus bigram ids V + hash(t_i, t_i+1) mod buckets
 *   -> mean of embeddings.weight rows (torch.nn.EmbeddingBag, mode "mean")
 *   -> dropout -> classifier (Linear D -> L) -> logits
 *
 * As fastText (Joulin et al. 2016, "Bag of Tricks for Efficient Text
 * Classification"), words and bigram buckets share one table of V + buckets
 * rows. The tokenizer is the shared one of the text models (textmodel.h): a
 * word-level vocabulary built from the training texts unless model.tokenizer
 * names one. Embeddings start N(0, 1) as torch.nn.EmbeddingBag (the pad row
 * zero), overwritten by pretrained vectors for the words they have; the
 * classifier starts as torch.nn.Linear.
 *
 * Parameters: embeddings.weight (V + buckets, D), classifier.weight (L, D),
 * classifier.bias (L). save() writes config.json and tokenizer.json beside
 * the host's model.safetensors; load_pretrained() checks the folder's
 * tokenizer against the model's, then loads the weights.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include <tc/ops.h>
#include <tc/plugin.h>

#include "../../common/hfconfig.h"
#include "../../common/labels.h"
#include "../common/textmodel.h"

#define EB_WHO "embedbag"

typedef struct embedbag {
    tc_params *params; /* borrowed from create */
    tc_tokenizer *tok;
    int64_t V, buckets, D;
    int32_t L, ngrams, max_length;
    double dropout;
    char **label_names;
    char *vectors;
    tc_tensor *emb, *cls_w, *cls_b;
} embedbag;

static const tc_option_spec eb_options[] = {
    {"embed_dim", TC_OPTION_INT, "64", "width of the token embeddings", 1, 65536},
    {"ngrams", TC_OPTION_INT, "2", "1: words only; 2: also hashed word bigrams (fastText)", 1, 2},
    {"buckets", TC_OPTION_INT, "200000", "hash buckets for bigrams (rows added to the table)", 1,
     16777216},
    {"dropout", TC_OPTION_FLOAT, "0.0", "dropout on the mean embedding", 0, 0.99},
    {"max_length", TC_OPTION_INT, "0", "tokens kept per text, from the start (0: all)", 0, 1048576},
    TM_TOKENIZER_OPTIONS,
};

static void eb_destroy(void *self)
{
    embedbag *m = self;

    if (!m)
        return;
    tc_tokenizer_free(m->tok);
    labels_free(m->label_names, m->L);
    tc_free(m->vectors);
    tc_free(m);
}

static int eb_create(void **out, const tc_options *opts, const tc_data_info *data,
                     tc_params *params, tc_rng *init_rng, const tc_host *host)
{
    embedbag *m;
    int64_t shape[2];
    const char *vec;
    int err;

    TC_ASSERT_ARG(out && opts && data && params && init_rng);
    if (!(m = tc_calloc(1, sizeof(*m))))
        return TC_ENOMEM;
    m->params = params;
    m->D = tc_options_int(opts, "embed_dim");
    m->ngrams = (int32_t)tc_options_int(opts, "ngrams");
    m->buckets = m->ngrams >= 2 ? tc_options_int(opts, "buckets") : 0;
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
    if ((err = tm_tokenizer_make(&m->tok, opts, data, host, EB_WHO)) < 0)
        goto out;
    m->V = tc_tokenizer_vocab_size(m->tok);
    shape[0] = m->V + m->buckets;
    shape[1] = m->D;
    if ((err = tc_params_add(params, &m->emb, "embeddings.weight", 2, shape, 0)) < 0)
        goto out;
    shape[0] = m->L;
    if ((err = tc_params_add(params, &m->cls_w, "classifier.weight", 2, shape, 0)) < 0)
        goto out;
    if ((err = tc_params_add(params, &m->cls_b, "classifier.bias", 1, shape, TC_TENSOR_NO_DECAY)) <
        0)
        goto out;
    /* Initialise after every add: adding may move the flat buffers. */
    if ((err = tm_init_embeddings(m->emb, m->tok, m->vectors, 1.0f, init_rng, host, EB_WHO)) < 0)
        goto out;
    tc_init_linear(m->cls_w, m->cls_b, init_rng);
    *out = m;
    m = NULL;
out:
    eb_destroy(m);
    return err;
}

/* The bucket of the bigram (a, b): a 64-bit mix of both ids, as fastText hashes n-grams. */
static int64_t bigram_bucket(int32_t a, int32_t b, int64_t buckets)
{
    uint64_t h = (uint64_t)(uint32_t)a * 116049371ull + (uint64_t)(uint32_t)b;

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (int64_t)(h % (uint64_t)buckets);
}

static int eb_forward(void *self, tc_graph *g, const tc_batch *batch, tc_tensor **out_logits)
{
    embedbag *m = self;
    tm_ids x;
    int64_t *offsets, i, k, n = 0;
    int32_t *ids;
    tc_tensor *h;
    int err;

    TC_ASSERT_ARG(m && g && batch && out_logits);
    if ((err = tm_encode(&x, g, m->tok, batch, m->max_length, 0)) < 0)
        return err;
    /* each row: its words, then (ngrams 2) the buckets of its len - 1 bigrams */
    ids = tc_graph_alloc(g, (size_t)(2 * x.n + 1) * sizeof(int32_t));
    offsets = tc_graph_alloc(g, (size_t)(x.B + 1) * sizeof(int64_t));
    if (!ids || !offsets)
        return tc_error_set(TC_ENOMEM, "out of memory for a batch of %lld tokens", (long long)x.n);
    offsets[0] = 0;
    for (i = 0; i < x.B; i++) {
        const int32_t *row = x.ids + x.offsets[i];
        int64_t len = x.offsets[i + 1] - x.offsets[i];
        for (k = 0; k < len; k++)
            ids[n++] = row[k];
        if (m->buckets > 0)
            for (k = 0; k + 1 < len; k++)
                ids[n++] = (int32_t)(m->V + bigram_bucket(row[k], row[k + 1], m->buckets));
        offsets[i + 1] = n;
    }
    h = tc_embedding_bag(g, m->emb, ids, offsets, x.B, 1); /* (B, D) */
    h = tc_dropout(g, h, (float)m->dropout);
    h = tc_linear(g, h, m->cls_w, m->cls_b); /* (B, L) */
    if (!h) {
        err = tc_graph_status(g);
        return err < 0 ? err : tc_error_set(TC_ERROR, "embedbag forward failed");
    }
    *out_logits = h;
    return TC_OK;
}

static int eb_load_pretrained(void *self, const char *dir)
{
    embedbag *m = self;

    TC_ASSERT_ARG(m && dir);
    return tm_load_pretrained(m->params, m->tok, dir, EB_WHO);
}

static int eb_save(void *self, const char *dir)
{
    embedbag *m = self;
    cJSON *root = cJSON_CreateObject();
    int ok;

    TC_ASSERT_ARG(m && dir);
    ok = root && hf_add_arch(root, "TcEmbeddingBagForSequenceClassification", "tc-embedbag");
    ok = ok && cJSON_AddNumberToObject(root, "vocab_size", (double)m->V);
    ok = ok && cJSON_AddNumberToObject(root, "ngrams", m->ngrams);
    ok = ok && cJSON_AddNumberToObject(root, "bigram_buckets", (double)m->buckets);
    ok = ok && cJSON_AddStringToObject(root, "bigram_hash", "splitmix-fold(a*116049371+b)");
    ok = ok && cJSON_AddNumberToObject(root, "embed_dim", (double)m->D);
    ok = ok && cJSON_AddStringToObject(root, "pooling", "mean");
    ok = ok && cJSON_AddNumberToObject(root, "dropout", m->dropout);
    ok = ok && cJSON_AddNumberToObject(root, "max_length", m->max_length);
    return tm_save(dir, root, ok, m->label_names, m->L, m->tok);
}

static const tc_model_vtable eb_vtable = {
    .struct_size = sizeof(tc_model_vtable),
    .create = eb_create,
    .load_pretrained = eb_load_pretrained,
    .forward = eb_forward,
    .save = eb_save,
    .destroy = eb_destroy,
};

static const tc_plugin_desc eb_desc = {
    .struct_size = sizeof(tc_plugin_desc),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .name = "embedbag",
    .version = "0.1.0",
    .license = "MIT",
    .description = "fastText-style text classifier: mean of word (and hashed bigram) embeddings, "
                   "linear head",
    .kind = TC_PLUGIN_MODEL,
    .options = eb_options,
    .n_options = sizeof(eb_options) / sizeof(eb_options[0]),
    .vtable = &eb_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    /* the training corpus (vocabulary) and text pairs need a 1.1 host */
    if (host_major != TC_PLUGIN_ABI_MAJOR || host_minor < 1)
        return NULL;
    return &eb_desc;
}
