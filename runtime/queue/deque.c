/* Chase-Lev work-stealing deque, with the C11 orderings of Lê, Pop, Cohen
 * and Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory
 * Models" (PPoPP 2013). */
#include "queue/deque.h"

fronta__deque_array *fronta__deque_array_new(const fronta__allocator *a, int64_t cap)
{
    fronta__deque_array *arr =
        fronta__mem_alloc(a, sizeof *arr + (size_t)cap * sizeof(void *));
    if (arr) {
        arr->cap = cap;
        arr->retired = NULL;
    }
    return arr;
}

int fronta__deque_init(fronta__deque *d, const fronta__allocator *a, int64_t cap)
{
    d->alloc = a;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    fronta__deque_array *arr = fronta__deque_array_new(a, cap);
    atomic_init(&d->arr, arr);
    return arr ? 0 : FRONTA_ENOMEM;
}

void fronta__deque_array_free_all(const fronta__allocator *a, fronta__deque_array *arr)
{
    while (arr) {
        fronta__deque_array *r = arr->retired;
        fronta__mem_free(a, arr, sizeof *arr + (size_t)arr->cap * sizeof(void *));
        arr = r;
    }
}

void fronta__deque_destroy(fronta__deque *d)
{
    fronta__deque_array_free_all(d->alloc,
                                 atomic_load_explicit(&d->arr, memory_order_relaxed));
    atomic_store_explicit(&d->arr, NULL, memory_order_relaxed);
}

/* Arrays only double, so keeping the old ones costs at most as much memory
 * as the live array. */
fronta__deque_array *fronta__deque_array_grow(const fronta__allocator *al,
                                              fronta__deque_array *a, int64_t t, int64_t b)
{
    fronta__deque_array *n = fronta__deque_array_new(al, a->cap * 2);
    if (!n)
        return NULL;
    for (int64_t i = t; i < b; i++)
        atomic_store_explicit(&n->buf[i & (n->cap - 1)],
                              atomic_load_explicit(&a->buf[i & (a->cap - 1)],
                                                   memory_order_relaxed),
                              memory_order_relaxed);
    n->retired = a;
    return n;
}

int fronta__deque_push_owner(fronta__deque *d, void *item)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    fronta__deque_array *a = atomic_load_explicit(&d->arr, memory_order_relaxed);
    if (b - t > a->cap - 1) {
        if (!(a = fronta__deque_array_grow(d->alloc, a, t, b)))
            return FRONTA_ENOMEM;
        atomic_store_explicit(&d->arr, a, memory_order_release);
    }
    atomic_store_explicit(&a->buf[b & (a->cap - 1)], item, memory_order_relaxed);
    /* Publish the slot (and the task behind it) with the new bottom. The
     * paper uses a release fence and a relaxed store; a release store is
     * the same instruction on x86 and ThreadSanitizer, which ignores
     * fences, understands it. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

void *fronta__deque_take_owner(fronta__deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    fronta__deque_array *a = atomic_load_explicit(&d->arr, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    /* The store of bottom must be visible before we read top, or the owner
     * and a thief could both take the last item. */
    atomic_thread_fence(memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    void *x = NULL;
    if (t <= b) {
        x = atomic_load_explicit(&a->buf[b & (a->cap - 1)], memory_order_relaxed);
        if (t == b) {
            /* Last item: race the thieves for it through top. */
            if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1,
                                                         memory_order_seq_cst,
                                                         memory_order_relaxed))
                x = NULL;
            atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        }
    } else {
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return x;
}

void *fronta__deque_steal(fronta__deque *d)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    atomic_thread_fence(memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return NULL;
    fronta__deque_array *a = atomic_load_explicit(&d->arr, memory_order_acquire);
    void *x = atomic_load_explicit(&a->buf[t & (a->cap - 1)], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return x;
}

int fronta__deque_maybe_nonempty(fronta__deque *d)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    return b > t;
}
