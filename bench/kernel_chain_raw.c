/* kernel_chain_raw.c — the kernel_chain bench's opencl_raw baseline: one in-order queue, one wait. */
#include <stdlib.h>

#include "clraw.h"
#include "kernel_chain.h"

/* The same kernel as the bundled kernels/saxpy.cl, written out here: the
 * baseline uses nothing of fronta. */
static const char saxpy_src[] =
    "__kernel void saxpy(__global const float *x, __global float *y, const float a)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    y[i] = a * x[i] + y[i];\n"
    "}\n";

/* Buffers over the host arrays, the links enqueued back to back (the
 * in-order queue orders them, no event, no host wait between them), then
 * y brought back: a blocking map of the host pointer on a unified-memory
 * device, a blocking read otherwise. That is the one host wait; the final
 * clFinish only retires the unmap. */
static cl_int chain_raw_run(const clraw_t *cl, cl_kernel k, float *x, float *y, size_t n,
                            const char **call)
{
    cl_mem mx = NULL, my = NULL;
    const float a = CHAIN_A;
    cl_int err;

    *call = "clCreateBuffer";
    mx = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | clraw_host_flags(cl), n * sizeof(float),
                        x, &err);
    if (err == CL_SUCCESS)
        my = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | clraw_host_flags(cl),
                            n * sizeof(float), y, &err);
    if (err == CL_SUCCESS) {
        *call = "clSetKernelArg";
        if ((err = clSetKernelArg(k, 0, sizeof mx, &mx)) == CL_SUCCESS &&
            (err = clSetKernelArg(k, 1, sizeof my, &my)) == CL_SUCCESS)
            err = clSetKernelArg(k, 2, sizeof a, &a);
    }
    for (int i = 0; i < CHAIN_LINKS && err == CL_SUCCESS; i++) {
        *call = "clEnqueueNDRangeKernel";
        err = clEnqueueNDRangeKernel(cl->queue, k, 1, NULL, &n, NULL, 0, NULL, NULL);
    }
    if (err == CL_SUCCESS && cl->unified) {
        *call = "clEnqueueMapBuffer/Unmap";
        void *p = clEnqueueMapBuffer(cl->queue, my, CL_TRUE, CL_MAP_READ, 0,
                                     n * sizeof(float), 0, NULL, NULL, &err);
        if (err == CL_SUCCESS)
            err = clEnqueueUnmapMemObject(cl->queue, my, p, 0, NULL, NULL);
    } else if (err == CL_SUCCESS) {
        *call = "clEnqueueReadBuffer";
        err = clEnqueueReadBuffer(cl->queue, my, CL_TRUE, 0, n * sizeof(float), y, 0, NULL,
                                  NULL);
    }
    if (mx)
        clReleaseMemObject(mx);
    if (my)
        clReleaseMemObject(my);
    /* Also after an error: nothing may still use x or y when the caller
     * frees them. */
    cl_int ferr = clFinish(cl->queue);
    if (err == CL_SUCCESS && ferr != CL_SUCCESS) {
        err = ferr;
        *call = "clFinish";
    }
    return err;
}

bench_status_t kernel_chain_opencl_raw(const bench_env_t *env, size_t n, double *value)
{
    const clraw_t *cl = clraw_get(env);
    cl_kernel k = clraw_kernel(env, saxpy_src, "saxpy");
    const char *call = "";
    bench_status_t st;
    cl_int err;
    float *x, *y;

    if (!cl || !k)
        return BENCH_ERROR;
    if (chain_data_new(n, &x, &y))
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
    err = chain_raw_run(cl, k, x, y, n, &call);
    uint64_t t1 = bench_now_ns();

    value[0] = (double)(t1 - t0) / 1e6;
    st = err != CL_SUCCESS ? clraw_error(call, err) : chain_data_check(y, n);
    free(x);
    free(y);
    return st;
}
