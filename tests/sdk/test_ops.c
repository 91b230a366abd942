/*
 * test_ops.c - every op of <tc/ops.h>: fast kernels against the reference
 * kernels, backward passes against central finite differences (through the
 * public op and tc_backward, with both kernel tables), and error cases.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>
#include <tc/ops.h>
#include <tc/params.h>
#include <tc/rng.h>
#include <tc/tensor.h>

#include "internal.h"
#include "kernels.h"
#include "tc_test.h"
#include "vmath.h"

/* ---- test data: a private xorshift so inputs do not depend on tc_rng ---- */

static uint64_t data_state = 0x9e3779b97f4a7c15ull;

static void data_seed(uint64_t seed)
{
    data_state = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
}

static float urand(float lo, float hi)
{
    data_state ^= data_state << 13;
    data_state ^= data_state >> 7;
    data_state ^= data_state << 17;
    return lo + (hi - lo) * (float)((data_state >> 40) * (1.0 / 16777216.0));
}

/* A malloc'd array of n uniform floats in [lo, hi). */
static float *rand_array(int64_t n, float lo, float hi)
{
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));

    for (int64_t i = 0; i < n; i++)
        x[i] = urand(lo, hi);
    return x;
}

static float *copy_array(const float *x, int64_t n)
{
    float *y = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));

    memcpy(y, x, (size_t)n * sizeof(float));
    return y;
}

/* |got - want| <= atol + rtol |want| everywhere; reports the worst element. */
static int close_all(const char *what, const float *got, const float *want, int64_t n, double rtol,
                     double atol)
{
    int64_t bad = 0, worst = -1;
    double worst_excess = 0.0;

    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        double lim = atol + rtol * fabs((double)want[i]);
        if (!(d <= lim)) {
            bad++;
            if (worst < 0 || d - lim > worst_excess) {
                worst = i;
                worst_excess = d - lim;
            }
        }
    }
    if (bad)
        fprintf(stderr, "%s: %lld of %lld differ; worst [%lld] %.9g vs %.9g\n", what,
                (long long)bad, (long long)n, (long long)worst, (double)got[worst],
                (double)want[worst]);
    return bad == 0;
}

#define CHECK_CLOSE(what, got, want, n, rtol, atol)                                                \
    TC_CHECK(close_all((what), (got), (want), (n), (rtol), (atol)))

/* ---- fast kernels against the reference kernels ---- */

/*
 * Tolerances: elementwise kernels do the same float operations in both
 * versions (1e-6 relative covers vectorised transcendental rounding);
 * reductions over K terms are reordered by sgemm and simd, so they get
 * 1e-4 relative plus 2e-6 * K absolute on O(1) inputs.
 */
#define ELEM_RTOL 1e-6
#define ELEM_ATOL 1e-6

static void test_sdk_ops__fast_matmul(void)
{
    const int64_t sizes[3][3] = {{3, 5, 4}, {67, 129, 33}, {128, 256, 96}};

    data_seed(1);
    for (int s = 0; s < 3; s++) {
        int64_t M = sizes[s][0], K = sizes[s][1], N = sizes[s][2];
        double atol = 2e-6 * (double)K;
        float *a = rand_array(M * K, -1, 1), *b = rand_array(K * N, -1, 1);
        float *dout = rand_array(M * N, -1, 1), *o1 = rand_array(M * N, -1, 1);
        float *o2 = copy_array(o1, M * N);
        float *da1 = rand_array(M * K, -1, 1), *da2 = copy_array(da1, M * K);
        float *db1 = rand_array(K * N, -1, 1), *db2 = copy_array(db1, K * N);

        tc__matmul_forward_ref(o1, a, b, M, K, N);
        tc__matmul_forward_fast(o2, a, b, M, K, N);
        CHECK_CLOSE("matmul forward", o2, o1, M * N, 1e-4, atol);
        tc__matmul_backward_ref(da1, db1, dout, a, b, M, K, N);
        tc__matmul_backward_fast(da2, db2, dout, a, b, M, K, N);
        CHECK_CLOSE("matmul backward da", da2, da1, M * K, 1e-4, 2e-6 * (double)N);
        CHECK_CLOSE("matmul backward db", db2, db1, K * N, 1e-4, 2e-6 * (double)M);
        /* NULL gradient outputs are skipped */
        tc__matmul_backward_fast(NULL, db2, dout, a, b, M, K, N);
        tc__matmul_backward_ref(NULL, db1, dout, a, b, M, K, N);
        CHECK_CLOSE("matmul backward db only", db2, db1, K * N, 1e-4, 4e-6 * (double)M);
        free(a), free(b), free(dout), free(o1), free(o2);
        free(da1), free(da2), free(db1), free(db2);
    }
}

static void test_sdk_ops__fast_linear(void)
{
    const int64_t sizes[4][3] = {{2, 3, 4}, {64, 784, 128}, {37, 100, 11}, {5, 0, 3}};

    data_seed(2);
    for (int s = 0; s < 4; s++) {
        int64_t B = sizes[s][0], K = sizes[s][1], N = sizes[s][2];
        double atol = 2e-6 * (double)(K + 1);
        float *x = rand_array(B * K, -1, 1), *w = rand_array(N * K, -1, 1);
        float *bias = rand_array(N, -1, 1), *dout = rand_array(B * N, -1, 1);
        float *o1 = rand_array(B * N, -1, 1), *o2 = copy_array(o1, B * N);
        float *dx1 = rand_array(B * K, -1, 1), *dx2 = copy_array(dx1, B * K);
        float *dw1 = rand_array(N * K, -1, 1), *dw2 = copy_array(dw1, N * K);
        float *db1 = rand_array(N, -1, 1), *db2 = copy_array(db1, N);

        for (int with_bias = 0; with_bias < 2; with_bias++) {
            tc__linear_forward_ref(o1, x, w, with_bias ? bias : NULL, B, K, N);
            tc__linear_forward_fast(o2, x, w, with_bias ? bias : NULL, B, K, N);
            CHECK_CLOSE("linear forward", o2, o1, B * N, 1e-4, atol);
        }
        tc__linear_backward_ref(dx1, dw1, db1, dout, x, w, B, K, N);
        tc__linear_backward_fast(dx2, dw2, db2, dout, x, w, B, K, N);
        CHECK_CLOSE("linear backward dx", dx2, dx1, B * K, 1e-4, 2e-6 * (double)N);
        CHECK_CLOSE("linear backward dw", dw2, dw1, N * K, 1e-4, 2e-6 * (double)B);
        CHECK_CLOSE("linear backward dbias", db2, db1, N, 1e-4, 2e-6 * (double)B);
        tc__linear_backward_ref(NULL, dw1, NULL, dout, x, w, B, K, N);
        tc__linear_backward_fast(NULL, dw2, NULL, dout, x, w, B, K, N);
        CHECK_CLOSE("linear backward dw only", dw2, dw1, N * K, 1e-4, 4e-6 * (double)B);
        free(x), free(w), free(bias), free(dout), free(o1), free(o2);
        free(dx1), free(dx2), free(dw1), free(dw2), free(db1), free(db2);
    }
}

static void test_sdk_ops__fast_bias_add(void)
{
    const int64_t sizes[2][2] = {{3, 7}, {600, 129}};

    data_seed(3);
    for (int s = 0; s < 2; s++) {
        int64_t B = sizes[s][0], N = sizes[s][1];
        float *x = rand_array(B * N, -1, 1), *bias = rand_array(N, -1, 1);
        float *o1 = rand_array(B * N, -1, 1), *o2 = copy_array(o1, B * N);
        float *dx1 = rand_array(B * N, -1, 1), *dx2 = copy_array(dx1, B * N);
        float *db1 = rand_array(N, -1, 1), *db2 = copy_array(db1, N);

        tc__bias_add_forward_ref(o1, x, bias, B, N);
        tc__bias_add_forward_fast(o2, x, bias, B, N);
        CHECK_CLOSE("bias_add forward", o2, o1, B * N, ELEM_RTOL, ELEM_ATOL);
        tc__bias_add_backward_ref(dx1, db1, x, B, N);
        tc__bias_add_backward_fast(dx2, db2, x, B, N);
        CHECK_CLOSE("bias_add backward dx", dx2, dx1, B * N, ELEM_RTOL, ELEM_ATOL);
        CHECK_CLOSE("bias_add backward dbias", db2, db1, N, 1e-4, 2e-6 * (double)B);
        free(x), free(bias), free(o1), free(o2), free(dx1), free(dx2), free(db1), free(db2);
    }
}

typedef void (*unary_fn)(float *out, const float *x, int64_t n);
typedef void (*unary_bw_fn)(float *dx, const float *dout, const float *saved, int64_t n);

static void compare_unary(const char *name, unary_fn ref, unary_fn fast, unary_bw_fn ref_bw,
                          unary_bw_fn fast_bw, int saved_is_out)
{
    const int64_t sizes[2] = {37, 100003};
    char what[64];

    for (int s = 0; s < 2; s++) {
        int64_t n = sizes[s];
        float *x = rand_array(n, -4, 4), *dout = rand_array(n, -1, 1);
        float *o1 = rand_array(n, -1, 1), *o2 = copy_array(o1, n);
        float *dx1 = rand_array(n, -1, 1), *dx2 = copy_array(dx1, n);

        ref(o1, x, n);
        fast(o2, x, n);
        snprintf(what, sizeof(what), "%s forward n=%lld", name, (long long)n);
        CHECK_CLOSE(what, o2, o1, n, ELEM_RTOL, ELEM_ATOL);
        ref_bw(dx1, dout, saved_is_out ? o1 : x, n);
        fast_bw(dx2, dout, saved_is_out ? o1 : x, n);
        snprintf(what, sizeof(what), "%s backward n=%lld", name, (long long)n);
        CHECK_CLOSE(what, dx2, dx1, n, ELEM_RTOL, ELEM_ATOL);
        free(x), free(dout), free(o1), free(o2), free(dx1), free(dx2);
    }
}

