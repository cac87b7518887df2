/* Reductions across chunks (fronta_reduce): a partial per chunk on whatever device the scheduler picks, then a fixed tree of the partials in one pool task; and the helpers compact.c shares. */
#include "data/chunkops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- what reduce.c and compact.c share ---- */

int fronta__chunkops_buffer(fronta_runtime_t *rt, const fronta_buffer_t *b, const char *what)
{
    if (!fronta__buffer_valid(b) || b->rt != rt)
        return fronta__fail(FRONTA_EINVAL, "%s: not a buffer of this runtime", what);
    return 0;
}

int fronta__chunkops_fail(int rc, const char *what)
{
    char inner[512];
    snprintf(inner, sizeof inner, "%s", fronta_last_error());
    return fronta__fail(rc, "%s: %s", what, inner[0] ? inner : fronta_strerror(rc));
}

/* Steps report through fronta__chunkops_fail, which must not pass on an
 * earlier call's message as the step's. */
void fronta__chunkops_clear(void)
{
    (void)fronta__fail(0, "%s", "");
}

size_t fronta__chunkops_chunks(const fronta_buffer_t *b, const char *what, int *rc)
{
    size_t k = fronta_buffer_nchunks(b);
    *rc = 0;
    /* Unlocked, as fronta_submit's own first check: the submission checks
     * again under the buffers' locks. */
    if (!k && (*rc = fronta__buffer_usable(b)))
        *rc = fronta__chunkops_fail(*rc, what);
    return k;
}

int fronta__chunkops_temp(fronta_runtime_t *rt, size_t count, fronta_dtype_t t,
                          const fronta_partition_t *how, fronta_buffer_t **out)
{
    fronta_buffer_t *b;
    int rc = fronta_buffer_create(rt, count, t, &b);
    if (rc)
        return rc;
    if (how && (rc = fronta_buffer_partition(b, how))) {
        (void)fronta_buffer_destroy(b); /* no task on it: nothing to wait for */
        return rc;
    }
    *out = b;
    return 0;
}

void fronta__chunkops_drop(fronta_buffer_t *b)
{
    if (!b)
        return;
    /* A buffer that cannot be unpartitioned (out of memory) has tasks on
     * chunks that freeing it would pull from under them: the runtime's
     * destroy frees it, as any buffer left registered. */
    if (fronta_buffer_nchunks(b) && fronta_buffer_unpartition(b))
        return;
    (void)fronta__buffer_destroy_async(b);
}

/* ---- gates ----
 * Tasks that follow a closed gate cannot start until it opens: a call
 * that submits several steps cancels them all, still pending, when a
 * later step fails (out of memory), so that the call has no effect. The
 * gate is a host access to a buffer of its own, granted at once, and a
 * task that reads the buffer after it: its future is what the gated
 * tasks follow. */

static int gate_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx, (void)a, (void)na, (void)n;
    return 0;
}

int fronta__chunkops_gate_close(fronta_runtime_t *rt, fronta__gate *g)
{
    memset(g, 0, sizeof *g);
    fronta_kernel_t *k = fronta__kernel_internal(rt, "fronta.gate", gate_run);
    int rc = k ? fronta__chunkops_temp(rt, 1, FRONTA_UINT8, NULL, &g->d) : FRONTA_ENOMEM;
    if (rc)
        return fronta__fail(rc, "out of memory");
    /* A thread that may not wait (a device driver's) cannot hold an
     * access: no gate then, only this corner of the guarantee lost. */
    if (fronta_buffer_acquire(g->d, FRONTA_ACCESS_OUT, 0, NULL)) {
        fronta__chunkops_drop(g->d);
        g->d = NULL;
        return 0;
    }
    fronta_arg_t arg = FRONTA_IN(g->d);
    if ((rc = fronta__ktask_submit_internal(rt, k, &arg, 1, NULL, 0, NULL, NULL, 1, &g->f))) {
        (void)fronta_buffer_release(g->d);
        fronta__chunkops_drop(g->d);
        memset(g, 0, sizeof *g);
        return fronta__fail(rc, "out of memory");
    }
    return 0;
}

