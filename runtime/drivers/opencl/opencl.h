/* The OpenCL driver's state, shared by its files: discovery (discover.c),
 * the per-device threads (device.c), kernel objects per type variant
 * (variant.c), their signature check (signature.c), launch (launch.c),
 * launch scratch (scratch.c), replicas and transfers (memory.c), interop
 * (interop.c). */
#ifndef FRONTA_DRIVERS_OPENCL_OPENCL_H
#define FRONTA_DRIVERS_OPENCL_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/kernel.h"
#include "drivers/opencl/program.h"

#define FRONTA__CL_MAX_DEVICES (FRONTA__MAX_DEVICES - 1) /* the pool is one */

typedef struct ocl_state ocl_state;

/* A kernel object: one per kernel, or per variant of a type-generic
 * kernel (the element types of a task's arguments, packed by
 * fronta__cl_variant_sig). */
typedef struct ocl_kobj {
    uint64_t sig;               /* 0 for a kernel that is not generic */
    cl_kernel obj;              /* NULL: none built */
    size_t wg_max;              /* CL_KERNEL_WORK_GROUP_SIZE on its device */
} ocl_kobj;

/* A kernel's objects on a device: the first inline (all a kernel that is
 * not generic ever has), later variants in `more`. */
typedef struct ocl_kslot {
    ocl_kobj first;
    ocl_kobj *more;
    int nmore, cap;
} ocl_kslot;

typedef struct ocl_dev {
    cl_platform_id platform;
    cl_device_id id;
    fronta_device_info_t info;  /* kind, type, names, sizes; id set by core */
    ocl_state *st;
    cl_context ctx;
    cl_command_queue q;         /* in order: its order is the chain's */
    /* Uploads on the copy path (memory.c): a queue of their own, so that
     * the next task's inputs arrive while this one computes; a barrier on
     * q behind each keeps q's order the data's. q itself when the device
     * gives no second queue. */
    cl_command_queue tq;

    /* The device thread: takes ready tasks, moves their data, enqueues. */
    pthread_t thread;
    int running;                /* threads started */
    pthread_mutex_t lock;       /* guards in_*, stop, idle */
    pthread_cond_t cond;
    fronta__ktask *in_head, *in_tail;
    atomic_uint in_count;       /* read unlocked by the spinning thread */
    int stop, idle;

    /* The waiter: blocks on the newest enqueued kernel it was handed,
     * then completes every kernel up to it (the queue is in order). */
    pthread_t waiter;
    pthread_mutex_t fl_lock;    /* guards fl_*, handed, fl_stop */
    pthread_cond_t fl_cond;
    fronta__ktask *fl_head, *fl_tail, *handed;
    uint64_t unhanded_since;    /* device thread only: ns, 0 when none */
    int fl_stop;

    ocl_kslot *kobj;            /* by kernel index; device thread only */
    int nkobj;
    size_t item_max[2];         /* CL_DEVICE_MAX_WORK_ITEM_SIZES x, y; 0: not asked */

    /* Launch scratch (scratch.c), shared by every kernel of the device:
     * the queue runs one launch at a time. Device thread only. */
    cl_mem scratch;
    size_t scratch_size;

    /* Zero-copy buffers written by kernels enqueued since the last hand:
     * synchronised back to the host in one batch (writeback.c). Device
     * thread only. */
    struct ocl_wb_item *wb;
    int nwb, wb_cap;
    int node;                   /* its device id (memory node); device thread */

    atomic_uint_fast64_t tasks_run, chained, wakeups, fallbacks;
    atomic_uint_fast64_t bytes_to_dev, bytes_to_host, maps;

    /* Timing (device.c). Device timestamps (event profiling) become host
     * time by adding clk_off, an upper bound of the clocks' offset: from
     * markers at start (host time just after the enqueue minus the
     * marker's QUEUED stamp), lowered by each completion seen (host time
     * at the waiter's wake-up minus the kernel's END). So converted times
     * are never earlier than the truth: a kernel never seems to start
     * before its task was ready. Read by any thread that times a copy. */
    _Atomic int_fast64_t clk_off;
    int profiling;              /* the queue profiles (else host times) */
    atomic_int devid;           /* its device id, found at first need; 0: not yet */
    uint64_t last_end;          /* waiter: the last kernel's end (host ns) */
    atomic_uint_fast64_t busy_ns; /* device time of its kernels */
    /* Tasks of more than one pass: the first pass's event (its START is
     * the task's), in queue order; under fl_lock. */
    struct ocl_first *first_head, *first_tail;
    /* Copies enqueued without waiting, timed once complete (memory.c);
     * under xf_lock. */
    pthread_mutex_t xf_lock;
    struct ocl_xfer *xf_head;
    /* Pre-images (memory.c). undo_lock orders a launch's bookkeeping of
     * what it writes (from its pre-images to its outputs marked written)
     * against the waiter settling earlier kernels' outcomes: a roll-back
     * never lands between the two. It guards the list of kernels whose
     * outcome is pending (queue order), its free records, the spare
     * device buffers and every replica's pending/held fields. Taken
     * before any buffer's lock and before fl_lock. */
    pthread_mutex_t undo_lock;
    pthread_cond_t undo_cond;   /* the pending list became empty */
    struct ocl_undo *undo_head, *undo_tail, *undo_free;
    struct ocl_spare *spare;    /* device buffers kept for later pre-images */
    size_t spare_bytes, spare_cap;
    /* The memory budget (budget.c). mem_used: bytes of the device buffers
     * fronta holds here (replicas on the copy path, pre-image copies and
     * spares; zero-copy replicas are the host array: none). Under a
     * FRONTA_DEVICE_MEM_LIMIT, the copy-path replicas in order of last
     * use (oldest first) under lru_lock, a leaf lock; launch_seq stamps
     * the replicas of the launch under way, which no eviction takes. */
    atomic_uint_fast64_t mem_used, mem_peak, evictions, writebacks;
    pthread_mutex_t lru_lock;
    struct ocl_rep *lru_head, *lru_tail;
    atomic_uint_fast64_t launch_seq;
} ocl_dev;

