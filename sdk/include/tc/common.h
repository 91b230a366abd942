/*
 * tc/common.h - export macros, versions and the SDK allocator.
 *
 * Every public SDK header includes this one. Memory handed out by the SDK
 * (tc_malloc and friends, and any buffer a function documents as "free with
 * tc_free") is released with tc_free; never mix allocators across the
 * boundary between the SDK, the host and plugins.
 */
#ifndef TC_COMMON_H
#define TC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(TC_BUILDING_SDK)
#define TC_API __attribute__((visibility("default")))
#else
#define TC_API
#endif

#if defined(__GNUC__)
#define TC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TC_PRINTF(fmt, args)
#endif

#define TC_VERSION_MAJOR 0
#define TC_VERSION_MINOR 1
#define TC_VERSION_PATCH 0
#define TC_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Allocate n bytes. On failure returns NULL and sets TC_ENOMEM in the error
 * slot. tc_malloc(0) returns a unique non-NULL pointer.
 */
TC_API void *tc_malloc(size_t n);

/** Allocate n * size zeroed bytes; the multiplication is overflow-checked. */
TC_API void *tc_calloc(size_t n, size_t size);

/** Resize; on failure the old block is untouched, NULL is returned and TC_ENOMEM set. */
TC_API void *tc_realloc(void *p, size_t n);

/** Release memory from tc_malloc, tc_calloc, tc_realloc or tc_strdup. Accepts NULL. */
TC_API void tc_free(void *p);

/** Duplicate a string with tc_malloc; NULL on allocation failure. */
TC_API char *tc_strdup(const char *s);

/**
 * Write len bytes to path atomically: a temporary file next to it, fsync,
 * rename over path, fsync of the directory. Readers see the old content or
 * the new, never a mix; on failure the old file is untouched.
 * @return TC_OK, TC_ENOTFOUND when the directory does not exist, or TC_EIO
 *         (the message names the path and the system error)
 */
TC_API int tc_write_file_atomic(const char *path, const void *data, size_t len);

/** Create a directory and any missing parents (mode 0755); existing ones are fine. */
TC_API int tc_mkdir_p(const char *path);

/**
 * The BLAS in use, e.g. "OpenBLAS SkylakeX, 2 threads". libtc loads OpenBLAS
 * at first use and, unless $OPENBLAS_CORETYPE is set, picks its kernel set
 * from the CPU's features (AVX-512: SkylakeX, AVX2+FMA: Haswell).
 * $TC_OPENBLAS_LIBRARY names another library file. Borrowed, static.
 */
TC_API const char *tc_blas_backend(void);

/** The SDK version string, e.g. "0.1.0". */
TC_API const char *tc_version(void);

#ifdef __cplusplus
}
#endif

#endif /* TC_COMMON_H */
