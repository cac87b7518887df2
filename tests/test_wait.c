/* Tests of waiting on many futures: fronta_wait, as_completed (and its fd), fronta_map. */
#include "test_util.h"

#include <poll.h>
#include <pthread.h>

/* ---- task bodies ------------------------------------------------------ */

static int index_task(fronta_ctx_t *ctx, void *arg)
{
    int64_t i;
    memcpy(&i, arg, sizeof i);
    return fronta_ctx_return(ctx, &i, sizeof i);
}

static int square_task(fronta_ctx_t *ctx, void *arg)
{
    int64_t x;
    memcpy(&x, arg, sizeof x);
    x *= x;
    return fronta_ctx_return(ctx, &x, sizeof x);
}

static int fail_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    return fronta_ctx_fail(ctx, FRONTA_ETASK, "expected failure");
}

static fronta_future_t *quick(fronta_runtime_t *rt, int64_t i)
{
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, index_task, &i, sizeof i, &f), 0);
    return f;
}

/* A future that stays pending until `gate_future` completes. */
static fronta_future_t *pending_after(fronta_runtime_t *rt, fronta_future_t *gate_future,
                                      int64_t i)
{
    fronta_call_t call = {.size = sizeof call, .fn = index_task, .arg = &i,
                          .arg_size = sizeof i, .after = &gate_future, .nafter = 1};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_call(rt, &call, &f), 0);
    return f;
}

static void assert_order(fronta_future_t **fs, fronta_future_t *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fs[i] != want[i])
            print_error("position %zu holds the wrong future\n", i);
        assert_ptr_equal(fs[i], want[i]);
    }
}

/* ---- fronta_wait ------------------------------------------------------ */

static void wait_all_completed(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    enum { N = 13 };
    fronta_future_t *fs[N], *orig[N];
    for (int i = 0; i < N; i++)
        orig[i] = fs[i] = quick(rt, i);
    size_t nd = 12345;
    assert_int_equal(fronta_wait(fs, N, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd), 0);
    assert_int_equal(nd, N);
    assert_order(fs, orig, N);
    for (int i = 0; i < N; i++) {
        assert_true(fronta_future_done(fs[i]));
        fronta_future_release(fs[i]);
    }
    fronta_runtime_destroy(rt);
}

