/*
 * api.c - the control API of docs/api.md over libmicrohttpd: the server, the
 * per-request context, strict routing and query parsing, and JSON responses.
 *
 * Threads: MHD serves every connection on its own thread (at most
 * limits.max_connections). Handlers call the job manager (tcd.h), which takes
 * d->lock itself; this file takes d->lock only to copy the limits and to read
 * shutting_down.
 *
 * Bounds (STYLE rule 14): the request line and headers live in MHD's
 * per-connection pool (limits.max_url + TCD_API_POOL_HEADERS bytes); a URL
 * longer than limits.max_url is 414 uri_too_long here, and one too long for
 * the pool gets MHD's own 414 (HTML body). Bodies are accepted only up to
 * limits.max_body: a larger Content-Length is 413 before reading, a chunked
 * body that grows past it is discarded and answered 413, and the connection
 * is dropped if a client keeps sending after that.
 *
 * Routing looks at the raw path, before MHD's percent-decoding: ids and
 * plugin names never need escapes, so "%2e%2e" is just an invalid id (400).
 * The MHD pool is sized from max_url when tcd_api_start runs; a reloaded
 * max_url applies to the 414 check but not to the pool.
 *
 * listen_fd stays the caller's: MHD gets a duplicate (MHD_stop_daemon closes
 * the listen socket it was given; whether a failed MHD_start_daemon does is
 * unspecified, so on failure the duplicate is left alone rather than risk a
 * double close).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tc/common.h>

#include "api.h"

#define TCD_API_POOL_HEADERS (32 * 1024) /* pool bytes beyond max_url */
#ifndef TCD_API_TIMEOUT_S
#define TCD_API_TIMEOUT_S 60u /* idle connections (a followed event stream has none) */
#endif
#define TCD_API_MAX_SEGS 5
#define TCD_API_SINCE_MAX ((int64_t)1 << 53)

/* Per request, created by the URI log callback (before MHD unescapes anything). */
typedef struct api_req {
    tcd_daemon *d;
    tcd_limits lim; /* snapshot taken when the request starts */
    char *path;     /* the raw path, up to '?' (NULL when the URI is too long) */
    int started;    /* the access handler has seen this request */
    char *body;     /* body_len bytes + '\0' */
    size_t body_len, body_cap;
    int too_large; /* the body passed lim.max_body: discarding the rest */
    size_t discarded;
} api_req;

typedef struct api_query {
    const char *const *allowed; /* NULL-terminated */
    const char *val[4];         /* by index in allowed */
    tcd_api__error err;
    int bad;
} api_query;

/* What a route handler sees. */
typedef struct api_ctx {
    tcd_daemon *d;
    struct MHD_Connection *conn;
    api_req *r;
    const char *method;
    char *seg[TCD_API_MAX_SEGS]; /* path segments after "/v1/" */
    size_t nseg;
    api_query q; /* the query, checked against the route's parameters */
} api_ctx;

static const char *const job_states[] = {"queued",    "running",   "succeeded",   "failed",
                                         "cancelled", "timed_out", "interrupted", "missed"};

/* ---- responses ----------------------------------------------------------------------------- */

static enum MHD_Result reply(api_ctx *x, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result ret;

    if (resp == NULL)
        return MHD_NO; /* out of memory: drop the connection */
    ret = MHD_queue_response(x->conn, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES)
        tcd_count_request(x->d, (int)status);
    return ret;
}

/* A response from text + "\n"; type is the Content-Type. */
static struct MHD_Response *text_response(const char *text, const char *type)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 2);
    struct MHD_Response *resp;

    if (buf == NULL)
        return NULL;
    memcpy(buf, text, n);
    buf[n] = '\n';
    buf[n + 1] = '\0';
    resp = MHD_create_response_from_buffer(n + 1, buf, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(buf);
        return NULL;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
        MHD_destroy_response(resp);
        return NULL;
    }
    return resp;
}

/* Reply with obj as JSON; consumes obj. */
static enum MHD_Result reply_json(api_ctx *x, unsigned status, cJSON *obj, const char *location)
{
    struct MHD_Response *resp = NULL;
    char *text = NULL;

