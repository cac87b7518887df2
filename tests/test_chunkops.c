/* test_chunkops.c — reductions, compaction and concatenation across chunks (fronta_reduce, fronta_compact, fronta_concat) and the portable kernels under them: results against serial references that redo the trees bit for bit, the same bits on the pool and on OpenCL and with 1, 2, 3 threads, edge data, order with later tasks, calls from inside tasks, failures that reach the futures, errors that submit nothing, and allocation failures. */
#include <math.h>

#include "test_alloc.h"
#include "test_bk.h"

static fronta_runtime_t *rt; /* devices "all": the pool and PoCL */
static int have_cl;
static uint64_t seed;

/* ---- values and the reference trees ------------------------------------ */

typedef union val {
    uint8_t u8;
    int32_t i32;
    int64_t i64;
    uint32_t u32;
    uint64_t u64;
    float f32;
    double f64;
} val_t;

typedef val_t (*comb_t)(val_t a, val_t b);

#define TAKE_MIN(a, v) (isnan(a) || (v) < (a) || ((v) == (a) && signbit(v)))
#define TAKE_MAX(a, v) (isnan(a) || (v) > (a) || ((v) == (a) && !signbit(v)))
static val_t add_i32(val_t a, val_t b) { a.u32 += b.u32; return a; }
static val_t add_i64(val_t a, val_t b) { a.u64 += b.u64; return a; }
static val_t add_f32(val_t a, val_t b) { a.f32 += b.f32; return a; }
static val_t add_f64(val_t a, val_t b) { a.f64 += b.f64; return a; }
static val_t min_i32(val_t a, val_t b) { return b.i32 < a.i32 ? b : a; }
static val_t min_i64(val_t a, val_t b) { return b.i64 < a.i64 ? b : a; }
static val_t min_f32(val_t a, val_t b) { return TAKE_MIN(a.f32, b.f32) ? b : a; }
static val_t min_f64(val_t a, val_t b) { return TAKE_MIN(a.f64, b.f64) ? b : a; }
static val_t max_i32(val_t a, val_t b) { return b.i32 > a.i32 ? b : a; }
static val_t max_i64(val_t a, val_t b) { return b.i64 > a.i64 ? b : a; }
static val_t max_f32(val_t a, val_t b) { return TAKE_MAX(a.f32, b.f32) ? b : a; }
static val_t max_f64(val_t a, val_t b) { return TAKE_MAX(a.f64, b.f64) ? b : a; }

/* [op SUM, MIN, MAX][int32, int64, float, double] */
static const comb_t combs[3][4] = {{add_i32, add_i64, add_f32, add_f64},
                                   {min_i32, min_i64, min_f32, min_f64},
                                   {max_i32, max_i64, max_f32, max_f64}};

static val_t ident(fronta_reduce_op_t op, fronta_dtype_t t)
{
    val_t v;
    memset(&v, 0, sizeof v);
    int fl = t == FRONTA_FLOAT || t == FRONTA_DOUBLE;
    if (op == FRONTA_REDUCE_SUM && t == FRONTA_FLOAT)
        v.f32 = -0.0f;
    else if (op == FRONTA_REDUCE_SUM && t == FRONTA_DOUBLE)
        v.f64 = -0.0;
    else if (op != FRONTA_REDUCE_SUM && fl && t == FRONTA_FLOAT)
        v.f32 = NAN;
    else if (op != FRONTA_REDUCE_SUM && fl)
        v.f64 = NAN;
    else if (op == FRONTA_REDUCE_MIN)
        t == FRONTA_INT32 ? (void)(v.i32 = INT32_MAX) : (void)(v.i64 = INT64_MAX);
    else if (op == FRONTA_REDUCE_MAX)
        t == FRONTA_INT32 ? (void)(v.i32 = INT32_MIN) : (void)(v.i64 = INT64_MIN);
    return v;
}

static val_t elem(const void *x, fronta_dtype_t t, size_t i)
{
    val_t v;
    memset(&v, 0, sizeof v);
    size_t es = fronta_dtype_size(t);
    memcpy(&v, (const char *)x + i * es, es);
    return v;
}

static val_t pairwise(val_t *p, size_t m, comb_t c)
{
    for (size_t w = 1; w < m; w *= 2)
        for (size_t i = 0; i + w < m; i += 2 * w)
            p[i] = c(p[i], p[i + w]);
    return p[0];
}

/* docs/kernels.md's portable tree, written flat: blocks of 4096 in 64
 * lanes, then one pairwise tree over all the blocks (the kernels cut it
 * at super-blocks of 16 and rounds: the same tree, which this checks). */
static val_t ref_portable(fronta_reduce_op_t op, fronta_dtype_t t, const void *x, size_t n)
{
    comb_t c = combs[op - FRONTA_REDUCE_SUM][t - FRONTA_INT32];
    size_t nb = (n + 4095) / 4096;
    val_t *p = calloc(nb, sizeof *p), lane[64];
    assert_non_null(p);
    for (size_t b = 0; b < nb; b++) {
        for (int j = 0; j < 64; j++)
            lane[j] = ident(op, t);
        for (size_t i = b * 4096; i < n && i < (b + 1) * 4096; i++)
            lane[i % 64] = c(lane[i % 64], elem(x, t, i));
        for (int w = 32; w > 0; w /= 2)
            for (int j = 0; j < w; j++)
                lane[j] = c(lane[j], lane[j + w]);
        p[b] = lane[0];
    }
    val_t r = pairwise(p, nb, c);
    free(p);
    return r;
}

static fronta_dtype_t value_type(fronta_reduce_op_t op, fronta_dtype_t t)
{
    return op == FRONTA_REDUCE_COUNT ? FRONTA_INT64
           : op == FRONTA_REDUCE_AND || op == FRONTA_REDUCE_OR ? FRONTA_UINT8 : t;
}

/* fronta_reduce's value: the partial of each chunk (lens[k], k 0: x whole),
 * then the pairwise tree of the partials in chunk order. */
static val_t ref_reduce(fronta_reduce_op_t op, fronta_dtype_t t, const void *x, size_t n,
                        const size_t *lens, size_t k)
{
    size_t m = k ? k : 1, off = 0, es = fronta_dtype_size(t);
    val_t *p = calloc(m, sizeof *p), r;
    assert_non_null(p);
    int counts = op >= FRONTA_REDUCE_COUNT;
    for (size_t i = 0; i < m; i++) {
        size_t len = k ? lens[i] : n;
        if (counts)
            for (size_t j = 0; j < len; j++)
                p[i].u64 += ((const uint8_t *)x)[off + j] != 0;
        else
            p[i] = ref_portable(op, t, (const char *)x + off * es, len);
        off += len;
    }
    r = pairwise(p, m, counts ? add_i64 : combs[op - FRONTA_REDUCE_SUM][t - FRONTA_INT32]);
    free(p);
    if (op == FRONTA_REDUCE_AND || op == FRONTA_REDUCE_OR) {
        uint64_t set = r.u64;
        memset(&r, 0, sizeof r);
        r.u8 = op == FRONTA_REDUCE_AND ? set == n : set != 0;
    }
    return r;
}

