/*
 * internal.h - helpers shared by SDK source files (not installed).
 * Names use the tc__ prefix of cross-file internals.
 */
#ifndef TC_INTERNAL_H
#define TC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tc/common.h>
#include <tc/error.h>

#if defined(TC_BUILDING_SDK)
#define TC_INTERNAL __attribute__((visibility("default")))
#else
#define TC_INTERNAL
#endif

struct tc_rng;

/*
 * mask[i] = tc_rng_uniform(r) >= p for i in [0, n), in one vectorized pass: the same bytes
 * and the same generator state afterwards as that loop (a dropout keep mask).
 */
TC_INTERNAL void tc__rng_keep_mask(struct tc_rng *r, uint8_t *mask, int64_t n, float p);

/*
 * Write len bytes to path atomically: path.tmp.<pid>, fsync, rename, fsync of
 * the directory. On failure the old file (if any) is untouched.
 */
TC_INTERNAL int tc__write_file_atomic(const char *path, const void *data, size_t len);

/*
 * Write the concatenation of n chunks atomically (same rules), so large
 * payloads need not be copied into one buffer.
 */
TC_INTERNAL int tc__write_chunks_atomic(const char *path, const void *const *chunks,
                                        const size_t *lens, size_t n);

/*
 * Read a whole file of at most max_bytes into a tc_malloc'd buffer with a
 * terminating NUL (not counted in *out_len). TC_ERANGE when larger.
 */
TC_INTERNAL int tc__read_file(const char *path, size_t max_bytes, char **out, size_t *out_len);

/* Create a directory and its parents (mode 0755); existing ones are fine. */
TC_INTERNAL int tc__mkdir_p(const char *path);

/* Overflow-checked size multiply: 0 and TC_ERANGE set on overflow. */
TC_INTERNAL int tc__mul_size(size_t a, size_t b, size_t *out);

#endif /* TC_INTERNAL_H */
