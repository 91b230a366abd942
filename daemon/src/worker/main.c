/*
 * tcd-worker - runs exactly one job in the foreground and exits.
 *
 *   tcd-worker run SPEC.yaml [--set section.key=value]... [--out DIR] [--json] [--fresh]
 *   tcd-worker check SPEC.yaml [--set section.key=value]... [--json] [--revisions]
 *   tcd-worker pull model|dataset ORG/NAME [--revision R] [--include G]...
 *              [--exclude G]... [--json]
 *   tcd-worker push DIR --repo ORG/NAME [--type model|dataset] [--branch B] [--message M]
 *              [--private] [--force] [--when always|improved|never] [--metric M] [--json]
 *   tcd-worker push --rollback --repo ORG/NAME [--branch B] [--force] [--json]
 *   tcd-worker evaluate --model DIR --spec SPEC.yaml [--split test|validation]
 *              [--revision R] [--json]   (see evaluate.c)
 *   tcd-worker plugins [--json]
 *   tcd-worker plugins show NAME|PATH [--json]
 *   tcd-worker tokenize --tokenizer PATH [--pair] [--max-length N] [--truncation[=S]]
 *              [--no-special-tokens] [--type-ids] [--attention-mask]   (see tokenize.c)
 *   tcd-worker predict|forward --model DIR [--batch N]   (see infer.c)
 *   tcd-worker --version
 *
 * Human-readable progress goes to stderr. With --json, stdout carries one
 * NDJSON event per line (log, progress, metric) and ends with the result:
 *   {"type":"result","state":"succeeded","metrics":{...},"output":"DIR"}
 * Exit codes follow tcctl: 0 ok, 1 job failed, 2 usage, 3 cancelled,
 * 78 invalid job spec.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <tc/trainer.h>

#include "evaluate.h"
#include "job.h"
#include "spec.h"
#include "worker.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_CANCELLED 3
#define EXIT_CONFIG 78

static volatile sig_atomic_t cancel_requested;

static void on_signal(int sig)
{
    (void)sig;
    cancel_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tcd-worker run SPEC.yaml [--set section.key=value]... [--out DIR] "
               "[--json] [--fresh]\n"
               "       tcd-worker check SPEC.yaml [--set section.key=value]... [--json] "
               "[--revisions]\n"
               "       tcd-worker pull model|dataset ORG/NAME [--revision R] [--include G]... "
               "[--exclude G]... [--json]\n"
               "       tcd-worker push DIR --repo ORG/NAME [--type model|dataset] [--branch B] "
               "[--message M]\n"
               "                  [--author 'Name <email>'] [--private] [--force] [--when "
               "always|improved|never] "
               "[--metric accuracy|f1|loss]\n"
               "                  [--min-improvement X] [--champion evaluate|card] "
               "[--eval-split test|validation] [--json]\n"
               "       tcd-worker push --rollback --repo ORG/NAME [--branch B] [--force] "
               "[--json]\n"
               "       tcd-worker evaluate --model DIR --spec SPEC.yaml [--split "
               "test|validation] [--revision R] [--json]\n"
               "       tcd-worker plugins [--json]\n"
               "       tcd-worker plugins show NAME|PATH [--json]\n"
               "       tcd-worker tokenize --tokenizer PATH [--pair] [--max-length N] "
               "[--truncation[=STRATEGY]]\n"
               "                  [--no-special-tokens] [--type-ids] [--attention-mask] "
               "< lines.jsonl\n"
               "       tcd-worker predict --model DIR [--batch N] < texts.jsonl      "
               "({\"text\": ...} -> label, scores)\n"
               "       tcd-worker forward --model DIR [--batch N] < ids.jsonl        "
               "({\"input_ids\": [...]} -> logits)\n"
               "       tcd-worker --version\n");
}

/* ---- events ------------------------------------------------------------------------------- */

typedef struct run_ctx {
    int json;
    int tty;
    double t0;
} run_ctx;

void tcd_emit(cJSON *event)
{
    char *s = cJSON_PrintUnformatted(event);

    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        cJSON_free(s);
    }
    cJSON_Delete(event);
}

static cJSON *event_new(const char *type)
{
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(e, "type", type);
    return e;
}

static void emit_metric(const char *name, double value, int64_t step, int32_t epoch)
{
    cJSON *e = event_new("metric");

    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddNumberToObject(e, "value", value);
    cJSON_AddNumberToObject(e, "step", (double)step);
    cJSON_AddNumberToObject(e, "epoch", epoch);
    tcd_emit(e);
}

