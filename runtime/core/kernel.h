/* Kernels, kernel tasks and buffers: the types core, data and the device
 * drivers share. */
#ifndef FRONTA_CORE_KERNEL_H
#define FRONTA_CORE_KERNEL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/internal.h"
#include "sched/resource.h"

struct fronta_kernel {
    fronta_runtime_t *rt;
    struct fronta_kernel *next;       /* the runtime's list */
    int index;                        /* dense: drivers index their objects by it */
    char *name;
    fronta_param_t params[FRONTA_MAX_ARGS];
    size_t nparams;
    fronta_cpu_kernel_fn cpu;
    char *cl_source, *cl_entry, *cl_options;
    /* 0.2 descriptor fields (zero from an older descriptor). */
    unsigned flags;                   /* FRONTA_KERNEL_* */
    size_t cl_local[2], cl_groups[2];
    fronta_kernel_scratch_fn cl_scratch;
    unsigned cl_passes;               /* >= 1 */
    fronta_kernel_check_fn check;
    /* A parameter takes a family of types (dtype 0 with a mask, a like
     * rule, FRONTA_ARG_SCALAR): the OpenCL source is built per combination
     * of the arguments' types, with -DT<i>=... (drivers/opencl/variant.c). */
    int generic;
    /* The runtime's own (partition, unpartition, gathers; not found by
     * name): its tasks may name partitioned buffers. */
    int internal;
};

/* ---- buffers (data/buffer.c, data/coherence.c) ---- */

#define FRONTA__BUF_MAGIC 0x46425546u /* "FBUF" */

struct fronta_buffer {
    uint32_t magic;
    fronta_dtype_t type;
    fronta_runtime_t *rt;
    void *host;                       /* node 0's replica: always allocated */
    size_t count, bytes;
    int owns_host;
    void *host_raw;                   /* owned: the allocation behind host */
    size_t host_alloc;
    /* Guards everything below. Held to register a task's accesses and to
     * move data; never held while waiting for a task. */
    pthread_mutex_t lock;
    uint64_t valid;                   /* bit n: node n's replica is current */
    uint64_t version;                 /* bumped by every write: a data version */
    void *rep[FRONTA__MAX_DEVICES];   /* drivers' replicas; [0] unused */
    /* Sequential consistency per buffer: the last task that wrote it and
     * the tasks that read it since, each holding a reference. */
    fronta_future_t *last_writer;
    fronta_future_t **readers;
    size_t nreaders, readers_cap;
    int held;                         /* an acquire is held (or under way) */
    int granted;                      /* ... and has returned 0: release ends it */
    /* The last host access that timed out, while it is still the newest in
     * the order (with a reference): the next acquire in the same mode takes
     * it over instead of queueing one more (data/buffer.c, adopt). */
    fronta_future_t *abandoned;
    fronta_access_t abandoned_mode;
    fronta_future_t *access;          /* its access task */
    fronta_access_t access_mode;
    int access_node;
    struct fronta_buffer *prev, *next; /* the runtime's list, under buf_lock */
    /* Partitions (data/partition.c), under lock. A parent: part is its
     * partition (NULL when whole); retired, those unpartitioned since,
     * kept (their chunks retired) until their unpartition task is done
     * and the parent is destroyed or partitioned again. A chunk: parent
     * and its place; not on the runtime's list: its parent frees it. */
    struct fronta__part *part, *retired;
    fronta_buffer_t *parent;
    size_t chunk_index, chunk_offset, chunk_row, chunk_col, chunk_rows, chunk_cols;
    int chunk_retired;
    int chunk_tiled;                  /* a tile: maps launch it 2-D */
    int dying;                        /* fronta__buffer_destroy_async: no new tasks */
    int part_busy;                    /* a partition or unpartition call is under way */
    /* Pool kernel tasks writing the host array without reading it, under
     * way: until they mark it written, a device may seem to hold the only
     * copy, and an eviction must not write that back over their output
     * (drivers/opencl/budget.c). */
    int host_writers;
};

int fronta__buffer_valid(const fronta_buffer_t *b);
/* Free b's memory (not on the runtime's list any more, every task on it
 * done), its partitions and their chunks included. */
