/*
 * test_safetensors.c - the safetensors reader and writer (TRANSFORMER-SPEC.md 7).
 *
 * Malformed files are written byte by byte into a temporary directory; each
 * must fail with the right code and a message naming the file and the
 * problem. The writer is checked byte for byte against layouts built by hand
 * from the format description, including the examples in the reference
 * library's own test suite, and by write -> read -> write round trips.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/error.h>
#include <tc/safetensors.h>

#include "tc_test.h"

static char tmpdir[256];

static const char *tmp_file(const char *name)
{
    static char buf[4][512];
    static int k;

    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/tc_test_safetensors_XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_raw(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || (len && fwrite(buf, 1, len, f) != len)) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void put_le64(unsigned char *b, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

/* 8-byte length + header (hlen bytes) + data; the length field may lie (nfield). */
static void write_st_n(const char *path, uint64_t nfield, const char *header, size_t hlen,
                       const void *data, size_t dlen)
{
    unsigned char *buf = malloc(8 + hlen + dlen + 1);

    put_le64(buf, nfield);
    memcpy(buf + 8, header, hlen);
    if (dlen)
        memcpy(buf + 8 + hlen, data, dlen);
    write_raw(path, buf, 8 + hlen + dlen);
    free(buf);
}

static void write_st(const char *path, const char *header, const void *data, size_t dlen)
{
    write_st_n(path, strlen(header), header, strlen(header), data, dlen);
}

static const unsigned char zeros[256];

/* Open must fail with code; the message must name the file and contain needle. */
static void expect_open_error(const char *path, int code, const char *needle, const char *what)
{
    tc_safetensors *st = NULL;
    int before = tc_test_failed_checks;
    int rc;

    tc_error_clear();
    rc = tc_safetensors_open(&st, path);
    TC_CHECK(rc == code);
    TC_CHECK(st == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), path);
    TC_CHECK_STR_CONTAINS(tc_error_message(), needle);
    if (tc_test_failed_checks != before)
        fprintf(stderr, "  in case '%s': rc %d, message: %s\n", what, rc, tc_error_message());
    tc_safetensors_free(st);
}

static void expect_bad_header(const char *what, const char *header, size_t dlen, int code,
                              const char *needle)
{
    const char *path = tmp_file("bad.safetensors");

    write_st(path, header, zeros, dlen);
    expect_open_error(path, code, needle, what);
}

#define E TC_EFORMAT

static void test_sdk_safetensors__bad_length_field(void)
{
    const char *path = tmp_file("len.safetensors");
    unsigned char b[16];

    write_raw(path, "", 0);
    expect_open_error(path, E, "too small", "empty file");
    write_raw(path, "\x02\0\0\0\0", 5);
    expect_open_error(path, E, "too small", "truncated header length");
    write_st_n(path, 100, "{}", 2, zeros, 8);
    expect_open_error(path, E, "runs past the end", "N larger than the file");
    write_st_n(path, 100000001, "{}", 2, zeros, 8);
    expect_open_error(path, E, "exceeds the limit", "N above the limit");
    write_st_n(path, UINT64_MAX, "{}", 2, zeros, 8);
    expect_open_error(path, E, "exceeds the limit", "N = 2^64 - 1");
    put_le64(b, 0);
    write_raw(path, b, 8);
    expect_open_error(path, E, "does not start with '{'", "N = 0");
    expect_open_error(tmp_file("no-such-file.safetensors"), TC_ENOTFOUND, "cannot open",
                      "missing file");
    expect_open_error(tmpdir, TC_EIO, "not a regular file", "directory");
}

static void test_sdk_safetensors__bad_encoding(void)
{
    const char *path = tmp_file("enc.safetensors");

    expect_bad_header("array", "[]      ", 0, E, "does not start with '{'");
    expect_bad_header("leading space", " {}     ", 0, E, "does not start with '{'");
    expect_bad_header("invalid byte", "{\"\xff\":{}}", 0, E, "not valid UTF-8 (byte 2)");
    expect_bad_header("overlong", "{\"\xc0\xaf\":{}}", 0, E, "not valid UTF-8");
    expect_bad_header("surrogate", "{\"\xed\xa0\x80\":{}}", 0, E, "not valid UTF-8");
    expect_bad_header("above U+10FFFF", "{\"\xf4\x90\x80\x80\":{}}", 0, E, "not valid UTF-8");
    expect_bad_header("cut sequence", "{}\xe2\x82", 0, E, "not valid UTF-8");
    expect_bad_header("invalid JSON", "{\"a\":}", 0, E, "not valid JSON");
    expect_bad_header("unterminated", "{\"a\":{\"dtype\":\"F32\"", 0, E, "not valid JSON");
    expect_bad_header("trailing garbage", "{}x", 0, E, "trailing characters at byte 2");
    expect_bad_header("two objects", "{}{}", 0, E, "trailing characters");
    expect_bad_header("trailing comma", "{\"__metadata__\":{},}", 0, E, "not valid JSON");
    expect_bad_header("raw control char", "{\"a\tb\":{}}", 0, E, "raw control character");
    write_st_n(path, 3, "{\x01}", 3, zeros, 0);
    expect_open_error(path, E, "control character 0x01", "control char between tokens");
    write_st_n(path, 4, "{}\0 ", 4, zeros, 0);
    expect_open_error(path, E, "trailing characters", "NUL after the object");
    expect_bad_header("escaped NUL",
                      "{\"a\\u0000\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}", 1, E,
                      "escaped NUL");
}

