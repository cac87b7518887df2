/* Shared helpers of the cmocka suite: cmocka includes, clocks, gates, bounded spins. */
#ifndef FRONTA_TEST_UTIL_H
#define FRONTA_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fronta.h"

/* Upper bound on any wait in the suite: a hang becomes a failed assertion
 * with a message instead of a ctest timeout with none. Never used as
 * synchronisation: every wait ends on a condition, this only bounds it. */
#define FT_LIMIT 30.0

static inline double ft_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Spin (yielding the CPU) until cond holds or FT_LIMIT passes; the caller
 * asserts cond afterwards. */
#define FT_SPIN_UNTIL(cond)                                                   \
    do {                                                                      \
        double ft_dl_ = ft_now() + FT_LIMIT;                                  \
        while (!(cond) && ft_now() < ft_dl_)                                  \
            sched_yield();                                                    \
    } while (0)

/* Busy work of about `us` microseconds that a task can cut short when
 * cancellation is requested. Returns 1 when it was cut short. */
static inline int ft_busy_us(fronta_ctx_t *ctx, double us)
{
    double end = ft_now() + us * 1e-6;
    while (ft_now() < end) {
        if (ctx && fronta_ctx_cancel_requested(ctx))
            return 1;
    }
    return 0;
}

/* A gate: a task that blocks a worker until the test opens it. The task
 * records into atomics; only the main thread asserts. */
typedef struct ft_gate {
    atomic_int open;
    atomic_int started;      /* tasks that entered the gate */
    atomic_int left;         /* tasks that left it */
    atomic_int saw_cancel;   /* a task saw fronta_ctx_cancel_requested */
    atomic_int expired;      /* a task gave up after FT_LIMIT: a hang */
    int honour_cancel;       /* return FRONTA_ECANCELLED on a cancel request */
} ft_gate_t;

static inline void ft_gate_init(ft_gate_t *g, int honour_cancel)
{
    atomic_init(&g->open, 0);
    atomic_init(&g->started, 0);
    atomic_init(&g->left, 0);
    atomic_init(&g->saw_cancel, 0);
    atomic_init(&g->expired, 0);
    g->honour_cancel = honour_cancel;
}

static inline void ft_gate_open(ft_gate_t *g)
{
    atomic_store(&g->open, 1);
}

/* The task function; its argument bytes are a ft_gate_t pointer. The
 * result is the int 1 so that a caller can tell it ran to the end. */
static inline int ft_gate_task(fronta_ctx_t *ctx, void *arg)
{
    ft_gate_t *g;
    memcpy(&g, arg, sizeof g);
    atomic_fetch_add(&g->started, 1);
    double deadline = ft_now() + FT_LIMIT;
    while (!atomic_load(&g->open)) {
        if (fronta_ctx_cancel_requested(ctx)) {
            atomic_store(&g->saw_cancel, 1);
            if (g->honour_cancel) {
                atomic_fetch_add(&g->left, 1);
                return FRONTA_ECANCELLED;
            }
        }
        if (ft_now() > deadline) {
            atomic_store(&g->expired, 1);
            break;
        }
        sched_yield();
    }
    int one = 1;
    int rc = fronta_ctx_return(ctx, &one, sizeof one);
    atomic_fetch_add(&g->left, 1);
    return rc;
}

/* Submit a gate task and wait until it runs (it then holds one worker). */
static inline fronta_future_t *ft_gate_submit(fronta_runtime_t *rt, ft_gate_t *g)
{
    fronta_future_t *f = NULL;
    int before = atomic_load(&g->started);
    assert_int_equal(fronta_submit_fn(rt, ft_gate_task, &g, sizeof g, &f), 0);
    assert_non_null(f);
    FT_SPIN_UNTIL(atomic_load(&g->started) > before);
    assert_true(atomic_load(&g->started) > before);
    return f;
}

/* Create a runtime with `threads` CPU threads (0: default). */
static inline fronta_runtime_t *ft_runtime(int threads)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = threads;
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    if (rc != 0)
        print_error("fronta_runtime_create(%d threads): %s\n", threads,
                    fronta_strerror(rc));
    assert_int_equal(rc, 0);
    assert_non_null(rt);
    return rt;
}

/* Wait with the suite's bound and check the future completed. */
static inline void ft_wait(fronta_future_t *f)
{
    assert_int_equal(fronta_future_wait(f, FT_LIMIT), 0);
    assert_true(fronta_future_done(f));
}

/* Seed from FRONTA_TEST_SEED or the clock; always printed so that a
 * failure can be replayed. */
