/* test_fusion.c — fronta_compact fused with the elementwise kernel that writes its mask (FRONTA_KERNEL_ELEMENTWISE): the kernel runs piece by piece exactly when it can (counted calls), results equal the serial x[mask] whether it fused or not, a failed piece fails the compaction with the kernel's root and leaves out as it was, and a retried kernel's first, wrong attempt leaves nothing behind. */
#include "test_util.h"

/* The pieces fronta_compact counts in (runtime/data/compact.c): 64 Ki
 * elements from each chunk's start, the last one shorter. */
#define PIECE 65536u

static fronta_runtime_t *rt; /* the pool alone: kernels run where fusion can */

/* What the test kernel does, set by each case before it submits. */
static atomic_int calls;      /* CPU calls of the kernel (pieces when fused) */
static atomic_int attempts;   /* calls that saw element 0 of a chunk with BAD */
static int64_t bad = -1;      /* an x value the kernel fails on */
static int fail_first;        /* ... only in the first attempt, after writing 1s */

static int keep_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    const int64_t *x = a[0].ptr;
    uint8_t *m = a[1].ptr;
    (void)na;
    atomic_fetch_add(&calls, 1);
    for (size_t i = 0; i < n; i++) {
        if (x[i] == bad && (!fail_first || atomic_fetch_add(&attempts, 1) == 0))
            return fronta_ctx_fail(ctx, FRONTA_EARG, "x[%zu] is the bad value", i);
        /* A first attempt that fails writes a wrong mask before it does:
         * what the pieces before the failure counted must not survive. */
        m[i] = fail_first && atomic_load(&attempts) == 0 ? 1 : x[i] % 3 == 0;
    }
    return 0;
}

static const fronta_param_t keep_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_OUT},
};

static fronta_kernel_t *keep_kernel(const char *name, unsigned flags)
{
    fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .params = keep_params,
                              .nparams = 2, .cpu = keep_cpu, .flags = flags};
    fronta_kernel_t *k = NULL;
    if (fronta_kernel_find(rt, name, &k) != 0)
        assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    return k;
}

typedef struct fcase {
    size_t n, k;
    int64_t *x, *out, *ref;
    uint8_t *m;
    size_t want;
    fronta_buffer_t *bx, *bm, *bo;
} fcase;

static void fcase_up(fcase *c, size_t n, size_t k)
{
    *c = (fcase){.n = n, .k = k};
    c->x = malloc(n * sizeof *c->x);
    c->out = malloc(n * sizeof *c->out);
    c->ref = malloc(n * sizeof *c->ref);
    c->m = calloc(n, 1);
    assert_true(c->x && c->out && c->ref && c->m);
    for (size_t i = 0; i < n; i++) {
        c->x[i] = (int64_t)(i * 7919u % 1000003u); /* distinct below 1000003 elements */
        c->out[i] = -7;
        if (c->x[i] % 3 == 0)
            c->ref[c->want++] = c->x[i];
    }
    assert_int_equal(fronta_buffer_wrap(rt, c->x, n, FRONTA_INT64, &c->bx), 0);
    assert_int_equal(fronta_buffer_wrap(rt, c->m, n, FRONTA_UINT8, &c->bm), 0);
    assert_int_equal(fronta_buffer_wrap(rt, c->out, n, FRONTA_INT64, &c->bo), 0);
    fronta_partition_t how = {.size = sizeof how, .nchunks = k};
    assert_int_equal(fronta_buffer_partition(c->bx, &how), 0);
    assert_int_equal(fronta_buffer_partition(c->bm, &how), 0);
}

/* The pieces of the chunks: what the kernel's calls are when it fuses. */
static int fcase_pieces(const fcase *c)
{
    int p = 0;
    for (size_t i = 0; i < c->k; i++)
        p += (int)((fronta_buffer_count(fronta_buffer_chunk(c->bx, i)) + PIECE - 1) / PIECE);
    return p;
}

/* The map of t over the chunks, held back by a gate until fronta_compact
 * of x by mask into out has been called (else the kernels could start
 * first, and nothing fuses), then released; returns the compaction's
 * future. */
