/*
 * fronta.h — the whole public API of fronta: submit work, get a future,
 * wait on many futures at once.
 *
 * Ownership and thread-safety rules are written once, in docs/design.md;
 * each comment here adds only what differs from them.
 */
#ifndef FRONTA_H
#define FRONTA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- export and attributes -------------------------------------------- */

#if defined(FRONTA_STATIC)
#define FRONTA_API
#elif defined(FRONTA_BUILDING)
#define FRONTA_API __attribute__((visibility("default")))
#else
#define FRONTA_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FRONTA_NODISCARD __attribute__((warn_unused_result))
#define FRONTA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FRONTA_NODISCARD
#define FRONTA_PRINTF(a, b)
#endif

/* ---- errors ------------------------------------------------------------ */

/* One list gives the enum, fronta_strerror() and fronta_err_name(). */
#define FRONTA_ERRNO_MAP(X)                                                   \
    X(EINVAL,     -1,  "invalid argument")                                    \
    X(ENOMEM,     -2,  "out of memory")                                       \
    X(ESHUTDOWN,  -3,  "runtime is shut down")                                \
    X(ETIMEDOUT,  -4,  "timed out")                                           \
    X(ECANCELLED, -5,  "cancelled")                                           \
    X(EDEPFAILED, -6,  "a task this one depends on failed")                   \
    X(EPENDING,   -7,  "future is not done yet")                             \
    X(ESIZE,      -8,  "size mismatch")                                       \
    X(ETASK,      -9,  "task function failed")                               \
    X(EBUSY,      -10, "task is already running or done")                     \
    X(EEMPTY,     -11, "nothing left to return")                              \
    X(ERANGE,     -12, "value out of range")                                  \
    X(ENODEV,     -13, "no such device")                                      \
    X(ENOTSUP,    -14, "not supported")                                       \
    X(EENV,       -15, "invalid environment variable")                        \
    X(ESYS,       -16, "operating system call failed")                       \
    X(EBUILD,     -17, "OpenCL program failed to build")                     \
    X(EARG,       -18, "arguments do not match the kernel's parameters")      \
    X(ENOENT,     -19, "no such kernel")                                      \
    X(ENOIMPL,    -20, "no implementation for an admissible device")          \
    X(EDEVICE,    -21, "device failed")                                      \
    X(ERESOURCE,  -22, "no worker can meet the task's resource needs")      \
    X(EPARTITION, -23, "buffer is partitioned, or is a chunk no longer in use") \
    X(ECOMM,      -24, "communication between ranks failed (MPI)")

typedef enum fronta_errno {
    FRONTA_OK = 0,
#define FRONTA__ERR_ENUM(name, val, msg) FRONTA_##name = (val),
    FRONTA_ERRNO_MAP(FRONTA__ERR_ENUM)
#undef FRONTA__ERR_ENUM
} fronta_errno_t;

/* Text of an error code ("unknown error" for codes fronta does not define).
 * Never NULL; the string is static. */
FRONTA_API const char *fronta_strerror(int err);
/* Name of an error code: "FRONTA_EINVAL", ...; "FRONTA_OK" for 0. */
FRONTA_API const char *fronta_err_name(int err);
/* What the last call of this thread that failed with a message said
 * (fronta_submit's FRONTA_ERESOURCE names the need, for example), or "".
 * Thread-local: valid until this thread's next failing call. */
FRONTA_API const char *fronta_last_error(void);

/* ---- version ----------------------------------------------------------- */

FRONTA_API const char *fronta_version(void);

/* ---- handles ----------------------------------------------------------- */

typedef struct fronta_runtime fronta_runtime_t;
typedef struct fronta_future fronta_future_t;
typedef struct fronta_ctx fronta_ctx_t;
typedef struct fronta_as_completed fronta_as_completed_t;

/* ---- runtime ----------------------------------------------------------- */

/* Allocator hook (Lua's lua_Alloc): new_size == 0 frees ptr and returns
 * NULL; otherwise (re)allocates, returning NULL on failure (ptr untouched).
 * Every allocation fronta makes for a runtime goes through it. */
typedef void *(*fronta_alloc_fn)(void *ud, void *ptr, size_t old_size,
                                 size_t new_size);

typedef enum fronta_log_level {
    FRONTA_LOG_DEFAULT = 0, /* FRONTA_LOG, else warn */
    FRONTA_LOG_ERROR,
    FRONTA_LOG_WARN,
    FRONTA_LOG_INFO,
    FRONTA_LOG_DEBUG,
    FRONTA_LOG_OFF
} fronta_log_level_t;

/* Zero-initialise, set what you need. A zero field means "the default,
 * or the FRONTA_* environment variable when set". `size` is sizeof the
 * struct the caller compiled against, or 0 for this header's layout; it
 * lets later versions grow the struct without breaking old callers. */
typedef struct fronta_config {
    size_t size;
    int cpu_threads;          /* FRONTA_CPU_THREADS, OMP_NUM_THREADS, cores */
    const char *devices;      /* FRONTA_DEVICES: "all", "cpu", "opencl",
                                 "opencl:gpu", "opencl:cpu", a name
                                 substring, or a comma-separated list */
    fronta_log_level_t log_level;
    uint64_t seed;            /* FRONTA_SEED; the root of task random streams */
    fronta_alloc_fn alloc;    /* NULL: malloc/realloc/free */
    void *alloc_ud;
    int spin_us;              /* idle spin before sleeping, in microseconds
                                 (pool workers; waits and acquires on other
                                 threads spin as long before they sleep):
                                 <0 none, 0 default (50); at most
                                 FRONTA_SPIN_US_MAX, else create fails with
                                 FRONTA_EINVAL. An OpenCL device thread
                                 spins at most 200 us whatever this says,
                                 and never while a completion waits to be
                                 reported */
    int zero_copy;            /* FRONTA_ZERO_COPY: on devices that share host
                                 memory, map host arrays instead of copying
                                 them (0 default: on; <0 off, the copy path) */
    /* Since 0.2 (docs/scheduling.md): */
    const char *sched;        /* FRONTA_SCHED: "ws", "eager", "heft"; NULL:
                                 heft when there are devices of more than one
                                 kind, else ws */
    const char *resources;    /* FRONTA_RESOURCES: counted resources workers
                                 declare, "pool:gpu=2; 1:slots=4,mem=512MiB" */
    const char *trace;        /* FRONTA_TRACE: a Chrome trace-event JSON file
                                 written at destroy (and at trace_flush) */
    /* Run once on every pool thread before it takes a task (per-thread
     * scratch, first touch), with the thread's index. */
    void (*worker_init)(void *ud, int worker);
    void *worker_init_ud;
    int wait_helps;           /* FRONTA_WAIT_HELP: a thread outside the pool
                                 that waits (future_wait, wait, wait_all)
                                 runs ready plain tasks meanwhile: 1 on,
                                 0 default (off), <0 off */
    /* Called every progress_ms (0: 200) from a thread of the runtime while
     * tasks are outstanding, once more when they are all done, and at
     * shutdown, with the runtime's counts so far. It must not wait: waits
     * in it return FRONTA_EBUSY (it runs on a driver thread). */
    void (*progress)(void *ud, uint64_t completed, uint64_t submitted);
    void *progress_ud;
    int progress_ms;
    int coexec;               /* FRONTA_COEXEC: a map over chunks that may run
                                 anywhere spreads its chunks over the pool and
                                 the devices by measured throughput
                                 (docs/arrays.md): 0 default (on), <0 off
                                 (each chunk placed at submit, as a task) */
    int rollback;             /* FRONTA_ROLLBACK: what a kernel that a device
                                 reports failed at completion leaves in the
                                 buffers it wrote. 0 default ("full"): their
                                 contents before it, always -- at the cost of
                                 a device-side copy of each buffer a kernel
                                 writes in place when that memory holds the
                                 only copy (a chained kernel's INOUT, any
                                 write with zero-copy); <0 ("host"): only
                                 where another copy (the host's) holds them,
                                 at no cost; elsewhere what the failed
                                 kernel wrote (docs/devices.md, section 8) */
    const char *device_mem_limit; /* FRONTA_DEVICE_MEM_LIMIT (NULL: the
                                 environment's; "": none, whatever it says); what
                                 fronta's buffers may occupy on OpenCL devices
                                 (docs/arrays.md, section 10): "256MiB" (every
                                 device) or "DEVICE:AMOUNT" entries separated
                                 by ';' ("1:8MiB; opencl:gpu:2GiB"). Kernel
                                 tasks are admitted in bytes under it, least
                                 recently used replicas are evicted (modified
                                 ones written back first) to make room, and a
                                 task whose buffers exceed it on every device
                                 it may run on fails at submit
                                 (FRONTA_ERESOURCE) */
} fronta_config_t;

