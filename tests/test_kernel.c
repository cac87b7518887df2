/* Tests of kernels: the registry, fronta_submit's checks, device choice by needs, OpenCL build errors, signature checks and fallback, failing allocation. */
#include "test_kernels.h"

/* ---- registry --------------------------------------------------------- */

static fronta_kernel_desc_t desc_add_const(const char *name, int impl)
{
    fronta_kernel_desc_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = name;
    d.params = ft_add_const_params;
    d.nparams = 2;
    d.cpu = (impl & FT_IMPL_CPU) ? ft_k_add_const : NULL;
    d.cl_source = (impl & FT_IMPL_CL) ? FT_INT_CL_SOURCE : NULL;
    d.cl_entry = "ft_add_const";
    return d;
}

static void registry(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);

    /* The name and the parameters are copied. */
    char name[16];
    snprintf(name, sizeof name, "k.one");
    fronta_param_t params[2];
    memcpy(params, ft_add_const_params, sizeof params);
    fronta_kernel_desc_t d = desc_add_const(name, FT_IMPL_CPU);
    d.params = params;
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    assert_non_null(k);
    name[0] = 'X';
    params[0].dtype = FRONTA_FLOAT;
    params[1].kind = FRONTA_ARG_F64;
    assert_string_equal(fronta_kernel_name(k), "k.one");

    fronta_kernel_t *found = NULL;
    assert_int_equal(fronta_kernel_find(rt, "k.one", &found), 0);
    assert_ptr_equal(found, k);
    found = NULL;
    assert_int_equal(fronta_kernel_find(rt, "k.two", &found), FRONTA_ENOENT);
    assert_int_equal(fronta_kernel_find(rt, "X.one", &found), FRONTA_ENOENT);

    /* The copied parameters are the ones checked: INT32 buffer, I32. */
    int32_t data[5] = {0};
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_wrap(rt, data, 5, FRONTA_INT32, &b), 0);
    fronta_task_desc_t t = ft_task(k, FRONTA_NEED_ANY, FRONTA_INOUT(b), FRONTA_I32(1), FT_NOARG);
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    assert_int_equal(fronta_future_device(f), 0);
    fronta_future_release(f);

    /* Duplicate name, with another implementation too. */
    fronta_kernel_t *k2 = (fronta_kernel_t *)&k2;
    fronta_kernel_desc_t dup = desc_add_const("k.one", FT_IMPL_BOTH);
    assert_int_equal(fronta_kernel_create(rt, &dup, &k2), FRONTA_EBUSY);

    /* Bad descriptors. */
    fronta_kernel_desc_t bad = desc_add_const(NULL, FT_IMPL_CPU);
    assert_int_equal(fronta_kernel_create(rt, &bad, &k2), FRONTA_EINVAL);
    bad = desc_add_const("", FT_IMPL_CPU);
    assert_int_equal(fronta_kernel_create(rt, &bad, &k2), FRONTA_EINVAL);
    bad = desc_add_const("k.noimpl", 0);
    assert_int_equal(fronta_kernel_create(rt, &bad, &k2), FRONTA_EINVAL);
    bad = desc_add_const("k.manyparams", FT_IMPL_CPU);
    fronta_param_t many[FRONTA_MAX_ARGS + 1];
    for (size_t i = 0; i < FRONTA_MAX_ARGS + 1; i++)
        many[i] = (fronta_param_t){.kind = FRONTA_ARG_I32};
    bad.params = many;
    bad.nparams = FRONTA_MAX_ARGS + 1;
    assert_int_equal(fronta_kernel_create(rt, &bad, &k2), FRONTA_EINVAL);
    bad.nparams = FRONTA_MAX_ARGS; /* the most there may be */
    fronta_kernel_t *kmax = NULL;
    assert_int_equal(fronta_kernel_create(rt, &bad, &kmax), 0);
    bad = desc_add_const("k.nullparams", FT_IMPL_CPU);
    bad.params = NULL;
    assert_int_equal(fronta_kernel_create(rt, &bad, &k2), FRONTA_EINVAL);
    assert_int_equal(fronta_kernel_create(NULL, &d, &k2), FRONTA_EINVAL);
    assert_int_equal(fronta_kernel_create(rt, NULL, &k2), FRONTA_EINVAL);
    bad = desc_add_const("k.nullout", FT_IMPL_CPU);
    assert_int_equal(fronta_kernel_create(rt, &bad, NULL), FRONTA_EINVAL);
    /* None of the failures registered its name. */
    const char *never[] = {"k.noimpl", "k.nullparams", "k.nullout"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        assert_int_equal(fronta_kernel_find(rt, never[i], &found), FRONTA_ENOENT);
    /* An OpenCL-only kernel may be registered where there is no OpenCL
     * device: submit is where it finds no device. */
    bad = desc_add_const("k.clonly", FT_IMPL_CL);
    fronta_kernel_t *kcl = NULL;
    assert_int_equal(fronta_kernel_create(rt, &bad, &kcl), 0);

    /* Bundled kernels: registered on first use, then found by name. */
    assert_null(fronta_kernel_builtin(rt, "nope"));
    fronta_kernel_t *scale = fronta_kernel_builtin(rt, "scale");
    assert_non_null(scale);
    assert_string_equal(fronta_kernel_name(scale), "scale");
    assert_ptr_equal(fronta_kernel_builtin(rt, "scale"), scale);
    assert_int_equal(fronta_kernel_find(rt, "scale", &found), 0);
    assert_ptr_equal(found, scale);
    fronta_kernel_t *saxpy = fronta_kernel_builtin(rt, "saxpy");
    assert_non_null(saxpy);
    assert_ptr_not_equal(saxpy, scale);
    /* A bundled kernel that does not exist is NULL, which submit refuses. */
    t = ft_task(fronta_kernel_builtin(rt, "nope"), FRONTA_NEED_ANY, FRONTA_INOUT(b),
                FRONTA_I32(1), FT_NOARG);
    f = (fronta_future_t *)&f;
    assert_int_equal(fronta_submit(rt, &t, &f), FRONTA_EINVAL);
    assert_null(f);

    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(data[0], 1);
    assert_int_equal(data[4], 5);
    fronta_runtime_destroy(rt);
}

/* ---- submit: argument checks ------------------------------------------ */

/* Parameters that accept any element type, any mode, any count. */
static const fronta_param_t any_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .count = FRONTA_COUNT_ANY},
};

static atomic_int any_calls;

static int k_any(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)a;
    (void)na;
    (void)n;
    atomic_fetch_add(&any_calls, 1);
    return 0;
}

#define ANY_CL_SOURCE "__kernel void ft_any(__global uchar *x) { }\n"

typedef struct vcase {
    const char *what;
    fronta_task_desc_t t;
    int want;   /* 0: accepted */
    int alt;    /* another acceptable code, or 0 */
    int32_t c;  /* accepted add_const: the constant it adds */
} vcase_t;

