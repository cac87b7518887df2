/* Tests of buffers: wrap/create/destroy, host acquire and release, failure propagation, access order, and a random coherence stress against a serial model. */
#include "test_kernels.h"

#include <pthread.h>

/* ---- kernels only this file uses -------------------------------------- */

/* An access log: each logging task takes a ticket when it starts and one
 * when it ends; task 0 also waits at a gate in between. Workers record,
 * the main thread asserts. */
typedef struct alog {
    atomic_int clock;
    atomic_int start[8], end[8];
    ft_gate_t gate;
} alog_t;

static int k_log(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    (void)n;
    alog_t *log = (alog_t *)(intptr_t)a[1].v.i64;
    int tag = a[2].v.i32;
    atomic_store(&log->start[tag], atomic_fetch_add(&log->clock, 1) + 1);
    if (tag == 0) {
        double deadline = ft_now() + FT_LIMIT;
        while (!atomic_load(&log->gate.open) && ft_now() < deadline)
            sched_yield();
    }
    atomic_store(&log->end[tag], atomic_fetch_add(&log->clock, 1) + 1);
    return 0;
}

static const fronta_param_t log_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .count = FRONTA_COUNT_ANY},
    {.kind = FRONTA_ARG_I64},
    {.kind = FRONTA_ARG_I32},
};

/* Fails; as a writer (INOUT) and as a reader (IN). */
static int k_fail(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a;
    (void)na;
    (void)n;
    return fronta_ctx_fail(ctx, FRONTA_ETASK, "k_fail fails on purpose");
}

static const fronta_param_t fail_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .count = FRONTA_COUNT_ANY},
};

static fronta_kernel_t *make_kernel(fronta_runtime_t *rt, const char *name,
                                    const fronta_param_t *p, size_t np, fronta_cpu_kernel_fn fn)
{
    fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .params = p, .nparams = np,
                              .cpu = fn};
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    return k;
}

static void fill_model(uint32_t *m, size_t n, uint32_t base)
{
    for (size_t i = 0; i < n; i++)
        m[i] = base + (uint32_t)i * 3u;
}

/* ---- basics ----------------------------------------------------------- */

static void dtype_sizes(void **state)
{
    (void)state;
    assert_int_equal(fronta_dtype_size(FRONTA_UINT8), 1);
    assert_int_equal(fronta_dtype_size(FRONTA_INT32), 4);
    assert_int_equal(fronta_dtype_size(FRONTA_INT64), 8);
    assert_int_equal(fronta_dtype_size(FRONTA_FLOAT), 4);
    assert_int_equal(fronta_dtype_size(FRONTA_DOUBLE), 8);
    assert_int_equal(fronta_dtype_size((fronta_dtype_t)0), 0);
    assert_int_equal(fronta_dtype_size((fronta_dtype_t)99), 0);
}

