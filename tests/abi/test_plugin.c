/*
 * test_plugin.c - the host side of the plugin ABI: loading, refusals with
 * clear messages, the search path, and typed option validation.
 */
#include <stdlib.h>
#include <unistd.h>

#include <tc/plugin.h>

#include "tc_test.h"

#define P(name) ABI_PLUGIN_DIR "/abi_" name ".so"

static void test_abi_plugin__loads_valid(void)
{
    tc_plugin *p = NULL;

    TC_CHECK_OK(tc_plugin_load(&p, P("ok")));
    TC_CHECK(p && !strcmp(tc_plugin_descriptor(p)->name, "abi-test"));
    TC_CHECK(p && tc_plugin_descriptor(p)->kind == TC_PLUGIN_DATA);
    tc_plugin_free(p);
}

/* A plugin built against ABI 1.0 loads on this 1.1 host. */
static void test_abi_plugin__loads_older_minor(void)
{
    tc_plugin *p = NULL;

    TC_CHECK_OK(tc_plugin_load(&p, P("older_minor")));
    TC_CHECK(p && tc_plugin_descriptor(p)->abi_minor == 0);
    tc_plugin_free(p);
}

static void test_abi_plugin__refuses_newer_minor(void)
{
    tc_plugin *p = NULL;

    TC_CHECK_ERR(tc_plugin_load(&p, P("newer_minor")), TC_EABI);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "plugin ABI 1.99");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "this host provides 1.1");
    TC_CHECK(p == NULL);
}

static void test_abi_plugin__refuses_other_major(void)
{
    tc_plugin *p = NULL;

    TC_CHECK_ERR(tc_plugin_load(&p, P("other_major")), TC_EABI);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "plugin ABI 7.1");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "this host provides 1.1");
}

static void test_abi_plugin__refuses_missing_entry(void)
{
    tc_plugin *p = NULL;

    TC_CHECK_ERR(tc_plugin_load(&p, P("no_entry")), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "does not export 'tc_plugin_entry'");
}

static void test_abi_plugin__refuses_bad_descriptors(void)
{
    tc_plugin *p = NULL;

    TC_CHECK_ERR(tc_plugin_load(&p, P("bad_name")), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "invalid name");
    TC_CHECK_ERR(tc_plugin_load(&p, P("dup_option")), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "declared twice");
    TC_CHECK_ERR(tc_plugin_load(&p, P("null_read")), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "data vtable lacks");
}

static void test_abi_plugin__refuses_non_plugins(void)
{
    tc_plugin *p = NULL;
    char path[] = "/tmp/tc-not-a-plugin-XXXXXX";
    int fd = mkstemp(path);

    TC_CHECK(fd >= 0);
    TC_CHECK(write(fd, "hello", 5) == 5);
    close(fd);
    TC_CHECK_ERR(tc_plugin_load(&p, path), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "cannot load plugin");
    unlink(path);
    TC_CHECK_ERR(tc_plugin_load(&p, "/nonexistent/x.so"), TC_ENOTFOUND);
}

