/*
 * util.c - pure helpers of libtchub: error kinds, names and paths of the
 * cache layout, globs, etags, URL quoting, Link and rate-limit headers, and
 * small file-system helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub_internal.h"

static _Thread_local tc_hub_error_kind last_kind;

tc_hub_error_kind tc_hub_error_kind_last(void)
{
    return last_kind;
}

const char *tc_hub_error_kind_name(tc_hub_error_kind kind)
{
    static const char *const names[TC_HUB_ERR_KIND_MAX] = {
        "None",      "RepoNotFound", "RevisionNotFound", "EntryNotFound", "GatedRepo", "BadToken",
        "Forbidden", "Network",      "DiskFull",         "Offline",       "HTTPError", "Integrity",
        "Cancelled", "IOError",      "Conflict",         "Rejected"};
    return kind >= 0 && kind < TC_HUB_ERR_KIND_MAX ? names[kind] : "Unknown";
}

int hub__set_error(tc_hub_error_kind kind, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    last_kind = kind;
    return tc_error_set(code, "%s", msg);
}

void hub__clear_kind(void)
{
    last_kind = TC_HUB_ERR_NONE;
}

char *hub__strfmt(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    s = tc_malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int hub__is_commit(const char *rev)
{
    size_t i;
    if (!rev)
        return 0;
    for (i = 0; i < 40; i++)
        if (!((rev[i] >= '0' && rev[i] <= '9') || (rev[i] >= 'a' && rev[i] <= 'f')))
            return 0;
    return rev[40] == '\0';
}

/* A relative path without empty, "." or ".." segments. */
int hub__valid_rel_path(const char *path)
{
    const char *seg = path;
    if (!path || !*path || *path == '/')
        return 0;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        if (!end)
            return 1;
        seg = end + 1;
    }
}

/* "name" or "org/name"; no "--" (reserved by the cache mapping), no dot segments. */
int hub__valid_repo_id(const char *id)
{
    const char *p;
    int slashes = 0;
    if (!id || !hub__valid_rel_path(id) || strstr(id, "--") || strlen(id) > 256)
        return 0;
    for (p = id; *p; p++) {
        if (*p == '/')
            slashes++;
        else if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
            return 0;
    }
    return slashes <= 1;
}

const char *hub__type_plural(tc_hub_repo_type type)
{
    switch (type) {
    case TC_HUB_REPO_DATASET: return "datasets";
    case TC_HUB_REPO_SPACE: return "spaces";
    default: return "models";
    }
}

const char *hub__type_url_prefix(tc_hub_repo_type type)
{
    switch (type) {
    case TC_HUB_REPO_DATASET: return "datasets/";
    case TC_HUB_REPO_SPACE: return "spaces/";
    default: return "";
    }
}

/* "models--org--name": the plural type and each '/' segment joined by "--". */
char *hub__repo_folder_name(tc_hub_repo_type type, const char *repo_id)
{
    size_t n = strlen(hub__type_plural(type)) + 2 + strlen(repo_id) * 3 + 1, k = 0;
    const char *p;
    char *s = tc_malloc(n);
    if (!s)
        return NULL;
    k = (size_t)snprintf(s, n, "%s--", hub__type_plural(type));
    for (p = repo_id; *p; p++) {
        if (*p == '/') {
            s[k++] = '-';
            s[k++] = '-';
        } else {
            s[k++] = *p;
        }
    }
    s[k] = '\0';
    return s;
}

/* The relative target of snapshots/<commit>/<path>: "../" x (2 + depth) "blobs/<etag>". */
char *hub__symlink_target(const char *path, const char *etag)
{
    size_t ups = 2, k = 0, i;
    const char *p;
    char *s;
    for (p = path; *p; p++)
        ups += *p == '/';
    s = tc_malloc(ups * 3 + 6 + strlen(etag) + 1);
    if (!s)
        return NULL;
    for (i = 0; i < ups; i++, k += 3)
        memcpy(s + k, "../", 3);
    memcpy(s + k, "blobs/", 6);
    memcpy(s + k + 6, etag, strlen(etag) + 1);
    return s;
}

/*
 * Strip an optional W/ and the quotes of an ETag header; the result must be
 * 1-64 characters of [0-9a-zA-Z] (sha1 or sha256 hex in practice) since it
 * becomes a file name. Returns 0, or -1 for an unusable value.
 */
