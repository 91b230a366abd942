/*
 * jobs.h - the job object, shared by jobs.c (API side, persistence, events)
 * and supervise.c (the main loop's side: spawning, pipes, reaping, timers).
 *
 * Every field is guarded by d->lock. The runtime fields (pid, out_fd, line,
 * stop, deadlines) change only on the main thread, except that
 * tcd_job_cancel (any thread, under the lock) sets stop and kill_at.
 */
#ifndef TCD_JOBS_H
#define TCD_JOBS_H

#include <sys/types.h>

#include "internal.h"

typedef enum tcd_job_state {
    TCD_JOB_QUEUED,
    TCD_JOB_RUNNING,
    TCD_JOB_SUCCEEDED,
    TCD_JOB_FAILED,
    TCD_JOB_CANCELLED,
    TCD_JOB_TIMED_OUT,
    TCD_JOB_INTERRUPTED,
    TCD_JOB_MISSED, /* could not start within deadline_s of its creation; never started */
    TCD_JOB_STATE_MAX
} tcd_job_state;

/* Why tcd signalled a running worker. */
typedef enum tcd_job_stop {
    TCD_STOP_NONE,
    TCD_STOP_CANCEL,
    TCD_STOP_TIMEOUT,
    TCD_STOP_SHUTDOWN,
    TCD_STOP_REPLACE /* concurrency "replace": a newer job of the same schedule key */
} tcd_job_stop;

/* What a job does: train (tcd-worker run), pull and push (Hub transfers). */
typedef enum tcd_job_kind {
    TCD_JOB_TRAIN,
    TCD_JOB_PULL,
    TCD_JOB_PUSH,
    TCD_JOB_KIND_MAX
} tcd_job_kind;

/* events.ndjson byte offset of every TCD_EVENT_STRIDE-th event (seq 1, 1+S, 1+2S, ...). */
#define TCD_EVENT_STRIDE 64

typedef struct tcd_job {
    char id[18];
    char *dir;  /* STATE/jobs/<id> */
    char *name; /* NULL: none */
    uid_t owner;
    tcd_job_state state;
    char *reason;                      /* NULL: none */
    double created, started, finished; /* wall clock; 0 = null */
    double timeout_s;                  /* effective; 0 = none */
    int attempts;
    int exit_code, exit_signal; /* -1 = null */
    tcd_job_kind kind;
    /* pull: {repo, repo_type, revision, include, exclude}; push: {source, dir, repo, repo_type,
     * branch, private, force, message, when, auto}; NULL for train jobs */
    cJSON *xfer;
    cJSON *spec; /* the spec (with --set applied), string values */
    char **sets; /* --set entries, NULL-terminated */
    size_t n_sets;
    cJSON *progress; /* last progress event (no seq/ts/job/type); NULL */
    cJSON *result;   /* metrics of the result event (pull: plus "snapshot"; push: plus "commit",
                        "url", "changed", "pushed", "reason"); NULL */
    /* train: the push job its spec's push section asked for ("push_job"); "" when none */
    char push_job[18];
    /* train: push_job is chosen and saved in job.json, the push job not created yet (a crash in
     * between: tcd_jobs_load creates it) */
    int push_pending;
    /* train, scheduling (docs/api.md "Scheduled runs"); the strings are NULL when none */
    char *schedule_key;    /* runs of one schedule: if_changed, concurrency compare these */
    char *idempotency_key; /* a repeated create with this key (same owner) returns this job */
    char *data_revision;   /* the dataset's Hub commit or the data plugin's fingerprint */
    char *model_revision;  /* model.from's Hub commit */
    int if_changed;
    tcd_concurrency concurrency;
    double deadline_s;    /* must start within this long after created; 0 = no deadline */
    char replaced_by[18]; /* TCD_STOP_REPLACE: the job that replaced it */

    /* events.ndjson */
    int64_t seq;      /* last seq written */
    off_t events_end; /* bytes of complete lines */
    off_t *index;     /* offsets, see TCD_EVENT_STRIDE */
    size_t n_index, cap_index;
    double last_progress; /* mono time of the last persisted progress event */

    /* the worker (main thread) */
    pid_t pid;       /* 0: none */
    pid_t prev_pid;  /* a worker of a previous daemon, from job.json */
    int out_fd;      /* -1: none */
    off_t log_start; /* worker.log size when this attempt's worker started */
    char *line;      /* TCD_MAX_LINE bytes while running */
    size_t line_len;
    int line_dropping;
    cJSON *worker_result; /* the worker's result event, held back until the job ends */
    tcd_job_stop stop;
    uid_t cancel_uid;
    double deadline; /* mono: timeout, 0 = none */
    double kill_at;  /* mono: SIGKILL, 0 = none */

    /* train jobs of a schedule (schedule.c): its name, NULL for others; the slot's time (Unix
     * seconds), 0 for `tcctl schedule run-now` */
    char *schedule;
    double slot;
} tcd_job;

