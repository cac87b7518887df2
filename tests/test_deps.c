/* Tests of dependencies: futures as arguments, failure and cancel propagation, DAGs, nested tasks. */
#include "test_util.h"

/* ---- task bodies ------------------------------------------------------ */

static int const_task(fronta_ctx_t *ctx, void *arg)
{
    uint64_t v;
    memcpy(&v, arg, sizeof v);
    return fronta_ctx_return(ctx, &v, sizeof v);
}

/* Result = own constant + sum of the inputs' uint64 results (wrapping, so
 * that deep DAGs stay well defined). Any problem reading the inputs is
 * counted in `bad`. */
typedef struct sum_arg {
    uint64_t constant;
    atomic_int *bad;
    atomic_int *runs;
} sum_arg_t;

static int sum_task(fronta_ctx_t *ctx, void *arg)
{
    sum_arg_t a;
    memcpy(&a, arg, sizeof a);
    if (a.runs)
        atomic_fetch_add(a.runs, 1);
    uint64_t s = a.constant;
    size_t n = fronta_ctx_ninputs(ctx);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        if (fronta_ctx_input_copy(ctx, i, &v, sizeof v) != 0) {
            atomic_fetch_add(a.bad, 1);
            return FRONTA_ESIZE;
        }
        s += v;
    }
    return fronta_ctx_return(ctx, &s, sizeof s);
}

static int fail_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    return fronta_ctx_fail(ctx, FRONTA_ETASK, "root cause");
}

/* Fails once the gate opens: dependents are queued before it fails. */
static int gated_fail_task(fronta_ctx_t *ctx, void *arg)
{
    ft_gate_t *g;
    memcpy(&g, arg, sizeof g);
    atomic_fetch_add(&g->started, 1);
    double deadline = ft_now() + FT_LIMIT;
    while (!atomic_load(&g->open) && ft_now() < deadline)
        sched_yield();
    return fronta_ctx_fail(ctx, FRONTA_ETASK, "gated root cause");
}

static fronta_future_t *submit_after(fronta_runtime_t *rt, fronta_fn_t fn,
                                     const void *arg, size_t arg_size,
                                     fronta_future_t *const *after, size_t nafter)
{
    fronta_call_t call = {.size = sizeof call, .fn = fn, .arg = arg,
                          .arg_size = arg_size, .after = after, .nafter = nafter};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_call(rt, &call, &f), 0);
    assert_non_null(f);
    return f;
}

static uint64_t result_u64(fronta_future_t *f)
{
    uint64_t v = 0;
    int rc = fronta_future_result(f, FT_LIMIT, &v, sizeof v);
    if (rc != 0)
        print_error("result: %s\n", fronta_err_name(rc));
    assert_int_equal(rc, 0);
    return v;
}

/* ---- inputs ----------------------------------------------------------- */

typedef struct input_rec {
    atomic_int ran;
    size_t ninputs;
    uint64_t v0, v1;
    size_t size0, size2;
    int copy_wrong_size;     /* rc of input_copy with a wrong size */
    int copy_out_of_range;   /* rc of input_copy(ninputs) */
    int input_out_of_range_null;
    unsigned char big[4096];
    size_t big_size;
} input_rec_t;

static int big_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    unsigned char b[4096];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (unsigned char)(i * 13 + 1);
    return fronta_ctx_return(ctx, b, sizeof b);
}

static int empty_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

static int inputs_task(fronta_ctx_t *ctx, void *arg)
{
    input_rec_t *r;
    memcpy(&r, arg, sizeof r);
    r->ninputs = fronta_ctx_ninputs(ctx);
    size_t sz = 0;
    const void *p = fronta_ctx_input(ctx, 0, &sz);
    r->size0 = sz;
    if (p && sz == sizeof r->v0)
        memcpy(&r->v0, p, sizeof r->v0);
    if (fronta_ctx_input_copy(ctx, 1, &r->v1, sizeof r->v1) != 0)
        r->v1 = 0;
    uint32_t small;
    r->copy_wrong_size = fronta_ctx_input_copy(ctx, 1, &small, sizeof small);
    sz = 999;
    p = fronta_ctx_input(ctx, 2, &sz);   /* an empty result */
    r->size2 = sz;
    p = fronta_ctx_input(ctx, 3, &sz);
    r->big_size = sz;
    if (p && sz == sizeof r->big)
        memcpy(r->big, p, sizeof r->big);
    r->input_out_of_range_null = fronta_ctx_input(ctx, r->ninputs, &sz) == NULL;
    uint64_t dummy;
    r->copy_out_of_range = fronta_ctx_input_copy(ctx, r->ninputs, &dummy, sizeof dummy);
    atomic_store(&r->ran, 1);
    return 0;
}

