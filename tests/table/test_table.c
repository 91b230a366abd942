/*
 * test_table.c - <tc/table.h>: the table API, CSV/TSV and JSON Lines.
 * Parquet is in test_parquet.c.
 */
#include <string.h>

#include <tc/error.h>
#include <tc/table.h>

#include "table_internal.h"
#include "table_test_util.h"

static int open_mem(tc_table **t, const char *text, const char *name, const tc_table_options *o)
{
    return tc_table_open_memory(t, text, strlen(text), name, o);
}

/* Open text as name and read it all: the error code (message checked by the caller), or 0. */
static int read_all_mem(const char *text, const char *name, const tc_table_options *o)
{
    tc_table *t = NULL;
    long n;
    int rc = open_mem(&t, text, name, o);

    if (rc < 0)
        return rc;
    n = drain(t);
    tc_table_free(t);
    return n < 0 ? (int)n : 0;
}

static void test_table_table__csv_fixtures(void)
{
    static const size_t batches[] = {1, 3, 1000};

    for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
        TC_CHECK(check_fixture("csv", "basic.csv", batches[i]) == 8);
        TC_CHECK(check_fixture("csv", "basic.tsv", batches[i]) == 3);
        TC_CHECK(check_fixture("csv", "unnamed.csv", batches[i]) == 2);
    }
}

static void test_table_table__jsonl_fixture(void)
{
    TC_CHECK(check_fixture("jsonl", "basic.jsonl", 1) == 5);
    TC_CHECK(check_fixture("jsonl", "basic.jsonl", 2) == 5);
    TC_CHECK(check_fixture("jsonl", "basic.jsonl", 64) == 5);
}

static void test_table_table__select(void)
{
    const char *cols[] = {"note", "text"};
    const char *unknown[] = {"nope"};
    const char *twice[] = {"text", "text"};
    tc_table *t = NULL;
    const tc_value *row;

    TC_CHECK_OK(tc_table_open(&t, fixture("csv/basic.csv"), NULL));
    if (!t)
        return;
    TC_CHECK(tc_table_format_of(t) == TC_TABLE_FORMAT_CSV);
    TC_CHECK_ERR(tc_table_select(t, unknown, 1), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "no column 'nope'");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "basic.csv");
    TC_CHECK_ERR(tc_table_select(t, twice, 2), TC_EINVAL);
    TC_CHECK_OK(tc_table_select(t, cols, 2));
    TC_CHECK(tc_table_selected_count(t) == 2);
    TC_CHECK(strcmp(tc_table_selected_at(t, 0)->name, "note") == 0);
    TC_CHECK(tc_table_selected_at(t, 2) == NULL);
    TC_CHECK(tc_table_next(t, &row) == 1);
    TC_CHECK(row[0].type == TC_VALUE_STRING && strcmp(row[0].str, "plain") == 0);
    TC_CHECK(row[1].type == TC_VALUE_STRING && strcmp(row[1].str, "hello world") == 0);
    TC_CHECK_ERR(tc_table_select(t, cols, 2), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "before the first read");
    TC_CHECK(drain(t) == 7);
    TC_CHECK(tc_table_next(t, &row) == 0);
    tc_table_free(t);
}

static void test_table_table__open_errors(void)
{
    tc_table *t = NULL;
    tc_table_options o;
    int64_t n = 0;

    TC_CHECK_ERR(tc_table_open(&t, fixture("csv/absent.csv"), NULL), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "absent.csv");
    TC_CHECK_ERR(tc_table_open(&t, fixture("csv/basic.txt"), NULL), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "cannot tell the format");
    TC_CHECK(t == NULL);
    TC_CHECK_ERR(tc_table_options_init(&o, 99), TC_EINVAL);
    TC_CHECK_OK(tc_table_options_init(&o, TC_TABLE_OPTIONS_VERSION));
    o.max_record_bytes = TC_TABLE_MAX_RECORD_LIMIT + 1;
    TC_CHECK_ERR(tc_table_open(&t, fixture("csv/basic.csv"), &o), TC_ERANGE);
    /* An explicit format wins over the extension. */
    o.max_record_bytes = 0;
    o.format = TC_TABLE_FORMAT_CSV;
    TC_CHECK_OK(open_mem(&t, "a,b\n1,2\n", "data.txt", &o));
    TC_CHECK_OK(tc_table_row_count(t, &n));
    TC_CHECK(n == -1);
    tc_table_free(t);
    tc_table_free(NULL);
}

