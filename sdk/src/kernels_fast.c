/*
 * kernels_fast.c - fast CPU kernels: OpenBLAS sgemm for the matrix products,
 * OpenMP over rows (and `omp simd` within them) for row-wise and elementwise
 * work.
 *
 * Each kernel computes what its *_ref twin in kernels_ref.c computes, up to
 * float rounding, and is tested against it (tests/sdk/test_ops.c). Parallel
 * loops split work by rows or fixed-size chunks and every output element is
 * computed by one thread in one fixed order, so results do not depend on the
 * number of threads. Small inputs stay on the calling thread: below
 * TC_KERNEL_PAR_MIN_ELEMS the cost of waking threads exceeds the work (and
 * see tc__kernels_par_min for when OpenMP is not used at all).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blas.h"
#include "kernels.h"
#include "vmath.h"

/*
 * OpenMP pragmas appear as they are. PAR_IF(work) is the `if` clause of every
 * parallel loop: work is the element count of the whole loop. Built without
 * OpenMP, the pragmas are plain loops and GCC is told not to warn about them.
 */
#ifndef _OPENMP
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif
#define PAR_IF(work) ((work) >= tc__kernels_par_min())

/*
 * When to go parallel is decided once per process. libgomp's idle threads
 * spin for milliseconds after each parallel region (OMP_WAIT_POLICY unset
 * means active), and with the pthreads build of OpenBLAS those spinning
 * threads take the cores the next sgemm's threads need: on 2 cores an MLP
 * step measured 8x slower. So the kernels use OpenMP only where it cannot
 * fight OpenBLAS: OpenBLAS built on OpenMP (one shared pool), OpenBLAS on a
 * single thread, or OMP_WAIT_POLICY=passive. Otherwise everything but the
 * sgemm calls runs on the calling thread.
 */
static int64_t par_min_elems = -1;

int64_t tc__kernels_par_min(void)
{
    int64_t v = __atomic_load_n(&par_min_elems, __ATOMIC_RELAXED);
    const char *policy;

    if (v >= 0)
        return v;
    policy = getenv("OMP_WAIT_POLICY");
    if (tc__blas_parallel() == 2 || tc__blas_threads() <= 1 ||
        (policy && strcasecmp(policy, "passive") == 0))
        v = TC_KERNEL_PAR_MIN_ELEMS;
    else
        v = INT64_MAX;
    __atomic_store_n(&par_min_elems, v, __ATOMIC_RELAXED);
    return v;
}

void tc__kernels_set_par_min(int64_t n)
{
    __atomic_store_n(&par_min_elems, n, __ATOMIC_RELAXED);
}

/* cblas takes int sizes; larger problems take the reference path. */
static int blas_sizes_ok(int64_t a, int64_t b, int64_t c)
{
    return a <= INT_MAX && b <= INT_MAX && c <= INT_MAX;
}

void tc__matmul_forward_fast(float *out, const float *a, const float *b, int64_t M, int64_t K,
                             int64_t N)
{
    /* out (M, N) = a (M, K) @ b (K, N) */
    if (M == 0 || N == 0)
        return;
    if (K == 0) {
        memset(out, 0, (size_t)(M * N) * sizeof(float));
        return;
    }
    if (!blas_sizes_ok(M, K, N)) {
        tc__matmul_forward_ref(out, a, b, M, K, N);
        return;
    }
    tc__sgemm(TC__BLAS_NO_TRANS, TC__BLAS_NO_TRANS, (int)M, (int)N, (int)K, 1.0f, a, (int)K, b,
              (int)N, 0.0f, out, (int)N);
}

