/* Tests of OpenCL device failures through the driver's fault seam: fallback to the pool, failed futures, last valid contents (a kernel failing at completion rolled back), poisoned readers. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "test_kernels.h"

#include "drivers/opencl/fault.h"

typedef struct fx {
    fronta_runtime_t *rt;
    int cl;
    int zero_copy;
    ft_kernels_t both;   /* CPU and OpenCL */
    ft_kernels_t clonly; /* OpenCL only */
} fx_t;

static int setup_with(void **state, int zero_copy, int rollback)
{
    static fx_t f[3];
    fx_t *x = &f[rollback < 0 ? 2 : zero_copy < 0];
    memset(x, 0, sizeof *x);
    if (rollback < 0) { /* FRONTA_ROLLBACK=host, under ws as below */
        fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "all",
                               .zero_copy = zero_copy, .sched = "ws", .rollback = -1};
        assert_int_equal(fronta_runtime_create(&cfg, &x->rt), 0);
    } else {
        x->rt = ft_runtime_ws("all", zero_copy); /* steers tasks to the device */
    }
    x->cl = ft_cl_device(x->rt, 0);
    x->zero_copy = zero_copy;
    if (x->cl < 0)
        return -1;
    x->both = ft_kernels(x->rt, "", FT_IMPL_BOTH);
    x->clonly = ft_kernels(x->rt, ".cl", FT_IMPL_CL);
    /* Build the program before any fault is armed. */
    int32_t one = 0;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(x->rt, &one, 1, FRONTA_INT32, &b), 0);
    fronta_task_desc_t t = ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(b),
                                   FRONTA_I32(1), FT_NOARG);
    fronta_future_t *fut = ft_submit_ok(x->rt, &t);
    FT_EXPECT_OUTCOME(fut, 0);
    fronta_future_release(fut);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(one, 1);
    *state = x;
    return 0;
}

static int setup_zero_copy(void **state)
{
    return setup_with(state, 0, 0);
}

static int setup_copy_path(void **state)
{
    return setup_with(state, -1, 0);
}

static int setup_host_rollback(void **state)
{
    return setup_with(state, -1, -1);
}

static int teardown(void **state)
{
    fx_t *x = *state;
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ALLOC, 0, 0);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ENQUEUE, 0, 0);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, 0, 0);
    fronta__opencl_fault_skip(x->rt, FRONTA__CLFAULT_EVENT, 0);
    fronta__opencl_fault_skip(x->rt, FRONTA__CLFAULT_ENQUEUE, 0);
    fronta_runtime_destroy(x->rt);
    return 0;
}

enum { N = 97 };

static void fill(uint32_t *a, uint32_t base)
{
    for (size_t i = 0; i < N; i++)
        a[i] = base + (uint32_t)i;
}

static void apply_add(uint32_t *m, int32_t c)
{
    for (size_t i = 0; i < N; i++)
        m[i] = ft_model_add_const(m[i], c, i);
}

/* ---- fallback --------------------------------------------------------- */

/* With a CPU implementation and NEED_ANY, a device that cannot allocate or
 * enqueue hands the task to the pool, which gets the right result.
 * Placement keeps a chain on its device: B = add_into(b IN, c INOUT) goes
 * to the device because b's last writer W is queued there (behind gate
 * g1); B itself waits behind g2, so that the fault is armed after W ran
 * and before B reaches the device, which must allocate the fresh c. */
