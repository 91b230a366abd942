/*
 * test_graph.c - the graph arena, tensors in it, the tape and tc_backward.
 */
#include <math.h>
#include <stdint.h>

#include <tc/error.h>
#include <tc/ops.h>
#include <tc/params.h>
#include <tc/tensor.h>

#include "tc_test.h"

static void test_sdk_graph__defaults(void)
{
    tc_graph *g = NULL;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    TC_CHECK(g != NULL);
    TC_CHECK(tc_graph_training(g) == 1);
    TC_CHECK(tc_graph_status(g) == TC_OK);
    TC_CHECK(tc_graph_arena_used(g) == 0);
    tc_graph_set_training(g, 0);
    TC_CHECK(tc_graph_training(g) == 0);
    tc_graph_set_training(g, 7);
    TC_CHECK(tc_graph_training(g) == 1);
    TC_CHECK_ERR(tc_graph_new(NULL, 0), TC_EINVAL);
    TC_CHECK_ERR(tc_graph_new(&g, TC_GRAPH_MAX_ARENA + 1), TC_EINVAL);
    tc_graph_free(g);
    tc_graph_free(NULL);
}

static void test_sdk_graph__tensor_new(void)
{
    tc_graph *g = NULL;
    int64_t shape[3] = {2, 3, 4};
    float data[6] = {1, 2, 3, 4, 5, 6};
    tc_tensor *t, *s, *v, *m, *f;

    TC_CHECK_OK(tc_graph_new(&g, 4096));
    t = tc_tensor_new(g, 3, shape);
    TC_CHECK(t != NULL);
    TC_CHECK(t->ndim == 3 && t->numel == 24 && t->shape[2] == 4 && t->shape[3] == 1);
    TC_CHECK(t->dtype == TC_DTYPE_F32 && t->device == TC_DEVICE_CPU);
    TC_CHECK(t->grad == NULL && t->node == NULL && t->flags == 0 && t->name == NULL);
    for (int i = 0; i < 24; i++)
        TC_CHECK(t->data[i] == 0.0f);
    TC_CHECK(((uintptr_t)t->data % 16) == 0);

    s = tc_tensor_new(g, 0, NULL);
    TC_CHECK(s != NULL && s->numel == 1 && s->ndim == 0 && s->data[0] == 0.0f);
    v = tc_tensor_new1d(g, 5);
    TC_CHECK(v != NULL && v->ndim == 1 && v->numel == 5);
    m = tc_tensor_new2d(g, 2, 3);
    TC_CHECK(m != NULL && m->ndim == 2 && m->shape[0] == 2 && m->shape[1] == 3);
    f = tc_tensor_from(g, 2, m->shape, data);
    TC_CHECK(f != NULL && f->data != data && f->data[5] == 6.0f);
    TC_CHECK(tc_tensor_new2d(g, 0, 3) != NULL);
    TC_CHECK(tc_graph_status(g) == TC_OK);
    TC_CHECK(tc_graph_arena_used(g) > 24 * sizeof(float));
    tc_graph_free(g);
}

static void test_sdk_graph__invalid_shapes(void)
{
    tc_graph *g = NULL;
    int64_t five[5] = {1, 1, 1, 1, 1};

    TC_CHECK_OK(tc_graph_new(&g, 0));
    TC_CHECK(tc_tensor_new(g, 5, five) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "5 dimensions");
    TC_CHECK(tc_graph_status(g) == TC_EINVAL);
    tc_graph_reset(g);
    TC_CHECK(tc_graph_status(g) == TC_OK);
    TC_CHECK(tc_tensor_new2d(g, -1, 3) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "invalid shape");
    TC_CHECK(tc_tensor_new2d(g, (int64_t)1 << 40, (int64_t)1 << 40) == NULL);
    TC_CHECK(tc_tensor_new(NULL, 0, NULL) == NULL);
    TC_CHECK(tc_tensor_from(g, 1, five, NULL) == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "data is NULL");
    tc_graph_free(g);
}