/* vmath.h's exp and erf against double precision, over their whole ranges. */
static void test_sdk_ops__vmath_accuracy(void)
{
    double worst_exp = 0.0, worst_erf = 0.0;
    float at_exp = 0.0f, at_erf = 0.0f;

    for (float x = -87.0f; x <= 88.0f; x += 0.000731f) {
        double ref = exp((double)x), rel = fabs((double)tc__vexpf(x) - ref) / ref;
        if (rel > worst_exp)
            worst_exp = rel, at_exp = x;
    }
    for (float x = -9.0f; x <= 9.0f; x += 0.0000371f) {
        double err = fabs((double)tc__verff(x) - erf((double)x));
        if (err > worst_erf)
            worst_erf = err, at_erf = x;
    }
    printf("     vexpf max relative error %.3g at %g; verff max absolute error %.3g at %g\n",
           worst_exp, (double)at_exp, worst_erf, (double)at_erf);
    TC_CHECK(worst_exp < 1e-7);
    TC_CHECK(worst_erf < 5e-7);
    /* clamped ends: no infinity, no denormal, no NaN */
    TC_CHECK(tc__vexpf(-1000.0f) > 0.0f && tc__vexpf(-1000.0f) < 2e-38f);
    TC_CHECK(isfinite(tc__vexpf(1000.0f)));
    TC_CHECK(tc__verff(100.0f) == 1.0f && tc__verff(-100.0f) == -1.0f);
}

/* The vectorized dropout mask draws what the tc_rng_uniform loop draws, and leaves the
 * generator where the loop does. */
static void test_sdk_ops__keep_mask_matches_uniform_loop(void)
{
    enum { N = 10007 };
    static uint8_t fast[N], slow[N];
    tc_rng a, b;
    int differ = 0, kept = 0;

    tc_rng_init(&a, 1234, 7);
    tc_rng_init(&b, 1234, 7);
    (void)tc_rng_u64(&a), (void)tc_rng_u64(&b); /* not from counter 0 */
    tc__rng_keep_mask(&a, fast, N, 0.1f);
    for (int i = 0; i < N; i++)
        slow[i] = tc_rng_uniform(&b) >= 0.1f;
    for (int i = 0; i < N; i++)
        differ += fast[i] != slow[i], kept += fast[i];
    TC_CHECK(differ == 0);
    TC_CHECK(kept > N * 85 / 100 && kept < N * 95 / 100);
    TC_CHECK(tc_rng_u64(&a) == tc_rng_u64(&b));
}

static void test_sdk_ops__fast_activations(void)
{
    data_seed(4);
    compare_unary("relu", tc__relu_forward_ref, tc__relu_forward_fast, tc__relu_backward_ref,
                  tc__relu_backward_fast, 0);
    compare_unary("gelu", tc__gelu_forward_ref, tc__gelu_forward_fast, tc__gelu_backward_ref,
                  tc__gelu_backward_fast, 0);
    compare_unary("tanh", tc__tanh_forward_ref, tc__tanh_forward_fast, tc__tanh_backward_ref,
                  tc__tanh_backward_fast, 1);
    compare_unary("sigmoid", tc__sigmoid_forward_ref, tc__sigmoid_forward_fast,
                  tc__sigmoid_backward_ref, tc__sigmoid_backward_fast, 1);
}

static void test_sdk_ops__fast_elementwise(void)
{
    const int64_t sizes[2] = {37, 100003};

    data_seed(5);
    for (int s = 0; s < 2; s++) {
        int64_t n = sizes[s];
        float *a = rand_array(n, -2, 2), *b = rand_array(n, -2, 2), *dout = rand_array(n, -1, 1);
        float *o1 = rand_array(n, -1, 1), *o2 = copy_array(o1, n);
        float *g1 = rand_array(n, -1, 1), *g2 = copy_array(g1, n);
        float *h1 = rand_array(n, -1, 1), *h2 = copy_array(h1, n);

        tc__add_forward_ref(o1, a, b, n);
        tc__add_forward_fast(o2, a, b, n);
        CHECK_CLOSE("add forward", o2, o1, n, ELEM_RTOL, ELEM_ATOL);
        tc__mul_forward_ref(o1, a, b, n);
        tc__mul_forward_fast(o2, a, b, n);
        CHECK_CLOSE("mul forward", o2, o1, n, ELEM_RTOL, ELEM_ATOL);
        tc__mul_backward_ref(g1, h1, dout, a, b, n);
        tc__mul_backward_fast(g2, h2, dout, a, b, n);
        CHECK_CLOSE("mul backward da", g2, g1, n, ELEM_RTOL, ELEM_ATOL);
        CHECK_CLOSE("mul backward db", h2, h1, n, ELEM_RTOL, ELEM_ATOL);
        /* da and db the same buffer (a * a) */
        tc__mul_backward_ref(g1, g1, dout, a, a, n);
        tc__mul_backward_fast(g2, g2, dout, a, a, n);
        CHECK_CLOSE("mul backward aliased", g2, g1, n, ELEM_RTOL, ELEM_ATOL);
        tc__scale_forward_ref(o1, a, -1.7f, n);
        tc__scale_forward_fast(o2, a, -1.7f, n);
        CHECK_CLOSE("scale forward", o2, o1, n, ELEM_RTOL, ELEM_ATOL);
        tc__scale_backward_ref(g1, dout, 0.3f, n);
        tc__scale_backward_fast(g2, dout, 0.3f, n);
        CHECK_CLOSE("scale backward", g2, g1, n, ELEM_RTOL, ELEM_ATOL);
        tc__accumulate_ref(h1, dout, n);
        tc__accumulate_fast(h2, dout, n);
        CHECK_CLOSE("accumulate", h2, h1, n, ELEM_RTOL, ELEM_ATOL);
        tc__accumulate_scalar_ref(h1, 0.25f, n);
        tc__accumulate_scalar_fast(h2, 0.25f, n);
        CHECK_CLOSE("accumulate scalar", h2, h1, n, ELEM_RTOL, ELEM_ATOL);
        free(a), free(b), free(dout), free(o1), free(o2), free(g1), free(g2), free(h1), free(h2);
    }
}

static void test_sdk_ops__fast_softmax(void)
{
    const int64_t sizes[2][2] = {{3, 5}, {300, 257}};

    data_seed(6);
    for (int s = 0; s < 2; s++) {
        int64_t B = sizes[s][0], C = sizes[s][1];
        float *x = rand_array(B * C, -8, 8), *dout = rand_array(B * C, -1, 1);
        float *o1 = rand_array(B * C, -1, 1), *o2 = copy_array(o1, B * C);
        float *dx1 = rand_array(B * C, -1, 1), *dx2 = copy_array(dx1, B * C);

        tc__softmax_forward_ref(o1, x, B, C);
        tc__softmax_forward_fast(o2, x, B, C);
        CHECK_CLOSE("softmax forward", o2, o1, B * C, 1e-5, 1e-7);
        tc__softmax_backward_ref(dx1, dout, o1, B, C);
        tc__softmax_backward_fast(dx2, dout, o1, B, C);
        CHECK_CLOSE("softmax backward", dx2, dx1, B * C, 1e-5, 1e-6);
        free(x), free(dout), free(o1), free(o2), free(dx1), free(dx2);
    }
}

static void test_sdk_ops__fast_cross_entropy(void)
{
    const int64_t sizes[2][2] = {{4, 3}, {512, 1000}};

    data_seed(7);
    for (int s = 0; s < 2; s++) {
        int64_t B = sizes[s][0], C = sizes[s][1];
        float *x = rand_array(B * C, -6, 6), *l1 = rand_array(B, 0, 1), *l2 = copy_array(l1, B);
        float *lse1 = rand_array(B, 0, 1), *lse2 = copy_array(lse1, B);
        float *dx1 = rand_array(B * C, -1, 1), *dx2 = copy_array(dx1, B * C);
        int32_t *labels = malloc((size_t)B * sizeof(int32_t));

        for (int64_t b = 0; b < B; b++)
            labels[b] = b % 5 == 1 ? TC_IGNORE_INDEX : (int32_t)urand(0, (float)C);
        tc__cross_entropy_forward_ref(l1, lse1, x, labels, B, C);
        tc__cross_entropy_forward_fast(l2, lse2, x, labels, B, C);
        CHECK_CLOSE("cross_entropy losses", l2, l1, B, 1e-5, 1e-5);
        CHECK_CLOSE("cross_entropy lse", lse2, lse1, B, 1e-5, 1e-5);
        tc__cross_entropy_backward_ref(dx1, x, lse1, labels, 0.125f, B, C);
        tc__cross_entropy_backward_fast(dx2, x, lse1, labels, 0.125f, B, C);
        CHECK_CLOSE("cross_entropy backward", dx2, dx1, B * C, 1e-5, 1e-6);
        free(x), free(l1), free(l2), free(lse1), free(lse2), free(dx1), free(dx2), free(labels);
    }
}

static void test_sdk_ops__fast_dropout_embedding_sum(void)
{
    const int64_t n = 100003, V = 50, D = 1500, nids = 77;
    float *x = rand_array(n, -2, 2), *dout = rand_array(n, -1, 1);
    float *o1 = rand_array(n, -1, 1), *o2 = copy_array(o1, n);
    float *dx1 = rand_array(n, -1, 1), *dx2 = copy_array(dx1, n);
    float *table = rand_array(V * D, -1, 1), *e1 = rand_array(nids * D, 0, 1);
    float *e2 = copy_array(e1, nids * D), s1, s2;
    uint8_t *mask = malloc((size_t)n);
    int32_t ids[77];

    for (int64_t i = 0; i < n; i++)
        mask[i] = urand(0, 1) >= 0.3f;
    tc__dropout_forward_ref(o1, x, mask, 1.0f / 0.7f, n);
    tc__dropout_forward_fast(o2, x, mask, 1.0f / 0.7f, n);
    CHECK_CLOSE("dropout forward", o2, o1, n, ELEM_RTOL, ELEM_ATOL);
    tc__dropout_backward_ref(dx1, dout, mask, 1.0f / 0.7f, n);
    tc__dropout_backward_fast(dx2, dout, mask, 1.0f / 0.7f, n);
    CHECK_CLOSE("dropout backward", dx2, dx1, n, ELEM_RTOL, ELEM_ATOL);

    for (int i = 0; i < nids; i++)
        ids[i] = (int32_t)urand(0, (float)V);
    tc__embedding_forward_ref(e1, table, ids, nids, D);
    tc__embedding_forward_fast(e2, table, ids, nids, D);
    CHECK_CLOSE("embedding forward", e2, e1, nids * D, 0, 0);

    tc__sum_forward_ref(&s1, x, n);
    tc__sum_forward_fast(&s2, x, n);
    TC_CHECK_NEAR(s2, s1, 1e-6 * fabs(s1) + 1e-6);
    tc__sum_forward_ref(&s1, x, 5);
    tc__sum_forward_fast(&s2, x, 5);
    TC_CHECK_NEAR(s2, s1, 1e-7);
    free(x), free(dout), free(o1), free(o2), free(dx1), free(dx2), free(table), free(e1);
    free(e2), free(mask);
}

