/* scan.c — the bundled kernels "inclusive_scan" and "exclusive_scan": prefix sums, on the CPU pool and in OpenCL. */
#include <stdint.h>

#include "reduce.h"

extern const char fronta_kernel_src_scan[];
void fronta__kernels_scan_inclusive_desc(fronta_kernel_desc_t *d);
void fronta__kernels_scan_exclusive_desc(fronta_kernel_desc_t *d);

/* A chunk is scanned in blocks of 256, each as 8 runs of 32 elements
 * side by side: 8 independent chains instead of one, so the adds overlap
 * instead of waiting on each other (about 3x the throughput of one chain
 * for floats, which then keeps up with memory). Each run's own prefix
 * goes to y, then each run gets (block base + the runs before it in the
 * block) added, a loop gcc vectorises; the base moves on by the block's
 * sum. An output's path so holds at most 32 additions within its run, 8
 * over the runs before it, 2 more, and one per earlier block of the
 * chunk -- not one per earlier element. A partial last block is one
 * chain. x and y may be the same array: element i is read before y[i] is
 * written, and by the same chain. */
#define RUNS 8
#define RUN 32
#define SCAN_BLOCK (RUNS * RUN)

/* One full block; EX: exclusive. */
#define DEF_SCAN_BLOCK(NAME, T, A, EX)                                         \
    static A NAME(const T *x, T *y, A base)                                    \
    {                                                                          \
        A acc[RUNS], start[RUNS], rel = (A)-0.0;                               \
        for (int j = 0; j < RUNS; j++)                                         \
            acc[j] = (A)-0.0;                                                  \
        for (int t = 0; t < RUN; t++)                                          \
            for (int j = 0; j < RUNS; j++) {                                   \
                A v = (A)x[j * RUN + t];                                       \
                if (EX) {                                                      \
                    y[j * RUN + t] = (T)acc[j];                                \
                    acc[j] += v;                                               \
                } else {                                                       \
                    acc[j] += v;                                               \
                    y[j * RUN + t] = (T)acc[j];                                \
                }                                                              \
            }                                                                  \
        for (int j = 0; j < RUNS; j++) {                                       \
            start[j] = base + rel;                                             \
            rel += acc[j];                                                     \
        }                                                                      \
        for (int j = 0; j < RUNS; j++)                                         \
            for (int t = 0; t < RUN; t++)                                      \
                y[j * RUN + t] = (T)(A)(start[j] + (A)y[j * RUN + t]);         \
        return base + rel;                                                     \
    }

#define DEF_SCAN(S, T, A, M)                                                   \
    DEF_SCAN_BLOCK(inclusive_block_##S, T, A, 0)                               \
    DEF_SCAN_BLOCK(exclusive_block_##S, T, A, 1)                               \
    void fronta__scan_chunk_##S(const void *xv, void *yv, size_t len,          \
                                fronta__red_part off, int ex)                  \
    {                                                                          \
        const T *x = xv;                                                       \
        T *y = yv;                                                             \
        A base = off.M, acc = (A)-0.0;                                         \
        size_t i = 0;                                                          \
        for (; i + SCAN_BLOCK <= len; i += SCAN_BLOCK)                         \
            base = ex ? exclusive_block_##S(x + i, y + i, base)                \
                      : inclusive_block_##S(x + i, y + i, base);               \
        for (; i < len; i++) {                                                 \
            A v = (A)x[i];                                                     \
            if (!ex)                                                           \
                acc += v;                                                      \
            y[i] = (T)(A)(base + acc);                                         \
            if (ex)                                                            \
                acc += v;                                                      \
        }                                                                      \
    }

DEF_SCAN(i32, int32_t, uint32_t, u32)
DEF_SCAN(i64, int64_t, uint64_t, u64)
DEF_SCAN(f32, float, float, f32)
DEF_SCAN(f64, double, double, f64)

typedef struct scan_job {
    const fronta__red_ops *o;
    const char *x;
    char *y;
    fronta__red_plan plan;
    fronta__red_part *parts; /* chunk sums, then each chunk's offset */
    int ex;
} scan_job;

static void sums_body(void *ud, size_t k)
{
    scan_job *j = ud;
    size_t b = fronta__red_begin(&j->plan, k) * j->o->esize;
    j->parts[k] = j->o->sum(j->x + b, NULL, fronta__red_len(&j->plan, k));
}

static void scan_body(void *ud, size_t k)
{
    scan_job *j = ud;
    size_t b = fronta__red_begin(&j->plan, k) * j->o->esize;
    j->o->scan(j->x + b, j->y + b, fronta__red_len(&j->plan, k), j->parts[k], j->ex);
}

/* Two passes over x: the sums of every chunk but the last, then each
 * chunk's scan from the sum of those before it (added in chunk order). */
static int scan_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n, int ex)
{
    const fronta__red_ops *o = fronta__red_ops_of(fronta_ctx_arg_dtype(ctx, 0));
    if (!o || nargs != 2)
        return FRONTA_EARG; /* checked at submit; a guard against misuse */
    fronta__red_part parts[FRONTA__RED_MAX_CHUNKS];
    scan_job j = {.o = o, .x = a[0].ptr, .y = a[1].ptr, .plan = fronta__red_plan_of(n),
                  .parts = parts, .ex = ex};
    fronta__red_plan sums = j.plan;
    sums.count--;
    int rc = sums.count ? fronta__red_run(ctx, &sums, sums_body, &j) : 0;
    if (rc)
        return rc;
    /* Offsets in chunk order, from +0 (an exclusive scan starts at 0). */
    fronta__red_part run = o->zero;
    for (size_t k = 0; k + 1 < j.plan.count; k++) {
        fronta__red_part s = parts[k];
        parts[k] = run;
        run = o->add(run, s);
    }
    parts[j.plan.count - 1] = run;
    return fronta__red_run(ctx, &j.plan, scan_body, &j);
}

static int inclusive_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return scan_cpu(ctx, a, nargs, n, 0);
}

static int exclusive_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    return scan_cpu(ctx, a, nargs, n, 1);
}

static const fronta_param_t scan_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL,
     .dtypes = FRONTA_DTYPES_NUMERIC},
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_GLOBAL,
     .like = FRONTA_LIKE(0)},
};

/* Three passes: each work-group's block sum, the scan of those sums, each
 * block's scan from its offset. */
static void scan_desc(fronta_kernel_desc_t *d, fronta_cpu_kernel_fn cpu, const char *entry)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .params = scan_params,
        .nparams = 2,
        .cpu = cpu,
        .cl_source = fronta_kernel_src_scan,
        .cl_entry = entry,
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_FLAT,
        .cl_local = {FRONTA__RED_CL_LOCAL, 0},
        .cl_groups = {FRONTA__RED_CL_GROUPS, 0},
        .cl_scratch = fronta__red_scratch_partials,
        .cl_passes = 3,
    };
}

void fronta__kernels_scan_inclusive_desc(fronta_kernel_desc_t *d)
{
    scan_desc(d, inclusive_cpu, "fronta_inclusive_scan");
}

void fronta__kernels_scan_exclusive_desc(fronta_kernel_desc_t *d)
{
    scan_desc(d, exclusive_cpu, "fronta_exclusive_scan");
}
