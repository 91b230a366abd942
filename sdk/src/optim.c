/*
 * optim.c - SGD with momentum and AdamW over a tc_params' flat buffers.
 *
 * Both follow PyTorch's single-tensor code paths (torch.optim.SGD and
 * torch.optim.AdamW, foreach=False) operation by operation: scalar factors
 * such as 1 - lr*wd, lr/(1 - beta1^t) and sqrt(1 - beta2^t) are computed in
 * double, as Python floats, then rounded to float once and applied with the
 * same f32 operations in the same order as ATen's CPU kernels. ATen's AVX2 and
 * AVX-512 kernels are compiled with FMA contraction, so "a + alpha*b"
 * (add/add_ with alpha) and "a + s*t1*t2" (addcmul_) are single fused
 * multiply-adds there; we call fmaf() at exactly those places (and nowhere
 * else), which makes the result bitwise equal to torch 1.13 on x86-64 and the
 * same on every machine, since fmaf is correctly rounded with or without FMA
 * hardware. On x86-64 the update kernels are also cloned for FMA hardware so
 * fmaf is an instruction rather than a libm call.
 *
 * Hyperparameters arrive as floats (0.9f is 0.899999976...), while torch holds
 * the Python double 0.9. widen() maps a float back to the double of its
 * shortest decimal form, i.e. what Python holds for the literal the user
 * typed, so the bias corrections 1 - beta^t match torch's to the last bit.
 *
 * Dimension vocabulary: n elements of one parameter tensor.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>
#include <tc/optim.h>
#include <tc/safetensors.h>

#include "internal.h"

/* Only the explicit fmaf() calls may fuse (GCC never contracts in ISO C mode). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Tensors shorter than this are updated on one thread. */
#define PARALLEL_MIN_NUMEL ((int64_t)1 << 15)

/*
 * On x86-64 (where FMA is not in the baseline), build the update kernels twice
 * and pick the FMA one at load time when the CPU has it.
 */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__FMA__)
#define KERNEL_CLONES __attribute__((target_clones("fma", "default")))
#else
#define KERNEL_CLONES
#endif

/* Longest parameter name accepted for state tensor names. */
#define STATE_NAME_MAX 1024

struct tc_optim {
    tc_params *params; /* borrowed */
    tc_optim_options opts;
    double weight_decay, beta1, beta2, eps, momentum; /* opts widened to Python doubles */
    size_t count;                                     /* parameters at creation */
    int64_t numel;                                    /* floats at creation */
    int64_t steps;
    float *m; /* (numel) AdamW exp_avg, or SGD momentum_buffer */
    float *v; /* (numel) AdamW exp_avg_sq; NULL for SGD */
};

/* The per-step scalars of one AdamW update, rounded to f32 as ATen applies them. */
typedef struct adamw_consts {
    float decay;    /* 1 - lr*wd */
    float beta1;    /* beta1 */
    float omb1;     /* 1 - beta1 */
    float beta2;    /* beta2 */
    float omb2;     /* 1 - beta2 */
    float bc2_sqrt; /* sqrt(1 - beta2^t) */
    float eps;      /* eps */
    float neg_step; /* -lr / (1 - beta1^t) */
} adamw_consts;

/* The per-step scalars of one SGD update. */
typedef struct sgd_consts {
    float wd;       /* weight decay added to the gradient, 0 for none */
    float momentum; /* momentum */
    float neg_lr;   /* -lr */
    int nesterov;
} sgd_consts;

static const char *const kind_names[TC_OPTIM_MAX] = {"sgd", "adamw"};

/* The double whose shortest decimal representation round-trips to x. */
static double widen(float x)
{
    char buf[32];
    int prec;

    if (!isfinite(x) || x == 0.0f)
        return (double)x;
    for (prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x)
            return strtod(buf, NULL);
    }
    return (double)x;
}

