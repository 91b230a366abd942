/*
 * lfs.c - uploads through the Git LFS batch API (HUB-PROTOCOL.md 4.6-4.7):
 * one batch request per 100 objects, then for each object the server lacks
 * a basic PUT or the Hub's multipart transfer (a PUT per part, then the
 * completion POST with the parts' ETags), then the verify POST. Objects the
 * server already has come back without actions and are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "hub_internal.h"

#define LFS_CT "application/vnd.git-lfs+json"
#define LFS_BATCH_OBJECTS 100
#define LFS_MAX_ANSWER (16u << 20)
#define LFS_MAX_PARTS 100000
#define LFS_UPLOAD_BUFFER (2L << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress of the whole upload, shared by the objects. */
typedef struct up_state {
    const tc_hub_push_options *o;
    tc_hub_progress p;
    double last;
    int cancelled;
} up_state;

static void report(up_state *u, int force)
{
    double t = now_s();
    if (!u->o || !u->o->progress || (!force && t - u->last < 0.1))
        return;
    u->last = t;
    u->o->progress(&u->p, u->o->payload);
}

/* One PUT of [off, off+len) of fd. */
typedef struct put_ctx {
    int fd;
    uint64_t off, len, sent;
    up_state *u;
    uint64_t base_done; /* u->p.file_done and done before this PUT */
    uint64_t base_all;
} put_ctx;

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    put_ctx *p = ud;
    size_t want = size * n;
    ssize_t got;
    if (want > p->len - p->sent)
        want = (size_t)(p->len - p->sent);
    if (want == 0)
        return 0;
    do
        got = pread(p->fd, buf, want, (off_t)(p->off + p->sent));
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        return CURL_READFUNC_ABORT;
    p->sent += (uint64_t)got;
    return (size_t)got;
}

static int on_xfer(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    put_ctx *p = ud;
    up_state *u = p->u;
    (void)dt, (void)dn, (void)ut;
    if (u->o && u->o->cancel && u->o->cancel(u->o->payload)) {
        u->cancelled = 1;
        return 1;
    }
    u->p.file_done = p->base_done + (uint64_t)un;
    u->p.done = p->base_all + (uint64_t)un;
    u->p.transferred = u->p.done;
    report(u, 0);
    return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    return hub__header_line(ud, buf, size * n) == 0 ? size * n : 0;
}

static size_t on_discard(char *buf, size_t size, size_t n, void *ud)
{
    hub_response *r = ud;
    size_t len = size * n, keep = len;
    (void)buf;
    if (r->body_len + keep > HUB_MAX_ERROR_BODY)
        keep = HUB_MAX_ERROR_BODY - r->body_len;
    if (keep) {
        char *nb = tc_realloc(r->body, r->body_len + keep + 1);
        if (!nb)
            return 0;
        memcpy(nb + r->body_len, buf, keep);
        r->body = nb;
        r->body_len += keep;
        nb[r->body_len] = '\0';
    }
    return len;
}

