/* registry.c — the table of bundled kernels and fronta_kernel_builtin, which registers one on first use. */
#include <string.h>

#include "kernels.h"

typedef struct builtin {
    const char *name;
    void (*desc)(fronta_kernel_desc_t *d);
} builtin_t;

/* A new bundled kernel is a file (its .c and .cl) and a line here. */
static const builtin_t builtins[] = {
    {"scale", fronta__kernels_scale_desc},
    {"saxpy", fronta__kernels_saxpy_desc},
};

FRONTA_API fronta_kernel_t *fronta_kernel_builtin(fronta_runtime_t *rt, const char *name)
{
    const builtin_t *b = NULL;
    fronta_kernel_desc_t d;
    fronta_kernel_t *k;
    int rc;

    if (!rt || !name)
        return NULL;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0] && !b; i++)
        if (strcmp(builtins[i].name, name) == 0)
            b = &builtins[i];
    if (!b)
        return NULL;
    /* Find first: after the first use this is the whole call, and it
     * leaves a user kernel that took a bundled name alone. */
    rc = fronta_kernel_find(rt, name, &k);
    if (rc == 0)
        return k;
    if (rc != FRONTA_ENOENT)
        return NULL;
    b->desc(&d);
    rc = fronta_kernel_create(rt, &d, &k);
    /* EBUSY: another thread registered it between our find and create;
     * theirs is the same kernel, so use it. */
    if (rc == FRONTA_EBUSY)
        rc = fronta_kernel_find(rt, name, &k);
    return rc == 0 ? k : NULL;
}
