/*
 * trainer.c - the training loop shared by every model (see <tc/trainer.h>).
 *
 * One epoch: a seeded permutation of the training examples, batches of
 * batch_size (the last one may be smaller), forward, fused cross-entropy,
 * backward, optional global-norm clipping, one optimizer step with the
 * scheduled learning rate. Then evaluation, best-model bookkeeping and a
 * checkpoint (checkpoint.c).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <tc/metrics.h>
#include <tc/ops.h>
#include <tc/trainer.h>

#include "internal.h"
#include "trainer_internal.h"

#define PROGRESS_EVERY 20

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#define MXCSR_FTZ_DAZ 0x8040u /* flush-to-zero (bit 15), denormals-are-zero (bit 6) */
#endif

/*
 * Set the SSE control word on this thread and on every thread of the OpenMP
 * pool (which the kernels and the optimizer use), returning this thread's old
 * value. With csr_or == 0 and restore set, restores `restore` everywhere.
 */
static unsigned int float_mode_set(unsigned int csr_or, int restore, unsigned int old)
{
#ifdef HAVE_MXCSR
    unsigned int prev = _mm_getcsr();
    unsigned int want = restore ? old : (prev | csr_or);

    _mm_setcsr(want);
#ifdef _OPENMP
#pragma omp parallel
    _mm_setcsr(want);
#endif
    return prev;
#else
    (void)csr_or;
    (void)restore;
    return old;
#endif
}

int tc_train_config_init(tc_train_config *cfg, unsigned int version)
{
    TC_ASSERT_ARG(cfg);
    if (version < 1 || version > TC_TRAIN_CONFIG_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_train_config version %u", version);
    /* A version 1 caller's struct ends before group_by_length. */
    memset(cfg, 0, version == 1 ? offsetof(tc_train_config, group_by_length) : sizeof(*cfg));
    cfg->version = version;
    cfg->epochs = 3;
    cfg->batch_size = 64;
    cfg->eval_batch_size = 256;
    tc_optim_options_init(&cfg->optim, TC_OPTIM_OPTIONS_VERSION);
    cfg->lr = 1e-3f;
    cfg->schedule = TC_SCHEDULE_CONSTANT;
    cfg->max_grad_norm = 1.0f;
    cfg->seed = 42;
    cfg->val_fraction = 0.1f;
    cfg->metric = TC_METRIC_ACCURACY;
    return TC_OK;
}

int tc_metric_parse(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "accuracy"))
        return TC_METRIC_ACCURACY;
    if (!strcmp(name, "f1") || !strcmp(name, "macro_f1"))
        return TC_METRIC_F1;
    if (!strcmp(name, "loss"))
        return TC_METRIC_LOSS;
    return -1;
}

