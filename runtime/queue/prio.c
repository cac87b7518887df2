/* Ready tasks with a non-zero priority: a binary max-heap under a lock. */
#include "queue/prio.h"

#include <limits.h>

int fronta__prio_init(fronta__prio *p, const fronta__allocator *a)
{
    atomic_init(&p->count, 0);
    atomic_init(&p->top, INT_MIN);
    p->items = NULL;
    p->n = p->cap = 0;
    p->seq = 0;
    p->alloc = a;
    return pthread_mutex_init(&p->lock, NULL) ? FRONTA_ESYS : 0;
}

void fronta__prio_destroy(fronta__prio *p)
{
    fronta__mem_free(p->alloc, p->items, p->cap * sizeof *p->items);
    pthread_mutex_destroy(&p->lock);
}

static int before(const fronta__prio_item *a, const fronta__prio_item *b)
{
    return a->prio > b->prio || (a->prio == b->prio && a->seq < b->seq);
}

static void swap(fronta__prio_item *a, fronta__prio_item *b)
{
    fronta__prio_item t = *a;
    *a = *b;
    *b = t;
}

static void sift_up(fronta__prio_item *h, size_t i)
{
    while (i > 0 && before(&h[i], &h[(i - 1) / 2])) {
        swap(&h[i], &h[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static void sift_down(fronta__prio_item *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(&h[l], &h[m]))
            m = l;
        if (r < n && before(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        swap(&h[i], &h[m]);
        i = m;
    }
}

/* Called with the lock held: publish count and top for lock-free peeks. */
static void publish(fronta__prio *p)
{
    atomic_store_explicit(&p->top, p->n ? p->items[0].prio : INT_MIN,
                          memory_order_relaxed);
    atomic_store_explicit(&p->count, (int)p->n, memory_order_seq_cst);
}

int fronta__prio_push(fronta__prio *p, int prio, void *item)
{
    pthread_mutex_lock(&p->lock);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        fronta__prio_item *items = fronta__mem_realloc(
            p->alloc, p->items, p->cap * sizeof *items, cap * sizeof *items);
        if (!items) {
            pthread_mutex_unlock(&p->lock);
            return FRONTA_ENOMEM;
        }
        p->items = items;
        p->cap = cap;
    }
    p->items[p->n] = (fronta__prio_item){prio, p->seq++, item};
    sift_up(p->items, p->n++);
    publish(p);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void *fronta__prio_pop(fronta__prio *p, int min_prio)
{
    if (atomic_load_explicit(&p->count, memory_order_relaxed) == 0 ||
        atomic_load_explicit(&p->top, memory_order_relaxed) < min_prio)
        return NULL;
    void *x = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n && p->items[0].prio >= min_prio) {
        x = p->items[0].item;
        p->items[0] = p->items[--p->n];
        sift_down(p->items, p->n, 0);
        publish(p);
    }
    pthread_mutex_unlock(&p->lock);
    return x;
}
