/*
 * parquet.c - the Parquet tc__reader: row groups one after the other, and in each a column
 * reader per selected column that holds one page at a time (its header, its compressed
 * bytes, its decompressed bytes) and the chunk's dictionary. A row takes one value from
 * each column reader; a column reader loads its next page when the current one runs out.
 *
 * Flat schemas only: a top-level primitive field has at most one definition level (0: null)
 * and no repetition levels, so each page value or level is one row.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parquet_internal.h"
#include "thrift.h"

typedef struct pq_col {
    const pq_field *f;
    const char *name;
    tc_value_type vtype; /* what its non-null cells are */
    const pq_chunk *ck;
    uint64_t pos, end; /* the unread rest of the chunk, as file offsets */
    int64_t page_no;   /* the page being read, counting from 0 in the chunk */
    int seen_data;     /* a data page was read in this chunk */

    uint8_t *hdr, *raw, *buf; /* page header bytes, page bytes, decompressed values */
    size_t hdr_cap, raw_cap, buf_cap;

    uint8_t *dict; /* the dictionary page's values (owned) */
    size_t dict_cap, dict_n;
    uint32_t *dict_ent; /* BYTE_ARRAY dictionary: offset and length of each value */
    size_t dict_ent_cap;
    int has_dict;

    int64_t left; /* levels (rows) left in the page */
    pq_rle def;
    int enc;
    const uint8_t *vp, *ve; /* the page's values */
    uint64_t bit;           /* PLAIN BOOLEAN: next bit */
    pq_rle idx;             /* dictionary indices; RLE booleans */
    pq_delta d1, d2;        /* DELTA_*: lengths or prefix lengths, suffix lengths */
    const uint8_t *data;    /* DELTA_LENGTH_BYTE_ARRAY / DELTA_BYTE_ARRAY bytes */
    uint8_t *prev;          /* DELTA_BYTE_ARRAY: the previous value */
    size_t prev_len, prev_cap;
    size_t bss_n, bss_i; /* BYTE_STREAM_SPLIT: values in the page, next one */
} pq_col;

typedef struct pq_reader {
    tc__reader base;
    tc__source src;
    pq_meta m;
    pq_col *cols;
    size_t n_cols;
    size_t rg; /* the current row group, once in_rg */
    int in_rg;
    int64_t rg_left; /* rows left in it */
    int64_t rg_row;  /* the next row's index in it */
    uint64_t row;    /* the next row's index in the file */
    void *zstd;
    size_t mem, peak; /* bytes of buffers held, and the most ever */
} pq_reader;

TC_PRINTF(4, 5)
static int col_err(pq_reader *pq, const pq_col *c, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tc_error_set(code, "file '%s': row group %zu, column '%s', page %lld: %s", pq->src.name,
                        pq->rg, c->name, (long long)c->page_no, msg);
}

