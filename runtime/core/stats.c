/* Worker statistics, progress counts and the progress hook's ticker, and
 * the trace flush of the public API. */
#include "core/kernel.h"
#include "sched/resource.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* ---- progress ---- */

int fronta_runtime_progress(const fronta_runtime_t *rt, uint64_t *completed,
                            uint64_t *submitted)
{
    if (!rt)
        return FRONTA_EINVAL;
    uint64_t c, s;
    fronta__counts(rt, &c, &s);
    if (completed)
        *completed = c;
    if (submitted)
        *submitted = s;
    return 0;
}

/* The ticker: a thread that sleeps on a condition variable between calls,
 * so that stop wakes it at once. */
struct fronta__progress {
    pthread_t thread;
    pthread_mutex_t lock;           /* guards stop */
    pthread_cond_t cond;            /* on CLOCK_MONOTONIC */
    int stop;
    uint64_t period_ns;
};

static void deadline_after(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t t = (uint64_t)ts->tv_nsec + ns % 1000000000u;
    ts->tv_sec += (time_t)(ns / 1000000000u + t / 1000000000u);
    ts->tv_nsec = (long)(t % 1000000000u);
}

/* Call the hook while work is outstanding, and once more when it is all
 * done; *open says the last call saw work outstanding. */
static void tick(fronta_runtime_t *rt, int *open)
{
    uint64_t c, s;
    fronta__counts(rt, &c, &s);
    if (c < s || *open)
        rt->set.progress(rt->set.progress_ud, c, s);
    *open = c < s;
}

static void *ticker_main(void *arg)
{
    fronta_runtime_t *rt = arg;
    struct fronta__progress *p = rt->progress;
    /* The hook runs on a thread of the runtime: a wait there could wait
     * for the stop that waits for this thread. Waits refuse (EBUSY). */
    fronta__driver_thread_enter(rt);
    int open = 0;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec ts;
        deadline_after(&ts, p->period_ns);
        while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &ts) != ETIMEDOUT) {
        }
        pthread_mutex_unlock(&p->lock);
        tick(rt, &open); /* at stop too: the final call, counts equal after a drain */
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int fronta__progress_start(fronta_runtime_t *rt)
{
    if (!rt->set.progress || rt->progress)
        return 0;
    struct fronta__progress *p = fronta__mem_calloc(&rt->alloc, 1, sizeof *p);
    if (!p)
        return FRONTA_ENOMEM;
    int ms = rt->set.progress_ms > 0 ? rt->set.progress_ms : 200;
    p->period_ns = (uint64_t)ms * 1000000u;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->lock, NULL);
    rt->progress = p;
    if (pthread_create(&p->thread, NULL, ticker_main, rt)) {
        rt->progress = NULL;
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        fronta__mem_free(&rt->alloc, p, sizeof *p);
        return FRONTA_ESYS;
    }
    return 0;
}

void fronta__progress_stop(fronta_runtime_t *rt)
{
    struct fronta__progress *p = rt->progress;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    rt->progress = NULL;
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    fronta__mem_free(&rt->alloc, p, sizeof *p);
}

/* ---- workers ---- */

/* Pool threads, then one worker per device other than the pool. Once
 * the drivers have stopped (shutdown) only the pool threads are left. */
int fronta_worker_count(const fronta_runtime_t *rt)
{
    if (!rt)
        return FRONTA_EINVAL;
    return rt->nworkers + (rt->ndevices > 1 ? rt->ndevices - 1 : 0);
}

/* Waits of device dev's tasks (under its lock: the count is not atomic). */
static uint64_t res_waits(fronta_runtime_t *rt, int dev)
{
    if (!rt->res)
        return 0;
    struct fronta__res_dev *rd = &rt->res->dev[dev];
    pthread_mutex_lock(&rd->lock);
    uint64_t n = rd->waits;
    pthread_mutex_unlock(&rd->lock);
    return n;
}

/* A plain task that waits is counted by the pool thread that made it
 * ready; one made ready outside the pool (submitted with no inputs from
 * the main thread, say) by no thread. Pool thread 0 reports those too, so
 * that the workers' counts add up to every wait. */
static uint64_t unattributed_waits(fronta_runtime_t *rt)
{
    uint64_t all = res_waits(rt, 0), mine = 0;
    for (int i = 0; i < rt->nworkers; i++)
        mine += atomic_load_explicit(&rt->workers[i].res_waits, memory_order_relaxed);
    return all > mine ? all - mine : 0;
}

static void pool_worker(fronta_runtime_t *rt, int i, fronta_worker_stats_t *s)
{
    const fronta__worker *w = &rt->workers[i];
    s->device = 0;
    s->thread = i;
    s->tasks_run = atomic_load_explicit(&w->tasks_run, memory_order_relaxed);
    s->host_wakeups = atomic_load_explicit(&w->sleeps, memory_order_relaxed);
    s->resource_waits = atomic_load_explicit(&w->res_waits, memory_order_relaxed);
    if (i == 0)
        s->resource_waits += unattributed_waits(rt);
    uint64_t now = fronta__now_ns();
    uint64_t wall = now > rt->created_ns ? now - rt->created_ns : 0;
    /* An idle period still under way is idle too: else a sleeping worker
     * would read as busy until it wakes. */
    uint64_t since = atomic_load_explicit(&w->idle_since, memory_order_acquire);
    uint64_t idle = atomic_load_explicit(&w->idle_ns, memory_order_relaxed);
    if (since && now > since)
        idle += now - since;
    s->busy_ns = wall > idle ? wall - idle : 0;
}

/* Under stop_lock (read), which keeps the drivers from stopping meanwhile;
 * a try: a progress hook asking while shutdown stops the drivers must not
 * wait for a shutdown that waits for it. */
static int device_worker(fronta_runtime_t *rt, int dev, fronta_worker_stats_t *s)
{
    if (pthread_rwlock_tryrdlock(&rt->stop_lock))
        return FRONTA_ESHUTDOWN;
    const fronta__device *d = fronta__device_get(rt, dev);
    int rc = rt->drivers_gone || !d ? FRONTA_ESHUTDOWN : 0;
    if (!rc) {
        s->device = dev;
        s->thread = -1;
        if (d->drv->worker_stats)
            d->drv->worker_stats(d->data, d->local, s);
        s->resource_waits = res_waits(rt, dev);
    }
    pthread_rwlock_unlock(&rt->stop_lock);
    return rc;
}

int fronta_worker_stats(fronta_runtime_t *rt, int worker, fronta_worker_stats_t *out)
{
    if (!rt || !out || worker < 0)
        return FRONTA_EINVAL;
    size_t size = out->size ? out->size : sizeof(fronta_worker_stats_t);
    if (size < sizeof(size_t))
        return FRONTA_EINVAL;
    fronta_worker_stats_t s;
    memset(&s, 0, sizeof s);
    int rc = 0;
    if (worker < rt->nworkers)
        pool_worker(rt, worker, &s);
    else if (worker < fronta_worker_count(rt))
        rc = device_worker(rt, worker - rt->nworkers + 1, &s);
    else
        rc = FRONTA_EINVAL;
    if (rc)
        return rc;
    s.size = size;
    /* Copy only what the caller's (possibly older) struct holds. */
    memcpy(out, &s, size < sizeof s ? size : sizeof s);
    return 0;
}

/* ---- trace ---- */

int fronta_runtime_trace_flush(fronta_runtime_t *rt)
{
    if (!rt)
        return FRONTA_EINVAL;
    return rt->trace ? fronta__trace_flush(rt->trace) : FRONTA_ENOTSUP;
}
