/*
 * test_parquet.c - <tc/table.h> on Parquet: every fixture of tests/fixtures/table/parquet
 * (written by parquet-wasm and hyparquet-writer) read back equals what hyparquet read,
 * selection, row counts, file lists, streaming in bounded memory, and malformed files:
 * truncated, bad magic, lying footer length, Thrift garbage, lying page sizes, dictionary
 * indices out of range, bad RLE runs, wrong compression payloads.
 *
 * Malformed files are made by a small writer below (Thrift compact encoding, pages, footer),
 * so each case is exactly the fault it names.
 */
#include <dirent.h>
#include <string.h>

#include <tc/error.h>
#include <tc/table.h>

#include "table_internal.h"
#include "table_test_util.h"

/* ---- a minimal Parquet writer -------------------------------------------------------------- */

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
} wbuf;

static void wb_put(wbuf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void wb_u8(wbuf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    wb_put(b, &c, 1);
}

static void wb_varint(wbuf *b, uint64_t v)
{
    while (v >= 0x80) {
        wb_u8(b, (unsigned)(v & 0x7f) | 0x80);
        v >>= 7;
    }
    wb_u8(b, (unsigned)v);
}

static void wb_zz(wbuf *b, int64_t v)
{
    wb_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void wb_le32(wbuf *b, uint32_t v)
{
    uint8_t c[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wb_put(b, c, 4);
}

/* Thrift compact writer: fields of nested structures. */
typedef struct tw {
    wbuf *b;
    int16_t last[64];
    int depth;
} tw;

static void tw_field(tw *w, int16_t id, int type)
{
    int d = id - w->last[w->depth];

    if (d > 0 && d <= 15) {
        wb_u8(w->b, (unsigned)(d << 4 | type));
    } else {
        wb_u8(w->b, (unsigned)type);
        wb_zz(w->b, id);
    }
    w->last[w->depth] = id;
}

static void tw_i32(tw *w, int16_t id, int64_t v)
{
    tw_field(w, id, 5);
    wb_zz(w->b, v);
}

static void tw_i64(tw *w, int16_t id, int64_t v)
{
    tw_field(w, id, 6);
    wb_zz(w->b, v);
}

static void tw_str(tw *w, int16_t id, const char *s)
{
    tw_field(w, id, 8);
    wb_varint(w->b, strlen(s));
    wb_put(w->b, s, strlen(s));
}

static void tw_begin(tw *w, int16_t id)
{
    tw_field(w, id, 12);
    w->last[++w->depth] = 0;
}

/* A structure that is a list element. */
static void tw_elem(tw *w)
{
    w->last[++w->depth] = 0;
}

static void tw_end(tw *w)
{
    wb_u8(w->b, 0);
    w->depth--;
}

static void tw_list(tw *w, int16_t id, int etype, uint32_t n)
{
    tw_field(w, id, 9);
    if (n < 15) {
        wb_u8(w->b, n << 4 | (unsigned)etype);
    } else {
        wb_u8(w->b, 0xf0 | (unsigned)etype);
        wb_varint(w->b, n);
    }
}

enum { PAGE_DATA = 0, PAGE_DICT = 2, PAGE_DATA_V2 = 3 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_RLE_DICT = 8 };
enum { T_INT32 = 1, T_BYTE_ARRAY = 6 };
enum { C_NONE = 0, C_SNAPPY = 1, C_GZIP = 2, C_ZSTD = 6, C_LZ4_RAW = 7 };

/* A page: header then payload. usize -1: the payload's size. */
static void w_page(wbuf *b, int kind, int32_t usize, const void *payload, size_t n,
                   int32_t num_values, int encoding)
{
    tw w = {b, {0}, 0};

    tw_i32(&w, 1, kind);
    tw_i32(&w, 2, usize < 0 ? (int64_t)n : usize);
    tw_i32(&w, 3, (int64_t)n);
    if (kind == PAGE_DICT) {
        tw_begin(&w, 7);
        tw_i32(&w, 1, num_values);
        tw_i32(&w, 2, encoding);
        tw_end(&w);
    } else {
        tw_begin(&w, 5);
        tw_i32(&w, 1, num_values);
        tw_i32(&w, 2, encoding);
        tw_i32(&w, 3, ENC_RLE);
        tw_i32(&w, 4, ENC_RLE);
        tw_end(&w);
    }
    wb_u8(b, 0);
    wb_put(b, payload, n);
}

typedef struct tcol {
    const char *name;
    int type;
    int optional;
    int codec;
} tcol;

typedef struct tchunk {
    wbuf bytes;
    size_t dict_len; /* bytes of the dictionary page at its start, 0 for none */
    int64_t num_values;
    int64_t offset_shift; /* added to the offsets written (to make them lie) */
} tchunk;

/* A file of nrg row groups of the columns, chunks[rg * nc + c]. */
static void w_file(wbuf *out, const tcol *cols, size_t nc, const int64_t *rg_rows, size_t nrg,
                   tchunk *chunks)
{
    int64_t *offs = calloc(nrg * nc, sizeof(*offs)), total = 0;
    wbuf meta = {0};
    tw w = {&meta, {0}, 0};

    wb_put(out, "PAR1", 4);
    for (size_t i = 0; i < nrg * nc; i++) {
        offs[i] = (int64_t)out->n;
        wb_put(out, chunks[i].bytes.p, chunks[i].bytes.n);
    }
    for (size_t r = 0; r < nrg; r++)
        total += rg_rows[r];
    tw_i32(&w, 1, 1);
    tw_list(&w, 2, 12, (uint32_t)nc + 1);
    tw_elem(&w);
    tw_str(&w, 4, "schema");
    tw_i32(&w, 5, (int64_t)nc);
    tw_end(&w);
    for (size_t c = 0; c < nc; c++) {
        tw_elem(&w);
        tw_i32(&w, 1, cols[c].type);
        tw_i32(&w, 3, cols[c].optional);
        tw_str(&w, 4, cols[c].name);
        if (cols[c].type == T_BYTE_ARRAY)
            tw_i32(&w, 6, 0); /* UTF8 */
        tw_end(&w);
    }
    tw_i64(&w, 3, total);
    tw_list(&w, 4, 12, (uint32_t)nrg);
    for (size_t r = 0; r < nrg; r++) {
        tw_elem(&w);
        tw_list(&w, 1, 12, (uint32_t)nc);
        for (size_t c = 0; c < nc; c++) {
            tchunk *ck = &chunks[r * nc + c];
            int64_t off = offs[r * nc + c] + ck->offset_shift;
            tw_elem(&w);
            tw_i64(&w, 2, off);
            tw_begin(&w, 3);
            tw_i32(&w, 1, cols[c].type);
            tw_list(&w, 2, 5, 1);
            wb_zz(&meta, 0);
            tw_list(&w, 3, 8, 1);
            wb_varint(&meta, strlen(cols[c].name));
            wb_put(&meta, cols[c].name, strlen(cols[c].name));
            tw_i32(&w, 4, cols[c].codec);
            tw_i64(&w, 5, ck->num_values);
            tw_i64(&w, 6, (int64_t)ck->bytes.n);
            tw_i64(&w, 7, (int64_t)ck->bytes.n);
            tw_i64(&w, 9, off + (int64_t)ck->dict_len);
            if (ck->dict_len)
                tw_i64(&w, 11, off);
            tw_end(&w);
            tw_end(&w);
        }
        tw_i64(&w, 2, 0);
        tw_i64(&w, 3, rg_rows[r]);
        tw_end(&w);
    }
    wb_u8(&meta, 0);
    wb_put(out, meta.p, meta.n);
    wb_le32(out, (uint32_t)meta.n);
    wb_put(out, "PAR1", 4);
    free(meta.p);
    free(offs);
}

/* One column, one row group, one chunk: the common shape of the malformed cases. */
static void w_simple(wbuf *out, const tcol *col, int64_t rows, tchunk *ck)
{
    w_file(out, col, 1, &rows, 1, ck);
    free(ck->bytes.p);
}

/* Read all of buf as a parquet file: the error code, or the rows read. */
static long read_buf(const wbuf *b, const char *name)
{
    tc_table *t = NULL;
    int rc = tc_table_open_memory(&t, b->p, b->n, name, NULL);
    long n;

    if (rc < 0)
        return rc;
    n = drain(t);
    tc_table_free(t);
    return n;
}

/* RLE run of n copies of v (bit width <= 8). */
static void rle_run(wbuf *b, uint32_t n, unsigned v)
{
    wb_varint(b, (uint64_t)n << 1);
    wb_u8(b, v);
}

/* ---- fixtures -------------------------------------------------------------------------------- */

static void test_table_parquet__fixtures(void)
{
    static const size_t batches[] = {1, 7, 100000};
    DIR *d = opendir(fixture("parquet"));
    struct dirent *e;
    int files = 0;

    TC_CHECK(d != NULL);
    if (!d)
        return;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 8 || strcmp(e->d_name + n - 8, ".parquet") != 0)
            continue;
        files++;
        for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
            long rows = check_fixture("parquet", e->d_name, batches[i]);
            TC_CHECK(rows >= 0);
        }
    }
    closedir(d);
    TC_CHECK(files >= 12);
}

