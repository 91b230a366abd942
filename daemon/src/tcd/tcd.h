/*
 * tcd.h - the daemon's global state and the job manager's interface, as the
 * HTTP layer (api.c) uses it. The wire contract is docs/api.md.
 *
 * Threads: libmicrohttpd serves each connection on its own thread
 * (MHD_USE_THREAD_PER_CONNECTION, bounded by limits.max_connections). The
 * main thread runs the job manager's event loop (jobs.c): worker pipes,
 * SIGCHLD, timers, signals. Every function below may be called from any
 * thread; each takes d->lock itself (callers never hold it). JSON objects
 * returned through **out are owned by the caller (cJSON_Delete).
 *
 * Errors: functions return TCD_OK or a negative tcd_status and write a
 * one-line message into err (errcap bytes). api.c maps the status to an HTTP
 * status and error code (see tcd_status_http / tcd_status_code).
 */
#ifndef TCD_TCD_H
#define TCD_TCD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

typedef enum tcd_status {
    TCD_OK = 0,
    TCD_E_BAD_REQUEST = -1,      /* 400 bad_request */
    TCD_E_INVALID_SPEC = -2,     /* 400 invalid_spec */
    TCD_E_JOB_NOT_FOUND = -3,    /* 404 job_not_found */
    TCD_E_PLUGIN_NOT_FOUND = -4, /* 404 plugin_not_found */
    TCD_E_PERMISSION = -5,       /* 403 permission_denied */
    TCD_E_CONFLICT = -6,         /* 409 conflict */
    TCD_E_TOO_MANY_JOBS = -7,    /* 429 too_many_jobs */
    TCD_E_UNAVAILABLE = -8,      /* 503 unavailable (shutting down) */
    TCD_E_INTERNAL = -9          /* 500 internal */
} tcd_status;

/* HTTP status and error code string for a status. */
int tcd_status_http(tcd_status s);
const char *tcd_status_code(tcd_status s);

/* Limits of docs/api.md, from the config file (reloadable on SIGHUP unless noted). */
typedef struct tcd_limits {
    size_t max_body;          /* 1 MiB */
    int max_json_depth;       /* 32 */
    size_t max_url;           /* 4096 */
    unsigned max_connections; /* 128 (restart required) */
    size_t max_jobs;          /* 1000: queued + running */
    size_t max_spec;          /* 256 KiB */
    size_t max_sets;          /* 256 */
    int train_concurrency;    /* 1 */
    int transfer_concurrency; /* 2 */
    double cancel_grace_s;    /* 30 */
    double default_timeout_s; /* 0 = none */
} tcd_limits;

typedef struct tcd_config {
    char *state_dir;    /* --state-dir */
    char *socket_path;  /* --socket */
    char *worker_path;  /* tcd-worker next to tcd, unless configured */
    char **plugin_dirs; /* extra plugin dirs, passed as TCD_PLUGIN_PATH */
    size_t n_plugin_dirs;
    unsigned socket_mode; /* 0660 */
    tcd_limits limits;
    cJSON *schedules; /* `schedules:` definitions (schedule.h), strings and "_line"; NULL: none */
} tcd_config;

struct tcd_job;
struct tcd_schedules;
struct MHD_Daemon;

/*
 * All global daemon state (STYLE rule 15). One instance, created in main.c.
 */
typedef struct tcd_daemon {
    pthread_mutex_t lock;  /* guards everything below that changes */
    pthread_cond_t events; /* broadcast when any job gets an event or finishes */
    tcd_config cfg;
    double started_at; /* wall clock, seconds */
    int shutting_down;
    int wake_fd;           /* eventfd: API threads wake the main loop (new job, cancel) */
    struct tcd_job **jobs; /* all known jobs, any state */
    size_t n_jobs, cap_jobs;
    struct MHD_Daemon *http;
    /* counters for /v1/metrics */
    uint64_t jobs_created_total;
    uint64_t http_requests_total[6]; /* by status class: [1xx..5xx] at index 1..5 */
    /* plugin probe cache (plugins.c) */
    cJSON *plugins_cache;
    char *plugins_cache_key; /* paths + sizes + mtimes it was built from */
    /* schedules (schedule.c) */
    struct tcd_schedules *sched;
} tcd_daemon;

/* ---- jobs (jobs.c) ------------------------------------------------------------------------ */

/* A job id is "j" + 16 lowercase hex digits; 1 if s is one. */
int tcd_job_id_valid(const char *s);

/*
 * Create a train job: validate with `tcd-worker check`, persist
 * jobs/<id>/{spec.yaml, job.json}, queue it, wake the scheduler.
 * sets: n_sets "section.key=value" strings. timeout_s 0 = the default.
 * *out: the job object (docs/api.md).
 */
int tcd_jobs_create(tcd_daemon *d, uid_t owner, const char *spec_yaml, const char *const *sets,
                    size_t n_sets, const char *name, double timeout_s, cJSON **out, char *err,
                    size_t errcap);

/* What to do when a job of the same schedule key is queued or running (Kubernetes CronJob). */
typedef enum tcd_concurrency {
    TCD_CONCURRENCY_ALLOW,   /* start another one */
    TCD_CONCURRENCY_FORBID,  /* make no job (outcome TCD_CREATE_SKIPPED, "concurrency_forbid") */
    TCD_CONCURRENCY_REPLACE, /* cancel the queued or running ones, then queue the new one */
    TCD_CONCURRENCY_MAX
} tcd_concurrency;

/* "allow", "forbid", "replace"; -1 for anything else. */
int tcd_concurrency_from_name(const char *s);
const char *tcd_concurrency_name(tcd_concurrency c);

