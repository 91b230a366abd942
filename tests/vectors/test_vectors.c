/*
 * test_vectors.c - <tc/vectors.h>: GloVe, word2vec and gzip files written into a temporary
 * directory, loaded against a word-level vocabulary built from a few texts; exact row
 * values, untouched rows, stats, the lowercase fallback, duplicates, the pad row, words with
 * spaces, and every malformed case with its error code and the line its message names.
 */
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <tc/error.h>
#include <tc/tokenizer.h>
#include <tc/vectors.h>

#include "tc_test.h"
#include "vectors_internal.h"

#define SENTINEL 7.0f
#define MAX_ROWS 64

static char dir[256];
static tc_tokenizer *tok;
static int32_t n_ids;
static float table[MAX_ROWS * 4];

static void setup(void)
{
    static const char *texts[] = {"the cat sat on the mat", "a dog and a cat", "apple banana"};
    tc_wordlevel_builder *b = NULL;
    size_t i;

    if (tok)
        return;
    snprintf(dir, sizeof(dir), "%s/tc-vectors-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    TC_CHECK_OK(tc_wordlevel_builder_new(&b, NULL));
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        TC_CHECK_OK(tc_wordlevel_builder_add(b, texts[i], strlen(texts[i])));
    TC_CHECK_OK(tc_wordlevel_builder_finish(&tok, b));
    tc_wordlevel_builder_free(b);
    if (!tok)
        exit(2);
    n_ids = tc_tokenizer_vocab_size(tok);
    if (n_ids > MAX_ROWS)
        exit(2);
}

static int32_t id_of(const char *word)
{
    int32_t id = tc_tokenizer_token_to_id(tok, word, strlen(word));

    if (id < 0) {
        fprintf(stderr, "'%s' is not in the test vocabulary\n", word);
        exit(2);
    }
    return id;
}

static void reset_table(void)
{
    size_t i;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        table[i] = SENTINEL;
}

/* Write text to dir/name; return the path (static buffer, one at a time). */
static const char *write_file(const char *name, const char *text, size_t len)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
    return path;
}

static const char *write_text(const char *name, const char *text)
{
    return write_file(name, text, strlen(text));
}

static const char *write_gz(const char *name, const char *text, size_t len)
{
    static char path[512];
    gzFile gz;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    gz = gzopen(path, "wb");
    if (!gz || gzwrite(gz, text, (unsigned)len) != (int)len || gzclose(gz) != Z_OK) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    return path;
}

/* Whether row id of the (.., dim) table is exactly v[0..dim). */
static int row_is(int32_t id, int32_t dim, const float *v)
{
    return !memcmp(table + (size_t)id * (size_t)dim, v, (size_t)dim * sizeof(float));
}

/* Whether row id is still all SENTINEL. */
static int row_untouched(int32_t id, int32_t dim)
{
    int32_t i;

    for (i = 0; i < dim; i++)
        if (table[(size_t)id * (size_t)dim + (size_t)i] != SENTINEL)
            return 0;
    return 1;
}

static int load(const char *path, int32_t dim, uint32_t flags, tc_vectors_stats *st)
{
    reset_table();
    return tc_vectors_load(path, tok, table, n_ids, dim, flags, st);
}

/* Load text as a file, expect the error code, and check the message contains want. */
static void expect_error(const char *text, size_t len, int32_t dim, int code, const char *want)
{
    const char *path = write_file("bad.txt", text, len);
    tc_vectors_stats st = {-1, -1, -1, -1};

    TC_CHECK_ERR(load(path, dim, 0, &st), code);
    TC_CHECK_STR_CONTAINS(tc_error_message(), want);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "bad.txt");
    TC_CHECK(st.lines == -1 && st.matched == -1); /* written only on success */
}