static void test_sdk_ops__fast_layer_norm(void)
{
    const int64_t sizes[2][2] = {{3, 7}, {200, 768}};

    data_seed(9);
    for (int s = 0; s < 2; s++) {
        int64_t B = sizes[s][0], C = sizes[s][1];
        float *x = rand_array(B * C, -3, 3), *gamma = rand_array(C, 0.5f, 1.5f);
        float *beta = rand_array(C, -1, 1), *dout = rand_array(B * C, -1, 1);
        float *o1 = rand_array(B * C, -1, 1), *o2 = copy_array(o1, B * C);
        float *m1 = rand_array(B, 0, 1), *m2 = copy_array(m1, B);
        float *r1 = rand_array(B, 0, 1), *r2 = copy_array(r1, B);
        float *dx1 = rand_array(B * C, -1, 1), *dx2 = copy_array(dx1, B * C);
        float *dg1 = rand_array(C, -1, 1), *dg2 = copy_array(dg1, C);
        float *dbt1 = rand_array(C, -1, 1), *dbt2 = copy_array(dbt1, C);

        for (int affine = 0; affine < 2; affine++) {
            const float *gm = affine ? gamma : NULL, *bt = affine ? beta : NULL;
            tc__layer_norm_forward_ref(o1, m1, r1, x, gm, bt, 1e-5f, B, C);
            tc__layer_norm_forward_fast(o2, m2, r2, x, gm, bt, 1e-5f, B, C);
            CHECK_CLOSE("layer_norm forward", o2, o1, B * C, 1e-4, 1e-5);
            CHECK_CLOSE("layer_norm mean", m2, m1, B, 1e-4, 1e-6);
            CHECK_CLOSE("layer_norm rstd", r2, r1, B, 1e-4, 1e-6);
            tc__layer_norm_backward_ref(dx1, dg1, dbt1, dout, x, m1, r1, gm, B, C);
            tc__layer_norm_backward_fast(dx2, dg2, dbt2, dout, x, m1, r1, gm, B, C);
            CHECK_CLOSE("layer_norm backward dx", dx2, dx1, B * C, 1e-4, 1e-5);
            CHECK_CLOSE("layer_norm backward dgamma", dg2, dg1, C, 1e-4, 2e-6 * (double)B);
            CHECK_CLOSE("layer_norm backward dbeta", dbt2, dbt1, C, 1e-4, 2e-6 * (double)B);
        }
        free(x), free(gamma), free(beta), free(dout), free(o1), free(o2), free(m1), free(m2);
        free(r1), free(r2), free(dx1), free(dx2), free(dg1), free(dg2), free(dbt1), free(dbt2);
    }
}

/*
 * The LSTM's fast kernels split the rows into chunks run on threads: 37 rows
 * make three chunks (the last ragged), with lengths 0 and T among them.
 */
static void test_sdk_ops__fast_lstm(void)
{
    const int64_t B = 37, T = 9, H = 5, G = 4 * H;
    int32_t len[37];

    data_seed(7);
    for (int64_t b = 0; b < B; b++)
        len[b] = (int32_t)((b * 5) % (T + 1));
    for (int reverse = 0; reverse < 2; reverse++) {
        float *gx = rand_array(B * T * G, -2, 2), *w = rand_array(G * H, -1, 1);
        float *dout = rand_array(B * T * H, -1, 1);
        float *h1 = rand_array(B * T * H, -1, 1), *h2 = copy_array(h1, B * T * H);
        float *a1 = rand_array(B * T * G, -1, 1), *a2 = copy_array(a1, B * T * G);
        float *c1 = rand_array(B * T * H, -1, 1), *c2 = copy_array(c1, B * T * H);
        float *s1 = rand_array(B * 7 * H, -1, 1), *s2 = rand_array(B * 7 * H, -1, 1);
        float *dx1 = rand_array(B * T * G, -1, 1), *dx2 = copy_array(dx1, B * T * G);
        float *dw1 = rand_array(G * H, -1, 1), *dw2 = copy_array(dw1, G * H);
        tc__lstm_args a = {gx, w, len, B, T, H, reverse};

        tc__lstm_forward_ref(&a, h1, a1, c1, s1);
        tc__lstm_forward_fast(&a, h2, a2, c2, s2);
        CHECK_CLOSE("lstm forward h", h2, h1, B * T * H, 1e-5, 1e-5);
        CHECK_CLOSE("lstm forward cells", c2, c1, B * T * H, 1e-5, 1e-5);
        tc__lstm_backward_ref(&a, dx1, dw1, dout, h1, a1, c1, s1);
        tc__lstm_backward_fast(&a, dx2, dw2, dout, h1, a1, c1, s2);
        CHECK_CLOSE("lstm backward dgx", dx2, dx1, B * T * G, 1e-4, 1e-5);
        CHECK_CLOSE("lstm backward dw_hh", dw2, dw1, G * H, 1e-4, 2e-6 * (double)(B * T));
        /* without dw_hh (w_hh needs no gradient) */
        tc__lstm_backward_ref(&a, dx1, NULL, dout, h1, a1, c1, s1);
        tc__lstm_backward_fast(&a, dx2, NULL, dout, h1, a1, c1, s2);
        CHECK_CLOSE("lstm backward dgx only", dx2, dx1, B * T * G, 1e-4, 2e-5);
        free(gx), free(w), free(dout), free(h1), free(h2), free(a1), free(a2), free(c1);
        free(c2), free(s1), free(s2), free(dx1), free(dx2), free(dw1), free(dw2);
    }
}

/* torch.nn.Embedding(padding_idx=0): the padding row is read but gets no gradient. */
static void test_sdk_ops__embedding_padding_idx(void)
{
    const int32_t ids[5] = {1, 0, 2, 0, 1};
    const int64_t shape[2] = {4, 3};
    tc_params *p = NULL;
    tc_tensor *table = NULL, *out, *loss;
    tc_graph *g = NULL;

    TC_CHECK_OK(tc_params_new(&p));
    TC_CHECK_OK(tc_params_add(p, &table, "table", 2, shape, 0));
    TC_CHECK_OK(tc_graph_new(&g, 0));
    if (!table || !g)
        goto out;
    for (int64_t i = 0; i < 12; i++)
        table->data[i] = (float)i;
    for (int padded = 0; padded < 2; padded++) {
        tc_params_zero_grad(p);
        tc_graph_reset(g);
        out = padded ? tc_embedding_padded(g, table, ids, 5, 0) : tc_embedding(g, table, ids, 5);
        loss = tc_sum(g, out);
        TC_CHECK(out && out->data[3] == 0.0f && out->data[4] == 1.0f); /* row 1 reads the pad row */
        TC_CHECK_OK(tc_backward(g, loss));
        TC_CHECK(table->grad[0] == (padded ? 0.0f : 2.0f)); /* two pad positions */
        TC_CHECK(table->grad[3] == 2.0f && table->grad[6] == 1.0f && table->grad[9] == 0.0f);
    }
out:
    tc_graph_free(g);
    tc_params_free(p);
}

/* The same comparisons with every fast kernel forced onto its OpenMP path. */
static void test_sdk_ops__fast_parallel(void)
{
    tc__kernels_set_par_min(1);
    test_sdk_ops__fast_bias_add();
    test_sdk_ops__fast_activations();
    test_sdk_ops__fast_elementwise();
    test_sdk_ops__fast_softmax();
    test_sdk_ops__fast_cross_entropy();
    test_sdk_ops__fast_dropout_embedding_sum();
    test_sdk_ops__fast_layer_norm();
    tc__kernels_set_par_min(-1);
}

/* ---- finite-difference gradient checks through the public ops ---- */

#define GC_MAX_IN 4
#define GC_MAX_POINTS 48

typedef struct gc_input {
    int32_t ndim;
    int64_t shape[TC_MAX_DIMS];
    float lo, hi;   /* uniform range of the data */
    int grad;       /* requires a gradient */
    int avoid_zero; /* keep |x| >= 0.1: away from the relu kink */
} gc_input;

typedef tc_tensor *(*gc_forward)(tc_graph *g, tc_tensor **in, const void *ctx);

static tc_rng gc_rng; /* dropout's RNG, re-seeded before every forward */

/* Create the leaves from data and run f; NULL on failure. */
static tc_tensor *gc_run(tc_graph *g, gc_forward f, const void *ctx, int nin, const gc_input *spec,
                         float **data, tc_tensor **in)
{
    tc_graph_reset(g);
    tc_rng_init(&gc_rng, 1234, TC_RNG_STREAM_DROPOUT);
    for (int i = 0; i < nin; i++) {
        in[i] = tc_tensor_from(g, spec[i].ndim, spec[i].shape, data[i]);
        if (!in[i])
            return NULL;
        if (spec[i].grad)
            in[i]->flags |= TC_TENSOR_REQUIRES_GRAD;
    }
    return f(g, in, ctx);
}

/* sum(out * w) in double */
static double gc_loss(const tc_tensor *out, const float *w)
{
    double acc = 0.0;

    for (int64_t k = 0; k < out->numel; k++)
        acc += (double)out->data[k] * (double)w[k];
    return acc;
}

