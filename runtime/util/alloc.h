/* Allocation through the runtime's hook, and per-thread object caches. */
#ifndef FRONTA_UTIL_ALLOC_H
#define FRONTA_UTIL_ALLOC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "fronta.h"

/* ---- checked sizes ----
 * Every byte count the library derives from a user's count goes through
 * these: a count near SIZE_MAX must be refused with FRONTA_ERANGE, never
 * wrap into a small allocation that the caller then indexes past. */

/* *out = a * b; FRONTA_ERANGE (and *out untouched) when it overflows. */
static inline int fronta__size_mul(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return FRONTA_ERANGE;
    *out = r;
    return 0;
}

/* *out = a + b, checked. */
static inline int fronta__size_add(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_add_overflow(a, b, &r))
        return FRONTA_ERANGE;
    *out = r;
    return 0;
}

/* *out = head + n * elem: a header followed by an array, checked. Also
 * refuses sizes above PTRDIFF_MAX: no object can be that large, and
 * pointer differences inside it would overflow. */
static inline int fronta__size_array(size_t head, size_t n, size_t elem, size_t *out)
{
    size_t body, all;
    if (fronta__size_mul(n, elem, &body) || fronta__size_add(head, body, &all) ||
        all > (size_t)PTRDIFF_MAX)
        return FRONTA_ERANGE;
    *out = all;
    return 0;
}

/* A count of futures (or pointers) whose array cannot exist. */
#define FRONTA__COUNT_MAX ((size_t)PTRDIFF_MAX / sizeof(void *))

typedef struct fronta__allocator {
    fronta_alloc_fn fn;
    void *ud;
} fronta__allocator;

void fronta__allocator_init(fronta__allocator *a, fronta_alloc_fn fn, void *ud);
void *fronta__mem_alloc(const fronta__allocator *a, size_t size);
void *fronta__mem_calloc(const fronta__allocator *a, size_t n, size_t size);
void *fronta__mem_realloc(const fronta__allocator *a, void *p, size_t old, size_t size);
void fronta__mem_free(const fronta__allocator *a, void *p, size_t size);
/* Zeroed, 64-byte aligned (the hook gives malloc alignment only); *raw is
 * what to free, with size + 63 bytes. */
void *fronta__mem_calloc_aligned(const fronta__allocator *a, size_t size, void **raw);
/* A descriptor struct whose first field is its caller's sizeof (0: this
 * header's): copy what the caller has and zero the rest, so fields a
 * newer library adds read as defaults. */
int fronta__desc_read(void *dst, size_t dst_size, const void *src, size_t min_size);

/*
 * A slab of fixed-size objects shared by threads, fronted by per-thread
 * caches so that the submit/complete hot path never takes a lock or calls
 * the allocator: a cache trades FRONTA__BATCH objects at a time with the
 * slab, under one lock. Caches and the slab hold arrays of pointers, not
 * lists threaded through the objects: popping a list would read a link in
 * an object last written by another core, one serialised cache miss per
 * task. Objects return to the allocator only when the slab is destroyed.
 */
#define FRONTA__BATCH 64

typedef struct fronta__cache {
    unsigned n;
    void *items[2 * FRONTA__BATCH];
} fronta__cache;

typedef struct fronta__slab {
    const fronta__allocator *alloc;
    size_t obj_size;
    size_t tag_offset;      /* a uint32 zeroed in every new object */
    pthread_mutex_t lock;   /* guards everything below */
    void **free;            /* free objects not in any cache */
    size_t nfree, cap;      /* cap >= total, so puts never grow the array */
    size_t total;           /* objects ever allocated */
    void *chunks;           /* allocations made, freed at destroy */
} fronta__slab;

int fronta__slab_init(fronta__slab *s, const fronta__allocator *a, size_t obj_size,
                      size_t tag_offset);
void fronta__slab_destroy(fronta__slab *s);
/* NULL when the allocator fails. */
void *fronta__cache_get(fronta__slab *s, fronta__cache *c);
void fronta__cache_put(fronta__slab *s, fronta__cache *c, void *obj);
/* Visit every object ever allocated from the slab, free or not. */
void fronta__slab_foreach(fronta__slab *s, void (*fn)(void *obj, void *ud), void *ud);
/* Give every cached object back to the slab. */
void fronta__cache_flush(fronta__slab *s, fronta__cache *c);

#endif
