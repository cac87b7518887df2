/* Fault injection over a device workload: fail allocation number k (or every one from k on) in a run with buffers, OpenCL and pool kernel tasks, a device chain, host and interop accesses, map and as_completed; never crash, hang or leak, and the user's arrays keep their last valid contents. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <pthread.h>

#include "test_alloc.h"
#include "test_kernels.h"

#include "fronta_opencl.h"

#if defined(__SANITIZE_ADDRESS__)
#define FT_HAVE_SANITIZER_STACK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FT_HAVE_SANITIZER_STACK 1
#endif
#endif
#ifdef FT_HAVE_SANITIZER_STACK
#include <sanitizer/common_interface_defs.h>
#endif

/*
 * "Fail k": allocation k is the k-th request of a clean run made first in
 * the same process, known by its call stack and its rank among the
 * requests from that stack (test_alloc.h: plain request numbers drift
 * between runs, by the device's timing, and a sweep over them can miss a
 * request). Every k of the clean run is failed, once each. "From k on"
 * fails every request from the k-th on, by plain number, on a subsample
 * of k (from_stride()).
 *
 * When a k fails, the failing line says how to replay it alone:
 *   FT_OOM_K=k [FT_OOM_FROM=1] FT_OOM_PATH=zero|copy;
 *   FT_OOM_TRACE=1 also prints the stack of each refused allocation
 *   (ASan builds), which names the runtime's code that met the failure.
 * FT_OOM_STRIDE=s sets the stride of the "from k on" sweeps.
 */

/* ---- checks that name the run ------------------------------------------ */

/* Written by the main thread, read by the watchdog. */
static atomic_long current_k;
static atomic_int current_from;
static atomic_int current_copy; /* 1: the copy path, 0: zero-copy */

/* A failed check is recorded and the run goes on, so that one sweep
 * reports every k that breaks (and what breaks there) instead of the
 * first; each sweep then asserts that none did. Main thread only. */
static long run_errors;         /* in the current run */
static long sweep_errors;       /* checks failed in this sweep */
static long sweep_bad_runs;
static long bad_ks[32];
static int nbad_ks;

static const char *path_name(void)
{
    return atomic_load(&current_copy) ? "copy path" : "zero-copy";
}

/* "[zero-copy] allocation 12 onwards failing: ... (replay: ...)". The
 * replay runs request k of that process's clean run, whose order may
 * differ by a few requests: the refused request's stack, printed after a
 * failed run, names it for sure. */
static void print_run(const char *what)
{
    int from = atomic_load(&current_from);
    long k = atomic_load(&current_k);
    print_error("[%s] allocation %ld%s failing: %s (replay: FT_OOM_K=%ld%s FT_OOM_PATH=%s)\n",
                path_name(), k, from ? " onwards" : "", what, k,
                from ? " FT_OOM_FROM=1" : "", atomic_load(&current_copy) ? "copy" : "zero");
}

/* The stack of the (first) refused request, frames of the hook left out. */
static void print_refused(const ft_counting_t *c)
{
    if (!c->fail_npcs) {
        print_error("             no request was refused in this run\n");
        return;
    }
    print_error("             the refused request:\n");
    for (int i = 1; i < c->fail_npcs; i++) {
#ifdef FT_HAVE_SANITIZER_STACK
        char buf[256];
        /* Return addresses point after the call: -1 names the call's line. */
        __sanitizer_symbolize_pc((char *)c->fail_pcs[i] - 1, "%f %L", buf, sizeof buf);
        if (strstr(buf, "test_alloc.h") || strstr(buf, "util/alloc.c"))
            continue;
        print_error("               %s\n", buf);
        if (strstr(buf, "test_alloc_dev.c"))
            break; /* into the workload: enough */
#else
        print_error("               %p\n", c->fail_pcs[i]);
#endif
    }
}

static void check_failed(const char *cond, int line)
{
    run_errors++;
    sweep_errors++;
    if (run_errors <= 4 && sweep_errors <= 400) {
        char what[300];
        snprintf(what, sizeof what, "CHECK(%s) at line %d", cond, line);
        print_run(what);
    }
}

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond))                                                          \
            check_failed(#cond, __LINE__);                                    \
    } while (0)

/* More about the check that just failed (printed with it). */
static void note(const char *fmt, ...) FRONTA_PRINTF(1, 2);
static void note(const char *fmt, ...)
{
    if (run_errors > 4 || sweep_errors > 400)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    print_error("             %s\n", buf);
}

/* A code fronta defines: 0 or one of the FRONTA_E* list. */
static int documented(int rc)
{
    return strcmp(fronta_err_name(rc), "FRONTA_UNKNOWN") != 0;
}

/* The clean run (k == 0): every call and every task must succeed. */
static int clean_run;

/* A call that may fail only for lack of memory here (and not at all in
 * the clean run). */
#define CHECK_RC(rc, what)                                                    \
    do {                                                                      \
        int rc_ = (rc);                                                       \
        if (rc_ != 0 && (rc_ != FRONTA_ENOMEM || clean_run)) {                \
            check_failed(what " returned 0 or FRONTA_ENOMEM", __LINE__);      \
            note("it returned %s (%d)", fronta_err_name(rc_), rc_);           \
        }                                                                     \
    } while (0)

/* ---- where refused allocations come from (FT_OOM_TRACE) ---------------- */

static int trace_failures;

static void on_fail(long n, size_t size)
{
    if (!trace_failures)
        return;
    fprintf(stderr, "[ trace    ] refused allocation %ld (%zu bytes):\n", n, size);
#ifdef FT_HAVE_SANITIZER_STACK
    __sanitizer_print_stack_trace();
#endif
}

/* ---- a watchdog: a hang becomes a message naming k, then an abort ------ */

enum { RUN_LIMIT_S = 120 };

static atomic_llong run_deadline_ns; /* 0: no run under way */
static atomic_int watchdog_stop;
static pthread_t watchdog;

