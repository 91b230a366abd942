/*
 * test_optim.c - SGD and AdamW against PyTorch trajectories
 * (tests/fixtures/optim_fixture.txt, written by gen_optim_fixture.py), option
 * checks, weight-decay exclusion, and bitwise resume through save/load.
 */
#include <stdint.h>
#include <unistd.h>

#include <tc/error.h>
#include <tc/optim.h>
#include <tc/params.h>
#include <tc/safetensors.h>

#include "tc_test.h"

#define FIXTURE TC_TEST_DATA_DIR "/optim_fixture.txt"
#define REL_TOL 1e-6

/* ---- a whitespace tokenizer over a whole file; '#' starts a comment line ---- */

typedef struct tokens {
    char *buf;
    char *p;
} tokens;

static int tokens_open(tokens *t, const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;

    t->buf = t->p = NULL;
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    t->buf = malloc((size_t)n + 1);
    if (!t->buf || fread(t->buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(t->buf);
        t->buf = NULL;
        return -1;
    }
    fclose(f);
    t->buf[n] = '\0';
    t->p = t->buf;
    return 0;
}

static const char *tokens_next(tokens *t)
{
    char *start;

    for (;;) {
        while (*t->p == ' ' || *t->p == '\n' || *t->p == '\t' || *t->p == '\r')
            t->p++;
        if (*t->p != '#')
            break;
        while (*t->p && *t->p != '\n')
            t->p++;
    }
    if (!*t->p)
        return NULL;
    start = t->p;
    while (*t->p && *t->p != ' ' && *t->p != '\n' && *t->p != '\t' && *t->p != '\r')
        t->p++;
    if (*t->p)
        *t->p++ = '\0';
    return start;
}

static double tokens_double(tokens *t)
{
    const char *s = tokens_next(t);
    return s ? strtod(s, NULL) : NAN;
}

static void tokens_floats(tokens *t, float *dst, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        const char *s = tokens_next(t);
        dst[i] = s ? strtof(s, NULL) : NAN;
    }
}

static char *temp_path(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "%s/test_optim_%s_%ld.safetensors", TC_TEST_BUILD_DIR, tag, (long)getpid());
    return buf;
}

/* ---- the PyTorch fixture ---- */

typedef struct fixture_stats {
    int64_t values; /* compared */
    int64_t exact;  /* bitwise equal */
    double max_rel; /* largest relative difference */
} fixture_stats;

/* Compare n values with the expectation read from t; returns the mismatches. */
static int compare_values(tokens *t, const float *got, int64_t n, fixture_stats *st)
{
    int bad = 0;
    int64_t i;

    for (i = 0; i < n; i++) {
        const char *s = tokens_next(t);
        float want = s ? strtof(s, NULL) : NAN;
        double diff = fabs((double)got[i] - (double)want);
        double rel = diff / fmax(fabs((double)want), 1e-30);

        st->values++;
        st->exact += got[i] == want;
        if (rel > st->max_rel)
            st->max_rel = rel;
        if (!(diff <= REL_TOL * fabs((double)want))) {
            if (bad++ < 3)
                fprintf(stderr, "  [%lld] got %.9g, torch %.9g (rel %.3g)\n", (long long)i,
                        (double)got[i], (double)want, rel);
        }
    }
    return bad;
}

/* Compare the saved state tensor NAME.KEY with the fixture. */
static int compare_state(tc_optim *opt, tokens *t, const char *name, const char *key,
                         fixture_stats *st)
{
    char path[512], tname[256];
    tc_safetensors *sf = NULL;
    float buf[64];
    const tc_st_tensor *e;
    int64_t n = 0;
    int bad = 1, d;

    TC_CHECK_OK(tc_optim_save(opt, temp_path(path, sizeof(path), "state")));
    if (tc_safetensors_open(&sf, path) != TC_OK)
        goto out;
    snprintf(tname, sizeof(tname), "%s.%s", name, key);
    e = tc_safetensors_find(sf, tname);
    TC_CHECK(e != NULL);
    if (!e)
        goto out;
    for (n = 1, d = 0; d < e->ndim; d++)
        n *= e->shape[d];
    TC_CHECK(n <= 64);
    if (n > 64 || tc_safetensors_read_f32(sf, tname, buf, n) != TC_OK)
        goto out;
    bad = compare_values(t, buf, n, st);
out:
    tc_safetensors_free(sf);
    unlink(path);
    return bad;
}

