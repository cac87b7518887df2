/* test_bk_elementwise.c — the elementwise bundled kernels (docs/kernels.md): every kernel and dtype against a plain reference loop on the pool and on OpenCL at the edge sizes, hard-coded edge values, and the argument errors. */
#include "test_bk_elementwise.h"

static fronta_runtime_t *rt;
static ft_bk_place_t places[2];
static size_t nplaces;
static uint64_t seed;

/* ---- the kernels and their arguments ---------------------------------- */

/* An argument: its role (i IN, o OUT, x INOUT, s scalar) and element type
 * (T the dtype under test, M a uint8 mask). */
typedef struct ft_argspec {
    char role, type;
} ft_argspec;

typedef enum {
    SIG_FILL, SIG_COPY, SIG_SCALE, SIG_AXPY, SIG_BINARY, SIG_COMPARE, SIG_SELECT, SIG_DIVBY,
    SIG_LOGIC2, SIG_LOGIC1
} ft_sig;

static const ft_argspec sigs[][4] = {
    [SIG_FILL] = {{'o', 'T'}, {'s', 'T'}},
    [SIG_COPY] = {{'i', 'T'}, {'o', 'T'}},
    [SIG_SCALE] = {{'x', 'T'}, {'s', 'T'}},
    [SIG_AXPY] = {{'i', 'T'}, {'x', 'T'}, {'s', 'T'}},
    [SIG_BINARY] = {{'i', 'T'}, {'i', 'T'}, {'o', 'T'}},
    [SIG_COMPARE] = {{'i', 'T'}, {'i', 'T'}, {'o', 'M'}},
    [SIG_SELECT] = {{'i', 'M'}, {'i', 'T'}, {'i', 'T'}, {'o', 'T'}},
    [SIG_DIVBY] = {{'i', 'T'}, {'s', 'T'}, {'o', 'M'}},
    [SIG_LOGIC2] = {{'i', 'M'}, {'i', 'M'}, {'o', 'M'}},
    [SIG_LOGIC1] = {{'i', 'M'}, {'o', 'M'}},
};


static const fronta_dtype_t dt_int[] = {FRONTA_INT32, FRONTA_INT64};
static const fronta_dtype_t dt_float[] = {FRONTA_FLOAT, FRONTA_DOUBLE};
static const fronta_dtype_t dt_u8[] = {FRONTA_UINT8};

typedef struct ft_kcase {
    const char *name;
    ft_sig sig;
    int op;
    const fronta_dtype_t *dtypes;
    size_t ndtypes;
} ft_kcase;

