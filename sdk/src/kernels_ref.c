/*
 * kernels_ref.c - reference CPU kernels: the simplest correct loops.
 *
 * These define what every op computes. They stay in the tree as the baseline
 * the fast kernels (kernels_fast.c) are tested against. Shapes and the
 * dimension vocabulary are documented in kernels.h.
 */
#include <math.h>
#include <string.h>

#include "kernels.h"

void tc__matmul_forward_ref(float *out, const float *a, const float *b, int64_t M, int64_t K,
                            int64_t N)
{
    /* out (M, N), a (M, K), b (K, N) */
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++)
                acc += a[i * K + k] * b[k * N + j];
            out[i * N + j] = acc;
        }
    }
}

void tc__matmul_backward_ref(float *da, float *db, const float *dout, const float *a,
                             const float *b, int64_t M, int64_t K, int64_t N)
{
    /* da (M, K), db (K, N), dout (M, N), a (M, K), b (K, N) */
    if (da) {
        for (int64_t i = 0; i < M; i++) {
            for (int64_t k = 0; k < K; k++) {
                float acc = 0.0f;
                for (int64_t j = 0; j < N; j++)
                    acc += dout[i * N + j] * b[k * N + j];
                da[i * K + k] += acc;
            }
        }
    }
    if (db) {
        for (int64_t k = 0; k < K; k++) {
            for (int64_t j = 0; j < N; j++) {
                float acc = 0.0f;
                for (int64_t i = 0; i < M; i++)
                    acc += a[i * K + k] * dout[i * N + j];
                db[k * N + j] += acc;
            }
        }
    }
}

void tc__linear_forward_ref(float *out, const float *x, const float *w, const float *bias,
                            int64_t B, int64_t K, int64_t N)
{
    /* out (B, N), x (B, K), w (N, K), bias (N) or NULL */
    for (int64_t b = 0; b < B; b++) {
        const float *xr = x + b * K;
        for (int64_t o = 0; o < N; o++) {
            const float *wr = w + o * K;
            float acc = bias ? bias[o] : 0.0f;
            for (int64_t k = 0; k < K; k++)
                acc += xr[k] * wr[k];
            out[b * N + o] = acc;
        }
    }
}

void tc__linear_backward_ref(float *dx, float *dw, float *dbias, const float *dout, const float *x,
                             const float *w, int64_t B, int64_t K, int64_t N)
{
    /* dx (B, K), dw (N, K), dbias (N), dout (B, N), x (B, K), w (N, K) */
    for (int64_t b = 0; b < B; b++) {
        const float *dr = dout + b * N;
        for (int64_t o = 0; o < N; o++) {
            float d = dr[o];
            if (dx) {
                for (int64_t k = 0; k < K; k++)
                    dx[b * K + k] += d * w[o * K + k];
            }
            if (dw) {
                for (int64_t k = 0; k < K; k++)
                    dw[o * K + k] += d * x[b * K + k];
            }
            if (dbias)
                dbias[o] += d;
        }
    }
}

void tc__bias_add_forward_ref(float *out, const float *x, const float *bias, int64_t B, int64_t N)
{
    /* out (B, N), x (B, N), bias (N) */
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < N; o++)
            out[b * N + o] = x[b * N + o] + bias[o];
}

void tc__bias_add_backward_ref(float *dx, float *dbias, const float *dout, int64_t B, int64_t N)
{
    /* dx (B, N), dbias (N), dout (B, N) */
    for (int64_t b = 0; b < B; b++) {
        for (int64_t o = 0; o < N; o++) {
            if (dx)
                dx[b * N + o] += dout[b * N + o];
            if (dbias)
                dbias[o] += dout[b * N + o];
        }
    }
}

void tc__accumulate_ref(float *dst, const float *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] += src[i];
}

void tc__accumulate_scalar_ref(float *dst, float value, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] += value;
}

void tc__add_forward_ref(float *out, const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void tc__mul_forward_ref(float *out, const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

void tc__mul_backward_ref(float *da, float *db, const float *dout, const float *a, const float *b,
                          int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (da)
            da[i] += dout[i] * b[i];
        if (db)
            db[i] += dout[i] * a[i];
    }
}

void tc__scale_forward_ref(float *out, const float *a, float s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = s * a[i];
}

void tc__scale_backward_ref(float *da, const float *dout, float s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        da[i] += s * dout[i];
}

void tc__relu_forward_ref(float *out, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void tc__relu_backward_ref(float *dx, const float *dout, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (x[i] > 0.0f)
            dx[i] += dout[i];
}

#define GELU_INV_SQRT2 0.70710678118654752440f
#define GELU_INV_SQRT_2PI 0.39894228040143267794f

void tc__gelu_forward_ref(float *out, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = 0.5f * x[i] * (1.0f + erff(x[i] * GELU_INV_SQRT2));
}

void tc__gelu_backward_ref(float *dx, const float *dout, const float *x, int64_t n)
{
    /* d/dx x * Phi(x) = Phi(x) + x * phi(x) */
    for (int64_t i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * GELU_INV_SQRT2));
        float pdf = GELU_INV_SQRT_2PI * expf(-0.5f * x[i] * x[i]);
        dx[i] += dout[i] * (cdf + x[i] * pdf);
    }
}

