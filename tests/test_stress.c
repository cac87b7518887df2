/* Stress tests: many tasks, concurrent submitters, cancel and shutdown races, random DAGs. */
#include "test_util.h"

#include <pthread.h>

/* ---- task bodies ------------------------------------------------------ */

static int count_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    atomic_long *c;
    memcpy(&c, arg, sizeof c);
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
    return 0;
}

/* Marks its slot so that the test knows whether it ran. */
typedef struct mark_arg {
    atomic_uchar *ran;
    size_t i;
} mark_arg_t;

static int mark_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    mark_arg_t a;
    memcpy(&a, arg, sizeof a);
    atomic_fetch_add(&a.ran[a.i], 1);
    return 0;
}

static fronta_runtime_t *default_runtime(void)
{
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(NULL, &rt), 0);
    print_message("[ info     ] %d CPU threads, scale %.3g\n",
                  fronta_runtime_cpu_threads(rt), ft_scale());
    return rt;
}

/* Waits for the heavy tests are longer than the suite's usual bound. */
#define STRESS_LIMIT (FT_LIMIT * 4)

/* ---- volume ----------------------------------------------------------- */

/* Many bursts on one runtime, each drained with wait_all: the pattern that
 * once lost a wake-up (workers parked with tasks queued, wait_all timing
 * out after ~10 rounds of 1e6). Between bursts the workers go to sleep. */
static void wait_all_rounds(void **state)
{
    (void)state;
    size_t rounds = ft_scaled(40, 4), n = ft_scaled(100000, 1000);
    fronta_runtime_t *rt = default_runtime();
    atomic_long count;
    atomic_init(&count, 0);
    atomic_long *cp = &count;
    for (size_t r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++)
            if (fronta_submit_fn(rt, count_task, &cp, sizeof cp, NULL) != 0)
                fail_msg("round %zu: submit %zu failed", r, i);
        int rc = fronta_runtime_wait_all(rt, STRESS_LIMIT);
        if (rc)
            fail_msg("round %zu: wait_all: %s", r, fronta_err_name(rc));
        assert_int_equal(atomic_load(&count), (long)((r + 1) * n));
        if (r % 8 == 7) { /* let the workers fall asleep: 50 us spin, then park */
            double until = ft_now() + 0.002;
            while (ft_now() < until)
                sched_yield();
        }
    }
    fronta_runtime_destroy(rt);
}

static void million_fire_and_forget(void **state)
{
    (void)state;
    size_t n = ft_scaled(1000000, 1000);
    fronta_runtime_t *rt = default_runtime();
    atomic_long count;
    atomic_init(&count, 0);
    atomic_long *cp = &count;
    double t0 = ft_now();
    for (size_t i = 0; i < n; i++) {
        int rc = fronta_submit_fn(rt, count_task, &cp, sizeof cp, NULL);
        if (rc != 0) {
            print_error("submit %zu: %s\n", i, fronta_err_name(rc));
            fail();
        }
    }
    assert_int_equal(fronta_runtime_wait_all(rt, STRESS_LIMIT), 0);
    print_message("[ info     ] %zu tasks in %.2f s\n", n, ft_now() - t0);
    assert_int_equal(atomic_load(&count), (long)n);
    fronta_stats_t st;
    assert_int_equal(fronta_runtime_stats(rt, &st), 0);
    assert_int_equal(st.tasks_submitted, n);
    assert_int_equal(st.tasks_run, n);
    fronta_runtime_destroy(rt);
}

/* Set by the first wait that times out: the others then only poll, so
 * that a hang fails in seconds rather than at ctest's time-out. */
static atomic_int timed_out;

static double stress_limit(void)
{
    return atomic_load(&timed_out) ? 0.0 : STRESS_LIMIT;
}

static int result_checked(fronta_future_t *f, void *out, size_t size)
{
    int rc = fronta_future_result(f, stress_limit(), out, size);
    if (rc == FRONTA_ETIMEDOUT && !atomic_exchange(&timed_out, 1))
        fprintf(stderr, "a future did not complete in %.0f s\n", STRESS_LIMIT);
    return rc;
}

