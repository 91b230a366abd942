/*
 * parquet_internal.h - the Parquet reader's pieces (not installed):
 *
 *   parquet_meta.c   the footer: FileMetaData, the schema and the row groups' chunks
 *   parquet_page.c   pages: headers, decompression, levels and value encodings
 *   parquet.c        the tc__reader: row groups, column readers, rows
 *
 * Format: Apache Parquet, parquet-format's parquet.thrift and Encodings.md. Numbers below
 * are the Thrift enum values and field ids.
 */
#ifndef TC_PARQUET_INTERNAL_H
#define TC_PARQUET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "table_internal.h"

/* Type */
enum {
    PQ_BOOLEAN = 0,
    PQ_INT32 = 1,
    PQ_INT64 = 2,
    PQ_INT96 = 3,
    PQ_FLOAT = 4,
    PQ_DOUBLE = 5,
    PQ_BYTE_ARRAY = 6,
    PQ_FIXED_LEN_BYTE_ARRAY = 7
};

/* FieldRepetitionType */
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };

/* ConvertedType */
enum {
    PQ_CT_UTF8 = 0,
    PQ_CT_MAP = 1,
    PQ_CT_MAP_KEY_VALUE = 2,
    PQ_CT_LIST = 3,
    PQ_CT_ENUM = 4,
    PQ_CT_DECIMAL = 5,
    PQ_CT_UINT_8 = 11,
    PQ_CT_UINT_16 = 12,
    PQ_CT_UINT_32 = 13,
    PQ_CT_UINT_64 = 14,
    PQ_CT_JSON = 19,
    PQ_CT_BSON = 20,
    PQ_CT_INTERVAL = 21
};

/* LogicalType union members (field ids) */
enum {
    PQ_LT_STRING = 1,
    PQ_LT_MAP = 2,
    PQ_LT_LIST = 3,
    PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5,
    PQ_LT_INTEGER = 10,
    PQ_LT_JSON = 12,
    PQ_LT_BSON = 13,
    PQ_LT_FLOAT16 = 15,
    PQ_LT_VARIANT = 16
};

/* CompressionCodec */
enum {
    PQ_UNCOMPRESSED = 0,
    PQ_SNAPPY = 1,
    PQ_GZIP = 2,
    PQ_LZO = 3,
    PQ_BROTLI = 4,
    PQ_LZ4 = 5,
    PQ_ZSTD = 6,
    PQ_LZ4_RAW = 7
};

/* Encoding */
enum {
    PQ_PLAIN = 0,
    PQ_PLAIN_DICTIONARY = 2,
    PQ_RLE = 3,
    PQ_BIT_PACKED = 4,
    PQ_DELTA_BINARY_PACKED = 5,
    PQ_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_DELTA_BYTE_ARRAY = 7,
    PQ_RLE_DICTIONARY = 8,
    PQ_BYTE_STREAM_SPLIT = 9
};

/* PageType */
enum { PQ_DATA_PAGE = 0, PQ_INDEX_PAGE = 1, PQ_DICTIONARY_PAGE = 2, PQ_DATA_PAGE_V2 = 3 };

/* One column chunk of one row group. */
typedef struct pq_chunk {
    int64_t data_offset;
    int64_t dict_offset; /* -1 when there is no dictionary page */
    int64_t size;        /* total_compressed_size */
    int64_t num_values;
    int32_t codec;
    int32_t type;
    int external; /* file_path set: the data is in another file */
    int has_meta; /* meta_data was present */
} pq_chunk;

/* A top-level field of the schema: one column of the table. */
typedef struct pq_field {
    int32_t type; /* physical type; -1 for a group */
    int32_t type_length;
    int32_t repetition;
    int is_unsigned;         /* INT32/INT64 read as unsigned */
    int max_def;             /* 1 for an optional primitive, 0 for a required one */
    size_t leaf;             /* its column chunk's index in each row group */
    const char *unsupported; /* why it cannot be read, or NULL */
} pq_field;

