/* Error codes: names and messages from the one list in fronta.h. */
#include "fronta.h"

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
