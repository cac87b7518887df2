/* divisible.c — the bundled kernel divisible_by: m[i] = d != 0 and x[i] % d == 0 over int32 and int64, on the pool and in OpenCL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elementwise.h"
#include "util/cpu.h"

extern const char fronta_kernel_src_divisible[];

/* x is a multiple of d when |x| is one of |d| (both as unsigned w-bit
 * values, so INT_MIN has its magnitude 2^(w-1)). With |d| = q 2^k, q odd,
 * and inv = q^-1 mod 2^w: |d| divides u exactly when rotr(u inv, k) <=
 * (2^w - 1) / |d| (Granlund and Montgomery 1994; Hacker's Delight 10-17).
 * A multiply, a rotate and a compare per element vectorise, where a %
 * would not (no SIMD division). */
#define DIVBY_BODY(T, U, W)                                                   \
    {                                                                         \
        const T *x = px;                                                      \
        for (size_t i = 0; i < n; i++) {                                      \
            U u = x[i] < 0 ? (U)0 - (U)x[i] : (U)x[i];                        \
            U r = u * inv;                                                    \
            r = (r >> k) | (r << ((W - k) & (W - 1)));                        \
            m[i] = r <= lim;                                                  \
        }                                                                     \
    }
#define DIVBY_LOOP(s, T, U, W)                                                \
    static void divby_##s(const void *px, uint8_t *m, U inv, unsigned k, U lim, size_t n) \
    DIVBY_BODY(T, U, W)

DIVBY_LOOP(i32, int32_t, uint32_t, 32u)
DIVBY_LOOP(i64, int64_t, uint64_t, 64u)

/* x86-64's baseline (SSE2) has no 64-bit lane multiply: the int64 loop
 * stays scalar, 1.6 ns an element here. AVX2 emulates it with 32-bit
 * multiplies at 0.6 ns, so the talk's three divisible_by passes cost
 * less than its one fused loop of % by constants. Chosen at run time,
 * as gemm's kernels are. */
#if defined(__x86_64__) && defined(__GNUC__)
#define DIVBY_AVX2 1
__attribute__((target("avx2"))) static void divby_i64_avx2(const void *px, uint8_t *m,
                                                            uint64_t inv, unsigned k,
                                                            uint64_t lim, size_t n)
DIVBY_BODY(int64_t, uint64_t, 64u)

/* FRONTA_KERNELS_PORTABLE=1 forces the baseline loop, so that the tests
 * cover it on a machine with AVX2 too (util/cpu.h). */
static int divby_has_avx2(void)
{
    return fronta__cpu_avx2(0);
}
#endif

typedef struct divby_job {
    int wide; /* int64, else int32 */
    int none; /* d == 0: no element is a multiple */
    const char *x;
    uint8_t *m;
    uint64_t inv, lim;
    unsigned k;
} divby_job;

/* The constants for |d| = ud (not 0) among w-bit values up to umax. */
static void divby_setup(divby_job *j, uint64_t ud, uint64_t umax)
{
    unsigned k = 0;
    while (!(ud >> k & 1))
        k++;
    uint64_t q = ud >> k, inv = q;
    /* Newton's step doubles the correct low bits; q q = 1 mod 8 gives
     * three to start from: 6, 12, 24, 48, 96. */
    for (int i = 0; i < 5; i++)
        inv *= 2 - q * inv;
    j->inv = inv & umax;
    j->lim = umax / ud;
    j->k = k;
}

static void divby_range(void *ud, size_t lo, size_t hi)
{
    const divby_job *j = ud;
    uint8_t *m = j->m + lo;
    size_t n = hi - lo;

    if (j->none)
        memset(m, 0, n);
#ifdef DIVBY_AVX2
    else if (j->wide && divby_has_avx2())
        divby_i64_avx2(j->x + lo * 8, m, j->inv, j->k, j->lim, n);
#endif
    else if (j->wide)
        divby_i64(j->x + lo * 8, m, j->inv, j->k, j->lim, n);
    else
        divby_i32(j->x + lo * 4, m, (uint32_t)j->inv, j->k, (uint32_t)j->lim, n);
}

/* The runtime has checked the arguments against divby_params: x of n INT
 * elements, d the scalar kind of its type, m uint8 of n elements. */
static int divby_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    fronta_dtype_t t = fronta_ctx_arg_dtype(ctx, 0);
    divby_job j = {t == FRONTA_INT64, 0, NULL, NULL, 0, 0, 0};
    uint64_t ud;

    if (nargs < 3 || (t != FRONTA_INT32 && t != FRONTA_INT64))
        return FRONTA_EARG;
    if (j.wide) {
        int64_t d = args[1].v.i64;
        ud = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
    } else {
        int32_t d = args[1].v.i32;
        ud = d < 0 ? 0u - (uint32_t)d : (uint32_t)d;
    }
    j.none = ud == 0;
    if (!j.none)
        divby_setup(&j, ud, j.wide ? UINT64_MAX : UINT32_MAX);
    j.x = args[0].ptr;
    j.m = args[2].ptr;
    return fronta__ew_parallel(ctx, n, divby_range, &j);
}

static const fronta_param_t divby_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_INT, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
};

void fronta__ew_divisible_by_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .flags = FRONTA_KERNEL_FLAT | FRONTA_KERNEL_ELEMENTWISE,
        .size = sizeof *d,
        .name = "divisible_by",
        .params = divby_params,
        .nparams = sizeof divby_params / sizeof divby_params[0],
        .cpu = divby_cpu,
        .cl_source = fronta_kernel_src_divisible,
        .cl_entry = "ew_divisible_by",
    };
}
