/*
 * config.c - tcd.yaml: one flat mapping of known keys (contrib/tcd.yaml), and the
 * `schedules:` list (schedule.h), each checked by tcd_schedule_validate.
 * Unknown keys and ill-typed values are refused naming file:line and key.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "internal.h"
#include "schedule.h"

void tcd_config_defaults(tcd_config *c)
{
    memset(c, 0, sizeof(*c));
    c->socket_mode = 0660;
    c->limits.max_body = 1024 * 1024;
    c->limits.max_json_depth = 32;
    c->limits.max_url = 4096;
    c->limits.max_connections = 128;
    c->limits.max_jobs = 1000;
    c->limits.max_spec = 256 * 1024;
    c->limits.max_sets = 256;
    c->limits.train_concurrency = 1;
    c->limits.transfer_concurrency = 2;
    c->limits.cancel_grace_s = 30;
    c->limits.default_timeout_s = 0;
}

void tcd_config_dispose(tcd_config *c)
{
    size_t i;

    free(c->state_dir);
    free(c->socket_path);
    free(c->worker_path);
    for (i = 0; i < c->n_plugin_dirs; i++)
        free(c->plugin_dirs[i]);
    free(c->plugin_dirs);
    cJSON_Delete(c->schedules);
    memset(c, 0, sizeof(*c));
}

const char *tcd_config_default_path(void)
{
    static const char *const sys = "/etc/tcd/tcd.yaml";

    if (geteuid() == 0)
        return access(sys, F_OK) == 0 ? sys : "";
    return "";
}

/* ---- typed values ------------------------------------------------------------------------- */

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    unsigned long long v, mul = 1;

    errno = 0;
    if (*s == '-' || !*s)
        return -1;
    v = strtoull(s, &end, 10);
    if (end == s || errno)
        return -1;
    if (*end == 'K' || *end == 'k')
        mul = 1024ULL, end++;
    else if (*end == 'M')
        mul = 1024ULL * 1024, end++;
    else if (*end == 'G')
        mul = 1024ULL * 1024 * 1024, end++;
    if (*end == 'i' && mul > 1 && end[1] == 'B')
        end += 2;
    else if (*end == 'B' && mul > 1)
        end++;
    if (*end || v > (unsigned long long)hi / mul || v * mul < lo)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

static int parse_int_range(const char *s, long lo, long hi, int base, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, base);
    if (end == s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0 || v > hi)
        return -1;
    *out = v;
    return 0;
}

typedef struct cfg_parse {
    const char *file;
    char *err;
    size_t errcap;
} cfg_parse;

static int bad(cfg_parse *p, size_t line, const char *key, const char *what)
{
    snprintf(p->err, p->errcap, "%s:%zu: '%s' %s", p->file, line, key, what);
    return -1;
}

