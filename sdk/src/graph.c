/*
 * graph.c - the per-step arena, tensors in it, and the autograd tape.
 *
 * The arena is a list of blocks handing out memory by bumping an offset.
 * Every allocation is rounded up to TC_GRAPH_ALIGN bytes and every block
 * starts on that alignment, so the bytes a step uses do not depend on where
 * the blocks landed. A new block is at least as large as all the blocks
 * before it together. tc_graph_reset rewinds every block and keeps them, in
 * order: a step that makes the same allocations as the one before lands on
 * the same bytes, so a steady training loop allocates nothing and touches no
 * fresh page after its first step. (Replacing the blocks by one block sized to
 * the high-water mark would cost a second round of page faults on the next
 * step: about a third of a step's time at DistilBERT-base shapes.) The tail a
 * request skips at the end of a block is address space only: pages never
 * written are never resident.
 *
 * Gradient recycling: once a node's backward has run, the gradient of its
 * output (an activation) has been consumed; tc_backward puts the buffer on a
 * free list and clears .grad, and the next activation gradient of the same
 * size takes it. Transformer and MLP layers repeat their shapes, so the
 * gradients of a backward pass take about as much memory as one layer's,
 * not the whole model's.
 *
 * Tape nodes are arena allocations too (see struct tc_node in kernels.h).
 * tc_backward seeds the loss gradient with 1 and runs the nodes from the
 * newest back; a node whose output received no gradient is skipped.
 */
#include <string.h>

#include <tc/error.h>
#include <tc/tensor.h>

#include "internal.h"
#include "kernels.h"

#define ARENA_DEFAULT_BYTES ((size_t)1 << 20)
#define ARENA_MIN_BLOCK ((size_t)64 << 10)

typedef struct arena_block {
    struct arena_block *next; /* the block filled before this one, or NULL */
    size_t cap;               /* usable bytes from base */
    size_t used;              /* bytes handed out from base */
    unsigned char *base;      /* TC_GRAPH_ALIGN aligned start of the usable bytes */
} arena_block;

/* A recycled gradient buffer: the first bytes of the buffer itself. */
typedef struct free_buf {
    struct free_buf *next;
    size_t bytes; /* rounded size */
} free_buf;

/* How many free buffers a gradient allocation looks at before taking arena memory. */
#define FREE_SCAN_MAX 64

struct tc_graph {
    arena_block *first;   /* blocks in the order they were added */
    arena_block *cur;     /* the block allocations come from; NULL when there is none */
    size_t total_cap;     /* sum of the blocks' cap */
    free_buf *free_grads; /* gradient buffers released during tc_backward */
    size_t used;          /* bytes handed out since the last reset */
    tc_node *tape;        /* the newest node, or NULL */
    tc_rng *rng;          /* borrowed; NULL disables dropout */
    int training;         /* record the tape, dropout on */
    int status;           /* the first error since the last reset */
};

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static arena_block *block_new(size_t cap)
{
    arena_block *b;
    uintptr_t start;

    /* one malloc: header, slack to align base, then cap usable bytes */
    b = tc_malloc(sizeof(*b) + TC_GRAPH_ALIGN + cap);
    if (!b)
        return NULL;
    start = round_up((uintptr_t)(b + 1), TC_GRAPH_ALIGN);
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    b->base = (unsigned char *)start;
    return b;
}

static void blocks_free(arena_block *b)
{
    while (b) {
        arena_block *next = b->next;
        tc_free(b);
        b = next;
    }
}

int tc__graph_fail(tc_graph *g, int code)
{
    if (g && g->status == TC_OK)
        g->status = code;
    return code;
}

