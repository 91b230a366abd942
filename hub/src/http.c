/*
 * http.c - synchronous requests (API calls and resolve HEADs): our own
 * redirect handling so the token only goes to the endpoint's origin, retries
 * with capped exponential backoff, and the mapping of Hub error answers to
 * tc_hub_error_kind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "hub_internal.h"

void hub__response_dispose(hub_response *r)
{
    char **fields[] = {&r->body,
                       &r->final_url,
                       &r->h_commit,
                       &r->h_etag,
                       &r->h_linked_etag,
                       &r->h_linked_size,
                       &r->h_location,
                       &r->h_error_code,
                       &r->h_error_message,
                       &r->h_link,
                       &r->h_retry_after,
                       &r->h_ratelimit,
                       &r->h_content_length,
                       &r->h_content_range};
    size_t i;
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        tc_free(*fields[i]);
        *fields[i] = NULL;
    }
    r->status = 0;
    r->body_len = 0;
}

/* Record one header line; a status line ("HTTP/...") resets the headers. */
int hub__header_line(hub_response *r, const char *line, size_t len)
{
    static const struct {
        const char *name;
        size_t off;
    } known[] = {
        {"x-repo-commit", offsetof(hub_response, h_commit)},
        {"etag", offsetof(hub_response, h_etag)},
        {"x-linked-etag", offsetof(hub_response, h_linked_etag)},
        {"x-linked-size", offsetof(hub_response, h_linked_size)},
        {"location", offsetof(hub_response, h_location)},
        {"x-error-code", offsetof(hub_response, h_error_code)},
        {"x-error-message", offsetof(hub_response, h_error_message)},
        {"link", offsetof(hub_response, h_link)},
        {"retry-after", offsetof(hub_response, h_retry_after)},
        {"ratelimit", offsetof(hub_response, h_ratelimit)},
        {"content-length", offsetof(hub_response, h_content_length)},
        {"content-range", offsetof(hub_response, h_content_range)},
    };
    const char *colon;
    size_t i;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        char *body = r->body, *url = r->final_url;
        size_t blen = r->body_len;
        r->body = NULL, r->final_url = NULL;
        hub__response_dispose(r);
        r->body = body, r->final_url = url, r->body_len = blen;
        return 0;
    }
    colon = memchr(line, ':', len);
    if (!colon)
        return 0;
    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        size_t nl = strlen(known[i].name);
        if ((size_t)(colon - line) == nl && strncasecmp(line, known[i].name, nl) == 0) {
            const char *v = colon + 1, *e = line + len;
            char **slot = (char **)((char *)r + known[i].off);
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
                e--;
            tc_free(*slot);
            *slot = tc_malloc((size_t)(e - v) + 1);
            if (!*slot)
                return -1;
            memcpy(*slot, v, (size_t)(e - v));
            (*slot)[e - v] = '\0';
        }
    }
    return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    return hub__header_line(ud, buf, size * n) == 0 ? size * n : 0;
}

typedef struct body_sink {
    hub_response *r;
    size_t max;
} body_sink;

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    body_sink *s = ud;
    size_t len = size * n;
    char *nb;
    if (s->r->body_len + len > s->max)
        return 0;
    nb = tc_realloc(s->r->body, s->r->body_len + len + 1);
    if (!nb)
        return 0;
    memcpy(nb + s->r->body_len, buf, len);
    s->r->body = nb;
    s->r->body_len += len;
    nb[s->r->body_len] = '\0';
    return len;
}

/* 1 when url is on the endpoint's scheme://host:port, so the token may go there. */
int hub__auth_for(const tc_hub_client *c, const char *url)
{
    char a[1024], b[1024];
    if (!c->token || !*c->token)
        return 0;
    return hub__url_origin(a, sizeof(a), url) == 0 &&
           hub__url_origin(b, sizeof(b), c->endpoint) == 0 && strcmp(a, b) == 0;
}

/* A new easy handle with our common settings; *headers_out gets the slist to free. */
void *hub__easy_new(tc_hub_client *c, const char *url, void *headers_out)
{
    struct curl_slist **hl = headers_out, *h = NULL, *t;
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)c->timeout_s * 3);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (hub__auth_for(c, url)) {
        char *a = hub__strfmt("Authorization: Bearer %s", c->token);
        if (!a) {
            curl_easy_cleanup(e);
            return NULL;
        }
        t = curl_slist_append(h, a);
        tc_free(a);
        if (!t) {
            curl_easy_cleanup(e);
            return NULL;
        }
        h = t;
    }
    t = curl_slist_append(h, "Accept-Encoding: identity");
    if (t)
        h = t;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    *hl = h;
    return e;
}