static void wait_partitions(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);

    fronta_future_t *p0 = pending_after(rt, g, 100), *p1 = pending_after(rt, g, 101),
                    *p2 = pending_after(rt, g, 102);
    fronta_future_t *q0 = quick(rt, 0), *q1 = quick(rt, 1), *q2 = quick(rt, 2);
    ft_wait(q0);
    ft_wait(q1);
    ft_wait(q2);
    size_t nd;

    /* FIRST_COMPLETED: done ones first, both parts in original order. */
    fronta_future_t *fs[6] = {p0, q0, p1, q1, q2, p2};
    nd = 999;
    assert_int_equal(fronta_wait(fs, 6, FT_LIMIT, FRONTA_FIRST_COMPLETED, &nd), 0);
    assert_int_equal(nd, 3);
    fronta_future_t *want1[6] = {q0, q1, q2, p0, p1, p2};
    assert_order(fs, want1, 6);

    /* ALL_COMPLETED times out, the partition is made anyway. */
    fronta_future_t *fs2[5] = {p2, q1, p0, q0, g};
    nd = 999;
    double t0 = ft_now();
    assert_int_equal(fronta_wait(fs2, 5, 0.02, FRONTA_ALL_COMPLETED, &nd),
                     FRONTA_ETIMEDOUT);
    assert_true(ft_now() - t0 >= 0.018);
    assert_int_equal(nd, 2);
    fronta_future_t *want2[5] = {q1, q0, p2, p0, g};
    assert_order(fs2, want2, 5);

    /* Timeout 0 polls. */
    fronta_future_t *fs3[4] = {q2, p1, q0, p0};
    nd = 999;
    assert_int_equal(fronta_wait(fs3, 4, 0, FRONTA_ALL_COMPLETED, &nd), FRONTA_ETIMEDOUT);
    assert_int_equal(nd, 2);
    fronta_future_t *want3[4] = {q2, q0, p1, p0};
    assert_order(fs3, want3, 4);

    /* Nothing done: FIRST_COMPLETED times out with ndone 0, order kept. */
    fronta_future_t *fs4[3] = {p1, p0, p2};
    nd = 999;
    assert_int_equal(fronta_wait(fs4, 3, 0.01, FRONTA_FIRST_COMPLETED, &nd),
                     FRONTA_ETIMEDOUT);
    assert_int_equal(nd, 0);
    fronta_future_t *want4[3] = {p1, p0, p2};
    assert_order(fs4, want4, 3);

    /* FIRST_EXCEPTION without a failure behaves as ALL_COMPLETED. */
    fronta_future_t *fs5[3] = {p0, q0, q1};
    nd = 999;
    assert_int_equal(fronta_wait(fs5, 3, 0.01, FRONTA_FIRST_EXCEPTION, &nd),
                     FRONTA_ETIMEDOUT);
    assert_int_equal(nd, 2);
    fronta_future_t *want5[3] = {q0, q1, p0};
    assert_order(fs5, want5, 3);
    fronta_future_t *fs6[2] = {q1, q2};
    nd = 999;
    assert_int_equal(fronta_wait(fs6, 2, 0, FRONTA_FIRST_EXCEPTION, &nd), 0);
    assert_int_equal(nd, 2);

    /* FIRST_EXCEPTION returns on a failure although others are pending. */
    fronta_future_t *fl = NULL;
    assert_int_equal(fronta_submit_fn(rt, fail_task, NULL, 0, &fl), 0);
    fronta_future_t *fs7[5] = {p0, fl, p1, q2, p2};
    nd = 999;
    assert_int_equal(fronta_wait(fs7, 5, FT_LIMIT, FRONTA_FIRST_EXCEPTION, &nd), 0);
    assert_int_equal(nd, 2);
    fronta_future_t *want7[5] = {fl, q2, p0, p1, p2};
    assert_order(fs7, want7, 5);

    ft_gate_open(&gate);
    fronta_future_t *fs8[7] = {p2, p1, p0, g, q0, q1, q2};
    nd = 999;
    assert_int_equal(fronta_wait(fs8, 7, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd), 0);
    assert_int_equal(nd, 7);
    fronta_future_t *all[] = {g, p0, p1, p2, q0, q1, q2, fl};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fronta_future_release(all[i]);
    fronta_runtime_destroy(rt);
}

typedef struct opener {
    ft_gate_t *gate;
    atomic_int *main_waiting;
} opener_t;

/* Opens the gate once the main thread announced it is about to wait;
 * the wait must wake whichever came first. */
static void *open_later(void *arg)
{
    opener_t *o = arg;
    double deadline = ft_now() + FT_LIMIT;
    while (!atomic_load(o->main_waiting) && ft_now() < deadline)
        sched_yield();
    /* A few yields so that the main thread is likely asleep inside wait. */
    for (int i = 0; i < 1000; i++)
        sched_yield();
    ft_gate_open(o->gate);
    return NULL;
}

static void wait_wakes_up(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    const fronta_return_when_t modes[] = {FRONTA_FIRST_COMPLETED, FRONTA_ALL_COMPLETED,
                                          FRONTA_FIRST_EXCEPTION};
    for (size_t m = 0; m < 3; m++) {
        ft_gate_t gate;
        ft_gate_init(&gate, 0);
        fronta_future_t *g = ft_gate_submit(rt, &gate);
        fronta_future_t *fs[3] = {pending_after(rt, g, 0), g, pending_after(rt, g, 1)};
        atomic_int waiting;
        atomic_init(&waiting, 0);
        opener_t o = {&gate, &waiting};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, open_later, &o), 0);
        atomic_store(&waiting, 1);
        size_t nd = 0;
        assert_int_equal(fronta_wait(fs, 3, FT_LIMIT, modes[m], &nd), 0);
        pthread_join(th, NULL);
        assert_true(nd >= 1);
        if (modes[m] != FRONTA_FIRST_COMPLETED)
            assert_int_equal(nd, 3);
        int g_done = 0;
        for (size_t i = 0; i < nd; i++) {
            assert_true(fronta_future_done(fs[i]));
            g_done |= fs[i] == g;
        }
        /* g completes before the tasks that wait for it. */
        assert_true(g_done);
        assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
        for (int i = 0; i < 3; i++)
            fronta_future_release(fs[i]);
    }
    fronta_runtime_destroy(rt);
}

