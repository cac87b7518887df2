/* test_kernel_generic.c — OpenCL type variants, 2-D and rounded launches, scratch, passes. */
#include "test_kernels.h"

#include <dirent.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------- */

static const fronta_dtype_t all_dtypes[] = {FRONTA_UINT8, FRONTA_INT32, FRONTA_INT64,
                                            FRONTA_FLOAT, FRONTA_DOUBLE};
#define NDTYPES (sizeof all_dtypes / sizeof all_dtypes[0])

static const char *const dtype_words[] = {"?", "uint8", "int32", "int64", "float", "double"};

static fronta_runtime_t *gen_runtime(void)
{
    return ft_runtime_dev("all", 0);
}

static fronta_kernel_t *make_kernel(fronta_runtime_t *rt, const fronta_kernel_desc_t *d)
{
    fronta_kernel_t *k = NULL;
    int rc = fronta_kernel_create(rt, d, &k);
    if (rc != 0)
        fail_msg("fronta_kernel_create(%s): %s", d->name, fronta_err_name(rc));
    assert_non_null(k);
    return k;
}

/* A runtime-owned buffer holding n elements copied from data (zeros for
 * NULL). */
static fronta_buffer_t *buf_new(fronta_runtime_t *rt, fronta_dtype_t dt, const void *data,
                                size_t n)
{
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_create(rt, n, dt, &b), 0);
    if (data) {
        void *p = NULL;
        assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
        memcpy(p, data, n * fronta_dtype_size(dt));
        assert_int_equal(fronta_buffer_release(b), 0);
    }
    return b;
}

/* b's contents into out (n elements). */
static void buf_read(fronta_buffer_t *b, void *out, size_t n)
{
    void *p = NULL;
    int rc = fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p);
    if (rc != 0)
        fail_msg("acquire IN: %s", fronta_err_name(rc));
    memcpy(out, p, n * fronta_dtype_size(fronta_buffer_dtype(b)));
    assert_int_equal(fronta_buffer_release(b), 0);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* Random contents of n elements of dt; floats small integers and halves,
 * so that sums stay exact. */
static void fill_random(void *p, fronta_dtype_t dt, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ft_rand(s);
        switch (dt) {
        case FRONTA_UINT8:
            ((uint8_t *)p)[i] = (uint8_t)r;
            break;
        case FRONTA_INT32:
            ((uint32_t *)p)[i] = (uint32_t)r;
            break;
        case FRONTA_INT64:
            ((uint64_t *)p)[i] = r;
            break;
        case FRONTA_FLOAT:
            ((float *)p)[i] = (float)((int)(r % 4001) - 2000) * 0.5f;
            break;
        default:
            ((double *)p)[i] = (double)((int64_t)(r % 2000001) - 1000000) * 0.25;
            break;
        }
    }
}

/* Submit t, expect `want`, release. */
static void run_expect(fronta_runtime_t *rt, const fronta_task_desc_t *t, int want,
                       const char *what)
{
    fronta_future_t *f = ft_submit_ok(rt, t);
    int got = ft_outcome(f);
    if (got != want)
        fail_msg("%s: expected %s, got %s (%s)", what, fronta_err_name(want),
                 fronta_err_name(got), ft_message(f));
    fronta_future_release(f);
}

#define FP64_PRAGMA                                                            \
    "#ifdef FRONTA_FP64\n#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n#endif\n"

/* ---- one kernel, every dtype: y[i] = x[i] + (T0)i --------------------- */

/* z describes the variant: S0, K0, sizeof T0 and U0, U0 unsigned for
 * integers (float for floats), FRONTA_FP64, S1 * 10 + S2. */
static const char addi_source[] =
    FP64_PRAGMA
    "__kernel void gen_addi(__global const T0 *x, __global T1 *y, __global int *z)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    y[i] = (T1)((U0)x[i] + (U0)i);\n"
    "    if (i == 0) {\n"
    "        z[0] = S0; z[1] = K0; z[2] = (int)sizeof(T0) * 100 + (int)sizeof(U0);\n"
    "#if K0 == 2\n"
    "        z[3] = (U0)-1 < (U0)0;\n"
    "#else\n"
    "        z[3] = (U0)0 < (U0)-1;\n"
    "#endif\n"
    "#ifdef FRONTA_FP64\n"
    "        z[4] = 1;\n"
    "#else\n"
    "        z[4] = 0;\n"
    "#endif\n"
    "        z[5] = S1 * 10 + S2;\n"
    "    }\n"
    "}\n";

enum { ADDI_Z = 6 };

/* The reference (and the CPU implementation's) y[i] of x[i]. */
static void addi_ref(fronta_dtype_t dt, const void *x, void *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        switch (dt) {
        case FRONTA_UINT8:
            ((uint8_t *)y)[i] = (uint8_t)(((const uint8_t *)x)[i] + (uint8_t)i);
            break;
        case FRONTA_INT32:
            ((uint32_t *)y)[i] = ((const uint32_t *)x)[i] + (uint32_t)i;
            break;
        case FRONTA_INT64:
            ((uint64_t *)y)[i] = ((const uint64_t *)x)[i] + (uint64_t)i;
            break;
        case FRONTA_FLOAT:
            ((float *)y)[i] = ((const float *)x)[i] + (float)i;
            break;
        default:
            ((double *)y)[i] = ((const double *)x)[i] + (double)i;
            break;
        }
}