static long long now_ns(void)
{
    return (long long)(ft_now() * 1e9);
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&watchdog_stop)) {
        long long dl = atomic_load(&run_deadline_ns);
        if (dl && now_ns() > dl) {
            char what[100];
            snprintf(what, sizeof what, "the run is still going after %d s: a hang; aborting",
                     RUN_LIMIT_S);
            print_run(what);
            abort();
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- the model -------------------------------------------------------- */

enum { N = 61, MAPN = 6, NREADERS = 16, MAXSTEPS = 64 };

/* The buffers: a (a wrapped INT32 array, page-aligned), c (INT32, created
 * by the runtime), x and y (wrapped FLOAT arrays from malloc, for the
 * bundled kernels), z (wrapped INT32, first seen by the device through a
 * kernel that writes it and an interop OUT access). */
enum { BA, BC, BX, BY, BZ, NBUF };

typedef struct mbuf {
    const char *name;
    fronta_buffer_t *b;         /* NULL: never registered, or destroyed */
    int is_float;
    void *user;                 /* the wrapped array; NULL for c */
    int destroyed;              /* fronta_buffer_destroy succeeded: compare */
    uint32_t u[N];              /* the contents every step so far gives */
    float f[N];
    int wfail;                  /* its last writer failed: readers must fail */
} mbuf_t;

/* OP_BAD_SIG: a kernel whose OpenCL function takes more arguments than
 * its parameters, so that it fails on the device (FRONTA_EARG, on any
 * driver: the count needs no argument info) every run, before it touches
 * its buffer: a failed writer that needs no injected failure, so that a
 * single injected failure can meet it later. */
typedef enum op {
    OP_ADD_CONST, OP_COPY_SCALED, OP_ADD_INTO, OP_SCALE, OP_SAXPY, OP_BAD_SIG, NOPS
} op_t;

/* One parameter, two arguments; no CPU implementation. */
static const fronta_param_t bad_sig_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_GLOBAL},
};
/* With the INT32 kernels in one program: each run's device thread loads
 * three programs (this, scale, saxpy), the bulk of a run's time. */
static const char int_source[] =
    FT_INT_CL_SOURCE
    "__kernel void ft_bad_sig(__global uint *x, int c) { x[get_global_id(0)] = (uint)c; }\n";

/* A kernel task: `out` is the buffer it writes, `in` one it only reads;
 * `after` a future it was given as an argument. */
typedef struct step {
    op_t op;
    int in, out;
    int32_t iv;
    float fv;
    fronta_need_t need;
    const char *what;
    fronta_future_t *fut, *after;
} step_t;

typedef struct wl {
    fronta_runtime_t *rt;
    int cl;
    cl_command_queue q;
    fronta_kernel_t *kern[NOPS];
    mbuf_t m[NBUF];
    step_t steps[MAXSTEPS];
    int nsteps, napplied;
    atomic_int cb_calls;        /* done-callbacks run (any thread) */
    int cb_added;               /* done-callbacks accepted */
} wl_t;

/* Over a sweep: outcomes of kernel tasks by code, and device fallbacks. */
static long tally_ok, tally_nomem, tally_device, tally_depfailed, tally_other;
static long tally_fallbacks;

/* The first element of p that differs from the model, or -1. */
static long mismatch(const mbuf_t *m, const void *p)
{
    for (size_t i = 0; i < N; i++) {
        if (m->is_float ? ((const float *)p)[i] != m->f[i]
                        : ((const uint32_t *)p)[i] != m->u[i])
            return (long)i;
    }
    return -1;
}

static void compare(const mbuf_t *m, const void *p, const char *where)
{
    long i = mismatch(m, p);
    if (i < 0)
        return;
    check_failed("the contents are the last valid ones", __LINE__);
    if (m->is_float)
        note("%s, buffer %s: element %ld is %g, expected %g", where, m->name, i,
             (double)((const float *)p)[i], (double)m->f[i]);
    else
        note("%s, buffer %s: element %ld is %u, expected %u", where, m->name, i,
             ((const uint32_t *)p)[i], m->u[i]);
}

/* What a host or interop access writes: OUT a pattern, INOUT from the
 * contents (model and array alike). */
static void model_write(mbuf_t *m, void *p, fronta_access_t mode)
{
    for (size_t i = 0; i < N; i++) {
        if (m->is_float) {
            float v = mode == FRONTA_ACCESS_OUT ? (float)(i % 3 + 1) : m->f[i] + 1.0f;
            m->f[i] = v;
            ((float *)p)[i] = v;
        } else {
            uint32_t v = mode == FRONTA_ACCESS_OUT ? 7u * (uint32_t)i + 5u
                                                  : m->u[i] * 3u + 1u + (uint32_t)i;
            m->u[i] = v;
            ((uint32_t *)p)[i] = v;
        }
    }
}

/* ---- kernel tasks ----------------------------------------------------- */

static fronta_kernel_t *kernel_or_null(fronta_runtime_t *rt, const char *entry,
                                       const fronta_param_t *params, size_t np,
                                       fronta_cpu_kernel_fn cpu, const char *source)
{
    fronta_kernel_desc_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = entry;
    d.params = params;
    d.nparams = np;
    d.cpu = cpu;
    d.cl_source = source;
    d.cl_entry = entry;
    fronta_kernel_t *k = NULL;
    int rc = fronta_kernel_create(rt, &d, &k);
    CHECK_RC(rc, "fronta_kernel_create");
    CHECK((rc == 0) == (k != NULL));
    return k;
}

static void count_cb(fronta_future_t *f, void *ud)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ud, 1);
}

