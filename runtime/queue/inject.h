/* The injection queue: tasks submitted from outside the pool. Producers
 * never block; consumers take turns through a try-lock. */
#ifndef FRONTA_QUEUE_INJECT_H
#define FRONTA_QUEUE_INJECT_H

#include <stdatomic.h>

typedef struct fronta__qnode {
    _Atomic(struct fronta__qnode *) next;
} fronta__qnode;

typedef struct fronta__inject {
    _Alignas(64) _Atomic(fronta__qnode *) head;   /* producers */
    /* Written by the consumer under lock; read unlocked by emptiness checks. */
    _Alignas(64) _Atomic(fronta__qnode *) tail;
    atomic_flag lock;
    fronta__qnode stub;
} fronta__inject;

void fronta__inject_init(fronta__inject *q);
/* Any thread, lock-free (one atomic exchange). */
void fronta__inject_push(fronta__inject *q, fronta__qnode *n);
/* Any thread: pop up to max nodes under one lock; returns how many were
 * stored, 0 when empty or when another consumer holds the queue. */
unsigned fronta__inject_pop_many(fronta__inject *q, fronta__qnode **out, unsigned max);
int fronta__inject_maybe_nonempty(fronta__inject *q);

#endif
