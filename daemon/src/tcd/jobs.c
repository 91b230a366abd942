/*
 * jobs.c - the job manager's interface of tcd.h: create, list, get, cancel,
 * delete, events; job.json and events.ndjson; health and metrics.
 *
 * Persistence (docs/api.md "State directory"): job.json is rewritten with
 * temp + fsync + rename on every state change; events.ndjson is appended,
 * with fdatasync after `state` and `result` events only (progress, log and
 * metric events are not synced one by one). seq is assigned here, 1, 2, ...,
 * and continues across daemon restarts (tcd_job__load scans the file).
 *
 * job.json is the job object of docs/api.md plus one internal key, "tcd":
 * {"set":[...],"pid":N,"push_pending":B} (the --set entries, the worker's pid, and for a train
 * job that succeeded with a push section, whether its push job is still to be created).
 *
 * A train job whose spec has push.repo (and push.when other than "never") queues a push job
 * when it succeeds. Exactly once, across crashes: the push job's id is chosen first and saved
 * with the train job's final state ("push_job" plus push_pending), then the push job is created
 * under that id (its directory renamed into jobs/, and jobs/ synced), then push_pending is
 * cleared. A daemon that dies in between finds push_pending at start and creates the push job
 * unless jobs/<id> is there already (tcd_job__queue_push).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "jobs.h"
#include "schedule.h"

static const char *const state_names[TCD_JOB_STATE_MAX] = {
    "queued", "running", "succeeded", "failed", "cancelled", "timed_out", "interrupted", "missed"};

const char *tcd_job__state_name(tcd_job_state s)
{
    return (unsigned)s < TCD_JOB_STATE_MAX ? state_names[s] : "unknown";
}

static int state_from_name(const char *s)
{
    int i;

    for (i = 0; s && i < TCD_JOB_STATE_MAX; i++)
        if (!strcmp(s, state_names[i]))
            return i;
    return -1;
}

int tcd_job__final(tcd_job_state s)
{
    return s != TCD_JOB_QUEUED && s != TCD_JOB_RUNNING;
}

static const char *const kind_names[TCD_JOB_KIND_MAX] = {"train", "pull", "push"};

const char *tcd_job__kind_name(tcd_job_kind k)
{
    return (unsigned)k < TCD_JOB_KIND_MAX ? kind_names[k] : "unknown";
}

static const char *const concurrency_names[TCD_CONCURRENCY_MAX] = {"allow", "forbid", "replace"};

int tcd_concurrency_from_name(const char *s)
{
    int i;

    for (i = 0; s && i < TCD_CONCURRENCY_MAX; i++)
        if (!strcmp(s, concurrency_names[i]))
            return i;
    return -1;
}

const char *tcd_concurrency_name(tcd_concurrency c)
{
    return (unsigned)c < TCD_CONCURRENCY_MAX ? concurrency_names[c] : "allow";
}

int tcd_job__is_transfer(const tcd_job *j)
{
    return j->kind == TCD_JOB_PULL || j->kind == TCD_JOB_PUSH;
}

const char *tcd_job__push_dir(const tcd_job *j)
{
    const cJSON *v =
        j->kind == TCD_JOB_PUSH ? cJSON_GetObjectItemCaseSensitive(j->xfer, "dir") : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- status codes ------------------------------------------------------------------------- */

int tcd_status_http(tcd_status s)
{
    switch (s) {
    case TCD_OK: return 200;
    case TCD_E_BAD_REQUEST: return 400;
    case TCD_E_INVALID_SPEC: return 400;
    case TCD_E_JOB_NOT_FOUND: return 404;
    case TCD_E_PLUGIN_NOT_FOUND: return 404;
    case TCD_E_PERMISSION: return 403;
    case TCD_E_CONFLICT: return 409;
    case TCD_E_TOO_MANY_JOBS: return 429;
    case TCD_E_UNAVAILABLE: return 503;
    case TCD_E_INTERNAL: return 500;
    }
    return 500;
}

const char *tcd_status_code(tcd_status s)
{
    switch (s) {
    case TCD_OK: return "ok";
    case TCD_E_BAD_REQUEST: return "bad_request";
    case TCD_E_INVALID_SPEC: return "invalid_spec";
    case TCD_E_JOB_NOT_FOUND: return "job_not_found";
    case TCD_E_PLUGIN_NOT_FOUND: return "plugin_not_found";
    case TCD_E_PERMISSION: return "permission_denied";
    case TCD_E_CONFLICT: return "conflict";
    case TCD_E_TOO_MANY_JOBS: return "too_many_jobs";
    case TCD_E_UNAVAILABLE: return "unavailable";
    case TCD_E_INTERNAL: return "internal";
    }
    return "internal";
}

