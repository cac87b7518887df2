/* kernels_gemm.c — the kernels/gemm case: C = A B over n x n floats, its inputs and check, and fronta's rows. */
#include <stdlib.h>
#include <string.h>

#include "kernels_gemm.h"

/* GFLOP/s rather than ms: the figure gemm is known by, comparable across
 * sizes and machines, and the target (fronta_cpu >= 0.8x
 * OpenBLAS) is a throughput ratio. The openblas row's ratio is taken
 * against fronta_cpu (registry.c), so that figure is in the table. */
const bench_case_t kernels_gemm = {
    .bench = "kernels", .name = "gemm",
    .metric = "GFLOP_per_s", .unit = "GFLOP/s", .higher_is_better = 1,
    .size = 2048, .quick_size = 256,
    .reference = "openmp",
};

/* Small integers: every product and partial sum (at most 16 n in
 * magnitude) is an integer below 2^24, exact in float whatever the
 * summation order, blocking or FMA. So every implementation must give
 * the same bits, and the check compares for equality. */
static float input(uint64_t seed, size_t i)
{
    return (float)(int)(kb_hash(seed, i) % 9) - 4.0f;
}

#define SEED_A 1
#define SEED_B 2
/* Where C starts: a value the product never gives (|C| <= 16 n is
 * integral), so an element left unwritten shows. With beta = 0 it is
 * never read. */
#define C_POISON 0.5f

int gemm_data_new(size_t n, float **a, float **b, float **c)
{
    if (n > GEMM_MAX_N) {
        fprintf(stderr, "fronta-bench: kernels/gemm: n = %zu > %d\n", n, GEMM_MAX_N);
        return -1;
    }
    *a = kb_alloc(n * n, sizeof(float));
    *b = kb_alloc(n * n, sizeof(float));
    *c = kb_alloc(n * n, sizeof(float));
    if (!*a || !*b || !*c) {
        free(*a);
        free(*b);
        free(*c);
        return -1;
    }
    for (size_t i = 0; i < n * n; i++) {
        (*a)[i] = input(SEED_A, i);
        (*b)[i] = input(SEED_B, i);
        (*c)[i] = C_POISON;
    }
    return 0;
}

/* ---- the reference: computed once per size, checked, kept ------------ */

static float *ref_c;
static size_t ref_n;

static void ref_free(void)
{
    free(ref_c);
    ref_c = NULL;
}

/* C[i][j] in exact integer arithmetic, from the inputs' definition. */
static int64_t exact_entry(size_t n, size_t i, size_t j)
{
    int64_t s = 0;

    for (size_t k = 0; k < n; k++)
        s += (int64_t)input(SEED_A, i * n + k) * (int64_t)input(SEED_B, k * n + j);
    return s;
}

/* The OpenMP result is the reference once these entries of it are right:
 * the first and last rows and columns (where tiling goes wrong) and 1024
 * scattered ones. */
static int ref_verify(const float *c, size_t n)
{
    for (size_t t = 0; t < 4 * n + 1024; t++) {
        size_t i, j, e = t % n;

        if (t < 4 * n) {
            size_t side = t / n;
            i = side == 0 ? 0 : side == 1 ? n - 1 : e;
            j = side == 2 ? 0 : side == 3 ? n - 1 : e;
        } else {
            uint64_t h = kb_hash(3, t);
            i = (size_t)(h % n);
            j = (size_t)((h >> 32) % n);
        }
        if ((double)c[i * n + j] != (double)exact_entry(n, i, j)) {
            fprintf(stderr, "fronta-bench: kernels/gemm: openmp C[%zu][%zu] = %g, exact %lld\n",
                    i, j, (double)c[i * n + j], (long long)exact_entry(n, i, j));
            return -1;
        }
    }
    return 0;
}

static const float *gemm_reference(const bench_env_t *env, size_t n)
{
    float *a, *b, *c;

    if (ref_c && ref_n == n)
        return ref_c;
    ref_free();
    if (gemm_data_new(n, &a, &b, &c))
        return NULL;
    int rc = gemm_omp(env->threads, n, n, n, a, b, c);
    free(a);
    free(b);
    if (rc || ref_verify(c, n)) {
        free(c);
        return NULL;
    }
    if (!ref_n)
        bench_at_exit(ref_free);
    ref_c = c;
    ref_n = n;
    return ref_c;
}

