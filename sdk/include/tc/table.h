/*
 * tc/table.h - stream rows out of dataset files: Parquet, CSV/TSV and JSON Lines.
 *
 * One reader for the files the Hub's datasets publish. Open a file (or a list of files that
 * share their columns), look at its columns, optionally select some by name, then read rows
 * one at a time or in batches. Nothing is read ahead: a Parquet file is read one data page
 * per selected column at a time (plus that column's dictionary), a CSV or JSON Lines file
 * one record at a time, so memory stays bounded by the limits below whatever the file's size.
 *
 *     tc_table *t = NULL;
 *     const char *cols[] = {"text", "label"};
 *     const tc_value *row;
 *     int rc;
 *
 *     if (tc_table_open(&t, "train/0000.parquet", NULL) < 0 ||
 *         tc_table_select(t, cols, 2) < 0)
 *         goto fail;                                  (tc_error_message() says why)
 *     while ((rc = tc_table_next(t, &row)) > 0)
 *         use(row[0].str, row[0].len, row[1].i);
 *     if (rc < 0)
 *         goto fail;
 *     tc_table_free(t);
 *
 * Formats (chosen by TC_TABLE_FORMAT_AUTO from the file name's extension: .parquet,
 * .csv, .tsv, .jsonl / .ndjson / .json):
 *
 * - Parquet, as pyarrow, arrow-rs (parquet-wasm) and hyparquet-writer write it: flat
 *   schemas of BOOLEAN, INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY
 *   columns, required or optional (nulls); data pages v1 and v2; PLAIN, PLAIN_DICTIONARY /
 *   RLE_DICTIONARY, RLE (booleans), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 *   DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT encodings; UNCOMPRESSED, SNAPPY, GZIP and ZSTD
 *   compression; any number of row groups. Columns this reader cannot give as plain values
 *   (nested groups: structs, lists, maps; repeated fields; INT96; DECIMAL; FLOAT16;
 *   INTERVAL) are still listed, with tc_table_column.unsupported saying why; selecting one
 *   is TC_EUNSUPPORTED naming the column. Encrypted files, LZO/BROTLI/LZ4 compression and
 *   column chunks stored in other files are TC_EUNSUPPORTED when met.
 *   Cell types: BOOLEAN -> TC_VALUE_BOOL; INT32 and INT64 (also with INTEGER, DATE, TIME
 *   and TIMESTAMP annotations: the stored number, e.g. days or milliseconds since the
 *   epoch; unsigned ones read as unsigned, and a UINT64 value over INT64_MAX is TC_ERANGE)
 *   -> TC_VALUE_INT; FLOAT and DOUBLE ->
 *   TC_VALUE_FLOAT; BYTE_ARRAY annotated STRING/UTF8, ENUM or JSON -> TC_VALUE_STRING;
 *   other BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY -> TC_VALUE_BYTES.
 *
 * - CSV (delimiter ',') and TSV ('\t'), RFC 4180: fields may be quoted with '"' and then
 *   hold delimiters, line breaks and doubled quotes ("" for "); records end with LF, CRLF
 *   or CR. The first record names the columns (unless TC_TABLE_NO_HEADER): an empty name
 *   becomes "Unnamed: N" and a repeated one "name.1", "name.2"... as pandas does, so the
 *   names match what the Hub's `datasets` library shows. A UTF-8 byte order mark is
 *   skipped. Blank lines are skipped. Every cell is TC_VALUE_STRING, except an empty
 *   unquoted field, which is TC_VALUE_NULL ("" quoted is the empty string); tc_value_int
 *   and tc_value_float read numbers out of them. A '"' inside an unquoted field is kept as
 *   it is. Errors, with the line number: TC_EFORMAT for a record with a different number of
 *   fields from the header, characters between a closing quote and the next delimiter, a
 *   quote still open at the end of the file; TC_ERANGE for a record (quoted line breaks
 *   included) longer than max_record_bytes.
 *
 * - JSON Lines: one JSON object per line, blank lines skipped. The keys of the first object
 *   name the columns (in its order); a later line that lacks a key gives TC_VALUE_NULL for
 *   it, and keys the first object does not have are ignored. JSON strings ->
 *   TC_VALUE_STRING; true/false -> TC_VALUE_BOOL; numbers -> TC_VALUE_INT when integral
 *   and within +-2^53 (JSON does not tell 1.0 from 1; read either kind with
 *   tc_value_float), otherwise TC_VALUE_FLOAT; null -> TC_VALUE_NULL; arrays and objects
 *   -> TC_VALUE_STRING holding their compact JSON text. A column's type is that of the
 *   first object's value (TC_VALUE_NULL when it was null); each cell carries its own type.
 *   Errors, with the line number: TC_EFORMAT for invalid JSON (with the column where
 *   parsing stopped) and a line that is not an object; TC_ERANGE for a line longer than
 *   max_record_bytes or with more than TC_TABLE_MAX_JSON_VALUES values.
 *
 * Text: every TC_VALUE_STRING cell is checked to be valid UTF-8; invalid bytes are
 * TC_EFORMAT naming the file, the line (CSV, JSON Lines) or row, the column and the byte
 * offset, because a tokenizer fed them would silently see different text than Python
 * tools. TC_TABLE_ALLOW_INVALID_UTF8 passes such bytes through unchanged instead.
 * TC_VALUE_BYTES cells are never checked.
 *
 * Errors: every function returns TC_OK (0) (tc_table_next: 1 for a row, 0 at the end) or a
 * negative tc_error_code, with a one-line message in the error slot (tc_error_message())
 * that names the file and where in it the problem is: "row group 2, column 'text', page 3"
 * for Parquet (row groups, pages and rows count from 0, pages within their column chunk),
 * "line 17" for CSV and JSON Lines (lines count from 1). Malformed input is TC_EFORMAT, a
 * size over a limit below TC_ERANGE, a valid but unsupported feature TC_EUNSUPPORTED, an
 * unreadable file TC_ENOTFOUND or TC_EIO. After an error a table only reports that error
 * again; free it.
 *
 * Ownership: a tc_table is owned by its caller (tc_table_free). Column descriptions are
 * borrowed and live as long as the table. Cells, and the strings they point to, are
 * borrowed and valid until the next tc_table_next, tc_table_read or tc_table_free.
 * One table must not be used from two threads at once; different tables are independent.
 */
