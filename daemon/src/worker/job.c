/*
 * job.c - turn a job spec into plugins, options and a tc_train_config.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>

#include "job.h"

typedef enum key_type {
    K_INT,
    K_FLOAT,
    K_SEED,
    K_BOOL,
    K_SCHEDULE,
    K_OPTIM,
    K_METRIC,
    K_EVAL
} key_type;

typedef struct train_key {
    const char *name;
    key_type type;
    size_t offset;
    const char *help;
} train_key;

#define CFG(field) offsetof(tc_train_config, field)

static const train_key train_keys[] = {
    {"epochs", K_INT, CFG(epochs), "number of epochs"},
    {"batch_size", K_INT, CFG(batch_size), "examples per optimizer step"},
    {"eval_batch_size", K_INT, CFG(eval_batch_size), "examples per evaluation batch"},
    {"optimizer", K_OPTIM, CFG(optim.kind), "adamw or sgd"},
    {"lr", K_FLOAT, CFG(lr), "peak learning rate"},
    {"weight_decay", K_FLOAT, CFG(optim.weight_decay), "weight decay"},
    {"beta1", K_FLOAT, CFG(optim.beta1), "AdamW beta1"},
    {"beta2", K_FLOAT, CFG(optim.beta2), "AdamW beta2"},
    {"eps", K_FLOAT, CFG(optim.eps), "AdamW epsilon"},
    {"momentum", K_FLOAT, CFG(optim.momentum), "SGD momentum"},
    {"nesterov", K_BOOL, CFG(optim.nesterov), "SGD Nesterov momentum"},
    {"schedule", K_SCHEDULE, CFG(schedule), "constant, linear, cosine or one_cycle"},
    {"warmup_ratio", K_FLOAT, CFG(warmup_ratio), "warmup as a fraction of all steps"},
    {"warmup_steps", K_INT, CFG(warmup_steps), "warmup steps (overrides warmup_ratio)"},
    {"max_grad_norm", K_FLOAT, CFG(max_grad_norm), "global gradient-norm clip, 0 = off"},
    {"seed", K_SEED, CFG(seed), "seed of init, shuffle and dropout"},
    {"val_fraction", K_FLOAT, CFG(val_fraction), "held-out fraction when no validation split"},
    {"metric", K_METRIC, CFG(metric), "accuracy, f1 or loss"},
    {"patience", K_INT, CFG(patience), "early stopping patience in epochs, 0 = off"},
    {"min_delta", K_FLOAT, CFG(min_delta), "improvement that resets patience"},
    {"eval_every", K_EVAL, 0, "when to evaluate: epoch"},
    {"group_by_length", K_BOOL, CFG(group_by_length), "batch texts of similar length together"},
};

static int bad_value(const tcd_spec *s, const tcd_spec_entry *e, const char *want)
{
    char where[512];

    return tc_error_set(TC_EINVAL, "%s: %s.%s must be %s, got '%s'",
                        tcd_spec_where(s, e, where, sizeof(where)), e->section, e->key, want,
                        e->value);
}

static int set_train_key(tcd_job *job, const train_key *k, tcd_spec_entry *e)
{
    char *base = (char *)&job->cfg, *end;
    long long i;
    unsigned long long u;
    double f;
    int v;

    errno = 0;
    switch (k->type) {
    case K_INT:
        i = strtoll(e->value, &end, 10);
        if (end == e->value || *end || errno || i < INT32_MIN || i > INT32_MAX)
            return bad_value(&job->spec, e, "an integer");
        if (k->offset == CFG(warmup_steps))
            *(int64_t *)(base + k->offset) = i;
        else
            *(int32_t *)(base + k->offset) = (int32_t)i;
        return 0;
    case K_SEED:
        u = strtoull(e->value, &end, 10);
        if (end == e->value || *end || errno || e->value[0] == '-')
            return bad_value(&job->spec, e, "a non-negative integer");
        *(uint64_t *)(base + k->offset) = u;
        return 0;
    case K_FLOAT:
        f = strtod(e->value, &end);
        if (end == e->value || *end || errno || !isfinite(f))
            return bad_value(&job->spec, e, "a number");
        *(float *)(base + k->offset) = (float)f;
        return 0;
    case K_BOOL:
        if (!strcmp(e->value, "true") || !strcmp(e->value, "yes"))
            v = 1;
        else if (!strcmp(e->value, "false") || !strcmp(e->value, "no"))
            v = 0;
        else
            return bad_value(&job->spec, e, "true or false");
        *(int *)(base + k->offset) = v;
        return 0;
    case K_SCHEDULE:
        if ((v = tc_schedule_kind_parse(e->value)) < 0)
            return bad_value(&job->spec, e, "one of constant, linear, cosine, one_cycle");
        job->cfg.schedule = (tc_schedule_kind)v;
        return 0;
    case K_OPTIM:
        if (!strcmp(e->value, "adamw") || !strcmp(e->value, "adam"))
            job->cfg.optim.kind = TC_OPTIM_ADAMW;
        else if (!strcmp(e->value, "sgd"))
            job->cfg.optim.kind = TC_OPTIM_SGD;
        else
            return bad_value(&job->spec, e, "adamw or sgd");
        return 0;
    case K_METRIC:
        if ((v = tc_metric_parse(e->value)) < 0)
            return bad_value(&job->spec, e, "accuracy, f1 or loss");
        job->cfg.metric = (tc_metric)v;
        return 0;
    case K_EVAL:
        if (strcmp(e->value, "epoch"))
            return bad_value(&job->spec, e, "'epoch'");
        return 0;
    }
    return 0;
}

static int parse_train(tcd_job *job)
{
    size_t i, j;
    int err;

    for (i = 0; i < job->spec.n; i++) {
        tcd_spec_entry *e = &job->spec.entries[i];
        const train_key *k = NULL;
        char where[512];
        if (strcmp(e->section, "train"))
            continue;
        for (j = 0; j < sizeof(train_keys) / sizeof(train_keys[0]); j++)
            if (!strcmp(train_keys[j].name, e->key))
                k = &train_keys[j];
        if (!k)
            return tc_error_set(TC_EINVAL,
                                "%s: unknown key 'train.%s'; known keys: epochs, batch_size, lr, "
                                "optimizer, weight_decay, schedule, warmup_ratio, max_grad_norm, "
                                "seed, metric, patience, val_fraction, ...",
                                tcd_spec_where(&job->spec, e, where, sizeof(where)), e->key);
        if ((err = set_train_key(job, k, e)) < 0)
            return err;
        e->used = 1;
    }
    return 0;
}

/* Whether a plugin declares an option of that name. */
static int declares(const tc_plugin *plugin, const char *name)
{
    const tc_plugin_desc *d = tc_plugin_descriptor(plugin);
    uint32_t i;

    for (i = 0; i < d->n_options; i++)
        if (!strcmp(d->options[i].name, name))
            return 1;
    return 0;
}

