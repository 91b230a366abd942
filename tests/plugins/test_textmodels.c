/*
 * test_textmodels.c - the text model plugins embedbag and lstm, loaded from
 * the build tree as the worker loads them, on made-up text datasets whose
 * training texts the test offers through a tc_text_corpus of its own.
 *
 * The whole forward of both models is compared with PyTorch
 * (tests/fixtures/textmodels_fixture.txt, from
 * tests/plugins/gen_textmodels_fixture.py) on the "w" vocabulary: <pad> 0,
 * <unk> 1, then "w2" .. "w19" with ids 2 .. 19.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/ops.h>
#include <tc/params.h>
#include <tc/plugin.h>
#include <tc/tokenizer.h>

#include "plugin_test.h"

#define WV 20   /* the "w" vocabulary: <pad>, <unk>, w2 .. w19 */
#define MAXB 16 /* largest batch a test forwards */
#define MAXL 3  /* most labels */
#define PATHLEN 512

enum { EB = 0, LS = 1 };

static const char *const plugin_names[2] = {"embedbag", "lstm"};
static const tc_plugin_desc *descs[2];
static const tc_model_vtable *vts[2];
static char wtok_path[PATHLEN]; /* tokenizer.json of the "w" vocabulary */

static const char *const label_names[MAXL] = {"neg", "pos", "mixed"};

/* ---- a corpus over arrays of strings ------------------------------------------------------ */

typedef struct corpus {
    const char *const *first;  /* n texts */
    const char *const *second; /* n second texts (pairs), or NULL */
    int64_t n, max_read;
    int64_t reads, bad_reads; /* calls, and calls outside the contract */
    tc_text_corpus c;
} corpus;

static int corpus_read(void *ctx, int64_t first, int64_t n, const char **texts)
{
    corpus *cp = ctx;
    int64_t k;

    cp->reads++;
    if (n < 1 || n > cp->max_read || first < 0 || first + n > cp->n) {
        cp->bad_reads++;
        return tc_error_set(TC_EINVAL, "corpus read [%lld, +%lld) out of contract",
                            (long long)first, (long long)n);
    }
    for (k = 0; k < n; k++) {
        texts[k] = cp->first[first + k];
        if (cp->second)
            texts[n + k] = cp->second[first + k];
    }
    return TC_OK;
}

static void corpus_init(corpus *cp, const char *const *first, const char *const *second, int64_t n,
                        int64_t max_read)
{
    memset(cp, 0, sizeof(*cp));
    cp->first = first;
    cp->second = second;
    cp->n = n;
    cp->max_read = max_read;
    cp->c.struct_size = sizeof(cp->c);
    cp->c.n = n;
    cp->c.fields = second ? 2 : 1;
    cp->c.max_read = max_read;
    cp->c.ctx = cp;
    cp->c.read = corpus_read;
}

/* A text dataset of num_labels classes whose training texts are cp (NULL: none offered). */
static tc_data_info text_data(corpus *cp, int32_t num_labels)
{
    tc_data_info d;

    memset(&d, 0, sizeof(d));
    d.input = TC_INPUT_TEXT;
    d.num_labels = num_labels;
    d.label_names = label_names;
    d.split_size[TC_SPLIT_TRAIN] = cp ? cp->n : 100;
    d.text_fields = cp && cp->second ? 2 : 1;
    d.train_texts = cp ? &cp->c : NULL;
    return d;
}

/* ---- setup -------------------------------------------------------------------------------- */

/* The "w" tokenizer: wk appears 20 - k times, so the builder gives it id k. */
static int make_wtok(void)
{
    tc_wordlevel_builder *b = NULL;
    tc_tokenizer *tok = NULL;
    char text[2048] = "", word[16];
    int k, r, bad = 0;

    for (k = 2; k < WV; k++)
        for (r = 0; r < WV - k; r++) {
            snprintf(word, sizeof(word), "w%d ", k);
            strncat(text, word, sizeof(text) - strlen(text) - 1);
        }
    if (tc_wordlevel_builder_new(&b, NULL) < 0 ||
        tc_wordlevel_builder_add(b, text, strlen(text)) < 0 ||
        tc_wordlevel_builder_finish(&tok, b) < 0)
        goto fail;
    for (k = 2; k < WV; k++) {
        snprintf(word, sizeof(word), "w%d", k);
        bad += tc_tokenizer_token_to_id(tok, word, strlen(word)) != k;
    }
    if (bad || tc_tokenizer_vocab_size(tok) != WV || tc_tokenizer_pad_id(tok) != 0 ||
        tc_tokenizer_unk_id(tok) != 1) {
        fprintf(stderr, "the w vocabulary is not as the fixture wants\n");
        goto fail;
    }
    snprintf(wtok_path, sizeof(wtok_path), "%s/wtok.json", plugin_test_dir);
    if (tc_tokenizer_save(tok, wtok_path) < 0)
        goto fail;
    tc_tokenizer_free(tok);
    tc_wordlevel_builder_free(b);
    return 0;
fail:
    fprintf(stderr, "w tokenizer: %s\n", tc_error_message());
    tc_tokenizer_free(tok);
    tc_wordlevel_builder_free(b);
    return -1;
}

/* After plugin_test_setup: the vtables, and the "w" tokenizer in the scratch directory. */
static int setup_more(void)
{
    int i;

    for (i = 0; i < 2; i++) {
        descs[i] = tc_plugin_descriptor(plugin_test_plugins[i]);
        vts[i] = descs[i]->vtable;
    }
    return make_wtok();
}

/* Load both plugins and make a scratch directory once per process. */
static int setup(void)
{
    return plugin_test_setup("textmodels", plugin_names, 2, setup_more);
}

#define TM_TEST(name) PLUGIN_TEST(name, setup, "text model plugins setup")

/* ---- models ------------------------------------------------------------------------------- */

typedef plugin_test_model model;

/* A model of the given options (NULL-terminated name, value pairs) in fresh params. */
static int model_make(model *out, int kind, const char *const *kv, const tc_data_info *data,
                      uint64_t seed)
{
    return plugin_test_model_make(out, kind, descs[kind], kv, data, seed);
}