double tc__now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int check_config(const tc_train_config *c)
{
    if (!c || c->version != TC_TRAIN_CONFIG_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_train_config version");
    if (c->epochs < 1 || c->epochs > TC_TRAIN_MAX_EPOCHS)
        return tc_error_set(TC_EINVAL, "train.epochs must be in [1, %d], got %d",
                            TC_TRAIN_MAX_EPOCHS, c->epochs);
    if (c->batch_size < 1 || c->batch_size > 1 << 20)
        return tc_error_set(TC_EINVAL, "train.batch_size must be in [1, 1048576], got %d",
                            c->batch_size);
    if (c->eval_batch_size < 1 || c->eval_batch_size > 1 << 20)
        return tc_error_set(TC_EINVAL, "train.eval_batch_size must be in [1, 1048576], got %d",
                            c->eval_batch_size);
    if (!(c->lr >= 0.0f) || !isfinite(c->lr))
        return tc_error_set(TC_EINVAL, "train.lr must be a non-negative number");
    if (c->schedule < 0 || c->schedule >= TC_SCHEDULE_MAX)
        return tc_error_set(TC_EINVAL, "train.schedule is unknown");
    if (!(c->warmup_ratio >= 0.0f && c->warmup_ratio <= 1.0f))
        return tc_error_set(TC_EINVAL, "train.warmup_ratio must be in [0, 1]");
    if (c->warmup_steps < 0)
        return tc_error_set(TC_EINVAL, "train.warmup_steps must be >= 0");
    if (!(c->max_grad_norm >= 0.0f) || !isfinite(c->max_grad_norm))
        return tc_error_set(TC_EINVAL, "train.max_grad_norm must be >= 0");
    if (!(c->val_fraction >= 0.0f && c->val_fraction < 1.0f))
        return tc_error_set(TC_EINVAL, "train.val_fraction must be in [0, 1)");
    if (c->metric < 0 || c->metric >= TC_METRIC_MAX)
        return tc_error_set(TC_EINVAL, "train.metric is unknown");
    if (c->patience < 0)
        return tc_error_set(TC_EINVAL, "train.patience must be >= 0");
    if (!(c->min_delta >= 0.0f))
        return tc_error_set(TC_EINVAL, "train.min_delta must be >= 0");
    return TC_OK;
}

/*
 * The validation examples held out of train: when the dataset has no
 * validation split and val_fraction > 0, the first *nv of a permutation of
 * train seeded by cfg->seed; the rest of it is train. *perm is NULL (and
 * *nv 0) when nothing is held out.
 */
static int heldout(const tc_data_info *info, const tc_train_config *cfg, int64_t **perm,
                   int64_t *nv)
{
    int64_t n = info->split_size[TC_SPLIT_TRAIN], k;
    tc_rng rng;

    *perm = NULL;
    *nv = 0;
    if (info->split_size[TC_SPLIT_VALIDATION] != 0 || !(cfg->val_fraction > 0.0f) || n < 2)
        return TC_OK;
    k = (int64_t)((double)cfg->val_fraction * (double)n + 0.5);
    k = k < 1 ? 1 : k > n - 1 ? n - 1 : k;
    if (!(*perm = tc_calloc((size_t)n, sizeof(int64_t))))
        return TC_ENOMEM;
    tc_rng_init(&rng, cfg->seed, TC_RNG_STREAM_SHUFFLE);
    tc_rng_permutation(&rng, *perm, n);
    *nv = k;
    return TC_OK;
}

/* The training indices: those heldout() leaves, or 0..n-1. */
static int train_indices(const tc_data_info *info, const int64_t *perm, int64_t nv, int64_t **out,
                         int64_t *n_out)
{
    int64_t n = info->split_size[TC_SPLIT_TRAIN] - nv, i;

    if (!(*out = tc_calloc((size_t)(n > 0 ? n : 1), sizeof(int64_t))))
        return TC_ENOMEM;
    for (i = 0; i < n; i++)
        (*out)[i] = perm ? perm[nv + i] : i;
    *n_out = n;
    return TC_OK;
}

/* Split the data into the train, validation and test views the loop uses. */
static int make_views(tc__run *r)
{
    const tc_data_info *info = tc_dataset_info(r->data);
    int64_t *perm = NULL, nv = 0;
    int err;

    r->train.split = TC_SPLIT_TRAIN;
    r->val.split = TC_SPLIT_VALIDATION;
    r->test.split = TC_SPLIT_TEST;
    r->val.n = info->split_size[TC_SPLIT_VALIDATION];
    r->test.n = info->split_size[TC_SPLIT_TEST];
    if ((err = heldout(info, r->cfg, &perm, &nv)) < 0)
        return err;
    if (perm) {
        r->val.split = TC_SPLIT_TRAIN;
        r->val.n = nv;
        r->val.idx = perm; /* the first nv of the permutation */
    }
    return train_indices(info, perm, nv, &r->train.idx, &r->train.n);
}

/* ---- the training corpus offered to a model's create -------------------------------------- */

#define CORPUS_MAX_READ 256

typedef struct corpus {
    tc_text_corpus pub; /* first: tc_text_corpus_free casts back */
    tc_dataset *d;
    int64_t *idx;
    const char **texts; /* (2 * CORPUS_MAX_READ) */
    int32_t labels[CORPUS_MAX_READ];
} corpus;

static int corpus_read(void *ctx, int64_t first, int64_t n, const char **texts)
{
    corpus *c = ctx;
    int32_t fields = c->pub.fields;
    int64_t k;
    int err;

    if (first < 0 || n < 1 || n > CORPUS_MAX_READ || first > c->pub.n - n)
        return tc_error_set(TC_ERANGE, "corpus read of %lld examples at %lld is out of range",
                            (long long)n, (long long)first);
    if ((err = tc_dataset_read(c->d, TC_SPLIT_TRAIN, c->idx + first, n, NULL, c->texts,
                               c->labels)) < 0)
        return err;
    for (k = 0; k < n * fields; k++)
        texts[k] = c->texts[k];
    return TC_OK;
}

int tc_dataset_train_corpus(tc_text_corpus **out, tc_dataset *d, const tc_train_config *cfg)
{
    const tc_data_info *info;
    int64_t *perm = NULL, nv = 0;
    corpus *c;
    int err;

    TC_ASSERT_ARG(out && d && cfg);
    info = tc_dataset_info(d);
    if (info->input != TC_INPUT_TEXT)
        return tc_error_set(TC_EINVAL, "the dataset holds tensors, not texts");
    if (!(cfg->val_fraction >= 0.0f && cfg->val_fraction < 1.0f))
        return tc_error_set(TC_EINVAL, "train.val_fraction must be in [0, 1)");
    if (!(c = tc_calloc(1, sizeof(*c))))
        return TC_ENOMEM;
    c->d = d;
    c->pub.struct_size = sizeof(c->pub);
    c->pub.fields = info->text_fields == 2 ? 2 : 1;
    c->pub.max_read = CORPUS_MAX_READ;
    c->pub.ctx = c;
    c->pub.read = corpus_read;
    if (!(c->texts = tc_calloc(2 * CORPUS_MAX_READ, sizeof(char *)))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = heldout(info, cfg, &perm, &nv)) < 0)
        goto out;
    if ((err = train_indices(info, perm, nv, &c->idx, &c->pub.n)) < 0)
        goto out;
    *out = &c->pub;
    c = NULL;
out:
    tc_free(perm);
    tc_text_corpus_free(c ? &c->pub : NULL);
    return err;
}