static void step_submit_after(wl_t *w, op_t op, int in, int out, int32_t iv, float fv,
                              fronta_need_t need, fronta_future_t *after, const char *what)
{
    fronta_kernel_t *k = w->kern[op];
    /* A kernel or buffer that could not be made: nothing to run. */
    if (!k || !w->m[out].b || (in >= 0 && !w->m[in].b))
        return;
    CHECK(w->nsteps < MAXSTEPS);
    if (w->nsteps >= MAXSTEPS)
        return;
    fronta_task_desc_t t;
    memset(&t, 0, sizeof t);
    t.size = sizeof t;
    t.kernel = k;
    t.needs.device = need;
    t.name = what;
    if (after) {
        t.after = &after;
        t.nafter = 1;
    }
    fronta_buffer_t *bi = in >= 0 ? w->m[in].b : NULL, *bo = w->m[out].b;
    size_t n = 0;
    switch (op) {
    case OP_ADD_CONST:
        t.args[n++] = FRONTA_INOUT(bo);
        t.args[n++] = FRONTA_I32(iv);
        break;
    case OP_COPY_SCALED:
        t.args[n++] = FRONTA_IN(bi);
        t.args[n++] = FRONTA_OUT(bo);
        t.args[n++] = FRONTA_I32(iv);
        break;
    case OP_ADD_INTO:
        t.args[n++] = FRONTA_IN(bi);
        t.args[n++] = FRONTA_INOUT(bo);
        break;
    case OP_SCALE:
        t.args[n++] = FRONTA_INOUT(bo);
        t.args[n++] = FRONTA_F32(fv);
        break;
    case OP_SAXPY:
        t.args[n++] = FRONTA_IN(bi);
        t.args[n++] = FRONTA_INOUT(bo);
        t.args[n++] = FRONTA_F32(fv);
        break;
    default:
        t.args[n++] = FRONTA_OUT(bo);
        break;
    }
    t.nargs = n;
    fronta_future_t *f = NULL;
    int rc = fronta_submit(w->rt, &t, &f);
    CHECK_RC(rc, "fronta_submit");
    CHECK((rc == 0) == (f != NULL));
    if (rc || !f)
        return;
    step_t *s = &w->steps[w->nsteps++];
    s->op = op;
    s->in = in;
    s->out = out;
    s->iv = iv;
    s->fv = fv;
    s->need = need;
    s->what = what;
    s->fut = f;
    s->after = after;
    /* Completions on device threads run these too. */
    rc = fronta_future_add_done_callback(f, count_cb, &w->cb_calls);
    CHECK_RC(rc, "fronta_future_add_done_callback");
    w->cb_added += rc == 0;
}

static void step_submit(wl_t *w, op_t op, int in, int out, int32_t iv, float fv,
                        fronta_need_t need, const char *what)
{
    step_submit_after(w, op, in, out, iv, fv, need, NULL, what);
}

/* Whether step s reads a buffer whose last writer failed, or follows a
 * future that failed. */
static int reads_failed(const wl_t *w, const step_t *s)
{
    int reads_out = s->op != OP_COPY_SCALED && s->op != OP_BAD_SIG; /* OUT does not read */
    return (s->in >= 0 && w->m[s->in].wfail) || (reads_out && w->m[s->out].wfail) ||
           (s->after && fronta_future_error(s->after, NULL) != 0);
}

/* Step s is done: check its outcome, then apply it to the model when it
 * succeeded. A failed step leaves the contents as they were. */
static void step_apply(wl_t *w, const step_t *s)
{
    fronta_future_t *f = s->fut;
    CHECK(fronta_future_done(f));
    int code = fronta_future_error(f, NULL);
    fronta_status_t st = fronta_future_status(f);
    CHECK(code == 0 ? st == FRONTA_FINISHED : st == FRONTA_FAILED);
    if (s->op == OP_BAD_SIG) {
        /* It never runs: its signature check fails on the device, unless
         * memory ran out first. */
        if (code != FRONTA_EARG && (code != FRONTA_ENOMEM || clean_run)) {
            check_failed("the mismatched kernel fails with FRONTA_EARG", __LINE__);
            note("step '%s': %s (%s)", s->what, fronta_err_name(code), ft_message(f));
        }
        w->m[s->out].wfail = code != 0;
        return;
    }
    int rf = reads_failed(w, s);
    if (clean_run && code && !rf) {
        check_failed("every kernel task of the clean run finishes", __LINE__);
        note("step '%s': %s (%s)", s->what, fronta_err_name(code), ft_message(f));
    }
    if (rf) {
        /* devices.md §3: nothing downstream runs on bad data. */
        if (code != FRONTA_EDEPFAILED) {
            check_failed("a reader after a failed writer fails with FRONTA_EDEPFAILED",
                         __LINE__);
            note("step '%s': %s (%s)", s->what, fronta_err_name(code), ft_message(f));
        }
    } else if (code != 0 && code != FRONTA_ENOMEM && code != FRONTA_EDEVICE) {
        /* Its own failure: a device or allocation failure, nothing else
         * (FRONTA_EDEPFAILED without a failed input is a wrong code too). */
        check_failed("a kernel task fails with FRONTA_ENOMEM or FRONTA_EDEVICE", __LINE__);
        note("step '%s': %s (%s)", s->what, fronta_err_name(code), ft_message(f));
    }
    /* A task that needs the pool never leaves it; one that needs OpenCL
     * never falls back to it. */
    int dev = fronta_future_device(f);
    if (code == 0 && s->need == FRONTA_NEED_CPU_POOL)
        CHECK(dev == 0);
    if (code == 0 && s->need == FRONTA_NEED_OPENCL)
        CHECK(dev == w->cl);
    tally_ok += code == 0;
    tally_nomem += code == FRONTA_ENOMEM;
    tally_device += code == FRONTA_EDEVICE;
    tally_depfailed += code == FRONTA_EDEPFAILED;
    tally_other += code && code != FRONTA_ENOMEM && code != FRONTA_EDEVICE &&
                   code != FRONTA_EDEPFAILED;
    mbuf_t *o = &w->m[s->out];
    const mbuf_t *in = s->in >= 0 ? &w->m[s->in] : NULL;
    if (code == 0) {
        for (size_t i = 0; i < N; i++) {
            switch (s->op) {
            case OP_ADD_CONST:
                o->u[i] = ft_model_add_const(o->u[i], s->iv, i);
                break;
            case OP_COPY_SCALED:
                o->u[i] = ft_model_copy_scaled(in->u[i], s->iv, i);
                break;
            case OP_ADD_INTO:
                o->u[i] += in->u[i];
                break;
            case OP_SCALE:
                o->f[i] *= s->fv;
                break;
            case OP_SAXPY:
                o->f[i] = s->fv * in->f[i] + o->f[i];
                break;
            default: /* OP_BAD_SIG returned above */
                break;
            }
        }
    }
    o->wfail = code != 0;
}

