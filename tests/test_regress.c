/* Regression tests of issue 7: size overflows, calls that waited for themselves, completion chains that recursed, quadratic registration, destroy racing shutdown, nested random streams, positive task codes, FRONTA_INVALID and the spin_us bound. */
/* pthread_getattr_np: the stack size a pool worker runs on. */
#define _GNU_SOURCE
#include "test_kernels.h"
/* What the probing code of this file works on, set by the main thread. */
#define FT_PROBE_FIELDS                                                       \
    fronta_runtime_t *rt;                                                     \
    fronta_buffer_t *own;                                                     \
    fronta_future_t *pending, *done;                                          \
    fronta_as_completed_t *ac_pending, *ac_done;                              \
    fronta_buffer_t *idle;
#include "test_probe.h"

#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>

/* A call that must come back at once (it refuses instead of waiting): the
 * bound is generous for sanitizers on a loaded machine; what it catches
 * is a wait of FT_LIMIT, or forever. */
#define AT_ONCE 2.0

/* ---- kernels only this file uses -------------------------------------- */

/* Waits at the gate whose address is its I64 argument. */
static int k_gate(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    (void)n;
    ft_gate_t *g = (ft_gate_t *)(intptr_t)a[1].v.i64;
    atomic_fetch_add(&g->started, 1);
    double deadline = ft_now() + FT_LIMIT;
    while (!atomic_load(&g->open)) {
        if (ft_now() > deadline) {
            atomic_store(&g->expired, 1);
            break;
        }
        sched_yield();
    }
    atomic_fetch_add(&g->left, 1);
    return 0;
}

static const fronta_param_t gate_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .count = FRONTA_COUNT_ANY},
    {.kind = FRONTA_ARG_I64},
};

static int k_nop(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)a;
    (void)na;
    (void)n;
    return 0;
}

static const fronta_param_t nop_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .count = FRONTA_COUNT_ANY},
};

/* Returns 7: not a FRONTA_E* code. */
static int k_ret7(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)a;
    (void)na;
    (void)n;
    return 7;
}

/* Waits for its own argument buffer (the probe's `own`) every way there
 * is: each must refuse at once. */
static int k_self(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    (void)n;
    probe_t *p = (probe_t *)(intptr_t)a[1].v.i64;
    void *h = NULL;
    /* Timeouts that end first, so that on a library that waits, the
     * probe shows what each did before the one that hangs. */
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(p->own, FRONTA_ACCESS_IN, 0, &h));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(p->own, FRONTA_ACCESS_INOUT, 0, &h));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(p->own, FRONTA_ACCESS_OUT, 0, &h));
    PROBE(p, FRONTA_EBUSY, AT_ONCE,
          fronta_buffer_acquire(p->own, FRONTA_ACCESS_IN, 0.5, &h));
    PROBE(p, FRONTA_EBUSY, AT_ONCE,
          fronta_buffer_acquire(p->own, FRONTA_ACCESS_OUT, 0.5, &h));
    PROBE(p, FRONTA_EBUSY, AT_ONCE,
          fronta_buffer_acquire(p->own, FRONTA_ACCESS_INOUT, -1, &h));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(p->own, FRONTA_ACCESS_IN, -1, &h));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_destroy(p->own));
    probe_finish(p);
    return 0;
}

static const fronta_param_t self_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .count = FRONTA_COUNT_ANY},
    {.kind = FRONTA_ARG_I64},
};

static fronta_kernel_t *make_kernel(fronta_runtime_t *rt, const char *name,
                                    const fronta_param_t *p, size_t np, fronta_cpu_kernel_fn fn)
{
    fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .params = p, .nparams = np,
                              .cpu = fn};
    fronta_kernel_t *k = NULL;
    int rc = fronta_kernel_create(rt, &d, &k);
    if (rc)
        fail_msg("fronta_kernel_create(%s): %s", name, fronta_err_name(rc));
    return k;
}

static fronta_task_desc_t task1(fronta_kernel_t *k, fronta_need_t need, fronta_arg_t a0)
{
    return ft_task(k, need, a0, FT_NOARG, FT_NOARG);
}

static fronta_task_desc_t task2(fronta_kernel_t *k, fronta_need_t need, fronta_arg_t a0,
                                fronta_arg_t a1)
{
    return ft_task(k, need, a0, a1, FT_NOARG);
}

static fronta_runtime_t *runtime_cfg(fronta_config_t *cfg)
{
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(cfg, &rt);
    if (rc)
        fail_msg("fronta_runtime_create: %s", fronta_err_name(rc));
    return rt;
}

/* The runtime still runs tasks: a plain one, and a kernel on each device. */
static void runtime_works(fronta_runtime_t *rt, const char *what)
{
    int64_t x = 7, y = 0;
    fronta_future_t *f = NULL;
    int rc = fronta_submit_fn(rt, ft_square_task, &x, sizeof x, &f);
    if (rc)
        fail_msg("%s: the runtime refuses a task afterwards: %s", what, fronta_err_name(rc));
    FT_EXPECT_RC(fronta_future_result(f, FT_LIMIT, &y, sizeof y), 0);
    assert_int_equal(y, 49);
    fronta_future_release(f);
    int cl = ft_cl_device(rt, 0);
    fronta_kernel_t *k = NULL;
    if (cl >= 0 && fronta_kernel_find(rt, "ft_add_const_works", &k) != 0)
        k = ft_kernel_make(rt, "ft_add_const", "_works", FT_IMPL_CL);
    if (cl >= 0) {
        uint32_t arr[33] = {0}, want[33];
        fronta_buffer_t *b;
        assert_int_equal(fronta_buffer_wrap(rt, arr, 33, FRONTA_INT32, &b), 0);
        fronta_task_desc_t t = task2(k, FRONTA_NEED_DEVICE, FRONTA_INOUT(b), FRONTA_I32(3));
        t.needs.device_id = cl;
        f = ft_submit_ok(rt, &t);
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
        for (size_t i = 0; i < 33; i++)
            want[i] = ft_model_add_const(0, 3, i);
        ft_check_buffer(b, want, 33, what);
        assert_int_equal(fronta_buffer_destroy(b), 0);
    }
}

/* Runtime with devices "all"; skips the test (77) without an OpenCL device. */
static fronta_runtime_t *runtime_cl(int threads, int *cl)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = threads, .devices = "all"};
    fronta_runtime_t *rt = runtime_cfg(&cfg);
    if (fronta_device_count(rt) < 2 || (*cl = ft_cl_device(rt, 0)) < 0) {
        fronta_runtime_destroy(rt);
        print_message("[ skip     ] no OpenCL device\n");
        skip();
    }
    return rt;
}

/* An OpenCL kernel task that completes after `cb` is added: its buffer is
 * held by the host until then. The callback runs on the device's waiter
 * thread. */
static fronta_future_t *cl_task_with_callback(fronta_runtime_t *rt, int cl, fronta_buffer_t *b,
                                              fronta_done_fn cb, void *ud)
{
    fronta_kernel_t *k = NULL;
    if (fronta_kernel_find(rt, "ft_add_const_cb", &k) != 0)
        k = ft_kernel_make(rt, "ft_add_const", "_cb", FT_IMPL_CL);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, NULL), 0);
    fronta_task_desc_t t = task2(k, FRONTA_NEED_DEVICE, FRONTA_INOUT(b), FRONTA_I32(1));
    t.needs.device_id = cl;
    fronta_future_t *f = ft_submit_ok(rt, &t);
    assert_int_equal(fronta_future_add_done_callback(f, cb, ud), 0);
    assert_int_equal(fronta_buffer_release(b), 0);
    return f;
}

/* ---- 3. size overflows ------------------------------------------------ */

/* Refuses every allocation above 1 GiB: a size that fits in size_t but
 * cannot be allocated, without asking the system (ASan would abort). */
static void *small_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (new_size > ((size_t)1 << 30))
        return NULL;
    return realloc(ptr, new_size);
}

/* Counts whose byte size overflows, or exceeds what any object can be:
 * refused, never a buffer over a short array. */
static void size_overflow_buffers(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    static uint8_t arr[64];
    fronta_buffer_t *b = NULL;
    FT_EXPECT_RC(fronta_buffer_create(rt, SIZE_MAX / 4, FRONTA_INT32, &b), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_buffer_create(rt, SIZE_MAX - 100, FRONTA_UINT8, &b), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_buffer_create(rt, SIZE_MAX, FRONTA_UINT8, &b), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_buffer_create(rt, SIZE_MAX / 8 + 1, FRONTA_INT64, &b), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_buffer_create(rt, SIZE_MAX / 8, FRONTA_DOUBLE, &b), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_buffer_wrap(rt, arr, SIZE_MAX, FRONTA_UINT8, &b), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_buffer_wrap(rt, arr, SIZE_MAX / 4, FRONTA_INT32, &b), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_buffer_wrap(rt, arr, SIZE_MAX / 2, FRONTA_FLOAT, &b), FRONTA_ERANGE);
    assert_int_equal(fronta_runtime_destroy(rt), 0);

    /* A count that fits in a size but cannot be allocated: ENOMEM. */
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "cpu",
                           .alloc = small_alloc};
    rt = runtime_cfg(&cfg);
    FT_EXPECT_RC(fronta_buffer_create(rt, (size_t)1 << 40, FRONTA_UINT8, &b), FRONTA_ENOMEM);
    FT_EXPECT_RC(fronta_buffer_create(rt, (size_t)1 << 37, FRONTA_INT64, &b), FRONTA_ENOMEM);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* Big but possible: every element is there, the last one included. */