static void falls_back(fx_t *x, int op, int cl_err, const char *what)
{
    fronta_device_stats_t s0 = ft_dstats(x->rt, x->cl);
    uint32_t ab[N], mb[N], mc[N] = {0};
    fill(ab, 1000);
    memcpy(mb, ab, sizeof ab);
    fronta_buffer_t *b, *c;
    assert_int_equal(fronta_buffer_wrap(x->rt, ab, N, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_create(x->rt, N, FRONTA_INT32, &c), 0);
    ft_gate_t g1, g2;
    ft_gate_init(&g1, 0);
    ft_gate_init(&g2, 0);
    fronta_future_t *fg1 = ft_gate_submit(x->rt, &g1);
    fronta_future_t *fg2 = ft_gate_submit(x->rt, &g2);
    fronta_task_desc_t tw = ft_task(x->both.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(b),
                                    FRONTA_I32(1), FT_NOARG);
    tw.after = &fg1;
    tw.nafter = 1;
    fronta_future_t *fw = ft_submit_ok(x->rt, &tw);
    fronta_task_desc_t tb = ft_task(x->both.add_into, FRONTA_NEED_ANY, FRONTA_IN(b),
                                    FRONTA_INOUT(c), FT_NOARG);
    tb.after = &fg2;
    tb.nafter = 1;
    fronta_future_t *fb = ft_submit_ok(x->rt, &tb);
    if (fronta_future_device(fb) != x->cl)
        fail_msg("a NEED_ANY task after a queued device writer was placed on %d, not %d",
                 fronta_future_device(fb), x->cl);
    ft_gate_open(&g1);
    FT_EXPECT_OUTCOME(fw, 0);
    apply_add(mb, 1);
    fronta__opencl_fault(x->rt, op, cl_err, 1000);
    ft_gate_open(&g2);
    int e = ft_outcome(fb);
    fronta__opencl_fault(x->rt, op, 0, 0);
    if (e != 0)
        fail_msg("%s: the task did not fall back: %s (%s)", what, fronta_err_name(e),
                 ft_message(fb));
    for (size_t i = 0; i < N; i++)
        mc[i] += mb[i];
    fronta_device_stats_t s1 = ft_dstats(x->rt, x->cl);
    print_message("[ info     ] %s, zero_copy %d: fallbacks %llu -> %llu\n", what, x->zero_copy,
                  (unsigned long long)s0.fallbacks, (unsigned long long)s1.fallbacks);
    assert_int_equal(fronta_future_device(fb), 0);
    assert_int_equal(s1.fallbacks, s0.fallbacks + 1);
    ft_check_buffer(c, mc, N, "c, computed by the pool");
    ft_check_buffer(b, mb, N, "b");

    /* Cleared: the device runs the next task itself. */
    fronta_task_desc_t t = ft_task(x->both.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(c),
                                   FRONTA_I32(3), FT_NOARG);
    fronta_future_t *f = ft_submit_ok(x->rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    assert_int_equal(fronta_future_device(f), x->cl);
    apply_add(mc, 3);
    ft_check_buffer(c, mc, N, "c, then on the device");
    fronta_future_t *all[] = {fg1, fg2, fw, fb, f};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fronta_future_release(all[i]);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(c), 0);
    assert_memory_equal(ab, mb, sizeof ab);
}

static void alloc_fault_falls_back(void **state)
{
    falls_back(*state, FRONTA__CLFAULT_ALLOC, CL_MEM_OBJECT_ALLOCATION_FAILURE, "alloc");
}

static void enqueue_fault_falls_back(void **state)
{
    falls_back(*state, FRONTA__CLFAULT_ENQUEUE, CL_OUT_OF_RESOURCES, "enqueue");
}

/* Fallback in the middle of a chain: W (NEED_OPENCL, on b whose device
 * copy exists) is held behind a gate; the NEED_ANY tasks after it follow
 * their data onto the device, and those that touch the fresh buffers c
 * and d must allocate there, which fails (the first `count` times). The
 * ones that fall back run on the pool, those chained behind them wait for
 * them on the host; every result is exact. */
static void fallback_in_chain(void **state)
{
    fx_t *x = *state;
    uint64_t rng = ft_seed("fallback in a chain");
    static const int counts[] = {1, 2, 1000};
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        uint32_t ab[N], mb[N], mc[N] = {0}, md[N] = {0};
        fill(ab, 7);
        memcpy(mb, ab, sizeof ab);
        fronta_buffer_t *b, *c, *d;
        assert_int_equal(fronta_buffer_wrap(x->rt, ab, N, FRONTA_INT32, &b), 0);
        assert_int_equal(fronta_buffer_create(x->rt, N, FRONTA_INT32, &c), 0);
        assert_int_equal(fronta_buffer_create(x->rt, N, FRONTA_INT32, &d), 0);
        fronta_task_desc_t t0 = ft_task(x->both.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(b),
                                        FRONTA_I32(1), FT_NOARG);
        fronta_future_t *f0 = ft_submit_ok(x->rt, &t0);
        FT_EXPECT_OUTCOME(f0, 0);
        fronta_future_release(f0);
        apply_add(mb, 1);

        ft_gate_t gate;
        ft_gate_init(&gate, 0);
        fronta_future_t *g = ft_gate_submit(x->rt, &gate);
        t0.after = &g;
        t0.nafter = 1;
        t0.args[1] = FRONTA_I32(2);
        enum { STEPS = 8 };
        fronta_future_t *f[STEPS + 1];
        f[0] = ft_submit_ok(x->rt, &t0);
        apply_add(mb, 2);
        fronta_buffer_t *bufs[3] = {b, c, d};
        uint32_t *models[3] = {mb, mc, md};
        int placed_cl = 0;
        for (int i = 1; i <= STEPS; i++) {
            /* Each step reads the buffer the previous one wrote, so that
             * the chain stays on the device. */
            size_t from = (size_t)(i - 1) % 3, to = (size_t)i % 3;
            fronta_task_desc_t t;
            if (ft_rand(&rng) % 2) {
                t = ft_task(x->both.add_into, FRONTA_NEED_ANY, FRONTA_IN(bufs[from]),
                            FRONTA_INOUT(bufs[to]), FT_NOARG);
                for (size_t j = 0; j < N; j++)
                    models[to][j] += models[from][j];
            } else {
                int32_t k = (int32_t)(ft_rand(&rng) % 9) + 1;
                t = ft_task(x->both.copy_scaled, FRONTA_NEED_ANY, FRONTA_IN(bufs[from]),
                            FRONTA_OUT(bufs[to]), FRONTA_I32(k));
                for (size_t j = 0; j < N; j++)
                    models[to][j] = ft_model_copy_scaled(models[from][j], k, j);
            }
            f[i] = ft_submit_ok(x->rt, &t);
            placed_cl += fronta_future_device(f[i]) == x->cl;
        }
        fronta_device_stats_t s0 = ft_dstats(x->rt, x->cl);
        fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ALLOC, CL_MEM_OBJECT_ALLOCATION_FAILURE,
                             counts[ci]);
        ft_gate_open(&gate);
        int on_pool = 0;
        for (int i = 0; i <= STEPS; i++) {
            int e = ft_outcome(f[i]);
            if (e)
                fail_msg("count %d, step %d: %s (%s)", counts[ci], i, fronta_err_name(e),
                         ft_message(f[i]));
            on_pool += fronta_future_device(f[i]) == 0;
        }
        fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ALLOC, 0, 0);
        fronta_device_stats_t s1 = ft_dstats(x->rt, x->cl);
        print_message("[ info     ] zero_copy %d, %d failing allocations: %d of %d steps placed"
                      " on the device, %d ran on the pool, fallbacks %llu\n",
                      x->zero_copy, counts[ci], placed_cl, STEPS, on_pool,
                      (unsigned long long)(s1.fallbacks - s0.fallbacks));
        assert_true(placed_cl > 0);
        /* A failed allocation may hit a pre-image (of b, written on the
         * device), which the copy path then keeps on the host instead: a
         * fallback is certain only when every allocation fails. */
        assert_true(counts[ci] < 1000 || s1.fallbacks > s0.fallbacks);
        assert_int_equal(fronta_future_device(f[0]), x->cl);
        ft_check_buffer(b, mb, N, "b");
        ft_check_buffer(c, mc, N, "c");
        ft_check_buffer(d, md, N, "d");
        for (int i = 0; i <= STEPS; i++)
            fronta_future_release(f[i]);
        fronta_future_release(g);
        assert_int_equal(fronta_buffer_destroy(b), 0);
        assert_int_equal(fronta_buffer_destroy(c), 0);
        assert_int_equal(fronta_buffer_destroy(d), 0);
        assert_memory_equal(ab, mb, sizeof ab);
    }
}

