/*
 * schedule.c - schedules inside tcd (schedule.h): definitions, STATE/schedules.json, firing
 * from the main loop, history limits, and the API side.
 *
 * STATE/schedules.json (temp + fsync + rename on every change):
 *   {"version":1,
 *    "added":[{definition..., "owner_uid":N, "created":T}],        schedules added by the API
 *    "state":{"NAME":{"last_slot":T, "last_run":T, "last_job":ID, "last_error":S,
 *                     "last_success":T, "since":T}}}                  every schedule
 * since: when tcd first saw the schedule; slots before it are not the schedule's.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"
#include "schedule.h"

/* The main loop looks at the wall clock at least this often (clock jumps, suspend). */
#define TICK_MAX_S 60.0

typedef struct sched {
    char *name, *cron_expr, *spec, *tz_name, *concurrency;
    tcd_cron cron;
    tcd_tz *tz;
    int persistent, suspend, if_changed, from_config;
    double delay_max; /* randomized_delay, seconds */
    int keep_succeeded, keep_failed;
    uid_t owner;
    double created;
    /* state (persisted) */
    double last_slot; /* the slot fired last, 0 = none */
    double last_run;  /* when its last job was created (slot or run-now), 0 = none */
    char last_job[18];
    char *last_error; /* creating the last job failed: why; NULL */
    double last_success;
    double since;
    /* runtime */
    double next_slot; /* 0: never */
    double fire_at;   /* next_slot + this slot's random delay */
} sched;

struct tcd_schedules {
    sched **v;
    size_t n;
    char *path;        /* STATE/schedules.json */
    double now_offset; /* TCD_TEST_NOW_OFFSET */
    int gc_pending;
    int firing;           /* fire threads running (d->lock) */
    pthread_cond_t fired; /* signalled when firing drops */
};

static int fail(int status, char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int status, char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    return status;
}

/* "2026-03-29T01:00:00Z" of Unix seconds t, for logs. */
static const char *fmt_utc(char buf[32], double t)
{
    int64_t days = (int64_t)floor(t / 86400), y;
    int m, d, secs = (int)(floor(t) - (double)days * 86400);

    tcd_civil_from_days(days, &y, &m, &d);
    snprintf(buf, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, secs / 3600,
             secs % 3600 / 60, secs % 60);
    return buf;
}

static double sched_now(const struct tcd_schedules *S)
{
    return tcd_now() + (S ? S->now_offset : 0);
}

static void sched_free(sched *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->cron_expr);
    free(s->spec);
    free(s->tz_name);
    free(s->concurrency);
    free(s->last_error);
    tcd_tz_free(s->tz);
    free(s);
}

int tcd_schedule_name_valid(const char *s)
{
    size_t n = s ? strnlen(s, TCD_SCHEDULE_MAX_NAME + 1) : 0;
    const char *c;

    if (n == 0 || n > TCD_SCHEDULE_MAX_NAME || s[0] == '.' || s[0] == '-')
        return 0;
    for (c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.' || *c == '-'))
            return 0;
    return 1;
}

/* ---- definitions -------------------------------------------------------------------------- */

static const char *const def_keys[] = {
    "name",           "cron",        "spec",    "time_zone",   "persistent", "randomized_delay",
    "keep_succeeded", "keep_failed", "suspend", "concurrency", "if_changed", NULL};

/* A string field (strings only): NULL when absent; -1 when of another type. */
static int get_str(const cJSON *def, const char *k, const char **out, char *err, size_t errcap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, k);

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return fail(-1, err, errcap, "%s: must be a string", k);
    *out = v->valuestring;
    return 0;
}

static int get_bool(const cJSON *def, const char *k, int dflt, int *out, char *err, size_t errcap)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                "off", "0"};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, k);
    size_t i;

    *out = dflt;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 0;
    }
    for (i = 0; cJSON_IsString(v) && i < 4; i++) {
        if (!strcasecmp(v->valuestring, yes[i]) || !strcasecmp(v->valuestring, no[i])) {
            *out = !strcasecmp(v->valuestring, yes[i]);
            return 0;
        }
    }
    return fail(-1, err, errcap, "%s: must be true or false", k);
}

static int get_int(const cJSON *def, const char *k, int dflt, int hi, int *out, char *err,
                   size_t errcap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, k);
    double x = NAN;
    char *end;

    *out = dflt;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsNumber(v))
        x = v->valuedouble;
    else if (cJSON_IsString(v) && v->valuestring[0] >= '0' && v->valuestring[0] <= '9')
        x = strtod(v->valuestring, &end), x = *end ? NAN : x;
    if (!(x >= 0 && x <= hi && x == floor(x)))
        return fail(-1, err, errcap, "%s: must be an integer from 0 to %d", k, hi);
    *out = (int)x;
    return 0;
}

/* "90", "30s", "15m", "2h", "1d" (decimals allowed) or a number of seconds. */
static int get_duration(const cJSON *def, const char *k, double *out, char *err, size_t errcap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, k);
    double x = NAN, mul = 1;
    char *end;

    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsNumber(v)) {
        x = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring[0] >= '0' && v->valuestring[0] <= '9') {
        x = strtod(v->valuestring, &end);
        if (*end == 's' || *end == 'm' || *end == 'h' || *end == 'd')
            mul = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400, end++;
        x = *end ? NAN : x * mul;
    }
    if (!(x >= 0 && x <= TCD_SCHEDULE_MAX_DELAY_S))
        return fail(-1, err, errcap,
                    "%s: must be a duration such as 90, 30s, 15m, 2h or 1d, at most 7d", k);
    *out = x;
    return 0;
}

