/* Tests of the matrix group of bundled kernels (gemm, transpose, stencil5): every dtype on the pool and on OpenCL, at edge shapes, against plain reference loops; aliasing, determinism and the errors at submit. */
#include <float.h>
#include <math.h>

#include "test_bk.h"

static fronta_runtime_t *rt;
static uint64_t seed;

static int group_setup(void **state)
{
    (void)state;
    rt = ft_bk_runtime();
    seed = ft_seed("test_bk_matrix");
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    print_message("[ info     ] places: %s%s\n", pl[0].name, np > 1 ? ", opencl" : "");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fronta_runtime_destroy(rt);
    return 0;
}

static fronta_task_desc_t mtask(const char *kernel, size_t rows, size_t cols)
{
    fronta_task_desc_t t;
    memset(&t, 0, sizeof t);
    t.size = sizeof t;
    t.kernel = fronta_kernel_builtin(rt, kernel);
    assert_non_null(t.kernel);
    t.rows = rows;
    t.cols = cols;
    return t;
}

/* Run t on pl and check that it ran there (no silent fallback). */
static void run_on(fronta_task_desc_t *t, const ft_bk_place_t *pl, fronta_dtype_t dt,
                   size_t rows, size_t cols)
{
    fronta_future_t *f = NULL;
    t->needs.device = pl->need;
    int rc = fronta_submit(rt, t, &f);
    if (rc != 0)
        fail_msg("%s on %s, %s, %zu x %zu: fronta_submit: %s", fronta_kernel_name(t->kernel),
                 pl->name, ft_bk_dtype_name(dt), rows, cols, fronta_err_name(rc));
    int out = ft_outcome(f);
    if (out != 0)
        fail_msg("%s on %s, %s, %zu x %zu: %s: %s", fronta_kernel_name(t->kernel), pl->name,
                 ft_bk_dtype_name(dt), rows, cols, fronta_err_name(out), ft_message(f));
    int dev = fronta_future_device(f);
    if ((pl->need == FRONTA_NEED_CPU_POOL) != (dev == 0))
        fail_msg("%s on %s ran on device %d", fronta_kernel_name(t->kernel), pl->name, dev);
    fronta_future_release(f);
}

static double eps_of(fronta_dtype_t t)
{
    return t == FRONTA_FLOAT ? FLT_EPSILON : DBL_EPSILON;
}

