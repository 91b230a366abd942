/*
 * hub_internal.h - cross-file internals of libtchub (not installed).
 * Functions here are hub__*; tests/hub/ calls the pure helpers directly.
 */
#ifndef TC_HUB_INTERNAL_H
#define TC_HUB_INTERNAL_H

#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

#include <tc/hub.h>

struct curl_slist;

#define HUB_INTERNAL __attribute__((visibility("default")))

#define HUB_MAX_PARALLEL 64
#define HUB_MAX_JSON_BYTES (256u << 20) /* a tree page or repo info */
#define HUB_MAX_TREE_ENTRIES 1000000u
#define HUB_MAX_ERROR_BODY 4096u
#define HUB_MAX_REDIRECTS 10
#define HUB_MAX_URL 8192

struct tc_hub_client {
    char *endpoint;
    char *token;
    char *cache_dir;
    char *user_agent;
    int offline;
    unsigned int max_parallel, max_retries, retry_base_ms, retry_max_ms, timeout_s;
    tc_hub_cancel_cb cancel; /* of the call in progress: polled while waiting to retry */
    void *cancel_payload;
};

/* Install a call's cancel callback on the client for its duration (http.c). */
typedef struct hub_cancel_scope {
    tc_hub_cancel_cb cancel;
    void *payload;
} hub_cancel_scope;
HUB_INTERNAL void hub__cancel_push(hub_cancel_scope *saved, tc_hub_client *c, tc_hub_cancel_cb cb,
                                   void *payload);
HUB_INTERNAL void hub__cancel_pop(const hub_cancel_scope *saved, tc_hub_client *c);
/* Sleep ms in 50 ms steps; TC_ECANCELLED (kind CANCELLED) as soon as the client's cancel says so.
 */
HUB_INTERNAL int hub__wait_ms(tc_hub_client *c, long ms);

/*
 * sha256.c: OpenSSL's SHA-256 (SHA-NI / AVX2 code paths: ~2 GB/s here, where a
 * plain C loop managed ~150 MB/s and capped LFS downloads at that). The
 * allocation-free SHA256_CTX API is deprecated in OpenSSL 3 but kept: the hash
 * state lives by value inside each transfer and is re-initialised on restart.
 */
typedef struct hub_sha256 {
    SHA256_CTX ctx;
} hub_sha256;
HUB_INTERNAL void hub__sha256_init(hub_sha256 *s);
HUB_INTERNAL void hub__sha256_update(hub_sha256 *s, const void *data, size_t n);
HUB_INTERNAL void hub__sha256_final(hub_sha256 *s, char hex[65]);

/* util.c: pure helpers */
HUB_INTERNAL int hub__set_error(tc_hub_error_kind kind, int code, const char *fmt, ...)
    TC_PRINTF(3, 4);
HUB_INTERNAL void hub__clear_kind(void);
HUB_INTERNAL char *hub__strfmt(const char *fmt, ...) TC_PRINTF(1, 2);
HUB_INTERNAL int hub__is_commit(const char *rev);
HUB_INTERNAL int hub__valid_repo_id(const char *id);
HUB_INTERNAL int hub__valid_rel_path(const char *path);
HUB_INTERNAL const char *hub__type_plural(tc_hub_repo_type type);
HUB_INTERNAL const char *hub__type_url_prefix(tc_hub_repo_type type);
HUB_INTERNAL char *hub__repo_folder_name(tc_hub_repo_type type, const char *repo_id);
HUB_INTERNAL char *hub__symlink_target(const char *path, const char *etag);
HUB_INTERNAL int hub__normalize_etag(char *out, size_t cap, const char *header);
HUB_INTERNAL char *hub__url_quote(const char *s, int keep_slash);
HUB_INTERNAL char *hub__link_next(const char *link_header);
HUB_INTERNAL long hub__retry_wait_ms(const char *retry_after, const char *ratelimit);
HUB_INTERNAL int hub__url_origin(char *out, size_t cap, const char *url);
HUB_INTERNAL char *hub__url_join(const char *base, const char *location);
HUB_INTERNAL int hub__select(const char *path, const tc_hub_download_options *o);
HUB_INTERNAL int hub__mkdirs_for(const char *file_path);
HUB_INTERNAL int hub__make_symlink(const char *target, const char *link_path);
HUB_INTERNAL int hub__write_if_changed(const char *path, const char *content);
HUB_INTERNAL int hub__io_error(const char *what, const char *path, int err);

