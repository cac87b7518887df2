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

#endif
