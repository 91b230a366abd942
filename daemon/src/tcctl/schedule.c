/*
 * schedule.c - `tcctl schedule list|add|rm|run-now`: tcd's schedules (docs/api.md,
 * /v1/schedules).
 *
 *   list                 NAME CRON TIME-ZONE NEXT-RUN LAST-RUN OUTCOME (--json: the API's object)
 *   add NAME --cron EXPR --spec FILE [options]   a relative FILE is made absolute
 *   rm NAME...
 *   run-now NAME         create the schedule's job now; prints its id
 *
 * A schedule tcd refuses (bad cron, spec, time zone, ...) exits 2 with tcd's message, which
 * names the field.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcctl.h"

#define CMD "schedule"

static void print_body(const tcctl_response *r)
{
    fwrite(r->body, 1, r->len, stdout);
    if (!r->len || r->body[r->len - 1] != '\n')
        putchar('\n');
}

/* tcctl_call, with 400 invalid_schedule mapped to the usage status (2). */
static int call(const tcctl_ctx *c, const char *method, const char *path, const char *body,
                tcctl_response *out)
{
    tcctl_net net = tcctl_request(c, method, path, body, 0, out);
    const cJSON *err;
    const char *code;
    int rc;

    if (net != TCCTL_NET_OK) {
        tcctl_response_dispose(out);
        return tcctl_net_report(c, net);
    }
    if (out->status >= 200 && out->status <= 299 && out->json)
        return TCCTL_EXIT_OK;
    err = out->json ? cJSON_GetObjectItemCaseSensitive(out->json, "error") : NULL;
    code = tcctl_json_str(err, "code");
    rc = tcctl_http_error(out);
    if (out->status == 400 && code && !strcmp(code, "invalid_schedule"))
        rc = TCCTL_EXIT_USAGE;
    if (out->status == 404 && code && !strcmp(code, "schedule_not_found"))
        rc = TCCTL_EXIT_USAGE;
    tcctl_response_dispose(out);
    return rc;
}

static void fmt_when(char *buf, size_t cap, const cJSON *o, const char *key)
{
    double t = tcctl_json_num(o, key);

    if (isfinite(t) && t > 0)
        tcctl_fmt_time(buf, cap, t);
    else
        snprintf(buf, cap, "-");
}

static void fmt_outcome(char *buf, size_t cap, const cJSON *last)
{
    const char *state = tcctl_json_str(last, "state"), *job = tcctl_json_str(last, "job");
    const char *error = tcctl_json_str(last, "error");

    if (error)
        snprintf(buf, cap, "not created: %.200s", error);
    else if (state && job)
        snprintf(buf, cap, "%s (%s)", state, job);
    else
        snprintf(buf, cap, "-");
}

static int schedule_list(tcctl_ctx *c, int argc, char **argv)
{
    const cJSON *arr, *s;
    tcctl_response r;
    tcctl_table t;
    int i, rc;

    for (i = 2; i < argc; i++) {
        if (tcctl_opt_global(c, argv[i]))
            continue;
        return tcctl_usage_error(CMD, "unexpected argument '%s'", argv[i]);
    }
    if ((rc = call(c, "GET", "/v1/schedules", NULL, &r)) != 0)
        return rc;
    if (c->json) {
        print_body(&r);
        tcctl_response_dispose(&r);
        return TCCTL_EXIT_OK;
    }
    arr = cJSON_GetObjectItemCaseSensitive(r.json, "schedules");
    tcctl_table_init(&t, 7);
    if (!c->quiet) {
        const char *head[] = {"NAME",     "CRON",    "TIME ZONE", "NEXT RUN",
                              "LAST RUN", "OUTCOME", "SOURCE"};
        tcctl_table_add(&t, head);
    }
    cJSON_ArrayForEach(s, arr)
    {
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(s, "last_run");
        char next[64], lastt[64], outcome[256];
        const char *row[7];
        fmt_when(next, sizeof(next), s, "next_run");
        fmt_when(lastt, sizeof(lastt), last, "time");
        fmt_outcome(outcome, sizeof(outcome), last);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "suspend")))
            snprintf(next, sizeof(next), "suspended");
        row[0] = tcctl_json_str(s, "name");
        row[1] = tcctl_json_str(s, "cron");
        row[2] = tcctl_json_str(s, "time_zone");
        row[3] = next;
        row[4] = lastt;
        row[5] = outcome;
        row[6] = tcctl_json_str(s, "source");
        if (c->quiet)
            printf("%s\n", row[0] ? row[0] : "");
        else
            tcctl_table_add(&t, row);
    }
    if (!c->quiet)
        tcctl_table_print(&t, stdout);
    tcctl_table_dispose(&t);
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