static void put(void *p, fronta_dtype_t t, size_t i, double v)
{
    if (t == FRONTA_FLOAT)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

/* ---- gemm --------------------------------------------------------------- */

typedef struct gemm_shape {
    size_t m, n, k;
} gemm_shape;

/* Non-square, non-multiples of the CPU's 6 x 16 micro-tiles, 120-row
 * blocks and 512-column chunks, of its 256-deep k blocks and 4096-row and
 * -column phases, and of OpenCL's 128 x 128 (64 x 64) tiles and 16-deep
 * steps; then C of 2^20 + 3 elements as one row. */
static const gemm_shape gemm_shapes[] = {
    {1, 1, 1},       {1, 7, 3},       {17, 1, 5},      {33, 65, 17},
    {128, 96, 64},   {257, 131, 129}, {513, 257, 300}, {7, 600, 520},
    {4103, 9, 5},    {5, 4111, 3},    {1, (1u << 20) + 3, 2},
};
#define GEMM_NSHAPES (sizeof gemm_shapes / sizeof gemm_shapes[0])

typedef struct gemm_ab {
    double alpha, beta;
    int nan_c; /* C starts as NaN (beta 0: must not propagate) */
} gemm_ab;

static const gemm_ab gemm_abs[] = {
    {1, 0, 1},
    {-1.5, 0.75, 0},
    {0.5, 0, 1},
    {2, 1, 0},
};
#define GEMM_NAB (sizeof gemm_abs / sizeof gemm_abs[0])

/* Worst |error| / (eps (|alpha| sum |a||b| + |beta c|)) seen, printed at
 * the end: how much room the tolerance leaves. */
static double gemm_worst;

/* C (m x n, of type t) against alpha A B + beta C0, summed in double in
 * k order; the tolerance is GEMM_TOL eps times the sum of magnitudes of
 * the terms, the bound of a dot product's rounding error (for a length
 * up to a few hundred with random signs, several times what a blocked
 * FMA sum makes). */
#define GEMM_TOL 8.0
static void gemm_check(const void *a, const void *b, const void *c0, const void *c,
                       fronta_dtype_t t, const gemm_shape *s, const gemm_ab *ab,
                       const char *where)
{
    double eps = eps_of(t);
    for (size_t i = 0; i < s->m; i++)
        for (size_t j = 0; j < s->n; j++) {
            double sum = 0, mag = 0;
            for (size_t p = 0; p < s->k; p++) {
                double x = ft_bk_get(a, t, i * s->k + p), y = ft_bk_get(b, t, p * s->n + j);
                sum += x * y;
                mag += fabs(x * y);
            }
            double want = ab->alpha * sum, bound = fabs(ab->alpha) * mag;
            if (ab->beta != 0) {
                double cv = ft_bk_get(c0, t, i * s->n + j);
                want += ab->beta * cv;
                bound += fabs(ab->beta * cv);
            }
            double got = ft_bk_get(c, t, i * s->n + j), err = fabs(got - want);
            if (!(err <= GEMM_TOL * eps * bound))
                fail_msg("gemm %s, %s, %zu x %zu x %zu, alpha %g beta %g: C[%zu][%zu] = %.9g, "
                         "expected %.9g (bound %.3g)",
                         where, ft_bk_dtype_name(t), s->m, s->n, s->k, ab->alpha, ab->beta, i,
                         j, got, want, GEMM_TOL * eps * bound);
            if (bound > 0 && err / (eps * bound) > gemm_worst)
                gemm_worst = err / (eps * bound);
        }
}

/* One gemm on pl: random A, B, C (or NaN C), submitted as a 2-D launch
 * m x n; C checked after. */
static void gemm_one(const ft_bk_place_t *pl, fronta_dtype_t t, const gemm_shape *s,
                     const gemm_ab *ab)
{
    size_t es = fronta_dtype_size(t);
    void *a = ft_bk_random(s->m * s->k, t, 1, &seed);
    void *b = ft_bk_random(s->k * s->n, t, 1, &seed);
    void *c = ft_bk_random(s->m * s->n, t, 2, &seed);
    if (ab->nan_c)
        for (size_t i = 0; i < s->m * s->n; i++)
            put(c, t, i, NAN);
    void *c0 = malloc(s->m * s->n * es);
    assert_non_null(c0);
    memcpy(c0, c, s->m * s->n * es);

    fronta_buffer_t *ba = ft_bk_wrap(rt, a, s->m * s->k, t);
    fronta_buffer_t *bb = ft_bk_wrap(rt, b, s->k * s->n, t);
    fronta_buffer_t *bc = ft_bk_wrap(rt, c, s->m * s->n, t);
    fronta_task_desc_t task = mtask("gemm", s->m, s->n);
    task.args[0] = FRONTA_IN(ba);
    task.args[1] = FRONTA_IN(bb);
    task.args[2] = FRONTA_INOUT(bc);
    task.args[3] = ft_bk_scalar(t, ab->alpha);
    task.args[4] = ft_bk_scalar(t, ab->beta);
    run_on(&task, pl, t, s->m, s->n);
    assert_int_equal(fronta_buffer_destroy(ba), 0);
    assert_int_equal(fronta_buffer_destroy(bb), 0);
    assert_int_equal(fronta_buffer_destroy(bc), 0);

    gemm_check(a, b, c0, c, t, s, ab, pl->name);
    free(a);
    free(b);
    free(c);
    free(c0);
}

static const fronta_dtype_t float_types[] = {FRONTA_FLOAT, FRONTA_DOUBLE};

/* Every shape, both types, both places; each shape with two of the
 * alpha/beta cases, so that every case meets small and large shapes. */
static void gemm_shapes_places(void **state)
{
    (void)state;
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++)
        for (size_t d = 0; d < 2; d++)
            for (size_t s = 0; s < GEMM_NSHAPES; s++)
                for (size_t v = 0; v < 2; v++)
                    gemm_one(&pl[p], float_types[d], &gemm_shapes[s],
                             &gemm_abs[(s + 2 * v + d) % GEMM_NAB]);
    print_message("[ info     ] gemm: worst error %.2f eps x sum |terms| (tolerance %.0f)\n",
                  gemm_worst, GEMM_TOL);
}