/* The largest fronta_config_t.spin_us: 100 ms. Spinning longer only burns
 * a core; a sleeping worker wakes in tens of microseconds. */
#define FRONTA_SPIN_US_MAX 100000

typedef enum fronta_shutdown {
    FRONTA_SHUTDOWN_WAIT = 0,           /* run everything submitted */
    FRONTA_SHUTDOWN_CANCEL_PENDING = 1  /* cancel what has not started */
} fronta_shutdown_t;

/* Create a runtime and start its CPU pool. cfg may be NULL. */
FRONTA_API FRONTA_NODISCARD int fronta_runtime_create(const fronta_config_t *cfg,
                                                      fronta_runtime_t **out);
/* Executor.shutdown(wait=True, cancel_futures=how==CANCEL_PENDING): refuse
 * new outside submissions, then block until every task has finished or been
 * cancelled, and stop the workers. Futures stay readable until destroy;
 * buffers can still be acquired (on the host) and destroyed. Calling it
 * twice is harmless. It would wait for itself, so it returns FRONTA_EBUSY
 * at once, doing nothing, when called from a pool thread (inside a task
 * or a done-callback there), from a done-callback of this runtime on any
 * thread, or from a thread of a device driver. */
FRONTA_API int fronta_runtime_shutdown(fronta_runtime_t *rt, fronta_shutdown_t how);
/* Shut down (WAIT) if not done, then free everything, futures included:
 * every handle of this runtime is invalid afterwards; a wrapped array
 * holds its buffer's last valid contents (as after fronta_buffer_destroy),
 * chunks' included. NULL is a no-op (returns 0). FRONTA_EBUSY, doing
 * nothing, where shutdown would. */
FRONTA_API int fronta_runtime_destroy(fronta_runtime_t *rt);
/* Block until every task submitted so far has completed (StarPU's
 * task_wait_for_all). timeout in seconds, < 0 forever. FRONTA_EBUSY where
 * shutdown would. */
FRONTA_API int fronta_runtime_wait_all(fronta_runtime_t *rt, double timeout);
/* Number of CPU pool threads. */
FRONTA_API int fronta_runtime_cpu_threads(const fronta_runtime_t *rt);

typedef struct fronta_stats {
    uint64_t tasks_submitted;
    uint64_t tasks_run;        /* attempts executed, retries included */
    uint64_t tasks_stolen;
    uint64_t worker_sleeps;    /* times an idle worker went to sleep */
} fronta_stats_t;
FRONTA_API int fronta_runtime_stats(fronta_runtime_t *rt, fronta_stats_t *out);
/* Tasks completed and submitted so far (either pointer may be NULL). */
FRONTA_API int fronta_runtime_progress(const fronta_runtime_t *rt, uint64_t *completed,
                                       uint64_t *submitted);
/* The scheduling policy in use: "ws", "eager", "heft". */
FRONTA_API const char *fronta_runtime_sched(const fronta_runtime_t *rt);
/* Write the trace events recorded so far to the FRONTA_TRACE file (it is
 * rewritten whole: a valid JSON file after each flush; any thread, tasks
 * may run meanwhile). FRONTA_ENOTSUP when tracing is off, FRONTA_ESYS
 * when writing the file fails. */
FRONTA_API int fronta_runtime_trace_flush(fronta_runtime_t *rt);

/* A worker: each pool thread (0 .. cpu_threads-1), then each OpenCL
 * device (one worker per device, in device-id order). */
typedef struct fronta_worker_stats {
    size_t size;               /* as fronta_config_t.size */
    int device;                /* its device id: 0 for a pool thread */
    int thread;                /* pool thread index; -1 for a device */
    uint64_t tasks_run;        /* attempts (plain and kernel) it ran */
    uint64_t busy_ns;          /* since create: a pool thread's time not idle (idle:
                                  from the start of a spin that ends in sleep until
                                  woken; a spin that finds work counts as busy);
                                  a device's kernel time */
    uint64_t bytes_in;         /* copied to its memory node */
    uint64_t bytes_out;        /* copied from its memory node */
    uint64_t host_wakeups;     /* times it was woken from sleep */
    uint64_t resource_waits;   /* tasks placed on it that waited for a resource */
} fronta_worker_stats_t;
/* Pool threads + OpenCL devices (after shutdown the devices are gone:
 * pool threads only). */
FRONTA_API int fronta_worker_count(const fronta_runtime_t *rt);
/* Counters of worker (0 .. count-1) since create; any thread. FRONTA_EINVAL
 * for a worker out of range, FRONTA_ESHUTDOWN for a device while the
 * runtime's drivers stop. */
FRONTA_API int fronta_worker_stats(fronta_runtime_t *rt, int worker,
                                   fronta_worker_stats_t *out);

/* ---- devices ----------------------------------------------------------- */

/* Device 0 is always the CPU pool (it runs plain C functions); OpenCL
 * devices selected by FRONTA_DEVICES / fronta_config_t.devices follow. */
typedef enum fronta_device_kind {
    FRONTA_DEVICE_CPU_POOL = 0,
    FRONTA_DEVICE_OPENCL = 1
} fronta_device_kind_t;

typedef enum fronta_device_type {
    FRONTA_DEVTYPE_CPU = 1,
    FRONTA_DEVTYPE_GPU = 2,
    FRONTA_DEVTYPE_ACCELERATOR = 4,
    FRONTA_DEVTYPE_OTHER = 8
} fronta_device_type_t;

typedef struct fronta_device_info {
    size_t size;                 /* as fronta_config_t.size */
    int id;
    fronta_device_kind_t kind;
    fronta_device_type_t type;
    char name[128];
    char vendor[128];
    char platform[128];          /* OpenCL platform name; "" for the pool */
    char version[128];           /* driver version */
    unsigned compute_units;      /* pool: threads */
    uint64_t global_mem;         /* bytes; 0 for the pool */
    int unified_memory;          /* shares host memory (zero-copy possible) */
} fronta_device_info_t;

/* "cpu", "gpu", "accelerator" or "other": the word FRONTA_DEVICES uses
 * after "opencl:". Static string, never NULL. */
FRONTA_API const char *fronta_device_type_name(fronta_device_type_t type);
/* Number of devices of the runtime (>= 1). */
FRONTA_API int fronta_device_count(const fronta_runtime_t *rt);
/* Describe device id (0 .. count-1). */
FRONTA_API int fronta_device_info(const fronta_runtime_t *rt, int id,
                                  fronta_device_info_t *out);

