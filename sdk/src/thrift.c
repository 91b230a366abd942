/*
 * thrift.c - the Thrift compact protocol, read defensively (see thrift.h).
 *
 * Wire format (Apache Thrift, doc/specs/thrift-compact-protocol.md): integers are ULEB128
 * varints, signed ones zigzag-encoded; a field header is one byte, the id delta in the high
 * nibble (0: a zigzag i16 id follows) and the type in the low one, bools carrying their
 * value in the type; binary is a varint length and the bytes; a list header is one byte,
 * the count in the high nibble (15: a varint count follows) and the element type in the low
 * one; a map is a varint count, then (when not empty) a byte of key and value types.
 */
#include <string.h>

#include <tc/table.h>

#include "thrift.h"

static int fail(tc__thrift *t, const char *what)
{
    if (!t->err) {
        t->err = what;
        t->err_at = (size_t)(t->p - t->start);
    }
    return -1;
}

static int ran_out(tc__thrift *t)
{
    if (!t->err)
        t->truncated = 1;
    return fail(t, "data ends inside a value");
}

void tc__thrift_init(tc__thrift *t, const void *data, size_t len)
{
    memset(t, 0, sizeof(*t));
    t->start = t->p = data;
    t->end = t->start + len;
}

size_t tc__thrift_pos(const tc__thrift *t)
{
    return (size_t)(t->p - t->start);
}