#ifndef TC_TABLE_H
#define TC_TABLE_H

#include <tc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Limits. Every size a file can make the reader allocate is checked against one of these
 * before allocating; a file over one is TC_ERANGE naming the limit (except the Thrift depth
 * and the DELTA block size, far past what any writer uses: malformed, TC_EFORMAT). Other
 * counts in a file (list lengths, dictionary sizes, run lengths) are checked against the
 * bytes that hold them.
 */
/** Columns in a file (Parquet top-level fields, CSV header fields, keys of the first JSON line). */
#define TC_TABLE_MAX_COLUMNS 10000
/** Bytes in one column name. */
#define TC_TABLE_MAX_NAME 4096
/** Default of tc_table_options.max_record_bytes: one CSV record or JSON line (16 MiB). */
#define TC_TABLE_DEFAULT_MAX_RECORD ((size_t)16 << 20)
/** The largest max_record_bytes accepted (1 GiB). */
#define TC_TABLE_MAX_RECORD_LIMIT ((size_t)1 << 30)
/**
 * JSON Lines: values in one line, nested ones included (each costs the parser about 64
 * bytes, so a line's parse tree stays under 64 MiB whatever max_record_bytes is).
 */
#define TC_TABLE_MAX_JSON_VALUES ((size_t)1 << 20)
/** Parquet: bytes of the footer's file metadata (64 MiB). */
#define TC_PARQUET_MAX_FOOTER ((uint64_t)64 << 20)
/** Parquet: bytes of one page, compressed or not, dictionary pages included (256 MiB). */
#define TC_PARQUET_MAX_PAGE ((uint64_t)256 << 20)
/** Parquet: bytes of one page header (it may carry statistics with long strings: 16 MiB). */
#define TC_PARQUET_MAX_PAGE_HEADER ((uint64_t)16 << 20)
/** Parquet: schema elements, nested ones included. */
#define TC_PARQUET_MAX_SCHEMA 100000
/** Parquet: row groups in one file. */
#define TC_PARQUET_MAX_ROW_GROUPS 1000000
/** Parquet: column chunks in one file (row groups x leaf columns). */
#define TC_PARQUET_MAX_CHUNKS ((size_t)1 << 21)
/** Parquet: nesting of Thrift structures and lists in the footer and page headers. */
#define TC_PARQUET_MAX_THRIFT_DEPTH 32
/** Parquet: values in one DELTA_BINARY_PACKED block. */
#define TC_PARQUET_MAX_DELTA_BLOCK 32768

