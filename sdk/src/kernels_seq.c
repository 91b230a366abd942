/*
 * kernels_seq.c - kernels of the sequence ops: the LSTM recurrence and the
 * embedding bag. The LSTM kernels take their matrix product as a parameter,
 * so the reference table runs them with plain loops and the fast table with
 * sgemm: the same recurrence, two products.
 *
 * LSTM gate order and equations are PyTorch's (nn.LSTM): the 4H gate columns
 * are [i, f, g, o]; i, f, o = sigmoid, g = tanh, c' = f * c + i * g,
 * h' = o * tanh(c'). Sequences have lengths; row b runs steps
 * t = 0 .. len[b]-1 (reverse: len[b]-1 down to 0) from h = c = 0, and its
 * outputs at t >= len[b] stay 0.
 */
#include <math.h>
#include <string.h>

#include "blas.h"
#include "kernels.h"

static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* C (M, N) = alpha * op(A) @ op(B) + beta * C, row-major, with plain loops. */
static void gemm_loops(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = ta == TC__BLAS_TRANS ? A[k * lda + m] : A[m * lda + k];
                float b = tb == TC__BLAS_TRANS ? B[n * ldb + k] : B[k * ldb + n];
                acc += a * b;
            }
            C[m * ldc + n] = alpha * acc + (beta == 0.0f ? 0.0f : beta * C[m * ldc + n]);
        }
    }
}

typedef void (*gemm_fn)(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);

/* The time index of step s of row b, or -1 when the row has finished. */
static int64_t step_t(const int32_t *len, int64_t b, int64_t s, int reverse)
{
    if (s >= len[b])
        return -1;
    return reverse ? len[b] - 1 - s : s;
}

static int64_t max_len(const int32_t *len, int64_t B)
{
    int64_t m = 0;
    for (int64_t b = 0; b < B; b++)
        if (len[b] > m)
            m = len[b];
    return m;
}

static void lstm_forward(gemm_fn gemm, const tc__lstm_args *a, float *h_out, float *acts,
                         float *cells, float *scratch)
{
    const int64_t B = a->B, T = a->T, H = a->H, G = 4 * H, S = max_len(a->len, B);
    float *hp = scratch, *cp = hp + B * H, *rec = cp + B * H;

    memset(h_out, 0, (size_t)(B * T * H) * sizeof(float));
    memset(hp, 0, (size_t)(2 * B * H) * sizeof(float));
    for (int64_t s = 0; s < S; s++) {
        gemm(TC__BLAS_NO_TRANS, TC__BLAS_TRANS, (int)B, (int)G, (int)H, 1.0f, hp, (int)H, a->w_hh,
             (int)H, 0.0f, rec, (int)G);
        for (int64_t b = 0; b < B; b++) {
            int64_t t = step_t(a->len, b, s, a->reverse);
            const float *gx, *r = rec + b * G;
            float *ac, *c, *h;
            if (t < 0)
                continue;
            gx = a->gx + (b * T + t) * G;
            ac = acts + (b * T + t) * G;
            c = cells + (b * T + t) * H;
            h = h_out + (b * T + t) * H;
            for (int64_t j = 0; j < H; j++) {
                float ig = sigm(gx[j] + r[j]);
                float fg = sigm(gx[H + j] + r[H + j]);
                float gg = tanhf(gx[2 * H + j] + r[2 * H + j]);
                float og = sigm(gx[3 * H + j] + r[3 * H + j]);
                float cn = fg * cp[b * H + j] + ig * gg;
                ac[j] = ig, ac[H + j] = fg, ac[2 * H + j] = gg, ac[3 * H + j] = og;
                c[j] = cn;
                h[j] = og * tanhf(cn);
                cp[b * H + j] = cn;
                hp[b * H + j] = h[j];
            }
        }
    }
}

