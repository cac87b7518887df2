/* The CPU pool: OpenMP threads that take ready tasks from the scheduling
 * policy (sched/), run them, and spin then sleep when there are none. */
#include "core/internal.h"
#include "core/kernel.h"
#include "drivers/driver.h"
#include "sched/sched.h"

#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- waking ---- */

/* Whether w sleeps pinned to the calling thread's CPU (*cpu: -2 until
 * looked up, so that a pool without homes never asks). */
static int homed_here(fronta__worker *w, int *cpu)
{
    int home = atomic_load_explicit(&w->home_cpu, memory_order_relaxed);
    if (home < 0)
        return 0;
    if (*cpu == -2)
        *cpu = sched_getcpu();
    return home == *cpu;
}

static void cpu_notify(void *data, int after_plain_store)
{
    fronta_runtime_t *rt = data;
    /* fronta__sched_wake has fenced and seen a sleeper; another caller
     * may not have. */
    if (after_plain_store)
        atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&rt->sleepers, memory_order_seq_cst))
        return;
    /* A spinning worker will see the task: waking another would cost this
     * thread a system call for nothing. The spinner re-checks after its
     * heavy barrier before it parks, so it cannot miss it. */
    if (atomic_load_explicit(&rt->spinning, memory_order_seq_cst))
        return;
    /* Claim one parked worker (clear its flag) and wake it; a worker is
     * claimed by one notifier only, so a burst wakes each worker once.
     * First the one that sleeps pinned to this thread's CPU, if any: it
     * wakes where the kernel would have put it anyway (next to its waker,
     * which runs it as soon as it waits or yields: a few microseconds),
     * where one homed on an idle vCPU costs that vCPU's wake-up (100 us
     * and more on the VM; a map of 2^16 floats takes 40 us). The next
     * wake-up of a burst then goes to another CPU (park_worker). */
    int cpu = -2; /* this thread's CPU, asked for only if a worker has a home */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < rt->nworkers; i++) {
            fronta__worker *w = &rt->workers[i];
            if (pass == 0 && !homed_here(w, &cpu))
                continue;
            unsigned one = 1;
            if (atomic_load_explicit(&w->parked, memory_order_seq_cst) == 1 &&
                atomic_compare_exchange_strong_explicit(&w->parked, &one, 0,
                                                        memory_order_seq_cst,
                                                        memory_order_relaxed)) {
                fronta__unpark_one(&w->parked);
                return;
            }
        }
}

/* A worker with nothing to do may have completed the last task someone's
 * wait_all is waiting for. */
void fronta__pool_idle_check(fronta__worker *w)
{
    atomic_thread_fence(memory_order_seq_cst); /* completed store, then waiters load */
    fronta__wake_idle_waiters(w->rt);
}

/* ---- finding work: the policy's ---- */

fronta_future_t *fronta__pool_find_work(fronta__worker *w)
{
    return w->rt->policy->pop(w);
}

static int has_work(fronta__worker *w)
{
    return w->rt->policy->has_work(w);
}

/* ---- running ---- */

static void finish_attempt(fronta_future_t *t, int rc)
{
    if (rc == 0) {
        t->final = FRONTA__ST_FINISHED;
    } else if (t->attempt < t->retries &&
               !fronta_ctx_cancel_requested(&(fronta__ctx){.task = t})) {
        /* Retry: back to pending (so it can be cancelled between attempts),
         * keeping the waiters bit; the execution reference goes with it. */
        t->attempt++;
        fronta__set_error(t, 0, 0, NULL);
        fronta__task_reset_result(t); /* a failed attempt's result is no result */
        fronta__task_unstart(t);
        fronta__reschedule(t);
        return;
    } else {
        int cancelled = rc == FRONTA_ECANCELLED &&
                        fronta_ctx_cancel_requested(&(fronta__ctx){.task = t});
        t->final = cancelled ? FRONTA__ST_CANCELLED : FRONTA__ST_FAILED;
        if (t->flags & FRONTA__F_ERR) {
            /* fronta_ctx_fail left a message: keep it, and the root it
             * named (the task itself; a runtime gather names the chunk
             * that failed). */
            t->err_code = rc > 0 ? FRONTA_ETASK : rc;
        } else if (rc > 0) {
            /* Callers test rc < 0: a positive code would read as success. */
            char msg[96];
            snprintf(msg, sizeof msg, "task returned %d, which is not a FRONTA_E* code", rc);
            fronta__set_error(t, FRONTA_ETASK, t->id, msg);
        } else {
            fronta__set_error(t, rc, t->id, NULL);
        }
    }
    fronta__complete(t);
    fronta__exec_done(t);
}