/* ---- tasks ------------------------------------------------------------- */

/* A task function. `arg` points to the task's private copy of the argument
 * bytes given at submit. Return 0 on success; any other value fails the
 * attempt (a FRONTA_E* code, or use fronta_ctx_fail() for a message). */
typedef int (*fronta_fn_t)(fronta_ctx_t *ctx, void *arg);

/* A counted resource a task holds while it runs (Dask's resources=):
 * a name some worker declares (FRONTA_RESOURCES, fronta_config_t.resources;
 * case-blind), or "mem", bytes of memory (built in: each OpenCL device's
 * global memory; the pool's host budget, unlimited unless declared). A task
 * waits, off every worker, until the amount is free on the worker that
 * runs it. Needs no worker declares fail fronta_submit with
 * FRONTA_ERESOURCE (fronta_last_error names the need). */
typedef struct fronta_resource {
    const char *name;
    uint64_t amount;
} fronta_resource_t;
#define FRONTA_MAX_RESOURCES 4

/* The full form of a submission. Zero-initialise; `fn` is required. */
typedef struct fronta_call {
    size_t size;                     /* as fronta_config_t.size */
    fronta_fn_t fn;
    const void *arg;                 /* copied at submit */
    size_t arg_size;
    fronta_future_t *const *after;   /* futures as arguments: run after them */
    size_t nafter;
    int priority;                    /* soft: higher first among ready tasks */
    unsigned retries;                /* further attempts when fn fails */
    uint64_t key;                    /* random-stream key; 0: automatic */
    const char *name;                /* for errors and logs; not copied */
    /* Since 0.2: counted resources the task holds while it runs, from
     * those the pool declares (FRONTA_RESOURCES); nresources 0: the
     * entries before the first with a NULL name. */
    fronta_resource_t resources[FRONTA_MAX_RESOURCES];
    size_t nresources;
} fronta_call_t;

/* concurrent.futures' submit(fn, arg). out may be NULL: fire-and-forget. */
FRONTA_API FRONTA_NODISCARD int fronta_submit_fn(fronta_runtime_t *rt, fronta_fn_t fn,
                                                 const void *arg, size_t arg_size,
                                                 fronta_future_t **out);
/* Submit with dependencies, priority, retries, key. If a future in `after`
 * has already failed or been cancelled, the call still succeeds and the new
 * future is failed (FRONTA_EDEPFAILED) or cancelled, as in Dask. */
FRONTA_API FRONTA_NODISCARD int fronta_submit_call(fronta_runtime_t *rt,
                                                   const fronta_call_t *call,
                                                   fronta_future_t **out);

typedef struct fronta_map_opts {
    size_t size;                     /* as fronta_config_t.size */
    size_t max_inflight;             /* 0: no limit */
    int priority;
    unsigned retries;
    /* Since 0.2: as fronta_call_t's, for every task of the map. */
    fronta_resource_t resources[FRONTA_MAX_RESOURCES];
    size_t nresources;
} fronta_map_opts_t;

/* Executor.map: one task per element of `args` (n elements of arg_size
 * bytes each); out[i] receives the future of element i. With
 * max_inflight, at most that many of these tasks are queued or running at
 * once; the call never blocks: later tasks are released as earlier ones
 * complete. opts may be NULL. */
FRONTA_API FRONTA_NODISCARD int fronta_map(fronta_runtime_t *rt, fronta_fn_t fn,
                                           const void *args, size_t arg_size, size_t n,
                                           const fronta_map_opts_t *opts,
                                           fronta_future_t **out);

/* ---- inside a task ----------------------------------------------------- */

/* Set the task's result (copied). Calling it again replaces the result. */
FRONTA_API int fronta_ctx_return(fronta_ctx_t *ctx, const void *value, size_t size);
/* The task's result, size bytes to fill in place (no copy): replaces any
 * earlier result and is the result if the task returns 0. Contents are
 * unspecified until written. NULL when out of memory or outside a task. */
FRONTA_API void *fronta_ctx_result_buffer(fronta_ctx_t *ctx, size_t size);
/* Record a message for the failure; returns `code` (FRONTA_ETASK if code is
 * 0 or positive) so a task can `return fronta_ctx_fail(ctx, ...)`. */
FRONTA_API int fronta_ctx_fail(fronta_ctx_t *ctx, int code, const char *fmt, ...)
    FRONTA_PRINTF(3, 4);
/* Number of futures passed as arguments (fronta_call_t.after). */
FRONTA_API size_t fronta_ctx_ninputs(const fronta_ctx_t *ctx);
/* Result of input i, the future after[i] of the submission (the order
 * given, duplicates included): pointer valid during the task, size in
 * *size. */
FRONTA_API const void *fronta_ctx_input(const fronta_ctx_t *ctx, size_t i, size_t *size);
/* Copy the result of input i; FRONTA_ESIZE when sizes differ. */
FRONTA_API int fronta_ctx_input_copy(const fronta_ctx_t *ctx, size_t i, void *out,
                                     size_t size);
/* The runtime the task runs in (tasks may submit tasks). */
FRONTA_API fronta_runtime_t *fronta_ctx_runtime(const fronta_ctx_t *ctx);
/* Id of the running task (the id errors name). */
FRONTA_API uint64_t fronta_ctx_task_id(const fronta_ctx_t *ctx);
/* Attempt number, 0 for the first run, 1 for the first retry... */
FRONTA_API unsigned fronta_ctx_attempt(const fronta_ctx_t *ctx);
/* Run body(ud, i) once for each i in [0, n), spread over the pool: the
 * calling pool thread runs chunks itself while idle workers take others,
 * and the call returns when all n have run. Which thread runs which i
 * varies; what i covers is the caller's to fix, so a reduction that
 * combines per-i partials in index order gives the same bits whatever
 * the worker count. Returns 0, or FRONTA_EINVAL (ctx or body NULL). */
FRONTA_API int fronta_ctx_parallel(fronta_ctx_t *ctx, size_t n,
                                   void (*body)(void *ud, size_t i), void *ud);
/* Index of the pool thread running the task. */
FRONTA_API int fronta_ctx_worker(const fronta_ctx_t *ctx);
/* Non-zero once cancellation was requested for this running task
 * (fronta_future_cancel on it, or shutdown with CANCEL_PENDING): a long
 * task should check it and return FRONTA_ECANCELLED. */
FRONTA_API int fronta_ctx_cancel_requested(const fronta_ctx_t *ctx);
/* The task's counter-based random stream: the n-th value depends only on
 * (runtime seed, task key, attempt, n), never on the thread or timing. */
FRONTA_API uint64_t fronta_ctx_random(fronta_ctx_t *ctx);
/* Uniform double in [0, 1) from the same stream. */
FRONTA_API double fronta_ctx_random_double(fronta_ctx_t *ctx);
/* The generator itself, for checking results outside the runtime. */
FRONTA_API uint64_t fronta_random_u64(uint64_t seed, uint64_t key, uint64_t counter);

/* ---- futures ----------------------------------------------------------- */

typedef enum fronta_status {
    FRONTA_INVALID = -1,  /* not a future: NULL, or a released handle
                             (detected while its memory is not reused) */
    FRONTA_PENDING = 0,   /* waiting for inputs, queued */
    FRONTA_RUNNING,
    FRONTA_FINISHED,
    FRONTA_FAILED,
    FRONTA_CANCELLED
} fronta_status_t;

