/*
 * ops.c - the public differentiable ops of <tc/ops.h>.
 *
 * Each op checks its inputs (NULL, device, shapes, ranges) and says what is
 * wrong with the shapes it saw, allocates its output in the graph arena, runs
 * the forward kernel of the active kernel table (kernels.h) and, when the
 * graph is training and an input requires a gradient, records a tape node
 * whose backward runs the matching backward kernel.
 *
 * Dimension vocabulary as in <tc/ops.h>: B rows (leading dimensions
 * flattened), K inner size, N output features, C normalised/classified
 * features, V vocabulary rows, D embedding width.
 */
#include <stdio.h>
#include <string.h>

#include <tc/error.h>
#include <tc/ops.h>
#include <tc/rng.h>

#include "internal.h"
#include "kernels.h"

#define KERN() tc__kernels_active()

/* A shape printed as "(2, 3)", "()" for a scalar; valid until the end of the full expression. */
typedef struct shape_str {
    char s[TC_MAX_DIMS * 22 + 4];
} shape_str;

static shape_str fmt_shape(const tc_tensor *t)
{
    shape_str out;
    size_t len = 0;

    out.s[len++] = '(';
    for (int32_t i = 0; i < t->ndim && i < TC_MAX_DIMS; i++)
        len += (size_t)snprintf(out.s + len, sizeof(out.s) - len, "%s%lld", i ? ", " : "",
                                (long long)t->shape[i]);
    snprintf(out.s + len, sizeof(out.s) - len, ")");
    return out;
}

static tc_tensor *op_fail(tc_graph *g, int code)
{
    tc__graph_fail(g, code);
    return NULL;
}

/* Set the error message and the graph status; evaluates to NULL. */
#define OP_ERROR(g, code, ...) op_fail((g), tc_error_set((code), __VA_ARGS__))

/*
 * Whether input t of op is unusable. A NULL input is the mark of an earlier
 * failure: it gets a message only when the graph has no error yet (the NULL
 * came from outside the graph's ops).
 */
static int bad_input(tc_graph *g, const char *op, const char *name, const tc_tensor *t)
{
    if (!t) {
        if (tc_graph_status(g) == TC_OK)
            OP_ERROR(g, TC_EINVAL, "%s: '%s' is NULL", op, name);
        return 1;
    }
    if (t->ndim < 0 || t->ndim > TC_MAX_DIMS) {
        OP_ERROR(g, TC_EINVAL, "%s: '%s' has %d dimensions", op, name, (int)t->ndim);
        return 1;
    }
    if (t->dtype != TC_DTYPE_F32 || t->device != TC_DEVICE_CPU) {
        OP_ERROR(g, TC_EUNSUPPORTED, "%s: '%s' is not an f32 CPU tensor", op, name);
        return 1;
    }
    if (!t->data && t->numel > 0) {
        OP_ERROR(g, TC_EINVAL, "%s: '%s' has no data", op, name);
        return 1;
    }
    return 0;
}

/* The common start of an op: a graph and usable inputs (b is skipped when bn is NULL). */
static int bad_args(tc_graph *g, const char *op, const char *an, const tc_tensor *a, const char *bn,
                    const tc_tensor *b)
{
    if (!g) {
        tc_error_set(TC_EINVAL, "%s: graph is NULL", op);
        return 1;
    }
    if (bad_input(g, op, an, a))
        return 1;
    return bn && bad_input(g, op, bn, b);
}

/* Product of the leading dimensions (all but the last) of t. */
static int64_t leading_rows(const tc_tensor *t)
{
    int64_t rows = 1;

    for (int32_t i = 0; i + 1 < t->ndim; i++)
        rows *= t->shape[i];
    return rows;
}

static int64_t last_dim(const tc_tensor *t)
{
    return t->ndim > 0 ? t->shape[t->ndim - 1] : 1;
}

static int same_shape(const tc_tensor *a, const tc_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int32_t i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

/* A 1-D tensor of n elements, or an error naming op and what it is for. */
static int bad_vector(tc_graph *g, const char *op, const char *name, const tc_tensor *v, int64_t n)
{
    if (v->ndim == 1 && v->shape[0] == n)
        return 0;
    OP_ERROR(g, TC_EINVAL, "%s: %s has shape %s, expected (%lld)", op, name, fmt_shape(v).s,
             (long long)n);
    return 1;
}

/* The output of an op with the shape of x (uninitialised). */
static tc_tensor *empty_like(tc_graph *g, const char *op, const tc_tensor *x)
{
    return tc__tensor_empty(g, op, x->ndim, x->shape);
}

/*
 * *out = the gradient buffer of t to accumulate into, or NULL when t does not
 * take a gradient. Returns TC_OK or the graph's error.
 */
static int grad_of(tc_graph *g, tc_tensor *t, float **out)
{
    *out = NULL;
    if (!t || !(t->flags & TC_TENSOR_REQUIRES_GRAD))
        return TC_OK;
    *out = tc__graph_grad(g, t);
    return *out ? TC_OK : tc_graph_status(g);
}

/* Accumulate a whole-tensor gradient src into t (when t takes one). */
static int grad_add(tc_graph *g, tc_tensor *t, const float *src)
{
    if (!t || !(t->flags & TC_TENSOR_REQUIRES_GRAD))
        return TC_OK;
    return tc__graph_grad_add(g, t, src);
}

/* Record the node of out when gradients flow; out itself on success, NULL on failure. */
static tc_tensor *finish(tc_graph *g, tc_tensor *out, tc__backward_fn backward, tc_tensor *a,
                         tc_tensor *b, tc_tensor *c, tc_node **node)
{
    tc_node *n = NULL;

    if (tc__graph_needs_grad(g, a, b, c)) {
        n = tc__graph_record(g, out, backward, a, b, c);
        if (!n)
            return NULL;
    }
    if (node)
        *node = n;
    return out;
}

/* ---- matmul, linear, bias_add ---- */

static int matmul_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *a = n->in[0], *b = n->in[1];
    float *da, *db;
    int rc;

    if ((rc = grad_of(g, a, &da)) < 0 || (rc = grad_of(g, b, &db)) < 0)
        return rc;
    KERN()->matmul_backward(da, db, n->out->grad, a->data, b->data, a->shape[0], a->shape[1],
                            b->shape[1]);
    return TC_OK;
}