/* Evaluation-mode logits of n texts (and pairs, or NULL) into out (n, L). */
static int forward(const model *md, const char *const *texts, const char *const *pairs, int64_t n,
                   float *out)
{
    int32_t labels[MAXB] = {0};
    tc_batch b = {.size = n, .texts = texts, .labels = labels, .pairs = pairs};
    tc_tensor *logits = NULL;
    tc_graph *g = NULL;
    int err;

    if (n > MAXB)
        return tc_error_set(TC_EINVAL, "test batch too large");
    if ((err = tc_graph_new(&g, 0)) < 0)
        return err;
    tc_graph_set_training(g, 0);
    if ((err = md->vt->forward(md->m, g, &b, &logits)) < 0)
        goto out;
    if (!logits || logits->ndim != 2 || logits->shape[0] != n || logits->shape[1] != md->L) {
        err = tc_error_set(TC_ERROR, "logits are not (%lld, %d)", (long long)n, (int)md->L);
        goto out;
    }
    memcpy(out, logits->data, (size_t)(n * md->L) * sizeof(float));
out:
    tc_graph_free(g);
    return err;
}

static double max_abs_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    int64_t i;

    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static int all_finite(const float *a, int64_t n)
{
    int64_t i;

    for (i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

/* The embedding table of a model. */
static tc_tensor *emb_table(const model *md)
{
    return tc_params_find(md->p, md->kind == EB ? "embeddings.weight" : "embedding.weight");
}

static int row_is_zero(const tc_tensor *t, int64_t row)
{
    int64_t k;

    for (k = 0; k < t->shape[1]; k++)
        if (t->data[row * t->shape[1] + k] != 0.0f)
            return 0;
    return 1;
}

static void wtok_opts(const char **kv, size_t cap, const char *const *extra)
{
    size_t n = 0, i;

    kv[n++] = "tokenizer";
    kv[n++] = wtok_path;
    for (i = 0; extra && extra[i] && n + 1 < cap; i++)
        kv[n++] = extra[i];
    kv[n] = NULL;
}

/* A saved tokenizer (DIR/tokenizer.json), loaded; NULL on error. */
static tc_tokenizer *saved_tokenizer(const char *dir)
{
    char path[PATHLEN];
    tc_tokenizer *tok = NULL;

    snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
    if (tc_tokenizer_load(&tok, path) < 0)
        fprintf(stderr, "%s: %s\n", path, tc_error_message());
    return tok;
}

static int id_of(const tc_tokenizer *tok, const char *w)
{
    return tc_tokenizer_token_to_id(tok, w, strlen(w));
}

/* Make DIR under the scratch directory and save the model there as the host does. */
static int save_model(const model *md, const char *name, char *dir, size_t cap)
{
    char path[PATHLEN + 32];
    int err;

    snprintf(dir, cap, "%s/%s", plugin_test_dir, name);
    if (mkdir(dir, 0755) < 0)
        return tc_error_set(TC_EIO, "mkdir '%s'", dir);
    if ((err = md->vt->save(md->m, dir)) < 0)
        return err;
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    return tc_params_save(md->p, path, NULL);
}

/* ---- 1. vocabulary and parameters --------------------------------------------------------- */

/* the 4, cat 3, sat 2, then dog, ran, a, bird, end once each ("The" lowercased) */
static const char *const animals[] = {"The cat sat", "the dog sat", "the cat ran",
                                      "a bird",      "The end",     "cat"};

TM_TEST(test_plugins_textmodels__vocabulary)
{
    static const struct {
        const char *min_freq, *max_vocab, *lowercase;
        int32_t V;
        const char *order[6]; /* ids 2 .. */
    } cases[] = {
        {"2", "50000", "true", 5, {"the", "cat", "sat"}},
        {"1", "0", "true", 10, {"the", "cat", "sat", "a", "bird", "dog"}},
        {"1", "4", "true", 4, {"the", "cat"}},
        {"3", "0", "true", 4, {"the", "cat"}},
        /* case kept: cat 3, then The, sat, the twice each in byte order */
        {"2", "0", "false", 6, {"cat", "The", "sat", "the"}},
    };
    size_t i, k;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *kv[] = {"embed_dim", "4",
                            "buckets",   "3",
                            "min_freq",  cases[i].min_freq,
                            "max_vocab", cases[i].max_vocab,
                            "lowercase", cases[i].lowercase,
                            NULL};
        char dir[PATHLEN], name[32];
        tc_tokenizer *tok = NULL;
        tc_data_info data;
        tc_tensor *t;
        corpus cp;
        model md;

        corpus_init(&cp, animals, NULL, 6, 4);
        data = text_data(&cp, 2);
        TC_CHECK_OK(model_make(&md, EB, kv, &data, 1));
        if (!md.m)
            continue;
        /* max_read 4 over 6 texts: two reads, both within the contract */
        TC_CHECK(cp.reads == 2 && cp.bad_reads == 0);
        t = emb_table(&md);
        TC_CHECK(t && t->ndim == 2 && t->shape[0] == cases[i].V + 3 && t->shape[1] == 4);
        snprintf(name, sizeof(name), "vocab%zu", i);
        TC_CHECK_OK(save_model(&md, name, dir, sizeof(dir)));
        tok = saved_tokenizer(dir);
        TC_CHECK(tok != NULL);
        if (tok) {
            TC_CHECK(tc_tokenizer_vocab_size(tok) == cases[i].V);
            TC_CHECK(id_of(tok, "<pad>") == 0 && id_of(tok, "<unk>") == 1);
            for (k = 0; k < 6 && cases[i].order[k]; k++) {
                int got = id_of(tok, cases[i].order[k]);
                if (got != (int)k + 2)
                    fprintf(stderr, "case %zu: '%s' has id %d, expected %d\n", i, cases[i].order[k],
                            got, (int)k + 2);
                TC_CHECK(got == (int)k + 2);
            }
        }
        tc_tokenizer_free(tok);
        plugin_test_model_free(&md);
    }
    /* max_read 1: one text per read */
    {
        const char *kv[] = {"embed_dim", "4", "hidden", "3", NULL};
        tc_data_info data;
        corpus cp;
        model md;

        corpus_init(&cp, animals, NULL, 6, 1);
        data = text_data(&cp, 2);
        TC_CHECK_OK(model_make(&md, LS, kv, &data, 1));
        TC_CHECK(cp.reads == 6 && cp.bad_reads == 0);
        TC_CHECK(md.m && emb_table(&md)->shape[0] == 5); /* default min_freq 2 */
        plugin_test_model_free(&md);
    }
}

TM_TEST(test_plugins_textmodels__embedbag_parameters)
{
    const char *kv[] = {"embed_dim", "8", "buckets", "11", "min_freq", "1", NULL};
    static const struct {
        const char *name;
        int64_t rows, cols;
        int no_decay;
    } want[] = {{"embeddings.weight", 10 + 11, 8, 0},
                {"classifier.weight", 3, 8, 0},
                {"classifier.bias", 3, 0, 1}};
    tc_data_info data;
    corpus cp;
    model md;
    size_t i;
    int64_t r, nonzero_rows = 0;

    corpus_init(&cp, animals, NULL, 6, 64);
    data = text_data(&cp, 3);
    TC_CHECK_OK(model_make(&md, EB, kv, &data, 1));
    if (!md.m)
        return;
    TC_CHECK(tc_params_count(md.p) == 3);
    for (i = 0; i < 3 && i < tc_params_count(md.p); i++) {
        tc_tensor *t = tc_params_at(md.p, i);
        TC_CHECK(!strcmp(t->name, want[i].name));
        TC_CHECK(t->ndim == (want[i].cols ? 2 : 1));
        TC_CHECK(t->shape[0] == want[i].rows);
        if (want[i].cols)
            TC_CHECK(t->shape[1] == want[i].cols);
        TC_CHECK(!!(t->flags & TC_TENSOR_NO_DECAY) == want[i].no_decay);
    }
    {
        tc_tensor *t = emb_table(&md);
        /* the pad row is zero, every other row (words and buckets) drawn from N(0, 1) */
        TC_CHECK(row_is_zero(t, 0));
        for (r = 1; r < t->shape[0]; r++)
            nonzero_rows += !row_is_zero(t, r);
        TC_CHECK(nonzero_rows == t->shape[0] - 1);
    }
    plugin_test_model_free(&md);
    /* ngrams 1: no bucket rows whatever buckets says */
    {
        const char *kv1[] = {"embed_dim", "8",      "buckets", "11", "min_freq",
                             "1",         "ngrams", "1",       NULL};
        TC_CHECK_OK(model_make(&md, EB, kv1, &data, 1));
        TC_CHECK(md.m && emb_table(&md)->shape[0] == 10);
        plugin_test_model_free(&md);
    }
}

static void check_lstm_params(const model *md, int64_t V, int64_t D, int64_t H, int layers,
                              int dirs, int L)
{
    size_t at = 0;
    int l, d;
    tc_tensor *t;

    TC_CHECK(tc_params_count(md->p) == (size_t)(1 + 4 * layers * dirs + 2));
    t = tc_params_at(md->p, at++);
    TC_CHECK(t && !strcmp(t->name, "embedding.weight") && t->ndim == 2 && t->shape[0] == V &&
             t->shape[1] == D && !(t->flags & TC_TENSOR_NO_DECAY));
    if (t)
        TC_CHECK(row_is_zero(t, 0) && !row_is_zero(t, 1));
    for (l = 0; l < layers; l++)
        for (d = 0; d < dirs; d++) {
            static const char *const kinds[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
            int64_t in = l == 0 ? D : H * dirs;
            int k;
            for (k = 0; k < 4; k++) {
                char name[64];
                int64_t j;
                double bound = 1.0 / sqrt((double)H);
                snprintf(name, sizeof(name), "lstm.%s_l%d%s", kinds[k], l, d ? "_reverse" : "");
                t = tc_params_at(md->p, at++);
                if (!t || strcmp(t->name, name)) {
                    fprintf(stderr, "parameter %zu is '%s', expected '%s'\n", at - 1,
                            t ? t->name : "(none)", name);
                    TC_CHECK(!"lstm parameter name");
                    continue;
                }
                TC_CHECK(t->shape[0] == 4 * H);
                if (k < 2)
                    TC_CHECK(t->ndim == 2 && t->shape[1] == (k == 0 ? in : H));
                else
                    TC_CHECK(t->ndim == 1);
                TC_CHECK(!!(t->flags & TC_TENSOR_NO_DECAY) == (k >= 2));
                for (j = 0; j < t->numel; j++)
                    TC_CHECK(fabs(t->data[j]) <= bound + 1e-7);
            }
        }
    t = tc_params_at(md->p, at++);
    TC_CHECK(t && !strcmp(t->name, "classifier.weight") && t->shape[0] == L &&
             t->shape[1] == H * dirs && !(t->flags & TC_TENSOR_NO_DECAY));
    t = tc_params_at(md->p, at++);
    TC_CHECK(t && !strcmp(t->name, "classifier.bias") && t->ndim == 1 && t->shape[0] == L &&
             (t->flags & TC_TENSOR_NO_DECAY));
}

TM_TEST(test_plugins_textmodels__lstm_parameters)
{
    const char *bi[] = {"embed_dim", "6", "hidden", "5", "layers", "2", NULL};
    const char *uni[] = {"embed_dim",     "6",     "hidden", "5", "layers", "2",
                         "bidirectional", "false", NULL};
    const char *one[] = {"embed_dim", "7", "hidden", "4", NULL}; /* defaults: 1 layer, bi */
    tc_data_info data;
    corpus cp;
    model md;

    corpus_init(&cp, animals, NULL, 6, 64);
    data = text_data(&cp, 3);
    TC_CHECK_OK(model_make(&md, LS, bi, &data, 1));
    if (md.m)
        check_lstm_params(&md, 5, 6, 5, 2, 2, 3);
    plugin_test_model_free(&md);
    TC_CHECK_OK(model_make(&md, LS, uni, &data, 1));
    if (md.m) {
        check_lstm_params(&md, 5, 6, 5, 2, 1, 3);
        TC_CHECK(tc_params_find(md.p, "lstm.weight_ih_l0_reverse") == NULL);
    }
    plugin_test_model_free(&md);
    TC_CHECK_OK(model_make(&md, LS, one, &data, 1));
    if (md.m) {
        check_lstm_params(&md, 5, 7, 4, 1, 2, 3);
        TC_CHECK(tc_params_find(md.p, "lstm.weight_ih_l1") == NULL);
    }
    plugin_test_model_free(&md);
}

/* ---- 2. where the tokenizer comes from ---------------------------------------------------- */

TM_TEST(test_plugins_textmodels__tokenizer_source)
{
    int kind;

    for (kind = 0; kind < 2; kind++) {
        const char *kv[] = {"embed_dim", "4", NULL};
        const char *kvt[8], *extra[] = {"embed_dim", "4", NULL};
        char missing[PATHLEN];
        tc_data_info data = text_data(NULL, 2);
        model md;

        /* neither a corpus nor a tokenizer */
        TC_CHECK_ERR(model_make(&md, kind, kv, &data, 1), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), plugin_names[kind]);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "no model.tokenizer was given");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "training texts");
        TC_CHECK(md.m == NULL && md.p == NULL);
        plugin_test_model_free(&md);
        /* a saved tokenizer.json needs no corpus */
        wtok_opts(kvt, 8, extra);
        TC_CHECK_OK(model_make(&md, kind, kvt, &data, 1));
        TC_CHECK(md.m && emb_table(&md)->shape[0] == WV + (kind == EB ? 200000 : 0));
        plugin_test_model_free(&md);
        /* a tokenizer that is not there */
        snprintf(missing, sizeof(missing), "%s/no-such-tokenizer.json", plugin_test_dir);
        kvt[1] = missing;
        TC_CHECK(model_make(&md, kind, kvt, &data, 1) < 0);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "model.tokenizer");
        TC_CHECK(md.m == NULL);
        plugin_test_model_free(&md);
        /* tensor input is refused */
        data.input = TC_INPUT_TENSOR;
        kvt[1] = wtok_path;
        TC_CHECK_ERR(model_make(&md, kind, kvt, &data, 1), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "needs text input");
        plugin_test_model_free(&md);
    }
}