static void test_sdk_safetensors__bad_keys(void)
{
    expect_bad_header("duplicate tensor",
                      "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                      "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                      2, E, "duplicate key 'a' in the header");
    expect_bad_header("duplicate field",
                      "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],"
                      "\"data_offsets\":[0,1]}}",
                      1, E, "tensor 'a' has a duplicate key 'dtype'");
    expect_bad_header("duplicate metadata key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
                      E, "duplicate key 'k' in '__metadata__'");
    expect_bad_header("duplicate __metadata__", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, E,
                      "duplicate key '__metadata__'");
    expect_bad_header("metadata number", "{\"__metadata__\":{\"k\":1}}", 0, E,
                      "value of 'k' is not a string");
    expect_bad_header("metadata nested", "{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, E,
                      "value of 'k' is not a string");
    expect_bad_header("metadata array", "{\"__metadata__\":[\"k\"]}", 0, E,
                      "'__metadata__' is not a JSON object");
    expect_bad_header("entry not an object", "{\"a\":5}", 0, E, "tensor 'a' is not a JSON object");
    expect_bad_header("missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, E,
                      "tensor 'a' has no 'dtype'");
    expect_bad_header("missing shape", "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, E,
                      "tensor 'a' has no 'shape'");
    expect_bad_header("missing offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, E,
                      "tensor 'a' has no 'data_offsets'");
    expect_bad_header("extra field",
                      "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":0}}", 1,
                      E, "unexpected key 'x'");
}

static void test_sdk_safetensors__bad_dtype_and_shape(void)
{
#define T(dt, shape, offs)                                                                         \
    "{\"t\":{\"dtype\":" dt ",\"shape\":" shape ",\"data_offsets\":" offs "}}"
    expect_bad_header("unknown dtype", T("\"F33\"", "[1]", "[0,4]"), 4, E, "unknown dtype 'F33'");
    expect_bad_header("lowercase dtype", T("\"f32\"", "[1]", "[0,4]"), 4, E, "unknown dtype");
    expect_bad_header("fp8", T("\"F8_E4M3\"", "[1]", "[0,1]"), 1, TC_EUNSUPPORTED,
                      "dtype 'F8_E4M3', which is not supported");
    expect_bad_header("complex", T("\"C64\"", "[1]", "[0,8]"), 8, TC_EUNSUPPORTED, "'C64'");
    expect_bad_header("dtype number", T("9", "[1]", "[0,4]"), 4, E, "'dtype' is not a string");
    expect_bad_header("shape not array", T("\"U8\"", "1", "[0,1]"), 1, E,
                      "'shape' is not an array");
    expect_bad_header("negative dim", T("\"U8\"", "[-1]", "[0,1]"), 1, E,
                      "shape entry 0 is negative");
    expect_bad_header("fractional dim", T("\"U8\"", "[1,1.5]", "[0,1]"), 1, E,
                      "shape entry 1 is not an integer");
    expect_bad_header("string dim", T("\"U8\"", "[\"1\"]", "[0,1]"), 1, E, "is not a number");
    expect_bad_header("dim written 1.0", T("\"U8\"", "[1.0]", "[0,1]"), 1, E,
                      "not a plain non-negative integer");
    expect_bad_header("dim written 1e0", T("\"U8\"", "[1e0]", "[0,1]"), 1, E,
                      "not a plain non-negative integer");
    expect_bad_header("leading zero", T("\"U8\"", "[01]", "[0,1]"), 1, E,
                      "not a plain non-negative integer");
    expect_bad_header("dim 2^53", T("\"U8\"", "[9007199254740992]", "[0,1]"), 1, E,
                      "shape entry 0 is not below 2^53");
    expect_bad_header("nine dims", T("\"U8\"", "[1,1,1,1,1,1,1,1,1]", "[0,1]"), 1, TC_EUNSUPPORTED,
                      "9 dimensions");
    expect_bad_header("count overflow", T("\"U8\"", "[4294967296,4294967296,4294967296]", "[0,1]"),
                      1, E, "tensor 't': the element count overflows");
    expect_bad_header("byte overflow", T("\"I64\"", "[1099511627776,8388608]", "[0,8]"), 8, E,
                      "tensor 't': the byte size overflows");
    expect_bad_header("size mismatch", T("\"F32\"", "[2]", "[0,12]"), 12, E,
                      "tensor 't' has shape [2] of F32 (8 bytes) but data_offsets [0, 12] span 12");
    expect_bad_header("offsets not a pair", T("\"U8\"", "[1]", "[0]"), 1, E,
                      "'data_offsets' is not an array");
    expect_bad_header("negative offset", T("\"U8\"", "[1]", "[-1,0]"), 1, E,
                      "data_offsets[0] is negative");
    expect_bad_header("END < BEGIN", T("\"U8\"", "[0]", "[8,4]"), 8, E, "with END < BEGIN");
#undef T
}

