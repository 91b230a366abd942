/*
 * push.c - tc_hub_push_folder: one commit from a folder, LFS content through
 * the batch API (lfs.c), the commit through git smart HTTP with libgit2.
 * The steps are described in <tc/hub.h>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "hub_internal.h"

#define PUSH_MAX_FILES 100000u
#define PUSH_MAX_DEPTH 64
#define PUSH_MAX_ATTRS (1u << 20)
#define LFS_SIZE_LIMIT (10u << 20)  /* > this: LFS, as the Hub's hook demands */
#define LFS_BINARY_LIMIT (1u << 20) /* binary and >= this: LFS */
#define BINARY_PROBE 8000

/* The Hub's LFS rules for new repos (HUB-PROTOCOL.md 4.3). */
static const char *const model_attrs[] = {"*.7z",          "*.arrow",
                                          "*.bin",         "*.bz2",
                                          "*.ckpt",        "*.ftz",
                                          "*.gz",          "*.h5",
                                          "*.joblib",      "*.lfs.*",
                                          "*.mlmodel",     "*.model",
                                          "*.msgpack",     "*.npy",
                                          "*.npz",         "*.onnx",
                                          "*.ot",          "*.parquet",
                                          "*.pb",          "*.pickle",
                                          "*.pkl",         "*.pt",
                                          "*.pth",         "*.rar",
                                          "*.safetensors", "saved_model/**/*",
                                          "*.tar.*",       "*.tar",
                                          "*.tflite",      "*.tgz",
                                          "*.wasm",        "*.xz",
                                          "*.zip",         "*.zst",
                                          "*tfevents*"};
static const char *const dataset_attrs[] = {"*.lz4",  "*.pcm", "*.sam",  "*.raw", "*.aac", "*.flac",
                                            "*.mp3",  "*.ogg", "*.wav",  "*.bmp", "*.gif", "*.png",
                                            "*.tiff", "*.jpg", "*.jpeg", "*.webp"};