static void inputs_are_readable(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    uint64_t ten = 10, twenty = 20;
    fronta_future_t *in[4];
    assert_int_equal(fronta_submit_fn(rt, const_task, &ten, sizeof ten, &in[0]), 0);
    assert_int_equal(fronta_submit_fn(rt, const_task, &twenty, sizeof twenty, &in[1]), 0);
    assert_int_equal(fronta_submit_fn(rt, empty_task, NULL, 0, &in[2]), 0);
    assert_int_equal(fronta_submit_fn(rt, big_task, NULL, 0, &in[3]), 0);
    input_rec_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    atomic_init(&r->ran, 0);
    fronta_future_t *c = submit_after(rt, inputs_task, &r, sizeof r, in, 4);
    ft_wait(c);
    assert_int_equal(fronta_future_status(c), FRONTA_FINISHED);
    assert_int_equal(atomic_load(&r->ran), 1);
    assert_int_equal(r->ninputs, 4);
    assert_int_equal(r->size0, sizeof(uint64_t));
    assert_int_equal(r->v0, 10);
    assert_int_equal(r->v1, 20);
    assert_int_equal(r->copy_wrong_size, FRONTA_ESIZE);
    assert_int_equal(r->size2, 0);
    assert_int_equal(r->big_size, 4096);
    for (size_t i = 0; i < sizeof r->big; i++)
        assert_int_equal(r->big[i], (unsigned char)(i * 13 + 1));
    assert_true(r->input_out_of_range_null);
    assert_true(r->copy_out_of_range < 0);
    for (int i = 0; i < 4; i++)
        fronta_future_release(in[i]);
    fronta_future_release(c);
    free(r);
    fronta_runtime_destroy(rt);
}

static void no_inputs_and_duplicates(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    atomic_int bad;
    atomic_init(&bad, 0);
    /* No `after`: ninputs is 0. */
    sum_arg_t a = {.constant = 5, .bad = &bad};
    fronta_future_t *f = submit_after(rt, sum_task, &a, sizeof a, NULL, 0);
    assert_int_equal(result_u64(f), 5);
    /* The same future twice is two inputs. */
    fronta_future_t *twice[2] = {f, f};
    a.constant = 1;
    fronta_future_t *g = submit_after(rt, sum_task, &a, sizeof a, twice, 2);
    assert_int_equal(result_u64(g), 11);
    assert_int_equal(atomic_load(&bad), 0);
    fronta_future_release(f);
    fronta_future_release(g);
    fronta_runtime_destroy(rt);
}

/* The user drops each future right after passing it on: the runtime must
 * keep a predecessor's result alive until its dependents have read it. */
static void released_predecessors_stay_alive(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    atomic_int bad;
    atomic_init(&bad, 0);
    sum_arg_t a = {.constant = 1, .bad = &bad};
    fronta_future_t *prev = submit_after(rt, sum_task, &a, sizeof a, NULL, 0);
    enum { LEN = 1009 };
    for (int i = 1; i < LEN; i++) {
        fronta_future_t *next = submit_after(rt, sum_task, &a, sizeof a, &prev, 1);
        fronta_future_release(prev);
        prev = next;
    }
    assert_int_equal(result_u64(prev), LEN);
    assert_int_equal(atomic_load(&bad), 0);
    fronta_future_release(prev);
    fronta_runtime_destroy(rt);
}

/* ---- failure and cancel propagation ----------------------------------- */