void fronta__buffer_free(fronta_buffer_t *b);
/* Free an internal buffer once every task submitted on it so far has
 * completed, without waiting (b is not used afterwards). */
int fronta__buffer_destroy_async(fronta_buffer_t *b);
/* FRONTA_EPARTITION (with fronta_last_error) when a task of a kernel that
 * is not internal may not name b: partitioned, a retired chunk, dying. */
int fronta__buffer_usable(const fronta_buffer_t *b);
/* Its test alone, for submit's hot path: the message only when it fails. */
static inline int fronta__buffer_unusable(const fronta_buffer_t *b)
{
    return b->part || b->chunk_retired || b->dying || b->part_busy;
}

/* ---- partitions (data/partition.c) ---- */
typedef struct fronta__part {
    fronta_buffer_t *parent;
    size_t n;
    int tiled;
    size_t rows, cols, tile_rows, tile_cols;
    fronta_future_t *ptask;           /* the partition task */
    fronta_future_t *utask;           /* the unpartition task, once retired */
    int homed;                        /* retired without a task: the chunks were idle */
    fronta_future_t **writers;        /* at unpartition: each chunk's last writer */
    struct fronta__part *next;        /* the parent's retired list */
    fronta_buffer_t *chunks[];
} fronta__part;
/* fronta_buffer_partition without freeing b's retired chunks (a map over
 * whole buffers partitions for itself). */
int fronta__buffer_partition_keep(fronta_buffer_t *b, const fronta_partition_t *how);
/* Destroy's unpartition when every task of every chunk is done and each
 * chunk's host copy is current: on the calling thread, no task. 1 when
 * done; 0 when it was not idle (nothing changed, nothing to report). */
int fronta__unpartition_idle(fronta_buffer_t *b);
/* With b->lock held, for unload at shutdown and destroy: the chunks'
 * contents back in b's host array. */
int fronta__part_unload(fronta_buffer_t *b, int stopping, char *msg, size_t msz);
/* Free b's partitions and chunks (b is being freed). */
void fronta__part_free_all(fronta_buffer_t *b);
/* Before drivers stop: every buffer's contents back to the host, device
 * replicas freed. */
void fronta__buffers_unload(fronta_runtime_t *rt);
/* Destroy: free what the user left registered. */
void fronta__buffers_free_all(fronta_runtime_t *rt);

/* Sequential consistency, with b->lock held. deps: calls add for each
 * task an access in `mode` must follow, order_only set where its failure
 * is not the accessor's (write after read, write after write); ndeps
 * bounds their number. reserve makes room so that register cannot fail. */
typedef void (*fronta__dep_add_fn)(void *ud, fronta_future_t *pred, int order_only);
void fronta__buffer_deps(const fronta_buffer_t *b, fronta_access_t mode,
                         fronta__dep_add_fn add, void *ud);
size_t fronta__buffer_ndeps(const fronta_buffer_t *b, fronta_access_t mode);
int fronta__buffer_reserve(fronta_buffer_t *b, fronta_access_t mode);
/* t is the newest access; returns the references it took on t. */
unsigned fronta__buffer_register(fronta_buffer_t *b, fronta_access_t mode, fronta_future_t *t);

/* Coherence, with b->lock held. node == device id. */
int fronta__coh_alloc(fronta_buffer_t *b, int node, char *msg, size_t msz);
int fronta__coh_fetch(fronta_buffer_t *b, int node, char *msg, size_t msz);
void fronta__coh_written(fronta_buffer_t *b, int node);
void fronta__coh_drop(fronta_buffer_t *b, int node);
/* Every device replica of b freed (the host copy is left as it is). */
void fronta__coh_drop_all(fronta_buffer_t *b);
/* fronta_buffer_acquire at a memory node; *host gets the node's replica
 * (the host array for node 0, the driver's replica otherwise). */
int fronta__buffer_acquire_at(fronta_buffer_t *b, int node, fronta_access_t mode,
                              double timeout, void **host);

/* ---- kernel tasks (core/ktask.c) ---- */

/* A dependency of kernel task succ on pred. It fires once: when pred
 * completes, or earlier, when pred is enqueued on succ's device (chaining:
 * succ then waits for pred's event on the device, not on the host). */