static void test_sdk_safetensors__bad_layout(void)
{
    expect_bad_header(
        "hole",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
        12, E,
        "hole in the data buffer: tensor 'b' starts at byte 8 but the data before it ends "
        "at byte 4");
    expect_bad_header("not from 0",
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, E,
                      "hole in the data buffer: tensor 'a' starts at byte 4");
    expect_bad_header("overlap",
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                      8, E, "tensor 'b' starts at byte 4, overlapping");
    expect_bad_header("same range",
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                      4, E, "overlapping");
    expect_bad_header("trailing bytes",
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, E,
                      "4 trailing bytes after the last tensor");
    expect_bad_header("data past the end",
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, E,
                      "ends at byte 8 but the file has only 4 data bytes");
    expect_bad_header("bytes but no tensors", "{}", 1, E, "1 trailing bytes");
}

/* Well-formed files from other writers: any key order, whitespace, misaligned data. */
static void test_sdk_safetensors__read_valid(void)
{
    const char *path = tmp_file("valid.safetensors");
    const char *header =
        "{ \"z\" : {\"data_offsets\":[3,11],\"shape\":[2],\"dtype\":\"F32\"},\n"
        "\"__metadata__\":{\"format\":\"pt\",\"e\\u00e9\\n\":\"\\\"q\\\"\"},"
        "\"scalar\":{\"dtype\":\"I16\",\"shape\":[],\"data_offsets\":[1,3]},"
        "\"empty\":{\"dtype\":\"F64\",\"shape\":[0,5],\"data_offsets\":[11,11]},"
        "\"a\\\"b\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1]},"
        "\"ids\":{\"dtype\":\"I64\",\"shape\":[1,2],\"data_offsets\":[11,27]}}\t\r\n ";
    unsigned char data[27];
    const float zf[2] = {1.5f, -2.25f};
    const int64_t ids[2] = {-3, (int64_t)1 << 40};
    const int16_t s16 = -7;
    tc_safetensors *st = NULL;
    const tc_st_tensor *t;
    float f[4];
    unsigned char raw[16];

    data[0] = 1;
    memcpy(data + 1, &s16, 2);
    memcpy(data + 3, zf, 8);
    memcpy(data + 11, ids, 16);
    write_st(path, header, data, sizeof(data));
    TC_CHECK_OK(tc_safetensors_open(&st, path));
    if (!st)
        return;
    TC_CHECK(tc_safetensors_count(st) == 5);
    /* file order = offset order */
    TC_CHECK(strcmp(tc_safetensors_at(st, 0)->name, "a\"b") == 0);
    TC_CHECK(strcmp(tc_safetensors_at(st, 1)->name, "scalar") == 0);
    TC_CHECK(strcmp(tc_safetensors_at(st, 2)->name, "z") == 0);
    TC_CHECK(strcmp(tc_safetensors_at(st, 3)->name, "empty") == 0);
    TC_CHECK(strcmp(tc_safetensors_at(st, 4)->name, "ids") == 0);
    TC_CHECK(tc_safetensors_at(st, 5) == NULL);
    TC_CHECK(strcmp(tc_safetensors_metadata(st, "format"), "pt") == 0);
    TC_CHECK(strcmp(tc_safetensors_metadata(st, "e\xc3\xa9\n"), "\"q\"") == 0);
    TC_CHECK(tc_safetensors_metadata(st, "missing") == NULL);
    TC_CHECK(tc_safetensors_find(st, "nope") == NULL);
    t = tc_safetensors_find(st, "ids");
    TC_CHECK(t && t->dtype == TC_ST_I64 && t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == 2 &&
             t->begin == 11 && t->end == 27);
    t = tc_safetensors_find(st, "scalar");
    TC_CHECK(t && t->ndim == 0 && t->dtype == TC_ST_I16);
    t = tc_safetensors_find(st, "empty");
    TC_CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->begin == t->end);
    /* misaligned F32 at file offset 8 + N + 3 */
    TC_CHECK_OK(tc_safetensors_read_f32(st, "z", f, 2));
    TC_CHECK(f[0] == 1.5f && f[1] == -2.25f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "ids", f, 2));
    TC_CHECK(f[0] == -3.0f && f[1] == 1099511627776.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "scalar", f, 1));
    TC_CHECK(f[0] == -7.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "a\"b", f, 1));
    TC_CHECK(f[0] == 1.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "empty", f, 0));
    TC_CHECK_OK(tc_safetensors_read_raw(st, "ids", raw, 16));
    TC_CHECK(memcmp(raw, ids, 16) == 0);
    /* wrong sizes and names */
    TC_CHECK_ERR(tc_safetensors_read_f32(st, "z", f, 3), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tensor 'z' has 2 elements, not 3");
    TC_CHECK_ERR(tc_safetensors_read_raw(st, "z", raw, 4), TC_EINVAL);
    TC_CHECK_ERR(tc_safetensors_read_f32(st, "nope", f, 1), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "no tensor 'nope'");
    /* a file cut short after open */
    TC_CHECK(truncate(path, 8 + (off_t)strlen(header) + 12) == 0);
    TC_CHECK_ERR(tc_safetensors_read_f32(st, "ids", f, 2), TC_EIO);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "truncated");
    tc_safetensors_free(st);
    tc_safetensors_free(NULL);

    write_st(path, "{}", NULL, 0);
    st = NULL;
    TC_CHECK_OK(tc_safetensors_open(&st, path));
    TC_CHECK(tc_safetensors_count(st) == 0 && tc_safetensors_at(st, 0) == NULL);
    tc_safetensors_free(st);
}