static void addi_z(fronta_dtype_t dt, int32_t *z)
{
    int32_t s = (int32_t)fronta_dtype_size(dt);
    int32_t k = dt == FRONTA_UINT8 ? 0 : dt >= FRONTA_FLOAT ? 2 : 1;
    int32_t want[ADDI_Z] = {s, k, s * 100 + s, 1, dt == FRONTA_DOUBLE, s * 10 + 4};
    memcpy(z, want, sizeof want);
}

static int cpu_addi(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)na;
    fronta_dtype_t dt = fronta_ctx_arg_dtype(ctx, 0);
    if (!dt || fronta_ctx_arg_dtype(ctx, 1) != dt)
        return FRONTA_EINVAL;
    addi_ref(dt, a[0].ptr, a[1].ptr, n);
    addi_z(dt, a[2].ptr);
    return 0;
}

static const fronta_param_t addi_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_ALL, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_OUT},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_EXACT, .n = ADDI_Z},
};

static void addi_once(fronta_runtime_t *rt, fronta_kernel_t *k, fronta_dtype_t dt, size_t n,
                      fronta_need_t need, uint64_t *seed)
{
    size_t es = fronta_dtype_size(dt);
    void *x = xmalloc(n * es), *y = xmalloc(n * es), *want = xmalloc(n * es);
    fill_random(x, dt, n, seed);
    addi_ref(dt, x, want, n);
    fronta_buffer_t *bx = buf_new(rt, dt, x, n), *by = buf_new(rt, dt, NULL, n);
    fronta_buffer_t *bz = buf_new(rt, FRONTA_INT32, NULL, ADDI_Z);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k,
                            .args = {FRONTA_IN(bx), FRONTA_OUT(by), FRONTA_OUT(bz)},
                            .needs = {.device = need}};
    char what[64];
    snprintf(what, sizeof what, "addi %s n=%zu need %d", dtype_words[dt], n, (int)need);
    run_expect(rt, &t, 0, what);
    int32_t z[ADDI_Z], zw[ADDI_Z];
    buf_read(by, y, n);
    buf_read(bz, z, ADDI_Z);
    addi_z(dt, zw);
    for (size_t i = 0; i < n; i++)
        if (memcmp((char *)y + i * es, (char *)want + i * es, es))
            fail_msg("%s: y[%zu] differs from the reference", what, i);
    for (int i = 0; i < ADDI_Z; i++)
        if (z[i] != zw[i])
            fail_msg("%s: variant fact %d is %d, expected %d", what, i, z[i], zw[i]);
    assert_int_equal(fronta_buffer_destroy(bx), 0);
    assert_int_equal(fronta_buffer_destroy(by), 0);
    assert_int_equal(fronta_buffer_destroy(bz), 0);
    free(x);
    free(y);
    free(want);
}

/* Interleaved dtypes, twice over: a variant taken for another type (a
 * cache keyed by the kernel alone) gives wrong facts or a failed
 * signature check. */
static void every_dtype(void **state)
{
    (void)state;
    uint64_t seed = ft_seed("every_dtype");
    fronta_runtime_t *rt = gen_runtime();
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "gen.addi", .params = addi_params,
                              .nparams = 3, .cpu = cpu_addi, .cl_source = addi_source,
                              .cl_entry = "gen_addi"};
    fronta_kernel_t *k = make_kernel(rt, &d);
    static const size_t sizes[] = {1, 257, 4099};
    for (int round = 0; round < 2; round++)
        for (size_t j = 0; j < NDTYPES; j++) {
            fronta_dtype_t dt = all_dtypes[(j * 3 + (size_t)round) % NDTYPES];
            addi_once(rt, k, dt, sizes[(j + (size_t)round) % 3], FRONTA_NEED_OPENCL, &seed);
            addi_once(rt, k, dt, 97, FRONTA_NEED_CPU_POOL, &seed);
        }
    fronta_runtime_destroy(rt);
}

/* ---- FRONTA_ARG_SCALAR of each kind: x[i] = v + (i & 7) ---------------- */

static const char fill_source[] =
    FP64_PRAGMA
    "__kernel void gen_fill(__global T0 *x, T1 v)\n"
    "{ size_t i = get_global_id(0); x[i] = (T0)(v + (T1)(i & 7)); }\n";

static const fronta_param_t fill_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_ALL, .access = FRONTA_ACCESS_OUT},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
};

static void fill_ref(fronta_dtype_t dt, const fronta_karg_t *v, void *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned j = (unsigned)(i & 7);
        switch (dt) {
        case FRONTA_UINT8:
            ((uint8_t *)x)[i] = (uint8_t)((uint32_t)v->v.i32 + j);
            break;
        case FRONTA_INT32:
            ((uint32_t *)x)[i] = (uint32_t)v->v.i32 + j;
            break;
        case FRONTA_INT64:
            ((uint64_t *)x)[i] = (uint64_t)v->v.i64 + j;
            break;
        case FRONTA_FLOAT:
            ((float *)x)[i] = v->v.f32 + (float)j;
            break;
        default:
            ((double *)x)[i] = v->v.f64 + (double)j;
            break;
        }
    }
}

static int cpu_fill(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)na;
    fill_ref(fronta_ctx_arg_dtype(ctx, 0), &a[1], a[0].ptr, n);
    return 0;
}

/* 300 does not fit a uint8 (the kernel wraps it), 2^40 + 3 no int32, and
 * 0.1 as a float is not 0.1 as a double: a value passed as the wrong kind
 * shows. */