/*
 * Open and read a spec file for owner (by: -1 skips the owner check; 0 and tcd's uid may read
 * any): a regular file of at most max bytes. *out malloc'd, NUL-terminated.
 */
static int read_spec(const char *path, long by, size_t max, char **out, char *err, size_t errcap)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
        return fail(-1, err, errcap, "spec: cannot read '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(-1, err, errcap, "spec: '%s' is not a regular file", path);
    }
    if (by > 0 && (uid_t)by != geteuid() && st.st_uid != (uid_t)by) {
        close(fd);
        return fail(-1, err, errcap, "spec: '%s' does not belong to uid %ld", path, by);
    }
    if ((size_t)st.st_size > max || !(buf = malloc((size_t)st.st_size + 1))) {
        close(fd);
        return fail(-1, err, errcap, "spec: '%s' is larger than %zu bytes", path, max);
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            free(buf);
            return fail(-1, err, errcap, "spec: cannot read '%s': %s", path,
                        r < 0 ? strerror(errno) : "it shrank");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    if (got == 0 || strlen(buf) != got) {
        free(buf);
        return fail(-1, err, errcap, "spec: '%s' is empty or has a NUL byte", path);
    }
    *out = buf;
    return 0;
}

/* Parse def into a new schedule (definition fields only). by: see tcd_schedule_validate. */
static int def_parse(const cJSON *def, long by, int from_config, sched **out, char *err,
                     size_t errcap)
{
    const char *name, *cron, *spec, *tz, *conc;
    const cJSON *it;
    sched *s = NULL;
    char *text = NULL;
    size_t i;

    if (!cJSON_IsObject(def))
        return fail(-1, err, errcap, "a schedule must be an object");
    cJSON_ArrayForEach(it, def)
    {
        for (i = 0; def_keys[i] && strcmp(def_keys[i], it->string); i++)
            ;
        if (!def_keys[i] && !(from_config && !strcmp(it->string, "_line")))
            return fail(-1, err, errcap, "unknown field '%.64s'", it->string);
    }
    if (get_str(def, "name", &name, err, errcap) < 0 || get_str(def, "cron", &cron, err, errcap) ||
        get_str(def, "spec", &spec, err, errcap) || get_str(def, "time_zone", &tz, err, errcap) ||
        get_str(def, "concurrency", &conc, err, errcap))
        return -1;
    if (!name || !tcd_schedule_name_valid(name))
        return fail(-1, err, errcap,
                    "name: must be 1 to %d letters, digits, '_', '.' or '-' (not first)",
                    TCD_SCHEDULE_MAX_NAME);
    if (!cron)
        return fail(-1, err, errcap,
                    "cron: missing (a 5-field cron expression such as "
                    "\"0 3 * * *\")");
    if (!spec)
        return fail(-1, err, errcap, "spec: missing (the absolute path of a train spec)");
    if (spec[0] != '/' || strlen(spec) > TCD_SCHEDULE_MAX_PATH)
        return fail(-1, err, errcap, "spec: '%.128s' is not an absolute path of at most %d bytes",
                    spec, TCD_SCHEDULE_MAX_PATH);
    if (conc && strcmp(conc, "allow") && strcmp(conc, "forbid") && strcmp(conc, "replace"))
        return fail(-1, err, errcap, "concurrency: '%.32s' is not allow, forbid or replace", conc);
    if (!(s = calloc(1, sizeof(*s))))
        return fail(-1, err, errcap, "out of memory");
    if (tcd_cron_parse(&s->cron, cron, err, errcap) < 0 ||
        tcd_tz_load(&s->tz, tz ? tz : "UTC", err, errcap) < 0)
        goto bad;
    if (get_bool(def, "persistent", 0, &s->persistent, err, errcap) < 0 ||
        get_bool(def, "suspend", 0, &s->suspend, err, errcap) < 0 ||
        get_bool(def, "if_changed", 0, &s->if_changed, err, errcap) < 0 ||
        get_duration(def, "randomized_delay", &s->delay_max, err, errcap) < 0 ||
        get_int(def, "keep_succeeded", 3, TCD_SCHEDULE_MAX_KEEP, &s->keep_succeeded, err, errcap) <
            0 ||
        get_int(def, "keep_failed", 1, TCD_SCHEDULE_MAX_KEEP, &s->keep_failed, err, errcap) < 0)
        goto bad;
    if (by >= 0 && read_spec(spec, by, 16 * 1024 * 1024, &text, err, errcap) < 0)
        goto bad;
    free(text);
    s->name = strdup(name);
    s->cron_expr = strdup(cron);
    s->spec = strdup(spec);
    s->tz_name = strdup(tz ? tz : "UTC");
    s->concurrency = strdup(conc ? conc : "forbid");
    if (!s->name || !s->cron_expr || !s->spec || !s->tz_name || !s->concurrency) {
        fail(-1, err, errcap, "out of memory");
        goto bad;
    }
    *out = s;
    return 0;
bad:
    if (!strncmp(err, "unknown time zone", 17) || !strncmp(err, "time zone", 9)) {
        char why[256];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errcap, "time_zone: %s", why);
    }
    sched_free(s);
    return -1;
}

