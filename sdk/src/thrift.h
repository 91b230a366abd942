/*
 * thrift.h - a bounded decoder of the Thrift compact protocol, for Parquet's footer and page
 * headers (not installed).
 *
 * The decoder reads a caller's buffer and never allocates. Every length and count it meets
 * is checked against the bytes left before anything uses it (each element of a list takes
 * at least one byte, so a count can never exceed what is left), nesting of structures and
 * lists is limited to TC_PARQUET_MAX_THRIFT_DEPTH, and integers are range-checked for the
 * width asked for. The first problem is kept in t->err (a static phrase) with its byte
 * offset in t->err_at, and every later call fails at once; t->truncated tells the caller
 * whether the data simply ran out, so that it can retry with more bytes.
 *
 * Decoding a structure:
 *
 *     int16_t last = 0, id;
 *     int type, rc;
 *     if (tc__thrift_struct_begin(t) < 0) return -1;
 *     while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
 *         switch (id) {
 *         case 1: rc = tc__thrift_i32(t, type, &x); break;
 *         default: rc = tc__thrift_skip(t, type); break;
 *         }
 *         if (rc < 0) return -1;
 *     }
 *     if (rc < 0) return -1;
 *     tc__thrift_struct_end(t);
 */
#ifndef TC_THRIFT_H
#define TC_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Compact protocol type codes (field headers, list and map element types). */
enum {
    TC__THRIFT_STOP = 0,
    TC__THRIFT_TRUE = 1, /* a bool field whose value is true; a bool list element */
    TC__THRIFT_FALSE = 2,
    TC__THRIFT_BYTE = 3,
    TC__THRIFT_I16 = 4,
    TC__THRIFT_I32 = 5,
    TC__THRIFT_I64 = 6,
    TC__THRIFT_DOUBLE = 7,
    TC__THRIFT_BINARY = 8,
    TC__THRIFT_LIST = 9,
    TC__THRIFT_SET = 10,
    TC__THRIFT_MAP = 11,
    TC__THRIFT_STRUCT = 12,
    TC__THRIFT_UUID = 13
};

typedef struct tc__thrift {
    const uint8_t *start, *p, *end;
    int depth;
    const char *err; /* first error, a static phrase; NULL while fine */
    size_t err_at;   /* its offset from start */
    int truncated;   /* the error is that the data ended early */
} tc__thrift;

TC_INTERNAL void tc__thrift_init(tc__thrift *t, const void *data, size_t len);

/* Bytes consumed so far. */
TC_INTERNAL size_t tc__thrift_pos(const tc__thrift *t);

/* Enter and leave a structure (depth limit). */
TC_INTERNAL int tc__thrift_struct_begin(tc__thrift *t);
TC_INTERNAL void tc__thrift_struct_end(tc__thrift *t);

/*
 * The next field header of the current structure: 1 with *id and *type, 0 at its end (STOP),
 * -1 on error. *last is the structure's previous field id, 0 before the first.
 */
TC_INTERNAL int tc__thrift_field(tc__thrift *t, int16_t *last, int16_t *id, int *type);

/* Skip one value of this type, nested values included. */
TC_INTERNAL int tc__thrift_skip(tc__thrift *t, int type);

/* An integer value of an integer type (byte, i16, i32, i64), range-checked. */
TC_INTERNAL int tc__thrift_i64(tc__thrift *t, int type, int64_t *out);
TC_INTERNAL int tc__thrift_i32(tc__thrift *t, int type, int32_t *out);

/* A bool field (its value is in the type code). */
TC_INTERNAL int tc__thrift_bool(tc__thrift *t, int type, int *out);

/* A binary or string value: borrowed pointer into the buffer and its length. */
TC_INTERNAL int tc__thrift_binary(tc__thrift *t, int type, const uint8_t **out, size_t *len);

/*
 * A list (or set) header: its element type and count. Elements follow, read with the
 * functions above using *elem_type (structures with struct_begin/field/struct_end).
 * Call tc__thrift_list_end after the elements.
 */
TC_INTERNAL int tc__thrift_list(tc__thrift *t, int type, int *elem_type, uint32_t *count);
TC_INTERNAL void tc__thrift_list_end(tc__thrift *t);

#endif /* TC_THRIFT_H */