/* Wait for every step submitted so far (bounded) and apply them in
 * submission order: the order of accesses to each buffer. A host access
 * held meanwhile is fine: steps submitted before it never wait for it. */
static void settle(wl_t *w)
{
    for (int i = w->napplied; i < w->nsteps; i++) {
        int rc = fronta_future_wait(w->steps[i].fut, FT_LIMIT);
        if (rc != 0) {
            check_failed("a kernel task completes within FT_LIMIT", __LINE__);
            note("step '%s': fronta_future_wait: %s", w->steps[i].what, fronta_err_name(rc));
        }
    }
    for (; w->napplied < w->nsteps; w->napplied++)
        step_apply(w, &w->steps[w->napplied]);
}

/* ---- host and interop accesses ---------------------------------------- */

/* An acquire's return code against the model (settled up to it). */
static void acquire_check(const mbuf_t *m, fronta_access_t mode, int rc, const char *what)
{
    if (rc == 0) {
        /* IN and INOUT fail after a failed writer; OUT overwrites. */
        if ((mode & FRONTA_ACCESS_IN) && m->wfail) {
            check_failed("an IN/INOUT acquire after a failed writer fails", __LINE__);
            note("%s of %s succeeded", what, m->name);
        }
        return;
    }
    CHECK(documented(rc));
    int ok = (rc == FRONTA_ENOMEM && !clean_run) ||
             ((mode & FRONTA_ACCESS_IN) && m->wfail &&
              (rc == FRONTA_ENOMEM || rc == FRONTA_EDEVICE || rc == FRONTA_EDEPFAILED));
    if (!ok) {
        check_failed("an acquire fails only for lack of memory or a failed writer", __LINE__);
        note("%s of %s (mode %d, last writer %s): %s", what, m->name, (int)mode,
             m->wfail ? "failed" : "fine", fronta_err_name(rc));
    }
}

/* A host access, taken while earlier tasks may still run: the acquire
 * waits for those it follows; the model is settled after it returns.
 * poll: timeout 0 in a loop (timed-out accesses are taken over). */
static void host_access(wl_t *w, int bi, fronta_access_t mode, int poll)
{
    mbuf_t *m = &w->m[bi];
    if (!m->b)
        return;
    void *p = (void *)&p;
    int rc;
    if (poll) {
        double deadline = ft_now() + FT_LIMIT;
        while ((rc = fronta_buffer_acquire(m->b, mode, 0, &p)) == FRONTA_ETIMEDOUT &&
               ft_now() < deadline)
            sched_yield();
    } else {
        rc = fronta_buffer_acquire(m->b, mode, FT_LIMIT, &p);
    }
    settle(w);
    acquire_check(m, mode, rc, poll ? "fronta_buffer_acquire (polled)" : "fronta_buffer_acquire");
    if (rc) {
        CHECK(p == NULL);
        return;
    }
    CHECK(p != NULL);
    if (!p)
        return;
    if (mode & FRONTA_ACCESS_IN)
        compare(m, p, "host acquire");
    if (mode & FRONTA_ACCESS_OUT)
        model_write(m, p, mode);
    CHECK(fronta_buffer_release(m->b) == 0);
    if (mode & FRONTA_ACCESS_OUT)
        m->wfail = 0;
}

/* An interop access on the OpenCL device: the user's own commands on
 * fronta's queue (reads and writes, so no program is needed). */
static void cl_access(wl_t *w, int bi, fronta_access_t mode)
{
    mbuf_t *m = &w->m[bi];
    if (!m->b)
        return;
    cl_mem mem = (cl_mem)&mem;
    int rc = fronta_opencl_buffer_acquire(m->b, w->cl, mode, FT_LIMIT, &mem);
    settle(w);
    acquire_check(m, mode, rc, "fronta_opencl_buffer_acquire");
    if (rc) {
        CHECK(mem == NULL);
        return;
    }
    CHECK(mem != NULL);
    if (!mem)
        return;
    unsigned char tmp[N * 4];
    size_t bytes = sizeof tmp; /* INT32 and FLOAT alike */
    if (mode & FRONTA_ACCESS_IN) {
        cl_int e = clEnqueueReadBuffer(w->q, mem, CL_TRUE, 0, bytes, tmp, 0, NULL, NULL);
        CHECK(e == CL_SUCCESS);
        if (e == CL_SUCCESS)
            compare(m, tmp, "interop acquire");
    }
    if (mode & FRONTA_ACCESS_OUT) {
        model_write(m, tmp, mode);
        CHECK(clEnqueueWriteBuffer(w->q, mem, CL_TRUE, 0, bytes, tmp, 0, NULL, NULL) ==
              CL_SUCCESS);
    }
    CHECK(fronta_buffer_release(m->b) == 0);
    if (mode & FRONTA_ACCESS_OUT)
        m->wfail = 0;
}

/* ---- plain futures: map, wait and as_completed ------------------------ */

static int sum_task(fronta_ctx_t *ctx, void *arg)
{
    int64_t s;
    memcpy(&s, arg, sizeof s);
    return fronta_ctx_return(ctx, &s, sizeof s);
}

