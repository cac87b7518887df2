/* The misuse table of docs/design.md, row by row: each call that can block or tear down, made from a task, from an OpenCL device's waiter thread, from done-callbacks (on a pool thread, on a cancelling thread) and inside a kernel on its own argument; each call bounded, its code and duration checked. */
#include "test_kernels.h"
#include "test_probe.h"

#include <pthread.h>

#ifdef FT_WITH_OPENCL
#include "fronta_opencl.h"
#endif

/* A call documented to refuse (or succeed) without waiting: the bound is
 * generous for sanitizers on a loaded machine; it catches a wait. */
#define AT_ONCE 2.0
/* The timeout of the calls that may wait, and their bound. */
#define T_WAIT 0.2
#define T_BOUND (T_WAIT + AT_ONCE)

/* ---- the fixture ------------------------------------------------------ */

/* What the probe calls work on. `pending` is a pool kernel behind a host
 * access the main thread holds (on `hold`): it stays pending, without
 * holding a worker, until the main thread releases `hold`. */
typedef struct env {
    fronta_runtime_t *rt;
    int cl;                           /* an OpenCL device, or -1 */
    fronta_kernel_t *nop, *probe_k, *add_cl;
    fronta_buffer_t *hold, *idle, *busy, *tmp, *own, *trig;
    uint32_t hold_a[8], idle_a[64], busy_a[8], tmp_a[8], own_a[16], trig_a[64];
    fronta_future_t *pending, *done, *cancel_me, *cancel_cb, *busy_writer, *trigger;
    fronta_as_completed_t *ac_pending, *ac_done;
    probe_t probe;
    int cb_where;                     /* the context cb_probe runs in */
    atomic_int children;              /* nested submissions that ran */
    atomic_int tmp_destroyed;
} env_t;

typedef enum where {
    IN_TASK,    /* (1) a pool thread, inside a task */
    ON_WAITER,  /* (2) a done-callback on an OpenCL device's waiter thread */
    CB_POOL,    /* (3) a done-callback on the pool thread that completed it */
    CB_CANCEL,  /* (3) a done-callback on the user's thread that cancelled it */
    IN_KERNEL   /* (4) a kernel's CPU implementation, on its own argument */
} where_t;

static const char *const where_names[] = {"task", "waiter", "cb-pool", "cb-cancel",
                                          "kernel"};

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

static int count_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    env_t *e;
    memcpy(&e, arg, sizeof e);
    atomic_fetch_add(&e->children, 1);
    return 0;
}

static void probe_all(env_t *e, where_t w);

static int k_probe(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    (void)n;
    probe_all((env_t *)(intptr_t)a[1].v.i64, IN_KERNEL);
    return 0;
}

