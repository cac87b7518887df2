/* registry.c — the table of bundled kernels and fronta_kernel_builtin, which registers one on first use. */
#include <string.h>

#include "kernels.h"

static const fronta__builtin *const groups[] = {
    fronta__builtins_elementwise,
    fronta__builtins_reduce,
    fronta__builtins_matrix,
};

static const fronta__builtin *lookup(const char *name)
{
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (const fronta__builtin *b = groups[g]; b->name; b++)
            if (strcmp(b->name, name) == 0)
                return b;
    return NULL;
}

FRONTA_API const char *fronta_kernel_builtin_name(size_t i)
{
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (const fronta__builtin *b = groups[g]; b->name; b++)
            if (i-- == 0)
                return b->name;
    return NULL;
}

FRONTA_API fronta_kernel_t *fronta_kernel_builtin(fronta_runtime_t *rt, const char *name)
{
    fronta_kernel_desc_t d;
    fronta_kernel_t *k;
    int rc;

    if (!rt || !name)
        return NULL;
    const fronta__builtin *b = lookup(name);
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
    /* The table's name, not the descriptor's: one descriptor may serve
     * two names (saxpy is axpy under its 0.1 name). */
    d.name = b->name;
    rc = fronta_kernel_create(rt, &d, &k);
    /* EBUSY: another thread registered it between our find and create;
     * theirs is the same kernel, so use it. */
    if (rc == FRONTA_EBUSY)
        rc = fronta_kernel_find(rt, name, &k);
    return rc == 0 ? k : NULL;
}