void fronta__chunkops_gate_open(fronta__gate *g)
{
    if (g->d) {
        (void)fronta_buffer_release(g->d);
        fronta__chunkops_drop(g->d);
    }
    if (g->f)
        fronta_future_release(g->f);
    memset(g, 0, sizeof *g);
}

/* ---- the final tree ---- */

typedef union value {
    uint8_t u8;
    uint32_t u32;
    uint64_t u64;
    float f32;
    double f64;
} value_t;

typedef value_t (*comb_fn)(value_t a, value_t b);

/* The combines of kernels/portable.c: integers wrap, floats min and max
 * in the order where -0 < +0, NaNs skipped, so the value of a set does
 * not depend on the tree. */
#define FMIN_TAKE(a, v) (isnan(a) || (v) < (a) || ((v) == (a) && signbit(v)))
#define FMAX_TAKE(a, v) (isnan(a) || (v) > (a) || ((v) == (a) && !signbit(v)))

static value_t add_u32(value_t a, value_t b) { a.u32 += b.u32; return a; }
static value_t add_u64(value_t a, value_t b) { a.u64 += b.u64; return a; }
static value_t add_f32(value_t a, value_t b) { a.f32 += b.f32; return a; }
static value_t add_f64(value_t a, value_t b) { a.f64 += b.f64; return a; }
static value_t min_i32(value_t a, value_t b) { return (int32_t)b.u32 < (int32_t)a.u32 ? b : a; }
static value_t max_i32(value_t a, value_t b) { return (int32_t)b.u32 > (int32_t)a.u32 ? b : a; }
static value_t min_i64(value_t a, value_t b) { return (int64_t)b.u64 < (int64_t)a.u64 ? b : a; }
static value_t max_i64(value_t a, value_t b) { return (int64_t)b.u64 > (int64_t)a.u64 ? b : a; }
static value_t min_f32(value_t a, value_t b) { return FMIN_TAKE(a.f32, b.f32) ? b : a; }
static value_t max_f32(value_t a, value_t b) { return FMAX_TAKE(a.f32, b.f32) ? b : a; }
static value_t min_f64(value_t a, value_t b) { return FMIN_TAKE(a.f64, b.f64) ? b : a; }
static value_t max_f64(value_t a, value_t b) { return FMAX_TAKE(a.f64, b.f64) ? b : a; }

/* [op - SUM][dtype - INT32]; COUNT, AND and OR add int64 counts. */
static const comb_fn combs[3][4] = {
    {add_u32, add_u64, add_f32, add_f64},
    {min_i32, min_i64, min_f32, min_f64},
    {max_i32, max_i64, max_f32, max_f64},
};

/* p[0 .. k) of es bytes each in the pairwise tree (i with i + w, w = 1,
 * 2, 4 ...), computed as a binary counter does, without a copy of p:
 * equal subtrees merge as soon as both exist, the rest folds from the
 * top. */
static value_t fold(const unsigned char *p, size_t k, size_t es, comb_fn comb)
{
    value_t stack[64];
    size_t sizes[64], depth = 0;
    for (size_t i = 0; i < k; i++) {
        memset(&stack[depth], 0, sizeof stack[depth]);
        memcpy(&stack[depth], p + i * es, es);
        sizes[depth++] = 1;
        while (depth > 1 && sizes[depth - 2] == sizes[depth - 1]) {
            stack[depth - 2] = comb(stack[depth - 2], stack[depth - 1]);
            sizes[depth - 2] *= 2;
            depth--;
        }
    }
    for (; depth > 1; depth--)
        stack[depth - 2] = comb(stack[depth - 2], stack[depth - 1]);
    return stack[0];
}

