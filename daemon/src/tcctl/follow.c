/*
 * follow.c - the commands that read a job's event stream: train, pull and
 * push (submit, then follow unless --detach), wait and logs.
 *
 * A follower reads GET /v1/jobs/{id}/events?since=N[&follow=1] line by line,
 * skips events it has seen (seq <= last seq), renders them, and stops at the
 * `result` event. When a followed stream drops (the daemon restarts, or ends
 * the stream without a result), it reconnects with since=<last seq>,
 * retrying a lost daemon with backoff for TCCTL_RECONNECT_S before giving up
 * with TCCTL_EXIT_UNAVAILABLE.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tcctl.h"

#define BAR_WIDTH 30
#define BAR_MIN_INTERVAL 0.1 /* seconds between redraws */

typedef struct follower {
    tcctl_ctx *c;
    const char *id;
    long long last_seq; /* highest seq seen */
    int epochs;         /* train.epochs, 0 when unknown */
    int follow;         /* follow=1: wait for the result */
    int human;          /* render events as text on `out` */
    int raw;            /* print lines as received on stdout (logs --json) */
    int show_bar;       /* draw progress as a bar on stderr */
    int quiet_result;   /* leave the result event to report_outcome */
    int pull;           /* a pull job: per-file download progress, the snapshot at the end */
    int push;           /* a push job: per-file upload progress, the commit URL at the end */
    FILE *out;
    double min_ts; /* render only events at or after this time (wait) */
    int bar_shown; /* a bar is on screen (stderr) */
    double bar_drawn_at;
    unsigned long lines; /* events read, for telling a stalled stream from a moving one */
    cJSON *result;       /* the result event, owned */
    char *result_line;
} follower;

static void sleep_s(double s)
{
    struct timespec ts;

    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !tcctl_interrupted)
        ;
}

static void bar_clear(follower *f)
{
    if (f->bar_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        f->bar_shown = 0;
    }
}

static void fmt_epoch(char *buf, size_t cap, const follower *f, double epoch)
{
    if (!isfinite(epoch))
        buf[0] = '\0';
    else if (f->epochs)
        snprintf(buf, cap, "epoch %.0f/%d", epoch, f->epochs);
    else
        snprintf(buf, cap, "epoch %.0f", epoch);
}

static void draw_bar(follower *f, const cJSON *ev)
{
    double done = tcctl_json_num(ev, "completed"), total = tcctl_json_num(ev, "total");
    double loss = tcctl_json_num(ev, "loss"), now = tcctl_now();
    const char *phase = tcctl_json_str(ev, "phase");
    char label[64], bar[BAR_WIDTH + 1];
    int filled = 0, i;

    if (!isfinite(done))
        return;
    if (f->bar_shown && now - f->bar_drawn_at < BAR_MIN_INTERVAL && done != total)
        return;
    fmt_epoch(label, sizeof(label), f, tcctl_json_num(ev, "epoch"));
    if (!label[0])
        snprintf(label, sizeof(label), "%s", phase && *phase ? phase : "progress");
    if (isfinite(total) && total > 0)
        filled = (int)(BAR_WIDTH * (done > total ? total : done) / total);
    for (i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r\033[K%s [%s] %.0f/%.0f", label, bar, done, isfinite(total) ? total : 0);
    if (isfinite(loss))
        fprintf(stderr, " loss %.4f", loss);
    if (isfinite(total) && total > 0 && done >= total) {
        fputc('\n', stderr); /* a finished bar stays on screen */
        f->bar_shown = 0;
    } else {
        f->bar_shown = 1;
    }
    fflush(stderr);
    f->bar_drawn_at = now;
}

/* A download or upload progress event: a bar on a TTY, else one line per finished file. */
static void render_transfer(follower *f, const cJSON *ev, double ts, const char *phase)
{
    double done = tcctl_json_num(ev, "completed"), total = tcctl_json_num(ev, "total");
    double rate = tcctl_json_num(ev, "bytes_per_s"), now = tcctl_now();
    double fd = tcctl_json_num(ev, "files_done"), ft = tcctl_json_num(ev, "files_total");
    const char *file = tcctl_json_str(ev, "file");
    char d[32], t[32], r[32], clock[16], bar[BAR_WIDTH + 1];
    int finished = isfinite(done) && isfinite(total) && done >= total, filled = 0, i;

    tcctl_fmt_bytes(d, sizeof d, done);
    tcctl_fmt_bytes(t, sizeof t, total);
    tcctl_fmt_bytes(r, sizeof r, isfinite(rate) ? rate : 0);
    if (f->show_bar) {
        if (f->bar_shown && now - f->bar_drawn_at < BAR_MIN_INTERVAL && !finished)
            return;
        if (isfinite(total) && total > 0 && isfinite(done))
            filled = (int)(BAR_WIDTH * (done > total ? total : done) / total);
        for (i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %s/%s %s/s", file ? file : phase, bar, d, t, r);
        if (isfinite(fd) && isfinite(ft))
            fprintf(stderr, " (%.0f/%.0f files)", fd, ft);
        if (finished && file) {
            fputc('\n', stderr);
            f->bar_shown = 0;
        } else {
            f->bar_shown = 1;
        }
        fflush(stderr);
        f->bar_drawn_at = now;
        return;
    }
    if (!finished || !file)
        return;
    tcctl_fmt_clock(clock, sizeof(clock), isfinite(ts) ? ts : now);
    fprintf(f->out, "[%s] %s %s/%s %s/s", clock, file, d, t, r);
    if (isfinite(fd) && isfinite(ft))
        fprintf(f->out, " (%.0f/%.0f files)", fd, ft);
    fputc('\n', f->out);
    fflush(f->out);
}

static void render_result(follower *f, const cJSON *ev, const char *stamp)
{
    const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(ev, "metrics");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(ev, "error");
    const char *output = tcctl_json_str(ev, "output"), *msg = tcctl_json_str(err, "message");

    fprintf(f->out, "%sresult %s", stamp,
            tcctl_json_str(ev, "state") ? tcctl_json_str(ev, "state") : "?");
    tcctl_fmt_metrics(f->out, metrics);
    if (msg)
        fprintf(f->out, ": %s", msg);
    if (output && *output)
        fprintf(f->out, " (output %s)", output);
    if (tcctl_json_str(ev, "snapshot"))
        fprintf(f->out, " (snapshot %s)", tcctl_json_str(ev, "snapshot"));
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ev, "pushed")))
        fprintf(f->out, " (%s)",
                tcctl_json_str(ev, "reason") ? tcctl_json_str(ev, "reason") : "not pushed");
    else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ev, "changed")))
        fprintf(f->out, " (nothing changed; no commit)");
    else if (tcctl_json_str(ev, "url"))
        fprintf(f->out, " (commit %s)", tcctl_json_str(ev, "url"));
    fputc('\n', f->out);
}