/* ---- no fallback: the future fails, the data survives ----------------- */

/* Without a CPU implementation: FRONTA_EDEVICE naming the OpenCL error.
 * x is read, y written by copy_scaled, after a successful device task on
 * both, so that (on the copy path) the valid copies are on the device.
 * Then: x, only read by the failed task, is intact and readable; y, whose
 * last writer failed, refuses IN but destroy leaves its last valid
 * contents in the wrapped array. */
static void fails_keeps_data(fx_t *x, int op, int cl_err, const char *err_name)
{
    uint32_t ax[N], ay[N], mx[N], my[N];
    fill(ax, 10);
    fill(ay, 500);
    memcpy(mx, ax, sizeof ax);
    memcpy(my, ay, sizeof ay);
    fronta_buffer_t *bx, *by;
    assert_int_equal(fronta_buffer_wrap(x->rt, ax, N, FRONTA_INT32, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(x->rt, ay, N, FRONTA_INT32, &by), 0);
    if (op != FRONTA__CLFAULT_ALLOC) {
        /* ALLOC needs fresh replicas; the others start from device copies. */
        fronta_task_desc_t t0 = ft_task(x->clonly.add_into, FRONTA_NEED_OPENCL, FRONTA_IN(bx),
                                        FRONTA_INOUT(by), FT_NOARG);
        fronta_future_t *f0 = ft_submit_ok(x->rt, &t0);
        fronta_task_desc_t t1 = ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL,
                                        FRONTA_INOUT(bx), FRONTA_I32(2), FT_NOARG);
        fronta_future_t *f1 = ft_submit_ok(x->rt, &t1);
        FT_EXPECT_OUTCOME(f0, 0);
        FT_EXPECT_OUTCOME(f1, 0);
        fronta_future_release(f0);
        fronta_future_release(f1);
        for (size_t i = 0; i < N; i++)
            my[i] += mx[i];
        apply_add(mx, 2);
    }
    fronta_device_stats_t s0 = ft_dstats(x->rt, x->cl);
    fronta__opencl_fault(x->rt, op, cl_err, 1);
    fronta_task_desc_t t = ft_task(x->clonly.copy_scaled, FRONTA_NEED_OPENCL, FRONTA_IN(bx),
                                   FRONTA_OUT(by), FRONTA_I32(7));
    fronta_future_t *f = ft_submit_ok(x->rt, &t);
    FT_EXPECT_OUTCOME(f, FRONTA_EDEVICE);
    const char *msg = ft_message(f);
    print_message("[ info     ] zero_copy %d: %s\n", x->zero_copy, msg);
    if (!strstr(msg, err_name))
        fail_msg("the message does not name %s: %s", err_name, msg);
    fronta__opencl_fault(x->rt, op, 0, 0);
    fronta_device_stats_t s1 = ft_dstats(x->rt, x->cl);
    assert_int_equal(s1.fallbacks, s0.fallbacks);

    /* A later reader of y fails; a later reader of x does not. */
    fronta_buffer_t *bz;
    assert_int_equal(fronta_buffer_create(x->rt, N, FRONTA_INT32, &bz), 0);
    fronta_task_desc_t r = ft_task(x->both.copy_scaled, FRONTA_NEED_ANY, FRONTA_IN(by),
                                   FRONTA_OUT(bz), FRONTA_I32(1));
    fronta_future_t *fr = ft_submit_ok(x->rt, &r);
    FT_EXPECT_OUTCOME(fr, FRONTA_EDEPFAILED);
    ft_check_buffer(bx, mx, N, "x, read by the failed task");
    void *p = (void *)&p;
    FT_EXPECT_RC(fronta_buffer_acquire(by, FRONTA_ACCESS_IN, FT_LIMIT, &p), FRONTA_EDEVICE);
    /* The runtime goes on: x is still usable on the device. */
    fronta_task_desc_t t2 = ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(bx),
                                    FRONTA_I32(9), FT_NOARG);
    fronta_future_t *f2 = ft_submit_ok(x->rt, &t2);
    FT_EXPECT_OUTCOME(f2, 0);
    apply_add(mx, 9);
    fronta_future_release(f);
    fronta_future_release(fr);
    fronta_future_release(f2);
    assert_int_equal(fronta_buffer_destroy(bx), 0);
    assert_int_equal(fronta_buffer_destroy(by), 0);
    assert_int_equal(fronta_buffer_destroy(bz), 0);
    assert_memory_equal(ax, mx, sizeof ax);
    assert_memory_equal(ay, my, sizeof ay); /* y's last valid contents */
}

