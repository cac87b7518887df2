/* Tests of the scheduler front's API: choosing the policy, priorities under each policy, result buffers, worker_init, input order, waits that help. */
#include "test_util.h"

#include <pthread.h>

static pthread_t main_thread;

static const char *const policies[] = {"ws", "eager", "heft"};
enum { NPOLICIES = sizeof policies / sizeof policies[0] };

/* ---- environment: the suite runs under FRONTA_SCHED=<policy> too ------ */

typedef struct env_saved {
    const char *name;
    char value[256];
    int had;
} env_saved_t;

/* Unset name for the test, keeping what it was for env_restore. */
static env_saved_t env_clear(const char *name)
{
    env_saved_t s = {.name = name};
    const char *v = getenv(name);
    if (v) {
        s.had = 1;
        snprintf(s.value, sizeof s.value, "%s", v);
    }
    unsetenv(name);
    return s;
}

static void env_restore(const env_saved_t *s)
{
    if (s->had)
        setenv(s->name, s->value, 1);
    else
        unsetenv(s->name);
}

static fronta_config_t config(int threads, const char *devices, const char *sched)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = threads;
    cfg.devices = devices;
    cfg.sched = sched;
    return cfg;
}

static fronta_runtime_t *create_ok(const fronta_config_t *cfg)
{
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(cfg, &rt);
    if (rc != 0)
        fail_msg("fronta_runtime_create(sched %s, devices %s): %s (%s)",
                 cfg->sched ? cfg->sched : "NULL", cfg->devices ? cfg->devices : "NULL",
                 fronta_err_name(rc), fronta_last_error());
    assert_non_null(rt);
    return rt;
}

/* Create must fail with want and leave *out alone. */
static void create_fails(const fronta_config_t *cfg, int want, const char *what)
{
    fronta_runtime_t *rt = (fronta_runtime_t *)&rt;
    int rc = fronta_runtime_create(cfg, &rt);
    if (rc == 0)
        fronta_runtime_destroy(rt);
    if (rc != want)
        fail_msg("%s: create gave %s, expected %s", what, fronta_err_name(rc),
                 fronta_err_name(want));
}

static void run_some(fronta_runtime_t *rt)
{
    atomic_int count;
    atomic_init(&count, 0);
    atomic_int *cp = &count;
    for (int i = 0; i < 100; i++)
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp, NULL), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&count), 100);
}

/* ---- choosing the policy ---------------------------------------------- */

static void policy_from_config(void **state)
{
    (void)state;
    env_saved_t env = env_clear("FRONTA_SCHED");
    for (int i = 0; i < NPOLICIES; i++) {
        fronta_config_t cfg = config(2, "cpu", policies[i]);
        fronta_runtime_t *rt = create_ok(&cfg);
        assert_string_equal(fronta_runtime_sched(rt), policies[i]);
        run_some(rt);
        assert_int_equal(fronta_runtime_destroy(rt), 0);
    }
    static const char *const bad[] = {"nope", "WS ", "heft2", "ws,eager"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fronta_config_t cfg = config(1, "cpu", bad[i]);
        create_fails(&cfg, FRONTA_EINVAL, bad[i]);
    }
    env_restore(&env);
}

static void policy_from_env(void **state)
{
    (void)state;
    env_saved_t env = env_clear("FRONTA_SCHED");
    for (int i = 0; i < NPOLICIES; i++) {
        setenv("FRONTA_SCHED", policies[i], 1);
        fronta_config_t cfg = config(2, "cpu", NULL);
        fronta_runtime_t *rt = create_ok(&cfg);
        assert_string_equal(fronta_runtime_sched(rt), policies[i]);
        run_some(rt);
        assert_int_equal(fronta_runtime_destroy(rt), 0);
    }
    /* The config field beats the variable (a zero field means "the
     * variable when set"). */
    setenv("FRONTA_SCHED", "eager", 1);
    fronta_config_t cfg = config(1, "cpu", "heft");
    fronta_runtime_t *rt = create_ok(&cfg);
    assert_string_equal(fronta_runtime_sched(rt), "heft");
    assert_int_equal(fronta_runtime_destroy(rt), 0);

    setenv("FRONTA_SCHED", "nope", 1);
    cfg = config(1, "cpu", NULL);
    create_fails(&cfg, FRONTA_EENV, "FRONTA_SCHED=nope");
    env_restore(&env);
}

