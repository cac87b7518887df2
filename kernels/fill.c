/* fill.c — the bundled kernels fill (x[i] = v) and copy (y[i] = x[i]) over every dtype, on the pool and in OpenCL. */
#include <stdint.h>
#include <string.h>

#include "elementwise.h"

extern const char fronta_kernel_src_fill[];

/* ---- fill -------------------------------------------------------------- */

#define FILL_LOOP(s, T)                                                       \
    static void fill_##s(void *px, T v, size_t n)                             \
    {                                                                         \
        T *x = px;                                                            \
        for (size_t i = 0; i < n; i++)                                        \
            x[i] = v;                                                         \
    }

FILL_LOOP(u8, uint8_t)
FILL_LOOP(i32, int32_t)
FILL_LOOP(i64, int64_t)
FILL_LOOP(f32, float)
FILL_LOOP(f64, double)

typedef struct fill_job {
    int type; /* fronta__ew_type */
    char *x;
    size_t size;
    fronta_karg_t v;
} fill_job;

static void fill_range(void *ud, size_t lo, size_t hi)
{
    const fill_job *j = ud;
    void *x = j->x + lo * j->size;
    size_t n = hi - lo;

    switch (j->type) {
    case 0:
        /* A uint8 array takes an I32 (FRONTA_ARG_SCALAR): its low byte,
         * as OpenCL's (uchar) conversion gives. */
        fill_u8(x, (uint8_t)j->v.v.i32, n);
        break;
    case 1:
        fill_i32(x, j->v.v.i32, n);
        break;
    case 2:
        fill_i64(x, j->v.v.i64, n);
        break;
    case 3:
        fill_f32(x, j->v.v.f32, n);
        break;
    default:
        fill_f64(x, j->v.v.f64, n);
        break;
    }
}

/* The runtime has checked the arguments against fill_params: x of n
 * elements, v the scalar kind of x's type. */
static int fill_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    fronta_dtype_t t = fronta_ctx_arg_dtype(ctx, 0);
    fill_job j = {fronta__ew_type(t), NULL, fronta_dtype_size(t), {0}};

    if (nargs < 2 || j.type < 0)
        return FRONTA_EARG;
    j.x = args[0].ptr;
    j.v = args[1];
    return fronta__ew_parallel(ctx, n, fill_range, &j);
}

static const fronta_param_t fill_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_ALL, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
};

void fronta__ew_fill_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = "fill",
        .params = fill_params,
        .nparams = sizeof fill_params / sizeof fill_params[0],
        .cpu = fill_cpu,
        .cl_source = fronta_kernel_src_fill,
        .cl_entry = "ew_fill",
    };
}

/* ---- copy -------------------------------------------------------------- */

typedef struct copy_job {
    const char *x;
    char *y;
    size_t size;
} copy_job;

/* memmove, not memcpy: nothing stops a task from naming one buffer as both
 * x and y. */
static void copy_range(void *ud, size_t lo, size_t hi)
{
    const copy_job *j = ud;

    memmove(j->y + lo * j->size, j->x + lo * j->size, (hi - lo) * j->size);
}

/* The runtime has checked the arguments against copy_params: x and y of
 * one type and n elements. */
static int copy_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    size_t size = fronta_dtype_size(fronta_ctx_arg_dtype(ctx, 0));

    if (nargs < 2 || size == 0)
        return FRONTA_EARG;
    copy_job j = {args[0].ptr, args[1].ptr, size};
    return fronta__ew_parallel(ctx, n, copy_range, &j);
}

static const fronta_param_t copy_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_ALL, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
};

void fronta__ew_copy_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = "copy",
        .params = copy_params,
        .nparams = sizeof copy_params / sizeof copy_params[0],
        .cpu = copy_cpu,
        .cl_source = fronta_kernel_src_fill,
        .cl_entry = "ew_copy",
    };
}