static int check_options(const tc_optim_options *o)
{
    if (o->version != TC_OPTIM_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown optimizer options version %u, expected %u",
                            o->version, TC_OPTIM_OPTIONS_VERSION);
    if ((int)o->kind < 0 || o->kind >= TC_OPTIM_MAX)
        return tc_error_set(TC_EINVAL, "unknown optimizer kind %d", (int)o->kind);
    if (!(o->weight_decay >= 0.0f) || !isfinite(o->weight_decay))
        return tc_error_set(TC_EINVAL, "invalid 'weight_decay' %g", (double)o->weight_decay);
    if (o->kind == TC_OPTIM_ADAMW) {
        if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f))
            return tc_error_set(TC_EINVAL, "invalid 'beta1' %g, expected [0, 1)", (double)o->beta1);
        if (!(o->beta2 >= 0.0f && o->beta2 < 1.0f))
            return tc_error_set(TC_EINVAL, "invalid 'beta2' %g, expected [0, 1)", (double)o->beta2);
        if (!(o->eps >= 0.0f) || !isfinite(o->eps))
            return tc_error_set(TC_EINVAL, "invalid 'eps' %g", (double)o->eps);
    } else {
        if (!(o->momentum >= 0.0f) || !isfinite(o->momentum))
            return tc_error_set(TC_EINVAL, "invalid 'momentum' %g", (double)o->momentum);
        if (o->nesterov && o->momentum <= 0.0f)
            return tc_error_set(TC_EINVAL, "'nesterov' requires a momentum > 0");
    }
    return TC_OK;
}

int tc_optim_options_init(tc_optim_options *opts, unsigned int version)
{
    static const tc_optim_options defaults = TC_OPTIM_OPTIONS_INIT;

    TC_ASSERT_ARG(opts);
    if (version != TC_OPTIM_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown optimizer options version %u, expected %u", version,
                            TC_OPTIM_OPTIONS_VERSION);
    *opts = defaults;
    return TC_OK;
}

int tc_optim_new(tc_optim **out, tc_params *params, const tc_optim_options *opts)
{
    static const tc_optim_options defaults = TC_OPTIM_OPTIONS_INIT;
    tc_optim *o = NULL;
    size_t n;
    int err;

    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(params);
    if (!opts)
        opts = &defaults;
    if ((err = check_options(opts)) < 0)
        return err;
    o = tc_calloc(1, sizeof(*o));
    if (!o)
        return TC_ENOMEM;
    o->params = params;
    o->opts = *opts;
    o->weight_decay = widen(opts->weight_decay);
    o->beta1 = widen(opts->beta1);
    o->beta2 = widen(opts->beta2);
    o->eps = widen(opts->eps);
    o->momentum = widen(opts->momentum);
    o->count = tc_params_count(params);
    o->numel = tc_params_numel(params);
    n = (size_t)o->numel;
    err = TC_ENOMEM;
    if (!(o->m = tc_calloc(n ? n : 1, sizeof(float))))
        goto out;
    if (opts->kind == TC_OPTIM_ADAMW && !(o->v = tc_calloc(n ? n : 1, sizeof(float))))
        goto out;
    *out = o;
    o = NULL;
    err = TC_OK;
out:
    tc_optim_free(o);
    return err;
}

void tc_optim_free(tc_optim *o)
{
    if (!o)
        return;
    tc_free(o->m);
    tc_free(o->v);
    tc_free(o);
}

int64_t tc_optim_steps(const tc_optim *o)
{
    return o ? o->steps : 0;
}

/*
 * p, g, m, v: (n). One torch AdamW update of a tensor. fused: the gradient is first multiplied
 * by gscale (unless gscale is 1; a clip coefficient) and set to 0 after use, which gives the
 * same bits as scaling g, updating and zeroing in three passes.
 */
KERNEL_CLONES static void adamw_update(float *p, float *g, float *m, float *v, int64_t n,
                                       const adamw_consts *k, int fused, float gscale)
{
    int64_t i;

#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN_NUMEL)
#endif
    for (i = 0; i < n; i++) {
        float gi = g[i], mi, vi, denom;

        if (fused) {
            if (gscale != 1.0f)
                gi *= gscale;
            g[i] = 0.0f;
        }

        p[i] = p[i] * k->decay;                   /* param.mul_(1 - lr*wd) */
        mi = m[i] * k->beta1;                     /* exp_avg.mul_(beta1) */
        mi = fmaf(k->omb1, gi, mi);               /*   .add_(grad, alpha=1-beta1) */
        vi = v[i] * k->beta2;                     /* exp_avg_sq.mul_(beta2) */
        vi = fmaf(k->omb2 * gi, gi, vi);          /*   .addcmul_(grad, grad, 1-beta2) */
        denom = sqrtf(vi) / k->bc2_sqrt + k->eps; /* (sqrt(v) / bc2_sqrt).add_(eps) */
        p[i] = p[i] + k->neg_step * mi / denom;   /* param.addcdiv_(m, denom, -step) */
        m[i] = mi;
        v[i] = vi;
    }
}

