/* The eager policy: one central queue. Every ready task goes to the
 * injection queue (or the priority heap) and any idle worker takes the
 * oldest; nothing is kept per worker, so nothing waits behind a busy one.
 * Kernel tasks go to the admissible device with the fewest tasks placed
 * and not done: a central queue that whichever device is free drains. */
#include "sched/sched.h"
#include "core/kernel.h"

static void eager_push(fronta_future_t *t, const fronta__submitter *sub, int lifo)
{
    (void)sub;
    (void)lifo;
    fronta_runtime_t *rt = t->rt;
    if (t->priority && fronta__prio_push(&rt->prio, t->priority, t) == 0) {
        fronta__sched_wake(rt, 1);
        return;
    }
    fronta__inject_push(&rt->inject, &t->qnode);
    fronta__sched_wake(rt, 0);
}

static fronta_future_t *eager_pop(fronta__worker *w)
{
    fronta_runtime_t *rt = w->rt;
    fronta_future_t *t = w->next_task; /* set only by a policy switch: never here */
    if (t) {
        w->next_task = NULL;
        return t;
    }
    if ((t = fronta__prio_pop(&rt->prio, 1)))
        return t;
    fronta__qnode *n;
    if (fronta__inject_pop_many(&rt->inject, &n, 1))
        return (fronta_future_t *)((char *)n - offsetof(fronta_future_t, qnode));
    /* A guest's deque: wait-helping threads keep what they release there
     * only under ws, but a task may have been pushed before; drain them. */
    for (int i = rt->nworkers; i < rt->worker_cap; i++)
        if ((t = fronta__deque_steal(&rt->workers[i].deque)))
            return t;
    return fronta__prio_pop(&rt->prio, INT32_MIN);
}

static int eager_has_work(fronta__worker *w)
{
    fronta_runtime_t *rt = w->rt;
    if (w->next_task || atomic_load_explicit(&rt->prio.count, memory_order_seq_cst) ||
        fronta__inject_maybe_nonempty(&rt->inject))
        return 1;
    for (int i = rt->nworkers; i < rt->worker_cap; i++)
        if (fronta__deque_maybe_nonempty(&rt->workers[i].deque))
            return 1;
    return 0;
}

static int eager_place(const fronta__place_ctx *pc)
{
    const fronta_runtime_t *rt = pc->rt;
    int best = -1, best_n = 0;
    for (int id = 0; id < rt->ndevices; id++) {
        if (!(pc->cands >> id & 1))
            continue;
        int n = atomic_load_explicit(&rt->inflight[id], memory_order_relaxed);
        if (best < 0 || n < best_n) {
            best = id;
            best_n = n;
        }
    }
    return best;
}

const fronta__policy fronta__policy_eager = {
    .name = "eager",
    .description = "one central queue: any idle worker takes the oldest ready task",
    .push = eager_push,
    .pop = eager_pop,
    .has_work = eager_has_work,
    .place = eager_place,
};