/* heft where there are devices of two kinds, ws on the pool alone. */
static void default_policy(void **state)
{
    (void)state;
    env_saved_t env = env_clear("FRONTA_SCHED");
    fronta_config_t cfg = config(1, "cpu", NULL);
    fronta_runtime_t *rt = create_ok(&cfg);
    assert_string_equal(fronta_runtime_sched(rt), "ws");
    assert_int_equal(fronta_runtime_destroy(rt), 0);

    cfg = config(1, "all", NULL);
    cfg.log_level = FRONTA_LOG_OFF;
    rt = create_ok(&cfg);
    int cl = ft_cl_device(rt, 0);
    print_message("[ info     ] devices all: %d devices, policy %s\n", fronta_device_count(rt),
                  fronta_runtime_sched(rt));
    assert_string_equal(fronta_runtime_sched(rt), cl >= 0 ? "heft" : "ws");
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    env_restore(&env);
}

/* ---- priorities across workers ---------------------------------------- */

enum { NLOW = 50 };

typedef struct order_log {
    atomic_int pos;
    atomic_int high_pos;  /* where the high-priority task ran; -1 not yet */
} order_log_t;

typedef struct order_arg {
    order_log_t *log;
    int high;
} order_arg_t;

static int order_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    order_arg_t a;
    memcpy(&a, arg, sizeof a);
    int i = atomic_fetch_add(&a.log->pos, 1);
    if (a.high)
        atomic_store(&a.log->high_pos, i);
    return 0;
}

static int submit_order(fronta_runtime_t *rt, order_log_t *log, int high, int priority)
{
    order_arg_t a = {.log = log, .high = high};
    fronta_call_t call = {.size = sizeof call, .fn = order_task, .arg = &a,
                          .arg_size = sizeof a, .priority = priority};
    return fronta_submit_call(rt, &call, NULL);
}

typedef struct high_from_thread {
    fronta_runtime_t *rt;
    order_log_t *log;
    int priority;
    int rc;
} high_from_thread_t;

static void *submit_high_thread(void *p)
{
    high_from_thread_t *h = p;
    h->rc = submit_order(h->rt, h->log, 1, h->priority);
    return NULL;
}

/* Submits NLOW low tasks then the high one from inside a task: they land
 * on the only worker's own queue. */
typedef struct spawn_arg {
    order_log_t *log;
    int low, high;
} spawn_arg_t;

static int spawn_task(fronta_ctx_t *ctx, void *arg)
{
    spawn_arg_t s;
    memcpy(&s, arg, sizeof s);
    fronta_runtime_t *rt = fronta_ctx_runtime(ctx);
    for (int i = 0; i < NLOW; i++) {
        int rc = submit_order(rt, s.log, 0, s.low);
        if (rc)
            return rc;
    }
    return submit_order(rt, s.log, 1, s.high);
}

enum { FROM_MAIN, FROM_OTHER_THREAD, FROM_TASK };

static void high_first(const char *policy, int from, int low, int high)
{
    fronta_config_t cfg = config(1, "cpu", policy);
    fronta_runtime_t *rt = create_ok(&cfg);
    order_log_t log;
    atomic_init(&log.pos, 0);
    atomic_init(&log.high_pos, -1);
    if (from == FROM_TASK) {
        spawn_arg_t s = {.log = &log, .low = low, .high = high};
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_fn(rt, spawn_task, &s, sizeof s, &f), 0);
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
    } else {
        ft_gate_t gate;
        ft_gate_init(&gate, 0);
        fronta_future_t *g = ft_gate_submit(rt, &gate);
        for (int i = 0; i < NLOW; i++)
            assert_int_equal(submit_order(rt, &log, 0, low), 0);
        if (from == FROM_MAIN) {
            assert_int_equal(submit_order(rt, &log, 1, high), 0);
        } else {
            high_from_thread_t h = {.rt = rt, .log = &log, .priority = high, .rc = -1};
            pthread_t th;
            assert_int_equal(pthread_create(&th, NULL, submit_high_thread, &h), 0);
            assert_int_equal(pthread_join(th, NULL), 0);
            assert_int_equal(h.rc, 0);
        }
        ft_gate_open(&gate);
        FT_EXPECT_OUTCOME(g, 0);
        fronta_future_release(g);
    }
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&log.pos), NLOW + 1);
    int pos = atomic_load(&log.high_pos);
    static const char *const froms[] = {"the main thread", "another thread", "a task"};
    if (pos != 0)
        fail_msg("%s: priority %d after %d tasks of priority %d (from %s) ran at position %d",
                 policy, high, NLOW, low, froms[from], pos);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