static int grow(pq_reader *pq, void *bufp, size_t *cap, size_t need)
{
    void **buf = bufp;
    size_t n;
    void *p;

    if (need <= *cap && *buf)
        return TC_OK;
    n = *cap + *cap / 2;
    if (n < need)
        n = need;
    if (n < 256)
        n = 256;
    p = tc_realloc(*buf, n);
    if (!p)
        return TC_ENOMEM;
    *buf = p;
    pq->mem += n - *cap;
    if (pq->mem > pq->peak)
        pq->peak = pq->mem;
    *cap = n;
    return TC_OK;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- emitting cells ---------------------------------------------------------------------- */

static int emit_bytes(const uint8_t *p, size_t len, tc_value *out, tc__arena *a)
{
    char *s = tc__arena_push(a, p, len);

    if (!s)
        return TC_ENOMEM;
    out->str = s;
    out->len = len;
    return TC_OK;
}

static int emit_int(pq_reader *pq, pq_col *c, uint64_t raw, tc_value *out)
{
    if (c->f->type == PQ_INT32) {
        out->i = c->f->is_unsigned ? (int64_t)(uint32_t)raw : (int64_t)(int32_t)(uint32_t)raw;
        return TC_OK;
    }
    if (c->f->is_unsigned && raw > (uint64_t)INT64_MAX)
        return col_err(pq, c, TC_ERANGE, "unsigned value %llu is over the int64 range",
                       (unsigned long long)raw);
    out->i = (int64_t)raw;
    return TC_OK;
}

/* A value of a fixed-width type from its little-endian bytes. */
static int emit_fixed(pq_reader *pq, pq_col *c, const uint8_t *p, tc_value *out, tc__arena *a)
{
    switch (c->f->type) {
    case PQ_INT32: return emit_int(pq, c, le32(p), out);
    case PQ_INT64: return emit_int(pq, c, le64(p), out);
    case PQ_FLOAT: {
        uint32_t u = le32(p);
        float f;
        memcpy(&f, &u, sizeof(f));
        out->f = f;
        return TC_OK;
    }
    case PQ_DOUBLE: {
        uint64_t u = le64(p);
        memcpy(&out->f, &u, sizeof(out->f));
        return TC_OK;
    }
    case PQ_FIXED_LEN_BYTE_ARRAY: return emit_bytes(p, (size_t)c->f->type_length, out, a);
    default: return col_err(pq, c, TC_EFORMAT, "no fixed width for this type");
    }
}

static size_t fixed_width(const pq_field *f)
{
    switch (f->type) {
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_INT64:
    case PQ_DOUBLE: return 8;
    case PQ_FIXED_LEN_BYTE_ARRAY: return (size_t)f->type_length;
    default: return 0;
    }
}

/* ---- values by encoding ------------------------------------------------------------------ */

static int plain_value(pq_reader *pq, pq_col *c, tc_value *out, tc__arena *a)
{
    size_t left = (size_t)(c->ve - c->vp), w;

    if (c->f->type == PQ_BOOLEAN) {
        uint64_t byte = c->bit >> 3;
        if (byte >= left)
            return col_err(pq, c, TC_EFORMAT, "PLAIN data ends before the page's values do");
        out->i = (c->vp[byte] >> (c->bit & 7)) & 1;
        c->bit++;
        return TC_OK;
    }
    if (c->f->type == PQ_BYTE_ARRAY) {
        uint32_t len;
        if (left < 4)
            return col_err(pq, c, TC_EFORMAT, "PLAIN data ends before the page's values do");
        len = le32(c->vp);
        if (len > left - 4)
            return col_err(pq, c, TC_EFORMAT,
                           "PLAIN string of %u bytes runs past the page (%zu bytes left)", len,
                           left - 4);
        c->vp += 4;
        c->vp += len;
        return emit_bytes(c->vp - len, len, out, a);
    }
    w = fixed_width(c->f);
    if (left < w)
        return col_err(pq, c, TC_EFORMAT, "PLAIN data ends before the page's values do");
    c->vp += w;
    return emit_fixed(pq, c, c->vp - w, out, a);
}

static int dict_value(pq_reader *pq, pq_col *c, tc_value *out, tc__arena *a)
{
    const char *err;
    uint32_t i;

    if (tc__pq_rle_next(&c->idx, &i, &err) < 0)
        return col_err(pq, c, TC_EFORMAT, "dictionary indices: %s", err);
    if (i >= c->dict_n)
        return col_err(pq, c, TC_EFORMAT,
                       "dictionary index %u is out of range (the dictionary has %zu values)", i,
                       c->dict_n);
    if (c->f->type == PQ_BYTE_ARRAY)
        return emit_bytes(c->dict + c->dict_ent[2 * i], c->dict_ent[2 * i + 1], out, a);
    return emit_fixed(pq, c, c->dict + (size_t)i * fixed_width(c->f), out, a);
}

static int delta_length(pq_reader *pq, pq_col *c, pq_delta *d, size_t *out)
{
    const char *err;
    uint64_t v;

    if (tc__pq_delta_next(d, &v, &err) < 0)
        return col_err(pq, c, TC_EFORMAT, "lengths: %s", err);
    if ((int32_t)(uint32_t)v < 0)
        return col_err(pq, c, TC_EFORMAT, "negative length %d", (int32_t)(uint32_t)v);
    *out = (uint32_t)v;
    return TC_OK;
}

static int delta_bytes_value(pq_reader *pq, pq_col *c, tc_value *out, tc__arena *a)
{
    size_t prefix = 0, len, left;
    int rc;

    if (c->enc == PQ_DELTA_BYTE_ARRAY) {
        rc = delta_length(pq, c, &c->d1, &prefix);
        if (rc < 0)
            return rc;
        if (prefix > c->prev_len)
            return col_err(pq, c, TC_EFORMAT,
                           "prefix of %zu bytes is longer than the previous value", prefix);
    }
    rc = delta_length(pq, c, c->enc == PQ_DELTA_BYTE_ARRAY ? &c->d2 : &c->d1, &len);
    if (rc < 0)
        return rc;
    left = (size_t)(c->ve - c->data);
    if (len > left)
        return col_err(pq, c, TC_EFORMAT, "value of %zu bytes runs past the page (%zu bytes left)",
                       len, left);
    if (c->enc == PQ_DELTA_LENGTH_BYTE_ARRAY) {
        c->data += len;
        return emit_bytes(c->data - len, len, out, a);
    }
    rc = grow(pq, &c->prev, &c->prev_cap, prefix + len);
    if (rc < 0)
        return rc;
    memcpy(c->prev + prefix, c->data, len);
    c->data += len;
    c->prev_len = prefix + len;
    if (c->f->type == PQ_FIXED_LEN_BYTE_ARRAY && c->prev_len != (size_t)c->f->type_length)
        return col_err(pq, c, TC_EFORMAT, "value of %zu bytes in a FIXED_LEN_BYTE_ARRAY(%d) column",
                       c->prev_len, c->f->type_length);
    return emit_bytes(c->prev, c->prev_len, out, a);
}

static int bss_value(pq_reader *pq, pq_col *c, tc_value *out, tc__arena *a)
{
    uint8_t tmp[8], *v = tmp;
    size_t w = fixed_width(c->f);
    int rc;

    if (c->bss_i >= c->bss_n)
        return col_err(pq, c, TC_EFORMAT,
                       "BYTE_STREAM_SPLIT data ends before the page's values do");
    if (w > sizeof(tmp)) {
        rc = grow(pq, &c->prev, &c->prev_cap, w);
        if (rc < 0)
            return rc;
        v = c->prev;
    }
    for (size_t k = 0; k < w; k++)
        v[k] = c->vp[k * c->bss_n + c->bss_i];
    c->bss_i++;
    return emit_fixed(pq, c, v, out, a);
}

static int decode_value(pq_reader *pq, pq_col *c, tc_value *out, tc__arena *a)
{
    const char *err;
    uint64_t v;
    uint32_t b;

    switch (c->enc) {
    case PQ_PLAIN: return plain_value(pq, c, out, a);
    case PQ_PLAIN_DICTIONARY:
    case PQ_RLE_DICTIONARY: return dict_value(pq, c, out, a);
    case PQ_RLE:
        if (tc__pq_rle_next(&c->idx, &b, &err) < 0)
            return col_err(pq, c, TC_EFORMAT, "RLE booleans: %s", err);
        out->i = b & 1;
        return TC_OK;
    case PQ_DELTA_BINARY_PACKED:
        if (tc__pq_delta_next(&c->d1, &v, &err) < 0)
            return col_err(pq, c, TC_EFORMAT, "%s", err);
        return emit_int(pq, c, v, out);
    case PQ_DELTA_LENGTH_BYTE_ARRAY:
    case PQ_DELTA_BYTE_ARRAY: return delta_bytes_value(pq, c, out, a);
    case PQ_BYTE_STREAM_SPLIT: return bss_value(pq, c, out, a);
    default: return col_err(pq, c, TC_EUNSUPPORTED, "encoding %d", c->enc);
    }
}

/* ---- pages ------------------------------------------------------------------------------- */

static int read_page_header(pq_reader *pq, pq_col *c, pq_page_header *h, size_t *hlen)
{
    uint64_t avail = c->end - c->pos;
    size_t window = avail < 1024 ? (size_t)avail : 1024;
    tc__thrift t;
    int rc;

    for (;;) {
        rc = grow(pq, &c->hdr, &c->hdr_cap, window);
        if (rc == 0)
            rc = tc__source_pread(&pq->src, c->hdr, window, c->pos);
        if (rc < 0)
            return rc;
        tc__thrift_init(&t, c->hdr, window);
        if (tc__pq_page_header(&t, h) == 0) {
            *hlen = tc__thrift_pos(&t);
            return TC_OK;
        }
        if (!t.truncated || window == avail)
            break;
        if (window >= TC_PARQUET_MAX_PAGE_HEADER)
            return col_err(pq, c, TC_ERANGE, "page header is over the limit of %llu bytes",
                           (unsigned long long)TC_PARQUET_MAX_PAGE_HEADER);
        window = avail / 4 < window ? (size_t)avail : window * 4;
        if (window > TC_PARQUET_MAX_PAGE_HEADER)
            window = (size_t)TC_PARQUET_MAX_PAGE_HEADER;
    }
    return col_err(pq, c, TC_EFORMAT, "corrupt page header at offset %llu: %s at byte %zu",
                   (unsigned long long)c->pos, t.err, t.err_at);
}

/*
 * The values part of a page, decompressed when it is compressed: the page's bytes are in
 * c->raw (n of them); the first `skip` are levels stored as they are (v2); out_len is the
 * values' uncompressed size.
 */
static int page_values(pq_reader *pq, pq_col *c, size_t n, size_t skip, size_t out_len,
                       int compressed, const uint8_t **p, size_t *len)
{
    const char *err = NULL;
    int rc;

    if (!compressed || c->ck->codec == PQ_UNCOMPRESSED) {
        *p = c->raw + skip;
        *len = n - skip;
        return TC_OK;
    }
    rc = grow(pq, &c->buf, &c->buf_cap, out_len);
    if (rc < 0)
        return rc;
    rc = tc__pq_decompress(c->ck->codec, c->raw + skip, n - skip, c->buf, out_len, &pq->zstd, &err);
    if (rc < 0)
        return col_err(pq, c, rc, "%s (%s, %zu -> %zu bytes)", err, tc__pq_codec_name(c->ck->codec),
                       n - skip, out_len);
    *p = c->buf;
    *len = out_len;
    return TC_OK;
}

static int read_dict(pq_reader *pq, pq_col *c, const pq_page_header *h, size_t n)
{
    const uint8_t *p;
    size_t len, count, w;
    int rc;

    if (c->has_dict || c->seen_data)
        return col_err(pq, c, TC_EFORMAT, "a second dictionary page, or one after data pages");
    if (!h->has_dict)
        return col_err(pq, c, TC_EFORMAT, "dictionary page without its header");
    if (h->encoding != PQ_PLAIN && h->encoding != PQ_PLAIN_DICTIONARY)
        return col_err(pq, c, TC_EUNSUPPORTED, "dictionary page encoded as %s",
                       tc__pq_encoding_name(h->encoding));
    if (h->num_values < 0)
        return col_err(pq, c, TC_EFORMAT, "dictionary of %d values", h->num_values);
    rc = page_values(pq, c, n, 0, (size_t)h->uncompressed_size, 1, &p, &len);
    if (rc < 0)
        return rc;
    /* Keep the values: the buffer they are in becomes the dictionary's. */
    if (p == c->buf) {
        uint8_t *t = c->dict;
        size_t tc = c->dict_cap;
        c->dict = c->buf;
        c->dict_cap = c->buf_cap;
        c->buf = t;
        c->buf_cap = tc;
    } else {
        uint8_t *t = c->dict;
        size_t tc = c->dict_cap;
        size_t off = (size_t)(p - c->raw);
        c->dict = c->raw;
        c->dict_cap = c->raw_cap;
        c->raw = t;
        c->raw_cap = tc;
        if (off)
            memmove(c->dict, c->dict + off, len);
    }
    count = (size_t)h->num_values;
    if (c->f->type == PQ_BOOLEAN)
        return col_err(pq, c, TC_EUNSUPPORTED, "dictionary-encoded BOOLEAN column");
    if (c->f->type == PQ_BYTE_ARRAY) {
        size_t at = 0;
        if (count > len / 4)
            return col_err(pq, c, TC_EFORMAT, "dictionary page of %zu bytes cannot hold %zu values",
                           len, count);
        rc = grow(pq, &c->dict_ent, &c->dict_ent_cap, count * 2 * sizeof(uint32_t));
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < count; i++) {
            uint32_t l;
            if (len - at < 4 || (l = le32(c->dict + at)) > len - at - 4)
                return col_err(pq, c, TC_EFORMAT, "dictionary value %zu runs past the page", i);
            c->dict_ent[2 * i] = (uint32_t)(at + 4);
            c->dict_ent[2 * i + 1] = l;
            at += 4 + (size_t)l;
        }
    } else {
        w = fixed_width(c->f);
        if (w == 0 || count > len / w)
            return col_err(pq, c, TC_EFORMAT, "dictionary page of %zu bytes cannot hold %zu values",
                           len, count);
    }
    c->dict_n = count;
    c->has_dict = 1;
    return TC_OK;
}