static void gc_check_input(const char *name, tc_graph *g, gc_forward f, const void *ctx, int nin,
                           const gc_input *spec, float **data, int i, const float *ana,
                           const float *w, float eps, double rtol)
{
    tc_tensor *in[GC_MAX_IN], *out;
    int64_t numel = tc_shape_numel(spec[i].ndim, spec[i].shape);
    int64_t step = numel > GC_MAX_POINTS ? numel / GC_MAX_POINTS : 1;
    const double atol = 2e-3;

    for (int64_t j = 0; j < numel; j += step) {
        float orig = data[i][j], xp = orig + eps, xm = orig - eps;
        double lp, lm, num;
        data[i][j] = xp;
        out = gc_run(g, f, ctx, nin, spec, data, in);
        lp = out ? gc_loss(out, w) : NAN;
        data[i][j] = xm;
        out = gc_run(g, f, ctx, nin, spec, data, in);
        lm = out ? gc_loss(out, w) : NAN;
        data[i][j] = orig;
        num = (lp - lm) / ((double)xp - (double)xm);
        if (!(fabs(num - ana[j]) <= atol + rtol * fmax(fabs(num), fabs(ana[j])))) {
            fprintf(stderr,
                    "gradcheck %s (%s kernels): input %d [%lld]: analytic %.7g, "
                    "numeric %.7g\n",
                    name, tc__kernels_active()->name, i, (long long)j, (double)ana[j], num);
            tc_test_failed_checks++;
        }
    }
}

static void gc_one(const char *name, gc_forward f, const void *ctx, int nin, const gc_input *spec,
                   float eps, double rtol)
{
    tc_graph *g = NULL;
    tc_tensor *in[GC_MAX_IN], *out, *wt, *loss;
    float *data[GC_MAX_IN] = {NULL}, *ana[GC_MAX_IN] = {NULL}, *w = NULL;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    tc_graph_set_rng(g, &gc_rng);
    data_seed(0x5eed);
    for (int i = 0; i < nin; i++) {
        int64_t numel = tc_shape_numel(spec[i].ndim, spec[i].shape);
        data[i] = rand_array(numel, spec[i].lo, spec[i].hi);
        for (int64_t j = 0; spec[i].avoid_zero && j < numel; j++)
            if (fabsf(data[i][j]) < 0.1f)
                data[i][j] += data[i][j] < 0 ? -0.1f : 0.1f;
    }
    out = gc_run(g, f, ctx, nin, spec, data, in);
    TC_CHECK(out != NULL);
    if (!out) {
        fprintf(stderr, "gradcheck %s: forward failed: %s\n", name, tc_error_message());
        goto out;
    }
    w = rand_array(out->numel, -1, 1);
    wt = tc_tensor_from(g, out->ndim, out->shape, w);
    loss = tc_sum(g, tc_mul(g, out, wt));
    TC_CHECK_OK(tc_backward(g, loss));
    for (int i = 0; i < nin; i++) {
        int64_t numel = in[i]->numel;
        ana[i] = calloc((size_t)(numel > 0 ? numel : 1), sizeof(float));
        if (in[i]->grad)
            memcpy(ana[i], in[i]->grad, (size_t)numel * sizeof(float));
        TC_CHECK(!spec[i].grad || in[i]->grad != NULL);
    }
    for (int i = 0; i < nin; i++)
        if (spec[i].grad)
            gc_check_input(name, g, f, ctx, nin, spec, data, i, ana[i], w, eps, rtol);
out:
    for (int i = 0; i < nin; i++)
        free(data[i]), free(ana[i]);
    free(w);
    tc_graph_free(g);
}

/* Check with the reference kernels and with the fast ones. */
static void gradcheck(const char *name, gc_forward f, const void *ctx, int nin,
                      const gc_input *spec)
{
    tc__kernels_select(&tc__kernels_ref);
    gc_one(name, f, ctx, nin, spec, 1e-2f, 1e-2);
    tc__kernels_select(&tc__kernels_fast);
    gc_one(name, f, ctx, nin, spec, 1e-2f, 1e-2);
    tc__kernels_select(NULL);
}

#define IN1(a)                                                                                     \
    {                                                                                              \
        1, {a}, -1, 1, 1, 0                                                                        \
    }
#define IN2(a, b)                                                                                  \
    {                                                                                              \
        2, {a, b}, -1, 1, 1, 0                                                                     \
    }

static tc_tensor *f_matmul(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_matmul(g, in[0], in[1]);
}

static tc_tensor *f_linear(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_linear(g, in[0], in[1], ctx ? in[2] : NULL);
}

static tc_tensor *f_bias_add(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_bias_add(g, in[0], in[1]);
}

static void test_sdk_ops__grad_matmul_linear(void)
{
    gc_input mm[2] = {IN2(3, 4), IN2(4, 5)};
    gc_input lin[3] = {{3, {2, 3, 4}, -1, 1, 1, 0}, IN2(5, 4), IN1(5)};
    gc_input ba[2] = {{3, {2, 3, 4}, -1, 1, 1, 0}, IN1(4)};

    gradcheck("matmul", f_matmul, NULL, 2, mm);
    mm[0].grad = 0; /* only b */
    gradcheck("matmul (b only)", f_matmul, NULL, 2, mm);
    gradcheck("linear", f_linear, "bias", 3, lin);
    gradcheck("linear (no bias)", f_linear, NULL, 2, lin);
    lin[1].grad = 0; /* frozen weight, gradient to x only */
    gradcheck("linear (x and bias)", f_linear, "bias", 3, lin);
    gradcheck("bias_add", f_bias_add, NULL, 2, ba);
}

static tc_tensor *f_add(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_add(g, in[0], ctx ? in[0] : in[1]);
}

static tc_tensor *f_mul(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_mul(g, in[0], ctx ? in[0] : in[1]);
}

static tc_tensor *f_scale(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_scale(g, in[0], -1.7f);
}

static tc_tensor *f_sum(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return ctx ? tc_mean(g, in[0]) : tc_sum(g, in[0]);
}

static tc_tensor *f_reshape(tc_graph *g, tc_tensor **in, const void *ctx)
{
    int64_t shape[2] = {3, 4};

    /* the view's gradient flows through the tanh back to x */
    return tc_tanh(g, tc_reshape(g, in[0], 2, shape));
}

static void test_sdk_ops__grad_elementwise(void)
{
    gc_input two[2] = {IN2(2, 3), IN2(2, 3)};
    gc_input one[1] = {IN2(3, 4)};
    gc_input flat[1] = {{3, {2, 3, 2}, -1, 1, 1, 0}};

    gradcheck("add", f_add, NULL, 2, two);
    gradcheck("add (a + a)", f_add, "same", 1, two);
    gradcheck("mul", f_mul, NULL, 2, two);
    gradcheck("mul (a * a)", f_mul, "same", 1, two);
    two[1].grad = 0;
    gradcheck("mul (a only)", f_mul, NULL, 2, two);
    gradcheck("scale", f_scale, NULL, 1, one);
    gradcheck("sum", f_sum, NULL, 1, one);
    gradcheck("mean", f_sum, "mean", 1, one);
    gradcheck("reshape", f_reshape, NULL, 1, flat);
}

typedef tc_tensor *(*unary_op)(tc_graph *g, tc_tensor *x);

static tc_tensor *f_unary(tc_graph *g, tc_tensor **in, const void *ctx)
{
    unary_op op = *(const unary_op *)ctx;

    return op(g, in[0]);
}

static void test_sdk_ops__grad_activations(void)
{
    unary_op ops[4] = {tc_relu, tc_gelu, tc_tanh, tc_sigmoid};
    const char *names[4] = {"relu", "gelu", "tanh", "sigmoid"};
    gc_input x[1] = {{2, {4, 5}, -3, 3, 1, 1}};

    for (int i = 0; i < 4; i++)
        gradcheck(names[i], f_unary, &ops[i], 1, x);
}

static tc_tensor *f_softmax(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_softmax(g, in[0]);
}

static tc_tensor *f_cross_entropy(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_cross_entropy(g, in[0], ctx);
}

static tc_tensor *f_dropout(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_dropout(g, in[0], 0.3f);
}

static tc_tensor *f_embedding(tc_graph *g, tc_tensor **in, const void *ctx)
{
    static const int32_t ids[5] = {1, 4, 1, 0, 1};

    return tc_embedding(g, in[0], ids, 5);
}

static tc_tensor *f_layer_norm(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return ctx ? tc_layer_norm(g, in[0], in[1], in[2], 1e-5f)
               : tc_layer_norm(g, in[0], NULL, NULL, 1e-5f);
}

static void test_sdk_ops__grad_rowwise(void)
{
    static const int32_t labels[4] = {1, TC_IGNORE_INDEX, 4, 0};
    gc_input sm[1] = {{2, {3, 5}, -2, 2, 1, 0}};
    gc_input ce[1] = {{2, {4, 5}, -2, 2, 1, 0}};
    gc_input dr[1] = {{2, {4, 6}, -1, 1, 1, 0}};
    gc_input emb[1] = {IN2(5, 3)};
    gc_input ln[3] = {{2, {3, 6}, -2, 2, 1, 0}, {1, {6}, 0.5f, 1.5f, 1, 0}, IN1(6)};

    gradcheck("softmax", f_softmax, NULL, 1, sm);
    gradcheck("cross_entropy", f_cross_entropy, labels, 1, ce);
    gradcheck("dropout", f_dropout, NULL, 1, dr);
    gradcheck("embedding", f_embedding, NULL, 1, emb);
    gradcheck("layer_norm", f_layer_norm, "affine", 3, ln);
    gradcheck("layer_norm (no affine)", f_layer_norm, NULL, 1, ln);
}

static tc_tensor *f_mlp(tc_graph *g, tc_tensor **in, const void *ctx)
{
    static const int32_t labels[4] = {2, 0, 1, 2};
    tc_tensor *h = tc_gelu(g, tc_linear(g, in[0], in[1], in[2]));

    h = tc_layer_norm(g, h, NULL, NULL, 1e-5f);
    return tc_cross_entropy(g, tc_linear(g, h, in[3], NULL), labels);
}

static void test_sdk_ops__grad_mlp_chain(void)
{
    gc_input spec[4] = {IN2(4, 6), IN2(5, 6), IN1(5), IN2(3, 5)};

    gradcheck("mlp", f_mlp, NULL, 4, spec);
}

/* ---- values against hand computations ---- */

