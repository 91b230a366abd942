/*
 * tc/params.h - model parameters in one flat buffer (and gradients in another).
 *
 * A model declares its parameters by name (Hugging Face names, e.g.
 * "fc1.weight") with tc_params_add. All parameter data lives in one
 * contiguous f32 buffer and all gradients in a second one with identical
 * offsets, so optimizers, gradient clipping and (later) all-reduce are single
 * loops over numel floats. Adding a parameter may move both buffers: the
 * tc_tensor structs stay put, so keep tc_tensor pointers, not data pointers.
 * New parameters are zero-filled; models initialise them (see tc_init_*).
 */
#ifndef TC_PARAMS_H
#define TC_PARAMS_H

#include <tc/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_params tc_params;

/** Upper bound on the total number of parameters (floats) one tc_params may hold. */
#define TC_PARAMS_MAX_NUMEL ((int64_t)1 << 32)

/** Create an empty parameter set, owned by the caller, released with tc_params_free. */
TC_API int tc_params_new(tc_params **out);

/** Release the set and all its tensors. Accepts NULL. */
TC_API void tc_params_free(tc_params *p);

/**
 * Declare a parameter.
 * @param out receives the tensor, borrowed: lives as long as p
 * @param name unique name, copied
 * @param flags TC_TENSOR_NO_DECAY to exclude it from weight decay
 * @return TC_OK, TC_EEXISTS for a duplicate name, TC_EINVAL for a bad shape,
 *         TC_ERANGE past TC_PARAMS_MAX_NUMEL, TC_ENOMEM
 */
TC_API int tc_params_add(tc_params *p, tc_tensor **out, const char *name, int32_t ndim,
                         const int64_t *shape, uint32_t flags);

/** Number of declared parameters. */
TC_API size_t tc_params_count(const tc_params *p);

/** The i-th parameter in declaration order (borrowed), or NULL when out of range. */
TC_API tc_tensor *tc_params_at(const tc_params *p, size_t i);

/** The parameter with this name (borrowed), or NULL. */
TC_API tc_tensor *tc_params_find(const tc_params *p, const char *name);

/** Total number of floats. */
TC_API int64_t tc_params_numel(const tc_params *p);

/** The flat data and gradient buffers (borrowed; may move on tc_params_add). */
TC_API float *tc_params_data(const tc_params *p);
TC_API float *tc_params_grad(const tc_params *p);

/** Set every gradient to zero. */
TC_API void tc_params_zero_grad(tc_params *p);

/**
 * Global L2 norm of all gradients, computed in double in a fixed order.
 * If max_norm > 0, scales every gradient by max_norm / (norm + 1e-6) when
 * that factor is below 1, exactly as torch.nn.utils.clip_grad_norm_.
 * @return the norm before clipping
 */
TC_API double tc_params_clip_grad_norm(tc_params *p, double max_norm);

/**
 * What tc_params_clip_grad_norm would scale the gradients by, without scaling them: 1, or
 * max_norm / (norm + 1e-6) as a float when that is below 1 (max_norm > 0). For
 * tc_optim_step_fused. *norm (may be NULL) receives the norm.
 */
TC_API float tc_params_clip_scale(const tc_params *p, double max_norm, double *norm);

/** Copy all parameter values from src, which must declare the same names and shapes. */
TC_API int tc_params_copy(tc_params *dst, const tc_params *src);

/**
 * Write all parameters to a safetensors file (F32), atomically
 * (temp + fsync + rename). meta is NULL or a NULL-terminated list of
 * key, value, key, value, ... strings for "__metadata__".
 */
TC_API int tc_params_save(const tc_params *p, const char *path, const char *const *meta);

/**
 * Load parameter values from a safetensors file by name. F32, F16 and BF16
 * tensors are converted to f32. Every parameter must be present with the same
 * shape unless allow_missing is set (missing ones are left as they are);
 * tensors in the file that are not parameters are ignored.
 * @return TC_OK, TC_ENOTFOUND naming the first missing tensor, TC_EINVAL on a
 *         shape mismatch (naming both shapes) or a tensor that is not F32, F16
 *         or BF16, TC_EFORMAT for a malformed file; on error nothing is changed
 */
TC_API int tc_params_load(tc_params *p, const char *path, int allow_missing);

/**
 * Parameter initialisers (all draw from r in element order).
 * tc_init_uniform: U(lo, hi). tc_init_normal: N(mean, std^2).
 * tc_init_linear: torch.nn.Linear's default for a (N, K) weight and its bias:
 * both U(-1/sqrt(K), 1/sqrt(K)) (bias may be NULL).
 */
TC_API void tc_init_uniform(tc_tensor *t, tc_rng *r, float lo, float hi);
TC_API void tc_init_normal(tc_tensor *t, tc_rng *r, float mean, float std);
TC_API void tc_init_constant(tc_tensor *t, float value);
TC_API void tc_init_linear(tc_tensor *weight, tc_tensor *bias, tc_rng *r);

#ifdef __cplusplus
}
#endif

#endif /* TC_PARAMS_H */