/* The kernel tasks and map tasks so far, in fs; returns their number. */
static size_t all_futures(const wl_t *w, fronta_future_t *const *mapf, fronta_future_t **fs)
{
    size_t n = 0;
    for (int i = 0; i < MAPN; i++)
        if (mapf[i])
            fs[n++] = mapf[i];
    for (int i = 0; i < w->nsteps; i++)
        fs[n++] = w->steps[i].fut;
    return n;
}

static void wait_all_futures(const wl_t *w, fronta_future_t *const *mapf)
{
    fronta_future_t *fs[MAXSTEPS + MAPN];
    size_t n = all_futures(w, mapf, fs), nd = 0;
    int rc = fronta_wait(fs, n, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd);
    CHECK_RC(rc, "fronta_wait");
    if (rc == 0)
        CHECK(nd == n);
}

static void drain(const wl_t *w, fronta_future_t *const *mapf)
{
    fronta_future_t *fs[MAXSTEPS + MAPN];
    size_t n = all_futures(w, mapf, fs);
    for (size_t i = 0; i < n; i++)
        fronta_future_retain(fs[i]); /* the iterator takes these */
    fronta_as_completed_t *ac = NULL;
    int rc = fronta_as_completed_create(w->rt, fs, n, &ac);
    CHECK_RC(rc, "fronta_as_completed_create");
    if (rc) {
        CHECK(ac == NULL);
        for (size_t i = 0; i < n; i++)
            fronta_future_release(fs[i]);
        return;
    }
    size_t got = 0;
    for (;;) {
        fronta_future_t *f = NULL;
        rc = fronta_as_completed_next(ac, FT_LIMIT, &f);
        if (rc == FRONTA_EEMPTY)
            break;
        CHECK(rc == 0);
        if (rc) {
            note("fronta_as_completed_next: %s after %zu of %zu", fronta_err_name(rc), got, n);
            break;
        }
        CHECK(fronta_future_done(f));
        got++;
        fronta_future_release(f);
    }
    CHECK(got == n);
    fronta_as_completed_destroy(ac);
}

/* ---- one run ---------------------------------------------------------- */

static void buffers_make(wl_t *w, uint32_t *ua, float *ux, float *uy, uint32_t *uz)
{
    static const char *const names[NBUF] = {"a", "c", "x", "y", "z"};
    for (int i = 0; i < NBUF; i++) {
        mbuf_t *m = &w->m[i];
        m->name = names[i];
        m->is_float = i == BX || i == BY;
    }
    w->m[BA].user = ua;
    w->m[BX].user = ux;
    w->m[BY].user = uy;
    w->m[BZ].user = uz;
    for (size_t i = 0; i < N; i++) {
        uz[i] = w->m[BZ].u[i] = 1000u + (uint32_t)i;
        ua[i] = w->m[BA].u[i] = (uint32_t)i * 5u + 1u;
        w->m[BC].u[i] = 0; /* created: zero-filled */
        ux[i] = w->m[BX].f[i] = (float)(i % 4 + 1);
        uy[i] = w->m[BY].f[i] = (float)(i % 5);
    }
    for (int i = 0; i < NBUF; i++) {
        mbuf_t *m = &w->m[i];
        fronta_dtype_t type = m->is_float ? FRONTA_FLOAT : FRONTA_INT32;
        int rc = m->user ? fronta_buffer_wrap(w->rt, m->user, N, type, &m->b)
                         : fronta_buffer_create(w->rt, N, type, &m->b);
        CHECK_RC(rc, "fronta_buffer_wrap/create");
        CHECK((rc == 0) == (m->b != NULL));
    }
}

/* Destroy every buffer while tasks on the others may still run: destroy
 * waits for its own. Then the model, and each wrapped array destroyed
 * must hold it. */
static void buffers_destroy(wl_t *w)
{
    for (int i = 0; i < NBUF; i++) {
        mbuf_t *m = &w->m[i];
        if (!m->b)
            continue;
        int rc = fronta_buffer_destroy(m->b);
        CHECK_RC(rc, "fronta_buffer_destroy");
        if (rc)
            continue; /* still registered: runtime destroy frees it */
        m->b = NULL;
        m->destroyed = 1;
    }
    settle(w);
    for (int i = 0; i < NBUF; i++)
        if (w->m[i].destroyed && w->m[i].user)
            compare(&w->m[i], w->m[i].user, "after fronta_buffer_destroy");
}

/* The clean run must exercise what the sweep is about: kernels chained on
 * the device, zero-copy maps or real copies, no fallback. */
static void check_coverage(wl_t *w, int zero_copy)
{
    fronta_device_stats_t st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    CHECK(fronta_device_stats(w->rt, w->cl, &st) == 0);
    if (clean_run) {
        CHECK(st.kernels_chained > 0);
        CHECK(st.tasks_run > 0);
        CHECK(st.fallbacks == 0);
        if (zero_copy < 0) {
            CHECK(st.bytes_to_device > 0);
            CHECK(st.maps == 0);
        } else {
            CHECK(st.maps > 0);
            CHECK(st.bytes_to_device == 0);
        }
        if (run_errors)
            note("device stats: run %llu, chained %llu, fallbacks %llu, maps %llu, to device "
                 "%llu, to host %llu", (unsigned long long)st.tasks_run,
                 (unsigned long long)st.kernels_chained, (unsigned long long)st.fallbacks,
                 (unsigned long long)st.maps, (unsigned long long)st.bytes_to_device,
                 (unsigned long long)st.bytes_to_host);
    }
    tally_fallbacks += (long)st.fallbacks;
}