static void test_table_parquet__select(void)
{
    const char *cols[] = {"s", "i64", "b"};
    cJSON *exp = load_expected("pw_dict_v1_snappy.parquet");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(exp, "rows");
    tc_table *t = NULL;
    const tc_value *row;
    size_t r = 0;
    int rc;

    TC_CHECK_OK(tc_table_open(&t, fixture("parquet/pw_dict_v1_snappy.parquet"), NULL));
    if (!t || !exp)
        goto out;
    TC_CHECK(tc_table_format_of(t) == TC_TABLE_FORMAT_PARQUET);
    TC_CHECK_OK(tc_table_select(t, cols, 3));
    /* Expected columns: b i32 i64 f32 f64 s bin cat. */
    while ((rc = tc_table_next(t, &row)) > 0) {
        const cJSON *er = cJSON_GetArrayItem(rows, (int)r);
        TC_CHECK(cell_equal(&row[0], cJSON_GetArrayItem(er, 5), TC_VALUE_STRING, r, "s"));
        TC_CHECK(cell_equal(&row[1], cJSON_GetArrayItem(er, 2), TC_VALUE_INT, r, "i64"));
        TC_CHECK(cell_equal(&row[2], cJSON_GetArrayItem(er, 0), TC_VALUE_BOOL, r, "b"));
        r++;
    }
    TC_CHECK(rc == 0);
    TC_CHECK(r == 40);
out:
    tc_table_free(t);
    cJSON_Delete(exp);
}

