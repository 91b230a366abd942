/*
 * tc/safetensors.h - read and write safetensors files (TRANSFORMER-SPEC.md 7).
 *
 * The reader validates the whole header before exposing anything: the 8-byte
 * header length (at most TC_SAFETENSORS_MAX_HEADER and within the file), UTF-8
 * JSON starting with '{', known dtypes, unique names, shapes whose byte size
 * matches data_offsets without overflow, and offsets that tile the data buffer
 * exactly (no holes, no overlap, no trailing bytes). Any violation is
 * TC_EFORMAT with a message naming the file and, where there is one, the tensor.
 * Dtypes the format defines but we do not read (F8_*, F6_*, F4, C64) and
 * more than TC_SAFETENSORS_MAX_DIMS dimensions are TC_EUNSUPPORTED.
 *
 * The writer follows the reference library byte for byte: tensors ordered by
 * descending dtype alignment then name, compact JSON with __metadata__ first,
 * header padded with spaces to a multiple of 8, written atomically.
 */
#ifndef TC_SAFETENSORS_H
#define TC_SAFETENSORS_H

#include <tc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_SAFETENSORS_MAX_HEADER ((uint64_t)100000000)
#define TC_SAFETENSORS_MAX_DIMS 8

/*
 * The order matches the reference library's Dtype enum, which decides the
 * write order among dtypes of one size: never reorder, only append.
 */
typedef enum tc_st_dtype {
    TC_ST_BOOL = 0,
    TC_ST_U8,
    TC_ST_I8,
    TC_ST_I16,
    TC_ST_U16,
    TC_ST_F16,
    TC_ST_BF16,
    TC_ST_I32,
    TC_ST_U32,
    TC_ST_F32,
    TC_ST_F64,
    TC_ST_I64,
    TC_ST_U64,
    TC_ST_DTYPE_MAX
} tc_st_dtype;

/** One tensor's header entry. */
typedef struct tc_st_tensor {
    const char *name; /* borrowed from the file object */
    tc_st_dtype dtype;
    int32_t ndim;
    int64_t shape[TC_SAFETENSORS_MAX_DIMS];
    uint64_t begin, end; /* byte offsets in the data buffer */
} tc_st_tensor;

typedef struct tc_safetensors tc_safetensors;

/** Open and validate a file. The caller owns *out (tc_safetensors_free). */
TC_API int tc_safetensors_open(tc_safetensors **out, const char *path);

/** Close. Accepts NULL. */
TC_API void tc_safetensors_free(tc_safetensors *st);

/** Number of tensors (excluding __metadata__). */
TC_API size_t tc_safetensors_count(const tc_safetensors *st);

/** The i-th tensor in file order (borrowed), or NULL. */
TC_API const tc_st_tensor *tc_safetensors_at(const tc_safetensors *st, size_t i);

/** The tensor with this name (borrowed), or NULL. */
TC_API const tc_st_tensor *tc_safetensors_find(const tc_safetensors *st, const char *name);

/** A __metadata__ value (borrowed), or NULL. */
TC_API const char *tc_safetensors_metadata(const tc_safetensors *st, const char *key);

/**
 * Read a tensor converted to f32 into dst (numel floats). F32, F16, BF16, F64
 * and the integer types convert; numel must equal the tensor's element count.
 */
TC_API int tc_safetensors_read_f32(tc_safetensors *st, const char *name, float *dst, int64_t numel);

/** Read raw little-endian bytes of a tensor into dst (end - begin bytes). */
TC_API int tc_safetensors_read_raw(tc_safetensors *st, const char *name, void *dst, size_t nbytes);

/** Element size in bytes of a dtype, and its name ("F32"), or 0 / NULL if invalid. */
TC_API size_t tc_st_dtype_size(tc_st_dtype dt);
TC_API const char *tc_st_dtype_name(tc_st_dtype dt);

/** One tensor to write. */
typedef struct tc_st_entry {
    const char *name;
    tc_st_dtype dtype;
    int32_t ndim;
    const int64_t *shape;
    const void *data; /* product(shape) * dtype size bytes, little-endian */
} tc_st_entry;

/**
 * Write a file atomically (path.tmp + fsync + rename).
 * @param meta NULL or a NULL-terminated list "key", "value", ... for __metadata__
 * @return TC_OK, TC_EINVAL (duplicate or empty name, bad shape), TC_ENOTFOUND
 *         (no such directory), TC_EIO
 */
TC_API int tc_safetensors_write(const char *path, const tc_st_entry *entries, size_t n,
                                const char *const *meta);

#ifdef __cplusplus
}
#endif

#endif /* TC_SAFETENSORS_H */
