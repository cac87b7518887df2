/* Internal types shared by core, sched and the CPU driver. */
#ifndef FRONTA_CORE_INTERNAL_H
#define FRONTA_CORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "fronta.h"
#include "queue/deque.h"
#include "queue/inject.h"
#include "queue/prio.h"
#include "queue/spmc.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/park.h"
#include "util/trace.h"
#include "drivers/driver.h"

/* ---- task states: the low bits of fronta_future.state (a futex word) ---- */
enum {
    FRONTA__ST_PENDING = 0,
    FRONTA__ST_RUNNING = 1,
    FRONTA__ST_CLAIMED = 2,    /* being finalised without running (cancel, dep failure) */
    FRONTA__ST_FINISHED = 3,
    FRONTA__ST_FAILED = 4,
    FRONTA__ST_CANCELLED = 5,
    FRONTA__ST_MASK = 7,
    FRONTA__ST_WAITERS = 8     /* someone sleeps on the word: wake at completion */
};
#define FRONTA__FINAL(s) (((s) & FRONTA__ST_MASK) >= FRONTA__ST_FINISHED)

#define FRONTA__MAGIC_LIVE 0x46524f4eu  /* "FRON" */
#define FRONTA__MAGIC_DEAD 0xdeadf00du

/* ---- completion lists ----
 * What runs when a future completes (successor edges, callbacks, waiters of
 * fronta_wait and as_completed) is a node on the future's list. The list
 * head is lock-free for push and close; FRONTA__LIST_LOCK, a tag bit on the
 * head, is held only to unlink a node (a waiter that gives up). */
typedef struct fronta__node fronta__node;
typedef struct fronta__worklist { fronta_future_t *head; } fronta__worklist;
typedef void (*fronta__fire_fn)(fronta__node *n, fronta_future_t *done,
                                fronta__worklist *wl);
struct fronta__node {
    fronta__node *next;
    fronta__fire_fn fire;
};
#define FRONTA__LIST_CLOSED ((fronta__node *)(uintptr_t)1)
#define FRONTA__LIST_LOCK ((uintptr_t)2)

/* A dependency: lives inside the successor, linked on the predecessor. */
typedef struct fronta__edge {
    fronta__node node;
    fronta_future_t *pred;
    fronta_future_t *succ;
} fronta__edge;

#define FRONTA__ARG_INLINE 48
#define FRONTA__RES_INLINE 40
#define FRONTA__DEP_INLINE 2

enum {
    FRONTA__F_ARG_HEAP = 1,
    FRONTA__F_RES_HEAP = 2,
    FRONTA__F_DEPS_HEAP = 4,
    FRONTA__F_ERR = 8,      /* err_code, err_root, err_msg are set */
    FRONTA__F_KTASK = 16,   /* a kernel task: arg holds its fronta__ktask * */
    FRONTA__F_RES = 32,     /* rneed is allocated (freed with the task) */
};

struct fronta__map;

/* A task and its future are one object. References: one held by the
 * execution (dropped by whoever would have run it), one per handle given to
 * the user, one per registered dependency edge, one per worklist entry.
 *
 * Layout: submit writes only the first two cache lines (a task that
 * crosses to another core costs a transfer per line); the error fields,
 * valid only under FRONTA__F_ERR, and the inline arrays come after. */
struct fronta_future {
    /* line 0: scheduling */
    fronta__qnode qnode;            /* injection queue; free-list link when free */
    atomic_uint state;
    atomic_uint refs;
    atomic_int pending;             /* unfinished inputs + the submit gate */
    uint32_t magic;
    fronta_runtime_t *rt;
    fronta_fn_t fn;
    _Atomic(fronta__node *) list;
    void *arg;
    uint32_t arg_size;
    int32_t priority;
    /* line 1: identity and result */
    uint64_t id, key;
    void *res;
    struct fronta__map *map;
    const char *name;
    fronta__edge *deps;
    uint32_t res_size;
    uint32_t ndeps;
    uint8_t flags;                  /* FRONTA__F_*: written only by the task's owner of the moment */
    uint8_t final;                  /* outcome, set before the state publishes it */
    atomic_uchar cancel_req;        /* cooperative cancel of a running task */
    atomic_uchar detached;          /* own byte: flags is written by the running task */
    uint16_t attempt, retries;
    /* line 2 on: cold or optional */
    int err_code;
    /* A task failed by an input while submit still links its edges must
     * not complete under that loop (completion releases the inputs it
     * reads): 2 while neither has happened, and whichever of "publish is
     * done" and "claimed by a failed input" comes second completes it. */
    atomic_uchar settle;
    uint64_t err_root;
    char *err_msg;
    size_t err_msg_size;
    fronta_future_t *work_next;     /* completion worklist */
    struct fronta__rneed *rneed;    /* fronta__has_res: its needs; fn is theirs */
    fronta__edge dep_inline[FRONTA__DEP_INLINE];
    unsigned char arg_inline[FRONTA__ARG_INLINE];
    unsigned char res_inline[FRONTA__RES_INLINE];
};