static int need_expect(fronta_runtime_t *rt, int impl, fronta_need_t need, int id)
{
    int cl = ft_cl_device(rt, 0) >= 0, gpu = ft_cl_device(rt, FRONTA_DEVTYPE_GPU) >= 0;
    int has_cpu = impl & FT_IMPL_CPU, has_cl = impl & FT_IMPL_CL;
    switch (need) {
    case FRONTA_NEED_ANY:
        return has_cpu || (has_cl && cl) ? 0 : FRONTA_ENOIMPL;
    case FRONTA_NEED_CPU_POOL:
        return has_cpu ? 0 : FRONTA_ENOIMPL;
    case FRONTA_NEED_OPENCL:
        return has_cl && cl ? 0 : FRONTA_ENOIMPL;
    case FRONTA_NEED_GPU:
        return has_cl && gpu ? 0 : FRONTA_ENOIMPL;
    case FRONTA_NEED_DEVICE:
        if (id < 0 || id >= fronta_device_count(rt))
            return FRONTA_ENODEV;
        return (id == 0 ? has_cpu : has_cl) ? 0 : FRONTA_ENOIMPL;
    }
    return FRONTA_EINVAL;
}

/* Every kind of bad submission against add_const, on kernels with the
 * implementations `impl`, in runtime rt; then the accepted ones, whose
 * effect must be all that happened to the buffer. */