/* Point the column at a page's values in this encoding. */
static int set_values(pq_reader *pq, pq_col *c, int enc, const uint8_t *p, const uint8_t *end,
                      uint64_t nvals)
{
    const char *err;
    int type = c->f->type;

    c->enc = enc;
    c->vp = p;
    c->ve = end;
    c->bit = 0;
    switch (enc) {
    case PQ_PLAIN: return TC_OK;
    case PQ_PLAIN_DICTIONARY:
    case PQ_RLE_DICTIONARY: {
        int bw = 0;
        if (!c->has_dict)
            return col_err(pq, c, TC_EFORMAT, "dictionary-encoded page, but no dictionary page");
        if (p < end)
            bw = *p++;
        if (bw > 32)
            return col_err(pq, c, TC_EFORMAT, "dictionary index bit width %d is over 32", bw);
        tc__pq_rle_init(&c->idx, p, end, bw);
        return TC_OK;
    }
    case PQ_RLE: {
        uint32_t len;
        if (type != PQ_BOOLEAN)
            return col_err(pq, c, TC_EUNSUPPORTED, "RLE values for a non-BOOLEAN column");
        if (end - p < 4 || (len = le32(p)) > (size_t)(end - p - 4))
            return col_err(pq, c, TC_EFORMAT, "RLE booleans' length runs past the page");
        tc__pq_rle_init(&c->idx, p + 4, p + 4 + len, 1);
        return TC_OK;
    }
    case PQ_DELTA_BINARY_PACKED:
        if (type != PQ_INT32 && type != PQ_INT64)
            return col_err(pq, c, TC_EFORMAT, "DELTA_BINARY_PACKED for a non-integer column");
        if (tc__pq_delta_init(&c->d1, p, end, nvals, &err) < 0)
            return col_err(pq, c, TC_EFORMAT, "%s", err);
        return TC_OK;
    case PQ_DELTA_LENGTH_BYTE_ARRAY:
    case PQ_DELTA_BYTE_ARRAY: {
        const uint8_t *q;
        if (type != PQ_BYTE_ARRAY &&
            !(enc == PQ_DELTA_BYTE_ARRAY && type == PQ_FIXED_LEN_BYTE_ARRAY))
            return col_err(pq, c, TC_EFORMAT, "%s for a column of the wrong type",
                           tc__pq_encoding_name(enc));
        if (tc__pq_delta_init(&c->d1, p, end, nvals, &err) < 0 ||
            tc__pq_delta_end(&c->d1, &q, &err) < 0)
            return col_err(pq, c, TC_EFORMAT, "%s", err);
        if (enc == PQ_DELTA_BYTE_ARRAY && (tc__pq_delta_init(&c->d2, q, end, nvals, &err) < 0 ||
                                           tc__pq_delta_end(&c->d2, &q, &err) < 0))
            return col_err(pq, c, TC_EFORMAT, "suffixes: %s", err);
        c->data = q;
        c->prev_len = 0;
        return TC_OK;
    }
    case PQ_BYTE_STREAM_SPLIT: {
        size_t w = fixed_width(c->f), n = (size_t)(end - p);
        if (w == 0 || n % w != 0)
            return col_err(pq, c, TC_EFORMAT,
                           "BYTE_STREAM_SPLIT data of %zu bytes for %zu-byte values", n, w);
        c->bss_n = n / w;
        c->bss_i = 0;
        return TC_OK;
    }
    default:
        return col_err(pq, c, TC_EUNSUPPORTED, "values encoded as %s (%d)",
                       tc__pq_encoding_name(enc), enc);
    }
}