static int fail(int status, char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int status, char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;

    if (err && errcap) {
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---- ids and lookup ----------------------------------------------------------------------- */

int tcd_job_id_valid(const char *s)
{
    int i;

    if (!s || s[0] != 'j')
        return 0;
    for (i = 1; i <= 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[17] == '\0';
}

static int new_id(char out[18])
{
    unsigned char b[8];
    int i;

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -1;
    out[0] = 'j';
    for (i = 0; i < 8; i++)
        snprintf(out + 1 + 2 * i, 3, "%02x", b[i]);
    return 0;
}

tcd_job *tcd_job__find(tcd_daemon *d, const char *id)
{
    size_t i;

    if (!tcd_job_id_valid(id))
        return NULL;
    for (i = 0; i < d->n_jobs; i++)
        if (!strcmp(d->jobs[i]->id, id))
            return d->jobs[i];
    return NULL;
}

int tcd_job__add(tcd_daemon *d, tcd_job *j)
{
    if (d->n_jobs == d->cap_jobs) {
        size_t cap = d->cap_jobs ? d->cap_jobs * 2 : 64;
        struct tcd_job **nj = realloc(d->jobs, cap * sizeof(*nj));
        if (!nj)
            return -1;
        d->jobs = nj;
        d->cap_jobs = cap;
    }
    d->jobs[d->n_jobs++] = j;
    return 0;
}

static void job_remove(tcd_daemon *d, tcd_job *j)
{
    size_t i;

    for (i = 0; i < d->n_jobs; i++) {
        if (d->jobs[i] == j) {
            memmove(&d->jobs[i], &d->jobs[i + 1], (d->n_jobs - i - 1) * sizeof(*d->jobs));
            d->n_jobs--;
            return;
        }
    }
}

void tcd_job__free(tcd_job *j)
{
    if (!j)
        return;
    free(j->dir);
    free(j->name);
    free(j->reason);
    cJSON_Delete(j->spec);
    cJSON_Delete(j->xfer);
    tcd_strv_free(j->sets);
    cJSON_Delete(j->progress);
    cJSON_Delete(j->result);
    free(j->index);
    if (j->out_fd >= 0)
        close(j->out_fd);
    free(j->line);
    cJSON_Delete(j->worker_result);
    free(j->schedule);
    free(j->schedule_key);
    free(j->idempotency_key);
    free(j->data_revision);
    free(j->model_revision);
    free(j);
}

static tcd_job *job_new(tcd_daemon *d, const char *id)
{
    tcd_job *j = calloc(1, sizeof(*j));

    if (!j)
        return NULL;
    snprintf(j->id, sizeof(j->id), "%s", id);
    j->exit_code = j->exit_signal = -1;
    j->out_fd = -1;
    if (!(j->dir = tcd_strdup_printf("%s/jobs/%s", d->cfg.state_dir, id))) {
        free(j);
        return NULL;
    }
    return j;
}

void tcd_job__wake(tcd_daemon *d)
{
    uint64_t one = 1;

    if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        tcd_log(TCD_LOG_WARNING, "cannot wake the main loop: %s, ignoring", strerror(errno));
}

/* ---- the job object ----------------------------------------------------------------------- */

static double ms(double t)
{
    return round(t * 1000.0) / 1000.0;
}

static void add_time(cJSON *o, const char *k, double t)
{
    if (t > 0)
        cJSON_AddNumberToObject(o, k, ms(t));
    else
        cJSON_AddNullToObject(o, k);
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_int_or_null(cJSON *o, const char *k, int v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_dup(cJSON *o, const char *k, const cJSON *v)
{
    cJSON *c = v ? cJSON_Duplicate(v, 1) : NULL;

    cJSON_AddItemToObject(o, k, c ? c : cJSON_CreateNull());
}

/* The job object of docs/api.md; disk adds the internal "tcd" key. NULL on OOM. */
static cJSON *job_json(const tcd_job *j, int disk)
{
    cJSON *o = cJSON_CreateObject(), *x;
    char *out;
    size_t i;

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "kind", tcd_job__kind_name(j->kind));
    cJSON_AddStringToObject(o, "state", tcd_job__state_name(j->state));
    add_str(o, "reason", j->reason);
    cJSON_AddNumberToObject(o, "owner_uid", (double)j->owner);
    add_str(o, "name", j->name);
    add_time(o, "created", j->created);
    add_time(o, "started", j->started);
    add_time(o, "finished", j->finished);
    if (j->timeout_s > 0)
        cJSON_AddNumberToObject(o, "timeout_s", j->timeout_s);
    else
        cJSON_AddNullToObject(o, "timeout_s");
    cJSON_AddNumberToObject(o, "attempts", j->attempts);
    x = cJSON_AddObjectToObject(o, "exit");
    add_int_or_null(x, "code", j->exit_code);
    add_int_or_null(x, "signal", j->exit_signal);
    if (tcd_job__is_transfer(j)) {
        add_dup(o, tcd_job__kind_name(j->kind), j->xfer);
        cJSON_AddNullToObject(o, "output");
    } else {
        if (j->spec)
            add_dup(o, "spec", j->spec);
        else
            cJSON_AddObjectToObject(o, "spec");
        out = tcd_strdup_printf("%s/output", j->dir);
        add_str(o, "output", out);
        free(out);
        add_str(o, "push_job", j->push_job[0] ? j->push_job : NULL);
        if (j->schedule) {
            add_str(o, "schedule", j->schedule);
            add_time(o, "slot", j->slot);
        }
        add_str(o, "schedule_key", j->schedule_key);
        add_str(o, "idempotency_key", j->idempotency_key);
        cJSON_AddBoolToObject(o, "if_changed", j->if_changed);
        cJSON_AddStringToObject(o, "concurrency", tcd_concurrency_name(j->concurrency));
        if (j->deadline_s > 0)
            cJSON_AddNumberToObject(o, "deadline_s", j->deadline_s);
        else
            cJSON_AddNullToObject(o, "deadline_s");
        add_str(o, "data_revision", j->data_revision);
        add_str(o, "model_revision", j->model_revision);
    }
    add_dup(o, "progress", j->progress);
    add_dup(o, "result", j->result);
    if (disk) {
        cJSON *t = cJSON_AddObjectToObject(o, "tcd"), *s = cJSON_AddArrayToObject(t, "set");
        for (i = 0; i < j->n_sets; i++)
            cJSON_AddItemToArray(s, cJSON_CreateString(j->sets[i]));
        cJSON_AddNumberToObject(t, "pid", (double)(j->pid ? j->pid : j->prev_pid));
        if (j->push_pending)
            cJSON_AddTrueToObject(t, "push_pending");
    }
    return o;
}

static int job_save_to(tcd_job *j, const char *path)
{
    cJSON *o = job_json(j, 1);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    int r = -ENOMEM;

    if (s) {
        size_t n = strlen(s);
        s[n] = '\n'; /* replaces the NUL; written with its length */
        r = tcd_write_file_atomic(path, s, n + 1, 0640);
    }
    cJSON_free(s);
    cJSON_Delete(o);
    return r;
}

int tcd_job__save(tcd_daemon *d, tcd_job *j)
{
    char *path = tcd_strdup_printf("%s/job.json", j->dir);
    int r = path ? job_save_to(j, path) : -ENOMEM;

    (void)d;
    if (r < 0)
        tcd_log(TCD_LOG_ERR, "job %s: cannot write job.json: %s", j->id, strerror(-r));
    free(path);
    return r;
}

/* ---- events ------------------------------------------------------------------------------- */

static void index_add(tcd_job *j, int64_t seq, off_t off)
{
    if ((seq - 1) % TCD_EVENT_STRIDE)
        return;
    if ((size_t)((seq - 1) / TCD_EVENT_STRIDE) != j->n_index)
        return; /* a gap; the index stays a prefix */
    if (j->n_index == j->cap_index) {
        size_t cap = j->cap_index ? j->cap_index * 2 : 16;
        off_t *ni = realloc(j->index, cap * sizeof(*ni));
        if (!ni)
            return;
        j->index = ni;
        j->cap_index = cap;
    }
    j->index[j->n_index++] = off;
}

static int append_line(tcd_job *j, const char *s, size_t n, int durable)
{
    char *path = tcd_strdup_printf("%s/events.ndjson", j->dir);
    int fd = -1, r = 0;
    ssize_t w;

    if (!path)
        return -ENOMEM;
    if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0) {
        r = -errno;
        goto out;
    }
    w = write(fd, s, n);
    if (w != (ssize_t)n) {
        r = w < 0 ? -errno : -ENOSPC;
        if (w > 0 && ftruncate(fd, j->events_end) < 0)
            r = -errno;
        goto out;
    }
    if (durable && fdatasync(fd) < 0)
        r = -errno;
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return r;
}

int tcd_job__emit(tcd_daemon *d, tcd_job *j, cJSON *ev, int durable)
{
    cJSON *line = cJSON_CreateObject(), *it;
    char *s = NULL;
    size_t n;
    int r = -ENOMEM;

    if (!line || !ev)
        goto out;
    cJSON_AddNumberToObject(line, "seq", (double)(j->seq + 1));
    cJSON_AddNumberToObject(line, "ts", ms(tcd_now()));
    cJSON_AddStringToObject(line, "job", j->id);
    while ((it = ev->child)) {
        cJSON_DetachItemViaPointer(ev, it);
        if (!it->string || !strcmp(it->string, "seq") || !strcmp(it->string, "ts") ||
            !strcmp(it->string, "job"))
            cJSON_Delete(it);
        else
            cJSON_AddItemToObject(line, it->string, it);
    }
    if (!(s = cJSON_PrintUnformatted(line)))
        goto out;
    n = strlen(s);
    s[n] = '\n';
    if ((r = append_line(j, s, n + 1, durable)) < 0) {
        tcd_log(TCD_LOG_ERR, "job %s: cannot append to events.ndjson: %s, ignoring", j->id,
                strerror(-r));
        goto out;
    }
    j->seq++;
    index_add(j, j->seq, j->events_end);
    j->events_end += (off_t)(n + 1);
    pthread_cond_broadcast(&d->events);
out:
    cJSON_free(s);
    cJSON_Delete(line);
    cJSON_Delete(ev);
    return r;
}

void tcd_job__log(tcd_daemon *d, tcd_job *j, const char *level, const char *fmt, ...)
{
    cJSON *e = cJSON_CreateObject();
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(e, "type", "log");
    cJSON_AddStringToObject(e, "level", level);
    cJSON_AddStringToObject(e, "message", msg);
    tcd_job__emit(d, j, e, 0);
}

static void emit_state(tcd_daemon *d, tcd_job *j)
{
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(e, "type", "state");
    cJSON_AddStringToObject(e, "state", tcd_job__state_name(j->state));
    add_str(e, "reason", j->reason);
    tcd_job__emit(d, j, e, 1);
}

static void set_reason(tcd_job *j, const char *reason)
{
    free(j->reason);
    j->reason = reason ? strdup(reason) : NULL;
}

void tcd_job__set_state(tcd_daemon *d, tcd_job *j, tcd_job_state s, const char *reason)
{
    j->state = s;
    set_reason(j, reason);
    emit_state(d, j);
    tcd_job__save(d, j);
}

static const char *error_code_for(const tcd_job *j)
{
    if (j->state == TCD_JOB_FAILED && j->reason && !strncmp(j->reason, "plugin_crashed", 14))
        return "plugin_crashed";
    return tcd_job__state_name(j->state);
}

/* Copy key of the worker's result event r into j->result when its cJSON type is in types. */
static void result_take(tcd_job *j, const cJSON *r, const char *key, int types)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    cJSON *c;

    if (!v || !(v->type & types & 0xff))
        return;
    if (!j->result && !(j->result = cJSON_CreateObject()))
        return;
    if (!(c = cJSON_Duplicate(v, 1)))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(j->result, key);
    cJSON_AddItemToObject(j->result, key, c);
}

static void plan_push(tcd_daemon *d, tcd_job *j);
static void test_crash_point(const char *name);

/* A revision as the worker or the spec check reports it: 1..TCD_MAX_REVISION printable bytes. */
static int revision_ok(const cJSON *v)
{
    const char *c;

    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > TCD_MAX_REVISION)
        return 0;
    for (c = v->valuestring; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return 0;
    return 1;
}

/* Replace *dst with key of o when it is a valid revision or null ("" and absent: keep *dst). */
static void revision_take(char **dst, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char *c;

    if (cJSON_IsNull(v)) {
        free(*dst);
        *dst = NULL;
    } else if (revision_ok(v) && (c = strdup(v->valuestring))) {
        free(*dst);
        *dst = c;
    }
}

/*
 * A succeeded train job records what it trained on: the worker's result event carries
 * "data_revision" (the dataset's Hub commit, else the data plugin's fingerprint, as
 * data_fingerprint in metrics.json) and "model_revision" (model.from's Hub commit, null for a
 * local folder or none), computed as the spec check computes them for if_changed.
 */
static void take_revisions(tcd_job *j, const cJSON *r)
{
    if (!r)
        return;
    revision_take(&j->data_revision, r, "data_revision");
    revision_take(&j->model_revision, r, "model_revision");
}

/* One line in tcd's log (the journal) for each finished job of a schedule or idempotency key. */
static void log_outcome(const tcd_job *j)
{
    if (!j->schedule_key && !j->idempotency_key)
        return;
    tcd_log(j->state == TCD_JOB_SUCCEEDED ? TCD_LOG_NOTICE : TCD_LOG_WARNING,
            "schedule '%.200s': job %s %s%s%.300s (data %.64s, model %.64s)",
            j->schedule_key ? j->schedule_key : "-", j->id, tcd_job__state_name(j->state),
            j->reason ? ": " : "", j->reason ? j->reason : "",
            j->data_revision ? j->data_revision : "-", j->model_revision ? j->model_revision : "-");
}

void tcd_job__finish(tcd_daemon *d, tcd_job *j, tcd_job_state s, const char *reason)
{
    cJSON *r = j->worker_result, *m;

    j->worker_result = NULL;
    j->state = s;
    set_reason(j, reason);
    j->finished = tcd_now();
    if (j->kind == TCD_JOB_TRAIN && s == TCD_JOB_SUCCEEDED) {
        take_revisions(j, r);
        plan_push(d, j);
    }
    emit_state(d, j);

    if (!r) {
        r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "type", "result");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(r, "state");
    cJSON_AddStringToObject(r, "state", tcd_job__state_name(s));
    if (s != TCD_JOB_SUCCEEDED && !cJSON_GetObjectItemCaseSensitive(r, "error")) {
        cJSON *e = cJSON_AddObjectToObject(r, "error");
        cJSON_AddStringToObject(e, "code", error_code_for(j));
        cJSON_AddStringToObject(e, "message", reason ? reason : tcd_job__state_name(s));
    }
    if (j->kind == TCD_JOB_TRAIN && !cJSON_GetObjectItemCaseSensitive(r, "output")) {
        char *p = tcd_strdup_printf("%s/output", j->dir);
        if (p)
            cJSON_AddStringToObject(r, "output", p);
        free(p);
    }
    if (j->kind == TCD_JOB_TRAIN && j->push_job[0]) {
        cJSON_DeleteItemFromObjectCaseSensitive(r, "push_job");
        cJSON_AddStringToObject(r, "push_job", j->push_job);
    }
    m = cJSON_GetObjectItemCaseSensitive(r, "metrics");
    if (cJSON_IsObject(m)) {
        cJSON_Delete(j->result);
        j->result = cJSON_Duplicate(m, 1);
    }
    if (j->kind == TCD_JOB_PULL && s == TCD_JOB_SUCCEEDED)
        result_take(j, r, "snapshot", cJSON_String);
    if (j->kind == TCD_JOB_PUSH && s == TCD_JOB_SUCCEEDED) {
        result_take(j, r, "commit", cJSON_String);
        result_take(j, r, "url", cJSON_String);
        result_take(j, r, "changed", cJSON_True | cJSON_False);
        result_take(j, r, "pushed", cJSON_True | cJSON_False);
        result_take(j, r, "reason", cJSON_String);
        /* champion/challenger (when improved), the champion replaced, a rollback's target */
        result_take(j, r, "champion", cJSON_Object);
        result_take(j, r, "challenger", cJSON_Object);
        result_take(j, r, "previous", cJSON_String);
        result_take(j, r, "rolled_back_to", cJSON_String);
    }
    tcd_job__emit(d, j, r, 1);
    tcd_job__save(d, j);
    log_outcome(j);
    if (j->schedule)
        tcd_schedules__job_finished(d, j);
    if (j->push_pending) {
        test_crash_point("before-auto-push");
        tcd_job__queue_push(d, j);
    }
}

/* ---- reading events.ndjson ---------------------------------------------------------------- */

#define SCAN_BUF (256 * 1024)

/*
 * Call fn for every complete line in [start, end) of fd, with its offset; a
 * line longer than SCAN_BUF comes as (NULL, its length so far). fn returns
 * nonzero to stop. Returns the offset after the last complete line seen, or
 * -1 on a read error.
 */
typedef int (*line_fn)(const char *s, size_t n, off_t off, void *ctx);

static off_t scan_lines(int fd, off_t start, off_t end, line_fn fn, void *ctx)
{
    char *buf = malloc(SCAN_BUF);
    off_t pos = start, done = start;
    size_t have = 0;
    int skipping = 0, stop = 0;

    if (!buf)
        return -1;
    while (!stop && pos + (off_t)have < end) {
        size_t want = SCAN_BUF - have, used;
        ssize_t n;
        char *p, *nl;
        if ((off_t)want > end - pos - (off_t)have)
            want = (size_t)(end - pos - (off_t)have);
        n = pread(fd, buf + have, want, pos + (off_t)have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                done = -1;
            break;
        }
        have += (size_t)n;
        p = buf;
        while (!stop && (nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
            off_t off = pos + (p - buf);
            if (!skipping)
                stop = fn(p, (size_t)(nl - p), off, ctx);
            skipping = 0;
            p = nl + 1;
            done = pos + (p - buf);
        }
        used = (size_t)(p - buf);
        pos += (off_t)used;
        memmove(buf, p, have - used);
        have -= used;
        if (have == SCAN_BUF) {
            if (!skipping)
                stop = fn(NULL, have, pos, ctx);
            skipping = 1;
            pos += (off_t)have;
            have = 0;
        }
    }
    free(buf);
    return done;
}

/* seq of an event line we wrote ({"seq":N,...}); -1 if unreadable. */
static int64_t line_seq(const char *s, size_t n)
{
    char tmp[32];
    size_t k;
    char *end;
    long long v;

    if (n < 8 || memcmp(s, "{\"seq\":", 7) != 0)
        return -1;
    for (k = 0; k < sizeof(tmp) - 1 && 7 + k < n && s[7 + k] >= '0' && s[7 + k] <= '9'; k++)
        tmp[k] = s[7 + k];
    tmp[k] = '\0';
    v = strtoll(tmp, &end, 10);
    return k ? (int64_t)v : -1;
}

typedef struct load_scan {
    tcd_job *j;
} load_scan;

static int load_line(const char *s, size_t n, off_t off, void *ctx)
{
    tcd_job *j = ((load_scan *)ctx)->j;
    int64_t seq = s ? line_seq(s, n) : -1;

    if (seq > j->seq) {
        j->seq = seq;
        index_add(j, seq, off);
    }
    return 0;
}

/* Find the last seq; cut a torn last line (a crash mid-write). */
static void load_events(tcd_job *j)
{
    char *path = tcd_strdup_printf("%s/events.ndjson", j->dir);
    load_scan ls = {j};
    struct stat st;
    off_t end;
    int fd;

    if (!path)
        return;
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
        free(path);
        return;
    }
    if (fstat(fd, &st) == 0) {
        end = scan_lines(fd, 0, st.st_size, load_line, &ls);
        if (end >= 0 && end < st.st_size) {
            tcd_log(TCD_LOG_WARNING, "job %s: events.ndjson ends in a torn line, cutting it",
                    j->id);
            if (ftruncate(fd, end) < 0)
                tcd_log(TCD_LOG_WARNING, "job %s: cannot truncate events.ndjson: %s, ignoring",
                        j->id, strerror(errno));
        }
        j->events_end = end >= 0 ? end : 0;
    }
    close(fd);
    free(path);
}

typedef struct read_scan {
    int64_t since;
    size_t max;
    char *buf;
    size_t len, cap;
    int64_t last;
    int oom;
} read_scan;

static int read_line(const char *s, size_t n, off_t off, void *ctx)
{
    read_scan *r = ctx;
    int64_t seq;

    (void)off;
    if (!s || (seq = line_seq(s, n)) <= r->since)
        return 0;
    if (r->len && r->len + n + 1 > r->max)
        return 1;
    if (r->len + n + 2 > r->cap) {
        size_t cap = (r->len + n + 2) * 2;
        char *nb = realloc(r->buf, cap);
        if (!nb) {
            r->oom = 1;
            return 1;
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->buf[r->len++] = '\n';
    r->buf[r->len] = '\0';
    r->last = seq;
    return r->len >= r->max;
}

int tcd_job_events(tcd_daemon *d, const char *id, int64_t since, size_t max_bytes, char **out,
                   size_t *out_len, int64_t *last_seq, int *finished, char *err, size_t errcap)
{
    read_scan rs;
    char *path = NULL;
    off_t start = 0, end;
    int64_t job_seq;
    int final, fd = -1, r = TCD_OK;
    tcd_job *j;

    memset(&rs, 0, sizeof(rs));
    if (since < 0)
        since = 0;
    pthread_mutex_lock(&d->lock);
    if (!(j = tcd_job__find(d, id))) {
        pthread_mutex_unlock(&d->lock);
        return fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no job '%s'", id);
    }
    job_seq = j->seq;
    final = tcd_job__final(j->state);
    end = j->events_end;
    if (j->n_index) {
        size_t k = (size_t)(since / TCD_EVENT_STRIDE);
        start = j->index[k < j->n_index ? k : j->n_index - 1];
    }
    path = tcd_strdup_printf("%s/events.ndjson", j->dir);
    pthread_mutex_unlock(&d->lock);

    rs.since = since;
    rs.max = max_bytes ? max_bytes : 1;
    rs.last = since;
    if (!path) {
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        goto out;
    }
    if (since < job_seq) {
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            r = errno == ENOENT
                    ? fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no job '%s'", id)
                    : fail(TCD_E_INTERNAL, err, errcap, "cannot read events: %s", strerror(errno));
            goto out;
        }
        if (scan_lines(fd, start, end, read_line, &rs) < 0 || rs.oom) {
            r = fail(TCD_E_INTERNAL, err, errcap, "cannot read the events of job '%s'", id);
            goto out;
        }
    }
    if (!rs.buf && !(rs.buf = calloc(1, 1))) {
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        goto out;
    }
    *out = rs.buf;
    rs.buf = NULL;
    *out_len = rs.len;
    *last_seq = rs.last;
    *finished = final && rs.last >= job_seq;
out:
    if (fd >= 0)
        close(fd);
    free(rs.buf);
    free(path);
    return r;
}

int tcd_job_events_wait(tcd_daemon *d, const char *id, int64_t since, int timeout_ms)
{
    struct timespec ts;
    tcd_job *j;
    int r = TCD_OK;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (timeout_ms < 0)
        timeout_ms = 0;
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&d->lock);
    for (;;) {
        if (!(j = tcd_job__find(d, id))) {
            r = TCD_E_JOB_NOT_FOUND;
            break;
        }
        if (j->seq > since || tcd_job__final(j->state) || d->shutting_down)
            break;
        if (pthread_cond_timedwait(&d->events, &d->lock, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&d->lock);
    return r;
}

/* ---- loading a job directory -------------------------------------------------------------- */

static double num(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : dflt;
}

static char *str_dup(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static int load_sets(tcd_job *j, const cJSON *arr)
{
    const cJSON *it;
    size_t n = (size_t)cJSON_GetArraySize(arr), k = 0;

    if (!(j->sets = calloc(n + 1, sizeof(char *))))
        return -1;
    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it) && k < n && !(j->sets[k++] = strdup(it->valuestring)))
            return -1;
    }
    j->n_sets = k;
    return 0;
}

/* A key of job.json as the API takes it (else the job has none): 1..TCD_MAX_KEY bytes, no
 * control characters. */
static int key_str(const cJSON *v)
{
    const char *c;

    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > TCD_MAX_KEY)
        return 0;
    for (c = v->valuestring; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return 0;
    return 1;
}

/* The scheduling members of a train job's job.json. -1 on OOM. */
static int load_schedule(tcd_job *j, const cJSON *o)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "concurrency");
    int c = tcd_concurrency_from_name(cJSON_IsString(v) ? v->valuestring : NULL);

    j->concurrency = c < 0 ? TCD_CONCURRENCY_ALLOW : (tcd_concurrency)c;
    j->if_changed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "if_changed"));
    j->deadline_s = num(o, "deadline_s", 0);
    if (j->deadline_s < 0)
        j->deadline_s = 0;
    revision_take(&j->data_revision, o, "data_revision");
    revision_take(&j->model_revision, o, "model_revision");
    if ((key_str(v = cJSON_GetObjectItemCaseSensitive(o, "schedule_key")) &&
         !(j->schedule_key = strdup(v->valuestring))) ||
        (key_str(v = cJSON_GetObjectItemCaseSensitive(o, "idempotency_key")) &&
         !(j->idempotency_key = strdup(v->valuestring))))
        return -1;
    return 0;
}

