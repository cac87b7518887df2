/* Tests of one future: results, status, errors, cancel, callbacks, references, retries, priorities. */
#include "test_util.h"

#include <pthread.h>

/* ---- task bodies ------------------------------------------------------ */

static int square_task(fronta_ctx_t *ctx, void *arg)
{
    int64_t x;
    memcpy(&x, arg, sizeof x);
    x *= x;
    return fronta_ctx_return(ctx, &x, sizeof x);
}

static int noreturn_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

/* Returns twice: the second result replaces the first. */
static int twice_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    int64_t a = 1;
    int32_t b = 2;
    int rc = fronta_ctx_return(ctx, &a, sizeof a);
    if (rc != 0)
        return rc;
    return fronta_ctx_return(ctx, &b, sizeof b);
}

typedef struct fail_spec {
    int code;             /* given to fronta_ctx_fail */
    atomic_uint_least64_t *task_id;
    atomic_int *ret_seen; /* what fronta_ctx_fail returned */
} fail_spec_t;

static int fail_task(fronta_ctx_t *ctx, void *arg)
{
    fail_spec_t s;
    memcpy(&s, arg, sizeof s);
    atomic_store(s.task_id, fronta_ctx_task_id(ctx));
    int rc = fronta_ctx_fail(ctx, s.code, "bad value %d in %s", 42, "fail_task");
    atomic_store(s.ret_seen, rc);
    return rc;
}

/* Returns a negative code without a message. */
static int raw_fail_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    int code;
    memcpy(&code, arg, sizeof code);
    return code;
}

static int id_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    uint64_t id = fronta_ctx_task_id(ctx);
    return fronta_ctx_return(ctx, &id, sizeof id);
}

/* ---- results ---------------------------------------------------------- */

static void submit_and_result(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    int64_t x = -12, y = 0;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, square_task, &x, sizeof x, &f), 0);
    assert_non_null(f);
    assert_int_equal(fronta_future_result(f, FT_LIMIT, &y, sizeof y), 0);
    assert_int_equal(y, 144);
    assert_true(fronta_future_done(f));
    assert_int_equal(fronta_future_status(f), FRONTA_FINISHED);
    assert_int_equal(fronta_future_error(f, NULL), 0);
    assert_int_equal(fronta_future_wait(f, 0), 0);
    assert_int_equal(fronta_future_wait(f, -1), 0);

    /* Wrong size: FRONTA_ESIZE and nothing copied. */
    unsigned char buf[16];
    memset(buf, 0xa5, sizeof buf);
    assert_int_equal(fronta_future_result(f, 0, buf, 4), FRONTA_ESIZE);
    assert_int_equal(fronta_future_result(f, 0, buf, 16), FRONTA_ESIZE);
    assert_int_equal(fronta_future_result(f, 0, NULL, 0), FRONTA_ESIZE);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xa5);

    const void *p = NULL;
    size_t sz = 0;
    assert_int_equal(fronta_future_result_ptr(f, &p, &sz), 0);
    assert_non_null(p);
    assert_int_equal(sz, sizeof(int64_t));
    int64_t z;
    memcpy(&z, p, sizeof z);
    assert_int_equal(z, 144);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

