/* Arrays larger than device memory: FRONTA_DEVICE_MEM_LIMIT, its eviction
 * of least recently used replicas (modified ones written back first), a
 * map streaming 256 MiB through 8 MiB bit-exact on the copy path, the
 * submit-time refusal of a task that can never fit, and the livelock
 * watchdog (every task's two inputs fill 60 % of the cap). */
#include "test_kernels.h"
#include "test_util.h"

#include <stdatomic.h>
#include <time.h>

#define MIB ((size_t)1 << 20)

static fronta_runtime_t *limited(const char *limit)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    cfg.devices = "all";
    cfg.zero_copy = -1; /* real copies, so that the cap is the replicas' */
    cfg.device_mem_limit = limit;
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    if (rc)
        fail_msg("create with device_mem_limit '%s': %s", limit ? limit : "(none)",
                 fronta_err_name(rc));
    return rt;
}

/* The OpenCL device of rt, or skip (destroying rt). */
static int cl_or_skip(fronta_runtime_t *rt)
{
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    return cl;
}

static void expect_under(fronta_runtime_t *rt, int cl, uint64_t cap, const char *what)
{
    fronta_device_stats_t st = ft_dstats(rt, cl);
    print_message("[ info     ] %s: peak %llu of %llu bytes, %llu evictions, %llu written "
                  "back, %llu B in, %llu B out\n",
                  what, (unsigned long long)st.mem_peak, (unsigned long long)cap,
                  (unsigned long long)st.evictions, (unsigned long long)st.writebacks,
                  (unsigned long long)st.bytes_to_device, (unsigned long long)st.bytes_to_host);
    assert_int_equal(st.mem_limit, cap);
    if (st.mem_peak > cap)
        fail_msg("%s: the device held %llu bytes, over its limit of %llu", what,
                 (unsigned long long)st.mem_peak, (unsigned long long)cap);
}

/* ---- settings ---- */

static void limit_settings(void **state)
{
    (void)state;
    fronta_runtime_t *rt = limited("8MiB");
    int cl = cl_or_skip(rt);
    assert_int_equal(ft_dstats(rt, cl).mem_limit, 8 * MIB);
    assert_int_equal(ft_dstats(rt, 0).mem_limit, 0); /* the pool has none */
    fronta_runtime_destroy(rt);

    char spec[32];
    snprintf(spec, sizeof spec, "%d:3MiB", cl);
    rt = limited(spec);
    assert_int_equal(ft_dstats(rt, cl).mem_limit, 3 * MIB);
    fronta_runtime_destroy(rt);

    rt = limited(NULL);
    assert_int_equal(ft_dstats(rt, cl).mem_limit, 0);
    fronta_runtime_destroy(rt);

    const char *bad[] = {"lots", "8XB", "0", "nodevice:8MiB", "8MiB; 1:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fronta_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.size = sizeof cfg;
        cfg.cpu_threads = 1;
        cfg.devices = "all";
        cfg.device_mem_limit = bad[i];
        cfg.log_level = FRONTA_LOG_OFF;
        rt = NULL;
        int rc = fronta_runtime_create(&cfg, &rt);
        if (rc != FRONTA_EENV)
            fail_msg("device_mem_limit '%s': expected FRONTA_EENV, got %s", bad[i],
                     fronta_err_name(rc));
        assert_null(rt);
    }
}

/* ---- the stream ---- */

/* x *= 3 over count floats in chunks of chunk elements on the OpenCL
 * device of a runtime limited to cap; bit-exact, under the cap. */