/* What an admitted task holds goes back when its attempt ends, run or
 * not (a retry is admitted again). */
static void release_held(fronta_future_t *t)
{
    if (fronta__has_res(t))
        fronta__sched_release(t);
    else if (fronta__is_ktask(t))
        fronta__sched_kernel_release(t);
}

static void drop(fronta_future_t *t)
{
    release_held(t);
    fronta__exec_done(t);
}

static int run_traced(fronta__worker *w, fronta_future_t *t, fronta__ctx *ctx)
{
    uint64_t t0 = fronta__now_ns();
    int rc = t->fn(ctx, t->arg);
    const fronta__ktask *kt = fronta__ktask_of(t);
    fronta__trace_event(w->rt->trace, FRONTA__TR_RUN, FRONTA__TRACK_POOL + w->index,
                        t->name ? t->name : kt && kt->k ? kt->k->name : "task", t->id, t0,
                        fronta__now_ns(), 0);
    return rc;
}

void fronta__pool_run(fronta__worker *w, fronta_future_t *t)
{
    if (atomic_load_explicit(&w->rt->flags, memory_order_relaxed) & FRONTA__RT_CANCELLING) {
        fronta_future_cancel(t); /* fails harmlessly if no longer pending */
        drop(t);
        return;
    }
    if (!fronta__task_start(t)) {
        drop(t); /* cancelled or failed while queued */
        return;
    }
    fronta__ctx *outer = fronta__current_ctx();
    fronta__ctx ctx = {.task = t, .worker = w, .outer = outer};
    fronta__set_current(w, &ctx);
    int rc = __builtin_expect(w->rt->trace != NULL, 0) ? run_traced(w, t, &ctx)
                                                       : t->fn(&ctx, t->arg);
    release_held(t);
    /* Completion runs outside any task: a done-callback that submits makes
     * a top-level task, not a child of whatever task this worker is
     * nested in (which would make that task's child keys depend on timing). */
    fronta__set_current(w, NULL);
    atomic_fetch_add_explicit(&w->tasks_run, 1, memory_order_relaxed);
    finish_attempt(t, rc);
    fronta__set_current(w, outer);
}

/* ---- waiting inside a task ---- */

/* One step of a wait inside a task (driver.h: help). */
static int cpu_help(void *data, fronta__worker *w)
{
    (void)data;
    fronta_future_t *t = fronta__pool_find_work(w);
    if (!t)
        return 0;
    fronta__pool_run(w, t);
    return 1;
}

/* The wait is over: a successor released into the LIFO slot meanwhile
 * must not wait for the rest of the current task, so make it stealable. */
static void cpu_help_done(void *data, fronta__worker *w)
{
    (void)data;
    if (w->next_task && fronta__deque_push_owner(&w->deque, w->next_task) == 0) {
        w->next_task = NULL;
        fronta__sched_wake(w->rt, 1);
    }
}

/* ---- idling ---- */

static int stopping(fronta_runtime_t *rt)
{
    return atomic_load_explicit(&rt->flags, memory_order_seq_cst) & FRONTA__RT_STOP;
}

/* ---- sleeping at home ----
 *
 * Linux wakes a thread on an idle CPU when it sees one, else next to its
 * waker. Under a hypervisor an idle vCPU is often reported preempted (its
 * host thread descheduled), so it is not seen as idle: a worker woken by
 * the other worker (or by the submitter, which then goes to sleep in its
 * wait) was queued behind the running worker on the same vCPU, and the
 * second vCPU stayed idle until the load balancer moved it 2-4 ms later
 * (perf sched on the 2-vCPU VM: woken 13 us after the other vCPU went
 * idle, run 1.5 ms later; in the trace the second worker's first
 * scale/chunked task started 3-4 ms into an 11 ms map, median over 22
 * rows). So a worker sleeps pinned to a CPU of its own (the index-th of
 * the CPUs it may run on), where its wake-up must take it, and takes its
 * whole mask back as soon as it runs, so that while it works the kernel
 * balances it as before. Pinning and unpinning are two system calls
 * (2.5 us each on the VM): a worker pins itself only once it has slept
 * HOME_AFTER_NS, so a short sleep (between the small maps of
 * scale/chunked at 2^16, 40 us each) costs none, and a long one pays
 * 5 us in 10 ms or more. Workers that OMP_PROC_BIND /
 * OMP_PLACES gave one CPU, or more workers than CPUs, skip this:
 * placement is then someone else's choice, or no CPU would be a
 * worker's own. */
