/* Dependencies of kernel tasks and their life on a device: edges that
 * fire at a predecessor's completion or, on the same device, at its
 * enqueue (chaining); readiness, fallback, completion. */
#include "core/kernel.h"
#include "sched/sched.h"

#include <string.h>

/* ---- dependencies ---- */

void fronta__ktask_release_preds(fronta__ktask *kt)
{
    for (uint32_t i = 0; i < kt->ndeps; i++)
        if (kt->deps[i].pred) {
            fronta__task_release(kt->deps[i].pred);
            kt->deps[i].pred = NULL;
        }
    if (kt->replaced) { /* held no longer: else accesses would chain up */
        fronta__task_release(kt->replaced);
        kt->replaced = NULL;
    }
}

/* pred completed: the dependency fires unless its enqueue fired it. */
static void kdep_complete(fronta__node *n, fronta_future_t *done, fronta__worklist *wl)
{
    fronta__kdep *d = (fronta__kdep *)((char *)n - offsetof(fronta__kdep, node));
    fronta_future_t *s = d->succ;
    if (!atomic_exchange_explicit(&d->fired, 1, memory_order_acq_rel)) {
        /* Failed, s never runs; but it completes only once its last
         * dependency fires (fronta__ktask_ready): it holds a place in its
         * buffers' order, and what follows it there must still follow the
         * tasks s itself follows. The error is written before the count
         * drops, so whoever takes it to 0 sees it. */
        if (!d->order_only && done->final != FRONTA__ST_FINISHED && fronta__claim(s))
            fronta__dep_fail(s, done);
        if (atomic_fetch_sub_explicit(&s->pending, 1, memory_order_acq_rel) == 1)
            fronta__ktask_ready(s, wl);
    }
    fronta__task_release(s); /* the node's reference */
}

/* pred was enqueued on s's device: s may be enqueued behind its event. */
static void kdep_early(fronta__kdep *d)
{
    if (atomic_exchange_explicit(&d->fired, 1, memory_order_acq_rel))
        return;
    d->early = 1;
    if (atomic_fetch_sub_explicit(&d->succ->pending, 1, memory_order_acq_rel) == 1)
        fronta__ktask_ready(d->succ, NULL);
}

/* The enqueue list: a push-only stack closed once, as completion lists. */
static int enq_push(fronta__ktask *kt, fronta__node *n)
{
    fronta__node *h = atomic_load_explicit(&kt->enq_list, memory_order_acquire);
    do {
        if (h == FRONTA__LIST_CLOSED)
            return 1;
        n->next = h;
    } while (!atomic_compare_exchange_weak_explicit(&kt->enq_list, &h, n, memory_order_release,
                                                    memory_order_acquire));
    return 0;
}

void fronta__ktask_enqueued(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    fronta__node *h = atomic_exchange_explicit(&kt->enq_list, FRONTA__LIST_CLOSED,
                                               memory_order_acq_rel);
    fronta__node *r = NULL; /* oldest first: the chain's order */
    while (h && h != FRONTA__LIST_CLOSED) {
        fronta__node *next = h->next;
        h->next = r;
        r = h;
        h = next;
    }
    while (r) {
        fronta__node *next = r->next; /* s may be enqueued and done before we look again */
        kdep_early((fronta__kdep *)((char *)r - offsetof(fronta__kdep, enq)));
        r = next;
    }
}

/* Chain on p's enqueue? Not on a task that may be retried: its first
 * attempt's output, which we would read, may be a failure's. Not to or
 * from a co-executed chunk: its device is picked when it is released. */
static int same_device(const fronta__ktask *kt, const fronta_future_t *p)
{
    const fronta__ktask *pk = fronta__ktask_of(p);
    int d = atomic_load_explicit(&kt->dev, memory_order_relaxed);
    return pk && d > 0 && p->retries == 0 && !kt->movable && !pk->movable &&
           atomic_load_explicit(&pk->dev, memory_order_acquire) == d;
}

/* Link the dependencies, then let the task go once they are met. */
void fronta__kdep_publish(fronta_future_t *t, fronta__ktask *kt)
{
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        fronta__kdep *d = &kt->deps[i];
        fronta_future_t *p = d->pred;
        if (fronta__list_push(p, &d->node) == 0) {
            if (same_device(kt, p) && enq_push(fronta__ktask_of(p), &d->enq))
                kdep_early(d); /* already enqueued */
            continue;
        }
        /* p is done: settle the dependency here (a failure, as in
         * kdep_complete, completes t only with its last dependency). */
        atomic_store_explicit(&d->fired, 1, memory_order_relaxed);
        if (!d->order_only && p->final != FRONTA__ST_FINISHED && fronta__claim(t))
            fronta__dep_fail(t, p);
        atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel);
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_relaxed);
    }
    if (atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel) == 1)
        fronta__ktask_ready(t, NULL);
}

