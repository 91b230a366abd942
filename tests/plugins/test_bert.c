/*
 * test_bert.c - the distilbert and bert model plugins (plugins/model/bert/bert.c),
 * loaded from the build tree as the worker loads them, against PyTorch.
 *
 * The fixtures (tests/fixtures/bert, from tests/plugins/gen_bert_fixture.py)
 * hold a tiny checkpoint per flavor (vocab 40, width 16, 2 layers, 2 heads,
 * FFN 32, 24 positions, 3 labels neg/neu/pos, every dropout 0) and the
 * reference results for one batch: the token ids, the logits and loss, every
 * gradient, five AdamW steps and the parameters after them. The test rebuilds
 * the batch's texts (and, for bert, the second texts of pairs) from the ids,
 * so the plugin tokenizes them itself, exactly as in training.
 *
 * Key biases (k_lin.bias / self.key.bias) have a true gradient of 0; the
 * fixture's values for them are float32 noise, so they get absolute bounds.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/ops.h>
#include <tc/optim.h>
#include <tc/params.h>
#include <tc/plugin.h>
#include <tc/safetensors.h>
#include <tc/tokenizer.h>

#include "plugin_test.h"

#define PATHLEN 512
#define MAXB 3    /* rows of the fixture batch */
#define MAXT 24   /* longest row the fixture may hold */
#define NLABELS 3 /* neg, neu, pos */
#define MAXVOCAB 64
#define OOV_WORD "xyzzy" /* a word WordPiece cannot split: it encodes as [UNK] */

enum { DB = 0, BT = 1 }; /* distilbert, bert */

static const char *const flavor[2] = {"distilbert", "bert"};
static const char *const arch[2] = {"DistilBertForSequenceClassification",
                                    "BertForSequenceClassification"};
static const char *const label_names[NLABELS] = {"neg", "neu", "pos"};

static const tc_plugin_desc *descs[2];
static const tc_model_vtable *vts[2];

/* ---- the fixture's expected.txt --------------------------------------------------------- */

typedef struct array {
    char name[64];
    int64_t n;
    double *v;
} array;

typedef struct expected {
    array *a;
    size_t n;
} expected;

static void expected_dispose(expected *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        free(e->a[i].v);
    free(e->a);
    memset(e, 0, sizeof(*e));
}

/* Parse one "NAME COUNT V1 ... VCOUNT" line into a new array of e. */
static int expected_add_line(expected *e, const char *line)
{
    array *grown, *a;
    long long count;
    const char *p;
    char *end;
    int used = 0;
    int64_t k;

    if ((grown = realloc(e->a, (e->n + 1) * sizeof(*e->a))) == NULL)
        return -1;
    e->a = grown;
    a = &e->a[e->n];
    memset(a, 0, sizeof(*a));
    if (sscanf(line, "%63s %lld%n", a->name, &count, &used) != 2 || count < 0 ||
        (a->v = calloc((size_t)count + 1, sizeof(double))) == NULL)
        return -1;
    a->n = count;
    e->n++;
    for (p = line + used, k = 0; k < count; k++, p = end) {
        a->v[k] = strtod(p, &end);
        if (end == p)
            return -1;
    }
    return 0;
}

static int expected_load(expected *out, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int err = 0;

    memset(out, 0, sizeof(*out));
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    while (!err && getline(&line, &cap, f) > 0)
        if (line[0] != '#' && line[0] != '\n')
            err = expected_add_line(out, line);
    free(line);
    fclose(f);
    if (err)
        fprintf(stderr, "%s: malformed line\n", path);
    return err;
}

/* The array NAME (prefix + name), or NULL after a message. */
static const array *expected_get(const expected *e, const char *prefix, const char *name)
{
    char full[256];
    size_t i;

    snprintf(full, sizeof(full), "%s%s", prefix, name);
    for (i = 0; i < e->n; i++)
        if (!strcmp(e->a[i].name, full))
            return &e->a[i];
    fprintf(stderr, "the fixture has no array '%s'\n", full);
    return NULL;
}

/* ---- the batch, rebuilt as texts ------------------------------------------------------- */

typedef struct fixture {
    char dir[PATHLEN];
    expected e;
    int64_t B, T;
    int32_t ids[MAXB * MAXT], mask[MAXB * MAXT], types[MAXB * MAXT], labels[MAXB];
    char text[MAXB][256], pair[MAXB][256];
    const char *texts[MAXB], *pairs[MAXB];
    int has_pairs;
    tc_batch batch;
} fixture;

static fixture fx[2];

static int read_vocab(char vocab[MAXVOCAB][32], const char *dir)
{
    char path[PATHLEN + 16], line[32];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof(path), "%s/vocab.txt", dir);
    if (!(f = fopen(path, "r")))
        return -1;
    while (n < MAXVOCAB && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        snprintf(vocab[n++], 32, "%s", line);
    }
    fclose(f);
    return n;
}

/* Join the tokens of ids[from, to) with spaces; [UNK] becomes a word outside the vocabulary. */
static void join_tokens(char *out, size_t cap, const int32_t *ids, int64_t from, int64_t to,
                        char vocab[MAXVOCAB][32], int n_vocab)
{
    size_t len = 0;
    int64_t t;

    out[0] = '\0';
    for (t = from; t < to && len < cap; t++) {
        const char *w = ids[t] == 1                       ? OOV_WORD
                        : ids[t] >= 0 && ids[t] < n_vocab ? vocab[ids[t]]
                                                          : "?";
        len += (size_t)snprintf(out + len, cap - len, "%s%s", t > from ? " " : "", w);
    }
}

/*
 * Rebuild row b's text: the tokens between [CLS] and the first [SEP]; when the
 * type ids show a second segment (bert), the pair's text is the tokens after
 * that [SEP] up to the last one.
 */