static void wrap_create_destroy(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    int32_t arr[97];
    fronta_buffer_t *b = (fronta_buffer_t *)&b;
    assert_int_equal(fronta_buffer_wrap(NULL, arr, 97, FRONTA_INT32, &b), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_wrap(rt, NULL, 97, FRONTA_INT32, &b), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_wrap(rt, arr, 97, (fronta_dtype_t)0, &b), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_wrap(rt, arr, 97, (fronta_dtype_t)42, &b), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_wrap(rt, arr, 97, FRONTA_INT32, NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_create(NULL, 5, FRONTA_INT32, &b), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_create(rt, 5, (fronta_dtype_t)0, &b), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_create(rt, 5, FRONTA_INT32, NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_destroy(NULL), 0);

    for (int i = 0; i < 97; i++)
        arr[i] = i;
    assert_int_equal(fronta_buffer_wrap(rt, arr, 97, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_count(b), 97);
    assert_int_equal(fronta_buffer_dtype(b), FRONTA_INT32);
    /* acquire gives the wrapped array itself. */
    void *p = NULL;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
    assert_ptr_equal(p, arr);
    assert_int_equal(fronta_buffer_release(b), 0);
    /* NULL host pointer is allowed. */
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, NULL), 0);
    assert_int_equal(fronta_buffer_release(b), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    for (int i = 0; i < 97; i++)
        assert_int_equal(arr[i], i);

    /* create: zero-filled, every type, sizes 1 and prime. */
    fronta_dtype_t types[] = {FRONTA_UINT8, FRONTA_INT32, FRONTA_INT64, FRONTA_FLOAT,
                              FRONTA_DOUBLE};
    size_t sizes[] = {1, 1021};
    for (size_t t = 0; t < 5; t++)
        for (size_t s = 0; s < 2; s++) {
            fronta_buffer_t *c = NULL;
            assert_int_equal(fronta_buffer_create(rt, sizes[s], types[t], &c), 0);
            assert_non_null(c);
            assert_int_equal(fronta_buffer_count(c), sizes[s]);
            assert_int_equal(fronta_buffer_dtype(c), types[t]);
            assert_int_equal(fronta_buffer_acquire(c, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
            assert_non_null(p);
            const unsigned char *bytes = p;
            for (size_t i = 0; i < sizes[s] * fronta_dtype_size(types[t]); i++)
                if (bytes[i])
                    fail_msg("created buffer: byte %zu is %d", i, bytes[i]);
            assert_int_equal(fronta_buffer_release(c), 0);
            assert_int_equal(fronta_buffer_destroy(c), 0);
        }

    /* destroy waits for the tasks and leaves the result in the wrapped
     * array, on every device, without an acquire. */
    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_BOTH);
    fronta_need_t needs[] = {FRONTA_NEED_CPU_POOL, FRONTA_NEED_OPENCL};
    for (int w = 0; w < (ft_cl_device(rt, 0) >= 0 ? 2 : 1); w++) {
        for (int i = 0; i < 97; i++)
            arr[i] = i;
        assert_int_equal(fronta_buffer_wrap(rt, arr, 97, FRONTA_INT32, &b), 0);
        fronta_buffer_t *c;
        assert_int_equal(fronta_buffer_create(rt, 97, FRONTA_INT32, &c), 0);
        fronta_task_desc_t t1 = ft_task(k.add_const, needs[w], FRONTA_INOUT(b), FRONTA_I32(5),
                                        FT_NOARG);
        fronta_task_desc_t t2 = ft_task(k.add_into, needs[w], FRONTA_IN(b), FRONTA_INOUT(c),
                                        FT_NOARG);
        fronta_task_desc_t t3 = ft_task(k.add_const, needs[w], FRONTA_INOUT(b), FRONTA_I32(1),
                                        FT_NOARG);
        assert_int_equal(fronta_submit(rt, &t1, NULL), 0);
        assert_int_equal(fronta_submit(rt, &t2, NULL), 0);
        assert_int_equal(fronta_submit(rt, &t3, NULL), 0);
        assert_int_equal(fronta_buffer_destroy(b), 0);
        uint32_t want[97];
        for (int i = 0; i < 97; i++) {
            assert_int_equal(arr[i], i + 5 + i + 1 + i);
            want[i] = (uint32_t)(i + 5 + i);
        }
        ft_check_buffer(c, want, 97, "created buffer after add_into");
        assert_int_equal(fronta_buffer_destroy(c), 0);
    }
    fronta_runtime_destroy(rt);
}

/* ---- acquire and release ---------------------------------------------- */

static void acquire_release_on(fronta_runtime_t *rt, fronta_need_t need, const char *suffix)
{
    print_message("[ info     ] acquire/release, need %d\n", (int)need);
    ft_kernels_t k = ft_kernels(rt, suffix, FT_IMPL_BOTH);
    enum { N = 97 };
    uint32_t arr[N], model[N];
    fill_model(arr, N, 1);
    memcpy(model, arr, sizeof arr);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, arr, N, FRONTA_INT32, &b), 0);
    fronta_task_desc_t add = ft_task(k.add_const, need, FRONTA_INOUT(b), FRONTA_I32(5), FT_NOARG);
#define ADD(c_)                                                                \
    do {                                                                       \
        add.args[1] = FRONTA_I32(c_);                                          \
        fronta_future_t *f_ = ft_submit_ok(rt, &add);                          \
        fronta_future_release(f_);                                             \
        for (size_t j = 0; j < N; j++)                                         \
            model[j] = ft_model_add_const(model[j], (c_), j);                  \
    } while (0)

    /* IN sees the tasks' writes. */
    ADD(5);
    ft_check_buffer(b, model, N, "IN after a task");

    /* INOUT: the host's writes reach later tasks. */
    void *p = NULL;
    ADD(6);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &p), 0);
    assert_ptr_equal(p, arr);
    uint32_t *h = p;
    for (size_t i = 0; i < N; i++) {
        if (h[i] != model[i])
            fail_msg("INOUT: element %zu is %u, expected %u", i, h[i], model[i]);
        h[i] = model[i] = model[i] * 2u + 1u;
    }
    assert_int_equal(fronta_buffer_release(b), 0);
    ADD(7);
    ft_check_buffer(b, model, N, "a task after INOUT");

    /* OUT: the host overwrites everything. */
    ADD(8);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
    h = p;
    fill_model(h, N, 1000);
    fill_model(model, N, 1000);
    assert_int_equal(fronta_buffer_release(b), 0);
    ADD(9);
    ft_check_buffer(b, model, N, "a task after OUT");

    /* A task submitted while the host holds the buffer waits for release
     * and sees what the host wrote. */
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &p), 0);
    h = p;
    add.args[1] = FRONTA_I32(10);
    fronta_future_t *held = ft_submit_ok(rt, &add);
    double until = ft_now() + 0.05;
    while (ft_now() < until)
        sched_yield();
    assert_false(fronta_future_done(held));
    for (size_t i = 0; i < N; i++)
        h[i] = model[i] = model[i] + 77u;
    for (size_t j = 0; j < N; j++)
        model[j] = ft_model_add_const(model[j], 10, j);
    assert_int_equal(fronta_buffer_release(b), 0);
    FT_EXPECT_OUTCOME(held, 0);
    fronta_future_release(held);
    ft_check_buffer(b, model, N, "a task submitted during INOUT");

    /* While the host reads, a writer submitted meanwhile waits for the
     * release (a reader may or may not). */
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
    fronta_buffer_t *c;
    assert_int_equal(fronta_buffer_create(rt, N, FRONTA_INT32, &c), 0);
    fronta_task_desc_t rd = ft_task(k.copy_scaled, need, FRONTA_IN(b), FRONTA_OUT(c),
                                    FRONTA_I32(2));
    fronta_future_t *fr = ft_submit_ok(rt, &rd);
    add.args[1] = FRONTA_I32(11);
    fronta_future_t *fw = ft_submit_ok(rt, &add);
    until = ft_now() + 0.05;
    while (ft_now() < until)
        sched_yield();
    assert_false(fronta_future_done(fw));
    h = p;
    for (size_t i = 0; i < N; i++)
        if (h[i] != model[i])
            fail_msg("IN held: element %zu is %u, expected %u", i, h[i], model[i]);
    assert_int_equal(fronta_buffer_release(b), 0);
    FT_EXPECT_OUTCOME(fr, 0);
    FT_EXPECT_OUTCOME(fw, 0);
    fronta_future_release(fr);
    fronta_future_release(fw);
    uint32_t want[N];
    for (size_t j = 0; j < N; j++) {
        want[j] = ft_model_copy_scaled(model[j], 2, j);
        model[j] = ft_model_add_const(model[j], 11, j);
    }
    ft_check_buffer(c, want, N, "the copy made while the host read");
    ft_check_buffer(b, model, N, "the writer after the host's read");
    assert_int_equal(fronta_buffer_destroy(c), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_memory_equal(arr, model, sizeof arr);
#undef ADD
}

static void acquire_release(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    acquire_release_on(rt, FRONTA_NEED_CPU_POOL, ".pool");
    if (ft_cl_device(rt, 0) >= 0)
        acquire_release_on(rt, FRONTA_NEED_OPENCL, ".cl");
    fronta_runtime_destroy(rt);
    rt = ft_runtime_dev("all", -1);
    if (ft_cl_device(rt, 0) >= 0)
        acquire_release_on(rt, FRONTA_NEED_OPENCL, ".clcopy");
    fronta_runtime_destroy(rt);
}

