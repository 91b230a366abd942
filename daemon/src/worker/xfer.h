/*
 * xfer.h - what the Hub transfer commands (pull, push) share: progress lines
 * on a terminal, NDJSON progress/log/result events with --json, cancellation
 * and the snake_case error codes of the result event.
 */
#ifndef TCD_XFER_H
#define TCD_XFER_H

#include <stddef.h>
#include <stdint.h>

#include <tc/hub.h>

typedef struct tcd_xfer {
    int json, tty;
    const char *phase; /* "download" or "upload" */
    double t0, last_emit, last_rate_t;
    uint64_t last_rate_bytes;
    double rate; /* bytes/s, smoothed */
    uint64_t transferred;
    size_t files_total;
    int (*cancelled)(void *);
    void (*hook)(uint64_t transferred); /* test hooks, or NULL */
} tcd_xfer;

/* Start: phase, output modes and the clock. */
void tcd_xfer_init(tcd_xfer *x, const char *phase, int json, int (*cancelled)(void *));

/* Seconds since tcd_xfer_init. */
double tcd_xfer_elapsed(const tcd_xfer *x);

/* Callbacks for tc_hub_download_options / tc_hub_push_options, payload = the tcd_xfer. */
void tcd_xfer_progress(const tc_hub_progress *p, void *payload);
void tcd_xfer_notice(const char *message, void *payload);
int tcd_xfer_cancel(void *payload);

/* Clear the progress line of a terminal. */
void tcd_xfer_clear_line(const tcd_xfer *x);

/* The message on stderr and, with --json, {"type":"result","state":..,"error":{code,message}}. */
void tcd_xfer_fail(const tcd_xfer *x, const char *state, const char *code, const char *message);

/* The result event's error code of a failed libtchub call: "repo_not_found", "conflict", ... */
void tcd_xfer_error_code(int err, char *out, size_t cap);

/* "12.3 MB" */
void tcd_fmt_bytes(char *buf, size_t cap, double bytes);

#endif /* TCD_XFER_H */