int tcd_schedule_validate(const cJSON *def, long by, char *err, size_t errcap)
{
    sched *s = NULL;
    int r = def_parse(def, by, 1, &s, err, errcap);

    sched_free(s);
    return r;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void add_time(cJSON *o, const char *k, double t)
{
    if (t > 0)
        cJSON_AddNumberToObject(o, k, round(t * 1000.0) / 1000.0);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

/* The definition, as stored in schedules.json (disk) or shown. */
static void def_json(cJSON *o, const sched *s)
{
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "cron", s->cron_expr);
    cJSON_AddStringToObject(o, "time_zone", s->tz_name);
    cJSON_AddStringToObject(o, "spec", s->spec);
    cJSON_AddBoolToObject(o, "persistent", s->persistent);
    cJSON_AddNumberToObject(o, "randomized_delay", s->delay_max);
    cJSON_AddNumberToObject(o, "keep_succeeded", s->keep_succeeded);
    cJSON_AddNumberToObject(o, "keep_failed", s->keep_failed);
    cJSON_AddBoolToObject(o, "suspend", s->suspend);
    cJSON_AddStringToObject(o, "concurrency", s->concurrency);
    cJSON_AddBoolToObject(o, "if_changed", s->if_changed);
}

/* The schedule object of docs/api.md; d->lock held. NULL on OOM. */
static cJSON *sched_json(tcd_daemon *d, const sched *s)
{
    cJSON *o = cJSON_CreateObject(), *last;
    const tcd_job *j = s->last_job[0] ? tcd_job__find(d, s->last_job) : NULL;

    if (!o)
        return NULL;
    def_json(o, s);
    cJSON_AddStringToObject(o, "source", s->from_config ? "config" : "api");
    cJSON_AddNumberToObject(o, "owner_uid", (double)s->owner);
    add_time(o, "next_run", s->suspend ? 0 : s->fire_at);
    if (s->last_run > 0 || s->last_error) {
        last = cJSON_AddObjectToObject(o, "last_run");
        add_time(last, "time", s->last_run);
        add_time(last, "slot", j ? j->slot : s->last_slot); /* run-now jobs have none */
        add_str(last, "job", s->last_job);
        add_str(last, "state",
                j                ? tcd_job__state_name(j->state)
                : s->last_job[0] ? "deleted"
                                 : NULL);
        add_str(last, "error", s->last_error);
    } else {
        cJSON_AddNullToObject(o, "last_run");
    }
    add_time(o, "last_success", s->last_success);
    return o;
}

/* ---- persistence -------------------------------------------------------------------------- */

/* Write STATE/schedules.json; d->lock held. 0 or -errno (logged). */
static int save(tcd_daemon *d)
{
    struct tcd_schedules *S = d->sched;
    cJSON *o = cJSON_CreateObject(), *added, *state, *x;
    char *text = NULL;
    size_t i;
    int r = -ENOMEM;

    cJSON_AddNumberToObject(o, "version", 1);
    added = cJSON_AddArrayToObject(o, "added");
    state = cJSON_AddObjectToObject(o, "state");
    if (!added || !state)
        goto out;
    for (i = 0; i < S->n; i++) {
        const sched *s = S->v[i];
        if (!s->from_config) {
            x = cJSON_CreateObject();
            cJSON_AddItemToArray(added, x);
            def_json(x, s);
            cJSON_AddNumberToObject(x, "owner_uid", (double)s->owner);
            add_time(x, "created", s->created);
        }
        x = cJSON_AddObjectToObject(state, s->name);
        add_time(x, "last_slot", s->last_slot);
        add_time(x, "last_run", s->last_run);
        add_str(x, "last_job", s->last_job);
        add_str(x, "last_error", s->last_error);
        add_time(x, "last_success", s->last_success);
        add_time(x, "since", s->since);
    }
    if ((text = cJSON_PrintUnformatted(o)))
        r = tcd_write_file_atomic(S->path, text, strlen(text), 0640);
out:
    if (r < 0)
        tcd_log(TCD_LOG_ERR, "cannot write %s: %s", S->path, strerror(-r));
    cJSON_free(text);
    cJSON_Delete(o);
    return r;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble > 0 ? v->valuedouble : 0;
}

static void state_take(sched *s, const cJSON *st)
{
    const cJSON *job = cJSON_GetObjectItemCaseSensitive(st, "last_job");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(st, "last_error");

    s->last_slot = num(st, "last_slot");
    s->last_run = num(st, "last_run");
    s->last_success = num(st, "last_success");
    s->since = num(st, "since");
    if (cJSON_IsString(job) && tcd_job_id_valid(job->valuestring))
        snprintf(s->last_job, sizeof(s->last_job), "%s", job->valuestring);
    if (cJSON_IsString(e))
        s->last_error = strndup(e->valuestring, 1024);
}

static sched *find(const struct tcd_schedules *S, const char *name)
{
    size_t i;

    for (i = 0; S && i < S->n; i++)
        if (!strcmp(S->v[i]->name, name))
            return S->v[i];
    return NULL;
}

static int append(struct tcd_schedules *S, sched *s)
{
    sched **nv;

    if (S->n >= TCD_MAX_SCHEDULES || !(nv = realloc(S->v, (S->n + 1) * sizeof(*nv))))
        return -1;
    S->v = nv;
    S->v[S->n++] = s;
    return 0;
}

/* ---- slots -------------------------------------------------------------------------------- */

static double random_delay(const sched *s)
{
    uint64_t r = 0;

    if (s->delay_max <= 0)
        return 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)(tcd_mono() * 1e9);
    return floor((double)(r >> 11) / 9007199254740992.0 * s->delay_max);
}