static void empty_and_replaced_results(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_future_t *f = NULL, *g = NULL;
    assert_int_equal(fronta_submit_fn(rt, noreturn_task, NULL, 0, &f), 0);
    assert_int_equal(fronta_submit_fn(rt, twice_task, NULL, 0, &g), 0);
    ft_wait(f);
    ft_wait(g);
    /* No fronta_ctx_return: the result is empty. */
    assert_int_equal(fronta_future_status(f), FRONTA_FINISHED);
    assert_int_equal(fronta_future_result(f, 0, NULL, 0), 0);
    int64_t v = 99;
    assert_int_equal(fronta_future_result(f, 0, &v, sizeof v), FRONTA_ESIZE);
    assert_int_equal(v, 99);
    const void *p;
    size_t sz = 1234;
    assert_int_equal(fronta_future_result_ptr(f, &p, &sz), 0);
    assert_int_equal(sz, 0);

    int32_t b = 0;
    assert_int_equal(fronta_future_result(g, 0, &b, sizeof b), 0);
    assert_int_equal(b, 2);
    assert_int_equal(fronta_future_result(g, 0, &v, sizeof v), FRONTA_ESIZE);
    fronta_future_release(f);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

/* A 1 KiB argument in, a 4 KiB result out, and odd sizes. */
static int big_task(fronta_ctx_t *ctx, void *arg)
{
    const unsigned char *in = arg;
    unsigned char out[4096];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (unsigned char)(in[i % 1024] ^ (unsigned char)(i >> 10));
    return fronta_ctx_return(ctx, out, sizeof out);
}

/* Result = argument bytes reversed, so any size can be checked. */
static int reverse_task(fronta_ctx_t *ctx, void *arg)
{
    size_t n;
    memcpy(&n, arg, sizeof n);
    const unsigned char *in = (const unsigned char *)arg + sizeof n;
    unsigned char *out = malloc(n ? n : 1);
    if (!out)
        return FRONTA_ENOMEM;
    for (size_t i = 0; i < n; i++)
        out[i] = in[n - 1 - i];
    int rc = fronta_ctx_return(ctx, out, n);
    free(out);
    return rc;
}

static void large_args_and_results(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    /* Block the only worker so that the argument is overwritten before the
     * task runs: the task must see the copy taken at submit. */
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);

    unsigned char arg[1024];
    for (size_t i = 0; i < sizeof arg; i++)
        arg[i] = (unsigned char)(i * 7 + 3);
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, big_task, arg, sizeof arg, &f), 0);
    memset(arg, 0, sizeof arg);

    const size_t sizes[] = {1, 2, 13, 97, 1021, 4099, 65537};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    fronta_future_t *r[NS];
    for (size_t k = 0; k < NS; k++) {
        size_t n = sizes[k];
        unsigned char *buf = malloc(sizeof n + n);
        assert_non_null(buf);
        memcpy(buf, &n, sizeof n);
        for (size_t i = 0; i < n; i++)
            buf[sizeof n + i] = (unsigned char)(i * 31 + k);
        assert_int_equal(fronta_submit_fn(rt, reverse_task, buf, sizeof n + n, &r[k]), 0);
        free(buf);
    }
    ft_gate_open(&gate);

    unsigned char out[4096];
    assert_int_equal(fronta_future_result(f, FT_LIMIT, out, sizeof out), 0);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], (unsigned char)((unsigned char)((i % 1024) * 7 + 3) ^
                                                 (unsigned char)(i >> 10)));
    for (size_t k = 0; k < NS; k++) {
        size_t n = sizes[k];
        ft_wait(r[k]);
        const void *p = NULL;
        size_t sz = 0;
        assert_int_equal(fronta_future_result_ptr(r[k], &p, &sz), 0);
        assert_int_equal(sz, n);
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
            assert_int_equal(b[i], (unsigned char)((n - 1 - i) * 31 + k));
        fronta_future_release(r[k]);
    }
    fronta_future_release(f);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

/* ---- status and waiting ----------------------------------------------- */

static void status_transitions(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    assert_int_equal(fronta_future_status(g), FRONTA_RUNNING);
    assert_false(fronta_future_done(g));

    /* The only worker is held: this one stays queued. */
    int64_t x = 3;
    fronta_future_t *p = NULL;
    assert_int_equal(fronta_submit_fn(rt, square_task, &x, sizeof x, &p), 0);
    assert_int_equal(fronta_future_status(p), FRONTA_PENDING);
    assert_false(fronta_future_done(p));
    assert_int_equal(fronta_future_error(p, NULL), FRONTA_EPENDING);
    assert_int_equal(fronta_future_error(g, NULL), FRONTA_EPENDING);
    const void *ptr = NULL;
    size_t sz = 0;
    assert_int_equal(fronta_future_result_ptr(p, &ptr, &sz), FRONTA_EPENDING);

    ft_gate_open(&gate);
    ft_wait(g);
    ft_wait(p);
    assert_int_equal(fronta_future_status(g), FRONTA_FINISHED);
    assert_int_equal(fronta_future_status(p), FRONTA_FINISHED);
    int one = 0;
    assert_int_equal(fronta_future_result(g, 0, &one, sizeof one), 0);
    assert_int_equal(one, 1);
    assert_int_equal(atomic_load(&gate.expired), 0);
    fronta_future_release(g);
    fronta_future_release(p);
    fronta_runtime_destroy(rt);
}