static void set_option(tc_optim_options *o, const char *key, double v)
{
    if (!strcmp(key, "weight_decay"))
        o->weight_decay = (float)v;
    else if (!strcmp(key, "beta1"))
        o->beta1 = (float)v;
    else if (!strcmp(key, "beta2"))
        o->beta2 = (float)v;
    else if (!strcmp(key, "eps"))
        o->eps = (float)v;
    else if (!strcmp(key, "momentum"))
        o->momentum = (float)v;
    else if (!strcmp(key, "nesterov"))
        o->nesterov = v != 0.0;
}

/* Run one "case ... end" block; returns the number of mismatching values. */
static int run_case(tokens *t, const char *name, fixture_stats *st)
{
    tc_optim_options opts = TC_OPTIM_OPTIONS_INIT;
    tc_params *params = NULL;
    tc_optim *opt = NULL;
    const char *tok;
    float lr = 0.0f, beta1 = -1.0f;
    int stepped = 1, bad = 0, step = 0;

    TC_CHECK_OK(tc_params_new(&params));
    while ((tok = tokens_next(t)) && strcmp(tok, "end") != 0) {
        if (!strcmp(tok, "kind")) {
            opts.kind = strcmp(tokens_next(t), "adamw") ? TC_OPTIM_SGD : TC_OPTIM_ADAMW;
        } else if (!strcmp(tok, "param")) {
            char pname[64];
            int64_t shape[TC_MAX_DIMS];
            int nodecay, ndim, d;
            tc_tensor *p = NULL;

            snprintf(pname, sizeof(pname), "%s", tokens_next(t));
            nodecay = (int)tokens_double(t);
            ndim = (int)tokens_double(t);
            for (d = 0; d < ndim; d++)
                shape[d] = (int64_t)tokens_double(t);
            TC_CHECK_OK(
                tc_params_add(params, &p, pname, ndim, shape, nodecay ? TC_TENSOR_NO_DECAY : 0u));
        } else if (!strcmp(tok, "init") || !strcmp(tok, "grad") || !strcmp(tok, "expect")) {
            int is_grad = tok[0] == 'g', is_expect = tok[0] == 'e';
            tc_tensor *p = tc_params_find(params, tokens_next(t));

            if (!p) {
                TC_CHECK(p != NULL);
                return bad + 1;
            }
            if (!opt)
                TC_CHECK_OK(tc_optim_new(&opt, params, &opts));
            if (is_expect && !stepped) {
                TC_CHECK_OK(tc_optim_step(opt, lr, beta1));
                stepped = 1;
            }
            if (is_expect) {
                int b = compare_values(t, p->data, p->numel, st);
                if (b)
                    fprintf(stderr, "%s: step %d, '%s': %d values differ\n", name, step, p->name,
                            b);
                bad += b;
            } else {
                tokens_floats(t, is_grad ? p->grad : p->data, p->numel);
            }
        } else if (!strcmp(tok, "step")) {
            step = (int)tokens_double(t);
            lr = (float)tokens_double(t);
            beta1 = (float)tokens_double(t);
            stepped = 0;
        } else if (!strcmp(tok, "state")) {
            char pname[64], key[64];
            snprintf(pname, sizeof(pname), "%s", tokens_next(t));
            snprintf(key, sizeof(key), "%s", tokens_next(t));
            bad += compare_state(opt, t, pname, key, st);
        } else {
            set_option(&opts, tok, tokens_double(t));
        }
    }
    TC_CHECK(opt && tc_optim_steps(opt) == step);
    tc_optim_free(opt);
    tc_params_free(params);
    return bad;
}

static void test_sdk_optim__torch_fixture(void)
{
    tokens t;
    const char *tok;
    int cases = 0;

    TC_CHECK(tokens_open(&t, FIXTURE) == 0);
    if (!t.buf)
        return;
    while ((tok = tokens_next(&t))) {
        fixture_stats st = {0, 0, 0.0};
        char name[64];
        int bad;

        TC_CHECK(!strcmp(tok, "case"));
        if (strcmp(tok, "case"))
            break;
        snprintf(name, sizeof(name), "%s", tokens_next(&t));
        bad = run_case(&t, name, &st);
        TC_CHECK(bad == 0);
        printf("     %-16s %lld values vs torch, %lld bitwise equal, max rel diff %.3g\n", name,
               (long long)st.values, (long long)st.exact, st.max_rel);
        cases++;
    }
    TC_CHECK(cases == 4);
    free(t.buf);
}

