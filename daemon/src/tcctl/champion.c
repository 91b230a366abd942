/*
 * champion.c - promote and rollback: the champion/challenger commands. Both
 * create a push job through the API (POST /v1/jobs) and follow it as `tcctl
 * push` does.
 *
 *   tcctl promote JOB_ID [--force] [--message M] [--detach]
 *       JOB_ID is a candidate: a succeeded train job whose push job (queued by
 *       its push section with when: improved) did not push, because the
 *       model did not beat the champion. It is pushed now to the same repo
 *       and branch with when "always"; the branch is not force-pushed unless
 *       --force is given.
 *   tcctl rollback ORG/NAME [--branch B] [--force] [--detach]
 *       A push job with "rollback": true: tcd-worker makes a new commit on
 *       the branch whose tree is the previous champion's (the commit recorded
 *       in tcd-previous.json by the push that replaced it).
 */
#include <stdlib.h>
#include <string.h>

#include "tcctl.h"

static int fetch(tcctl_ctx *c, const char *id, tcctl_response *r)
{
    char path[64];

    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    return tcctl_call(c, "GET", path, NULL, r);
}

/*
 * Whether train job id is a candidate; on success *push is its push job's
 * push object (repo, branch, ...) duplicated. Messages on stderr.
 */
static int candidate(tcctl_ctx *c, const char *id, cJSON **push)
{
    tcctl_response t, p;
    const char *kind, *state, *pid, *pstate;
    const cJSON *res;
    int rc;

    memset(&p, 0, sizeof(p));
    if ((rc = fetch(c, id, &t)) != 0)
        return rc;
    kind = tcctl_json_str(t.json, "kind");
    state = tcctl_json_str(t.json, "state");
    pid = tcctl_json_str(t.json, "push_job");
    rc = TCCTL_EXIT_FAILED;
    if (!kind || strcmp(kind, "train")) {
        fprintf(stderr,
                "tcctl: job %s is a %s job, not a candidate (a train job whose push was "
                "not made)\n",
                id, kind ? kind : "?");
        goto out;
    }
    if (!state || strcmp(state, "succeeded")) {
        fprintf(stderr,
                "tcctl: job %s is %s, not a candidate (only a succeeded train job can be "
                "promoted)\n",
                id, state ? state : "?");
        goto out;
    }
    if (!tcctl_job_id_valid(pid)) {
        fprintf(stderr,
                "tcctl: job %s is not a candidate: its spec has no push section (push it "
                "with `tcctl push %s --repo ORG/NAME`)\n",
                id, id);
        goto out;
    }
    if ((rc = fetch(c, pid, &p)) != 0)
        goto out;
    rc = TCCTL_EXIT_FAILED;
    pstate = tcctl_json_str(p.json, "state");
    res = cJSON_GetObjectItemCaseSensitive(p.json, "result");
    if (!pstate || strcmp(pstate, "succeeded") ||
        !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(res, "pushed"))) {
        const char *url = tcctl_json_str(res, "url");
        if (pstate && !strcmp(pstate, "succeeded"))
            fprintf(stderr, "tcctl: job %s is not a candidate: its push job %s pushed it%s%s%s\n",
                    id, pid, url && *url ? " (" : "", url && *url ? url : "",
                    url && *url ? ")" : "");
        else
            fprintf(stderr,
                    "tcctl: job %s is not a candidate: its push job %s is %s (not a push that "
                    "was kept back)\n",
                    id, pid, pstate ? pstate : "?");
        goto out;
    }
    if (!(*push = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(p.json, "push"), 1)))
        goto out;
    rc = TCCTL_EXIT_OK;
out:
    tcctl_response_dispose(&p);
    tcctl_response_dispose(&t);
    return rc;
}

/* Flags both commands take; 1 consumed, 0 not, -1 usage error (printed). */
static int common_flag(tcctl_ctx *c, const char *cmd, int argc, char **argv, int *i, int *force,
                       int *detach, const char **message)
{
    int r;

    if (tcctl_opt_global(c, argv[*i]))
        return 1;
    if (!strcmp(argv[*i], "--force")) {
        *force = 1;
        return 1;
    }
    if (!strcmp(argv[*i], "--detach") || !strcmp(argv[*i], "-d")) {
        *detach = 1;
        return 1;
    }
    r = tcctl_opt_value(cmd, argc, argv, i, "--message", message);
    if (r > 0 && (!**message || strlen(*message) > 4096)) {
        tcctl_usage_error(cmd, "--message must be 1..4096 bytes");
        return -1;
    }
    return r;
}