static void validate(fronta_runtime_t *rt, int impl, const char *suffix)
{
    print_message("[ info     ] validate %s: %d device(s), impl %d\n", suffix,
                  fronta_device_count(rt), impl);
    char name[64];
    snprintf(name, sizeof name, "v.add_const%s", suffix);
    fronta_kernel_desc_t d = desc_add_const(name, impl);
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    fronta_kernel_t *into = ft_kernel_make(rt, "ft_add_into", suffix, impl);
    snprintf(name, sizeof name, "v.any%s", suffix);
    fronta_kernel_desc_t da = {.size = sizeof da, .name = name, .params = any_params,
                               .nparams = 1, .cpu = (impl & FT_IMPL_CPU) ? k_any : NULL,
                               .cl_source = (impl & FT_IMPL_CL) ? ANY_CL_SOURCE : NULL,
                               .cl_entry = "ft_any"};
    fronta_kernel_t *kany = NULL;
    assert_int_equal(fronta_kernel_create(rt, &da, &kany), 0);

    enum { N = 16 };
    uint32_t data[N], model[N];
    for (size_t i = 0; i < N; i++)
        data[i] = model[i] = (uint32_t)(i * 7);
    float fdata[N] = {0};
    int32_t small[N / 2] = {0}, other[N] = {0};
    fronta_buffer_t *b, *bf, *b8, *b2;
    assert_int_equal(fronta_buffer_wrap(rt, data, N, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_wrap(rt, fdata, N, FRONTA_FLOAT, &bf), 0);
    assert_int_equal(fronta_buffer_wrap(rt, small, N / 2, FRONTA_INT32, &b8), 0);
    assert_int_equal(fronta_buffer_wrap(rt, other, N, FRONTA_INT32, &b2), 0);

    vcase_t cs[64];
    size_t nc = 0;
#define CASE(w, want_, kern, a0, a1, a2)                                         \
    do {                                                                         \
        cs[nc] = (vcase_t){.what = (w), .want = (want_)};                        \
        cs[nc].t = ft_task((kern), FRONTA_NEED_ANY, a0, a1, a2);                 \
        nc++;                                                                    \
    } while (0)
    CASE("one argument of two", FRONTA_EARG, k, FRONTA_INOUT(b), FT_NOARG, FT_NOARG);
    CASE("three arguments of two", FRONTA_EARG, k, FRONTA_INOUT(b), FRONTA_I32(1),
         FRONTA_I32(1));
    CASE("scalar for the buffer", FRONTA_EARG, k, FRONTA_I32(1), FRONTA_I32(1), FT_NOARG);
    CASE("scalar for the buffer, global 16", FRONTA_EARG, k, FRONTA_I32(1), FRONTA_I32(1),
         FT_NOARG);
    cs[nc - 1].t.global = N;
    CASE("I64 for I32", FRONTA_EARG, k, FRONTA_INOUT(b), FRONTA_I64(1), FT_NOARG);
    CASE("F32 for I32", FRONTA_EARG, k, FRONTA_INOUT(b), FRONTA_F32(1), FT_NOARG);
    CASE("F64 for I32", FRONTA_EARG, k, FRONTA_INOUT(b), FRONTA_F64(1), FT_NOARG);
    CASE("buffer for the scalar", FRONTA_EARG, k, FRONTA_INOUT(b), FRONTA_INOUT(b2),
         FT_NOARG);
    CASE("FLOAT buffer for INT32", FRONTA_EARG, k, FRONTA_INOUT(bf), FRONTA_I32(1), FT_NOARG);
    CASE("IN for INOUT", FRONTA_EARG, k, FRONTA_IN(b), FRONTA_I32(1), FT_NOARG);
    CASE("OUT for INOUT", FRONTA_EARG, k, FRONTA_OUT(b), FRONTA_I32(1), FT_NOARG);
    CASE("INOUT for IN", FRONTA_EARG, into, FRONTA_INOUT(b2), FRONTA_INOUT(b), FT_NOARG);
    CASE("count 8 for launch size 16", FRONTA_ESIZE, into, FRONTA_IN(b), FRONTA_INOUT(b8),
         FT_NOARG);
    CASE("count 16 for launch size 8", FRONTA_ESIZE, into, FRONTA_IN(b8), FRONTA_INOUT(b),
         FT_NOARG);
    CASE("global 8 for a count-16 buffer", FRONTA_ESIZE, k, FRONTA_INOUT(b), FRONTA_I32(1),
         FT_NOARG);
    cs[nc - 1].t.global = 8;
    CASE("global 16, local 5", FRONTA_ESIZE, k, FRONTA_INOUT(b), FRONTA_I32(1), FT_NOARG);
    cs[nc - 1].t.local = 5;
    CASE("any: global 10, local 4", FRONTA_ESIZE, kany, FRONTA_IN(b), FT_NOARG, FT_NOARG);
    cs[nc - 1].t.global = 10;
    cs[nc - 1].t.local = 4;
    CASE("nargs 3 where 2 are set", FRONTA_EARG, k, FRONTA_INOUT(b), FRONTA_I32(1), FT_NOARG);
    cs[nc - 1].t.nargs = 3;
    CASE("nargs 1 where 2 are set", FRONTA_EARG, k, FRONTA_INOUT(b), FRONTA_I32(1), FT_NOARG);
    cs[nc - 1].t.nargs = 1;
    CASE("no kernel", FRONTA_EINVAL, NULL, FRONTA_INOUT(b), FRONTA_I32(1), FT_NOARG);

    /* Needs: every kind, against what the kernel and the runtime have. */
    int cl = ft_cl_device(rt, 0);
    struct { fronta_need_t need; int id; } needs[] = {
        {FRONTA_NEED_ANY, 0},    {FRONTA_NEED_CPU_POOL, 0}, {FRONTA_NEED_OPENCL, 0},
        {FRONTA_NEED_GPU, 0},    {FRONTA_NEED_DEVICE, 0},   {FRONTA_NEED_DEVICE, cl},
        {FRONTA_NEED_DEVICE, fronta_device_count(rt)},      {FRONTA_NEED_DEVICE, -1},
        {FRONTA_NEED_DEVICE, 1000},
    };
    static const char *need_names[] = {"ANY", "CPU_POOL", "OPENCL", "GPU", "DEVICE"};
    static char need_what[16][48];
    assert_true(sizeof needs / sizeof needs[0] <= 16);
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        snprintf(need_what[i], sizeof need_what[i], "need %s id %d",
                 need_names[needs[i].need], needs[i].id);
        int32_t c = (int32_t)(100 + i);
        CASE(need_what[i], need_expect(rt, impl, needs[i].need, needs[i].id), k,
             FRONTA_INOUT(b), FRONTA_I32(c), FT_NOARG);
        cs[nc - 1].t.needs.device = needs[i].need;
        cs[nc - 1].t.needs.device_id = needs[i].id;
        cs[nc - 1].c = c;
    }
    /* Accepted forms. */
    CASE("nargs 0: up to the first NONE", 0, k, FRONTA_INOUT(b), FRONTA_I32(3), FT_NOARG);
    cs[nc - 1].c = 3;
    CASE("nargs 2", 0, k, FRONTA_INOUT(b), FRONTA_I32(4), FRONTA_I32(99));
    cs[nc - 1].t.nargs = 2;
    cs[nc - 1].c = 4;
    CASE("global 16 given", 0, k, FRONTA_INOUT(b), FRONTA_I32(5), FT_NOARG);
    cs[nc - 1].t.global = N;
    cs[nc - 1].c = 5;
    CASE("local 4 divides 16", 0, k, FRONTA_INOUT(b), FRONTA_I32(6), FT_NOARG);
    cs[nc - 1].t.local = 4;
    cs[nc - 1].c = 6;
    CASE("any: FLOAT OUT, count 16", 0, kany, FRONTA_OUT(bf), FT_NOARG, FT_NOARG);
    CASE("any: INT32 IN, count 8, global 16", 0, kany, FRONTA_IN(b8), FT_NOARG, FT_NOARG);
    cs[nc - 1].t.global = N;
#undef CASE
    assert_true(nc <= sizeof cs / sizeof cs[0]);

    if (!(impl & FT_IMPL_CPU) && cl < 0) {
        /* Nothing can run: every case is refused; bad arguments may be
         * found before or after the lack of a device. */
        for (size_t i = 0; i < nc; i++) {
            if (cs[i].want == 0)
                cs[i].want = FRONTA_ENOIMPL;
            else if (cs[i].want == FRONTA_EARG || cs[i].want == FRONTA_ESIZE)
                cs[i].alt = FRONTA_ENOIMPL;
        }
    }

    atomic_store(&any_calls, 0);
    fronta_future_t *ok[64];
    size_t nok = 0;
    for (size_t i = 0; i < nc; i++) {
        fronta_future_t *f = (fronta_future_t *)&f; /* must become NULL on failure */
        /* An older message, which a refusal must replace with its own. */
        assert_int_equal(fronta_buffer_partition(NULL, NULL), FRONTA_EINVAL);
        int rc = fronta_submit(rt, &cs[i].t, &f);
        if (rc != cs[i].want && !(cs[i].alt && rc == cs[i].alt))
            fail_msg("%s (%s): expected %s, got %s", cs[i].what, suffix,
                     fronta_err_name(cs[i].want), fronta_err_name(rc));
        if (rc != 0) {
            if (f != NULL)
                fail_msg("%s (%s): failed submit left *out non-NULL", cs[i].what, suffix);
            const char *msg = fronta_last_error();
            if (!msg[0] || strstr(msg, "partition:"))
                fail_msg("%s (%s): refused with %s but fronta_last_error says \"%s\"",
                         cs[i].what, suffix, fronta_err_name(rc), msg);
            continue;
        }
        assert_non_null(f);
        ok[nok++] = f;
        if (cs[i].t.kernel == k)
            for (size_t j = 0; j < N; j++)
                model[j] = ft_model_add_const(model[j], cs[i].c, j);
        /* Each accepted task ran where its needs say. */
        FT_EXPECT_OUTCOME(f, 0);
        int dev = fronta_future_device(f);
        fronta_need_t need = cs[i].t.needs.device;
        if (need == FRONTA_NEED_CPU_POOL)
            assert_int_equal(dev, 0);
        if (need == FRONTA_NEED_OPENCL || need == FRONTA_NEED_GPU)
            assert_true(dev >= 1);
        if (need == FRONTA_NEED_DEVICE)
            assert_int_equal(dev, cs[i].t.needs.device_id);
    }
    for (size_t i = 0; i < nok; i++) {
        FT_EXPECT_OUTCOME(ok[i], 0);
        fronta_future_release(ok[i]);
    }
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    /* The refused submissions ran nothing and left no dependency behind:
     * the buffer holds exactly the accepted tasks' effect, and the host
     * gets it at once. */
    ft_check_buffer(b, model, N, "after the accepted submissions");
    if (impl == FT_IMPL_CPU)
        assert_int_equal(atomic_load(&any_calls), 2);
    void *p = NULL;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &p), 0);
    assert_int_equal(fronta_buffer_release(b), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(bf), 0);
    assert_int_equal(fronta_buffer_destroy(b8), 0);
    assert_int_equal(fronta_buffer_destroy(b2), 0);
    assert_memory_equal(data, model, sizeof data);
}

static void submit_null_arguments(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    fronta_kernel_t *k = ft_kernel_make(rt, "ft_add_const", "", FT_IMPL_CPU);
    int32_t data[4] = {0};
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, data, 4, FRONTA_INT32, &b), 0);
    fronta_task_desc_t t = ft_task(k, FRONTA_NEED_ANY, FRONTA_INOUT(b), FRONTA_I32(1), FT_NOARG);
    fronta_future_t *f = (fronta_future_t *)&f;
    assert_int_equal(fronta_submit(NULL, &t, &f), FRONTA_EINVAL);
    assert_null(f);
    f = (fronta_future_t *)&f;
    assert_int_equal(fronta_submit(rt, NULL, &f), FRONTA_EINVAL);
    assert_null(f);
    /* size 0: this header's layout, for the task and the kernel. */
    fronta_task_desc_t t0 = t;
    t0.size = 0;
    f = NULL;
    assert_int_equal(fronta_submit(rt, &t0, &f), 0);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    fronta_kernel_desc_t d0 = desc_add_const("k.size0", FT_IMPL_CPU);
    d0.size = 0;
    fronta_kernel_t *k0 = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d0, &k0), 0);
    assert_string_equal(fronta_kernel_name(k0), "k.size0");
    /* out NULL: fire and forget. */
    assert_int_equal(fronta_submit(rt, &t, NULL), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(data[3], 2 * (1 + 3));
    /* A plain function's future has no device. */
    int64_t x = 3;
    assert_int_equal(fronta_submit_fn(rt, ft_square_task, &x, sizeof x, &f), 0);
    ft_wait(f);
    assert_int_equal(fronta_future_device(f), -1);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_destroy(NULL), 0);
    fronta_runtime_destroy(rt);
}

