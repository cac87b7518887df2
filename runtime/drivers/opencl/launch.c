/* Launching a kernel task on an OpenCL device: its kernel object
 * (variant.c), its NDRange (the launch shape, rounded to the kernel's
 * work-group and capped, checked against what the device allows), its
 * buffers made valid on the device, its arguments and shape arguments,
 * and the enqueue of its passes behind its chained predecessors' events. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "drivers/opencl/fault.h"
#include "drivers/opencl/opencl.h"

#define MSG_SIZE 512

int fronta__cl_can_run(const void *data, int i, const fronta_kernel_t *k)
{
    (void)data;
    (void)i;
    return k->cl_source != NULL;
}

static char *msg_new(ocl_dev *d, size_t size)
{
    return fronta__mem_alloc(&d->st->rt->alloc, size);
}

void fronta__cl_msg_free(ocl_dev *d, char *msg)
{
    if (msg)
        fronta__mem_free(&d->st->rt->alloc, msg, strlen(msg) + 1);
}

/* Sized to its text, so that free knows its size. */
char *fronta__cl_msg_fmt(ocl_dev *d, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *m = n >= 0 ? msg_new(d, (size_t)n + 1) : NULL;
    if (m)
        vsnprintf(m, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    va_end(ap);
    return m;
}

/* ---- the NDRange ---- */

typedef struct ocl_range {
    cl_uint dims;
    size_t global[2], local[2]; /* [0]: x, the column */
    int has_local;              /* else the driver picks */
    int from_kernel;            /* local is the kernel's cl_local */
} ocl_range;

/* A kernel whose cl_local has a y extent is written for a 2-D work-group:
 * it is always enqueued 2-D, a 1-D launch as one row of cols, so that its
 * get_local_id(1) and get_global_id(1) mean the same whatever the task's
 * shape. Any other kernel is enqueued with the task's dimensions (a 2-D
 * task of a kernel with a 1-D cl_local {x, 0} gets work-groups x by 1).
 * With cl_local the kernel's work-group wins over the task's. */
static void range_shape(const fronta__ktask *kt, ocl_range *r)
{
    const fronta_kernel_t *k = kt->k;
    const fronta__shape *sh = &kt->shape;
    int two = sh->dims == 2;
    r->dims = two || k->cl_local[1] ? 2 : 1;
    r->global[0] = sh->cols; /* a 1-D launch is one row of n */
    r->global[1] = sh->rows;
    r->from_kernel = k->cl_local[0] || k->cl_local[1];
    if (r->from_kernel) {
        r->local[0] = k->cl_local[0] ? k->cl_local[0] : 1;
        r->local[1] = k->cl_local[1] ? k->cl_local[1] : 1;
    } else if (two) {
        r->local[0] = sh->local_cols;
        r->local[1] = sh->local_rows;
    } else {
        r->local[0] = sh->local;
        r->local[1] = 1;
    }
    r->has_local = r->local[0] != 0;
}

/* Rounded up to a multiple of the kernel's work-group (its source checks
 * its indices against rows and cols), then capped at cl_groups groups. */
static int range_round(const fronta_kernel_t *k, ocl_range *r)
{
    for (cl_uint i = 0; i < r->dims; i++) {
        size_t g = r->global[i], l = r->local[i], rem = g % l;
        if (rem && g > SIZE_MAX - (l - rem))
            return -1;
        g += rem ? l - rem : 0;
        if (k->cl_groups[i] && k->cl_groups[i] <= SIZE_MAX / l && g > k->cl_groups[i] * l)
            g = k->cl_groups[i] * l;
        r->global[i] = g;
    }
    return 0;
}

/* Within the work-group size the device allows for this kernel object
 * (its local memory and registers count) and its per-dimension limits. */
static int range_fits(const ocl_dev *d, const ocl_kobj *ko, const ocl_range *r)
{
    size_t items = 1;
    for (cl_uint i = 0; i < r->dims; i++) {
        size_t l = r->local[i];
        if (l > d->item_max[i] || l > ko->wg_max || items > ko->wg_max / l)
            return 0;
        items *= l;
    }
    return 1;
}

/* The device refusing the work-group is a device failure (EDEVICE): the
 * task falls back to the CPU implementation where it has one. */
static int launch_range(ocl_dev *d, const fronta__ktask *kt, const ocl_kobj *ko, ocl_range *r,
                        char **msg)
{
    const fronta_kernel_t *k = kt->k;
    range_shape(kt, r);
    if (!r->has_local)
        return 0;
    if (!range_fits(d, ko, r)) {
        *msg = fronta__cl_msg_fmt(d, "kernel '%s': its work-group of %zu x %zu work items (%s) "
                                     "is more than OpenCL device '%s' allows for it (%zu in "
                                     "all, %zu x %zu per dimension)",
                                  k->name, r->local[0], r->local[1],
                                  r->from_kernel ? "cl_local" : "the task's local size",
                                  d->info.name, ko->wg_max, d->item_max[0], d->item_max[1]);
        return FRONTA_EDEVICE;
    }
    if (r->from_kernel && range_round(k, r)) {
        *msg = fronta__cl_msg_fmt(d, "kernel '%s': its launch rounded up to its work-group "
                                     "overflows size_t", k->name);
        return FRONTA_ESIZE;
    }
    return 0;
}

/* ---- data and arguments ---- */

/* Buffers the kernel reads made valid here; each buffer allocated. */
static int prepare_buffers(ocl_dev *d, const fronta__ktask *kt, int node, char **msg)
{
    char m[MSG_SIZE];
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        if (a->kind != FRONTA_ARG_BUFFER)
            continue;
        fronta_buffer_t *b = a->buffer;
        pthread_mutex_lock(&b->lock);
        int rc = fronta__coh_alloc(b, node, m, sizeof m);
        if (!rc && (a->access & FRONTA_ACCESS_IN))
            rc = fronta__coh_fetch(b, node, m, sizeof m);
        pthread_mutex_unlock(&b->lock);
        if (rc) {
            *msg = fronta__cl_msg_fmt(d, "kernel '%s': %s", kt->k->name, m);
            return rc;
        }
    }
    return 0;
}

