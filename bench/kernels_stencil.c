/* kernels_stencil.c — the kernels/stencil case: 10 steps of a 2-D 5-point stencil over an n x n float grid, fronta's "stencil5" as 10 chained tasks against OpenMP. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_bench.h"

/* ms for the 10 steps: a fixed amount of work, and the target (within
 * 1.1x of OpenMP) is a time ratio. */
const bench_case_t kernels_stencil = {
    .bench = "kernels", .name = "stencil",
    .metric = "ms", .unit = "ms",
    .size = 4096, .quick_size = 512,
    .reference = "openmp",
};

#define STEPS 10
/* The largest side: n x n floats, twice, must fit in memory. */
#define MAX_N 65536

/* The step stencil5 computes (docs/kernels.md): each interior point
 * becomes W_C times itself plus W_N times the sum of its four
 * neighbours; the boundary is copied. */
#define W_C 0.5f
#define W_N 0.125f

static float input(size_t i)
{
    return (float)(kb_mix32(i) >> 8) * 0x1p-24f;
}

/* Grid a gets the input, b (the other grid of the ping-pong) a NaN
 * wherever no step writes. */
static void data_fill(size_t n, float *a, float *b)
{
    for (size_t i = 0; i < n * n; i++) {
        a[i] = input(i);
        b[i] = NAN;
    }
}

/* The grids of a run, in the case's scratch (not to be freed), filled. */
static int data_new(size_t n, float **a, float **b)
{
    if (n > MAX_N) {
        fprintf(stderr, "fronta-bench: kernels/stencil: n = %zu > %d\n", n, MAX_N);
        return -1;
    }
    *a = kb_scratch(&kernels_stencil, 0, n * n, sizeof(float));
    *b = kb_scratch(&kernels_stencil, 1, n * n, sizeof(float));
    if (!*a || !*b)
        return -1;
    data_fill(n, *a, *b);
    return 0;
}

/* Row i of one step, x -> y, in stencil5's order of evaluation (up +
 * down, + left, + right). Shared by the serial reference and the OpenMP
 * row, so those two agree to the bit; fronta's may round differently
 * (a compiler that fuses into FMA), within the tolerance. */
static void step_row(const float *restrict x, float *restrict y, size_t n, size_t i)
{
    const float *r = x + i * n;
    float *o = y + i * n;

    if (i == 0 || i == n - 1 || n < 3) {
        memcpy(o, r, n * sizeof *o);
        return;
    }
    /* The rows above and below as pointers of their own: r[j - n] with an
     * unsigned j wraps, and that pointer arithmetic is undefined. */
    const float *up = r - n, *dn = r + n;
    o[0] = r[0];
    for (size_t j = 1; j < n - 1; j++)
        o[j] = W_C * r[j] + W_N * (((up[j] + dn[j]) + r[j - 1]) + r[j + 1]);
    o[n - 1] = r[n - 1];
}

/* ---- the reference: serial, once per size, kept ----------------------- */

static float *ref;
static size_t ref_n;

static void ref_free(void)
{
    free(ref);
    ref = NULL;
}

static const float *reference(size_t n)
{
    float *a, *b;

    if (ref && ref_n == n)
        return ref;
    ref_free();
    /* Arrays of its own: the run being checked is in the scratch. */
    a = kb_alloc(n * n, sizeof(float));
    b = kb_alloc(n * n, sizeof(float));
    if (!a || !b) {
        free(a);
        free(b);
        return NULL;
    }
    data_fill(n, a, b);
    for (int s = 0; s < STEPS; s++) {
        for (size_t i = 0; i < n; i++)
            step_row(a, b, n, i);
        float *t = a;
        a = b;
        b = t;
    }
    free(b);
    if (!ref_n)
        bench_at_exit(ref_free);
    ref = a;
    ref_n = n;
    return ref;
}

/* Inputs in [0, 1) and weights summing to 1 keep every value in [0, 1);
 * ten steps of float rounding, in any order, stay far below 2^-16. */
#define TOLERANCE 0x1p-16