static void validate_cpu_pool(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    validate(rt, FT_IMPL_CPU, ".cpu");
    validate(rt, FT_IMPL_BOTH, ".both");
    validate(rt, FT_IMPL_CL, ".cl");
    fronta_runtime_destroy(rt);
}

static void validate_opencl(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    if (ft_cl_device(rt, 0) < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    validate(rt, FT_IMPL_CPU, ".cpu");
    validate(rt, FT_IMPL_BOTH, ".both");
    validate(rt, FT_IMPL_CL, ".cl");
    fronta_runtime_destroy(rt);
}

/* ---- what a CPU implementation receives ------------------------------- */

typedef struct seen {
    size_t nargs, n;
    void *ptr0, *ptr5;
    size_t count0, count5;
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    int device_ok;
} seen_t;

static seen_t seen;

static int k_probe(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    seen.device_ok = fronta_ctx_runtime(ctx) != NULL;
    seen.nargs = na;
    seen.n = n;
    seen.ptr0 = a[0].ptr;
    seen.count0 = a[0].count;
    seen.i32 = a[1].v.i32;
    seen.i64 = a[2].v.i64;
    seen.f32 = a[3].v.f32;
    seen.f64 = a[4].v.f64;
    seen.ptr5 = a[5].ptr;
    seen.count5 = a[5].count;
    /* Write the first buffer, read the second. */
    int32_t *x = a[0].ptr;
    const uint8_t *y = a[5].ptr;
    for (size_t i = 0; i < a[0].count; i++)
        x[i] = (int32_t)i + y[i % a[5].count];
    return 0;
}

static void cpu_kernel_arguments(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    static const fronta_param_t p[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_ANY},
        {.kind = FRONTA_ARG_I32},
        {.kind = FRONTA_ARG_I64},
        {.kind = FRONTA_ARG_F32},
        {.kind = FRONTA_ARG_F64},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_ANY},
    };
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "probe", .params = p, .nparams = 6,
                              .cpu = k_probe};
    fronta_kernel_t *k;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    int32_t x[13];
    uint8_t y[5] = {10, 20, 30, 40, 50};
    fronta_buffer_t *bx, *by;
    assert_int_equal(fronta_buffer_wrap(rt, x, 13, FRONTA_INT32, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(rt, y, 5, FRONTA_UINT8, &by), 0);
    assert_int_equal(fronta_buffer_count(bx), 13);
    assert_int_equal(fronta_buffer_dtype(by), FRONTA_UINT8);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k,
                            .args = {FRONTA_OUT(bx), FRONTA_I32(-7), FRONTA_I64(INT64_MIN + 3),
                                     FRONTA_F32(1.5f), FRONTA_F64(-2.25), FRONTA_IN(by)},
                            .global = 3};
    fronta_device_stats_t s0 = ft_dstats(rt, 0);
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    assert_int_equal(fronta_future_device(f), 0);
    fronta_device_stats_t s1 = ft_dstats(rt, 0);
    assert_int_equal(s1.tasks_run - s0.tasks_run, 1);
    assert_true(seen.device_ok);
    assert_int_equal(seen.nargs, 6);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.count0, 13);
    assert_int_equal(seen.count5, 5);
    assert_int_equal(seen.i32, -7);
    assert_true(seen.i64 == INT64_MIN + 3);
    assert_true(seen.f32 == 1.5f);
    assert_true(seen.f64 == -2.25);
    /* On the pool the host arrays are the wrapped ones. */
    assert_ptr_equal(seen.ptr0, x);
    assert_ptr_equal(seen.ptr5, y);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_destroy(bx), 0);
    assert_int_equal(fronta_buffer_destroy(by), 0);
    for (int i = 0; i < 13; i++)
        assert_int_equal(x[i], i + y[i % 5]);
    /* Stats: bad ids. */
    fronta_device_stats_t st = {.size = sizeof st};
    assert_true(fronta_device_stats(rt, 1, &st) < 0);
    assert_true(fronta_device_stats(rt, -1, &st) < 0);
    assert_int_equal(fronta_device_stats(NULL, 0, &st), FRONTA_EINVAL);
    assert_int_equal(fronta_device_stats(rt, 0, NULL), FRONTA_EINVAL);
    fronta_runtime_destroy(rt);
}

/* ---- bundled kernels on each device ----------------------------------- */

static void builtin_kernels(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    fronta_kernel_t *scale = fronta_kernel_builtin(rt, "scale");
    fronta_kernel_t *saxpy = fronta_kernel_builtin(rt, "saxpy");
    assert_non_null(scale);
    assert_non_null(saxpy);
    static const size_t sizes[] = {1, 3, 97, 1000, 4099};
    fronta_need_t needs[] = {FRONTA_NEED_CPU_POOL, FRONTA_NEED_OPENCL, FRONTA_NEED_ANY};
    size_t nneeds = ft_cl_device(rt, 0) >= 0 ? 3 : 1;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (size_t w = 0; w < nneeds; w++) {
            float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
            assert_non_null(x);
            assert_non_null(y);
            for (size_t i = 0; i < n; i++) {
                x[i] = (float)(i % 1000);
                y[i] = 1.0f;
            }
            fronta_buffer_t *bx, *by;
            assert_int_equal(fronta_buffer_wrap(rt, x, n, FRONTA_FLOAT, &bx), 0);
            assert_int_equal(fronta_buffer_wrap(rt, y, n, FRONTA_FLOAT, &by), 0);
            /* y = 2x + y; x *= 3; y = 2x + y: y = 8x + 1, exact in float. */
            fronta_task_desc_t t1 = ft_task(saxpy, needs[w], FRONTA_IN(bx), FRONTA_INOUT(by),
                                            FRONTA_F32(2.0f));
            fronta_task_desc_t t2 = ft_task(scale, needs[w], FRONTA_INOUT(bx), FRONTA_F32(3.0f),
                                            FT_NOARG);
            fronta_future_t *f1 = ft_submit_ok(rt, &t1);
            fronta_future_t *f2 = ft_submit_ok(rt, &t2);
            fronta_future_t *f3 = ft_submit_ok(rt, &t1);
            FT_EXPECT_OUTCOME(f1, 0);
            FT_EXPECT_OUTCOME(f2, 0);
            FT_EXPECT_OUTCOME(f3, 0);
            if (needs[w] == FRONTA_NEED_CPU_POOL)
                assert_int_equal(fronta_future_device(f2), 0);
            if (needs[w] == FRONTA_NEED_OPENCL)
                assert_true(fronta_future_device(f2) >= 1);
            /* The scalar's kind is checked: scale takes an F32. */
            fronta_task_desc_t bad = ft_task(scale, needs[w], FRONTA_INOUT(bx), FRONTA_F64(3.0),
                                             FT_NOARG);
            fronta_future_t *fb = (fronta_future_t *)&fb;
            assert_int_equal(fronta_submit(rt, &bad, &fb), FRONTA_EARG);
            assert_null(fb);
            fronta_future_release(f1);
            fronta_future_release(f2);
            fronta_future_release(f3);
            assert_int_equal(fronta_buffer_destroy(bx), 0);
            assert_int_equal(fronta_buffer_destroy(by), 0);
            for (size_t i = 0; i < n; i++) {
                float xi = (float)(i % 1000);
                if (x[i] != 3 * xi || y[i] != 8 * xi + 1)
                    fail_msg("n %zu need %d: element %zu: x %g y %g, expected %g %g", n,
                             (int)needs[w], i, (double)x[i], (double)y[i], (double)(3 * xi),
                             (double)(8 * xi + 1));
            }
            free(x);
            free(y);
        }
    }
    fronta_runtime_destroy(rt);
}

