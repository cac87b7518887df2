/* Chase-Lev work-stealing deque: the owner pushes and takes at the bottom,
 * thieves steal at the top. */
#ifndef FRONTA_QUEUE_DEQUE_H
#define FRONTA_QUEUE_DEQUE_H

#include <stdatomic.h>
#include <stdint.h>
#include "util/alloc.h"

typedef struct fronta__deque_array {
    int64_t cap;                     /* power of two */
    struct fronta__deque_array *retired;
    _Atomic(void *) buf[];
} fronta__deque_array;

typedef struct fronta__deque {
    _Alignas(64) atomic_int_fast64_t top;
    _Alignas(64) atomic_int_fast64_t bottom;
    _Atomic(fronta__deque_array *) arr;
    const fronta__allocator *alloc;
} fronta__deque;

/* Arrays shared by the deque and the SPMC queue. grow() copies [t, b) into
 * an array twice as large and chains the old one behind it: readers may
 * still be reading it, so it is freed only with the queue (free_all). */
fronta__deque_array *fronta__deque_array_new(const fronta__allocator *a, int64_t cap);
fronta__deque_array *fronta__deque_array_grow(const fronta__allocator *a,
                                              fronta__deque_array *old, int64_t t, int64_t b);
void fronta__deque_array_free_all(const fronta__allocator *a, fronta__deque_array *arr);

int fronta__deque_init(fronta__deque *d, const fronta__allocator *a, int64_t cap);
void fronta__deque_destroy(fronta__deque *d);
/* Owner only. FRONTA_ENOMEM when the deque is full and cannot grow. */
int fronta__deque_push_owner(fronta__deque *d, void *item);
/* Owner only; NULL when empty. */
void *fronta__deque_take_owner(fronta__deque *d);
/* Any thread; NULL when empty or when it lost a race (try elsewhere). */
void *fronta__deque_steal(fronta__deque *d);
/* Any thread; a hint that may be stale by the time it returns. */
int fronta__deque_maybe_nonempty(fronta__deque *d);

#endif
