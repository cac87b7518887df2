/* Fault injection through the allocator hook: fail allocation number k, never crash, never leak. */
#include "test_alloc.h"

/* ---- the workload ----------------------------------------------------- */

static long current_k;
static int current_from;

/* Asserts with the failing allocation number in the message. */
#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            print_error("allocation %ld%s failing: CHECK(%s) at line %d\n",   \
                        current_k, current_from ? " onwards" : "", #cond,     \
                        __LINE__);                                            \
            fail();                                                           \
        }                                                                     \
    } while (0)

#define OK_OR_NOMEM(rc) CHECK((rc) == 0 || (rc) == FRONTA_ENOMEM)

static int sum_task(fronta_ctx_t *ctx, void *arg)
{
    int64_t s;
    memcpy(&s, arg, sizeof s);
    for (size_t i = 0; i < fronta_ctx_ninputs(ctx); i++) {
        int64_t v;
        if (fronta_ctx_input_copy(ctx, i, &v, sizeof v) != 0)
            return FRONTA_ESIZE;
        s += v;
    }
    return fronta_ctx_return(ctx, &s, sizeof s);
}

/* Argument and result too large to live inside the task object. */
typedef struct big { unsigned char b[100]; } big_t;

static int big_task(fronta_ctx_t *ctx, void *arg)
{
    big_t x;
    memcpy(&x, arg, sizeof x);
    for (size_t i = 0; i < sizeof x.b; i++)
        x.b[i] ^= 0x5a;
    return fronta_ctx_return(ctx, &x, sizeof x);
}

static void count_cb(fronta_future_t *f, void *ud)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ud, 1);
}

/* A finished future holds `want`; otherwise it failed for lack of memory,
 * directly or upstream. */
static void check_outcome(fronta_future_t *f, int64_t want)
{
    CHECK(fronta_future_done(f));
    int64_t v = 0;
    int rc = fronta_future_result(f, 0, &v, sizeof v);
    if (rc == 0) {
        CHECK(fronta_future_status(f) == FRONTA_FINISHED);
        CHECK(v == want);
    } else {
        CHECK(rc == FRONTA_ENOMEM || rc == FRONTA_EDEPFAILED);
        CHECK(fronta_future_status(f) == FRONTA_FAILED);
    }
}

enum { CHAIN = 10, MAPN = 8, MAXF = CHAIN + MAPN };