static bench_status_t check(const float *y, size_t n, const char *impl)
{
    const float *want = reference(n);

    if (!want)
        return BENCH_ERROR;
    for (size_t i = 0; i < n * n; i++) {
        /* Written so that a NaN fails too. */
        if (!(fabs((double)y[i] - (double)want[i]) <= TOLERANCE)) {
            fprintf(stderr, "fronta-bench: kernels/stencil: %s [%zu][%zu] = %.9g, expected %.9g\n",
                    impl, i / n, i % n, (double)y[i], (double)want[i]);
            return BENCH_WRONG;
        }
    }
    return BENCH_OK;
}

/* ---- fronta: ten chained tasks ----------------------------------------- */

/* Step s reads one grid and writes the other (a -> b, b -> a, ...). All
 * ten are submitted before the wait: the buffers' accesses order them,
 * and on an OpenCL device each is enqueued behind the one before, so the
 * grids stay on the device until the final read access brings a back. The
 * clock covers submit, wait and that access (kb_fronta_time); the wraps
 * come before it, the destroys after. */
static bench_status_t stencil_fronta(const bench_env_t *env, size_t n, fronta_need_t need,
                                     const char *impl, double *value)
{
    fronta_kernel_t *k = kb_kernel(env, "stencil5");
    fronta_task_desc_t t[STEPS];
    bench_status_t st = BENCH_ERROR;
    kb_bufs_t bs = {0};
    float *a, *b;

    if (!k || data_new(n, &a, &b))
        return BENCH_ERROR;
    fronta_buffer_t *ba = kb_wrap(env, &bs, a, n * n, FRONTA_FLOAT);
    fronta_buffer_t *bb = ba ? kb_wrap(env, &bs, b, n * n, FRONTA_FLOAT) : NULL;
    if (bb) {
        for (int s = 0; s < STEPS; s++) {
            fronta_buffer_t *x = s % 2 ? bb : ba, *y = s % 2 ? ba : bb;
            t[s] = (fronta_task_desc_t){
                .size = sizeof t[s],
                .kernel = k,
                .args = {FRONTA_IN(x), FRONTA_OUT(y), FRONTA_F32(W_C), FRONTA_F32(W_N)},
                .nargs = 4,
                .rows = n,
                .cols = n,
                .needs.device = need,
                .name = "stencil5 step",
            };
        }
        st = kb_fronta_time(env, t, STEPS, STEPS % 2 ? bb : ba, &value[0]);
    }
    if (kb_unwrap(&bs) != BENCH_OK)
        st = BENCH_ERROR;
    if (st == BENCH_OK)
        st = check(STEPS % 2 ? b : a, n, impl);
    return st;
}

bench_status_t kernels_stencil_fronta_cpu(const bench_env_t *env, size_t n, double *value)
{
    return stencil_fronta(env, n, FRONTA_NEED_CPU_POOL, "fronta_cpu", value);
}

bench_status_t kernels_stencil_fronta_opencl(const bench_env_t *env, size_t n, double *value)
{
    return stencil_fronta(env, n, FRONTA_NEED_OPENCL, "fronta_opencl", value);
}

/* ---- openmp ------------------------------------------------------------ */

/* One parallel region for the ten steps, bands of rows (about KB_CHUNK
 * elements, as fronta's kernel takes them) handed out dynamically per
 * step; the loop's implicit barrier ends each step before the next reads
 * it. */
bench_status_t kernels_stencil_openmp(const bench_env_t *env, size_t n, double *value)
{
    size_t band = n < KB_CHUNK ? KB_CHUNK / n : 1;
    float *a, *b;

    if (data_new(n, &a, &b))
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(env->threads)
    for (int s = 0; s < STEPS; s++) {
        const float *x = s % 2 ? b : a;
        float *y = s % 2 ? a : b;
#pragma omp for schedule(dynamic, band)
        for (size_t i = 0; i < n; i++)
            step_row(x, y, n, i);
    }
    uint64_t t1 = bench_now_ns();

    value[0] = kb_ms(t0, t1);
    return check(STEPS % 2 ? b : a, n, "openmp");
}