/* ---- 3. forward, padding, truncation ------------------------------------------------------ */

static const char *const long_text =
    "w4 w9 w4 w11 w2 w3 w17 w19 w5 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w2 w3 "
    "w4 w5 w6 w7 w8 w9 w10 w11 zzz w12";

static void check_padding(int kind, const char *const *extra)
{
    const char *kv[16];
    const char *alone[1] = {"w3 w5 w2 w8"};
    const char *batch[4] = {long_text, "w3 w5 w2 w8", "w7", ""};
    const char *batch2[2] = {"w3 w5 w2 w8", long_text};
    const char *empty[1] = {""};
    float a[MAXL], b[4 * MAXL], c[2 * MAXL], e[MAXL], again[MAXL];
    tc_data_info data = text_data(NULL, 3);
    const tc_tensor *bias;
    model md;
    double d1, d2;
    int j;

    wtok_opts(kv, 16, extra);
    TC_CHECK_OK(model_make(&md, kind, kv, &data, 5));
    if (!md.m)
        return;
    TC_CHECK_OK(forward(&md, alone, NULL, 1, a));
    TC_CHECK_OK(forward(&md, batch, NULL, 4, b));
    TC_CHECK_OK(forward(&md, batch2, NULL, 2, c));
    d1 = max_abs_diff(a, b + MAXL, 3);
    d2 = max_abs_diff(a, c, 3);
    printf("  %s padding: max |alone - in batch| %.3g, %.3g\n", plugin_names[kind], d1, d2);
    TC_CHECK(d1 <= 1e-5);
    TC_CHECK(d2 <= 1e-5);
    /* the long text's row and the short one's differ (a wrong row would be seen) */
    TC_CHECK(max_abs_diff(a, b, 3) > 1e-4);
    /* evaluation is deterministic */
    TC_CHECK_OK(forward(&md, alone, NULL, 1, again));
    TC_CHECK(!memcmp(a, again, sizeof(a)));
    /* an empty text: zero features, so the logits are the classifier's bias exactly */
    bias = tc_params_find(md.p, "classifier.bias");
    TC_CHECK_OK(forward(&md, empty, NULL, 1, e));
    for (j = 0; j < 3; j++) {
        TC_CHECK(e[j] == bias->data[j]);
        TC_CHECK(b[3 * MAXL + j] == bias->data[j]);
    }
    TC_CHECK(all_finite(b, 12));
    plugin_test_model_free(&md);
}