#define HOME_AFTER_NS 10000000u
typedef struct pool_home {
    int on;
    cpu_set_t all;  /* the mask the worker started with */
    cpu_set_t home; /* one CPU of it */
} pool_home;

static void home_init(pool_home *h, fronta__worker *w, int index)
{
    const fronta_runtime_t *rt = w->rt;
    h->on = 0;
    atomic_store_explicit(&w->home_cpu, -1, memory_order_relaxed);
    if (sched_getaffinity(0, sizeof h->all, &h->all) != 0)
        return;
    int ncpu = CPU_COUNT(&h->all);
    if (ncpu < 2 || rt->nworkers > ncpu)
        return;
    for (int c = 0, k = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &h->all))
            continue;
        if (k++ == index) {
            CPU_ZERO(&h->home);
            CPU_SET(c, &h->home);
            h->on = 1;
            atomic_store_explicit(&w->home_cpu, c, memory_order_relaxed);
            return;
        }
    }
}

/* Announce, re-check, sleep until a notifier clears `parked`. */
static void park_worker(fronta__worker *w, const pool_home *h)
{
    fronta_runtime_t *rt = w->rt;
    atomic_fetch_add_explicit(&rt->sleepers, 1, memory_order_seq_cst);
    atomic_store_explicit(&w->parked, 1, memory_order_seq_cst);
    /* Outside submitters push with only a compiler barrier before they
     * read `sleepers`: this makes their pushes visible before we look. */
    fronta__heavy_barrier();
    if (has_work(w) || stopping(rt)) {
        /* A notifier may have claimed us meanwhile; either way we are up. */
        atomic_store_explicit(&w->parked, 0, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&w->sleeps, 1, memory_order_relaxed);
        /* Unpinned for the first HOME_AFTER_NS, then pinned (a failed
         * call only leaves the mask as it was, and is not retried). */
        uint64_t pin_at = h->on ? fronta__now_ns() + HOME_AFTER_NS : 0;
        int pinned = 0;
        while (atomic_load_explicit(&w->parked, memory_order_acquire) == 1) {
            if (pin_at && fronta__now_ns() >= pin_at) {
                pinned = sched_setaffinity(0, sizeof h->home, &h->home) == 0;
                pin_at = 0;
            }
            fronta__park(&w->parked, 1, pin_at);
        }
        if (pinned)
            (void)sched_setaffinity(0, sizeof h->all, &h->all);
    }
    atomic_fetch_sub_explicit(&rt->sleepers, 1, memory_order_seq_cst);
}

/* Spin until work shows up or spin_us passes; 1 when work showed up.
 * *t0: when it began (the spin reads the clock anyway). */
static int spin_for_work(fronta__worker *w, uint64_t *t0)
{
    fronta_runtime_t *rt = w->rt;
    *t0 = fronta__now_ns();
    uint64_t end = *t0 + (uint64_t)rt->set.spin_us * 1000u;
    for (unsigned i = 1;; i++) {
        if (has_work(w) || stopping(rt))
            return 1;
        fronta__cpu_relax();
        if ((i & 31) == 0) {
            if (fronta__now_ns() >= end)
                return 0;
            sched_yield(); /* more threads than cores: let the submitter run */
        }
    }
}

/* Spin, then sleep. Returns non-zero when the pool stops; *spun is set
 * when a spin found work. Idle time is counted from the spin's start
 * once the worker goes to sleep: a worker that finds work within its spin
 * is busy (reading the clock twice per idle period would cost a chain of
 * short tasks ~70 ns each). */
