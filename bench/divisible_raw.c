/* divisible_raw.c — the divisible bench's opencl_raw baseline: one fused mask kernel, then a count, a host scan and a scatter per block, by hand. */
#include <stdlib.h>

#include "clraw.h"
#include "divisible.h"

/* Elements per work item of the count and scatter kernels: each walks
 * one block of the mask (16 bytes at a time for the count); enough work
 * items at 2^26 (16384) to fill any device, few enough that the host's
 * scan of their counts is nothing. */
#define DV_RAW_BLK 4096
#define DV_XSTR(x) #x
#define DV_STR(x) DV_XSTR(x)

/* dv_mask is the fused kernel of divisible_fronta.c, written out here:
 * the baseline uses nothing of fronta. */
static const char dv_src[] =
    "#define BLK " DV_STR(DV_RAW_BLK) "\n"
    "__kernel void dv_mask(__global const long *x, __global uchar *m)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    long v = x[i];\n"
    "    m[i] = (v % 3 == 0) & (v % 5 == 0) & (v % 7 == 0);\n"
    "}\n"
    "__kernel void dv_count(__global const uchar *m, __global uint *cnt, const ulong n)\n"
    "{\n"
    "    size_t g = get_global_id(0), lo = g * BLK, hi = min(lo + BLK, (size_t)n);\n"
    "    uint16 acc = 0;\n"
    "    size_t i = lo;\n"
    "    for (; i + 16 <= hi; i += 16)\n"
    "        acc += convert_uint16(vload16(0, m + i));\n"
    "    uint c = acc.s0 + acc.s1 + acc.s2 + acc.s3 + acc.s4 + acc.s5 + acc.s6 + acc.s7 +\n"
    "             acc.s8 + acc.s9 + acc.sa + acc.sb + acc.sc + acc.sd + acc.se + acc.sf;\n"
    "    for (; i < hi; i++)\n"
    "        c += m[i];\n"
    "    cnt[g] = c;\n"
    "}\n"
    "__kernel void dv_scatter(__global const long *x, __global const uchar *m,\n"
    "                         __global const ulong *off, __global long *out, const ulong n)\n"
    "{\n"
    "    size_t g = get_global_id(0), lo = g * BLK, hi = min(lo + BLK, (size_t)n);\n"
    "    size_t o = off[g];\n"
    "    for (size_t i = lo; i < hi; i++)\n"
    "        if (m[i])\n"
    "            out[o++] = x[i];\n"
    "}\n";

/* Where the raw run keeps its OpenCL objects, all released at the end. */
typedef struct raw_run {
    const clraw_t *cl;
    cl_kernel kmask, kcount, kscatter;
    cl_mem x, m, cnt, off, out;
    const char *call;
    cl_int err;
} raw_run_t;

static int raw_ok(raw_run_t *r, cl_int err, const char *call)
{
    if (err != CL_SUCCESS && r->err == CL_SUCCESS) {
        r->err = err;
        r->call = call;
    }
    return r->err == CL_SUCCESS;
}

/* A buffer over host array p on a unified-memory device (the baseline
 * then reads and writes the arrays in place, as fronta's zero-copy path
 * does); elsewhere, x is copied in and the others are device memory. */
static cl_mem raw_buffer(raw_run_t *r, size_t bytes, void *p, int input)
{
    cl_mem_flags f = CL_MEM_READ_WRITE;
    cl_int err = CL_SUCCESS;
    cl_mem m;

    if (r->err != CL_SUCCESS)
        return NULL;
    if (p && (r->cl->unified || input))
        f |= clraw_host_flags(r->cl);
    else
        p = NULL;
    m = clCreateBuffer(r->cl->ctx, f, bytes, p, &err);
    raw_ok(r, err, "clCreateBuffer");
    return err == CL_SUCCESS ? m : NULL;
}

static void raw_launch(raw_run_t *r, cl_kernel k, size_t global)
{
    if (r->err == CL_SUCCESS)
        raw_ok(r, clEnqueueNDRangeKernel(r->cl->queue, k, 1, NULL, &global, NULL, 0, NULL,
                                         NULL),
               "clEnqueueNDRangeKernel");
}

/* Buffers mems[0 .. nargs) as k's first arguments, then n when it takes
 * one (with_n). Arguments are captured at enqueue. */
static void raw_args(raw_run_t *r, cl_kernel k, int nargs, const cl_mem *mems, int with_n,
                     cl_ulong n)
{
    for (int i = 0; i < nargs && r->err == CL_SUCCESS; i++)
        raw_ok(r, clSetKernelArg(k, (cl_uint)i, sizeof mems[i], &mems[i]), "clSetKernelArg");
    if (r->err == CL_SUCCESS && with_n)
        raw_ok(r, clSetKernelArg(k, (cl_uint)nargs, sizeof n, &n), "clSetKernelArg");
}