#define DT(a) a, sizeof a / sizeof a[0]
static const ft_kcase cases[] = {
    {"fill", SIG_FILL, OP_NONE, DT(ft_bk_all)},
    {"copy", SIG_COPY, OP_NONE, DT(ft_bk_all)},
    {"scale", SIG_SCALE, OP_NONE, DT(ft_bk_numeric)},
    {"axpy", SIG_AXPY, OP_NONE, DT(ft_bk_numeric)},
    /* The 0.1 name: float is its 0.1 contract, double shows it is axpy. */
    {"saxpy", SIG_AXPY, OP_NONE, DT(dt_float)},
    {"add", SIG_BINARY, OP_ADD, DT(ft_bk_numeric)},
    {"sub", SIG_BINARY, OP_SUB, DT(ft_bk_numeric)},
    {"mul", SIG_BINARY, OP_MUL, DT(ft_bk_numeric)},
    {"div", SIG_BINARY, OP_DIV, DT(ft_bk_numeric)},
    {"minimum", SIG_BINARY, OP_MIN, DT(ft_bk_numeric)},
    {"maximum", SIG_BINARY, OP_MAX, DT(ft_bk_numeric)},
    {"eq", SIG_COMPARE, OP_EQ, DT(ft_bk_all)},
    {"ne", SIG_COMPARE, OP_NE, DT(ft_bk_all)},
    {"lt", SIG_COMPARE, OP_LT, DT(ft_bk_all)},
    {"le", SIG_COMPARE, OP_LE, DT(ft_bk_all)},
    {"gt", SIG_COMPARE, OP_GT, DT(ft_bk_all)},
    {"ge", SIG_COMPARE, OP_GE, DT(ft_bk_all)},
    {"select", SIG_SELECT, OP_NONE, DT(ft_bk_all)},
    {"divisible_by", SIG_DIVBY, OP_NONE, DT(dt_int)},
    {"logical_and", SIG_LOGIC2, OP_AND, DT(dt_u8)},
    {"logical_or", SIG_LOGIC2, OP_OR, DT(dt_u8)},
    {"logical_not", SIG_LOGIC1, OP_NOT, DT(dt_u8)},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ---- scalars ------------------------------------------------------------ */

/* A scalar for the kernel, chosen by r among edge values; *v gets it as an
 * element of type t would hold it (fill's uint8: the low byte). */
static fronta_arg_t pick_scalar(ft_sig sig, fronta_dtype_t t, uint64_t r, ft_v *v)
{
    static const int64_t divs[] = {0, 1, -1, 2, -2, 3, 7, -6, 64, 1000, INT32_MIN, INT32_MAX};
    static const int64_t ints[] = {0, 1, -1, 3, -7, 300, INT32_MIN, INT32_MAX};
    static const double floats[] = {0.1, -2.5, 1e-3, 0.0, 3.0, NAN};
    int64_t iv = sig == SIG_DIVBY ? divs[r % 12] : ints[r % 8];
    double fv = floats[r % (sig == SIG_FILL ? 6 : 5)];
    if ((r >> 32) % 3 == 0) { /* now and then any value */
        iv = t == FRONTA_INT64 ? (int64_t)ft_rand(&r) : (int32_t)(uint32_t)ft_rand(&r);
        fv = (double)((int64_t)(r % 2001) - 1000) / 64.0;
    }
    memset(v, 0, sizeof *v);
    switch (t) {
    case FRONTA_UINT8:
        v->u8 = (uint8_t)((uint32_t)(int32_t)iv & 0xff);
        return FRONTA_I32((int32_t)iv);
    case FRONTA_INT32:
        v->i32 = (int32_t)iv;
        return FRONTA_I32(v->i32);
    case FRONTA_INT64:
        v->i64 = iv;
        return FRONTA_I64(iv);
    case FRONTA_FLOAT:
        v->f32 = (float)fv;
        return FRONTA_F32(v->f32);
    default:
        v->f64 = fv;
        return FRONTA_F64(fv);
    }
}

/* ---- one run: a kernel, a dtype, a size, a place ---------------------- */

typedef struct ft_run {
    const ft_kcase *kc;
    fronta_dtype_t t;
    size_t n, nargs;
    void *arr[4];           /* per argument: its array (NULL for the scalar) */
    void *init[4];          /* an INOUT argument's contents before the run */
    fronta_dtype_t type[4]; /* the element type of each buffer argument */
    fronta_arg_t scalar;
    ft_v sv;
    int out;                /* the argument the kernel writes */
} ft_run;

static ft_v ref_elem(const ft_run *r, size_t i)
{
    const ft_kcase *kc = r->kc;
    fronta_dtype_t t = r->t;
    ft_v v;
    memset(&v, 0, sizeof v);
    switch (kc->sig) {
    case SIG_FILL:
        return r->sv;
    case SIG_COPY:
        return vget(r->arr[0], t, i);
    case SIG_SCALE:
        return ref_axpy(t, r->sv, v, vget(r->init[0], t, i), 1);
    case SIG_AXPY:
        return ref_axpy(t, r->sv, vget(r->arr[0], t, i), vget(r->init[1], t, i), 0);
    case SIG_BINARY:
        return ref_binary(kc->op, t, vget(r->arr[0], t, i), vget(r->arr[1], t, i));
    case SIG_COMPARE:
        v.u8 = ref_compare(kc->op, t, vget(r->arr[0], t, i), vget(r->arr[1], t, i));
        return v;
    case SIG_SELECT:
        return vget(((const uint8_t *)r->arr[0])[i] ? r->arr[1] : r->arr[2], t, i);
    case SIG_DIVBY:
        v.u8 = ref_divby(t, vget(r->arr[0], t, i), r->sv);
        return v;
    case SIG_LOGIC2: {
        const uint8_t a = ((const uint8_t *)r->arr[0])[i], b = ((const uint8_t *)r->arr[1])[i];
        v.u8 = kc->op == OP_AND ? (a != 0 && b != 0) : (a != 0 || b != 0);
        return v;
    }
    default:
        v.u8 = ((const uint8_t *)r->arr[0])[i] == 0;
        return v;
    }
}

/* Arrays for each argument, random inputs (a second T input shares the
 * first one's value a quarter of the time: equal pairs, NaN with NaN), an
 * output full of 0xa5 so that an element left unwritten shows. */
static void run_setup(ft_run *r, uint64_t *s)
{
    const ft_argspec *sp = sigs[r->kc->sig];
    void *first_t = NULL;
    r->nargs = 0;
    for (size_t a = 0; a < 4 && sp[a].role; a++, r->nargs++) {
        r->arr[a] = r->init[a] = NULL;
        if (sp[a].role == 's') {
            r->scalar = pick_scalar(r->kc->sig, r->t, ft_rand(s), &r->sv);
            continue;
        }
        fronta_dtype_t t = sp[a].type == 'M' ? FRONTA_UINT8 : r->t;
        size_t bytes = r->n * fronta_dtype_size(t);
        r->type[a] = t;
        r->arr[a] = malloc(bytes);
        assert_non_null(r->arr[a]);
        if (sp[a].role == 'o') {
            memset(r->arr[a], 0xa5, bytes);
            r->out = (int)a;
            continue;
        }
        gen(r->arr[a], t, r->n, s);
        if (sp[a].type == 'T' && first_t) {
            uint64_t bits = 0;
            for (size_t i = 0; i < r->n; i++) {
                if (i % 32 == 0)
                    bits = ft_rand(s);
                if ((bits >> (2 * (i % 32)) & 3) == 0)
                    vput(r->arr[a], t, i, vget(first_t, t, i));
            }
        } else if (sp[a].type == 'T') {
            first_t = r->arr[a];
        }
        if (sp[a].role == 'x') {
            r->out = (int)a;
            r->init[a] = malloc(bytes);
            assert_non_null(r->init[a]);
            memcpy(r->init[a], r->arr[a], bytes);
        }
    }
}

static void run_free(ft_run *r)
{
    for (size_t a = 0; a < r->nargs; a++) {
        free(r->arr[a]);
        free(r->init[a]);
    }
}

static void run_submit(ft_run *r, const ft_bk_place_t *pl)
{
    const ft_argspec *sp = sigs[r->kc->sig];
    fronta_buffer_t *b[4] = {NULL};
    fronta_task_desc_t td;
    memset(&td, 0, sizeof td);
    td.kernel = fronta_kernel_builtin(rt, r->kc->name);
    if (!td.kernel)
        fail_msg("fronta_kernel_builtin(%s) is NULL", r->kc->name);
    td.nargs = r->nargs;
    for (size_t a = 0; a < r->nargs; a++) {
        if (sp[a].role == 's') {
            td.args[a] = r->scalar;
            continue;
        }
        b[a] = ft_bk_wrap(rt, r->arr[a], r->n, r->type[a]);
        td.args[a] = sp[a].role == 'i' ? FRONTA_IN(b[a])
                     : sp[a].role == 'o' ? FRONTA_OUT(b[a]) : FRONTA_INOUT(b[a]);
    }
    ft_bk_run(rt, &td, pl, r->t, r->n);
    for (size_t a = 0; a < r->nargs; a++)
        if (b[a])
            assert_int_equal(fronta_buffer_destroy(b[a]), 0);
}

static void run_check(const ft_run *r, const ft_bk_place_t *pl)
{
    fronta_dtype_t ot = r->type[r->out];
    for (size_t i = 0; i < r->n; i++) {
        ft_v want = ref_elem(r, i), got = vget(r->arr[r->out], ot, i);
        if (!veq(ot, got, want)) {
            char g[64], w[64], x[64] = "-", y[64] = "-";
            if (r->arr[0] && r->out != 0)
                vstr(r->type[0], vget(r->arr[0], r->type[0], i), x, sizeof x);
            if (r->nargs > 1 && r->arr[1] && r->out != 1)
                vstr(r->type[1], vget(r->arr[1], r->type[1], i), y, sizeof y);
            else if (r->init[r->out])
                vstr(ot, vget(r->init[r->out], ot, i), y, sizeof y);
            fail_msg("%s on %s, %s, n=%zu: element %zu is %s, expected %s (inputs %s, %s; "
                     "scalar %s)", r->kc->name, pl->name, ft_bk_dtype_name(r->t), r->n, i,
                     vstr(ot, got, g, sizeof g), vstr(ot, want, w, sizeof w), x, y,
                     vstr(r->t, r->sv, (char[64]){0}, 64));
        }
    }
}

static void run_one(const ft_kcase *kc, fronta_dtype_t t, size_t n, const ft_bk_place_t *pl,
                    uint64_t *s)
{
    ft_run r;
    memset(&r, 0, sizeof r);
    r.kc = kc;
    r.t = t;
    r.n = n;
    run_setup(&r, s);
    run_submit(&r, pl);
    run_check(&r, pl);
    run_free(&r);
}

/* Every kernel of signature sig (all with sig < 0), every dtype, every
 * size, every place. */
static void run_sig(int sig)
{
    uint64_t s = seed ^ (uint64_t)(sig + 1) * 0x9e3779b97f4a7c15ull;
    for (size_t c = 0; c < NCASES; c++) {
        if (sig >= 0 && cases[c].sig != (ft_sig)sig)
            continue;
        for (size_t p = 0; p < nplaces; p++)
            for (size_t d = 0; d < cases[c].ndtypes; d++)
                for (size_t k = 0; k < FT_BK_NSIZES; k++)
                    run_one(&cases[c], cases[c].dtypes[d], ft_bk_sizes[k], &places[p], &s);
    }
}

static void fill_copy(void **state)
{
    (void)state;
    run_sig(SIG_FILL);
    run_sig(SIG_COPY);
}

static void scale_axpy(void **state)
{
    (void)state;
    run_sig(SIG_SCALE);
    run_sig(SIG_AXPY);
}

static void arith(void **state)
{
    (void)state;
    run_sig(SIG_BINARY);
}

static void compare(void **state)
{
    (void)state;
    run_sig(SIG_COMPARE);
}

static void select_(void **state)
{
    (void)state;
    run_sig(SIG_SELECT);
}

static void logical(void **state)
{
    (void)state;
    run_sig(SIG_LOGIC2);
    run_sig(SIG_LOGIC1);
}

/* divisible_by at every size with random divisors, then each edge divisor
 * at one size over data with many multiples of it. */
static void divisible_by(void **state)
{
    (void)state;
    run_sig(SIG_DIVBY);
    static const int64_t ds[] = {0, 1, -1, 2, -2, 3, 7, -6, 64, 1000, 1 << 30,
                                 INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX, -(1ll << 40)};
    uint64_t s = seed ^ 0xd1b54a32d192ed03ull;
    const ft_kcase *kc = NULL;
    for (size_t c = 0; c < NCASES; c++)
        if (cases[c].sig == SIG_DIVBY)
            kc = &cases[c];
    assert_non_null(kc);
    for (size_t p = 0; p < nplaces; p++)
        for (size_t d = 0; d < 2; d++)
            for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
                fronta_dtype_t t = dt_int[d];
                if (t == FRONTA_INT32 && (ds[k] < INT32_MIN || ds[k] > INT32_MAX))
                    continue;
                ft_run r;
                memset(&r, 0, sizeof r);
                r.kc = kc;
                r.t = t;
                r.n = 4099;
                run_setup(&r, &s);
                r.sv.i64 = 0;
                if (t == FRONTA_INT32) {
                    r.sv.i32 = (int32_t)ds[k];
                    r.scalar = FRONTA_I32(r.sv.i32);
                } else {
                    r.sv.i64 = ds[k];
                    r.scalar = FRONTA_I64(ds[k]);
                }
                /* A third of the elements: d times a small number. */
                for (size_t i = 0; i < r.n; i += 3) {
                    ft_v v;
                    uint64_t m = (uint64_t)(int64_t)((int64_t)(ft_rand(&s) % 9) - 4);
                    if (t == FRONTA_INT32)
                        v.i32 = (int32_t)wrap(t, (uint64_t)ds[k] * m);
                    else
                        v.i64 = wrap(t, (uint64_t)ds[k] * m);
                    vput(r.arr[0], t, i, v);
                }
                run_submit(&r, &places[p]);
                run_check(&r, &places[p]);
                run_free(&r);
            }
}