tc_tensor *tc_matmul(tc_graph *g, tc_tensor *a, tc_tensor *b)
{
    static const char op[] = "tc_matmul";
    int64_t shape[2];
    tc_tensor *out;

    if (bad_args(g, op, "a", a, "b", b))
        return NULL;
    if (a->ndim != 2 || b->ndim != 2)
        return OP_ERROR(g, TC_EINVAL, "%s: a %s and b %s must both be 2-D", op, fmt_shape(a).s,
                        fmt_shape(b).s);
    if (a->shape[1] != b->shape[0])
        return OP_ERROR(g, TC_EINVAL, "%s: a %s has %lld columns, b %s has %lld rows", op,
                        fmt_shape(a).s, (long long)a->shape[1], fmt_shape(b).s,
                        (long long)b->shape[0]);
    shape[0] = a->shape[0];
    shape[1] = b->shape[1];
    out = tc__tensor_empty(g, op, 2, shape);
    if (!out)
        return NULL;
    KERN()->matmul_forward(out->data, a->data, b->data, a->shape[0], a->shape[1], b->shape[1]);
    return finish(g, out, matmul_backward, a, b, NULL, NULL);
}

static int linear_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *x = n->in[0], *w = n->in[1], *bias = n->in[2];
    int64_t K = w->shape[1], N = w->shape[0];
    float *dx, *dw, *dbias;
    int rc;

    if ((rc = grad_of(g, x, &dx)) < 0 || (rc = grad_of(g, w, &dw)) < 0 ||
        (rc = grad_of(g, bias, &dbias)) < 0)
        return rc;
    KERN()->linear_backward(dx, dw, dbias, n->out->grad, x->data, w->data, leading_rows(x), K, N);
    return TC_OK;
}

tc_tensor *tc_linear(tc_graph *g, tc_tensor *x, tc_tensor *w, tc_tensor *bias)
{
    static const char op[] = "tc_linear";
    int64_t shape[TC_MAX_DIMS];
    tc_tensor *out;

    if (bad_args(g, op, "x", x, "weight", w) || (bias && bad_input(g, op, "bias", bias)))
        return NULL;
    if (w->ndim != 2)
        return OP_ERROR(g, TC_EINVAL, "%s: weight has shape %s, expected 2-D (N, K)", op,
                        fmt_shape(w).s);
    if (x->ndim < 1)
        return OP_ERROR(g, TC_EINVAL, "%s: x is a scalar, expected (..., %lld)", op,
                        (long long)w->shape[1]);
    if (last_dim(x) != w->shape[1])
        return OP_ERROR(g, TC_EINVAL, "%s: x has %lld features, weight %s expects %lld", op,
                        (long long)last_dim(x), fmt_shape(w).s, (long long)w->shape[1]);
    if (bias && bad_vector(g, op, "bias", bias, w->shape[0]))
        return NULL;
    memcpy(shape, x->shape, sizeof(shape));
    shape[x->ndim - 1] = w->shape[0];
    out = tc__tensor_empty(g, op, x->ndim, shape);
    if (!out)
        return NULL;
    KERN()->linear_forward(out->data, x->data, w->data, bias ? bias->data : NULL, leading_rows(x),
                           w->shape[1], w->shape[0]);
    return finish(g, out, linear_backward, x, w, bias, NULL);
}

static int bias_add_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *x = n->in[0], *bias = n->in[1];
    float *dbias;
    int rc;

    if ((rc = grad_of(g, bias, &dbias)) < 0)
        return rc;
    if (dbias)
        KERN()->bias_add_backward(NULL, dbias, n->out->grad, leading_rows(x), last_dim(x));
    return grad_add(g, x, n->out->grad);
}

tc_tensor *tc_bias_add(tc_graph *g, tc_tensor *x, tc_tensor *bias)
{
    static const char op[] = "tc_bias_add";
    tc_tensor *out;

    if (bad_args(g, op, "x", x, "bias", bias))
        return NULL;
    if (x->ndim < 1)
        return OP_ERROR(g, TC_EINVAL, "%s: x is a scalar, expected (..., N)", op);
    if (bad_vector(g, op, "bias", bias, last_dim(x)))
        return NULL;
    out = empty_like(g, op, x);
    if (!out)
        return NULL;
    KERN()->bias_add_forward(out->data, x->data, bias->data, leading_rows(x), last_dim(x));
    return finish(g, out, bias_add_backward, x, bias, NULL, NULL);
}

/* ---- elementwise binary and scale ---- */

static tc_tensor *binary_checked(tc_graph *g, const char *op, tc_tensor *a, tc_tensor *b)
{
    if (bad_args(g, op, "a", a, "b", b))
        return NULL;
    if (!same_shape(a, b))
        return OP_ERROR(g, TC_EINVAL, "%s: a has shape %s, b has shape %s; they must match", op,
                        fmt_shape(a).s, fmt_shape(b).s);
    return empty_like(g, op, a);
}

static int add_backward(tc_graph *g, tc_node *n)
{
    int rc = grad_add(g, n->in[0], n->out->grad);

    return rc < 0 ? rc : grad_add(g, n->in[1], n->out->grad);
}

