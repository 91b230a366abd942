/*
 * prune.c - `tcctl prune --partials [--dry-run]`: remove partial downloads
 * (blobs/<etag>.incomplete and blobs/<etag>.<random>.incomplete) and stale
 * lock files from the user's huggingface_hub cache. Runs locally (the cache
 * is the user's, not tcd's): $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE,
 * else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub.
 *
 * A partial whose lock (.locks/<repo-folder>/<etag>.lock, see hub/src) is
 * held by a running download is left alone; a lock file is removed only
 * when no blob download holds it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcctl.h"

typedef struct prune_ctx {
    tcctl_ctx *c;
    int dry_run;
    unsigned long long freed;
    unsigned long removed, busy, errors;
} prune_ctx;

static char *cache_dir(void)
{
    const char *v;
    char *out = NULL;

    if ((v = getenv("HF_HUB_CACHE")) && *v)
        return strdup(v);
    if ((v = getenv("HUGGINGFACE_HUB_CACHE")) && *v)
        return strdup(v);
    if ((v = getenv("HF_HOME")) && *v)
        return asprintf(&out, "%s/hub", v) < 0 ? NULL : out;
    if ((v = getenv("XDG_CACHE_HOME")) && *v)
        return asprintf(&out, "%s/huggingface/hub", v) < 0 ? NULL : out;
    if ((v = getenv("HOME")) && *v)
        return asprintf(&out, "%s/.cache/huggingface/hub", v) < 0 ? NULL : out;
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !strcmp(s + n - m, suffix);
}

/* 1 if lock_path is held by someone (flock LOCK_EX|LOCK_NB fails with EWOULDBLOCK). On success
 * *fd keeps our lock (close it after removing). */
static int lock_busy(const char *lock_path, int *fd)
{
    *fd = open(lock_path, O_RDWR | O_CLOEXEC);
    if (*fd < 0)
        return 0; /* no lock file: nobody holds it */
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(*fd);
        *fd = -1;
        return busy;
    }
    return 0;
}

static void remove_file(prune_ctx *p, const char *path, unsigned long long size)
{
    if (!p->dry_run && unlink(path) != 0) {
        fprintf(stderr, "tcctl: cannot remove %s: %s\n", path, strerror(errno));
        p->errors++;
        return;
    }
    if (!p->c->quiet && !p->c->json)
        printf("%s %s (%llu bytes)\n", p->dry_run ? "would remove" : "removed", path, size);
    p->removed++;
    p->freed += size;
}

/* The partials of one repo folder. */
static void prune_blobs(prune_ctx *p, const char *cache, const char *repo)
{
    char *blobs = NULL;
    struct dirent *e;
    DIR *dp;

    if (asprintf(&blobs, "%s/%s/blobs", cache, repo) < 0)
        return;
    if (!(dp = opendir(blobs))) {
        free(blobs);
        return;
    }
    while ((e = readdir(dp))) {
        char *path = NULL, *lock = NULL, etag[256];
        struct stat st;
        size_t n;
        int fd = -1;

        if (!ends_with(e->d_name, ".incomplete"))
            continue;
        n = strcspn(e->d_name, ".");
        if (n == 0 || n >= sizeof etag)
            continue;
        memcpy(etag, e->d_name, n);
        etag[n] = '\0';
        if (asprintf(&path, "%s/%s", blobs, e->d_name) < 0 ||
            asprintf(&lock, "%s/.locks/%s/%s.lock", cache, repo, etag) < 0) {
            free(path);
            free(lock);
            continue;
        }
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (lock_busy(lock, &fd)) {
                fprintf(stderr, "tcctl: %s is being downloaded now (its lock is held); kept\n",
                        path);
                p->busy++;
            } else {
                remove_file(p, path, (unsigned long long)st.st_size);
            }
        }
        if (fd >= 0)
            close(fd);
        free(path);
        free(lock);
    }
    closedir(dp);
    free(blobs);
}

/* Lock files nobody holds under .locks/<repo>/. */
static void prune_locks(prune_ctx *p, const char *cache)
{
    char *locks = NULL;
    struct dirent *r;
    DIR *top;

    if (asprintf(&locks, "%s/.locks", cache) < 0)
        return;
    if (!(top = opendir(locks))) {
        free(locks);
        return;
    }
    while ((r = readdir(top))) {
        char *sub = NULL;
        struct dirent *e;
        DIR *dp;

        if (r->d_name[0] == '.' || asprintf(&sub, "%s/%s", locks, r->d_name) < 0)
            continue;
        if ((dp = opendir(sub))) {
            while ((e = readdir(dp))) {
                char *path = NULL;
                int fd = -1;

                if (!ends_with(e->d_name, ".lock") || asprintf(&path, "%s/%s", sub, e->d_name) < 0)
                    continue;
                if (!lock_busy(path, &fd) && fd >= 0)
                    remove_file(p, path, 0);
                if (fd >= 0)
                    close(fd);
                free(path);
            }
            closedir(dp);
            if (!p->dry_run)
                rmdir(sub); /* only when empty */
        }
        free(sub);
    }
    closedir(top);
    free(locks);
}

int tcctl_cmd_prune(tcctl_ctx *c, int argc, char **argv)
{
    prune_ctx p;
    char *cache;
    struct dirent *e;
    DIR *dp;
    int i, partials = 0;

    memset(&p, 0, sizeof p);
    p.c = c;
    for (i = 1; i < argc; i++) {
        if (tcctl_is_help(argv[i]))
            return tcctl_help("prune");
        if (tcctl_opt_global(c, argv[i]))
            continue;
        if (!strcmp(argv[i], "--partials"))
            partials = 1;
        else if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n"))
            p.dry_run = 1;
        else
            return tcctl_usage_error("prune", "unknown argument '%s'", argv[i]);
    }
    if (!partials)
        return tcctl_usage_error("prune", "say what to prune: --partials");
    if (!(cache = cache_dir())) {
        fputs("tcctl: no cache directory (set HF_HUB_CACHE or HOME)\n", stderr);
        return TCCTL_EXIT_FAILED;
    }
    if ((dp = opendir(cache))) {
        while ((e = readdir(dp))) {
            if (!strncmp(e->d_name, "models--", 8) || !strncmp(e->d_name, "datasets--", 10) ||
                !strncmp(e->d_name, "spaces--", 8))
                prune_blobs(&p, cache, e->d_name);
        }
        closedir(dp);
        prune_locks(&p, cache);
    } else if (errno != ENOENT) {
        fprintf(stderr, "tcctl: cannot read the cache %s: %s\n", cache, strerror(errno));
        free(cache);
        return TCCTL_EXIT_FAILED;
    }
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        char *text;
        cJSON_AddStringToObject(o, "cache", cache);
        cJSON_AddNumberToObject(o, "removed", (double)p.removed);
        cJSON_AddNumberToObject(o, "bytes_freed", (double)p.freed);
        cJSON_AddNumberToObject(o, "kept_busy", (double)p.busy);
        cJSON_AddBoolToObject(o, "dry_run", p.dry_run);
        if ((text = cJSON_PrintUnformatted(o)))
            printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(o);
    } else if (!c->quiet)
        printf("%s %lu files, %llu bytes freed, in %s\n", p.dry_run ? "would remove" : "removed",
               p.removed, p.freed, cache);
    free(cache);
    return p.errors ? TCCTL_EXIT_FAILED : TCCTL_EXIT_OK;
}
