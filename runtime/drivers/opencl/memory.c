/* Replicas of buffers on OpenCL devices, and the transfers between them
 * and the host array (undo.c: the pre-images that undo a failed kernel's
 * writes). On a device that shares host memory
 * (CL_DEVICE_HOST_UNIFIED_MEMORY: PoCL, integrated GPUs) a replica is the
 * host array itself (CL_MEM_USE_HOST_PTR), and a transfer is a map/unmap
 * pair, which synchronises without copying; fronta_config_t.zero_copy < 0
 * forces copies.
 *
 * Every transfer is timed for the transfer model (and the trace): a copy
 * by its event's device-side START and END (a copy enqueued without
 * waiting, once it has completed: the waiter reports those after each
 * batch), a map by the host's time around it. */
#include <stdio.h>
#include <string.h>

#include "drivers/opencl/fault.h"
#include "drivers/opencl/opencl.h"
#include "sched/sched.h"

/* A copy enqueued without waiting, to time once it is complete. */
typedef struct ocl_xfer {
    cl_event ev;
    uint64_t bytes;
    uint64_t h0;                /* host time of its enqueue: the fallback start */
    struct ocl_xfer *next;
} ocl_xfer;

static ocl_dev *dev_of(void *data, int i)
{
    return &((ocl_state *)data)->dev[i];
}

int fronta__cl_buf_fail(char *msg, size_t msz, const char *what, const ocl_dev *d,
                        const fronta_buffer_t *b, cl_int err)
{
    snprintf(msg, msz, "%s %zu bytes on OpenCL device '%s' failed (%s)", what, b->bytes,
             d->info.name, fronta__cl_err_name(err));
    return err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY
               ? FRONTA_ENOMEM
               : FRONTA_EDEVICE;
}

/* ---- timing ---- */

static void transfer_report(ocl_dev *d, int to_dev, uint64_t bytes, uint64_t t0, uint64_t t1,
                            const char *name)
{
    fronta_runtime_t *rt = d->st->rt;
    int dev = fronta__cl_devid(d);
    if (rt->trace)
        fronta__trace_event(rt->trace, FRONTA__TR_TRANSFER,
                            (to_dev ? FRONTA__TRACK_H2D : FRONTA__TRACK_D2H) + dev, name, 0, t0,
                            t1, bytes);
    fronta__sched_transfer(rt, to_dev ? 0 : dev, to_dev ? dev : 0, bytes, t1 - t0);
}

/* A completed copy: its device-side span, else the host's [h0, h1]. */
static void transfer_timed(ocl_dev *d, int to_dev, uint64_t bytes, cl_event ev, uint64_t h0,
                           uint64_t h1)
{
    uint64_t t0, t1;
    if (!ev || fronta__cl_event_span(d, NULL, ev, &t0, &t1)) {
        t0 = h0;
        t1 = h1 > h0 ? h1 : h0;
    }
    transfer_report(d, to_dev, bytes, t0, t1, to_dev ? "host->device" : "device->host");
}

static void xfer_push(ocl_dev *d, cl_event ev, uint64_t bytes, uint64_t h0)
{
    ocl_xfer *x = fronta__mem_alloc(&d->st->rt->alloc, sizeof *x);
    if (!x) { /* untimed: the model misses one sample */
        clReleaseEvent(ev);
        return;
    }
    x->ev = ev;
    x->bytes = bytes;
    x->h0 = h0;
    pthread_mutex_lock(&d->xf_lock);
    x->next = d->xf_head;
    d->xf_head = x;
    pthread_mutex_unlock(&d->xf_lock);
}

void fronta__cl_xfer_drain(ocl_dev *d, int all)
{
    pthread_mutex_lock(&d->xf_lock);
    ocl_xfer *x = d->xf_head, *keep = NULL;
    d->xf_head = NULL;
    pthread_mutex_unlock(&d->xf_lock);
    while (x) {
        ocl_xfer *next = x->next;
        cl_int st = CL_COMPLETE;
        if (all)
            st = clWaitForEvents(1, &x->ev) == CL_SUCCESS ? CL_COMPLETE : -1;
        else if (clGetEventInfo(x->ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st,
                                NULL) != CL_SUCCESS)
            st = -1;
        if (st > CL_COMPLETE) { /* still running: next time */
            x->next = keep;
            keep = x;
        } else {
            if (st == CL_COMPLETE)
                transfer_timed(d, 1, x->bytes, x->ev, x->h0, fronta__now_ns());
            clReleaseEvent(x->ev);
            fronta__mem_free(&d->st->rt->alloc, x, sizeof *x);
        }
        x = next;
    }
    if (!keep)
        return;
    pthread_mutex_lock(&d->xf_lock);
    ocl_xfer *last = keep;
    while (last->next)
        last = last->next;
    last->next = d->xf_head;
    d->xf_head = keep;
    pthread_mutex_unlock(&d->xf_lock);
}

