/*
 * textmodel.c - tokenizer, batch encoding and embeddings for the text model
 * plugins (see textmodel.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/ops.h>
#include <tc/vectors.h>

#include "../../common/hfconfig.h"
#include "textmodel.h"

#define TM_PATH_MAX 4096
#define TM_MAX_READ 4096 /* corpus examples per read */

void tm_log(const tc_host *host, tc_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!host || !host->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    host->log(host->ctx, level, msg);
}

static int build_vocab(tc_tokenizer **out, const tc_options *o, const tc_text_corpus *c,
                       const tc_host *host, const char *who)
{
    tc_wordlevel_options wo = TC_WORDLEVEL_OPTIONS_INIT;
    tc_wordlevel_builder *b = NULL;
    const char **texts = NULL;
    int64_t first, k, step = c->max_read < 1 ? 1 : c->max_read;
    int err;

    wo.lowercase = tc_options_bool(o, "lowercase");
    wo.strip_accents = -1;
    wo.min_freq = tc_options_int(o, "min_freq");
    wo.max_size = (int32_t)tc_options_int(o, "max_vocab");
    if (c->fields < 1 || c->fields > 2)
        return tc_error_set(TC_EINVAL, "%s: the training corpus has %d texts per example", who,
                            c->fields);
    step = step > c->n ? (c->n > 0 ? c->n : 1) : step;
    step = step > TM_MAX_READ ? TM_MAX_READ : step;
    if (!(texts = tc_calloc((size_t)(step * c->fields), sizeof(char *))))
        return TC_ENOMEM;
    if ((err = tc_wordlevel_builder_new(&b, &wo)) < 0)
        goto out;
    for (first = 0; first < c->n; first += step) {
        int64_t n = c->n - first < step ? c->n - first : step;
        if ((err = c->read(c->ctx, first, n, texts)) < 0)
            goto out;
        for (k = 0; k < n * c->fields; k++)
            if (texts[k] && (err = tc_wordlevel_builder_add(b, texts[k], strlen(texts[k]))) < 0)
                goto out;
        if (host && host->is_cancelled && host->is_cancelled(host->ctx)) {
            err = tc_error_set(TC_ECANCELLED, "cancelled while building the vocabulary");
            goto out;
        }
    }
    if ((err = tc_wordlevel_builder_finish(out, b)) < 0)
        goto out;
    tm_log(host, TC_LOG_INFO,
           "%s: vocabulary of %d words (min_freq %lld, max_vocab %lld) from %lld training texts",
           who, tc_tokenizer_vocab_size(*out), (long long)wo.min_freq,
           (long long)tc_options_int(o, "max_vocab"), (long long)c->n);
out:
    tc_wordlevel_builder_free(b);
    tc_free(texts);
    return err;
}

int tm_tokenizer_make(tc_tokenizer **out, const tc_options *o, const tc_data_info *data,
                      const tc_host *host, const char *who)
{
    const char *path = tc_options_string(o, "tokenizer");
    int err;

    *out = NULL;
    if (data->input != TC_INPUT_TEXT)
        return tc_error_set(TC_EINVAL, "%s needs text input; the data plugin gives tensors", who);
    if (path && *path) {
        if ((err = tc_tokenizer_load(out, path)) < 0) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s", tc_error_message());
            return tc_error_set(err, "%s: model.tokenizer: %s", who, msg);
        }
        if (tc_tokenizer_pad_id(*out) < 0) {
            tc_tokenizer_free(*out);
            *out = NULL;
            return tc_error_set(TC_EINVAL,
                                "%s: model.tokenizer '%s' has no padding token ([PAD] or <pad>)",
                                who, path);
        }
        return TC_OK;
    }
    if (!data->train_texts || !data->train_texts->read)
        return tc_error_set(TC_EINVAL,
                            "%s: no model.tokenizer was given and the host offers no training "
                            "texts to build a vocabulary from (plugin ABI 1.1 hosts do)",
                            who);
    return build_vocab(out, o, data->train_texts, host, who);
}

