/* Runtime lifecycle: create, wait_all, shutdown, destroy, stats; and the
 * per-thread state (current worker, task, object cache). */
#include "core/internal.h"
#include "drivers/driver.h"
#include "core/kernel.h"
#include "sched/sched.h"

#include <linux/membarrier.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- per-thread state ---- */

/* initial-exec: a plain %fs-relative load on the hot path instead of a
 * __tls_get_addr call (the library is linked, not dlopen()ed late). */
#define FRONTA__TLS _Thread_local __attribute__((tls_model("initial-exec")))
static FRONTA__TLS fronta__worker *tls_worker;
static FRONTA__TLS fronta__ctx *tls_ctx;
/* A thread a driver runs for this runtime (an OpenCL device thread or its
 * waiter): waits there may wait for the thread itself. */
static FRONTA__TLS const fronta_runtime_t *tls_driver_rt;
/* The runtime whose done-callback this thread is running, if any: the
 * future's completion is not counted until the callback returns. */
static FRONTA__TLS const fronta_runtime_t *tls_callback_rt;

/* A thread outside every pool keeps one object cache, for the last runtime
 * it used (uid, not pointer: a destroyed runtime's address can be reused). */
static FRONTA__TLS struct {
    uint64_t uid;
    fronta__ext *slot;      /* NULL: not claimed yet, or none was free */
    int no_slot;            /* all slots were taken: use the shared path */
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

void fronta__driver_thread_enter(const fronta_runtime_t *rt)
{
    tls_driver_rt = rt;
}

const fronta_runtime_t *fronta__callback_enter(const fronta_runtime_t *rt)
{
    const fronta_runtime_t *outer = tls_callback_rt;
    tls_callback_rt = rt;
    return outer;
}

void fronta__callback_leave(const fronta_runtime_t *outer)
{
    tls_callback_rt = outer;
}

int fronta__may_block(const fronta_runtime_t *rt)
{
    return rt && tls_driver_rt == rt ? FRONTA_EBUSY : 0;
}

int fronta__may_stop(const fronta_runtime_t *rt)
{
    /* Shutdown and wait_all wait for every task: from a pool thread, for
     * the one it runs; from a driver thread, for completions only it can
     * report; from a done-callback, for the future whose completion is
     * counted when the callback returns. */
    if (fronta__worker_of(rt) || tls_callback_rt == rt || tls_driver_rt == rt)
        return FRONTA_EBUSY;
    return 0;
}

/* The thread leaves the runtime it used last (for another one, or at
 * exit): give its cached objects and its slot back, if that runtime still
 * exists. The slot's queue keeps its tasks: workers drain every slot. */
static void ext_leave(void)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (registry[i] && registry[i]->uid == tls_ext.uid) {
            fronta__cache_flush(&registry[i]->task_slab, &tls_ext.cache);
            if (tls_ext.slot)
                atomic_store_explicit(&tls_ext.slot->in_use, 0, memory_order_release);
        }
    pthread_mutex_unlock(&registry_lock);
    tls_ext.slot = NULL;
    tls_ext.no_slot = 0;
    tls_ext.cache.n = 0;
    tls_ext.uid = 0;
}

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *unused)
{
    (void)unused;
    ext_leave();
}

static void make_exit_key(void)
{
    pthread_key_create(&exit_key, on_thread_exit);
}

static void ext_cache_switch(fronta_runtime_t *rt)
{
    if (tls_ext.uid)
        ext_leave();
    tls_ext.uid = rt->uid;
    /* Any non-NULL value: the destructor runs at thread exit. */
    pthread_once(&exit_key_once, make_exit_key);
    pthread_setspecific(exit_key, &tls_ext);
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
    if (tls_ext.uid == rt->uid) { /* the objects die with the slab */
        tls_ext.uid = 0;
        tls_ext.slot = NULL;
        tls_ext.no_slot = 0;
        tls_ext.cache.n = 0;
    }
}

/* ---- barriers ---- */

