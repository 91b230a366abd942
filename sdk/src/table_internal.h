/*
 * table_internal.h - what the dataset readers (parquet*.c, csv.c, jsonl.c) share with
 * table.c, which owns the public tc_table object (not installed).
 *
 * A reader is one open file of one format. table.c asks it for its columns, tells it which
 * to read (positions in its column list), then pulls rows: each call fills one cell per
 * selected column. Strings are copied into the arena table.c passes, which table.c resets
 * between batches, so readers may reuse their own buffers freely.
 *
 * Readers report errors with tc_error_set() and a message that starts with the file's
 * name and says where ("file 'x.csv': line 3: ..."); table.c adds nothing.
 */
#ifndef TC_TABLE_INTERNAL_H
#define TC_TABLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tc/table.h>

#include "internal.h"

/* ---- byte sources: a file (pread / read) or a caller's memory ---------------------------- */

typedef struct tc__source {
    int fd;             /* -1 for memory */
    const uint8_t *mem; /* memory source */
    uint64_t size;      /* bytes in the file or buffer */
    uint64_t pos;       /* sequential reads: next offset */
    char *name;         /* for messages; owned */
} tc__source;

/* Open path for reading. TC_ENOTFOUND, TC_EIO (message names the path). */
TC_INTERNAL int tc__source_open_file(tc__source *s, const char *path);

/* Wrap memory (borrowed). */
TC_INTERNAL int tc__source_open_memory(tc__source *s, const void *data, size_t len,
                                       const char *name);

/* Close; accepts a zeroed or closed source. */
TC_INTERNAL void tc__source_close(tc__source *s);

/* Read exactly len bytes at off: TC_EFORMAT when the source is shorter, TC_EIO. */
TC_INTERNAL int tc__source_pread(tc__source *s, void *buf, size_t len, uint64_t off);

/* Read up to cap bytes from the sequential position; *got = 0 at the end. */
TC_INTERNAL int tc__source_read(tc__source *s, void *buf, size_t cap, size_t *got);

/* ---- an arena of strings, valid until reset ---------------------------------------------- */

typedef struct tc__arena_block tc__arena_block;

typedef struct tc__arena {
    tc__arena_block *head; /* newest block first */
    size_t bytes;          /* allocated in all blocks */
    size_t peak;           /* the most bytes ever allocated at once */
} tc__arena;

/* Copy len bytes and a NUL; NULL (TC_ENOMEM) on failure. */
TC_INTERNAL char *tc__arena_push(tc__arena *a, const void *data, size_t len);

/* Forget every string; keeps one block for reuse. */
TC_INTERNAL void tc__arena_reset(tc__arena *a);

TC_INTERNAL void tc__arena_dispose(tc__arena *a);

/* ---- a hash index of column names ------------------------------------------------------ */

typedef struct tc__names {
    uint32_t *slot; /* column index + 1, 0 for empty */
    size_t cap;     /* a power of two, at least twice the columns */
} tc__names;

/* Room for n names (n <= TC_TABLE_MAX_COLUMNS). */
TC_INTERNAL int tc__names_init(tc__names *ix, size_t n);
TC_INTERNAL void tc__names_dispose(tc__names *ix);

/* The index of the column named name[0..len) in cols, or SIZE_MAX. */
TC_INTERNAL size_t tc__names_find(const tc__names *ix, const tc_table_column *cols,
                                  const char *name, size_t len);

/* Add cols[i], whose name is not in the index yet. */
TC_INTERNAL void tc__names_add(tc__names *ix, const tc_table_column *cols, size_t i);

/* ---- readers ----------------------------------------------------------------------------- */

typedef struct tc__reader tc__reader;

typedef struct tc__reader_ops {
    /* Read only the columns at these positions of r->columns, cells in this order. */
    int (*select)(tc__reader *r, const size_t *cols, size_t n);
    /* Fill the selected cells of the next row: 1, 0 at the end, or a negative error. */
    int (*next)(tc__reader *r, tc_value *cells, tc__arena *arena);
    /* Rows in the file when known without reading, else -1. */
    int64_t (*row_count)(const tc__reader *r);
    /* Where the row last returned is, for messages: "line 7", "row group 2, row 5". */
    void (*where)(const tc__reader *r, char *buf, size_t n);
    /* The most bytes of buffers the reader held at once (pages, dictionaries, records). */
    size_t (*peak_bytes)(const tc__reader *r);
    void (*free)(tc__reader *r);
} tc__reader_ops;

struct tc__reader {
    const tc__reader_ops *ops;
    tc_table_format format;
    const char *name;         /* the file's name for messages, borrowed from its source */
    tc_table_column *columns; /* owned; names owned, unsupported reasons static */
    size_t n_columns;
};

/* Open a reader of one format on a source it takes over (closed by the reader's free). */
typedef int (*tc__reader_open_fn)(tc__reader **out, tc__source *src, const tc_table_options *opts);

TC_INTERNAL int tc__parquet_open(tc__reader **out, tc__source *src, const tc_table_options *opts);
TC_INTERNAL int tc__csv_open(tc__reader **out, tc__source *src, const tc_table_options *opts);
TC_INTERNAL int tc__jsonl_open(tc__reader **out, tc__source *src, const tc_table_options *opts);

/* Free r->columns (names included). For the readers' own free. */
TC_INTERNAL void tc__reader_columns_free(tc__reader *r);

/*
 * Check that s[0..len) is UTF-8 (RFC 3629: no overlongs, surrogates or code points past
 * U+10FFFF). Returns 1, or 0 with the offset of the first bad byte in *bad_at.
 */
TC_INTERNAL int tc__utf8_valid(const char *s, size_t len, size_t *bad_at);

/*
 * The most bytes the table's buffers (the reader's and the batch's) held at once: for the
 * tests that check memory stays bounded while streaming.
 */
TC_INTERNAL size_t tc__table_peak_bytes(const tc_table *t);

#endif /* TC_TABLE_INTERNAL_H */