/* The portable micro-kernel (what a CPU without AVX2 and FMA runs),
 * forced on this one. */
static void gemm_portable(void **state)
{
    (void)state;
    ft_bk_place_t pool = {"pool (portable)", FRONTA_NEED_CPU_POOL};
    setenv("FRONTA_GEMM_PORTABLE", "1", 1);
    for (size_t d = 0; d < 2; d++)
        for (size_t s = 0; s < GEMM_NSHAPES; s++)
            gemm_one(&pool, float_types[d], &gemm_shapes[s], &gemm_abs[(s + d) % GEMM_NAB]);
    unsetenv("FRONTA_GEMM_PORTABLE");
}

/* Same bits with 1, 2 and 3 pool threads, and from run to run. */
static void gemm_deterministic(void **state)
{
    (void)state;
    const gemm_shape s = {300, 530, 517};
    for (size_t d = 0; d < 2; d++) {
        fronta_dtype_t t = float_types[d];
        size_t es = fronta_dtype_size(t);
        void *a = ft_bk_random(s.m * s.k, t, 1, &seed);
        void *b = ft_bk_random(s.k * s.n, t, 1, &seed);
        void *c0 = ft_bk_random(s.m * s.n, t, 1, &seed);
        void *first = NULL;
        for (int threads = 1; threads <= 3; threads++) {
            fronta_runtime_t *r = ft_runtime(threads);
            void *c = malloc(s.m * s.n * es);
            assert_non_null(c);
            memcpy(c, c0, s.m * s.n * es);
            fronta_buffer_t *ba, *bb, *bc;
            assert_int_equal(fronta_buffer_wrap(r, a, s.m * s.k, t, &ba), 0);
            assert_int_equal(fronta_buffer_wrap(r, b, s.k * s.n, t, &bb), 0);
            assert_int_equal(fronta_buffer_wrap(r, c, s.m * s.n, t, &bc), 0);
            fronta_task_desc_t task = {.size = sizeof task,
                                       .kernel = fronta_kernel_builtin(r, "gemm"),
                                       .needs.device = FRONTA_NEED_CPU_POOL,
                                       .rows = s.m,
                                       .cols = s.n,
                                       .args = {FRONTA_IN(ba), FRONTA_IN(bb), FRONTA_INOUT(bc),
                                                ft_bk_scalar(t, 0.75), ft_bk_scalar(t, -0.5)}};
            for (int rep = 0; rep < 2; rep++) {
                fronta_future_t *f = ft_submit_ok(r, &task);
                FT_EXPECT_OUTCOME(f, 0);
                fronta_future_release(f);
            }
            assert_int_equal(fronta_buffer_destroy(ba), 0);
            assert_int_equal(fronta_buffer_destroy(bb), 0);
            assert_int_equal(fronta_buffer_destroy(bc), 0);
            fronta_runtime_destroy(r);
            if (!first)
                first = c;
            else {
                if (memcmp(first, c, s.m * s.n * es) != 0)
                    fail_msg("gemm %s: %d threads differ from 1", ft_bk_dtype_name(t), threads);
                free(c);
            }
        }
        free(first);
        free(a);
        free(b);
        free(c0);
    }
}

/* Submit must fail with want, queue nothing, and leave C as it was. */
static void expect_refused(fronta_task_desc_t *t, int want, fronta_buffer_t *out,
                           const void *before, size_t bytes, const char *what);

/* C the same buffer as A or B is refused at submit on every place
 * (FRONTA_KERNEL_NO_ALIAS); A and B the same buffer (A A) is fine. */