static void check_depfailed(fronta_future_t *f, uint64_t root_id)
{
    ft_wait(f);
    assert_int_equal(fronta_future_status(f), FRONTA_FAILED);
    fronta_error_t err;
    memset(&err, 0, sizeof err);
    assert_int_equal(fronta_future_error(f, &err), FRONTA_EDEPFAILED);
    assert_int_equal(err.code, FRONTA_EDEPFAILED);
    assert_int_equal(err.task_id, root_id);
    uint64_t v = 7;
    assert_int_equal(fronta_future_result(f, 0, &v, sizeof v), FRONTA_EDEPFAILED);
    assert_int_equal(v, 7);
}

static void failure_propagates_through_chain(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    ft_gate_t *gp = &gate;
    fronta_future_t *root = NULL;
    assert_int_equal(fronta_submit_fn(rt, gated_fail_task, &gp, sizeof gp, &root), 0);

    atomic_int bad, runs;
    atomic_init(&bad, 0);
    atomic_init(&runs, 0);
    sum_arg_t a = {.constant = 1, .bad = &bad, .runs = &runs};
    uint64_t one = 1;
    fronta_future_t *ok = NULL;
    assert_int_equal(fronta_submit_fn(rt, const_task, &one, sizeof one, &ok), 0);
    fronta_future_t *b = submit_after(rt, sum_task, &a, sizeof a, &root, 1);
    fronta_future_t *c = submit_after(rt, sum_task, &a, sizeof a, &b, 1);
    fronta_future_t *mix[2] = {ok, c};
    fronta_future_t *d = submit_after(rt, sum_task, &a, sizeof a, mix, 2);
    ft_gate_open(&gate);

    ft_wait(root);
    assert_int_equal(fronta_future_status(root), FRONTA_FAILED);
    fronta_error_t err;
    assert_int_equal(fronta_future_error(root, &err), FRONTA_ETASK);
    uint64_t root_id = fronta_future_task_id(root);
    assert_int_equal(err.task_id, root_id);
    check_depfailed(b, root_id);
    check_depfailed(c, root_id);
    check_depfailed(d, root_id);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    /* Nothing downstream ran on bad data. */
    assert_int_equal(atomic_load(&runs), 0);
    assert_int_equal(fronta_future_status(ok), FRONTA_FINISHED);
    fronta_future_release(root);
    fronta_future_release(ok);
    fronta_future_release(b);
    fronta_future_release(c);
    fronta_future_release(d);
    fronta_runtime_destroy(rt);
}

static void submit_after_failed_future(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_future_t *root = NULL;
    assert_int_equal(fronta_submit_fn(rt, fail_task, NULL, 0, &root), 0);
    ft_wait(root);
    assert_int_equal(fronta_future_status(root), FRONTA_FAILED);
    uint64_t root_id = fronta_future_task_id(root);

    atomic_int bad, runs;
    atomic_init(&bad, 0);
    atomic_init(&runs, 0);
    sum_arg_t a = {.constant = 1, .bad = &bad, .runs = &runs};
    /* The call succeeds; the new future is failed. */
    fronta_future_t *b = submit_after(rt, sum_task, &a, sizeof a, &root, 1);
    fronta_future_t *c = submit_after(rt, sum_task, &a, sizeof a, &b, 1);
    fronta_future_t *d = submit_after(rt, sum_task, &a, sizeof a, &c, 1);
    check_depfailed(b, root_id);
    check_depfailed(c, root_id);
    check_depfailed(d, root_id);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&runs), 0);
    fronta_future_release(root);
    fronta_future_release(b);
    fronta_future_release(c);
    fronta_future_release(d);
    fronta_runtime_destroy(rt);
}

static void check_cancelled(fronta_future_t *f)
{
    ft_wait(f);
    assert_int_equal(fronta_future_status(f), FRONTA_CANCELLED);
    assert_int_equal(fronta_future_result(f, 0, NULL, 0), FRONTA_ECANCELLED);
    assert_int_equal(fronta_future_error(f, NULL), FRONTA_ECANCELLED);
}

