/*
 * params.c - model parameters in one flat data buffer and one flat gradient
 * buffer with identical offsets (see tc/params.h).
 *
 * Parameters are laid out back to back in declaration order, without padding,
 * so tensor i occupies [offset_i, offset_i + numel_i) of both buffers. The
 * tc_tensor structs are allocated one by one (name copied right after the
 * struct) so that pointers handed out stay valid when the buffers move; after
 * every reallocation each tensor's data and grad are re-pointed. Names are
 * found through a small open-addressing hash table.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <tc/error.h>
#include <tc/params.h>
#include <tc/safetensors.h>

#include "internal.h"
#include "vmath.h"

#define PARAMS_MIN_CAP 1024 /* floats */

struct tc_params {
    tc_tensor **tensors; /* declaration order */
    int64_t *offsets;    /* offset of tensor i in data and grad */
    size_t count, cap;
    size_t *slots; /* hash table of (index + 1), 0 = empty; nslots a power of two */
    size_t nslots;
    float *data, *grad;
    int64_t numel, cap_numel;
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

/* Slot holding name, or the empty slot where it would go. */
static size_t slot_of(const tc_params *p, const char *name)
{
    size_t mask = p->nslots - 1, i = (size_t)name_hash(name) & mask;

    while (p->slots[i] && strcmp(p->tensors[p->slots[i] - 1]->name, name) != 0)
        i = (i + 1) & mask;
    return i;
}

static int rehash(tc_params *p, size_t nslots)
{
    size_t *old = p->slots, i;

    p->slots = tc_calloc(nslots, sizeof(*p->slots));
    if (!p->slots) {
        p->slots = old;
        return TC_ENOMEM;
    }
    p->nslots = nslots;
    for (i = 0; i < p->count; i++)
        p->slots[slot_of(p, p->tensors[i]->name)] = i + 1;
    tc_free(old);
    return TC_OK;
}

int tc_params_new(tc_params **out)
{
    tc_params *p;

    TC_ASSERT_ARG(out);
    p = tc_calloc(1, sizeof(*p));
    if (!p)
        return TC_ENOMEM;
    if (rehash(p, 16) < 0) {
        tc_free(p);
        return TC_ENOMEM;
    }
    *out = p;
    return TC_OK;
}

void tc_params_free(tc_params *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->count; i++)
        tc_free(p->tensors[i]);
    tc_free(p->tensors);
    tc_free(p->offsets);
    tc_free(p->slots);
    tc_free(p->data);
    tc_free(p->grad);
    tc_free(p);
}

static void repoint(tc_params *p)
{
    size_t i;

    for (i = 0; i < p->count; i++) {
        p->tensors[i]->data = p->data ? p->data + p->offsets[i] : NULL;
        p->tensors[i]->grad = p->grad ? p->grad + p->offsets[i] : NULL;
    }
}

/* Make room for need floats in both buffers. */
static int grow_buffers(tc_params *p, int64_t need)
{
    int64_t ncap = p->cap_numel ? p->cap_numel : PARAMS_MIN_CAP;
    size_t bytes;
    float *nd;

    if (need <= p->cap_numel && p->data)
        return TC_OK;
    while (ncap < need)
        ncap = ncap > TC_PARAMS_MAX_NUMEL / 2 ? TC_PARAMS_MAX_NUMEL : ncap * 2;
    if (tc__mul_size((size_t)ncap, sizeof(float), &bytes) < 0)
        return TC_ERANGE;
    if (!(nd = tc_realloc(p->data, bytes)))
        return TC_ENOMEM;
    p->data = nd;
    repoint(p);
    if (!(nd = tc_realloc(p->grad, bytes)))
        return TC_ENOMEM; /* data is larger than cap_numel says, which is harmless */
    p->grad = nd;
    repoint(p);
    p->cap_numel = ncap;
    return TC_OK;
}