static int check_num_values(pq_reader *pq, pq_col *c, int32_t n)
{
    int64_t rows_left = pq->m.rg_rows[pq->rg] - pq->rg_row;

    if (n < 0)
        return col_err(pq, c, TC_EFORMAT, "page of %d values", n);
    if (n > rows_left)
        return col_err(pq, c, TC_EFORMAT,
                       "page holds %d values but only %lld rows are left in the row group", n,
                       (long long)rows_left);
    return TC_OK;
}

static int start_v1(pq_reader *pq, pq_col *c, const pq_page_header *h, size_t n)
{
    const uint8_t *p, *end;
    size_t len;
    int rc;

    if (!h->has_data)
        return col_err(pq, c, TC_EFORMAT, "data page without its header");
    rc = check_num_values(pq, c, h->num_values);
    if (rc == 0)
        rc = page_values(pq, c, n, 0, (size_t)h->uncompressed_size, 1, &p, &len);
    if (rc < 0)
        return rc;
    end = p + len;
    if (c->f->max_def) {
        uint32_t dl;
        if (h->def_encoding != PQ_RLE)
            return col_err(pq, c, TC_EUNSUPPORTED, "definition levels encoded as %s",
                           tc__pq_encoding_name(h->def_encoding));
        if (len < 4 || (dl = le32(p)) > len - 4)
            return col_err(pq, c, TC_EFORMAT, "definition levels run past the page");
        tc__pq_rle_init(&c->def, p + 4, p + 4 + dl, 1);
        p += 4 + (size_t)dl;
    }
    rc = set_values(pq, c, h->encoding, p, end, (uint64_t)h->num_values);
    if (rc < 0)
        return rc;
    c->left = h->num_values;
    return TC_OK;
}

