/* compare.c — the bundled kernels eq, ne, lt, le, gt, ge (m[i] = a[i] op b[i], a uint8 mask) and select (y[i] = m[i] ? a[i] : b[i]) over every dtype, on the pool and in OpenCL. */
#include <stdint.h>

#include "elementwise.h"

extern const char fronta_kernel_src_compare[];
extern const char fronta_kernel_src_select[];

enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_COUNT };

/* One loop per operation and element type. A C comparison is 0 or 1, the
 * mask's values, and false on a NaN operand except for != (IEEE). */
#define CMP_LOOP(name, T, op)                                                 \
    static void name(const void *pa, const void *pb, void *pm, size_t n)      \
    {                                                                         \
        const T *a = pa, *b = pb;                                             \
        uint8_t *m = pm;                                                      \
        for (size_t i = 0; i < n; i++)                                        \
            m[i] = (uint8_t)(a[i] op b[i]);                                   \
    }

#define CMP_TYPE(s, T)                                                        \
    CMP_LOOP(eq_##s, T, ==)                                                   \
    CMP_LOOP(ne_##s, T, !=)                                                   \
    CMP_LOOP(lt_##s, T, <)                                                    \
    CMP_LOOP(le_##s, T, <=)                                                   \
    CMP_LOOP(gt_##s, T, >)                                                    \
    CMP_LOOP(ge_##s, T, >=)

CMP_TYPE(u8, uint8_t)
CMP_TYPE(i32, int32_t)
CMP_TYPE(i64, int64_t)
CMP_TYPE(f32, float)
CMP_TYPE(f64, double)

/* By fronta__ew_type. */
#define CMP_ROW(op) {op##_u8, op##_i32, op##_i64, op##_f32, op##_f64}
static const fronta__ew_binary_fn cmp_loops[OP_COUNT][5] = {
    CMP_ROW(eq), CMP_ROW(ne), CMP_ROW(lt), CMP_ROW(le), CMP_ROW(gt), CMP_ROW(ge),
};

/* The runtime has checked the arguments against cmp_params: a and b of
 * one type, m uint8, each of n elements. */
static int cmp_run(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n, int op)
{
    fronta_dtype_t t = fronta_ctx_arg_dtype(ctx, 0);
    int ti = fronta__ew_type(t);

    if (nargs < 3 || ti < 0)
        return FRONTA_EARG;
    return fronta__ew_binary(ctx, n, cmp_loops[op][ti], args[0].ptr, args[1].ptr, args[2].ptr,
                             fronta_dtype_size(t), 1);
}

static const fronta_param_t cmp_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_ALL, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
};

/* The six kernels share compare.cl; the operation is a build option. */
static void cmp_desc(fronta_kernel_desc_t *d, const char *name, fronta_cpu_kernel_fn cpu,
                     const char *cl_options)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = name,
        .params = cmp_params,
        .nparams = sizeof cmp_params / sizeof cmp_params[0],
        .cpu = cpu,
        .cl_source = fronta_kernel_src_compare,
        .cl_entry = "ew_compare",
        .cl_options = cl_options,
    };
}

#define CMP_KERNEL(op, OP, cl_options)                                        \
    static int op##_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n) \
    {                                                                         \
        return cmp_run(ctx, a, na, n, OP);                                    \
    }                                                                         \
    void fronta__ew_##op##_desc(fronta_kernel_desc_t *d)                      \
    {                                                                         \
        cmp_desc(d, #op, op##_cpu, cl_options);                               \
    }

CMP_KERNEL(eq, OP_EQ, "-DOP_EQ")
CMP_KERNEL(ne, OP_NE, "-DOP_NE")
CMP_KERNEL(lt, OP_LT, "-DOP_LT")
CMP_KERNEL(le, OP_LE, "-DOP_LE")
CMP_KERNEL(gt, OP_GT, "-DOP_GT")
CMP_KERNEL(ge, OP_GE, "-DOP_GE")

/* ---- select ------------------------------------------------------------ */

typedef void (*select_loop)(const uint8_t *m, const void *a, const void *b, void *y,
                            size_t n);

/* Both sides are loaded whatever the mask, so that gcc sees a blend, not
 * a branch, and vectorises it. */
#define SELECT_LOOP(s, T)                                                     \
    static void select_##s(const uint8_t *m, const void *pa, const void *pb, void *py, \
                           size_t n)                                          \
    {                                                                         \
        const T *a = pa, *b = pb;                                             \
        T *y = py;                                                            \
        for (size_t i = 0; i < n; i++) {                                      \
            const T x = a[i], z = b[i];                                       \
            y[i] = m[i] ? x : z;                                              \
        }                                                                     \
    }

SELECT_LOOP(u8, uint8_t)
SELECT_LOOP(i32, int32_t)
SELECT_LOOP(i64, int64_t)
SELECT_LOOP(f32, float)
SELECT_LOOP(f64, double)

static const select_loop select_loops[5] = {select_u8, select_i32, select_i64, select_f32,
                                            select_f64};

typedef struct select_job {
    select_loop loop;
    const uint8_t *m;
    const char *a, *b;
    char *y;
    size_t size;
} select_job;

static void select_range(void *ud, size_t lo, size_t hi)
{
    const select_job *j = ud;
    size_t o = lo * j->size;

    j->loop(j->m + lo, j->a + o, j->b + o, j->y + o, hi - lo);
}

/* The runtime has checked the arguments against select_params: m uint8,
 * a, b and y of one type, each of n elements. */
static int select_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    fronta_dtype_t t = fronta_ctx_arg_dtype(ctx, 1);
    int ti = fronta__ew_type(t);

    if (nargs < 4 || ti < 0)
        return FRONTA_EARG;
    select_job j = {select_loops[ti], args[0].ptr, args[1].ptr, args[2].ptr, args[3].ptr,
                    fronta_dtype_size(t)};
    return fronta__ew_parallel(ctx, n, select_range, &j);
}

static const fronta_param_t select_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_ALL, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(1), .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(1), .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
};

void fronta__ew_select_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = "select",
        .params = select_params,
        .nparams = sizeof select_params / sizeof select_params[0],
        .cpu = select_cpu,
        .cl_source = fronta_kernel_src_select,
        .cl_entry = "ew_select",
    };
}
