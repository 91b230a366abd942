/*
 * evaluate.c - a trained model folder scored on a pinned evaluation split:
 * the code behind `tcd-worker evaluate` and the champion/challenger
 * comparison of `tcd-worker push --when improved` (push.c).
 *
 *   tcd-worker evaluate --model DIR --spec SPEC.yaml [--split test|validation]
 *                       [--revision R] [--json]
 *
 * The data is the data section of SPEC (a run's tcd-spec.yaml): its plugin
 * and options, a Hub dataset id pulled into the cache at R (a commit, e.g.
 * the run's data_fingerprint; default data.revision, else main). The model
 * is DIR loaded with its own tcd-spec.yaml (model.plugin and its options;
 * "from" or "tokenizer" point at DIR, as `tcd-worker predict` does) and
 * config.json (id2label, which must name the dataset's classes in order).
 * The split is test when the data has one, else validation (a real split of
 * the dataset, not one held out from train). Both the challenger and the
 * champion go through tcd_eval_model with the same tcd_eval_data, so their
 * numbers come from the same code, data and examples.
 *
 * Output: "test: n=1209 accuracy=0.9611 f1=0.9544 loss=0.1234" on stdout, or
 * with --json one line {"split":..,"n":..,"accuracy":..,"f1":..,"loss":..,
 * "data_revision":..,"model":DIR}. Exit 1 when the model or the data cannot
 * be read, 2 on usage errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include <tc/error.h>
#include <tc/metrics.h>
#include <tc/trainer.h>

#include "evaluate.h"
#include "worker.h"

#define EVAL_MAX_CONFIG ((long)16 << 20)
#define EVAL_MAX_MODEL_OPTS 64

static char *slurp(const char *path, long max)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= max &&
        fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
        if (fread(s, 1, (size_t)n, f) == (size_t)n) {
            s[n] = '\0';
        } else {
            free(s);
            s = NULL;
        }
    }
    fclose(f);
    return s;
}

int tcd_eval_split_parse(const char *name, tc_split *out)
{
    if (!strcmp(name, "test"))
        *out = TC_SPLIT_TEST;
    else if (!strcmp(name, "validation") || !strcmp(name, "val"))
        *out = TC_SPLIT_VALIDATION;
    else
        return tc_error_set(TC_EINVAL, "the evaluation split must be test or validation, not '%s'",
                            name);
    return TC_OK;
}

const char *tcd_eval_split_name(tc_split s)
{
    return s == TC_SPLIT_TEST ? "test" : s == TC_SPLIT_VALIDATION ? "validation" : "train";
}

int tcd_eval_data_open(tcd_eval_data *ed, const char *spec_path, const char *split,
                       const char *revision)
{
    const char *id;
    const tc_data_info *info;
    char *snap = NULL;
    int err;

    memset(ed, 0, sizeof(*ed));
    if ((err = tcd_spec_load(&ed->job.spec, spec_path)) < 0 ||
        (err = tcd_job_prepare(&ed->job)) < 0)
        return err;
    id = tcd_job_declares(&ed->job, "data", "dataset")
             ? tc_options_string(ed->job.data_opts, "dataset")
             : NULL;
    if (tcd_is_hub_id(id)) {
        const char *r = revision && *revision ? revision
                        : tcd_job_declares(&ed->job, "data", "revision")
                            ? tc_options_string(ed->job.data_opts, "revision")
                            : NULL;
        if ((err = tcd_hub_pull(NULL, TC_HUB_REPO_DATASET, "data.dataset", id, r, NULL, 0, &snap)) <
            0)
            return err;
        err = tcd_job_set_option(&ed->job, "data", "dataset", snap);
        tc_free(snap);
        if (err < 0)
            return err;
    }
    if ((err = tc_dataset_open(&ed->data, ed->job.data_plugin, ed->job.data_opts, NULL)) < 0 ||
        (err = tc_dataset_fingerprint(ed->data, ed->revision, sizeof(ed->revision))) < 0)
        return err;
    info = tc_dataset_info(ed->data);
    if (split && *split) {
        if ((err = tcd_eval_split_parse(split, &ed->split)) < 0)
            return err;
    } else {
        ed->split = info->split_size[TC_SPLIT_TEST] > 0 ? TC_SPLIT_TEST : TC_SPLIT_VALIDATION;
    }
    if (info->split_size[ed->split] < 1)
        return tc_error_set(TC_EINVAL,
                            "%s: the data has no %s split to evaluate on (a split held out of "
                            "train by val_fraction does not count)",
                            spec_path, tcd_eval_split_name(ed->split));
    return TC_OK;
}

void tcd_eval_data_close(tcd_eval_data *ed)
{
    tc_dataset_free(ed->data);
    tcd_job_dispose(&ed->job);
    memset(ed, 0, sizeof(*ed));
}

/* config.json's id2label must be the dataset's classes, in order (or at least their number). */
static int check_labels(const char *dir, const tc_data_info *info)
{
    char path[4096], *text;
    cJSON *cfg;
    const cJSON *m, *e;
    int32_t n, i;
    int err = TC_OK;

    snprintf(path, sizeof(path), "%s/config.json", dir);
    if (!(text = slurp(path, EVAL_MAX_CONFIG)))
        return tc_error_set(TC_ENOTFOUND, "cannot read '%s'", path);
    cfg = cJSON_Parse(text);
    free(text);
    m = cJSON_GetObjectItemCaseSensitive(cfg, "id2label");
    n = cJSON_GetArraySize(m);
    if (!cJSON_IsObject(m) || n != info->num_labels) {
        err = tc_error_set(TC_EUNSUPPORTED,
                           "%s: the model has %d classes (id2label), the evaluation data %d", path,
                           (int)n, (int)info->num_labels);
        goto out;
    }
    for (i = 0; info->label_names && i < n; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", (int)i);
        e = cJSON_GetObjectItemCaseSensitive(m, key);
        if (!cJSON_IsString(e) || !info->label_names[i] ||
            strcmp(e->valuestring, info->label_names[i])) {
            err = tc_error_set(TC_EUNSUPPORTED,
                               "%s: class %d is '%s' in the model and '%s' in the evaluation data",
                               path, (int)i, cJSON_IsString(e) ? e->valuestring : "?",
                               info->label_names[i] ? info->label_names[i] : "?");
            goto out;
        }
    }
out:
    cJSON_Delete(cfg);
    return err;
}

