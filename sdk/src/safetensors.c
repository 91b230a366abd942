/*
 * safetensors.c - safetensors reader and writer (TRANSFORMER-SPEC.md 7).
 *
 * Reader: the header is read with pread and validated completely at open
 * time; tensor data stays on disk and is read with pread on request, so a
 * large checkpoint is never loaded into memory at once. Validation mirrors
 * the reference reader and is a little stricter where the reference relies
 * on serde: the header must be valid UTF-8, start with '{', be exactly one
 * JSON object followed only by JSON whitespace, contain no duplicate keys at
 * any level, no raw control characters in strings, no escaped NUL, and every
 * number in it must be written as a plain non-negative integer below 2^53
 * (numbers only occur in "shape" and "data_offsets").
 *
 * Writer: tensors ordered by descending dtype (the reference's enum order,
 * which is increasing alignment and matches tc_st_dtype's order) then by name
 * (byte-wise), laid out back to back; the JSON is emitted by hand, compact,
 * with serde_json's string escaping, so the bytes equal the reference
 * library's for the same input. __metadata__ keys are written in the order
 * given (the reference uses a hash map, so with more than one key its order
 * is not defined).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <tc/error.h>
#include <tc/safetensors.h>

#include "internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ST_LITTLE_ENDIAN 1
#else
#define ST_LITTLE_ENDIAN 0
#endif

#define ST_MAX_INT ((uint64_t)1 << 53) /* numbers must be below this (exact in a double) */
#define ST_MAX_INT_DIGITS 16           /* 2^53 - 1 = 9007199254740991 */
#define ST_CHUNK_BYTES ((size_t)1 << 20)
#define ST_METADATA_KEY "__metadata__"

struct tc_safetensors {
    char *path;
    int fd;
    uint64_t file_size;
    uint64_t data_start; /* 8 + N: file offset of the data buffer */
    size_t count;
    tc_st_tensor *tensors; /* sorted by data offset (file order) */
    size_t *by_name;       /* indices into tensors, sorted by name */
    char *names;           /* every tensor name, NUL-terminated, back to back */
    size_t nmeta;
    char **meta; /* 2 * nmeta strings: key, value, key, value, ... */
};

static const struct {
    const char *name;
    size_t size;
} dtype_info[TC_ST_DTYPE_MAX] = {
    [TC_ST_BOOL] = {"BOOL", 1}, [TC_ST_U8] = {"U8", 1},   [TC_ST_I8] = {"I8", 1},
    [TC_ST_I16] = {"I16", 2},   [TC_ST_U16] = {"U16", 2}, [TC_ST_F16] = {"F16", 2},
    [TC_ST_BF16] = {"BF16", 2}, [TC_ST_I32] = {"I32", 4}, [TC_ST_U32] = {"U32", 4},
    [TC_ST_F32] = {"F32", 4},   [TC_ST_F64] = {"F64", 8}, [TC_ST_I64] = {"I64", 8},
    [TC_ST_U64] = {"U64", 8},
};

/* dtypes the format defines but this reader does not handle */
static const char *const dtype_unsupported[] = {
    "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",
    "F4",      "F6_E2M3", "F6_E3M2", "C64",
};

size_t tc_st_dtype_size(tc_st_dtype dt)
{
    if ((int)dt < 0 || (int)dt >= TC_ST_DTYPE_MAX)
        return 0;
    return dtype_info[dt].size;
}

const char *tc_st_dtype_name(tc_st_dtype dt)
{
    if ((int)dt < 0 || (int)dt >= TC_ST_DTYPE_MAX)
        return NULL;
    return dtype_info[dt].name;
}

/* 0: known and supported, 1: defined by the format but unsupported, -1: unknown */
static int dtype_parse(const char *s, tc_st_dtype *out)
{
    size_t i;

    for (i = 0; i < TC_ST_DTYPE_MAX; i++) {
        if (strcmp(s, dtype_info[i].name) == 0) {
            *out = (tc_st_dtype)i;
            return 0;
        }
    }
    for (i = 0; i < sizeof(dtype_unsupported) / sizeof(dtype_unsupported[0]); i++)
        if (strcmp(s, dtype_unsupported[i]) == 0)
            return 1;
    return -1;
}

static int st_err(int code, const char *path, const char *fmt, ...) TC_PRINTF(3, 4);

static int st_err(int code, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tc_error_set(code, "safetensors file '%s': %s", path, msg);
}

static void format_shape(char *buf, size_t cap, int32_t ndim, const int64_t *shape)
{
    size_t len = 0;
    int32_t i;

    len += (size_t)snprintf(buf, cap, "[");
    for (i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

/*
 * UTF-8 validation as Rust's str::from_utf8: no overlong forms, no
 * surrogates, nothing above U+10FFFF. Returns n when valid, else the offset
 * of the first bad sequence.
 */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t len, k;
        unsigned lo = 0x80, hi = 0xBF;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        else
            return i;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        if (n - i < len)
            return i;
        for (k = 1; k < len; k++) {
            unsigned d = s[i + k];
            if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF))
                return i;
        }
        i += len;
    }
    return n;
}