/* Load the plugin named by SECTION.plugin and validate the section's other keys as options. */
static int load_section(tcd_job *job, const char *section, tc_plugin_kind kind,
                        tc_plugin **out_plugin, tc_options **out_opts)
{
    tcd_spec_entry *pe = tcd_spec_find(&job->spec, section, "plugin");
    const char **kv = NULL;
    char *path = NULL, where[512];
    size_t i, n = 0;
    int err;

    if (!pe)
        return tc_error_set(TC_EINVAL, "%s: missing '%s.plugin' (e.g. %s)", job->spec.path, section,
                            kind == TC_PLUGIN_MODEL ? "model: {plugin: mlp}"
                                                    : "data: {plugin: idx}");
    pe->used = 1;
    if ((err = tc_plugin_find(&path, pe->value, NULL)) < 0 ||
        (err = tc_plugin_load(out_plugin, path)) < 0) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", tc_error_message());
        tc_free(path);
        return tc_error_set(err, "%s: %s.plugin: %s",
                            tcd_spec_where(&job->spec, pe, where, sizeof(where)), section, msg);
    }
    tc_free(path);
    if (tc_plugin_descriptor(*out_plugin)->kind != kind)
        return tc_error_set(TC_EINVAL,
                            "%s: plugin '%s' is a %s plugin, '%s.plugin' needs a %s "
                            "plugin",
                            tcd_spec_where(&job->spec, pe, where, sizeof(where)), pe->value,
                            tc_plugin_descriptor(*out_plugin)->kind == TC_PLUGIN_MODEL ? "model"
                                                                                       : "data",
                            section, section);
    if (!(kv = calloc(2 * job->spec.n + 1, sizeof(*kv))))
        return tc_error_set(TC_ENOMEM, "out of memory");
    for (i = 0; i < job->spec.n; i++) {
        tcd_spec_entry *e = &job->spec.entries[i];
        if (strcmp(e->section, section) || e == pe)
            continue;
        if (kind == TC_PLUGIN_MODEL && (!strcmp(e->key, "from") || !strcmp(e->key, "revision")) &&
            !declares(*out_plugin, e->key)) {
            e->used = 1;
            continue;
        }
        kv[2 * n] = e->key;
        kv[2 * n + 1] = e->value;
        e->used = 1;
        n++;
    }
    err = tc_options_parse(out_opts, tc_plugin_descriptor(*out_plugin), kv, n);
    free(kv);
    if (err < 0) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", tc_error_message());
        return tc_error_set(err, "%s: %s: %s", job->spec.path, section, msg);
    }
    return 0;
}

