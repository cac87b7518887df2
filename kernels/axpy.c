/* axpy.c — the bundled kernels scale (x[i] *= a) and axpy, also named saxpy (y[i] = a x[i] + y[i]), over int32, int64, float, double, on the pool and in OpenCL. */
#include <stdint.h>

#include "elementwise.h"

/* a x + y stays a rounded product then a rounded sum, the bits axpy.cl
 * gives with FP_CONTRACT OFF: gcc in ISO C mode does not contract, clang
 * would where the target has an FMA. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

extern const char fronta_kernel_src_axpy[];

/* W: the type the arithmetic runs in, the unsigned twin for integers (they
 * wrap; signed overflow would be undefined), the type itself for floats. */
#define SCALE_LOOP(s, T, W)                                                   \
    static void scale_##s(void *px, T a, size_t n)                            \
    {                                                                         \
        T *x = px;                                                            \
        for (size_t i = 0; i < n; i++)                                        \
            x[i] = (T)((W)x[i] * (W)a);                                       \
    }

#define AXPY_LOOP(s, T, W)                                                    \
    static void axpy_##s(const void *px, void *py, T a, size_t n)             \
    {                                                                         \
        const T *x = px;                                                      \
        T *y = py;                                                            \
        for (size_t i = 0; i < n; i++)                                        \
            y[i] = (T)((W)a * (W)x[i] + (W)y[i]);                             \
    }

SCALE_LOOP(i32, int32_t, uint32_t)
SCALE_LOOP(i64, int64_t, uint64_t)
SCALE_LOOP(f32, float, float)
SCALE_LOOP(f64, double, double)
AXPY_LOOP(i32, int32_t, uint32_t)
AXPY_LOOP(i64, int64_t, uint64_t)
AXPY_LOOP(f32, float, float)
AXPY_LOOP(f64, double, double)

/* One job for both: scale has no y. */
typedef struct axpy_job {
    int type; /* fronta__ew_type */
    const char *x;
    char *y;
    size_t size;
    fronta_karg_t a;
} axpy_job;

static void scale_range(void *ud, size_t lo, size_t hi)
{
    const axpy_job *j = ud;
    void *x = j->y + lo * j->size;
    size_t n = hi - lo;

    switch (j->type) {
    case 1:
        scale_i32(x, j->a.v.i32, n);
        break;
    case 2:
        scale_i64(x, j->a.v.i64, n);
        break;
    case 3:
        scale_f32(x, j->a.v.f32, n);
        break;
    default:
        scale_f64(x, j->a.v.f64, n);
        break;
    }
}

static void axpy_range(void *ud, size_t lo, size_t hi)
{
    const axpy_job *j = ud;
    const void *x = j->x + lo * j->size;
    void *y = j->y + lo * j->size;
    size_t n = hi - lo;

    switch (j->type) {
    case 1:
        axpy_i32(x, y, j->a.v.i32, n);
        break;
    case 2:
        axpy_i64(x, y, j->a.v.i64, n);
        break;
    case 3:
        axpy_f32(x, y, j->a.v.f32, n);
        break;
    default:
        axpy_f64(x, y, j->a.v.f64, n);
        break;
    }
}

/* The runtime has checked the arguments against scale_params: x of n
 * NUMERIC elements, a the scalar kind of its type. */
static int scale_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    fronta_dtype_t t = fronta_ctx_arg_dtype(ctx, 0);
    axpy_job j = {fronta__ew_type(t), NULL, NULL, fronta_dtype_size(t), {0}};

    if (nargs < 2 || j.type < 1)
        return FRONTA_EARG;
    j.y = args[0].ptr;
    j.a = args[1];
    return fronta__ew_parallel(ctx, n, scale_range, &j);
}

/* As scale_cpu, against axpy_params: x and y of n elements of one type. */
static int axpy_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    fronta_dtype_t t = fronta_ctx_arg_dtype(ctx, 0);
    axpy_job j = {fronta__ew_type(t), NULL, NULL, fronta_dtype_size(t), {0}};

    if (nargs < 3 || j.type < 1)
        return FRONTA_EARG;
    j.x = args[0].ptr;
    j.y = args[1].ptr;
    j.a = args[2];
    return fronta__ew_parallel(ctx, n, axpy_range, &j);
}

static const fronta_param_t scale_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_NUMERIC,
     .access = FRONTA_ACCESS_INOUT, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
};

static const fronta_param_t axpy_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_NUMERIC, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_INOUT,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
};

void fronta__ew_scale_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = "scale",
        .params = scale_params,
        .nparams = sizeof scale_params / sizeof scale_params[0],
        .cpu = scale_cpu,
        .cl_source = fronta_kernel_src_axpy,
        .cl_entry = "ew_scale",
    };
}

/* Also "saxpy", its 0.1 name (elementwise.c's table). */
void fronta__ew_axpy_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = "axpy",
        .params = axpy_params,
        .nparams = sizeof axpy_params / sizeof axpy_params[0],
        .cpu = axpy_cpu,
        .cl_source = fronta_kernel_src_axpy,
        .cl_entry = "ew_axpy",
    };
}