static void alloc_fault_fails(void **state)
{
    fails_keeps_data(*state, FRONTA__CLFAULT_ALLOC, CL_MEM_OBJECT_ALLOCATION_FAILURE,
                     "CL_MEM_OBJECT_ALLOCATION_FAILURE");
}

static void enqueue_fault_fails(void **state)
{
    fails_keeps_data(*state, FRONTA__CLFAULT_ENQUEUE, CL_OUT_OF_RESOURCES,
                     "CL_OUT_OF_RESOURCES");
}

/* NEED_OPENCL does not admit the pool even with a CPU implementation. */
static void need_opencl_never_falls_back(void **state)
{
    fx_t *x = *state;
    uint32_t arr[N];
    fill(arr, 0);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(x->rt, arr, N, FRONTA_INT32, &b), 0);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ENQUEUE, CL_OUT_OF_RESOURCES, 1);
    fronta_task_desc_t t = ft_task(x->both.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(b),
                                   FRONTA_I32(1), FT_NOARG);
    fronta_future_t *f = ft_submit_ok(x->rt, &t);
    FT_EXPECT_OUTCOME(f, FRONTA_EDEVICE);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ENQUEUE, 0, 0);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(arr[i], i);
}

/* ---- a kernel that fails when it completes ---------------------------- */

/* A chain of device tasks on b behind a gate, one of whose completions
 * reports failure: that one fails with FRONTA_EDEVICE, those before it
 * finish, those after it (chained behind its event) and a CPU reader fail
 * with FRONTA_EDEPFAILED. */
static void event_fault(void **state)
{
    fx_t *x = *state;
    enum { CHAIN = 4 };
    uint32_t arr[N], model[N];
    fill(arr, 3);
    memcpy(model, arr, sizeof arr);
    fronta_buffer_t *b, *c;
    assert_int_equal(fronta_buffer_wrap(x->rt, arr, N, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_create(x->rt, N, FRONTA_INT32, &c), 0);

    for (int round = 0; round < 2; round++) {
        /* Round 0: one task. Round 1: a chain. */
        int len = round ? CHAIN : 1;
        ft_gate_t gate;
        ft_gate_init(&gate, 0);
        fronta_future_t *g = ft_gate_submit(x->rt, &gate);
        fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, CL_OUT_OF_RESOURCES, 1);
        fronta_future_t *f[CHAIN + 1];
        for (int i = 0; i < len; i++) {
            fronta_task_desc_t t = ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL,
                                           FRONTA_INOUT(b), FRONTA_I32(i + 1), FT_NOARG);
            t.after = i == 0 ? &g : NULL;
            t.nafter = i == 0;
            f[i] = ft_submit_ok(x->rt, &t);
        }
        fronta_task_desc_t r = ft_task(x->both.copy_scaled, FRONTA_NEED_CPU_POOL, FRONTA_IN(b),
                                       FRONTA_OUT(c), FRONTA_I32(1));
        f[len] = ft_submit_ok(x->rt, &r);
        ft_gate_open(&gate);
        int failed_at = -1;
        for (int i = 0; i < len; i++) {
            int e = ft_outcome(f[i]);
            print_message("[ info     ] round %d task %d: %s %s\n", round, i, fronta_err_name(e),
                          ft_message(f[i]));
            if (failed_at < 0 && e == FRONTA_EDEVICE) {
                failed_at = i;
                if (!strstr(ft_message(f[i]), "CL_OUT_OF_RESOURCES"))
                    fail_msg("the message does not name CL_OUT_OF_RESOURCES: %s",
                             ft_message(f[i]));
            } else if (failed_at < 0) {
                FT_EXPECT_OUTCOME(f[i], 0);
            } else {
                FT_EXPECT_OUTCOME(f[i], FRONTA_EDEPFAILED);
            }
        }
        assert_true(failed_at >= 0);
        FT_EXPECT_OUTCOME(f[len], FRONTA_EDEPFAILED);
        fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, 0, 0);
        /* The host cannot read b: its last writer failed. */
        void *p = (void *)&p;
        int want = failed_at == len - 1 ? FRONTA_EDEVICE : FRONTA_EDEPFAILED;
        FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), want);
        FT_EXPECT_RC(fronta_buffer_acquire(c, FRONTA_ACCESS_IN, FT_LIMIT, &p),
                     FRONTA_EDEPFAILED);
        /* OUT clears it; the device then works on b again. */
        assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
        fill(p, 100u * (uint32_t)round);
        fill(model, 100u * (uint32_t)round);
        assert_int_equal(fronta_buffer_release(b), 0);
        fronta_task_desc_t t = ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL,
                                       FRONTA_INOUT(b), FRONTA_I32(4), FT_NOARG);
        fronta_future_t *fa = ft_submit_ok(x->rt, &t);
        FT_EXPECT_OUTCOME(fa, 0);
        apply_add(model, 4);
        ft_check_buffer(b, model, N, "b after OUT cleared the failure");
        fronta_future_release(fa);
        for (int i = 0; i <= len; i++)
            fronta_future_release(f[i]);
        fronta_future_release(g);
    }
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(c), 0);
    assert_memory_equal(arr, model, sizeof arr);
}

