/*
 * kernels.h - CPU kernels behind <tc/ops.h>, and the graph internals the ops use.
 *
 * Kernels follow llm.c: outputs first, inputs next, sizes last, a shape
 * comment on every array. They are plain loops over contiguous row-major f32
 * data; they never allocate, never fail and never check shapes (ops.c does).
 * Backward kernels accumulate (+=) into their gradient outputs; where a
 * kernel has several gradient outputs, a NULL one is skipped.
 *
 * Every kernel has a reference version (*_ref, kernels_ref.c: the simplest
 * correct loop, kept in the tree) and a fast version (*_fast, kernels_fast.c:
 * OpenBLAS sgemm for the matrix products, OpenMP over rows for large row-wise
 * and elementwise work, `omp simd` inside rows). The two are gathered in the
 * tables tc__kernels_ref and tc__kernels_fast (which reuses the reference
 * embedding backward: repeated ids make it a serial scatter); ops dispatch
 * through tc__kernels_active(), the fast table unless a test selects the
 * reference one.
 *
 * Dimension vocabulary (as <tc/ops.h>): B rows (leading dimensions flattened),
 * K inner (reduction) size, M rows of a matmul's left operand, N output
 * features, C normalised/classified features, V vocabulary rows, D embedding
 * width, n elements.
 */
#ifndef TC_KERNELS_H
#define TC_KERNELS_H

#include <stdint.h>

#include <tc/ops.h>
#include <tc/tensor.h>

#include "internal.h"

/* Elements at or above which row-wise and elementwise fast kernels go parallel. */
#define TC_KERNEL_PAR_MIN_ELEMS ((int64_t)1 << 16)

/* The fixed inputs of the LSTM kernels. */
typedef struct tc__lstm_args {
    const float *gx;    /* (B, T, 4H): x @ w_ih^T + biases, gate order [i, f, g, o] */
    const float *w_hh;  /* (4H, H) */
    const int32_t *len; /* (B): 0 <= len[b] <= T */
    int64_t B, T, H;
    int reverse; /* 1: each row runs from len[b]-1 down to 0 */
} tc__lstm_args;

/*
 * The fixed inputs of the attention kernels (kernels_attn.c). Head h of Q, K
 * and V owns the hd = D / NH columns h*hd .. h*hd+hd-1 of its third of qkv.
 */
typedef struct tc__attn_args {
    const float *qkv;        /* (B, T, 3D): Q columns 0..D-1, K D..2D-1, V 2D..3D-1 */
    const int32_t *key_mask; /* (B, T) of 0/1 (0: key excluded), or NULL: every key valid */
    const uint8_t *drop;     /* (B, NH, T, T) dropout keep mask on P, or NULL: no dropout */
    float drop_scale;        /* 1 / (1 - p), the scale of kept probabilities */
    int64_t B, T, D, NH;
} tc__attn_args;

/* The most threads the fast attention kernels use (each with its own scratch). */
#define TC_ATTN_MAX_THREADS 16