struct ocl_state {
    fronta_runtime_t *rt;
    int n;
    fronta__clprog_cache *progs;
    int zero_copy;
    int rollback_host;          /* FRONTA_ROLLBACK=host: no device-side pre-images */
    atomic_int fault_count[4];  /* fault.h: failures still to inject per op */
    cl_int fault_err[4];
    atomic_int fault_skip[4];   /* per op, successes before the failures */
    ocl_dev dev[FRONTA__CL_MAX_DEVICES];
};

/* An OpenCL replica of a buffer. */
typedef struct ocl_rep {
    cl_mem mem;
    int zero_copy;              /* CL_MEM_USE_HOST_PTR over the host array */
    /* Under the device's undo_lock (memory.c): kernels enqueued that
     * wrote it whose outcome is not known yet, and, once the latest of
     * them failed, where the contents before that run of failures are:
     * held_mem, or the host copy when held_mem is NULL. */
    unsigned pending;
    int held;
    cl_mem held_mem;
    /* Under a memory limit (budget.c): its place in the device's LRU list
     * (on_lru), the launch that last stamped it, and the last kernel that
     * used it (retained; an eviction waits for none); under its buffer's
     * lock, the links under lru_lock. */
    fronta_buffer_t *b;
    struct ocl_rep *lru_prev, *lru_next;
    int on_lru;
    uint64_t stamp;
    cl_event busy_ev;
} ocl_rep;

/* What a buffer a kernel writes held before it: the host copy (mem NULL:
 * the copy path, where the kernel writes only the device's replica) or
 * device memory: a copy taken just before the kernel on the queue, or
 * (fresh) the replica's memory itself, the kernel writing a spare one. */
typedef struct ocl_pre {
    fronta_buffer_t *b;
    cl_mem mem;
    uint64_t version;           /* b's version the kernel's write made */
    int fresh;                  /* mem was the replica's: the kernel writes a new one */
} ocl_pre;

/* A kernel's pre-images, in queue order until the waiter knows whether
 * it succeeded: then each buffer it wrote keeps its output or gets the
 * contents back. */
typedef struct ocl_undo {
    const fronta__ktask *kt;
    int node;                   /* the device's memory node */
    int n;
    struct ocl_undo *next;
    ocl_pre pre[FRONTA_MAX_ARGS];
} ocl_undo;

const char *fronta__cl_err_name(cl_int err);
/* A failed operation on b's replica described in msg; FRONTA_ENOMEM for an
 * allocation failure, else FRONTA_EDEVICE (memory.c). */
int fronta__cl_buf_fail(char *msg, size_t msz, const char *what, const ocl_dev *d,
                        const fronta_buffer_t *b, cl_int err);
