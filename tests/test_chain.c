/* Tests of device chaining (dependent kernels enqueued behind each other's events) and of CPU and device tasks depending on each other. */
#include "test_kernels.h"

/* ---- chaining --------------------------------------------------------- */

/* N saxpy on the same y, on the OpenCL device, held behind a gate until
 * all are submitted: the device gets them without a host round trip each. */
static void chain(int zero_copy)
{
    fronta_runtime_t *rt = ft_runtime_dev("all", zero_copy);
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    fronta_kernel_t *saxpy = fronta_kernel_builtin(rt, "saxpy");
    assert_non_null(saxpy);
    enum { N = 16, COUNT = 1021 };
    float *x = malloc(COUNT * sizeof *x), *y = malloc(COUNT * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < COUNT; i++) {
        x[i] = (float)(i % 100);
        y[i] = 1.0f;
    }
    fronta_buffer_t *bx, *by;
    assert_int_equal(fronta_buffer_wrap(rt, x, COUNT, FRONTA_FLOAT, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(rt, y, COUNT, FRONTA_FLOAT, &by), 0);
    fronta_task_desc_t t = ft_task(saxpy, FRONTA_NEED_OPENCL, FRONTA_IN(bx), FRONTA_INOUT(by),
                                   FRONTA_F32(1.0f));
    /* Warm up: the program is built (or loaded) before the counters. */
    fronta_future_t *w = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(w, 0);
    fronta_future_release(w);

    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    fronta_device_stats_t s0 = ft_dstats(rt, cl);
    fronta_future_t *f[N];
    for (int i = 0; i < N; i++) {
        t.after = i == 0 ? &g : NULL;
        t.nafter = i == 0;
        f[i] = ft_submit_ok(rt, &t);
    }
    assert_false(fronta_future_done(f[0]));
    ft_gate_open(&gate);
    for (int i = 0; i < N; i++) {
        FT_EXPECT_OUTCOME(f[i], 0);
        assert_int_equal(fronta_future_device(f[i]), cl);
    }
    fronta_device_stats_t s1 = ft_dstats(rt, cl);
    uint64_t chained = s1.kernels_chained - s0.kernels_chained;
    uint64_t wakeups = s1.host_wakeups - s0.host_wakeups;
    print_message("[ info     ] zero_copy %d: %d kernels: %llu chained, %llu host wake-ups,"
                  " %llu run, to device %llu B, to host %llu B, maps %llu\n",
                  zero_copy, N, (unsigned long long)chained, (unsigned long long)wakeups,
                  (unsigned long long)(s1.tasks_run - s0.tasks_run),
                  (unsigned long long)(s1.bytes_to_device - s0.bytes_to_device),
                  (unsigned long long)(s1.bytes_to_host - s0.bytes_to_host),
                  (unsigned long long)(s1.maps - s0.maps));
    assert_int_equal(s1.tasks_run - s0.tasks_run, N);
    assert_true(chained >= N - 1);
    assert_true(wakeups < N);
    /* Nothing went to the host in between. */
    if (zero_copy < 0)
        assert_int_equal(s1.bytes_to_host, s0.bytes_to_host);

    void *p = NULL;
    assert_int_equal(fronta_buffer_acquire(by, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
    const float *hy = p;
    for (size_t i = 0; i < COUNT; i++)
        if (hy[i] != 1.0f + (float)(N + 1) * x[i])
            fail_msg("y[%zu] = %g, expected %g", i, (double)hy[i],
                     (double)(1.0f + (float)(N + 1) * x[i]));
    assert_int_equal(fronta_buffer_release(by), 0);
    for (int i = 0; i < N; i++)
        fronta_future_release(f[i]);
    fronta_future_release(g);
    assert_int_equal(fronta_buffer_destroy(bx), 0);
    assert_int_equal(fronta_buffer_destroy(by), 0);
    free(x);
    free(y);
    fronta_runtime_destroy(rt);
}

static void chain_zero_copy(void **state)
{
    (void)state;
    chain(0);
}

static void chain_copy_path(void **state)
{
    (void)state;
    chain(-1);
}

/* ---- CPU and device, both ways ---------------------------------------- */

/* x[i] = i % 31, on the pool. */
static int k_fill(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    float *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(i % 31);
    return 0;
}

/* Counts the elements of y that differ from 3 * (2 x + 1). */
static atomic_long check_bad, check_ran;

static int k_check(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    const float *y = a[0].ptr;
    long bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += y[i] != 3.0f * (2.0f * (float)(i % 31) + 1.0f);
    atomic_store(&check_bad, bad);
    atomic_fetch_add(&check_ran, 1);
    return 0;
}

/* A plain function after a device task: it sees that task done. */
typedef struct watch {
    fronta_future_t *f;
    atomic_int saw_done;
} watch_t;

static int watch_task(fronta_ctx_t *ctx, void *arg)
{
    watch_t *w;
    memcpy(&w, arg, sizeof w);
    atomic_store(&w->saw_done, fronta_future_status(w->f) == FRONTA_FINISHED ? 1 : -1);
    int v = 42;
    return fronta_ctx_return(ctx, &v, sizeof v);
}

static void cpu_device_mix(int zero_copy)
{
    fronta_runtime_t *rt = ft_runtime_dev("all", zero_copy);
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    static const fronta_param_t out_param[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_GLOBAL}};
    static const fronta_param_t in_param[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL}};
    fronta_kernel_desc_t df = {.size = sizeof df, .name = "fill", .params = out_param,
                               .nparams = 1, .cpu = k_fill};
    fronta_kernel_desc_t dc = {.size = sizeof dc, .name = "check", .params = in_param,
                               .nparams = 1, .cpu = k_check};
    fronta_kernel_t *fill, *check;
    assert_int_equal(fronta_kernel_create(rt, &df, &fill), 0);
    assert_int_equal(fronta_kernel_create(rt, &dc, &check), 0);
    fronta_kernel_t *saxpy = fronta_kernel_builtin(rt, "saxpy");
    fronta_kernel_t *scale = fronta_kernel_builtin(rt, "scale");
    assert_non_null(saxpy);
    assert_non_null(scale);
    atomic_store(&check_bad, -1);
    atomic_store(&check_ran, 0);

    static const size_t sizes[] = {1, 257, 4099};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        fronta_buffer_t *bx, *by;
        assert_int_equal(fronta_buffer_create(rt, n, FRONTA_FLOAT, &bx), 0);
        float *y = malloc(n * sizeof *y);
        assert_non_null(y);
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0f;
        assert_int_equal(fronta_buffer_wrap(rt, y, n, FRONTA_FLOAT, &by), 0);

        /* CPU writes x; the device reads it (RAW across devices). */
        fronta_task_desc_t t1 = ft_task(fill, FRONTA_NEED_CPU_POOL, FRONTA_OUT(bx), FT_NOARG,
                                        FT_NOARG);
        fronta_future_t *f1 = ft_submit_ok(rt, &t1);
        fronta_task_desc_t t2 = ft_task(saxpy, FRONTA_NEED_OPENCL, FRONTA_IN(bx),
                                        FRONTA_INOUT(by), FRONTA_F32(2.0f));
        fronta_future_t *f2 = ft_submit_ok(rt, &t2);
        /* A plain function after the device task... */
        watch_t w = {.f = f2};
        atomic_init(&w.saw_done, 0);
        watch_t *wp = &w;
        fronta_call_t call = {.size = sizeof call, .fn = watch_task, .arg = &wp,
                              .arg_size = sizeof wp, .after = &f2, .nafter = 1};
        fronta_future_t *f3 = NULL;
        assert_int_equal(fronta_submit_call(rt, &call, &f3), 0);
        /* ...and a device task after the plain function. */
        fronta_task_desc_t t4 = ft_task(scale, FRONTA_NEED_OPENCL, FRONTA_INOUT(by),
                                        FRONTA_F32(3.0f), FT_NOARG);
        t4.after = &f3;
        t4.nafter = 1;
        fronta_future_t *f4 = ft_submit_ok(rt, &t4);
        /* The pool reads what the device wrote. */
        fronta_task_desc_t t5 = ft_task(check, FRONTA_NEED_CPU_POOL, FRONTA_IN(by), FT_NOARG,
                                        FT_NOARG);
        fronta_future_t *f5 = ft_submit_ok(rt, &t5);

        FT_EXPECT_OUTCOME(f5, 0);
        fronta_future_t *all[] = {f1, f2, f3, f4, f5};
        for (int i = 0; i < 5; i++)
            FT_EXPECT_OUTCOME(all[i], 0);
        assert_int_equal(atomic_load(&w.saw_done), 1);
        int v = 0;
        assert_int_equal(fronta_future_result(f3, 0, &v, sizeof v), 0);
        assert_int_equal(v, 42);
        assert_int_equal(fronta_future_device(f1), 0);
        assert_int_equal(fronta_future_device(f2), cl);
        assert_int_equal(fronta_future_device(f3), -1);
        assert_int_equal(fronta_future_device(f4), cl);
        assert_int_equal(fronta_future_device(f5), 0);
        assert_int_equal(atomic_load(&check_ran), (long)s + 1);
        if (atomic_load(&check_bad) != 0)
            fail_msg("n %zu: the pool saw %ld wrong elements of y", n, atomic_load(&check_bad));
        for (int i = 0; i < 5; i++)
            fronta_future_release(all[i]);
        assert_int_equal(fronta_buffer_destroy(bx), 0);
        assert_int_equal(fronta_buffer_destroy(by), 0);
        for (size_t i = 0; i < n; i++)
            if (y[i] != 3.0f * (2.0f * (float)(i % 31) + 1.0f))
                fail_msg("n %zu: y[%zu] = %g", n, i, (double)y[i]);
        free(y);
    }
    fronta_runtime_destroy(rt);
}

static void cpu_device_mix_zero_copy(void **state)
{
    (void)state;
    cpu_device_mix(0);
}

static void cpu_device_mix_copy_path(void **state)
{
    (void)state;
    cpu_device_mix(-1);
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    if (!ft_have_opencl()) {
        puts("no OpenCL device: skipped");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_zero_copy),
        cmocka_unit_test(chain_copy_path),
        cmocka_unit_test(cpu_device_mix_zero_copy),
        cmocka_unit_test(cpu_device_mix_copy_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
