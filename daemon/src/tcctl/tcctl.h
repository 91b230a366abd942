/*
 * tcctl.h - internals shared by the files of tcctl, the command-line client
 * of tcd. The wire contract is docs/api.md; tcctl speaks HTTP/1.1 over the
 * daemon's unix socket with libcurl (URLs http://tcd/v1/...).
 *
 * Files: main.c (global flags, dispatch, usage), http.c (socket discovery,
 * requests, NDJSON streams, error mapping), follow.c (train, pull, push, wait, logs:
 * following a job's events with reconnects), champion.c (promote, rollback: push jobs
 * for a candidate or the previous champion), commands.c (ping, jobs, status,
 * cancel, rm, plugins), prune.c (prune --partials, local), predict.c (predict, local,
 * through tcd-worker), schedule.c (schedule list|add|rm|run-now), render.c (times, durations,
 * tables, event lines), completion.c (the bash completion script, embedded).
 *
 * Command functions return the process exit status (TCCTL_EXIT_*), having
 * printed any message themselves ("tcctl: ..." on stderr). Everything read
 * from the server is bounded: TCCTL_MAX_RESPONSE for a response body,
 * TCCTL_MAX_LINE for one event line.
 */
#ifndef TCCTL_TCCTL_H
#define TCCTL_TCCTL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define TCCTL_VERSION "0.1.0"

#define TCCTL_MAX_RESPONSE ((size_t)16 << 20) /* 16 MiB: any response body */
#define TCCTL_MAX_LINE ((size_t)1 << 20)      /* 1 MiB: one NDJSON event line */
#define TCCTL_MAX_SPEC ((size_t)256 << 10)    /* 256 KiB: a spec file (docs/api.md) */
#define TCCTL_MAX_SETS 256                    /* --set entries (docs/api.md) */
#define TCCTL_RECONNECT_S 30.0                /* how long a follower retries a lost daemon */

/* Exit statuses (ARCHITECTURE.md section 7; sysexits for 69-78). */
enum {
    TCCTL_EXIT_OK = 0,
    TCCTL_EXIT_FAILED = 1, /* the job failed, or any other error */
    TCCTL_EXIT_USAGE = 2,
    TCCTL_EXIT_CANCELLED = 3,
    TCCTL_EXIT_TIMEOUT = 4,      /* job timed_out, or a client-side --timeout elapsed */
    TCCTL_EXIT_UNAVAILABLE = 69, /* daemon unreachable */
    TCCTL_EXIT_TEMPFAIL = 75,    /* 429 / 503: retry later */
    TCCTL_EXIT_NOPERM = 77,      /* 403, or the socket refuses us */
    TCCTL_EXIT_CONFIG = 78       /* invalid spec, unreadable spec file */
};

/* Options every command sees. */
typedef struct tcctl_ctx {
    const char *socket_path; /* resolved by tcctl_socket_resolve */
    int json;                /* --json: machine output on stdout */
    int quiet;               /* -q: ids only */
    int bar;                 /* live progress bars: stderr is a TTY, not --json or -q */
    int silent;              /* -q of a scheduled train: nothing at all on stdout */
} tcctl_ctx;

/* ---- http.c ------------------------------------------------------------------------------- */

/* Transport outcome of a request, before looking at the HTTP status. */
typedef enum tcctl_net {
    TCCTL_NET_OK = 0,
    TCCTL_NET_CONNECT = -1,    /* socket missing or connection refused */
    TCCTL_NET_PERM = -2,       /* the socket refused us (EACCES) */
    TCCTL_NET_TIMEOUT = -3,    /* the deadline passed */
    TCCTL_NET_TOOBIG = -4,     /* a response or line over our bounds */
    TCCTL_NET_BROKEN = -5,     /* the connection dropped, or curl failed otherwise */
    TCCTL_NET_STOPPED = -6,    /* a line callback asked to stop */
    TCCTL_NET_INTERRUPTED = -7 /* SIGINT/SIGTERM arrived (tcctl_interrupted) */
} tcctl_net;

