/*
 * model.c - host-side instances of data and model plugins (see <tc/trainer.h>).
 */
#include <stdio.h>
#include <string.h>

#include <tc/trainer.h>

#include "internal.h"

struct tc_dataset {
    const tc_plugin *plugin;
    const tc_data_vtable *vt;
    void *self;
    tc_data_info info;
    int64_t feature_numel;
};

struct tc_model {
    const tc_plugin *plugin;
    const tc_model_vtable *vt;
    void *self;
    tc_params *params;
};

static int check_info(const tc_data_info *info, const char *name, int64_t *out_numel)
{
    int s;

    if (info->input != TC_INPUT_TENSOR && info->input != TC_INPUT_TEXT)
        return tc_error_set(TC_EFORMAT, "data plugin '%s' reports an unknown input kind", name);
    if (info->num_labels < 1 || info->num_labels > TC_DATA_MAX_LABELS)
        return tc_error_set(TC_EFORMAT, "data plugin '%s' reports %d labels (want 1..%d)", name,
                            info->num_labels, TC_DATA_MAX_LABELS);
    for (s = 0; s < TC_SPLIT_MAX; s++)
        if (info->split_size[s] < 0)
            return tc_error_set(TC_EFORMAT, "data plugin '%s' reports a negative split size", name);
    if (info->split_size[TC_SPLIT_TRAIN] == 0)
        return tc_error_set(TC_EFORMAT, "data plugin '%s' has no training examples", name);
    *out_numel = 0;
    if (info->input == TC_INPUT_TEXT && info->text_fields != 0 && info->text_fields != 1 &&
        info->text_fields != 2)
        return tc_error_set(TC_EFORMAT,
                            "data plugin '%s' reports %d texts per example (want 1 or 2)", name,
                            info->text_fields);
    if (info->input == TC_INPUT_TENSOR) {
        if (info->feature_ndim < 1 || info->feature_ndim > TC_MAX_DIMS)
            return tc_error_set(TC_EFORMAT, "data plugin '%s' reports %d feature dimensions", name,
                                info->feature_ndim);
        *out_numel = tc_shape_numel(info->feature_ndim, info->feature_shape);
        if (*out_numel <= 0 || *out_numel > ((int64_t)1 << 28))
            return tc_error_set(TC_EFORMAT, "data plugin '%s' reports a bad feature shape", name);
    }
    return TC_OK;
}

int tc_dataset_open(tc_dataset **out, const tc_plugin *plugin, const tc_options *opts,
                    const tc_host *host)
{
    const tc_plugin_desc *desc = tc_plugin_descriptor(plugin);
    tc_dataset *d;
    int err;

    TC_ASSERT_ARG(out && plugin && opts);
    if (desc->kind != TC_PLUGIN_DATA)
        return tc_error_set(TC_EINVAL, "plugin '%s' is not a data plugin", desc->name);
    if (!(d = tc_calloc(1, sizeof(*d))))
        return TC_ENOMEM;
    d->plugin = plugin;
    d->vt = desc->vtable;
    if ((err = d->vt->open(&d->self, opts, host)) < 0) {
        d->self = NULL;
        goto out;
    }
    if ((err = d->vt->describe(d->self, &d->info)) < 0)
        goto out;
    if ((err = check_info(&d->info, desc->name, &d->feature_numel)) < 0)
        goto out;
    if (d->info.input == TC_INPUT_TEXT && d->info.text_fields == 0)
        d->info.text_fields = 1;
    d->info.train_texts = NULL; /* the host's to offer, per model */
    *out = d;
    d = NULL;
out:
    tc_dataset_free(d);
    return err;
}

const tc_data_info *tc_dataset_info(const tc_dataset *d)
{
    return &d->info;
}

int64_t tc_dataset_feature_numel(const tc_dataset *d)
{
    return d->feature_numel;
}

int tc_dataset_fingerprint(tc_dataset *d, char *out, size_t cap)
{
    TC_ASSERT_ARG(d && out && cap > 0);
    out[0] = '\0';
    if (!d->vt->fingerprint)
        return TC_OK;
    return d->vt->fingerprint(d->self, out, cap);
}

