/*
 * kernels_attn.c - kernels of multi-head scaled dot-product self-attention
 * over packed projections (tc_attention), reference and fast.
 *
 * qkv (B, T, 3D) holds Q, K and V side by side; head h of each is the hd =
 * D / NH columns h*hd .. h*hd+hd-1 of its third, so head h of batch row b is
 * a strided (T, hd) view with row stride 3D and needs no copy. Per (b, h):
 *
 *   S = Q_h K_h^T * scale, scale = 1 / sqrt(hd)
 *   P = softmax(S) over the keys j with key_mask[b, j] == 1 (others exactly 0;
 *       a row with no valid key is all 0)
 *   Pd = P * drop * drop_scale (inverted dropout; Pd = P without it)
 *   out_h = Pd V_h, written into columns h*hd .. of out (B, T, D)
 *
 * Backward, with dOut_h the matching (T, hd) view of dout:
 *
 *   dV_h += Pd^T dOut_h
 *   dP = (dOut_h V_h^T) * drop * drop_scale
 *   dS = P * (dP - rowsum(dP * P)) * scale   (0 where P is 0: masked keys)
 *   dQ_h += dS K_h,  dK_h += dS^T Q_h
 *
 * The (b, h) pairs are independent and write disjoint columns of out and
 * dqkv. The fast kernels run each pair's products as sgemm on the strided
 * views, and split the pairs into fixed contiguous ranges, one per thread
 * (plain pthreads with single-threaded sgemm inside, as the LSTM in
 * kernels_seq.c; see tc__kernels_par_min in kernels_fast.c for why not
 * OpenMP). Each pair is computed by one thread with the same calls whatever
 * the number of threads, so results do not depend on it.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"
#include "kernels.h"
#include "vmath.h"

/* Multiply-adds at or above which the fast kernels split the pairs over threads. */
#define ATTN_PAR_MIN_WORK ((int64_t)1 << 18)

int64_t tc__attention_scratch(const tc__attn_args *a)
{
    int64_t pairs = a->B * a->NH, slots = pairs < TC_ATTN_MAX_THREADS ? pairs : TC_ATTN_MAX_THREADS;

    return (slots > 0 ? slots : 1) * 2 * a->T * a->T + 1;
}

static float attn_scale(const tc__attn_args *a)
{
    return 1.0f / sqrtf((float)(a->D / a->NH));
}

/* The dropout factor of element i of a pair's (T, T) keep mask (1 without dropout). */
static float keep(const uint8_t *drop, int64_t i, float drop_scale)
{
    return !drop ? 1.0f : drop[i] ? drop_scale : 0.0f;
}

/* The reference's softmax: masked_softmax with libm's expf, plain loops. */
static void masked_softmax_ref(float *row, const int32_t *km, int64_t T)
{
    float max = -INFINITY, sum = 0.0f, inv;

    for (int64_t j = 0; j < T; j++)
        if ((!km || km[j]) && row[j] > max)
            max = row[j];
    if (max == -INFINITY) {
        memset(row, 0, (size_t)T * sizeof(float));
        return;
    }
    for (int64_t j = 0; j < T; j++) {
        row[j] = !km || km[j] ? expf(row[j] - max) : 0.0f;
        sum += row[j];
    }
    inv = 1.0f / sum;
    for (int64_t j = 0; j < T; j++)
        row[j] *= inv;
}

/*
 * row (T) = softmax of row over the keys with km[j] != 0 (all when km is
 * NULL), 0 at the others whatever they held; all 0 when no key is valid.
 * Vectorized, exp from vmath.h.
 */
TC_VEC_CLONES static void masked_softmax(float *row, const int32_t *km, int64_t T)
{
    float max = -INFINITY, sum = 0.0f, inv;

    if (km) {
#pragma omp simd reduction(max : max)
        for (int64_t j = 0; j < T; j++) {
            float v = km[j] ? row[j] : -INFINITY;
            max = v > max ? v : max;
        }
    } else {
#pragma omp simd reduction(max : max)
        for (int64_t j = 0; j < T; j++)
            max = row[j] > max ? row[j] : max;
    }
    if (max == -INFINITY) {
        memset(row, 0, (size_t)T * sizeof(float));
        return;
    }
    if (km) {
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < T; j++) {
            float e = km[j] ? tc__vexpf(row[j] - max) : 0.0f;
            row[j] = e;
            sum += e;
        }
    } else {
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < T; j++) {
            float e = tc__vexpf(row[j] - max);
            row[j] = e;
            sum += e;
        }
    }
    inv = 1.0f / sum;