static void big_buffer_last_element(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    const size_t n = ((size_t)1 << 24) + 3;
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_create(rt, n, FRONTA_INT64, &b), 0);
    assert_int_equal(fronta_buffer_count(b), n);
    void *p = NULL;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &p), 0);
    int64_t *x = p;
    assert_int_equal(x[n - 1], 0);
    x[n - 1] = INT64_C(0x123456789abcdef);
    x[0] = -1;
    assert_int_equal(fronta_buffer_release(b), 0);
    /* A task in between: the runtime moves the whole array, or none. */
    fronta_kernel_t *nop = make_kernel(rt, "nop_big", nop_params, 1, k_nop);
    fronta_task_desc_t t = task1(nop, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b));
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
    x = p;
    assert_true(x[n - 1] == INT64_C(0x123456789abcdef));
    assert_true(x[0] == -1);
    assert_true(x[n - 2] == 0);
    assert_int_equal(fronta_buffer_release(b), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* Counts of futures no array can hold: refused by count, before the
 * library reads (or writes) an element. The arrays passed are small, on
 * the heap: ASan reports any access past them. */
static int noop_fn(fronta_ctx_t *ctx, void *arg);

static void size_overflow_map(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_future_t *sentinel = (fronta_future_t *)&sentinel;
    fronta_future_t **out = malloc(4 * sizeof *out);
    assert_non_null(out);
    for (int i = 0; i < 4; i++)
        out[i] = sentinel;
    fronta_map_opts_t o = {.size = sizeof o, .max_inflight = 4};
    FT_EXPECT_RC(fronta_map(rt, ft_count_task, NULL, 0, SIZE_MAX / 2, &o, out), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_map(rt, ft_count_task, NULL, 0, SIZE_MAX / 2, NULL, out),
                 FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_map(rt, ft_count_task, NULL, 0, SIZE_MAX, &o, out), FRONTA_ERANGE);
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(out[i], sentinel);
    /* No arguments at all (NULL, 0): valid, and no offset is applied to
     * NULL (UBSan; found by the fuzzer). */
    FT_EXPECT_RC(fronta_map(rt, noop_fn, NULL, 0, 4, &o, out), 0);
    for (int i = 0; i < 4; i++) {
        FT_EXPECT_OUTCOME(out[i], 0);
        fronta_future_release(out[i]);
    }
    free(out);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

static fronta_future_t **one_future(fronta_runtime_t *rt);

/* A kernel task's nafter is refused by count before after[] is read (the
 * array passed has one element; ASan sees any read past it). */
static void size_overflow_nafter(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_create(rt, 8, FRONTA_INT32, &b), 0);
    fronta_kernel_t *k = make_kernel(rt, "nop_nafter", nop_params, 1, k_nop);
    fronta_future_t **after = one_future(rt);
    fronta_task_desc_t t = task1(k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b));
    t.after = after;
    size_t huge[] = {SIZE_MAX, SIZE_MAX / 8, (size_t)UINT32_MAX + 1, UINT32_MAX / 4 + 1};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        t.nafter = huge[i];
        fronta_future_t *f = NULL;
        FT_EXPECT_RC(fronta_submit(rt, &t, &f), FRONTA_ERANGE);
        assert_null(f);
    }
    t.nafter = 1;
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    fronta_future_release(after[0]);
    free(after);
    FT_EXPECT_RC(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* One done future, in an array of exactly one. */
static fronta_future_t **one_future(fronta_runtime_t *rt)
{
    fronta_future_t **fs = malloc(sizeof *fs);
    assert_non_null(fs);
    int64_t x = 3;
    assert_int_equal(fronta_submit_fn(rt, ft_square_task, &x, sizeof x, &fs[0]), 0);
    ft_wait(fs[0]);
    return fs;
}

static void size_overflow_wait(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_future_t **fs = one_future(rt);
    size_t nd = 12345;
    FT_EXPECT_RC(fronta_wait(fs, SIZE_MAX / 4, 0, FRONTA_ALL_COMPLETED, &nd), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_wait(fs, SIZE_MAX / 4, 1.0, FRONTA_FIRST_COMPLETED, &nd),
                 FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_wait(fs, SIZE_MAX, 0, FRONTA_ALL_COMPLETED, &nd), FRONTA_ERANGE);
    /* The one element is still the caller's and still works. */
    assert_int_equal(fronta_wait(fs, 1, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd), 0);
    assert_int_equal(nd, 1);
    fronta_future_release(fs[0]);
    free(fs);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

static void size_overflow_as_completed(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_future_t **fs = one_future(rt);
    fronta_as_completed_t *ac = (fronta_as_completed_t *)&ac;
    FT_EXPECT_RC(fronta_as_completed_create(rt, fs, SIZE_MAX / 4, &ac), FRONTA_ERANGE);
    FT_EXPECT_RC(fronta_as_completed_create(rt, fs, SIZE_MAX, &ac), FRONTA_ERANGE);
    /* Nothing taken over: the reference is still the caller's. */
    assert_int_equal(fronta_as_completed_create(rt, fs, 1, &ac), 0);
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_as_completed_next(ac, FT_LIMIT, &f), 0);
    assert_ptr_equal(f, fs[0]);
    fronta_future_release(f);
    fronta_as_completed_destroy(ac);
    free(fs);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- 4. calls that waited for themselves ------------------------------ */

/* Shutdown, destroy and wait_all from where they would wait for the
 * caller: each refuses at once and changes nothing. */
static void probe_stop(probe_t *p, fronta_runtime_t *rt)
{
    /* wait_all first, with a timeout: on a library that waits, it shows
     * the wait before shutdown hangs. */
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_wait_all(rt, 1.0));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_wait_all(rt, -1));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_CANCEL_PENDING));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_destroy(rt));
    probe_finish(p);
}

static void cb_probe_stop(fronta_future_t *f, void *ud)
{
    (void)f;
    probe_t *p = ud;
    probe_stop(p, p->rt);
}

static int task_probe_stop(fronta_ctx_t *ctx, void *arg)
{
    probe_t *p;
    memcpy(&p, arg, sizeof p);
    probe_stop(p, fronta_ctx_runtime(ctx));
    return 0;
}

/* (a) From a done-callback on an OpenCL device's waiter thread. */
static void stop_from_waiter_callback(void **state)
{
    (void)state;
    int cl;
    fronta_runtime_t *rt = runtime_cl(2, &cl);
    probe_t p;
    probe_init(&p);
    p.rt = rt;
    uint32_t arr[64] = {0};
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, arr, 64, FRONTA_INT32, &b), 0);
    fronta_future_t *f = cl_task_with_callback(rt, cl, b, cb_probe_stop, &p);
    probe_check(&p, "stop calls in a callback on the waiter thread", 0);
    FT_EXPECT_OUTCOME(f, 0);
    assert_int_equal(fronta_future_device(f), cl);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    runtime_works(rt, "after stop calls on the waiter thread");
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

typedef struct canceller {
    fronta_future_t *f;
    atomic_int rc;
    atomic_int done;
} canceller_t;

static void *cancel_main(void *arg)
{
    canceller_t *c = arg;
    atomic_store(&c->rc, fronta_future_cancel(c->f));
    atomic_store(&c->done, 1);
    return NULL;
}

/* (b) From a done-callback run by the thread that cancels a pending task
 * (a thread of the user's, outside the pool). */
