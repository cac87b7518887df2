/* Tests of counted resources: declarations and their syntax, enforcement on plain and kernel tasks, memory admission, refusal at submit, waiters' priorities, cancel and shutdown. */
#include "test_kernels.h"

#include <pthread.h>

/* ---- helpers ---------------------------------------------------------- */

static fronta_config_t config(int threads, const char *devices, const char *resources)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = threads;
    cfg.devices = devices;
    cfg.resources = resources;
    cfg.log_level = FRONTA_LOG_ERROR;
    return cfg;
}

static fronta_runtime_t *rt_res(int threads, const char *devices, const char *resources)
{
    fronta_config_t cfg = config(threads, devices, resources);
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    if (rc != 0)
        fail_msg("create(resources \"%s\"): %s (%s)", resources ? resources : "NULL",
                 fronta_err_name(rc), fronta_last_error());
    assert_non_null(rt);
    return rt;
}

static uint64_t submitted(const fronta_runtime_t *rt)
{
    uint64_t s = 0;
    assert_int_equal(fronta_runtime_progress(rt, NULL, &s), 0);
    return s;
}

static void sleep_us(long us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Concurrency seen from inside the tasks: cur is raised on entry and
 * lowered on leaving, max keeps the highest cur any task saw. Tasks
 * record; the main thread asserts. */
typedef struct conc {
    atomic_int cur, max, started, ran;
    atomic_int open;     /* a gate: tasks stay inside until it is set */
    atomic_int expired;  /* a task gave up waiting for the gate: a hang */
    int sleep_us;
} conc_t;

static void conc_init(conc_t *c, int gate_open, int us)
{
    memset(c, 0, sizeof *c);
    atomic_init(&c->open, gate_open);
    c->sleep_us = us;
}

static void conc_enter(conc_t *c)
{
    int now = atomic_fetch_add(&c->cur, 1) + 1;
    int m = atomic_load(&c->max);
    while (now > m && !atomic_compare_exchange_weak(&c->max, &m, now))
        ;
    atomic_fetch_add(&c->started, 1);
}

static void conc_body(conc_t *c)
{
    double deadline = ft_now() + FT_LIMIT;
    while (!atomic_load(&c->open)) {
        if (ft_now() > deadline) {
            atomic_store(&c->expired, 1);
            break;
        }
        sched_yield();
    }
    if (c->sleep_us)
        sleep_us(c->sleep_us);
}

static void conc_leave(conc_t *c)
{
    atomic_fetch_sub(&c->cur, 1);
    atomic_fetch_add(&c->ran, 1);
}

static int conc_task(fronta_ctx_t *ctx, void *arg)
{
    conc_t *c;
    memcpy(&c, arg, sizeof c);
    conc_enter(c);
    conc_body(c);
    conc_leave(c);
    int64_t id = (int64_t)fronta_ctx_task_id(ctx);
    return fronta_ctx_return(ctx, &id, sizeof id);
}

/* Submit fn(&p) needing {name, amount}; nres_form 1 gives nresources,
 * 0 ends the list with a NULL name instead. */
static int submit_need(fronta_runtime_t *rt, fronta_fn_t fn, void *p, const char *name,
                       uint64_t amount, int priority, int nres_form, fronta_future_t **out)
{
    fronta_call_t call = {.size = sizeof call, .fn = fn, .arg = &p, .arg_size = sizeof p,
                          .priority = priority};
    call.resources[0] = (fronta_resource_t){.name = name, .amount = amount};
    call.nresources = nres_form ? 1 : 0;
    return fronta_submit_call(rt, &call, out);
}

static void expect_resource_error(int rc, const char *need)
{
    if (rc != FRONTA_ERESOURCE)
        fail_msg("need %s: %s, expected FRONTA_ERESOURCE", need, fronta_err_name(rc));
    const char *msg = fronta_last_error();
    assert_non_null(msg);
    print_message("[ info     ] need %s: \"%s\"\n", need, msg);
    /* The message names the need (case-blind, as names are). */
    char want[32], low[512];
    size_t i;
    for (i = 0; need[i] && need[i] != '=' && i + 1 < sizeof want; i++)
        want[i] = (char)(need[i] | 0x20);
    want[i] = 0;
    for (i = 0; msg[i] && i + 1 < sizeof low; i++)
        low[i] = (char)(msg[i] >= 'A' && msg[i] <= 'Z' ? msg[i] | 0x20 : msg[i]);
    low[i] = 0;
    if (!strstr(low, want))
        fail_msg("fronta_last_error() does not name \"%s\": \"%s\"", want, msg);
}

typedef struct env_saved {
    char value[256];
    int had;
} env_saved_t;

static env_saved_t env_set(const char *name, const char *value)
{
    env_saved_t s = {0};
    const char *v = getenv(name);
    if (v) {
        s.had = 1;
        snprintf(s.value, sizeof s.value, "%s", v);
    }
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return s;
}

static void env_restore(const char *name, const env_saved_t *s)
{
    if (s->had)
        setenv(name, s->value, 1);
    else
        unsetenv(name);
}

/* ---- enforcement on plain tasks --------------------------------------- */

enum { NTAGGED = 100, NUNTAGGED = 100 };

/* gpu=2 on the pool, 4 pool threads: two tagged tasks hold the tokens
 * behind a closed gate while 98 wait; untagged tasks submitted then must
 * all complete meanwhile (a waiting task holds no worker). Then the gate
 * opens and the rest run, never more than two at once. */
static void tokens_case(int from_env)
{
    env_saved_t env = env_set("FRONTA_RESOURCES", from_env ? "pool:gpu=2" : NULL);
    fronta_runtime_t *rt = rt_res(4, "cpu", from_env ? NULL : "pool:gpu=2");
    env_restore("FRONTA_RESOURCES", &env);
    static conc_t c;
    conc_init(&c, 0, 1500);
    fronta_future_t *tagged[NTAGGED], *plain[NUNTAGGED];
    for (int i = 0; i < NTAGGED; i++)
        assert_int_equal(submit_need(rt, conc_task, &c, "gpu", 1, 0, i % 2, &tagged[i]), 0);
    FT_SPIN_UNTIL(atomic_load(&c.started) >= 2);
    assert_int_equal(atomic_load(&c.started), 2);

    atomic_int count;
    atomic_init(&count, 0);
    atomic_int *cp = &count;
    for (int i = 0; i < NUNTAGGED; i++)
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &cp, sizeof cp, &plain[i]), 0);
    for (int i = 0; i < NUNTAGGED; i++) {
        if (fronta_future_wait(plain[i], FT_LIMIT) != 0)
            fail_msg("untagged task %d did not run while tagged ones waited", i);
        fronta_future_release(plain[i]);
    }
    assert_int_equal(atomic_load(&count), NUNTAGGED);
    /* Still only the two holders inside: the waiters took no token. */
    assert_int_equal(atomic_load(&c.started), 2);
    assert_int_equal(atomic_load(&c.ran), 0);

    atomic_store(&c.open, 1);
    for (int i = 0; i < NTAGGED; i++) {
        FT_EXPECT_OUTCOME(tagged[i], 0);
        fronta_future_release(tagged[i]);
    }
    print_message("[ info     ] gpu=2%s: at most %d tagged tasks at once\n",
                  from_env ? " (FRONTA_RESOURCES)" : "", atomic_load(&c.max));
    assert_int_equal(atomic_load(&c.ran), NTAGGED);
    assert_int_equal(atomic_load(&c.expired), 0);
    assert_int_equal(atomic_load(&c.max), 2);

    uint64_t waits = 0;
    for (int w = 0; w < fronta_worker_count(rt); w++) {
        fronta_worker_stats_t st;
        memset(&st, 0, sizeof st);
        st.size = sizeof st;
        assert_int_equal(fronta_worker_stats(rt, w, &st), 0);
        waits += st.resource_waits;
    }
    print_message("[ info     ] resource waits counted by the workers: %llu\n",
                  (unsigned long long)waits);
    assert_true(waits >= NTAGGED - 2);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

