/*
 * plugin_test.h - the harness the plugin tests under tests/plugins/ share, on
 * top of tc_test.h: a scratch directory and the loaded plugins, made once per
 * process and released at exit; a test-case macro that sets them up first;
 * and small helpers for files in the scratch directory and for model plugins.
 *
 * Each test is its own executable, so everything here is static.
 */
#ifndef TC_PLUGIN_TEST_H
#define TC_PLUGIN_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/params.h>
#include <tc/plugin.h>
#include <tc/rng.h>

#include "tc_test.h"

#define PLUGIN_TEST_MAX_PLUGINS 4

/* The scratch directory, "/tmp/tc-test-NAME-XXXXXX" once plugin_test_setup has made it. */
static char plugin_test_dir[256];
/* The plugins plugin_test_setup loaded, in the order of its names. */
static tc_plugin *plugin_test_plugins[PLUGIN_TEST_MAX_PLUGINS];

static void plugin_test_cleanup(void)
{
    char cmd[300];
    int i;

    for (i = 0; i < PLUGIN_TEST_MAX_PLUGINS; i++)
        tc_plugin_free(plugin_test_plugins[i]);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", plugin_test_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", plugin_test_dir);
}

/*
 * Once per process: make plugin_test_dir as "/tmp/tc-test-NAME-XXXXXX", load
 * TC_PLUGIN_BUILD_DIR "/<names[i]>.so" into plugin_test_plugins[i] for i < n,
 * then run more (NULL: nothing more), the test's own setup. The directory is
 * removed and the plugins freed at exit. Returns 0, or -1 after a message on
 * stderr; later calls return the first call's result and do nothing else.
 */
static inline int plugin_test_setup(const char *name, const char *const *names, int n,
                                    int (*more)(void))
{
    static int done, ok;
    int i;

    if (done)
        return ok ? 0 : -1;
    done = 1;
    if (n > PLUGIN_TEST_MAX_PLUGINS) {
        fprintf(stderr, "plugin_test_setup: %d plugins, at most %d\n", n, PLUGIN_TEST_MAX_PLUGINS);
        return -1;
    }
    snprintf(plugin_test_dir, sizeof(plugin_test_dir), "/tmp/tc-test-%s-XXXXXX", name);
    if (!mkdtemp(plugin_test_dir)) {
        perror("mkdtemp");
        return -1;
    }
    atexit(plugin_test_cleanup);
    for (i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.so", TC_PLUGIN_BUILD_DIR, names[i]);
        if (tc_plugin_load(&plugin_test_plugins[i], path) < 0) {
            fprintf(stderr, "cannot load the %s plugin: %s\n", names[i], tc_error_message());
            return -1;
        }
    }
    if (more && more() < 0)
        return -1;
    ok = 1;
    return 0;
}

/*
 * PLUGIN_TEST(name, setup, what) { body } defines a test case that runs
 * setup() first, so every case (also when run alone by name) sees what it
 * sets up; when setup fails the case fails with the check !what.
 */
#define PLUGIN_TEST(name, setup, what)                                                             \
    static void name##_body(void);                                                                 \
    static void name(void)                                                                         \
    {                                                                                              \
        if ((setup)() < 0) {                                                                       \
            TC_CHECK(!what);                                                                       \
            return;                                                                                \
        }                                                                                          \
        name##_body();                                                                             \
    }                                                                                              \
    static void name##_body(void)

/*
 * Write text to dir/name, making the folder of name first when name has one
 * (one level: "data/train.jsonl" makes dir/data). Returns 0, or -1 after a
 * failed check when the path is too long or the file cannot be opened.
 */