static void stop_from_cancel_callback(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    probe_t p;
    probe_init(&p);
    p.rt = rt;
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *gf = ft_gate_submit(rt, &g);
    fronta_call_t c = {.size = sizeof c, .fn = ft_count_task, .after = &gf, .nafter = 1};
    atomic_int count = 0;
    atomic_int *cp = &count;
    c.arg = &cp;
    c.arg_size = sizeof cp;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_call(rt, &c, &f), 0);
    assert_int_equal(fronta_future_add_done_callback(f, cb_probe_stop, &p), 0);
    canceller_t cn = {.f = f};
    atomic_init(&cn.rc, 99);
    atomic_init(&cn.done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_main, &cn), 0);
    probe_check(&p, "stop calls in a callback on the cancelling thread", 0);
    FT_SPIN_UNTIL(atomic_load(&cn.done));
    assert_true(atomic_load(&cn.done));
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&cn.rc), 0);
    assert_int_equal(fronta_future_status(f), FRONTA_CANCELLED);
    ft_gate_open(&g);
    ft_wait(gf);
    assert_int_equal(atomic_load(&count), 0);
    fronta_future_release(f);
    fronta_future_release(gf);
    runtime_works(rt, "after stop calls on the cancelling thread");
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* (c) From a pool thread: inside a task, and in a callback run there. */
static void stop_from_pool_thread(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    probe_t p;
    probe_init(&p);
    p.rt = rt;
    probe_t *pp = &p;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, task_probe_stop, &pp, sizeof pp, &f), 0);
    probe_check(&p, "stop calls in a task", 0);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    runtime_works(rt, "after stop calls in a task");

    probe_t q;
    probe_init(&q);
    q.rt = rt;
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *gf = ft_gate_submit(rt, &g); /* running: the callback waits for it */
    assert_int_equal(fronta_future_add_done_callback(gf, cb_probe_stop, &q), 0);
    ft_gate_open(&g);
    probe_check(&q, "stop calls in a callback on a pool thread", 0);
    ft_wait(gf);
    fronta_future_release(gf);
    runtime_works(rt, "after stop calls in a pool callback");
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* A kernel's CPU implementation that waits for its own argument (acquire
 * in every mode and timeout, destroy): each refuses at once, and the
 * buffer is as usable afterwards. */
static void kernel_self_wait(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *k = make_kernel(rt, "self", self_params, 2, k_self);
    fronta_access_t modes[] = {FRONTA_ACCESS_IN, FRONTA_ACCESS_INOUT, FRONTA_ACCESS_OUT};
    static const char *const labels[] = {"kernel on its own argument (IN)",
                                         "kernel on its own argument (INOUT)",
                                         "kernel on its own argument (OUT)"};
    for (int m = 0; m < 3; m++) {
        uint32_t arr[16] = {0};
        fronta_buffer_t *b;
        assert_int_equal(fronta_buffer_wrap(rt, arr, 16, FRONTA_INT32, &b), 0);
        probe_t p;
        probe_init(&p);
        p.rt = rt;
        p.own = b;
        fronta_task_desc_t t =
            task2(k, FRONTA_NEED_CPU_POOL,
                  (fronta_arg_t){.kind = FRONTA_ARG_BUFFER, .access = modes[m], .buffer = b},
                  FRONTA_I64((int64_t)(intptr_t)&p));
        fronta_future_t *f = ft_submit_ok(rt, &t);
        probe_check(&p, labels[m], 0);
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
        void *h = NULL;
        assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &h), 0);
        assert_ptr_equal(h, arr);
        assert_int_equal(fronta_buffer_release(b), 0);
        assert_int_equal(fronta_buffer_destroy(b), 0);
    }
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* On a device driver thread (a callback on the waiter), every wait that
 * would block refuses; a wait whose condition holds still succeeds. */
static void cb_probe_waits(fronta_future_t *f, void *ud)
{
    (void)f;
    probe_t *p = ud;
    int64_t v = 0; /* p->done's result */
    size_t nd = 0;
    fronta_future_t *one[1] = {p->pending};
    fronta_future_t *two[2] = {p->done, p->pending};
    fronta_future_t *got = NULL;
    PROBE(p, 0, AT_ONCE, fronta_future_wait(p->done, 1.0));
    PROBE(p, FRONTA_ETIMEDOUT, AT_ONCE, fronta_future_wait(p->pending, 0));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_future_wait(p->pending, 1.0));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_future_wait(p->pending, -1));
    PROBE(p, 0, AT_ONCE, fronta_future_result(p->done, 1.0, &v, sizeof v));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_future_result(p->pending, 1.0, &v, sizeof v));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_wait(one, 1, 1.0, FRONTA_ALL_COMPLETED, &nd));
    PROBE(p, FRONTA_ETIMEDOUT, AT_ONCE, fronta_wait(one, 1, 0, FRONTA_ALL_COMPLETED, &nd));
    PROBE(p, 0, AT_ONCE, fronta_wait(two, 2, 1.0, FRONTA_FIRST_COMPLETED, &nd));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_wait(two, 2, 1.0, FRONTA_ALL_COMPLETED, &nd));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_as_completed_next(p->ac_pending, 1.0, &got));
    PROBE(p, FRONTA_ETIMEDOUT, AT_ONCE, fronta_as_completed_next(p->ac_pending, 0, &got));
    PROBE(p, 0, AT_ONCE, fronta_as_completed_next(p->ac_done, 1.0, &got));
    fronta_future_release(got);
    PROBE(p, FRONTA_EEMPTY, AT_ONCE, fronta_as_completed_next(p->ac_done, 1.0, &got));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(p->idle, FRONTA_ACCESS_IN, 1.0, NULL));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(p->idle, FRONTA_ACCESS_OUT, -1, NULL));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_destroy(p->idle));
    probe_finish(p);
}

static void waits_on_driver_thread(void **state)
{
    (void)state;
    int cl;
    fronta_runtime_t *rt = runtime_cl(2, &cl);
    fronta_kernel_t *nop = make_kernel(rt, "nop_drv", nop_params, 1, k_nop);
    probe_t p;
    probe_init(&p);
    p.rt = rt;
    /* Pending: a pool kernel behind a host access the main thread holds. */
    uint32_t hold_arr[8] = {0}, idle_arr[8] = {0}, dev_arr[64] = {0};
    fronta_buffer_t *hold, *dev;
    assert_int_equal(fronta_buffer_wrap(rt, hold_arr, 8, FRONTA_INT32, &hold), 0);
    assert_int_equal(fronta_buffer_wrap(rt, idle_arr, 8, FRONTA_INT32, &p.idle), 0);
    assert_int_equal(fronta_buffer_wrap(rt, dev_arr, 64, FRONTA_INT32, &dev), 0);
    assert_int_equal(fronta_buffer_acquire(hold, FRONTA_ACCESS_OUT, FT_LIMIT, NULL), 0);
    fronta_task_desc_t t = task1(nop, FRONTA_NEED_CPU_POOL, FRONTA_IN(hold));
    p.pending = ft_submit_ok(rt, &t);
    int64_t x = 5;
    assert_int_equal(fronta_submit_fn(rt, ft_square_task, &x, sizeof x, &p.done), 0);
    ft_wait(p.done);
    fronta_future_retain(p.pending);
    assert_int_equal(fronta_as_completed_create(rt, &p.pending, 1, &p.ac_pending), 0);
    fronta_future_retain(p.done);
    assert_int_equal(fronta_as_completed_create(rt, &p.done, 1, &p.ac_done), 0);
    fronta_future_t *f = cl_task_with_callback(rt, cl, dev, cb_probe_waits, &p);
    probe_check(&p, "waits in a callback on the waiter thread", 0);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_release(hold), 0);
    FT_EXPECT_OUTCOME(p.pending, 0);
    fronta_as_completed_destroy(p.ac_pending);
    fronta_as_completed_destroy(p.ac_done);
    fronta_future_release(p.pending);
    fronta_future_release(p.done);
    assert_int_equal(fronta_buffer_destroy(hold), 0);
    assert_int_equal(fronta_buffer_destroy(p.idle), 0);
    assert_int_equal(fronta_buffer_destroy(dev), 0);
    runtime_works(rt, "after waits on the waiter thread");
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- 5. polls that piled up accesses ---------------------------------- */

/* A writer that holds b at a gate: a pool kernel, running. */
static fronta_future_t *gated_writer(fronta_runtime_t *rt, fronta_buffer_t *b, ft_gate_t *g)
{
    fronta_kernel_t *k = NULL;
    if (fronta_kernel_find(rt, "gate", &k) != 0)
        k = make_kernel(rt, "gate", gate_params, 2, k_gate);
    fronta_task_desc_t t = task2(k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b),
                                 FRONTA_I64((int64_t)(intptr_t)g));
    int before = atomic_load(&g->started);
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_SPIN_UNTIL(atomic_load(&g->started) > before);
    assert_true(atomic_load(&g->started) > before);
    return f;
}

/* The stack size of the pool worker that runs a task (0 when unknown):
 * ctest runs the polls_* tests again with OMP_STACKSIZE=256K, so that the
 * completions below run on small stacks too. */
static int stack_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    size_t size = 0;
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        if (pthread_attr_getstacksize(&a, &size))
            size = 0;
        pthread_attr_destroy(&a);
    }
    (void)arg;
    return fronta_ctx_return(ctx, &size, sizeof size);
}

static void print_pool_stack(fronta_runtime_t *rt)
{
    fronta_future_t *f = NULL;
    size_t size = 0;
    assert_int_equal(fronta_submit_fn(rt, stack_task, NULL, 0, &f), 0);
    assert_int_equal(fronta_future_result(f, FT_LIMIT, &size, sizeof size), 0);
    fronta_future_release(f);
    const char *env = getenv("OMP_STACKSIZE");
    print_message("[ info     ] pool workers run on %zu KiB stacks (OMP_STACKSIZE=%s)\n",
                  size / 1024, env ? env : "unset");
}