bench_status_t gemm_data_check(const bench_env_t *env, const float *c, size_t n,
                               const char *impl)
{
    const float *ref = gemm_reference(env, n);

    if (!ref)
        return BENCH_ERROR;
    /* memcmp would call -0 and +0 different; compare values. */
    for (size_t i = 0; i < n * n; i++) {
        if (c[i] != ref[i]) {
            fprintf(stderr, "fronta-bench: kernels/gemm: %s C[%zu][%zu] = %g, expected %g\n",
                    impl, i / n, i % n, (double)c[i], (double)ref[i]);
            return BENCH_WRONG;
        }
    }
    return BENCH_OK;
}

double gemm_gflops(size_t n, double ms)
{
    return ms > 0.0 ? 2.0 * (double)n * (double)n * (double)n / (ms * 1e6) : 0.0;
}

/* ---- fronta ----------------------------------------------------------- */

/* The buffers are wrapped before the clock and destroyed after it; the
 * clock covers submit, wait and the read access to C that brings it to
 * the host array (kb_fronta_time): what a user waits for. */
static bench_status_t gemm_fronta(const bench_env_t *env, size_t n, fronta_need_t need,
                                  const char *impl, double *value)
{
    fronta_kernel_t *k = kb_kernel(env, "gemm");
    kb_bufs_t bs = {0};
    float *a, *b, *c;
    double ms = 0.0;
    bench_status_t st = BENCH_ERROR;

    if (!k || gemm_data_new(n, &a, &b, &c))
        return BENCH_ERROR;
    fronta_buffer_t *ba = kb_wrap(env, &bs, a, n * n, FRONTA_FLOAT);
    fronta_buffer_t *bb = ba ? kb_wrap(env, &bs, b, n * n, FRONTA_FLOAT) : NULL;
    fronta_buffer_t *bc = bb ? kb_wrap(env, &bs, c, n * n, FRONTA_FLOAT) : NULL;
    if (bc) {
        fronta_task_desc_t t = {
            .size = sizeof t,
            .kernel = k,
            .args = {FRONTA_IN(ba), FRONTA_IN(bb), FRONTA_INOUT(bc), FRONTA_F32(1.0f),
                     FRONTA_F32(0.0f)},
            .nargs = 5,
            .rows = n,
            .cols = n,
            .needs.device = need,
            .name = "gemm",
        };
        st = kb_fronta_time(env, &t, 1, bc, &ms);
    }
    if (kb_unwrap(&bs) != BENCH_OK)
        st = BENCH_ERROR;
    value[0] = gemm_gflops(n, ms);
    if (st == BENCH_OK)
        st = gemm_data_check(env, c, n, impl);
    free(a);
    free(b);
    free(c);
    return st;
}

bench_status_t kernels_gemm_fronta_cpu(const bench_env_t *env, size_t n, double *value)
{
    return gemm_fronta(env, n, FRONTA_NEED_CPU_POOL, "fronta_cpu", value);
}

bench_status_t kernels_gemm_fronta_opencl(const bench_env_t *env, size_t n, double *value)
{
    return gemm_fronta(env, n, FRONTA_NEED_OPENCL, "fronta_opencl", value);
}

/* ---- openmp ----------------------------------------------------------- */

/* The clock covers the whole call, B's packing included: it is part of
 * the algorithm. */
bench_status_t kernels_gemm_openmp(const bench_env_t *env, size_t n, double *value)
{
    float *a, *b, *c;
    bench_status_t st;

    if (gemm_data_new(n, &a, &b, &c))
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
    int rc = gemm_omp(env->threads, n, n, n, a, b, c);
    uint64_t t1 = bench_now_ns();

    value[0] = gemm_gflops(n, kb_ms(t0, t1));
    st = rc ? BENCH_ERROR : gemm_data_check(env, c, n, "openmp");
    free(a);
    free(b);
    free(c);
    return st;
}