const char *tcd_job__state_name(tcd_job_state s);
int tcd_job__final(tcd_job_state s);

/* "train", "pull", "push". */
const char *tcd_job__kind_name(tcd_job_kind k);
/* 1 for pull and push jobs: they share transfer_concurrency, get HF_TOKEN, resume on restart. */
int tcd_job__is_transfer(const tcd_job *j);
/* A push job's directory ("dir" of j->xfer), NULL if none. */
const char *tcd_job__push_dir(const tcd_job *j);

/*
 * Check a push source directory for a job of owner: it exists, is a directory, and unless owner
 * is root or tcd's own uid, it and everything under it (no symbolic links, at most
 * TCD_MAX_PUSH_ENTRIES entries) belong to owner. by_job: the directory is a job's output (tcd's
 * own files; only existence is checked). 0 or a tcd_status with err set.
 */
int tcd_job__push_dir_check(const char *dir, uid_t owner, int by_job, char *err, size_t errcap);

tcd_job *tcd_job__find(tcd_daemon *d, const char *id);

/* Append an event (seq, ts, job put first; ev is consumed), then broadcast. */
int tcd_job__emit(tcd_daemon *d, tcd_job *j, cJSON *ev, int durable);

/* A `log` event. */
void tcd_job__log(tcd_daemon *d, tcd_job *j, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write job.json (temp + fsync + rename). */
int tcd_job__save(tcd_daemon *d, tcd_job *j);

/* queued/running transitions: set, `state` event, save. */
void tcd_job__set_state(tcd_daemon *d, tcd_job *j, tcd_job_state s, const char *reason);

/* Final transition: `state` event, then the `result` event (the worker's or a synthesized one),
 * save. */
void tcd_job__finish(tcd_daemon *d, tcd_job *j, tcd_job_state s, const char *reason);

/*
 * With d->lock held: create the push job that train job j chose when it succeeded
 * (j->push_pending), with the id j->push_job, unless a job of that id exists already; then clear
 * push_pending and save j. Runs at j's final transition and, after a crash between that and the
 * push job's creation, from tcd_jobs_load. When the push job cannot be created, j's push_job
 * becomes null and j gets a log event saying why.
 */
void tcd_job__queue_push(tcd_daemon *d, tcd_job *j);

/* Wake the main loop (new job, cancel). */
void tcd_job__wake(tcd_daemon *d);

/* Load one job directory; NULL with err set. */
tcd_job *tcd_job__load(tcd_daemon *d, const char *id, char *err, size_t errcap);

int tcd_job__add(tcd_daemon *d, tcd_job *j);

/*
 * tcd_jobs_create_train for schedule.c: opts->schedule and opts->slot (Unix seconds; 0: run
 * now) name the schedule and its slot, and job.json has "schedule" and "slot" from the start;
 * the schedule's concurrency, if_changed and keys come in opts as from the API. Not on the main
 * loop's thread: the spec check may take up to TCD_REVISIONS_TIMEOUT_S.
 */
int tcd_jobs_create_scheduled(tcd_daemon *d, uid_t owner, const char *spec_yaml,
                              const tcd_train_opts *opts, cJSON **out, tcd_create_outcome *how,
                              char *err, size_t errcap);
void tcd_job__free(tcd_job *j);

#endif /* TCD_JOBS_H */