static int arg_failed(ocl_dev *d, const fronta__ktask *kt, cl_uint i, cl_int err, char **msg)
{
    *msg = fronta__cl_msg_fmt(d, "kernel '%s': argument %u does not fit its OpenCL function (%s)",
                              kt->k->name, (unsigned)i, fronta__cl_err_name(err));
    return FRONTA_EARG;
}

static int set_args(ocl_dev *d, const fronta__ktask *kt, int node, cl_kernel kobj, char **msg)
{
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        cl_int err;
        switch (a->kind) {
        case FRONTA_ARG_BUFFER: {
            const ocl_rep *r = a->buffer->rep[node];
            err = clSetKernelArg(kobj, i, sizeof r->mem, &r->mem);
            break;
        }
        case FRONTA_ARG_I32:
            err = clSetKernelArg(kobj, i, sizeof a->v.i32, &a->v.i32);
            break;
        case FRONTA_ARG_I64:
            err = clSetKernelArg(kobj, i, sizeof a->v.i64, &a->v.i64);
            break;
        case FRONTA_ARG_F32:
            err = clSetKernelArg(kobj, i, sizeof a->v.f32, &a->v.f32);
            break;
        default:
            err = clSetKernelArg(kobj, i, sizeof a->v.f64, &a->v.f64);
            break;
        }
        if (err)
            return arg_failed(d, kt, i, err, msg);
    }
    return 0;
}

/* FRONTA_KERNEL_CL_SHAPE_ARGS: rows, cols, each buffer's count, the
 * scratch; *pass_arg the index of `pass` (set per enqueue). */