static void gemm_alias(void **state)
{
    (void)state;
    const size_t m = 40, k = 40;
    const fronta_dtype_t t = FRONTA_FLOAT;
    float *a = ft_bk_random(m * k, t, 1, &seed), *c = ft_bk_random(m * k, t, 1, &seed);
    float *a0 = malloc(m * k * sizeof *a), *c0 = malloc(m * k * sizeof *c);
    assert_non_null(a0);
    assert_non_null(c0);
    memcpy(a0, a, m * k * sizeof *a);
    memcpy(c0, c, m * k * sizeof *c);
    fronta_buffer_t *ba = ft_bk_wrap(rt, a, m * k, t), *bc = ft_bk_wrap(rt, c, m * k, t);
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++) {
        fronta_task_desc_t task = mtask("gemm", m, k);
        task.needs.device = pl[p].need;
        task.args[0] = FRONTA_IN(ba);
        task.args[1] = FRONTA_IN(ba);
        task.args[2] = FRONTA_INOUT(ba);
        task.args[3] = FRONTA_F32(1);
        task.args[4] = FRONTA_F32(0.5f);
        expect_refused(&task, FRONTA_EARG, ba, a0, m * k * sizeof *a, "gemm, C is A");
        task.args[0] = FRONTA_IN(bc);
        task.args[2] = FRONTA_INOUT(bc);
        expect_refused(&task, FRONTA_EARG, bc, c0, m * k * sizeof *c, "gemm, C is A");
        task.args[1] = FRONTA_IN(bc);
        task.args[0] = FRONTA_IN(ba);
        expect_refused(&task, FRONTA_EARG, bc, c0, m * k * sizeof *c, "gemm, C is B");
    }
    /* A A: both reads of one buffer. */
    fronta_task_desc_t task = mtask("gemm", m, k);
    task.args[0] = FRONTA_IN(ba);
    task.args[1] = FRONTA_IN(ba);
    task.args[2] = FRONTA_INOUT(bc);
    task.args[3] = FRONTA_F32(1);
    task.args[4] = FRONTA_F32(0.5f);
    for (size_t p = 0; p < np; p++) {
        memcpy(c, c0, m * k * sizeof *c); /* wrapped: through an OUT access */
        void *h = NULL;
        assert_int_equal(fronta_buffer_acquire(bc, FRONTA_ACCESS_OUT, FT_LIMIT, &h), 0);
        memcpy(h, c0, m * k * sizeof *c);
        assert_int_equal(fronta_buffer_release(bc), 0);
        run_on(&task, &pl[p], t, m, k);
        assert_int_equal(fronta_buffer_acquire(bc, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
        float *got = h;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < k; j++) {
                double e = 0.5 * c0[i * k + j];
                for (size_t q = 0; q < k; q++)
                    e += (double)a0[i * k + q] * a0[q * k + j];
                if (fabs(got[i * k + j] - e) > 1e-3)
                    fail_msg("gemm A A on %s: C[%zu][%zu] = %g, expected %g", pl[p].name, i, j,
                             got[i * k + j], e);
            }
        assert_int_equal(fronta_buffer_release(bc), 0);
    }
    assert_int_equal(fronta_buffer_destroy(ba), 0);
    assert_int_equal(fronta_buffer_destroy(bc), 0);
    free(a);
    free(a0);
    free(c);
    free(c0);
}