tcd_job *tcd_job__load(tcd_daemon *d, const char *id, char *err, size_t errcap)
{
    tcd_job *j = job_new(d, id);
    char *path = NULL, *text = NULL;
    cJSON *o = NULL, *x;
    int st, r;

    if (!j || !(path = tcd_strdup_printf("%s/job.json", j->dir))) {
        fail(0, err, errcap, "out of memory");
        goto bad;
    }
    if ((r = tcd_read_file(path, 16 * 1024 * 1024, &text, NULL)) < 0) {
        fail(0, err, errcap, "cannot read %s: %s", path, strerror(-r));
        goto bad;
    }
    if (!(o = cJSON_Parse(text)) || !cJSON_IsObject(o)) {
        fail(0, err, errcap, "%s is not valid JSON", path);
        goto bad;
    }
    x = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(x) || strcmp(x->valuestring, id) != 0) {
        fail(0, err, errcap, "%s names another job id", path);
        goto bad;
    }
    x = cJSON_GetObjectItemCaseSensitive(o, "state");
    if ((st = state_from_name(cJSON_IsString(x) ? x->valuestring : NULL)) < 0) {
        fail(0, err, errcap, "%s has no valid state", path);
        goto bad;
    }
    j->state = (tcd_job_state)st;
    j->reason = str_dup(o, "reason");
    j->name = str_dup(o, "name");
    j->owner = (uid_t)num(o, "owner_uid", 0);
    j->created = num(o, "created", 0);
    j->started = num(o, "started", 0);
    j->finished = num(o, "finished", 0);
    j->timeout_s = num(o, "timeout_s", 0);
    j->attempts = (int)num(o, "attempts", 0);
    x = cJSON_GetObjectItemCaseSensitive(o, "exit");
    j->exit_code = (int)num(x, "code", -1);
    j->exit_signal = (int)num(x, "signal", -1);
    x = cJSON_GetObjectItemCaseSensitive(o, "kind");
    j->kind = TCD_JOB_TRAIN;
    if (cJSON_IsString(x) && !strcmp(x->valuestring, "pull"))
        j->kind = TCD_JOB_PULL;
    else if (cJSON_IsString(x) && !strcmp(x->valuestring, "push"))
        j->kind = TCD_JOB_PUSH;
    if (tcd_job__is_transfer(j)) {
        const char *k = tcd_job__kind_name(j->kind);
        x = cJSON_GetObjectItemCaseSensitive(o, k);
        if (!cJSON_IsObject(x) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(x, "repo")) ||
            (j->kind == TCD_JOB_PUSH &&
             !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(x, "dir")) &&
             !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "rollback")))) {
            fail(0, err, errcap, "%s: a %s job without a valid '%s' object", path, k, k);
            goto bad;
        }
        j->xfer = cJSON_Duplicate(x, 1);
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "spec")) && cJSON_IsObject(x))
        j->spec = cJSON_Duplicate(x, 1);
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "progress")) && cJSON_IsObject(x))
        j->progress = cJSON_Duplicate(x, 1);
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "result")) && cJSON_IsObject(x))
        j->result = cJSON_Duplicate(x, 1);
    x = cJSON_GetObjectItemCaseSensitive(o, "push_job");
    if (j->kind == TCD_JOB_TRAIN && cJSON_IsString(x) && tcd_job_id_valid(x->valuestring))
        snprintf(j->push_job, sizeof(j->push_job), "%s", x->valuestring);
    x = cJSON_GetObjectItemCaseSensitive(o, "tcd");
    j->push_pending =
        j->push_job[0] && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "push_pending"));
    if (load_sets(j, cJSON_GetObjectItemCaseSensitive(x, "set")) < 0) {
        fail(0, err, errcap, "out of memory");
        goto bad;
    }
    j->prev_pid = (pid_t)num(x, "pid", 0);
    if (j->kind == TCD_JOB_TRAIN && (j->schedule = str_dup(o, "schedule")))
        j->slot = num(o, "slot", 0);
    if (j->kind == TCD_JOB_TRAIN && load_schedule(j, o) < 0) {
        fail(0, err, errcap, "out of memory");
        goto bad;
    }
    load_events(j);
    goto out;