TM_TEST(test_plugins_textmodels__padding_invariance)
{
    const char *ls_extra[] = {"embed_dim",     "6",    "hidden", "5", "layers", "2",
                              "bidirectional", "true", NULL};
    const char *eb_extra[] = {"embed_dim", "6", "buckets", "13", NULL};
    const char *eb1_extra[] = {"embed_dim", "6", "ngrams", "1", NULL};

    check_padding(LS, ls_extra);
    check_padding(EB, eb_extra);
    check_padding(EB, eb1_extra);
}

static void check_truncation(int kind, const char *const *extra, const char *max_length)
{
    const char *kv[16], *ex[12];
    const char *cut[2] = {"w3 w5 w2 w8", "w3 w5 w2 w8 w9 w11 w12 zzz w13"};
    float lo[2 * MAXL], l1[MAXL], l2[MAXL];
    tc_data_info data = text_data(NULL, 3);
    size_t n = 0;
    model md;

    while (extra[n])
        ex[n] = extra[n], n++;
    ex[n++] = "max_length";
    ex[n++] = max_length;
    ex[n] = NULL;
    wtok_opts(kv, 16, ex);
    TC_CHECK_OK(model_make(&md, kind, kv, &data, 9));
    if (!md.m)
        return;
    TC_CHECK_OK(forward(&md, cut, NULL, 1, l1));
    TC_CHECK_OK(forward(&md, cut + 1, NULL, 1, l2));
    TC_CHECK_OK(forward(&md, cut, NULL, 2, lo));
    if (!strcmp(max_length, "4")) {
        /* the words past max_length change nothing, alone or batched */
        TC_CHECK(!memcmp(l1, l2, sizeof(l1)));
        TC_CHECK(max_abs_diff(lo, lo + MAXL, 3) <= 1e-5);
    } else {
        /* without the cut they do (so the check above can fail) */
        TC_CHECK(max_abs_diff(l1, l2, 3) > 1e-4);
    }
    plugin_test_model_free(&md);
}

TM_TEST(test_plugins_textmodels__truncation)
{
    const char *ls_extra[] = {"embed_dim", "6", "hidden", "5", "layers", "2", NULL};
    const char *eb_extra[] = {"embed_dim", "6", "buckets", "13", NULL};

    check_truncation(LS, ls_extra, "4");
    check_truncation(LS, ls_extra, "0");
    check_truncation(EB, eb_extra, "4");
    check_truncation(EB, eb_extra, "0");
}

/* ---- 4. PyTorch parity -------------------------------------------------------------------- */

typedef struct fx_array {
    char name[64];
    int64_t n;
    double *v;
} fx_array;

typedef struct fixture {
    fx_array a[64];
    int n;
} fixture;

static void fixture_free(fixture *fx)
{
    int i;

    for (i = 0; i < fx->n; i++)
        free(fx->a[i].v);
    fx->n = 0;
}