/* ---- OpenCL build errors and fallback --------------------------------- */

#define BAD_CL_SOURCE                                                          \
    "__kernel void ft_add_const(__global uint *x, int c)\n"                    \
    "{ x[get_global_id(0)] += fronta_undeclared_xyz; }\n"

static fronta_kernel_t *bad_kernel(fronta_runtime_t *rt, const char *name, int with_cpu)
{
    fronta_kernel_desc_t d = desc_add_const(name, with_cpu ? FT_IMPL_CPU : 0);
    d.cl_source = BAD_CL_SOURCE;
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    return k;
}

static void invalid_source(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_ws("all", 0); /* the fallback case steers by locality */
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    enum { N = 37 };
    uint32_t data[N], model[N];
    for (size_t i = 0; i < N; i++)
        data[i] = model[i] = (uint32_t)i;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, data, N, FRONTA_INT32, &b), 0);

    /* With a CPU implementation and NEED_ANY: the pool runs what the
     * device could not build. The task is steered to the device by its
     * buffer's last writer, queued there behind a gate (placement keeps a
     * chain on its device). */
    fronta_kernel_t *both = bad_kernel(rt, "bad.both", 1);
    fronta_kernel_t *good = ft_kernel_make(rt, "ft_add_const", ".good", FT_IMPL_BOTH);
    fronta_device_stats_t s0 = ft_dstats(rt, cl);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    fronta_task_desc_t tw = ft_task(good, FRONTA_NEED_OPENCL, FRONTA_INOUT(b), FRONTA_I32(1),
                                    FT_NOARG);
    tw.after = &g;
    tw.nafter = 1;
    fronta_future_t *fw = ft_submit_ok(rt, &tw);
    fronta_task_desc_t tb = ft_task(both, FRONTA_NEED_ANY, FRONTA_INOUT(b), FRONTA_I32(2),
                                    FT_NOARG);
    fronta_future_t *fb = ft_submit_ok(rt, &tb);
    if (fronta_future_device(fb) != cl)
        fail_msg("a NEED_ANY task after a queued device writer was placed on %d, not %d",
                 fronta_future_device(fb), cl);
    ft_gate_open(&gate);
    FT_EXPECT_OUTCOME(fw, 0);
    FT_EXPECT_OUTCOME(fb, 0);
    assert_int_equal(fronta_future_device(fw), cl);
    assert_int_equal(fronta_future_device(fb), 0);
    fronta_future_release(g);
    fronta_future_release(fw);
    fronta_future_release(fb);
    for (size_t j = 0; j < N; j++)
        model[j] = ft_model_add_const(ft_model_add_const(model[j], 1, j), 2, j);
    /* Unsteered, NEED_ANY tasks of that kernel run, wherever placed. */
    for (int i = 0; i < 3; i++) {
        fronta_task_desc_t t = ft_task(both, FRONTA_NEED_ANY, FRONTA_INOUT(b), FRONTA_I32(i),
                                       FT_NOARG);
        fronta_future_t *f = ft_submit_ok(rt, &t);
        FT_EXPECT_OUTCOME(f, 0);
        assert_int_equal(fronta_future_device(f), 0);
        fronta_future_release(f);
        for (size_t j = 0; j < N; j++)
            model[j] = ft_model_add_const(model[j], i, j);
    }
    fronta_device_stats_t s1 = ft_dstats(rt, cl);
    print_message("[ info     ] fallbacks %llu -> %llu\n", (unsigned long long)s0.fallbacks,
                  (unsigned long long)s1.fallbacks);
    assert_true(s1.fallbacks >= s0.fallbacks + 1);
    ft_check_buffer(b, model, N, "after the fallbacks");

    /* NEED_OPENCL and NEED_DEVICE do not admit the pool: EBUILD with the
     * compiler's log, which names the undeclared identifier. */
    fronta_kernel_t *clonly = bad_kernel(rt, "bad.cl", 0);
    struct { fronta_kernel_t *k; fronta_need_t need; } cases[] = {
        {both, FRONTA_NEED_OPENCL}, {both, FRONTA_NEED_DEVICE}, {clonly, FRONTA_NEED_ANY},
        {clonly, FRONTA_NEED_OPENCL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fronta_task_desc_t t = ft_task(cases[i].k, cases[i].need, FRONTA_INOUT(b),
                                       FRONTA_I32(1000), FT_NOARG);
        t.needs.device_id = cl;
        fronta_future_t *f = ft_submit_ok(rt, &t);
        FT_EXPECT_OUTCOME(f, FRONTA_EBUILD);
        const char *msg = ft_message(f);
        if (i == 0)
            print_message("[ info     ] message: %.300s\n", msg);
        if (!strstr(msg, "fronta_undeclared_xyz"))
            fail_msg("case %zu: the message does not carry the build log: %s", i, msg);
        /* The buffer's last writer failed: the host cannot read it, and a
         * later reader fails too. */
        void *p = NULL;
        FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), FRONTA_EBUILD);
        fronta_task_desc_t r = ft_task(good, FRONTA_NEED_ANY, FRONTA_INOUT(b), FRONTA_I32(1),
                                       FT_NOARG);
        fronta_future_t *fr = ft_submit_ok(rt, &r);
        FT_EXPECT_OUTCOME(fr, FRONTA_EDEPFAILED);
        fronta_future_release(fr);
        fronta_future_release(f);
        /* OUT clears the failure; the host writes the model back. */
        assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
        memcpy(p, model, sizeof model);
        assert_int_equal(fronta_buffer_release(b), 0);
    }
    fronta_device_stats_t s2 = ft_dstats(rt, cl);
    assert_int_equal(s2.fallbacks, s1.fallbacks);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_memory_equal(data, model, sizeof data);
    fronta_runtime_destroy(rt);
}

/* ---- OpenCL function signatures --------------------------------------- */