/* A part's ETag as sent back in the completion: quotes dropped, printable, < 128 bytes. */
static int part_etag(char *out, const char *h)
{
    size_t n, i;
    if (*h == '"')
        h++;
    n = strcspn(h, "\"");
    if (n == 0 || n >= 128)
        return -1;
    for (i = 0; i < n; i++)
        if ((unsigned char)h[i] < 0x21 || (unsigned char)h[i] > 0x7e)
            return -1;
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

static int retryable(long s)
{
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

/*
 * PUT bytes [off, off+len) of fd to url with the action's header lines,
 * retried from the start of the range on network errors and 408/429/5xx.
 * etag (if not NULL, 128 bytes) receives the answer's ETag without quotes.
 */
static int put_range(tc_hub_client *c, const char *url, const struct curl_slist *extra, int fd,
                     uint64_t off, uint64_t len, up_state *u, char *etag)
{
    unsigned int attempt = 0;
    uint64_t base_done = u->p.file_done, base_all = u->p.done;
    for (;;) {
        char errbuf[CURL_ERROR_SIZE];
        struct curl_slist *h = NULL, *t;
        const struct curl_slist *x;
        hub_response r;
        put_ctx p = {fd, off, len, 0, u, base_done, base_all};
        CURLcode cc;
        CURL *e = hub__easy_new(c, url, &h);
        memset(&r, 0, sizeof(r));
        if (!e)
            return tc_error_set(TC_ENOMEM, "out of memory");
        for (x = extra; x; x = x->next) {
            if (!(t = curl_slist_append(h, x->data))) {
                curl_easy_cleanup(e);
                curl_slist_free_all(h);
                return tc_error_set(TC_ENOMEM, "out of memory");
            }
            h = t;
        }
        if ((t = curl_slist_append(h, "Expect:")))
            h = t;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, &p);
        curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, LFS_UPLOAD_BUFFER);
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, &p);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &r);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_discard);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        errbuf[0] = '\0';
        cc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
        curl_easy_cleanup(e);
        curl_slist_free_all(h);
        if (u->cancelled) {
            hub__response_dispose(&r);
            return hub__set_error(TC_HUB_ERR_CANCELLED, TC_ECANCELLED, "push cancelled");
        }
        if (cc == CURLE_OK && r.status >= 200 && r.status < 300) {
            if (etag) {
                if (!r.h_etag || part_etag(etag, r.h_etag) < 0 || !*etag) {
                    hub__response_dispose(&r);
                    return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                          "the storage answered a part upload without an ETag");
                }
            }
            u->p.file_done = base_done + len;
            u->p.done = base_all + len;
            u->p.transferred = u->p.done;
            hub__response_dispose(&r);
            return TC_OK;
        }
        if (attempt < c->max_retries && (cc != CURLE_OK || retryable(r.status))) {
            long w = hub__retry_wait_ms(r.h_retry_after, r.status == 429 ? r.h_ratelimit : NULL);
            long b = (long)c->retry_base_ms;
            unsigned int i;
            for (i = 0; i < attempt && b < (long)c->retry_max_ms; i++)
                b *= 2;
            if (w < 0)
                w = b < (long)c->retry_max_ms ? b : (long)c->retry_max_ms;
            hub__response_dispose(&r);
            attempt++;
            u->p.file_done = base_done;
            u->p.done = base_all;
            if (hub__wait_ms(c, w) < 0)
                return hub__set_error(TC_HUB_ERR_CANCELLED, TC_ECANCELLED, "push cancelled");
            continue;
        }
        if (cc != CURLE_OK) {
            int rc = hub__curl_error((int)cc, url, errbuf);
            hub__response_dispose(&r);
            return rc;
        }
        {
            int rc = hub__set_error(TC_HUB_ERR_HTTP, TC_ERROR,
                                    "LFS upload to '%s' failed: HTTP %ld%s%.200s", url, r.status,
                                    r.body_len ? ": " : "", r.body ? r.body : "");
            hub__response_dispose(&r);
            return rc;
        }
    }
}

/* The action's "header" object as curl header lines; chunk_size and part keys left out. */
static int action_headers(struct curl_slist **out, const cJSON *header)
{
    const cJSON *h;
    *out = NULL;
    cJSON_ArrayForEach(h, header)
    {
        char *line;
        struct curl_slist *t;
        if (!cJSON_IsString(h) || !h->string || !strcmp(h->string, "chunk_size") ||
            strspn(h->string, "0123456789") == strlen(h->string))
            continue;
        if (strpbrk(h->string, ":\r\n") || strpbrk(h->valuestring, "\r\n"))
            return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                  "the LFS server sent an invalid action header");
        if (!(line = hub__strfmt("%s: %s", h->string, h->valuestring)))
            return tc_error_set(TC_ENOMEM, "out of memory");
        t = curl_slist_append(*out, line);
        tc_free(line);
        if (!t)
            return tc_error_set(TC_ENOMEM, "out of memory");
        *out = t;
    }
    return TC_OK;
}