typedef struct fronta__kdep {
    fronta__node node;                /* on pred's completion list */
    fronta__node enq;                 /* on pred's enqueue list (same device) */
    fronta_future_t *pred, *succ;
    atomic_uchar fired;
    uint8_t order_only;               /* WAR/WAW: pred's failure is not ours */
    uint8_t early;                    /* fired at pred's enqueue */
} fronta__kdep;

/* A launch shape: a 1-D launch of n is 1 x n (dims 1, work-group
 * `local`, 0: the driver picks); a 2-D one rows x cols (dims 2, work-group
 * local_rows x local_cols, 0 x 0: the driver picks). n = rows * cols. */
typedef struct fronta__shape {
    size_t rows, cols, n;
    size_t local;                     /* 1-D */
    size_t local_rows, local_cols;    /* 2-D */
    unsigned dims;
} fronta__shape;

/* A consumer of an elementwise pool kernel's pieces (FRONTA_KERNEL_
 * ELEMENTWISE; data/compact.c): the kernel runs piece by piece and calls
 * done after each (index from 0, elements [lo, lo + len)); undo when a
 * piece failed (what done made is stale: a retry or the fallback
 * recomputes it); release once, whether it ran or not. */
typedef struct fronta__piece_hook {
    size_t piece;                     /* elements a piece (the last one shorter) */
    void (*done)(struct fronta__piece_hook *h, size_t index, size_t lo, size_t len);
    void (*undo)(struct fronta__piece_hook *h);
    void (*release)(struct fronta__piece_hook *h);
} fronta__piece_hook;

typedef struct fronta__ktask {
    fronta_future_t *task;
    fronta_kernel_t *k;
    fronta_arg_t args[FRONTA_MAX_ARGS];
    uint32_t nargs;
    fronta__shape shape;
    fronta_needs_t needs;
    _Atomic int dev;                  /* placement; 0 after a fallback to the pool */
    int can_fall_back;
    fronta__rneed rn;                 /* resources, mem included, on dev */
    uint64_t est_ns;                  /* the model's estimate when placed (backlog) */
    int est_dev;                      /* the device whose backlog holds it; -1 none */
    _Atomic int sched_dev;            /* the front's: placed there and not done; -1 */
    uint64_t run_t0;                  /* OpenCL: enqueued at (the host-time fallback of
                                         its duration when profiling is off) */
    fronta__kdep *deps;
    uint32_t ndeps;
    size_t deps_cap;
    /* While a submission gathers its dependencies, an index of deps by
     * predecessor (open addressing, 1 + index; 0 empty) when there may be
     * many: one writer after 100k readers must not cost 100k^2 compares. */
    uint32_t *dedup;
    size_t dedup_size;
    _Atomic(fronta__node *) enq_list; /* successors chained on our enqueue */
    atomic_uint access_state;         /* host accesses (k == NULL): ACCESS_* */
    fronta_future_t *replaced;        /* an OUT access: the writer before it, held
                                         until the access ends */
    void *event;                      /* the driver's completion event */
    void (*event_free)(void *event);
    struct fronta__ktask *qnext;      /* driver queues */
    void *drv;                        /* the driver's, while it holds the task */
    uint64_t key;                     /* random-stream key at submit; 0 automatic */
    /* A co-executed map's chunk (sched/coexec.c): held (one more pending
     * count) until the dispatcher picks its device, and movable until
     * then, so nothing chains on it nor it on anything (kdep.c). */
    uint8_t held, movable;
    /* During submit: futures it follows whatever their outcome. */
    fronta_future_t *const *extra;
    size_t nextra;
    /* An internal task's data (fronta__ktask_submit_internal), freed with it. */
    void *priv;
    void (*priv_free)(fronta_runtime_t *rt, void *priv);
    /* A deferred host access (data/deferred.h): called instead of waking
     * an acquirer when its turn comes. */
    void (*defer_ready)(void *ud);
    void *defer_ud;
    /* Its piece consumer: NULL, one attached (fronta__ktask_hook), or
     * fronta__hook_closed once the pool has started it or it is freed.
     * Whoever swaps a consumer out releases it. */
    _Atomic(fronta__piece_hook *) hook;
} fronta__ktask;

