/* The memory budget of an OpenCL device: FRONTA_DEVICE_MEM_LIMIT, least
 * recently used replicas evicted to stay under it (docs/arrays.md,
 * section 10).
 *
 * What keeps it from deadlock and livelock (StarPU #38: two inputs of one
 * task evicting each other; PaRSEC #742):
 * - admission: a kernel task holds the "mem" resource (the bytes of its
 *   buffers) on its device from admission to its end, and the limit caps
 *   that resource; a task whose buffers exceed it fails at submit. So the
 *   replicas of the tasks in flight here always fit together, and
 *   evicting every other replica always makes room for the next launch.
 * - a launch stamps its own replicas first (launch_seq), so that its
 *   allocations never evict its other inputs; a kernel enqueued pins what
 *   it uses until it has run (busy_ev), the waiter's pending roll-backs
 *   pin what they may restore (ocl_rep.pending, held).
 * - a victim belongs to another buffer: its lock is only tried (the
 *   launch may hold one buffer's lock and the LRU lock is taken under
 *   buffer locks), a busy one is passed over. When the idle replicas do
 *   not make room, the launch lets every kernel enqueued here run and
 *   settle (then none is pinned but its own) and tries again; a victim
 *   another thread holds (its lock, an acquire, a pool task writing its
 *   host array) is retried for a bounded time (BUSY_TRIES).
 * A modified replica (the device holds the only copy) is written back to
 * the host first, on the transfer queue: a victim is idle, so the read
 * waits for no kernel and the kernels enqueued meanwhile keep running. */
#include <stdio.h>
#include <time.h>

#include "drivers/opencl/opencl.h"
#include "sched/resource.h"

#define BIT(n) (1ull << (n))
/* Tries, 1 ms apart, for victims that other threads hold: an acquire, a
 * pool task writing the host array (both end without this device), a
 * lock. Bounded: a pool task that waits, inside, for a task of this
 * device would otherwise deadlock; after 2 s the launch fails (or falls
 * back to the pool) with FRONTA_ERESOURCE. */
#define BUSY_TRIES 2000

uint64_t fronta__cl_limit(ocl_dev *d)
{
    return fronta__res_mem_limit(d->st->rt->res, fronta__cl_devid(d));
}

void fronta__cl_budget_init(ocl_dev *d)
{
    pthread_mutex_init(&d->lru_lock, NULL);
}

void fronta__cl_budget_release(ocl_dev *d)
{
    pthread_mutex_destroy(&d->lru_lock);
}

void fronta__cl_mem_count(ocl_dev *d, size_t bytes, int add)
{
    if (!add) {
        atomic_fetch_sub_explicit(&d->mem_used, bytes, memory_order_relaxed);
        return;
    }
    uint64_t now = atomic_fetch_add_explicit(&d->mem_used, bytes, memory_order_relaxed) + bytes;
    uint64_t peak = atomic_load_explicit(&d->mem_peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(&d->mem_peak, &peak, now,
                                                                memory_order_relaxed,
                                                                memory_order_relaxed)) {
    }
}

/* ---- the LRU list ---- */

static void unlink_rep(ocl_dev *d, ocl_rep *r)
{
    if (r->lru_prev)
        r->lru_prev->lru_next = r->lru_next;
    else
        d->lru_head = r->lru_next;
    if (r->lru_next)
        r->lru_next->lru_prev = r->lru_prev;
    else
        d->lru_tail = r->lru_prev;
    r->lru_prev = r->lru_next = NULL;
}

static void append_rep(ocl_dev *d, ocl_rep *r)
{
    r->lru_next = NULL;
    r->lru_prev = d->lru_tail;
    if (d->lru_tail)
        d->lru_tail->lru_next = r;
    else
        d->lru_head = r;
    d->lru_tail = r;
}

