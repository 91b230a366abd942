/*
 * hub_push - a small driver of tc_hub_push_folder for tests/hub/test_push.sh
 * and bench/hub_push.sh.
 *
 *   hub_push TYPE REPO DIR [--branch B] [--message M] [--force] [--private]
 *            [--include G]... [--exclude G]... [--delete G]...
 *
 * Configuration comes from the environment (HF_ENDPOINT, HF_TOKEN,
 * HF_HUB_CACHE). HUB_PUSH_BEFORE_GIT=CMD runs CMD (with system(3)) when the
 * push reaches its git stage, so a test can move the branch in between.
 * Prints one line: "commit=<sha> changed=<0|1> created=<0|1> files=N lfs=N
 * uploaded=N skipped=N bytes=N"; on failure "error <Kind>: <message>" on
 * stderr and exit status 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>
#include <tc/hub.h>

#define MAX_PATTERNS 64

static void on_stage(tc_hub_push_stage s, void *payload)
{
    const char *cmd = getenv("HUB_PUSH_BEFORE_GIT");
    (void)payload;
    if (s == TC_HUB_PUSH_GIT && cmd && *cmd && system(cmd) != 0)
        fprintf(stderr, "hub_push: HUB_PUSH_BEFORE_GIT failed\n");
}

static void on_notice(const char *msg, void *payload)
{
    (void)payload;
    fprintf(stderr, "notice: %s\n", msg);
}

int main(int argc, char **argv)
{
    const char *inc[MAX_PATTERNS], *exc[MAX_PATTERNS], *del[MAX_PATTERNS];
    tc_hub_push_options o;
    tc_hub_push_result r;
    tc_hub_client *c = NULL;
    tc_hub_repo_type type;
    int i, rc;
    tc_hub_push_options_init(&o, TC_HUB_PUSH_OPTIONS_VERSION);
    if (argc < 4) {
        fprintf(stderr, "usage: hub_push TYPE REPO DIR [--branch B] [--message M] [--force] "
                        "[--private] [--include G]... [--exclude G]... [--delete G]...\n");
        return 64;
    }
    type = strcmp(argv[1], "dataset") == 0 ? TC_HUB_REPO_DATASET : TC_HUB_REPO_MODEL;
    o.allow_patterns = inc;
    o.ignore_patterns = exc;
    o.delete_patterns = del;
    for (i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--force")) {
            o.force = 1;
        } else if (!strcmp(a, "--private")) {
            o.is_private = 1;
        } else if (v && !strcmp(a, "--branch")) {
            o.branch = v, i++;
        } else if (v && !strcmp(a, "--message")) {
            o.message = v, i++;
        } else if (v && !strcmp(a, "--include") && o.n_allow < MAX_PATTERNS) {
            inc[o.n_allow++] = v, i++;
        } else if (v && !strcmp(a, "--exclude") && o.n_ignore < MAX_PATTERNS) {
            exc[o.n_ignore++] = v, i++;
        } else if (v && !strcmp(a, "--delete") && o.n_delete < MAX_PATTERNS) {
            del[o.n_delete++] = v, i++;
        } else {
            fprintf(stderr, "hub_push: bad argument '%s'\n", a);
            return 64;
        }
    }
    o.on_stage = on_stage;
    o.notice = on_notice;
    if (tc_hub_client_new(&c, NULL) < 0) {
        fprintf(stderr, "error: %s\n", tc_error_message());
        return 2;
    }
    rc = tc_hub_push_folder(&r, c, type, argv[2], argv[3], &o);
    if (rc < 0) {
        fprintf(stderr, "error %s: %s\n", tc_hub_error_kind_name(tc_hub_error_kind_last()),
                tc_error_message());
        tc_hub_client_free(c);
        return 2;
    }
    printf("commit=%s changed=%d created=%d files=%zu lfs=%zu uploaded=%zu skipped=%zu "
           "bytes=%llu url=%s\n",
           r.commit, r.changed, r.created_repo, r.files, r.lfs_files, r.lfs_uploaded, r.lfs_skipped,
           (unsigned long long)r.bytes_uploaded, r.url);
    tc_hub_push_result_dispose(&r);
    tc_hub_client_free(c);
    return 0;
}
