/*
 * snapshot.c - tc_hub_snapshot_download and tc_hub_file_download: resolve
 * the revision (network, refs/ or the commit itself), decide what the cache
 * already has, and hand the rest to the transfer engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub_internal.h"

typedef struct repo_paths {
    char *repo_dir, *lock_dir;
} repo_paths;

static void paths_dispose(repo_paths *p)
{
    tc_free(p->repo_dir);
    tc_free(p->lock_dir);
}

static int paths_init(repo_paths *p, const tc_hub_client *c, tc_hub_repo_type type,
                      const char *repo_id)
{
    char *name = hub__repo_folder_name(type, repo_id);
    memset(p, 0, sizeof(*p));
    if (!name)
        return TC_ENOMEM;
    p->repo_dir = hub__strfmt("%s/%s", c->cache_dir, name);
    p->lock_dir = hub__strfmt("%s/.locks/%s", c->cache_dir, name);
    tc_free(name);
    return p->repo_dir && p->lock_dir ? TC_OK : TC_ENOMEM;
}

static char *read_small(const char *path, size_t max, size_t *len)
{
    struct stat st;
    char *buf;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return NULL;
    }
    buf = tc_malloc((size_t)st.st_size + 1);
    n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    if (n != st.st_size) {
        tc_free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = (size_t)n;
    return buf;
}

/* The commit refs/<rev> names, or NULL. */
static char *read_ref(const repo_paths *p, const char *rev)
{
    char *path = hub__strfmt("%s/refs/%s", p->repo_dir, rev), *s;
    s = path ? read_small(path, 128, NULL) : NULL;
    tc_free(path);
    if (s) {
        s[strcspn(s, " \r\n")] = '\0';
        if (!hub__is_commit(s)) {
            tc_free(s);
            s = NULL;
        }
    }
    return s;
}

static int write_cachedir_tag(const tc_hub_client *c)
{
    static const char tag[] =
        "Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by huggingface_hub (and libtchub).\n"
        "# For information about cache directory tags, see: https://bford.info/cachedir/\n";
    char *path = hub__strfmt("%s/CACHEDIR.TAG", c->cache_dir);
    int rc = TC_OK;
    if (!path)
        return TC_ENOMEM;
    if (access(path, F_OK) != 0) {
        if (tc_mkdir_p(c->cache_dir) != 0)
            rc = hub__io_error("create directory", c->cache_dir, errno ? errno : EIO);
        else if (tc_write_file_atomic(path, tag, sizeof(tag) - 1) != 0)
            rc = hub__io_error("write", path, errno ? errno : EIO);
    }
    tc_free(path);
    return rc;
}

/* Every selected file of the cached listing is in the snapshot: 1, else 0. */
static int snapshot_complete(const repo_paths *p, const char *commit,
                             const tc_hub_download_options *o)
{
    char *path = hub__strfmt("%s/trees/%s.json", p->repo_dir, commit), *json;
    tc_hub_tree *t = NULL;
    size_t len = 0, i;
    int ok = 0;
    json = path ? read_small(path, HUB_MAX_JSON_BYTES, &len) : NULL;
    if (json && hub__tree_from_json(&t, json, len) == TC_OK) {
        ok = 1;
        for (i = 0; i < t->count && ok; i++) {
            char *f;
            struct stat st;
            if (!hub__select(t->files[i].path, o))
                continue;
            f = hub__strfmt("%s/snapshots/%s/%s", p->repo_dir, commit, t->files[i].path);
            ok = f && stat(f, &st) == 0 && (uint64_t)st.st_size == t->files[i].size;
            tc_free(f);
        }
    }
    tc_hub_tree_free(t);
    tc_free(json);
    tc_free(path);
    return ok;
}

/*
 * Answer from the cache alone: the commit is rev itself or refs/<rev>; with
 * a cached listing the selection must be complete, without one the snapshot
 * folder must exist (as huggingface_hub accepts offline).
 */
static int from_cache(char **out, const repo_paths *p, const char *repo_id, const char *rev,
                      const tc_hub_download_options *o, const char *why)
{
    char *commit = hub__is_commit(rev) ? tc_strdup(rev) : read_ref(p, rev), *snap = NULL,
         *tree = NULL;
    struct stat st;
    int rc;
    if (!commit)
        return hub__set_error(TC_HUB_ERR_OFFLINE, TC_ENOTFOUND,
                              "revision '%s' of repo '%s' is not in the cache (%s); connect to "
                              "the Hub once or pass a cached commit",
                              rev, repo_id, why);
    snap = hub__strfmt("%s/snapshots/%s", p->repo_dir, commit);
    tree = hub__strfmt("%s/trees/%s.json", p->repo_dir, commit);
    if (!snap || !tree) {
        rc = TC_ENOMEM;
        goto out;
    }
    if (access(tree, F_OK) == 0 ? !snapshot_complete(p, commit, o)
                                : (stat(snap, &st) != 0 || !S_ISDIR(st.st_mode))) {
        rc = hub__set_error(TC_HUB_ERR_OFFLINE, TC_ENOTFOUND,
                            "snapshot %s of repo '%s' is not complete in the cache (%s); connect "
                            "to the Hub to finish it",
                            commit, repo_id, why);
        goto out;
    }
    *out = snap;
    snap = NULL;
    rc = TC_OK;
out:
    tc_free(commit);
    tc_free(snap);
    tc_free(tree);
    return rc;
}