static void wait_timeouts_on_blocked_task(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);

    assert_int_equal(fronta_future_wait(g, 0), FRONTA_ETIMEDOUT);
    const double timeouts[] = {0.001, 0.01, 0.05};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        double t0 = ft_now();
        assert_int_equal(fronta_future_wait(g, timeouts[i]), FRONTA_ETIMEDOUT);
        /* A lower bound only: waiting less than asked would be a bug;
         * no upper bound is asserted (speed is not tested here). */
        assert_true(ft_now() - t0 >= timeouts[i] * 0.9);
    }
    int v = 77;
    assert_int_equal(fronta_future_result(g, 0, &v, sizeof v), FRONTA_ETIMEDOUT);
    assert_int_equal(fronta_future_result(g, 0.01, &v, sizeof v), FRONTA_ETIMEDOUT);
    assert_int_equal(v, 77);
    ft_gate_open(&gate);
    assert_int_equal(fronta_future_wait(g, -1), 0);
    assert_int_equal(fronta_future_result(g, 0, &v, sizeof v), 0);
    assert_int_equal(v, 1);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

/* ---- errors ----------------------------------------------------------- */

static void error_with_message(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    const int codes[] = {FRONTA_ETASK, 0, 5, FRONTA_ERANGE};
    const int expect[] = {FRONTA_ETASK, FRONTA_ETASK, FRONTA_ETASK, FRONTA_ERANGE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        atomic_uint_least64_t tid;
        atomic_int ret;
        atomic_init(&tid, 0);
        atomic_init(&ret, 12345);
        fail_spec_t s = {.code = codes[i], .task_id = &tid, .ret_seen = &ret};
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_fn(rt, fail_task, &s, sizeof s, &f), 0);
        ft_wait(f);
        assert_int_equal(fronta_future_status(f), FRONTA_FAILED);
        /* fronta_ctx_fail maps 0 and positive codes to FRONTA_ETASK. */
        assert_int_equal(atomic_load(&ret), expect[i]);
        fronta_error_t err;
        memset(&err, 0, sizeof err);
        assert_int_equal(fronta_future_error(f, &err), expect[i]);
        assert_int_equal(err.code, expect[i]);
        assert_non_null(err.message);
        assert_non_null(strstr(err.message, "bad value 42 in fail_task"));
        assert_int_equal(err.task_id, fronta_future_task_id(f));
        assert_int_equal(err.task_id, atomic_load(&tid));
        int64_t v = 5;
        assert_int_equal(fronta_future_result(f, 0, &v, sizeof v), expect[i]);
        assert_int_equal(v, 5);
        const void *p;
        size_t sz;
        assert_true(fronta_future_result_ptr(f, &p, &sz) < 0);
        fronta_future_release(f);
    }

    /* A plain negative return, no message. */
    int code = FRONTA_ERANGE;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, raw_fail_task, &code, sizeof code, &f), 0);
    ft_wait(f);
    assert_int_equal(fronta_future_status(f), FRONTA_FAILED);
    fronta_error_t err;
    assert_int_equal(fronta_future_error(f, &err), FRONTA_ERANGE);
    assert_int_equal(err.code, FRONTA_ERANGE);
    assert_int_equal(err.task_id, fronta_future_task_id(f));
    /* docs/design.md §6: without a message, the message is the code's text. */
    assert_non_null(err.message);
    assert_string_equal(err.message, fronta_strerror(FRONTA_ERANGE));
    fronta_future_release(f);

    /* Returning FRONTA_ECANCELLED without a cancel request is an ordinary
     * failure (docs/design.md §5). */
    code = FRONTA_ECANCELLED;
    assert_int_equal(fronta_submit_fn(rt, raw_fail_task, &code, sizeof code, &f), 0);
    ft_wait(f);
    assert_int_equal(fronta_future_status(f), FRONTA_FAILED);
    assert_int_equal(fronta_future_error(f, NULL), FRONTA_ECANCELLED);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