/* The same on the pool's baseline loop (what a CPU without AVX2 runs),
 * forced on this one. */
static void divisible_by_portable(void **state)
{
    setenv("FRONTA_KERNELS_PORTABLE", "1", 1);
    divisible_by(state);
    unsetenv("FRONTA_KERNELS_PORTABLE");
}

/* ---- hard-coded edge values (not through the reference) ---------------- */

static void submit_simple(const char *name, const ft_bk_place_t *pl, const fronta_arg_t *args,
                          size_t nargs, fronta_dtype_t t, size_t n)
{
    fronta_task_desc_t td;
    memset(&td, 0, sizeof td);
    td.kernel = fronta_kernel_builtin(rt, name);
    assert_non_null(td.kernel);
    memcpy(td.args, args, nargs * sizeof *args);
    td.nargs = nargs;
    ft_bk_run(rt, &td, pl, t, n);
}

/* c = a op b over the n elements of one type; c is written into out. */
static void binary_simple(const char *name, const ft_bk_place_t *pl, fronta_dtype_t t,
                          const void *a, const void *b, void *out, fronta_dtype_t ot, size_t n)
{
    size_t sz = fronta_dtype_size(t);
    void *ca = malloc(n * sz), *cb = malloc(n * sz);
    assert_non_null(ca);
    assert_non_null(cb);
    memcpy(ca, a, n * sz);
    memcpy(cb, b, n * sz);
    fronta_buffer_t *ba = ft_bk_wrap(rt, ca, n, t), *bb = ft_bk_wrap(rt, cb, n, t);
    fronta_buffer_t *bc = ft_bk_wrap(rt, out, n, ot);
    fronta_arg_t args[] = {FRONTA_IN(ba), FRONTA_IN(bb), FRONTA_OUT(bc)};
    submit_simple(name, pl, args, 3, t, n);
    assert_int_equal(fronta_buffer_destroy(ba), 0);
    assert_int_equal(fronta_buffer_destroy(bb), 0);
    assert_int_equal(fronta_buffer_destroy(bc), 0);
    free(ca);
    free(cb);
}