typedef struct submitter {
    fronta_runtime_t *rt;
    size_t n;
    int64_t base;
    atomic_long *errors;
} submitter_t;

static void *submit_and_check(void *arg)
{
    submitter_t *s = arg;
    fronta_future_t **fs = calloc(s->n, sizeof *fs);
    if (!fs) {
        atomic_fetch_add(s->errors, 1);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        int64_t x = s->base + (int64_t)i;
        if (fronta_submit_fn(s->rt, ft_square_task, &x, sizeof x, &fs[i]) != 0)
            atomic_fetch_add(s->errors, 1);
    }
    for (size_t i = 0; i < s->n; i++) {
        int64_t x = s->base + (int64_t)i, y = 0;
        if (!fs[i])
            continue;
        if (result_checked(fs[i], &y, sizeof y) != 0 || y != x * x)
            atomic_fetch_add(s->errors, 1);
        fronta_future_release(fs[i]);
    }
    free(fs);
    return NULL;
}

static void concurrent_submitters(void **state)
{
    (void)state;
    enum { T = 4 };
    size_t n = ft_scaled(50000, 100);
    int rounds = (int)ft_scaled(4, 1);
    for (int round = 0; round < rounds; round++) {
        fronta_runtime_t *rt = default_runtime();
        atomic_long errors;
        atomic_init(&errors, 0);
        submitter_t s[T];
        pthread_t th[T];
        for (int t = 0; t < T; t++) {
            s[t] = (submitter_t){rt, n, (int64_t)t * 1000000, &errors};
            assert_int_equal(pthread_create(&th[t], NULL, submit_and_check, &s[t]), 0);
        }
        for (int t = 0; t < T; t++)
            pthread_join(th[t], NULL);
        assert_int_equal(atomic_load(&errors), 0);
        fronta_stats_t st;
        assert_int_equal(fronta_runtime_stats(rt, &st), 0);
        assert_int_equal(st.tasks_submitted, (uint64_t)T * n);
        fronta_runtime_destroy(rt);
    }
}

/* ---- races ------------------------------------------------------------ */

static void cancel_races_completion(void **state)
{
    (void)state;
    size_t rounds = ft_scaled(200000, 500);
    fronta_runtime_t *rt = default_runtime();
    atomic_uchar *ran = calloc(rounds, sizeof *ran);
    int *cancel_rc = calloc(rounds, sizeof *cancel_rc);
    fronta_future_t **fs = calloc(rounds, sizeof *fs);
    assert_non_null(ran);
    assert_non_null(cancel_rc);
    assert_non_null(fs);
    for (size_t i = 0; i < rounds; i++)
        atomic_init(&ran[i], 0);
    /* Batches of growing size: cancel right after submit, or after a few
     * more submissions, in reverse, so that every stage is hit. */
    size_t i = 0;
    for (size_t batch = 1; i < rounds; batch = batch % 13 + 1) {
        size_t start = i;
        for (size_t k = 0; k < batch && i < rounds; k++, i++) {
            mark_arg_t a = {ran, i};
            assert_int_equal(fronta_submit_fn(rt, mark_task, &a, sizeof a, &fs[i]), 0);
        }
        for (size_t j = i; j-- > start;)
            cancel_rc[j] = fronta_future_cancel(fs[j]);
    }
    assert_int_equal(fronta_runtime_wait_all(rt, STRESS_LIMIT), 0);
    size_t cancelled = 0, finished = 0, bad = 0;
    for (size_t j = 0; j < rounds; j++) {
        fronta_status_t s = fronta_future_status(fs[j]);
        int r = atomic_load(&ran[j]);
        int ok;
        if (cancel_rc[j] == 0)
            ok = s == FRONTA_CANCELLED && r == 0;
        else
            ok = cancel_rc[j] == FRONTA_EBUSY && s == FRONTA_FINISHED && r == 1;
        if (!ok && bad++ < 5)
            print_error("round %zu: cancel %s, status %d, ran %d times\n", j,
                        fronta_err_name(cancel_rc[j]), (int)s, r);
        cancelled += s == FRONTA_CANCELLED;
        finished += s == FRONTA_FINISHED;
        fronta_future_release(fs[j]);
    }
    print_message("[ info     ] %zu cancelled, %zu finished\n", cancelled, finished);
    assert_int_equal(bad, 0);
    assert_int_equal(cancelled + finished, rounds);
    free(ran);
    free(cancel_rc);
    free(fs);
    fronta_runtime_destroy(rt);
}