/* Add a block that fits need bytes; doubles the arena, within TC_GRAPH_MAX_ARENA. */
static int arena_grow(tc_graph *g, size_t need)
{
    size_t cap = g->total_cap > need ? g->total_cap : need;
    arena_block *b;

    if (cap < ARENA_MIN_BLOCK)
        cap = ARENA_MIN_BLOCK;
    if (g->total_cap > TC_GRAPH_MAX_ARENA || need > TC_GRAPH_MAX_ARENA - g->total_cap)
        return tc_error_set(TC_ENOMEM, "graph arena limit of %zu bytes reached (%zu in use)",
                            TC_GRAPH_MAX_ARENA, g->used);
    if (cap > TC_GRAPH_MAX_ARENA - g->total_cap)
        cap = TC_GRAPH_MAX_ARENA - g->total_cap;
    b = block_new(cap);
    if (!b)
        return TC_ENOMEM;
    if (g->cur) {
        while (g->cur->next) /* the blocks after cur were skipped: too small for need */
            g->cur = g->cur->next;
        g->cur->next = b;
    } else {
        g->first = b;
    }
    g->cur = b;
    g->total_cap += cap;
    return TC_OK;
}

void *tc__graph_alloc(tc_graph *g, size_t nbytes, const char *what)
{
    arena_block *b;
    void *p;
    int rc;

    if (nbytes > TC_GRAPH_MAX_ARENA) {
        tc_error_set(TC_ENOMEM, "%s: %zu bytes exceed the graph arena limit", what, nbytes);
        tc__graph_fail(g, TC_ENOMEM);
        return NULL;
    }
    nbytes = round_up(nbytes ? nbytes : 1, TC_GRAPH_ALIGN);
    /* the next kept block that fits (a rewound arena), else a new one */
    while (g->cur && g->cur->cap - g->cur->used < nbytes && g->cur->next)
        g->cur = g->cur->next;
    b = g->cur;
    if (!b || b->cap - b->used < nbytes) {
        rc = arena_grow(g, nbytes);
        if (rc < 0) {
            tc__graph_fail(g, rc);
            return NULL;
        }
        b = g->cur;
    }
    p = b->base + b->used;
    b->used += nbytes;
    g->used += nbytes;
    return p;
}

int tc_graph_new(tc_graph **out, size_t arena_bytes)
{
    tc_graph *g = NULL;
    int rc;

    TC_ASSERT_ARG(out);
    if (arena_bytes > TC_GRAPH_MAX_ARENA)
        return tc_error_set(TC_EINVAL, "graph arena size %zu exceeds the limit of %zu bytes",
                            arena_bytes, TC_GRAPH_MAX_ARENA);
    g = tc_calloc(1, sizeof(*g));
    if (!g)
        return TC_ENOMEM;
    g->training = 1;
    rc = arena_grow(g, arena_bytes ? round_up(arena_bytes, TC_GRAPH_ALIGN) : ARENA_DEFAULT_BYTES);
    if (rc < 0)
        goto out;
    *out = g;
    g = NULL;
out:
    tc_graph_free(g);
    return rc;
}

void tc_graph_free(tc_graph *g)
{
    if (!g)
        return;
    blocks_free(g->first);
    tc_free(g);
}

void tc_graph_reset(tc_graph *g)
{
    if (!g)
        return;
    for (arena_block *b = g->first; b; b = b->next)
        b->used = 0;
    g->cur = g->first;
    g->free_grads = NULL;
    g->used = 0;
    g->tape = NULL;
    g->status = TC_OK;
}

void tc_graph_set_training(tc_graph *g, int training)
{
    if (g)
        g->training = training ? 1 : 0;
}

int tc_graph_training(const tc_graph *g)
{
    return g ? g->training : 0;
}

void tc_graph_set_rng(tc_graph *g, tc_rng *rng)
{
    if (g)
        g->rng = rng;
}

tc_rng *tc__graph_rng(const tc_graph *g)
{
    return g->rng;
}

int tc_graph_status(const tc_graph *g)
{
    return g ? g->status : TC_EINVAL;
}

size_t tc_graph_arena_used(const tc_graph *g)
{
    return g ? g->used : 0;
}

void *tc_graph_alloc(tc_graph *g, size_t nbytes)
{
    if (!g) {
        tc_error_set(TC_EINVAL, "invalid argument: 'g'");
        return NULL;
    }
    return tc__graph_alloc(g, nbytes, "tc_graph_alloc");
}

int64_t tc_shape_numel(int32_t ndim, const int64_t *shape)
{
    int64_t n = 1;

    if (ndim < 0 || ndim > TC_MAX_DIMS || (ndim > 0 && !shape))
        return -1;
    for (int32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] > 0 && n > INT64_MAX / shape[i])
            return -1;
        n *= shape[i];
    }
    return n;
}