/* The model of dir as its own tcd-spec.yaml describes it, for the data's classes and inputs. */
static int open_model(tc_model **out, tc_plugin **plugin, const char *dir, const tc_data_info *info)
{
    tcd_spec spec;
    tcd_spec_entry *pe;
    tc_options *opts = NULL;
    const char *kv[2 * EVAL_MAX_MODEL_OPTS + 2];
    char path[4096], *ppath = NULL;
    size_t i, n = 0;
    struct stat st;
    int err;

    memset(&spec, 0, sizeof(spec));
    snprintf(path, sizeof(path), "%s/" TCD_SPEC_FILE, dir);
    if (stat(path, &st) < 0)
        return tc_error_set(TC_EUNSUPPORTED,
                            "'%s' has no " TCD_SPEC_FILE " (not a model tcd trained)", dir);
    if ((err = tcd_spec_load(&spec, path)) < 0)
        return err;
    if (!(pe = tcd_spec_find(&spec, "model", "plugin"))) {
        err = tc_error_set(TC_EUNSUPPORTED, "%s has no model.plugin", path);
        goto out;
    }
    for (i = 0; i < spec.n; i++) {
        const tcd_spec_entry *e = &spec.entries[i];
        if (strcmp(e->section, "model") || e == pe || !strcmp(e->key, "from") ||
            !strcmp(e->key, "revision") || !strcmp(e->key, "tokenizer") ||
            !strcmp(e->key, "vectors"))
            continue;
        if (n == EVAL_MAX_MODEL_OPTS) {
            err = tc_error_set(TC_ERANGE, "%s: too many model options", path);
            goto out;
        }
        kv[2 * n] = e->key;
        kv[2 * n++ + 1] = e->value;
    }
    if ((err = tc_plugin_find(&ppath, pe->value, NULL)) < 0 ||
        (err = tc_plugin_load(plugin, ppath)) < 0)
        goto out;
    if (tc_plugin_descriptor(*plugin)->kind != TC_PLUGIN_MODEL) {
        err =
            tc_error_set(TC_EUNSUPPORTED, "%s: plugin '%s' is not a model plugin", path, pe->value);
        goto out;
    }
    /* the folder is the checkpoint and holds the vocabulary */
    if (tcd_plugin_option(*plugin, "from")) {
        kv[2 * n] = "from";
        kv[2 * n++ + 1] = dir;
    } else if (tcd_plugin_option(*plugin, "tokenizer")) {
        kv[2 * n] = "tokenizer";
        kv[2 * n++ + 1] = dir;
    }
    if ((err = tc_options_parse(&opts, tc_plugin_descriptor(*plugin), kv, n)) < 0 ||
        (err = tc_model_create(out, *plugin, opts, info, 0, NULL)) < 0)
        goto out;
    if ((err = tc_model_load_pretrained(*out, dir)) < 0) {
        tc_model_free(*out);
        *out = NULL;
    }
out:
    tc_options_free(opts);
    tc_free(ppath);
    tcd_spec_dispose(&spec);
    return err;
}

