/*
 * fetch.c - the transfer engine: a bounded set of blob downloads on one
 * libcurl multi handle, each under the blob's flock, resuming
 * blobs/<etag>.incomplete with Range, hashing while writing, retrying with
 * backoff, following redirects itself (the token only to the endpoint), and
 * renaming verified blobs into place before linking their snapshot paths.
 *
 * Large blobs (>= SINK_MIN_SIZE) are written by a writer thread, one per
 * transfer, and a hasher thread beside it: the receiving thread copies what
 * curl hands it (512 KiB reads) into a ring of SINK_NBUF aligned buffers of
 * SINK_BUFSZ bytes; the hasher hashes full ones in order, then the writer
 * writes them with O_DIRECT where the file system takes it (no page-cache
 * copy and nothing left for the final fsync to write back), else through the
 * page cache. So receiving, hashing and the disk overlap.
 * Every path that looks at the file (the end of a transfer, truncation,
 * release) first drains the ring (sink_flush); release() joins the thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hub_internal.h"

enum { X_PENDING, X_LOCKWAIT, X_ACTIVE, X_RETRY, X_DONE };

#define SINK_NBUF 4
#define SINK_BUFSZ ((size_t)4 << 20)
#define SINK_ALIGN ((size_t)4096) /* O_DIRECT: buffer address, file offset and length */
#define SINK_MIN_SIZE ((uint64_t)16 << 20)
#define SINK_MAX 4 /* sinks per download at once (2 threads, 16 MiB each); the rest inline */
#define RECV_BUFSZ (512L * 1024)

/* The writer and hasher threads of one large transfer. Under mu: head, count, hashed, stop, err
 * and the queued slots; the receiving thread alone owns slot, cur and cap (the slot it fills);
 * while count > 0 the writer alone touches fd (and its O_DIRECT flag) and the hasher alone sha,
 * and the receiving thread either only after sink_flush() (the mutex orders them). */
typedef struct sink {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf[SINK_NBUF];
    size_t len[SINK_NBUF];
    uint64_t at[SINK_NBUF];         /* file offset of each slot's first byte */
    unsigned int head, count, slot; /* slot: the one being filled, (head + count) % SINK_NBUF */
    unsigned int hashed;            /* the first hashed of the count queued slots are hashed */
    size_t cur, cap;
    int stop, err;
    pthread_t hasher;
    hub_sha256 *sha;           /* NULL: nothing to hash */
    size_t *live;              /* the engine's count of sinks, dropped by sink_stop */
    int fd, direct, direct_on; /* O_DIRECT still worth trying; set on fd now */
} sink;

typedef struct xfer {
    hub_job *job;
    int state, lock_fd, fd, private_tmp, data_this_attempt, hops;
    unsigned int attempt;
    char *blob_path, *inc_path, *lock_path, *url;
    uint64_t have;
    hub_sha256 sha;
    int64_t wake_ms, last_progress_ms;
    uint64_t last_progress_bytes;
    CURL *easy;
    struct curl_slist *hdrs;
    hub_response resp;
    int status_checked; /* the answer's status was looked at in the write callback */
    int write_errno;
    sink *sk; /* large blobs only; NULL: written inline */
    char errbuf[CURL_ERROR_SIZE];
} xfer;

typedef struct engine {
    tc_hub_client *c;
    const tc_hub_download_options *o;
    const char *repo_dir, *lock_dir, *snap_dir, *repo_id, *revision;
    hub_job *jobs;
    size_t n_jobs;
    xfer *x;
    size_t n_x, files_done;
    uint64_t total, done_bytes, transferred;
    int64_t last_overall_ms;
    int locks_unreliable, noticed;
    size_t sinks; /* live writer threads (sink_new .. sink_stop), at most SINK_MAX */
    CURLM *multi;
} engine;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void notice(engine *e, const char *msg)
{
    if (e->o && e->o->notice)
        e->o->notice(msg, e->o->payload);
}

