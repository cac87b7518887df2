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
    /* fronta_partition_t's nchunks rule, so that every implementation
     * scales the same slices: lengths differ by at most one, the first
     * n % nchunks one longer. With n a multiple of 64 * 1024 (the default
     * sizes) every chunk starts on a page, which zero-copy OpenCL paths
     * want. */
    size_t q = n / nchunks, r = n % nchunks;

    *off = i * q + (i < r ? i : r);
    *len = q + (i < r);
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

/* One buffer over the host array, partitioned with the runtime's own
 * choice of chunks (fronta_buffer_partition(b, NULL), docs/arrays.md:
 * about four per worker, none under 256 KiB), one map of the "scale"
 * kernel over them on the devices `need` admits, and the buffer
 * destroyed, which unpartitions it, waits for the map and leaves the
 * result in the host array. The clock covers all of it: from input in
 * the host array to results in the host array. The baselines keep their
 * 64 slices: a parallel for over them is what a user writes, whatever
 * the count. 64 tasks, one per slice, is what this row had to submit
 * before fronta could partition; at 2^16 their cost shows
 * (docs/benchmarks.md has both figures). */
static bench_status_t scale_fronta(const bench_env_t *env, size_t n, fronta_need_t need,
                                   double *value)
{
    fronta_kernel_t *k = fronta_kernel_builtin(env->rt, "scale");
    fronta_buffer_t *b = NULL;
    fronta_future_t *f = NULL;
    bench_status_t st = BENCH_OK;
    const char *failed = NULL;
    int rc, drc;
    float *x;

    if (!k) {
        fprintf(stderr, "fronta-bench: fronta_kernel_builtin(\"scale\") returned NULL\n");
        return BENCH_ERROR;
    }
    if (!(x = scale_data_new(n)))
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
    if ((rc = fronta_buffer_wrap(env->rt, x, n, FRONTA_FLOAT, &b)) != 0) {
        failed = "fronta_buffer_wrap";
    } else if ((rc = fronta_buffer_partition(b, NULL)) != 0) {
        failed = "fronta_buffer_partition";
    } else {
        fronta_task_desc_t t = {
            .size = sizeof t,
            .kernel = k,
            .args = {FRONTA_INOUT(b), FRONTA_F32(SCALE_A)},
            .nargs = 2,
            .needs.device = need,
            .name = "scale chunk",
        };
        if ((rc = fronta_submit_map(env->rt, &t, &f, NULL)) != 0)
            failed = "fronta_submit_map";
    }
    /* Destroy even after a failure: it waits for the map, so the host
     * array may be freed afterwards. */
    if ((drc = fronta_buffer_destroy(b)) != 0 && rc == 0) {
        rc = drc;
        failed = "fronta_buffer_destroy";
    }
    uint64_t t1 = bench_now_ns();

    *value = (double)(t1 - t0) / (double)n;
    if (rc)
        st = bench_api_error(failed, rc);
    if (f && bench_futures_check(&f, 1, "scale map") != BENCH_OK)
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
