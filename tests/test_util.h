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

#endif /* FRONTA_TEST_UTIL_H */