tc_tensor *tc_add(tc_graph *g, tc_tensor *a, tc_tensor *b)
{
    tc_tensor *out = binary_checked(g, "tc_add", a, b);

    if (!out)
        return NULL;
    KERN()->add_forward(out->data, a->data, b->data, a->numel);
    return finish(g, out, add_backward, a, b, NULL, NULL);
}

static int mul_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *a = n->in[0], *b = n->in[1];
    float *da, *db;
    int rc;

    if ((rc = grad_of(g, a, &da)) < 0 || (rc = grad_of(g, b, &db)) < 0)
        return rc;
    KERN()->mul_backward(da, db, n->out->grad, a->data, b->data, a->numel);
    return TC_OK;
}

tc_tensor *tc_mul(tc_graph *g, tc_tensor *a, tc_tensor *b)
{
    tc_tensor *out = binary_checked(g, "tc_mul", a, b);

    if (!out)
        return NULL;
    KERN()->mul_forward(out->data, a->data, b->data, a->numel);
    return finish(g, out, mul_backward, a, b, NULL, NULL);
}

static int scale_backward(tc_graph *g, tc_node *n)
{
    float *da;
    int rc = grad_of(g, n->in[0], &da);

    if (rc < 0 || !da)
        return rc;
    KERN()->scale_backward(da, n->out->grad, n->f, n->out->numel);
    return TC_OK;
}

tc_tensor *tc_scale(tc_graph *g, tc_tensor *a, float s)
{
    static const char op[] = "tc_scale";
    tc_node *n = NULL;
    tc_tensor *out;

    if (bad_args(g, op, "a", a, NULL, NULL))
        return NULL;
    out = empty_like(g, op, a);
    if (!out)
        return NULL;
    KERN()->scale_forward(out->data, a->data, s, a->numel);
    if (!finish(g, out, scale_backward, a, NULL, NULL, &n))
        return NULL;
    if (n)
        n->f = s;
    return out;
}

/* ---- elementwise activations ---- */

typedef void (*unary_forward_fn)(float *out, const float *x, int64_t n);

static tc_tensor *unary(tc_graph *g, const char *op, tc_tensor *x, unary_forward_fn forward,
                        tc__backward_fn backward)
{
    tc_tensor *out;

    if (bad_args(g, op, "x", x, NULL, NULL))
        return NULL;
    out = empty_like(g, op, x);
    if (!out)
        return NULL;
    forward(out->data, x->data, x->numel);
    return finish(g, out, backward, x, NULL, NULL, NULL);
}

typedef void (*unary_backward_fn)(float *dx, const float *dout, const float *saved, int64_t n);

/* Backward of an activation whose derivative reads x (use_out 0) or the output (use_out 1). */
static int unary_backward(tc_graph *g, tc_node *n, unary_backward_fn backward, int use_out)
{
    tc_tensor *x = n->in[0];
    float *dx;
    int rc = grad_of(g, x, &dx);

    if (rc < 0 || !dx)
        return rc;
    backward(dx, n->out->grad, use_out ? n->out->data : x->data, x->numel);
    return TC_OK;
}

static int relu_backward(tc_graph *g, tc_node *n)
{
    return unary_backward(g, n, KERN()->relu_backward, 0);
}

static int gelu_backward(tc_graph *g, tc_node *n)
{
    return unary_backward(g, n, KERN()->gelu_backward, 0);
}

static int tanh_backward(tc_graph *g, tc_node *n)
{
    return unary_backward(g, n, KERN()->tanh_backward, 1);
}

static int sigmoid_backward(tc_graph *g, tc_node *n)
{
    return unary_backward(g, n, KERN()->sigmoid_backward, 1);
}

tc_tensor *tc_relu(tc_graph *g, tc_tensor *x)
{
    return unary(g, "tc_relu", x, KERN()->relu_forward, relu_backward);
}

tc_tensor *tc_gelu(tc_graph *g, tc_tensor *x)
{
    return unary(g, "tc_gelu", x, KERN()->gelu_forward, gelu_backward);
}

tc_tensor *tc_tanh(tc_graph *g, tc_tensor *x)
{
    return unary(g, "tc_tanh", x, KERN()->tanh_forward, tanh_backward);
}

tc_tensor *tc_sigmoid(tc_graph *g, tc_tensor *x)
{
    return unary(g, "tc_sigmoid", x, KERN()->sigmoid_forward, sigmoid_backward);
}

/* ---- softmax and cross-entropy ---- */

static int softmax_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *x = n->in[0];
    float *dx;
    int rc = grad_of(g, x, &dx);

    if (rc < 0 || !dx)
        return rc;
    KERN()->softmax_backward(dx, n->out->grad, n->out->data, leading_rows(x), last_dim(x));
    return TC_OK;
}

tc_tensor *tc_softmax(tc_graph *g, tc_tensor *x)
{
    static const char op[] = "tc_softmax";
    tc_tensor *out;

    if (bad_args(g, op, "x", x, NULL, NULL))
        return NULL;
    if (x->ndim < 1)
        return OP_ERROR(g, TC_EINVAL, "%s: x is a scalar, expected at least 1 dimension", op);
    out = empty_like(g, op, x);
    if (!out)
        return NULL;
    KERN()->softmax_forward(out->data, x->data, leading_rows(x), last_dim(x));
    return finish(g, out, softmax_backward, x, NULL, NULL, NULL);
}

static int cross_entropy_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *logits = n->in[0];
    float *dlogits;
    int rc = grad_of(g, logits, &dlogits);

    if (rc < 0 || !dlogits || n->i == 0)
        return rc;
    KERN()->cross_entropy_backward(dlogits, logits->data, n->saved[1], n->saved[0],
                                   n->out->grad[0] / (float)n->i, logits->shape[0],
                                   logits->shape[1]);
    return TC_OK;
}