bad:
    tcd_job__free(j);
    j = NULL;
out:
    cJSON_Delete(o);
    free(text);
    free(path);
    return j;
}

/* ---- spec YAML as JSON (for the job object) ----------------------------------------------- */

static cJSON *yaml_node_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    cJSON *o = NULL;

    if (!n || depth > 16)
        return cJSON_CreateNull();
    switch (n->type) {
    case YAML_SCALAR_NODE: return cJSON_CreateString((const char *)n->data.scalar.value);
    case YAML_SEQUENCE_NODE: {
        yaml_node_item_t *it;
        o = cJSON_CreateArray();
        for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
            cJSON_AddItemToArray(o,
                                 yaml_node_json(doc, yaml_document_get_node(doc, *it), depth + 1));
        return o;
    }
    case YAML_MAPPING_NODE: {
        yaml_node_pair_t *p;
        o = cJSON_CreateObject();
        for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (k && k->type == YAML_SCALAR_NODE)
                cJSON_AddItemToObject(
                    o, (const char *)k->data.scalar.value,
                    yaml_node_json(doc, yaml_document_get_node(doc, p->value), depth + 1));
        }
        return o;
    }
    default: return cJSON_CreateNull();
    }
}

static cJSON *spec_json(const char *yaml, const char *const *sets, size_t n_sets)
{
    yaml_parser_t p;
    yaml_document_t doc;
    cJSON *o = NULL;
    size_t i;

    if (!yaml_parser_initialize(&p))
        return cJSON_CreateObject();
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, strlen(yaml));
    if (yaml_parser_load(&p, &doc)) {
        o = yaml_node_json(&doc, yaml_document_get_root_node(&doc), 0);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
    }
    for (i = 0; o && i < n_sets; i++) {
        const char *eq = strchr(sets[i], '='), *dot = strchr(sets[i], '.');
        char sec[128], key[128];
        cJSON *s;
        if (!eq || !dot || dot > eq || (size_t)(dot - sets[i]) >= sizeof(sec) ||
            (size_t)(eq - dot - 1) >= sizeof(key))
            continue;
        snprintf(sec, sizeof(sec), "%.*s", (int)(dot - sets[i]), sets[i]);
        snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
        if (!cJSON_IsObject(s = cJSON_GetObjectItemCaseSensitive(o, sec))) {
            cJSON_DeleteItemFromObjectCaseSensitive(o, sec);
            s = cJSON_AddObjectToObject(o, sec);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(s, key);
        cJSON_AddStringToObject(s, key, eq + 1);
    }
    return o;
}

/* ---- create ------------------------------------------------------------------------------- */

static size_t active_jobs(const tcd_daemon *d)
{
    size_t i, n = 0;

    for (i = 0; i < d->n_jobs; i++)
        n += !tcd_job__final(d->jobs[i]->state);
    return n;
}

static int admit(tcd_daemon *d, char *err, size_t errcap)
{
    if (d->shutting_down)
        return fail(TCD_E_UNAVAILABLE, err, errcap, "the daemon is shutting down");
    if (active_jobs(d) >= d->cfg.limits.max_jobs)
        return fail(TCD_E_TOO_MANY_JOBS, err, errcap,
                    "%zu jobs are queued or running (max_jobs); try again later",
                    d->cfg.limits.max_jobs);
    return TCD_OK;
}

static int check_args(tcd_daemon *d, const char *spec_yaml, const char *const *sets, size_t n_sets,
                      const char *name, double timeout_s, char *err, size_t errcap)
{
    size_t i, max_spec, max_sets;
    const char *c;

    pthread_mutex_lock(&d->lock);
    max_spec = d->cfg.limits.max_spec;
    max_sets = d->cfg.limits.max_sets;
    pthread_mutex_unlock(&d->lock);
    if (!spec_yaml || !*spec_yaml)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "spec_yaml is empty");
    if (strlen(spec_yaml) > max_spec)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "spec_yaml is longer than %zu bytes", max_spec);
    if (n_sets > max_sets)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "more than %zu set entries", max_sets);
    for (i = 0; i < n_sets; i++) {
        if (!sets[i] || !*sets[i] || strlen(sets[i]) > TCD_MAX_SET_LEN)
            return fail(TCD_E_BAD_REQUEST, err, errcap,
                        "set entry %zu is empty or longer than %d bytes", i, TCD_MAX_SET_LEN);
    }
    if (name) {
        if (strlen(name) > TCD_MAX_NAME)
            return fail(TCD_E_BAD_REQUEST, err, errcap, "name is longer than %d bytes",
                        TCD_MAX_NAME);
        for (c = name; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return fail(TCD_E_BAD_REQUEST, err, errcap, "name has control characters");
    }
    if (!isfinite(timeout_s) || timeout_s < 0 || timeout_s > 1e9)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "timeout_s must be in [0, 1e9]");
    return TCD_OK;
}

/* What the spec check found out besides the verdict (with --revisions). */
typedef struct spec_check {
    int revisions;        /* ask for them */
    char *data_revision;  /* malloc'd; NULL: the data has none */
    char *model_revision; /* malloc'd; NULL: no Hub model */
} spec_check;

/*
 * The revisions of a check verdict: {"revisions":{"data":R|null,"model":R|null}}, or
 * {"revisions_error":{"code","message"}} when they could not be found: a dataset or model the
 * Hub does not have, or data the plugin cannot read, is 400 invalid_spec (the spec is wrong);
 * anything else (the Hub unreachable, offline, an HTTP error) 503 unavailable (try later).
 */
static int take_check_revisions(spec_check *sc, const cJSON *o, char *err, size_t errcap)
{
    const cJSON *rev = cJSON_GetObjectItemCaseSensitive(o, "revisions");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "revisions_error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    int spec_wrong = cJSON_IsString(code) && (!strcmp(code->valuestring, "not_found") ||
                                              !strcmp(code->valuestring, "malformed_data") ||
                                              !strcmp(code->valuestring, "invalid_argument"));

    if (e || !cJSON_IsObject(rev))
        return fail(spec_wrong ? TCD_E_INVALID_SPEC : TCD_E_UNAVAILABLE, err, errcap,
                    "cannot resolve the revisions of the dataset and base model: %.300s",
                    cJSON_IsString(msg) ? msg->valuestring : "the spec check did not say");
    revision_take(&sc->data_revision, rev, "data");
    revision_take(&sc->model_revision, rev, "model");
    return TCD_OK;
}

/* Run `tcd-worker check spec.yaml --set... --json [--revisions]` in dir. */
static int check_spec(tcd_daemon *d, const char *dir, const char *const *sets, size_t n_sets,
                      spec_check *sc, char *err, size_t errcap)
{
    const char **argv = calloc(n_sets * 2 + 7, sizeof(char *));
    char *out = NULL, *last;
    cJSON *o = NULL, *ok, *msg;
    size_t i, k = 0;
    int st = 0, r;

    if (!argv)
        return fail(TCD_E_INTERNAL, err, errcap, "out of memory");
    argv[k++] = d->cfg.worker_path;
    argv[k++] = "check";
    argv[k++] = "spec.yaml";
    for (i = 0; i < n_sets; i++) {
        argv[k++] = "--set";
        argv[k++] = sets[i];
    }
    argv[k++] = "--json";
    if (sc && sc->revisions)
        argv[k++] = "--revisions";
    argv[k] = NULL;
    r = tcd_run_capture(&d->cfg, argv, dir,
                        sc && sc->revisions ? TCD_REVISIONS_TIMEOUT_S : TCD_PROBE_TIMEOUT_S, &out,
                        &st, err, errcap);
    if (r < 0) {
        tcd_log(TCD_LOG_ERR, "spec check: %s", err);
        goto out;
    }
    /* The verdict is the last line. */
    while ((last = strrchr(out, '\n')) && last[1] == '\0')
        *last = '\0';
    last = strrchr(out, '\n');
    o = cJSON_Parse(last ? last + 1 : out);
    ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
    msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "error"), "message");
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && cJSON_IsTrue(ok)) {
        r = sc && sc->revisions ? take_check_revisions(sc, o, err, errcap) : TCD_OK;
    } else if (cJSON_IsFalse(ok) || (WIFEXITED(st) && WEXITSTATUS(st) == 78)) {
        r = fail(TCD_E_INVALID_SPEC, err, errcap, "%s",
                 cJSON_IsString(msg) ? msg->valuestring : "the spec was refused");
    } else {
        r = fail(TCD_E_INTERNAL, err, errcap, "the spec check failed (%s %d)",
                 WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        tcd_log(TCD_LOG_ERR, "%s", err);
    }
out:
    cJSON_Delete(o);
    free(out);
    free(argv);
    return r;
}