extern fronta__piece_hook fronta__hook_closed;
/* Attach h to t, the task that last wrote `out` (the caller holds out's
 * lock, which keeps t referenced), when t is a 1-D elementwise kernel
 * task not started yet, with a CPU function, reading or writing `in` and
 * writing `out` among buffers of its launch's length. 1: attached (h is
 * released by whoever runs or frees t); 0: not (h untouched). */
int fronta__ktask_hook(fronta_future_t *t, const fronta_buffer_t *in, const fronta_buffer_t *out,
                       fronta__piece_hook *h);
/* t's consumer released if it never ran (t is being freed). */
void fronta__ktask_unhook(fronta__ktask *kt);

/* The distinct buffers of a task, in address order (the lock order), each
 * with the union of its modes. */
typedef struct fronta__kbufs {
    fronta_buffer_t *b[FRONTA_MAX_ARGS];
    fronta_access_t mode[FRONTA_MAX_ARGS];
    size_t n;
} fronta__kbufs;

fronta__ktask *fronta__ktask_of(const fronta_future_t *t);

/* The element type an argument gives a kernel's variant: a buffer's
 * dtype, a scalar's (FRONTA_INT32 for FRONTA_ARG_I32, ...); 3 bits, the
 * key of OpenCL program variants and of performance models. */
static inline unsigned fronta__arg_elem(const fronta_arg_t *a)
{
    switch (a->kind) {
    case FRONTA_ARG_BUFFER:
        return a->buffer ? (unsigned)a->buffer->type & 7u : 0;
    case FRONTA_ARG_I32:
        return FRONTA_INT32;
    case FRONTA_ARG_I64:
        return FRONTA_INT64;
    case FRONTA_ARG_F32:
        return FRONTA_FLOAT;
    default:
        return FRONTA_DOUBLE;
    }
}
/* With kb's buffers locked: place, build and register the task; nothing
 * is visible on failure. Then fronta__kdep_publish lets it go. */
int fronta__ktask_submit_locked(fronta_runtime_t *rt, const fronta__submitter *sub,
                                const fronta_task_desc_t *d, fronta__ktask *kt,
                                const fronta__kbufs *kb, int user_ref, fronta_future_t **out);
/* A submission that failed after fronta__enter: free kt (NULL is fine)
 * and uncount the submission. */
void fronta__ktask_discard(fronta_runtime_t *rt, const fronta__submitter *sub,
                           fronta__ktask *kt);
void fronta__kdep_add(fronta__ktask *kt, fronta_future_t *p, int order_only);
void fronta__kdep_publish(fronta_future_t *t, fronta__ktask *kt);
/* Its dependencies are met: to its device (or, for an access, its turn). */
void fronta__ktask_ready(fronta_future_t *t, fronta__worklist *wl);
void fronta__ktask_release_preds(fronta__ktask *kt);
/* Complete a task claimed without running (failed by an input, cancelled)
 * once all its dependencies have fired; wl as in fronta__access_ready. */
void fronta__ktask_settle(fronta_future_t *t, fronta__worklist *wl);
/* Has a dependency of kt fired early (chained on the device)? */
int fronta__ktask_chained(const fronta__ktask *kt);
/* fronta_future_cancel of a kernel task: 1 when cancelled. */
int fronta__ktask_cancel(fronta_future_t *t);
/* wl: the completion worklist of the caller, or NULL outside one. */
void fronta__access_ready(fronta_future_t *h, fronta__worklist *wl);
/* Device drivers, on a task they took (any order of these): */
/* Enqueued on its device: successors chained on it may be enqueued. */
void fronta__ktask_enqueued(fronta_future_t *t);
/* Leave the device for the CPU pool (a RUNNING task). */
void fronta__ktask_fall_back(fronta_future_t *t);
/* Done: code 0 or an error with a message; checks chained predecessors. */
void fronta__ktask_finish(fronta_future_t *t, int code, const char *msg);
/* Dropped without running (cancelled while queued). */
void fronta__ktask_drop(fronta_future_t *t);
void fronta__ktask_free(fronta_future_t *t);

/* Host accesses (fronta_buffer_acquire) are kernel tasks without a kernel
 * that never run: they become ready when the accesses before them are
 * done, and complete at release. */