static void test_table_parquet__unsupported_columns(void)
{
    const char *nested[] = {"title", "nested"};
    const char *list[] = {"tags"};
    const char *ok[] = {"title", "u32", "ts"};
    tc_table *t = NULL;
    const tc_value *row;
    size_t i;

    TC_CHECK_OK(tc_table_open(&t, fixture("parquet/pw_logical_nested_snappy.parquet"), NULL));
    if (!t)
        return;
    TC_CHECK_OK(tc_table_column_find(t, "nested", &i));
    TC_CHECK_STR_CONTAINS(tc_table_column_at(t, i)->unsupported, "nested struct");
    TC_CHECK_ERR(tc_table_select(t, nested, 2), TC_EUNSUPPORTED);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "column 'nested' cannot be read: nested struct");
    TC_CHECK_ERR(tc_table_select(t, list, 1), TC_EUNSUPPORTED);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "column 'tags' cannot be read: nested list");
    TC_CHECK_ERR(tc_table_column_find(t, "absent", &i), TC_ENOTFOUND);
    TC_CHECK_OK(tc_table_select(t, ok, 3));
    TC_CHECK(tc_table_next(t, &row) == 1);
    TC_CHECK(row[1].type == TC_VALUE_INT && row[1].i == 4294967295LL); /* UINT_32 */
    TC_CHECK(row[2].type == TC_VALUE_INT && row[2].i % 1000 == 123);   /* ms timestamps */
    tc_table_free(t);
}