static int rebuild_row(fixture *f, int64_t b, char vocab[MAXVOCAB][32], int n_vocab, int kind)
{
    const int32_t *ids = f->ids + b * f->T, *types = f->types + b * f->T;
    int64_t len = 0, sep = -1, t;
    int second = 0;

    for (t = 0; t < f->T; t++) {
        len += f->mask[b * f->T + t] != 0;
        second |= kind == BT && types[t] == 1;
    }
    for (t = 1; t < len && sep < 0; t++)
        if (ids[t] == 3)
            sep = t;
    if (ids[0] != 2 || sep < 0 || ids[len - 1] != 3)
        return -1;
    join_tokens(f->text[b], sizeof(f->text[b]), ids, 1, sep, vocab, n_vocab);
    f->texts[b] = f->text[b];
    if (second) {
        if (types[sep] != 0 || types[sep + 1] != 1)
            return -1;
        join_tokens(f->pair[b], sizeof(f->pair[b]), ids, sep + 1, len - 1, vocab, n_vocab);
        f->pairs[b] = f->pair[b];
        f->has_pairs = 1;
    }
    return 0;
}

static int copy_ints(int32_t *dst, const array *a, int64_t n)
{
    int64_t k;

    if (!a || a->n != n)
        return -1;
    for (k = 0; k < n; k++)
        dst[k] = (int32_t)a->v[k];
    return 0;
}

static int fixture_load(fixture *f, int kind)
{
    char vocab[MAXVOCAB][32], path[PATHLEN + 32];
    const array *dims;
    int n_vocab;
    int64_t b;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/%s", TC_BERT_FIXTURE_DIR, flavor[kind]);
    snprintf(path, sizeof(path), "%s/expected.txt", f->dir);
    if (expected_load(&f->e, path) < 0 || !(dims = expected_get(&f->e, "", "dims")) || dims->n != 3)
        return -1;
    f->B = (int64_t)dims->v[0];
    f->T = (int64_t)dims->v[1];
    if (f->B != MAXB || f->T > MAXT || (int)dims->v[2] != NLABELS)
        return -1;
    if (copy_ints(f->ids, expected_get(&f->e, "", "input_ids"), f->B * f->T) < 0 ||
        copy_ints(f->mask, expected_get(&f->e, "", "attention_mask"), f->B * f->T) < 0 ||
        copy_ints(f->labels, expected_get(&f->e, "", "labels"), f->B) < 0)
        return -1;
    if (kind == BT &&
        copy_ints(f->types, expected_get(&f->e, "", "token_type_ids"), f->B * f->T) < 0)
        return -1;
    if ((n_vocab = read_vocab(vocab, f->dir)) < 5)
        return -1;
    for (b = 0; b < f->B; b++)
        if (rebuild_row(f, b, vocab, n_vocab, kind) < 0) {
            fprintf(stderr, "%s: row %lld is not [CLS] ... [SEP]\n", path, (long long)b);
            return -1;
        }
    if (f->has_pairs)
        for (b = 0; b < f->B; b++)
            if (!f->pairs[b])
                f->pairs[b] = ""; /* the batch is all pairs, as a pair dataset gives */
    f->batch.size = f->B;
    f->batch.texts = f->texts;
    f->batch.labels = f->labels;
    f->batch.pairs = f->has_pairs ? f->pairs : NULL;
    return 0;
}

/* ---- setup -------------------------------------------------------------------------------- */

static void fixtures_dispose(void)
{
    expected_dispose(&fx[DB].e);
    expected_dispose(&fx[BT].e);
}

/* After plugin_test_setup: the vtables, and both fixtures (freed at exit). */
static int setup_more(void)
{
    int i;

    atexit(fixtures_dispose);
    for (i = 0; i < 2; i++) {
        descs[i] = tc_plugin_descriptor(plugin_test_plugins[i]);
        vts[i] = descs[i]->vtable;
        if (fixture_load(&fx[i], i) < 0) {
            fprintf(stderr, "cannot read the %s fixture\n", flavor[i]);
            return -1;
        }
    }
    return 0;
}

/* Load both plugins and both fixtures, and make a scratch directory, once per process. */
static int setup(void)
{
    return plugin_test_setup("bert", flavor, 2, setup_more);
}

#define BERT_TEST(name) PLUGIN_TEST(name, setup, "bert plugins setup")

/* ---- models ------------------------------------------------------------------------------- */

typedef plugin_test_model model;

static tc_data_info text_data(void)
{
    tc_data_info d;

    memset(&d, 0, sizeof(d));
    d.input = TC_INPUT_TEXT;
    d.num_labels = NLABELS;
    d.label_names = label_names;
    d.split_size[TC_SPLIT_TRAIN] = 100;
    return d;
}

/* A model of the given options (NULL-terminated name, value pairs) in fresh params. */
static int model_make(model *out, int kind, const char *const *kv, uint64_t seed)
{
    tc_data_info data = text_data();

    return plugin_test_model_make(out, kind, descs[kind], kv, &data, seed);
}

/* A model of `from` dir (max_length 24) with the weights of load_dir (NULL: none). */
static int model_from(model *out, int kind, const char *from, const char *load_dir)
{
    const char *kv[] = {"from", from, "max_length", "24", NULL};
    int err;

    if ((err = model_make(out, kind, kv, 1)) < 0)
        return err;
    if (load_dir && (err = out->vt->load_pretrained(out->m, load_dir)) < 0)
        plugin_test_model_free(out);
    return err;
}

/*
 * Forward the fixture batch in g: logits (B, C) and, when loss is not NULL,
 * the mean cross-entropy.
 */
static int forward(const model *md, tc_graph *g, tc_tensor **logits, tc_tensor **loss)
{
    const fixture *f = &fx[md->kind];
    int err;

    if ((err = md->vt->forward(md->m, g, &f->batch, logits)) < 0)
        return err;
    if (!*logits || (*logits)->ndim != 2 || (*logits)->shape[0] != f->B ||
        (*logits)->shape[1] != NLABELS)
        return tc_error_set(TC_ERROR, "logits are not (%lld, %d)", (long long)f->B, NLABELS);
    if (loss && !(*loss = tc_cross_entropy(g, *logits, f->labels)))
        return tc_graph_status(g);
    return TC_OK;
}