static void stream(size_t count, size_t chunk, size_t cap_mib)
{
    char spec[32];
    snprintf(spec, sizeof spec, "%zuMiB", cap_mib);
    fronta_runtime_t *rt = limited(spec);
    int cl = cl_or_skip(rt);
    float *x = malloc(count * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < count; i++)
        x[i] = (float)(i & 0xffff); /* 3 x stays exact in a float */
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, x, count, FRONTA_FLOAT, &b), 0);
    fronta_partition_t p = {.size = sizeof p, .chunk_len = chunk};
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    fronta_task_desc_t t = ft_task(fronta_kernel_builtin(rt, "scale"), FRONTA_NEED_OPENCL,
                                   FRONTA_INOUT(b), FRONTA_F32(3.0f), FT_NOARG);
    fronta_future_t *m = NULL;
    assert_int_equal(fronta_submit_map(rt, &t, &m, NULL), 0);
    assert_int_equal(fronta_future_wait(m, 10 * FT_LIMIT), 0);
    FT_EXPECT_OUTCOME(m, 0);
    fronta_future_release(m);
    assert_int_equal(fronta_buffer_unpartition(b), 0);
    void *h;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, 10 * FT_LIMIT, &h), 0);
    assert_ptr_equal(h, x);
    for (size_t i = 0; i < count; i++)
        if (x[i] != 3.0f * (float)(i & 0xffff))
            fail_msg("x[%zu] = %g, expected %g", i, (double)x[i], 3.0 * (double)(i & 0xffff));
    assert_int_equal(fronta_buffer_release(b), 0);
    uint64_t bytes = count * sizeof *x, cap = cap_mib * MIB;
    expect_under(rt, cl, cap, "stream");
    fronta_device_stats_t st = ft_dstats(rt, cl);
    /* Each chunk in once and out once: streaming moves nothing twice. */
    assert_int_equal(st.bytes_to_device, bytes);
    assert_int_equal(st.bytes_to_host, bytes);
    assert_true(st.evictions >= (bytes - cap) / (chunk * sizeof *x));
    assert_true(st.writebacks > 0); /* each chunk was modified there */
    fronta_buffer_destroy(b);
    fronta_runtime_destroy(rt);
    free(x);
}

static void stream_256mib_through_8mib(void **state)
{
    (void)state;
    stream((size_t)64 << 20, (size_t)256 << 10, 8); /* 64 Mi floats, 1 MiB chunks */
}

/* Chunks that do not divide the cap, and a cap that holds two at once. */
static void stream_odd_chunks(void **state)
{
    (void)state;
    stream((size_t)3 << 20, 300007, 3);
}

/* ---- refused at submit ---- */

static void never_fits(void **state)
{
    (void)state;
    fronta_runtime_t *rt = limited("4MiB");
    int cl = cl_or_skip(rt);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, (5 * MIB) / 4, FRONTA_FLOAT, &b), 0);
    uint64_t before = 0;
    assert_int_equal(fronta_runtime_progress(rt, NULL, &before), 0);
    fronta_task_desc_t t = ft_task(fronta_kernel_builtin(rt, "scale"), FRONTA_NEED_OPENCL,
                                   FRONTA_INOUT(b), FRONTA_F32(2.0f), FT_NOARG);
    fronta_future_t *f = NULL;
    FT_EXPECT_RC(fronta_submit(rt, &t, &f), FRONTA_ERESOURCE);
    assert_null(f);
    const char *msg = fronta_last_error();
    if (!msg || !strstr(msg, "mem"))
        fail_msg("the refusal does not name mem: %s", msg ? msg : "(none)");
    /* Two buffers that fit alone but not together: refused too. */
    fronta_buffer_t *c;
    assert_int_equal(fronta_buffer_create(rt, (3 * MIB) / 4, FRONTA_FLOAT, &c), 0);
    fronta_buffer_t *c2;
    assert_int_equal(fronta_buffer_create(rt, (3 * MIB) / 4, FRONTA_FLOAT, &c2), 0);
    t = ft_task(fronta_kernel_builtin(rt, "axpy"), FRONTA_NEED_OPENCL, FRONTA_IN(c),
                FRONTA_INOUT(c2), FRONTA_F32(1.0f));
    FT_EXPECT_RC(fronta_submit(rt, &t, &f), FRONTA_ERESOURCE);
    uint64_t after = 0;
    assert_int_equal(fronta_runtime_progress(rt, NULL, &after), 0);
    assert_int_equal(after, before); /* nothing was submitted */
    /* Anywhere, the pool (no limit) runs it. */
    t = ft_task(fronta_kernel_builtin(rt, "scale"), FRONTA_NEED_ANY, FRONTA_INOUT(b),
                FRONTA_F32(2.0f), FT_NOARG);
    f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    expect_under(rt, cl, 4 * MIB, "never fits");
    fronta_buffer_destroy(b);
    fronta_buffer_destroy(c);
    fronta_buffer_destroy(c2);
    fronta_runtime_destroy(rt);
}