/* Submit must fail with want, queue nothing, and leave C as it was. */
static void expect_refused(fronta_task_desc_t *t, int want, fronta_buffer_t *out,
                           const void *before, size_t bytes, const char *what)
{
    fronta_future_t *f = NULL;
    int rc = fronta_submit(rt, t, &f);
    if (rc != want)
        fail_msg("%s: fronta_submit gave %s, expected %s", what, fronta_err_name(rc),
                 fronta_err_name(want));
    assert_null(f);
    void *p = NULL;
    assert_int_equal(fronta_buffer_acquire(out, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
    int same = memcmp(p, before, bytes) == 0;
    assert_int_equal(fronta_buffer_release(out), 0);
    if (!same)
        fail_msg("%s: the output changed", what);
}

static void gemm_errors(void **state)
{
    (void)state;
    const size_t m = 5, n = 4, k = 3;
    float a[5 * 3] = {0}, b[3 * 4] = {0}, c[5 * 4], c0[5 * 4];
    for (size_t i = 0; i < m * n; i++)
        c[i] = c0[i] = (float)i;
    fronta_buffer_t *ba = ft_bk_wrap(rt, a, m * k, FRONTA_FLOAT);
    fronta_buffer_t *ba1 = ft_bk_wrap(rt, a, m * k - 1, FRONTA_FLOAT);
    fronta_buffer_t *bb = ft_bk_wrap(rt, b, k * n, FRONTA_FLOAT);
    fronta_buffer_t *bb1 = ft_bk_wrap(rt, b, k * n - 1, FRONTA_FLOAT);
    fronta_buffer_t *bc = ft_bk_wrap(rt, c, m * n, FRONTA_FLOAT);
    fronta_buffer_t *bd, *bi, *bi2, *bi3;
    assert_int_equal(fronta_buffer_create(rt, k * n, FRONTA_DOUBLE, &bd), 0);
    assert_int_equal(fronta_buffer_create(rt, m * k, FRONTA_INT32, &bi), 0);
    assert_int_equal(fronta_buffer_create(rt, k * n, FRONTA_INT32, &bi2), 0);
    assert_int_equal(fronta_buffer_create(rt, m * n, FRONTA_INT32, &bi3), 0);

    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++) {
        fronta_task_desc_t t = mtask("gemm", m, n);
        t.needs.device = pl[p].need;
        t.args[0] = FRONTA_IN(ba);
        t.args[1] = FRONTA_IN(bb);
        t.args[2] = FRONTA_INOUT(bc);
        t.args[3] = FRONTA_F32(1);
        t.args[4] = FRONTA_F32(0);
        /* count(A) not a multiple of rows */
        t.args[0] = FRONTA_IN(ba1);
        expect_refused(&t, FRONTA_ESIZE, bc, c0, sizeof c0, "gemm A 14 of 5 rows");
        t.args[0] = FRONTA_IN(ba);
        /* count(B) != k cols */
        t.args[1] = FRONTA_IN(bb1);
        expect_refused(&t, FRONTA_ESIZE, bc, c0, sizeof c0, "gemm B of 11");
        t.args[1] = FRONTA_IN(bb);
        /* C not rows x cols */
        t.rows = n;
        t.cols = m;
        expect_refused(&t, FRONTA_ESIZE, bc, c0, sizeof c0, "gemm launched 4 x 5");
        t.rows = 1;
        t.cols = m * n;
        expect_refused(&t, FRONTA_ESIZE, bc, c0, sizeof c0, "gemm launched 1 x 20");
        t.rows = m;
        t.cols = n;
        /* B of another type than A */
        t.args[1] = FRONTA_IN(bd);
        expect_refused(&t, FRONTA_EARG, bc, c0, sizeof c0, "gemm double B");
        t.args[1] = FRONTA_IN(bb);
        /* a double scalar for float buffers */
        t.args[3] = FRONTA_F64(1);
        expect_refused(&t, FRONTA_EARG, bc, c0, sizeof c0, "gemm double alpha");
        t.args[3] = FRONTA_F32(1);
        /* C read only */
        t.args[2] = FRONTA_IN(bc);
        expect_refused(&t, FRONTA_EARG, bc, c0, sizeof c0, "gemm C IN");
        t.args[2] = FRONTA_INOUT(bc);
        /* int32: not a FLOAT type */
        fronta_task_desc_t ti = t;
        ti.args[0] = FRONTA_IN(bi);
        ti.args[1] = FRONTA_IN(bi2);
        ti.args[2] = FRONTA_INOUT(bi3);
        ti.args[3] = FRONTA_I32(1);
        ti.args[4] = FRONTA_I32(0);
        expect_refused(&ti, FRONTA_EARG, bc, c0, sizeof c0, "gemm int32");
        /* and the valid task runs: A = 0, so C = 2 C */
        t.args[4] = FRONTA_F32(2);
        fronta_future_t *f = ft_submit_ok(rt, &t);
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
        for (size_t i = 0; i < m * n; i++)
            c0[i] *= 2;
    }
    assert_int_equal(fronta_buffer_destroy(ba), 0);
    assert_int_equal(fronta_buffer_destroy(ba1), 0);
    assert_int_equal(fronta_buffer_destroy(bb), 0);
    assert_int_equal(fronta_buffer_destroy(bb1), 0);
    assert_int_equal(fronta_buffer_destroy(bc), 0);
    assert_int_equal(fronta_buffer_destroy(bd), 0);
    assert_int_equal(fronta_buffer_destroy(bi), 0);
    assert_int_equal(fronta_buffer_destroy(bi2), 0);
    assert_int_equal(fronta_buffer_destroy(bi3), 0);
    assert_memory_equal(c, c0, sizeof c);
}

/* ---- transpose ---------------------------------------------------------- */

typedef struct mshape {
    size_t rows, cols;
} mshape;

/* 1, vectors both ways, primes, non-multiples of 16 and of the CPU's
 * 32 x 32 blocks and 256 x 256 chunks, and 2^20 + 3 as a row. */
static const mshape tr_shapes[] = {
    {1, 1},   {1, 7},     {7, 1},     {2, 2},      {31, 7},
    {17, 33}, {257, 131}, {1000, 1003}, {1, (1u << 20) + 3},
};
#define TR_NSHAPES (sizeof tr_shapes / sizeof tr_shapes[0])

static void transpose_one(const ft_bk_place_t *pl, fronta_dtype_t t, size_t rows, size_t cols)
{
    size_t n = rows * cols, es = fronta_dtype_size(t);
    unsigned char *a = ft_bk_random(n, t, 1000, &seed);
    unsigned char *b = ft_bk_random(n, t, 1000, &seed);
    unsigned char *a0 = malloc(n * es);
    assert_non_null(a0);
    memcpy(a0, a, n * es);
    fronta_buffer_t *ba = ft_bk_wrap(rt, a, n, t), *bb = ft_bk_wrap(rt, b, n, t);
    fronta_task_desc_t task = mtask("transpose", rows, cols);
    task.args[0] = FRONTA_IN(ba);
    task.args[1] = FRONTA_OUT(bb);
    run_on(&task, pl, t, rows, cols);
    assert_int_equal(fronta_buffer_destroy(ba), 0);
    assert_int_equal(fronta_buffer_destroy(bb), 0);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (memcmp(b + (j * rows + i) * es, a0 + (i * cols + j) * es, es) != 0)
                fail_msg("transpose on %s, %s, %zu x %zu: b[%zu][%zu] = %g, expected %g",
                         pl->name, ft_bk_dtype_name(t), rows, cols, j, i, ft_bk_get(b, t, j * rows + i), ft_bk_get(a0, t, i * cols + j));
    free(a0);
    free(a);
    free(b);
}

static void transpose_shapes_places(void **state)
{
    (void)state;
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++)
        for (size_t d = 0; d < sizeof ft_bk_all / sizeof ft_bk_all[0]; d++)
            for (size_t s = 0; s < TR_NSHAPES; s++)
                transpose_one(&pl[p], ft_bk_all[d], tr_shapes[s].rows, tr_shapes[s].cols);
}

