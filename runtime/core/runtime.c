/* Runtime lifecycle: create, wait_all, shutdown, destroy, stats; and the
 * per-thread state (current worker, task, object cache). */
#include "core/internal.h"
#include "drivers/driver.h"

#include <string.h>

/* ---- per-thread state ---- */

/* initial-exec: a plain %fs-relative load on the hot path instead of a
 * __tls_get_addr call (the library is linked, not dlopen()ed late). */
#define FRONTA__TLS _Thread_local __attribute__((tls_model("initial-exec")))
static FRONTA__TLS fronta__worker *tls_worker;
static FRONTA__TLS fronta__ctx *tls_ctx;

/* A thread outside every pool keeps one object cache, for the last runtime
 * it used (uid, not pointer: a destroyed runtime's address can be reused). */
static FRONTA__TLS struct {
    uint64_t uid;
    fronta__cache cache;
} tls_ext;

/* Live runtimes, so that a thread switching runtimes can hand its cached
 * objects back to the old one only if it still exists. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static fronta_runtime_t *registry[64];
static uint64_t next_uid = 1;

fronta__worker *fronta__worker_of(const fronta_runtime_t *rt)
{
    fronta__worker *w = tls_worker;
    return w && w->rt == rt ? w : NULL;
}

fronta__ctx *fronta__current_ctx(void)
{
    return tls_ctx;
}

void fronta__set_current(fronta__worker *w, fronta__ctx *ctx)
{
    tls_worker = w;
    tls_ctx = ctx;
}

static void ext_cache_switch(fronta_runtime_t *rt)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (registry[i] && registry[i]->uid == tls_ext.uid)
            fronta__cache_flush(&registry[i]->task_slab, &tls_ext.cache);
    pthread_mutex_unlock(&registry_lock);
    memset(&tls_ext.cache, 0, sizeof tls_ext.cache);
    tls_ext.uid = rt->uid;
}

fronta__cache *fronta__thread_cache(fronta_runtime_t *rt)
{
    fronta__worker *w = fronta__worker_of(rt);
    if (w)
        return &w->cache;
    if (tls_ext.uid != rt->uid)
        ext_cache_switch(rt);
    return &tls_ext.cache;
}

static int registry_add(fronta_runtime_t *rt)
{
    int rc = FRONTA_EBUSY;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (!registry[i]) {
            registry[i] = rt;
            rt->uid = next_uid++;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

static void registry_remove(fronta_runtime_t *rt)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (registry[i] == rt)
            registry[i] = NULL;
    pthread_mutex_unlock(&registry_lock);
    if (tls_ext.uid == rt->uid) /* the objects die with the slab */
        memset(&tls_ext, 0, sizeof tls_ext);
}

/* ---- outstanding work ---- */

/* Submissions add to rt->outstanding one by one; completions are taken off
 * in batches by workers (pool_flush), so the count only ever over-estimates
 * and reaches zero exactly when everything submitted has completed. */
void fronta__outstanding_done(fronta_runtime_t *rt, int64_t n)
{
    if (atomic_fetch_sub_explicit(&rt->outstanding, n, memory_order_seq_cst) == n &&
        atomic_load_explicit(&rt->idle_waiters, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(&rt->idle_seq, 1, memory_order_release);
        fronta__unpark_all(&rt->idle_seq);
    }
}

int fronta_runtime_wait_all(fronta_runtime_t *rt, double timeout)
{
    if (!rt)
        return FRONTA_EINVAL;
    if (fronta__worker_of(rt))
        return FRONTA_EBUSY; /* a task waiting for all tasks waits for itself */
    uint64_t deadline = fronta__deadline(timeout);
    for (;;) {
        if (atomic_load_explicit(&rt->outstanding, memory_order_seq_cst) == 0)
            return 0;
        if (fronta__now_ns() >= deadline)
            return FRONTA_ETIMEDOUT;
        unsigned seq = atomic_load_explicit(&rt->idle_seq, memory_order_acquire);
        atomic_fetch_add_explicit(&rt->idle_waiters, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&rt->outstanding, memory_order_seq_cst) != 0)
            fronta__park(&rt->idle_seq, seq, deadline);
        atomic_fetch_sub_explicit(&rt->idle_waiters, 1, memory_order_relaxed);
    }
}

/* ---- lifecycle ---- */

static void runtime_free(fronta_runtime_t *rt);

static int runtime_init(fronta_runtime_t *rt, const fronta__settings *set)
{
    rt->set = *set;
    rt->nworkers = set->cpu_threads;
    fronta__inject_init(&rt->inject);
    pthread_mutex_init(&rt->shutdown_lock, NULL);
    pthread_mutex_init(&rt->iter_lock, NULL);
    int rc = fronta__slab_init(&rt->task_slab, &rt->alloc, sizeof(fronta_future_t),
                               offsetof(fronta_future_t, magic));
    if (!rc)
        rc = fronta__prio_init(&rt->prio, &rt->alloc);
    if (rc)
        return rc;
    rt->workers = fronta__mem_calloc_aligned(
        &rt->alloc, (size_t)rt->nworkers * sizeof *rt->workers, &rt->workers_raw);
    if (!rt->workers)
        return FRONTA_ENOMEM;
    rt->worker_cap = rt->nworkers;
    for (int i = 0; i < rt->nworkers; i++) {
        fronta__worker *w = &rt->workers[i];
        w->rt = rt;
        w->index = i;
        w->victim_seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        if (fronta__deque_init(&w->deque, &rt->alloc, 256))
            return FRONTA_ENOMEM;
    }
    return registry_add(rt);
}

