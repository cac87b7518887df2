/* kernels_reduce.c — the kernels/reduce case: the sum of n floats, fronta's "sum" against an OpenMP reduction. */
#include <stdlib.h>

#include "kernels_bench.h"

/* ms: the work is one fixed-size pass, and the target (fronta_cpu within
 * 1.1x of OpenMP) is a time ratio. */
const bench_case_t kernels_reduce = {
    .bench = "kernels", .name = "reduce",
    .metric = "ms", .unit = "ms",
    .size = (size_t)1 << 26, .quick_size = (size_t)1 << 20,
    .reference = "openmp",
};

/* Nonzero small integers of random sign: every partial sum any
 * summation order forms (a block, a strided lane, a tree node) is a
 * random walk far below 2^24 (a few times 2.7 sqrt(n): about 1e5 at
 * 2^26), so float adds are exact in any order and the check is equality
 * with the integer sum. A tolerance would have to let a lost work-group
 * of small values through; equality lets no lost or doubled element
 * through (unless a lost block happens to sum to exactly 0). */
static int32_t input(size_t i)
{
    int32_t t = (int32_t)(kb_mix32(i) >> 29); /* 0..7 */

    return t - 4 + (t >= 4); /* -4..-1, 1..4 */
}

/* The input, in the case's scratch (not to be freed). */
static float *data_new(size_t n)
{
    float *x = kb_scratch(&kernels_reduce, 0, n, sizeof(float));

    if (x)
        for (size_t i = 0; i < n; i++)
            x[i] = (float)input(i);
    return x;
}

/* The exact sum, from the inputs' definition, computed once per size. */
static int64_t exact_sum(size_t n)
{
    static int64_t sum;
    static size_t sum_n;

    if (sum_n != n) {
        sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += input(i);
        sum_n = n;
    }
    return sum;
}

static bench_status_t check(float s, size_t n, const char *impl)
{
    int64_t want = exact_sum(n);

    if ((double)s != (double)want) {
        fprintf(stderr, "fronta-bench: kernels/reduce: %s sum = %.9g, exact %lld\n", impl,
                (double)s, (long long)want);
        return BENCH_WRONG;
    }
    return BENCH_OK;
}

/* x and the one-element result are wrapped before the clock; the clock
 * covers submit, wait and the read access to the result (kb_fronta_time). */
static bench_status_t reduce_fronta(const bench_env_t *env, size_t n, fronta_need_t need,
                                    const char *impl, double *value)
{
    fronta_kernel_t *k = kb_kernel(env, "sum");
    bench_status_t st = BENCH_ERROR;
    kb_bufs_t bs = {0};
    float *x, *s;

    if (!k || !(x = data_new(n)))
        return BENCH_ERROR;
    if (!(s = kb_alloc(1, sizeof(float))))
        return BENCH_ERROR;
    /* Not a sum of these inputs (all are integers): an unwritten result
     * shows. */
    s[0] = 0.5f;
    fronta_buffer_t *bx = kb_wrap(env, &bs, x, n, FRONTA_FLOAT);
    fronta_buffer_t *bsum = bx ? kb_wrap(env, &bs, s, 1, FRONTA_FLOAT) : NULL;
    if (bsum) {
        fronta_task_desc_t t = {
            .size = sizeof t,
            .kernel = k,
            .args = {FRONTA_IN(bx), FRONTA_OUT(bsum)},
            .nargs = 2,
            .needs.device = need,
            .name = "sum",
        };
        st = kb_fronta_time(env, &t, 1, bsum, &value[0]);
    }
    if (kb_unwrap(&bs) != BENCH_OK)
        st = BENCH_ERROR;
    if (st == BENCH_OK)
        st = check(s[0], n, impl);
    free(s);
    return st;
}

bench_status_t kernels_reduce_fronta_cpu(const bench_env_t *env, size_t n, double *value)
{
    return reduce_fronta(env, n, FRONTA_NEED_CPU_POOL, "fronta_cpu", value);
}

bench_status_t kernels_reduce_fronta_opencl(const bench_env_t *env, size_t n, double *value)
{
    return reduce_fronta(env, n, FRONTA_NEED_OPENCL, "fronta_opencl", value);
}

/* LANES running sums per thread: a loop the compiler vectorises without
 * being allowed to reorder float adds (each lane is a sequence of its
 * own), where `omp simd` alone is not vectorised by every compiler. */
#define LANES 16

static float block_sum(const float *x, size_t lo, size_t hi)
{
    float acc[LANES] = {0}, s = 0.0f;
    size_t i = lo;

    for (; i + LANES <= hi; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += x[i + j];
    for (; i < hi; i++)
        acc[0] += x[i];
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

/* An OpenMP reduction over the pool's thread count, in chunks of
 * KB_CHUNK handed out as threads come free (as fronta_ctx_parallel does):
 * on a shared machine a thread that is descheduled then takes fewer
 * chunks instead of holding up a static half. */
bench_status_t kernels_reduce_openmp(const bench_env_t *env, size_t n, double *value)
{
    float *x = data_new(n), s = 0.0f;

    if (!x)
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
#pragma omp parallel for num_threads(env->threads) schedule(dynamic, 1) reduction(+ : s)
    for (size_t c = 0; c < kb_nchunks(n); c++)
        s += block_sum(x, c * KB_CHUNK, kb_chunk_end(n, c));
    uint64_t t1 = bench_now_ns();

    value[0] = kb_ms(t0, t1);
    return check(s, n, "openmp");
}