typedef struct tc__kernels {
    const char *name; /* "ref" or "fast" */

    /* out (M, N) = a (M, K) @ b (K, N) */
    void (*matmul_forward)(float *out, const float *a, const float *b, int64_t M, int64_t K,
                           int64_t N);
    /* da (M, K) += dout @ b^T; db (K, N) += a^T @ dout; dout (M, N) */
    void (*matmul_backward)(float *da, float *db, const float *dout, const float *a, const float *b,
                            int64_t M, int64_t K, int64_t N);

    /* out (B, N) = x (B, K) @ w (N, K)^T + bias (N); bias may be NULL */
    void (*linear_forward)(float *out, const float *x, const float *w, const float *bias, int64_t B,
                           int64_t K, int64_t N);
    /* dx (B, K) += dout @ w; dw (N, K) += dout^T @ x; dbias (N) += column sums of dout (B, N) */
    void (*linear_backward)(float *dx, float *dw, float *dbias, const float *dout, const float *x,
                            const float *w, int64_t B, int64_t K, int64_t N);

    /* out (B, N) = x (B, N) + bias (N) */
    void (*bias_add_forward)(float *out, const float *x, const float *bias, int64_t B, int64_t N);
    /* dx (B, N) += dout; dbias (N) += column sums of dout (B, N) */
    void (*bias_add_backward)(float *dx, float *dbias, const float *dout, int64_t B, int64_t N);

    /* dst (n) += src (n) */
    void (*accumulate)(float *dst, const float *src, int64_t n);
    /* dst (n) += value */
    void (*accumulate_scalar)(float *dst, float value, int64_t n);

    /* out (n) = a + b */
    void (*add_forward)(float *out, const float *a, const float *b, int64_t n);
    /* out (n) = a * b */
    void (*mul_forward)(float *out, const float *a, const float *b, int64_t n);
    /* da (n) += dout * b; db (n) += dout * a */
    void (*mul_backward)(float *da, float *db, const float *dout, const float *a, const float *b,
                         int64_t n);
    /* out (n) = s * a */
    void (*scale_forward)(float *out, const float *a, float s, int64_t n);
    /* da (n) += s * dout */
    void (*scale_backward)(float *da, const float *dout, float s, int64_t n);

    /* Activations: out (n) = f(x); dx (n) += f'(.) * dout */
    void (*relu_forward)(float *out, const float *x, int64_t n);
    void (*relu_backward)(float *dx, const float *dout, const float *x, int64_t n);
    void (*gelu_forward)(float *out, const float *x, int64_t n);
    void (*gelu_backward)(float *dx, const float *dout, const float *x, int64_t n);
    void (*tanh_forward)(float *out, const float *x, int64_t n);
    void (*tanh_backward)(float *dx, const float *dout, const float *out, int64_t n);
    void (*sigmoid_forward)(float *out, const float *x, int64_t n);
    void (*sigmoid_backward)(float *dx, const float *dout, const float *out, int64_t n);

    /* out (B, C) = softmax of each row of x (B, C) */
    void (*softmax_forward)(float *out, const float *x, int64_t B, int64_t C);
    /* dx (B, C) += out * (dout - sum(dout * out)) per row */
    void (*softmax_backward)(float *dx, const float *dout, const float *out, int64_t B, int64_t C);

    /*
     * losses (B) = logsumexp(row) - logits[b, labels[b]], 0 for ignored rows;
     * lse (B) = logsumexp of each row of logits (B, C).
     */
    void (*cross_entropy_forward)(float *losses, float *lse, const float *logits,
                                  const int32_t *labels, int64_t B, int64_t C);
    /* dlogits (B, C) += (softmax - onehot(label)) * scale, ignored rows skipped */
    void (*cross_entropy_backward)(float *dlogits, const float *logits, const float *lse,
                                   const int32_t *labels, float scale, int64_t B, int64_t C);

    /* out (n) = x * mask * scale; mask (n) holds 0 or 1 */
    void (*dropout_forward)(float *out, const float *x, const uint8_t *mask, float scale,
                            int64_t n);
    /* dx (n) += dout * mask * scale */
    void (*dropout_backward)(float *dx, const float *dout, const uint8_t *mask, float scale,
                             int64_t n);

    /* out (n, D) row i = table (V, D) row ids[i]; ids already range-checked */
    void (*embedding_forward)(float *out, const float *table, const int32_t *ids, int64_t n,
                              int64_t D);
    /* dtable (V, D) row ids[i] += dout (n, D) row i; negative ids are skipped */
    void (*embedding_backward)(float *dtable, const float *dout, const int32_t *ids, int64_t n,
                               int64_t D);

    /*
     * The LSTM recurrence (kernels_seq.c): h_out (B, T, H) from the input
     * gates gx (B, T, 4H); acts (B, T, 4H) and cells (B, T, H) saved for
     * backward; scratch holds (2H + 4H) * B floats.
     */
    void (*lstm_forward)(const tc__lstm_args *a, float *h_out, float *acts, float *cells,
                         float *scratch);
    /* dgx (B, T, 4H) and dw_hh (4H, H) += ...; either may be NULL; scratch (2H + 4H + H) * B */
    void (*lstm_backward)(const tc__lstm_args *a, float *dgx, float *dw_hh, const float *dout,
                          const float *h_out, const float *acts, const float *cells,
                          float *scratch);
    /* out (B, D) = sum (or mean) of table rows ids[offsets[b] .. offsets[b+1]) */
    void (*embedding_bag_forward)(float *out, const float *table, const int32_t *ids,
                                  const int64_t *offsets, int64_t B, int64_t D, int mean);
    /* dtable (V, D) += the rows' share of dout (B, D) */
    void (*embedding_bag_backward)(float *dtable, const float *dout, const int32_t *ids,
                                   const int64_t *offsets, int64_t B, int64_t D, int mean);

    /* *out = sum of x (n), accumulated in double */
    void (*sum_forward)(float *out, const float *x, int64_t n);

    /*
     * out (B, C) = (x - mean) * rstd * gamma + beta over each row of x (B, C);
     * mean (B), rstd (B) saved for backward; gamma, beta (C) may be NULL.
     */
    void (*layer_norm_forward)(float *out, float *mean, float *rstd, const float *x,
                               const float *gamma, const float *beta, float eps, int64_t B,
                               int64_t C);
    /* dx (B, C), dgamma (C), dbeta (C) += ...; any output may be NULL; gamma may be NULL */
    void (*layer_norm_backward)(float *dx, float *dgamma, float *dbeta, const float *dout,
                                const float *x, const float *mean, const float *rstd,
                                const float *gamma, int64_t B, int64_t C);

    /*
     * Multi-head self-attention: out (B, T, D) = per head softmax(Q K^T / sqrt(hd)),
     * masked keys excluded, dropout applied, times V. probs (B, NH, T, T) receives P
     * before dropout (NULL: not kept, no gradient wanted); scratch holds
     * tc__attention_scratch(a) floats.
     */
    void (*attention_forward)(const tc__attn_args *a, float *out, float *probs, float *scratch);
    /* dqkv (B, T, 3D) += the gradient of out from dout (B, T, D) and the saved probs */
    void (*attention_backward)(const tc__attn_args *a, float *dqkv, const float *dout,
                               const float *probs, float *scratch);
} tc__kernels;

