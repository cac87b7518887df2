/* Tests of the 0.2 parameter rules (dtype families, like, FRONTA_ARG_SCALAR, count rules), 2-D launch shapes, the check hook, the 0.1 descriptor layout, fronta_ctx_shape/arg_dtype and fronta_ctx_parallel, on the CPU pool. */
#include <pthread.h>

#include "test_kernels.h"

/* ---- a probe kernel: records what its CPU implementation saw ---------- */

typedef struct probe {
    size_t n, rows, cols;
    fronta_dtype_t dt[4];
    int shape_rc;
    int calls;
} probe_t;

static probe_t seen; /* written by one task at a time, read after its wait */

static int probe_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a;
    seen.n = n;
    seen.shape_rc = fronta_ctx_shape(ctx, &seen.rows, &seen.cols);
    for (size_t i = 0; i < 4; i++)
        seen.dt[i] = fronta_ctx_arg_dtype(ctx, i < na ? i : 99);
    seen.calls++;
    return 0;
}

static fronta_kernel_t *make(fronta_runtime_t *rt, const char *name, const fronta_param_t *p,
                             size_t np, fronta_kernel_check_fn check)
{
    fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .params = p, .nparams = np,
                              .cpu = probe_cpu, .check = check};
    fronta_kernel_t *k = NULL;
    int rc = fronta_kernel_create(rt, &d, &k);
    if (rc)
        fail_msg("fronta_kernel_create(%s): %s", name, fronta_err_name(rc));
    return k;
}

static fronta_task_desc_t task(fronta_kernel_t *k, size_t nargs, const fronta_arg_t *args)
{
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .nargs = nargs,
                            .needs.device = FRONTA_NEED_CPU_POOL};
    memcpy(t.args, args, nargs * sizeof *args);
    return t;
}

static int submit_rc(fronta_runtime_t *rt, const fronta_task_desc_t *t)
{
    fronta_future_t *f = NULL;
    int rc = fronta_submit(rt, t, &f);
    if (rc == 0) {
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
    } else {
        assert_null(f);
    }
    return rc;
}

static fronta_buffer_t *buf(fronta_runtime_t *rt, size_t n, fronta_dtype_t t)
{
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_create(rt, n, t, &b), 0);
    return b;
}

/* ---- type rules --------------------------------------------------------- */

static const fronta_param_t family_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_NUMERIC, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_OUT},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .count = FRONTA_COUNT_ANY},
};

static void type_rules(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *k = make(rt, "family", family_params, 4, NULL);
    static const fronta_arg_kind_t scalar_of[] = {0, FRONTA_ARG_I32, FRONTA_ARG_I32,
                                                  FRONTA_ARG_I64, FRONTA_ARG_F32,
                                                  FRONTA_ARG_F64};
    fronta_buffer_t *m = buf(rt, 3, FRONTA_UINT8);
    for (fronta_dtype_t dt = FRONTA_UINT8; dt <= FRONTA_DOUBLE; dt++) {
        fronta_buffer_t *x = buf(rt, 8, dt), *y = buf(rt, 8, dt);
        fronta_buffer_t *other = buf(rt, 8, dt == FRONTA_INT32 ? FRONTA_FLOAT : FRONTA_INT32);
        fronta_arg_t a[4] = {FRONTA_IN(x), FRONTA_OUT(y),
                             {.kind = scalar_of[dt], .v.i64 = 1}, FRONTA_IN(m)};
        fronta_task_desc_t t = task(k, 4, a);
        /* UINT8 is outside the NUMERIC family. */
        assert_int_equal(submit_rc(rt, &t), dt == FRONTA_UINT8 ? FRONTA_EARG : 0);
        if (dt != FRONTA_UINT8) {
            assert_int_equal(seen.dt[0], dt);
            assert_int_equal(seen.dt[1], dt);
            assert_int_equal(seen.dt[2], 0); /* a scalar */
            assert_int_equal(seen.dt[3], FRONTA_UINT8);
            /* like: the second buffer must have the first one's type. */
            t.args[1] = FRONTA_OUT(other);
            assert_int_equal(submit_rc(rt, &t), FRONTA_EARG);
            t.args[1] = FRONTA_OUT(y);
            /* FRONTA_ARG_SCALAR: exactly the kind of the type, no other. */
            for (fronta_arg_kind_t kind = FRONTA_ARG_I32; kind <= FRONTA_ARG_F64; kind++) {
                t.args[2] = (fronta_arg_t){.kind = kind};
                assert_int_equal(submit_rc(rt, &t), kind == scalar_of[dt] ? 0 : FRONTA_EARG);
            }
            /* A buffer where the scalar goes is a kind mismatch. */
            t.args[2] = FRONTA_IN(x);
            assert_int_equal(submit_rc(rt, &t), FRONTA_EARG);
        }
        assert_int_equal(fronta_buffer_destroy(x), 0);
        assert_int_equal(fronta_buffer_destroy(y), 0);
        assert_int_equal(fronta_buffer_destroy(other), 0);
    }
    assert_int_equal(fronta_buffer_destroy(m), 0);
    fronta_runtime_destroy(rt);
}