/* Plan the first slot strictly after `after`. */
static void plan_next(sched *s, double after)
{
    int64_t t;

    if (tcd_cron_next(&s->cron, s->tz, (int64_t)floor(after), &t) < 0) {
        s->next_slot = s->fire_at = 0;
        return;
    }
    s->next_slot = (double)t;
    s->fire_at = (double)t + random_delay(s);
}

/* The latest slot in (ref, now], 0 if none; looks back in growing windows to stay cheap. */
static double latest_missed(const sched *s, double ref, double now)
{
    static const double windows[] = {3600, 86400, 32 * 86400, 400 * 86400, 28 * 366 * 86400.0};
    size_t w;

    for (w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
        double from = fmax(ref, now - windows[w]), last = 0;
        int64_t t = (int64_t)floor(from);
        while (tcd_cron_next(&s->cron, s->tz, t, &t) == 0 && (double)t <= now)
            last = (double)t;
        if (last > 0 || from <= ref)
            return last;
    }
    return 0;
}

/*
 * At start: slots missed while tcd was down. A persistent schedule fires the latest one once
 * (now, plus its random delay); others skip them (since moves to now).
 */
static void plan_start(sched *s, double now)
{
    double ref = fmax(s->last_slot, s->since), missed;

    if (ref <= 0 || s->suspend) {
        s->since = s->since > 0 ? s->since : now;
        plan_next(s, fmax(now, s->last_slot));
        return;
    }
    missed = latest_missed(s, ref, now);
    if (missed > 0 && s->persistent) {
        char when[32];
        tcd_log(TCD_LOG_INFO,
                "schedule %s: the slot of %s was missed while tcd was down; "
                "running it now (persistent)",
                s->name, fmt_utc(when, missed));
        s->next_slot = missed;
        s->fire_at = now + random_delay(s);
        return;
    }
    if (missed > 0) {
        tcd_log(TCD_LOG_INFO, "schedule %s: skipping slots missed while tcd was down", s->name);
        s->since = now;
    }
    plan_next(s, fmax(now, s->last_slot)); /* never a slot fired already (a clock set back) */
}

/* ---- load and free ------------------------------------------------------------------------ */

static int load_config(tcd_daemon *d)
{
    struct tcd_schedules *S = d->sched;
    const cJSON *def;
    char err[512];

    cJSON_ArrayForEach(def, d->cfg.schedules)
    {
        sched *s = NULL;
        if (def_parse(def, -1, 1, &s, err, sizeof(err)) < 0) {
            tcd_log(TCD_LOG_ERR, "config schedule: %s", err);
            return -1;
        }
        s->from_config = 1;
        s->owner = geteuid();
        if (find(S, s->name) || append(S, s) < 0) {
            tcd_log(TCD_LOG_ERR,
                    "config schedule '%s': a second schedule of that name, or "
                    "more than %d schedules",
                    s->name, TCD_MAX_SCHEDULES);
            sched_free(s);
            return -1;
        }
    }
    return 0;
}

static void load_added(tcd_daemon *d, const cJSON *added)
{
    struct tcd_schedules *S = d->sched;
    const cJSON *it;
    char err[512];

    cJSON_ArrayForEach(it, added)
    {
        cJSON *def = cJSON_Duplicate(it, 1);
        sched *s = NULL;
        double owner = num(it, "owner_uid"), created = num(it, "created");
        cJSON_DeleteItemFromObjectCaseSensitive(def, "owner_uid");
        cJSON_DeleteItemFromObjectCaseSensitive(def, "created");
        if (def_parse(def, -1, 0, &s, err, sizeof(err)) < 0) {
            tcd_log(TCD_LOG_WARNING, "%s: an added schedule: %s, ignoring", S->path, err);
        } else if (find(S, s->name)) {
            tcd_log(TCD_LOG_WARNING,
                    "%s: the added schedule '%s' has the name of one in the "
                    "config file, ignoring",
                    S->path, s->name);
        } else {
            s->owner = (uid_t)owner;
            s->created = created;
            if (append(S, s) == 0)
                s = NULL;
        }
        sched_free(s);
        cJSON_Delete(def);
    }
}

int tcd_schedules_load(tcd_daemon *d)
{
    struct tcd_schedules *S = calloc(1, sizeof(*S));
    const char *off = getenv("TCD_TEST_NOW_OFFSET");
    char *text = NULL;
    cJSON *o = NULL;
    size_t i;
    int r;

    if (!S || !(S->path = tcd_strdup_printf("%s/schedules.json", d->cfg.state_dir))) {
        free(S);
        tcd_log(TCD_LOG_ERR, "out of memory");
        return -1;
    }
    pthread_cond_init(&S->fired, NULL);
    d->sched = S;
    if (off && *off) {
        S->now_offset = strtod(off, NULL);
        tcd_log(TCD_LOG_WARNING,
                "TCD_TEST_NOW_OFFSET=%s: schedules see a clock moved by %.0f s "
                "(for tests only)",
                off, S->now_offset);
    }
    if (load_config(d) < 0)
        return -1;
    r = tcd_read_file(S->path, TCD_SCHEDULE_MAX_FILE, &text, NULL);
    if (r < 0 && r != -ENOENT) {
        tcd_log(TCD_LOG_ERR, "cannot read %s: %s", S->path, strerror(-r));
        return -1;
    }
    if (text && (!(o = cJSON_Parse(text)) || !cJSON_IsObject(o))) {
        tcd_log(TCD_LOG_ERR, "%s is not valid JSON; move it away to start without it", S->path);
        free(text);
        return -1;
    }
    free(text);
    load_added(d, cJSON_GetObjectItemCaseSensitive(o, "added"));
    for (i = 0; i < S->n; i++) {
        sched *s = S->v[i];
        state_take(s, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "state"),
                                                       s->name));
        plan_start(s, sched_now(S));
    }
    cJSON_Delete(o);
    S->gc_pending = 1; /* history limits may have changed, jobs may have ended meanwhile */
    pthread_mutex_lock(&d->lock);
    r = S->n ? save(d) : 0;
    pthread_mutex_unlock(&d->lock);
    if (S->n)
        tcd_log(TCD_LOG_INFO, "%zu schedule(s)", S->n);
    return r < 0 ? -1 : 0;
}