/* A timed-out acquire holds nothing; the task that held it up still runs. */
static void acquire_timeout(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *k = make_kernel(rt, "log", log_params, 3, k_log);
    int32_t arr[8] = {0};
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, arr, 8, FRONTA_INT32, &b), 0);
    static alog_t log;
    memset(&log, 0, sizeof log);
    ft_gate_init(&log.gate, 0);
    fronta_task_desc_t t = ft_task(k, FRONTA_NEED_ANY, FRONTA_INOUT(b),
                                   FRONTA_I64((int64_t)(intptr_t)&log), FRONTA_I32(0));
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_SPIN_UNTIL(atomic_load(&log.start[0]) != 0);
    assert_true(atomic_load(&log.start[0]) != 0);
    void *p = NULL;
    double t0 = ft_now();
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, 0.05, &p), FRONTA_ETIMEDOUT);
    assert_true(ft_now() - t0 >= 0.04);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, 0, &p), FRONTA_ETIMEDOUT);
    ft_gate_open(&log.gate);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &p), 0);
    assert_true(fronta_future_done(f));
    assert_int_equal(fronta_buffer_release(b), 0);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_acquire(NULL, FRONTA_ACCESS_IN, 0, &p), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    fronta_runtime_destroy(rt);
}

/* ---- order of accesses ------------------------------------------------ */

/* W0 (held at a gate) INOUT b; R1, R2 IN b; W3 OUT b; R4 IN b; and X5
 * INOUT c on another buffer. RAW, WAR and WAW order b's tasks; c's task
 * does not wait for b's. */
static void access_order(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *k = make_kernel(rt, "log", log_params, 3, k_log);
    int32_t arr[4] = {0}, other[4] = {0};
    fronta_buffer_t *b, *c;
    assert_int_equal(fronta_buffer_wrap(rt, arr, 4, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_wrap(rt, other, 4, FRONTA_INT32, &c), 0);
    static alog_t log;
    memset(&log, 0, sizeof log);
    ft_gate_init(&log.gate, 0);
    fronta_arg_t lp = FRONTA_I64((int64_t)(intptr_t)&log);
    fronta_arg_t mode[6] = {FRONTA_INOUT(b), FRONTA_IN(b), FRONTA_IN(b),
                            FRONTA_OUT(b),   FRONTA_IN(b), FRONTA_INOUT(c)};
    fronta_future_t *f[6];
    for (int i = 0; i < 6; i++) {
        fronta_task_desc_t t = ft_task(k, FRONTA_NEED_ANY, mode[i], lp, FRONTA_I32(i));
        f[i] = ft_submit_ok(rt, &t);
        if (i == 0) {
            FT_SPIN_UNTIL(atomic_load(&log.start[0]) != 0);
            assert_true(atomic_load(&log.start[0]) != 0);
        }
    }
    /* The other buffer's task runs while W0 holds b. */
    FT_SPIN_UNTIL(fronta_future_done(f[5]));
    assert_true(fronta_future_done(f[5]));
    for (int i = 1; i < 5; i++) {
        assert_int_equal(atomic_load(&log.start[i]), 0);
        assert_false(fronta_future_done(f[i]));
    }
    ft_gate_open(&log.gate);
    for (int i = 0; i < 6; i++) {
        FT_EXPECT_OUTCOME(f[i], 0);
        fronta_future_release(f[i]);
    }
    int s[6], e[6];
    for (int i = 0; i < 6; i++) {
        s[i] = atomic_load(&log.start[i]);
        e[i] = atomic_load(&log.end[i]);
        print_message("[ info     ] task %d: start %d end %d\n", i, s[i], e[i]);
    }
    assert_true(s[1] > e[0] && s[2] > e[0]);   /* RAW */
    assert_true(s[3] > e[1] && s[3] > e[2]);   /* WAR */
    assert_true(s[3] > e[0]);                  /* WAW */
    assert_true(s[4] > e[3]);                  /* RAW */
    assert_true(e[5] < e[0]);                  /* independent */
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(c), 0);
    fronta_runtime_destroy(rt);
}

/* One buffer as two arguments: its modes merge (IN + INOUT, IN + OUT) and
 * the kernel sees one array. On every device, both memory paths. */
static void same_buffer_twice(void **state)
{
    (void)state;
    for (int zc = 0; zc >= -1; zc--) {
        fronta_runtime_t *rt = ft_runtime_dev("all", zc);
        ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_BOTH);
        int cl = ft_cl_device(rt, 0);
        fronta_need_t needs[] = {FRONTA_NEED_CPU_POOL, FRONTA_NEED_OPENCL};
        enum { N = 257 };
        for (int w = 0; w < (cl >= 0 ? 2 : 1); w++) {
            uint32_t arr[N], model[N];
            fill_model(arr, N, 4);
            memcpy(model, arr, sizeof arr);
            fronta_buffer_t *b;
            assert_int_equal(fronta_buffer_wrap(rt, arr, N, FRONTA_INT32, &b), 0);
            fronta_task_desc_t t1 = ft_task(k.add_into, needs[w], FRONTA_IN(b), FRONTA_INOUT(b),
                                            FT_NOARG);
            fronta_task_desc_t t2 = ft_task(k.copy_scaled, needs[w], FRONTA_IN(b),
                                            FRONTA_OUT(b), FRONTA_I32(3));
            fronta_future_t *f1 = ft_submit_ok(rt, &t1);
            fronta_future_t *f2 = ft_submit_ok(rt, &t2);
            fronta_future_t *f3 = ft_submit_ok(rt, &t1);
            FT_EXPECT_OUTCOME(f1, 0);
            FT_EXPECT_OUTCOME(f2, 0);
            FT_EXPECT_OUTCOME(f3, 0);
            for (size_t i = 0; i < N; i++)
                model[i] = ft_model_copy_scaled(model[i] * 2u, 3, i) * 2u;
            ft_check_buffer(b, model, N, "one buffer as two arguments");
            fronta_future_release(f1);
            fronta_future_release(f2);
            fronta_future_release(f3);
            assert_int_equal(fronta_buffer_destroy(b), 0);
            assert_memory_equal(arr, model, sizeof arr);
        }
        fronta_runtime_destroy(rt);
    }
}

/* ---- failures --------------------------------------------------------- */