static void wait_edge_cases(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    size_t nd = 999;
    fronta_future_t *one[1] = {quick(rt, 1)};
    ft_wait(one[0]);
    fronta_future_t *none[1] = {NULL};
    /* n = 0: nothing to wait for. */
    assert_int_equal(fronta_wait(one, 0, 0, FRONTA_ALL_COMPLETED, &nd), 0);
    assert_int_equal(nd, 0);
    nd = 999;
    assert_int_equal(fronta_wait(one, 0, FT_LIMIT, FRONTA_FIRST_COMPLETED, &nd), 0);
    assert_int_equal(nd, 0);
    int rc = fronta_wait(NULL, 0, 0, FRONTA_ALL_COMPLETED, &nd);
    assert_true(rc == 0 || rc == FRONTA_EINVAL);
    /* NULL arguments. */
    assert_int_equal(fronta_wait(NULL, 1, 0, FRONTA_ALL_COMPLETED, &nd), FRONTA_EINVAL);
    assert_int_equal(fronta_wait(none, 1, 0, FRONTA_ALL_COMPLETED, &nd), FRONTA_EINVAL);
    assert_int_equal(fronta_wait(one, 1, 0, (fronta_return_when_t)42, &nd), FRONTA_EINVAL);
    rc = fronta_wait(one, 1, 0, FRONTA_ALL_COMPLETED, NULL);
    assert_true(rc == 0 || rc == FRONTA_EINVAL);
    /* n = 1, done. */
    nd = 999;
    assert_int_equal(fronta_wait(one, 1, 0, FRONTA_FIRST_COMPLETED, &nd), 0);
    assert_int_equal(nd, 1);
    fronta_future_release(one[0]);
    fronta_runtime_destroy(rt);
}

/* ---- as_completed ----------------------------------------------------- */

static void as_completed_follows_completion_order(void **state)
{
    (void)state;
    /* Four gate tasks run at once, each on its own worker. */
    fronta_runtime_t *rt = ft_runtime(4);
    enum { N = 4 };
    ft_gate_t gates[N];
    fronta_future_t *fs[N];
    for (int i = 0; i < N; i++) {
        ft_gate_init(&gates[i], 0);
        fs[i] = ft_gate_submit(rt, &gates[i]);
    }
    fronta_as_completed_t *ac = NULL;
    assert_int_equal(fronta_as_completed_create(rt, fs, N, &ac), 0);
    assert_non_null(ac);
    assert_int_equal(fronta_as_completed_pending(ac), N);
    fronta_future_t *out = NULL;
    assert_int_equal(fronta_as_completed_next(ac, 0, &out), FRONTA_ETIMEDOUT);
    assert_int_equal(fronta_as_completed_next(ac, 0.01, &out), FRONTA_ETIMEDOUT);

    const int order[N] = {2, 0, 3, 1};
    for (int k = 0; k < N; k++) {
        ft_gate_open(&gates[order[k]]);
        out = NULL;
        assert_int_equal(fronta_as_completed_next(ac, FT_LIMIT, &out), 0);
        assert_ptr_equal(out, fs[order[k]]);
        assert_true(fronta_future_done(out));
        assert_int_equal(fronta_as_completed_pending(ac), (size_t)(N - k - 1));
        fronta_future_release(out);
    }
    assert_int_equal(fronta_as_completed_next(ac, 0, &out), FRONTA_EEMPTY);
    assert_int_equal(fronta_as_completed_next(ac, FT_LIMIT, &out), FRONTA_EEMPTY);
    fronta_as_completed_destroy(ac);
    fronta_runtime_destroy(rt);
}