/* Poll b `n` times with timeout 0 while its writer runs, alternating
 * modes as `modes` says (1: INOUT only; 2: IN, INOUT, IN, ...). Returns
 * the number of polls that did not time out. */
static size_t poll_buffer(fronta_buffer_t *b, size_t n, int modes, int *first_bad)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        fronta_access_t m = modes == 1 ? FRONTA_ACCESS_INOUT
                                       : (i % 2 ? FRONTA_ACCESS_INOUT : FRONTA_ACCESS_IN);
        void *h = NULL;
        int rc = fronta_buffer_acquire(b, m, 0, &h);
        if (rc != FRONTA_ETIMEDOUT && bad++ == 0)
            *first_bad = rc;
    }
    return bad;
}

/* A second acquire while the first is held is refused, and leaves the
 * holder's access alone: release ends it, and nothing is left waiting
 * (found by the fuzzer: the refused call cleared the holder's access,
 * release then ended nothing and wait_all hung). */
static void acquire_busy_keeps_holder(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_create(rt, 1, FRONTA_UINT8, &b), 0);
    void *h = NULL;
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, 0, &h), 0);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, 0, &h), FRONTA_EBUSY);
    FT_EXPECT_RC(fronta_buffer_release(b), 0);
    FT_EXPECT_RC(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    FT_EXPECT_RC(fronta_buffer_destroy(b), 0);
    FT_EXPECT_RC(fronta_runtime_destroy(rt), 0);
}

static int noop_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

static void count_cb(fronta_future_t *f, void *ud)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ud, 1);
}

/* Cancel racing a worker that pops the task and finds it claimed: the
 * completion list must still be closed, so that a callback added after
 * the cancel runs at once and a dependent submitted after it is
 * cancelled too (found by the fuzzer: they were never run). */
static void cancel_race_closes_list(void **state)
{
    (void)state;
    /* Two workers: one pops f while this thread cancels it. */
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "cpu"};
    fronta_runtime_t *rt = runtime_cfg(&cfg);
    long cancelled = 0, lost_cb = 0, lost_dep = 0;
    for (long i = 0; i < 200000 && cancelled < 20000; i++) {
        fronta_future_t *f = NULL, *d = NULL;
        assert_int_equal(fronta_submit_fn(rt, noop_fn, NULL, 0, &f), 0);
        if (fronta_future_cancel(f) == 0) {
            cancelled++;
            atomic_int ran = 0;
            assert_int_equal(fronta_future_add_done_callback(f, count_cb, &ran), 0);
            lost_cb += atomic_load(&ran) != 1;
            fronta_call_t c = {.size = sizeof c, .fn = noop_fn, .after = &f, .nafter = 1};
            assert_int_equal(fronta_submit_call(rt, &c, &d), 0);
            lost_dep += fronta_future_wait(d, FT_LIMIT) != 0;
            fronta_future_release(d);
        }
        fronta_future_release(f);
    }
    print_message("[ info     ] %ld cancelled: %ld callbacks and %ld dependents lost\n",
                  cancelled, lost_cb, lost_dep);
    assert_int_equal(lost_cb, 0);
    assert_int_equal(lost_dep, 0);
    FT_EXPECT_RC(fronta_runtime_destroy(rt), 0);
}

/* A NaN timeout polls (found by the fuzzer: the conversion of NaN to a
 * deadline is undefined, and on x86 gave one 292 years away). */
static void nan_timeout_polls(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *f = ft_gate_submit(rt, &g);
    double t0 = ft_now();
    FT_EXPECT_RC(fronta_future_wait(f, NAN), FRONTA_ETIMEDOUT);
    FT_EXPECT_RC(fronta_runtime_wait_all(rt, NAN), FRONTA_ETIMEDOUT);
    size_t ndone = 1;
    FT_EXPECT_RC(fronta_wait(&f, 1, NAN, FRONTA_ALL_COMPLETED, &ndone), FRONTA_ETIMEDOUT);
    assert_int_equal(ndone, 0);
    fronta_buffer_t *b = NULL;
    void *h = NULL;
    assert_int_equal(fronta_buffer_create(rt, 4, FRONTA_INT32, &b), 0);
    fronta_kernel_t *k = make_kernel(rt, "gate_nan", gate_params, 2, k_gate);
    fronta_task_desc_t t = task2(k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b),
                                 FRONTA_I64((int64_t)(intptr_t)&g));
    fronta_future_t *w = ft_submit_ok(rt, &t);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, NAN, &h), FRONTA_ETIMEDOUT);
    double secs = ft_now() - t0;
    ft_gate_open(&g);
    /* A bound on a hang, not a speed claim: each call above polls. */
    if (secs > 5.0)
        fail_msg("NaN timeouts waited %.1f s in all", secs);
    FT_EXPECT_OUTCOME(f, 0);
    FT_EXPECT_OUTCOME(w, 0);
    fronta_future_release(f);
    fronta_future_release(w);
    FT_EXPECT_RC(fronta_buffer_destroy(b), 0);
    FT_EXPECT_RC(fronta_runtime_destroy(rt), 0);
}

static int fail_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return FRONTA_ETASK;
}

/* T3 = scale(b) after a gated task, T4 = scale(b) after a failing task
 * (or cancelled): T4 never runs, but it completes only after T3, which it
 * follows on b -- else fronta_buffer_destroy, which waits for b's last
 * writer T4, freed b under T3 (found by the fuzzer; ASan sees it). */
static void early_failure_keeps_order(void **state)
{
    (void)state;
    for (int cancel = 0; cancel <= 1; cancel++) {
        fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "cpu"};
        fronta_runtime_t *rt = runtime_cfg(&cfg);
        fronta_buffer_t *b = NULL;
        assert_int_equal(fronta_buffer_create(rt, 2, FRONTA_FLOAT, &b), 0);
        fronta_kernel_t *k = fronta_kernel_builtin(rt, "scale");
        ft_gate_t g;
        ft_gate_init(&g, 0);
        fronta_future_t *slow = ft_gate_submit(rt, &g), *bad = NULL, *held = NULL;
        if (cancel) /* T4 waits for this one, and is cancelled meanwhile */
            held = ft_gate_submit(rt, &g);
        else
            assert_int_equal(fronta_submit_fn(rt, fail_fn, NULL, 0, &bad), 0);
        fronta_task_desc_t d3 = {.size = sizeof d3, .kernel = k,
                                 .args = {FRONTA_INOUT(b), FRONTA_F32(2)}, .nargs = 2,
                                 .after = &slow, .nafter = 1};
        fronta_task_desc_t d4 = d3;
        d4.args[1] = FRONTA_F32(3);
        d4.after = cancel ? &held : &bad;
        fronta_future_t *t3 = ft_submit_ok(rt, &d3), *t4 = ft_submit_ok(rt, &d4);
        if (cancel)
            FT_EXPECT_RC(fronta_future_cancel(t4), 0);
        /* T4 is not done before T3, which is held at the gate. */
        FT_EXPECT_RC(fronta_future_wait(t4, 0.2), FRONTA_ETIMEDOUT);
        assert_false(fronta_future_done(t3));
        ft_gate_open(&g);
        FT_EXPECT_OUTCOME(t4, cancel ? FRONTA_ECANCELLED : FRONTA_EDEPFAILED);
        FT_EXPECT_RC(fronta_buffer_destroy(b), 0); /* waits for T3 too */
        assert_true(fronta_future_done(t3));
        FT_EXPECT_OUTCOME(t3, 0);
        fronta_future_release(slow);
        fronta_future_release(cancel ? held : bad);
        fronta_future_release(t3);
        fronta_future_release(t4);
        FT_EXPECT_RC(fronta_runtime_destroy(rt), 0);
    }
}

/* A kernel that waits at its gate, then fails. */
static int k_gate_fail(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    k_gate(ctx, a, na, n);
    return FRONTA_ETASK;
}

/* An OUT poll that timed out ends by itself once the failed writer before
 * it is done, having written nothing: the failure must still be b's (an
 * IN acquire reports it), not be cleared as by an OUT access that ran. */
static void abandoned_poll_keeps_failure(fronta_access_t poll_mode)
{
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    int32_t x[16] = {0};
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_wrap(rt, x, 16, FRONTA_INT32, &b), 0);
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_kernel_t *k = make_kernel(rt, "gate_fail", gate_params, 2, k_gate_fail);
    fronta_task_desc_t t = task2(k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b),
                                 FRONTA_I64((int64_t)(intptr_t)&g));
    fronta_future_t *w = ft_submit_ok(rt, &t);
    FT_SPIN_UNTIL(atomic_load(&g.started) > 0);
    void *h = NULL;
    FT_EXPECT_RC(fronta_buffer_acquire(b, poll_mode, 0, &h), FRONTA_ETIMEDOUT);
    ft_gate_open(&g);
    FT_EXPECT_OUTCOME(w, FRONTA_ETASK);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &h), FRONTA_ETASK);
    /* An OUT access that is granted overwrites b: the failure is gone. */
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &h), 0);
    FT_EXPECT_RC(fronta_buffer_release(b), 0);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
    FT_EXPECT_RC(fronta_buffer_release(b), 0);
    fronta_future_release(w);
    FT_EXPECT_RC(fronta_buffer_destroy(b), 0);
    FT_EXPECT_RC(fronta_runtime_destroy(rt), 0);
}

