/* A single-producer multi-consumer unbounded FIFO of pointers. */
#include "queue/spmc.h"

int fronta__spmc_init(fronta__spmc *q, const fronta__allocator *a, int64_t cap)
{
    q->alloc = a;
    q->cached_top = 0;
    atomic_init(&q->top, 0);
    atomic_init(&q->bottom, 0);
    fronta__deque_array *arr = fronta__deque_array_new(a, cap);
    atomic_init(&q->arr, arr);
    return arr ? 0 : FRONTA_ENOMEM;
}

void fronta__spmc_destroy(fronta__spmc *q)
{
    fronta__deque_array_free_all(q->alloc,
                                 atomic_load_explicit(&q->arr, memory_order_relaxed));
    atomic_store_explicit(&q->arr, NULL, memory_order_relaxed);
}

int fronta__spmc_push_owner(fronta__spmc *q, void *item)
{
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
    fronta__deque_array *a = atomic_load_explicit(&q->arr, memory_order_relaxed);
    if (b - q->cached_top >= a->cap) {
        /* Only now read top, a line the consumers write. */
        q->cached_top = atomic_load_explicit(&q->top, memory_order_acquire);
        if (b - q->cached_top >= a->cap) {
            if (!(a = fronta__deque_array_grow(q->alloc, a, q->cached_top, b)))
                return FRONTA_ENOMEM;
            atomic_store_explicit(&q->arr, a, memory_order_release);
        }
    }
    atomic_store_explicit(&a->buf[b & (a->cap - 1)], item, memory_order_relaxed);
    /* Publishes the slot, and the task behind it, to consumers. */
    atomic_store_explicit(&q->bottom, b + 1, memory_order_release);
    return 0;
}

unsigned fronta__spmc_steal_many(fronta__spmc *q, void **out, unsigned max)
{
    int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);
    if (t >= b)
        return 0;
    int64_t n = b - t < (int64_t)max ? b - t : (int64_t)max;
    /* The array is read after bottom: an array installed by a grow is
     * published before the bottom that needs it. Slots [t, b) never change
     * once written (the owner only appends), so read first, then claim. */
    fronta__deque_array *a = atomic_load_explicit(&q->arr, memory_order_acquire);
    for (int64_t i = 0; i < n; i++)
        out[i] = atomic_load_explicit(&a->buf[(t + i) & (a->cap - 1)], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + n, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return 0;
    return (unsigned)n;
}

int fronta__spmc_maybe_nonempty(fronta__spmc *q)
{
    return atomic_load_explicit(&q->bottom, memory_order_seq_cst) >
           atomic_load_explicit(&q->top, memory_order_seq_cst);
}
