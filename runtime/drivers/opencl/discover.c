/* OpenCL devices: discovery through the ICD loader, FRONTA_DEVICES
 * selection, and the driver's table of operations. */
#include <stdio.h>
#include <string.h>

#include "drivers/opencl/opencl.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES FRONTA__CL_MAX_DEVICES

typedef ocl_dev cl_dev;
typedef ocl_state cl_state;

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

/* A context, a queue and two threads per device; a device that fails to
 * start is left out with a logged reason. */
static void start_devices(fronta_runtime_t *rt, cl_state *st)
{
    int kept = 0;
    for (int i = 0; i < st->n; i++) {
        cl_dev *d = &st->dev[i];
        if (kept != i) {
            st->dev[kept] = *d;
            d = &st->dev[kept];
        }
        d->st = st;
        if (fronta__cl_dev_start(d) == 0)
            kept++;
        else
            FRONTA__LOG(rt, FRONTA_LOG_WARN, "OpenCL: device '%s' left out: it failed to start",
                        d->info.name);
    }
    st->n = kept;
}

static int ocl_start(fronta_runtime_t *rt, fronta__devsel *sel, void **data)
{
    cl_state *st = fronta__mem_calloc(&rt->alloc, 1, sizeof *st);
    if (!st)
        return FRONTA_ENOMEM;
    st->rt = rt;
    st->zero_copy = rt->set.zero_copy;
    st->rollback_host = rt->set.rollback_host;
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    /* No ICD, or no platform: no OpenCL device, which is only an error if
     * FRONTA_DEVICES asked for one (core checks the tokens). */
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (err)
        FRONTA__LOG(rt, FRONTA_LOG_INFO, "OpenCL: no platform (%d)", (int)err);
    for (cl_uint i = 0; !err && i < np && i < MAX_PLATFORMS; i++)
        scan_platform(rt, plats[i], st, sel);
    if (st->n && fronta__clprog_cache_create(&rt->alloc, NULL, &st->progs)) {
        fronta__mem_free(&rt->alloc, st, sizeof *st);
        return FRONTA_ENOMEM;
    }
    start_devices(rt, st);
    *data = st;
    return 0;
}

static void ocl_stop(fronta_runtime_t *rt, void *data)
{
    cl_state *st = data;
    if (!st)
        return;
    for (int i = 0; i < st->n; i++)
        fronta__cl_dev_stop(&st->dev[i]);
    if (st->progs)
        fronta__clprog_cache_destroy(st->progs);
    fronta__mem_free(&rt->alloc, st, sizeof *st);
}

static void ocl_stats(const void *data, int i, fronta_device_stats_t *out)
{
    cl_dev *d = (cl_dev *)&((const cl_state *)data)->dev[i];
    out->tasks_run = atomic_load_explicit(&d->tasks_run, memory_order_relaxed);
    out->kernels_chained = atomic_load_explicit(&d->chained, memory_order_relaxed);
    out->host_wakeups = atomic_load_explicit(&d->wakeups, memory_order_relaxed);
    out->fallbacks = atomic_load_explicit(&d->fallbacks, memory_order_relaxed);
    out->bytes_to_device = atomic_load_explicit(&d->bytes_to_dev, memory_order_relaxed);
    out->bytes_to_host = atomic_load_explicit(&d->bytes_to_host, memory_order_relaxed);
    out->maps = atomic_load_explicit(&d->maps, memory_order_relaxed);
    out->mem_used = atomic_load_explicit(&d->mem_used, memory_order_relaxed);
    out->mem_peak = atomic_load_explicit(&d->mem_peak, memory_order_relaxed);
    out->mem_limit = fronta__cl_limit(d);
    out->evictions = atomic_load_explicit(&d->evictions, memory_order_relaxed);
    out->writebacks = atomic_load_explicit(&d->writebacks, memory_order_relaxed);
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
    .can_run = fronta__cl_can_run,
    .submit = fronta__cl_submit,
    .stats = ocl_stats,
    .worker_stats = fronta__cl_worker_stats,
    .mem_alloc = fronta__cl_mem_alloc,
    .mem_free = fronta__cl_mem_free,
    .copy_to_host = fronta__cl_copy_to_host,
    .copy_from_host = fronta__cl_copy_from_host,
    .sync = fronta__cl_sync,
};