static const fronta_param_t probe_params[] = {
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

static void env_setup(env_t *e, int need_cl)
{
    memset(e, 0, sizeof *e);
    atomic_init(&e->children, 0);
    atomic_init(&e->tmp_destroyed, 0);
    probe_init(&e->probe);
    e->rt = ft_runtime_dev("all", 0);
    e->cl = ft_cl_device(e->rt, 0);
#ifndef FT_WITH_OPENCL
    e->cl = -1; /* no fronta_opencl.h: the device rows are left out */
#endif
    if (need_cl && (fronta_device_count(e->rt) < 2 || e->cl < 0)) {
        fronta_runtime_destroy(e->rt);
        print_message("[ skip     ] no OpenCL device\n");
        skip();
    }
    fronta_runtime_t *rt = e->rt;
    e->nop = make_kernel(rt, "nop", nop_params, 1, k_nop);
    e->probe_k = make_kernel(rt, "probe", probe_params, 2, k_probe);
    if (e->cl >= 0)
        e->add_cl = ft_kernel_make(rt, "ft_add_const", "", FT_IMPL_CL);
    assert_int_equal(fronta_buffer_wrap(rt, e->hold_a, 8, FRONTA_INT32, &e->hold), 0);
    assert_int_equal(fronta_buffer_wrap(rt, e->idle_a, 64, FRONTA_INT32, &e->idle), 0);
    assert_int_equal(fronta_buffer_wrap(rt, e->busy_a, 8, FRONTA_INT32, &e->busy), 0);
    assert_int_equal(fronta_buffer_wrap(rt, e->tmp_a, 8, FRONTA_INT32, &e->tmp), 0);
    assert_int_equal(fronta_buffer_wrap(rt, e->own_a, 16, FRONTA_INT32, &e->own), 0);
    assert_int_equal(fronta_buffer_wrap(rt, e->trig_a, 64, FRONTA_INT32, &e->trig), 0);

    assert_int_equal(fronta_buffer_acquire(e->hold, FRONTA_ACCESS_OUT, FT_LIMIT, NULL), 0);
    fronta_task_desc_t t = task1(e->nop, FRONTA_NEED_CPU_POOL, FRONTA_IN(e->hold));
    e->pending = ft_submit_ok(rt, &t);
    /* busy's writer waits for pending: an acquire of busy waits too. */
    t = task1(e->nop, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(e->busy));
    t.after = &e->pending;
    t.nafter = 1;
    e->busy_writer = ft_submit_ok(rt, &t);
    int64_t x = 6;
    assert_int_equal(fronta_submit_fn(rt, ft_square_task, &x, sizeof x, &e->done), 0);
    ft_wait(e->done);
    env_t *ep = e;
    fronta_call_t c = {.size = sizeof c, .fn = count_task, .arg = &ep, .arg_size = sizeof ep,
                       .after = &e->pending, .nafter = 1};
    assert_int_equal(fronta_submit_call(rt, &c, &e->cancel_me), 0);
    assert_int_equal(fronta_submit_call(rt, &c, &e->cancel_cb), 0);
    fronta_future_retain(e->pending);
    assert_int_equal(fronta_as_completed_create(rt, &e->pending, 1, &e->ac_pending), 0);
    fronta_future_retain(e->done);
    assert_int_equal(fronta_as_completed_create(rt, &e->done, 1, &e->ac_done), 0);
}

/* Everything the probe left must still work: release hold, let the
 * pending work run, check the runtime runs tasks, destroy it. */
static void env_teardown(env_t *e)
{
    fronta_runtime_t *rt = e->rt;
    if (fronta_future_status(e->cancel_cb) != FRONTA_CANCELLED)
        FT_EXPECT_RC(fronta_future_cancel(e->cancel_cb), 0);
    assert_int_equal(fronta_buffer_release(e->hold), 0);
    FT_EXPECT_OUTCOME(e->pending, 0);
    FT_EXPECT_OUTCOME(e->busy_writer, 0);
    FT_EXPECT_RC(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_future_status(e->cancel_me), FRONTA_CANCELLED);
    if (e->trigger)
        FT_EXPECT_OUTCOME(e->trigger, 0);
    /* The nested submission ran: it is the only count_task left. */
    assert_int_equal(atomic_load(&e->children), 1);
    int64_t x = 9, y = 0;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, ft_square_task, &x, sizeof x, &f), 0);
    FT_EXPECT_RC(fronta_future_result(f, FT_LIMIT, &y, sizeof y), 0);
    assert_int_equal(y, 81);
    fronta_future_release(f);
    fronta_as_completed_destroy(e->ac_pending);
    fronta_as_completed_destroy(e->ac_done);
    fronta_future_t *fs[] = {e->pending, e->done, e->cancel_me, e->cancel_cb, e->busy_writer,
                             e->trigger};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        fronta_future_release(fs[i]);
    fronta_buffer_t *bs[] = {e->hold, e->idle, e->busy, e->own, e->trig};
    for (size_t i = 0; i < sizeof bs / sizeof bs[0]; i++)
        FT_EXPECT_RC(fronta_buffer_destroy(bs[i]), 0);
    if (!atomic_load(&e->tmp_destroyed))
        FT_EXPECT_RC(fronta_buffer_destroy(e->tmp), 0);
    FT_EXPECT_RC(fronta_runtime_destroy(rt), 0);
}

/* ---- the rows --------------------------------------------------------- */

/* One call per row of the table, with the code the table gives for
 * context w. Waits on `pending` may wait (up to T_WAIT) where the table
 * says they wait, and must refuse at once where it says EBUSY. */