static void priority_not_stuck(void **state)
{
    (void)state;
    static const int levels[][2] = {{0, 1}, {-1, 0}, {1, 5}};
    for (int p = 0; p < NPOLICIES; p++)
        for (int from = FROM_MAIN; from <= FROM_TASK; from++)
            for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
                high_first(policies[p], from, levels[l][0], levels[l][1]);
}

/* ---- fronta_ctx_result_buffer ----------------------------------------- */

enum { MIB = 1 << 20 };

static unsigned char pattern(size_t i, unsigned seed)
{
    return (unsigned char)((i * 2654435761u) >> 13 ^ seed);
}

typedef struct rb_arg {
    size_t size;
    unsigned seed;
    int before;         /* 1: fronta_ctx_return first; 2: a result buffer first */
    int after;          /* 1: fronta_ctx_return 4 bytes after */
    int fail_attempts;  /* fail attempts below this one (after filling) */
    atomic_int *misaligned;
} rb_arg_t;

static int result_buffer_task(fronta_ctx_t *ctx, void *arg)
{
    rb_arg_t a;
    memcpy(&a, arg, sizeof a);
    int attempt = (int)fronta_ctx_attempt(ctx);
    if (a.before == 1) {
        uint64_t v = 7;
        int rc = fronta_ctx_return(ctx, &v, sizeof v);
        if (rc)
            return rc;
    } else if (a.before == 2) {
        unsigned char *p = fronta_ctx_result_buffer(ctx, 3 * MIB);
        if (!p)
            return FRONTA_ENOMEM;
        memset(p, 0xee, 3 * MIB);
    }
    if (attempt < a.fail_attempts) {
        unsigned char *p = fronta_ctx_result_buffer(ctx, 4096);
        if (p)
            memset(p, 0xdd, 4096);
        return fronta_ctx_fail(ctx, FRONTA_ERANGE, "attempt %d fails", attempt);
    }
    if (a.size == 0 && a.fail_attempts)
        return 0; /* the last attempt sets no result at all */
    unsigned char *p = fronta_ctx_result_buffer(ctx, a.size);
    if (!p)
        return FRONTA_ENOMEM;
    if ((uintptr_t)p % 8)
        atomic_fetch_add(a.misaligned, 1);
    for (size_t i = 0; i < a.size; i++)
        p[i] = pattern(i, a.seed);
    if (a.after == 1) {
        int32_t v = -5;
        return fronta_ctx_return(ctx, &v, sizeof v);
    }
    return 0;
}

static fronta_future_t *submit_rb(fronta_runtime_t *rt, rb_arg_t a, unsigned retries)
{
    fronta_call_t call = {.size = sizeof call, .fn = result_buffer_task, .arg = &a,
                          .arg_size = sizeof a, .retries = retries};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_call(rt, &call, &f), 0);
    return f;
}

static void check_pattern(fronta_future_t *f, size_t size, unsigned seed)
{
    FT_EXPECT_OUTCOME(f, 0);
    const void *p = NULL;
    size_t sz = 12345;
    assert_int_equal(fronta_future_result_ptr(f, &p, &sz), 0);
    if (sz != size)
        fail_msg("result of %zu bytes, expected %zu", sz, size);
    const unsigned char *b = p;
    for (size_t i = 0; i < size; i++)
        if (b[i] != pattern(i, seed))
            fail_msg("byte %zu of %zu is %u, expected %u", i, size, b[i], pattern(i, seed));
}

/* Refuses any allocation above 64 MiB, so that a huge result buffer meets
 * "out of memory" without the sanitizers' allocator aborting. */
static void *capped_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (new_size > 64u * MIB)
        return NULL;
    return realloc(ptr, new_size);
}