static int set_scalar(tcd_config *c, cfg_parse *p, const char *key, const char *v, size_t line)
{
    tcd_limits *l = &c->limits;
    long n;
    size_t z;

#define SIZE_KEY(name, lo, hi)                                                                     \
    if (!strcmp(key, #name)) {                                                                     \
        if (parse_size(v, lo, hi, &z) < 0)                                                         \
            return bad(p, line, key, "must be a size in [" #lo ", " #hi "] (K, M, G suffixes)");   \
        l->name = z;                                                                               \
        return 0;                                                                                  \
    }
    SIZE_KEY(max_body, 1024, 1073741824)
    SIZE_KEY(max_url, 256, 1048576)
    SIZE_KEY(max_jobs, 1, 1000000)
    SIZE_KEY(max_spec, 1024, 16777216)
    SIZE_KEY(max_sets, 0, 65536)
#undef SIZE_KEY
    if (!strcmp(key, "max_json_depth")) {
        if (parse_int_range(v, 2, 1024, 10, &n) < 0)
            return bad(p, line, key, "must be an integer in [2, 1024]");
        l->max_json_depth = (int)n;
    } else if (!strcmp(key, "max_connections")) {
        if (parse_int_range(v, 1, 65536, 10, &n) < 0)
            return bad(p, line, key, "must be an integer in [1, 65536]");
        l->max_connections = (unsigned)n;
    } else if (!strcmp(key, "train_concurrency")) {
        if (parse_int_range(v, 1, TCD_MAX_RUNNING, 10, &n) < 0)
            return bad(p, line, key, "must be an integer in [1, 64]");
        l->train_concurrency = (int)n;
    } else if (!strcmp(key, "transfer_concurrency")) {
        if (parse_int_range(v, 1, TCD_MAX_RUNNING, 10, &n) < 0)
            return bad(p, line, key, "must be an integer in [1, 64]");
        l->transfer_concurrency = (int)n;
    } else if (!strcmp(key, "cancel_grace_s")) {
        if (parse_seconds(v, 86400, &l->cancel_grace_s) < 0)
            return bad(p, line, key, "must be a number of seconds in [0, 86400]");
    } else if (!strcmp(key, "default_timeout_s")) {
        if (parse_seconds(v, 1e9, &l->default_timeout_s) < 0)
            return bad(p, line, key, "must be a number of seconds >= 0 (0 = none)");
    } else if (!strcmp(key, "socket_mode")) {
        if (parse_int_range(v, 0, 0777, 8, &n) < 0)
            return bad(p, line, key, "must be an octal mode such as 0660");
        c->socket_mode = (unsigned)n;
    } else if (!strcmp(key, "worker") || !strcmp(key, "state_dir") || !strcmp(key, "socket")) {
        char **dst = !strcmp(key, "worker")      ? &c->worker_path
                     : !strcmp(key, "state_dir") ? &c->state_dir
                                                 : &c->socket_path;
        if (*v != '/')
            return bad(p, line, key, "must be an absolute path");
        free(*dst);
        if (!(*dst = strdup(v)))
            return bad(p, line, key, "out of memory");
    } else if (!strcmp(key, "plugin_dirs")) {
        return bad(p, line, key, "must be a list of directories");
    } else if (!strcmp(key, "schedules")) {
        return bad(p, line, key, "must be a list of schedules (name, cron, spec, ...)");
    } else {
        return bad(p, line, key, "is not a known key");
    }
    return 0;
}

static int next_event(yaml_parser_t *y, yaml_event_t *e, cfg_parse *p)
{
    if (!yaml_parser_parse(y, e)) {
        snprintf(p->err, p->errcap, "%s:%zu: %s", p->file, y->problem_mark.line + 1,
                 y->problem ? y->problem : "invalid YAML");
        return -1;
    }
    return 0;
}

static int read_dirs(tcd_config *c, yaml_parser_t *y, cfg_parse *p, size_t line)
{
    yaml_event_t e;
    size_t i;

    for (i = 0; i < c->n_plugin_dirs; i++)
        free(c->plugin_dirs[i]);
    c->n_plugin_dirs = 0;
    for (;;) {
        char **nd;
        if (next_event(y, &e, p) < 0)
            return -1;
        if (e.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&e);
            return 0;
        }
        if (e.type != YAML_SCALAR_EVENT || ((const char *)e.data.scalar.value)[0] != '/' ||
            c->n_plugin_dirs >= 64) {
            size_t l = e.start_mark.line + 1;
            yaml_event_delete(&e);
            return bad(p, l ? l : line, "plugin_dirs",
                       "must be a list of at most 64 absolute paths");
        }
        nd = realloc(c->plugin_dirs, (c->n_plugin_dirs + 1) * sizeof(char *));
        if (!nd || !(nd[c->n_plugin_dirs] = strdup((const char *)e.data.scalar.value))) {
            if (nd)
                c->plugin_dirs = nd;
            yaml_event_delete(&e);
            return bad(p, line, "plugin_dirs", "out of memory");
        }
        c->plugin_dirs = nd;
        c->n_plugin_dirs++;
        yaml_event_delete(&e);
    }
}

/* One `schedules:` item: a mapping of scalars, into a JSON object of strings (+ "_line"). */
static int read_schedule(cJSON *list, yaml_parser_t *y, cfg_parse *p, size_t line)
{
    cJSON *o = cJSON_CreateObject();
    yaml_event_t k, v;
    const cJSON *name;
    char key[64], err[768];

    if (!o || !cJSON_AddItemToArray(list, o))
        return bad(p, line, "schedules", "out of memory");
    cJSON_AddNumberToObject(o, "_line", (double)line);
    for (;;) {
        size_t kl;
        if (next_event(y, &k, p) < 0)
            return -1;
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            break;
        }
        kl = k.start_mark.line + 1;
        if (k.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&k);
            return bad(p, kl, "schedules", "keys of a schedule must be plain names");
        }
        snprintf(key, sizeof(key), "%s", (const char *)k.data.scalar.value);
        yaml_event_delete(&k);
        if (next_event(y, &v, p) < 0)
            return -1;
        if (v.type != YAML_SCALAR_EVENT || cJSON_GetObjectItemCaseSensitive(o, key) ||
            cJSON_GetArraySize(o) > 32) {
            yaml_event_delete(&v);
            return bad(p, kl, key, "must be a single value, once per schedule");
        }
        if (!cJSON_AddStringToObject(o, key, (const char *)v.data.scalar.value)) {
            yaml_event_delete(&v);
            return bad(p, kl, key, "out of memory");
        }
        yaml_event_delete(&v);
    }
    if (tcd_schedule_validate(o, 0, err, sizeof(err)) < 0) {
        name = cJSON_GetObjectItemCaseSensitive(o, "name");
        snprintf(p->err, p->errcap, "%s:%zu: schedule '%.64s': %s", p->file, line,
                 cJSON_IsString(name) ? name->valuestring : "?", err);
        return -1;
    }
    return 0;
}