typedef struct pq_meta {
    int64_t num_rows;
    uint64_t data_end;        /* where the footer starts: column chunks lie in [4, data_end) */
    tc_table_column *columns; /* n_fields, as tc__reader wants them (names owned) */
    pq_field *fields;
    size_t n_fields;
    size_t n_leaves;
    int64_t *rg_rows; /* n_rg row counts */
    size_t n_rg;
    pq_chunk *chunks; /* n_rg x n_leaves */
} pq_meta;

/*
 * Read and check the footer of src: magic numbers, metadata length, FileMetaData, schema,
 * row groups. Messages name the file.
 */
TC_INTERNAL int tc__pq_meta_read(pq_meta *m, tc__source *src);
TC_INTERNAL void tc__pq_meta_dispose(pq_meta *m);

/* ---- page level (parquet_page.c) --------------------------------------------------------- */

typedef struct pq_page_header {
    int32_t type;
    int32_t uncompressed_size;
    int32_t compressed_size;
    int32_t num_values;
    int32_t encoding;
    int32_t def_encoding; /* v1 */
    int32_t num_nulls;    /* v2 */
    int32_t def_length;   /* v2 */
    int32_t rep_length;   /* v2 */
    int is_compressed;    /* v2; default 1 */
    int has_data, has_dict, has_v2;
} pq_page_header;

/* Decode a PageHeader from buf. *used: its size. Returns 0, or -1 with t's error. */
struct tc__thrift;
TC_INTERNAL int tc__pq_page_header(struct tc__thrift *t, pq_page_header *h);

/* RLE / bit-packed hybrid (Encodings.md), bit width 0..32. */
typedef struct pq_rle {
    const uint8_t *p, *end;
    int bw;
    int packed;        /* the current run is bit-packed */
    uint64_t left;     /* values left in the current run */
    uint64_t value;    /* an RLE run's value */
    const uint8_t *bp; /* a bit-packed run's bytes */
    uint64_t bit;      /* next bit in them */
} pq_rle;

TC_INTERNAL void tc__pq_rle_init(pq_rle *d, const uint8_t *p, const uint8_t *end, int bw);
/* Next value: 0, or -1 with a static phrase in *err. */
TC_INTERNAL int tc__pq_rle_next(pq_rle *d, uint32_t *out, const char **err);

/* DELTA_BINARY_PACKED stream. */
typedef struct pq_delta {
    const uint8_t *p, *end;
    uint64_t per_mb, mbs; /* values per miniblock, miniblocks per block */
    uint64_t left;        /* values not yet returned */
    int first;            /* the header's first value is still to return */
    uint64_t last;        /* the previous value (wrapping arithmetic) */
    uint64_t min_delta;
    const uint8_t *widths; /* this block's miniblock bit widths */
    uint64_t mb;           /* current miniblock in the block; mbs when a block is due */
    uint64_t in_mb;        /* values taken from it */
    const uint8_t *data;   /* its bytes */
    int width;
} pq_delta;

/* Read the header; at most max_values values. 0, or -1 with *err. */
TC_INTERNAL int tc__pq_delta_init(pq_delta *d, const uint8_t *p, const uint8_t *end,
                                  uint64_t max_values, const char **err);
TC_INTERNAL int tc__pq_delta_next(pq_delta *d, uint64_t *out, const char **err);
/* Where the stream ends (skipping what is left of it), for the data that follows it. */
TC_INTERNAL int tc__pq_delta_end(const pq_delta *d, const uint8_t **out, const char **err);

/*
 * Decompress n bytes of codec into out (exactly out_len bytes must come out). Returns 0,
 * or a negative code with a static phrase in *err. zstd is a ZSTD_DCtx * kept by the caller
 * (created on first use, freed with tc__pq_codec_free).
 */
TC_INTERNAL int tc__pq_decompress(int codec, const uint8_t *in, size_t n, uint8_t *out,
                                  size_t out_len, void **zstd, const char **err);
TC_INTERNAL void tc__pq_codec_free(void *zstd);
TC_INTERNAL const char *tc__pq_codec_name(int codec);
TC_INTERNAL const char *tc__pq_encoding_name(int encoding);

#endif /* TC_PARQUET_INTERNAL_H */
