/* Ready tasks with a non-zero priority: a max-heap under a lock. Tasks of
 * priority 0, nearly all of them, never touch it. */
#ifndef FRONTA_QUEUE_PRIO_H
#define FRONTA_QUEUE_PRIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "util/alloc.h"

typedef struct fronta__prio_item {
    int prio;
    uint64_t seq;   /* FIFO among equal priorities */
    void *item;
} fronta__prio_item;

typedef struct fronta__prio {
    atomic_int count;          /* read without the lock by idle checks */
    atomic_int top;            /* priority of the top item, when count > 0 */
    pthread_mutex_t lock;      /* guards items, n, cap, seq */
    fronta__prio_item *items;
    size_t n, cap;
    uint64_t seq;
    const fronta__allocator *alloc;
} fronta__prio;

int fronta__prio_init(fronta__prio *p, const fronta__allocator *a);
void fronta__prio_destroy(fronta__prio *p);
int fronta__prio_push(fronta__prio *p, int prio, void *item);
/* Pop the top item if its priority is >= min_prio. */
void *fronta__prio_pop(fronta__prio *p, int min_prio);

#endif