static int start_v2(pq_reader *pq, pq_col *c, const pq_page_header *h, size_t n)
{
    const uint8_t *p;
    size_t len, levels;
    int rc;

    if (!h->has_v2)
        return col_err(pq, c, TC_EFORMAT, "data page v2 without its header");
    rc = check_num_values(pq, c, h->num_values);
    if (rc < 0)
        return rc;
    if (h->rep_length < 0 || h->def_length < 0 ||
        (size_t)h->rep_length + (size_t)h->def_length > n ||
        (size_t)h->rep_length + (size_t)h->def_length > (size_t)h->uncompressed_size)
        return col_err(pq, c, TC_EFORMAT, "levels of %d + %d bytes do not fit the page",
                       h->rep_length, h->def_length);
    levels = (size_t)h->rep_length + (size_t)h->def_length;
    if (c->f->max_def)
        tc__pq_rle_init(&c->def, c->raw + h->rep_length, c->raw + levels, 1);
    rc = page_values(pq, c, n, levels, (size_t)h->uncompressed_size - levels, h->is_compressed, &p,
                     &len);
    if (rc == 0)
        rc = set_values(pq, c, h->encoding, p, p + len, (uint64_t)h->num_values);
    if (rc < 0)
        return rc;
    c->left = h->num_values;
    return TC_OK;
}