#pragma omp simd
    for (int64_t j = 0; j < T; j++)
        row[j] *= inv;
}

/*
 * d (T), one row of dP, becomes that row of dS = P * (dP' - rowsum(dP' * P)) * scale, with
 * dP' = dP * the row's dropout keep (drop_scale or 0; dP' = dP without dropout).
 */
TC_VEC_CLONES static void softmax_grad_row(float *d, const float *row, const uint8_t *drop,
                                           float drop_scale, float scale, int64_t T)
{
    float r = 0.0f;

    if (drop) {
#pragma omp simd reduction(+ : r)
        for (int64_t j = 0; j < T; j++) {
            d[j] = drop[j] ? d[j] * drop_scale : 0.0f;
            r += d[j] * row[j];
        }
    } else {
#pragma omp simd reduction(+ : r)
        for (int64_t j = 0; j < T; j++)
            r += d[j] * row[j];
    }
#pragma omp simd
    for (int64_t j = 0; j < T; j++)
        d[j] = row[j] * (d[j] - r) * scale;
}

/* ---- reference: plain loops ---- */

static void pair_forward_ref(const tc__attn_args *a, int64_t b, int64_t h, float *out, float *p)
{
    const int64_t T = a->T, D = a->D, hd = D / a->NH, ld = 3 * D;
    const float *q = a->qkv + b * T * ld + h * hd, *k = q + D, *v = q + 2 * D;
    const int32_t *km = a->key_mask ? a->key_mask + b * T : NULL;
    const uint8_t *drop = a->drop ? a->drop + (b * a->NH + h) * T * T : NULL;
    const float scale = attn_scale(a);

    for (int64_t i = 0; i < T; i++) {
        float *row = p + i * T, *o = out + (b * T + i) * D + h * hd;
        for (int64_t j = 0; j < T; j++) {
            float acc = 0.0f;
            for (int64_t c = 0; c < hd; c++)
                acc += q[i * ld + c] * k[j * ld + c];
            row[j] = acc * scale;
        }
        masked_softmax_ref(row, km, T);
        for (int64_t c = 0; c < hd; c++)
            o[c] = 0.0f;
        for (int64_t j = 0; j < T; j++) {
            float w = row[j] * keep(drop, i * T + j, a->drop_scale);
            for (int64_t c = 0; c < hd; c++)
                o[c] += w * v[j * ld + c];
        }
    }
}

void tc__attention_forward_ref(const tc__attn_args *a, float *out, float *probs, float *scratch)
{
    /* out (B, T, D), probs (B, NH, T, T) or NULL (each pair's P then lives in scratch) */
    const int64_t TT = a->T * a->T;

    for (int64_t b = 0; b < a->B; b++)
        for (int64_t h = 0; h < a->NH; h++)
            pair_forward_ref(a, b, h, out, probs ? probs + (b * a->NH + h) * TT : scratch);
}

static void pair_backward_ref(const tc__attn_args *a, int64_t b, int64_t h, float *dqkv,
                              const float *dout, const float *p, float *dp)
{
    const int64_t T = a->T, D = a->D, hd = D / a->NH, ld = 3 * D;
    const int64_t off = b * T * ld + h * hd;
    const float *q = a->qkv + off, *k = q + D, *v = q + 2 * D;
    const uint8_t *drop = a->drop ? a->drop + (b * a->NH + h) * T * T : NULL;
    float *dq = dqkv + off, *dk = dq + D, *dv = dq + 2 * D;
    const float scale = attn_scale(a);

    for (int64_t i = 0; i < T; i++) {
        const float *row = p + i * T, *g = dout + (b * T + i) * D + h * hd;
        float r = 0.0f;
        for (int64_t j = 0; j < T; j++) {
            float kp = keep(drop, i * T + j, a->drop_scale), acc = 0.0f;
            for (int64_t c = 0; c < hd; c++)
                acc += g[c] * v[j * ld + c];
            dp[j] = acc * kp;
            r += dp[j] * row[j];
            for (int64_t c = 0; c < hd; c++)
                dv[j * ld + c] += row[j] * kp * g[c];
        }
        for (int64_t j = 0; j < T; j++) {
            float ds = row[j] * (dp[j] - r) * scale;
            for (int64_t c = 0; c < hd; c++) {
                dq[i * ld + c] += ds * k[j * ld + c];
                dk[j * ld + c] += ds * q[i * ld + c];
            }
        }
    }
}