static void result_buffer(void **state)
{
    (void)state;
    fronta_config_t cfg = config(2, "cpu", NULL);
    cfg.alloc = capped_alloc;
    fronta_runtime_t *rt = create_ok(&cfg);
    assert_null(fronta_ctx_result_buffer(NULL, 16));
    atomic_int misaligned;
    atomic_init(&misaligned, 0);

    /* Sizes from the inline slot to 1 MiB, filled in place. */
    static const size_t sizes[] = {1, 8, 24, 100, 4099, MIB};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    fronta_future_t *f[NS];
    for (size_t i = 0; i < NS; i++)
        f[i] = submit_rb(rt, (rb_arg_t){.size = sizes[i], .seed = (unsigned)i,
                                        .misaligned = &misaligned}, 0);
    for (size_t i = 0; i < NS; i++) {
        check_pattern(f[i], sizes[i], (unsigned)i);
        fronta_future_release(f[i]);
    }
    assert_int_equal(atomic_load(&misaligned), 0);

    /* It replaces an earlier fronta_ctx_return, and an earlier (larger)
     * result buffer; a later fronta_ctx_return replaces it. */
    fronta_future_t *g = submit_rb(rt, (rb_arg_t){.size = MIB, .seed = 3, .before = 1,
                                                  .misaligned = &misaligned}, 0);
    check_pattern(g, MIB, 3);
    fronta_future_release(g);
    g = submit_rb(rt, (rb_arg_t){.size = 1000, .seed = 4, .before = 2,
                                 .misaligned = &misaligned}, 0);
    check_pattern(g, 1000, 4);
    fronta_future_release(g);
    g = submit_rb(rt, (rb_arg_t){.size = MIB, .seed = 5, .after = 1,
                                 .misaligned = &misaligned}, 0);
    int32_t v = 0;
    assert_int_equal(fronta_future_result(g, FT_LIMIT, &v, sizeof v), 0);
    assert_int_equal(v, -5);
    fronta_future_release(g);

    /* A task that fails has no result, whatever it filled. */
    g = submit_rb(rt, (rb_arg_t){.size = MIB, .fail_attempts = 1, .misaligned = &misaligned},
                  0);
    FT_EXPECT_OUTCOME(g, FRONTA_ERANGE);
    const void *p = &p;
    size_t sz = 99;
    assert_int_not_equal(fronta_future_result_ptr(g, &p, &sz), 0);
    unsigned char small[8];
    assert_int_equal(fronta_future_result(g, 0, small, sizeof small), FRONTA_ERANGE);
    fronta_future_release(g);

    /* A failed attempt's buffer is not the result of the retry that
     * succeeds: the retry's own, or none. */
    g = submit_rb(rt, (rb_arg_t){.size = 4099, .seed = 6, .fail_attempts = 2,
                                 .misaligned = &misaligned}, 2);
    check_pattern(g, 4099, 6);
    fronta_future_release(g);
    g = submit_rb(rt, (rb_arg_t){.size = 0, .fail_attempts = 1, .misaligned = &misaligned},
                  1);
    FT_EXPECT_OUTCOME(g, 0);
    sz = 99;
    assert_int_equal(fronta_future_result_ptr(g, &p, &sz), 0);
    if (sz != 0)
        fail_msg("the retry set no result, yet the result has %zu bytes", sz);
    fronta_future_release(g);

    /* Out of memory: NULL, and the task may say so. */
    g = submit_rb(rt, (rb_arg_t){.size = 256u * MIB, .misaligned = &misaligned}, 0);
    FT_EXPECT_OUTCOME(g, FRONTA_ENOMEM);
    fronta_future_release(g);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- worker_init ------------------------------------------------------ */

enum { MAXW = 8 };

typedef struct init_log {
    atomic_int calls;
    atomic_int per_index[MAXW];
    atomic_int bad_index;
    atomic_int done[MAXW];       /* set as the hook's last step */
    pthread_t thread[MAXW];      /* written before done[i] (release) */
    atomic_int on_main;
    atomic_int task_before_init; /* a task ran on a worker whose hook had not finished */
    atomic_int wrong_thread;     /* a task on worker w ran on another thread than w's hook */
    atomic_int ran;
} init_log_t;

static void init_hook(void *ud, int worker)
{
    init_log_t *l = ud;
    atomic_fetch_add(&l->calls, 1);
    if (pthread_equal(pthread_self(), main_thread))
        atomic_store(&l->on_main, 1);
    if (worker < 0 || worker >= MAXW) {
        atomic_store(&l->bad_index, 1);
        return;
    }
    atomic_fetch_add(&l->per_index[worker], 1);
    l->thread[worker] = pthread_self();
    /* Release: a task that sees done[w] also sees thread[w]. */
    atomic_store_explicit(&l->done[worker], 1, memory_order_release);
}

static int init_check_task(fronta_ctx_t *ctx, void *arg)
{
    init_log_t *l;
    memcpy(&l, arg, sizeof l);
    int w = fronta_ctx_worker(ctx);
    if (w < 0 || w >= MAXW) {
        atomic_store(&l->bad_index, 1);
    } else if (!atomic_load_explicit(&l->done[w], memory_order_acquire)) {
        atomic_store(&l->task_before_init, 1);
    } else if (!pthread_equal(l->thread[w], pthread_self())) {
        atomic_store(&l->wrong_thread, 1);
    }
    atomic_fetch_add(&l->ran, 1);
    ft_busy_us(NULL, 20);
    return 0;
}

static void init_once_each(int threads)
{
    static init_log_t l;
    memset(&l, 0, sizeof l);
    fronta_config_t cfg = config(threads, "cpu", NULL);
    cfg.worker_init = init_hook;
    cfg.worker_init_ud = &l;
    fronta_runtime_t *rt = create_ok(&cfg);
    assert_int_equal(fronta_runtime_cpu_threads(rt), threads);
    /* Submitted at once: a worker must not take one before its hook. */
    init_log_t *lp = &l;
    enum { NT = 400 };
    for (int i = 0; i < NT; i++)
        assert_int_equal(fronta_submit_fn(rt, init_check_task, &lp, sizeof lp, NULL), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);

    assert_int_equal(atomic_load(&l.ran), NT);
    assert_int_equal(atomic_load(&l.bad_index), 0);
    assert_int_equal(atomic_load(&l.on_main), 0);
    if (atomic_load(&l.calls) != threads)
        fail_msg("%d threads: the hook ran %d times", threads, atomic_load(&l.calls));
    for (int i = 0; i < threads; i++) {
        if (atomic_load(&l.per_index[i]) != 1)
            fail_msg("%d threads: index %d seen %d times", threads, i,
                     atomic_load(&l.per_index[i]));
        for (int j = 0; j < i; j++)
            assert_false(pthread_equal(l.thread[i], l.thread[j]));
    }
    assert_int_equal(atomic_load(&l.task_before_init), 0);
    assert_int_equal(atomic_load(&l.wrong_thread), 0);
}

/* Every pool thread runs the hook, even one that never gets a task
 * before destroy: a thread late to start must not skip it. */
static void worker_init_without_tasks(void)
{
    static init_log_t l;
    int short_runs = 0;
    for (int r = 0; r < 100; r++) {
        memset(&l, 0, sizeof l);
        fronta_config_t cfg = config(MAXW, "cpu", NULL);
        cfg.worker_init = init_hook;
        cfg.worker_init_ud = &l;
        fronta_runtime_t *rt = create_ok(&cfg);
        assert_int_equal(fronta_runtime_destroy(rt), 0);
        short_runs += atomic_load(&l.calls) != MAXW;
        assert_int_equal(atomic_load(&l.bad_index), 0);
    }
    if (short_runs)
        fail_msg("%d of 100 runtimes of %d threads destroyed at once: the hook ran on fewer"
                 " threads", short_runs, MAXW);
}

static void worker_init_once_each(void **state)
{
    (void)state;
    init_once_each(1);
    init_once_each(3);
    init_once_each(MAXW);
    worker_init_without_tasks();
}

/* ---- input i is after[i] ---------------------------------------------- */

static int value_task(fronta_ctx_t *ctx, void *arg)
{
    int64_t v;
    int delay_us;
    memcpy(&v, arg, sizeof v);
    memcpy(&delay_us, (char *)arg + sizeof v, sizeof delay_us);
    ft_busy_us(NULL, delay_us);
    /* Results of different sizes: v repeated 1 + v % 3 times. */
    int64_t out[3] = {v, v, v};
    return fronta_ctx_return(ctx, out, sizeof(int64_t) * (size_t)(1 + v % 3));
}

enum { NIN = 9 };

static int gather_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t n = fronta_ctx_ninputs(ctx);
    int64_t *out = fronta_ctx_result_buffer(ctx, (n + 1) * sizeof(int64_t));
    if (!out)
        return FRONTA_ENOMEM;
    out[0] = (int64_t)n;
    for (size_t i = 0; i < n; i++) {
        size_t sz = 0;
        const void *p = fronta_ctx_input(ctx, i, &sz);
        int64_t v = -1;
        if (p && sz >= sizeof v && sz % sizeof v == 0)
            memcpy(&v, p, sizeof v);
        /* The size must be the one that value's task returned. */
        if (v >= 0 && sz != sizeof(int64_t) * (size_t)(1 + v % 3))
            v = -2;
        out[i + 1] = v;
    }
    if (fronta_ctx_input(ctx, n, NULL) != NULL)
        out[0] = -1;
    return 0;
}

