/*
 * commands.c - the one-request commands: ping, jobs, status, cancel, rm,
 * plugins. Each parses its arguments, makes its request and prints the
 * answer as a table or summary (humans), the API's JSON (--json) or ids
 * (-q).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcctl.h"

static const char *or_str(const char *s, const char *fallback)
{
    return s ? s : fallback;
}

static const char *const job_states[] = {"queued",    "running",   "succeeded",   "failed",
                                         "cancelled", "timed_out", "interrupted", "missed"};

int tcctl_job_id_valid(const char *s)
{
    size_t i;

    if (!s || s[0] != 'j' || strlen(s) != 17)
        return 0;
    for (i = 1; i < 17; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int tcctl_job_epochs(const cJSON *job)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(job, "spec");
    const cJSON *train = spec ? cJSON_GetObjectItemCaseSensitive(spec, "train") : NULL;
    const cJSON *e = train ? cJSON_GetObjectItemCaseSensitive(train, "epochs") : NULL;
    long v;
    char *end;

    if (cJSON_IsNumber(e))
        return e->valuedouble >= 1 && e->valuedouble < 1e6 ? (int)e->valuedouble : 0;
    if (!cJSON_IsString(e))
        return 0;
    v = strtol(e->valuestring, &end, 10);
    return end != e->valuestring && !*end && v >= 1 && v < 1000000 ? (int)v : 0;
}

/* A pull's or push's progress: "upload 12.3 MB/50.0 MB (24%), 3/7 files, model.safetensors". */
static void fmt_transfer(char *buf, size_t cap, const cJSON *p, double done, double total,
                         double pct)
{
    double fd = tcctl_json_num(p, "files_done"), ft = tcctl_json_num(p, "files_total");
    const char *phase = tcctl_json_str(p, "phase"), *file = tcctl_json_str(p, "file");
    char d[32], t[32], files[64] = "";

    tcctl_fmt_bytes(d, sizeof d, done);
    tcctl_fmt_bytes(t, sizeof t, total);
    if (isfinite(fd) && isfinite(ft))
        snprintf(files, sizeof files, ", %.0f/%.0f files", fd, ft);
    snprintf(buf, cap, "%s%s%s/%s%s%.0f%s%s%s%s", phase ? phase : "", phase ? " " : "", d, t,
             isfinite(pct) ? " (" : "", isfinite(pct) ? pct : 0, isfinite(pct) ? "%)" : "", files,
             file ? ", " : "", file ? file : "");
}

void tcctl_fmt_progress(char *buf, size_t cap, const cJSON *job, int verbose)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(job, "progress");
    double epoch = tcctl_json_num(p, "epoch"), done = tcctl_json_num(p, "completed");
    double total = tcctl_json_num(p, "total");
    const char *unit = tcctl_json_str(p, "unit");
    int epochs = tcctl_job_epochs(job);
    char ep[64] = "";
    double pct;

    if (!cJSON_IsObject(p) || !isfinite(done)) {
        snprintf(buf, cap, "-");
        return;
    }
    if (isfinite(epoch) && epochs)
        snprintf(ep, sizeof(ep), "epoch %.0f/%d", epoch, epochs);
    else if (isfinite(epoch))
        snprintf(ep, sizeof(ep), "epoch %.0f", epoch);
    pct = isfinite(total) && total > 0 ? 100.0 * done / total : NAN;
    if (verbose && unit && !strcmp(unit, "bytes")) {
        fmt_transfer(buf, cap, p, done, total, pct);
        return;
    }
    if (verbose)
        snprintf(buf, cap, "%s%s%.0f/%.0f %s%s%.0f%s", ep, *ep ? ", " : "", done,
                 isfinite(total) ? total : 0, unit && *unit ? unit : "steps",
                 isfinite(pct) ? " (" : "", isfinite(pct) ? pct : 0, isfinite(pct) ? "%)" : "");
    else if (isfinite(pct))
        snprintf(buf, cap, "%s%s%.0f%%", ep, *ep ? " " : "", pct);
    else
        snprintf(buf, cap, "%s%s%.0f", ep, *ep ? " " : "", done);
}