void tc__tanh_forward_ref(float *out, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = tanhf(x[i]);
}

void tc__tanh_backward_ref(float *dx, const float *dout, const float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] += dout[i] * (1.0f - out[i] * out[i]);
}

void tc__sigmoid_forward_ref(float *out, const float *x, int64_t n)
{
    /* stable for large |x|: exp of a non-positive number only */
    for (int64_t i = 0; i < n; i++) {
        if (x[i] >= 0.0f) {
            out[i] = 1.0f / (1.0f + expf(-x[i]));
        } else {
            float e = expf(x[i]);
            out[i] = e / (1.0f + e);
        }
    }
}

void tc__sigmoid_backward_ref(float *dx, const float *dout, const float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] += dout[i] * out[i] * (1.0f - out[i]);
}

void tc__softmax_forward_ref(float *out, const float *x, int64_t B, int64_t C)
{
    /* out (B, C), x (B, C) */
    for (int64_t b = 0; b < B; b++) {
        const float *xr = x + b * C;
        float *yr = out + b * C;
        float maxv = -INFINITY, sum = 0.0f;
        for (int64_t c = 0; c < C; c++)
            maxv = xr[c] > maxv ? xr[c] : maxv;
        for (int64_t c = 0; c < C; c++) {
            yr[c] = expf(xr[c] - maxv);
            sum += yr[c];
        }
        for (int64_t c = 0; c < C; c++)
            yr[c] /= sum;
    }
}

void tc__softmax_backward_ref(float *dx, const float *dout, const float *out, int64_t B, int64_t C)
{
    /* dx (B, C), dout (B, C), out (B, C) */
    for (int64_t b = 0; b < B; b++) {
        const float *dy = dout + b * C, *y = out + b * C;
        float dot = 0.0f;
        for (int64_t c = 0; c < C; c++)
            dot += dy[c] * y[c];
        for (int64_t c = 0; c < C; c++)
            dx[b * C + c] += y[c] * (dy[c] - dot);
    }
}

void tc__cross_entropy_forward_ref(float *losses, float *lse, const float *logits,
                                   const int32_t *labels, int64_t B, int64_t C)
{
    /* losses (B), lse (B), logits (B, C), labels (B) */
    for (int64_t b = 0; b < B; b++) {
        const float *xr = logits + b * C;
        float maxv = -INFINITY, sum = 0.0f;
        for (int64_t c = 0; c < C; c++)
            maxv = xr[c] > maxv ? xr[c] : maxv;
        for (int64_t c = 0; c < C; c++)
            sum += expf(xr[c] - maxv);
        lse[b] = maxv + logf(sum);
        losses[b] = labels[b] == TC_IGNORE_INDEX ? 0.0f : lse[b] - xr[labels[b]];
    }
}

void tc__cross_entropy_backward_ref(float *dlogits, const float *logits, const float *lse,
                                    const int32_t *labels, float scale, int64_t B, int64_t C)
{
    /* dlogits (B, C), logits (B, C), lse (B), labels (B) */
    for (int64_t b = 0; b < B; b++) {
        if (labels[b] == TC_IGNORE_INDEX)
            continue;
        for (int64_t c = 0; c < C; c++) {
            float p = expf(logits[b * C + c] - lse[b]);
            dlogits[b * C + c] += (p - (c == labels[b] ? 1.0f : 0.0f)) * scale;
        }
    }
}

void tc__dropout_forward_ref(float *out, const float *x, const uint8_t *mask, float scale,
                             int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = mask[i] ? x[i] * scale : 0.0f;
}

void tc__dropout_backward_ref(float *dx, const float *dout, const uint8_t *mask, float scale,
                              int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (mask[i])
            dx[i] += dout[i] * scale;
}

void tc__embedding_forward_ref(float *out, const float *table, const int32_t *ids, int64_t n,
                               int64_t D)
{
    /* out (n, D), table (V, D), ids (n) */
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < D; d++)
            out[i * D + d] = table[(int64_t)ids[i] * D + d];
}

void tc__embedding_backward_ref(float *dtable, const float *dout, const int32_t *ids, int64_t n,
                                int64_t D)
{
    /*
     * dtable (V, D), dout (n, D), ids (n); in order, so repeated ids add
     * deterministically; a negative id (a padding position) adds nothing
     */
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < D && ids[i] >= 0; d++)
            dtable[(int64_t)ids[i] * D + d] += dout[i * D + d];
}