/* p, g, buf: (n). One torch SGD update of a tensor; fused and gscale as adamw_update. */
KERNEL_CLONES static void sgd_update(float *p, float *g, float *buf, int64_t n, const sgd_consts *k,
                                     int fused, float gscale)
{
    int64_t i;

#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN_NUMEL)
#endif
    for (i = 0; i < n; i++) {
        float d = g[i], b;

        if (fused) {
            if (gscale != 1.0f)
                d *= gscale;
            g[i] = 0.0f;
        }

        if (k->wd != 0.0f)
            d = fmaf(k->wd, p[i], d); /* d_p = d_p.add(param, alpha=wd) */
        b = buf[i] * k->momentum + d; /* buf.mul_(momentum).add_(d_p) */
        buf[i] = b;
        if (k->nesterov)
            d = fmaf(k->momentum, b, d); /* d_p = d_p.add(buf, alpha=momentum) */
        else
            d = b;
        p[i] = fmaf(k->neg_lr, d, p[i]); /* param.add_(d_p, alpha=-lr) */
    }
}

/* The offset of parameter t in the flat buffers, checked against the state size. */
static int param_offset(const tc_optim *o, const tc_tensor *t, const float *base, int64_t *out)
{
    int64_t off = (int64_t)(t->data - base);

    if (off < 0 || t->numel < 0 || off > o->numel - t->numel)
        return tc_error_set(TC_EINVAL, "parameter '%s' lies outside the flat buffer",
                            t->name ? t->name : "?");
    *out = off;
    return TC_OK;
}

static int check_unchanged(const tc_optim *o)
{
    if (tc_params_count(o->params) != o->count || tc_params_numel(o->params) != o->numel)
        return tc_error_set(TC_EINVAL,
                            "parameters changed since the optimizer was created (%zu tensors, "
                            "%lld floats; now %zu, %lld)",
                            o->count, (long long)o->numel, tc_params_count(o->params),
                            (long long)tc_params_numel(o->params));
    return TC_OK;
}

static void adamw_consts_for(const tc_optim *o, double lr, double beta1, int64_t t, double wd,
                             adamw_consts *k)
{
    double bc1 = 1.0 - pow(beta1, (double)t);
    double bc2 = 1.0 - pow(o->beta2, (double)t);

    k->decay = (float)(1.0 - lr * wd);
    k->beta1 = (float)beta1;
    k->omb1 = (float)(1.0 - beta1);
    k->beta2 = (float)o->beta2;
    k->omb2 = (float)(1.0 - o->beta2);
    k->bc2_sqrt = (float)sqrt(bc2);
    k->eps = (float)o->eps;
    k->neg_step = (float)-(lr / bc1);
}

static int optim_step(tc_optim *o, float lr, float beta1, int fused, float gscale)
{
    float *data, *grad;
    double lr_d, b1;
    size_t i;
    int err;

    TC_ASSERT_ARG(o);
    if (!(lr >= 0.0f) || !isfinite(lr))
        return tc_error_set(TC_EINVAL, "invalid learning rate %g", (double)lr);
    if (beta1 >= 0.0f && (!isfinite(beta1) || (o->opts.kind == TC_OPTIM_ADAMW && beta1 >= 1.0f)))
        return tc_error_set(TC_EINVAL, "invalid 'beta1' override %g", (double)beta1);
    if ((err = check_unchanged(o)) < 0)
        return err;
    data = tc_params_data(o->params);
    grad = tc_params_grad(o->params);
    lr_d = widen(lr);
    if (o->opts.kind == TC_OPTIM_ADAMW)
        b1 = beta1 >= 0.0f ? widen(beta1) : o->beta1;
    else
        b1 = beta1 >= 0.0f ? widen(beta1) : o->momentum;
    for (i = 0; i < o->count; i++) { /* check every tensor before changing any */
        int64_t off = 0;
        if ((err = param_offset(o, tc_params_at(o->params, i), data, &off)) < 0)
            return err;
    }
    for (i = 0; i < o->count; i++) {
        tc_tensor *t = tc_params_at(o->params, i);
        int decay = !(t->flags & TC_TENSOR_NO_DECAY);
        int64_t off = (int64_t)(t->data - data);

        if (o->opts.kind == TC_OPTIM_ADAMW) {
            adamw_consts k;
            adamw_consts_for(o, lr_d, b1, o->steps + 1, decay ? o->weight_decay : 0.0, &k);
            adamw_update(data + off, grad + off, o->m + off, o->v + off, t->numel, &k, fused,
                         gscale);
        } else {
            sgd_consts k;
            k.wd = decay ? (float)o->weight_decay : 0.0f;
            k.momentum = (float)b1;
            k.neg_lr = (float)-lr_d;
            k.nesterov = o->opts.nesterov;
            sgd_update(data + off, grad + off, o->m + off, t->numel, &k, fused, gscale);
        }
    }
    o->steps++;
    return TC_OK;
}