/* ---- counts and shapes -------------------------------------------------- */

static const fronta_param_t count_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .count = FRONTA_COUNT_ROWS},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .count = FRONTA_COUNT_COLS},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .count = FRONTA_COUNT_EXACT, .n = 3},
};

static void count_rules_and_shapes(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *k = make(rt, "counts", count_params, 4, NULL);
    fronta_buffer_t *m = buf(rt, 35, FRONTA_INT32), *r = buf(rt, 5, FRONTA_INT32),
                    *c = buf(rt, 7, FRONTA_INT32), *e = buf(rt, 3, FRONTA_INT64),
                    *e4 = buf(rt, 4, FRONTA_INT64), *one = buf(rt, 1, FRONTA_INT32);
    fronta_arg_t a[4] = {FRONTA_INOUT(m), FRONTA_IN(r), FRONTA_IN(c), FRONTA_IN(e)};
    fronta_task_desc_t t = task(k, 4, a);
    t.rows = 5;
    t.cols = 7;
    seen.calls = 0;
    assert_int_equal(submit_rc(rt, &t), 0);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.n, 35);
    assert_int_equal(seen.shape_rc, 0);
    assert_int_equal(seen.rows, 5);
    assert_int_equal(seen.cols, 7);
    /* A work-group that divides both, then one that does not. */
    t.local_rows = 5;
    t.local_cols = 7;
    assert_int_equal(submit_rc(rt, &t), 0);
    t.local_cols = 2;
    assert_int_equal(submit_rc(rt, &t), FRONTA_ESIZE);
    t.local_rows = 0;
    assert_int_equal(submit_rc(rt, &t), FRONTA_EINVAL); /* half a work-group */
    t.local_cols = 0;
    /* Rows and columns swapped: ROWS and COLS no longer fit. */
    t.rows = 7;
    t.cols = 5;
    assert_int_equal(submit_rc(rt, &t), FRONTA_ESIZE);
    t.rows = 5;
    t.cols = 7;
    t.args[3] = FRONTA_IN(e4); /* EXACT 3 */
    assert_int_equal(submit_rc(rt, &t), FRONTA_ESIZE);
    t.args[3] = FRONTA_IN(e);
    /* 2-D with global, or half a shape, is a malformed descriptor. */
    t.global = 35;
    assert_int_equal(submit_rc(rt, &t), FRONTA_EINVAL);
    t.global = 0;
    t.cols = 0;
    assert_int_equal(submit_rc(rt, &t), FRONTA_EINVAL);
    /* rows x cols past SIZE_MAX. */
    t.rows = SIZE_MAX / 2;
    t.cols = 3;
    assert_int_equal(submit_rc(rt, &t), FRONTA_ERANGE);
    /* 1-D: the shape is 1 x n, so ROWS wants 1 element and COLS n. */
    fronta_buffer_t *m7 = buf(rt, 7, FRONTA_INT32);
    fronta_arg_t b[4] = {FRONTA_INOUT(m7), FRONTA_IN(one), FRONTA_IN(c), FRONTA_IN(e)};
    t = task(k, 4, b);
    assert_int_equal(submit_rc(rt, &t), 0);
    assert_int_equal(seen.rows, 1);
    assert_int_equal(seen.cols, 7);
    assert_int_equal(seen.n, 7);
    t.local_rows = 1; /* a 2-D work-group on a 1-D launch */
    assert_int_equal(submit_rc(rt, &t), FRONTA_EINVAL);
    fronta_buffer_t *all[] = {m, r, c, e, e4, one, m7};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        assert_int_equal(fronta_buffer_destroy(all[i]), 0);
    fronta_runtime_destroy(rt);
}

/* ---- the check hook ----------------------------------------------------- */