    if (obj != NULL)
        text = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (text != NULL)
        resp = text_response(text, "application/json");
    cJSON_free(text);
    if (resp != NULL && location != NULL &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location) != MHD_YES) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    return reply(x, status, resp);
}

/* {"error":{"code","message"}} merged into extra (consumed; NULL for a new object). */
static enum MHD_Result reply_error_obj(api_ctx *x, const tcd_api__error *e, cJSON *extra,
                                       const char *allow)
{
    cJSON *obj = extra != NULL ? extra : cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(obj, "error");
    struct MHD_Response *resp = NULL;
    char *text = NULL;

    if (err != NULL && cJSON_AddStringToObject(err, "code", e->code) != NULL &&
        cJSON_AddStringToObject(err, "message", e->message) != NULL)
        text = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (text != NULL)
        resp = text_response(text, "application/json");
    cJSON_free(text);
    if (resp != NULL && allow != NULL &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    return reply(x, e->http, resp);
}

static enum MHD_Result reply_error(api_ctx *x, const tcd_api__error *e)
{
    return reply_error_obj(x, e, NULL, NULL);
}

static enum MHD_Result fail(api_ctx *x, unsigned http, const char *code, const char *msg)
{
    tcd_api__error e;

    tcd_api__error_set(&e, http, code, "%s", msg);
    return reply_error(x, &e);
}

static enum MHD_Result fail_status(api_ctx *x, int rc, const char *msg)
{
    tcd_api__error e;

    tcd_api__error_set(&e, (unsigned)tcd_status_http((tcd_status)rc),
                       tcd_status_code((tcd_status)rc), "%s", msg[0] ? msg : "error");
    return reply_error(x, &e);
}

static enum MHD_Result not_allowed(api_ctx *x, const char *allow)
{
    tcd_api__error e;

    tcd_api__error_set(&e, 405, "method_not_allowed", "method %.16s is not allowed here (%s)",
                       x->method, allow);
    return reply_error_obj(x, &e, NULL, allow);
}

/* ---- query parameters --------------------------------------------------------------------- */

static enum MHD_Result query_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    api_query *q = cls;

    for (size_t i = 0; q->allowed[i] != NULL; i++) {
        if (strcmp(key, q->allowed[i]) != 0)
            continue;
        if (q->val[i] != NULL) {
            tcd_api__error_set(&q->err, 400, "bad_request", "query parameter '%.64s' repeated",
                               key);
            break;
        }
        if (value == NULL) {
            tcd_api__error_set(&q->err, 400, "bad_request", "query parameter '%.64s' has no value",
                               key);
            break;
        }
        q->val[i] = value;
        return MHD_YES;
    }
    if (q->err.http == 0)
        tcd_api__error_set(&q->err, 400, "bad_request", "unknown query parameter '%.64s'", key);
    q->bad = 1;
    return MHD_NO;
}

/* Collect the query into q->val; allowed: NULL-terminated, at most 4. */
static int query_get(api_ctx *x, api_query *q, const char *const *allowed)
{
    memset(q, 0, sizeof *q);
    q->allowed = allowed;
    MHD_get_connection_values(x->conn, MHD_GET_ARGUMENT_KIND, query_one, q);
    return q->bad ? -1 : 0;
}