/* ---- a failure at completion leaves the last valid contents -------- */

/* Where the failing kernel F's output buffer y has its last valid
 * contents when F is enqueued: the host (a fresh wrap), the device alone
 * (a kernel W wrote it there and completed), or the device alone and
 * still being written (W queued ahead of F, F chained on it, W succeeds:
 * the contents to keep are W's output, which F overwrites in place). */
enum { PRE_HOST, PRE_DEVICE, PRE_CHAINED };
static const char *const pre_name[] = {"host", "device", "chained"};

typedef struct rb_case {
    int inout;    /* F is add_const(y INOUT), else copy_scaled(x IN, y OUT) */
    int pre;      /* PRE_* */
    int retries;  /* F's */
    int failures; /* completions of F that report an error */
} rb_case_t;

/* y's model after F (c or k = 5) runs once. */
static void rb_apply(const rb_case_t *c, const uint32_t *mx, uint32_t *my)
{
    for (size_t i = 0; i < N; i++)
        my[i] = c->inout ? ft_model_add_const(my[i], 5, i) : ft_model_copy_scaled(mx[i], 5, i);
}

static fronta_future_t *rb_submit_f(fx_t *x, const rb_case_t *c, fronta_buffer_t *bx,
                                    fronta_buffer_t *by)
{
    fronta_task_desc_t t = c->inout
                               ? ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL,
                                         FRONTA_INOUT(by), FRONTA_I32(5), FT_NOARG)
                               : ft_task(x->clonly.copy_scaled, FRONTA_NEED_OPENCL,
                                         FRONTA_IN(bx), FRONTA_OUT(by), FRONTA_I32(5));
    t.retries = (unsigned)c->retries;
    return ft_submit_ok(x->rt, &t);
}

/* W: y += 2 + i on the device (PRE_DEVICE, PRE_CHAINED), behind g. */
static fronta_future_t *rb_submit_w(fx_t *x, fronta_buffer_t *by, fronta_future_t **g)
{
    fronta_task_desc_t t = ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(by),
                                   FRONTA_I32(2), FT_NOARG);
    t.after = g;
    t.nafter = g != NULL;
    return ft_submit_ok(x->rt, &t);
}

static void rb_expect_failed(fx_t *x, const rb_case_t *c, fronta_future_t *f)
{
    FT_EXPECT_OUTCOME(f, FRONTA_EDEVICE);
    const char *msg = ft_message(f);
    fronta_device_info_t info = {.size = sizeof info};
    assert_int_equal(fronta_device_info(x->rt, x->cl, &info), 0);
    if (!strstr(msg, "CL_OUT_OF_RESOURCES") || !strstr(msg, info.name))
        fail_msg("%s, pre %s: the message names neither the status nor the device: %s",
                 c->inout ? "INOUT" : "OUT", pre_name[c->pre], msg);
}

static void rb_run(fx_t *x, const rb_case_t *c)
{
    uint32_t ax[N], ay[N], mx[N], my[N];
    fill(ax, 40);
    fill(ay, 7000);
    memcpy(mx, ax, sizeof ax);
    memcpy(my, ay, sizeof ay);
    fronta_buffer_t *bx, *by;
    assert_int_equal(fronta_buffer_wrap(x->rt, ax, N, FRONTA_INT32, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(x->rt, ay, N, FRONTA_INT32, &by), 0);
    fronta_future_t *fw = NULL, *g = NULL;
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_device_stats_t s0 = ft_dstats(x->rt, x->cl);
    if (c->pre == PRE_DEVICE) {
        fw = rb_submit_w(x, by, NULL);
        FT_EXPECT_OUTCOME(fw, 0);
    } else if (c->pre == PRE_CHAINED) {
        g = ft_gate_submit(x->rt, &gate);
        fw = rb_submit_w(x, by, &g);
        fronta__opencl_fault_skip(x->rt, FRONTA__CLFAULT_EVENT, 1); /* W's completion passes */
    }
    if (fw)
        apply_add(my, 2);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, CL_OUT_OF_RESOURCES, c->failures);
    fronta_future_t *f = rb_submit_f(x, c, bx, by);
    if (g)
        ft_gate_open(&gate);
    int want_ok = c->failures <= c->retries;
    if (want_ok)
        FT_EXPECT_OUTCOME(f, 0);
    else
        rb_expect_failed(x, c, f);
    if (fw)
        FT_EXPECT_OUTCOME(fw, 0);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, 0, 0);
    fronta__opencl_fault_skip(x->rt, FRONTA__CLFAULT_EVENT, 0);
    fronta_device_stats_t s1 = ft_dstats(x->rt, x->cl);
    print_message("[ info     ] zero_copy %d, %s, pre %s, retries %d, %d failing: %s; "
                  "chained %llu\n", x->zero_copy, c->inout ? "INOUT" : "OUT",
                  pre_name[c->pre], c->retries, c->failures, fronta_err_name(ft_outcome(f)),
                  (unsigned long long)(s1.kernels_chained - s0.kernels_chained));
    if (c->pre == PRE_CHAINED)
        assert_true(s1.kernels_chained > s0.kernels_chained);
    assert_int_equal(fronta_future_device(f), x->cl);
    if (want_ok) {
        rb_apply(c, mx, my);
        ft_check_buffer(by, my, N, "y after a retry");
    } else {
        void *p = (void *)&p;
        FT_EXPECT_RC(fronta_buffer_acquire(by, FRONTA_ACCESS_IN, FT_LIMIT, &p), FRONTA_EDEVICE);
    }
    ft_check_buffer(bx, mx, N, "x, read by F");
    fronta_future_release(f);
    if (fw)
        fronta_future_release(fw);
    if (g)
        fronta_future_release(g);
    assert_int_equal(fronta_buffer_destroy(bx), 0);
    assert_int_equal(fronta_buffer_destroy(by), 0);
    /* The wrapped arrays hold exactly the last valid contents. */
    assert_memory_equal(ax, mx, sizeof ax);
    for (size_t i = 0; i < N; i++)
        if (ay[i] != my[i])
            fail_msg("zero_copy %d, %s, pre %s, retries %d, %d failing: y[%zu] is %u, "
                     "expected %u", x->zero_copy, c->inout ? "INOUT" : "OUT",
                     pre_name[c->pre], c->retries, c->failures, i, ay[i], my[i]);
}