static void workload(ft_counting_t *c)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2,
                           .log_level = FRONTA_LOG_OFF,
                           .alloc = ft_counting_alloc, .alloc_ud = c};
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    OK_OR_NOMEM(rc);
    if (rc != 0) {
        CHECK(rt == NULL);
        return;
    }
    CHECK(rt != NULL);

    /* Ten tasks with dependencies: t[i] after t[i-1] (and t[i-2]). */
    fronta_future_t *t[CHAIN] = {NULL};
    int64_t want[CHAIN];   /* over the predecessors that exist */
    for (int i = 0; i < CHAIN; i++) {
        fronta_future_t *after[2];
        size_t na = 0;
        int64_t w = i;
        for (int d = 1; d <= 2 && i - d >= 0; d++) {
            if (i % 3 == 0 && d == 2)
                break;
            if (t[i - d]) {
                after[na++] = t[i - d];
                w += want[i - d];
            }
        }
        int64_t arg = i;
        fronta_call_t call = {.size = sizeof call, .fn = sum_task, .arg = &arg,
                              .arg_size = sizeof arg, .after = after, .nafter = na};
        rc = fronta_submit_call(rt, &call, &t[i]);
        OK_OR_NOMEM(rc);
        CHECK((rc == 0) == (t[i] != NULL));
        want[i] = w;
    }
    /* One fire-and-forget task. */
    int64_t zero = 0;
    OK_OR_NOMEM(fronta_submit_fn(rt, sum_task, &zero, sizeof zero, NULL));

    /* A large argument and result: allocated through the hook. */
    big_t big;
    for (size_t i = 0; i < sizeof big.b; i++)
        big.b[i] = (unsigned char)i;
    fronta_future_t *fb = NULL;
    rc = fronta_submit_fn(rt, big_task, &big, sizeof big, &fb);
    OK_OR_NOMEM(rc);
    CHECK((rc == 0) == (fb != NULL));

    /* Callbacks on the chain. */
    atomic_int cb_calls;
    atomic_init(&cb_calls, 0);
    int cb_added = 0;
    for (int i = 0; i < CHAIN; i++) {
        if (!t[i])
            continue;
        rc = fronta_future_add_done_callback(t[i], count_cb, &cb_calls);
        OK_OR_NOMEM(rc);
        cb_added += rc == 0;
    }

    /* A map with a limit, so that it holds tasks back. */
    int64_t xs[MAPN];
    for (int i = 0; i < MAPN; i++)
        xs[i] = 100 + i;
    fronta_future_t *m[MAPN] = {NULL};
    fronta_map_opts_t opts = {.size = sizeof opts, .max_inflight = 3};
    rc = fronta_map(rt, sum_task, xs, sizeof xs[0], MAPN, &opts, m);
    OK_OR_NOMEM(rc);
    for (int i = 0; i < MAPN; i++)
        CHECK((rc == 0) == (m[i] != NULL));

    /* wait on everything that exists. */
    fronta_future_t *all[MAXF];
    size_t n = 0;
    for (int i = 0; i < CHAIN; i++)
        if (t[i])
            all[n++] = t[i];
    for (int i = 0; i < MAPN; i++)
        if (m[i])
            all[n++] = m[i];
    size_t nd = 0;
    rc = fronta_wait(all, n, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd);
    OK_OR_NOMEM(rc);
    if (rc == 0)
        CHECK(nd == n);

    /* as_completed over the map's futures (it takes references). */
    fronta_future_t *acf[MAPN];
    size_t nac = 0;
    for (int i = 0; i < MAPN; i++)
        if (m[i]) {
            fronta_future_retain(m[i]);
            acf[nac++] = m[i];
        }
    fronta_as_completed_t *ac = NULL;
    rc = fronta_as_completed_create(rt, acf, nac, &ac);
    OK_OR_NOMEM(rc);
    if (rc != 0) {
        CHECK(ac == NULL);
        for (size_t i = 0; i < nac; i++)
            fronta_future_release(acf[i]);
    } else {
        size_t got = 0;
        for (;;) {
            fronta_future_t *f = NULL;
            rc = fronta_as_completed_next(ac, FT_LIMIT, &f);
            if (rc == FRONTA_EEMPTY)
                break;
            if (rc != 0)
                print_error("as_completed_next: %s\n", fronta_err_name(rc));
            CHECK(rc == 0);
            got++;
            fronta_future_release(f);
        }
        if (got != nac)
            print_error("as_completed returned %zu of %zu futures (last rc %s)\n", got,
                        nac, fronta_err_name(rc));
        CHECK(got == nac);
        fronta_as_completed_destroy(ac);
    }

    CHECK(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT) == 0);
    if (fb) {
        big_t out;
        rc = fronta_future_result(fb, 0, &out, sizeof out);
        CHECK(rc == 0 || rc == FRONTA_ENOMEM);
        if (rc == 0)
            for (size_t i = 0; i < sizeof out.b; i++)
                CHECK(out.b[i] == (unsigned char)(i ^ 0x5a));
        fronta_future_release(fb);
    }
    for (int i = 0; i < CHAIN; i++)
        if (t[i])
            check_outcome(t[i], want[i]);
    for (int i = 0; i < MAPN; i++)
        if (m[i])
            check_outcome(m[i], xs[i]);
    /* Each callback that was accepted ran exactly once. */
    CHECK(atomic_load(&cb_calls) == cb_added);
    for (size_t i = 0; i < n; i++)
        fronta_future_release(all[i]);
    fronta_runtime_destroy(rt);
}

/* A task that submits many children from inside the pool, so that worker
 * deques must grow (or spill to the injection queue when they cannot). */
enum { BURST = 3000 };

typedef struct burst {
    atomic_long ran;
    atomic_long accepted;
    atomic_long bad_rc;
} burst_t;

static int burst_child(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    burst_t *b;
    memcpy(&b, arg, sizeof b);
    atomic_fetch_add(&b->ran, 1);
    return 0;
}

static int burst_parent(fronta_ctx_t *ctx, void *arg)
{
    burst_t *b;
    memcpy(&b, arg, sizeof b);
    for (int i = 0; i < BURST; i++) {
        int rc = fronta_submit_fn(fronta_ctx_runtime(ctx), burst_child, &b, sizeof b, NULL);
        if (rc == 0)
            atomic_fetch_add(&b->accepted, 1);
        else if (rc != FRONTA_ENOMEM)
            atomic_fetch_add(&b->bad_rc, 1);
    }
    return 0;
}