static inline uint64_t ft_seed(const char *what)
{
    const char *env = getenv("FRONTA_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0)
                        : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    print_message("[ seed     ] %s: FRONTA_TEST_SEED=%llu\n", what,
                  (unsigned long long)seed);
    return seed;
}

/* splitmix64: the suite's own generator, independent of fronta's. */
static inline uint64_t ft_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* FRONTA_STRESS_SCALE scales counts of the heavy tests; sanitizer builds
 * default to a quarter so that they stay within a few minutes. */
static inline double ft_scale(void)
{
    const char *env = getenv("FRONTA_STRESS_SCALE");
    if (env && *env) {
        double s = strtod(env, NULL);
        if (s > 0)
            return s;
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 0.25;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    return 0.25;
#else
    return 1.0;
#endif
#else
    return 1.0;
#endif
}

static inline size_t ft_scaled(size_t n, size_t min)
{
    double v = (double)n * ft_scale();
    return v < (double)min ? min : (size_t)v;
}

/* FRONTA_TEST_FILTER=pattern runs only the matching tests (cmocka's
 * pattern syntax), to repeat one test while hunting a race. */
static inline void ft_filter(void)
{
    const char *filter = getenv("FRONTA_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
}

/* Task bodies several files use. */
static inline int ft_count_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    atomic_int *c;
    memcpy(&c, arg, sizeof c);
    atomic_fetch_add(c, 1);
    return 0;
}

static inline int ft_square_task(fronta_ctx_t *ctx, void *arg)
{
    int64_t x;
    memcpy(&x, arg, sizeof x);
    x *= x;
    return fronta_ctx_return(ctx, &x, sizeof x);
}

/* ---- devices, kernels, buffers ---------------------------------------- */

/* Point the OpenCL program cache at the build tree (FT_CACHE_DIR, set by
 * tests/CMakeLists.txt) unless the environment names one already: the
 * suite then neither reads nor fills the user's ~/.cache/fronta, and the
 * second run of a build finds its programs on disk. Call before the first
 * runtime is created. */
static inline void ft_cache_env(void)
{
#ifdef FT_CACHE_DIR
    setenv("FRONTA_CACHE_DIR", FT_CACHE_DIR, 0);
#endif
}

/* Create a runtime with two CPU threads, a device list ("all", "cpu",
 * "opencl", NULL: the default) and a zero_copy setting (0 default, <0 the
 * copy path). */
static inline fronta_runtime_t *ft_runtime_dev(const char *devices, int zero_copy)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    cfg.devices = devices;
    cfg.zero_copy = zero_copy;
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    if (rc != 0)
        print_error("fronta_runtime_create(devices %s, zero_copy %d): %s\n",
                    devices ? devices : "(default)", zero_copy, fronta_strerror(rc));
    assert_int_equal(rc, 0);
    assert_non_null(rt);
    return rt;
}

/* As ft_runtime_dev, under the ws policy whatever FRONTA_SCHED says: for
 * tests of what happens on a device (fallback, faults) that steer a
 * NEED_ANY task there through ws's locality rule (a chain stays on its
 * device), which eager and heft need not follow. */
static inline fronta_runtime_t *ft_runtime_ws(const char *devices, int zero_copy)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    cfg.devices = devices;
    cfg.zero_copy = zero_copy;
    cfg.sched = "ws";
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    if (rc != 0)
        print_error("fronta_runtime_create(devices %s, ws): %s\n",
                    devices ? devices : "(default)", fronta_strerror(rc));
    assert_int_equal(rc, 0);
    return rt;
}

/* The first device of rt of kind OpenCL (and of `type`, 0: any), or -1. */
static inline int ft_cl_device(const fronta_runtime_t *rt, fronta_device_type_t type)
{
    for (int i = 1; i < fronta_device_count(rt); i++) {
        fronta_device_info_t d;
        memset(&d, 0, sizeof d);
        d.size = sizeof d;
        if (fronta_device_info(rt, i, &d) == 0 && d.kind == FRONTA_DEVICE_OPENCL &&
            (!type || d.type == type))
            return i;
    }
    return -1;
}

/* Whether the machine has an OpenCL device fronta can use: a runtime with
 * the default device list is created and destroyed to find out. */
static inline int ft_have_opencl(void)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 1;
    cfg.devices = "all";
    cfg.log_level = FRONTA_LOG_OFF;
    fronta_runtime_t *rt = NULL;
    if (fronta_runtime_create(&cfg, &rt) != 0)
        return 0;
    int have = ft_cl_device(rt, 0) >= 0;
    fronta_runtime_destroy(rt);
    return have;
}

static inline fronta_device_stats_t ft_dstats(fronta_runtime_t *rt, int id)
{
    fronta_device_stats_t st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    assert_int_equal(fronta_device_stats(rt, id, &st), 0);
    return st;
}

/* Wait for a future and return its error code (0 when it finished). */
static inline int ft_outcome(fronta_future_t *f)
{
    assert_non_null(f);
    assert_int_equal(fronta_future_wait(f, FT_LIMIT), 0);
    return fronta_future_error(f, NULL);
}

/* The message of a failed future ("" when none); valid while f is held. */
static inline const char *ft_message(fronta_future_t *f)
{
    fronta_error_t e;
    memset(&e, 0, sizeof e);
    fronta_future_error(f, &e);
    return e.message ? e.message : "";
}

/* Check a future's outcome, naming both codes and the message on a
 * mismatch. */
#define FT_EXPECT_OUTCOME(f, want)                                            \
    do {                                                                      \
        int ft_got_ = ft_outcome(f);                                          \
        if (ft_got_ != (want))                                                \
            fail_msg("%s: expected %s, got %s (%s)", #f,                      \
                     fronta_err_name(want), fronta_err_name(ft_got_),         \
                     ft_message(f));                                          \
    } while (0)

/* Check a call's return code, naming both codes on a mismatch. */
#define FT_EXPECT_RC(call, want)                                              \
    do {                                                                      \
        int ft_rc_ = (call);                                                  \
        if (ft_rc_ != (want))                                                 \
            fail_msg("%s: expected %s, got %s", #call, fronta_err_name(want), \
                     fronta_err_name(ft_rc_));                                \
    } while (0)

#endif /* FRONTA_TEST_UTIL_H */