static void test_vectors_vectors__glove(void)
{
    static const float the[] = {0.5f, -1.25f, 3.0f}, cat[] = {1.0f, 2.0f, 3.0f},
                       mat[] = {0.1f, 0.2f, -0.3f};
    tc_vectors_stats st = {0};
    const char *path;

    setup();
    path = write_text("glove.txt", "the 0.5 -1.25 3\ncat 1 2 3\nzebra 9 9 9\nmat 0.1 0.2 -3e-1\n");
    TC_CHECK_OK(load(path, 3, 0, &st));
    TC_CHECK(row_is(id_of("the"), 3, the));
    TC_CHECK(row_is(id_of("cat"), 3, cat));
    TC_CHECK(row_is(id_of("mat"), 3, mat));
    TC_CHECK(row_untouched(id_of("dog"), 3));
    TC_CHECK(row_untouched(id_of("<pad>"), 3));
    TC_CHECK(row_untouched(id_of("<unk>"), 3));
    TC_CHECK(st.lines == 4);
    TC_CHECK(st.matched == 3);
    TC_CHECK(st.dim == 3);
    TC_CHECK(st.format == TC_VECTORS_GLOVE);
    /* stats may be NULL; a file without a final newline reads its last line */
    path = write_text("glove2.txt", "dog 4 5 6");
    TC_CHECK_OK(load(path, 3, 0, NULL));
    TC_CHECK(row_is(id_of("dog"), 3, (const float[]){4.0f, 5.0f, 6.0f}));
    TC_CHECK(row_untouched(id_of("the"), 3));
}

static void test_vectors_vectors__word2vec(void)
{
    tc_vectors_stats st = {0};
    const char *path;
    int32_t dim = 0;

    setup();
    /* trailing spaces (the C tool), CRLF, a blank line, a BOM */
    path = write_text("w2v.txt", "\xEF\xBB\xBF"
                                 "3 2\r\nthe 1 2 \ncat 3.5 4 \r\n\n  \ndog -5 6\n\n");
    TC_CHECK_OK(tc_vectors_probe(path, &dim));
    TC_CHECK(dim == 2);
    TC_CHECK_OK(load(path, 2, 0, &st));
    TC_CHECK(row_is(id_of("the"), 2, (const float[]){1.0f, 2.0f}));
    TC_CHECK(row_is(id_of("cat"), 2, (const float[]){3.5f, 4.0f}));
    TC_CHECK(row_is(id_of("dog"), 2, (const float[]){-5.0f, 6.0f}));
    TC_CHECK(row_untouched(id_of("mat"), 2));
    TC_CHECK(st.lines == 3 && st.matched == 3 && st.dim == 2);
    TC_CHECK(st.format == TC_VECTORS_WORD2VEC);
}

static void test_vectors_vectors__gzip(void)
{
    static const char text[] = "the 0.25 0.5\nbanana -1 1e-3\n";
    tc_vectors_stats st = {0};
    const char *path;
    int32_t dim = 0;

    setup();
    path = write_gz("glove.txt.gz", text, sizeof(text) - 1);
    TC_CHECK_OK(tc_vectors_probe(path, &dim));
    TC_CHECK(dim == 2);
    TC_CHECK_OK(load(path, 2, 0, &st));
    TC_CHECK(row_is(id_of("the"), 2, (const float[]){0.25f, 0.5f}));
    TC_CHECK(row_is(id_of("banana"), 2, (const float[]){-1.0f, 1e-3f}));
    TC_CHECK(st.lines == 2 && st.matched == 2);
}