/* A runtime for the signature tests: quiet, since a fallback warns. */
static fronta_runtime_t *sig_runtime(void)
{
    /* ws: signature_mismatch_falls_back steers its task to the device by
     * ws's locality rule (ft_runtime_ws). */
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "all",
                           .log_level = FRONTA_LOG_OFF, .sched = "ws"};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    return rt;
}

/* A kernel's parameters against an OpenCL function that takes something
 * else. Before the check, the first crashed PoCL inside clSetKernelArg
 * (a scalar's bytes used as a cl_mem) and (d) and (i32 for float) ran on
 * reinterpreted data. */
typedef struct sigcase {
    const char *what;
    fronta_param_t params[2];
    size_t nparams;
    const char *source;         /* its __kernel is ft_sig */
    unsigned arg;               /* the argument the message must name */
    const char *declared, *takes;
} sigcase_t;

#define SIG_BUF(dt) {.kind = FRONTA_ARG_BUFFER, .dtype = (dt), .count = FRONTA_COUNT_GLOBAL}
#define SIG_SCALAR(k) {.kind = (k)}

static const sigcase_t sig_cases[] = {
    {"(a) I64 for a pointer", {SIG_SCALAR(FRONTA_ARG_I64)}, 1,
     "__kernel void ft_sig(__global uchar *x) { x[get_global_id(0)] = 1; }\n", 0,
     "FRONTA_ARG_I64", "__global uchar *"},
    {"(b) buffer for an int", {SIG_BUF(FRONTA_INT32)}, 1,
     "__kernel void ft_sig(int c) { }\n", 0, "FRONTA_ARG_BUFFER of FRONTA_INT32", "'int'"},
    {"(c) F32 for a double", {SIG_BUF(FRONTA_FLOAT), SIG_SCALAR(FRONTA_ARG_F32)}, 2,
     "__kernel void ft_sig(__global float *x, double a) { x[get_global_id(0)] *= a; }\n", 1,
     "FRONTA_ARG_F32", "'double'"},
    {"(d) FLOAT buffer for int *", {SIG_BUF(FRONTA_FLOAT), SIG_SCALAR(FRONTA_ARG_F32)}, 2,
     "__kernel void ft_sig(__global int *x, float a) { x[get_global_id(0)] += 1; }\n", 0,
     "FRONTA_ARG_BUFFER of FRONTA_FLOAT", "__global int *"},
    {"I32 for a float", {SIG_BUF(FRONTA_INT32), SIG_SCALAR(FRONTA_ARG_I32)}, 2,
     "__kernel void ft_sig(__global uint *x, float c) { x[get_global_id(0)] += (uint)c; }\n", 1,
     "FRONTA_ARG_I32", "'float'"},
    {"buffer for __local", {SIG_BUF(FRONTA_INT32)}, 1,
     "__kernel void ft_sig(__local uint *x) { x[0] = 1; }\n", 0,
     "FRONTA_ARG_BUFFER of FRONTA_INT32", "__local uint *"},
};

/* The task of a case: a buffer of the parameter's type for a buffer
 * (zeros in `data`; OUT, so that a second task runs after the failed
 * first instead of failing with FRONTA_EDEPFAILED), a value for a scalar. */
static fronta_task_desc_t sig_task(fronta_runtime_t *rt, fronta_kernel_t *k, const sigcase_t *c,
                                   fronta_buffer_t **b, void *data, size_t n)
{
    fronta_task_desc_t t = ft_task(k, FRONTA_NEED_OPENCL, FT_NOARG, FT_NOARG, FT_NOARG);
    t.global = n;
    *b = NULL;
    for (size_t i = 0; i < c->nparams; i++) {
        switch (c->params[i].kind) {
        case FRONTA_ARG_BUFFER:
            assert_int_equal(fronta_buffer_wrap(rt, data, n, c->params[i].dtype, b), 0);
            t.args[i] = FRONTA_OUT(*b);
            break;
        case FRONTA_ARG_I32:
            t.args[i] = FRONTA_I32(3);
            break;
        case FRONTA_ARG_I64:
            t.args[i] = FRONTA_I64(3);
            break;
        default:
            t.args[i] = FRONTA_F32(3.0f);
            break;
        }
    }
    return t;
}

/* Each case fails its future with FRONTA_EARG naming the kernel, the
 * argument, what it is declared and what the function takes -- twice (the
 * failure is not cached as a kernel object), on an OpenCL-only kernel
 * with NEED_OPENCL, and nothing is written. */
static void signature_mismatch_fails(void **state)
{
    (void)state;
    fronta_runtime_t *rt = sig_runtime();
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    fronta_device_stats_t s0 = ft_dstats(rt, cl);
    for (size_t i = 0; i < sizeof sig_cases / sizeof sig_cases[0]; i++) {
        const sigcase_t *c = &sig_cases[i];
        char name[32], want[128];
        snprintf(name, sizeof name, "sig.bad%zu", i);
        fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .params = c->params,
                                  .nparams = c->nparams, .cl_source = c->source,
                                  .cl_entry = "ft_sig"};
        fronta_kernel_t *k = NULL;
        assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
        enum { N = 16 };
        uint64_t data[N] = {0}, zero[N] = {0};
        fronta_buffer_t *b;
        fronta_task_desc_t t = sig_task(rt, k, c, &b, data, N);
        for (int round = 0; round < 2; round++) {
            fronta_future_t *f = ft_submit_ok(rt, &t);
            FT_EXPECT_OUTCOME(f, FRONTA_EARG);
            const char *msg = ft_message(f);
            snprintf(want, sizeof want, "kernel '%s': argument %u is declared %s but", name,
                     c->arg, c->declared);
            if (!strstr(msg, want) || !strstr(msg, c->takes))
                fail_msg("%s, round %d: the message does not say \"%s ... %s\": %s", c->what,
                         round, want, c->takes, msg);
            fronta_future_release(f);
        }
        if (b)
            assert_int_equal(fronta_buffer_destroy(b), 0);
        assert_memory_equal(data, zero, sizeof data);
    }
    /* No fallback without a CPU implementation; the device still works. */
    assert_int_equal(ft_dstats(rt, cl).fallbacks, s0.fallbacks);
    fronta_kernel_t *good = ft_kernel_make(rt, "ft_add_const", ".sig", FT_IMPL_CL);
    uint32_t x[5] = {0};
    fronta_buffer_t *bx;
    assert_int_equal(fronta_buffer_wrap(rt, x, 5, FRONTA_INT32, &bx), 0);
    fronta_task_desc_t t = ft_task(good, FRONTA_NEED_OPENCL, FRONTA_INOUT(bx), FRONTA_I32(1),
                                   FT_NOARG);
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_destroy(bx), 0);
    assert_int_equal(x[4], 1 + 4);
    fronta_runtime_destroy(rt);
}

/* (e) y[i] += c + i, declared (I64, INT32 buffer) while its OpenCL
 * function takes a pointer first, as (a). */
