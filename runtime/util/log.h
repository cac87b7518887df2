/* Logging to stderr, filtered by the runtime's level (FRONTA_LOG). */
#ifndef FRONTA_UTIL_LOG_H
#define FRONTA_UTIL_LOG_H

#include "fronta.h"

void fronta__log(fronta_log_level_t threshold, fronta_log_level_t level,
                 const char *fmt, ...) FRONTA_PRINTF(3, 4);

#endif