int tc_hub_push_options_init(tc_hub_push_options *opts, unsigned int version)
{
    TC_ASSERT_ARG(opts);
    if (version != TC_HUB_PUSH_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_hub_push_options version %u", version);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return TC_OK;
}

void tc_hub_push_result_dispose(tc_hub_push_result *r)
{
    if (!r)
        return;
    tc_free(r->url);
    memset(r, 0, sizeof(*r));
}

/* ---- .gitattributes ------------------------------------------------------ */

/* A bracket expression at p ('[' already consumed); *end gets the char after ']'. */
static int class_match(const char *p, char c, const char **end)
{
    int neg = 0, hit = 0;
    const char *q = p;
    if (*q == '!' || *q == '^')
        neg = 1, q++;
    if (*q == ']')
        hit |= c == ']', q++;
    while (*q && *q != ']') {
        if (!strncmp(q, "[:space:]", 9)) {
            hit |= c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
            q += 9;
            continue;
        }
        if (q[1] == '-' && q[2] && q[2] != ']') {
            hit |=
                (unsigned char)c >= (unsigned char)q[0] && (unsigned char)c <= (unsigned char)q[2];
            q += 3;
            continue;
        }
        hit |= *q == c;
        q++;
    }
    if (*q != ']')
        return -1; /* unterminated: no match */
    *end = q + 1;
    return (hit ^ neg) && c != '/';
}

static int wm(const char *start, const char *p, const char *s)
{
    for (; *p; p++, s++) {
        if (*p == '*') {
            if (p[1] == '*' && (p == start || p[-1] == '/') && (p[2] == '/' || !p[2])) {
                const char *q = p + 3;
                if (!p[2])
                    return 1;
                for (;;) {
                    if (wm(start, q, s))
                        return 1;
                    if (!(s = strchr(s, '/')))
                        return 0;
                    s++;
                }
            }
            while (*p == '*')
                p++;
            for (;;) {
                if (wm(start, p, s))
                    return 1;
                if (!*s || *s == '/')
                    return 0;
                s++;
            }
        }
        if (!*s)
            return 0;
        if (*p == '?') {
            if (*s == '/')
                return 0;
            continue;
        }
        if (*p == '[') {
            const char *end;
            int m = class_match(p + 1, *s, &end);
            if (m < 0) {
                if (*s != '[')
                    return 0;
                continue;
            }
            if (!m)
                return 0;
            p = end - 1;
            continue;
        }
        if (*p == '\\' && p[1])
            p++;
        if (*p != *s)
            return 0;
    }
    return !*s;
}

/*
 * git's pattern rules for attributes: a pattern without '/' matches the
 * base name at any depth; one with a '/' matches the whole path from the top
 * ('*' within a segment, "**" across segments).
 */
int hub__wildmatch(const char *pattern, const char *path)
{
    if (!strchr(pattern, '/')) {
        const char *base = strrchr(path, '/');
        return wm(pattern, pattern, base ? base + 1 : path);
    }
    if (*pattern == '/')
        pattern++;
    return wm(pattern, pattern, path);
}

/* 1 when the last rule of attrs that matches path sets filter=lfs. */
int hub__attr_is_lfs(const char *attrs, const char *path)
{
    const char *line = attrs;
    int lfs = 0;
    while (line && *line) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        char buf[4096], *tok, *save = NULL, *pat;
        if (n < sizeof(buf)) {
            memcpy(buf, line, n);
            buf[n] = '\0';
            pat = strtok_r(buf, " \t\r", &save);
            if (pat && *pat != '#' && *pat != '[' && pat[strlen(pat) - 1] != '/' &&
                hub__wildmatch(pat, path)) {
                while ((tok = strtok_r(NULL, " \t\r", &save))) {
                    if (!strcmp(tok, "filter=lfs"))
                        lfs = 1;
                    else if (!strncmp(tok, "filter=", 7) || !strcmp(tok, "-filter") ||
                             !strcmp(tok, "!filter"))
                        lfs = 0;
                }
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return lfs;
}

static char *default_attrs(tc_hub_repo_type type)
{
    size_t cap = 4096, len = 0, i;
    char *s = tc_malloc(cap);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (i = 0;
         i < sizeof(model_attrs) / sizeof(*model_attrs) +
                 (type == TC_HUB_REPO_DATASET ? sizeof(dataset_attrs) / sizeof(*dataset_attrs) : 0);
         i++) {
        const char *p = i < sizeof(model_attrs) / sizeof(*model_attrs)
                            ? model_attrs[i]
                            : dataset_attrs[i - sizeof(model_attrs) / sizeof(*model_attrs)];
        len += (size_t)snprintf(s + len, cap - len, "%s filter=lfs diff=lfs merge=lfs -text\n", p);
    }
    return s;
}

/* A path as an anchored attributes pattern: "/a/b", glob characters escaped, spaces as a class. */
static char *attr_pattern(const char *path)
{
    size_t n = strlen(path), i, k = 0;
    char *s = tc_malloc(n * 11 + 2);
    if (!s)
        return NULL;
    s[k++] = '/';
    for (i = 0; i < n; i++) {
        if (path[i] == ' ') {
            memcpy(s + k, "[[:space:]]", 11);
            k += 11;
            continue;
        }
        if (strchr("*?[]\\#!\"", path[i]))
            s[k++] = '\\';
        s[k++] = path[i];
    }
    s[k] = '\0';
    return s;
}

/* ---- the folder ---------------------------------------------------------- */

typedef struct push_file {
    char *rel, *abs;
    uint64_t size;
    int exec, lfs;
    char oid[65]; /* sha256 for LFS files */
} push_file;

typedef struct walk_state {
    push_file *files;
    size_t n, cap;
    const tc_hub_push_options *o;
    int skipped_other, skipped_links;
} walk_state;

static int selected(const tc_hub_push_options *o, const char *rel)
{
    tc_hub_download_options d;
    memset(&d, 0, sizeof(d));
    d.allow_patterns = o->allow_patterns;
    d.n_allow = o->n_allow;
    d.ignore_patterns = o->ignore_patterns;
    d.n_ignore = o->n_ignore;
    return hub__select(rel, &d);
}

static int walk(walk_state *w, const char *root, const char *rel, int depth)
{
    char *dir = rel ? hub__strfmt("%s/%s", root, rel) : tc_strdup(root);
    DIR *d;
    struct dirent *de;
    int rc = TC_OK;
    if (!dir)
        return tc_error_set(TC_ENOMEM, "out of memory");
    if (depth > PUSH_MAX_DEPTH) {
        rc = tc_error_set(TC_EINVAL, "'%s' is nested more than %d folders deep", dir,
                          PUSH_MAX_DEPTH);
        tc_free(dir);
        return rc;
    }
    if (!(d = opendir(dir))) {
        rc = hub__io_error("read the folder", dir, errno);
        tc_free(dir);
        return rc;
    }
    while (rc == TC_OK && (de = readdir(d))) {
        char *r, *a;
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".git"))
            continue;
        r = rel ? hub__strfmt("%s/%s", rel, de->d_name) : tc_strdup(de->d_name);
        a = r ? hub__strfmt("%s/%s", root, r) : NULL;
        if (!r || !a) {
            tc_free(r);
            tc_free(a);
            rc = tc_error_set(TC_ENOMEM, "out of memory");
            break;
        }
        if ((depth > 0 && w->o->top_symlinks_only ? lstat(a, &st) : stat(a, &st)) < 0) {
            rc = hub__io_error("stat", a, errno);
        } else if (S_ISLNK(st.st_mode)) {
            w->skipped_links++;
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(w, root, r, depth + 1);
        } else if (!S_ISREG(st.st_mode)) {
            w->skipped_other++;
        } else if (selected(w->o, r)) {
            if (!hub__valid_rel_path(r) || strpbrk(r, "\n\r\t") || strlen(r) > 1024) {
                rc = tc_error_set(TC_EINVAL,
                                  "'%s' cannot be a path in a Hub repo (control characters or "
                                  "longer than 1024 bytes); rename it or leave it out",
                                  r);
            } else if (w->n >= PUSH_MAX_FILES) {
                rc = tc_error_set(TC_ERANGE, "'%s' has more than %u files; push a smaller folder",
                                  root, PUSH_MAX_FILES);
            } else {
                if (w->n == w->cap) {
                    size_t nc = w->cap ? w->cap * 2 : 64;
                    push_file *nf = tc_realloc(w->files, nc * sizeof(*nf));
                    if (!nf) {
                        rc = tc_error_set(TC_ENOMEM, "out of memory");
                        goto next;
                    }
                    w->files = nf;
                    w->cap = nc;
                }
                memset(&w->files[w->n], 0, sizeof(push_file));
                w->files[w->n].rel = r;
                w->files[w->n].abs = a;
                w->files[w->n].size = (uint64_t)st.st_size;
                w->files[w->n].exec = (st.st_mode & S_IXUSR) != 0;
                w->n++;
                continue;
            }
        }
    next:
        tc_free(r);
        tc_free(a);
    }
    closedir(d);
    tc_free(dir);
    return rc;
}

static void files_free(push_file *f, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        tc_free(f[i].rel);
        tc_free(f[i].abs);
    }
    tc_free(f);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const push_file *)a)->rel, ((const push_file *)b)->rel);
}