static const fronta_param_t sig_fb_params[] = {
    {.kind = FRONTA_ARG_I64},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT, .count = FRONTA_COUNT_GLOBAL},
};

static int k_sig_fb(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    uint32_t *y = a[1].ptr;
    for (size_t i = 0; i < n; i++)
        y[i] = ft_model_add_const(y[i], (int32_t)a[0].v.i64, i);
    return 0;
}

/* With a CPU implementation and NEED_ANY the mismatch falls back to the
 * pool and the result is the CPU implementation's. The task is steered to
 * the device by its buffer's queued last writer (as in invalid_source). */
static void signature_mismatch_falls_back(void **state)
{
    (void)state;
    fronta_runtime_t *rt = sig_runtime();
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "sig.fb", .params = sig_fb_params,
                              .nparams = 2, .cpu = k_sig_fb,
                              .cl_source = "__kernel void ft_sig(__global uchar *x, "
                                           "__global uint *y) { }\n",
                              .cl_entry = "ft_sig"};
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    fronta_kernel_t *good = ft_kernel_make(rt, "ft_add_const", ".sigfb", FT_IMPL_BOTH);
    enum { N = 29 };
    uint32_t data[N], model[N];
    for (size_t i = 0; i < N; i++)
        data[i] = model[i] = (uint32_t)(3 * i);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, data, N, FRONTA_INT32, &b), 0);
    fronta_device_stats_t s0 = ft_dstats(rt, cl);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    fronta_task_desc_t tw = ft_task(good, FRONTA_NEED_OPENCL, FRONTA_INOUT(b), FRONTA_I32(1),
                                    FT_NOARG);
    tw.after = &g;
    tw.nafter = 1;
    fronta_future_t *fw = ft_submit_ok(rt, &tw);
    fronta_task_desc_t tb = ft_task(k, FRONTA_NEED_ANY, FRONTA_I64(5), FRONTA_INOUT(b), FT_NOARG);
    fronta_future_t *fb = ft_submit_ok(rt, &tb);
    if (fronta_future_device(fb) != cl)
        fail_msg("the task was placed on %d, not on the device %d", fronta_future_device(fb),
                 cl);
    ft_gate_open(&gate);
    FT_EXPECT_OUTCOME(fw, 0);
    FT_EXPECT_OUTCOME(fb, 0);
    assert_int_equal(fronta_future_device(fb), 0);
    assert_int_equal(ft_dstats(rt, cl).fallbacks, s0.fallbacks + 1);
    for (size_t j = 0; j < N; j++)
        model[j] = ft_model_add_const(ft_model_add_const(model[j], 1, j), 5, j);
    fronta_future_release(g);
    fronta_future_release(fw);
    fronta_future_release(fb);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_memory_equal(data, model, sizeof data);
    fronta_runtime_destroy(rt);
}

/* (f) Spellings of a correct signature: const, restrict, __constant, the
 * unprefixed "global", uint and ulong for I32 and I64, a typedef'd
 * element type, and a uchar pointer for a buffer of any type. */
#define SIG_OK_SOURCE                                                          \
    "typedef float real;\n"                                                    \
    "__kernel void ft_sig_ok(const __global float *restrict x, __constant float *w,\n" \
    "    __global uint *y, uint a, ulong b, global long *z, __global real *r,\n" \
    "    __global const uchar *any, const double s)\n"                          \
    "{ size_t i = get_global_id(0);\n"                                         \
    "  y[i] = (uint)(x[i] * w[1]) + a; z[i] = (long)b + (long)i + any[0];\n"  \
    "  r[i] = r[i] * (real)s; }\n"

static void signature_spellings_accepted(void **state)
{
    (void)state;
    fronta_runtime_t *rt = sig_runtime();
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    static const fronta_param_t p[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_ANY},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_GLOBAL},
        {.kind = FRONTA_ARG_I32},
        {.kind = FRONTA_ARG_I64},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_GLOBAL},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_INOUT, .count = FRONTA_COUNT_GLOBAL},
        {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_ANY},
        {.kind = FRONTA_ARG_F64},
    };
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "ft_sig_ok", .params = p,
                              .nparams = sizeof p / sizeof p[0], .cl_source = SIG_OK_SOURCE};
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    enum { N = 13 };
    float x[N], w[2] = {0.0f, 2.0f}, r[N];
    uint32_t y[N] = {0};
    int64_t z[N] = {0};
    int32_t any[1] = {7}; /* little-endian: its first byte is 7 */
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)i;
        r[i] = (float)i;
    }
    fronta_buffer_t *bx, *bw, *by, *bz, *br, *bany;
    assert_int_equal(fronta_buffer_wrap(rt, x, N, FRONTA_FLOAT, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(rt, w, 2, FRONTA_FLOAT, &bw), 0);
    assert_int_equal(fronta_buffer_wrap(rt, y, N, FRONTA_INT32, &by), 0);
    assert_int_equal(fronta_buffer_wrap(rt, z, N, FRONTA_INT64, &bz), 0);
    assert_int_equal(fronta_buffer_wrap(rt, r, N, FRONTA_FLOAT, &br), 0);
    assert_int_equal(fronta_buffer_wrap(rt, any, 1, FRONTA_INT32, &bany), 0);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k,
                            .args = {FRONTA_IN(bx), FRONTA_IN(bw), FRONTA_OUT(by),
                                     FRONTA_I32(100), FRONTA_I64(INT64_C(1) << 40),
                                     FRONTA_OUT(bz), FRONTA_INOUT(br), FRONTA_IN(bany),
                                     FRONTA_F64(0.5)},
                            .needs = {.device = FRONTA_NEED_OPENCL}};
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, 0);
    assert_int_equal(fronta_future_device(f), cl);
    fronta_future_release(f);
    fronta_buffer_t *bs[] = {bx, bw, by, bz, br, bany};
    for (size_t i = 0; i < sizeof bs / sizeof bs[0]; i++)
        assert_int_equal(fronta_buffer_destroy(bs[i]), 0);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(y[i], 2 * i + 100);
        assert_true(z[i] == (INT64_C(1) << 40) + (int64_t)i + 7);
        assert_true(r[i] == (float)i * 0.5f);
    }
    fronta_runtime_destroy(rt);
}

/* ---- device lists ----------------------------------------------------- */

static void unknown_device_fails_create(void **state)
{
    (void)state;
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "no-such-dev-42"};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), FRONTA_ENODEV);
    assert_null(rt);
    setenv("FRONTA_DEVICES", "cpu,no-such-dev-42", 1);
    cfg.devices = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), FRONTA_ENODEV);
    assert_null(rt);
    unsetenv("FRONTA_DEVICES");
}

/* ---- allocation failures ---------------------------------------------- */

typedef union hdr {
    max_align_t align;
    size_t size;
} hdr_t;

typedef struct failing {
    atomic_long calls;
    atomic_long fail_at;   /* the request to fail; 0: none */
    atomic_long failed;
    atomic_long live;
} failing_t;