/* Gated tasks of one fronta_map call with an in-flight limit. */
typedef struct fronta__map {
    atomic_size_t next;             /* index of the next task to release */
    atomic_size_t refs;             /* one per task */
    size_t n;
    fronta_future_t *tasks[];
} fronta__map;

/* ---- workers ---- */
struct fronta__worker {
    fronta__deque deque;
    fronta_runtime_t *rt;
    int index;
    fronta_future_t *next_task;     /* LIFO slot: a released successor, run next */
    fronta__cache cache;
    atomic_uint_fast64_t submitted; /* tasks this worker submitted; written by it only */
    atomic_uint_fast64_t completed; /* tasks completed on it; written by it only */
    uint64_t id_next, id_end;       /* its block of task ids */
    atomic_uint parked;             /* futex word: 1 while asleep, cleared by its waker */
    atomic_int home_cpu;            /* the CPU it sleeps pinned to (pool.c), or -1 */
    uint64_t victim_seed;
    atomic_uint_fast64_t tasks_run, tasks_stolen, sleeps;
    /* Busy time is what is not idle: idle_ns grows only when the worker
     * spins or sleeps, so the hot path reads no clock. */
    atomic_uint_fast64_t idle_ns;
    atomic_uint_fast64_t idle_since; /* when the idle period under way began; 0 busy */
    atomic_uint_fast64_t res_waits; /* tasks it made ready that had to wait for a resource */
    atomic_uint guest_taken;        /* a guest slot (index >= nworkers): claimed by a waiter */
} __attribute__((aligned(64)));

/* A thread outside the pool that submits gets a slot: its own queue and
 * counters, so submitting takes no locked instruction (each one would wait
 * for the stores of the task just written). Threads beyond the slots share
 * the injection queue and counters. */
#define FRONTA__MAX_EXT 16
typedef struct fronta__ext {
    fronta__spmc q;
    atomic_uint in_use;             /* claimed by a thread */
    atomic_uint_fast64_t submitted; /* written by the owner only */
    uint64_t id_next, id_end;       /* the owner's block of task ids */
    uint64_t seq;                   /* the owner's top-level submissions: default keys */
} __attribute__((aligned(64))) fronta__ext;

/* Who is submitting: a worker, a slotted outside thread, or neither. */
typedef struct fronta__submitter {
    fronta__worker *w;
    fronta__ext *x;
    fronta__cache *cache;           /* the thread's object cache */
} fronta__submitter;

typedef struct fronta_ctx {
    fronta_future_t *task;
    fronta__worker *worker;
    uint64_t rng_counter;
    uint64_t children;
    /* The task this one runs inside of on the same worker (it waits, the
     * help-first way, while this one runs), or NULL. */
    struct fronta_ctx *outer;
} fronta__ctx;

enum {
    FRONTA__RT_SHUTDOWN = 1,        /* outside submissions refused */
    FRONTA__RT_CANCELLING = 2,      /* tasks that have not started are cancelled */
    FRONTA__RT_STOP = 4,            /* workers leave */
};

/* Settings after defaults and environment are applied. */
typedef struct fronta__settings {
    fronta__devsel sel;             /* FRONTA_DEVICES, split */
    int cpu_threads;
    fronta_log_level_t log_level;
    uint64_t seed;
    int spin_us;
    int zero_copy;                  /* map instead of copy where memory is shared */
    char sched[16];                 /* policy name; "" the default */
    const char *resources;          /* FRONTA_RESOURCES spec; NULL none */
    const char *trace;              /* FRONTA_TRACE path; NULL off */
    void (*worker_init)(void *ud, int worker);
    void *worker_init_ud;
    int wait_helps;
    void (*progress)(void *ud, uint64_t completed, uint64_t submitted);
    void *progress_ud;
    int progress_ms;
    int coexec;                     /* maps over chunks co-execute */
    int rollback_host;              /* FRONTA_ROLLBACK=host */
    const char *mem_limit;          /* FRONTA_DEVICE_MEM_LIMIT spec; NULL none */
} fronta__settings;

