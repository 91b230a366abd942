/*
 * tc/trainer.h - model and dataset instances, and the training loop.
 *
 * A tc_dataset is an opened data plugin; a tc_model is a created model plugin
 * together with its parameters. tc_train() runs the loop that every model
 * shares: seeded shuffling, batching, forward, cross-entropy, backward,
 * gradient clipping, the optimizer and its schedule, evaluation every epoch
 * on the validation split (or a seeded held-out fraction of train when the
 * dataset has none), best-model selection by the chosen metric, early
 * stopping, a checkpoint every epoch and resume from it, and a final
 * evaluation of the best model on the test split.
 *
 * Floating point: on x86, tc_train runs with flush-to-zero and
 * denormals-are-zero set (values below 1.2e-38 become 0, as TensorFlow and
 * oneDNN do) on its thread and the OpenMP pool, and restores the previous
 * mode before returning: subnormal optimizer moments otherwise slow training
 * down 2-3x.
 *
 * Determinism: one seed derives the init, shuffle and dropout streams
 * (<tc/rng.h>); a run resumed from a checkpoint ends with bitwise the same
 * weights as an uninterrupted run with the same seed and thread count.
 *
 * Checkpoint layout (cfg.checkpoint_dir):
 *   state.json                 which epoch directory is current (written last, atomically)
 *   epoch-NNNN/model.safetensors   weights after epoch NNNN
 *   epoch-NNNN/best.safetensors    weights of the best epoch up to NNNN
 *   epoch-NNNN/optimizer.safetensors, epoch-NNNN/trainer.json (position, RNG, history)
 *   epoch-NNNN-batch-BBBBBB/...    the same, written when a run is cancelled
 *                                  inside epoch NNNN after BBBBBB batches
 *                                  (trainer.json "partial": position and loss sums)
 * An epoch directory is completed under a temporary name and renamed; older
 * ones are removed once state.json points at a newer one. A cancelled run
 * (is_cancelled, e.g. SIGTERM) loses no finished batch: it resumes inside the
 * epoch, bitwise as if it had not stopped.
 */
#ifndef TC_TRAINER_H
#define TC_TRAINER_H

#include <tc/metrics.h>
#include <tc/optim.h>
#include <tc/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- datasets ----------------------------------------------------------------------------- */

typedef struct tc_dataset tc_dataset;

/**
 * Open a dataset with a loaded data plugin (borrowed; must outlive the
 * dataset) and validated options (borrowed). host may be NULL.
 */
TC_API int tc_dataset_open(tc_dataset **out, const tc_plugin *plugin, const tc_options *opts,
                           const tc_host *host);

/** What the dataset holds (borrowed, lives as long as d). */
TC_API const tc_data_info *tc_dataset_info(const tc_dataset *d);

/** Number of floats in one example's features (tensor input), else 0. */
TC_API int64_t tc_dataset_feature_numel(const tc_dataset *d);

/** The plugin's content fingerprint into out (cap bytes), or "" when it has none. */
TC_API int tc_dataset_fingerprint(tc_dataset *d, char *out, size_t cap);

/** Read examples; see tc_data_vtable.read. */
TC_API int tc_dataset_read(tc_dataset *d, tc_split split, const int64_t *indices, int64_t n,
                           float *features, const char **texts, int32_t *labels);

/** Close the dataset. Accepts NULL. */
TC_API void tc_dataset_free(tc_dataset *d);

/* ---- models ------------------------------------------------------------------------------- */

typedef struct tc_model tc_model;

/**
 * Create a model with a loaded model plugin (borrowed) for a dataset's info,
 * initialising its parameters from the TC_RNG_STREAM_INIT stream of seed.
 */
TC_API int tc_model_create(tc_model **out, const tc_plugin *plugin, const tc_options *opts,
                           const tc_data_info *info, uint64_t seed, const tc_host *host);

/** The model's parameters (borrowed). */
TC_API tc_params *tc_model_params(const tc_model *m);

/** Forward a batch to logits (B, num_labels) in g. */
TC_API int tc_model_forward(tc_model *m, tc_graph *g, const tc_batch *batch,
                            tc_tensor **out_logits);

/**
 * Save in HF layout into dir (created if needed): model.safetensors (written
 * here) and whatever the plugin's save writes (config.json, tokenizer files).
 */
TC_API int tc_model_save(tc_model *m, const char *dir);

/** Load pretrained weights from an HF-layout directory; TC_EUNSUPPORTED if the plugin can't. */
TC_API int tc_model_load_pretrained(tc_model *m, const char *dir);

/** Destroy the model and its parameters. Accepts NULL. */
TC_API void tc_model_free(tc_model *m);

/* ---- training ----------------------------------------------------------------------------- */

typedef enum tc_metric {
    TC_METRIC_ACCURACY = 0, /* higher is better */
    TC_METRIC_F1 = 1,       /* macro F1, higher is better */
    TC_METRIC_LOSS = 2,     /* validation loss, lower is better */
    TC_METRIC_MAX
} tc_metric;