static int set_shape_args(ocl_dev *d, const fronta__ktask *kt, cl_kernel kobj, cl_uint *pass_arg,
                          char **msg)
{
    const fronta_kernel_t *k = kt->k;
    cl_ulong shape[2] = {kt->shape.rows, kt->shape.cols};
    cl_uint i = kt->nargs;
    cl_int err = CL_SUCCESS;
    for (int j = 0; j < 2 && !err; j++, i++)
        err = clSetKernelArg(kobj, i, sizeof shape[j], &shape[j]);
    for (uint32_t j = 0; j < kt->nargs && !err; j++) {
        if (kt->args[j].kind != FRONTA_ARG_BUFFER)
            continue;
        cl_ulong count = kt->args[j].buffer->count;
        err = clSetKernelArg(kobj, i++, sizeof count, &count);
    }
    if (!err && k->cl_scratch) {
        cl_mem m;
        int rc = fronta__cl_scratch(d, kt, (size_t)shape[0], (size_t)shape[1], &m, msg);
        if (rc)
            return rc;
        err = clSetKernelArg(kobj, i++, sizeof m, &m);
    }
    *pass_arg = i;
    return err ? arg_failed(d, kt, i - 1, err, msg) : 0;
}

/* ---- enqueue ---- */

static void event_free(void *ev)
{
    clReleaseEvent((cl_event)ev);
}

/* The passes in a row on the in-order queue: each sees what the one
 * before wrote. Only the first waits for the chained predecessors and only
 * the last has an event (the task's); the first pass's event is kept too
 * when there are several (its START is the task's, device.c), the ones
 * between never exist. OpenCL captures argument values at enqueue: `pass`
 * is reset for each. *ran: passes enqueued before a failure. */
static int enqueue(ocl_dev *d, fronta__ktask *kt, cl_kernel kobj, const ocl_range *r,
                   cl_uint pass_arg, unsigned *ran, char **msg)
{
    cl_event stack[16], *wait = stack;
    cl_uint nwait = 0;
    const fronta__allocator *a = &d->st->rt->alloc;
    *ran = 0;
    if (kt->ndeps > 16 && !(wait = fronta__mem_calloc(a, kt->ndeps, sizeof *wait))) {
        *msg = fronta__cl_msg_fmt(d, "kernel '%s': out of host memory for its wait list",
                                  kt->k->name);
        return FRONTA_ENOMEM;
    }
    /* Chained predecessors: their events order us on the device. */
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        const fronta__ktask *pk = kt->deps[i].early ? fronta__ktask_of(kt->deps[i].pred) : NULL;
        if (pk && pk->event)
            wait[nwait++] = pk->event;
    }
    unsigned passes = kt->k->cl_passes > 1 ? kt->k->cl_passes : 1;
    cl_event ev = NULL, first = NULL;
    cl_int err = CL_SUCCESS;
    kt->run_t0 = fronta__now_ns(); /* the host's view of its start, without profiling */
    for (cl_uint p = 0; p < passes && !err; p++) {
        cl_event *out = p + 1 == passes ? &ev : p == 0 ? &first : NULL;
        if (passes > 1)
            err = clSetKernelArg(kobj, pass_arg, sizeof p, &p);
        if (!err)
            err = fronta__cl_fault_after(d->st, FRONTA__CLFAULT_ENQUEUE);
        if (!err)
            err = clEnqueueNDRangeKernel(d->q, kobj, r->dims, NULL, r->global,
                                         r->has_local ? r->local : NULL, p ? 0 : nwait,
                                         p || !nwait ? NULL : wait, out);
        *ran += !err;
    }
    if (wait != stack)
        fronta__mem_free(a, wait, kt->ndeps * sizeof *wait);
    if (first && err)
        clReleaseEvent(first);
    else if (first)
        fronta__cl_first_push(d, kt, first);
    if (err) {
        *msg = fronta__cl_msg_fmt(d, "kernel '%s': enqueue%s on OpenCL device '%s' failed (%s)%s",
                                  kt->k->name, passes > 1 ? " of a pass" : "", d->info.name,
                                  fronta__cl_err_name(err),
                                  *ran ? "; its earlier passes ran and were rolled back" : "");
        return FRONTA_EDEVICE;
    }
    if (kt->event && kt->event_free) /* a retry's: the failed attempt's is done */
        kt->event_free(kt->event);
    kt->event = ev;
    kt->event_free = event_free;
    if (nwait)
        atomic_fetch_add_explicit(&d->chained, 1, memory_order_relaxed);
    return 0;
}

