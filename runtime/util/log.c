/* Logging to stderr, filtered by the runtime's level (FRONTA_LOG). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const level_names[] = {"", "error", "warn", "info", "debug", ""};

void fronta__log(fronta_log_level_t threshold, fronta_log_level_t level,
                 const char *fmt, ...)
{
    if (level > threshold || threshold == FRONTA_LOG_OFF)
        return;
    /* One fprintf per line so lines from several workers do not interleave. */
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "fronta: %s: %s\n", level_names[level], buf);
}