void tc_text_corpus_free(tc_text_corpus *pub)
{
    corpus *c = (corpus *)pub;

    if (!c)
        return;
    tc_free(c->idx);
    tc_free(c->texts);
    tc_free(c);
}

/* Index array for a view: its own, or 0..n-1 (built into scratch). */
static const int64_t *view_indices(tc__run *r, const tc__view *v, int64_t start, int64_t n)
{
    int64_t i;

    if (v->idx)
        return v->idx + start;
    for (i = 0; i < n; i++)
        r->scratch_idx[i] = start + i;
    return r->scratch_idx;
}

static int load_batch(tc__run *r, tc_split split, const int64_t *idx, int64_t n, tc_batch *b)
{
    int err = tc_dataset_read(r->data, split, idx, n, r->features, r->texts, r->labels);

    if (err < 0)
        return err;
    memset(b, 0, sizeof(*b));
    b->size = n;
    b->features = r->features;
    b->texts = tc_dataset_info(r->data)->input == TC_INPUT_TEXT ? r->texts : NULL;
    b->pairs = b->texts && tc_dataset_info(r->data)->text_fields == 2 ? r->texts + n : NULL;
    b->labels = r->labels;
    return TC_OK;
}

int tc__evaluate(tc__run *r, const tc__view *v, tc__eval *out)
{
    int64_t start, bs = r->cfg->eval_batch_size, counted = 0;
    double loss_sum = 0.0;
    tc_confusion *conf = r->conf;
    int err = TC_OK;

    tc_confusion_reset(conf);
    tc_graph_set_training(r->graph, 0);
    for (start = 0; start < v->n; start += bs) {
        int64_t n = v->n - start < bs ? v->n - start : bs, k, valid = 0;
        tc_tensor *logits = NULL, *loss;
        tc_batch b;

        tc_graph_reset(r->graph);
        if ((err = load_batch(r, v->split, view_indices(r, v, start, n), n, &b)) < 0)
            goto out;
        if ((err = tc_model_forward(r->model, r->graph, &b, &logits)) < 0)
            goto out;
        if (!(loss = tc_cross_entropy(r->graph, logits, r->labels))) {
            err = tc_graph_status(r->graph);
            goto out;
        }
        for (k = 0; k < n; k++)
            valid += r->labels[k] != TC_IGNORE_INDEX;
        loss_sum += (double)loss->data[0] * (double)valid;
        counted += valid;
        tc_argmax_rows(r->preds, logits->data, n, logits->shape[1]);
        if ((err = tc_confusion_add(conf, r->preds, r->labels, n)) < 0)
            goto out;
        if (r->cb && r->cb->is_cancelled && r->cb->is_cancelled(r->cb->ctx)) {
            err = tc_error_set(TC_ECANCELLED, "training was cancelled");
            goto out;
        }
    }
    out->loss = counted ? loss_sum / (double)counted : NAN;
    out->accuracy = counted ? tc_confusion_accuracy(conf) : NAN;
    out->f1 = counted ? tc_confusion_macro_f1(conf) : NAN;
out:
    tc_graph_reset(r->graph);
    tc_graph_set_training(r->graph, 1);
    return err;
}