/* F fails (no retries; or retries 1 and both attempts fail) or succeeds
 * on its retry, for each output mode and place of the last valid
 * contents. INOUT tasks cannot have retries (submit refuses them). */
static void failed_kernel_rolled_back(void **state)
{
    fx_t *x = *state;
    static const int tries[][2] = {{0, 1}, {1, 2}, {1, 1}}; /* retries, failures */
    for (int inout = 0; inout < 2; inout++)
        for (int pre = PRE_HOST; pre <= PRE_CHAINED; pre++)
            for (size_t t = 0; t < sizeof tries / sizeof tries[0]; t++) {
                if (inout && tries[t][0])
                    continue;
                rb_case_t c = {inout, pre, tries[t][0], tries[t][1]};
                rb_run(x, &c);
            }
}

/* FRONTA_ROLLBACK=host keeps the roll-backs that cost nothing: on the
 * copy path, contents the host holds come back after a failure at
 * completion, for OUT and INOUT, with and without a successful retry. */
static void host_rollback_keeps_host_copy(void **state)
{
    fx_t *x = *state;
    static const int tries[][2] = {{0, 1}, {1, 2}, {1, 1}};
    for (int inout = 0; inout < 2; inout++)
        for (size_t t = 0; t < sizeof tries / sizeof tries[0]; t++) {
            if (inout && tries[t][0])
                continue;
            rb_case_t c = {inout, PRE_HOST, tries[t][0], tries[t][1]};
            rb_run(x, &c);
        }
}

/* A chain on y behind a gate: W1 (succeeds), F (fails at completion),
 * then D1, D2 reading and writing y (chained behind F: they run on the
 * device and fail with EDEPFAILED), then an OUT writer O of z chained on
 * D2 that reads y... fails too; y keeps W1's output. A second round ends
 * the chain with an OUT writer of y (order-only after F's run): it
 * succeeds, and y is its output. */
static void failed_run_rolled_back(void **state)
{
    fx_t *x = *state;
    for (int round = 0; round < 2; round++) {
        uint32_t ay[N], my[N], ax[N], mx[N];
        fill(ay, 300);
        fill(ax, 11);
        memcpy(my, ay, sizeof ay);
        memcpy(mx, ax, sizeof ax);
        fronta_buffer_t *by, *bx;
        assert_int_equal(fronta_buffer_wrap(x->rt, ay, N, FRONTA_INT32, &by), 0);
        assert_int_equal(fronta_buffer_wrap(x->rt, ax, N, FRONTA_INT32, &bx), 0);
        ft_gate_t gate;
        ft_gate_init(&gate, 0);
        fronta_future_t *g = ft_gate_submit(x->rt, &gate);
        fronta_future_t *f[5];
        for (int i = 0; i < 4; i++) {
            fronta_task_desc_t t = ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL,
                                           FRONTA_INOUT(by), FRONTA_I32(i + 1), FT_NOARG);
            t.after = i == 0 ? &g : NULL;
            t.nafter = i == 0;
            f[i] = ft_submit_ok(x->rt, &t);
        }
        apply_add(my, 1); /* W1 */
        fronta_task_desc_t t = round == 0
                                   ? ft_task(x->clonly.add_into, FRONTA_NEED_OPENCL,
                                             FRONTA_IN(by), FRONTA_INOUT(bx), FT_NOARG)
                                   : ft_task(x->clonly.copy_scaled, FRONTA_NEED_OPENCL,
                                             FRONTA_IN(bx), FRONTA_OUT(by), FRONTA_I32(3));
        f[4] = ft_submit_ok(x->rt, &t);
        fronta__opencl_fault_skip(x->rt, FRONTA__CLFAULT_EVENT, 1);
        fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, CL_OUT_OF_RESOURCES, 1);
        ft_gate_open(&gate);
        FT_EXPECT_OUTCOME(f[0], 0);
        FT_EXPECT_OUTCOME(f[1], FRONTA_EDEVICE);
        FT_EXPECT_OUTCOME(f[2], FRONTA_EDEPFAILED);
        FT_EXPECT_OUTCOME(f[3], FRONTA_EDEPFAILED);
        FT_EXPECT_OUTCOME(f[4], round == 0 ? FRONTA_EDEPFAILED : 0);
        fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, 0, 0);
        fronta__opencl_fault_skip(x->rt, FRONTA__CLFAULT_EVENT, 0);
        if (round == 1) {
            for (size_t i = 0; i < N; i++)
                my[i] = ft_model_copy_scaled(mx[i], 3, i);
            ft_check_buffer(by, my, N, "y, rewritten by OUT after the failed run");
        }
        for (int i = 0; i < 5; i++)
            fronta_future_release(f[i]);
        fronta_future_release(g);
        assert_int_equal(fronta_buffer_destroy(by), 0);
        assert_int_equal(fronta_buffer_destroy(bx), 0);
        assert_memory_equal(ay, my, sizeof ay);
        assert_memory_equal(ax, mx, sizeof ax);
    }
}