static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Lexical checks cJSON does not make (run after a successful parse):
 * only JSON whitespace between tokens, no raw control characters and no
 * escaped NUL in strings. *bad_number gets the offset of the first number
 * not written as a plain non-negative integer below 2^53 (or SIZE_MAX).
 */
static int lex_check(const char *path, const char *h, size_t n, size_t *bad_number)
{
    size_t i = 0;

    *bad_number = SIZE_MAX;
    while (i < n) {
        unsigned char c = (unsigned char)h[i];
        if (c == '"') {
            for (i++; i < n && h[i] != '"'; i++) {
                if ((unsigned char)h[i] < 0x20)
                    return st_err(TC_EFORMAT, path,
                                  "header is not valid JSON: raw control character 0x%02x in a "
                                  "string at byte %zu",
                                  (unsigned char)h[i], i);
                if (h[i] == '\\' && i + 1 < n) {
                    if (h[i + 1] == 'u' && n - i >= 6 && memcmp(h + i + 2, "0000", 4) == 0)
                        return st_err(TC_EFORMAT, path,
                                      "header contains an escaped NUL character at byte %zu", i);
                    i++;
                }
            }
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i, digits = 0;
            int plain = c != '-';
            for (; i < n && h[i] && strchr("0123456789+-.eE", h[i]); i++) {
                if (h[i] >= '0' && h[i] <= '9')
                    digits++;
                else
                    plain = 0;
            }
            if (h[start] == '0' && digits > 1)
                plain = 0;
            if ((!plain || digits > ST_MAX_INT_DIGITS) && *bad_number == SIZE_MAX)
                *bad_number = start;
        } else if (c < 0x21 && !is_json_space((char)c)) {
            return st_err(TC_EFORMAT, path,
                          "header is not valid JSON: control character 0x%02x at byte %zu", c, i);
        } else {
            i++;
        }
    }
    return TC_OK;
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path)
{
    char *p = buf;

    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return st_err(TC_EIO, path, "read error at byte %" PRIu64 ": %s", off, strerror(errno));
        }
        if (r == 0)
            return st_err(TC_EIO, path,
                          "unexpected end of file at byte %" PRIu64 " (was it truncated?)", off);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return TC_OK;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Find a duplicate key among obj's children: TC_OK and *dup = NULL when none. */
