/* reduce.c — the reduce group's table, and its reductions of whole arrays to one value: sum, min, max, dot, count. */
#include <math.h>
#include <stdint.h>

#include "reduce.h"

extern const char fronta_kernel_src_reduce[];
extern const char fronta_kernel_src_count[];
void fronta__kernels_scan_inclusive_desc(fronta_kernel_desc_t *d);
void fronta__kernels_scan_exclusive_desc(fronta_kernel_desc_t *d);
void fronta__kernels_compact_desc(fronta_kernel_desc_t *d);
void fronta__kernels_histogram_desc(fronta_kernel_desc_t *d);
void fronta__kernels_sum_portable_desc(fronta_kernel_desc_t *d);
void fronta__kernels_min_portable_desc(fronta_kernel_desc_t *d);
void fronta__kernels_max_portable_desc(fronta_kernel_desc_t *d);

#define LANES FRONTA__RED_LANES

/* ---- one chunk, per dtype ---------------------------------------------- */

/* The sum of TERM(0 .. len) in 16 lanes, blocked: a0 adds 16 rows of
 * lanes, a1 16 a0's, a2 the a1's, then the lanes meet in a fixed tree. An
 * element's path holds at most 16 + 16 + ceil(len / 4096) + 4 additions
 * (36 + 16 for a 64 Ki chunk), where one running sum per lane would have
 * len / 16. Every accumulator starts at -0.0, the additive identity (it
 * keeps the sign of a sum of -0.0s); integer accumulators are unsigned
 * and wrap. */
#define BLOCKED_SUM(A, TERM, OUT)                                              \
    do {                                                                       \
        A a2[LANES], a1[LANES], a0[LANES];                                     \
        size_t i = 0;                                                          \
        for (int j = 0; j < LANES; j++)                                        \
            a2[j] = (A)-0.0;                                                   \
        while (i < len) {                                                      \
            for (int j = 0; j < LANES; j++)                                    \
                a1[j] = (A)-0.0;                                               \
            for (int b = 0; b < 16 && i < len; b++) {                          \
                size_t rows = (len - i) / LANES < 16 ? (len - i) / LANES : 16; \
                for (int j = 0; j < LANES; j++)                                \
                    a0[j] = (A)-0.0;                                           \
                for (size_t r = 0; r < rows; r++, i += LANES)                  \
                    for (int j = 0; j < LANES; j++)                            \
                        a0[j] += TERM(i + (size_t)j);                          \
                if (rows < 16) { /* the last, partial row */                   \
                    for (size_t j = 0; j < len - i; j++)                       \
                        a0[j] += TERM(i + j);                                  \
                    i = len;                                                   \
                }                                                              \
                for (int j = 0; j < LANES; j++)                                \
                    a1[j] += a0[j];                                            \
            }                                                                  \
            for (int j = 0; j < LANES; j++)                                    \
                a2[j] += a1[j];                                                \
        }                                                                      \
        for (int w = LANES / 2; w > 0; w /= 2)                                 \
            for (int j = 0; j < w; j++)                                        \
                a2[j] += a2[j + w];                                            \
        OUT = a2[0];                                                           \
    } while (0)

/* STEP(acc, v) over 16 lanes, then the lanes' tree with STEP too. */
#define LANE_REDUCE(T, ID, STEP, OUT)                                          \
    do {                                                                       \
        T a[LANES];                                                            \
        size_t i = 0;                                                          \
        for (int j = 0; j < LANES; j++)                                        \
            a[j] = (ID);                                                       \
        for (; i + LANES <= len; i += LANES)                                   \
            for (int j = 0; j < LANES; j++)                                    \
                a[j] = STEP(a[j], x[i + (size_t)j]);                           \
        for (size_t j = 0; i + j < len; j++)                                   \
            a[j] = STEP(a[j], x[i + j]);                                       \
        for (int w = LANES / 2; w > 0; w /= 2)                                 \
            for (int j = 0; j < w; j++)                                        \
                a[j] = STEP(a[j], a[j + w]);                                   \
        OUT = a[0];                                                            \
    } while (0)

/* fmin/fmax in a form gcc vectorises (a compare and a blend, no call):
 * the accumulator starts as NaN and takes any number; a NaN element never
 * replaces a number. */
