/* histogram.c — the bundled kernel "histogram": counts of x over count(h) equal bins of [lo, hi), exact and the same on the CPU pool and in OpenCL. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "reduce.h"

extern const char fronta_kernel_src_histogram[];
void fronta__kernels_histogram_desc(fronta_kernel_desc_t *d);

/* Up to this many bins a chunk counts into its own uint32 array on the
 * stack (16 KiB) and adds it to h once; above, each element is an atomic
 * add on h. histogram.cl keeps the same threshold for its local memory. */
#define LOCAL_BINS 4096

/* floor(a * b / c) for a < c, exactly: in 64 bits when c * b fits, else
 * by long division of the 128-bit product (the quotient is below b, so it
 * fits). histogram.cl does the same, so both agree bit for bit. */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    if (b <= UINT64_MAX / c)
        return a * b / c;
    uint64_t lo = a * b, hi, q = 0, r;
    /* hi:lo = a * b, from 32-bit halves. */
    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
    uint64_t mid1 = ah * bl, mid2 = al * bh, low = al * bl;
    uint64_t carry = ((low >> 32) + (mid1 & 0xffffffffu) + (mid2 & 0xffffffffu)) >> 32;
    hi = ah * bh + (mid1 >> 32) + (mid2 >> 32) + carry;
    r = hi;
    for (int k = 63; k >= 0; k--) {
        uint64_t top = r >> 63;
        r = (r << 1) | ((lo >> k) & 1u);
        q <<= 1;
        if (top || r >= c) {
            r -= c;
            q |= 1u;
        }
    }
    return q;
}

typedef struct hist_job {
    const void *x;
    int64_t *h;
    size_t nb;
    fronta__red_plan plan;
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
    } lo, hi;
    uint64_t width; /* integers: hi - lo, in unsigned */
    float scale32;  /* floats: nb / (hi - lo), in the element type */
    double scale64;
} hist_job;

/* The bin of v, or SIZE_MAX when v is outside [lo, hi) (NaN included).
 * Integers: floor((v - lo) * nb / (hi - lo)) exactly. Floats:
 * floor((v - lo) * (nb / (hi - lo))), each operation rounded in the
 * element type, clamped to nb - 1. */
static size_t bin_i32(const hist_job *j, int32_t v)
{
    if (v < j->lo.i32 || v >= j->hi.i32)
        return SIZE_MAX;
    return (size_t)muldiv((uint32_t)v - (uint32_t)j->lo.i32, j->nb, j->width);
}

static size_t bin_i64(const hist_job *j, int64_t v)
{
    if (v < j->lo.i64 || v >= j->hi.i64)
        return SIZE_MAX;
    return (size_t)muldiv((uint64_t)v - (uint64_t)j->lo.i64, j->nb, j->width);
}

static size_t bin_f32(const hist_job *j, float v)
{
    if (!(v >= j->lo.f32 && v < j->hi.f32))
        return SIZE_MAX;
    float t = (v - j->lo.f32) * j->scale32;
    size_t b = t < (float)j->nb ? (size_t)t : j->nb - 1;
    return b < j->nb ? b : j->nb - 1;
}

static size_t bin_f64(const hist_job *j, double v)
{
    if (!(v >= j->lo.f64 && v < j->hi.f64))
        return SIZE_MAX;
    double t = (v - j->lo.f64) * j->scale64;
    size_t b = t < (double)j->nb ? (size_t)t : j->nb - 1;
    return b < j->nb ? b : j->nb - 1;
}

/* One chunk: into a local array then h when the bins are few (and the
 * chunk's counts fit 32 bits), else straight into h. Relaxed atomics:
 * the counts are only read after fronta_ctx_parallel returns, which
 * orders every body before it. */
#define DEF_HIST_BODY(S, T)                                                    \
    static void hist_body_##S(void *ud, size_t k)                              \
    {                                                                          \
        const hist_job *j = ud;                                                \
        const T *x = (const T *)j->x + fronta__red_begin(&j->plan, k);         \
        size_t len = fronta__red_len(&j->plan, k);                             \
        if (j->nb > LOCAL_BINS || len > UINT32_MAX) {                          \
            for (size_t i = 0; i < len; i++) {                                 \
                size_t b = bin_##S(j, x[i]);                                   \
                if (b != SIZE_MAX)                                             \
                    __atomic_fetch_add(&j->h[b], 1, __ATOMIC_RELAXED);         \
            }                                                                  \
            return;                                                            \
        }                                                                      \
        uint32_t local[LOCAL_BINS];                                            \
        memset(local, 0, j->nb * sizeof local[0]);                             \
        for (size_t i = 0; i < len; i++) {                                     \
            size_t b = bin_##S(j, x[i]);                                       \
            if (b != SIZE_MAX)                                                 \
                local[b]++;                                                    \
        }                                                                      \
        for (size_t b = 0; b < j->nb; b++)                                     \
            if (local[b])                                                      \
                __atomic_fetch_add(&j->h[b], (int64_t)local[b], __ATOMIC_RELAXED); \
    }