static void test_sdk_ops__values(void)
{
    tc_graph *g = NULL;
    int64_t s23[2] = {2, 3}, s2[1] = {2};
    float logits[6] = {1, 2, 3, 1, 1, 1}, gx[2] = {1.0f, -1.0f};
    int32_t labels[2] = {2, 0}, ignored[2] = {TC_IGNORE_INDEX, TC_IGNORE_INDEX};
    tc_tensor *t, *y;
    double l0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0, l1 = log(3.0);

    TC_CHECK_OK(tc_graph_new(&g, 0));
    t = tc_tensor_from(g, 2, s23, logits);
    y = tc_cross_entropy(g, t, labels);
    TC_CHECK(y != NULL && y->ndim == 0 && y->numel == 1);
    TC_CHECK_NEAR(y->data[0], (l0 + l1) / 2, 1e-6);
    y = tc_softmax(g, t);
    TC_CHECK_NEAR(y->data[2], exp(3.0) / (exp(1.0) + exp(2.0) + exp(3.0)), 1e-6);
    TC_CHECK_NEAR(y->data[4], 1.0 / 3.0, 1e-6);
    y = tc_gelu(g, tc_tensor_from(g, 1, s2, gx));
    TC_CHECK_NEAR(y->data[0], 0.8413447460685429, 1e-6);
    TC_CHECK_NEAR(y->data[1], -0.15865525393145707, 1e-6);
    y = tc_layer_norm(g, t, NULL, NULL, 0.0f);
    TC_CHECK_NEAR(y->data[0], -1.224744871391589, 1e-5); /* biased variance: 2/3 */
    TC_CHECK_NEAR(y->data[2], 1.224744871391589, 1e-5);
    y = tc_mean(g, t);
    TC_CHECK_NEAR(y->data[0], 9.0 / 6.0, 1e-6);

    /* every label ignored: loss 0 and no gradient */
    t->flags |= TC_TENSOR_REQUIRES_GRAD;
    y = tc_cross_entropy(g, t, ignored);
    TC_CHECK(y != NULL && y->data[0] == 0.0f);
    TC_CHECK_OK(tc_backward(g, y));
    for (int i = 0; i < 6; i++)
        TC_CHECK(t->grad[i] == 0.0f);
    tc_graph_free(g);
}

static void test_sdk_ops__cross_entropy_ignore_index(void)
{
    tc_graph *g = NULL;
    int64_t shape[2] = {3, 4};
    float logits[12] = {0.5f, -1, 2, 0, 1, 1, 1, 1, -2, 0.25f, 3, 0.5f};
    int32_t labels[3] = {2, TC_IGNORE_INDEX, 0};
    tc_tensor *t, *y;
    double want = 0.0;

    for (int b = 0; b < 3; b += 2) {
        double s = 0.0;
        for (int c = 0; c < 4; c++)
            s += exp(logits[b * 4 + c]);
        want += (log(s) - logits[b * 4 + labels[b]]) / 2.0;
    }
    TC_CHECK_OK(tc_graph_new(&g, 0));
    t = tc_tensor_from(g, 2, shape, logits);
    t->flags |= TC_TENSOR_REQUIRES_GRAD;
    y = tc_cross_entropy(g, t, labels);
    TC_CHECK_NEAR(y->data[0], want, 1e-6);
    labels[0] = 3; /* the labels were copied: changing them now changes nothing */
    TC_CHECK_OK(tc_backward(g, y));
    for (int c = 0; c < 4; c++)
        TC_CHECK(t->grad[4 + c] == 0.0f);
    TC_CHECK(t->grad[2] < 0.0f && t->grad[8] < 0.0f && t->grad[0] > 0.0f);
    tc_graph_free(g);
}