static int find_duplicate(const cJSON *obj, const char **dup)
{
    const cJSON *c;
    const char **keys;
    size_t n = 0, i;

    *dup = NULL;
    cJSON_ArrayForEach(c, obj) n++;
    if (n < 2)
        return TC_OK;
    keys = tc_calloc(n, sizeof(*keys));
    if (!keys)
        return TC_ENOMEM;
    n = 0;
    cJSON_ArrayForEach(c, obj) keys[n++] = c->string;
    qsort(keys, n, sizeof(*keys), cmp_str_ptr);
    for (i = 1; i < n && !*dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            *dup = keys[i];
    tc_free(keys);
    return TC_OK;
}

/* A JSON number that is a non-negative integer below 2^53: 0, else a reason. */
static const char *parse_uint(const cJSON *v, uint64_t *out)
{
    double d;

    if (!cJSON_IsNumber(v))
        return "is not a number";
    d = v->valuedouble;
    if (d < 0)
        return "is negative";
    if (d >= (double)ST_MAX_INT)
        return "is not below 2^53";
    if (d != (double)(uint64_t)d)
        return "is not an integer";
    *out = (uint64_t)d;
    return NULL;
}

static int parse_metadata(tc_safetensors *st, const cJSON *meta)
{
    const cJSON *c;
    const char *dup;
    size_t n = 0;
    int err;

    if (!cJSON_IsObject(meta))
        return st_err(TC_EFORMAT, st->path, "'" ST_METADATA_KEY "' is not a JSON object");
    if ((err = find_duplicate(meta, &dup)) < 0)
        return err;
    if (dup)
        return st_err(TC_EFORMAT, st->path, "duplicate key '%s' in '" ST_METADATA_KEY "'", dup);
    cJSON_ArrayForEach(c, meta)
    {
        if (!cJSON_IsString(c))
            return st_err(TC_EFORMAT, st->path,
                          "'" ST_METADATA_KEY "' value of '%s' is not a string", c->string);
        n++;
    }
    st->meta = tc_calloc(2 * n + 1, sizeof(char *));
    if (!st->meta)
        return TC_ENOMEM;
    cJSON_ArrayForEach(c, meta)
    {
        char *k = tc_strdup(c->string), *v = k ? tc_strdup(c->valuestring) : NULL;
        if (!v) {
            tc_free(k);
            return TC_ENOMEM;
        }
        st->meta[2 * st->nmeta] = k;
        st->meta[2 * st->nmeta + 1] = v;
        st->nmeta++;
    }
    return TC_OK;
}

/* Pick out dtype, shape and data_offsets, rejecting duplicates and extra keys. */
static int entry_fields(const char *path, const char *name, const cJSON *v, const cJSON *f[3])
{
    static const char *const keys[3] = {"dtype", "shape", "data_offsets"};
    const cJSON *c;
    int k;

    if (!cJSON_IsObject(v))
        return st_err(TC_EFORMAT, path, "tensor '%s' is not a JSON object", name);
    f[0] = f[1] = f[2] = NULL;
    cJSON_ArrayForEach(c, v)
    {
        for (k = 0; k < 3 && strcmp(c->string, keys[k]) != 0; k++)
            ;
        if (k == 3)
            return st_err(TC_EFORMAT, path, "tensor '%s' has an unexpected key '%s'", name,
                          c->string);
        if (f[k])
            return st_err(TC_EFORMAT, path, "tensor '%s' has a duplicate key '%s'", name,
                          c->string);
        f[k] = c;
    }
    for (k = 0; k < 3; k++)
        if (!f[k])
            return st_err(TC_EFORMAT, path, "tensor '%s' has no '%s'", name, keys[k]);
    return TC_OK;
}

static int parse_dtype(const char *path, const char *name, const cJSON *v, tc_st_dtype *out)
{
    int r;

    if (!cJSON_IsString(v))
        return st_err(TC_EFORMAT, path, "tensor '%s': 'dtype' is not a string", name);
    r = dtype_parse(v->valuestring, out);
    if (r > 0)
        return st_err(TC_EUNSUPPORTED, path, "tensor '%s' has dtype '%s', which is not supported",
                      name, v->valuestring);
    if (r < 0)
        return st_err(TC_EFORMAT, path, "tensor '%s' has unknown dtype '%s'", name, v->valuestring);
    return TC_OK;
}

static int parse_shape(const char *path, const char *name, const cJSON *v, tc_st_tensor *t)
{
    const cJSON *c;
    int n;

    if (!cJSON_IsArray(v))
        return st_err(TC_EFORMAT, path, "tensor '%s': 'shape' is not an array", name);
    n = cJSON_GetArraySize(v);
    if (n > TC_SAFETENSORS_MAX_DIMS)
        return st_err(TC_EUNSUPPORTED, path, "tensor '%s' has %d dimensions, more than %d", name, n,
                      TC_SAFETENSORS_MAX_DIMS);
    t->ndim = 0;
    cJSON_ArrayForEach(c, v)
    {
        uint64_t d = 0;
        const char *why = parse_uint(c, &d);
        if (why)
            return st_err(TC_EFORMAT, path, "tensor '%s': shape entry %d %s", name, t->ndim, why);
        t->shape[t->ndim++] = (int64_t)d;
    }
    return TC_OK;
}

static int parse_offsets(const char *path, const char *name, const cJSON *v, tc_st_tensor *t)
{
    uint64_t o[2] = {0, 0};
    const char *why;
    int i;

    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
        return st_err(TC_EFORMAT, path, "tensor '%s': 'data_offsets' is not an array [BEGIN, END]",
                      name);
    for (i = 0; i < 2; i++)
        if ((why = parse_uint(cJSON_GetArrayItem(v, i), &o[i])))
            return st_err(TC_EFORMAT, path, "tensor '%s': data_offsets[%d] %s", name, i, why);
    if (o[1] < o[0])
        return st_err(TC_EFORMAT, path,
                      "tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64 "] with END < BEGIN",
                      name, o[0], o[1]);
    t->begin = o[0];
    t->end = o[1];
    return TC_OK;
}

/* product(shape) x element size must equal END - BEGIN, without overflow. */
static int check_size(const char *path, const tc_st_tensor *t)
{
    uint64_t elems = 1, size = dtype_info[t->dtype].size, bytes;
    char shape[256];
    int32_t i;

    for (i = 0; i < t->ndim; i++) {
        uint64_t d = (uint64_t)t->shape[i];
        if (d && elems > UINT64_MAX / d)
            return st_err(TC_EFORMAT, path, "tensor '%s': the element count overflows", t->name);
        elems *= d;
    }
    if (elems > UINT64_MAX / size)
        return st_err(TC_EFORMAT, path, "tensor '%s': the byte size overflows", t->name);
    bytes = elems * size;
    if (bytes != t->end - t->begin) {
        format_shape(shape, sizeof(shape), t->ndim, t->shape);
        return st_err(TC_EFORMAT, path,
                      "tensor '%s' has shape %s of %s (%" PRIu64
                      " bytes) but data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64 " bytes",
                      t->name, shape, dtype_info[t->dtype].name, bytes, t->begin, t->end,
                      t->end - t->begin);
    }
    return TC_OK;
}