/* OUT and INOUT polls alike: neither wrote, so the IN acquire after them
 * reports the writer's own code, not FRONTA_EDEPFAILED (the INOUT poll is
 * failed by the writer it waited for; found by the fuzzer). */
static void abandoned_out_keeps_writer_failure(void **state)
{
    (void)state;
    abandoned_poll_keeps_failure(FRONTA_ACCESS_OUT);
    abandoned_poll_keeps_failure(FRONTA_ACCESS_INOUT);
}

/* 200000 INOUT polls while a writer runs, then the writer ends: no crash,
 * everything completes, a final acquire succeeds. */
static void polls_inout_then_complete(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    print_pool_stack(rt);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, 16, FRONTA_INT32, &b), 0);
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *w = gated_writer(rt, b, &g);
    int first_bad = 0;
    double t0 = ft_now();
    size_t bad = poll_buffer(b, 200000, 1, &first_bad);
    print_message("[ info     ] 200000 INOUT polls in %.3f s\n", ft_now() - t0);
    if (bad)
        fail_msg("%zu polls did not time out (first: %s)", bad, fronta_err_name(first_bad));
    ft_gate_open(&g);
    FT_EXPECT_OUTCOME(w, 0);
    fronta_future_release(w);
    void *h = NULL;
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &h), 0);
    assert_non_null(h);
    assert_int_equal(fronta_buffer_release(b), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_false(atomic_load(&g.expired));
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* 100000 polls alternating IN and INOUT: each one is an access of its
 * own (a mode change cannot take over the last), 100000 in a chain; the
 * writer's completion ends them all, on the pool worker. */
static void polls_alternating_then_complete(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    print_pool_stack(rt);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, 16, FRONTA_INT32, &b), 0);
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *w = gated_writer(rt, b, &g);
    int first_bad = 0;
    size_t bad = poll_buffer(b, 100000, 2, &first_bad);
    if (bad)
        fail_msg("%zu polls did not time out (first: %s)", bad, fronta_err_name(first_bad));
    ft_gate_open(&g);
    FT_EXPECT_OUTCOME(w, 0);
    fronta_future_release(w);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, NULL), 0);
    assert_int_equal(fronta_buffer_release(b), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* The same chain, polled and completed on a thread with a 256 KiB stack:
 * the writer waits for a plain task that this thread cancels, so the
 * cancellation of the writer and the end of every access run here (the
 * failure path: the writer and the INOUT accesses fail, the IN ones end). */
typedef struct small_stack {
    fronta_buffer_t *b;
    fronta_future_t *p; /* the writer's input, pending */
    atomic_size_t bad;
    atomic_int first_bad, cancel_rc, final_rc, done;
} small_stack_t;

static void *small_stack_main(void *arg)
{
    small_stack_t *s = arg;
    int first_bad = 0;
    atomic_store(&s->bad, poll_buffer(s->b, 100000, 2, &first_bad));
    atomic_store(&s->first_bad, first_bad);
    atomic_store(&s->cancel_rc, fronta_future_cancel(s->p));
    /* OUT: the writer was cancelled, and an OUT access overwrites. */
    int rc = fronta_buffer_acquire(s->b, FRONTA_ACCESS_OUT, FT_LIMIT, NULL);
    if (rc == 0)
        rc = fronta_buffer_release(s->b);
    atomic_store(&s->final_rc, rc);
    atomic_store(&s->done, 1);
    return NULL;
}

static void polls_cancelled_on_small_stack(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *nop = make_kernel(rt, "nop_ss", nop_params, 1, k_nop);
    small_stack_t s;
    memset(&s, 0, sizeof s);
    atomic_init(&s.bad, 0);
    atomic_init(&s.first_bad, 0);
    atomic_init(&s.cancel_rc, 99);
    atomic_init(&s.final_rc, 99);
    atomic_init(&s.done, 0);
    assert_int_equal(fronta_buffer_create(rt, 16, FRONTA_INT32, &s.b), 0);
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *gf = ft_gate_submit(rt, &g);
    atomic_int count = 0;
    atomic_int *cp = &count;
    fronta_call_t c = {.size = sizeof c, .fn = ft_count_task, .arg = &cp, .arg_size = sizeof cp,
                       .after = &gf, .nafter = 1};
    assert_int_equal(fronta_submit_call(rt, &c, &s.p), 0);
    fronta_task_desc_t t = task1(nop, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(s.b));
    t.after = &s.p;
    t.nafter = 1;
    fronta_future_t *w = ft_submit_ok(rt, &t);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    assert_int_equal(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, &attr, small_stack_main, &s), 0);
    pthread_attr_destroy(&attr);
    FT_SPIN_UNTIL(atomic_load(&s.done));
    if (!atomic_load(&s.done))
        fail_msg("the small-stack thread did not finish within %.0f s", FT_LIMIT);
    pthread_join(th, NULL);
    if (atomic_load(&s.bad))
        fail_msg("%zu polls did not time out (first: %s)", (size_t)atomic_load(&s.bad),
                 fronta_err_name(atomic_load(&s.first_bad)));
    FT_EXPECT_RC(atomic_load(&s.cancel_rc), 0);
    FT_EXPECT_RC(atomic_load(&s.final_rc), 0);
    assert_int_equal(fronta_future_status(w), FRONTA_CANCELLED);
    ft_gate_open(&g);
    ft_wait(gf);
    assert_int_equal(atomic_load(&count), 0);
    fronta_future_release(gf);
    fronta_future_release(s.p);
    fronta_future_release(w);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_buffer_destroy(s.b), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- 6. quadratic registration ---------------------------------------- */

/* One writer submitted after n readers that still wait (behind a host
 * access): its dependencies are deduplicated in O(n). The time is printed
 * for the record, never asserted (speed lives in bench/); n is chosen so
 * that the old O(n^2) search overran this test's ctest TIMEOUT. */
static double writer_after_readers(size_t n)
{
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *nop = make_kernel(rt, "nop_q", nop_params, 1, k_nop);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, 4, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, NULL), 0);
    fronta_task_desc_t r = task1(nop, FRONTA_NEED_CPU_POOL, FRONTA_IN(b));
    for (size_t i = 0; i < n; i++) {
        int rc = fronta_submit(rt, &r, NULL);
        if (rc)
            fail_msg("reader %zu of %zu: %s", i, n, fronta_err_name(rc));
    }
    fronta_task_desc_t w = task1(nop, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b));
    fronta_future_t *f = NULL;
    double t0 = ft_now();
    int rc = fronta_submit(rt, &w, &f);
    double dt = ft_now() - t0;
    FT_EXPECT_RC(rc, 0);
    print_message("[ figure   ] one writer submitted after %zu waiting readers: %.6f s\n", n,
                  dt);
    assert_int_equal(fronta_buffer_release(b), 0);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    return dt;
}

static void quadratic_writer_after_readers(void **state)
{
    (void)state;
    writer_after_readers(100000); /* the figure to compare: 4.1 s before */
    /* 400000 took about 65 s before (O(n^2)), past this test's TIMEOUT
     * (60 s); sanitizer builds take a quarter, whose old cost (100000 took
     * 100 s under ASan) is past it too. */
    writer_after_readers(ft_scaled(400000, 100000));
}

typedef struct opener {
    ft_gate_t *g;
    atomic_int *go;
} opener_t;

static void *open_later(void *arg)
{
    opener_t *o = arg;
    FT_SPIN_UNTIL(atomic_load(o->go));
    double until = ft_now() + 0.05;
    while (ft_now() < until)
        sched_yield();
    ft_gate_open(o->g);
    return NULL;
}

/* Destroy after 200000 timed-out IN polls, called while the writer still
 * runs (another thread lets it end 50 ms later). */
static void quadratic_destroy_after_polls(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, 16, FRONTA_INT32, &b), 0);
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *w = gated_writer(rt, b, &g);
    size_t bad = 0;
    int first_bad = 0;
    for (size_t i = 0; i < 200000; i++) {
        int rc = fronta_buffer_acquire(b, FRONTA_ACCESS_IN, 0, NULL);
        if (rc != FRONTA_ETIMEDOUT && bad++ == 0)
            first_bad = rc;
    }
    if (bad)
        fail_msg("%zu polls did not time out (first: %s)", bad, fronta_err_name(first_bad));
    atomic_int go = 0;
    opener_t o = {.g = &g, .go = &go};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, open_later, &o), 0);
    double t0 = ft_now();
    atomic_store(&go, 1);
    int rc = fronta_buffer_destroy(b);
    double dt = ft_now() - t0;
    pthread_join(th, NULL);
    FT_EXPECT_RC(rc, 0);
    print_message("[ figure   ] destroy after 200000 timed-out IN polls, writer running: "
                  "%.6f s (of which 0.05 s is the writer's remaining run)\n", dt);
    FT_EXPECT_OUTCOME(w, 0);
    fronta_future_release(w);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- 7. buffer destroy racing shutdown -------------------------------- */