/* Add pred p (deduplicated: a task named twice is one dependency, failing
 * ours unless every mention is order-only). */
static fronta__kdep *kdep_find(fronta__ktask *kt, const fronta_future_t *p, uint32_t **slot)
{
    *slot = NULL;
    if (!kt->dedup) {
        for (uint32_t i = 0; i < kt->ndeps; i++)
            if (kt->deps[i].pred == p)
                return &kt->deps[i];
        return NULL;
    }
    size_t mask = kt->dedup_size - 1;
    for (size_t h = fronta__mix64((uint64_t)(uintptr_t)p) & mask;; h = (h + 1) & mask) {
        uint32_t v = kt->dedup[h];
        if (v == 0) {
            *slot = &kt->dedup[h];
            return NULL;
        }
        if (kt->deps[v - 1].pred == p)
            return &kt->deps[v - 1];
    }
}

void fronta__kdep_add(fronta__ktask *kt, fronta_future_t *p, int order_only)
{
    uint32_t *slot;
    fronta__kdep *found = kdep_find(kt, p, &slot);
    if (found) {
        found->order_only &= (uint8_t)order_only;
        return;
    }
    if (slot)
        *slot = kt->ndeps + 1;
    fronta__kdep *d = &kt->deps[kt->ndeps++];
    d->pred = p;
    d->order_only = (uint8_t)order_only;
    d->node.fire = kdep_complete;
}

/* ---- the task's way to a device ---- */

/* Was any dependency fired at its predecessor's enqueue (chained)? Then
 * that predecessor may still run on the device. */
int fronta__ktask_chained(const fronta__ktask *kt)
{
    for (uint32_t i = 0; i < kt->ndeps; i++)
        if (kt->deps[i].early)
            return 1;
    return 0;
}

/* The task leaves its device for good: what it holds goes back. */
static void leave_device(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    if (!kt->k)
        return; /* a host access: never placed */
    fronta__sched_kernel_release(t);
    fronta__sched_kernel_left(t->rt, kt, atomic_load_explicit(&kt->dev, memory_order_relaxed));
}

void fronta__ktask_settle(fronta_future_t *t, fronta__worklist *wl)
{
    leave_device(t);
    fronta__ktask_release_preds(fronta__ktask_of(t));
    if (wl) { /* with its execution reference, dropped after completing it */
        t->work_next = wl->head;
        wl->head = t;
        return;
    }
    fronta__complete(t);
    fronta__exec_done(t);
}

void fronta__ktask_ready(fronta_future_t *t, fronta__worklist *wl)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    if (!kt->k) { /* a host access: it sees its own outcome */
        fronta__access_ready(t, wl);
        return;
    }
    unsigned st = atomic_load_explicit(&t->state, memory_order_acquire) & FRONTA__ST_MASK;
    int id = atomic_load_explicit(&kt->dev, memory_order_acquire);
    if (st == FRONTA__ST_CLAIMED && !(id > 0 && fronta__ktask_chained(kt))) {
        fronta__ktask_settle(t, wl); /* failed or cancelled: every input is complete */
        return;
    }
    if (st != FRONTA__ST_PENDING && st != FRONTA__ST_CLAIMED) {
        fronta__ktask_drop(t); /* completed already */
        return;
    }
    if (st == FRONTA__ST_PENDING) {
        fronta__sched_kernel_ready(t); /* its resources, then its device */
        return;
    }
    /* Claimed behind a kernel still on its device: the device thread
     * completes it in queue order. */
    const fronta__device *dev = &t->rt->devices[id];
    dev->drv->submit(dev->data, dev->local, t);
}

int fronta__ktask_cancel(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    /* While an input has still to fire, hold the count up while claiming:
     * the completion is then left to whoever takes the count to 0
     * (fronta__ktask_ready), after the tasks t follows, and it sees the
     * error written here. */
    int p = atomic_load_explicit(&t->pending, memory_order_acquire);
    while (p > 0 && !atomic_compare_exchange_weak_explicit(&t->pending, &p, p + 1,
                                                           memory_order_acq_rel,
                                                           memory_order_acquire))
        ;
    int gated = p > 0;
    /* Ready for a device: handed to its thread, it counts as running (an
     * enqueued predecessor may still run there; the thread, not us, would
     * have to complete it in order). On the pool every input is complete. */
    int claimed = (gated || atomic_load_explicit(&kt->dev, memory_order_acquire) == 0) &&
                  fronta__claim(t);
    if (claimed) {
        t->final = FRONTA__ST_CANCELLED;
        fronta__set_error(t, FRONTA_ECANCELLED, t->id, NULL);
    }
    if (gated) {
        if (atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel) == 1)
            fronta__ktask_ready(t, NULL);
        return claimed;
    }
    if (!claimed && fronta__sched_kernel_unwait(t)) {
        /* It waited for resources, not handed to its device yet: the
         * execution is ours, and so is settling it (in queue order when
         * it is chained behind kernels there). */
        if ((claimed = fronta__claim(t))) {
            t->final = FRONTA__ST_CANCELLED;
            fronta__set_error(t, FRONTA_ECANCELLED, t->id, NULL);
        }
        fronta__ktask_ready(t, NULL);
        return claimed;
    }
    if (claimed) { /* as fronta_future_cancel: one more reference while completing */
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
        fronta__complete(t);
        if (fronta__sched_kernel_unwait(t)) /* it waited for the pool's resources */
            fronta__ktask_drop(t);
        fronta__task_release(t);
    }
    return claimed;
}