void tc__matmul_backward_fast(float *da, float *db, const float *dout, const float *a,
                              const float *b, int64_t M, int64_t K, int64_t N)
{
    /* da (M, K) += dout (M, N) @ b (K, N)^T; db (K, N) += a (M, K)^T @ dout */
    if (M == 0 || N == 0 || K == 0)
        return;
    if (!blas_sizes_ok(M, K, N)) {
        tc__matmul_backward_ref(da, db, dout, a, b, M, K, N);
        return;
    }
    if (da)
        tc__sgemm(TC__BLAS_NO_TRANS, TC__BLAS_TRANS, (int)M, (int)K, (int)N, 1.0f, dout, (int)N, b,
                  (int)N, 1.0f, da, (int)K);
    if (db)
        tc__sgemm(TC__BLAS_TRANS, TC__BLAS_NO_TRANS, (int)K, (int)N, (int)M, 1.0f, a, (int)K, dout,
                  (int)N, 1.0f, db, (int)N);
}

/* dbias (N) += column sums of dout (B, N), row by row so the inner loop is contiguous */
static void column_sums_add(float *dbias, const float *dout, int64_t B, int64_t N)
{
    for (int64_t b = 0; b < B; b++) {
        const float *dr = dout + b * N;
#pragma omp simd
        for (int64_t o = 0; o < N; o++)
            dbias[o] += dr[o];
    }
}

void tc__linear_forward_fast(float *out, const float *x, const float *w, const float *bias,
                             int64_t B, int64_t K, int64_t N)
{
    /* out (B, N) = x (B, K) @ w (N, K)^T + bias (N) */
    float beta = 0.0f;

    if (B == 0 || N == 0)
        return;
    if (!blas_sizes_ok(B, K, N)) {
        tc__linear_forward_ref(out, x, w, bias, B, K, N);
        return;
    }
    if (bias) {
        for (int64_t b = 0; b < B; b++)
            memcpy(out + b * N, bias, (size_t)N * sizeof(float));
        beta = 1.0f;
    } else if (K == 0) {
        memset(out, 0, (size_t)(B * N) * sizeof(float));
    }
    if (K == 0)
        return;
    tc__sgemm(TC__BLAS_NO_TRANS, TC__BLAS_TRANS, (int)B, (int)N, (int)K, 1.0f, x, (int)K, w, (int)K,
              beta, out, (int)N);
}

void tc__linear_backward_fast(float *dx, float *dw, float *dbias, const float *dout, const float *x,
                              const float *w, int64_t B, int64_t K, int64_t N)
{
    /* dx (B, K) += dout (B, N) @ w (N, K); dw (N, K) += dout^T @ x (B, K); dbias (N) += sums */
    if (B == 0 || N == 0)
        return;
    if (!blas_sizes_ok(B, K, N)) {
        tc__linear_backward_ref(dx, dw, dbias, dout, x, w, B, K, N);
        return;
    }
    if (dx && K > 0)
        tc__sgemm(TC__BLAS_NO_TRANS, TC__BLAS_NO_TRANS, (int)B, (int)K, (int)N, 1.0f, dout, (int)N,
                  w, (int)K, 1.0f, dx, (int)K);
    if (dw && K > 0)
        tc__sgemm(TC__BLAS_TRANS, TC__BLAS_NO_TRANS, (int)N, (int)K, (int)B, 1.0f, dout, (int)N, x,
                  (int)K, 1.0f, dw, (int)K);
    if (dbias)
        column_sums_add(dbias, dout, B, N);
}

void tc__bias_add_forward_fast(float *out, const float *x, const float *bias, int64_t B, int64_t N)
{
    /* out (B, N) = x (B, N) + bias (N) */
#pragma omp parallel for schedule(static) if (PAR_IF(B * N))
    for (int64_t b = 0; b < B; b++) {
        const float *xr = x + b * N;
        float *yr = out + b * N;
#pragma omp simd
        for (int64_t o = 0; o < N; o++)
            yr[o] = xr[o] + bias[o];
    }
}

void tc__bias_add_backward_fast(float *dx, float *dbias, const float *dout, int64_t B, int64_t N)
{
    /* dx (B, N) += dout (B, N); dbias (N) += column sums of dout */
    if (dx)
        tc__accumulate_fast(dx, dout, B * N);
    if (dbias)
        column_sums_add(dbias, dout, B, N);
}

