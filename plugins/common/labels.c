/*
 * labels.c - label names for the bundled plugins (see labels.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

void labels_free(char **names, int32_t n)
{
    int32_t i;

    if (!names)
        return;
    for (i = 0; i < n; i++)
        tc_free(names[i]);
    tc_free(names);
}

int labels_copy(char ***out, int32_t n, const char *const *src)
{
    char num[16], **names;
    int32_t i;

    if (!(names = tc_calloc((size_t)(n > 0 ? n : 1), sizeof(char *))))
        return TC_ENOMEM;
    for (i = 0; i < n; i++) {
        snprintf(num, sizeof(num), "%d", (int)i);
        if (!(names[i] = tc_strdup(src && src[i] ? src[i] : num))) {
            labels_free(names, i);
            return TC_ENOMEM;
        }
    }
    *out = names;
    return TC_OK;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first name listed twice, found by sorting a copy of the pointers; NULL when none. */
static const char *repeated(char **names, int32_t n)
{
    char **sorted = tc_calloc((size_t)n, sizeof(char *));
    const char *dup = NULL;
    int32_t i;

    if (!sorted)
        return NULL; /* out of memory: the check is skipped, nothing else depends on it */
    memcpy(sorted, names, (size_t)n * sizeof(char *));
    qsort(sorted, (size_t)n, sizeof(char *), cmp_names);
    for (i = 1; i < n && !dup; i++)
        if (!strcmp(sorted[i], sorted[i - 1]))
            dup = sorted[i];
    tc_free(sorted);
    return dup;
}

int labels_parse(char ***out, int32_t *out_n, const char *text, const char *option)
{
    char **names = NULL;
    int32_t n = 1, k = 0;
    const char *p, *dup;
    int err = TC_OK;

    for (p = text; *p; p++)
        n += *p == ',';
    if (n > TC_DATA_MAX_LABELS)
        return tc_error_set(TC_ERANGE, "option '%s' lists more than %d names", option,
                            TC_DATA_MAX_LABELS);
    if (!(names = tc_calloc((size_t)n, sizeof(*names))))
        return TC_ENOMEM;
    for (p = text; k < n; k++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || len > LABELS_MAX_NAME) {
            err = tc_error_set(TC_EINVAL, "option '%s': name %d is %s (names are 1..%d bytes)",
                               option, (int)k, len ? "too long" : "empty", LABELS_MAX_NAME);
            goto out;
        }
        if (!(names[k] = tc_malloc(len + 1))) {
            err = TC_ENOMEM;
            goto out;
        }
        memcpy(names[k], p, len);
        names[k][len] = '\0';
        p = end ? end + 1 : p + len;
    }
    if ((dup = repeated(names, n))) {
        err = tc_error_set(TC_EINVAL, "option '%s' names '%s' twice", option, dup);
        goto out;
    }
    *out = names;
    *out_n = n;
    names = NULL;
out:
    labels_free(names, n);
    return err;
}