static int idle(fronta__worker *w, const pool_home *h, int *spun)
{
    fronta_runtime_t *rt = w->rt;
    fronta__pool_idle_check(w);
    uint64_t t0 = 0;
    if (rt->set.spin_us > 0) {
        atomic_fetch_add_explicit(&rt->spinning, 1, memory_order_seq_cst);
        int found = spin_for_work(w, &t0);
        atomic_fetch_sub_explicit(&rt->spinning, 1, memory_order_seq_cst);
        if (found) {
            *spun = 1;
            return stopping(rt) && !has_work(w);
        }
    }
    if (!t0)
        t0 = fronta__now_ns();
    atomic_store_explicit(&w->idle_since, t0, memory_order_release);
    park_worker(w, h);
    /* idle_ns first: a reader between the two sees the period at most
     * twice, never not at all, and busy time is clamped at 0. */
    atomic_store_explicit(&w->idle_ns,
                          atomic_load_explicit(&w->idle_ns, memory_order_relaxed) +
                              (fronta__now_ns() - t0),
                          memory_order_relaxed);
    atomic_store_explicit(&w->idle_since, 0, memory_order_release);
    return stopping(rt);
}

static void worker_main(fronta_runtime_t *rt, int index)
{
    fronta__worker *w = &rt->workers[index];
    fronta__set_current(w, NULL);
    if (rt->set.worker_init)
        rt->set.worker_init(rt->set.worker_init_ud, index);
    pool_home home;
    home_init(&home, w, index); /* after worker_init, which may place the thread itself */
    int spun = 0;
    for (;;) {
        fronta_future_t *t = fronta__pool_find_work(w);
        if (t) {
            /* Notifiers wake nobody while a worker spins (cpu_notify): it
             * will see their tasks. But it takes one; if more are left,
             * it wakes the next worker in their place, or a burst pushed
             * during one spin would wait for that one task to end (a
             * task blocked behind a gate: forever). */
            if (spun) {
                spun = 0;
                if (has_work(w))
                    cpu_notify(rt, 1);
            }
            fronta__pool_run(w, t);
        } else if (idle(w, &home, &spun)) {
            break;
        }
    }
    fronta__set_current(NULL, NULL);
}

/* ---- the driver ---- */

static void wait_word(atomic_uint *word, unsigned until)
{
    for (;;) {
        unsigned v = atomic_load_explicit(word, memory_order_acquire);
        if (v >= until)
            return;
        fronta__park(word, v, 0);
    }
}

static void bump(atomic_uint *word)
{
    atomic_fetch_add_explicit(word, 1, memory_order_release);
    fronta__unpark_all(word);
}

/* The pool is one persistent OpenMP parallel region, opened by a launcher
 * thread, so OMP_NUM_THREADS, OMP_PROC_BIND and OMP_PLACES place the
 * workers as users expect. */
static void *launcher_main(void *arg)
{
    fronta_runtime_t *rt = arg;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(rt->nworkers)
    {
        int index = omp_get_thread_num();
        if (index == 0) {
            atomic_store_explicit(&rt->team_size, (unsigned)omp_get_num_threads(),
                                  memory_order_release);
            fronta__unpark_all(&rt->team_size);
        }
        bump(&rt->started);
        wait_word(&rt->go, 1);
        /* go is 1 from cpu_ready, 2 from a creation that failed: then the
         * runtime stops before it goes. A runtime destroyed right after
         * create still gives every thread its worker_init. */
        if (index < rt->nworkers &&
            atomic_load_explicit(&rt->go, memory_order_acquire) == 1)
            worker_main(rt, index);
        /* Our own release/acquire edge to cpu_stop: the region's closing
         * barrier orders the same things, but inside libgomp, where
         * ThreadSanitizer cannot see it. */
        bump(&rt->exited);
    }
    return NULL;
}

/* OMP_STACKSIZE ("64M", "512K", "1G"; no unit means K), which libgomp
 * applies to the threads it creates: the launcher is worker 0, so it gets
 * the same stack as the others. 0 when unset or invalid. */
static size_t omp_stacksize(void)
{
    const char *v = getenv("OMP_STACKSIZE");
    if (!v || !*v)
        return 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    while (*end == ' ')
        end++;
    unsigned shift = 10;
    switch (*end) {
    case 'b': case 'B': shift = 0; end++; break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    }
    if (*end || end == v || n == 0 || n > (SIZE_MAX >> shift))
        return 0;
    return (size_t)n << shift;
}