/* No device memory for a pre-image (the first allocation after W fails):
 * on the copy path the contents W left on the device are brought to the
 * host instead (bytes to the host), and F, failing at completion, leaves
 * them. With zero-copy F takes the spare W's own pre-image left. */
static void preimage_on_host(void **state)
{
    fx_t *x = *state;
    uint32_t ay[N], my[N];
    fill(ay, 123);
    memcpy(my, ay, sizeof ay);
    fronta_buffer_t *by;
    assert_int_equal(fronta_buffer_wrap(x->rt, ay, N, FRONTA_INT32, &by), 0);
    fronta_future_t *fw = rb_submit_w(x, by, NULL);
    FT_EXPECT_OUTCOME(fw, 0);
    apply_add(my, 2);
    fronta_device_stats_t s0 = ft_dstats(x->rt, x->cl);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ALLOC, CL_MEM_OBJECT_ALLOCATION_FAILURE, 1);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, CL_OUT_OF_RESOURCES, 1);
    rb_case_t c = {1, PRE_DEVICE, 0, 1};
    fronta_future_t *f = rb_submit_f(x, &c, NULL, by);
    rb_expect_failed(x, &c, f);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ALLOC, 0, 0);
    fronta__opencl_fault(x->rt, FRONTA__CLFAULT_EVENT, 0, 0);
    fronta_device_stats_t s1 = ft_dstats(x->rt, x->cl);
    print_message("[ info     ] zero_copy %d: bytes to the host %llu -> %llu\n", x->zero_copy,
                  (unsigned long long)s0.bytes_to_host, (unsigned long long)s1.bytes_to_host);
    if (x->zero_copy < 0)
        assert_true(s1.bytes_to_host >= s0.bytes_to_host + sizeof ay);
    fronta_future_release(f);
    fronta_future_release(fw);
    assert_int_equal(fronta_buffer_destroy(by), 0);
    assert_memory_equal(ay, my, sizeof ay);
}

/* A kernel of two passes, x[i] += 1 + pass: x += 3 in all. */
static int two_pass_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    if (na != 1 || a[0].count != n)
        return FRONTA_EINVAL;
    uint32_t *v = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        v[i] += 3;
    return 0;
}

static fronta_kernel_t *two_pass_kernel(fronta_runtime_t *rt)
{
    static const fronta_param_t params[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT,
         .count = FRONTA_COUNT_GLOBAL},
    };
    fronta_kernel_desc_t d = {
        .size = sizeof d,
        .name = "ft_two_pass",
        .params = params,
        .nparams = 1,
        .cpu = two_pass_cpu,
        .cl_source = "__kernel void ft_two_pass(__global uint *x, ulong rows, ulong cols,\n"
                     "                          ulong nx, uint pass)\n"
                     "{ size_t i = get_global_id(0); if (i < nx) x[i] += 1u + pass; }\n",
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS,
        .cl_passes = 2,
    };
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    return k;
}

/* The second pass of a kernel fails to enqueue after the first ran: the
 * pass is rolled back, so the task falls back to the pool (NEED_ANY) on
 * its input as it was, or fails (NEED_OPENCL) leaving it. It follows W,
 * a kernel on x behind a gate, so that it is placed on the device. */