static void tokens_from_config(void **state)
{
    (void)state;
    tokens_case(0);
}

static void tokens_from_env(void **state)
{
    (void)state;
    tokens_case(1);
}

/* Names are case-blind both ways; one token means one at a time. */
static void names_case_blind(void **state)
{
    (void)state;
    fronta_runtime_t *rt = rt_res(3, "cpu", "pool:GPU=1");
    static conc_t c;
    conc_init(&c, 1, 1000);
    static const char *const spell[] = {"gpu", "Gpu", "GPU", "gPu"};
    enum { NT = 24 };
    fronta_future_t *f[NT];
    for (int i = 0; i < NT; i++)
        assert_int_equal(submit_need(rt, conc_task, &c, spell[i % 4], 1, 0, 1, &f[i]), 0);
    for (int i = 0; i < NT; i++) {
        FT_EXPECT_OUTCOME(f[i], 0);
        fronta_future_release(f[i]);
    }
    assert_int_equal(atomic_load(&c.ran), NT);
    assert_int_equal(atomic_load(&c.max), 1);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- the syntax ------------------------------------------------------- */

static int noop_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

/* cap is accepted, cap + 1 refused at submit. */
static void expect_capacity(fronta_runtime_t *rt, const char *name, uint64_t cap)
{
    fronta_future_t *f = NULL;
    int rc = submit_need(rt, noop_task, NULL, name, cap, 0, 1, &f);
    if (rc != 0)
        fail_msg("%s=%llu refused (%s: %s)", name, (unsigned long long)cap,
                 fronta_err_name(rc), fronta_last_error());
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    f = (fronta_future_t *)&f;
    rc = submit_need(rt, noop_task, NULL, name, cap + 1, 0, 1, &f);
    char need[64];
    snprintf(need, sizeof need, "%s=%llu", name, (unsigned long long)(cap + 1));
    expect_resource_error(rc, need);
    assert_null(f);
}

static void amounts_with_units(void **state)
{
    (void)state;
    fronta_runtime_t *rt =
        rt_res(2, "cpu", "pool:mem=8MiB,slots=2k,kb=1KiB; pool:big=3GiB;pool:n=17");
    expect_capacity(rt, "mem", 8u << 20);
    expect_capacity(rt, "kb", 1024);
    expect_capacity(rt, "big", 3ull << 30);
    expect_capacity(rt, "n", 17);
    /* 2k: 2000 or 2048, either reading; neither admits 2049. */
    fronta_future_t *f = NULL;
    assert_int_equal(submit_need(rt, noop_task, NULL, "slots", 2000, 0, 1, &f), 0);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    expect_resource_error(submit_need(rt, noop_task, NULL, "slots", 2049, 0, 1, &f), "slots");
    assert_int_equal(fronta_runtime_destroy(rt), 0);

    /* The device may be named by id ("0") and by "all". */
    rt = rt_res(1, "cpu", "0:gpu=2;all:slots=3");
    expect_capacity(rt, "gpu", 2);
    expect_capacity(rt, "slots", 3);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

static void bad_specs_fail_create(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "nosuch:gpu=1",        /* no such device */
        "9:gpu=1",             /* no device 9 */
        "opencl:gpu=1",        /* names no device of a CPU-only runtime */
        "pool:gpu",            /* no '=' */
        "pool:gpu=",           /* no amount */
        "pool:=2",             /* no name */
        "pool:gpu=0",          /* amount 0 */
        "pool:gpu=abc",        /* garbage */
        "pool:gpu=2zz",        /* garbage unit */
        "pool:gpu=-1",
        "pool:gpu=99999999999999999999999", /* overflows */
        "pool:mem=20000000TiB", /* overflows after the unit */
        "pool:a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,j=1,k=1,l=1", /* too many names */
        "pool:thisnameismuchtoolongtobeatokenname=1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int from_env = 0; from_env < 2; from_env++) {
            env_saved_t env = env_set("FRONTA_RESOURCES", from_env ? bad[i] : NULL);
            fronta_config_t cfg = config(1, "cpu", from_env ? NULL : bad[i]);
            cfg.log_level = FRONTA_LOG_OFF;
            fronta_runtime_t *rt = (fronta_runtime_t *)&rt;
            int rc = fronta_runtime_create(&cfg, &rt);
            env_restore("FRONTA_RESOURCES", &env);
            if (rc == 0)
                fronta_runtime_destroy(rt);
            if (rc != FRONTA_EENV)
                fail_msg("resources \"%s\" (%s): create gave %s, expected FRONTA_EENV", bad[i],
                         from_env ? "FRONTA_RESOURCES" : "config", fronta_err_name(rc));
        }
    }
    /* A few names are fine. */
    fronta_runtime_t *rt = rt_res(1, "cpu", "pool:a=1,b=2,c=3");
    expect_capacity(rt, "c", 3);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- needs nobody can meet fail at submit ----------------------------- */

static void unmeetable_plain(void **state)
{
    (void)state;
    fronta_runtime_t *rt = rt_res(2, "cpu", "pool:gpu=2");
    uint64_t s0 = submitted(rt);
    fronta_future_t *f = (fronta_future_t *)&f;
    expect_resource_error(submit_need(rt, noop_task, NULL, "tpu", 1, 0, 1, &f), "tpu");
    assert_null(f);
    f = (fronta_future_t *)&f;
    expect_resource_error(submit_need(rt, noop_task, NULL, "gpu", 3, 0, 0, &f), "gpu");
    assert_null(f);
    /* One need that fits and one that does not: refused all the same. */
    fronta_call_t call = {.size = sizeof call, .fn = noop_task};
    call.resources[0] = (fronta_resource_t){.name = "gpu", .amount = 1};
    call.resources[1] = (fronta_resource_t){.name = "slots", .amount = 1};
    call.nresources = 2;
    expect_resource_error(fronta_submit_call(rt, &call, NULL), "slots");
    /* More needs than there are places: an invalid argument. */
    call.nresources = FRONTA_MAX_RESOURCES + 1;
    FT_EXPECT_RC(fronta_submit_call(rt, &call, NULL), FRONTA_EINVAL);

    /* A map refuses as a whole. */
    fronta_map_opts_t opts = {.size = sizeof opts};
    opts.resources[0] = (fronta_resource_t){.name = "gpu", .amount = 5};
    opts.nresources = 1;
    int args[8] = {0};
    fronta_future_t *out[8];
    for (int i = 0; i < 8; i++)
        out[i] = NULL;
    expect_resource_error(fronta_map(rt, noop_task, args, sizeof args[0], 8, &opts, out),
                          "gpu");
    assert_int_equal(submitted(rt), s0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(submitted(rt), s0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* A kernel task needs its buffers' bytes as "mem" on the device. */
static void unmeetable_kernel(void **state)
{
    (void)state;
    /* The pool with a 1 KiB budget: 1 KiB fits, 4 KiB does not. */
    fronta_runtime_t *rt = rt_res(2, "all", "pool:mem=1KiB,gpu=2");
    int cl = ft_cl_device(rt, 0);
    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_CPU);
    static uint32_t small[256], big[1024], want_big[1024];
    for (size_t i = 0; i < 1024; i++)
        big[i] = want_big[i] = (uint32_t)i * 3;
    fronta_buffer_t *bs, *bb;
    assert_int_equal(fronta_buffer_wrap(rt, small, 256, FRONTA_INT32, &bs), 0);
    assert_int_equal(fronta_buffer_wrap(rt, big, 1024, FRONTA_INT32, &bb), 0);
    uint64_t s0 = submitted(rt);
    fronta_task_desc_t t = ft_task(k.add_const, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(bs),
                                   FRONTA_I32(1), FT_NOARG);
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    s0 += 1;

    t = ft_task(k.add_const, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(bb), FRONTA_I32(1), FT_NOARG);
    f = (fronta_future_t *)&f;
    expect_resource_error(fronta_submit(rt, &t, &f), "mem");
    assert_null(f);
    t.needs.device = FRONTA_NEED_ANY; /* a CPU implementation only: the pool alone */
    expect_resource_error(fronta_submit(rt, &t, NULL), "mem");
    /* Two buffers of 512 bytes each: 1 KiB in all, fits. */
    fronta_buffer_t *h1, *h2;
    assert_int_equal(fronta_buffer_create(rt, 128, FRONTA_INT32, &h1), 0);
    assert_int_equal(fronta_buffer_create(rt, 128, FRONTA_INT32, &h2), 0);
    t = ft_task(k.add_into, FRONTA_NEED_CPU_POOL, FRONTA_IN(h1), FRONTA_INOUT(h2), FT_NOARG);
    f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    s0 += 1;
    /* A named need on a kernel task, above the capacity. */
    t = ft_task(k.add_const, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(bs), FRONTA_I32(1), FT_NOARG);
    t.resources[0] = (fronta_resource_t){.name = "gpu", .amount = 3};
    t.nresources = 1;
    expect_resource_error(fronta_submit(rt, &t, NULL), "gpu");
    if (cl >= 0) {
        /* The device declares no gpu token: NEED_OPENCL can never meet it. */
        ft_kernels_t kc = ft_kernels(rt, ".cl", FT_IMPL_CL);
        t = ft_task(kc.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(bs), FRONTA_I32(1),
                    FT_NOARG);
        t.resources[0] = (fronta_resource_t){.name = "gpu", .amount = 1};
        t.nresources = 1;
        expect_resource_error(fronta_submit(rt, &t, NULL), "gpu");
    }
    assert_int_equal(submitted(rt), s0);
    assert_int_equal(fronta_buffer_destroy(bb), 0);
    assert_memory_equal(big, want_big, sizeof big);
    assert_int_equal(fronta_buffer_destroy(bs), 0);
    assert_int_equal(fronta_buffer_destroy(h1), 0);
    assert_int_equal(fronta_buffer_destroy(h2), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);

    /* "all": every device gets a 1 KiB budget, so no device takes 4 KiB. */
    rt = rt_res(2, "all", "all:mem=1KiB");
    cl = ft_cl_device(rt, 0);
    k = ft_kernels(rt, "", cl >= 0 ? FT_IMPL_BOTH : FT_IMPL_CPU);
    assert_int_equal(fronta_buffer_wrap(rt, big, 1024, FRONTA_INT32, &bb), 0);
    s0 = submitted(rt);
    for (int need = FRONTA_NEED_ANY; need <= (cl >= 0 ? FRONTA_NEED_OPENCL : FRONTA_NEED_CPU_POOL);
         need++) {
        t = ft_task(k.add_const, (fronta_need_t)need, FRONTA_INOUT(bb), FRONTA_I32(1), FT_NOARG);
        expect_resource_error(fronta_submit(rt, &t, NULL), "mem");
    }
    assert_int_equal(submitted(rt), s0);
    assert_int_equal(fronta_buffer_destroy(bb), 0);
    assert_memory_equal(big, want_big, sizeof big);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- memory admission ------------------------------------------------- */

/* A CPU implementation that counts how many of its calls overlap. Kernel
 * implementations get no user data: a file-scope counter. */
static conc_t kconc;

static int k_count_inc(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    if (na != 1 || a[0].count != n)
        return FRONTA_EINVAL;
    conc_enter(&kconc);
    conc_body(&kconc);
    uint32_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] += 1;
    conc_leave(&kconc);
    return 0;
}

static fronta_kernel_t *count_kernel(fronta_runtime_t *rt)
{
    static const fronta_param_t params[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT,
         .count = FRONTA_COUNT_GLOBAL},
    };
    fronta_kernel_desc_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = "count_inc";
    d.params = params;
    d.nparams = 1;
    d.cpu = k_count_inc;
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    return k;
}

enum { NBUF = 12, ROUNDS = 2, BUDGET = 8192, ELEMS = BUDGET / 2 / 4 + 1 };

/* Each task's buffer is BUDGET/2 + 4 bytes: two never fit at once. Every
 * task has its own buffer, so nothing but admission orders them.
 * need_name: also a named need per task (NULL none). Returns the highest
 * overlap seen. */
static int admission_run(const char *resources, const char *need_name)
{
    fronta_runtime_t *rt = rt_res(4, "cpu", resources);
    fronta_kernel_t *k = count_kernel(rt);
    conc_init(&kconc, 1, 1000);
    static uint32_t data[NBUF][ELEMS];
    fronta_buffer_t *b[NBUF];
    for (int i = 0; i < NBUF; i++) {
        for (size_t j = 0; j < ELEMS; j++)
            data[i][j] = (uint32_t)(i * 1000 + (int)j);
        assert_int_equal(fronta_buffer_wrap(rt, data[i], ELEMS, FRONTA_INT32, &b[i]), 0);
    }
    fronta_future_t *f[ROUNDS][NBUF];
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NBUF; i++) {
            fronta_task_desc_t t = ft_task(k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b[i]),
                                           FT_NOARG, FT_NOARG);
            if (need_name) {
                t.resources[0] = (fronta_resource_t){.name = need_name, .amount = 1};
                t.nresources = 1;
            }
            f[r][i] = ft_submit_ok(rt, &t);
        }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NBUF; i++) {
            FT_EXPECT_OUTCOME(f[r][i], 0);
            fronta_future_release(f[r][i]);
        }
    for (int i = 0; i < NBUF; i++)
        assert_int_equal(fronta_buffer_destroy(b[i]), 0);
    for (int i = 0; i < NBUF; i++)
        for (size_t j = 0; j < ELEMS; j++)
            assert_int_equal(data[i][j], (uint32_t)(i * 1000 + (int)j + ROUNDS));
    assert_int_equal(atomic_load(&kconc.ran), ROUNDS * NBUF);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    return atomic_load(&kconc.max);
}