/* Same bits, or both NaN (a NaN's payload is not specified). */
static void expect_same(val_t got, val_t want, fronta_dtype_t vt, const char *what)
{
    if (vt == FRONTA_FLOAT && isnan(got.f32) && isnan(want.f32))
        return;
    if (vt == FRONTA_DOUBLE && isnan(got.f64) && isnan(want.f64))
        return;
    if (memcmp(&got, &want, fronta_dtype_size(vt)))
        fail_msg("%s: got %a / %lld, want %a / %lld (bits %llx vs %llx)", what,
                 vt == FRONTA_FLOAT ? (double)got.f32 : got.f64, (long long)got.i64,
                 vt == FRONTA_FLOAT ? (double)want.f32 : want.f64, (long long)want.i64,
                 (unsigned long long)got.u64, (unsigned long long)want.u64);
}

/* ---- data ---------------------------------------------------------------- */

/* n elements of t: integers over their whole range (sums wrap), masks
 * 0/1 (or, with special, runs of zeros and ones), floats of magnitudes
 * 2^-12 .. 2^12 so that every order of addition rounds differently, and
 * with special some -0, +0 and (special 2) NaN and infinities. */
static void *gen(size_t n, fronta_dtype_t t, int special, uint64_t *s)
{
    void *p = calloc(n, fronta_dtype_size(t));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ft_rand(s);
        double f = ldexp((double)(r >> 11) / 9007199254740992.0 - 0.5, (int)(r % 25) - 12);
        if (special && r % 16 == 0)
            f = r % 32 == 0 ? -0.0 : 0.0;
        if (special == 2 && r % 61 == 0)
            f = r % 3 == 0 ? NAN : r % 3 == 1 ? INFINITY : -INFINITY;
        switch (t) {
        case FRONTA_UINT8:
            ((uint8_t *)p)[i] = special ? (uint8_t)((i / 97) % 3 == 0 && r % 5) : (uint8_t)(r & 1);
            break;
        case FRONTA_INT32:
            ((int32_t *)p)[i] = (int32_t)(uint32_t)r;
            break;
        case FRONTA_INT64:
            ((int64_t *)p)[i] = (int64_t)r;
            break;
        case FRONTA_FLOAT:
            ((float *)p)[i] = (float)f;
            break;
        default:
            ((double *)p)[i] = f;
        }
    }
    return p;
}

/* ---- runtime helpers ----------------------------------------------------- */

static fronta_buffer_t *wrap(fronta_runtime_t *r, void *p, size_t n, fronta_dtype_t t)
{
    return ft_bk_wrap(r, p, n, t);
}

/* Cut b into k chunks (0: leave it whole); lens gets their lengths. */
static void cut(fronta_buffer_t *b, size_t k, size_t *lens)
{
    if (!k)
        return;
    fronta_partition_t how = {.size = sizeof how, .nchunks = k};
    assert_int_equal(fronta_buffer_partition(b, &how), 0);
    for (size_t i = 0; lens && i < k; i++)
        lens[i] = fronta_buffer_count(fronta_buffer_chunk(b, i));
}

static void destroy(fronta_buffer_t *b)
{
    assert_int_equal(fronta_buffer_destroy(b), 0);
}

static uint64_t submitted(fronta_runtime_t *r)
{
    uint64_t s = 0;
    assert_int_equal(fronta_runtime_progress(r, NULL, &s), 0);
    return s;
}

/* fronta_reduce of x, checked: the future's value and the result
 * buffer's agree; returns the value. */