void tcd_schedules_free(tcd_daemon *d)
{
    struct tcd_schedules *S = d->sched;
    size_t i;

    if (!S)
        return;
    /* fire threads still creating a job use d: wait for them (each ends within the spec
     * check's time limit) */
    pthread_mutex_lock(&d->lock);
    while (S->firing > 0)
        pthread_cond_wait(&S->fired, &d->lock);
    pthread_mutex_unlock(&d->lock);
    pthread_cond_destroy(&S->fired);
    for (i = 0; i < S->n; i++)
        sched_free(S->v[i]);
    free(S->v);
    free(S->path);
    free(S);
    d->sched = NULL;
}

/* ---- firing ------------------------------------------------------------------------------- */

/* Record the outcome of creating a job for schedule `name` (it may be gone); d->lock held. */
static void record(tcd_daemon *d, const char *name, const char *job, const char *error)
{
    sched *s = find(d->sched, name);

    if (!s)
        return;
    snprintf(s->last_job, sizeof(s->last_job), "%s", job ? job : "");
    free(s->last_error);
    s->last_error = error ? strndup(error, 1024) : NULL;
    save(d);
}

/* What a fired slot (or run-now) creates a job from: copied out of the schedule under d->lock. */
typedef struct due {
    char name[TCD_SCHEDULE_MAX_NAME + 1];
    char *spec;
    uid_t owner;
    double slot; /* 0: run now */
    int if_changed;
    tcd_concurrency concurrency;
    tcd_daemon *d; /* for the fire thread */
} due;

/*
 * Create the job of a slot (slot 0: run now) outside d->lock: read the spec as the schedule's
 * owner, then the API's path (tcd_jobs_create_scheduled). A slot's job gets the schedule's
 * concurrency and if_changed with the schedule key "schedule:NAME", and the idempotency key
 * "schedule:NAME@SLOT", so a slot makes one job however often it is fired; run-now makes a job
 * whatever runs (as `kubectl create job --from=cronjob/...`). *out (may be NULL): the job
 * object, or {"skipped": {...}} when the schedule's policy made none.
 */
static int create_job(tcd_daemon *d, const due *u, cJSON **out, char *err, size_t errcap)
{
    char *yaml = NULL, key[TCD_SCHEDULE_MAX_NAME + 16], idem[TCD_SCHEDULE_MAX_NAME + 64];
    char when[32];
    size_t max;
    cJSON *job = NULL;
    const cJSON *id, *skipped;
    tcd_train_opts o;
    tcd_create_outcome how = TCD_CREATE_NEW;
    int r;

    memset(&o, 0, sizeof(o));
    snprintf(key, sizeof(key), "schedule:%s", u->name);
    o.name = u->name;
    o.schedule = u->name;
    o.slot = u->slot;
    o.schedule_key = key;
    if (u->slot > 0) {
        snprintf(idem, sizeof(idem), "%s@%s", key, fmt_utc(when, u->slot));
        o.idempotency_key = idem;
        o.if_changed = u->if_changed;
        o.concurrency = u->concurrency;
    }
    pthread_mutex_lock(&d->lock);
    max = d->cfg.limits.max_spec;
    pthread_mutex_unlock(&d->lock);
    if (read_spec(u->spec, (long)u->owner, max, &yaml, err, errcap) < 0)
        r = TCD_E_BAD_REQUEST;
    else
        r = tcd_jobs_create_scheduled(d, u->owner, yaml, &o, &job, &how, err, errcap);
    free(yaml);
    id = cJSON_GetObjectItemCaseSensitive(job, "id");
    skipped = cJSON_GetObjectItemCaseSensitive(job, "skipped");
    if (r == TCD_OK && how == TCD_CREATE_SKIPPED) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(skipped, "message");
        snprintf(err, errcap, "no job: %s",
                 cJSON_IsString(msg) ? msg->valuestring : "skipped by the schedule's policy");
        pthread_mutex_lock(&d->lock);
        record(d, u->name, NULL, err);
        pthread_mutex_unlock(&d->lock);
        tcd_log(TCD_LOG_NOTICE, "schedule %s: %s", u->name, err);
    } else {
        pthread_mutex_lock(&d->lock);
        record(d, u->name, r == TCD_OK && cJSON_IsString(id) ? id->valuestring : NULL,
               r == TCD_OK ? NULL : err);
        pthread_mutex_unlock(&d->lock);
    }
    if (r == TCD_OK && how == TCD_CREATE_NEW && cJSON_IsString(id)) {
        tcd_job *j;
        pthread_mutex_lock(&d->lock);
        if ((j = tcd_job__find(d, id->valuestring))) {
            if (u->slot > 0)
                tcd_job__log(d, j, "info", "created by schedule %s for the slot of %s", u->name,
                             fmt_utc(when, u->slot));
            else
                tcd_job__log(d, j, "info", "created by schedule %s (run now)", u->name);
        }
        pthread_mutex_unlock(&d->lock);
        tcd_log(TCD_LOG_INFO, "schedule %s: job %s created%s", u->name, id->valuestring,
                u->slot > 0 ? "" : " (run now)");
    } else if (r == TCD_OK && how == TCD_CREATE_EXISTING && cJSON_IsString(id)) {
        tcd_log(TCD_LOG_INFO, "schedule %s: the slot's job %s exists; no new job", u->name,
                id->valuestring);
    } else if (r != TCD_OK) {
        tcd_log(TCD_LOG_WARNING, "schedule %s: no job created: %s", u->name, err);
    }
    if (out && r == TCD_OK)
        *out = job;
    else
        cJSON_Delete(job);
    return r;
}