/* Labels in [0, C) or TC_IGNORE_INDEX; counts the ones that are not ignored. */
static int check_labels(tc_graph *g, const int32_t *labels, int64_t B, int64_t C, int64_t *count)
{
    *count = 0;
    for (int64_t b = 0; b < B; b++) {
        if (labels[b] == TC_IGNORE_INDEX)
            continue;
        if (labels[b] < 0 || labels[b] >= C) {
            OP_ERROR(g, TC_ERANGE, "tc_cross_entropy: label %d at row %lld is outside [0, %lld)",
                     (int)labels[b], (long long)b, (long long)C);
            return TC_ERANGE;
        }
        (*count)++;
    }
    return TC_OK;
}

tc_tensor *tc_cross_entropy(tc_graph *g, tc_tensor *logits, const int32_t *labels)
{
    static const char op[] = "tc_cross_entropy";
    int64_t B, C, count;
    float *losses, *lse;
    int32_t *saved_labels;
    tc_node *n = NULL;
    tc_tensor *out;
    double total = 0.0;

    if (bad_args(g, op, "logits", logits, NULL, NULL))
        return NULL;
    if (logits->ndim != 2)
        return OP_ERROR(g, TC_EINVAL, "%s: logits have shape %s, expected 2-D (B, C)", op,
                        fmt_shape(logits).s);
    B = logits->shape[0];
    C = logits->shape[1];
    if (!labels && B > 0)
        return OP_ERROR(g, TC_EINVAL, "%s: labels are NULL", op);
    if (check_labels(g, labels, B, C, &count) < 0)
        return NULL;
    out = tc__tensor_empty(g, op, 0, NULL);
    losses = tc__graph_alloc(g, (size_t)B * sizeof(float), op);
    lse = tc__graph_alloc(g, (size_t)B * sizeof(float), op);
    if (!out || !losses || !lse)
        return NULL;
    KERN()->cross_entropy_forward(losses, lse, logits->data, labels, B, C);
    for (int64_t b = 0; b < B; b++)
        total += losses[b];
    out->data[0] = count ? (float)(total / (double)count) : 0.0f;
    if (!finish(g, out, cross_entropy_backward, logits, NULL, NULL, &n))
        return NULL;
    if (n) {
        saved_labels = tc__graph_alloc(g, (size_t)B * sizeof(int32_t), op);
        if (!saved_labels)
            return NULL;
        if (B > 0)
            memcpy(saved_labels, labels, (size_t)B * sizeof(int32_t));
        n->saved[0] = saved_labels;
        n->saved[1] = lse;
        n->i = count;
    }
    return out;
}

/* ---- dropout ---- */

static int dropout_backward(tc_graph *g, tc_node *n)
{
    float *dx;
    int rc = grad_of(g, n->in[0], &dx);

    if (rc < 0 || !dx)
        return rc;
    KERN()->dropout_backward(dx, n->out->grad, n->saved[0], n->f, n->out->numel);
    return TC_OK;
}

tc_tensor *tc_dropout(tc_graph *g, tc_tensor *x, float p)
{
    static const char op[] = "tc_dropout";
    tc_rng *rng;
    uint8_t *mask;
    tc_node *n = NULL;
    tc_tensor *out;
    float scale;

    if (bad_args(g, op, "x", x, NULL, NULL))
        return NULL;
    if (!(p >= 0.0f && p < 1.0f))
        return OP_ERROR(g, TC_EINVAL, "%s: p = %g is outside [0, 1)", op, (double)p);
    rng = tc__graph_rng(g);
    if (!tc_graph_training(g) || p == 0.0f || !rng)
        return x; /* the identity: no copy, no node */
    out = empty_like(g, op, x);
    mask = tc__graph_alloc(g, (size_t)x->numel, op);
    if (!out || !mask)
        return NULL;
    /* in element order, so the mask depends only on the RNG state */
    tc__rng_keep_mask(rng, mask, x->numel, p);
    scale = 1.0f / (1.0f - p);
    KERN()->dropout_forward(out->data, x->data, mask, scale, x->numel);
    if (!finish(g, out, dropout_backward, x, NULL, NULL, &n))
        return NULL;
    if (n) {
        n->saved[0] = mask;
        n->f = scale;
    }
    return out;
}

/* The n ids of an embedding lookup: present, each a row of table (V, D); or an error naming one. */
static int bad_ids(tc_graph *g, const char *op, const tc_tensor *table, const int32_t *ids,
                   int64_t n)
{
    if (!ids && n > 0) {
        OP_ERROR(g, TC_EINVAL, "%s: ids are NULL for %lld ids", op, (long long)n);
        return 1;
    }
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= table->shape[0]) {
            OP_ERROR(g, TC_ERANGE, "%s: id %d at position %lld is outside [0, %lld)", op,
                     (int)ids[i], (long long)i, (long long)table->shape[0]);
            return 1;
        }
    }
    return 0;
}

/* ---- embedding ---- */

static int embedding_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *table = n->in[0];
    float *dtable;
    int rc = grad_of(g, table, &dtable);

    if (rc < 0 || !dtable)
        return rc;
    KERN()->embedding_backward(dtable, n->out->grad, n->saved[0], n->i, table->shape[1]);
    return TC_OK;
}

tc_tensor *tc_embedding(tc_graph *g, tc_tensor *table, const int32_t *ids, int64_t n)
{
    return tc_embedding_padded(g, table, ids, n, -1);
}

