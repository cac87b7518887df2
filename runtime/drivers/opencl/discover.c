/* OpenCL devices: discovery through the ICD loader and FRONTA_DEVICES
 * selection. Kernels, buffers and the per-device host thread come next. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <stdio.h>
#include <string.h>

#include "core/internal.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

typedef struct cl_dev {
    cl_platform_id platform;
    cl_device_id id;
    fronta_device_info_t info;  /* kind, type, names, sizes; id set by core */
} cl_dev;

typedef struct cl_state {
    int n;
    cl_dev dev[MAX_DEVICES];
} cl_state;

static fronta_device_type_t type_of(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return FRONTA_DEVTYPE_GPU;
    if (t & CL_DEVICE_TYPE_CPU)
        return FRONTA_DEVTYPE_CPU;
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return FRONTA_DEVTYPE_ACCELERATOR;
    return FRONTA_DEVTYPE_OTHER;
}

/* Fill d->info; a device whose queries fail is skipped with a reason,
 * never fatal. */
static int describe(fronta_runtime_t *rt, cl_dev *d, const char *platform)
{
    fronta_device_info_t *in = &d->info;
    cl_device_type type;
    cl_uint units;
    cl_ulong mem;
    cl_bool unified;
    cl_int err = clGetDeviceInfo(d->id, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (!err)
        err = clGetDeviceInfo(d->id, CL_DEVICE_NAME, sizeof in->name, in->name, NULL);
    if (!err)
        err = clGetDeviceInfo(d->id, CL_DEVICE_VENDOR, sizeof in->vendor, in->vendor, NULL);
    if (!err)
        err = clGetDeviceInfo(d->id, CL_DRIVER_VERSION, sizeof in->version, in->version,
                              NULL);
    if (!err)
        err = clGetDeviceInfo(d->id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    if (!err)
        err = clGetDeviceInfo(d->id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    if (!err)
        err = clGetDeviceInfo(d->id, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                              NULL);
    if (err) {
        FRONTA__LOG(rt, FRONTA_LOG_WARN, "OpenCL: skipping a device of '%s': query failed (%d)",
                    platform, (int)err);
        return -1;
    }
    /* Strings from drivers need not be terminated within the buffer. */
    in->name[sizeof in->name - 1] = in->vendor[sizeof in->vendor - 1] = 0;
    in->version[sizeof in->version - 1] = 0;
    snprintf(in->platform, sizeof in->platform, "%s", platform);
    in->kind = FRONTA_DEVICE_OPENCL;
    in->type = type_of(type);
    in->compute_units = units;
    in->global_mem = mem;
    in->unified_memory = unified == CL_TRUE;
    return 0;
}

/* Keep d if a token selects it, marking those tokens. */
static int selected(const cl_dev *d, fronta__devsel *sel)
{
    int any = 0;
    for (int t = 0; t < sel->ntok; t++)
        if (fronta__token_selects(sel->tok[t], "opencl", fronta_device_type_name(d->info.type),
                                  d->info.name, d->info.platform)) {
            sel->matched[t] = 1;
            any = 1;
        }
    return any;
}

static void scan_platform(fronta_runtime_t *rt, cl_platform_id p, cl_state *st,
                          fronta__devsel *sel)
{
    char pname[128] = "";
    clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof pname, pname, NULL);
    pname[sizeof pname - 1] = 0;
    cl_device_id ids[MAX_DEVICES];
    cl_uint n = 0;
    cl_int err = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, MAX_DEVICES, ids, &n);
    if (err) {
        FRONTA__LOG(rt, FRONTA_LOG_INFO, "OpenCL: platform '%s' has no usable device (%d)",
                    pname, (int)err);
        return;
    }
    for (cl_uint i = 0; i < n && i < MAX_DEVICES && st->n < MAX_DEVICES; i++) {
        cl_dev *d = &st->dev[st->n];
        memset(d, 0, sizeof *d);
        d->platform = p;
        d->id = ids[i];
        if (describe(rt, d, pname) == 0 && selected(d, sel)) {
            FRONTA__LOG(rt, FRONTA_LOG_INFO, "OpenCL device: %s (%s, %s)", d->info.name,
                        pname, fronta_device_type_name(d->info.type));
            st->n++;
        }
    }
}

static int ocl_start(fronta_runtime_t *rt, fronta__devsel *sel, void **data)
{
    cl_state *st = fronta__mem_calloc(&rt->alloc, 1, sizeof *st);
    if (!st)
        return FRONTA_ENOMEM;
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    /* No ICD, or no platform: no OpenCL device, which is only an error if
     * FRONTA_DEVICES asked for one (core checks the tokens). */
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (err)
        FRONTA__LOG(rt, FRONTA_LOG_INFO, "OpenCL: no platform (%d)", (int)err);
    for (cl_uint i = 0; !err && i < np && i < MAX_PLATFORMS; i++)
        scan_platform(rt, plats[i], st, sel);
    *data = st;
    return 0;
}

static void ocl_stop(fronta_runtime_t *rt, void *data)
{
    fronta__mem_free(&rt->alloc, data, sizeof(cl_state));
}

static int ocl_ndevices(const fronta_runtime_t *rt, const void *data)
{
    (void)rt;
    return data ? ((const cl_state *)data)->n : 0;
}

static void ocl_device_info(const fronta_runtime_t *rt, const void *data, int i,
                           fronta_device_info_t *out)
{
    (void)rt;
    *out = ((const cl_state *)data)->dev[i].info;
}

const fronta__driver fronta__driver_opencl = {
    .name = "opencl",
    .description = "OpenCL devices through the ICD loader",
    .start = ocl_start,
    .stop = ocl_stop,
    .ndevices = ocl_ndevices,
    .device_info = ocl_device_info,
};