static void producer_failure(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    int cl = ft_cl_device(rt, 0);
    fronta_kernel_t *kf = make_kernel(rt, "fail", fail_params, 1, k_fail);
    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_BOTH);
    enum { N = 13 };
    uint32_t arr[N], model[N];
    fill_model(arr, N, 5);
    memcpy(model, arr, sizeof arr);
    fronta_buffer_t *b, *c;
    assert_int_equal(fronta_buffer_wrap(rt, arr, N, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_create(rt, N, FRONTA_INT32, &c), 0);

    /* A failed writer: the host gets its error, and holds nothing. */
    fronta_task_desc_t tw = ft_task(kf, FRONTA_NEED_ANY, FRONTA_INOUT(b), FT_NOARG, FT_NOARG);
    fronta_future_t *fw0 = ft_submit_ok(rt, &tw);
    FT_EXPECT_OUTCOME(fw0, FRONTA_ETASK);
    void *p = (void *)&p;
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), FRONTA_ETASK);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, 0, &p), FRONTA_ETASK);
    fronta_future_release(fw0);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
    memcpy(p, model, sizeof model);
    assert_int_equal(fronta_buffer_release(b), 0);

    /* Its readers fail, so do their outputs' readers. */
    fronta_future_t *fw = ft_submit_ok(rt, &tw);
    fronta_task_desc_t t1 = ft_task(k.add_const, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b),
                                    FRONTA_I32(1), FT_NOARG);
    fronta_future_t *f1 = ft_submit_ok(rt, &t1);
    fronta_task_desc_t t2 = ft_task(k.copy_scaled, FRONTA_NEED_ANY, FRONTA_IN(b), FRONTA_OUT(c),
                                    FRONTA_I32(2));
    fronta_future_t *f2 = ft_submit_ok(rt, &t2);
    fronta_future_t *f3 = NULL;
    if (cl >= 0) {
        fronta_task_desc_t t3 = ft_task(k.add_into, FRONTA_NEED_OPENCL, FRONTA_IN(b),
                                        FRONTA_INOUT(c), FT_NOARG);
        f3 = ft_submit_ok(rt, &t3);
    }
    /* A plain function after the failed task fails too. */
    fronta_call_t call = {.size = sizeof call, .fn = ft_square_task, .arg = &(int64_t){2},
                          .arg_size = sizeof(int64_t), .after = &fw, .nafter = 1};
    fronta_future_t *fp = NULL;
    assert_int_equal(fronta_submit_call(rt, &call, &fp), 0);

    FT_EXPECT_OUTCOME(fw, FRONTA_ETASK);
    assert_non_null(strstr(ft_message(fw), "on purpose"));
    FT_EXPECT_OUTCOME(f1, FRONTA_EDEPFAILED);
    FT_EXPECT_OUTCOME(f2, FRONTA_EDEPFAILED);
    if (f3)
        FT_EXPECT_OUTCOME(f3, FRONTA_EDEPFAILED);
    FT_EXPECT_OUTCOME(fp, FRONTA_EDEPFAILED);
    fronta_error_t e;
    assert_int_equal(fronta_future_error(f1, &e), FRONTA_EDEPFAILED);
    assert_true(e.task_id == fronta_future_task_id(fw));

    /* The host: IN and INOUT fail with the last writer's error and hold
     * nothing; OUT clears the failure. */
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), FRONTA_EDEPFAILED);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &p), FRONTA_EDEPFAILED);
    FT_EXPECT_RC(fronta_buffer_acquire(c, FRONTA_ACCESS_IN, FT_LIMIT, &p), FRONTA_EDEPFAILED);
    /* Nothing is held: a task on b is refused again at once, not blocked. */
    fronta_future_t *f4 = ft_submit_ok(rt, &t1);
    FT_EXPECT_OUTCOME(f4, FRONTA_EDEPFAILED);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
    assert_ptr_equal(p, arr);
    memcpy(p, model, sizeof model);
    assert_int_equal(fronta_buffer_release(b), 0);
    fronta_future_t *f5 = ft_submit_ok(rt, &t1);
    FT_EXPECT_OUTCOME(f5, 0);
    for (size_t j = 0; j < N; j++)
        model[j] = ft_model_add_const(model[j], 1, j);
    ft_check_buffer(b, model, N, "after OUT cleared the failure");

    /* A failed reader fails neither the buffer nor later writers. */
    fronta_task_desc_t tr = ft_task(kf, FRONTA_NEED_ANY, FRONTA_IN(b), FT_NOARG, FT_NOARG);
    fronta_future_t *fr = ft_submit_ok(rt, &tr);
    FT_EXPECT_OUTCOME(fr, FRONTA_ETASK);
    ft_check_buffer(b, model, N, "after a failed reader");
    fronta_future_t *fr2 = ft_submit_ok(rt, &tr);
    fronta_future_t *f6 = ft_submit_ok(rt, &t1);
    FT_EXPECT_OUTCOME(fr2, FRONTA_ETASK);
    FT_EXPECT_OUTCOME(f6, 0);
    for (size_t j = 0; j < N; j++)
        model[j] = ft_model_add_const(model[j], 1, j);
    ft_check_buffer(b, model, N, "a writer after a failed reader");
    /* c: OUT by a task clears it too. */
    fronta_future_t *f7 = ft_submit_ok(rt, &t2);
    FT_EXPECT_OUTCOME(f7, 0);
    uint32_t want[N];
    for (size_t j = 0; j < N; j++)
        want[j] = ft_model_copy_scaled(model[j], 2, j);
    ft_check_buffer(c, want, N, "a task's OUT after a failure");

    fronta_future_t *all[] = {fw, f1, f2, f3, fp, f4, f5, fr, fr2, f6, f7};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            fronta_future_release(all[i]);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(c), 0);
    assert_memory_equal(arr, model, sizeof arr);
    fronta_runtime_destroy(rt);
}

/* ---- coherence stress ------------------------------------------------- */

enum { NB = 4, RING = 16, LOGN = 24 };

typedef struct stress {
    fronta_runtime_t *rt;
    ft_kernels_t k;
    int cl;
    size_t n;
    fronta_buffer_t *b[NB];
    uint32_t *model[NB];
    uint32_t *wrapped[NB]; /* NULL for a created buffer */
    fronta_future_t **fs;
    size_t nfs, capfs;
    fronta_future_t *ring[RING];
    size_t nring;
    uint64_t rng;
    char log[LOGN][80];
    size_t nlog;
    long ops[8];
} stress_t;