tc_tensor *tc_embedding_padded(tc_graph *g, tc_tensor *table, const int32_t *ids, int64_t n,
                               int32_t padding_idx)
{
    static const char op[] = "tc_embedding";
    int64_t shape[2];
    int32_t *saved_ids;
    tc_node *node = NULL;
    tc_tensor *out;

    if (bad_args(g, op, "table", table, NULL, NULL))
        return NULL;
    if (table->ndim != 2)
        return OP_ERROR(g, TC_EINVAL, "%s: table has shape %s, expected 2-D (V, D)", op,
                        fmt_shape(table).s);
    if (n < 0)
        return OP_ERROR(g, TC_EINVAL, "%s: n = %lld is negative", op, (long long)n);
    if (bad_ids(g, op, table, ids, n))
        return NULL;
    shape[0] = n;
    shape[1] = table->shape[1];
    out = tc__tensor_empty(g, op, 2, shape);
    if (!out)
        return NULL;
    KERN()->embedding_forward(out->data, table->data, ids, n, shape[1]);
    if (!finish(g, out, embedding_backward, table, NULL, NULL, &node))
        return NULL;
    if (node) {
        saved_ids = tc__graph_alloc(g, (size_t)n * sizeof(int32_t), op);
        if (!saved_ids)
            return NULL;
        /* the padding row gets no gradient: its positions are saved as -1 */
        for (int64_t i = 0; i < n; i++)
            saved_ids[i] = ids[i] == padding_idx ? -1 : ids[i];
        node->saved[0] = saved_ids;
        node->i = n;
    }
    return out;
}

/* ---- embedding bag ---- */

typedef struct bag_saved {
    int32_t *ids;
    int64_t *offsets;
    int mean;
} bag_saved;

static int embedding_bag_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *table = n->in[0];
    const bag_saved *sv = n->saved[0];
    float *dtable;
    int rc = grad_of(g, table, &dtable);

    if (rc < 0 || !dtable)
        return rc;
    KERN()->embedding_bag_backward(dtable, n->out->grad, sv->ids, sv->offsets, n->i,
                                   table->shape[1], sv->mean);
    return TC_OK;
}

tc_tensor *tc_embedding_bag(tc_graph *g, tc_tensor *table, const int32_t *ids,
                            const int64_t *offsets, int64_t B, int mean)
{
    static const char op[] = "tc_embedding_bag";
    int64_t shape[2], n_ids;
    tc_node *node = NULL;
    tc_tensor *out;

    if (bad_args(g, op, "table", table, NULL, NULL))
        return NULL;
    if (table->ndim != 2)
        return OP_ERROR(g, TC_EINVAL, "%s: table has shape %s, expected 2-D (V, D)", op,
                        fmt_shape(table).s);
    if (B < 0 || !offsets)
        return OP_ERROR(g, TC_EINVAL, "%s: %s", op, B < 0 ? "B is negative" : "offsets are NULL");
    if (offsets[0] != 0)
        return OP_ERROR(g, TC_EINVAL, "%s: offsets[0] is %lld, expected 0", op,
                        (long long)offsets[0]);
    for (int64_t b = 0; b < B; b++)
        if (offsets[b + 1] < offsets[b])
            return OP_ERROR(g, TC_EINVAL, "%s: offsets decrease at bag %lld (%lld then %lld)", op,
                            (long long)b, (long long)offsets[b], (long long)offsets[b + 1]);
    n_ids = offsets[B];
    if (bad_ids(g, op, table, ids, n_ids))
        return NULL;
    shape[0] = B;
    shape[1] = table->shape[1];
    out = tc__tensor_empty(g, op, 2, shape);
    if (!out)
        return NULL;
    KERN()->embedding_bag_forward(out->data, table->data, ids, offsets, B, shape[1], mean != 0);
    if (!finish(g, out, embedding_bag_backward, table, NULL, NULL, &node))
        return NULL;
    if (node) {
        bag_saved *sv = tc__graph_alloc(g, sizeof(*sv), op);
        if (!sv ||
            !(sv->ids = tc__graph_alloc(g, (size_t)(n_ids ? n_ids : 1) * sizeof(int32_t), op)) ||
            !(sv->offsets = tc__graph_alloc(g, (size_t)(B + 1) * sizeof(int64_t), op)))
            return NULL;
        if (n_ids > 0)
            memcpy(sv->ids, ids, (size_t)n_ids * sizeof(int32_t));
        memcpy(sv->offsets, offsets, (size_t)(B + 1) * sizeof(int64_t));
        sv->mean = mean != 0;
        node->saved[0] = sv;
        node->i = B;
    }
    return out;
}

/* ---- LSTM ---- */

typedef struct lstm_saved {
    tc__lstm_args a;
    int32_t *len;
    float *acts, *cells;
} lstm_saved;

static int lstm_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *gx = n->in[0], *w_hh = n->in[1];
    lstm_saved *sv = n->saved[0];
    float *dgx, *dw, *scratch;
    int rc;

    if ((rc = grad_of(g, gx, &dgx)) < 0 || (rc = grad_of(g, w_hh, &dw)) < 0)
        return rc;
    if (!dgx && !dw)
        return TC_OK;
    scratch = tc__graph_alloc(g, (size_t)(sv->a.B * 7 * sv->a.H) * sizeof(float), "tc_lstm");
    if (!scratch)
        return tc_graph_status(g);
    KERN()->lstm_backward(&sv->a, dgx, dw, n->out->grad, n->out->data, sv->acts, sv->cells,
                          scratch);
    return TC_OK;
}