static tcd_job *job_build(tcd_daemon *d, const char *id, uid_t owner, const char *spec_yaml,
                          const char *const *sets, size_t n_sets, const tcd_train_opts *o,
                          spec_check *sc)
{
    tcd_job *j = job_new(d, id);
    size_t i;

    if (!j)
        return NULL;
    j->owner = owner;
    j->state = TCD_JOB_QUEUED;
    j->created = tcd_now();
    j->timeout_s = o->timeout_s > 0 ? o->timeout_s : d->cfg.limits.default_timeout_s;
    j->if_changed = o->if_changed;
    j->concurrency = o->concurrency;
    j->deadline_s = o->deadline_s > 0 ? o->deadline_s : 0;
    if ((o->name && *o->name && !(j->name = strdup(o->name))) ||
        (o->schedule_key && !(j->schedule_key = strdup(o->schedule_key))) ||
        (o->idempotency_key && !(j->idempotency_key = strdup(o->idempotency_key))) ||
        !(j->spec = spec_json(spec_yaml, sets, n_sets)) ||
        !(j->sets = calloc(n_sets + 1, sizeof(char *))))
        goto oom;
    for (i = 0; i < n_sets; i++)
        if (!(j->sets[i] = strdup(sets[i])))
            goto oom;
    j->n_sets = n_sets;
    j->data_revision = sc->data_revision; /* moved into the job */
    j->model_revision = sc->model_revision;
    sc->data_revision = sc->model_revision = NULL;
    return j;
oom:
    tcd_job__free(j);
    return NULL;
}

/*
 * With d->lock held: write job.json into the prepared directory tmp, rename it
 * to final_dir (an existing final_dir with files is never replaced) and sync
 * jobs/, add the job to d, announce it and wake the scheduler. On success d
 * owns j. On failure j is not added; tmp may remain for the caller to remove.
 * *out: the job object; out may be NULL.
 */
static int publish_job(tcd_daemon *d, tcd_job *j, const char *json_path, const char *tmp,
                       const char *final_dir, cJSON **out, char *err, size_t errcap)
{
    char *jobs_dir;
    int r;

    if ((r = job_save_to(j, json_path)) < 0 || rename(tmp, final_dir) < 0) {
        r = fail(TCD_E_INTERNAL, err, errcap, "cannot create the job directory %s: %s", final_dir,
                 strerror(r < 0 ? -r : errno));
        tcd_log(TCD_LOG_ERR, "%s", err);
        return r;
    }
    if (!(jobs_dir = tcd_strdup_printf("%s/jobs", d->cfg.state_dir)) ||
        (r = tcd_fsync_dir(jobs_dir)) < 0)
        tcd_log(TCD_LOG_WARNING, "cannot sync %s/jobs: %s, ignoring", d->cfg.state_dir,
                jobs_dir ? strerror(-r) : "out of memory");
    free(jobs_dir);
    if (tcd_job__add(d, j) < 0) {
        tcd_rm_rf(final_dir);
        return fail(TCD_E_INTERNAL, err, errcap, "out of memory");
    }
    emit_state(d, j);
    d->jobs_created_total++;
    if (out)
        *out = job_json(j, 0);
    tcd_log(TCD_LOG_INFO, "job %s (%s) queued by uid %u", j->id, tcd_job__kind_name(j->kind),
            (unsigned)j->owner);
    tcd_job__wake(d);
    return TCD_OK;
}

/* ---- scheduled runs: keys, if_changed, concurrency ------------------------------------------ */

/* A schedule or idempotency key: 1..TCD_MAX_KEY bytes without control characters, or NULL. */
static int check_key(const char *what, const char *k, char *err, size_t errcap)
{
    const char *c;

    if (!k)
        return TCD_OK;
    if (!*k || strlen(k) > TCD_MAX_KEY)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "%s must be 1..%d bytes", what, TCD_MAX_KEY);
    for (c = k; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return fail(TCD_E_BAD_REQUEST, err, errcap, "%s has control characters", what);
    return TCD_OK;
}

static int check_train_opts(const tcd_train_opts *o, char *err, size_t errcap)
{
    int r;

    if ((r = check_key("schedule_key", o->schedule_key, err, errcap)) < 0 ||
        (r = check_key("idempotency_key", o->idempotency_key, err, errcap)) < 0)
        return r;
    if ((unsigned)o->concurrency >= TCD_CONCURRENCY_MAX)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "unknown concurrency policy");
    if (!o->schedule_key && (o->if_changed || o->concurrency != TCD_CONCURRENCY_ALLOW))
        return fail(TCD_E_BAD_REQUEST, err, errcap, "%s needs a schedule_key",
                    o->if_changed ? "if_changed" : "concurrency forbid or replace");
    if (!isfinite(o->deadline_s) || o->deadline_s < 0 || o->deadline_s > TCD_MAX_DEADLINE_S)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "deadline_s must be in [0, %.0f]",
                    TCD_MAX_DEADLINE_S);
    return TCD_OK;
}

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The owner's train job with that idempotency key, or NULL. */
static tcd_job *find_idempotent(tcd_daemon *d, uid_t owner, const char *key)
{
    size_t i;

    for (i = 0; key && i < d->n_jobs; i++)
        if (d->jobs[i]->kind == TCD_JOB_TRAIN && d->jobs[i]->owner == owner &&
            str_eq(d->jobs[i]->idempotency_key, key))
            return d->jobs[i];
    return NULL;
}

/* The owner's train job of schedule key that finished last in state `succeeded`, or NULL. */
static const tcd_job *last_succeeded(const tcd_daemon *d, uid_t owner, const char *key)
{
    const tcd_job *best = NULL;
    size_t i;

    for (i = 0; i < d->n_jobs; i++) {
        const tcd_job *j = d->jobs[i];
        if (j->kind == TCD_JOB_TRAIN && j->owner == owner && j->state == TCD_JOB_SUCCEEDED &&
            str_eq(j->schedule_key, key) && (!best || j->finished > best->finished))
            best = j;
    }
    return best;
}

/* The owner's first queued or running train job of schedule key (after `from`), or NULL. */
static tcd_job *active_of_key(tcd_daemon *d, uid_t owner, const char *key, size_t *from)
{
    for (; *from < d->n_jobs; (*from)++) {
        tcd_job *j = d->jobs[*from];
        if (j->kind == TCD_JOB_TRAIN && j->owner == owner && !tcd_job__final(j->state) &&
            str_eq(j->schedule_key, key))
            return j;
    }
    return NULL;
}

/* {"skipped":{"code","message","job","schedule_key","data_revision","model_revision"}} */
static cJSON *skipped_json(const char *code, const char *message, const tcd_job *by,
                           const char *key, const spec_check *sc)
{
    cJSON *o = cJSON_CreateObject(), *x = o ? cJSON_AddObjectToObject(o, "skipped") : NULL;

    if (!x) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(x, "code", code);
    cJSON_AddStringToObject(x, "message", message);
    add_str(x, "job", by ? by->id : NULL);
    add_str(x, "schedule_key", key);
    add_str(x, "data_revision", sc->data_revision);
    add_str(x, "model_revision", sc->model_revision);
    return o;
}

/*
 * With d->lock held: the answers that make no new job. Returns 1 with *out and *how set, 0 when a
 * job is to be made, or a tcd_status. probed: sc holds the revisions (if_changed is decided).
 */
static int decide(tcd_daemon *d, uid_t owner, const tcd_train_opts *o, const spec_check *sc,
                  int probed, cJSON **out, tcd_create_outcome *how, char *err, size_t errcap)
{
    const char *key = o->schedule_key;
    const tcd_job *last;
    tcd_job *j;
    char msg[512];
    size_t from = 0;

    if ((j = find_idempotent(d, owner, o->idempotency_key))) {
        *how = TCD_CREATE_EXISTING;
        tcd_log(TCD_LOG_INFO, "idempotency key '%.200s' of uid %u: job %s exists (%s); no new job",
                o->idempotency_key, (unsigned)owner, j->id, tcd_job__state_name(j->state));
        *out = job_json(j, 0);
    } else if (probed && o->if_changed && sc->data_revision &&
               (last = last_succeeded(d, owner, key)) &&
               str_eq(last->data_revision, sc->data_revision) &&
               str_eq(last->model_revision, sc->model_revision)) {
        snprintf(msg, sizeof(msg), "unchanged since job %s: data %.64s, model %.64s; no job made",
                 last->id, sc->data_revision, sc->model_revision ? sc->model_revision : "-");
        *how = TCD_CREATE_SKIPPED;
        *out = skipped_json("unchanged", msg, last, key, sc);
    } else if (o->concurrency == TCD_CONCURRENCY_FORBID &&
               (j = active_of_key(d, owner, key, &from))) {
        snprintf(msg, sizeof(msg),
                 "job %s of this schedule is %s (concurrency forbid); no job made", j->id,
                 tcd_job__state_name(j->state));
        *how = TCD_CREATE_SKIPPED;
        *out = skipped_json("concurrency_forbid", msg, j, key, sc);
    } else {
        return 0;
    }
    if (!*out)
        return fail(TCD_E_INTERNAL, err, errcap, "out of memory");
    if (*how == TCD_CREATE_SKIPPED)
        tcd_log(TCD_LOG_NOTICE, "schedule '%.200s' of uid %u: %s", key, (unsigned)owner, msg);
    return 1;
}

/* With d->lock held: concurrency replace: cancel the other queued or running jobs of j's key. */
static void replace_active(tcd_daemon *d, const tcd_job *j)
{
    char reason[64];
    size_t from = 0;
    tcd_job *old;

    snprintf(reason, sizeof(reason), "replaced by job %s", j->id);
    for (; (old = active_of_key(d, j->owner, j->schedule_key, &from)); from++) {
        if (old == j)
            continue;
        tcd_log(TCD_LOG_NOTICE, "schedule '%.200s': job %s (%s) %s", j->schedule_key, old->id,
                tcd_job__state_name(old->state), reason);
        if (old->state == TCD_JOB_QUEUED) {
            tcd_job__finish(d, old, TCD_JOB_CANCELLED, reason);
        } else if (old->pid > 0 && old->stop == TCD_STOP_NONE) {
            old->stop = TCD_STOP_REPLACE;
            snprintf(old->replaced_by, sizeof(old->replaced_by), "%s", j->id);
            kill(-old->pid, SIGTERM);
            old->kill_at = tcd_mono() + d->cfg.limits.cancel_grace_s;
            tcd_job__log(d, old, "info", "%s (concurrency replace); stopping the worker", reason);
        }
    }
}

int tcd_jobs_create(tcd_daemon *d, uid_t owner, const char *spec_yaml, const char *const *sets,
                    size_t n_sets, const char *name, double timeout_s, cJSON **out, char *err,
                    size_t errcap)
{
    tcd_train_opts o;
    tcd_create_outcome how;

    memset(&o, 0, sizeof(o));
    o.name = name;
    o.timeout_s = timeout_s;
    return tcd_jobs_create_train(d, owner, spec_yaml, sets, n_sets, &o, out, &how, err, errcap);
}