static void input_order_is_after(void **state)
{
    (void)state;
    uint64_t rng = ft_seed("input order");
    fronta_runtime_t *rt = ft_runtime(2);
    for (int round = 0; round < 20; round++) {
        enum { NP = 5 };
        fronta_future_t *p[NP];
        int64_t vals[NP];
        for (int k = 0; k < NP; k++) {
            unsigned char arg[sizeof(int64_t) + sizeof(int)];
            vals[k] = 100 + 17 * k + round;
            int delay = (int)(ft_rand(&rng) % 500);
            memcpy(arg, &vals[k], sizeof vals[k]);
            memcpy(arg + sizeof vals[k], &delay, sizeof delay);
            assert_int_equal(fronta_submit_fn(rt, value_task, arg, sizeof arg, &p[k]), 0);
        }
        /* Every producer at least once, then duplicates, shuffled. */
        fronta_future_t *after[NIN];
        int which[NIN];
        for (int i = 0; i < NIN; i++)
            which[i] = i < NP ? i : (int)(ft_rand(&rng) % NP);
        for (int i = NIN - 1; i > 0; i--) {
            int j = (int)(ft_rand(&rng) % (uint64_t)(i + 1));
            int t = which[i];
            which[i] = which[j];
            which[j] = t;
        }
        for (int i = 0; i < NIN; i++)
            after[i] = p[which[i]];
        fronta_call_t call = {.size = sizeof call, .fn = gather_task, .after = after,
                              .nafter = NIN};
        fronta_future_t *g = NULL;
        assert_int_equal(fronta_submit_call(rt, &call, &g), 0);
        FT_EXPECT_OUTCOME(g, 0);
        const void *res = NULL;
        size_t sz = 0;
        assert_int_equal(fronta_future_result_ptr(g, &res, &sz), 0);
        assert_int_equal(sz, (NIN + 1) * sizeof(int64_t));
        int64_t got[NIN + 1];
        memcpy(got, res, sizeof got);
        assert_int_equal(got[0], NIN);
        for (int i = 0; i < NIN; i++)
            if (got[i + 1] != vals[which[i]])
                fail_msg("round %d: input %d is %lld, after[%d] returned %lld", round, i,
                         (long long)got[i + 1], i, (long long)vals[which[i]]);
        fronta_future_release(g);
        for (int k = 0; k < NP; k++)
            fronta_future_release(p[k]);
    }
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- waits that help -------------------------------------------------- */

/* A holds the only worker until B opens the latch; nothing but the
 * waiting main thread can run B. So with wait_helps, B runs on the main
 * thread; without, A gives up after `patience` and B then runs on the
 * worker. */
typedef struct latch {
    atomic_int open;
    atomic_int a_started;
    atomic_int a_gave_up;
    atomic_int b_on_main;
    atomic_int b_ran;
    double patience;
} latch_t;

static int latch_wait_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    latch_t *l;
    memcpy(&l, arg, sizeof l);
    atomic_store(&l->a_started, 1);
    double deadline = ft_now() + l->patience;
    while (!atomic_load(&l->open)) {
        if (ft_now() > deadline) {
            atomic_store(&l->a_gave_up, 1);
            break;
        }
        sched_yield();
    }
    return 0;
}