enum { FIN_PARTS, FIN_OP, FIN_XTYPE, FIN_N, FIN_RESULT };

static int finish_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)n;
    fronta_reduce_op_t op = (fronta_reduce_op_t)a[FIN_OP].v.i64;
    fronta_dtype_t xt = (fronta_dtype_t)a[FIN_XTYPE].v.i64;
    size_t k = a[FIN_PARTS].count, vs;
    value_t v;
    memset(&v, 0, sizeof v);
    if (op == FRONTA_REDUCE_SUM || op == FRONTA_REDUCE_MIN || op == FRONTA_REDUCE_MAX) {
        vs = fronta_dtype_size(xt);
        v = fold(a[FIN_PARTS].ptr, k, vs, combs[op - FRONTA_REDUCE_SUM][xt - FRONTA_INT32]);
    } else {
        v = fold(a[FIN_PARTS].ptr, k, sizeof(int64_t), add_u64);
        uint64_t set = v.u64;
        vs = op == FRONTA_REDUCE_COUNT ? sizeof(int64_t) : 1;
        if (op != FRONTA_REDUCE_COUNT) {
            memset(&v, 0, sizeof v);
            v.u8 = op == FRONTA_REDUCE_AND ? set == (uint64_t)a[FIN_N].v.i64 : set != 0;
        }
    }
    if (na > FIN_RESULT)
        memcpy(a[FIN_RESULT].ptr, &v, vs);
    return fronta_ctx_return(ctx, &v, vs);
}

int fronta__reduce_finish(fronta_runtime_t *rt, fronta_buffer_t *parts, fronta_reduce_op_t op,
                          fronta_dtype_t xtype, size_t n, fronta_buffer_t *result,
                          fronta_future_t **out)
{
    fronta_kernel_t *k = fronta__kernel_internal(rt, "fronta.reduce", finish_run);
    if (!k)
        return FRONTA_ENOMEM;
    fronta_arg_t args[] = {FRONTA_IN(parts), FRONTA_I64((int64_t)op), FRONTA_I64((int64_t)xtype),
                           FRONTA_I64((int64_t)n), FRONTA_OUT(result)};
    return fronta__ktask_submit_internal(rt, k, args, result ? 5 : 4, NULL, 0, NULL, NULL,
                                         out != NULL, out);
}

/* ---- fronta_reduce ---- */

typedef struct red_plan {
    const char *kernel;       /* the per-chunk partial's bundled kernel */
    fronta_dtype_t part;      /* the partials' type */
    fronta_dtype_t value;     /* the result's */
} red_plan;

/* SUM, MIN and MAX take the portable kernels, whose bits are the same on
 * every device (the plain sum, min and max differ between the pool and
 * OpenCL in float bits and in the sign of a zero); counts are exact
 * anywhere. */
static int plan_of(fronta_reduce_op_t op, fronta_dtype_t xt, red_plan *p)
{
    static const char *const names[] = {"sum_portable", "min_portable", "max_portable"};
    switch (op) {
    case FRONTA_REDUCE_SUM:
    case FRONTA_REDUCE_MIN:
    case FRONTA_REDUCE_MAX:
        if (xt < FRONTA_INT32 || xt > FRONTA_DOUBLE)
            return fronta__fail(FRONTA_EARG, "reduce: SUM, MIN and MAX take int32, int64, "
                                "float or double arrays");
        *p = (red_plan){names[op - FRONTA_REDUCE_SUM], xt, xt};
        return 0;
    case FRONTA_REDUCE_COUNT:
    case FRONTA_REDUCE_AND:
    case FRONTA_REDUCE_OR:
        if (xt != FRONTA_UINT8)
            return fronta__fail(FRONTA_EARG, "reduce: COUNT, AND and OR take uint8 arrays");
        *p = (red_plan){"count", FRONTA_INT64,
                        op == FRONTA_REDUCE_COUNT ? FRONTA_INT64 : FRONTA_UINT8};
        return 0;
    default:
        return fronta__fail(FRONTA_EINVAL, "reduce: unknown operation %d", (int)op);
    }
}