static void render_event(follower *f, const cJSON *ev, const char *type)
{
    char stamp[32], clock[16], ep[64], num[48];
    double ts = tcctl_json_num(ev, "ts");

    if (isfinite(ts) && isfinite(f->min_ts) && ts < f->min_ts)
        return;
    if (!strcmp(type, "progress")) {
        double done = tcctl_json_num(ev, "completed"), total = tcctl_json_num(ev, "total");
        double loss = tcctl_json_num(ev, "loss");
        const char *unit = tcctl_json_str(ev, "unit"), *phase = tcctl_json_str(ev, "phase");

        if (phase && (!strcmp(phase, "download") || !strcmp(phase, "upload"))) {
            render_transfer(f, ev, ts, phase);
            return;
        }
        if (f->show_bar) {
            draw_bar(f, ev);
            return;
        }
        /* without a bar: one line when an epoch (or phase) completes */
        if (!isfinite(done) || !isfinite(total) || total <= 0 || done < total)
            return;
        fmt_epoch(ep, sizeof(ep), f, tcctl_json_num(ev, "epoch"));
        if (!ep[0])
            snprintf(ep, sizeof(ep), "%s", phase && *phase ? phase : "progress");
        tcctl_fmt_clock(clock, sizeof(clock), isfinite(ts) ? ts : tcctl_now());
        fprintf(f->out, "[%s] %s %.0f/%.0f %s", clock, ep, done, total, unit ? unit : "");
        if (isfinite(loss))
            fprintf(f->out, " loss %.4f", loss);
        fputc('\n', f->out);
        return;
    }
    bar_clear(f);
    tcctl_fmt_clock(clock, sizeof(clock), isfinite(ts) ? ts : tcctl_now());
    snprintf(stamp, sizeof(stamp), "[%s] ", clock);
    if (!strcmp(type, "log")) {
        const char *level = tcctl_json_str(ev, "level"), *msg = tcctl_json_str(ev, "message");

        fprintf(f->out, "%s%s%s\n", stamp,
                level && (!strcmp(level, "warn") || !strcmp(level, "error")) ? "warning: " : "",
                msg ? msg : "");
    } else if (!strcmp(type, "metric")) {
        double epoch = tcctl_json_num(ev, "epoch");

        tcctl_fmt_number(num, sizeof(num), tcctl_json_num(ev, "value"));
        fprintf(f->out, "%s%s=%s", stamp,
                tcctl_json_str(ev, "name") ? tcctl_json_str(ev, "name") : "?", num);
        if (isfinite(epoch))
            fprintf(f->out, " (epoch %.0f)", epoch);
        fputc('\n', f->out);
    } else if (!strcmp(type, "state")) {
        const char *reason = tcctl_json_str(ev, "reason");

        fprintf(f->out, "%sstate %s%s%s%s\n", stamp,
                tcctl_json_str(ev, "state") ? tcctl_json_str(ev, "state") : "?", reason ? " (" : "",
                reason ? reason : "", reason ? ")" : "");
    } else if (!strcmp(type, "result")) {
        if (!f->quiet_result)
            render_result(f, ev, stamp);
    } else {
        fprintf(f->out, "%s%s event\n", stamp, type);
    }
    fflush(f->out);
}

static int on_line(const char *line, size_t len, void *payload)
{
    follower *f = payload;
    cJSON *ev = cJSON_ParseWithLength(line, len);
    const char *type = tcctl_json_str(ev, "type");
    double seq = tcctl_json_num(ev, "seq");

    f->lines++;
    if (!ev || !type) {
        cJSON_Delete(ev);
        return 0; /* not an event: ignore it */
    }
    if (isfinite(seq)) {
        if ((long long)seq <= f->last_seq) {
            cJSON_Delete(ev);
            return 0; /* seen before a reconnect */
        }
        f->last_seq = (long long)seq;
    }
    if (f->raw) {
        fwrite(line, 1, len, stdout);
        putchar('\n');
        fflush(stdout);
    } else if (f->human) {
        render_event(f, ev, type);
    }
    if (!strcmp(type, "result")) {
        f->result = ev;
        f->result_line = strdup(line);
        return 1;
    }
    cJSON_Delete(ev);
    return 0;
}

/*
 * A followed stream ended without a result event. If the job is finished,
 * make its result from the job object and return 1; return 0 when it is not
 * finished (or the job could not be read: follow again); -1 with *rc set
 * when out of memory.
 */
static int result_from_job(follower *f, int *rc)
{
    char path[64];
    tcctl_response r;
    const char *state;
    cJSON *ev;

    snprintf(path, sizeof(path), "/v1/jobs/%s", f->id);
    if (tcctl_request(f->c, "GET", path, NULL, 0, &r) != TCCTL_NET_OK || r.status != 200) {
        tcctl_response_dispose(&r);
        return 0; /* try the stream again */
    }
    state = tcctl_json_str(r.json, "state");
    if (tcctl_state_exit(state) < 0) {
        tcctl_response_dispose(&r);
        return 0;
    }
    ev = cJSON_CreateObject();
    if (ev) {
        cJSON *metrics = cJSON_DetachItemFromObjectCaseSensitive(r.json, "result");

        cJSON_AddStringToObject(ev, "job", f->id);
        cJSON_AddStringToObject(ev, "type", "result");
        cJSON_AddStringToObject(ev, "state", state);
        cJSON_AddItemToObject(ev, "metrics", metrics ? metrics : cJSON_CreateNull());
        if (tcctl_json_str(r.json, "output"))
            cJSON_AddStringToObject(ev, "output", tcctl_json_str(r.json, "output"));
        f->result = ev;
        f->result_line = cJSON_PrintUnformatted(ev);
    }
    tcctl_response_dispose(&r);
    if (!f->result || !f->result_line) {
        fputs("tcctl: out of memory\n", stderr);
        *rc = TCCTL_EXIT_FAILED;
        return -1;
    }
    return 1;
}

static int timed_out(follower *f, const char *timeout_text)
{
    bar_clear(f);
    fprintf(stderr, "tcctl: %s did not finish within %s (it goes on; `tcctl cancel %s` stops it)\n",
            f->id, timeout_text ? timeout_text : "the timeout", f->id);
    return TCCTL_EXIT_TIMEOUT;
}

/*
 * Read the events of f->id until the result (follow) or the end of the
 * stream. deadline: absolute time for a client-side timeout, 0 for none.
 * Returns TCCTL_EXIT_OK when done (f->result set if one came), else the
 * exit status, reported.
 */
static int follow_events(follower *f, double deadline, const char *timeout_text)
{
    double lost_since = 0, backoff = 0.25;
    int rc = TCCTL_EXIT_OK, lost_reported = 0;

    tcctl_catch_signals();
    for (;;) {
        char path[160];
        tcctl_response r;
        tcctl_net net;
        long tmo = 0;
        int lost = 0;
        unsigned long lines_before = f->lines;

        if (deadline > 0) {
            double left = deadline - tcctl_now();

            if (left <= 0)
                return timed_out(f, timeout_text);
            tmo = (long)(left * 1000) + 1;
        }
        snprintf(path, sizeof(path), "/v1/jobs/%s/events?since=%lld%s", f->id, f->last_seq,
                 f->follow ? "&follow=1" : "");
        net = tcctl_stream(f->c, path, tmo, on_line, f, &r);
        if (f->result) {
            tcctl_response_dispose(&r);
            bar_clear(f);
            return TCCTL_EXIT_OK;
        }
        if (net == TCCTL_NET_INTERRUPTED || tcctl_interrupted) {
            tcctl_response_dispose(&r);
            bar_clear(f);
            if (!f->c->quiet && !f->c->json)
                fprintf(stderr, "tcctl: stopped following %s; the job goes on (`tcctl wait %s`)\n",
                        f->id, f->id);
            return 128 + (int)tcctl_interrupted;
        }
        if (net == TCCTL_NET_TIMEOUT && deadline > 0 && tcctl_now() >= deadline - 0.01) {
            tcctl_response_dispose(&r);
            return timed_out(f, timeout_text);
        }
        if (net == TCCTL_NET_OK && r.status == 200) {
            tcctl_response_dispose(&r);
            lost_since = 0;
            backoff = 0.25;
            if (!f->follow)
                return TCCTL_EXIT_OK;
            switch (result_from_job(f, &rc)) {
            case 1: bar_clear(f); return TCCTL_EXIT_OK;
            case -1: return rc;
            default: break;
            }
            sleep_s(0.2);
            continue;
        }
        if (net == TCCTL_NET_OK && r.status == 503 && f->follow) {
            lost = 1;
        } else if (net == TCCTL_NET_OK) {
            bar_clear(f);
            rc = tcctl_http_error(&r);
            tcctl_response_dispose(&r);
            return rc;
        }
        tcctl_response_dispose(&r);
        if (net == TCCTL_NET_CONNECT || net == TCCTL_NET_BROKEN || net == TCCTL_NET_TIMEOUT)
            lost = f->follow;
        if (lost && f->lines != lines_before) {
            /* the stream was moving when it broke: start the retry clock afresh */
            lost_since = 0;
            backoff = 0.25;
        }
        if (!lost) {
            bar_clear(f);
            return tcctl_net_report(f->c, net);
        }
        if (!lost_since)
            lost_since = tcctl_now();
        if (tcctl_now() - lost_since > TCCTL_RECONNECT_S) {
            bar_clear(f);
            fprintf(stderr, "tcctl: gave up reconnecting after %.0f s\n", TCCTL_RECONNECT_S);
            return tcctl_net_report(f->c, TCCTL_NET_CONNECT);
        }
        if (!lost_reported && !f->c->quiet && !f->c->json) {
            bar_clear(f);
            fprintf(stderr, "tcctl: lost the connection to tcd, reconnecting...\n");
            lost_reported = 1;
        }
        sleep_s(backoff); /* a signal cuts it short; the loop then reports it */
        backoff = backoff * 2 > 4 ? 4 : backoff * 2;
    }
}