static void cancel_propagates(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);

    atomic_int bad, runs;
    atomic_init(&bad, 0);
    atomic_init(&runs, 0);
    sum_arg_t a = {.constant = 1, .bad = &bad, .runs = &runs};
    fronta_future_t *root = submit_after(rt, sum_task, &a, sizeof a, NULL, 0);
    fronta_future_t *b = submit_after(rt, sum_task, &a, sizeof a, &root, 1);
    fronta_future_t *c = submit_after(rt, sum_task, &a, sizeof a, &b, 1);
    fronta_future_t *x = submit_after(rt, sum_task, &a, sizeof a, NULL, 0);
    fronta_future_t *bx[2] = {x, b};
    fronta_future_t *d = submit_after(rt, sum_task, &a, sizeof a, bx, 2);

    assert_int_equal(fronta_future_cancel(root), 0);
    check_cancelled(root);
    check_cancelled(b);
    check_cancelled(c);
    check_cancelled(d);
    /* A submission after a cancelled future is cancelled. */
    fronta_future_t *e = submit_after(rt, sum_task, &a, sizeof a, &c, 1);
    check_cancelled(e);

    ft_gate_open(&gate);
    /* x does not depend on root and still runs. */
    assert_int_equal(result_u64(x), 1);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(atomic_load(&runs), 1);
    fronta_future_t *all[] = {g, root, b, c, x, d, e};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fronta_future_release(all[i]);
    fronta_runtime_destroy(rt);
}

/* ---- shapes ----------------------------------------------------------- */

static void diamonds(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    atomic_int bad;
    atomic_init(&bad, 0);
    sum_arg_t a = {.constant = 1, .bad = &bad};
    fronta_future_t *top = submit_after(rt, sum_task, &a, sizeof a, NULL, 0);
    a.constant = 2;
    fronta_future_t *l = submit_after(rt, sum_task, &a, sizeof a, &top, 1);
    a.constant = 3;
    fronta_future_t *r = submit_after(rt, sum_task, &a, sizeof a, &top, 1);
    fronta_future_t *lr[2] = {l, r};
    a.constant = 4;
    fronta_future_t *bottom = submit_after(rt, sum_task, &a, sizeof a, lr, 2);
    assert_int_equal(result_u64(bottom), (1 + 2) + (1 + 3) + 4);
    fronta_future_release(top);
    fronta_future_release(l);
    fronta_future_release(r);
    fronta_future_release(bottom);

    /* A lattice of stacked diamonds: width 7 (prime), depth 13. */
    enum { W = 7, D = 13 };
    fronta_future_t *f[D][W];
    uint64_t v[D][W];
    for (int d = 0; d < D; d++) {
        for (int i = 0; i < W; i++) {
            a.constant = (uint64_t)(d * W + i + 1);
            if (d == 0) {
                f[d][i] = submit_after(rt, sum_task, &a, sizeof a, NULL, 0);
                v[d][i] = a.constant;
            } else {
                fronta_future_t *p[2] = {f[d - 1][i], f[d - 1][(i + 1) % W]};
                f[d][i] = submit_after(rt, sum_task, &a, sizeof a, p, 2);
                v[d][i] = a.constant + v[d - 1][i] + v[d - 1][(i + 1) % W];
            }
        }
    }
    for (int d = 0; d < D; d++)
        for (int i = 0; i < W; i++)
            assert_int_equal(result_u64(f[d][i]), v[d][i]);
    for (int d = 0; d < D; d++)
        for (int i = 0; i < W; i++)
            fronta_future_release(f[d][i]);
    assert_int_equal(atomic_load(&bad), 0);
    fronta_runtime_destroy(rt);
}