static int check_common(tc_hub_client *c, tc_hub_repo_type type, const char *repo_id,
                        const tc_hub_download_options *o)
{
    hub__clear_kind();
    TC_ASSERT_ARG(c);
    if (type < 0 || type >= TC_HUB_REPO_TYPE_MAX)
        return tc_error_set(TC_EINVAL, "invalid repo type %d", (int)type);
    if (!hub__valid_repo_id(repo_id))
        return tc_error_set(TC_EINVAL, "invalid repo id '%s'", repo_id ? repo_id : "(null)");
    if (o && o->version != TC_HUB_DOWNLOAD_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_hub_download_options version %u", o->version);
    return TC_OK;
}

static void jobs_dispose(hub_job *jobs, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        tc_free(jobs[i].path);
        tc_free(jobs[i].etag);
        tc_free(jobs[i].url);
    }
    tc_free(jobs);
}

/* Jobs for the selected files of t whose snapshot entry is missing. */
static int plan(hub_job **out, size_t *n_out, tc_hub_client *c, tc_hub_repo_type type,
                const char *repo_id, const char *commit, const char *snap, const tc_hub_tree *t,
                const tc_hub_download_options *o)
{
    hub_job *jobs = tc_calloc(t->count + 1, sizeof(*jobs));
    size_t i, n = 0;
    int rc = TC_OK;
    if (!jobs)
        return TC_ENOMEM;
    for (i = 0; i < t->count; i++) {
        const tc_hub_file *f = &t->files[i];
        hub_job *j;
        char *link;
        struct stat st;
        int have;
        if (!hub__select(f->path, o))
            continue;
        link = hub__strfmt("%s/%s", snap, f->path);
        if (!link) {
            rc = TC_ENOMEM;
            break;
        }
        have = stat(link, &st) == 0 && (uint64_t)st.st_size == f->size;
        tc_free(link);
        if (have && !(o && o->force_download))
            continue;
        j = &jobs[n++];
        j->path = tc_strdup(f->path);
        j->etag = tc_strdup(f->lfs_sha256 ? f->lfs_sha256 : f->oid);
        j->size = f->size;
        j->is_lfs = f->lfs_sha256 != NULL;
        if (!j->path || !j->etag || hub__resolve_url(&j->url, c, type, repo_id, commit, f->path)) {
            rc = TC_ENOMEM;
            break;
        }
        if (hub__normalize_etag(j->etag, strlen(j->etag) + 1, j->etag) != 0) {
            rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                "bad blob id '%s' for '%s' in the tree listing", j->etag, f->path);
            break;
        }
    }
    if (rc) {
        jobs_dispose(jobs, n);
        return rc;
    }
    *out = jobs;
    *n_out = n;
    return TC_OK;
}

/* Resolve rev to a commit over the network, writing refs/<rev>. */
static int resolve_commit(char *commit, tc_hub_client *c, tc_hub_repo_type type,
                          const char *repo_id, const char *rev, const repo_paths *p)
{
    tc_hub_repo_info *info = NULL;
    char *ref = NULL;
    int rc = tc_hub_repo_info_get(&info, c, type, repo_id, rev);
    if (rc)
        return rc;
    memcpy(commit, info->sha, 41);
    tc_hub_repo_info_free(info);
    if (strcmp(rev, commit) == 0)
        return TC_OK;
    ref = hub__strfmt("%s/refs/%s", p->repo_dir, rev);
    rc = ref ? hub__write_if_changed(ref, commit) : TC_ENOMEM;
    tc_free(ref);
    return rc;
}

static int save_tree(const repo_paths *p, const char *commit, const tc_hub_tree *t)
{
    char *json = NULL, *path = hub__strfmt("%s/trees/%s.json", p->repo_dir, commit);
    int rc = path ? hub__tree_to_json(&json, t) : TC_ENOMEM;
    if (rc == TC_OK)
        rc = hub__write_if_changed(path, json);
    tc_free(json);
    tc_free(path);
    return rc;
}