void tc__attention_backward_ref(const tc__attn_args *a, float *dqkv, const float *dout,
                                const float *probs, float *scratch)
{
    /* dqkv (B, T, 3D), dout (B, T, D), probs (B, NH, T, T); scratch: one row of dP */
    const int64_t TT = a->T * a->T;

    for (int64_t b = 0; b < a->B; b++)
        for (int64_t h = 0; h < a->NH; h++)
            pair_backward_ref(a, b, h, dqkv, dout, probs + (b * a->NH + h) * TT, scratch);
}

/* ---- fast: sgemm on strided views, pairs on threads ---- */

TC_VEC_CLONES static void apply_drop(float *pd, const float *p, const uint8_t *drop, float s,
                                     int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        pd[i] = drop[i] ? p[i] * s : 0.0f;
}

/* pd (T, T) = p * drop * drop_scale; returns p itself without dropout. */
static const float *dropped(const tc__attn_args *a, const uint8_t *drop, const float *p, float *pd)
{
    const int64_t TT = a->T * a->T;

    if (!drop)
        return p;
    apply_drop(pd, p, drop, a->drop_scale, TT);
    return pd;
}

/* Pair (b, h) forward; p (T, T) receives P; work holds (T, T) floats. */
static void pair_forward_fast(const tc__attn_args *a, int64_t b, int64_t h, float *out, float *p,
                              float *work)
{
    const int T = (int)a->T, hd = (int)(a->D / a->NH), D = (int)a->D, ld = 3 * D;
    const float *q = a->qkv + (int64_t)b * T * ld + h * hd, *k = q + D, *v = q + 2 * D;
    const int32_t *km = a->key_mask ? a->key_mask + b * T : NULL;
    const uint8_t *drop = a->drop ? a->drop + (b * a->NH + h) * T * T : NULL;

    tc__sgemm(TC__BLAS_NO_TRANS, TC__BLAS_TRANS, T, T, hd, attn_scale(a), q, ld, k, ld, 0.0f, p, T);
    for (int64_t i = 0; i < T; i++)
        masked_softmax(p + i * T, km, T);
    tc__sgemm(TC__BLAS_NO_TRANS, TC__BLAS_NO_TRANS, T, hd, T, 1.0f, dropped(a, drop, p, work), T, v,
              ld, 0.0f, out + (int64_t)b * T * D + h * hd, D);
}

/* Pair (b, h) backward; work holds 2 (T, T) matrices. */
static void pair_backward_fast(const tc__attn_args *a, int64_t b, int64_t h, float *dqkv,
                               const float *dout, const float *p, float *work)
{
    const int T = (int)a->T, hd = (int)(a->D / a->NH), D = (int)a->D, ld = 3 * D;
    const int64_t off = (int64_t)b * T * ld + h * hd;
    const float *q = a->qkv + off, *k = q + D, *v = q + 2 * D;
    const float *g = dout + (int64_t)b * T * D + h * hd;
    const uint8_t *drop = a->drop ? a->drop + (b * a->NH + h) * T * T : NULL;
    float *dq = dqkv + off, *dk = dq + D, *dv = dq + 2 * D, *ds = work + (int64_t)T * T;
    const float scale = attn_scale(a);

    /* dV_h += Pd^T dOut_h; dP = dOut_h V_h^T */
    tc__sgemm(TC__BLAS_TRANS, TC__BLAS_NO_TRANS, T, hd, T, 1.0f, dropped(a, drop, p, work), T, g, D,
              1.0f, dv, ld);
    tc__sgemm(TC__BLAS_NO_TRANS, TC__BLAS_TRANS, T, T, hd, 1.0f, g, D, v, ld, 0.0f, ds, T);
    /* dS = P * (dP - rowsum(dP * P)) * scale, in place */
    for (int64_t i = 0; i < T; i++)
        softmax_grad_row(ds + i * T, p + i * T, drop ? drop + i * T : NULL, a->drop_scale, scale,
                         T);
    /* dQ_h += dS K_h; dK_h += dS^T Q_h */
    tc__sgemm(TC__BLAS_NO_TRANS, TC__BLAS_NO_TRANS, T, hd, T, 1.0f, ds, T, k, ld, 1.0f, dq, ld);
    tc__sgemm(TC__BLAS_TRANS, TC__BLAS_NO_TRANS, T, hd, T, 1.0f, ds, T, q, ld, 1.0f, dk, ld);
}