static void workload(ft_counting_t *c, int zero_copy)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    cfg.devices = "all";
    cfg.log_level = FRONTA_LOG_OFF;
    cfg.alloc = ft_counting_alloc;
    cfg.alloc_ud = c;
    cfg.zero_copy = zero_copy;
    wl_t *w = calloc(1, sizeof *w);
    uint32_t *ua = aligned_alloc(4096, 4096); /* N elements fit */
    float *ux = malloc(N * sizeof *ux), *uy = malloc(N * sizeof *uy);
    uint32_t *uz = malloc(N * sizeof *uz);
    assert_non_null(w);
    assert_non_null(uz);
    assert_non_null(ua);
    assert_non_null(ux);
    assert_non_null(uy);
    atomic_init(&w->cb_calls, 0);
    int rc = fronta_runtime_create(&cfg, &w->rt);
    CHECK_RC(rc, "fronta_runtime_create");
    if (rc) {
        CHECK(w->rt == NULL);
        goto out;
    }
    fronta_runtime_t *rt = w->rt;
    w->cl = ft_cl_device(rt, 0);
    CHECK(w->cl > 0);
    if (w->cl <= 0) {
        fronta_runtime_destroy(rt);
        goto out;
    }
    cl_context ctx = NULL;
    CHECK(fronta_opencl_device(rt, w->cl, &ctx, &w->q, NULL) == 0);
    /* Our own reference: after destroy it must be the only one left, or
     * fronta leaked an object that holds the context (a buffer, program,
     * kernel, queue or event), which neither the hook nor LSan sees. */
    CHECK(ctx && clRetainContext(ctx) == CL_SUCCESS);

    w->kern[OP_ADD_CONST] = kernel_or_null(rt, "ft_add_const", ft_add_const_params, 2,
                                           ft_k_add_const, int_source);
    w->kern[OP_COPY_SCALED] = kernel_or_null(rt, "ft_copy_scaled", ft_copy_scaled_params, 3,
                                             ft_k_copy_scaled, int_source);
    w->kern[OP_ADD_INTO] = kernel_or_null(rt, "ft_add_into", ft_add_into_params, 2,
                                          ft_k_add_into, int_source);
    w->kern[OP_BAD_SIG] = kernel_or_null(rt, "ft_bad_sig", bad_sig_params, 1, NULL,
                                         int_source);
    /* NULL only for lack of memory here. */
    w->kern[OP_SCALE] = fronta_kernel_builtin(rt, "scale");
    w->kern[OP_SAXPY] = fronta_kernel_builtin(rt, "saxpy");
    if (clean_run)
        CHECK(w->kern[OP_SCALE] && w->kern[OP_SAXPY]);
    buffers_make(w, ua, ux, uy, uz);

    /* A pool task, then a chain on the device: enqueued behind each other's
     * events, a and c moving between the host and the device. */
    step_submit(w, OP_ADD_CONST, -1, BA, 3, 0, FRONTA_NEED_ANY, "a += 3 (any)");
    step_submit(w, OP_ADD_CONST, -1, BA, 5, 0, FRONTA_NEED_OPENCL, "a += 5 (cl chain)");
    step_submit(w, OP_ADD_CONST, -1, BA, 7, 0, FRONTA_NEED_OPENCL, "a += 7 (cl chain)");
    step_submit(w, OP_COPY_SCALED, BA, BC, 3, 0, FRONTA_NEED_OPENCL, "c = 3a (cl chain)");
    step_submit(w, OP_ADD_INTO, BC, BA, 0, 0, FRONTA_NEED_OPENCL, "a += c (cl chain)");
    /* Placed on the device where a's writer is; falls back on failure. */
    step_submit(w, OP_ADD_CONST, -1, BA, 11, 0, FRONTA_NEED_ANY, "a += 11 (any)");
    step_submit(w, OP_SCALE, -1, BX, 0, 2.0f, FRONTA_NEED_OPENCL, "scale x (cl)");
    step_submit(w, OP_SAXPY, BX, BY, 0, 3.0f, FRONTA_NEED_ANY, "saxpy y += 3x (any)");

    /* Plain futures alongside, held back by an in-flight limit; a kernel
     * task takes one as an argument. */
    int64_t xs[MAPN];
    for (int i = 0; i < MAPN; i++)
        xs[i] = 100 + i;
    fronta_future_t *mapf[MAPN] = {NULL};
    fronta_map_opts_t mo = {.size = sizeof mo, .max_inflight = 2};
    rc = fronta_map(rt, sum_task, xs, sizeof xs[0], MAPN, &mo, mapf);
    CHECK_RC(rc, "fronta_map");
    for (int i = 0; i < MAPN; i++)
        CHECK((rc == 0) == (mapf[i] != NULL));
    if (mapf[MAPN - 1])
        step_submit_after(w, OP_ADD_CONST, -1, BA, 19, 0, FRONTA_NEED_ANY, mapf[MAPN - 1],
                          "a += 19 (any, after a map task)");

    /* Host accesses while the chain may still run. */
    host_access(w, BA, FRONTA_ACCESS_IN, 1);
    host_access(w, BC, FRONTA_ACCESS_INOUT, 0);
    step_submit(w, OP_ADD_CONST, -1, BC, 13, 0, FRONTA_NEED_OPENCL, "c += 13 (cl)");
    /* Many readers of a, then a writer that follows them all. */
    for (int i = 0; i < NREADERS; i++)
        step_submit(w, OP_ADD_INTO, BA, BC, 0, 0,
                    i % 4 == 3 ? FRONTA_NEED_CPU_POOL : FRONTA_NEED_OPENCL, "c += a (reader)");
    step_submit(w, OP_ADD_CONST, -1, BA, 23, 0, FRONTA_NEED_OPENCL, "a += 23 (cl, after readers)");
    wait_all_futures(w, mapf);

    /* Interop, then the host, then tasks on what they left. */
    cl_access(w, BA, FRONTA_ACCESS_IN);
    cl_access(w, BY, FRONTA_ACCESS_INOUT);
    cl_access(w, BC, FRONTA_ACCESS_OUT);
    step_submit(w, OP_ADD_INTO, BC, BA, 0, 0, FRONTA_NEED_CPU_POOL, "a += c (pool)");
    step_submit(w, OP_SCALE, -1, BY, 0, 2.0f, FRONTA_NEED_ANY, "scale y (any)");
    host_access(w, BX, FRONTA_ACCESS_OUT, 0);
    step_submit(w, OP_SAXPY, BX, BY, 0, 1.0f, FRONTA_NEED_OPENCL, "saxpy y += x (cl)");
    step_submit(w, OP_COPY_SCALED, BA, BC, 5, 0, FRONTA_NEED_ANY, "c = 5a (any)");
    step_submit(w, OP_ADD_CONST, -1, BA, 17, 0, FRONTA_NEED_OPENCL, "a += 17 (cl)");
    host_access(w, BY, FRONTA_ACCESS_INOUT, 1);
    /* z: a writer that always fails on the device before making z's
     * replica there (a reader after it fails too), then an interop OUT
     * that makes the replica (and clears the failure), a pool reader, a
     * device writer that may fail for lack of memory, an interop OUT
     * again and a last reader. */
    step_submit(w, OP_BAD_SIG, -1, BZ, 0, 0, FRONTA_NEED_OPENCL, "z = ? (cl, bad signature)");
    step_submit(w, OP_ADD_CONST, -1, BZ, 31, 0, FRONTA_NEED_CPU_POOL, "z += 31 (pool)");
    cl_access(w, BZ, FRONTA_ACCESS_OUT);
    step_submit(w, OP_ADD_CONST, -1, BZ, 29, 0, FRONTA_NEED_CPU_POOL, "z += 29 (pool)");
    step_submit(w, OP_COPY_SCALED, BA, BZ, 3, 0, FRONTA_NEED_OPENCL, "z = 3a (cl)");
    cl_access(w, BZ, FRONTA_ACCESS_OUT);
    step_submit(w, OP_ADD_CONST, -1, BZ, 37, 0, FRONTA_NEED_CPU_POOL, "z += 37 (pool)");

    drain(w, mapf);
    host_access(w, BC, FRONTA_ACCESS_IN, 0);
    check_coverage(w, zero_copy);
    buffers_destroy(w);

    CHECK(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT) == 0);
    for (int i = 0; i < MAPN; i++) {
        if (!mapf[i])
            continue;
        int64_t v = 0;
        rc = fronta_future_result(mapf[i], 0, &v, sizeof v);
        CHECK_RC(rc, "a map task");
        if (rc == 0)
            CHECK(v == xs[i]);
        fronta_future_release(mapf[i]);
    }
    /* Each callback accepted ran exactly once, before shutdown returned. */
    CHECK(atomic_load(&w->cb_calls) == w->cb_added);
    for (int i = 0; i < w->nsteps; i++)
        fronta_future_release(w->steps[i].fut);
    fronta_runtime_destroy(rt);
    if (ctx) {
        /* A leak is a reference that stays: the driver's own threads may
         * drop theirs on a finished command a moment after reporting it
         * (seen once in ~1800 runs on PoCL), so give them a second. */
        cl_uint refs = 0;
        double until = ft_now() + 1.0;
        do {
            CHECK(clGetContextInfo(ctx, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs,
                                   NULL) == CL_SUCCESS);
            if (refs != 1)
                sched_yield();
        } while (refs != 1 && ft_now() < until);
        if (refs != 1) {
            check_failed("no OpenCL object leaked (the context's references)", __LINE__);
            note("the context has %u references after fronta_runtime_destroy, ours "
                 "included", refs);
        }
        clReleaseContext(ctx);
    }
    /* Whatever destroy was refused, the arrays are the user's again. */
    for (int i = 0; i < NBUF; i++)
        if (w->m[i].user)
            compare(&w->m[i], w->m[i].user, "after fronta_runtime_destroy");
