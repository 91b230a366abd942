/*
 * plugins.c - `tcd-worker plugins [show NAME|PATH] [--json]`: list the
 * plugins on the search path (broken ones with the reason) and show one
 * plugin's options. tcd runs this in a throwaway worker to probe plugins.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define MAX_PLUGIN_DIRS 64

static const char *kind_name(tc_plugin_kind k)
{
    return k == TC_PLUGIN_DATA ? "data" : k == TC_PLUGIN_MODEL ? "model" : "unknown";
}

static cJSON *option_json(const tc_option_spec *o)
{
    cJSON *j = cJSON_CreateObject();

    cJSON_AddStringToObject(j, "name", o->name);
    cJSON_AddStringToObject(j, "type", tc_option_type_name(o->type));
    if (o->default_value)
        cJSON_AddStringToObject(j, "default", o->default_value);
    else
        cJSON_AddNullToObject(j, "default");
    cJSON_AddStringToObject(j, "help", o->help ? o->help : "");
    if (o->min <= o->max) {
        cJSON_AddNumberToObject(j, "min", o->min);
        cJSON_AddNumberToObject(j, "max", o->max);
    }
    return j;
}

static cJSON *plugin_json(const tc_plugin *p, int with_options)
{
    const tc_plugin_desc *d = tc_plugin_descriptor(p);
    cJSON *j = cJSON_CreateObject();
    char abi[32];
    uint32_t i;

    cJSON_AddStringToObject(j, "name", d->name);
    cJSON_AddStringToObject(j, "kind", kind_name(d->kind));
    cJSON_AddStringToObject(j, "version", d->version);
    cJSON_AddStringToObject(j, "license", d->license);
    cJSON_AddStringToObject(j, "description", d->description);
    snprintf(abi, sizeof(abi), "%u.%u", d->abi_major, d->abi_minor);
    cJSON_AddStringToObject(j, "abi", abi);
    cJSON_AddStringToObject(j, "path", tc_plugin_path(p));
    cJSON_AddStringToObject(j, "status", "ok");
    if (with_options) {
        cJSON *opts = cJSON_AddArrayToObject(j, "options");
        for (i = 0; i < d->n_options; i++)
            cJSON_AddItemToArray(opts, option_json(&d->options[i]));
    }
    return j;
}

static void print_options(const tc_plugin_desc *d)
{
    uint32_t i;

    printf("%s %s (%s plugin, ABI %u.%u, %s)\n%s\n", d->name, d->version, kind_name(d->kind),
           d->abi_major, d->abi_minor, d->license, d->description);
    if (!d->n_options) {
        printf("\nno options\n");
        return;
    }
    printf("\n%-20s %-7s %-24s %s\n", "OPTION", "TYPE", "DEFAULT", "HELP");
    for (i = 0; i < d->n_options; i++) {
        const tc_option_spec *o = &d->options[i];
        printf("%-20s %-7s %-24s %s", o->name, tc_option_type_name(o->type),
               o->default_value ? (*o->default_value ? o->default_value : "\"\"") : "-",
               o->help ? o->help : "");
        if (o->min <= o->max)
            printf(" [%g, %g]", o->min, o->max);
        putchar('\n');
    }
}

static int cmd_show(const char *name, int json)
{
    tc_plugin *p = NULL;
    char *path = NULL;
    int err;

    if ((err = tc_plugin_find(&path, name, NULL)) < 0 || (err = tc_plugin_load(&p, path)) < 0) {
        fprintf(stderr, "tcd-worker: %s\n", tc_error_message());
        if (json) {
            cJSON *e = cJSON_CreateObject(), *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "code", tcd_error_code_name(err));
            cJSON_AddStringToObject(o, "message", tc_error_message());
            cJSON_AddItemToObject(e, "error", o);
            tcd_emit(e);
        }
        tc_free(path);
        return 1;
    }
    if (json)
        tcd_emit(plugin_json(p, 1));
    else
        print_options(tc_plugin_descriptor(p));
    tc_plugin_free(p);
    tc_free(path);
    return 0;
}

static int has_so_suffix(const char *s)
{
    size_t n = strlen(s);
    return n > 3 && !strcmp(s + n - 3, ".so");
}

static void list_dir(const char *dir, size_t len, cJSON *arr, int json)
{
    char dbuf[4096], path[4096];
    struct dirent **names = NULL;
    int n, i;

    if (len >= sizeof(dbuf))
        return;
    memcpy(dbuf, dir, len);
    dbuf[len] = '\0';
    if ((n = scandir(dbuf, &names, NULL, alphasort)) < 0)
        return;
    for (i = 0; i < n; i++) {
        tc_plugin *p = NULL;
        if (has_so_suffix(names[i]->d_name) &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dbuf, names[i]->d_name) < sizeof(path)) {
            if (tc_plugin_load(&p, path) == TC_OK) {
                const tc_plugin_desc *d = tc_plugin_descriptor(p);
                if (json)
                    cJSON_AddItemToArray(arr, plugin_json(p, 0));
                else
                    printf("%-16s %-6s %-8s %s\n", d->name, kind_name(d->kind), d->version, path);
                tc_plugin_free(p);
            } else if (json) {
                cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "path", path);
                cJSON_AddStringToObject(j, "status", "broken");
                cJSON_AddStringToObject(j, "reason", tc_error_message());
                cJSON_AddItemToArray(arr, j);
            } else {
                printf("%-16s %-6s %-8s %s\n  broken: %s\n", "?", "?", "?", path,
                       tc_error_message());
            }
        }
        free(names[i]);
    }
    free(names);
}

static int cmd_list(int json)
{
    const char *env = getenv("TCD_PLUGIN_PATH");
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "plugins");
    char *def = tc_plugin_default_dir();

    if (!json)
        printf("%-16s %-6s %-8s %s\n", "NAME", "KIND", "VERSION", "PATH");
    while (env && *env) {
        const char *colon = strchr(env, ':');
        size_t len = colon ? (size_t)(colon - env) : strlen(env);
        if (len)
            list_dir(env, len, arr, json);
        env = colon ? colon + 1 : NULL;
    }
    if (def)
        list_dir(def, strlen(def), arr, json);
    tc_free(def);
    if (json)
        tcd_emit(root);
    else
        cJSON_Delete(root);
    return 0;
}

int tcd_cmd_plugins(int argc, char **argv)
{
    const char *show = NULL;
    int json = 0, i;

    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "show") && i + 1 < argc && !show)
            show = argv[++i];
        else {
            fprintf(stderr, "usage: tcd-worker plugins [show NAME|PATH] [--json]\n");
            return 2;
        }
    }
    return show ? cmd_show(show, json) : cmd_list(json);
}
