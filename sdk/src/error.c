#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <tc/error.h>

#define ERROR_MSG_MAX 1024

static _Thread_local char error_buf[ERROR_MSG_MAX];
static _Thread_local tc_error error_last;
static _Thread_local int error_isset;

int tc_error_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(error_buf, sizeof(error_buf), fmt, ap);
    va_end(ap);
    error_last.code = code;
    error_last.message = error_buf;
    error_isset = 1;
    return code;
}

const tc_error *tc_error_last(void)
{
    return error_isset ? &error_last : NULL;
}

const char *tc_error_message(void)
{
    return error_isset ? error_buf : "";
}

void tc_error_clear(void)
{
    error_isset = 0;
    error_buf[0] = '\0';
}

const char *tc_strerror(int code)
{
    switch (code) {
    case TC_OK: return "success";
    case TC_ERROR: return "error";
    case TC_ENOMEM: return "out of memory";
    case TC_EINVAL: return "invalid argument";
    case TC_ENOTFOUND: return "not found";
    case TC_EEXISTS: return "already exists";
    case TC_EABI: return "plugin ABI mismatch";
    case TC_EIO: return "input/output error";
    case TC_EFORMAT: return "malformed data";
    case TC_ECANCELLED: return "cancelled";
    case TC_ERANGE: return "out of range";
    case TC_EUNSUPPORTED: return "not supported";
    default: return "unknown error";
    }
}