int tcctl_cmd_promote(tcctl_ctx *c, int argc, char **argv)
{
    const char *id = NULL, *message = NULL, *repo, *branch;
    cJSON *push = NULL, *body = NULL;
    char *text = NULL, what[512];
    int i, r, force = 0, detach = 0, rc;

    for (i = 1; i < argc; i++) {
        if (tcctl_is_help(argv[i]))
            return tcctl_help("promote");
        if ((r = common_flag(c, "promote", argc, argv, &i, &force, &detach, &message)) < 0)
            return TCCTL_EXIT_USAGE;
        if (r)
            continue;
        if (argv[i][0] == '-')
            return tcctl_usage_error("promote", "unknown flag '%s'", argv[i]);
        if (id)
            return tcctl_usage_error("promote", "one job id only (got '%s' and '%s')", id, argv[i]);
        id = argv[i];
    }
    if (!id)
        return tcctl_usage_error("promote", "the id of a candidate train job is needed");
    if (!tcctl_job_id_valid(id))
        return tcctl_usage_error("promote", "'%s' is not a job id (j and 16 hex digits)", id);
    if ((rc = candidate(c, id, &push)) != 0)
        return rc;
    repo = tcctl_json_str(push, "repo");
    branch = tcctl_json_str(push, "branch");
    if (!repo) {
        fprintf(stderr, "tcctl: the push job of %s names no repo\n", id);
        cJSON_Delete(push);
        return TCCTL_EXIT_FAILED;
    }
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "kind", "push");
    cJSON_AddStringToObject(body, "source", id);
    cJSON_AddStringToObject(body, "repo", repo);
    cJSON_AddStringToObject(body, "repo_type", "model");
    if (branch)
        cJSON_AddStringToObject(body, "branch", branch);
    cJSON_AddBoolToObject(body, "private",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(push, "private")));
    cJSON_AddBoolToObject(body, "force", force);
    cJSON_AddStringToObject(body, "when", "always");
    snprintf(what, sizeof(what), "Promote candidate %s by hand (tcd)", id);
    cJSON_AddStringToObject(body, "message", message ? message : what);
    text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    snprintf(what, sizeof(what), "promote %s to model %s@%s", id, repo, branch ? branch : "main");
    cJSON_Delete(push);
    if (!text) {
        fputs("tcctl: out of memory\n", stderr);
        return TCCTL_EXIT_FAILED;
    }
    rc = tcctl_push_job_run(c, text, detach, what);
    cJSON_free(text);
    return rc;
}

int tcctl_cmd_rollback(tcctl_ctx *c, int argc, char **argv)
{
    const char *repo = NULL, *branch = NULL, *message = NULL;
    cJSON *body;
    char *text, what[512];
    int i, r, force = 0, detach = 0, rc;

    for (i = 1; i < argc; i++) {
        if (tcctl_is_help(argv[i]))
            return tcctl_help("rollback");
        if ((r = common_flag(c, "rollback", argc, argv, &i, &force, &detach, &message)) < 0)
            return TCCTL_EXIT_USAGE;
        if (r)
            continue;
        if ((r = tcctl_opt_value("rollback", argc, argv, &i, "--branch", &branch)) < 0)
            return TCCTL_EXIT_USAGE;
        if (r)
            continue;
        if (argv[i][0] == '-')
            return tcctl_usage_error("rollback", "unknown flag '%s'", argv[i]);
        if (repo)
            return tcctl_usage_error("rollback", "one repo only (got '%s' and '%s')", repo,
                                     argv[i]);
        repo = argv[i];
    }
    if (!repo)
        return tcctl_usage_error("rollback", "the model repo ORG/NAME is needed");
    if (!tcctl_repo_id_ok(repo))
        return tcctl_usage_error("rollback", "'%s' is not a repo id ORG/NAME", repo);
    if (branch && (!*branch || branch[0] == '-' || strlen(branch) > 256))
        return tcctl_usage_error("rollback", "--branch wants a branch name, got '%s'", branch);
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "kind", "push");
    cJSON_AddTrueToObject(body, "rollback");
    cJSON_AddStringToObject(body, "repo", repo);
    cJSON_AddStringToObject(body, "repo_type", "model");
    if (branch)
        cJSON_AddStringToObject(body, "branch", branch);
    if (message)
        cJSON_AddStringToObject(body, "message", message);
    cJSON_AddBoolToObject(body, "force", force);
    text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) {
        fputs("tcctl: out of memory\n", stderr);
        return TCCTL_EXIT_FAILED;
    }
    snprintf(what, sizeof(what), "roll back model %s@%s to its previous champion", repo,
             branch ? branch : "main");
    rc = tcctl_push_job_run(c, text, detach, what);
    cJSON_free(text);
    return rc;
}
