/* portable.c — the bundled kernels "sum_portable", "min_portable" and "max_portable": reductions whose pool and OpenCL implementations compute one tree, so every device gives the same bits (what fronta_reduce's per-chunk partials need). */
#include <math.h>
#include <stdint.h>

#include "kernels.h"

extern const char fronta_kernel_src_portable[];
void fronta__kernels_sum_portable_desc(fronta_kernel_desc_t *d);
void fronta__kernels_min_portable_desc(fronta_kernel_desc_t *d);
void fronta__kernels_max_portable_desc(fronta_kernel_desc_t *d);

/* The tree of portable.cl, which the header there describes. */
#define LANES 64
#define BLOCK 4096
#define SB_BLOCKS 16
#define SB ((size_t)BLOCK * SB_BLOCKS)
/* Super-blocks per fronta_ctx_parallel round (16 Mi elements): their
 * partials stay on the stack (2 KiB), and rounds of a power of two,
 * aligned, keep the pairwise tree over all super-blocks the same as one
 * flat tree. */
#define ROUND 256
#define WG 64
#define CL_GROUPS 1024

enum { OP_SUM, OP_MIN, OP_MAX };

/* An accumulator of any dtype: integers in their unsigned twin. */
typedef union part {
    uint32_t u32;
    uint64_t u64;
    float f32;
    double f64;
} part_t;

/* The order where -0 < +0, NaNs skipped: TAKE says v replaces a. */
#define FMIN_TAKE(a, v) (((a) != (a)) | ((v) < (a)) | (((v) == (a)) & (signbit(v) != 0)))
#define FMAX_TAKE(a, v) (((a) != (a)) | ((v) > (a)) | (((v) == (a)) & (signbit(v) == 0)))
#define FMIN_OP(a, v) (FMIN_TAKE(a, v) ? (v) : (a))
#define FMAX_OP(a, v) (FMAX_TAKE(a, v) ? (v) : (a))
#define IMIN_OP(a, v) ((v) < (a) ? (v) : (a))
#define IMAX_OP(a, v) ((v) > (a) ? (v) : (a))
#define ADD_OP(a, v) ((a) + (v))

/* One block of len <= BLOCK elements for element T, accumulator A, fold
 * OP from ID; the partial goes to member M (of type U). */
#define DEF_BLOCK(NAME, T, A, U, M, ID, OP)                                    \
    static part_t block_##NAME(const void *xv, size_t len)                     \
    {                                                                          \
        const T *x = xv;                                                       \
        A a[LANES];                                                            \
        size_t rows = len / LANES, i = rows * LANES;                           \
        part_t p;                                                              \
        for (int j = 0; j < LANES; j++)                                        \
            a[j] = (ID);                                                       \
        for (size_t t = 0; t < rows; t++)                                      \
            for (int j = 0; j < LANES; j++)                                    \
                a[j] = OP(a[j], (A)x[t * LANES + (size_t)j]);                  \
        for (size_t j = 0; i + j < len; j++)                                   \
            a[j] = OP(a[j], (A)x[i + j]);                                      \
        for (int w = LANES / 2; w > 0; w /= 2)                                 \
            for (int j = 0; j < w; j++)                                        \
                a[j] = OP(a[j], a[j + w]);                                     \
        p.M = (U)a[0];                                                         \
        return p;                                                              \
    }

/* ... and one combine of two partials, folded in the accumulator type. */
#define DEF_OP(NAME, T, A, M, ID, OP)                                          \
    DEF_BLOCK(NAME, T, A, A, M, ID, OP)                                        \
    static part_t comb_##NAME(part_t p, part_t q)                              \
    {                                                                          \
        p.M = OP(p.M, q.M);                                                    \
        return p;                                                              \
    }

DEF_OP(sum_i32, int32_t, uint32_t, u32, 0u, ADD_OP)
DEF_OP(sum_i64, int64_t, uint64_t, u64, 0u, ADD_OP)
DEF_OP(sum_f32, float, float, f32, -0.0f, ADD_OP)
DEF_OP(sum_f64, double, double, f64, -0.0, ADD_OP)
DEF_OP(min_f32, float, float, f32, NAN, FMIN_OP)
DEF_OP(min_f64, double, double, f64, (double)NAN, FMIN_OP)
DEF_OP(max_f32, float, float, f32, NAN, FMAX_OP)
DEF_OP(max_f64, double, double, f64, (double)NAN, FMAX_OP)

/* Signed min and max compare in the element type; the partial keeps its
 * bits in the unsigned member. */
#define DEF_IOP(NAME, T, U, M, ID, OP)                                         \
    DEF_BLOCK(NAME, T, T, U, M, ID, OP)                                        \
    static part_t comb_##NAME(part_t p, part_t q)                              \
    {                                                                          \
        T u = (T)p.M, v = (T)q.M;                                              \
        p.M = (U)OP(u, v);                                                     \
        return p;                                                              \
    }

DEF_IOP(min_i32, int32_t, uint32_t, u32, INT32_MAX, IMIN_OP)
DEF_IOP(min_i64, int64_t, uint64_t, u64, INT64_MAX, IMIN_OP)
DEF_IOP(max_i32, int32_t, uint32_t, u32, INT32_MIN, IMAX_OP)
DEF_IOP(max_i64, int64_t, uint64_t, u64, INT64_MIN, IMAX_OP)

typedef struct ops {
    part_t (*block)(const void *x, size_t len);
    part_t (*comb)(part_t p, part_t q);
} ops_t;

