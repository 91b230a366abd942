#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void fsync_parent(const char *path)
{
    char *copy = tc_strdup(path);
    int fd;

    if (!copy)
        return;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    tc_free(copy);
}

int tc__write_chunks_atomic(const char *path, const void *const *chunks, const size_t *lens,
                            size_t n)
{
    char tmp[4096];
    int fd = -1, err = TC_OK;
    size_t i;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return tc_error_set(errno == ENOENT ? TC_ENOTFOUND : TC_EIO, "cannot create '%s': %s", tmp,
                            strerror(errno));
    for (i = 0; i < n; i++) {
        if (write_all(fd, chunks[i], lens[i]) < 0) {
            err = tc_error_set(TC_EIO, "cannot write '%s': %s", tmp, strerror(errno));
            goto out;
        }
    }
    if (fsync(fd) < 0) {
        err = tc_error_set(TC_EIO, "cannot sync '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        err = tc_error_set(TC_EIO, "cannot close '%s': %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        err = tc_error_set(TC_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto out;
    }
    fsync_parent(path);
out:
    if (fd >= 0)
        close(fd);
    if (err < 0)
        unlink(tmp);
    return err;
}

int tc__write_file_atomic(const char *path, const void *data, size_t len)
{
    return tc__write_chunks_atomic(path, &data, &len, 1);
}

int tc__read_file(const char *path, size_t max_bytes, char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rbe");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int err = TC_OK;

    if (!f)
        return tc_error_set(errno == ENOENT ? TC_ENOTFOUND : TC_EIO, "cannot open '%s': %s", path,
                            strerror(errno));
    for (;;) {
        size_t got;
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb;
            if (ncap > max_bytes + 4096 + 1)
                ncap = max_bytes + 4096 + 1;
            nb = tc_realloc(buf, ncap);
            if (!nb) {
                err = TC_ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len > max_bytes) {
            err = tc_error_set(TC_ERANGE, "file '%s' is larger than the limit of %zu bytes", path,
                               max_bytes);
            goto out;
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        err = tc_error_set(TC_EIO, "cannot read '%s'", path);
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
out:
    tc_free(buf);
    fclose(f);
    return err;
}

int tc__mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path), i;

    if (n == 0 || n >= sizeof(buf))
        return tc_error_set(TC_EINVAL, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return tc_error_set(TC_EIO, "cannot create directory '%s': %s", buf,
                                    strerror(errno));
            buf[i] = c;
        }
    }
    return TC_OK;
}

int tc_write_file_atomic(const char *path, const void *data, size_t len)
{
    TC_ASSERT_ARG(path && (data || !len));
    return tc__write_file_atomic(path, data, len);
}

int tc_mkdir_p(const char *path)
{
    TC_ASSERT_ARG(path);
    return tc__mkdir_p(path);
}