/* A fired slot's job, on its own thread: the spec check (with if_changed, a Hub query of up
 * to TCD_REVISIONS_TIMEOUT_S) must not hold up the main loop. */
static void *fire_thread(void *arg)
{
    due *u = arg;
    tcd_daemon *d = u->d;
    char err[512];

    create_job(d, u, NULL, err, sizeof(err));
    free(u->spec);
    free(u);
    tcd_job__wake(d); /* before the count drops: after it, tcd may close the wake fd */
    pthread_mutex_lock(&d->lock);
    if (--d->sched->firing == 0)
        pthread_cond_broadcast(&d->sched->fired);
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* Start the fire thread of u (consumed); on failure create the job on this thread. */
static void fire(tcd_daemon *d, due *u)
{
    pthread_attr_t attr;
    pthread_t t;
    due *c = malloc(sizeof(*c));
    char err[512];
    int ok = 0;

    if (c) {
        *c = *u;
        c->d = d;
        pthread_mutex_lock(&d->lock);
        d->sched->firing++;
        pthread_mutex_unlock(&d->lock);
        if (pthread_attr_init(&attr) == 0) {
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            ok = pthread_create(&t, &attr, fire_thread, c) == 0;
            pthread_attr_destroy(&attr);
        }
        if (!ok) {
            pthread_mutex_lock(&d->lock);
            d->sched->firing--;
            pthread_mutex_unlock(&d->lock);
            free(c);
        }
    }
    if (!ok) {
        create_job(d, u, NULL, err, sizeof(err));
        free(u->spec);
    }
}

/*
 * Test hook (tests/schedule), as jobs.c's: with TCD_TEST_CRASH=schedule-after-slot in its
 * environment, tcd kills itself with SIGKILL right after a fired slot's last_slot is saved and
 * before its job is created, to show that the slot is not fired again after a crash.
 */
static void test_crash_point(const char *name)
{
    const char *v = getenv("TCD_TEST_CRASH");

    if (v && !strcmp(v, name)) {
        tcd_log(TCD_LOG_WARNING, "TCD_TEST_CRASH=%s: killing tcd here", name);
        kill(getpid(), SIGKILL);
    }
}

/* With d->lock held: take the schedules whose fire time passed; their last_slot is saved. */
static size_t take_due(tcd_daemon *d, double now, due *out, size_t cap)
{
    struct tcd_schedules *S = d->sched;
    size_t i, n = 0;

    for (i = 0; i < S->n && n < cap; i++) {
        sched *s = S->v[i];
        if (s->suspend || s->next_slot <= 0 || s->fire_at > now)
            continue;
        snprintf(out[n].name, sizeof(out[n].name), "%s", s->name);
        out[n].spec = strdup(s->spec);
        out[n].owner = s->owner;
        out[n].slot = s->next_slot;
        out[n].if_changed = s->if_changed;
        out[n].concurrency = tcd_concurrency_from_name(s->concurrency) < 0
                                 ? TCD_CONCURRENCY_FORBID
                                 : (tcd_concurrency)tcd_concurrency_from_name(s->concurrency);
        out[n].d = d;
        s->last_slot = s->next_slot;
        s->last_run = now;
        s->last_job[0] = '\0';
        free(s->last_error);
        s->last_error = NULL;
        plan_next(s, fmax(now, s->last_slot)); /* slots missed meanwhile are skipped */
        n++;
    }
    if (n && save(d) == 0)
        test_crash_point("schedule-after-slot");
    else if (n) {
        /* at most once: without last_slot on disk, no job */
        for (i = 0; i < n; i++) {
            free(out[i].spec);
            out[i].spec = NULL;
        }
        tcd_log(TCD_LOG_ERR, "cannot save the schedules' state; %zu slot(s) not fired", n);
    }
    return n;
}

/* qsort: jobs newest first (by created). */
static int by_created_desc(const void *a, const void *b)
{
    const tcd_job *x = *(const tcd_job *const *)a, *y = *(const tcd_job *const *)b;

    return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

/* 1 if train job j's push job pushed (j's output is on the Hub). */
static int pushed(tcd_daemon *d, const tcd_job *j)
{
    const tcd_job *p = j->push_job[0] ? tcd_job__find(d, j->push_job) : NULL;

    return p && p->state == TCD_JOB_SUCCEEDED &&
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->result, "pushed"));
}