/* ---- replicas ---- */

int fronta__cl_mem_alloc(void *data, int i, fronta_buffer_t *b, void **rep, char *msg,
                         size_t msz)
{
    ocl_dev *d = dev_of(data, i);
    ocl_rep *r = fronta__mem_calloc(&d->st->rt->alloc, 1, sizeof *r);
    if (!r) {
        snprintf(msg, msz, "out of host memory for a replica");
        return FRONTA_ENOMEM;
    }
    r->zero_copy = d->st->zero_copy && d->info.unified_memory;
    /* Under a limit a launch made room already (budget.c); an acquire
     * at the device evicts what is idle, and is refused beyond. */
    uint64_t lim = r->zero_copy ? 0 : fronta__cl_limit(d);
    if (lim && !fronta__cl_evict(d, b->bytes)) {
        fronta__mem_free(&d->st->rt->alloc, r, sizeof *r);
        snprintf(msg, msz, "a replica of %zu bytes does not fit under the "
                 "FRONTA_DEVICE_MEM_LIMIT of %llu bytes of OpenCL device '%s'", b->bytes,
                 (unsigned long long)lim, d->info.name);
        return FRONTA_ERESOURCE;
    }
    cl_mem_flags flags = CL_MEM_READ_WRITE | (r->zero_copy ? CL_MEM_USE_HOST_PTR : 0);
    cl_int err = fronta__cl_fault(d->st, FRONTA__CLFAULT_ALLOC);
    if (!err)
        r->mem = clCreateBuffer(d->ctx, flags, b->bytes, r->zero_copy ? b->host : NULL, &err);
    if (err || !r->mem) {
        fronta__mem_free(&d->st->rt->alloc, r, sizeof *r);
        /* Allocation failures are device failures here: the task falls back
         * or fails with FRONTA_EDEVICE, the message says which. */
        fronta__cl_buf_fail(msg, msz, "allocating", d, b, err ? err : CL_MEM_OBJECT_ALLOCATION_FAILURE);
        return FRONTA_EDEVICE;
    }
    if (!r->zero_copy)
        fronta__cl_mem_count(d, b->bytes, 1);
    if (lim)
        fronta__cl_lru_add(d, b, r);
    *rep = r;
    /* CL_MEM_USE_HOST_PTR: the buffer starts with the host array's
     * contents, so no transfer is needed before its first use. */
    return r->zero_copy;
}

void fronta__cl_mem_free(void *data, int i, fronta_buffer_t *b, void *rep)
{
    ocl_dev *d = dev_of(data, i);
    ocl_rep *r = rep;
    fronta__cl_lru_remove(d, r);
    clReleaseMemObject(r->mem);
    if (!r->zero_copy)
        fronta__cl_mem_count(d, b->bytes, 0);
    if (r->held_mem) { /* none once its kernels are done: defensive */
        clReleaseMemObject(r->held_mem);
        fronta__cl_mem_count(d, b->bytes, 0);
    }
    fronta__mem_free(&d->st->rt->alloc, r, sizeof *r);
}

/* Map, so that the host array holds what the device has; where the map
 * gives another pointer (a driver that cached the data), copy from it. */
static int map_to_host(ocl_dev *d, fronta_buffer_t *b, ocl_rep *r, char *msg, size_t msz)
{
    uint64_t h0 = fronta__now_ns();
    cl_int err;
    void *p = clEnqueueMapBuffer(d->q, r->mem, CL_TRUE, CL_MAP_READ, 0, b->bytes, 0, NULL,
                                 NULL, &err);
    if (!p)
        return fronta__cl_buf_fail(msg, msz, "mapping", d, b, err);
    if (p != b->host)
        memcpy(b->host, p, b->bytes);
    /* Not waited for: unmapping a region mapped for reading writes nothing
     * back, so the host may use the array at once; later commands on the
     * queue come after the unmap. */
    err = clEnqueueUnmapMemObject(d->q, r->mem, p, 0, NULL, NULL);
    if (!err)
        err = clFlush(d->q);
    if (err)
        return fronta__cl_buf_fail(msg, msz, "unmapping", d, b, err);
    atomic_fetch_add_explicit(&d->maps, 1, memory_order_relaxed);
    transfer_report(d, 0, b->bytes, h0, fronta__now_ns(), "map device->host");
    return 0;
}