static fronta_future_t *gated_map_compact(fronta_task_desc_t t, fronta_buffer_t *x,
                                          fronta_buffer_t *mask, fronta_buffer_t *out,
                                          fronta_future_t **map, fronta_future_t **chunks)
{
    ft_gate_t g;
    ft_gate_init(&g, 0);
    fronta_future_t *gate = ft_gate_submit(rt, &g), *f = NULL;
    t.after = &gate;
    t.nafter = 1;
    assert_int_equal(fronta_submit_map(rt, &t, map, chunks), 0);
    assert_int_equal(fronta_compact(rt, x, mask, out, &f), 0);
    ft_gate_open(&g);
    FT_EXPECT_OUTCOME(gate, 0);
    fronta_future_release(gate);
    return f;
}

/* The case's mask = k(x), then x[mask]. */
static fronta_future_t *map_then_compact(fcase *c, fronta_kernel_t *k, unsigned retries,
                                         fronta_future_t **map, fronta_future_t **chunks)
{
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .nargs = 2,
                            .args = {FRONTA_IN(c->bx), FRONTA_OUT(c->bm)}, .retries = retries};
    return gated_map_compact(t, c->bx, c->bm, c->bo, map, chunks);
}

static void fcase_down(fcase *c)
{
    assert_int_equal(fronta_buffer_destroy(c->bo), 0);
    assert_int_equal(fronta_buffer_destroy(c->bm), 0);
    assert_int_equal(fronta_buffer_destroy(c->bx), 0);
    free(c->x);
    free(c->out);
    free(c->ref);
    free(c->m);
}

/* The kept elements and their count, against the serial x[mask]. */
static void expect_result(fcase *c, fronta_future_t *f)
{
    FT_EXPECT_OUTCOME(f, 0);
    int64_t kept = -1;
    assert_int_equal(fronta_future_result(f, 0, &kept, sizeof kept), 0);
    assert_int_equal(kept, (int64_t)c->want);
    void *h = NULL;
    assert_int_equal(fronta_buffer_acquire(c->bo, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
    assert_memory_equal(h, c->ref, c->want * sizeof *c->ref);
    for (size_t i = c->want; i < c->n; i++) /* the rest of out as it was */
        assert_int_equal(c->out[i], -7);
    assert_int_equal(fronta_buffer_release(c->bo), 0);
}

static void reset(void)
{
    atomic_store(&calls, 0);
    atomic_store(&attempts, 0);
    bad = -1;
    fail_first = 0;
}

/* Elementwise: one call per piece, the right elements; not elementwise
 * (the control): one call per chunk, the same elements. Chunks of 1, 2
 * and 3 pieces with short last ones, and a one-element chunk. */
static void fuses_when_it_can(void **state)
{
    (void)state;
    static const size_t ns[][2] = {{3 * PIECE + 5, 2}, {PIECE, 1}, {2 * PIECE + 1, 3},
                                   {PIECE + 3, 4}, {5, 5}};
    for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++)
        for (int ew = 0; ew < 2; ew++) {
            reset();
            fcase c;
            fcase_up(&c, ns[s][0], ns[s][1]);
            fronta_kernel_t *k = ew ? keep_kernel("t.keep_ew", FRONTA_KERNEL_ELEMENTWISE)
                                    : keep_kernel("t.keep", 0);
            fronta_future_t *map = NULL, *f = map_then_compact(&c, k, 0, &map, NULL);
            expect_result(&c, f);
            FT_EXPECT_OUTCOME(map, 0);
            int want = ew ? fcase_pieces(&c) : (int)c.k;
            if (atomic_load(&calls) != want)
                fail_msg("n %zu in %zu chunks, %s: %d kernel calls, expected %d", c.n, c.k,
                         ew ? "elementwise" : "not elementwise", atomic_load(&calls), want);
            fronta_future_release(f);
            fronta_future_release(map);
            fcase_down(&c);
        }
}

/* No fusion where the promise cannot hold or comes too late: a mask
 * written from another buffer than x, and a compaction called after the
 * kernels ran. Right elements either way. */
static void does_not_fuse_otherwise(void **state)
{
    (void)state;
    reset();
    fcase c;
    fcase_up(&c, 2 * PIECE + 9, 2);
    int64_t *y = malloc(c.n * sizeof *y);
    assert_non_null(y);
    memcpy(y, c.x, c.n * sizeof *y);
    fronta_buffer_t *by = NULL;
    assert_int_equal(fronta_buffer_wrap(rt, y, c.n, FRONTA_INT64, &by), 0);
    fronta_partition_t how = {.size = sizeof how, .nchunks = 2};
    assert_int_equal(fronta_buffer_partition(by, &how), 0);
    fronta_kernel_t *k = keep_kernel("t.keep_ew", FRONTA_KERNEL_ELEMENTWISE);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .nargs = 2,
                            .args = {FRONTA_IN(by), FRONTA_OUT(c.bm)}};
    fronta_future_t *map = NULL, *f = gated_map_compact(t, c.bx, c.bm, c.bo, &map, NULL);
    expect_result(&c, f);
    assert_int_equal(atomic_load(&calls), 2);
    fronta_future_release(f);
    fronta_future_release(map);
    /* The kernels done before the call: nothing to fuse with. */
    atomic_store(&calls, 0);
    t.args[0] = FRONTA_IN(c.bx);
    t.nafter = 0;
    assert_int_equal(fronta_submit_map(rt, &t, &map, NULL), 0);
    FT_EXPECT_OUTCOME(map, 0);
    assert_int_equal(fronta_compact(rt, c.bx, c.bm, c.bo, &f), 0);
    expect_result(&c, f);
    assert_int_equal(atomic_load(&calls), 2);
    fronta_future_release(f);
    fronta_future_release(map);
    assert_int_equal(fronta_buffer_destroy(by), 0);
    free(y);
    fcase_down(&c);
}

