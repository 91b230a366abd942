/*
 * xfer.c - progress, notices, cancellation and results of the Hub transfer
 * commands (see xfer.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "worker.h"
#include "xfer.h"

#define XFER_EMIT_INTERVAL_S 0.2

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void update_rate(tcd_xfer *c, uint64_t transferred, double now)
{
    double dt = now - c->last_rate_t;

    if (dt < 0.1)
        return;
    {
        double inst = (double)(transferred - c->last_rate_bytes) / dt;
        c->rate = c->rate > 0 ? 0.5 * c->rate + 0.5 * inst : inst;
    }
    c->last_rate_t = now;
    c->last_rate_bytes = transferred;
}

void tcd_fmt_bytes(char *buf, size_t cap, double b)
{
    if (b >= 1e9)
        snprintf(buf, cap, "%.2f GB", b / 1e9);
    else if (b >= 1e6)
        snprintf(buf, cap, "%.1f MB", b / 1e6);
    else if (b >= 1e3)
        snprintf(buf, cap, "%.1f kB", b / 1e3);
    else
        snprintf(buf, cap, "%.0f B", b);
}

void tcd_xfer_init(tcd_xfer *x, const char *phase, int json, int (*cancelled)(void *))
{
    memset(x, 0, sizeof(*x));
    x->phase = phase;
    x->json = json;
    x->tty = isatty(STDERR_FILENO);
    x->cancelled = cancelled;
    x->t0 = x->last_rate_t = mono();
}

double tcd_xfer_elapsed(const tcd_xfer *x)
{
    return mono() - x->t0;
}

void tcd_xfer_clear_line(const tcd_xfer *x)
{
    if (x->tty)
        fputs("\r\033[K", stderr);
}

void tcd_xfer_progress(const tc_hub_progress *p, void *payload)
{
    tcd_xfer *c = payload;
    double now = mono();
    int file_end = p->path && p->file_done == p->file_total;

    if (c->hook)
        c->hook(p->transferred);
    c->transferred = p->transferred;
    c->files_total = p->files_total;
    update_rate(c, p->transferred, now);
    if (!file_end && now - c->last_emit < XFER_EMIT_INTERVAL_S)
        return;
    c->last_emit = now;
    if (c->tty) {
        char done[32], total[32], rate[32];
        tcd_fmt_bytes(done, sizeof done, (double)p->done);
        tcd_fmt_bytes(total, sizeof total, (double)p->total);
        tcd_fmt_bytes(rate, sizeof rate, c->rate);
        fprintf(stderr, "\r\033[K%zu/%zu files  %s/%s  %s/s  %s", p->files_done, p->files_total,
                done, total, rate, p->path ? p->path : "");
        fflush(stderr);
    }
    if (c->json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "progress");
        cJSON_AddStringToObject(e, "phase", c->phase);
        if (p->path) {
            cJSON_AddStringToObject(e, "file", p->path);
            cJSON_AddNumberToObject(e, "completed", (double)p->file_done);
            cJSON_AddNumberToObject(e, "total", (double)p->file_total);
        } else {
            cJSON_AddNumberToObject(e, "completed", (double)p->done);
            cJSON_AddNumberToObject(e, "total", (double)p->total);
        }
        cJSON_AddStringToObject(e, "unit", "bytes");
        cJSON_AddNumberToObject(e, "bytes_per_s", (double)(uint64_t)c->rate);
        cJSON_AddNumberToObject(e, "files_done", (double)p->files_done);
        cJSON_AddNumberToObject(e, "files_total", (double)p->files_total);
        cJSON_AddNumberToObject(e, "bytes_done", (double)p->done);
        cJSON_AddNumberToObject(e, "bytes_total", (double)p->total);
        tcd_emit(e);
    }
}

void tcd_xfer_notice(const char *message, void *payload)
{
    tcd_xfer *c = payload;

    if (c->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s\n", message);
    if (c->json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "log");
        cJSON_AddStringToObject(e, "level", "info");
        cJSON_AddStringToObject(e, "message", message);
        tcd_emit(e);
    }
}

int tcd_xfer_cancel(void *payload)
{
    tcd_xfer *c = payload;

    return c->cancelled(NULL);
}

/* "RepoNotFound" -> "repo_not_found". */
static void snake(char *out, size_t cap, const char *camel)
{
    size_t k = 0;

    for (; *camel && k + 2 < cap; camel++) {
        if (isupper((unsigned char)*camel)) {
            if (k)
                out[k++] = '_';
            out[k++] = (char)tolower((unsigned char)*camel);
        } else {
            out[k++] = *camel;
        }
    }
    out[k] = '\0';
}

void tcd_xfer_fail(const tcd_xfer *c, const char *state, const char *code, const char *message)
{
    fprintf(stderr, "tcd-worker: %s\n", message);
    if (c->json) {
        cJSON *e = cJSON_CreateObject(), *err = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "result");
        cJSON_AddStringToObject(e, "state", state);
        cJSON_AddStringToObject(err, "code", code);
        cJSON_AddStringToObject(err, "message", message);
        cJSON_AddItemToObject(e, "error", err);
        tcd_emit(e);
    }
}

void tcd_xfer_error_code(int err, char *out, size_t cap)
{
    tc_hub_error_kind k = tc_hub_error_kind_last();

    if (k != TC_HUB_ERR_NONE)
        snake(out, cap, tc_hub_error_kind_name(k));
    else
        snprintf(out, cap, "%s", tcd_error_code_name(err));
}