static void progress(engine *e, xfer *x, int force)
{
    tc_hub_progress p;
    int64_t t = now_ms();
    if (!e->o || !e->o->progress)
        return;
    if (!force && x && t - x->last_progress_ms < 100 &&
        x->have - x->last_progress_bytes < (1u << 20))
        return;
    if (x) {
        x->last_progress_ms = t;
        x->last_progress_bytes = x->have;
    }
    memset(&p, 0, sizeof(p));
    p.path = x ? x->job->path : NULL;
    p.file_done = x ? x->have : 0;
    p.file_total = x ? x->job->size : 0;
    p.done = e->done_bytes;
    p.total = e->total;
    p.files_done = e->files_done;
    p.files_total = e->n_jobs;
    p.transferred = e->transferred;
    e->o->progress(&p, e->o->payload);
}

/* File systems on which flock may silently succeed or fail: NFS, SMB/CIFS, Lustre, GPFS, Ceph,
 * FUSE. */
static int locks_unreliable(const char *dir)
{
    struct statfs st;
    const char *force = getenv("TC_HUB_LOCKS");
    if (force && strcmp(force, "off") == 0)
        return 1;
    if (statfs(dir, &st) != 0)
        return 0;
    switch ((unsigned long)st.f_type) {
    case 0x6969UL:     /* NFS */
    case 0x517BUL:     /* SMB */
    case 0xFF534D42UL: /* CIFS */
    case 0xFE534D42UL: /* SMB2 */
    case 0x0BD00BD0UL: /* Lustre */
    case 0x47504653UL: /* GPFS */
    case 0x00C36400UL: /* CephFS */
    case 0x65735546UL: /* FUSE */ return 1;
    default: return 0;
    }
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int set_direct(sink *k, int on)
{
    int fl;
    if (k->direct_on == on)
        return 0;
    fl = fcntl(k->fd, F_GETFL);
    if (fl < 0 || fcntl(k->fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) != 0)
        return -1;
    k->direct_on = on;
    return 0;
}

/* Write one slot: the aligned bulk with O_DIRECT where the file system takes it (no page-cache
 * copy, no write-back left for the final fsync), the rest through the page cache. */
static int sink_write(sink *k, const unsigned char *p, size_t n, uint64_t at)
{
    while (n > 0) {
        size_t m = n;
        ssize_t w;
        int dio =
            k->direct && at % SINK_ALIGN == 0 && (uintptr_t)p % SINK_ALIGN == 0 && n >= SINK_ALIGN;
        if (dio) {
            m = n - n % SINK_ALIGN;
            if (set_direct(k, 1) != 0) {
                k->direct = 0;
                continue;
            }
        } else if (set_direct(k, 0) != 0) {
            return errno ? errno : EIO;
        }
        w = write(k->fd, p, m);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (dio && errno == EINVAL) {
                k->direct = 0; /* not on this file system: the page cache for the rest */
                continue;
            }
            return errno ? errno : EIO;
        }
        p += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    return 0;
}

static void *sink_main(void *arg)
{
    sink *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        unsigned int slot;
        int err;
        while (k->hashed == 0 && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->hashed == 0)
            break; /* stop is only set once the ring is empty */
        slot = k->head;
        err = k->err;
        pthread_mutex_unlock(&k->mu);
        if (!err)
            err = sink_write(k, k->buf[slot], k->len[slot], k->at[slot]);
        pthread_mutex_lock(&k->mu);
        if (err && !k->err)
            k->err = err;
        k->head = (k->head + 1) % SINK_NBUF;
        k->count--;
        k->hashed--;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    set_direct(k, 0);
    return NULL;
}

/* The hasher: hashes queued slots in order, so hashing overlaps receiving and writing. The
 * slot it works on, (head + hashed) % SINK_NBUF, does not move when the writer retires one. */
static void *sink_hash_main(void *arg)
{
    sink *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        unsigned int slot;
        while (k->hashed == k->count && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->hashed == k->count)
            break;
        slot = (k->head + k->hashed) % SINK_NBUF;
        pthread_mutex_unlock(&k->mu);
        if (k->sha)
            hub__sha256_update(k->sha, k->buf[slot], k->len[slot]);
        pthread_mutex_lock(&k->mu);
        k->hashed++;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

static void sink_free(sink *k)
{
    unsigned int i;
    for (i = 0; i < SINK_NBUF; i++)
        free(k->buf[i]); /* posix_memalign */
    tc_free(k);
}

/* TC_HUB_THREAD_MIN_BYTES (tests, benchmarks): the smallest download given a writer thread. */
static uint64_t sink_min_size(void)
{
    const char *v = getenv("TC_HUB_THREAD_MIN_BYTES");
    return v && *v ? strtoull(v, NULL, 10) : SINK_MIN_SIZE;
}

/* Start the writer of a large transfer; NULL (write inline) when that fails. */
static sink *sink_new(int fd, hub_sha256 *sha, size_t *live)
{
    sink *k = tc_calloc(1, sizeof(*k));
    unsigned int i;
    if (!k)
        return NULL;
    for (i = 0; i < SINK_NBUF; i++)
        if (posix_memalign((void **)&k->buf[i], SINK_ALIGN, SINK_BUFSZ) != 0) {
            k->buf[i] = NULL;
            sink_free(k);
            return NULL;
        }
    k->fd = fd;
    k->sha = sha;
    k->live = live;
    k->direct = !getenv("TC_HUB_NO_DIRECT"); /* tests, benchmarks: the page cache only */
    if (pthread_mutex_init(&k->mu, NULL) != 0) {
        sink_free(k);
        return NULL;
    }
    if (pthread_cond_init(&k->cv, NULL) != 0) {
        pthread_mutex_destroy(&k->mu);
        sink_free(k);
        return NULL;
    }
    if (pthread_create(&k->th, NULL, sink_main, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        sink_free(k);
        return NULL;
    }
    if (pthread_create(&k->hasher, NULL, sink_hash_main, k) != 0) {
        pthread_mutex_lock(&k->mu);
        k->stop = 1;
        pthread_cond_broadcast(&k->cv);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->th, NULL);
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        sink_free(k);
        return NULL;
    }
    (*live)++;
    return k;
}

/* Hand the slot being filled to the writer (if it holds anything). */
static void sink_submit(sink *k)
{
    if (k->cur == 0)
        return;
    pthread_mutex_lock(&k->mu);
    k->len[k->slot] = k->cur;
    k->count++;
    k->cur = 0;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

/* Queue n bytes that belong at file offset at; 0, or the writer's first error. */
static int sink_put(sink *k, const char *p, size_t n, uint64_t at)
{
    while (n > 0) {
        size_t take;
        if (k->cur == 0) {
            int err;
            pthread_mutex_lock(&k->mu);
            while (k->count == SINK_NBUF)
                pthread_cond_wait(&k->cv, &k->mu);
            err = k->err;
            k->slot = (k->head + k->count) % SINK_NBUF;
            pthread_mutex_unlock(&k->mu);
            if (err)
                return err;
            k->at[k->slot] = at;
            k->cap = SINK_BUFSZ - (size_t)(at % SINK_ALIGN); /* the next slot starts aligned */
        }
        take = n < k->cap - k->cur ? n : k->cap - k->cur;
        memcpy(k->buf[k->slot] + k->cur, p, take);
        k->cur += take;
        p += take;
        n -= take;
        at += take;
        if (k->cur == k->cap)
            sink_submit(k);
    }
    return 0;
}

/* Write out everything queued; 0, or the first write error (which is then cleared). */
static int sink_flush(sink *k)
{
    int err;
    if (!k)
        return 0;
    sink_submit(k);
    pthread_mutex_lock(&k->mu);
    while (k->count > 0)
        pthread_cond_wait(&k->cv, &k->mu);
    err = k->err;
    k->err = 0;
    pthread_mutex_unlock(&k->mu);
    return err;
}

/* Flush, join and free the writer; the fd is left without O_DIRECT. */
static void sink_stop(xfer *x)
{
    sink *k = x->sk;
    if (!k)
        return;
    sink_flush(k);
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->th, NULL);
    pthread_join(k->hasher, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    (*k->live)--;
    sink_free(k);
    x->sk = NULL;
}

static void release(xfer *x, int keep_partial)
{
    sink_stop(x);
    if (x->fd >= 0) {
        if (keep_partial)
            fsync(x->fd);
        close(x->fd);
        x->fd = -1;
    }
    if (x->private_tmp && x->inc_path && !keep_partial)
        unlink(x->inc_path);
    if (x->private_tmp && x->inc_path && keep_partial)
        unlink(x->inc_path); /* a private file can never be resumed */
    if (x->lock_fd >= 0) {
        close(x->lock_fd); /* drops the flock */
        x->lock_fd = -1;
    }
}

static int link_paths(engine *e, const char *etag)
{
    size_t i;
    int rc;
    for (i = 0; i < e->n_jobs; i++) {
        char *target, *link;
        if (strcmp(e->jobs[i].etag, etag) != 0)
            continue;
        target = hub__symlink_target(e->jobs[i].path, etag);
        link = hub__strfmt("%s/%s", e->snap_dir, e->jobs[i].path);
        rc = target && link ? hub__make_symlink(target, link) : TC_ENOMEM;
        tc_free(target);
        tc_free(link);
        if (rc)
            return rc;
        e->files_done++;
        e->done_bytes += e->jobs[i].size;
    }
    return TC_OK;
}

static int blob_exists(const char *path, uint64_t size)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

/* Hash what a resumed .incomplete already holds. */
static int hash_prefix(xfer *x)
{
    char buf[1 << 16];
    ssize_t n;
    uint64_t left = x->have;
    if (lseek(x->fd, 0, SEEK_SET) < 0)
        return hub__io_error("seek", x->inc_path, errno);
    while (left > 0 && (n = read(x->fd, buf, left < sizeof(buf) ? left : sizeof(buf))) > 0) {
        hub__sha256_update(&x->sha, buf, (size_t)n);
        left -= (uint64_t)n;
    }
    if (left)
        return hub__io_error("read", x->inc_path, errno ? errno : EIO);
    return lseek(x->fd, 0, SEEK_END) < 0 ? hub__io_error("seek", x->inc_path, errno) : TC_OK;
}

static int truncate_inc(xfer *x)
{
    sink_flush(x->sk); /* the writer and hasher are idle before the file and hash are reset */
    if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) < 0)
        return hub__io_error("truncate", x->inc_path, errno);
    x->have = 0;
    hub__sha256_init(&x->sha);
    return TC_OK;
}

/* Take the lock (or decide there is none to take) and open the partial file. */
static int try_lock(engine *e, xfer *x)
{
    struct stat st;
    int rc;
    if (!x->private_tmp) {
        if (x->lock_fd < 0) {
            if ((rc = hub__mkdirs_for(x->lock_path)))
                return rc;
            x->lock_fd = open(x->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0664);
            if (x->lock_fd < 0)
                return hub__io_error("open lock", x->lock_path, errno);
        }
        if (flock(x->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK || errno == EINTR) {
                x->state = X_LOCKWAIT;
                x->wake_ms = now_ms() + 200;
                return TC_OK;
            }
            if (errno != ENOLCK && errno != EOPNOTSUPP && errno != ENOSYS)
                return hub__io_error("lock", x->lock_path, errno);
            close(x->lock_fd);
            x->lock_fd = -1;
            x->private_tmp = 1;
        }
    }
    if (x->private_tmp && !e->noticed) {
        e->noticed = 1;
        notice(e, "file locks are not reliable on this cache's file system; downloads go to "
                  "private temporary files and cannot resume after a restart");
    }
    if (blob_exists(x->blob_path, x->job->size)) {
        release(x, 0);
        x->state = X_DONE;
        return link_paths(e, x->job->etag);
    }
    if (x->private_tmp) {
        tc_free(x->inc_path);
        x->inc_path = hub__strfmt("%s.%08x.incomplete", x->blob_path,
                                  (unsigned)(now_ms() ^ (getpid() << 16) ^ (intptr_t)x));
        if (!x->inc_path)
            return TC_ENOMEM;
    }
    x->fd = open(x->inc_path, O_RDWR | O_CREAT | O_CLOEXEC | (x->private_tmp ? O_EXCL : 0), 0644);
    if (x->fd < 0)
        return hub__io_error("open", x->inc_path, errno);
    if (e->o && e->o->force_download && (rc = truncate_inc(x)))
        return rc;
    if (fstat(x->fd, &st) != 0)
        return hub__io_error("stat", x->inc_path, errno);
    hub__sha256_init(&x->sha);
    x->have = (uint64_t)st.st_size;
    if (x->have > x->job->size && (rc = truncate_inc(x)))
        return rc;
    if (x->have && x->job->is_lfs && (rc = hash_prefix(x)))
        return rc;
    if (lseek(x->fd, 0, SEEK_END) < 0)
        return hub__io_error("seek", x->inc_path, errno);
    if (!x->sk && e->sinks < SINK_MAX && x->job->size - x->have >= sink_min_size())
        x->sk = sink_new(x->fd, x->job->is_lfs ? &x->sha : NULL, &e->sinks);
    x->state = X_PENDING;
    return TC_OK;
}

/* Verify, fsync, rename into blobs/, link. */
static int finish(engine *e, xfer *x)
{
    char hex[65];
    int rc;
    if (x->have != x->job->size) {
        rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                            "file '%s' of repo '%s' should be %llu bytes but %llu arrived; run "
                            "the download again",
                            x->job->path, e->repo_id, (unsigned long long)x->job->size,
                            (unsigned long long)x->have);
        truncate_inc(x);
        return rc;
    }
    if (x->job->is_lfs) {
        hub__sha256_final(&x->sha, hex);
        if (strcmp(hex, x->job->etag) != 0) {
            rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                "file '%s' of repo '%s' has sha256 %s, expected %s; the partial "
                                "file was dropped, run the download again",
                                x->job->path, e->repo_id, hex, x->job->etag);
            truncate_inc(x);
            return rc;
        }
    }
    if (fsync(x->fd) != 0)
        return hub__io_error("fsync", x->inc_path, errno);
    if (rename(x->inc_path, x->blob_path) != 0)
        return hub__io_error("rename into place", x->blob_path, errno);
    {
        int dfd = open(e->repo_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    sink_stop(x);
    close(x->fd);
    x->fd = -1;
    x->private_tmp = 0; /* nothing left to unlink */
    release(x, 0);
    x->state = X_DONE;
    rc = link_paths(e, x->job->etag);
    progress(e, x, 1);
    return rc;
}

static int ok_status(long s)
{
    return s == 200 || s == 206;
}

/* Parse "bytes A-B/T" and return A, or -1. */
static long long range_start(const char *cr)
{
    char *end;
    long long a;
    if (!cr || strncmp(cr, "bytes ", 6) != 0)
        return -1;
    a = strtoll(cr + 6, &end, 10);
    return end != cr + 6 && *end == '-' ? a : -1;
}

static size_t on_data(char *buf, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    engine *e = NULL;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_PRIVATE, (char **)&e);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (!ok_status(status))
        return len; /* a redirect or error body: dropped */
    if (!x->status_checked) {
        x->status_checked = 1;
        if (x->have > 0 &&
            (status == 200 || range_start(x->resp.h_content_range) != (long long)x->have)) {
            /* the server ignored or misread our Range: restart from zero */
            if (truncate_inc(x) != 0) {
                x->write_errno = errno ? errno : EIO;
                return 0;
            }
        }
    }
    if (x->have + len > x->job->size) {
        x->write_errno = EFBIG;
        return 0;
    }
    {
        int err = x->sk ? sink_put(x->sk, buf, len, x->have)
                        : write_all(x->fd, (const unsigned char *)buf, len);
        if (err) {
            x->write_errno = err;
            return 0;
        }
    }
    if (x->job->is_lfs && !x->sk)
        hub__sha256_update(&x->sha, buf, len); /* else the sink's hasher does */
    x->have += len;
    e->transferred += len;
    x->data_this_attempt = 1;
    progress(e, x, 0);
    if (e->o && e->o->cancel && e->o->cancel(e->o->payload)) {
        x->write_errno = ECANCELED; /* stop now; what was written stays for a resume */
        return 0;
    }
    return len;
}