int tcd_eval_model(tcd_eval_result *out, tcd_eval_data *ed, const char *dir)
{
    const tc_data_info *info = tc_dataset_info(ed->data);
    tc_plugin *plugin = NULL;
    tc_model *model = NULL;
    tc_confusion *conf = NULL;
    double loss = NAN;
    int err;

    if ((err = check_labels(dir, info)) < 0)
        return err;
    if ((err = open_model(&model, &plugin, dir, info)) < 0)
        goto out;
    if ((err = tc_confusion_new(&conf, info->num_labels)) < 0 ||
        (err = tc_evaluate(model, ed->data, ed->split, 0, conf, &loss)) < 0)
        goto out;
    memset(out, 0, sizeof(*out));
    out->split = ed->split;
    out->n = tc_confusion_total(conf);
    out->accuracy = tc_confusion_accuracy(conf);
    out->f1 = tc_confusion_macro_f1(conf);
    out->loss = loss;
out:
    tc_confusion_free(conf);
    tc_model_free(model);
    tc_plugin_free(plugin);
    return err;
}

double tcd_eval_value(const tcd_eval_result *r, const char *metric)
{
    if (!strcmp(metric, "loss"))
        return r->loss;
    if (!strcmp(metric, "f1"))
        return r->f1;
    return r->accuracy;
}

static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *tcd_eval_json(const tcd_eval_result *r, const tcd_eval_data *ed)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "split", tcd_eval_split_name(r->split));
    cJSON_AddNumberToObject(o, "n", (double)r->n);
    add_num(o, "accuracy", r->accuracy);
    add_num(o, "f1", r->f1);
    add_num(o, "loss", r->loss);
    if (ed)
        cJSON_AddStringToObject(o, "data_revision", ed->revision);
    return o;
}

static int eval_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "tcd-worker evaluate: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    fprintf(stderr, "usage: tcd-worker evaluate --model DIR --spec SPEC.yaml "
                    "[--split test|validation] [--revision R] [--json]\n");
    return 2;
}

int tcd_cmd_evaluate(int argc, char **argv)
{
    const char *model = NULL, *spec = NULL, *split = NULL, *revision = NULL;
    tcd_eval_data ed;
    tcd_eval_result r;
    int i, json = 0, err;

    for (i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;
        if (!strcmp(o, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(o, "--model"))
            slot = &model;
        else if (!strcmp(o, "--spec"))
            slot = &spec;
        else if (!strcmp(o, "--split"))
            slot = &split;
        else if (!strcmp(o, "--revision"))
            slot = &revision;
        else
            return eval_usage("unexpected argument", o);
        if (!v)
            return eval_usage("missing the value of", o);
        *slot = v;
        i++;
    }
    if (!model)
        return eval_usage("needs --model DIR (a trained model folder)", NULL);
    if (!spec)
        return eval_usage("needs --spec SPEC.yaml (whose data section is evaluated on)", NULL);
    if ((err = tcd_eval_data_open(&ed, spec, split, revision)) < 0 ||
        (err = tcd_eval_model(&r, &ed, model)) < 0) {
        fprintf(stderr, "tcd-worker evaluate: %s\n", tc_error_message());
        tcd_eval_data_close(&ed);
        return 1;
    }
    if (json) {
        cJSON *o = tcd_eval_json(&r, &ed);
        char *s;
        cJSON_AddStringToObject(o, "model", model);
        s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (s)
            printf("%s\n", s);
        cJSON_free(s);
    } else {
        printf("%s: n=%lld accuracy=%.6g f1=%.6g loss=%.6g\n", tcd_eval_split_name(r.split),
               (long long)r.n, r.accuracy, r.f1, r.loss);
    }
    tcd_eval_data_close(&ed);
    return 0;
}