/* With d->lock held: ids of schedule s's jobs beyond its history limits, into ids (cap). */
static size_t trim_one(tcd_daemon *d, sched *s, char (*ids)[18], size_t cap)
{
    const tcd_job **v = calloc(d->n_jobs + 1, sizeof(*v));
    size_t i, n = 0, k = 0;
    int ok = 0, bad = 0, champion = 0;

    if (!v)
        return 0;
    for (i = 0; i < d->n_jobs; i++) {
        const tcd_job *j = d->jobs[i];
        if (j->schedule && !strcmp(j->schedule, s->name) && tcd_job__final(j->state))
            v[n++] = j;
    }
    qsort(v, n, sizeof(*v), by_created_desc);
    for (i = 0; i < n && k < cap; i++) {
        const tcd_job *j = v[i];
        int succeeded = j->state == TCD_JOB_SUCCEEDED;
        if (succeeded && j->finished > s->last_success)
            s->last_success = j->finished;
        if (succeeded && !champion && pushed(d, j)) {
            champion = 1; /* the model on the Hub came from it: keep */
            continue;
        }
        if (succeeded ? ok++ < s->keep_succeeded : bad++ < s->keep_failed)
            continue;
        snprintf(ids[k++], 18, "%s", j->id);
    }
    free(v);
    return k;
}

#define TRIM_MAX 64

static void trim_histories(tcd_daemon *d)
{
    char ids[TRIM_MAX][18], err[256];
    size_t i, n = 0;

    pthread_mutex_lock(&d->lock);
    d->sched->gc_pending = 0;
    for (i = 0; i < d->sched->n && n < TRIM_MAX; i++)
        n += trim_one(d, d->sched->v[i], ids + n, TRIM_MAX - n);
    save(d);
    if (n == TRIM_MAX)
        d->sched->gc_pending = 1; /* more next time */
    pthread_mutex_unlock(&d->lock);
    for (i = 0; i < n; i++) {
        if (tcd_job_delete(d, ids[i], 0, err, sizeof(err)) == TCD_OK)
            tcd_log(TCD_LOG_INFO, "job %s removed (schedule history limit)", ids[i]);
        else
            tcd_log(TCD_LOG_INFO, "job %s kept beyond its schedule's history limit: %s", ids[i],
                    err);
    }
}

void tcd_schedules__job_finished(tcd_daemon *d, const tcd_job *j)
{
    sched *s = find(d->sched, j->schedule);

    if (!s)
        return;
    if (j->state == TCD_JOB_SUCCEEDED && j->finished > s->last_success)
        s->last_success = j->finished;
    d->sched->gc_pending = 1;
    tcd_job__wake(d);
}

#define FIRE_MAX 16

double tcd_schedules_tick(tcd_daemon *d)
{
    struct tcd_schedules *S = d->sched;
    due todo[FIRE_MAX];
    double now, next = 0;
    size_t i, n;
    int gc;

    if (!S)
        return 0;
    now = sched_now(S);
    pthread_mutex_lock(&d->lock);
    n = d->shutting_down ? 0 : take_due(d, now, todo, FIRE_MAX);
    gc = S->gc_pending;
    pthread_mutex_unlock(&d->lock);
    for (i = 0; i < n; i++)
        if (todo[i].spec)
            fire(d, &todo[i]); /* consumes spec */
    if (gc)
        trim_histories(d);
    pthread_mutex_lock(&d->lock);
    now = sched_now(S);
    for (i = 0; i < S->n; i++) {
        const sched *s = S->v[i];
        if (!s->suspend && s->next_slot > 0 && (next == 0 || s->fire_at < next))
            next = s->fire_at;
    }
    pthread_mutex_unlock(&d->lock);
    if (n == FIRE_MAX)
        return tcd_mono(); /* more due: come back at once */
    if (!S->n)
        return 0;
    return tcd_mono() + (next > 0 ? fmin(fmax(next - now, 0), TICK_MAX_S) : TICK_MAX_S);
}

/* ---- the API side ------------------------------------------------------------------------- */

static int may_touch(const sched *s, uid_t caller, char *err, size_t errcap)
{
    if (caller != 0 && caller != s->owner)
        return fail(TCD_E_PERMISSION, err, errcap, "schedule '%s' belongs to uid %u", s->name,
                    (unsigned)s->owner);
    return TCD_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const sched *const *)a)->name, (*(const sched *const *)b)->name);
}

int tcd_schedules_list(tcd_daemon *d, cJSON **out, char *err, size_t errcap)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "schedules");
    const sched **v = NULL;
    size_t i, n;

    pthread_mutex_lock(&d->lock);
    n = d->sched ? d->sched->n : 0;
    if (arr && (v = calloc(n + 1, sizeof(*v)))) {
        if (n)
            memcpy(v, d->sched->v, n * sizeof(*v));
        qsort(v, n, sizeof(*v), by_name);
        for (i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, sched_json(d, v[i]));
    }
    pthread_mutex_unlock(&d->lock);
    if (!arr || !v) {
        free(v);
        cJSON_Delete(o);
        return fail(TCD_E_INTERNAL, err, errcap, "out of memory");
    }
    free(v);
    *out = o;
    return TCD_OK;
}