static void probe_all(env_t *e, where_t w)
{
    probe_t *p = &e->probe;
    const int drv = w == ON_WAITER;
    const int wait_rc = drv ? FRONTA_EBUSY : FRONTA_ETIMEDOUT;
    const double wait_bound = drv ? AT_ONCE : T_BOUND;
    int64_t v = 0;
    size_t nd = 0;
    void *h = NULL;
    fronta_future_t *got = NULL;
    fronta_future_t *one[1] = {e->pending};
    fronta_future_t *two[2] = {e->done, e->pending};

    /* Tear-down: would wait for the caller itself. */
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_wait_all(e->rt, T_WAIT));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_shutdown(e->rt, FRONTA_SHUTDOWN_CANCEL_PENDING));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_shutdown(e->rt, FRONTA_SHUTDOWN_WAIT));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_runtime_destroy(e->rt));

    /* Waits on futures. */
    PROBE(p, 0, AT_ONCE, fronta_future_wait(e->done, T_WAIT));
    PROBE(p, FRONTA_ETIMEDOUT, AT_ONCE, fronta_future_wait(e->pending, 0));
    PROBE(p, wait_rc, wait_bound, fronta_future_wait(e->pending, T_WAIT));
    PROBE(p, 0, AT_ONCE, fronta_future_result(e->done, T_WAIT, &v, sizeof v));
    PROBE(p, wait_rc, wait_bound, fronta_future_result(e->pending, T_WAIT, &v, sizeof v));
    PROBE(p, 0, AT_ONCE, fronta_wait(two, 2, T_WAIT, FRONTA_FIRST_COMPLETED, &nd));
    PROBE(p, wait_rc, wait_bound, fronta_wait(one, 1, T_WAIT, FRONTA_ALL_COMPLETED, &nd));
    PROBE(p, 0, AT_ONCE, fronta_as_completed_next(e->ac_done, T_WAIT, &got));
    fronta_future_release(got);
    PROBE(p, wait_rc, wait_bound, fronta_as_completed_next(e->ac_pending, T_WAIT, &got));

    /* Buffers that are not the caller's own. */
    PROBE(p, drv ? FRONTA_EBUSY : 0, AT_ONCE,
          fronta_buffer_acquire(e->idle, FRONTA_ACCESS_INOUT, T_WAIT, &h));
    PROBE(p, drv ? FRONTA_EINVAL : 0, AT_ONCE, fronta_buffer_release(e->idle));
    PROBE(p, FRONTA_EINVAL, AT_ONCE, fronta_buffer_release(e->idle)); /* not held */
    PROBE(p, wait_rc, wait_bound, fronta_buffer_acquire(e->busy, FRONTA_ACCESS_IN, T_WAIT, &h));
#ifdef FT_WITH_OPENCL
    cl_mem m = NULL;
    if (e->cl >= 0) {
        PROBE(p, drv ? FRONTA_EBUSY : 0, AT_ONCE,
              fronta_opencl_buffer_acquire(e->idle, e->cl, FRONTA_ACCESS_INOUT, T_WAIT, &m));
        PROBE(p, drv ? FRONTA_EINVAL : 0, AT_ONCE, fronta_buffer_release(e->idle));
        PROBE(p, wait_rc, wait_bound,
              fronta_opencl_buffer_acquire(e->busy, e->cl, FRONTA_ACCESS_IN, T_WAIT, &m));
    }
#endif

    /* The kernel's own argument: every wait for it refuses. */
    if (w == IN_KERNEL) {
        PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(e->own, FRONTA_ACCESS_IN, 0, &h));
        PROBE(p, FRONTA_EBUSY, AT_ONCE,
              fronta_buffer_acquire(e->own, FRONTA_ACCESS_IN, T_WAIT, &h));
        PROBE(p, FRONTA_EBUSY, AT_ONCE,
              fronta_buffer_acquire(e->own, FRONTA_ACCESS_INOUT, T_WAIT, &h));
        PROBE(p, FRONTA_EBUSY, AT_ONCE,
              fronta_buffer_acquire(e->own, FRONTA_ACCESS_OUT, T_WAIT, &h));
        PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(e->own, FRONTA_ACCESS_IN, -1, &h));
        PROBE(p, FRONTA_EBUSY, AT_ONCE,
              fronta_buffer_acquire(e->own, FRONTA_ACCESS_INOUT, -1, &h));
        PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_acquire(e->own, FRONTA_ACCESS_OUT, -1, &h));