/* Logits (B * C floats) and loss of the fixture batch, in training (dropout 0) or eval mode. */
static int logits_of(const model *md, int training, float *out, double *loss)
{
    tc_tensor *lg = NULL, *ls = NULL;
    tc_graph *g = NULL;
    int err;

    if ((err = tc_graph_new(&g, 0)) < 0)
        return err;
    tc_graph_set_training(g, training);
    if ((err = forward(md, g, &lg, &ls)) == TC_OK) {
        memcpy(out, lg->data, (size_t)lg->numel * sizeof(float));
        if (loss)
            *loss = ls->data[0];
    }
    tc_graph_free(g);
    return err;
}

static double max_abs_diff_d(const float *a, const double *b, int64_t n)
{
    double m = 0;
    int64_t i;

    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static double max_abs_d(const double *a, int64_t n)
{
    double m = 0;
    int64_t i;

    for (i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

static double rel_diff(double got, double want)
{
    return fabs(got - want) / fmax(fabs(want), 1e-30);
}

static int is_key_bias(const char *name)
{
    return strstr(name, "k_lin.bias") || strstr(name, "self.key.bias");
}

static int is_head(int kind, const char *name)
{
    return !strncmp(name, "classifier.", 11) ||
           (kind == DB && !strncmp(name, "pre_classifier.", 15));
}

static char *fixture_path(char *out, size_t cap, const char *variant)
{
    snprintf(out, cap, "%s/%s", TC_BERT_FIXTURE_DIR, variant);
    return out;
}

/* ---- 1. texts and tokenizer ------------------------------------------------------------- */

BERT_TEST(test_plugins_bert__tokenizer)
{
    int kind;

    for (kind = 0; kind < 2; kind++) {
        const fixture *f = &fx[kind];
        tc_encode_options eo = TC_ENCODE_OPTIONS_INIT;
        tc_encoding enc[MAXB];
        tc_tokenizer *tok = NULL;
        int64_t b, t;
        int bad = 0;

        memset(enc, 0, sizeof(enc));
        TC_CHECK(f->has_pairs == (kind == BT));
        TC_CHECK_OK(tc_tokenizer_load(&tok, f->dir));
        if (!tok)
            continue;
        eo.padding = TC_PADDING_LONGEST;
        TC_CHECK_OK(tc_tokenizer_encode_batch(
            enc, tok, f->texts, NULL, f->has_pairs ? f->pairs : NULL, NULL, (size_t)f->B, &eo));
        for (b = 0; b < f->B; b++) {
            TC_CHECK(enc[b].len == (size_t)f->T);
            for (t = 0; t < f->T && enc[b].len == (size_t)f->T; t++) {
                int64_t i = b * f->T + t;
                bad += enc[b].ids[t] != f->ids[i] || enc[b].attention_mask[t] != f->mask[i] ||
                       (kind == BT && enc[b].type_ids[t] != f->types[i]);
            }
            if (bad)
                fprintf(stderr, "%s row %lld ('%s' / '%s') does not encode as the fixture\n",
                        flavor[kind], (long long)b, f->texts[b], f->has_pairs ? f->pairs[b] : "");
        }
        TC_CHECK(bad == 0);
        for (b = 0; b < f->B; b++)
            tc_encoding_dispose(&enc[b]);
        tc_tokenizer_free(tok);
    }
}

/* ---- 2, 3. forward, loss and every gradient ---------------------------------------------- */

/* Compare every parameter's gradient with grad.<name>; returns the worst relative difference. */
static double check_grads(const model *md)
{
    const expected *e = &fx[md->kind].e;
    double gmax = 0, worst = 0;
    size_t i;

    for (i = 0; i < tc_params_count(md->p); i++) {
        const array *a = expected_get(e, "grad.", tc_params_at(md->p, i)->name);
        if (a)
            gmax = fmax(gmax, max_abs_d(a->v, a->n));
    }
    for (i = 0; i < tc_params_count(md->p); i++) {
        const tc_tensor *p = tc_params_at(md->p, i);
        const array *a = expected_get(e, "grad.", p->name);
        double scale, d;

        TC_CHECK(a && a->n == p->numel);
        if (!a || a->n != p->numel)
            continue;
        if (is_key_bias(p->name)) {
            int64_t k;
            for (d = 0, k = 0; k < p->numel; k++)
                d = fmax(d, fabs(p->grad[k]));
            if (!(d <= 1e-6 * gmax))
                fprintf(stderr, "%s: |grad| %g over 1e-6 of the largest gradient %g\n", p->name, d,
                        gmax);
            TC_CHECK(d <= 1e-6 * gmax);
            continue;
        }
        scale = max_abs_d(a->v, a->n);
        d = max_abs_diff_d(p->grad, a->v, p->numel);
        if (!(d <= 1e-4 * scale))
            fprintf(stderr, "%s: gradient differs by %g (largest |gradient| %g)\n", p->name, d,
                    scale);
        TC_CHECK(d <= 1e-4 * scale);
        worst = fmax(worst, scale > 0 ? d / scale : d);
    }
    return worst;
}

BERT_TEST(test_plugins_bert__forward_backward)
{
    int kind;

    for (kind = 0; kind < 2; kind++) {
        const fixture *f = &fx[kind];
        const array *want_logits = expected_get(&f->e, "", "logits");
        const array *want_loss = expected_get(&f->e, "", "loss");
        tc_tensor *logits = NULL, *loss = NULL;
        tc_graph *g = NULL;
        double dl = -1, dloss = -1, dgrad = -1;
        model md;

        TC_CHECK_OK(model_from(&md, kind, f->dir, f->dir));
        if (!md.m || !want_logits || !want_loss)
            continue;
        TC_CHECK(tc_params_find(md.p, "classifier.weight") != NULL);
        TC_CHECK_OK(tc_graph_new(&g, 0));
        tc_graph_set_training(g, 1);
        TC_CHECK_OK(forward(&md, g, &logits, &loss));
        if (logits && loss) {
            dl = max_abs_diff_d(logits->data, want_logits->v, want_logits->n);
            dloss = rel_diff(loss->data[0], want_loss->v[0]);
            TC_CHECK(dl <= 1e-4);
            TC_CHECK(dloss <= 1e-5);
            tc_params_zero_grad(md.p);
            TC_CHECK_OK(tc_backward(g, loss));
            dgrad = check_grads(&md);
        }
        printf("%s: logits max |diff| %.3g, loss rel diff %.3g, gradients max |diff| / tensor "
               "max %.3g\n",
               flavor[kind], dl, dloss, dgrad);
        tc_graph_free(g);
        plugin_test_model_free(&md);
    }
}

/* ---- 4. five AdamW steps ------------------------------------------------------------------ */

/* One step as the generator does it: forward, loss, zero_grad, backward, update. */
static int adamw_step(const model *md, tc_graph *g, tc_optim *opt, double *loss_out)
{
    tc_tensor *logits = NULL, *loss = NULL;
    int err;

    tc_graph_reset(g);
    if ((err = forward(md, g, &logits, &loss)) < 0)
        return err;
    *loss_out = loss->data[0];
    tc_params_zero_grad(md->p);
    if ((err = tc_backward(g, loss)) < 0)
        return err;
    return tc_optim_step(opt, 1e-3f, -1.0f);
}

/* Compare the parameters after five steps with after5.<name>; returns the worst |diff|. */
static double check_after5(const model *md, const float *start)
{
    const expected *e = &fx[md->kind].e;
    const float *base = tc_params_data(md->p);
    double worst = 0;
    size_t i;

    for (i = 0; i < tc_params_count(md->p); i++) {
        const tc_tensor *p = tc_params_at(md->p, i);
        const array *a = expected_get(e, "after5.", p->name);
        const float *p0 = start + (p->data - base);
        int64_t k, bad = 0;

        TC_CHECK(a && a->n == p->numel);
        if (!a || a->n != p->numel)
            continue;
        for (k = 0; k < p->numel; k++) {
            double d = fabs((double)p->data[k] - a->v[k]);
            if (is_key_bias(p->name)) {
                bad += !(fabs((double)p->data[k] - p0[k]) <= 5 * 1e-3);
                continue;
            }
            worst = fmax(worst, d);
            if (!(d <= 1e-5 * fabs(a->v[k]) + 1e-6)) {
                if (!bad)
                    fprintf(stderr, "%s[%lld] after 5 steps is %.9g, expected %.9g\n", p->name,
                            (long long)k, p->data[k], a->v[k]);
                bad++;
            }
        }
        TC_CHECK(bad == 0);
    }
    return worst;
}

BERT_TEST(test_plugins_bert__adamw)
{
    int kind;

    for (kind = 0; kind < 2; kind++) {
        const fixture *f = &fx[kind];
        const array *want = expected_get(&f->e, "", "adamw_loss");
        const array *want_after = expected_get(&f->e, "", "after5_loss");
        tc_optim_options oo = TC_OPTIM_OPTIONS_INIT;
        tc_optim *opt = NULL;
        tc_graph *g = NULL;
        float *start = NULL;
        double loss = 0, dloss = 0, dafter = -1;
        int step;
        model md;

        TC_CHECK_OK(model_from(&md, kind, f->dir, f->dir));
        if (!md.m || !want || want->n != 5 || !want_after)
            continue;
        start = malloc((size_t)tc_params_numel(md.p) * sizeof(float));
        TC_CHECK(start != NULL);
        if (!start) {
            plugin_test_model_free(&md);
            continue;
        }
        memcpy(start, tc_params_data(md.p), (size_t)tc_params_numel(md.p) * sizeof(float));
        oo.kind = TC_OPTIM_ADAMW;
        oo.weight_decay = 0.01f;
        oo.beta1 = 0.9f;
        oo.beta2 = 0.999f;
        oo.eps = 1e-8f;
        TC_CHECK_OK(tc_optim_new(&opt, md.p, &oo));
        TC_CHECK_OK(tc_graph_new(&g, 0));
        tc_graph_set_training(g, 1);
        for (step = 0; step < 5 && opt && g; step++) {
            TC_CHECK_OK(adamw_step(&md, g, opt, &loss));
            dloss = fmax(dloss, rel_diff(loss, want->v[step]));
            if (!(rel_diff(loss, want->v[step]) <= 1e-5))
                fprintf(stderr, "%s step %d: loss %.9g, expected %.9g\n", flavor[kind], step + 1,
                        loss, want->v[step]);
        }
        TC_CHECK(dloss <= 1e-5);
        if (opt && g) {
            double after = 0;
            float lg[MAXB * NLABELS];
            TC_CHECK_OK(logits_of(&md, 1, lg, &after));
            TC_CHECK(rel_diff(after, want_after->v[0]) <= 1e-5);
            dloss = fmax(dloss, rel_diff(after, want_after->v[0]));
            dafter = check_after5(&md, start);
        }
        printf("%s: AdamW losses max rel diff %.3g, parameters after 5 steps max |diff| %.3g\n",
               flavor[kind], dloss, dafter);
        tc_graph_free(g);
        tc_optim_free(opt);
        free(start);
        plugin_test_model_free(&md);
    }
}

/* ---- 5. loader variants ------------------------------------------------------------------- */

BERT_TEST(test_plugins_bert__gamma_beta)
{
    char dir[PATHLEN];
    float want[MAXB * NLABELS], got[MAXB * NLABELS];
    model ref, md;

    TC_CHECK_OK(model_from(&ref, BT, fx[BT].dir, fx[BT].dir));
    TC_CHECK_OK(model_from(&md, BT, fx[BT].dir, fixture_path(dir, sizeof(dir), "bert-gamma")));
    if (ref.m && md.m) {
        TC_CHECK(plugin_test_params_equal(ref.p, md.p));
        TC_CHECK_OK(logits_of(&ref, 0, want, NULL));
        TC_CHECK_OK(logits_of(&md, 0, got, NULL));
        TC_CHECK(!memcmp(want, got, sizeof(want)));
    }
    plugin_test_model_free(&ref);
    plugin_test_model_free(&md);
}

BERT_TEST(test_plugins_bert__noprefix)
{
    char dir[PATHLEN];
    model ref, md, again;
    size_t i;

    TC_CHECK_OK(model_from(&ref, DB, fx[DB].dir, fx[DB].dir));
    TC_CHECK_OK(
        model_from(&md, DB, fx[DB].dir, fixture_path(dir, sizeof(dir), "distilbert-noprefix")));
    TC_CHECK_STR_CONTAINS(plugin_test_last_log, "newly initialized");
    TC_CHECK_OK(model_from(&again, DB, fx[DB].dir, dir));
    if (ref.m && md.m && again.m) {
        int head_seen = 0;
        TC_CHECK(plugin_test_params_equal(md.p, again.p)); /* the fresh head is deterministic */
        for (i = 0; i < tc_params_count(md.p); i++) {
            const tc_tensor *p = tc_params_at(md.p, i), *r = tc_params_at(ref.p, i);
            int same = !memcmp(p->data, r->data, (size_t)p->numel * sizeof(float));
            if (!is_head(DB, p->name)) {
                if (!same)
                    fprintf(stderr, "%s differs from the checkpoint's\n", p->name);
                TC_CHECK(same);
                continue;
            }
            head_seen++;
            if (strstr(p->name, ".bias")) {
                int64_t k;
                for (k = 0; k < p->numel; k++)
                    TC_CHECK(p->data[k] == 0.0f);
            } else {
                double mx = 0;
                int64_t k;
                TC_CHECK(!same); /* not the fixture's head: N(0, 0.02), not N(0, 0.2) */
                for (k = 0; k < p->numel; k++)
                    mx = fmax(mx, fabs(p->data[k]));
                TC_CHECK(mx > 0 && mx < 0.02 * 6);
            }
        }
        TC_CHECK(head_seen == 4);
    }
    plugin_test_model_free(&ref);
    plugin_test_model_free(&md);
    plugin_test_model_free(&again);
}

/* A checkpoint with 3 labels loaded for 2: only the classifier is new; pre_classifier and
 * everything else come from the checkpoint (transformers' ignore_mismatched_sizes). */
BERT_TEST(test_plugins_bert__mismatched_head)
{
    static const char *const two[2] = {"no", "yes"};
    const char *kv[] = {"from", fx[DB].dir, "max_length", "24", NULL};
    tc_data_info data = text_data();
    model ref, md;
    size_t i;
    int fresh = 0;

    data.num_labels = 2;
    data.label_names = two;
    TC_CHECK_OK(model_from(&ref, DB, fx[DB].dir, fx[DB].dir));
    TC_CHECK_OK(plugin_test_model_make(&md, DB, descs[DB], kv, &data, 1));
    if (md.m)
        TC_CHECK_OK(md.vt->load_pretrained(md.m, fx[DB].dir));
    TC_CHECK_STR_CONTAINS(plugin_test_last_log,
                          "newly initialized: classifier.weight, classifier.bias");
    if (ref.m && md.m) {
        for (i = 0; i < tc_params_count(md.p); i++) {
            const tc_tensor *p = tc_params_at(md.p, i);
            const tc_tensor *r = tc_params_find(ref.p, p->name);
            if (!strncmp(p->name, "classifier.", 11)) {
                TC_CHECK(p->shape[0] == 2);
                fresh++;
                continue;
            }
            TC_CHECK(r && r->numel == p->numel &&
                     !memcmp(p->data, r->data, (size_t)p->numel * sizeof(float)));
        }
        TC_CHECK(fresh == 2);
        TC_CHECK(tc_params_find(md.p, "pre_classifier.weight") != NULL);
    }
    plugin_test_model_free(&ref);
    plugin_test_model_free(&md);
}

BERT_TEST(test_plugins_bert__half_precision)
{
    static const char *const variants[2] = {"distilbert-f16", "distilbert-bf16"};
    int v;

    for (v = 0; v < 2; v++) {
        char dir[PATHLEN], path[PATHLEN + 32];
        float got[MAXB * NLABELS];
        const array *want, *want_loss;
        double loss = 0, d;
        expected e;
        model md;

        fixture_path(dir, sizeof(dir), variants[v]);
        snprintf(path, sizeof(path), "%s/expected_logits.txt", dir);
        TC_CHECK(expected_load(&e, path) == 0);
        want = expected_get(&e, "", "logits");
        want_loss = expected_get(&e, "", "loss");
        TC_CHECK_OK(model_from(&md, DB, fx[DB].dir, dir));
        if (md.m && want && want_loss && want->n == MAXB * NLABELS) {
            TC_CHECK_OK(logits_of(&md, 1, got, &loss));
            d = max_abs_diff_d(got, want->v, want->n);
            printf("%s: logits max |diff| %.3g, loss rel diff %.3g\n", variants[v], d,
                   rel_diff(loss, want_loss->v[0]));
            TC_CHECK(d <= 1e-4);
            TC_CHECK(rel_diff(loss, want_loss->v[0]) <= 1e-5);
        }
        plugin_test_model_free(&md);
        expected_dispose(&e);
    }
}

/* ---- 6. errors ---------------------------------------------------------------------------- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) != NULL) {
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        } else {
            buf[len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (!f)
        return -1;
    ok = fwrite(text, 1, strlen(text), f) == strlen(text);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/*
 * Make DIR = scratch/name holding the fixture files of src; in config.json,
 * each pair of edits[] (old, new) replaces the first occurrence of old.
 */
static int copy_fixture(char *dir, size_t cap, const char *src, const char *name,
                        const char *const *edits)
{
    static const char *const files[] = {"config.json", "vocab.txt", "tokenizer_config.json",
                                        "model.safetensors"};
    size_t i;

    snprintf(dir, cap, "%s/%s", plugin_test_dir, name);
    if (mkdir(dir, 0755) < 0)
        return -1;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char from[PATHLEN + 32], to[PATHLEN + 32], *text, *edited;
        int err;
        snprintf(from, sizeof(from), "%s/%s", src, files[i]);
        snprintf(to, sizeof(to), "%s/%s", dir, files[i]);
        if (!strcmp(files[i], "model.safetensors")) {
            if (symlink(from, to) < 0)
                return -1;
            continue;
        }
        if (!(text = read_text(from)))
            return -1;
        for (; i == 0 && edits && edits[0]; edits += 2) {
            char *at = strstr(text, edits[0]);
            size_t n = strlen(text) - strlen(edits[0]) + strlen(edits[1]) + 1;
            if (!at || !(edited = malloc(n))) {
                free(text);
                return -1;
            }
            snprintf(edited, n, "%.*s%s%s", (int)(at - text), text, edits[1],
                     at + strlen(edits[0]));
            free(text);
            text = edited;
        }
        err = write_text(to, text);
        free(text);
        if (err < 0)
            return -1;
    }
    return 0;
}

/* Write DIR/model.safetensors with every tensor of the fixture's file except `drop`. */
static int write_without(const char *dir, const char *src_dir, const char *drop)
{
    char path[PATHLEN + 32];
    tc_safetensors *st = NULL;
    tc_st_entry *ents = NULL;
    void **bufs = NULL;
    size_t i, n = 0, count;
    int err;

    snprintf(path, sizeof(path), "%s/model.safetensors", src_dir);
    if ((err = tc_safetensors_open(&st, path)) < 0)
        return err;
    count = tc_safetensors_count(st);
    ents = calloc(count, sizeof(*ents));
    bufs = calloc(count, sizeof(*bufs));
    err = ents && bufs ? TC_OK : TC_ENOMEM;
    for (i = 0; i < count && err == TC_OK; i++) {
        const tc_st_tensor *t = tc_safetensors_at(st, i);
        size_t bytes = (size_t)(t->end - t->begin);
        if (!strcmp(t->name, drop))
            continue;
        if (!(bufs[n] = malloc(bytes + 1))) {
            err = TC_ENOMEM;
            break;
        }
        if ((err = tc_safetensors_read_raw(st, t->name, bufs[n], bytes)) < 0)
            break;
        ents[n].name = t->name;
        ents[n].dtype = t->dtype;
        ents[n].ndim = t->ndim;
        ents[n].shape = t->shape;
        ents[n].data = bufs[n];
        n++;
    }
    if (err == TC_OK && n + 1 != count)
        err = tc_error_set(TC_ERROR, "'%s' is not in %s", drop, path);
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    if (err == TC_OK)
        err = tc_safetensors_write(path, ents, n, NULL);
    for (i = 0; bufs && i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(ents);
    tc_safetensors_free(st);
    return err;
}

BERT_TEST(test_plugins_bert__errors)
{
    char dir[PATHLEN];
    model md;

    /* another model_type: refused by both flavors, naming it */
    {
        const char *const edits[] = {"\"model_type\": \"distilbert\"",
                                     "\"model_type\": \"roberta\"", NULL};
        const char *const bedits[] = {"\"model_type\": \"bert\"", "\"model_type\": \"roberta\"",
                                      NULL};
        TC_CHECK(copy_fixture(dir, sizeof(dir), fx[DB].dir, "roberta-d", edits) == 0);
        TC_CHECK_ERR(model_from(&md, DB, dir, NULL), TC_EUNSUPPORTED);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "'roberta'");
        TC_CHECK(copy_fixture(dir, sizeof(dir), fx[BT].dir, "roberta-b", bedits) == 0);
        TC_CHECK_ERR(model_from(&md, BT, dir, NULL), TC_EUNSUPPORTED);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "'roberta'");
    }
    /* the other flavor's checkpoint */
    TC_CHECK_ERR(model_from(&md, BT, fx[DB].dir, NULL), TC_EUNSUPPORTED);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "model_type 'distilbert'");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "plugin: distilbert");
    TC_CHECK_ERR(model_from(&md, DB, fx[BT].dir, NULL), TC_EUNSUPPORTED);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "model_type 'bert'");
    /* a config.json whose width is not the weights' */
    {
        const char *const edits[] = {"\"dim\": 16", "\"dim\": 32", "\"hidden_dim\": 32",
                                     "\"hidden_dim\": 64", NULL};
        TC_CHECK(copy_fixture(dir, sizeof(dir), fx[DB].dir, "wide", edits) == 0);
        TC_CHECK_OK(model_from(&md, DB, dir, NULL));
        if (md.m) {
            TC_CHECK_ERR(md.vt->load_pretrained(md.m, dir), TC_EFORMAT);
            TC_CHECK_STR_CONTAINS(tc_error_message(),
                                  "'distilbert.embeddings.word_embeddings.weight'");
            TC_CHECK_STR_CONTAINS(tc_error_message(), "[40, 16]");
            TC_CHECK_STR_CONTAINS(tc_error_message(), "[40, 32]");
        }
        plugin_test_model_free(&md);
    }
    /* a checkpoint that lacks a backbone tensor */
    {
        static const char *const drop[2] = {"distilbert.transformer.layer.1.ffn.lin2.weight",
                                            "bert.encoder.layer.0.attention.self.value.bias"};
        int kind;
        for (kind = 0; kind < 2; kind++) {
            char sub[32];
            snprintf(sub, sizeof(sub), "lacking-%s", flavor[kind]);
            snprintf(dir, sizeof(dir), "%s/%s", plugin_test_dir, sub);
            TC_CHECK(mkdir(dir, 0755) == 0);
            TC_CHECK_OK(write_without(dir, fx[kind].dir, drop[kind]));
            TC_CHECK_OK(model_from(&md, kind, fx[kind].dir, NULL));
            if (md.m) {
                TC_CHECK_ERR(md.vt->load_pretrained(md.m, dir), TC_EFORMAT);
                TC_CHECK_STR_CONTAINS(tc_error_message(), drop[kind]);
            }
            plugin_test_model_free(&md);
        }
    }
    /* neither from nor config */
    {
        const char *kv[] = {NULL};
        TC_CHECK_ERR(model_make(&md, DB, kv, 1), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "model.from");
        TC_CHECK_ERR(model_make(&md, BT, kv, 1), TC_EINVAL);
    }
}