static void int_div_edges(void **state)
{
    (void)state;
    const int32_t a32[] = {INT32_MIN, INT32_MIN, 7, -7, 5, 0, INT32_MAX, -9, INT32_MIN};
    const int32_t b32[] = {-1, 1, 0, 2, -1, 0, -1, 4, INT32_MIN};
    const int32_t w32[] = {INT32_MIN, INT32_MIN, 0, -3, -5, 0, -INT32_MAX, -2, 1};
    const int64_t a64[] = {INT64_MIN, INT64_MIN, 7, -7, 5, 0, INT64_MAX, -9, INT64_MIN};
    const int64_t b64[] = {-1, 1, 0, 2, -1, 0, -1, 4, INT64_MIN};
    const int64_t w64[] = {INT64_MIN, INT64_MIN, 0, -3, -5, 0, -INT64_MAX, -2, 1};
    for (size_t p = 0; p < nplaces; p++) {
        int32_t c32[9];
        int64_t c64[9];
        binary_simple("div", &places[p], FRONTA_INT32, a32, b32, c32, FRONTA_INT32, 9);
        binary_simple("div", &places[p], FRONTA_INT64, a64, b64, c64, FRONTA_INT64, 9);
        for (size_t i = 0; i < 9; i++) {
            if (c32[i] != w32[i])
                fail_msg("div int32 on %s: %d / %d = %d, expected %d", places[p].name, a32[i],
                         b32[i], c32[i], w32[i]);
            if (c64[i] != w64[i])
                fail_msg("div int64 on %s: %lld / %lld = %lld, expected %lld", places[p].name,
                         (long long)a64[i], (long long)b64[i], (long long)c64[i],
                         (long long)w64[i]);
        }
    }
}