static size_t on_hdr(char *buf, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    return hub__header_line(&x->resp, buf, size * n) == 0 ? size * n : 0;
}

static void drop_easy(engine *e, xfer *x)
{
    if (x->easy) {
        curl_multi_remove_handle(e->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    hub__response_dispose(&x->resp);
}

static int start(engine *e, xfer *x)
{
    char range[64];
    struct curl_slist *t;
    x->easy = hub__easy_new(e->c, x->url, &x->hdrs);
    if (!x->easy)
        return TC_ENOMEM;
    if (x->have > 0) {
        snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)x->have);
        t = curl_slist_append(x->hdrs, range);
        if (!t)
            return TC_ENOMEM;
        x->hdrs = t;
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
    }
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)e);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_hdr);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    if (x->sk)
        curl_easy_setopt(x->easy, CURLOPT_BUFFERSIZE, RECV_BUFSZ);
    x->errbuf[0] = '\0';
    x->status_checked = 0;
    x->write_errno = 0;
    x->data_this_attempt = 0;
    if (curl_multi_add_handle(e->multi, x->easy) != CURLM_OK)
        return tc_error_set(TC_ERROR, "cannot add a transfer to the curl multi handle");
    x->state = X_ACTIVE;
    return TC_OK;
}

static int schedule_retry(engine *e, xfer *x, long wait_ms)
{
    long b = (long)e->c->retry_base_ms;
    unsigned int i;
    if (x->data_this_attempt)
        x->attempt = 0; /* progress was made: the counter starts over */
    if (x->attempt >= e->c->max_retries)
        return -1;
    for (i = 0; i < x->attempt && b < (long)e->c->retry_max_ms; i++)
        b *= 2;
    if (b > (long)e->c->retry_max_ms)
        b = (long)e->c->retry_max_ms;
    x->attempt++;
    x->wake_ms = now_ms() + (wait_ms >= 0 ? wait_ms : b);
    x->state = X_RETRY;
    x->hops = 0;
    tc_free(x->url);
    x->url = tc_strdup(x->job->url); /* signed CDN URLs may expire: ask the Hub again */
    return x->url ? 0 : TC_ENOMEM;
}

