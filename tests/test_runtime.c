/* Tests of the runtime lifecycle: create, config and environment, shutdown, destroy, stats. */
#include "test_util.h"

#include <pthread.h>
#include <time.h>

/* ---- environment: saved at group setup, restored at teardown --------- */

static const char *const env_names[] = {"FRONTA_CPU_THREADS", "OMP_NUM_THREADS",
                                        "FRONTA_DEVICES", "FRONTA_SEED"};
#define NENV (sizeof env_names / sizeof env_names[0])
static char *env_saved[NENV];

static void env_clear(void)
{
    for (size_t i = 0; i < NENV; i++)
        unsetenv(env_names[i]);
}

static int group_setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < NENV; i++) {
        const char *v = getenv(env_names[i]);
        env_saved[i] = v ? strdup(v) : NULL;
    }
    /* The tests start from a known environment, whatever ctest passed;
     * except OMP_NUM_THREADS in the launch-environment run: LLVM's libomp
     * reads it at its first use, not at program start. */
    for (size_t i = 0; i < NENV; i++)
        if (!getenv("FRONTA_TEST_OMP_LAUNCH") || strcmp(env_names[i], "OMP_NUM_THREADS"))
            unsetenv(env_names[i]);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < NENV; i++) {
        if (env_saved[i])
            setenv(env_names[i], env_saved[i], 1);
        else
            unsetenv(env_names[i]);
        free(env_saved[i]);
    }
    return 0;
}

/* ---- task bodies ------------------------------------------------------ */

typedef struct worker_seen {
    atomic_int bad;        /* fronta_ctx_worker outside [0, threads) */
    atomic_int runs;
    int threads;
} worker_seen_t;

static int worker_task(fronta_ctx_t *ctx, void *arg)
{
    worker_seen_t *w;
    memcpy(&w, arg, sizeof w);
    int id = fronta_ctx_worker(ctx);
    if (id < 0 || id >= w->threads)
        atomic_fetch_add(&w->bad, 1);
    atomic_fetch_add(&w->runs, 1);
    return 0;
}

typedef struct slow_rec {
    atomic_int completed;  /* ran to the end */
    atomic_int cut;        /* saw the cancel request and stopped */
} slow_rec_t;

/* ~100 µs of work, cooperative with cancellation. */
static int slow_task(fronta_ctx_t *ctx, void *arg)
{
    slow_rec_t *r;
    memcpy(&r, arg, sizeof r);
    if (ft_busy_us(ctx, 100)) {
        atomic_fetch_add(&r->cut, 1);
        return FRONTA_ECANCELLED;
    }
    atomic_fetch_add(&r->completed, 1);
    return 0;
}

/* ---- create ----------------------------------------------------------- */

static void create_with_null_config(void **state)
{
    (void)state;
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(NULL, &rt), 0);
    assert_non_null(rt);
    assert_true(fronta_runtime_cpu_threads(rt) >= 1);
    fronta_runtime_destroy(rt);
}

static void create_with_thread_counts(void **state)
{
    (void)state;
    for (int n = 1; n <= 3; n++) {
        fronta_runtime_t *rt = ft_runtime(n);
        assert_int_equal(fronta_runtime_cpu_threads(rt), n);
        worker_seen_t w = {.threads = n};
        worker_seen_t *wp = &w;
        for (int i = 0; i < 200; i++)
            assert_int_equal(fronta_submit_fn(rt, worker_task, &wp, sizeof wp, NULL), 0);
        assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
        assert_int_equal(atomic_load(&w.runs), 200);
        assert_int_equal(atomic_load(&w.bad), 0);
        fronta_runtime_destroy(rt);
    }
}

static void create_config_size_zero_and_full(void **state)
{
    (void)state;
    fronta_config_t cfg = {.size = 0, .cpu_threads = 2};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    assert_int_equal(fronta_runtime_cpu_threads(rt), 2);
    fronta_runtime_destroy(rt);
    cfg.size = sizeof cfg;
    rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    assert_int_equal(fronta_runtime_cpu_threads(rt), 2);
    fronta_runtime_destroy(rt);
}