static inline int plugin_test_write_file(const char *dir, const char *name, const char *text)
{
    char path[512], sub[512], *slash;
    FILE *f;
    int len;

    len = snprintf(path, sizeof(path), "%s/%s", dir, name);
    TC_CHECK(len >= 0 && (size_t)len < sizeof(path));
    if (len < 0 || (size_t)len >= sizeof(path))
        return -1;
    memcpy(sub, path, sizeof(sub));
    if ((slash = strrchr(sub, '/'))) {
        *slash = '\0';
        mkdir(sub, 0700);
    }
    f = fopen(path, "w");
    TC_CHECK(f != NULL);
    if (!f)
        return -1;
    fputs(text, f);
    fclose(f);
    return 0;
}

/* ---- model plugins ------------------------------------------------------------------------ */

/* The last line a model logged through plugin_test_host; plugin_test_model_new clears it. */
static char plugin_test_last_log[1024];

static void plugin_test_host_log(void *ctx, tc_log_level level, const char *message)
{
    (void)ctx;
    (void)level;
    snprintf(plugin_test_last_log, sizeof(plugin_test_last_log), "%s", message);
}

/* A host whose log keeps the last line in plugin_test_last_log. */
static const tc_host plugin_test_host = {
    .struct_size = sizeof(tc_host),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .log = plugin_test_host_log,
};

/*
 * A model of the model plugin desc with the options kv (NULL-terminated name,
 * value pairs; NULL: none) on data, in fresh params initialised from seed,
 * created with host (NULL: none). On success *out is the model and *out_params
 * its params, both owned by the caller.
 */
static inline int plugin_test_model_new(void **out, tc_params **out_params,
                                        const tc_plugin_desc *desc, const char *const *kv,
                                        const tc_data_info *data, uint64_t seed,
                                        const tc_host *host)
{
    const tc_model_vtable *vt = desc->vtable;
    tc_options *o = NULL;
    tc_params *p = NULL;
    tc_rng rng;
    size_t n = 0;
    int err;

    while (kv && kv[2 * n])
        n++;
    tc_rng_init(&rng, seed, TC_RNG_STREAM_INIT);
    if ((err = tc_options_parse(&o, desc, kv, n)) < 0)
        goto out;
    if ((err = tc_params_new(&p)) < 0)
        goto out;
    plugin_test_last_log[0] = '\0';
    if ((err = vt->create(out, o, data, p, &rng, host)) < 0)
        goto out;
    *out_params = p;
    p = NULL;
out:
    tc_params_free(p);
    tc_options_free(o);
    return err;
}

/* A model made by plugin_test_model_make, with its params; plugin_test_model_free releases it. */
typedef struct plugin_test_model {
    int kind; /* which of the test's plugins made it */
    const tc_model_vtable *vt;
    void *m;
    tc_params *p;
    int32_t L; /* labels of the data it was made for */
} plugin_test_model;

/* Destroy md's model and free its params; md is zeroed and may be freed again. */
static inline void plugin_test_model_free(plugin_test_model *md)
{
    if (md->m)
        md->vt->destroy(md->m);
    tc_params_free(md->p);
    memset(md, 0, sizeof(*md));
}

/*
 * plugin_test_model_new into *out, with plugin_test_host, recording kind (the
 * test's index of the plugin of desc). On failure *out is zeroed.
 */
static inline int plugin_test_model_make(plugin_test_model *out, int kind,
                                         const tc_plugin_desc *desc, const char *const *kv,
                                         const tc_data_info *data, uint64_t seed)
{
    tc_params *p = NULL;
    void *m = NULL;
    int err;

    memset(out, 0, sizeof(*out));
    err = plugin_test_model_new(&m, &p, desc, kv, data, seed, &plugin_test_host);
    if (err < 0)
        return err;
    out->kind = kind;
    out->vt = desc->vtable;
    out->m = m;
    out->p = p;
    out->L = data->num_labels;
    return err;
}

/* Whether a and b hold the same number of floats with the same bits. */
static inline int plugin_test_params_equal(const tc_params *a, const tc_params *b)
{
    return tc_params_numel(a) == tc_params_numel(b) &&
           !memcmp(tc_params_data(a), tc_params_data(b),
                   (size_t)tc_params_numel(a) * sizeof(float));
}

#endif /* TC_PLUGIN_TEST_H */
