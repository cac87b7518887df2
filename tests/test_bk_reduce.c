/* test_bk_reduce.c — the reduce group's bundled kernels (docs/kernels.md): sum, min, max, dot, count, the scans, compact and histogram, every dtype against plain reference loops on the pool and on OpenCL at the edge sizes; float bounds, run-to-run and worker-count identity, edge values, and the argument errors. */
#include <float.h>
#include <math.h>

#include "test_bk.h"

static fronta_runtime_t *rt;
static ft_bk_place_t places[2];
static size_t nplaces;
static uint64_t seed;

/* ---- helpers ------------------------------------------------------------ */

/* Run a bundled kernel over args (1-D, launch size the first buffer's). */
static void run_on(fronta_runtime_t *r, const char *kernel, const fronta_arg_t *args,
                   size_t nargs, const ft_bk_place_t *pl, fronta_dtype_t dt, size_t n)
{
    fronta_task_desc_t t;
    memset(&t, 0, sizeof t);
    t.kernel = fronta_kernel_builtin(r, kernel);
    if (!t.kernel)
        fail_msg("no bundled kernel %s", kernel);
    for (size_t i = 0; i < nargs; i++)
        t.args[i] = args[i];
    t.nargs = nargs;
    ft_bk_run(r, &t, pl, dt, n);
}

static void run(const char *kernel, const fronta_arg_t *args, size_t nargs,
                const ft_bk_place_t *pl, fronta_dtype_t dt, size_t n)
{
    run_on(rt, kernel, args, nargs, pl, dt, n);
}

static void destroy(fronta_buffer_t *b)
{
    assert_int_equal(fronta_buffer_destroy(b), 0);
}

static int is_float(fronta_dtype_t t)
{
    return t == FRONTA_FLOAT || t == FRONTA_DOUBLE;
}

/* The unit roundoff of a float type. */
static double unit(fronta_dtype_t t)
{
    return t == FRONTA_FLOAT ? ldexp(1, -24) : ldexp(1, -53);
}

/* The stated bounds (docs/kernels.md): a reduction's element meets at
 * most d additions on its way to the result, a scan's output at most
 * d_scan; |err| <= (d + 1) u sum|terms| (one more for dot's products). */
static double depth_reduce(size_t n)
{
    return 62.0 + ceil((double)n / (1 << 22));
}

static double depth_scan(size_t n)
{
    return 1600.0 + ceil((double)n / (1 << 17));
}

/* Element i as the two's complement bits of an integer (sign-extended). */
static uint64_t get_u(const void *p, fronta_dtype_t t, size_t i)
{
    switch (t) {
    case FRONTA_UINT8:
        return ((const uint8_t *)p)[i];
    case FRONTA_INT32:
        return (uint64_t)(int64_t)((const int32_t *)p)[i];
    default:
        return (uint64_t)((const int64_t *)p)[i];
    }
}

/* Integers wrap in their width. */
static uint64_t wrap(uint64_t v, fronta_dtype_t t)
{
    return t == FRONTA_INT32 ? v & 0xffffffffu : v;
}

/* Random data: integers over their whole range (sums and products
 * wrap), floats on a 1/1024 grid in [-range, range] (double sums of them
 * are exact). */
static void *data_r(size_t n, fronta_dtype_t t, int64_t range, uint64_t *s)
{
    if (is_float(t))
        return ft_bk_random(n, t, range, s);
    void *p = malloc(n * fronta_dtype_size(t));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ft_rand(s);
        if (t == FRONTA_UINT8)
            ((uint8_t *)p)[i] = (uint8_t)r;
        else if (t == FRONTA_INT32)
            ((int32_t *)p)[i] = (int32_t)(uint32_t)r;
        else
            ((int64_t *)p)[i] = (int64_t)r;
    }
    return p;
}

static void *data(size_t n, fronta_dtype_t t, uint64_t *s)
{
    return data_r(n, t, 100, s);
}

/* Small integers as t: float sums of these are exact in any order at
 * the sizes here, so a lost or doubled element shows exactly. */
static void *small_ints(size_t n, fronta_dtype_t t, int64_t range, uint64_t *s)
{
    void *p = calloc(n, fronta_dtype_size(t));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        double v = (double)((int64_t)(ft_rand(s) % (uint64_t)(2 * range + 1)) - range);
        if (t == FRONTA_FLOAT)
            ((float *)p)[i] = (float)v;
        else
            ((double *)p)[i] = v;
    }
    return p;
}

/* Is got within tol of want (NaN only matches NaN). */
static void check_close(double got, double want, double tol, const char *what, size_t n,
                        const char *place, fronta_dtype_t t)
{
    if (isnan(want) ? !isnan(got) : !(got == want || fabs(got - want) <= tol))
        fail_msg("%s on %s, %s, n=%zu: %.17g, expected %.17g (tolerance %.3g)", what, place,
                 ft_bk_dtype_name(t), n, got, want, tol);
}

/* ---- sum, min, max ------------------------------------------------------ */

