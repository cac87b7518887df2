/* coexec.c — the coexec bench: one map over a partitioned array on the pool alone, on the OpenCL device alone, and spread over both by measured throughput. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coexec.h"

/* Ratios to fronta_cpu; the target (docs/benchmarks.md) is fronta_auto
 * within 1/0.95 of the better of fronta_cpu and fronta_opencl. */
const bench_case_t coexec_map = {
    .bench = "coexec", .name = "map",
    .metric = "ns_per_element", .unit = "ns",
    .size = (size_t)1 << 26, .quick_size = (size_t)1 << 18,
    .reference = "fronta_cpu",
    .note = "no hand-written baseline; ratio is to fronta_cpu (target: fronta_auto "
            "<= 1/0.95 of the better single device)",
};

/* y = p(x), a degree-CX_DEGREE polynomial by Horner's rule: 2 flops an
 * element a step, enough that neither device is only waiting for memory.
 * Both implementations round each step (the OpenCL one may contract into
 * fma: results are checked with a tolerance). */
#define CX_DEGREE 12

#define CX_STR_(x) #x
#define CX_STR(x) CX_STR_(x)

static const char cx_cl[] =
    "__kernel void bench_cx_poly(__global const float *x, __global float *y)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    float v = x[i], r = 0.5f;\n"
    "    for (int k = 0; k < " CX_STR(CX_DEGREE) "; k++)\n"
    "        r = r * v + 0.25f;\n"
    "    y[i] = r;\n"
    "}\n";

static float cx_ref(float v)
{
    float r = 0.5f;
    for (int k = 0; k < CX_DEGREE; k++)
        r = r * v + 0.25f;
    return r;
}

typedef struct cx_part {
    const float *x;
    float *y;
    size_t n;
} cx_part;

static void cx_body(void *ud, size_t i)
{
    const cx_part *p = ud;
    size_t lo = i * 65536, hi = lo + 65536 < p->n ? lo + 65536 : p->n;
    for (size_t j = lo; j < hi; j++)
        p->y[j] = cx_ref(p->x[j]);
}

static int cx_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)na;
    cx_part p = {a[0].ptr, a[1].ptr, n};
    return fronta_ctx_parallel(ctx, (n + 65535) / 65536, cx_body, &p);
}

static fronta_kernel_t *cx_kernel(fronta_runtime_t *rt)
{
    fronta_kernel_t *k;
    if (fronta_kernel_find(rt, "bench.cx_poly", &k) == 0)
        return k;
    static const fronta_param_t prm[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_OUT},
    };
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "bench.cx_poly", .params = prm,
                              .nparams = 2, .cpu = cx_cpu, .cl_source = cx_cl,
                              .cl_entry = "bench_cx_poly"};
    int rc = fronta_kernel_create(rt, &d, &k);
    if (rc == FRONTA_EBUSY)
        rc = fronta_kernel_find(rt, "bench.cx_poly", &k);
    if (rc) {
        bench_api_error("fronta_kernel_create(bench.cx_poly)", rc);
        return NULL;
    }
    return k;
}

static bench_status_t cx_check(const float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float want = cx_ref(x[i]);
        if (!(fabsf(y[i] - want) <= 1e-5f * (1.0f + fabsf(want)))) {
            fprintf(stderr, "fronta-bench: coexec: y[%zu] = %.9g, expected %.9g\n", i,
                    (double)y[i], (double)want);
            return BENCH_WRONG;
        }
    }
    return BENCH_OK;
}

/* Inputs in [0, 1): Horner's values stay near 0.33. */
static float *cx_input(size_t n)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (float)(i % 4093) * (1.0f / 4096.0f);
    return x;
}

/* One map of the polynomial over x and y partitioned automatically (the
 * guided chunking), on the devices `need` admits. The clock covers the
 * map, from submit to the last chunk's result on the host (y acquired). */
static bench_status_t cx_run(const bench_env_t *env, size_t n, fronta_need_t need,
                             double *value)
{
    fronta_runtime_t *rt = env->rt;
    fronta_kernel_t *k = cx_kernel(rt);
    float *x = cx_input(n), *y = calloc(n, sizeof *y);
    fronta_buffer_t *bx = NULL, *by = NULL;
    fronta_future_t *m = NULL;
    bench_status_t st = BENCH_OK;
    int rc = !k || !x || !y ? FRONTA_ENOMEM : 0;
    const char *failed = "setup";
    if (!rc && !(rc = fronta_buffer_wrap(rt, x, n, FRONTA_FLOAT, &bx)))
        rc = fronta_buffer_wrap(rt, y, n, FRONTA_FLOAT, &by);
    if (!rc && !(rc = fronta_buffer_partition(bx, NULL)))
        rc = fronta_buffer_partition(by, NULL);
    uint64_t t0 = bench_now_ns();
    if (!rc) {
        fronta_task_desc_t t = {.size = sizeof t, .kernel = k,
                                .args = {FRONTA_IN(bx), FRONTA_OUT(by)},
                                .needs.device = need, .name = "coexec chunk"};
        failed = "fronta_submit_map";
        if (!(rc = fronta_submit_map(rt, &t, &m, NULL))) {
            failed = "the map";
            if (fronta_future_wait(m, BENCH_WAIT_S) || (rc = fronta_future_error(m, NULL)))
                rc = rc ? rc : FRONTA_ETIMEDOUT;
        }
    }
    if (!rc && !(rc = fronta_buffer_unpartition(by))) {
        failed = "fronta_buffer_acquire";
        if (!(rc = fronta_buffer_acquire(by, FRONTA_ACCESS_IN, BENCH_WAIT_S, NULL)))
            fronta_buffer_release(by);
    }
    uint64_t t1 = bench_now_ns();
    *value = (double)(t1 - t0) / (double)n;
    if (rc)
        st = bench_api_error(failed, rc);
    fronta_future_release(m);
    if (bx && fronta_buffer_destroy(bx) && st == BENCH_OK)
        st = BENCH_ERROR;
    if (by && fronta_buffer_destroy(by) && st == BENCH_OK)
        st = BENCH_ERROR;
    if (st == BENCH_OK)
        st = cx_check(x, y, n);
    free(x);
    free(y);
    return st;
}

bench_status_t coexec_map_fronta_cpu(const bench_env_t *env, size_t n, double *value)
{
    return cx_run(env, n, FRONTA_NEED_CPU_POOL, value);
}

bench_status_t coexec_map_fronta_opencl(const bench_env_t *env, size_t n, double *value)
{
    return cx_run(env, n, FRONTA_NEED_OPENCL, value);
}

bench_status_t coexec_map_fronta_auto(const bench_env_t *env, size_t n, double *value)
{
    return cx_run(env, n, FRONTA_NEED_ANY, value);
}