static void on_epoch(void *ctx, const tc_epoch_report *r)
{
    run_ctx *c = ctx;

    if (c->tty)
        fputs("\r\033[K", stderr);
    if (r->val_accuracy == r->val_accuracy)
        fprintf(stderr,
                "epoch %d/%d  train_loss %.4f  val_loss %.4f  val_accuracy %.4f  val_f1 %.4f  "
                "%.1fs%s\n",
                r->epoch, r->epochs, r->train_loss, r->val_loss, r->val_accuracy, r->val_f1,
                r->seconds, r->improved ? "  *" : "");
    else
        fprintf(stderr, "epoch %d/%d  train_loss %.4f  %.1fs\n", r->epoch, r->epochs, r->train_loss,
                r->seconds);
    if (c->json) {
        emit_metric("train_loss", r->train_loss, r->step, r->epoch);
        if (r->val_accuracy == r->val_accuracy) {
            emit_metric("val_loss", r->val_loss, r->step, r->epoch);
            emit_metric("val_accuracy", r->val_accuracy, r->step, r->epoch);
            emit_metric("val_f1", r->val_f1, r->step, r->epoch);
        }
        emit_metric("epoch_seconds", r->seconds, r->step, r->epoch);
    }
}

/*
 * Test hook: TCD_WORKER_CRASH_AT=E:B kills this process with SIGKILL once
 * batch B of epoch E has been reported, to test resume after a hard crash.
 */
static void maybe_crash(int32_t epoch, int64_t done)
{
    const char *at = getenv("TCD_WORKER_CRASH_AT");
    int e = 0;
    long long b = 0;

    if (at && sscanf(at, "%d:%lld", &e, &b) == 2 && e == epoch && done >= b)
        raise(SIGKILL);
    /* TCD_WORKER_TERM_AT=E:B: a real SIGTERM at that point (cancel, checkpoint, exit 3). */
    at = getenv("TCD_WORKER_TERM_AT");
    if (at && sscanf(at, "%d:%lld", &e, &b) == 2 && e == epoch && done == b)
        raise(SIGTERM);
}

static void on_progress(void *ctx, int32_t epoch, int64_t done, int64_t total, double loss)
{
    run_ctx *c = ctx;

    maybe_crash(epoch, done);
    if (c->tty) {
        int width = 30, filled = (int)(width * done / (total ? total : 1)), i;
        fprintf(stderr, "\r\033[Kepoch %d [", epoch);
        for (i = 0; i < width; i++)
            fputc(i < filled ? '#' : '.', stderr);
        fprintf(stderr, "] %lld/%lld  loss %.4f", (long long)done, (long long)total, loss);
        fflush(stderr);
    }
    if (c->json) {
        cJSON *e = event_new("progress");
        cJSON_AddStringToObject(e, "phase", "train");
        cJSON_AddNumberToObject(e, "epoch", epoch);
        cJSON_AddNumberToObject(e, "completed", (double)done);
        cJSON_AddNumberToObject(e, "total", (double)total);
        cJSON_AddStringToObject(e, "unit", "batches");
        cJSON_AddNumberToObject(e, "loss", loss);
        tcd_emit(e);
    }
}

static void on_log(void *ctx, tc_log_level level, const char *message)
{
    run_ctx *c = ctx;

    fprintf(stderr, "%s\n", message);
    if (c->json) {
        cJSON *e = event_new("log");
        cJSON_AddStringToObject(e, "level", level >= TC_LOG_WARN ? "warn" : "info");
        cJSON_AddStringToObject(e, "message", message);
        tcd_emit(e);
    }
}

static void host_log(void *ctx, tc_log_level level, const char *message)
{
    on_log(ctx, level, message);
}

static void host_progress(void *ctx, const char *phase, int64_t completed, int64_t total,
                          const char *unit)
{
    run_ctx *c = ctx;

    if (c->json) {
        cJSON *e = event_new("progress");
        cJSON_AddStringToObject(e, "phase", phase ? phase : "");
        cJSON_AddNumberToObject(e, "completed", (double)completed);
        cJSON_AddNumberToObject(e, "total", (double)total);
        cJSON_AddStringToObject(e, "unit", unit ? unit : "");
        tcd_emit(e);
    }
}

static void host_metric(void *ctx, const char *name, double value, int64_t step, int32_t epoch)
{
    run_ctx *c = ctx;

    if (c->json)
        emit_metric(name, value, step, epoch);
}