/* The three over one array, in one go; references in plain loops. */
static void sum_min_max_one(const ft_bk_place_t *pl, fronta_dtype_t t, size_t n, void *x,
                            int exact)
{
    unsigned char r[3][8];
    memset(r, 0x5a, sizeof r);
    fronta_buffer_t *bx = ft_bk_wrap(rt, x, n, t);
    fronta_buffer_t *br[3];
    const char *names[3] = {"sum", "min", "max"};
    for (int k = 0; k < 3; k++) {
        br[k] = ft_bk_wrap(rt, r[k], 1, t);
        fronta_arg_t a[] = {FRONTA_IN(bx), FRONTA_OUT(br[k])};
        run(names[k], a, 2, pl, t, n);
    }
    for (int k = 0; k < 3; k++)
        destroy(br[k]);
    destroy(bx);
    if (!is_float(t)) {
        uint64_t s = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < n; i++) {
            int64_t v = (int64_t)get_u(x, t, i);
            s += (uint64_t)v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        uint64_t got[3] = {wrap(get_u(r[0], t, 0), t), get_u(r[1], t, 0), get_u(r[2], t, 0)};
        uint64_t want[3] = {wrap(s, t), (uint64_t)lo, (uint64_t)hi};
        for (int k = 0; k < 3; k++)
            if (got[k] != want[k])
                fail_msg("%s on %s, %s, n=%zu: %lld, expected %lld", names[k], pl->name,
                         ft_bk_dtype_name(t), n, (long long)got[k], (long long)want[k]);
        return;
    }
    double s = 0, abs = 0, lo = NAN, hi = NAN; /* fmin(NaN, v) = v */
    for (size_t i = 0; i < n; i++) {
        double v = ft_bk_get(x, t, i);
        s += v; /* exact: grid data */
        abs += fabs(v);
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    double tol = exact ? 0 : (depth_reduce(n) + 1) * unit(t) * abs;
    check_close(ft_bk_get(r[0], t, 0), s, tol, "sum", n, pl->name, t);
    check_close(ft_bk_get(r[1], t, 0), lo, 0, "min", n, pl->name, t);
    check_close(ft_bk_get(r[2], t, 0), hi, 0, "max", n, pl->name, t);
}

static void sum_min_max(void **state)
{
    (void)state;
    uint64_t s = seed;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 0; d < 4; d++)
            for (size_t z = 0; z < FT_BK_NSIZES; z++) {
                fronta_dtype_t t = ft_bk_numeric[d];
                size_t n = ft_bk_sizes[z];
                void *x = data(n, t, &s);
                sum_min_max_one(&places[p], t, n, x, 0);
                free(x);
                if (is_float(t)) {
                    x = small_ints(n, t, 8, &s);
                    sum_min_max_one(&places[p], t, n, x, 1);
                    free(x);
                }
            }
}

/* NaN is skipped unless every element is NaN; infinities count. */
static void min_max_nan(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 7, 257, 65537, (1u << 20) + 3};
    uint64_t s = seed ^ 1;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 2; d < 4; d++)
            for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
                for (int all = 0; all < 2; all++) {
                    fronta_dtype_t t = ft_bk_numeric[d];
                    size_t n = sizes[z];
                    void *x = data(n, t, &s);
                    for (size_t i = 0; i < n; i++)
                        if (all || i % 3 == 0 || ft_rand(&s) % 5 == 0) {
                            if (t == FRONTA_FLOAT)
                                ((float *)x)[i] = NAN;
                            else
                                ((double *)x)[i] = NAN;
                        }
                    if (!all && n > 7) { /* the ends, and an infinity among numbers */
                        if (t == FRONTA_FLOAT)
                            ((float *)x)[n - 2] = -INFINITY;
                        else
                            ((double *)x)[n - 2] = -INFINITY;
                    }
                    sum_min_max_one(&places[p], t, n, x, 1);
                    free(x);
                }
}

/* ---- dot ---------------------------------------------------------------- */

static void dot_one(const ft_bk_place_t *pl, fronta_dtype_t t, size_t n, void *x, void *y,
                    int exact)
{
    unsigned char r[8];
    memset(r, 0x5a, sizeof r);
    fronta_buffer_t *bx = ft_bk_wrap(rt, x, n, t), *by = ft_bk_wrap(rt, y, n, t);
    fronta_buffer_t *br = ft_bk_wrap(rt, r, 1, t);
    fronta_arg_t a[] = {FRONTA_IN(bx), FRONTA_IN(by), FRONTA_OUT(br)};
    run("dot", a, 3, pl, t, n);
    destroy(br);
    destroy(by);
    destroy(bx);
    if (!is_float(t)) {
        uint64_t s = 0;
        for (size_t i = 0; i < n; i++)
            s += get_u(x, t, i) * get_u(y, t, i);
        if (wrap(get_u(r, t, 0), t) != wrap(s, t))
            fail_msg("dot on %s, %s, n=%zu: %lld, expected %lld", pl->name,
                     ft_bk_dtype_name(t), n, (long long)get_u(r, t, 0), (long long)wrap(s, t));
        return;
    }
    double s = 0, abs = 0;
    for (size_t i = 0; i < n; i++) {
        double v = ft_bk_get(x, t, i) * ft_bk_get(y, t, i);
        s += v; /* exact: grid data of [-4, 4] */
        abs += fabs(v);
    }
    check_close(ft_bk_get(r, t, 0), s, exact ? 0 : (depth_reduce(n) + 2) * unit(t) * abs, "dot",
                n, pl->name, t);
}

