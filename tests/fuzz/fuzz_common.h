/*
 * fuzz_common.h - what the <tc/table.h> fuzz targets share: open the input as a table held
 * in memory, read every row (in batches whose size the input picks, at most FUZZ_MAX_ROWS,
 * since a valid file may declare billions of null rows in a few bytes), and convert each
 * cell. Anything but a clean return or a clean error is a bug: the sanitizers report it.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <tc/error.h>
#include <tc/table.h>

#define FUZZ_MAX_ROWS 50000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_table(const uint8_t *data, size_t size, const char *name,
                       const tc_table_options *opts)
{
    tc_table *t = NULL;
    tc_table_batch b;
    size_t rows = 0, batch = size ? 1 + data[0] % 17 : 1;
    int64_t count;

    if (tc_table_open_memory(&t, data, size, name, opts) < 0)
        return;
    (void)tc_table_row_count(t, &count);
    /* Sometimes read every other readable column, in reverse. */
    if (size && (data[size - 1] & 1)) {
        const char *names[8];
        size_t n = 0;
        for (size_t i = tc_table_column_count(t); i-- > 0 && n < 8;) {
            const tc_table_column *c = tc_table_column_at(t, i);
            if (!c->unsupported && i % 2 == 0)
                names[n++] = c->name;
        }
        if (n)
            (void)tc_table_select(t, names, n);
    }
    while (rows < FUZZ_MAX_ROWS && tc_table_read(t, batch, &b) == 0 && b.n_rows) {
        for (size_t i = 0; i < b.n_rows * b.n_columns; i++) {
            int64_t iv;
            double fv;
            (void)tc_value_int(&b.cells[i], &iv);
            (void)tc_value_float(&b.cells[i], &fv);
        }
        rows += b.n_rows;
    }
    tc_table_free(t);
    tc_error_clear();
}

#endif /* FUZZ_COMMON_H */
