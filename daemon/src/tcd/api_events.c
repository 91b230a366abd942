/*
 * api_events.c - GET /v1/jobs/{id}/events: NDJSON from tcd_job_events, paged
 * (TCD_API_EVENTS_PAGE bytes at a time) through a content-reader callback so
 * that no response holds more than one page. With follow=1 the callback
 * blocks in tcd_job_events_wait (it runs on the connection's own thread) until
 * the job's final event has been sent, the daemon shuts down, or the client
 * goes away (noticed within a second by peeking at the socket).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api.h"

#define TCD_API_EVENTS_PAGE ((size_t)1 << 20)
#define TCD_API_EVENTS_WAIT_MS 1000

typedef struct api_stream {
    tcd_daemon *d;
    char id[32];
    int follow;
    int fd;       /* the connection's socket (borrowed) */
    int64_t last; /* seq of the last event fetched */
    int finished; /* the job is final and everything up to its end is fetched */
    char *buf;    /* the current page */
    size_t len, off;
} api_stream;

static int shutting_down(tcd_daemon *d)
{
    int v;

    pthread_mutex_lock(&d->lock);
    v = d->shutting_down;
    pthread_mutex_unlock(&d->lock);
    return v;
}

/* 1 when the peer closed its end (or the socket failed). */
static int client_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    char c;
    ssize_t n;

    if (fd < 0)
        return 0;
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
        return 1;
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Fetch the next page into s->buf. 0 ok (possibly empty), -1 error. */
static int stream_fetch(api_stream *s)
{
    char err[256];
    char *buf = NULL;
    size_t len = 0;
    int64_t last = s->last;
    int finished = 0;

    free(s->buf);
    s->buf = NULL;
    s->len = s->off = 0;
    if (tcd_job_events(s->d, s->id, s->last, TCD_API_EVENTS_PAGE, &buf, &len, &last, &finished, err,
                       sizeof err) != TCD_OK)
        return -1;
    s->buf = buf;
    s->len = buf != NULL ? len : 0;
    s->last = last;
    s->finished = finished;
    return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    api_stream *s = cls;

    for (;;) {
        if (s->off < s->len) {
            size_t n = s->len - s->off < max ? s->len - s->off : max;
            memcpy(out, s->buf + s->off, n);
            s->off += n;
            return (ssize_t)n;
        }
        if (s->finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (stream_fetch(s) != 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->len > 0)
            continue;
        if (!s->follow || s->finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        /* follow: an incomplete stream tells the client to reconnect with since */
        if (shutting_down(s->d) || client_gone(s->fd))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        tcd_job_events_wait(s->d, s->id, s->last, TCD_API_EVENTS_WAIT_MS);
    }
}

static void stream_free(void *cls)
{
    api_stream *s = cls;

    if (s == NULL)
        return;
    free(s->buf);
    free(s);
}

static void status_error(tcd_api__error *e, int rc, const char *msg)
{
    tcd_api__error_set(e, (unsigned)tcd_status_http((tcd_status)rc),
                       tcd_status_code((tcd_status)rc), "%s", msg);
}

struct MHD_Response *tcd_api__events_response(tcd_daemon *d, struct MHD_Connection *conn,
                                              const char *id, int64_t since, int follow,
                                              tcd_api__error *e)
{
    const union MHD_ConnectionInfo *ci;
    struct MHD_Response *resp = NULL;
    api_stream *s = NULL;
    char err[256] = "";
    int rc;

    s = calloc(1, sizeof *s);
    if (s == NULL || strlen(id) >= sizeof s->id) {
        tcd_api__error_set(e, 500, "internal", "out of memory");
        goto out;
    }
    s->d = d;
    memcpy(s->id, id, strlen(id) + 1);
    s->follow = follow;
    s->last = since;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->fd = ci != NULL ? ci->connect_fd : -1;
    /* the first page now, so that an unknown job is a 404 and not an empty stream */
    rc = tcd_job_events(d, id, since, TCD_API_EVENTS_PAGE, &s->buf, &s->len, &s->last, &s->finished,
                        err, sizeof err);
    if (rc != TCD_OK) {
        s->buf = NULL;
        status_error(e, rc, err);
        goto out;
    }
    if (s->buf == NULL)
        s->len = 0;
    if (!follow && s->len == 0)
        s->finished = 1; /* nothing after since: an empty body */
    resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_free);
    if (resp == NULL) {
        tcd_api__error_set(e, 500, "internal", "out of memory");
        goto out;
    }
    s = NULL; /* owned by resp */
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson") !=
        MHD_YES) {
        MHD_destroy_response(resp);
        resp = NULL;
        tcd_api__error_set(e, 500, "internal", "out of memory");
        goto out;
    }
    /* a followed stream may be quiet for hours: no idle timeout on this connection */
    if (follow)
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
out:
    stream_free(s);
    return resp;
}