/* Print a 2xx body as received (with a final newline). */
static void print_body(const tcctl_response *r)
{
    fwrite(r->body, 1, r->len, stdout);
    if (!r->len || r->body[r->len - 1] != '\n')
        putchar('\n');
}

/* The usual argument loop for "CMD ID": help, global flags, exactly one job id. */
static int parse_id_arg(tcctl_ctx *c, const char *cmd, int argc, char **argv, const char **id)
{
    int i;

    *id = NULL;
    for (i = 1; i < argc; i++) {
        if (tcctl_is_help(argv[i]))
            return tcctl_help(cmd), -1;
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (argv[i][0] == '-')
            return tcctl_usage_error(cmd, "unknown flag '%s'", argv[i]);
        if (*id)
            return tcctl_usage_error(cmd, "too many arguments");
        *id = argv[i];
    }
    if (!*id)
        return tcctl_usage_error(cmd, "a job id is needed");
    if (!tcctl_job_id_valid(*id))
        return tcctl_usage_error(cmd, "'%s' is not a job id (j and 16 hex digits)", *id);
    return 0;
}

/* ---- ping --------------------------------------------------------------------------------- */

int tcctl_cmd_ping(tcctl_ctx *c, int argc, char **argv)
{
    tcctl_response r;
    int i, rc;

    for (i = 1; i < argc; i++) {
        if (tcctl_is_help(argv[i]))
            return tcctl_help("ping");
        if (!tcctl_opt_global(c, argv[i]))
            return tcctl_usage_error("ping", "unexpected argument '%s'", argv[i]);
    }
    rc = tcctl_call(c, "GET", "/v1/ping", NULL, &r);
    if (rc)
        return rc;
    if (c->json)
        print_body(&r);
    else if (!c->quiet)
        printf("tcd %s (api %s) at %s\n", or_str(tcctl_json_str(r.json, "version"), "?"),
               or_str(tcctl_json_str(r.json, "api"), "?"), c->socket_path);
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

/* ---- jobs --------------------------------------------------------------------------------- */

/* A pull's or push's repo, "org/name" (or "dataset org/name"); NULL for other jobs. */
static const char *job_repo(const cJSON *job, char *buf, size_t cap)
{
    const char *kind = tcctl_json_str(job, "kind");
    const cJSON *x = kind ? cJSON_GetObjectItemCaseSensitive(job, kind) : NULL;
    const char *repo = tcctl_json_str(x, "repo"), *type = tcctl_json_str(x, "repo_type");

    if (!cJSON_IsObject(x) || !repo)
        return NULL;
    snprintf(buf, cap, "%s%s%s", type && strcmp(type, "model") ? type : "",
             type && strcmp(type, "model") ? " " : "", repo);
    return buf;
}

static int jobs_table(const cJSON *jobs)
{
    static const char *const head[] = {"ID",      "KIND",     "STATE", "NAME",
                                       "CREATED", "PROGRESS", "REASON"};
    const cJSON *job;
    tcctl_table t;
    double now = tcctl_now();
    int tty = isatty(STDOUT_FILENO), rc = 0;

    tcctl_table_init(&t, 7);
    if (tcctl_table_add(&t, head) < 0)
        rc = -1;
    cJSON_ArrayForEach(job, jobs)
    {
        char created[32], progress[96], reason[128], repo[160];
        const char *row[7], *why = tcctl_json_str(job, "reason");
        const char *name = tcctl_json_str(job, "name");

        tcctl_fmt_ago(created, sizeof(created), tcctl_json_num(job, "created"), now);
        tcctl_fmt_progress(progress, sizeof(progress), job, 0);
        snprintf(reason, sizeof(reason), "%s", why ? why : "-");
        if (tty && strlen(reason) > 60)
            memcpy(reason + 57, "...", 4);
        row[0] = tcctl_json_str(job, "id");
        row[1] = tcctl_json_str(job, "kind");
        row[2] = tcctl_json_str(job, "state");
        row[3] = name ? name : job_repo(job, repo, sizeof(repo));
        row[4] = created;
        row[5] = progress;
        row[6] = reason;
        if (tcctl_table_add(&t, row) < 0)
            rc = -1;
    }
    tcctl_table_print(&t, stdout);
    tcctl_table_dispose(&t);
    if (rc < 0)
        fputs("tcctl: out of memory\n", stderr);
    return rc < 0 ? TCCTL_EXIT_FAILED : TCCTL_EXIT_OK;
}

int tcctl_cmd_jobs(tcctl_ctx *c, int argc, char **argv)
{
    const char *state = NULL, *limit = NULL;
    char path[256], esc[64];
    const cJSON *jobs, *job;
    tcctl_response r;
    size_t k;
    int i, rc, known = 0;

    for (i = 1; i < argc; i++) {
        int got;

        if (tcctl_is_help(argv[i]))
            return tcctl_help("jobs");
        if (tcctl_opt_global(c, argv[i]))
            continue;
        got = tcctl_opt_value("jobs", argc, argv, &i, "--state", &state);
        if (!got)
            got = tcctl_opt_value("jobs", argc, argv, &i, "--limit", &limit);
        if (got < 0)
            return TCCTL_EXIT_USAGE;
        if (!got)
            return tcctl_usage_error("jobs", "unexpected argument '%s'", argv[i]);
    }
    if (state) {
        for (k = 0; k < sizeof(job_states) / sizeof(job_states[0]); k++)
            known |= !strcmp(state, job_states[k]);
        if (!known)
            return tcctl_usage_error("jobs", "unknown state '%s'", state);
    }
    if (limit) {
        char *end;
        long n = strtol(limit, &end, 10);

        if (end == limit || *end || n < 1 || n > 1000)
            return tcctl_usage_error("jobs", "--limit must be 1..1000, got '%s'", limit);
    }
    esc[0] = '\0';
    if (state && tcctl_url_escape(esc, sizeof(esc), state) < 0)
        return tcctl_usage_error("jobs", "unknown state '%s'", state);
    snprintf(path, sizeof(path), "/v1/jobs%s%s%s%s", state ? "?state=" : "", esc,
             limit ? (state ? "&limit=" : "?limit=") : "", limit ? limit : "");
    rc = tcctl_call(c, "GET", path, NULL, &r);
    if (rc)
        return rc;
    jobs = cJSON_GetObjectItemCaseSensitive(r.json, "jobs");
    if (!cJSON_IsArray(jobs)) {
        fputs("tcctl: tcd sent a job list without \"jobs\"\n", stderr);
        tcctl_response_dispose(&r);
        return TCCTL_EXIT_FAILED;
    }
    if (c->json) {
        print_body(&r);
    } else if (c->quiet) {
        cJSON_ArrayForEach(job, jobs)
        {
            const char *id = tcctl_json_str(job, "id");
            if (id)
                printf("%s\n", id);
        }
    } else {
        rc = jobs_table(jobs);
    }
    tcctl_response_dispose(&r);
    return rc;
}

/* ---- status ------------------------------------------------------------------------------- */

static void print_time_row(const char *label, double t, double now)
{
    char when[64], ago[32];

    if (!isfinite(t)) {
        printf("%-10s-\n", label);
        return;
    }
    tcctl_fmt_time(when, sizeof(when), t);
    tcctl_fmt_ago(ago, sizeof(ago), t, now);
    printf("%-10s%s (%s)\n", label, when, ago);
}

/* A push's champion or challenger: "accuracy 0.934 on test (n=1209), commit 0123abcd, evaluated".
 */
static void fmt_side(char *buf, size_t cap, const cJSON *o)
{
    const char *metric = tcctl_json_str(o, "metric"), *split = tcctl_json_str(o, "split");
    const char *commit = tcctl_json_str(o, "commit"), *source = tcctl_json_str(o, "source");
    double n = tcctl_json_num(o, "n");
    char v[48], ns[48] = "";

    tcctl_fmt_value(v, sizeof(v), cJSON_GetObjectItemCaseSensitive(o, "value"));
    if (isfinite(n))
        snprintf(ns, sizeof(ns), " (n=%.0f)", n);
    snprintf(buf, cap, "%s %s on %s%s%s%.12s, %s", or_str(metric, "?"), v, or_str(split, "?"), ns,
             commit ? ", commit " : "", commit ? commit : "",
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "evaluated"))
                 ? "evaluated"
                 : or_str(source, "not evaluated"));
}