void tc__sum_forward_ref(float *out, const float *x, int64_t n)
{
    double acc = 0.0;

    for (int64_t i = 0; i < n; i++)
        acc += x[i];
    *out = (float)acc;
}

void tc__layer_norm_forward_ref(float *out, float *mean, float *rstd, const float *x,
                                const float *gamma, const float *beta, float eps, int64_t B,
                                int64_t C)
{
    /* out (B, C), mean (B), rstd (B), x (B, C), gamma (C) or NULL, beta (C) or NULL */
    for (int64_t b = 0; b < B; b++) {
        const float *xr = x + b * C;
        float m = 0.0f, v = 0.0f, s;
        for (int64_t c = 0; c < C; c++)
            m += xr[c];
        m /= (float)C;
        for (int64_t c = 0; c < C; c++)
            v += (xr[c] - m) * (xr[c] - m);
        v /= (float)C;
        s = 1.0f / sqrtf(v + eps);
        for (int64_t c = 0; c < C; c++) {
            float y = (xr[c] - m) * s;
            if (gamma)
                y *= gamma[c];
            if (beta)
                y += beta[c];
            out[b * C + c] = y;
        }
        mean[b] = m;
        rstd[b] = s;
    }
}

void tc__layer_norm_backward_ref(float *dx, float *dgamma, float *dbeta, const float *dout,
                                 const float *x, const float *mean, const float *rstd,
                                 const float *gamma, int64_t B, int64_t C)
{
    /* dx (B, C), dgamma (C), dbeta (C), dout (B, C), x (B, C), mean (B), rstd (B), gamma (C) */
    for (int64_t b = 0; b < B; b++) {
        const float *dy = dout + b * C, *xr = x + b * C;
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
        for (int64_t c = 0; c < C; c++) {
            float norm = (xr[c] - mean[b]) * rstd[b];
            float dnorm = gamma ? gamma[c] * dy[c] : dy[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= (float)C;
        dnorm_norm_mean /= (float)C;
        for (int64_t c = 0; c < C; c++) {
            float norm = (xr[c] - mean[b]) * rstd[b];
            float dnorm = gamma ? gamma[c] * dy[c] : dy[c];
            if (dbeta)
                dbeta[c] += dy[c];
            if (dgamma)
                dgamma[c] += norm * dy[c];
            if (dx)
                dx[b * C + c] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * rstd[b];
        }
    }
}

const tc__kernels tc__kernels_ref = {
    .name = "ref",
    .matmul_forward = tc__matmul_forward_ref,
    .matmul_backward = tc__matmul_backward_ref,
    .linear_forward = tc__linear_forward_ref,
    .linear_backward = tc__linear_backward_ref,
    .bias_add_forward = tc__bias_add_forward_ref,
    .bias_add_backward = tc__bias_add_backward_ref,
    .accumulate = tc__accumulate_ref,
    .accumulate_scalar = tc__accumulate_scalar_ref,
    .add_forward = tc__add_forward_ref,
    .mul_forward = tc__mul_forward_ref,
    .mul_backward = tc__mul_backward_ref,
    .scale_forward = tc__scale_forward_ref,
    .scale_backward = tc__scale_backward_ref,
    .relu_forward = tc__relu_forward_ref,
    .relu_backward = tc__relu_backward_ref,
    .gelu_forward = tc__gelu_forward_ref,
    .gelu_backward = tc__gelu_backward_ref,
    .tanh_forward = tc__tanh_forward_ref,
    .tanh_backward = tc__tanh_backward_ref,
    .sigmoid_forward = tc__sigmoid_forward_ref,
    .sigmoid_backward = tc__sigmoid_backward_ref,
    .softmax_forward = tc__softmax_forward_ref,
    .softmax_backward = tc__softmax_backward_ref,
    .cross_entropy_forward = tc__cross_entropy_forward_ref,
    .cross_entropy_backward = tc__cross_entropy_backward_ref,
    .dropout_forward = tc__dropout_forward_ref,
    .dropout_backward = tc__dropout_backward_ref,
    .embedding_forward = tc__embedding_forward_ref,
    .embedding_backward = tc__embedding_backward_ref,
    .lstm_forward = tc__lstm_forward_ref,
    .lstm_backward = tc__lstm_backward_ref,
    .embedding_bag_forward = tc__embedding_bag_forward_ref,
    .embedding_bag_backward = tc__embedding_bag_backward_ref, /* serial: repeated ids */
    .sum_forward = tc__sum_forward_ref,
    .layer_norm_forward = tc__layer_norm_forward_ref,
    .layer_norm_backward = tc__layer_norm_backward_ref,
    .attention_forward = tc__attention_forward_ref,
    .attention_backward = tc__attention_backward_ref,
};
