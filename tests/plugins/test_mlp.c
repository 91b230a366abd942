/*
 * test_mlp.c - the mlp model plugin, loaded from the build tree as the
 * worker loads it, on a made-up dataset description (3x4 features, 5 labels).
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/ops.h>
#include <tc/params.h>
#include <tc/plugin.h>

#include "plugin_test.h"

#define F 12 /* 3 x 4 */
#define L 5
#define B 3

static const tc_plugin_desc *desc;
static const tc_model_vtable *vt;

static const char *const names[L] = {"cat", "dog", "bird", "fish", "frog"};
static const char *const odd_names[L] = {"say \"hi\"", "back\\slash", "tab\there", "caf\xc3\xa9",
                                         "new\nline"};

static int setup_vtable(void)
{
    desc = tc_plugin_descriptor(plugin_test_plugins[0]);
    vt = desc->vtable;
    return 0;
}

/* Load the plugin and make a scratch directory once per process. */
static int setup(void)
{
    static const char *const plugins[] = {"mlp"};

    return plugin_test_setup("mlp", plugins, 1, setup_vtable);
}

#define MLP_TEST(name) PLUGIN_TEST(name, setup, "mlp plugin setup")

static tc_data_info fake_data(void)
{
    tc_data_info d;

    memset(&d, 0, sizeof(d));
    d.input = TC_INPUT_TENSOR;
    d.feature_ndim = 2;
    d.feature_shape[0] = 3;
    d.feature_shape[1] = 4;
    d.feature_shape[2] = d.feature_shape[3] = 1;
    d.num_labels = L;
    d.label_names = names;
    d.split_size[TC_SPLIT_TRAIN] = 100;
    return d;
}

/* A model of the given options (NULL-terminated name, value pairs) in fresh params. */
static int make_model(void **out, tc_params **out_params, const char *const *kv,
                      const tc_data_info *data, uint64_t seed)
{
    return plugin_test_model_new(out, out_params, desc, kv, data, seed, NULL);
}

static const char *const small_kv[] = {"fc1", "16", "fc2", "8", "dropout", "0.5", NULL};

static void fill_batch(float *x, int32_t *labels)
{
    int i;

    for (i = 0; i < B * F; i++)
        x[i] = (float)((i * 7) % 11) / 11.0f - 0.4f;
    for (i = 0; i < B; i++)
        labels[i] = i % L;
}

/* Reference forward in double straight from the parameter buffers, no dropout. */
static void reference_logits(const tc_params *p, const float *x, int has_fc2, double *out)
{
    const char *layers[3][2] = {
        {"fc1.weight", "fc1.bias"}, {"fc2.weight", "fc2.bias"}, {"out.weight", "out.bias"}};
    double h[B][64], nh[B][64];
    int64_t width = F, b, i, k, l;

    for (b = 0; b < B; b++)
        for (i = 0; i < F; i++)
            h[b][i] = x[b * F + i];
    for (l = 0; l < 3; l++) {
        tc_tensor *w, *bias;
        if (l == 1 && !has_fc2)
            continue;
        w = tc_params_find(p, layers[l][0]);
        bias = tc_params_find(p, layers[l][1]);
        for (b = 0; b < B; b++) {
            for (i = 0; i < w->shape[0]; i++) {
                double acc = bias->data[i];
                for (k = 0; k < width; k++)
                    acc += (double)w->data[i * width + k] * h[b][k];
                nh[b][i] = l < 2 ? (acc > 0 ? acc : 0) : acc;
            }
        }
        width = w->shape[0];
        memcpy(h, nh, sizeof(h));
    }
    for (b = 0; b < B; b++)
        for (i = 0; i < L; i++)
            out[b * L + i] = h[b][i];
}

/* ---- tests -------------------------------------------------------------------------------- */

MLP_TEST(test_plugins_mlp__descriptor)
{
    uint32_t i;

    TC_CHECK(desc->struct_size == sizeof(tc_plugin_desc));
    TC_CHECK(desc->kind == TC_PLUGIN_MODEL);
    TC_CHECK(!strcmp(desc->name, "mlp"));
    TC_CHECK(!strcmp(desc->version, "0.1.0"));
    TC_CHECK(desc->n_options == 3);
    for (i = 0; i < desc->n_options; i++)
        TC_CHECK(desc->options[i].help && desc->options[i].default_value);
    TC_CHECK(vt->load_pretrained != NULL);
}

