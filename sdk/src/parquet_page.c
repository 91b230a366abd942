/*
 * parquet_page.c - Parquet page headers, the RLE / bit-packed hybrid, DELTA_BINARY_PACKED and
 * decompression (snappy, gzip through zlib, zstd).
 *
 * Every decoder here works on a bounded span [p, end) and checks each read against it;
 * run lengths and counts from the data are clamped to what the span can hold or refused,
 * so a lying file costs at most time in proportion to its size, never memory.
 */
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "parquet_internal.h"
#include "thrift.h"

/* ---- page headers ------------------------------------------------------------------------ */

static int parse_data_header(tc__thrift *t, pq_page_header *h)
{
    int16_t last = 0, id;
    int type, rc;

    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        switch (id) {
        case 1: rc = tc__thrift_i32(t, type, &h->num_values); break;
        case 2: rc = tc__thrift_i32(t, type, &h->encoding); break;
        case 3: rc = tc__thrift_i32(t, type, &h->def_encoding); break;
        default: rc = tc__thrift_skip(t, type); break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    h->has_data = 1;
    return 0;
}

static int parse_dict_header(tc__thrift *t, pq_page_header *h)
{
    int16_t last = 0, id;
    int type, rc;

    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        switch (id) {
        case 1: rc = tc__thrift_i32(t, type, &h->num_values); break;
        case 2: rc = tc__thrift_i32(t, type, &h->encoding); break;
        default: rc = tc__thrift_skip(t, type); break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    h->has_dict = 1;
    return 0;
}

static int parse_v2_header(tc__thrift *t, pq_page_header *h)
{
    int16_t last = 0, id;
    int type, rc;

    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        switch (id) {
        case 1: rc = tc__thrift_i32(t, type, &h->num_values); break;
        case 2: rc = tc__thrift_i32(t, type, &h->num_nulls); break;
        case 4: rc = tc__thrift_i32(t, type, &h->encoding); break;
        case 5: rc = tc__thrift_i32(t, type, &h->def_length); break;
        case 6: rc = tc__thrift_i32(t, type, &h->rep_length); break;
        case 7: rc = tc__thrift_bool(t, type, &h->is_compressed); break;
        default: rc = tc__thrift_skip(t, type); break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    h->has_v2 = 1;
    return 0;
}

int tc__pq_page_header(tc__thrift *t, pq_page_header *h)
{
    int16_t last = 0, id;
    int type, rc, have_type = 0, have_u = 0, have_c = 0;

    memset(h, 0, sizeof(*h));
    h->is_compressed = 1;
    h->def_encoding = PQ_RLE;
    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        switch (id) {
        case 1:
            rc = tc__thrift_i32(t, type, &h->type);
            have_type = 1;
            break;
        case 2:
            rc = tc__thrift_i32(t, type, &h->uncompressed_size);
            have_u = 1;
            break;
        case 3:
            rc = tc__thrift_i32(t, type, &h->compressed_size);
            have_c = 1;
            break;
        case 5:
            rc = type == TC__THRIFT_STRUCT ? parse_data_header(t, h) : tc__thrift_skip(t, type);
            break;
        case 7:
            rc = type == TC__THRIFT_STRUCT ? parse_dict_header(t, h) : tc__thrift_skip(t, type);
            break;
        case 8:
            rc = type == TC__THRIFT_STRUCT ? parse_v2_header(t, h) : tc__thrift_skip(t, type);
            break;
        default: rc = tc__thrift_skip(t, type); break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    if (!have_type || !have_u || !have_c) {
        t->err = "page header lacks its type or sizes";
        t->err_at = tc__thrift_pos(t);
        return -1;
    }
    return 0;
}

/* ---- bits -------------------------------------------------------------------------------- */

/* bw (0..64) bits at bit offset bit of p, least significant first; the caller checked that
 * ceil((bit + bw) / 8) bytes are there. */
static uint64_t get_bits(const uint8_t *p, uint64_t bit, int bw)
{
    uint64_t v = 0, byte = bit >> 3;
    int shift = (int)(bit & 7), got = 0;

    while (got < bw) {
        v |= (uint64_t)(p[byte++] >> shift) << got;
        got += 8 - shift;
        shift = 0;
    }
    return bw >= 64 ? v : v & ((UINT64_C(1) << bw) - 1);
}

static int uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;

    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return -1;
        if (shift == 63 && *p > 1)
            return -1;
        v |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p++ & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* ---- RLE / bit-packed hybrid ------------------------------------------------------------- */

void tc__pq_rle_init(pq_rle *d, const uint8_t *p, const uint8_t *end, int bw)
{
    memset(d, 0, sizeof(*d));
    d->p = p;
    d->end = end;
    d->bw = bw;
}

static int rle_run(pq_rle *d, const char **err)
{
    /* Empty runs are pointless but harmless: each costs header bytes, so the loop ends. */
    while (d->left == 0) {
        uint64_t header, n;
        if (d->p >= d->end) {
            *err = "RLE data ends before the page's values do";
            return -1;
        }
        if (uvarint(&d->p, d->end, &header) < 0 || header > UINT32_MAX) {
            *err = "bad RLE run header";
            return -1;
        }
        n = header >> 1;
        if (header & 1) {
            uint64_t bytes = n * (uint64_t)d->bw, avail = (uint64_t)(d->end - d->p);
            n *= 8;
            if (bytes > avail) {
                /* A last run cut short: keep the whole values its bytes still hold. */
                bytes = avail;
                n = avail * 8 / (uint64_t)d->bw;
            }
            d->packed = 1;
            d->bp = d->p;
            d->bit = 0;
            d->p += bytes;
        } else {
            size_t nb = ((size_t)d->bw + 7) / 8;
            if ((size_t)(d->end - d->p) < nb) {
                *err = "RLE run's value is cut off";
                return -1;
            }
            d->value = 0;
            for (size_t i = 0; i < nb; i++)
                d->value |= (uint64_t)d->p[i] << (8 * i);
            d->p += nb;
            d->packed = 0;
        }
        d->left = n;
    }
    return 0;
}

int tc__pq_rle_next(pq_rle *d, uint32_t *out, const char **err)
{
    uint64_t v;

    if (d->left == 0 && rle_run(d, err) < 0)
        return -1;
    if (d->packed) {
        v = get_bits(d->bp, d->bit, d->bw);
        d->bit += (uint64_t)d->bw;
    } else {
        v = d->value;
    }
    d->left--;
    if (v > UINT32_MAX) {
        *err = "RLE value wider than 32 bits";
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* ---- DELTA_BINARY_PACKED ----------------------------------------------------------------- */

int tc__pq_delta_init(pq_delta *d, const uint8_t *p, const uint8_t *end, uint64_t max_values,
                      const char **err)
{
    uint64_t block, mbs, total, zz;

    memset(d, 0, sizeof(*d));
    if (uvarint(&p, end, &block) < 0 || uvarint(&p, end, &mbs) < 0 ||
        uvarint(&p, end, &total) < 0 || uvarint(&p, end, &zz) < 0) {
        *err = "DELTA_BINARY_PACKED header is cut off";
        return -1;
    }
    if (block == 0 || block % 128 != 0 || block > TC_PARQUET_MAX_DELTA_BLOCK || mbs == 0 ||
        block % mbs != 0 || (block / mbs) % 8 != 0) {
        *err = "DELTA_BINARY_PACKED block or miniblock size is invalid";
        return -1;
    }
    if (total > max_values) {
        *err = "DELTA_BINARY_PACKED holds more values than the page";
        return -1;
    }
    d->p = p;
    d->end = end;
    d->per_mb = block / mbs;
    d->mbs = mbs;
    d->left = total;
    d->first = total > 0;
    d->last = (zz >> 1) ^ (0 - (zz & 1));
    d->mb = mbs; /* a block header is due */
    d->in_mb = d->per_mb;
    return 0;
}

/* Move to the next miniblock, reading a block header when one is due. */
static int delta_miniblock(pq_delta *d, uint64_t values_left, const char **err)
{
    uint64_t bytes, avail, needed_bits;

    if (d->mb + 1 >= d->mbs) {
        uint64_t zz;
        if (uvarint(&d->p, d->end, &zz) < 0 || (uint64_t)(d->end - d->p) < d->mbs) {
            *err = "DELTA_BINARY_PACKED block header is cut off";
            return -1;
        }
        d->min_delta = (zz >> 1) ^ (0 - (zz & 1));
        d->widths = d->p;
        d->p += d->mbs;
        d->mb = 0;
    } else {
        d->mb++;
    }
    d->width = d->widths[d->mb];
    if (d->width > 64) {
        *err = "DELTA_BINARY_PACKED bit width over 64";
        return -1;
    }
    bytes = d->per_mb * (uint64_t)d->width / 8;
    avail = (uint64_t)(d->end - d->p);
    needed_bits = (values_left < d->per_mb ? values_left : d->per_mb) * (uint64_t)d->width;
    if (needed_bits > avail * 8) {
        *err = "DELTA_BINARY_PACKED miniblock is cut off";
        return -1;
    }
    d->data = d->p;
    d->p += bytes < avail ? bytes : avail;
    d->in_mb = 0;
    return 0;
}

int tc__pq_delta_next(pq_delta *d, uint64_t *out, const char **err)
{
    if (d->left == 0) {
        *err = "DELTA_BINARY_PACKED has fewer values than the page";
        return -1;
    }
    if (d->first) {
        d->first = 0;
        d->left--;
        *out = d->last;
        return 0;
    }
    if (d->in_mb == d->per_mb && delta_miniblock(d, d->left, err) < 0)
        return -1;
    d->last += d->min_delta + get_bits(d->data, d->in_mb * (uint64_t)d->width, d->width);
    d->in_mb++;
    d->left--;
    *out = d->last;
    return 0;
}

int tc__pq_delta_end(const pq_delta *src, const uint8_t **out, const char **err)
{
    pq_delta d = *src;
    uint64_t deltas = d.left - (d.first ? 1 : 0);

    /* Values left in the current miniblock need no more bytes. */
    if (d.in_mb < d.per_mb) {
        uint64_t k = d.per_mb - d.in_mb;
        deltas -= deltas < k ? deltas : k;
    }
    while (deltas > 0) {
        if (delta_miniblock(&d, deltas, err) < 0)
            return -1;
        deltas -= deltas < d.per_mb ? deltas : d.per_mb;
    }
    *out = d.p;
    return 0;
}

/* ---- decompression ----------------------------------------------------------------------- */

static int inflate_all(const uint8_t *in, size_t n, uint8_t *out, size_t out_len, const char **err)
{
    z_stream z;
    int zr, rc = 0;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 32) != Z_OK) { /* gzip or zlib header */
        *err = "cannot start zlib";
        return TC_ENOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.next_out = out;
    for (;;) {
        /* zlib counts in uInt; feed at most 1 GiB at a time (pages are smaller anyway). */
        size_t in_left = n - (size_t)(z.next_in - in), out_left = out_len - z.total_out;
        z.avail_in = (uInt)(in_left < (1u << 30) ? in_left : (1u << 30));
        z.avail_out = (uInt)(out_left < (1u << 30) ? out_left : (1u << 30));
        zr = inflate(&z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            /* Concatenated gzip members: go on while input is left. */
            if ((size_t)(z.next_in - in) < n && z.total_out < out_len) {
                uLong done = z.total_out;
                if (inflateReset(&z) != Z_OK) {
                    rc = -1;
                    *err = "gzip data is corrupt";
                    break;
                }
                z.total_out = done;
                continue;
            }
            break;
        }
        if (zr != Z_OK) {
            rc = -1;
            *err = zr == Z_BUF_ERROR && z.total_out == out_len
                       ? "gzip data is larger than the page's uncompressed size"
                       : "gzip data is corrupt or cut off";
            break;
        }
    }
    if (rc == 0 && z.total_out != out_len) {
        rc = -1;
        *err = "gzip data is smaller than the page's uncompressed size";
    }
    inflateEnd(&z);
    return rc < 0 ? TC_EFORMAT : 0;
}

int tc__pq_decompress(int codec, const uint8_t *in, size_t n, uint8_t *out, size_t out_len,
                      void **zstd, const char **err)
{
    switch (codec) {
    case PQ_UNCOMPRESSED:
        if (n != out_len) {
            *err = "uncompressed page sizes differ";
            return TC_EFORMAT;
        }
        if (n)
            memcpy(out, in, n);
        return 0;
    case PQ_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length((const char *)in, n, &len) != SNAPPY_OK) {
            *err = "snappy data is corrupt";
            return TC_EFORMAT;
        }
        if (len != out_len) {
            *err = "snappy data does not have the page's uncompressed size";
            return TC_EFORMAT;
        }
        if (snappy_uncompress((const char *)in, n, (char *)out, &len) != SNAPPY_OK ||
            len != out_len) {
            *err = "snappy data is corrupt";
            return TC_EFORMAT;
        }
        return 0;
    }
    case PQ_GZIP: return inflate_all(in, n, out, out_len, err);
    case PQ_ZSTD: {
        size_t got;
        if (!*zstd) {
            *zstd = ZSTD_createDCtx();
            if (!*zstd) {
                *err = "cannot start zstd";
                return TC_ENOMEM;
            }
        }
        got = ZSTD_decompressDCtx(*zstd, out, out_len, in, n);
        if (ZSTD_isError(got)) {
            *err = ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall
                       ? "zstd data is larger than the page's uncompressed size"
                       : "zstd data is corrupt";
            return TC_EFORMAT;
        }
        if (got != out_len) {
            *err = "zstd data is smaller than the page's uncompressed size";
            return TC_EFORMAT;
        }
        return 0;
    }
    default: *err = "unsupported compression"; return TC_EUNSUPPORTED;
    }
}

void tc__pq_codec_free(void *zstd)
{
    if (zstd)
        ZSTD_freeDCtx(zstd);
}

const char *tc__pq_codec_name(int codec)
{
    switch (codec) {
    case PQ_UNCOMPRESSED: return "UNCOMPRESSED";
    case PQ_SNAPPY: return "SNAPPY";
    case PQ_GZIP: return "GZIP";
    case PQ_LZO: return "LZO";
    case PQ_BROTLI: return "BROTLI";
    case PQ_LZ4: return "LZ4";
    case PQ_ZSTD: return "ZSTD";
    case PQ_LZ4_RAW: return "LZ4_RAW";
    default: return "unknown";
    }
}

const char *tc__pq_encoding_name(int encoding)
{
    switch (encoding) {
    case PQ_PLAIN: return "PLAIN";
    case PQ_PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
    case PQ_RLE: return "RLE";
    case PQ_BIT_PACKED: return "BIT_PACKED";
    case PQ_DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
    case PQ_DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
    case PQ_DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
    case PQ_RLE_DICTIONARY: return "RLE_DICTIONARY";
    case PQ_BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
    default: return "unknown";
    }
}