typedef struct fronta_error {
    int code;             /* FRONTA_E*, or what the task returned */
    uint64_t task_id;     /* the task where the failure started */
    const char *message;  /* valid while the future is held */
} fronta_error_t;

/* Block until done or timeout (seconds; < 0 forever, 0 polls). Every
 * timeout of this API reads the same way; above 1e9 s is forever, and NaN
 * polls like 0. Returns 0
 * when done (whatever the outcome), FRONTA_ETIMEDOUT otherwise. Inside a
 * task of the same runtime the worker runs other tasks while it waits. */
FRONTA_API int fronta_future_wait(fronta_future_t *f, double timeout);
/* 1 when finished, failed or cancelled; 0 otherwise (and for NULL). */
FRONTA_API int fronta_future_done(const fronta_future_t *f);
FRONTA_API fronta_status_t fronta_future_status(const fronta_future_t *f);
/* Future.result(timeout): wait, then copy the result. Returns the task's
 * error code when it failed or was cancelled, FRONTA_ETIMEDOUT, or
 * FRONTA_ESIZE when size differs from the result's size (nothing copied). */
FRONTA_API int fronta_future_result(fronta_future_t *f, double timeout, void *out,
                                    size_t size);
/* Borrow the result bytes of a finished future (valid while it is held). */
FRONTA_API int fronta_future_result_ptr(fronta_future_t *f, const void **ptr,
                                        size_t *size);
/* The error of a failed or cancelled future: returns its code (0 when the
 * future finished, FRONTA_EPENDING when not done) and fills *err if given. */
FRONTA_API int fronta_future_error(const fronta_future_t *f, fronta_error_t *err);
FRONTA_API uint64_t fronta_future_task_id(const fronta_future_t *f);
/* The task's random-stream key (fronta_call_t.key, or the one derived for
 * it; see docs/design.md), for checking results with fronta_random_u64. */
FRONTA_API uint64_t fronta_future_key(const fronta_future_t *f);
/* Cancel a task that has not started: returns 0 and the future (and every
 * task that depends on it) ends CANCELLED; FRONTA_EBUSY when it is running
 * (its ctx then reports cancel_requested) or already done. A kernel task
 * keeps its place in its buffers' order of accesses: it never runs, but
 * ends CANCELLED only once the tasks it was waiting for have completed
 * (as a kernel task failed by an input ends FAILED only then); one whose
 * inputs are all met and that is placed on an OpenCL device is handed to
 * the device and counts as running (FRONTA_EBUSY). */
FRONTA_API int fronta_future_cancel(fronta_future_t *f);

typedef void (*fronta_done_fn)(fronta_future_t *f, void *ud);
/* Run cb exactly once when f is done: in the thread that completes it, or
 * at once in the caller's thread when f is already done. On error cb never
 * runs. cb must not block for long: it delays the worker that runs it. */
FRONTA_API FRONTA_NODISCARD int fronta_future_add_done_callback(fronta_future_t *f,
                                                                fronta_done_fn cb,
                                                                void *ud);
FRONTA_API void fronta_future_retain(fronta_future_t *f);
/* Drop a reference. Releasing does not cancel: the task still runs. */
FRONTA_API void fronta_future_release(fronta_future_t *f);
/* Fire-and-forget (Dask's fire_and_forget): drop the reference; if the task
 * fails, its error is logged since nobody else can see it. */
FRONTA_API void fronta_future_detach(fronta_future_t *f);

/* ---- many futures ------------------------------------------------------ */

typedef enum fronta_return_when {
    FRONTA_ALL_COMPLETED = 0,
    FRONTA_FIRST_COMPLETED,
    FRONTA_FIRST_EXCEPTION
} fronta_return_when_t;

/* concurrent.futures.wait: block until the condition holds or timeout.
 * Then reorders fs in place: the done futures first (*ndone of them), the
 * not-done after, each part in its original relative order. Returns 0, or
 * FRONTA_ETIMEDOUT when the condition did not hold in time (the partition is
 * made either way). Costs O(n) per call; to drain a large set use
 * fronta_as_completed. */
FRONTA_API int fronta_wait(fronta_future_t **fs, size_t n, double timeout,
                           fronta_return_when_t when, size_t *ndone);

/* as_completed: futures come out in the order they complete. add() and
 * create() take over the caller's reference to each future; next() hands
 * one reference back, which the caller releases. Futures may be added while
 * the iterator is being drained, from any thread. */
FRONTA_API FRONTA_NODISCARD int fronta_as_completed_create(fronta_runtime_t *rt,
                                                           fronta_future_t *const *fs,
                                                           size_t n,
                                                           fronta_as_completed_t **out);
FRONTA_API FRONTA_NODISCARD int fronta_as_completed_add(fronta_as_completed_t *ac,
                                                        fronta_future_t *f);
/* Next completed future; FRONTA_EEMPTY when every added future has been
 * returned, FRONTA_ETIMEDOUT when none completed in time (0 polls). */
FRONTA_API int fronta_as_completed_next(fronta_as_completed_t *ac, double timeout,
                                        fronta_future_t **out);
/* Futures added and not yet returned. */
FRONTA_API size_t fronta_as_completed_pending(const fronta_as_completed_t *ac);
/* A file descriptor (eventfd) that is readable exactly while next() has a
 * completed future to return: put it in poll/epoll/libuv and call
 * next(ac, 0, &f) when it fires. Owned by the iterator. */
FRONTA_API int fronta_as_completed_fd(fronta_as_completed_t *ac);
/* Releases the futures still held. */
FRONTA_API void fronta_as_completed_destroy(fronta_as_completed_t *ac);

/* ---- buffers ----------------------------------------------------------- */

/* A registered array: element type and count, with a copy (replica) per
 * memory node -- host RAM and each OpenCL device -- kept coherent by the
 * runtime. Tasks name buffers with access modes; the order of submission
 * gives the order of accesses to each buffer (see docs/buffers.md). */
typedef struct fronta_buffer fronta_buffer_t;

typedef enum fronta_dtype {
    FRONTA_UINT8 = 1,
    FRONTA_INT32,
    FRONTA_INT64,
    FRONTA_FLOAT,
    FRONTA_DOUBLE
} fronta_dtype_t;

/* Bytes per element; 0 for a value that is not a fronta_dtype_t. */
FRONTA_API size_t fronta_dtype_size(fronta_dtype_t type);

typedef enum fronta_access {
    FRONTA_ACCESS_IN = 1,     /* read */
    FRONTA_ACCESS_OUT = 2,    /* overwritten whole: old contents not fetched */
    FRONTA_ACCESS_INOUT = 3   /* read and written */
} fronta_access_t;

/* Register the user's array (count elements of type): the user keeps
 * ownership and must not touch it while tasks may use it, except between
 * fronta_buffer_acquire and fronta_buffer_release. */
FRONTA_API FRONTA_NODISCARD int fronta_buffer_wrap(fronta_runtime_t *rt, void *data,
                                                   size_t count, fronta_dtype_t type,
                                                   fronta_buffer_t **out);
/* A zero-filled array owned by the runtime. */
FRONTA_API FRONTA_NODISCARD int fronta_buffer_create(fronta_runtime_t *rt, size_t count,
                                                     fronta_dtype_t type,
                                                     fronta_buffer_t **out);
