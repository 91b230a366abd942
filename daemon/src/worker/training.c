/*
 * training.c - the `run` job of tcd-worker: data, model, tc_train, outputs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tc/hub.h>

#include "worker.h"

const char *tcd_error_code_name(int code)
{
    switch (code) {
    case TC_ENOMEM: return "out_of_memory";
    case TC_EINVAL: return "invalid_argument";
    case TC_ENOTFOUND: return "not_found";
    case TC_EEXISTS: return "already_exists";
    case TC_EABI: return "plugin_abi_mismatch";
    case TC_EIO: return "io_error";
    case TC_EFORMAT: return "malformed_data";
    case TC_ECANCELLED: return "cancelled";
    case TC_ERANGE: return "out_of_range";
    case TC_EUNSUPPORTED: return "unsupported";
    default: return "error";
    }
}

void tcd_warn_unused(const tcd_spec *spec, void (*log)(void *, tc_log_level, const char *),
                     void *ctx)
{
    size_t i;
    char msg[1024], where[512];

    for (i = 0; i < spec->n; i++) {
        const tcd_spec_entry *e = &spec->entries[i];
        if (e->used)
            continue;
        snprintf(msg, sizeof(msg), "%s: '%s.%s' is not used by 'tcd-worker run', ignoring",
                 tcd_spec_where(spec, e, where, sizeof(where)), e->section, e->key);
        log(ctx, TC_LOG_WARN, msg);
    }
}

static void add_num(cJSON *o, const char *key, double v)
{
    if (isnan(v))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, v);
}

static cJSON *metrics_json(const tcd_result_info *info)
{
    const tc_train_result *r = &info->train;
    cJSON *m = cJSON_CreateObject(), *secs = cJSON_CreateArray();
    int32_t i;

    add_num(m, "test_accuracy", r->test_accuracy);
    add_num(m, "test_loss", r->test_loss);
    add_num(m, "test_f1", r->test_f1);
    add_num(m, "val_accuracy", r->val_accuracy);
    add_num(m, "val_loss", r->val_loss);
    add_num(m, "val_f1", r->val_f1);
    cJSON_AddNumberToObject(m, "best_epoch", r->best_epoch);
    cJSON_AddNumberToObject(m, "epochs_run", r->epochs_run);
    cJSON_AddNumberToObject(m, "resumed_from_epoch", r->resumed_from);
    cJSON_AddBoolToObject(m, "early_stopped", r->early_stopped);
    cJSON_AddNumberToObject(m, "steps", (double)r->steps);
    for (i = 0; i < r->n_epoch_seconds; i++)
        cJSON_AddItemToArray(secs, cJSON_CreateNumber(r->epoch_seconds[i]));
    cJSON_AddItemToObject(m, "epoch_seconds", secs);
    return m;
}

/* Every epoch's figures, for the model card's curves. */
static cJSON *history_json(const tc_train_result *r)
{
    cJSON *a = cJSON_CreateArray();
    int32_t i;

    for (i = 0; a && i < r->n_history; i++) {
        const tc_epoch_report *h = &r->history[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "epoch", h->epoch);
        cJSON_AddNumberToObject(o, "step", (double)h->step);
        add_num(o, "lr", h->lr);
        add_num(o, "train_loss", h->train_loss);
        add_num(o, "val_loss", h->val_loss);
        add_num(o, "val_accuracy", h->val_accuracy);
        add_num(o, "val_f1", h->val_f1);
        add_num(o, "seconds", h->seconds);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* The spec as run (file plus --set overrides) beside the model: OUT/tcd-spec.yaml. */
static int write_spec(const tcd_job *job, const char *out)
{
    char path[4096], *text = NULL;
    int err;

    if ((err = tcd_spec_to_yaml(&job->spec, &text)) < 0)
        return err;
    snprintf(path, sizeof(path), "%s/" TCD_SPEC_FILE, out);
    err = tc_write_file_atomic(path, text, strlen(text));
    free(text);
    return err;
}

/* A revision as a string, or null when "" (no Hub model; data without a fingerprint). */
static void add_revision(cJSON *o, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static int write_metrics(const tcd_job *job, const tcd_result_info *info)
{
    cJSON *root = metrics_json(info);
    char path[4096], *text;
    int err;

    cJSON_AddItemToObject(root, "history", history_json(&info->train));
    if (info->confusion)
        cJSON_AddItemReferenceToObject(root, "test_confusion", info->confusion);
    cJSON_AddStringToObject(root, "data_fingerprint", info->fingerprint);
    add_revision(root, "data_revision", info->data_revision);
    add_revision(root, "model_revision", info->model_revision);
    cJSON_AddStringToObject(root, "run_id", job->run_id);
    cJSON_AddStringToObject(root, "model_plugin", tc_plugin_descriptor(job->model_plugin)->name);
    cJSON_AddStringToObject(root, "data_plugin", tc_plugin_descriptor(job->data_plugin)->name);
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return tc_error_set(TC_ENOMEM, "out of memory");
    snprintf(path, sizeof(path), "%s/metrics.json", info->output);
    err = tc_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return err;
}

typedef struct pull_ctx {
    const tc_host *host;
} pull_ctx;

static void pull_progress(const tc_hub_progress *p, void *payload)
{
    const tc_host *host = ((pull_ctx *)payload)->host;

    if (host && host->progress && !p->path)
        host->progress(host->ctx, "download", (int64_t)p->done, (int64_t)p->total, "bytes");
}

static int pull_cancel(void *payload)
{
    const tc_host *host = ((pull_ctx *)payload)->host;

    return host && host->is_cancelled && host->is_cancelled(host->ctx);
}

int tcd_is_hub_id(const char *v)
{
    struct stat st;

    return v && *v && stat(v, &st) != 0 && v[0] != '/' && v[0] != '.';
}

int tcd_hub_pull(const tc_host *host, tc_hub_repo_type type, const char *what, const char *id,
                 const char *revision, const char *const *allow, size_t n_allow, char **snap)
{
    tc_hub_download_options o;
    tc_hub_client *client = NULL;
    pull_ctx ctx = {host};
    char msg[1024];
    int err;

    if ((err = tc_hub_client_new(&client, NULL)) < 0)
        return err;
    tc_hub_download_options_init(&o, TC_HUB_DOWNLOAD_OPTIONS_VERSION);
    o.allow_patterns = allow;
    o.n_allow = n_allow;
    o.progress = pull_progress;
    o.cancel = pull_cancel;
    o.payload = &ctx;
    if (host && host->log) {
        snprintf(msg, sizeof(msg), "%s '%s' is not a folder: pulling it from the Hub%s%s", what, id,
                 revision ? " at " : "", revision ? revision : "");
        host->log(host->ctx, TC_LOG_INFO, msg);
    }
    err = tc_hub_snapshot_download(snap, client, type, id, revision, &o);
    tc_hub_client_free(client);
    if (err < 0) {
        snprintf(msg, sizeof(msg), "%s", tc_error_message());
        return tc_error_set(err, "%s '%s' is neither a folder nor a %s the Hub (%s) gives: %s",
                            what, id, type == TC_HUB_REPO_DATASET ? "dataset" : "model",
                            tc_hub_endpoint(), msg);
    }
    return TC_OK;
}

/*
 * Hub ids where folders are expected: a data plugin's "dataset" option (at
 * its "revision"), a model plugin's "tokenizer" option and model.from (at
 * model.revision) are downloaded into the Hub cache and replaced by their
 * snapshot folders, as `tcctl pull` would. Of a model repo only the files a
 * checkpoint (or a tokenizer) needs are fetched.
 */
static int resolve_hub_ids(tcd_job *job, const tc_host *host)
{
    static const char *const model_files[] = {"*.json", "*.safetensors", "vocab.txt", "*.model"};
    const tcd_spec_entry *rev;
    const char *id;
    char *snap = NULL;
    int err;

    id = tcd_job_declares(job, "data", "dataset") ? tc_options_string(job->data_opts, "dataset")
                                                  : NULL;
    if (tcd_is_hub_id(id)) {
        const char *r = tcd_job_declares(job, "data", "revision")
                            ? tc_options_string(job->data_opts, "revision")
                            : NULL;
        if ((err = tcd_hub_pull(host, TC_HUB_REPO_DATASET, "data.dataset", id, r, NULL, 0, &snap)) <
            0)
            return err;
        tcd_snapshot_commit(snap, job->data_commit);
        err = tcd_job_set_option(job, "data", "dataset", snap);
        tc_free(snap);
        snap = NULL;
        if (err < 0)
            return err;
    }
    /* a tokenizer named by Hub id (e.g. bert-base-uncased): its tokenizer files */
    id = tcd_job_declares(job, "model", "tokenizer")
             ? tc_options_string(job->model_opts, "tokenizer")
             : NULL;
    if (tcd_is_hub_id(id)) {
        static const char *const tok_files[] = {"tokenizer.json", "vocab.txt",
                                                "tokenizer_config.json", "special_tokens_map.json"};
        if ((err = tcd_hub_pull(host, TC_HUB_REPO_MODEL, "model.tokenizer", id, NULL, tok_files,
                                sizeof(tok_files) / sizeof(tok_files[0]), &snap)) < 0)
            return err;
        err = tcd_job_set_option(job, "model", "tokenizer", snap);
        tc_free(snap);
        snap = NULL;
        if (err < 0)
            return err;
    }
    if (tcd_is_hub_id(job->pretrained)) {
        rev = tcd_spec_find(&job->spec, "model", "revision");
        if ((err = tcd_hub_pull(host, TC_HUB_REPO_MODEL, "model.from", job->pretrained,
                                rev ? rev->value : NULL, model_files,
                                sizeof(model_files) / sizeof(model_files[0]), &snap)) < 0)
            return err;
        tcd_snapshot_commit(snap, job->model_commit);
        free(job->pretrained_dir);
        job->pretrained_dir = strdup(snap);
        tc_free(snap);
        if (!job->pretrained_dir)
            return tc_error_set(TC_ENOMEM, "out of memory");
        job->pretrained = job->pretrained_dir;
        if (tcd_job_declares(job, "model", "from") &&
            (err = tcd_job_set_option(job, "model", "from", job->pretrained)) < 0)
            return err;
    }
    return TC_OK;
}

/*
 * The best model's confusion matrix on the test split:
 * {"labels": [names], "matrix": [[count of true label i predicted j]]}.
 */
static int test_confusion(tc_model *model, tc_dataset *data, cJSON **out)
{
    const tc_data_info *info = tc_dataset_info(data);
    tc_confusion *conf = NULL;
    cJSON *o = NULL, *labels, *rows;
    int32_t i, j, L = info->num_labels;
    char num[16];
    int err;

    *out = NULL;
    if (info->split_size[TC_SPLIT_TEST] < 1)
        return TC_OK;
    if ((err = tc_confusion_new(&conf, L)) < 0)
        return err;
    if ((err = tc_evaluate(model, data, TC_SPLIT_TEST, 0, conf, NULL)) < 0)
        goto out;
    o = cJSON_CreateObject();
    labels = cJSON_AddArrayToObject(o, "labels");
    rows = cJSON_AddArrayToObject(o, "matrix");
    for (i = 0; labels && rows && i < L; i++) {
        cJSON *row = cJSON_CreateArray();
        snprintf(num, sizeof(num), "%d", (int)i);
        cJSON_AddItemToArray(labels, cJSON_CreateString(info->label_names && info->label_names[i]
                                                            ? info->label_names[i]
                                                            : num));
        for (j = 0; row && j < L; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)tc_confusion_count(conf, i, j)));
        cJSON_AddItemToArray(rows, row);
    }
    *out = o;
out:
    tc_confusion_free(conf);
    return err;
}

int tcd_run_training(tcd_job *job, const char *out, int fresh, const tc_host *host,
                     const tc_train_callbacks *cb, tcd_result_info *info)
{
    tc_dataset *data = NULL;
    tc_model *model = NULL;
    tc_text_corpus *corpus = NULL;
    tc_data_info dinfo;
    char ckpt[4096];
    int err;

    memset(info, 0, sizeof(*info));
    if (!(info->output = strdup(out)))
        return tc_error_set(TC_ENOMEM, "out of memory");
    if ((size_t)snprintf(ckpt, sizeof(ckpt), "%s/checkpoints", out) >= sizeof(ckpt))
        return tc_error_set(TC_EINVAL, "output path too long: '%s'", out);
    if ((err = tc_mkdir_p(out)) < 0)
        return err;
    if ((err = resolve_hub_ids(job, host)) < 0)
        goto out;
    if ((err = tc_dataset_open(&data, job->data_plugin, job->data_opts, host)) < 0)
        goto out;
    if ((err = tc_dataset_fingerprint(data, info->fingerprint, sizeof(info->fingerprint))) < 0)
        goto out;
    snprintf(info->data_revision, sizeof(info->data_revision), "%s",
             job->data_commit[0] ? job->data_commit : info->fingerprint);
    snprintf(info->model_revision, sizeof(info->model_revision), "%s", job->model_commit);
    dinfo = *tc_dataset_info(data);
    /* a text model may build its vocabulary from the examples it will train on */
    if (dinfo.input == TC_INPUT_TEXT) {
        if ((err = tc_dataset_train_corpus(&corpus, data, &job->cfg)) < 0)
            goto out;
        dinfo.train_texts = corpus;
    }
    if ((err = tc_model_create(&model, job->model_plugin, job->model_opts, &dinfo, job->cfg.seed,
                               host)) < 0)
        goto out;
    if (job->pretrained && (err = tc_model_load_pretrained(model, job->pretrained)) < 0)
        goto out;
    job->cfg.checkpoint_dir = ckpt;
    job->cfg.resume = !fresh;
    err = tc_train(model, data, &job->cfg, cb, &info->train);
    if (err < 0)
        goto out;
    if ((err = test_confusion(model, data, &info->confusion)) < 0)
        goto out;
    if ((err = tc_model_save(model, out)) < 0)
        goto out;
    if ((err = write_metrics(job, info)) < 0)
        goto out;
    err = write_spec(job, out);
out:
    job->cfg.checkpoint_dir = NULL;
    tc_model_free(model);
    tc_text_corpus_free(corpus);
    tc_dataset_free(data);
    return err;
}

/* A small confusion matrix (at most 12 classes) as a table on stderr. */
static void print_confusion(const cJSON *conf)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(conf, "labels");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(conf, "matrix"), *l, *row, *v;
    int n = cJSON_GetArraySize(labels);

    if (!conf || n < 1 || n > 12)
        return;
    fprintf(stderr, "test confusion matrix (rows: true label, columns: predicted)\n%14s", "");
    cJSON_ArrayForEach(l, labels) fprintf(stderr, " %10.10s", cJSON_GetStringValue(l));
    fputc('\n', stderr);
    l = labels->child;
    cJSON_ArrayForEach(row, rows)
    {
        fprintf(stderr, "  %-12.12s", l ? cJSON_GetStringValue(l) : "");
        cJSON_ArrayForEach(v, row) fprintf(stderr, " %10.0f", v->valuedouble);
        fputc('\n', stderr);
        l = l ? l->next : NULL;
    }
}