void fronta__cl_lru_add(ocl_dev *d, fronta_buffer_t *b, ocl_rep *r)
{
    r->b = b;
    r->stamp = atomic_load_explicit(&d->launch_seq, memory_order_relaxed);
    pthread_mutex_lock(&d->lru_lock);
    append_rep(d, r);
    r->on_lru = 1;
    pthread_mutex_unlock(&d->lru_lock);
}

void fronta__cl_lru_remove(ocl_dev *d, ocl_rep *r)
{
    if (r->on_lru) {
        pthread_mutex_lock(&d->lru_lock);
        unlink_rep(d, r);
        r->on_lru = 0;
        pthread_mutex_unlock(&d->lru_lock);
    }
    if (r->busy_ev)
        clReleaseEvent(r->busy_ev);
    r->busy_ev = NULL;
}

/* ---- eviction ---- */

/* Under r->b's lock: may r go? Not the launch's under way, nor one an
 * acquire holds, a kernel still uses, or a roll-back may restore; nor,
 * while a pool task writes its buffer's host array (a write-back would
 * land on its output), any. */
static int idle(const ocl_rep *r, uint64_t seq)
{
    if (r->stamp == seq || r->b->held || r->b->host_writers || r->pending || r->held)
        return 0;
    cl_int st = CL_COMPLETE;
    if (r->busy_ev && clGetEventInfo(r->busy_ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st,
                                     &st, NULL) != CL_SUCCESS)
        return 0;
    return st <= CL_COMPLETE;
}

/* The oldest idle replica, its buffer locked; NULL when none. */
static ocl_rep *victim(ocl_dev *d)
{
    uint64_t seq = atomic_load_explicit(&d->launch_seq, memory_order_relaxed);
    ocl_rep *v = NULL;
    pthread_mutex_lock(&d->lru_lock);
    /* A replica on the list has not been freed: its buffer is alive. */
    for (ocl_rep *r = d->lru_head; r && !v; r = r->lru_next) {
        if (pthread_mutex_trylock(&r->b->lock))
            continue;
        if (idle(r, seq))
            v = r;
        else
            pthread_mutex_unlock(&r->b->lock);
    }
    pthread_mutex_unlock(&d->lru_lock);
    return v;
}

/* Under b's lock: b's replica here freed, written back first when it
 * holds the only copy. 0, or -1 when the write-back failed (kept). */
static int evict_one(ocl_dev *d, fronta_buffer_t *b, ocl_rep *r, int node)
{
    if ((b->valid & BIT(node)) && !(b->valid & ~BIT(node))) {
        char msg[256];
        if (fronta__cl_write_back(d, b, r, msg, sizeof msg)) {
            FRONTA__LOG(d->st->rt, FRONTA_LOG_WARN, "OpenCL '%s': eviction: %s", d->info.name,
                        msg);
            return -1;
        }
        b->valid |= 1;
        atomic_fetch_add_explicit(&d->writebacks, 1, memory_order_relaxed);
    }
    fronta__coh_drop(b, node); /* through mem_free: off the list, uncounted */
    atomic_fetch_add_explicit(&d->evictions, 1, memory_order_relaxed);
    return 0;
}

int fronta__cl_evict(ocl_dev *d, uint64_t bytes)
{
    uint64_t lim = fronta__cl_limit(d);
    int node = fronta__cl_devid(d);
    while (lim) {
        uint64_t used = atomic_load_explicit(&d->mem_used, memory_order_relaxed);
        if (used <= lim && bytes <= lim - used)
            return 1;
        ocl_rep *r = victim(d);
        if (!r)
            return 0;
        fronta_buffer_t *b = r->b;
        int rc = evict_one(d, b, r, node);
        pthread_mutex_unlock(&b->lock);
        if (rc)
            return 0;
    }
    return 1;
}

/* ---- a launch's room ---- */

static int named_before(const fronta__ktask *kt, uint32_t i)
{
    for (uint32_t j = 0; j < i; j++)
        if (kt->args[j].kind == FRONTA_ARG_BUFFER && kt->args[j].buffer == kt->args[i].buffer)
            return 1;
    return 0;
}