/* The submit path pairs with rarely-run code (a worker going to sleep,
 * shutdown, wait_all) in Dekker-style handshakes that need a StoreLoad
 * barrier on both sides. With membarrier(2), the rare side pays for both
 * (it forces a barrier on every running thread of the process) and the
 * submitter needs only a compiler barrier. */
static atomic_int membarrier_ok = -1;

static void membarrier_register(void)
{
    if (atomic_load(&membarrier_ok) >= 0)
        return;
    int ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    atomic_store(&membarrier_ok, ok);
}

void fronta__light_barrier(void)
{
    if (atomic_load_explicit(&membarrier_ok, memory_order_relaxed) == 1)
        atomic_signal_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_seq_cst);
}

void fronta__heavy_barrier(void)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&membarrier_ok, memory_order_relaxed) == 1)
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/* ---- submitters and counts ---- */

static fronta__ext *claim_slot(fronta_runtime_t *rt)
{
    for (unsigned i = 0; i < FRONTA__MAX_EXT; i++) {
        unsigned zero = 0;
        fronta__ext *x = &rt->ext[i];
        if (atomic_load_explicit(&x->in_use, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&x->in_use, &zero, 1,
                                                    memory_order_acquire,
                                                    memory_order_relaxed)) {
            unsigned n = atomic_load_explicit(&rt->next_ext, memory_order_relaxed);
            while (n < i + 1 &&
                   !atomic_compare_exchange_weak_explicit(&rt->next_ext, &n, i + 1,
                                                          memory_order_release,
                                                          memory_order_relaxed))
                ;
            return x;
        }
    }
    return NULL;
}

void fronta__submitter_get(fronta_runtime_t *rt, fronta__submitter *s)
{
    s->w = fronta__worker_of(rt);
    s->x = NULL;
    if (s->w) {
        s->cache = &s->w->cache;
        return;
    }
    if (tls_ext.uid != rt->uid)
        ext_cache_switch(rt);
    s->cache = &tls_ext.cache;
    if (!tls_ext.slot && !tls_ext.no_slot) {
        tls_ext.slot = claim_slot(rt);
        tls_ext.no_slot = tls_ext.slot == NULL;
    }
    s->x = tls_ext.slot;
}