/* A failure the fault seam injects for op, else CL_SUCCESS;
 * fronta__cl_fault_after counts fronta__opencl_fault_skip's skips first
 * (device.c), where a test needs them. */
cl_int fronta__cl_fault(ocl_state *st, int op);
cl_int fronta__cl_fault_after(ocl_state *st, int op);

/* device.c */
int fronta__cl_dev_start(ocl_dev *d);
void fronta__cl_dev_stop(ocl_dev *d);
void fronta__cl_submit(void *data, int i, fronta_future_t *t);
/* Its device id (== memory node). */
int fronta__cl_devid(ocl_dev *d);
/* The device-side START and END of ev (or of first and ev: passes) as
 * host times; 0 when the queue gives them, -1 when not. */
int fronta__cl_event_span(ocl_dev *d, cl_event first, cl_event ev, uint64_t *t0,
                          uint64_t *t1);
/* The worker counters of device i (the driver's .worker_stats). */
void fronta__cl_worker_stats(const void *data, int i, fronta_worker_stats_t *out);

/* launch.c: enqueue t's kernel on d. 0, or an error with *msg allocated
 * (free with fronta__cl_msg_free). On success kt->run_t0 is the host time
 * of the enqueue, and a task of several passes has its first pass's event
 * queued with fronta__cl_first_push. */
int fronta__cl_launch(ocl_dev *d, fronta_future_t *t, char **msg);
/* device.c: a task's first-pass event, kept until it completes. */
typedef struct ocl_first {
    fronta__ktask *kt;
    cl_event ev;
    struct ocl_first *next;
} ocl_first;
void fronta__cl_first_push(ocl_dev *d, fronta__ktask *kt, cl_event ev);
void fronta__cl_msg_free(ocl_dev *d, char *msg);
/* A message sized to its text (NULL when out of memory). */
char *fronta__cl_msg_fmt(ocl_dev *d, const char *fmt, ...) FRONTA_PRINTF(2, 3);
int fronta__cl_can_run(const void *data, int i, const fronta_kernel_t *k);
/* Arguments the OpenCL function of k takes after its parameters
 * (FRONTA_KERNEL_CL_SHAPE_ARGS: rows, cols, a count per buffer, scratch,
 * pass). */
cl_uint fronta__cl_trailer(const fronta_kernel_t *k);


/* variant.c: the kernel object of kt's kernel (and variant) on d, built
 * at first use; 0, or an error with *msg. */
int fronta__cl_kernel_object(ocl_dev *d, const fronta__ktask *kt, const ocl_kobj **out,
                             char **msg);
/* The element types of a generic kernel's task, 3 bits per argument:
 * the variant's key. */
uint64_t fronta__cl_variant_sig(const fronta__ktask *kt);
/* The element type variant sig gives argument i (fronta_dtype_t). */
static inline unsigned fronta__cl_sig_elem(uint64_t sig, size_t i)
{
    return (unsigned)(sig >> (3 * i)) & 7u;
}
void fronta__cl_kernels_release(ocl_dev *d);

/* signature.c: the function's arguments against k's parameters (for a
 * generic kernel, against variant sig's types) and its trailer, before
 * any task sets one; 0, or FRONTA_EARG with *msg. */
int fronta__cl_check_signature(ocl_dev *d, const fronta_kernel_t *k, uint64_t sig,
                               cl_kernel obj, char **msg);

/* scratch.c: the device scratch kt's launch of rows x cols needs,
 * allocated or grown; 0, or an error with *msg. Freed at stop. */
int fronta__cl_scratch(ocl_dev *d, const fronta__ktask *kt, size_t rows, size_t cols,
                       cl_mem *out, char **msg);
void fronta__cl_scratch_release(ocl_dev *d);

/* interop.c: every command enqueued on device i so far has finished. */
int fronta__cl_sync(void *data, int i, char *msg, size_t msz);

/* writeback.c */
typedef struct ocl_wb_item {
    fronta_buffer_t *b;
    uint64_t version;           /* the data the kernel wrote */
} ocl_wb_item;
/* A batch of write-backs riding on a handed kernel (ktask.drv). */
typedef struct ocl_wb {
    cl_event last;              /* the last unmap: wait for it, not the kernel */
    int node;
    int n, cap;
    ocl_wb_item item[];
} ocl_wb;
void fronta__cl_wb_note(ocl_dev *d, fronta_buffer_t *b);
ocl_wb *fronta__cl_wb_enqueue(ocl_dev *d, int node);
void fronta__cl_wb_apply(ocl_dev *d, ocl_wb *wb);
void fronta__cl_wb_release(ocl_dev *d);