static void memory_admission_pool(void **state)
{
    (void)state;
    char spec[64];
    snprintf(spec, sizeof spec, "pool:mem=%d", BUDGET);
    int max = admission_run(spec, NULL);
    /* With room for five (and four threads), the same tasks do overlap
     * here (not asserted: on two cores it is likely, not certain). */
    snprintf(spec, sizeof spec, "pool:mem=%d", 3 * BUDGET);
    int free_max = admission_run(spec, NULL);
    int tok_max = admission_run("pool:gpu=1", "gpu");
    print_message("[ info     ] buffers of %d bytes: at most %d at once under mem=%d, %d under"
                  " mem=%d, %d under gpu=1\n",
                  ELEMS * 4, max, BUDGET, free_max, 3 * BUDGET, tok_max);
    assert_int_equal(max, 1);
    assert_int_equal(tok_max, 1);
    assert_true(free_max >= 1 && free_max <= 4);
}

static void memory_admission_opencl(void **state)
{
    (void)state;
    if (!ft_have_opencl())
        skip();
    char spec[64];
    snprintf(spec, sizeof spec, "opencl:mem=%d", BUDGET);
    fronta_runtime_t *rt = rt_res(2, "all", spec);
    int cl = ft_cl_device(rt, 0);
    assert_true(cl > 0);
    ft_kernels_t k = ft_kernels(rt, ".cl", FT_IMPL_CL);
    static uint32_t data[NBUF][ELEMS], model[NBUF][ELEMS];
    fronta_buffer_t *b[NBUF];
    for (int i = 0; i < NBUF; i++) {
        for (size_t j = 0; j < ELEMS; j++)
            data[i][j] = model[i][j] = (uint32_t)(i * 7919 + (int)j);
        assert_int_equal(fronta_buffer_wrap(rt, data[i], ELEMS, FRONTA_INT32, &b[i]), 0);
    }
    fronta_future_t *f[ROUNDS][NBUF];
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NBUF; i++) {
            fronta_task_desc_t t = ft_task(k.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(b[i]),
                                           FRONTA_I32(r + 1), FT_NOARG);
            f[r][i] = ft_submit_ok(rt, &t);
            for (size_t j = 0; j < ELEMS; j++)
                model[i][j] = ft_model_add_const(model[i][j], r + 1, j);
        }
    /* Twice the budget is refused on the device. */
    fronta_buffer_t *huge;
    assert_int_equal(fronta_buffer_create(rt, 2 * BUDGET / 4 + 1, FRONTA_INT32, &huge), 0);
    fronta_task_desc_t t = ft_task(k.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(huge),
                                   FRONTA_I32(1), FT_NOARG);
    expect_resource_error(fronta_submit(rt, &t, NULL), "mem");
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NBUF; i++) {
            FT_EXPECT_OUTCOME(f[r][i], 0);
            assert_true(fronta_future_device(f[r][i]) >= 1);
            fronta_future_release(f[r][i]);
        }
    for (int i = 0; i < NBUF; i++)
        ft_check_buffer(b[i], model[i], ELEMS, "a buffer admitted one at a time");
    for (int i = 0; i < NBUF; i++)
        assert_int_equal(fronta_buffer_destroy(b[i]), 0);
    assert_int_equal(fronta_buffer_destroy(huge), 0);
    assert_memory_equal(data, model, sizeof data);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- waiters: priority, cancel, shutdown ------------------------------ */