static int snapshot_download(char **out, tc_hub_client *c, tc_hub_repo_type type,
                             const char *repo_id, const char *revision,
                             const tc_hub_download_options *o)
{
    repo_paths p = {0};
    tc_hub_tree *t = NULL;
    hub_job *jobs = NULL;
    size_t n_jobs = 0;
    char commit[41], *snap = NULL;
    const char *rev = revision ? revision : "main";
    int rc;

    TC_ASSERT_ARG(out);
    if ((rc = check_common(c, type, repo_id, o)) || (rc = paths_init(&p, c, type, repo_id)))
        goto out;
    if (c->offline) {
        rc = from_cache(out, &p, repo_id, rev, o, "offline mode");
        goto out;
    }
    if (hub__is_commit(rev) && !(o && o->force_download) && snapshot_complete(&p, rev, o)) {
        rc = from_cache(out, &p, repo_id, rev, o, "cached");
        goto out;
    }
    rc = resolve_commit(commit, c, type, repo_id, rev, &p);
    if (rc && tc_hub_error_kind_last() == TC_HUB_ERR_NETWORK) {
        char *msg = tc_strdup(tc_error_message());
        rc = from_cache(out, &p, repo_id, rev, o, msg ? msg : "no network");
        if (rc)
            hub__set_error(TC_HUB_ERR_NETWORK, TC_EIO, "%s", msg ? msg : "no network");
        tc_free(msg);
        goto out;
    }
    if (rc)
        goto out;
    if ((rc = write_cachedir_tag(c)) || (rc = tc_hub_tree_list(&t, c, type, repo_id, commit, NULL)))
        goto out;
    if ((rc = save_tree(&p, commit, t)))
        goto out;
    snap = hub__strfmt("%s/snapshots/%s", p.repo_dir, commit);
    if (!snap) {
        rc = TC_ENOMEM;
        goto out;
    }
    if (tc_mkdir_p(snap) != 0) {
        rc = hub__io_error("create directory", snap, errno ? errno : EIO);
        goto out;
    }
    if ((rc = plan(&jobs, &n_jobs, c, type, repo_id, commit, snap, t, o)))
        goto out;
    if ((rc = hub__fetch_blobs(c, p.repo_dir, p.lock_dir, snap, jobs, n_jobs, o, repo_id, rev)))
        goto out;
    *out = snap;
    snap = NULL;
out:
    jobs_dispose(jobs, n_jobs);
    tc_hub_tree_free(t);
    tc_free(snap);
    paths_dispose(&p);
    return rc;
}