static void task_ids(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    enum { N = 31 };
    fronta_future_t *fs[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(fronta_submit_fn(rt, id_task, NULL, 0, &fs[i]), 0);
    for (int i = 0; i < N; i++) {
        uint64_t id = 0;
        assert_int_equal(fronta_future_result(fs[i], FT_LIMIT, &id, sizeof id), 0);
        assert_int_equal(id, fronta_future_task_id(fs[i]));
        for (int j = 0; j < i; j++)
            assert_int_not_equal(fronta_future_task_id(fs[j]), id);
    }
    for (int i = 0; i < N; i++)
        fronta_future_release(fs[i]);
    fronta_runtime_destroy(rt);
}

/* ---- cancel ----------------------------------------------------------- */

static void cancel_pending(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    atomic_int ran;
    atomic_init(&ran, 0);
    atomic_int *rp = &ran;
    fronta_future_t *p = NULL;
    assert_int_equal(fronta_submit_fn(rt, ft_count_task, &rp, sizeof rp, &p), 0);
    assert_int_equal(fronta_future_status(p), FRONTA_PENDING);

    assert_int_equal(fronta_future_cancel(p), 0);
    /* Cancelling a pending task completes its future at once. */
    assert_true(fronta_future_done(p));
    assert_int_equal(fronta_future_status(p), FRONTA_CANCELLED);
    assert_int_equal(fronta_future_wait(p, 0), 0);
    assert_int_equal(fronta_future_result(p, 0, NULL, 0), FRONTA_ECANCELLED);
    fronta_error_t err;
    assert_int_equal(fronta_future_error(p, &err), FRONTA_ECANCELLED);
    assert_int_equal(err.code, FRONTA_ECANCELLED);
    /* Done now: a second cancel is FRONTA_EBUSY. */
    assert_int_equal(fronta_future_cancel(p), FRONTA_EBUSY);

    ft_gate_open(&gate);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&ran), 0);
    assert_int_equal(fronta_future_status(p), FRONTA_CANCELLED);
    fronta_future_release(p);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

static void cancel_running(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);

    /* A task that honours the request ends CANCELLED. */
    ft_gate_t gate;
    ft_gate_init(&gate, 1);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    assert_int_equal(fronta_future_cancel(g), FRONTA_EBUSY);
    FT_SPIN_UNTIL(atomic_load(&gate.saw_cancel));
    assert_true(atomic_load(&gate.saw_cancel));
    ft_wait(g);
    assert_int_equal(fronta_future_error(g, NULL), FRONTA_ECANCELLED);
    assert_int_equal(fronta_future_status(g), FRONTA_CANCELLED);
    assert_int_equal(fronta_future_result(g, 0, NULL, 0), FRONTA_ECANCELLED);
    fronta_future_release(g);

    /* A task that ignores it runs out and finishes normally. */
    ft_gate_t gate2;
    ft_gate_init(&gate2, 0);
    fronta_future_t *h = ft_gate_submit(rt, &gate2);
    assert_int_equal(fronta_future_cancel(h), FRONTA_EBUSY);
    FT_SPIN_UNTIL(atomic_load(&gate2.saw_cancel));
    assert_true(atomic_load(&gate2.saw_cancel));
    ft_gate_open(&gate2);
    ft_wait(h);
    assert_int_equal(fronta_future_status(h), FRONTA_FINISHED);
    int one = 0;
    assert_int_equal(fronta_future_result(h, 0, &one, sizeof one), 0);
    assert_int_equal(one, 1);
    fronta_future_release(h);
    fronta_runtime_destroy(rt);
}

static void cancel_finished(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    int64_t x = 4, y = 0;
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, square_task, &x, sizeof x, &f), 0);
    ft_wait(f);
    assert_int_equal(fronta_future_cancel(f), FRONTA_EBUSY);
    assert_int_equal(fronta_future_status(f), FRONTA_FINISHED);
    assert_int_equal(fronta_future_result(f, 0, &y, sizeof y), 0);
    assert_int_equal(y, 16);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

/* ---- done callbacks --------------------------------------------------- */

typedef struct cb_rec {
    atomic_int calls;
    atomic_int wrong_future;
    atomic_int in_main;        /* calls made in the main thread */
    atomic_int done_inside;    /* the future read done inside the callback */
    fronta_future_t *expect;
} cb_rec_t;

static pthread_t main_thread;

static void cb_init(cb_rec_t *r, fronta_future_t *expect)
{
    atomic_init(&r->calls, 0);
    atomic_init(&r->wrong_future, 0);
    atomic_init(&r->in_main, 0);
    atomic_init(&r->done_inside, 0);
    r->expect = expect;
}

static void record_cb(fronta_future_t *f, void *ud)
{
    cb_rec_t *r = ud;
    if (f != r->expect)
        atomic_fetch_add(&r->wrong_future, 1);
    if (pthread_equal(pthread_self(), main_thread))
        atomic_fetch_add(&r->in_main, 1);
    if (fronta_future_done(f))
        atomic_fetch_add(&r->done_inside, 1);
    atomic_fetch_add(&r->calls, 1);
}

