/* Pre-images: what undoes a failed kernel's writes when the device reports
 * the failure only at completion (docs/devices.md, section 8). */
#include <stdio.h>
#include <string.h>

#include "drivers/opencl/fault.h"
#include "drivers/opencl/opencl.h"

/* ---- pre-images ----
 *
 * A kernel's outputs become its buffers' contents when it is enqueued
 * (so that the kernels chained behind it use them), but a device may
 * report a kernel's failure only when it completes (its event's status),
 * after it wrote. Its buffers must then keep their last valid contents,
 * those before it -- or before the first of the failed kernels chained
 * in a row on them. What that costs depends on where those contents are:
 *
 * - on the host, with a real device copy (the copy path: a discrete GPU,
 *   FRONTA_ZERO_COPY=0), as for a chain's first kernel: the kernel writes
 *   only the device's replica, nothing is copied, and a failure makes the
 *   host copy the valid one again (coherence roll-back).
 * - only in the memory the kernel writes -- the device's replica after an
 *   earlier kernel there (a chain), or with zero-copy the user's array
 *   itself: a device-side copy (clEnqueueCopyBuffer, in queue order
 *   between the kernels before it and it) keeps them. One per kernel of a
 *   chain: each may fail after the one before it succeeded. On failure
 *   the replica becomes that copy (swapped, nothing copied back; with
 *   zero-copy it stops being the user's array, which gets the contents at
 *   its next host access or destroy, as from any device). A buffer the
 *   kernel only writes (OUT) needs no copy on the copy path: the kernel
 *   writes a spare device buffer that becomes the replica, the old one
 *   being the pre-image (a ping-pong on a GPU costs nothing). With
 *   zero-copy it is copied all the same: a fresh buffer would take the
 *   result out of the user's array, to be read back later.
 *
 * The waiter settles each kernel's record in queue order before its task
 * completes: a success drops what is held for its buffers, the first
 * failure of a run keeps its pre-image as the run's, a buffer's newest
 * writer decides. Copies are recycled through spare device buffers (else
 * each costs an allocation and, with PoCL, the first touch of its pages);
 * they are outside the mem resource's admission but count in the
 * device's mem_used, and under a memory limit (budget.c) the copy path
 * keeps pre-images on the host and no spares are kept. A device
 * that is lost takes its copies with it: the guarantee holds for failures
 * the device survives, and for contents the host holds. */

#define BIT(n) (1ull << (n))

typedef struct ocl_spare {
    cl_mem mem;
    size_t bytes;
    struct ocl_spare *next;
} ocl_spare;

/* A device buffer of `bytes`: a spare of that size, else a new one. */
static cl_mem spare_take(ocl_dev *d, size_t bytes, cl_int *err)
{
    for (ocl_spare **p = &d->spare; *p; p = &(*p)->next)
        if ((*p)->bytes == bytes) {
            ocl_spare *s = *p;
            cl_mem m = s->mem;
            *p = s->next;
            d->spare_bytes -= bytes;
            fronta__mem_free(&d->st->rt->alloc, s, sizeof *s);
            *err = CL_SUCCESS;
            return m;
        }
    *err = fronta__cl_fault(d->st, FRONTA__CLFAULT_ALLOC);
    cl_mem m = *err ? NULL : clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, bytes, NULL, err);
    if (m)
        fronta__cl_mem_count(d, bytes, 1);
    return m;
}

static void spare_release(ocl_dev *d, cl_mem m, size_t bytes)
{
    clReleaseMemObject(m);
    fronta__cl_mem_count(d, bytes, 0);
}

/* Kept for a later pre-image while the spares stay under their cap.
 * Commands still queued on m come before any later use (in order). */
static void spare_give(ocl_dev *d, cl_mem m, size_t bytes)
{
    if (!m)
        return;
    ocl_spare *s = NULL;
    /* Under a memory limit none is kept: the budget is the replicas'. */
    if (d->spare_bytes + bytes <= d->spare_cap && !fronta__cl_limit(d))
        s = fronta__mem_alloc(&d->st->rt->alloc, sizeof *s);
    if (!s) {
        spare_release(d, m, bytes);
        return;
    }
    s->mem = m;
    s->bytes = bytes;
    s->next = d->spare;
    d->spare = s;
    d->spare_bytes += bytes;
}