static val_t reduce(fronta_runtime_t *r, fronta_buffer_t *x, fronta_reduce_op_t op,
                    fronta_dtype_t vt)
{
    fronta_buffer_t *res = NULL;
    fronta_future_t *f = NULL;
    val_t v, b;
    memset(&v, 0, sizeof v);
    memset(&b, 0, sizeof b);
    assert_int_equal(fronta_buffer_create(r, 1, vt, &res), 0);
    FT_EXPECT_RC(fronta_reduce(r, x, op, res, &f), 0);
    FT_EXPECT_OUTCOME(f, 0);
    assert_int_equal(fronta_future_result(f, 0, &v, fronta_dtype_size(vt)), 0);
    void *h = NULL;
    assert_int_equal(fronta_buffer_acquire(res, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
    memcpy(&b, h, fronta_dtype_size(vt));
    assert_int_equal(fronta_buffer_release(res), 0);
    expect_same(b, v, vt, "result buffer against the future");
    fronta_future_release(f);
    destroy(res);
    return v;
}

static const fronta_reduce_op_t ops3[] = {FRONTA_REDUCE_SUM, FRONTA_REDUCE_MIN,
                                          FRONTA_REDUCE_MAX};
static const fronta_reduce_op_t mask_ops[] = {FRONTA_REDUCE_COUNT, FRONTA_REDUCE_AND,
                                              FRONTA_REDUCE_OR};
static const char *const op_names[] = {"?", "sum", "min", "max", "count", "and", "or"};

/* Reduce n random elements of t cut into k chunks, every op that takes
 * t, against the reference. */
static void reduce_case(fronta_runtime_t *r, fronta_dtype_t t, size_t n, size_t k, int special)
{
    void *x = gen(n, t, special, &seed);
    size_t *lens = calloc(k ? k : 1, sizeof *lens);
    fronta_buffer_t *b = wrap(r, x, n, t);
    cut(b, k, lens);
    const fronta_reduce_op_t *ops = t == FRONTA_UINT8 ? mask_ops : ops3;
    for (int o = 0; o < 3; o++) {
        char what[96];
        snprintf(what, sizeof what, "%s of %zu %s in %zu chunks", op_names[ops[o]], n,
                 ft_bk_dtype_name(t), k);
        fronta_dtype_t vt = value_type(ops[o], t);
        expect_same(reduce(r, b, ops[o], vt), ref_reduce(ops[o], t, x, n, lens, k), vt, what);
    }
    destroy(b);
    free(lens);
    free(x);
}

/* ---- the portable kernels ------------------------------------------------ */

static const size_t sizes[] = {1, 2, 61, 64, 65, 4096, 4097, 65536 + 61, 100003, (1u << 20) + 3};
#define NSIZES (sizeof sizes / sizeof sizes[0])
static const size_t chunkings[] = {0, 1, 7, 64};

/* Whether portable_kernels runs type t on the OpenCL device: one integer
 * and one float type per op, as each further (op, type) costs PoCL about
 * 7 s to build from a cold cache. Double is on the device in
 * reduce_on_opencl (every op, against the tree), int64 on the pool only. */
static int portable_on_cl(fronta_dtype_t t)
{
    return t == FRONTA_INT32 || t == FRONTA_FLOAT;
}

/* Each kernel on the pool (every type) and on OpenCL gives the
 * reference's bits. */
static void portable_kernels(void **state)
{
    (void)state;
    static const char *const names[] = {"sum_portable", "min_portable", "max_portable"};
    ft_bk_place_t places[2];
    size_t np = ft_bk_places(rt, places);
    for (size_t s = 0; s < NSIZES; s++)
        for (int d = 0; d < 4; d++)
            for (int o = 0; o < 3; o++) {
                fronta_dtype_t t = ft_bk_numeric[d];
                size_t n = sizes[s];
                void *x = gen(n, t, o == 0 ? 1 : 2, &seed);
                val_t want = ref_portable(ops3[o], t, x, n);
                for (size_t pl = 0; pl < (portable_on_cl(t) ? np : 1); pl++) {
                    val_t got;
                    memset(&got, 0, sizeof got);
                    fronta_buffer_t *bx = wrap(rt, x, n, t), *br = wrap(rt, &got, 1, t);
                    fronta_task_desc_t td = {.kernel = fronta_kernel_builtin(rt, names[o]),
                                             .args = {FRONTA_IN(bx), FRONTA_OUT(br)}};
                    ft_bk_run(rt, &td, &places[pl], t, n);
                    destroy(bx);
                    destroy(br);
                    char what[96];
                    snprintf(what, sizeof what, "%s of %zu %s on %s", names[o], n,
                             ft_bk_dtype_name(t), places[pl].name);
                    expect_same(got, want, t, what);
                }
                free(x);
            }
}

/* Above 2^24 elements the pool works in rounds whose partials meet on a
 * stack: still the one pairwise tree (Release only: 130 MiB). */
static void portable_rounds(void **state)
{
    (void)state;
    if (ft_scale() < 1) {
        print_message("[ skipped  ] under a sanitizer\n");
        return;
    }
    size_t n = ((size_t)2 << 24) + 5 * 65536 + 3;
    float *x = gen(n, FRONTA_FLOAT, 0, &seed), got = 0;
    fronta_buffer_t *bx = wrap(rt, x, n, FRONTA_FLOAT), *br = wrap(rt, &got, 1, FRONTA_FLOAT);
    fronta_task_desc_t td = {.kernel = fronta_kernel_builtin(rt, "sum_portable"),
                             .args = {FRONTA_IN(bx), FRONTA_OUT(br)}};
    ft_bk_place_t pool = {"pool", FRONTA_NEED_CPU_POOL};
    ft_bk_run(rt, &td, &pool, FRONTA_FLOAT, n);
    destroy(bx);
    destroy(br);
    val_t g = {.f32 = got};
    expect_same(g, ref_portable(FRONTA_REDUCE_SUM, FRONTA_FLOAT, x, n), FRONTA_FLOAT,
                "sum_portable in rounds");
    free(x);
}

/* ---- fronta_reduce ------------------------------------------------------- */

/* Every op and dtype, whole and in 1, 7 and 64 chunks, at the edge sizes. */
static void reduce_all(void **state)
{
    (void)state;
    for (size_t s = 0; s < NSIZES; s++)
        for (size_t c = 0; c < 4; c++) {
            if (chunkings[c] > sizes[s])
                continue;
            for (int d = 0; d < 5; d++)
                reduce_case(rt, ft_bk_all[d], sizes[s], chunkings[c], (int)(s % 3));
        }
}

/* -0, +0, NaN and infinities: sum of -0s is -0, min of {+0, -0} -0, max
 * +0, NaNs skipped by min and max, NaN only when all are. */
static void reduce_specials(void **state)
{
    (void)state;
    double data[][4] = {{-0.0, -0.0, -0.0, -0.0}, {0.0, -0.0, -0.0, 0.0},
                        {NAN, 1.0, NAN, -2.0}, {NAN, NAN, NAN, NAN},
                        {INFINITY, -INFINITY, 1.0, 0.0}};
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
        for (size_t k = 0; k <= 4; k += 2)
            for (int o = 0; o < 3; o++) {
                double x[4];
                size_t lens[4];
                memcpy(x, data[i], sizeof x);
                fronta_buffer_t *b = wrap(rt, x, 4, FRONTA_DOUBLE);
                cut(b, k, lens);
                val_t got = reduce(rt, b, ops3[o], FRONTA_DOUBLE);
                destroy(b);
                val_t want = ref_reduce(ops3[o], FRONTA_DOUBLE, data[i], 4, lens, k);
                expect_same(got, want, FRONTA_DOUBLE, "special values");
                if (i == 0 && o == 0)
                    assert_true(signbit(got.f64) && got.f64 == 0);
                if (i == 1 && o == 1)
                    assert_true(signbit(got.f64));
                if (i == 1 && o == 2)
                    assert_false(signbit(got.f64));
                if (i == 2 && o > 0)
                    assert_true(got.f64 == (o == 1 ? -2.0 : 1.0));
            }
}

/* Tiles: a partial per tile (its elements row by row), in tile order. */
static void reduce_tiles(void **state)
{
    (void)state;
    size_t rows = 37, cols = 530, tr = 8, tc = 160, nt = 5 * 4, n = rows * cols;
    double *x = gen(n, FRONTA_DOUBLE, 1, &seed), *packed = malloc(n * sizeof *x);
    size_t lens[20], t = 0, at = 0;
    for (size_t r0 = 0; r0 < rows; r0 += tr)
        for (size_t c0 = 0; c0 < cols; c0 += tc, t++) {
            size_t h = rows - r0 < tr ? rows - r0 : tr, w = cols - c0 < tc ? cols - c0 : tc;
            for (size_t r = 0; r < h; r++)
                memcpy(packed + at + r * w, x + (r0 + r) * cols + c0, w * sizeof *x);
            lens[t] = h * w;
            at += h * w;
        }
    assert_int_equal(t, nt);
    fronta_buffer_t *b = wrap(rt, x, n, FRONTA_DOUBLE);
    fronta_partition_t how = {.size = sizeof how, .rows = rows, .cols = cols, .tile_rows = tr,
                              .tile_cols = tc};
    assert_int_equal(fronta_buffer_partition(b, &how), 0);
    assert_int_equal(fronta_buffer_nchunks(b), nt);
    for (int o = 0; o < 3; o++)
        expect_same(reduce(rt, b, ops3[o], FRONTA_DOUBLE),
                    ref_reduce(ops3[o], FRONTA_DOUBLE, packed, n, lens, nt), FRONTA_DOUBLE,
                    "reduce over tiles");
    destroy(b);
    free(packed);
    free(x);
}

/* The same bits with 1, 2 and 3 pool threads (no device). */
static void reduce_threads(void **state)
{
    (void)state;
    size_t n = (1u << 18) + 77, lens[7];
    float *x = gen(n, FRONTA_FLOAT, 1, &seed);
    for (int th = 1; th <= 3; th++) {
        fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = th, .devices = "cpu"};
        fronta_runtime_t *r = NULL;
        assert_int_equal(fronta_runtime_create(&cfg, &r), 0);
        fronta_buffer_t *b = wrap(r, x, n, FRONTA_FLOAT);
        cut(b, 7, lens);
        for (int o = 0; o < 3; o++)
            expect_same(reduce(r, b, ops3[o], FRONTA_FLOAT),
                        ref_reduce(ops3[o], FRONTA_FLOAT, x, n, lens, 7), FRONTA_FLOAT,
                        "reduce with 1, 2, 3 threads");
        destroy(b);
        fronta_runtime_destroy(r);
    }
    free(x);
}

/* The partials on the OpenCL device: x's chunks are written there (a
 * copy that needs OpenCL), and ws keeps their readers where they are. */
static void reduce_on_opencl(void **state)
{
    (void)state;
    if (!have_cl) {
        print_message("[ skipped  ] no OpenCL device\n");
        return;
    }
    fronta_runtime_t *r = ft_runtime_ws("all", -1); /* copies: x lives on the device only */
    int dev = ft_cl_device(r, 0);
    size_t n = 300007, k = 7, lens[7];
    double *src = gen(n, FRONTA_DOUBLE, 1, &seed);
    fronta_buffer_t *s = wrap(r, src, n, FRONTA_DOUBLE), *x = NULL;
    assert_int_equal(fronta_buffer_create(r, n, FRONTA_DOUBLE, &x), 0);
    cut(s, k, NULL);
    cut(x, k, lens);
    fronta_task_desc_t cp = {.size = sizeof cp, .kernel = fronta_kernel_builtin(r, "copy"),
                             .args = {FRONTA_IN(s), FRONTA_OUT(x)},
                             .needs = {.device = FRONTA_NEED_OPENCL}};
    fronta_future_t *mf = NULL;
    assert_int_equal(fronta_submit_map(r, &cp, &mf, NULL), 0);
    FT_EXPECT_OUTCOME(mf, 0);
    fronta_future_release(mf);
    for (int o = 0; o < 3; o++) {
        uint64_t before = ft_dstats(r, dev).tasks_run;
        val_t got = reduce(r, x, ops3[o], FRONTA_DOUBLE);
        uint64_t on_cl = ft_dstats(r, dev).tasks_run - before;
        print_message("[ opencl   ] %s: %llu of %zu partials on the device\n", op_names[ops3[o]],
                      (unsigned long long)on_cl, k);
        assert_true(on_cl >= 1);
        expect_same(got, ref_reduce(ops3[o], FRONTA_DOUBLE, src, n, lens, k), FRONTA_DOUBLE,
                    "partials on OpenCL");
    }
    destroy(x);
    destroy(s);
    fronta_runtime_destroy(r);
    free(src);
}

/* A task fails: its chunk's later readers fail, and so does the reduce. */
static int fail_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a, (void)na, (void)n;
    return fronta_ctx_fail(ctx, FRONTA_ETASK, "injected failure");
}

