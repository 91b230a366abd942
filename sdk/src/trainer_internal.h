/*
 * trainer_internal.h - state of one tc_train() run, shared by trainer.c and
 * checkpoint.c.
 */
#ifndef TC_TRAINER_INTERNAL_H
#define TC_TRAINER_INTERNAL_H

#include <tc/metrics.h>
#include <tc/trainer.h>

#include "internal.h"

/* A list of example indices into one plugin split; idx NULL means 0..n-1. */
typedef struct tc__view {
    tc_split split;
    int64_t *idx;
    int64_t n;
} tc__view;

typedef struct tc__len_pos {
    int64_t len, pos;
} tc__len_pos;

typedef struct tc__eval {
    double loss, accuracy, f1;
} tc__eval;

/* The epoch in progress: batches done so far and their summed loss. */
typedef struct tc__pos {
    int32_t epoch; /* 0 when no epoch is in progress */
    int64_t batch; /* batches of the epoch already applied */
    double loss_sum;
    int64_t counted;
    double lr;
} tc__pos;

typedef struct tc__run {
    tc_model *model;
    tc_dataset *data;
    const tc_train_config *cfg;
    const tc_train_callbacks *cb;
    tc__view train, val, test;
    int64_t *perm;        /* (train.n) epoch permutation */
    int64_t *lengths;     /* (train.n) text lengths for group_by_length, or NULL */
    tc__len_pos *len_pos; /* (50 batches) group_by_length's sort buffer */
    int64_t *batch_idx;   /* (max batch) */
    int64_t *scratch_idx; /* (max batch) */
    float *features;      /* (max batch, F) */
    const char **texts;   /* (max batch) */
    int32_t *labels;      /* (max batch) */
    int32_t *preds;       /* (max batch) */
    tc_confusion *conf;
    tc_graph *graph;
    tc_optim *optim;
    tc_schedule sched;
    tc_rng dropout;
    tc_params *best; /* weights of the best epoch */
    int32_t best_epoch;
    double best_metric;
    tc__eval best_eval;
    int32_t bad_epochs;
    tc__pos cur;              /* position inside the current epoch */
    tc_epoch_report *history; /* (cfg->epochs) */
    int32_t n_history;
} tc__run;

TC_INTERNAL double tc__now(void);
TC_INTERNAL int tc__evaluate(tc__run *r, const tc__view *v, tc__eval *out);
/* A new tc_params with the same names, shapes and flags as src, values copied. */
TC_INTERNAL int tc__params_clone(tc_params **out, const tc_params *src);
/*
 * Checkpoint after `epoch` completed epochs; with partial set, also the
 * position inside epoch r->cur.epoch (a cancelled run resumes from that batch).
 */
TC_INTERNAL int tc__checkpoint_save(tc__run *r, int32_t epoch, int partial);
/*
 * Restore the newest checkpoint; *out_epoch = epochs done, 0 when there is
 * none; r->cur holds the position inside the next epoch when it was partial.
 */
TC_INTERNAL int tc__checkpoint_load(tc__run *r, int32_t *out_epoch);

#endif /* TC_TRAINER_INTERNAL_H */