static void as_completed_batch_order(void **state)
{
    (void)state;
    /* Cancelling pending tasks completes them in an order the test picks,
     * all before the first next(). */
    fronta_runtime_t *rt = ft_runtime(1);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    enum { N = 5 };
    fronta_future_t *fs[N], *keep[N];
    for (int i = 0; i < N; i++) {
        keep[i] = fs[i] = quick(rt, i);
        fronta_future_retain(keep[i]);
    }
    fronta_as_completed_t *ac = NULL;
    assert_int_equal(fronta_as_completed_create(rt, fs, N, &ac), 0);
    const int order[N] = {3, 0, 4, 1, 2};
    for (int k = 0; k < N; k++)
        assert_int_equal(fronta_future_cancel(keep[order[k]]), 0);
    for (int k = 0; k < N; k++) {
        fronta_future_t *out = NULL;
        assert_int_equal(fronta_as_completed_next(ac, FT_LIMIT, &out), 0);
        assert_ptr_equal(out, keep[order[k]]);
        assert_int_equal(fronta_future_status(out), FRONTA_CANCELLED);
        fronta_future_release(out);
    }
    fronta_future_t *out = NULL;
    assert_int_equal(fronta_as_completed_next(ac, 0, &out), FRONTA_EEMPTY);
    fronta_as_completed_destroy(ac);
    ft_gate_open(&gate);
    for (int i = 0; i < N; i++)
        fronta_future_release(keep[i]);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

typedef struct adder {
    fronta_runtime_t *rt;
    fronta_as_completed_t *ac;
    int n;
    atomic_int errors;
    atomic_int added;
    fronta_future_t **fs;   /* an extra reference on each, for diagnosis */
} adder_t;

static void *add_from_thread(void *arg)
{
    adder_t *a = arg;
    for (int64_t i = 0; i < a->n; i++) {
        fronta_future_t *f = NULL;
        if (fronta_submit_fn(a->rt, index_task, &i, sizeof i, &f) != 0) {
            atomic_fetch_add(&a->errors, 1);
            continue;
        }
        fronta_future_retain(f);
        a->fs[i] = f;
        if (fronta_as_completed_add(a->ac, f) != 0) {
            atomic_fetch_add(&a->errors, 1);
            fronta_future_release(f);
            continue;
        }
        atomic_fetch_add(&a->added, 1);
        if (i % 16 == 0)
            sched_yield();
    }
    return NULL;
}

static void as_completed_add_while_draining(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_as_completed_t *ac = NULL;
    /* An empty iterator: EEMPTY at once. */
    assert_int_equal(fronta_as_completed_create(rt, NULL, 0, &ac), 0);
    fronta_future_t *out = NULL;
    assert_int_equal(fronta_as_completed_next(ac, 0, &out), FRONTA_EEMPTY);
    assert_int_equal(fronta_as_completed_pending(ac), 0);

    enum { N = 2003 };
    adder_t a = {.rt = rt, .ac = ac, .n = N, .fs = calloc(N, sizeof(fronta_future_t *))};
    atomic_init(&a.errors, 0);
    atomic_init(&a.added, 0);
    unsigned char *seen = calloc(N, 1);
    assert_non_null(seen);
    assert_non_null(a.fs);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, add_from_thread, &a), 0);
    int got = 0, dup = 0, bad = 0;
    double deadline = ft_now() + FT_LIMIT;
    while (got < N && ft_now() < deadline && atomic_load(&a.errors) == 0) {
        out = NULL;
        int rc = fronta_as_completed_next(ac, 0.01, &out);
        if (rc == FRONTA_EEMPTY || rc == FRONTA_ETIMEDOUT) {
            sched_yield();
            continue;
        }
        if (rc != 0) {
            bad++;
            break;
        }
        int64_t i = -1;
        if (fronta_future_result(out, 0, &i, sizeof i) != 0 || i < 0 || i >= N)
            bad++;
        else if (seen[i]++)
            dup++;
        fronta_future_release(out);
        got++;
    }
    pthread_join(th, NULL);
    if (got != N) {
        /* Tell a lost completion (done, never handed out) from a lost
         * task (never ran). */
        print_error("%d of %d futures came out; pending %zu\n", got, N,
                    fronta_as_completed_pending(ac));
        for (int i = 0; i < N; i++)
            if (!seen[i] && a.fs[i])
                print_error("future %d: status %d\n", i, (int)fronta_future_status(a.fs[i]));
    }
    for (int i = 0; i < N; i++)
        fronta_future_release(a.fs[i]);
    free(a.fs);
    assert_int_equal(atomic_load(&a.errors), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(dup, 0);
    assert_int_equal(got, N);
    assert_int_equal(fronta_as_completed_pending(ac), 0);
    assert_int_equal(fronta_as_completed_next(ac, 0, &out), FRONTA_EEMPTY);
    free(seen);
    fronta_as_completed_destroy(ac);
    fronta_runtime_destroy(rt);
}

static int readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, 0);
    return n == 1 && (p.revents & POLLIN);
}

static int readable_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, ms);
    return n == 1 && (p.revents & POLLIN);
}