static int retryable_status(long s)
{
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

/* One transfer ended: redirect, finish, retry or fail. */
static int on_done(engine *e, xfer *x, CURLcode cc)
{
    long status = 0;
    int rc, err = sink_flush(x->sk);
    if (err && !x->write_errno)
        x->write_errno = err;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (x->write_errno == ECANCELED) {
        drop_easy(e, x);
        return hub__set_error(TC_HUB_ERR_CANCELLED, TC_ECANCELLED,
                              "download of repo '%s' cancelled; partial files are kept for a "
                              "later resume",
                              e->repo_id);
    }
    if (x->write_errno) {
        rc = x->write_errno == EFBIG
                 ? hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                  "file '%s' of repo '%s' is larger than the expected %llu bytes",
                                  x->job->path, e->repo_id, (unsigned long long)x->job->size)
                 : hub__io_error("write", x->inc_path, x->write_errno);
        if (x->write_errno == EFBIG)
            truncate_inc(x);
        drop_easy(e, x);
        return rc;
    }
    if (cc != CURLE_OK) {
        char *url = tc_strdup(x->url);
        drop_easy(e, x);
        if ((rc = schedule_retry(e, x, -1)) == 0) {
            tc_free(url);
            return TC_OK;
        }
        rc = rc > 0 ? rc : hub__curl_error((int)cc, url ? url : "", x->errbuf);
        tc_free(url);
        return rc;
    }
    if (status >= 300 && status < 400 && x->resp.h_location) {
        char *next = hub__url_join(x->url, x->resp.h_location);
        drop_easy(e, x);
        if (!next)
            return TC_ENOMEM;
        if (++x->hops > HUB_MAX_REDIRECTS) {
            tc_free(next);
            return hub__set_error(TC_HUB_ERR_HTTP, TC_ERROR, "too many redirects for '%s'",
                                  x->job->path);
        }
        tc_free(x->url);
        x->url = next;
        return start(e, x);
    }
    if (ok_status(status) || (status == 416 && x->have == x->job->size)) {
        drop_easy(e, x);
        if (x->have < x->job->size) {
            /* the connection ended early without an error: resume */
            if ((rc = schedule_retry(e, x, -1)) == 0)
                return TC_OK;
        }
        return finish(e, x);
    }
    if (status == 416) {
        drop_easy(e, x);
        if ((rc = truncate_inc(x)))
            return rc;
        return schedule_retry(e, x, 0) == 0 ? TC_OK : finish(e, x);
    }
    if (retryable_status(status)) {
        long w =
            hub__retry_wait_ms(x->resp.h_retry_after, status == 429 ? x->resp.h_ratelimit : NULL);
        hub_response keep = x->resp;
        memset(&x->resp, 0, sizeof(x->resp));
        drop_easy(e, x);
        if (schedule_retry(e, x, w) == 0) {
            hub__response_dispose(&keep);
            return TC_OK;
        }
        keep.status = status;
        rc = hub__error_from_response(e->c, &keep, e->repo_id, e->revision, x->job->path);
        hub__response_dispose(&keep);
        return rc;
    }
    x->resp.status = status;
    if (!x->resp.final_url)
        x->resp.final_url = tc_strdup(x->url);
    rc = hub__error_from_response(e->c, &x->resp, e->repo_id, e->revision, x->job->path);
    drop_easy(e, x);
    return rc;
}