enum { RACE_BUFS = 3, RACE_MAXN = 4099 };

typedef struct race {
    fronta_runtime_t *rt;
    fronta_buffer_t *b[RACE_BUFS];
    double delay_destroy, delay_shutdown; /* seconds after `go` */
    atomic_int go;
    atomic_int destroy_rc[RACE_BUFS];
    atomic_int shutdown_rc;
    atomic_int finished; /* threads done */
} race_t;

static void pause_for(double secs)
{
    double until = ft_now() + secs;
    while (ft_now() < until)
        sched_yield();
}

static void *race_destroy(void *arg)
{
    race_t *r = arg;
    FT_SPIN_UNTIL(atomic_load(&r->go));
    pause_for(r->delay_destroy);
    for (int i = 0; i < RACE_BUFS; i++)
        atomic_store(&r->destroy_rc[i], fronta_buffer_destroy(r->b[i]));
    atomic_fetch_add(&r->finished, 1);
    return NULL;
}

static void *race_shutdown(void *arg)
{
    race_t *r = arg;
    FT_SPIN_UNTIL(atomic_load(&r->go));
    pause_for(r->delay_shutdown);
    atomic_store(&r->shutdown_rc, fronta_runtime_shutdown(r->rt, FRONTA_SHUTDOWN_WAIT));
    atomic_fetch_add(&r->finished, 1);
    return NULL;
}

/* Submit a random chain of device kernels over the buffers; the model
 * follows it in submission order (the order of accesses per buffer). */
static void race_submit(fronta_runtime_t *rt, ft_kernels_t *k, int cl, fronta_buffer_t **b,
                        uint32_t **model, size_t n, uint64_t *seed)
{
    int ntasks = 1 + (int)(ft_rand(seed) % 24);
    for (int t = 0; t < ntasks; t++) {
        int i = (int)(ft_rand(seed) % RACE_BUFS), j = (int)(ft_rand(seed) % RACE_BUFS);
        fronta_task_desc_t d;
        if (i == j || ft_rand(seed) % 2) {
            int32_t c = (int32_t)(ft_rand(seed) % 1000);
            d = task2(k->add_const, FRONTA_NEED_DEVICE, FRONTA_INOUT(b[i]), FRONTA_I32(c));
            for (size_t e = 0; e < n; e++)
                model[i][e] = ft_model_add_const(model[i][e], c, e);
        } else {
            d = task2(k->add_into, FRONTA_NEED_DEVICE, FRONTA_IN(b[i]), FRONTA_INOUT(b[j]));
            for (size_t e = 0; e < n; e++)
                model[j][e] += model[i][e];
        }
        d.needs.device_id = cl;
        int rc = fronta_submit(rt, &d, NULL);
        if (rc)
            fail_msg("race submit %d: %s", t, fronta_err_name(rc));
    }
}

static void destroy_races_shutdown(void **state)
{
    (void)state;
    int cl;
    fronta_runtime_t *probe_rt = runtime_cl(1, &cl);
    fronta_runtime_destroy(probe_rt);
    uint64_t seed = ft_seed("destroy_races_shutdown");
    static uint32_t arr[RACE_BUFS][RACE_MAXN], mod[RACE_BUFS][RACE_MAXN];
    for (int it = 0; it < 50; it++) {
        int zc = it % 2 ? -1 : 0;
        fronta_runtime_t *rt = ft_runtime_dev("all", zc);
        cl = ft_cl_device(rt, 0);
        assert_true(cl >= 0);
        ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_CL);
        size_t n = 1 + (size_t)(ft_rand(&seed) % RACE_MAXN);
        race_t r;
        memset(&r, 0, sizeof r);
        r.rt = rt;
        uint32_t *model[RACE_BUFS];
        for (int i = 0; i < RACE_BUFS; i++) {
            for (size_t e = 0; e < n; e++)
                arr[i][e] = mod[i][e] = (uint32_t)ft_rand(&seed);
            model[i] = mod[i];
            assert_int_equal(fronta_buffer_wrap(rt, arr[i], n, FRONTA_INT32, &r.b[i]), 0);
            atomic_init(&r.destroy_rc[i], 99);
        }
        atomic_init(&r.go, 0);
        atomic_init(&r.shutdown_rc, 99);
        atomic_init(&r.finished, 0);
        race_submit(rt, &k, cl, r.b, model, n, &seed);
        r.delay_destroy = (double)(ft_rand(&seed) % 3000) * 1e-6;
        r.delay_shutdown = (double)(ft_rand(&seed) % 3000) * 1e-6;
        pthread_t td, ts;
        assert_int_equal(pthread_create(&td, NULL, race_destroy, &r), 0);
        assert_int_equal(pthread_create(&ts, NULL, race_shutdown, &r), 0);
        atomic_store(&r.go, 1);
        FT_SPIN_UNTIL(atomic_load(&r.finished) == 2);
        if (atomic_load(&r.finished) != 2)
            fail_msg("iteration %d: destroy or shutdown did not return within %.0f s", it,
                     FT_LIMIT);
        pthread_join(td, NULL);
        pthread_join(ts, NULL);
        FT_EXPECT_RC(atomic_load(&r.shutdown_rc), 0);
        for (int i = 0; i < RACE_BUFS; i++) {
            int rc = atomic_load(&r.destroy_rc[i]);
            if (rc != 0)
                fail_msg("iteration %d (zero_copy %d, delays %.0f/%.0f us): destroy of "
                         "buffer %d returned %s", it, zc, r.delay_destroy * 1e6,
                         r.delay_shutdown * 1e6, i, fronta_err_name(rc));
            for (size_t e = 0; e < n; e++)
                if (arr[i][e] != mod[i][e])
                    fail_msg("iteration %d (zero_copy %d, delays %.0f/%.0f us): buffer %d "
                             "element %zu of %zu is %u, expected %u", it, zc,
                             r.delay_destroy * 1e6, r.delay_shutdown * 1e6, i, e, n,
                             arr[i][e], mod[i][e]);
        }
        assert_int_equal(fronta_runtime_destroy(rt), 0);
    }
}

/* After shutdown a buffer is a host array: acquire returns it at once,
 * holding the device's last results; destroy leaves them in the array. */
static void destroy_after_shutdown(void **state)
{
    (void)state;
    for (int zc = 0; zc >= -1; zc--) {
        int cl;
        fronta_runtime_t *rt = runtime_cl(2, &cl);
        fronta_runtime_destroy(rt);
        rt = ft_runtime_dev("all", zc);
        cl = ft_cl_device(rt, 0);
        ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_CL);
        enum { N = 1021 };
        static uint32_t a[N], b_arr[N];
        uint32_t ma[N], mb[N];
        for (size_t i = 0; i < N; i++) {
            a[i] = ma[i] = (uint32_t)i;
            b_arr[i] = mb[i] = 7u * (uint32_t)i;
        }
        fronta_buffer_t *ba, *bb;
        assert_int_equal(fronta_buffer_wrap(rt, a, N, FRONTA_INT32, &ba), 0);
        assert_int_equal(fronta_buffer_wrap(rt, b_arr, N, FRONTA_INT32, &bb), 0);
        for (int t = 0; t < 5; t++) {
            fronta_task_desc_t d = task2(k.add_const, FRONTA_NEED_DEVICE, FRONTA_INOUT(ba),
                                         FRONTA_I32(t + 1));
            d.needs.device_id = cl;
            assert_int_equal(fronta_submit(rt, &d, NULL), 0);
            fronta_task_desc_t e = task2(k.add_into, FRONTA_NEED_DEVICE, FRONTA_IN(ba),
                                         FRONTA_INOUT(bb));
            e.needs.device_id = cl;
            assert_int_equal(fronta_submit(rt, &e, NULL), 0);
            for (size_t i = 0; i < N; i++) {
                ma[i] = ft_model_add_const(ma[i], t + 1, i);
                mb[i] += ma[i];
            }
        }
        FT_EXPECT_RC(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
        void *h = NULL;
        FT_EXPECT_RC(fronta_buffer_acquire(bb, FRONTA_ACCESS_IN, 0, &h), 0);
        assert_ptr_equal(h, b_arr);
        assert_int_equal(fronta_buffer_release(bb), 0);
        FT_EXPECT_RC(fronta_buffer_destroy(ba), 0);
        FT_EXPECT_RC(fronta_buffer_destroy(bb), 0);
        assert_memory_equal(a, ma, sizeof ma);
        assert_memory_equal(b_arr, mb, sizeof mb);
        assert_int_equal(fronta_runtime_destroy(rt), 0);
    }
}

/* ---- 8. nested random streams ----------------------------------------- */

enum { TREE_FAN = 8, TREE_NODES = 8 + 64 + 512 };