static void as_completed_fd(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(3);
    ft_gate_t g1, g2;
    ft_gate_init(&g1, 0);
    ft_gate_init(&g2, 0);
    fronta_future_t *fs[2] = {ft_gate_submit(rt, &g1), ft_gate_submit(rt, &g2)};
    fronta_future_t *f1 = fs[0];
    fronta_as_completed_t *ac = NULL;
    assert_int_equal(fronta_as_completed_create(rt, fs, 2, &ac), 0);
    int fd = fronta_as_completed_fd(ac);
    assert_true(fd >= 0);
    /* Same fd each time: it is owned by the iterator. */
    assert_int_equal(fronta_as_completed_fd(ac), fd);
    assert_false(readable(fd));

    ft_gate_open(&g1);
    assert_true(readable_within(fd, (int)(FT_LIMIT * 1000)));
    fronta_future_t *out = NULL;
    assert_int_equal(fronta_as_completed_next(ac, 0, &out), 0);
    assert_ptr_equal(out, f1);
    fronta_future_release(out);
    /* Drained: no longer readable. */
    assert_false(readable(fd));

    /* Two completions, then one next(): still readable; then not. */
    ft_gate_open(&g2);
    assert_true(readable_within(fd, (int)(FT_LIMIT * 1000)));
    fronta_future_t *f3 = quick(rt, 3);
    fronta_future_retain(f3);
    ft_wait(f3);
    /* Added done: queued once its completion has run its callbacks. A
     * wait returns as the state changes, a moment before the completing
     * thread fires them: the fd may become readable only then (seen under
     * load with eager), so the test waits for it rather than polls once. */
    assert_int_equal(fronta_as_completed_add(ac, f3), 0);
    assert_int_equal(fronta_as_completed_pending(ac), 2);
    assert_true(readable(fd)); /* g2's, queued already */
    out = NULL;
    assert_int_equal(fronta_as_completed_next(ac, 0, &out), 0);
    fronta_future_release(out);
    assert_true(readable_within(fd, (int)(FT_LIMIT * 1000)));
    out = NULL;
    assert_int_equal(fronta_as_completed_next(ac, FT_LIMIT, &out), 0);
    fronta_future_release(out);
    assert_false(readable(fd));
    assert_int_equal(fronta_as_completed_next(ac, 0, &out), FRONTA_EEMPTY);
    fronta_future_release(f3);
    fronta_as_completed_destroy(ac);
    fronta_runtime_destroy(rt);
}