void tc__accumulate_fast(float *dst, const float *src, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        dst[i] += src[i];
}

void tc__accumulate_scalar_fast(float *dst, float value, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        dst[i] += value;
}

void tc__add_forward_fast(float *out, const float *a, const float *b, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void tc__mul_forward_fast(float *out, const float *a, const float *b, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

void tc__mul_backward_fast(float *da, float *db, const float *dout, const float *a, const float *b,
                           int64_t n)
{
    /* two loops rather than one: da and db may be the same buffer (a * a) */
    if (da) {
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
        for (int64_t i = 0; i < n; i++)
            da[i] += dout[i] * b[i];
    }
    if (db) {
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
        for (int64_t i = 0; i < n; i++)
            db[i] += dout[i] * a[i];
    }
}

void tc__scale_forward_fast(float *out, const float *a, float s, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        out[i] = s * a[i];
}

void tc__scale_backward_fast(float *da, const float *dout, float s, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        da[i] += s * dout[i];
}

void tc__relu_forward_fast(float *out, const float *x, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++) {
        float v = x[i]; /* loads outside the select, so the loop vectorises */
        out[i] = v > 0.0f ? v : 0.0f;
    }
}

void tc__relu_backward_fast(float *dx, const float *dout, const float *x, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++) {
        float d = dout[i];
        dx[i] += x[i] > 0.0f ? d : 0.0f;
    }
}

/*
 * Transcendental elementwise kernels: the reference loops over fixed chunks,
 * the chunks in parallel.
 */
#define CHUNK ((int64_t)1 << 14)

static int64_t chunk_len(int64_t n, int64_t c)
{
    return n - c * CHUNK < CHUNK ? n - c * CHUNK : CHUNK;
}

#define GELU_INV_SQRT2 0.70710678118654752440f
#define GELU_INV_SQRT_2PI 0.39894228040143267794f

/* The exact-erf GELU with vmath.h's erf and exp: vectorized, within 2e-6 of the reference. */
TC_VEC_CLONES static void gelu_forward_chunk(float *out, const float *x, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        out[i] = 0.5f * x[i] * (1.0f + tc__verff(x[i] * GELU_INV_SQRT2));
}

TC_VEC_CLONES static void gelu_backward_chunk(float *dx, const float *dout, const float *x,
                                              int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + tc__verff(x[i] * GELU_INV_SQRT2));
        float pdf = GELU_INV_SQRT_2PI * tc__vexpf(-0.5f * x[i] * x[i]);
        dx[i] += dout[i] * (cdf + x[i] * pdf);
    }
}

void tc__gelu_forward_fast(float *out, const float *x, int64_t n)
{
    int64_t nchunks = (n + CHUNK - 1) / CHUNK;

#pragma omp parallel for schedule(static) if (PAR_IF(n))
    for (int64_t c = 0; c < nchunks; c++)
        gelu_forward_chunk(out + c * CHUNK, x + c * CHUNK, chunk_len(n, c));
}

void tc__gelu_backward_fast(float *dx, const float *dout, const float *x, int64_t n)
{
    int64_t nchunks = (n + CHUNK - 1) / CHUNK;

#pragma omp parallel for schedule(static) if (PAR_IF(n))
    for (int64_t c = 0; c < nchunks; c++)
        gelu_backward_chunk(dx + c * CHUNK, dout + c * CHUNK, x + c * CHUNK, chunk_len(n, c));
}

void tc__tanh_forward_fast(float *out, const float *x, int64_t n)
{
    int64_t nchunks = (n + CHUNK - 1) / CHUNK;

#pragma omp parallel for schedule(static) if (PAR_IF(n))
    for (int64_t c = 0; c < nchunks; c++)
        tc__tanh_forward_ref(out + c * CHUNK, x + c * CHUNK, chunk_len(n, c));
}

void tc__tanh_backward_fast(float *dx, const float *dout, const float *out, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        dx[i] += dout[i] * (1.0f - out[i] * out[i]);
}

