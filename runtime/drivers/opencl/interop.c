/* fronta_opencl.h: the driver's OpenCL objects for users who bring their
 * own OpenCL code; the fault seam for tests; OpenCL error names. */
#include "fronta_opencl.h"

#include <stdio.h>

#include "drivers/opencl/fault.h"
#include "drivers/opencl/opencl.h"

static ocl_dev *opencl_dev(fronta_runtime_t *rt, int id)
{
    const fronta__device *dev = rt ? fronta__device_get(rt, id) : NULL;
    if (!dev || dev->drv != &fronta__driver_opencl)
        return NULL;
    return &((ocl_state *)dev->data)->dev[dev->local];
}

int fronta_opencl_device(fronta_runtime_t *rt, int id, cl_context *ctx,
                         cl_command_queue *queue, cl_device_id *devid)
{
    ocl_dev *d = opencl_dev(rt, id);
    if (!d)
        return rt ? FRONTA_ENODEV : FRONTA_EINVAL;
    if (ctx)
        *ctx = d->ctx;
    if (queue)
        *queue = d->q;
    if (devid)
        *devid = d->id;
    return 0;
}

int fronta_opencl_buffer_acquire(fronta_buffer_t *b, int id, fronta_access_t mode,
                                 double timeout, cl_mem *out)
{
    if (out)
        *out = NULL;
    if (!fronta__buffer_valid(b) || !out)
        return FRONTA_EINVAL;
    if (!opencl_dev(b->rt, id))
        return FRONTA_ENODEV;
    void *rep;
    int rc = fronta__buffer_acquire_at(b, id, mode, timeout, &rep);
    if (!rc)
        *out = ((ocl_rep *)rep)->mem;
    return rc;
}

/* A marker rather than clFinish: it waits for what was enqueued up to
 * now (the queue is in order), not for kernels fronta enqueues later. */
int fronta__cl_sync(void *data, int i, char *msg, size_t msz)
{
    ocl_dev *d = &((ocl_state *)data)->dev[i];
    cl_event ev = NULL;
    /* Uploads on the transfer queue are ordered before q's later commands
     * by barriers on q: the marker covers them. */
    cl_int err = clEnqueueMarkerWithWaitList(d->q, 0, NULL, &ev);
    if (!err)
        err = clFlush(d->q);
    if (!err)
        err = clWaitForEvents(1, &ev);
    if (ev)
        clReleaseEvent(ev);
    if (err) {
        snprintf(msg, msz, "commands on OpenCL device '%s' failed (%s)", d->info.name,
                 fronta__cl_err_name(err));
        return FRONTA_EDEVICE;
    }
    return 0;
}

void fronta__opencl_fault(fronta_runtime_t *rt, int op, int cl_err, int count)
{
    if (!rt || op < 1 || op > 3)
        return;
    for (int id = 1; id < rt->ndevices; id++) {
        const fronta__device *dev = &rt->devices[id];
        if (dev->drv != &fronta__driver_opencl)
            continue;
        ocl_state *st = dev->data;
        st->fault_err[op] = cl_err;
        atomic_store_explicit(&st->fault_count[op], count, memory_order_release);
        return;
    }
}

cl_int fronta__cl_fault(ocl_state *st, int op)
{
    int n = atomic_load_explicit(&st->fault_count[op], memory_order_acquire);
    while (n > 0)
        if (atomic_compare_exchange_weak_explicit(&st->fault_count[op], &n, n - 1,
                                                  memory_order_acq_rel, memory_order_acquire))
            return st->fault_err[op];
    return CL_SUCCESS;
}

const char *fronta__cl_err_name(cl_int err)
{
    switch (err) {
#define E(x) case x: return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE)
    E(CL_COMPILER_NOT_AVAILABLE) E(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY) E(CL_BUILD_PROGRAM_FAILURE)
    E(CL_MAP_FAILURE) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
    E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_PROGRAM)
    E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL)
    E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
    E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION)
    E(CL_INVALID_WORK_GROUP_SIZE) E(CL_INVALID_WORK_ITEM_SIZE)
    E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST) E(CL_INVALID_EVENT)
    E(CL_INVALID_OPERATION) E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_GLOBAL_WORK_SIZE)
    E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
#undef E
    default:
        return "an OpenCL error";
    }
}
