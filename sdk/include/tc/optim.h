/*
 * tc/optim.h - optimizers (SGD with momentum, AdamW) and learning-rate schedules.
 *
 * Optimizers work on a tc_params' flat buffers: their state (momentum, or the
 * AdamW moments m and v) are flat buffers with the same offsets. AdamW is
 * exactly torch.optim.AdamW (TRAINING-ANCHORS.md 2.1): decoupled decay scaled
 * by the current lr, bias-corrected moments, eps added after the bias-corrected
 * square root. Parameters flagged TC_TENSOR_NO_DECAY (biases, norms) get no decay.
 * SGD is torch.optim.SGD (dampening 0; weight decay added to the gradient).
 */
#ifndef TC_OPTIM_H
#define TC_OPTIM_H

#include <tc/params.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tc_optim_kind { TC_OPTIM_SGD = 0, TC_OPTIM_ADAMW = 1, TC_OPTIM_MAX } tc_optim_kind;

typedef struct tc_optim_options {
    unsigned int version; /* TC_OPTIM_OPTIONS_VERSION */
    tc_optim_kind kind;
    float weight_decay; /* decoupled for AdamW, L2-in-gradient for SGD */
    float beta1;        /* AdamW, default 0.9 */
    float beta2;        /* AdamW, default 0.999 */
    float eps;          /* AdamW, default 1e-8 */
    float momentum;     /* SGD, default 0.9 */
    int nesterov;       /* SGD, default 0 */
} tc_optim_options;

#define TC_OPTIM_OPTIONS_VERSION 1
#define TC_OPTIM_OPTIONS_INIT                                                                      \
    {                                                                                              \
        TC_OPTIM_OPTIONS_VERSION, TC_OPTIM_ADAMW, 0.0f, 0.9f, 0.999f, 1e-8f, 0.9f, 0               \
    }

/** Fill opts with the defaults of TC_OPTIM_OPTIONS_INIT. */
TC_API int tc_optim_options_init(tc_optim_options *opts, unsigned int version);

typedef struct tc_optim tc_optim;

/**
 * Create an optimizer over params (borrowed; must outlive the optimizer and
 * not gain parameters afterwards). opts NULL means defaults.
 * @return TC_OK, TC_EINVAL for an unknown options version or bad value, TC_ENOMEM
 */
TC_API int tc_optim_new(tc_optim **out, tc_params *params, const tc_optim_options *opts);

/** Release. Accepts NULL. */
TC_API void tc_optim_free(tc_optim *o);

/**
 * One update of every parameter from its gradient with learning rate lr.
 * beta1 < 0 keeps the configured beta1 (AdamW) or momentum (SGD); otherwise it
 * overrides it for this step (one-cycle momentum schedules).
 */
TC_API int tc_optim_step(tc_optim *o, float lr, float beta1);

/**
 * tc_optim_step on the gradients multiplied by grad_scale (1: as they are; a clip coefficient
 * from tc_params_clip_scale), which then sets every gradient to zero: the same parameters,
 * state and bits as scaling the gradients, tc_optim_step and tc_params_zero_grad, in one pass
 * over the flat buffers instead of three.
 * @return TC_OK, TC_EINVAL for a grad_scale that is not a finite number > 0 or an invalid lr
 */
TC_API int tc_optim_step_fused(tc_optim *o, float lr, float beta1, float grad_scale);

/** Number of steps taken so far. */
TC_API int64_t tc_optim_steps(const tc_optim *o);

/**
 * Save the optimizer state to a safetensors file, atomically: AdamW moments
 * as "<param>.exp_avg" and "<param>.exp_avg_sq", SGD momentum as
 * "<param>.momentum_buffer" (torch's state names), metadata "kind" and "step".
 */
TC_API int tc_optim_save(const tc_optim *o, const char *path);

/** Restore state written by tc_optim_save for the same parameters and kind. */
TC_API int tc_optim_load(tc_optim *o, const char *path);

typedef enum tc_schedule_kind {
    TC_SCHEDULE_CONSTANT = 0,  /* lr, after an optional linear warmup */
    TC_SCHEDULE_LINEAR = 1,    /* HF linear: warmup k/W, then (N-k)/(N-W) */
    TC_SCHEDULE_COSINE = 2,    /* HF cosine with 0.5 cycles after warmup */
    TC_SCHEDULE_ONE_CYCLE = 3, /* fastai fit_one_cycle: lr and mirrored momentum */
    TC_SCHEDULE_MAX
} tc_schedule_kind;

typedef struct tc_schedule {
    tc_schedule_kind kind;
    float lr;             /* peak learning rate */
    int64_t total_steps;  /* N: optimizer steps in the whole run */
    int64_t warmup_steps; /* W (not used by one-cycle) */
    float div;            /* one-cycle: start lr = lr/div (fastai 25) */
    float div_final;      /* one-cycle: final lr = lr/div_final (fastai 1e5) */
    float pct_start;      /* one-cycle: fraction spent rising (fastai 0.25) */
    float mom_max;        /* one-cycle: beta1 at the ends (0.95) */
    float mom_min;        /* one-cycle: beta1 at the peak (0.85) */
} tc_schedule;

/**
 * Set kind, lr, N and W; the one-cycle fields get fastai's defaults (div 25,
 * div_final 1e5, pct_start 0.25, beta1 0.95 -> 0.85 -> 0.95). One-cycle ignores
 * warmup_steps and holds its final values past N; cosine past N follows HF.
 */
TC_API void tc_schedule_init(tc_schedule *s, tc_schedule_kind kind, float lr, int64_t total_steps,
                             int64_t warmup_steps);

/**
 * The learning rate for the update that follows k updates already taken
 * (k = 0 for the first update), as HF's LambdaLR indexes it.
 */
TC_API float tc_schedule_lr(const tc_schedule *s, int64_t k);

/** The beta1/momentum for update k: one-cycle's mirrored schedule, or -1 (keep configured). */
TC_API float tc_schedule_beta1(const tc_schedule *s, int64_t k);

/** Parse "constant", "linear", "cosine", "one_cycle" (also "onecycle"); -1 if unknown. */
TC_API int tc_schedule_kind_parse(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* TC_OPTIM_H */
