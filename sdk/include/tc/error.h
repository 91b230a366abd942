/*
 * tc/error.h - error codes and the thread-local error slot.
 *
 * Every SDK function that can fail returns int: TC_OK (0) on success, a
 * negative tc_error_code otherwise. The function that detects a failure
 * records a one-line message with tc_error_set(); callers propagate the code
 * unchanged and do not overwrite the message. Messages are lowercase, without
 * a full stop, and quote their subject: "tensor 'fc1.weight' has shape [3, 4],
 * expected [4, 4]".
 */
#ifndef TC_ERROR_H
#define TC_ERROR_H

#include <tc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Public error codes. Never renumbered; retired codes stay as aliases. */
typedef enum tc_error_code {
    TC_OK = 0,
    TC_ERROR = -1,        /* generic failure */
    TC_ENOMEM = -2,       /* allocation failed */
    TC_EINVAL = -3,       /* invalid argument or input */
    TC_ENOTFOUND = -4,    /* file, key, tensor or plugin not found */
    TC_EEXISTS = -5,      /* already exists */
    TC_EABI = -6,         /* plugin ABI mismatch */
    TC_EIO = -7,          /* operating-system I/O error */
    TC_EFORMAT = -8,      /* malformed file or data */
    TC_ECANCELLED = -9,   /* the operation was cancelled */
    TC_ERANGE = -10,      /* a value or size is out of bounds */
    TC_EUNSUPPORTED = -11 /* valid, but not supported by this build */
} tc_error_code;

/** The last error recorded on this thread. */
typedef struct tc_error {
    int code;            /* a tc_error_code */
    const char *message; /* one line, never NULL */
} tc_error;

/**
 * Record an error on this thread, replacing any previous one.
 * @return code, so callers can write `return tc_error_set(TC_EINVAL, ...)`.
 */
TC_API int tc_error_set(int code, const char *fmt, ...) TC_PRINTF(2, 3);

/** The last error on this thread, or NULL if none was set since tc_error_clear(). Borrowed. */
TC_API const tc_error *tc_error_last(void);

/** The last message, or "" when none; never NULL. Borrowed until the next error. */
TC_API const char *tc_error_message(void);

/** Forget the last error on this thread. */
TC_API void tc_error_clear(void);

/** A static name for an error code ("invalid argument", ...). */
TC_API const char *tc_strerror(int code);

/**
 * Argument check for public entry points: returns TC_EINVAL with a message
 * naming the failed expression. Internal invariants use assert() instead.
 */
#define TC_ASSERT_ARG(expr)                                                                        \
    do {                                                                                           \
        if (!(expr))                                                                               \
            return tc_error_set(TC_EINVAL, "invalid argument: '%s'", #expr);                       \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* TC_ERROR_H */
