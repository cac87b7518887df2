/* The cache directory fronta keeps built programs and performance models
 * in: one rule for every user of it. */
#ifndef FRONTA_UTIL_CACHEDIR_H
#define FRONTA_UTIL_CACHEDIR_H

#include <stddef.h>

/* FRONTA_CACHE_DIR, else $XDG_CACHE_HOME/fronta, else ~/.cache/fronta,
 * into out (not created). 0, or -1 when none is set or it does not fit. */
int fronta__cache_dir(char *out, size_t size);
/* Create path and its parents (mode 0700); 0 when it exists after. */
int fronta__mkdirs(char *path);

#endif