/* A decimal integer of digits only, 0 <= v <= max. */
static int parse_uint(const char *s, int64_t max, int64_t *out)
{
    int64_t v = 0;

    if (s[0] == '\0' || strlen(s) > 20)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (v > (max - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
        *out = 1;
    else if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

static enum MHD_Result bad_param(api_ctx *x, const char *name, const char *want, const char *got)
{
    tcd_api__error e;

    tcd_api__error_set(&e, 400, "bad_request", "query parameter '%s' must be %s, not '%.64s'", name,
                       want, got);
    return reply_error(x, &e);
}

/* ---- routes ------------------------------------------------------------------------------- */

static void add_limits(cJSON *lim, const tcd_limits *l)
{
    cJSON_AddNumberToObject(lim, "max_body", (double)l->max_body);
    cJSON_AddNumberToObject(lim, "max_json_depth", l->max_json_depth);
    cJSON_AddNumberToObject(lim, "max_url", (double)l->max_url);
    cJSON_AddNumberToObject(lim, "max_connections", l->max_connections);
    cJSON_AddNumberToObject(lim, "max_jobs", (double)l->max_jobs);
    cJSON_AddNumberToObject(lim, "max_spec", (double)l->max_spec);
    cJSON_AddNumberToObject(lim, "max_sets", (double)l->max_sets);
}

static enum MHD_Result route_ping(api_ctx *x)
{
    static const char *const capv[] = {"jobs", "events", "plugins", "metrics", "schedules"};
    cJSON *o = cJSON_CreateObject();
    cJSON *caps, *lim;

    cJSON_AddStringToObject(o, "api", "1.0");
    cJSON_AddStringToObject(o, "version", TC_VERSION_STRING);
    caps = cJSON_AddArrayToObject(o, "capabilities");
    lim = cJSON_AddObjectToObject(o, "limits");
    if (o == NULL || caps == NULL || lim == NULL) {
        cJSON_Delete(o);
        return fail(x, 500, "internal", "out of memory");
    }
    for (size_t i = 0; i < sizeof capv / sizeof capv[0]; i++)
        cJSON_AddItemToArray(caps, cJSON_CreateString(capv[i]));
    add_limits(lim, &x->r->lim);
    return reply_json(x, 200, o, NULL);
}

static enum MHD_Result route_health(api_ctx *x)
{
    cJSON *h = tcd_health(x->d);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(h, "status");
    tcd_api__error e;

    if (h == NULL)
        return fail(x, 500, "internal", "out of memory");
    if (cJSON_IsString(st) && strcmp(st->valuestring, "ok") == 0)
        return reply_json(x, 200, h, NULL);
    /* 503: the health object plus the error every 5xx carries */
    tcd_api__error_set(&e, 503, "unavailable", "tcd is shutting down");
    return reply_error_obj(x, &e, h, NULL);
}

/* tcd_metrics_text + the schedules' lines (malloc'd). */
static char *metrics_text(tcd_daemon *d)
{
    char *jobs = tcd_metrics_text(d), *sched = tcd_api__schedules_metrics(d), *all = NULL;
    size_t a, b;

    if (jobs != NULL && sched != NULL) {
        a = strlen(jobs);
        b = strlen(sched);
        if ((all = malloc(a + b + 1)) != NULL) {
            memcpy(all, jobs, a);
            memcpy(all + a, sched, b + 1);
        }
    }
    free(jobs);
    free(sched);
    return all;
}

static enum MHD_Result route_metrics(api_ctx *x)
{
    char *text = metrics_text(x->d);
    struct MHD_Response *resp;

    if (text == NULL)
        return fail(x, 500, "internal", "out of memory");
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return reply(x, 200, resp);
}

static enum MHD_Result jobs_list(api_ctx *x)
{
    const api_query *q = &x->q;
    int64_t limit = 100;
    const char *state = NULL;
    cJSON *out = NULL;
    char err[256] = "";
    int rc;

    if (q->val[0] != NULL) {
        for (size_t i = 0; i < sizeof job_states / sizeof job_states[0]; i++) {
            if (strcmp(q->val[0], job_states[i]) == 0)
                state = job_states[i];
        }
        if (state == NULL)
            return bad_param(x, "state", "a job state", q->val[0]);
    }
    if (q->val[1] != NULL && (parse_uint(q->val[1], 1000, &limit) != 0 || limit < 1))
        return bad_param(x, "limit", "an integer from 1 to 1000", q->val[1]);
    rc = tcd_jobs_list(x->d, state, (int)limit, &out, err, sizeof err);
    if (rc != TCD_OK)
        return fail_status(x, rc, err);
    return reply_json(x, 200, out, NULL);
}

static int peer_uid(api_ctx *x, uid_t *out)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(x->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct ucred cred;
    socklen_t len = sizeof cred;

    if (ci == NULL || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        len != sizeof cred)
        return -1;
    *out = cred.uid;
    return 0;
}

/*
 * The Idempotency-Key header into c->idempotency_key (train jobs only); a body field of another
 * value is 400. 0, or -1 with e set.
 */
static int idempotency_header(api_ctx *x, tcd_api__create *c, tcd_api__error *e)
{
    const char *h = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND, "Idempotency-Key");

    if (h == NULL)
        return 0;
    if (c->pull || c->push) {
        tcd_api__error_set(e, 400, "bad_request",
                           "the Idempotency-Key header is for train jobs only");
        return -1;
    }
    if (tcd_api__key_check("header 'Idempotency-Key'", h, e) != 0)
        return -1;
    if (c->idempotency_key != NULL && strcmp(c->idempotency_key, h) != 0) {
        tcd_api__error_set(e, 400, "bad_request",
                           "header 'Idempotency-Key' and field 'idempotency_key' differ");
        return -1;
    }
    c->idempotency_key = h;
    return 0;
}

static int create_train(api_ctx *x, uid_t uid, const tcd_api__create *c, cJSON **job,
                        tcd_create_outcome *how, char *err, size_t errcap)
{
    tcd_train_opts o;

    memset(&o, 0, sizeof o);
    o.name = c->name;
    o.timeout_s = c->timeout_s;
    o.schedule_key = c->schedule_key;
    o.idempotency_key = c->idempotency_key;
    o.if_changed = c->if_changed;
    o.concurrency = c->concurrency;
    o.deadline_s = c->deadline_s;
    return tcd_jobs_create_train(x->d, uid, c->spec_yaml, c->sets, c->n_sets, &o, job, how, err,
                                 errcap);
}

static enum MHD_Result jobs_create(api_ctx *x)
{
    tcd_api__create c = {0};
    tcd_api__error e;
    cJSON *job = NULL;
    const cJSON *id;
    char err[512] = "", location[64];
    enum MHD_Result ret;
    tcd_create_outcome how = TCD_CREATE_NEW;
    uid_t uid;
    int rc;

    if (peer_uid(x, &uid) != 0) {
        ret = fail(x, 500, "internal", "cannot read the caller's credentials");
        goto out;
    }
    if (tcd_api__create_parse(&c, x->r->body != NULL ? x->r->body : "", x->r->body_len, &x->r->lim,
                              &e) != 0 ||
        idempotency_header(x, &c, &e) != 0) {
        ret = reply_error(x, &e);
        goto out;
    }
    if (c.pull)
        rc =
            tcd_jobs_create_pull(x->d, uid, c.xfer_obj, c.name, c.timeout_s, &job, err, sizeof err);
    else if (c.push)
        rc =
            tcd_jobs_create_push(x->d, uid, c.xfer_obj, c.name, c.timeout_s, &job, err, sizeof err);
    else
        rc = create_train(x, uid, &c, &job, &how, err, sizeof err);
    if (rc != TCD_OK) {
        ret = fail_status(x, rc, err);
        goto out;
    }
    if (how == TCD_CREATE_SKIPPED) {
        ret = reply_json(x, 200, job, NULL); /* no job: {"skipped":{...}} */
        job = NULL;
        goto out;
    }
    id = cJSON_GetObjectItemCaseSensitive(job, "id");
    snprintf(location, sizeof location, "/v1/jobs/%s", cJSON_IsString(id) ? id->valuestring : "");
    ret = reply_json(x, how == TCD_CREATE_EXISTING ? 200 : 201, job, location);
    job = NULL;
out:
    cJSON_Delete(job);
    tcd_api__create_dispose(&c);
    return ret;
}

static enum MHD_Result job_get(api_ctx *x)
{
    cJSON *job = NULL;
    char err[256] = "";
    int rc = tcd_job_get(x->d, x->seg[1], &job, err, sizeof err);

    if (rc != TCD_OK)
        return fail_status(x, rc, err);
    return reply_json(x, 200, job, NULL);
}

static enum MHD_Result job_delete(api_ctx *x)
{
    char err[256] = "";
    cJSON *o;
    uid_t uid;
    int rc;

    if (peer_uid(x, &uid) != 0)
        return fail(x, 500, "internal", "cannot read the caller's credentials");
    rc = tcd_job_delete(x->d, x->seg[1], uid, err, sizeof err);
    if (rc != TCD_OK)
        return fail_status(x, rc, err);
    o = cJSON_CreateObject();
    if (cJSON_AddStringToObject(o, "deleted", x->seg[1]) == NULL) {
        cJSON_Delete(o);
        return fail(x, 500, "internal", "out of memory");
    }
    return reply_json(x, 200, o, NULL);
}

static enum MHD_Result job_cancel(api_ctx *x)
{
    cJSON *job = NULL;
    char err[256] = "";
    uid_t uid;
    int rc;

    if (peer_uid(x, &uid) != 0)
        return fail(x, 500, "internal", "cannot read the caller's credentials");
    rc = tcd_job_cancel(x->d, x->seg[1], uid, &job, err, sizeof err);
    if (rc != TCD_OK)
        return fail_status(x, rc, err);
    return reply_json(x, 202, job, NULL);
}

static enum MHD_Result job_events(api_ctx *x)
{
    const api_query *q = &x->q;
    int64_t since = 0;
    int follow = 0;
    tcd_api__error e;
    struct MHD_Response *resp;

    if (q->val[0] != NULL && parse_uint(q->val[0], TCD_API_SINCE_MAX, &since) != 0)
        return bad_param(x, "since", "an integer from 0 to 2^53", q->val[0]);
    if (q->val[1] != NULL && parse_bool(q->val[1], &follow) != 0)
        return bad_param(x, "follow", "0, 1, true or false", q->val[1]);
    resp = tcd_api__events_response(x->d, x->conn, x->seg[1], since, follow, &e);
    if (resp == NULL)
        return reply_error(x, &e);
    return reply(x, 200, resp);
}

static enum MHD_Result plugins_list(api_ctx *x)
{
    cJSON *out = NULL;
    char err[256] = "";
    int rc = tcd_plugins_list(x->d, &out, err, sizeof err);

    if (rc != TCD_OK)
        return fail_status(x, rc, err);
    return reply_json(x, 200, out, NULL);
}

static enum MHD_Result plugin_get(api_ctx *x)
{
    cJSON *out = NULL;
    char err[256] = "";
    int rc = tcd_plugin_get(x->d, x->seg[1], &out, err, sizeof err);

    if (rc != TCD_OK)
        return fail_status(x, rc, err);
    return reply_json(x, 200, out, NULL);
}

/* ---- routing ------------------------------------------------------------------------------ */

typedef enum MHD_Result (*api_fn)(api_ctx *x);

/* One method of a route: its handler and accepted query parameters (NULL-terminated). */
typedef struct api_method {
    const char *method;
    api_fn fn;
    const char *const *params;
} api_method;

static const char *const no_params[] = {NULL};
static const char *const list_params[] = {"state", "limit", NULL};
static const char *const events_params[] = {"since", "follow", NULL};

/* Dispatch to the handler for x->method among m[0..n), after checking query and body. */
static enum MHD_Result serve(api_ctx *x, const char *allow, const api_method *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(x->method, m[i].method) != 0)
            continue;
        if (query_get(x, &x->q, m[i].params) != 0)
            return reply_error(x, &x->q.err);
        if (x->r->body_len > 0 && strcmp(m[i].method, MHD_HTTP_METHOD_POST) != 0)
            return fail(x, 400, "bad_request", "a request body is only accepted with POST");
        return m[i].fn(x);
    }
    return not_allowed(x, allow);
}