/* add's options into the definition object. 0, or a usage status. */
static int add_options(tcctl_ctx *c, int argc, char **argv, cJSON *def)
{
    static const char *const strs[] = {"--cron",           "--time-zone",
                                       "--concurrency",    "--randomized-delay",
                                       "--keep-succeeded", "--keep-failed"};
    static const char *const keys[] = {
        "cron", "time_zone", "concurrency", "randomized_delay", "keep_succeeded", "keep_failed"};
    const char *v;
    int i, k, r;

    for (i = 3; i < argc; i++) {
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if ((r = tcctl_opt_value(CMD, argc, argv, &i, "--spec", &v)) != 0) {
            char abs[PATH_MAX], cwd[PATH_MAX];
            if (r < 0)
                return TCCTL_EXIT_USAGE;
            if (v[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
                snprintf(abs, sizeof(abs), "%s/%s", cwd, v) < (int)sizeof(abs))
                v = abs;
            cJSON_AddStringToObject(def, "spec", v);
            continue;
        }
        for (k = 0; k < 6; k++) {
            if ((r = tcctl_opt_value(CMD, argc, argv, &i, strs[k], &v)) < 0)
                return TCCTL_EXIT_USAGE;
            if (r > 0) {
                cJSON_DeleteItemFromObjectCaseSensitive(def, keys[k]);
                cJSON_AddStringToObject(def, keys[k], v);
                break;
            }
        }
        if (k < 6)
            continue;
        if (!strcmp(argv[i], "--persistent"))
            cJSON_AddTrueToObject(def, "persistent");
        else if (!strcmp(argv[i], "--suspend"))
            cJSON_AddTrueToObject(def, "suspend");
        else if (!strcmp(argv[i], "--if-changed"))
            cJSON_AddTrueToObject(def, "if_changed");
        else
            return tcctl_usage_error(CMD, "unexpected argument '%s'", argv[i]);
    }
    if (!cJSON_GetObjectItemCaseSensitive(def, "cron") ||
        !cJSON_GetObjectItemCaseSensitive(def, "spec"))
        return tcctl_usage_error(CMD, "add needs --cron EXPR and --spec FILE");
    return 0;
}

static int schedule_add(tcctl_ctx *c, int argc, char **argv)
{
    cJSON *def = cJSON_CreateObject();
    tcctl_response r;
    char *body = NULL;
    int rc;

    if (argc < 3 || argv[2][0] == '-') {
        cJSON_Delete(def);
        return tcctl_usage_error(CMD, "add needs a schedule name");
    }
    cJSON_AddStringToObject(def, "name", argv[2]);
    if ((rc = add_options(c, argc, argv, def)) != 0)
        goto out;
    if (!(body = cJSON_PrintUnformatted(def))) {
        rc = TCCTL_EXIT_FAILED;
        goto out;
    }
    if ((rc = call(c, "POST", "/v1/schedules", body, &r)) != 0)
        goto out;
    if (c->json)
        print_body(&r);
    else if (c->quiet)
        printf("%s\n", argv[2]);
    else
        printf("added schedule %s\n", argv[2]);
    tcctl_response_dispose(&r);
out:
    cJSON_free(body);
    cJSON_Delete(def);
    return rc;
}

static int name_path(char *buf, size_t cap, const char *name, const char *suffix)
{
    char esc[256];

    if (tcctl_url_escape(esc, sizeof(esc), name) < 0)
        return -1;
    return snprintf(buf, cap, "/v1/schedules/%s%s", esc, suffix) < (int)cap ? 0 : -1;
}

static int schedule_rm(tcctl_ctx *c, int argc, char **argv)
{
    int i, n = 0, worst = TCCTL_EXIT_OK, rc;

    for (i = 2; i < argc; i++) {
        char path[512];
        tcctl_response r;
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (argv[i][0] == '-' || name_path(path, sizeof(path), argv[i], "") < 0)
            return tcctl_usage_error(CMD, "unexpected argument '%s'", argv[i]);
        n++;
        if ((rc = call(c, "DELETE", path, NULL, &r)) != 0) {
            worst = worst ? worst : rc;
            continue;
        }
        if (c->json)
            print_body(&r);
        else
            printf(c->quiet ? "%s\n" : "removed schedule %s\n", argv[i]);
        tcctl_response_dispose(&r);
    }
    return n ? worst : tcctl_usage_error(CMD, "rm needs a schedule name");
}

static int schedule_run_now(tcctl_ctx *c, int argc, char **argv)
{
    const char *name = NULL, *id;
    char path[512];
    tcctl_response r;
    int i, rc;

    for (i = 2; i < argc; i++) {
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (argv[i][0] == '-' || name)
            return tcctl_usage_error(CMD, "unexpected argument '%s'", argv[i]);
        name = argv[i];
    }
    if (!name || name_path(path, sizeof(path), name, "/run") < 0)
        return tcctl_usage_error(CMD, "run-now needs a schedule name");
    if ((rc = call(c, "POST", path, NULL, &r)) != 0)
        return rc;
    id = tcctl_json_str(r.json, "id");
    if (c->json)
        print_body(&r);
    else
        printf("%s\n", id ? id : "?");
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

int tcctl_cmd_schedule(tcctl_ctx *c, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    int i;

    for (i = 1; i < argc; i++)
        if (tcctl_is_help(argv[i]))
            return tcctl_help(CMD);
    if (!sub || !strcmp(sub, "list") || !strcmp(sub, "ls"))
        return schedule_list(c, argc, argv);
    if (!strcmp(sub, "add"))
        return schedule_add(c, argc, argv);
    if (!strcmp(sub, "rm"))
        return schedule_rm(c, argc, argv);
    if (!strcmp(sub, "run-now"))
        return schedule_run_now(c, argc, argv);
    return tcctl_usage_error(CMD, "unknown subcommand '%s' (list, add, rm, run-now)", sub);
}