/* Wait for every task submitted so far that uses b, write the last valid
 * contents back to the host array (a wrapped array then holds them), and
 * free b. Tasks submitted on b afterwards are a user error. NULL: no-op.
 * Works before, during and after fronta_runtime_shutdown. Fails, with no
 * effect (b and its contents stay): FRONTA_EBUSY inside a kernel's CPU
 * implementation that has b as an argument (it would wait for itself), on
 * a device driver's thread (a done-callback there), or while b is
 * acquired after shutdown; FRONTA_ENOMEM; FRONTA_EDEVICE (or ENOMEM) when
 * the device holding the contents cannot give them back. */
FRONTA_API int fronta_buffer_destroy(fronta_buffer_t *b);
FRONTA_API size_t fronta_buffer_count(const fronta_buffer_t *b);
FRONTA_API fronta_dtype_t fronta_buffer_dtype(const fronta_buffer_t *b);

/* Host access, in submission order with the tasks on b (StarPU's
 * data_acquire). IN waits for the tasks submitted before that write b and
 * makes the host copy valid; OUT and INOUT also wait for earlier readers,
 * and the device copies are invalid after release. *host (may be NULL)
 * receives the host array. Tasks submitted on b meanwhile wait for
 * fronta_buffer_release. Fails, holding nothing: with the error of the
 * task that last wrote b when it failed or was cancelled (its own code:
 * FRONTA_ETASK, FRONTA_EBUILD, FRONTA_EDEVICE, FRONTA_ECANCELLED, ...,
 * FRONTA_EDEPFAILED if its inputs failed it) -- for IN and INOUT; an OUT
 * access overwrites b and clears the failure --, FRONTA_ETIMEDOUT, or
 * FRONTA_EBUSY when b is already acquired, inside a kernel's CPU
 * implementation that has b as an argument, or on a device driver's
 * thread (each would wait for itself). A timed-out acquire keeps its place
 * among b's accesses; the next acquire in the same mode takes that place
 * over, so polling with timeout 0 queues one access, not one per poll.
 * See docs/devices.md. */
FRONTA_API FRONTA_NODISCARD int fronta_buffer_acquire(fronta_buffer_t *b,
                                                      fronta_access_t mode, double timeout,
                                                      void **host);
/* End the access. After fronta_opencl_buffer_acquire, first waits until
 * the commands enqueued on the device's queue up to now have finished
 * (FRONTA_EDEVICE if they failed; the access ends all the same). */
FRONTA_API int fronta_buffer_release(fronta_buffer_t *b);

/* ---- partitions (since 0.2; docs/arrays.md) ---------------------------- */

/* How to cut a buffer into chunks. Zero-initialise and set one way:
 * - nchunks: that many 1-D chunks whose lengths differ by at most one
 *   (the first count % nchunks are one longer);
 * - chunk_len: 1-D chunks of chunk_len elements, the last one shorter;
 * - lengths (nlengths of them, each >= 1, summing to the count): 1-D
 *   chunks of exactly those lengths;
 * - rows, cols, tile_rows, tile_cols: the buffer (rows x cols == count)
 *   as a row-major matrix cut into tiles of tile_rows x tile_cols, the
 *   tiles of the last row and column smaller, numbered row by row;
 * - nothing (or a NULL descriptor): chunks chosen for the user, the rule
 *   of docs/arrays.md (from the worker count, the devices' memory and a
 *   minimum useful chunk). */
typedef struct fronta_partition {
    size_t size;                  /* as fronta_config_t.size */
    size_t nchunks;
    size_t chunk_len;
    const size_t *lengths;        /* read during the call only */
    size_t nlengths;
    size_t rows, cols;
    size_t tile_rows, tile_cols;
} fronta_partition_t;

/* Cut b into chunks: buffers of their own, views of b's host array on the
 * host (1-D chunks; a tile's host array is its own, packed, copied from
 * b and back), separate allocations on devices. The call does not wait:
 * the chunks' first access follows every task submitted on b before it,
 * and their contents are then b's. While b is partitioned, tasks,
 * acquires and partitions of b fail with FRONTA_EPARTITION; use its
 * chunks (fronta_buffer_chunk) instead. A chunk cannot be partitioned
 * (FRONTA_ENOTSUP) nor destroyed (FRONTA_EPARTITION); destroying b
 * unpartitions it first. Nested partitions are not supported: a chunk is
 * cut by unpartitioning its parent and partitioning that again.
 * Fails with no effect: FRONTA_EINVAL (no buffer, more than one way set,
 * a zero length or tile side, rows x cols != count), FRONTA_ERANGE (more
 * chunks than elements, lengths that do not sum to the count),
 * FRONTA_EPARTITION (b is partitioned), FRONTA_ENOTSUP (b is a chunk),
 * FRONTA_ENOMEM. fronta_last_error() says which. */
FRONTA_API FRONTA_NODISCARD int fronta_buffer_partition(fronta_buffer_t *b,
                                                        const fronta_partition_t *how);
/* Make b whole again. Does not wait: the next access to b follows every
 * task submitted on its chunks, and b's contents are then the chunks'
 * (a failure of the task that last wrote a chunk is b's, naming the
 * chunk). A partition that failed (b's last writer had failed) gave the
 * chunks nothing: the unpartition then leaves b as it was, with that
 * failure, and drops what the chunks hold. The chunk handles are retired: tasks and acquires on them fail
 * with FRONTA_EPARTITION until b is destroyed or partitioned again, when
 * they are freed. FRONTA_EINVAL when b is not partitioned. */
FRONTA_API int fronta_buffer_unpartition(fronta_buffer_t *b);
/* Chunks of b (0 when it is not partitioned), and chunk i (NULL out of
 * range). Borrowed handles, owned by b. */
FRONTA_API size_t fronta_buffer_nchunks(const fronta_buffer_t *b);
FRONTA_API fronta_buffer_t *fronta_buffer_chunk(const fronta_buffer_t *b, size_t i);

typedef struct fronta_chunk_info {
    size_t size;                  /* as fronta_config_t.size */
    fronta_buffer_t *parent;
    size_t index;                 /* its place among the parent's chunks */
    size_t offset;                /* 1-D: its first element in the parent */
    size_t row, col;              /* tiles: its first element's row and column */
    size_t rows, cols;            /* its shape: 1 x count for 1-D chunks */
    int retired;                  /* the parent was unpartitioned since */
} fronta_chunk_info_t;
/* Where chunk c sits in its parent. FRONTA_EINVAL when c is not a chunk. */
FRONTA_API int fronta_buffer_chunk_info(const fronta_buffer_t *c, fronta_chunk_info_t *out);

/* ---- kernels ----------------------------------------------------------- */

typedef struct fronta_kernel fronta_kernel_t;

typedef enum fronta_arg_kind {
    FRONTA_ARG_NONE = 0,
    FRONTA_ARG_BUFFER,
    FRONTA_ARG_I32,
    FRONTA_ARG_I64,
    FRONTA_ARG_F32,
    FRONTA_ARG_F64,
    /* Parameters only: a scalar whose kind follows the element type of
     * the buffer argument `like` names (FRONTA_I32 for UINT8 and INT32,
     * FRONTA_I64 for INT64, FRONTA_F32 for FLOAT, FRONTA_F64 for DOUBLE).
     * Task arguments are always one of the kinds above. */
    FRONTA_ARG_SCALAR
} fronta_arg_kind_t;

/* One argument of a task: a buffer with its access mode, or a scalar.
 * Build them with FRONTA_IN(b), FRONTA_OUT(b), FRONTA_INOUT(b),
 * FRONTA_I32(v), FRONTA_I64(v), FRONTA_F32(v), FRONTA_F64(v). */
typedef struct fronta_arg {
    fronta_arg_kind_t kind;
    fronta_access_t access;
    fronta_buffer_t *buffer;
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
    } v;
} fronta_arg_t;