MLP_TEST(test_plugins_mlp__parameters)
{
    static const struct {
        const char *name;
        int64_t rows, cols;
        int no_decay;
    } want[] = {{"fc1.weight", 1024, F, 0}, {"fc1.bias", 1024, 0, 1},  {"fc2.weight", 128, 1024, 0},
                {"fc2.bias", 128, 0, 1},    {"out.weight", L, 128, 0}, {"out.bias", L, 0, 1}};
    tc_data_info data = fake_data();
    tc_params *p = NULL;
    void *m = NULL;
    size_t i;
    int64_t k;

    TC_CHECK_OK(make_model(&m, &p, NULL, &data, 1)); /* defaults: 1024, 128 */
    if (!m)
        return;
    TC_CHECK(tc_params_count(p) == 6);
    for (i = 0; i < 6 && i < tc_params_count(p); i++) {
        tc_tensor *t = tc_params_at(p, i);
        double bound = 1.0 / sqrt(i < 2 ? F : i < 4 ? 1024.0 : 128.0);
        int nonzero = 0;
        TC_CHECK(!strcmp(t->name, want[i].name));
        TC_CHECK(t->ndim == (want[i].cols ? 2 : 1));
        TC_CHECK(t->shape[0] == want[i].rows);
        if (want[i].cols)
            TC_CHECK(t->shape[1] == want[i].cols);
        TC_CHECK(!!(t->flags & TC_TENSOR_NO_DECAY) == want[i].no_decay);
        /* torch.nn.Linear's init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias. */
        for (k = 0; k < t->numel; k++) {
            TC_CHECK(fabs(t->data[k]) <= bound + 1e-7);
            nonzero += t->data[k] != 0.0f;
        }
        TC_CHECK(nonzero > t->numel / 2);
    }
    vt->destroy(m);
    tc_params_free(p);
}

MLP_TEST(test_plugins_mlp__one_hidden_layer)
{
    const char *kv[] = {"fc1", "7", "fc2", "0", NULL};
    tc_data_info data = fake_data();
    tc_params *p = NULL;
    void *m = NULL;
    tc_tensor *t;

    TC_CHECK_OK(make_model(&m, &p, kv, &data, 1));
    if (!m)
        return;
    TC_CHECK(tc_params_count(p) == 4);
    TC_CHECK(tc_params_find(p, "fc2.weight") == NULL);
    t = tc_params_find(p, "out.weight");
    TC_CHECK(t && t->shape[0] == L && t->shape[1] == 7);
    vt->destroy(m);
    tc_params_free(p);
}

MLP_TEST(test_plugins_mlp__text_input_refused)
{
    tc_data_info data = fake_data();
    tc_params *p = NULL;
    void *m = NULL;

    data.input = TC_INPUT_TEXT;
    data.feature_ndim = 0;
    TC_CHECK_ERR(make_model(&m, &p, small_kv, &data, 1), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "mlp needs tensor input");
    TC_CHECK(m == NULL && p == NULL);
    {
        const char *kv[] = {"dropout", "1.0", NULL};
        data = fake_data();
        TC_CHECK_ERR(make_model(&m, &p, kv, &data, 1), TC_ERANGE);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "dropout");
    }
}