static void as_completed_destroy_with_pending(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    enum { N = 7 };
    fronta_future_t *fs[N];
    for (int i = 0; i < N; i++)
        fs[i] = pending_after(rt, g, i);
    fronta_as_completed_t *ac = NULL;
    assert_int_equal(fronta_as_completed_create(rt, fs, N, &ac), 0);
    /* Destroy releases the futures it still holds; they still run. */
    fronta_as_completed_destroy(ac);
    ft_gate_open(&gate);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

static void as_completed_bad_args(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    fronta_as_completed_t *ac = NULL;
    fronta_future_t *f = quick(rt, 1);
    fronta_future_t *with_null[2] = {f, NULL};
    assert_int_equal(fronta_as_completed_create(NULL, &f, 1, &ac), FRONTA_EINVAL);
    assert_null(ac);
    assert_int_equal(fronta_as_completed_create(rt, &f, 1, NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_as_completed_create(rt, NULL, 3, &ac), FRONTA_EINVAL);
    assert_null(ac);
    /* A failed create takes no reference: f is still the caller's. */
    assert_int_equal(fronta_as_completed_create(rt, with_null, 2, &ac), FRONTA_EINVAL);
    assert_null(ac);
    /* A future of another runtime. */
    fronta_runtime_t *other = ft_runtime(1);
    fronta_future_t *foreign = quick(other, 2);
    assert_int_equal(fronta_as_completed_create(rt, &foreign, 1, &ac), FRONTA_EINVAL);
    assert_null(ac);
    assert_int_equal(fronta_as_completed_create(rt, NULL, 0, &ac), 0);
    assert_int_equal(fronta_as_completed_add(ac, foreign), FRONTA_EINVAL);
    fronta_future_release(foreign);
    fronta_runtime_destroy(other);
    assert_int_equal(fronta_as_completed_add(ac, NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_as_completed_add(NULL, f), FRONTA_EINVAL);
    assert_int_equal(fronta_as_completed_next(ac, 0, NULL), FRONTA_EINVAL);
    fronta_future_t *out = NULL;
    assert_int_equal(fronta_as_completed_next(NULL, 0, &out), FRONTA_EINVAL);
    assert_int_equal(fronta_as_completed_pending(NULL), 0);
    assert_true(fronta_as_completed_fd(NULL) < 0);
    fronta_as_completed_destroy(NULL);
    /* Still usable after the rejected calls. */
    assert_int_equal(fronta_as_completed_add(ac, f), 0);
    assert_int_equal(fronta_as_completed_next(ac, FT_LIMIT, &out), 0);
    assert_ptr_equal(out, f);
    fronta_future_release(out);
    fronta_as_completed_destroy(ac);
    fronta_runtime_destroy(rt);
}

/* ---- map -------------------------------------------------------------- */

static void map_results_in_input_order(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    const size_t sizes[] = {1, 2, 7, 997};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        int64_t *xs = malloc(n * sizeof *xs);
        fronta_future_t **out = calloc(n, sizeof *out);
        assert_non_null(xs);
        assert_non_null(out);
        for (size_t i = 0; i < n; i++)
            xs[i] = (int64_t)(i * 3) - 5;
        assert_int_equal(fronta_map(rt, square_task, xs, sizeof xs[0], n, NULL, out), 0);
        /* The arguments were copied: the caller may reuse them at once. */
        memset(xs, 0, n * sizeof *xs);
        for (size_t i = 0; i < n; i++) {
            int64_t y = 0, x = (int64_t)(i * 3) - 5;
            assert_non_null(out[i]);
            assert_int_equal(fronta_future_result(out[i], FT_LIMIT, &y, sizeof y), 0);
            assert_int_equal(y, x * x);
            fronta_future_release(out[i]);
        }
        free(xs);
        free(out);
    }
    fronta_runtime_destroy(rt);
}

typedef struct inflight {
    atomic_int now;
    atomic_int max;
    atomic_int runs;
} inflight_t;

static int inflight_task(fronta_ctx_t *ctx, void *arg)
{
    inflight_t *s;
    memcpy(&s, (const char *)arg, sizeof s);
    int n = atomic_fetch_add(&s->now, 1) + 1;
    int m = atomic_load(&s->max);
    while (n > m && !atomic_compare_exchange_weak(&s->max, &m, n))
        ;
    ft_busy_us(ctx, 200);
    atomic_fetch_sub(&s->now, 1);
    atomic_fetch_add(&s->runs, 1);
    return 0;
}

static void map_max_inflight(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(3);
    const size_t limits[] = {1, 2, 0};
    enum { N = 101 };
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        inflight_t st;
        atomic_init(&st.now, 0);
        atomic_init(&st.max, 0);
        atomic_init(&st.runs, 0);
        inflight_t *args[N];
        for (int i = 0; i < N; i++)
            args[i] = &st;
        fronta_map_opts_t opts = {.size = sizeof opts, .max_inflight = limits[l]};
        fronta_future_t *out[N];
        assert_int_equal(fronta_map(rt, inflight_task, args, sizeof args[0], N, &opts, out), 0);
        size_t nd = 0;
        assert_int_equal(fronta_wait(out, N, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd), 0);
        assert_int_equal(nd, N);
        assert_int_equal(atomic_load(&st.runs), N);
        print_message("[ info     ] max_inflight %zu: %d ran at once at most\n",
                      limits[l], atomic_load(&st.max));
        if (limits[l])
            assert_true(atomic_load(&st.max) <= (int)limits[l]);
        assert_true(atomic_load(&st.max) >= 1);
        for (int i = 0; i < N; i++) {
            assert_int_equal(fronta_future_status(out[i]), FRONTA_FINISHED);
            fronta_future_release(out[i]);
        }
    }
    fronta_runtime_destroy(rt);
}

/* The map call returns before its tasks complete even when they are held
 * back by max_inflight: the gate is opened only after map returned. */
static void map_never_blocks(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    enum { N = 5 };
    ft_gate_t *args[N];
    for (int i = 0; i < N; i++)
        args[i] = &gate;
    fronta_map_opts_t opts = {.size = sizeof opts, .max_inflight = 1};
    fronta_future_t *out[N];
    assert_int_equal(fronta_map(rt, ft_gate_task, args, sizeof args[0], N, &opts, out), 0);
    assert_int_equal(atomic_load(&gate.left), 0);
    ft_gate_open(&gate);
    size_t nd = 0;
    assert_int_equal(fronta_wait(out, N, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd), 0);
    assert_int_equal(nd, N);
    assert_int_equal(atomic_load(&gate.expired), 0);
    assert_int_equal(atomic_load(&gate.left), N);
    for (int i = 0; i < N; i++)
        fronta_future_release(out[i]);
    fronta_runtime_destroy(rt);
}

/* A task held back by max_inflight can be cancelled; the others still run
 * and the cancelled one does not hold a slot. */
static void map_cancel_gated_task(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    enum { N = 7 };
    ft_gate_t *args[N];
    for (int i = 0; i < N; i++)
        args[i] = &gate;
    fronta_map_opts_t opts = {.size = sizeof opts, .max_inflight = 1};
    fronta_future_t *out[N];
    assert_int_equal(fronta_map(rt, ft_gate_task, args, sizeof args[0], N, &opts, out), 0);
    FT_SPIN_UNTIL(atomic_load(&gate.started) >= 1);
    assert_int_equal(atomic_load(&gate.started), 1);
    assert_int_equal(fronta_future_status(out[3]), FRONTA_PENDING);
    assert_int_equal(fronta_future_cancel(out[3]), 0);
    assert_int_equal(fronta_future_cancel(out[N - 1]), 0);
    assert_int_equal(fronta_future_status(out[3]), FRONTA_CANCELLED);
    ft_gate_open(&gate);
    size_t nd = 0;
    assert_int_equal(fronta_wait(out, N, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd), 0);
    assert_int_equal(nd, N);
    int finished = 0, cancelled = 0;
    for (int i = 0; i < N; i++) {
        fronta_status_t st = fronta_future_status(out[i]);
        finished += st == FRONTA_FINISHED;
        cancelled += st == FRONTA_CANCELLED;
        fronta_future_release(out[i]);
    }
    assert_int_equal(finished, N - 2);
    assert_int_equal(cancelled, 2);
    assert_int_equal(atomic_load(&gate.left), N - 2);
    assert_int_equal(atomic_load(&gate.expired), 0);
    fronta_runtime_destroy(rt);
}

/* shutdown(CANCEL_PENDING) also ends tasks still held back by
 * max_inflight: nothing is left pending. */
static void map_gated_tasks_and_shutdown(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 1);
    enum { N = 50 };
    ft_gate_t *args[N];
    for (int i = 0; i < N; i++)
        args[i] = &gate;
    fronta_map_opts_t opts = {.size = sizeof opts, .max_inflight = 2};
    fronta_future_t *out[N];
    assert_int_equal(fronta_map(rt, ft_gate_task, args, sizeof args[0], N, &opts, out), 0);
    FT_SPIN_UNTIL(atomic_load(&gate.started) >= 1);
    /* The running gate tasks honour the cancel request. */
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_CANCEL_PENDING), 0);
    for (int i = 0; i < N; i++) {
        assert_true(fronta_future_done(out[i]));
        assert_int_equal(fronta_future_status(out[i]), FRONTA_CANCELLED);
        fronta_future_release(out[i]);
    }
    assert_true(atomic_load(&gate.started) <= 2);
    assert_int_equal(atomic_load(&gate.expired), 0);
    fronta_runtime_destroy(rt);
}

