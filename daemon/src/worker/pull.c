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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <tc/hub.h>

#include "worker.h"
#include "xfer.h"

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
    tcd_xfer c;
    char *snap = NULL, code[64];
    int i, err, rc;

    tcd_xfer_init(&c, "download", 0, cancelled);
    c.hook = maybe_kill;
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
    if ((err = tc_hub_client_new(&client, NULL)) != TC_OK) {
        tcd_xfer_fail(&c, "failed", "invalid_argument", tc_error_message());
        rc = 78;
        goto out;
    }
    tc_hub_download_options_init(&o, TC_HUB_DOWNLOAD_OPTIONS_VERSION);
    o.allow_patterns = n_inc ? inc : NULL;
    o.n_allow = n_inc;
    o.ignore_patterns = n_exc ? exc : NULL;
    o.n_ignore = n_exc;
    o.progress = tcd_xfer_progress;
    o.cancel = tcd_xfer_cancel;
    o.notice = tcd_xfer_notice;
    o.payload = &c;
    err = tc_hub_snapshot_download(&snap, client, rt, repo, revision, &o);
    tcd_xfer_clear_line(&c);
    if (err == TC_OK) {
        double secs = tcd_xfer_elapsed(&c);
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
            tcd_fmt_bytes(b, sizeof b, (double)c.transferred);
            fprintf(stderr, "%zu files, %s transferred in %.1f s\n", c.files_total, b, secs);
            printf("%s\n", snap);
        }
        rc = 0;
    } else if (err == TC_ECANCELLED || cancelled(NULL)) {
        tcd_xfer_fail(&c, "cancelled", "cancelled",
                      "cancelled; partial files are kept for a resume");
        rc = 3;
    } else {
        tcd_xfer_error_code(err, code, sizeof code);
        tcd_xfer_fail(&c, "failed", code, tc_error_message());
        rc = 1;
    }
out:
    tc_free(snap);
    tc_hub_client_free(client);
    free(inc);
    free(exc);
    return rc;
}
