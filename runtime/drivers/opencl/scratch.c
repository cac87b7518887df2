/* Launch scratch: the device memory a kernel with cl_scratch asks for per
 * launch, one buffer per device, grown as launches need more.
 *
 * One buffer serves every kernel of the device because the device's
 * queue is in order (device.c creates it with properties 0): a launch,
 * all of its passes, runs only after the launches before it have
 * finished, so no two launches ever use the scratch at once. */
#include <string.h>

#include "drivers/opencl/fault.h"
#include "drivers/opencl/opencl.h"

/* An OpenCL buffer argument must not be NULL on some drivers, nor a
 * buffer empty: a launch that needs no scratch gets this much. */
#define SCRATCH_MIN 64

void fronta__cl_scratch_release(ocl_dev *d)
{
    if (d->scratch)
        clReleaseMemObject(d->scratch);
    d->scratch = NULL;
    d->scratch_size = 0;
}

/* What the kernel's cl_scratch sees: counts and values, as in its check. */
static size_t scratch_need(const fronta__ktask *kt, size_t rows, size_t cols)
{
    fronta_karg_t ka[FRONTA_MAX_ARGS];
    memset(ka, 0, sizeof ka);
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        if (a->kind == FRONTA_ARG_BUFFER)
            ka[i].count = a->buffer->count;
        else
            memcpy(&ka[i].v, &a->v, sizeof ka[i].v);
    }
    return kt->k->cl_scratch(ka, kt->nargs, rows, cols);
}

static int scratch_alloc(ocl_dev *d, size_t size, cl_int *err)
{
    *err = fronta__cl_fault(d->st, FRONTA__CLFAULT_ALLOC);
    cl_mem m = *err ? NULL : clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, size, NULL, err);
    if (!m)
        return -1;
    /* The old buffer may still be in use by launches queued before this
     * one: OpenCL deletes it only once they have finished. */
    fronta__cl_scratch_release(d);
    d->scratch = m;
    d->scratch_size = size;
    return 0;
}

int fronta__cl_scratch(ocl_dev *d, const fronta__ktask *kt, size_t rows, size_t cols,
                       cl_mem *out, char **msg)
{
    size_t need = scratch_need(kt, rows, cols);
    if (need < SCRATCH_MIN)
        need = SCRATCH_MIN;
    if (need > d->scratch_size) {
        /* Doubling: a series of growing launches reallocates a few times,
         * not at each; a doubled size the device refuses is retried as
         * what the launch needs. */
        size_t twice = d->scratch_size <= SIZE_MAX / 2 ? 2 * d->scratch_size : need;
        cl_int err = CL_SUCCESS;
        if ((twice <= need || scratch_alloc(d, twice, &err)) && scratch_alloc(d, need, &err)) {
            *msg = fronta__cl_msg_fmt(d, "kernel '%s': allocating %zu bytes of scratch on "
                                         "OpenCL device '%s' failed (%s)", kt->k->name, need,
                                      d->info.name,
                                      fronta__cl_err_name(err ? err
                                                              : CL_MEM_OBJECT_ALLOCATION_FAILURE));
            /* As for replicas (memory.c): a device failure, the task falls back. */
            return FRONTA_EDEVICE;
        }
    }
    *out = d->scratch;
    return 0;
}