static size_t hook_rows, hook_cols, hook_count;
static int64_t hook_value;

/* Accepts when buffer 0 has rows * value elements; returns 7 (not an
 * error code) for value 7. */
static int hook(const fronta_arg_t *a, size_t na, size_t rows, size_t cols)
{
    hook_rows = rows;
    hook_cols = cols;
    hook_count = fronta_buffer_count(a[0].buffer);
    hook_value = a[1].v.i64;
    if (na != 2 || a[1].kind != FRONTA_ARG_I64 || fronta_buffer_dtype(a[0].buffer) != FRONTA_FLOAT)
        return FRONTA_EARG;
    if (a[1].v.i64 == 7)
        return 7;
    return hook_count == rows * (size_t)a[1].v.i64 ? 0 : FRONTA_ESIZE;
}

static const fronta_param_t hook_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .count = FRONTA_COUNT_ANY},
    {.kind = FRONTA_ARG_I64},
};

static void check_hook(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *k = make(rt, "hooked", hook_params, 2, hook);
    fronta_buffer_t *x = buf(rt, 12, FRONTA_FLOAT);
    fronta_arg_t a[2] = {FRONTA_IN(x), FRONTA_I64(4)};
    fronta_task_desc_t t = task(k, 2, a);
    t.rows = 3;
    t.cols = 5;
    seen.calls = 0;
    assert_int_equal(submit_rc(rt, &t), 0);
    assert_int_equal(hook_rows, 3);
    assert_int_equal(hook_cols, 5);
    assert_int_equal(hook_count, 12);
    assert_int_equal(hook_value, 4);
    t.args[1] = FRONTA_I64(5);
    assert_int_equal(submit_rc(rt, &t), FRONTA_ESIZE);
    t.args[1] = FRONTA_I64(7); /* a code the hook may not return */
    assert_int_equal(submit_rc(rt, &t), FRONTA_EARG);
    assert_int_equal(seen.calls, 1); /* refused tasks never ran */
    assert_int_equal(fronta_buffer_destroy(x), 0);
    fronta_runtime_destroy(rt);
}

/* ---- FRONTA_KERNEL_NO_ALIAS --------------------------------------------- */

static const fronta_param_t alias_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32},
};

static void no_alias(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "noalias", .params = alias_params,
                              .nparams = 3, .cpu = probe_cpu, .flags = FRONTA_KERNEL_NO_ALIAS};
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    d.name = "alias";
    d.flags = 0;
    fronta_kernel_t *free_k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &free_k), 0);
    fronta_buffer_t *x = buf(rt, 4, FRONTA_INT32), *y = buf(rt, 4, FRONTA_INT32);
    static const fronta_access_t modes[] = {FRONTA_ACCESS_IN, FRONTA_ACCESS_OUT,
                                            FRONTA_ACCESS_INOUT};
    for (size_t m = 0; m < 3; m++) {
        fronta_arg_t a[3] = {FRONTA_IN(x), FRONTA_IN(x), {.kind = FRONTA_ARG_BUFFER,
                                                          .access = modes[m], .buffer = y}};
        fronta_task_desc_t t = task(k, 3, a);
        assert_int_equal(submit_rc(rt, &t), 0); /* x read twice */
        t.args[2].buffer = x; /* x read, and used in mode m */
        assert_int_equal(submit_rc(rt, &t), m == 0 ? 0 : FRONTA_EARG);
        t.kernel = free_k; /* without the flag the runtime merges the modes */
        assert_int_equal(submit_rc(rt, &t), 0);
    }
    assert_int_equal(fronta_buffer_destroy(x), 0);
    assert_int_equal(fronta_buffer_destroy(y), 0);
    fronta_runtime_destroy(rt);
}

/* ---- descriptor validation and the 0.1 layout --------------------------- */

static fronta_kernel_t *create(fronta_runtime_t *rt, const fronta_kernel_desc_t *d, int want)
{
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, d, &k), want);
    return k;
}