static void create_config_size_too_small(void **state)
{
    (void)state;
    /* Sizes below the oldest layout are refused (docs/design.md §11). */
    fronta_config_t cfg = {.size = 1, .cpu_threads = 1};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), FRONTA_EINVAL);
    assert_null(rt);
}

/* A caller built against an older, shorter fronta_config_t: only `size`
 * bytes exist, and the fields past them must read as defaults. The struct
 * lives on the heap at exactly that size, so ASan catches a read past it
 * (one happened once). */
static void create_config_size_partial(void **state)
{
    (void)state;
    size_t n = offsetof(fronta_config_t, spin_us);
    fronta_config_t full = {.size = n, .cpu_threads = 1};
    void *buf = malloc(n); /* no member access through it: it is short */
    assert_non_null(buf);
    memcpy(buf, &full, n);
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create((const fronta_config_t *)buf, &rt), 0);
    free(buf);
    assert_int_equal(fronta_runtime_cpu_threads(rt), 1);
    fronta_runtime_destroy(rt);
}

/* Up to 64 runtimes at once; the 65th is FRONTA_EBUSY (docs/design.md §4). */
static void sixty_four_runtimes(void **state)
{
    (void)state;
    enum { MAX = 64 };
    fronta_runtime_t *rts[MAX + 1] = {NULL};
    for (int i = 0; i < MAX; i++)
        rts[i] = ft_runtime(1);
    fronta_runtime_t *extra = NULL;
    assert_int_equal(fronta_runtime_create(NULL, &extra), FRONTA_EBUSY);
    assert_null(extra);
    /* All of them work. */
    atomic_int count;
    atomic_init(&count, 0);
    atomic_int *cp = &count;
    for (int i = 0; i < MAX; i++)
        assert_int_equal(fronta_submit_fn(rts[i], ft_count_task, &cp, sizeof cp, NULL), 0);
    for (int i = 0; i < MAX; i++)
        assert_int_equal(fronta_runtime_wait_all(rts[i], FT_LIMIT), 0);
    assert_int_equal(atomic_load(&count), MAX);
    /* A slot freed by destroy can be used again. */
    fronta_runtime_destroy(rts[17]);
    rts[17] = ft_runtime(1);
    for (int i = 0; i < MAX; i++)
        fronta_runtime_destroy(rts[i]);
}

static void create_null_out_is_einval(void **state)
{
    (void)state;
    assert_int_equal(fronta_runtime_create(NULL, NULL), FRONTA_EINVAL);
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1};
    assert_int_equal(fronta_runtime_create(&cfg, NULL), FRONTA_EINVAL);
}

static void create_negative_threads_fails(void **state)
{
    (void)state;
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = -1};
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    assert_true(rc < 0);
    assert_null(rt);
}

/* ---- environment ------------------------------------------------------ */

static int threads_from_env(void)
{
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(NULL, &rt);
    if (rc != 0) {
        print_error("create: %s\n", fronta_err_name(rc));
        return rc;
    }
    int n = fronta_runtime_cpu_threads(rt);
    fronta_runtime_destroy(rt);
    return n;
}

static void env_cpu_threads(void **state)
{
    (void)state;
    env_clear();
    setenv("FRONTA_CPU_THREADS", "3", 1);
    assert_int_equal(threads_from_env(), 3);
    setenv("FRONTA_CPU_THREADS", "1", 1);
    assert_int_equal(threads_from_env(), 1);

    /* A non-zero config field wins over the environment. */
    setenv("FRONTA_CPU_THREADS", "3", 1);
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    assert_int_equal(fronta_runtime_cpu_threads(rt), 2);
    fronta_runtime_destroy(rt);
    env_clear();
}

/* OpenMP reads OMP_NUM_THREADS when the program starts, so setting it
 * here proves nothing; ctest runs this file a second time as
 * test_runtime_omp_env with OMP_NUM_THREADS=3 in the environment, and
 * then only this test runs. */
static void env_omp_num_threads_and_precedence(void **state)
{
    (void)state;
    if (getenv("FRONTA_TEST_OMP_LAUNCH"))
        assert_int_equal(threads_from_env(), 3);
    env_clear();
    setenv("OMP_NUM_THREADS", "3", 1);
    /* FRONTA_CPU_THREADS wins over OMP_NUM_THREADS. */
    setenv("FRONTA_CPU_THREADS", "2", 1);
    assert_int_equal(threads_from_env(), 2);
    setenv("FRONTA_CPU_THREADS", "1", 1);
    assert_int_equal(threads_from_env(), 1);
    env_clear();
}