static enum MHD_Result get_only(api_ctx *x, api_fn fn, const char *const *params)
{
    const api_method m[] = {{MHD_HTTP_METHOD_GET, fn, params}};

    return serve(x, MHD_HTTP_METHOD_GET, m, 1);
}

/* [a-z0-9_-]{1,64} */
static int plugin_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TCD_API_MAX_PLUGIN_NAME)
        return 0;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    }
    return 1;
}

static enum MHD_Result route_job(api_ctx *x)
{
    static const api_method job[] = {{MHD_HTTP_METHOD_GET, job_get, no_params},
                                     {MHD_HTTP_METHOD_DELETE, job_delete, no_params}};
    static const api_method cancel[] = {{MHD_HTTP_METHOD_POST, job_cancel, no_params}};

    if (!tcd_job_id_valid(x->seg[1]))
        return fail(x, 400, "bad_request", "invalid job id");
    if (x->nseg == 2)
        return serve(x, "GET, DELETE", job, 2);
    if (x->nseg == 3 && strcmp(x->seg[2], "cancel") == 0)
        return serve(x, MHD_HTTP_METHOD_POST, cancel, 1);
    if (x->nseg == 3 && strcmp(x->seg[2], "events") == 0)
        return get_only(x, job_events, events_params);
    return fail(x, 404, "not_found", "no such route");
}