static void test_sdk_ops__dropout(void)
{
    tc_graph *g = NULL;
    tc_rng rng;
    tc_tensor *x, *y, *y2;
    int64_t zeros = 0, n = 10000;
    float *first;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    tc_rng_init(&rng, 42, TC_RNG_STREAM_DROPOUT);
    tc_graph_set_rng(g, &rng);
    x = tc_tensor_new2d(g, 100, 100);
    for (int64_t i = 0; i < n; i++)
        x->data[i] = 1.0f;
    y = tc_dropout(g, x, 0.25f);
    TC_CHECK(y != NULL && y != x);
    for (int64_t i = 0; i < n; i++) {
        if (y->data[i] == 0.0f)
            zeros++;
        else
            TC_CHECK(fabsf(y->data[i] - 1.0f / 0.75f) < 1e-6f);
    }
    TC_CHECK(zeros > 2300 && zeros < 2700);
    first = copy_array(y->data, n);
    /* the same RNG state gives the same mask, with either kernel table */
    tc__kernels_select(&tc__kernels_ref);
    tc_rng_init(&rng, 42, TC_RNG_STREAM_DROPOUT);
    y2 = tc_dropout(g, x, 0.25f);
    tc__kernels_select(NULL);
    TC_CHECK(y2 != NULL && memcmp(first, y2->data, (size_t)n * sizeof(float)) == 0);
    /* the next draw differs */
    y2 = tc_dropout(g, x, 0.25f);
    TC_CHECK(y2 != NULL && memcmp(first, y2->data, (size_t)n * sizeof(float)) != 0);
    /* p = 0 and evaluation mode: the identity */
    TC_CHECK(tc_dropout(g, x, 0.0f) == x);
    tc_graph_set_training(g, 0);
    TC_CHECK(tc_dropout(g, x, 0.5f) == x);
    /* p outside [0, 1) */
    TC_CHECK(tc_dropout(g, x, 1.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_dropout: p = 1 is outside [0, 1)");
    TC_CHECK(tc_dropout(g, x, -0.1f) == NULL);
    TC_CHECK(tc_dropout(g, x, NAN) == NULL);
    free(first);
    tc_graph_free(g);
}

/* ---- errors ---- */

static void test_sdk_ops__shape_errors(void)
{
    tc_graph *g = NULL;
    int64_t s3[1] = {3}, s234[3] = {2, 3, 4}, s43[2] = {4, 3};

    TC_CHECK_OK(tc_graph_new(&g, 0));
    TC_CHECK(tc_linear(g, tc_tensor_new2d(g, 2, 784), tc_tensor_new2d(g, 1024, 783), NULL) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "tc_linear: x has 784 features, weight (1024, 783) expects 783");
    TC_CHECK(tc_graph_status(g) == TC_EINVAL);
    tc_graph_reset(g);
    TC_CHECK(tc_linear(g, tc_tensor_new2d(g, 2, 4), tc_tensor_new2d(g, 3, 4),
                       tc_tensor_new1d(g, 4)) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_linear: bias has shape (4), expected (3)");
    TC_CHECK(tc_linear(g, tc_tensor_new2d(g, 2, 4), tc_tensor_new1d(g, 4), NULL) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "weight has shape (4), expected 2-D");
    TC_CHECK(tc_matmul(g, tc_tensor_new2d(g, 2, 3), tc_tensor_new2d(g, 4, 3)) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "a (2, 3) has 3 columns, b (4, 3) has 4 rows");
    TC_CHECK(tc_matmul(g, tc_tensor_new1d(g, 3), tc_tensor_new2d(g, 3, 3)) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "must both be 2-D");
    TC_CHECK(tc_add(g, tc_tensor_new2d(g, 2, 3), tc_tensor_new2d(g, 3, 2)) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "a has shape (2, 3), b has shape (3, 2)");
    TC_CHECK(tc_mul(g, tc_tensor_new(g, 3, s234), tc_tensor_new1d(g, 24)) == NULL);
    TC_CHECK(tc_bias_add(g, tc_tensor_new2d(g, 2, 3), tc_tensor_new1d(g, 2)) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_bias_add: bias has shape (2), expected (3)");
    TC_CHECK(tc_layer_norm(g, tc_tensor_new2d(g, 2, 3), tc_tensor_new1d(g, 4), NULL, 1e-5f) ==
             NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "gamma has shape (4), expected (3)");
    TC_CHECK(tc_layer_norm(g, tc_tensor_new2d(g, 2, 3), NULL, tc_tensor_new2d(g, 1, 3), 1e-5f) ==
             NULL);
    TC_CHECK(tc_layer_norm(g, tc_tensor_new2d(g, 2, 3), NULL, NULL, -1.0f) == NULL);
    TC_CHECK(tc_reshape(g, tc_tensor_new(g, 3, s234), 2, s43) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "cannot view x (2, 3, 4) (24 elements) as (4, 3)");
    TC_CHECK(tc_cross_entropy(g, tc_tensor_new(g, 1, s3), (const int32_t[]){0, 1, 2}) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "expected 2-D (B, C)");
    TC_CHECK(tc_embedding(g, tc_tensor_new1d(g, 3), (const int32_t[]){0}, 1) == NULL);
    TC_CHECK(tc_softmax(g, tc_tensor_new(g, 0, NULL)) == NULL);
    TC_CHECK(tc_graph_status(g) == TC_EINVAL);
    /* a graph of NULL */
    TC_CHECK(tc_relu(NULL, tc_tensor_new1d(g, 2)) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_relu: graph is NULL");
    tc_graph_free(g);
}

static void test_sdk_ops__null_propagation(void)
{
    tc_graph *g = NULL;
    tc_tensor *x, *h, *loss;
    int32_t labels[2] = {0, 1};
    int64_t ten[1] = {10};

    TC_CHECK_OK(tc_graph_new(&g, 0));
    /* a NULL from outside the graph's ops gets a message */
    TC_CHECK(tc_relu(g, NULL) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_relu: 'x' is NULL");
    TC_CHECK(tc_graph_status(g) == TC_EINVAL);
    tc_graph_reset(g);

    /* the first failure's message survives the chain */
    x = tc_tensor_new2d(g, 2, 5);
    h = tc_linear(g, x, tc_tensor_new2d(g, 3, 4), NULL);
    h = tc_relu(g, h);
    h = tc_linear(g, h, tc_tensor_new2d(g, 2, 3), NULL);
    loss = tc_cross_entropy(g, h, labels);
    TC_CHECK(loss == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_linear: x has 5 features");
    TC_CHECK(tc_graph_status(g) == TC_EINVAL);
    TC_CHECK_ERR(tc_backward(g, loss), TC_EINVAL);
    for (int i = 0; i < 2; i++) {
        TC_CHECK(tc_add(g, i ? NULL : x, i ? x : NULL) == NULL);
        TC_CHECK(tc_mul(g, NULL, NULL) == NULL);
        TC_CHECK(tc_matmul(g, NULL, x) == NULL);
        TC_CHECK(tc_bias_add(g, x, NULL) == NULL);
        TC_CHECK(tc_scale(g, NULL, 2.0f) == NULL);
        TC_CHECK(tc_gelu(g, NULL) == NULL);
        TC_CHECK(tc_tanh(g, NULL) == NULL);
        TC_CHECK(tc_sigmoid(g, NULL) == NULL);
        TC_CHECK(tc_softmax(g, NULL) == NULL);
        TC_CHECK(tc_dropout(g, NULL, 0.1f) == NULL);
        TC_CHECK(tc_embedding(g, NULL, labels, 2) == NULL);
        TC_CHECK(tc_sum(g, NULL) == NULL);
        TC_CHECK(tc_mean(g, NULL) == NULL);
        TC_CHECK(tc_layer_norm(g, NULL, NULL, NULL, 1e-5f) == NULL);
        TC_CHECK(tc_reshape(g, NULL, 1, ten) == NULL);
    }
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_linear: x has 5 features");
    tc_graph_free(g);
}

static void test_sdk_ops__range_errors(void)
{
    tc_graph *g = NULL;
    tc_tensor *logits, *table;
    int32_t labels[3] = {1, 10, 2}, neg[2] = {0, -5}, ids[3] = {0, 2, 7};

    TC_CHECK_OK(tc_graph_new(&g, 0));
    logits = tc_tensor_new2d(g, 3, 10);
    TC_CHECK(tc_cross_entropy(g, logits, labels) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "label 10 at row 1 is outside [0, 10)");
    TC_CHECK(tc_error_last() && tc_error_last()->code == TC_ERANGE);
    TC_CHECK(tc_graph_status(g) == TC_ERANGE);
    tc_graph_reset(g);
    logits = tc_tensor_new2d(g, 2, 10);
    TC_CHECK(tc_cross_entropy(g, logits, neg) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "label -5 at row 1");
    TC_CHECK(tc_cross_entropy(g, logits, NULL) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "labels are NULL");
    table = tc_tensor_new2d(g, 5, 4);
    TC_CHECK(tc_embedding(g, table, ids, 3) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "id 7 at position 2 is outside [0, 5)");
    TC_CHECK(tc_error_last() && tc_error_last()->code == TC_ERANGE);
    TC_CHECK(tc_embedding(g, table, NULL, 3) == NULL);
    TC_CHECK(tc_embedding(g, table, ids, -1) == NULL);
    TC_CHECK(tc_embedding(g, table, ids, 2) != NULL);
    TC_CHECK(tc_embedding(g, table, NULL, 0) != NULL);
    tc_graph_free(g);
}

static void test_sdk_ops__eval_mode(void)
{
    tc_graph *g = NULL;
    tc_tensor *x, *w, *y;
    tc_rng rng;
    int32_t labels[2] = {0, 1};

    TC_CHECK_OK(tc_graph_new(&g, 0));
    tc_rng_init(&rng, 3, TC_RNG_STREAM_DROPOUT);
    tc_graph_set_rng(g, &rng);
    tc_graph_set_training(g, 0);
    x = tc_tensor_new2d(g, 2, 3);
    w = tc_tensor_new2d(g, 2, 3);
    w->flags |= TC_TENSOR_REQUIRES_GRAD;
    y = tc_dropout(g, tc_linear(g, x, w, NULL), 0.5f);
    TC_CHECK(y != NULL && y->node == NULL && !(y->flags & TC_TENSOR_REQUIRES_GRAD));
    y = tc_cross_entropy(g, y, labels);
    TC_CHECK(y != NULL && y->node == NULL);
    TC_CHECK_NEAR(y->data[0], log(2.0), 1e-6);
    TC_CHECK_ERR(tc_backward(g, y), TC_EINVAL);
    TC_CHECK(w->grad == NULL);
    /* the same ops in training mode record nodes */
    tc_graph_set_training(g, 1);
    y = tc_linear(g, x, w, NULL);
    TC_CHECK(y != NULL && y->node != NULL && (y->flags & TC_TENSOR_REQUIRES_GRAD));
    tc_graph_free(g);
}

static void test_sdk_ops__empty_tensors(void)
{
    tc_graph *g = NULL;
    tc_tensor *x, *w, *y;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    x = tc_tensor_new2d(g, 0, 4);
    w = tc_tensor_new2d(g, 3, 4);
    w->flags |= TC_TENSOR_REQUIRES_GRAD;
    y = tc_linear(g, x, w, NULL);
    TC_CHECK(y != NULL && y->shape[0] == 0 && y->shape[1] == 3);
    TC_CHECK(tc_softmax(g, y) != NULL && tc_relu(g, y) != NULL);
    y = tc_sum(g, y);
    TC_CHECK(y != NULL && y->data[0] == 0.0f);
    TC_CHECK_OK(tc_backward(g, y));
    /* K = 0: out is the bias */
    x = tc_tensor_new2d(g, 2, 0);
    w = tc_tensor_new2d(g, 3, 0);
    y = tc_linear(g, x, w, tc_tensor_new1d(g, 3));
    TC_CHECK(y != NULL && y->numel == 6 && y->data[5] == 0.0f);
    TC_CHECK(tc_graph_status(g) == TC_OK);
    tc_graph_free(g);
}

/* ---- sequence ops: embedding bag, LSTM, select_steps, concat ---- */

static const int32_t seq_bag_ids[] = {1, 4, 4, 5, 0, 2};
static const int64_t seq_bag_offsets[] = {0, 3, 3, 6}; /* the middle bag is empty */
static const int32_t seq_lengths[] = {4, 2, 0};
static const int32_t seq_index[] = {3, 1, 0};

static tc_tensor *f_bag(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_embedding_bag(g, in[0], seq_bag_ids, seq_bag_offsets, 3, ctx != NULL);
}

static tc_tensor *f_lstm(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_lstm(g, in[0], in[1], seq_lengths, ctx != NULL);
}

static tc_tensor *f_select(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_select_steps(g, in[0], seq_index);
}

static tc_tensor *f_concat(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_concat(g, in[0], in[1]);
}

static void test_sdk_ops__grad_sequence(void)
{
    gc_input bag[1] = {IN2(6, 3)};
    gc_input lstm[2] = {{3, {3, 4, 8}, -1.5f, 1.5f, 1, 0}, IN2(8, 2)};
    gc_input sel[1] = {{3, {3, 4, 2}, -1, 1, 1, 0}};
    gc_input cat[2] = {{3, {2, 2, 3}, -1, 1, 1, 0}, {3, {2, 2, 1}, -1, 1, 1, 0}};

    gradcheck("embedding_bag (sum)", f_bag, NULL, 1, bag);
    gradcheck("embedding_bag (mean)", f_bag, "mean", 1, bag);
    gradcheck("lstm", f_lstm, NULL, 2, lstm);
    gradcheck("lstm (reverse)", f_lstm, "reverse", 2, lstm);
    gradcheck("select_steps", f_select, NULL, 1, sel);
    gradcheck("concat", f_concat, NULL, 2, cat);
}

/* One fixture array "name n v..." into a new float array of exactly n values. */
static float *seq_array(const char *text, const char *name, int64_t n)
{
    char key[64];
    const char *p;
    float *v;
    long long got;
    int used;

    snprintf(key, sizeof(key), "\n%s ", name);
    p = strstr(text, key);
    if (!p || sscanf(p + strlen(key), "%lld%n", &got, &used) != 1 || got != n) {
        fprintf(stderr, "seq fixture: no array '%s' of %lld values\n", name, (long long)n);
        return NULL;
    }
    p += strlen(key) + used;
    v = calloc((size_t)n, sizeof(float));
    for (int64_t i = 0; v && i < n; i++) {
        char *end;
        v[i] = strtof(p, &end);
        if (end == p) {
            free(v);
            return NULL;
        }
        p = end;
    }
    return v;
}

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (s = calloc((size_t)n + 2, 1))) {
        s[0] = '\n'; /* so every name, the first included, follows a newline */
        if (fread(s + 1, 1, (size_t)n, f) != (size_t)n) {
            free(s);
            s = NULL;
        }
    }
    fclose(f);
    return s;
}

/* |got - want| <= atol + rtol |want| everywhere; counts failures. */
static void seq_close(const char *what, const float *got, const float *want, int64_t n, double atol,
                      double rtol)
{
    for (int64_t i = 0; i < n; i++) {
        if (!(fabs((double)got[i] - want[i]) <= atol + rtol * fabs(want[i]))) {
            fprintf(stderr, "%s (%s kernels) [%lld]: got %.8g, torch %.8g\n", what,
                    tc__kernels_active()->name, (long long)i, (double)got[i], (double)want[i]);
            tc_test_failed_checks++;
            return;
        }
    }
}

/* A bidirectional LSTM and an EmbeddingBag against torch (tests/sdk/gen_seq_fixture.py). */
static void seq_torch_once(const char *text)
{
    enum { B = 3, T = 5, H = 4, G = 16 };
    const int64_t gx_shape[3] = {B, T, G}, w_shape[2] = {G, H}, ho_shape[3] = {B, T, 2 * H};
    float *gxv = seq_array(text, "gx", B * T * G), *w = seq_array(text, "w_hh", G * H);
    float *wr = seq_array(text, "w_hh_rev", G * H), *wout = seq_array(text, "wout", B * T * 2 * H);
    float *h = seq_array(text, "h", B * T * 2 * H), *dgx = seq_array(text, "dgx", B * T * G);
    float *dw = seq_array(text, "dw_hh", G * H), *dwr = seq_array(text, "dw_hh_rev", G * H);
    float *lenf = seq_array(text, "lengths", B), *table = seq_array(text, "bag_table", 21);
    float *bw = seq_array(text, "bag_wout", 9), *bout = seq_array(text, "bag_out", 9);
    float *bd = seq_array(text, "bag_dtable", 21);
    int32_t len[B];
    tc_graph *g = NULL;

    TC_CHECK(gxv && w && wr && wout && h && dgx && dw && dwr && lenf && table && bw && bout && bd);
    if (gxv && w && wr && wout && h && dgx && dw && dwr && lenf && table && bw && bout && bd &&
        tc_graph_new(&g, 0) == TC_OK) {
        tc_tensor *x, *wf, *wb, *hf, *hb, *both, *loss, *tb, *y;
        for (int b = 0; b < B; b++)
            len[b] = (int32_t)lenf[b];
        x = tc_tensor_from(g, 3, gx_shape, gxv);
        wf = tc_tensor_from(g, 2, w_shape, w);
        wb = tc_tensor_from(g, 2, w_shape, wr);
        x->flags |= TC_TENSOR_REQUIRES_GRAD;
        wf->flags |= TC_TENSOR_REQUIRES_GRAD;
        wb->flags |= TC_TENSOR_REQUIRES_GRAD;
        hf = tc_lstm(g, x, wf, len, 0);
        hb = tc_lstm(g, x, wb, len, 1);
        both = tc_concat(g, hf, hb);
        loss = tc_sum(g, tc_mul(g, both, tc_tensor_from(g, 3, ho_shape, wout)));
        TC_CHECK_OK(tc_backward(g, loss));
        if (both && x->grad && wf->grad && wb->grad) {
            seq_close("lstm h vs torch", both->data, h, B * T * 2 * H, 1e-6, 1e-5);
            seq_close("lstm dgx vs torch", x->grad, dgx, B * T * G, 1e-6, 1e-4);
            seq_close("lstm dw_hh vs torch", wf->grad, dw, G * H, 1e-6, 1e-4);
            seq_close("lstm dw_hh (reverse) vs torch", wb->grad, dwr, G * H, 1e-6, 1e-4);
        } else {
            TC_CHECK(0);
        }
        tc_graph_reset(g);
        {
            const int64_t ts[2] = {7, 3}, ws[2] = {3, 3};
            static const int32_t ids[] = {1, 4, 4, 6, 0, 2};
            static const int64_t offs[] = {0, 3, 3, 6};
            tb = tc_tensor_from(g, 2, ts, table);
            tb->flags |= TC_TENSOR_REQUIRES_GRAD;
            y = tc_embedding_bag(g, tb, ids, offs, 3, 1);
            loss = tc_sum(g, tc_mul(g, y, tc_tensor_from(g, 2, ws, bw)));
            TC_CHECK_OK(tc_backward(g, loss));
            if (y && tb->grad) {
                seq_close("embedding_bag vs torch", y->data, bout, 9, 1e-7, 1e-6);
                seq_close("embedding_bag dtable vs torch", tb->grad, bd, 21, 1e-7, 1e-6);
            } else {
                TC_CHECK(0);
            }
        }
    }
    tc_graph_free(g);
    free(gxv), free(w), free(wr), free(wout), free(h), free(dgx), free(dw), free(dwr);
    free(lenf), free(table), free(bw), free(bout), free(bd);
}

static void test_sdk_ops__sequence_vs_torch(void)
{
    char *text = read_text_file(TC_TEST_DATA_DIR "/seq_fixture.txt");

    TC_CHECK(text != NULL);
    if (!text)
        return;
    tc__kernels_select(&tc__kernels_ref);
    seq_torch_once(text);
    tc__kernels_select(&tc__kernels_fast);
    seq_torch_once(text);
    tc__kernels_select(NULL);
    free(text);
}

/* Malformed arguments of the sequence ops: errors naming what is wrong, no output. */
static void test_sdk_ops__sequence_errors(void)
{
    tc_graph *g = NULL;
    const int64_t s3[3] = {2, 3, 8}, w2[2] = {8, 2}, bad[2] = {8, 3}, t2[2] = {4, 2};
    const int32_t len_bad[2] = {1, 4}, ids_bad[2] = {0, 9};
    const int64_t off_dec[3] = {0, 2, 1}, off_ok[3] = {0, 1, 2};

    TC_CHECK_OK(tc_graph_new(&g, 0));
    TC_CHECK(tc_lstm(g, tc_tensor_new(g, 3, s3), tc_tensor_new(g, 2, bad), len_bad, 0) == NULL);
    TC_CHECK(strstr(tc_error_message(), "expected (4H, H)") != NULL);
    tc_graph_reset(g);
    TC_CHECK(tc_lstm(g, tc_tensor_new(g, 3, s3), tc_tensor_new(g, 2, w2), len_bad, 0) == NULL);
    TC_CHECK(strstr(tc_error_message(), "lengths[1] = 4 is outside [0, 3]") != NULL);
    tc_graph_reset(g);
    TC_CHECK(tc_embedding_bag(g, tc_tensor_new(g, 2, t2), ids_bad, off_ok, 2, 1) == NULL);
    TC_CHECK(strstr(tc_error_message(), "id 9 at position 1") != NULL);
    tc_graph_reset(g);
    TC_CHECK(tc_embedding_bag(g, tc_tensor_new(g, 2, t2), ids_bad, off_dec, 2, 1) == NULL);
    TC_CHECK(strstr(tc_error_message(), "offsets decrease") != NULL);
    tc_graph_reset(g);
    TC_CHECK(tc_select_steps(g, tc_tensor_new(g, 3, s3), len_bad) == NULL);
    TC_CHECK(strstr(tc_error_message(), "index[1] = 4 is outside [0, 3)") != NULL);
    tc_graph_reset(g);
    TC_CHECK(tc_concat(g, tc_tensor_new(g, 3, s3), tc_tensor_new(g, 2, w2)) == NULL);
    TC_CHECK(strstr(tc_error_message(), "same leading shape") != NULL);
    tc_graph_free(g);
}

/* ---- attention ---- */

/* A key mask (B*T) with padded keys, a hole, and batch row 1 fully masked when B > 1. */
static void attn_mask(int32_t *mask, int64_t B, int64_t T)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < T; j++)
            mask[b * T + j] = b == 1 ? 0 : (j < T - b - 1 && j != 2) || j == 0;
}

static void attn_compare(int64_t B, int64_t T, int64_t D, int64_t NH, int with_drop)
{
    const int64_t TT = T * T, hd = D / NH, nq = B * T * 3 * D, no = B * T * D, np = B * NH * TT;
    int32_t *mask = malloc((size_t)(B * T) * sizeof(int32_t));
    uint8_t *drop = malloc((size_t)np);
    float *qkv = rand_array(nq, -2, 2), *dout = rand_array(no, -1, 1);
    float *o1 = rand_array(no, -1, 1), *o2 = rand_array(no, -1, 1);
    float *p1 = rand_array(np, -1, 1), *p2 = rand_array(np, -1, 1);
    float *dq1 = rand_array(nq, -1, 1), *dq2 = copy_array(dq1, nq), *dq0 = copy_array(dq1, nq);
    tc__attn_args a = {qkv, mask, with_drop ? drop : NULL, 1.0f / 0.7f, B, T, D, NH};
    float *s1 = malloc((size_t)tc__attention_scratch(&a) * sizeof(float));
    float *s2 = malloc((size_t)tc__attention_scratch(&a) * sizeof(float));
    double atol = 2e-6 * (double)(T + hd);
    char what[96];

    attn_mask(mask, B, T);
    for (int64_t i = 0; i < np; i++)
        drop[i] = urand(0, 1) >= 0.3f;
    tc__attention_forward_ref(&a, o1, p1, s1);
    tc__attention_forward_fast(&a, o2, p2, s2);
    snprintf(what, sizeof(what), "attention forward (%lld, %lld, %lld, %lld heads, drop %d)",
             (long long)B, (long long)T, (long long)D, (long long)NH, with_drop);
    CHECK_CLOSE(what, o2, o1, no, 1e-4, atol);
    CHECK_CLOSE("attention probs", p2, p1, np, 1e-4, 1e-6);
    tc__attention_backward_ref(&a, dq1, dout, p1, s1);
    tc__attention_backward_fast(&a, dq2, dout, p1, s2);
    CHECK_CLOSE("attention backward dqkv", dq2, dq1, nq, 1e-4, 2 * atol);
    /* masked keys have probability exactly 0; a fully masked row gives zeros, no gradient */
    for (int64_t b = 0; b < B; b++)
        for (int64_t n = 0; n < NH * TT; n++)
            if (!mask[b * T + n % T])
                TC_CHECK(p1[b * NH * TT + n] == 0.0f && p2[b * NH * TT + n] == 0.0f);
    if (B > 1) {
        for (int64_t n = T * D; n < 2 * T * D; n++)
            TC_CHECK(o1[n] == 0.0f && o2[n] == 0.0f);
        TC_CHECK(memcmp(dq1 + T * 3 * D, dq0 + T * 3 * D, (size_t)(T * 3 * D) * sizeof(float)) ==
                 0);
        TC_CHECK(memcmp(dq2 + T * 3 * D, dq0 + T * 3 * D, (size_t)(T * 3 * D) * sizeof(float)) ==
                 0);
    }
    /* without P kept (no gradient wanted) the output is the same */
    tc__attention_forward_fast(&a, o1, NULL, s2);
    TC_CHECK(memcmp(o1, o2, (size_t)no * sizeof(float)) == 0);
    free(mask), free(drop), free(qkv), free(dout), free(o1), free(o2), free(p1), free(p2);
    free(dq0), free(dq1), free(dq2), free(s1), free(s2);
}

static void test_sdk_ops__fast_attention(void)
{
    /* the last shape has enough work to run on several threads */
    const int64_t sizes[3][4] = {{3, 7, 12, 3}, {2, 33, 64, 4}, {4, 64, 128, 4}};

    data_seed(8);
    for (int s = 0; s < 3; s++)
        for (int with_drop = 0; with_drop < 2; with_drop++)
            attn_compare(sizes[s][0], sizes[s][1], sizes[s][2], sizes[s][3], with_drop);
}

/* (3, 4) keys: row 0 has a hole, row 1 only its first key, row 2 none */
static const int32_t attn_gc_mask[12] = {1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0};

static tc_tensor *f_attention(tc_graph *g, tc_tensor **in, const void *ctx)
{
    return tc_attention(g, in[0], 2, attn_gc_mask, ctx ? *(const float *)ctx : 0.0f);
}

static void test_sdk_ops__grad_attention(void)
{
    static const float p = 0.3f;
    gc_input qkv[1] = {{3, {3, 4, 12}, -1.5f, 1.5f, 1, 0}};

    gradcheck("attention", f_attention, NULL, 1, qkv);
    gradcheck("attention (dropout)", f_attention, &p, 1, qkv);
}

/* Attention against HF DistilBERT's eager attention in torch (tests/sdk/gen_attn_fixture.py). */
static void attn_torch_once(const char *text)
{
    enum { B = 2, T = 5, D = 8, NH = 2 };
    const int64_t qs[3] = {B, T, 3 * D}, os[3] = {B, T, D};
    float *maskf = seq_array(text, "mask", B * T), *qkvv = seq_array(text, "qkv", B * T * 3 * D);
    float *wout = seq_array(text, "wout", B * T * D), *want = seq_array(text, "out", B * T * D);
    float *dwant = seq_array(text, "dqkv", B * T * 3 * D);
    int32_t mask[B * T];
    tc_graph *g = NULL;

    TC_CHECK(maskf && qkvv && wout && want && dwant);
    if (maskf && qkvv && wout && want && dwant && tc_graph_new(&g, 0) == TC_OK) {
        tc_tensor *x, *y, *loss;
        for (int i = 0; i < B * T; i++)
            mask[i] = (int32_t)maskf[i];
        x = tc_tensor_from(g, 3, qs, qkvv);
        x->flags |= TC_TENSOR_REQUIRES_GRAD;
        y = tc_attention(g, x, NH, mask, 0.0f);
        loss = tc_sum(g, tc_mul(g, y, tc_tensor_from(g, 3, os, wout)));
        TC_CHECK_OK(tc_backward(g, loss));
        if (y && x->grad) {
            seq_close("attention out vs torch", y->data, want, B * T * D, 1e-5, 0.0);
            seq_close("attention dqkv vs torch", x->grad, dwant, B * T * 3 * D, 1e-5, 0.0);
        } else {
            TC_CHECK(0);
        }
    }
    tc_graph_free(g);
    free(maskf), free(qkvv), free(wout), free(want), free(dwant);
}

static void test_sdk_ops__attention_vs_torch(void)
{
    char *text = read_text_file(TC_TEST_DATA_DIR "/attn_fixture.txt");

    TC_CHECK(text != NULL);
    if (!text)
        return;
    tc__kernels_select(&tc__kernels_ref);
    attn_torch_once(text);
    tc__kernels_select(&tc__kernels_fast);
    attn_torch_once(text);
    tc__kernels_select(NULL);
    free(text);
}

/* Dropout on P: active and reproducible in training mode, ignored in evaluation mode. */
static void test_sdk_ops__attention_dropout(void)
{
    const int64_t shape[3] = {2, 6, 24}, n = 2 * 6 * 8;
    static const int32_t mask[12] = {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1};
    tc_graph *g = NULL;
    tc_rng rng;
    tc_tensor *x, *y0, *y1, *y2, *y;
    float *qkv;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    data_seed(9);
    qkv = rand_array(2 * 6 * 24, -1, 1);
    tc_rng_init(&rng, 42, TC_RNG_STREAM_DROPOUT);
    tc_graph_set_rng(g, &rng);
    x = tc_tensor_from(g, 3, shape, qkv);
    x->flags |= TC_TENSOR_REQUIRES_GRAD;
    tc_graph_set_training(g, 0);
    y0 = tc_attention(g, x, 2, mask, 0.0f);
    y = tc_attention(g, x, 2, mask, 0.5f); /* evaluation: p ignored */
    TC_CHECK(y0 && y && memcmp(y0->data, y->data, (size_t)n * sizeof(float)) == 0);
    tc_graph_set_training(g, 1);
    y = tc_attention(g, x, 2, mask, 0.0f);
    TC_CHECK(y && memcmp(y0->data, y->data, (size_t)n * sizeof(float)) == 0);
    y1 = tc_attention(g, x, 2, mask, 0.5f);
    TC_CHECK(y1 && memcmp(y0->data, y1->data, (size_t)n * sizeof(float)) != 0);
    /* the same RNG state gives the same output; the reference kernels agree */
    tc_rng_init(&rng, 42, TC_RNG_STREAM_DROPOUT);
    y2 = tc_attention(g, x, 2, mask, 0.5f);
    TC_CHECK(y1 && y2 && memcmp(y1->data, y2->data, (size_t)n * sizeof(float)) == 0);
    tc__kernels_select(&tc__kernels_ref);
    tc_rng_init(&rng, 42, TC_RNG_STREAM_DROPOUT);
    y = tc_attention(g, x, 2, mask, 0.5f);
    tc__kernels_select(NULL);
    TC_CHECK(y1 && y);
    if (y1 && y)
        CHECK_CLOSE("attention dropout ref vs fast", y->data, y1->data, n, 1e-5, 1e-6);
    /* the next draw differs */
    y = tc_attention(g, x, 2, mask, 0.5f);
    TC_CHECK(y1 && y && memcmp(y1->data, y->data, (size_t)n * sizeof(float)) != 0);
    /* without an RNG there is no dropout */
    tc_graph_set_rng(g, NULL);
    y = tc_attention(g, x, 2, mask, 0.5f);
    TC_CHECK(y && memcmp(y0->data, y->data, (size_t)n * sizeof(float)) == 0);
    TC_CHECK_OK(tc_graph_status(g));
    free(qkv);
    tc_graph_free(g);
}

static void test_sdk_ops__attention_errors(void)
{
    const int64_t s3[3] = {2, 3, 12}, s2[2] = {6, 12}, s_odd[3] = {2, 3, 15};
    const int32_t bad_mask[6] = {1, 1, 0, 1, 2, 1};
    tc_graph *g = NULL;
    tc_tensor *x;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    TC_CHECK(tc_attention(NULL, tc_tensor_new(g, 3, s3), 2, NULL, 0.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "graph is NULL");
    TC_CHECK(tc_attention(g, NULL, 2, NULL, 0.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_attention: 'qkv' is NULL");
    tc_graph_reset(g);
    TC_CHECK(tc_attention(g, tc_tensor_new(g, 2, s2), 2, NULL, 0.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "qkv has shape (6, 12), expected (B, T, 3D)");
    /* a NULL from a failed op propagates without a new message */
    TC_CHECK(tc_attention(g, NULL, 2, NULL, 0.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "qkv has shape (6, 12)");
    tc_graph_reset(g);
    TC_CHECK(tc_attention(g, tc_tensor_new(g, 3, s_odd), 2, NULL, 0.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "3 * n_heads = 6");
    tc_graph_reset(g);
    TC_CHECK(tc_attention(g, tc_tensor_new(g, 3, s3), 3, NULL, 0.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "qkv has shape (2, 3, 12)");
    tc_graph_reset(g);
    x = tc_tensor_new(g, 3, s3);
    TC_CHECK(tc_attention(g, x, 0, NULL, 0.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "n_heads = 0, expected >= 1");
    tc_graph_reset(g);
    x = tc_tensor_new(g, 3, s3);
    TC_CHECK(tc_attention(g, x, 2, bad_mask, 0.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "key_mask[4] = 2 (row 1, key 1), expected 0 or 1");
    TC_CHECK(tc_graph_status(g) == TC_EINVAL);
    tc_graph_reset(g);
    x = tc_tensor_new(g, 3, s3);
    TC_CHECK(tc_attention(g, x, 2, NULL, 1.0f) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tc_attention: dropout_p = 1 is outside [0, 1)");
    TC_CHECK(tc_attention(g, x, 2, NULL, -0.5f) == NULL);
    TC_CHECK(tc_attention(g, x, 2, NULL, NAN) == NULL);
    tc_graph_reset(g);
    /* zero batch rows: an empty output */
    {
        const int64_t s0[3] = {0, 3, 12};
        tc_tensor *y = tc_attention(g, tc_tensor_new(g, 3, s0), 2, NULL, 0.0f);
        TC_CHECK(y && y->ndim == 3 && y->numel == 0 && y->shape[2] == 4);
    }
    tc_graph_free(g);
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_ops__fast_matmul),
    TC_TEST(test_sdk_ops__fast_linear),
    TC_TEST(test_sdk_ops__fast_bias_add),
    TC_TEST(test_sdk_ops__vmath_accuracy),
    TC_TEST(test_sdk_ops__keep_mask_matches_uniform_loop),
    TC_TEST(test_sdk_ops__fast_activations),
    TC_TEST(test_sdk_ops__fast_elementwise),
    TC_TEST(test_sdk_ops__fast_softmax),
    TC_TEST(test_sdk_ops__fast_cross_entropy),
    TC_TEST(test_sdk_ops__fast_dropout_embedding_sum),
    TC_TEST(test_sdk_ops__fast_layer_norm),
    TC_TEST(test_sdk_ops__fast_lstm),
    TC_TEST(test_sdk_ops__embedding_padding_idx),
    TC_TEST(test_sdk_ops__fast_parallel),
    TC_TEST(test_sdk_ops__grad_matmul_linear),
    TC_TEST(test_sdk_ops__grad_elementwise),
    TC_TEST(test_sdk_ops__grad_activations),
    TC_TEST(test_sdk_ops__grad_rowwise),
    TC_TEST(test_sdk_ops__grad_mlp_chain),
    TC_TEST(test_sdk_ops__values),
    TC_TEST(test_sdk_ops__cross_entropy_ignore_index),
    TC_TEST(test_sdk_ops__dropout),
    TC_TEST(test_sdk_ops__shape_errors),
    TC_TEST(test_sdk_ops__null_propagation),
    TC_TEST(test_sdk_ops__range_errors),
    TC_TEST(test_sdk_ops__eval_mode),
    TC_TEST(test_sdk_ops__empty_tensors),
    TC_TEST(test_sdk_ops__grad_sequence),
    TC_TEST(test_sdk_ops__sequence_vs_torch),
    TC_TEST(test_sdk_ops__sequence_errors),
    TC_TEST(test_sdk_ops__fast_attention),
    TC_TEST(test_sdk_ops__grad_attention),
    TC_TEST(test_sdk_ops__attention_vs_torch),
    TC_TEST(test_sdk_ops__attention_dropout),
    TC_TEST(test_sdk_ops__attention_errors),
};

TC_TEST_MAIN(tests)
