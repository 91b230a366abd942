/*
 * bench_table.c - read throughput of libtc's dataset reader (<tc/table.h>),
 * the C side of bench/parquet_vs_hyparquet.sh.
 *
 * Loads FILE into memory (as the JavaScript peer does), then REPS times opens
 * it with tc_table_open_memory and reads every row and every cell of every
 * readable column with tc_table_next, folding each cell into a checksum.
 * Each pass (open, read, checksum, free) is timed. Prints one line:
 *
 *   tc rows=N bytes=FILE_BYTES best_s=S median_s=M checksum=C
 *
 * C is the checksum of bench/js/parquet_bench.mjs: the sum of the integer
 * cells mod 2^64, the bits of the sum of the float cells in row order (hex),
 * the sum over string cells of 31 * (UTF-16 length) + the first UTF-16 code
 * unit, and the number of nulls, separated by ':'.
 *
 * Usage: bench_table FILE [REPS (default 3)]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tc/error.h>
#include <tc/table.h>

#include "bench_util.h"

typedef struct checksum {
    uint64_t isum;
    double fsum;
    uint64_t ssum;
    uint64_t nulls;
} checksum;

/* 31 * UTF-16 length + first UTF-16 unit of valid UTF-8 s, as JavaScript sees the string. */
static uint64_t string_sum(const unsigned char *s, size_t len)
{
    uint64_t units = 0, first = 0;
    for (size_t i = 0; i < len; i++)
        units += ((s[i] & 0xC0) != 0x80) + (s[i] >= 0xF0);
    if (len) {
        uint32_t cp = s[0];
        if (cp >= 0xF0 && len >= 4)
            cp = ((cp & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
                 (s[3] & 0x3Fu);
        else if (cp >= 0xE0 && len >= 3)
            cp = ((cp & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        else if (cp >= 0xC0 && len >= 2)
            cp = ((cp & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        first = cp >= 0x10000 ? 0xD800u + ((cp - 0x10000u) >> 10) : cp;
    }
    return 31 * units + first;
}

static int read_all(const void *data, size_t len, const char *name, checksum *ck, int64_t *rows)
{
    tc_table *t = NULL;
    const tc_value *row;
    int rc;

    if (tc_table_open_memory(&t, data, len, name, NULL) < 0)
        return -1;
    size_t ncol = tc_table_selected_count(t);
    *rows = 0;
    while ((rc = tc_table_next(t, &row)) > 0) {
        for (size_t c = 0; c < ncol; c++) {
            const tc_value *v = &row[c];
            switch (v->type) {
            case TC_VALUE_NULL: ck->nulls++; break;
            case TC_VALUE_BOOL:
            case TC_VALUE_INT: ck->isum += (uint64_t)v->i; break;
            case TC_VALUE_FLOAT: ck->fsum += v->f; break;
            case TC_VALUE_STRING:
            case TC_VALUE_BYTES:
                ck->ssum += string_sum((const unsigned char *)v->str, v->len);
                break;
            default: break;
            }
        }
        (*rows)++;
    }
    tc_table_free(t);
    return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    long reps = argc == 3 ? strtol(argv[2], NULL, 10) : 3;
    if (argc < 2 || argc > 3 || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: bench_table FILE [REPS]\n");
        return 2;
    }
    const char *path = argv[1];

    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t len = 0;
    char *buf = bench_read_all(f, &len);
    fclose(f);
    double *secs = calloc((size_t)reps, sizeof *secs);
    if (!buf || !secs) {
        fprintf(stderr, "bench_table: out of memory\n");
        free(buf);
        free(secs);
        return 1;
    }

    checksum ck = {0};
    int64_t rows = 0;
    int status = 0;
    for (int r = 0; r < reps; r++) {
        checksum pass = {0};
        double t0 = bench_now_s();
        if (read_all(buf, len, path, &pass, &rows) < 0) {
            fprintf(stderr, "bench_table: %s\n", tc_error_message());
            status = 1;
            break;
        }
        secs[r] = bench_now_s() - t0;
        ck = pass;
    }
    if (status == 0) {
        uint64_t fbits;
        memcpy(&fbits, &ck.fsum, sizeof fbits);
        bench_sort_seconds(secs, (size_t)reps);
        printf("tc rows=%" PRId64 " bytes=%zu best_s=%.6f median_s=%.6f checksum=%" PRIu64
               ":%016" PRIx64 ":%" PRIu64 ":%" PRIu64 "\n",
               rows, len, secs[0], secs[reps / 2], ck.isum, fbits, ck.ssum, ck.nulls);
    }
    free(secs);
    free(buf);
    return status;
}