int hub__curl_error(int code, const char *url, const char *errbuf)
{
    const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror((CURLcode)code);
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
        code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_OPERATION_TIMEDOUT ||
        code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING ||
        code == CURLE_PARTIAL_FILE || code == CURLE_SSL_CONNECT_ERROR)
        return hub__set_error(TC_HUB_ERR_NETWORK, TC_EIO,
                              "cannot reach '%s': %s; check the connection and HF_ENDPOINT, or "
                              "set HF_HUB_OFFLINE=1 to use the cache only",
                              url, why);
    return hub__set_error(TC_HUB_ERR_HTTP, TC_ERROR, "request to '%s' failed: %s", url, why);
}

static int retryable_status(long s)
{
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static int retryable_curl(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
           rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_PARTIAL_FILE || rc == CURLE_SSL_CONNECT_ERROR ||
           rc == CURLE_COULDNT_RESOLVE_HOST;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void hub__cancel_push(hub_cancel_scope *saved, tc_hub_client *c, tc_hub_cancel_cb cb, void *payload)
{
    saved->cancel = c->cancel;
    saved->payload = c->cancel_payload;
    if (cb) {
        c->cancel = cb;
        c->cancel_payload = payload;
    }
}

void hub__cancel_pop(const hub_cancel_scope *saved, tc_hub_client *c)
{
    c->cancel = saved->cancel;
    c->cancel_payload = saved->payload;
}

int hub__wait_ms(tc_hub_client *c, long ms)
{
    while (ms > 0) {
        long step = ms < 50 ? ms : 50;
        if (c->cancel && c->cancel(c->cancel_payload))
            return hub__set_error(TC_HUB_ERR_CANCELLED, TC_ECANCELLED, "cancelled");
        sleep_ms(step);
        ms -= step;
    }
    if (c->cancel && c->cancel(c->cancel_payload))
        return hub__set_error(TC_HUB_ERR_CANCELLED, TC_ECANCELLED, "cancelled");
    return TC_OK;
}

static long backoff_ms(const tc_hub_client *c, unsigned int attempt, const hub_response *r)
{
    long w =
        r ? hub__retry_wait_ms(r->h_retry_after, r->status == 429 ? r->h_ratelimit : NULL) : -1;
    long b = (long)c->retry_base_ms;
    unsigned int i;
    if (w >= 0)
        return w;
    for (i = 0; i < attempt && b < (long)c->retry_max_ms; i++)
        b *= 2;
    return b < (long)c->retry_max_ms ? b : (long)c->retry_max_ms;
}

/* Append the body's Content-Type and extra headers to the handle's list. */
static int add_body_headers(struct curl_slist **h, const hub_body *b)
{
    const struct curl_slist *x;
    struct curl_slist *t;
    if (b->content_type) {
        char *ct = hub__strfmt("Content-Type: %s", b->content_type);
        if (!ct)
            return -1;
        t = curl_slist_append(*h, ct);
        tc_free(ct);
        if (!t)
            return -1;
        *h = t;
    }
    for (x = b->extra; x; x = x->next) {
        if (!(t = curl_slist_append(*h, x->data)))
            return -1;
        *h = t;
    }
    return 0;
}

/* One HTTP exchange, no redirects followed. */
static CURLcode exchange(hub_response *r, tc_hub_client *c, const char *method, const char *url,
                         const hub_body *body, size_t max_body, char *errbuf)
{
    struct curl_slist *h = NULL;
    body_sink sink = {r, max_body};
    CURLcode rc;
    CURL *e = hub__easy_new(c, url, &h);
    if (!e)
        return CURLE_OUT_OF_MEMORY;
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        if (add_body_headers(&h, body) < 0) {
            curl_easy_cleanup(e);
            curl_slist_free_all(h);
            return CURLE_OUT_OF_MEMORY;
        }
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data ? body->data : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    errbuf[0] = '\0';
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    return rc;
}

/*
 * A request with retries and redirects: relative Locations are always
 * followed (renamed repos); absolute ones only when follow_cdn (the token is
 * then dropped unless the origin is the endpoint's). The answer, whatever its
 * status, is in out (dispose it); the return is TC_OK once an HTTP answer
 * came, or a network error.
 */
int hub__request(hub_response *out, tc_hub_client *c, const char *method, const char *url,
                 int follow_cdn, size_t max_body)
{
    return hub__request_body(out, c, method, url, NULL, follow_cdn, max_body);
}

/* As hub__request, with a request body (POST, PUT); redirects keep the method and body. */
int hub__request_body(hub_response *out, tc_hub_client *c, const char *method, const char *url,
                      const hub_body *body, int follow_cdn, size_t max_body)
{
    char errbuf[CURL_ERROR_SIZE];
    char *cur = tc_strdup(url);
    unsigned int attempt = 0;
    int hops = 0, rc = TC_OK;
    memset(out, 0, sizeof(*out));
    if (!cur)
        return TC_ENOMEM;
    for (;;) {
        CURLcode cc;
        hub__response_dispose(out);
        cc = exchange(out, c, method, cur, body, max_body, errbuf);
        if (cc == CURLE_OUT_OF_MEMORY) {
            rc = tc_error_set(TC_ENOMEM, "out of memory");
            break;
        }
        if (cc == CURLE_WRITE_ERROR && out->body_len >= max_body) {
            rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_ERANGE,
                                "answer from '%s' is larger than %zu bytes", cur, max_body);
            break;
        }
        if (cc != CURLE_OK || retryable_status(out->status)) {
            if (attempt < c->max_retries && (cc == CURLE_OK || retryable_curl(cc))) {
                if ((rc = hub__wait_ms(c, backoff_ms(c, attempt++, cc == CURLE_OK ? out : NULL))) <
                    0)
                    break;
                continue;
            }
            if (cc != CURLE_OK)
                rc = hub__curl_error((int)cc, cur, errbuf);
            break;
        }
        if (out->status >= 300 && out->status < 400 && out->h_location &&
            hops < HUB_MAX_REDIRECTS) {
            int relative = !strstr(out->h_location, "://");
            char *next;
            if (!relative && !follow_cdn)
                break;
            next = hub__url_join(cur, out->h_location);
            if (!next) {
                rc = TC_ENOMEM;
                break;
            }
            tc_free(cur);
            cur = next;
            hops++;
            continue;
        }
        break;
    }
    if (rc == TC_OK) {
        out->final_url = cur;
        cur = NULL;
    }
    tc_free(cur);
    return rc;
}

/* Map an unsuccessful answer to a kind and a message naming what was asked. */
int hub__error_from_response(const tc_hub_client *c, const hub_response *r, const char *repo_id,
                             const char *revision, const char *path)
{
    const char *code = r->h_error_code ? r->h_error_code : "";
    const char *msg = r->h_error_message ? r->h_error_message : "";
    const char *rev = revision ? revision : "main";
    if (!strcmp(code, "RevisionNotFound"))
        return hub__set_error(TC_HUB_ERR_REVISION_NOT_FOUND, TC_ENOTFOUND,
                              "revision '%s' not found in repo '%s'; check the branch, tag or "
                              "commit name",
                              rev, repo_id);
    if (!strcmp(code, "EntryNotFound"))
        return hub__set_error(TC_HUB_ERR_ENTRY_NOT_FOUND, TC_ENOTFOUND,
                              "file '%s' not found in repo '%s' at revision '%s'", path ? path : "",
                              repo_id, rev);
    if (!strcmp(code, "GatedRepo"))
        return hub__set_error(TC_HUB_ERR_GATED, TC_ERROR,
                              "repo '%s' is gated: %s; request access on its page and use a token "
                              "of an approved account (HF_TOKEN)",
                              repo_id, r->status == 401 ? "log in" : "access not granted yet");
    if (r->status == 401 && strstr(msg, "Invalid credentials"))
        return hub__set_error(TC_HUB_ERR_BAD_TOKEN, TC_ERROR,
                              "the Hub rejected the token for repo '%s' (invalid or expired); "
                              "set a valid HF_TOKEN or update $HF_HOME/token",
                              repo_id);
    if (!strcmp(code, "RepoNotFound") || r->status == 401 || (r->status == 404 && !*code && !path))
        return hub__set_error(TC_HUB_ERR_REPO_NOT_FOUND, TC_ENOTFOUND,
                              "repo '%s' not found on '%s'%s", repo_id, c->endpoint,
                              tc_hub_client_has_token(c)
                                  ? "; check the id, or that the token may read it"
                                  : "; check the id, or set HF_TOKEN if it is private");
    if (r->status == 403)
        return hub__set_error(TC_HUB_ERR_FORBIDDEN, TC_ERROR,
                              "access to repo '%s' refused (403)%s%s; check the token's scope",
                              repo_id, *msg ? ": " : "", msg);
    if (r->status == 404 && path)
        return hub__set_error(TC_HUB_ERR_ENTRY_NOT_FOUND, TC_ENOTFOUND,
                              "file '%s' not found in repo '%s' at revision '%s'", path, repo_id,
                              rev);
    return hub__set_error(TC_HUB_ERR_HTTP, TC_ERROR, "HTTP %ld from '%s' for repo '%s'%s%s",
                          r->status, r->final_url ? r->final_url : c->endpoint, repo_id,
                          *msg ? ": " : "", msg);
}