/* ---- dirty eviction ---- */

/* Contents made on the device (its replica the only copy) are written
 * back when later work evicts them, and read right on the host. */
static void dirty_eviction(void **state)
{
    (void)state;
    fronta_runtime_t *rt = limited("8MiB");
    int cl = cl_or_skip(rt);
    enum { NA = (4 << 20) / 4, NB = (6 << 20) / 4 };
    float *a = malloc(NA * sizeof *a), *bb = malloc(NB * sizeof *bb);
    for (size_t i = 0; i < NA; i++)
        a[i] = (float)(i % 1000);
    for (size_t i = 0; i < NB; i++)
        bb[i] = 1.0f;
    fronta_buffer_t *ba, *bbuf;
    assert_int_equal(fronta_buffer_wrap(rt, a, NA, FRONTA_FLOAT, &ba), 0);
    assert_int_equal(fronta_buffer_wrap(rt, bb, NB, FRONTA_FLOAT, &bbuf), 0);
    fronta_task_desc_t t = ft_task(fronta_kernel_builtin(rt, "scale"), FRONTA_NEED_OPENCL,
                                   FRONTA_INOUT(ba), FRONTA_F32(2.0f), FT_NOARG);
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    fronta_device_stats_t st = ft_dstats(rt, cl);
    assert_int_equal(st.writebacks, 0);
    assert_int_equal(st.bytes_to_host, 0); /* a's contents are the device's alone */
    t = ft_task(fronta_kernel_builtin(rt, "scale"), FRONTA_NEED_OPENCL, FRONTA_INOUT(bbuf),
                FRONTA_F32(5.0f), FT_NOARG);
    f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    st = ft_dstats(rt, cl);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.writebacks, 1);
    assert_int_equal(st.bytes_to_host, NA * sizeof *a); /* the write-back */
    float *h;
    assert_int_equal(fronta_buffer_acquire(ba, FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h), 0);
    for (size_t i = 0; i < NA; i++)
        if (h[i] != 2.0f * (float)(i % 1000))
            fail_msg("a[%zu] = %g after its eviction, expected %g", i, (double)h[i],
                     2.0 * (double)(i % 1000));
    assert_int_equal(fronta_buffer_release(ba), 0);
    /* Read from the write-back: nothing more came from the device. */
    assert_int_equal(ft_dstats(rt, cl).bytes_to_host, NA * sizeof *a);
    expect_under(rt, cl, 8 * MIB, "dirty eviction");
    fronta_buffer_destroy(ba);
    fronta_buffer_destroy(bbuf);
    fronta_runtime_destroy(rt);
    free(a);
    free(bb);
}

/* ---- a pool task writing over a device-only copy ---- */

static atomic_int writer_started;

/* y = 7 on the host, then a pause, so that the eviction below comes while
 * the device's replica is still, by the book, the only copy. */
static int fill7_slow(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    float *y = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        y[i] = 7.0f;
    atomic_store(&writer_started, 1);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return 0;
}

/* An eviction must not write a device copy back over the output of a pool
 * task under way (it marks the host copy written only when it ends). */