/* Parse "name n v1 .. vn" lines; 0 or -1. */
static int fixture_load(fixture *fx, const char *path)
{
    FILE *f = fopen(path, "r");
    char name[64];
    long long n;
    int c;

    memset(fx, 0, sizeof(*fx));
    if (!f) {
        perror(path);
        return -1;
    }
    while ((c = fgetc(f)) != EOF) {
        fx_array *arr;
        int64_t k;
        if (c == '#' || c == '\n') {
            while (c != '\n' && c != EOF)
                c = fgetc(f);
            continue;
        }
        ungetc(c, f);
        if (fx->n == 64 || fscanf(f, "%63s %lld", name, &n) != 2 || n < 1 || n > 100000)
            goto fail;
        arr = &fx->a[fx->n++];
        snprintf(arr->name, sizeof(arr->name), "%s", name);
        arr->n = n;
        if (!(arr->v = calloc((size_t)n, sizeof(double))))
            goto fail;
        for (k = 0; k < n; k++)
            if (fscanf(f, "%lf", &arr->v[k]) != 1)
                goto fail;
    }
    fclose(f);
    return 0;
fail:
    fprintf(stderr, "%s: malformed near array %d\n", path, fx->n);
    fclose(f);
    fixture_free(fx);
    return -1;
}

static const fx_array *fx_get(const fixture *fx, const char *name)
{
    int i;

    for (i = 0; i < fx->n; i++)
        if (!strcmp(fx->a[i].name, name))
            return &fx->a[i];
    fprintf(stderr, "fixture has no '%s'\n", name);
    return NULL;
}

/* Copy every parameter from the fixture's "prefix:name" arrays; the number copied, or -1. */
static int fixture_copy_params(const fixture *fx, const char *prefix, tc_params *p)
{
    size_t i, plen = strlen(prefix);
    int copied = 0, in_fixture = 0, k;

    for (i = 0; i < tc_params_count(p); i++) {
        tc_tensor *t = tc_params_at(p, i);
        char full[128];
        const fx_array *arr;
        int64_t j;
        snprintf(full, sizeof(full), "%s%s", prefix, t->name);
        if (!(arr = fx_get(fx, full)) || arr->n != t->numel)
            return -1;
        for (j = 0; j < t->numel; j++)
            t->data[j] = (float)arr->v[j];
        copied++;
    }
    for (k = 0; k < fx->n; k++)
        in_fixture += !strncmp(fx->a[k].name, prefix, plen);
    return in_fixture == copied ? copied : -1;
}

/* The fixture's id rows as texts: <unk> as the unknown word "zzz", k as "wk". */
static void fixture_texts(const fixture *fx, char texts[][128], const char **ptrs, int64_t *B)
{
    const fx_array *ids = fx_get(fx, "ids"), *len = fx_get(fx, "lengths");
    int64_t b, t, T;

    *B = len ? len->n : 0;
    if (!ids || !len)
        return;
    T = ids->n / *B;
    for (b = 0; b < *B; b++) {
        texts[b][0] = '\0';
        for (t = 0; t < (int64_t)len->v[b]; t++) {
            int id = (int)ids->v[b * T + t];
            char w[16];
            if (id == 1)
                snprintf(w, sizeof(w), "%szzz", t ? " " : "");
            else
                snprintf(w, sizeof(w), "%sw%d", t ? " " : "", id);
            strncat(texts[b], w, 127 - strlen(texts[b]));
        }
        ptrs[b] = texts[b];
    }
}

static void check_parity(int kind, const fixture *fx)
{
    const char *ls_extra[] = {"embed_dim", "6",       "hidden", "5", "layers",
                              "2",         "dropout", "0.3",    NULL};
    const char *eb_extra[] = {"embed_dim", "6", "ngrams", "1", NULL};
    const char *kv[16], *ptrs[8];
    char texts[8][128];
    const fx_array *dims = fx_get(fx, "dims");
    const fx_array *want = fx_get(fx, kind == LS ? "lstm_logits" : "embedbag_logits");
    float got[8 * MAXL], wantf[8 * MAXL];
    tc_data_info data;
    int64_t B = 0, i;
    model md;
    double d;

    if (!dims || !want)
        return;
    TC_CHECK(dims->v[0] == WV && dims->v[1] == 6 && dims->v[2] == 5 && dims->v[3] == 3);
    fixture_texts(fx, texts, ptrs, &B);
    TC_CHECK(B == 3 && want->n == B * 3);
    if (B != 3 || want->n != 9)
        return;
    data = text_data(NULL, 3);
    wtok_opts(kv, 16, kind == LS ? ls_extra : eb_extra);
    TC_CHECK_OK(model_make(&md, kind, kv, &data, 11));
    if (!md.m)
        return;
    TC_CHECK(fixture_copy_params(fx, kind == LS ? "lstm:" : "embedbag:", md.p) ==
             (kind == LS ? 19 : 3));
    TC_CHECK_OK(forward(&md, ptrs, NULL, B, got));
    for (i = 0; i < 9; i++)
        wantf[i] = (float)want->v[i];
    d = max_abs_diff(got, wantf, 9);
    printf("  %s vs torch: max |logit diff| %.3g over %lld texts (\"%s\", \"%s\", \"%s\")\n",
           plugin_names[kind], d, (long long)B, ptrs[0], ptrs[1], ptrs[2]);
    TC_CHECK(d <= 1e-5);
    /* one at a time, too (no padding at all) */
    for (i = 0; i < B; i++) {
        float one[MAXL];
        TC_CHECK_OK(forward(&md, ptrs + i, NULL, 1, one));
        TC_CHECK(max_abs_diff(one, wantf + 3 * i, 3) <= 1e-5);
    }
    plugin_test_model_free(&md);
}

TM_TEST(test_plugins_textmodels__torch_parity)
{
    fixture fx;

    TC_CHECK(fixture_load(&fx, TC_TEST_DATA_DIR "/textmodels_fixture.txt") == 0);
    if (!fx.n)
        return;
    check_parity(LS, &fx);
    check_parity(EB, &fx);
    fixture_free(&fx);
}

/* ---- bigrams ------------------------------------------------------------------------------ */

/* The plugin's bigram bucket (config.json "bigram_hash"), restated. */
static int64_t bucket_of(int32_t a, int32_t b, int64_t buckets)
{
    uint64_t h = (uint64_t)(uint32_t)a * 116049371ull + (uint64_t)(uint32_t)b;

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (int64_t)(h % (uint64_t)buckets);
}