static void env_bad_cpu_threads(void **state)
{
    (void)state;
    const char *bad[] = {"abc", "0", "-3", "2x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        env_clear();
        setenv("FRONTA_CPU_THREADS", bad[i], 1);
        /* A bogus address that only tells "untouched" from "written". */
        fronta_runtime_t *const sentinel = (fronta_runtime_t *)&bad;
        fronta_runtime_t *rt = sentinel;
        int rc = fronta_runtime_create(NULL, &rt);
        if (rc != FRONTA_EENV)
            print_error("FRONTA_CPU_THREADS=\"%s\": got %s\n", bad[i],
                        fronta_err_name(rc));
        if (bad[i][0] == '\0' && rc == 0) {
            /* An empty variable may read as unset; that is fine. */
            fronta_runtime_destroy(rt);
            continue;
        }
        assert_int_equal(rc, FRONTA_EENV);
        assert_true(rt == sentinel || rt == NULL);
    }
    env_clear();
}

static void env_devices(void **state)
{
    (void)state;
    env_clear();
    setenv("FRONTA_DEVICES", "cpu", 1);
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(NULL, &rt), 0);
    assert_non_null(rt);
    fronta_runtime_destroy(rt);

    setenv("FRONTA_DEVICES", "bogus", 1);
    rt = NULL;
    int rc = fronta_runtime_create(NULL, &rt);
    if (rc != FRONTA_ENODEV && rc != FRONTA_EENV)
        print_error("FRONTA_DEVICES=bogus: got %s\n", fronta_err_name(rc));
    assert_true(rc == FRONTA_ENODEV || rc == FRONTA_EENV);
    assert_null(rt);
    env_clear();

    /* The same through the config field. */
    fronta_config_t cfg = {.size = sizeof cfg, .devices = "cpu"};
    rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    fronta_runtime_destroy(rt);
    cfg.devices = "bogus";
    rt = NULL;
    rc = fronta_runtime_create(&cfg, &rt);
    assert_true(rc == FRONTA_ENODEV || rc == FRONTA_EINVAL);
    assert_null(rt);
}

/* ---- shutdown --------------------------------------------------------- */

static void shutdown_wait_runs_everything(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    atomic_int count;
    atomic_init(&count, 0);
    atomic_int *cp = &count;
    enum { N = 2000, NF = 101 };
    fronta_future_t *fs[NF];
    for (int i = 0; i < N; i++)
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp, NULL), 0);
    for (int i = 0; i < NF; i++)
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp, &fs[i]), 0);
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
    /* Shutdown(WAIT) returned: every side effect is visible now. */
    assert_int_equal(atomic_load(&count), N + NF);
    for (int i = 0; i < NF; i++) {
        assert_int_equal(fronta_future_status(fs[i]), FRONTA_FINISHED);
        fronta_future_release(fs[i]);
    }
    fronta_runtime_destroy(rt);
}