out:
    free(uz);
    free(ua);
    free(ux);
    free(uy);
    free(w);
}

static void check_no_leak(ft_counting_t *c)
{
    long bytes = atomic_load(&c->live_bytes), blocks = atomic_load(&c->live_blocks);
    if (bytes || blocks) {
        check_failed("no leak after fronta_runtime_destroy", __LINE__);
        note("%ld bytes in %ld blocks leaked", bytes, blocks);
    }
    CHECK(atomic_load(&c->bad_old_size) == 0);
}

/* The clean run's requests (measure()), which "fail k" takes one by one. */
static ft_alloc_log_t clean_log;

/* One run: k == 0 fails nothing and records the requests in clean_log;
 * from: every request from the k-th on (plain numbers) fails; else the
 * clean run's request k (its stack, its rank there) fails. */
static long run_one(int zero_copy, long k, int from, double *secs, long *injected)
{
    ft_counting_t c;
    ft_counting_init(&c, k, from);
    c.on_fail = on_fail;
    if (k == 0) {
        ft_alloc_log_init(&clean_log);
        c.log = &clean_log;
    } else if (!from) {
        c.fail_site = clean_log.req[k - 1].site;
        c.fail_at = clean_log.req[k - 1].nth;
    }
    atomic_store(&current_k, k);
    atomic_store(&current_from, from);
    atomic_store(&current_copy, zero_copy < 0);
    run_errors = 0;
    clean_run = k == 0;
    double t0 = ft_now();
    atomic_store(&run_deadline_ns, now_ns() + (long long)RUN_LIMIT_S * 1000000000ll);
    workload(&c, zero_copy);
    check_no_leak(&c);
    atomic_store(&run_deadline_ns, 0);
    if (secs)
        *secs = ft_now() - t0;
    if (injected)
        *injected = atomic_load(&c.failed);
    if (run_errors) {
        if (run_errors <= 4 && sweep_errors <= 400)
            print_refused(&c);
        sweep_bad_runs++;
        if (nbad_ks < (int)(sizeof bad_ks / sizeof bad_ks[0]))
            bad_ks[nbad_ks++] = k;
    }
    return atomic_load(&c.calls);
}

