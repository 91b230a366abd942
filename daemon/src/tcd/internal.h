/*
 * internal.h - pieces of tcd shared between main.c, config.c, jobs.c,
 * plugins.c and util.c. The HTTP layer (api.c) uses only tcd.h.
 *
 * Threads: the main thread runs the event loop (main.c) and everything
 * named tcd_loop_* / tcd_jobs_load / tcd_jobs_shutdown_*; the functions
 * of tcd.h run on any thread. Logging (tcd_log) is thread-safe: one
 * write(2) per line.
 */
#ifndef TCD_INTERNAL_H
#define TCD_INTERNAL_H

#include <poll.h>
#include <stdarg.h>
#include <sys/types.h>

#include "tcd.h"

#define TCD_VERSION "0.1.0"
#define TCD_API_VERSION "1.0"

/* Most workers running at once (train_concurrency is capped to this). */
#define TCD_MAX_RUNNING 64
/* Longest worker stdout line tcd accepts; longer ones are dropped with a log event. */
#define TCD_MAX_LINE (64 * 1024)
/* Longest job name and --set entry. */
#define TCD_MAX_NAME 256
#define TCD_MAX_SET_LEN 4096
/* Longest schedule key and idempotency key (docs/api.md "Scheduled runs"). */
#define TCD_MAX_KEY 256
/* Longest data or model revision (a Hub commit is 40 hex digits; a fingerprint is shorter). */
#define TCD_MAX_REVISION 128
/* Longest deadline_s. */
#define TCD_MAX_DEADLINE_S 1e7
/* Most entries under a push source directory that tcd walks to check their owner. */
#define TCD_MAX_PUSH_ENTRIES 100000
/* Deepest directory nesting under a push source that tcd walks. */
#define TCD_MAX_PUSH_DEPTH 64
/* A spec check or plugin probe is killed after this long. */
#define TCD_PROBE_TIMEOUT_S 30.0
/* A spec check that also resolves the revisions (if_changed: Hub requests, or a data plugin
 * reading the whole dataset for its fingerprint) gets this long; below tcctl's 120 s. */
#define TCD_REVISIONS_TIMEOUT_S 90.0
/* Most bytes read from a probe's stdout. */
#define TCD_PROBE_MAX_OUT (4 * 1024 * 1024)

/* ---- logging and time (util.c) ------------------------------------------------------------ */

/* syslog levels, printed as "<N>" when stderr goes to the journal. */
enum { TCD_LOG_ERR = 3, TCD_LOG_WARNING = 4, TCD_LOG_NOTICE = 5, TCD_LOG_INFO = 6 };

void tcd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

double tcd_now(void);  /* wall clock, seconds */
double tcd_mono(void); /* CLOCK_MONOTONIC, seconds */

/* ---- files and processes (util.c) --------------------------------------------------------- */

/* Write path as temp + fsync + rename + fsync of the directory. 0 or -errno. */
int tcd_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode);

/* Read a whole file of at most max bytes (NUL-terminated, malloc'd). 0 or -errno (-EFBIG). */
int tcd_read_file(const char *path, size_t max, char **out, size_t *out_len);

/* mkdir -p; the last component gets mode. 0 or -errno. */
int tcd_mkdir_p(const char *path, mode_t mode);

/* rm -rf (does not follow symlinks). 0 or -errno. */
int tcd_rm_rf(const char *path);

int tcd_fsync_dir(const char *path);

/* malloc'd printf; NULL on OOM. */
char *tcd_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The environment for tcd-worker: ours without HF_TOKEN and the systemd
 * variables, with TCD_PLUGIN_PATH from plugin_dirs when configured.
 * NULL-terminated, malloc'd; free with tcd_strv_free.
 */
char **tcd_worker_env(const tcd_config *cfg);
/* The same, keeping HF_TOKEN / HUGGING_FACE_HUB_TOKEN when keep_token (transfer jobs only: pull
 * and push). */
char **tcd_worker_env_ex(const tcd_config *cfg, int keep_token);
void tcd_strv_free(char **v);

typedef struct tcd_spawn_opts {
    const char *const *argv; /* argv[0] is the path executed */
    char **envp;
    const char *cwd;       /* NULL: keep */
    int stdout_fd;         /* dup'ed to 1 */
    int stderr_fd;         /* dup'ed to 2; -1: /dev/null */
    int parent_death_kill; /* PR_SET_PDEATHSIG SIGTERM (main thread only) */
} tcd_spawn_opts;

/* fork + exec in a new process group. *pid on success. 0 or -errno. */
int tcd_spawn(const tcd_spawn_opts *o, pid_t *pid);

/*
 * Run argv (a probe: `tcd-worker check|plugins`), capture its stdout (at most
 * TCD_PROBE_MAX_OUT), kill it after timeout_s. *wstatus: waitpid status.
 * *out: malloc'd, NUL-terminated. 0 or a tcd_status with err set.
 */
int tcd_run_capture(const tcd_config *cfg, const char *const *argv, const char *cwd,
                    double timeout_s, char **out, int *wstatus, char *err, size_t errcap);

/* ---- config (config.c) -------------------------------------------------------------------- */

void tcd_config_defaults(tcd_config *c);

/* Read a YAML config file over c. 0, or -1 with "file:line: message" in err. */
int tcd_config_load(tcd_config *c, const char *path, char *err, size_t errcap);

void tcd_config_dispose(tcd_config *c);

/* The config file used when --config is not given ("" if none). */
const char *tcd_config_default_path(void);

/* ---- jobs: the main loop's side (jobs.c) -------------------------------------------------- */

/* Load STATE/jobs; running jobs are re-queued to resume. 0 or -1 (fatal). */
int tcd_jobs_load(tcd_daemon *d);

/* Worker stdout pipes to poll; returns the count written (at most cap). */
size_t tcd_loop_pollfds(tcd_daemon *d, struct pollfd *fds, size_t cap);

/* Read whatever the polled pipes have. */
void tcd_loop_on_pipes(tcd_daemon *d, const struct pollfd *fds, size_t n);

/* Reap exited workers (after SIGCHLD). */
void tcd_loop_reap(tcd_daemon *d);

/* Fire due schedules, start queued jobs, fire due timeouts and grace kills; returns the next
 * deadline (mono), 0 = none. */
double tcd_loop_tick(tcd_daemon *d);

/* Number of running workers. */
int tcd_loop_running(tcd_daemon *d);

/* Shutdown: SIGTERM every worker (their jobs stay `running` in job.json to resume on start). */
void tcd_jobs_shutdown_begin(tcd_daemon *d);

/* Shutdown: SIGKILL what is left and wait for it. */
void tcd_jobs_shutdown_kill(tcd_daemon *d);

void tcd_jobs_free(tcd_daemon *d);

/* "N running, M queued" for STATUS=. */
void tcd_jobs_status_line(tcd_daemon *d, char *buf, size_t cap);

/* ---- plugins (plugins.c) ------------------------------------------------------------------ */

void tcd_plugins_dispose(tcd_daemon *d);

#endif /* TCD_INTERNAL_H */