static void eviction_spares_host_writer(void **state)
{
    (void)state;
    fronta_runtime_t *rt = limited("8MiB");
    int cl = cl_or_skip(rt);
    static const fronta_param_t params[] = {{.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT,
                                             .access = FRONTA_ACCESS_OUT,
                                             .count = FRONTA_COUNT_GLOBAL}};
    fronta_kernel_desc_t kd = {.size = sizeof kd, .name = "fill7_slow", .params = params,
                               .nparams = 1, .cpu = fill7_slow};
    fronta_kernel_t *k;
    assert_int_equal(fronta_kernel_create(rt, &kd, &k), 0);
    enum { NA = (4 << 20) / 4, NB = (6 << 20) / 4 };
    fronta_buffer_t *ba, *bb;
    assert_int_equal(fronta_buffer_create(rt, NA, FRONTA_FLOAT, &ba), 0);
    assert_int_equal(fronta_buffer_create(rt, NB, FRONTA_FLOAT, &bb), 0);
    fronta_task_desc_t t = ft_task(fronta_kernel_builtin(rt, "scale"), FRONTA_NEED_OPENCL,
                                   FRONTA_INOUT(ba), FRONTA_F32(2.0f), FT_NOARG);
    fronta_future_t *f = ft_submit_ok(rt, &t); /* a's contents: the device's alone */
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    atomic_store(&writer_started, 0);
    t = ft_task(k, FRONTA_NEED_CPU_POOL, FRONTA_OUT(ba), FT_NOARG, FT_NOARG);
    fronta_future_t *w = ft_submit_ok(rt, &t);
    FT_SPIN_UNTIL(atomic_load(&writer_started));
    t = ft_task(fronta_kernel_builtin(rt, "scale"), FRONTA_NEED_OPENCL, FRONTA_INOUT(bb),
                FRONTA_F32(5.0f), FT_NOARG); /* needs a's room */
    f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    FT_EXPECT_OUTCOME(w, 0);
    fronta_future_release(f);
    fronta_future_release(w);
    float *h;
    assert_int_equal(fronta_buffer_acquire(ba, FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h), 0);
    for (size_t i = 0; i < NA; i++)
        if (h[i] != 7.0f)
            fail_msg("a[%zu] = %g: the pool task's 7 was overwritten", i, (double)h[i]);
    assert_int_equal(fronta_buffer_release(ba), 0);
    fronta_device_stats_t st = ft_dstats(rt, cl);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.writebacks, 0); /* by then the host held the contents */
    expect_under(rt, cl, 8 * MIB, "host writer");
    fronta_buffer_destroy(ba);
    fronta_buffer_destroy(bb);
    fronta_runtime_destroy(rt);
}

/* ---- the watchdog ---- */

/* StarPU #38: two inputs of one task evicting each other. Every task
 * here reads x_i and updates y_j, together 60 % of the cap, so no two
 * fit at once and each launch must evict the last one's pair; random
 * pairs, checked against a serial evaluation. */