/* Text length (bytes, both texts of a pair) of every training example, for group_by_length. */
static int measure_lengths(tc__run *r)
{
    int64_t n = r->train.n, bs = r->cfg->batch_size, start, k;
    int pairs = tc_dataset_info(r->data)->text_fields == 2;
    int err;

    if (!(r->lengths = tc_calloc((size_t)(n > 0 ? n : 1), sizeof(int64_t))) ||
        !(r->len_pos =
              tc_calloc((size_t)(n < 50 * bs ? (n > 0 ? n : 1) : 50 * bs), sizeof(*r->len_pos))))
        return TC_ENOMEM;
    for (start = 0; start < n; start += bs) {
        int64_t m = n - start < bs ? n - start : bs;
        if ((err = tc_dataset_read(r->data, TC_SPLIT_TRAIN, r->train.idx + start, m, r->features,
                                   r->texts, r->labels)) < 0)
            return err;
        for (k = 0; k < m; k++)
            r->lengths[start + k] =
                (int64_t)(r->texts[k] ? strlen(r->texts[k]) : 0) +
                (int64_t)(pairs && r->texts[m + k] ? strlen(r->texts[m + k]) : 0);
    }
    return TC_OK;
}

static int by_length_desc(const void *a, const void *b)
{
    const tc__len_pos *x = a, *y = b;

    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos; /* equal lengths: a fixed order */
}

/*
 * transformers' LengthGroupedSampler: cut the epoch's permutation into
 * megabatches of 50 batches and sort each by length, longest first.
 */
static void group_by_length(tc__run *r)
{
    int64_t n = r->train.n, mega = 50 * (int64_t)r->cfg->batch_size, start, k;

    for (start = 0; start < n; start += mega) {
        int64_t m = n - start < mega ? n - start : mega;
        for (k = 0; k < m; k++) {
            r->len_pos[k].pos = r->perm[start + k];
            r->len_pos[k].len = r->lengths[r->perm[start + k]];
        }
        qsort(r->len_pos, (size_t)m, sizeof(*r->len_pos), by_length_desc);
        for (k = 0; k < m; k++)
            r->perm[start + k] = r->len_pos[k].pos;
    }
}

static void progress(tc__run *r, int32_t epoch, int64_t done, int64_t total, double loss)
{
    if (r->cb && r->cb->on_progress)
        r->cb->on_progress(r->cb->ctx, epoch, done, total, loss);
}

/*
 * Train epoch `epoch` from batch r->cur.batch on (0 unless resuming inside
 * it), keeping r->cur up to date so a cancel can checkpoint the position.
 */