/* One buffer as a and b is refused at submit on every place, and the
 * array is unchanged (FRONTA_KERNEL_NO_ALIAS). */
static void alias_refused(const char *kernel, fronta_dtype_t t, size_t rows, size_t cols)
{
    size_t n = rows * cols, es = fronta_dtype_size(t);
    unsigned char *a = ft_bk_random(n, t, 4, &seed), *a0 = malloc(n * es);
    assert_non_null(a0);
    memcpy(a0, a, n * es);
    fronta_buffer_t *ba = ft_bk_wrap(rt, a, n, t);
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++) {
        fronta_task_desc_t task = mtask(kernel, rows, cols);
        task.needs.device = pl[p].need;
        task.args[0] = FRONTA_IN(ba);
        task.args[1] = FRONTA_OUT(ba);
        task.args[2] = ft_bk_scalar(t, 0.5);
        task.args[3] = ft_bk_scalar(t, 0.125);
        task.nargs = strcmp(kernel, "transpose") == 0 ? 2 : 4;
        expect_refused(&task, FRONTA_EARG, ba, a0, n * es, kernel);
    }
    assert_int_equal(fronta_buffer_destroy(ba), 0);
    assert_int_equal(memcmp(a, a0, n * es), 0);
    free(a);
    free(a0);
}

static void transpose_alias(void **state)
{
    (void)state;
    alias_refused("transpose", FRONTA_INT32, 300, 300);
    alias_refused("transpose", FRONTA_UINT8, 1, 1000);
}