static void follower_init(follower *f, tcctl_ctx *c, const char *id)
{
    memset(f, 0, sizeof(*f));
    f->c = c;
    f->id = id;
    f->out = stderr;
    f->min_ts = NAN;
}

static void follower_dispose(follower *f)
{
    cJSON_Delete(f->result);
    free(f->result_line);
    f->result = NULL;
    f->result_line = NULL;
}

/* A string or bool of a push result: the event's own member, else the one in its metrics. */
static const cJSON *push_result_item(const follower *f, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->result, key);

    if (!v)
        v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f->result, "metrics"),
                                             key);
    return v;
}

/*
 * A succeeded push: a summary on stderr, then the commit URL on stdout, or "nothing changed;
 * no commit" when the Hub already had everything (-q: the URL either way).
 */
static int report_pushed(follower *f)
{
    const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(f->result, "metrics");
    const cJSON *url = push_result_item(f, "url"), *commit = push_result_item(f, "commit");
    const char *where = cJSON_IsString(url)      ? url->valuestring
                        : cJSON_IsString(commit) ? commit->valuestring
                                                 : "";
    int unchanged = cJSON_IsFalse(push_result_item(f, "changed"));

    if (!f->c->quiet) {
        char b[32];
        double up = tcctl_json_num(metrics, "lfs_uploaded"),
               skip = tcctl_json_num(metrics, "lfs_skipped");
        double bytes = tcctl_json_num(metrics, "bytes_uploaded"),
               secs = tcctl_json_num(metrics, "seconds");
        double files = tcctl_json_num(metrics, "files");

        tcctl_fmt_bytes(b, sizeof b, isfinite(bytes) ? bytes : 0);
        fprintf(stderr,
                "%s succeeded: %.0f files; LFS objects: %.0f uploaded (%s), %.0f already on the "
                "Hub; %.1f s\n",
                f->id, isfinite(files) ? files : 0, isfinite(up) ? up : 0, b,
                isfinite(skip) ? skip : 0, isfinite(secs) ? secs : 0);
    }
    if (f->c->silent)
        return TCCTL_EXIT_OK;
    if (cJSON_IsString(push_result_item(f, "rolled_back_to")) && !f->c->quiet)
        fprintf(stderr, "rolled back to %.12s, the champion before %.12s\n",
                push_result_item(f, "rolled_back_to")->valuestring,
                cJSON_IsString(push_result_item(f, "previous"))
                    ? push_result_item(f, "previous")->valuestring
                    : "?");
    if (unchanged && !f->c->quiet)
        printf("nothing changed; no commit\n");
    else
        printf("%s\n", where);
    return TCCTL_EXIT_OK;
}

/*
 * A succeeded push job: report_pushed, or for a push that was not made (when improved, and the
 * run does not beat the model on the Hub) the worker's reason line on stdout ("not pushed: ...";
 * -q: nothing).
 */
static int report_push(follower *f)
{
    const cJSON *reason = push_result_item(f, "reason");

    if (!cJSON_IsFalse(push_result_item(f, "pushed")))
        return report_pushed(f);
    if (!f->c->quiet)
        printf("%s\n", cJSON_IsString(reason) ? reason->valuestring : "not pushed");
    return TCCTL_EXIT_OK;
}

/* Print the outcome of a followed job and return its exit status. */
static int report_outcome(follower *f)
{
    const char *state = tcctl_json_str(f->result, "state");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(f->result, "error");
    const char *msg = tcctl_json_str(err, "message");
    int rc = tcctl_state_exit(state);

    if (rc < 0)
        rc = TCCTL_EXIT_FAILED;
    if (f->c->json) {
        printf("%s\n", f->result_line);
        return rc;
    }
    if (f->pull && rc == TCCTL_EXIT_OK) {
        const char *snap = tcctl_json_str(f->result, "snapshot");
        const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(f->result, "metrics");

        if (!snap)
            snap = tcctl_json_str(metrics, "snapshot");
        if (!f->c->quiet) {
            char b[32];
            double bt = tcctl_json_num(metrics, "bytes_transferred");
            double secs = tcctl_json_num(metrics, "seconds");
            tcctl_fmt_bytes(b, sizeof b, isfinite(bt) ? bt : 0);
            fprintf(stderr, "%s succeeded: %.0f files, %s transferred in %.1f s\n", f->id,
                    isfinite(tcctl_json_num(metrics, "files")) ? tcctl_json_num(metrics, "files")
                                                               : 0,
                    b, isfinite(secs) ? secs : 0);
        }
        printf("%s\n", snap ? snap : "");
        return rc;
    }
    if (f->push && rc == TCCTL_EXIT_OK)
        return report_push(f);
    if (f->c->quiet)
        return rc;
    if (rc == TCCTL_EXIT_OK) {
        const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(f->result, "metrics");
        const char *output = tcctl_json_str(f->result, "output");

        printf("%s succeeded", f->id);
        tcctl_fmt_metrics(stdout, metrics);
        putchar('\n');
        if (output && *output)
            printf("output: %s\n", output);
        return rc;
    }
    if (!msg) {
        char path[64];
        tcctl_response r;

        snprintf(path, sizeof(path), "/v1/jobs/%s", f->id);
        if (tcctl_request(f->c, "GET", path, NULL, 0, &r) == TCCTL_NET_OK && r.status == 200 &&
            tcctl_json_str(r.json, "reason"))
            fprintf(stderr, "tcctl: job %s %s: %s\n", f->id, state ? state : "ended",
                    tcctl_json_str(r.json, "reason"));
        else
            fprintf(stderr, "tcctl: job %s %s\n", f->id, state ? state : "ended");
        tcctl_response_dispose(&r);
    } else {
        fprintf(stderr, "tcctl: job %s %s: %s\n", f->id, state ? state : "ended", msg);
    }
    return rc;
}

/* ---- train -------------------------------------------------------------------------------- */