static int latch_open_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    latch_t *l;
    memcpy(&l, arg, sizeof l);
    if (pthread_equal(pthread_self(), main_thread))
        atomic_store(&l->b_on_main, 1);
    atomic_fetch_add(&l->b_ran, 1);
    atomic_store(&l->open, 1);
    return 0;
}

enum { WAIT_FUTURE, WAIT_ALL, WAIT_MANY };

static void help_case(int helps, int how, int from_env)
{
    static latch_t l;
    memset(&l, 0, sizeof l);
    l.patience = helps ? FT_LIMIT : 0.2;
    fronta_config_t cfg = config(1, "cpu", NULL);
    env_saved_t env = env_clear("FRONTA_WAIT_HELP");
    if (from_env)
        setenv("FRONTA_WAIT_HELP", helps ? "1" : "0", 1);
    else
        cfg.wait_helps = helps ? 1 : 0;
    fronta_runtime_t *rt = create_ok(&cfg);
    env_restore(&env);
    latch_t *lp = &l;
    fronta_future_t *a = NULL, *b = NULL;
    assert_int_equal(fronta_submit_fn(rt, latch_wait_task, &lp, sizeof lp, &a), 0);
    FT_SPIN_UNTIL(atomic_load(&l.a_started));
    assert_true(atomic_load(&l.a_started));
    assert_int_equal(fronta_submit_fn(rt, latch_open_task, &lp, sizeof lp, &b), 0);
    if (how == WAIT_FUTURE) {
        assert_int_equal(fronta_future_wait(a, FT_LIMIT), 0);
    } else if (how == WAIT_ALL) {
        assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    } else {
        fronta_future_t *fs[] = {a};
        size_t ndone = 0;
        assert_int_equal(fronta_wait(fs, 1, FT_LIMIT, FRONTA_ALL_COMPLETED, &ndone), 0);
        assert_int_equal(ndone, 1);
    }
    FT_EXPECT_OUTCOME(b, 0);
    static const char *const hows[] = {"fronta_future_wait", "fronta_runtime_wait_all",
                                       "fronta_wait"};
    if (helps) {
        if (!atomic_load(&l.b_on_main) || atomic_load(&l.a_gave_up))
            fail_msg("wait_helps=1%s, %s: the opener ran on %s, the holder %s", 
                     from_env ? " (FRONTA_WAIT_HELP)" : "", hows[how],
                     atomic_load(&l.b_on_main) ? "the main thread" : "a pool thread",
                     atomic_load(&l.a_gave_up) ? "gave up" : "was let go");
    } else {
        if (atomic_load(&l.b_on_main))
            fail_msg("wait_helps=0%s, %s: a task ran on the waiting thread",
                     from_env ? " (FRONTA_WAIT_HELP)" : "", hows[how]);
        assert_true(atomic_load(&l.a_gave_up));
    }
    assert_int_equal(atomic_load(&l.b_ran), 1);
    fronta_future_release(a);
    fronta_future_release(b);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

static void waits_help(void **state)
{
    (void)state;
    for (int how = WAIT_FUTURE; how <= WAIT_MANY; how++) {
        help_case(1, how, 0);
        help_case(0, how, 0);
    }
    help_case(1, WAIT_FUTURE, 1);
    help_case(0, WAIT_ALL, 1);
}

/* Many tasks and a helping main thread: each runs once, some on the main
 * thread (the only worker is held until the main thread's share opens it). */
typedef struct share {
    atomic_int ran, on_main, open;
    int n;
} share_t;

static int share_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    share_t *s;
    memcpy(&s, arg, sizeof s);
    if (pthread_equal(pthread_self(), main_thread)) {
        atomic_fetch_add(&s->on_main, 1);
        atomic_store(&s->open, 1);
    } else {
        /* A pool thread waits (bounded) until the main thread took one. */
        double deadline = ft_now() + FT_LIMIT;
        while (!atomic_load(&s->open) && ft_now() < deadline)
            sched_yield();
    }
    atomic_fetch_add(&s->ran, 1);
    return 0;
}

static void waits_help_many(void **state)
{
    (void)state;
    fronta_config_t cfg = config(1, "cpu", NULL);
    cfg.wait_helps = 1;
    fronta_runtime_t *rt = create_ok(&cfg);
    static share_t s;
    memset(&s, 0, sizeof s);
    share_t *sp = &s;
    enum { NT = 2000 };
    for (int i = 0; i < NT; i++)
        assert_int_equal(fronta_submit_fn(rt, share_task, &sp, sizeof sp, NULL), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&s.ran), NT);
    print_message("[ info     ] %d of %d tasks ran on the waiting thread\n",
                  atomic_load(&s.on_main), NT);
    assert_true(atomic_load(&s.on_main) > 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

int main(void)
{
    main_thread = pthread_self();
    ft_filter();
    ft_cache_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_from_config),
        cmocka_unit_test(policy_from_env),
        cmocka_unit_test(default_policy),
        cmocka_unit_test(priority_not_stuck),
        cmocka_unit_test(result_buffer),
        cmocka_unit_test(worker_init_once_each),
        cmocka_unit_test(input_order_is_after),
        cmocka_unit_test(waits_help),
        cmocka_unit_test(waits_help_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