static enum MHD_Result route_schedules(api_ctx *x)
{
    static const char *const no_query[] = {NULL};
    const char *allow = NULL;
    tcd_api__error e;
    cJSON *out = NULL;
    uid_t uid;
    int st;

    if (query_get(x, &x->q, no_query) != 0)
        return reply_error(x, &x->q.err);
    if (peer_uid(x, &uid) != 0)
        return fail(x, 500, "internal", "cannot read the caller's credentials");
    st = tcd_api__schedules(x->d, x->method, x->seg + 1, x->nseg - 1,
                            x->r->body != NULL ? x->r->body : "", x->r->body_len, &x->r->lim, uid,
                            &out, &allow, &e);
    if (st < 0)
        return reply_error_obj(x, &e, NULL, allow);
    return reply_json(x, (unsigned)st, out, NULL);
}

static enum MHD_Result route(api_ctx *x)
{
    static const api_method jobs[] = {{MHD_HTTP_METHOD_GET, jobs_list, list_params},
                                      {MHD_HTTP_METHOD_POST, jobs_create, no_params}};
    const char *s0 = x->seg[0];

    if (x->nseg == 1 && strcmp(s0, "ping") == 0)
        return get_only(x, route_ping, no_params);
    if (x->nseg == 1 && strcmp(s0, "health") == 0)
        return get_only(x, route_health, no_params);
    if (x->nseg == 1 && strcmp(s0, "metrics") == 0)
        return get_only(x, route_metrics, no_params);
    if (x->nseg == 1 && strcmp(s0, "jobs") == 0)
        return serve(x, "GET, POST", jobs, 2);
    if (x->nseg == 1 && strcmp(s0, "plugins") == 0)
        return get_only(x, plugins_list, no_params);
    if (x->nseg >= 2 && strcmp(s0, "jobs") == 0)
        return route_job(x);
    if (x->nseg <= 3 && strcmp(s0, "schedules") == 0)
        return route_schedules(x);
    if (x->nseg == 2 && strcmp(s0, "plugins") == 0) {
        if (!plugin_name_valid(x->seg[1]))
            return fail(x, 400, "bad_request", "invalid plugin name");
        return get_only(x, plugin_get, no_params);
    }
    return fail(x, 404, "not_found", "no such route");
}