static void test_table_parquet__row_count_and_files(void)
{
    char a[4096], b[4096], c[4096];
    const char *same[2], *other[2];
    tc_table *t = NULL;
    int64_t n = 0;
    cJSON *ea = load_expected("pw_rowgroups_zstd.parquet");
    cJSON *eb = load_expected("pw_rowgroups_v2_snappy.parquet");

    snprintf(a, sizeof(a), "%s", fixture("parquet/pw_rowgroups_zstd.parquet"));
    snprintf(b, sizeof(b), "%s", fixture("parquet/pw_rowgroups_v2_snappy.parquet"));
    snprintf(c, sizeof(c), "%s", fixture("parquet/pw_dict_v1_snappy.parquet"));
    same[0] = a;
    same[1] = b;
    other[0] = a;
    other[1] = c;
    TC_CHECK_OK(tc_table_open_files(&t, same, 2, NULL));
    if (t) {
        TC_CHECK_OK(tc_table_row_count(t, &n));
        TC_CHECK(n == 460);
        /* The same 230 rows twice, through both files. */
        for (int f = 0; f < 2; f++) {
            cJSON *rows = cJSON_GetObjectItemCaseSensitive(f ? eb : ea, "rows");
            for (int r = 0; r < 230; r++) {
                const tc_value *row;
                const cJSON *er = cJSON_GetArrayItem(rows, r);
                TC_CHECK(tc_table_next(t, &row) == 1);
                TC_CHECK(
                    cell_equal(&row[0], cJSON_GetArrayItem(er, 0), TC_VALUE_INT, (size_t)r, "id"));
                TC_CHECK(cell_equal(&row[1], cJSON_GetArrayItem(er, 1), TC_VALUE_STRING, (size_t)r,
                                    "text"));
            }
        }
        TC_CHECK(drain(t) == 0);
        tc_table_free(t);
        t = NULL;
    }
    TC_CHECK_OK(tc_table_open_files(&t, other, 2, NULL));
    if (t) {
        TC_CHECK(drain(t) == TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "pw_dict_v1_snappy.parquet': no column 'id'");
        tc_table_free(t);
    }
    cJSON_Delete(ea);
    cJSON_Delete(eb);
}

/* Many row groups: memory stays at one page per column however long the file is. */
static void test_table_parquet__streaming(void)
{
    enum { RGS = 300, ROWS = 20, LEN = 1000 };
    tcol cols[2] = {{"id", T_INT32, 0, C_NONE}, {"text", T_BYTE_ARRAY, 1, C_NONE}};
    tchunk *ck = calloc(RGS * 2, sizeof(*ck));
    int64_t rows[RGS];
    char path[4096];
    wbuf file = {0};
    char text[LEN];
    tc_table *t = NULL;
    tc_table_batch b;
    FILE *f;
    long n = 0;
    int ok = 1;

    memset(text, 'x', sizeof(text));
    for (int r = 0; r < RGS; r++) {
        wbuf ids = {0}, strs = {0};
        rows[r] = ROWS;
        for (int i = 0; i < ROWS; i++)
            wb_le32(&ids, (uint32_t)(r * ROWS + i));
        /* Definition levels: all present. */
        wb_le32(&strs, 2);
        rle_run(&strs, ROWS, 1);
        for (int i = 0; i < ROWS; i++) {
            wb_le32(&strs, LEN);
            text[0] = (char)('a' + i % 26);
            wb_put(&strs, text, LEN);
        }
        w_page(&ck[2 * r].bytes, PAGE_DATA, -1, ids.p, ids.n, ROWS, ENC_PLAIN);
        w_page(&ck[2 * r + 1].bytes, PAGE_DATA, -1, strs.p, strs.n, ROWS, ENC_PLAIN);
        ck[2 * r].num_values = ck[2 * r + 1].num_values = ROWS;
        free(ids.p);
        free(strs.p);
    }
    w_file(&file, cols, 2, rows, RGS, ck);
    snprintf(path, sizeof(path), "%s/table_streaming.parquet", TC_TEST_BUILD_DIR);
    f = fopen(path, "wb");
    TC_CHECK(f && fwrite(file.p, 1, file.n, f) == file.n);
    if (f)
        fclose(f);
    TC_CHECK(file.n > 5 * 1000 * 1000);
    TC_CHECK_OK(tc_table_open(&t, path, NULL));
    while (t && tc_table_read(t, 16, &b) == 0 && b.n_rows) {
        for (size_t i = 0; i < b.n_rows; i++, n++) {
            ok &= b.cells[2 * i].i == n;
            ok &= b.cells[2 * i + 1].len == LEN && b.cells[2 * i + 1].str[0] == 'a' + n % ROWS % 26;
        }
    }
    TC_CHECK(ok);
    TC_CHECK(n == RGS * ROWS);
    /* One page of each column (20 kB of text) plus a batch of strings, not 6 MB. */
    if (t) {
        fprintf(stderr, "streamed %zu bytes in %ld rows, peak %zu bytes of buffers\n", file.n, n,
                tc__table_peak_bytes(t));
        TC_CHECK(tc__table_peak_bytes(t) < 256 * 1024);
    }
    tc_table_free(t);
    remove(path);
    for (int i = 0; i < RGS * 2; i++)
        free(ck[i].bytes.p);
    free(ck);
    free(file.p);
}