static void dot(void **state)
{
    (void)state;
    uint64_t s = seed ^ 2;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 0; d < 4; d++)
            for (size_t z = 0; z < FT_BK_NSIZES; z++) {
                fronta_dtype_t t = ft_bk_numeric[d];
                size_t n = ft_bk_sizes[z];
                void *x = data_r(n, t, 4, &s), *y = data_r(n, t, 4, &s);
                dot_one(&places[p], t, n, x, y, 0);
                free(x);
                free(y);
                if (is_float(t)) {
                    x = small_ints(n, t, 2, &s);
                    y = small_ints(n, t, 2, &s);
                    dot_one(&places[p], t, n, x, y, 1);
                    free(x);
                    free(y);
                }
            }
}

/* ---- count -------------------------------------------------------------- */

static void count(void **state)
{
    (void)state;
    uint64_t s = seed ^ 3;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t z = 0; z < FT_BK_NSIZES; z++)
            for (int any = 0; any < 3; any++) {
                size_t n = ft_bk_sizes[z];
                /* 0/1, any byte, and all set */
                uint8_t *m = ft_bk_random(n, FRONTA_UINT8, any == 1 ? 2 : 1, &s);
                if (any == 2)
                    memset(m, 0xff, n);
                int64_t r = -1;
                fronta_buffer_t *bm = ft_bk_wrap(rt, m, n, FRONTA_UINT8);
                fronta_buffer_t *br = ft_bk_wrap(rt, &r, 1, FRONTA_INT64);
                fronta_arg_t a[] = {FRONTA_IN(bm), FRONTA_OUT(br)};
                run("count", a, 2, &places[p], FRONTA_UINT8, n);
                destroy(br);
                destroy(bm);
                int64_t want = 0;
                for (size_t i = 0; i < n; i++)
                    want += m[i] != 0;
                if (r != want)
                    fail_msg("count on %s, n=%zu: %lld, expected %lld", places[p].name, n,
                             (long long)r, (long long)want);
                free(m);
            }
}

/* ---- scans -------------------------------------------------------------- */

/* y against the prefix sums of x (exclusive: y[0] = 0). */
static void scan_check(const ft_bk_place_t *pl, fronta_dtype_t t, size_t n, const void *x,
                       const void *y, int ex, int exact)
{
    const char *what = ex ? "exclusive_scan" : "inclusive_scan";
    uint64_t si = 0;
    double sf = 0, abs = 0, u = is_float(t) ? unit(t) : 0, d = depth_scan(n) + 1;
    for (size_t i = 0; i < n; i++) {
        if (!is_float(t)) {
            uint64_t v = get_u(x, t, i);
            si += ex ? 0 : v;
            if (wrap(get_u(y, t, i), t) != wrap(si, t))
                fail_msg("%s on %s, %s, n=%zu: y[%zu] = %lld, expected %lld", what, pl->name,
                         ft_bk_dtype_name(t), n, i, (long long)get_u(y, t, i),
                         (long long)wrap(si, t));
            si += ex ? v : 0;
            continue;
        }
        double v = ft_bk_get(x, t, i);
        if (!ex) {
            sf += v;
            abs += fabs(v);
        }
        double got = ft_bk_get(y, t, i);
        if (!(fabs(got - sf) <= (exact ? 0 : d * u * abs)) || (i == 0 && ex && signbit(got)))
            fail_msg("%s on %s, %s, n=%zu: y[%zu] = %.17g, expected %.17g", what, pl->name,
                     ft_bk_dtype_name(t), n, i, got, sf);
        if (ex) {
            sf += v;
            abs += fabs(v);
        }
    }
}

/* x into a fresh y, or (inplace) into x itself. */
static void scan_one(const ft_bk_place_t *pl, fronta_dtype_t t, size_t n, void *x, int ex,
                     int inplace, int exact)
{
    size_t es = fronta_dtype_size(t);
    void *y = malloc(n * es), *x0 = malloc(n * es);
    assert_non_null(y);
    assert_non_null(x0);
    memcpy(x0, x, n * es);
    memset(y, 0x5a, n * es);
    fronta_buffer_t *bx = ft_bk_wrap(rt, x, n, t);
    fronta_buffer_t *by = inplace ? bx : ft_bk_wrap(rt, y, n, t);
    fronta_arg_t a[] = {FRONTA_IN(bx), FRONTA_OUT(by)};
    run(ex ? "exclusive_scan" : "inclusive_scan", a, 2, pl, t, n);
    if (!inplace)
        destroy(by);
    destroy(bx);
    scan_check(pl, t, n, x0, inplace ? x : y, ex, exact);
    if (!inplace && memcmp(x, x0, n * es))
        fail_msg("scan on %s, %s, n=%zu changed its input", pl->name, ft_bk_dtype_name(t), n);
    free(y);
    free(x0);
}

static void scans(void **state)
{
    (void)state;
    uint64_t s = seed ^ 4;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 0; d < 4; d++)
            for (size_t z = 0; z < FT_BK_NSIZES; z++)
                for (int ex = 0; ex < 2; ex++) {
                    fronta_dtype_t t = ft_bk_numeric[d];
                    size_t n = ft_bk_sizes[z];
                    void *x = data(n, t, &s);
                    scan_one(&places[p], t, n, x, ex, 0, 0);
                    free(x);
                    if (is_float(t)) {
                        x = small_ints(n, t, 8, &s);
                        scan_one(&places[p], t, n, x, ex, 0, 1);
                        free(x);
                    }
                }
}

/* The same buffer as x and y: the task has it INOUT. */
static void scans_in_place(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 257, 4099, (1u << 20) + 3};
    uint64_t s = seed ^ 5;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 0; d < 4; d++)
            for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
                for (int ex = 0; ex < 2; ex++) {
                    fronta_dtype_t t = ft_bk_numeric[d];
                    void *x = is_float(t) ? small_ints(sizes[z], t, 8, &s)
                                          : data(sizes[z], t, &s);
                    scan_one(&places[p], t, sizes[z], x, ex, 1, 1);
                    free(x);
                }
}