static void print_metrics(const cJSON *metrics)
{
    const cJSON *m;
    size_t w = 0;

    cJSON_ArrayForEach(m, metrics)
    {
        if (m->string && strlen(m->string) > w)
            w = strlen(m->string);
    }
    printf("metrics\n");
    cJSON_ArrayForEach(m, metrics)
    {
        char num[256];

        if (!m->string || cJSON_IsNull(m))
            continue;
        if (cJSON_IsObject(m))
            fmt_side(num, sizeof(num), m);
        else
            tcctl_fmt_value(num, sizeof(num), m);
        printf("  %-*s  %s\n", (int)w, m->string, num);
    }
}

/* The repo line of a pull or push job, and a push's source. */
static void print_transfer(const cJSON *job)
{
    const char *kind = tcctl_json_str(job, "kind");
    const cJSON *x = kind ? cJSON_GetObjectItemCaseSensitive(job, kind) : NULL;
    const char *repo = tcctl_json_str(x, "repo"), *type = tcctl_json_str(x, "repo_type");
    const char *src = tcctl_json_str(x, "source"), *dir = tcctl_json_str(x, "dir");
    const char *when = tcctl_json_str(x, "when");
    int automatic = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "auto"));

    if (!cJSON_IsObject(x) || !repo)
        return;
    printf("%-10s%s %s", "repo", or_str(type, "model"), repo);
    if (!strcmp(kind, "pull"))
        printf("@%s", or_str(tcctl_json_str(x, "revision"), "main"));
    if (!strcmp(kind, "push")) {
        printf(", branch %s", or_str(tcctl_json_str(x, "branch"), "main"));
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "private")))
            printf(", private");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "force")))
            printf(", force");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "rollback")))
            printf(", rollback to the previous champion");
        else if (when && (automatic || strcmp(when, "always")))
            printf(", when %s", when);
    }
    putchar('\n');
    if (src && dir && strcmp(src, dir))
        printf("%-10s%s (%s)%s\n", "source", src, dir, automatic ? ", by its push section" : "");
    else if (src)
        printf("%-10s%s\n", "source", src);
}