/* sha256 of a whole file; 1 when a NUL byte is in its first 8000 bytes (with probe). */
static int hash_file(const char *path, char hex[65], uint64_t *size_out, tc_hub_cancel_cb cancel,
                     void *payload)
{
    enum { BUF = 1 << 20 };
    hub_sha256 s;
    unsigned char *buf = tc_malloc(BUF);
    uint64_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = TC_OK;
    if (!buf) {
        if (fd >= 0)
            close(fd);
        return tc_error_set(TC_ENOMEM, "out of memory");
    }
    if (fd < 0) {
        tc_free(buf);
        return hub__io_error("open", path, errno);
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    hub__sha256_init(&s);
    for (;;) {
        ssize_t got = read(fd, buf, BUF);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = hub__io_error("read", path, errno);
            break;
        }
        if (got == 0)
            break;
        hub__sha256_update(&s, buf, (size_t)got);
        n += (uint64_t)got;
        if (cancel && cancel(payload)) {
            rc = hub__set_error(TC_HUB_ERR_CANCELLED, TC_ECANCELLED, "push cancelled");
            break;
        }
    }
    close(fd);
    tc_free(buf);
    hub__sha256_final(&s, hex);
    *size_out = n;
    return rc;
}

static int is_binary(const char *path)
{
    char buf[BINARY_PROBE];
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    got = read(fd, buf, sizeof(buf));
    close(fd);
    return got > 0 && memchr(buf, 0, (size_t)got) != NULL;
}

/* ---- libgit2 ------------------------------------------------------------- */

static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static void git_init_once(void)
{
    git_libgit2_init();
}

typedef struct git_cb {
    tc_hub_client *c;
    const tc_hub_push_options *o;
    const char *repo_id;
    int cred_calls;
    int cancelled;
    int bad_token;
    const git_oid *expect_remote; /* the branch head we built on; NULL = branch absent */
    int conflict;
    char rejected[512];
    char sideband[2048];
    size_t sideband_len;
} git_cb;

static int cb_cred(git_credential **out, const char *url, const char *user_from_url,
                   unsigned int allowed, void *payload)
{
    git_cb *g = payload;
    (void)url, (void)user_from_url;
    if (!(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) || !g->c->token || !*g->c->token) {
        g->bad_token = -1;
        return GIT_EUSER;
    }
    if (g->cred_calls++ > 0) { /* the server refused the token once already */
        g->bad_token = 1;
        return GIT_EUSER;
    }
    return git_credential_userpass_plaintext_new(out, "hf_user", g->c->token);
}

static int cb_cancel(git_cb *g)
{
    if (g->o->cancel && g->o->cancel(g->o->payload)) {
        g->cancelled = 1;
        return -1;
    }
    return 0;
}

static int cb_fetch_progress(const git_indexer_progress *stats, void *payload)
{
    (void)stats;
    return cb_cancel(payload);
}

static int cb_push_progress(unsigned int current, unsigned int total, size_t bytes, void *payload)
{
    (void)current, (void)total, (void)bytes;
    return cb_cancel(payload);
}

static int cb_sideband(const char *str, int len, void *payload)
{
    git_cb *g = payload;
    size_t room = sizeof(g->sideband) - 1 - g->sideband_len;
    size_t n = len > 0 ? (size_t)len : 0;
    if (n > room)
        n = room;
    memcpy(g->sideband + g->sideband_len, str, n);
    g->sideband_len += n;
    g->sideband[g->sideband_len] = '\0';
    return cb_cancel(g);
}

static int cb_negotiation(const git_push_update **updates, size_t len, void *payload)
{
    git_cb *g = payload;
    size_t i;
    if (g->o->force)
        return 0;
    for (i = 0; i < len; i++) {
        int had = !git_oid_is_zero(&updates[i]->src);
        if (g->expect_remote ? (!had || git_oid_cmp(&updates[i]->src, g->expect_remote)) : had) {
            g->conflict = 1;
            return GIT_EUSER;
        }
    }
    return 0;
}

static int cb_update_ref(const char *refname, const char *status, void *payload)
{
    git_cb *g = payload;
    if (status && !g->rejected[0])
        snprintf(g->rejected, sizeof(g->rejected), "%s: %s", refname, status);
    return 0;
}

static void set_callbacks(git_remote_callbacks *cb, git_cb *g)
{
    cb->credentials = cb_cred;
    cb->transfer_progress = cb_fetch_progress;
    cb->push_transfer_progress = cb_push_progress;
    cb->sideband_progress = cb_sideband;
    cb->push_negotiation = cb_negotiation;
    cb->push_update_reference = cb_update_ref;
    cb->payload = g;
}