static int flaky_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    if (fronta_ctx_attempt(ctx) == 0)
        return fronta_ctx_fail(ctx, FRONTA_ETASK, "first attempt fails");
    unsigned a = fronta_ctx_attempt(ctx);
    return fronta_ctx_return(ctx, &a, sizeof a);
}

static void map_edge_cases(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_future_t *out[3] = {NULL, NULL, NULL};
    int64_t xs[3] = {1, 2, 3};
    /* n = 0 succeeds and writes nothing. */
    assert_int_equal(fronta_map(rt, square_task, xs, sizeof xs[0], 0, NULL, out), 0);
    assert_null(out[0]);
    fronta_stats_t st;
    assert_int_equal(fronta_runtime_stats(rt, &st), 0);
    assert_int_equal(st.tasks_submitted, 0);
    assert_int_equal(fronta_map(NULL, square_task, xs, sizeof xs[0], 3, NULL, out),
                     FRONTA_EINVAL);
    assert_int_equal(fronta_map(rt, NULL, xs, sizeof xs[0], 3, NULL, out), FRONTA_EINVAL);
    assert_int_equal(fronta_map(rt, square_task, NULL, sizeof xs[0], 3, NULL, out),
                     FRONTA_EINVAL);
    assert_int_equal(fronta_map(rt, square_task, xs, sizeof xs[0], 3, NULL, NULL),
                     FRONTA_EINVAL);
    assert_null(out[0]);
    assert_int_equal(fronta_runtime_stats(rt, &st), 0);
    assert_int_equal(st.tasks_submitted, 0);

    /* opts carry retries to every task. */
    fronta_map_opts_t opts = {.size = sizeof opts, .retries = 1, .priority = 3};
    assert_int_equal(fronta_map(rt, flaky_task, xs, sizeof xs[0], 3, &opts, out), 0);
    for (int i = 0; i < 3; i++) {
        unsigned a = 0;
        assert_int_equal(fronta_future_result(out[i], FT_LIMIT, &a, sizeof a), 0);
        assert_int_equal(a, 1);
        fronta_future_release(out[i]);
    }
    fronta_runtime_destroy(rt);
}

