/*
 * plugins.c - /v1/plugins: tcd never loads plugin code itself; it asks a
 * throwaway `tcd-worker plugins --json` / `plugins show NAME --json` and
 * caches the answers. The cache key lists every *.so on the plugin path
 * (TCD_PLUGIN_PATH as the worker sees it, then the bundled directory
 * dirname(worker)/../lib/tcd/plugins) with its size and mtime; any change
 * drops the cache.
 *
 * d->plugins_cache is {"list": {"plugins":[...]}, "show": {"NAME": {...}}}.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "internal.h"

#define MAX_KEY (1024 * 1024)

typedef struct keybuf {
    char *s;
    size_t len, cap;
    int full;
} keybuf;

static void key_add(keybuf *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void key_add(keybuf *k, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (k->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(k->s + k->len, k->cap - k->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= k->cap - k->len) {
        k->full = 1; /* a key this long is never equal to a stored one: no caching */
        return;
    }
    k->len += (size_t)n;
}

static int is_so(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 3 && !strcmp(e->d_name + n - 3, ".so");
}

static void key_dir(keybuf *k, const char *dir, size_t len)
{
    struct dirent **names = NULL;
    char dbuf[4096], path[4096 + 256];
    int n, i;

    if (len == 0 || len >= sizeof(dbuf))
        return;
    memcpy(dbuf, dir, len);
    dbuf[len] = '\0';
    key_add(k, "dir %s\n", dbuf);
    if ((n = scandir(dbuf, &names, is_so, alphasort)) < 0)
        return;
    for (i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dbuf, names[i]->d_name);
        if (stat(path, &st) == 0)
            key_add(k, "%s %lld %lld.%09ld\n", path, (long long)st.st_size,
                    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        free(names[i]);
    }
    free(names);
}

/* The cache key; NULL on OOM. */
static char *plugin_key(tcd_daemon *d)
{
    keybuf k = {malloc(MAX_KEY), 0, MAX_KEY, 0};
    const char *env = getenv("TCD_PLUGIN_PATH"), *slash;
    size_t i;

    if (!k.s)
        return NULL;
    k.s[0] = '\0';
    if (d->cfg.n_plugin_dirs) {
        for (i = 0; i < d->cfg.n_plugin_dirs; i++)
            key_dir(&k, d->cfg.plugin_dirs[i], strlen(d->cfg.plugin_dirs[i]));
    } else {
        while (env && *env) {
            const char *colon = strchr(env, ':');
            size_t len = colon ? (size_t)(colon - env) : strlen(env);
            key_dir(&k, env, len);
            env = colon ? colon + 1 : NULL;
        }
    }
    if ((slash = strrchr(d->cfg.worker_path, '/'))) {
        char def[4096];
        int n = snprintf(def, sizeof(def), "%.*s/../lib/tcd/plugins",
                         (int)(slash - d->cfg.worker_path), d->cfg.worker_path);
        if (n > 0 && (size_t)n < sizeof(def))
            key_dir(&k, def, (size_t)n);
    }
    if (k.full) {
        free(k.s);
        return strdup("");
    }
    return k.s;
}

/* A cached answer (duplicated) for section/name under key, or NULL. Takes the lock. */
static cJSON *cache_get(tcd_daemon *d, const char *key, const char *section, const char *name)
{
    cJSON *hit = NULL, *s;

    if (!*key)
        return NULL;
    pthread_mutex_lock(&d->lock);
    if (d->plugins_cache && d->plugins_cache_key && !strcmp(d->plugins_cache_key, key)) {
        s = cJSON_GetObjectItemCaseSensitive(d->plugins_cache, section);
        if (name)
            s = cJSON_GetObjectItemCaseSensitive(s, name);
        if (s)
            hit = cJSON_Duplicate(s, 1);
    }
    pthread_mutex_unlock(&d->lock);
    return hit;
}

