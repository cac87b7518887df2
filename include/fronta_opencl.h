/*
 * fronta_opencl.h — OpenCL interop: the context, queue and memory objects
 * fronta uses, for users who bring their own OpenCL code. Include after
 * <CL/cl.h> (any CL_TARGET_OPENCL_VERSION >= 120).
 */
#ifndef FRONTA_OPENCL_H
#define FRONTA_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "fronta.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The context, in-order command queue and device id of OpenCL device `id`
 * (a fronta device id). Borrowed: valid until the runtime is destroyed;
 * retain them to keep them longer. FRONTA_ENODEV when id is not an
 * OpenCL device. Commands enqueued on the queue are ordered with fronta's
 * own. */
FRONTA_API int fronta_opencl_device(fronta_runtime_t *rt, int id, cl_context *ctx,
                                    cl_command_queue *queue, cl_device_id *dev);

/* Device access to buffer b on OpenCL device `id`, in submission order as
 * fronta_buffer_acquire: waits for conflicting tasks, makes the device copy
 * valid (IN, INOUT) and returns its cl_mem. Enqueue your commands on the
 * device's queue, then call fronta_buffer_release(b): it returns once they
 * have finished (no clFinish needed), so that no later access -- a host
 * acquire, a pool task, possibly writing the very same memory when the
 * device shares it (zero-copy) -- can be overtaken by them; for OUT and
 * INOUT the device copy is then the valid one. FRONTA_EBUSY as
 * fronta_buffer_acquire. */
FRONTA_API FRONTA_NODISCARD int fronta_opencl_buffer_acquire(fronta_buffer_t *b, int id,
                                                             fronta_access_t mode,
                                                             double timeout, cl_mem *out);

#ifdef __cplusplus
}
#endif
#endif /* FRONTA_OPENCL_H */