static void callback_before_and_after_completion(void **state)
{
    (void)state;
    main_thread = pthread_self();
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);

    enum { BEFORE = 5, AFTER = 3 };
    cb_rec_t before[BEFORE], after[AFTER];
    for (int i = 0; i < BEFORE; i++) {
        cb_init(&before[i], g);
        assert_int_equal(fronta_future_add_done_callback(g, record_cb, &before[i]), 0);
    }
    for (int i = 0; i < BEFORE; i++)
        assert_int_equal(atomic_load(&before[i].calls), 0);

    ft_gate_open(&gate);
    ft_wait(g);
    /* future_wait may return before the callbacks ran; wait_all may not
     * (docs/design.md §2). */
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    for (int i = 0; i < BEFORE; i++)
        assert_int_equal(atomic_load(&before[i].calls), 1);
    for (int i = 0; i < AFTER; i++) {
        cb_init(&after[i], g);
        assert_int_equal(fronta_future_add_done_callback(g, record_cb, &after[i]), 0);
        /* Already done: ran at once, in this thread, before add returned. */
        assert_int_equal(atomic_load(&after[i].calls), 1);
        assert_int_equal(atomic_load(&after[i].in_main), 1);
    }
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
    for (int i = 0; i < BEFORE; i++) {
        assert_int_equal(atomic_load(&before[i].calls), 1);
        assert_int_equal(atomic_load(&before[i].wrong_future), 0);
        assert_int_equal(atomic_load(&before[i].done_inside), 1);
        /* g completed in a worker, so its callbacks ran there. */
        assert_int_equal(atomic_load(&before[i].in_main), 0);
    }
    for (int i = 0; i < AFTER; i++) {
        assert_int_equal(atomic_load(&after[i].calls), 1);
        assert_int_equal(atomic_load(&after[i].wrong_future), 0);
        assert_int_equal(atomic_load(&after[i].done_inside), 1);
    }
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

static void callback_on_cancel_and_failure(void **state)
{
    (void)state;
    main_thread = pthread_self();
    fronta_runtime_t *rt = ft_runtime(1);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);

    atomic_int ran;
    atomic_init(&ran, 0);
    atomic_int *rp = &ran;
    fronta_future_t *p = NULL;
    assert_int_equal(fronta_submit_fn(rt, ft_count_task, &rp, sizeof rp, &p), 0);
    cb_rec_t rc_p;
    cb_init(&rc_p, p);
    assert_int_equal(fronta_future_add_done_callback(p, record_cb, &rc_p), 0);
    assert_int_equal(fronta_future_cancel(p), 0);

    int code = FRONTA_ETASK;
    fronta_future_t *q = NULL;
    assert_int_equal(fronta_submit_fn(rt, raw_fail_task, &code, sizeof code, &q), 0);
    cb_rec_t rc_q;
    cb_init(&rc_q, q);
    assert_int_equal(fronta_future_add_done_callback(q, record_cb, &rc_q), 0);

    ft_gate_open(&gate);
    assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
    assert_int_equal(atomic_load(&rc_p.calls), 1);
    assert_int_equal(atomic_load(&rc_q.calls), 1);
    assert_int_equal(atomic_load(&rc_p.wrong_future), 0);
    assert_int_equal(atomic_load(&rc_q.wrong_future), 0);
    assert_int_equal(fronta_future_status(q), FRONTA_FAILED);
    fronta_future_release(g);
    fronta_future_release(p);
    fronta_future_release(q);
    fronta_runtime_destroy(rt);
}

/* The callback holds its own reference and releases it: the future must
 * outlive the user's release until the callback ran. */
static void release_in_cb(fronta_future_t *f, void *ud)
{
    atomic_int *c = ud;
    atomic_fetch_add(c, 1);
    fronta_future_release(f);
}

static void retain_release(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    fronta_future_retain(g);
    fronta_future_retain(g);
    fronta_future_release(g);
    /* Two references left: the user's and one for the callback. */
    atomic_int calls;
    atomic_init(&calls, 0);
    assert_int_equal(fronta_future_add_done_callback(g, release_in_cb, &calls), 0);
    fronta_future_t *keep = g;
    fronta_future_retain(keep);
    fronta_future_release(g);
    ft_gate_open(&gate);
    ft_wait(keep);
    assert_int_equal(fronta_future_status(keep), FRONTA_FINISHED);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    FT_SPIN_UNTIL(atomic_load(&calls) > 0);
    assert_int_equal(atomic_load(&calls), 1);
    int one = 0;
    assert_int_equal(fronta_future_result(keep, 0, &one, sizeof one), 0);
    assert_int_equal(one, 1);
    fronta_future_release(keep);

    /* Releasing does not cancel: the task still runs. */
    atomic_int ran;
    atomic_init(&ran, 0);
    atomic_int *rp = &ran;
    for (int i = 0; i < 100; i++) {
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &rp, sizeof rp, &f), 0);
        fronta_future_release(f);
    }
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&ran), 100);
    fronta_runtime_destroy(rt);
}