typedef struct order_log {
    atomic_int pos;
    atomic_int high_pos;
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

static fronta_future_t *submit_gate_need(fronta_runtime_t *rt, ft_gate_t *g, const char *need)
{
    fronta_future_t *f = NULL;
    int before = atomic_load(&g->started);
    assert_int_equal(submit_need(rt, ft_gate_task, g, need, 1, 0, 1, &f), 0);
    FT_SPIN_UNTIL(atomic_load(&g->started) > before);
    assert_true(atomic_load(&g->started) > before);
    return f;
}

static void waiters_by_priority(void **state)
{
    (void)state;
    static const int levels[][2] = {{0, 5}, {-3, -1}, {2, 3}};
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        fronta_runtime_t *rt = rt_res(2, "cpu", "pool:gpu=1");
        ft_gate_t gate;
        ft_gate_init(&gate, 0);
        fronta_future_t *holder = submit_gate_need(rt, &gate, "gpu");
        order_log_t log;
        atomic_init(&log.pos, 0);
        atomic_init(&log.high_pos, -1);
        for (int i = 0; i < 11; i++) {
            order_arg_t a = {.log = &log, .high = i == 10};
            fronta_call_t call = {.size = sizeof call, .fn = order_task, .arg = &a,
                                  .arg_size = sizeof a,
                                  .priority = levels[l][i == 10]};
            call.resources[0] = (fronta_resource_t){.name = "gpu", .amount = 1};
            call.nresources = 1;
            assert_int_equal(fronta_submit_call(rt, &call, NULL), 0);
        }
        ft_gate_open(&gate);
        FT_EXPECT_OUTCOME(holder, 0);
        fronta_future_release(holder);
        assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
        assert_int_equal(atomic_load(&log.pos), 11);
        if (atomic_load(&log.high_pos) != 0)
            fail_msg("priority %d after 10 waiters of priority %d ran at position %d",
                     levels[l][1], levels[l][0], atomic_load(&log.high_pos));
        assert_int_equal(fronta_runtime_destroy(rt), 0);
    }
}