MLP_TEST(test_plugins_mlp__forward)
{
    tc_data_info data = fake_data();
    tc_params *p = NULL;
    tc_graph *g = NULL;
    tc_rng drop;
    void *m = NULL;
    float x[B * F], first[B * L];
    int32_t labels[B];
    double ref[B * L];
    tc_batch batch;
    tc_tensor *logits = NULL, *loss;
    int i, differ = 0;

    TC_CHECK_OK(make_model(&m, &p, small_kv, &data, 7));
    TC_CHECK_OK(tc_graph_new(&g, 0));
    if (!m || !g)
        goto out;
    fill_batch(x, labels);
    batch.size = B;
    batch.features = x;
    batch.texts = NULL;
    batch.labels = labels;

    /* Evaluation: no dropout, deterministic, equal to the reference. */
    tc_graph_set_training(g, 0);
    TC_CHECK_OK(vt->forward(m, g, &batch, &logits));
    if (!logits)
        goto out;
    TC_CHECK(logits->ndim == 2 && logits->shape[0] == B && logits->shape[1] == L);
    memcpy(first, logits->data, sizeof(first));
    reference_logits(p, x, 1, ref);
    for (i = 0; i < B * L; i++)
        TC_CHECK_NEAR(first[i], ref[i], 1e-5);
    tc_graph_reset(g);
    TC_CHECK_OK(vt->forward(m, g, &batch, &logits));
    TC_CHECK(logits && !memcmp(logits->data, first, sizeof(first)));

    /* Training with a dropout RNG: different logits, gradients reach every parameter. */
    tc_graph_reset(g);
    tc_graph_set_training(g, 1);
    tc_rng_init(&drop, 7, TC_RNG_STREAM_DROPOUT);
    tc_graph_set_rng(g, &drop);
    tc_params_zero_grad(p);
    TC_CHECK_OK(vt->forward(m, g, &batch, &logits));
    if (!logits)
        goto out;
    for (i = 0; i < B * L; i++)
        differ += logits->data[i] != first[i];
    TC_CHECK(differ > 0);
    loss = tc_cross_entropy(g, logits, labels);
    TC_CHECK(loss != NULL);
    if (loss)
        TC_CHECK_OK(tc_backward(g, loss));
    for (i = 0; i < (int)tc_params_count(p); i++) {
        tc_tensor *t = tc_params_at(p, (size_t)i);
        int64_t k, nonzero = 0;
        for (k = 0; t->grad && k < t->numel; k++)
            nonzero += t->grad[k] != 0.0f;
        if (nonzero == 0)
            fprintf(stderr, "no gradient reached '%s'\n", t->name);
        TC_CHECK(nonzero > 0);
    }

    /* A batch without features is refused. */
    tc_graph_reset(g);
    batch.features = NULL;
    TC_CHECK_ERR(vt->forward(m, g, &batch, &logits), TC_EINVAL);
out:
    tc_graph_free(g);
    if (m)
        vt->destroy(m);
    tc_params_free(p);
}

/* Loss of one batch, or NAN on error. */
static double batch_loss(void *m, tc_graph *g, const tc_batch *batch)
{
    tc_tensor *logits = NULL, *loss;

    tc_graph_reset(g);
    if (vt->forward(m, g, batch, &logits) < 0 ||
        !(loss = tc_cross_entropy(g, logits, batch->labels)))
        return NAN;
    return loss->data[0];
}

/* Every parameter gradient against central differences. */
MLP_TEST(test_plugins_mlp__gradients)
{
    const char *kv[] = {"fc1", "16", "fc2", "8", "dropout", "0.3", NULL};
    tc_data_info data = fake_data();
    tc_params *p = NULL;
    tc_graph *g = NULL;
    void *m = NULL;
    float x[B * F];
    int32_t labels[B];
    tc_batch batch = {.size = B, .features = x, .labels = labels};
    tc_tensor *logits = NULL, *loss;
    size_t i;
    int64_t k, checked = 0, live = 0, kinks = 0;
    double l0;

    TC_CHECK_OK(make_model(&m, &p, kv, &data, 5));
    TC_CHECK_OK(tc_graph_new(&g, 0));
    if (!m || !g)
        goto out;
    fill_batch(x, labels);
    /* Training mode records the tape; without an RNG dropout is the identity. */
    tc_graph_set_training(g, 1);
    tc_graph_set_rng(g, NULL);
    tc_params_zero_grad(p);
    TC_CHECK_OK(vt->forward(m, g, &batch, &logits));
    loss = tc_cross_entropy(g, logits, labels);
    TC_CHECK(loss != NULL);
    if (!loss)
        goto out;
    TC_CHECK_OK(tc_backward(g, loss));
    l0 = loss->data[0];
    for (i = 0; i < tc_params_count(p); i++) {
        tc_tensor *t = tc_params_at(p, i);
        for (k = 0; k < t->numel; k++) {
            float keep = t->data[k], h = 1e-3f;
            double up, down, fd;
            t->data[k] = keep + h;
            up = batch_loss(m, g, &batch);
            t->data[k] = keep - h;
            down = batch_loss(m, g, &batch);
            t->data[k] = keep;
            fd = (up - down) / (2.0 * h);
            checked++;
            /* One-sided slopes that disagree: a ReLU kink within h, where no derivative exists. */
            if (fabs((up - l0) - (l0 - down)) / h > 2e-3 + 0.05 * fabs(fd)) {
                kinks++;
                continue;
            }
            TC_CHECK_NEAR(t->grad[k], fd, 1e-3 + 1e-2 * fabs(fd));
            live += fabs(fd) > 1e-4;
        }
    }
    /* Enough entries must matter, and few sit on kinks, or the check proves nothing. */
    TC_CHECK(live > checked / 4);
    TC_CHECK(kinks < checked / 20);
out:
    tc_graph_free(g);
    if (m)
        vt->destroy(m);
    tc_params_free(p);
}

