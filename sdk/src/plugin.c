/*
 * plugin.c - host side of the plugin ABI: loading, validation, search path,
 * and typed option parsing (see <tc/plugin.h>).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/plugin.h>

#include "internal.h"

#define OPTION_VALUE_MAX 4096

struct tc_plugin {
    char *path;
    tc_plugin_desc desc; /* copy of min(host, plugin) size; the rest zero */
};

typedef struct option_value {
    const tc_option_spec *spec;
    int is_set;
    int has_value;
    int64_t i;
    double f;
    char *s;
} option_value;

struct tc_options {
    size_t n;
    option_value *values;
};

static const char *kind_name(tc_plugin_kind k)
{
    switch (k) {
    case TC_PLUGIN_DATA: return "data";
    case TC_PLUGIN_MODEL: return "model";
    default: return "unknown";
    }
}

const char *tc_option_type_name(tc_option_type t)
{
    switch (t) {
    case TC_OPTION_INT: return "int";
    case TC_OPTION_FLOAT: return "float";
    case TC_OPTION_BOOL: return "bool";
    case TC_OPTION_STRING: return "string";
    default: return "unknown";
    }
}

static int valid_name(const char *s, const char *extra)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' ||
              (extra && strchr(extra, *s))))
            return 0;
    }
    return 1;
}

static int validate_vtable(const tc_plugin_desc *d, const char *path)
{
    if (!d->vtable)
        return tc_error_set(TC_EFORMAT, "plugin '%s' has no vtable", path);
    if (d->kind == TC_PLUGIN_DATA) {
        const tc_data_vtable *v = d->vtable;
        if (v->struct_size < offsetof(tc_data_vtable, close) + sizeof(v->close))
            return tc_error_set(TC_EFORMAT, "plugin '%s': data vtable too small (%u bytes)", path,
                                v->struct_size);
        if (!v->open || !v->describe || !v->read || !v->close)
            return tc_error_set(
                TC_EFORMAT, "plugin '%s': data vtable lacks open, describe, read or close", path);
    } else if (d->kind == TC_PLUGIN_MODEL) {
        const tc_model_vtable *v = d->vtable;
        if (v->struct_size < offsetof(tc_model_vtable, destroy) + sizeof(v->destroy))
            return tc_error_set(TC_EFORMAT, "plugin '%s': model vtable too small (%u bytes)", path,
                                v->struct_size);
        if (!v->create || !v->forward || !v->save || !v->destroy)
            return tc_error_set(TC_EFORMAT,
                                "plugin '%s': model vtable lacks create, forward, save or destroy",
                                path);
    } else {
        return tc_error_set(TC_EFORMAT, "plugin '%s' has unknown kind %d", path, (int)d->kind);
    }
    return TC_OK;
}

static int validate_options(const tc_plugin_desc *d, const char *path)
{
    uint32_t i, j;

    if (d->n_options && !d->options)
        return tc_error_set(TC_EFORMAT, "plugin '%s' declares %u options but no table", path,
                            d->n_options);
    if (d->n_options > 1024)
        return tc_error_set(TC_EFORMAT, "plugin '%s' declares too many options (%u)", path,
                            d->n_options);
    for (i = 0; i < d->n_options; i++) {
        const tc_option_spec *o = &d->options[i];
        if (!valid_name(o->name, NULL))
            return tc_error_set(TC_EFORMAT, "plugin '%s': option %u has an invalid name", path, i);
        if (o->type < TC_OPTION_INT || o->type >= TC_OPTION_TYPE_MAX)
            return tc_error_set(TC_EFORMAT, "plugin '%s': option '%s' has an unknown type", path,
                                o->name);
        if (!strcmp(o->name, "plugin"))
            return tc_error_set(TC_EFORMAT, "plugin '%s': option name 'plugin' is reserved", path);
        for (j = 0; j < i; j++)
            if (!strcmp(d->options[j].name, o->name))
                return tc_error_set(TC_EFORMAT, "plugin '%s': option '%s' is declared twice", path,
                                    o->name);
    }
    return TC_OK;
}