static void *failing_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    failing_t *c = ud;
    (void)old_size;
    hdr_t *h = ptr ? (hdr_t *)ptr - 1 : NULL;
    if (new_size == 0) {
        if (h) {
            atomic_fetch_sub(&c->live, 1);
            free(h);
        }
        return NULL;
    }
    long n = atomic_fetch_add(&c->calls, 1) + 1;
    if (n == atomic_load(&c->fail_at)) {
        atomic_fetch_add(&c->failed, 1);
        return NULL;
    }
    hdr_t *nh = realloc(h, sizeof *nh + new_size);
    if (!nh)
        return NULL;
    nh->size = new_size;
    if (!h)
        atomic_fetch_add(&c->live, 1);
    return nh + 1;
}

/* Fail the k-th allocation from now, whoever makes it, for each k over a
 * buffer_create and two kernel submissions: each call either works or
 * returns FRONTA_ENOMEM with no effect; a task whose allocation failed in a
 * worker fails with FRONTA_ENOMEM. The buffer always holds the effect of
 * the tasks that finished, and the runtime works afterwards. */
static void submit_under_failing_allocation(void **state)
{
    (void)state;
    failing_t c;
    atomic_init(&c.calls, 0);
    atomic_init(&c.fail_at, 0);
    atomic_init(&c.failed, 0);
    atomic_init(&c.live, 0);
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "all",
                           .alloc = failing_alloc, .alloc_ud = &c,
                           .log_level = FRONTA_LOG_OFF};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    int cl = ft_cl_device(rt, 0);
    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_BOTH);
    enum { N = 41 };
    uint32_t data[N], model[N];
    for (size_t i = 0; i < N; i++)
        data[i] = model[i] = (uint32_t)i;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, data, N, FRONTA_INT32, &b), 0);

    long span = 0, nomem_calls = 0, nomem_tasks = 0;
    for (long kk = 0;; kk++) {
        fronta_need_t need = (cl >= 0 && (kk & 1)) ? FRONTA_NEED_OPENCL : FRONTA_NEED_CPU_POOL;
        long start = atomic_load(&c.calls);
        if (kk > 0)
            atomic_store(&c.fail_at, start + kk);
        fronta_buffer_t *nb = (fronta_buffer_t *)&nb;
        int rc1 = fronta_buffer_create(rt, N, FRONTA_INT32, &nb);
        if (rc1 != 0 && rc1 != FRONTA_ENOMEM)
            fail_msg("k %ld: buffer_create: %s", kk, fronta_err_name(rc1));
        fronta_task_desc_t t = ft_task(k.add_const, need, FRONTA_INOUT(b), FRONTA_I32((int32_t)kk),
                                       FT_NOARG);
        fronta_future_t *f1 = (fronta_future_t *)&f1, *f2 = NULL;
        int rc2 = fronta_submit(rt, &t, &f1);
        if (rc2 != 0 && rc2 != FRONTA_ENOMEM)
            fail_msg("k %ld: submit: %s", kk, fronta_err_name(rc2));
        if (rc2 != 0 && f1 != NULL)
            fail_msg("k %ld: failed submit left *out set", kk);
        int rc3 = 0;
        if (rc1 == 0) {
            fronta_task_desc_t t2 = ft_task(k.copy_scaled, need, FRONTA_IN(b), FRONTA_OUT(nb),
                                            FRONTA_I32(3));
            rc3 = fronta_submit(rt, &t2, &f2);
            if (rc3 != 0 && rc3 != FRONTA_ENOMEM)
                fail_msg("k %ld: submit 2: %s", kk, fronta_err_name(rc3));
        }
        long end = atomic_load(&c.calls);
        atomic_store(&c.fail_at, 0);
        nomem_calls += (rc1 != 0) + (rc2 != 0) + (rc3 != 0);

        if (rc2 == 0) {
            int e = ft_outcome(f1);
            if (e == 0) {
                for (size_t j = 0; j < N; j++)
                    model[j] = ft_model_add_const(model[j], (int32_t)kk, j);
            } else if (e == FRONTA_ENOMEM) {
                nomem_tasks++;
                /* The buffer's last writer failed: clear it with OUT. */
                void *p;
                assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
                memcpy(p, model, sizeof model);
                assert_int_equal(fronta_buffer_release(b), 0);
            } else {
                fail_msg("k %ld: task: %s (%s)", kk, fronta_err_name(e), ft_message(f1));
            }
            fronta_future_release(f1);
        }
        if (rc1 == 0 && rc3 == 0) {
            int e = ft_outcome(f2);
            if (e != 0 && e != FRONTA_ENOMEM && e != FRONTA_EDEPFAILED)
                fail_msg("k %ld: task 2: %s (%s)", kk, fronta_err_name(e), ft_message(f2));
            nomem_tasks += e != 0;
            if (e == 0) {
                uint32_t want[N];
                for (size_t j = 0; j < N; j++)
                    want[j] = ft_model_copy_scaled(model[j], 3, j);
                ft_check_buffer(nb, want, N, "the copy");
            }
            fronta_future_release(f2);
        }
        if (rc1 == 0)
            assert_int_equal(fronta_buffer_destroy(nb), 0);
        ft_check_buffer(b, model, N, "the buffer after a failing allocation");
        if (kk == 0)
            span = end - start;
        if (kk > 2 * span + 8)
            break;
    }
    print_message("[ info     ] %ld allocations per round, %ld calls and %ld tasks saw ENOMEM,"
                  " %ld failures injected\n",
                  span, nomem_calls, nomem_tasks, atomic_load(&c.failed));
    assert_true(span > 0);
    assert_true(nomem_calls > 0);

    /* The runtime still works, on every device. */
    for (int w = 0; w < (cl >= 0 ? 2 : 1); w++) {
        fronta_task_desc_t t = ft_task(k.add_const, w ? FRONTA_NEED_OPENCL : FRONTA_NEED_CPU_POOL,
                                       FRONTA_INOUT(b), FRONTA_I32(7), FT_NOARG);
        fronta_future_t *f = ft_submit_ok(rt, &t);
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
        for (size_t j = 0; j < N; j++)
            model[j] = ft_model_add_const(model[j], 7, j);
    }
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_memory_equal(data, model, sizeof data);
    fronta_runtime_destroy(rt);
    if (atomic_load(&c.live) != 0)
        fail_msg("%ld blocks leaked", atomic_load(&c.live));
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry),
        cmocka_unit_test(submit_null_arguments),
        cmocka_unit_test(validate_cpu_pool),
        cmocka_unit_test(validate_opencl),
        cmocka_unit_test(cpu_kernel_arguments),
        cmocka_unit_test(builtin_kernels),
        cmocka_unit_test(invalid_source),
        cmocka_unit_test(signature_mismatch_fails),
        cmocka_unit_test(signature_mismatch_falls_back),
        cmocka_unit_test(signature_spellings_accepted),
        cmocka_unit_test(unknown_device_fails_create),
        cmocka_unit_test(submit_under_failing_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