TC_INTERNAL extern const tc__kernels tc__kernels_ref;
TC_INTERNAL extern const tc__kernels tc__kernels_fast;

/* The table the ops dispatch through (tc__kernels_fast unless changed). */
TC_INTERNAL const tc__kernels *tc__kernels_active(void);

/* For tests: make the ops use k (NULL restores the fast table). Not thread-safe. */
TC_INTERNAL void tc__kernels_select(const tc__kernels *k);

/*
 * The element count at or above which the fast kernels use OpenMP:
 * TC_KERNEL_PAR_MIN_ELEMS, or INT64_MAX (never) when OpenMP's spinning idle
 * threads would compete with OpenBLAS's own threads (kernels_fast.c says when).
 */
TC_INTERNAL int64_t tc__kernels_par_min(void);

/* For tests and benchmarks: set that threshold (1: always parallel; -1: decide again). */
TC_INTERNAL void tc__kernels_set_par_min(int64_t n);

/*
 * The reference kernels by name (kernels_ref.c). Signatures and shapes are
 * those of the table fields above.
 */
TC_INTERNAL void tc__matmul_forward_ref(float *out, const float *a, const float *b, int64_t M,
                                        int64_t K, int64_t N);
TC_INTERNAL void tc__matmul_backward_ref(float *da, float *db, const float *dout, const float *a,
                                         const float *b, int64_t M, int64_t K, int64_t N);
TC_INTERNAL void tc__linear_forward_ref(float *out, const float *x, const float *w,
                                        const float *bias, int64_t B, int64_t K, int64_t N);
TC_INTERNAL void tc__linear_backward_ref(float *dx, float *dw, float *dbias, const float *dout,
                                         const float *x, const float *w, int64_t B, int64_t K,
                                         int64_t N);
TC_INTERNAL void tc__bias_add_forward_ref(float *out, const float *x, const float *bias, int64_t B,
                                          int64_t N);
TC_INTERNAL void tc__bias_add_backward_ref(float *dx, float *dbias, const float *dout, int64_t B,
                                           int64_t N);
