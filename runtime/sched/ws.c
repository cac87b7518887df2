/* The ws policy: work stealing. Per-worker deques (a released successor
 * runs next on the worker that released it), the queues of outside
 * submitters, the injection queue and the priority heap; idle workers
 * steal. Kernel tasks are placed by locality (ws_place). */
#include "sched/sched.h"
#include "core/kernel.h"

#define INJECT_BATCH 8

/* ---- the pool ---- */

void fronta__ws_push(fronta_future_t *t, const fronta__submitter *sub, int lifo)
{
    fronta_runtime_t *rt = t->rt;
    fronta__worker *w = sub->w;
    if (t->priority && fronta__prio_push(&rt->prio, t->priority, t) == 0) {
        fronta__sched_wake(rt, 1);
        return;
    }
    if (w) {
        if (lifo && !w->next_task) {
            w->next_task = t; /* this worker runs it next: nobody to wake */
            return;
        }
        if (fronta__deque_push_owner(&w->deque, t) == 0) {
            fronta__sched_wake(rt, 1);
            return;
        }
    } else if (sub->x && fronta__spmc_push_owner(&sub->x->q, t) == 0) {
        fronta__light_barrier(); /* pairs with the heavy one of park_worker */
        fronta__sched_wake(rt, 0);
        return;
    }
    fronta__inject_push(&rt->inject, &t->qnode);
    fronta__sched_wake(rt, 0);
}

/* Of a batch just taken from a shared queue, run the first (returned) and
 * keep the rest in our deque, where other workers can steal them: we take
 * them oldest first, thieves the newest. They were written by another
 * core, so fetch them all now rather than miss once per task later. */
static fronta_future_t *keep_rest(fronta__worker *w, fronta_future_t **buf, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        __builtin_prefetch(buf[i], 1, 3);
        __builtin_prefetch((char *)buf[i] + 64, 1, 3);
    }
    unsigned kept = 0;
    for (unsigned i = n; i-- > 1;)
        if (fronta__deque_push_owner(&w->deque, buf[i]) == 0)
            kept++;
        else
            fronta__inject_push(&w->rt->inject, &buf[i]->qnode);
    if (kept)
        fronta__sched_wake(w->rt, 1);
    return buf[0];
}

static fronta_future_t *take_injected(fronta__worker *w)
{
    fronta__qnode *nodes[INJECT_BATCH];
    unsigned n = fronta__inject_pop_many(&w->rt->inject, nodes, INJECT_BATCH);
    if (!n)
        return NULL;
    fronta_future_t *buf[INJECT_BATCH];
    for (unsigned i = 0; i < n; i++)
        buf[i] = (fronta_future_t *)((char *)nodes[i] - offsetof(fronta_future_t, qnode));
    return keep_rest(w, buf, n);
}

/* A batch from the queues of outside submitters, oldest first. */
static fronta_future_t *take_external(fronta__worker *w)
{
    fronta_runtime_t *rt = w->rt;
    unsigned nx = atomic_load_explicit(&rt->next_ext, memory_order_acquire);
    if (!nx)
        return NULL;
    void *buf[INJECT_BATCH];
    unsigned start = (unsigned)(w->victim_seed >> 40) % nx;
    for (unsigned k = 0; k < nx; k++) {
        unsigned n = fronta__spmc_steal_many(&rt->ext[(start + k) % nx].q, buf, INJECT_BATCH);
        if (n)
            return keep_rest(w, (fronta_future_t **)buf, n);
    }
    return NULL;
}

/* Victims are every worker, guests (threads helping while they wait)
 * included: what a guest released must not wait for the guest. */