int tc_optim_step(tc_optim *o, float lr, float beta1)
{
    return optim_step(o, lr, beta1, 0, 1.0f);
}

int tc_optim_step_fused(tc_optim *o, float lr, float beta1, float grad_scale)
{
    TC_ASSERT_ARG(o);
    if (!(grad_scale > 0.0f) || !isfinite(grad_scale))
        return tc_error_set(TC_EINVAL, "invalid gradient scale %g", (double)grad_scale);
    return optim_step(o, lr, beta1, 1, grad_scale);
}

/* "<param>.<suffix>" into buf; the names of the state tensors, as torch's state_dict keys. */
static int state_name(char *buf, size_t size, const char *param, const char *suffix)
{
    if ((size_t)snprintf(buf, size, "%s.%s", param, suffix) >= size)
        return tc_error_set(TC_ERANGE, "parameter name too long: '%.64s...'", param);
    return TC_OK;
}

/* Suffixes of the state buffers of a kind: [0] for m, [1] for v (or NULL). */
static void state_suffixes(tc_optim_kind kind, const char **s0, const char **s1)
{
    *s0 = kind == TC_OPTIM_ADAMW ? "exp_avg" : "momentum_buffer";
    *s1 = kind == TC_OPTIM_ADAMW ? "exp_avg_sq" : NULL;
}

int tc_optim_save(const tc_optim *o, const char *path)
{
    tc_st_entry *entries = NULL;
    char *names = NULL;
    const char *sfx[2];
    const float *bufs[2];
    char step[32];
    const char *meta[5];
    const float *base;
    size_t nbuf, i, j, n = 0;
    int err;

    TC_ASSERT_ARG(o);
    TC_ASSERT_ARG(path);
    if ((err = check_unchanged(o)) < 0)
        return err;
    state_suffixes(o->opts.kind, &sfx[0], &sfx[1]);
    bufs[0] = o->m;
    bufs[1] = o->v;
    nbuf = sfx[1] ? 2 : 1;
    err = TC_ENOMEM;
    entries = tc_calloc(o->count * nbuf + 1, sizeof(*entries));
    names = tc_calloc(o->count * nbuf + 1, STATE_NAME_MAX);
    if (!entries || !names)
        goto out;
    base = tc_params_data(o->params);
    for (i = 0; i < o->count; i++) {
        const tc_tensor *t = tc_params_at(o->params, i);
        int64_t off = 0;

        if ((err = param_offset(o, t, base, &off)) < 0)
            goto out;
        for (j = 0; j < nbuf; j++, n++) {
            char *name = names + n * STATE_NAME_MAX;

            if ((err = state_name(name, STATE_NAME_MAX, t->name, sfx[j])) < 0)
                goto out;
            entries[n].name = name;
            entries[n].dtype = TC_ST_F32;
            entries[n].ndim = t->ndim;
            entries[n].shape = t->shape;
            entries[n].data = bufs[j] + off;
        }
    }
    snprintf(step, sizeof(step), "%lld", (long long)o->steps);
    meta[0] = "kind";
    meta[1] = kind_names[o->opts.kind];
    meta[2] = "step";
    meta[3] = step;
    meta[4] = NULL;
    err = tc_safetensors_write(path, entries, n, meta);
out:
    tc_free(entries);
    tc_free(names);
    return err;
}