static int writes(const fronta__ktask *kt, const fronta_buffer_t *b)
{
    for (uint32_t j = 0; j < kt->nargs; j++)
        if (kt->args[j].kind == FRONTA_ARG_BUFFER && kt->args[j].buffer == b &&
            (kt->args[j].access & FRONTA_ACCESS_OUT))
            return 1;
    return 0;
}

/* kt's replicas stamped seq and made the newest; the bytes its launch
 * will allocate: replicas it lacks (copy path) and, with zero-copy, the
 * device copies that keep what it writes (undo.c; on the copy path a
 * limited device keeps those on the host). */
static uint64_t stamp(ocl_dev *d, const fronta__ktask *kt, int node, uint64_t seq)
{
    int zero_copy = d->st->zero_copy && d->info.unified_memory;
    uint64_t need = 0;
    for (uint32_t i = 0; i < kt->nargs; i++) {
        fronta_buffer_t *b = kt->args[i].buffer;
        if (kt->args[i].kind != FRONTA_ARG_BUFFER || named_before(kt, i))
            continue;
        pthread_mutex_lock(&b->lock);
        ocl_rep *r = b->rep[node];
        if (r) {
            r->stamp = seq;
            if (r->on_lru) {
                pthread_mutex_lock(&d->lru_lock);
                unlink_rep(d, r);
                append_rep(d, r);
                pthread_mutex_unlock(&d->lru_lock);
            }
        }
        int zc = r ? r->zero_copy : zero_copy;
        if (!r && !zc)
            need += b->bytes;
        else if (zc && !d->st->rollback_host && writes(kt, b))
            need += b->bytes;
        pthread_mutex_unlock(&b->lock);
    }
    return need;
}

static void pause_ms(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

int fronta__cl_room(ocl_dev *d, const fronta__ktask *kt, int node, char **msg)
{
    uint64_t lim = fronta__cl_limit(d);
    if (!lim)
        return 0;
    uint64_t seq = atomic_fetch_add_explicit(&d->launch_seq, 1, memory_order_relaxed) + 1;
    uint64_t need = stamp(d, kt, node, seq);
    for (int round = 0; round <= BUSY_TRIES; round++) {
        if (fronta__cl_evict(d, need))
            return 0;
        if (round == 0) {
            /* Every kernel here run and settled: only kt's replicas stay
             * pinned, and admission left room for them. */
            fronta__cl_undo_drain(d);
            clFinish(d->q);
            continue;
        }
        pthread_mutex_unlock(&d->undo_lock);
        pause_ms();
        pthread_mutex_lock(&d->undo_lock);
    }
    *msg = fronta__cl_msg_fmt(d, "kernel '%s': %llu more bytes do not fit under the "
                                 "FRONTA_DEVICE_MEM_LIMIT of %llu bytes of OpenCL device '%s' "
                                 "(%llu in use that cannot be evicted)",
                              kt->k->name, (unsigned long long)need, (unsigned long long)lim,
                              d->info.name,
                              (unsigned long long)atomic_load_explicit(&d->mem_used,
                                                                       memory_order_relaxed));
    return FRONTA_ERESOURCE;
}

void fronta__cl_used(ocl_dev *d, const fronta__ktask *kt, int node)
{
    if (!kt->event || !fronta__cl_limit(d))
        return;
    for (uint32_t i = 0; i < kt->nargs; i++) {
        fronta_buffer_t *b = kt->args[i].buffer;
        if (kt->args[i].kind != FRONTA_ARG_BUFFER || named_before(kt, i))
            continue;
        pthread_mutex_lock(&b->lock);
        ocl_rep *r = b->rep[node];
        if (r && r->on_lru) {
            if (r->busy_ev)
                clReleaseEvent(r->busy_ev);
            clRetainEvent((cl_event)kt->event);
            r->busy_ev = kt->event;
        }
        pthread_mutex_unlock(&b->lock);
    }
}