/*
 * The scheduling options of a train job (docs/api.md "Scheduled runs"). Zeroed = none: a plain
 * job, as tcd_jobs_create makes. Keys are compared among the jobs of the same owner only.
 */
typedef struct tcd_train_opts {
    const char *name;            /* NULL: none */
    double timeout_s;            /* 0: the default */
    const char *schedule_key;    /* NULL: none; required by if_changed and forbid/replace */
    const char *idempotency_key; /* NULL: none */
    int if_changed;              /* skip when the revisions equal the last succeeded run's */
    tcd_concurrency concurrency;
    double deadline_s;    /* 0: none; else a job not started within this long ends `missed` */
    const char *schedule; /* tcd's own schedule that fired the job (schedule.c), or NULL */
    double slot;          /* that schedule's slot, Unix seconds; 0: run now */
} tcd_train_opts;

/* How tcd_jobs_create_train answered. */
typedef enum tcd_create_outcome {
    TCD_CREATE_NEW,      /* a new job: *out is it (201) */
    TCD_CREATE_EXISTING, /* the idempotency key names a job: *out is that job (200) */
    TCD_CREATE_SKIPPED   /* no job: *out is {"skipped":{"code","message","job",...}} (200) */
} tcd_create_outcome;

/*
 * tcd_jobs_create with scheduling options. Decided under d->lock, in this order, after the spec
 * check (which with if_changed also resolves the dataset's and base model's revisions): a job of
 * the owner with the same idempotency key is returned as it is; with if_changed, when the
 * revisions equal those of the owner's last succeeded train job of the same schedule key, no job
 * is made ("unchanged"); with forbid, when a train job of the key is queued or running, no job is
 * made ("concurrency_forbid"); with replace, those jobs are cancelled. *how says which.
 */
int tcd_jobs_create_train(tcd_daemon *d, uid_t owner, const char *spec_yaml,
                          const char *const *sets, size_t n_sets, const tcd_train_opts *opts,
                          cJSON **out, tcd_create_outcome *how, char *err, size_t errcap);

/*
 * Create a pull job from pull = {repo, repo_type, revision, include, exclude}
 * (validated by the API layer; copied): persist jobs/<id>/job.json, queue it.
 */
int tcd_jobs_create_pull(tcd_daemon *d, uid_t owner, const cJSON *pull, const char *name,
                         double timeout_s, cJSON **out, char *err, size_t errcap);

/*
 * Create a push job from push = {source, repo, repo_type, branch, private, force, message, when}
 * (validated by the API layer; when defaults to "always"). source is a job id (a succeeded
 * train job of owner, or any job for root: its output directory is pushed) or an absolute
 * directory (owned by owner, see tcd_job__push_dir_check); the job's push object gets the
 * resolved "dir" and "auto": false (true marks the push jobs that train jobs queue). Errors: 404
 * job_not_found, 403 permission_denied, 400 bad_request for the source; then as pull.
 */
int tcd_jobs_create_push(tcd_daemon *d, uid_t owner, const cJSON *push, const char *name,
                         double timeout_s, cJSON **out, char *err, size_t errcap);

/* {"jobs":[...]} newest first; state NULL for all; limit 1..1000. */
int tcd_jobs_list(tcd_daemon *d, const char *state, int limit, cJSON **out, char *err,
                  size_t errcap);

int tcd_job_get(tcd_daemon *d, const char *id, cJSON **out, char *err, size_t errcap);

/* Cancel: owner or root only. *out: the job after the request. */
int tcd_job_cancel(tcd_daemon *d, const char *id, uid_t caller, cJSON **out, char *err,
                   size_t errcap);

/* Delete a finished job and its directory: owner or root only. */
int tcd_job_delete(tcd_daemon *d, const char *id, uid_t caller, char *err, size_t errcap);

/*
 * Events after seq `since`, as NDJSON text (tc_malloc'd via malloc; free()),
 * at most max_bytes (whole lines; at least one line if any). *last_seq = seq
 * of the last line returned (or since). *finished = 1 when the job is in a
 * final state and no event after *last_seq exists.
 */
int tcd_job_events(tcd_daemon *d, const char *id, int64_t since, size_t max_bytes, char **out,
                   size_t *out_len, int64_t *last_seq, int *finished, char *err, size_t errcap);

/*
 * Block until job `id` has an event after `since`, or it finished, or the
 * daemon is shutting down, or timeout_ms passed. Returns TCD_OK or an error.
 */
int tcd_job_events_wait(tcd_daemon *d, const char *id, int64_t since, int timeout_ms);

/* {"status":"ok"|"shutting_down","uptime_s":..,"jobs":{"queued":N,"running":N}} */
cJSON *tcd_health(tcd_daemon *d);

/* Prometheus text (malloc'd). */
char *tcd_metrics_text(tcd_daemon *d);

/* Count a served request for /v1/metrics. */
void tcd_count_request(tcd_daemon *d, int http_status);

/* ---- plugins (plugins.c) ------------------------------------------------------------------ */

/* {"plugins":[...]} from a throwaway `tcd-worker plugins --json`, cached by path/size/mtime. */
int tcd_plugins_list(tcd_daemon *d, cJSON **out, char *err, size_t errcap);

/* One plugin with options (`tcd-worker plugins show NAME --json`). */
int tcd_plugin_get(tcd_daemon *d, const char *name, cJSON **out, char *err, size_t errcap);

/* ---- the HTTP layer (api.c) --------------------------------------------------------------- */

/* Start serving on listen_fd (already bound and listening). */
int tcd_api_start(tcd_daemon *d, int listen_fd, char *err, size_t errcap);

/* Stop serving; wakes and ends event streams (they see shutting_down). */
void tcd_api_stop(tcd_daemon *d);

#endif /* TCD_TCD_H */
