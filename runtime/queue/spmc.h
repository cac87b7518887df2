/* A single-producer multi-consumer unbounded FIFO of pointers: the queue of
 * one thread that submits from outside the pool. */
#ifndef FRONTA_QUEUE_SPMC_H
#define FRONTA_QUEUE_SPMC_H

#include <stdatomic.h>
#include <stdint.h>
#include "queue/deque.h"

/* Reuses the deque's array type: the owner appends at bottom with plain
 * and release stores (no locked instruction), consumers take from top by
 * CAS, several at a time. The owner never takes, so unlike Chase-Lev there
 * is no race for the last item. */
typedef struct fronta__spmc {
    _Alignas(64) atomic_int_fast64_t top;
    _Alignas(64) atomic_int_fast64_t bottom;
    _Atomic(fronta__deque_array *) arr;
    int64_t cached_top;              /* owner's stale view of top: fewer reads of a hot line */
    const fronta__allocator *alloc;
} fronta__spmc;

int fronta__spmc_init(fronta__spmc *q, const fronta__allocator *a, int64_t cap);
void fronta__spmc_destroy(fronta__spmc *q);
/* Owner only. FRONTA_ENOMEM when full and it cannot grow. */
int fronta__spmc_push_owner(fronta__spmc *q, void *item);
/* Any thread: up to max items, oldest first; 0 when empty or on a lost race. */
unsigned fronta__spmc_steal_many(fronta__spmc *q, void **out, unsigned max);
int fronta__spmc_maybe_nonempty(fronta__spmc *q);

#endif