int tcd_jobs_create_scheduled(tcd_daemon *d, uid_t owner, const char *spec_yaml,
                              const tcd_train_opts *opts, cJSON **out, tcd_create_outcome *how,
                              char *err, size_t errcap)
{
    return tcd_jobs_create_train(d, owner, spec_yaml, NULL, 0, opts, out, how, err, errcap);
}

int tcd_jobs_create_train(tcd_daemon *d, uid_t owner, const char *spec_yaml,
                          const char *const *sets, size_t n_sets, const tcd_train_opts *opts,
                          cJSON **out, tcd_create_outcome *how, char *err, size_t errcap)
{
    char id[18], *tmp = NULL, *spec_path = NULL, *json_path = NULL, *final_dir = NULL;
    spec_check sc = {0, NULL, NULL};
    tcd_job *j = NULL;
    int r, locked = 0;

    *how = TCD_CREATE_NEW;
    if ((r = check_args(d, spec_yaml, sets, n_sets, opts->name, opts->timeout_s, err, errcap)) <
            0 ||
        (r = check_train_opts(opts, err, errcap)) < 0)
        return r;
    /* the answers that need no spec check (an idempotent repeat, forbid) before running it */
    pthread_mutex_lock(&d->lock);
    if ((r = decide(d, owner, opts, &sc, 0, out, how, err, errcap)) == 0)
        r = admit(d, err, errcap);
    pthread_mutex_unlock(&d->lock);
    if (r != 0)
        return r > 0 ? TCD_OK : r;
    if (new_id(id) < 0)
        return fail(TCD_E_INTERNAL, err, errcap, "cannot make a job id: %s", strerror(errno));
    tmp = tcd_strdup_printf("%s/tmp/%s", d->cfg.state_dir, id);
    spec_path = tcd_strdup_printf("%s/tmp/%s/spec.yaml", d->cfg.state_dir, id);
    json_path = tcd_strdup_printf("%s/tmp/%s/job.json", d->cfg.state_dir, id);
    final_dir = tcd_strdup_printf("%s/jobs/%s", d->cfg.state_dir, id);
    if (!tmp || !spec_path || !json_path || !final_dir) {
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        goto out;
    }
    if (mkdir(tmp, 0750) < 0 ||
        (r = tcd_write_file_atomic(spec_path, spec_yaml, strlen(spec_yaml), 0640)) < 0) {
        r = fail(TCD_E_INTERNAL, err, errcap, "cannot write the spec under %s: %s", tmp,
                 strerror(r < 0 ? -r : errno));
        tcd_log(TCD_LOG_ERR, "%s", err);
        goto out;
    }
    sc.revisions = opts->if_changed;
    if ((r = check_spec(d, tmp, sets, n_sets, &sc, err, errcap)) < 0)
        goto out;
    pthread_mutex_lock(&d->lock);
    locked = 1;
    if ((r = decide(d, owner, opts, &sc, 1, out, how, err, errcap)) != 0) {
        r = r > 0 ? TCD_OK : r;
        goto out;
    }
    if ((r = admit(d, err, errcap)) < 0)
        goto out;
    if (!(j = job_build(d, id, owner, spec_yaml, sets, n_sets, opts, &sc)) ||
        (opts->schedule && !(j->schedule = strdup(opts->schedule)))) {
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        goto out;
    }
    if (opts->schedule)
        j->slot = opts->slot;
    if ((r = publish_job(d, j, json_path, tmp, final_dir, out, err, errcap)) < 0)
        goto out;
    free(tmp);
    tmp = NULL; /* renamed: now the job's directory */
    if (j->concurrency == TCD_CONCURRENCY_REPLACE)
        replace_active(d, j);
    j = NULL; /* owned by d */
out:
    if (locked)
        pthread_mutex_unlock(&d->lock);
    if (tmp)
        tcd_rm_rf(tmp);
    tcd_job__free(j);
    free(sc.data_revision);
    free(sc.model_revision);
    free(tmp);
    free(spec_path);
    free(json_path);
    free(final_dir);
    return r;
}

/*
 * With d->lock held: a pull or push job with id from its (validated, complete) object: job.json
 * written in STATE/tmp/<id>, renamed into jobs/, queued. *out: the job object (out may be NULL).
 */
static int transfer_publish(tcd_daemon *d, const char *id, uid_t owner, tcd_job_kind kind,
                            const cJSON *xfer, const char *name, double timeout_s, cJSON **out,
                            char *err, size_t errcap)
{
    char *tmp = tcd_strdup_printf("%s/tmp/%s", d->cfg.state_dir, id);
    char *json_path = tcd_strdup_printf("%s/tmp/%s/job.json", d->cfg.state_dir, id);
    char *final_dir = tcd_strdup_printf("%s/jobs/%s", d->cfg.state_dir, id);
    tcd_job *j = NULL;
    int r;

    if (!tmp || !json_path || !final_dir || !(j = job_new(d, id))) {
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        goto out;
    }
    j->owner = owner;
    j->state = TCD_JOB_QUEUED;
    j->created = tcd_now();
    j->timeout_s = timeout_s > 0 ? timeout_s : d->cfg.limits.default_timeout_s;
    j->kind = kind;
    if ((name && *name && !(j->name = strdup(name))) || !(j->xfer = cJSON_Duplicate(xfer, 1)) ||
        !(j->sets = calloc(1, sizeof(char *)))) {
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        goto out;
    }
    if (mkdir(tmp, 0750) < 0) {
        r = fail(TCD_E_INTERNAL, err, errcap, "cannot create %s: %s", tmp, strerror(errno));
        tcd_log(TCD_LOG_ERR, "%s", err);
        goto out;
    }
    if ((r = publish_job(d, j, json_path, tmp, final_dir, out, err, errcap)) < 0)
        goto out;
    free(tmp);
    tmp = NULL; /* renamed: now the job's directory */
    j = NULL;   /* owned by d */
out:
    if (tmp)
        tcd_rm_rf(tmp);
    tcd_job__free(j);
    free(tmp);
    free(json_path);
    free(final_dir);
    return r;
}

/* Create a pull or push job from its (validated, complete) object: persist job.json, queue it. */
static int create_transfer(tcd_daemon *d, uid_t owner, tcd_job_kind kind, const cJSON *xfer,
                           const char *name, double timeout_s, cJSON **out, char *err,
                           size_t errcap)
{
    char id[18];
    int r;

    if ((r = check_args(d, tcd_job__kind_name(kind), NULL, 0, name, timeout_s, err, errcap)) < 0)
        return r;
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(xfer, "repo")))
        return fail(TCD_E_BAD_REQUEST, err, errcap, "a %s job needs a repo",
                    tcd_job__kind_name(kind));
    if (new_id(id) < 0)
        return fail(TCD_E_INTERNAL, err, errcap, "cannot make a job id: %s", strerror(errno));
    pthread_mutex_lock(&d->lock);
    if ((r = admit(d, err, errcap)) == TCD_OK)
        r = transfer_publish(d, id, owner, kind, xfer, name, timeout_s, out, err, errcap);
    pthread_mutex_unlock(&d->lock);
    return r;
}

int tcd_jobs_create_pull(tcd_daemon *d, uid_t owner, const cJSON *pull, const char *name,
                         double timeout_s, cJSON **out, char *err, size_t errcap)
{
    return create_transfer(d, owner, TCD_JOB_PULL, pull, name, timeout_s, out, err, errcap);
}

/* ---- push sources ------------------------------------------------------------------------- */

typedef struct push_walk {
    uid_t uid;
    size_t entries;
    char *err;
    size_t errcap;
} push_walk;

/*
 * Everything in the directory dfd (consumed) at path: regular files and directories owned by
 * w->uid, no symbolic links, devices or sockets. 0 or a tcd_status with w->err set.
 */
static int walk_owned(push_walk *w, int dfd, const char *path, int depth)
{
    DIR *dp = fdopendir(dfd);
    struct dirent *e;
    int r = TCD_OK;

    if (!dp) {
        r = fail(TCD_E_INTERNAL, w->err, w->errcap, "cannot read '%s': %s", path, strerror(errno));
        close(dfd);
        return r;
    }
    while (r == TCD_OK && (errno = 0, e = readdir(dp))) {
        struct stat st;
        char *child;
        int fd;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!(child = tcd_strdup_printf("%s/%s", path, e->d_name))) {
            r = fail(TCD_E_INTERNAL, w->err, w->errcap, "out of memory");
            break;
        }
        if (++w->entries > TCD_MAX_PUSH_ENTRIES)
            r = fail(TCD_E_BAD_REQUEST, w->err, w->errcap,
                     "'%s' holds more than %d files and directories", path, TCD_MAX_PUSH_ENTRIES);
        else if (fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            r = fail(TCD_E_BAD_REQUEST, w->err, w->errcap, "cannot stat '%s': %s", child,
                     strerror(errno));
        else if (S_ISLNK(st.st_mode))
            r = fail(TCD_E_PERMISSION, w->err, w->errcap,
                     "'%s' is a symbolic link; a pushed directory of uid %u may hold only its "
                     "own regular files and directories",
                     child, (unsigned)w->uid);
        else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
            r = fail(TCD_E_PERMISSION, w->err, w->errcap, "'%s' is not a regular file or directory",
                     child);
        else if (st.st_uid != w->uid)
            r = fail(TCD_E_PERMISSION, w->err, w->errcap,
                     "'%s' belongs to uid %u, not to the caller (uid %u)", child,
                     (unsigned)st.st_uid, (unsigned)w->uid);
        else if (S_ISDIR(st.st_mode) && depth >= TCD_MAX_PUSH_DEPTH)
            r = fail(TCD_E_BAD_REQUEST, w->err, w->errcap,
                     "'%s' is nested deeper than %d directories", child, TCD_MAX_PUSH_DEPTH);
        else if (S_ISDIR(st.st_mode)) {
            fd = openat(dirfd(dp), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            r = fd < 0 ? fail(TCD_E_BAD_REQUEST, w->err, w->errcap, "cannot open '%s': %s", child,
                              strerror(errno))
                       : walk_owned(w, fd, child, depth + 1);
        }
        free(child);
    }
    if (r == TCD_OK && errno)
        r = fail(TCD_E_INTERNAL, w->err, w->errcap, "cannot read '%s': %s", path, strerror(errno));
    closedir(dp);
    return r;
}

int tcd_job__push_dir_check(const char *dir, uid_t owner, int by_job, char *err, size_t errcap)
{
    push_walk w = {owner, 0, err, errcap};
    struct stat st;
    int fd;

    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
        return fail(TCD_E_BAD_REQUEST, err, errcap, "'%s' %s", dir,
                    errno == ENOENT  ? "does not exist"
                    : errno == ELOOP ? "is a symbolic link"
                                     : "is not a directory");
    if (fd < 0)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "cannot open '%s': %s", dir, strerror(errno));
    if (fstat(fd, &st) < 0) {
        close(fd);
        return fail(TCD_E_INTERNAL, err, errcap, "cannot stat '%s': %s", dir, strerror(errno));
    }
    if (by_job || owner == 0) {
        close(fd);
        return TCD_OK;
    }
    if (st.st_uid != owner) {
        close(fd);
        return fail(TCD_E_PERMISSION, err, errcap,
                    "directory '%s' belongs to uid %u, not to the caller (uid %u)", dir,
                    (unsigned)st.st_uid, (unsigned)owner);
    }
    if (owner == geteuid()) {
        close(fd); /* the worker reads with the caller's own rights */
        return TCD_OK;
    }
    return walk_owned(&w, fd, dir, 0);
}

