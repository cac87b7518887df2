/* placement_kernels.c — the placement bench's two kernel kinds (CPU and OpenCL implementations each) and their serial reference. */
#include <math.h>
#include <string.h>

#include "placement.h"

/* ---- kind A, "poly": arithmetic that vectorises across work items -----
 *
 * x = (a + b) / 2, then PL_POLY_ITERS rounds of v = x/2 + 0.4 v - 0.2 v^2:
 * multiplies and adds only, a fixed trip count. PoCL's kernel compiler
 * unrolls the loop (#pragma unroll) and runs the work items of a
 * work-group as the lanes of AVX2 vectors; gcc (-O3, the project's flags)
 * does not vectorise the outer loop of the C version, which is the loop
 * anyone would write. Every operation is one IEEE rounding on both sides
 * (no contraction: ISO C11 mode, and FP_CONTRACT OFF in the OpenCL
 * source), so the result is the same bits on either device. v stays in
 * [0, 1) for inputs in [0, 2): |dv'/dv| = |0.4 - 0.4 v| < 1. */

static inline float poly_one(float a, float b)
{
    float x = 0.5f * (a + b), v = x;

    for (int k = 0; k < PL_POLY_ITERS; k++)
        v = 0.5f * x + 0.4f * v - 0.2f * v * v;
    return v;
}

void pl_poly_serial(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = poly_one(a[i], b[i]);
}

/* ---- kind B, "trig": transcendentals ----------------------------------
 *
 * PL_TRIG_ITERS rounds of v = a/2 + 0.3 sin(v) + 0.2 cos(1.3 v) from v = a.
 * glibc's sinf and cosf are fast scalar code; PoCL 3.1's sin and cos are
 * several times slower per call here, vectorised or not (docs/benchmarks.md
 * has the figures). The devices' sin and cos differ in the last bit, so
 * the check has a tolerance; |dv'/dv| <= 0.3 + 0.26 < 1, so those
 * differences do not grow along the DAG. */

static inline float trig_one(float a)
{
    float v = a;

    for (int k = 0; k < PL_TRIG_ITERS; k++)
        v = 0.5f * a + 0.3f * sinf(v) + 0.2f * cosf(1.3f * v);
    return v;
}

void pl_trig_serial(const float *a, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = trig_one(a[i]);
}

/* ---- CPU implementations: the serial loops, chunks over the pool ------ */

/* Elements per fronta_ctx_parallel chunk: a few tens of microseconds of
 * work, so a task spreads over both pool threads, as one OpenCL kernel
 * spreads over all of PoCL's: each device then runs one task at a time
 * with all its cores, and the two are compared like for like. */
#define PL_CHUNK 1024

typedef struct pl_job {
    const fronta_karg_t *args;
    size_t n;
} pl_job;

static void poly_chunk(void *ud, size_t c)
{
    const pl_job *j = ud;
    size_t lo = c * PL_CHUNK, hi = lo + PL_CHUNK < j->n ? lo + PL_CHUNK : j->n;

    pl_poly_serial((const float *)j->args[0].ptr + lo, (const float *)j->args[1].ptr + lo,
                   (float *)j->args[2].ptr + lo, hi - lo);
}

static void trig_chunk(void *ud, size_t c)
{
    const pl_job *j = ud;
    size_t lo = c * PL_CHUNK, hi = lo + PL_CHUNK < j->n ? lo + PL_CHUNK : j->n;

    pl_trig_serial((const float *)j->args[0].ptr + lo, (float *)j->args[1].ptr + lo, hi - lo);
}

static int poly_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    pl_job j = {args, n};

    (void)nargs;
    return n ? fronta_ctx_parallel(ctx, (n - 1) / PL_CHUNK + 1, poly_chunk, &j) : 0;
}

static int trig_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    pl_job j = {args, n};

    (void)nargs;
    return n ? fronta_ctx_parallel(ctx, (n - 1) / PL_CHUNK + 1, trig_chunk, &j) : 0;
}

/* ---- OpenCL implementations: the same per-element code ---------------- */

/* FP_CONTRACT OFF: the C side (ISO C11, -ffp-contract=off) rounds every
 * product and sum; so does this, and kind A is then bit-equal. */
static const char pl_cl_source[] =
    "#pragma OPENCL FP_CONTRACT OFF\n"
    "__kernel void pl_poly(__global const float *a, __global const float *b,\n"
    "                      __global float *y)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    float x = 0.5f * (a[i] + b[i]), v = x;\n"
    "    #pragma unroll\n"
    "    for (int k = 0; k < " PL_STR(PL_POLY_ITERS) "; k++)\n"
    "        v = 0.5f * x + 0.4f * v - 0.2f * v * v;\n"
    "    y[i] = v;\n"
    "}\n"
    "__kernel void pl_trig(__global const float *a, __global float *y)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    float x = a[i], v = x;\n"
    "    for (int k = 0; k < " PL_STR(PL_TRIG_ITERS) "; k++)\n"
    "        v = 0.5f * x + 0.3f * sin(v) + 0.2f * cos(1.3f * v);\n"
    "    y[i] = v;\n"
    "}\n";

static const fronta_param_t poly_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_OUT},
};

static const fronta_param_t trig_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_OUT},
};

/* The kernel under name in rt: created on the first call, found after. */
static fronta_kernel_t *kernel_get(fronta_runtime_t *rt, const fronta_kernel_desc_t *d)
{
    fronta_kernel_t *k = NULL;
    int rc;

    if (fronta_kernel_find(rt, d->name, &k) == 0)
        return k;
    if ((rc = fronta_kernel_create(rt, d, &k)) != 0) {
        bench_api_error("fronta_kernel_create", rc);
        return NULL;
    }
    return k;
}

int pl_kernels_get(fronta_runtime_t *rt, fronta_kernel_t *k[PL_KINDS])
{
    const fronta_kernel_desc_t d[PL_KINDS] = {
        {.size = sizeof d[0], .name = "bench.pl_poly", .params = poly_params,
         .nparams = sizeof poly_params / sizeof poly_params[0], .cpu = poly_cpu,
         .cl_source = pl_cl_source, .cl_entry = "pl_poly"},
        {.size = sizeof d[0], .name = "bench.pl_trig", .params = trig_params,
         .nparams = sizeof trig_params / sizeof trig_params[0], .cpu = trig_cpu,
         .cl_source = pl_cl_source, .cl_entry = "pl_trig"},
    };

    for (int i = 0; i < PL_KINDS; i++)
        if (!(k[i] = kernel_get(rt, &d[i])))
            return -1;
    return 0;
}