static void scalar_kinds(void **state)
{
    (void)state;
    fronta_runtime_t *rt = gen_runtime();
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "gen.fill", .params = fill_params,
                              .nparams = 2, .cpu = cpu_fill, .cl_source = fill_source,
                              .cl_entry = "gen_fill"};
    fronta_kernel_t *k = make_kernel(rt, &d);
    const fronta_arg_t values[NDTYPES] = {FRONTA_I32(300), FRONTA_I32(-7),
                                          FRONTA_I64((INT64_C(1) << 40) + 3),
                                          FRONTA_F32(0.1f), FRONTA_F64(0.1)};
    enum { N = 77 };
    for (size_t j = 0; j < NDTYPES; j++) {
        fronta_dtype_t dt = all_dtypes[j];
        size_t es = fronta_dtype_size(dt);
        fronta_karg_t kv = {.ptr = NULL};
        memcpy(&kv.v, &values[j].v, sizeof kv.v);
        unsigned char want[N * 8], got[N * 8];
        fill_ref(dt, &kv, want, N);
        static const fronta_need_t needs[] = {FRONTA_NEED_OPENCL, FRONTA_NEED_CPU_POOL};
        for (size_t p = 0; p < 2; p++) {
            fronta_buffer_t *b = buf_new(rt, dt, NULL, N);
            fronta_task_desc_t t = {.size = sizeof t, .kernel = k,
                                    .args = {FRONTA_OUT(b), values[j]},
                                    .needs = {.device = needs[p]}};
            char what[64];
            snprintf(what, sizeof what, "fill %s need %d", dtype_words[dt], (int)needs[p]);
            run_expect(rt, &t, 0, what);
            buf_read(b, got, N);
            for (size_t i = 0; i < N; i++)
                if (memcmp(got + i * es, want + i * es, es))
                    fail_msg("%s: x[%zu] differs from the reference", what, i);
            assert_int_equal(fronta_buffer_destroy(b), 0);
        }
    }
    fronta_runtime_destroy(rt);
}

/* ---- one program per variant ----------------------------------------- */

/* The programs in the disk cache directory dir (its .clbin files);
 * remove: delete them, and dir. */
static int cache_files(const char *dir, int remove)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 6, ".clbin"))
            continue;
        n++;
        if (remove) {
            char path[600];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    if (remove)
        rmdir(dir);
    return n;
}

/* In a fresh cache directory: two dtypes give two programs (a variant
 * each, built with its own options), and running them again builds
 * nothing more. Costs two cold builds per run, so only two dtypes. */
static void variants_cached(void **state)
{
    (void)state;
    char dir[] = "/tmp/fronta-gen-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *old = getenv("FRONTA_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("FRONTA_CACHE_DIR", dir, 1);
    fronta_runtime_t *rt = gen_runtime();
    if (saved)
        setenv("FRONTA_CACHE_DIR", saved, 1);
    else
        unsetenv("FRONTA_CACHE_DIR");
    free(saved);
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "gen.fill", .params = fill_params,
                              .nparams = 2, .cpu = cpu_fill, .cl_source = fill_source,
                              .cl_entry = "gen_fill"};
    fronta_kernel_t *k = make_kernel(rt, &d);
    enum { N = 9 };
    for (int round = 0; round < 2; round++) {
        int32_t xi[N];
        float xf[N];
        fronta_buffer_t *bi = buf_new(rt, FRONTA_INT32, NULL, N);
        fronta_buffer_t *bf = buf_new(rt, FRONTA_FLOAT, NULL, N);
        fronta_task_desc_t ti = {.size = sizeof ti, .kernel = k,
                                 .args = {FRONTA_OUT(bi), FRONTA_I32(-5 + round)},
                                 .needs = {.device = FRONTA_NEED_OPENCL}};
        fronta_task_desc_t tf = {.size = sizeof tf, .kernel = k,
                                 .args = {FRONTA_OUT(bf), FRONTA_F32(0.25f * (float)round)},
                                 .needs = {.device = FRONTA_NEED_OPENCL}};
        run_expect(rt, &ti, 0, "fill int32");
        run_expect(rt, &tf, 0, "fill float");
        buf_read(bi, xi, N);
        buf_read(bf, xf, N);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(xi[i], -5 + round + (int32_t)(i & 7));
            assert_true(xf[i] == 0.25f * (float)round + (float)(i & 7));
        }
        assert_int_equal(fronta_buffer_destroy(bi), 0);
        assert_int_equal(fronta_buffer_destroy(bf), 0);
        int files = cache_files(dir, 0);
        if (files != 2)
            fail_msg("round %d: %d programs in the cache, expected 2 (int32, float)", round,
                     files);
    }
    fronta_runtime_destroy(rt);
    cache_files(dir, 1);
}

/* ---- a variant whose function is wrong for some types ------------------ */

/* Right for FLOAT only: int64 buffers get an int pointer (argument 0),
 * and the scalar is a float whatever T1 is (argument 1 for INT32 and
 * DOUBLE). */
static const char bad_source[] =
    FP64_PRAGMA
    "#if K0 == 1 && S0 == 8\n#define E0 int\n#else\n#define E0 T0\n#endif\n"
    "__kernel void gen_bad(__global E0 *x, float a)\n"
    "{ x[get_global_id(0)] = (E0)a + (E0)get_global_id(0); }\n";

static const struct {
    fronta_dtype_t dt;
    int rc;
    const char *want; /* in the message */
    const char *takes;
} bad_cases[] = {
    {FRONTA_FLOAT, 0, NULL, NULL},
    {FRONTA_INT32, FRONTA_EARG, "argument 1 is declared FRONTA_ARG_SCALAR, here FRONTA_ARG_I32",
     "'float'"},
    {FRONTA_INT64, FRONTA_EARG,
     "argument 0 is declared FRONTA_ARG_BUFFER of a type family, here FRONTA_INT64 (-DT0=long)",
     "__global int *"},
    {FRONTA_DOUBLE, FRONTA_EARG, "argument 1 is declared FRONTA_ARG_SCALAR, here FRONTA_ARG_F64",
     "'float'"},
    {FRONTA_FLOAT, 0, NULL, NULL}, /* the failures spoilt nothing */
};