static void test_abi_plugin__search_path(void)
{
    char *path = NULL;

    setenv("TCD_PLUGIN_PATH", "/nonexistent:" ABI_PLUGIN_DIR, 1);
    TC_CHECK_OK(tc_plugin_find(&path, "abi_ok", NULL));
    TC_CHECK(path && !strcmp(path, P("ok")));
    tc_free(path);
    path = NULL;
    TC_CHECK_ERR(tc_plugin_find(&path, "abi_nothere", NULL), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'abi_nothere' not found");
    TC_CHECK_ERR(tc_plugin_find(&path, "../etc", NULL), TC_ENOTFOUND);
    TC_CHECK_ERR(tc_plugin_find(&path, "Bad Name", NULL), TC_EINVAL);
    unsetenv("TCD_PLUGIN_PATH");
}

/* ---- options ---------------------------------------------------------------------------- */

static const tc_option_spec opt_specs[] = {
    {"layers", TC_OPTION_INT, "2", "an int in [1, 8]", 1, 8},
    {"rate", TC_OPTION_FLOAT, "0.5", "a float in [0, 1]", 0, 1},
    {"shuffle", TC_OPTION_BOOL, "true", "a bool", 1, 0},
    {"path", TC_OPTION_STRING, NULL, "a string without default", 1, 0},
};

static const tc_plugin_desc opt_desc = {
    sizeof(tc_plugin_desc), 1, 0, "opts", "1", "MIT", "", TC_PLUGIN_MODEL, opt_specs, 4, NULL,
};

static int parse(tc_options **o, const char *k, const char *v)
{
    const char *kv[2] = {k, v};
    return tc_options_parse(o, &opt_desc, kv, k ? 1 : 0);
}

static void test_abi_plugin__options_defaults(void)
{
    tc_options *o = NULL;

    TC_CHECK_OK(parse(&o, NULL, NULL));
    TC_CHECK(tc_options_int(o, "layers") == 2);
    TC_CHECK_NEAR(tc_options_float(o, "rate"), 0.5, 0);
    TC_CHECK(tc_options_bool(o, "shuffle") == 1);
    TC_CHECK(tc_options_string(o, "path") == NULL);
    TC_CHECK(!tc_options_is_set(o, "layers"));
    /* Asking with the wrong type is a plugin bug: 0, never a crash. */
    TC_CHECK(tc_options_int(o, "rate") == 0);
    TC_CHECK(tc_options_int(o, "nothing") == 0);
    tc_options_free(o);
}

static void test_abi_plugin__options_typed_values(void)
{
    tc_options *o = NULL;

    TC_CHECK_OK(parse(&o, "layers", "8"));
    TC_CHECK(tc_options_int(o, "layers") == 8 && tc_options_is_set(o, "layers"));
    tc_options_free(o);
    TC_CHECK_OK(parse(&o, "shuffle", "no"));
    TC_CHECK(tc_options_bool(o, "shuffle") == 0);
    tc_options_free(o);
    TC_CHECK_OK(parse(&o, "rate", "1e-1"));
    TC_CHECK_NEAR(tc_options_float(o, "rate"), 0.1, 1e-12);
    tc_options_free(o);
    TC_CHECK_OK(parse(&o, "path", "/data/x"));
    TC_CHECK(!strcmp(tc_options_string(o, "path"), "/data/x"));
    tc_options_free(o);
}

static void test_abi_plugin__options_refusals(void)
{
    tc_options *o = NULL;
    const char *dup[4] = {"layers", "1", "layers", "2"};

    TC_CHECK_ERR(parse(&o, "layerz", "1"), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "unknown option 'layerz'");
    TC_CHECK_ERR(parse(&o, "layers", "two"), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "option 'layers' of plugin 'opts' must be an int");
    TC_CHECK_ERR(parse(&o, "layers", "1.5"), TC_EINVAL);
    TC_CHECK_ERR(parse(&o, "layers", ""), TC_EINVAL);
    TC_CHECK_ERR(parse(&o, "layers", "99999999999999999999999"), TC_EINVAL);
    TC_CHECK_ERR(parse(&o, "layers", "9"), TC_ERANGE);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "in [1, 8]");
    TC_CHECK_ERR(parse(&o, "rate", "fast"), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "must be a float");
    TC_CHECK_ERR(parse(&o, "rate", "nan"), TC_EINVAL);
    TC_CHECK_ERR(parse(&o, "rate", "inf"), TC_EINVAL);
    TC_CHECK_ERR(parse(&o, "rate", "-0.1"), TC_ERANGE);
    TC_CHECK_ERR(parse(&o, "shuffle", "maybe"), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "must be a bool");
    TC_CHECK_ERR(tc_options_parse(&o, &opt_desc, dup, 2), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "given twice");
    TC_CHECK(o == NULL);
}

static const tc_test_case tests[] = {
    TC_TEST(test_abi_plugin__loads_valid),
    TC_TEST(test_abi_plugin__loads_older_minor),
    TC_TEST(test_abi_plugin__refuses_newer_minor),
    TC_TEST(test_abi_plugin__refuses_other_major),
    TC_TEST(test_abi_plugin__refuses_missing_entry),
    TC_TEST(test_abi_plugin__refuses_bad_descriptors),
    TC_TEST(test_abi_plugin__refuses_non_plugins),
    TC_TEST(test_abi_plugin__search_path),
    TC_TEST(test_abi_plugin__options_defaults),
    TC_TEST(test_abi_plugin__options_typed_values),
    TC_TEST(test_abi_plugin__options_refusals),
};

TC_TEST_MAIN(tests)