#ifdef FT_WITH_OPENCL
        if (e->cl >= 0)
            PROBE(p, FRONTA_EBUSY, AT_ONCE,
                  fronta_opencl_buffer_acquire(e->own, e->cl, FRONTA_ACCESS_IN, -1, &m));
#endif
        PROBE(p, FRONTA_EINVAL, AT_ONCE, fronta_buffer_release(e->own)); /* not held */
        PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_buffer_destroy(e->own));
        /* A kernel task on its own argument is accepted: it follows this one. */
        fronta_task_desc_t t = task1(e->nop, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(e->own));
        PROBE(p, 0, AT_ONCE, fronta_submit(e->rt, &t, NULL));
    }

    double t0 = ft_now();
    int drc = fronta_buffer_destroy(e->tmp);
    probe_put(p, "fronta_buffer_destroy(e->tmp)", drv ? FRONTA_EBUSY : 0, AT_ONCE, drc,
              ft_now() - t0);
    if (drc == 0)
        atomic_store(&e->tmp_destroyed, 1);

    /* Submission and cancellation never wait. */
    env_t *ep = e;
    PROBE(p, 0, AT_ONCE, fronta_submit_fn(e->rt, count_task, &ep, sizeof ep, NULL));
    fronta_task_desc_t t = task1(e->nop, FRONTA_NEED_CPU_POOL, FRONTA_IN(e->idle));
    PROBE(p, 0, AT_ONCE, fronta_submit(e->rt, &t, NULL));
    PROBE(p, 0, AT_ONCE, fronta_future_cancel(e->cancel_me));
    PROBE(p, FRONTA_EBUSY, AT_ONCE, fronta_future_cancel(e->done));
    probe_finish(p);
}

/* ---- the contexts ----------------------------------------------------- */

static int task_probe(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    env_t *e;
    memcpy(&e, arg, sizeof e);
    probe_all(e, IN_TASK);
    return 0;
}

static void cb_probe(fronta_future_t *f, void *ud)
{
    (void)f;
    env_t *e = ud;
    probe_all(e, (where_t)e->cb_where);
}

static void cb_probe_cancel(fronta_future_t *f, void *ud)
{
    (void)f;
    probe_all(ud, CB_CANCEL);
}

static void context_task(void **state)
{
    (void)state;
    env_t *e = malloc(sizeof *e);
    assert_non_null(e);
    env_setup(e, 0);
    assert_int_equal(fronta_submit_fn(e->rt, task_probe, &e, sizeof e, &e->trigger), 0);
    probe_check(&e->probe, where_names[IN_TASK], 0);
    env_teardown(e);
    free(e);
}

/* The trigger is a kernel on `trig`, held by the host until its callback
 * is in place: on the OpenCL device (its completion, and so the callback,
 * runs on the waiter thread) or on the pool. */
static void trigger_with_callback(env_t *e, int on_device)
{
    fronta_task_desc_t t;
    assert_int_equal(fronta_buffer_acquire(e->trig, FRONTA_ACCESS_OUT, FT_LIMIT, NULL), 0);
    if (on_device) {
        t = ft_task(e->add_cl, FRONTA_NEED_DEVICE, FRONTA_INOUT(e->trig), FRONTA_I32(1),
                    FT_NOARG);
        t.needs.device_id = e->cl;
    } else {
        t = task1(e->nop, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(e->trig));
    }
    e->trigger = ft_submit_ok(e->rt, &t);
    e->cb_where = on_device ? ON_WAITER : CB_POOL;
    assert_int_equal(fronta_future_add_done_callback(e->trigger, cb_probe, e), 0);
    assert_int_equal(fronta_buffer_release(e->trig), 0);
}

static void context_waiter(void **state)
{
    (void)state;
    env_t *e = malloc(sizeof *e);
    assert_non_null(e);
    env_setup(e, 1);
    trigger_with_callback(e, 1);
    probe_check(&e->probe, where_names[ON_WAITER], 0);
    assert_int_equal(fronta_future_device(e->trigger), e->cl);
    env_teardown(e);
    free(e);
}

