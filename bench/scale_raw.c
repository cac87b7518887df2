/* scale_raw.c — the scale bench's opencl_raw baseline: the same chunks by hand, one buffer and one launch each. */
#include <stdlib.h>

#include "clraw.h"
#include "scale.h"

/* The same kernel as the bundled kernels/scale.cl, written out here: the
 * baseline uses nothing of fronta. */
static const char scale_src[] =
    "__kernel void scale(__global float *x, const float a)\n"
    "{\n"
    "    x[get_global_id(0)] *= a;\n"
    "}\n";

/* Enqueues everything of one run and waits for it; 0 or the first error,
 * with *call naming the failing call. Every buffer made is released. */
static cl_int scale_raw_run(const clraw_t *cl, cl_kernel k, float *x, size_t n,
                            const char **call)
{
    cl_mem m[SCALE_CHUNKS];
    size_t nchunks = scale_nchunks(n), nm = 0, off, len;
    const float a = SCALE_A;
    cl_int err = CL_SUCCESS;

    for (size_t i = 0; i < nchunks && err == CL_SUCCESS; i++) {
        scale_chunk(n, nchunks, i, &off, &len);
        m[nm] = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | clraw_host_flags(cl),
                               len * sizeof(float), x + off, &err);
        if (err != CL_SUCCESS) {
            *call = "clCreateBuffer";
            break;
        }
        nm++;
        /* Arguments are captured at enqueue: one kernel object serves
         * every chunk. */
        if ((err = clSetKernelArg(k, 0, sizeof m[i], &m[i])) != CL_SUCCESS ||
            (err = clSetKernelArg(k, 1, sizeof a, &a)) != CL_SUCCESS) {
            *call = "clSetKernelArg";
            break;
        }
        if ((err = clEnqueueNDRangeKernel(cl->queue, k, 1, NULL, &len, NULL, 0, NULL,
                                          NULL)) != CL_SUCCESS)
            *call = "clEnqueueNDRangeKernel";
    }
    /* Bring each chunk back to the host array: a map of the host pointer
     * on a unified-memory device (it makes host_ptr current), a read
     * otherwise. Only the last is blocking: the queue is in order, so
     * when it returns every chunk is back. */
    for (size_t i = 0; i < nm && err == CL_SUCCESS; i++) {
        cl_bool last = i + 1 == nm ? CL_TRUE : CL_FALSE;
        scale_chunk(n, nchunks, i, &off, &len);
        if (cl->unified) {
            void *p = clEnqueueMapBuffer(cl->queue, m[i], last, CL_MAP_READ, 0,
                                         len * sizeof(float), 0, NULL, NULL, &err);
            if (err == CL_SUCCESS)
                err = clEnqueueUnmapMemObject(cl->queue, m[i], p, 0, NULL, NULL);
            *call = "clEnqueueMapBuffer/Unmap";
        } else {
            err = clEnqueueReadBuffer(cl->queue, m[i], last, 0, len * sizeof(float),
                                      x + off, 0, NULL, NULL);
            *call = "clEnqueueReadBuffer";
        }
    }
    for (size_t i = 0; i < nm; i++)
        clReleaseMemObject(m[i]);
    /* Also after an error: nothing may still use x when the caller frees it. */
    cl_int ferr = clFinish(cl->queue);
    if (err == CL_SUCCESS && ferr != CL_SUCCESS) {
        err = ferr;
        *call = "clFinish";
    }
    return err;
}

bench_status_t scale_chunked_opencl_raw(const bench_env_t *env, size_t n, double *value)
{
    const clraw_t *cl = clraw_get(env);
    cl_kernel k = clraw_kernel(env, scale_src, "scale");
    const char *call = "";
    bench_status_t st;
    cl_int err;
    float *x;

    if (!cl || !k)
        return BENCH_ERROR;
    if (!(x = scale_data_new(n)))
        return BENCH_ERROR;
    uint64_t t0 = bench_now_ns();
    err = scale_raw_run(cl, k, x, n, &call);
    uint64_t t1 = bench_now_ns();

    *value = (double)(t1 - t0) / (double)n;
    st = err != CL_SUCCESS ? clraw_error(call, err) : scale_data_check(x, n);
    free(x);
    return st;
}