/* Larger than one conversion chunk (1 MiB), from F16 and BF16. */
static void test_sdk_safetensors__read_large_converted(void)
{
    const char *path = tmp_file("large.safetensors");
    enum { N = 700000 };
    uint16_t *h = malloc(N * 2), *b = malloc(N * 2);
    float *f = malloc(N * sizeof(float));
    int64_t shape[1] = {N};
    tc_st_entry e[2] = {{"h", TC_ST_F16, 1, shape, h}, {"b", TC_ST_BF16, 1, shape, b}};
    tc_safetensors *st = NULL;
    int i, ok = 1;

    for (i = 0; i < N; i++) {
        h[i] = (uint16_t)(0x3C00 + (i % 1024)); /* 1 + (i % 1024) / 1024 */
        b[i] = (uint16_t)(0x3F80 + (i % 128));  /* 1 + (i % 128) / 128 */
    }
    TC_CHECK_OK(tc_safetensors_write(path, e, 2, NULL));
    TC_CHECK_OK(tc_safetensors_open(&st, path));
    TC_CHECK_OK(tc_safetensors_read_f32(st, "h", f, N));
    for (i = 0; i < N; i++)
        ok &= f[i] == 1.0f + (float)(i % 1024) / 1024.0f;
    TC_CHECK(ok);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "b", f, N));
    for (i = 0; i < N; i++)
        ok &= f[i] == 1.0f + (float)(i % 128) / 128.0f;
    TC_CHECK(ok);
    tc_safetensors_free(st);
    free(h);
    free(b);
    free(f);
}

static void test_sdk_safetensors__half_conversion(void)
{
    const char *path = tmp_file("half.safetensors");
    const uint16_t h[8] = {0x3C00, 0xC000, 0x0001, 0x8000, 0x7C00, 0xFC00, 0x7BFF, 0x03FF};
    const uint16_t bf[4] = {0x3F80, 0xC060, 0x7F80, 0x0001};
    const int64_t sh[1] = {8}, sb[1] = {4};
    tc_st_entry e[2] = {{"h", TC_ST_F16, 1, sh, h}, {"bf", TC_ST_BF16, 1, sb, bf}};
    tc_safetensors *st = NULL;
    float f[8];

    TC_CHECK_OK(tc_safetensors_write(path, e, 2, NULL));
    TC_CHECK_OK(tc_safetensors_open(&st, path));
    TC_CHECK_OK(tc_safetensors_read_f32(st, "h", f, 8));
    TC_CHECK(f[0] == 1.0f && f[1] == -2.0f);
    TC_CHECK(f[2] == ldexpf(1.0f, -24));     /* smallest subnormal */
    TC_CHECK(f[3] == 0.0f && signbit(f[3])); /* -0 */
    TC_CHECK(isinf(f[4]) && f[4] > 0 && isinf(f[5]) && f[5] < 0);
    TC_CHECK(f[6] == 65504.0f);             /* largest finite */
    TC_CHECK(f[7] == ldexpf(1023.0f, -24)); /* largest subnormal */
    TC_CHECK_OK(tc_safetensors_read_f32(st, "bf", f, 4));
    TC_CHECK(f[0] == 1.0f && f[1] == -3.5f && isinf(f[2]));
    TC_CHECK(f[3] == ldexpf(1.0f, -133));
    tc_safetensors_free(st);
}

