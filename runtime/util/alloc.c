/* Allocation through the runtime's hook, and per-thread object caches. */
#include "util/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *ud, void *ptr, size_t old, size_t size)
{
    (void)ud;
    (void)old;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

void fronta__allocator_init(fronta__allocator *a, fronta_alloc_fn fn, void *ud)
{
    a->fn = fn ? fn : default_alloc;
    a->ud = fn ? ud : NULL;
}

void *fronta__mem_alloc(const fronta__allocator *a, size_t size)
{
    if (size == 0)
        size = 1;
    return a->fn(a->ud, NULL, 0, size);
}

void *fronta__mem_calloc(const fronta__allocator *a, size_t n, size_t size)
{
    size_t bytes;
    if (fronta__size_array(0, n, size, &bytes))
        return NULL;
    void *p = fronta__mem_alloc(a, bytes);
    if (p)
        memset(p, 0, bytes ? bytes : 1);
    return p;
}

void *fronta__mem_realloc(const fronta__allocator *a, void *p, size_t old, size_t size)
{
    if (size == 0)
        size = 1;
    return a->fn(a->ud, p, old, size);
}

void fronta__mem_free(const fronta__allocator *a, void *p, size_t size)
{
    if (p)
        a->fn(a->ud, p, size ? size : 1, 0);
}

void *fronta__mem_calloc_aligned(const fronta__allocator *a, size_t size, void **raw)
{
    size_t all;
    if (fronta__size_array(63, 1, size, &all))
        return NULL;
    char *p = fronta__mem_calloc(a, 1, all);
    *raw = p;
    if (!p)
        return NULL;
    return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

int fronta__desc_read(void *dst, size_t dst_size, const void *src, size_t min_size)
{
    size_t n = *(const size_t *)src;
    if (n == 0)
        n = dst_size;
    if (n < min_size)
        return FRONTA_EINVAL;
    memset(dst, 0, dst_size);
    memcpy(dst, src, n < dst_size ? n : dst_size);
    return 0;
}

/* ---- slab ---- */

typedef struct chunk {
    struct chunk *next;
    size_t size;
} chunk;

int fronta__slab_init(fronta__slab *s, const fronta__allocator *a, size_t obj_size,
                      size_t tag_offset)
{
    memset(s, 0, sizeof *s);
    s->alloc = a;
    s->tag_offset = tag_offset;
    /* Round to a cache line: objects are touched by several threads. */
    s->obj_size = (obj_size + 63) & ~(size_t)63;
    return pthread_mutex_init(&s->lock, NULL) ? FRONTA_ESYS : 0;
}

void fronta__slab_destroy(fronta__slab *s)
{
    chunk *c = s->chunks;
    while (c) {
        chunk *n = c->next;
        fronta__mem_free(s->alloc, c, c->size);
        c = n;
    }
    fronta__mem_free(s->alloc, s->free, s->cap * sizeof *s->free);
    s->chunks = NULL;
    s->free = NULL;
    pthread_mutex_destroy(&s->lock);
}

/* A new chunk of one batch straight into cache c; lock held. Reserves room
 * in the free array first, so that returning these objects never fails. */
static int slab_grow(fronta__slab *s, fronta__cache *c)
{
    if (s->total + FRONTA__BATCH > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4 * FRONTA__BATCH;
        void **f = fronta__mem_realloc(s->alloc, s->free, s->cap * sizeof *f, cap * sizeof *f);
        if (!f)
            return FRONTA_ENOMEM;
        s->free = f;
        s->cap = cap;
    }
    size_t size = 64 + s->obj_size * FRONTA__BATCH;
    chunk *ch = fronta__mem_alloc(s->alloc, size);
    if (!ch)
        return FRONTA_ENOMEM;
    ch->size = size;
    s->total += FRONTA__BATCH;
    ch->next = s->chunks;
    s->chunks = ch;
    char *base = (char *)ch + 64;
    for (unsigned i = 0; i < FRONTA__BATCH; i++) {
        char *o = base + i * s->obj_size;
        /* Zero the tag so slab_foreach can tell never-used objects. */
        memset(o + s->tag_offset, 0, sizeof(uint32_t));
        c->items[c->n++] = o;
    }
    return 0;
}

void *fronta__cache_get(fronta__slab *s, fronta__cache *c)
{
    if (c->n == 0) {
        pthread_mutex_lock(&s->lock);
        size_t k = s->nfree < FRONTA__BATCH ? s->nfree : FRONTA__BATCH;
        if (k) {
            s->nfree -= k;
            memcpy(c->items, s->free + s->nfree, k * sizeof *s->free);
            c->n = (unsigned)k;
        } else if (slab_grow(s, c)) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        pthread_mutex_unlock(&s->lock);
    }
    void *o = c->items[--c->n];
    /* The next object was most likely freed by another core: start taking
     * its first two lines for writing now, so the transfer overlaps this
     * object's use instead of stalling the next locked instruction. */
    if (c->n) {
        char *next = c->items[c->n - 1];
        __builtin_prefetch(next, 1, 3);
        __builtin_prefetch(next + 64, 1, 3);
    }
    return o;
}

static void give_back(fronta__slab *s, fronta__cache *c, unsigned k)
{
    pthread_mutex_lock(&s->lock);
    c->n -= k;
    memcpy(s->free + s->nfree, c->items + c->n, k * sizeof *s->free);
    s->nfree += k;
    pthread_mutex_unlock(&s->lock);
}

void fronta__cache_put(fronta__slab *s, fronta__cache *c, void *obj)
{
    /* Keep one batch when full, so a thread alternating get and put at the
     * boundary does not bounce batches through the lock. */
    if (c->n == 2 * FRONTA__BATCH)
        give_back(s, c, FRONTA__BATCH);
    c->items[c->n++] = obj;
}

void fronta__cache_flush(fronta__slab *s, fronta__cache *c)
{
    if (c->n)
        give_back(s, c, c->n);
}

void fronta__slab_foreach(fronta__slab *s, void (*fn)(void *obj, void *ud), void *ud)
{
    for (chunk *c = s->chunks; c; c = c->next) {
        char *base = (char *)c + 64;
        for (unsigned i = 0; i < FRONTA__BATCH; i++)
            fn(base + i * s->obj_size, ud);
    }
}