static int validate_desc(const tc_plugin_desc *raw, tc_plugin_desc *out, const char *path)
{
    size_t n;
    int err;

    if (raw->struct_size < offsetof(tc_plugin_desc, vtable) + sizeof(raw->vtable))
        return tc_error_set(TC_EFORMAT, "plugin '%s': descriptor too small (%u bytes)", path,
                            raw->struct_size);
    if (raw->abi_major != TC_PLUGIN_ABI_MAJOR || raw->abi_minor > TC_PLUGIN_ABI_MINOR)
        return tc_error_set(TC_EABI,
                            "plugin '%s' was built for plugin ABI %u.%u, this host provides %u.%u; "
                            "rebuild the plugin against this SDK",
                            path, raw->abi_major, raw->abi_minor, TC_PLUGIN_ABI_MAJOR,
                            TC_PLUGIN_ABI_MINOR);
    n = raw->struct_size < sizeof(*out) ? raw->struct_size : sizeof(*out);
    memset(out, 0, sizeof(*out));
    memcpy(out, raw, n);
    if (!valid_name(out->name, "-"))
        return tc_error_set(TC_EFORMAT, "plugin '%s' has an invalid name (want [a-z0-9_-]+)", path);
    if (!out->version)
        out->version = "";
    if (!out->license)
        out->license = "";
    if (!out->description)
        out->description = "";
    if ((err = validate_options(out, path)) < 0)
        return err;
    return validate_vtable(out, path);
}

int tc_plugin_load(tc_plugin **out, const char *path)
{
    tc_plugin *p = NULL;
    tc_plugin_entry_fn entry;
    const tc_plugin_desc *raw;
    void *handle;
    int err;

    TC_ASSERT_ARG(out && path);
    if (access(path, R_OK) < 0)
        return tc_error_set(TC_ENOTFOUND, "cannot read plugin '%s': %s", path, strerror(errno));
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return tc_error_set(TC_EFORMAT, "cannot load plugin '%s': %s", path, dlerror());
    /* POSIX allows converting dlsym's result to a function pointer this way. */
    *(void **)&entry = dlsym(handle, TC_PLUGIN_ENTRY_SYMBOL);
    if (!entry)
        return tc_error_set(TC_ENOTFOUND,
                            "'%s' is not a tcd plugin: it does not export '%s' (see <tc/plugin.h>)",
                            path, TC_PLUGIN_ENTRY_SYMBOL);
    raw = entry(TC_PLUGIN_ABI_MAJOR, TC_PLUGIN_ABI_MINOR);
    if (!raw)
        return tc_error_set(TC_EABI, "plugin '%s' refused this host (plugin ABI %u.%u)", path,
                            TC_PLUGIN_ABI_MAJOR, TC_PLUGIN_ABI_MINOR);
    p = tc_calloc(1, sizeof(*p));
    if (!p)
        return TC_ENOMEM;
    if ((err = validate_desc(raw, &p->desc, path)) < 0)
        goto out;
    if (!(p->path = tc_strdup(path))) {
        err = TC_ENOMEM;
        goto out;
    }
    *out = p;
    p = NULL;
out:
    tc_plugin_free(p);
    return err;
}

void tc_plugin_free(tc_plugin *p)
{
    if (!p)
        return;
    tc_free(p->path);
    tc_free(p);
}

const tc_plugin_desc *tc_plugin_descriptor(const tc_plugin *p)
{
    return p ? &p->desc : NULL;
}

const char *tc_plugin_path(const tc_plugin *p)
{
    return p ? p->path : NULL;
}

char *tc_plugin_default_dir(void)
{
    Dl_info info;
    char *buf, *slash;
    size_t n;

    if (!dladdr((void *)tc_plugin_default_dir, &info) || !info.dli_fname)
        return NULL;
    n = strlen(info.dli_fname) + sizeof("/tcd/plugins") + 1;
    if (!(buf = tc_malloc(n)))
        return NULL;
    snprintf(buf, n, "%s", info.dli_fname);
    slash = strrchr(buf, '/');
    if (!slash) {
        tc_free(buf);
        return NULL;
    }
    /* libtc.so lives in <prefix>/lib; plugins in <prefix>/lib/tcd/plugins. */
    snprintf(slash, n - (size_t)(slash - buf), "/tcd/plugins");
    return buf;
}