static void slog(stress_t *s, const char *fmt, ...) FRONTA_PRINTF(2, 3);
static void slog(stress_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->log[s->nlog % LOGN], sizeof s->log[0], fmt, ap);
    va_end(ap);
    s->nlog++;
}

static void sdump(stress_t *s)
{
    size_t from = s->nlog > LOGN ? s->nlog - LOGN : 0;
    for (size_t i = from; i < s->nlog; i++)
        print_error("  op %zu: %s\n", i, s->log[i % LOGN]);
}

static void scheck(stress_t *s, size_t bi, const uint32_t *got, const char *when)
{
    for (size_t i = 0; i < s->n; i++)
        if (got[i] != s->model[bi][i]) {
            print_error("coherence: n %zu, %s: buffer %zu element %zu is %u, expected %u\n",
                        s->n, when, bi, i, got[i], s->model[bi][i]);
            sdump(s);
            fail();
        }
}

static fronta_need_t srand_need(stress_t *s)
{
    uint64_t r = ft_rand(&s->rng) % 3;
    if (s->cl < 0)
        return r == 2 ? FRONTA_NEED_CPU_POOL : FRONTA_NEED_ANY;
    return r == 0 ? FRONTA_NEED_CPU_POOL : r == 1 ? FRONTA_NEED_OPENCL : FRONTA_NEED_ANY;
}

static void ssubmit(stress_t *s, fronta_task_desc_t *t)
{
    /* Futures as arguments: now and then, after one or two recent tasks. */
    fronta_future_t *after[2];
    if (s->nring && ft_rand(&s->rng) % 4 == 0) {
        size_t na = 1 + ft_rand(&s->rng) % 2;
        size_t have = s->nring < RING ? s->nring : RING;
        for (size_t i = 0; i < na; i++)
            after[i] = s->ring[ft_rand(&s->rng) % have];
        t->after = after;
        t->nafter = na;
    }
    fronta_future_t *f = NULL;
    int rc = fronta_submit(s->rt, t, &f);
    if (rc != 0) {
        print_error("coherence: submit %s: %s\n", fronta_kernel_name(t->kernel),
                    fronta_err_name(rc));
        sdump(s);
        fail();
    }
    t->after = NULL;
    t->nafter = 0;
    if (s->nfs == s->capfs) {
        s->capfs = s->capfs ? 2 * s->capfs : 256;
        s->fs = realloc(s->fs, s->capfs * sizeof *s->fs);
        assert_non_null(s->fs);
    }
    s->fs[s->nfs++] = f;
    s->ring[s->nring++ % RING] = f;
}

/* One random task; the model follows it. */
static void stask(stress_t *s)
{
    size_t x = ft_rand(&s->rng) % NB, y = (x + 1 + ft_rand(&s->rng) % (NB - 1)) % NB;
    fronta_need_t need = srand_need(s);
    int32_t c = (int32_t)(ft_rand(&s->rng) % 2001) - 1000;
    fronta_task_desc_t t;
    switch (ft_rand(&s->rng) % 3) {
    case 0:
        t = ft_task(s->k.add_const, need, FRONTA_INOUT(s->b[x]), FRONTA_I32(c), FT_NOARG);
        for (size_t i = 0; i < s->n; i++)
            s->model[x][i] = ft_model_add_const(s->model[x][i], c, i);
        slog(s, "add_const(b%zu, %d) need %d", x, c, (int)need);
        s->ops[0]++;
        break;
    case 1:
        t = ft_task(s->k.copy_scaled, need, FRONTA_IN(s->b[x]), FRONTA_OUT(s->b[y]),
                    FRONTA_I32(c));
        for (size_t i = 0; i < s->n; i++)
            s->model[y][i] = ft_model_copy_scaled(s->model[x][i], c, i);
        slog(s, "copy_scaled(b%zu -> b%zu, %d) need %d", x, y, c, (int)need);
        s->ops[1]++;
        break;
    default:
        t = ft_task(s->k.add_into, need, FRONTA_IN(s->b[x]), FRONTA_INOUT(s->b[y]), FT_NOARG);
        for (size_t i = 0; i < s->n; i++)
            s->model[y][i] += s->model[x][i];
        slog(s, "add_into(b%zu -> b%zu) need %d", x, y, (int)need);
        s->ops[2]++;
        break;
    }
    ssubmit(s, &t);
}

static void *sacquire(stress_t *s, size_t bi, fronta_access_t mode)
{
    void *p = NULL;
    int rc = fronta_buffer_acquire(s->b[bi], mode, FT_LIMIT, &p);
    if (rc != 0) {
        print_error("coherence: acquire b%zu mode %d: %s\n", bi, (int)mode, fronta_err_name(rc));
        sdump(s);
        fail();
    }
    if (!p || (s->wrapped[bi] && p != s->wrapped[bi])) {
        print_error("coherence: acquire b%zu gave %p (wrapped %p)\n", bi, p,
                    (void *)s->wrapped[bi]);
        fail();
    }
    return p;
}

