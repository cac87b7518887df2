/* The scheduler: the front (ready tasks in, a worker out, resource
 * accounting) and the policies behind it, one file and one const vtable
 * each (ws.c, eager.c, heft.c). Core hands the front every ready task;
 * the front never runs one. */
#ifndef FRONTA_SCHED_SCHED_H
#define FRONTA_SCHED_SCHED_H

#include "core/internal.h"

struct fronta__ktask;
struct fronta__kbufs;

/* A placement question: the kernel task kt (its buffers kb locked), the
 * devices that may run it (bit id set), and for each the estimate the
 * front has filled in where a policy wants one (heft). */
typedef struct fronta__place_ctx {
    fronta_runtime_t *rt;
    struct fronta__ktask *kt;
    const struct fronta__kbufs *kb;
    uint64_t cands;                 /* admissible devices: needs, implementation, resources */
} fronta__place_ctx;

typedef struct fronta__policy {
    const char *name;
    const char *description;
    /* ---- the pool ----
     * A ready task for the pool, from the thread `sub` describes; lifo:
     * it was released by a task that just completed on that worker (run
     * it next if you like). Wakes a sleeping worker if needed. */
    void (*push)(fronta_future_t *t, const fronta__submitter *sub, int lifo);
    /* The next task for pool worker w, or NULL. */
    fronta_future_t *(*pop)(fronta__worker *w);
    /* Might pop find something? A cheap over-approximation: a worker
     * that announced it sleeps checks it before it does. */
    int (*has_work)(fronta__worker *w);
    /* ---- devices ----
     * The device to run a kernel task on, among pc->cands (never 0 bits),
     * at submit with its buffers locked: chaining needs the device before
     * the task is ready. */
    int (*place)(const fronta__place_ctx *pc);
} fronta__policy;

extern const fronta__policy fronta__policy_ws;
extern const fronta__policy fronta__policy_eager;
extern const fronta__policy fronta__policy_heft;

/* The ws policy's parts, which heft reuses for the pool. */
void fronta__ws_push(fronta_future_t *t, const fronta__submitter *sub, int lifo);
fronta_future_t *fronta__ws_pop(fronta__worker *w);
int fronta__ws_has_work(fronta__worker *w);
int fronta__ws_place(const fronta__place_ctx *pc);

/* ---- the front (sched.c) ---- */

/* The policy of that name (case-blind), or NULL. */
const fronta__policy *fronta__sched_find(const char *name);

/* Choose the policy (settings, then FRONTA_SCHED, then the default for
 * the devices started) and set up the front's state; after the drivers
 * have started. */
int fronta__sched_init(fronta_runtime_t *rt, const char *name);
void fronta__sched_fini(fronta_runtime_t *rt);

int fronta__sched_ready_slow(fronta_future_t *t, const fronta__submitter *sub);

/* A ready plain task (or a kernel task placed on the pool): held back if
 * it needs resources that are taken, else to the policy. Inline: this is
 * every task's way, and the common one tests two words and calls push. */
static inline void fronta__sched_ready(fronta_future_t *t, const fronta__submitter *sub,
                                       int lifo)
{
    fronta_runtime_t *rt = t->rt;
    if (__builtin_expect(rt->trace != NULL || fronta__has_res(t), 0) &&
        fronta__sched_ready_slow(t, sub))
        return;
    rt->policy->push(t, sub, lifo);
}

/* Record an instant (FRONTA__TR_SUBMIT, _READY) of t on the calling
 * thread's track; only when rt->trace is set. */
void fronta__sched_trace(fronta_runtime_t *rt, int kind, const fronta_future_t *t);

/* A plain task with resources ends an attempt (ran, or was dropped
 * while admitted): give them back. */
void fronta__sched_release(fronta_future_t *t);
/* A cancelled plain task: 1 when it was waiting for resources and is no
 * longer (its execution reference is the caller's to drop). */
int fronta__sched_unwait(fronta_future_t *t);

/* Wake a pool worker for a task just queued. after_plain_store: the
 * queue's push ended with a relaxed store (needs a full fence first). */
static inline void fronta__sched_wake(fronta_runtime_t *rt, int after_plain_store)
{
    /* rt->sleepers is the pool's published hint (workers about to park or
     * parked): read here, so that the common case -- nobody asleep --
     * costs no call. The push and this load must not be reordered against
     * the sleeper's announce-then-recheck (a Dekker pair); a deque push
     * ends in a relaxed store, so it needs the fence. */
    if (after_plain_store)
        atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&rt->sleepers, memory_order_seq_cst))
        return;
    const fronta__device *pool = &rt->devices[0];
    pool->drv->notify(pool->data, 0);
}

/* Place a kernel task at submit (with its buffers locked): the device
 * id, or FRONTA_ENOIMPL / FRONTA_ENODEV / FRONTA_ERESOURCE (with a
 * message for fronta_last_error). */
int fronta__sched_place(fronta_runtime_t *rt, struct fronta__ktask *kt,
                        const struct fronta__kbufs *kb);
/* The devices that can run kt and have its resources. */
uint64_t fronta__sched_candidates(const fronta_runtime_t *rt, const struct fronta__ktask *kt);
/* Can the pool run kt (its needs admit it, it has a CPU implementation,
 * the pool declares its resources)? For a fallback. */
int fronta__sched_pool_admits(const fronta_runtime_t *rt, const struct fronta__ktask *kt);

/* A kernel task whose dependencies are met goes to its device once its
 * resources (mem included) are admitted there; release at its end. */
void fronta__sched_kernel_ready(fronta_future_t *t);
void fronta__sched_kernel_release(fronta_future_t *t);
int fronta__sched_kernel_unwait(fronta_future_t *t);
/* Placed again, on dev (a retry, a fallback). */
void fronta__sched_replace(fronta_runtime_t *rt, struct fronta__ktask *kt, int dev);

/* A kernel task's device work is measured (ns), on the device it ran: the
 * model learns; the task's estimate leaves the device's backlog. */
void fronta__sched_kernel_ran(fronta_runtime_t *rt, struct fronta__ktask *kt, int dev,
                              uint64_t ns, int ok);
/* A kernel task leaves device dev without a measurement (failed,
 * cancelled, fell back): its estimate leaves the device's backlog. */
void fronta__sched_kernel_left(fronta_runtime_t *rt, struct fronta__ktask *kt, int dev);
/* bytes moved from memory node src to dst in ns: the transfer model. */
void fronta__sched_transfer(fronta_runtime_t *rt, int src, int dst, uint64_t bytes,
                            uint64_t ns);

#endif