/* Turn a libgit2 failure into a hub error naming what we were doing. */
static int git_fail(git_cb *g, const char *doing, const char *url)
{
    const git_error *e = git_error_last();
    const char *m = e && e->message ? e->message : "unknown error";
    if (g->cancelled)
        return hub__set_error(TC_HUB_ERR_CANCELLED, TC_ECANCELLED, "push cancelled");
    if (g->bad_token < 0)
        return hub__set_error(TC_HUB_ERR_BAD_TOKEN, TC_EINVAL,
                              "'%s' needs credentials to %s; set HF_TOKEN to a token with write "
                              "access",
                              url, doing);
    if (g->bad_token > 0)
        return hub__set_error(TC_HUB_ERR_BAD_TOKEN, TC_ERROR,
                              "the Hub rejected the token when trying to %s '%s' (invalid, "
                              "expired or read-only); set HF_TOKEN to a token with write access",
                              doing, g->repo_id);
    if (g->conflict)
        return hub__set_error(TC_HUB_ERR_CONFLICT, TC_ERROR,
                              "the branch of '%s' moved while pushing (someone else pushed): not "
                              "a fast-forward; push again to commit on top of it, or force to "
                              "replace it",
                              g->repo_id);
    if (strstr(m, "failed to connect") || strstr(m, "failed to resolve") ||
        strstr(m, "Connection refused") || strstr(m, "timed out"))
        return hub__set_error(TC_HUB_ERR_NETWORK, TC_EIO,
                              "cannot reach '%s' to %s: %s; check the connection and HF_ENDPOINT",
                              url, doing, m);
    if (strstr(m, "404"))
        return hub__set_error(TC_HUB_ERR_REPO_NOT_FOUND, TC_ENOTFOUND,
                              "repo '%s' not found at '%s' (%s)", g->repo_id, url, m);
    return hub__set_error(TC_HUB_ERR_HTTP, TC_ERROR, "git could not %s '%s': %s", doing, url, m);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(path);
    return 0;
}

/* ---- the push ------------------------------------------------------------ */

static int create_repo(tc_hub_client *c, tc_hub_repo_type type, const char *repo_id, int is_private,
                       int *created)
{
    const char *slash = strchr(repo_id, '/');
    cJSON *req = cJSON_CreateObject();
    hub_response r;
    hub_body b = {"application/json", NULL, 0, NULL};
    char *json = NULL, *url = hub__strfmt("%s/api/repos/create", c->endpoint), *org = NULL;
    int rc;
    memset(&r, 0, sizeof(r));
    if (slash)
        org = tc_strdup(repo_id);
    if (!req || !url || (slash && !org) ||
        !cJSON_AddStringToObject(req, "name", slash ? slash + 1 : repo_id) ||
        (org &&
         (org[slash - repo_id] = '\0', !cJSON_AddStringToObject(req, "organization", org))) ||
        (type != TC_HUB_REPO_MODEL &&
         !cJSON_AddStringToObject(req, "type",
                                  type == TC_HUB_REPO_DATASET ? "dataset" : "space")) ||
        !cJSON_AddBoolToObject(req, "private", is_private) ||
        !(json = cJSON_PrintUnformatted(req))) {
        rc = tc_error_set(TC_ENOMEM, "out of memory");
        goto out;
    }
    b.data = json;
    b.len = strlen(json);
    if ((rc = hub__request_body(&r, c, "POST", url, &b, 0, HUB_MAX_ERROR_BODY)) < 0)
        goto out;
    if (r.status == 200 || r.status == 201) {
        *created = 1;
    } else if (r.status == 409) {
        *created = 0;
    } else if (r.status == 401) {
        rc = hub__set_error(TC_HUB_ERR_BAD_TOKEN, TC_ERROR,
                            "the Hub rejected the token when creating '%s'; set HF_TOKEN to a "
                            "valid token with write access",
                            repo_id);
    } else if (r.status == 403) {
        tc_hub_repo_info *info = NULL; /* may exist where we cannot create: go on if we see it */
        if (tc_hub_repo_info_get(&info, c, type, repo_id, NULL) == TC_OK) {
            tc_hub_repo_info_free(info);
            *created = 0;
        } else {
            rc = hub__set_error(TC_HUB_ERR_FORBIDDEN, TC_ERROR,
                                "the token may not create repo '%s' (403)%s%.200s; check the "
                                "namespace and the token's scope",
                                repo_id, r.body_len ? ": " : "", r.body ? r.body : "");
        }
    } else {
        rc = hub__error_from_response(c, &r, repo_id, NULL, NULL);
    }
out:
    hub__response_dispose(&r);
    cJSON_Delete(req);
    cJSON_free(json);
    tc_free(url);
    tc_free(org);
    return rc;
}

static void stage(const tc_hub_push_options *o, tc_hub_push_stage s)
{
    if (o->on_stage)
        o->on_stage(s, o->payload);
}

static void notice(const tc_hub_push_options *o, const char *fmt, ...) TC_PRINTF(2, 3);
static void notice(const tc_hub_push_options *o, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!o->notice)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->notice(msg, o->payload);
}