int tm_encode(tm_ids *out, tc_graph *g, const tc_tokenizer *tok, const tc_batch *b,
              int32_t max_length, int padded)
{
    tc_encode_options eo = TC_ENCODE_OPTIONS_INIT;
    int64_t B = b->size, i, T = 0, n = 0;
    tc_encoding *enc;
    int32_t pad = tc_tokenizer_pad_id(tok);
    int64_t bad = -1;
    int err = TC_OK;

    memset(out, 0, sizeof(*out));
    if (!b->texts)
        return tc_error_set(TC_EINVAL, "the batch holds no texts");
    if (max_length > 0) {
        eo.truncation = TC_TRUNCATION_LONGEST_FIRST;
        eo.max_length = max_length;
    }
    if (!(enc = tc_calloc((size_t)(B > 0 ? B : 1), sizeof(*enc))))
        return TC_ENOMEM;
    for (i = 0; i < B; i++) {
        const char *t = b->texts[i] ? b->texts[i] : "";
        const char *p = b->pairs ? (b->pairs[i] ? b->pairs[i] : "") : NULL;
        if (tc_tokenizer_encode(&enc[i], tok, t, strlen(t), p, p ? strlen(p) : 0, &eo) < 0) {
            bad = i;
            break;
        }
    }
    if (bad >= 0) {
        /* again, for the error message */
        const char *t = b->texts[bad] ? b->texts[bad] : "";
        const char *p = b->pairs ? (b->pairs[bad] ? b->pairs[bad] : "") : NULL;
        tc_encoding e = {0};
        err = tc_tokenizer_encode(&e, tok, t, strlen(t), p, p ? strlen(p) : 0, &eo);
        tc_encoding_dispose(&e);
        if (err >= 0)
            err = tc_error_set(TC_ERROR, "text %lld of the batch could not be encoded",
                               (long long)bad);
        goto out;
    }
    for (i = 0; i < B; i++) {
        T = (int64_t)enc[i].len > T ? (int64_t)enc[i].len : T;
        n += (int64_t)enc[i].len;
    }
    out->B = B;
    out->T = padded ? (T > 0 ? T : 1) : 0;
    out->n = padded ? B * out->T : n;
    out->ids = tc_graph_alloc(g, (size_t)(out->n > 0 ? out->n : 1) * sizeof(int32_t));
    out->lengths = tc_graph_alloc(g, (size_t)(B > 0 ? B : 1) * sizeof(int32_t));
    out->offsets = tc_graph_alloc(g, (size_t)(B + 1) * sizeof(int64_t));
    if (!out->ids || !out->lengths || !out->offsets) {
        err = tc_error_set(TC_ENOMEM, "out of memory encoding a batch");
        goto out;
    }
    out->offsets[0] = 0;
    for (i = 0; i < B; i++) {
        int64_t len = (int64_t)enc[i].len, k;
        int32_t *row = out->ids + (padded ? i * out->T : out->offsets[i]);
        memcpy(row, enc[i].ids, (size_t)len * sizeof(int32_t));
        if (padded)
            for (k = len; k < out->T; k++)
                row[k] = pad;
        out->lengths[i] = (int32_t)len;
        out->offsets[i + 1] = out->offsets[i] + len;
    }
out:
    for (i = 0; i < B; i++)
        tc_encoding_dispose(&enc[i]);
    tc_free(enc);
    return err;
}

int tm_init_embeddings(tc_tensor *table, const tc_tokenizer *tok, const char *vectors, float std,
                       tc_rng *rng, const tc_host *host, const char *who)
{
    int64_t V = table->shape[0], D = table->shape[1];
    int32_t pad = tc_tokenizer_pad_id(tok), dim = 0;
    tc_vectors_stats st;
    int err;

    tc_init_normal(table, rng, 0.0f, std);
    if (pad >= 0 && pad < V)
        memset(table->data + (int64_t)pad * D, 0, (size_t)D * sizeof(float));
    if (!vectors || !*vectors)
        return TC_OK;
    if ((err = tc_vectors_probe(vectors, &dim)) < 0)
        return err;
    if (dim != D)
        return tc_error_set(TC_EINVAL,
                            "%s: model.vectors '%s' has %d dimensions but model.embed_dim is "
                            "%lld; set embed_dim: %d",
                            who, vectors, dim, (long long)D, dim);
    if ((err = tc_vectors_load(vectors, tok, table->data, V, dim, TC_VECTORS_LOWERCASE_FALLBACK,
                               &st)) < 0)
        return err;
    tm_log(host, TC_LOG_INFO, "%s: %lld of %d vocabulary words got a vector from %s (%lld lines)",
           who, (long long)st.matched, tc_tokenizer_vocab_size(tok), vectors, (long long)st.lines);
    return TC_OK;
}