/* source: a job id (its output) or a directory. *dir: malloc'd, canonical. */
static int resolve_source(tcd_daemon *d, uid_t caller, const char *source, char **dir, int *by_job,
                          char *err, size_t errcap)
{
    const tcd_job *src;
    char *path = NULL;
    int r = TCD_OK;

    *by_job = tcd_job_id_valid(source);
    if (*by_job) {
        pthread_mutex_lock(&d->lock);
        if (!(src = tcd_job__find(d, source)))
            r = fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no job '%s'", source);
        else if (caller != 0 && caller != src->owner)
            r = fail(TCD_E_PERMISSION, err, errcap, "job '%s' belongs to uid %u", source,
                     (unsigned)src->owner);
        else if (src->kind != TCD_JOB_TRAIN)
            r = fail(TCD_E_BAD_REQUEST, err, errcap,
                     "job '%s' is a %s job; push takes a train job's output or a directory", source,
                     tcd_job__kind_name(src->kind));
        else if (src->state != TCD_JOB_SUCCEEDED)
            r = fail(TCD_E_BAD_REQUEST, err, errcap,
                     "job '%s' is %s; push takes the output of a succeeded train job", source,
                     tcd_job__state_name(src->state));
        else if (!(path = tcd_strdup_printf("%s/output", src->dir)))
            r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        pthread_mutex_unlock(&d->lock);
    } else if (!(path = realpath(source, NULL))) {
        r = fail(errno == EACCES ? TCD_E_PERMISSION : TCD_E_BAD_REQUEST, err, errcap, "'%s' %s",
                 source,
                 errno == ENOENT    ? "does not exist"
                 : errno == ENOTDIR ? "is not a directory"
                                    : strerror(errno));
    }
    if (r == TCD_OK)
        r = tcd_job__push_dir_check(path, caller, *by_job, err, errcap);
    if (r != TCD_OK) {
        free(path);
        return r;
    }
    *dir = path;
    return TCD_OK;
}

int tcd_jobs_create_push(tcd_daemon *d, uid_t owner, const cJSON *push, const char *name,
                         double timeout_s, cJSON **out, char *err, size_t errcap)
{
    static const char *const keys[] = {"repo",  "repo_type", "branch", "private",
                                       "force", "message",   "when"};
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(push, "source");
    int rollback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(push, "rollback"));
    cJSON *obj = NULL, *v;
    char *dir = NULL, why[512];
    size_t i;
    int r, by_job;

    if (!rollback && !cJSON_IsString(source))
        return fail(TCD_E_BAD_REQUEST, err, errcap, "a push job needs a source");
    if (!rollback &&
        (r = resolve_source(d, owner, source->valuestring, &dir, &by_job, why, sizeof(why))) < 0)
        return fail(r, err, errcap, "source: %s", why);
    /* the job's push object, in the order of docs/api.md; a rollback has no source */
    if (!(obj = cJSON_CreateObject()) ||
        (!rollback && (!cJSON_AddStringToObject(obj, "source", source->valuestring) ||
                       !cJSON_AddStringToObject(obj, "dir", dir))) ||
        (rollback && !cJSON_AddTrueToObject(obj, "rollback"))) {
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        goto out;
    }
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(push, keys[i]);
        if (!(v = x ? cJSON_Duplicate(x, 1) : cJSON_CreateNull()) ||
            !cJSON_AddItemToObject(obj, keys[i], v)) {
            cJSON_Delete(v);
            r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
            goto out;
        }
    }
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "when"))) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "when");
        if (!cJSON_AddStringToObject(obj, "when", "always")) {
            r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
            goto out;
        }
    }
    if (!cJSON_AddFalseToObject(obj, "auto")) {
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
        goto out;
    }
    r = create_transfer(d, owner, TCD_JOB_PUSH, obj, name, timeout_s, out, err, errcap);
out:
    cJSON_Delete(obj);
    free(dir);
    return r;
}

/* ---- push jobs queued by train jobs -------------------------------------------------------- */