/* Fill the shape fields of t; the shape must have been checked. */
static void tensor_set_shape(tc_tensor *t, int32_t ndim, const int64_t *shape, int64_t numel)
{
    for (int32_t i = 0; i < TC_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
    t->ndim = ndim;
    t->numel = numel;
}

/* A tensor struct in the arena, every field set, data NULL. */
static tc_tensor *tensor_struct(tc_graph *g, const char *op, int32_t ndim, const int64_t *shape,
                                int64_t *numel)
{
    tc_tensor *t;
    int64_t n = tc_shape_numel(ndim, shape);

    if (n < 0 || (uint64_t)n > TC_GRAPH_MAX_ARENA / sizeof(float)) {
        if (ndim < 0 || ndim > TC_MAX_DIMS)
            tc_error_set(TC_EINVAL, "%s: %d dimensions, expected 0 to %d", op, (int)ndim,
                         TC_MAX_DIMS);
        else
            tc_error_set(TC_EINVAL, "%s: invalid shape (negative dimension or too large)", op);
        tc__graph_fail(g, TC_EINVAL);
        return NULL;
    }
    t = tc__graph_alloc(g, sizeof(*t), op);
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    tensor_set_shape(t, ndim, shape, n);
    t->dtype = TC_DTYPE_F32;
    t->device = TC_DEVICE_CPU;
    *numel = n;
    return t;
}

tc_tensor *tc__tensor_empty(tc_graph *g, const char *op, int32_t ndim, const int64_t *shape)
{
    int64_t n;
    tc_tensor *t = tensor_struct(g, op, ndim, shape, &n);

    if (!t)
        return NULL;
    t->data = tc__graph_alloc(g, (size_t)n * sizeof(float), op);
    return t->data ? t : NULL;
}

tc_tensor *tc__tensor_view(tc_graph *g, const char *op, tc_tensor *x, int32_t ndim,
                           const int64_t *shape)
{
    int64_t n;
    tc_tensor *t = tensor_struct(g, op, ndim, shape, &n);

    if (!t)
        return NULL;
    t->data = x->data;
    return t;
}

tc_tensor *tc_tensor_new(tc_graph *g, int32_t ndim, const int64_t *shape)
{
    tc_tensor *t;

    if (!g) {
        tc_error_set(TC_EINVAL, "invalid argument: 'g'");
        return NULL;
    }
    t = tc__tensor_empty(g, "tc_tensor_new", ndim, shape);
    if (t)
        memset(t->data, 0, (size_t)t->numel * sizeof(float));
    return t;
}

tc_tensor *tc_tensor_new1d(tc_graph *g, int64_t n)
{
    return tc_tensor_new(g, 1, &n);
}

tc_tensor *tc_tensor_new2d(tc_graph *g, int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};

    return tc_tensor_new(g, 2, shape);
}

tc_tensor *tc_tensor_from(tc_graph *g, int32_t ndim, const int64_t *shape, const float *data)
{
    tc_tensor *t;

    if (!g) {
        tc_error_set(TC_EINVAL, "invalid argument: 'g'");
        return NULL;
    }
    t = tc__tensor_empty(g, "tc_tensor_from", ndim, shape);
    if (!t)
        return NULL;
    if (t->numel > 0 && !data) {
        tc_error_set(TC_EINVAL, "tc_tensor_from: data is NULL");
        tc__graph_fail(g, TC_EINVAL);
        return NULL;
    }
    if (t->numel > 0)
        memcpy(t->data, data, (size_t)t->numel * sizeof(float));
    return t;
}

int tc__graph_needs_grad(const tc_graph *g, const tc_tensor *a, const tc_tensor *b,
                         const tc_tensor *c)
{
    uint32_t any = (a ? a->flags : 0) | (b ? b->flags : 0) | (c ? c->flags : 0);

    return g->training && (any & TC_TENSOR_REQUIRES_GRAD);
}