static int cpu_start(fronta_runtime_t *rt, fronta__devsel *sel, void **data)
{
    *data = rt; /* what notify needs */
    /* The pool always runs (plain C functions need it); these tokens
     * only say that the user means it. */
    for (int t = 0; t < sel->ntok; t++)
        if (!strcasecmp(sel->tok[t], "all") || !strcasecmp(sel->tok[t], "cpu") ||
            !strcasecmp(sel->tok[t], "cpu_pool"))
            sel->matched[t] = 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    size_t stack = omp_stacksize();
    if (stack && pthread_attr_setstacksize(&attr, stack))
        FRONTA__LOG(rt, FRONTA_LOG_WARN, "OMP_STACKSIZE: cannot use %zu bytes", stack);
    int err = pthread_create(&rt->launcher, &attr, launcher_main, rt);
    pthread_attr_destroy(&attr);
    if (err)
        return FRONTA_ESYS;
    rt->launched = 1;
    /* OpenMP may give a smaller team than asked (OMP_THREAD_LIMIT): the
     * workers that exist are the pool. */
    wait_word(&rt->team_size, 1);
    unsigned team = atomic_load_explicit(&rt->team_size, memory_order_acquire);
    wait_word(&rt->started, team);
    if ((int)team < rt->nworkers) {
        FRONTA__LOG(rt, FRONTA_LOG_WARN, "OpenMP gave %u of %d pool threads", team,
                    rt->nworkers);
        rt->nworkers = (int)team;
    }
    return 0; /* the workers wait for cpu_ready: the scheduler is not chosen yet */
}

static void cpu_ready(fronta_runtime_t *rt, void *data)
{
    (void)data;
    bump(&rt->go);
}

static void cpu_stop(fronta_runtime_t *rt, void *data)
{
    (void)data;
    if (!rt->launched)
        return;
    atomic_fetch_or_explicit(&rt->flags, FRONTA__RT_STOP, memory_order_seq_cst);
    unsigned zero = 0; /* creation failed before cpu_ready: go, to stop */
    if (atomic_compare_exchange_strong_explicit(&rt->go, &zero, 2, memory_order_acq_rel,
                                                memory_order_relaxed))
        fronta__unpark_all(&rt->go);
    for (int i = 0; i < rt->nworkers; i++) {
        atomic_store_explicit(&rt->workers[i].parked, 0, memory_order_seq_cst);
        fronta__unpark_one(&rt->workers[i].parked);
    }
    pthread_join(rt->launcher, NULL);
    wait_word(&rt->exited, atomic_load_explicit(&rt->team_size, memory_order_relaxed));
    rt->launched = 0;
}

static int cpu_ndevices(const fronta_runtime_t *rt, const void *data)
{
    (void)rt;
    (void)data;
    return 1;
}

static void cpu_device_info(const fronta_runtime_t *rt, const void *data, int i,
                            fronta_device_info_t *out)
{
    (void)data;
    (void)i;
    out->kind = FRONTA_DEVICE_CPU_POOL;
    out->type = FRONTA_DEVTYPE_CPU;
    snprintf(out->name, sizeof out->name, "OpenMP pool");
    snprintf(out->vendor, sizeof out->vendor, "fronta");
    snprintf(out->version, sizeof out->version, "OpenMP %d", _OPENMP);
    out->compute_units = (unsigned)rt->nworkers;
    out->unified_memory = 1;
}

/* Kernels: the pool runs their CPU implementation, as a plain task. */
static int cpu_can_run(const void *data, int i, const fronta_kernel_t *k)
{
    (void)data;
    (void)i;
    return k->cpu != NULL;
}

static void cpu_submit(void *data, int i, fronta_future_t *t)
{
    (void)data;
    (void)i;
    if ((atomic_load_explicit(&t->state, memory_order_acquire) & FRONTA__ST_MASK) !=
        FRONTA__ST_PENDING) {
        fronta__ktask_drop(t); /* cancelled while it waited for resources */
        return;
    }
    fronta__make_ready(t);
}

const fronta__driver fronta__driver_cpu = {
    .name = "cpu",
    .description = "CPU pool of OpenMP threads",
    .start = cpu_start,
    .stop = cpu_stop,
    .ready = cpu_ready,
    .ndevices = cpu_ndevices,
    .device_info = cpu_device_info,
    .can_run = cpu_can_run,
    .submit = cpu_submit,
    .notify = cpu_notify,
    .help = cpu_help,
    .help_done = cpu_help_done,
};