/* Each case twice (a failure is not cached as a kernel object), on an
 * OpenCL-only kernel: FRONTA_EARG naming the argument and both types,
 * nothing written; the FLOAT variant runs before and after. */
static void variant_signature(void **state)
{
    (void)state;
    fronta_runtime_t *rt = gen_runtime();
    static const fronta_param_t p[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_NUMERIC, .access = FRONTA_ACCESS_OUT},
        {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
    };
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "gen.bad", .params = p, .nparams = 2,
                              .cl_source = bad_source, .cl_entry = "gen_bad"};
    fronta_kernel_t *k = make_kernel(rt, &d);
    enum { N = 19 };
    for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
        fronta_dtype_t dt = bad_cases[c].dt;
        uint64_t data[N] = {0}, zero[N] = {0};
        fronta_buffer_t *b;
        assert_int_equal(fronta_buffer_wrap(rt, data, N, dt, &b), 0);
        fronta_arg_t a = dt == FRONTA_INT32   ? FRONTA_I32(2)
                         : dt == FRONTA_INT64 ? FRONTA_I64(2)
                         : dt == FRONTA_FLOAT ? FRONTA_F32(2.0f)
                                              : FRONTA_F64(2.0);
        fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .args = {FRONTA_OUT(b), a},
                                .needs = {.device = FRONTA_NEED_OPENCL}};
        for (int round = 0; round < 2; round++) {
            fronta_future_t *f = ft_submit_ok(rt, &t);
            int got = ft_outcome(f);
            const char *msg = ft_message(f);
            if (got != bad_cases[c].rc)
                fail_msg("gen.bad %s: expected %s, got %s (%s)", dtype_words[dt],
                         fronta_err_name(bad_cases[c].rc), fronta_err_name(got), msg);
            if (bad_cases[c].want &&
                (!strstr(msg, "kernel 'gen.bad'") || !strstr(msg, bad_cases[c].want) ||
                 !strstr(msg, bad_cases[c].takes)))
                fail_msg("gen.bad %s: the message does not say \"%s ... %s\": %s",
                         dtype_words[dt], bad_cases[c].want, bad_cases[c].takes, msg);
            fronta_future_release(f);
        }
        assert_int_equal(fronta_buffer_destroy(b), 0);
        if (bad_cases[c].rc) {
            assert_memory_equal(data, zero, sizeof data);
            continue;
        }
        const float *x = (const float *)data;
        for (size_t i = 0; i < N; i++)
            assert_true(x[i] == 2.0f + (float)i);
    }
    fronta_runtime_destroy(rt);
}

/* ---- 2-D launches ------------------------------------------------------ */

/* m[r][c] = r * 1000 + c over the NDRange; l: the work-group, the
 * dimensions and the row count item (0, 0) saw. */
static const char idx2_source[] =
    "__kernel void gen_idx2(__global int *m, __global int *l)\n"
    "{\n"
    "    size_t c = get_global_id(0), r = get_global_id(1), cols = get_global_size(0);\n"
    "    m[r * cols + c] = (int)(r * 1000 + c);\n"
    "    if (r == 0 && c == 0) {\n"
    "        l[0] = (int)get_local_size(0); l[1] = (int)get_local_size(1);\n"
    "        l[2] = (int)get_work_dim(); l[3] = (int)get_global_size(1);\n"
    "    }\n"
    "}\n";

static void idx2_run(fronta_runtime_t *rt, fronta_kernel_t *k, size_t rows, size_t cols,
                     size_t lrows, size_t lcols, int dims)
{
    size_t n = rows * cols;
    fronta_buffer_t *bm = buf_new(rt, FRONTA_INT32, NULL, n);
    fronta_buffer_t *bl = buf_new(rt, FRONTA_INT32, NULL, 4);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .args = {FRONTA_OUT(bm), FRONTA_OUT(bl)},
                            .needs = {.device = FRONTA_NEED_OPENCL}};
    if (dims == 2) {
        t.rows = rows;
        t.cols = cols;
        t.local_rows = lrows;
        t.local_cols = lcols;
    } else {
        t.global = n;
    }
    char what[80];
    snprintf(what, sizeof what, "idx2 %zu x %zu local %zu x %zu dims %d", rows, cols, lrows,
             lcols, dims);
    run_expect(rt, &t, 0, what);
    int32_t *m = xmalloc(n * sizeof *m), l[4];
    buf_read(bm, m, n);
    buf_read(bl, l, 4);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            if (m[r * cols + c] != (int32_t)(r * 1000 + c))
                fail_msg("%s: m[%zu][%zu] = %d", what, r, c, m[r * cols + c]);
    if (l[2] != dims || l[3] != (int32_t)rows)
        fail_msg("%s: work dim %d, %d rows", what, l[2], l[3]);
    if (lcols && (l[0] != (int32_t)lcols || l[1] != (int32_t)lrows))
        fail_msg("%s: work-group %d x %d", what, l[1], l[0]);
    free(m);
    assert_int_equal(fronta_buffer_destroy(bm), 0);
    assert_int_equal(fronta_buffer_destroy(bl), 0);
}