static void shutdown_cancel_pending(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    enum { N = 3000 };
    fronta_future_t **fs = calloc(N, sizeof *fs);
    assert_non_null(fs);
    slow_rec_t rec;
    atomic_init(&rec.completed, 0);
    atomic_init(&rec.cut, 0);
    slow_rec_t *rp = &rec;
    /* One worker is held by a gate that honours cancellation; every tenth
     * task waits for it, so some tasks are surely still pending at shutdown
     * however the scheduler and the machine's load interleave the rest. */
    ft_gate_t gate;
    ft_gate_init(&gate, 1);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    for (int i = 0; i < N; i++) {
        fronta_call_t call = {.size = sizeof call, .fn = slow_task, .arg = &rp,
                              .arg_size = sizeof rp, .after = &g, .nafter = i % 10 == 0};
        assert_int_equal(fronta_submit_call(rt, &call, &fs[i]), 0);
    }
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_CANCEL_PENDING), 0);
    assert_int_equal(fronta_future_status(g), FRONTA_CANCELLED);
    assert_int_equal(atomic_load(&gate.expired), 0);
    for (int i = 0; i < N; i += 10)
        assert_int_equal(fronta_future_status(fs[i]), FRONTA_CANCELLED);
    fronta_future_release(g);
    int finished = 0, cancelled = 0, other = 0;
    for (int i = 0; i < N; i++) {
        assert_true(fronta_future_done(fs[i]));
        fronta_status_t s = fronta_future_status(fs[i]);
        if (s == FRONTA_FINISHED)
            finished++;
        else if (s == FRONTA_CANCELLED) {
            cancelled++;
            assert_int_equal(fronta_future_result(fs[i], 0, NULL, 0), FRONTA_ECANCELLED);
        } else {
            if (other++ == 0)
                print_error("future %d: status %d, error %s\n", i, (int)s,
                            fronta_err_name(fronta_future_error(fs[i], NULL)));
        }
    }
    print_message("[ info     ] %d finished, %d cancelled (%d cut short while running)\n",
                  finished, cancelled, atomic_load(&rec.cut));
    assert_int_equal(other, 0);
    assert_true(cancelled > 0);
    assert_int_equal(finished + cancelled, N);
    /* A future is FINISHED exactly when its task ran to the end. */
    assert_int_equal(finished, atomic_load(&rec.completed));
    for (int i = 0; i < N; i++)
        fronta_future_release(fs[i]);
    free(fs);
    fronta_runtime_destroy(rt);
}

static void submit_after_shutdown(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    int64_t x = 7;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, ft_square_task, &x, sizeof x, &f), 0);
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
    /* Shutdown twice is harmless. */
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_CANCEL_PENDING), 0);

    fronta_future_t *g = NULL;
    assert_int_equal(fronta_submit_fn(rt, ft_square_task, &x, sizeof x, &g), FRONTA_ESHUTDOWN);
    assert_null(g);
    assert_int_equal(fronta_submit_fn(rt, ft_square_task, &x, sizeof x, NULL), FRONTA_ESHUTDOWN);
    fronta_call_t call = {.size = sizeof call, .fn = ft_square_task, .arg = &x,
                          .arg_size = sizeof x};
    assert_int_equal(fronta_submit_call(rt, &call, &g), FRONTA_ESHUTDOWN);
    assert_null(g);
    fronta_future_t *m[3] = {NULL, NULL, NULL};
    int64_t xs[3] = {1, 2, 3};
    assert_int_equal(fronta_map(rt, ft_square_task, xs, sizeof xs[0], 3, NULL, m),
                     FRONTA_ESHUTDOWN);
    assert_null(m[0]);
    assert_null(m[1]);
    assert_null(m[2]);

    /* Futures stay readable until destroy. */
    int64_t y = 0;
    assert_true(fronta_future_done(f));
    assert_int_equal(fronta_future_status(f), FRONTA_FINISHED);
    assert_int_equal(fronta_future_result(f, 0, &y, sizeof y), 0);
    assert_int_equal(y, 49);
    const void *p = NULL;
    size_t sz = 0;
    assert_int_equal(fronta_future_result_ptr(f, &p, &sz), 0);
    assert_int_equal(sz, sizeof y);
    assert_int_equal(fronta_future_wait(f, 0), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, 0), 0);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

static void shutdown_null_and_destroy_null(void **state)
{
    (void)state;
    assert_int_equal(fronta_runtime_shutdown(NULL, FRONTA_SHUTDOWN_WAIT), FRONTA_EINVAL);
    fronta_runtime_destroy(NULL);
    assert_int_equal(fronta_runtime_wait_all(NULL, 0), FRONTA_EINVAL);
    fronta_stats_t st;
    assert_int_equal(fronta_runtime_stats(NULL, &st), FRONTA_EINVAL);
}

typedef struct inner_shutdown {
    atomic_int rc;
    atomic_int wait_all_rc;
    atomic_int ran;
} inner_shutdown_t;

static int shutdown_inside_task(fronta_ctx_t *ctx, void *arg)
{
    inner_shutdown_t *s;
    memcpy(&s, arg, sizeof s);
    atomic_store(&s->rc, fronta_runtime_shutdown(fronta_ctx_runtime(ctx),
                                                 FRONTA_SHUTDOWN_WAIT));
    /* The task would wait for itself (docs/design.md §2). */
    atomic_store(&s->wait_all_rc, fronta_runtime_wait_all(fronta_ctx_runtime(ctx), 0.01));
    atomic_store(&s->ran, 1);
    return 0;
}