/* One random host access; the model follows it. */
static void shost(stress_t *s)
{
    size_t bi = ft_rand(&s->rng) % NB;
    uint32_t v = (uint32_t)ft_rand(&s->rng);
    uint64_t r = ft_rand(&s->rng) % 8;
    uint32_t *h;
    if (r < 4) {
        slog(s, "host IN b%zu", bi);
        h = sacquire(s, bi, FRONTA_ACCESS_IN);
        scheck(s, bi, h, "host IN");
        s->ops[3]++;
    } else if (r < 6) {
        slog(s, "host INOUT b%zu ^ %u", bi, v);
        h = sacquire(s, bi, FRONTA_ACCESS_INOUT);
        scheck(s, bi, h, "host INOUT");
        for (size_t i = 0; i < s->n; i += 1 + i % 5)
            h[i] = s->model[bi][i] = h[i] ^ (v + (uint32_t)i);
        s->ops[4]++;
    } else if (r < 7) {
        slog(s, "host OUT b%zu = %u", bi, v);
        h = sacquire(s, bi, FRONTA_ACCESS_OUT);
        for (size_t i = 0; i < s->n; i++)
            h[i] = s->model[bi][i] = v * (uint32_t)i + 1u;
        s->ops[5]++;
    } else {
        /* Hold INOUT while tasks are submitted: they wait for the release
         * and see the host's writes. No other acquire meanwhile: a task on
         * another buffer may wait for this one. */
        slog(s, "host INOUT b%zu held over tasks", bi);
        h = sacquire(s, bi, FRONTA_ACCESS_INOUT);
        scheck(s, bi, h, "host INOUT (held)");
        uint32_t saved[5];
        size_t m = s->n < 5 ? s->n : 5;
        for (size_t i = 0; i < m; i++)
            saved[i] = s->model[bi][i] = s->model[bi][i] + v;
        /* The model applies the host's write first: submission order. */
        size_t ntask = 1 + ft_rand(&s->rng) % 2;
        for (size_t i = 0; i < ntask; i++)
            stask(s);
        for (size_t i = 0; i < m; i++)
            h[i] = saved[i];
        s->ops[6]++;
    }
    assert_int_equal(fronta_buffer_release(s->b[bi]), 0);
}

static void coherence_round(stress_t *s, size_t n, size_t steps)
{
    s->n = n;
    for (size_t i = 0; i < NB; i++) {
        s->model[i] = malloc(n * sizeof(uint32_t));
        assert_non_null(s->model[i]);
        for (size_t j = 0; j < n; j++)
            s->model[i][j] = (uint32_t)ft_rand(&s->rng);
        if (i % 2 == 0) {
            s->wrapped[i] = malloc(n * sizeof(uint32_t));
            assert_non_null(s->wrapped[i]);
            memcpy(s->wrapped[i], s->model[i], n * sizeof(uint32_t));
            assert_int_equal(fronta_buffer_wrap(s->rt, s->wrapped[i], n, FRONTA_INT32, &s->b[i]), 0);
        } else {
            s->wrapped[i] = NULL;
            assert_int_equal(fronta_buffer_create(s->rt, n, FRONTA_INT32, &s->b[i]), 0);
            uint32_t *h = sacquire(s, i, FRONTA_ACCESS_OUT);
            memcpy(h, s->model[i], n * sizeof(uint32_t));
            assert_int_equal(fronta_buffer_release(s->b[i]), 0);
        }
    }
    slog(s, "round n %zu", n);
    for (size_t st = 0; st < steps; st++) {
        if (ft_rand(&s->rng) % 4 == 0)
            shost(s);
        else
            stask(s);
    }
    for (size_t i = 0; i < NB; i++) {
        uint32_t *h = sacquire(s, i, FRONTA_ACCESS_IN);
        scheck(s, i, h, "end of round");
        assert_int_equal(fronta_buffer_release(s->b[i]), 0);
    }
    /* Mix the destroy: the last tasks may still be queued on the wrapped
     * ones, whose arrays must get the last contents. */
    for (size_t i = 0; i < 4 && i < NB; i++)
        stask(s);
    for (size_t i = 0; i < NB; i++) {
        assert_int_equal(fronta_buffer_destroy(s->b[i]), 0);
        if (s->wrapped[i])
            scheck(s, i, s->wrapped[i], "after destroy");
    }
    for (size_t i = 0; i < s->nfs; i++) {
        int e = ft_outcome(s->fs[i]);
        if (e != 0) {
            print_error("coherence: task %zu of the round failed: %s (%s)\n", i,
                        fronta_err_name(e), ft_message(s->fs[i]));
            fail();
        }
    }
    for (size_t i = 0; i < NB; i++) {
        free(s->model[i]);
        free(s->wrapped[i]);
    }
}

static void coherence(int zero_copy)
{
    stress_t s;
    memset(&s, 0, sizeof s);
    s.rt = ft_runtime_dev("all", zero_copy);
    s.cl = ft_cl_device(s.rt, 0);
    s.k = ft_kernels(s.rt, "", FT_IMPL_BOTH);
    s.rng = ft_seed(zero_copy < 0 ? "coherence, copy path" : "coherence, zero-copy");
    int ndev = fronta_device_count(s.rt);
    fronta_device_stats_t s0[8];
    assert_true(ndev <= 8);
    for (int d = 0; d < ndev; d++)
        s0[d] = ft_dstats(s.rt, d);
    static const size_t sizes[] = {1, 2, 97, 257, 1000, 4099};
    size_t steps = ft_scaled(300, 60);
    long per_dev[8] = {0};
    long total = 0;
    for (size_t r = 0; r < sizeof sizes / sizeof sizes[0]; r++) {
        coherence_round(&s, sizes[r], steps);
        for (size_t i = 0; i < s.nfs; i++) {
            int dev = fronta_future_device(s.fs[i]);
            assert_true(dev >= 0 && dev < ndev);
            per_dev[dev]++;
            fronta_future_release(s.fs[i]);
        }
        total += (long)s.nfs;
        s.nfs = 0;
        s.nring = 0;
    }
    free(s.fs);
    print_message("[ info     ] %ld tasks (add_const %ld, copy_scaled %ld, add_into %ld);"
                  " host IN %ld, INOUT %ld, OUT %ld, held %ld\n",
                  total, s.ops[0], s.ops[1], s.ops[2], s.ops[3], s.ops[4], s.ops[5], s.ops[6]);
    for (int d = 0; d < ndev; d++) {
        fronta_device_stats_t s1 = ft_dstats(s.rt, d);
        print_message("[ info     ] device %d: %ld tasks placed; run %llu, chained %llu,"
                      " wakeups %llu, fallbacks %llu, to device %llu B, to host %llu B,"
                      " maps %llu\n",
                      d, per_dev[d], (unsigned long long)(s1.tasks_run - s0[d].tasks_run),
                      (unsigned long long)(s1.kernels_chained - s0[d].kernels_chained),
                      (unsigned long long)(s1.host_wakeups - s0[d].host_wakeups),
                      (unsigned long long)(s1.fallbacks - s0[d].fallbacks),
                      (unsigned long long)(s1.bytes_to_device - s0[d].bytes_to_device),
                      (unsigned long long)(s1.bytes_to_host - s0[d].bytes_to_host),
                      (unsigned long long)(s1.maps - s0[d].maps));
        assert_int_equal(s1.tasks_run - s0[d].tasks_run, per_dev[d]);
        assert_int_equal(s1.fallbacks - s0[d].fallbacks, 0);
        if (d == 0)
            continue;
        fronta_device_info_t info = {.size = sizeof info};
        assert_int_equal(fronta_device_info(s.rt, d, &info), 0);
        if (per_dev[d] == 0)
            continue;
        if (zero_copy < 0 || !info.unified_memory) {
            /* The copy path ran: both directions. */
            assert_true(s1.bytes_to_device > s0[d].bytes_to_device);
            assert_true(s1.bytes_to_host > s0[d].bytes_to_host);
        } else {
            /* Zero-copy: maps, no copies. */
            assert_true(s1.maps > s0[d].maps);
            assert_int_equal(s1.bytes_to_device, s0[d].bytes_to_device);
            assert_int_equal(s1.bytes_to_host, s0[d].bytes_to_host);
        }
    }
    if (s.cl >= 0)
        assert_true(per_dev[s.cl] > 0);
    assert_true(per_dev[0] > 0);
    fronta_runtime_destroy(s.rt);
}

