/* The OpenCL driver's state, shared by its files: discovery (discover.c),
 * the per-device threads (device.c), kernels and launch (launch.c),
 * replicas and transfers (memory.c), interop (interop.c). */
#ifndef FRONTA_DRIVERS_OPENCL_OPENCL_H
#define FRONTA_DRIVERS_OPENCL_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/kernel.h"
#include "drivers/opencl/program.h"

#define FRONTA__CL_MAX_DEVICES (FRONTA__MAX_DEVICES - 1) /* the pool is one */

typedef struct ocl_state ocl_state;

typedef struct ocl_dev {
    cl_platform_id platform;
    cl_device_id id;
    fronta_device_info_t info;  /* kind, type, names, sizes; id set by core */
    ocl_state *st;
    cl_context ctx;
    cl_command_queue q;         /* in order: its order is the chain's */

    /* The device thread: takes ready tasks, moves their data, enqueues. */
    pthread_t thread;
    int running;                /* threads started */
    pthread_mutex_t lock;       /* guards in_*, stop, idle */
    pthread_cond_t cond;
    fronta__ktask *in_head, *in_tail;
    atomic_uint in_count;       /* read unlocked by the spinning thread */
    int stop, idle;

    /* The waiter: blocks on the newest enqueued kernel it was handed,
     * then completes every kernel up to it (the queue is in order). */
    pthread_t waiter;
    pthread_mutex_t fl_lock;    /* guards fl_*, handed, fl_stop */
    pthread_cond_t fl_cond;
    fronta__ktask *fl_head, *fl_tail, *handed;
    uint64_t unhanded_since;    /* device thread only: ns, 0 when none */
    int fl_stop;

    cl_kernel *kobj;            /* by kernel index; device thread only */
    int nkobj;

    /* Zero-copy buffers written by kernels enqueued since the last hand:
     * synchronised back to the host in one batch (writeback.c). Device
     * thread only. */
    struct ocl_wb_item *wb;
    int nwb, wb_cap;
    int node;                   /* its device id (memory node); device thread */

    atomic_uint_fast64_t tasks_run, chained, wakeups, fallbacks;
    atomic_uint_fast64_t bytes_to_dev, bytes_to_host, maps;
} ocl_dev;

struct ocl_state {
    fronta_runtime_t *rt;
    int n;
    fronta__clprog_cache *progs;
    int zero_copy;
    atomic_int fault_count[4];  /* fault.h: failures still to inject per op */
    cl_int fault_err[4];
    ocl_dev dev[FRONTA__CL_MAX_DEVICES];
};

/* An OpenCL replica of a buffer. */
typedef struct ocl_rep {
    cl_mem mem;
    int zero_copy;              /* CL_MEM_USE_HOST_PTR over the host array */
} ocl_rep;

const char *fronta__cl_err_name(cl_int err);
/* A failure the fault seam injects for op, else CL_SUCCESS. */
cl_int fronta__cl_fault(ocl_state *st, int op);

/* device.c */
int fronta__cl_dev_start(ocl_dev *d);
void fronta__cl_dev_stop(ocl_dev *d);
void fronta__cl_submit(void *data, int i, fronta_future_t *t);

/* launch.c: enqueue t's kernel on d. 0, or an error with *msg allocated
 * (free with fronta__cl_msg_free). */
int fronta__cl_launch(ocl_dev *d, fronta_future_t *t, char **msg);
void fronta__cl_msg_free(ocl_dev *d, char *msg);
void fronta__cl_kernels_release(ocl_dev *d);
int fronta__cl_can_run(const void *data, int i, const fronta_kernel_t *k);

/* interop.c: every command enqueued on device i so far has finished. */
int fronta__cl_sync(void *data, int i, char *msg, size_t msz);

/* writeback.c */
typedef struct ocl_wb_item {
    fronta_buffer_t *b;
    uint64_t version;           /* the data the kernel wrote */
} ocl_wb_item;
/* A batch of write-backs riding on a handed kernel (ktask.drv). */
typedef struct ocl_wb {
    cl_event last;              /* the last unmap: wait for it, not the kernel */
    int node;
    int n, cap;
    ocl_wb_item item[];
} ocl_wb;
void fronta__cl_wb_note(ocl_dev *d, fronta_buffer_t *b);
ocl_wb *fronta__cl_wb_enqueue(ocl_dev *d, int node);
void fronta__cl_wb_apply(ocl_dev *d, ocl_wb *wb);
void fronta__cl_wb_release(ocl_dev *d);

/* memory.c */
int fronta__cl_mem_alloc(void *data, int i, fronta_buffer_t *b, void **rep, char *msg,
                         size_t msz);
void fronta__cl_mem_free(void *data, int i, fronta_buffer_t *b, void *rep);
int fronta__cl_copy_to_host(void *data, int i, fronta_buffer_t *b, void *rep, char *msg,
                            size_t msz);
int fronta__cl_copy_from_host(void *data, int i, fronta_buffer_t *b, void *rep, char *msg,
                              size_t msz);

#endif