/* ---- 7. save ------------------------------------------------------------------------------ */

static cJSON *read_json(const char *dir, const char *name)
{
    char path[PATHLEN + 32], *text;
    cJSON *j;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(text = read_text(path)))
        return NULL;
    j = cJSON_Parse(text);
    free(text);
    return j;
}

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *json_str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void check_saved_config(int kind, const char *dir)
{
    static const char *const sizes[2][6] = {{"dim", "n_layers", "n_heads", "hidden_dim", NULL},
                                            {"hidden_size", "num_hidden_layers",
                                             "num_attention_heads", "intermediate_size",
                                             "type_vocab_size", NULL}};
    static const double want[2][6] = {{16, 2, 2, 32}, {16, 2, 2, 32, 2}};
    cJSON *j = read_json(dir, "config.json");
    const cJSON *archs, *id2label, *label2id;
    char key[8];
    int i;

    TC_CHECK(j != NULL);
    if (!j)
        return;
    archs = cJSON_GetObjectItemCaseSensitive(j, "architectures");
    TC_CHECK(cJSON_IsArray(archs) && cJSON_GetArraySize(archs) == 1 &&
             cJSON_GetStringValue(cJSON_GetArrayItem(archs, 0)) &&
             !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(archs, 0)), arch[kind]));
    TC_CHECK(json_str(j, "model_type") && !strcmp(json_str(j, "model_type"), flavor[kind]));
    id2label = cJSON_GetObjectItemCaseSensitive(j, "id2label");
    label2id = cJSON_GetObjectItemCaseSensitive(j, "label2id");
    TC_CHECK(cJSON_GetArraySize(id2label) == NLABELS && cJSON_GetArraySize(label2id) == NLABELS);
    for (i = 0; i < NLABELS; i++) {
        snprintf(key, sizeof(key), "%d", i);
        TC_CHECK(json_str(id2label, key) && !strcmp(json_str(id2label, key), label_names[i]));
        TC_CHECK(json_num(label2id, label_names[i]) == i);
    }
    for (i = 0; sizes[kind][i]; i++) {
        if (json_num(j, sizes[kind][i]) != want[kind][i])
            fprintf(stderr, "%s config.json: %s is %g\n", flavor[kind], sizes[kind][i],
                    json_num(j, sizes[kind][i]));
        TC_CHECK(json_num(j, sizes[kind][i]) == want[kind][i]);
    }
    TC_CHECK(json_num(j, "vocab_size") == 40);
    TC_CHECK(json_num(j, "max_position_embeddings") == 24);
    cJSON_Delete(j);
}