int fronta_runtime_create(const fronta_config_t *cfg, fronta_runtime_t **out)
{
    if (!out)
        return FRONTA_EINVAL;
    fronta__settings set;
    fronta_log_level_t lvl;
    int rc = fronta__settings_load(cfg, &set, &lvl);
    if (rc)
        return rc;
    fronta_config_t c = {0};
    if (cfg)
        fronta__desc_read(&c, sizeof c, cfg, sizeof(size_t)); /* checked above */
    fronta__allocator a;
    fronta__allocator_init(&a, c.alloc, c.alloc_ud);
    void *raw;
    fronta_runtime_t *rt = fronta__mem_calloc_aligned(&a, sizeof *rt, &raw);
    if (!rt)
        return FRONTA_ENOMEM;
    rt->raw = raw;
    rt->alloc = a;
    rc = runtime_init(rt, &set);
    for (const fronta__driver *const *d = fronta__drivers; !rc && *d; d++)
        rc = (*d)->start(rt);
    if (rc) {
        runtime_free(rt);
        return rc;
    }
    FRONTA__LOG(rt, FRONTA_LOG_INFO, "runtime %llu: %d CPU pool threads",
                (unsigned long long)rt->uid, rt->nworkers);
    *out = rt;
    return 0;
}

int fronta_runtime_shutdown(fronta_runtime_t *rt, fronta_shutdown_t how)
{
    if (!rt || (how != FRONTA_SHUTDOWN_WAIT && how != FRONTA_SHUTDOWN_CANCEL_PENDING))
        return FRONTA_EINVAL;
    if (fronta__worker_of(rt))
        return FRONTA_EBUSY;
    /* seq_cst: pairs with the submitter, which counts itself in outstanding
     * before it reads the flags (see fronta__submit). */
    unsigned f = FRONTA__RT_SHUTDOWN |
                 (how == FRONTA_SHUTDOWN_CANCEL_PENDING ? FRONTA__RT_CANCELLING : 0);
    atomic_fetch_or_explicit(&rt->flags, f, memory_order_seq_cst);
    pthread_mutex_lock(&rt->shutdown_lock);
    if (!rt->stopped) {
        fronta_runtime_wait_all(rt, -1);
        for (const fronta__driver *const *d = fronta__drivers; *d; d++)
            (*d)->stop(rt);
        rt->stopped = 1;
    }
    pthread_mutex_unlock(&rt->shutdown_lock);
    return 0;
}

/* Tasks still held by the user when the runtime goes: free what they own
 * outside the slab (the slab itself is freed whole). */
static void free_live_task(void *obj, void *ud)
{
    (void)ud;
    fronta_future_t *t = obj;
    if (t->magic == FRONTA__MAGIC_LIVE)
        fronta__task_free_parts(t);
}

static void runtime_free(fronta_runtime_t *rt)
{
    registry_remove(rt);
    if (rt->workers) {
        for (int i = 0; i < rt->worker_cap; i++)
            fronta__deque_destroy(&rt->workers[i].deque);
        fronta__mem_free(&rt->alloc, rt->workers_raw,
                         (size_t)rt->worker_cap * sizeof *rt->workers + 63);
    }
    fronta__slab_foreach(&rt->task_slab, free_live_task, NULL);
    fronta__slab_destroy(&rt->task_slab);
    if (rt->prio.alloc)
        fronta__prio_destroy(&rt->prio);
    pthread_mutex_destroy(&rt->shutdown_lock);
    pthread_mutex_destroy(&rt->iter_lock);
    fronta__allocator a = rt->alloc;
    fronta__mem_free(&a, rt->raw, sizeof *rt + 63);
}

void fronta_runtime_destroy(fronta_runtime_t *rt)
{
    if (!rt || fronta__worker_of(rt))
        return;
    fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT);
    fronta__as_completed_reap(rt);
    runtime_free(rt);
}

int fronta_runtime_cpu_threads(const fronta_runtime_t *rt)
{
    return rt ? rt->nworkers : FRONTA_EINVAL;
}

int fronta_runtime_stats(fronta_runtime_t *rt, fronta_stats_t *out)
{
    if (!rt || !out)
        return FRONTA_EINVAL;
    memset(out, 0, sizeof *out);
    out->tasks_submitted = atomic_load_explicit(&rt->next_id, memory_order_relaxed);
    for (int i = 0; i < rt->nworkers; i++) {
        fronta__worker *w = &rt->workers[i];
        out->tasks_run += atomic_load_explicit(&w->tasks_run, memory_order_relaxed);
        out->tasks_stolen += atomic_load_explicit(&w->tasks_stolen, memory_order_relaxed);
        out->worker_sleeps += atomic_load_explicit(&w->sleeps, memory_order_relaxed);
    }
    return 0;
}