/* A string of the spec of train job j (section sec, key key), or NULL. */
static const char *spec_str(const tcd_job *j, const char *sec, const char *key)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j->spec, sec), key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * Test hook (tests/push_daemon): with TCD_TEST_CRASH=NAME in its environment, tcd kills itself
 * with SIGKILL, as a crash or a power cut would, at the point of that name: "before-auto-push"
 * (a train job's final state and its push job's id are saved, the push job does not exist yet)
 * or "after-auto-push" (the push job is created, the train job's push_pending not cleared yet).
 */
static void test_crash_point(const char *name)
{
    const char *v = getenv("TCD_TEST_CRASH");

    if (v && !strcmp(v, name)) {
        tcd_log(TCD_LOG_WARNING, "TCD_TEST_CRASH=%s: killing tcd here", name);
        kill(getpid(), SIGKILL);
    }
}

/*
 * Train job j is about to be saved as succeeded: when its spec has push.repo and push.when is
 * not "never", choose its push job's id (saved with the final state, created right after by
 * tcd_job__queue_push).
 */
static void plan_push(tcd_daemon *d, tcd_job *j)
{
    const char *repo = spec_str(j, "push", "repo"), *when = spec_str(j, "push", "when");

    j->push_job[0] = '\0';
    j->push_pending = 0;
    if (!repo)
        return;
    if (!when)
        when = "always";
    if (!strcmp(when, "never")) {
        tcd_job__log(d, j, "info", "push.when is 'never': no push job for %s", repo);
        return;
    }
    if (strcmp(when, "always") && strcmp(when, "improved")) {
        tcd_job__log(d, j, "warn",
                     "push.when '%.64s' is not always, improved or never; no push job", when);
        return;
    }
    if (new_id(j->push_job) < 0) {
        j->push_job[0] = '\0';
        tcd_log(TCD_LOG_ERR, "job %s: cannot make a job id for its push: %s", j->id,
                strerror(errno));
        tcd_job__log(d, j, "error", "cannot queue the push to %s: no job id (%s)", repo,
                     strerror(errno));
        return;
    }
    j->push_pending = 1;
    tcd_job__log(d, j, "info", "the output goes to %s, branch %s (push.when %s): push job %s", repo,
                 spec_str(j, "push", "branch") ? spec_str(j, "push", "branch") : "main", when,
                 j->push_job);
}

/* The push member of train job j's push job. NULL on OOM. */
static cJSON *auto_push_object(const tcd_job *j)
{
    const char *branch = spec_str(j, "push", "branch"), *priv = spec_str(j, "push", "private");
    const char *msg = spec_str(j, "push", "message"), *when = spec_str(j, "push", "when");
    cJSON *o = cJSON_CreateObject();
    char *dir = tcd_strdup_printf("%s/output", j->dir);
    int ok = o && dir;

    ok = ok && cJSON_AddStringToObject(o, "source", j->id);
    ok = ok && cJSON_AddStringToObject(o, "dir", dir);
    ok = ok && cJSON_AddStringToObject(o, "repo", spec_str(j, "push", "repo"));
    ok = ok && cJSON_AddStringToObject(o, "repo_type", "model");
    ok = ok && cJSON_AddStringToObject(o, "branch", branch ? branch : "main");
    ok = ok && cJSON_AddBoolToObject(o, "private",
                                     priv && (!strcmp(priv, "true") || !strcmp(priv, "yes")));
    ok = ok && cJSON_AddFalseToObject(o, "force");
    ok = ok && (msg ? cJSON_AddStringToObject(o, "message", msg) != NULL
                    : cJSON_AddNullToObject(o, "message") != NULL);
    ok = ok && cJSON_AddStringToObject(o, "when", when ? when : "always");
    ok = ok && cJSON_AddTrueToObject(o, "auto");
    free(dir);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void tcd_job__queue_push(tcd_daemon *d, tcd_job *j)
{
    cJSON *x = NULL;
    char err[512];
    int r;

    if (!j->push_pending)
        return;
    if (tcd_job__find(d, j->push_job)) {
        tcd_log(TCD_LOG_INFO, "job %s: its push job %s exists already", j->id, j->push_job);
    } else if (!spec_str(j, "push", "repo")) {
        tcd_log(TCD_LOG_ERR, "job %s: cannot queue its push job: the spec has no push.repo", j->id);
        j->push_job[0] = '\0';
    } else if (!(x = auto_push_object(j))) {
        tcd_log(TCD_LOG_ERR, "job %s: cannot queue its push job: out of memory", j->id);
        j->push_job[0] = '\0';
    } else if ((r = transfer_publish(d, j->push_job, j->owner, TCD_JOB_PUSH, x, NULL, 0, NULL, err,
                                     sizeof(err))) < 0) {
        tcd_log(TCD_LOG_ERR, "job %s: cannot queue its push job %s: %s", j->id, j->push_job, err);
        j->push_job[0] = '\0';
    } else {
        tcd_log(TCD_LOG_INFO, "job %s: queued its push job %s", j->id, j->push_job);
        test_crash_point("after-auto-push");
    }
    cJSON_Delete(x);
    j->push_pending = 0;
    tcd_job__save(d, j);
}

/* ---- list, get, cancel, delete ------------------------------------------------------------ */

int tcd_jobs_list(tcd_daemon *d, const char *state, int limit, cJSON **out, char *err,
                  size_t errcap)
{
    cJSON *o, *arr;
    size_t i;
    int want = -1, n = 0;

    if (state && (want = state_from_name(state)) < 0)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "unknown state '%s'", state);
    if (limit < 1 || limit > 1000)
        return fail(TCD_E_BAD_REQUEST, err, errcap, "limit must be in 1..1000");
    if (!(o = cJSON_CreateObject()) || !(arr = cJSON_AddArrayToObject(o, "jobs"))) {
        cJSON_Delete(o);
        return fail(TCD_E_INTERNAL, err, errcap, "out of memory");
    }
    pthread_mutex_lock(&d->lock);
    for (i = d->n_jobs; i-- > 0 && n < limit;) {
        tcd_job *j = d->jobs[i];
        if (want >= 0 && (int)j->state != want)
            continue;
        cJSON_AddItemToArray(arr, job_json(j, 0));
        n++;
    }
    pthread_mutex_unlock(&d->lock);
    *out = o;
    return TCD_OK;
}

int tcd_job_get(tcd_daemon *d, const char *id, cJSON **out, char *err, size_t errcap)
{
    tcd_job *j;
    cJSON *o = NULL;

    pthread_mutex_lock(&d->lock);
    if ((j = tcd_job__find(d, id)))
        o = job_json(j, 0);
    pthread_mutex_unlock(&d->lock);
    if (!j)
        return fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no job '%s'", id);
    if (!o)
        return fail(TCD_E_INTERNAL, err, errcap, "out of memory");
    *out = o;
    return TCD_OK;
}

static int may_touch(const tcd_job *j, uid_t caller, char *err, size_t errcap)
{
    if (caller != 0 && caller != j->owner)
        return fail(TCD_E_PERMISSION, err, errcap, "job '%s' belongs to uid %u", j->id,
                    (unsigned)j->owner);
    return TCD_OK;
}

int tcd_job_cancel(tcd_daemon *d, const char *id, uid_t caller, cJSON **out, char *err,
                   size_t errcap)
{
    char reason[64];
    tcd_job *j;
    int r = TCD_OK;

    pthread_mutex_lock(&d->lock);
    if (!(j = tcd_job__find(d, id))) {
        r = fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no job '%s'", id);
        goto out;
    }
    if ((r = may_touch(j, caller, err, errcap)) < 0)
        goto out;
    if (tcd_job__final(j->state)) {
        r = fail(TCD_E_CONFLICT, err, errcap, "job '%s' is already %s", id,
                 tcd_job__state_name(j->state));
        goto out;
    }
    snprintf(reason, sizeof(reason), "cancelled by uid %u", (unsigned)caller);
    if (j->state == TCD_JOB_QUEUED) {
        tcd_job__finish(d, j, TCD_JOB_CANCELLED, reason);
        tcd_log(TCD_LOG_INFO, "job %s %s", j->id, reason);
    } else if (j->pid > 0 && j->stop != TCD_STOP_CANCEL) {
        j->stop = TCD_STOP_CANCEL;
        j->cancel_uid = caller;
        kill(-j->pid, SIGTERM);
        j->kill_at = tcd_mono() + d->cfg.limits.cancel_grace_s;
        tcd_job__log(d, j, "info", "cancel requested by uid %u; stopping the worker",
                     (unsigned)caller);
        tcd_log(TCD_LOG_INFO, "job %s: cancel requested by uid %u", j->id, (unsigned)caller);
        tcd_job__wake(d);
    } else if (j->pid <= 0) {
        r = fail(TCD_E_UNAVAILABLE, err, errcap, "the daemon is shutting down");
        goto out;
    }
    if (!(*out = job_json(j, 0)))
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
out:
    pthread_mutex_unlock(&d->lock);
    return r;
}

/* A queued or running push job whose source is job id, or NULL. */
static const tcd_job *pushing_from(const tcd_daemon *d, const char *id)
{
    size_t i;

    for (i = 0; i < d->n_jobs; i++) {
        const tcd_job *p = d->jobs[i];
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(p->xfer, "source");
        if (p->kind == TCD_JOB_PUSH && !tcd_job__final(p->state) && cJSON_IsString(src) &&
            !strcmp(src->valuestring, id))
            return p;
    }
    return NULL;
}

int tcd_job_delete(tcd_daemon *d, const char *id, uid_t caller, char *err, size_t errcap)
{
    const tcd_job *pusher;
    char *trash = NULL;
    tcd_job *j;
    int r = TCD_OK;

    pthread_mutex_lock(&d->lock);
    if (!(j = tcd_job__find(d, id))) {
        r = fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no job '%s'", id);
        goto out;
    }
    if ((r = may_touch(j, caller, err, errcap)) < 0)
        goto out;
    if (!tcd_job__final(j->state)) {
        r = fail(TCD_E_CONFLICT, err, errcap, "job '%s' is %s; cancel it first", id,
                 tcd_job__state_name(j->state));
        goto out;
    }
    if ((pusher = pushing_from(d, id))) {
        r = fail(TCD_E_CONFLICT, err, errcap, "job '%s' is the source of push job '%s' (%s)", id,
                 pusher->id, tcd_job__state_name(pusher->state));
        goto out;
    }
    /* Move it out of jobs/ at once (atomic), remove the files after unlocking. */
    if (!(trash = tcd_strdup_printf("%s/tmp/deleted-%s", d->cfg.state_dir, id)) ||
        (tcd_rm_rf(trash), rename(j->dir, trash) < 0)) {
        r = fail(TCD_E_INTERNAL, err, errcap, "cannot remove %s: %s", j->dir, strerror(errno));
        tcd_log(TCD_LOG_ERR, "%s", err);
        goto out;
    }
    job_remove(d, j);
    tcd_job__free(j);
    pthread_cond_broadcast(&d->events);
out:
    pthread_mutex_unlock(&d->lock);
    if (r == TCD_OK && trash) {
        int e = tcd_rm_rf(trash);
        if (e < 0)
            tcd_log(TCD_LOG_WARNING, "cannot remove %s: %s, ignoring", trash, strerror(-e));
        else
            tcd_log(TCD_LOG_INFO, "job %s deleted by uid %u", id, (unsigned)caller);
    }
    free(trash);
    return r;
}

/* ---- health, metrics ---------------------------------------------------------------------- */

static void count_states(tcd_daemon *d, size_t counts[TCD_JOB_STATE_MAX])
{
    size_t i;

    memset(counts, 0, sizeof(size_t) * TCD_JOB_STATE_MAX);
    for (i = 0; i < d->n_jobs; i++)
        counts[d->jobs[i]->state]++;
}

cJSON *tcd_health(tcd_daemon *d)
{
    size_t c[TCD_JOB_STATE_MAX];
    cJSON *o = cJSON_CreateObject(), *jobs;
    int down;

    pthread_mutex_lock(&d->lock);
    count_states(d, c);
    down = d->shutting_down;
    pthread_mutex_unlock(&d->lock);
    cJSON_AddStringToObject(o, "status", down ? "shutting_down" : "ok");
    cJSON_AddNumberToObject(o, "uptime_s", ms(tcd_now() - d->started_at));
    jobs = cJSON_AddObjectToObject(o, "jobs");
    cJSON_AddNumberToObject(jobs, "queued", (double)c[TCD_JOB_QUEUED]);
    cJSON_AddNumberToObject(jobs, "running", (double)c[TCD_JOB_RUNNING]);
    return o;
}

void tcd_count_request(tcd_daemon *d, int http_status)
{
    int k = http_status / 100;

    if (k < 1 || k > 5)
        return;
    pthread_mutex_lock(&d->lock);
    d->http_requests_total[k]++;
    pthread_mutex_unlock(&d->lock);
}

/* Succeeded keyed train jobs by owner, schedule key, then finish time. */
static int by_schedule(const void *a, const void *b)
{
    const tcd_job *x = *(const tcd_job *const *)a, *y = *(const tcd_job *const *)b;
    int c;

    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    if ((c = strcmp(x->schedule_key, y->schedule_key)) != 0)
        return c;
    return x->finished < y->finished ? -1 : x->finished > y->finished;
}

/*
 * With d->lock held: tcd_schedule_last_success_timestamp{key,uid}, the time the last succeeded
 * train job of each schedule key and owner finished, for dead-man alerts (a schedule that has
 * not succeeded for too long). Malloc'd text; NULL on OOM.
 */
static char *schedule_metrics(const tcd_daemon *d)
{
    const tcd_job **v = malloc((d->n_jobs + 1) * sizeof(*v));
    size_t n = 0, i, cap, len = 0;
    char *buf;

    if (!v)
        return NULL;
    for (i = 0; i < d->n_jobs; i++)
        if (d->jobs[i]->kind == TCD_JOB_TRAIN && d->jobs[i]->state == TCD_JOB_SUCCEEDED &&
            d->jobs[i]->schedule_key)
            v[n++] = d->jobs[i];
    qsort(v, n, sizeof(*v), by_schedule);
    cap = 256 + n * (2 * TCD_MAX_KEY + 96); /* a key escapes to at most twice its length */
    if (!(buf = malloc(cap))) {
        free(v);
        return NULL;
    }
    len = (size_t)snprintf(buf, cap,
                           "# HELP tcd_schedule_last_success_timestamp When the last succeeded "
                           "train job of a schedule key finished (seconds since the epoch).\n"
                           "# TYPE tcd_schedule_last_success_timestamp gauge\n");
    for (i = 0; i < n && len < cap; i++) {
        const char *k;
        if (i + 1 < n && v[i + 1]->owner == v[i]->owner &&
            !strcmp(v[i + 1]->schedule_key, v[i]->schedule_key))
            continue; /* not the group's last */
        len += (size_t)snprintf(buf + len, cap - len, "tcd_schedule_last_success_timestamp{key=\"");
        for (k = v[i]->schedule_key; *k && len + 2 < cap; k++) {
            if (*k == '\\' || *k == '"')
                buf[len++] = '\\';
            buf[len++] = *k;
        }
        if (len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "\",uid=\"%u\"} %.3f\n",
                                    (unsigned)v[i]->owner, ms(v[i]->finished));
    }
    free(v);
    if (len >= cap) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *tcd_metrics_text(tcd_daemon *d)
{
    size_t c[TCD_JOB_STATE_MAX], cap = 4096, len = 0;
    uint64_t created, http[6];
    char *buf = malloc(cap), *sched, *all;
    int i;

    if (!buf)
        return NULL;
    pthread_mutex_lock(&d->lock);
    count_states(d, c);
    created = d->jobs_created_total;
    memcpy(http, d->http_requests_total, sizeof(http));
    sched = schedule_metrics(d);
    pthread_mutex_unlock(&d->lock);
    if (!sched) {
        free(buf);
        return NULL;
    }
#define PUT(...) len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, __VA_ARGS__)
    PUT("# HELP tcd_jobs Jobs known to the daemon, by state.\n# TYPE tcd_jobs gauge\n");
    for (i = 0; i < TCD_JOB_STATE_MAX; i++)
        PUT("tcd_jobs{state=\"%s\"} %zu\n", state_names[i], c[i]);
    PUT("# HELP tcd_jobs_created_total Jobs accepted since the daemon started.\n"
        "# TYPE tcd_jobs_created_total counter\ntcd_jobs_created_total %llu\n",
        (unsigned long long)created);
    PUT("# HELP tcd_http_requests_total HTTP requests served, by status class.\n"
        "# TYPE tcd_http_requests_total counter\n");
    for (i = 1; i <= 5; i++)
        PUT("tcd_http_requests_total{code=\"%dxx\"} %llu\n", i, (unsigned long long)http[i]);
    PUT("# HELP tcd_uptime_seconds Seconds since the daemon started.\n"
        "# TYPE tcd_uptime_seconds gauge\ntcd_uptime_seconds %.3f\n",
        tcd_now() - d->started_at);
#undef PUT
    all = len < cap ? tcd_strdup_printf("%s%s", buf, sched) : NULL;
    free(buf);
    free(sched);
    return all;
}