static void divisible_by_edges(void **state)
{
    (void)state;
    int32_t x[] = {INT32_MIN, INT32_MIN + 1, 0, 6, -6, 7, INT32_MAX, 1};
    static const struct {
        int32_t d;
        uint8_t want[8];
    } cs[] = {
        {-1, {1, 1, 1, 1, 1, 1, 1, 1}},
        {0, {0, 0, 0, 0, 0, 0, 0, 0}},
        {1, {1, 1, 1, 1, 1, 1, 1, 1}},
        {INT32_MIN, {1, 0, 1, 0, 0, 0, 0, 0}},
        {2, {1, 0, 1, 1, 1, 0, 0, 0}},
        {-3, {0, 0, 1, 1, 1, 0, 0, 0}},
        {7, {0, 0, 1, 0, 0, 1, 0, 0}}, /* 2^31 = 2 and 2^31 - 1 = 1 mod 7 */
        {INT32_MAX, {0, 1, 1, 0, 0, 0, 1, 0}},
    };
    for (size_t p = 0; p < nplaces; p++)
        for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
            uint8_t m[8];
            memset(m, 0xa5, sizeof m);
            fronta_buffer_t *bx = ft_bk_wrap(rt, x, 8, FRONTA_INT32);
            fronta_buffer_t *bm = ft_bk_wrap(rt, m, 8, FRONTA_UINT8);
            fronta_arg_t args[] = {FRONTA_IN(bx), FRONTA_I32(cs[c].d), FRONTA_OUT(bm)};
            submit_simple("divisible_by", &places[p], args, 3, FRONTA_INT32, 8);
            assert_int_equal(fronta_buffer_destroy(bx), 0);
            assert_int_equal(fronta_buffer_destroy(bm), 0);
            for (size_t i = 0; i < 8; i++)
                if (m[i] != cs[c].want[i])
                    fail_msg("divisible_by on %s: %d by %d gives %u, expected %u",
                             places[p].name, x[i], cs[c].d, m[i], cs[c].want[i]);
        }
}

/* fmin/fmax take the number over a NaN; comparisons with a NaN are false
 * but for ne. */
static void nan_edges(void **state)
{
    (void)state;
    const float a[] = {NAN, 1, NAN, -INFINITY, 2, -1};
    const float b[] = {1, NAN, NAN, INFINITY, 2, NAN};
    const float wmin[] = {1, 1, NAN, -INFINITY, 2, -1};
    const float wmax[] = {1, 1, NAN, INFINITY, 2, -1};
    static const struct {
        const char *name;
        uint8_t want[6];
    } cmps[] = {
        {"eq", {0, 0, 0, 0, 1, 0}}, {"ne", {1, 1, 1, 1, 0, 1}}, {"lt", {0, 0, 0, 1, 0, 0}},
        {"le", {0, 0, 0, 1, 1, 0}}, {"gt", {0, 0, 0, 0, 0, 0}}, {"ge", {0, 0, 0, 0, 1, 0}},
    };
    for (size_t p = 0; p < nplaces; p++) {
        float c[6];
        binary_simple("minimum", &places[p], FRONTA_FLOAT, a, b, c, FRONTA_FLOAT, 6);
        for (size_t i = 0; i < 6; i++)
            if (!(isnan(wmin[i]) ? isnan(c[i]) : c[i] == wmin[i]))
                fail_msg("minimum on %s: element %zu is %g, expected %g", places[p].name, i,
                         (double)c[i], (double)wmin[i]);
        binary_simple("maximum", &places[p], FRONTA_FLOAT, a, b, c, FRONTA_FLOAT, 6);
        for (size_t i = 0; i < 6; i++)
            if (!(isnan(wmax[i]) ? isnan(c[i]) : c[i] == wmax[i]))
                fail_msg("maximum on %s: element %zu is %g, expected %g", places[p].name, i,
                         (double)c[i], (double)wmax[i]);
        for (size_t k = 0; k < sizeof cmps / sizeof cmps[0]; k++) {
            uint8_t m[6];
            binary_simple(cmps[k].name, &places[p], FRONTA_FLOAT, a, b, m, FRONTA_UINT8, 6);
            for (size_t i = 0; i < 6; i++)
                if (m[i] != cmps[k].want[i])
                    fail_msg("%s on %s: element %zu is %u, expected %u", cmps[k].name,
                             places[p].name, i, m[i], cmps[k].want[i]);
        }
    }
}