/* A gzip file cut in the middle, and one with a damaged stream. */
static void test_vectors_vectors__gzip_damaged(void)
{
    const size_t n_lines = 20000;
    char *text = malloc(n_lines * 32), *gz = NULL;
    size_t len = 0, i, gz_len;
    const char *path;
    FILE *f;

    setup();
    for (i = 0; i < n_lines; i++)
        len += (size_t)snprintf(text + len, n_lines * 32 - len, "w%zu %zu.5 -%zu\n", i, i, i * 7);
    path = write_gz("big.txt.gz", text, len);
    f = fopen(path, "rb");
    gz = malloc(len + 1024);
    if (!f || !gz)
        exit(2);
    gz_len = fread(gz, 1, len + 1024, f);
    fclose(f);
    TC_CHECK(gz_len > 1000);

    path = write_file("cut.txt.gz", gz, gz_len / 2);
    TC_CHECK_ERR(load(path, 2, 0, NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "truncated gzip");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "cut.txt.gz");

    gz[gz_len - 8] ^= 0x55; /* the CRC-32 of the gzip trailer */
    path = write_file("corrupt.txt.gz", gz, gz_len);
    TC_CHECK_ERR(load(path, 2, 0, NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "corrupt.txt.gz' has corrupt gzip data");
    free(text);
    free(gz);
}

static void test_vectors_vectors__lowercase_fallback(void)
{
    static const char text[] = "Apple 1 1\n"  /* fallback fills apple */
                               "BANANA 2 2\n" /* fallback fills banana ... */
                               "banana 3 3\n" /* ... and the exact match replaces it */
                               "cat 4 4\n"    /* exact */
                               "Cat 5 5\n"    /* a fallback never replaces an exact match */
                               "Dog 6 6\n"    /* fallback */
                               "DOG 7 7\n";   /* a second fallback does not replace the first */
    tc_vectors_stats st = {0};
    const char *path;

    setup();
    path = write_text("cased.txt", text);
    TC_CHECK_OK(load(path, 2, TC_VECTORS_LOWERCASE_FALLBACK, &st));
    TC_CHECK(row_is(id_of("apple"), 2, (const float[]){1.0f, 1.0f}));
    TC_CHECK(row_is(id_of("banana"), 2, (const float[]){3.0f, 3.0f}));
    TC_CHECK(row_is(id_of("cat"), 2, (const float[]){4.0f, 4.0f}));
    TC_CHECK(row_is(id_of("dog"), 2, (const float[]){6.0f, 6.0f}));
    TC_CHECK(st.lines == 7);
    TC_CHECK(st.matched == 4);

    TC_CHECK_OK(load(path, 2, 0, &st));
    TC_CHECK(row_untouched(id_of("apple"), 2));
    TC_CHECK(row_untouched(id_of("dog"), 2));
    TC_CHECK(row_is(id_of("banana"), 2, (const float[]){3.0f, 3.0f}));
    TC_CHECK(row_is(id_of("cat"), 2, (const float[]){4.0f, 4.0f}));
    TC_CHECK(st.matched == 2);
}

static void test_vectors_vectors__duplicates_and_pad(void)
{
    tc_vectors_stats st = {0};
    const char *path;

    setup();
    path = write_text("dup.txt", "the 1 1\n<pad> 9 9\nthe 2 2\n<unk> 3 -3\nthe 4 4\n");
    TC_CHECK_OK(load(path, 2, 0, &st));
    TC_CHECK(row_is(id_of("the"), 2, (const float[]){1.0f, 1.0f}));
    TC_CHECK(row_untouched(tc_tokenizer_pad_id(tok), 2));
    TC_CHECK(tc_tokenizer_pad_id(tok) == id_of("<pad>"));
    TC_CHECK(row_is(id_of("<unk>"), 2, (const float[]){3.0f, -3.0f}));
    TC_CHECK(st.lines == 5);
    TC_CHECK(st.matched == 2);
}

static void test_vectors_vectors__word_with_spaces(void)
{
    tc_vectors_stats st = {0};
    const char *path;

    setup();
    /* GloVe 840B style: the last D fields are the vector, the rest is the word */
    path = write_text("spaces.txt", "the 1 2\n. . . 3 4\nat name@domain.com 5 6\ncat  7   8\n");
    TC_CHECK_OK(load(path, 2, 0, &st));
    TC_CHECK(row_is(id_of("the"), 2, (const float[]){1.0f, 2.0f}));
    TC_CHECK(row_is(id_of("cat"), 2, (const float[]){7.0f, 8.0f}));
    TC_CHECK(st.lines == 4 && st.matched == 2);

    /* a line with one value too many is an error, not the word "the 1" */
    expect_error("cat 1 2\nthe 1 2 3\n", 18, 2, TC_EFORMAT, "line 2 has 3 values, expected 2");
}

/* Lines whose word is in no vocabulary are not parsed (documented): a bad value there passes. */
static void test_vectors_vectors__unmatched_values_not_parsed(void)
{
    tc_vectors_stats st = {0};
    const char *path;

    setup();
    path = write_text("skip.txt", "the 1 2\nzebra x nan\n");
    TC_CHECK_OK(load(path, 2, 0, &st));
    TC_CHECK(st.lines == 2 && st.matched == 1);
}

static void test_vectors_vectors__malformed(void)
{
    static const char bin[] = "2 3\nthe \x00\x00\x80\x3f\x01\x02\x03\x04\x05\x06\x07\x08\n";
    char *big;
    size_t i;

    setup();
    expect_error("the 1 2\ncat 1\n", 14, 2, TC_EFORMAT, "line 2 has 1 values, expected 2");
    expect_error("the 1 2\n\ncat\n", 13, 2, TC_EFORMAT, "line 3 has 0 values, expected 2");
    expect_error("the 1 nan\n", 10, 2, TC_EFORMAT, "line 1: value 2 'nan' is not a finite number");
    expect_error("the 1 2\ncat 1e50 2\n", 19, 2, TC_EFORMAT, "line 2: value 1 '1e50' is not");
    expect_error("the 1 2\ncat 1,5 2\n", 18, 2, TC_EFORMAT, "line 2: value 1 '1,5' is not");
    expect_error("the 1 2\ncat 0x 2\n", 17, 2, TC_EFORMAT, "line 2: value 1 '0x' is not");
    expect_error("the 1 2\ncat 1 -\n", 16, 2, TC_EFORMAT, "line 2: value 2 '-' is not");
    expect_error("the 1 2\ncat 1 \t2\n", 17, 2, TC_EFORMAT, "line 2: value 2");
    expect_error("", 0, 2, TC_EFORMAT, "is empty");
    expect_error("\n \r\n\n", 5, 2, TC_EFORMAT, "is empty");
    expect_error("hello\n", 6, 2, TC_EFORMAT, "line 1 has no values");
    expect_error("the\0 1 2\n", 9, 2, TC_EFORMAT, "line 1 holds a NUL byte");
    expect_error("the 1 2\n", 8, 3, TC_EINVAL,
                 "holds 2-dimensional vectors but the table has dim 3");
    /* word2vec headers and counts */
    expect_error("3 2\nthe 1 2\n", 12, 2, TC_EFORMAT,
                 "has 1 vectors but its word2vec header (line 1) declares 3");
    expect_error("1 2\nthe 1 2\ncat 1 2\n", 20, 2, TC_EFORMAT, "line 3: more vectors than the 1");
    expect_error("0 2\n", 4, 2, TC_EFORMAT, "has no vectors");
    expect_error("2 70000\n", 8, 2, TC_ERANGE, "line 1: the word2vec header's dimension '70000'");
    expect_error("2 0\n", 4, 2, TC_ERANGE, "dimension '0' is out of range");
    expect_error("99999999999999999999 2\n", 23, 2, TC_ERANGE, "vector count");
    expect_error(bin, sizeof(bin) - 1, 3, TC_EUNSUPPORTED, "convert it to the text format");
    {
        int32_t dim = -1;
        const char *path = write_file("bin.bin", bin, sizeof(bin) - 1);
        TC_CHECK_ERR(tc_vectors_probe(path, &dim), TC_EUNSUPPORTED);
        TC_CHECK(dim == -1);
    }

    /* a line over TC_VECTORS_MAX_LINE_BYTES, and a first line with too many values */
    big = malloc(TC_VECTORS_MAX_LINE_BYTES + 64);
    memcpy(big, "the 1 2\ncat ", 12);
    memset(big + 12, '1', TC_VECTORS_MAX_LINE_BYTES);
    memcpy(big + 12 + TC_VECTORS_MAX_LINE_BYTES, " 2\n", 3);
    expect_error(big, TC_VECTORS_MAX_LINE_BYTES + 15, 2, TC_ERANGE, "line 2 is longer than");
    /* exactly at the limit is fine (the value is huge, so the word must not match) */
    memcpy(big, "the 1 2\nzzz ", 12);
    memcpy(big + 8 + TC_VECTORS_MAX_LINE_BYTES - 2, " 2\n", 3);
    {
        tc_vectors_stats st = {0};
        const char *path = write_file("limit.txt", big, 8 + TC_VECTORS_MAX_LINE_BYTES + 1);
        TC_CHECK_OK(load(path, 2, 0, &st));
        TC_CHECK(st.lines == 2);
    }
    memcpy(big, "x", 1);
    for (i = 0; i < 70000; i++)
        memcpy(big + 1 + 2 * i, " 1", 2);
    big[1 + 2 * 70000] = '\n';
    expect_error(big, 2 + 2 * 70000, 2, TC_ERANGE, "line 1 has 70000 values, more than");
    free(big);

    TC_CHECK_ERR(load("/nonexistent/vectors.txt", 2, 0, NULL), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'/nonexistent/vectors.txt' not found");
    TC_CHECK_ERR(load(dir, 2, 0, NULL), TC_EIO);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "Is a directory");
}

static void test_vectors_vectors__arguments(void)
{
    const char *path;
    int32_t dim = 0;

    setup();
    path = write_text("args.txt", "the 1 2\n");
    reset_table();
    TC_CHECK_ERR(tc_vectors_load(path, tok, table, n_ids - 1, 2, 0, NULL), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "fewer than the tokenizer's");
    TC_CHECK_ERR(tc_vectors_load(path, tok, table, n_ids, 2, 4, NULL), TC_EINVAL);
    TC_CHECK_ERR(tc_vectors_load(path, tok, table, n_ids, 0, 0, NULL), TC_EINVAL);
    TC_CHECK_ERR(tc_vectors_load(path, tok, NULL, n_ids, 2, 0, NULL), TC_EINVAL);
    TC_CHECK_ERR(tc_vectors_load(path, NULL, table, n_ids, 2, 0, NULL), TC_EINVAL);
    TC_CHECK_ERR(tc_vectors_probe(NULL, &dim), TC_EINVAL);
    TC_CHECK(row_untouched(id_of("the"), 2));
    /* a table larger than the vocabulary is fine: extra rows are left alone */
    reset_table();
    TC_CHECK_OK(tc_vectors_load(path, tok, table, n_ids + 3, 2, 0, NULL));
    TC_CHECK(row_is(id_of("the"), 2, (const float[]){1.0f, 2.0f}));
    TC_CHECK(row_untouched(n_ids + 2, 2));
}

/* Parsing ignores the process's locale (when a comma-decimal locale is installed). */
static void test_vectors_vectors__locale(void)
{
    static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                  "fr_FR.utf8",  "de_DE",      "fr_FR"};
    const char *path;
    size_t i;
    int set = 0;

    setup();
    for (i = 0; i < sizeof(names) / sizeof(names[0]) && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]) && !strcmp(localeconv()->decimal_point, ",");
    if (!set) {
        printf(
            "note: no comma-decimal locale installed; the locale case checks the C locale only\n");
        setlocale(LC_NUMERIC, "C");
    }
    path = write_text("locale.txt", "the 0.5 1.25\n");
    TC_CHECK_OK(load(path, 2, 0, NULL));
    TC_CHECK(row_is(id_of("the"), 2, (const float[]){0.5f, 1.25f}));
    expect_error("the 0,5 1\n", 10, 2, TC_EFORMAT, "value 1 '0,5'");
    setlocale(LC_NUMERIC, "C");
}