/* Logits in double: the mean of the rows then the classifier. */
static void manual_logits(const model *md, const int64_t *rows, int n, double *out)
{
    const tc_tensor *e = emb_table(md), *w = tc_params_find(md->p, "classifier.weight"),
                    *b = tc_params_find(md->p, "classifier.bias");
    int64_t D = e->shape[1], k, j;
    double mean[64] = {0};
    int i;

    for (i = 0; i < n; i++)
        for (k = 0; k < D; k++)
            mean[k] += e->data[rows[i] * D + k] / n;
    for (j = 0; j < md->L; j++) {
        out[j] = b->data[j];
        for (k = 0; k < D; k++)
            out[j] += (double)w->data[j * D + k] * mean[k];
    }
}

TM_TEST(test_plugins_textmodels__bigrams)
{
    static const int32_t ids[] = {3, 5, 2, 8, 3, 5}; /* "w3 w5 w2 w8 w3 w5": a repeated bigram */
    const char *text[1] = {"w3 w5 w2 w8 w3 w5"}, *single[1] = {"w11"};
    const char *buckets[] = {"1", "97"};
    int bi;

    for (bi = 0; bi < 2; bi++) {
        const char *extra[] = {"embed_dim", "5", "buckets", buckets[bi], NULL};
        const char *kv[16];
        tc_data_info data = text_data(NULL, 3);
        int64_t rows[16], nb = strtol(buckets[bi], NULL, 10);
        double want[MAXL];
        float got[MAXL];
        int n = 0, k, j;
        model md;

        wtok_opts(kv, 16, extra);
        TC_CHECK_OK(model_make(&md, EB, kv, &data, 13));
        if (!md.m)
            continue;
        TC_CHECK(emb_table(&md)->shape[0] == WV + nb);
        /* 6 words and exactly 5 bigram rows: with one bucket all 5 are row V */
        for (k = 0; k < 6; k++)
            rows[n++] = ids[k];
        for (k = 0; k + 1 < 6; k++)
            rows[n++] = WV + bucket_of(ids[k], ids[k + 1], nb);
        manual_logits(&md, rows, n, want);
        TC_CHECK_OK(forward(&md, text, NULL, 1, got));
        for (j = 0; j < 3; j++)
            TC_CHECK_NEAR(got[j], want[j], 1e-5);
        /* the same without the bigram rows is not what the plugin computes */
        manual_logits(&md, rows, 6, want);
        TC_CHECK(fabs(got[0] - want[0]) + fabs(got[1] - want[1]) + fabs(got[2] - want[2]) > 1e-4);
        /* one word: no bigram */
        rows[0] = 11;
        manual_logits(&md, rows, 1, want);
        TC_CHECK_OK(forward(&md, single, NULL, 1, got));
        for (j = 0; j < 3; j++)
            TC_CHECK_NEAR(got[j], want[j], 1e-5);
        plugin_test_model_free(&md);
    }
}

/* ---- 5. save and load_pretrained ---------------------------------------------------------- */

static cJSON *read_json(const char *dir, const char *name)
{
    char path[PATHLEN + 32], *buf;
    FILE *f;
    long n;
    cJSON *root = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "rb")))
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = calloc((size_t)n + 1, 1))) {
        if (fread(buf, 1, (size_t)n, f) == (size_t)n)
            root = cJSON_Parse(buf);
        free(buf);
    }
    fclose(f);
    return root;
}

static double json_num(const cJSON *root, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);

    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static const char *json_str(const cJSON *root, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);

    return cJSON_IsString(it) ? it->valuestring : "(missing)";
}

static const char *const batch3[3] = {"the cat sat", "a dog ran home", "bird"};

static void check_round_trip(int kind)
{
    const char *kv_eb[] = {"embed_dim", "6", "buckets", "7", "min_freq", "1", NULL};
    const char *kv_ls[] = {"embed_dim", "6", "hidden", "4", "layers", "2", "min_freq", "1", NULL};
    const char *const *kv = kind == EB ? kv_eb : kv_ls;
    /* the same number of words as animals (min_freq 1: 8), other words */
    static const char *const others[] = {"one two three", "four five six", "seven eight"};
    static const char *const fewer[] = {"one two three"};
    char dir[PATHLEN], path[PATHLEN + 32], name[32];
    float l1[3 * MAXL], l2[3 * MAXL];
    const char *kv2[16];
    tc_data_info data;
    cJSON *cfg = NULL, *it;
    corpus cp;
    model a, b, c;
    size_t n;

    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    corpus_init(&cp, animals, NULL, 6, 64);
    data = text_data(&cp, 3);
    TC_CHECK_OK(model_make(&a, kind, kv, &data, 1));
    if (!a.m)
        return;
    snprintf(name, sizeof(name), "saved-%s", plugin_names[kind]);
    TC_CHECK_OK(save_model(&a, name, dir, sizeof(dir)));
    snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
    TC_CHECK(access(path, R_OK) == 0);
    cfg = read_json(dir, "config.json");
    TC_CHECK(cfg != NULL);
    if (cfg) {
        TC_CHECK(!strcmp(json_str(cfg, "model_type"), kind == EB ? "tc-embedbag" : "tc-lstm"));
        TC_CHECK(json_num(cfg, "vocab_size") == 10);
        TC_CHECK(json_num(cfg, "num_labels") == 3);
        TC_CHECK(json_num(cfg, "pad_token_id") == 0);
        TC_CHECK(json_num(cfg, "embed_dim") == 6);
        it = cJSON_GetObjectItemCaseSensitive(cfg, "id2label");
        TC_CHECK(cJSON_GetArraySize(it) == 3);
        TC_CHECK(!strcmp(json_str(it, "0"), "neg") && !strcmp(json_str(it, "2"), "mixed"));
        it = cJSON_GetObjectItemCaseSensitive(cfg, "label2id");
        TC_CHECK(json_num(it, "pos") == 1);
        if (kind == EB) {
            TC_CHECK(json_num(cfg, "ngrams") == 2 && json_num(cfg, "bigram_buckets") == 7);
        } else {
            TC_CHECK(json_num(cfg, "hidden_size") == 4 && json_num(cfg, "num_layers") == 2);
            TC_CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "bidirectional")));
        }
    }
    /* a second model on the saved tokenizer (no corpus), other initial weights */
    for (n = 0; kv[n]; n++)
        kv2[n] = kv[n];
    kv2[n++] = "tokenizer";
    kv2[n++] = dir;
    kv2[n] = NULL;
    {
        tc_data_info bare = text_data(NULL, 3);
        TC_CHECK_OK(model_make(&b, kind, kv2, &bare, 2));
    }
    if (!b.m)
        goto out;
    TC_CHECK(!plugin_test_params_equal(a.p, b.p));
    TC_CHECK_OK(forward(&a, batch3, NULL, 3, l1));
    TC_CHECK_OK(forward(&b, batch3, NULL, 3, l2));
    TC_CHECK(memcmp(l1, l2, sizeof(float) * 9) != 0);
    TC_CHECK_OK(b.vt->load_pretrained(b.m, dir));
    TC_CHECK(plugin_test_params_equal(a.p, b.p));
    TC_CHECK_OK(forward(&b, batch3, NULL, 3, l2));
    TC_CHECK(!memcmp(l1, l2, sizeof(float) * 9));
    /* a folder without weights */
    snprintf(path, sizeof(path), "%s/nothing-here", plugin_test_dir);
    TC_CHECK_ERR(b.vt->load_pretrained(b.m, path), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "model.safetensors");
    /* a model of another vocabulary of the same size: same shapes, other words */
    corpus_init(&cp, others, NULL, 3, 64);
    data = text_data(&cp, 3);
    TC_CHECK_OK(model_make(&c, kind, kv, &data, 3));
    if (c.m) {
        TC_CHECK(emb_table(&c)->shape[0] == emb_table(&a)->shape[0]);
        TC_CHECK_ERR(c.vt->load_pretrained(c.m, dir), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "tokenizer.json");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "maps id 2");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "model.tokenizer");
    }
    plugin_test_model_free(&c);
    /* and of a smaller one */
    corpus_init(&cp, fewer, NULL, 1, 64);
    data = text_data(&cp, 3);
    TC_CHECK_OK(model_make(&c, kind, kv, &data, 3));
    if (c.m) {
        TC_CHECK_ERR(c.vt->load_pretrained(c.m, dir), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "tokenizer.json");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "vocabulary of 10 words, this model 5");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "model.tokenizer");
    }