static int try_dir(char **out, const char *dir, size_t dlen, const char *name)
{
    size_t n = dlen + strlen(name) + sizeof("/.so");
    char *path = tc_malloc(n);

    if (!path)
        return TC_ENOMEM;
    snprintf(path, n, "%.*s/%s.so", (int)dlen, dir, name);
    if (access(path, R_OK) == 0) {
        *out = path;
        return 1;
    }
    tc_free(path);
    return 0;
}

int tc_plugin_find(char **out, const char *name, const char *extra_dir)
{
    const char *env = getenv("TCD_PLUGIN_PATH");
    char *def = NULL;
    int r;

    TC_ASSERT_ARG(out && name);
    if (strchr(name, '/')) {
        if (access(name, R_OK) < 0)
            return tc_error_set(TC_ENOTFOUND, "plugin file '%s' not found: %s", name,
                                strerror(errno));
        return (*out = tc_strdup(name)) ? TC_OK : TC_ENOMEM;
    }
    if (!valid_name(name, "-"))
        return tc_error_set(TC_EINVAL, "invalid plugin name '%s' (want [a-z0-9_-]+ or a path)",
                            name);
    while (env && *env) {
        const char *colon = strchr(env, ':');
        size_t len = colon ? (size_t)(colon - env) : strlen(env);
        if (len && (r = try_dir(out, env, len, name)) != 0)
            return r < 0 ? r : TC_OK;
        env = colon ? colon + 1 : NULL;
    }
    if ((def = tc_plugin_default_dir())) {
        r = try_dir(out, def, strlen(def), name);
        tc_free(def);
        if (r)
            return r < 0 ? r : TC_OK;
    }
    if (extra_dir && (r = try_dir(out, extra_dir, strlen(extra_dir), name)) != 0)
        return r < 0 ? r : TC_OK;
    return tc_error_set(TC_ENOTFOUND,
                        "plugin '%s' not found in $TCD_PLUGIN_PATH or the default plugin "
                        "directory; list plugins with 'tcd-worker plugins'",
                        name);
}