static ocl_undo *record_new(ocl_dev *d)
{
    ocl_undo *u = d->undo_free;
    if (u)
        d->undo_free = u->next;
    else
        u = fronta__mem_alloc(&d->st->rt->alloc, sizeof *u);
    if (u) {
        u->n = 0;
        u->next = NULL;
    }
    return u;
}

static void record_free(ocl_dev *d, ocl_undo *u)
{
    u->next = d->undo_free;
    d->undo_free = u;
}

/* The device copy of b's replica r, enqueued before the kernel; 1 when
 * no device memory could be had for it. */
static int snapshot(ocl_dev *d, fronta_buffer_t *b, const ocl_rep *r, cl_mem *out, char *msg,
                    size_t msz)
{
    cl_int err;
    cl_mem m = spare_take(d, b->bytes, &err);
    if (!m) {
        fronta__cl_buf_fail(msg, msz, "allocating the pre-image of", d, b,
                err ? err : CL_MEM_OBJECT_ALLOCATION_FAILURE);
        return 1;
    }
    err = clEnqueueCopyBuffer(d->q, r->mem, m, 0, 0, b->bytes, 0, NULL, NULL);
    if (err) {
        spare_give(d, m, b->bytes);
        return fronta__cl_buf_fail(msg, msz, "copying the pre-image of", d, b, err);
    }
    *out = m;
    return 0;
}

/* An OUT buffer the kernel does not read, not zero-copy: it writes a
 * spare buffer, which becomes the replica, and the replica's memory is
 * the pre-image as it is (nothing copied; the old contents are not the
 * kernel's to read). 1 when no device memory could be had. */
static int fresh(ocl_dev *d, const fronta_buffer_t *b, ocl_rep *r, cl_mem *out)
{
    cl_int err;
    cl_mem m = spare_take(d, b->bytes, &err);
    if (!m)
        return 1;
    *out = r->mem;
    r->mem = m;
    return 0;
}

/* Where b's contents before the kernel will be: p->mem NULL for the host
 * copy, else on the device. Contents only on another device come through
 * the host first, as any transfer does. */
static int pre_image(ocl_dev *d, fronta_buffer_t *b, int node, int reads, ocl_pre *p,
                     char *msg, size_t msz)
{
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    ocl_rep *r = b->rep[node];
    /* FRONTA_ROLLBACK=host: where only a device-side copy could keep the
     * contents (the memory the kernel writes holds the only copy), keep
     * none: no record, and a failure leaves what the kernel wrote. */
    if (d->st->rollback_host &&
        (r->zero_copy || ((b->valid & BIT(node)) && !(b->valid & BIT(0))))) {
        pthread_mutex_unlock(&b->lock);
        return 2;
    }
    if (!(b->valid & (BIT(0) | BIT(node))))
        rc = fronta__coh_fetch(b, 0, msg, msz);
    if (!rc && r->zero_copy && !(b->valid & BIT(node)))
        rc = fronta__coh_fetch(b, node, msg, msz);
    int keep = !rc && (r->zero_copy || !(b->valid & BIT(0))); /* on the device */
    /* Under a memory limit the copy path keeps it on the host: a device
     * copy would be memory that admission did not count (budget.c). */
    if (keep && !r->zero_copy && fronta__cl_limit(d)) {
        keep = 0;
        rc = 1;
    }
    p->fresh = keep && !reads && !r->zero_copy;
    if (p->fresh)
        p->fresh = (rc = fresh(d, b, r, &p->mem)) == 0;
    else if (keep)
        rc = snapshot(d, b, r, &p->mem, msg, msz);
    /* No device memory for it: the copy path keeps it on the host instead
     * (a read that waits for the queue). With zero-copy that is the array
     * the kernel writes: a device failure, as any allocation (fallback or
     * FRONTA_EDEVICE). */
    if (rc == 1 && !r->zero_copy)
        rc = fronta__coh_fetch(b, 0, msg, msz);
    pthread_mutex_unlock(&b->lock);
    return rc == 1 ? FRONTA_EDEVICE : rc;
}