/* ---- as_completed and the runtime's lifetime ---------------------------- */

static int ac_value_task(fronta_ctx_t *ctx, void *arg)
{
    int v = *(int *)arg;
    return fronta_ctx_return(ctx, &v, sizeof v);
}

/* An iterator the user never destroys is freed with the runtime: under
 * ASan, LeakSanitizer fails this test if it is not (it once leaked, with
 * its eventfd). */
static void as_completed_freed_by_runtime_destroy(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_as_completed_t *ac = NULL;
    assert_int_equal(fronta_as_completed_create(rt, NULL, 0, &ac), 0);
    for (int i = 0; i < 5; i++) {
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_fn(rt, ac_value_task, &i, sizeof i, &f), 0);
        assert_int_equal(fronta_as_completed_add(ac, f), 0);
    }
    assert_true(fronta_as_completed_fd(ac) >= 0);
    fronta_future_t *first = NULL;
    assert_int_equal(fronta_as_completed_next(ac, FT_LIMIT, &first), 0);
    fronta_future_release(first);
    fronta_runtime_destroy(rt); /* four futures and the iterator still held */
}

static atomic_int ac_inner_sum;

/* Inside a task, next() runs other tasks while it waits: with one thread
 * the children can only run that way (it once blocked on a condvar). */
static int ac_parent_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    fronta_runtime_t *rt = fronta_ctx_runtime(ctx);
    fronta_as_completed_t *ac = NULL;
    int rc = fronta_as_completed_create(rt, NULL, 0, &ac);
    for (int i = 1; !rc && i <= 10; i++) {
        fronta_future_t *f = NULL;
        if (!(rc = fronta_submit_fn(rt, ac_value_task, &i, sizeof i, &f)) &&
            (rc = fronta_as_completed_add(ac, f)))
            fronta_future_release(f);
    }
    fronta_future_t *f = NULL;
    while (!rc && (rc = fronta_as_completed_next(ac, FT_LIMIT, &f)) == 0) {
        int v = 0;
        rc = fronta_future_result(f, 0, &v, sizeof v);
        atomic_fetch_add(&ac_inner_sum, v);
        fronta_future_release(f);
    }
    fronta_as_completed_destroy(ac);
    return rc == FRONTA_EEMPTY ? 0 : rc;
}

static void as_completed_next_inside_task(void **state)
{
    (void)state;
    atomic_store(&ac_inner_sum, 0);
    fronta_runtime_t *rt = ft_runtime(1);
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, ac_parent_task, NULL, 0, &f), 0);
    assert_int_equal(fronta_future_result(f, FT_LIMIT, NULL, 0), 0);
    assert_int_equal(atomic_load(&ac_inner_sum), 55);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wait_all_completed),
        cmocka_unit_test(wait_partitions),
        cmocka_unit_test(wait_wakes_up),
        cmocka_unit_test(wait_edge_cases),
        cmocka_unit_test(as_completed_follows_completion_order),
        cmocka_unit_test(as_completed_batch_order),
        cmocka_unit_test(as_completed_add_while_draining),
        cmocka_unit_test(as_completed_fd),
        cmocka_unit_test(as_completed_destroy_with_pending),
        cmocka_unit_test(as_completed_freed_by_runtime_destroy),
        cmocka_unit_test(as_completed_next_inside_task),
        cmocka_unit_test(as_completed_bad_args),
        cmocka_unit_test(map_results_in_input_order),
        cmocka_unit_test(map_max_inflight),
        cmocka_unit_test(map_never_blocks),
        cmocka_unit_test(map_cancel_gated_task),
        cmocka_unit_test(map_gated_tasks_and_shutdown),
        cmocka_unit_test(map_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