/* POST a small LFS JSON body (verify, multipart completion); 2xx or an error. */
static int lfs_post(tc_hub_client *c, const char *url, const struct curl_slist *extra,
                    const char *json, const char *what, const char *path)
{
    struct curl_slist *h = NULL, *t;
    const struct curl_slist *x;
    hub_response r;
    hub_body b = {LFS_CT, json, strlen(json), NULL};
    int rc;
    if (!(h = curl_slist_append(NULL, "Accept: " LFS_CT)))
        return tc_error_set(TC_ENOMEM, "out of memory");
    for (x = extra; x; x = x->next) {
        if (!(t = curl_slist_append(h, x->data))) {
            curl_slist_free_all(h);
            return tc_error_set(TC_ENOMEM, "out of memory");
        }
        h = t;
    }
    b.extra = h;
    rc = hub__request_body(&r, c, "POST", url, &b, 0, HUB_MAX_ERROR_BODY);
    curl_slist_free_all(h);
    if (rc < 0)
        return rc;
    if (r.status < 200 || r.status >= 300)
        rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                            "the LFS server refused the %s of '%s' (HTTP %ld)%s%.200s", what, path,
                            r.status, r.body_len ? ": " : "", r.body ? r.body : "");
    hub__response_dispose(&r);
    return rc;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* The Hub's multipart transfer of one object. */
static int upload_multipart(tc_hub_client *c, hub_lfs_object *ob, int fd, const cJSON *upload,
                            up_state *u)
{
    const cJSON *href = cJSON_GetObjectItemCaseSensitive(upload, "href");
    const cJSON *header = cJSON_GetObjectItemCaseSensitive(upload, "header");
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(header, "chunk_size"), *h;
    struct curl_slist *extra = NULL;
    uint64_t chunk, nparts, i;
    cJSON *done = NULL, *parts;
    char *json = NULL;
    int rc;
    if (!cJSON_IsString(href) || !cJSON_IsString(cs) || parse_u64(cs->valuestring, &chunk) < 0 ||
        chunk == 0)
        return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                              "the LFS server sent a multipart action without a valid chunk_size "
                              "for '%s'",
                              ob->repo_path);
    nparts = (ob->size + chunk - 1) / chunk;
    if (nparts == 0)
        nparts = 1;
    if (nparts > LFS_MAX_PARTS || (uint64_t)cJSON_GetArraySize(header) != nparts + 1)
        return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                              "the LFS server sent %d part URLs for '%s', which needs %llu",
                              cJSON_GetArraySize(header) - 1, ob->repo_path,
                              (unsigned long long)nparts);
    if (!(done = cJSON_CreateObject()) || !cJSON_AddStringToObject(done, "oid", ob->oid) ||
        !(parts = cJSON_AddArrayToObject(done, "parts"))) {
        cJSON_Delete(done);
        return tc_error_set(TC_ENOMEM, "out of memory");
    }
    for (i = 1; i <= nparts; i++) {
        char key[24], etag[128];
        uint64_t off = (i - 1) * chunk, len = ob->size - off < chunk ? ob->size - off : chunk;
        cJSON *pj;
        snprintf(key, sizeof(key), "%05llu", (unsigned long long)i);
        h = cJSON_GetObjectItemCaseSensitive(header, key);
        if (!cJSON_IsString(h)) {
            cJSON_Delete(done);
            return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                  "the LFS server sent no URL for part %s of '%s'", key,
                                  ob->repo_path);
        }
        if ((rc = put_range(c, h->valuestring, NULL, fd, off, len, u, etag)) < 0) {
            cJSON_Delete(done);
            return rc;
        }
        if (!(pj = cJSON_CreateObject()) || !cJSON_AddNumberToObject(pj, "partNumber", (double)i) ||
            !cJSON_AddStringToObject(pj, "etag", etag) || !cJSON_AddItemToArray(parts, pj)) {
            cJSON_Delete(pj);
            cJSON_Delete(done);
            return tc_error_set(TC_ENOMEM, "out of memory");
        }
    }
    json = cJSON_PrintUnformatted(done);
    cJSON_Delete(done);
    if (!json)
        return tc_error_set(TC_ENOMEM, "out of memory");
    rc = action_headers(&extra, header);
    if (rc == TC_OK)
        rc = lfs_post(c, href->valuestring, extra, json, "multipart completion", ob->repo_path);
    curl_slist_free_all(extra);
    cJSON_free(json);
    return rc;
}