static int train_epoch(tc__run *r, int32_t epoch)
{
    const tc_train_config *c = r->cfg;
    int64_t n = r->train.n, bs = c->batch_size, nb = (n + bs - 1) / bs, b;
    tc_params *params = tc_model_params(r->model);
    tc_rng rng;
    int err = TC_OK;

    if (r->cur.epoch != epoch) {
        memset(&r->cur, 0, sizeof(r->cur));
        r->cur.epoch = epoch;
    }
    /* The epoch's order depends only on (seed, epoch): resume needs no shuffle state. */
    tc_rng_init(&rng, c->seed, ((uint64_t)TC_RNG_STREAM_SHUFFLE << 32) | (uint32_t)epoch);
    tc_rng_permutation(&rng, r->perm, n);
    if (r->lengths)
        group_by_length(r);
    for (b = r->cur.batch; b < nb; b++) {
        int64_t start = b * bs, m = n - start < bs ? n - start : bs, k, valid = 0;
        tc_tensor *logits = NULL, *loss;
        tc_batch batch;
        float lr, beta1, gscale;

        if (r->cb && r->cb->is_cancelled && r->cb->is_cancelled(r->cb->ctx))
            return tc_error_set(TC_ECANCELLED, "training was cancelled");
        for (k = 0; k < m; k++)
            r->batch_idx[k] = r->train.idx[r->perm[start + k]];
        tc_graph_reset(r->graph);
        if ((err = load_batch(r, TC_SPLIT_TRAIN, r->batch_idx, m, &batch)) < 0)
            return err;
        if ((err = tc_model_forward(r->model, r->graph, &batch, &logits)) < 0)
            return err;
        if (!(loss = tc_cross_entropy(r->graph, logits, r->labels)))
            return tc_graph_status(r->graph);
        if ((err = tc_backward(r->graph, loss)) < 0)
            return err;
        if (!isfinite(loss->data[0]))
            return tc_error_set(TC_ERANGE,
                                "loss became %g at epoch %d, step %lld; lower train.lr or set "
                                "train.max_grad_norm",
                                (double)loss->data[0], epoch, (long long)tc_optim_steps(r->optim));
        /* clip, step and zero the gradients in one pass */
        gscale = c->max_grad_norm > 0.0f
                     ? tc_params_clip_scale(params, (double)c->max_grad_norm, NULL)
                     : 1.0f;
        lr = tc_schedule_lr(&r->sched, tc_optim_steps(r->optim));
        beta1 = tc_schedule_beta1(&r->sched, tc_optim_steps(r->optim));
        if ((err = tc_optim_step_fused(r->optim, lr, beta1, gscale)) < 0)
            return err;
        for (k = 0; k < m; k++)
            valid += r->labels[k] != TC_IGNORE_INDEX;
        r->cur.lr = lr;
        r->cur.loss_sum += (double)loss->data[0] * (double)valid;
        r->cur.counted += valid;
        r->cur.batch = b + 1;
        if ((b + 1) % PROGRESS_EVERY == 0 || b + 1 == nb)
            progress(r, epoch, b + 1, nb,
                     r->cur.counted ? r->cur.loss_sum / (double)r->cur.counted : 0.0);
    }
    tc_graph_reset(r->graph);
    return TC_OK;
}

static double metric_value(tc_metric m, const tc__eval *e)
{
    return m == TC_METRIC_LOSS ? e->loss : m == TC_METRIC_F1 ? e->f1 : e->accuracy;
}

static int is_improvement(const tc__run *r, double v)
{
    double d = (double)r->cfg->min_delta;

    if (r->best_epoch == 0 || isnan(r->best_metric))
        return 1;
    if (isnan(v))
        return 0;
    return r->cfg->metric == TC_METRIC_LOSS ? v < r->best_metric - d : v > r->best_metric + d;
}

static void log_line(tc__run *r, tc_log_level level, const char *msg)
{
    if (r->cb && r->cb->on_log)
        r->cb->on_log(r->cb->ctx, level, msg);
}