/* ---- the sweeps ------------------------------------------------------- */

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 0) : dflt;
}

static void sweep_begin(void)
{
    sweep_errors = sweep_bad_runs = 0;
    nbad_ks = 0;
    tally_ok = tally_nomem = tally_device = tally_depfailed = tally_other = 0;
    tally_fallbacks = 0;
}

static void sweep_end(const char *what, long runs, double secs)
{
    print_message("[ info     ] %s: %ld runs in %.1f s; kernel tasks: %ld finished, %ld "
                  "ENOMEM, %ld EDEVICE, %ld EDEPFAILED, %ld other; %ld device fallbacks\n",
                  what, runs, secs, tally_ok, tally_nomem, tally_device, tally_depfailed,
                  tally_other, tally_fallbacks);
    if (sweep_bad_runs) {
        char list[400] = "";
        size_t len = 0;
        for (int i = 0; i < nbad_ks && len < sizeof list - 16; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, " %ld", bad_ks[i]);
        print_error("%s: %ld runs failed %ld checks; k =%s%s\n", what, sweep_bad_runs,
                    sweep_errors, list, sweep_bad_runs > nbad_ks ? " ..." : "");
    }
    assert_int_equal(sweep_errors, 0);
}

/* After the clean run: how many requests the workload makes (the lead's
 * notes quote it), recorded for "fail k". */
static void measured(int zero_copy, long calls, double secs)
{
    print_message("[ info     ] %s: a clean run makes %ld allocation requests from %ld call "
                  "stacks (%.2f s)\n", zero_copy < 0 ? "copy path" : "zero-copy", calls,
                  clean_log.nsites, secs);
    assert_int_equal(sweep_errors, 0); /* the model holds without failures */
    assert_true(calls > 0);
    assert_true(clean_log.n == calls); /* FT_LOG_MAX is enough */
}

/* "From k on": a clean run makes about 300 requests and each run costs a
 * runtime with an OpenCL context whose device thread loads three programs
 * (about 0.1 s under ASan on two cores), so every k of both variants on
 * both paths would take two minutes. The "fail k" sweeps take every k;
 * "from k on" takes about 60 evenly spaced k per path (every k when there
 * are fewer); FT_OOM_STRIDE=1 takes them all. */
static long from_stride(long k_max)
{
    long s = env_long("FT_OOM_STRIDE", 0);
    if (s > 0)
        return s;
    return k_max > 60 ? k_max / 60 : 1;
}

static int path_wanted(int zero_copy)
{
    const char *p = getenv("FT_OOM_PATH");
    if (!p || !*p)
        return 1;
    return zero_copy < 0 ? strcmp(p, "zero") != 0 : strcmp(p, "copy") != 0;
}

static void sweep(int zero_copy, int from)
{
    const char *what = zero_copy < 0 ? (from ? "copy path, fail from k on" : "copy path, fail k")
                                     : (from ? "zero-copy, fail from k on" : "zero-copy, fail k");
    if (!path_wanted(zero_copy))
        skip();
    long one = env_long("FT_OOM_K", 0);
    if (one > 0 && env_long("FT_OOM_FROM", 0) != from)
        skip();
    sweep_begin();
    double t0 = 0, worst = 0;
    long k_first = 1, k_max = 0, stride = 1, worst_k = 0, runs = 0, missed = 0;
    /* k = 0 is the clean run. One call of run_one for every k: the stacks
     * that name requests must be the same above the workload too. */
    for (long k = 0; k == 0 || k <= k_max; k = k ? k + stride : k_first) {
        double secs;
        long injected;
        long calls = run_one(zero_copy, k, from, &secs, &injected);
        if (k == 0) {
            measured(zero_copy, calls, secs);
            /* "From k on" goes past the clean count: a run that fails early
             * may allocate more on another path (a fallback, a build from
             * source). */
            k_max = from ? calls + calls / 4 + 8 : clean_log.n;
            stride = from ? from_stride(k_max) : 1;
            if (one > 0) /* replay one k */
                k_first = k_max = one;
            CHECK(from || k_max <= clean_log.n);
            if (!from && k_max > clean_log.n)
                k_max = clean_log.n;
            sweep_begin();
            t0 = ft_now();
            continue;
        }
        runs++;
        missed += injected == 0;
        if (secs > worst) {
            worst = secs;
            worst_k = k;
        }
    }
    print_message("[ info     ] %s: k = %ld..%ld step %ld; slowest run k = %ld (%.2f s); %ld "
                  "runs met no injected failure\n", what, k_first, k_max, stride, worst_k, worst,
                  missed);
    sweep_end(what, runs, ft_now() - t0);
}

static void fail_each_zero_copy(void **state)
{
    (void)state;
    sweep(0, 0);
}

static void fail_each_copy_path(void **state)
{
    (void)state;
    sweep(-1, 0);
}

static void fail_from_zero_copy(void **state)
{
    (void)state;
    sweep(0, 1);
}

static void fail_from_copy_path(void **state)
{
    (void)state;
    sweep(-1, 1);
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    if (!ft_have_opencl()) {
        puts("no OpenCL device: skipped");
        return 77;
    }
    trace_failures = env_long("FT_OOM_TRACE", 0) != 0;
    atomic_init(&run_deadline_ns, 0);
    atomic_init(&watchdog_stop, 0);
    if (pthread_create(&watchdog, NULL, watchdog_main, NULL)) {
        puts("cannot start the watchdog thread");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fail_each_zero_copy),
        cmocka_unit_test(fail_each_copy_path),
        cmocka_unit_test(fail_from_zero_copy),
        cmocka_unit_test(fail_from_copy_path),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    atomic_store(&watchdog_stop, 1);
    pthread_join(watchdog, NULL);
    return rc;
}