/* A piece that fails fails the compaction, rooted at the kernel's chunk
 * task, and out keeps its contents. */
static void failed_piece(void **state)
{
    (void)state;
    reset();
    fcase c;
    fcase_up(&c, 4 * PIECE, 2);
    bad = c.x[3 * PIECE + 10]; /* in chunk 1's second piece */
    fronta_future_t *map = NULL, *chunks[2] = {NULL, NULL};
    fronta_future_t *f = map_then_compact(&c, keep_kernel("t.keep_ew", FRONTA_KERNEL_ELEMENTWISE),
                                          0, &map, chunks);
    FT_EXPECT_OUTCOME(f, FRONTA_EDEPFAILED); /* the count task depended on it */
    fronta_error_t e;
    memset(&e, 0, sizeof e);
    (void)fronta_future_error(f, &e);
    assert_true(e.task_id == fronta_future_task_id(chunks[1]));
    FT_EXPECT_OUTCOME(chunks[1], FRONTA_EARG);
    FT_EXPECT_OUTCOME(chunks[0], 0);
    (void)fronta_runtime_wait_all(rt, FT_LIMIT);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(c.out[i], -7);
    fronta_future_release(chunks[0]);
    fronta_future_release(chunks[1]);
    fronta_future_release(f);
    fronta_future_release(map);
    (void)fronta_buffer_destroy(c.bo);
    (void)fronta_buffer_destroy(c.bm);
    (void)fronta_buffer_destroy(c.bx);
    free(c.x), free(c.out), free(c.ref), free(c.m);
}

/* A first attempt that counted wrong pieces, then failed: the retry's
 * pieces are the ones counted. */
static void retried_kernel(void **state)
{
    (void)state;
    reset();
    fcase c;
    fcase_up(&c, 3 * PIECE + 77, 1);
    fail_first = 1;
    bad = c.x[2 * PIECE + 1]; /* after two pieces of 1s */
    fronta_future_t *map = NULL;
    fronta_future_t *f = map_then_compact(&c, keep_kernel("t.keep_ew", FRONTA_KERNEL_ELEMENTWISE),
                                          1, &map, NULL);
    expect_result(&c, f);
    FT_EXPECT_OUTCOME(map, 0);
    assert_true(atomic_load(&attempts) >= 1);
    fronta_future_release(f);
    fronta_future_release(map);
    fcase_down(&c);
}

/* The bundled elementwise kernels fuse too, for each element size of x
 * (the sparse copy, of pieces keeping under one in 8, has a loop per
 * size; the keep kernel above keeps one in 3, the dense case):
 * divisible_by 11 over int32 and int64, gt over uint8 and double (one in
 * 90), each result against the serial one. */