typedef struct attn_task {
    const tc__attn_args *a;
    int backward;
    int64_t first, count; /* this thread's pairs [first, first + count), pair = b * NH + h */
    float *work;          /* this thread's 2 (T, T) scratch matrices */
    float *out, *probs;   /* forward */
    float *dqkv;          /* backward */
    const float *dout, *in_probs;
} attn_task;

static void *attn_run(void *arg)
{
    const attn_task *t = arg;
    const tc__attn_args *a = t->a;
    const int64_t TT = a->T * a->T;

    for (int64_t i = t->first; i < t->first + t->count; i++) {
        int64_t b = i / a->NH, h = i % a->NH;
        if (!t->backward)
            pair_forward_fast(a, b, h, t->out, t->probs ? t->probs + i * TT : t->work,
                              t->work + TT);
        else
            pair_backward_fast(a, b, h, t->dqkv, t->dout, t->in_probs + i * TT, t->work);
    }
    return NULL;
}

/* Run the pairs of task on up to TC_ATTN_MAX_THREADS threads (this one included). */
static void attn_parallel(const attn_task *task, float *scratch)
{
    const tc__attn_args *a = task->a;
    const int64_t pairs = a->B * a->NH, TT = a->T * a->T;
    const int64_t work = pairs * TT * (a->D / a->NH);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t nt = cpus < 1 ? 1 : cpus, next = 0, i;
    attn_task parts[TC_ATTN_MAX_THREADS];
    pthread_t tid[TC_ATTN_MAX_THREADS];
    int started[TC_ATTN_MAX_THREADS] = {0};
    int saved = tc__blas_serial_begin();

    nt = nt > TC_ATTN_MAX_THREADS ? TC_ATTN_MAX_THREADS : nt;
    nt = nt > pairs ? pairs : nt;
    if (work < ATTN_PAR_MIN_WORK)
        nt = 1;
    for (i = 0; i < nt; i++) {
        int64_t n = pairs / nt + (i < pairs % nt);
        parts[i] = *task;
        parts[i].first = next;
        parts[i].count = n;
        parts[i].work = scratch + i * 2 * TT;
        next += n;
    }
    /* a thread that cannot start leaves its pairs to this one */
    for (i = 1; i < nt; i++)
        started[i] = pthread_create(&tid[i], NULL, attn_run, &parts[i]) == 0;
    if (nt > 0)
        attn_run(&parts[0]);
    for (i = 1; i < nt; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            attn_run(&parts[i]);
    }
    tc__blas_serial_end(saved);
}

/* cblas takes int sizes; larger problems take the reference path. */
static int attn_blas_ok(const tc__attn_args *a)
{
    return a->T <= INT_MAX && 3 * a->D <= INT_MAX;
}

void tc__attention_forward_fast(const tc__attn_args *a, float *out, float *probs, float *scratch)
{
    attn_task t = {.a = a, .out = out, .probs = probs};

    if (a->B * a->NH == 0 || a->T == 0)
        return;
    if (!attn_blas_ok(a)) {
        tc__attention_forward_ref(a, out, probs, scratch);
        return;
    }
    attn_parallel(&t, scratch);
}

void tc__attention_backward_fast(const tc__attn_args *a, float *dqkv, const float *dout,
                                 const float *probs, float *scratch)
{
    attn_task t = {.a = a, .backward = 1, .dqkv = dqkv, .dout = dout, .in_probs = probs};

    if (a->B * a->NH == 0 || a->T == 0)
        return;
    if (!attn_blas_ok(a)) {
        tc__attention_backward_ref(a, dqkv, dout, probs, scratch);
        return;
    }
    attn_parallel(&t, scratch);
}