struct fronta_runtime {
    void *raw;                      /* allocation behind this aligned struct */
    void *workers_raw;
    fronta__allocator alloc;
    fronta__settings set;
    uint64_t uid;
    int nworkers;                   /* threads in the pool */
    int worker_cap;                 /* workers allocated */
    fronta__slab task_slab;
    fronta__worker *workers;
    fronta__inject inject;
    fronta__prio prio;
    void *driver_data[FRONTA__MAX_DRIVERS];
    int drivers_started;            /* drivers [0, n) of the registry run */
    pthread_t launcher;
    int launched;
    pthread_mutex_t shutdown_lock;  /* serialises shutdown and destroy */
    pthread_mutex_t iter_lock;      /* guards iterators */
    struct fronta_as_completed *iterators; /* live, freed by destroy if forgotten */
    int stopped;                    /* workers joined; under shutdown_lock */
    /* Held for writing while drivers stop, for reading by host accesses
     * and buffer destroys, so that neither sees half-stopped drivers. */
    pthread_rwlock_t stop_lock;
    int drivers_gone;               /* under stop_lock: only host copies left */
    atomic_uint team_size, started, go, exited;
    fronta__device devices[FRONTA__MAX_DEVICES];
    int ndevices;
    uint64_t created_ns;            /* busy time counts from here */
    /* The scheduler (runtime/sched): the policy, its models, resources. */
    const struct fronta__policy *policy;
    struct fronta__models *models;
    struct fronta__res *res;
    fronta__trace *trace;           /* NULL: tracing off */
    struct fronta__progress *progress; /* the progress hook's ticker (core/stats.c) */
    /* Kernel tasks placed on each device and not done (eager's measure). */
    _Alignas(64) atomic_int inflight[FRONTA__MAX_DEVICES];
    pthread_mutex_t kernel_lock;    /* guards kernels, nkernels */
    struct fronta_kernel *kernels;
    int nkernels;
    pthread_mutex_t buf_lock;       /* guards the list of buffers */
    struct fronta_buffer *buffers;
    atomic_uint_fast64_t pool_kernels_run;

    _Alignas(64) atomic_uint sleepers; /* workers about to park or parked: a hint */
    atomic_uint spinning;           /* idle workers spinning: they will find new work */
    fronta__ext ext[FRONTA__MAX_EXT];
    atomic_uint next_ext;           /* slots ever claimed: bound of scans */
    _Alignas(64) atomic_uint_fast64_t next_id;
    /* Submissions and completions not made by a worker or a slot owner. */
    _Alignas(64) atomic_uint_fast64_t shared_submitted;
    atomic_uint_fast64_t shared_completed;
    _Alignas(64) atomic_uint idle_seq; /* futex word of wait_all */
    atomic_uint idle_waiters;
    _Alignas(64) atomic_uint flags;
};

/* ---- what a task is, from its fn (written once, before it is published:
 * readable by any thread, unlike flags, which the task's owner of the
 * moment writes) ---- */
/* A kernel task's function (core/ktask.c), and the trampoline of a plain
 * task with resource needs (core/task.c), which calls rneed->fn. */
int fronta__ktask_run(fronta_ctx_t *ctx, void *arg);
int fronta__res_run(fronta_ctx_t *ctx, void *arg);
static inline int fronta__is_ktask(const fronta_future_t *t)
{
    return t->fn == fronta__ktask_run;
}
static inline int fronta__has_res(const fronta_future_t *t)
{
    return t->fn == fronta__res_run;
}

/* ---- core/errors.c ---- */
/* Set fronta_last_error() for this thread; returns code. */
int fronta__fail(int code, const char *fmt, ...) FRONTA_PRINTF(2, 3);

/* ---- core/runtime.c ---- */
fronta__worker *fronta__worker_of(const fronta_runtime_t *rt);
fronta__ctx *fronta__current_ctx(void);
void fronta__set_current(fronta__worker *w, fronta__ctx *ctx);
fronta__cache *fronta__thread_cache(fronta_runtime_t *rt);
void fronta__submitter_get(fronta_runtime_t *rt, fronta__submitter *s);
int fronta__enter(fronta_runtime_t *rt, const fronta__submitter *s, uint64_t n);
/* As fronta__enter, refusing only when rt->flags has a bit of `refuse`. */
int fronta__enter_ex(fronta_runtime_t *rt, const fronta__submitter *s, uint64_t n,
                     unsigned refuse);
/* Threads that must not wait (docs/design.md, the misuse table). */
void fronta__driver_thread_enter(const fronta_runtime_t *rt);
const fronta_runtime_t *fronta__callback_enter(const fronta_runtime_t *rt);
void fronta__callback_leave(const fronta_runtime_t *outer);
/* FRONTA_EBUSY when a wait by this thread may wait for the thread itself:
 * a driver thread of rt. */
int fronta__may_block(const fronta_runtime_t *rt);
/* FRONTA_EBUSY when waiting for all of rt's tasks would: a pool thread, a
 * driver thread, or inside a done-callback of rt. */