static int parse_entry(const char *path, const cJSON *v, tc_st_tensor *t)
{
    const cJSON *f[3];
    int err;

    if ((err = entry_fields(path, t->name, v, f)) < 0)
        return err;
    if ((err = parse_dtype(path, t->name, f[0], &t->dtype)) < 0)
        return err;
    if ((err = parse_shape(path, t->name, f[1], t)) < 0)
        return err;
    if ((err = parse_offsets(path, t->name, f[2], t)) < 0)
        return err;
    return check_size(path, t);
}

static int cmp_by_offset(const void *a, const void *b)
{
    const tc_st_tensor *x = a, *y = b;

    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Sorted by BEGIN, the tensors must tile [0, file_size - 8 - N) exactly. */
static int check_tiling(tc_safetensors *st)
{
    uint64_t pos = 0, avail = st->file_size - st->data_start;
    size_t i;

    qsort(st->tensors, st->count, sizeof(*st->tensors), cmp_by_offset);
    for (i = 0; i < st->count; i++) {
        const tc_st_tensor *t = &st->tensors[i];
        if (t->begin > pos)
            return st_err(TC_EFORMAT, st->path,
                          "hole in the data buffer: tensor '%s' starts at byte %" PRIu64
                          " but the data before it ends at byte %" PRIu64,
                          t->name, t->begin, pos);
        if (t->begin < pos)
            return st_err(TC_EFORMAT, st->path,
                          "tensor '%s' starts at byte %" PRIu64
                          ", overlapping the data before it, which ends at byte %" PRIu64,
                          t->name, t->begin, pos);
        pos = t->end;
    }
    if (pos > avail)
        return st_err(TC_EFORMAT, st->path,
                      "tensor data ends at byte %" PRIu64 " but the file has only %" PRIu64
                      " data bytes",
                      pos, avail);
    if (pos < avail)
        return st_err(TC_EFORMAT, st->path,
                      "%" PRIu64 " trailing bytes after the last tensor (data ends at byte %" PRIu64
                      " of %" PRIu64 ")",
                      avail - pos, pos, avail);
    return TC_OK;
}

static int cmp_tensor_ptr_name(const void *a, const void *b)
{
    const tc_st_tensor *x = *(const tc_st_tensor *const *)a;
    const tc_st_tensor *y = *(const tc_st_tensor *const *)b;

    return strcmp(x->name, y->name);
}

/* Fill st->by_name (duplicates were rejected already). */
static int index_by_name(tc_safetensors *st)
{
    const tc_st_tensor **p = tc_calloc(st->count ? st->count : 1, sizeof(*p));
    size_t i;

    if (!p)
        return TC_ENOMEM;
    for (i = 0; i < st->count; i++)
        p[i] = &st->tensors[i];
    qsort(p, st->count, sizeof(*p), cmp_tensor_ptr_name);
    for (i = 0; i < st->count; i++)
        st->by_name[i] = (size_t)(p[i] - st->tensors);
    tc_free(p);
    return TC_OK;
}

/* Allocate the tensor table and the name arena, then parse every entry. */
static int parse_tensors(tc_safetensors *st, const cJSON *root)
{
    const cJSON *c;
    size_t n = 0, name_bytes = 0, i = 0;
    char *np;
    int err;

    cJSON_ArrayForEach(c, root)
    {
        if (strcmp(c->string, ST_METADATA_KEY) == 0)
            continue;
        n++;
        name_bytes += strlen(c->string) + 1;
    }
    st->tensors = tc_calloc(n ? n : 1, sizeof(*st->tensors));
    st->by_name = tc_calloc(n ? n : 1, sizeof(*st->by_name));
    st->names = tc_malloc(name_bytes);
    if (!st->tensors || !st->by_name || !st->names)
        return TC_ENOMEM;
    np = st->names;
    cJSON_ArrayForEach(c, root)
    {
        size_t len;
        if (strcmp(c->string, ST_METADATA_KEY) == 0)
            continue;
        len = strlen(c->string) + 1;
        memcpy(np, c->string, len);
        st->tensors[i].name = np;
        np += len;
        if ((err = parse_entry(st->path, c, &st->tensors[i])) < 0)
            return err;
        i++;
    }
    st->count = n;
    return TC_OK;
}

static int parse_header(tc_safetensors *st, const char *h, size_t n)
{
    cJSON *root = NULL;
    const cJSON *meta;
    const char *end = NULL, *dup;
    size_t bad, i;
    int err = TC_OK;

    if (n == 0 || h[0] != '{') {
        err = st_err(TC_EFORMAT, st->path, "header does not start with '{'");
        goto out;
    }
    if ((bad = utf8_invalid_at((const unsigned char *)h, n)) != n) {
        err = st_err(TC_EFORMAT, st->path, "header is not valid UTF-8 (byte %zu)", bad);
        goto out;
    }
    root = cJSON_ParseWithLengthOpts(h, n, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        err = st_err(TC_EFORMAT, st->path, "header is not valid JSON (error near byte %zu)",
                     end && end >= h ? (size_t)(end - h) : (size_t)0);
        goto out;
    }
    for (i = (size_t)(end - h); i < n; i++) {
        if (!is_json_space(h[i])) {
            err = st_err(TC_EFORMAT, st->path,
                         "header is not valid JSON: trailing characters at byte %zu", i);
            goto out;
        }
    }
    if ((err = lex_check(st->path, h, (size_t)(end - h), &bad)) < 0)
        goto out;
    if ((err = find_duplicate(root, &dup)) < 0)
        goto out;
    if (dup) {
        err = st_err(TC_EFORMAT, st->path, "duplicate key '%s' in the header", dup);
        goto out;
    }
    meta = cJSON_GetObjectItemCaseSensitive(root, ST_METADATA_KEY);
    if (meta && (err = parse_metadata(st, meta)) < 0)
        goto out;
    if ((err = parse_tensors(st, root)) < 0)
        goto out;
    if (bad != SIZE_MAX) {
        err = st_err(TC_EFORMAT, st->path,
                     "header has a number at byte %zu that is not a plain non-negative integer "
                     "below 2^53",
                     bad);
        goto out;
    }
    if ((err = check_tiling(st)) < 0)
        goto out;
    err = index_by_name(st);
out:
    cJSON_Delete(root);
    return err;
}

static uint64_t load_le64(const unsigned char *b)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static int open_file(tc_safetensors *st)
{
    struct stat sb;

    st->fd = open(st->path, O_RDONLY | O_CLOEXEC);
    if (st->fd < 0)
        return st_err(errno == ENOENT ? TC_ENOTFOUND : TC_EIO, st->path, "cannot open: %s",
                      strerror(errno));
    if (fstat(st->fd, &sb) < 0)
        return st_err(TC_EIO, st->path, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return st_err(TC_EIO, st->path, "not a regular file");
    st->file_size = (uint64_t)sb.st_size;
    return TC_OK;
}

int tc_safetensors_open(tc_safetensors **out, const char *path)
{
    tc_safetensors *st = NULL;
    unsigned char lenbuf[8];
    char *header = NULL;
    uint64_t n;
    int err;

    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(path);
    st = tc_calloc(1, sizeof(*st));
    if (!st)
        return TC_ENOMEM;
    st->fd = -1;
    if (!(st->path = tc_strdup(path))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = open_file(st)) < 0)
        goto out;
    if (st->file_size < 8) {
        err = st_err(TC_EFORMAT, path,
                     "file has %" PRIu64 " bytes, too small for the 8-byte header length",
                     st->file_size);
        goto out;
    }
    if ((err = pread_full(st->fd, lenbuf, 8, 0, path)) < 0)
        goto out;
    n = load_le64(lenbuf);
    if (n > TC_SAFETENSORS_MAX_HEADER) {
        err = st_err(TC_EFORMAT, path,
                     "header length %" PRIu64 " exceeds the limit of %" PRIu64 " bytes", n,
                     TC_SAFETENSORS_MAX_HEADER);
        goto out;
    }
    if (8 + n > st->file_size) {
        err = st_err(TC_EFORMAT, path,
                     "header length %" PRIu64 " runs past the end of the file (%" PRIu64 " bytes)",
                     n, st->file_size);
        goto out;
    }
    st->data_start = 8 + n;
    if (!(header = tc_malloc((size_t)n + 1))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = pread_full(st->fd, header, (size_t)n, 8, path)) < 0)
        goto out;
    header[n] = '\0';
    if ((err = parse_header(st, header, (size_t)n)) < 0)
        goto out;
    *out = st;
    st = NULL;
out:
    tc_free(header);
    tc_safetensors_free(st);
    return err;
}

