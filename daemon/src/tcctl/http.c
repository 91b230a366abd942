/*
 * http.c - talking to tcd: which socket, one request, one NDJSON stream, and
 * turning transport and HTTP failures into messages and exit statuses.
 *
 * Every request is a fresh libcurl easy handle on CURLOPT_UNIX_SOCKET_PATH
 * with URL http://tcd/v1/...; tcctl makes one or two requests per command,
 * so connection reuse buys nothing. Bodies are capped at TCCTL_MAX_RESPONSE
 * and stream lines at TCCTL_MAX_LINE; going over aborts the transfer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tcctl.h"

#define DEFAULT_TIMEOUT_MS 120000L
#define CONNECT_TIMEOUT_MS 10000L

static char socket_buf[4096];

volatile sig_atomic_t tcctl_interrupted;

static void on_signal(int sig)
{
    tcctl_interrupted = sig;
}

void tcctl_catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* libcurl calls this about once a second and on every chunk: abort on a signal. */
static int on_xferinfo(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)p;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return tcctl_interrupted != 0;
}

static int path_exists(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0;
}

const char *tcctl_socket_resolve(const char *flag)
{
    const char *env = getenv("TCD_SOCKET");
    const char *xdg = getenv("XDG_RUNTIME_DIR");

    if (flag && *flag)
        return flag;
    if (env && *env)
        return env;
    if (xdg && *xdg)
        snprintf(socket_buf, sizeof(socket_buf), "%s/tcd/tcd.sock", xdg);
    else
        snprintf(socket_buf, sizeof(socket_buf), "/tmp/tcd-%u/tcd.sock", (unsigned)getuid());
    /* The system service's socket when there is no per-user daemon (root, or a member of the
     * tcd group). */
    if (!path_exists(socket_buf) && path_exists("/run/tcd/tcd.sock"))
        return "/run/tcd/tcd.sock";
    return socket_buf;
}

int tcctl_http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void tcctl_http_cleanup(void)
{
    curl_global_cleanup();
}

void tcctl_response_dispose(tcctl_response *r)
{
    if (!r)
        return;
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

/* ---- transfers ---------------------------------------------------------------------------- */

typedef struct xfer {
    CURL *curl;
    /* whole body (non-stream, or a stream answered with an error status) */
    char *buf;
    size_t len, cap, max;
    int too_big;
    /* stream */
    int streaming;   /* 1: split lines to fn when the status is 200 */
    int status_seen; /* 0 unknown, 1 lines, 2 collect body */
    tcctl_line_fn fn;
    void *payload;
    int stopped;
} xfer;

static int buf_append(xfer *x, const char *data, size_t n)
{
    if (x->len + n + 1 > x->max) {
        x->too_big = 1;
        return -1;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        char *p;

        while (cap < x->len + n + 1)
            cap *= 2;
        if (cap > x->max)
            cap = x->max;
        p = realloc(x->buf, cap);
        if (!p)
            return -1;
        x->buf = p;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return 0;
}

/* Feed stream data: complete lines go to fn, the tail stays buffered. */
static int feed_lines(xfer *x, const char *data, size_t n)
{
    size_t i, start = 0;

    for (i = 0; i < n; i++) {
        if (data[i] != '\n')
            continue;
        if (buf_append(x, data + start, i - start) < 0)
            return -1;
        start = i + 1;
        if (x->len && x->buf[x->len - 1] == '\r')
            x->buf[--x->len] = '\0';
        if (x->len && x->fn(x->buf, x->len, x->payload)) {
            x->stopped = 1;
            return -1;
        }
        x->len = 0;
    }
    return buf_append(x, data + start, n - start);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nmemb;

    if (x->streaming && !x->status_seen) {
        long status = 0;

        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
        x->status_seen = status == 200 ? 1 : 2;
        x->max = status == 200 ? TCCTL_MAX_LINE : TCCTL_MAX_RESPONSE;
    }
    if (x->streaming && x->status_seen == 1)
        return feed_lines(x, data, n) < 0 ? 0 : n;
    return buf_append(x, data, n) < 0 ? 0 : n;
}

static tcctl_net net_from_curl(CURL *curl, CURLcode rc, const xfer *x)
{
    long os_errno = 0;

    if (rc == CURLE_OK)
        return TCCTL_NET_OK;
    if (x->stopped)
        return TCCTL_NET_STOPPED;
    if (rc == CURLE_ABORTED_BY_CALLBACK || tcctl_interrupted)
        return TCCTL_NET_INTERRUPTED;
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return TCCTL_NET_TOOBIG;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return TCCTL_NET_TIMEOUT;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == EACCES || os_errno == EPERM)
            return TCCTL_NET_PERM;
        return TCCTL_NET_CONNECT;
    }
    return TCCTL_NET_BROKEN;
}