static void random_dag(void **state)
{
    (void)state;
    enum { N = 10000, MAXDEP = 5 };
    uint64_t seed = ft_seed("random_dag");
    uint64_t rs = seed;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_future_t **f = calloc(N, sizeof *f);
    uint64_t *want = calloc(N, sizeof *want);
    assert_non_null(f);
    assert_non_null(want);
    atomic_int bad;
    atomic_init(&bad, 0);
    for (size_t i = 0; i < N; i++) {
        sum_arg_t a = {.constant = ft_rand(&rs), .bad = &bad};
        fronta_future_t *deps[MAXDEP];
        size_t idx[MAXDEP];
        size_t nd = i == 0 ? 0 : (size_t)(ft_rand(&rs) % (MAXDEP + 1));
        size_t k = 0;
        for (size_t t = 0; t < nd; t++) {
            /* Mostly near predecessors (deep chains), some far ones. */
            size_t span = (ft_rand(&rs) & 3) ? (i < 64 ? i : 64) : i;
            size_t j = i - 1 - (size_t)(ft_rand(&rs) % span);
            int dup = 0;
            for (size_t q = 0; q < k; q++)
                dup |= idx[q] == j;
            if (!dup)
                idx[k++] = j;
        }
        uint64_t w = a.constant;
        for (size_t q = 0; q < k; q++) {
            deps[q] = f[idx[q]];
            w += want[idx[q]];
        }
        want[i] = w;
        f[i] = submit_after(rt, sum_task, &a, sizeof a, deps, k);
    }
    size_t wrong = 0;
    double limit = FT_LIMIT;   /* after one time-out, only poll: fail fast */
    for (size_t i = 0; i < N; i++) {
        uint64_t v = 0;
        int rc = fronta_future_result(f[i], limit, &v, sizeof v);
        if (rc == FRONTA_ETIMEDOUT)
            limit = 0;
        if (rc != 0 || v != want[i]) {
            if (wrong++ < 5)
                print_error("task %zu: rc %s, got %llu want %llu\n", i,
                            fronta_err_name(rc), (unsigned long long)v,
                            (unsigned long long)want[i]);
        }
    }
    assert_int_equal(wrong, 0);
    assert_int_equal(atomic_load(&bad), 0);
    for (size_t i = 0; i < N; i++)
        fronta_future_release(f[i]);
    free(f);
    free(want);
    fronta_runtime_destroy(rt);
}

/* ---- nested tasks ----------------------------------------------------- */

typedef struct fib_arg {
    int n;
    atomic_int *errors;
} fib_arg_t;

/* fib(n) as a tree of tasks: each task submits its two children and waits
 * for them inside the pool; the waiting worker must run other tasks. */
static int fib_task(fronta_ctx_t *ctx, void *arg)
{
    fib_arg_t a;
    memcpy(&a, arg, sizeof a);
    int64_t r = a.n;
    if (a.n >= 2) {
        fronta_runtime_t *rt = fronta_ctx_runtime(ctx);
        fib_arg_t c1 = {a.n - 1, a.errors}, c2 = {a.n - 2, a.errors};
        fronta_future_t *f1 = NULL, *f2 = NULL;
        if (fronta_submit_fn(rt, fib_task, &c1, sizeof c1, &f1) != 0 ||
            fronta_submit_fn(rt, fib_task, &c2, sizeof c2, &f2) != 0) {
            atomic_fetch_add(a.errors, 1);
            fronta_future_release(f1);
            return FRONTA_ETASK;
        }
        int64_t x = 0, y = 0;
        int rc1 = fronta_future_wait(f1, FT_LIMIT);
        int rc2 = fronta_future_result(f2, FT_LIMIT, &y, sizeof y);
        if (rc1 != 0 || rc2 != 0 ||
            fronta_future_result(f1, 0, &x, sizeof x) != 0)
            atomic_fetch_add(a.errors, 1);
        fronta_future_release(f1);
        fronta_future_release(f2);
        r = x + y;
    }
    return fronta_ctx_return(ctx, &r, sizeof r);
}

static void nested_fib(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads++) {
        fronta_runtime_t *rt = ft_runtime(threads);
        atomic_int errors;
        atomic_init(&errors, 0);
        fib_arg_t a = {15, &errors};
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_fn(rt, fib_task, &a, sizeof a, &f), 0);
        int64_t r = 0;
        assert_int_equal(fronta_future_result(f, FT_LIMIT, &r, sizeof r), 0);
        assert_int_equal(r, 610);
        assert_int_equal(atomic_load(&errors), 0);
        fronta_future_release(f);
        fronta_runtime_destroy(rt);
    }
}

/* A task builds a small DAG with submit_call inside the pool and waits
 * for its sink. */
typedef struct inner_arg {
    atomic_int *errors;
} inner_arg_t;