static void context_callback_pool(void **state)
{
    (void)state;
    env_t *e = malloc(sizeof *e);
    assert_non_null(e);
    env_setup(e, 0);
    trigger_with_callback(e, 0);
    probe_check(&e->probe, where_names[CB_POOL], 0);
    assert_int_equal(fronta_future_device(e->trigger), 0);
    env_teardown(e);
    free(e);
}

typedef struct canceller {
    fronta_future_t *f;
    atomic_int rc, done;
} canceller_t;

static void *cancel_main(void *arg)
{
    canceller_t *c = arg;
    atomic_store(&c->rc, fronta_future_cancel(c->f));
    atomic_store(&c->done, 1);
    return NULL;
}

static void context_callback_cancel(void **state)
{
    (void)state;
    env_t *e = malloc(sizeof *e);
    assert_non_null(e);
    env_setup(e, 0);
    assert_int_equal(fronta_future_add_done_callback(e->cancel_cb, cb_probe_cancel, e), 0);
    canceller_t c = {.f = e->cancel_cb};
    atomic_init(&c.rc, 99);
    atomic_init(&c.done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_main, &c), 0);
    probe_check(&e->probe, where_names[CB_CANCEL], 0);
    FT_SPIN_UNTIL(atomic_load(&c.done));
    assert_true(atomic_load(&c.done));
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&c.rc), 0);
    env_teardown(e);
    free(e);
}

static void context_kernel(void **state)
{
    (void)state;
    env_t *e = malloc(sizeof *e);
    assert_non_null(e);
    env_setup(e, 0);
    fronta_task_desc_t t = ft_task(e->probe_k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(e->own),
                                   FRONTA_I64((int64_t)(intptr_t)e), FT_NOARG);
    e->trigger = ft_submit_ok(e->rt, &t);
    probe_check(&e->probe, where_names[IN_KERNEL], 0);
    env_teardown(e);
    free(e);
}

/* § of the table: a callback added to a future that is already done runs
 * at once, as the caller's own code: wait_all waits as it does for the
 * caller (here the main thread, with `pending` still pending: it times
 * out), nothing refuses. */
static void cb_at_add(fronta_future_t *f, void *ud)
{
    (void)f;
    env_t *e = ud;
    probe_t *p = &e->probe;
    PROBE(p, FRONTA_ETIMEDOUT, T_BOUND, fronta_runtime_wait_all(e->rt, T_WAIT));
    PROBE(p, FRONTA_ETIMEDOUT, T_BOUND, fronta_future_wait(e->pending, T_WAIT));
    PROBE(p, 0, AT_ONCE, fronta_buffer_acquire(e->idle, FRONTA_ACCESS_IN, T_WAIT, NULL));
    PROBE(p, 0, AT_ONCE, fronta_buffer_release(e->idle));
    atomic_store(&p->finished, 1); /* on the main thread, as meant */
}

static void context_callback_at_add(void **state)
{
    (void)state;
    env_t *e = malloc(sizeof *e);
    assert_non_null(e);
    env_setup(e, 0);
    assert_int_equal(fronta_future_add_done_callback(e->done, cb_at_add, e), 0);
    probe_check(&e->probe, "cb-at-add", 0);
    /* What env_teardown expects of a probe. */
    env_t *ep = e;
    assert_int_equal(fronta_submit_fn(e->rt, count_task, &ep, sizeof ep, NULL), 0);
    FT_EXPECT_RC(fronta_future_cancel(e->cancel_me), 0);
    env_teardown(e);
    free(e);
}

/* ---- help-first nesting and releases that are not the caller's -------- */

/* Help-first nesting. Kernel K1 (argument `own`) waits for a future;
 * meanwhile its worker runs kernel K2, which acquires `own`. The acquire
 * follows K1, and K1 cannot end before K2 returns: it waits for the
 * thread itself, as K1's own acquire would, and must refuse the same way
 * (FRONTA_EBUSY) rather than wait out its timeout (or forever). */
typedef struct nest {
    env_t *e;
    probe_t inner;       /* K2's calls */
    atomic_int k1_started;
} nest_t;