void tcd_print_result(const tcd_result_info *info, const char *state, int json)
{
    const tc_train_result *r = &info->train;

    if (r->test_accuracy == r->test_accuracy)
        fprintf(stderr, "%s: best epoch %d, test_accuracy %.4f, test_loss %.4f, test_f1 %.4f\n",
                state, r->best_epoch, r->test_accuracy, r->test_loss, r->test_f1);
    else
        fprintf(stderr, "%s: best epoch %d\n", state, r->best_epoch);
    print_confusion(info->confusion);
    if (!strcmp(state, "succeeded"))
        fprintf(stderr, "model written to %s (model.safetensors, config.json, metrics.json)\n",
                info->output);
    else
        fprintf(stderr, "run again with the same --out to resume from epoch %d\n", r->epochs_run);
    if (json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "result");
        cJSON_AddStringToObject(e, "state", state);
        cJSON_AddItemToObject(e, "metrics", metrics_json(info));
        if (info->confusion)
            cJSON_AddItemReferenceToObject(e, "test_confusion", info->confusion);
        cJSON_AddStringToObject(e, "output", info->output ? info->output : "");
        if (info->fingerprint[0])
            cJSON_AddStringToObject(e, "data_fingerprint", info->fingerprint);
        add_revision(e, "data_revision", info->data_revision);
        add_revision(e, "model_revision", info->model_revision);
        tcd_emit(e);
    }
}

void tcd_result_info_dispose(tcd_result_info *info)
{
    tc_train_result_dispose(&info->train);
    cJSON_Delete(info->confusion);
    info->confusion = NULL;
    free(info->output);
    info->output = NULL;
}