static void cancel_waiter(void **state)
{
    (void)state;
    fronta_runtime_t *rt = rt_res(2, "cpu", "pool:gpu=1");
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *holder = submit_gate_need(rt, &gate, "gpu");
    static conc_t c;
    conc_init(&c, 1, 0);
    fronta_future_t *w = NULL, *dep = NULL, *w2 = NULL;
    assert_int_equal(submit_need(rt, conc_task, &c, "gpu", 1, 0, 1, &w), 0);
    assert_int_equal(submit_need(rt, conc_task, &c, "gpu", 1, 0, 1, &w2), 0);
    conc_t *cp = &c;
    fronta_call_t call = {.size = sizeof call, .fn = conc_task, .arg = &cp,
                          .arg_size = sizeof cp, .after = &w, .nafter = 1};
    assert_int_equal(fronta_submit_call(rt, &call, &dep), 0);
    assert_int_equal(fronta_future_status(w), FRONTA_PENDING);
    FT_EXPECT_RC(fronta_future_cancel(w), 0);
    FT_EXPECT_OUTCOME(w, FRONTA_ECANCELLED);
    assert_int_equal(fronta_future_status(w), FRONTA_CANCELLED);
    FT_EXPECT_OUTCOME(dep, FRONTA_ECANCELLED);
    FT_EXPECT_RC(fronta_future_cancel(w), FRONTA_EBUSY);

    ft_gate_open(&gate);
    FT_EXPECT_OUTCOME(holder, 0);
    /* The other waiter gets the token; the cancelled one never ran. */
    FT_EXPECT_OUTCOME(w2, 0);
    fronta_future_t *after = NULL;
    assert_int_equal(submit_need(rt, conc_task, &c, "gpu", 1, 0, 1, &after), 0);
    FT_EXPECT_OUTCOME(after, 0);
    assert_int_equal(atomic_load(&c.ran), 2);
    fronta_future_t *all[] = {holder, w, dep, w2, after};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fronta_future_release(all[i]);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

static void shutdown_with_waiters(void **state)
{
    (void)state;
    /* CANCEL_PENDING: the waiters end CANCELLED, never run. */
    fronta_runtime_t *rt = rt_res(2, "cpu", "pool:gpu=1");
    ft_gate_t gate;
    ft_gate_init(&gate, 1);
    fronta_future_t *holder = submit_gate_need(rt, &gate, "gpu");
    static conc_t c;
    conc_init(&c, 1, 0);
    enum { NW = 6 };
    fronta_future_t *w[NW];
    for (int i = 0; i < NW; i++)
        assert_int_equal(submit_need(rt, conc_task, &c, "gpu", 1, i, 1, &w[i]), 0);
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_CANCEL_PENDING), 0);
    int e = ft_outcome(holder);
    assert_true(e == 0 || e == FRONTA_ECANCELLED);
    for (int i = 0; i < NW; i++) {
        assert_int_equal(fronta_future_status(w[i]), FRONTA_CANCELLED);
        fronta_future_release(w[i]);
    }
    assert_int_equal(atomic_load(&c.started), 0);
    fronta_future_release(holder);
    assert_int_equal(fronta_runtime_destroy(rt), 0);

    /* WAIT: every waiter runs, one at a time; futures kept to destroy. */
    rt = rt_res(2, "cpu", "pool:gpu=1");
    conc_init(&c, 1, 2000);
    for (int i = 0; i < NW; i++)
        assert_int_equal(submit_need(rt, conc_task, &c, "gpu", 1, 0, 1, &w[i]), 0);
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
    for (int i = 0; i < NW; i++)
        assert_int_equal(fronta_future_status(w[i]), FRONTA_FINISHED);
    assert_int_equal(atomic_load(&c.ran), NW);
    assert_int_equal(atomic_load(&c.max), 1);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

