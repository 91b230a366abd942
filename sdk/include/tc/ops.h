/*
 * tc/ops.h - differentiable ops on f32 tensors.
 *
 * Every op takes the graph first, allocates its output in the graph's arena
 * and returns it (borrowed until tc_graph_reset). On error it returns NULL,
 * sets the error slot and records the graph status; a NULL input yields NULL
 * without a new message, so forward code can chain ops and check once.
 *
 * Each op has a plain C reference kernel kept in the tree (sdk/src/kernels_ref.c)
 * and may have a fast path (OpenBLAS, OpenMP); the fast path is tested against
 * the reference and every backward against finite differences.
 *
 * Dimension vocabulary: B rows (all leading dimensions flattened), K inner
 * (reduction) size, N output features, C normalised/classified features,
 * V vocabulary rows, D embedding width.
 */
#ifndef TC_OPS_H
#define TC_OPS_H

#include <tc/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Label value that cross-entropy skips (as torch's ignore_index). */
#define TC_IGNORE_INDEX (-100)

/** out (M, N) = a (M, K) @ b (K, N). Both inputs must be 2-D. */
TC_API tc_tensor *tc_matmul(tc_graph *g, tc_tensor *a, tc_tensor *b);

/**
 * Linear layer: out (..., N) = x (..., K) @ w^T + bias, with w (N, K) as
 * torch.nn.Linear stores it, bias (N) or NULL. Leading dimensions of x are kept.
 */
TC_API tc_tensor *tc_linear(tc_graph *g, tc_tensor *x, tc_tensor *w, tc_tensor *bias);

/** out (..., N) = x (..., N) + bias (N), broadcast over rows. */
TC_API tc_tensor *tc_bias_add(tc_graph *g, tc_tensor *x, tc_tensor *bias);

/** Elementwise a + b; a and b have the same shape. */
TC_API tc_tensor *tc_add(tc_graph *g, tc_tensor *a, tc_tensor *b);

/** Elementwise a * b; a and b have the same shape. */
TC_API tc_tensor *tc_mul(tc_graph *g, tc_tensor *a, tc_tensor *b);

/** Elementwise s * a. */
TC_API tc_tensor *tc_scale(tc_graph *g, tc_tensor *a, float s);

/** Elementwise max(x, 0). */
TC_API tc_tensor *tc_relu(tc_graph *g, tc_tensor *x);

/** Exact GELU: x * 0.5 * (1 + erf(x / sqrt(2))), as torch's default. */
TC_API tc_tensor *tc_gelu(tc_graph *g, tc_tensor *x);

/** Elementwise tanh. */
TC_API tc_tensor *tc_tanh(tc_graph *g, tc_tensor *x);

/** Elementwise logistic sigmoid. */
TC_API tc_tensor *tc_sigmoid(tc_graph *g, tc_tensor *x);

/** Softmax over the last dimension, numerically stable. */
TC_API tc_tensor *tc_softmax(tc_graph *g, tc_tensor *x);

/**
 * Fused log-softmax + negative log-likelihood: logits (B, C), labels[B] in
 * [0, C) or TC_IGNORE_INDEX. Returns the scalar mean loss over the labels that
 * are not ignored (0 when all are). The labels are copied. A label outside
 * [0, C) is an error naming the row and the value.
 */
TC_API tc_tensor *tc_cross_entropy(tc_graph *g, tc_tensor *logits, const int32_t *labels);

/**
 * Inverted dropout: in training mode zeroes each element with probability p
 * and scales survivors by 1/(1-p), drawing from the graph's RNG; identity in
 * evaluation mode, when p == 0 or when the graph has no RNG. 0 <= p < 1.
 */
TC_API tc_tensor *tc_dropout(tc_graph *g, tc_tensor *x, float p);

/**
 * Embedding lookup: out (n, D) with row i = table[ids[i]], table (V, D).
 * The ids are copied; an id outside [0, V) is an error naming it.
 */
TC_API tc_tensor *tc_embedding(tc_graph *g, tc_tensor *table, const int32_t *ids, int64_t n);

/**
 * tc_embedding as torch.nn.Embedding(padding_idx=padding_idx): positions
 * whose id is padding_idx add nothing to the table's gradient (the padding
 * row's gradient stays 0). padding_idx < 0: none, as tc_embedding.
 */
