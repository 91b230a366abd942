/*
 * pull.c - `tcd-worker pull TYPE ORG/NAME [--revision R] [--include G]... [--exclude G]...
 * [--json]`
 *
 * Downloads a repo snapshot into the huggingface_hub cache with libtchub.
 * The endpoint, token and cache come from the environment (HF_ENDPOINT,
 * HF_TOKEN, HF_HUB_CACHE, HF_HOME, HF_HUB_OFFLINE). With --json, stdout
 * carries progress events (phase "download", unit "bytes", at most about 5
 * a second plus one at the end of each file), log events for the library's
 * notices, and the result:
 *   {"type":"result","state":"succeeded","snapshot":DIR,
 *    "metrics":{"bytes_transferred":N,"files":N,"seconds":S}}
 * A failure gives {"type":"result","state":"failed","error":{"code":"repo_not_found",...}}
 * and exit 1; SIGTERM cancels (partial files stay for a later resume) with exit 3.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <tc/hub.h>

#include "worker.h"

#define PULL_EMIT_INTERVAL_S 0.2

typedef struct pull_ctx {
    int json, tty;
    double t0, last_emit, last_rate_t;
    uint64_t last_rate_bytes;
    double rate; /* bytes/s, smoothed */
    uint64_t transferred;
    size_t files_total;
    int (*cancelled)(void *);
} pull_ctx;

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void update_rate(pull_ctx *c, uint64_t transferred, double now)
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

static void fmt_bytes(char *buf, size_t cap, double b)
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

/*
 * Test hook: TCD_WORKER_PULL_KILL_AT=BYTES:FILE kills this process with
 * SIGKILL once BYTES came from the network, if FILE exists (it is removed
 * first, so only one worker dies), to test resume after a hard crash.
 */
static void maybe_kill(uint64_t transferred)
{
    const char *at = getenv("TCD_WORKER_PULL_KILL_AT");
    unsigned long long b = 0;
    int off = 0;

    if (at && sscanf(at, "%llu:%n", &b, &off) == 1 && off > 0 && transferred >= b &&
        unlink(at + off) == 0)
        raise(SIGKILL);
}