/* Read pages until one with values is ready. */
static int load_page(pq_reader *pq, pq_col *c)
{
    for (;;) {
        pq_page_header h;
        size_t hlen = 0, n;
        int rc;

        c->page_no++;
        if (c->pos >= c->end)
            return col_err(pq, c, TC_EFORMAT, "the column chunk ends after %lld of %lld rows",
                           (long long)pq->rg_row, (long long)pq->m.rg_rows[pq->rg]);
        rc = read_page_header(pq, c, &h, &hlen);
        if (rc < 0)
            return rc;
        if (h.compressed_size < 0 || h.uncompressed_size < 0)
            return col_err(pq, c, TC_EFORMAT, "negative page size");
        if ((uint64_t)h.compressed_size > TC_PARQUET_MAX_PAGE ||
            (uint64_t)h.uncompressed_size > TC_PARQUET_MAX_PAGE)
            return col_err(pq, c, TC_ERANGE, "page of %d bytes is over the limit of %llu",
                           h.compressed_size > h.uncompressed_size ? h.compressed_size
                                                                   : h.uncompressed_size,
                           (unsigned long long)TC_PARQUET_MAX_PAGE);
        if ((uint64_t)h.compressed_size > c->end - c->pos - hlen)
            return col_err(pq, c, TC_EFORMAT,
                           "page of %d bytes runs past its column chunk (%llu bytes left)",
                           h.compressed_size, (unsigned long long)(c->end - c->pos - hlen));
        n = (size_t)h.compressed_size;
        rc = grow(pq, &c->raw, &c->raw_cap, n);
        if (rc == 0)
            rc = tc__source_pread(&pq->src, c->raw, n, c->pos + hlen);
        if (rc < 0)
            return rc;
        c->pos += hlen + n;
        switch (h.type) {
        case PQ_DICTIONARY_PAGE: rc = read_dict(pq, c, &h, n); break;
        case PQ_DATA_PAGE:
            c->seen_data = 1;
            rc = start_v1(pq, c, &h, n);
            break;
        case PQ_DATA_PAGE_V2:
            c->seen_data = 1;
            rc = start_v2(pq, c, &h, n);
            break;
        default: break; /* index pages and future page types */
        }
        if (rc < 0)
            return rc;
        if ((h.type == PQ_DATA_PAGE || h.type == PQ_DATA_PAGE_V2) && c->left > 0)
            return TC_OK;
    }
}