static void passes_rolled_back(void **state)
{
    fx_t *x = *state;
    fronta_kernel_t *k = two_pass_kernel(x->rt);
    for (int any = 0; any < 2; any++) {
        uint32_t arr[N], model[N];
        fill(arr, 900);
        memcpy(model, arr, sizeof arr);
        fronta_buffer_t *b;
        assert_int_equal(fronta_buffer_wrap(x->rt, arr, N, FRONTA_INT32, &b), 0);
        ft_gate_t gate;
        ft_gate_init(&gate, 0);
        fronta_future_t *g = ft_gate_submit(x->rt, &gate);
        fronta_future_t *fw = rb_submit_w(x, b, &g);
        fronta_task_desc_t t = ft_task(k, any ? FRONTA_NEED_ANY : FRONTA_NEED_OPENCL,
                                       FRONTA_INOUT(b), FT_NOARG, FT_NOARG);
        fronta_future_t *f = ft_submit_ok(x->rt, &t);
        assert_int_equal(fronta_future_device(f), x->cl);
        fronta_device_stats_t s0 = ft_dstats(x->rt, x->cl);
        /* W's enqueue and the first pass's succeed, the second's fails. */
        fronta__opencl_fault_skip(x->rt, FRONTA__CLFAULT_ENQUEUE, 2);
        fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ENQUEUE, CL_OUT_OF_RESOURCES, 1);
        ft_gate_open(&gate);
        FT_EXPECT_OUTCOME(fw, 0);
        apply_add(model, 2);
        int e = ft_outcome(f);
        fronta__opencl_fault(x->rt, FRONTA__CLFAULT_ENQUEUE, 0, 0);
        fronta__opencl_fault_skip(x->rt, FRONTA__CLFAULT_ENQUEUE, 0);
        fronta_device_stats_t s1 = ft_dstats(x->rt, x->cl);
        print_message("[ info     ] zero_copy %d, %s: %s %s\n", x->zero_copy,
                      any ? "NEED_ANY" : "NEED_OPENCL", fronta_err_name(e), ft_message(f));
        if (any) {
            FT_EXPECT_OUTCOME(f, 0);
            assert_int_equal(fronta_future_device(f), 0);
            assert_int_equal(s1.fallbacks, s0.fallbacks + 1);
            for (size_t i = 0; i < N; i++)
                model[i] += 3;
            ft_check_buffer(b, model, N, "x after the fallback");
        } else {
            FT_EXPECT_OUTCOME(f, FRONTA_EDEVICE);
            if (!strstr(ft_message(f), "rolled back"))
                fail_msg("the message does not say the pass was rolled back: %s",
                         ft_message(f));
        }
        fronta_future_release(f);
        fronta_future_release(fw);
        fronta_future_release(g);
        assert_int_equal(fronta_buffer_destroy(b), 0);
        assert_memory_equal(arr, model, sizeof arr);
    }
}

/* count 0 clears a fault before it fires. */
static void fault_cleared(void **state)
{
    fx_t *x = *state;
    uint32_t arr[N], model[N];
    fill(arr, 1);
    memcpy(model, arr, sizeof arr);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(x->rt, arr, N, FRONTA_INT32, &b), 0);
    int ops[] = {FRONTA__CLFAULT_ALLOC, FRONTA__CLFAULT_ENQUEUE, FRONTA__CLFAULT_EVENT};
    for (int i = 0; i < 3; i++) {
        fronta__opencl_fault(x->rt, ops[i], CL_OUT_OF_RESOURCES, 5);
        fronta__opencl_fault(x->rt, ops[i], 0, 0);
        fronta_task_desc_t t = ft_task(x->clonly.add_const, FRONTA_NEED_OPENCL,
                                       FRONTA_INOUT(b), FRONTA_I32(i), FT_NOARG);
        fronta_future_t *f = ft_submit_ok(x->rt, &t);
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
        apply_add(model, i);
    }
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_memory_equal(arr, model, sizeof arr);
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    if (!ft_have_opencl()) {
        puts("no OpenCL device: skipped");
        return 77;
    }
#define FAULT_TESTS(setup)                                                     \
    cmocka_unit_test_setup_teardown(alloc_fault_falls_back, setup, teardown),  \
    cmocka_unit_test_setup_teardown(enqueue_fault_falls_back, setup, teardown), \
    cmocka_unit_test_setup_teardown(fallback_in_chain, setup, teardown),       \
    cmocka_unit_test_setup_teardown(alloc_fault_fails, setup, teardown),       \
    cmocka_unit_test_setup_teardown(enqueue_fault_fails, setup, teardown),     \
    cmocka_unit_test_setup_teardown(need_opencl_never_falls_back, setup, teardown), \
    cmocka_unit_test_setup_teardown(event_fault, setup, teardown),             \
    cmocka_unit_test_setup_teardown(failed_kernel_rolled_back, setup, teardown), \
    cmocka_unit_test_setup_teardown(failed_run_rolled_back, setup, teardown),  \
    cmocka_unit_test_setup_teardown(passes_rolled_back, setup, teardown),      \
    cmocka_unit_test_setup_teardown(preimage_on_host, setup, teardown),        \
    cmocka_unit_test_setup_teardown(fault_cleared, setup, teardown)
    const struct CMUnitTest zero_copy[] = {FAULT_TESTS(setup_zero_copy)};
    const struct CMUnitTest copy_path[] = {FAULT_TESTS(setup_copy_path)};
    const struct CMUnitTest host_rb[] = {
        cmocka_unit_test_setup_teardown(host_rollback_keeps_host_copy, setup_host_rollback,
                                        teardown),
    };
#undef FAULT_TESTS
    int rc = cmocka_run_group_tests_name("zero-copy", zero_copy, NULL, NULL);
    rc |= cmocka_run_group_tests_name("copy path", copy_path, NULL, NULL);
    rc |= cmocka_run_group_tests_name("FRONTA_ROLLBACK=host", host_rb, NULL, NULL);
    return rc;
}
