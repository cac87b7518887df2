/* Error codes: names and messages from the one list in fronta.h. */
#include "core/internal.h"
#include "data/deferred.h"

#include <stdarg.h>
#include <stdio.h>

const char *fronta_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define FRONTA__ERR_MSG(name, val, msg) \
    case (val):                          \
        return msg;
        FRONTA_ERRNO_MAP(FRONTA__ERR_MSG)
#undef FRONTA__ERR_MSG
    }
    return "unknown error";
}

const char *fronta_err_name(int err)
{
    switch (err) {
    case 0:
        return "FRONTA_OK";
#define FRONTA__ERR_NAME(name, val, msg) \
    case (val):                           \
        return "FRONTA_" #name;
        FRONTA_ERRNO_MAP(FRONTA__ERR_NAME)
#undef FRONTA__ERR_NAME
    }
    return "FRONTA_UNKNOWN";
}

const char *fronta_version(void)
{
    return FRONTA_VERSION_STRING;
}

/* ---- the detail of the last failure, per thread ---- */

static _Thread_local char last_error[512];

const char *fronta_last_error(void)
{
    return last_error;
}

/* Record the detail of a failure this thread is about to return (the
 * code says what kind; this says which argument, which need). */
int fronta__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

int fronta__set_last_error(int code, const char *msg)
{
    return fronta__fail(code, "%s", msg ? msg : "");
}