static int col_value(pq_reader *pq, pq_col *c, tc_value *out, tc__arena *a)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (c->left == 0) {
        rc = load_page(pq, c);
        if (rc < 0)
            return rc;
    }
    c->left--;
    if (c->f->max_def) {
        const char *err;
        uint32_t lvl;
        if (tc__pq_rle_next(&c->def, &lvl, &err) < 0)
            return col_err(pq, c, TC_EFORMAT, "definition levels: %s", err);
        if (lvl > 1)
            return col_err(pq, c, TC_EFORMAT, "definition level %u is over the maximum of 1", lvl);
        if (lvl == 0)
            return TC_OK; /* TC_VALUE_NULL */
    }
    rc = decode_value(pq, c, out, a);
    if (rc < 0)
        return rc;
    out->type = c->vtype;
    return TC_OK;
}

/* ---- row groups -------------------------------------------------------------------------- */

static int col_begin(pq_reader *pq, pq_col *c)
{
    const pq_chunk *ck = &pq->m.chunks[pq->rg * pq->m.n_leaves + c->f->leaf];
    int64_t start;

    c->ck = ck;
    c->page_no = -1;
    c->left = 0;
    c->has_dict = 0;
    c->dict_n = 0;
    c->seen_data = 0;
    c->prev_len = 0;
    if (ck->external == 1)
        return col_err(pq, c, TC_EUNSUPPORTED, "the column chunk is stored in another file");
    if (ck->external == 2)
        return col_err(pq, c, TC_EUNSUPPORTED, "the column chunk is encrypted");
    if (!ck->has_meta)
        return col_err(pq, c, TC_EFORMAT, "the column chunk has no metadata");
    if (ck->type != c->f->type)
        return col_err(pq, c, TC_EFORMAT, "the column chunk's type %d is not the schema's %d",
                       ck->type, c->f->type);
    if (ck->codec != PQ_UNCOMPRESSED && ck->codec != PQ_SNAPPY && ck->codec != PQ_GZIP &&
        ck->codec != PQ_ZSTD)
        return col_err(pq, c, TC_EUNSUPPORTED, "%s compression is not supported",
                       tc__pq_codec_name(ck->codec));
    start = ck->dict_offset > 0 && ck->dict_offset < ck->data_offset ? ck->dict_offset
                                                                     : ck->data_offset;
    if (start < 4 || ck->size <= 0 || (uint64_t)start > pq->m.data_end ||
        (uint64_t)ck->size > pq->m.data_end - (uint64_t)start)
        return col_err(pq, c, TC_EFORMAT,
                       "the column chunk (%lld bytes at offset %lld) is not inside the file's data",
                       (long long)ck->size, (long long)start);
    c->pos = (uint64_t)start;
    c->end = (uint64_t)start + (uint64_t)ck->size;
    return TC_OK;
}