static int setup(tc__run *r)
{
    const tc_data_info *info = tc_dataset_info(r->data);
    int64_t f = tc_dataset_feature_numel(r->data);
    int64_t maxb =
        r->cfg->batch_size > r->cfg->eval_batch_size ? r->cfg->batch_size : r->cfg->eval_batch_size;
    int64_t total, warm;
    int err;

    if ((err = make_views(r)) < 0)
        return err;
    if (!(r->perm = tc_calloc((size_t)r->train.n, sizeof(int64_t))) ||
        !(r->batch_idx = tc_calloc((size_t)maxb, sizeof(int64_t))) ||
        !(r->scratch_idx = tc_calloc((size_t)maxb, sizeof(int64_t))) ||
        !(r->labels = tc_calloc((size_t)maxb, sizeof(int32_t))) ||
        !(r->preds = tc_calloc((size_t)maxb, sizeof(int32_t))) ||
        !(r->texts = tc_calloc((size_t)(2 * maxb), sizeof(char *))))
        return TC_ENOMEM;
    if (r->cfg->version >= 2 && r->cfg->group_by_length && info->input == TC_INPUT_TEXT &&
        (err = measure_lengths(r)) < 0)
        return err;
    if (f > 0 && !(r->features = tc_calloc((size_t)(maxb * f), sizeof(float))))
        return TC_ENOMEM;
    if ((err = tc_confusion_new(&r->conf, info->num_labels)) < 0)
        return err;
    if ((err = tc_graph_new(&r->graph, 0)) < 0)
        return err;
    tc_rng_init(&r->dropout, r->cfg->seed, TC_RNG_STREAM_DROPOUT);
    tc_graph_set_rng(r->graph, &r->dropout);
    if ((err = tc_optim_new(&r->optim, tc_model_params(r->model), &r->cfg->optim)) < 0)
        return err;
    total = (int64_t)r->cfg->epochs * ((r->train.n + r->cfg->batch_size - 1) / r->cfg->batch_size);
    warm = r->cfg->warmup_steps > 0 ? r->cfg->warmup_steps
                                    : (int64_t)ceil((double)r->cfg->warmup_ratio * (double)total);
    tc_schedule_init(&r->sched, r->cfg->schedule, r->cfg->lr, total, warm);
    return tc__params_clone(&r->best, tc_model_params(r->model));
}

static void teardown(tc__run *r)
{
    tc_free(r->train.idx);
    tc_free(r->val.idx);
    tc_free(r->perm);
    tc_free(r->lengths);
    tc_free(r->len_pos);
    tc_free(r->batch_idx);
    tc_free(r->scratch_idx);
    tc_free(r->labels);
    tc_free(r->preds);
    tc_free(r->texts);
    tc_free(r->features);
    tc_free(r->history);
    tc_confusion_free(r->conf);
    tc_graph_free(r->graph);
    tc_optim_free(r->optim);
    tc_params_free(r->best);
}

static int run_epoch(tc__run *r, int32_t epoch, tc_train_result *res)
{
    tc_epoch_report rep;
    tc__eval ev = {NAN, NAN, NAN};
    double t0 = tc__now(), lr = 0.0, v;
    int err;

    memset(&rep, 0, sizeof(rep));
    err = train_epoch(r, epoch);
    rep.train_seconds = tc__now() - t0;
    if (err == TC_OK && r->val.n > 0)
        err = tc__evaluate(r, &r->val, &ev);
    if (err < 0) {
        /* Keep the work of this epoch: checkpoint the position inside it. */
        if (err == TC_ECANCELLED && r->cfg->checkpoint_dir) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s", tc_error_message());
            if (tc__checkpoint_save(r, epoch - 1, 1) < 0)
                return TC_EIO;
            tc_error_set(TC_ECANCELLED, "%s", msg);
        }
        return err;
    }
    rep.train_loss = r->cur.counted ? r->cur.loss_sum / (double)r->cur.counted : NAN;
    lr = r->cur.lr;
    memset(&r->cur, 0, sizeof(r->cur));
    rep.epoch = epoch;
    rep.epochs = r->cfg->epochs;
    rep.step = tc_optim_steps(r->optim);
    rep.lr = lr;
    rep.val_loss = ev.loss;
    rep.val_accuracy = ev.accuracy;
    rep.val_f1 = ev.f1;
    v = r->val.n > 0 ? metric_value(r->cfg->metric, &ev) : NAN;
    rep.improved = r->val.n > 0 ? is_improvement(r, v) : 1;
    if (rep.improved) {
        r->best_epoch = epoch;
        r->best_metric = v;
        r->best_eval = ev;
        r->bad_epochs = 0;
        if ((err = tc_params_copy(r->best, tc_model_params(r->model))) < 0)
            return err;
    } else {
        r->bad_epochs++;
    }
    r->history[r->n_history++] = rep;
    if (r->cfg->checkpoint_dir && (err = tc__checkpoint_save(r, epoch, 0)) < 0)
        return err;
    rep.seconds = tc__now() - t0;
    r->history[r->n_history - 1].seconds = rep.seconds;
    res->epoch_seconds[res->n_epoch_seconds++] = rep.seconds;
    if (r->cb && r->cb->on_epoch)
        r->cb->on_epoch(r->cb->ctx, &rep);
    return TC_OK;
}