static tcctl_net perform(const tcctl_ctx *c, const char *method, const char *path, const char *body,
                         long timeout_ms, xfer *x, tcctl_response *out)
{
    struct curl_slist *hdr = NULL;
    char url[8192];
    CURLcode rc;
    tcctl_net net;
    CURL *curl;

    memset(out, 0, sizeof(*out));
    curl = curl_easy_init();
    if (!curl)
        return TCCTL_NET_BROKEN;
    x->curl = curl;
    snprintf(url, sizeof(url), "http://tcd%s", path);
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    if (timeout_ms > 0)
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tcctl/" TCCTL_VERSION);
    if (!x->streaming)
        curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TCCTL_MAX_RESPONSE);
    if (!strcmp(method, "POST")) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        hdr = curl_slist_append(hdr, "Expect:");
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    if (x->streaming)
        hdr = curl_slist_append(hdr, "Accept: application/x-ndjson");
    else
        hdr = curl_slist_append(hdr, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);

    rc = curl_easy_perform(curl);
    net = net_from_curl(curl, rc, x);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (!x->streaming || x->status_seen != 1) {
        out->body = x->buf;
        out->len = x->len;
        x->buf = NULL;
        if (out->body)
            out->json = cJSON_ParseWithLength(out->body, out->len);
    }
    free(x->buf);
    x->buf = NULL;
    curl_slist_free_all(hdr);
    curl_easy_cleanup(curl);
    return net;
}

tcctl_net tcctl_request(const tcctl_ctx *c, const char *method, const char *path, const char *body,
                        long timeout_ms, tcctl_response *out)
{
    xfer x;

    memset(&x, 0, sizeof(x));
    x.max = TCCTL_MAX_RESPONSE;
    return perform(c, method, path, body, timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS, &x,
                   out);
}

tcctl_net tcctl_stream(const tcctl_ctx *c, const char *path, long timeout_ms, tcctl_line_fn fn,
                       void *payload, tcctl_response *out)
{
    xfer x;
    tcctl_net net;

    memset(&x, 0, sizeof(x));
    x.max = TCCTL_MAX_LINE;
    x.streaming = 1;
    x.fn = fn;
    x.payload = payload;
    net = perform(c, "GET", path, NULL, timeout_ms, &x, out);
    return net;
}

int tcctl_url_escape(char *buf, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';

        if (n + (plain ? 1 : 3) >= cap)
            return -1;
        if (plain) {
            buf[n++] = (char)ch;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[ch >> 4];
            buf[n++] = hex[ch & 15];
        }
    }
    if (n >= cap)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* ---- errors ------------------------------------------------------------------------------- */

int tcctl_net_report(const tcctl_ctx *c, tcctl_net net)
{
    switch (net) {
    case TCCTL_NET_OK:
    case TCCTL_NET_STOPPED: return TCCTL_EXIT_OK;
    case TCCTL_NET_CONNECT:
        fprintf(stderr,
                "tcctl: cannot connect to tcd at %s: %s\n"
                "tcctl: is the daemon running? start it with `tcd` (or `tcd --socket %s`), or "
                "point tcctl at another socket with --socket PATH or TCD_SOCKET\n",
                c->socket_path,
                path_exists(c->socket_path) ? "connection refused" : "no such socket",
                c->socket_path);
        return TCCTL_EXIT_UNAVAILABLE;
    case TCCTL_NET_PERM:
        fprintf(stderr,
                "tcctl: permission denied on %s (the socket is for its owner and the tcd "
                "group)\n",
                c->socket_path);
        return TCCTL_EXIT_NOPERM;
    case TCCTL_NET_TIMEOUT:
        fprintf(stderr, "tcctl: tcd at %s did not answer in time\n", c->socket_path);
        return TCCTL_EXIT_UNAVAILABLE;
    case TCCTL_NET_TOOBIG:
        fprintf(stderr,
                "tcctl: tcd sent more than tcctl reads (a response over %zu MiB or an event "
                "line over %zu KiB)\n",
                TCCTL_MAX_RESPONSE >> 20, TCCTL_MAX_LINE >> 10);
        return TCCTL_EXIT_FAILED;
    case TCCTL_NET_INTERRUPTED: return 128 + (int)tcctl_interrupted;
    case TCCTL_NET_BROKEN: break;
    }
    fprintf(stderr, "tcctl: the connection to tcd at %s broke\n", c->socket_path);
    return TCCTL_EXIT_UNAVAILABLE;
}

int tcctl_http_error(const tcctl_response *r)
{
    const cJSON *err = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "error") : NULL;
    const char *code = tcctl_json_str(err, "code");
    const char *msg = tcctl_json_str(err, "message");

    if (msg && code)
        fprintf(stderr, "tcctl: %s (%s)\n", msg, code);
    else
        fprintf(stderr, "tcctl: tcd answered HTTP %ld\n", r->status);
    if (r->status == 403)
        return TCCTL_EXIT_NOPERM;
    if (r->status == 429 || r->status == 503)
        return TCCTL_EXIT_TEMPFAIL;
    if (r->status == 400 && code && !strcmp(code, "invalid_spec"))
        return TCCTL_EXIT_CONFIG;
    return TCCTL_EXIT_FAILED;
}

int tcctl_call(const tcctl_ctx *c, const char *method, const char *path, const char *body,
               tcctl_response *out)
{
    tcctl_net net = tcctl_request(c, method, path, body, 0, out);
    int rc;

    if (net != TCCTL_NET_OK) {
        tcctl_response_dispose(out);
        return tcctl_net_report(c, net);
    }
    if (out->status < 200 || out->status > 299) {
        rc = tcctl_http_error(out);
        tcctl_response_dispose(out);
        return rc;
    }
    if (!out->json) {
        fprintf(stderr, "tcctl: tcd sent a response that is not JSON (HTTP %ld)\n", out->status);
        tcctl_response_dispose(out);
        return TCCTL_EXIT_FAILED;
    }
    return TCCTL_EXIT_OK;
}