static int setup(engine *e)
{
    size_t i, k;
    e->x = tc_calloc(e->n_jobs ? e->n_jobs : 1, sizeof(xfer));
    if (!e->x)
        return TC_ENOMEM;
    {
        char *blobs = hub__strfmt("%s/blobs", e->repo_dir);
        int ok = blobs && tc_mkdir_p(blobs) == 0;
        int rc = ok ? TC_OK : blobs ? hub__io_error("create directory", blobs, errno) : TC_ENOMEM;
        tc_free(blobs);
        if (rc)
            return rc;
    }
    e->locks_unreliable = locks_unreliable(e->repo_dir);
    for (i = 0; i < e->n_jobs; i++) {
        xfer *x;
        for (k = 0; k < i; k++)
            if (strcmp(e->jobs[k].etag, e->jobs[i].etag) == 0)
                break;
        e->total += e->jobs[i].size;
        if (k < i)
            continue; /* same blob as an earlier path: one transfer, linked twice */
        x = &e->x[e->n_x++];
        x->job = &e->jobs[i];
        x->fd = x->lock_fd = -1;
        x->private_tmp = e->locks_unreliable;
        x->state = X_LOCKWAIT;
        x->blob_path = hub__strfmt("%s/blobs/%s", e->repo_dir, x->job->etag);
        x->inc_path = hub__strfmt("%s/blobs/%s.incomplete", e->repo_dir, x->job->etag);
        x->lock_path = hub__strfmt("%s/%s.lock", e->lock_dir, x->job->etag);
        x->url = tc_strdup(x->job->url);
        if (!x->blob_path || !x->inc_path || !x->lock_path || !x->url)
            return TC_ENOMEM;
        if (e->o && e->o->force_download)
            unlink(x->blob_path);
    }
    return TC_OK;
}

