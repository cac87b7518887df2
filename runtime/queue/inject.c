/* The injection queue: Vyukov's intrusive MPSC queue, whose single consumer
 * side is shared by the workers through a try-lock. */
#include "queue/inject.h"

#include <stddef.h>

void fronta__inject_init(fronta__inject *q)
{
    atomic_init(&q->stub.next, NULL);
    atomic_init(&q->head, &q->stub);
    atomic_init(&q->tail, &q->stub);
    atomic_flag_clear(&q->lock);
}

void fronta__inject_push(fronta__inject *q, fronta__qnode *n)
{
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* seq_cst: a worker going to sleep re-checks the queue after announcing
     * itself, and the submitter reads the sleeper count after this. */
    fronta__qnode *prev = atomic_exchange_explicit(&q->head, n, memory_order_seq_cst);
    atomic_store_explicit(&prev->next, n, memory_order_release);
}

/* Caller holds the lock: tail is ours (relaxed), published for the
 * emptiness check with release. */
static void set_tail(fronta__inject *q, fronta__qnode *n)
{
    atomic_store_explicit(&q->tail, n, memory_order_release);
}

static fronta__qnode *pop_locked(fronta__inject *q)
{
    fronta__qnode *tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    fronta__qnode *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (!next)
            return NULL;
        set_tail(q, next);
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next) {
        set_tail(q, next);
        return tail;
    }
    /* tail is the last node, or a producer is between its exchange and its
     * link store; in the second case come back later. */
    if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
        return NULL;
    fronta__inject_push(q, &q->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next) {
        set_tail(q, next);
        return tail;
    }
    return NULL;
}

unsigned fronta__inject_pop_many(fronta__inject *q, fronta__qnode **out, unsigned max)
{
    if (!fronta__inject_maybe_nonempty(q))
        return 0;
    if (atomic_flag_test_and_set_explicit(&q->lock, memory_order_acquire))
        return 0;
    unsigned n = 0;
    while (n < max) {
        fronta__qnode *x = pop_locked(q);
        if (!x)
            break;
        out[n++] = x;
    }
    atomic_flag_clear_explicit(&q->lock, memory_order_release);
    return n;
}

int fronta__inject_maybe_nonempty(fronta__inject *q)
{
    /* Empty is head and tail both at the stub. head alone is not enough: a
     * producer may push X between a consumer's last-node check and its
     * re-push of the stub, which leaves X queued (tail) with head at the
     * stub -- a sleeping worker would then miss X for good. seq_cst on head
     * pairs with the exchange in push for the sleep/wake handshake; tail is
     * never the stub while a node is queued before the stub. */
    return atomic_load_explicit(&q->head, memory_order_seq_cst) != &q->stub ||
           atomic_load_explicit(&q->tail, memory_order_acquire) != &q->stub;
}
