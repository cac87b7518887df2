/* The cache directory: where it is, and making it. */
#include "util/cachedir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int fronta__cache_dir(char *out, size_t size)
{
    const char *env;
    int n = -1;
    if ((env = getenv("FRONTA_CACHE_DIR")) && *env)
        n = snprintf(out, size, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        n = snprintf(out, size, "%s/fronta", env);
    else if ((env = getenv("HOME")) && *env)
        n = snprintf(out, size, "%s/.cache/fronta", env);
    if (n < 0 || (size_t)n >= size) {
        if (size)
            out[0] = 0;
        return -1;
    }
    return 0;
}

int fronta__mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            int rc = mkdir(path, 0700);
            *p = '/';
            if (rc && errno != EEXIST)
                return -1;
        }
    return mkdir(path, 0700) && errno != EEXIST ? -1 : 0;
}