/* A train job's push job (push_job): "jXXXX (state: outcome)". */
static void print_push_job(tcctl_ctx *c, const cJSON *job)
{
    const char *id = tcctl_json_str(job, "push_job");
    const char *state, *reason, *url, *why;
    const cJSON *result;
    char path[64];
    tcctl_response r;

    if (!tcctl_job_id_valid(id))
        return;
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    if (tcctl_request(c, "GET", path, NULL, 0, &r) != TCCTL_NET_OK || r.status != 200) {
        printf("%-10s%s (%s)\n", "push", id, r.status == 404 ? "deleted" : "state unknown");
        tcctl_response_dispose(&r);
        return;
    }
    state = or_str(tcctl_json_str(r.json, "state"), "?");
    reason = tcctl_json_str(r.json, "reason");
    result = cJSON_GetObjectItemCaseSensitive(r.json, "result");
    url = tcctl_json_str(result, "url");
    why = tcctl_json_str(result, "reason");
    printf("%-10s%s (%s", "push", id, state);
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(result, "pushed")))
        printf(": %s", why ? why : "not pushed");
    else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(result, "changed")))
        printf(": nothing changed; no commit");
    else if (url && *url)
        printf(": %s", url);
    else if (reason)
        printf(": %s", reason);
    printf(")\n");
    tcctl_response_dispose(&r);
}

/* A scheduled train job: "schedule  KEY (if-changed, concurrency forbid, deadline 30m)", its
 * idempotency key and the revisions it was (or is to be) trained on. */