tc_tensor *tc_lstm(tc_graph *g, tc_tensor *gx, tc_tensor *w_hh, const int32_t *lengths, int reverse)
{
    static const char op[] = "tc_lstm";
    int64_t B, T, H, shape[3];
    lstm_saved *sv;
    float *scratch;
    tc_tensor *out;

    if (bad_args(g, op, "gx", gx, "w_hh", w_hh))
        return NULL;
    if (w_hh->ndim != 2 || w_hh->shape[0] != 4 * w_hh->shape[1] || w_hh->shape[1] < 1)
        return OP_ERROR(g, TC_EINVAL, "%s: w_hh has shape %s, expected (4H, H)", op,
                        fmt_shape(w_hh).s);
    H = w_hh->shape[1];
    if (gx->ndim != 3 || gx->shape[2] != 4 * H)
        return OP_ERROR(g, TC_EINVAL, "%s: gx has shape %s, expected (B, T, %lld)", op,
                        fmt_shape(gx).s, (long long)(4 * H));
    B = gx->shape[0];
    T = gx->shape[1];
    if (!lengths && B > 0)
        return OP_ERROR(g, TC_EINVAL, "%s: lengths are NULL", op);
    for (int64_t b = 0; b < B; b++)
        if (lengths[b] < 0 || lengths[b] > T)
            return OP_ERROR(g, TC_ERANGE, "%s: lengths[%lld] = %d is outside [0, %lld]", op,
                            (long long)b, (int)lengths[b], (long long)T);
    shape[0] = B, shape[1] = T, shape[2] = H;
    out = tc__tensor_empty(g, op, 3, shape);
    sv = out ? tc__graph_alloc(g, sizeof(*sv), op) : NULL;
    if (!sv || !(sv->len = tc__graph_alloc(g, (size_t)(B ? B : 1) * sizeof(int32_t), op)) ||
        !(sv->acts = tc__graph_alloc(g, (size_t)(B * T * 4 * H + 1) * sizeof(float), op)) ||
        !(sv->cells = tc__graph_alloc(g, (size_t)(B * T * H + 1) * sizeof(float), op)) ||
        !(scratch = tc__graph_alloc(g, (size_t)(B * 6 * H + 1) * sizeof(float), op)))
        return NULL;
    if (B > 0)
        memcpy(sv->len, lengths, (size_t)B * sizeof(int32_t));
    sv->a.gx = gx->data;
    sv->a.w_hh = w_hh->data;
    sv->a.len = sv->len;
    sv->a.B = B, sv->a.T = T, sv->a.H = H;
    sv->a.reverse = reverse != 0;
    KERN()->lstm_forward(&sv->a, out->data, sv->acts, sv->cells, scratch);
    {
        tc_node *node = NULL;
        if (!finish(g, out, lstm_backward, gx, w_hh, NULL, &node))
            return NULL;
        if (node)
            node->saved[0] = sv;
    }
    return out;
}

/* ---- select_steps, concat ---- */

static int select_steps_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *x = n->in[0];
    const int32_t *index = n->saved[0];
    int64_t B = x->shape[0], T = x->shape[1], H = x->shape[2];
    float *dx;
    int rc = grad_of(g, x, &dx);

    if (rc < 0 || !dx)
        return rc;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            dx[(b * T + index[b]) * H + h] += n->out->grad[b * H + h];
    return TC_OK;
}

tc_tensor *tc_select_steps(tc_graph *g, tc_tensor *x, const int32_t *index)
{
    static const char op[] = "tc_select_steps";
    int64_t B, T, H, shape[2];
    tc_node *node = NULL;
    tc_tensor *out;

    if (bad_args(g, op, "x", x, NULL, NULL))
        return NULL;
    if (x->ndim != 3)
        return OP_ERROR(g, TC_EINVAL, "%s: x has shape %s, expected (B, T, H)", op, fmt_shape(x).s);
    B = x->shape[0], T = x->shape[1], H = x->shape[2];
    if (!index && B > 0)
        return OP_ERROR(g, TC_EINVAL, "%s: index is NULL", op);
    for (int64_t b = 0; b < B; b++)
        if (index[b] < 0 || index[b] >= T)
            return OP_ERROR(g, TC_ERANGE, "%s: index[%lld] = %d is outside [0, %lld)", op,
                            (long long)b, (int)index[b], (long long)T);
    shape[0] = B, shape[1] = H;
    out = tc__tensor_empty(g, op, 2, shape);
    if (!out)
        return NULL;
    for (int64_t b = 0; b < B; b++)
        memcpy(out->data + b * H, x->data + (b * T + index[b]) * H, (size_t)H * sizeof(float));
    if (!finish(g, out, select_steps_backward, x, NULL, NULL, &node))
        return NULL;
    if (node) {
        int32_t *saved = tc__graph_alloc(g, (size_t)(B ? B : 1) * sizeof(int32_t), op);
        if (!saved)
            return NULL;
        if (B > 0)
            memcpy(saved, index, (size_t)B * sizeof(int32_t));
        node->saved[0] = saved;
    }
    return out;
}

static int concat_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *a = n->in[0], *b = n->in[1];
    int64_t rows = leading_rows(a), N = last_dim(a), M = last_dim(b);
    float *da, *db;
    int rc;

    if ((rc = grad_of(g, a, &da)) < 0 || (rc = grad_of(g, b, &db)) < 0)
        return rc;
    for (int64_t r = 0; r < rows; r++) {
        const float *d = n->out->grad + r * (N + M);
        for (int64_t k = 0; da && k < N; k++)
            da[r * N + k] += d[k];
        for (int64_t k = 0; db && k < M; k++)
            db[r * M + k] += d[N + k];
    }
    return TC_OK;
}