out:
    cJSON_Delete(cfg);
    plugin_test_model_free(&a);
    plugin_test_model_free(&b);
    plugin_test_model_free(&c);
}

TM_TEST(test_plugins_textmodels__save_load)
{
    check_round_trip(EB);
    check_round_trip(LS);
}

/* ---- 6. pretrained vectors ---------------------------------------------------------------- */

static void check_vectors(int kind)
{
    static const char glove[] = "w3 0.5 -0.25 0.125 1\n"
                                "<pad> 1 2 3 4\n"
                                "notaword 9 9 9 9\n"
                                "w7 -1.5 2.25 0 0.0625\n"
                                "W5 0.75 0.75 -0.75 8\n"
                                "w3 7 7 7 7\n"; /* a duplicate: the first line wins */
    static const float want3[4] = {0.5f, -0.25f, 0.125f, 1.0f};
    static const float want7[4] = {-1.5f, 2.25f, 0.0f, 0.0625f};
    static const float want5[4] = {0.75f, 0.75f, -0.75f, 8.0f};
    const char *extra[] = {"embed_dim", "4", "hidden", "3", "vectors", NULL, NULL};
    const char *extra_eb[] = {"embed_dim", "4", "buckets", "5", "vectors", NULL, NULL};
    const char **ex = kind == EB ? extra_eb : extra;
    char path[PATHLEN];
    const char *kv[16];
    tc_data_info data = text_data(NULL, 2);
    const tc_tensor *t;
    model md;

    snprintf(path, sizeof(path), "%s/glove.4d.txt", plugin_test_dir);
    if (plugin_test_write_file(plugin_test_dir, "glove.4d.txt", glove) < 0)
        return;
    ex[5] = path;
    wtok_opts(kv, 16, ex);
    TC_CHECK_OK(model_make(&md, kind, kv, &data, 17));
    if (!md.m)
        return;
    t = emb_table(&md);
    TC_CHECK(!memcmp(t->data + 3 * 4, want3, sizeof(want3)));
    TC_CHECK(!memcmp(t->data + 7 * 4, want7, sizeof(want7)));
    TC_CHECK(!memcmp(t->data + 5 * 4, want5, sizeof(want5))); /* by the lowercase fallback */
    TC_CHECK(row_is_zero(t, 0));                              /* the pad row stays zero */
    /* the other rows keep their random start */
    TC_CHECK(!row_is_zero(t, 1) && !row_is_zero(t, 4) && t->data[4 * 4] != 9.0f);
    /* 6 lines, 3 of the 20 words matched (w3, w7, W5 as w5; <pad> is never written) */
    TC_CHECK_STR_CONTAINS(plugin_test_last_log, "glove.4d.txt (6 lines)");
    TC_CHECK_STR_CONTAINS(plugin_test_last_log, "3 of 20 vocabulary words");
    plugin_test_model_free(&md);
    /* a file of another width */
    ex[1] = "5";
    wtok_opts(kv, 16, ex);
    TC_CHECK_ERR(model_make(&md, kind, kv, &data, 17), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "embed_dim");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "glove.4d.txt");
    TC_CHECK(md.m == NULL);
    plugin_test_model_free(&md);
    /* a file that is not there */
    ex[1] = "4";
    ex[5] = "/nonexistent/vectors.txt";
    wtok_opts(kv, 16, ex);
    TC_CHECK(model_make(&md, kind, kv, &data, 17) < 0);
    TC_CHECK(md.m == NULL);
    plugin_test_model_free(&md);
}

TM_TEST(test_plugins_textmodels__vectors)
{
    check_vectors(EB);
    check_vectors(LS);
}

/* ---- 7. training -------------------------------------------------------------------------- */