static void transpose_errors(void **state)
{
    (void)state;
    fronta_buffer_t *a, *b, *bs, *bd;
    assert_int_equal(fronta_buffer_create(rt, 12, FRONTA_INT32, &a), 0);
    assert_int_equal(fronta_buffer_create(rt, 12, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_create(rt, 11, FRONTA_INT32, &bs), 0);
    assert_int_equal(fronta_buffer_create(rt, 12, FRONTA_DOUBLE, &bd), 0);
    int32_t zero[12] = {0};
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++) {
        fronta_task_desc_t t = mtask("transpose", 3, 4);
        t.needs.device = pl[p].need;
        t.args[0] = FRONTA_IN(a);
        t.args[1] = FRONTA_OUT(bs);
        expect_refused(&t, FRONTA_ESIZE, b, zero, sizeof zero, "transpose b of 11");
        t.args[1] = FRONTA_OUT(bd);
        expect_refused(&t, FRONTA_EARG, b, zero, sizeof zero, "transpose double b");
        t.args[1] = FRONTA_OUT(b);
        t.rows = 4;
        t.cols = 4;
        expect_refused(&t, FRONTA_ESIZE, b, zero, sizeof zero, "transpose launched 4 x 4");
    }
    assert_int_equal(fronta_buffer_destroy(a), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(bs), 0);
    assert_int_equal(fronta_buffer_destroy(bd), 0);
}

/* ---- stencil5 ----------------------------------------------------------- */

static const mshape st_shapes[] = {
    {1, 1},    {2, 2},     {3, 3},       {1, 257},  {257, 1},          {7, 31},
    {31, 7},   {17, 100},  {1001, 999},  {1, (1u << 20) + 3},
};
#define ST_NSHAPES (sizeof st_shapes / sizeof st_shapes[0])

/* The reference in the contract's order, in the element type: s = ((up +
 * down) + left) + right; c0 x + c1 s. Each step is its own statement, so
 * that this file's compiler does not fuse them either. */
static double st_ref(const void *a, fronta_dtype_t t, size_t rows, size_t cols, size_t i,
                     size_t j, double c0, double c1)
{
    size_t x = i * cols + j;
    if (i == 0 || j == 0 || i + 1 == rows || j + 1 == cols)
        return ft_bk_get(a, t, x);
    if (t == FRONTA_FLOAT) {
        const float *p = a;
        float s = p[x - cols] + p[x + cols];
        s = s + p[x - 1];
        s = s + p[x + 1];
        float u = (float)c0 * p[x];
        float v = (float)c1 * s;
        return u + v;
    }
    const double *p = a;
    double s = p[x - cols] + p[x + cols];
    s = s + p[x - 1];
    s = s + p[x + 1];
    double u = c0 * p[x];
    double v = c1 * s;
    return u + v;
}

/* Worst |error| in units of eps x the magnitudes, printed at the end. */
static double st_worst;
#define ST_TOL 2.0

static void stencil_one(const ft_bk_place_t *pl, fronta_dtype_t t, size_t rows, size_t cols)
{
    size_t n = rows * cols, es = fronta_dtype_size(t);
    /* Not dyadic: the products round, so the order matters. */
    const double c0 = t == FRONTA_FLOAT ? (double)0.6f : 0.6, c1 = t == FRONTA_FLOAT ? (double)0.1f : 0.1;
    void *a = ft_bk_random(n, t, 4, &seed);
    for (size_t i = 0; i < n; i++) /* off the 1/1024 grid: sums round too */
        put(a, t, i, ft_bk_get(a, t, i) * 1.0000001 + 1e-7);
    void *b = ft_bk_random(n, t, 4, &seed);
    void *a0 = malloc(n * es);
    assert_non_null(a0);
    memcpy(a0, a, n * es);
    fronta_buffer_t *ba = ft_bk_wrap(rt, a, n, t), *bb = ft_bk_wrap(rt, b, n, t);
    fronta_task_desc_t task = mtask("stencil5", rows, cols);
    task.args[0] = FRONTA_IN(ba);
    task.args[1] = FRONTA_OUT(bb);
    task.args[2] = ft_bk_scalar(t, c0);
    task.args[3] = ft_bk_scalar(t, c1);
    run_on(&task, pl, t, rows, cols);
    assert_int_equal(fronta_buffer_destroy(ba), 0);
    assert_int_equal(fronta_buffer_destroy(bb), 0);
    double eps = eps_of(t);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            size_t x = i * cols + j;
            double want = st_ref(a0, t, rows, cols, i, j, c0, c1), got = ft_bk_get(b, t, x);
            double mag = fabs(want);
            if (i > 0 && j > 0 && i + 1 < rows && j + 1 < cols)
                mag = fabs(c0 * ft_bk_get(a0, t, x)) +
                      fabs(c1) * (fabs(ft_bk_get(a0, t, x - cols)) +
                                  fabs(ft_bk_get(a0, t, x + cols)) +
                                  fabs(ft_bk_get(a0, t, x - 1)) + fabs(ft_bk_get(a0, t, x + 1)));
            double err = fabs(got - want);
            if (!(err <= ST_TOL * eps * mag))
                fail_msg("stencil5 on %s, %s, %zu x %zu: b[%zu][%zu] = %.9g, expected %.9g",
                         pl->name, ft_bk_dtype_name(t), rows, cols, i, j, got, want);
            if (mag > 0 && err / (eps * mag) > st_worst)
                st_worst = err / (eps * mag);
        }
    free(a0);
    free(a);
    free(b);
}