tc_tensor *tc_concat(tc_graph *g, tc_tensor *a, tc_tensor *b)
{
    static const char op[] = "tc_concat";
    int64_t shape[TC_MAX_DIMS], rows, N, M;
    tc_tensor *out;

    if (bad_args(g, op, "a", a, "b", b))
        return NULL;
    if (a->ndim < 1 || a->ndim != b->ndim)
        return OP_ERROR(g, TC_EINVAL, "%s: a %s and b %s must have the same leading shape", op,
                        fmt_shape(a).s, fmt_shape(b).s);
    for (int32_t i = 0; i + 1 < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return OP_ERROR(g, TC_EINVAL, "%s: a %s and b %s must have the same leading shape", op,
                            fmt_shape(a).s, fmt_shape(b).s);
    rows = leading_rows(a), N = last_dim(a), M = last_dim(b);
    memcpy(shape, a->shape, sizeof(shape));
    shape[a->ndim - 1] = N + M;
    out = tc__tensor_empty(g, op, a->ndim, shape);
    if (!out)
        return NULL;
    for (int64_t r = 0; r < rows; r++) {
        memcpy(out->data + r * (N + M), a->data + r * N, (size_t)N * sizeof(float));
        memcpy(out->data + r * (N + M) + N, b->data + r * M, (size_t)M * sizeof(float));
    }
    return finish(g, out, concat_backward, a, b, NULL, NULL);
}

/* ---- reductions ---- */

static int reduce_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *x = n->in[0];
    float *dx;
    int rc = grad_of(g, x, &dx);

    if (rc < 0 || !dx)
        return rc;
    KERN()->accumulate_scalar(dx, n->out->grad[0] * n->f, x->numel);
    return TC_OK;
}

/* Sum of x times scale, a scalar. */
static tc_tensor *reduce(tc_graph *g, const char *op, tc_tensor *x, int mean)
{
    tc_node *n = NULL;
    tc_tensor *out;
    float scale = mean ? 1.0f / (float)x->numel : 1.0f;

    out = tc__tensor_empty(g, op, 0, NULL);
    if (!out)
        return NULL;
    KERN()->sum_forward(out->data, x->data, x->numel);
    if (mean)
        out->data[0] /= (float)x->numel; /* NaN for an empty x, as torch */
    if (!finish(g, out, reduce_backward, x, NULL, NULL, &n))
        return NULL;
    if (n)
        n->f = scale;
    return out;
}

tc_tensor *tc_sum(tc_graph *g, tc_tensor *x)
{
    if (bad_args(g, "tc_sum", "x", x, NULL, NULL))
        return NULL;
    return reduce(g, "tc_sum", x, 0);
}

tc_tensor *tc_mean(tc_graph *g, tc_tensor *x)
{
    if (bad_args(g, "tc_mean", "x", x, NULL, NULL))
        return NULL;
    return reduce(g, "tc_mean", x, 1);
}

/* ---- layer norm ---- */

static int layer_norm_backward(tc_graph *g, tc_node *n)
{
    tc_tensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    float *dx, *dgamma, *dbeta;
    int rc;

    if ((rc = grad_of(g, x, &dx)) < 0 || (rc = grad_of(g, gamma, &dgamma)) < 0 ||
        (rc = grad_of(g, beta, &dbeta)) < 0)
        return rc;
    KERN()->layer_norm_backward(dx, dgamma, dbeta, n->out->grad, x->data, n->saved[0], n->saved[1],
                                gamma ? gamma->data : NULL, leading_rows(x), last_dim(x));
    return TC_OK;
}

tc_tensor *tc_layer_norm(tc_graph *g, tc_tensor *x, tc_tensor *gamma, tc_tensor *beta, float eps)
{
    static const char op[] = "tc_layer_norm";
    float *mean, *rstd;
    tc_node *n = NULL;
    tc_tensor *out;

    if (bad_args(g, op, "x", x, NULL, NULL) || (gamma && bad_input(g, op, "gamma", gamma)) ||
        (beta && bad_input(g, op, "beta", beta)))
        return NULL;
    if (x->ndim < 1)
        return OP_ERROR(g, TC_EINVAL, "%s: x is a scalar, expected (..., C)", op);
    if ((gamma && bad_vector(g, op, "gamma", gamma, last_dim(x))) ||
        (beta && bad_vector(g, op, "beta", beta, last_dim(x))))
        return NULL;
    if (!(eps >= 0.0f))
        return OP_ERROR(g, TC_EINVAL, "%s: eps = %g, expected >= 0", op, (double)eps);
    out = empty_like(g, op, x);
    mean = tc__graph_alloc(g, (size_t)leading_rows(x) * sizeof(float), op);
    rstd = tc__graph_alloc(g, (size_t)leading_rows(x) * sizeof(float), op);
    if (!out || !mean || !rstd)
        return NULL;
    KERN()->layer_norm_forward(out->data, mean, rstd, x->data, gamma ? gamma->data : NULL,
                               beta ? beta->data : NULL, eps, leading_rows(x), last_dim(x));
    if (!finish(g, out, layer_norm_backward, x, gamma, beta, &n))
        return NULL;
    if (n) {
        n->saved[0] = mean;
        n->saved[1] = rstd;
    }
    return out;
}

/* ---- reshape ---- */

static int reshape_backward(tc_graph *g, tc_node *n)
{
    return grad_add(g, n->in[0], n->out->grad);
}

tc_tensor *tc_reshape(tc_graph *g, tc_tensor *x, int32_t ndim, const int64_t *shape)
{
    static const char op[] = "tc_reshape";
    tc_tensor probe, *out;
    int64_t numel;

    if (bad_args(g, op, "x", x, NULL, NULL))
        return NULL;
    numel = tc_shape_numel(ndim, shape);
    if (numel < 0)
        return OP_ERROR(g, TC_EINVAL, "%s: invalid shape (%d dimensions)", op, (int)ndim);
    if (numel != x->numel) {
        memset(&probe, 0, sizeof(probe));
        probe.ndim = ndim;
        memcpy(probe.shape, shape, (size_t)ndim * sizeof(int64_t));
        return OP_ERROR(g, TC_EINVAL, "%s: cannot view x %s (%lld elements) as %s (%lld)", op,
                        fmt_shape(x).s, (long long)x->numel, fmt_shape(&probe).s, (long long)numel);
    }
    out = tc__tensor_view(g, op, x, ndim, shape);
    if (!out)
        return NULL;
    return finish(g, out, reshape_backward, x, NULL, NULL, NULL);
}

/* ---- attention ---- */