/* ---- fronta_map with resources ---------------------------------------- */

static conc_t map_conc;

static int map_task(fronta_ctx_t *ctx, void *arg)
{
    int32_t x;
    memcpy(&x, arg, sizeof x);
    conc_enter(&map_conc);
    conc_body(&map_conc);
    conc_leave(&map_conc);
    int64_t y = (int64_t)x * x;
    return fronta_ctx_return(ctx, &y, sizeof y);
}

static void map_with_resources(void **state)
{
    (void)state;
    fronta_runtime_t *rt = rt_res(4, "cpu", "pool:gpu=2");
    enum { NM = 60 };
    int32_t args[NM];
    for (int i = 0; i < NM; i++)
        args[i] = i - 7;
    for (size_t inflight = 0; inflight <= 5; inflight += 5) {
        conc_init(&map_conc, 1, 1000);
        fronta_map_opts_t opts = {.size = sizeof opts, .max_inflight = inflight};
        opts.resources[0] = (fronta_resource_t){.name = "GPU", .amount = 1};
        fronta_future_t *out[NM];
        assert_int_equal(fronta_map(rt, map_task, args, sizeof args[0], NM, &opts, out), 0);
        for (int i = 0; i < NM; i++) {
            int64_t y = 0;
            assert_int_equal(fronta_future_result(out[i], FT_LIMIT, &y, sizeof y), 0);
            assert_int_equal(y, (int64_t)args[i] * args[i]);
            fronta_future_release(out[i]);
        }
        print_message("[ info     ] map, max_inflight %zu, gpu=2: at most %d at once\n", inflight,
                      atomic_load(&map_conc.max));
        assert_int_equal(atomic_load(&map_conc.ran), NM);
        assert_true(atomic_load(&map_conc.max) <= 2);
    }
    assert_int_equal(fronta_runtime_destroy(rt), 0);
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_from_config),
        cmocka_unit_test(tokens_from_env),
        cmocka_unit_test(names_case_blind),
        cmocka_unit_test(amounts_with_units),
        cmocka_unit_test(bad_specs_fail_create),
        cmocka_unit_test(unmeetable_plain),
        cmocka_unit_test(unmeetable_kernel),
        cmocka_unit_test(memory_admission_pool),
        cmocka_unit_test(memory_admission_opencl),
        cmocka_unit_test(waiters_by_priority),
        cmocka_unit_test(cancel_waiter),
        cmocka_unit_test(shutdown_with_waiters),
        cmocka_unit_test(map_with_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