static void test_sdk_graph__shape_numel(void)
{
    int64_t ok[3] = {2, 3, 4}, neg[2] = {2, -3}, zero[2] = {0, 5};
    int64_t big[3] = {(int64_t)1 << 30, (int64_t)1 << 31, 2},
            over[3] = {(int64_t)1 << 31, (int64_t)1 << 31, 4};
    int64_t huge[2] = {INT64_MAX, 2};

    TC_CHECK(tc_shape_numel(3, ok) == 24);
    TC_CHECK(tc_shape_numel(0, NULL) == 1);
    TC_CHECK(tc_shape_numel(2, neg) == -1);
    TC_CHECK(tc_shape_numel(2, zero) == 0);
    TC_CHECK(tc_shape_numel(3, big) == (int64_t)1 << 62);
    TC_CHECK(tc_shape_numel(3, over) == -1);
    TC_CHECK(tc_shape_numel(2, huge) == -1);
    TC_CHECK(tc_shape_numel(-1, ok) == -1);
    TC_CHECK(tc_shape_numel(TC_MAX_DIMS + 1, ok) == -1);
    TC_CHECK(tc_shape_numel(2, NULL) == -1);
}

static void test_sdk_graph__alloc(void)
{
    tc_graph *g = NULL;
    void *p, *q;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    p = tc_graph_alloc(g, 3);
    q = tc_graph_alloc(g, 0);
    TC_CHECK(p != NULL && q != NULL && p != q);
    TC_CHECK(((uintptr_t)p % 16) == 0 && ((uintptr_t)q % 16) == 0);
    TC_CHECK(tc_graph_alloc(g, SIZE_MAX / 2) == NULL);
    TC_CHECK(tc_error_last() && tc_error_last()->code == TC_ENOMEM);
    TC_CHECK(tc_graph_status(g) == TC_ENOMEM);
    TC_CHECK(tc_graph_alloc(NULL, 8) == NULL);
    tc_graph_free(g);
}

/* One "training step" worth of allocations: 40 tensors of growing size. */
static float *step_allocs(tc_graph *g, float **last)
{
    float *first = NULL;

    for (int i = 0; i < 40; i++) {
        tc_tensor *t = tc_tensor_new1d(g, 1000 + 37 * i);
        if (!t)
            return NULL;
        if (!first)
            first = t->data;
        *last = t->data;
    }
    return first;
}

static void test_sdk_graph__reset_reuses_memory(void)
{
    tc_graph *g = NULL;
    float *first[4], *last[4];
    size_t used[4];

    /* a small first block, so the first step spills into more blocks */
    TC_CHECK_OK(tc_graph_new(&g, 4096));
    for (int s = 0; s < 4; s++) {
        first[s] = step_allocs(g, &last[s]);
        used[s] = tc_graph_arena_used(g);
        TC_CHECK(first[s] != NULL);
        tc_graph_reset(g);
        TC_CHECK(tc_graph_arena_used(g) == 0);
    }
    TC_CHECK(used[0] == used[1] && used[1] == used[2]);
    /* the blocks are kept in order: every step lands on the bytes of the first (no fresh pages) */
    TC_CHECK(first[0] == first[1] && first[1] == first[2] && first[2] == first[3]);
    TC_CHECK(last[0] == last[1] && last[1] == last[2] && last[2] == last[3]);
    /* a larger step grows the arena, and the step after it lands where it did */
    {
        float *big[2], *after[2];
        for (int s = 0; s < 2; s++) {
            tc_tensor *t;
            (void)step_allocs(g, &last[0]);
            t = tc_tensor_new1d(g, 100000);
            TC_CHECK(t != NULL);
            big[s] = t ? t->data : NULL;
            t = tc_tensor_new1d(g, 10);
            after[s] = t ? t->data : NULL;
            tc_graph_reset(g);
        }
        TC_CHECK(big[0] != NULL && big[0] == big[1] && after[0] == after[1]);
    }
    tc_graph_free(g);
}

