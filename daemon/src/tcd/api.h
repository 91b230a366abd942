/*
 * api.h - internals shared by the HTTP layer's files (api.c: server, request
 * plumbing and routes; api_body.c: request bodies; api_events.c: event
 * streams). The wire contract is docs/api.md; nothing here is used outside
 * api*.c.
 */
#ifndef TCD_API_H
#define TCD_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "tcd.h"

/* Limits that are not in tcd.yaml (docs/api.md states them). */
#define TCD_API_MAX_SET_LEN 4096  /* one `set` entry */
#define TCD_API_MAX_NAME_LEN 128  /* job name */
#define TCD_API_MAX_TIMEOUT_S 1e7 /* timeout_s */
#define TCD_API_MAX_PLUGIN_NAME 64
#define TCD_API_MAX_FIELDS 64 /* JSON values beyond the `set` or include/exclude entries */
#define TCD_API_MAX_KEY 256   /* schedule_key, idempotency_key (and the Idempotency-Key header) */
#define TCD_API_MAX_DEADLINE_S 1e7 /* deadline_s */

/* An HTTP-level error: status, code of docs/api.md (static string) and one line. */
typedef struct tcd_api__error {
    unsigned http;
    const char *code;
    char message[512];
} tcd_api__error;

/* Fill e; message is printf-style and cut to one line. */
void tcd_api__error_set(tcd_api__error *e, unsigned http, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A parsed POST /v1/jobs body; the strings are borrowed from root. */
#define TCD_API_MAX_REPO_ID 96   /* pull: ORG/NAME */
#define TCD_API_MAX_REVISION 256 /* pull: branch, tag or commit */
#define TCD_API_MAX_PATTERNS 256 /* pull: include + exclude patterns, each list */
#define TCD_API_MAX_PATTERN_LEN 1024
#define TCD_API_MAX_MESSAGE 4096 /* push: commit message */
#define TCD_API_MAX_SOURCE 4096  /* push: source directory path */

typedef struct tcd_api__create {
    cJSON *root;
    int pull; /* kind "pull" */
    int push; /* kind "push" */
    /* owned; pull: {repo, repo_type, revision, include, exclude}; push: {source, repo,
     * repo_type, branch, private, force, message, when} (message absent when not given) */
    cJSON *xfer_obj;
    const char *spec_yaml;
    const char **sets; /* n_sets entries, malloc'd array */
    size_t n_sets;
    const char *name; /* NULL: none */
    double timeout_s; /* 0: the default */
    /* train: scheduled runs (docs/api.md "Scheduled runs"); keys NULL when none */
    const char *schedule_key;
    const char *idempotency_key;
    int if_changed;
    tcd_concurrency concurrency;
    double deadline_s; /* 0: none */
} tcd_api__create;

/*
 * Check JSON text before parsing, so that cJSON never builds a tree a client
 * can blow up: no NUL byte or \u0000 escape, valid UTF-8, no raw control
 * character in a string, nesting of [ and { at most max_depth (400
 * invalid_json, naming the byte offset), and at most max_items commas + 1
 * (400 bad_request; bounds the node count). Returns 0 or -1 with e set.
 */
int tcd_api__json_scan(const char *s, size_t n, int max_depth, size_t max_items, tcd_api__error *e);

/*
 * Parse and validate a POST /v1/jobs body (body[len] must be '\0'). On
 * success returns 0 and fills out (release with tcd_api__create_dispose);
 * otherwise -1 with e set (400 invalid_json / bad_request, 500 on OOM).
 */
int tcd_api__create_parse(tcd_api__create *out, const char *body, size_t len, const tcd_limits *lim,
                          tcd_api__error *e);

/*
 * A schedule or idempotency key (field names the body field or header, for the message): 1..
 * TCD_API_MAX_KEY bytes of printable characters. 0, or -1 with e set (400 bad_request).
 */
int tcd_api__key_check(const char *field, const char *v, tcd_api__error *e);

/* Release what tcd_api__create_parse made; accepts a zeroed struct. */
void tcd_api__create_dispose(tcd_api__create *c);

/*
 * The response for GET /v1/jobs/{id}/events: NDJSON of the events after
 * `since`, and with follow, everything up to the job's result event. Returns
 * NULL with e set when the job is unknown or on error.
 */
struct MHD_Response *tcd_api__events_response(tcd_daemon *d, struct MHD_Connection *conn,
                                              const char *id, int64_t since, int follow,
                                              tcd_api__error *e);

/*
 * The /v1/schedules routes (api_schedules.c). seg: the path segments after "schedules". On
 * success returns the HTTP status (200, 201) with *out (owned by the caller); otherwise -1 with
 * e set, and *allow set for a 405.
 */
int tcd_api__schedules(tcd_daemon *d, const char *method, char *const *seg, size_t nseg,
                       const char *body, size_t body_len, const tcd_limits *lim, uid_t uid,
                       cJSON **out, const char **allow, tcd_api__error *e);

/* The schedules' lines of /v1/metrics (malloc'd; NULL on OOM). */
char *tcd_api__schedules_metrics(tcd_daemon *d);

#endif /* TCD_API_H */