void fronta__ktask_drop(fronta_future_t *t)
{
    leave_device(t);
    fronta__ktask_release_preds(fronta__ktask_of(t));
    fronta__exec_done(t);
}

void fronta__ktask_fall_back(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    /* Predecessors we were chained on are on the device's queue: on the
     * pool we must wait for them like any other dependency. */
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        const fronta__kdep *d = &kt->deps[i];
        if (!d->early)
            continue;
        fronta__future_wait(d->pred, -1); /* on the device thread: no misuse check */
        if (!d->order_only && d->pred->final != FRONTA__ST_FINISHED) {
            fronta__ktask_finish(t, 0, NULL); /* fails it, naming d->pred */
            return;
        }
    }
    /* Successors that chose to chain on our enqueue now wait for our
     * completion on the host: their completion nodes are still linked. */
    fronta__sched_kernel_release(t);
    fronta__sched_replace(t->rt, kt, 0);
    atomic_store_explicit(&kt->dev, 0, memory_order_release);
    fronta__task_unstart(t);
    fronta__sched_kernel_ready(t); /* admitted on the pool, then made ready */
}

/* A failed attempt on a device, with attempts left: run it again -- on
 * the pool when it can fall back there (another device; the failure may
 * be this one's), else on the same device, behind what is queued there.
 * Chained predecessors ran before it (the queue is in order) or are
 * waited for by the fallback. 0 when it is not retried. */
static int retry(fronta_future_t *t, const char *msg)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    if (t->attempt >= t->retries || atomic_load_explicit(&t->cancel_req, memory_order_relaxed) ||
        (atomic_load_explicit(&t->rt->flags, memory_order_relaxed) & FRONTA__RT_CANCELLING))
        return 0;
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        const fronta__kdep *d = &kt->deps[i];
        if (d->early && !d->order_only && fronta_future_done(d->pred) &&
            d->pred->final != FRONTA__ST_FINISHED)
            return 0; /* its input failed: another attempt cannot help */
    }
    t->attempt++;
    int dev = atomic_load_explicit(&kt->dev, memory_order_relaxed);
    FRONTA__LOG(t->rt, FRONTA_LOG_INFO, "task %llu (%s): attempt %u on device %d failed: %s; "
                "retrying", (unsigned long long)t->id, kt->k->name, t->attempt - 1u, dev,
                msg ? msg : "");
    if (kt->can_fall_back) {
        fronta__ktask_fall_back(t);
        return 1;
    }
    fronta__sched_kernel_release(t);
    fronta__sched_replace(t->rt, kt, dev);
    fronta__task_unstart(t);
    fronta__sched_kernel_ready(t);
    return 1;
}

void fronta__ktask_finish(fronta_future_t *t, int code, const char *msg)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    if (code && retry(t, msg))
        return;
    leave_device(t);
    t->final = FRONTA__ST_FINISHED;
    if (code) {
        t->final = FRONTA__ST_FAILED;
        fronta__set_error(t, code, t->id, msg);
    } else {
        /* Chained predecessors ran before us on the device; if one failed,
         * what we computed from its output is not a result. */
        for (uint32_t i = 0; i < kt->ndeps; i++) {
            const fronta__kdep *d = &kt->deps[i];
            if (d->early && !d->order_only && d->pred->final != FRONTA__ST_FINISHED) {
                fronta__dep_fail(t, d->pred);
                break;
            }
        }
    }
    fronta__ktask_release_preds(kt);
    fronta__complete(t);
    fronta__exec_done(t);
}

void fronta__ktask_free(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    const fronta__allocator *a = &t->rt->alloc;
    fronta__ktask_release_preds(kt);
    if (kt->event && kt->event_free)
        kt->event_free(kt->event);
    if (kt->deps)
        fronta__mem_free(a, kt->deps, kt->deps_cap * sizeof *kt->deps);
    fronta__mem_free(a, kt, sizeof *kt);
}