/* ---- the 0.1 kernels, names -------------------------------------------- */

/* scale and saxpy as 0.1 used them: float buffers, an F32. */
static void legacy_01(void **state)
{
    (void)state;
    fronta_kernel_t *axpy = fronta_kernel_builtin(rt, "axpy");
    fronta_kernel_t *saxpy = fronta_kernel_builtin(rt, "saxpy");
    assert_non_null(axpy);
    assert_non_null(saxpy);
    assert_ptr_not_equal(axpy, saxpy);
    assert_string_equal(fronta_kernel_name(saxpy), "saxpy");
    assert_string_equal(fronta_kernel_name(axpy), "axpy");
    for (size_t p = 0; p < nplaces; p++) {
        float x[100], y[100];
        for (size_t i = 0; i < 100; i++) {
            x[i] = (float)i;
            y[i] = 1.0f;
        }
        fronta_buffer_t *bx = ft_bk_wrap(rt, x, 100, FRONTA_FLOAT);
        fronta_buffer_t *by = ft_bk_wrap(rt, y, 100, FRONTA_FLOAT);
        fronta_arg_t s1[] = {FRONTA_IN(bx), FRONTA_INOUT(by), FRONTA_F32(2.0f)};
        fronta_arg_t s2[] = {FRONTA_INOUT(bx), FRONTA_F32(3.0f)};
        submit_simple("saxpy", &places[p], s1, 3, FRONTA_FLOAT, 100);
        submit_simple("scale", &places[p], s2, 2, FRONTA_FLOAT, 100);
        submit_simple("saxpy", &places[p], s1, 3, FRONTA_FLOAT, 100);
        assert_int_equal(fronta_buffer_destroy(bx), 0);
        assert_int_equal(fronta_buffer_destroy(by), 0);
        /* y = 2x + 1, x = 3x, y += 2x: 8i + 1 */
        for (size_t i = 0; i < 100; i++) {
            if (x[i] != 3.0f * (float)i || y[i] != 8.0f * (float)i + 1.0f)
                fail_msg("scale/saxpy on %s: element %zu: x %g, y %g", places[p].name, i,
                         (double)x[i], (double)y[i]);
        }
    }
}

/* Each kernel of the table is listed by fronta_kernel_builtin_name. */
static void names(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        int found = 0;
        for (size_t i = 0; fronta_kernel_builtin_name(i); i++)
            found |= strcmp(fronta_kernel_builtin_name(i), cases[c].name) == 0;
        if (!found)
            fail_msg("%s is not among fronta_kernel_builtin_name", cases[c].name);
        assert_non_null(fronta_kernel_builtin(rt, cases[c].name));
    }
}