static void shutdown_inside_task_is_ebusy(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    inner_shutdown_t s;
    atomic_init(&s.rc, 12345);
    atomic_init(&s.wait_all_rc, 12345);
    atomic_init(&s.ran, 0);
    inner_shutdown_t *sp = &s;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, shutdown_inside_task, &sp, sizeof sp, &f), 0);
    ft_wait(f);
    assert_int_equal(atomic_load(&s.ran), 1);
    assert_int_equal(atomic_load(&s.rc), FRONTA_EBUSY);
    assert_int_equal(atomic_load(&s.wait_all_rc), FRONTA_EBUSY);
    /* The runtime still accepts work. */
    atomic_int c;
    atomic_init(&c, 0);
    atomic_int *cp = &c;
    assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp, NULL), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&c), 1);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

/* shutdown(CANCEL_PENDING) raises the cancel flag of running tasks: a
 * gate task that honours it returns, so shutdown returns without the gate
 * ever being opened. */
static void shutdown_cancel_flags_running_tasks(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 1);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_CANCEL_PENDING), 0);
    assert_int_equal(atomic_load(&gate.expired), 0);
    assert_int_equal(atomic_load(&gate.saw_cancel), 1);
    assert_int_equal(fronta_future_status(g), FRONTA_CANCELLED);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

/* A running task may still submit (and wait for) children while
 * shutdown(WAIT) is in progress: they are part of the work shutdown
 * promised to finish (docs/design.md §3). */
typedef struct parent_rec {
    ft_gate_t gate;
    atomic_int child_rc;     /* submit rc inside the task */
    atomic_int child_ran;
    atomic_int wait_rc;
} parent_rec_t;

static int child_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    parent_rec_t *p;
    memcpy(&p, arg, sizeof p);
    atomic_store(&p->child_ran, 1);
    return 0;
}

static int parent_task(fronta_ctx_t *ctx, void *arg)
{
    parent_rec_t *p;
    memcpy(&p, arg, sizeof p);
    atomic_store(&p->gate.started, 1);
    double deadline = ft_now() + FT_LIMIT;
    while (!atomic_load(&p->gate.open) && ft_now() < deadline)
        sched_yield();
    fronta_future_t *c = NULL;
    int rc = fronta_submit_fn(fronta_ctx_runtime(ctx), child_task, &p, sizeof p, &c);
    atomic_store(&p->child_rc, rc);
    if (rc == 0) {
        atomic_store(&p->wait_rc, fronta_future_wait(c, FT_LIMIT));
        fronta_future_release(c);
    }
    return rc;
}

typedef struct shutter {
    fronta_runtime_t *rt;
    int rc;
} shutter_t;

static void *shutdown_thread(void *arg)
{
    shutter_t *s = arg;
    s->rc = fronta_runtime_shutdown(s->rt, FRONTA_SHUTDOWN_WAIT);
    return NULL;
}

static void tasks_submit_during_shutdown(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    parent_rec_t p;
    ft_gate_init(&p.gate, 0);
    atomic_init(&p.child_rc, 12345);
    atomic_init(&p.child_ran, 0);
    atomic_init(&p.wait_rc, 12345);
    parent_rec_t *pp = &p;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, parent_task, &pp, sizeof pp, &f), 0);
    FT_SPIN_UNTIL(atomic_load(&p.gate.started));
    shutter_t sh = {rt, 12345};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, shutdown_thread, &sh), 0);
    /* Outside submissions fail once shutdown has begun: that is the sign
     * to let the parent submit its child. */
    atomic_int dummy;
    atomic_init(&dummy, 0);
    atomic_int *dp = &dummy;
    int rc = 0;
    double deadline = ft_now() + FT_LIMIT;
    while (rc == 0 && ft_now() < deadline) {
        rc = fronta_submit_fn(rt, ft_count_task, &dp, sizeof dp, NULL);
        sched_yield();
    }
    assert_int_equal(rc, FRONTA_ESHUTDOWN);
    ft_gate_open(&p.gate);
    pthread_join(th, NULL);
    assert_int_equal(sh.rc, 0);
    assert_int_equal(atomic_load(&p.child_rc), 0);
    assert_int_equal(atomic_load(&p.wait_rc), 0);
    assert_int_equal(atomic_load(&p.child_ran), 1);
    assert_int_equal(fronta_future_status(f), FRONTA_FINISHED);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

