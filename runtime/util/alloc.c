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
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
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
    if (size > SIZE_MAX - 63)
        return NULL;
    char *p = fronta__mem_calloc(a, 1, size + 63);
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

#define NEXT(o) (*(void **)(o))
#define BATCH_NEXT(o) (((void **)(o))[1])

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
    s->chunks = NULL;
    s->batches = NULL;
    pthread_mutex_destroy(&s->lock);
}

/* A new chunk of one batch, called with the lock held. */
static void *slab_grow(fronta__slab *s)
{
    size_t size = 64 + s->obj_size * FRONTA__BATCH;
    chunk *c = fronta__mem_alloc(s->alloc, size);
    if (!c)
        return NULL;
    c->size = size;
    c->next = s->chunks;
    s->chunks = c;
    char *base = (char *)c + 64;
    for (unsigned i = 0; i < FRONTA__BATCH; i++) {
        char *o = base + i * s->obj_size;
        NEXT(o) = i + 1 < FRONTA__BATCH ? o + s->obj_size : NULL;
        /* Zero the tag so slab_foreach can tell never-used objects. */
        memset(o + s->tag_offset, 0, sizeof(uint32_t));
    }
    return base;
}

static void *slab_take_batch(fronta__slab *s)
{
    pthread_mutex_lock(&s->lock);
    void *b = s->batches;
    if (b)
        s->batches = BATCH_NEXT(b);
    else
        b = slab_grow(s);
    pthread_mutex_unlock(&s->lock);
    return b;
}

static void slab_give_batch(fronta__slab *s, void *b)
{
    pthread_mutex_lock(&s->lock);
    BATCH_NEXT(b) = s->batches;
    s->batches = b;
    pthread_mutex_unlock(&s->lock);
}

void *fronta__cache_get(fronta__slab *s, fronta__cache *c)
{
    if (!c->cur) {
        if (c->full) {
            c->cur = c->full;
            c->full = NULL;
        } else {
            c->cur = slab_take_batch(s);
            if (!c->cur)
                return NULL;
        }
        c->ncur = FRONTA__BATCH;
    }
    void *o = c->cur;
    c->cur = NEXT(o);
    c->ncur--;
    return o;
}

void fronta__cache_put(fronta__slab *s, fronta__cache *c, void *obj)
{
    if (c->ncur == FRONTA__BATCH) {
        /* Keep one spare batch so a thread that alternates get/put at the
         * boundary does not bounce batches through the lock. */
        if (c->full)
            slab_give_batch(s, c->full);
        c->full = c->cur;
        c->cur = NULL;
        c->ncur = 0;
    }
    NEXT(obj) = c->cur;
    c->cur = obj;
    c->ncur++;
}

void fronta__cache_flush(fronta__slab *s, fronta__cache *c)
{
    if (c->full)
        slab_give_batch(s, c->full);
    /* A partial list goes back as a (short) batch: batches need no fixed
     * length, only cache_get assumes FRONTA__BATCH for its counter, which
     * is just a hint for when to hand a batch back. */
    if (c->cur)
        slab_give_batch(s, c->cur);
    c->cur = c->full = NULL;
    c->ncur = 0;
}

void fronta__slab_foreach(fronta__slab *s, void (*fn)(void *obj, void *ud), void *ud)
{
    for (chunk *c = s->chunks; c; c = c->next) {
        char *base = (char *)c + 64;
        for (unsigned i = 0; i < FRONTA__BATCH; i++)
            fn(base + i * s->obj_size, ud);
    }
}