static void launch_2d(void **state)
{
    (void)state;
    fronta_runtime_t *rt = gen_runtime();
    static const fronta_param_t p[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT,
         .count = FRONTA_COUNT_EXACT, .n = 4},
    };
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "gen.idx2", .params = p, .nparams = 2,
                              .cl_source = idx2_source, .cl_entry = "gen_idx2"};
    fronta_kernel_t *k = make_kernel(rt, &d);
    idx2_run(rt, k, 37, 53, 0, 0, 2);
    idx2_run(rt, k, 32, 48, 4, 8, 2);
    idx2_run(rt, k, 1, 29, 1, 29, 2);
    idx2_run(rt, k, 1, 20, 0, 0, 1);
    fronta_runtime_destroy(rt);
}

/* ---- cl_local: rounded launches with shape arguments -------------------- */

/* Adds 1 to each element of the rows x cols launch, range-checked; info
 * tells what the function saw: its shape arguments and its NDRange. */
static const char mark_source[] =
    "__kernel void gen_mark(__global int *x, __global long *info, ulong rows, ulong cols,\n"
    "                       ulong nx, ulong ninfo)\n"
    "{\n"
    "    size_t c = get_global_id(0), r = get_global_id(1);\n"
    "    if (r < rows && c < cols)\n"
    "        x[r * cols + c] += 1;\n"
    "    if (r == 0 && c == 0) {\n"
    "        info[0] = (long)rows; info[1] = (long)cols; info[2] = (long)nx;\n"
    "        info[3] = (long)ninfo; info[4] = (long)get_global_size(0);\n"
    "        info[5] = (long)get_global_size(1); info[6] = (long)get_local_size(0);\n"
    "        info[7] = (long)get_local_size(1); info[8] = (long)get_work_dim();\n"
    "    }\n"
    "}\n";

enum { MARK_INFO = 9, GUARD = 40 };

static const fronta_param_t mark_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT,
     .count = FRONTA_COUNT_ANY},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_EXACT, .n = MARK_INFO},
};

static fronta_kernel_t *mark_kernel(fronta_runtime_t *rt, const char *name, size_t lx,
                                    size_t ly)
{
    fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .params = mark_params,
                              .nparams = 2, .cl_source = mark_source, .cl_entry = "gen_mark",
                              .flags = FRONTA_KERNEL_CL_SHAPE_ARGS, .cl_local = {lx, ly}};
    return make_kernel(rt, &d);
}

static size_t round_up(size_t v, size_t m)
{
    return (v + m - 1) / m * m;
}

/* A launch of rows x cols (rows 0: 1-D of cols) over a buffer with GUARD
 * elements beyond it: each element of the launch incremented once, the
 * guard untouched, the NDRange the expected one. */
static void mark_run(fronta_runtime_t *rt, fronta_kernel_t *k, size_t rows, size_t cols,
                     const int64_t want_range[5])
{
    size_t n = (rows ? rows : 1) * cols, nx = n + GUARD;
    int32_t *x = xmalloc(nx * sizeof *x);
    for (size_t i = 0; i < nx; i++)
        x[i] = (int32_t)i;
    fronta_buffer_t *bx = buf_new(rt, FRONTA_INT32, x, nx);
    fronta_buffer_t *bi = buf_new(rt, FRONTA_INT64, NULL, MARK_INFO);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k,
                            .args = {FRONTA_INOUT(bx), FRONTA_OUT(bi)},
                            .rows = rows, .cols = rows ? cols : 0, .global = rows ? 0 : cols,
                            .needs = {.device = FRONTA_NEED_OPENCL}};
    char what[96];
    snprintf(what, sizeof what, "%s %zu x %zu", fronta_kernel_name(k), rows, cols);
    run_expect(rt, &t, 0, what);
    int64_t info[MARK_INFO];
    buf_read(bx, x, nx);
    buf_read(bi, info, MARK_INFO);
    for (size_t i = 0; i < nx; i++)
        if (x[i] != (int32_t)i + (i < n))
            fail_msg("%s: x[%zu] = %d, expected %d (%s)", what, i, x[i], (int32_t)i + (i < n),
                     i < n ? "in the launch" : "beyond it");
    int64_t want[MARK_INFO] = {rows ? (int64_t)rows : 1, (int64_t)cols, (int64_t)nx, MARK_INFO,
                               want_range[0], want_range[1], want_range[2], want_range[3],
                               want_range[4]};
    for (int i = 0; i < MARK_INFO; i++)
        if (info[i] != want[i])
            fail_msg("%s: info[%d] = %lld, expected %lld", what, i, (long long)info[i],
                     (long long)want[i]);
    free(x);
    assert_int_equal(fronta_buffer_destroy(bx), 0);
    assert_int_equal(fronta_buffer_destroy(bi), 0);
}

/* A 2-D cl_local kernel is enqueued 2-D even for a 1-D launch (one row);
 * a 1-D cl_local kernel follows the task's dimensions, work-groups x by 1
 * for a 2-D launch. */
static void rounded_launch(void **state)
{
    (void)state;
    fronta_runtime_t *rt = gen_runtime();
    fronta_kernel_t *k2 = mark_kernel(rt, "gen.mark2", 16, 16);
    fronta_kernel_t *k1 = mark_kernel(rt, "gen.mark1", 64, 0);
    mark_run(rt, k2, 37, 53, (const int64_t[]){64, 48, 16, 16, 2});
    mark_run(rt, k2, 32, 16, (const int64_t[]){16, 32, 16, 16, 2});
    mark_run(rt, k2, 0, 100, (const int64_t[]){112, 16, 16, 16, 2});
    mark_run(rt, k1, 0, 100, (const int64_t[]){128, 1, 64, 1, 1});
    mark_run(rt, k1, 0, 1, (const int64_t[]){64, 1, 64, 1, 1});
    mark_run(rt, k1, 5, 70, (const int64_t[]){128, 5, 64, 1, 2});
    size_t big = (1u << 20) + 3;
    mark_run(rt, k1, 0, big, (const int64_t[]){(int64_t)round_up(big, 64), 1, 64, 1, 1});
    fronta_runtime_destroy(rt);
}