static fronta_kernel_t *fail_kernel(fronta_runtime_t *r)
{
    static const fronta_param_t p[] = {{.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_OUT,
                                        .count = FRONTA_COUNT_GLOBAL}};
    fronta_kernel_t *k = NULL;
    if (fronta_kernel_find(r, "ft_fail", &k) == 0)
        return k;
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "ft_fail", .params = p, .nparams = 1,
                              .cpu = fail_cpu};
    assert_int_equal(fronta_kernel_create(r, &d, &k), 0);
    return k;
}

/* Fail the writer of chunk i of b; returns its future. */
static fronta_future_t *fail_chunk(fronta_runtime_t *r, fronta_buffer_t *b, size_t i)
{
    fronta_task_desc_t t = {.size = sizeof t, .kernel = fail_kernel(r),
                            .args = {FRONTA_OUT(fronta_buffer_chunk(b, i))}};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit(r, &t, &f), 0);
    return f;
}

/* The failure's root is the failed task, and its message reaches *out. */
static void expect_root(fronta_future_t *f, fronta_future_t *root)
{
    fronta_error_t e;
    memset(&e, 0, sizeof e);
    assert_int_equal(fronta_future_wait(f, FT_LIMIT), 0);
    int code = fronta_future_error(f, &e);
    print_message("[ failure  ] %s: %s\n", fronta_err_name(code), e.message ? e.message : "");
    assert_true(code != 0);
    assert_int_equal(e.task_id, fronta_future_task_id(root));
}

static void reduce_chunk_fails(void **state)
{
    (void)state;
    size_t n = 1000;
    int64_t *x = gen(n, FRONTA_INT64, 0, &seed);
    fronta_buffer_t *b = wrap(rt, x, n, FRONTA_INT64), *res = NULL;
    assert_int_equal(fronta_buffer_create(rt, 1, FRONTA_INT64, &res), 0);
    cut(b, 7, NULL);
    fronta_future_t *bad = fail_chunk(rt, b, 3), *f = NULL;
    assert_int_equal(fronta_reduce(rt, b, FRONTA_REDUCE_SUM, res, &f), 0);
    expect_root(f, bad);
    /* The result buffer's writer failed: reading it says so. */
    assert_true(fronta_buffer_acquire(res, FRONTA_ACCESS_IN, FT_LIMIT, NULL) != 0);
    fronta_future_release(f);
    fronta_future_release(bad);
    destroy(res);
    (void)fronta_buffer_destroy(b); /* its chunk 3 failed: b reads as failed */
    free(x);
}

/* Later writes to x do not reach the reduce; the result buffer, acquired
 * at once, holds the value. */