void tc_safetensors_free(tc_safetensors *st)
{
    size_t i;

    if (!st)
        return;
    if (st->fd >= 0)
        close(st->fd);
    if (st->meta)
        for (i = 0; i < 2 * st->nmeta; i++)
            tc_free(st->meta[i]);
    tc_free(st->meta);
    tc_free(st->names);
    tc_free(st->by_name);
    tc_free(st->tensors);
    tc_free(st->path);
    tc_free(st);
}

size_t tc_safetensors_count(const tc_safetensors *st)
{
    return st ? st->count : 0;
}

const tc_st_tensor *tc_safetensors_at(const tc_safetensors *st, size_t i)
{
    if (!st || i >= st->count)
        return NULL;
    return &st->tensors[i];
}

const tc_st_tensor *tc_safetensors_find(const tc_safetensors *st, const char *name)
{
    size_t lo = 0, hi;

    if (!st || !name)
        return NULL;
    hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tc_st_tensor *t = &st->tensors[st->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *tc_safetensors_metadata(const tc_safetensors *st, const char *key)
{
    size_t i;

    if (!st || !key)
        return NULL;
    for (i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta[2 * i], key) == 0)
            return st->meta[2 * i + 1];
    return NULL;
}

static int find_or_fail(tc_safetensors *st, const char *name, const tc_st_tensor **out)
{
    *out = tc_safetensors_find(st, name);
    if (!*out)
        return st_err(TC_ENOTFOUND, st->path, "no tensor '%s'", name);
    return TC_OK;
}

int tc_safetensors_read_raw(tc_safetensors *st, const char *name, void *dst, size_t nbytes)
{
    const tc_st_tensor *t;
    int err;

    TC_ASSERT_ARG(st);
    TC_ASSERT_ARG(name);
    TC_ASSERT_ARG(dst || nbytes == 0);
    if ((err = find_or_fail(st, name, &t)) < 0)
        return err;
    if ((uint64_t)nbytes != t->end - t->begin)
        return st_err(TC_EINVAL, st->path, "tensor '%s' has %" PRIu64 " bytes, not %zu", name,
                      t->end - t->begin, nbytes);
    return pread_full(st->fd, dst, nbytes, st->data_start + t->begin, st->path);
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    float f;

    if (exp == 0) {
        f = (float)mant * (1.0f / 16777216.0f); /* zero or subnormal: mant x 2^-24 */
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7F800000u | (mant << 13);
    else
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    memcpy(&f, &bits, sizeof(f));
    return f;
}

static float bits_to_float(uint32_t bits)
{
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

/* Convert count little-endian elements of dt at src to f32. */
static void convert_to_f32(float *dst, const unsigned char *src, size_t count, tc_st_dtype dt)
{
    size_t i, sz = dtype_info[dt].size;

    for (i = 0; i < count; i++) {
        const unsigned char *b = src + i * sz;
        uint64_t u = 0;
        size_t k;
        double d;

        for (k = sz; k > 0; k--)
            u = (u << 8) | b[k - 1];
        switch (dt) {
        case TC_ST_BOOL: dst[i] = u ? 1.0f : 0.0f; break;
        case TC_ST_U8: dst[i] = (float)(uint8_t)u; break;
        case TC_ST_I8: dst[i] = (float)(int8_t)(uint8_t)u; break;
        case TC_ST_I16: dst[i] = (float)(int16_t)(uint16_t)u; break;
        case TC_ST_U16: dst[i] = (float)(uint16_t)u; break;
        case TC_ST_F16: dst[i] = half_to_float((uint16_t)u); break;
        case TC_ST_BF16: dst[i] = bits_to_float((uint32_t)u << 16); break;
        case TC_ST_I32: dst[i] = (float)(int32_t)(uint32_t)u; break;
        case TC_ST_U32: dst[i] = (float)(uint32_t)u; break;
        case TC_ST_F32: dst[i] = bits_to_float((uint32_t)u); break;
        case TC_ST_F64:
            memcpy(&d, &u, sizeof(d));
            dst[i] = (float)d;
            break;
        case TC_ST_I64: dst[i] = (float)(int64_t)u; break;
        case TC_ST_U64: dst[i] = (float)u; break;
        default: dst[i] = 0.0f; break;
        }
    }
}

int tc_safetensors_read_f32(tc_safetensors *st, const char *name, float *dst, int64_t numel)
{
    const tc_st_tensor *t;
    unsigned char *buf = NULL;
    uint64_t count, done = 0, size;
    size_t per_chunk;
    int err;

    TC_ASSERT_ARG(st);
    TC_ASSERT_ARG(name);
    TC_ASSERT_ARG(dst || numel == 0);
    if ((err = find_or_fail(st, name, &t)) < 0)
        return err;
    size = dtype_info[t->dtype].size;
    count = (t->end - t->begin) / size;
    if (numel < 0 || (uint64_t)numel != count)
        return st_err(TC_EINVAL, st->path, "tensor '%s' has %" PRIu64 " elements, not %" PRId64,
                      name, count, numel);
    if (ST_LITTLE_ENDIAN && t->dtype == TC_ST_F32)
        return pread_full(st->fd, dst, (size_t)(count * 4), st->data_start + t->begin, st->path);
    per_chunk = ST_CHUNK_BYTES / size;
    if (!(buf = tc_malloc(count < per_chunk ? (size_t)(count * size) : ST_CHUNK_BYTES)))
        return TC_ENOMEM;
    while (done < count) {
        size_t k = count - done < per_chunk ? (size_t)(count - done) : per_chunk;
        err = pread_full(st->fd, buf, k * size, st->data_start + t->begin + done * size, st->path);
        if (err < 0)
            goto out;
        convert_to_f32(dst + done, buf, k, t->dtype);
        done += k;
    }
out:
    tc_free(buf);
    return err;
}

/* ---- writer ---- */

typedef struct st_buf {
    char *p;
    size_t len, cap;
} st_buf;

static int sb_put(st_buf *b, const char *s, size_t n)
{
    if (n > TC_SAFETENSORS_MAX_HEADER - b->len)
        return tc_error_set(TC_EINVAL,
                            "safetensors header would exceed the limit of %" PRIu64 " bytes",
                            TC_SAFETENSORS_MAX_HEADER);
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        char *np;
        while (ncap < b->len + n)
            ncap *= 2;
        if (!(np = tc_realloc(b->p, ncap)))
            return TC_ENOMEM;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return TC_OK;
}

static int sb_puts(st_buf *b, const char *s)
{
    return sb_put(b, s, strlen(s));
}

static int sb_u64(st_buf *b, uint64_t v)
{
    char num[24];
    int len = snprintf(num, sizeof(num), "%" PRIu64, v);

    return sb_put(b, num, (size_t)len);
}

/* A JSON string escaped as serde_json does: ", \ and control characters only. */
static int sb_json_str(st_buf *b, const char *s)
{
    int err = sb_put(b, "\"", 1);

    for (; err == TC_OK && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        switch (c) {
        case '"': err = sb_put(b, "\\\"", 2); break;
        case '\\': err = sb_put(b, "\\\\", 2); break;
        case '\b': err = sb_put(b, "\\b", 2); break;
        case '\f': err = sb_put(b, "\\f", 2); break;
        case '\n': err = sb_put(b, "\\n", 2); break;
        case '\r': err = sb_put(b, "\\r", 2); break;
        case '\t': err = sb_put(b, "\\t", 2); break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                err = sb_put(b, esc, 6);
            } else {
                err = sb_put(b, s, 1);
            }
        }
    }
    return err ? err : sb_put(b, "\"", 1);
}

static int check_utf8_arg(const char *what, const char *s)
{
    size_t n = strlen(s);

    if (utf8_invalid_at((const unsigned char *)s, n) != n)
        return tc_error_set(TC_EINVAL, "%s is not valid UTF-8", what);
    return TC_OK;
}

/* Validate one entry and compute its byte size. */
static int entry_bytes(const tc_st_entry *e, uint64_t *out)
{
    uint64_t elems = 1;
    int32_t i;
    int err;

    if (!e->name || !e->name[0])
        return tc_error_set(TC_EINVAL, "safetensors tensor with an empty name");
    if ((err = check_utf8_arg("safetensors tensor name", e->name)) < 0)
        return err;
    if (strcmp(e->name, ST_METADATA_KEY) == 0)
        return tc_error_set(TC_EINVAL, "'" ST_METADATA_KEY "' cannot be a tensor name");
    if ((int)e->dtype < 0 || (int)e->dtype >= TC_ST_DTYPE_MAX)
        return tc_error_set(TC_EINVAL, "tensor '%s' has an invalid dtype %d", e->name,
                            (int)e->dtype);
    if (e->ndim < 0 || e->ndim > TC_SAFETENSORS_MAX_DIMS || (e->ndim > 0 && !e->shape))
        return tc_error_set(TC_EINVAL, "tensor '%s' has an invalid ndim %d", e->name, (int)e->ndim);
    for (i = 0; i < e->ndim; i++) {
        uint64_t d = (uint64_t)e->shape[i];
        if (e->shape[i] < 0 || d >= ST_MAX_INT)
            return tc_error_set(TC_EINVAL, "tensor '%s' has an invalid dimension %" PRId64, e->name,
                                e->shape[i]);
        if (d && elems > UINT64_MAX / d)
            return tc_error_set(TC_EINVAL, "tensor '%s' is too large", e->name);
        elems *= d;
    }
    if (elems > (uint64_t)SIZE_MAX / dtype_info[e->dtype].size ||
        elems * dtype_info[e->dtype].size >= ST_MAX_INT)
        return tc_error_set(TC_EINVAL, "tensor '%s' is too large", e->name);
    *out = elems * dtype_info[e->dtype].size;
    if (*out && !e->data)
        return tc_error_set(TC_EINVAL, "tensor '%s' has no data", e->name);
    return TC_OK;
}

static int cmp_entry_name(const void *a, const void *b)
{
    const tc_st_entry *x = *(const tc_st_entry *const *)a, *y = *(const tc_st_entry *const *)b;

    return strcmp(x->name, y->name);
}

/* The reference order: descending dtype (alignment), then name. */
static int cmp_entry_order(const void *a, const void *b)
{
    const tc_st_entry *x = *(const tc_st_entry *const *)a, *y = *(const tc_st_entry *const *)b;

    if (x->dtype != y->dtype)
        return (int)y->dtype - (int)x->dtype;
    return strcmp(x->name, y->name);
}

static int check_meta(const char *const *meta, size_t *npairs)
{
    size_t n, i, j;
    int err;

    for (n = 0; meta[2 * n]; n++) {
        if (!meta[2 * n + 1])
            return tc_error_set(TC_EINVAL, "metadata key '%s' has no value", meta[2 * n]);
        if ((err = check_utf8_arg("metadata key", meta[2 * n])) < 0 ||
            (err = check_utf8_arg("metadata value", meta[2 * n + 1])) < 0)
            return err;
    }
    for (i = 0; i < n; i++)
        for (j = i + 1; j < n; j++)
            if (strcmp(meta[2 * i], meta[2 * j]) == 0)
                return tc_error_set(TC_EINVAL, "duplicate metadata key '%s'", meta[2 * i]);
    *npairs = n;
    return TC_OK;
}

static int emit_metadata(st_buf *b, const char *const *meta, size_t n)
{
    size_t i;
    int err = sb_puts(b, "\"" ST_METADATA_KEY "\":{");

    for (i = 0; i < n && err == TC_OK; i++) {
        if (i)
            err = sb_put(b, ",", 1);
        if (!err)
            err = sb_json_str(b, meta[2 * i]);
        if (!err)
            err = sb_put(b, ":", 1);
        if (!err)
            err = sb_json_str(b, meta[2 * i + 1]);
    }
    return err ? err : sb_put(b, "}", 1);
}

static int emit_tensor(st_buf *b, const tc_st_entry *e, uint64_t begin, uint64_t end)
{
    int32_t i;
    int err = sb_json_str(b, e->name);

    if (!err)
        err = sb_puts(b, ":{\"dtype\":");
    if (!err)
        err = sb_json_str(b, dtype_info[e->dtype].name);
    if (!err)
        err = sb_puts(b, ",\"shape\":[");
    for (i = 0; i < e->ndim && !err; i++) {
        if (i)
            err = sb_put(b, ",", 1);
        if (!err)
            err = sb_u64(b, (uint64_t)e->shape[i]);
    }
    if (!err)
        err = sb_puts(b, "],\"data_offsets\":[");
    if (!err)
        err = sb_u64(b, begin);
    if (!err)
        err = sb_put(b, ",", 1);
    if (!err)
        err = sb_u64(b, end);
    return err ? err : sb_puts(b, "]}");
}

/* Build the padded header for entries in the given order; lens[i] = byte sizes. */
static int build_header(st_buf *b, const tc_st_entry *const *order, const size_t *lens, size_t n,
                        const char *const *meta, size_t nmeta)
{
    uint64_t offset = 0;
    size_t i;
    int err = sb_put(b, "{", 1);

    if (!err && meta)
        err = emit_metadata(b, meta, nmeta);
    for (i = 0; i < n && !err; i++) {
        if (i || meta)
            err = sb_put(b, ",", 1);
        if (!err)
            err = emit_tensor(b, order[i], offset, offset + lens[i]);
        offset += lens[i];
        if (offset >= ST_MAX_INT)
            return tc_error_set(TC_EINVAL, "safetensors data would exceed 2^53 bytes");
    }
    if (!err)
        err = sb_put(b, "}", 1);
    while (!err && b->len % 8)
        err = sb_put(b, " ", 1);
    return err;
}

/* Check names and metadata, sort, and return the entries in write order with their sizes. */
static int plan_write(const tc_st_entry *entries, size_t n, const tc_st_entry **order, size_t *lens)
{
    size_t i;
    uint64_t bytes;
    int err;

    for (i = 0; i < n; i++) {
        if ((err = entry_bytes(&entries[i], &bytes)) < 0)
            return err;
        order[i] = &entries[i];
    }
    qsort(order, n, sizeof(*order), cmp_entry_name);
    for (i = 1; i < n; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0)
            return tc_error_set(TC_EINVAL, "duplicate safetensors tensor name '%s'",
                                order[i]->name);
    qsort(order, n, sizeof(*order), cmp_entry_order);
    for (i = 0; i < n; i++) {
        entry_bytes(order[i], &bytes);
        lens[i] = (size_t)bytes;
    }
    return TC_OK;
}

int tc_safetensors_write(const char *path, const tc_st_entry *entries, size_t n,
                         const char *const *meta)
{
    const tc_st_entry **order = NULL;
    const void **chunks = NULL;
    size_t *lens = NULL, nmeta = 0, i;
    unsigned char lenbuf[8];
    st_buf hdr = {NULL, 0, 0};
    int err;

    TC_ASSERT_ARG(path);
    TC_ASSERT_ARG(entries || n == 0);
    if (n > SIZE_MAX / sizeof(void *) - 2)
        return tc_error_set(TC_EINVAL, "too many tensors (%zu)", n);
    if (meta && (err = check_meta(meta, &nmeta)) < 0)
        return err;
    order = tc_calloc(n + 2, sizeof(*order));
    chunks = tc_calloc(n + 2, sizeof(*chunks));
    lens = tc_calloc(n + 2, sizeof(*lens));
    if (!order || !chunks || !lens) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = plan_write(entries, n, order, lens + 2)) < 0)
        goto out;
    if ((err = build_header(&hdr, order, lens + 2, n, meta, nmeta)) < 0)
        goto out;
    for (i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)((uint64_t)hdr.len >> (8 * i));
    chunks[0] = lenbuf;
    lens[0] = 8;
    chunks[1] = hdr.p;
    lens[1] = hdr.len;
    for (i = 0; i < n; i++)
        chunks[i + 2] = lens[i + 2] ? order[i]->data : (const void *)lenbuf;
    err = tc__write_chunks_atomic(path, chunks, lens, n + 2);
out:
    tc_free(hdr.p);
    tc_free(lens);
    tc_free(chunks);
    tc_free(order);
    return err;
}