int fronta__cl_copy_to_host(void *data, int i, fronta_buffer_t *b, void *rep, char *msg,
                            size_t msz)
{
    ocl_dev *d = dev_of(data, i);
    ocl_rep *r = rep;
    if (r->zero_copy)
        return map_to_host(d, b, r, msg, msz);
    cl_event ev = NULL;
    uint64_t h0 = fronta__now_ns();
    cl_int err = clEnqueueReadBuffer(d->q, r->mem, CL_TRUE, 0, b->bytes, b->host, 0, NULL,
                                     &ev);
    uint64_t h1 = fronta__now_ns();
    if (!err)
        transfer_timed(d, 0, b->bytes, ev, h0, h1);
    if (ev)
        clReleaseEvent(ev);
    if (err)
        return fronta__cl_buf_fail(msg, msz, "reading", d, b, err);
    atomic_fetch_add_explicit(&d->bytes_to_host, b->bytes, memory_order_relaxed);
    return 0;
}

int fronta__cl_write_back(ocl_dev *d, fronta_buffer_t *b, ocl_rep *r, char *msg, size_t msz)
{
    cl_event ev = NULL;
    uint64_t h0 = fronta__now_ns();
    cl_int err = clEnqueueReadBuffer(d->tq, r->mem, CL_TRUE, 0, b->bytes, b->host, 0, NULL,
                                     &ev);
    if (!err)
        transfer_timed(d, 0, b->bytes, ev, h0, fronta__now_ns());
    if (ev)
        clReleaseEvent(ev);
    if (err)
        return fronta__cl_buf_fail(msg, msz, "writing back (evicting)", d, b, err);
    atomic_fetch_add_explicit(&d->bytes_to_host, b->bytes, memory_order_relaxed);
    return 0;
}

static int map_from_host(ocl_dev *d, fronta_buffer_t *b, ocl_rep *r, char *msg, size_t msz)
{
    uint64_t h0 = fronta__now_ns();
    cl_int err;
    cl_event ev;
    void *p = clEnqueueMapBuffer(d->q, r->mem, CL_FALSE, CL_MAP_WRITE_INVALIDATE_REGION, 0,
                                 b->bytes, 0, NULL, &ev, &err);
    if (!p)
        return fronta__cl_buf_fail(msg, msz, "mapping", d, b, err);
    /* Usually p is the host array and the map only synchronises: nothing
     * to wait for. Otherwise the copy needs the map done. */
    if (p != b->host) {
        clWaitForEvents(1, &ev);
        memcpy(p, b->host, b->bytes);
    }
    clReleaseEvent(ev);
    err = clEnqueueUnmapMemObject(d->q, r->mem, p, 0, NULL, NULL);
    if (err)
        return fronta__cl_buf_fail(msg, msz, "unmapping", d, b, err);
    atomic_fetch_add_explicit(&d->maps, 1, memory_order_relaxed);
    /* The host's cost of making the replica current: what zero-copy saves
     * shows in the model as a fast node pair. */
    transfer_report(d, 1, b->bytes, h0, fronta__now_ns(), "map host->device");
    return 0;
}

int fronta__cl_copy_from_host(void *data, int i, fronta_buffer_t *b, void *rep, char *msg,
                              size_t msz)
{
    ocl_dev *d = dev_of(data, i);
    ocl_rep *r = rep;
    if (r->zero_copy)
        return map_from_host(d, b, r, msg, msz);
    /* Not blocking: the host array is not written before this task, which
     * reads it, completes (write after read). On the transfer queue, so
     * that it runs beside the kernels before it on q; the barrier orders
     * whatever comes after on q (the kernel that reads it, a read back)
     * after it. No command before it on q uses r: a replica is out of
     * date here only once every task that used it is done. */
    cl_event ev = NULL;
    uint64_t h0 = fronta__now_ns();
    cl_int err = clEnqueueWriteBuffer(d->tq, r->mem, CL_FALSE, 0, b->bytes, b->host, 0, NULL,
                                      &ev);
    if (!err && d->tq != d->q) {
        err = clFlush(d->tq);
        if (!err)
            err = clEnqueueBarrierWithWaitList(d->q, 1, &ev, NULL);
        if (err) /* q's order is not assured: the copy done before we go on is */
            err = clWaitForEvents(1, &ev);
    }
    if (err) {
        if (ev)
            clReleaseEvent(ev);
        return fronta__cl_buf_fail(msg, msz, "writing", d, b, err);
    }
    xfer_push(d, ev, b->bytes, h0);
    atomic_fetch_add_explicit(&d->bytes_to_dev, b->bytes, memory_order_relaxed);
    return 0;
}