static void print_schedule(const cJSON *job)
{
    const char *key = tcctl_json_str(job, "schedule_key"),
               *conc = tcctl_json_str(job, "concurrency");
    const char *idem = tcctl_json_str(job, "idempotency_key");
    const char *data = tcctl_json_str(job, "data_revision");
    const char *model = tcctl_json_str(job, "model_revision");
    double deadline = tcctl_json_num(job, "deadline_s");
    char buf[64] = "";

    if (key) {
        if (isfinite(deadline) && deadline > 0)
            tcctl_fmt_duration(buf, sizeof(buf), deadline);
        printf("%-10s%s (%sconcurrency %s%s%s)\n", "schedule", key,
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(job, "if_changed")) ? "if-changed, "
                                                                                 : "",
               or_str(conc, "allow"), buf[0] ? ", deadline " : "", buf);
    }
    if (idem)
        printf("%-10s%s\n", "idem. key", idem);
    if (data || model)
        printf("%-10sdata %s, model %s\n", "revisions", or_str(data, "-"), or_str(model, "-"));
}

static void print_status(const cJSON *job)
{
    const char *name = tcctl_json_str(job, "name"), *reason = tcctl_json_str(job, "reason");
    const char *output = tcctl_json_str(job, "output");
    const cJSON *exitinfo = cJSON_GetObjectItemCaseSensitive(job, "exit");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(job, "result");
    double now = tcctl_now(), started = tcctl_json_num(job, "started");
    double finished = tcctl_json_num(job, "finished"), timeout = tcctl_json_num(job, "timeout_s");
    double code = tcctl_json_num(exitinfo, "code"), sig = tcctl_json_num(exitinfo, "signal");
    double attempts = tcctl_json_num(job, "attempts"), owner = tcctl_json_num(job, "owner_uid");
    char buf[160];

    printf("%-10s%s%s%s%s\n", "job", or_str(tcctl_json_str(job, "id"), "?"), name ? "  (" : "",
           name ? name : "", name ? ")" : "");
    printf("%-10s%s\n", "state", or_str(tcctl_json_str(job, "state"), "?"));
    if (reason)
        printf("%-10s%s\n", "reason", reason);
    printf("%-10s%s", "kind", or_str(tcctl_json_str(job, "kind"), "?"));
    if (isfinite(owner))
        printf(", owner uid %.0f", owner);
    if (isfinite(attempts) && attempts > 1)
        printf(", attempt %.0f", attempts);
    putchar('\n');
    print_transfer(job);
    print_time_row("created", tcctl_json_num(job, "created"), now);
    print_time_row("started", started, now);
    print_time_row("finished", finished, now);
    if (isfinite(started)) {
        tcctl_fmt_duration(buf, sizeof(buf), (isfinite(finished) ? finished : now) - started);
        printf("%-10s%s\n", "runtime", buf);
    }
    if (isfinite(timeout) && timeout > 0) {
        tcctl_fmt_duration(buf, sizeof(buf), timeout);
        printf("%-10s%s\n", "timeout", buf);
    }
    print_schedule(job);
    if (isfinite(code) || isfinite(sig))
        printf("%-10s%s %.0f\n", "exit", isfinite(sig) ? "signal" : "code",
               isfinite(sig) ? sig : code);
    tcctl_fmt_progress(buf, sizeof(buf), job, 1);
    if (strcmp(buf, "-"))
        printf("%-10s%s\n", "progress", buf);
    if (cJSON_IsObject(result) && result->child)
        print_metrics(result);
    if (output)
        printf("%-10s%s\n", "output", output);
}