/* Set by the SIGINT/SIGTERM handler of tcctl_catch_signals: the signal number. Transfers in
 * progress stop within about a second. */
extern volatile sig_atomic_t tcctl_interrupted;
/* While following a job: catch SIGINT and SIGTERM so the follower can clear its progress bar
 * and say how to pick the job up again; it then exits 128 + the signal number. */
void tcctl_catch_signals(void);

typedef struct tcctl_response {
    long status; /* HTTP status, 0 when none arrived */
    char *body;  /* NUL-terminated, owned; may be NULL */
    size_t len;
    cJSON *json; /* body parsed, or NULL */
} tcctl_response;

/* Pick the socket: --socket, $TCD_SOCKET, the user's runtime dir, /run/tcd. Returned string is
 * static or borrowed from argv/environ. */
const char *tcctl_socket_resolve(const char *flag);

int tcctl_http_init(void);
void tcctl_http_cleanup(void);

/*
 * One request. method "GET", "POST", "DELETE"; path below http://tcd (e.g.
 * "/v1/jobs"); body JSON text or NULL; timeout_ms 0 for the default (120 s).
 * Fills *out (dispose with tcctl_response_dispose) and returns TCCTL_NET_OK
 * when an HTTP response arrived, whatever its status.
 */
tcctl_net tcctl_request(const tcctl_ctx *c, const char *method, const char *path, const char *body,
                        long timeout_ms, tcctl_response *out);
void tcctl_response_dispose(tcctl_response *r);

/* Called with each complete line of a stream (without its newline, NUL-terminated). Return 0
 * to go on, non-zero to stop the stream. */
typedef int (*tcctl_line_fn)(const char *line, size_t len, void *payload);

/*
 * GET path as an NDJSON stream. On a 200 each line goes to fn; on any other
 * status the body is collected into out->body / out->json. timeout_ms 0 is
 * no limit. Returns TCCTL_NET_OK when the server ended the stream,
 * TCCTL_NET_STOPPED when fn stopped it, else the transport failure.
 */
tcctl_net tcctl_stream(const tcctl_ctx *c, const char *path, long timeout_ms, tcctl_line_fn fn,
                       void *payload, tcctl_response *out);

/* Percent-encode s for a URL path segment or query value into buf; -1 if it does not fit. */
int tcctl_url_escape(char *buf, size_t cap, const char *s);

/* Print the message for a transport failure and return its exit status. */
int tcctl_net_report(const tcctl_ctx *c, tcctl_net net);

/* For a non-2xx response: print "tcctl: <message> (<code>)" and return its exit status. */
int tcctl_http_error(const tcctl_response *r);

/* Request + transport/HTTP error handling in one: returns TCCTL_EXIT_OK with *out filled on a
 * 2xx, else reports and returns the exit status (and disposes *out). */
int tcctl_call(const tcctl_ctx *c, const char *method, const char *path, const char *body,
               tcctl_response *out);

/* ---- render.c ----------------------------------------------------------------------------- */

double tcctl_now(void);

/* "90", "30s", "15m", "2h", "1d" (decimals allowed) into seconds; -1 if malformed. */
double tcctl_parse_duration(const char *s);

/* "3m ago", "just now", "in 2h"; buf at least 32 bytes. */
void tcctl_fmt_ago(char *buf, size_t cap, double t, double now);
/* "1h 2m 3s" style duration. */
void tcctl_fmt_duration(char *buf, size_t cap, double secs);
/* Local "YYYY-MM-DD HH:MM:SS". */
void tcctl_fmt_time(char *buf, size_t cap, double t);
/* Local "HH:MM:SS". */
void tcctl_fmt_clock(char *buf, size_t cap, double t);
/* Bytes for humans: "512 B", "1.5 kB", "12.3 MB", "1.25 GB"; "?" for NaN. */
void tcctl_fmt_bytes(char *buf, size_t cap, double b);
/* A number as %g-ish text without trailing noise ("0.8612", "3", "844"). */
void tcctl_fmt_number(char *buf, size_t cap, double v);