typedef struct tc_train_config {
    unsigned int version;       /* TC_TRAIN_CONFIG_VERSION */
    int32_t epochs;             /* default 3 */
    int32_t batch_size;         /* default 64 */
    int32_t eval_batch_size;    /* default 256 */
    tc_optim_options optim;     /* default AdamW (0.9, 0.999, 1e-8), weight decay 0 */
    float lr;                   /* peak learning rate, default 1e-3 */
    tc_schedule_kind schedule;  /* default constant */
    float warmup_ratio;         /* fraction of total steps, default 0 */
    int64_t warmup_steps;       /* overrides warmup_ratio when > 0 */
    float max_grad_norm;        /* global-norm clipping, default 1.0; 0 disables */
    uint64_t seed;              /* default 42 */
    float val_fraction;         /* held out of train when there is no validation split, 0.1 */
    tc_metric metric;           /* best-model and early-stopping metric, default accuracy */
    int32_t patience;           /* stop after this many epochs without improvement; 0 = never */
    float min_delta;            /* improvement needed to reset patience, default 0 */
    const char *checkpoint_dir; /* NULL: no checkpoints, no resume */
    int resume;                 /* continue from checkpoint_dir when it holds a checkpoint */
    const char *run_id;         /* stored in checkpoints; resume refuses a different one */
    /* Version 2: */
    /*
     * Text input: group training examples of similar length into batches, as
     * transformers' group_by_length: each run of 50 * batch_size shuffled
     * examples is sorted by text length (bytes, longest first) before it is cut
     * into batches, so a batch padded to its longest text wastes little. Default 0.
     */
    int group_by_length;
} tc_train_config;

#define TC_TRAIN_CONFIG_VERSION 2

/** Fill cfg with the defaults above (version 1 fills only the fields of version 1). */
TC_API int tc_train_config_init(tc_train_config *cfg, unsigned int version);

/**
 * The texts that tc_train(m, d, cfg) will train on: the train split less the
 * validation fraction it holds out when d has no validation split. Pass it
 * as train_texts in a copy of tc_dataset_info(d) to tc_model_create, so a
 * model can build its vocabulary from the training examples only.
 * @param[out] out owned by the caller (tc_text_corpus_free); it reads through
 *             d, which must outlive it
 * @return TC_OK, TC_EINVAL (tensor input, or a bad val_fraction), TC_ENOMEM
 */
TC_API int tc_dataset_train_corpus(tc_text_corpus **out, tc_dataset *d, const tc_train_config *cfg);

/** Release a corpus made by tc_dataset_train_corpus. Accepts NULL. */
TC_API void tc_text_corpus_free(tc_text_corpus *c);

/** Parse "accuracy", "f1" (or "macro_f1"), "loss"; -1 if unknown. */
TC_API int tc_metric_parse(const char *name);

/** One finished epoch. */
typedef struct tc_epoch_report {
    int32_t epoch; /* 1-based */
    int32_t epochs;
    int64_t step;                          /* optimizer steps so far */
    double lr;                             /* learning rate of the last update */
    double train_loss;                     /* mean over the epoch's examples */
    double val_loss, val_accuracy, val_f1; /* NaN when there is no validation data */
    double seconds;                        /* wall time of the epoch (training + evaluation) */
    double train_seconds;                  /* wall time of the training part */
    int improved;                          /* 1 when this epoch is the best so far */
} tc_epoch_report;

typedef struct tc_train_callbacks {
    void *ctx;
    /* After every epoch. */
    void (*on_epoch)(void *ctx, const tc_epoch_report *r);
    /* During an epoch: batches done of total, running mean loss. */
    void (*on_progress)(void *ctx, int32_t epoch, int64_t done, int64_t total, double loss);
    /* Informational lines (resume, early stopping). */
    void (*on_log)(void *ctx, tc_log_level level, const char *message);
    /* Nonzero to stop at the next batch boundary: tc_train returns TC_ECANCELLED. */
    int (*is_cancelled)(void *ctx);
} tc_train_callbacks;

#define TC_TRAIN_MAX_EPOCHS 100000

typedef struct tc_train_result {
    int32_t epochs_run;   /* epochs completed, including those before a resume */
    int32_t resumed_from; /* epochs already done when this run started (0 = fresh) */
    int32_t best_epoch;   /* 1-based; 0 when no epoch ran */
    int early_stopped;
    double best_metric;
    double val_loss, val_accuracy, val_f1;    /* of the best epoch; NaN without validation */
    double test_loss, test_accuracy, test_f1; /* of the best model; NaN without a test split */
    int64_t steps;
    double *epoch_seconds; /* epochs_run - resumed_from entries, this run only */
    int32_t n_epoch_seconds;
    tc_epoch_report *history; /* every epoch so far, those before a resume included */
    int32_t n_history;        /* (history of a cancelled run: its finished epochs) */
} tc_train_result;

/**
 * Train m on d. The model ends holding the best epoch's weights.
 * out is filled on success and on TC_ECANCELLED; release it with
 * tc_train_result_dispose.
 * @return TC_OK, TC_ECANCELLED, TC_EINVAL (bad config, naming the field), or
 *         the first error of a plugin, the data or the file system
 */
TC_API int tc_train(tc_model *m, tc_dataset *d, const tc_train_config *cfg,
                    const tc_train_callbacks *cb, tc_train_result *out);

/** Release what a result holds. Accepts NULL. */
TC_API void tc_train_result_dispose(tc_train_result *r);

/**
 * Evaluate m on one split of d as the trainer does (evaluation mode: no
 * dropout, no tape): every prediction is counted into conf (reset first;
 * made with d's num_labels) and *loss receives the mean cross-entropy over
 * the labelled examples (NaN when there are none). For a confusion matrix
 * after training, or to score a model trained elsewhere on the same data.
 * @param batch_size examples per forward; 0 for 256
 * @param loss may be NULL
 * @return TC_OK, TC_EINVAL (an empty split, a conf of another size), or the
 *         first error of the data or the model
 */
TC_API int tc_evaluate(tc_model *m, tc_dataset *d, tc_split split, int32_t batch_size,
                       tc_confusion *conf, double *loss);

#ifdef __cplusplus
}
#endif

#endif /* TC_TRAINER_H */