void tc__sigmoid_forward_fast(float *out, const float *x, int64_t n)
{
    int64_t nchunks = (n + CHUNK - 1) / CHUNK;

#pragma omp parallel for schedule(static) if (PAR_IF(n))
    for (int64_t c = 0; c < nchunks; c++)
        tc__sigmoid_forward_ref(out + c * CHUNK, x + c * CHUNK, chunk_len(n, c));
}

void tc__sigmoid_backward_fast(float *dx, const float *dout, const float *out, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        dx[i] += dout[i] * out[i] * (1.0f - out[i]);
}

static float row_max(const float *x, int64_t C)
{
    float maxv = -INFINITY;

#pragma omp simd reduction(max : maxv)
    for (int64_t c = 0; c < C; c++)
        maxv = x[c] > maxv ? x[c] : maxv;
    return maxv;
}

void tc__softmax_forward_fast(float *out, const float *x, int64_t B, int64_t C)
{
    /* out (B, C), x (B, C) */
#pragma omp parallel for schedule(static) if (PAR_IF(B * C))
    for (int64_t b = 0; b < B; b++) {
        const float *xr = x + b * C;
        float *yr = out + b * C;
        float maxv = row_max(xr, C), sum = 0.0f, inv;
        for (int64_t c = 0; c < C; c++) {
            yr[c] = expf(xr[c] - maxv);
            sum += yr[c];
        }
        inv = 1.0f / sum;
#pragma omp simd
        for (int64_t c = 0; c < C; c++)
            yr[c] *= inv;
    }
}

void tc__softmax_backward_fast(float *dx, const float *dout, const float *out, int64_t B, int64_t C)
{
    /* dx (B, C), dout (B, C), out (B, C) */
#pragma omp parallel for schedule(static) if (PAR_IF(B * C))
    for (int64_t b = 0; b < B; b++) {
        const float *dy = dout + b * C, *y = out + b * C;
        float *dxr = dx + b * C;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t c = 0; c < C; c++)
            dot += dy[c] * y[c];
#pragma omp simd
        for (int64_t c = 0; c < C; c++)
            dxr[c] += y[c] * (dy[c] - dot);
    }
}

void tc__cross_entropy_forward_fast(float *losses, float *lse, const float *logits,
                                    const int32_t *labels, int64_t B, int64_t C)
{
    /* losses (B), lse (B), logits (B, C), labels (B) */
#pragma omp parallel for schedule(static) if (PAR_IF(B * C))
    for (int64_t b = 0; b < B; b++) {
        const float *xr = logits + b * C;
        float maxv = row_max(xr, C), sum = 0.0f;
        for (int64_t c = 0; c < C; c++)
            sum += expf(xr[c] - maxv);
        lse[b] = maxv + logf(sum);
        losses[b] = labels[b] == TC_IGNORE_INDEX ? 0.0f : lse[b] - xr[labels[b]];
    }
}

void tc__cross_entropy_backward_fast(float *dlogits, const float *logits, const float *lse,
                                     const int32_t *labels, float scale, int64_t B, int64_t C)
{
    /* dlogits (B, C), logits (B, C), lse (B), labels (B) */
#pragma omp parallel for schedule(static) if (PAR_IF(B * C))
    for (int64_t b = 0; b < B; b++) {
        const float *xr = logits + b * C;
        float *dr = dlogits + b * C;
        if (labels[b] == TC_IGNORE_INDEX)
            continue;
        for (int64_t c = 0; c < C; c++)
            dr[c] += expf(xr[c] - lse[b]) * scale;
        dr[labels[b]] -= scale;
    }
}

void tc__dropout_forward_fast(float *out, const float *x, const uint8_t *mask, float scale,
                              int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        out[i] = x[i] * ((float)mask[i] * scale); /* branch-free: vectorises */
}