/* Any JSON value in a cell: numbers as above, booleans, strings, arrays as "a, b, ...". */
void tcctl_fmt_value(char *buf, size_t cap, const cJSON *v);
/* " name=value" for each headline metric (test_* when there are any, else every number). */
void tcctl_fmt_metrics(FILE *f, const cJSON *metrics);

/* Field helpers: NULL / NAN when absent or of another type. */
const char *tcctl_json_str(const cJSON *o, const char *key);
double tcctl_json_num(const cJSON *o, const char *key);

/* Outcome exit status for a final job state ("succeeded" -> 0, ...); -1 if not final. */
int tcctl_state_exit(const char *state);

/* A simple table: rows of cells, printed with padded columns. */
typedef struct tcctl_table {
    size_t ncols, nrows, cap;
    char **cells; /* nrows * ncols, owned */
} tcctl_table;

void tcctl_table_init(tcctl_table *t, size_t ncols);
/* Add a row of ncols cells (copied; NULL prints as "-"). Returns 0, or -1 on OOM. */
int tcctl_table_add(tcctl_table *t, const char *const *row);
void tcctl_table_print(const tcctl_table *t, FILE *f);
void tcctl_table_dispose(tcctl_table *t);

/* ---- follow.c ----------------------------------------------------------------------------- */

int tcctl_cmd_train(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_wait(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_logs(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_pull(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_push(tcctl_ctx *c, int argc, char **argv);
/* POST a push job body and follow the job as `tcctl push` does (what: for the "submitted" line);
 * with detach print its id (or job, --json) instead. Returns the exit status. */
int tcctl_push_job_run(tcctl_ctx *c, const char *body, int detach, const char *what);
/* 1 if s is a Hub repo id ORG/NAME tcctl accepts. */
int tcctl_repo_id_ok(const char *s);

/* ---- champion.c --------------------------------------------------------------------------- */

int tcctl_cmd_promote(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_rollback(tcctl_ctx *c, int argc, char **argv);

/* ---- prune.c ------------------------------------------------------------------------------ */

int tcctl_cmd_prune(tcctl_ctx *c, int argc, char **argv);

/* ---- commands.c --------------------------------------------------------------------------- */

int tcctl_cmd_ping(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_jobs(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_status(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_cancel(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_rm(tcctl_ctx *c, int argc, char **argv);
int tcctl_cmd_plugins(tcctl_ctx *c, int argc, char **argv);

/* ---- schedule.c --------------------------------------------------------------------------- */

int tcctl_cmd_schedule(tcctl_ctx *c, int argc, char **argv);

/* ---- predict.c ---------------------------------------------------------------------------- */

int tcctl_cmd_predict(tcctl_ctx *c, int argc, char **argv);

/* train.epochs of a job object's spec (a string or number), 0 when unknown. */
int tcctl_job_epochs(const cJSON *job);
/* A job's progress: "epoch 2/3 47%", or verbose "epoch 2/3, 400/844 batches (47%)"; "-". */
void tcctl_fmt_progress(char *buf, size_t cap, const cJSON *job, int verbose);

/* 1 if s looks like a job id ("j" + 16 lowercase hex digits). */
int tcctl_job_id_valid(const char *s);

/* ---- main.c ------------------------------------------------------------------------------- */

/* Print "tcctl: msg" and the command's usage line on stderr; returns TCCTL_EXIT_USAGE. */
int tcctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the help of one command on stdout; returns TCCTL_EXIT_OK. */
int tcctl_help(const char *cmd);
/* True if arg is --help or -h. */
int tcctl_is_help(const char *arg);

/*
 * Shared option parsing for commands: if argv[*i] is "--name=VALUE" or
 * "--name" followed by a value, store the value in *value, advance *i past
 * it and return 1; 0 if argv[*i] is not this option; -1 (usage message
 * printed) when the value is missing.
 */
int tcctl_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                    const char **value);
/* Global flags accepted after the command too (--json, -q, --quiet): 1 if consumed. */
int tcctl_opt_global(tcctl_ctx *c, const char *arg);

/* ---- completion.c ------------------------------------------------------------------------- */

extern const char tcctl_completion_bash[];

#endif