/* ---- cl_groups: a grid-stride loop over a capped NDRange --------------- */

static const char stride_source[] =
    "__kernel void gen_stride(__global int *x, __global int *info, ulong rows, ulong cols,\n"
    "                         ulong nx, ulong ninfo)\n"
    "{\n"
    "    ulong n = rows * cols;\n"
    "    for (size_t i = get_global_id(0); i < n; i += get_global_size(0))\n"
    "        x[i] += (int)(i % 1000) + 1;\n"
    "    if (get_global_id(0) == 0) {\n"
    "        info[0] = (int)get_global_size(0); info[1] = (int)get_num_groups(0);\n"
    "    }\n"
    "}\n";

static void groups_cap(void **state)
{
    (void)state;
    fronta_runtime_t *rt = gen_runtime();
    static const fronta_param_t p[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT,
         .count = FRONTA_COUNT_EXACT, .n = 2},
    };
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "gen.stride", .params = p, .nparams = 2,
                              .cl_source = stride_source, .cl_entry = "gen_stride",
                              .flags = FRONTA_KERNEL_CL_SHAPE_ARGS, .cl_local = {32, 0},
                              .cl_groups = {3, 0}};
    fronta_kernel_t *k = make_kernel(rt, &d);
    static const struct {
        size_t n;
        int32_t global, groups;
    } cases[] = {{1, 32, 1}, {10, 32, 1}, {64, 64, 2}, {65, 96, 3}, {96, 96, 3},
                 {97, 96, 3}, {100003, 96, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c].n;
        int32_t *x = xmalloc(n * sizeof *x), info[2];
        for (size_t i = 0; i < n; i++)
            x[i] = (int32_t)(3 * i);
        fronta_buffer_t *bx = buf_new(rt, FRONTA_INT32, x, n);
        fronta_buffer_t *bi = buf_new(rt, FRONTA_INT32, NULL, 2);
        fronta_task_desc_t t = {.size = sizeof t, .kernel = k,
                                .args = {FRONTA_INOUT(bx), FRONTA_OUT(bi)},
                                .needs = {.device = FRONTA_NEED_OPENCL}};
        run_expect(rt, &t, 0, "gen.stride");
        buf_read(bx, x, n);
        buf_read(bi, info, 2);
        for (size_t i = 0; i < n; i++)
            if (x[i] != (int32_t)(3 * i + i % 1000 + 1))
                fail_msg("gen.stride n=%zu: x[%zu] = %d", n, i, x[i]);
        if (info[0] != cases[c].global || info[1] != cases[c].groups)
            fail_msg("gen.stride n=%zu: %d work items in %d groups, expected %d in %d", n,
                     info[0], info[1], cases[c].global, cases[c].groups);
        free(x);
        assert_int_equal(fronta_buffer_destroy(bx), 0);
        assert_int_equal(fronta_buffer_destroy(bi), 0);
    }
    fronta_runtime_destroy(rt);
}

/* ---- scratch and passes: a two-pass sum -------------------------------- */

/* Pass 0: each work-group's sum of its 64 elements into scratch; pass 1:
 * group 0 adds the partials up in a fixed tree. Wrapping 64-bit sums:
 * exact whatever the data. */
static const char sum_source[] =
    "#define WG 64\n"
    "static ulong tree(__local ulong *acc, size_t l)\n"
    "{\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    for (size_t h = WG / 2; h > 0; h >>= 1) {\n"
    "        if (l < h) acc[l] += acc[l + h];\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    }\n"
    "    return acc[0];\n"
    "}\n"
    "__kernel void gen_sum(__global const T0 *x, __global long *s, ulong rows, ulong cols,\n"
    "                      ulong nx, ulong ns, __global ulong *part, uint pass)\n"
    "{\n"
    "    __local ulong acc[WG];\n"
    "    size_t l = get_local_id(0), g = get_group_id(0), ng = get_num_groups(0);\n"
    "    if (pass == 0) {\n"
    "        size_t i = get_global_id(0);\n"
    "        acc[l] = i < nx ? (ulong)(long)x[i] : 0;\n"
    "        ulong t = tree(acc, l);\n"
    "        if (l == 0) part[g] = t;\n"
    "    } else if (g == 0) {\n"
    "        ulong t = 0;\n"
    "        for (size_t j = l; j < ng; j += WG) t += part[j];\n"
    "        acc[l] = t;\n"
    "        t = tree(acc, l);\n"
    "        if (l == 0) s[0] = (long)t;\n"
    "    }\n"
    "}\n";

enum { SUM_WG = 64 };

static size_t sum_scratch(const fronta_karg_t *a, size_t na, size_t rows, size_t cols)
{
    (void)a;
    (void)na;
    return (rows * cols + SUM_WG - 1) / SUM_WG * sizeof(uint64_t);
}

static uint64_t sum_ref(fronta_dtype_t dt, const void *x, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += dt == FRONTA_INT32 ? (uint64_t)(int64_t)((const int32_t *)x)[i]
                                : ((const uint64_t *)x)[i];
    return s;
}

static int cpu_sum(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)na;
    uint64_t s = sum_ref(fronta_ctx_arg_dtype(ctx, 0), a[0].ptr, n);
    memcpy(a[1].ptr, &s, sizeof s);
    return 0;
}