static int k_outer(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    (void)n;
    nest_t *s = (nest_t *)(intptr_t)a[1].v.i64;
    atomic_store(&s->k1_started, 1);
    /* Helps until K2 has run (and a little longer). */
    PROBE(&s->e->probe, FRONTA_ETIMEDOUT, 2.0 + AT_ONCE, fronta_future_wait(s->e->pending, 2.0));
    probe_finish(&s->e->probe);
    return 0;
}

static int k_inner(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    (void)n;
    nest_t *s = (nest_t *)(intptr_t)a[1].v.i64;
    PROBE(&s->inner, FRONTA_EBUSY, AT_ONCE,
          fronta_buffer_acquire(s->e->own, FRONTA_ACCESS_IN, 0.5, NULL));
    probe_finish(&s->inner);
    return 0;
}

static void nested_kernel_acquires_outer_argument(void **state)
{
    (void)state;
    env_t *e = malloc(sizeof *e);
    nest_t *s = malloc(sizeof *s);
    assert_non_null(e);
    assert_non_null(s);
    memset(e, 0, sizeof *e);
    /* One worker: K2 can only run inside K1's wait. */
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "cpu"};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    s->e = e;
    probe_init(&e->probe);
    probe_init(&s->inner);
    atomic_init(&s->k1_started, 0);
    fronta_kernel_t *outer = make_kernel(rt, "outer", probe_params, 2, k_outer);
    fronta_kernel_t *inner = make_kernel(rt, "inner", probe_params, 2, k_inner);
    fronta_kernel_t *nop = make_kernel(rt, "nop", nop_params, 1, k_nop);
    uint32_t a1[8] = {0}, a2[8] = {0}, a3[8] = {0};
    fronta_buffer_t *hold, *c;
    assert_int_equal(fronta_buffer_wrap(rt, a1, 8, FRONTA_INT32, &hold), 0);
    assert_int_equal(fronta_buffer_wrap(rt, a2, 8, FRONTA_INT32, &e->own), 0);
    assert_int_equal(fronta_buffer_wrap(rt, a3, 8, FRONTA_INT32, &c), 0);
    assert_int_equal(fronta_buffer_acquire(hold, FRONTA_ACCESS_OUT, FT_LIMIT, NULL), 0);
    fronta_task_desc_t t = task1(nop, FRONTA_NEED_CPU_POOL, FRONTA_IN(hold));
    e->pending = ft_submit_ok(rt, &t);
    t = ft_task(outer, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(e->own),
                FRONTA_I64((int64_t)(intptr_t)s), FT_NOARG);
    fronta_future_t *k1 = ft_submit_ok(rt, &t);
    FT_SPIN_UNTIL(atomic_load(&s->k1_started));
    assert_true(atomic_load(&s->k1_started));
    t = ft_task(inner, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(c), FRONTA_I64((int64_t)(intptr_t)s),
                FT_NOARG);
    fronta_future_t *k2 = ft_submit_ok(rt, &t);
    probe_check(&s->inner, "nested", 0);
    probe_check(&e->probe, "outer", 0);
    FT_EXPECT_OUTCOME(k2, 0);
    FT_EXPECT_OUTCOME(k1, 0);
    assert_int_equal(fronta_buffer_release(hold), 0);
    FT_EXPECT_OUTCOME(e->pending, 0);
    fronta_future_release(k1);
    fronta_future_release(k2);
    fronta_future_release(e->pending);
    FT_EXPECT_RC(fronta_runtime_destroy(rt), 0);
    free(s);
    free(e);
}

/* A kernel releases its own argument while the host's acquire of it is
 * under way (waiting for this very kernel). That acquire is not the
 * kernel's to end: release must refuse as for a buffer not held
 * (FRONTA_EINVAL), and the host's acquire must still get its turn once
 * the kernel has ended. */
typedef struct rel {
    env_t *e;
    atomic_int acquiring;   /* the host thread is inside its acquire */
    atomic_int acquire_rc, release_rc, host_done;
} rel_t;