/* ---- malformed files --------------------------------------------------------------------- */

static void test_table_parquet__truncated(void)
{
    size_t len = 0;
    uint8_t *buf = slurp(fixture("parquet/pw_dict_v1_snappy.parquet"), &len);
    int all_failed = 1;

    TC_CHECK(buf != NULL);
    for (size_t n = 0; buf && n < len; n++) {
        wbuf b = {buf, n, n};
        long rc = read_buf(&b, "cut.parquet");
        if (rc >= 0)
            all_failed = 0;
        else if (!strstr(tc_error_message(), "cut.parquet"))
            all_failed = 0;
    }
    TC_CHECK(all_failed);
    /* The whole file reads. */
    if (buf) {
        wbuf b = {buf, len, len};
        TC_CHECK(read_buf(&b, "whole.parquet") == 40);
    }
    free(buf);
}

static void test_table_parquet__bad_magic_and_footer(void)
{
    size_t len = 0;
    uint8_t *buf = slurp(fixture("parquet/pw_plain_v1_none.parquet"), &len);
    wbuf b = {buf, len, len};
    uint32_t flen;

    if (!buf)
        return;
    memcpy(buf, "PAR0", 4);
    TC_CHECK(read_buf(&b, "m.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "file 'm.parquet': not a parquet file (no PAR1 magic at its start)");
    memcpy(buf, "PAR1", 4);
    memcpy(buf + len - 4, "RAP1", 4);
    TC_CHECK(read_buf(&b, "m.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "no PAR1 magic at its end");
    memcpy(buf + len - 4, "PARE", 4);
    TC_CHECK(read_buf(&b, "m.parquet") == TC_EUNSUPPORTED);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "encrypted");
    memcpy(buf + len - 4, "PAR1", 4);
    memcpy(&flen, buf + len - 8, 4);
    /* Footer length: more than the file, then less than the footer. */
    buf[len - 5] = 0x7f;
    TC_CHECK(read_buf(&b, "f.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "file 'f.parquet': footer length");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "is more than the file holds");
    memcpy(buf + len - 8, &flen, 4);
    buf[len - 8] = (uint8_t)(buf[len - 8] - 20);
    TC_CHECK(read_buf(&b, "f.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "file 'f.parquet': ");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "footer");
    memcpy(buf + len - 8, &flen, 4);
    TC_CHECK(read_buf(&b, "f.parquet") == 24);
    free(buf);
}

static void test_table_parquet__thrift_garbage(void)
{
    size_t len = 0;
    uint8_t *buf = slurp(fixture("parquet/hw_gzip_rowgroups.parquet"), &len);
    uint32_t flen, x = 12345;
    long ok = 0, failed = 0;

    if (!buf)
        return;
    memcpy(&flen, buf + len - 8, 4);
    /* Footer replaced by pseudo-random bytes: an error, never a crash. */
    for (int round = 0; round < 200; round++) {
        uint8_t *copy = malloc(len);
        wbuf b = {copy, len, len};
        memcpy(copy, buf, len);
        for (size_t i = len - 8 - flen; i < len - 8; i++) {
            x = x * 1103515245u + 12345u;
            copy[i] = (uint8_t)(x >> 16);
        }
        TC_CHECK(read_buf(&b, "g.parquet") < 0);
        free(copy);
    }
    /* Every footer byte changed in turn: either reads or fails cleanly. */
    for (size_t i = len - 8 - flen; i < len - 8; i++) {
        uint8_t *copy = malloc(len);
        wbuf b = {copy, len, len};
        memcpy(copy, buf, len);
        copy[i] ^= (uint8_t)(0x5a + i);
        if (read_buf(&b, "g.parquet") >= 0)
            ok++;
        else
            failed++;
        free(copy);
    }
    TC_CHECK(failed > 0);
    fprintf(stderr, "footer byte flips: %ld read, %ld refused\n", ok, failed);
    free(buf);
}

static void test_table_parquet__thrift_limits(void)
{
    tcol col = {"a", T_INT32, 0, C_NONE};
    wbuf b = {0}, meta = {0};
    tw w = {&meta, {0}, 0};
    tchunk ck = {0};
    int32_t v = 7;

    /* A good file first: the writer is right. */
    w_page(&ck.bytes, PAGE_DATA, -1, &v, 4, 1, ENC_PLAIN);
    ck.num_values = 1;
    w_simple(&b, &col, 1, &ck);
    TC_CHECK(read_buf(&b, "ok.parquet") == 1);
    free(b.p);
    b = (wbuf){0};

    /* Structures nested deeper than TC_PARQUET_MAX_THRIFT_DEPTH in an unknown field. */
    wb_put(&b, "PAR1", 4);
    for (int i = 0; i < 40; i++)
        tw_begin(&w, 99);
    for (int i = 0; i < 40; i++)
        tw_end(&w);
    wb_u8(&meta, 0);
    wb_put(&b, meta.p, meta.n);
    wb_le32(&b, (uint32_t)meta.n);
    wb_put(&b, "PAR1", 4);
    TC_CHECK(read_buf(&b, "deep.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "structures nested too deeply");
    free(b.p);
    free(meta.p);

    /* A list that claims more elements than there are bytes. */
    b = (wbuf){0};
    meta = (wbuf){0};
    w = (tw){&meta, {0}, 0};
    wb_put(&b, "PAR1", 4);
    tw_list(&w, 2, 12, 1000000);
    wb_u8(&meta, 0);
    wb_put(&b, meta.p, meta.n);
    wb_le32(&b, (uint32_t)meta.n);
    wb_put(&b, "PAR1", 4);
    TC_CHECK(read_buf(&b, "list.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "list longer than the data left");
    free(b.p);
    free(meta.p);
}

static void test_table_parquet__page_sizes(void)
{
    tcol col = {"a", T_INT32, 0, C_NONE};
    int32_t vals[3] = {1, 2, 3};
    wbuf b = {0};
    tchunk ck = {0};

    /* compressed_page_size says 1000: past the chunk. */
    {
        tw w = {&ck.bytes, {0}, 0};
        tw_i32(&w, 1, PAGE_DATA);
        tw_i32(&w, 2, 12);
        tw_i32(&w, 3, 1000);
        tw_begin(&w, 5);
        tw_i32(&w, 1, 3);
        tw_i32(&w, 2, ENC_PLAIN);
        tw_end(&w);
        wb_u8(&ck.bytes, 0);
        wb_put(&ck.bytes, vals, sizeof(vals));
    }
    ck.num_values = 3;
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "p.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "file 'p.parquet': row group 0, column 'a', page 0: page of 1000 bytes "
                          "runs past its column chunk");
    free(b.p);

    /* An uncompressed size over TC_PARQUET_MAX_PAGE. */
    b = (wbuf){0};
    ck = (tchunk){0};
    w_page(&ck.bytes, PAGE_DATA, 0x7fffffff, vals, sizeof(vals), 3, ENC_PLAIN);
    ck.num_values = 3;
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "p.parquet") == TC_ERANGE);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "is over the limit of");
    free(b.p);

    /* A page that holds more values than the row group has rows. */
    b = (wbuf){0};
    ck = (tchunk){0};
    w_page(&ck.bytes, PAGE_DATA, -1, vals, sizeof(vals), 3, ENC_PLAIN);
    ck.num_values = 3;
    w_simple(&b, &col, 2, &ck);
    TC_CHECK(read_buf(&b, "p.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "page holds 3 values but only 2 rows are left in the row group");
    free(b.p);

    /* Values that stop before the page's count; then a chunk that ends early. */
    b = (wbuf){0};
    ck = (tchunk){0};
    w_page(&ck.bytes, PAGE_DATA, -1, vals, 8, 3, ENC_PLAIN);
    ck.num_values = 3;
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "p.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "page 0: PLAIN data ends before the page's values do");
    free(b.p);
    b = (wbuf){0};
    ck = (tchunk){0};
    w_page(&ck.bytes, PAGE_DATA, -1, vals, 8, 2, ENC_PLAIN);
    ck.num_values = 3;
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "p.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "page 1: the column chunk ends after 2 of 3 rows");
    free(b.p);

    /* Offsets that point outside the file. */
    b = (wbuf){0};
    ck = (tchunk){0};
    w_page(&ck.bytes, PAGE_DATA, -1, vals, sizeof(vals), 3, ENC_PLAIN);
    ck.num_values = 3;
    ck.offset_shift = 1 << 20;
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "p.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "is not inside the file's data");
    free(b.p);

    /* A page header of Thrift garbage. */
    b = (wbuf){0};
    ck = (tchunk){0};
    wb_put(&ck.bytes, "\x15\x00\x1c\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00", 15);
    ck.num_values = 3;
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "p.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "page 0: corrupt page header at offset 4:");
    free(b.p);
}

/* An optional string column with a dictionary of two values and one data page. */
static void dict_chunk(tchunk *ck, const void *data, size_t n, int32_t num_values)
{
    wbuf dict = {0};

    wb_le32(&dict, 3);
    wb_put(&dict, "cat", 3);
    wb_le32(&dict, 3);
    wb_put(&dict, "dog", 3);
    w_page(&ck->bytes, PAGE_DICT, -1, dict.p, dict.n, 2, ENC_PLAIN);
    ck->dict_len = ck->bytes.n;
    w_page(&ck->bytes, PAGE_DATA, -1, data, n, num_values, ENC_RLE_DICT);
    ck->num_values = num_values;
    free(dict.p);
}

static void test_table_parquet__dictionary_and_rle(void)
{
    tcol col = {"s", T_BYTE_ARRAY, 1, C_NONE};
    wbuf b = {0}, page = {0};
    tchunk ck = {0};
    tc_table *t = NULL;
    const tc_value *row;

    /* Good: levels 1,1,0 then indices 1,0. */
    wb_le32(&page, 2);
    wb_u8(&page, 3); /* bit-packed run of 1 group, bit width 1: 1,1,0 */
    wb_u8(&page, 0x03);
    wb_u8(&page, 1); /* bit width of the indices */
    wb_u8(&page, 3); /* bit-packed: 1, 0 */
    wb_u8(&page, 0x01);
    dict_chunk(&ck, page.p, page.n, 3);
    w_simple(&b, &col, 3, &ck);
    TC_CHECK_OK(tc_table_open_memory(&t, b.p, b.n, "d.parquet", NULL));
    if (t) {
        TC_CHECK_OK(tc_table_next(t, &row) - 1);
        TC_CHECK(row[0].type == TC_VALUE_STRING && strcmp(row[0].str, "dog") == 0);
        TC_CHECK(tc_table_next(t, &row) == 1 && strcmp(row[0].str, "cat") == 0);
        TC_CHECK(tc_table_next(t, &row) == 1 && row[0].type == TC_VALUE_NULL);
        TC_CHECK(tc_table_next(t, &row) == 0);
        tc_table_free(t);
    }
    free(b.p);

    /* Index 3 in a dictionary of two. */
    b = (wbuf){0};
    page.n = 0;
    wb_le32(&page, 2);
    rle_run(&page, 3, 1);
    wb_u8(&page, 2);
    rle_run(&page, 3, 3);
    ck = (tchunk){0};
    dict_chunk(&ck, page.p, page.n, 3);
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "d.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "file 'd.parquet': row group 0, column 's', page 1: dictionary index 3 "
                          "is out of range (the dictionary has 2 values)");
    free(b.p);

    /* Definition level 2 in a column whose maximum is 1. */
    b = (wbuf){0};
    page.n = 0;
    wb_le32(&page, 2);
    rle_run(&page, 3, 2);
    wb_u8(&page, 1);
    rle_run(&page, 3, 0);
    ck = (tchunk){0};
    dict_chunk(&ck, page.p, page.n, 3);
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "d.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "definition level 2 is over the maximum of 1");
    free(b.p);

    /* An RLE run whose value byte is missing. */
    b = (wbuf){0};
    page.n = 0;
    wb_le32(&page, 1);
    wb_u8(&page, 6); /* RLE run of 3, value cut off */
    ck = (tchunk){0};
    dict_chunk(&ck, page.p, page.n, 3);
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "d.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "definition levels: RLE run's value is cut off");
    free(b.p);

    /* Levels for one row in a page of three. */
    b = (wbuf){0};
    page.n = 0;
    wb_le32(&page, 2);
    rle_run(&page, 1, 1);
    wb_u8(&page, 1);
    rle_run(&page, 1, 0);
    ck = (tchunk){0};
    dict_chunk(&ck, page.p, page.n, 3);
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "d.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "RLE data ends before the page's values do");
    free(b.p);

    /* A dictionary-encoded page without a dictionary page. */
    b = (wbuf){0};
    ck = (tchunk){0};
    w_page(&ck.bytes, PAGE_DATA, -1, page.p, page.n, 3, ENC_RLE_DICT);
    ck.num_values = 3;
    w_simple(&b, &col, 3, &ck);
    TC_CHECK(read_buf(&b, "d.parquet") == TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "dictionary-encoded page, but no dictionary page");
    free(b.p);
    free(page.p);
}

static void test_table_parquet__compression(void)
{
    /* Snappy: a varint length, then one literal of 12 bytes (tag (12 - 1) << 2). */
    static const uint8_t snappy_ok[] = {12, 44, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0};
    static const uint8_t snappy_bad[] = {12, 0xfe, 0xff, 0xff, 0xff, 1, 2, 3};
    static const uint8_t garbage[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef};
    static const uint8_t zstd_bad[] = {0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x0c, 0xff, 0xff, 0xff};
    static const struct {
        int codec;
        const uint8_t *data;
        size_t n;
        int32_t usize;
        int code;
        const char *msg;
    } cases[] = {
        {C_SNAPPY, snappy_ok, sizeof(snappy_ok), 12, 3, NULL},
        {C_SNAPPY, snappy_ok, sizeof(snappy_ok), 16, TC_EFORMAT,
         "snappy data does not have the page's uncompressed size (SNAPPY, 14 -> 16 bytes)"},
        {C_SNAPPY, snappy_bad, sizeof(snappy_bad), 12, TC_EFORMAT, "snappy data is corrupt"},
        {C_GZIP, garbage, sizeof(garbage), 12, TC_EFORMAT, "gzip data is corrupt or cut off"},
        {C_GZIP, snappy_ok, sizeof(snappy_ok), 12, TC_EFORMAT, "gzip data is corrupt"},
        {C_ZSTD, zstd_bad, sizeof(zstd_bad), 12, TC_EFORMAT, "zstd data is"},
        {C_ZSTD, garbage, sizeof(garbage), 12, TC_EFORMAT, "zstd data is corrupt"},
        {C_LZ4_RAW, snappy_ok, sizeof(snappy_ok), 12, TC_EUNSUPPORTED,
         "LZ4_RAW compression is not supported"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tcol col = {"a", T_INT32, 0, cases[i].codec};
        wbuf b = {0};
        tchunk ck = {0};
        long rc;
        w_page(&ck.bytes, PAGE_DATA, cases[i].usize, cases[i].data, cases[i].n, 3, ENC_PLAIN);
        ck.num_values = 3;
        w_simple(&b, &col, 3, &ck);
        rc = read_buf(&b, "c.parquet");
        TC_CHECK(rc == cases[i].code);
        if (rc != cases[i].code)
            fprintf(stderr, "case %zu: %ld, %s\n", i, rc, tc_error_message());
        if (cases[i].msg)
            TC_CHECK_STR_CONTAINS(tc_error_message(), cases[i].msg);
        free(b.p);
    }
}

static const tc_test_case tests[] = {
    TC_TEST(test_table_parquet__fixtures),
    TC_TEST(test_table_parquet__select),
    TC_TEST(test_table_parquet__unsupported_columns),
    TC_TEST(test_table_parquet__row_count_and_files),
    TC_TEST(test_table_parquet__streaming),
    TC_TEST(test_table_parquet__truncated),
    TC_TEST(test_table_parquet__bad_magic_and_footer),
    TC_TEST(test_table_parquet__thrift_garbage),
    TC_TEST(test_table_parquet__thrift_limits),
    TC_TEST(test_table_parquet__page_sizes),
    TC_TEST(test_table_parquet__dictionary_and_rle),
    TC_TEST(test_table_parquet__compression),
};

TC_TEST_MAIN(tests)