static void check_bytes(const char *path, const unsigned char *want, size_t want_len)
{
    size_t len = 0, i;
    unsigned char *got = read_all(path, &len);

    TC_CHECK(got != NULL);
    TC_CHECK(len == want_len);
    if (got && len == want_len && memcmp(got, want, len) != 0) {
        for (i = 0; i < len && got[i] == want[i]; i++)
            ;
        fprintf(stderr, "  first difference at byte %zu: got 0x%02x, want 0x%02x\n", i, got[i],
                want[i]);
        TC_CHECK(!"bytes differ");
    }
    free(got);
}

/* le64(N) + header padded with spaces to a multiple of 8 + data */
static size_t build_expected(unsigned char *out, const char *json, const void *data, size_t dlen)
{
    size_t n = strlen(json), padded = (n + 7) / 8 * 8;

    put_le64(out, padded);
    memcpy(out + 8, json, n);
    memset(out + 8 + n, ' ', padded - n);
    if (dlen)
        memcpy(out + 8 + padded, data, dlen);
    return 8 + padded + dlen;
}

/* The examples from the reference library's own serialization tests. */
static void test_sdk_safetensors__bytes_reference_examples(void)
{
    static const unsigned char attn[] = {
        64, 0,  0,   0,   0,   0,   0,   0,   123, 34,  97,  116, 116, 110, 46,  48,
        34, 58, 123, 34,  100, 116, 121, 112, 101, 34,  58,  34,  70,  51,  50,  34,
        44, 34, 115, 104, 97,  112, 101, 34,  58,  91,  49,  44,  50,  44,  51,  93,
        44, 34, 100, 97,  116, 97,  95,  111, 102, 102, 115, 101, 116, 115, 34,  58,
        91, 48, 44,  50,  52,  93,  125, 125, 0,   0,   0,   0,   0,   0,   128, 63,
        0,  0,  0,   64,  0,   0,   64,  64,  0,   0,   128, 64,  0,   0,   160, 64};
    static const unsigned char empty[] = {8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32};
    static const unsigned char empty_meta[] = {
        40,  0,   0,   0,  0,  0,  0,   0,   123, 34,  95,  95,  109, 101, 116, 97,
        100, 97,  116, 97, 95, 95, 34,  58,  123, 34,  102, 114, 97,  109, 101, 119,
        111, 114, 107, 34, 58, 34, 112, 116, 34,  125, 125, 32,  32,  32,  32,  32};
    const char *path = tmp_file("ref.safetensors");
    const float v[6] = {0, 1, 2, 3, 4, 5};
    const int64_t s3[3] = {1, 2, 3}, s4[4] = {1, 1, 2, 3};
    const char *const meta[] = {"framework", "pt", NULL};
    const char *const no_meta[] = {NULL};
    tc_st_entry e = {"attn.0", TC_ST_F32, 3, s3, v};
    unsigned char want[256];
    size_t n;

    TC_CHECK_OK(tc_safetensors_write(path, &e, 1, NULL));
    check_bytes(path, attn, sizeof(attn));
    /* 65 header bytes, padded with 7 spaces */
    e.name = "attn0";
    e.ndim = 4;
    e.shape = s4;
    TC_CHECK_OK(tc_safetensors_write(path, &e, 1, NULL));
    n = build_expected(
        want, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}", v,
        sizeof(v));
    TC_CHECK(n == 8 + 72 + 24);
    check_bytes(path, want, n);
    TC_CHECK_OK(tc_safetensors_write(path, NULL, 0, NULL));
    check_bytes(path, empty, sizeof(empty));
    TC_CHECK_OK(tc_safetensors_write(path, NULL, 0, meta));
    check_bytes(path, empty_meta, sizeof(empty_meta));
    /* an empty (non-NULL) metadata list still writes the key */
    TC_CHECK_OK(tc_safetensors_write(path, NULL, 0, no_meta));
    n = build_expected(want, "{\"__metadata__\":{}}", NULL, 0);
    check_bytes(path, want, n);
}

