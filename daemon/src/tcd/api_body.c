/*
 * api_body.c - request bodies: the JSON pre-scan (depth, UTF-8, NUL) and the
 * POST /v1/jobs schema of docs/api.md.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* cJSON's parser writes a global error pointer: one parse at a time. */
static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

void tcd_api__error_set(tcd_api__error *e, unsigned http, const char *code, const char *fmt, ...)
{
    va_list ap;

    e->http = http;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    for (char *p = e->message; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return len;
}

static int scan_fail(tcd_api__error *e, const char *what, size_t at)
{
    tcd_api__error_set(e, 400, "invalid_json", "%s at byte %zu", what, at);
    return -1;
}

int tcd_api__json_scan(const char *s, size_t n, int max_depth, size_t max_items, tcd_api__error *e)
{
    const unsigned char *u = (const unsigned char *)s;
    int depth = 0, in_str = 0;
    size_t i = 0, items = 1;

    while (i < n) {
        unsigned char c = u[i];
        if (c == 0)
            return scan_fail(e, "NUL byte", i);
        if (c >= 0x80) {
            size_t k = utf8_seq_len(u + i, n - i);
            if (k == 0)
                return scan_fail(e, "invalid UTF-8", i);
            i += k;
            continue;
        }
        if (in_str) {
            if (c == '\\') {
                if (i + 5 < n && u[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                    return scan_fail(e, "\\u0000 escape", i);
                i += (i + 1 < n && u[i + 1] < 0x80) ? 2 : 1;
                continue;
            }
            if (c == '"')
                in_str = 0;
            else if (c < 0x20)
                return scan_fail(e, "control character in a string", i);
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                tcd_api__error_set(e, 400, "invalid_json",
                                   "nesting deeper than %d levels at byte %zu", max_depth, i);
                return -1;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        } else if (c == ',' && ++items > max_items) {
            tcd_api__error_set(e, 400, "bad_request", "more than %zu JSON values", max_items);
            return -1;
        }
        i++;
    }
    return 0;
}

static cJSON *parse_json(const char *body, size_t len, size_t *err_at)
{
    const char *end = NULL;
    cJSON *root;

    pthread_mutex_lock(&parse_lock);
    /* len + 1: with require_null_terminated cJSON wants the NUL inside the length */
    root = cJSON_ParseWithLengthOpts(body, len + 1, &end, 1);
    pthread_mutex_unlock(&parse_lock);
    if (root == NULL)
        *err_at = (end != NULL && end >= body && end <= body + len) ? (size_t)(end - body) : len;
    return root;
}

static int bad_type(tcd_api__error *e, const char *field, const char *want)
{
    tcd_api__error_set(e, 400, "bad_request", "field '%s' must be %s", field, want);
    return -1;
}

static int check_kind(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (!cJSON_IsString(v))
        return bad_type(e, "kind", "a string");
    if (strcmp(v->valuestring, "train") == 0)
        return 0;
    if (strcmp(v->valuestring, "pull") == 0) {
        c->pull = 1;
        return 0;
    }
    if (strcmp(v->valuestring, "push") == 0) {
        c->push = 1;
        return 0;
    }
    tcd_api__error_set(e, 400, "bad_request",
                       "kind '%.64s' is not supported ('train', 'pull' or 'push')", v->valuestring);
    return -1;
}

/* ---- pull and push fields ---- */

static int repo_id_ok(const char *s)
{
    const char *slash = strchr(s, '/');
    size_t n = strlen(s);

    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/') || n > TCD_API_MAX_REPO_ID)
        return 0;
    for (const char *p = s; *p; p++) {
        if (p != slash && !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                            (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
            return 0;
    }
    /* as on the Hub, neither part starts or ends with '-' or '.' ("-org/x" would be a flag) */
    if (strchr("-.", s[0]) || strchr("-.", slash[-1]) || strchr("-.", slash[1]) ||
        strchr("-.", s[n - 1]))
        return 0;
    return strstr(s, "--") == NULL && strstr(s, "..") == NULL;
}

static int no_controls(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int check_repo(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (!cJSON_IsString(v))
        return bad_type(e, "repo", "a string");
    if (!repo_id_ok(v->valuestring)) {
        tcd_api__error_set(e, 400, "bad_request",
                           "field 'repo' must be ORG/NAME ([A-Za-z0-9._-], at most %d bytes, no "
                           "'--' or '..', no part starting or ending with '-' or '.'), got "
                           "'%.100s'",
                           TCD_API_MAX_REPO_ID, v->valuestring);
        return -1;
    }
    cJSON_AddStringToObject(c->xfer_obj, "repo", v->valuestring);
    return 0;
}

static int check_repo_type(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad_type(e, "repo_type", "a string");
    if (strcmp(v->valuestring, "model") != 0 && strcmp(v->valuestring, "dataset") != 0) {
        tcd_api__error_set(e, 400, "bad_request",
                           "field 'repo_type' must be 'model' or 'dataset', got '%.64s'",
                           v->valuestring);
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(c->xfer_obj, "repo_type");
    cJSON_AddStringToObject(c->xfer_obj, "repo_type", v->valuestring);
    return 0;
}

static int check_revision(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    size_t n;

    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad_type(e, "revision", "a string");
    n = strlen(v->valuestring);
    if (n == 0 || n > TCD_API_MAX_REVISION || !no_controls(v->valuestring) ||
        v->valuestring[0] == '-') {
        tcd_api__error_set(e, 400, "bad_request",
                           "field 'revision' must be 1..%d bytes without control characters and "
                           "not start with '-'",
                           TCD_API_MAX_REVISION);
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(c->xfer_obj, "revision");
    cJSON_AddStringToObject(c->xfer_obj, "revision", v->valuestring);
    return 0;
}

static int check_patterns(tcd_api__create *c, const cJSON *v, const char *field, tcd_api__error *e)
{
    const cJSON *it;
    cJSON *arr;
    size_t n = 0;

    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return bad_type(e, field, "an array of strings");
    cJSON_ArrayForEach(it, v)
    {
        size_t len;
        if (!cJSON_IsString(it))
            return bad_type(e, field, "an array of strings");
        if (++n > TCD_API_MAX_PATTERNS) {
            tcd_api__error_set(e, 400, "bad_request", "field '%s' has more than %d entries", field,
                               TCD_API_MAX_PATTERNS);
            return -1;
        }
        len = strlen(it->valuestring);
        if (len == 0 || len > TCD_API_MAX_PATTERN_LEN || !no_controls(it->valuestring)) {
            tcd_api__error_set(e, 400, "bad_request",
                               "%s[%zu] must be 1..%d bytes without control characters", field,
                               n - 1, TCD_API_MAX_PATTERN_LEN);
            return -1;
        }
    }
    arr = cJSON_Duplicate(v, 1);
    if (!arr) {
        tcd_api__error_set(e, 500, "internal", "out of memory");
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(c->xfer_obj, field);
    cJSON_AddItemToObject(c->xfer_obj, field, arr);
    return 0;
}

/* ---- push fields ---- */

static int check_source(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    const char *s;
    size_t n;

    if (!cJSON_IsString(v))
        return bad_type(e, "source", "a string");
    s = v->valuestring;
    n = strlen(s);
    if (n == 0 || n > TCD_API_MAX_SOURCE || !no_controls(s) ||
        (s[0] != '/' && !tcd_job_id_valid(s))) {
        tcd_api__error_set(e, 400, "bad_request",
                           "field 'source' must be a job id (j and 16 hex digits) or an absolute "
                           "directory path of at most %d bytes without control characters, got "
                           "'%.100s'",
                           TCD_API_MAX_SOURCE, s);
        return -1;
    }
    cJSON_AddStringToObject(c->xfer_obj, "source", s);
    return 0;
}

/* A branch name git accepts (check-ref-format --branch), in the revision field's bounds. */
static int branch_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TCD_API_MAX_REVISION || !no_controls(s) || s[0] == '-' || s[0] == '/' ||
        s[n - 1] == '/' || s[n - 1] == '.' || strcmp(s, "@") == 0)
        return 0;
    if (strpbrk(s, " ~^:?*[\\") != NULL || strstr(s, "..") != NULL || strstr(s, "@{") != NULL ||
        strstr(s, "//") != NULL || strstr(s, "/.") != NULL || s[0] == '.')
        return 0;
    for (const char *p = s; (p = strstr(p, ".lock")) != NULL; p++) {
        if (p[5] == '\0' || p[5] == '/')
            return 0;
    }
    return 1;
}

static int check_branch(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad_type(e, "branch", "a string");
    if (!branch_ok(v->valuestring)) {
        tcd_api__error_set(e, 400, "bad_request",
                           "field 'branch' must be a git branch name of 1..%d bytes (no control "
                           "characters, spaces, '..', '~^:?*[\\', not starting with '-'), got "
                           "'%.100s'",
                           TCD_API_MAX_REVISION, v->valuestring);
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(c->xfer_obj, "branch");
    cJSON_AddStringToObject(c->xfer_obj, "branch", v->valuestring);
    return 0;
}

static int check_message(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    size_t n;

    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad_type(e, "message", "a string");
    n = strlen(v->valuestring);
    if (n == 0 || n > TCD_API_MAX_MESSAGE) {
        tcd_api__error_set(e, 400, "bad_request", "field 'message' must be 1..%d bytes",
                           TCD_API_MAX_MESSAGE);
        return -1;
    }
    cJSON_AddStringToObject(c->xfer_obj, "message", v->valuestring);
    return 0;
}

static int check_flag(tcd_api__create *c, const cJSON *v, const char *field, tcd_api__error *e)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return bad_type(e, field, "true or false");
    cJSON_DeleteItemFromObjectCaseSensitive(c->xfer_obj, field);
    cJSON_AddBoolToObject(c->xfer_obj, field, cJSON_IsTrue(v));
    return 0;
}

/* "always" (the default: a manual push always pushes) or "improved" (only when the run beats the
 * champion on the Hub; the worker decides). "never" is for train specs only. */
static int check_when(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad_type(e, "when", "a string");
    if (strcmp(v->valuestring, "always") != 0 && strcmp(v->valuestring, "improved") != 0) {
        tcd_api__error_set(e, 400, "bad_request",
                           "field 'when' must be 'always' or 'improved', got '%.64s'",
                           v->valuestring);
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(c->xfer_obj, "when");
    cJSON_AddStringToObject(c->xfer_obj, "when", v->valuestring);
    return 0;
}

/* ---- train fields ---- */

static int check_spec(tcd_api__create *c, const cJSON *v, const tcd_limits *lim, tcd_api__error *e)
{
    size_t len;

    if (!cJSON_IsString(v))
        return bad_type(e, "spec_yaml", "a string");
    len = strlen(v->valuestring);
    if (len == 0) {
        tcd_api__error_set(e, 400, "bad_request", "field 'spec_yaml' is empty");
        return -1;
    }
    if (len > lim->max_spec) {
        tcd_api__error_set(e, 400, "bad_request", "field 'spec_yaml' is longer than %zu bytes",
                           lim->max_spec);
        return -1;
    }
    c->spec_yaml = v->valuestring;
    return 0;
}

/* "section.key=value": a '.' with something on both sides before the first '='. */
static int set_entry_ok(const char *s)
{
    const char *eq = strchr(s, '=');
    const char *dot;

    if (eq == NULL || eq == s)
        return 0;
    dot = memchr(s, '.', (size_t)(eq - s));
    return dot != NULL && dot > s && dot + 1 < eq;
}

static int check_sets(tcd_api__create *c, const cJSON *v, const tcd_limits *lim, tcd_api__error *e)
{
    const cJSON *it;
    size_t n = 0, i = 0;

    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return bad_type(e, "set", "an array of strings");
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it))
            return bad_type(e, "set", "an array of strings");
        if (++n > lim->max_sets) {
            tcd_api__error_set(e, 400, "bad_request", "field 'set' has more than %zu entries",
                               lim->max_sets);
            return -1;
        }
        if (strlen(it->valuestring) > TCD_API_MAX_SET_LEN) {
            tcd_api__error_set(e, 400, "bad_request", "set[%zu] is longer than %d bytes", n - 1,
                               TCD_API_MAX_SET_LEN);
            return -1;
        }
        if (!set_entry_ok(it->valuestring)) {
            tcd_api__error_set(e, 400, "bad_request",
                               "set[%zu] '%.64s' is not of the form section.key=value", n - 1,
                               it->valuestring);
            return -1;
        }
    }
    if (n == 0)
        return 0;
    c->sets = calloc(n, sizeof *c->sets);
    if (c->sets == NULL) {
        tcd_api__error_set(e, 500, "internal", "out of memory");
        return -1;
    }
    for (it = v->child; it != NULL; it = it->next)
        c->sets[i++] = it->valuestring;
    c->n_sets = n;
    return 0;
}

static int check_name(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad_type(e, "name", "a string");
    if (strlen(v->valuestring) > TCD_API_MAX_NAME_LEN) {
        tcd_api__error_set(e, 400, "bad_request", "field 'name' is longer than %d bytes",
                           TCD_API_MAX_NAME_LEN);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)v->valuestring; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            tcd_api__error_set(e, 400, "bad_request", "field 'name' contains a control character");
            return -1;
        }
    }
    c->name = v->valuestring[0] ? v->valuestring : NULL;
    return 0;
}

static int check_timeout(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return bad_type(e, "timeout_s", "a number");
    if (!isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > TCD_API_MAX_TIMEOUT_S) {
        tcd_api__error_set(e, 400, "bad_request", "field 'timeout_s' must be between 0 and %.0f",
                           TCD_API_MAX_TIMEOUT_S);
        return -1;
    }
    c->timeout_s = v->valuedouble;
    return 0;
}

/* ---- scheduled runs (train) ---- */

int tcd_api__key_check(const char *field, const char *v, tcd_api__error *e)
{
    size_t n = strlen(v);

    if (n == 0 || n > TCD_API_MAX_KEY || !no_controls(v)) {
        tcd_api__error_set(e, 400, "bad_request",
                           "%s must be 1..%d bytes without control characters", field,
                           TCD_API_MAX_KEY);
        return -1;
    }
    return 0;
}

static int check_key(const cJSON *v, const char *field, const char **out, tcd_api__error *e)
{
    char what[64];

    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad_type(e, field, "a string");
    snprintf(what, sizeof what, "field '%s'", field);
    if (tcd_api__key_check(what, v->valuestring, e) != 0)
        return -1;
    *out = v->valuestring;
    return 0;
}

static int check_concurrency(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    int k;

    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad_type(e, "concurrency", "a string");
    if ((k = tcd_concurrency_from_name(v->valuestring)) < 0) {
        tcd_api__error_set(e, 400, "bad_request",
                           "field 'concurrency' must be 'allow', 'forbid' or 'replace', got "
                           "'%.64s'",
                           v->valuestring);
        return -1;
    }
    c->concurrency = (tcd_concurrency)k;
    return 0;
}

static int check_deadline(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return bad_type(e, "deadline_s", "a number");
    if (!isfinite(v->valuedouble) || v->valuedouble <= 0 ||
        v->valuedouble > TCD_API_MAX_DEADLINE_S) {
        tcd_api__error_set(e, 400, "bad_request",
                           "field 'deadline_s' must be above 0 and at most %.0f",
                           TCD_API_MAX_DEADLINE_S);
        return -1;
    }
    c->deadline_s = v->valuedouble;
    return 0;
}

static int check_if_changed(tcd_api__create *c, const cJSON *v, tcd_api__error *e)
{
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return bad_type(e, "if_changed", "true or false");
    c->if_changed = cJSON_IsTrue(v);
    return 0;
}

/* The fields of scheduled train runs; 1 if k is none of them. */
static int check_schedule_field(tcd_api__create *c, const cJSON *f, tcd_api__error *e)
{
    const char *k = f->string;

    if (strcmp(k, "schedule_key") == 0)
        return check_key(f, k, &c->schedule_key, e);
    if (strcmp(k, "idempotency_key") == 0)
        return check_key(f, k, &c->idempotency_key, e);
    if (strcmp(k, "if_changed") == 0)
        return check_if_changed(c, f, e);
    if (strcmp(k, "concurrency") == 0)
        return check_concurrency(c, f, e);
    if (strcmp(k, "deadline_s") == 0)
        return check_deadline(c, f, e);
    return 1;
}

static int check_field(tcd_api__create *c, const cJSON *f, const tcd_limits *lim, tcd_api__error *e)
{
    int r;

    const char *k = f->string;

    if (strcmp(k, "kind") == 0)
        return 0; /* checked first */
    if (!c->pull && !c->push && strcmp(k, "spec_yaml") == 0)
        return check_spec(c, f, lim, e);
    if (!c->pull && !c->push && strcmp(k, "set") == 0)
        return check_sets(c, f, lim, e);
    if (!c->pull && !c->push && (r = check_schedule_field(c, f, e)) <= 0)
        return r;
    if ((c->pull || c->push) && strcmp(k, "repo") == 0)
        return check_repo(c, f, e);
    if ((c->pull || c->push) && strcmp(k, "repo_type") == 0)
        return check_repo_type(c, f, e);
    if (c->push && strcmp(k, "source") == 0)
        return check_source(c, f, e);
    if (c->push && strcmp(k, "branch") == 0)
        return check_branch(c, f, e);
    if (c->push && strcmp(k, "message") == 0)
        return check_message(c, f, e);
    if (c->push &&
        (strcmp(k, "private") == 0 || strcmp(k, "force") == 0 || strcmp(k, "rollback") == 0))
        return check_flag(c, f, k, e);
    if (c->push && strcmp(k, "when") == 0)
        return check_when(c, f, e);
    if (c->pull && strcmp(k, "revision") == 0)
        return check_revision(c, f, e);
    if (c->pull && (strcmp(k, "include") == 0 || strcmp(k, "exclude") == 0))
        return check_patterns(c, f, k, e);
    if (strcmp(k, "name") == 0)
        return check_name(c, f, e);
    if (strcmp(k, "timeout_s") == 0)
        return check_timeout(c, f, e);
    tcd_api__error_set(e, 400, "bad_request", "unknown field '%.64s'", k);
    return -1;
}

static int check_fields(tcd_api__create *c, const tcd_limits *lim, tcd_api__error *e)
{
    const cJSON *f, *g;

    f = cJSON_GetObjectItemCaseSensitive(c->root, "kind");
    if (f && check_kind(c, f, e) != 0)
        return -1;
    if (c->pull || c->push) {
        if (!(c->xfer_obj = cJSON_CreateObject()) ||
            !cJSON_AddStringToObject(c->xfer_obj, "repo_type", "model") ||
            !cJSON_AddStringToObject(c->xfer_obj, c->pull ? "revision" : "branch", "main") ||
            (c->push && (!cJSON_AddFalseToObject(c->xfer_obj, "private") ||
                         !cJSON_AddFalseToObject(c->xfer_obj, "force") ||
                         !cJSON_AddStringToObject(c->xfer_obj, "when", "always")))) {
            tcd_api__error_set(e, 500, "internal", "out of memory");
            return -1;
        }
    }
    cJSON_ArrayForEach(f, c->root)
    {
        for (g = c->root->child; g != f; g = g->next) {
            if (strcmp(g->string, f->string) == 0) {
                tcd_api__error_set(e, 400, "bad_request", "duplicate field '%.64s'", f->string);
                return -1;
            }
        }
        if (check_field(c, f, lim, e) != 0)
            return -1;
    }
    if (c->push) {
        /* a rollback restores the previous champion of repo: it has no source */
        int rollback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->xfer_obj, "rollback"));
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(c->xfer_obj, "repo_type");
        if (rollback && cJSON_GetObjectItemCaseSensitive(c->xfer_obj, "source")) {
            tcd_api__error_set(e, 400, "bad_request",
                               "a rollback takes no 'source' (it restores the previous champion)");
            return -1;
        }
        if (rollback && cJSON_IsString(type) && strcmp(type->valuestring, "model") != 0) {
            tcd_api__error_set(e, 400, "bad_request", "a rollback is for model repos only");
            return -1;
        }
        if (!rollback && !cJSON_GetObjectItemCaseSensitive(c->xfer_obj, "source")) {
            tcd_api__error_set(e, 400, "bad_request",
                               "missing field 'source' (a train job id or an absolute directory)");
            return -1;
        }
        if (!cJSON_GetObjectItemCaseSensitive(c->xfer_obj, "repo")) {
            tcd_api__error_set(e, 400, "bad_request", "missing field 'repo'");
            return -1;
        }
        return 0;
    }
    if (c->pull) {
        if (!cJSON_GetObjectItemCaseSensitive(c->xfer_obj, "repo")) {
            tcd_api__error_set(e, 400, "bad_request", "missing field 'repo'");
            return -1;
        }
        if (!cJSON_GetObjectItemCaseSensitive(c->xfer_obj, "include"))
            cJSON_AddArrayToObject(c->xfer_obj, "include");
        if (!cJSON_GetObjectItemCaseSensitive(c->xfer_obj, "exclude"))
            cJSON_AddArrayToObject(c->xfer_obj, "exclude");
        return 0;
    }
    if (c->spec_yaml == NULL) {
        tcd_api__error_set(e, 400, "bad_request", "missing field 'spec_yaml'");
        return -1;
    }
    if (c->schedule_key == NULL && (c->if_changed || c->concurrency != TCD_CONCURRENCY_ALLOW)) {
        tcd_api__error_set(e, 400, "bad_request", "field '%s' needs a 'schedule_key'",
                           c->if_changed ? "if_changed" : "concurrency");
        return -1;
    }
    return 0;
}

int tcd_api__create_parse(tcd_api__create *out, const char *body, size_t len, const tcd_limits *lim,
                          tcd_api__error *e)
{
    tcd_api__create c = {0};
    size_t err_at = 0;
    /* the list entries a valid body may hold: `set` (train) or include + exclude (pull) */
    size_t max_list =
        lim->max_sets > 2 * TCD_API_MAX_PATTERNS ? lim->max_sets : 2 * TCD_API_MAX_PATTERNS;
    int rc = -1;

    if (len == 0) {
        tcd_api__error_set(e, 400, "invalid_json", "request body is empty");
        goto out;
    }
    if (tcd_api__json_scan(body, len, lim->max_json_depth, max_list + TCD_API_MAX_FIELDS, e) != 0)
        goto out;
    c.root = parse_json(body, len, &err_at);
    if (c.root == NULL) {
        tcd_api__error_set(e, 400, "invalid_json", "malformed JSON at byte %zu", err_at);
        goto out;
    }
    if (!cJSON_IsObject(c.root)) {
        tcd_api__error_set(e, 400, "bad_request", "request body must be a JSON object");
        goto out;
    }
    if (check_fields(&c, lim, e) != 0)
        goto out;
    *out = c;
    c = (tcd_api__create){0};
    rc = 0;
out:
    tcd_api__create_dispose(&c);
    return rc;
}

void tcd_api__create_dispose(tcd_api__create *c)
{
    if (c == NULL)
        return;
    free(c->sets);
    cJSON_Delete(c->xfer_obj);
    cJSON_Delete(c->root);
    *c = (tcd_api__create){0};
}