static int k_release_own(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    (void)n;
    rel_t *r = (rel_t *)(intptr_t)a[1].v.i64;
    FT_SPIN_UNTIL(atomic_load(&r->acquiring));
    double until = ft_now() + 0.1; /* well inside its wait */
    while (ft_now() < until)
        sched_yield();
    PROBE(&r->e->probe, FRONTA_EINVAL, AT_ONCE, fronta_buffer_release(r->e->own));
    probe_finish(&r->e->probe);
    return 0;
}

static void *host_acquire_main(void *arg)
{
    rel_t *r = arg;
    atomic_store(&r->acquiring, 1);
    int rc = fronta_buffer_acquire(r->e->own, FRONTA_ACCESS_IN, 5.0, NULL);
    atomic_store(&r->acquire_rc, rc);
    atomic_store(&r->release_rc, rc == 0 ? fronta_buffer_release(r->e->own) : rc);
    atomic_store(&r->host_done, 1);
    return NULL;
}

static void kernel_releases_acquire_under_way(void **state)
{
    (void)state;
    env_t *e = malloc(sizeof *e);
    rel_t *r = malloc(sizeof *r);
    assert_non_null(e);
    assert_non_null(r);
    env_setup(e, 0);
    r->e = e;
    atomic_init(&r->acquiring, 0);
    atomic_init(&r->acquire_rc, 99);
    atomic_init(&r->release_rc, 99);
    atomic_init(&r->host_done, 0);
    fronta_kernel_t *k = make_kernel(e->rt, "release_own", probe_params, 2, k_release_own);
    fronta_task_desc_t t = ft_task(k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(e->own),
                                   FRONTA_I64((int64_t)(intptr_t)r), FT_NOARG);
    e->trigger = ft_submit_ok(e->rt, &t);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, host_acquire_main, r), 0);
    probe_check(&e->probe, "kernel", 0);
    FT_SPIN_UNTIL(atomic_load(&r->host_done));
    assert_true(atomic_load(&r->host_done));
    pthread_join(th, NULL);
    FT_EXPECT_RC(atomic_load(&r->acquire_rc), 0);
    FT_EXPECT_RC(atomic_load(&r->release_rc), 0);
    /* env_teardown's count: the nested submission it expects. */
    env_t *ep = e;
    assert_int_equal(fronta_submit_fn(e->rt, count_task, &ep, sizeof ep, NULL), 0);
    FT_EXPECT_RC(fronta_future_cancel(e->cancel_me), 0);
    env_teardown(e);
    free(r);
    free(e);
}

/* ---- completion order and shutdown ----------------------------------- */

/* A callback of A that waits for B, a task submitted after the callback
 * with `after` = A: B is released before A's callbacks run, so the wait
 * ends (on a one-thread pool the callback's worker helps B run). */
typedef struct succ {
    atomic_int go;
    fronta_future_t *b;
    probe_t probe;
} succ_t;

static int gated_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    succ_t *s = *(succ_t **)arg;
    FT_SPIN_UNTIL(atomic_load(&s->go));
    return 0;
}

static int nop_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

static void cb_wait_successor(fronta_future_t *f, void *ud)
{
    (void)f;
    succ_t *s = ud;
    PROBE(&s->probe, 0, AT_ONCE, fronta_future_wait(s->b, FT_LIMIT));
    probe_finish(&s->probe);
}

static void callback_waits_for_successor(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        succ_t *s = malloc(sizeof *s);
        assert_non_null(s);
        atomic_init(&s->go, 0);
        probe_init(&s->probe);
        fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = threads, .devices = "cpu"};
        fronta_runtime_t *rt = NULL;
        assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
        fronta_future_t *a = NULL;
        assert_int_equal(fronta_submit_fn(rt, gated_fn, &s, sizeof s, &a), 0);
        assert_int_equal(fronta_future_add_done_callback(a, cb_wait_successor, s), 0);
        fronta_call_t c = {.size = sizeof c, .fn = nop_fn, .after = &a, .nafter = 1};
        assert_int_equal(fronta_submit_call(rt, &c, &s->b), 0);
        atomic_store(&s->go, 1);
        probe_check(&s->probe, threads == 1 ? "1 thread" : "2 threads", 0);
        FT_EXPECT_OUTCOME(s->b, 0);
        fronta_future_release(a);
        fronta_future_release(s->b);
        FT_EXPECT_RC(fronta_runtime_destroy(rt), 0);
        free(s);
    }
}