int fronta__cl_undo_begin(ocl_dev *d, const fronta__ktask *kt, int node, ocl_undo **out,
                          char **msg)
{
    ocl_undo *u = NULL;
    char m[256];
    *out = NULL;
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        if (a->kind != FRONTA_ARG_BUFFER || !(a->access & FRONTA_ACCESS_OUT))
            continue;
        int seen = 0;
        for (int j = 0; u && j < u->n && !seen; j++)
            seen = u->pre[j].b == a->buffer;
        if (seen)
            continue;
        if (!u && !(u = record_new(d))) {
            *msg = fronta__cl_msg_fmt(d, "kernel '%s': out of host memory for its "
                                         "pre-images", kt->k->name);
            return FRONTA_ENOMEM;
        }
        u->kt = kt;
        u->node = node;
        ocl_pre *p = &u->pre[u->n];
        p->b = a->buffer;
        p->mem = NULL;
        p->version = 0;
        int reads = 0;
        for (uint32_t j = 0; j < kt->nargs && !reads; j++)
            reads = kt->args[j].kind == FRONTA_ARG_BUFFER && kt->args[j].buffer == a->buffer &&
                    (kt->args[j].access & FRONTA_ACCESS_IN);
        int rc = pre_image(d, a->buffer, node, reads, p, m, sizeof m);
        if (rc == 2) /* not kept (FRONTA_ROLLBACK=host) */
            continue;
        if (rc) {
            fronta__cl_undo_discard(d, u);
            *msg = fronta__cl_msg_fmt(d, "kernel '%s': %s", kt->k->name, m);
            return rc;
        }
        u->n++;
    }
    *out = u;
    return 0;
}

void fronta__cl_undo_written(ocl_dev *d, ocl_undo *u, fronta_buffer_t *b, int node)
{
    (void)d;
    for (int i = 0; u && i < u->n; i++)
        if (u->pre[i].b == b) {
            if (!u->pre[i].version) /* once, however often b is named */
                ((ocl_rep *)b->rep[node])->pending++;
            u->pre[i].version = b->version;
            return;
        }
}

void fronta__cl_undo_push(ocl_dev *d, ocl_undo *u)
{
    if (!u)
        return;
    u->next = NULL;
    if (d->undo_tail)
        d->undo_tail->next = u;
    else
        d->undo_head = u;
    d->undo_tail = u;
}

void fronta__cl_undo_discard(ocl_dev *d, ocl_undo *u)
{
    if (!u)
        return;
    for (int i = 0; i < u->n; i++) {
        ocl_pre *p = &u->pre[i];
        if (p->fresh) { /* the replica's memory back: it holds the contents */
            pthread_mutex_lock(&p->b->lock);
            ocl_rep *r = p->b->rep[u->node];
            cl_mem spare = r->mem;
            r->mem = p->mem;
            p->mem = spare;
            pthread_mutex_unlock(&p->b->lock);
        }
        spare_give(d, p->mem, p->b->bytes);
    }
    u->n = 0;
    record_free(d, u);
}

static void held_drop(ocl_dev *d, ocl_rep *r, const fronta_buffer_t *b)
{
    if (r->held)
        spare_give(d, r->held_mem, b->bytes);
    r->held = 0;
    r->held_mem = NULL;
}

/* b's newest writer failed: back to the contents held. */
static void restore(ocl_dev *d, fronta_buffer_t *b, ocl_rep *r, int node)
{
    if (r->held_mem) {
        cl_mem failed = r->mem;
        int zero_copy = r->zero_copy;
        r->mem = r->held_mem;
        r->zero_copy = 0;
        if (zero_copy) /* over the user's array: not a spare */
            clReleaseMemObject(failed);
        else
            spare_give(d, failed, b->bytes);
        b->valid = BIT(node);
    } else {
        b->valid = BIT(0); /* the host copy, untouched by the kernel */
    }
    /* A new data version: write-backs noted for the failed one are void. */
    b->version++;
    r->held = 0;
    r->held_mem = NULL;
    FRONTA__LOG(d->st->rt, FRONTA_LOG_INFO, "OpenCL '%s': a buffer of %zu bytes is back to its "
                "contents before the failed kernel (%s)", d->info.name, b->bytes,
                b->valid == BIT(0) ? "the host copy" : "a device copy");
}