/* Store a copy of v under section[/name], dropping the cache if key changed. */
static void cache_put(tcd_daemon *d, const char *key, const char *section, const char *name,
                      const cJSON *v)
{
    cJSON *copy, *s;

    if (!*key || !(copy = cJSON_Duplicate(v, 1)))
        return;
    pthread_mutex_lock(&d->lock);
    if (!d->plugins_cache || !d->plugins_cache_key || strcmp(d->plugins_cache_key, key) != 0) {
        cJSON_Delete(d->plugins_cache);
        free(d->plugins_cache_key);
        d->plugins_cache = cJSON_CreateObject();
        d->plugins_cache_key = strdup(key);
        if (d->plugins_cache)
            cJSON_AddObjectToObject(d->plugins_cache, "show");
    }
    if (!d->plugins_cache || !d->plugins_cache_key) {
        cJSON_Delete(copy);
    } else if (!name) {
        cJSON_DeleteItemFromObjectCaseSensitive(d->plugins_cache, section);
        cJSON_AddItemToObject(d->plugins_cache, section, copy);
    } else {
        s = cJSON_GetObjectItemCaseSensitive(d->plugins_cache, section);
        cJSON_DeleteItemFromObjectCaseSensitive(s, name);
        if (!s || !cJSON_AddItemToObject(s, name, copy))
            cJSON_Delete(copy);
    }
    pthread_mutex_unlock(&d->lock);
}

/* Run the worker with args; parse its stdout as one JSON object. */
static int probe(tcd_daemon *d, const char *const *argv, cJSON **out, int *wstatus, char *err,
                 size_t errcap)
{
    char *text = NULL;
    int r = tcd_run_capture(&d->cfg, argv, NULL, TCD_PROBE_TIMEOUT_S, &text, wstatus, err, errcap);

    if (r < 0) {
        tcd_log(TCD_LOG_ERR, "plugin probe: %s", err);
        return r;
    }
    *out = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        snprintf(err, errcap, "the plugin probe printed no JSON (%s %d)",
                 WIFEXITED(*wstatus) ? "exit" : "signal",
                 WIFEXITED(*wstatus) ? WEXITSTATUS(*wstatus) : WTERMSIG(*wstatus));
        tcd_log(TCD_LOG_ERR, "%s", err);
        return TCD_E_INTERNAL;
    }
    return TCD_OK;
}

int tcd_plugins_list(tcd_daemon *d, cJSON **out, char *err, size_t errcap)
{
    const char *argv[] = {d->cfg.worker_path, "plugins", "--json", NULL};
    char *key = plugin_key(d);
    cJSON *o = NULL;
    int st = 0, r;

    if (!key) {
        snprintf(err, errcap, "out of memory");
        return TCD_E_INTERNAL;
    }
    if ((o = cache_get(d, key, "list", NULL))) {
        *out = o;
        free(key);
        return TCD_OK;
    }
    if ((r = probe(d, argv, &o, &st, err, errcap)) == TCD_OK) {
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "plugins"))) {
            snprintf(err, errcap, "the plugin probe printed no plugin list");
            cJSON_Delete(o);
            r = TCD_E_INTERNAL;
        } else {
            cache_put(d, key, "list", NULL, o);
            *out = o;
        }
    }
    free(key);
    return r;
}

static int valid_name(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return n > 0 && n <= 64;
}

int tcd_plugin_get(tcd_daemon *d, const char *name, cJSON **out, char *err, size_t errcap)
{
    const char *argv[] = {d->cfg.worker_path, "plugins", "show", name, "--json", NULL};
    const cJSON *msg;
    char *key;
    cJSON *o = NULL;
    int st = 0, r;

    if (!valid_name(name)) {
        snprintf(err, errcap, "invalid plugin name (want [a-z0-9_-]{1,64})");
        return TCD_E_BAD_REQUEST;
    }
    if (!(key = plugin_key(d))) {
        snprintf(err, errcap, "out of memory");
        return TCD_E_INTERNAL;
    }
    if ((o = cache_get(d, key, "show", name))) {
        *out = o;
        free(key);
        return TCD_OK;
    }
    if ((r = probe(d, argv, &o, &st, err, errcap)) == TCD_OK) {
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "name")) && WIFEXITED(st) &&
            WEXITSTATUS(st) == 0) {
            cache_put(d, key, "show", name, o);
            *out = o;
        } else {
            msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "error"),
                                                   "message");
            snprintf(err, errcap, "%s",
                     cJSON_IsString(msg) ? msg->valuestring : "plugin not found");
            cJSON_Delete(o);
            r = TCD_E_PLUGIN_NOT_FOUND;
        }
    }
    free(key);
    return r;
}

void tcd_plugins_dispose(tcd_daemon *d)
{
    cJSON_Delete(d->plugins_cache);
    free(d->plugins_cache_key);
    d->plugins_cache = NULL;
    d->plugins_cache_key = NULL;
}