/* [op][dtype - INT32]: int32, int64, float, double. */
static const ops_t ops[3][4] = {
    [OP_SUM] = {{block_sum_i32, comb_sum_i32}, {block_sum_i64, comb_sum_i64},
                {block_sum_f32, comb_sum_f32}, {block_sum_f64, comb_sum_f64}},
    [OP_MIN] = {{block_min_i32, comb_min_i32}, {block_min_i64, comb_min_i64},
                {block_min_f32, comb_min_f32}, {block_min_f64, comb_min_f64}},
    [OP_MAX] = {{block_max_i32, comb_max_i32}, {block_max_i64, comb_max_i64},
                {block_max_f32, comb_max_f32}, {block_max_f64, comb_max_f64}},
};

/* parts[0 .. m) folded pairwise in index order: i with i + w, w = 1, 2, 4... */
static part_t tree(part_t *p, size_t m, const ops_t *o)
{
    for (size_t w = 1; w < m; w *= 2)
        for (size_t i = 0; i + w < m; i += 2 * w)
            p[i] = o->comb(p[i], p[i + w]);
    return p[0];
}

typedef struct job {
    const ops_t *o;
    const char *x;
    size_t n, esize, sb0; /* sb0: the round's first super-block */
    part_t *parts;
} job_t;

static void sb_body(void *ud, size_t k)
{
    const job_t *j = ud;
    part_t blk[SB_BLOCKS];
    size_t b0 = (j->sb0 + k) * SB_BLOCKS, nb = (j->n + BLOCK - 1) / BLOCK - b0;
    size_t m = nb < SB_BLOCKS ? nb : SB_BLOCKS;
    for (size_t b = 0; b < m; b++) {
        size_t lo = (b0 + b) * BLOCK, len = j->n - lo < BLOCK ? j->n - lo : BLOCK;
        blk[b] = j->o->block(j->x + lo * j->esize, len);
    }
    j->parts[k] = tree(blk, m, j->o);
}

/* Rounds of ROUND super-blocks over the pool; the rounds' partials meet
 * on a stack as a binary counter does, which is the pairwise tree's
 * shape: equal-sized subtrees merge as soon as both exist, and what is
 * left at the end folds from the top. */
static int portable_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n,
                        int op)
{
    fronta_dtype_t t = fronta_ctx_arg_dtype(ctx, 0);
    if (nargs != 2 || t < FRONTA_INT32 || t > FRONTA_DOUBLE)
        return FRONTA_EARG; /* checked at submit; a guard against misuse */
    part_t parts[ROUND], stack[64];
    size_t sizes[64], depth = 0, nsb = (n + SB - 1) / SB;
    job_t j = {.o = &ops[op][t - FRONTA_INT32], .x = a[0].ptr, .n = n,
               .esize = fronta_dtype_size(t), .parts = parts};
    for (j.sb0 = 0; j.sb0 < nsb; j.sb0 += ROUND) {
        size_t r = nsb - j.sb0 < ROUND ? nsb - j.sb0 : ROUND;
        int rc = 0;
        if (r == 1)
            sb_body(&j, 0);
        else if ((rc = fronta_ctx_parallel(ctx, r, sb_body, &j)))
            return rc;
        stack[depth] = tree(parts, r, j.o);
        sizes[depth++] = r;
        while (depth > 1 && sizes[depth - 2] == sizes[depth - 1]) {
            stack[depth - 2] = j.o->comb(stack[depth - 2], stack[depth - 1]);
            sizes[depth - 2] *= 2;
            depth--;
        }
    }
    for (; depth > 1; depth--)
        stack[depth - 2] = j.o->comb(stack[depth - 2], stack[depth - 1]);
    switch (t) {
    case FRONTA_INT32:
        *(int32_t *)a[1].ptr = (int32_t)stack[0].u32;
        break;
    case FRONTA_INT64:
        *(int64_t *)a[1].ptr = (int64_t)stack[0].u64;
        break;
    case FRONTA_FLOAT:
        *(float *)a[1].ptr = stack[0].f32;
        break;
    default:
        *(double *)a[1].ptr = stack[0].f64;
        break;
    }
    return 0;
}

static int sum_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return portable_cpu(ctx, a, nargs, n, OP_SUM);
}

static int min_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return portable_cpu(ctx, a, nargs, n, OP_MIN);
}

static int max_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return portable_cpu(ctx, a, nargs, n, OP_MAX);
}

/* One partial per super-block, of the widest accumulator. */
static size_t scratch_bytes(const fronta_karg_t *args, size_t nargs, size_t rows, size_t cols)
{
    (void)args;
    (void)nargs;
    return (rows * cols + SB - 1) / SB * sizeof(uint64_t);
}

static const fronta_param_t params[] = {
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL,
     .dtypes = FRONTA_DTYPES_NUMERIC},
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_EXACT,
     .like = FRONTA_LIKE(0), .n = 1},
};

/* Two passes: super-block partials into scratch, then their tree. */
static void desc(fronta_kernel_desc_t *d, fronta_cpu_kernel_fn cpu, const char *options)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .params = params,
        .nparams = 2,
        .cpu = cpu,
        .cl_source = fronta_kernel_src_portable,
        .cl_entry = "fronta_portable",
        .cl_options = options,
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_FLAT,
        .cl_local = {WG, 0},
        .cl_groups = {CL_GROUPS, 0},
        .cl_scratch = scratch_bytes,
        .cl_passes = 2,
    };
}

void fronta__kernels_sum_portable_desc(fronta_kernel_desc_t *d)
{
    desc(d, sum_cpu, "-DFRONTA_PORTABLE_OP=0");
}

void fronta__kernels_min_portable_desc(fronta_kernel_desc_t *d)
{
    desc(d, min_cpu, "-DFRONTA_PORTABLE_OP=1");
}

void fronta__kernels_max_portable_desc(fronta_kernel_desc_t *d)
{
    desc(d, max_cpu, "-DFRONTA_PORTABLE_OP=2");
}
