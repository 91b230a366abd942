/*
 * lines.c - a bounded line reader (lines.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lines.h"

#define READ_CHUNK ((size_t)1 << 20)

int tcd_lines_init(tcd_lines *r, FILE *f)
{
    memset(r, 0, sizeof(*r));
    r->f = f;
    return (r->buf = malloc(READ_CHUNK)) ? 0 : -1;
}

void tcd_lines_dispose(tcd_lines *r)
{
    free(r->buf);
    free(r->line);
    memset(r, 0, sizeof(*r));
}

static int line_append(tcd_lines *r, const char *s, size_t n)
{
    if (r->line_len + n + 1 > r->line_cap) {
        size_t cap = r->line_cap ? r->line_cap : 4096;
        char *nl;
        while (cap < r->line_len + n + 1)
            cap *= 2;
        if (!(nl = realloc(r->line, cap)))
            return -1;
        r->line = nl;
        r->line_cap = cap;
    }
    memcpy(r->line + r->line_len, s, n);
    r->line_len += n;
    r->line[r->line_len] = '\0';
    return 0;
}

/* 1: a line, 0: end of input, -1: out of memory, -2: longer than max. */
int tcd_lines_read(tcd_lines *r, size_t max)
{
    r->line_len = 0;
    if (line_append(r, "", 0) < 0)
        return -1;
    for (;;) {
        const char *nl;
        size_t n;
        if (r->pos == r->len) {
            if (r->eof)
                return r->line_len > 0 ? 1 : 0;
            r->pos = 0;
            r->len = fread(r->buf, 1, READ_CHUNK, r->f);
            if (r->len == 0) {
                r->eof = 1;
                continue;
            }
        }
        nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        n = nl ? (size_t)(nl - (r->buf + r->pos)) : r->len - r->pos;
        if (r->line_len + n > max)
            return -2;
        if (line_append(r, r->buf + r->pos, n) < 0)
            return -1;
        r->pos += n + (nl ? 1 : 0);
        if (nl)
            return 1;
    }
}