const tc_option_spec *tcd_plugin_option(const tc_plugin *p, const char *name)
{
    const tc_plugin_desc *d = p ? tc_plugin_descriptor(p) : NULL;
    uint32_t i;

    for (i = 0; d && i < d->n_options; i++)
        if (!strcmp(d->options[i].name, name))
            return &d->options[i];
    return NULL;
}

int tcd_job_declares(const tcd_job *job, const char *section, const char *key)
{
    const tc_option_spec *o =
        tcd_plugin_option(!strcmp(section, "model") ? job->model_plugin : job->data_plugin, key);

    return o && o->type == TC_OPTION_STRING;
}

int tcd_job_set_option(tcd_job *job, const char *section, const char *key, const char *value)
{
    int model = !strcmp(section, "model");
    const tc_plugin *plugin = model ? job->model_plugin : job->data_plugin;
    tc_options **opts = model ? &job->model_opts : &job->data_opts;
    const char **kv = NULL;
    tc_options *o = NULL;
    size_t i, n = 0;
    int err;

    if (!(kv = calloc(2 * job->spec.n + 2, sizeof(*kv))))
        return tc_error_set(TC_ENOMEM, "out of memory");
    for (i = 0; i < job->spec.n; i++) {
        const tcd_spec_entry *e = &job->spec.entries[i];
        if (strcmp(e->section, section) || !strcmp(e->key, "plugin") || !strcmp(e->key, key) ||
            !declares(plugin, e->key))
            continue;
        kv[2 * n] = e->key;
        kv[2 * n + 1] = e->value;
        n++;
    }
    kv[2 * n] = key;
    kv[2 * n + 1] = value;
    err = tc_options_parse(&o, tc_plugin_descriptor(plugin), kv, n + 1);
    free(kv);
    if (err < 0)
        return err;
    tc_options_free(*opts);
    *opts = o;
    return 0;
}