static void burst_workload(ft_counting_t *c)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2,
                           .log_level = FRONTA_LOG_OFF,
                           .alloc = ft_counting_alloc, .alloc_ud = c};
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    OK_OR_NOMEM(rc);
    if (rc != 0)
        return;
    burst_t b;
    atomic_init(&b.ran, 0);
    atomic_init(&b.accepted, 0);
    atomic_init(&b.bad_rc, 0);
    burst_t *bp = &b;
    int parents = 0;
    for (int i = 0; i < 2; i++) {
        rc = fronta_submit_fn(rt, burst_parent, &bp, sizeof bp, NULL);
        OK_OR_NOMEM(rc);
        parents += rc == 0;
    }
    CHECK(fronta_runtime_wait_all(rt, FT_LIMIT) == 0);
    CHECK(atomic_load(&b.bad_rc) == 0);
    /* Every accepted child ran: nothing is lost once submitted. */
    CHECK(atomic_load(&b.ran) == atomic_load(&b.accepted));
    CHECK(atomic_load(&b.accepted) <= (long)parents * BURST);
    fronta_runtime_destroy(rt);
}

static void check_no_leak(ft_counting_t *c)
{
    if (atomic_load(&c->live_bytes) != 0 || atomic_load(&c->live_blocks) != 0)
        print_error("allocation %ld%s failing: %ld bytes in %ld blocks leaked\n",
                    current_k, current_from ? " onwards" : "",
                    atomic_load(&c->live_bytes), atomic_load(&c->live_blocks));
    CHECK(atomic_load(&c->live_bytes) == 0);
    CHECK(atomic_load(&c->live_blocks) == 0);
    CHECK(atomic_load(&c->bad_old_size) == 0);
}

static long measure(void)
{
    ft_counting_t c;
    ft_counting_init(&c, 0, 0);
    current_k = 0;
    current_from = 0;
    workload(&c);
    check_no_leak(&c);
    long calls = atomic_load(&c.calls);
    print_message("[ info     ] the workload makes %ld allocation requests\n", calls);
    /* Every allocation goes through the hook: there must be some. */
    assert_true(calls > 0);
    return calls;
}

static void fail_each_allocation(void **state)
{
    (void)state;
    long k_max = measure();
    /* Worker-side allocation counts vary a little between runs: go past. */
    k_max += k_max / 4 + 8;
    long nomem_runs = 0;
    for (long k = 1; k <= k_max; k++) {
        ft_counting_t c;
        ft_counting_init(&c, k, 0);
        current_k = k;
        current_from = 0;
        workload(&c);
        check_no_leak(&c);
        nomem_runs += atomic_load(&c.failed) > 0;
    }
    print_message("[ info     ] %ld runs saw an injected failure\n", nomem_runs);
    assert_true(nomem_runs > 0);
}

static void fail_from_allocation(void **state)
{
    (void)state;
    long k_max = measure();
    /* Every k for small workloads, else about 400 evenly spaced ones. */
    long step = k_max > 400 ? k_max / 400 : 1;
    for (long k = 1; k <= k_max + 8; k += step) {
        ft_counting_t c;
        ft_counting_init(&c, k, 1);
        current_k = k;
        current_from = 1;
        workload(&c);
        check_no_leak(&c);
    }
}

static void fail_during_burst(void **state)
{
    (void)state;
    ft_counting_t c0;
    ft_counting_init(&c0, 0, 0);
    current_k = 0;
    current_from = 0;
    burst_workload(&c0);
    check_no_leak(&c0);
    long k_max = atomic_load(&c0.calls);
    print_message("[ info     ] the burst makes %ld allocation requests\n", k_max);
    long step = k_max > 300 ? k_max / 300 : 1;
    for (int from = 0; from <= 1; from++) {
        for (long k = 1; k <= k_max + 4; k += step) {
            ft_counting_t c;
            ft_counting_init(&c, k, from);
            current_k = k;
            current_from = from;
            burst_workload(&c);
            check_no_leak(&c);
        }
    }
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fail_each_allocation),
        cmocka_unit_test(fail_from_allocation),
        cmocka_unit_test(fail_during_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