static int cancelled(engine *e)
{
    return e->o && e->o->cancel && e->o->cancel(e->o->payload);
}

/* One pass over the transfers: start what may start, wake retries. */
static int advance(engine *e, size_t max_active, size_t *left)
{
    size_t i, active = 0;
    int64_t t = now_ms();
    int rc;
    *left = 0;
    for (i = 0; i < e->n_x; i++)
        active += e->x[i].state == X_ACTIVE || e->x[i].fd >= 0;
    for (i = 0; i < e->n_x; i++) {
        xfer *x = &e->x[i];
        if (x->state == X_DONE)
            continue;
        (*left)++;
        if (x->state == X_LOCKWAIT && x->wake_ms <= t && (x->fd >= 0 || active < max_active)) {
            if ((rc = try_lock(e, x)))
                return rc;
            if (x->state == X_PENDING)
                active++;
        }
        if (x->state == X_PENDING || (x->state == X_RETRY && x->wake_ms <= t)) {
            if (x->have == x->job->size && x->have > 0 && x->state == X_PENDING) {
                if ((rc = finish(e, x)))
                    return rc;
                continue;
            }
            if ((rc = start(e, x)))
                return rc;
        }
    }
    return TC_OK;
}

static void teardown(engine *e, int keep_partial)
{
    size_t i;
    for (i = 0; i < e->n_x; i++) {
        xfer *x = &e->x[i];
        drop_easy(e, x);
        release(x, keep_partial);
        tc_free(x->blob_path);
        tc_free(x->inc_path);
        tc_free(x->lock_path);
        tc_free(x->url);
    }
    tc_free(e->x);
}