#define FRONTA__BUF(b, m) ((fronta_arg_t){.kind = FRONTA_ARG_BUFFER, .access = (m), .buffer = (b)})
#define FRONTA_IN(b) FRONTA__BUF(b, FRONTA_ACCESS_IN)
#define FRONTA_OUT(b) FRONTA__BUF(b, FRONTA_ACCESS_OUT)
#define FRONTA_INOUT(b) FRONTA__BUF(b, FRONTA_ACCESS_INOUT)
#define FRONTA_I32(x) ((fronta_arg_t){.kind = FRONTA_ARG_I32, .v.i32 = (x)})
#define FRONTA_I64(x) ((fronta_arg_t){.kind = FRONTA_ARG_I64, .v.i64 = (x)})
#define FRONTA_F32(x) ((fronta_arg_t){.kind = FRONTA_ARG_F32, .v.f32 = (x)})
#define FRONTA_F64(x) ((fronta_arg_t){.kind = FRONTA_ARG_F64, .v.f64 = (x)})

/* A kernel parameter: what the task's argument at that place must be.
 * A launch has a shape, rows x cols: a 1-D launch of n work items is one
 * row of n (see fronta_task_desc_t). */
typedef enum fronta_count_rule {
    FRONTA_COUNT_GLOBAL = 0,  /* a buffer of exactly the launch size, rows x cols */
    FRONTA_COUNT_ANY = 1,     /* a buffer of any size */
    FRONTA_COUNT_ROWS = 2,    /* exactly rows elements (a column vector) */
    FRONTA_COUNT_COLS = 3,    /* exactly cols elements (a row vector) */
    FRONTA_COUNT_EXACT = 4    /* exactly fronta_param_t.n elements */
} fronta_count_rule_t;

/* Element-type families for fronta_param_t.dtypes. */
#define FRONTA_DTYPE_BIT(t) (1u << (unsigned)(t))
#define FRONTA_DTYPES_INT (FRONTA_DTYPE_BIT(FRONTA_INT32) | FRONTA_DTYPE_BIT(FRONTA_INT64))
#define FRONTA_DTYPES_FLOAT (FRONTA_DTYPE_BIT(FRONTA_FLOAT) | FRONTA_DTYPE_BIT(FRONTA_DOUBLE))
#define FRONTA_DTYPES_NUMERIC (FRONTA_DTYPES_INT | FRONTA_DTYPES_FLOAT)
#define FRONTA_DTYPES_ALL (FRONTA_DTYPES_NUMERIC | FRONTA_DTYPE_BIT(FRONTA_UINT8))
/* fronta_param_t.like: the argument at index i. */
#define FRONTA_LIKE(i) ((i) + 1)

typedef struct fronta_param {
    fronta_arg_kind_t kind;
    fronta_dtype_t dtype;      /* buffers: element type; 0 accepts any (of dtypes) */
    fronta_access_t access;    /* buffers: the mode the kernel uses; 0 any */
    fronta_count_rule_t count;
    /* Since 0.2 (read only from a fronta_kernel_desc_t whose size covers
     * its `flags`; an older descriptor's parameters are the four fields
     * above): */
    unsigned dtypes;           /* buffers with dtype 0: FRONTA_DTYPES_* mask; 0 any */
    int like;                  /* FRONTA_LIKE(i): a buffer of the element type of
                                  buffer argument i, or (FRONTA_ARG_SCALAR) a scalar
                                  of its kind; i < this parameter's index; 0 none */
    size_t n;                  /* FRONTA_COUNT_EXACT: the count */
} fronta_param_t;

/* What a CPU implementation receives per argument: for a buffer, its host
 * array (valid for the access mode) and count; for a scalar, its value. */
typedef struct fronta_karg {
    void *ptr;
    size_t count;
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
    } v;
} fronta_karg_t;

/* A CPU implementation: n is the launch size (work items, rows x cols;
 * fronta_ctx_shape gives both). Runs on a pool thread and may spread its
 * work over the pool with fronta_ctx_parallel; returns 0 or an error, as
 * a task function. */
typedef int (*fronta_cpu_kernel_fn)(fronta_ctx_t *ctx, const fronta_karg_t *args,
                                    size_t nargs, size_t n);

/* Inside a kernel's CPU implementation: the launch shape (a 1-D launch
 * of n is 1 x n). FRONTA_EINVAL elsewhere. */
FRONTA_API int fronta_ctx_shape(const fronta_ctx_t *ctx, size_t *rows, size_t *cols);
/* Inside a kernel's CPU implementation: the element type of buffer
 * argument i (what a type-generic implementation dispatches on); 0 for a
 * scalar, an index out of range, or outside a kernel. */
FRONTA_API fronta_dtype_t fronta_ctx_arg_dtype(const fronta_ctx_t *ctx, size_t i);
/* A kernel's own argument check, for relations the parameter rules cannot
 * say (gemm: A is rows x k and B k x cols; histogram: lo < hi). It sees the
 * task's arguments once they have passed the parameter rules (buffers are
 * valid: fronta_buffer_count, fronta_buffer_dtype) and the launch shape.
 * Returns 0, FRONTA_ESIZE or FRONTA_EARG; fronta_submit then fails with
 * that code (any other value reads as FRONTA_EARG). */
typedef int (*fronta_kernel_check_fn)(const fronta_arg_t *args, size_t nargs, size_t rows,
                                      size_t cols);
/* Bytes of device scratch memory a launch needs (see cl_scratch). */
typedef size_t (*fronta_kernel_scratch_fn)(const fronta_karg_t *args, size_t nargs,
                                           size_t rows, size_t cols);

/* fronta_kernel_desc_t.flags */
enum {
    /* The OpenCL function takes, after its parameters, the launch shape
     * and each buffer argument's element count, as `ulong rows, ulong
     * cols` then one `ulong` per buffer parameter in order; then, with
     * cl_scratch, a `__global uchar *scratch`; then, with cl_passes > 1,
     * a `uint pass`. Needed with cl_local (the launch is rounded up, so
     * the function checks its range). */
    FRONTA_KERNEL_CL_SHAPE_ARGS = 1u << 0,
    /* A buffer the kernel writes may not also be passed at another place
     * (an in-place call of a kernel that reads around the element it
     * writes, as transpose, a stencil or gemm): fronta_submit fails with
     * FRONTA_EARG. A buffer read at two places is fine. */
    FRONTA_KERNEL_NO_ALIAS = 1u << 1,
    /* The kernel is 1-D over its arrays' elements: a 2-D launch of rows x
     * cols (and work-group local_rows x local_cols) runs as the 1-D launch
     * of rows x cols work items (work-group local_rows x local_cols), so a
     * matrix is processed as its row-major elements. Count rules are
     * checked against the shape as given. */
    FRONTA_KERNEL_FLAT = 1u << 2,
    /* The kernel is elementwise: element i of each buffer it writes
     * depends only on element i of the buffers it reads and on the
     * scalars (no neighbours, no index, no random stream), and its CPU
     * function computes the same elements when called on any range
     * [lo, hi) of a 1-D launch: each buffer's ptr advanced to element lo,
     * its count and n = hi - lo (fronta_ctx_shape still gives the whole
     * launch). The runtime may then run a pool launch in pieces and use
     * each piece while it is in the core's cache: fronta_compact counts
     * and copies the kept elements of a chunk's piece as soon as the
     * kernel writing that chunk's mask from x has written it
     * (docs/arrays.md). A kernel that breaks the promise gives wrong
     * results there, not an error. */
    FRONTA_KERNEL_ELEMENTWISE = 1u << 3
};