static void test_sdk_graph__backward_errors(void)
{
    tc_graph *g = NULL, *other = NULL;
    tc_tensor *x, *y, *loss;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    TC_CHECK_OK(tc_graph_new(&other, 0));
    x = tc_tensor_new1d(g, 4);
    x->flags |= TC_TENSOR_REQUIRES_GRAD;
    y = tc_scale(g, x, 2.0f);
    TC_CHECK_ERR(tc_backward(g, NULL), TC_EINVAL);
    tc_graph_reset(g);

    x = tc_tensor_new1d(g, 4);
    x->flags |= TC_TENSOR_REQUIRES_GRAD;
    y = tc_scale(g, x, 2.0f);
    TC_CHECK_ERR(tc_backward(g, y), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "4 elements");
    loss = tc_sum(g, y);
    TC_CHECK_ERR(tc_backward(other, loss), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "not on this graph's tape");
    TC_CHECK_OK(tc_backward(g, loss));

    /* nothing requires a gradient: no tape */
    loss = tc_sum(g, tc_tensor_new1d(g, 3));
    TC_CHECK(loss != NULL && loss->node == NULL);
    TC_CHECK_ERR(tc_backward(g, loss), TC_EINVAL);

    /* evaluation mode: no tape */
    tc_graph_set_training(g, 0);
    loss = tc_sum(g, x);
    TC_CHECK(loss != NULL && loss->node == NULL && !(loss->flags & TC_TENSOR_REQUIRES_GRAD));
    TC_CHECK_ERR(tc_backward(g, loss), TC_EINVAL);
    tc_graph_set_training(g, 1);

    /* an op error is returned by backward */
    TC_CHECK(tc_add(g, x, tc_tensor_new1d(g, 5)) == NULL);
    TC_CHECK_ERR(tc_backward(g, tc_sum(g, x)), TC_EINVAL);
    TC_CHECK(tc_graph_status(g) == TC_EINVAL);
    tc_graph_free(other);
    tc_graph_free(g);
}

static void test_sdk_graph__leaf_grad_lazy_and_accumulates(void)
{
    tc_graph *g = NULL;
    tc_tensor *x, *y, *z, *loss;
    float data[3] = {1.0f, -2.0f, 3.0f};
    int64_t n = 3;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    x = tc_tensor_from(g, 1, &n, data);
    x->flags |= TC_TENSOR_REQUIRES_GRAD;
    /* diamond: loss = sum(x * x + 3 x) */
    y = tc_mul(g, x, x);
    z = tc_add(g, y, tc_scale(g, x, 3.0f));
    loss = tc_sum(g, z);
    TC_CHECK(x->grad == NULL);
    TC_CHECK_NEAR(loss->data[0], 1 + 4 + 9 + 3 * 2, 1e-6);
    TC_CHECK_OK(tc_backward(g, loss));
    TC_CHECK(x->grad != NULL);
    for (int i = 0; i < 3; i++)
        TC_CHECK_NEAR(x->grad[i], 2 * data[i] + 3, 1e-6);
    /* activation gradients are released once consumed; the loss keeps its seed */
    TC_CHECK(z->grad == NULL && y->grad == NULL);
    TC_CHECK(loss->grad != NULL && loss->grad[0] == 1.0f);
    /* a second backward over the same tape adds into the leaf, not into activations */
    TC_CHECK_OK(tc_backward(g, loss));
    for (int i = 0; i < 3; i++)
        TC_CHECK_NEAR(x->grad[i], 2 * (2 * data[i] + 3), 1e-6);
    TC_CHECK(z->grad == NULL && y->grad == NULL);
    tc_graph_free(g);
}

/* A chain of same-shaped ops: backward recycles the gradient buffers, so it takes the arena
 * memory of about two gradients, not one per op, and the gradient is unchanged. */