BERT_TEST(test_plugins_bert__save)
{
    static const char *const files[] = {"config.json", "model.safetensors", "tokenizer.json",
                                        "vocab.txt", "tokenizer_config.json"};
    int kind;

    for (kind = 0; kind < 2; kind++) {
        char dir[PATHLEN], path[PATHLEN + 32];
        float want[MAXB * NLABELS], got[MAXB * NLABELS];
        struct stat s;
        model md, back;
        size_t i;

        memset(&back, 0, sizeof(back));
        TC_CHECK_OK(model_from(&md, kind, fx[kind].dir, fx[kind].dir));
        if (!md.m)
            continue;
        snprintf(dir, sizeof(dir), "%s/saved-%s", plugin_test_dir, flavor[kind]);
        TC_CHECK(mkdir(dir, 0755) == 0);
        TC_CHECK_OK(md.vt->save(md.m, dir));
        snprintf(path, sizeof(path), "%s/model.safetensors", dir);
        TC_CHECK_OK(tc_params_save(md.p, path, NULL));
        for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
            if (stat(path, &s) != 0)
                fprintf(stderr, "save wrote no %s\n", path);
            TC_CHECK(stat(path, &s) == 0 && S_ISREG(s.st_mode));
        }
        check_saved_config(kind, dir);
        TC_CHECK_OK(model_from(&back, kind, dir, dir));
        if (back.m) {
            TC_CHECK(plugin_test_params_equal(md.p, back.p));
            TC_CHECK_OK(logits_of(&md, 0, want, NULL));
            TC_CHECK_OK(logits_of(&back, 0, got, NULL));
            TC_CHECK(!memcmp(want, got, sizeof(want)));
        }
        plugin_test_model_free(&back);
        plugin_test_model_free(&md);
    }
}