typedef struct fronta_kernel_desc {
    size_t size;                   /* as fronta_config_t.size */
    const char *name;              /* unique in the runtime; copied */
    const fronta_param_t *params;  /* copied */
    size_t nparams;
    fronta_cpu_kernel_fn cpu;      /* CPU implementation, or NULL */
    const char *cl_source;         /* OpenCL implementation, or NULL; copied */
    const char *cl_entry;          /* its __kernel function; NULL: name */
    const char *cl_options;        /* build options, or NULL */
    /* Since 0.2: */
    unsigned flags;                /* FRONTA_KERNEL_* */
    /* The work-group the OpenCL source is written for, {cols, rows}
     * ({n, 0} for 1-D), or zeros: the launch's local size (or the
     * driver's choice). With it the NDRange is rounded up to a multiple;
     * needs FRONTA_KERNEL_CL_SHAPE_ARGS. */
    size_t cl_local[2];
    /* With cl_local: at most this many work-groups per dimension (a
     * grid-stride kernel, e.g. a reduction's fixed tree); 0: no cap. */
    size_t cl_groups[2];
    /* Device scratch memory per launch (uninitialised), or NULL. */
    fronta_kernel_scratch_fn cl_scratch;
    /* The OpenCL function is enqueued this many times in a row (0, 1: once)
     * with `pass` = 0, 1, ...: a reduction's or a scan's phases, in order
     * on the device's queue. */
    unsigned cl_passes;
    fronta_kernel_check_fn check;  /* or NULL */
} fronta_kernel_desc_t;

/* Register a kernel with at least one implementation. The runtime owns it
 * until destroy. OpenCL sources are built per device at first use (and
 * cached on disk); a build failure fails that task with the build log, and
 * so does (FRONTA_EARG, naming the argument) an OpenCL function whose
 * arguments do not match `params` in count, address space (buffers are
 * __global or __constant pointers, scalars private values) or, where the
 * driver reports it, type.
 * FRONTA_EBUSY if the name is taken. */
FRONTA_API FRONTA_NODISCARD int fronta_kernel_create(fronta_runtime_t *rt,
                                                     const fronta_kernel_desc_t *desc,
                                                     fronta_kernel_t **out);
/* The kernel registered under name, else FRONTA_ENOENT. */
FRONTA_API int fronta_kernel_find(fronta_runtime_t *rt, const char *name,
                                  fronta_kernel_t **out);
/* A bundled kernel (kernels/, docs/kernels.md: "fill", "axpy", "sum",
 * "gemm", ...), registered on first
 * use; NULL when there is no such kernel (fronta_submit then fails with
 * FRONTA_EINVAL). */
FRONTA_API fronta_kernel_t *fronta_kernel_builtin(fronta_runtime_t *rt, const char *name);
/* The name of bundled kernel i (0, 1, ...), NULL past the last: the set
 * docs/kernels.md lists. */
FRONTA_API const char *fronta_kernel_builtin_name(size_t i);
FRONTA_API const char *fronta_kernel_name(const fronta_kernel_t *k);

/* ---- kernel tasks ------------------------------------------------------ */

typedef enum fronta_need {
    FRONTA_NEED_ANY = 0,       /* any device with an implementation */
    FRONTA_NEED_CPU_POOL,      /* the CPU pool (the CPU implementation) */
    FRONTA_NEED_OPENCL,        /* any OpenCL device */
    FRONTA_NEED_GPU,           /* an OpenCL device of type GPU */
    FRONTA_NEED_DEVICE         /* fronta_needs_t.device_id */
} fronta_need_t;

typedef struct fronta_needs {
    fronta_need_t device;
    int device_id;             /* for FRONTA_NEED_DEVICE */
} fronta_needs_t;

#define FRONTA_MAX_ARGS 16

typedef struct fronta_task_desc {
    size_t size;                     /* as fronta_config_t.size */
    fronta_kernel_t *kernel;
    fronta_arg_t args[FRONTA_MAX_ARGS];
    size_t nargs;                    /* 0: the arguments before the first NONE */
    size_t global;                   /* 1-D: work items; 0: count of the first buffer */
    size_t local;                    /* work-group size; 0: the driver picks.
                                        global must be a multiple of it */
    fronta_future_t *const *after;   /* futures as arguments: run after them */
    size_t nafter;                   /* above UINT32_MAX / 4: FRONTA_ERANGE */
    fronta_needs_t needs;
    int priority;
    const char *name;                /* for errors and logs; not copied */
    /* Since 0.2: a 2-D launch over a row-major rows x cols matrix (global
     * and local then 0). In OpenCL, get_global_id(0) is the column and
     * get_global_id(1) the row; the work-group is local_rows x local_cols
     * (both 0: the driver picks; else each divides its dimension). */
    size_t rows, cols;
    size_t local_rows, local_cols;
    /* Since 0.2: counted resources, as fronta_call_t's, on the device that
     * runs it (besides "mem": its buffers' bytes, always held there). */
    fronta_resource_t resources[FRONTA_MAX_RESOURCES];
    size_t nresources;
    /* Further attempts after a failed one (an error from the CPU
     * implementation, a device failure), on the same or another admissible
     * device, its inputs unchanged. A task with an INOUT argument cannot
     * be retried: fronta_submit fails with FRONTA_ENOTSUP. */
    unsigned retries;
} fronta_task_desc_t;

/* Submit a kernel over buffers. The device is chosen among those needs
 * admits that have an implementation (FRONTA_ENOIMPL when none); the task
 * runs after the futures in `after` and after every earlier task whose
 * access to one of its buffers conflicts (read after write, write after
 * read, write after write). Checks arguments against the kernel's
 * parameters: FRONTA_EARG (count, kind, type, access), FRONTA_ESIZE
 * (buffer count against the launch size, global against local). On a
 * device failure (build error, out of resources, allocation failure) the
 * task falls back to the CPU implementation when it has one and needs
 * admit the pool; else its future fails (FRONTA_EBUILD, FRONTA_EDEVICE,
 * FRONTA_EARG when the OpenCL function's signature does not match the
 * parameters, FRONTA_ENOMEM when the device thread runs out of host or
 * device memory for the task) and its buffers keep their last valid
 * contents -- also after a failure the device reports only when the
 * kernel completes (its status is an error, FRONTA_EDEVICE): what it wrote
 * is rolled back, as is what the kernels chained behind it on that device
 * wrote (they fail with FRONTA_EDEPFAILED), so the buffers hold what
 * they held before the first failed one (docs/devices.md, section 8; a
 * device that is lost altogether may take with it contents that only it
 * held). With retries (fronta_task_desc_t.retries) a failed attempt runs
 * again first, on those contents; FRONTA_ERESOURCE: resources no
 * admissible device declares. Every refusal sets fronta_last_error (the
 * kernel, the argument and what its parameter wanted). */
FRONTA_API FRONTA_NODISCARD int fronta_submit(fronta_runtime_t *rt,
                                              const fronta_task_desc_t *task,
                                              fronta_future_t **out);
/* ---- maps over chunks (since 0.2; docs/arrays.md) ---------------------- */