/* A few plain SGD steps on one batch must lower its loss: forward and backward agree. */
MLP_TEST(test_plugins_mlp__learns)
{
    const char *kv[] = {"fc1", "32", "fc2", "16", "dropout", "0", NULL};
    tc_data_info data = fake_data();
    tc_params *p = NULL;
    tc_graph *g = NULL;
    void *m = NULL;
    float x[B * F], first = 0, last = 0;
    int32_t labels[B];
    tc_batch batch = {.size = B, .features = x, .labels = labels};
    int step;

    TC_CHECK_OK(make_model(&m, &p, kv, &data, 3));
    TC_CHECK_OK(tc_graph_new(&g, 0));
    if (!m || !g)
        goto out;
    fill_batch(x, labels);
    for (step = 0; step < 50; step++) {
        tc_tensor *logits = NULL, *loss;
        float *w = tc_params_data(p), *gr = tc_params_grad(p);
        int64_t k, n = tc_params_numel(p);
        tc_graph_reset(g);
        tc_params_zero_grad(p);
        if (vt->forward(m, g, &batch, &logits) < 0 || !(loss = tc_cross_entropy(g, logits, labels)))
            break;
        if (step == 0)
            first = loss->data[0];
        last = loss->data[0];
        if (tc_backward(g, loss) < 0)
            break;
        for (k = 0; k < n; k++)
            w[k] -= 0.5f * gr[k];
    }
    TC_CHECK(step == 50);
    TC_CHECK(last < 0.25f * first);
out:
    tc_graph_free(g);
    if (m)
        vt->destroy(m);
    tc_params_free(p);
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n;

    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

MLP_TEST(test_plugins_mlp__save_config)
{
    tc_data_info data = fake_data();
    tc_params *p = NULL;
    void *m = NULL;
    char path[512];
    cJSON *root = NULL, *it;

    TC_CHECK_OK(make_model(&m, &p, small_kv, &data, 1));
    if (!m)
        return;
    TC_CHECK_OK(vt->save(m, plugin_test_dir));
    snprintf(path, sizeof(path), "%s/config.json.tmp", plugin_test_dir);
    TC_CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof(path), "%s/config.json", plugin_test_dir);
    root = read_json(path);
    TC_CHECK(root != NULL);
    if (!root)
        goto out;
    it = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    TC_CHECK(cJSON_IsArray(it) && cJSON_GetArraySize(it) == 1 &&
             !strcmp(cJSON_GetArrayItem(it, 0)->valuestring, "TcMLPForImageClassification"));
    it = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    TC_CHECK(cJSON_IsString(it) && !strcmp(it->valuestring, "tc-mlp"));
    it = cJSON_GetObjectItemCaseSensitive(root, "input_size");
    TC_CHECK(cJSON_IsNumber(it) && it->valueint == F);
    it = cJSON_GetObjectItemCaseSensitive(root, "input_shape");
    TC_CHECK(cJSON_GetArraySize(it) == 2 && cJSON_GetArrayItem(it, 0)->valueint == 3 &&
             cJSON_GetArrayItem(it, 1)->valueint == 4);
    it = cJSON_GetObjectItemCaseSensitive(root, "hidden_sizes");
    TC_CHECK(cJSON_GetArraySize(it) == 2 && cJSON_GetArrayItem(it, 0)->valueint == 16 &&
             cJSON_GetArrayItem(it, 1)->valueint == 8);
    it = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    TC_CHECK(cJSON_IsString(it) && !strcmp(it->valuestring, "relu"));
    it = cJSON_GetObjectItemCaseSensitive(root, "dropout");
    TC_CHECK(cJSON_IsNumber(it) && it->valuedouble == 0.5);
    it = cJSON_GetObjectItemCaseSensitive(root, "num_labels");
    TC_CHECK(cJSON_IsNumber(it) && it->valueint == L);
    it = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    TC_CHECK(cJSON_GetArraySize(it) == L);
    it = cJSON_GetObjectItemCaseSensitive(it, "2");
    TC_CHECK(cJSON_IsString(it) && !strcmp(it->valuestring, "bird"));
    it = cJSON_GetObjectItemCaseSensitive(root, "label2id");
    TC_CHECK(cJSON_GetArraySize(it) == L);
    it = cJSON_GetObjectItemCaseSensitive(it, "frog");
    TC_CHECK(cJSON_IsNumber(it) && it->valueint == 4);
    it = cJSON_GetObjectItemCaseSensitive(root, "torch_dtype");
    TC_CHECK(cJSON_IsString(it) && !strcmp(it->valuestring, "float32"));
    it = cJSON_GetObjectItemCaseSensitive(root, "tc_version");
    TC_CHECK(cJSON_IsString(it) && !strcmp(it->valuestring, tc_version()));
    /* Label names that need escaping survive the round trip. */
    cJSON_Delete(root);
    root = NULL;
    vt->destroy(m);
    tc_params_free(p);
    m = NULL;
    p = NULL;
    data.label_names = odd_names;
    TC_CHECK_OK(make_model(&m, &p, small_kv, &data, 1));
    if (!m)
        goto out;
    TC_CHECK_OK(vt->save(m, plugin_test_dir));
    snprintf(path, sizeof(path), "%s/config.json", plugin_test_dir);
    root = read_json(path);
    it = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "id2label"), "0");
    TC_CHECK(cJSON_IsString(it) && !strcmp(it->valuestring, odd_names[0]));
    it = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "label2id"),
                                          odd_names[1]);
    TC_CHECK(cJSON_IsNumber(it) && it->valueint == 1);
    /* A directory that does not exist. */
    snprintf(path, sizeof(path), "%s/missing/dir", plugin_test_dir);
    TC_CHECK_ERR(vt->save(m, path), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "missing/dir/config.json");