static void on_progress(const tc_hub_progress *p, void *payload)
{
    pull_ctx *c = payload;
    double now = mono();
    int file_end = p->path && p->file_done == p->file_total;

    maybe_kill(p->transferred);
    c->transferred = p->transferred;
    c->files_total = p->files_total;
    update_rate(c, p->transferred, now);
    if (!file_end && now - c->last_emit < PULL_EMIT_INTERVAL_S)
        return;
    c->last_emit = now;
    if (c->tty) {
        char done[32], total[32], rate[32];
        fmt_bytes(done, sizeof done, (double)p->done);
        fmt_bytes(total, sizeof total, (double)p->total);
        fmt_bytes(rate, sizeof rate, c->rate);
        fprintf(stderr, "\r\033[K%zu/%zu files  %s/%s  %s/s  %s", p->files_done, p->files_total,
                done, total, rate, p->path ? p->path : "");
        fflush(stderr);
    }
    if (c->json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "progress");
        cJSON_AddStringToObject(e, "phase", "download");
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

static void on_notice(const char *message, void *payload)
{
    pull_ctx *c = payload;

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

static int on_cancel(void *payload)
{
    pull_ctx *c = payload;

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

static void pull_fail(pull_ctx *c, const char *state, const char *code, const char *message)
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

static int pull_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "tcd-worker pull: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    fprintf(stderr, "usage: tcd-worker pull model|dataset ORG/NAME [--revision R] [--include G]... "
                    "[--exclude G]... [--json]\n");
    return 2;
}

int tcd_cmd_pull(int argc, char **argv, int (*cancelled)(void *))
{
    const char **inc = calloc((size_t)argc + 1, sizeof(char *));
    const char **exc = calloc((size_t)argc + 1, sizeof(char *));
    const char *type = NULL, *repo = NULL, *revision = NULL;
    size_t n_inc = 0, n_exc = 0;
    tc_hub_download_options o;
    tc_hub_client *client = NULL;
    tc_hub_repo_type rt;
    pull_ctx c;
    char *snap = NULL, code[64];
    int i, err, rc;

    memset(&c, 0, sizeof c);
    c.cancelled = cancelled;
    if (!inc || !exc) {
        free(inc);
        free(exc);
        return 1;
    }
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            c.json = 1;
        } else if (!strcmp(argv[i], "--revision") && i + 1 < argc) {
            revision = argv[++i];
        } else if (!strncmp(argv[i], "--revision=", 11)) {
            revision = argv[i] + 11;
        } else if (!strcmp(argv[i], "--include") && i + 1 < argc) {
            inc[n_inc++] = argv[++i];
        } else if (!strncmp(argv[i], "--include=", 10)) {
            inc[n_inc++] = argv[i] + 10;
        } else if (!strcmp(argv[i], "--exclude") && i + 1 < argc) {
            exc[n_exc++] = argv[++i];
        } else if (!strncmp(argv[i], "--exclude=", 10)) {
            exc[n_exc++] = argv[i] + 10;
        } else if (argv[i][0] == '-' || (type && repo)) {
            rc = pull_usage("unexpected argument", argv[i]);
            goto out;
        } else if (!type) {
            type = argv[i];
        } else {
            repo = argv[i];
        }
    }
    if (!type || !repo) {
        rc = pull_usage("needs a type and a repo id", NULL);
        goto out;
    }
    if (!strcmp(type, "model")) {
        rt = TC_HUB_REPO_MODEL;
    } else if (!strcmp(type, "dataset")) {
        rt = TC_HUB_REPO_DATASET;
    } else {
        rc = pull_usage("the type must be model or dataset, not", type);
        goto out;
    }
    c.tty = isatty(STDERR_FILENO);
    c.t0 = c.last_rate_t = mono();
    if ((err = tc_hub_client_new(&client, NULL)) != TC_OK) {
        pull_fail(&c, "failed", "invalid_argument", tc_error_message());
        rc = 78;
        goto out;
    }
    tc_hub_download_options_init(&o, TC_HUB_DOWNLOAD_OPTIONS_VERSION);
    o.allow_patterns = n_inc ? inc : NULL;
    o.n_allow = n_inc;
    o.ignore_patterns = n_exc ? exc : NULL;
    o.n_ignore = n_exc;
    o.progress = on_progress;
    o.cancel = on_cancel;
    o.notice = on_notice;
    o.payload = &c;
    err = tc_hub_snapshot_download(&snap, client, rt, repo, revision, &o);
    if (c.tty)
        fputs("\r\033[K", stderr);
    if (err == TC_OK) {
        double secs = mono() - c.t0;
        if (c.json) {
            cJSON *e = cJSON_CreateObject(), *m;
            cJSON_AddStringToObject(e, "type", "result");
            cJSON_AddStringToObject(e, "state", "succeeded");
            cJSON_AddStringToObject(e, "snapshot", snap);
            m = cJSON_AddObjectToObject(e, "metrics");
            cJSON_AddNumberToObject(m, "bytes_transferred", (double)c.transferred);
            cJSON_AddNumberToObject(m, "files", (double)c.files_total);
            cJSON_AddNumberToObject(m, "seconds", (double)(long)(secs * 1000) / 1000.0);
            tcd_emit(e);
        } else {
            char b[32];
            fmt_bytes(b, sizeof b, (double)c.transferred);
            fprintf(stderr, "%zu files, %s transferred in %.1f s\n", c.files_total, b, secs);
            printf("%s\n", snap);
        }
        rc = 0;
    } else if (err == TC_ECANCELLED || cancelled(NULL)) {
        pull_fail(&c, "cancelled", "cancelled", "cancelled; partial files are kept for a resume");
        rc = 3;
    } else {
        tc_hub_error_kind k = tc_hub_error_kind_last();
        if (k != TC_HUB_ERR_NONE)
            snake(code, sizeof code, tc_hub_error_kind_name(k));
        else
            snprintf(code, sizeof code, "%s", tcd_error_code_name(err));
        pull_fail(&c, "failed", code, tc_error_message());
        rc = 1;
    }
out:
    tc_free(snap);
    tc_hub_client_free(client);
    free(inc);
    free(exc);
    return rc;
}