/* In queue order the outputs are now the device's: later kernels on this
 * queue see them; anyone else waits for our completion. u notes the
 * versions they wrote (the waiter's roll-back compares them). */
static void outputs_written(ocl_dev *d, const fronta__ktask *kt, int node, ocl_undo *u)
{
    for (uint32_t i = 0; i < kt->nargs; i++) {
        fronta_buffer_t *b = kt->args[i].buffer;
        if (kt->args[i].kind != FRONTA_ARG_BUFFER || !(kt->args[i].access & FRONTA_ACCESS_OUT))
            continue;
        pthread_mutex_lock(&b->lock);
        fronta__coh_written(b, node);
        fronta__cl_undo_written(d, u, b, node);
        if (((const ocl_rep *)b->rep[node])->zero_copy)
            fronta__cl_wb_note(d, b);
        pthread_mutex_unlock(&b->lock);
    }
}

/* From its inputs made valid to its outputs marked written, under
 * undo_lock: a roll-back of an earlier kernel on these buffers (by the
 * waiter) lands before or after, never between what this reads (their
 * replicas and coherence state, for its transfers, pre-images and
 * arguments) and what it marks. */
static int launch_locked(ocl_dev *d, fronta__ktask *kt, int node, const ocl_kobj *ko,
                         ocl_range *r, char **msg)
{
    cl_uint pass_arg = 0;
    unsigned ran = 0;
    ocl_undo *u = NULL;
    int rc = fronta__cl_room(d, kt, node, msg);
    if (!rc)
        rc = prepare_buffers(d, kt, node, msg);
    if (!rc)
        rc = fronta__cl_undo_begin(d, kt, node, &u, msg);
    if (!rc)
        rc = set_args(d, kt, node, ko->obj, msg);
    if (!rc && (kt->k->flags & FRONTA_KERNEL_CL_SHAPE_ARGS))
        rc = set_shape_args(d, kt, ko->obj, &pass_arg, msg);
    if (!rc)
        rc = enqueue(d, kt, ko->obj, r, pass_arg, &ran, msg);
    if (!rc || ran)
        outputs_written(d, kt, node, u);
    if (!rc) {
        fronta__cl_undo_push(d, u);
        fronta__cl_used(d, kt, node);
    } else if (ran) {
        /* Passes ran and changed its outputs: once every kernel before
         * it is settled, roll them back now (nothing is chained on it),
         * so the task may still fall back on its inputs as they were. */
        clFinish(d->q);
        fronta__cl_undo_drain(d);
        fronta__cl_undo_settle_now(d, u, 0);
    } else {
        fronta__cl_undo_discard(d, u);
    }
    return rc;
}

int fronta__cl_launch(ocl_dev *d, fronta_future_t *t, char **msg)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    int node = atomic_load_explicit(&kt->dev, memory_order_relaxed);
    const ocl_kobj *ko;
    ocl_range r;
    int rc = fronta__cl_kernel_object(d, kt, &ko, msg);
    if (!rc)
        rc = launch_range(d, kt, ko, &r, msg);
    if (rc)
        return rc;
    pthread_mutex_lock(&d->undo_lock);
    rc = launch_locked(d, kt, node, ko, &r, msg);
    pthread_mutex_unlock(&d->undo_lock);
    return rc;
}
