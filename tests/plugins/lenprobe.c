/*
 * lenprobe.c - a test model plugin that records the byte length of every
 * text it is given, in order, so tests can see how the trainer batches
 * (test_text.c: group_by_length). Its logits are one learned bias row.
 */
#include <string.h>

#include <tc/ops.h>
#include <tc/plugin.h>

#define PROBE_MAX 100000

static int64_t probe_log[PROBE_MAX];
static int64_t probe_n;

TC_PLUGIN_EXPORT void lenprobe_reset(void);
TC_PLUGIN_EXPORT const int64_t *lenprobe_log(int64_t *n);

TC_PLUGIN_EXPORT void lenprobe_reset(void)
{
    probe_n = 0;
}

TC_PLUGIN_EXPORT const int64_t *lenprobe_log(int64_t *n)
{
    *n = probe_n;
    return probe_log;
}

typedef struct probe {
    tc_tensor *bias;
    int32_t L;
} probe;

static int probe_create(void **out, const tc_options *opts, const tc_data_info *data,
                        tc_params *params, tc_rng *init_rng, const tc_host *host)
{
    static probe p;
    int64_t shape[1];

    (void)opts, (void)init_rng, (void)host;
    if (data->input != TC_INPUT_TEXT)
        return tc_error_set(TC_EINVAL, "lenprobe needs texts");
    p.L = data->num_labels;
    shape[0] = p.L;
    *out = &p;
    return tc_params_add(params, &p.bias, "bias", 1, shape, TC_TENSOR_NO_DECAY);
}

static int probe_forward(void *self, tc_graph *g, const tc_batch *b, tc_tensor **out)
{
    probe *p = self;
    int64_t i;

    for (i = 0; i < b->size && probe_n < PROBE_MAX; i++)
        probe_log[probe_n++] = (int64_t)strlen(b->texts[i]);
    *out = tc_bias_add(g, tc_tensor_new2d(g, b->size, p->L), p->bias);
    return *out ? TC_OK : tc_graph_status(g);
}

static int probe_save(void *self, const char *dir)
{
    (void)self, (void)dir;
    return TC_OK;
}

static void probe_destroy(void *self)
{
    (void)self;
}

static const tc_model_vtable probe_vtable = {
    .struct_size = sizeof(tc_model_vtable),
    .create = probe_create,
    .forward = probe_forward,
    .save = probe_save,
    .destroy = probe_destroy,
};

static const tc_plugin_desc probe_desc = {
    .struct_size = sizeof(tc_plugin_desc),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .name = "lenprobe",
    .version = "0.1.0",
    .license = "MIT",
    .description = "test plugin: records the lengths of the texts it is given",
    .kind = TC_PLUGIN_MODEL,
    .vtable = &probe_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    (void)host_minor;
    return host_major == TC_PLUGIN_ABI_MAJOR ? &probe_desc : NULL;
}