/* ---- 8. a fresh model --------------------------------------------------------------------- */

typedef struct moments {
    double sum, sq;
    int64_t n;
} moments;

static void moments_add(moments *m, const float *x, int64_t n)
{
    int64_t k;

    for (k = 0; k < n; k++) {
        m->sum += x[k];
        m->sq += (double)x[k] * x[k];
    }
    m->n += n;
}

/* Mean within 5 standard errors of 0 and standard deviation within 5 of 0.02. */
static void check_normal(const moments *m, const char *what)
{
    double mean = m->sum / (double)m->n, sd = sqrt(m->sq / (double)m->n - mean * mean);
    double se_mean = 0.02 / sqrt((double)m->n), se_sd = 0.02 / sqrt(2.0 * (double)m->n);

    if (!(fabs(mean) <= 5 * se_mean && fabs(sd - 0.02) <= 5 * se_sd))
        fprintf(stderr, "%s: %lld values of mean %g and std %g, not N(0, 0.02^2)\n", what,
                (long long)m->n, mean, sd);
    TC_CHECK(fabs(mean) <= 5 * se_mean);
    TC_CHECK(fabs(sd - 0.02) <= 5 * se_sd);
}

static int all_equal(const tc_tensor *t, float v)
{
    int64_t k;

    for (k = 0; k < t->numel; k++)
        if (t->data[k] != v)
            return 0;
    return 1;
}