/* The text of a blob of tree at path, or NULL (absent; *err set on failure). */
static char *tree_text(git_repository *repo, git_tree *tree, const char *path, size_t max)
{
    git_tree_entry *te = NULL;
    git_blob *blob = NULL;
    char *s = NULL;
    if (!tree || git_tree_entry_bypath(&te, tree, path) < 0)
        return NULL;
    if (git_tree_entry_type(te) == GIT_OBJECT_BLOB &&
        git_blob_lookup(&blob, repo, git_tree_entry_id(te)) == 0 &&
        (size_t)git_blob_rawsize(blob) <= max &&
        (s = tc_malloc((size_t)git_blob_rawsize(blob) + 1))) {
        memcpy(s, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
        s[git_blob_rawsize(blob)] = '\0';
    }
    git_blob_free(blob);
    git_tree_entry_free(te);
    return s;
}

static char *file_text(const char *path, size_t max)
{
    struct stat st;
    char *s;
    FILE *f;
    size_t n;
    if (stat(path, &st) < 0 || (uint64_t)st.st_size > max || !(f = fopen(path, "rb")))
        return NULL;
    if (!(s = tc_malloc((size_t)st.st_size + 1))) {
        fclose(f);
        return NULL;
    }
    n = fread(s, 1, (size_t)st.st_size, f);
    fclose(f);
    s[n] = '\0';
    return s;
}

static int append_str(char **s, const char *add)
{
    size_t a = strlen(*s), b = strlen(add);
    char *n = tc_realloc(*s, a + b + 2);
    if (!n)
        return -1;
    if (a && n[a - 1] != '\n')
        n[a++] = '\n';
    memcpy(n + a, add, b + 1);
    *s = n;
    return 0;
}

typedef struct push_run {
    tc_hub_client *c;
    const tc_hub_push_options *o;
    tc_hub_repo_type type;
    const char *repo_id, *branch;
    char *url, *scratch;
    git_repository *repo;
    git_remote *remote;
    git_cb g;
    git_oid base, *base_p; /* the branch head (or default branch head) we build on */
    git_oid remote_branch, *remote_branch_p;
    git_commit *base_commit;
    git_tree *base_tree;
    walk_state w;
    git_index *idx;
    char *attrs;
    int attrs_from_folder;
} push_run;

static int connect_and_fetch(push_run *p)
{
    git_remote_callbacks cb;
    git_fetch_options fo;
    git_remote_create_options ro;
    const git_remote_head **heads;
    size_t n, i;
    char want[600], spec[1300];
    const char *from = NULL;
    char *specs[1];
    git_strarray sa = {specs, 1};
    git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    set_callbacks(&cb, &p->g);
    p->g.cred_calls = 0;
    /* anonymous, and without url.*.insteadOf lookups: the endpoint is used as given (and
     * libgit2 1.5 leaks the regex match data of that lookup) */
    git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    ro.repository = p->repo;
    ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if (git_remote_create_with_opts(&p->remote, p->url, &ro) < 0 ||
        git_remote_connect(p->remote, GIT_DIRECTION_FETCH, &cb, NULL, NULL) < 0 ||
        git_remote_ls(&heads, &n, p->remote) < 0)
        return git_fail(&p->g, "read", p->url);
    snprintf(want, sizeof(want), "refs/heads/%s", p->branch);
    for (i = 0; i < n; i++) {
        if (!strcmp(heads[i]->name, want)) {
            p->remote_branch = heads[i]->oid;
            p->remote_branch_p = &p->remote_branch;
            from = want;
        }
    }
    if (!from) { /* a new branch starts from the default branch */
        for (i = 0; i < n && !from; i++)
            if (!strcmp(heads[i]->name, "HEAD") && heads[i]->symref_target)
                from = heads[i]->symref_target;
        for (i = 0; i < n && !from; i++)
            if (!strcmp(heads[i]->name, "refs/heads/main"))
                from = "refs/heads/main";
        if (from) {
            int found = 0;
            for (i = 0; i < n; i++)
                found |= !strcmp(heads[i]->name, from);
            if (!found)
                from = NULL;
        }
    }
    if (from) {
        snprintf(spec, sizeof(spec), "+%s:refs/tcd/base", from);
    }
    git_remote_disconnect(p->remote);
    if (!from)
        return TC_OK; /* an empty repo */
    specs[0] = spec;
    fo.callbacks = cb;
    p->g.cred_calls = 0;
    if (git_remote_fetch(p->remote, &sa, &fo, NULL) < 0)
        return git_fail(&p->g, "fetch from", p->url);
    if (git_reference_name_to_id(&p->base, p->repo, "refs/tcd/base") < 0 ||
        git_commit_lookup(&p->base_commit, p->repo, &p->base) < 0 ||
        git_commit_tree(&p->base_tree, p->base_commit) < 0)
        return git_fail(&p->g, "read the fetched branch of", p->url);
    p->base_p = &p->base;
    return TC_OK;
}

/* Decide LFS per file; hash LFS files; extend the attributes for files the rules miss. */
static int classify(push_run *p, tc_hub_push_result *res)
{
    size_t i;
    char *folder_attrs = NULL;
    for (i = 0; i < p->w.n; i++)
        if (!strcmp(p->w.files[i].rel, ".gitattributes"))
            folder_attrs = file_text(p->w.files[i].abs, PUSH_MAX_ATTRS);
    if (folder_attrs) {
        p->attrs = folder_attrs;
        p->attrs_from_folder = 1;
    } else if (!(p->attrs = tree_text(p->repo, p->base_tree, ".gitattributes", PUSH_MAX_ATTRS)) &&
               !(p->attrs = default_attrs(p->type))) {
        return tc_error_set(TC_ENOMEM, "out of memory");
    }
    stage(p->o, TC_HUB_PUSH_HASH);
    for (i = 0; i < p->w.n; i++) {
        push_file *f = &p->w.files[i];
        int rc;
        if (!strcmp(f->rel, ".gitattributes") || f->size == 0)
            continue;
        f->lfs = hub__attr_is_lfs(p->attrs, f->rel);
        if (!f->lfs &&
            (f->size > LFS_SIZE_LIMIT || (f->size >= LFS_BINARY_LIMIT && is_binary(f->abs)))) {
            char *pat = attr_pattern(f->rel), *line;
            if (!pat)
                return tc_error_set(TC_ENOMEM, "out of memory");
            line = hub__strfmt("%s filter=lfs diff=lfs merge=lfs -text\n", pat);
            tc_free(pat);
            if (!line || append_str(&p->attrs, line) < 0) {
                tc_free(line);
                return tc_error_set(TC_ENOMEM, "out of memory");
            }
            tc_free(line);
            notice(p->o,
                   "'%s' (%llu bytes) goes to LFS: the Hub refuses large or binary files in git",
                   f->rel, (unsigned long long)f->size);
            f->lfs = 1;
        }
        if (f->lfs) {
            uint64_t n = 0;
            if ((rc = hash_file(f->abs, f->oid, &n, p->o->cancel, p->o->payload)) < 0)
                return rc;
            if (n != f->size)
                return hub__set_error(TC_HUB_ERR_IO, TC_EIO,
                                      "'%s' changed while being pushed (%llu bytes, then %llu); "
                                      "push it when it is complete",
                                      f->abs, (unsigned long long)f->size, (unsigned long long)n);
            res->lfs_files++;
        }
    }
    return TC_OK;
}

static int add_blob(push_run *p, const char *path, const git_oid *id, int exec)
{
    git_index_entry e;
    memset(&e, 0, sizeof(e));
    e.mode = exec ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
    e.id = *id;
    e.path = path;
    if (git_index_add(p->idx, &e) < 0)
        return git_fail(&p->g, "stage", path);
    return TC_OK;
}

static int in_folder(const push_run *p, const char *rel)
{
    size_t lo = 0, hi = p->w.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->w.files[mid].rel, rel);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The new tree: the base tree, deletions, then every folder file. */
static int build_tree(push_run *p, git_oid *tree_id)
{
    size_t i;
    git_oid id;
    int rc;
    if (git_index_new(&p->idx) < 0 ||
        (p->base_tree && git_index_read_tree(p->idx, p->base_tree) < 0))
        return git_fail(&p->g, "read the tree of", p->url);
    if (p->o->n_delete) {
        for (i = git_index_entrycount(p->idx); i-- > 0;) {
            const git_index_entry *e = git_index_get_byindex(p->idx, i);
            size_t k;
            for (k = 0; e && k < p->o->n_delete; k++) {
                if (tc_hub_glob_match(p->o->delete_patterns[k], e->path) &&
                    !in_folder(p, e->path) && strcmp(e->path, ".gitattributes")) {
                    /* the entry (and its path) is freed by the removal: use a copy */
                    char *path = tc_strdup(e->path);
                    int bad = !path || git_index_remove_bypath(p->idx, path) < 0;
                    tc_free(path);
                    if (bad)
                        return git_fail(&p->g, "delete from", p->url);
                    break;
                }
            }
        }
    }
    for (i = 0; i < p->w.n; i++) {
        push_file *f = &p->w.files[i];
        if (!strcmp(f->rel, ".gitattributes"))
            continue;
        if (f->lfs) {
            char ptr[200];
            int n =
                snprintf(ptr, sizeof(ptr),
                         "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %llu\n",
                         f->oid, (unsigned long long)f->size);
            if (git_blob_create_from_buffer(&id, p->repo, ptr, (size_t)n) < 0)
                return git_fail(&p->g, "store a pointer for", f->rel);
        } else if (git_blob_create_from_disk(&id, p->repo, f->abs) < 0) {
            return git_fail(&p->g, "store", f->abs);
        }
        if ((rc = add_blob(p, f->rel, &id, f->exec)) < 0)
            return rc;
    }
    {
        char *base_attrs = tree_text(p->repo, p->base_tree, ".gitattributes", PUSH_MAX_ATTRS);
        int same = base_attrs && !strcmp(base_attrs, p->attrs);
        tc_free(base_attrs);
        if (!same) {
            if (git_blob_create_from_buffer(&id, p->repo, p->attrs, strlen(p->attrs)) < 0 ||
                (rc = add_blob(p, ".gitattributes", &id, 0)) < 0)
                return git_fail(&p->g, "store .gitattributes for", p->url);
        }
    }
    if (git_index_write_tree_to(tree_id, p->idx, p->repo) < 0)
        return git_fail(&p->g, "write the tree for", p->url);
    return TC_OK;
}

static int upload_lfs(push_run *p, tc_hub_push_result *res)
{
    hub_lfs_object *objs;
    size_t i, n = 0;
    int rc;
    if (!res->lfs_files)
        return TC_OK;
    if (!(objs = tc_calloc(res->lfs_files, sizeof(*objs))))
        return tc_error_set(TC_ENOMEM, "out of memory");
    for (i = 0; i < p->w.n; i++) {
        const push_file *f = &p->w.files[i];
        size_t k;
        int dup = 0;
        if (!f->lfs)
            continue;
        for (k = 0; k < n; k++)
            dup |= !strcmp(objs[k].oid, f->oid);
        if (dup)
            continue; /* the same content twice: one object */
        objs[n].local_path = f->abs;
        objs[n].repo_path = f->rel;
        memcpy(objs[n].oid, f->oid, 65);
        objs[n].size = f->size;
        n++;
    }
    stage(p->o, TC_HUB_PUSH_LFS);
    rc = hub__lfs_upload(p->c, p->type, p->repo_id, p->branch, objs, n, p->o);
    for (i = 0; i < n; i++) {
        res->lfs_uploaded += (size_t)objs[i].uploaded;
        res->lfs_skipped += (size_t)objs[i].skipped;
        if (objs[i].uploaded)
            res->bytes_uploaded += objs[i].size;
    }
    tc_free(objs);
    return rc;
}

static int commit_and_push(push_run *p, const git_oid *tree_id, tc_hub_push_result *res)
{
    git_signature *sig = NULL;
    git_tree *tree = NULL;
    git_reference *ref = NULL;
    git_remote_callbacks cb;
    git_push_options po;
    const git_commit *parents[1];
    git_oid commit;
    char spec[700], *specs[1];
    git_strarray sa = {specs, 1};
    int rc = TC_OK;
    stage(p->o, TC_HUB_PUSH_COMMIT);
    git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
    git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
    parents[0] = p->base_commit;
    if (git_signature_now(&sig, p->o->author_name ? p->o->author_name : "tcd",
                          p->o->author_email ? p->o->author_email
                                             : "tcd@users.noreply.huggingface.co") < 0 ||
        git_tree_lookup(&tree, p->repo, tree_id) < 0 ||
        git_commit_create(&commit, p->repo, NULL, sig, sig, "UTF-8",
                          p->o->message ? p->o->message : "Upload folder with tcd", tree,
                          p->base_commit ? 1 : 0, parents) < 0 ||
        git_reference_create(&ref, p->repo, "refs/heads/tcd-push", &commit, 1, "tcd push") < 0) {
        rc = git_fail(&p->g, "commit for", p->url);
        goto out;
    }
    stage(p->o, TC_HUB_PUSH_GIT);
    snprintf(spec, sizeof(spec), "%srefs/heads/tcd-push:refs/heads/%s", p->o->force ? "+" : "",
             p->branch);
    specs[0] = spec;
    set_callbacks(&cb, &p->g);
    p->g.expect_remote = p->remote_branch_p;
    p->g.cred_calls = 0;
    po.callbacks = cb;
    if (git_remote_push(p->remote, &sa, &po) < 0) {
        const git_error *e = git_error_last();
        if (!p->g.conflict && e && e->message && strstr(e->message, "non-fastforwardable"))
            p->g.conflict = 1;
        rc = git_fail(&p->g, "push to", p->url);
        goto out;
    }
    if (p->g.rejected[0]) {
        char *nl;
        while ((nl = strchr(p->g.sideband, '\r')))
            *nl = ' ';
        rc = hub__set_error(TC_HUB_ERR_REJECTED, TC_ERROR,
                            "the Hub refused the push to '%s' (%s)%s%.900s", p->repo_id,
                            p->g.rejected, p->g.sideband_len ? ": " : "", p->g.sideband);
        goto out;
    }
    git_oid_tostr(res->commit, sizeof(res->commit), &commit);
    res->changed = 1;
out:
    git_reference_free(ref);
    git_tree_free(tree);
    git_signature_free(sig);
    return rc;
}

static void run_dispose(push_run *p)
{
    git_index_free(p->idx);
    git_tree_free(p->base_tree);
    git_commit_free(p->base_commit);
    git_remote_free(p->remote);
    git_repository_free(p->repo);
    if (p->scratch)
        nftw(p->scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tc_free(p->scratch);
    tc_free(p->url);
    tc_free(p->attrs);
    files_free(p->w.files, p->w.n);
}

static int push_folder(tc_hub_push_result *out, tc_hub_client *c, tc_hub_repo_type type,
                       const char *repo_id, const char *folder, const tc_hub_push_options *opts);

int tc_hub_push_folder(tc_hub_push_result *out, tc_hub_client *c, tc_hub_repo_type type,
                       const char *repo_id, const char *folder, const tc_hub_push_options *opts)
{
    hub_cancel_scope scope;
    int rc;
    TC_ASSERT_ARG(c);
    hub__cancel_push(&scope, c, opts ? opts->cancel : NULL, opts ? opts->payload : NULL);
    rc = push_folder(out, c, type, repo_id, folder, opts);
    hub__cancel_pop(&scope, c);
    return rc;
}

static int push_folder(tc_hub_push_result *out, tc_hub_client *c, tc_hub_repo_type type,
                       const char *repo_id, const char *folder, const tc_hub_push_options *opts)
{
    tc_hub_push_options defaults;
    push_run p;
    struct stat st;
    git_oid tree_id;
    char refname[600], *folder_name;
    int rc;
    TC_ASSERT_ARG(out && c && repo_id && folder);
    hub__clear_kind();
    memset(out, 0, sizeof(*out));
    if (!opts) {
        tc_hub_push_options_init(&defaults, TC_HUB_PUSH_OPTIONS_VERSION);
        opts = &defaults;
    } else if (opts->version != TC_HUB_PUSH_OPTIONS_VERSION) {
        return tc_error_set(TC_EINVAL, "unknown tc_hub_push_options version %u", opts->version);
    }
    memset(&p, 0, sizeof(p));
    p.c = c;
    p.o = opts;
    p.type = type;
    p.repo_id = repo_id;
    p.branch = opts->branch && *opts->branch ? opts->branch : "main";
    p.g.c = c;
    p.g.o = opts;
    p.g.repo_id = repo_id;
    p.w.o = opts;
    if (type < 0 || type >= TC_HUB_REPO_TYPE_MAX || !hub__valid_repo_id(repo_id))
        return tc_error_set(TC_EINVAL, "'%s' is not a valid repo id (expected ORG/NAME)", repo_id);
    pthread_once(&git_once, git_init_once);
    snprintf(refname, sizeof(refname), "refs/heads/%s", p.branch);
    if (strlen(p.branch) > 255 || !git_reference_is_valid_name(refname))
        return tc_error_set(TC_EINVAL, "'%s' is not a valid branch name", p.branch);
    if (c->offline)
        return hub__set_error(TC_HUB_ERR_OFFLINE, TC_EUNSUPPORTED,
                              "cannot push '%s' in offline mode (HF_HUB_OFFLINE is set)", repo_id);
    if (!c->token || !*c->token)
        return hub__set_error(TC_HUB_ERR_BAD_TOKEN, TC_EINVAL,
                              "pushing to '%s' needs a token with write access: set HF_TOKEN or "
                              "write it to $HF_HOME/token",
                              repo_id);
    if (stat(folder, &st) < 0 || !S_ISDIR(st.st_mode))
        return tc_error_set(TC_EINVAL, "'%s' is not a folder; push a directory of files", folder);

    stage(opts, TC_HUB_PUSH_CREATE);
    if ((rc = create_repo(c, type, repo_id, opts->is_private, &out->created_repo)) < 0)
        goto out;
    if ((rc = walk(&p.w, folder, NULL, 0)) < 0)
        goto out;
    if (p.w.n == 0) {
        rc = tc_error_set(TC_EINVAL,
                          "'%s' has no files to push (after the include/exclude patterns)", folder);
        goto out;
    }
    if (p.w.skipped_links)
        notice(opts, "%d symbolic links below the top of '%s' are not followed and not pushed",
               p.w.skipped_links, folder);
    if (p.w.skipped_other)
        notice(opts, "%d entries of '%s' are neither files nor folders and are not pushed",
               p.w.skipped_other, folder);
    qsort(p.w.files, p.w.n, sizeof(push_file), cmp_file);
    out->files = p.w.n;

    stage(opts, TC_HUB_PUSH_FETCH);
    folder_name = hub__repo_folder_name(type, repo_id);
    p.url = hub__strfmt("%s/%s%s", c->endpoint, hub__type_url_prefix(type), repo_id);
    p.scratch =
        folder_name ? hub__strfmt("%s/.tcd-push/%s.XXXXXX", c->cache_dir, folder_name) : NULL;
    tc_free(folder_name);
    if (!p.url || !p.scratch) {
        rc = tc_error_set(TC_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = hub__mkdirs_for(p.scratch)) < 0)
        goto out;
    if (!mkdtemp(p.scratch)) {
        rc = hub__io_error("create the scratch folder", p.scratch, errno);
        tc_free(p.scratch);
        p.scratch = NULL;
        goto out;
    }
    if (git_repository_init(&p.repo, p.scratch, 1) < 0) {
        rc = git_fail(&p.g, "create a scratch repository for", p.url);
        goto out;
    }
    if ((rc = connect_and_fetch(&p)) < 0 || (rc = classify(&p, out)) < 0 ||
        (rc = build_tree(&p, &tree_id)) < 0)
        goto out;
    if (p.base_tree && !git_oid_cmp(&tree_id, git_tree_id(p.base_tree)) && p.remote_branch_p) {
        git_oid_tostr(out->commit, sizeof(out->commit), &p.base);
        out->changed = 0;
        notice(opts, "nothing changed in '%s' on branch '%s'; no commit made", repo_id, p.branch);
    } else if ((rc = upload_lfs(&p, out)) < 0 || (rc = commit_and_push(&p, &tree_id, out)) < 0) {
        goto out;
    }
    if (!(out->url = hub__strfmt("%s/%s%s/commit/%s", c->endpoint, hub__type_url_prefix(type),
                                 repo_id, out->commit)))
        rc = tc_error_set(TC_ENOMEM, "out of memory");
out:
    run_dispose(&p);
    if (rc < 0) {
        tc_free(out->url);
        out->url = NULL;
    }
    return rc;
}