static void detach(void **state)
{
    (void)state;
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2,
                           .log_level = FRONTA_LOG_OFF};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    atomic_int ran;
    atomic_init(&ran, 0);
    atomic_int *rp = &ran;
    for (int i = 0; i < 50; i++) {
        fronta_future_t *f = NULL, *h = NULL;
        int code = FRONTA_ETASK;
        assert_int_equal(fronta_submit_fn(rt, raw_fail_task, &code, sizeof code, &f), 0);
        fronta_future_detach(f);
        assert_int_equal(fronta_submit_fn(rt, ft_count_task, &rp, sizeof rp, &h), 0);
        fronta_future_detach(h);
    }
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&ran), 50);
    fronta_runtime_destroy(rt);

    /* With the default log level the error is logged, not crashed on. */
    rt = ft_runtime(1);
    fronta_future_t *f = NULL;
    atomic_uint_least64_t tid;
    atomic_int ret;
    atomic_init(&tid, 0);
    atomic_init(&ret, 0);
    fail_spec_t s = {.code = FRONTA_ETASK, .task_id = &tid, .ret_seen = &ret};
    assert_int_equal(fronta_submit_fn(rt, fail_task, &s, sizeof s, &f), 0);
    fronta_future_detach(f);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&ret), FRONTA_ETASK);
    fronta_runtime_destroy(rt);
}

/* ---- bad input -------------------------------------------------------- */

static void never_cb(fronta_future_t *f, void *ud)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ud, 1);
}