out:
    cJSON_Delete(root);
    if (m)
        vt->destroy(m);
    tc_params_free(p);
}

MLP_TEST(test_plugins_mlp__load_pretrained)
{
    tc_data_info data = fake_data();
    tc_params *p1 = NULL, *p2 = NULL;
    void *m1 = NULL, *m2 = NULL;
    char dir[512], path[600];
    int64_t k;

    snprintf(dir, sizeof(dir), "%s/pretrained", plugin_test_dir);
    TC_CHECK(mkdir(dir, 0755) == 0);
    TC_CHECK_OK(make_model(&m1, &p1, small_kv, &data, 1));
    TC_CHECK_OK(make_model(&m2, &p2, small_kv, &data, 2));
    if (!m1 || !m2)
        goto out;
    TC_CHECK_ERR(vt->load_pretrained(m2, dir), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "model.safetensors");
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    TC_CHECK_OK(tc_params_save(p1, path, NULL));
    TC_CHECK(memcmp(tc_params_data(p1), tc_params_data(p2),
                    (size_t)tc_params_numel(p1) * sizeof(float)) != 0);
    TC_CHECK_OK(vt->load_pretrained(m2, dir));
    for (k = 0; k < tc_params_numel(p1); k++)
        if (tc_params_data(p1)[k] != tc_params_data(p2)[k])
            break;
    TC_CHECK(k == tc_params_numel(p1));
    /* Weights of a differently shaped model are refused. */
    vt->destroy(m2);
    tc_params_free(p2);
    m2 = NULL;
    p2 = NULL;
    {
        const char *kv[] = {"fc1", "16", "fc2", "9", NULL};
        TC_CHECK_OK(make_model(&m2, &p2, kv, &data, 2));
        if (m2)
            TC_CHECK(vt->load_pretrained(m2, dir) < 0);
    }
out:
    if (m1)
        vt->destroy(m1);
    if (m2)
        vt->destroy(m2);
    tc_params_free(p1);
    tc_params_free(p2);
}

static const tc_test_case tests[] = {
    TC_TEST(test_plugins_mlp__descriptor),       TC_TEST(test_plugins_mlp__parameters),
    TC_TEST(test_plugins_mlp__one_hidden_layer), TC_TEST(test_plugins_mlp__text_input_refused),
    TC_TEST(test_plugins_mlp__forward),          TC_TEST(test_plugins_mlp__gradients),
    TC_TEST(test_plugins_mlp__learns),           TC_TEST(test_plugins_mlp__save_config),
    TC_TEST(test_plugins_mlp__load_pretrained),
};

TC_TEST_MAIN(tests)
