/*
 * hub_pull - a small driver of libtchub for tests/hub/test_download.sh.
 *
 *   hub_pull snapshot TYPE REPO REV [PATTERN...]
 *   hub_pull file TYPE REPO REV PATH
 *
 * Configuration comes from the environment (HF_ENDPOINT, HF_TOKEN,
 * HF_HUB_CACHE, HF_HUB_OFFLINE); HUB_PULL_CANCEL_AFTER=N cancels once N
 * bytes arrived. TYPE is model or dataset. Prints the snapshot (or file)
 * path; on failure "error <Kind>: <message>" on stderr and exit status 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>
#include <tc/hub.h>

static unsigned long long cancel_after;
static unsigned long long transferred;

static void on_progress(const tc_hub_progress *p, void *payload)
{
    (void)payload;
    transferred = p->transferred;
}

static int on_cancel(void *payload)
{
    (void)payload;
    return cancel_after && transferred >= cancel_after;
}

static void on_notice(const char *msg, void *payload)
{
    (void)payload;
    fprintf(stderr, "notice: %s\n", msg);
}

int main(int argc, char **argv)
{
    tc_hub_options o = TC_HUB_OPTIONS_INIT;
    tc_hub_download_options d = TC_HUB_DOWNLOAD_OPTIONS_INIT;
    tc_hub_client *c = NULL;
    tc_hub_repo_type type;
    const char *env = getenv("HUB_PULL_CANCEL_AFTER");
    char *out = NULL;
    int rc;
    if (argc < 5) {
        fprintf(stderr, "usage: hub_pull snapshot|file TYPE REPO REV [PATH|PATTERN...]\n");
        return 64;
    }
    cancel_after = env ? strtoull(env, NULL, 10) : 0;
    type = strcmp(argv[2], "dataset") == 0 ? TC_HUB_REPO_DATASET : TC_HUB_REPO_MODEL;
    if ((env = getenv("HUB_PULL_PARALLEL")))
        o.max_parallel = (unsigned)strtoul(env, NULL, 10);
    o.retry_base_ms = 200;
    o.retry_max_ms = 1000;
    d.progress = on_progress;
    d.cancel = on_cancel;
    d.notice = on_notice;
    rc = tc_hub_client_new(&c, &o);
    if (rc == 0 && strcmp(argv[1], "file") == 0 && argc >= 6) {
        rc = tc_hub_file_download(&out, c, type, argv[3], argv[4], argv[5], &d);
    } else if (rc == 0) {
        d.allow_patterns = (const char *const *)(argv + 5);
        d.n_allow = (size_t)(argc - 5);
        rc = tc_hub_snapshot_download(&out, c, type, argv[3], argv[4], &d);
    }
    if (rc) {
        fprintf(stderr, "error %s: %s\n", tc_hub_error_kind_name(tc_hub_error_kind_last()),
                tc_error_message());
        tc_hub_client_free(c);
        return 2;
    }
    printf("%s\n", out);
    fprintf(stderr, "transferred %llu\n", transferred);
    tc_free(out);
    tc_hub_client_free(c);
    return 0;
}
