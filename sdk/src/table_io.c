/*
 * table_io.c - byte sources, the string arena and UTF-8 checking for the dataset readers.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table_internal.h"

/* ---- sources ----------------------------------------------------------------------------- */

int tc__source_open_file(tc__source *s, const char *path)
{
    struct stat st;
    int fd;

    memset(s, 0, sizeof(*s));
    s->fd = -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return tc_error_set(err == ENOENT ? TC_ENOTFOUND : TC_EIO, "cannot open '%s': %s", path,
                            strerror(err));
    }
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return tc_error_set(TC_EIO, "cannot stat '%s': %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tc_error_set(TC_EIO, "'%s' is not a regular file", path);
    }
    s->name = tc_strdup(path);
    if (!s->name) {
        close(fd);
        return TC_ENOMEM;
    }
    s->fd = fd;
    s->size = (uint64_t)st.st_size;
    return TC_OK;
}

int tc__source_open_memory(tc__source *s, const void *data, size_t len, const char *name)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->name = tc_strdup(name);
    if (!s->name)
        return TC_ENOMEM;
    s->mem = data;
    s->size = len;
    return TC_OK;
}

void tc__source_close(tc__source *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    tc_free(s->name);
    s->name = NULL;
    s->mem = NULL;
}

int tc__source_pread(tc__source *s, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;

    if (off > s->size || len > s->size - off)
        return tc_error_set(TC_EFORMAT,
                            "file '%s': %zu bytes at offset %llu are past its end (%llu bytes)",
                            s->name, len, (unsigned long long)off, (unsigned long long)s->size);
    if (s->fd < 0) {
        if (len)
            memcpy(buf, s->mem + off, len);
        return TC_OK;
    }
    while (len > 0) {
        ssize_t got = pread(s->fd, p, len, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return tc_error_set(TC_EIO, "cannot read '%s': %s", s->name, strerror(errno));
        if (got == 0)
            return tc_error_set(TC_EFORMAT, "file '%s': shrank while being read", s->name);
        p += got;
        len -= (size_t)got;
        off += (uint64_t)got;
    }
    return TC_OK;
}

int tc__source_read(tc__source *s, void *buf, size_t cap, size_t *got)
{
    uint64_t left = s->pos < s->size ? s->size - s->pos : 0;
    size_t n = left < cap ? (size_t)left : cap;
    int rc;

    *got = 0;
    if (n == 0)
        return TC_OK;
    rc = tc__source_pread(s, buf, n, s->pos);
    if (rc < 0)
        return rc;
    s->pos += n;
    *got = n;
    return TC_OK;
}

/* ---- arena ------------------------------------------------------------------------------- */

#define ARENA_BLOCK_MIN ((size_t)64 << 10)

struct tc__arena_block {
    tc__arena_block *next;
    size_t cap, used;
    char data[];
};

char *tc__arena_push(tc__arena *a, const void *data, size_t len)
{
    tc__arena_block *b = a->head;
    char *p;

    if (len >= SIZE_MAX / 2) {
        tc_error_set(TC_ERANGE, "string of %zu bytes is too large", len);
        return NULL;
    }
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > ARENA_BLOCK_MIN ? len + 1 : ARENA_BLOCK_MIN;
        b = tc_malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        a->bytes += cap;
        if (a->bytes > a->peak)
            a->peak = a->bytes;
    }
    p = b->data + b->used;
    if (len)
        memcpy(p, data, len);
    p[len] = '\0';
    b->used += len + 1;
    return p;
}

void tc__arena_reset(tc__arena *a)
{
    tc__arena_block *b = a->head, *keep = NULL;

    /* Keep the one standard-size block, if any, and drop the rest (large strings included). */
    while (b) {
        tc__arena_block *next = b->next;
        if (!keep && b->cap == ARENA_BLOCK_MIN) {
            keep = b;
            keep->next = NULL;
            keep->used = 0;
        } else {
            tc_free(b);
        }
        b = next;
    }
    a->head = keep;
    a->bytes = keep ? keep->cap : 0;
}

void tc__arena_dispose(tc__arena *a)
{
    tc__arena_block *b = a->head;

    while (b) {
        tc__arena_block *next = b->next;
        tc_free(b);
        b = next;
    }
    a->head = NULL;
    a->bytes = 0;
}

/* ---- UTF-8 ------------------------------------------------------------------------------- */

int tc__utf8_valid(const char *str, size_t len, size_t *bad_at)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* no overlongs */
            else if (c == 0xED)
                hi = 0x9F; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F; /* nothing past U+10FFFF */
        } else {
            *bad_at = i;
            return 0;
        }
        if (len - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi) {
            *bad_at = i;
            return 0;
        }
        for (size_t k = 2; k <= need; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) {
                *bad_at = i;
                return 0;
            }
        }
        i += need + 1;
    }
    return 1;
}

/* ---- column name index ------------------------------------------------------------------- */

static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int tc__names_init(tc__names *ix, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n)
        cap *= 2;
    ix->slot = tc_calloc(cap, sizeof(*ix->slot));
    if (!ix->slot)
        return TC_ENOMEM;
    ix->cap = cap;
    return TC_OK;
}

void tc__names_dispose(tc__names *ix)
{
    tc_free(ix->slot);
    ix->slot = NULL;
    ix->cap = 0;
}

size_t tc__names_find(const tc__names *ix, const tc_table_column *cols, const char *name,
                      size_t len)
{
    size_t i = (size_t)name_hash(name, len) & (ix->cap - 1);

    while (ix->slot[i]) {
        const char *n = cols[ix->slot[i] - 1].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return ix->slot[i] - 1;
        i = (i + 1) & (ix->cap - 1);
    }
    return SIZE_MAX;
}

void tc__names_add(tc__names *ix, const tc_table_column *cols, size_t k)
{
    const char *n = cols[k].name;
    size_t i = (size_t)name_hash(n, strlen(n)) & (ix->cap - 1);

    while (ix->slot[i])
        i = (i + 1) & (ix->cap - 1);
    ix->slot[i] = (uint32_t)(k + 1);
}