typedef struct racer {
    fronta_runtime_t *rt;
    size_t cap;
    fronta_future_t **fs;
    size_t n;                /* futures obtained */
    atomic_long *submitted;  /* shared progress, read by the main thread */
    atomic_long *ran;
    atomic_long *bad_rc;
    int saw_shutdown;
} racer_t;

static void *submit_until_shutdown(void *arg)
{
    racer_t *r = arg;
    atomic_long *ranp = r->ran;
    while (r->n < r->cap) {
        fronta_future_t *f = NULL;
        int rc = fronta_submit_fn(r->rt, count_task, &ranp, sizeof ranp, &f);
        if (rc == FRONTA_ESHUTDOWN) {
            if (f)
                atomic_fetch_add(r->bad_rc, 1);
            r->saw_shutdown = 1;
            break;
        }
        if (rc != 0 || !f) {
            atomic_fetch_add(r->bad_rc, 1);
            break;
        }
        r->fs[r->n++] = f;
        atomic_fetch_add(r->submitted, 1);
    }
    return NULL;
}

static void shutdown_races_submitters(void **state)
{
    (void)state;
    enum { T = 3 };
    size_t cap = ft_scaled(300000, 3000);
    int rounds = (int)ft_scaled(20, 5);
    for (int round = 0; round < rounds; round++) {
        fronta_runtime_t *rt = default_runtime();
        atomic_long submitted, ran, bad_rc;
        atomic_init(&submitted, 0);
        atomic_init(&ran, 0);
        atomic_init(&bad_rc, 0);
        racer_t r[T];
        pthread_t th[T];
        for (int t = 0; t < T; t++) {
            r[t] = (racer_t){.rt = rt, .cap = cap, .fs = calloc(cap, sizeof(fronta_future_t *)),
                             .submitted = &submitted, .ran = &ran, .bad_rc = &bad_rc};
            assert_non_null(r[t].fs);
            assert_int_equal(pthread_create(&th[t], NULL, submit_until_shutdown, &r[t]), 0);
        }
        /* Shut down while the submitters are busy. */
        long threshold = 500L << (round % 5);
        FT_SPIN_UNTIL(atomic_load(&submitted) >= threshold);
        assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_CANCEL_PENDING), 0);
        for (int t = 0; t < T; t++)
            pthread_join(th[t], NULL);
        assert_int_equal(atomic_load(&bad_rc), 0);
        size_t finished = 0, cancelled = 0, undone = 0, total = 0;
        for (int t = 0; t < T; t++) {
            /* Below the cap, a submitter stops only on FRONTA_ESHUTDOWN. */
            assert_true(r[t].saw_shutdown || r[t].n == cap);
            for (size_t i = 0; i < r[t].n; i++) {
                fronta_future_t *f = r[t].fs[i];
                /* shutdown returned before the join: every accepted task
                 * is done already. */
                if (!fronta_future_done(f))
                    undone++;
                fronta_status_t s = fronta_future_status(f);
                finished += s == FRONTA_FINISHED;
                cancelled += s == FRONTA_CANCELLED;
                fronta_future_release(f);
            }
            total += r[t].n;
            free(r[t].fs);
        }
        print_message("[ info     ] round %d: %zu submitted, %zu finished, %zu cancelled\n",
                      round, total, finished, cancelled);
        assert_int_equal(undone, 0);
        assert_int_equal(finished + cancelled, total);
        assert_int_equal((long)finished, atomic_load(&ran));
        fronta_runtime_destroy(rt);
    }
}

/* ---- random DAGs from several threads --------------------------------- */

typedef struct sum_arg {
    uint64_t constant;
} sum_arg_t;