/** File formats. */
typedef enum tc_table_format {
    TC_TABLE_FORMAT_AUTO = 0, /* from the extension: .parquet .csv .tsv .jsonl .ndjson .json */
    TC_TABLE_FORMAT_PARQUET,
    TC_TABLE_FORMAT_CSV,
    TC_TABLE_FORMAT_TSV, /* CSV with '\t' as the delimiter */
    TC_TABLE_FORMAT_JSONL,
    TC_TABLE_FORMAT_MAX
} tc_table_format;

/** The type of a cell, and of a column. */
typedef enum tc_value_type {
    TC_VALUE_NULL = 0, /* a missing value; as a column type: not known (JSON Lines) */
    TC_VALUE_BOOL,     /* i is 0 or 1 */
    TC_VALUE_INT,      /* i */
    TC_VALUE_FLOAT,    /* f */
    TC_VALUE_STRING,   /* str, len: UTF-8 text (see "Text" above) */
    TC_VALUE_BYTES,    /* str, len: raw bytes, may hold NULs */
    TC_VALUE_TYPE_MAX
} tc_value_type;

/** One cell. Plain data; str is borrowed (see Ownership above). */
typedef struct tc_value {
    tc_value_type type;
    int64_t i;       /* TC_VALUE_INT; TC_VALUE_BOOL: 0 or 1 */
    double f;        /* TC_VALUE_FLOAT */
    const char *str; /* TC_VALUE_STRING, TC_VALUE_BYTES: always NUL-terminated; else NULL */
    size_t len;      /* bytes at str, not counting the terminating NUL */
} tc_value;

/** A column of the file. Borrowed from the table. */
typedef struct tc_table_column {
    const char *name;        /* NUL-terminated UTF-8 */
    tc_value_type type;      /* what its cells hold when not null (see the formats above) */
    int nullable;            /* 1 when cells may be null (Parquet: optional; always for text) */
    const char *unsupported; /* NULL when readable, else why not ("nested struct", "INT96") */
} tc_table_column;

/** Flags of tc_table_options.flags. */
typedef enum tc_table_flag {
    TC_TABLE_ALLOW_INVALID_UTF8 = 1u << 0, /* pass invalid UTF-8 in strings through */
    TC_TABLE_NO_HEADER = 1u << 1           /* CSV/TSV: no header record; columns "0", "1", ... */
} tc_table_flag;

/** Options of tc_table_open*; NULL means the defaults of TC_TABLE_OPTIONS_INIT. */
typedef struct tc_table_options {
    unsigned int version;    /* TC_TABLE_OPTIONS_VERSION */
    tc_table_format format;  /* TC_TABLE_FORMAT_AUTO: from each file's extension */
    char delimiter;          /* CSV/TSV: 0 for the format's own (',' or '\t'), or any other */
    uint32_t flags;          /* tc_table_flag values */
    size_t max_record_bytes; /* CSV record / JSON line; 0: TC_TABLE_DEFAULT_MAX_RECORD */
} tc_table_options;

#define TC_TABLE_OPTIONS_VERSION 1
#define TC_TABLE_OPTIONS_INIT                                                                      \
    {                                                                                              \
        .version = TC_TABLE_OPTIONS_VERSION                                                        \
    }

/** Fill opts with the defaults of TC_TABLE_OPTIONS_INIT; TC_EINVAL for an unknown version. */
TC_API int tc_table_options_init(tc_table_options *opts, unsigned int version);

/** A rectangle of rows read with tc_table_read. */
typedef struct tc_table_batch {
    size_t n_rows;         /* 0 at the end of the data */
    size_t n_columns;      /* the selected columns, in selection order */
    const tc_value *cells; /* n_rows x n_columns, row-major; borrowed until the next read */
    uint64_t first_row;    /* rows returned before this batch, over all files */
} tc_table_batch;

typedef struct tc_table tc_table;

/**
 * Open a file and read its columns (a Parquet footer, a CSV header, the first JSON line).
 * The caller owns *out (tc_table_free).
 * @param opts NULL for the defaults
 * @return TC_OK; TC_ENOTFOUND when the file does not exist; TC_EINVAL when the format
 *         cannot be told from the name; TC_EFORMAT, TC_ERANGE or TC_EUNSUPPORTED for the
 *         file's content; TC_EIO
 */
TC_API int tc_table_open(tc_table **out, const char *path, const tc_table_options *opts);

