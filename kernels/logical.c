/* logical.c — the bundled kernels logical_and, logical_or, logical_not over uint8 masks (0 false, anything else true; written as 0 or 1), on the pool and in OpenCL. */
#include <stdint.h>

#include "elementwise.h"

extern const char fronta_kernel_src_logical[];

static void and_loop(const void *pa, const void *pb, void *pm, size_t n)
{
    const uint8_t *a = pa, *b = pb;
    uint8_t *m = pm;

    for (size_t i = 0; i < n; i++)
        m[i] = (a[i] != 0) & (b[i] != 0);
}

static void or_loop(const void *pa, const void *pb, void *pm, size_t n)
{
    const uint8_t *a = pa, *b = pb;
    uint8_t *m = pm;

    for (size_t i = 0; i < n; i++)
        m[i] = (a[i] | b[i]) != 0;
}

/* Unary, run through fronta__ew_binary with b = a, which it ignores. */
static void not_loop(const void *pa, const void *pb, void *pm, size_t n)
{
    const uint8_t *a = pa;
    uint8_t *m = pm;

    (void)pb;
    for (size_t i = 0; i < n; i++)
        m[i] = a[i] == 0;
}

/* The runtime has checked the arguments against the parameters: uint8
 * buffers of n elements, the output last. */
static int and_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    if (nargs < 3)
        return FRONTA_EARG;
    return fronta__ew_binary(ctx, n, and_loop, args[0].ptr, args[1].ptr, args[2].ptr, 1, 1);
}

static int or_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    if (nargs < 3)
        return FRONTA_EARG;
    return fronta__ew_binary(ctx, n, or_loop, args[0].ptr, args[1].ptr, args[2].ptr, 1, 1);
}

static int not_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    if (nargs < 2)
        return FRONTA_EARG;
    return fronta__ew_binary(ctx, n, not_loop, args[0].ptr, args[0].ptr, args[1].ptr, 1, 1);
}

static const fronta_param_t binary_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
};

/* Not's a and m: binary_params without b. */
static const fronta_param_t unary_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
};

static void logical_desc(fronta_kernel_desc_t *d, const char *name, fronta_cpu_kernel_fn cpu,
                         const char *entry, size_t nparams)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = name,
        .params = nparams == 3 ? binary_params : unary_params,
        .nparams = nparams,
        .cpu = cpu,
        .cl_source = fronta_kernel_src_logical,
        .cl_entry = entry,
    };
}

void fronta__ew_logical_and_desc(fronta_kernel_desc_t *d)
{
    logical_desc(d, "logical_and", and_cpu, "ew_logical_and", 3);
}

void fronta__ew_logical_or_desc(fronta_kernel_desc_t *d)
{
    logical_desc(d, "logical_or", or_cpu, "ew_logical_or", 3);
}

void fronta__ew_logical_not_desc(fronta_kernel_desc_t *d)
{
    logical_desc(d, "logical_not", not_cpu, "ew_logical_not", 2);
}
