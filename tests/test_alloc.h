/* The counting allocator of the allocation-failure sweeps (test_alloc.c, test_alloc_dev.c): fails request number k, or every one from k on, or the n-th request made from one call stack, and counts live blocks. */
#ifndef FRONTA_TEST_ALLOC_H
#define FRONTA_TEST_ALLOC_H

#include <execinfo.h>
#include <pthread.h>

#include "test_util.h"

/* Each block carries its size so that the hook can check the old_size
 * fronta passes and count live bytes exactly. */
typedef union ft_block_hdr {
    max_align_t align;
    size_t size;
} ft_block_hdr_t;

/*
 * Where a request comes from: a hash of the return addresses on the
 * allocating thread's stack. Pool and device threads allocate in an order
 * that follows timing (and so, a little, does the main thread: what has
 * completed decides what is pruned or refilled), so "request number k"
 * names another request from run to run and a sweep over k can miss one
 * altogether. "The n-th request from this stack" names the same request
 * in every run of the same process.
 */
#define FT_SITE_DEPTH 16
#define FT_LOG_MAX 2048

static inline uint64_t ft_site_of(void *const *pcs, int n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)(uintptr_t)pcs[i];
        h *= 0x100000001b3ull;
    }
    return h | 1; /* never 0: 0 means "no site" */
}

static inline uint64_t ft_site_here(void)
{
    void *pcs[FT_SITE_DEPTH];
    return ft_site_of(pcs, backtrace(pcs, FT_SITE_DEPTH));
}

/* The requests of a run, in the order they were made: request k is the
 * nth request from stack site (both 1-based). */
typedef struct ft_alloc_log {
    pthread_mutex_t lock;
    long n;
    struct {
        uint64_t site;
        long nth;
    } req[FT_LOG_MAX];
    long nsites;
    struct {
        uint64_t site;
        long count;
    } sites[FT_LOG_MAX];
} ft_alloc_log_t;

static inline void ft_alloc_log_init(ft_alloc_log_t *l)
{
    pthread_mutex_init(&l->lock, NULL);
    l->n = l->nsites = 0;
    /* The first backtrace() loads the unwinder (and allocates): not
     * inside a run. */
    (void)ft_site_here();
}

static inline void ft_alloc_log_add(ft_alloc_log_t *l, uint64_t site)
{
    pthread_mutex_lock(&l->lock);
    long i = 0;
    while (i < l->nsites && l->sites[i].site != site)
        i++;
    if (i == l->nsites && i < FT_LOG_MAX) {
        l->sites[i].site = site;
        l->sites[i].count = 0;
        l->nsites++;
    }
    if (i < l->nsites && l->n < FT_LOG_MAX) {
        l->req[l->n].site = site;
        l->req[l->n].nth = ++l->sites[i].count;
        l->n++;
    }
    pthread_mutex_unlock(&l->lock);
}

typedef struct ft_counting {
    atomic_long calls;        /* (re)allocation requests, new_size > 0 */
    long fail_at;             /* 1-based request to fail; 0: none */
    int fail_from;            /* fail every request from fail_at on */
    /* Non-zero: fail_at counts only the requests from this stack (the
     * fail_at-th of them fails, or every one from it on with fail_from). */
    uint64_t fail_site;
    atomic_long site_seen;
    ft_alloc_log_t *log;      /* non-NULL: record every request there */
    atomic_long failed;
    atomic_long live_bytes;
    atomic_long live_blocks;
    atomic_long bad_old_size; /* old_size differed from the block's size */
    /* The stack of the first request refused (written once, by whichever
     * thread refuses first; read after the run). */
    atomic_int fail_claimed;
    int fail_npcs;
    void *fail_pcs[FT_SITE_DEPTH];
    /* Called (on the allocating thread) for each request refused, to show
     * where it came from; NULL: nothing. */
    void (*on_fail)(long n, size_t new_size);
} ft_counting_t;

static inline void ft_counting_init(ft_counting_t *c, long fail_at, int fail_from)
{
    atomic_init(&c->calls, 0);
    c->fail_at = fail_at;
    c->fail_from = fail_from;
    c->fail_site = 0;
    atomic_init(&c->site_seen, 0);
    c->log = NULL;
    atomic_init(&c->failed, 0);
    atomic_init(&c->live_bytes, 0);
    atomic_init(&c->live_blocks, 0);
    atomic_init(&c->bad_old_size, 0);
    atomic_init(&c->fail_claimed, 0);
    c->fail_npcs = 0;
    c->on_fail = NULL;
}

/* Workers and device threads allocate too, so every counter is atomic. */
static inline void *ft_counting_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    ft_counting_t *c = ud;
    ft_block_hdr_t *h = ptr ? (ft_block_hdr_t *)ptr - 1 : NULL;
    if (h && h->size != old_size)
        atomic_fetch_add(&c->bad_old_size, 1);
    if (new_size == 0) {
        if (h) {
            atomic_fetch_sub(&c->live_bytes, (long)h->size);
            atomic_fetch_sub(&c->live_blocks, 1);
            free(h);
        }
        return NULL;
    }
    long n = atomic_fetch_add(&c->calls, 1) + 1;
    void *pcs[FT_SITE_DEPTH];
    int npcs = 0;
    if (c->log || c->fail_site) {
        npcs = backtrace(pcs, FT_SITE_DEPTH);
        uint64_t site = ft_site_of(pcs, npcs);
        if (c->log)
            ft_alloc_log_add(c->log, site);
        /* The request's number among those from fail_site; 0: another. */
        if (c->fail_site)
            n = site == c->fail_site ? atomic_fetch_add(&c->site_seen, 1) + 1 : 0;
    }
    if (n && c->fail_at && (n == c->fail_at || (c->fail_from && n > c->fail_at))) {
        atomic_fetch_add(&c->failed, 1);
        if (!atomic_exchange(&c->fail_claimed, 1)) {
            if (!npcs)
                npcs = backtrace(pcs, FT_SITE_DEPTH);
            memcpy(c->fail_pcs, pcs, (size_t)npcs * sizeof pcs[0]);
            c->fail_npcs = npcs;
        }
        if (c->on_fail)
            c->on_fail(n, new_size);
        return NULL;   /* ptr untouched, as the hook's contract says */
    }
    size_t had = h ? h->size : 0;
    ft_block_hdr_t *nh = realloc(h, sizeof *nh + new_size);
    if (!nh)
        return NULL;
    nh->size = new_size;
    atomic_fetch_add(&c->live_bytes, (long)new_size - (long)had);
    if (!h)
        atomic_fetch_add(&c->live_blocks, 1);
    return nh + 1;
}

#endif /* FRONTA_TEST_ALLOC_H */