void tc__dropout_backward_fast(float *dx, const float *dout, const uint8_t *mask, float scale,
                               int64_t n)
{
#pragma omp parallel for simd schedule(static) if (parallel : PAR_IF(n))
    for (int64_t i = 0; i < n; i++)
        dx[i] += dout[i] * ((float)mask[i] * scale);
}

void tc__embedding_forward_fast(float *out, const float *table, const int32_t *ids, int64_t n,
                                int64_t D)
{
    /* out (n, D), table (V, D), ids (n) */
#pragma omp parallel for schedule(static) if (PAR_IF(n * D))
    for (int64_t i = 0; i < n; i++)
        memcpy(out + i * D, table + (int64_t)ids[i] * D, (size_t)D * sizeof(float));
}

void tc__sum_forward_fast(float *out, const float *x, int64_t n)
{
    /* Fixed chunks summed in double, then added in order: independent of thread count. */
    enum { MAX_CHUNKS = 256 };
    double partial[MAX_CHUNKS], acc = 0.0;
    int64_t chunk = n / MAX_CHUNKS + 1, nchunks;

    if (chunk < CHUNK)
        chunk = CHUNK;
    nchunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (PAR_IF(n))
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t end = (c + 1) * chunk < n ? (c + 1) * chunk : n;
        double s = 0.0;
        for (int64_t i = c * chunk; i < end; i++)
            s += x[i];
        partial[c] = s;
    }
    for (int64_t c = 0; c < nchunks; c++)
        acc += partial[c];
    *out = (float)acc;
}

void tc__layer_norm_forward_fast(float *out, float *mean, float *rstd, const float *x,
                                 const float *gamma, const float *beta, float eps, int64_t B,
                                 int64_t C)
{
    /* out (B, C), mean (B), rstd (B), x (B, C), gamma (C) or NULL, beta (C) or NULL */
#pragma omp parallel for schedule(static) if (PAR_IF(B * C))
    for (int64_t b = 0; b < B; b++) {
        const float *xr = x + b * C;
        float *yr = out + b * C;
        float m = 0.0f, v = 0.0f, s;
#pragma omp simd reduction(+ : m)
        for (int64_t c = 0; c < C; c++)
            m += xr[c];
        m /= (float)C;
#pragma omp simd reduction(+ : v)
        for (int64_t c = 0; c < C; c++)
            v += (xr[c] - m) * (xr[c] - m);
        v /= (float)C;
        s = 1.0f / sqrtf(v + eps);
#pragma omp simd
        for (int64_t c = 0; c < C; c++)
            yr[c] = (xr[c] - m) * s;
        if (gamma) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
                yr[c] *= gamma[c];
        }
        if (beta) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
                yr[c] += beta[c];
        }
        mean[b] = m;
        rstd[b] = s;
    }
}

/* dx (C) += layer norm backward of one row; dnorm = gamma * dy, gamma (C) or NULL */
static void layer_norm_row_backward(float *dxr, const float *dy, const float *xr, float m, float s,
                                    const float *gamma, int64_t C)
{
    float dmean = 0.0f, dnmean = 0.0f;

    if (gamma) {
#pragma omp simd reduction(+ : dmean)
        for (int64_t c = 0; c < C; c++)
            dmean += gamma[c] * dy[c];
#pragma omp simd reduction(+ : dnmean)
        for (int64_t c = 0; c < C; c++)
            dnmean += gamma[c] * dy[c] * (xr[c] - m) * s;
    } else {
#pragma omp simd reduction(+ : dmean)
        for (int64_t c = 0; c < C; c++)
            dmean += dy[c];
#pragma omp simd reduction(+ : dnmean)
        for (int64_t c = 0; c < C; c++)
            dnmean += dy[c] * (xr[c] - m) * s;
    }
    dmean /= (float)C;
    dnmean /= (float)C;
    if (gamma) {
#pragma omp simd
        for (int64_t c = 0; c < C; c++)
            dxr[c] += (gamma[c] * dy[c] - dmean - (xr[c] - m) * s * dnmean) * s;
    } else {
#pragma omp simd
        for (int64_t c = 0; c < C; c++)
            dxr[c] += (dy[c] - dmean - (xr[c] - m) * s * dnmean) * s;
    }
}