static void destroy_without_shutdown_waits(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    atomic_int count;
    atomic_init(&count, 0);
    atomic_int *cp = &count;
    fronta_future_t *kept = NULL;
    for (int i = 0; i < 997; i++)
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp,
                                          i == 500 ? &kept : NULL), 0);
    /* destroy shuts down with WAIT and frees futures still held. */
    fronta_runtime_destroy(rt);
    assert_int_equal(atomic_load(&count), 997);
}

/* ---- several runtimes, wait_all, stats ------------------------------- */

static void two_runtimes_at_once(void **state)
{
    (void)state;
    fronta_runtime_t *a = ft_runtime(2);
    fronta_runtime_t *b = ft_runtime(1);
    enum { N = 257 };
    fronta_future_t *fa[N], *fb[N];
    for (int64_t i = 0; i < N; i++) {
        int64_t xa = i, xb = -3 * i;
        assert_int_equal(fronta_submit_fn(a, ft_square_task, &xa, sizeof xa, &fa[i]), 0);
        assert_int_equal(fronta_submit_fn(b, ft_square_task, &xb, sizeof xb, &fb[i]), 0);
    }
    for (int64_t i = 0; i < N; i++) {
        int64_t ya = -1, yb = -1;
        assert_int_equal(fronta_future_result(fa[i], FT_LIMIT, &ya, sizeof ya), 0);
        assert_int_equal(fronta_future_result(fb[i], FT_LIMIT, &yb, sizeof yb), 0);
        assert_int_equal(ya, i * i);
        assert_int_equal(yb, 9 * i * i);
    }
    fronta_stats_t sa, sb;
    assert_int_equal(fronta_runtime_stats(a, &sa), 0);
    assert_int_equal(fronta_runtime_stats(b, &sb), 0);
    assert_int_equal(sa.tasks_submitted, N);
    assert_int_equal(sb.tasks_submitted, N);
    /* Shutting one down leaves the other working. */
    assert_int_equal(fronta_runtime_shutdown(a, FRONTA_SHUTDOWN_WAIT), 0);
    int64_t x = 5, y = 0;
    fronta_future_t *g = NULL;
    assert_int_equal(fronta_submit_fn(b, ft_square_task, &x, sizeof x, &g), 0);
    assert_int_equal(fronta_future_result(g, FT_LIMIT, &y, sizeof y), 0);
    assert_int_equal(y, 25);
    fronta_future_release(g);
    for (int i = 0; i < N; i++) {
        fronta_future_release(fa[i]);
        fronta_future_release(fb[i]);
    }
    fronta_runtime_destroy(a);
    fronta_runtime_destroy(b);
}

static void wait_all_and_timeout(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    atomic_int count;
    atomic_init(&count, 0);
    atomic_int *cp = &count;
    for (int i = 0; i < 1009; i++)
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp, NULL), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, -1), 0);
    assert_int_equal(atomic_load(&count), 1009);
    /* With nothing submitted, wait_all returns at once. */
    assert_int_equal(fronta_runtime_wait_all(rt, 0), 0);

    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    assert_int_equal(fronta_runtime_wait_all(rt, 0), FRONTA_ETIMEDOUT);
    assert_int_equal(fronta_runtime_wait_all(rt, 0.02), FRONTA_ETIMEDOUT);
    ft_gate_open(&gate);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_true(fronta_future_done(g));
    assert_int_equal(atomic_load(&gate.expired), 0);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

static int fail_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    return fronta_ctx_fail(ctx, FRONTA_ETASK, "always fails");
}