#define FMIN_STEP(a, v) ((((v) < (a)) | ((a) != (a))) ? (v) : (a))
#define FMAX_STEP(a, v) ((((v) > (a)) | ((a) != (a))) ? (v) : (a))
#define IMIN_STEP(a, v) ((v) < (a) ? (v) : (a))
#define IMAX_STEP(a, v) ((v) > (a) ? (v) : (a))

/* The chunk functions and partial operations of one dtype: S its suffix,
 * T the element, A the accumulator, M the partial's member. */
#define DEF_OPS(S, T, A, M, MIN_ID, MAX_ID, MINSTEP, MAXSTEP)                  \
    static fronta__red_part sum_##S(const void *xv, const void *yv, size_t len) \
    {                                                                          \
        const T *x = xv;                                                       \
        fronta__red_part p;                                                    \
        (void)yv;                                                              \
        BLOCKED_SUM(A, SUM_TERM, p.M);                                         \
        return p;                                                              \
    }                                                                          \
    static fronta__red_part dot_##S(const void *xv, const void *yv, size_t len) \
    {                                                                          \
        const T *x = xv, *y = yv;                                              \
        fronta__red_part p;                                                    \
        BLOCKED_SUM(A, DOT_TERM, p.M);                                         \
        return p;                                                              \
    }                                                                          \
    static fronta__red_part min_##S(const void *xv, const void *yv, size_t len) \
    {                                                                          \
        const T *x = xv;                                                       \
        T v;                                                                   \
        fronta__red_part p;                                                    \
        (void)yv;                                                              \
        LANE_REDUCE(T, MIN_ID, MINSTEP, v);                                    \
        p.M = (A)v;                                                            \
        return p;                                                              \
    }                                                                          \
    static fronta__red_part max_##S(const void *xv, const void *yv, size_t len) \
    {                                                                          \
        const T *x = xv;                                                       \
        T v;                                                                   \
        fronta__red_part p;                                                    \
        (void)yv;                                                              \
        LANE_REDUCE(T, MAX_ID, MAXSTEP, v);                                    \
        p.M = (A)v;                                                            \
        return p;                                                              \
    }                                                                          \
    static fronta__red_part add_##S(fronta__red_part a, fronta__red_part b)    \
    {                                                                          \
        a.M += b.M;                                                            \
        return a;                                                              \
    }                                                                          \
    static fronta__red_part min2_##S(fronta__red_part a, fronta__red_part b)   \
    {                                                                          \
        T u = (T)a.M, v = (T)b.M;                                              \
        a.M = (A)MINSTEP(u, v);                                                \
        return a;                                                              \
    }                                                                          \
    static fronta__red_part max2_##S(fronta__red_part a, fronta__red_part b)   \
    {                                                                          \
        T u = (T)a.M, v = (T)b.M;                                              \
        a.M = (A)MAXSTEP(u, v);                                                \
        return a;                                                              \
    }                                                                          \
    static void store_##S(void *r, fronta__red_part v)                         \
    {                                                                          \
        *(T *)r = (T)v.M;                                                      \
    }                                                                          \
    static const fronta__red_ops ops_##S = {                                   \
        .esize = sizeof(T), .sum = sum_##S, .dot = dot_##S, .min = min_##S,    \
        .max = max_##S, .add = add_##S, .min2 = min2_##S, .max2 = max2_##S,    \
        .store = store_##S, .scan = fronta__scan_chunk_##S,                    \
        .zero = {.M = 0},                                                      \
    };

#define SUM_TERM(k) ((A_)x[k])
#define DOT_TERM(k) ((A_)x[k] * (A_)y[k])

/* The integer partials hold the unsigned twin: the conversions back to
 * the signed type are the two's complement ones gcc and clang define. */
#define A_ uint32_t
DEF_OPS(i32, int32_t, uint32_t, u32, INT32_MAX, INT32_MIN, IMIN_STEP, IMAX_STEP)
#undef A_
#define A_ uint64_t
DEF_OPS(i64, int64_t, uint64_t, u64, INT64_MAX, INT64_MIN, IMIN_STEP, IMAX_STEP)
#undef A_
#define A_ float
DEF_OPS(f32, float, float, f32, NAN, NAN, FMIN_STEP, FMAX_STEP)
#undef A_
#define A_ double
DEF_OPS(f64, double, double, f64, (double)NAN, (double)NAN, FMIN_STEP, FMAX_STEP)
#undef A_