static int is_norm(const char *name)
{
    return strstr(name, "LayerNorm") || strstr(name, "layer_norm");
}

/* A model whose tokenizer option is a vocab.txt saves that file's folder's tokenizer files. */
static void check_fresh_save(const model *md)
{
    static const char *const files[] = {"config.json", "tokenizer.json", "vocab.txt",
                                        "tokenizer_config.json"};
    char dir[PATHLEN], path[PATHLEN + 32];
    struct stat s;
    size_t i;

    snprintf(dir, sizeof(dir), "%s/fresh-%s", plugin_test_dir, flavor[md->kind]);
    TC_CHECK(mkdir(dir, 0755) == 0);
    TC_CHECK_OK(md->vt->save(md->m, dir));
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (stat(path, &s) != 0)
            fprintf(stderr, "save wrote no %s\n", path);
        TC_CHECK(stat(path, &s) == 0 && S_ISREG(s.st_mode));
    }
}

BERT_TEST(test_plugins_bert__fresh)
{
    static const char *const preset[2] = {"distilbert-base", "bert-base"};
    int kind;

    for (kind = 0; kind < 2; kind++) {
        char tokdir[PATHLEN + 16];
        const char *kv[] = {"config",
                            preset[kind],
                            "tokenizer",
                            tokdir,
                            "layers",
                            "1",
                            "hidden_size",
                            "16",
                            "heads",
                            "2",
                            "intermediate_size",
                            "32",
                            "max_length",
                            "24",
                            NULL};
        float train[MAXB * NLABELS], eval[MAXB * NLABELS];
        moments lin = {0, 0, 0}, emb = {0, 0, 0};
        tc_tensor *wemb;
        tc_graph *g = NULL;
        tc_rng drop;
        size_t i;
        model md;

        snprintf(tokdir, sizeof(tokdir), "%s/vocab.txt", fx[kind].dir); /* a file, not a folder */
        TC_CHECK_OK(model_make(&md, kind, kv, 7));
        if (!md.m)
            continue;
        wemb = tc_params_at(md.p, 0);
        TC_CHECK(wemb && wemb->ndim == 2 && wemb->shape[0] == 40 && wemb->shape[1] == 16);
        TC_CHECK(tc_params_find(md.p, kind == DB
                                          ? "distilbert.transformer.layer.1.ffn.lin1.weight"
                                          : "bert.encoder.layer.1.output.dense.weight") == NULL);
        for (i = 0; i < tc_params_count(md.p); i++) {
            const tc_tensor *p = tc_params_at(md.p, i);
            int bias = strstr(p->name, ".bias") != NULL;
            if (is_norm(p->name)) {
                TC_CHECK(all_equal(p, bias ? 0.0f : 1.0f));
                TC_CHECK(p->flags & TC_TENSOR_NO_DECAY);
            } else if (bias) {
                TC_CHECK(all_equal(p, 0.0f));
                TC_CHECK(p->flags & TC_TENSOR_NO_DECAY);
            } else if (strstr(p->name, "embeddings")) {
                TC_CHECK(!(p->flags & TC_TENSOR_NO_DECAY));
                if (p == wemb) /* every row but [PAD] (id 0), which is exactly 0 */
                    moments_add(&emb, p->data + 16, p->numel - 16);
                else
                    moments_add(&emb, p->data, p->numel);
            } else {
                TC_CHECK(!(p->flags & TC_TENSOR_NO_DECAY));
                moments_add(&lin, p->data, p->numel);
            }
        }
        if (wemb)
            for (i = 0; i < 16; i++)
                TC_CHECK(wemb->data[i] == 0.0f);
        check_normal(&lin, "Linear weights");
        check_normal(&emb, "embeddings");
        /* dropout (0.1 in the preset) acts in training mode only */
        TC_CHECK_OK(logits_of(&md, 0, eval, NULL));
        TC_CHECK_OK(tc_graph_new(&g, 0));
        if (g) {
            tc_tensor *lg = NULL;
            tc_rng_init(&drop, 3, TC_RNG_STREAM_DROPOUT);
            tc_graph_set_rng(g, &drop);
            tc_graph_set_training(g, 1);
            TC_CHECK_OK(forward(&md, g, &lg, NULL));
            if (lg) {
                memcpy(train, lg->data, sizeof(train));
                TC_CHECK(memcmp(train, eval, sizeof(train)) != 0);
            }
            tc_graph_reset(g);
            tc_graph_set_training(g, 0);
            TC_CHECK_OK(forward(&md, g, &lg, NULL));
            TC_CHECK(lg && !memcmp(lg->data, eval, sizeof(eval)));
        }
        tc_graph_free(g);
        check_fresh_save(&md);
        plugin_test_model_free(&md);
    }
}

static const tc_test_case tests[] = {
    TC_TEST(test_plugins_bert__tokenizer), TC_TEST(test_plugins_bert__forward_backward),
    TC_TEST(test_plugins_bert__adamw),     TC_TEST(test_plugins_bert__gamma_beta),
    TC_TEST(test_plugins_bert__noprefix),  TC_TEST(test_plugins_bert__half_precision),
    TC_TEST(test_plugins_bert__errors),    TC_TEST(test_plugins_bert__save),
    TC_TEST(test_plugins_bert__fresh),     TC_TEST(test_plugins_bert__mismatched_head),
};

TC_TEST_MAIN(tests)
