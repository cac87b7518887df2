/* clraw.c — the hand-written OpenCL baselines' context, queue and kernels, made once per process. */
#include <stdlib.h>
#include <string.h>

#include "clraw.h"
#include "fronta_opencl.h"

#define MAX_KERNELS 8

typedef struct built {
    const char *entry;  /* the caller's string literal: kept, not copied */
    cl_program prog;
    cl_kernel kernel;
} built_t;

static clraw_t state;
static int state_ok;      /* 1: made; -1: failed once, do not retry */
static built_t kernels[MAX_KERNELS];
static int nkernels;

bench_status_t clraw_error(const char *call, cl_int err)
{
    fprintf(stderr, "fronta-bench: %s: CL error %d\n", call, (int)err);
    return BENCH_ERROR;
}

cl_mem_flags clraw_host_flags(const clraw_t *cl)
{
    return cl->unified ? CL_MEM_USE_HOST_PTR : CL_MEM_COPY_HOST_PTR;
}

static void clraw_cleanup(void)
{
    for (int i = 0; i < nkernels; i++) {
        clReleaseKernel(kernels[i].kernel);
        clReleaseProgram(kernels[i].prog);
    }
    nkernels = 0;
    if (state_ok == 1) {
        clReleaseCommandQueue(state.queue);
        clReleaseContext(state.ctx);
    }
    state_ok = 0;
}

/* The device fronta's FRONTA_NEED_OPENCL tasks go to (its first OpenCL
 * GPU, else its first OpenCL device), so that both sides of a ratio run on
 * the same device; fronta's context is not shared: the baseline makes its
 * own, as a hand-written program would. */
static cl_int fronta_opencl_choice(fronta_runtime_t *rt, cl_device_id *out)
{
    int chosen = -1;
    for (int id = 0; id < fronta_device_count(rt); id++) {
        fronta_device_info_t info = {.size = sizeof info};
        if (fronta_device_info(rt, id, &info) || info.kind != FRONTA_DEVICE_OPENCL)
            continue;
        if (chosen < 0 || info.type == FRONTA_DEVTYPE_GPU)
            chosen = id;
        if (info.type == FRONTA_DEVTYPE_GPU)
            break;
    }
    if (chosen < 0 || fronta_opencl_device(rt, chosen, NULL, NULL, out))
        return CL_DEVICE_NOT_FOUND;
    return CL_SUCCESS;
}

const clraw_t *clraw_get(const bench_env_t *env)
{
    cl_bool unified = CL_FALSE;
    cl_int err;

    if (state_ok)
        return state_ok == 1 ? &state : NULL;
    state_ok = -1;
    if ((err = fronta_opencl_choice(env->rt, &state.dev)) != CL_SUCCESS) {
        clraw_error("no OpenCL device for the raw baselines", err);
        return NULL;
    }
    clGetDeviceInfo(state.dev, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    state.unified = unified == CL_TRUE;
    state.ctx = clCreateContext(NULL, 1, &state.dev, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        clraw_error("clCreateContext", err);
        return NULL;
    }
    /* In order and without profiling: the cheapest queue, and the one
     * fronta's own device queues are. */
    state.queue = clCreateCommandQueue(state.ctx, state.dev, 0, &err);
    if (err != CL_SUCCESS) {
        clReleaseContext(state.ctx);
        clraw_error("clCreateCommandQueue", err);
        return NULL;
    }
    if (bench_at_exit(clraw_cleanup) != 0) {
        clReleaseCommandQueue(state.queue);
        clReleaseContext(state.ctx);
        fprintf(stderr, "fronta-bench: too many exit callbacks\n");
        return NULL;
    }
    state_ok = 1;
    return &state;
}

static void print_build_log(cl_program prog, cl_device_id dev)
{
    size_t len = 0;
    char *log;

    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) != CL_SUCCESS ||
        !(log = malloc(len + 1)))
        return;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, len, log, NULL) == CL_SUCCESS) {
        log[len] = '\0';
        fprintf(stderr, "%s\n", log);
    }
    free(log);
}

cl_kernel clraw_kernel(const bench_env_t *env, const char *source, const char *entry)
{
    const clraw_t *cl = clraw_get(env);
    cl_program prog;
    cl_kernel k;
    cl_int err;

    if (!cl)
        return NULL;
    for (int i = 0; i < nkernels; i++)
        if (strcmp(kernels[i].entry, entry) == 0)
            return kernels[i].kernel;
    if (nkernels == MAX_KERNELS) {
        fprintf(stderr, "fronta-bench: more than %d raw OpenCL kernels\n", MAX_KERNELS);
        return NULL;
    }
    prog = clCreateProgramWithSource(cl->ctx, 1, &source, NULL, &err);
    if (err != CL_SUCCESS) {
        clraw_error("clCreateProgramWithSource", err);
        return NULL;
    }
    if ((err = clBuildProgram(prog, 1, &cl->dev, NULL, NULL, NULL)) != CL_SUCCESS) {
        clraw_error("clBuildProgram", err);
        print_build_log(prog, cl->dev);
        clReleaseProgram(prog);
        return NULL;
    }
    k = clCreateKernel(prog, entry, &err);
    if (err != CL_SUCCESS) {
        clReleaseProgram(prog);
        clraw_error("clCreateKernel", err);
        return NULL;
    }
    kernels[nkernels++] = (built_t){.entry = entry, .prog = prog, .kernel = k};
    return k;
}