/* ---- compact ------------------------------------------------------------ */

/* Masks of bytes where about a third are 0 and the rest any nonzero
 * byte; density 0 (empty) and 1 (full) when asked. */
static uint8_t *mask(size_t n, int density, uint64_t *s)
{
    uint8_t *m = malloc(n ? n : 1);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ft_rand(s);
        m[i] = density == 0 ? 0 : density == 1 ? 1 : r % 3 == 0 ? 0 : (uint8_t)((r >> 8) | 1);
    }
    return m;
}

/* compact of x under m into a y of ny elements (inplace: y is x). */
static void compact_one(const ft_bk_place_t *pl, fronta_dtype_t t, size_t n, const void *x,
                        const uint8_t *m, size_t ny, int inplace)
{
    size_t es = fronta_dtype_size(t);
    size_t cap = ny > n ? ny : n;
    unsigned char *xc = malloc(n * es), *y = malloc(cap * es), *want = calloc(cap, es);
    assert_true(xc && y && want);
    memcpy(xc, x, n * es);
    memset(y, 0xa5, cap * es);
    uint8_t *mc = malloc(n);
    assert_non_null(mc);
    memcpy(mc, m, n);
    int64_t kept = -1, wkept = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i]) {
            if ((size_t)wkept < ny)
                memcpy(want + (size_t)wkept * es, (const unsigned char *)x + i * es, es);
            wkept++;
        }
    fronta_buffer_t *bx = ft_bk_wrap(rt, xc, n, t), *bm = ft_bk_wrap(rt, mc, n, FRONTA_UINT8);
    fronta_buffer_t *by = inplace ? bx : ft_bk_wrap(rt, y, ny, t);
    fronta_buffer_t *bk = ft_bk_wrap(rt, &kept, 1, FRONTA_INT64);
    fronta_arg_t a[] = {FRONTA_IN(bx), FRONTA_IN(bm), FRONTA_OUT(by), FRONTA_OUT(bk)};
    run("compact", a, 4, pl, t, n);
    destroy(bk);
    if (!inplace)
        destroy(by);
    destroy(bm);
    destroy(bx);
    const unsigned char *got = inplace ? xc : y;
    if (kept != wkept)
        fail_msg("compact on %s, %s, n=%zu, ny=%zu: kept %lld, expected %lld", pl->name,
                 ft_bk_dtype_name(t), n, ny, (long long)kept, (long long)wkept);
    for (size_t i = 0; i < ny; i++)
        if (memcmp(got + i * es, want + i * es, es))
            fail_msg("compact on %s, %s, n=%zu, ny=%zu, kept %lld: y[%zu] wrong (%s)",
                     pl->name, ft_bk_dtype_name(t), n, ny, (long long)wkept, i,
                     (int64_t)i < wkept ? "a kept element" : "not zeroed");
    if (!inplace && ny < cap && y[ny * es] != 0xa5)
        fail_msg("compact on %s wrote past y", pl->name);
    free(xc);
    free(y);
    free(want);
    free(mc);
}

static void compact(void **state)
{
    (void)state;
    uint64_t s = seed ^ 6;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 0; d < 5; d++)
            for (size_t z = 0; z < FT_BK_NSIZES; z++) {
                fronta_dtype_t t = ft_bk_all[d];
                size_t n = ft_bk_sizes[z];
                void *x = data(n, t, &s);
                uint8_t *m = mask(n, 2, &s);
                size_t set = 0;
                for (size_t i = 0; i < n; i++)
                    set += m[i] != 0;
                compact_one(&places[p], t, n, x, m, n, 0);          /* room for all */
                compact_one(&places[p], t, n, x, m, set / 2 + 1, 0); /* too small */
                if (z % 3 == 0)
                    compact_one(&places[p], t, n, x, m, 2 * n + 5, 0); /* a long tail */
                free(m);
                m = mask(n, z % 2, &s); /* empty, full */
                compact_one(&places[p], t, n, x, m, n, 0);
                free(m);
                free(x);
            }
}

static void compact_in_place(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 257, 4099, (1u << 20) + 3};
    uint64_t s = seed ^ 7;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 0; d < 5; d++)
            for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
                fronta_dtype_t t = ft_bk_all[d];
                void *x = data(sizes[z], t, &s);
                uint8_t *m = mask(sizes[z], 2, &s);
                compact_one(&places[p], t, sizes[z], x, m, sizes[z], 1);
                free(m);
                free(x);
            }
}

/* ---- histogram ---------------------------------------------------------- */

typedef struct hist_bounds {
    int64_t ilo, ihi;
    double flo, fhi;
} hist_bounds;

/* The reference bin (docs/kernels.md), written apart from the kernels:
 * integers floor((v - lo) nb / (hi - lo)) in 128 bits, floats
 * floor((v - lo) * (nb / (hi - lo))) with each step rounded in the
 * element type and clamped to nb - 1; SIZE_MAX outside [lo, hi). */
__extension__ typedef unsigned __int128 ft_u128;

