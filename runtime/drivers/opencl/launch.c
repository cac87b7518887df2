/* Launching a kernel task on an OpenCL device: its kernel object (built
 * through the program cache), its buffers made valid on the device, its
 * arguments, and the enqueue behind its chained predecessors' events. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A message sized to its text, so that free knows its size. */
static char *msg_fmt(ocl_dev *d, const char *fmt, ...) FRONTA_PRINTF(2, 3);
static char *msg_fmt(ocl_dev *d, const char *fmt, ...)
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

/* ---- kernel objects ---- */

void fronta__cl_kernels_release(ocl_dev *d)
{
    for (int i = 0; i < d->nkobj; i++)
        if (d->kobj[i])
            clReleaseKernel(d->kobj[i]);
    if (d->kobj)
        fronta__mem_free(&d->st->rt->alloc, d->kobj, (size_t)d->nkobj * sizeof *d->kobj);
    d->kobj = NULL;
    d->nkobj = 0;
}

static int grow_kobj(ocl_dev *d, int index)
{
    if (index < d->nkobj)
        return 0;
    int n = d->nkobj ? d->nkobj : 8;
    while (n <= index)
        n *= 2;
    cl_kernel *k = fronta__mem_realloc(&d->st->rt->alloc, d->kobj,
                                       (size_t)d->nkobj * sizeof *k, (size_t)n * sizeof *k);
    if (!k)
        return FRONTA_ENOMEM;
    memset(k + d->nkobj, 0, (size_t)(n - d->nkobj) * sizeof *k);
    d->kobj = k;
    d->nkobj = n;
    return 0;
}

static int build_kernel(ocl_dev *d, const fronta_kernel_t *k, cl_kernel *out, char **msg)
{
    cl_program prog;
    char *log = NULL;
    int rc = fronta__clprog_get(d->st->progs, d->ctx, d->id, k->cl_source, k->cl_options,
                                &prog, &log);
    if (rc) {
        *msg = msg_fmt(d, "OpenCL build of kernel '%s' for '%s' failed:\n%s", k->name,
                       d->info.name, log ? log : fronta_strerror(rc));
        if (log)
            fronta__clprog_log_free(d->st->progs, log);
        return rc;
    }
    cl_int err;
    cl_kernel kobj = clCreateKernel(prog, k->cl_entry, &err);
    if (!kobj) {
        *msg = msg_fmt(d, "kernel '%s': no __kernel '%s' in its OpenCL source (%s)", k->name,
                       k->cl_entry, fronta__cl_err_name(err));
        return FRONTA_EBUILD;
    }
    cl_uint nargs = 0;
    clGetKernelInfo(kobj, CL_KERNEL_NUM_ARGS, sizeof nargs, &nargs, NULL);
    if (nargs != k->nparams) {
        *msg = msg_fmt(d, "kernel '%s': its OpenCL function takes %u arguments, its "
                          "parameters are %zu", k->name, (unsigned)nargs, k->nparams);
        clReleaseKernel(kobj);
        return FRONTA_EARG;
    }
    *out = kobj;
    return 0;
}

/* The kernel object of k on d, built at first use. Failures are not
 * cached: the next task tries again (the program cache keeps successes). */
static int kernel_object(ocl_dev *d, const fronta_kernel_t *k, cl_kernel *out, char **msg)
{
    if (grow_kobj(d, k->index))
        return FRONTA_ENOMEM;
    if (!d->kobj[k->index]) {
        int rc = build_kernel(d, k, &d->kobj[k->index], msg);
        if (rc)
            return rc;
    }
    *out = d->kobj[k->index];
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
            *msg = msg_fmt(d, "kernel '%s': %s", kt->k->name, m);
            return rc;
        }
    }
    return 0;
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
        if (err) {
            *msg = msg_fmt(d, "kernel '%s': argument %u does not fit its OpenCL function (%s)",
                           kt->k->name, (unsigned)i, fronta__cl_err_name(err));
            return FRONTA_EARG;
        }
    }
    return 0;
}

/* ---- enqueue ---- */

static void event_free(void *ev)
{
    clReleaseEvent((cl_event)ev);
}

static int enqueue(ocl_dev *d, fronta__ktask *kt, cl_kernel kobj, char **msg)
{
    cl_event stack[16], *wait = stack;
    cl_uint nwait = 0;
    if (kt->ndeps > 16 && !(wait = malloc(kt->ndeps * sizeof *wait)))
        return FRONTA_ENOMEM;
    /* Chained predecessors: their events order us on the device. */
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        const fronta__ktask *pk = kt->deps[i].early ? fronta__ktask_of(kt->deps[i].pred) : NULL;
        if (pk && pk->event)
            wait[nwait++] = pk->event;
    }
    cl_event ev = NULL;
    cl_int err = fronta__cl_fault(d->st, FRONTA__CLFAULT_ENQUEUE);
    if (!err)
        err = clEnqueueNDRangeKernel(d->q, kobj, 1, NULL, &kt->global,
                                     kt->local ? &kt->local : NULL, nwait,
                                     nwait ? wait : NULL, &ev);
    if (wait != stack)
        free(wait);
    if (err) {
        *msg = msg_fmt(d, "kernel '%s': enqueue on OpenCL device '%s' failed (%s)",
                       kt->k->name, d->info.name, fronta__cl_err_name(err));
        return FRONTA_EDEVICE;
    }
    kt->event = ev;
    kt->event_free = event_free;
    if (nwait)
        atomic_fetch_add_explicit(&d->chained, 1, memory_order_relaxed);
    return 0;
}

int fronta__cl_launch(ocl_dev *d, fronta_future_t *t, char **msg)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    int node = atomic_load_explicit(&kt->dev, memory_order_relaxed);
    cl_kernel kobj;
    int rc = kernel_object(d, kt->k, &kobj, msg);
    if (!rc)
        rc = prepare_buffers(d, kt, node, msg);
    if (!rc)
        rc = set_args(d, kt, node, kobj, msg);
    if (!rc)
        rc = enqueue(d, kt, kobj, msg);
    if (rc)
        return rc;
    /* In queue order the outputs are now the device's: later kernels on
     * this queue see them; anyone else waits for our completion. */
    for (uint32_t i = 0; i < kt->nargs; i++) {
        fronta_buffer_t *b = kt->args[i].buffer;
        if (kt->args[i].kind != FRONTA_ARG_BUFFER || !(kt->args[i].access & FRONTA_ACCESS_OUT))
            continue;
        pthread_mutex_lock(&b->lock);
        fronta__coh_written(b, node);
        if (((const ocl_rep *)b->rep[node])->zero_copy)
            fronta__cl_wb_note(d, b);
        pthread_mutex_unlock(&b->lock);
    }
    return 0;
}