int hub__fetch_blobs(tc_hub_client *c, const char *repo_dir, const char *lock_dir,
                     const char *snap_dir, hub_job *jobs, size_t n,
                     const tc_hub_download_options *o, const char *repo_id, const char *revision)
{
    engine e;
    size_t left = 1, max_active;
    int rc;
    memset(&e, 0, sizeof(e));
    e.c = c, e.o = o, e.repo_dir = repo_dir, e.lock_dir = lock_dir, e.snap_dir = snap_dir;
    e.jobs = jobs, e.n_jobs = n, e.repo_id = repo_id, e.revision = revision;
    max_active = o && o->max_parallel ? o->max_parallel : c->max_parallel;
    if (max_active > HUB_MAX_PARALLEL)
        max_active = HUB_MAX_PARALLEL;
    e.multi = curl_multi_init();
    if (!e.multi)
        return tc_error_set(TC_ENOMEM, "cannot create a curl multi handle");
    if ((rc = setup(&e)))
        goto out;
    progress(&e, NULL, 1);
    while (left > 0) {
        int running = 0, msgs;
        CURLMsg *m;
        if (cancelled(&e)) {
            rc = hub__set_error(TC_HUB_ERR_CANCELLED, TC_ECANCELLED,
                                "download of repo '%s' cancelled; partial files are kept for a "
                                "later resume",
                                repo_id);
            goto out;
        }
        if ((rc = advance(&e, max_active, &left)))
            goto out;
        if (left == 0)
            break;
        curl_multi_perform(e.multi, &running);
        while ((m = curl_multi_info_read(e.multi, &msgs))) {
            xfer *x = NULL;
            size_t i;
            if (m->msg != CURLMSG_DONE)
                continue;
            for (i = 0; i < e.n_x; i++)
                if (e.x[i].easy == m->easy_handle)
                    x = &e.x[i];
            if (x && (rc = on_done(&e, x, m->data.result)))
                goto out;
        }
        curl_multi_poll(e.multi, NULL, 0, 100, NULL);
    }
    progress(&e, NULL, 1);
    rc = TC_OK;
out:
    teardown(&e, 1);
    curl_multi_cleanup(e.multi);
    return rc;
}