static size_t ref_bin(const void *x, fronta_dtype_t t, size_t i, const hist_bounds *hb, size_t nb)
{
    if (t == FRONTA_FLOAT) {
        float v = ((const float *)x)[i], lo = (float)hb->flo, hi = (float)hb->fhi;
        if (!(v >= lo && v < hi))
            return SIZE_MAX;
        float scale = (float)nb / (hi - lo), q = (v - lo) * scale;
        return q >= (float)nb ? nb - 1 : (size_t)floorf(q) < nb ? (size_t)floorf(q) : nb - 1;
    }
    if (t == FRONTA_DOUBLE) {
        double v = ((const double *)x)[i], lo = hb->flo, hi = hb->fhi;
        if (!(v >= lo && v < hi))
            return SIZE_MAX;
        double scale = (double)nb / (hi - lo), q = (v - lo) * scale;
        return q >= (double)nb ? nb - 1 : (size_t)floor(q) < nb ? (size_t)floor(q) : nb - 1;
    }
    int64_t v = (int64_t)get_u(x, t, i);
    if (v < hb->ilo || v >= hb->ihi)
        return SIZE_MAX;
    /* lo <= v < hi: both differences fit 64 unsigned bits exactly. */
    ft_u128 off = (uint64_t)v - (uint64_t)hb->ilo, w = (uint64_t)hb->ihi - (uint64_t)hb->ilo;
    return (size_t)(off * nb / w);
}

static fronta_arg_t bound_arg(fronta_dtype_t t, const hist_bounds *hb, int high)
{
    switch (t) {
    case FRONTA_INT32:
        return FRONTA_I32((int32_t)(high ? hb->ihi : hb->ilo));
    case FRONTA_INT64:
        return FRONTA_I64(high ? hb->ihi : hb->ilo);
    case FRONTA_FLOAT:
        return FRONTA_F32((float)(high ? hb->fhi : hb->flo));
    default:
        return FRONTA_F64(high ? hb->fhi : hb->flo);
    }
}

static void hist_one(const ft_bk_place_t *pl, fronta_dtype_t t, size_t n, const void *x,
                     const hist_bounds *hb, size_t nb)
{
    int64_t *h = malloc(nb * sizeof *h), *want = calloc(nb, sizeof *want);
    assert_true(h && want);
    memset(h, 0x5a, nb * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        size_t b = ref_bin(x, t, i, hb, nb);
        if (b != SIZE_MAX)
            want[b]++;
    }
    fronta_buffer_t *bx = ft_bk_wrap(rt, (void *)x, n, t);
    fronta_buffer_t *bh = ft_bk_wrap(rt, h, nb, FRONTA_INT64);
    fronta_arg_t a[] = {FRONTA_IN(bx), FRONTA_OUT(bh), bound_arg(t, hb, 0), bound_arg(t, hb, 1)};
    run("histogram", a, 4, pl, t, n);
    destroy(bh);
    destroy(bx);
    for (size_t b = 0; b < nb; b++)
        if (h[b] != want[b])
            fail_msg("histogram on %s, %s, n=%zu, nb=%zu: h[%zu] = %lld, expected %lld",
                     pl->name, ft_bk_dtype_name(t), n, nb, b, (long long)h[b],
                     (long long)want[b]);
    free(h);
    free(want);
}

static void histogram(void **state)
{
    (void)state;
    /* 4096 fills local memory; 4097 is the first of the global path. */
    static const size_t nbs[] = {1, 7, 100, 4096, 4097, 0};
    uint64_t s = seed ^ 8;
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 0; d < 4; d++)
            for (size_t z = 0; z < FT_BK_NSIZES; z++) {
                fronta_dtype_t t = ft_bk_numeric[d];
                size_t n = ft_bk_sizes[z];
                /* Data beyond the bounds on both sides. */
                void *x = ft_bk_random(n, t, 1000, &s);
                hist_bounds hb = {-900, 901, -900.0, 777.5};
                size_t nb = nbs[(z + d) % 6] ? nbs[(z + d) % 6] : 3 * n + 1; /* 0: more than n */
                hist_one(&places[p], t, n, x, &hb, nb);
                free(x);
            }
}

/* Edge values: lo is bin 0, just below hi the last bin, hi itself and
 * NaN nowhere; bounds over the whole integer range (the 128-bit path). */
