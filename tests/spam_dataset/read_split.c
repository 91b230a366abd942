/*
 * read_split - read one split of scripts/make-spam-dataset back with libtc (<tc/table.h>).
 *
 *   read_split FILE.parquet [HASHES_OUT]
 *
 * Prints "rows N", "label0 N", "label1 N" and "texts HEX" (FNV-1a 64 of every text in file
 * order, each followed by a NUL) on stdout; with HASHES_OUT also writes one line per row,
 * "HEX LABEL" (FNV-1a 64 of that text), for the overlap check of test_spam_dataset.sh. Exits
 * 1 with a message on stderr when the file does not read, a column is missing or has the
 * wrong type, a label is not 0 or 1, or the footer's row count disagrees with the rows read.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tc/error.h>
#include <tc/table.h>

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static int fail(const char *path, const char *what)
{
    fprintf(stderr, "read_split: %s: %s\n", path, what);
    return 1;
}

int main(int argc, char **argv)
{
    const char *cols[] = {"text", "label"};
    const tc_value *row;
    tc_table *t = NULL;
    FILE *hashes = NULL;
    int64_t footer_rows = -1, rows = 0, counts[2] = {0, 0};
    uint64_t all = FNV_OFFSET;
    int rc, status = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: read_split FILE.parquet [HASHES_OUT]\n");
        return 2;
    }
    if (tc_table_open(&t, argv[1], NULL) < 0 || tc_table_select(t, cols, 2) < 0 ||
        tc_table_row_count(t, &footer_rows) < 0) {
        fail(argv[1], tc_error_message());
        goto out;
    }
    if (tc_table_format_of(t) != TC_TABLE_FORMAT_PARQUET ||
        tc_table_selected_at(t, 0)->type != TC_VALUE_STRING ||
        tc_table_selected_at(t, 1)->type != TC_VALUE_INT) {
        fail(argv[1], "not parquet with a string 'text' and an integer 'label'");
        goto out;
    }
    if (argc == 3 && !(hashes = fopen(argv[2], "w"))) {
        fail(argv[2], "cannot open for writing");
        goto out;
    }
    while ((rc = tc_table_next(t, &row)) > 0) {
        if (row[0].type != TC_VALUE_STRING || row[1].type != TC_VALUE_INT) {
            fprintf(stderr, "read_split: %s: row %" PRId64 ": null or mistyped cell\n", argv[1],
                    rows);
            goto out;
        }
        if (row[1].i != 0 && row[1].i != 1) {
            fprintf(stderr, "read_split: %s: row %" PRId64 ": label %" PRId64 "\n", argv[1], rows,
                    row[1].i);
            goto out;
        }
        counts[row[1].i]++;
        all = fnv1a(fnv1a(all, row[0].str, row[0].len), "", 1);
        if (hashes)
            fprintf(hashes, "%016" PRIx64 " %" PRId64 "\n",
                    fnv1a(FNV_OFFSET, row[0].str, row[0].len), row[1].i);
        rows++;
    }
    if (rc < 0) {
        fail(argv[1], tc_error_message());
        goto out;
    }
    if (rows != footer_rows) {
        fprintf(stderr, "read_split: %s: footer says %" PRId64 " rows, read %" PRId64 "\n", argv[1],
                footer_rows, rows);
        goto out;
    }
    printf("rows %" PRId64 "\nlabel0 %" PRId64 "\nlabel1 %" PRId64 "\ntexts %016" PRIx64 "\n", rows,
           counts[0], counts[1], all);
    status = 0;
out:
    if (hashes && fclose(hashes) != 0 && status == 0) {
        fail(argv[2], "write failed");
        status = 1;
    }
    tc_table_free(t);
    return status;
}