/* Upload (if asked) and verify (if asked) one object of a batch answer. */
static int do_object(tc_hub_client *c, hub_lfs_object *ob, const cJSON *actions, up_state *u)
{
    const cJSON *upload = cJSON_GetObjectItemCaseSensitive(actions, "upload");
    const cJSON *verify = cJSON_GetObjectItemCaseSensitive(actions, "verify");
    int fd, rc = TC_OK;
    if (!upload) {
        ob->skipped = 1;
    } else {
        const cJSON *href = cJSON_GetObjectItemCaseSensitive(upload, "href");
        const cJSON *header = cJSON_GetObjectItemCaseSensitive(upload, "header");
        if (!cJSON_IsString(href) || (header && !cJSON_IsObject(header)))
            return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                  "the LFS server sent an invalid upload action for '%s'",
                                  ob->repo_path);
        if ((fd = open(ob->local_path, O_RDONLY | O_CLOEXEC)) < 0)
            return hub__io_error("open", ob->local_path, errno);
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        u->p.path = ob->repo_path;
        u->p.file_done = 0;
        u->p.file_total = ob->size;
        if (cJSON_GetObjectItemCaseSensitive(header, "chunk_size")) {
            rc = upload_multipart(c, ob, fd, upload, u);
        } else {
            struct curl_slist *extra = NULL;
            rc = action_headers(&extra, header);
            if (rc == TC_OK)
                rc = put_range(c, href->valuestring, extra, fd, 0, ob->size, u, NULL);
            curl_slist_free_all(extra);
        }
        close(fd);
        if (rc < 0)
            return rc;
        ob->uploaded = 1;
        u->p.files_done++;
        report(u, 1);
    }
    if (verify) {
        const cJSON *href = cJSON_GetObjectItemCaseSensitive(verify, "href");
        const cJSON *header = cJSON_GetObjectItemCaseSensitive(verify, "header");
        struct curl_slist *extra = NULL;
        char body[160];
        if (!cJSON_IsString(href) || (header && !cJSON_IsObject(header)))
            return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                  "the LFS server sent an invalid verify action for '%s'",
                                  ob->repo_path);
        snprintf(body, sizeof(body), "{\"oid\":\"%s\",\"size\":%llu}", ob->oid,
                 (unsigned long long)ob->size);
        rc = action_headers(&extra, header);
        if (rc == TC_OK)
            rc = lfs_post(c, href->valuestring, extra, body, "verify", ob->repo_path);
        curl_slist_free_all(extra);
    }
    return rc;
}