static int check_result(fronta_runtime_t *rt, const fronta_buffer_t *r, fronta_dtype_t want)
{
    int rc = fronta__chunkops_buffer(rt, r, "reduce: result");
    if (rc)
        return rc;
    if (r->type != want)
        return fronta__fail(FRONTA_EARG, "reduce: result must be of the operation's type "
                            "(%s elements here)", want == FRONTA_UINT8 ? "uint8" :
                            want == FRONTA_INT64 ? "int64" : "x's");
    if (r->count != 1)
        return fronta__fail(FRONTA_ESIZE, "reduce: result has %zu elements, not 1", r->count);
    if ((rc = fronta__buffer_usable(r)))
        return fronta__chunkops_fail(rc, "reduce: result");
    return 0;
}

/* The partials: one task per chunk of x (a map), or one over x whole,
 * each writing its element of parts. */
static int submit_partials(fronta_runtime_t *rt, fronta_kernel_t *k, fronta_buffer_t *x,
                           size_t nchunks, fronta_buffer_t *parts, fronta_future_t **f)
{
    fronta_task_desc_t d = {.size = sizeof d, .kernel = k, .nargs = 2,
                            .args = {FRONTA_IN(x), FRONTA_OUT(parts)},
                            .name = "reduce: partial"};
    fronta__chunkops_clear();
    int rc = nchunks ? fronta_submit_map(rt, &d, f, NULL) : fronta_submit(rt, &d, f);
    return rc ? fronta__chunkops_fail(rc, "reduce: the partials") : 0;
}

int fronta_reduce(fronta_runtime_t *rt, fronta_buffer_t *x, fronta_reduce_op_t op,
                  fronta_buffer_t *result, fronta_future_t **out)
{
    if (out)
        *out = NULL;
    if (!rt || (!out && !result))
        return fronta__fail(FRONTA_EINVAL, "reduce: NULL runtime, or neither result nor out");
    red_plan p = {NULL, 0, 0};
    size_t k = 0;
    int rc = fronta__chunkops_buffer(rt, x, "reduce: x");
    if (!rc)
        rc = plan_of(op, x->type, &p);
    if (!rc && result)
        rc = check_result(rt, result, p.value);
    if (!rc)
        k = fronta__chunkops_chunks(x, "reduce: x", &rc);
    if (rc)
        return rc;
    fronta_kernel_t *kern = fronta_kernel_builtin(rt, p.kernel);
    fronta_buffer_t *parts = NULL;
    fronta_partition_t how = {.size = sizeof how, .nchunks = k};
    /* The final task's kernel first: its registration is one failure
     * less after the partials are under way. */
    if (!kern || !fronta__kernel_internal(rt, "fronta.reduce", finish_run))
        return fronta__fail(FRONTA_ENOMEM, "reduce: out of memory");
    if ((rc = fronta__chunkops_temp(rt, k ? k : 1, p.part, k ? &how : NULL, &parts)))
        return fronta__chunkops_fail(rc, "reduce: the partials' buffer");
    fronta_future_t *pf = NULL;
    rc = submit_partials(rt, kern, x, k, parts, &pf);
    if (!rc && k && (rc = fronta_buffer_unpartition(parts)))
        rc = fronta__chunkops_fail(rc, "reduce: the partials' buffer");
    if (!rc && (rc = fronta__reduce_finish(rt, parts, op, x->type, x->count, result, out)))
        rc = fronta__chunkops_fail(rc, "reduce: the final task");
    /* Out of memory part-way: the partials only read x, and what has not
     * started never will. */
    if (rc && pf)
        (void)fronta_future_cancel(pf);
    if (pf)
        fronta_future_release(pf);
    fronta__chunkops_drop(parts);
    return rc;
}
