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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"
#include "kernels.h"

static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/*
 * tanh through one expf: 1 - 2 / (exp(2x) + 1), within 2e-7 of tanhf
 * (absolute) and 3-4x faster than glibc's tanhf (expm1f); saturates cleanly
 * (exp overflow gives 1, underflow -1).
 */
static float tanh_fast(float x)
{
    return 1.0f - 2.0f / (expf(2.0f * x) + 1.0f);
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
                float gg = tanh_fast(gx[2 * H + j] + r[2 * H + j]);
                float og = sigm(gx[3 * H + j] + r[3 * H + j]);
                float cn = fg * cp[b * H + j] + ig * gg;
                ac[j] = ig, ac[H + j] = fg, ac[2 * H + j] = gg, ac[3 * H + j] = og;
                c[j] = cn;
                h[j] = og * tanh_fast(cn);
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
                float tcn = tanh_fast(c[j]);
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

/*
 * The fast LSTM runs rows in independent chunks of LSTM_CHUNK rows (rows of
 * a batch never interact), one thread per chunk up to the CPUs online, each
 * chunk with single-threaded sgemm: a step's products are too small to be
 * worth waking OpenBLAS's threads, which then spin in sched_yield. The chunks
 * are fixed by B alone and dw_hh is summed over them in chunk order, so the
 * result does not depend on the number of threads. Plain pthreads, not
 * OpenMP: see tc__kernels_par_min in kernels_fast.c for why.
 */
#define LSTM_CHUNK 16
#define LSTM_MAX_THREADS 16

typedef struct lstm_task {
    const tc__lstm_args *a;
    int backward;
    int64_t first, n_chunks, chunks; /* this thread's chunks [first, first + n_chunks) */
    float *h_out, *acts, *cells, *scratch, *dgx, *dw_parts; /* forward: outputs */
    const float *dout, *h_in, *in_acts, *in_cells;          /* backward: inputs */
} lstm_task;

/* The rows [b0, b0 + rows) of the arguments. */
static tc__lstm_args lstm_rows(const tc__lstm_args *a, int64_t b0, int64_t rows)
{
    tc__lstm_args r = *a;

    r.gx = a->gx + b0 * a->T * 4 * a->H;
    r.len = a->len + b0;
    r.B = rows;
    return r;
}

static void *lstm_run(void *arg)
{
    const lstm_task *t = arg;
    const tc__lstm_args *a = t->a;
    const int64_t T = a->T, H = a->H, G = 4 * H;

    for (int64_t c = t->first; c < t->first + t->n_chunks; c++) {
        int64_t b0 = c * LSTM_CHUNK, rows = a->B - b0 < LSTM_CHUNK ? a->B - b0 : LSTM_CHUNK;
        tc__lstm_args sub = lstm_rows(a, b0, rows);
        if (!t->backward)
            lstm_forward(tc__sgemm, &sub, t->h_out + b0 * T * H, t->acts + b0 * T * G,
                         t->cells + b0 * T * H, t->scratch + b0 * (2 * H + G));
        else
            lstm_backward(tc__sgemm, &sub, t->dgx ? t->dgx + b0 * T * G : NULL,
                          t->dw_parts ? t->dw_parts + c * G * H : NULL, t->dout + b0 * T * H,
                          t->h_in + b0 * T * H, t->in_acts + b0 * T * G, t->in_cells + b0 * T * H,
                          t->scratch + b0 * (3 * H + G));
    }
    return NULL;
}

/* Run the chunks of task on up to LSTM_MAX_THREADS threads (this one included). */
static void lstm_parallel(const lstm_task *task)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t chunks = task->chunks, nt = cpus < 1 ? 1 : cpus, i, next = 0;
    lstm_task parts[LSTM_MAX_THREADS];
    pthread_t tid[LSTM_MAX_THREADS];
    int started[LSTM_MAX_THREADS] = {0};
    int saved = tc__blas_serial_begin();

    nt = nt > LSTM_MAX_THREADS ? LSTM_MAX_THREADS : nt;
    nt = nt > chunks ? chunks : nt;
    for (i = 0; i < nt; i++) {
        int64_t n = chunks / nt + (i < chunks % nt);
        parts[i] = *task;
        parts[i].first = next;
        parts[i].n_chunks = n;
        next += n;
    }
    /* a thread that cannot start leaves its chunks to this one */
    for (i = 1; i < nt; i++)
        started[i] = pthread_create(&tid[i], NULL, lstm_run, &parts[i]) == 0;
    lstm_run(&parts[0]);
    for (i = 1; i < nt; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            lstm_run(&parts[i]);
    }
    tc__blas_serial_end(saved);
}

void tc__lstm_forward_fast(const tc__lstm_args *a, float *h_out, float *acts, float *cells,
                           float *scratch)
{
    lstm_task t = {.a = a,
                   .chunks = (a->B + LSTM_CHUNK - 1) / LSTM_CHUNK,
                   .h_out = h_out,
                   .acts = acts,
                   .cells = cells,
                   .scratch = scratch};

    if (t.chunks <= 1) {
        int saved = tc__blas_serial_begin();
        lstm_forward(tc__sgemm, a, h_out, acts, cells, scratch);
        tc__blas_serial_end(saved);
        return;
    }
    lstm_parallel(&t);
}

void tc__lstm_backward_fast(const tc__lstm_args *a, float *dgx, float *dw_hh, const float *dout,
                            const float *h_out, const float *acts, const float *cells,
                            float *scratch)
{
    const int64_t G = 4 * a->H, H = a->H;
    lstm_task t = {.a = a,
                   .backward = 1,
                   .chunks = (a->B + LSTM_CHUNK - 1) / LSTM_CHUNK,
                   .scratch = scratch,
                   .dgx = dgx,
                   .dout = dout,
                   .h_in = h_out,
                   .in_acts = acts,
                   .in_cells = cells};
    float *parts = NULL;

    if (t.chunks > 1 && dw_hh && !(parts = calloc((size_t)(t.chunks * G * H), sizeof(float))))
        t.chunks = 1; /* no memory for the partial sums: one chunk, on this thread */
    if (t.chunks <= 1) {
        int saved = tc__blas_serial_begin();
        lstm_backward(tc__sgemm, a, dgx, dw_hh, dout, h_out, acts, cells, scratch);
        tc__blas_serial_end(saved);
        return;
    }
    t.dw_parts = parts;
    lstm_parallel(&t);
    if (parts) {
        for (int64_t c = 0; c < t.chunks; c++) {
            const float *p = parts + c * G * H;
            for (int64_t k = 0; k < G * H; k++)
                dw_hh[k] += p[k];
        }
        free(parts);
    }
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