/* The layout transformers produces: 8-byte dtypes first, then by name, __metadata__ first. */
static void test_sdk_safetensors__bytes_by_hand(void)
{
    const char *path = tmp_file("hand.safetensors");
    const float b[2] = {1.0f, -2.0f};
    const int64_t a[2] = {7, -1}, s2[1] = {2};
    const char *const meta[] = {"format", "pt", NULL};
    tc_st_entry e[2] = {{"b", TC_ST_F32, 1, s2, b}, {"a", TC_ST_I64, 1, s2, a}};
    unsigned char want[512], data[24];
    size_t n;

    memcpy(data, a, 16);
    memcpy(data + 16, b, 8);
    TC_CHECK_OK(tc_safetensors_write(path, e, 2, meta));
    n = build_expected(want,
                       "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
                       data, sizeof(data));
    check_bytes(path, want, n);
}

static size_t append(unsigned char *dst, size_t at, const void *src, size_t n)
{
    memcpy(dst + at, src, n);
    return at + n;
}

/* Same-size dtypes follow the reference enum order (U64 > I64 > F64), not the name. */
static void test_sdk_safetensors__bytes_dtype_order(void)
{
    const char *path = tmp_file("order.safetensors");
    const uint8_t u8[1] = {9}, bo[1] = {1};
    const uint16_t h[1] = {0x3C00}, bf[1] = {0x3F80};
    const double f64[1] = {0.5};
    const int64_t i64[1] = {-5}, one[1] = {1};
    const uint64_t u64[1] = {5};
    const int32_t i32[1] = {-2};
    tc_st_entry e[8] = {
        {"a", TC_ST_F64, 1, one, f64}, {"b", TC_ST_I64, 1, one, i64}, {"c", TC_ST_U64, 1, one, u64},
        {"d", TC_ST_BOOL, 1, one, bo}, {"e", TC_ST_U8, 1, one, u8},   {"f", TC_ST_F16, 1, one, h},
        {"g", TC_ST_BF16, 1, one, bf}, {"h", TC_ST_I32, 1, one, i32},
    };
    unsigned char want[1024], data[64];
    size_t n, d = 0;

    d = append(data, d, u64, 8);
    d = append(data, d, i64, 8);
    d = append(data, d, f64, 8);
    d = append(data, d, i32, 4);
    d = append(data, d, bf, 2);
    d = append(data, d, h, 2);
    d = append(data, d, u8, 1);
    d = append(data, d, bo, 1);
    TC_CHECK_OK(tc_safetensors_write(path, e, 8, NULL));
    n = build_expected(want,
                       "{\"c\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]},"
                       "\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]},"
                       "\"h\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[24,28]},"
                       "\"g\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[28,30]},"
                       "\"f\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[30,32]},"
                       "\"e\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[32,33]},"
                       "\"d\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[33,34]}}",
                       data, d);
    check_bytes(path, want, n);
}