static void two_inputs_fill_60_percent(void **state)
{
    (void)state;
    fronta_runtime_t *rt = limited("8MiB");
    int cl = cl_or_skip(rt);
    enum { NBUF = 6, N = (size_t)(8 << 20) * 3 / 10 / 4, TASKS = 40 };
    float *host[NBUF], *model[NBUF];
    fronta_buffer_t *b[NBUF];
    for (int k = 0; k < NBUF; k++) {
        host[k] = malloc(N * sizeof(float));
        model[k] = malloc(N * sizeof(float));
        for (size_t i = 0; i < N; i++)
            host[k][i] = model[k][i] = (float)((i + (size_t)k) % 8);
        assert_int_equal(fronta_buffer_wrap(rt, host[k], N, FRONTA_FLOAT, &b[k]), 0);
    }
    uint64_t seed = ft_seed("outofcore watchdog");
    fronta_future_t *f[TASKS];
    for (int n = 0; n < TASKS; n++) {
        int i = (int)(ft_rand(&seed) % NBUF), j = (int)(ft_rand(&seed) % (NBUF - 1));
        j += j >= i; /* j != i */
        fronta_task_desc_t t = ft_task(fronta_kernel_builtin(rt, "axpy"), FRONTA_NEED_OPENCL,
                                       FRONTA_IN(b[i]), FRONTA_INOUT(b[j]), FRONTA_F32(1.0f));
        f[n] = ft_submit_ok(rt, &t);
        for (size_t e = 0; e < N; e++) /* small integers: exact in any order */
            model[j][e] += model[i][e];
    }
    for (int n = 0; n < TASKS; n++) {
        FT_EXPECT_OUTCOME(f[n], 0);
        fronta_future_release(f[n]);
    }
    for (int k = 0; k < NBUF; k++) {
        float *h;
        assert_int_equal(fronta_buffer_acquire(b[k], FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h),
                         0);
        for (size_t i = 0; i < N; i++)
            if (h[i] != model[k][i])
                fail_msg("buffer %d [%zu] = %g, expected %g", k, i, (double)h[i],
                         (double)model[k][i]);
        assert_int_equal(fronta_buffer_release(b[k]), 0);
    }
    expect_under(rt, cl, 8 * MIB, "watchdog");
    assert_true(ft_dstats(rt, cl).evictions >= TASKS / 2);
    for (int k = 0; k < NBUF; k++) {
        fronta_buffer_destroy(b[k]);
        free(host[k]);
        free(model[k]);
    }
    fronta_runtime_destroy(rt);
}

/* ---- the automatic chunk choice ---- */

/* Under a cap the automatic chunks are at most 1/8 of it at 8 bytes an
 * element (docs/arrays.md, section 2), where the device's whole memory
 * would allow chunks of a sixth of the array. */
static void auto_chunks_follow_cap(void **state)
{
    (void)state;
    fronta_runtime_t *rt = limited("8MiB");
    (void)cl_or_skip(rt);
    fronta_buffer_t *b;
    size_t n = (size_t)1 << 22;
    assert_int_equal(fronta_buffer_create(rt, n, FRONTA_FLOAT, &b), 0);
    assert_int_equal(fronta_buffer_partition(b, NULL), 0);
    size_t most = (8 * MIB) / 8 / 8, k = fronta_buffer_nchunks(b);
    assert_true(k >= n / most);
    for (size_t i = 0; i + 1 < k; i++) {
        size_t len = fronta_buffer_count(fronta_buffer_chunk(b, i));
        if (len > most)
            fail_msg("chunk %zu of %zu has %zu elements, over the cap's %zu", i, k, len, most);
    }
    fronta_buffer_destroy(b);
    fronta_runtime_destroy(rt);
}

/* ---- unlimited ---- */

/* No limit: nothing is evicted, and the counters still tell the
 * replicas' bytes (freed with their buffers). */
static void unlimited_counts(void **state)
{
    (void)state;
    fronta_runtime_t *rt = limited(NULL);
    int cl = cl_or_skip(rt);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, MIB / 4, FRONTA_FLOAT, &b), 0);
    fronta_task_desc_t t = ft_task(fronta_kernel_builtin(rt, "scale"), FRONTA_NEED_OPENCL,
                                   FRONTA_INOUT(b), FRONTA_F32(2.0f), FT_NOARG);
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    fronta_device_stats_t st = ft_dstats(rt, cl);
    assert_true(st.mem_used >= MIB);
    assert_true(st.mem_peak >= st.mem_used);
    assert_int_equal(st.evictions, 0);
    fronta_buffer_destroy(b);
    assert_true(ft_dstats(rt, cl).mem_used + MIB <= st.mem_used); /* its replica freed */
    fronta_runtime_destroy(rt);
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limit_settings),
        cmocka_unit_test(stream_256mib_through_8mib),
        cmocka_unit_test(stream_odd_chunks),
        cmocka_unit_test(never_fits),
        cmocka_unit_test(dirty_eviction),
        cmocka_unit_test(eviction_spares_host_writer),
        cmocka_unit_test(two_inputs_fill_60_percent),
        cmocka_unit_test(auto_chunks_follow_cap),
        cmocka_unit_test(unlimited_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