static const fronta_param_t sum_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_INT, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_EXACT, .n = 1},
};

typedef struct sum_job {
    fronta_buffer_t *bx, *bs;
    fronta_future_t *f;
    uint64_t want;
    size_t n;
    fronta_dtype_t dt;
} sum_job_t;

static void sum_submit(fronta_runtime_t *rt, fronta_kernel_t *k, sum_job_t *j, size_t n,
                       fronta_dtype_t dt, fronta_need_t need, uint64_t *seed)
{
    void *x = xmalloc(n * fronta_dtype_size(dt));
    fill_random(x, dt, n, seed);
    j->n = n;
    j->dt = dt;
    j->want = sum_ref(dt, x, n);
    j->bx = buf_new(rt, dt, x, n);
    j->bs = buf_new(rt, FRONTA_INT64, NULL, 1);
    free(x);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k,
                            .args = {FRONTA_IN(j->bx), FRONTA_OUT(j->bs)},
                            .needs = {.device = need}};
    j->f = ft_submit_ok(rt, &t);
}

static void sum_check(sum_job_t *j)
{
    int rc = ft_outcome(j->f);
    if (rc != 0)
        fail_msg("gen.sum %s n=%zu: %s (%s)", dtype_words[j->dt], j->n, fronta_err_name(rc),
                 ft_message(j->f));
    uint64_t got;
    buf_read(j->bs, &got, 1);
    if (got != j->want)
        fail_msg("gen.sum %s n=%zu: %llu, expected %llu", dtype_words[j->dt], j->n,
                 (unsigned long long)got, (unsigned long long)j->want);
    fronta_future_release(j->f);
    assert_int_equal(fronta_buffer_destroy(j->bx), 0);
    assert_int_equal(fronta_buffer_destroy(j->bs), 0);
}

/* Growing sizes one by one (the scratch grows, then serves a smaller
 * launch), then growing sizes submitted back to back (each may grow the
 * scratch while the launches before it are still queued), on the
 * zero-copy and the copy path, and once on the pool. */
static void scratch_passes(void **state)
{
    (void)state;
    uint64_t seed = ft_seed("scratch_passes");
    static const size_t sizes[] = {1, 63, 64, 65, 1000, 4099, 100003, (1u << 20) + 3, 777};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    for (int zc = 0; zc < 2; zc++) {
        fronta_runtime_t *rt = ft_runtime_dev("all", zc ? -1 : 0);
        fronta_kernel_desc_t d = {.size = sizeof d, .name = "gen.sum", .params = sum_params,
                                  .nparams = 2, .cpu = cpu_sum, .cl_source = sum_source,
                                  .cl_entry = "gen_sum", .flags = FRONTA_KERNEL_CL_SHAPE_ARGS,
                                  .cl_local = {SUM_WG, 0}, .cl_scratch = sum_scratch,
                                  .cl_passes = 2};
        fronta_kernel_t *k = make_kernel(rt, &d);
        sum_job_t jobs[NS];
        for (size_t i = 0; i < NS; i++) {
            fronta_dtype_t dt = i % 2 ? FRONTA_INT64 : FRONTA_INT32;
            sum_submit(rt, k, &jobs[i], sizes[i], dt, FRONTA_NEED_OPENCL, &seed);
            sum_check(&jobs[i]);
        }
        fronta_runtime_destroy(rt);
        rt = ft_runtime_dev("all", zc ? -1 : 0); /* a fresh scratch */
        k = make_kernel(rt, &d);
        for (size_t i = 0; i < NS; i++)
            sum_submit(rt, k, &jobs[i], sizes[i], i % 2 ? FRONTA_INT32 : FRONTA_INT64,
                       FRONTA_NEED_OPENCL, &seed);
        for (size_t i = 0; i < NS; i++)
            sum_check(&jobs[i]);
        if (!zc) {
            sum_submit(rt, k, &jobs[0], 100003, FRONTA_INT32, FRONTA_NEED_CPU_POOL, &seed);
            sum_check(&jobs[0]);
        }
        fronta_runtime_destroy(rt);
    }
}

/* ---- a work-group the device refuses ----------------------------------- */

static const char refuse_source[] =
    "__kernel void gen_refuse(__global int *x, ulong rows, ulong cols, ulong nx)\n"
    "{ size_t i = get_global_id(1) * cols + get_global_id(0); if (i < nx) x[i] += 1; }\n"
    "__kernel void gen_inc(__global int *x) { x[get_global_id(0)] += 1; }\n";

static int cpu_inc(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    (void)na;
    int32_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] += 1;
    return 0;
}

static const fronta_param_t inc_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT},
};

/* No device in use allows 2^20 work items in a group (NVIDIA 1024, PoCL
 * 4096), nor 256 x 256. */
static fronta_kernel_t *refuse_kernel(fronta_runtime_t *rt, const char *name, size_t lx,
                                      size_t ly, int cpu)
{
    fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .params = inc_params,
                              .nparams = 1, .cpu = cpu ? cpu_inc : NULL,
                              .cl_source = refuse_source, .cl_entry = "gen_refuse",
                              .flags = FRONTA_KERNEL_CL_SHAPE_ARGS, .cl_local = {lx, ly}};
    return make_kernel(rt, &d);
}