static void null_handles(void **state)
{
    (void)state;
    int64_t v = 3;
    const void *p = NULL;
    size_t sz = 0;
    fronta_error_t err;
    atomic_int cb_calls;
    atomic_init(&cb_calls, 0);

    assert_int_equal(fronta_future_wait(NULL, 0), FRONTA_EINVAL);
    assert_int_equal(fronta_future_done(NULL), 0);
    (void)fronta_future_status(NULL);
    assert_int_equal(fronta_future_result(NULL, 0, &v, sizeof v), FRONTA_EINVAL);
    assert_int_equal(fronta_future_result_ptr(NULL, &p, &sz), FRONTA_EINVAL);
    assert_int_equal(fronta_future_error(NULL, &err), FRONTA_EINVAL);
    assert_int_equal(fronta_future_task_id(NULL), 0);
    assert_int_equal(fronta_future_cancel(NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_future_add_done_callback(NULL, never_cb, &cb_calls),
                     FRONTA_EINVAL);
    fronta_future_retain(NULL);
    fronta_future_release(NULL);
    fronta_future_detach(NULL);

    fronta_runtime_t *rt = ft_runtime(1);
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(NULL, square_task, &v, sizeof v, &f), FRONTA_EINVAL);
    assert_null(f);
    assert_int_equal(fronta_submit_fn(rt, NULL, &v, sizeof v, &f), FRONTA_EINVAL);
    assert_null(f);
    assert_int_equal(fronta_submit_fn(rt, square_task, NULL, 8, &f), FRONTA_EINVAL);
    assert_null(f);
    assert_int_equal(fronta_submit_call(rt, NULL, &f), FRONTA_EINVAL);
    assert_null(f);
    fronta_call_t call = {.size = sizeof call};
    assert_int_equal(fronta_submit_call(rt, &call, &f), FRONTA_EINVAL);
    assert_null(f);
    /* A NULL entry in `after`, or a NULL array with nafter > 0. */
    fronta_future_t *nul[1] = {NULL};
    call.fn = square_task;
    call.arg = &v;
    call.arg_size = sizeof v;
    call.after = nul;
    call.nafter = 1;
    assert_int_equal(fronta_submit_call(rt, &call, &f), FRONTA_EINVAL);
    assert_null(f);
    call.after = NULL;
    assert_int_equal(fronta_submit_call(rt, &call, &f), FRONTA_EINVAL);
    assert_null(f);
    fronta_stats_t st;
    assert_int_equal(fronta_runtime_stats(rt, &st), 0);
    assert_int_equal(st.tasks_submitted, 0);

    /* Valid future, bad arguments. */
    assert_int_equal(fronta_submit_fn(rt, square_task, &v, sizeof v, &f), 0);
    ft_wait(f);
    assert_int_equal(fronta_future_add_done_callback(f, NULL, NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_future_result(f, 0, NULL, sizeof v), FRONTA_EINVAL);
    assert_int_equal(fronta_future_result_ptr(f, NULL, &sz), FRONTA_EINVAL);
    /* error() with NULL err only returns the code. */
    assert_int_equal(fronta_future_error(f, NULL), 0);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
    assert_int_equal(atomic_load(&cb_calls), 0);
}

/* ---- retries ---------------------------------------------------------- */

typedef struct retry_spec {
    unsigned succeed_at;      /* first attempt that succeeds */
    atomic_uint *attempt_mask;/* bit a set when attempt a ran */
    atomic_int *runs;
} retry_spec_t;

static int flaky_task(fronta_ctx_t *ctx, void *arg)
{
    retry_spec_t s;
    memcpy(&s, arg, sizeof s);
    unsigned a = fronta_ctx_attempt(ctx);
    atomic_fetch_add(s.runs, 1);
    if (a < 32)
        atomic_fetch_or(s.attempt_mask, 1u << a);
    if (a < s.succeed_at)
        return fronta_ctx_fail(ctx, FRONTA_ETASK, "attempt %u fails", a);
    return fronta_ctx_return(ctx, &a, sizeof a);
}

static void retries(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    for (unsigned k = 0; k <= 4; k++) {
        for (int enough = 0; enough <= 1; enough++) {
            if (k == 0 && !enough)
                continue;
            atomic_uint mask;
            atomic_int runs;
            atomic_init(&mask, 0);
            atomic_init(&runs, 0);
            retry_spec_t s = {.succeed_at = k, .attempt_mask = &mask, .runs = &runs};
            fronta_call_t call = {.size = sizeof call, .fn = flaky_task, .arg = &s,
                                  .arg_size = sizeof s,
                                  .retries = enough ? k : k - 1};
            fronta_future_t *f = NULL;
            assert_int_equal(fronta_submit_call(rt, &call, &f), 0);
            ft_wait(f);
            if (enough) {
                unsigned a = 99;
                assert_int_equal(fronta_future_status(f), FRONTA_FINISHED);
                assert_int_equal(fronta_future_result(f, 0, &a, sizeof a), 0);
                assert_int_equal(a, k);
                assert_int_equal(atomic_load(&runs), (int)k + 1);
                assert_int_equal(atomic_load(&mask), (1u << (k + 1)) - 1);
            } else {
                assert_int_equal(fronta_future_status(f), FRONTA_FAILED);
                fronta_error_t err;
                assert_int_equal(fronta_future_error(f, &err), FRONTA_ETASK);
                assert_non_null(err.message);
                /* The error kept is the last attempt's. */
                char want[32];
                snprintf(want, sizeof want, "attempt %u fails", k - 1);
                assert_non_null(strstr(err.message, want));
                assert_int_equal(atomic_load(&runs), (int)k);
                assert_int_equal(atomic_load(&mask), (1u << k) - 1);
            }
            fronta_future_release(f);
        }
    }
    /* At most 65535 retries (docs/design.md §6). */
    fronta_call_t call = {.size = sizeof call, .fn = noreturn_task, .retries = 65536};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_call(rt, &call, &f), FRONTA_ERANGE);
    assert_null(f);
    call.retries = 65535;
    assert_int_equal(fronta_submit_call(rt, &call, &f), 0);
    ft_wait(f);
    assert_int_equal(fronta_future_status(f), FRONTA_FINISHED);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

/* ---- priorities ------------------------------------------------------- */

typedef struct prio_log {
    atomic_int pos;
    int order[16];
} prio_log_t;

typedef struct prio_arg {
    prio_log_t *log;
    int priority;
} prio_arg_t;

static int prio_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    prio_arg_t a;
    memcpy(&a, arg, sizeof a);
    int i = atomic_fetch_add(&a.log->pos, 1);
    if (i < 16)
        a.log->order[i] = a.priority;
    return 0;
}