int tc_dataset_read(tc_dataset *d, tc_split split, const int64_t *indices, int64_t n,
                    float *features, const char **texts, int32_t *labels)
{
    int64_t i;
    int err;

    TC_ASSERT_ARG(d && indices && labels && split >= 0 && split < TC_SPLIT_MAX);
    for (i = 0; i < n; i++)
        if (indices[i] < 0 || indices[i] >= d->info.split_size[split])
            return tc_error_set(TC_ERANGE, "example %lld is outside split of %lld examples",
                                (long long)indices[i], (long long)d->info.split_size[split]);
    if ((err = d->vt->read(d->self, split, indices, n, features, texts, labels)) < 0)
        return err;
    for (i = 0; i < n; i++)
        if ((labels[i] < 0 || labels[i] >= d->info.num_labels) && labels[i] != -100)
            return tc_error_set(TC_EFORMAT,
                                "data plugin returned label %d for a dataset of %d "
                                "labels",
                                labels[i], d->info.num_labels);
    return TC_OK;
}

void tc_dataset_free(tc_dataset *d)
{
    if (!d)
        return;
    if (d->self)
        d->vt->close(d->self);
    tc_free(d);
}

int tc_model_create(tc_model **out, const tc_plugin *plugin, const tc_options *opts,
                    const tc_data_info *info, uint64_t seed, const tc_host *host)
{
    const tc_plugin_desc *desc = tc_plugin_descriptor(plugin);
    tc_model *m;
    tc_rng rng;
    int err;

    TC_ASSERT_ARG(out && plugin && opts && info);
    if (desc->kind != TC_PLUGIN_MODEL)
        return tc_error_set(TC_EINVAL, "plugin '%s' is not a model plugin", desc->name);
    if (!(m = tc_calloc(1, sizeof(*m))))
        return TC_ENOMEM;
    m->plugin = plugin;
    m->vt = desc->vtable;
    if ((err = tc_params_new(&m->params)) < 0)
        goto out;
    tc_rng_init(&rng, seed, TC_RNG_STREAM_INIT);
    if ((err = m->vt->create(&m->self, opts, info, m->params, &rng, host)) < 0) {
        m->self = NULL;
        goto out;
    }
    if (tc_params_count(m->params) == 0) {
        err = tc_error_set(TC_EFORMAT, "model plugin '%s' declared no parameters", desc->name);
        goto out;
    }
    *out = m;
    m = NULL;
out:
    tc_model_free(m);
    return err;
}

tc_params *tc_model_params(const tc_model *m)
{
    return m->params;
}

int tc_model_forward(tc_model *m, tc_graph *g, const tc_batch *batch, tc_tensor **out_logits)
{
    tc_tensor *logits = NULL;
    int err;

    TC_ASSERT_ARG(m && g && batch && out_logits);
    if ((err = m->vt->forward(m->self, g, batch, &logits)) < 0)
        return err;
    if (!logits)
        return tc_error_set(TC_EFORMAT, "model plugin '%s' returned no logits",
                            tc_plugin_descriptor(m->plugin)->name);
    if (logits->ndim != 2 || logits->shape[0] != batch->size)
        return tc_error_set(TC_EFORMAT, "model plugin '%s' returned logits of the wrong shape",
                            tc_plugin_descriptor(m->plugin)->name);
    *out_logits = logits;
    return TC_OK;
}

int tc_model_save(tc_model *m, const char *dir)
{
    static const char *const meta[] = {"format", "pt", NULL};
    char path[4096];
    int err;

    TC_ASSERT_ARG(m && dir);
    if ((err = tc__mkdir_p(dir)) < 0)
        return err;
    if ((size_t)snprintf(path, sizeof(path), "%s/model.safetensors", dir) >= sizeof(path))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", dir);
    if ((err = tc_params_save(m->params, path, meta)) < 0)
        return err;
    return m->vt->save(m->self, dir);
}

int tc_model_load_pretrained(tc_model *m, const char *dir)
{
    TC_ASSERT_ARG(m && dir);
    if (!m->vt->load_pretrained)
        return tc_error_set(TC_EUNSUPPORTED, "model plugin '%s' cannot load pretrained weights",
                            tc_plugin_descriptor(m->plugin)->name);
    return m->vt->load_pretrained(m->self, dir);
}

void tc_model_free(tc_model *m)
{
    if (!m)
        return;
    if (m->self)
        m->vt->destroy(m->self);
    tc_params_free(m->params);
    tc_free(m);
}