static void test_table_table__csv_errors(void)
{
    tc_table_options o = TC_TABLE_OPTIONS_INIT;

    TC_CHECK_ERR(read_all_mem("a,b\n1,\"open\n2,3\n", "q.csv", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "file 'q.csv': line 4: quoted field opened on line 2");
    TC_CHECK_ERR(read_all_mem("a\n\"x\"y\n", "q.csv", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 2: unexpected 'y' after the closing quote");
    TC_CHECK_ERR(read_all_mem("a,b\n1,2\n1\n", "n.csv", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 3: 1 fields, but the header has 2");
    TC_CHECK_ERR(read_all_mem("a,b\n1,2,3\n", "n.csv", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 2: 3 fields");
    TC_CHECK_ERR(read_all_mem("", "e.csv", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "empty file");
    TC_CHECK_ERR(read_all_mem("\n\r\n\n", "e.csv", NULL), TC_EFORMAT);
    o.max_record_bytes = 16;
    TC_CHECK_OK(read_all_mem("a\n0123456789abcd\n", "l.csv", &o));
    TC_CHECK_ERR(read_all_mem("a\nshort\n0123456789abcdefghij\n", "l.csv", &o), TC_ERANGE);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 3: record is longer than 16 bytes");
    /* A quoted field with line breaks counts all its bytes, and its first line is reported. */
    TC_CHECK_ERR(read_all_mem("a\n\"12345\n12345\n12345\n\"\n", "l.csv", &o), TC_ERANGE);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 2: record is longer");
}

static void test_table_table__csv_dialect(void)
{
    tc_table_options o = TC_TABLE_OPTIONS_INIT;
    tc_table *t = NULL;
    const tc_value *row;

    o.flags = TC_TABLE_NO_HEADER;
    TC_CHECK_OK(open_mem(&t, "1,2\n3,\"4\"\n", "h.csv", &o));
    if (t) {
        TC_CHECK(tc_table_column_count(t) == 2);
        TC_CHECK(strcmp(tc_table_column_at(t, 1)->name, "1") == 0);
        TC_CHECK(tc_table_next(t, &row) == 1 && strcmp(row[0].str, "1") == 0);
        TC_CHECK(tc_table_next(t, &row) == 1 && strcmp(row[1].str, "4") == 0);
        TC_CHECK(tc_table_next(t, &row) == 0);
        tc_table_free(t);
        t = NULL;
    }
    o.flags = 0;
    o.delimiter = ';';
    TC_CHECK_OK(open_mem(&t, "a;b\n\"x;y\";z,w\r", "s.csv", &o));
    if (t) {
        TC_CHECK(tc_table_next(t, &row) == 1);
        TC_CHECK(strcmp(row[0].str, "x;y") == 0 && strcmp(row[1].str, "z,w") == 0);
        TC_CHECK(tc_table_next(t, &row) == 0);
        tc_table_free(t);
        t = NULL;
    }
    /* Lone CR line ends, and a delimiter that is not the format's. */
    o.delimiter = '|';
    o.format = TC_TABLE_FORMAT_TSV;
    TC_CHECK_OK(open_mem(&t, "a|b\r1|2\r\r3|\r", "p.txt", &o));
    if (t) {
        TC_CHECK(drain(t) == 2);
        tc_table_free(t);
    }
}

static void test_table_table__invalid_utf8(void)
{
    tc_table_options o = TC_TABLE_OPTIONS_INIT;
    static const char *bad[] = {
        "\xff",         "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xf8\x88\x80", "\xc3",     "\xe6\x97",     "a\x80",        "\xf0\x9f\x98",
    };
    static const char *good[] = {"",
                                 "plain",
                                 "caf\xc3\xa9",
                                 "\xe6\x97\xa5",
                                 "\xf0\x9f\x98\x80",
                                 "\xef\xbf\xbf",
                                 "\xf4\x8f\xbf\xbf",
                                 "\xed\x9f\xbf"};
    tc_table *t = NULL;
    const tc_value *row;
    size_t at;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        TC_CHECK(!tc__utf8_valid(bad[i], strlen(bad[i]), &at));
    TC_CHECK(!tc__utf8_valid("ok\xff", 3, &at) && at == 2);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        TC_CHECK(tc__utf8_valid(good[i], strlen(good[i]), &at));

    /* Reported by default, with the line, the column and the byte... */
    TC_CHECK_ERR(read_all_mem("t,u\nok,fine\nab\xff,x\n", "u.csv", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "file 'u.csv': line 3, column 't': invalid UTF-8 at byte 2");
    TC_CHECK_ERR(read_all_mem("{\"t\": \"a\xc3\"}\n", "u.jsonl", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 1, column 't': invalid UTF-8");
    /* ...and passed through unchanged when asked. */
    o.flags = TC_TABLE_ALLOW_INVALID_UTF8;
    TC_CHECK_OK(open_mem(&t, "t\nab\xff\n", "u.csv", &o));
    if (t) {
        TC_CHECK(tc_table_next(t, &row) == 1);
        TC_CHECK(row[0].len == 3 && (unsigned char)row[0].str[2] == 0xff);
        tc_table_free(t);
    }
}

static void test_table_table__jsonl_errors(void)
{
    tc_table_options o = TC_TABLE_OPTIONS_INIT;
    char *big;
    size_t n, k = 0;

    TC_CHECK_ERR(read_all_mem("{\"a\":1}\n[1,2]\n", "j.jsonl", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "file 'j.jsonl': line 2: expected a JSON object, got an array");
    TC_CHECK_ERR(read_all_mem("{\"a\":1}\n\n\"s\"\n", "j.jsonl", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 3: expected a JSON object, got a string");
    TC_CHECK_ERR(read_all_mem("[{\"a\":1},\n{\"a\":2}]\n", "j.json", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "a file that is one JSON array is not supported");
    TC_CHECK_ERR(read_all_mem("{\"a\":1}\n{\"a\":}\n", "j.jsonl", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 2: invalid JSON at column 6");
    TC_CHECK_ERR(read_all_mem("{\"a\":1} x\n", "j.jsonl", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 1: text after the JSON value at column 9");
    TC_CHECK_ERR(read_all_mem("  \n\n", "j.ndjson", NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "empty file");
    o.max_record_bytes = 16;
    TC_CHECK_OK(read_all_mem("{\"a\":\"12345678\"}\n", "j.jsonl", &o));
    TC_CHECK_ERR(read_all_mem("{\"a\":1}\n{\"a\":\"123456789\"}\n", "j.jsonl", &o), TC_ERANGE);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 2: longer than 16 bytes");

    /* More values than TC_TABLE_MAX_JSON_VALUES in one line. */
    n = TC_TABLE_MAX_JSON_VALUES + 16;
    big = malloc(2 * n + 16);
    if (!big)
        return;
    k += (size_t)snprintf(big, 16, "{\"a\":[");
    for (size_t i = 0; i < n; i++) {
        big[k++] = '0';
        big[k++] = ',';
    }
    memcpy(big + k, "0]}\n", 5);
    TC_CHECK_ERR(read_all_mem(big, "j.jsonl", NULL), TC_ERANGE);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "TC_TABLE_MAX_JSON_VALUES");
    free(big);
}

static void test_table_table__values(void)
{
    tc_value v = {TC_VALUE_STRING, 0, 0, " -42 ", 5};
    int64_t i = 0;
    double d = 0;

    TC_CHECK_OK(tc_value_int(&v, &i));
    TC_CHECK(i == -42);
    TC_CHECK_OK(tc_value_float(&v, &d));
    TC_CHECK(d == -42.0);
    v.str = "1.5e3";
    v.len = 5;
    TC_CHECK_ERR(tc_value_int(&v, &i), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "value '1.5e3' is not an integer");
    TC_CHECK_OK(tc_value_float(&v, &d));
    TC_CHECK(d == 1500.0);
    v.str = "99999999999999999999";
    v.len = 20;
    TC_CHECK_ERR(tc_value_int(&v, &i), TC_EINVAL);
    v.str = "";
    v.len = 0;
    TC_CHECK_ERR(tc_value_float(&v, &d), TC_EINVAL);
    v.type = TC_VALUE_FLOAT;
    v.f = 3.0;
    TC_CHECK_OK(tc_value_int(&v, &i));
    TC_CHECK(i == 3);
    v.f = 3.5;
    TC_CHECK_ERR(tc_value_int(&v, &i), TC_EINVAL);
    v.type = TC_VALUE_BOOL;
    v.i = 1;
    TC_CHECK_OK(tc_value_float(&v, &d));
    TC_CHECK(d == 1.0);
    v.type = TC_VALUE_NULL;
    TC_CHECK_ERR(tc_value_int(&v, &i), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "a null value is not an integer");
}

static void test_table_table__files(void)
{
    const char *two[] = {fixture("csv/basic.csv"), NULL};
    const char *mixed[2];
    char a[4096], b[4096];
    tc_table *t = NULL;
    tc_table_batch batch;
    long n = 0;

    snprintf(a, sizeof(a), "%s", fixture("csv/basic.csv"));
    two[0] = a;
    two[1] = a;
    TC_CHECK_OK(tc_table_open_files(&t, two, 2, NULL));
    if (t) {
        while (tc_table_read(t, 5, &batch) == 0 && batch.n_rows) {
            TC_CHECK(batch.first_row == (uint64_t)n);
            n += (long)batch.n_rows;
        }
        TC_CHECK(n == 16);
        tc_table_free(t);
        t = NULL;
    }
    /* A later file without a selected column. */
    snprintf(b, sizeof(b), "%s", fixture("csv/unnamed.csv"));
    mixed[0] = a;
    mixed[1] = b;
    TC_CHECK_OK(tc_table_open_files(&t, mixed, 2, NULL));
    if (t) {
        TC_CHECK(drain(t) == TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "unnamed.csv': no column 'note', which");
        /* The error sticks. */
        TC_CHECK(drain(t) == TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "no column 'note'");
        tc_table_free(t);
    }
}

/* A CSV far larger than the reader's buffers streams through in bounded memory. */
static void test_table_table__csv_streaming(void)
{
    size_t rows = 20000, n = 0, cap = rows * 128;
    char *text = malloc(cap);
    tc_table *t = NULL;

    if (!text)
        return;
    n += (size_t)snprintf(text, cap, "id,text,label\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "%zu,\"row %zu, some text that is long enough to matter\",%zu\n", i,
                              i, i % 3);
    TC_CHECK_OK(tc_table_open_memory(&t, text, n, "big.csv", NULL));
    if (t) {
        TC_CHECK(drain(t) == (long)rows);
        TC_CHECK(tc__table_peak_bytes(t) < 256 * 1024);
        tc_table_free(t);
    }
    free(text);
}

static const tc_test_case tests[] = {
    TC_TEST(test_table_table__csv_fixtures),  TC_TEST(test_table_table__jsonl_fixture),
    TC_TEST(test_table_table__select),        TC_TEST(test_table_table__open_errors),
    TC_TEST(test_table_table__csv_errors),    TC_TEST(test_table_table__csv_dialect),
    TC_TEST(test_table_table__invalid_utf8),  TC_TEST(test_table_table__jsonl_errors),
    TC_TEST(test_table_table__values),        TC_TEST(test_table_table__files),
    TC_TEST(test_table_table__csv_streaming),
};

TC_TEST_MAIN(tests)