TC_INTERNAL void tc__accumulate_ref(float *dst, const float *src, int64_t n);
TC_INTERNAL void tc__accumulate_scalar_ref(float *dst, float value, int64_t n);
TC_INTERNAL void tc__add_forward_ref(float *out, const float *a, const float *b, int64_t n);
TC_INTERNAL void tc__mul_forward_ref(float *out, const float *a, const float *b, int64_t n);
TC_INTERNAL void tc__mul_backward_ref(float *da, float *db, const float *dout, const float *a,
                                      const float *b, int64_t n);
TC_INTERNAL void tc__scale_forward_ref(float *out, const float *a, float s, int64_t n);
TC_INTERNAL void tc__scale_backward_ref(float *da, const float *dout, float s, int64_t n);
TC_INTERNAL void tc__relu_forward_ref(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__relu_backward_ref(float *dx, const float *dout, const float *x, int64_t n);
TC_INTERNAL void tc__gelu_forward_ref(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__gelu_backward_ref(float *dx, const float *dout, const float *x, int64_t n);
TC_INTERNAL void tc__tanh_forward_ref(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__tanh_backward_ref(float *dx, const float *dout, const float *out, int64_t n);
TC_INTERNAL void tc__sigmoid_forward_ref(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__sigmoid_backward_ref(float *dx, const float *dout, const float *out,
                                          int64_t n);
TC_INTERNAL void tc__softmax_forward_ref(float *out, const float *x, int64_t B, int64_t C);
TC_INTERNAL void tc__softmax_backward_ref(float *dx, const float *dout, const float *out, int64_t B,
                                          int64_t C);
TC_INTERNAL void tc__cross_entropy_forward_ref(float *losses, float *lse, const float *logits,
                                               const int32_t *labels, int64_t B, int64_t C);
TC_INTERNAL void tc__cross_entropy_backward_ref(float *dlogits, const float *logits,
                                                const float *lse, const int32_t *labels,
                                                float scale, int64_t B, int64_t C);
TC_INTERNAL void tc__dropout_forward_ref(float *out, const float *x, const uint8_t *mask,
                                         float scale, int64_t n);
TC_INTERNAL void tc__dropout_backward_ref(float *dx, const float *dout, const uint8_t *mask,
                                          float scale, int64_t n);
TC_INTERNAL void tc__lstm_forward_ref(const tc__lstm_args *a, float *h_out, float *acts,
                                      float *cells, float *scratch);
TC_INTERNAL void tc__lstm_backward_ref(const tc__lstm_args *a, float *dgx, float *dw_hh,
                                       const float *dout, const float *h_out, const float *acts,
                                       const float *cells, float *scratch);
TC_INTERNAL void tc__lstm_forward_fast(const tc__lstm_args *a, float *h_out, float *acts,
                                       float *cells, float *scratch);
TC_INTERNAL void tc__lstm_backward_fast(const tc__lstm_args *a, float *dgx, float *dw_hh,
                                        const float *dout, const float *h_out, const float *acts,
                                        const float *cells, float *scratch);
TC_INTERNAL void tc__embedding_bag_forward_ref(float *out, const float *table, const int32_t *ids,
                                               const int64_t *offsets, int64_t B, int64_t D,
                                               int mean);
TC_INTERNAL void tc__embedding_bag_backward_ref(float *dtable, const float *dout,
                                                const int32_t *ids, const int64_t *offsets,
                                                int64_t B, int64_t D, int mean);
TC_INTERNAL void tc__embedding_forward_ref(float *out, const float *table, const int32_t *ids,
                                           int64_t n, int64_t D);
TC_INTERNAL void tc__embedding_backward_ref(float *dtable, const float *dout, const int32_t *ids,
                                            int64_t n, int64_t D);
TC_INTERNAL void tc__sum_forward_ref(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__layer_norm_forward_ref(float *out, float *mean, float *rstd, const float *x,
                                            const float *gamma, const float *beta, float eps,
                                            int64_t B, int64_t C);
TC_INTERNAL void tc__layer_norm_backward_ref(float *dx, float *dgamma, float *dbeta,
                                             const float *dout, const float *x, const float *mean,
                                             const float *rstd, const float *gamma, int64_t B,
                                             int64_t C);

/*
 * The fast kernels by name (kernels_fast.c), for the kernels that differ from
 * the reference ones. The table tc__kernels_fast fills the rest with *_ref.
 */
TC_INTERNAL void tc__matmul_forward_fast(float *out, const float *a, const float *b, int64_t M,
                                         int64_t K, int64_t N);
TC_INTERNAL void tc__matmul_backward_fast(float *da, float *db, const float *dout, const float *a,
                                          const float *b, int64_t M, int64_t K, int64_t N);
TC_INTERNAL void tc__linear_forward_fast(float *out, const float *x, const float *w,
                                         const float *bias, int64_t B, int64_t K, int64_t N);
TC_INTERNAL void tc__linear_backward_fast(float *dx, float *dw, float *dbias, const float *dout,
                                          const float *x, const float *w, int64_t B, int64_t K,
                                          int64_t N);
TC_INTERNAL void tc__bias_add_forward_fast(float *out, const float *x, const float *bias, int64_t B,
                                           int64_t N);
TC_INTERNAL void tc__bias_add_backward_fast(float *dx, float *dbias, const float *dout, int64_t B,
                                            int64_t N);
TC_INTERNAL void tc__accumulate_fast(float *dst, const float *src, int64_t n);
TC_INTERNAL void tc__accumulate_scalar_fast(float *dst, float value, int64_t n);
TC_INTERNAL void tc__add_forward_fast(float *out, const float *a, const float *b, int64_t n);
TC_INTERNAL void tc__mul_forward_fast(float *out, const float *a, const float *b, int64_t n);
TC_INTERNAL void tc__mul_backward_fast(float *da, float *db, const float *dout, const float *a,
                                       const float *b, int64_t n);
TC_INTERNAL void tc__scale_forward_fast(float *out, const float *a, float s, int64_t n);
TC_INTERNAL void tc__scale_backward_fast(float *da, const float *dout, float s, int64_t n);
TC_INTERNAL void tc__relu_forward_fast(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__relu_backward_fast(float *dx, const float *dout, const float *x, int64_t n);
TC_INTERNAL void tc__gelu_forward_fast(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__gelu_backward_fast(float *dx, const float *dout, const float *x, int64_t n);
TC_INTERNAL void tc__tanh_forward_fast(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__tanh_backward_fast(float *dx, const float *dout, const float *out, int64_t n);
TC_INTERNAL void tc__sigmoid_forward_fast(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__sigmoid_backward_fast(float *dx, const float *dout, const float *out,
                                           int64_t n);
TC_INTERNAL void tc__softmax_forward_fast(float *out, const float *x, int64_t B, int64_t C);
TC_INTERNAL void tc__softmax_backward_fast(float *dx, const float *dout, const float *out,
                                           int64_t B, int64_t C);
TC_INTERNAL void tc__cross_entropy_forward_fast(float *losses, float *lse, const float *logits,
                                                const int32_t *labels, int64_t B, int64_t C);
TC_INTERNAL void tc__cross_entropy_backward_fast(float *dlogits, const float *logits,
                                                 const float *lse, const int32_t *labels,
                                                 float scale, int64_t B, int64_t C);
TC_INTERNAL void tc__dropout_forward_fast(float *out, const float *x, const uint8_t *mask,
                                          float scale, int64_t n);
TC_INTERNAL void tc__dropout_backward_fast(float *dx, const float *dout, const uint8_t *mask,
                                           float scale, int64_t n);
TC_INTERNAL void tc__embedding_forward_fast(float *out, const float *table, const int32_t *ids,
                                            int64_t n, int64_t D);
TC_INTERNAL void tc__sum_forward_fast(float *out, const float *x, int64_t n);
TC_INTERNAL void tc__layer_norm_forward_fast(float *out, float *mean, float *rstd, const float *x,
                                             const float *gamma, const float *beta, float eps,
                                             int64_t B, int64_t C);
TC_INTERNAL void tc__layer_norm_backward_fast(float *dx, float *dgamma, float *dbeta,
                                              const float *dout, const float *x, const float *mean,
                                              const float *rstd, const float *gamma, int64_t B,
                                              int64_t C);

/*
 * The attention kernels (kernels_attn.c) and the floats of scratch they take:
 * two (T, T) matrices per thread, for min(B * NH, TC_ATTN_MAX_THREADS) threads.
 */
TC_INTERNAL int64_t tc__attention_scratch(const tc__attn_args *a);
TC_INTERNAL void tc__attention_forward_ref(const tc__attn_args *a, float *out, float *probs,
                                           float *scratch);
TC_INTERNAL void tc__attention_backward_ref(const tc__attn_args *a, float *dqkv, const float *dout,
                                            const float *probs, float *scratch);
TC_INTERNAL void tc__attention_forward_fast(const tc__attn_args *a, float *out, float *probs,
                                            float *scratch);
TC_INTERNAL void tc__attention_backward_fast(const tc__attn_args *a, float *dqkv, const float *dout,
                                             const float *probs, float *scratch);

/*
 * Graph internals shared by graph.c and ops.c.
 *
 * A tape node records one op whose output needs a gradient: its inputs, its
 * output, the op's backward and what the op saved for it (arena buffers and a
 * scalar). Nodes live in the graph arena and form a list from the newest node
 * back (prev), which is the order tc_backward walks.
 */
typedef struct tc_node tc_node;

/* Accumulate n->out->grad into the gradients of n's inputs; TC_OK or a negative code. */
typedef int (*tc__backward_fn)(tc_graph *g, tc_node *n);

struct tc_node {
    tc_node *prev;            /* the node recorded before this one, or NULL */
    const tc_graph *graph;    /* the graph whose tape holds the node */
    tc__backward_fn backward; /* the op's backward */
    tc_tensor *out;           /* the op's output */
    tc_tensor *in[3];         /* the op's tensor inputs (NULL where absent) */
    void *saved[2];           /* op-specific arena buffers (mask, labels, mean, rstd) */
    float f;                  /* op-specific scalar (scale, eps) */
    int64_t i;                /* op-specific integer */
};

/* Round-up size of every arena allocation; also the alignment of every pointer it returns. */
#define TC_GRAPH_ALIGN 64

/* nbytes of uninitialised arena memory, TC_GRAPH_ALIGN aligned; NULL + status on failure. */
TC_INTERNAL void *tc__graph_alloc(tc_graph *g, size_t nbytes, const char *what);

/* A tensor with uninitialised data in the arena; NULL + status on failure. */
TC_INTERNAL tc_tensor *tc__tensor_empty(tc_graph *g, const char *op, int32_t ndim,
                                        const int64_t *shape);

/* A tensor struct in the arena sharing the data of x (for views); NULL + status on failure. */
TC_INTERNAL tc_tensor *tc__tensor_view(tc_graph *g, const char *op, tc_tensor *x, int32_t ndim,
                                       const int64_t *shape);

/* Whether an op on these inputs must record a node: training mode and an input requires grad. */
TC_INTERNAL int tc__graph_needs_grad(const tc_graph *g, const tc_tensor *a, const tc_tensor *b,
                                     const tc_tensor *c);

/*
 * Record a node producing out from a, b, c (any may be NULL), flag out as
 * requiring grad and link it to the tape. NULL + status on failure.
 */
TC_INTERNAL tc_node *tc__graph_record(tc_graph *g, tc_tensor *out, tc__backward_fn backward,
                                      tc_tensor *a, tc_tensor *b, tc_tensor *c);

/*
 * The gradient buffer of t for accumulation, allocated zeroed in the arena on
 * first use (parameters keep theirs). NULL + status on failure.
 */
TC_INTERNAL float *tc__graph_grad(tc_graph *g, tc_tensor *t);

/*
 * Accumulate src (t->numel) into t's gradient. A gradient that does not exist
 * yet is allocated and copied from src (no zero-fill). TC_OK or the status.
 */
TC_INTERNAL int tc__graph_grad_add(tc_graph *g, tc_tensor *t, const float *src);

/* Record code as the graph's status if it has none yet; returns code. */
TC_INTERNAL int tc__graph_fail(tc_graph *g, int code);

/* The graph's RNG (NULL when none) and status, for ops. */
TC_INTERNAL tc_rng *tc__graph_rng(const tc_graph *g);

#endif /* TC_KERNELS_H */
