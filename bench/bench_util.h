/*
 * bench_util.h - what the bench_*.c drivers share: a monotonic clock and
 * sorting the seconds of several passes (best = [0], median = [n / 2]),
 * and reading a whole input file.
 * Define _POSIX_C_SOURCE 200809L before any include, for clock_gettime.
 */
#ifndef TC_BENCH_UTIL_H
#define TC_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Sort n pass times ascending. */
static inline void bench_sort_seconds(double *secs, size_t n)
{
    qsort(secs, n, sizeof(*secs), bench_cmp_double);
}

/* The rest of f into a malloc'd buffer (*len bytes), or NULL when memory runs out. */
static inline char *bench_read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 20, got;
    char *buf = malloc(cap);

    *len = 0;
    while (buf && (got = fread(buf + *len, 1, cap - *len, f)) > 0) {
        *len += got;
        if (*len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    return buf;
}

#endif /* TC_BENCH_UTIL_H */