typedef struct tree {
    atomic_uint_least64_t draw[TREE_NODES];
    atomic_uint_least64_t key[TREE_NODES];
    atomic_int submit_errors;
} tree_t;

typedef struct tree_arg {
    tree_t *t;
    int level, index; /* index in draw/key; the path is its digits in base 8 */
} tree_arg_t;

static int first_child(int level, int index)
{
    /* Level 0 holds 0..7, level 1 8..71, level 2 72..583. */
    return level == 0 ? 8 + index * TREE_FAN : 72 + (index - 8) * TREE_FAN;
}

static int tree_task(fronta_ctx_t *ctx, void *arg)
{
    tree_arg_t a;
    memcpy(&a, arg, sizeof a);
    atomic_store(&a.t->draw[a.index], fronta_ctx_random(ctx));
    if (a.level == 2)
        return 0;
    for (int c = 0; c < TREE_FAN; c++) {
        tree_arg_t ca = {a.t, a.level + 1, first_child(a.level, a.index) + c};
        fronta_future_t *f = NULL;
        if (fronta_submit_fn(fronta_ctx_runtime(ctx), tree_task, &ca, sizeof ca, &f)) {
            atomic_fetch_add(&a.t->submit_errors, 1);
            continue;
        }
        atomic_store(&a.t->key[ca.index], fronta_future_key(f));
        fronta_future_release(f);
    }
    return 0;
}

static void grow_tree(tree_t *t, uint64_t seed, int threads)
{
    memset(t, 0, sizeof *t);
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = threads, .devices = "cpu",
                           .seed = seed};
    fronta_runtime_t *rt = runtime_cfg(&cfg);
    for (int i = 0; i < TREE_FAN; i++) {
        tree_arg_t a = {t, 0, i};
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_fn(rt, tree_task, &a, sizeof a, &f), 0);
        atomic_store(&t->key[i], fronta_future_key(f));
        fronta_future_release(f);
    }
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    assert_int_equal(atomic_load(&t->submit_errors), 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void path_of(int index, char *buf, size_t size)
{
    if (index < 8)
        snprintf(buf, size, "%d", index);
    else if (index < 72)
        snprintf(buf, size, "%d.%d", (index - 8) / 8, (index - 8) % 8);
    else
        snprintf(buf, size, "%d.%d.%d", (index - 72) / 64, (index - 72) / 8 % 8,
                 (index - 72) % 8);
}

/* Index of the other task whose first draw equals task i's, or -1. */
static int same_draw(const tree_t *t, const uint64_t *sorted, int i)
{
    uint64_t d = atomic_load(&t->draw[i]);
    const uint64_t *hit = bsearch(&d, sorted, TREE_NODES, sizeof *sorted, cmp_u64);
    if (!hit || !((hit > sorted && hit[-1] == d) ||
                  (hit < sorted + TREE_NODES - 1 && hit[1] == d)))
        return -1;
    for (int j = 0; j < TREE_NODES; j++)
        if (j != i && atomic_load(&t->draw[j]) == d)
            return j;
    return -1;
}

static void nested_random_streams(void **state)
{
    (void)state;
    uint64_t seed = ft_seed("nested_random_streams") | 1;
    static tree_t t1, t2, t3;
    grow_tree(&t1, seed, 4);
    /* Pairwise distinct first draws; no key is the "automatic" 0. Every
     * offender is listed before the test fails. */
    static uint64_t sorted[TREE_NODES];
    int zero_keys = 0, dups = 0;
    for (int i = 0; i < TREE_NODES; i++)
        sorted[i] = atomic_load(&t1.draw[i]);
    qsort(sorted, TREE_NODES, sizeof sorted[0], cmp_u64);
    for (int i = 0; i < TREE_NODES; i++) {
        char p[16], q[16];
        path_of(i, p, sizeof p);
        if (atomic_load(&t1.key[i]) == 0 && zero_keys++ < 8)
            print_error("task %s has key 0\n", p);
        int j = same_draw(&t1, sorted, i);
        if (j > i) {
            path_of(j, q, sizeof q);
            if (dups++ < 8)
                print_error("tasks %s and %s draw the same first value %016llx\n", p, q,
                            (unsigned long long)atomic_load(&t1.draw[i]));
        }
    }
    if (zero_keys || dups)
        fail_msg("%d of %d tasks have key 0, %d pairs share a first draw", zero_keys,
                 TREE_NODES, dups);
    /* Reproducible: the same seed gives the same draw and key per path,
     * whatever the number of threads. */
    grow_tree(&t2, seed, 4);
    grow_tree(&t3, seed, 1);
    for (int i = 0; i < TREE_NODES; i++) {
        char p[16];
        path_of(i, p, sizeof p);
        if (atomic_load(&t2.draw[i]) != atomic_load(&t1.draw[i]) ||
            atomic_load(&t3.draw[i]) != atomic_load(&t1.draw[i]))
            fail_msg("task %s: first draws differ between runs with the same seed", p);
        if (atomic_load(&t2.key[i]) != atomic_load(&t1.key[i]) ||
            atomic_load(&t3.key[i]) != atomic_load(&t1.key[i]))
            fail_msg("task %s: keys differ between runs with the same seed", p);
    }
}

/* ---- 9. positive task codes ------------------------------------------- */

static int ret7_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 7;
}

static void expect_etask_7(fronta_future_t *f, const char *what)
{
    int rc = fronta_future_result(f, FT_LIMIT, NULL, 0);
    if (rc != FRONTA_ETASK)
        fail_msg("%s: fronta_future_result returned %d (%s), expected FRONTA_ETASK", what, rc,
                 fronta_err_name(rc));
    assert_true(rc < 0);
    assert_int_equal(fronta_future_status(f), FRONTA_FAILED);
    fronta_error_t e;
    memset(&e, 0, sizeof e);
    assert_int_equal(fronta_future_error(f, &e), FRONTA_ETASK);
    assert_int_equal(e.code, FRONTA_ETASK);
    assert_non_null(e.message);
    if (!strstr(e.message, "7"))
        fail_msg("%s: the message does not mention 7: \"%s\"", what, e.message);
    print_message("[ info     ] %s: \"%s\"\n", what, e.message);
}

static void positive_task_code(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, ret7_task, NULL, 0, &f), 0);
    expect_etask_7(f, "task returning 7");
    fronta_future_release(f);

    fronta_kernel_t *k = make_kernel(rt, "ret7", nop_params, 1, k_ret7);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, 4, FRONTA_INT32, &b), 0);
    fronta_task_desc_t t = task1(k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b));
    f = ft_submit_ok(rt, &t);
    expect_etask_7(f, "kernel returning 7");
    fronta_future_release(f);
    /* The buffer's next reader sees a failed writer, named by its code. */
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, NULL), FRONTA_ETASK);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- 10. FRONTA_INVALID ----------------------------------------------- */

static void status_invalid(void **state)
{
    (void)state;
    /* The usual polling loop ends on a handle that is not a future. */
    fronta_status_t s = FRONTA_PENDING;
    int polls = 0;
    while ((s == FRONTA_PENDING || s == FRONTA_RUNNING) && polls < 1000) {
        s = fronta_future_status(NULL);
        polls++;
    }
    assert_int_equal(s, FRONTA_INVALID);
    assert_int_equal(polls, 1);
    assert_int_equal(fronta_future_status(NULL), FRONTA_INVALID);
    assert_int_equal((int)FRONTA_INVALID, -1);
    /* Not one of the statuses a future has. */
    assert_true(FRONTA_INVALID != FRONTA_PENDING && FRONTA_INVALID != FRONTA_RUNNING &&
                FRONTA_INVALID != FRONTA_FINISHED && FRONTA_INVALID != FRONTA_FAILED &&
                FRONTA_INVALID != FRONTA_CANCELLED);
}

/* ---- 11. the spin_us bound -------------------------------------------- */

