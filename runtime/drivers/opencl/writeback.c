/* Batched write-back of zero-copy buffers.
 *
 * On a device that shares host memory a kernel writes the host array
 * itself, but the host may read it only after a map: a blocking map per
 * buffer is a round trip to the driver each (tens of microseconds on
 * PoCL), and reading 64 chunk buffers back one by one costs 64 of them.
 * Instead, when the device thread hands a batch of kernels to the waiter,
 * it enqueues a map/unmap (for reading) of each zero-copy buffer those
 * kernels wrote, behind them; the waiter waits for the last unmap instead
 * of the last kernel, and before completing the batch's tasks marks each
 * host copy valid -- unless the buffer was written again since (its
 * version moved). One wait for the whole batch; the host then reads the
 * results without asking the device. */
#include <stdio.h>
#include <string.h>

#include "drivers/opencl/opencl.h"

/* A kernel just enqueued wrote b's zero-copy replica. */
void fronta__cl_wb_note(ocl_dev *d, fronta_buffer_t *b)
{
    for (int i = 0; i < d->nwb; i++)
        if (d->wb[i].b == b) {
            d->wb[i].version = b->version;
            return;
        }
    if (d->nwb == d->wb_cap) {
        int cap = d->wb_cap ? 2 * d->wb_cap : 16;
        void *p = fronta__mem_realloc(&d->st->rt->alloc, d->wb,
                                      (size_t)d->wb_cap * sizeof *d->wb,
                                      (size_t)cap * sizeof *d->wb);
        if (!p)
            return; /* no write-back: a later host access maps by itself */
        d->wb = p;
        d->wb_cap = cap;
    }
    d->wb[d->nwb].b = b;
    d->wb[d->nwb].version = b->version;
    d->nwb++;
}

void fronta__cl_wb_release(ocl_dev *d)
{
    if (d->wb)
        fronta__mem_free(&d->st->rt->alloc, d->wb, (size_t)d->wb_cap * sizeof *d->wb);
    d->wb = NULL;
    d->nwb = d->wb_cap = 0;
}

/* Map and unmap one buffer for reading, not blocking; 1 when enqueued and
 * the map is the host array itself (the host copy will then be current). */
static int map_unmap(ocl_dev *d, fronta_buffer_t *b, int node, cl_event *last)
{
    const ocl_rep *r = b->rep[node];
    cl_int err;
    void *p = clEnqueueMapBuffer(d->q, r->mem, CL_FALSE, CL_MAP_READ, 0, b->bytes, 0, NULL,
                                 NULL, &err);
    if (!p)
        return 0;
    cl_event ev;
    if (clEnqueueUnmapMemObject(d->q, r->mem, p, 0, NULL, &ev))
        return 0;
    if (*last)
        clReleaseEvent(*last);
    *last = ev;
    atomic_fetch_add_explicit(&d->maps, 1, memory_order_relaxed);
    return p == b->host;
}

/* Device thread, at a hand-over: the batch's write-backs, or NULL. */
ocl_wb *fronta__cl_wb_enqueue(ocl_dev *d, int node)
{
    if (!d->nwb)
        return NULL;
    ocl_wb *wb = fronta__mem_alloc(&d->st->rt->alloc,
                                   sizeof *wb + (size_t)d->nwb * sizeof wb->item[0]);
    if (!wb) {
        d->nwb = 0;
        return NULL;
    }
    wb->last = NULL;
    wb->node = node;
    wb->n = 0;
    wb->cap = d->nwb;
    for (int i = 0; i < d->nwb; i++) {
        fronta_buffer_t *b = d->wb[i].b;
        pthread_mutex_lock(&b->lock);
        /* Written again by someone else since, or already back: skip. */
        if (b->version == d->wb[i].version && b->valid == (1ull << node) &&
            map_unmap(d, b, node, &wb->last))
            wb->item[wb->n++] = d->wb[i];
        pthread_mutex_unlock(&b->lock);
    }
    d->nwb = 0;
    return wb;
}

/* Waiter, once wb->last is complete and before the batch's tasks complete
 * (so the buffers are still alive and not yet written by their successors). */
void fronta__cl_wb_apply(ocl_dev *d, ocl_wb *wb)
{
    for (int i = 0; i < wb->n; i++) {
        fronta_buffer_t *b = wb->item[i].b;
        pthread_mutex_lock(&b->lock);
        if (b->version == wb->item[i].version && (b->valid & (1ull << wb->node)))
            b->valid |= 1;
        pthread_mutex_unlock(&b->lock);
    }
    if (wb->last)
        clReleaseEvent(wb->last);
    fronta__mem_free(&d->st->rt->alloc, wb, sizeof *wb + (size_t)wb->cap * sizeof wb->item[0]);
}
