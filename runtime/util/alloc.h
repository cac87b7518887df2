/* Allocation through the runtime's hook, and per-thread object caches. */
#ifndef FRONTA_UTIL_ALLOC_H
#define FRONTA_UTIL_ALLOC_H

#include <stdatomic.h>
#include <stddef.h>
#include <pthread.h>
#include "fronta.h"

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