static int is_cancelled(void *ctx)
{
    (void)ctx;
    return cancel_requested;
}

static void emit_failure(int json, const char *state, int code, const char *message)
{
    fprintf(stderr, "tcd-worker: %s\n", message);
    if (json) {
        cJSON *e = event_new("result"), *err = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "state", state);
        cJSON_AddStringToObject(err, "code", tcd_error_code_name(code));
        cJSON_AddStringToObject(err, "message", message);
        cJSON_AddItemToObject(e, "error", err);
        tcd_emit(e);
    }
}

/* ---- run ---------------------------------------------------------------------------------- */

typedef struct run_args {
    const char *spec_path;
    const char *out;
    int json;
    int fresh;
    int revisions; /* check: resolve the data and model revisions too */
    const char **sets;
    int n_sets;
} run_args;

static int parse_run_args(int argc, char **argv, run_args *a)
{
    int i;

    memset(a, 0, sizeof(*a));
    if (!(a->sets = calloc((size_t)argc, sizeof(char *))))
        return -1;
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            a->json = 1;
        } else if (!strcmp(argv[i], "--fresh")) {
            a->fresh = 1;
        } else if (!strcmp(argv[i], "--revisions")) {
            a->revisions = 1;
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            a->sets[a->n_sets++] = argv[++i];
        } else if (!strncmp(argv[i], "--set=", 6)) {
            a->sets[a->n_sets++] = argv[i] + 6;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            a->out = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            a->out = argv[i] + 6;
        } else if (argv[i][0] == '-' || a->spec_path) {
            fprintf(stderr, "tcd-worker run: unexpected argument '%s'\n", argv[i]);
            return -1;
        } else {
            a->spec_path = argv[i];
        }
    }
    if (!a->spec_path) {
        fprintf(stderr, "tcd-worker run: missing SPEC.yaml\n");
        return -1;
    }
    return 0;
}

static char *default_out(const char *spec_path)
{
    const char *base = strrchr(spec_path, '/');
    char *out, *dot;
    size_t n;

    base = base ? base + 1 : spec_path;
    n = strlen(base) + sizeof("tcd-out/");
    if (!(out = malloc(n)))
        return NULL;
    snprintf(out, n, "tcd-out/%s", base);
    if ((dot = strrchr(out, '.')) && dot > out + 8)
        *dot = '\0';
    return out;
}

static int cmd_run(int argc, char **argv)
{
    run_args a;
    tcd_job job;
    tcd_result_info info;
    run_ctx ctx = {0, 0, 0};
    tc_host host;
    tc_train_callbacks cb;
    char *out_owned = NULL;
    int i, err, rc;

    if (parse_run_args(argc, argv, &a) < 0 || a.revisions) {
        usage(stderr);
        free(a.sets);
        return EXIT_USAGE;
    }
    ctx.json = a.json;
    ctx.tty = isatty(STDERR_FILENO);
    memset(&job, 0, sizeof(job));
    if (!a.out)
        a.out = out_owned = default_out(a.spec_path);
    if ((err = tcd_spec_load(&job.spec, a.spec_path)) < 0)
        goto config_error;
    for (i = 0; i < a.n_sets; i++)
        if ((err = tcd_spec_set(&job.spec, a.sets[i])) < 0)
            goto config_error;
    if ((err = tcd_job_prepare(&job)) < 0)
        goto config_error;
    tcd_warn_unused(&job.spec, on_log, &ctx);

    memset(&host, 0, sizeof(host));
    host.struct_size = sizeof(host);
    host.abi_major = TC_PLUGIN_ABI_MAJOR;
    host.abi_minor = TC_PLUGIN_ABI_MINOR;
    host.ctx = &ctx;
    host.log = host_log;
    host.progress = host_progress;
    host.metric = host_metric;
    host.is_cancelled = is_cancelled;
    memset(&cb, 0, sizeof(cb));
    cb.ctx = &ctx;
    cb.on_epoch = on_epoch;
    cb.on_progress = on_progress;
    cb.on_log = on_log;
    cb.is_cancelled = is_cancelled;

    err = tcd_run_training(&job, a.out, a.fresh, &host, &cb, &info);
    if (ctx.tty)
        fputs("\r\033[K", stderr);
    if (err == TC_OK || err == TC_ECANCELLED) {
        tcd_print_result(&info, err == TC_OK ? "succeeded" : "cancelled", a.json);
        rc = err == TC_OK ? 0 : EXIT_CANCELLED;
    } else {
        emit_failure(a.json, "failed", err, tc_error_message());
        rc = EXIT_FAILED;
    }
    tcd_result_info_dispose(&info);
    goto out;
config_error:
    emit_failure(a.json, "failed", err, tc_error_message());
    rc = EXIT_CONFIG;
out:
    tcd_job_dispose(&job);
    free(a.sets);
    free(out_owned);
    return rc;
}