static fronta_future_t *steal(fronta__worker *w)
{
    fronta_runtime_t *rt = w->rt;
    int n = rt->worker_cap;
    if (n < 2)
        return NULL;
    w->victim_seed = w->victim_seed * 6364136223846793005ull + 1442695040888963407ull;
    int start = (int)((w->victim_seed >> 33) % (uint64_t)n);
    for (int k = 0; k < n; k++) {
        fronta__worker *v = &rt->workers[(start + k) % n];
        if (v == w)
            continue;
        fronta_future_t *t = fronta__deque_steal(&v->deque);
        if (t) {
            atomic_fetch_add_explicit(&w->tasks_stolen, 1, memory_order_relaxed);
            return t;
        }
    }
    return NULL;
}

fronta_future_t *fronta__ws_pop(fronta__worker *w)
{
    fronta_future_t *t = w->next_task;
    if (t) {
        w->next_task = NULL;
        return t;
    }
    fronta_runtime_t *rt = w->rt;
    /* Positive priorities go before everything else; negative ones after. */
    if ((t = fronta__prio_pop(&rt->prio, 1)))
        return t;
    if ((t = fronta__deque_take_owner(&w->deque)))
        return t;
    if ((t = take_external(w)))
        return t;
    if ((t = take_injected(w)))
        return t;
    if ((t = steal(w)))
        return t;
    return fronta__prio_pop(&rt->prio, INT32_MIN);
}

int fronta__ws_has_work(fronta__worker *w)
{
    fronta_runtime_t *rt = w->rt;
    if (w->next_task || atomic_load_explicit(&rt->prio.count, memory_order_seq_cst) ||
        fronta__inject_maybe_nonempty(&rt->inject))
        return 1;
    for (int i = 0; i < rt->worker_cap; i++)
        if (fronta__deque_maybe_nonempty(&rt->workers[i].deque))
            return 1;
    unsigned nx = atomic_load_explicit(&rt->next_ext, memory_order_acquire);
    for (unsigned i = 0; i < nx; i++)
        if (fronta__spmc_maybe_nonempty(&rt->ext[i].q))
            return 1;
    return 0;
}

/* ---- devices: locality ---- */

/* Where the data's last writer is queued (the chain stays on its device),
 * else where the data it reads lives while the host copy is stale, else
 * a GPU, else the pool, else any device that can run it. */
int fronta__ws_place(const fronta__place_ctx *pc)
{
    const fronta_runtime_t *rt = pc->rt;
    const fronta__kbufs *kb = pc->kb;
    uint64_t c = pc->cands;
    for (size_t i = 0; i < kb->n; i++) {
        const fronta_future_t *w = kb->b[i]->last_writer;
        const fronta__ktask *wk = w ? fronta__ktask_of(w) : NULL;
        int d = wk ? atomic_load_explicit(&wk->dev, memory_order_acquire) : 0;
        if (d > 0 && (c >> d & 1) && !fronta_future_done(w))
            return d;
    }
    int best = -1;
    size_t best_bytes = 0;
    for (int id = 1; id < rt->ndevices; id++) {
        /* The device that alone holds the most of what we read: running
         * there saves bringing it back to the host. */
        size_t bytes = 0;
        for (size_t i = 0; i < kb->n; i++)
            if ((kb->mode[i] & FRONTA_ACCESS_IN) && (kb->b[i]->valid & (1ull << id)) &&
                !(kb->b[i]->valid & 1))
                bytes += kb->b[i]->bytes;
        if (bytes > best_bytes && (c >> id & 1)) {
            best = id;
            best_bytes = bytes;
        }
    }
    if (best > 0)
        return best;
    int other = -1;
    for (int id = 1; id < rt->ndevices; id++) {
        if (!(c >> id & 1))
            continue;
        if (rt->devices[id].type == FRONTA_DEVTYPE_GPU)
            return id;
        if (other < 0)
            other = id;
    }
    return (c & 1) ? 0 : other;
}

const fronta__policy fronta__policy_ws = {
    .name = "ws",
    .description = "work stealing over per-worker deques; kernel tasks placed by locality",
    .push = fronta__ws_push,
    .pop = fronta__ws_pop,
    .has_work = fronta__ws_has_work,
    .place = fronta__ws_place,
};