static void descriptor_validation(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_param_t p[2] = {{.kind = FRONTA_ARG_BUFFER}, {.kind = FRONTA_ARG_BUFFER}};
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "v", .params = p, .nparams = 2,
                              .cpu = probe_cpu};
    p[0].like = FRONTA_LIKE(1); /* forward */
    create(rt, &d, FRONTA_EINVAL);
    p[0].like = 0;
    p[1].like = FRONTA_LIKE(1); /* itself */
    create(rt, &d, FRONTA_EINVAL);
    p[1].like = 0;
    p[1].kind = FRONTA_ARG_SCALAR; /* a scalar of no type */
    create(rt, &d, FRONTA_EINVAL);
    p[1].kind = FRONTA_ARG_I32;
    p[1].like = FRONTA_LIKE(0);
    create(rt, &d, FRONTA_EINVAL); /* like on a scalar of a fixed kind */
    p[1] = (fronta_param_t){.kind = FRONTA_ARG_F32};
    p[0].like = 0;
    p[0].count = FRONTA_COUNT_EXACT; /* of 0 elements */
    create(rt, &d, FRONTA_EINVAL);
    p[0].count = (fronta_count_rule_t)9;
    create(rt, &d, FRONTA_EINVAL);
    p[0].count = FRONTA_COUNT_ANY;
    p[0].dtypes = 1u << 9; /* not a type */
    create(rt, &d, FRONTA_EINVAL);
    p[0].dtypes = 0;
    d.flags = 1u << 7;
    create(rt, &d, FRONTA_EINVAL);
    d.flags = FRONTA_KERNEL_NO_ALIAS | (1u << 5);
    create(rt, &d, FRONTA_EINVAL);
    d.flags = 0;
    d.cl_local[0] = 64; /* a rounded launch without the shape to check it by */
    create(rt, &d, FRONTA_EINVAL);
    d.flags = FRONTA_KERNEL_CL_SHAPE_ARGS;
    d.cl_groups[1] = 4; /* a cap on a dimension with no work-group */
    create(rt, &d, FRONTA_EINVAL);
    d.cl_groups[1] = 0;
    d.name = "v.ok";
    assert_non_null(create(rt, &d, 0));
    fronta_runtime_destroy(rt);
}

/* A 0.1 program: its descriptor ends at cl_options and its parameters
 * have four fields. */
typedef struct v1_param {
    fronta_arg_kind_t kind;
    fronta_dtype_t dtype;
    fronta_access_t access;
    fronta_count_rule_t count;
} v1_param_t;

static int v1_add(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    int32_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] += a[1].v.i32;
    return 0;
}

static void layout_of_0_1(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    static const v1_param_t p[] = {
        {FRONTA_ARG_BUFFER, FRONTA_INT32, FRONTA_ACCESS_INOUT, FRONTA_COUNT_GLOBAL},
        {FRONTA_ARG_I32, 0, 0, 0},
    };
    fronta_kernel_desc_t d = {.size = offsetof(fronta_kernel_desc_t, cl_options) +
                                      sizeof(const char *),
                              .name = "v1", .params = (const fronta_param_t *)(const void *)p,
                              .nparams = 2, .cpu = v1_add};
    fronta_kernel_t *k = create(rt, &d, 0);
    int32_t data[9] = {0};
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_wrap(rt, data, 9, FRONTA_INT32, &b), 0);
    fronta_task_desc_t t = ft_task(k, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b), FRONTA_I32(3),
                                   FT_NOARG);
    FT_EXPECT_OUTCOME(ft_submit_ok(rt, &t), 0); /* leaks the future until destroy */
    /* Read with today's stride, p[1] would be garbage; read as 0.1, the
     * INT32 rule still holds. */
    t.args[1] = FRONTA_F32(1.0f);
    FT_EXPECT_RC(fronta_submit(rt, &t, NULL), FRONTA_EARG);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(data[i], 3);
    fronta_runtime_destroy(rt);
}

/* ---- inside a plain task ------------------------------------------------ */

static int plain_task(fronta_ctx_t *ctx, void *arg)
{
    int *rc = arg;
    size_t r = 1, c = 1;
    rc[0] = fronta_ctx_shape(ctx, &r, &c);
    rc[1] = (int)fronta_ctx_arg_dtype(ctx, 0);
    return fronta_ctx_return(ctx, rc, 2 * sizeof *rc);
}

static void outside_a_kernel(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    int rc[2] = {0, 0};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit_fn(rt, plain_task, rc, sizeof rc, &f), 0);
    FT_EXPECT_OUTCOME(f, 0);
    int got[2];
    assert_int_equal(fronta_future_result(f, FT_LIMIT, got, sizeof got), 0);
    assert_int_equal(got[0], FRONTA_EINVAL);
    assert_int_equal(got[1], 0);
    fronta_future_release(f);
    assert_int_equal(fronta_ctx_shape(NULL, NULL, NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_ctx_arg_dtype(NULL, 0), 0);
    assert_int_equal(fronta_ctx_parallel(NULL, 3, NULL, NULL), FRONTA_EINVAL);
    fronta_runtime_destroy(rt);
}