/* Split x->r->path ("/v1/a/b") into x->seg; 0, or -1 when it is no route of ours. */
static int split_path(api_ctx *x)
{
    char *p = x->r->path;

    if (p == NULL || strncmp(p, "/v1/", 4) != 0)
        return -1;
    p += 4;
    for (;;) {
        char *slash = strchr(p, '/');
        if (*p == '/' || *p == '\0' || x->nseg == TCD_API_MAX_SEGS)
            return -1; /* empty segment (trailing or double slash), or too deep */
        x->seg[x->nseg++] = p;
        if (slash == NULL)
            return 0;
        *slash = '\0';
        p = slash + 1;
    }
}

/* ---- the request cycle -------------------------------------------------------------------- */

static void *request_begin(void *cls, const char *uri, struct MHD_Connection *conn)
{
    tcd_daemon *d = cls;
    api_req *r = calloc(1, sizeof *r);
    size_t plen;

    if (r == NULL)
        return NULL;
    r->d = d;
    pthread_mutex_lock(&d->lock);
    r->lim = d->cfg.limits;
    pthread_mutex_unlock(&d->lock);
    if (strlen(uri) > r->lim.max_url)
        return r; /* 414 in the handler */
    plen = strcspn(uri, "?#");
    r->path = malloc(plen + 1);
    if (r->path == NULL) {
        free(r);
        return NULL;
    }
    memcpy(r->path, uri, plen);
    r->path[plen] = '\0';
    return r;
}