/* The kept elements, out[0 .. kept), back in the host array: a map on a
 * unified device (it makes the host array current), a read otherwise. */
static void raw_read_out(raw_run_t *r, int64_t *host, size_t kept)
{
    cl_int err = CL_SUCCESS;

    if (r->err != CL_SUCCESS || kept == 0)
        return;
    if (r->cl->unified) {
        void *p = clEnqueueMapBuffer(r->cl->queue, r->out, CL_TRUE, CL_MAP_READ, 0,
                                     kept * sizeof(int64_t), 0, NULL, NULL, &err);
        if (raw_ok(r, err, "clEnqueueMapBuffer"))
            raw_ok(r, clEnqueueUnmapMemObject(r->cl->queue, r->out, p, 0, NULL, NULL),
                   "clEnqueueUnmapMemObject");
    } else {
        raw_ok(r, clEnqueueReadBuffer(r->cl->queue, r->out, CL_TRUE, 0,
                                      kept * sizeof(int64_t), host, 0, NULL, NULL),
               "clEnqueueReadBuffer");
    }
}

/* Mask, count per block, then (on the host) the blocks' offsets from the
 * counts, and the scatter. *kept: the total. */
static void raw_pipeline(raw_run_t *r, dv_data_t *d, cl_uint *cnt, cl_ulong *off,
                         size_t nb, size_t *kept)
{
    size_t n = d->n;

    r->x = raw_buffer(r, n * sizeof(int64_t), d->x, 1);
    r->m = raw_buffer(r, n, d->mask[0], 0);
    r->out = raw_buffer(r, n * sizeof(int64_t), d->out, 0);
    r->cnt = raw_buffer(r, nb * sizeof *cnt, NULL, 0);
    r->off = raw_buffer(r, nb * sizeof *off, NULL, 0);
    raw_args(r, r->kmask, 2, (cl_mem[]){r->x, r->m}, 0, 0);
    raw_launch(r, r->kmask, n);
    raw_args(r, r->kcount, 2, (cl_mem[]){r->m, r->cnt}, 1, n);
    raw_launch(r, r->kcount, nb);
    if (r->err == CL_SUCCESS)
        raw_ok(r, clEnqueueReadBuffer(r->cl->queue, r->cnt, CL_TRUE, 0, nb * sizeof *cnt, cnt,
                                      0, NULL, NULL),
               "clEnqueueReadBuffer");
    *kept = 0;
    for (size_t b = 0; r->err == CL_SUCCESS && b < nb; b++) {
        off[b] = *kept;
        *kept += cnt[b];
    }
    if (r->err == CL_SUCCESS)
        raw_ok(r, clEnqueueWriteBuffer(r->cl->queue, r->off, CL_FALSE, 0, nb * sizeof *off,
                                       off, 0, NULL, NULL),
               "clEnqueueWriteBuffer");
    raw_args(r, r->kscatter, 4, (cl_mem[]){r->x, r->m, r->off, r->out}, 1, n);
    raw_launch(r, r->kscatter, nb);
    raw_read_out(r, d->out, *kept);
}

static void raw_release(raw_run_t *r)
{
    cl_mem all[] = {r->x, r->m, r->cnt, r->off, r->out};

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
    /* Also after an error: nothing may still use the arrays afterwards. */
    raw_ok(r, clFinish(r->cl->queue), "clFinish");
}

bench_status_t divisible_opencl_raw(const bench_env_t *env, size_t n, double *value)
{
    raw_run_t r = {
        .cl = clraw_get(env),
        .kmask = clraw_kernel(env, dv_src, "dv_mask"),
        .kcount = clraw_kernel(env, dv_src, "dv_count"),
        .kscatter = clraw_kernel(env, dv_src, "dv_scatter"),
    };
    dv_data_t *d = dv_data_get(n);
    size_t nb = (n + DV_RAW_BLK - 1) / DV_RAW_BLK, kept = 0;
    cl_uint *cnt = malloc(nb * sizeof *cnt);
    cl_ulong *off = malloc(nb * sizeof *off);
    bench_status_t st = BENCH_ERROR;

    if (r.cl && r.kmask && r.kcount && r.kscatter && d && cnt && off) {
        dv_data_poison(d);
        uint64_t t0 = bench_now_ns();
        raw_pipeline(&r, d, cnt, off, nb, &kept);
        raw_release(&r);
        uint64_t t1 = bench_now_ns();
        *value = (double)(t1 - t0) / (double)n;
        st = r.err != CL_SUCCESS ? clraw_error(r.call, r.err)
                                 : dv_data_check(d, kept, "opencl_raw");
    }
    free(cnt);
    free(off);
    return st;
}