int tcctl_cmd_status(tcctl_ctx *c, int argc, char **argv)
{
    const char *id;
    char path[64];
    tcctl_response r;
    int rc = parse_id_arg(c, "status", argc, argv, &id);

    if (rc)
        return rc < 0 ? TCCTL_EXIT_OK : rc;
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    rc = tcctl_call(c, "GET", path, NULL, &r);
    if (rc)
        return rc;
    if (c->json)
        print_body(&r);
    else if (c->quiet)
        printf("%s\n", id);
    else {
        print_status(r.json);
        print_push_job(c, r.json);
    }
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

/* ---- cancel, rm --------------------------------------------------------------------------- */

int tcctl_cmd_cancel(tcctl_ctx *c, int argc, char **argv)
{
    const char *id, *state;
    char path[80];
    tcctl_response r;
    int rc = parse_id_arg(c, "cancel", argc, argv, &id);

    if (rc)
        return rc < 0 ? TCCTL_EXIT_OK : rc;
    snprintf(path, sizeof(path), "/v1/jobs/%s/cancel", id);
    rc = tcctl_call(c, "POST", path, "{}", &r);
    if (rc)
        return rc;
    state = tcctl_json_str(r.json, "state");
    if (c->json)
        print_body(&r);
    else if (c->quiet)
        printf("%s\n", id);
    else if (state && !strcmp(state, "cancelled"))
        printf("cancelled %s\n", id);
    else
        printf("cancelling %s (the worker is stopping; `tcctl wait %s` to follow)\n", id, id);
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

int tcctl_cmd_rm(tcctl_ctx *c, int argc, char **argv)
{
    int i, n = 0, worst = TCCTL_EXIT_OK;

    for (i = 1; i < argc; i++) {
        if (tcctl_is_help(argv[i]))
            return tcctl_help("rm");
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (argv[i][0] == '-')
            return tcctl_usage_error("rm", "unknown flag '%s'", argv[i]);
        if (!tcctl_job_id_valid(argv[i]))
            return tcctl_usage_error("rm", "'%s' is not a job id (j and 16 hex digits)", argv[i]);
        n++;
    }
    if (!n)
        return tcctl_usage_error("rm", "a job id is needed");
    for (i = 1; i < argc; i++) {
        char path[64];
        tcctl_response r;
        int rc;

        if (argv[i][0] == '-')
            continue;
        snprintf(path, sizeof(path), "/v1/jobs/%s", argv[i]);
        rc = tcctl_call(c, "DELETE", path, NULL, &r);
        if (rc) {
            if (worst == TCCTL_EXIT_OK)
                worst = rc;
            if (rc == TCCTL_EXIT_UNAVAILABLE)
                break;
            continue;
        }
        if (c->json)
            print_body(&r);
        else if (c->quiet)
            printf("%s\n", argv[i]);
        else
            printf("deleted %s\n", argv[i]);
        tcctl_response_dispose(&r);
    }
    return worst;
}

/* ---- plugins ------------------------------------------------------------------------------ */

static int plugins_list(tcctl_ctx *c)
{
    static const char *const head[] = {"NAME", "KIND", "VERSION", "LICENSE", "DESCRIPTION"};
    const cJSON *plugins, *p;
    tcctl_response r;
    tcctl_table t;
    int rc = tcctl_call(c, "GET", "/v1/plugins", NULL, &r);

    if (rc)
        return rc;
    plugins = cJSON_GetObjectItemCaseSensitive(r.json, "plugins");
    if (c->json) {
        print_body(&r);
        tcctl_response_dispose(&r);
        return TCCTL_EXIT_OK;
    }
    tcctl_table_init(&t, 5);
    tcctl_table_add(&t, head);
    cJSON_ArrayForEach(p, plugins)
    {
        const char *status = tcctl_json_str(p, "status"), *name = tcctl_json_str(p, "name");
        const char *path = tcctl_json_str(p, "path");
        char broken[512];
        const char *row[5];

        if (c->quiet) {
            if (name)
                printf("%s\n", name);
            continue;
        }
        if (!name && path)
            name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        row[0] = name;
        row[1] = tcctl_json_str(p, "kind");
        row[2] = tcctl_json_str(p, "version");
        row[3] = tcctl_json_str(p, "license");
        row[4] = tcctl_json_str(p, "description");
        if (status && strcmp(status, "ok")) {
            snprintf(broken, sizeof(broken), "%s: %s", status,
                     or_str(tcctl_json_str(p, "reason"), "no reason given"));
            row[4] = broken;
        }
        tcctl_table_add(&t, row);
    }
    if (!c->quiet)
        tcctl_table_print(&t, stdout);
    tcctl_table_dispose(&t);
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

static void fmt_option_range(char *buf, size_t cap, const cJSON *o)
{
    double lo = tcctl_json_num(o, "min"), hi = tcctl_json_num(o, "max");
    char a[48], b[48];

    if (!isfinite(lo) && !isfinite(hi)) {
        snprintf(buf, cap, "-");
        return;
    }
    snprintf(a, sizeof(a), "%g", lo);
    snprintf(b, sizeof(b), "%g", hi);
    snprintf(buf, cap, "%s..%s", isfinite(lo) ? a : "", isfinite(hi) ? b : "");
}

static int plugins_show(tcctl_ctx *c, const char *name)
{
    static const char *const head[] = {"OPTION", "TYPE", "DEFAULT", "RANGE", "HELP"};
    const cJSON *opts, *o;
    char path[512], esc[400];
    tcctl_response r;
    tcctl_table t;
    int rc;

    if (tcctl_url_escape(esc, sizeof(esc), name) < 0)
        return tcctl_usage_error("plugins", "plugin name too long");
    snprintf(path, sizeof(path), "/v1/plugins/%s", esc);
    rc = tcctl_call(c, "GET", path, NULL, &r);
    if (rc)
        return rc;
    if (c->json) {
        print_body(&r);
        tcctl_response_dispose(&r);
        return TCCTL_EXIT_OK;
    }
    if (c->quiet) {
        printf("%s\n", or_str(tcctl_json_str(r.json, "name"), name));
        tcctl_response_dispose(&r);
        return TCCTL_EXIT_OK;
    }
    printf("%s %s (%s plugin, %s, abi %s)\n", or_str(tcctl_json_str(r.json, "name"), name),
           or_str(tcctl_json_str(r.json, "version"), "?"),
           or_str(tcctl_json_str(r.json, "kind"), "?"),
           or_str(tcctl_json_str(r.json, "license"), "no license given"),
           or_str(tcctl_json_str(r.json, "abi"), "?"));
    if (tcctl_json_str(r.json, "description"))
        printf("  %s\n", tcctl_json_str(r.json, "description"));
    if (tcctl_json_str(r.json, "path"))
        printf("  %s\n", tcctl_json_str(r.json, "path"));
    opts = cJSON_GetObjectItemCaseSensitive(r.json, "options");
    if (!cJSON_GetArraySize(opts)) {
        printf("\nno options\n");
        tcctl_response_dispose(&r);
        return TCCTL_EXIT_OK;
    }
    putchar('\n');
    tcctl_table_init(&t, 5);
    tcctl_table_add(&t, head);
    cJSON_ArrayForEach(o, opts)
    {
        char range[128], def[128];
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "default");
        const char *row[5];

        tcctl_fmt_value(def, sizeof(def), d);
        fmt_option_range(range, sizeof(range), o);
        row[0] = tcctl_json_str(o, "name");
        row[1] = tcctl_json_str(o, "type");
        row[2] = def;
        row[3] = range;
        row[4] = tcctl_json_str(o, "help");
        tcctl_table_add(&t, row);
    }
    tcctl_table_print(&t, stdout);
    tcctl_table_dispose(&t);
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

int tcctl_cmd_plugins(tcctl_ctx *c, int argc, char **argv)
{
    const char *pos[3] = {NULL, NULL, NULL};
    int i, n = 0;

    for (i = 1; i < argc; i++) {
        if (tcctl_is_help(argv[i]))
            return tcctl_help("plugins");
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (argv[i][0] == '-')
            return tcctl_usage_error("plugins", "unknown flag '%s'", argv[i]);
        if (n == 3)
            return tcctl_usage_error("plugins", "too many arguments");
        pos[n++] = argv[i];
    }
    if (n == 0)
        return plugins_list(c);
    if (strcmp(pos[0], "show") && strcmp(pos[0], "list"))
        return tcctl_usage_error("plugins", "unknown subcommand '%s'", pos[0]);
    if (!strcmp(pos[0], "list")) {
        if (n != 1)
            return tcctl_usage_error("plugins", "too many arguments");
        return plugins_list(c);
    }
    if (n != 2 || !*pos[1])
        return tcctl_usage_error("plugins", "plugins show needs exactly one plugin name");
    return plugins_show(c, pos[1]);
}