static int grow_table(tc_params *p)
{
    size_t ncap;
    tc_tensor **nt;
    int64_t *no;

    if ((p->count + 1) * 2 > p->nslots && rehash(p, p->nslots * 2) < 0)
        return TC_ENOMEM;
    if (p->count < p->cap)
        return TC_OK;
    ncap = p->cap ? p->cap * 2 : 16;
    if (!(nt = tc_realloc(p->tensors, ncap * sizeof(*nt))))
        return TC_ENOMEM;
    p->tensors = nt;
    if (!(no = tc_realloc(p->offsets, ncap * sizeof(*no))))
        return TC_ENOMEM;
    p->offsets = no;
    p->cap = ncap;
    return TC_OK;
}

/* Validate a shape; *numel gets the element count. */
static int check_shape(const char *name, int32_t ndim, const int64_t *shape, int64_t *numel)
{
    int64_t n = 1;
    int32_t i;

    if (ndim < 0 || ndim > TC_MAX_DIMS || (ndim > 0 && !shape))
        return tc_error_set(TC_EINVAL, "parameter '%s' has an invalid ndim %d", name, (int)ndim);
    for (i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return tc_error_set(TC_EINVAL, "parameter '%s' has a negative dimension", name);
        if (shape[i] && n > TC_PARAMS_MAX_NUMEL / shape[i])
            return tc_error_set(TC_ERANGE, "parameter '%s' is larger than %" PRId64 " floats", name,
                                TC_PARAMS_MAX_NUMEL);
        n *= shape[i];
    }
    *numel = n;
    return TC_OK;
}

static tc_tensor *make_tensor(const char *name, int32_t ndim, const int64_t *shape, int64_t numel,
                              uint32_t flags)
{
    size_t len = strlen(name) + 1;
    tc_tensor *t = tc_malloc(sizeof(*t) + len);
    char *copy;
    int32_t i;

    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    copy = (char *)(t + 1);
    memcpy(copy, name, len);
    for (i = 0; i < TC_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
    t->ndim = ndim;
    t->numel = numel;
    t->dtype = TC_DTYPE_F32;
    t->device = TC_DEVICE_CPU;
    t->flags = flags | TC_TENSOR_PARAM | TC_TENSOR_REQUIRES_GRAD;
    t->name = copy;
    return t;
}

int tc_params_add(tc_params *p, tc_tensor **out, const char *name, int32_t ndim,
                  const int64_t *shape, uint32_t flags)
{
    int64_t numel = 0;
    tc_tensor *t;
    size_t slot;
    int err;

    TC_ASSERT_ARG(p);
    TC_ASSERT_ARG(name && name[0]);
    if ((err = check_shape(name, ndim, shape, &numel)) < 0)
        return err;
    if (p->slots[slot_of(p, name)])
        return tc_error_set(TC_EEXISTS, "parameter '%s' already exists", name);
    if (numel > TC_PARAMS_MAX_NUMEL - p->numel)
        return tc_error_set(TC_ERANGE,
                            "adding parameter '%s' would exceed %" PRId64 " floats in total", name,
                            TC_PARAMS_MAX_NUMEL);
    if ((err = grow_table(p)) < 0 || (err = grow_buffers(p, p->numel + numel)) < 0)
        return err;
    if (!(t = make_tensor(name, ndim, shape, numel, flags)))
        return TC_ENOMEM;
    memset(p->data + p->numel, 0, (size_t)numel * sizeof(float));
    memset(p->grad + p->numel, 0, (size_t)numel * sizeof(float));
    t->data = p->data + p->numel;
    t->grad = p->grad + p->numel;
    p->tensors[p->count] = t;
    p->offsets[p->count] = p->numel;
    p->count++;
    p->numel += numel;
    slot = slot_of(p, name);
    p->slots[slot] = p->count;
    if (out)
        *out = t;
    return TC_OK;
}

size_t tc_params_count(const tc_params *p)
{
    return p ? p->count : 0;
}

tc_tensor *tc_params_at(const tc_params *p, size_t i)
{
    return p && i < p->count ? p->tensors[i] : NULL;
}

tc_tensor *tc_params_find(const tc_params *p, const char *name)
{
    size_t s;

    if (!p || !name)
        return NULL;
    s = p->slots[slot_of(p, name)];
    return s ? p->tensors[s - 1] : NULL;
}

int64_t tc_params_numel(const tc_params *p)
{
    return p ? p->numel : 0;
}

float *tc_params_data(const tc_params *p)
{
    return p ? p->data : NULL;
}

float *tc_params_grad(const tc_params *p)
{
    return p ? p->grad : NULL;
}

void tc_params_zero_grad(tc_params *p)
{
    if (p && p->grad)
        memset(p->grad, 0, (size_t)p->numel * sizeof(float));
}

/* The sum of squares of g (n) in double, vectorized (partial sums in fixed lanes). */
TC_VEC_CLONES static double sum_squares(const float *g, int64_t n)
{
    double sum = 0.0;

#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++)
        sum += (double)g[i] * (double)g[i];
    return sum;
}

TC_VEC_CLONES static void scale_floats(float *g, int64_t n, float c)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        g[i] *= c;
}