/* ---- options ------------------------------------------------------------------------------ */

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 0);
    if (end == s || *end || errno == ERANGE)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int parse_float(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int64_t *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int set_value(option_value *v, const char *plugin, const char *text, int from_user)
{
    const tc_option_spec *o = v->spec;
    int has_bounds = o->min <= o->max;
    const char *what = from_user ? "" : "default of ";

    if (strlen(text) > OPTION_VALUE_MAX)
        return tc_error_set(TC_EINVAL, "%soption '%s' of plugin '%s' is longer than %d bytes", what,
                            o->name, plugin, OPTION_VALUE_MAX);
    switch (o->type) {
    case TC_OPTION_INT:
        if (parse_int(text, &v->i) < 0)
            return tc_error_set(TC_EINVAL, "%soption '%s' of plugin '%s' must be an int, got '%s'",
                                what, o->name, plugin, text);
        if (has_bounds && ((double)v->i < o->min || (double)v->i > o->max))
            return tc_error_set(TC_ERANGE,
                                "%soption '%s' of plugin '%s' must be an int in [%.17g, %.17g], "
                                "got %s",
                                what, o->name, plugin, o->min, o->max, text);
        break;
    case TC_OPTION_FLOAT:
        if (parse_float(text, &v->f) < 0)
            return tc_error_set(TC_EINVAL, "%soption '%s' of plugin '%s' must be a float, got '%s'",
                                what, o->name, plugin, text);
        if (has_bounds && (v->f < o->min || v->f > o->max))
            return tc_error_set(TC_ERANGE,
                                "%soption '%s' of plugin '%s' must be a float in [%g, %g], got %s",
                                what, o->name, plugin, o->min, o->max, text);
        break;
    case TC_OPTION_BOOL:
        if (parse_bool(text, &v->i) < 0)
            return tc_error_set(TC_EINVAL,
                                "%soption '%s' of plugin '%s' must be a bool (true or false), got "
                                "'%s'",
                                what, o->name, plugin, text);
        break;
    case TC_OPTION_STRING:
        tc_free(v->s);
        if (!(v->s = tc_strdup(text)))
            return TC_ENOMEM;
        break;
    default: return tc_error_set(TC_EFORMAT, "option '%s' has an unknown type", o->name);
    }
    v->has_value = 1;
    v->is_set = from_user;
    return TC_OK;
}

int tc_options_parse(tc_options **out, const tc_plugin_desc *desc, const char *const *kv,
                     size_t n_kv)
{
    tc_options *o = NULL;
    size_t i, j;
    int err = TC_OK;

    TC_ASSERT_ARG(out && desc && (kv || !n_kv));
    if (!(o = tc_calloc(1, sizeof(*o))))
        return TC_ENOMEM;
    o->n = desc->n_options;
    if (!(o->values = tc_calloc(o->n ? o->n : 1, sizeof(*o->values)))) {
        err = TC_ENOMEM;
        goto out;
    }
    for (i = 0; i < o->n; i++) {
        o->values[i].spec = &desc->options[i];
        if (desc->options[i].default_value &&
            (err = set_value(&o->values[i], desc->name, desc->options[i].default_value, 0)) < 0)
            goto out;
    }
    for (i = 0; i < n_kv; i++) {
        const char *name = kv[2 * i], *value = kv[2 * i + 1];
        option_value *v = NULL;
        for (j = 0; j < o->n; j++)
            if (!strcmp(o->values[j].spec->name, name))
                v = &o->values[j];
        if (!v) {
            err = tc_error_set(TC_EINVAL,
                               "unknown option '%s' for %s plugin '%s'; see 'tcd-worker plugins "
                               "show %s' for its options",
                               name, kind_name(desc->kind), desc->name, desc->name);
            goto out;
        }
        if (v->is_set) {
            err = tc_error_set(TC_EINVAL, "option '%s' of plugin '%s' is given twice", name,
                               desc->name);
            goto out;
        }
        if ((err = set_value(v, desc->name, value ? value : "", 1)) < 0)
            goto out;
    }
    *out = o;
    o = NULL;
out:
    tc_options_free(o);
    return err;
}

void tc_options_free(tc_options *o)
{
    size_t i;

    if (!o)
        return;
    for (i = 0; o->values && i < o->n; i++)
        tc_free(o->values[i].s);
    tc_free(o->values);
    tc_free(o);
}

static const option_value *lookup(const tc_options *o, const char *name, tc_option_type type)
{
    size_t i;

    if (!o || !name)
        return NULL;
    for (i = 0; i < o->n; i++)
        if (!strcmp(o->values[i].spec->name, name))
            return o->values[i].spec->type == type && o->values[i].has_value ? &o->values[i] : NULL;
    return NULL;
}

int64_t tc_options_int(const tc_options *o, const char *name)
{
    const option_value *v = lookup(o, name, TC_OPTION_INT);
    return v ? v->i : 0;
}

double tc_options_float(const tc_options *o, const char *name)
{
    const option_value *v = lookup(o, name, TC_OPTION_FLOAT);
    return v ? v->f : 0.0;
}

int tc_options_bool(const tc_options *o, const char *name)
{
    const option_value *v = lookup(o, name, TC_OPTION_BOOL);
    return v ? (int)v->i : 0;
}

const char *tc_options_string(const tc_options *o, const char *name)
{
    const option_value *v = lookup(o, name, TC_OPTION_STRING);
    return v ? v->s : NULL;
}

int tc_options_is_set(const tc_options *o, const char *name)
{
    size_t i;

    if (!o || !name)
        return 0;
    for (i = 0; i < o->n; i++)
        if (!strcmp(o->values[i].spec->name, name))
            return o->values[i].is_set;
    return 0;
}