static void histogram_edges(void **state)
{
    (void)state;
    enum { N = 12 };
    static const size_t nbs[] = {1, 3, 1000, 5000};
    for (size_t p = 0; p < nplaces; p++)
        for (size_t k = 0; k < sizeof nbs / sizeof nbs[0]; k++) {
            size_t nb = nbs[k];
            float f[N] = {-2.5f, nextafterf(-2.5f, 0), nextafterf(7.25f, 0), 7.25f, NAN,
                          -INFINITY, INFINITY, nextafterf(-2.5f, -10), 0, 1, 7, -2.5f};
            double dd[N] = {-2.5, nextafter(-2.5, 0), nextafter(7.25, 0), 7.25, NAN, -INFINITY,
                            INFINITY, nextafter(-2.5, -10), 0, 1, 7, -2.5};
            int32_t i32[N] = {-3, -2, 6, 7, INT32_MIN, INT32_MAX, -4, 0, 1, 5, 6, -3};
            int32_t w32[N] = {INT32_MIN, INT32_MIN + 1, INT32_MAX - 1, INT32_MAX, 0, -1, 1,
                              12345, -12345, INT32_MAX - 2, INT32_MIN + 2, 7};
            int64_t w64[N] = {INT64_MIN, -(INT64_C(1) << 62), (INT64_C(1) << 62) - 1,
                              INT64_C(1) << 62, 0, -1, 1, INT64_MAX, (INT64_C(1) << 61) + 7,
                              -(INT64_C(1) << 61) - 7, 3, -3};
            hist_bounds hf = {0, 0, -2.5, 7.25}, hi = {-3, 7, 0, 0};
            hist_bounds h32 = {INT32_MIN, INT32_MAX, 0, 0};
            hist_bounds h64 = {-(INT64_C(1) << 62), INT64_C(1) << 62, 0, 0};
            hist_one(&places[p], FRONTA_FLOAT, N, f, &hf, nb);
            hist_one(&places[p], FRONTA_DOUBLE, N, dd, &hf, nb);
            hist_one(&places[p], FRONTA_INT32, N, i32, &hi, nb);
            hist_one(&places[p], FRONTA_INT32, N, w32, &h32, nb);
            hist_one(&places[p], FRONTA_INT64, N, w64, &h64, nb);
            /* The reference places lo in bin 0 and hi - ulp in nb - 1. */
            assert_int_equal(ref_bin(f, FRONTA_FLOAT, 0, &hf, nb), 0);
            assert_int_equal(ref_bin(f, FRONTA_FLOAT, 2, &hf, nb), nb - 1);
            assert_int_equal(ref_bin(f, FRONTA_FLOAT, 3, &hf, nb), SIZE_MAX);
            assert_int_equal(ref_bin(dd, FRONTA_DOUBLE, 2, &hf, nb), nb - 1);
            assert_int_equal(ref_bin(w64, FRONTA_INT64, 2, &h64, nb), nb - 1);
        }
}

/* ---- determinism -------------------------------------------------------- */

/* Full-mantissa floats: no order of addition is exact, so the bits show
 * the tree. */
static float *rough_floats(size_t n, uint64_t *s)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((double)(ft_rand(s) >> 11) * 0x1p-53 * 2000.0 - 1000.0);
    return x;
}

/* sum, dot and inclusive_scan of x on place pl of runtime r into out
 * (2 + n floats). */
static void float_results(fronta_runtime_t *r, const ft_bk_place_t *pl, float *x, size_t n,
                          float *out)
{
    fronta_buffer_t *bx = ft_bk_wrap(r, x, n, FRONTA_FLOAT);
    fronta_buffer_t *bs = ft_bk_wrap(r, &out[0], 1, FRONTA_FLOAT);
    fronta_buffer_t *bd = ft_bk_wrap(r, &out[1], 1, FRONTA_FLOAT);
    fronta_buffer_t *by = ft_bk_wrap(r, &out[2], n, FRONTA_FLOAT);
    fronta_arg_t s[] = {FRONTA_IN(bx), FRONTA_OUT(bs)}, d[] = {FRONTA_IN(bx), FRONTA_IN(bx),
                                                               FRONTA_OUT(bd)};
    fronta_arg_t y[] = {FRONTA_IN(bx), FRONTA_OUT(by)};
    run_on(r, "sum", s, 2, pl, FRONTA_FLOAT, n);
    run_on(r, "dot", d, 3, pl, FRONTA_FLOAT, n);
    run_on(r, "inclusive_scan", y, 2, pl, FRONTA_FLOAT, n);
    destroy(by);
    destroy(bd);
    destroy(bs);
    destroy(bx);
}

static void same_bits(const float *a, const float *b, size_t n, const char *what)
{
    if (memcmp(a, b, (n + 2) * sizeof *a)) {
        size_t i = 0;
        while (i < n + 2 && !memcmp(&a[i], &b[i], sizeof *a))
            i++;
        fail_msg("%s: result %zu differs (%.9g vs %.9g)", what, i, a[i], b[i]);
    }
}

/* The same bits on every run, and on the pool whatever its size. */
static void determinism(void **state)
{
    (void)state;
    static const size_t sizes[] = {3 * 65536 + 5, (1u << 20) + 3};
    uint64_t s = seed ^ 9;
    for (size_t z = 0; z < 2; z++) {
        size_t n = sizes[z];
        float *x = rough_floats(n, &s);
        float *a = malloc((n + 2) * sizeof *a), *b = malloc((n + 2) * sizeof *b);
        assert_true(a && b);
        for (size_t p = 0; p < nplaces; p++) {
            float_results(rt, &places[p], x, n, a);
            float_results(rt, &places[p], x, n, b);
            same_bits(a, b, n, places[p].name);
        }
        float_results(rt, &places[0], x, n, a);
        for (int threads = 1; threads <= 3; threads++) {
            fronta_config_t cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.size = sizeof cfg;
            cfg.cpu_threads = threads;
            cfg.devices = "cpu";
            fronta_runtime_t *r = NULL;
            assert_int_equal(fronta_runtime_create(&cfg, &r), 0);
            float_results(r, &places[0], x, n, b);
            assert_int_equal(fronta_runtime_destroy(r), 0);
            char what[64];
            snprintf(what, sizeof what, "pool of %d against pool of 2", threads);
            same_bits(a, b, n, what);
        }
        free(x);
        free(a);
        free(b);
    }
}

/* ---- names and argument errors ------------------------------------------ */