static int varint(tc__thrift *t, uint64_t *out)
{
    uint64_t v = 0;

    if (t->err)
        return -1;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (t->p >= t->end)
            return ran_out(t);
        b = *t->p++;
        if (shift == 63 && b > 1)
            return fail(t, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return fail(t, "varint longer than 10 bytes");
}

static int zigzag(tc__thrift *t, int64_t *out)
{
    uint64_t u;

    if (varint(t, &u) < 0)
        return -1;
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

int tc__thrift_struct_begin(tc__thrift *t)
{
    if (t->err)
        return -1;
    if (t->depth >= TC_PARQUET_MAX_THRIFT_DEPTH)
        return fail(t, "structures nested too deeply");
    t->depth++;
    return 0;
}

void tc__thrift_struct_end(tc__thrift *t)
{
    if (t->depth > 0)
        t->depth--;
}

int tc__thrift_field(tc__thrift *t, int16_t *last, int16_t *id, int *type)
{
    uint8_t b;
    int delta;

    if (t->err)
        return -1;
    if (t->p >= t->end)
        return ran_out(t);
    b = *t->p++;
    if (b == TC__THRIFT_STOP)
        return 0;
    *type = b & 0x0f;
    if (*type > TC__THRIFT_UUID)
        return fail(t, "unknown field type");
    delta = b >> 4;
    if (delta) {
        if (*last > INT16_MAX - delta)
            return fail(t, "field id out of range");
        *id = (int16_t)(*last + delta);
    } else {
        int64_t v;
        if (zigzag(t, &v) < 0)
            return -1;
        if (v < INT16_MIN || v > INT16_MAX)
            return fail(t, "field id out of range");
        *id = (int16_t)v;
    }
    *last = *id;
    return 1;
}

static int need(tc__thrift *t, uint64_t n)
{
    if (t->err)
        return -1;
    if (n > (uint64_t)(t->end - t->p))
        return ran_out(t);
    return 0;
}

int tc__thrift_list(tc__thrift *t, int type, int *elem_type, uint32_t *count)
{
    uint8_t b;
    uint64_t n;

    if (t->err)
        return -1;
    if (type != TC__THRIFT_LIST && type != TC__THRIFT_SET)
        return fail(t, "expected a list");
    if (t->depth >= TC_PARQUET_MAX_THRIFT_DEPTH)
        return fail(t, "lists nested too deeply");
    if (need(t, 1) < 0)
        return -1;
    b = *t->p++;
    n = b >> 4;
    *elem_type = b & 0x0f;
    if (*elem_type == TC__THRIFT_STOP || *elem_type > TC__THRIFT_UUID)
        return fail(t, "unknown list element type");
    if (n == 15 && varint(t, &n) < 0)
        return -1;
    /* Every element takes at least one byte. */
    if (n > (uint64_t)(t->end - t->p))
        return fail(t, "list longer than the data left");
    *count = (uint32_t)n;
    t->depth++;
    return 0;
}

void tc__thrift_list_end(tc__thrift *t)
{
    if (t->depth > 0)
        t->depth--;
}

static int skip_value(tc__thrift *t, int type, int in_list)
{
    uint64_t u;

    if (t->err)
        return -1;
    switch (type) {
    case TC__THRIFT_TRUE:
    case TC__THRIFT_FALSE:
        /* A bool field has its value in the header; a list element is one byte. */
        if (!in_list)
            return 0;
        if (need(t, 1) < 0)
            return -1;
        t->p++;
        return 0;
    case TC__THRIFT_BYTE:
        if (need(t, 1) < 0)
            return -1;
        t->p++;
        return 0;
    case TC__THRIFT_I16:
    case TC__THRIFT_I32:
    case TC__THRIFT_I64: return varint(t, &u);
    case TC__THRIFT_DOUBLE:
        if (need(t, 8) < 0)
            return -1;
        t->p += 8;
        return 0;
    case TC__THRIFT_UUID:
        if (need(t, 16) < 0)
            return -1;
        t->p += 16;
        return 0;
    case TC__THRIFT_BINARY:
        if (varint(t, &u) < 0 || need(t, u) < 0)
            return -1;
        t->p += u;
        return 0;
    case TC__THRIFT_LIST:
    case TC__THRIFT_SET: {
        int et;
        uint32_t n;
        if (tc__thrift_list(t, type, &et, &n) < 0)
            return -1;
        for (uint32_t i = 0; i < n; i++)
            if (skip_value(t, et, 1) < 0)
                return -1;
        tc__thrift_list_end(t);
        return 0;
    }
    case TC__THRIFT_MAP: {
        uint8_t kv;
        int kt, vt;
        if (varint(t, &u) < 0)
            return -1;
        if (u == 0)
            return 0;
        if (u > (uint64_t)(t->end - t->p) / 2)
            return fail(t, "map longer than the data left");
        if (need(t, 1) < 0)
            return -1;
        kv = *t->p++;
        kt = kv >> 4;
        vt = kv & 0x0f;
        if (kt == TC__THRIFT_STOP || kt > TC__THRIFT_UUID || vt == TC__THRIFT_STOP ||
            vt > TC__THRIFT_UUID)
            return fail(t, "unknown map element type");
        if (t->depth >= TC_PARQUET_MAX_THRIFT_DEPTH)
            return fail(t, "maps nested too deeply");
        t->depth++;
        for (uint64_t i = 0; i < u; i++)
            if (skip_value(t, kt, 1) < 0 || skip_value(t, vt, 1) < 0)
                return -1;
        t->depth--;
        return 0;
    }
    case TC__THRIFT_STRUCT: {
        int16_t last = 0, id;
        int ft, rc;
        if (tc__thrift_struct_begin(t) < 0)
            return -1;
        while ((rc = tc__thrift_field(t, &last, &id, &ft)) > 0)
            if (skip_value(t, ft, 0) < 0)
                return -1;
        if (rc < 0)
            return -1;
        tc__thrift_struct_end(t);
        return 0;
    }
    default: return fail(t, "unknown type");
    }
}

int tc__thrift_skip(tc__thrift *t, int type)
{
    return skip_value(t, type, 0);
}

int tc__thrift_i64(tc__thrift *t, int type, int64_t *out)
{
    if (t->err)
        return -1;
    if (type == TC__THRIFT_BYTE) {
        if (need(t, 1) < 0)
            return -1;
        *out = (int8_t)*t->p++;
        return 0;
    }
    if (type != TC__THRIFT_I16 && type != TC__THRIFT_I32 && type != TC__THRIFT_I64)
        return fail(t, "expected an integer");
    if (zigzag(t, out) < 0)
        return -1;
    if ((type == TC__THRIFT_I16 && (*out < INT16_MIN || *out > INT16_MAX)) ||
        (type == TC__THRIFT_I32 && (*out < INT32_MIN || *out > INT32_MAX)))
        return fail(t, "integer out of range for its type");
    return 0;
}

int tc__thrift_i32(tc__thrift *t, int type, int32_t *out)
{
    int64_t v;

    if (tc__thrift_i64(t, type, &v) < 0)
        return -1;
    if (v < INT32_MIN || v > INT32_MAX)
        return fail(t, "integer out of range for i32");
    *out = (int32_t)v;
    return 0;
}

int tc__thrift_bool(tc__thrift *t, int type, int *out)
{
    if (t->err)
        return -1;
    if (type != TC__THRIFT_TRUE && type != TC__THRIFT_FALSE)
        return fail(t, "expected a bool");
    *out = type == TC__THRIFT_TRUE;
    return 0;
}

int tc__thrift_binary(tc__thrift *t, int type, const uint8_t **out, size_t *len)
{
    uint64_t n;

    if (t->err)
        return -1;
    if (type != TC__THRIFT_BINARY)
        return fail(t, "expected a string");
    if (varint(t, &n) < 0 || need(t, n) < 0)
        return -1;
    *out = t->p;
    *len = (size_t)n;
    t->p += n;
    return 0;
}