/* Read a spec file, at most TCCTL_MAX_SPEC bytes. *out malloc'd, NUL-terminated. */
static int read_spec(const char *path, char **out)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t n;

    *out = NULL;
    if (!fp) {
        fprintf(stderr, "tcctl: cannot read spec '%s': %s\n", path, strerror(errno));
        return TCCTL_EXIT_CONFIG;
    }
    buf = malloc(TCCTL_MAX_SPEC + 2);
    if (!buf) {
        fclose(fp);
        fputs("tcctl: out of memory\n", stderr);
        return TCCTL_EXIT_FAILED;
    }
    n = fread(buf, 1, TCCTL_MAX_SPEC + 1, fp);
    if (ferror(fp)) {
        fprintf(stderr, "tcctl: cannot read spec '%s': %s\n", path, strerror(errno));
        fclose(fp);
        free(buf);
        return TCCTL_EXIT_CONFIG;
    }
    fclose(fp);
    if (n > TCCTL_MAX_SPEC) {
        fprintf(stderr, "tcctl: spec '%s' is larger than %zu KiB\n", path, TCCTL_MAX_SPEC >> 10);
        free(buf);
        return TCCTL_EXIT_CONFIG;
    }
    if (memchr(buf, '\0', n)) {
        fprintf(stderr, "tcctl: spec '%s' is not a text file\n", path);
        free(buf);
        return TCCTL_EXIT_CONFIG;
    }
    buf[n] = '\0';
    *out = buf;
    return TCCTL_EXIT_OK;
}

#define TCCTL_MAX_KEY 256 /* schedule and idempotency keys (docs/api.md) */

typedef struct train_args {
    const char *spec;
    const char *sets[TCCTL_MAX_SETS];
    int n_sets;
    const char *name;
    const char *timeout;
    double timeout_s;
    int detach;
    /* scheduled runs */
    int if_changed;
    const char *concurrency;      /* NULL: allow */
    int skip_exit;                /* exit status of a concurrency_forbid skip */
    const char *deadline;         /* as given */
    double deadline_s;            /* 0: none */
    const char *schedule_flag;    /* --schedule-key */
    const char *idempotency_flag; /* --idempotency-key */
    int no_idempotency;
    int scheduled; /* any of the above: the default keys, cron-quiet -q, the outcome line */
    char schedule_key[TCCTL_MAX_KEY + 1];
    char idempotency_key[TCCTL_MAX_KEY + 1]; /* "" when none */
} train_args;

/*
 * POST a job body and take the new job's id into id. With detach, print the
 * job (--json) or its id, as `train --detach` and `pull --detach` do.
 * Returns 0 or a tcctl exit code; r is filled for the caller to dispose.
 */
static int job_taken(tcctl_ctx *c, tcctl_response *r, char *id, size_t cap, int detach);

static int submit_job(tcctl_ctx *c, const char *body, tcctl_response *r, char *id, size_t cap,
                      int detach)
{
    int rc = tcctl_call(c, "POST", "/v1/jobs", body, r);

    return rc ? rc : job_taken(c, r, id, cap, detach);
}

/* The job of a 2xx answer to POST /v1/jobs into id, printed with detach (see submit_job). */
static int job_taken(tcctl_ctx *c, tcctl_response *r, char *id, size_t cap, int detach)
{
    if (!tcctl_job_id_valid(tcctl_json_str(r->json, "id"))) {
        fputs("tcctl: tcd created a job without a valid id\n", stderr);
        return TCCTL_EXIT_FAILED;
    }
    snprintf(id, cap, "%s", tcctl_json_str(r->json, "id"));
    if (detach && !c->silent) {
        if (c->json)
            printf("%.*s\n", (int)r->len, r->body);
        else
            printf("%s\n", id);
    }
    return 0;
}

/* A schedule or idempotency key: 1..TCCTL_MAX_KEY bytes without control characters. */
static int key_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TCCTL_MAX_KEY)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* The scheduling flags of train; 1 if consumed, 0 if argv[*i] is none, -1 on a usage error. */
static int parse_schedule_flag(train_args *a, int argc, char **argv, int *i)
{
    const char *v = NULL;
    char *end;
    long n;
    int r;

    if (!strcmp(argv[*i], "--if-changed"))
        return a->if_changed = 1;
    if (!strcmp(argv[*i], "--no-idempotency-key"))
        return a->no_idempotency = 1;
    if ((r = tcctl_opt_value("train", argc, argv, i, "--schedule-key", &a->schedule_flag)) != 0) {
        if (r > 0 && !key_ok(a->schedule_flag))
            return tcctl_usage_error("train",
                                     "--schedule-key wants 1..%d bytes without control "
                                     "characters",
                                     TCCTL_MAX_KEY),
                   -1;
        return r;
    }
    if ((r = tcctl_opt_value("train", argc, argv, i, "--idempotency-key", &a->idempotency_flag)) !=
        0) {
        if (r > 0 && !key_ok(a->idempotency_flag))
            return tcctl_usage_error("train",
                                     "--idempotency-key wants 1..%d bytes without control "
                                     "characters",
                                     TCCTL_MAX_KEY),
                   -1;
        return r;
    }
    if ((r = tcctl_opt_value("train", argc, argv, i, "--concurrency", &a->concurrency)) != 0) {
        if (r > 0 && strcmp(a->concurrency, "allow") && strcmp(a->concurrency, "forbid") &&
            strcmp(a->concurrency, "replace"))
            return tcctl_usage_error("train",
                                     "--concurrency wants allow, forbid or replace; got '%s'",
                                     a->concurrency),
                   -1;
        return r;
    }
    if ((r = tcctl_opt_value("train", argc, argv, i, "--deadline", &a->deadline)) != 0) {
        if (r > 0 &&
            ((a->deadline_s = tcctl_parse_duration(a->deadline)) <= 0 || a->deadline_s > 1e7))
            return tcctl_usage_error("train",
                                     "--deadline wants a duration like 90, 30s, 15m, 2h (at most "
                                     "1e7 s); got '%s'",
                                     a->deadline),
                   -1;
        return r;
    }
    if ((r = tcctl_opt_value("train", argc, argv, i, "--skip-exit-code", &v)) != 0) {
        if (r < 0)
            return -1;
        n = strtol(v, &end, 10);
        if (end == v || *end || n < 0 || n > 255)
            return tcctl_usage_error("train", "--skip-exit-code wants 0..255, got '%s'", v), -1;
        a->skip_exit = (int)n;
        return 1;
    }
    return 0;
}

static int parse_train(tcctl_ctx *c, int argc, char **argv, train_args *a)
{
    int i, wait = 0;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;

        if (tcctl_is_help(argv[i]))
            return tcctl_help("train"), -1;
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (!strcmp(argv[i], "--detach") || !strcmp(argv[i], "-d")) {
            a->detach = 1;
            continue;
        }
        if (!strcmp(argv[i], "--wait")) {
            wait = 1;
            continue;
        }
        if ((r = parse_schedule_flag(a, argc, argv, &i)) != 0) {
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            continue;
        }
        if ((r = tcctl_opt_value("train", argc, argv, &i, "--set", &v)) != 0) {
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            if (!strchr(v, '=') || v[0] == '=')
                return tcctl_usage_error("train", "--set wants SECTION.KEY=VALUE, got '%s'", v);
            if (a->n_sets == TCCTL_MAX_SETS)
                return tcctl_usage_error("train", "at most %d --set values", TCCTL_MAX_SETS);
            a->sets[a->n_sets++] = v;
            continue;
        }
        if ((r = tcctl_opt_value("train", argc, argv, &i, "--name", &a->name)) != 0) {
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            continue;
        }
        if ((r = tcctl_opt_value("train", argc, argv, &i, "--timeout", &a->timeout)) != 0) {
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            a->timeout_s = tcctl_parse_duration(a->timeout);
            if (a->timeout_s <= 0)
                return tcctl_usage_error(
                    "train", "--timeout wants a duration like 90, 30s, 15m, 2h; got '%s'",
                    a->timeout);
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return tcctl_usage_error("train", "unknown flag '%s'", argv[i]);
        if (a->spec)
            return tcctl_usage_error("train", "one spec file only (got '%s' and '%s')", a->spec,
                                     argv[i]);
        a->spec = argv[i];
    }
    if (wait && a->detach)
        return tcctl_usage_error("train", "--wait and --detach exclude each other");
    if (!a->spec)
        return tcctl_usage_error("train", "a spec file is needed");
    if (a->idempotency_flag && a->no_idempotency)
        return tcctl_usage_error("train",
                                 "--idempotency-key and --no-idempotency-key exclude each other");
    a->scheduled =
        a->if_changed || a->concurrency || a->deadline || a->schedule_flag || a->idempotency_flag;
    return 0;
}