typedef struct attn_saved {
    tc__attn_args a;
    float *probs; /* (B, NH, T, T): P before dropout */
} attn_saved;

static int attention_backward(tc_graph *g, tc_node *n)
{
    attn_saved *sv = n->saved[0];
    float *dqkv, *scratch;
    int rc = grad_of(g, n->in[0], &dqkv);

    if (rc < 0 || !dqkv)
        return rc;
    scratch =
        tc__graph_alloc(g, (size_t)tc__attention_scratch(&sv->a) * sizeof(float), "tc_attention");
    if (!scratch)
        return tc_graph_status(g);
    KERN()->attention_backward(&sv->a, dqkv, n->out->grad, sv->probs, scratch);
    return TC_OK;
}

/* The arguments of tc_attention that are not shapes: n_heads, dropout_p and the key mask values. */
static int bad_attention_args(tc_graph *g, const tc_tensor *qkv, int32_t n_heads,
                              const int32_t *key_mask, float dropout_p)
{
    static const char op[] = "tc_attention";
    int64_t n;

    if (n_heads < 1) {
        OP_ERROR(g, TC_EINVAL, "%s: n_heads = %d, expected >= 1", op, (int)n_heads);
        return 1;
    }
    if (qkv->ndim != 3 || qkv->shape[2] < 1 || qkv->shape[2] % (3 * (int64_t)n_heads) != 0) {
        OP_ERROR(g, TC_EINVAL,
                 "%s: qkv has shape %s, expected (B, T, 3D) with 3D a positive multiple of "
                 "3 * n_heads = %lld",
                 op, fmt_shape(qkv).s, (long long)(3 * (int64_t)n_heads));
        return 1;
    }
    if (!(dropout_p >= 0.0f && dropout_p < 1.0f)) {
        OP_ERROR(g, TC_EINVAL, "%s: dropout_p = %g is outside [0, 1)", op, (double)dropout_p);
        return 1;
    }
    n = qkv->shape[0] * qkv->shape[1];
    for (int64_t i = 0; key_mask && i < n; i++) {
        if (key_mask[i] != 0 && key_mask[i] != 1) {
            OP_ERROR(g, TC_EINVAL, "%s: key_mask[%lld] = %d (row %lld, key %lld), expected 0 or 1",
                     op, (long long)i, (int)key_mask[i], (long long)(i / qkv->shape[1]),
                     (long long)(i % qkv->shape[1]));
            return 1;
        }
    }
    if (qkv->shape[1] > 0 && qkv->shape[0] * n_heads > INT64_MAX / qkv->shape[1] / qkv->shape[1]) {
        OP_ERROR(g, TC_EINVAL, "%s: qkv %s gives too many attention probabilities", op,
                 fmt_shape(qkv).s);
        return 1;
    }
    return 0;
}

/* The dropout keep mask (n) of an attention's probabilities, in element order from rng. */
static uint8_t *attention_drop_mask(tc_graph *g, tc_rng *rng, int64_t n, float p)
{
    uint8_t *mask = tc__graph_alloc(g, (size_t)n + 1, "tc_attention");

    if (mask)
        tc__rng_keep_mask(rng, mask, n, p);
    return mask;
}

tc_tensor *tc_attention(tc_graph *g, tc_tensor *qkv, int32_t n_heads, const int32_t *key_mask,
                        float dropout_p)
{
    static const char op[] = "tc_attention";
    int64_t shape[3], n_probs;
    attn_saved *sv;
    int32_t *mask_copy = NULL;
    float *probs = NULL, *scratch;
    tc_node *node = NULL;
    tc_rng *rng;
    tc_tensor *out;

    if (bad_args(g, op, "qkv", qkv, NULL, NULL) ||
        bad_attention_args(g, qkv, n_heads, key_mask, dropout_p))
        return NULL;
    shape[0] = qkv->shape[0], shape[1] = qkv->shape[1], shape[2] = qkv->shape[2] / 3;
    n_probs = shape[0] * n_heads * shape[1] * shape[1];
    out = tc__tensor_empty(g, op, 3, shape);
    sv = out ? tc__graph_alloc(g, sizeof(*sv), op) : NULL;
    if (!sv)
        return NULL;
    sv->a = (tc__attn_args){.qkv = qkv->data,
                            .drop_scale = 1.0f,
                            .B = shape[0],
                            .T = shape[1],
                            .D = shape[2],
                            .NH = n_heads};
    if (key_mask) {
        mask_copy = tc__graph_alloc(g, (size_t)(shape[0] * shape[1] + 1) * sizeof(int32_t), op);
        if (!mask_copy)
            return NULL;
        memcpy(mask_copy, key_mask, (size_t)(shape[0] * shape[1]) * sizeof(int32_t));
        sv->a.key_mask = mask_copy;
    }
    rng = tc__graph_rng(g);
    if (tc_graph_training(g) && dropout_p > 0.0f && rng) {
        if (!(sv->a.drop = attention_drop_mask(g, rng, n_probs, dropout_p)))
            return NULL;
        sv->a.drop_scale = 1.0f / (1.0f - dropout_p);
    }
    /* P is kept only for a backward pass; otherwise each thread's scratch holds it */
    if (tc__graph_needs_grad(g, qkv, NULL, NULL) &&
        !(probs = tc__graph_alloc(g, (size_t)(n_probs + 1) * sizeof(float), op)))
        return NULL;
    scratch = tc__graph_alloc(g, (size_t)tc__attention_scratch(&sv->a) * sizeof(float), op);
    if (!scratch)
        return NULL;
    KERN()->attention_forward(&sv->a, out->data, probs, scratch);
    if (!finish(g, out, attention_backward, qkv, NULL, NULL, &node))
        return NULL;
    if (node) {
        sv->probs = probs;
        node->saved[0] = sv;
    }
    return out;
}