static int batch(tc_hub_client *c, const char *url, const char *branch, hub_lfs_object *objs,
                 size_t n, up_state *u, const char *repo_id)
{
    struct curl_slist *h = NULL;
    cJSON *req = cJSON_CreateObject(), *arr, *ans = NULL, *t, *ref;
    const cJSON *items, *it;
    char *json = NULL, ref_name[512];
    hub_response r;
    hub_body b = {LFS_CT, NULL, 0, NULL};
    size_t i;
    int rc;
    memset(&r, 0, sizeof(r));
    snprintf(ref_name, sizeof(ref_name), "refs/heads/%s", branch);
    if (!req || !cJSON_AddStringToObject(req, "operation", "upload") ||
        !(t = cJSON_AddArrayToObject(req, "transfers")) ||
        !cJSON_AddItemToArray(t, cJSON_CreateString("basic")) ||
        !cJSON_AddItemToArray(t, cJSON_CreateString("multipart")) ||
        !(ref = cJSON_AddObjectToObject(req, "ref")) ||
        !cJSON_AddStringToObject(ref, "name", ref_name) ||
        !(arr = cJSON_AddArrayToObject(req, "objects")) ||
        !cJSON_AddStringToObject(req, "hash_algo", "sha256"))
        goto nomem;
    for (i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o) ||
            !cJSON_AddStringToObject(o, "oid", objs[i].oid) ||
            !cJSON_AddNumberToObject(o, "size", (double)objs[i].size))
            goto nomem;
    }
    if (!(json = cJSON_PrintUnformatted(req)) || !(h = curl_slist_append(NULL, "Accept: " LFS_CT)))
        goto nomem;
    b.data = json;
    b.len = strlen(json);
    b.extra = h;
    rc = hub__request_body(&r, c, "POST", url, &b, 0, LFS_MAX_ANSWER);
    if (rc < 0)
        goto out;
    if (r.status != 200) {
        if (r.status == 401 || r.status == 403)
            rc = hub__set_error(r.status == 401 ? TC_HUB_ERR_BAD_TOKEN : TC_HUB_ERR_FORBIDDEN,
                                TC_ERROR,
                                "the LFS server refused the upload to '%s' (HTTP %ld)%s%.200s; "
                                "a token with write access is needed (HF_TOKEN)",
                                repo_id, r.status, r.body_len ? ": " : "", r.body ? r.body : "");
        else
            rc = hub__set_error(TC_HUB_ERR_HTTP, TC_ERROR,
                                "LFS batch request for '%s' failed: HTTP %ld%s%.200s", repo_id,
                                r.status, r.body_len ? ": " : "", r.body ? r.body : "");
        goto out;
    }
    if (!(ans = cJSON_ParseWithLength(r.body ? r.body : "", r.body_len)) ||
        !cJSON_IsArray(items = cJSON_GetObjectItemCaseSensitive(ans, "objects"))) {
        rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                            "the LFS batch answer for '%s' is not valid", repo_id);
        goto out;
    }
    for (i = 0; i < n && rc == TC_OK; i++) {
        const cJSON *found = NULL, *err;
        cJSON_ArrayForEach(it, items)
        {
            const cJSON *oid = cJSON_GetObjectItemCaseSensitive(it, "oid");
            if (cJSON_IsString(oid) && !strcmp(oid->valuestring, objs[i].oid)) {
                found = it;
                break;
            }
        }
        if (!found) {
            rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                "the LFS batch answer does not mention '%s' (%s)",
                                objs[i].repo_path, objs[i].oid);
        } else if ((err = cJSON_GetObjectItemCaseSensitive(found, "error"))) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
            rc = hub__set_error(TC_HUB_ERR_HTTP, TC_ERROR, "the LFS server refused '%s': %s",
                                objs[i].repo_path,
                                cJSON_IsString(m) ? m->valuestring : "no reason given");
        } else {
            rc = do_object(c, &objs[i], cJSON_GetObjectItemCaseSensitive(found, "actions"), u);
        }
    }
    goto out;
nomem:
    rc = tc_error_set(TC_ENOMEM, "out of memory");
out:
    curl_slist_free_all(h);
    hub__response_dispose(&r);
    cJSON_Delete(ans);
    cJSON_Delete(req);
    cJSON_free(json);
    return rc;
}

int hub__lfs_upload(tc_hub_client *c, tc_hub_repo_type type, const char *repo_id,
                    const char *branch, hub_lfs_object *objs, size_t n,
                    const tc_hub_push_options *o)
{
    up_state u;
    char *url;
    size_t i;
    int rc = TC_OK;
    memset(&u, 0, sizeof(u));
    u.o = o;
    for (i = 0; i < n; i++)
        u.p.total += objs[i].size;
    u.p.files_total = n;
    url = hub__strfmt("%s/%s%s.git/info/lfs/objects/batch", c->endpoint, hub__type_url_prefix(type),
                      repo_id);
    if (!url)
        return tc_error_set(TC_ENOMEM, "out of memory");
    for (i = 0; i < n && rc == TC_OK; i += LFS_BATCH_OBJECTS) {
        size_t k = n - i < LFS_BATCH_OBJECTS ? n - i : LFS_BATCH_OBJECTS, j;
        rc = batch(c, url, branch, objs + i, k, &u, repo_id);
        for (j = i; j < i + k && rc == TC_OK; j++) {
            if (objs[j].skipped) {
                u.p.files_done++;
                u.p.done += objs[j].size;
            }
        }
    }
    u.p.path = NULL;
    report(&u, 1);
    tc_free(url);
    return rc;
}
