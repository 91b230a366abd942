/*
 * tc/tensor.h - f32 tensors, the per-step graph arena and the autograd tape.
 *
 * A tc_tensor is a plain, transparent struct: contiguous row-major f32 data
 * with up to TC_MAX_DIMS dimensions. Tensors come from one of two owners:
 *
 *   - a tc_params (model parameters; data and grad live in the params' flat
 *     buffers, see <tc/params.h>), or
 *   - a tc_graph (activations for one training or evaluation step). A graph is
 *     an arena plus a tape: every op called on it allocates its output from the
 *     arena and, while gradients are enabled and an input requires a gradient,
 *     records a tape node. tc_backward() walks the tape in reverse.
 *     tc_graph_reset() drops every tensor of the step at once (there is no
 *     per-tensor free) and keeps the arena's memory for the next step.
 *
 * Ops never fail by crashing: an op given a NULL input, a shape mismatch or an
 * exhausted allocator returns NULL, sets the error slot, and records the first
 * error in the graph (tc_graph_status). Because every op returns NULL for a
 * NULL input, forward code can chain ops and check once at the end.
 *
 * Gradients accumulate (+=). Parameter gradients are zeroed by
 * tc_params_zero_grad(); activation gradients are allocated zeroed on demand
 * during tc_backward() and recycled within it (see tc_backward).
 */
#ifndef TC_TENSOR_H
#define TC_TENSOR_H

#include <tc/common.h>
#include <tc/rng.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_MAX_DIMS 4

typedef enum tc_dtype { TC_DTYPE_F32 = 0, TC_DTYPE_MAX } tc_dtype;

typedef enum tc_device { TC_DEVICE_CPU = 0, TC_DEVICE_CUDA = 1, TC_DEVICE_MAX } tc_device;

/** Tensor flags (uint32_t bit set). */
typedef enum tc_tensor_flag {
    TC_TENSOR_REQUIRES_GRAD = 1u << 0, /* gradients flow into this tensor */
    TC_TENSOR_PARAM = 1u << 1,         /* owned by a tc_params */
    TC_TENSOR_NO_DECAY = 1u << 2       /* parameter excluded from weight decay (biases, norms) */
} tc_tensor_flag;

struct tc_node;

typedef struct tc_tensor {
    float *data;                /* numel elements, row-major, contiguous */
    float *grad;                /* numel elements, or NULL when no gradient is held */
    int64_t shape[TC_MAX_DIMS]; /* shape[0..ndim-1]; unused entries are 1 */
    int32_t ndim;               /* 0 (scalar) .. TC_MAX_DIMS */
    int64_t numel;              /* product of shape[0..ndim-1]; 1 for a scalar */
    tc_dtype dtype;             /* TC_DTYPE_F32 */
    tc_device device;           /* TC_DEVICE_CPU */
    uint32_t flags;             /* tc_tensor_flag bits */
    const char *name;           /* parameter name, or NULL for activations; borrowed */
    struct tc_node *node;       /* internal: the tape node that produced this tensor */
} tc_tensor;

/** Opaque per-step arena + tape. */
typedef struct tc_graph tc_graph;

/**
 * Create a graph.
 * @param out receives the graph, owned by the caller, released with tc_graph_free
 * @param arena_bytes initial arena size hint in bytes (0 for a default); the
 *        arena grows on demand up to TC_GRAPH_MAX_ARENA bytes
 * @return TC_OK or TC_ENOMEM
 */
#define TC_GRAPH_MAX_ARENA ((size_t)64 << 30)
TC_API int tc_graph_new(tc_graph **out, size_t arena_bytes);

/** Release a graph and every tensor it holds. Accepts NULL. */
TC_API void tc_graph_free(tc_graph *g);

/** Drop every tensor and tape node of the step; keeps the memory; clears the status. */
TC_API void tc_graph_reset(tc_graph *g);

/**
 * Training mode: when on (the default), ops record the tape and dropout is
 * active. When off (evaluation), no tape is recorded and dropout is the identity.
 */
TC_API void tc_graph_set_training(tc_graph *g, int training);
TC_API int tc_graph_training(const tc_graph *g);

/** The RNG that dropout draws from (borrowed; must outlive its use). NULL disables dropout. */
TC_API void tc_graph_set_rng(tc_graph *g, tc_rng *rng);

/** The first error of any op since the last reset, or TC_OK. */
TC_API int tc_graph_status(const tc_graph *g);

/** Bytes of arena currently in use, for reporting. */
TC_API size_t tc_graph_arena_used(const tc_graph *g);

/**
 * A new zero-filled tensor in the graph's arena. Borrowed: lives until the
 * next tc_graph_reset. NULL on error (invalid shape, out of memory).
 */
TC_API tc_tensor *tc_tensor_new(tc_graph *g, int32_t ndim, const int64_t *shape);

/** Shorthands for tc_tensor_new with one and two dimensions. */
TC_API tc_tensor *tc_tensor_new1d(tc_graph *g, int64_t n);
TC_API tc_tensor *tc_tensor_new2d(tc_graph *g, int64_t rows, int64_t cols);

/** A new tensor in the arena holding a copy of data (numel floats). */
TC_API tc_tensor *tc_tensor_from(tc_graph *g, int32_t ndim, const int64_t *shape,
                                 const float *data);

/**
 * Allocate nbytes of scratch memory from the graph arena (16-byte aligned),
 * released at the next reset. For ops and plugins that need per-step buffers.
 */
TC_API void *tc_graph_alloc(tc_graph *g, size_t nbytes);

/**
 * Back-propagate from a scalar loss: sets d(loss)/d(loss) = 1 and walks the
 * tape in reverse, accumulating into .grad of every tensor that requires a
 * gradient (parameters included). Leaves keep their gradient: parameters, and
 * tensors you made and flagged TC_TENSOR_REQUIRES_GRAD. The gradient of an
 * op's output is released for reuse once that op's backward has consumed it,
 * and its .grad is NULL afterwards (as PyTorch keeps no gradient for
 * non-leaf tensors), except the loss's.
 * @return TC_OK, TC_EINVAL if loss is not a one-element tensor of this graph's
 *         tape, or the graph's first op error
 */
TC_API int tc_backward(tc_graph *g, tc_tensor *loss);

/** Number of elements for a shape; -1 if a dimension is negative or the product overflows. */
TC_API int64_t tc_shape_numel(int32_t ndim, const int64_t *shape);

#ifdef __cplusplus
}
#endif

#endif /* TC_TENSOR_H */