/* http.c: synchronous requests with retries and manual redirects */
typedef struct hub_response {
    long status;
    char *body;
    size_t body_len;
    char *final_url;
    char *h_commit, *h_etag, *h_linked_etag, *h_linked_size, *h_location, *h_error_code,
        *h_error_message, *h_link, *h_retry_after, *h_ratelimit, *h_content_length,
        *h_content_range;
} hub_response;

/* A request body: in-memory data with its Content-Type and extra header lines. */
typedef struct hub_body {
    const char *content_type; /* or NULL */
    const char *data;         /* len bytes */
    size_t len;
    const struct curl_slist *extra; /* "Name: value" lines, borrowed; or NULL */
} hub_body;

HUB_INTERNAL void hub__response_dispose(hub_response *r);
HUB_INTERNAL int hub__header_line(hub_response *r, const char *line, size_t len);
HUB_INTERNAL int hub__request(hub_response *out, tc_hub_client *c, const char *method,
                              const char *url, int follow_cdn, size_t max_body);
HUB_INTERNAL int hub__request_body(hub_response *out, tc_hub_client *c, const char *method,
                                   const char *url, const hub_body *body, int follow_cdn,
                                   size_t max_body);
HUB_INTERNAL int hub__error_from_response(const tc_hub_client *c, const hub_response *r,
                                          const char *repo_id, const char *revision,
                                          const char *path);
HUB_INTERNAL int hub__auth_for(const tc_hub_client *c, const char *url);
HUB_INTERNAL void *hub__easy_new(tc_hub_client *c, const char *url, void *headers_out);
HUB_INTERNAL int hub__curl_error(int curl_code, const char *url, const char *errbuf);

/* api.c */
HUB_INTERNAL int hub__resolve_url(char **out, const tc_hub_client *c, tc_hub_repo_type type,
                                  const char *repo_id, const char *rev, const char *path);
HUB_INTERNAL int hub__file_metadata(tc_hub_file_metadata **out, tc_hub_client *c,
                                    tc_hub_repo_type type, const char *repo_id,
                                    const char *revision, const char *path, char *missing_commit);
HUB_INTERNAL int hub__tree_to_json(char **out, const tc_hub_tree *t);
HUB_INTERNAL int hub__tree_from_json(tc_hub_tree **out, const char *json, size_t len);

/* download.c */
typedef struct hub_job {
    char *path; /* repo path */
    char *etag; /* blob name */
    uint64_t size;
    int is_lfs;
    char *url; /* where to GET */
} hub_job;

HUB_INTERNAL int hub__fetch_blobs(tc_hub_client *c, const char *repo_dir, const char *lock_dir,
                                  const char *snap_dir, hub_job *jobs, size_t n,
                                  const tc_hub_download_options *o, const char *repo_id,
                                  const char *revision);

/* lfs.c: LFS batch uploads */
typedef struct hub_lfs_object {
    const char *local_path; /* file to read */
    const char *repo_path;  /* its path in the repo (messages, progress) */
    char oid[65];           /* sha256 hex */
    uint64_t size;
    int uploaded, skipped; /* set by hub__lfs_upload */
} hub_lfs_object;

HUB_INTERNAL int hub__lfs_upload(tc_hub_client *c, tc_hub_repo_type type, const char *repo_id,
                                 const char *branch, hub_lfs_object *objs, size_t n,
                                 const tc_hub_push_options *o);

/* push.c: .gitattributes matching (git's wildmatch subset), exposed for tests */
HUB_INTERNAL int hub__wildmatch(const char *pattern, const char *path);
HUB_INTERNAL int hub__attr_is_lfs(const char *gitattributes, const char *path);

#endif /* TC_HUB_INTERNAL_H */