static void names(void **state)
{
    (void)state;
    static const char *const ours[] = {"sum", "min", "max", "dot", "count", "inclusive_scan",
                                       "exclusive_scan", "compact", "histogram"};
    for (size_t c = 0; c < sizeof ours / sizeof ours[0]; c++) {
        int found = 0;
        for (size_t i = 0; fronta_kernel_builtin_name(i); i++)
            found |= strcmp(fronta_kernel_builtin_name(i), ours[c]) == 0;
        if (!found)
            fail_msg("%s is not among fronta_kernel_builtin_name", ours[c]);
        assert_non_null(fronta_kernel_builtin(rt, ours[c]));
    }
}

static uint64_t tasks_run_total(void)
{
    uint64_t total = 0;
    for (int d = 0; d < fronta_device_count(rt); d++)
        total += ft_dstats(rt, d).tasks_run;
    return total;
}

/* Each case is refused at submit with its code, no future, nothing run,
 * and the arrays as they were. */
static void errors(void **state)
{
    (void)state;
    enum { N = 64 };
    float fa[N], f1[1], f2[2];
    double d1[1];
    int32_t ia[N], i1[1];
    int64_t la[N], l1[1], l2[2];
    uint8_t ma[N];
    uint64_t s = seed ^ 10;
    for (size_t i = 0; i < N; i++) {
        fa[i] = (float)(ft_rand(&s) % 100);
        ia[i] = (int32_t)(ft_rand(&s) % 100);
        la[i] = (int64_t)(ft_rand(&s) % 100);
        ma[i] = (uint8_t)ft_rand(&s);
    }
    f1[0] = f2[0] = f2[1] = 0.5f;
    d1[0] = 0.5;
    i1[0] = 5;
    l1[0] = l2[0] = l2[1] = 5;
    void *arrs[] = {fa, f1, f2, d1, ia, i1, la, l1, l2, ma};
    const size_t sizes[] = {sizeof fa, sizeof f1, sizeof f2, sizeof d1, sizeof ia,
                            sizeof i1, sizeof la, sizeof l1, sizeof l2, sizeof ma};
    enum { NA = sizeof arrs / sizeof arrs[0] };
    unsigned char *copy[NA];
    for (size_t k = 0; k < NA; k++) {
        copy[k] = malloc(sizes[k]);
        assert_non_null(copy[k]);
        memcpy(copy[k], arrs[k], sizes[k]);
    }
    fronta_buffer_t *F = ft_bk_wrap(rt, fa, N, FRONTA_FLOAT);
    fronta_buffer_t *F1 = ft_bk_wrap(rt, f1, 1, FRONTA_FLOAT);
    fronta_buffer_t *F2 = ft_bk_wrap(rt, f2, 2, FRONTA_FLOAT);
    fronta_buffer_t *D1 = ft_bk_wrap(rt, d1, 1, FRONTA_DOUBLE);
    fronta_buffer_t *I = ft_bk_wrap(rt, ia, N, FRONTA_INT32);
    fronta_buffer_t *I1 = ft_bk_wrap(rt, i1, 1, FRONTA_INT32);
    fronta_buffer_t *L = ft_bk_wrap(rt, la, N, FRONTA_INT64);
    fronta_buffer_t *L1 = ft_bk_wrap(rt, l1, 1, FRONTA_INT64);
    fronta_buffer_t *L2 = ft_bk_wrap(rt, l2, 2, FRONTA_INT64);
    fronta_buffer_t *M = ft_bk_wrap(rt, ma, N, FRONTA_UINT8);
    const struct {
        const char *what, *kernel;
        int want;
        fronta_arg_t a[4];
    } cs[] = {
        {"sum into 2 elements", "sum", FRONTA_ESIZE, {FRONTA_IN(F), FRONTA_OUT(F2)}},
        {"min into 2 elements", "min", FRONTA_ESIZE, {FRONTA_IN(F), FRONTA_OUT(F2)}},
        {"sum of uint8 (NUMERIC)", "sum", FRONTA_EARG, {FRONTA_IN(M), FRONTA_OUT(L1)}},
        {"sum of float into double (like x)", "sum", FRONTA_EARG, {FRONTA_IN(F), FRONTA_OUT(D1)}},
        {"max into an IN", "max", FRONTA_EARG, {FRONTA_IN(F), FRONTA_IN(F1)}},
        {"dot of float and int32", "dot", FRONTA_EARG,
         {FRONTA_IN(F), FRONTA_IN(I), FRONTA_OUT(F1)}},
        {"dot with y of 2", "dot", FRONTA_ESIZE, {FRONTA_IN(F), FRONTA_IN(F2), FRONTA_OUT(F1)}},
        {"count of an int32 mask", "count", FRONTA_EARG, {FRONTA_IN(I), FRONTA_OUT(L1)}},
        {"count into int32", "count", FRONTA_EARG, {FRONTA_IN(M), FRONTA_OUT(I1)}},
        {"count into 2 elements", "count", FRONTA_ESIZE, {FRONTA_IN(M), FRONTA_OUT(L2)}},
        {"inclusive_scan into 2 elements", "inclusive_scan", FRONTA_ESIZE,
         {FRONTA_IN(F), FRONTA_OUT(F2)}},
        {"exclusive_scan of int32 into int64", "exclusive_scan", FRONTA_EARG,
         {FRONTA_IN(I), FRONTA_OUT(L)}},
        {"compact with an int32 mask", "compact", FRONTA_EARG,
         {FRONTA_IN(I), FRONTA_IN(I), FRONTA_OUT(I), FRONTA_OUT(L1)}},
        {"compact into another type", "compact", FRONTA_EARG,
         {FRONTA_IN(F), FRONTA_IN(M), FRONTA_OUT(I), FRONTA_OUT(L1)}},
        {"compact with kept of 2", "compact", FRONTA_ESIZE,
         {FRONTA_IN(F), FRONTA_IN(M), FRONTA_OUT(F), FRONTA_OUT(L2)}},
        {"histogram into int32", "histogram", FRONTA_EARG,
         {FRONTA_IN(F), FRONTA_OUT(I), FRONTA_F32(0), FRONTA_F32(1)}},
        {"histogram of float with F64 bounds", "histogram", FRONTA_EARG,
         {FRONTA_IN(F), FRONTA_OUT(L), FRONTA_F64(0), FRONTA_F64(1)}},
        {"histogram into its own input", "histogram", FRONTA_EARG,
         {FRONTA_IN(L), FRONTA_OUT(L), FRONTA_I64(0), FRONTA_I64(9)}},
    };
    uint64_t before = tasks_run_total();
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        fronta_task_desc_t td;
        memset(&td, 0, sizeof td);
        td.size = sizeof td;
        td.kernel = fronta_kernel_builtin(rt, cs[c].kernel);
        assert_non_null(td.kernel);
        for (size_t a = 0; a < 4; a++)
            td.args[a] = cs[c].a[a]; /* the ones not given are NONE: the list's end */
        fronta_future_t *f = (fronta_future_t *)&f;
        int rc = fronta_submit(rt, &td, &f);
        if (rc != cs[c].want)
            fail_msg("%s: fronta_submit gave %s, expected %s", cs[c].what, fronta_err_name(rc),
                     fronta_err_name(cs[c].want));
        assert_null(f);
    }
    fronta_buffer_t *all[] = {F, F1, F2, D1, I, I1, L, L1, L2, M};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        destroy(all[k]);
    assert_true(tasks_run_total() == before);
    for (size_t k = 0; k < NA; k++) {
        if (memcmp(copy[k], arrs[k], sizes[k]) != 0)
            fail_msg("array %zu changed by a refused task", k);
        free(copy[k]);
    }
}