int32_t tm_max_length(const tc_options *o, const tc_data_info *data)
{
    if (!tc_options_is_set(o, "max_length") && data->max_length > 0)
        return data->max_length;
    return (int32_t)tc_options_int(o, "max_length");
}

static int save_tokenizer(const char *dir, const tc_tokenizer *tok)
{
    char path[TM_PATH_MAX];

    if ((size_t)snprintf(path, sizeof(path), "%s/tokenizer.json", dir) >= sizeof(path))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", dir);
    return tc_tokenizer_save(tok, path);
}

static int check_tokenizer(const char *dir, const tc_tokenizer *tok, const char *who)
{
    char path[TM_PATH_MAX];
    tc_tokenizer *theirs = NULL;
    struct stat st;
    int32_t i, n;
    int err;

    if ((size_t)snprintf(path, sizeof(path), "%s/tokenizer.json", dir) >= sizeof(path))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", dir);
    if (stat(path, &st) < 0)
        return TC_OK; /* weights without a tokenizer: the shapes are checked on load */
    if ((err = tc_tokenizer_load(&theirs, path)) < 0)
        return err;
    n = tc_tokenizer_vocab_size(theirs);
    err = TC_OK;
    if (n != tc_tokenizer_vocab_size(tok)) {
        err = tc_error_set(TC_EINVAL,
                           "%s: '%s' has a vocabulary of %d words, this model %d; set "
                           "model.tokenizer: %s to train on from those weights",
                           who, path, n, tc_tokenizer_vocab_size(tok), dir);
    } else {
        for (i = 0; i < n; i++) {
            const char *a = tc_tokenizer_id_to_token(theirs, i);
            const char *b = tc_tokenizer_id_to_token(tok, i);
            if ((a == NULL) != (b == NULL) || (a && strcmp(a, b))) {
                err = tc_error_set(TC_EINVAL,
                                   "%s: '%s' maps id %d to '%s', this model to '%s'; set "
                                   "model.tokenizer: %s",
                                   who, path, i, a ? a : "(none)", b ? b : "(none)", dir);
                break;
            }
        }
    }
    tc_tokenizer_free(theirs);
    return err;
}

int tm_save(const char *dir, cJSON *root, int ok, char *const *label_names, int32_t L,
            const tc_tokenizer *tok)
{
    int err;

    ok = ok && root && cJSON_AddNumberToObject(root, "pad_token_id", tc_tokenizer_pad_id(tok)) &&
         hf_add_labels(root, label_names, L) &&
         cJSON_AddStringToObject(root, "torch_dtype", "float32") &&
         cJSON_AddStringToObject(root, "tc_version", tc_version());
    if ((err = hf_finish_config(dir, root, ok)) < 0)
        return err;
    return save_tokenizer(dir, tok);
}

int tm_load_pretrained(tc_params *params, const tc_tokenizer *tok, const char *dir, const char *who)
{
    char path[TM_PATH_MAX];
    int err;

    if ((size_t)snprintf(path, sizeof(path), "%s/model.safetensors", dir) >= sizeof(path))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", dir);
    if (access(path, R_OK) < 0)
        return tc_error_set(TC_ENOTFOUND, "cannot read '%s': %s", path, strerror(errno));
    if ((err = check_tokenizer(dir, tok, who)) < 0)
        return err;
    return tc_params_load(params, path, 0);
}