static void format_shape(char *buf, size_t size, int32_t ndim, const int64_t *shape)
{
    size_t len = 0;
    int32_t d;

    len += (size_t)snprintf(buf, size, "[");
    for (d = 0; d < ndim && len < size; d++)
        len +=
            (size_t)snprintf(buf + len, size - len, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* Read one state tensor of parameter t from st into dst, checking its shape. */
static int load_state(tc_safetensors *st, const char *path, const tc_tensor *t, const char *sfx,
                      float *dst)
{
    char name[STATE_NAME_MAX], have[128], want[128];
    const tc_st_tensor *e;
    int32_t d;
    int err;

    if ((err = state_name(name, sizeof(name), t->name, sfx)) < 0)
        return err;
    if (!(e = tc_safetensors_find(st, name)))
        return tc_error_set(TC_ENOTFOUND, "optimizer state '%s' has no tensor '%s'", path, name);
    for (d = 0; d < t->ndim && e->ndim == t->ndim; d++)
        if (e->shape[d] != t->shape[d])
            break;
    if (e->ndim != t->ndim || d < t->ndim) {
        format_shape(have, sizeof(have), e->ndim, e->shape);
        format_shape(want, sizeof(want), t->ndim, t->shape);
        return tc_error_set(TC_EINVAL, "tensor '%s' in '%s' has shape %s, expected %s", name, path,
                            have, want);
    }
    return tc_safetensors_read_f32(st, name, dst, t->numel);
}

/* The "kind" and "step" metadata of an optimizer state file. */
static int load_meta(tc_safetensors *st, const char *path, tc_optim_kind want, int64_t *step)
{
    const char *kind = tc_safetensors_metadata(st, "kind");
    const char *s = tc_safetensors_metadata(st, "step");
    char *end = NULL;
    long long v;

    if (!kind || !s)
        return tc_error_set(TC_EFORMAT, "optimizer state '%s' lacks the '%s' metadata", path,
                            kind ? "step" : "kind");
    if (strcmp(kind, kind_names[want]) != 0)
        return tc_error_set(TC_EINVAL, "optimizer state '%s' is for '%s', expected '%s'", path,
                            kind, kind_names[want]);
    v = strtoll(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < 0 || v == LLONG_MAX)
        return tc_error_set(TC_EFORMAT, "optimizer state '%s' has a bad 'step' '%s'", path, s);
    *step = (int64_t)v;
    return TC_OK;
}

int tc_optim_load(tc_optim *o, const char *path)
{
    tc_safetensors *st = NULL;
    float *bufs[2] = {NULL, NULL}, *tmp;
    const char *sfx[2];
    const float *base;
    int64_t step = 0;
    size_t n, i, j;
    int err;

    TC_ASSERT_ARG(o);
    TC_ASSERT_ARG(path);
    if ((err = check_unchanged(o)) < 0)
        return err;
    if ((err = tc_safetensors_open(&st, path)) < 0)
        return err;
    if ((err = load_meta(st, path, o->opts.kind, &step)) < 0)
        goto out;
    state_suffixes(o->opts.kind, &sfx[0], &sfx[1]);
    n = (size_t)o->numel;
    err = TC_ENOMEM;
    for (j = 0; j < 2; j++)
        if (sfx[j] && !(bufs[j] = tc_calloc(n ? n : 1, sizeof(float))))
            goto out;
    base = tc_params_data(o->params);
    for (i = 0; i < o->count; i++) {
        const tc_tensor *t = tc_params_at(o->params, i);
        int64_t off = 0;

        if ((err = param_offset(o, t, base, &off)) < 0)
            goto out;
        for (j = 0; j < 2; j++)
            if (sfx[j] && (err = load_state(st, path, t, sfx[j], bufs[j] + off)) < 0)
                goto out;
    }
    /* Commit only when every tensor was read. */
    tmp = o->m, o->m = bufs[0], bufs[0] = tmp;
    tmp = o->v, o->v = bufs[1], bufs[1] = tmp;
    o->steps = step;
    err = TC_OK;
out:
    tc_free(bufs[0]);
    tc_free(bufs[1]);
    tc_safetensors_free(st);
    return err;
}