#ifdef FT_WITH_OPENCL
/* A done-callback on an OpenCL waiter thread submits while a shutdown(WAIT)
 * is under way: accepted, as from a callback on a pool thread, and run
 * before shutdown returns. */
typedef struct sdn {
    fronta_runtime_t *rt;
    atomic_int shutting, ran, submit_rc, shutdown_rc, shutdown_done;
} sdn_t;

static int count_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    atomic_fetch_add(&(*(sdn_t **)arg)->ran, 1);
    return 0;
}

static void cb_submit_in_shutdown(fronta_future_t *f, void *ud)
{
    (void)f;
    sdn_t *s = ud;
    FT_SPIN_UNTIL(atomic_load(&s->shutting));
    double until = ft_now() + 0.05; /* let shutdown set its flag */
    while (ft_now() < until)
        sched_yield();
    fronta_future_t *g = NULL;
    int rc = fronta_submit_fn(s->rt, count_fn, &s, sizeof s, &g);
    if (g)
        fronta_future_detach(g);
    atomic_store(&s->submit_rc, rc);
}

static void *shutdown_main(void *arg)
{
    sdn_t *s = arg;
    atomic_store(&s->shutting, 1);
    atomic_store(&s->shutdown_rc, fronta_runtime_shutdown(s->rt, FRONTA_SHUTDOWN_WAIT));
    atomic_store(&s->shutdown_done, 1);
    return NULL;
}

static void callback_on_waiter_submits_in_shutdown(void **state)
{
    (void)state;
    sdn_t *s = malloc(sizeof *s);
    assert_non_null(s);
    memset(s, 0, sizeof *s);
    assert_int_equal(fronta_runtime_create(NULL, &s->rt), 0);
    if (fronta_device_count(s->rt) < 2) {
        FT_EXPECT_RC(fronta_runtime_destroy(s->rt), 0);
        free(s);
        skip();
    }
    atomic_store(&s->submit_rc, 99);
    float x[64] = {1};
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(s->rt, x, 64, FRONTA_FLOAT, &b), 0);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, NULL), 0);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(s->rt, "scale"),
                            .args = {FRONTA_INOUT(b), FRONTA_F32(2.0f)}, .nargs = 2,
                            .needs.device = FRONTA_NEED_OPENCL};
    fronta_future_t *k = ft_submit_ok(s->rt, &t);
    assert_int_equal(fronta_future_add_done_callback(k, cb_submit_in_shutdown, s), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, shutdown_main, s), 0);
    FT_SPIN_UNTIL(atomic_load(&s->shutting));
    assert_int_equal(fronta_buffer_release(b), 0); /* K runs, its callback submits */
    FT_SPIN_UNTIL(atomic_load(&s->shutdown_done));
    assert_true(atomic_load(&s->shutdown_done));
    pthread_join(th, NULL);
    FT_EXPECT_RC(atomic_load(&s->shutdown_rc), 0);
    FT_EXPECT_RC(atomic_load(&s->submit_rc), 0);
    assert_int_equal(atomic_load(&s->ran), 1); /* shutdown(WAIT) ran it */
    FT_EXPECT_OUTCOME(k, 0);
    assert_int_equal(fronta_future_device(k) > 0, 1);
    fronta_future_release(k);
    assert_int_equal(fronta_buffer_destroy(b), 0); /* after shutdown too */
    assert_true(x[0] == 2.0f);
    FT_EXPECT_RC(fronta_runtime_destroy(s->rt), 0);
    free(s);
}
#endif

int main(void)
{
    ft_filter();
    ft_cache_env();
    main_thread = pthread_self();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(context_task),
        cmocka_unit_test(context_waiter),
        cmocka_unit_test(context_callback_pool),
        cmocka_unit_test(context_callback_cancel),
        cmocka_unit_test(context_kernel),
        cmocka_unit_test(context_callback_at_add),
        cmocka_unit_test(nested_kernel_acquires_outer_argument),
        cmocka_unit_test(kernel_releases_acquire_under_way),
        cmocka_unit_test(callback_waits_for_successor),
#ifdef FT_WITH_OPENCL
        cmocka_unit_test(callback_on_waiter_submits_in_shutdown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