static void stats_counters(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_stats_t st;
    memset(&st, 0xff, sizeof st);
    assert_int_equal(fronta_runtime_stats(rt, &st), 0);
    assert_int_equal(st.tasks_submitted, 0);
    assert_int_equal(st.tasks_run, 0);
    assert_int_equal(fronta_runtime_stats(rt, NULL), FRONTA_EINVAL);

    atomic_int count;
    atomic_init(&count, 0);
    atomic_int *cp = &count;
    enum { N = 1231 };
    for (int i = 0; i < N; i++)
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp, NULL), 0);
    /* One task with 3 retries that always fails: 4 attempts. */
    fronta_call_t call = {.size = sizeof call, .fn = fail_task, .retries = 3};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_call(rt, &call, &f), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_future_status(f), FRONTA_FAILED);
    assert_int_equal(fronta_runtime_stats(rt, &st), 0);
    assert_int_equal(st.tasks_submitted, N + 1);
    assert_int_equal(st.tasks_run, N + 4);
    assert_true(st.tasks_stolen <= st.tasks_run);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

/* A burst pushed while one worker spins, the others asleep: notifiers
 * leave the spinner to find the tasks, and it takes one. It must wake a
 * sleeper for the rest, else a task behind it waits for its task to end
 * (the CI hang of test_resources under eager: the second token holder
 * never started while the first held a gate). */
static void spinner_wakes_for_the_rest(void **state)
{
    (void)state;
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 4;
    cfg.spin_us = 100000; /* the burst lands within one spin */
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    struct timespec nap = {0, 300 * 1000 * 1000}; /* every worker asleep */
    nanosleep(&nap, NULL);
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *f[3];
    f[0] = ft_gate_submit(rt, &g); /* one worker held */
    atomic_int count;
    atomic_init(&count, 0);
    atomic_int *cp = &count;
    fronta_future_t *q = NULL;
    assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp, &q), 0);
    ft_wait(q); /* the worker that ran it spins now */
    fronta_future_release(q);
    ft_gate_t *gp = &g;
    for (int i = 1; i < 3; i++)
        assert_int_equal(fronta_submit_fn(rt, ft_gate_task, &gp, sizeof gp, &f[i]), 0);
    FT_SPIN_UNTIL(atomic_load(&g.started) >= 3);
    int started = atomic_load(&g.started);
    ft_gate_open(&g);
    for (int i = 0; i < 3; i++) {
        ft_wait(f[i]);
        fronta_future_release(f[i]);
    }
    fronta_runtime_destroy(rt);
    if (started != 3)
        fail_msg("%d of 3 gate tasks started with 2 of 4 workers free", started);
    assert_int_equal(atomic_load(&g.expired), 0);
}

/* ---- where sleeping workers wait (pool.c: sleeping at home) ---- */

/* The value of `key` ("Pid", "Cpus_allowed_list") in a /proc status
 * file, into out; 0 when found. */
static int proc_status(const char *path, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    size_t kl = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) || line[kl] != ':')
            continue;
        const char *v = line + kl + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        snprintf(out, cap, "%s", v);
        out[strcspn(out, "\n")] = 0;
        rc = 0;
        break;
    }
    fclose(f);
    return rc;
}

typedef struct home_probe {
    atomic_int started;
    char tid[2][32];
    char cpus[2][256]; /* Cpus_allowed_list while the task runs */
} home_probe;

/* Records its worker's thread id and mask, then holds its worker until
 * the other task has started too, so that both workers are seen. */
static int home_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    home_probe *p;
    memcpy(&p, arg, sizeof p);
    int i = atomic_fetch_add(&p->started, 1);
    if (i < 2) {
        proc_status("/proc/thread-self/status", "Pid", p->tid[i], sizeof p->tid[i]);
        proc_status("/proc/thread-self/status", "Cpus_allowed_list", p->cpus[i],
                    sizeof p->cpus[i]);
    }
    FT_SPIN_UNTIL(atomic_load(&p->started) >= 2);
    return 0;
}