float tc_params_clip_scale(const tc_params *p, double max_norm, double *norm)
{
    double n = p && p->grad ? sqrt(sum_squares(p->grad, p->numel)) : 0.0, coef;

    if (norm)
        *norm = n;
    if (!(max_norm > 0))
        return 1.0f;
    coef = max_norm / (n + 1e-6);
    return coef < 1.0 ? (float)coef : 1.0f;
}

double tc_params_clip_grad_norm(tc_params *p, double max_norm)
{
    double norm, coef;

    if (!p || !p->grad)
        return 0.0;
    norm = sqrt(sum_squares(p->grad, p->numel));
    if (max_norm > 0) {
        /* torch: clip_coef = max_norm / (norm + 1e-6), applied when below 1 */
        coef = max_norm / (norm + 1e-6);
        if (coef < 1.0)
            scale_floats(p->grad, p->numel, (float)coef);
    }
    return norm;
}

static int same_shape(const tc_tensor *a, int32_t ndim, const int64_t *shape)
{
    int32_t i;

    if (a->ndim != ndim)
        return 0;
    for (i = 0; i < ndim; i++)
        if (a->shape[i] != shape[i])
            return 0;
    return 1;
}

static void format_shape(char *buf, size_t cap, int32_t ndim, const int64_t *shape)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    int32_t i;

    for (i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

int tc_params_copy(tc_params *dst, const tc_params *src)
{
    char a[128], b[128];
    size_t i;

    TC_ASSERT_ARG(dst);
    TC_ASSERT_ARG(src);
    if (dst->count != src->count)
        return tc_error_set(TC_EINVAL, "parameter sets differ: %zu and %zu parameters", dst->count,
                            src->count);
    for (i = 0; i < dst->count; i++) {
        const tc_tensor *d = dst->tensors[i], *s = tc_params_find(src, d->name);
        if (!s)
            return tc_error_set(TC_EINVAL, "parameter '%s' is missing from the source", d->name);
        if (!same_shape(d, s->ndim, s->shape)) {
            format_shape(a, sizeof(a), s->ndim, s->shape);
            format_shape(b, sizeof(b), d->ndim, d->shape);
            return tc_error_set(TC_EINVAL, "parameter '%s' has shape %s in the source, expected %s",
                                d->name, a, b);
        }
    }
    for (i = 0; i < dst->count; i++) {
        tc_tensor *d = dst->tensors[i];
        const tc_tensor *s = tc_params_find(src, d->name);
        if (d->numel > 0)
            memcpy(d->data, s->data, (size_t)d->numel * sizeof(float));
    }
    return TC_OK;
}

int tc_params_save(const tc_params *p, const char *path, const char *const *meta)
{
    tc_st_entry *e;
    size_t i;
    int err;

    TC_ASSERT_ARG(p);
    TC_ASSERT_ARG(path);
    if (!(e = tc_calloc(p->count ? p->count : 1, sizeof(*e))))
        return TC_ENOMEM;
    for (i = 0; i < p->count; i++) {
        const tc_tensor *t = p->tensors[i];
        e[i].name = t->name;
        e[i].dtype = TC_ST_F32;
        e[i].ndim = t->ndim;
        e[i].shape = t->shape;
        e[i].data = t->data;
    }
    err = tc_safetensors_write(path, e, p->count, meta);
    tc_free(e);
    return err;
}

/* Every parameter present (unless allow_missing) with the right shape and a float dtype. */
static int check_load(const tc_params *p, const tc_safetensors *st, const char *path,
                      int allow_missing)
{
    char a[256], b[128];
    size_t i;

    for (i = 0; i < p->count; i++) {
        const tc_tensor *t = p->tensors[i];
        const tc_st_tensor *f = tc_safetensors_find(st, t->name);
        if (!f) {
            if (allow_missing)
                continue;
            return tc_error_set(TC_ENOTFOUND, "tensor '%s' not found in '%s'", t->name, path);
        }
        if (f->dtype != TC_ST_F32 && f->dtype != TC_ST_F16 && f->dtype != TC_ST_BF16)
            return tc_error_set(TC_EINVAL,
                                "tensor '%s' in '%s' has dtype %s, expected F32, F16 "
                                "or BF16",
                                t->name, path, tc_st_dtype_name(f->dtype));
        if (!same_shape(t, f->ndim, f->shape)) {
            format_shape(a, sizeof(a), f->ndim, f->shape);
            format_shape(b, sizeof(b), t->ndim, t->shape);
            return tc_error_set(TC_EINVAL, "tensor '%s' in '%s' has shape %s, expected %s", t->name,
                                path, a, b);
        }
    }
    return TC_OK;
}

int tc_params_load(tc_params *p, const char *path, int allow_missing)
{
    tc_safetensors *st = NULL;
    size_t i;
    int err;

    TC_ASSERT_ARG(p);
    TC_ASSERT_ARG(path);
    if ((err = tc_safetensors_open(&st, path)) < 0)
        return err;
    if ((err = check_load(p, st, path, allow_missing)) < 0)
        goto out;
    for (i = 0; i < p->count; i++) {
        tc_tensor *t = p->tensors[i];
        if (!tc_safetensors_find(st, t->name))
            continue;
        if ((err = tc_safetensors_read_f32(st, t->name, t->data, t->numel)) < 0)
            goto out;
    }
out:
    tc_safetensors_free(st);
    return err;
}

void tc_init_uniform(tc_tensor *t, tc_rng *r, float lo, float hi)
{
    int64_t i;

    if (!t || !r)
        return;
    for (i = 0; i < t->numel; i++)
        t->data[i] = lo + (hi - lo) * tc_rng_uniform(r);
}

void tc_init_normal(tc_tensor *t, tc_rng *r, float mean, float std)
{
    int64_t i;

    if (!t || !r)
        return;
    for (i = 0; i < t->numel; i++)
        t->data[i] = mean + std * tc_rng_normal(r);
}

void tc_init_constant(tc_tensor *t, float value)
{
    int64_t i;

    if (!t)
        return;
    for (i = 0; i < t->numel; i++)
        t->data[i] = value;
}

void tc_init_linear(tc_tensor *weight, tc_tensor *bias, tc_rng *r)
{
    int64_t fan_in;
    float bound;

    if (!weight || !r)
        return;
    fan_in = weight->ndim > 0 ? weight->shape[weight->ndim - 1] : 1;
    bound = fan_in > 0 ? (float)(1.0 / sqrt((double)fan_in)) : 0.0f;
    tc_init_uniform(weight, r, -bound, bound);
    if (bias)
        tc_init_uniform(bias, r, -bound, bound);
}
