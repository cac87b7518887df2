/* scale.c — the scale bench's case, its data and check, and the fronta and openmp implementations. */
#include <stdlib.h>
#include <string.h>

#include "scale.h"

/* The target is fronta_opencl within 5% of opencl_raw: that row's ratio
 * is taken against opencl_raw (registry.c), the others' against openmp. */
const bench_case_t scale_chunked = {
    .bench = "scale", .name = "chunked",
    .metric = "ns_per_element", .unit = "ns",
    .size = (size_t)1 << 26, .quick_size = (size_t)1 << 16,
    .reference = "openmp",
};

size_t scale_nchunks(size_t n)
{
    return n < SCALE_CHUNKS ? n : SCALE_CHUNKS;
}

void scale_chunk(size_t n, size_t nchunks, size_t i, size_t *off, size_t *len)
{
    /* Boundaries at i * n / nchunks: sizes differ by at most one, and with
     * n a multiple of 64 * 1024 (the default sizes) every chunk starts on a
     * page, which zero-copy OpenCL paths want. */
    *off = i * n / nchunks;
    *len = (i + 1) * n / nchunks - *off;
}

/* Small positive integers: times SCALE_A they stay exact, and none is 0,
 * so a chunk left unscaled shows. */
static float input(size_t i)
{
    return (float)(i % 1000 + 1);
}

float *scale_data_new(size_t n)
{
    void *p = NULL;
    float *x;

    if (posix_memalign(&p, 4096, n * sizeof(float)) != 0) {
        fprintf(stderr, "fronta-bench: out of memory for %zu floats\n", n);
        return NULL;
    }
    x = p;
    for (size_t i = 0; i < n; i++)
        x[i] = input(i);
    return x;
}

bench_status_t scale_data_check(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (x[i] != input(i) * SCALE_A) {
            fprintf(stderr, "fronta-bench: scale: x[%zu] = %g, expected %g\n", i,
                    (double)x[i], (double)(input(i) * SCALE_A));
            return BENCH_WRONG;
        }
    }
    return BENCH_OK;
}

/* One buffer per chunk over a slice of the host array, one "scale" task
 * per chunk on the devices `need` admits, then each buffer destroyed,
 * which leaves its last contents in the host slice. The clock covers all
 * of it: from input in the host array to results in the host array. */
static bench_status_t scale_fronta(const bench_env_t *env, size_t n, fronta_need_t need,
                                   double *value)
{
    fronta_kernel_t *k = fronta_kernel_builtin(env->rt, "scale");
    fronta_buffer_t *b[SCALE_CHUNKS] = {0};
    fronta_future_t *f[SCALE_CHUNKS] = {0};
    size_t nchunks = scale_nchunks(n), nb = 0, nf = 0;
    bench_status_t st = BENCH_OK;
    const char *failed = NULL;
    int rc = 0;
    float *x;

    if (!k) {
        fprintf(stderr, "fronta-bench: fronta_kernel_builtin(\"scale\") returned NULL\n");
        return BENCH_ERROR;
    }
    if (!(x = scale_data_new(n)))
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < nchunks && rc == 0; i++) {
        size_t off, len;

        scale_chunk(n, nchunks, i, &off, &len);
        if ((rc = fronta_buffer_wrap(env->rt, x + off, len, FRONTA_FLOAT, &b[nb])) != 0) {
            failed = "fronta_buffer_wrap";
            break;
        }
        nb++;
        fronta_task_desc_t t = {
            .size = sizeof t,
            .kernel = k,
            .args = {FRONTA_INOUT(b[i]), FRONTA_F32(SCALE_A)},
            .nargs = 2,
            .needs.device = need,
            .name = "scale chunk",
        };
        if ((rc = fronta_submit(env->rt, &t, &f[nf])) != 0)
            failed = "fronta_submit";
        else
            nf++;
    }
    /* Destroy even after a failure: it waits for the chunk's task, so the
     * host array may be freed afterwards. */
    for (size_t i = 0; i < nb; i++) {
        int drc = fronta_buffer_destroy(b[i]);
        if (drc != 0 && rc == 0) {
            rc = drc;
            failed = "fronta_buffer_destroy";
        }
    }
    uint64_t t1 = bench_now_ns();

    *value = (double)(t1 - t0) / (double)n;
    if (rc)
        st = bench_api_error(failed, rc);
    if (bench_futures_check(f, nf, "scale chunk") != BENCH_OK)
        st = BENCH_ERROR;
    if (st == BENCH_OK)
        st = scale_data_check(x, n);
    free(x);
    return st;
}

bench_status_t scale_chunked_fronta_cpu(const bench_env_t *env, size_t n, double *value)
{
    return scale_fronta(env, n, FRONTA_NEED_CPU_POOL, value);
}

bench_status_t scale_chunked_fronta_opencl(const bench_env_t *env, size_t n, double *value)
{
    return scale_fronta(env, n, FRONTA_NEED_OPENCL, value);
}

/* The same chunks as fronta's tasks, one loop iteration each, with as
 * many threads as fronta's pool (the num_threads clause, not the
 * process-wide ICV, which fronta's pool shares). */
bench_status_t scale_chunked_openmp(const bench_env_t *env, size_t n, double *value)
{
    size_t nchunks = scale_nchunks(n);
    bench_status_t st;
    float *x;

    if (!(x = scale_data_new(n)))
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
#pragma omp parallel for num_threads(env->threads)
    for (size_t i = 0; i < nchunks; i++) {
        size_t off, len;

        scale_chunk(n, nchunks, i, &off, &len);
        for (size_t j = off; j < off + len; j++)
            x[j] *= SCALE_A;
    }
    uint64_t t1 = bench_now_ns();

    *value = (double)(t1 - t0) / (double)n;
    st = scale_data_check(x, n);
    free(x);
    return st;
}