static void run_home_tasks(fronta_runtime_t *rt, home_probe *p)
{
    memset(p, 0, sizeof *p);
    atomic_init(&p->started, 0);
    fronta_future_t *f[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(fronta_submit_fn(rt, home_task, &p, sizeof p, &f[i]), 0);
    for (int i = 0; i < 2; i++) {
        ft_wait(f[i]);
        assert_int_equal(fronta_future_error(f[i], NULL), 0);
        fronta_future_release(f[i]);
    }
    assert_int_equal(atomic_load(&p->started), 2);
}

/* A worker asleep for long is pinned to a CPU of its own, a different one
 * for each worker, and runs its tasks with the whole mask again (the
 * scale/chunked fix: on a VM the second worker's wake-up was queued behind
 * the first worker, 2-4 ms into an 11 ms map). Needs two CPUs. */
static void sleeping_workers_wait_at_home(void **state)
{
    (void)state;
    char all[256];
    if (proc_status("/proc/self/status", "Cpus_allowed_list", all, sizeof all) ||
        !strpbrk(all, ",-")) {
        fprintf(stderr, "# one CPU (or no /proc): nothing to pin\n");
        skip();
    }
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    cfg.devices = "cpu";
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    home_probe p;
    run_home_tasks(rt, &p);
    assert_string_not_equal(p.tid[0], p.tid[1]);
    if (strcmp(p.cpus[0], all) || strcmp(p.cpus[1], all)) {
        /* OMP_PROC_BIND / OMP_PLACES placed them: the pool leaves them be. */
        fprintf(stderr, "# workers bound by OpenMP (%s, %s): nothing to pin\n", p.cpus[0],
                p.cpus[1]);
        fronta_runtime_destroy(rt);
        skip();
    }
    char tid[2][32];
    memcpy(tid, p.tid, sizeof tid);
    /* Past the spin and the 10 ms a sleep lasts unpinned (HOME_AFTER_NS);
     * a loaded machine may take longer to run the timer: poll. */
    char home[2][256] = {"", ""};
    double end = ft_now() + FT_LIMIT;
    for (;;) {
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
        int pinned = 0;
        for (int i = 0; i < 2; i++) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/task/%s/status", tid[i]);
            assert_int_equal(proc_status(path, "Cpus_allowed_list", home[i], sizeof home[i]), 0);
            pinned += !strpbrk(home[i], ",-");
        }
        if (pinned == 2 || ft_now() > end)
            break;
    }
    for (int i = 0; i < 2; i++)
        if (strpbrk(home[i], ",-"))
            fail_msg("worker %d asleep with CPUs %s, not one of %s", i, home[i], all);
    assert_string_not_equal(home[0], home[1]);
    /* Woken, they run with the whole mask again. */
    run_home_tasks(rt, &p);
    for (int i = 0; i < 2; i++)
        assert_string_equal(p.cpus[i], all);
    fronta_runtime_destroy(rt);
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_with_null_config),
        cmocka_unit_test(spinner_wakes_for_the_rest),
        cmocka_unit_test(sleeping_workers_wait_at_home),
        cmocka_unit_test(create_with_thread_counts),
        cmocka_unit_test(create_config_size_zero_and_full),
        cmocka_unit_test(create_config_size_too_small),
        cmocka_unit_test(create_config_size_partial),
        cmocka_unit_test(sixty_four_runtimes),
        cmocka_unit_test(create_null_out_is_einval),
        cmocka_unit_test(create_negative_threads_fails),
        cmocka_unit_test(env_cpu_threads),
        cmocka_unit_test(env_omp_num_threads_and_precedence),
        cmocka_unit_test(env_bad_cpu_threads),
        cmocka_unit_test(env_devices),
        cmocka_unit_test(shutdown_wait_runs_everything),
        cmocka_unit_test(shutdown_cancel_pending),
        cmocka_unit_test(submit_after_shutdown),
        cmocka_unit_test(shutdown_null_and_destroy_null),
        cmocka_unit_test(shutdown_inside_task_is_ebusy),
        cmocka_unit_test(shutdown_cancel_flags_running_tasks),
        cmocka_unit_test(tasks_submit_during_shutdown),
        cmocka_unit_test(destroy_without_shutdown_waits),
        cmocka_unit_test(two_runtimes_at_once),
        cmocka_unit_test(wait_all_and_timeout),
        cmocka_unit_test(stats_counters),
    };
    if (getenv("FRONTA_TEST_OMP_LAUNCH")) {
        const struct CMUnitTest omp_only[] = {
            cmocka_unit_test(env_omp_num_threads_and_precedence),
        };
        return cmocka_run_group_tests(omp_only, group_setup, group_teardown);
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