/**
 * Open a list of files to be read one after the other as one table, e.g. the shards
 * "train/0000.parquet", "train/0001.parquet"... of a split. Only one file is open at a time.
 * The columns are the first file's; each later file is opened when the reading reaches it
 * and must have every selected column, with the same type (JSON Lines: any type), else
 * TC_EFORMAT naming both files and the column. paths is copied.
 * @return as tc_table_open, for the first file; TC_EINVAL when n is 0
 */
TC_API int tc_table_open_files(tc_table **out, const char *const *paths, size_t n,
                               const tc_table_options *opts);

/**
 * Open data held in memory. name is used in messages and, with TC_TABLE_FORMAT_AUTO, for
 * its extension. data is borrowed: it must stay valid and unchanged until tc_table_free.
 * @return as tc_table_open
 */
TC_API int tc_table_open_memory(tc_table **out, const void *data, size_t len, const char *name,
                                const tc_table_options *opts);

/** Close the file and release everything. Accepts NULL. */
TC_API void tc_table_free(tc_table *t);

/** The format of the file being read (of the first file before reading starts). */
TC_API tc_table_format tc_table_format_of(const tc_table *t);

/** Number of columns of the (first) file. */
TC_API size_t tc_table_column_count(const tc_table *t);

/** The i-th column, in file order (borrowed), or NULL when i is out of range. */
TC_API const tc_table_column *tc_table_column_at(const tc_table *t, size_t i);

/**
 * Find a column by exact name.
 * @param[out] out its index for tc_table_column_at
 * @return TC_OK or TC_ENOTFOUND
 */
TC_API int tc_table_column_find(const tc_table *t, const char *name, size_t *out);

/**
 * Choose the columns to read, and their order in each row. Without a selection every
 * readable column (unsupported == NULL) is read, in file order. Parquet reads only the
 * selected columns' data. Must come before the first read.
 * @param names n column names; n >= 1; each at most once
 * @return TC_OK; TC_ENOTFOUND naming an unknown column; TC_EUNSUPPORTED naming a column
 *         that cannot be read and why; TC_EINVAL after reading started or for a repeat
 */
TC_API int tc_table_select(tc_table *t, const char *const *names, size_t n);

/** Number of selected columns (the cells of a row). */
TC_API size_t tc_table_selected_count(const tc_table *t);

/** The i-th selected column (borrowed), or NULL when i is out of range. */
TC_API const tc_table_column *tc_table_selected_at(const tc_table *t, size_t i);

/**
 * The number of rows in the table when the files say it without being read: the sum of
 * the Parquet footers' row counts (each file's footer is read once). -1 for CSV and JSON
 * Lines, or when any file is not Parquet.
 * @return TC_OK, or an error opening a later file
 */
TC_API int tc_table_row_count(tc_table *t, int64_t *out);

/**
 * Read the next row.
 * @param[out] out the row's cells, one per selected column (borrowed, see Ownership)
 * @return 1 when a row was read, 0 at the end of the data (*out untouched), or a negative
 *         error code
 */
TC_API int tc_table_next(tc_table *t, const tc_value **out);

/**
 * Read up to max_rows rows (fewer only at the end of the data). The cells of the whole
 * batch stay valid until the next read; their strings are copied into one buffer, so a
 * batch of long texts takes memory in proportion.
 * @param[out] out the batch; n_rows is 0 at the end
 * @return TC_OK or a negative error code (out untouched)
 */
TC_API int tc_table_read(tc_table *t, size_t max_rows, tc_table_batch *out);

/**
 * A cell as an integer: TC_VALUE_INT, TC_VALUE_BOOL, a TC_VALUE_FLOAT with an integral
 * value in range, or a string holding a decimal integer (optional sign and surrounding
 * ASCII spaces; as CSV cells are).
 * @return TC_OK, or TC_EINVAL (null, or not an integer) with a message quoting the value
 */
TC_API int tc_value_int(const tc_value *v, int64_t *out);

/**
 * A cell as a double: TC_VALUE_FLOAT, TC_VALUE_INT, TC_VALUE_BOOL, or a string holding a
 * number as strtod reads it in the C locale (also "nan", "inf").
 * @return TC_OK, or TC_EINVAL with a message quoting the value
 */
TC_API int tc_value_float(const tc_value *v, double *out);

#ifdef __cplusplus
}
#endif

#endif /* TC_TABLE_H */
