/*
 * crash_plugin.c - a model plugin that crashes on purpose, to test that a
 * crashing plugin kills only its worker: forward calls abort() (or, with
 * option segv, dereferences NULL) after `after` batches.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <tc/ops.h>
#include <tc/plugin.h>

typedef struct crash {
    tc_tensor *w, *b;
    int64_t features, after, calls;
    int segv;
} crash;

static const tc_option_spec crash_options[] = {
    {"after", TC_OPTION_INT, "0", "forward calls before crashing", 0, 1e9},
    {"segv", TC_OPTION_BOOL, "false", "raise SIGSEGV instead of calling abort()", 1, 0},
};

static int crash_create(void **out, const tc_options *opts, const tc_data_info *data,
                        tc_params *params, tc_rng *rng, const tc_host *host)
{
    crash *c = calloc(1, sizeof(*c));
    int64_t shape[2];
    int err;

    (void)host;
    if (!c)
        return tc_error_set(TC_ENOMEM, "out of memory");
    c->features = tc_shape_numel(data->feature_ndim, data->feature_shape);
    c->after = tc_options_int(opts, "after");
    c->segv = tc_options_bool(opts, "segv");
    shape[0] = data->num_labels;
    shape[1] = c->features;
    if ((err = tc_params_add(params, &c->w, "linear.weight", 2, shape, 0)) < 0 ||
        (err = tc_params_add(params, &c->b, "linear.bias", 1, shape, TC_TENSOR_NO_DECAY)) < 0) {
        free(c);
        return err;
    }
    tc_init_linear(c->w, c->b, rng);
    *out = c;
    return TC_OK;
}

static int crash_forward(void *self, tc_graph *g, const tc_batch *batch, tc_tensor **out)
{
    crash *c = self;
    int64_t shape[2] = {batch->size, c->features};

    if (c->calls++ >= c->after) {
        if (c->segv)
            raise(SIGSEGV);
        abort();
    }
    *out = tc_linear(g, tc_tensor_from(g, 2, shape, batch->features), c->w, c->b);
    return *out ? TC_OK : tc_graph_status(g);
}

static int crash_save(void *self, const char *dir)
{
    (void)self;
    (void)dir;
    return TC_OK;
}

static void crash_destroy(void *self)
{
    free(self);
}

static const tc_model_vtable crash_vtable = {
    sizeof(tc_model_vtable), crash_create, NULL, crash_forward, crash_save, crash_destroy,
};

static const tc_plugin_desc crash_desc = {
    sizeof(tc_plugin_desc),
    TC_PLUGIN_ABI_MAJOR,
    TC_PLUGIN_ABI_MINOR,
    "crash",
    "0.1.0",
    "MIT",
    "test plugin: crashes in forward",
    TC_PLUGIN_MODEL,
    crash_options,
    sizeof(crash_options) / sizeof(crash_options[0]),
    &crash_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    (void)host_minor;
    return host_major == TC_PLUGIN_ABI_MAJOR ? &crash_desc : NULL;
}