/* Bounds that make no bins (lo >= hi, NaN, infinite, a width or a bin
 * scale that overflows) are refused at submit by histogram's check hook,
 * which reads the scalars by their kind from the task's arguments. */
static void histogram_bounds_refused(void **state)
{
    (void)state;
    enum { N = 16 };
    float f[N] = {0};
    int32_t i[N] = {0};
    int64_t l[N] = {0}, h[N];
    fronta_buffer_t *F = ft_bk_wrap(rt, f, N, FRONTA_FLOAT), *I = ft_bk_wrap(rt, i, N, FRONTA_INT32);
    fronta_buffer_t *L = ft_bk_wrap(rt, l, N, FRONTA_INT64), *H = ft_bk_wrap(rt, h, N, FRONTA_INT64);
    const struct {
        const char *what;
        fronta_arg_t a[4];
    } cs[] = {
        {"lo == hi (float)", {FRONTA_IN(F), FRONTA_OUT(H), FRONTA_F32(1), FRONTA_F32(1)}},
        {"lo > hi (int32)", {FRONTA_IN(I), FRONTA_OUT(H), FRONTA_I32(5), FRONTA_I32(-5)}},
        {"lo > hi (int64)", {FRONTA_IN(L), FRONTA_OUT(H), FRONTA_I64(0), FRONTA_I64(-1)}},
        {"a NaN bound", {FRONTA_IN(F), FRONTA_OUT(H), FRONTA_F32(0), FRONTA_F32(NAN)}},
        {"an infinite bound", {FRONTA_IN(F), FRONTA_OUT(H), FRONTA_F32(-INFINITY), FRONTA_F32(0)}},
    };
    fronta_kernel_t *k = fronta_kernel_builtin(rt, "histogram");
    assert_non_null(k);
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        fronta_task_desc_t td;
        memset(&td, 0, sizeof td);
        td.size = sizeof td;
        td.kernel = k;
        for (size_t a = 0; a < 4; a++)
            td.args[a] = cs[c].a[a];
        fronta_future_t *fu = NULL;
        int rc = fronta_submit(rt, &td, &fu);
        if (fu)
            ft_wait(fu);
        fronta_future_release(fu);
        if (rc != FRONTA_EARG)
            fail_msg("histogram with %s: fronta_submit gave %s, expected FRONTA_EARG",
                     cs[c].what, fronta_err_name(rc));
    }
    destroy(H);
    destroy(L);
    destroy(I);
    destroy(F);
}

/* ---- main ---------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    seed = ft_seed("test_bk_reduce");
    rt = ft_bk_runtime();
    nplaces = ft_bk_places(rt, places);
    print_message("[ places   ] %s%s\n", places[0].name, nplaces > 1 ? ", opencl" : "");
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
        cmocka_unit_test(names),
        cmocka_unit_test(errors),
        cmocka_unit_test(sum_min_max),
        cmocka_unit_test(min_max_nan),
        cmocka_unit_test(dot),
        cmocka_unit_test(count),
        cmocka_unit_test(scans),
        cmocka_unit_test(scans_in_place),
        cmocka_unit_test(compact),
        cmocka_unit_test(compact_in_place),
        cmocka_unit_test(histogram),
        cmocka_unit_test(histogram_edges),
        cmocka_unit_test(histogram_bounds_refused),
        cmocka_unit_test(determinism),
    };
    ft_filter();
    return cmocka_run_group_tests(tests, setup, teardown);
}