/* ---- argument errors ------------------------------------------------------ */

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
    int32_t i32a[N], i32b[N], i32c[N + 1];
    int64_t i64a[N];
    float fa[N], fb[N];
    double da[N], db[N];
    uint8_t u8a[N], u8b[N], u8c[N];
    uint64_t s = seed;
    gen(i32a, FRONTA_INT32, N, &s);
    gen(i32b, FRONTA_INT32, N, &s);
    gen(i32c, FRONTA_INT32, N + 1, &s);
    gen(i64a, FRONTA_INT64, N, &s);
    gen(fa, FRONTA_FLOAT, N, &s);
    gen(fb, FRONTA_FLOAT, N, &s);
    gen(da, FRONTA_DOUBLE, N, &s);
    gen(db, FRONTA_DOUBLE, N, &s);
    gen(u8a, FRONTA_UINT8, N, &s);
    gen(u8b, FRONTA_UINT8, N, &s);
    gen(u8c, FRONTA_UINT8, N, &s);
    void *arrs[] = {i32a, i32b, i32c, i64a, fa, fb, da, db, u8a, u8b, u8c};
    const size_t sizes[] = {sizeof i32a, sizeof i32b, sizeof i32c, sizeof i64a, sizeof fa,
                            sizeof fb, sizeof da, sizeof db, sizeof u8a, sizeof u8b, sizeof u8c};
    enum { NA = sizeof arrs / sizeof arrs[0] };
    unsigned char *copy[NA];
    for (size_t k = 0; k < NA; k++) {
        copy[k] = malloc(sizes[k]);
        assert_non_null(copy[k]);
        memcpy(copy[k], arrs[k], sizes[k]);
    }
    fronta_buffer_t *I = ft_bk_wrap(rt, i32a, N, FRONTA_INT32);
    fronta_buffer_t *I2 = ft_bk_wrap(rt, i32b, N, FRONTA_INT32);
    fronta_buffer_t *I1 = ft_bk_wrap(rt, i32c, N + 1, FRONTA_INT32);
    fronta_buffer_t *L = ft_bk_wrap(rt, i64a, N, FRONTA_INT64);
    fronta_buffer_t *F = ft_bk_wrap(rt, fa, N, FRONTA_FLOAT);
    fronta_buffer_t *F2 = ft_bk_wrap(rt, fb, N, FRONTA_FLOAT);
    fronta_buffer_t *D = ft_bk_wrap(rt, da, N, FRONTA_DOUBLE);
    fronta_buffer_t *D2 = ft_bk_wrap(rt, db, N, FRONTA_DOUBLE);
    fronta_buffer_t *M = ft_bk_wrap(rt, u8a, N, FRONTA_UINT8);
    fronta_buffer_t *M2 = ft_bk_wrap(rt, u8b, N, FRONTA_UINT8);
    fronta_buffer_t *M3 = ft_bk_wrap(rt, u8c, N, FRONTA_UINT8);
    const struct {
        const char *what, *kernel;
        int want;
        size_t global;
        fronta_arg_t a[4];
    } cs[] = {
        {"divisible_by on a FLOAT buffer (INT)", "divisible_by", FRONTA_EARG, 0,
         {FRONTA_IN(F), FRONTA_F32(2), FRONTA_OUT(M)}},
        {"add on uint8 (NUMERIC)", "add", FRONTA_EARG, 0,
         {FRONTA_IN(M), FRONTA_IN(M2), FRONTA_OUT(M3)}},
        {"add int32 + int64 (like a)", "add", FRONTA_EARG, 0,
         {FRONTA_IN(I), FRONTA_IN(L), FRONTA_OUT(I2)}},
        {"add into a float (like a)", "add", FRONTA_EARG, 0,
         {FRONTA_IN(I), FRONTA_IN(I2), FRONTA_OUT(F)}},
        {"eq into an int32 mask", "eq", FRONTA_EARG, 0,
         {FRONTA_IN(F), FRONTA_IN(F2), FRONTA_OUT(I)}},
        {"fill float with an F64", "fill", FRONTA_EARG, 0, {FRONTA_OUT(F), FRONTA_F64(1)}},
        {"fill uint8 with an I64", "fill", FRONTA_EARG, 0, {FRONTA_OUT(M), FRONTA_I64(1)}},
        {"scale int64 with an I32", "scale", FRONTA_EARG, 0, {FRONTA_INOUT(L), FRONTA_I32(2)}},
        {"scale uint8 (NUMERIC)", "scale", FRONTA_EARG, 0, {FRONTA_INOUT(M), FRONTA_I32(2)}},
        {"axpy double with an F32", "axpy", FRONTA_EARG, 0,
         {FRONTA_IN(D), FRONTA_INOUT(D2), FRONTA_F32(2)}},
        {"saxpy float with an F64", "saxpy", FRONTA_EARG, 0,
         {FRONTA_IN(F), FRONTA_INOUT(F2), FRONTA_F64(2)}},
        {"divisible_by int32 with an F32", "divisible_by", FRONTA_EARG, 0,
         {FRONTA_IN(I), FRONTA_F32(2), FRONTA_OUT(M)}},
        {"select with an int32 mask", "select", FRONTA_EARG, 0,
         {FRONTA_IN(I), FRONTA_IN(F), FRONTA_IN(F2), FRONTA_OUT(F)}},
        {"logical_and on int32", "logical_and", FRONTA_EARG, 0,
         {FRONTA_IN(I), FRONTA_IN(I2), FRONTA_OUT(M)}},
        {"copy into an IN", "copy", FRONTA_EARG, 0, {FRONTA_IN(F), FRONTA_IN(F2)}},
        {"add with a missing argument", "add", FRONTA_EARG, 0, {FRONTA_IN(I), FRONTA_IN(I2)}},
        {"add with c of n + 1", "add", FRONTA_ESIZE, 0,
         {FRONTA_IN(I), FRONTA_IN(I2), FRONTA_OUT(I1)}},
        {"add with a of n + 1", "add", FRONTA_ESIZE, 0,
         {FRONTA_IN(I1), FRONTA_IN(I2), FRONTA_OUT(I)}},
        {"logical_not with global n - 1", "logical_not", FRONTA_ESIZE, N - 1,
         {FRONTA_IN(M), FRONTA_OUT(M2)}},
        {"copy int32 of n + 1 into n", "copy", FRONTA_ESIZE, 0, {FRONTA_IN(I1), FRONTA_OUT(I)}},
    };
    uint64_t before = tasks_run_total();
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        fronta_task_desc_t td;
        memset(&td, 0, sizeof td);
        td.size = sizeof td;
        td.kernel = fronta_kernel_builtin(rt, cs[c].kernel);
        assert_non_null(td.kernel);
        td.global = cs[c].global;
        for (size_t a = 0; a < 4; a++)
            td.args[a] = cs[c].a[a]; /* the ones not given are NONE: the list's end */
        fronta_future_t *f = (fronta_future_t *)&f;
        int rc = fronta_submit(rt, &td, &f);
        if (rc != cs[c].want)
            fail_msg("%s: fronta_submit gave %s, expected %s", cs[c].what, fronta_err_name(rc),
                     fronta_err_name(cs[c].want));
        assert_null(f);
    }
    fronta_buffer_t *all[] = {I, I2, I1, L, F, F2, D, D2, M, M2, M3};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        assert_int_equal(fronta_buffer_destroy(all[k]), 0);
    assert_true(tasks_run_total() == before);
    for (size_t k = 0; k < NA; k++) {
        if (memcmp(copy[k], arrs[k], sizes[k]) != 0)
            fail_msg("array %zu changed by a refused task", k);
        free(copy[k]);
    }
}