static void bundled_kernels(void **state)
{
    (void)state;
    static const fronta_dtype_t types[] = {FRONTA_INT32, FRONTA_INT64, FRONTA_UINT8,
                                           FRONTA_DOUBLE};
    size_t n = 3 * PIECE + 1001;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        size_t es = fronta_dtype_size(types[t]), want = 0;
        char *x = malloc(n * es), *y = malloc(n * es), *out = malloc(n * es);
        char *ref = malloc(n * es);
        uint8_t *m = calloc(n, 1);
        assert_true(x && y && out && ref && m);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = i * 2654435761u % 1000003u;
            int keep = types[t] == FRONTA_INT32 || types[t] == FRONTA_INT64 ? v % 11 == 0
                                                                          : v % 90 == 0;
            switch (types[t]) {
            case FRONTA_INT32: ((int32_t *)x)[i] = (int32_t)v; break;
            case FRONTA_INT64: ((int64_t *)x)[i] = (int64_t)v; break;
            case FRONTA_UINT8: /* gt x, y: x 1 where kept, y 0 */
                ((uint8_t *)x)[i] = (uint8_t)keep, ((uint8_t *)y)[i] = 0; break;
            default: ((double *)x)[i] = keep ? 2.0 + (double)v : 0.5, ((double *)y)[i] = 1.0;
            }
            if (keep)
                memcpy(ref + es * want++, x + es * i, es);
        }
        memset(out, 0xab, n * es);
        fronta_buffer_t *bx, *by = NULL, *bm, *bo;
        assert_int_equal(fronta_buffer_wrap(rt, x, n, types[t], &bx), 0);
        assert_int_equal(fronta_buffer_wrap(rt, m, n, FRONTA_UINT8, &bm), 0);
        assert_int_equal(fronta_buffer_wrap(rt, out, n, types[t], &bo), 0);
        fronta_partition_t how = {.size = sizeof how, .nchunks = 3};
        assert_int_equal(fronta_buffer_partition(bx, &how), 0);
        assert_int_equal(fronta_buffer_partition(bm, &how), 0);
        int divides = types[t] == FRONTA_INT32 || types[t] == FRONTA_INT64;
        fronta_task_desc_t d = {.size = sizeof d, .nargs = 3};
        if (divides) {
            d.kernel = fronta_kernel_builtin(rt, "divisible_by");
            d.args[0] = FRONTA_IN(bx);
            d.args[1] = types[t] == FRONTA_INT32 ? FRONTA_I32(11) : FRONTA_I64(11);
            d.args[2] = FRONTA_OUT(bm);
        } else {
            assert_int_equal(fronta_buffer_wrap(rt, y, n, types[t], &by), 0);
            assert_int_equal(fronta_buffer_partition(by, &how), 0);
            d.kernel = fronta_kernel_builtin(rt, "gt");
            d.args[0] = FRONTA_IN(bx);
            d.args[1] = FRONTA_IN(by);
            d.args[2] = FRONTA_OUT(bm);
        }
        fronta_future_t *map = NULL, *f = gated_map_compact(d, bx, bm, bo, &map, NULL);
        FT_EXPECT_OUTCOME(f, 0);
        int64_t kept = -1;
        assert_int_equal(fronta_future_result(f, 0, &kept, sizeof kept), 0);
        FT_EXPECT_OUTCOME(map, 0);
        fronta_future_release(f);
        fronta_future_release(map);
        assert_int_equal(fronta_buffer_destroy(bo), 0);
        assert_int_equal(fronta_buffer_destroy(bm), 0);
        assert_int_equal(fronta_buffer_destroy(bx), 0);
        if (by)
            assert_int_equal(fronta_buffer_destroy(by), 0);
        if (kept != (int64_t)want || memcmp(out, ref, want * es))
            fail_msg("dtype %d: kept %lld of %zu%s", (int)types[t], (long long)kept,
                     want, memcmp(out, ref, want * es) ? ", wrong elements" : "");
        free(x), free(y), free(out), free(ref), free(m);
    }
}

/* The flag is accepted by fronta_kernel_create, and an unknown one still
 * refused. */
static void flag_accepted(void **state)
{
    (void)state;
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "t.flags", .params = keep_params,
                              .nparams = 2, .cpu = keep_cpu,
                              .flags = FRONTA_KERNEL_ELEMENTWISE | FRONTA_KERNEL_FLAT};
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    d.name = "t.flags2";
    d.flags = FRONTA_KERNEL_ELEMENTWISE << 1;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), FRONTA_EINVAL);
}

static int setup(void **state)
{
    (void)state;
    rt = ft_runtime_dev("cpu", 0);
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
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flag_accepted),
        cmocka_unit_test(fuses_when_it_can),
        cmocka_unit_test(does_not_fuse_otherwise),
        cmocka_unit_test(failed_piece),
        cmocka_unit_test(retried_kernel),
        cmocka_unit_test(bundled_kernels),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
