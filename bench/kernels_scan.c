/* kernels_scan.c — the kernels/scan case: the inclusive prefix sum of n int32, fronta's "inclusive_scan" against a two-pass OpenMP scan. */
#include <stdlib.h>

#include "kernels_bench.h"

/* int32, not float: integer sums are exact, so the check is equality
 * with a serial scan, with no tolerance to hide a lost element; the
 * memory traffic, which bounds a scan, is the same as for float. ms: as
 * for reduce, a fixed pass and a time-ratio target. */
const bench_case_t kernels_scan = {
    .bench = "kernels", .name = "scan",
    .metric = "ms", .unit = "ms",
    .size = (size_t)1 << 26, .quick_size = (size_t)1 << 20,
    .reference = "openmp",
};

/* What y starts as: a prefix of these inputs never goes negative. */
#define Y_POISON (-1)

/* 0..7: the total stays below 2^31 up to 2^28 elements, so no run wraps
 * (the sums are computed unsigned regardless: wrapping is defined). */
static int32_t input(size_t i)
{
    return (int32_t)(kb_mix32(i) >> 29);
}

/* Input and output, in the case's scratch (not to be freed). */
static int data_new(size_t n, int32_t **x, int32_t **y)
{
    *x = kb_scratch(&kernels_scan, 0, n, sizeof(int32_t));
    *y = kb_scratch(&kernels_scan, 1, n, sizeof(int32_t));
    if (!*x || !*y)
        return -1;
    for (size_t i = 0; i < n; i++) {
        (*x)[i] = input(i);
        (*y)[i] = Y_POISON;
    }
    return 0;
}

/* A serial scan of the definition, element by element. */
static bench_status_t check(const int32_t *y, size_t n, const char *impl)
{
    uint32_t acc = 0;

    for (size_t i = 0; i < n; i++) {
        acc += (uint32_t)input(i);
        if ((uint32_t)y[i] != acc) {
            fprintf(stderr, "fronta-bench: kernels/scan: %s y[%zu] = %ld, expected %lu\n",
                    impl, i, (long)y[i], (unsigned long)acc);
            return BENCH_WRONG;
        }
    }
    return BENCH_OK;
}

/* Both arrays wrapped before the clock; the clock covers submit, wait and
 * the read access to y (kb_fronta_time). */
static bench_status_t scan_fronta(const bench_env_t *env, size_t n, fronta_need_t need,
                                  const char *impl, double *value)
{
    fronta_kernel_t *k = kb_kernel(env, "inclusive_scan");
    bench_status_t st = BENCH_ERROR;
    kb_bufs_t bs = {0};
    int32_t *x, *y;

    if (!k || data_new(n, &x, &y))
        return BENCH_ERROR;
    fronta_buffer_t *bx = kb_wrap(env, &bs, x, n, FRONTA_INT32);
    fronta_buffer_t *by = bx ? kb_wrap(env, &bs, y, n, FRONTA_INT32) : NULL;
    if (by) {
        fronta_task_desc_t t = {
            .size = sizeof t,
            .kernel = k,
            .args = {FRONTA_IN(bx), FRONTA_OUT(by)},
            .nargs = 2,
            .needs.device = need,
            .name = "inclusive_scan",
        };
        st = kb_fronta_time(env, &t, 1, by, &value[0]);
    }
    if (kb_unwrap(&bs) != BENCH_OK)
        st = BENCH_ERROR;
    if (st == BENCH_OK)
        st = check(y, n, impl);
    return st;
}

bench_status_t kernels_scan_fronta_cpu(const bench_env_t *env, size_t n, double *value)
{
    return scan_fronta(env, n, FRONTA_NEED_CPU_POOL, "fronta_cpu", value);
}

bench_status_t kernels_scan_fronta_opencl(const bench_env_t *env, size_t n, double *value)
{
    return scan_fronta(env, n, FRONTA_NEED_OPENCL, "fronta_opencl", value);
}

/* ---- openmp: two passes over chunks ------------------------------------ */

static uint32_t block_sum(const int32_t *x, size_t lo, size_t hi)
{
    uint32_t s = 0;

    for (size_t i = lo; i < hi; i++)
        s += (uint32_t)x[i];
    return s;
}

static void block_scan(const int32_t *x, int32_t *y, size_t lo, size_t hi, uint32_t acc)
{
    for (size_t i = lo; i < hi; i++) {
        acc += (uint32_t)x[i];
        y[i] = (int32_t)acc;
    }
}

/* Pass 1: each chunk of KB_CHUNK is summed; one thread turns the sums
 * into offsets; pass 2: each chunk is scanned from its offset. The input
 * is read twice, the output written once. Chunks rather than one block
 * per thread, handed out dynamically (as fronta_ctx_parallel does): on a
 * shared machine a descheduled thread then holds up no static half. 0,
 * or -1 when out of memory. */
static int scan_omp(int threads, const int32_t *x, int32_t *y, size_t n)
{
    size_t nc = kb_nchunks(n);
    uint32_t *off = malloc((nc + 1) * sizeof *off);

    if (!off)
        return -1;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < nc; c++)
            off[c + 1] = block_sum(x, c * KB_CHUNK, kb_chunk_end(n, c));
#pragma omp single
        {
            off[0] = 0;
            for (size_t c = 1; c <= nc; c++)
                off[c] += off[c - 1];
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < nc; c++)
            block_scan(x, y, c * KB_CHUNK, kb_chunk_end(n, c), off[c]);
    }
    free(off);
    return 0;
}

bench_status_t kernels_scan_openmp(const bench_env_t *env, size_t n, double *value)
{
    int32_t *x, *y;

    if (data_new(n, &x, &y))
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
    int rc = scan_omp(env->threads, x, y, n);
    uint64_t t1 = bench_now_ns();

    value[0] = kb_ms(t0, t1);
    return rc ? BENCH_ERROR : check(y, n, "openmp");
}