static void priorities(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);

    prio_log_t log;
    atomic_init(&log.pos, 0);
    /* Equal priorities keep submission order (FIFO among equals, as
     * docs/design.md §7 says): told apart by the tens digit here. */
    const int prios[] = {0, 5, -1, 10, 5, -1, 10};
    const int want[] = {10, 10, 5, 5, 0, -1, -1};
    enum { NP = sizeof prios / sizeof prios[0] };
    for (int i = 0; i < NP; i++) {
        prio_arg_t a = {.log = &log, .priority = prios[i] * 100 + i};
        fronta_call_t call = {.size = sizeof call, .fn = prio_task, .arg = &a,
                              .arg_size = sizeof a, .priority = prios[i]};
        assert_int_equal(fronta_submit_call(rt, &call, NULL), 0);
    }
    ft_gate_open(&gate);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&log.pos), NP);
    int prev_index = -1;
    for (int i = 0; i < NP; i++) {
        /* order[] holds priority * 100 + submission index. */
        int prio = (log.order[i] - ((log.order[i] % 100) + 100) % 100) / 100;
        int index = ((log.order[i] % 100) + 100) % 100;
        if (prio != want[i])
            print_error("position %d ran priority %d, want %d\n", i, prio, want[i]);
        assert_int_equal(prio, want[i]);
        if (i > 0 && want[i - 1] == want[i])
            assert_true(index > prev_index);
        prev_index = index;
    }
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

/* ---- descriptor sizes ------------------------------------------------- */

static int partial_call_task(fronta_ctx_t *ctx, void *arg)
{
    int v = *(int *)arg * 2;
    return fronta_ctx_return(ctx, &v, sizeof v);
}

/* A caller whose fronta_call_t ends before `name`: only `size` bytes exist
 * (on the heap, so ASan sees a read past them). */
static void call_size_partial(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    size_t n = offsetof(fronta_call_t, name);
    int x = 21;
    fronta_call_t full = {.size = n, .fn = partial_call_task, .arg = &x, .arg_size = sizeof x};
    void *buf = malloc(n); /* no member access through it: it is short */
    assert_non_null(buf);
    memcpy(buf, &full, n);
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_call(rt, (const fronta_call_t *)buf, &f), 0);
    free(buf);
    int y = 0;
    assert_int_equal(fronta_future_result(f, FT_LIMIT, &y, sizeof y), 0);
    assert_int_equal(y, 42);
    fronta_future_release(f);
    /* Too small to hold fn: refused. */
    fronta_call_t tiny = {.size = offsetof(fronta_call_t, fn), .fn = partial_call_task};
    assert_int_equal(fronta_submit_call(rt, &tiny, &f), FRONTA_EINVAL);
    assert_null(f);
    fronta_runtime_destroy(rt);
}

/* ---- cancel versus retries ------------------------------------------- */

static atomic_int cr_attempts;

static int cancellable_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    atomic_fetch_add(&cr_attempts, 1);
    double dl = ft_now() + FT_LIMIT;
    while (!fronta_ctx_cancel_requested(ctx) && ft_now() < dl)
        sched_yield();
    return FRONTA_ECANCELLED;
}

/* A cancel request on a running task with retries left ends it: the
 * request stays, so a retry would only see it again (it once did, 4 runs). */
static void cancel_stops_retries(void **state)
{
    (void)state;
    atomic_store(&cr_attempts, 0);
    fronta_runtime_t *rt = ft_runtime(1);
    fronta_call_t c = {.fn = cancellable_task, .retries = 3};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_call(rt, &c, &f), 0);
    FT_SPIN_UNTIL(fronta_future_status(f) == FRONTA_RUNNING);
    assert_int_equal(fronta_future_cancel(f), FRONTA_EBUSY);
    assert_int_equal(fronta_future_wait(f, FT_LIMIT), 0);
    assert_int_equal(fronta_future_status(f), FRONTA_CANCELLED);
    assert_int_equal(atomic_load(&cr_attempts), 1);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

int main(void)
{
    ft_filter();
    main_thread = pthread_self();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(submit_and_result),
        cmocka_unit_test(empty_and_replaced_results),
        cmocka_unit_test(large_args_and_results),
        cmocka_unit_test(status_transitions),
        cmocka_unit_test(wait_timeouts_on_blocked_task),
        cmocka_unit_test(error_with_message),
        cmocka_unit_test(task_ids),
        cmocka_unit_test(cancel_pending),
        cmocka_unit_test(cancel_running),
        cmocka_unit_test(cancel_finished),
        cmocka_unit_test(callback_before_and_after_completion),
        cmocka_unit_test(callback_on_cancel_and_failure),
        cmocka_unit_test(retain_release),
        cmocka_unit_test(detach),
        cmocka_unit_test(null_handles),
        cmocka_unit_test(retries),
        cmocka_unit_test(cancel_stops_retries),
        cmocka_unit_test(call_size_partial),
        cmocka_unit_test(priorities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
