/*
 * mlp.c - the "mlp" model plugin: a multi-layer perceptron classifier over
 * flattened tensor features.
 *
 *   x (B, F) -> fc1 -> relu -> dropout -> [fc2 -> relu -> dropout] -> out -> logits (B, L)
 *
 * F is the product of the data's feature shape, L its number of labels; fc2
 * is left out when its width is 0. Parameters use Hugging Face style names
 * (fc1.weight (H1, F), fc1.bias (H1), fc2.weight (H2, H1), fc2.bias (H2),
 * out.weight (L, H2 or H1), out.bias (L)), biases are excluded from weight
 * decay, and every layer starts as torch.nn.Linear does.
 *
 * save() writes config.json in a transformers-like layout; the host writes
 * the weights (model.safetensors) with tc_params_save. load_pretrained()
 * reads model.safetensors from a directory into the model's parameters.
 */
#define _POSIX_C_SOURCE 200809L

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <tc/ops.h>
#include <tc/plugin.h>

#include "../../common/hfconfig.h"
#include "../../common/labels.h"

#define MLP_PATH_MAX 4096

typedef struct mlp {
    tc_params *params; /* borrowed from create */
    int32_t in_ndim;   /* dimensions of one example */
    int64_t in_shape[TC_MAX_DIMS];
    int64_t F;      /* input features: product of in_shape */
    int64_t H1, H2; /* hidden widths; H2 == 0: one hidden layer */
    int32_t L;      /* labels */
    double dropout;
    char **label_names;       /* L owned strings */
    tc_tensor *fc1_w, *fc1_b; /* (H1, F), (H1) */
    tc_tensor *fc2_w, *fc2_b; /* (H2, H1), (H2); NULL when H2 == 0 */
    tc_tensor *out_w, *out_b; /* (L, H2 or H1), (L) */
} mlp;

static const tc_option_spec mlp_options[] = {
    {"fc1", TC_OPTION_INT, "1024", "width of the first hidden layer", 1, 65536},
    {"fc2", TC_OPTION_INT, "128", "width of the second hidden layer (0: no second layer)", 0,
     65536},
    {"dropout", TC_OPTION_FLOAT, "0.5", "dropout probability after each hidden layer", 0, 0.99},
};

/* ---- helpers ------------------------------------------------------------------------------ */

/* Declare one linear layer: weight (n_out, n_in) and bias (n_out, no decay). */
static int add_linear(tc_params *p, const char *prefix, int64_t n_out, int64_t n_in, tc_tensor **w,
                      tc_tensor **b)
{
    char name[64];
    int64_t wshape[2] = {n_out, n_in}, bshape[1] = {n_out};
    int err;

    snprintf(name, sizeof(name), "%s.weight", prefix);
    if ((err = tc_params_add(p, w, name, 2, wshape, 0)) < 0)
        return err;
    snprintf(name, sizeof(name), "%s.bias", prefix);
    return tc_params_add(p, b, name, 1, bshape, TC_TENSOR_NO_DECAY);
}

/* ---- the vtable --------------------------------------------------------------------------- */

static void mlp_destroy(void *self)
{
    mlp *m = self;

    if (!m)
        return;
    labels_free(m->label_names, m->L);
    tc_free(m);
}

static int check_data(const tc_data_info *data, int64_t *out_F)
{
    int64_t F;

    if (data->input != TC_INPUT_TENSOR)
        return tc_error_set(TC_EINVAL, "mlp needs tensor input; the data plugin gives text");
    if (data->feature_ndim < 1 || data->feature_ndim > TC_MAX_DIMS)
        return tc_error_set(TC_EINVAL, "mlp needs 1 to %d feature dimensions, the data has %d",
                            TC_MAX_DIMS, (int)data->feature_ndim);
    F = tc_shape_numel(data->feature_ndim, data->feature_shape);
    if (F < 1)
        return tc_error_set(TC_EINVAL, "mlp: the data's feature shape holds no elements");
    if (data->num_labels < 1 || data->num_labels > TC_DATA_MAX_LABELS)
        return tc_error_set(TC_EINVAL, "mlp: the data has %d labels, expected 1..%d",
                            (int)data->num_labels, TC_DATA_MAX_LABELS);
    *out_F = F;
    return TC_OK;
}

static int mlp_create(void **out, const tc_options *opts, const tc_data_info *data,
                      tc_params *params, tc_rng *init_rng, const tc_host *host)
{
    mlp *m = NULL;
    int64_t last;
    int32_t i;
    int err;

    TC_ASSERT_ARG(out && opts && data && params && init_rng);
    (void)host;
    if (!(m = tc_calloc(1, sizeof(*m))))
        return TC_ENOMEM;
    m->params = params;
    if ((err = check_data(data, &m->F)) < 0)
        goto out;
    m->in_ndim = data->feature_ndim;
    for (i = 0; i < m->in_ndim; i++)
        m->in_shape[i] = data->feature_shape[i];
    m->H1 = tc_options_int(opts, "fc1");
    m->H2 = tc_options_int(opts, "fc2");
    m->dropout = tc_options_float(opts, "dropout");
    m->L = data->num_labels;
    if (m->H1 < 1 || m->H2 < 0 || m->dropout < 0 || m->dropout >= 1) {
        err = tc_error_set(TC_EINVAL, "mlp: invalid options fc1=%lld fc2=%lld dropout=%g",
                           (long long)m->H1, (long long)m->H2, m->dropout);
        goto out;
    }
    if ((err = labels_copy(&m->label_names, m->L, data->label_names)) < 0)
        goto out;
    if ((err = add_linear(params, "fc1", m->H1, m->F, &m->fc1_w, &m->fc1_b)) < 0)
        goto out;
    last = m->H1;
    if (m->H2 > 0) {
        if ((err = add_linear(params, "fc2", m->H2, m->H1, &m->fc2_w, &m->fc2_b)) < 0)
            goto out;
        last = m->H2;
    }
    if ((err = add_linear(params, "out", m->L, last, &m->out_w, &m->out_b)) < 0)
        goto out;
    /* Initialise after every add: adding may move the flat buffers. */
    tc_init_linear(m->fc1_w, m->fc1_b, init_rng);
    if (m->fc2_w)
        tc_init_linear(m->fc2_w, m->fc2_b, init_rng);
    tc_init_linear(m->out_w, m->out_b, init_rng);
    *out = m;
    m = NULL;
out:
    mlp_destroy(m);
    return err;
}