static void spin_us_bounds(void **state)
{
    (void)state;
    int bad_values[] = {FRONTA_SPIN_US_MAX + 1, 1000000, INT_MAX};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "cpu",
                               .spin_us = bad_values[i], .log_level = FRONTA_LOG_OFF};
        fronta_runtime_t *rt = (fronta_runtime_t *)&rt;
        int rc = fronta_runtime_create(&cfg, &rt);
        if (rc != FRONTA_EINVAL) {
            if (rc == 0)
                fronta_runtime_destroy(rt);
            fail_msg("spin_us = %d: create returned %s, expected FRONTA_EINVAL", bad_values[i],
                     fronta_err_name(rc));
        }
        assert_null(rt);
    }
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "all",
                           .spin_us = FRONTA_SPIN_US_MAX};
    fronta_runtime_t *rt = runtime_cfg(&cfg);
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        assert_int_equal(fronta_runtime_destroy(rt), 0);
        print_message("[ info     ] no OpenCL device: the device thread's spin is not checked\n");
        return;
    }
    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_CL);
    uint32_t arr[64] = {0};
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, arr, 64, FRONTA_INT32, &b), 0);
    fronta_task_desc_t t = task2(k.add_const, FRONTA_NEED_DEVICE, FRONTA_INOUT(b), FRONTA_I32(1));
    t.needs.device_id = cl;
    fronta_future_t *f = ft_submit_ok(rt, &t); /* builds the program */
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    /* Not a speed claim: the device thread once spun spin_us (here 100 ms)
     * before handing a finished kernel to the waiter, so a lone kernel took
     * at least 100 ms. 50 ms bounds that hang-like delay; the best of three
     * keeps a loaded machine from deciding it. */
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        double t0 = ft_now();
        f = ft_submit_ok(rt, &t);
        FT_EXPECT_OUTCOME(f, 0);
        double dt = ft_now() - t0;
        fronta_future_release(f);
        print_message("[ info     ] one OpenCL kernel with spin_us = %d: %.3f ms\n",
                      FRONTA_SPIN_US_MAX, dt * 1e3);
        if (dt < best)
            best = dt;
    }
    if (best >= 0.050)
        fail_msg("a lone OpenCL kernel took %.1f ms with spin_us = %d (at best of 3): the "
                 "device thread spins past its cap", best * 1e3, FRONTA_SPIN_US_MAX);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* FRONTA_TEST_SKIP=pattern[,pattern...] leaves the matching tests out
 * (ctest runs the quadratic ones and the destroy/shutdown race as tests of
 * their own, under their own TIMEOUTs); cmocka's skip filter takes one
 * pattern, so the list is applied here. Returns the tests kept. */
static size_t skip_filter(struct CMUnitTest *t, size_t n)
{
    const char *skip = getenv("FRONTA_TEST_SKIP");
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int drop = 0;
        for (const char *p = skip; p && *p && !drop;) {
            size_t len = strcspn(p, ",");
            char pat[128];
            snprintf(pat, sizeof pat, "%.*s", (int)len, p);
            drop = fnmatch(pat, t[i].name, 0) == 0;
            p += len + (p[len] == ',');
        }
        if (!drop)
            t[kept++] = t[i];
    }
    return kept;
}

/* ---- a failed input while submit links the edges (found by the fuzzer) -- */

static int ok_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

/* The input fails on a worker while fronta_submit_call is still linking
 * the later edges: the edge that fires used to complete the task at once,
 * releasing the inputs the submitting loop was about to read (a NULL
 * dereference, or a reference dropped twice). */
static void failed_input_during_publish(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    size_t rounds = ft_scaled(40000, 2000);
    for (size_t it = 0; it < rounds; it++) {
        fronta_future_t *p = NULL, *s = NULL;
        assert_int_equal(fronta_submit_fn(rt, fail_fn, NULL, 0, &p), 0);
        fronta_future_t *after[8] = {p, p, p, p, p, p, p, p};
        fronta_call_t c = {.size = sizeof c, .fn = ok_fn, .after = after, .nafter = 8};
        assert_int_equal(fronta_submit_call(rt, &c, (it & 1) ? &s : NULL), 0);
        if (s) {
            assert_int_equal(fronta_future_wait(s, FT_LIMIT), 0);
            assert_int_equal(fronta_future_error(s, NULL), FRONTA_EDEPFAILED);
            fronta_future_release(s);
        }
        fronta_future_release(p);
    }
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    fronta_runtime_destroy(rt);
}

/* ---- 12. model reports after the last completion ------------------------ */

/* The allocator of upload_reports_before_completion: once the kernel's
 * done-callback has named the device's waiter thread (it runs there), the
 * next frees on that thread each wait a little. The waiter reports a
 * batch's finished uploads to the transfer models and frees each record;
 * if it did so after completing the batch (the bug), shutdown, which saw
 * the runtime idle, closes the models meanwhile and the next report reads
 * them freed: ASan and TSan see it. Reported first, as the waiter must,
 * nothing is delayed past a completion shutdown can see. */
enum { SLOW_FREES = 6 };

typedef struct slow_free {
    atomic_int armed;   /* waiter is set */
    pthread_t waiter;
    atomic_int delayed; /* frees that waited */
} slow_free_t;

static void *slow_free_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)old_size;
    slow_free_t *s = ud;
    if (new_size)
        return realloc(ptr, new_size);
    if (ptr && atomic_load(&s->armed) && pthread_equal(pthread_self(), s->waiter) &&
        atomic_fetch_add(&s->delayed, 1) < SLOW_FREES)
        pause_for(0.25); /* long enough for shutdown to close the models */
    free(ptr);
    return NULL;
}

static void cb_name_waiter(fronta_future_t *f, void *ud)
{
    (void)f;
    slow_free_t *s = ud;
    s->waiter = pthread_self();
    atomic_store(&s->armed, 1); /* publishes waiter */
}

/* shutdown(WAIT) right behind a device kernel whose two inputs were
 * uploaded without waiting (the copy path): the models must outlive every
 * report of that kernel's transfers (found by TSan under load in CI:
 * fronta__models_transfer on the waiter thread racing models_close). */
static void upload_reports_before_completion(void **state)
{
    (void)state;
    int cl;
    fronta_runtime_t *rt = runtime_cl(1, &cl);
    fronta_runtime_destroy(rt);
    slow_free_t s;
    memset(&s, 0, sizeof s);
    atomic_init(&s.armed, 0);
    atomic_init(&s.delayed, 0);
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "all",
                           .zero_copy = -1, .alloc = slow_free_alloc, .alloc_ud = &s};
    rt = runtime_cfg(&cfg);
    cl = ft_cl_device(rt, 0);
    assert_true(cl >= 0);
    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_CL);
    enum { N = 257 };
    static uint32_t x[N], y[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = (uint32_t)i;
        y[i] = 3u * (uint32_t)i;
    }
    fronta_buffer_t *bx, *by;
    assert_int_equal(fronta_buffer_wrap(rt, x, N, FRONTA_INT32, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(rt, y, N, FRONTA_INT32, &by), 0);
    /* Held by the host until the callback is on: it must run on the waiter. */
    assert_int_equal(fronta_buffer_acquire(by, FRONTA_ACCESS_INOUT, FT_LIMIT, NULL), 0);
    fronta_task_desc_t t = task2(k.add_into, FRONTA_NEED_DEVICE, FRONTA_IN(bx), FRONTA_INOUT(by));
    t.needs.device_id = cl;
    fronta_future_t *f = ft_submit_ok(rt, &t);
    assert_int_equal(fronta_future_add_done_callback(f, cb_name_waiter, &s), 0);
    assert_int_equal(fronta_buffer_release(by), 0);
    FT_EXPECT_RC(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
    print_message("[ info     ] %d frees on the waiter thread waited\n",
                  atomic_load(&s.delayed));
    FT_EXPECT_OUTCOME(f, 0);
    assert_int_equal(fronta_future_device(f), cl);
    fronta_future_release(f);
    FT_EXPECT_RC(fronta_buffer_destroy(bx), 0);
    FT_EXPECT_RC(fronta_buffer_destroy(by), 0);
    for (size_t i = 0; i < N; i++)
        if (y[i] != 4u * (uint32_t)i)
            fail_msg("element %zu is %u, expected %u", i, y[i], 4u * (uint32_t)i);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    main_thread = pthread_self();
    struct CMUnitTest tests[] = {
        cmocka_unit_test(size_overflow_buffers),
        cmocka_unit_test(big_buffer_last_element),
        cmocka_unit_test(size_overflow_map),
        cmocka_unit_test(size_overflow_nafter),
        cmocka_unit_test(size_overflow_wait),
        cmocka_unit_test(size_overflow_as_completed),
        cmocka_unit_test(stop_from_waiter_callback),
        cmocka_unit_test(stop_from_cancel_callback),
        cmocka_unit_test(stop_from_pool_thread),
        cmocka_unit_test(kernel_self_wait),
        cmocka_unit_test(waits_on_driver_thread),
        cmocka_unit_test(abandoned_out_keeps_writer_failure),
        cmocka_unit_test(acquire_busy_keeps_holder),
        cmocka_unit_test(early_failure_keeps_order),
        cmocka_unit_test(nan_timeout_polls),
        cmocka_unit_test(cancel_race_closes_list),
        cmocka_unit_test(polls_inout_then_complete),
        cmocka_unit_test(polls_alternating_then_complete),
        cmocka_unit_test(polls_cancelled_on_small_stack),
        cmocka_unit_test(quadratic_writer_after_readers),
        cmocka_unit_test(quadratic_destroy_after_polls),
        cmocka_unit_test(destroy_races_shutdown),
        cmocka_unit_test(destroy_after_shutdown),
        cmocka_unit_test(nested_random_streams),
        cmocka_unit_test(positive_task_code),
        cmocka_unit_test(status_invalid),
        cmocka_unit_test(spin_us_bounds),
        cmocka_unit_test(failed_input_during_publish),
        cmocka_unit_test(upload_reports_before_completion),
    };
    size_t n = skip_filter(tests, sizeof tests / sizeof tests[0]);
    return _cmocka_run_group_tests("test_regress", tests, n, NULL, NULL);
}
