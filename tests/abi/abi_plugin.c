/*
 * abi_plugin.c - a tiny data plugin compiled in several broken variants to
 * test the host's refusals (see CMakeLists.txt for the variants).
 */
#include <string.h>

#include <tc/plugin.h>

#ifndef PLUGIN_ABI_MAJOR
#define PLUGIN_ABI_MAJOR TC_PLUGIN_ABI_MAJOR
#endif
#ifndef PLUGIN_ABI_MINOR
#define PLUGIN_ABI_MINOR TC_PLUGIN_ABI_MINOR
#endif
#ifndef PLUGIN_NAME
#define PLUGIN_NAME "abi-test"
#endif

static int t_open(void **out, const tc_options *opts, const tc_host *host)
{
    static int state;
    (void)opts;
    (void)host;
    *out = &state;
    return TC_OK;
}

static int t_describe(void *self, tc_data_info *out)
{
    (void)self;
    memset(out, 0, sizeof(*out));
    out->input = TC_INPUT_TENSOR;
    out->feature_ndim = 1;
    out->feature_shape[0] = 2;
    out->num_labels = 2;
    out->split_size[TC_SPLIT_TRAIN] = 4;
    return TC_OK;
}

#ifndef NULL_READ
static int t_read(void *self, tc_split split, const int64_t *indices, int64_t n, float *features,
                  const char **texts, int32_t *labels)
{
    int64_t i;
    (void)self;
    (void)split;
    (void)texts;
    for (i = 0; i < n; i++) {
        features[2 * i] = (float)indices[i];
        features[2 * i + 1] = 1.0f;
        labels[i] = (int32_t)(indices[i] % 2);
    }
    return TC_OK;
}
#endif

static void t_close(void *self)
{
    (void)self;
}

#ifdef NULL_READ
#define READ_FN NULL
#else
#define READ_FN t_read
#endif

static const tc_data_vtable vtable = {
    sizeof(tc_data_vtable), t_open, t_describe, READ_FN, NULL, t_close,
};

static const tc_option_spec options[] = {
    {"count", TC_OPTION_INT, "3", "a bounded int", 1, 10},
#ifdef DUP_OPTION
    {"count", TC_OPTION_INT, "3", "declared twice", 1, 10},
#endif
};

static const tc_plugin_desc desc = {
    sizeof(tc_plugin_desc),
    PLUGIN_ABI_MAJOR,
    PLUGIN_ABI_MINOR,
    PLUGIN_NAME,
    "1.0",
    "MIT",
    "ABI test plugin",
    TC_PLUGIN_DATA,
    options,
    sizeof(options) / sizeof(options[0]),
    &vtable,
};

#ifndef NO_ENTRY
TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    (void)host_major;
    (void)host_minor;
    return &desc;
}
#else
TC_PLUGIN_EXPORT int not_the_entry(void);

int not_the_entry(void)
{
    return desc.n_options > 0;
}
#endif
