/*
 * bench_matmul.c - forward matmul throughput: tc_matmul / tc_linear through
 * the graph API and the fast kernel called directly, beside raw OpenBLAS
 * cblas_sgemm on the same operands in the same run.
 *
 * Square sizes use tc_matmul (a @ b, both NoTrans); the MLP shapes use
 * tc_linear (x @ w^T as torch.nn.Linear, with a bias through the graph).
 * The ratio column is the GFLOP/s of the row over raw sgemm's for that
 * shape: 1.00 means no overhead. Not run by CI; takes about 10 s.
 *
 * Usage: bench_matmul [seconds per measurement, default 0.3]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tc/error.h>
#include <tc/ops.h>
#include <tc/tensor.h>

#include "bench_util.h"
#include "blas.h"
#include "kernels.h"

/* cblas_sgemm of the OpenBLAS that libtc loaded (the raw library call, no libtc code). */
typedef void (*cblas_sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha,
                               const float *A, int lda, const float *B, int ldb, float beta,
                               float *C, int ldc);
static cblas_sgemm_fn raw_sgemm;

typedef struct bench_case {
    const char *label;
    int linear; /* x (M, K) @ w (N, K)^T rather than a (M, K) @ b (K, N) */
    int64_t M, K, N;
} bench_case;

typedef struct bench_ctx {
    const bench_case *c;
    tc_graph *run; /* reset every iteration */
    tc_tensor *a, *b, *bias;
    float *out; /* (M, N) for the direct calls */
} bench_ctx;

typedef int (*bench_fn)(bench_ctx *ctx);

static int run_sgemm(bench_ctx *x)
{
    const bench_case *c = x->c;

    raw_sgemm(101, TC__BLAS_NO_TRANS, c->linear ? TC__BLAS_TRANS : TC__BLAS_NO_TRANS, (int)c->M,
              (int)c->N, (int)c->K, 1.0f, x->a->data, (int)c->K, x->b->data,
              c->linear ? (int)c->K : (int)c->N, 0.0f, x->out, (int)c->N);
    return 0;
}

static int run_kernel(bench_ctx *x)
{
    const bench_case *c = x->c;

    if (c->linear)
        tc__linear_forward_fast(x->out, x->a->data, x->b->data, NULL, c->M, c->K, c->N);
    else
        tc__matmul_forward_fast(x->out, x->a->data, x->b->data, c->M, c->K, c->N);
    return 0;
}

static int run_graph(bench_ctx *x)
{
    tc_tensor *y;

    tc_graph_reset(x->run);
    if (x->c->linear)
        y = tc_linear(x->run, x->a, x->b, x->bias);
    else
        y = tc_matmul(x->run, x->a, x->b);
    return y ? 0 : -1;
}

/* Seconds per call of fn, measured for at least `budget` seconds after a warm-up. */
static double time_per_call(bench_fn fn, bench_ctx *x, double budget)
{
    double t0, t;
    long iters = 0;

    for (int i = 0; i < 2; i++)
        if (fn(x) < 0)
            return -1.0;
    t0 = bench_now_s();
    do {
        if (fn(x) < 0)
            return -1.0;
        iters++;
        t = bench_now_s() - t0;
    } while (t < budget || iters < 3);
    return t / (double)iters;
}

static void fill(tc_tensor *t)
{
    for (int64_t i = 0; i < t->numel; i++)
        t->data[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
}

static int bench_one(const bench_case *c, tc_graph *inputs, double budget)
{
    static const char *names[3] = {"cblas_sgemm", "fast kernel", "graph op"};
    bench_fn fns[3] = {run_sgemm, run_kernel, run_graph};
    double flops = 2.0 * (double)c->M * (double)c->K * (double)c->N, base = 0.0;
    bench_ctx x = {c, NULL, NULL, NULL, NULL, NULL};
    int rc = -1;

    tc_graph_reset(inputs);
    x.a = tc_tensor_new2d(inputs, c->M, c->K);
    x.b = c->linear ? tc_tensor_new2d(inputs, c->N, c->K) : tc_tensor_new2d(inputs, c->K, c->N);
    x.bias = tc_tensor_new1d(inputs, c->N);
    x.out = tc_graph_alloc(inputs, (size_t)(c->M * c->N) * sizeof(float));
    if (!x.a || !x.b || !x.bias || !x.out || tc_graph_new(&x.run, 0) < 0)
        goto out;
    fill(x.a);
    fill(x.b);
    fill(x.bias);
    for (int i = 0; i < 3; i++) {
        double s = time_per_call(fns[i], &x, budget), gflops;
        if (s <= 0.0)
            goto out;
        gflops = flops / s * 1e-9;
        if (i == 0)
            base = gflops;
        printf("%-24s %-12s %10.3f %10.1f %7.2f\n", c->label, names[i], s * 1e3, gflops,
               gflops / base);
    }
    rc = 0;
out:
    tc_graph_free(x.run);
    return rc;
}

int main(int argc, char **argv)
{
    static const bench_case cases[] = {
        {"matmul 256^3", 0, 256, 256, 256},          {"matmul 512^3", 0, 512, 512, 512},
        {"matmul 1024^3", 0, 1024, 1024, 1024},      {"linear 64x784->1024", 1, 64, 784, 1024},
        {"linear 128x784->1024", 1, 128, 784, 1024}, {"linear 64x1024->128", 1, 64, 1024, 128},
        {"linear 128x1024->128", 1, 128, 1024, 128},
    };
    double budget = argc > 1 ? strtod(argv[1], NULL) : 0.3;
    tc_graph *inputs = NULL;
    int rc = 0;

    if (!(budget > 0.0))
        budget = 0.3;
    if (tc_graph_new(&inputs, 0) < 0) {
        fprintf(stderr, "bench_matmul: %s\n", tc_error_message());
        return 1;
    }
    *(void **)&raw_sgemm = tc__blas_sgemm_symbol();
    if (!raw_sgemm) {
        fprintf(stderr, "bench_matmul: OpenBLAS could not be loaded\n");
        return 1;
    }
    printf("%s (OPENBLAS_CORETYPE=%s)\n", tc_blas_backend(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset");
    if (strstr(tc_blas_backend(), "Prescott"))
        printf("note: OpenBLAS runs its generic SSE3 kernels; set OPENBLAS_CORETYPE (e.g. "
               "SkylakeX or Haswell) for this CPU\n");
    printf("%-24s %-12s %10s %10s %7s\n", "shape", "path", "ms/call", "GFLOP/s", "ratio");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (bench_one(&cases[i], inputs, budget) < 0) {
            fprintf(stderr, "bench_matmul: %s: %s\n", cases[i].label, tc_error_message());
            rc = 1;
            break;
        }
    }
    tc_graph_free(inputs);
    return rc;
}