TC_API tc_tensor *tc_embedding_padded(tc_graph *g, tc_tensor *table, const int32_t *ids, int64_t n,
                                      int32_t padding_idx);

/**
 * Embedding bag: out (B, D) with row b the sum (mean = 0) or the mean
 * (mean = 1) of the table (V, D) rows ids[offsets[b] .. offsets[b+1]), as
 * torch.nn.EmbeddingBag. offsets has B + 1 non-decreasing entries from 0 to
 * the number of ids; an empty bag gives a zero row. ids and offsets are
 * copied; an id outside [0, V) is an error naming it.
 */
TC_API tc_tensor *tc_embedding_bag(tc_graph *g, tc_tensor *table, const int32_t *ids,
                                   const int64_t *offsets, int64_t B, int mean);

/**
 * The recurrence of an LSTM layer over padded sequences, PyTorch's
 * equations and gate order [i, f, g, o]: gx (B, T, 4H) holds the input
 * projections x @ w_ih^T + b_ih + b_hh (one tc_linear over all steps), w_hh
 * is (4H, H). Row b runs from h = c = 0 over t = 0 .. lengths[b]-1, or with
 * reverse = 1 from lengths[b]-1 down to 0 (the backward direction of a
 * bidirectional LSTM). Returns h (B, T, H); positions t >= lengths[b] are 0.
 * lengths (B) are copied, each in [0, T].
 */
TC_API tc_tensor *tc_lstm(tc_graph *g, tc_tensor *gx, tc_tensor *w_hh, const int32_t *lengths,
                          int reverse);

/**
 * One step per row: out (B, H) with row b = x[b, index[b], :] for x (B, T, H),
 * e.g. an LSTM's last valid output (index = lengths - 1). index is copied,
 * each in [0, T).
 */
TC_API tc_tensor *tc_select_steps(tc_graph *g, tc_tensor *x, const int32_t *index);

/** Concatenation along the last dimension: a (..., N), b (..., M) -> (..., N + M). */
TC_API tc_tensor *tc_concat(tc_graph *g, tc_tensor *a, tc_tensor *b);

/** Sum of all elements, a scalar (ndim 0). */
TC_API tc_tensor *tc_sum(tc_graph *g, tc_tensor *x);

/** Mean of all elements, a scalar (ndim 0). */
TC_API tc_tensor *tc_mean(tc_graph *g, tc_tensor *x);

/**
 * Layer normalisation over the last dimension C:
 * out = (x - mean) / sqrt(var + eps) * gamma + beta, biased variance as torch.
 * gamma and beta are (C); either may be NULL (1 and 0).
 */
TC_API tc_tensor *tc_layer_norm(tc_graph *g, tc_tensor *x, tc_tensor *gamma, tc_tensor *beta,
                                float eps);

/** A view of x with a new shape of the same numel, sharing data and gradient flow. */
TC_API tc_tensor *tc_reshape(tc_graph *g, tc_tensor *x, int32_t ndim, const int64_t *shape);

/**
 * Multi-head scaled dot-product self-attention over packed projections, as
 * BERT's: qkv (B, T, 3D) holds Q, K, V side by side (Q columns 0..D-1, K
 * D..2D-1, V 2D..3D-1; head h owns columns h*hd .. h*hd+hd-1 of each,
 * hd = D / n_heads), e.g. from one tc_linear with the weight [Wq; Wk; Wv].
 * For each batch row b and head h: S = Q_h K_h^T * scale (scale =
 * 1/sqrt(hd)); keys j with key_mask[b*T + j] == 0 are excluded (probability
 * exactly 0); P = softmax(S) over keys; dropout on P with probability
 * dropout_p in training mode (inverted, from the graph's RNG as tc_dropout;
 * ignored in evaluation mode or without an RNG); out = P V_h, heads
 * concatenated: returns (B, T, D). A row whose keys are all masked gives
 * zeros. key_mask (B*T values of 0 or 1; NULL: all keys valid) is copied;
 * another value is an error naming its position. 0 <= dropout_p < 1.
 * Keeps P (B, n_heads, T, T) (and the dropout mask) for the backward pass.
 */
TC_API tc_tensor *tc_attention(tc_graph *g, tc_tensor *qkv, int32_t n_heads,
                               const int32_t *key_mask, float dropout_p);

#ifdef __cplusplus
}
#endif

#endif /* TC_OPS_H */
