/*
 * table_test_util.h - helpers shared by the <tc/table.h> tests: fixture paths, reading whole
 * files, and comparing a table with an expected-JSON file (tests/table/gen_fixtures.mjs
 * describes the format; hand-written CSV/JSON Lines fixtures use the same one).
 */
#ifndef TABLE_TEST_UTIL_H
#define TABLE_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <tc/error.h>
#include <tc/table.h>

#include "tc_test.h"

static char fixture_buf[4096];

/* TC_TABLE_FIXTURES/<rel>, in a static buffer. */
static const char *fixture(const char *rel)
{
    snprintf(fixture_buf, sizeof(fixture_buf), "%s/%s", TC_TABLE_FIXTURES, rel);
    return fixture_buf;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static cJSON *load_expected(const char *file)
{
    char rel[512];
    size_t len = 0;
    uint8_t *text;
    cJSON *j;

    snprintf(rel, sizeof(rel), "expected/%s.json", file);
    text = slurp(fixture(rel), &len);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", fixture(rel));
        return NULL;
    }
    j = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    return j;
}

static tc_value_type type_of_name(const char *s)
{
    if (!strcmp(s, "bool"))
        return TC_VALUE_BOOL;
    if (!strcmp(s, "int"))
        return TC_VALUE_INT;
    if (!strcmp(s, "float"))
        return TC_VALUE_FLOAT;
    if (!strcmp(s, "string"))
        return TC_VALUE_STRING;
    if (!strcmp(s, "bytes"))
        return TC_VALUE_BYTES;
    return TC_VALUE_NULL;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Does cell v equal the expected cell e of a column of type ct? Cells: null, bool, an int
 * as a decimal string (in int columns) or {"int": "..."}, a float as a number, a string,
 * {"hex": "..."} for bytes. Prints what differs.
 */
static int cell_equal(const tc_value *v, const cJSON *e, tc_value_type ct, size_t row,
                      const char *col)
{
    const cJSON *x;

    if (cJSON_IsNull(e)) {
        if (v->type == TC_VALUE_NULL)
            return 1;
    } else if (cJSON_IsBool(e)) {
        if (v->type == TC_VALUE_BOOL && v->i == cJSON_IsTrue(e))
            return 1;
    } else if ((x = cJSON_GetObjectItemCaseSensitive(e, "int")) ||
               (cJSON_IsString(e) && ct == TC_VALUE_INT)) {
        const char *s = x ? x->valuestring : e->valuestring;
        if (v->type == TC_VALUE_INT && v->i == strtoll(s, NULL, 10))
            return 1;
    } else if (cJSON_IsNumber(e)) {
        if (v->type == TC_VALUE_FLOAT && v->f == e->valuedouble)
            return 1;
    } else if ((x = cJSON_GetObjectItemCaseSensitive(e, "hex"))) {
        const char *h = x->valuestring;
        size_t n = strlen(h) / 2;
        int ok = v->type == TC_VALUE_BYTES && v->len == n && v->str && v->str[n] == '\0';
        for (size_t i = 0; ok && i < n; i++)
            ok = (unsigned char)v->str[i] == (hexval(h[2 * i]) << 4 | hexval(h[2 * i + 1]));
        if (ok)
            return 1;
    } else if (cJSON_IsString(e)) {
        size_t n = strlen(e->valuestring);
        if (v->type == TC_VALUE_STRING && v->len == n && memcmp(v->str, e->valuestring, n) == 0 &&
            v->str[n] == '\0')
            return 1;
    }
    {
        char *want = cJSON_PrintUnformatted(e);
        fprintf(stderr,
                "row %zu, column '%s': got type %d (i=%lld f=%.17g str=%.40s len=%zu), want %s\n",
                row, col, (int)v->type, (long long)v->i, v->f, v->str ? v->str : "(null)", v->len,
                want ? want : "?");
        cJSON_free(want);
    }
    return 0;
}

/*
 * Compare the columns of t with the expected file's, then read every row in batches of
 * `batch` rows and compare them. Returns the rows read, or -1 after printing why.
 */
static long check_table(tc_table *t, const cJSON *exp, size_t batch)
{
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(exp, "columns");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(exp, "rows");
    size_t nsup = 0, ncols = (size_t)cJSON_GetArraySize(cols), r = 0;
    tc_value_type types[64];
    const char *names[64];
    tc_table_batch b;
    int bad = 0;

    if (tc_table_column_count(t) != ncols) {
        fprintf(stderr, "%zu columns, expected %zu\n", tc_table_column_count(t), ncols);
        return -1;
    }
    for (size_t i = 0; i < ncols; i++) {
        const cJSON *c = cJSON_GetArrayItem(cols, (int)i);
        const tc_table_column *tc = tc_table_column_at(t, i);
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        int sup = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "supported"));
        tc_value_type ty = type_of_name(cJSON_GetObjectItemCaseSensitive(c, "type")->valuestring);
        if (strcmp(tc->name, name) != 0 || (tc->unsupported == NULL) != sup ||
            (sup && tc->type != ty)) {
            fprintf(stderr, "column %zu: got '%s' type %d unsupported '%s', want '%s' type %d%s\n",
                    i, tc->name, (int)tc->type, tc->unsupported ? tc->unsupported : "", name,
                    (int)ty, sup ? "" : " unsupported");
            return -1;
        }
        if (sup && nsup < 64) {
            types[nsup] = ty;
            names[nsup++] = tc->name;
        }
    }
    if (tc_table_selected_count(t) != nsup) {
        fprintf(stderr, "%zu selected columns, expected %zu\n", tc_table_selected_count(t), nsup);
        return -1;
    }
    for (;;) {
        if (tc_table_read(t, batch, &b) < 0) {
            fprintf(stderr, "read failed after %zu rows: %s\n", r, tc_error_message());
            return -1;
        }
        if (b.n_rows == 0)
            break;
        if (b.first_row != r || b.n_columns != nsup) {
            fprintf(stderr, "batch at row %llu with %zu columns, expected row %zu\n",
                    (unsigned long long)b.first_row, b.n_columns, r);
            return -1;
        }
        for (size_t i = 0; i < b.n_rows; i++, r++) {
            const cJSON *er = cJSON_GetArrayItem(rows, (int)r);
            if (!er) {
                fprintf(stderr, "more rows than expected (%d)\n", cJSON_GetArraySize(rows));
                return -1;
            }
            for (size_t k = 0; k < nsup && !bad; k++)
                bad = !cell_equal(&b.cells[i * nsup + k], cJSON_GetArrayItem(er, (int)k), types[k],
                                  r, names[k]);
            if (bad)
                return -1;
        }
    }
    if (r != (size_t)cJSON_GetArraySize(rows)) {
        fprintf(stderr, "%zu rows, expected %d\n", r, cJSON_GetArraySize(rows));
        return -1;
    }
    return (long)r;
}

/* Open fixture <dir>/<file>, compare with expected/<file>.json. */
static long check_fixture(const char *dir, const char *file, size_t batch)
{
    char rel[512];
    tc_table *t = NULL;
    cJSON *exp = load_expected(file);
    long n = -1;

    snprintf(rel, sizeof(rel), "%s/%s", dir, file);
    if (!exp)
        return -1;
    if (tc_table_open(&t, fixture(rel), NULL) < 0)
        fprintf(stderr, "%s: %s\n", file, tc_error_message());
    else
        n = check_table(t, exp, batch);
    if (n < 0)
        fprintf(stderr, "  in %s (batches of %zu)\n", file, batch);
    tc_table_free(t);
    cJSON_Delete(exp);
    return n;
}

/* Read every row; returns the error code of the read that failed, or the rows read. */
static long drain(tc_table *t)
{
    const tc_value *row;
    long n = 0;
    int rc;

    while ((rc = tc_table_next(t, &row)) > 0)
        n++;
    return rc < 0 ? rc : n;
}

#endif /* TABLE_TEST_UTIL_H */
