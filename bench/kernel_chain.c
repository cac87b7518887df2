/* kernel_chain.c — the kernel_chain bench's case, its data and check, and fronta's implementation. */
#include <stdlib.h>

#include "kernel_chain.h"

const bench_case_t kernel_chain_opencl = {
    .bench = "kernel_chain", .name = "opencl",
    .metric = "ms", .unit = "ms",
    .size = (size_t)1 << 24, .quick_size = (size_t)1 << 16,
    .reference = "opencl_raw",
};

static float input_x(size_t i)
{
    return (float)(i % 16);
}

static float input_y(size_t i)
{
    return (float)(i % 7 + 1);
}

static float *aligned_floats(size_t n)
{
    void *p = NULL;

    return posix_memalign(&p, 4096, n * sizeof(float)) == 0 ? p : NULL;
}

int chain_data_new(size_t n, float **x, float **y)
{
    *x = aligned_floats(n);
    *y = aligned_floats(n);
    if (!*x || !*y) {
        free(*x);
        free(*y);
        fprintf(stderr, "fronta-bench: out of memory for 2 x %zu floats\n", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        (*x)[i] = input_x(i);
        (*y)[i] = input_y(i);
    }
    return 0;
}

bench_status_t chain_data_check(const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float want = input_y(i) + (float)CHAIN_LINKS * CHAIN_A * input_x(i);
        if (y[i] != want) {
            fprintf(stderr, "fronta-bench: kernel_chain: y[%zu] = %g, expected %g\n", i,
                    (double)y[i], (double)want);
            return BENCH_WRONG;
        }
    }
    return BENCH_OK;
}

/* Host wake-ups over every OpenCL device: the chain may be placed on any
 * of them, and only its own run moves the counters meanwhile. */
static uint64_t host_wakeups(fronta_runtime_t *rt)
{
    uint64_t sum = 0;

    for (int id = 1; id < fronta_device_count(rt); id++) {
        fronta_device_stats_t s = {.size = sizeof s};

        if (fronta_device_stats(rt, id, &s) == 0)
            sum += s.host_wakeups;
    }
    return sum;
}

/* Wrap x and y, submit the links (y's INOUT accesses order them), wait
 * for the last, and acquire y for reading so the host array holds the
 * result. Buffers are made and destroyed inside the clock, as the raw
 * baseline creates and releases its cl_mem objects. value[1] gets the
 * host wake-ups of this chain. */
bench_status_t kernel_chain_opencl_fronta(const bench_env_t *env, size_t n, double *value)
{
    fronta_kernel_t *k = fronta_kernel_builtin(env->rt, "saxpy");
    fronta_buffer_t *bx = NULL, *by = NULL;
    fronta_future_t *f[CHAIN_LINKS] = {0};
    const char *failed = NULL;
    bench_status_t st = BENCH_OK;
    size_t nf = 0;
    float *x, *y;
    int rc;

    if (!k) {
        fprintf(stderr, "fronta-bench: fronta_kernel_builtin(\"saxpy\") returned NULL\n");
        return BENCH_ERROR;
    }
    if (chain_data_new(n, &x, &y))
        return BENCH_ERROR;
    uint64_t w0 = host_wakeups(env->rt);
    uint64_t t0 = bench_now_ns();
    if ((rc = fronta_buffer_wrap(env->rt, x, n, FRONTA_FLOAT, &bx)) != 0 ||
        (rc = fronta_buffer_wrap(env->rt, y, n, FRONTA_FLOAT, &by)) != 0)
        failed = "fronta_buffer_wrap";
    for (size_t i = 0; i < CHAIN_LINKS && rc == 0; i++) {
        fronta_task_desc_t t = {
            .size = sizeof t,
            .kernel = k,
            .args = {FRONTA_IN(bx), FRONTA_INOUT(by), FRONTA_F32(CHAIN_A)},
            .nargs = 3,
            .needs.device = FRONTA_NEED_OPENCL,
            .name = "saxpy link",
        };
        if ((rc = fronta_submit(env->rt, &t, &f[nf])) != 0)
            failed = "fronta_submit";
        else
            nf++;
    }
    if (rc == 0 && (rc = fronta_future_wait(f[nf - 1], BENCH_WAIT_S)) != 0)
        failed = "fronta_future_wait";
    /* The chain's own wake-ups: from the first submit to the last link's
     * completion, not the read-back and destroys after it. */
    uint64_t w1 = host_wakeups(env->rt);
    if (rc == 0 && (rc = fronta_buffer_acquire(by, FRONTA_ACCESS_IN, BENCH_WAIT_S, NULL)) == 0)
        rc = fronta_buffer_release(by);
    if (rc != 0 && !failed)
        failed = "fronta_buffer_acquire/release";
    /* Destroy waits for the tasks on the buffer, so x and y may be freed
     * afterwards, even after a failure. */
    int drc = fronta_buffer_destroy(bx);
    if (drc == 0)
        drc = fronta_buffer_destroy(by);
    else
        (void)fronta_buffer_destroy(by);
    if (rc == 0 && drc != 0) {
        rc = drc;
        failed = "fronta_buffer_destroy";
    }
    uint64_t t1 = bench_now_ns();

    value[0] = (double)(t1 - t0) / 1e6;
    value[1] = (double)(w1 - w0);
    if (rc)
        st = bench_api_error(failed, rc);
    if (bench_futures_check(f, nf, "kernel_chain link") != BENCH_OK)
        st = BENCH_ERROR;
    if (st == BENCH_OK)
        st = chain_data_check(y, n);
    free(x);
    free(y);
    return st;
}