/* FNV-1a 64 of s: stands for a key too long to send. */
static unsigned long long fnv64(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/*
 * The keys of a scheduled run: the schedule key (--schedule-key, else the spec's absolute path
 * plus "#NAME" with --name) and the idempotency key (--idempotency-key, else the schedule key +
 * "@" + the UTC minute, so that a cron line fired twice in its minute makes one job; none with
 * --no-idempotency-key). A default key longer than the limit is replaced by "fnv64:" + its hash.
 */
static int train_keys(train_args *a)
{
    char *abs = NULL, minute[32], buf[4096 + TCCTL_MAX_KEY + 2];
    time_t now = time(NULL);
    struct tm tm;

    if (a->schedule_flag) {
        snprintf(a->schedule_key, sizeof(a->schedule_key), "%s", a->schedule_flag);
    } else {
        if (!(abs = realpath(a->spec, NULL))) {
            fprintf(stderr, "tcctl: cannot resolve spec '%s': %s\n", a->spec, strerror(errno));
            return TCCTL_EXIT_CONFIG;
        }
        snprintf(buf, sizeof(buf), "%s%s%s", abs, a->name ? "#" : "", a->name ? a->name : "");
        free(abs);
        if (key_ok(buf))
            snprintf(a->schedule_key, sizeof(a->schedule_key), "%s", buf);
        else
            snprintf(a->schedule_key, sizeof(a->schedule_key), "fnv64:%016llx", fnv64(buf));
    }
    a->idempotency_key[0] = '\0';
    if (a->idempotency_flag) {
        snprintf(a->idempotency_key, sizeof(a->idempotency_key), "%s", a->idempotency_flag);
    } else if (!a->no_idempotency) {
        gmtime_r(&now, &tm);
        strftime(minute, sizeof(minute), "%Y-%m-%dT%H:%MZ", &tm);
        snprintf(buf, sizeof(buf), "%s@%s", a->schedule_key, minute);
        if (key_ok(buf))
            snprintf(a->idempotency_key, sizeof(a->idempotency_key), "%s", buf);
        else
            snprintf(a->idempotency_key, sizeof(a->idempotency_key), "fnv64:%016llx@%s",
                     fnv64(a->schedule_key), minute);
    }
    return 0;
}

static char *train_body(const train_args *a, const char *yaml)
{
    cJSON *body = cJSON_CreateObject(), *sets = cJSON_CreateArray();
    char *text = NULL;
    int i;

    if (!body || !sets)
        goto out;
    cJSON_AddStringToObject(body, "kind", "train");
    cJSON_AddStringToObject(body, "spec_yaml", yaml);
    for (i = 0; i < a->n_sets; i++)
        cJSON_AddItemToArray(sets, cJSON_CreateString(a->sets[i]));
    cJSON_AddItemToObject(body, "set", sets);
    sets = NULL;
    if (a->name)
        cJSON_AddStringToObject(body, "name", a->name);
    if (a->timeout)
        cJSON_AddNumberToObject(body, "timeout_s", a->timeout_s);
    if (a->scheduled) {
        cJSON_AddStringToObject(body, "schedule_key", a->schedule_key);
        if (a->idempotency_key[0])
            cJSON_AddStringToObject(body, "idempotency_key", a->idempotency_key);
        if (a->if_changed)
            cJSON_AddTrueToObject(body, "if_changed");
        if (a->concurrency)
            cJSON_AddStringToObject(body, "concurrency", a->concurrency);
        if (a->deadline)
            cJSON_AddNumberToObject(body, "deadline_s", a->deadline_s);
    }
    text = cJSON_PrintUnformatted(body);
out:
    cJSON_Delete(sets);
    cJSON_Delete(body);
    return text;
}

/* train.epochs from the job object, then from the last --set train.epochs=N. */
static int train_epochs(const cJSON *job, const train_args *a)
{
    int epochs = tcctl_job_epochs(job), i;

    for (i = 0; i < a->n_sets; i++) {
        char *end;
        long v;

        if (strncmp(a->sets[i], "train.epochs=", 13))
            continue;
        v = strtol(a->sets[i] + 13, &end, 10);
        if (end != a->sets[i] + 13 && !*end && v >= 1 && v < 1000000)
            epochs = (int)v;
    }
    return epochs;
}

/* The push job of a succeeded train job (push_job of its job object) into id, "" when none. 0 or
 * the exit status of a failed request (reported). */
static int train_push_job(tcctl_ctx *c, const char *train, char *id, size_t cap)
{
    char path[64];
    tcctl_response r;
    const char *p;
    int rc;

    id[0] = '\0';
    snprintf(path, sizeof(path), "/v1/jobs/%s", train);
    if ((rc = tcctl_call(c, "GET", path, NULL, &r)) != 0)
        return rc;
    p = tcctl_json_str(r.json, "push_job");
    if (tcctl_job_id_valid(p))
        snprintf(id, cap, "%s", p);
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

/*
 * Follow push job pf->id, which a train job's push section queued, as `tcctl push` follows one,
 * and report its outcome (--json: the caller prints pf->result). Returns the exit status: 0
 * pushed or deliberately not pushed, 1 failed, 3 cancelled, or that of a lost daemon.
 */
static int follow_push_job(tcctl_ctx *c, follower *pf)
{
    char path[64];
    tcctl_response r;
    int rc;

    if (!c->json && !c->quiet) {
        snprintf(path, sizeof(path), "/v1/jobs/%s", pf->id);
        if (tcctl_request(c, "GET", path, NULL, 0, &r) == TCCTL_NET_OK && r.status == 200) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(r.json, "push");
            const char *repo = tcctl_json_str(x, "repo"), *branch = tcctl_json_str(x, "branch");
            const char *when = tcctl_json_str(x, "when");

            fprintf(stderr, "push job %s: %s, branch %s (push.when %s); following it\n", pf->id,
                    repo ? repo : "?", branch ? branch : "main", when ? when : "always");
        }
        tcctl_response_dispose(&r);
    }
    pf->follow = 1;
    pf->push = 1;
    pf->human = !c->json && !c->quiet;
    pf->show_bar = pf->human && isatty(STDERR_FILENO);
    pf->quiet_result = 1;
    rc = follow_events(pf, 0, NULL);
    if (rc != TCCTL_EXIT_OK)
        return rc;
    if (!c->json)
        return report_outcome(pf);
    rc = tcctl_state_exit(tcctl_json_str(pf->result, "state"));
    return rc < 0 ? TCCTL_EXIT_FAILED : rc;
}

/* --json: the train job's result line, with "push": the push job's result event when it has
 * one. */
static void print_train_json(follower *f, const follower *pf)
{
    cJSON *push = pf->result ? cJSON_Duplicate(pf->result, 1) : NULL;
    char *line = NULL;

    if (push) {
        cJSON_DeleteItemFromObjectCaseSensitive(f->result, "push");
        cJSON_AddItemToObject(f->result, "push", push);
        line = cJSON_PrintUnformatted(f->result);
    }
    printf("%s\n", line ? line : f->result_line);
    cJSON_free(line);
}

/*
 * The one-line outcome of a scheduled run (cron manners): on stderr with -q when it failed (the
 * other failures are reported already), and with -q under systemd ($JOURNAL_STREAM: stderr is
 * the journal) for successes too; elsewhere to syslog(3) as "tcctl" when /dev/log exists (not
 * with TCCTL_SYSLOG=0).
 */
static void train_outcome(const tcctl_ctx *c, const train_args *a, int failed, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void train_outcome(const tcctl_ctx *c, const train_args *a, int failed, const char *fmt, ...)
{
    const char *journal = getenv("JOURNAL_STREAM"), *sl = getenv("TCCTL_SYSLOG");
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (c->quiet && !c->json && (failed || (journal && *journal)))
        fprintf(stderr, "tcctl: train %.300s: %s\n", a->schedule_key, line);
    if ((!journal || !*journal) && !(sl && !strcmp(sl, "0")) && access("/dev/log", W_OK) == 0) {
        openlog("tcctl", LOG_PID, LOG_USER);
        syslog(failed ? LOG_ERR : LOG_INFO, "train %.300s: %s", a->schedule_key, line);
        closelog();
    }
}

/*
 * tcd made no job ({"skipped":{"code","message","job"}}): unchanged data and model (exit 0), or
 * concurrency forbid (exit --skip-exit-code, default 0). One line on stderr unless -q; --json:
 * the answer.
 */
static int report_skipped(const tcctl_ctx *c, const train_args *a, const tcctl_response *r,
                          const cJSON *skipped)
{
    const char *code = tcctl_json_str(skipped, "code"), *msg = tcctl_json_str(skipped, "message");
    int forbid = code && !strcmp(code, "concurrency_forbid");

    if (c->json)
        printf("%.*s\n", (int)r->len, r->body);
    else if (!c->quiet)
        fprintf(stderr, "tcctl: no job: %s\n", msg ? msg : code ? code : "skipped");
    train_outcome(c, a, 0, "no job: %s", msg ? msg : code ? code : "skipped");
    return forbid ? a->skip_exit : TCCTL_EXIT_OK;
}

/* The outcome line of a followed scheduled run: the train job's, else its push job's. */
static void train_followed_outcome(const tcctl_ctx *c, const train_args *a, const follower *f,
                                   const follower *pf, int rc)
{
    const follower *w =
        pf->result && tcctl_state_exit(tcctl_json_str(pf->result, "state")) != 0 ? pf : f;
    const char *state = tcctl_json_str(w->result, "state");
    const char *msg =
        tcctl_json_str(cJSON_GetObjectItemCaseSensitive(w->result, "error"), "message");

    if (!f->result) {
        train_outcome(c, a, 1, "job %s: lost it (exit %d)", f->id, rc);
        return;
    }
    train_outcome(c, a, rc != 0, "%s job %s %s%s%s", w == pf ? "push" : "train", w->id,
                  state ? state : "ended", msg ? ": " : "", msg ? msg : "");
}

int tcctl_cmd_train(tcctl_ctx *c, int argc, char **argv)
{
    train_args a;
    char *yaml = NULL, *body = NULL, id[32], push_id[32] = "";
    const cJSON *skipped;
    tcctl_response r;
    follower f, pf;
    int rc = parse_train(c, argc, argv, &a);

    memset(&r, 0, sizeof(r));
    follower_init(&f, c, id);
    follower_init(&pf, c, push_id);
    if (rc)
        return rc < 0 ? TCCTL_EXIT_OK : rc;
    rc = read_spec(a.spec, &yaml);
    if (rc)
        goto out;
    if (a.scheduled && (rc = train_keys(&a)) != 0)
        goto out;
    c->silent = a.scheduled && c->quiet && !c->json;
    body = train_body(&a, yaml);
    if (!body) {
        fputs("tcctl: out of memory\n", stderr);
        rc = TCCTL_EXIT_FAILED;
        goto out;
    }
    if ((rc = tcctl_call(c, "POST", "/v1/jobs", body, &r)) != 0) {
        if (a.scheduled)
            train_outcome(c, &a, 1, "cannot submit the job (exit %d)", rc);
        goto out;
    }
    if (cJSON_IsObject(skipped = cJSON_GetObjectItemCaseSensitive(r.json, "skipped"))) {
        rc = report_skipped(c, &a, &r, skipped);
        goto out;
    }
    if ((rc = job_taken(c, &r, id, sizeof(id), a.detach)) != 0 || a.detach)
        goto out;
    if (r.status == 200 && !c->json && !c->quiet)
        fprintf(stderr, "job %s exists already for idempotency key '%s' (%s); following it\n", id,
                a.idempotency_key, tcctl_json_str(r.json, "state"));
    else if (c->quiet && !c->silent)
        printf("%s\n", id);
    else if (!c->json && !c->quiet)
        fprintf(stderr, "submitted %s%s%s; following it (Ctrl-C stops following, not the job)\n",
                id, a.name ? " " : "", a.name ? a.name : "");
    fflush(stdout);
    f.epochs = train_epochs(r.json, &a);
    f.follow = 1;
    f.human = !c->json && !c->quiet;
    f.show_bar = f.human && isatty(STDERR_FILENO);
    f.quiet_result = 1;
    rc = follow_events(&f, 0, NULL);
    if (rc != TCCTL_EXIT_OK)
        goto report;
    if (!c->json)
        rc = report_outcome(&f);
    else if ((rc = tcctl_state_exit(tcctl_json_str(f.result, "state"))) < 0)
        rc = TCCTL_EXIT_FAILED;
    /* a spec with a push section: the push job queued when the train job succeeded */
    if (rc == TCCTL_EXIT_OK && (rc = train_push_job(c, id, push_id, sizeof(push_id))) == 0 &&
        push_id[0])
        rc = follow_push_job(c, &pf);
    if (c->json)
        print_train_json(&f, &pf);
report:
    if (a.scheduled)
        train_followed_outcome(c, &a, &f, &pf, rc);
out:
    follower_dispose(&f);
    follower_dispose(&pf);
    tcctl_response_dispose(&r);
    free(body);
    free(yaml);
    return rc;
}

/* ---- pull -------------------------------------------------------------------------------- */

#define TCCTL_MAX_PATTERNS 256

typedef struct pull_args {
    const char *type, *repo, *revision, *name, *timeout;
    const char *inc[TCCTL_MAX_PATTERNS], *exc[TCCTL_MAX_PATTERNS];
    int n_inc, n_exc, detach;
    double timeout_s;
} pull_args;

/* ORG/NAME of [A-Za-z0-9._-], at most 96 bytes, without '--' or '..', no part starting or
 * ending with '-' or '.' (docs/api.md). */
static int repo_id_ok(const char *s)
{
    const char *slash = strchr(s, '/'), *p;

    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/') || strlen(s) > 96)
        return 0;
    for (p = s; *p; p++)
        if (p != slash &&
            !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
            return 0;
    /* as on the Hub, neither part starts or ends with '-' or '.' */
    if (strchr("-.", s[0]) || strchr("-.", slash[-1]) || strchr("-.", slash[1]) ||
        strchr("-.", s[strlen(s) - 1]))
        return 0;
    return !strstr(s, "--") && !strstr(s, "..");
}

static int pull_pattern(const char **list, int *n, const char *v)
{
    if (!*v || strlen(v) > 1024) {
        tcctl_usage_error("pull", "a pattern must be 1..1024 bytes");
        return -1;
    }
    if (*n == TCCTL_MAX_PATTERNS) {
        tcctl_usage_error("pull", "at most %d patterns of each kind", TCCTL_MAX_PATTERNS);
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

static int parse_pull(tcctl_ctx *c, int argc, char **argv, pull_args *a)
{
    const char *pos[3];
    int i, n_pos = 0;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;

        if (tcctl_is_help(argv[i]))
            return tcctl_help("pull"), -1;
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (!strcmp(argv[i], "--detach") || !strcmp(argv[i], "-d")) {
            a->detach = 1;
            continue;
        }
        if ((r = tcctl_opt_value("pull", argc, argv, &i, "--include", &v)) != 0) {
            if (r < 0 || pull_pattern(a->inc, &a->n_inc, v) < 0)
                return TCCTL_EXIT_USAGE;
            continue;
        }
        if ((r = tcctl_opt_value("pull", argc, argv, &i, "--exclude", &v)) != 0) {
            if (r < 0 || pull_pattern(a->exc, &a->n_exc, v) < 0)
                return TCCTL_EXIT_USAGE;
            continue;
        }
        if ((r = tcctl_opt_value("pull", argc, argv, &i, "--revision", &a->revision)) != 0 ||
            (r = tcctl_opt_value("pull", argc, argv, &i, "--name", &a->name)) != 0) {
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            continue;
        }
        if ((r = tcctl_opt_value("pull", argc, argv, &i, "--timeout", &a->timeout)) != 0) {
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            a->timeout_s = tcctl_parse_duration(a->timeout);
            if (a->timeout_s <= 0)
                return tcctl_usage_error(
                    "pull", "--timeout wants a duration like 90, 30s, 15m, 2h; got '%s'",
                    a->timeout);
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return tcctl_usage_error("pull", "unknown flag '%s'", argv[i]);
        if (n_pos == 2)
            return tcctl_usage_error("pull", "too many arguments");
        pos[n_pos++] = argv[i];
    }
    if (n_pos == 0)
        return tcctl_usage_error("pull", "a repo id ORG/NAME is needed");
    if (n_pos == 2) {
        a->type = pos[0];
        a->repo = pos[1];
    } else {
        a->type = "model";
        a->repo = pos[0];
    }
    if (strcmp(a->type, "model") && strcmp(a->type, "dataset"))
        return tcctl_usage_error("pull", "the repo type is model or dataset, not '%s'", a->type);
    if (!repo_id_ok(a->repo))
        return tcctl_usage_error("pull", "'%s' is not a repo id ORG/NAME", a->repo);
    return 0;
}

/* Name and timeout_s into a job body, then its text (malloc'd; NULL when out of memory). */
static char *body_finish(cJSON *body, const char *name, const double *timeout_s)
{
    char *text;

    if (name)
        cJSON_AddStringToObject(body, "name", name);
    if (timeout_s)
        cJSON_AddNumberToObject(body, "timeout_s", *timeout_s);
    text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    return text;
}

/* Follow a submitted pull (push = 0) or push job with per-file bars; its exit status. */
static int follow_transfer(tcctl_ctx *c, follower *f, int push)
{
    int rc;

    fflush(stdout);
    f->follow = 1;
    f->pull = !push;
    f->push = push;
    f->human = !c->json && !c->quiet;
    f->show_bar = f->human && isatty(STDERR_FILENO);
    f->quiet_result = 1;
    rc = follow_events(f, 0, NULL);
    return rc == TCCTL_EXIT_OK ? report_outcome(f) : rc;
}

static char *pull_body(const pull_args *a)
{
    cJSON *body = cJSON_CreateObject(), *inc, *exc;
    int i;

    if (!body)
        return NULL;
    cJSON_AddStringToObject(body, "kind", "pull");
    cJSON_AddStringToObject(body, "repo", a->repo);
    cJSON_AddStringToObject(body, "repo_type", a->type);
    cJSON_AddStringToObject(body, "revision", a->revision ? a->revision : "main");
    inc = cJSON_AddArrayToObject(body, "include");
    exc = cJSON_AddArrayToObject(body, "exclude");
    for (i = 0; i < a->n_inc; i++)
        cJSON_AddItemToArray(inc, cJSON_CreateString(a->inc[i]));
    for (i = 0; i < a->n_exc; i++)
        cJSON_AddItemToArray(exc, cJSON_CreateString(a->exc[i]));
    return body_finish(body, a->name, a->timeout ? &a->timeout_s : NULL);
}

int tcctl_cmd_pull(tcctl_ctx *c, int argc, char **argv)
{
    pull_args a;
    char *body = NULL, id[32];
    tcctl_response r;
    follower f;
    int rc = parse_pull(c, argc, argv, &a);

    memset(&r, 0, sizeof(r));
    follower_init(&f, c, id);
    if (rc)
        return rc < 0 ? TCCTL_EXIT_OK : rc;
    if (!(body = pull_body(&a))) {
        fputs("tcctl: out of memory\n", stderr);
        return TCCTL_EXIT_FAILED;
    }
    if ((rc = submit_job(c, body, &r, id, sizeof(id), a.detach)) != 0 || a.detach)
        goto out;
    if (!c->json && !c->quiet)
        fprintf(stderr,
                "submitted %s: pull %s %s@%s; following it (Ctrl-C stops following, not the "
                "job)\n",
                id, a.type, a.repo, a.revision ? a.revision : "main");
    rc = follow_transfer(c, &f, 0);
out:
    follower_dispose(&f);
    tcctl_response_dispose(&r);
    free(body);
    return rc;
}

/* ---- push -------------------------------------------------------------------------------- */

typedef struct push_args {
    const char *source, *repo, *branch, *message, *name, *timeout, *when;
    char *dir; /* source made absolute (malloc'd), NULL for a job id */
    int dataset, private_repo, force, detach;
    double timeout_s;
} push_args;

/*
 * JOB_ID_OR_DIR: a job id stays as it is (write ./jXXXX for a directory of that name); a
 * directory is made absolute and must exist. 0, or the usage error's exit status.
 */
static int push_source(push_args *a)
{
    struct stat st;

    if (tcctl_job_id_valid(a->source))
        return 0;
    if (!*a->source)
        return tcctl_usage_error("push", "the source is empty");
    if (!(a->dir = realpath(a->source, NULL)))
        return tcctl_usage_error("push", "'%s': %s", a->source,
                                 errno == ENOENT ? "no such directory (and not a job id)"
                                                 : strerror(errno));
    if (stat(a->dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return tcctl_usage_error("push", "'%s' is not a directory", a->source);
    if (strlen(a->dir) > 4096)
        return tcctl_usage_error("push", "'%s' is longer than 4096 bytes", a->dir);
    return 0;
}

static int parse_push_flag(push_args *a, const char *arg)
{
    if (!strcmp(arg, "--detach") || !strcmp(arg, "-d"))
        a->detach = 1;
    else if (!strcmp(arg, "--dataset"))
        a->dataset = 1;
    else if (!strcmp(arg, "--private"))
        a->private_repo = 1;
    else if (!strcmp(arg, "--force"))
        a->force = 1;
    else
        return 0;
    return 1;
}

static int parse_push(tcctl_ctx *c, int argc, char **argv, push_args *a)
{
    static const char *const valued[] = {"--repo", "--branch", "--message", "--name", "--when"};
    const char **dst[] = {&a->repo, &a->branch, &a->message, &a->name, &a->when};
    int i, r;
    size_t k;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        if (tcctl_is_help(argv[i]))
            return tcctl_help("push"), -1;
        if (tcctl_opt_global(c, argv[i]) || parse_push_flag(a, argv[i]))
            continue;
        for (k = 0, r = 0; k < sizeof(valued) / sizeof(valued[0]) && !r; k++)
            r = tcctl_opt_value("push", argc, argv, &i, valued[k], dst[k]);
        if (r < 0)
            return TCCTL_EXIT_USAGE;
        if (r)
            continue;
        if ((r = tcctl_opt_value("push", argc, argv, &i, "--timeout", &a->timeout)) != 0) {
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            a->timeout_s = tcctl_parse_duration(a->timeout);
            if (a->timeout_s <= 0)
                return tcctl_usage_error(
                    "push", "--timeout wants a duration like 90, 30s, 15m, 2h; got '%s'",
                    a->timeout);
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return tcctl_usage_error("push", "unknown flag '%s'", argv[i]);
        if (a->source)
            return tcctl_usage_error("push", "one job id or directory only (got '%s' and '%s')",
                                     a->source, argv[i]);
        a->source = argv[i];
    }
    if (!a->source)
        return tcctl_usage_error("push", "a job id or a directory to push is needed");
    if (!a->repo)
        return tcctl_usage_error("push", "--repo ORG/NAME is needed");
    if (!repo_id_ok(a->repo))
        return tcctl_usage_error("push", "'%s' is not a repo id ORG/NAME", a->repo);
    if (a->branch && (!*a->branch || a->branch[0] == '-' || strlen(a->branch) > 256))
        return tcctl_usage_error("push", "--branch wants a branch name, got '%s'", a->branch);
    if (a->message && (!*a->message || strlen(a->message) > 4096))
        return tcctl_usage_error("push", "--message must be 1..4096 bytes");
    if (a->when && strcmp(a->when, "always") && strcmp(a->when, "improved"))
        return tcctl_usage_error("push", "--when is always or improved, not '%s'", a->when);
    return push_source(a);
}

static char *push_body(const push_args *a)
{
    cJSON *body = cJSON_CreateObject();

    if (!body)
        return NULL;
    cJSON_AddStringToObject(body, "kind", "push");
    cJSON_AddStringToObject(body, "source", a->dir ? a->dir : a->source);
    cJSON_AddStringToObject(body, "repo", a->repo);
    cJSON_AddStringToObject(body, "repo_type", a->dataset ? "dataset" : "model");
    if (a->branch)
        cJSON_AddStringToObject(body, "branch", a->branch);
    if (a->message)
        cJSON_AddStringToObject(body, "message", a->message);
    cJSON_AddBoolToObject(body, "private", a->private_repo);
    cJSON_AddBoolToObject(body, "force", a->force);
    if (a->when)
        cJSON_AddStringToObject(body, "when", a->when);
    return body_finish(body, a->name, a->timeout ? &a->timeout_s : NULL);
}

int tcctl_cmd_push(tcctl_ctx *c, int argc, char **argv)
{
    push_args a;
    char *body = NULL, id[32];
    tcctl_response r;
    follower f;
    int rc = parse_push(c, argc, argv, &a);

    memset(&r, 0, sizeof(r));
    follower_init(&f, c, id);
    if (rc) {
        rc = rc < 0 ? TCCTL_EXIT_OK : rc;
        goto out;
    }
    if (!(body = push_body(&a))) {
        fputs("tcctl: out of memory\n", stderr);
        rc = TCCTL_EXIT_FAILED;
        goto out;
    }
    if ((rc = submit_job(c, body, &r, id, sizeof(id), a.detach)) != 0 || a.detach)
        goto out;
    if (!c->json && !c->quiet)
        fprintf(stderr,
                "submitted %s: push %s to %s %s@%s; following it (Ctrl-C stops following, not "
                "the job)\n",
                id, a.dir ? a.dir : a.source, a.dataset ? "dataset" : "model", a.repo,
                a.branch ? a.branch : "main");
    rc = follow_transfer(c, &f, 1);
out:
    follower_dispose(&f);
    tcctl_response_dispose(&r);
    free(body);
    free(a.dir);
    return rc;
}

/* ---- wait, logs --------------------------------------------------------------------------- */

/* GET the job (clean 404s, and the epoch count). *epochs: train.epochs or 0. */
static int fetch_job(tcctl_ctx *c, const char *id, int *epochs)
{
    char path[64];
    tcctl_response r;
    int rc;

    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    rc = tcctl_call(c, "GET", path, NULL, &r);
    if (rc)
        return rc;
    *epochs = tcctl_job_epochs(r.json);
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

int tcctl_cmd_wait(tcctl_ctx *c, int argc, char **argv)
{
    const char *id = NULL, *timeout = NULL;
    double timeout_s = 0, deadline = 0;
    follower f;
    int i, rc;

    for (i = 1; i < argc; i++) {
        int r;

        if (tcctl_is_help(argv[i]))
            return tcctl_help("wait");
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if ((r = tcctl_opt_value("wait", argc, argv, &i, "--timeout", &timeout)) != 0) {
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            timeout_s = tcctl_parse_duration(timeout);
            if (timeout_s <= 0)
                return tcctl_usage_error(
                    "wait", "--timeout wants a duration like 90, 30s, 15m, 2h; got '%s'", timeout);
            continue;
        }
        if (argv[i][0] == '-')
            return tcctl_usage_error("wait", "unknown flag '%s'", argv[i]);
        if (id)
            return tcctl_usage_error("wait", "too many arguments");
        id = argv[i];
    }
    if (!id)
        return tcctl_usage_error("wait", "a job id is needed");
    if (!tcctl_job_id_valid(id))
        return tcctl_usage_error("wait", "'%s' is not a job id (j and 16 hex digits)", id);
    if (timeout_s > 0)
        deadline = tcctl_now() + timeout_s;
    follower_init(&f, c, id);
    rc = fetch_job(c, id, &f.epochs);
    if (rc)
        return rc;
    f.follow = 1;
    f.human = !c->json && !c->quiet;
    f.show_bar = f.human && isatty(STDERR_FILENO);
    f.min_ts = tcctl_now() - 1; /* history is for `tcctl logs` */
    f.quiet_result = 1;
    rc = follow_events(&f, deadline, timeout);
    if (rc == TCCTL_EXIT_OK)
        rc = report_outcome(&f);
    follower_dispose(&f);
    return rc;
}

int tcctl_cmd_logs(tcctl_ctx *c, int argc, char **argv)
{
    const char *id = NULL, *since = NULL;
    follower f;
    int i, rc, follow = 0;

    follower_init(&f, c, NULL);
    for (i = 1; i < argc; i++) {
        int r;

        if (tcctl_is_help(argv[i]))
            return tcctl_help("logs");
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--follow")) {
            follow = 1;
            continue;
        }
        if ((r = tcctl_opt_value("logs", argc, argv, &i, "--since", &since)) != 0) {
            char *end;
            long long n;

            if (r < 0)
                return TCCTL_EXIT_USAGE;
            n = strtoll(since, &end, 10);
            if (end == since || *end || n < 0 || n > (1LL << 53))
                return tcctl_usage_error("logs", "--since wants an event number, got '%s'", since);
            f.last_seq = n;
            continue;
        }
        if (argv[i][0] == '-')
            return tcctl_usage_error("logs", "unknown flag '%s'", argv[i]);
        if (id)
            return tcctl_usage_error("logs", "too many arguments");
        id = argv[i];
    }
    if (!id)
        return tcctl_usage_error("logs", "a job id is needed");
    if (!tcctl_job_id_valid(id))
        return tcctl_usage_error("logs", "'%s' is not a job id (j and 16 hex digits)", id);
    f.id = id;
    if (!c->json) {
        rc = fetch_job(c, id, &f.epochs);
        if (rc)
            return rc;
    }
    f.follow = follow;
    f.out = stdout;
    f.raw = c->json;
    f.human = !c->json;
    f.show_bar = follow && f.human && !c->quiet && isatty(STDERR_FILENO);
    rc = follow_events(&f, 0, NULL);
    follower_dispose(&f);
    return rc;
}

/* ---- promote, rollback (champion.c) ------------------------------------------------------- */

int tcctl_push_job_run(tcctl_ctx *c, const char *body, int detach, const char *what)
{
    char id[32];
    tcctl_response r;
    follower f;
    int rc;

    memset(&r, 0, sizeof(r));
    follower_init(&f, c, id);
    if ((rc = submit_job(c, body, &r, id, sizeof(id), detach)) != 0 || detach)
        goto out;
    if (!c->json && !c->quiet)
        fprintf(stderr, "submitted %s: %s; following it (Ctrl-C stops following, not the job)\n",
                id, what);
    rc = follow_transfer(c, &f, 1);
out:
    follower_dispose(&f);
    tcctl_response_dispose(&r);
    return rc;
}

int tcctl_repo_id_ok(const char *s)
{
    return repo_id_ok(s);
}