enum {
    FRONTA__ACCESS_WAITING = 0,
    FRONTA__ACCESS_READY = 1,       /* its turn came while someone waits */
    FRONTA__ACCESS_ABANDONED = 2,   /* the acquirer timed out */
    FRONTA__ACCESS_ENDED = 3        /* its turn came after it was abandoned */
};
/* Register an access of b in mode, following the earlier ones; with the
 * user's reference in *out. The caller has made b->held its own. */
int fronta__access_submit(fronta_buffer_t *b, fronta_access_t mode, fronta_future_t **out);
/* Wait until the access may proceed: 0 (then it runs until
 * fronta__access_end), its error (it has ended), or FRONTA_ETIMEDOUT (it
 * has been abandoned: it ends by itself once its turn comes). */
int fronta__access_wait(fronta_future_t *h, double timeout);
void fronta__access_end(fronta_future_t *h);
/* End an access that changed nothing (it failed after taking its place):
 * it ends as the writer it replaced ended, so a failure is not erased. */
void fronta__access_end_unchanged(fronta_future_t *h);
/* Take over an abandoned access: 1 when it is waiting again for its turn,
 * 0 when that turn came and it has ended. */
int fronta__access_resume(fronta_future_t *h);

/* An internal kernel task on the pool: kernel k (internal), nargs args
 * (shape 1 x 1), following its buffers' earlier accesses, and, whatever
 * their outcome, the futures in after[] (NULLs skipped): it runs once all
 * are done and inspects them itself. priv (with priv_free) rides along.
 * key 0: automatic. Does not wait; on failure nothing is submitted and
 * priv is the caller's. */
int fronta__ktask_submit_internal(fronta_runtime_t *rt, fronta_kernel_t *k,
                                  const fronta_arg_t *args, size_t nargs,
                                  fronta_future_t *const *after, size_t nafter, void *priv,
                                  void (*priv_free)(fronta_runtime_t *, void *),
                                  int user_ref, fronta_future_t **out);
/* fronta_submit's checks, without submitting (FRONTA_E*, fronta_last_error). */
int fronta__ktask_check(fronta_runtime_t *rt, const fronta_task_desc_t *d);
/* fronta_submit of a checked, full-size descriptor, with a random-stream
 * key (0: automatic); FRONTA__KT_HELD: a co-executed chunk (held and
 * movable until fronta__coexec releases it). */
#define FRONTA__KT_HELD 1u
int fronta__ktask_submit_desc(fronta_runtime_t *rt, const fronta_task_desc_t *d, uint64_t key,
                              unsigned kflags, fronta_future_t **out);

/* ---- co-execution (sched/coexec.c) ---- */
typedef struct fronta__coexec fronta__coexec;
/* Would a map of d (chunk 0's descriptor) be co-executed: needs ANY and
 * more than one device that can run it? 0 when not; else the mask. */
uint64_t fronta__coexec_devices(fronta_runtime_t *rt, const fronta_task_desc_t *d);
/* Take over the n held chunks (references stay the caller's, alive
 * until the dispatcher is released) and start dispatching them over the
 * devices in mask. NULL when out of memory or when fewer than two devices
 * suit every chunk (then the caller releases the chunks, each where it
 * was placed, with fronta__coexec_release_all). */
fronta__coexec *fronta__coexec_start(fronta_runtime_t *rt, fronta_future_t *const *chunks,
                                     size_t n, uint64_t mask);
void fronta__coexec_release_all(fronta_future_t *const *chunks, size_t n);
void fronta__coexec_unref(fronta__coexec *cx);
/* The internal task's priv, from inside its CPU implementation. */
void *fronta__ktask_priv(const fronta_ctx_t *ctx);

/* ---- kernels (core/kernel.c) ---- */
/* The runtime's internal kernel `name` (CPU implementation cpu, no
 * parameters), registered on first use; NULL when out of memory. */
fronta_kernel_t *fronta__kernel_internal(fronta_runtime_t *rt, const char *name,
                                         fronta_cpu_kernel_fn cpu);
void fronta__kernels_free_all(fronta_runtime_t *rt);
int fronta__kernel_count(fronta_runtime_t *rt);

/* ---- the device table (core/devices.c) ---- */
int fronta__devices_build(fronta_runtime_t *rt);
const fronta__device *fronta__device_get(const fronta_runtime_t *rt, int id);

#endif