const fronta__red_ops *fronta__red_ops_of(fronta_dtype_t t)
{
    switch (t) {
    case FRONTA_INT32:
        return &ops_i32;
    case FRONTA_INT64:
        return &ops_i64;
    case FRONTA_FLOAT:
        return &ops_f32;
    case FRONTA_DOUBLE:
        return &ops_f64;
    default:
        return NULL;
    }
}

/* Masks count in 16 uint32 lanes of 0/1, which gcc vectorises as compares
 * and adds of whole registers, emptied into 64 bits every 2^24 bytes so
 * that no lane can overflow whatever the chunk's size. */
#define COUNT_BLOCK ((size_t)1 << 24)

uint64_t fronta__red_count_chunk(const uint8_t *m, size_t len)
{
    uint64_t s = 0;
    for (size_t b = 0; b < len; b += COUNT_BLOCK) {
        size_t e = len - b < COUNT_BLOCK ? len : b + COUNT_BLOCK, i = b;
        uint32_t a[LANES] = {0};
        for (; i + LANES <= e; i += LANES)
            for (int j = 0; j < LANES; j++)
                a[j] += m[i + (size_t)j] != 0;
        for (; i < e; i++)
            s += m[i] != 0;
        for (int j = 0; j < LANES; j++)
            s += a[j];
    }
    return s;
}

/* ---- the shared machinery ---------------------------------------------- */

int fronta__red_run(fronta_ctx_t *ctx, const fronta__red_plan *p,
                    void (*body)(void *ud, size_t k), void *ud)
{
    if (p->count <= 1) {
        body(ud, 0);
        return 0;
    }
    return fronta_ctx_parallel(ctx, p->count, body, ud);
}

fronta__red_part fronta__red_tree(fronta__red_part *parts, size_t m,
                                  fronta__red_part (*op)(fronta__red_part, fronta__red_part))
{
    for (size_t w = 1; w < m; w *= 2)
        for (size_t i = 0; i + w < m; i += 2 * w)
            parts[i] = op(parts[i], parts[i + w]);
    return parts[0];
}

/* One partial per work-group, of the widest element (8 bytes), and one
 * more slot (compact's total). */
size_t fronta__red_scratch_partials(const fronta_karg_t *args, size_t nargs, size_t rows,
                                    size_t cols)
{
    (void)args;
    (void)nargs;
    (void)rows;
    (void)cols;
    return (FRONTA__RED_CL_GROUPS + 1) * sizeof(uint64_t);
}

/* ---- sum, min, max, dot ------------------------------------------------ */

enum red_kind { RED_SUM, RED_MIN, RED_MAX, RED_DOT };

typedef struct red_job {
    fronta__red_part (*chunk)(const void *x, const void *y, size_t len);
    const char *x, *y;
    size_t esize;
    fronta__red_plan plan;
    fronta__red_part *parts;
} red_job;

static void red_body(void *ud, size_t k)
{
    red_job *j = ud;
    size_t off = fronta__red_begin(&j->plan, k) * j->esize;
    j->parts[k] = j->chunk(j->x + off, j->y ? j->y + off : NULL, fronta__red_len(&j->plan, k));
}

/* Chunk partials by chunk index, then their pairwise tree: the same
 * shape whatever the pool. */
static int reduce_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n,
                      enum red_kind kind)
{
    const fronta__red_ops *o = fronta__red_ops_of(fronta_ctx_arg_dtype(ctx, 0));
    size_t nr = kind == RED_DOT ? 3 : 2;
    if (!o || nargs != nr)
        return FRONTA_EARG; /* checked at submit; a guard against misuse */
    fronta__red_part parts[FRONTA__RED_MAX_CHUNKS];
    fronta__red_part (*const chunk[])(const void *, const void *, size_t) = {
        [RED_SUM] = o->sum, [RED_MIN] = o->min, [RED_MAX] = o->max, [RED_DOT] = o->dot};
    fronta__red_part (*const comb[])(fronta__red_part, fronta__red_part) = {
        [RED_SUM] = o->add, [RED_MIN] = o->min2, [RED_MAX] = o->max2, [RED_DOT] = o->add};
    red_job j = {.chunk = chunk[kind], .x = a[0].ptr, .y = kind == RED_DOT ? a[1].ptr : NULL,
                 .esize = o->esize, .plan = fronta__red_plan_of(n), .parts = parts};
    int rc = fronta__red_run(ctx, &j.plan, red_body, &j);
    if (rc)
        return rc;
    o->store(a[nr - 1].ptr, fronta__red_tree(parts, j.plan.count, comb[kind]));
    return 0;
}