static void settle_one(ocl_dev *d, ocl_pre *p, int node, int ok)
{
    fronta_buffer_t *b = p->b;
    pthread_mutex_lock(&b->lock);
    ocl_rep *r = b->rep[node];
    if (!r) { /* a replica outlives its kernels: defensive */
        spare_give(d, p->mem, b->bytes);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    r->pending--;
    if (ok) { /* its output supersedes whatever was held */
        held_drop(d, r, b);
        spare_give(d, p->mem, b->bytes);
    } else if (!r->held) { /* the first failure of a run: its pre-image is the run's */
        r->held = 1;
        r->held_mem = p->mem;
    } else {
        spare_give(d, p->mem, b->bytes);
    }
    if (b->version == p->version) { /* the newest writer decides */
        if (r->held)
            restore(d, b, r, node);
    } else if (!r->pending) { /* written since by someone else */
        held_drop(d, r, b);
    }
    p->mem = NULL;
    pthread_mutex_unlock(&b->lock);
}

void fronta__cl_undo_settle_now(ocl_dev *d, ocl_undo *u, int ok)
{
    for (int i = 0; u && i < u->n; i++)
        settle_one(d, &u->pre[i], u->node, ok);
    if (u) {
        u->n = 0;
        record_free(d, u);
    }
}

/* Does kt end well? As fronta__ktask_finish will decide: its status, and
 * no chained predecessor failed (those completed before it, in order). */
static int outcome_ok(const fronta__ktask *kt, int status_ok)
{
    for (uint32_t i = 0; status_ok && i < kt->ndeps; i++) {
        const fronta__kdep *dp = &kt->deps[i];
        if (dp->early && !dp->order_only && dp->pred && dp->pred->final != FRONTA__ST_FINISHED)
            return 0;
    }
    return status_ok;
}

void fronta__cl_undo_settle(ocl_dev *d, const fronta__ktask *kt, int status_ok)
{
    int ok = outcome_ok(kt, status_ok);
    pthread_mutex_lock(&d->undo_lock);
    ocl_undo *u = d->undo_head;
    if (u && u->kt == kt) { /* in queue order, as completions */
        d->undo_head = u->next;
        if (!d->undo_head) {
            d->undo_tail = NULL;
            pthread_cond_broadcast(&d->undo_cond);
        }
        fronta__cl_undo_settle_now(d, u, ok);
    }
    pthread_mutex_unlock(&d->undo_lock);
}

void fronta__cl_undo_init(ocl_dev *d)
{
    /* Spares: enough for a chain's copies of a large buffer (kernel_chain:
     * 8 x 64 MiB), never more than 1 GiB or an eighth of the device's
     * memory; beyond it each pre-image costs an allocation again. */
    uint64_t cap = d->info.global_mem / 8, most = (uint64_t)1 << 30;
    d->spare_cap = (size_t)(cap < most ? cap : most);
    pthread_mutex_init(&d->undo_lock, NULL);
    pthread_cond_init(&d->undo_cond, NULL);
}

void fronta__cl_undo_release(ocl_dev *d)
{
    const fronta__allocator *a = &d->st->rt->alloc;
    pthread_mutex_lock(&d->undo_lock);
    while (d->undo_head) { /* none once every task is done: defensive */
        ocl_undo *u = d->undo_head;
        d->undo_head = u->next;
        fronta__cl_undo_discard(d, u);
    }
    d->undo_tail = NULL;
    while (d->undo_free) {
        ocl_undo *u = d->undo_free;
        d->undo_free = u->next;
        fronta__mem_free(a, u, sizeof *u);
    }
    while (d->spare) {
        ocl_spare *s = d->spare;
        d->spare = s->next;
        spare_release(d, s->mem, s->bytes);
        fronta__mem_free(a, s, sizeof *s);
    }
    d->spare_bytes = 0;
    pthread_mutex_unlock(&d->undo_lock);
    pthread_mutex_destroy(&d->undo_lock);
    pthread_cond_destroy(&d->undo_cond);
}