static int mlp_load_pretrained(void *self, const char *dir)
{
    mlp *m = self;
    char path[MLP_PATH_MAX];

    TC_ASSERT_ARG(m && dir);
    if ((size_t)snprintf(path, sizeof(path), "%s/model.safetensors", dir) >= sizeof(path))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", dir);
    if (access(path, R_OK) < 0)
        return tc_error_set(TC_ENOTFOUND, "cannot read '%s': %s", path, strerror(errno));
    return tc_params_load(m->params, path, 0);
}

static int mlp_forward(void *self, tc_graph *g, const tc_batch *batch, tc_tensor **out_logits)
{
    mlp *m = self;
    int64_t xshape[2];
    tc_tensor *h;
    float p;
    int err;

    TC_ASSERT_ARG(m && g && batch && out_logits);
    if (!batch->features)
        return tc_error_set(TC_EINVAL, "mlp needs tensor input; the batch has no features");
    if (batch->size < 1)
        return tc_error_set(TC_EINVAL, "mlp: empty batch");
    p = (float)m->dropout;
    xshape[0] = batch->size;
    xshape[1] = m->F;
    h = tc_tensor_from(g, 2, xshape, batch->features); /* (B, F) */
    h = tc_linear(g, h, m->fc1_w, m->fc1_b);           /* (B, H1) */
    h = tc_dropout(g, tc_relu(g, h), p);
    if (m->fc2_w) {
        h = tc_linear(g, h, m->fc2_w, m->fc2_b); /* (B, H2) */
        h = tc_dropout(g, tc_relu(g, h), p);
    }
    h = tc_linear(g, h, m->out_w, m->out_b); /* (B, L) */
    if (!h) {
        err = tc_graph_status(g);
        return err < 0 ? err : tc_error_set(TC_ERROR, "mlp forward failed");
    }
    *out_logits = h;
    return TC_OK;
}

/* Append a number to a JSON array; 0 on allocation failure. */
static int push_number(cJSON *arr, double v)
{
    cJSON *item = cJSON_CreateNumber(v);

    if (!arr || !item || !cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return 0;
    }
    return 1;
}

/* config.json's body, transformers style (owned by the caller, cJSON_Delete), or NULL. */
static cJSON *config_json(const mlp *m)
{
    cJSON *root = cJSON_CreateObject(), *arr;
    int32_t i;
    int ok;

    if (!root)
        return NULL;
    ok = hf_add_arch(root, "TcMLPForImageClassification", "tc-mlp");
    ok = ok && cJSON_AddNumberToObject(root, "input_size", (double)m->F);
    arr = ok ? cJSON_AddArrayToObject(root, "input_shape") : NULL;
    for (i = 0; ok && i < m->in_ndim; i++)
        ok = push_number(arr, (double)m->in_shape[i]);
    arr = ok ? cJSON_AddArrayToObject(root, "hidden_sizes") : NULL;
    ok = ok && push_number(arr, (double)m->H1);
    if (m->H2 > 0)
        ok = ok && push_number(arr, (double)m->H2);
    ok = ok && cJSON_AddStringToObject(root, "hidden_act", "relu");
    ok = ok && cJSON_AddNumberToObject(root, "dropout", m->dropout);
    ok = ok && hf_add_labels(root, m->label_names, m->L);
    ok = ok && cJSON_AddStringToObject(root, "torch_dtype", "float32");
    ok = ok && cJSON_AddStringToObject(root, "tc_version", tc_version());
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static int mlp_save(void *self, const char *dir)
{
    mlp *m = self;
    cJSON *root;

    TC_ASSERT_ARG(m && dir);
    root = config_json(m);
    return hf_finish_config(dir, root, root != NULL);
}

static const tc_model_vtable mlp_vtable = {
    .struct_size = sizeof(tc_model_vtable),
    .create = mlp_create,
    .load_pretrained = mlp_load_pretrained,
    .forward = mlp_forward,
    .save = mlp_save,
    .destroy = mlp_destroy,
};

static const tc_plugin_desc mlp_desc = {
    .struct_size = sizeof(tc_plugin_desc),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .name = "mlp",
    .version = "0.1.0",
    .license = "MIT",
    .description =
        "multi-layer perceptron classifier (fc1 -> relu -> dropout -> fc2 -> ... -> out) over "
        "flattened tensor features",
    .kind = TC_PLUGIN_MODEL,
    .options = mlp_options,
    .n_options = sizeof(mlp_options) / sizeof(mlp_options[0]),
    .vtable = &mlp_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    (void)host_minor;
    if (host_major != TC_PLUGIN_ABI_MAJOR)
        return NULL;
    return &mlp_desc;
}