static int sum_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return reduce_cpu(ctx, a, nargs, n, RED_SUM);
}

static int min_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return reduce_cpu(ctx, a, nargs, n, RED_MIN);
}

static int max_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return reduce_cpu(ctx, a, nargs, n, RED_MAX);
}

static int dot_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return reduce_cpu(ctx, a, nargs, n, RED_DOT);
}

/* ---- count ------------------------------------------------------------- */

typedef struct count_job {
    const uint8_t *m;
    fronta__red_plan plan;
    uint64_t *parts;
} count_job;

static void count_body(void *ud, size_t k)
{
    count_job *j = ud;
    j->parts[k] = fronta__red_count_chunk(j->m + fronta__red_begin(&j->plan, k),
                                          fronta__red_len(&j->plan, k));
}

static int count_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    uint64_t parts[FRONTA__RED_MAX_CHUNKS], s = 0;
    if (nargs != 2)
        return FRONTA_EARG;
    count_job j = {.m = a[0].ptr, .plan = fronta__red_plan_of(n), .parts = parts};
    int rc = fronta__red_run(ctx, &j.plan, count_body, &j);
    if (rc)
        return rc;
    for (size_t k = 0; k < j.plan.count; k++)
        s += parts[k];
    *(int64_t *)a[1].ptr = (int64_t)s;
    return 0;
}

/* ---- descriptors ------------------------------------------------------- */

static const fronta_param_t red1_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL,
     .dtypes = FRONTA_DTYPES_NUMERIC},
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_EXACT,
     .like = FRONTA_LIKE(0), .n = 1},
};

static const fronta_param_t dot_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL,
     .dtypes = FRONTA_DTYPES_NUMERIC},
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL,
     .like = FRONTA_LIKE(0)},
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_EXACT,
     .like = FRONTA_LIKE(0), .n = 1},
};

static const fronta_param_t count_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_EXACT, .n = 1},
};

/* Two passes: each work-group's tree into scratch, then one group's tree
 * of those partials into the result. */
static void red_desc(fronta_kernel_desc_t *d, const fronta_param_t *params, size_t np,
                     fronta_cpu_kernel_fn cpu, const char *src, const char *entry)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .params = params,
        .nparams = np,
        .cpu = cpu,
        .cl_source = src,
        .cl_entry = entry,
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_FLAT,
        .cl_local = {FRONTA__RED_CL_LOCAL, 0},
        .cl_groups = {FRONTA__RED_CL_GROUPS, 0},
        .cl_scratch = fronta__red_scratch_partials,
        .cl_passes = 2,
    };
}

static void sum_desc(fronta_kernel_desc_t *d)
{
    red_desc(d, red1_params, 2, sum_cpu, fronta_kernel_src_reduce, "fronta_sum");
}

static void min_desc(fronta_kernel_desc_t *d)
{
    red_desc(d, red1_params, 2, min_cpu, fronta_kernel_src_reduce, "fronta_min");
}

static void max_desc(fronta_kernel_desc_t *d)
{
    red_desc(d, red1_params, 2, max_cpu, fronta_kernel_src_reduce, "fronta_max");
}

static void dot_desc(fronta_kernel_desc_t *d)
{
    red_desc(d, dot_params, 3, dot_cpu, fronta_kernel_src_reduce, "fronta_dot");
}

static void count_desc(fronta_kernel_desc_t *d)
{
    red_desc(d, count_params, 2, count_cpu, fronta_kernel_src_count, "fronta_count");
}

const fronta__builtin fronta__builtins_reduce[] = {
    {"sum", sum_desc},
    {"min", min_desc},
    {"max", max_desc},
    {"dot", dot_desc},
    {"count", count_desc},
    {"inclusive_scan", fronta__kernels_scan_inclusive_desc},
    {"exclusive_scan", fronta__kernels_scan_exclusive_desc},
    {"compact", fronta__kernels_compact_desc},
    {"histogram", fronta__kernels_histogram_desc},
    {"sum_portable", fronta__kernels_sum_portable_desc},
    {"min_portable", fronta__kernels_min_portable_desc},
    {"max_portable", fronta__kernels_max_portable_desc},
    {NULL, NULL},
};