static void coherence_zero_copy(void **state)
{
    (void)state;
    coherence(0);
}

static void coherence_copy_path(void **state)
{
    (void)state;
    coherence(-1);
}

/* A cancelled writer: its reader is cancelled with it, the host gets
 * FRONTA_ECANCELLED, and OUT clears it. A kernel task after a failed
 * future fails without running. */
static void cancelled_writer(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_BOTH);
    fronta_kernel_t *kf = make_kernel(rt, "fail", fail_params, 1, k_fail);
    enum { N = 7 };
    uint32_t arr[N], model[N];
    fill_model(arr, N, 9);
    memcpy(model, arr, sizeof arr);
    fronta_buffer_t *b, *c;
    assert_int_equal(fronta_buffer_wrap(rt, arr, N, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_create(rt, N, FRONTA_INT32, &c), 0);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    fronta_task_desc_t tw = ft_task(k.add_const, FRONTA_NEED_ANY, FRONTA_INOUT(b),
                                    FRONTA_I32(1), FT_NOARG);
    tw.after = &g;
    tw.nafter = 1;
    fronta_future_t *fw = ft_submit_ok(rt, &tw);
    fronta_task_desc_t tr = ft_task(k.copy_scaled, FRONTA_NEED_ANY, FRONTA_IN(b),
                                    FRONTA_OUT(c), FRONTA_I32(2));
    fronta_future_t *fr = ft_submit_ok(rt, &tr);
    assert_int_equal(fronta_future_cancel(fw), 0);
    /* A cancelled kernel task keeps its place on b: done only after g. */
    assert_false(fronta_future_done(fw));
    ft_gate_open(&gate);
    FT_EXPECT_OUTCOME(fw, FRONTA_ECANCELLED);
    assert_int_equal(fronta_future_status(fw), FRONTA_CANCELLED);
    FT_EXPECT_OUTCOME(fr, FRONTA_ECANCELLED); /* cancelled with it, right after */
    assert_int_equal(fronta_future_status(fr), FRONTA_CANCELLED);
    void *p = (void *)&p;
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), FRONTA_ECANCELLED);
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
    memcpy(p, model, sizeof model);
    assert_int_equal(fronta_buffer_release(b), 0);
    ft_check_buffer(b, model, N, "after the cancelled writer");

    /* after: a failed future fails a kernel task on other buffers. */
    int32_t other[N] = {0};
    fronta_buffer_t *d;
    assert_int_equal(fronta_buffer_wrap(rt, other, N, FRONTA_INT32, &d), 0);
    fronta_task_desc_t tf = ft_task(kf, FRONTA_NEED_ANY, FRONTA_IN(d), FT_NOARG, FT_NOARG);
    fronta_future_t *ff = ft_submit_ok(rt, &tf);
    FT_EXPECT_OUTCOME(ff, FRONTA_ETASK);
    fronta_task_desc_t ta = ft_task(k.add_const, FRONTA_NEED_ANY, FRONTA_INOUT(b),
                                    FRONTA_I32(3), FT_NOARG);
    ta.after = &ff;
    ta.nafter = 1;
    fronta_future_t *fa = ft_submit_ok(rt, &ta);
    FT_EXPECT_OUTCOME(fa, FRONTA_EDEPFAILED);
    fronta_future_t *all[] = {g, fw, fr, ff, fa};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fronta_future_release(all[i]);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(c), 0);
    assert_int_equal(fronta_buffer_destroy(d), 0);
    fronta_runtime_destroy(rt);
}

/* ---- several submitting threads --------------------------------------- */

/* Threads add into one shared buffer (add_const and add_into commute, so
 * the result does not depend on the interleaving), each from its own
 * buffer that it also reads on the host now and then. Threads record,
 * the main thread asserts. */
enum { THREADS = 3, SN = 257 };

typedef struct submitter {
    fronta_runtime_t *rt;
    ft_kernels_t k;
    int cl;
    fronta_buffer_t *shared;
    fronta_buffer_t *own;
    uint32_t own_model[SN];
    uint64_t rng;
    size_t ntasks;
    uint32_t shared_add[SN]; /* what this thread's tasks add to shared */
    atomic_int errors;
    char what[160];
} submitter_t;