static void lstm_backward(gemm_fn gemm, const tc__lstm_args *a, float *dgx, float *dw_hh,
                          const float *dout, const float *h_out, const float *acts,
                          const float *cells, float *scratch)
{
    const int64_t B = a->B, T = a->T, H = a->H, G = 4 * H, S = max_len(a->len, B);
    float *dh = scratch, *dc = dh + B * H, *dg = dc + B * H, *hprev = dg + B * G;

    memset(dh, 0, (size_t)(2 * B * H) * sizeof(float));
    for (int64_t s = S - 1; s >= 0; s--) {
        memset(dg, 0, (size_t)(B * G) * sizeof(float));
        memset(hprev, 0, (size_t)(B * H) * sizeof(float));
        for (int64_t b = 0; b < B; b++) {
            int64_t t = step_t(a->len, b, s, a->reverse), tp;
            const float *ac, *c, *cprev = NULL, *dy;
            float *d;
            if (t < 0)
                continue;
            tp = s == 0 ? -1 : (a->reverse ? t + 1 : t - 1);
            ac = acts + (b * T + t) * G;
            c = cells + (b * T + t) * H;
            dy = dout + (b * T + t) * H;
            d = dg + b * G;
            if (tp >= 0) {
                cprev = cells + (b * T + tp) * H;
                memcpy(hprev + b * H, h_out + (b * T + tp) * H, (size_t)H * sizeof(float));
            }
            for (int64_t j = 0; j < H; j++) {
                float ig = ac[j], fg = ac[H + j], gg = ac[2 * H + j], og = ac[3 * H + j];
                float tcn = tanhf(c[j]);
                float dhj = dy[j] + dh[b * H + j];
                float dcj = dc[b * H + j] + dhj * og * (1.0f - tcn * tcn);
                float cpj = cprev ? cprev[j] : 0.0f;
                d[j] = dcj * gg * ig * (1.0f - ig);
                d[H + j] = dcj * cpj * fg * (1.0f - fg);
                d[2 * H + j] = dcj * ig * (1.0f - gg * gg);
                d[3 * H + j] = dhj * tcn * og * (1.0f - og);
                dc[b * H + j] = dcj * fg;
            }
            if (dgx) {
                float *dx = dgx + (b * T + t) * G;
                for (int64_t k = 0; k < G; k++)
                    dx[k] += d[k];
            }
        }
        if (dw_hh)
            gemm(TC__BLAS_TRANS, TC__BLAS_NO_TRANS, (int)G, (int)H, (int)B, 1.0f, dg, (int)G, hprev,
                 (int)H, 1.0f, dw_hh, (int)H);
        /* rows that finished have a zero dg row: their dh stays 0 */
        gemm(TC__BLAS_NO_TRANS, TC__BLAS_NO_TRANS, (int)B, (int)H, (int)G, 1.0f, dg, (int)G,
             a->w_hh, (int)H, 0.0f, dh, (int)H);
    }
}

void tc__lstm_forward_ref(const tc__lstm_args *a, float *h_out, float *acts, float *cells,
                          float *scratch)
{
    lstm_forward(gemm_loops, a, h_out, acts, cells, scratch);
}

void tc__lstm_backward_ref(const tc__lstm_args *a, float *dgx, float *dw_hh, const float *dout,
                           const float *h_out, const float *acts, const float *cells,
                           float *scratch)
{
    lstm_backward(gemm_loops, a, dgx, dw_hh, dout, h_out, acts, cells, scratch);
}

void tc__lstm_forward_fast(const tc__lstm_args *a, float *h_out, float *acts, float *cells,
                           float *scratch)
{
    lstm_forward(tc__sgemm, a, h_out, acts, cells, scratch);
}

void tc__lstm_backward_fast(const tc__lstm_args *a, float *dgx, float *dw_hh, const float *dout,
                            const float *h_out, const float *acts, const float *cells,
                            float *scratch)
{
    lstm_backward(tc__sgemm, a, dgx, dw_hh, dout, h_out, acts, cells, scratch);
}

void tc__embedding_bag_forward_ref(float *out, const float *table, const int32_t *ids,
                                   const int64_t *offsets, int64_t B, int64_t D, int mean)
{
    /* out (B, D): bag b is ids[offsets[b] .. offsets[b+1]) */
    memset(out, 0, (size_t)(B * D) * sizeof(float));
    for (int64_t b = 0; b < B; b++) {
        int64_t n = offsets[b + 1] - offsets[b];
        float *o = out + b * D;
        for (int64_t j = offsets[b]; j < offsets[b + 1]; j++) {
            const float *r = table + (int64_t)ids[j] * D;
            for (int64_t d = 0; d < D; d++)
                o[d] += r[d];
        }
        if (mean && n > 0)
            for (int64_t d = 0; d < D; d++)
                o[d] /= (float)n;
    }
}

void tc__embedding_bag_backward_ref(float *dtable, const float *dout, const int32_t *ids,
                                    const int64_t *offsets, int64_t B, int64_t D, int mean)
{
    /* in order, so repeated ids add deterministically */
    for (int64_t b = 0; b < B; b++) {
        int64_t n = offsets[b + 1] - offsets[b];
        float scale = mean && n > 0 ? 1.0f / (float)n : 1.0f;
        for (int64_t j = offsets[b]; j < offsets[b + 1]; j++) {
            float *r = dtable + (int64_t)ids[j] * D;
            for (int64_t d = 0; d < D; d++)
                r[d] += dout[b * D + d] * scale;
        }
    }
}