/* budget.c: FRONTA_DEVICE_MEM_LIMIT (docs/arrays.md, section 10). */
/* d's limit in bytes; 0: none. */
uint64_t fronta__cl_limit(ocl_dev *d);
void fronta__cl_budget_init(ocl_dev *d);
void fronta__cl_budget_release(ocl_dev *d);
/* A device buffer of bytes counted in (+) or out (-) of mem_used. */
void fronta__cl_mem_count(ocl_dev *d, size_t bytes, int add);
/* Replica r of b (copy path) joins / leaves the LRU list; under b's lock. */
void fronta__cl_lru_add(ocl_dev *d, fronta_buffer_t *b, ocl_rep *r);
void fronta__cl_lru_remove(ocl_dev *d, ocl_rep *r);
/* Evict idle replicas until bytes more fit under the limit, without
 * waiting for anything (a victim whose lock is taken is passed over);
 * 1 when they fit. The caller holds no lock but possibly one buffer's. */
int fronta__cl_evict(ocl_dev *d, uint64_t bytes);
/* Launch, holding undo_lock and no buffer's lock: room under the limit
 * for what kt's launch will allocate, evicting (and, when the idle
 * replicas do not make enough, letting every kernel enqueued here finish
 * first); its replicas are stamped so that none is evicted meanwhile.
 * 0, or FRONTA_ERESOURCE with *msg. */
int fronta__cl_room(ocl_dev *d, const fronta__ktask *kt, int node, char **msg);
/* After kt's enqueue: its replicas' last user. */
void fronta__cl_used(ocl_dev *d, const fronta__ktask *kt, int node);

/* memory.c */
int fronta__cl_mem_alloc(void *data, int i, fronta_buffer_t *b, void **rep, char *msg,
                         size_t msz);
void fronta__cl_mem_free(void *data, int i, fronta_buffer_t *b, void *rep);
int fronta__cl_copy_to_host(void *data, int i, fronta_buffer_t *b, void *rep, char *msg,
                            size_t msz);
int fronta__cl_copy_from_host(void *data, int i, fronta_buffer_t *b, void *rep, char *msg,
                              size_t msz);
/* Under b's lock, r idle (no kernel uses it): the host array gets r's
 * contents, on the transfer queue; 0, or an error with msg (eviction). */
int fronta__cl_write_back(ocl_dev *d, fronta_buffer_t *b, ocl_rep *r, char *msg, size_t msz);
/* Report the copies enqueued without waiting that have completed (all:
 * wait for every one); the waiter calls it after each batch. */
void fronta__cl_xfer_drain(ocl_dev *d, int all);

/* memory.c, pre-images. A launch, holding undo_lock, after its inputs
 * are on the device and before its first pass: the record of what each
 * buffer it writes held, device copies enqueued where needed (NULL
 * record when it writes nothing); 0, or an error with *msg and nothing
 * kept. Then, once its passes are enqueued (or some ran before a
 * failure), fronta__cl_undo_written as its outputs are marked written,
 * and fronta__cl_undo_push (the waiter settles it) or, on a failure
 * found at launch, fronta__cl_undo_settle_now. */
int fronta__cl_undo_begin(ocl_dev *d, const fronta__ktask *kt, int node, ocl_undo **out,
                          char **msg);
void fronta__cl_undo_written(ocl_dev *d, ocl_undo *u, fronta_buffer_t *b, int node);
void fronta__cl_undo_push(ocl_dev *d, ocl_undo *u);
void fronta__cl_undo_settle_now(ocl_dev *d, ocl_undo *u, int ok);
/* A record begun but never run: its device copies freed. */
void fronta__cl_undo_discard(ocl_dev *d, ocl_undo *u);
/* Waiter, before kt completes: its outcome (status_ok: its event's
 * status was not an error) applied to what it wrote. */
void fronta__cl_undo_settle(ocl_dev *d, const fronta__ktask *kt, int status_ok);
/* At start, and at stop (spare device buffers and records released). */
void fronta__cl_undo_init(ocl_dev *d);
void fronta__cl_undo_release(ocl_dev *d);
/* device.c: the device thread, holding undo_lock: every kernel enqueued
 * so far handed to the waiter and settled. */
void fronta__cl_undo_drain(ocl_dev *d);

#endif