/* serde_json escaping: quote, backslash, control characters; non-ASCII stays raw. */
static void test_sdk_safetensors__bytes_escaping(void)
{
    const char *path = tmp_file("esc.safetensors");
    const char *name = "q\"b\\s/\x01\x1f\t\n\r\b\f\x7f\xc3\xa9";
    const char *const meta[] = {"k\"", "v\\\n\xe2\x82\xac", NULL};
    const uint8_t v[1] = {3};
    const int64_t one[1] = {1};
    tc_st_entry e = {name, TC_ST_U8, 1, one, v};
    tc_safetensors *st = NULL;
    unsigned char want[512];
    size_t n;

    TC_CHECK_OK(tc_safetensors_write(path, &e, 1, meta));
    n = build_expected(want,
                       "{\"__metadata__\":{\"k\\\"\":\"v\\\\\\n\xe2\x82\xac\"},"
                       "\"q\\\"b\\\\s/\\u0001\\u001f\\t\\n\\r\\b\\f\x7f\xc3\xa9\":"
                       "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                       v, 1);
    check_bytes(path, want, n);
    TC_CHECK_OK(tc_safetensors_open(&st, path));
    TC_CHECK(st && tc_safetensors_find(st, name) != NULL);
    TC_CHECK(st && strcmp(tc_safetensors_metadata(st, "k\""), "v\\\n\xe2\x82\xac") == 0);
    tc_safetensors_free(st);
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Every dtype, scalars and empty tensors: write, read back, write again byte-identical. */
static void test_sdk_safetensors__round_trip(void)
{
    char dir[300];
    const char *p1, *p2;
    const float w[6] = {1, -2, 3.5f, 0, 1e-30f, -7};
    const uint16_t h[3] = {0x3C00, 0x0001, 0xFC00}, bf[2] = {0x3F80, 0xC060}, u16[1] = {65535};
    const int16_t i16[2] = {-32768, 5};
    const int8_t i8[2] = {-128, 127};
    const uint8_t u8[3] = {0, 200, 255}, bo[2] = {0, 1};
    const int32_t i32[1] = {-2147483647 - 1};
    const uint32_t u32[1] = {4000000000u};
    const int64_t i64[3] = {-1, 5, (int64_t)1 << 40};
    const uint64_t u64[1] = {UINT64_MAX};
    const double f64[2] = {0.1, -1e300};
    const float s[1] = {42};
    const int64_t s23[2] = {2, 3}, s3[1] = {3}, s2[1] = {2}, s1[1] = {1}, s04[2] = {0, 4};
    tc_st_entry e[16] = {
        {"w", TC_ST_F32, 2, s23, w},        {"h", TC_ST_F16, 1, s3, h},
        {"bf", TC_ST_BF16, 1, s2, bf},      {"u16", TC_ST_U16, 1, s1, u16},
        {"i16", TC_ST_I16, 1, s2, i16},     {"i8", TC_ST_I8, 1, s2, i8},
        {"u8", TC_ST_U8, 1, s3, u8},        {"bool", TC_ST_BOOL, 1, s2, bo},
        {"i32", TC_ST_I32, 1, s1, i32},     {"u32", TC_ST_U32, 1, s1, u32},
        {"i64", TC_ST_I64, 1, s3, i64},     {"u64", TC_ST_U64, 1, s1, u64},
        {"f64", TC_ST_F64, 1, s2, f64},     {"scalar", TC_ST_F32, 0, NULL, s},
        {"empty", TC_ST_F32, 2, s04, NULL}, {"layer.0.attn/q", TC_ST_F32, 1, s1, s},
    };
    tc_st_entry back[16], rev[16];
    void *bufs[16] = {0};
    const char *const meta[] = {"format", "pt", "note", "caf\xc3\xa9 \"x\"", NULL};
    tc_safetensors *st = NULL;
    unsigned char *b1, *b2;
    size_t l1 = 0, l2 = 0, i;
    float f[8];

    p1 = tmp_file("rt1.safetensors");
    TC_CHECK_OK(tc_safetensors_write(p1, e, 16, meta));
    TC_CHECK_OK(tc_safetensors_open(&st, p1));
    if (!st)
        return;
    TC_CHECK(tc_safetensors_count(st) == 16);
    TC_CHECK(strcmp(tc_safetensors_metadata(st, "note"), "caf\xc3\xa9 \"x\"") == 0);
    for (i = 0; i < 16; i++) {
        const tc_st_tensor *t = tc_safetensors_find(st, e[i].name);
        size_t nb;
        TC_CHECK(t != NULL);
        if (!t)
            continue;
        nb = (size_t)(t->end - t->begin);
        TC_CHECK(t->dtype == e[i].dtype && t->ndim == e[i].ndim);
        TC_CHECK(e[i].ndim == 0 || memcmp(t->shape, e[i].shape, 8 * (size_t)e[i].ndim) == 0);
        /* alignment: every tensor starts at a multiple of its element size in the file */
        TC_CHECK(t->begin % tc_st_dtype_size(t->dtype) == 0); /* and N is a multiple of 8 */
        bufs[i] = malloc(nb + 1);
        TC_CHECK_OK(tc_safetensors_read_raw(st, e[i].name, bufs[i], nb));
        TC_CHECK(nb == 0 || memcmp(bufs[i], e[i].data, nb) == 0);
        back[i] = e[i];
        back[i].data = bufs[i];
        rev[15 - i] = back[i];
    }
    TC_CHECK_OK(tc_safetensors_read_f32(st, "w", f, 6));
    TC_CHECK(f[2] == 3.5f && f[4] == 1e-30f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "u8", f, 3));
    TC_CHECK(f[1] == 200.0f && f[2] == 255.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "i8", f, 2));
    TC_CHECK(f[0] == -128.0f && f[1] == 127.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "i16", f, 2));
    TC_CHECK(f[0] == -32768.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "u16", f, 1));
    TC_CHECK(f[0] == 65535.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "i32", f, 1));
    TC_CHECK(f[0] == -2147483648.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "u32", f, 1));
    TC_CHECK(f[0] == 4000000000.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "u64", f, 1));
    TC_CHECK(f[0] == 18446744073709551616.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "f64", f, 2));
    TC_CHECK(f[0] == 0.1f && isinf(f[1]) && f[1] < 0);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "bool", f, 2));
    TC_CHECK(f[0] == 0.0f && f[1] == 1.0f);
    TC_CHECK_OK(tc_safetensors_read_f32(st, "scalar", f, 1));
    TC_CHECK(f[0] == 42.0f);
    /* the 8-byte dtypes come first: u64, i64, f64 */
    TC_CHECK(strcmp(tc_safetensors_at(st, 0)->name, "u64") == 0);
    TC_CHECK(strcmp(tc_safetensors_at(st, 1)->name, "i64") == 0);
    TC_CHECK(strcmp(tc_safetensors_at(st, 2)->name, "f64") == 0);
    tc_safetensors_free(st);

    /* rewrite from what was read, in reverse input order: identical bytes */
    p2 = tmp_file("rt2.safetensors");
    TC_CHECK_OK(tc_safetensors_write(p2, rev, 16, meta));
    b1 = read_all(p1, &l1);
    b2 = read_all(p2, &l2);
    TC_CHECK(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0);
    TC_CHECK(l1 > 8 && ((uint64_t)b1[0] | (uint64_t)b1[1] << 8) % 8 == 0);
    free(b1);
    free(b2);
    for (i = 0; i < 16; i++)
        free(bufs[i]);

    /* atomic write leaves no temporary files behind */
    snprintf(dir, sizeof(dir), "%s/rtdir", tmpdir);
    mkdir(dir, 0755);
    snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/x.safetensors");
    TC_CHECK_OK(tc_safetensors_write(dir, e, 16, NULL));
    TC_CHECK_OK(tc_safetensors_write(dir, e, 3, NULL)); /* replaces */
    dir[strlen(dir) - strlen("/x.safetensors")] = '\0';
    TC_CHECK(dir_entries(dir) == 1);
}