int hub__normalize_etag(char *out, size_t cap, const char *header)
{
    const char *p = header;
    size_t n, i;
    if (!p)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (p[0] == 'W' && p[1] == '/')
        p += 2;
    if (*p == '"')
        p++;
    n = strcspn(p, "\" \t\r\n");
    if (n == 0 || n > 64 || n + 1 > cap)
        return -1;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]))
            return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* Percent-encode everything but unreserved characters (and '/' when keep_slash). */
char *hub__url_quote(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    char *o = tc_malloc(strlen(s) * 3 + 1);
    if (!o)
        return NULL;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || strchr("-_.~", ch) || (keep_slash && ch == '/')) {
            o[k++] = (char)ch;
        } else {
            o[k++] = '%';
            o[k++] = hex[ch >> 4];
            o[k++] = hex[ch & 15];
        }
    }
    o[k] = '\0';
    return o;
}

/* The URL of rel="next" in a Link header, or NULL (also on OOM). */
char *hub__link_next(const char *link)
{
    const char *p = link;
    while (p && *p) {
        const char *lt = strchr(p, '<'), *gt, *end;
        if (!lt || !(gt = strchr(lt, '>')))
            return NULL;
        end = strchr(gt, ',');
        if (!end)
            end = gt + strlen(gt);
        {
            size_t plen = (size_t)(end - gt);
            const char *rel = gt;
            int is_next = 0;
            while ((rel = strstr(rel, "rel=")) && rel < end) {
                rel += 4;
                if (*rel == '"')
                    rel++;
                if (strncmp(rel, "next", 4) == 0 &&
                    (rel[4] == '"' || rel[4] == ';' || rel[4] == ',' || rel[4] == ' ' || !rel[4]))
                    is_next = 1;
            }
            (void)plen;
            if (is_next) {
                size_t n = (size_t)(gt - lt - 1);
                char *u = tc_malloc(n + 1);
                if (!u)
                    return NULL;
                memcpy(u, lt + 1, n);
                u[n] = '\0';
                return u;
            }
        }
        p = *end ? end + 1 : end;
    }
    return NULL;
}

/*
 * How long a 429 asks us to wait, in ms: RateLimit's t= (when r=0, or when
 * no r is given) + 1 s, else Retry-After seconds + 1 s (the HTTP-date form is
 * ignored, as huggingface_hub does); -1 when neither says.
 */