/*
 * --revisions: {"revisions":{"data":R|null,"model":R|null}} into the verdict e (revisions.c), or
 * {"revisions_error":{"code","message"}} when they cannot be found (the Hub is not reachable);
 * the spec itself is fine either way. A line on stderr for humans.
 */
static void check_revisions(tcd_job *job, cJSON *e)
{
    cJSON *o = cJSON_CreateObject();
    char *data = NULL, *model = NULL;
    int err = tcd_revisions_resolve(job, NULL, &data, &model);

    if (err < 0) {
        fprintf(stderr, "tcd-worker: %s\n", tc_error_message());
        cJSON_AddStringToObject(o, "code", tcd_error_code_name(err));
        cJSON_AddStringToObject(o, "message", tc_error_message());
        cJSON_AddItemToObject(e, "revisions_error", o);
        return;
    }
    fprintf(stderr, "data revision %s, model revision %s\n", data ? data : "-",
            model ? model : "-");
    if (data)
        cJSON_AddStringToObject(o, "data", data);
    else
        cJSON_AddNullToObject(o, "data");
    if (model)
        cJSON_AddStringToObject(o, "model", model);
    else
        cJSON_AddNullToObject(o, "model");
    cJSON_AddItemToObject(e, "revisions", o);
    free(data);
    free(model);
}

/* Validate a spec (plugins found and loaded, options and train keys typed) without running it. */
static int cmd_check(int argc, char **argv)
{
    run_args a;
    tcd_job job;
    int i, err, rc = 0;

    if (parse_run_args(argc, argv, &a) < 0 || a.out || a.fresh) {
        usage(stderr);
        free(a.sets);
        return EXIT_USAGE;
    }
    memset(&job, 0, sizeof(job));
    if ((err = tcd_spec_load(&job.spec, a.spec_path)) < 0)
        goto out;
    for (i = 0; i < a.n_sets; i++)
        if ((err = tcd_spec_set(&job.spec, a.sets[i])) < 0)
            goto out;
    err = tcd_job_prepare(&job);
out:
    if (err < 0) {
        fprintf(stderr, "tcd-worker: %s\n", tc_error_message());
        rc = EXIT_CONFIG;
    }
    if (a.json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddBoolToObject(e, "ok", err >= 0);
        if (err < 0) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "code", tcd_error_code_name(err));
            cJSON_AddStringToObject(o, "message", tc_error_message());
            cJSON_AddItemToObject(e, "error", o);
        } else {
            cJSON_AddStringToObject(e, "run_id", job.run_id);
            if (a.revisions)
                check_revisions(&job, e);
        }
        tcd_emit(e);
    } else if (err >= 0) {
        printf("%s: ok\n", a.spec_path);
    }
    tcd_job_dispose(&job);
    free(a.sets);
    return rc;
}

int main(int argc, char **argv)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("tcd-worker %s (plugin ABI %d.%d)\nblas: %s\n", tc_version(), TC_PLUGIN_ABI_MAJOR,
               TC_PLUGIN_ABI_MINOR, tc_blas_backend());
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(argv[1], "pull"))
        return tcd_cmd_pull(argc - 2, argv + 2, is_cancelled);
    if (!strcmp(argv[1], "push"))
        return tcd_cmd_push(argc - 2, argv + 2, is_cancelled);
    if (!strcmp(argv[1], "evaluate"))
        return tcd_cmd_evaluate(argc - 2, argv + 2);
    if (!strcmp(argv[1], "plugins"))
        return tcd_cmd_plugins(argc - 2, argv + 2);
    if (!strcmp(argv[1], "tokenize"))
        return tcd_cmd_tokenize(argc - 2, argv + 2);
    if (!strcmp(argv[1], "forward") || !strcmp(argv[1], "predict"))
        return tcd_cmd_infer(argc - 2, argv + 2, !strcmp(argv[1], "predict"));
    fprintf(stderr, "tcd-worker: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
