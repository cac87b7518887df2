/* Fault injection for tests (INTERNAL tests link the static library): the
 * seam the OpenCL driver has anyway, its calls that can fail. */
#ifndef FRONTA_DRIVERS_OPENCL_FAULT_H
#define FRONTA_DRIVERS_OPENCL_FAULT_H

#include "fronta.h"

enum {
    FRONTA__CLFAULT_ALLOC = 1,   /* creating a device buffer (replica) */
    FRONTA__CLFAULT_ENQUEUE = 2, /* enqueueing a kernel */
    FRONTA__CLFAULT_EVENT = 3    /* a kernel's completion status */
};

/* Make the next `count` operations `op` on any OpenCL device of rt fail as
 * if the driver had returned cl_err (e.g. CL_MEM_OBJECT_ALLOCATION_FAILURE,
 * CL_OUT_OF_RESOURCES). count 0 clears. */
void fronta__opencl_fault(fronta_runtime_t *rt, int op, int cl_err, int count);

/* Let the next `skip` operations `op` on rt's OpenCL devices succeed
 * before the failures armed for op apply: to fail the second kernel of a
 * chain and not the first (FRONTA__CLFAULT_EVENT), or the second pass of
 * a kernel (FRONTA__CLFAULT_ENQUEUE). 0 clears (device.c). */
void fronta__opencl_fault_skip(fronta_runtime_t *rt, int op, int skip);

#endif