/* ---- options and argument checks ---- */

static void test_sdk_optim__options(void)
{
    tc_optim_options o;
    tc_params *params = NULL;
    tc_optim *opt = NULL;

    TC_CHECK_OK(tc_optim_options_init(&o, TC_OPTIM_OPTIONS_VERSION));
    TC_CHECK(o.kind == TC_OPTIM_ADAMW && o.beta1 == 0.9f && o.beta2 == 0.999f && o.eps == 1e-8f &&
             o.weight_decay == 0.0f && o.momentum == 0.9f && !o.nesterov);
    TC_CHECK_ERR(tc_optim_options_init(&o, 99), TC_EINVAL);
    TC_CHECK_ERR(tc_optim_options_init(NULL, TC_OPTIM_OPTIONS_VERSION), TC_EINVAL);

    TC_CHECK_OK(tc_params_new(&params));
    TC_CHECK_OK(tc_optim_new(&opt, params, NULL)); /* defaults; no parameters is fine */
    TC_CHECK_OK(tc_optim_step(opt, 1e-3f, -1.0f));
    TC_CHECK(tc_optim_steps(opt) == 1);
    TC_CHECK_ERR(tc_optim_step(opt, -1.0f, -1.0f), TC_EINVAL);
    TC_CHECK_ERR(tc_optim_step(opt, NAN, -1.0f), TC_EINVAL);
    TC_CHECK_ERR(tc_optim_step(opt, 1e-3f, 1.0f), TC_EINVAL);
    TC_CHECK(tc_optim_steps(opt) == 1);
    tc_optim_free(opt);
    opt = NULL;

    tc_optim_options_init(&o, TC_OPTIM_OPTIONS_VERSION);
    o.version = 2;
    TC_CHECK_ERR(tc_optim_new(&opt, params, &o), TC_EINVAL);
    tc_optim_options_init(&o, TC_OPTIM_OPTIONS_VERSION);
    o.beta1 = 1.0f;
    TC_CHECK_ERR(tc_optim_new(&opt, params, &o), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'beta1'");
    tc_optim_options_init(&o, TC_OPTIM_OPTIONS_VERSION);
    o.weight_decay = -0.1f;
    TC_CHECK_ERR(tc_optim_new(&opt, params, &o), TC_EINVAL);
    tc_optim_options_init(&o, TC_OPTIM_OPTIONS_VERSION);
    o.kind = TC_OPTIM_SGD;
    o.momentum = 0.0f;
    o.nesterov = 1;
    TC_CHECK_ERR(tc_optim_new(&opt, params, &o), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "nesterov");
    o.kind = TC_OPTIM_MAX;
    TC_CHECK_ERR(tc_optim_new(&opt, params, &o), TC_EINVAL);
    TC_CHECK(opt == NULL);
    TC_CHECK_ERR(tc_optim_new(NULL, params, NULL), TC_EINVAL);
    TC_CHECK_ERR(tc_optim_new(&opt, NULL, NULL), TC_EINVAL);
    TC_CHECK_ERR(tc_optim_step(NULL, 1e-3f, -1.0f), TC_EINVAL);
    tc_optim_free(NULL);
    tc_params_free(params);
}

/* Weight decay is decoupled, scaled by lr, and skipped for TC_TENSOR_NO_DECAY. */
static void test_sdk_optim__no_decay(void)
{
    tc_optim_options o = TC_OPTIM_OPTIONS_INIT;
    tc_params *params = NULL;
    tc_tensor *w = NULL, *b = NULL;
    tc_optim *opt = NULL;
    int64_t shape[1] = {4};
    int i;

    TC_CHECK_OK(tc_params_new(&params));
    TC_CHECK_OK(tc_params_add(params, &w, "w", 1, shape, 0));
    TC_CHECK_OK(tc_params_add(params, &b, "b", 1, shape, TC_TENSOR_NO_DECAY));
    if (!w || !b)
        goto out;
    for (i = 0; i < 4; i++)
        w->data[i] = b->data[i] = (float)(i + 1);
    o.weight_decay = 0.5f;
    TC_CHECK_OK(tc_optim_new(&opt, params, &o));
    tc_params_zero_grad(params);
    TC_CHECK_OK(tc_optim_step(opt, 0.1f, -1.0f));
    for (i = 0; i < 4; i++) {
        /* zero gradient: AdamW only decays, p * (1 - lr*wd) = p * 0.95 */
        TC_CHECK(w->data[i] == (float)(i + 1) * 0.95f);
        TC_CHECK(b->data[i] == (float)(i + 1));
    }
    tc_optim_free(opt);
    opt = NULL;

    o.kind = TC_OPTIM_SGD;
    o.momentum = 0.0f;
    TC_CHECK_OK(tc_optim_new(&opt, params, &o));
    for (i = 0; i < 4; i++)
        w->data[i] = b->data[i] = 2.0f;
    TC_CHECK_OK(tc_optim_step(opt, 0.25f, -1.0f));
    for (i = 0; i < 4; i++) {
        /* SGD: g + wd*p = 1, p - lr*1 */
        TC_CHECK(w->data[i] == 1.75f);
        TC_CHECK(b->data[i] == 2.0f);
    }
out:
    tc_optim_free(opt);
    tc_params_free(params);
}

static void test_sdk_optim__params_changed(void)
{
    tc_params *params = NULL;
    tc_tensor *t = NULL;
    tc_optim *opt = NULL;
    int64_t shape[1] = {3};

    TC_CHECK_OK(tc_params_new(&params));
    TC_CHECK_OK(tc_params_add(params, &t, "a", 1, shape, 0));
    TC_CHECK_OK(tc_optim_new(&opt, params, NULL));
    TC_CHECK_OK(tc_params_add(params, &t, "b", 1, shape, 0));
    TC_CHECK_ERR(tc_optim_step(opt, 1e-3f, -1.0f), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "parameters changed");
    tc_optim_free(opt);
    tc_params_free(params);
}

/* ---- save / load ---- */

/* A small model: "fc.weight" (3, 4) decayed and "fc.bias" (3) not. */
static tc_params *make_params(int64_t rows)
{
    tc_params *params = NULL;
    tc_tensor *w = NULL, *b = NULL;
    int64_t ws[2] = {rows, 4}, bs[1] = {rows};
    int64_t i;

    if (tc_params_new(&params) != TC_OK)
        return NULL;
    if (tc_params_add(params, &w, "fc.weight", 2, ws, 0) != TC_OK ||
        tc_params_add(params, &b, "fc.bias", 1, bs, TC_TENSOR_NO_DECAY) != TC_OK) {
        tc_params_free(params);
        return NULL;
    }
    for (i = 0; i < tc_params_numel(params); i++)
        tc_params_data(params)[i] = (float)sin(0.7 * (double)i + 0.3);
    return params;
}

/* Deterministic gradients that differ per step. */
static void set_grads(tc_params *params, int step)
{
    int64_t i;

    for (i = 0; i < tc_params_numel(params); i++)
        tc_params_grad(params)[i] = (float)cos(1.3 * (double)i * (double)(step + 1) + step);
}

static void run_steps(tc_optim *opt, tc_params *params, int from, int to)
{
    int s;

    for (s = from; s < to; s++) {
        set_grads(params, s);
        TC_CHECK_OK(tc_optim_step(opt, 1e-2f / (float)(s + 1), s == 3 ? 0.8f : -1.0f));
    }
}

static void check_resume(tc_optim_kind kind)
{
    tc_optim_options o = TC_OPTIM_OPTIONS_INIT;
    tc_params *a = make_params(3), *b = make_params(3);
    tc_optim *oa = NULL, *ob = NULL;
    char path[512];

    TC_CHECK(a && b);
    if (!a || !b)
        goto out;
    o.kind = kind;
    o.weight_decay = 0.01f;
    o.nesterov = kind == TC_OPTIM_SGD;
    temp_path(path, sizeof(path), kind == TC_OPTIM_SGD ? "resume_sgd" : "resume_adamw");
    TC_CHECK_OK(tc_optim_new(&oa, a, &o));
    run_steps(oa, a, 0, 5);

    TC_CHECK_OK(tc_optim_new(&ob, b, &o));
    run_steps(ob, b, 0, 3);
    TC_CHECK_OK(tc_optim_save(ob, path));
    tc_optim_free(ob);
    ob = NULL;
    TC_CHECK_OK(tc_optim_new(&ob, b, &o));
    TC_CHECK(tc_optim_steps(ob) == 0);
    TC_CHECK_OK(tc_optim_load(ob, path));
    TC_CHECK(tc_optim_steps(ob) == 3);
    run_steps(ob, b, 3, 5);
    TC_CHECK(tc_optim_steps(ob) == 5);
    TC_CHECK(memcmp(tc_params_data(a), tc_params_data(b),
                    (size_t)tc_params_numel(a) * sizeof(float)) == 0);
    unlink(path);
out:
    tc_optim_free(oa);
    tc_optim_free(ob);
    tc_params_free(a);
    tc_params_free(b);
}

static void test_sdk_optim__resume_bitwise(void)
{
    check_resume(TC_OPTIM_ADAMW);
    check_resume(TC_OPTIM_SGD);
}

/* A whole (binary) file into a malloc'd buffer; 0 or -1. */
static int read_all(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;

    *out = NULL;
    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(*out = malloc((size_t)n + 1)) || fread(*out, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(*out);
        *out = NULL;
        return -1;
    }
    fclose(f);
    *len = (size_t)n;
    return 0;
}

/* Clip + step + zero in three passes and tc_optim_step_fused in one give the same bits:
 * parameters, optimizer state (through tc_optim_save) and zeroed gradients, clipped or not. */
static void check_fused(tc_optim_kind kind)
{
    tc_optim_options o = TC_OPTIM_OPTIONS_INIT;
    tc_params *a = make_params(40000), *b = make_params(40000); /* past the parallel threshold */
    tc_optim *oa = NULL, *ob = NULL;
    char pa[512], pb[512];
    char *fa = NULL, *fb = NULL;
    size_t la = 0, lb = 0;
    int clipped = 0;

    TC_CHECK(a && b);
    if (!a || !b)
        goto out;
    o.kind = kind;
    o.weight_decay = 0.01f;
    o.momentum = kind == TC_OPTIM_SGD ? 0.9f : o.momentum;
    TC_CHECK_OK(tc_optim_new(&oa, a, &o));
    TC_CHECK_OK(tc_optim_new(&ob, b, &o));
    for (int s = 0; s < 6; s++) {
        /* max_norm 1 clips these gradients (norm ~ 200); 1e9 does not */
        double max_norm = s % 2 ? 1.0 : 1e9, na, nb;
        float scale;
        set_grads(a, s);
        set_grads(b, s);
        na = tc_params_clip_grad_norm(a, max_norm);
        TC_CHECK_OK(tc_optim_step(oa, 1e-2f, -1.0f));
        tc_params_zero_grad(a);
        scale = tc_params_clip_scale(b, max_norm, &nb);
        TC_CHECK(na == nb);
        clipped += scale < 1.0f;
        TC_CHECK_OK(tc_optim_step_fused(ob, 1e-2f, -1.0f, scale));
    }
    TC_CHECK(clipped == 3);
    TC_CHECK(memcmp(tc_params_data(a), tc_params_data(b),
                    (size_t)tc_params_numel(a) * sizeof(float)) == 0);
    for (int64_t i = 0; i < tc_params_numel(b); i++)
        if (tc_params_grad(b)[i] != 0.0f) {
            TC_CHECK(!"gradient left non-zero");
            break;
        }
    temp_path(pa, sizeof(pa), "fused_a");
    temp_path(pb, sizeof(pb), "fused_b");
    TC_CHECK_OK(tc_optim_save(oa, pa));
    TC_CHECK_OK(tc_optim_save(ob, pb));
    TC_CHECK(read_all(pa, &fa, &la) == 0 && read_all(pb, &fb, &lb) == 0);
    TC_CHECK(fa && fb && la == lb && memcmp(fa, fb, la) == 0);
    TC_CHECK_ERR(tc_optim_step_fused(ob, 1e-2f, -1.0f, 0.0f), TC_EINVAL);
    TC_CHECK_ERR(tc_optim_step_fused(ob, 1e-2f, -1.0f, NAN), TC_EINVAL);
    free(fa);
    free(fb);
    unlink(pa);
    unlink(pb);
out:
    tc_optim_free(oa);
    tc_optim_free(ob);
    tc_params_free(a);
    tc_params_free(b);
}

static void test_sdk_optim__fused_step_bitwise(void)
{
    check_fused(TC_OPTIM_ADAMW);
    check_fused(TC_OPTIM_SGD);
}

static void test_sdk_optim__save_format(void)
{
    tc_params *p = make_params(3);
    tc_optim *opt = NULL;
    tc_safetensors *sf = NULL;
    const tc_st_tensor *e;
    char path[512];

    if (!p)
        return;
    temp_path(path, sizeof(path), "format");
    TC_CHECK_OK(tc_optim_new(&opt, p, NULL));
    run_steps(opt, p, 0, 2);
    TC_CHECK_OK(tc_optim_save(opt, path));
    TC_CHECK_OK(tc_safetensors_open(&sf, path));
    if (sf) {
        TC_CHECK(tc_safetensors_count(sf) == 4);
        TC_CHECK(!strcmp(tc_safetensors_metadata(sf, "kind"), "adamw"));
        TC_CHECK(!strcmp(tc_safetensors_metadata(sf, "step"), "2"));
        e = tc_safetensors_find(sf, "fc.weight.exp_avg_sq");
        TC_CHECK(e && e->dtype == TC_ST_F32 && e->ndim == 2 && e->shape[0] == 3 &&
                 e->shape[1] == 4);
        TC_CHECK(tc_safetensors_find(sf, "fc.bias.exp_avg") != NULL);
    }
    tc_safetensors_free(sf);
    tc_optim_free(opt);
    tc_params_free(p);
    unlink(path);
}

static void test_sdk_optim__load_errors(void)
{
    tc_optim_options sgd = TC_OPTIM_OPTIONS_INIT;
    tc_params *p = make_params(3), *other = make_params(2), *lone = NULL;
    tc_optim *adam = NULL, *s = NULL, *o2 = NULL, *o3 = NULL;
    tc_tensor *t = NULL;
    int64_t shape[2] = {3, 4};
    char path[512], missing[512];

    if (!p || !other)
        goto out;
    temp_path(path, sizeof(path), "errors");
    temp_path(missing, sizeof(missing), "does_not_exist");
    sgd.kind = TC_OPTIM_SGD;
    TC_CHECK_OK(tc_optim_new(&adam, p, NULL));
    TC_CHECK_OK(tc_optim_new(&s, p, &sgd));
    run_steps(adam, p, 0, 2);
    TC_CHECK_OK(tc_optim_save(adam, path));

    /* wrong kind */
    TC_CHECK_ERR(tc_optim_load(s, path), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'adamw'");
    TC_CHECK(tc_optim_steps(s) == 0);

    /* wrong shape: fc.weight is (2, 4) here */
    TC_CHECK_OK(tc_optim_new(&o2, other, NULL));
    TC_CHECK_ERR(tc_optim_load(o2, path), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "[3, 4]");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "[2, 4]");
    TC_CHECK(tc_optim_steps(o2) == 0);

    /* a parameter without state in the file */
    TC_CHECK_OK(tc_params_new(&lone));
    TC_CHECK_OK(tc_params_add(lone, &t, "fc.weight", 2, shape, 0));
    TC_CHECK_OK(tc_params_add(lone, &t, "head.weight", 2, shape, 0));
    TC_CHECK_OK(tc_optim_new(&o3, lone, NULL));
    TC_CHECK_ERR(tc_optim_load(o3, path), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "head.weight.exp_avg");

    /* no file */
    TC_CHECK(tc_optim_load(adam, missing) < 0);
    TC_CHECK_ERR(tc_optim_load(adam, NULL), TC_EINVAL);
    TC_CHECK_ERR(tc_optim_save(NULL, path), TC_EINVAL);
    TC_CHECK(tc_optim_steps(adam) == 2);
    unlink(path);
out:
    tc_optim_free(adam);
    tc_optim_free(s);
    tc_optim_free(o2);
    tc_optim_free(o3);
    tc_params_free(p);
    tc_params_free(other);
    tc_params_free(lone);
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_optim__torch_fixture),  TC_TEST(test_sdk_optim__options),
    TC_TEST(test_sdk_optim__no_decay),       TC_TEST(test_sdk_optim__params_changed),
    TC_TEST(test_sdk_optim__resume_bitwise), TC_TEST(test_sdk_optim__save_format),
    TC_TEST(test_sdk_optim__load_errors),    TC_TEST(test_sdk_optim__fused_step_bitwise),
};

TC_TEST_MAIN(tests)