/* ---- main ------------------------------------------------------------------ */

/* FRONTA_KERNEL_FLAT: a 2-D launch over a matrix runs over its rows x cols
 * elements, on every place (OpenCL once indexed only its first row). */
static void flat_2d_launch(void **state)
{
    (void)state;
    ft_bk_place_t pl[2];
    size_t np = ft_bk_places(rt, pl);
    for (size_t p = 0; p < np; p++) {
        const size_t rows = 37, cols = 41, n = rows * cols;
        static const size_t locals[][2] = {{0, 0}, {1, 41}, {37, 1}};
        for (size_t l = 0; l < 3; l++) {
            float *x = calloc(n, sizeof *x), *y = calloc(n, sizeof *y);
            assert_non_null(x);
            assert_non_null(y);
            for (size_t i = 0; i < n; i++)
                x[i] = (float)i;
            fronta_buffer_t *bx = ft_bk_wrap(rt, x, n, FRONTA_FLOAT);
            fronta_buffer_t *by = ft_bk_wrap(rt, y, n, FRONTA_FLOAT);
            fronta_task_desc_t t = {.kernel = fronta_kernel_builtin(rt, "scale"),
                                    .args = {FRONTA_INOUT(bx), FRONTA_F32(2.0f)},
                                    .rows = rows, .cols = cols,
                                    .local_rows = locals[l][0], .local_cols = locals[l][1]};
            ft_bk_run(rt, &t, &pl[p], FRONTA_FLOAT, n);
            fronta_task_desc_t u = {.kernel = fronta_kernel_builtin(rt, "copy"),
                                    .args = {FRONTA_IN(bx), FRONTA_OUT(by)},
                                    .rows = rows, .cols = cols};
            ft_bk_run(rt, &u, &pl[p], FRONTA_FLOAT, n);
            assert_int_equal(fronta_buffer_destroy(bx), 0);
            assert_int_equal(fronta_buffer_destroy(by), 0);
            for (size_t i = 0; i < n; i++)
                if (x[i] != 2.0f * (float)i || y[i] != x[i])
                    fail_msg("2-D scale/copy on %s, local %zu x %zu: element %zu is %g/%g, "
                             "expected %g", pl[p].name, locals[l][0], locals[l][1], i,
                             (double)x[i], (double)y[i], 2.0 * (double)i);
            free(x);
            free(y);
        }
    }
}

static int setup(void **state)
{
    (void)state;
    seed = ft_seed("test_bk_elementwise");
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
        cmocka_unit_test(legacy_01),
        cmocka_unit_test(errors),
        cmocka_unit_test(int_div_edges),
        cmocka_unit_test(divisible_by_edges),
        cmocka_unit_test(nan_edges),
        cmocka_unit_test(fill_copy),
        cmocka_unit_test(scale_axpy),
        cmocka_unit_test(arith),
        cmocka_unit_test(compare),
        cmocka_unit_test(select_),
        cmocka_unit_test(divisible_by),
        cmocka_unit_test(divisible_by_portable),
        cmocka_unit_test(logical),
        cmocka_unit_test(flat_2d_launch),
    };
    ft_filter();
    return cmocka_run_group_tests(tests, setup, teardown);
}