static int builder_task(fronta_ctx_t *ctx, void *arg)
{
    inner_arg_t a;
    memcpy(&a, arg, sizeof a);
    fronta_runtime_t *rt = fronta_ctx_runtime(ctx);
    sum_arg_t s = {.constant = 2, .bad = a.errors};
    fronta_call_t call = {.size = sizeof call, .fn = sum_task, .arg = &s,
                          .arg_size = sizeof s};
    fronta_future_t *p = NULL, *q = NULL, *r = NULL;
    if (fronta_submit_call(rt, &call, &p) != 0)
        goto fail;
    call.after = &p;
    call.nafter = 1;
    if (fronta_submit_call(rt, &call, &q) != 0)
        goto fail;
    fronta_future_t *pq[2] = {p, q};
    call.after = pq;
    call.nafter = 2;
    if (fronta_submit_call(rt, &call, &r) != 0)
        goto fail;
    uint64_t v = 0;
    if (fronta_future_result(r, FT_LIMIT, &v, sizeof v) != 0)
        goto fail;
    fronta_future_release(p);
    fronta_future_release(q);
    fronta_future_release(r);
    return fronta_ctx_return(ctx, &v, sizeof v);
fail:
    atomic_fetch_add(a.errors, 1);
    fronta_future_release(p);
    fronta_future_release(q);
    fronta_future_release(r);
    return FRONTA_ETASK;
}

static void nested_dag_single_thread(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(1);
    atomic_int errors;
    atomic_init(&errors, 0);
    inner_arg_t a = {&errors};
    enum { N = 17 };
    fronta_future_t *f[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(fronta_submit_fn(rt, builder_task, &a, sizeof a, &f[i]), 0);
    for (int i = 0; i < N; i++) {
        /* p = 2, q = 2 + 2, r = 2 + p + q */
        assert_int_equal(result_u64(f[i]), 8);
        fronta_future_release(f[i]);
    }
    assert_int_equal(atomic_load(&errors), 0);
    fronta_runtime_destroy(rt);
}

/* fronta_wait inside a task helps too: with one thread, a task waiting
 * for all its children with fronta_wait must not deadlock. */
static int fan_out_task(fronta_ctx_t *ctx, void *arg)
{
    atomic_int *errors;
    memcpy(&errors, arg, sizeof errors);
    enum { KIDS = 13 };
    fronta_future_t *kids[KIDS];
    uint64_t sum = 0;
    for (int i = 0; i < KIDS; i++) {
        uint64_t v = (uint64_t)i;
        if (fronta_submit_fn(fronta_ctx_runtime(ctx), const_task, &v, sizeof v, &kids[i]) != 0) {
            atomic_fetch_add(errors, 1);
            for (int j = 0; j < i; j++)
                fronta_future_release(kids[j]);
            return FRONTA_ETASK;
        }
    }
    size_t nd = 0;
    if (fronta_wait(kids, KIDS, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd) != 0 || nd != KIDS)
        atomic_fetch_add(errors, 1);
    for (int i = 0; i < KIDS; i++) {
        uint64_t v = 0;
        if (fronta_future_result(kids[i], 0, &v, sizeof v) != 0)
            atomic_fetch_add(errors, 1);
        sum += v;
        fronta_future_release(kids[i]);
    }
    return fronta_ctx_return(ctx, &sum, sizeof sum);
}

static void nested_fronta_wait(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        fronta_runtime_t *rt = ft_runtime(threads);
        atomic_int errors;
        atomic_init(&errors, 0);
        atomic_int *ep = &errors;
        enum { N = 5 };
        fronta_future_t *f[N];
        for (int i = 0; i < N; i++)
            assert_int_equal(fronta_submit_fn(rt, fan_out_task, &ep, sizeof ep, &f[i]), 0);
        for (int i = 0; i < N; i++) {
            assert_int_equal(result_u64(f[i]), 78);   /* 0 + 1 + ... + 12 */
            fronta_future_release(f[i]);
        }
        assert_int_equal(atomic_load(&errors), 0);
        fronta_runtime_destroy(rt);
    }
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inputs_are_readable),
        cmocka_unit_test(no_inputs_and_duplicates),
        cmocka_unit_test(released_predecessors_stay_alive),
        cmocka_unit_test(failure_propagates_through_chain),
        cmocka_unit_test(submit_after_failed_future),
        cmocka_unit_test(cancel_propagates),
        cmocka_unit_test(diamonds),
        cmocka_unit_test(random_dag),
        cmocka_unit_test(nested_fib),
        cmocka_unit_test(nested_dag_single_thread),
        cmocka_unit_test(nested_fronta_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