static void test_sdk_safetensors__write_errors(void)
{
    const char *path = tmp_file("werr.safetensors");
    const float v[2] = {1, 2};
    const int64_t s2[1] = {2}, neg[1] = {-1}, big[1] = {(int64_t)1 << 53};
    const char *const odd[] = {"k", NULL, NULL};
    const char *const dup[] = {"k", "1", "k", "2", NULL};
    const char *const badutf[] = {"k", "\xff", NULL};
    tc_st_entry e[2] = {{"a", TC_ST_F32, 1, s2, v}, {"a", TC_ST_F32, 1, s2, v}};

    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "duplicate safetensors tensor name 'a'");
    e[1].name = "";
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    e[1].name = "__metadata__";
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    e[1].name = "\xc3";
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "UTF-8");
    e[1].name = "b";
    e[1].shape = neg;
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tensor 'b' has an invalid dimension -1");
    e[1].shape = big;
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    e[1].shape = s2;
    e[1].ndim = TC_SAFETENSORS_MAX_DIMS + 1;
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    e[1].ndim = 1;
    e[1].dtype = TC_ST_DTYPE_MAX;
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    e[1].dtype = TC_ST_F32;
    e[1].data = NULL;
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, NULL), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tensor 'b' has no data");
    e[1].data = v;
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, odd), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "metadata key 'k' has no value");
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, dup), TC_EINVAL);
    TC_CHECK_ERR(tc_safetensors_write(path, e, 2, badutf), TC_EINVAL);
    TC_CHECK_ERR(tc_safetensors_write(NULL, e, 2, NULL), TC_EINVAL);
    TC_CHECK_ERR(tc_safetensors_write(path, NULL, 2, NULL), TC_EINVAL);
    TC_CHECK(access(path, F_OK) != 0); /* nothing was written */
    TC_CHECK_ERR(tc_safetensors_write(tmp_file("no/such/dir.safetensors"), e, 2, NULL),
                 TC_ENOTFOUND);
    TC_CHECK_OK(tc_safetensors_write(path, e, 2, NULL));
    TC_CHECK(tc_st_dtype_size(TC_ST_BF16) == 2 && tc_st_dtype_size(TC_ST_DTYPE_MAX) == 0);
    TC_CHECK(strcmp(tc_st_dtype_name(TC_ST_U64), "U64") == 0);
    TC_CHECK(tc_st_dtype_name((tc_st_dtype)-1) == NULL);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_sdk_safetensors__cleanup(void)
{
    if (tmpdir[0])
        TC_CHECK(nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == 0);
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_safetensors__bad_length_field),
    TC_TEST(test_sdk_safetensors__bad_encoding),
    TC_TEST(test_sdk_safetensors__bad_keys),
    TC_TEST(test_sdk_safetensors__bad_dtype_and_shape),
    TC_TEST(test_sdk_safetensors__bad_layout),
    TC_TEST(test_sdk_safetensors__read_valid),
    TC_TEST(test_sdk_safetensors__read_large_converted),
    TC_TEST(test_sdk_safetensors__half_conversion),
    TC_TEST(test_sdk_safetensors__bytes_reference_examples),
    TC_TEST(test_sdk_safetensors__bytes_by_hand),
    TC_TEST(test_sdk_safetensors__bytes_dtype_order),
    TC_TEST(test_sdk_safetensors__bytes_escaping),
    TC_TEST(test_sdk_safetensors__round_trip),
    TC_TEST(test_sdk_safetensors__write_errors),
    TC_TEST(test_sdk_safetensors__cleanup),
};

TC_TEST_MAIN(tests)