static void request_end(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    api_req *r = *con_cls;

    if (r == NULL)
        return;
    free(r->path);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* First call for a request: refuse what is too large before reading a body. */
static enum MHD_Result request_headers(api_ctx *x)
{
    api_req *r = x->r;
    const char *cl =
        MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    tcd_api__error e;

    r->started = 1;
    if (r->path == NULL) {
        tcd_api__error_set(&e, 414, "uri_too_long", "the URL is longer than %zu bytes",
                           r->lim.max_url);
        return reply_error(x, &e);
    }
    if (cl != NULL && (parse_uint(cl, INT64_MAX, &n) != 0 || (uint64_t)n > r->lim.max_body)) {
        tcd_api__error_set(&e, 413, "payload_too_large", "the request body is over %zu bytes",
                           r->lim.max_body);
        return reply_error(x, &e);
    }
    return MHD_YES;
}

/* Take a piece of the body; past max_body, count and drop it. */
static enum MHD_Result request_body(api_req *r, const char *data, size_t *size)
{
    size_t n = *size;

    *size = 0;
    if (!r->too_large && n > r->lim.max_body - r->body_len) {
        r->too_large = 1;
        r->discarded = r->body_len;
        free(r->body);
        r->body = NULL;
        r->body_len = r->body_cap = 0;
    }
    if (r->too_large) {
        r->discarded += n;
        /* a client that keeps going long past the limit is cut off */
        return r->discarded / 16 > r->lim.max_body ? MHD_NO : MHD_YES;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        char *b;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        if (cap > r->lim.max_body + 1)
            cap = r->lim.max_body + 1;
        b = realloc(r->body, cap);
        if (b == NULL)
            return MHD_NO;
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    api_ctx x = {.d = cls, .conn = conn, .r = *con_cls, .method = method};
    tcd_api__error e;

    if (x.r == NULL)
        return fail(&x, 500, "internal", "out of memory");
    if (!x.r->started)
        return request_headers(&x);
    if (*upload_data_size > 0)
        return request_body(x.r, upload_data, upload_data_size);
    if (x.r->too_large) {
        tcd_api__error_set(&e, 413, "payload_too_large", "the request body is over %zu bytes",
                           x.r->lim.max_body);
        return reply_error(&x, &e);
    }
    if (split_path(&x) != 0)
        return fail(&x, 404, "not_found", "no such route");
    return route(&x);
}

/* ---- start and stop ----------------------------------------------------------------------- */

/*
 * MHD's messages, one write(2) per line as tcd's own log. The message MHD
 * prints when a content reader ends a stream with an error is dropped: that
 * is how a followed stream ends when its client leaves or tcd stops.
 */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "tcd: http: ");

    if (strstr(fmt, "application error generating response") != NULL)
        return;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    n = (int)strcspn(line, "\n");
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return; /* nowhere to report it */
}

int tcd_api_start(tcd_daemon *d, int listen_fd, char *err, size_t errcap)
{
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    size_t pool;
    unsigned conns;
    int fd;

    if (d->http != NULL) {
        snprintf(err, errcap, "the HTTP server is already running");
        return TCD_E_INTERNAL;
    }
    pthread_mutex_lock(&d->lock);
    pool = d->cfg.limits.max_url + TCD_API_POOL_HEADERS;
    conns = d->cfg.limits.max_connections;
    pthread_mutex_unlock(&d->lock);
    fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        snprintf(err, errcap, "cannot duplicate the listen socket: %s", strerror(errno));
        return TCD_E_INTERNAL;
    }
    d->http = MHD_start_daemon(flags, 0, NULL, NULL, handle, d, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                               d, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                               MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT,
                               TCD_API_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
                               MHD_OPTION_URI_LOG_CALLBACK, request_begin, d,
                               MHD_OPTION_NOTIFY_COMPLETED, request_end, d, MHD_OPTION_END);
    if (d->http == NULL) {
        snprintf(err, errcap, "cannot start the HTTP server on fd %d", listen_fd);
        return TCD_E_INTERNAL;
    }
    return TCD_OK;
}

void tcd_api_stop(tcd_daemon *d)
{
    pthread_mutex_lock(&d->lock);
    d->shutting_down = 1;
    pthread_cond_broadcast(&d->events);
    pthread_mutex_unlock(&d->lock);
    if (d->http != NULL) {
        MHD_stop_daemon(d->http);
        d->http = NULL;
    }
}