static const char *const sentiment[] = {
    "good great fine", "great fine", "fine good", "good good great", "great", "fine good great",
    "bad awful poor",  "awful poor", "poor bad",  "bad bad awful",   "awful", "poor awful bad",
};
static const int32_t sentiment_labels[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

static void check_learns(int kind)
{
    const char *kv_eb[] = {"embed_dim", "8", "buckets", "16", "min_freq", "1", NULL};
    const char *kv_ls[] = {"embed_dim", "8", "hidden", "6", "min_freq", "1", "dropout", "0", NULL};
    tc_batch batch = {.size = 12, .texts = sentiment, .labels = sentiment_labels};
    tc_data_info data;
    tc_graph *g = NULL;
    float first = 0, last = 0;
    int step, right = 0, i;
    float logits[12 * MAXL];
    corpus cp;
    model md;

    corpus_init(&cp, sentiment, NULL, 12, 5);
    data = text_data(&cp, 2);
    TC_CHECK_OK(model_make(&md, kind, kind == EB ? kv_eb : kv_ls, &data, 21));
    TC_CHECK_OK(tc_graph_new(&g, 0));
    if (!md.m || !g)
        goto out;
    TC_CHECK(emb_table(&md)->shape[0] == 8 + (kind == EB ? 16 : 0));
    for (step = 0; step < 40; step++) {
        tc_tensor *out = NULL, *loss;
        float *w = tc_params_data(md.p), *gr = tc_params_grad(md.p);
        int64_t k, n = tc_params_numel(md.p);
        tc_graph_reset(g);
        tc_graph_set_training(g, 1);
        tc_params_zero_grad(md.p);
        if (md.vt->forward(md.m, g, &batch, &out) < 0 ||
            !(loss = tc_cross_entropy(g, out, sentiment_labels)))
            break;
        if (step == 0)
            first = loss->data[0];
        last = loss->data[0];
        if (tc_backward(g, loss) < 0)
            break;
        for (k = 0; k < n; k++)
            w[k] -= 0.5f * gr[k];
    }
    TC_CHECK(step == 40);
    printf("  %s learns: loss %.4f -> %.4f in 40 SGD steps\n", plugin_names[kind], first, last);
    TC_CHECK(last < 0.25f * first);
    TC_CHECK_OK(forward(&md, sentiment, NULL, 12, logits));
    for (i = 0; i < 12; i++)
        right += (logits[2 * i + 1] > logits[2 * i]) == (sentiment_labels[i] == 1);
    TC_CHECK(right == 12);
out:
    tc_graph_free(g);
    plugin_test_model_free(&md);
}

TM_TEST(test_plugins_textmodels__learns)
{
    check_learns(EB);
    check_learns(LS);
}

/* ---- a corpus that allows big reads ------------------------------------------------------ */

/*
 * A corpus may let one read take many examples (max_read is only an upper
 * bound): the vocabulary builder must not allocate max_read pointers for a
 * corpus of 6 texts (it once did: ASan's allocation-size-too-big).
 */
TM_TEST(test_plugins_textmodels__large_max_read)
{
    const char *kv[] = {"embed_dim", "4", "hidden", "3", NULL};
    tc_data_info data;
    corpus cp;
    model md;

    corpus_init(&cp, animals, NULL, 6, (int64_t)1 << 40);
    data = text_data(&cp, 2);
    TC_CHECK_OK(model_make(&md, LS, kv, &data, 1));
    TC_CHECK(cp.reads == 1 && cp.bad_reads == 0);
    TC_CHECK(md.m && emb_table(&md)->shape[0] == 5);
    plugin_test_model_free(&md);
}

/* ---- 8. text pairs ------------------------------------------------------------------------ */

static const char *const premises[] = {"the cat sat", "a dog ran", "the bird sang", "cat dog"};
static const char *const hypotheses[] = {"zebra sat", "the zebra ran", "zebra bird", "zebra"};

static void check_pairs(int kind)
{
    const char *kv_eb[] = {"embed_dim", "6", "buckets", "9", "min_freq", "1", NULL};
    const char *kv_ls[] = {"embed_dim", "6", "hidden", "4", "min_freq", "1", NULL};
    const char *joined[4] = {"the cat sat zebra sat", "a dog ran the zebra ran",
                             "the bird sang zebra bird", "cat dog zebra"};
    const char *empties[4] = {"", "", "", ""};
    float lp[4 * MAXL], ls1[4 * MAXL], lj[4 * MAXL], le[4 * MAXL];
    char dir[PATHLEN], name[32];
    tc_tokenizer *tok = NULL;
    tc_data_info data;
    corpus cp;
    model md;

    corpus_init(&cp, premises, hypotheses, 4, 3);
    data = text_data(&cp, 3);
    TC_CHECK(data.text_fields == 2);
    TC_CHECK_OK(model_make(&md, kind, kind == EB ? kv_eb : kv_ls, &data, 23));
    TC_CHECK(cp.reads == 2 && cp.bad_reads == 0);
    if (!md.m)
        return;
    /* the vocabulary counts the second texts too: zebra (4) is the most frequent word */
    snprintf(name, sizeof(name), "pairs-%s", plugin_names[kind]);
    TC_CHECK_OK(save_model(&md, name, dir, sizeof(dir)));
    tok = saved_tokenizer(dir);
    TC_CHECK(tok && id_of(tok, "zebra") == 2 && id_of(tok, "sang") > 2);
    tc_tokenizer_free(tok);
    TC_CHECK_OK(forward(&md, premises, hypotheses, 4, lp));
    TC_CHECK_OK(forward(&md, premises, NULL, 4, ls1));
    TC_CHECK(all_finite(lp, 12));
    TC_CHECK(max_abs_diff(lp, ls1, 12) > 1e-4);
    /* no post-processor: a pair reads as its texts one after the other */
    TC_CHECK_OK(forward(&md, joined, NULL, 4, lj));
    TC_CHECK(max_abs_diff(lp, lj, 12) <= 1e-6);
    /* empty second texts change nothing */
    TC_CHECK_OK(forward(&md, premises, empties, 4, le));
    TC_CHECK(max_abs_diff(le, ls1, 12) <= 1e-6);
    plugin_test_model_free(&md);
}

TM_TEST(test_plugins_textmodels__pairs)
{
    check_pairs(EB);
    check_pairs(LS);
}

static const tc_test_case tests[] = {
    TC_TEST(test_plugins_textmodels__vocabulary),
    TC_TEST(test_plugins_textmodels__embedbag_parameters),
    TC_TEST(test_plugins_textmodels__lstm_parameters),
    TC_TEST(test_plugins_textmodels__tokenizer_source),
    TC_TEST(test_plugins_textmodels__padding_invariance),
    TC_TEST(test_plugins_textmodels__truncation),
    TC_TEST(test_plugins_textmodels__torch_parity),
    TC_TEST(test_plugins_textmodels__bigrams),
    TC_TEST(test_plugins_textmodels__save_load),
    TC_TEST(test_plugins_textmodels__vectors),
    TC_TEST(test_plugins_textmodels__learns),
    TC_TEST(test_plugins_textmodels__pairs),
    TC_TEST(test_plugins_textmodels__large_max_read),
};

TC_TEST_MAIN(tests)