static void fill_result(const tc__run *r, tc_train_result *res, int32_t done)
{
    res->epochs_run = done;
    res->best_epoch = r->best_epoch;
    res->best_metric = r->best_metric;
    res->val_loss = r->best_eval.loss;
    res->val_accuracy = r->best_eval.accuracy;
    res->val_f1 = r->best_eval.f1;
    res->steps = r->optim ? tc_optim_steps(r->optim) : 0;
    tc_free(res->history);
    res->history = NULL;
    res->n_history = 0;
    if (r->n_history > 0 &&
        (res->history = tc_calloc((size_t)r->n_history, sizeof(*res->history)))) {
        memcpy(res->history, r->history, (size_t)r->n_history * sizeof(*res->history));
        res->n_history = r->n_history;
    }
}

int tc_train(tc_model *m, tc_dataset *d, const tc_train_config *cfg, const tc_train_callbacks *cb,
             tc_train_result *out)
{
    tc__run r;
    tc_train_result res;
    int32_t epoch, done = 0;
    unsigned int csr = 0;
    int err, csr_set = 0;
    char msg[256];

    TC_ASSERT_ARG(m && d && out);
    if ((err = check_config(cfg)) < 0)
        return err;
    memset(&r, 0, sizeof(r));
    memset(&res, 0, sizeof(res));
    r.model = m;
    r.data = d;
    r.cfg = cfg;
    r.cb = cb;
    r.best_metric = NAN;
    r.best_eval.loss = r.best_eval.accuracy = r.best_eval.f1 = NAN;
    res.test_loss = res.test_accuracy = res.test_f1 = NAN;
    if (!(r.history = tc_calloc((size_t)cfg->epochs, sizeof(*r.history))) ||
        !(res.epoch_seconds = tc_calloc((size_t)cfg->epochs, sizeof(double)))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = setup(&r)) < 0)
        goto out;
    if (cfg->checkpoint_dir && cfg->resume) {
        if ((err = tc__checkpoint_load(&r, &done)) < 0)
            goto out;
        if (r.cur.epoch > 0) {
            snprintf(msg, sizeof(msg), "resuming epoch %d from batch %lld", r.cur.epoch,
                     (long long)r.cur.batch);
            log_line(&r, TC_LOG_INFO, msg);
        } else if (done > 0) {
            snprintf(msg, sizeof(msg), "resuming from the checkpoint of epoch %d", done);
            log_line(&r, TC_LOG_INFO, msg);
        }
    }
    res.resumed_from = done;
    /*
     * Subnormal floats are flushed to zero while training (as TensorFlow and
     * oneDNN do by default). The AdamW moments of parameters whose gradient is
     * zero (e.g. weights of always-black border pixels) decay through the
     * subnormal range, where x86 arithmetic is ~100x slower: on Fashion-MNIST
     * that made the 2nd and 3rd epochs 2-2.5x slower than the first.
     */
#ifdef HAVE_MXCSR
    csr = float_mode_set(MXCSR_FTZ_DAZ, 0, 0);
    csr_set = 1;