void tc__layer_norm_backward_fast(float *dx, float *dgamma, float *dbeta, const float *dout,
                                  const float *x, const float *mean, const float *rstd,
                                  const float *gamma, int64_t B, int64_t C)
{
    /* dx (B, C), dgamma (C), dbeta (C), dout (B, C), x (B, C), mean (B), rstd (B), gamma (C) */
    if (dx) {
#pragma omp parallel for schedule(static) if (PAR_IF(B * C))
        for (int64_t b = 0; b < B; b++)
            layer_norm_row_backward(dx + b * C, dout + b * C, x + b * C, mean[b], rstd[b], gamma,
                                    C);
    }
    /* parameter gradients sum over rows: one pass in row order, contiguous inner loops */
    for (int64_t b = 0; b < B && (dgamma || dbeta); b++) {
        const float *dy = dout + b * C, *xr = x + b * C;
        float m = mean[b], s = rstd[b];
        if (dbeta) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
                dbeta[c] += dy[c];
        }
        if (dgamma) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
                dgamma[c] += (xr[c] - m) * s * dy[c];
        }
    }
}

const tc__kernels tc__kernels_fast = {
    .name = "fast",
    .matmul_forward = tc__matmul_forward_fast,
    .matmul_backward = tc__matmul_backward_fast,
    .linear_forward = tc__linear_forward_fast,
    .linear_backward = tc__linear_backward_fast,
    .bias_add_forward = tc__bias_add_forward_fast,
    .bias_add_backward = tc__bias_add_backward_fast,
    .accumulate = tc__accumulate_fast,
    .accumulate_scalar = tc__accumulate_scalar_fast,
    .add_forward = tc__add_forward_fast,
    .mul_forward = tc__mul_forward_fast,
    .mul_backward = tc__mul_backward_fast,
    .scale_forward = tc__scale_forward_fast,
    .scale_backward = tc__scale_backward_fast,
    .relu_forward = tc__relu_forward_fast,
    .relu_backward = tc__relu_backward_fast,
    .gelu_forward = tc__gelu_forward_fast,
    .gelu_backward = tc__gelu_backward_fast,
    .tanh_forward = tc__tanh_forward_fast,
    .tanh_backward = tc__tanh_backward_fast,
    .sigmoid_forward = tc__sigmoid_forward_fast,
    .sigmoid_backward = tc__sigmoid_backward_fast,
    .softmax_forward = tc__softmax_forward_fast,
    .softmax_backward = tc__softmax_backward_fast,
    .cross_entropy_forward = tc__cross_entropy_forward_fast,
    .cross_entropy_backward = tc__cross_entropy_backward_fast,
    .dropout_forward = tc__dropout_forward_fast,
    .dropout_backward = tc__dropout_backward_fast,
    .embedding_forward = tc__embedding_forward_fast,
    .embedding_backward = tc__embedding_backward_ref, /* repeated ids: kept serial, in order */
    .lstm_forward = tc__lstm_forward_fast,
    .lstm_backward = tc__lstm_backward_fast,
    .embedding_bag_forward = tc__embedding_bag_forward_ref,
    .embedding_bag_backward = tc__embedding_bag_backward_ref, /* serial: repeated ids */
    .sum_forward = tc__sum_forward_fast,
    .layer_norm_forward = tc__layer_norm_forward_fast,
    .layer_norm_backward = tc__layer_norm_backward_fast,
    .attention_forward = tc__attention_forward_fast,
    .attention_backward = tc__attention_backward_fast,
};

static const tc__kernels *kernels_active = &tc__kernels_fast;

const tc__kernels *tc__kernels_active(void)
{
    return kernels_active;
}

void tc__kernels_select(const tc__kernels *k)
{
    kernels_active = k ? k : &tc__kernels_fast;
}