static void test_sdk_graph__backward_recycles_gradients(void)
{
    enum { N = 4096, DEPTH = 50 };
    tc_graph *g = NULL;
    tc_tensor *x, *h, *loss;
    static float data[N];
    int64_t n = N;
    size_t before, after;

    for (int i = 0; i < N; i++)
        data[i] = 0.001f * (float)(i % 97) - 0.05f;
    TC_CHECK_OK(tc_graph_new(&g, 0));
    x = tc_tensor_from(g, 1, &n, data);
    x->flags |= TC_TENSOR_REQUIRES_GRAD;
    h = x;
    for (int d = 0; d < DEPTH; d++)
        h = tc_tanh(g, tc_scale(g, h, 1.01f));
    loss = tc_sum(g, h);
    TC_CHECK(loss != NULL);
    before = tc_graph_arena_used(g);
    TC_CHECK_OK(tc_backward(g, loss));
    after = tc_graph_arena_used(g);
    /* one gradient for x, one or two in flight, the loss's seed */
    TC_CHECK(after - before <= 4 * (size_t)N * sizeof(float));
    /* d/dx of sum(tanh(1.01 tanh(...))) by the chain rule, against the recycled buffers */
    for (int i = 0; i < N; i += 511) {
        double v = data[i], d = 1.0;
        for (int k = 0; k < DEPTH; k++) {
            v = tanh(1.01 * v);
            d *= 1.01 * (1.0 - v * v);
        }
        TC_CHECK_NEAR(x->grad[i], d, 1e-4);
    }
    tc_graph_free(g);
}

static void test_sdk_graph__off_path_nodes_skipped(void)
{
    tc_graph *g = NULL;
    tc_tensor *x, *unused, *loss;
    int64_t n = 4;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    x = tc_tensor_new(g, 1, &n);
    x->flags |= TC_TENSOR_REQUIRES_GRAD;
    unused = tc_relu(g, x);
    loss = tc_mean(g, x);
    (void)tc_tanh(g, loss); /* after the loss: never reached */
    TC_CHECK_OK(tc_backward(g, loss));
    TC_CHECK(unused->grad == NULL);
    for (int i = 0; i < 4; i++)
        TC_CHECK_NEAR(x->grad[i], 0.25, 1e-7);
    tc_graph_free(g);
}

static void test_sdk_graph__params_grads_accumulate(void)
{
    tc_params *p = NULL;
    tc_graph *g = NULL;
    tc_tensor *w = NULL, *b = NULL, *x, *loss;
    int64_t wshape[2] = {3, 2}, bshape[1] = {3}, xshape[2] = {4, 2};
    float xdata[8] = {1, 2, 3, 4, 5, 6, 7, 8}, first[9];
    float *wgrad;

    TC_CHECK_OK(tc_params_new(&p));
    TC_CHECK_OK(tc_params_add(p, &w, "fc.weight", 2, wshape, 0));
    TC_CHECK_OK(tc_params_add(p, &b, "fc.bias", 1, bshape, TC_TENSOR_NO_DECAY));
    TC_CHECK_OK(tc_graph_new(&g, 0));
    if (!w || !b || !g)
        goto out;
    for (int i = 0; i < 6; i++)
        w->data[i] = 0.1f * (float)(i - 2);
    wgrad = w->grad;
    TC_CHECK(wgrad == tc_params_grad(p));
    for (int step = 0; step < 2; step++) {
        x = tc_tensor_from(g, 2, xshape, xdata);
        loss = tc_sum(g, tc_linear(g, x, w, b));
        TC_CHECK_OK(tc_backward(g, loss));
        TC_CHECK(w->grad == wgrad); /* parameter gradients are never reallocated */
        if (step == 0) {
            memcpy(first, w->grad, 6 * sizeof(float));
            memcpy(first + 6, b->grad, 3 * sizeof(float));
        }
        tc_graph_reset(g);
    }
    /* dL/dw[o][k] = sum_b x[b][k]; dL/db = B */
    for (int o = 0; o < 3; o++) {
        TC_CHECK_NEAR(first[o * 2 + 0], 1 + 3 + 5 + 7, 1e-5);
        TC_CHECK_NEAR(first[o * 2 + 1], 2 + 4 + 6 + 8, 1e-5);
        TC_CHECK_NEAR(first[6 + o], 4, 1e-6);
    }
    for (int i = 0; i < 6; i++)
        TC_CHECK_NEAR(w->grad[i], 2 * first[i], 1e-5);
    for (int i = 0; i < 3; i++)
        TC_CHECK_NEAR(b->grad[i], 2 * first[6 + i], 1e-5);
    tc_params_zero_grad(p);
    TC_CHECK(w->grad[0] == 0.0f);
out:
    tc_graph_free(g);
    tc_params_free(p);
}