#endif
    for (epoch = done + 1; epoch <= cfg->epochs; epoch++) {
        if (cfg->patience > 0 && r.bad_epochs >= cfg->patience) {
            res.early_stopped = 1;
            break;
        }
        if ((err = run_epoch(&r, epoch, &res)) < 0)
            goto out;
        done = epoch;
    }
    if (res.early_stopped) {
        snprintf(msg, sizeof(msg), "early stopping after epoch %d: no improvement in %d epochs",
                 done, cfg->patience);
        log_line(&r, TC_LOG_INFO, msg);
    }
    if (r.best_epoch > 0 && (err = tc_params_copy(tc_model_params(m), r.best)) < 0)
        goto out;
    if (r.test.n > 0) {
        tc__eval ev;
        if ((err = tc__evaluate(&r, &r.test, &ev)) < 0)
            goto out;
        res.test_loss = ev.loss;
        res.test_accuracy = ev.accuracy;
        res.test_f1 = ev.f1;
    }
out:
    if (csr_set)
        float_mode_set(0, 1, csr);
    fill_result(&r, &res, done);
    teardown(&r);
    if (err < 0 && err != TC_ECANCELLED) {
        tc_train_result_dispose(&res);
        return err;
    }
    *out = res;
    return err;
}

void tc_train_result_dispose(tc_train_result *r)
{
    if (!r)
        return;
    tc_free(r->epoch_seconds);
    r->epoch_seconds = NULL;
    r->n_epoch_seconds = 0;
    tc_free(r->history);
    r->history = NULL;
    r->n_history = 0;
}

int tc_evaluate(tc_model *m, tc_dataset *d, tc_split split, int32_t batch_size, tc_confusion *conf,
                double *loss)
{
    const tc_data_info *info;
    int64_t n, bs = batch_size > 0 ? batch_size : 256, start, f, counted = 0;
    int64_t *idx = NULL;
    int32_t *labels = NULL, *preds = NULL;
    const char **texts = NULL;
    float *features = NULL;
    tc_graph *g = NULL;
    double loss_sum = 0.0;
    int err;

    TC_ASSERT_ARG(m && d && conf && split >= 0 && split < TC_SPLIT_MAX);
    info = tc_dataset_info(d);
    n = info->split_size[split];
    f = tc_dataset_feature_numel(d);
    if (n < 1)
        return tc_error_set(TC_EINVAL, "the dataset has no examples in that split");
    bs = bs > n ? n : bs;
    tc_confusion_reset(conf);
    if (!(idx = tc_calloc((size_t)bs, sizeof(*idx))) ||
        !(labels = tc_calloc((size_t)bs, sizeof(*labels))) ||
        !(preds = tc_calloc((size_t)bs, sizeof(*preds))) ||
        !(texts = tc_calloc((size_t)(2 * bs), sizeof(*texts))) ||
        (f > 0 && !(features = tc_calloc((size_t)(bs * f), sizeof(float))))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = tc_graph_new(&g, 0)) < 0)
        goto out;
    tc_graph_set_training(g, 0);
    for (start = 0; start < n; start += bs) {
        int64_t k, b = n - start < bs ? n - start : bs, valid = 0;
        tc_tensor *logits = NULL, *l;
        tc_batch batch;

        tc_graph_reset(g);
        for (k = 0; k < b; k++)
            idx[k] = start + k;
        if ((err = tc_dataset_read(d, split, idx, b, features, texts, labels)) < 0)
            goto out;
        memset(&batch, 0, sizeof(batch));
        batch.size = b;
        batch.features = features;
        batch.texts = info->input == TC_INPUT_TEXT ? texts : NULL;
        batch.pairs = batch.texts && info->text_fields == 2 ? texts + b : NULL;
        batch.labels = labels;
        if ((err = tc_model_forward(m, g, &batch, &logits)) < 0)
            goto out;
        if (!(l = tc_cross_entropy(g, logits, labels))) {
            err = tc_graph_status(g);
            goto out;
        }
        for (k = 0; k < b; k++)
            valid += labels[k] != TC_IGNORE_INDEX;
        loss_sum += (double)l->data[0] * (double)valid;
        counted += valid;
        tc_argmax_rows(preds, logits->data, b, logits->shape[1]);
        if ((err = tc_confusion_add(conf, preds, labels, b)) < 0)
            goto out;
    }
    if (loss)
        *loss = counted ? loss_sum / (double)counted : NAN;
out:
    tc_graph_free(g);
    tc_free(idx);
    tc_free(labels);
    tc_free(preds);
    tc_free(texts);
    tc_free(features);
    return err;
}