tc_node *tc__graph_record(tc_graph *g, tc_tensor *out, tc__backward_fn backward, tc_tensor *a,
                          tc_tensor *b, tc_tensor *c)
{
    tc_node *n = tc__graph_alloc(g, sizeof(*n), "tape");

    if (!n)
        return NULL;
    memset(n, 0, sizeof(*n));
    n->prev = g->tape;
    n->graph = g;
    n->backward = backward;
    n->out = out;
    n->in[0] = a;
    n->in[1] = b;
    n->in[2] = c;
    out->node = n;
    out->flags |= TC_TENSOR_REQUIRES_GRAD;
    g->tape = n;
    return n;
}

/* An activation gradient's buffer: a recycled one of the same size, else arena memory. */
static float *grad_buf(tc_graph *g, const tc_tensor *t)
{
    size_t bytes = round_up((size_t)t->numel * sizeof(float), TC_GRAPH_ALIGN);
    free_buf **link = &g->free_grads;

    for (int scanned = 0; *link && scanned < FREE_SCAN_MAX; scanned++) {
        free_buf *f = *link;
        if (f->bytes == bytes) {
            *link = f->next;
            return (float *)(void *)f;
        }
        link = &f->next;
    }
    return tc__graph_alloc(g, (size_t)t->numel * sizeof(float), "gradient");
}

/* After its node's backward: give the gradient of an op's output back (see the top). */
static void grad_release(tc_graph *g, tc_tensor *t)
{
    free_buf *f = (free_buf *)(void *)t->grad;

    if (!f || (t->flags & TC_TENSOR_PARAM) || t->numel <= 0)
        return;
    f->bytes = round_up((size_t)t->numel * sizeof(float), TC_GRAPH_ALIGN);
    f->next = g->free_grads;
    g->free_grads = f;
    t->grad = NULL;
}

float *tc__graph_grad(tc_graph *g, tc_tensor *t)
{
    if (t->grad)
        return t->grad;
    if (t->flags & TC_TENSOR_PARAM) {
        /* parameter gradients belong to the tc_params' flat buffer */
        tc_error_set(TC_EINVAL, "parameter '%s' has no gradient buffer",
                     t->name ? t->name : "(unnamed)");
        tc__graph_fail(g, TC_EINVAL);
        return NULL;
    }
    t->grad = grad_buf(g, t);
    if (t->grad && t->numel > 0)
        memset(t->grad, 0, (size_t)t->numel * sizeof(float));
    return t->grad;
}

int tc__graph_grad_add(tc_graph *g, tc_tensor *t, const float *src)
{
    float *dst;

    if (!t->grad && !(t->flags & TC_TENSOR_PARAM)) {
        /* first contribution: copy rather than zero-fill and add */
        t->grad = grad_buf(g, t);
        if (!t->grad)
            return tc_graph_status(g);
        if (t->numel > 0)
            memcpy(t->grad, src, (size_t)t->numel * sizeof(float));
        return TC_OK;
    }
    dst = tc__graph_grad(g, t);
    if (!dst)
        return tc_graph_status(g);
    tc__kernels_active()->accumulate(dst, src, t->numel);
    return TC_OK;
}

int tc_backward(tc_graph *g, tc_tensor *loss)
{
    float *seed;
    int rc;

    TC_ASSERT_ARG(g);
    if (g->status < 0)
        return g->status;
    if (!loss)
        return tc__graph_fail(g, tc_error_set(TC_EINVAL, "tc_backward: loss is NULL"));
    if (loss->numel != 1)
        return tc_error_set(TC_EINVAL, "tc_backward: loss has %lld elements, expected 1",
                            (long long)loss->numel);
    if (!loss->node || loss->node->graph != g)
        return tc_error_set(TC_EINVAL,
                            "tc_backward: loss is not on this graph's tape (evaluation mode, "
                            "another graph, or nothing requires a gradient)");
    /* a second backward over the same tape starts from fresh activation gradients */
    for (tc_node *n = g->tape; n; n = n->prev)
        n->out->grad = NULL;
    g->free_grads = NULL;
    seed = tc__graph_grad(g, loss);
    if (!seed)
        return g->status;
    seed[0] = 1.0f;
    for (tc_node *n = loss->node; n; n = n->prev) {
        if (!n->out->grad)
            continue;
        rc = n->backward(g, n);
        if (rc < 0)
            return tc__graph_fail(g, rc);
        if (n != loss->node)
            grad_release(g, n->out);
    }
    return TC_OK;
}