static void *submitter_main(void *arg)
{
    submitter_t *s = arg;
    fronta_future_t *fs[64];
    size_t nf = 0;
    for (size_t i = 0; i < s->ntasks; i++) {
        uint64_t r = ft_rand(&s->rng);
        fronta_need_t need = s->cl < 0 ? FRONTA_NEED_ANY
                                       : (fronta_need_t)(r % 3 == 0   ? FRONTA_NEED_CPU_POOL
                                                         : r % 3 == 1 ? FRONTA_NEED_OPENCL
                                                                      : FRONTA_NEED_ANY);
        int32_t c = (int32_t)((r >> 8) % 100);
        fronta_task_desc_t t;
        switch ((r >> 16) % 4) {
        case 0:
            t = ft_task(s->k.add_const, need, FRONTA_INOUT(s->shared), FRONTA_I32(c), FT_NOARG);
            for (size_t j = 0; j < SN; j++)
                s->shared_add[j] += ft_model_add_const(0, c, j);
            break;
        case 1:
            /* own changes only by this thread's tasks, in its order: the
             * value this task adds is the model's now. */
            t = ft_task(s->k.add_into, need, FRONTA_IN(s->own), FRONTA_INOUT(s->shared), FT_NOARG);
            for (size_t j = 0; j < SN; j++)
                s->shared_add[j] += s->own_model[j];
            break;
        case 2:
            t = ft_task(s->k.add_const, need, FRONTA_INOUT(s->own), FRONTA_I32(c), FT_NOARG);
            break;
        default: {
            void *p;
            int rc = fronta_buffer_acquire(s->own, FRONTA_ACCESS_IN, FT_LIMIT, &p);
            if (rc || memcmp(p, s->own_model, sizeof s->own_model) != 0) {
                snprintf(s->what, sizeof s->what, "host read of own buffer: rc %s, %s",
                         fronta_err_name(rc), rc ? "" : "contents differ");
                atomic_fetch_add(&s->errors, 1);
            }
            if (!rc)
                fronta_buffer_release(s->own);
            continue;
        }
        }
        fronta_future_t *f = NULL;
        int rc = fronta_submit(s->rt, &t, &f);
        if (rc) {
            snprintf(s->what, sizeof s->what, "submit: %s", fronta_err_name(rc));
            atomic_fetch_add(&s->errors, 1);
            break;
        }
        if ((r >> 16) % 4 == 2)
            for (size_t j = 0; j < SN; j++)
                s->own_model[j] = ft_model_add_const(s->own_model[j], c, j);
        if (nf == 64) {
            for (size_t j = 0; j < nf; j++) {
                if (fronta_future_wait(fs[j], FT_LIMIT) || fronta_future_error(fs[j], NULL)) {
                    snprintf(s->what, sizeof s->what, "task: %s",
                             fronta_err_name(fronta_future_error(fs[j], NULL)));
                    atomic_fetch_add(&s->errors, 1);
                }
                fronta_future_release(fs[j]);
            }
            nf = 0;
        }
        fs[nf++] = f;
    }
    for (size_t j = 0; j < nf; j++) {
        if (fronta_future_wait(fs[j], FT_LIMIT) || fronta_future_error(fs[j], NULL)) {
            snprintf(s->what, sizeof s->what, "task: %s",
                     fronta_err_name(fronta_future_error(fs[j], NULL)));
            atomic_fetch_add(&s->errors, 1);
        }
        fronta_future_release(fs[j]);
    }
    return NULL;
}

static void concurrent_submitters(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_BOTH);
    uint64_t seed = ft_seed("concurrent submitters");
    uint32_t shared[SN];
    for (size_t i = 0; i < SN; i++)
        shared[i] = (uint32_t)i;
    fronta_buffer_t *bs;
    assert_int_equal(fronta_buffer_wrap(rt, shared, SN, FRONTA_INT32, &bs), 0);
    static submitter_t sub[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        submitter_t *s = &sub[i];
        memset(s, 0, sizeof *s);
        s->rt = rt;
        s->k = k;
        s->cl = ft_cl_device(rt, 0);
        s->shared = bs;
        s->rng = seed + (uint64_t)i * 7919u;
        s->ntasks = ft_scaled(200, 40);
        atomic_init(&s->errors, 0);
        assert_int_equal(fronta_buffer_create(rt, SN, FRONTA_INT32, &s->own), 0);
        memset(s->own_model, 0, sizeof s->own_model);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, submitter_main, &sub[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++)
        if (atomic_load(&sub[i].errors))
            fail_msg("thread %d: %d errors, last: %s", i, atomic_load(&sub[i].errors),
                     sub[i].what);
    assert_int_equal(fronta_buffer_destroy(bs), 0);
    for (size_t j = 0; j < SN; j++) {
        uint32_t want = (uint32_t)j;
        for (int i = 0; i < THREADS; i++)
            want += sub[i].shared_add[j];
        if (shared[j] != want)
            fail_msg("shared[%zu] is %u, expected %u", j, shared[j], want);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(fronta_buffer_destroy(sub[i].own), 0);
    fronta_runtime_destroy(rt);
}

/* Destroying the runtime with buffers never destroyed and tasks still
 * queued on them, on every device: everything is freed (ASan's leak check
 * sees it), nothing crashes. */
static void runtime_destroy_with_live_buffers(void **state)
{
    (void)state;
    for (int zc = 0; zc >= -1; zc--) {
        fronta_runtime_t *rt = ft_runtime_dev("all", zc);
        ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_BOTH);
        int cl = ft_cl_device(rt, 0);
        static uint32_t arr[4099];
        fronta_buffer_t *b, *c;
        assert_int_equal(fronta_buffer_wrap(rt, arr, 4099, FRONTA_INT32, &b), 0);
        assert_int_equal(fronta_buffer_create(rt, 4099, FRONTA_INT32, &c), 0);
        for (int i = 0; i < 20; i++) {
            fronta_need_t need = cl >= 0 && i % 2 ? FRONTA_NEED_OPENCL : FRONTA_NEED_CPU_POOL;
            fronta_task_desc_t t = ft_task(k.add_into, need, FRONTA_IN(b), FRONTA_INOUT(c),
                                           FT_NOARG);
            fronta_future_t *f = ft_submit_ok(rt, &t);
            if (i % 3)
                fronta_future_release(f); /* the others are freed with the runtime */
        }
        fronta_runtime_destroy(rt);
    }
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dtype_sizes),
        cmocka_unit_test(wrap_create_destroy),
        cmocka_unit_test(acquire_release),
        cmocka_unit_test(acquire_timeout),
        cmocka_unit_test(access_order),
        cmocka_unit_test(same_buffer_twice),
        cmocka_unit_test(producer_failure),
        cmocka_unit_test(cancelled_writer),
        cmocka_unit_test(concurrent_submitters),
        cmocka_unit_test(runtime_destroy_with_live_buffers),
        cmocka_unit_test(coherence_zero_copy),
        cmocka_unit_test(coherence_copy_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