static int pq_next(tc__reader *r, tc_value *cells, tc__arena *a)
{
    pq_reader *pq = (pq_reader *)r;
    int rc;

    while (!pq->in_rg || pq->rg_left == 0) {
        size_t next = pq->in_rg ? pq->rg + 1 : 0;
        if (next >= pq->m.n_rg)
            return 0;
        pq->rg = next;
        pq->in_rg = 1;
        pq->rg_left = pq->m.rg_rows[next];
        pq->rg_row = 0;
        for (size_t i = 0; i < pq->n_cols && pq->rg_left > 0; i++) {
            rc = col_begin(pq, &pq->cols[i]);
            if (rc < 0)
                return rc;
        }
    }
    for (size_t i = 0; i < pq->n_cols; i++) {
        rc = col_value(pq, &pq->cols[i], &cells[i], a);
        if (rc < 0)
            return rc;
    }
    pq->rg_left--;
    pq->rg_row++;
    pq->row++;
    return 1;
}

/* ---- the reader -------------------------------------------------------------------------- */

static int pq_select(tc__reader *r, const size_t *cols, size_t n)
{
    pq_reader *pq = (pq_reader *)r;

    pq->cols = tc_calloc(n ? n : 1, sizeof(*pq->cols));
    if (!pq->cols)
        return TC_ENOMEM;
    pq->n_cols = n;
    for (size_t i = 0; i < n; i++) {
        pq->cols[i].f = &pq->m.fields[cols[i]];
        pq->cols[i].name = pq->m.columns[cols[i]].name;
        pq->cols[i].vtype = pq->m.columns[cols[i]].type;
    }
    return TC_OK;
}

static int64_t pq_row_count(const tc__reader *r)
{
    return ((const pq_reader *)r)->m.num_rows;
}

static void pq_where(const tc__reader *r, char *buf, size_t n)
{
    const pq_reader *pq = (const pq_reader *)r;

    snprintf(buf, n, "row %llu (row group %zu)", (unsigned long long)(pq->row ? pq->row - 1 : 0),
             pq->rg);
}

static size_t pq_peak(const tc__reader *r)
{
    return ((const pq_reader *)r)->peak;
}

static void pq_free(tc__reader *r)
{
    pq_reader *pq = (pq_reader *)r;

    if (!pq)
        return;
    for (size_t i = 0; i < pq->n_cols; i++) {
        pq_col *c = &pq->cols[i];
        tc_free(c->hdr);
        tc_free(c->raw);
        tc_free(c->buf);
        tc_free(c->dict);
        tc_free(c->dict_ent);
        tc_free(c->prev);
    }
    tc_free(pq->cols);
    tc__pq_codec_free(pq->zstd);
    tc__pq_meta_dispose(&pq->m);
    tc__source_close(&pq->src);
    tc_free(pq);
}

static const tc__reader_ops pq_ops = {
    .select = pq_select,
    .next = pq_next,
    .row_count = pq_row_count,
    .where = pq_where,
    .peak_bytes = pq_peak,
    .free = pq_free,
};

int tc__parquet_open(tc__reader **out, tc__source *src, const tc_table_options *opts)
{
    pq_reader *pq = tc_calloc(1, sizeof(*pq));
    int rc;

    (void)opts;
    if (!pq) {
        tc__source_close(src);
        return TC_ENOMEM;
    }
    pq->src = *src;
    memset(src, 0, sizeof(*src));
    src->fd = -1;
    rc = tc__pq_meta_read(&pq->m, &pq->src);
    if (rc < 0) {
        pq_free(&pq->base);
        return rc;
    }
    pq->base.ops = &pq_ops;
    pq->base.format = TC_TABLE_FORMAT_PARQUET;
    pq->base.name = pq->src.name;
    pq->base.columns = pq->m.columns;
    pq->base.n_columns = pq->m.n_fields;
    *out = &pq->base;
    return TC_OK;
}