static void reduce_order(void **state)
{
    (void)state;
    size_t n = 100003, lens[7];
    int32_t *x = gen(n, FRONTA_INT32, 0, &seed);
    int32_t *copy = malloc(n * sizeof *copy), r = 0;
    memcpy(copy, x, n * sizeof *copy);
    fronta_buffer_t *b = wrap(rt, x, n, FRONTA_INT32), *res = wrap(rt, &r, 1, FRONTA_INT32);
    cut(b, 7, lens);
    fronta_future_t *f = NULL, *mf = NULL;
    assert_int_equal(fronta_reduce(rt, b, FRONTA_REDUCE_SUM, res, &f), 0);
    fronta_task_desc_t fill = {.size = sizeof fill, .kernel = fronta_kernel_builtin(rt, "fill"),
                               .args = {FRONTA_OUT(b), FRONTA_I32(7)}};
    assert_int_equal(fronta_submit_map(rt, &fill, &mf, NULL), 0);
    void *h = NULL;
    assert_int_equal(fronta_buffer_acquire(res, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
    val_t got = {.i32 = *(int32_t *)h};
    assert_int_equal(fronta_buffer_release(res), 0);
    expect_same(got, ref_reduce(FRONTA_REDUCE_SUM, FRONTA_INT32, copy, n, lens, 7), FRONTA_INT32,
                "reduce before a later write");
    FT_EXPECT_OUTCOME(mf, 0);
    fronta_future_release(mf);
    fronta_future_release(f);
    destroy(res);
    destroy(b);
    assert_int_equal(x[0], 7);
    free(copy);
    free(x);
}

/* ---- fronta_compact ------------------------------------------------------ */

/* Masks: random, all zero, all one, whole chunks without a kept element
 * (runs of zeros longer than a chunk); then the sparse ones the chunk
 * tasks stage (at most one in 8 of a 65536-element piece, compact.c):
 * about one in 100 with any nonzero byte, exactly one in 8 (a piece's
 * staging room filled), and one in 8 plus one per piece (one too many:
 * left to the gather). */
#define MASK_KINDS 7
static uint8_t mask_at(size_t i, size_t n, int kind)
{
    uint64_t r = (i + 1) * 0x9e3779b97f4a7c15ull;
    switch (kind) {
    case 2:
        return 1;
    case 3:
        return (uint8_t)((i / (n / 5 + 1)) % 2 && i % 3);
    case 4:
        return (r >> 56) < 3 ? (uint8_t)(1 + (r >> 8) % 255) : 0;
    case 5:
        return i % 8 == 0;
    case 6:
        return i % 8 == 0 || i % 65536 == 3;
    default:
        return 0;
    }
}

static uint8_t *gen_mask(size_t n, int kind)
{
    uint8_t *m = kind == 0 ? gen(n, FRONTA_UINT8, 0, &seed) : calloc(n, 1);
    assert_non_null(m);
    for (size_t i = 0; kind && i < n; i++)
        m[i] = mask_at(i, n, kind);
    return m;
}

/* out = x[mask] into an out of out_n elements, against the reference. */
static void compact_case(fronta_runtime_t *r, fronta_dtype_t t, size_t n, size_t k, int kind,
                         int out_kind)
{
    size_t es = fronta_dtype_size(t), want = 0;
    char *x = gen(n, t, 0, &seed);
    uint8_t *m = gen_mask(n, kind);
    for (size_t i = 0; i < n; i++)
        want += m[i] != 0;
    size_t out_n = out_kind == 0 ? n : out_kind == 1 ? (want / 2 ? want / 2 : 1) : n + 5;
    char *out = malloc(out_n * es), *ref = calloc(out_n, es);
    memset(out, 0xab, out_n * es);
    if (k) /* partitioned: the rest of out as it was; whole: zero */
        memset(ref, 0xab, out_n * es);
    for (size_t i = 0, j = 0; i < n && j < out_n; i++)
        if (m[i])
            memcpy(ref + es * j++, x + es * i, es);
    fronta_buffer_t *bx = wrap(r, x, n, t), *bm = wrap(r, m, n, FRONTA_UINT8);
    fronta_buffer_t *bo = wrap(r, out, out_n, t);
    cut(bx, k, NULL);
    cut(bm, k, NULL);
    fronta_future_t *f = NULL;
    FT_EXPECT_RC(fronta_compact(r, bx, bm, bo, &f), 0);
    FT_EXPECT_OUTCOME(f, 0);
    int64_t kept = -1;
    assert_int_equal(fronta_future_result(f, 0, &kept, sizeof kept), 0);
    fronta_future_release(f);
    destroy(bo);
    destroy(bm);
    destroy(bx);
    if (kept != (int64_t)want || memcmp(out, ref, out_n * es))
        fail_msg("compact of %zu %s in %zu chunks, mask %d, out %zu: kept %lld of %zu%s", n,
                 ft_bk_dtype_name(t), k, kind, out_n, (long long)kept, want,
                 memcmp(out, ref, out_n * es) ? ", wrong elements" : "");
    free(ref);
    free(out);
    free(m);
    free(x);
}

static void compact_all(void **state)
{
    (void)state;
    static const size_t cs[] = {1, 61, 4097, 100003, (1u << 20) + 3};
    for (size_t s = 0; s < 5; s++)
        for (size_t c = 0; c < 4; c++)
            for (int kind = 0; kind < MASK_KINDS; kind++)
                if (chunkings[c] <= cs[s] && (kind < 4 || s >= 2))
                    compact_case(rt, ft_bk_all[(s + c + (size_t)kind) % 5], cs[s],
                                 chunkings[c], kind, (int)((s + (size_t)kind) % 3));
    for (int d = 0; d < 5; d++)
        for (int o = 0; o < 3; o++)
            compact_case(rt, ft_bk_all[d], 4097, 7, 0, o);
}

/* Later writes to x and mask do not reach the compaction; out, acquired
 * at once, holds its result; in place over whole buffers too. */
static void compact_order(void **state)
{
    (void)state;
    size_t n = 50001, want = 0;
    int64_t *x = gen(n, FRONTA_INT64, 0, &seed), *out = calloc(n, 8);
    uint8_t *m = gen_mask(n, 0);
    int64_t *ref = calloc(n, 8);
    for (size_t i = 0; i < n; i++)
        if (m[i])
            ref[want++] = x[i];
    fronta_buffer_t *bx = wrap(rt, x, n, FRONTA_INT64), *bm = wrap(rt, m, n, FRONTA_UINT8);
    fronta_buffer_t *bo = wrap(rt, out, n, FRONTA_INT64);
    cut(bx, 64, NULL);
    cut(bm, 64, NULL);
    fronta_future_t *f = NULL, *f1 = NULL, *f2 = NULL;
    assert_int_equal(fronta_compact(rt, bx, bm, bo, &f), 0);
    fronta_task_desc_t fx = {.size = sizeof fx, .kernel = fronta_kernel_builtin(rt, "fill"),
                             .args = {FRONTA_OUT(bx), FRONTA_I64(-1)}};
    fronta_task_desc_t fm = {.size = sizeof fm, .kernel = fronta_kernel_builtin(rt, "fill"),
                             .args = {FRONTA_OUT(bm), FRONTA_I32(1)}};
    assert_int_equal(fronta_submit_map(rt, &fx, &f1, NULL), 0);
    assert_int_equal(fronta_submit_map(rt, &fm, &f2, NULL), 0);
    void *h = NULL;
    assert_int_equal(fronta_buffer_acquire(bo, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
    assert_memory_equal(h, ref, n * 8);
    assert_int_equal(fronta_buffer_release(bo), 0);
    FT_EXPECT_OUTCOME(f1, 0);
    FT_EXPECT_OUTCOME(f2, 0);
    fronta_future_release(f);
    fronta_future_release(f1);
    fronta_future_release(f2);
    destroy(bo);
    destroy(bx);
    destroy(bm);
    assert_true(x[0] == -1 && m[0] == 1);
    /* In place, whole: x = x[mask]. */
    int32_t y[6] = {1, 2, 3, 4, 5, 6};
    uint8_t ym[6] = {0, 1, 1, 0, 0, 1};
    fronta_buffer_t *by = wrap(rt, y, 6, FRONTA_INT32), *bym = wrap(rt, ym, 6, FRONTA_UINT8);
    assert_int_equal(fronta_compact(rt, by, bym, by, &f), 0);
    int64_t kept = 0;
    assert_int_equal(fronta_future_result(f, FT_LIMIT, &kept, sizeof kept), 0);
    fronta_future_release(f);
    destroy(by);
    destroy(bym);
    int32_t yw[6] = {2, 3, 6, 0, 0, 0};
    assert_int_equal(kept, 3);
    assert_memory_equal(y, yw, sizeof y);
    free(ref);
    free(m);
    free(out);
    free(x);
}

/* A failed writer of a mask chunk fails *kept, and out keeps its
 * contents. */
static void compact_chunk_fails(void **state)
{
    (void)state;
    size_t n = 999;
    int32_t *x = gen(n, FRONTA_INT32, 0, &seed), out[999];
    uint8_t *m = gen_mask(n, 0);
    for (size_t i = 0; i < n; i++)
        out[i] = (int32_t)i;
    fronta_buffer_t *bx = wrap(rt, x, n, FRONTA_INT32), *bm = wrap(rt, m, n, FRONTA_UINT8);
    fronta_buffer_t *bo = wrap(rt, out, n, FRONTA_INT32);
    cut(bx, 7, NULL);
    cut(bm, 7, NULL);
    fronta_future_t *bad = fail_chunk(rt, bm, 5), *f = NULL;
    assert_int_equal(fronta_compact(rt, bx, bm, bo, &f), 0);
    expect_root(f, bad);
    assert_true(fronta_buffer_acquire(bo, FRONTA_ACCESS_IN, FT_LIMIT, NULL) != 0);
    fronta_future_release(f);
    fronta_future_release(bad);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i], (int32_t)i);
    (void)fronta_buffer_destroy(bo);
    destroy(bx);
    (void)fronta_buffer_destroy(bm);
    free(m);
    free(x);
}

/* ---- fronta_concat -------------------------------------------------------- */

/* n pieces of random lengths (or the chunks of one buffer) into out. */
static void concat_case(fronta_dtype_t t, size_t n, int from_chunks)
{
    /* A few lengths only: PoCL compiles a kernel anew for each launch
     * size whose work-group it picks (~0.4 s each). */
    static const size_t pick[] = {1, 7, 64, 300, 4099, 70001};
    size_t es = fronta_dtype_size(t), total = 0, lens[64];
    for (size_t i = 0; i < n; i++)
        total += lens[i] = pick[ft_rand(&seed) % 6];
    char *src = gen(total, t, 0, &seed), *out = calloc(total, es);
    fronta_buffer_t *bufs[64], *whole = NULL, *bo = wrap(rt, out, total, t);
    if (from_chunks) {
        whole = wrap(rt, src, total, t);
        fronta_partition_t how = {.size = sizeof how, .lengths = lens, .nlengths = n};
        assert_int_equal(fronta_buffer_partition(whole, &how), 0);
    }
    for (size_t i = 0, off = 0; i < n; off += lens[i++])
        bufs[i] = from_chunks ? fronta_buffer_chunk(whole, i) : wrap(rt, src + off * es, lens[i], t);
    fronta_future_t *f = NULL;
    FT_EXPECT_RC(fronta_concat(rt, bufs, n, bo, &f), 0);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    void *h = NULL;
    assert_int_equal(fronta_buffer_acquire(bo, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
    if (memcmp(h, src, total * es))
        fail_msg("concat of %zu %s pieces (%zu elements) differs", n, ft_bk_dtype_name(t), total);
    assert_int_equal(fronta_buffer_release(bo), 0);
    destroy(bo);
    for (size_t i = 0; !from_chunks && i < n; i++)
        destroy(bufs[i]);
    if (whole)
        destroy(whole);
    free(out);
    free(src);
}

static void concat_all(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 2, 3, 17, 64};
    for (size_t i = 0; i < 5; i++)
        for (int d = 0; d < 5; d++)
            concat_case(ft_bk_all[d], ns[i], (int)((i + (size_t)d) % 2));
}

/* Later writes to the pieces do not reach out; out, acquired at once,
 * holds the concatenation; a failed piece fails done. */
static void concat_order_and_failure(void **state)
{
    (void)state;
    int32_t a[3] = {1, 2, 3}, b[2] = {4, 5}, out[5] = {0};
    fronta_buffer_t *ba = wrap(rt, a, 3, FRONTA_INT32), *bb = wrap(rt, b, 2, FRONTA_INT32);
    fronta_buffer_t *bo = wrap(rt, out, 5, FRONTA_INT32), *bufs[] = {ba, bb};
    assert_int_equal(fronta_concat(rt, bufs, 2, bo, NULL), 0);
    fronta_task_desc_t fill = {.size = sizeof fill, .kernel = fronta_kernel_builtin(rt, "fill"),
                               .args = {FRONTA_OUT(ba), FRONTA_I32(9)}};
    fronta_future_t *ff = NULL, *f = NULL;
    assert_int_equal(fronta_submit(rt, &fill, &ff), 0);
    void *h = NULL;
    assert_int_equal(fronta_buffer_acquire(bo, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
    int32_t want[5] = {1, 2, 3, 4, 5};
    assert_memory_equal(h, want, sizeof want);
    assert_int_equal(fronta_buffer_release(bo), 0);
    FT_EXPECT_OUTCOME(ff, 0);
    fronta_future_release(ff);
    /* bb's writer fails: done fails with it as the root. */
    fronta_task_desc_t t = {.size = sizeof t, .kernel = fail_kernel(rt), .args = {FRONTA_OUT(bb)}};
    fronta_future_t *bad = NULL;
    assert_int_equal(fronta_submit(rt, &t, &bad), 0);
    assert_int_equal(fronta_concat(rt, bufs, 2, bo, &f), 0);
    expect_root(f, bad);
    fronta_future_release(f);
    fronta_future_release(bad);
    (void)fronta_buffer_destroy(bo);
    destroy(ba);
    (void)fronta_buffer_destroy(bb);
}

/* ---- errors: each its code, nothing submitted ------------------------------ */

#define EXPECT_REFUSED(call, want)                                                   \
    do {                                                                             \
        uint64_t before_ = submitted(rt);                                            \
        FT_EXPECT_RC(call, want);                                                    \
        if (!fronta_last_error()[0])                                                 \
            fail_msg("%s: no message", #call);                                       \
        assert_int_equal(submitted(rt), before_);                                    \
    } while (0)

static void errors(void **state)
{
    (void)state;
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "cpu"};
    fronta_runtime_t *other = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &other), 0);
    int32_t xi[100] = {0}, r32 = 0, r32b[2] = {0}, o32[100];
    uint8_t m8[100] = {0}, r8 = 0;
    int64_t r64 = 0;
    fronta_buffer_t *x = wrap(rt, xi, 100, FRONTA_INT32), *m = wrap(rt, m8, 100, FRONTA_UINT8);
    fronta_buffer_t *y = wrap(rt, xi, 99, FRONTA_INT32), *res = wrap(rt, &r32, 1, FRONTA_INT32);
    fronta_buffer_t *res2 = wrap(rt, r32b, 2, FRONTA_INT32), *r8b = wrap(rt, &r8, 1, FRONTA_UINT8);
    fronta_buffer_t *r64b = wrap(rt, &r64, 1, FRONTA_INT64), *o = wrap(rt, o32, 100, FRONTA_INT32);
    fronta_buffer_t *xo = wrap(other, xi, 100, FRONTA_INT32), *tiles = wrap(rt, o32, 100, FRONTA_INT32);
    fronta_future_t *f = NULL;
    /* reduce */
    EXPECT_REFUSED(fronta_reduce(NULL, x, FRONTA_REDUCE_SUM, NULL, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_reduce(rt, NULL, FRONTA_REDUCE_SUM, NULL, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_reduce(rt, x, FRONTA_REDUCE_SUM, NULL, NULL), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_reduce(rt, xo, FRONTA_REDUCE_SUM, NULL, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_reduce(rt, x, (fronta_reduce_op_t)0, NULL, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_reduce(rt, x, (fronta_reduce_op_t)99, NULL, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_reduce(rt, m, FRONTA_REDUCE_SUM, NULL, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_reduce(rt, x, FRONTA_REDUCE_COUNT, NULL, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_reduce(rt, x, FRONTA_REDUCE_AND, NULL, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_reduce(rt, x, FRONTA_REDUCE_SUM, r64b, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_reduce(rt, m, FRONTA_REDUCE_COUNT, r8b, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_reduce(rt, m, FRONTA_REDUCE_OR, r64b, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_reduce(rt, x, FRONTA_REDUCE_SUM, res2, &f), FRONTA_ESIZE);
    cut(res, 1, NULL); /* a partitioned result */
    EXPECT_REFUSED(fronta_reduce(rt, x, FRONTA_REDUCE_SUM, res, &f), FRONTA_EPARTITION);
    assert_int_equal(fronta_buffer_unpartition(res), 0);
    cut(x, 4, NULL);
    fronta_buffer_t *c0 = fronta_buffer_chunk(x, 0);
    assert_int_equal(fronta_buffer_unpartition(x), 0); /* c0 is retired */
    EXPECT_REFUSED(fronta_reduce(rt, c0, FRONTA_REDUCE_SUM, NULL, &f), FRONTA_EPARTITION);
    assert_null(f);
    /* compact */
    EXPECT_REFUSED(fronta_compact(NULL, x, m, o, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_compact(rt, x, NULL, o, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_compact(rt, x, m, NULL, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_compact(rt, x, x, o, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_compact(rt, x, m, r64b, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_compact(rt, m, m, m, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_compact(rt, y, m, o, &f), FRONTA_ESIZE);
    cut(x, 4, NULL);
    EXPECT_REFUSED(fronta_compact(rt, x, m, o, &f), FRONTA_ESIZE); /* partitioned and whole */
    cut(m, 5, NULL);
    EXPECT_REFUSED(fronta_compact(rt, x, m, o, &f), FRONTA_ESIZE); /* 4 and 5 chunks */
    assert_int_equal(fronta_buffer_unpartition(m), 0);
    size_t lens[4] = {30, 20, 25, 25};
    fronta_partition_t by_len = {.size = sizeof by_len, .lengths = lens, .nlengths = 4};
    assert_int_equal(fronta_buffer_partition(m, &by_len), 0);
    EXPECT_REFUSED(fronta_compact(rt, x, m, o, &f), FRONTA_ESIZE); /* 4 chunks, other lengths */
    cut(o, 2, NULL);
    EXPECT_REFUSED(fronta_compact(rt, x, m, o, &f), FRONTA_EPARTITION);
    assert_int_equal(fronta_buffer_unpartition(o), 0);
    assert_int_equal(fronta_buffer_unpartition(m), 0);
    fronta_partition_t t2 = {.size = sizeof t2, .rows = 10, .cols = 10, .tile_rows = 5, .tile_cols = 5};
    assert_int_equal(fronta_buffer_partition(tiles, &t2), 0);
    fronta_buffer_t *mt = wrap(rt, m8, 100, FRONTA_UINT8);
    assert_int_equal(fronta_buffer_partition(mt, &t2), 0);
    EXPECT_REFUSED(fronta_compact(rt, tiles, mt, y, &f), FRONTA_ENOTSUP);
    assert_null(f);
    /* concat */
    fronta_buffer_t *two[] = {y, res}, *bad[] = {y, r64b}, *self[] = {o, res}, *nul[] = {y, NULL};
    fronta_buffer_t *parted[] = {x};
    EXPECT_REFUSED(fronta_concat(NULL, two, 2, o, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_concat(rt, NULL, 2, o, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_concat(rt, two, 0, o, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_concat(rt, nul, 2, o, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_concat(rt, two, 2, NULL, &f), FRONTA_EINVAL);
    EXPECT_REFUSED(fronta_concat(rt, bad, 2, o, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_concat(rt, self, 2, o, &f), FRONTA_EARG);
    EXPECT_REFUSED(fronta_concat(rt, two, 1, o, &f), FRONTA_ESIZE);
    EXPECT_REFUSED(fronta_concat(rt, parted, 1, o, &f), FRONTA_EPARTITION);
    EXPECT_REFUSED(fronta_concat(rt, two, 2, tiles, &f), FRONTA_EPARTITION);
    assert_null(f);
    destroy(mt);
    destroy(tiles);
    destroy(xo);
    fronta_runtime_destroy(other);
    fronta_buffer_t *all[] = {x, m, y, res, res2, r8b, r64b, o};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        destroy(all[i]);
}

/* ---- from inside a task --------------------------------------------------- */

typedef struct in_task {
    fronta_buffer_t *x, *m, *out, *a, *b, *c;
} in_task_t;

/* All three from a pool task that waits for them (its worker runs their
 * tasks meanwhile: with one thread, it is the only one). Returns the
 * sum, then kept. */
static int in_task_fn(fronta_ctx_t *ctx, void *arg)
{
    in_task_t *t = arg;
    fronta_runtime_t *r = fronta_ctx_runtime(ctx);
    fronta_future_t *fs[3] = {NULL, NULL, NULL};
    fronta_buffer_t *two[] = {t->a, t->b};
    int rc = fronta_reduce(r, t->x, FRONTA_REDUCE_SUM, NULL, &fs[0]);
    if (!rc)
        rc = fronta_compact(r, t->x, t->m, t->out, &fs[1]);
    if (!rc)
        rc = fronta_concat(r, two, 2, t->c, &fs[2]);
    int64_t v[2] = {0, 0};
    for (int i = 0; i < 3 && !rc; i++)
        rc = fronta_future_wait(fs[i], FT_LIMIT) ? FRONTA_ETIMEDOUT : fronta_future_error(fs[i], NULL);
    if (!rc)
        rc = fronta_future_result(fs[0], 0, &v[0], sizeof v[0]);
    if (!rc)
        rc = fronta_future_result(fs[1], 0, &v[1], sizeof v[1]);
    for (int i = 0; i < 3; i++)
        fronta_future_release(fs[i]);
    return rc ? rc : fronta_ctx_return(ctx, v, sizeof v);
}

static void inside_task(void **state)
{
    (void)state;
    for (int th = 1; th <= 2; th++) {
        fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = th, .devices = th == 1 ? "cpu" : "all"};
        fronta_runtime_t *r = NULL;
        assert_int_equal(fronta_runtime_create(&cfg, &r), 0);
        int64_t x[1000], out[1000], a[600], b[400], c[1000], sum = 0, kept = 0;
        uint8_t m[1000];
        for (int i = 0; i < 1000; i++) {
            x[i] = i * 3 - 100;
            out[i] = -7; /* beyond the kept: left as it was (partitioned) */
            m[i] = i % 7 == 0;
            sum += x[i];
            kept += m[i];
        }
        for (int i = 0; i < 600; i++)
            a[i] = -i;
        for (int i = 0; i < 400; i++)
            b[i] = i + 5;
        in_task_t t = {wrap(r, x, 1000, FRONTA_INT64), wrap(r, m, 1000, FRONTA_UINT8),
                       wrap(r, out, 1000, FRONTA_INT64), wrap(r, a, 600, FRONTA_INT64),
                       wrap(r, b, 400, FRONTA_INT64), wrap(r, c, 1000, FRONTA_INT64)};
        cut(t.x, 7, NULL);
        cut(t.m, 7, NULL);
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_fn(r, in_task_fn, &t, sizeof t, &f), 0);
        FT_EXPECT_OUTCOME(f, 0);
        int64_t v[2];
        assert_int_equal(fronta_future_result(f, 0, v, sizeof v), 0);
        fronta_future_release(f);
        fronta_runtime_destroy(r); /* every buffer's contents back in its array */
        assert_int_equal(v[0], sum);
        assert_int_equal(v[1], kept);
        for (int i = 0; i < 1000; i++) {
            assert_int_equal(out[i], i < kept ? (int64_t)(i * 7) * 3 - 100 : -7);
            assert_int_equal(c[i], i < 600 ? -i : i - 600 + 5);
        }
    }
}

/* ---- allocation failures ---------------------------------------------------- */

/* Fail allocation k of each call (k = 1, 2, ... until one runs clean):
 * the call fails with FRONTA_ENOMEM, or succeeds with futures that
 * finish right or fail; nothing crashes or leaks. */
static int alloc_round(fronta_runtime_t *r, ft_counting_t *c, long k, int which)
{
    size_t n = 5000;
    static int64_t x[5000], out[5000], cat[5000];
    static uint8_t m[5000];
    for (size_t i = 0; i < n; i++) {
        x[i] = (int64_t)i;
        m[i] = i % 9 == 0; /* sparse: the chunk tasks stage what they keep */
        out[i] = cat[i] = -5;
    }
    fronta_buffer_t *bx = wrap(r, x, n, FRONTA_INT64), *bm = wrap(r, m, n, FRONTA_UINT8);
    fronta_buffer_t *bo = wrap(r, out, n, FRONTA_INT64), *parts[2] = {NULL, NULL};
    fronta_buffer_t *o2 = wrap(r, cat, 2000, FRONTA_INT64); /* chunks 0 and 1 of bx */
    cut(bx, 5, NULL);
    cut(bm, 5, NULL);
    assert_int_equal(fronta_runtime_wait_all(r, FT_LIMIT), 0);
    long base = atomic_load(&c->calls);
    c->fail_at = base + k;
    fronta_future_t *f = NULL;
    int rc;
    if (which == 0) {
        rc = fronta_reduce(r, bx, FRONTA_REDUCE_SUM, NULL, &f);
    } else if (which == 1) {
        rc = fronta_compact(r, bx, bm, bo, &f);
    } else {
        parts[0] = fronta_buffer_chunk(bx, 0);
        parts[1] = fronta_buffer_chunk(bx, 1);
        rc = fronta_concat(r, parts, 2, o2, &f);
        int ok = f && ft_outcome(f) == 0;
        (void)fronta_buffer_destroy(o2); /* waits, and brings the contents home */
        for (size_t i = 0; (rc || ok) && i < 2000; i++) /* none copied (the call failed), or all */
            assert_int_equal(cat[i], rc ? -5 : (int64_t)i);
    }
    if (rc && rc != FRONTA_ENOMEM)
        fail_msg("call %d with allocation %ld failing: %s", which, k, fronta_err_name(rc));
    (void)fronta_runtime_wait_all(r, FT_LIMIT);
    if (rc && which == 1) /* a call that fails leaves out alone */
        for (size_t i = 0; i < n; i++)
            assert_int_equal(out[i], -5);
    if (f) {
        assert_int_equal(fronta_future_wait(f, FT_LIMIT), 0);
        int64_t v = 0;
        if (fronta_future_error(f, NULL) == 0 && which < 2) {
            assert_int_equal(fronta_future_result(f, 0, &v, sizeof v), 0);
            assert_int_equal(v, which == 0 ? (int64_t)(n * (n - 1) / 2) : (int64_t)(n + 8) / 9);
        }
        /* Staging that found no memory leaves the copy to the gather: the
         * same elements either way. */
        for (size_t i = 0; which == 1 && fronta_future_error(f, NULL) == 0 && i < n; i++)
            assert_int_equal(out[i], i < (n + 8) / 9 ? (int64_t)(9 * i) : -5);
        fronta_future_release(f);
    }
    c->fail_at = 0;
    (void)fronta_runtime_wait_all(r, FT_LIMIT);
    if (which != 2)
        (void)fronta_buffer_destroy(o2);
    (void)fronta_buffer_destroy(bo);
    (void)fronta_buffer_destroy(bm);
    (void)fronta_buffer_destroy(bx);
    return atomic_load(&c->failed) == 0;
}

static void alloc_failures(void **state)
{
    (void)state;
    for (int which = 0; which < 3; which++) {
        ft_counting_t c;
        ft_counting_init(&c, 0, 0);
        fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "cpu",
                               .alloc = ft_counting_alloc, .alloc_ud = &c,
                               .log_level = FRONTA_LOG_OFF};
        fronta_runtime_t *r = NULL;
        assert_int_equal(fronta_runtime_create(&cfg, &r), 0);
        long k = 1;
        for (; k < 400; k++) {
            atomic_store(&c.failed, 0);
            if (alloc_round(r, &c, k, which))
                break; /* the call and its tasks made fewer than k requests */
        }
        print_message("[ alloc    ] call %d: %ld requests swept\n", which, k - 1);
        fronta_runtime_destroy(r);
        assert_int_equal(atomic_load(&c.live_blocks), 0);
        assert_int_equal(atomic_load(&c.bad_old_size), 0);
    }
}

/* ---- main ------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    seed = ft_seed("test_chunkops");
    rt = ft_bk_runtime();
    have_cl = ft_cl_device(rt, 0) >= 0;
    print_message("[ places   ] pool%s; policy %s\n", have_cl ? ", opencl" : "",
                  fronta_runtime_sched(rt));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fronta_runtime_destroy(rt);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(portable_kernels),
        cmocka_unit_test(portable_rounds),
        cmocka_unit_test(reduce_all),
        cmocka_unit_test(reduce_specials),
        cmocka_unit_test(reduce_tiles),
        cmocka_unit_test(reduce_threads),
        cmocka_unit_test(reduce_on_opencl),
        cmocka_unit_test(reduce_chunk_fails),
        cmocka_unit_test(reduce_order),
        cmocka_unit_test(compact_all),
        cmocka_unit_test(compact_order),
        cmocka_unit_test(compact_chunk_fails),
        cmocka_unit_test(concat_all),
        cmocka_unit_test(concat_order_and_failure),
        cmocka_unit_test(errors),
        cmocka_unit_test(inside_task),
        cmocka_unit_test(alloc_failures),
    };
    ft_filter();
    return cmocka_run_group_tests(tests, setup, teardown);
}