int fronta__may_stop(const fronta_runtime_t *rt);
void fronta__count_completed(fronta_runtime_t *rt, uint64_t n);
/* Take back n submissions fronta__enter counted that failed before they
 * became tasks. */
void fronta__unenter(fronta_runtime_t *rt, const fronta__submitter *s, uint64_t n);
uint64_t fronta__new_id(fronta_runtime_t *rt, const fronta__submitter *s);
void fronta__wake_idle_waiters(fronta_runtime_t *rt);
/* Tasks completed and submitted so far, over every counter (workers,
 * guests, submitter slots, shared). Completions are read first: a
 * completion is counted only after its task's submission was, so
 * completed <= submitted holds for the pair, and equal means idle. */
void fronta__counts(const fronta_runtime_t *rt, uint64_t *completed, uint64_t *submitted);
/* A waiting thread's guest worker (wait_helps), or NULL; leave(NULL) is
 * a no-op. */
fronta__worker *fronta__guest_enter(fronta_runtime_t *rt);
void fronta__guest_leave(fronta__worker *g);
void fronta__light_barrier(void);
void fronta__heavy_barrier(void);
int fronta__settings_load(const fronta_config_t *cfg, fronta__settings *out,
                          fronta_log_level_t *log_for_errors);
#define FRONTA__LOG(rt, lvl, ...) fronta__log((rt)->set.log_level, (lvl), __VA_ARGS__)

/* ---- core/task.c ---- */
int fronta__submit(fronta_runtime_t *rt, const fronta_call_t *c, fronta_future_t **out);
/* A task with no inputs, built but not published: the caller links and
 * schedules it (kernel tasks, host accesses). */
int fronta__task_new(fronta_runtime_t *rt, const fronta__submitter *sub, const fronta_call_t *c,
                     int with_user_ref, fronta_future_t **out);
void fronta__dep_fail(fronta_future_t *t, const fronta_future_t *done);
void fronta__task_release(fronta_future_t *t);
void fronta__task_free_parts(fronta_future_t *t);
/* No result (a retry starts without the failed attempt's). */
void fronta__task_reset_result(fronta_future_t *t);
int fronta__task_valid(const fronta_future_t *t);
void fronta__make_ready(fronta_future_t *t);
void fronta__reschedule(fronta_future_t *t);
void fronta__exec_done(fronta_future_t *t);
int fronta__claim(fronta_future_t *t);
int fronta__task_start(fronta_future_t *t);
void fronta__task_unstart(fronta_future_t *t);
void fronta__complete(fronta_future_t *t);
void fronta__log_detached_failure(const fronta_future_t *t);
void fronta__set_error(fronta_future_t *t, int code, uint64_t root, const char *msg);
int fronta__list_push(fronta_future_t *f, fronta__node *n);
int fronta__list_remove(fronta_future_t *f, fronta__node *n);
uint64_t fronta__mix64(uint64_t x);

/* A plain pool task (an internal kernel task) that runs fn(ctx, arg) once
 * all n futures are done, whatever their outcome: a failed input does not
 * fail it (fn inspects them). NULLs in fs are skipped; arg is copied. */
int fronta__submit_after_all(fronta_runtime_t *rt, fronta_future_t *const *fs, size_t n,
                             fronta_fn_t fn, const void *arg, size_t arg_size,
                             fronta_future_t **out);

/* ---- core/future.c ---- */
/* fronta_future_wait without the misuse checks: drivers wait on their
 * own terms (a device thread waits only for what it has handed over). */
int fronta__future_wait(fronta_future_t *f, double timeout);
/* Is n a done-callback's node? (They fire after the other nodes.) */
int fronta__node_is_callback(const fronta__node *n);

/* ---- core/stats.c ---- */
/* Start the ticker that calls settings.progress (no-op without one);
 * stop it before the workers stop. */
int fronta__progress_start(fronta_runtime_t *rt);
void fronta__progress_stop(fronta_runtime_t *rt);

/* ---- core/as_completed.c ---- */
void fronta__as_completed_reap(fronta_runtime_t *rt);

/* ---- drivers/cpu/pool.c ---- */
void fronta__pool_run(fronta__worker *w, fronta_future_t *t);
fronta_future_t *fronta__pool_find_work(fronta__worker *w);
void fronta__pool_idle_check(fronta__worker *w);

/* A wait on pool worker w runs other tasks meanwhile, through the pool's
 * driver (driver.h: help, help_done): core never calls into the pool. */
static inline int fronta__help(fronta__worker *w)
{
    const fronta__device *pool = &w->rt->devices[0];
    return pool->drv->help(pool->data, w);
}

static inline void fronta__help_done(fronta__worker *w)
{
    const fronta__device *pool = &w->rt->devices[0];
    pool->drv->help_done(pool->data, w);
}

#endif