long hub__retry_wait_ms(const char *retry_after, const char *ratelimit)
{
    if (ratelimit) {
        const char *r = strstr(ratelimit, ";r="), *t = strstr(ratelimit, ";t=");
        if (t && (!r || strtol(r + 3, NULL, 10) == 0)) {
            char *end;
            long v = strtol(t + 3, &end, 10);
            if (end != t + 3 && v >= 0 && v < 86400)
                return (v + 1) * 1000;
        }
    }
    if (retry_after) {
        char *end;
        long v = strtol(retry_after, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n')
            end++;
        if (end != retry_after && !*end && v >= 0 && v < 86400)
            return (v + 1) * 1000;
    }
    return -1;
}

/* "scheme://host[:port]" of url into out; -1 if url has none or it does not fit. */
int hub__url_origin(char *out, size_t cap, const char *url)
{
    const char *p = strstr(url, "://");
    size_t n;
    if (!p)
        return -1;
    p += 3;
    n = (size_t)(p - url) + strcspn(p, "/?#");
    if (n + 1 > cap)
        return -1;
    memcpy(out, url, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return 0;
}

/* Resolve a Location against the URL it came from (absolute, or "/"-rooted, or relative). */
char *hub__url_join(const char *base, const char *loc)
{
    char origin[1024];
    if (strstr(loc, "://"))
        return tc_strdup(loc);
    if (hub__url_origin(origin, sizeof(origin), base) != 0)
        return NULL;
    if (loc[0] == '/' && loc[1] == '/') {
        const char *colon = strchr(base, ':');
        return hub__strfmt("%.*s:%s", (int)(colon - base), base, loc);
    }
    if (loc[0] == '/')
        return hub__strfmt("%.*s%s", (int)strlen(origin), base, loc);
    {
        size_t q = strcspn(base, "?#");
        const char *slash = base + q;
        while (slash > base && *slash != '/')
            slash--;
        return hub__strfmt("%.*s/%s", (int)(slash - base), base, loc);
    }
}

/* Python fnmatch: '*' any run (also '/'), '?' any one, [seq], [!seq]; no escapes. */
static int glob_class(const char **pp, char ch, int *matched)
{
    const char *p = *pp + 1;
    int neg = 0, ok = 0;
    if (*p == '!')
        neg = 1, p++;
    if (*p == ']') {
        ok |= ch == ']';
        p++;
    }
    for (; *p && *p != ']'; p++) {
        if (p[1] == '-' && p[2] && p[2] != ']') {
            ok |= ch >= p[0] && ch <= p[2];
            p += 2;
        } else {
            ok |= ch == *p;
        }
    }
    if (*p != ']')
        return -1; /* no closing ']': the '[' is literal */
    *pp = p + 1;
    *matched = neg ? !ok : ok;
    return 0;
}

static int glob(const char *p, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        int m = 0;
        const char *np = p;
        if (*p == '*') {
            while (*p == '*')
                p++;
            star_p = p, star_s = s;
            continue;
        }
        if (*p == '?') {
            np = p + 1, m = 1;
        } else if (*p == '[' && glob_class(&np, *s, &m) == 0) {
            /* np and m set */
        } else if (*p) {
            np = p + 1, m = *p == *s;
        }
        if (m) {
            p = np, s++;
        } else if (star_p) {
            p = star_p, s = ++star_s;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

int tc_hub_glob_match(const char *pattern, const char *path)
{
    size_t n;
    if (!pattern || !path)
        return 0;
    n = strlen(pattern);
    if (n && pattern[n - 1] == '/') {
        /* huggingface_hub appends a star to a pattern ending in a slash */
        char *full = hub__strfmt("%s*", pattern);
        int m = full ? glob(full, path) : 0;
        tc_free(full);
        return m;
    }
    return glob(pattern, path);
}

int hub__select(const char *path, const tc_hub_download_options *o)
{
    size_t i;
    int keep = !o || o->n_allow == 0;
    if (!o)
        return 1;
    for (i = 0; i < o->n_allow && !keep; i++)
        keep = tc_hub_glob_match(o->allow_patterns[i], path);
    for (i = 0; i < o->n_ignore && keep; i++)
        keep = !tc_hub_glob_match(o->ignore_patterns[i], path);
    return keep;
}

int hub__io_error(const char *what, const char *path, int err)
{
    if (err == ENOSPC || err == EDQUOT)
        return hub__set_error(TC_HUB_ERR_DISK_FULL, TC_EIO,
                              "no space left writing '%s' (%s); free space in the cache or set "
                              "HF_HUB_CACHE to a larger file system",
                              path, what);
    return hub__set_error(TC_HUB_ERR_IO, TC_EIO, "cannot %s '%s': %s", what, path, strerror(err));
}

/* Create the parent directories of file_path. */
int hub__mkdirs_for(const char *file_path)
{
    char *dir = tc_strdup(file_path), *slash;
    int rc = TC_OK;
    if (!dir)
        return TC_ENOMEM;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (tc_mkdir_p(dir) != 0)
            rc = hub__io_error("create directory", dir, errno ? errno : EIO);
    }
    tc_free(dir);
    return rc;
}

/* Create or replace link_path -> target atomically (symlink to a temp name, rename). */
int hub__make_symlink(const char *target, const char *link_path)
{
    char *tmp = NULL;
    int rc = hub__mkdirs_for(link_path);
    if (rc)
        return rc;
    tmp = hub__strfmt("%s.tmp-link-%ld", link_path, (long)getpid());
    if (!tmp)
        return TC_ENOMEM;
    unlink(tmp);
    if (symlink(target, tmp) != 0) {
        rc = hub__io_error("create symlink", link_path, errno);
        goto out;
    }
    if (rename(tmp, link_path) != 0) {
        rc = hub__io_error("rename symlink to", link_path, errno);
        unlink(tmp);
    }
out:
    tc_free(tmp);
    return rc;
}

/* Write content atomically unless the file already holds exactly that. */
int hub__write_if_changed(const char *path, const char *content)
{
    char buf[128];
    size_t len = strlen(content);
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        if (n >= 0 && (size_t)n == len && memcmp(buf, content, len) == 0)
            return TC_OK;
    }
    rc = hub__mkdirs_for(path);
    if (rc)
        return rc;
    if (tc_write_file_atomic(path, content, len) != 0)
        return hub__io_error("write", path, errno ? errno : EIO);
    return TC_OK;
}