static int no_exist_marker(const repo_paths *p, const char *commit, const char *path)
{
    char *m = hub__strfmt("%s/.no_exist/%s/%s", p->repo_dir, commit, path);
    int rc = m ? hub__mkdirs_for(m) : TC_ENOMEM, fd;
    if (rc == TC_OK) {
        fd = open(m, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
    tc_free(m);
    return rc;
}

/* Offline / cached answer for one file; .no_exist markers count as answers. */
static int file_from_cache(char **out, const repo_paths *p, const char *repo_id, const char *rev,
                           const char *path, int quiet)
{
    char *commit = hub__is_commit(rev) ? tc_strdup(rev) : read_ref(p, rev), *f = NULL, *m = NULL;
    int rc = TC_ENOTFOUND;
    if (!commit)
        goto miss;
    f = hub__strfmt("%s/snapshots/%s/%s", p->repo_dir, commit, path);
    m = hub__strfmt("%s/.no_exist/%s/%s", p->repo_dir, commit, path);
    if (!f || !m) {
        rc = TC_ENOMEM;
        goto out;
    }
    if (access(f, R_OK) == 0) {
        *out = f;
        f = NULL;
        rc = TC_OK;
        goto out;
    }
    if (access(m, F_OK) == 0) {
        rc = hub__set_error(TC_HUB_ERR_ENTRY_NOT_FOUND, TC_ENOTFOUND,
                            "file '%s' not found in repo '%s' at revision '%s' (cached answer)",
                            path, repo_id, rev);
        goto out;
    }
miss:
    if (!quiet)
        rc = hub__set_error(TC_HUB_ERR_OFFLINE, TC_ENOTFOUND,
                            "file '%s' of repo '%s' at '%s' is not in the cache; connect to the "
                            "Hub once",
                            path, repo_id, rev);
out:
    tc_free(commit);
    tc_free(f);
    tc_free(m);
    return rc;
}

static int file_download(char **out, tc_hub_client *c, tc_hub_repo_type type, const char *repo_id,
                         const char *revision, const char *path, const tc_hub_download_options *o)
{
    repo_paths p = {0};
    tc_hub_file_metadata *meta = NULL;
    hub_job job = {0};
    char *snap = NULL, *ref = NULL, missing[41];
    const char *rev = revision ? revision : "main";
    int rc;

    TC_ASSERT_ARG(out);
    if ((rc = check_common(c, type, repo_id, o)) || (rc = paths_init(&p, c, type, repo_id)))
        goto out;
    if (!hub__valid_rel_path(path)) {
        rc = tc_error_set(TC_EINVAL, "invalid file path '%s'", path ? path : "(null)");
        goto out;
    }
    if (c->offline) {
        rc = file_from_cache(out, &p, repo_id, rev, path, 0);
        goto out;
    }
    if (hub__is_commit(rev) && !(o && o->force_download)) {
        rc = file_from_cache(out, &p, repo_id, rev, path, 1);
        if (rc == TC_OK || tc_hub_error_kind_last() == TC_HUB_ERR_ENTRY_NOT_FOUND)
            goto out;
    }
    missing[0] = '\0';
    rc = hub__file_metadata(&meta, c, type, repo_id, rev, path, missing);
    if (rc && tc_hub_error_kind_last() == TC_HUB_ERR_ENTRY_NOT_FOUND) {
        /* the 404 named the commit: remember the answer for offline use */
        if (missing[0]) {
            int saved = rc;
            char *msg = tc_strdup(tc_error_message());
            no_exist_marker(&p, missing, path);
            hub__set_error(TC_HUB_ERR_ENTRY_NOT_FOUND, saved, "%s", msg ? msg : "not found");
            tc_free(msg);
        }
        goto out;
    }
    if (rc && tc_hub_error_kind_last() == TC_HUB_ERR_NETWORK) {
        char *msg = tc_strdup(tc_error_message());
        rc = file_from_cache(out, &p, repo_id, rev, path, 1);
        if (rc)
            hub__set_error(TC_HUB_ERR_NETWORK, TC_EIO, "%s", msg ? msg : "no network");
        tc_free(msg);
        goto out;
    }
    if (rc)
        goto out;
    if (strcmp(rev, meta->commit) != 0) {
        ref = hub__strfmt("%s/refs/%s", p.repo_dir, rev);
        if (!ref || (rc = hub__write_if_changed(ref, meta->commit)))
            goto out;
    }
    if ((rc = write_cachedir_tag(c)))
        goto out;
    snap = hub__strfmt("%s/snapshots/%s", p.repo_dir, meta->commit);
    job.path = tc_strdup(path);
    job.etag = tc_strdup(meta->etag);
    job.size = meta->size;
    job.is_lfs = meta->is_lfs && strlen(meta->etag) == 64;
    rc = snap && job.path && job.etag
             ? hub__resolve_url(&job.url, c, type, repo_id, meta->commit, path)
             : TC_ENOMEM;
    if (rc)
        goto out;
    if (!(o && o->force_download) &&
        (rc = file_from_cache(out, &p, repo_id, meta->commit, path, 1)) == TC_OK)
        goto out;
    if ((rc = hub__fetch_blobs(c, p.repo_dir, p.lock_dir, snap, &job, 1, o, repo_id, rev)))
        goto out;
    *out = hub__strfmt("%s/%s", snap, path);
    rc = *out ? TC_OK : TC_ENOMEM;
out:
    tc_free(job.path);
    tc_free(job.etag);
    tc_free(job.url);
    tc_free(snap);
    tc_free(ref);
    tc_hub_file_metadata_free(meta);
    paths_dispose(&p);
    return rc;
}

/* The public entry points: the cancel callback also interrupts retry waits of plain requests. */
int tc_hub_snapshot_download(char **out, tc_hub_client *c, tc_hub_repo_type type,
                             const char *repo_id, const char *revision,
                             const tc_hub_download_options *o)
{
    hub_cancel_scope scope;
    int rc;
    TC_ASSERT_ARG(c);
    hub__cancel_push(&scope, c, o ? o->cancel : NULL, o ? o->payload : NULL);
    rc = snapshot_download(out, c, type, repo_id, revision, o);
    hub__cancel_pop(&scope, c);
    return rc;
}

int tc_hub_file_download(char **out, tc_hub_client *c, tc_hub_repo_type type, const char *repo_id,
                         const char *revision, const char *path, const tc_hub_download_options *o)
{
    hub_cancel_scope scope;
    int rc;
    TC_ASSERT_ARG(c);
    hub__cancel_push(&scope, c, o ? o->cancel : NULL, o ? o->payload : NULL);
    rc = file_download(out, c, type, repo_id, revision, path, o);
    hub__cancel_pop(&scope, c);
    return rc;
}