static void test_sdk_graph__eval_records_no_tape(void)
{
    tc_graph *g = NULL;
    tc_tensor *x, *y;
    tc_rng rng;
    size_t train_used = 0, eval_used = 0;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    tc_rng_init(&rng, 1, TC_RNG_STREAM_DROPOUT);
    tc_graph_set_rng(g, &rng);
    for (int mode = 1; mode >= 0; mode--) {
        tc_graph_reset(g);
        tc_graph_set_training(g, mode);
        x = tc_tensor_new2d(g, 8, 8);
        x->flags |= TC_TENSOR_REQUIRES_GRAD;
        y = tc_relu(g, tc_scale(g, x, 2.0f));
        TC_CHECK(y != NULL);
        if (mode) {
            TC_CHECK(y->node != NULL && (y->flags & TC_TENSOR_REQUIRES_GRAD));
            train_used = tc_graph_arena_used(g);
        } else {
            TC_CHECK(y->node == NULL && !(y->flags & TC_TENSOR_REQUIRES_GRAD));
            TC_CHECK(tc_dropout(g, y, 0.5f) == y);
            eval_used = tc_graph_arena_used(g);
        }
    }
    TC_CHECK(eval_used < train_used);
    /* training without an RNG: dropout is the identity too */
    tc_graph_set_training(g, 1);
    tc_graph_set_rng(g, NULL);
    TC_CHECK(tc_dropout(g, y, 0.5f) == y);
    tc_graph_free(g);
}

static void test_sdk_graph__reset_clears_status(void)
{
    tc_graph *g = NULL;

    TC_CHECK_OK(tc_graph_new(&g, 0));
    TC_CHECK(tc_relu(g, NULL) == NULL);
    TC_CHECK(tc_graph_status(g) == TC_EINVAL);
    tc_graph_reset(g);
    TC_CHECK(tc_graph_status(g) == TC_OK);
    tc_graph_reset(NULL);
    TC_CHECK(tc_graph_status(NULL) == TC_EINVAL);
    tc_graph_free(g);
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_graph__defaults),
    TC_TEST(test_sdk_graph__tensor_new),
    TC_TEST(test_sdk_graph__invalid_shapes),
    TC_TEST(test_sdk_graph__shape_numel),
    TC_TEST(test_sdk_graph__alloc),
    TC_TEST(test_sdk_graph__reset_reuses_memory),
    TC_TEST(test_sdk_graph__backward_errors),
    TC_TEST(test_sdk_graph__leaf_grad_lazy_and_accumulates),
    TC_TEST(test_sdk_graph__backward_recycles_gradients),
    TC_TEST(test_sdk_graph__off_path_nodes_skipped),
    TC_TEST(test_sdk_graph__params_grads_accumulate),
    TC_TEST(test_sdk_graph__eval_records_no_tape),
    TC_TEST(test_sdk_graph__reset_clears_status),
};

TC_TEST_MAIN(tests)