static int32_t tiny_lookup(const char *word, size_t len, void *payload)
{
    (void)payload;
    if (len == 1 && word[0] == 'a')
        return 0;
    if (len == 1 && word[0] == 'b')
        return 1;
    return -1;
}

/* The in-memory entry the fuzz target uses, with its own lookup and skip id. */
static void test_vectors_vectors__memory(void)
{
    static const char text[] = "2 1\nb 0.75\na -2\n";
    float rows[2] = {SENTINEL, SENTINEL};
    tc__vectors_target t = {tiny_lookup, NULL, 2, 0, rows, 2, 1, 0};
    tc_vectors_stats st = {0};
    int32_t dim = 0;

    TC_CHECK_OK(tc__vectors_probe_memory(text, sizeof(text) - 1, "mem.txt", &dim));
    TC_CHECK(dim == 1);
    TC_CHECK_OK(tc__vectors_load_memory(text, sizeof(text) - 1, "mem.txt", &t, &st));
    TC_CHECK(rows[0] == SENTINEL); /* skip_id 0 */
    TC_CHECK(rows[1] == 0.75f);
    TC_CHECK(st.lines == 2 && st.matched == 1 && st.format == TC_VECTORS_WORD2VEC);
    TC_CHECK_ERR(tc__vectors_load_memory(text, 6, "mem.txt", &t, NULL), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'mem.txt' line 2 has 0 values");
}

static void test_vectors_vectors__cleanup(void)
{
    char cmd[600];

    tc_tokenizer_free(tok);
    tok = NULL;
    if (dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        TC_CHECK(system(cmd) == 0);
    }
}

static const tc_test_case tests[] = {
    TC_TEST(test_vectors_vectors__glove),
    TC_TEST(test_vectors_vectors__word2vec),
    TC_TEST(test_vectors_vectors__gzip),
    TC_TEST(test_vectors_vectors__gzip_damaged),
    TC_TEST(test_vectors_vectors__lowercase_fallback),
    TC_TEST(test_vectors_vectors__duplicates_and_pad),
    TC_TEST(test_vectors_vectors__word_with_spaces),
    TC_TEST(test_vectors_vectors__unmatched_values_not_parsed),
    TC_TEST(test_vectors_vectors__malformed),
    TC_TEST(test_vectors_vectors__arguments),
    TC_TEST(test_vectors_vectors__locale),
    TC_TEST(test_vectors_vectors__memory),
    TC_TEST(test_vectors_vectors__cleanup),
};

TC_TEST_MAIN(tests)
