/* arith.c — the bundled kernels add, sub, mul, div, minimum, maximum: c[i] = a[i] op b[i] over int32, int64, float, double, on the pool and in OpenCL. */
#include <stdint.h>

#include "elementwise.h"

extern const char fronta_kernel_src_arith[];

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MIN, OP_MAX, OP_COUNT };

typedef fronta__ew_binary_fn arith_loop;

/* One loop per operation and element type, so that each is a plain loop
 * over one type that the compiler vectorises (no aliasing promise: c may
 * be a or b). */
#define ARITH_LOOP(name, T, expr)                                             \
    static void name(const void *pa, const void *pb, void *pc, size_t n)      \
    {                                                                         \
        const T *a = pa, *b = pb;                                             \
        T *c = pc;                                                            \
        for (size_t i = 0; i < n; i++) {                                      \
            const T x = a[i], y = b[i];                                       \
            c[i] = (expr);                                                    \
        }                                                                     \
    }

/* Integers wrap, through their unsigned twin U (signed overflow would be
 * undefined). */
#define ARITH_INT(s, T, U)                                                    \
    ARITH_LOOP(add_##s, T, (T)((U)x + (U)y))                                  \
    ARITH_LOOP(sub_##s, T, (T)((U)x - (U)y))                                  \
    ARITH_LOOP(mul_##s, T, (T)((U)x * (U)y))                                  \
    ARITH_LOOP(minimum_##s, T, x < y ? x : y)                                 \
    ARITH_LOOP(maximum_##s, T, x > y ? x : y)

/* Integer division by 0 gives 0, and by -1 the wrapped negation, so that
 * INT_MIN / -1 is INT_MIN: neither reaches a division, which would trap.
 *
 * int32 divides in double, which SSE2 vectorises and integer division
 * has no SIMD form: the rounded quotient is within |x / y| 2^-53 of x / y,
 * less than 1/|y|, the least distance from a non-integer x / y to an
 * integer, so its truncation is C's x / y exactly. Every lane divides (by
 * 1 where y is 0 or -1) and masks pick the result, with no branch: gcc
 * would move a conditional division under the branch and then not
 * vectorise the loop. */
static void div_i32(const void *pa, const void *pb, void *pc, size_t n)
{
    const int32_t *a = pa, *b = pb;
    int32_t *c = pc;

    for (size_t i = 0; i < n; i++) {
        const int32_t x = a[i], y = b[i];
        const int32_t s = y + (y == 0) + 2 * (y == -1);
        const uint32_t q = (uint32_t)(int32_t)((double)x / (double)s);
        const uint32_t neg = 0u - (uint32_t)(y == -1), keep = 0u - (uint32_t)(y != 0);
        c[i] = (int32_t)(((q ^ neg) - neg) & keep); /* -q where neg is all ones */
    }
}

ARITH_LOOP(div_i64, int64_t, y == 0 ? 0 : y == -1 ? (int64_t)(0u - (uint64_t)x) : x / y)

/* minimum/maximum are IEEE fmin/fmax (a NaN operand yields the other),
 * written as compares because gcc vectorises those and not the calls. */
#define ARITH_FLOAT(s, T)                                                     \
    ARITH_LOOP(add_##s, T, x + y)                                             \
    ARITH_LOOP(sub_##s, T, x - y)                                             \
    ARITH_LOOP(mul_##s, T, x * y)                                             \
    ARITH_LOOP(div_##s, T, x / y)                                             \
    ARITH_LOOP(minimum_##s, T, y != y || x < y ? x : y)                       \
    ARITH_LOOP(maximum_##s, T, y != y || x > y ? x : y)

ARITH_INT(i32, int32_t, uint32_t)
ARITH_INT(i64, int64_t, uint64_t)
ARITH_FLOAT(f32, float)
ARITH_FLOAT(f64, double)

/* By fronta__ew_type: uint8 is not NUMERIC. */
#define ARITH_ROW(op) {NULL, op##_i32, op##_i64, op##_f32, op##_f64}
static const arith_loop arith_loops[OP_COUNT][5] = {
    ARITH_ROW(add), ARITH_ROW(sub), ARITH_ROW(mul),
    ARITH_ROW(div), ARITH_ROW(minimum), ARITH_ROW(maximum),
};

/* The runtime has checked the arguments against arith_params: three
 * buffers of n elements of one NUMERIC type. */
static int arith_run(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n,
                     int op)
{
    fronta_dtype_t t = fronta_ctx_arg_dtype(ctx, 0);
    int ti = fronta__ew_type(t);

    if (nargs < 3 || ti < 0 || !arith_loops[op][ti])
        return FRONTA_EARG;
    size_t size = fronta_dtype_size(t);
    return fronta__ew_binary(ctx, n, arith_loops[op][ti], args[0].ptr, args[1].ptr,
                             args[2].ptr, size, size);
}

static const fronta_param_t arith_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_NUMERIC, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
};

/* The six kernels share arith.cl; the operation is a build option. */
static void arith_desc(fronta_kernel_desc_t *d, const char *name, fronta_cpu_kernel_fn cpu,
                       const char *cl_options)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = name,
        .params = arith_params,
        .nparams = sizeof arith_params / sizeof arith_params[0],
        .cpu = cpu,
        .cl_source = fronta_kernel_src_arith,
        .cl_entry = "ew_arith",
        .cl_options = cl_options,
    };
}

#define ARITH_KERNEL(op, OP, cl_options)                                      \
    static int op##_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n) \
    {                                                                         \
        return arith_run(ctx, a, na, n, OP);                                  \
    }                                                                         \
    void fronta__ew_##op##_desc(fronta_kernel_desc_t *d)                      \
    {                                                                         \
        arith_desc(d, #op, op##_cpu, cl_options);                             \
    }

ARITH_KERNEL(add, OP_ADD, "-DOP_ADD")
ARITH_KERNEL(sub, OP_SUB, "-DOP_SUB")
ARITH_KERNEL(mul, OP_MUL, "-DOP_MUL")
/* OpenCL C lets float division be 2.5 ulp off; asking for the correctly
 * rounded one gives the pool's bits (double division is correctly rounded
 * anyway). */
ARITH_KERNEL(div, OP_DIV, "-DOP_DIV -cl-fp32-correctly-rounded-divide-sqrt")
ARITH_KERNEL(minimum, OP_MIN, "-DOP_MIN")
ARITH_KERNEL(maximum, OP_MAX, "-DOP_MAX")
