/* clraw.h — what the hand-written OpenCL baselines share: one context and in-order queue, built kernels. */
#ifndef FRONTA_BENCH_CLRAW_H
#define FRONTA_BENCH_CLRAW_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "bench.h"

/* The baselines' own OpenCL set-up, apart from fronta's: a context and an
 * in-order queue on the device fronta's FRONTA_NEED_OPENCL tasks use. */
typedef struct clraw {
    cl_device_id dev;
    cl_context ctx;
    cl_command_queue queue;
    int unified;    /* CL_DEVICE_HOST_UNIFIED_MEMORY: buffers use the host
                       array in place (CL_MEM_USE_HOST_PTR) instead of
                       copies, as fronta's zero-copy path does */
} clraw_t;

/* The shared set-up, on the OpenCL device fronta's FRONTA_NEED_OPENCL
 * tasks use, made on the first call (a run calls it before its
 * clock starts, so it is never timed); NULL, after saying why on stderr,
 * when there is no OpenCL device or a call failed. */
const clraw_t *clraw_get(const bench_env_t *env);

/* Kernel `entry` of program `source`, built on the first call for that
 * entry and kept until exit (builds stay out of the timed region: the
 * harness's warm-up run pays them). NULL after printing the build log. */
cl_kernel clraw_kernel(const bench_env_t *env, const char *source, const char *entry);

/* Prints "fronta-bench: call: CL error N" and returns BENCH_ERROR. */
bench_status_t clraw_error(const char *call, cl_int err);

/* CL_MEM_USE_HOST_PTR or CL_MEM_COPY_HOST_PTR, per cl->unified. */
cl_mem_flags clraw_host_flags(const clraw_t *cl);

#endif /* FRONTA_BENCH_CLRAW_H */