static void add_owned(atomic_uint_fast64_t *c, uint64_t n)
{
    /* One writer: a plain load and store, no locked instruction. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_release);
}

/* Count n new tasks, unless the runtime refuses them. The count comes
 * before the flag check so that shutdown, which sets the flag and then
 * waits for the counts to balance, either sees these tasks or is seen.
 * Tasks submitted by tasks are accepted until the pool drains: they are
 * part of the work shutdown(WAIT) promised to finish. */
int fronta__enter(fronta_runtime_t *rt, const fronta__submitter *s, uint64_t n)
{
    return fronta__enter_ex(rt, s, n, FRONTA__RT_SHUTDOWN | FRONTA__RT_STOP);
}

int fronta__enter_ex(fronta_runtime_t *rt, const fronta__submitter *s, uint64_t n,
                     unsigned refuse)
{
    if (s->w) {
        add_owned(&s->w->submitted, n);
        return 0;
    }
    if (s->x) {
        add_owned(&s->x->submitted, n);
        fronta__light_barrier();
    } else {
        atomic_fetch_add_explicit(&rt->shared_submitted, n, memory_order_seq_cst);
    }
    unsigned f = atomic_load_explicit(&rt->flags, memory_order_seq_cst) & refuse;
    /* A done-callback continues the work of the task it completes, as a
     * task's children do, wherever it runs (a pool thread, a device's
     * waiter): accepted until the drivers stop. Its own completion is not
     * counted yet, so shutdown cannot have seen the runtime idle. */
    if (f == FRONTA__RT_SHUTDOWN && tls_callback_rt == rt)
        f = 0;
    if (f) {
        fronta__count_completed(rt, n); /* balance the count: never ran */
        return FRONTA_ESHUTDOWN;
    }
    return 0;
}

void fronta__unenter(fronta_runtime_t *rt, const fronta__submitter *s, uint64_t n)
{
    /* Subtracted where it was added: a failed submission was never a task,
     * so neither stats nor progress count it (a completion instead would
     * balance wait_all but count it submitted). */
    if (s->w)
        add_owned(&s->w->submitted, (uint64_t)0 - n);
    else if (s->x)
        add_owned(&s->x->submitted, (uint64_t)0 - n);
    else
        atomic_fetch_sub_explicit(&rt->shared_submitted, n, memory_order_seq_cst);
    /* A wait_all that saw these counted may be waiting for them. */
    atomic_thread_fence(memory_order_seq_cst);
    fronta__wake_idle_waiters(rt);
}

uint64_t fronta__new_id(fronta_runtime_t *rt, const fronta__submitter *s)
{
    uint64_t *next = s->w ? &s->w->id_next : s->x ? &s->x->id_next : NULL;
    uint64_t *end = s->w ? &s->w->id_end : s->x ? &s->x->id_end : NULL;
    if (!next)
        return atomic_fetch_add_explicit(&rt->next_id, 1, memory_order_relaxed) + 1;
    if (*next == *end) { /* ids come in blocks: unique, and no shared line per task */
        *next = atomic_fetch_add_explicit(&rt->next_id, 1024, memory_order_relaxed) + 1;
        *end = *next + 1024;
    }
    return (*next)++;
}

/* Completions read first, then submissions: a completion is counted only
 * after its task's submission (and its children's) was, so equal sums
 * mean nothing submitted so far is unfinished. */
void fronta__counts(const fronta_runtime_t *rt, uint64_t *completed, uint64_t *submitted)
{
    uint64_t done = atomic_load_explicit(&rt->shared_completed, memory_order_seq_cst);
    for (int i = 0; i < rt->worker_cap; i++) /* guests too */
        done += atomic_load_explicit(&rt->workers[i].completed, memory_order_acquire);
    uint64_t sub = atomic_load_explicit(&rt->shared_submitted, memory_order_seq_cst);
    for (int i = 0; i < rt->worker_cap; i++)
        sub += atomic_load_explicit(&rt->workers[i].submitted, memory_order_acquire);
    unsigned nx = atomic_load_explicit(&rt->next_ext, memory_order_acquire);
    for (unsigned i = 0; i < nx; i++)
        sub += atomic_load_explicit(&rt->ext[i].submitted, memory_order_acquire);
    *completed = done;
    *submitted = sub;
}

static int quiescent(fronta_runtime_t *rt)
{
    uint64_t done, sub;
    fronta__counts(rt, &done, &sub);
    return done == sub;
}

void fronta__wake_idle_waiters(fronta_runtime_t *rt)
{
    if (atomic_load_explicit(&rt->idle_waiters, memory_order_seq_cst) && quiescent(rt)) {
        atomic_fetch_add_explicit(&rt->idle_seq, 1, memory_order_release);
        fronta__unpark_all(&rt->idle_seq);
    }
}

void fronta__count_completed(fronta_runtime_t *rt, uint64_t n)
{
    fronta__worker *w = fronta__worker_of(rt);
    if (w) { /* checked for waiters when the worker goes idle */
        add_owned(&w->completed, n);
        return;
    }
    atomic_fetch_add_explicit(&rt->shared_completed, n, memory_order_seq_cst);
    fronta__wake_idle_waiters(rt);
}

static int wait_all(fronta_runtime_t *rt, double timeout);

/* ---- waiting threads that help (fronta_config_t.wait_helps) ---- */

/* A thread outside the pool that waits becomes a guest worker for the
 * wait: it runs ready tasks through the policy like a pool thread, and
 * what it releases stays stealable in its deque. NULL when it may not
 * (the setting is off, it is a pool or driver thread, a done-callback of
 * rt is running on it) or every guest slot is taken. */
fronta__worker *fronta__guest_enter(fronta_runtime_t *rt)
{
    if (!rt->set.wait_helps || tls_worker || tls_driver_rt == rt || tls_callback_rt == rt)
        return NULL;
    for (int i = rt->nworkers; i < rt->worker_cap; i++) {
        fronta__worker *g = &rt->workers[i];
        unsigned zero = 0;
        if (atomic_compare_exchange_strong_explicit(&g->guest_taken, &zero, 1,
                                                    memory_order_acquire,
                                                    memory_order_relaxed)) {
            fronta__set_current(g, NULL);
            return g;
        }
    }
    return NULL;
}

/* The wait is over: what the guest kept for itself goes where the pool
 * finds it without stealing. */
void fronta__guest_leave(fronta__worker *g)
{
    if (!g)
        return;
    fronta_runtime_t *rt = g->rt;
    int moved = 0;
    fronta_future_t *t = g->next_task;
    g->next_task = NULL;
    for (; t; t = fronta__deque_take_owner(&g->deque), moved = 1)
        fronta__inject_push(&rt->inject, &t->qnode);
    fronta__set_current(NULL, NULL);
    atomic_store_explicit(&g->guest_taken, 0, memory_order_release);
    if (moved)
        fronta__sched_wake(rt, 0);
}

/* wait_all on a guest: help until nothing is left, napping on idle_seq
 * when there is nothing to run. */
static int guest_wait_all(fronta_runtime_t *rt, fronta__worker *g, double timeout)
{
    uint64_t deadline = fronta__deadline(timeout);
    atomic_fetch_add_explicit(&rt->idle_waiters, 1, memory_order_seq_cst);
    int rc = 0;
    for (;;) {
        unsigned seq = atomic_load_explicit(&rt->idle_seq, memory_order_acquire);
        fronta__heavy_barrier();
        if (quiescent(rt))
            break;
        if (fronta__now_ns() >= deadline) {
            rc = FRONTA_ETIMEDOUT;
            break;
        }
        if (fronta__help(g))
            continue;
        uint64_t nap = fronta__now_ns() + 200000; /* then look for work again */
        fronta__park(&rt->idle_seq, seq, nap < deadline ? nap : deadline);
    }
    atomic_fetch_sub_explicit(&rt->idle_waiters, 1, memory_order_relaxed);
    fronta__help_done(g);
    return rc;
}

int fronta_runtime_wait_all(fronta_runtime_t *rt, double timeout)
{
    if (!rt)
        return FRONTA_EINVAL;
    int rc = fronta__may_stop(rt); /* else it would wait for itself */
    if (rc)
        return rc;
    fronta__worker *g = fronta__guest_enter(rt);
    if (!g)
        return wait_all(rt, timeout);
    rc = guest_wait_all(rt, g, timeout);
    fronta__guest_leave(g);
    return rc;
}

static int wait_all(fronta_runtime_t *rt, double timeout)
{
    uint64_t deadline = fronta__deadline(timeout);
    int rc = 0;
    atomic_fetch_add_explicit(&rt->idle_waiters, 1, memory_order_seq_cst);
    for (;;) {
        unsigned seq = atomic_load_explicit(&rt->idle_seq, memory_order_acquire);
        fronta__heavy_barrier(); /* pairs with the submitters' light barrier */
        if (quiescent(rt))
            break;
        if (fronta__now_ns() >= deadline) {
            rc = FRONTA_ETIMEDOUT;
            break;
        }
        fronta__park(&rt->idle_seq, seq, deadline);
    }
    atomic_fetch_sub_explicit(&rt->idle_waiters, 1, memory_order_relaxed);
    return rc;
}

/* ---- lifecycle ---- */

static void runtime_free(fronta_runtime_t *rt);

/* Guest workers: threads that help while they wait (wait_helps). */
#define FRONTA__GUESTS 4

static int runtime_init(fronta_runtime_t *rt, const fronta__settings *set)
{
    rt->set = *set;
    rt->created_ns = fronta__now_ns();
    rt->nworkers = set->cpu_threads;
    fronta__inject_init(&rt->inject);
    pthread_mutex_init(&rt->shutdown_lock, NULL);
    pthread_mutex_init(&rt->iter_lock, NULL);
    pthread_mutex_init(&rt->kernel_lock, NULL);
    pthread_mutex_init(&rt->buf_lock, NULL);
    pthread_rwlock_init(&rt->stop_lock, NULL);
    int rc = fronta__slab_init(&rt->task_slab, &rt->alloc, sizeof(fronta_future_t),
                               offsetof(fronta_future_t, magic));
    if (!rc)
        rc = fronta__prio_init(&rt->prio, &rt->alloc);
    if (rc)
        return rc;
    int cap = rt->nworkers + (set->wait_helps ? FRONTA__GUESTS : 0);
    rt->workers = fronta__mem_calloc_aligned(&rt->alloc, (size_t)cap * sizeof *rt->workers,
                                             &rt->workers_raw);
    if (!rt->workers)
        return FRONTA_ENOMEM;
    rt->worker_cap = cap;
    for (int i = 0; i < cap; i++) {
        fronta__worker *w = &rt->workers[i];
        w->rt = rt;
        w->index = i;
        w->victim_seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        atomic_init(&w->home_cpu, -1); /* none until the pool's thread says (pool.c) */
        if (fronta__deque_init(&w->deque, &rt->alloc, 256))
            return FRONTA_ENOMEM;
    }
    for (int i = 0; i < FRONTA__MAX_EXT; i++)
        if (fronta__spmc_init(&rt->ext[i].q, &rt->alloc, 1024))
            return FRONTA_ENOMEM;
    membarrier_register();
    return registry_add(rt);
}

static void stop_drivers(fronta_runtime_t *rt)
{
    rt->ndevices = 0; /* the table points into the drivers' state */
    while (rt->drivers_started > 0) {
        int i = --rt->drivers_started;
        fronta__drivers[i]->stop(rt, rt->driver_data[i]);
    }
}

/* Every driver takes the devices FRONTA_DEVICES selects; a token that
 * selected nothing is a mistake worth an error, not a silent fallback. */
static int start_drivers(fronta_runtime_t *rt)
{
    fronta__devsel *sel = &rt->set.sel;
    for (int i = 0; fronta__drivers[i]; i++) {
        int rc = fronta__drivers[i]->start(rt, sel, &rt->driver_data[i]);
        if (rc)
            return rc;
        rt->drivers_started = i + 1;
    }
    for (int t = 0; t < sel->ntok; t++)
        if (!sel->matched[t]) {
            FRONTA__LOG(rt, FRONTA_LOG_ERROR,
                        "FRONTA_DEVICES: '%s' matches no device (fronta-bench --list "
                        "shows them)", sel->tok[t]);
            return FRONTA_ENODEV;
        }
    return 0;
}

int fronta_runtime_create(const fronta_config_t *cfg, fronta_runtime_t **out)
{
    if (!out)
        return FRONTA_EINVAL;
    *out = NULL;
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
    if (!rc)
        rc = start_drivers(rt);
    if (!rc)
        rc = fronta__devices_build(rt);
    if (!rc)
        rc = fronta__sched_init(rt, rt->set.sched);
    if (!rc && rt->set.trace)
        rc = fronta__trace_open(rt, rt->set.trace, &rt->trace);
    if (!rc)
        rc = fronta__progress_start(rt);
    for (int i = 0; !rc && i < rt->drivers_started; i++)
        if (fronta__drivers[i]->ready)
            fronta__drivers[i]->ready(rt, rt->driver_data[i]);
    if (rc) {
        stop_drivers(rt);
        runtime_free(rt);
        return rc;
    }
    FRONTA__LOG(rt, FRONTA_LOG_INFO, "runtime %llu: %d CPU pool threads",
                (unsigned long long)rt->uid, rt->nworkers);
    *out = rt;
    return 0;
}

/* Wait until nothing is left to run, and return holding stop_lock for
 * writing, with nothing left still: host accesses are accepted during a
 * shutdown (destroying a buffer is one), and one may have started after
 * wait_all saw the runtime idle; stop_lock keeps new ones out from here. */
static void drain_and_lock(fronta_runtime_t *rt)
{
    for (;;) {
        wait_all(rt, -1);
        pthread_rwlock_wrlock(&rt->stop_lock);
        fronta__heavy_barrier(); /* pairs with the submitters' light barrier */
        if (quiescent(rt))
            return;
        pthread_rwlock_unlock(&rt->stop_lock);
    }
}

int fronta_runtime_shutdown(fronta_runtime_t *rt, fronta_shutdown_t how)
{
    if (!rt || (how != FRONTA_SHUTDOWN_WAIT && how != FRONTA_SHUTDOWN_CANCEL_PENDING))
        return FRONTA_EINVAL;
    int rc = fronta__may_stop(rt);
    if (rc)
        return rc;
    /* Pairs with fronta__enter, which counts itself before it reads the
     * flags; wait_all's heavy barrier completes the handshake. */
    unsigned f = FRONTA__RT_SHUTDOWN |
                 (how == FRONTA_SHUTDOWN_CANCEL_PENDING ? FRONTA__RT_CANCELLING : 0);
    atomic_fetch_or_explicit(&rt->flags, f, memory_order_seq_cst);
    pthread_mutex_lock(&rt->shutdown_lock);
    if (!rt->stopped) {
        drain_and_lock(rt);
        fronta__progress_stop(rt);
        fronta__sched_fini(rt); /* the models persist while the devices are known */
        fronta__buffers_unload(rt);
        stop_drivers(rt);
        rt->drivers_gone = 1;
        pthread_rwlock_unlock(&rt->stop_lock);
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
    fronta__progress_stop(rt);
    if (rt->trace) /* first: its events name kernels freed below */
        fronta__trace_close(rt->trace);
    rt->trace = NULL;
    fronta__sched_fini(rt);
    fronta__res_fini(rt, rt->res);
    if (rt->workers) {
        for (int i = 0; i < rt->worker_cap; i++)
            fronta__deque_destroy(&rt->workers[i].deque);
        fronta__mem_free(&rt->alloc, rt->workers_raw,
                         (size_t)rt->worker_cap * sizeof *rt->workers + 63);
    }
    for (int i = 0; i < FRONTA__MAX_EXT; i++)
        fronta__spmc_destroy(&rt->ext[i].q);
    fronta__slab_foreach(&rt->task_slab, free_live_task, NULL);
    fronta__buffers_free_all(rt);
    fronta__kernels_free_all(rt);
    pthread_mutex_destroy(&rt->kernel_lock);
    pthread_mutex_destroy(&rt->buf_lock);
    pthread_rwlock_destroy(&rt->stop_lock);
    fronta__slab_destroy(&rt->task_slab);
    if (rt->prio.alloc)
        fronta__prio_destroy(&rt->prio);
    pthread_mutex_destroy(&rt->shutdown_lock);
    pthread_mutex_destroy(&rt->iter_lock);
    fronta__allocator a = rt->alloc;
    fronta__mem_free(&a, rt->raw, sizeof *rt + 63);
}

int fronta_runtime_destroy(fronta_runtime_t *rt)
{
    if (!rt)
        return 0;
    int rc = fronta__may_stop(rt);
    if (rc)
        return rc;
    fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT);
    fronta__as_completed_reap(rt);
    runtime_free(rt);
    return 0;
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
    out->tasks_submitted = atomic_load_explicit(&rt->shared_submitted, memory_order_relaxed);
    for (unsigned i = 0; i < FRONTA__MAX_EXT; i++)
        out->tasks_submitted += atomic_load_explicit(&rt->ext[i].submitted, memory_order_relaxed);
    for (int i = 0; i < rt->worker_cap; i++) {
        fronta__worker *w = &rt->workers[i];
        out->tasks_submitted += atomic_load_explicit(&w->submitted, memory_order_relaxed);
        out->tasks_run += atomic_load_explicit(&w->tasks_run, memory_order_relaxed);
        out->tasks_stolen += atomic_load_explicit(&w->tasks_stolen, memory_order_relaxed);
        out->worker_sleeps += atomic_load_explicit(&w->sleeps, memory_order_relaxed);
    }
    return 0;
}