int tcd_schedule_get(tcd_daemon *d, const char *name, cJSON **out, char *err, size_t errcap)
{
    cJSON *o = NULL;
    sched *s;

    pthread_mutex_lock(&d->lock);
    if ((s = find(d->sched, name)))
        o = sched_json(d, s);
    pthread_mutex_unlock(&d->lock);
    if (!s)
        return fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no schedule '%s'", name);
    if (!o)
        return fail(TCD_E_INTERNAL, err, errcap, "out of memory");
    *out = o;
    return TCD_OK;
}

int tcd_schedule_add(tcd_daemon *d, uid_t owner, const cJSON *def, cJSON **out, char *err,
                     size_t errcap)
{
    struct tcd_schedules *S = d->sched;
    sched *s = NULL;
    int r = TCD_OK;

    if (def_parse(def, (long)owner, 0, &s, err, errcap) < 0)
        return TCD_E_BAD_REQUEST;
    s->owner = owner;
    s->created = sched_now(S);
    s->since = s->created;
    plan_next(s, s->created);
    pthread_mutex_lock(&d->lock);
    if (d->shutting_down) {
        r = fail(TCD_E_UNAVAILABLE, err, errcap, "the daemon is shutting down");
    } else if (find(S, s->name)) {
        r = fail(TCD_E_CONFLICT, err, errcap, "a schedule named '%s' exists", s->name);
    } else if (append(S, s) < 0) {
        r = fail(TCD_E_CONFLICT, err, errcap, "tcd has %d schedules, the most it keeps",
                 TCD_MAX_SCHEDULES);
    } else if (save(d) < 0) {
        S->n--;
        r = fail(TCD_E_INTERNAL, err, errcap, "cannot save the schedule");
    } else {
        *out = sched_json(d, s);
        tcd_log(TCD_LOG_INFO, "schedule %s added by uid %u (%s, %s)", s->name, (unsigned)owner,
                s->cron_expr, s->tz_name);
        s = NULL;
        tcd_job__wake(d);
    }
    pthread_mutex_unlock(&d->lock);
    sched_free(s);
    return r;
}

int tcd_schedule_remove(tcd_daemon *d, const char *name, uid_t caller, char *err, size_t errcap)
{
    struct tcd_schedules *S = d->sched;
    sched *s;
    size_t i;
    int r;

    pthread_mutex_lock(&d->lock);
    if (!(s = find(S, name))) {
        r = fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no schedule '%s'", name);
    } else if (s->from_config) {
        r = fail(TCD_E_CONFLICT, err, errcap,
                 "schedule '%s' is defined in tcd's config file; remove it there", name);
    } else if ((r = may_touch(s, caller, err, errcap)) == TCD_OK) {
        for (i = 0; S->v[i] != s; i++)
            ;
        memmove(&S->v[i], &S->v[i + 1], (S->n - i - 1) * sizeof(*S->v));
        S->n--;
        if (save(d) < 0) {
            S->v[S->n++] = s; /* keep it; the order does not matter */
            r = fail(TCD_E_INTERNAL, err, errcap, "cannot save the schedules");
        } else {
            tcd_log(TCD_LOG_INFO, "schedule %s removed by uid %u", name, (unsigned)caller);
            sched_free(s);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return r;
}

int tcd_schedule_run_now(tcd_daemon *d, const char *name, uid_t caller, cJSON **out, char *err,
                         size_t errcap)
{
    char *spec = NULL;
    uid_t owner = 0;
    sched *s;
    int r;

    pthread_mutex_lock(&d->lock);
    if (!(s = find(d->sched, name)))
        r = fail(TCD_E_JOB_NOT_FOUND, err, errcap, "no schedule '%s'", name);
    else if ((r = may_touch(s, caller, err, errcap)) == TCD_OK && !(spec = strdup(s->spec)))
        r = fail(TCD_E_INTERNAL, err, errcap, "out of memory");
    if (s && r == TCD_OK) {
        owner = s->owner;
        s->last_run = sched_now(d->sched);
    }
    pthread_mutex_unlock(&d->lock);
    if (r == TCD_OK) {
        due u;
        memset(&u, 0, sizeof(u));
        snprintf(u.name, sizeof(u.name), "%s", name);
        u.spec = spec;
        u.owner = owner;
        r = create_job(d, &u, out, err, errcap);
    }
    free(spec);
    return r;
}

char *tcd_schedules_metrics_text(tcd_daemon *d)
{
    size_t i, cap = 256, len = 0;
    char *buf = NULL;

    pthread_mutex_lock(&d->lock);
    /* a line: 48 bytes of text, the name, a number of at most 24 bytes */
    cap += d->sched ? d->sched->n * (TCD_SCHEDULE_MAX_NAME + 96) : 0;
    if (!(buf = malloc(cap)))
        goto out;
    len = (size_t)snprintf(
        buf, cap,
        "# HELP tcd_schedule_last_success_by_name_timestamp When the newest succeeded "
        "job of a schedule finished (Unix seconds).\n"
        "# TYPE tcd_schedule_last_success_by_name_timestamp gauge\n");
    for (i = 0; d->sched && i < d->sched->n && len < cap; i++) {
        const sched *s = d->sched->v[i];
        int k;
        if (s->last_success <= 0)
            continue;
        k = snprintf(buf + len, cap - len,
                     "tcd_schedule_last_success_by_name_timestamp{schedule=\"%s\"} %.3f\n", s->name,
                     s->last_success);
        if (k < 0 || (size_t)k >= cap - len) {
            buf[len] = '\0'; /* never: cap covers every line */
            break;
        }
        len += (size_t)k;
    }
out:
    pthread_mutex_unlock(&d->lock);
    return buf;
}
