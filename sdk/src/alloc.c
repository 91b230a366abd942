#include <stdlib.h>
#include <string.h>

#include "internal.h"

void *tc_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        tc_error_set(TC_ENOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *tc_calloc(size_t n, size_t size)
{
    size_t total;
    void *p;

    if (tc__mul_size(n, size, &total) < 0)
        return NULL;
    p = calloc(total ? total : 1, 1);
    if (!p)
        tc_error_set(TC_ENOMEM, "out of memory allocating %zu bytes", total);
    return p;
}

void *tc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        tc_error_set(TC_ENOMEM, "out of memory allocating %zu bytes", n);
    return q;
}

void tc_free(void *p)
{
    free(p);
}

char *tc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tc_malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

const char *tc_version(void)
{
    return TC_VERSION_STRING;
}

int tc__mul_size(size_t a, size_t b, size_t *out)
{
    if (b && a > SIZE_MAX / b) {
        *out = 0;
        return tc_error_set(TC_ERANGE, "size overflow (%zu x %zu)", a, b);
    }
    *out = a * b;
    return TC_OK;
}