DEF_HIST_BODY(i32, int32_t)
DEF_HIST_BODY(i64, int64_t)
DEF_HIST_BODY(f32, float)
DEF_HIST_BODY(f64, double)

/* Counts are integers, so the order chunks add them in changes nothing:
 * the result is exact whatever the pool. */
static int histogram_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    if (nargs != 4 || !a[1].count)
        return FRONTA_EARG; /* checked at submit; a guard against misuse */
    hist_job j = {.x = a[0].ptr, .h = a[1].ptr, .nb = a[1].count,
                  .plan = fronta__red_plan_of(n)};
    void (*body)(void *, size_t);
    memcpy(&j.lo, &a[2].v, sizeof j.lo);
    memcpy(&j.hi, &a[3].v, sizeof j.hi);
    switch (fronta_ctx_arg_dtype(ctx, 0)) {
    case FRONTA_INT32:
        j.width = (uint32_t)j.hi.i32 - (uint32_t)j.lo.i32;
        body = hist_body_i32;
        break;
    case FRONTA_INT64:
        j.width = (uint64_t)j.hi.i64 - (uint64_t)j.lo.i64;
        body = hist_body_i64;
        break;
    case FRONTA_FLOAT:
        j.scale32 = (float)j.nb / (j.hi.f32 - j.lo.f32);
        body = hist_body_f32;
        break;
    case FRONTA_DOUBLE:
        j.scale64 = (double)j.nb / (j.hi.f64 - j.lo.f64);
        body = hist_body_f64;
        break;
    default:
        return FRONTA_EARG;
    }
    /* The check refused lo >= hi and NaN bounds at submit; were one to get
     * here, no element passes lo <= x < hi, so nothing divides by zero. */
    memset(j.h, 0, j.nb * sizeof j.h[0]);
    return fronta__red_run(ctx, &j.plan, body, &j);
}

/* Bounds that give equal finite bins: lo < hi, both finite, and hi - lo
 * and nb / (hi - lo) finite in the element type. */
static int bounds_ok(const fronta_arg_t *lo, const fronta_arg_t *hi, size_t nb)
{
    switch (lo->kind) {
    case FRONTA_ARG_I32:
        return lo->v.i32 < hi->v.i32;
    case FRONTA_ARG_I64:
        return lo->v.i64 < hi->v.i64;
    case FRONTA_ARG_F32: {
        float w = hi->v.f32 - lo->v.f32;
        return lo->v.f32 < hi->v.f32 && isfinite(lo->v.f32) && isfinite(hi->v.f32) &&
               isfinite(w) && isfinite((float)nb / w);
    }
    case FRONTA_ARG_F64: {
        double w = hi->v.f64 - lo->v.f64;
        return lo->v.f64 < hi->v.f64 && isfinite(lo->v.f64) && isfinite(hi->v.f64) &&
               isfinite(w) && isfinite((double)nb / w);
    }
    default:
        return 1;
    }
}

/* h needs a bin; the bounds must make bins (both have h's element
 * type's scalar kind: the parameter rules checked that). */
static int histogram_check(const fronta_arg_t *args, size_t nargs, size_t rows, size_t cols)
{
    (void)rows;
    (void)cols;
    if (nargs != 4)
        return FRONTA_EARG;
    size_t nb = fronta_buffer_count(args[1].buffer);
    if (!nb)
        return FRONTA_ESIZE;
    return bounds_ok(&args[2], &args[3], nb) ? 0 : FRONTA_EARG;
}

/* Local counts per work-group when the bins fit local memory, each
 * group's share of them in scratch (uint64): G x nb x 8 bytes. Above
 * that h's own words are the counters, and no scratch is needed. */
static size_t histogram_scratch(const fronta_karg_t *args, size_t nargs, size_t rows,
                                size_t cols)
{
    (void)rows;
    (void)cols;
    if (nargs != 4 || args[1].count > LOCAL_BINS)
        return sizeof(uint64_t);
    return FRONTA__RED_CL_GROUPS * args[1].count * sizeof(uint64_t);
}

static const fronta_param_t histogram_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL,
     .dtypes = FRONTA_DTYPES_NUMERIC},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_ANY},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
};

/* Two passes (histogram.cl says what each does). The float bins need a
 * correctly rounded nb / (hi - lo), which OpenCL gives single precision
 * only on request; a device that cannot fails the build, and the task
 * falls back to the pool. */
void fronta__kernels_histogram_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .params = histogram_params,
        .nparams = 4,
        .cpu = histogram_cpu,
        .cl_source = fronta_kernel_src_histogram,
        .cl_entry = "fronta_histogram",
        .cl_options = "-cl-fp32-correctly-rounded-divide-sqrt",
        /* h is zeroed before x is read: h as x too is refused. */
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_NO_ALIAS | FRONTA_KERNEL_FLAT,
        .cl_local = {FRONTA__RED_CL_LOCAL, 0},
        .cl_groups = {FRONTA__RED_CL_GROUPS, 0},
        .cl_scratch = histogram_scratch,
        .cl_passes = 2,
        .check = histogram_check,
    };
}