static int sum_task(fronta_ctx_t *ctx, void *arg)
{
    sum_arg_t a;
    memcpy(&a, arg, sizeof a);
    uint64_t s = a.constant;
    size_t n = fronta_ctx_ninputs(ctx);
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        int rc = fronta_ctx_input_copy(ctx, i, &v, sizeof v);
        if (rc != 0)
            return rc;
        s += v;
    }
    return fronta_ctx_return(ctx, &s, sizeof s);
}

enum { NROOTS = 16, MAXDEP = 4 };

typedef struct dag_thread {
    fronta_runtime_t *rt;
    uint64_t seed;
    size_t n;
    fronta_future_t *const *roots;   /* shared, submitted by the main thread */
    const uint64_t *root_values;
    atomic_long *errors;
} dag_thread_t;

static void *build_and_check_dag(void *arg)
{
    dag_thread_t *d = arg;
    uint64_t rs = d->seed;
    fronta_future_t **f = calloc(d->n, sizeof *f);
    uint64_t *want = calloc(d->n, sizeof *want);
    if (!f || !want) {
        atomic_fetch_add(d->errors, 1);
        free(f);
        free(want);
        return NULL;
    }
    for (size_t i = 0; i < d->n; i++) {
        sum_arg_t a = {ft_rand(&rs)};
        fronta_future_t *deps[MAXDEP];
        size_t nd = (size_t)(ft_rand(&rs) % (MAXDEP + 1)), k = 0;
        uint64_t w = a.constant;
        for (size_t t = 0; t < nd; t++) {
            fronta_future_t *p;
            uint64_t pv;
            if (i == 0 || ft_rand(&rs) % 8 == 0) {
                size_t r = (size_t)(ft_rand(&rs) % NROOTS);
                p = d->roots[r];
                pv = d->root_values[r];
            } else {
                size_t span = i < 32 ? i : 32;
                size_t j = i - 1 - (size_t)(ft_rand(&rs) % span);
                p = f[j];
                pv = want[j];
            }
            deps[k++] = p;   /* duplicates allowed: each is one input */
            w += pv;
        }
        want[i] = w;
        fronta_call_t call = {.size = sizeof call, .fn = sum_task, .arg = &a,
                              .arg_size = sizeof a, .after = deps, .nafter = k,
                              .priority = (int)(ft_rand(&rs) % 5) - 2};
        if (fronta_submit_call(d->rt, &call, &f[i]) != 0) {
            atomic_fetch_add(d->errors, 1);
            d->n = i;
            break;
        }
    }
    for (size_t i = 0; i < d->n; i++) {
        uint64_t v = 0;
        if (result_checked(f[i], &v, sizeof v) != 0 || v != want[i])
            atomic_fetch_add(d->errors, 1);
        fronta_future_release(f[i]);
    }
    free(f);
    free(want);
    return NULL;
}

static void random_dags_from_threads(void **state)
{
    (void)state;
    enum { T = 3 };
    uint64_t seed = ft_seed("random_dags_from_threads");
    size_t n = ft_scaled(100000, 300);
    fronta_runtime_t *rt = default_runtime();
    fronta_future_t *roots[NROOTS];
    uint64_t root_values[NROOTS];
    for (int r = 0; r < NROOTS; r++) {
        sum_arg_t a = {(uint64_t)r * 7919u};
        root_values[r] = a.constant;
        assert_int_equal(fronta_submit_fn(rt, sum_task, &a, sizeof a, &roots[r]), 0);
    }
    atomic_long errors;
    atomic_init(&errors, 0);
    dag_thread_t d[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        d[t] = (dag_thread_t){rt, seed + (uint64_t)t, n, roots, root_values, &errors};
        assert_int_equal(pthread_create(&th[t], NULL, build_and_check_dag, &d[t]), 0);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    for (int r = 0; r < NROOTS; r++)
        fronta_future_release(roots[r]);
    fronta_runtime_destroy(rt);
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(million_fire_and_forget),
        cmocka_unit_test(wait_all_rounds),
        cmocka_unit_test(concurrent_submitters),
        cmocka_unit_test(cancel_races_completion),
        cmocka_unit_test(shutdown_races_submitters),
        cmocka_unit_test(random_dags_from_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
