/*
 * logreg.c - a sample model plugin built out of tree, against the installed
 * SDK only:
 *
 *     cc -std=c11 -shared -fPIC -o logreg.so logreg.c $(pkg-config --cflags --libs tc-sdk)
 *
 * Softmax regression: one linear layer from the flattened features to the
 * labels. The trainer owns the loss (cross-entropy on these logits), the
 * optimizer and the loop; a model plugin only declares its parameters,
 * forwards a batch and writes its config.json.
 *
 * Dimensions: B batch, F features per example, L labels.
 */
#define _POSIX_C_SOURCE 200809L /* fileno, fsync */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <tc/ops.h>
#include <tc/plugin.h>

typedef struct logreg {
    tc_tensor *weight; /* (L, F), borrowed from the params */
    tc_tensor *bias;   /* (L), borrowed from the params */
    int64_t input_size;
    int32_t num_labels;
} logreg;

static const tc_option_spec logreg_options[] = {
    {"zero_init", TC_OPTION_BOOL, "false",
     "start from zero weights instead of torch.nn.Linear's initialisation", 1.0, 0.0},
};

static int logreg_create(void **out, const tc_options *opts, const tc_data_info *data,
                         tc_params *params, tc_rng *init_rng, const tc_host *host)
{
    logreg *m = NULL;
    int64_t shape[2];
    int32_t i;
    int err;

    (void)host;
    if (data->input != TC_INPUT_TENSOR)
        return tc_error_set(TC_EINVAL, "logreg needs tensor input, not text");
    m = calloc(1, sizeof(*m));
    if (!m)
        return tc_error_set(TC_ENOMEM, "out of memory");
    m->num_labels = data->num_labels;
    m->input_size = 1;
    for (i = 0; i < data->feature_ndim; i++)
        m->input_size *= data->feature_shape[i];

    shape[0] = m->num_labels;
    shape[1] = m->input_size;
    if ((err = tc_params_add(params, &m->weight, "linear.weight", 2, shape, 0)) < 0)
        goto out;
    if ((err = tc_params_add(params, &m->bias, "linear.bias", 1, shape, TC_TENSOR_NO_DECAY)) < 0)
        goto out;
    if (tc_options_bool(opts, "zero_init")) {
        tc_init_constant(m->weight, 0.0f);
        tc_init_constant(m->bias, 0.0f);
    } else {
        tc_init_linear(m->weight, m->bias, init_rng);
    }
    *out = m;
    m = NULL;
out:
    free(m);
    return err;
}

static int logreg_forward(void *self, tc_graph *g, const tc_batch *batch, tc_tensor **out_logits)
{
    logreg *m = self;
    int64_t shape[2];
    tc_tensor *x, *logits;

    shape[0] = batch->size;
    shape[1] = m->input_size;
    x = tc_tensor_from(g, 2, shape, batch->features); /* (B, F) */
    logits = tc_linear(g, x, m->weight, m->bias);     /* (B, L) */
    if (!logits)
        return tc_graph_status(g) < 0 ? tc_graph_status(g) : TC_ERROR;
    *out_logits = logits;
    return TC_OK;
}

/* Write config.json atomically: a temp file in dir, fsync, then rename over the name. */
static int logreg_save(void *self, const char *dir)
{
    logreg *m = self;
    char path[4096], tmp[4096 + 16];
    FILE *f = NULL;
    int n, err = TC_OK;

    n = snprintf(path, sizeof(path), "%s/config.json", dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return tc_error_set(TC_ERANGE, "path too long: '%s'", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXX", path);
    f = fopen(tmp, "w");
    if (!f)
        return tc_error_set(TC_EIO, "cannot create '%s'", tmp);
    fprintf(f,
            "{\n"
            "  \"model_type\": \"tc-logreg\",\n"
            "  \"architectures\": [\"LogisticRegression\"],\n"
            "  \"num_labels\": %d,\n"
            "  \"input_size\": %lld\n"
            "}\n",
            (int)m->num_labels, (long long)m->input_size);
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
        err = tc_error_set(TC_EIO, "cannot write '%s'", tmp);
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        err = tc_error_set(TC_EIO, "cannot write '%s'", tmp);
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0)
        err = tc_error_set(TC_EIO, "cannot rename '%s' to '%s'", tmp, path);
out:
    if (f)
        fclose(f);
    if (err < 0)
        remove(tmp);
    return err;
}

static void logreg_destroy(void *self)
{
    free(self);
}

static const tc_model_vtable logreg_vtable = {
    .struct_size = sizeof(tc_model_vtable),
    .create = logreg_create,
    .load_pretrained = NULL, /* not supported */
    .forward = logreg_forward,
    .save = logreg_save,
    .destroy = logreg_destroy,
};

static const tc_plugin_desc logreg_desc = {
    .struct_size = sizeof(tc_plugin_desc),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .name = "logreg",
    .version = "0.1.0",
    .license = "MIT",
    .description = "softmax regression: one linear layer (sample out-of-tree plugin)",
    .kind = TC_PLUGIN_MODEL,
    .options = logreg_options,
    .n_options = sizeof(logreg_options) / sizeof(logreg_options[0]),
    .vtable = &logreg_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_abi_major,
                                                       uint32_t host_abi_minor);

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_abi_major,
                                                       uint32_t host_abi_minor)
{
    /* Any 1.x host will do: this plugin uses nothing past ABI 1.0. */
    (void)host_abi_minor;
    if (host_abi_major != TC_PLUGIN_ABI_MAJOR)
        return NULL;
    return &logreg_desc;
}