/* ---- fronta_ctx_parallel ------------------------------------------------ */

typedef struct par_probe {
    atomic_uint *hits;
    /* Until two distinct threads have run a body (or a second passes),
     * each body waits: proof that idle workers take indices. */
    atomic_uintptr_t first;
    atomic_int second_seen;
    int want_two;
} par_probe_t;

static void par_body(void *ud, size_t i)
{
    par_probe_t *p = ud;
    atomic_fetch_add(&p->hits[i], 1);
    if (!p->want_two || atomic_load(&p->second_seen))
        return;
    uintptr_t me = (uintptr_t)pthread_self(), none = 0;
    if (!atomic_compare_exchange_strong(&p->first, &none, me) && none != me)
        atomic_store(&p->second_seen, 1);
    double end = ft_now() + 1.0;
    while (!atomic_load(&p->second_seen) && ft_now() < end)
        sched_yield();
}

typedef struct par_job {
    size_t n;
    int want_two;
    int rc;
    int ok;
    int two;
} par_job_t;

static int par_task(fronta_ctx_t *ctx, void *arg)
{
    par_job_t *j = *(par_job_t **)arg;
    par_probe_t p = {.hits = calloc(j->n ? j->n : 1, sizeof *p.hits), .want_two = j->want_two};
    if (!p.hits)
        return FRONTA_ENOMEM;
    j->rc = fronta_ctx_parallel(ctx, j->n, par_body, &p);
    j->ok = 1;
    for (size_t i = 0; i < j->n; i++)
        if (atomic_load(&p.hits[i]) != 1)
            j->ok = 0;
    j->two = atomic_load(&p.second_seen);
    free(p.hits);
    return 0;
}

static void parallel_runs_each_index_once(void **state)
{
    (void)state;
    static const int threads[] = {1, 2, 4};
    static const size_t sizes[] = {0, 1, 2, 3, 17, 1000, 100003};
    for (size_t ti = 0; ti < 3; ti++) {
        fronta_runtime_t *rt = ft_runtime(threads[ti]);
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            par_job_t j = {.n = sizes[si], .want_two = threads[ti] > 1 && sizes[si] >= 2};
            par_job_t *jp = &j;
            fronta_future_t *f = NULL;
            assert_int_equal(fronta_submit_fn(rt, par_task, &jp, sizeof jp, &f), 0);
            FT_EXPECT_OUTCOME(f, 0);
            fronta_future_release(f);
            assert_int_equal(j.rc, 0);
            if (!j.ok)
                fail_msg("%d threads, n=%zu: an index did not run exactly once", threads[ti],
                         sizes[si]);
            if (j.want_two && !j.two)
                fail_msg("%d threads, n=%zu: one thread ran every index", threads[ti],
                         sizes[si]);
        }
        fronta_runtime_destroy(rt);
    }
}

/* Many tasks at once, each spreading its own indices: helpers of one run
 * inside waits of another; everything completes, each index once. */
static void parallel_many_at_once(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(3);
    enum { NJOBS = 64 };
    par_job_t jobs[NJOBS];
    fronta_future_t *f[NJOBS];
    for (size_t i = 0; i < NJOBS; i++) {
        jobs[i] = (par_job_t){.n = 1 + (i * 977) % 5000};
        par_job_t *jp = &jobs[i];
        assert_int_equal(fronta_submit_fn(rt, par_task, &jp, sizeof jp, &f[i]), 0);
    }
    for (size_t i = 0; i < NJOBS; i++) {
        FT_EXPECT_OUTCOME(f[i], 0);
        fronta_future_release(f[i]);
        assert_int_equal(jobs[i].rc, 0);
        assert_true(jobs[i].ok);
    }
    fronta_runtime_destroy(rt);
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(type_rules),
        cmocka_unit_test(count_rules_and_shapes),
        cmocka_unit_test(check_hook),
        cmocka_unit_test(no_alias),
        cmocka_unit_test(descriptor_validation),
        cmocka_unit_test(layout_of_0_1),
        cmocka_unit_test(outside_a_kernel),
        cmocka_unit_test(parallel_runs_each_index_once),
        cmocka_unit_test(parallel_many_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