static int read_schedules(tcd_config *c, yaml_parser_t *y, cfg_parse *p, size_t line)
{
    yaml_event_t e;

    cJSON_Delete(c->schedules);
    if (!(c->schedules = cJSON_CreateArray()))
        return bad(p, line, "schedules", "out of memory");
    for (;;) {
        size_t l;
        if (next_event(y, &e, p) < 0)
            return -1;
        l = e.start_mark.line + 1;
        if (e.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&e);
            return 0;
        }
        if (e.type != YAML_MAPPING_START_EVENT ||
            cJSON_GetArraySize(c->schedules) >= TCD_MAX_SCHEDULES) {
            yaml_event_delete(&e);
            return bad(p, l, "schedules", "must be a list of at most 256 mappings");
        }
        yaml_event_delete(&e);
        if (read_schedule(c->schedules, y, p, l) < 0)
            return -1;
    }
}

/* Top-level mapping: key scalar, then a scalar or (plugin_dirs, schedules) a sequence. */
static int read_mapping(tcd_config *c, yaml_parser_t *y, cfg_parse *p)
{
    yaml_event_t k, v;
    char key[64];
    int r = -1;

    for (;;) {
        size_t line;
        if (next_event(y, &k, p) < 0)
            return -1;
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return 0;
        }
        line = k.start_mark.line + 1;
        if (k.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&k);
            snprintf(p->err, p->errcap, "%s:%zu: keys must be plain names", p->file, line);
            return -1;
        }
        snprintf(key, sizeof(key), "%s", (const char *)k.data.scalar.value);
        yaml_event_delete(&k);
        if (next_event(y, &v, p) < 0)
            return -1;
        if (v.type == YAML_SEQUENCE_START_EVENT && !strcmp(key, "plugin_dirs")) {
            yaml_event_delete(&v);
            if (read_dirs(c, y, p, line) < 0)
                return -1;
            continue;
        }
        if (v.type == YAML_SEQUENCE_START_EVENT && !strcmp(key, "schedules")) {
            yaml_event_delete(&v);
            if (read_schedules(c, y, p, line) < 0)
                return -1;
            continue;
        }
        if (v.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&v);
            return bad(p, line, key,
                       strcmp(key, "plugin_dirs") ? "must be a single value"
                                                  : "must be a list of directories");
        }
        r = set_scalar(c, p, key, (const char *)v.data.scalar.value, line);
        yaml_event_delete(&v);
        if (r < 0)
            return -1;
    }
}

int tcd_config_load(tcd_config *c, const char *path, char *err, size_t errcap)
{
    yaml_parser_t y;
    yaml_event_t e;
    cfg_parse p = {path, err, errcap};
    FILE *f = NULL;
    int r = -1, done = 0;

    if (!(f = fopen(path, "re"))) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&y)) {
        snprintf(err, errcap, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    yaml_parser_set_input_file(&y, f);
    while (!done) {
        if (next_event(&y, &e, &p) < 0)
            goto out;
        switch (e.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT: break;
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_MAPPING_START_EVENT:
            yaml_event_delete(&e);
            if (read_mapping(c, &y, &p) < 0)
                goto out;
            continue;
        case YAML_SCALAR_EVENT:
            /* An empty file or a lone "~" is an empty config. */
            if (e.data.scalar.length == 0 || !strcmp((const char *)e.data.scalar.value, "~"))
                break;
            /* fall through */
        default:
            snprintf(err, errcap, "%s:%zu: the config must be a mapping of keys", path,
                     e.start_mark.line + 1);
            yaml_event_delete(&e);
            goto out;
        }
        yaml_event_delete(&e);
    }
    r = 0;
out:
    yaml_parser_delete(&y);
    fclose(f);
    return r;
}