static void refused_fails(fronta_runtime_t *rt, fronta_kernel_t *k)
{
    enum { N = 50 };
    int32_t x[N] = {0}, zero[N] = {0};
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, x, N, FRONTA_INT32, &b), 0);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .args = {FRONTA_INOUT(b)},
                            .needs = {.device = FRONTA_NEED_OPENCL}};
    fronta_future_t *f = ft_submit_ok(rt, &t);
    FT_EXPECT_OUTCOME(f, FRONTA_EDEVICE);
    const char *msg = ft_message(f);
    if (!strstr(msg, fronta_kernel_name(k)) || !strstr(msg, "work-group") ||
        !strstr(msg, "cl_local"))
        fail_msg("%s: the message does not say why: %s", fronta_kernel_name(k), msg);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_memory_equal(x, zero, sizeof x);
}

/* Without a CPU implementation the task fails with FRONTA_EDEVICE; with
 * one, a task on the device (steered there by its buffer's queued last
 * writer, as in test_kernel) falls back to the pool. */
static void workgroup_refused(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_ws("all", 0); /* its fallback case steers by locality */
    int cl = ft_cl_device(rt, 0);
    refused_fails(rt, refuse_kernel(rt, "gen.refuse1", (size_t)1 << 20, 0, 0));
    refused_fails(rt, refuse_kernel(rt, "gen.refuse2", 256, 256, 0));
    fronta_kernel_t *k = refuse_kernel(rt, "gen.refuse.cpu", (size_t)1 << 20, 0, 1);
    fronta_kernel_desc_t di = {.size = sizeof di, .name = "gen.inc", .params = inc_params,
                               .nparams = 1, .cl_source = refuse_source, .cl_entry = "gen_inc"};
    fronta_kernel_t *inc = make_kernel(rt, &di);
    enum { N = 31 };
    int32_t x[N];
    for (size_t i = 0; i < N; i++)
        x[i] = (int32_t)i;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, x, N, FRONTA_INT32, &b), 0);
    fronta_device_stats_t s0 = ft_dstats(rt, cl);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    fronta_task_desc_t tw = {.size = sizeof tw, .kernel = inc, .args = {FRONTA_INOUT(b)},
                             .after = &g, .nafter = 1, .needs = {.device = FRONTA_NEED_OPENCL}};
    fronta_future_t *fw = ft_submit_ok(rt, &tw);
    fronta_task_desc_t tk = {.size = sizeof tk, .kernel = k, .args = {FRONTA_INOUT(b)},
                             .needs = {.device = FRONTA_NEED_ANY}};
    fronta_future_t *fk = ft_submit_ok(rt, &tk);
    if (fronta_future_device(fk) != cl)
        fail_msg("the task was placed on %d, not on the device %d", fronta_future_device(fk),
                 cl);
    ft_gate_open(&gate);
    FT_EXPECT_OUTCOME(fw, 0);
    FT_EXPECT_OUTCOME(fk, 0);
    assert_int_equal(fronta_future_device(fk), 0);
    assert_int_equal(ft_dstats(rt, cl).fallbacks, s0.fallbacks + 1);
    fronta_future_release(g);
    fronta_future_release(fw);
    fronta_future_release(fk);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(x[i], (int32_t)i + 2);
    fronta_runtime_destroy(rt);
}

/* ---- shape arguments the function does not take ------------------------ */

static void shape_args_signature(void **state)
{
    (void)state;
    fronta_runtime_t *rt = gen_runtime();
    static const struct {
        const char *source, *want;
    } cases[] = {
        {"__kernel void gen_sh(__global int *x, ulong rows, ulong cols) { }\n",
         "takes 3 arguments, its parameters are 1 and its shape arguments "
         "(FRONTA_KERNEL_CL_SHAPE_ARGS) 3"},
        {"__kernel void gen_sh(__global int *x, int rows, ulong cols, ulong nx) { }\n",
         "argument 1 of its OpenCL function is the shape argument 'ulong rows'"},
        {"__kernel void gen_sh(__global int *x, ulong rows, ulong cols, __global int *nx) { }\n",
         "argument 3 of its OpenCL function is the shape argument 'ulong, the count of "
         "argument 0'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char name[32];
        snprintf(name, sizeof name, "gen.sh%zu", c);
        fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .params = inc_params,
                                  .nparams = 1, .cl_source = cases[c].source,
                                  .cl_entry = "gen_sh", .flags = FRONTA_KERNEL_CL_SHAPE_ARGS};
        fronta_kernel_t *k = make_kernel(rt, &d);
        fronta_buffer_t *b = buf_new(rt, FRONTA_INT32, NULL, 8);
        fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .args = {FRONTA_INOUT(b)},
                                .needs = {.device = FRONTA_NEED_OPENCL}};
        fronta_future_t *f = ft_submit_ok(rt, &t);
        FT_EXPECT_OUTCOME(f, FRONTA_EARG);
        if (!strstr(ft_message(f), cases[c].want))
            fail_msg("%s: the message does not say \"%s\": %s", name, cases[c].want,
                     ft_message(f));
        fronta_future_release(f);
        assert_int_equal(fronta_buffer_destroy(b), 0);
    }
    fronta_runtime_destroy(rt);
}

int main(void)
{
    ft_cache_env();
    if (!ft_have_opencl()) {
        fprintf(stderr, "test_kernel_generic: no OpenCL device, skipped\n");
        return 77;
    }
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_dtype),     cmocka_unit_test(scalar_kinds),
        cmocka_unit_test(variants_cached), cmocka_unit_test(variant_signature),
        cmocka_unit_test(launch_2d),
        cmocka_unit_test(rounded_launch),  cmocka_unit_test(groups_cap),
        cmocka_unit_test(scratch_passes),  cmocka_unit_test(workgroup_refused),
        cmocka_unit_test(shape_args_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