/* The push section: where a finished run is published (tcd queues a push job for it). */
static int parse_push(tcd_job *job)
{
    static const char *const keys[] = {"repo",    "branch",   "private",         "when",
                                       "message", "author",   "license",         "dataset",
                                       "metric",  "champion", "min_improvement", "eval_split"};
    size_t i, k;
    int have_repo = 0, other = 0;

    for (i = 0; i < job->spec.n; i++) {
        tcd_spec_entry *e = &job->spec.entries[i];
        char where[512];
        const char *v = e->value;
        int known = 0;
        if (strcmp(e->section, "push"))
            continue;
        tcd_spec_where(&job->spec, e, where, sizeof(where));
        for (k = 0; k < sizeof(keys) / sizeof(*keys); k++)
            known |= !strcmp(e->key, keys[k]);
        if (!known)
            return tc_error_set(TC_EINVAL,
                                "%s: unknown key 'push.%s'; known keys: repo, branch, private, "
                                "when, message, author, license, dataset, metric, champion, "
                                "min_improvement, eval_split",
                                where, e->key);
        e->used = 1;
        if (!strcmp(e->key, "repo")) {
            const char *slash = strchr(v, '/');
            size_t n = strlen(v), j;
            int ok = slash && slash != v && slash[1] && !strchr(slash + 1, '/') && n <= 96 &&
                     !strstr(v, "--") && !strstr(v, "..") && v[0] != '-' && v[0] != '.';
            for (j = 0; ok && j < n; j++)
                ok = isalnum((unsigned char)v[j]) || strchr("._-/", v[j]);
            if (!ok)
                return bad_value(&job->spec, e,
                                 "a Hub repo id ORG/NAME ([A-Za-z0-9._-], at most "
                                 "96 bytes, no '--' or '..')");
            have_repo = 1;
        } else if (!strcmp(e->key, "private")) {
            if (strcmp(v, "true") && strcmp(v, "false") && strcmp(v, "yes") && strcmp(v, "no"))
                return bad_value(&job->spec, e, "true or false");
        } else if (!strcmp(e->key, "when")) {
            if (strcmp(v, "always") && strcmp(v, "improved") && strcmp(v, "never"))
                return bad_value(&job->spec, e, "always, improved or never");
        } else if (!strcmp(e->key, "metric")) {
            if (strcmp(v, "accuracy") && strcmp(v, "f1") && strcmp(v, "loss"))
                return bad_value(&job->spec, e, "accuracy, f1 or loss");
        } else if (!strcmp(e->key, "champion")) {
            if (strcmp(v, "evaluate") && strcmp(v, "card"))
                return bad_value(&job->spec, e, "evaluate or card");
        } else if (!strcmp(e->key, "eval_split")) {
            if (strcmp(v, "test") && strcmp(v, "validation"))
                return bad_value(&job->spec, e, "test or validation");
        } else if (!strcmp(e->key, "min_improvement")) {
            char *end;
            double d = strtod(v, &end);
            if (!*v || *end || !(d >= 0) || d > 1e9)
                return bad_value(&job->spec, e, "a number >= 0");
        } else if (!strcmp(e->key, "branch")) {
            if (!*v || v[0] == '-' || strlen(v) > 255 || strpbrk(v, " ~^:?*[\\") || strstr(v, ".."))
                return bad_value(&job->spec, e, "a git branch name");
        } else if (!*v || strlen(v) > 4096) {
            return bad_value(&job->spec, e, "a non-empty string of at most 4096 bytes");
        }
        other |= strcmp(e->key, "repo") != 0;
    }
    if (other && !have_repo)
        return tc_error_set(TC_EINVAL, "%s: the push section needs 'repo' (ORG/NAME)",
                            job->spec.path);
    return 0;
}

int tcd_job_prepare(tcd_job *job)
{
    tcd_spec_entry *from;
    int err;

    tc_train_config_init(&job->cfg, TC_TRAIN_CONFIG_VERSION);
    if ((err = parse_train(job)) < 0)
        return err;
    if ((err = parse_push(job)) < 0)
        return err;
    if ((err = load_section(job, "data", TC_PLUGIN_DATA, &job->data_plugin, &job->data_opts)) < 0)
        return err;
    if ((err = load_section(job, "model", TC_PLUGIN_MODEL, &job->model_plugin, &job->model_opts)) <
        0)
        return err;
    from = tcd_spec_find(&job->spec, "model", "from");
    job->pretrained = from ? from->value : NULL;
    tcd_spec_hash(&job->spec, job->run_id);
    job->cfg.run_id = job->run_id;
    return 0;
}

void tcd_job_dispose(tcd_job *job)
{
    tc_options_free(job->model_opts);
    tc_options_free(job->data_opts);
    tc_plugin_free(job->model_plugin);
    tc_plugin_free(job->data_plugin);
    free(job->pretrained_dir);
    job->pretrained_dir = NULL;
    tcd_spec_dispose(&job->spec);
}
