/*
 * lines.h - a bounded line reader over a FILE (JSON lines on stdin for
 * tokenize, forward and predict): lines without their '\n'.
 */
#ifndef TCD_LINES_H
#define TCD_LINES_H

#include <stdio.h>

typedef struct tcd_lines {
    FILE *f;
    char *buf; /* read buffer */
    size_t pos, len;
    char *line; /* current line, NUL-terminated */
    size_t line_len, line_cap;
    int eof;
} tcd_lines;

/* Start reading f. @return 0, or -1 out of memory */
int tcd_lines_init(tcd_lines *r, FILE *f);

/* The next line into r->line (NUL-terminated, r->line_len bytes): 1 a line, 0 the end of the
 * input, -1 out of memory, -2 longer than max bytes. */
int tcd_lines_read(tcd_lines *r, size_t max);

void tcd_lines_dispose(tcd_lines *r);

#endif /* TCD_LINES_H */