/* Submit `task` once per chunk of its partitioned buffer arguments (each
 * given by its parent, all with the same number of chunks: zipped): task
 * i gets chunk i of each of them, the other arguments as they are (a
 * buffer that is not partitioned is passed whole, and only for reading:
 * FRONTA_EARG otherwise), and the launch shape of its first partitioned
 * argument's chunk (1 x count, or a tile's rows x cols): global, rows and
 * cols must be 0. Every other field (needs, priority, resources, retries,
 * after, local sizes) applies to each chunk's task. When no buffer
 * argument is partitioned, the map cuts those of the first buffer
 * argument's count itself, alike, by the automatic rule, and makes them
 * whole again (both ordered among their accesses: the call does not
 * wait); `chunks` must then be NULL. A map that may run anywhere (needs
 * FRONTA_NEED_ANY) where more than one device can run it is co-executed
 * (fronta_config_t.coexec, docs/arrays.md).
 * *out (required) is done when every chunk's task is; it fails with the
 * error of the failed or cancelled chunk of lowest index (its code,
 * FRONTA_ECANCELLED for a cancelled one, a message naming the chunk, and
 * the chunk's root task as fronta_error_t.task_id); cancelling *out
 * cancels only the gathering, not the chunks (cancel those through
 * `chunks`). chunks, when not NULL, has room for the chunk count and
 * receives each chunk's future (the caller releases them). Chunk i's
 * random stream is keyed by chunk 0's key (fronta_future_key) and i. All
 * chunks are checked before any is submitted: a call that fails has
 * submitted no chunk (a map over whole buffers has cut them and made
 * them whole again; FRONTA_ENOMEM part-way cancels the chunks already
 * submitted). Errors: those of fronta_submit (for the chunk that fails,
 * named by fronta_last_error), FRONTA_EINVAL (no buffer argument, a
 * launch size given, `chunks` for whole buffers), FRONTA_ESIZE (chunk
 * counts differ), FRONTA_ENOTSUP (over whole buffers, one is a chunk: it
 * cannot be cut). A map over whole buffers keeps their retired chunks
 * (only a partition by the caller frees them). */
FRONTA_API FRONTA_NODISCARD int fronta_submit_map(fronta_runtime_t *rt,
                                                  const fronta_task_desc_t *task,
                                                  fronta_future_t **out,
                                                  fronta_future_t **chunks);

typedef enum fronta_reduce_op {
    FRONTA_REDUCE_SUM = 1,        /* x's type; integers wrap */
    FRONTA_REDUCE_MIN,            /* x's type; floats as fmin: NaNs skipped */
    FRONTA_REDUCE_MAX,
    FRONTA_REDUCE_COUNT,          /* int64: elements != 0 */
    FRONTA_REDUCE_AND,            /* uint8: 1 when every element is != 0 */
    FRONTA_REDUCE_OR              /* uint8: 1 when some element is != 0 */
} fronta_reduce_op_t;

/* Reduce x (partitioned or whole) to one value: a partial per chunk on
 * whatever device the scheduler picks, then a fixed tree over the
 * partials, so the bits depend only on x's contents and chunking -- not
 * on the worker count, the devices chosen or timing. The value is the
 * result of *out (fronta_future_result, of the size of its type) and,
 * when `result` is not NULL, written to that one-element buffer of the
 * op's type. The per-chunk partials of SUM, MIN and MAX come from the
 * bundled sum_portable, min_portable and max_portable (docs/kernels.md),
 * whose pool and OpenCL implementations compute the same tree; a NaN
 * result's payload is unspecified. Does not wait. FRONTA_EINVAL (bad op,
 * no x, both result and out NULL), FRONTA_EARG (x's type does not suit
 * op: SUM, MIN and MAX take int32, int64, float, double; COUNT, AND and
 * OR uint8; result's type), FRONTA_ESIZE (result has not one element),
 * FRONTA_EPARTITION (result partitioned, a retired chunk), FRONTA_ENOMEM.
 * out may be NULL when result is given. */
FRONTA_API FRONTA_NODISCARD int fronta_reduce(fronta_runtime_t *rt, fronta_buffer_t *x,
                                              fronta_reduce_op_t op, fronta_buffer_t *result,
                                              fronta_future_t **out);

/* numpy's out = x[mask] across chunks: x and mask (uint8) are partitioned
 * alike (or both whole); per chunk a count of mask, an exclusive scan of
 * the counts, then each chunk's kept elements scattered to their place in
 * out, a whole buffer of x's type. out[0 .. min(kept, count(out))) are
 * the x[i] with mask[i] != 0 in index order; the rest of out keeps its
 * contents when x and mask are partitioned (the bundled `compact` that
 * whole ones use zeroes it);
 * *kept's result is the number kept, an int64 (never more than count(x)).
 * Partitioned, the counting and scattering run on the pool (one task
 * writes out); whole, the bundled `compact` runs on any device (out may
 * then be x). Does not wait. FRONTA_EINVAL, FRONTA_EARG (types; out is
 * the mask or a chunk of x or mask), FRONTA_ESIZE (chunkings differ),
 * FRONTA_EPARTITION (out is partitioned), FRONTA_ENOTSUP (tiles not in
 * index order). kept may be NULL. */
FRONTA_API FRONTA_NODISCARD int fronta_compact(fronta_runtime_t *rt, fronta_buffer_t *x,
                                               fronta_buffer_t *mask, fronta_buffer_t *out,
                                               fronta_future_t **kept);

/* Concatenate n whole buffers of one type into out, whose count is the
 * sum of theirs. Does not wait; *done (may be NULL) when it has. Errors:
 * Several buffers go through a partition of out (so out's failed last
 * writer fails the concatenation). Errors: FRONTA_EINVAL (NULLs, n 0),
 * FRONTA_EARG (types; out among the inputs), FRONTA_ESIZE (counts),
 * FRONTA_EPARTITION (an input or out partitioned), FRONTA_ENOTSUP
 * (several buffers into a chunk, which cannot be partitioned). */
FRONTA_API FRONTA_NODISCARD int fronta_concat(fronta_runtime_t *rt, fronta_buffer_t *const *bufs,
                                              size_t n, fronta_buffer_t *out,
                                              fronta_future_t **done);

/* The device that ran a kernel task (or is to), -1 for a plain function
 * or one not placed yet. */
FRONTA_API int fronta_future_device(const fronta_future_t *f);

/* ---- device statistics ------------------------------------------------- */

typedef struct fronta_device_stats {
    size_t size;                /* as fronta_config_t.size */
    uint64_t tasks_run;         /* kernel tasks completed on the device */
    uint64_t kernels_chained;   /* enqueued behind a same-device predecessor's
                                   event, without waiting on the host */
    uint64_t host_wakeups;      /* times a host thread woke for the device's
                                   completions */
    uint64_t fallbacks;         /* tasks that left it for another device */
    uint64_t bytes_to_device;   /* copied host -> device */
    uint64_t bytes_to_host;     /* copied device -> host */
    uint64_t maps;              /* zero-copy map/unmap pairs instead of copies */
    /* Its memory (docs/arrays.md, section 10): bytes of the device buffers
     * fronta holds there now and at most so far (replicas on the copy
     * path, pre-image copies; a zero-copy replica is the host array and
     * counts for nothing; launch scratch is not counted), its
     * FRONTA_DEVICE_MEM_LIMIT (0: none), the replicas evicted to stay
     * under it, and of those the ones written back first (the device held
     * the only copy). */
    uint64_t mem_used;
    uint64_t mem_peak;
    uint64_t mem_limit;
    uint64_t evictions;
    uint64_t writebacks;
} fronta_device_stats_t;

/* Counters since create. For device 0 (the pool) only tasks_run counts
 * kernel tasks run by their CPU implementation. */
FRONTA_API int fronta_device_stats(fronta_runtime_t *rt, int id, fronta_device_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif /* FRONTA_H */