static void stencil_shapes_places(void **state)
{
    (void)state;
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++)
        for (size_t d = 0; d < 2; d++)
            for (size_t s = 0; s < ST_NSHAPES; s++)
                stencil_one(&pl[p], float_types[d], st_shapes[s].rows, st_shapes[s].cols);
    print_message("[ info     ] stencil5: worst error %.2f eps x sum |terms| (tolerance %.0f)\n",
                  st_worst, ST_TOL);
}

static void stencil_alias(void **state)
{
    (void)state;
    alias_refused("stencil5", FRONTA_FLOAT, 300, 257);
    alias_refused("stencil5", FRONTA_DOUBLE, 31, 7);
}

static void stencil_errors(void **state)
{
    (void)state;
    fronta_buffer_t *a, *b, *bs, *bi, *bi2;
    assert_int_equal(fronta_buffer_create(rt, 12, FRONTA_FLOAT, &a), 0);
    assert_int_equal(fronta_buffer_create(rt, 12, FRONTA_FLOAT, &b), 0);
    assert_int_equal(fronta_buffer_create(rt, 13, FRONTA_FLOAT, &bs), 0);
    assert_int_equal(fronta_buffer_create(rt, 12, FRONTA_INT32, &bi), 0);
    assert_int_equal(fronta_buffer_create(rt, 12, FRONTA_INT32, &bi2), 0);
    float zero[12] = {0};
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++) {
        fronta_task_desc_t t = mtask("stencil5", 3, 4);
        t.needs.device = pl[p].need;
        t.args[0] = FRONTA_IN(a);
        t.args[1] = FRONTA_OUT(bs);
        t.args[2] = FRONTA_F32(0.5f);
        t.args[3] = FRONTA_F32(0.125f);
        expect_refused(&t, FRONTA_ESIZE, b, zero, sizeof zero, "stencil5 b of 13");
        t.args[1] = FRONTA_OUT(b);
        t.args[3] = FRONTA_F64(0.125);
        expect_refused(&t, FRONTA_EARG, b, zero, sizeof zero, "stencil5 double c1");
        t.args[0] = FRONTA_IN(bi);
        t.args[1] = FRONTA_OUT(bi2);
        t.args[2] = FRONTA_I32(1);
        t.args[3] = FRONTA_I32(1);
        expect_refused(&t, FRONTA_EARG, b, zero, sizeof zero, "stencil5 int32");
    }
    assert_int_equal(fronta_buffer_destroy(a), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(bs), 0);
    assert_int_equal(fronta_buffer_destroy(bi), 0);
    assert_int_equal(fronta_buffer_destroy(bi2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_shapes_places),
        cmocka_unit_test(gemm_portable),
        cmocka_unit_test(gemm_deterministic),
        cmocka_unit_test(gemm_alias),
        cmocka_unit_test(gemm_errors),
        cmocka_unit_test(transpose_shapes_places),
        cmocka_unit_test(transpose_alias),
        cmocka_unit_test(transpose_errors),
        cmocka_unit_test(stencil_shapes_places),
        cmocka_unit_test(stencil_alias),
        cmocka_unit_test(stencil_errors),
    };
    ft_filter();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
