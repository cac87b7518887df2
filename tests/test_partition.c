/* Partitions and maps over chunks: the ways to cut a buffer, the order of
 * partition and unpartition among a buffer's accesses, the errors, the
 * whole map's future, and randomized cycles checked against a model. */
#include "test_util.h"

#include <pthread.h>

static fronta_partition_t nchunks(size_t n)
{
    return (fronta_partition_t){.size = sizeof(fronta_partition_t), .nchunks = n};
}

static fronta_chunk_info_t info_of(fronta_buffer_t *c)
{
    fronta_chunk_info_t ci;
    memset(&ci, 0, sizeof ci);
    ci.size = sizeof ci;
    assert_int_equal(fronta_buffer_chunk_info(c, &ci), 0);
    return ci;
}

/* Every chunk's place, and that they tile the parent exactly once. */
static void expect_chunks(fronta_buffer_t *b, size_t n, const size_t *counts)
{
    assert_int_equal(fronta_buffer_nchunks(b), n);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        fronta_buffer_t *c = fronta_buffer_chunk(b, i);
        assert_non_null(c);
        fronta_chunk_info_t ci = info_of(c);
        assert_ptr_equal(ci.parent, b);
        assert_int_equal(ci.index, i);
        assert_int_equal(ci.offset, off);
        assert_int_equal(ci.rows, 1);
        if (fronta_buffer_count(c) != counts[i])
            fail_msg("chunk %zu of %zu has %zu elements, expected %zu", i, n,
                     fronta_buffer_count(c), counts[i]);
        assert_int_equal(ci.cols, counts[i]);
        assert_int_equal(fronta_buffer_dtype(c), fronta_buffer_dtype(b));
        assert_int_equal(ci.retired, 0);
        off += counts[i];
    }
    assert_int_equal(off, fronta_buffer_count(b));
    assert_null(fronta_buffer_chunk(b, n));
}

static void ways(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, 10, FRONTA_INT32, &b), 0);
    assert_int_equal(fronta_buffer_nchunks(b), 0);

    fronta_partition_t p = nchunks(4); /* balanced: the first 10 % 4 one longer */
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    expect_chunks(b, 4, (size_t[]){3, 3, 2, 2});
    assert_int_equal(fronta_buffer_unpartition(b), 0);
    assert_int_equal(fronta_buffer_nchunks(b), 0);

    p = (fronta_partition_t){.size = sizeof p, .chunk_len = 3}; /* the last shorter */
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    expect_chunks(b, 4, (size_t[]){3, 3, 3, 1});
    assert_int_equal(fronta_buffer_unpartition(b), 0);

    p = (fronta_partition_t){.size = sizeof p, .chunk_len = 11}; /* longer than b */
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    expect_chunks(b, 1, (size_t[]){10});
    assert_int_equal(fronta_buffer_unpartition(b), 0);

    size_t lens[] = {1, 6, 3};
    p = (fronta_partition_t){.size = sizeof p, .lengths = lens, .nlengths = 3};
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    expect_chunks(b, 3, lens);
    assert_int_equal(fronta_buffer_unpartition(b), 0);

    p = nchunks(10); /* as many chunks as elements */
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    expect_chunks(b, 10, (size_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
    assert_int_equal(fronta_buffer_unpartition(b), 0);

    /* An old descriptor (size covering nchunks only) and a NULL one. */
    struct { size_t size, nchunks; } old = {sizeof old, 2};
    assert_int_equal(fronta_buffer_partition(b, (const fronta_partition_t *)&old), 0);
    expect_chunks(b, 2, (size_t[]){5, 5});
    assert_int_equal(fronta_buffer_unpartition(b), 0);
    assert_int_equal(fronta_buffer_partition(b, NULL), 0);
    assert_int_equal(fronta_buffer_nchunks(b), 1); /* 40 bytes: one chunk */
    assert_int_equal(fronta_buffer_unpartition(b), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    fronta_runtime_destroy(rt);
}

/* The automatic chunking: whole, non-empty chunks, no more than the
 * elements, at least one chunk per worker on a large array, and none
 * below the documented minimum (256 KiB) when there are several. */
static void automatic(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    size_t sizes[] = {1, 1000, 65536, (size_t)1 << 20, ((size_t)1 << 24) + 3};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        fronta_buffer_t *b;
        assert_int_equal(fronta_buffer_create(rt, sizes[s], FRONTA_FLOAT, &b), 0);
        assert_int_equal(fronta_buffer_partition(b, NULL), 0);
        size_t n = fronta_buffer_nchunks(b), sum = 0;
        assert_true(n >= 1 && n <= sizes[s]);
        for (size_t i = 0; i < n; i++) {
            size_t c = fronta_buffer_count(fronta_buffer_chunk(b, i));
            assert_true(c >= 1);
            if (i + 1 < n && c % 4096) /* OpenCL drivers pick work-groups from it */
                fail_msg("%zu elements: chunk %zu of %zu has %zu elements, not a multiple "
                         "of 4096", sizes[s], i, n, c);
            if (n > 1 && c * sizeof(float) < ((size_t)256 << 10) - sizeof(float))
                fail_msg("%zu elements: chunk %zu of %zu has %zu elements (< 256 KiB)",
                         sizes[s], i, n, c);
            sum += c;
        }
        assert_int_equal(sum, sizes[s]);
        if (sizes[s] * sizeof(float) >= ((size_t)64 << 20))
            assert_true(n >= (size_t)fronta_runtime_cpu_threads(rt));
        print_message("[ figure   ] automatic chunking of %zu floats: %zu chunks\n", sizes[s],
                      n);
        assert_int_equal(fronta_buffer_destroy(b), 0);
    }
    fronta_runtime_destroy(rt);
}

static void tiles(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    enum { R = 5, C = 7 };
    int32_t m[R * C];
    for (int i = 0; i < R * C; i++)
        m[i] = i;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, m, R * C, FRONTA_INT32, &b), 0);
    fronta_partition_t p = {.size = sizeof p, .rows = R, .cols = C, .tile_rows = 2,
                            .tile_cols = 3};
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    assert_int_equal(fronta_buffer_nchunks(b), 9); /* 3 tile rows x 3 tile cols */
    for (size_t i = 0; i < 9; i++) {
        fronta_buffer_t *c = fronta_buffer_chunk(b, i);
        fronta_chunk_info_t ci = info_of(c);
        size_t tr = i / 3, tc = i % 3;
        assert_int_equal(ci.row, tr * 2);
        assert_int_equal(ci.col, tc * 3);
        assert_int_equal(ci.rows, tr < 2 ? 2 : 1);
        assert_int_equal(ci.cols, tc < 2 ? 3 : 1);
        assert_int_equal(fronta_buffer_count(c), ci.rows * ci.cols);
        /* A tile's host copy is packed: row r of the tile is row
         * ci.row + r of the matrix, columns ci.col .. */
        int32_t *t;
        assert_int_equal(fronta_buffer_acquire(c, FRONTA_ACCESS_INOUT, FT_LIMIT, (void **)&t),
                         0);
        for (size_t r = 0; r < ci.rows; r++)
            for (size_t k = 0; k < ci.cols; k++) {
                assert_int_equal(t[r * ci.cols + k], (int)((ci.row + r) * C + ci.col + k));
                t[r * ci.cols + k] = -t[r * ci.cols + k];
            }
        assert_int_equal(fronta_buffer_release(c), 0);
    }
    assert_int_equal(fronta_buffer_unpartition(b), 0);
    int32_t *h;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h), 0);
    for (int i = 0; i < R * C; i++)
        assert_int_equal(h[i], -i);
    assert_int_equal(fronta_buffer_release(b), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    fronta_runtime_destroy(rt);
}

static void errors(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    fronta_buffer_t *b, *other;
    assert_int_equal(fronta_buffer_create(rt, 10, FRONTA_FLOAT, &b), 0);
    assert_int_equal(fronta_buffer_create(rt, 10, FRONTA_FLOAT, &other), 0);
    FT_EXPECT_RC(fronta_buffer_partition(NULL, NULL), FRONTA_EINVAL);
    fronta_partition_t p = {.size = sizeof p, .nchunks = 2, .chunk_len = 3};
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_EINVAL);
    assert_true(strstr(fronta_last_error(), "one of") != NULL);
    p = nchunks(11);
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_ERANGE);
    p = (fronta_partition_t){.size = sizeof p, .nchunks = (size_t)-1};
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_ERANGE);
    size_t short_sum[] = {4, 5}, zero[] = {10, 0}, big[] = {(size_t)-1, 11};
    p = (fronta_partition_t){.size = sizeof p, .lengths = short_sum, .nlengths = 2};
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_ERANGE);
    p.lengths = zero;
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_EINVAL);
    p.lengths = big; /* a sum that wraps */
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_ERANGE);
    p = (fronta_partition_t){.size = sizeof p, .lengths = NULL, .nlengths = 2};
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_EINVAL);
    p = (fronta_partition_t){.size = sizeof p, .rows = 3, .cols = 3, .tile_rows = 1,
                             .tile_cols = 1};
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_EINVAL); /* 9 != 10 */
    p = (fronta_partition_t){.size = sizeof p, .rows = 2, .cols = 5, .tile_rows = 0,
                             .tile_cols = 1};
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_EINVAL);
    p = (fronta_partition_t){.size = sizeof p, .rows = (size_t)1 << 33,
                             .cols = (size_t)1 << 33, .tile_rows = 1, .tile_cols = 1};
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_EINVAL); /* overflows */
    FT_EXPECT_RC(fronta_buffer_unpartition(b), FRONTA_EINVAL);
    FT_EXPECT_RC(fronta_buffer_unpartition(NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_nchunks(b), 0); /* nothing happened */

    p = nchunks(2);
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    FT_EXPECT_RC(fronta_buffer_partition(b, &p), FRONTA_EPARTITION);
    fronta_buffer_t *c0 = fronta_buffer_chunk(b, 0);
    FT_EXPECT_RC(fronta_buffer_partition(c0, &p), FRONTA_ENOTSUP);
    FT_EXPECT_RC(fronta_buffer_unpartition(c0), FRONTA_EINVAL); /* not partitioned */
    FT_EXPECT_RC(fronta_buffer_destroy(c0), FRONTA_EPARTITION);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, 0, NULL), FRONTA_EPARTITION);
    FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, 0, NULL), FRONTA_EPARTITION);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                            .args = {FRONTA_INOUT(b), FRONTA_F32(2.0f)}};
    fronta_future_t *f = NULL;
    FT_EXPECT_RC(fronta_submit(rt, &t, &f), FRONTA_EPARTITION);
    assert_null(f);
    assert_true(strstr(fronta_last_error(), "partitioned") != NULL);
    fronta_chunk_info_t ci = {.size = sizeof ci};
    FT_EXPECT_RC(fronta_buffer_chunk_info(b, &ci), FRONTA_EINVAL); /* not a chunk */
    FT_EXPECT_RC(fronta_buffer_chunk_info(c0, NULL), FRONTA_EINVAL);

    /* Maps: what is refused before anything is submitted. */
    fronta_stats_t s0, s1;
    assert_int_equal(fronta_runtime_stats(rt, &s0), 0);
    fronta_future_t *m = NULL;
    t = (fronta_task_desc_t){.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "add"),
                             .args = {FRONTA_IN(b), FRONTA_IN(b), FRONTA_OUT(other)}};
    FT_EXPECT_RC(fronta_submit_map(rt, &t, &m, NULL), FRONTA_EARG); /* a whole buffer written */
    t.args[2] = FRONTA_OUT(b);
    t.global = 5;
    FT_EXPECT_RC(fronta_submit_map(rt, &t, &m, NULL), FRONTA_EINVAL);
    t.global = 0;
    FT_EXPECT_RC(fronta_submit_map(rt, &t, NULL, NULL), FRONTA_EINVAL);
    FT_EXPECT_RC(fronta_submit_map(NULL, &t, &m, NULL), FRONTA_EINVAL);
    t.args[0] = FRONTA_IN(other); /* whole buffers: the map's own chunks, not yours */
    t.args[1] = FRONTA_IN(other);
    t.args[2] = FRONTA_OUT(other);
    fronta_future_t *cs[4];
    FT_EXPECT_RC(fronta_submit_map(rt, &t, &m, cs), FRONTA_EINVAL);
    assert_int_equal(fronta_buffer_nchunks(other), 0);
    fronta_partition_t p3 = nchunks(3);
    assert_int_equal(fronta_buffer_partition(other, &p3), 0);
    t.args[0] = FRONTA_IN(b);
    t.args[1] = FRONTA_IN(b);
    FT_EXPECT_RC(fronta_submit_map(rt, &t, &m, NULL), FRONTA_ESIZE); /* 2 chunks against 3 */
    assert_true(strstr(fronta_last_error(), "chunks") != NULL);
    assert_int_equal(fronta_buffer_unpartition(other), 0);
    /* Zipped with equal chunk counts but a chunk too short for the
     * kernel's count rule: refused as a whole, naming the chunk. */
    size_t lens[] = {4, 6};
    p = (fronta_partition_t){.size = sizeof p, .lengths = lens, .nlengths = 2};
    assert_int_equal(fronta_buffer_partition(other, &p), 0);
    t.args[2] = FRONTA_OUT(other);
    FT_EXPECT_RC(fronta_submit_map(rt, &t, &m, NULL), FRONTA_ESIZE);
    assert_true(strstr(fronta_last_error(), "chunk 0") != NULL);
    assert_null(m);
    assert_int_equal(fronta_runtime_stats(rt, &s1), 0);
    /* Only the partitions' and unpartition's own tasks were submitted. */
    assert_int_equal(s1.tasks_submitted - s0.tasks_submitted, 3);

    /* Retired chunks refuse tasks and acquires. */
    assert_int_equal(fronta_buffer_unpartition(b), 0);
    FT_EXPECT_RC(fronta_buffer_acquire(c0, FRONTA_ACCESS_IN, 0, NULL), FRONTA_EPARTITION);
    t = (fronta_task_desc_t){.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                             .args = {FRONTA_INOUT(c0), FRONTA_F32(2.0f)}};
    FT_EXPECT_RC(fronta_submit(rt, &t, &f), FRONTA_EPARTITION);
    ci = info_of(c0);
    assert_int_equal(ci.retired, 1);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    assert_int_equal(fronta_buffer_destroy(other), 0); /* unpartitions it first */
    fronta_runtime_destroy(rt);
}

/* ---- order ---- */

static int slow_iota(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)na;
    ft_busy_us(ctx, 20000); /* the partition must wait for this */
    int32_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] = (int32_t)i;
    return 0;
}

static fronta_kernel_t *iota_kernel(fronta_runtime_t *rt)
{
    fronta_param_t prm[] = {{.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT}};
    fronta_kernel_desc_t d = {.size = sizeof d, .name = "slow_iota", .params = prm,
                              .nparams = 1, .cpu = slow_iota};
    fronta_kernel_t *k;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    return k;
}

/* A map of `add` (z = x + y) over zipped chunks and one of `scale` in
 * place, between a slow writer before the partition and a reader after
 * the unpartition; on the pool and on OpenCL, copy path and zero-copy. */
static void order_run(const char *devices, int zc, fronta_need_t need)
{
    fronta_runtime_t *rt = ft_runtime_dev(devices, zc);
    enum { N = 10007 };
    static int32_t x[N], y[N], z[N];
    for (int i = 0; i < N; i++) {
        y[i] = 3 * i;
        z[i] = -1;
    }
    fronta_buffer_t *bx, *by, *bz;
    assert_int_equal(fronta_buffer_wrap(rt, x, N, FRONTA_INT32, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(rt, y, N, FRONTA_INT32, &by), 0);
    assert_int_equal(fronta_buffer_wrap(rt, z, N, FRONTA_INT32, &bz), 0);
    fronta_task_desc_t w = {.size = sizeof w, .kernel = iota_kernel(rt),
                            .args = {FRONTA_OUT(bx)}};
    fronta_future_t *fw;
    assert_int_equal(fronta_submit(rt, &w, &fw), 0);
    fronta_partition_t p = nchunks(7);
    assert_int_equal(fronta_buffer_partition(bx, &p), 0);
    assert_int_equal(fronta_buffer_partition(by, &p), 0);
    assert_int_equal(fronta_buffer_partition(bz, &p), 0);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "add"),
                            .args = {FRONTA_IN(bx), FRONTA_IN(by), FRONTA_OUT(bz)},
                            .needs = {.device = need}};
    fronta_future_t *m, *chunk[7] = {0};
    assert_int_equal(fronta_submit_map(rt, &t, &m, chunk), 0);
    t = (fronta_task_desc_t){.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                             .args = {FRONTA_INOUT(bz), FRONTA_I32(2)}, .needs = {.device = need}};
    fronta_future_t *m2;
    assert_int_equal(fronta_submit_map(rt, &t, &m2, NULL), 0);
    assert_int_equal(fronta_buffer_unpartition(bx), 0);
    assert_int_equal(fronta_buffer_unpartition(bz), 0);
    /* by stays partitioned: destroy unpartitions it. */
    int32_t *h;
    assert_int_equal(fronta_buffer_acquire(bz, FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h), 0);
    for (int i = 0; i < N; i++)
        if (h[i] != 2 * (i + 3 * i))
            fail_msg("%s zero_copy %d: z[%d] = %d, expected %d", devices, zc, i, h[i],
                     8 * i);
    assert_int_equal(fronta_buffer_release(bz), 0);
    FT_EXPECT_OUTCOME(m, 0);
    FT_EXPECT_OUTCOME(m2, 0);
    for (int i = 0; i < 7; i++) {
        assert_true(fronta_future_done(chunk[i]));
        if (need == FRONTA_NEED_OPENCL)
            assert_true(fronta_future_device(chunk[i]) > 0);
        fronta_future_release(chunk[i]);
    }
    fronta_future_release(m);
    fronta_future_release(m2);
    fronta_future_release(fw);
    assert_int_equal(fronta_buffer_destroy(bx), 0);
    assert_int_equal(fronta_buffer_destroy(by), 0);
    assert_int_equal(fronta_buffer_destroy(bz), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(x[i], i);
    assert_int_equal(z[N - 1], 8 * (N - 1));
    fronta_runtime_destroy(rt);
}

static void order_pool(void **state)
{
    (void)state;
    order_run("cpu", 0, FRONTA_NEED_CPU_POOL);
}

static void order_opencl(void **state)
{
    (void)state;
    if (!ft_have_opencl())
        skip();
    order_run("all", 0, FRONTA_NEED_OPENCL);
    order_run("all", -1, FRONTA_NEED_OPENCL);
    order_run("all", 0, FRONTA_NEED_ANY);
}

/* ---- destroying a partitioned buffer whose chunks are idle ---- */

/* Scale every chunk by 3 where `need` says, wait for all of it, then
 * (read_back) read every chunk on the host so that the host copies are
 * current; then destroy. Destroy unpartitions on its own thread when every
 * chunk is idle with its host copy current, else through the unpartition
 * task: the host array holds the chunks' contents either way, and no
 * device keeps a replica. */
static void idle_run(const char *devices, int zc, fronta_need_t need, int tiled, int read_back)
{
    fronta_runtime_t *rt = ft_runtime_dev(devices, zc);
    enum { R = 37, C = 53, N = R * C };
    static int32_t m[N];
    for (int i = 0; i < N; i++)
        m[i] = i - 900;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, m, N, FRONTA_INT32, &b), 0);
    fronta_partition_t p = tiled ? (fronta_partition_t){.size = sizeof p, .rows = R, .cols = C,
                                                        .tile_rows = 8, .tile_cols = 16}
                                 : nchunks(6);
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                            .args = {FRONTA_INOUT(b), FRONTA_I32(3)}, .needs = {.device = need}};
    fronta_future_t *f;
    assert_int_equal(fronta_submit_map(rt, &t, &f, NULL), 0);
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    for (size_t i = 0; read_back && i < fronta_buffer_nchunks(b); i++) {
        void *h;
        fronta_buffer_t *c = fronta_buffer_chunk(b, i);
        assert_int_equal(fronta_buffer_acquire(c, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
        assert_int_equal(fronta_buffer_release(c), 0);
    }
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    for (int i = 0; i < N; i++)
        if (m[i] != 3 * (i - 900))
            fail_msg("%s zero_copy %d, %s%s: m[%d] = %d, expected %d", devices, zc,
                     tiled ? "tiles" : "1-D", read_back ? ", read back" : "", i, m[i],
                     3 * (i - 900));
    for (int d = 1; d < fronta_device_count(rt); d++)
        assert_int_equal(ft_dstats(rt, d).mem_used, 0);
    fronta_runtime_destroy(rt);
}

/* Chunks still being written are not idle: destroy waits for them. */
static void idle_pending(void)
{
    fronta_runtime_t *rt = ft_runtime(2);
    enum { N = 6000 };
    static int32_t m[N];
    memset(m, 0xff, sizeof m);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, m, N, FRONTA_INT32, &b), 0);
    fronta_partition_t p = nchunks(3);
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    size_t off[3];
    for (size_t i = 0; i < 3; i++)
        off[i] = info_of(fronta_buffer_chunk(b, i)).offset;
    fronta_task_desc_t t = {.size = sizeof t, .kernel = iota_kernel(rt), .args = {FRONTA_OUT(b)},
                            .needs = {.device = FRONTA_NEED_CPU_POOL}};
    fronta_future_t *f;
    assert_int_equal(fronta_submit_map(rt, &t, &f, NULL), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0); /* the map takes 20 ms a chunk */
    for (size_t i = 0; i < N; i++) {
        size_t o = i >= off[2] ? off[2] : i >= off[1] ? off[1] : 0;
        if (m[i] != (int32_t)(i - o))
            fail_msg("m[%zu] = %d after destroy, expected %zu", i, m[i], i - o);
    }
    FT_EXPECT_OUTCOME(f, 0);
    fronta_future_release(f);
    fronta_runtime_destroy(rt);
}

static void destroy_idle(void **state)
{
    (void)state;
    idle_pending();
    for (int tiled = 0; tiled < 2; tiled++) {
        idle_run("cpu", 0, FRONTA_NEED_CPU_POOL, tiled, 0);
        if (!ft_have_opencl())
            continue;
        for (int rb = 0; rb < 2; rb++)
            idle_run("all", -1, FRONTA_NEED_OPENCL, tiled, rb);
    }
}

/* ---- the whole map's future ---- */

static int fail_some(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)na, (void)n;
    int32_t *x = a[0].ptr;
    if (x[0] / 10 == 3 || x[0] / 10 == 5) /* chunks 3 and 5 */
        return fronta_ctx_fail(ctx, FRONTA_ERANGE, "element %d is unlucky", x[0]);
    x[0] = -x[0];
    return 0;
}

static void map_failure(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime(2);
    int32_t v[80];
    for (int i = 0; i < 80; i++)
        v[i] = i;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, v, 80, FRONTA_INT32, &b), 0);
    fronta_param_t prm[] = {{.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT}};
    fronta_kernel_desc_t kd = {.size = sizeof kd, .name = "fail_some", .params = prm,
                               .nparams = 1, .cpu = fail_some};
    fronta_kernel_t *k;
    assert_int_equal(fronta_kernel_create(rt, &kd, &k), 0);
    fronta_partition_t p = {.size = sizeof p, .chunk_len = 10};
    for (int round = 0; round < 20; round++) {
        assert_int_equal(fronta_buffer_partition(b, &p), 0);
        fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .args = {FRONTA_INOUT(b)}};
        fronta_future_t *m, *c[8];
        assert_int_equal(fronta_submit_map(rt, &t, &m, c), 0);
        FT_EXPECT_OUTCOME(m, FRONTA_ERANGE);
        if (!strstr(ft_message(m), "chunk 3 of 8") || !strstr(ft_message(m), "unlucky"))
            fail_msg("map message: %s", ft_message(m));
        fronta_error_t e;
        assert_int_equal(fronta_future_error(m, &e), FRONTA_ERANGE);
        assert_int_equal(e.task_id, fronta_future_task_id(c[3]));
        for (int i = 0; i < 8; i++) {
            FT_EXPECT_OUTCOME(c[i], i == 3 || i == 5 ? FRONTA_ERANGE : 0);
            fronta_future_release(c[i]);
        }
        fronta_future_release(m);
        assert_int_equal(fronta_buffer_unpartition(b), 0);
        /* The parent carries the lowest failed chunk's failure. */
        int rc = fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, NULL);
        if (rc != FRONTA_ERANGE)
            fail_msg("acquire after a failed chunk: %s (%s)", fronta_err_name(rc),
                     fronta_last_error());
        /* An OUT access clears it; the failed chunks kept their contents. */
        int32_t *h;
        assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, (void **)&h), 0);
        for (int i = 0; i < 80; i++) {
            int want = (i / 10 == 3 || i / 10 == 5 || i % 10) ? i : -i;
            if (h[i] != want)
                fail_msg("round %d: v[%d] = %d, expected %d", round, i, h[i], want);
            h[i] = i;
        }
        assert_int_equal(fronta_buffer_release(b), 0);
    }
    assert_int_equal(fronta_buffer_destroy(b), 0);
    fronta_runtime_destroy(rt);
}

/* A map over whole buffers partitions them for itself (alike: the
 * automatic rule reads counts), and leaves them whole: the next access
 * follows every chunk. A buffer of another count is passed whole. */
static void map_whole(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev(ft_have_opencl() ? "all" : "cpu", 0);
    size_t sizes[] = {1, 1000, (size_t)3 << 17};
    for (size_t s = 0; s < 3; s++) {
        size_t n = sizes[s];
        int64_t *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        assert_non_null(x);
        assert_non_null(y);
        for (size_t i = 0; i < n; i++)
            x[i] = (int64_t)i * 7;
        fronta_buffer_t *bx, *by;
        assert_int_equal(fronta_buffer_wrap(rt, x, n, FRONTA_INT64, &bx), 0);
        assert_int_equal(fronta_buffer_wrap(rt, y, n, FRONTA_INT64, &by), 0);
        fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "add"),
                                .args = {FRONTA_IN(bx), FRONTA_IN(bx), FRONTA_OUT(by)}};
        fronta_future_t *m;
        assert_int_equal(fronta_submit_map(rt, &t, &m, NULL), 0);
        assert_int_equal(fronta_buffer_nchunks(bx), 0);
        assert_int_equal(fronta_buffer_nchunks(by), 0);
        int64_t *h;
        assert_int_equal(fronta_buffer_acquire(by, FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h), 0);
        for (size_t i = 0; i < n; i++)
            if (h[i] != (int64_t)i * 14)
                fail_msg("n %zu: y[%zu] = %lld", n, i, (long long)h[i]);
        assert_int_equal(fronta_buffer_release(by), 0);
        FT_EXPECT_OUTCOME(m, 0);
        fronta_future_release(m);
        assert_int_equal(fronta_buffer_destroy(bx), 0);
        assert_int_equal(fronta_buffer_destroy(by), 0);
        free(x);
        free(y);
    }
    fronta_runtime_destroy(rt);
}

/* Each chunk has its own random stream, fixed by the seed and the chunk:
 * the same numbers with 1 and 3 threads. */
static int rand_fill(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)na;
    uint64_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] = fronta_ctx_random(ctx);
    return 0;
}

static void streams_run(int threads, uint64_t *out, size_t n)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = threads, .seed = 42,
                           .devices = "cpu"};
    fronta_runtime_t *rt;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    fronta_param_t prm[] = {{.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT}};
    fronta_kernel_desc_t kd = {.size = sizeof kd, .name = "rand_fill", .params = prm,
                               .nparams = 1, .cpu = rand_fill};
    fronta_kernel_t *k;
    assert_int_equal(fronta_kernel_create(rt, &kd, &k), 0);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, out, n, FRONTA_INT64, &b), 0);
    fronta_partition_t p = nchunks(9);
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .args = {FRONTA_OUT(b)}};
    fronta_future_t *m;
    assert_int_equal(fronta_submit_map(rt, &t, &m, NULL), 0);
    FT_EXPECT_OUTCOME(m, 0);
    fronta_future_release(m);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    fronta_runtime_destroy(rt);
}

static void chunk_streams(void **state)
{
    (void)state;
    enum { N = 1000 };
    static uint64_t a[N], b[N];
    streams_run(1, a, N);
    streams_run(3, b, N);
    assert_memory_equal(a, b, sizeof a);
    for (int i = 1; i < N; i++)
        if (i % 112 != 0) /* not at a chunk's start: distinct streams, distinct values */
            assert_true(a[i] != a[i - 1]);
    assert_true(a[0] != a[112]); /* chunk 0 and chunk 1 start differently */
}

/* ---- inside a task: the demo's shape ---- */

typedef struct inside {
    fronta_buffer_t *b;
    int rc;
} inside;

static int split_inside(fronta_ctx_t *ctx, void *arg)
{
    inside *in;
    memcpy(&in, arg, sizeof in);
    fronta_runtime_t *rt = fronta_ctx_runtime(ctx);
    fronta_partition_t p = nchunks(4);
    int rc = fronta_buffer_partition(in->b, &p);
    fronta_future_t *m = NULL;
    if (!rc) {
        fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                                .args = {FRONTA_INOUT(in->b), FRONTA_F64(0.5)}};
        rc = fronta_submit_map(rt, &t, &m, NULL);
    }
    if (!rc)
        rc = fronta_buffer_unpartition(in->b);
    if (!rc && fronta_future_wait(m, FT_LIMIT) == 0) /* a worker waits by helping */
        rc = fronta_future_error(m, NULL);
    fronta_future_release(m);
    in->rc = rc;
    return rc;
}

static void from_a_task(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev("all", 0);
    enum { N = 4099 };
    static double v[N];
    for (int i = 0; i < N; i++)
        v[i] = i;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, v, N, FRONTA_DOUBLE, &b), 0);
    inside in = {.b = b, .rc = 99};
    inside *pin = &in;
    fronta_future_t *f;
    assert_int_equal(fronta_submit_fn(rt, split_inside, &pin, sizeof pin, &f), 0);
    FT_EXPECT_OUTCOME(f, 0);
    assert_int_equal(in.rc, 0);
    double *h;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h), 0);
    for (int i = 0; i < N; i++)
        assert_true(h[i] == 0.5 * i);
    assert_int_equal(fronta_buffer_release(b), 0);
    fronta_future_release(f);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    fronta_runtime_destroy(rt);
}

/* ---- shutdown and destroy ---- */

/* A partition left live at shutdown: the wrapped array gets the chunks'
 * results (some left on the device); destroy frees them. */
static void shutdown_live(void **state)
{
    (void)state;
    for (int zc = 0; zc >= -1; zc--) {
        fronta_runtime_t *rt = ft_runtime_dev("all", zc);
        enum { N = 3001 };
        static float v[N];
        for (int i = 0; i < N; i++)
            v[i] = (float)i;
        fronta_buffer_t *b;
        assert_int_equal(fronta_buffer_wrap(rt, v, N, FRONTA_FLOAT, &b), 0);
        fronta_partition_t p = nchunks(5);
        assert_int_equal(fronta_buffer_partition(b, &p), 0);
        fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                                .args = {FRONTA_INOUT(b), FRONTA_F32(3.0f)}};
        fronta_future_t *m;
        assert_int_equal(fronta_submit_map(rt, &t, &m, NULL), 0);
        fronta_future_release(m);
        assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT), 0);
        for (int i = 0; i < N; i++)
            if (v[i] != 3.0f * (float)i)
                fail_msg("zero_copy %d: v[%d] = %g after shutdown", zc, i, (double)v[i]);
        /* After shutdown the partition still holds: the parent is the
         * chunks' until unpartitioned, which then needs no task. */
        FT_EXPECT_RC(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, 0, NULL), FRONTA_EPARTITION);
        fronta_buffer_t *c1 = fronta_buffer_chunk(b, 1);
        float *h;
        assert_int_equal(fronta_buffer_acquire(c1, FRONTA_ACCESS_IN, 0, (void **)&h), 0);
        assert_true(h[0] == 3.0f * (float)info_of(c1).offset);
        assert_int_equal(fronta_buffer_release(c1), 0);
        assert_int_equal(fronta_buffer_unpartition(b), 0);
        FT_EXPECT_RC(fronta_buffer_acquire(c1, FRONTA_ACCESS_IN, 0, NULL), FRONTA_EPARTITION);
        assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, 0, (void **)&h), 0);
        assert_true(h == v && h[N - 1] == 3.0f * (float)(N - 1));
        assert_int_equal(fronta_buffer_release(b), 0);
        if (zc) /* the other time, destroy frees the buffer with the runtime */
            assert_int_equal(fronta_buffer_destroy(b), 0);
        assert_int_equal(fronta_runtime_destroy(rt), 0);
    }
}

/* ---- randomized cycles against a model ---- */

typedef struct cyc {
    fronta_runtime_t *rt;
    uint64_t seed;
    int64_t *model;
    size_t n;
} cyc;

/* One random cut of an n-element buffer. */
static fronta_partition_t random_cut(uint64_t *seed, size_t n, size_t *lens)
{
    fronta_partition_t p = {.size = sizeof p};
    switch (ft_rand(seed) % 4) {
    case 0:
        p.nchunks = 1 + ft_rand(seed) % (n < 40 ? n : 40);
        break;
    case 1:
        p.chunk_len = 1 + ft_rand(seed) % n;
        break;
    case 2: {
        size_t k = 1 + ft_rand(seed) % (n < 12 ? n : 12), left = n;
        for (size_t i = 0; i < k; i++) {
            size_t room = left - (k - 1 - i);
            lens[i] = i == k - 1 ? left : 1 + ft_rand(seed) % room;
            if (i < k - 1 && lens[i] > room)
                lens[i] = room;
            left -= lens[i];
        }
        p.lengths = lens;
        p.nlengths = k;
        break;
    }
    default:
        break; /* automatic */
    }
    return p;
}

static void cycles_run(const char *devices, int zc, uint64_t *seed)
{
    fronta_runtime_t *rt = ft_runtime_dev(devices, zc);
    size_t n = 1 + ft_rand(seed) % 5000;
    int64_t *v = calloc(n, sizeof *v), *model = calloc(n, sizeof *model);
    assert_non_null(v);
    assert_non_null(model);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, v, n, FRONTA_INT64, &b), 0);
    fronta_need_t needs[] = {FRONTA_NEED_ANY, FRONTA_NEED_CPU_POOL, FRONTA_NEED_OPENCL};
    int have_cl = ft_cl_device(rt, 0) >= 0;
    for (int step = 0; step < 12; step++) {
        size_t lens[12];
        fronta_partition_t p = random_cut(seed, n, lens);
        assert_int_equal(fronta_buffer_partition(b, &p), 0);
        int ops = (int)(ft_rand(seed) % 4);
        for (int o = 0; o < ops; o++) {
            int64_t a = (int64_t)(ft_rand(seed) % 7) - 3;
            fronta_task_desc_t t = {
                .size = sizeof t, .kernel = fronta_kernel_builtin(rt, o % 2 ? "scale" : "fill"),
                .args = {FRONTA_INOUT(b), FRONTA_I64(a)},
                .needs = {.device = needs[ft_rand(seed) % (have_cl ? 3 : 2)]}};
            if (o % 2 == 0)
                t.args[0] = FRONTA_OUT(b);
            fronta_future_t *m;
            assert_int_equal(fronta_submit_map(rt, &t, &m, NULL), 0);
            fronta_future_release(m);
            for (size_t i = 0; i < n; i++)
                model[i] = o % 2 ? model[i] * a : a;
        }
        /* A chunk written directly by the host, now and then. */
        if (ft_rand(seed) % 3 == 0) {
            size_t ci = ft_rand(seed) % fronta_buffer_nchunks(b);
            fronta_buffer_t *c = fronta_buffer_chunk(b, ci);
            fronta_chunk_info_t info = info_of(c);
            int64_t *h;
            assert_int_equal(fronta_buffer_acquire(c, FRONTA_ACCESS_INOUT, FT_LIMIT,
                                                   (void **)&h), 0);
            for (size_t i = 0; i < fronta_buffer_count(c); i++) {
                h[i] += 1;
                model[info.offset + i] += 1;
            }
            assert_int_equal(fronta_buffer_release(c), 0);
        }
        assert_int_equal(fronta_buffer_unpartition(b), 0);
        if (ft_rand(seed) % 2) { /* a whole-buffer task between the cycles */
            fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                                    .args = {FRONTA_INOUT(b), FRONTA_I64(-1)}};
            fronta_future_t *f;
            assert_int_equal(fronta_submit(rt, &t, &f), 0);
            fronta_future_release(f);
            for (size_t i = 0; i < n; i++)
                model[i] = -model[i];
        }
    }
    int64_t *h;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h), 0);
    for (size_t i = 0; i < n; i++)
        if (h[i] != model[i])
            fail_msg("%s zero_copy %d, n %zu: element %zu is %lld, expected %lld", devices, zc,
                     n, i, (long long)h[i], (long long)model[i]);
    assert_int_equal(fronta_buffer_release(b), 0);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    fronta_runtime_destroy(rt);
    free(v);
    free(model);
}

static void cycles(void **state)
{
    (void)state;
    uint64_t seed = ft_seed("partition cycles");
    int have_cl = ft_have_opencl();
    size_t rounds = ft_scaled(8, 2);
    for (size_t r = 0; r < rounds; r++) {
        cycles_run("cpu", 0, &seed);
        if (have_cl) {
            cycles_run("all", 0, &seed);
            cycles_run("all", -1, &seed);
        }
    }
}

/* Partition, map, unpartition from many threads on their own buffers at
 * once, racing against each other's tasks in one runtime. */
typedef struct racer {
    fronta_runtime_t *rt;
    uint64_t seed;
    atomic_int *bad;
} racer;

static void *race_thread(void *arg)
{
    racer *r = arg;
    enum { N = 777 };
    int32_t v[N];
    for (int i = 0; i < N; i++)
        v[i] = i;
    fronta_buffer_t *b;
    if (fronta_buffer_wrap(r->rt, v, N, FRONTA_INT32, &b)) {
        atomic_fetch_add(r->bad, 1);
        return NULL;
    }
    int64_t mult = 1;
    for (int it = 0; it < 30; it++) {
        fronta_partition_t p = nchunks(1 + ft_rand(&r->seed) % 9);
        fronta_task_desc_t t = {.size = sizeof t,
                                .kernel = fronta_kernel_builtin(r->rt, "scale"),
                                .args = {FRONTA_INOUT(b), FRONTA_I32(-1)}};
        fronta_future_t *m = NULL;
        if (fronta_buffer_partition(b, &p) || fronta_submit_map(r->rt, &t, &m, NULL) ||
            fronta_buffer_unpartition(b))
            atomic_fetch_add(r->bad, 1);
        fronta_future_release(m);
        mult = -mult;
    }
    int32_t *h;
    if (fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h) == 0) {
        for (int i = 0; i < N; i++)
            if (h[i] != (int32_t)(mult * i))
                atomic_fetch_add(r->bad, 1);
        fronta_buffer_release(b);
    } else {
        atomic_fetch_add(r->bad, 1);
    }
    if (fronta_buffer_destroy(b))
        atomic_fetch_add(r->bad, 1);
    return NULL;
}

static void threads(void **state)
{
    (void)state;
    fronta_runtime_t *rt = ft_runtime_dev(ft_have_opencl() ? "all" : "cpu", 0);
    uint64_t seed = ft_seed("partition threads");
    enum { T = 6 };
    pthread_t th[T];
    racer r[T];
    atomic_int bad;
    atomic_init(&bad, 0);
    for (int i = 0; i < T; i++) {
        r[i] = (racer){.rt = rt, .seed = seed + (uint64_t)i, .bad = &bad};
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&bad), 0);
    fronta_runtime_destroy(rt);
}


/* ---- co-execution ---- */

static fronta_runtime_t *coexec_runtime(int coexec)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "all",
                           .coexec = coexec};
    fronta_runtime_t *rt;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    return rt;
}

/* A map that may run anywhere spreads over the pool and the OpenCL
 * device: the first chunks probe each of them (two in flight each), so
 * with eight chunks both devices run some, whatever their speeds. With
 * coexec off, each chunk is placed at submit. */
static void coexec_spreads(void **state)
{
    (void)state;
    if (!ft_have_opencl())
        skip();
    for (int on = 1; on >= 0; on--) {
        fronta_runtime_t *rt = coexec_runtime(on ? 0 : -1);
        enum { N = 80000 };
        static float v[N];
        for (int i = 0; i < N; i++)
            v[i] = (float)i;
        fronta_buffer_t *b;
        assert_int_equal(fronta_buffer_wrap(rt, v, N, FRONTA_FLOAT, &b), 0);
        fronta_partition_t p = nchunks(8);
        assert_int_equal(fronta_buffer_partition(b, &p), 0);
        fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                                .args = {FRONTA_INOUT(b), FRONTA_F32(2.0f)}};
        fronta_future_t *m, *c[8];
        for (int rep = 0; rep < 3; rep++) {
            assert_int_equal(fronta_submit_map(rt, &t, &m, c), 0);
            FT_EXPECT_OUTCOME(m, 0);
            int seen[2] = {0, 0};
            for (int i = 0; i < 8; i++) {
                int d = fronta_future_device(c[i]);
                assert_true(d >= 0 && d < fronta_device_count(rt));
                seen[d > 0]++;
                fronta_future_release(c[i]);
            }
            if (on && (!seen[0] || !seen[1]))
                fail_msg("co-executed map: %d chunks on the pool, %d on OpenCL", seen[0],
                         seen[1]);
            print_message("[ info     ] coexec %s: %d chunks on the pool, %d on OpenCL\n",
                          on ? "on" : "off", seen[0], seen[1]);
            fronta_future_release(m);
        }
        assert_int_equal(fronta_buffer_destroy(b), 0);
        for (int i = 0; i < N; i++)
            if (v[i] != 8.0f * (float)i)
                fail_msg("coexec %d: v[%d] = %g", on, i, (double)v[i]);
        fronta_runtime_destroy(rt);
    }
}

/* Held chunks end whatever happens to them: cancelled before their
 * release, failed by an input, or left at a cancelling shutdown. */
static void coexec_cancel(void **state)
{
    (void)state;
    if (!ft_have_opencl())
        skip();
    uint64_t seed = ft_seed("coexec cancel");
    for (int it = 0; it < 20; it++) {
        fronta_runtime_t *rt = coexec_runtime(0);
        enum { N = 4096 };
        static int32_t v[N];
        for (int i = 0; i < N; i++)
            v[i] = i;
        fronta_buffer_t *b;
        assert_int_equal(fronta_buffer_wrap(rt, v, N, FRONTA_INT32, &b), 0);
        fronta_partition_t p = nchunks(16);
        assert_int_equal(fronta_buffer_partition(b, &p), 0);
        fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(rt, "scale"),
                                .args = {FRONTA_INOUT(b), FRONTA_I32(3)}};
        fronta_future_t *m, *c[16];
        assert_int_equal(fronta_submit_map(rt, &t, &m, c), 0);
        int cancelled[16] = {0};
        for (int i = 0; i < 16; i++)
            if (ft_rand(&seed) % 3 == 0)
                cancelled[i] = fronta_future_cancel(c[i]) == 0;
        if (it % 4 == 3)
            assert_int_equal(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_CANCEL_PENDING), 0);
        assert_int_equal(fronta_future_wait(m, FT_LIMIT), 0);
        int first = -1;
        for (int i = 0; i < 16; i++) {
            assert_int_equal(fronta_future_wait(c[i], FT_LIMIT), 0);
            fronta_status_t st = fronta_future_status(c[i]);
            if (cancelled[i])
                assert_int_equal(st, FRONTA_CANCELLED);
            if (st != FRONTA_FINISHED && first < 0)
                first = i;
        }
        int want = first < 0 ? 0 : fronta_future_error(c[first], NULL);
        FT_EXPECT_OUTCOME(m, want);
        for (int i = 0; i < 16; i++)
            fronta_future_release(c[i]);
        fronta_future_release(m);
        assert_int_equal(fronta_buffer_destroy(b), 0);
        /* Each chunk was scaled or left as it was, never half done. */
        for (int i = 0; i < N; i++)
            assert_true(v[i] == i || v[i] == 3 * i);
        fronta_runtime_destroy(rt);
    }
}

int main(void)
{
    ft_cache_env();
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ways),
        cmocka_unit_test(automatic),
        cmocka_unit_test(tiles),
        cmocka_unit_test(errors),
        cmocka_unit_test(order_pool),
        cmocka_unit_test(order_opencl),
        cmocka_unit_test(destroy_idle),
        cmocka_unit_test(map_failure),
        cmocka_unit_test(map_whole),
        cmocka_unit_test(chunk_streams),
        cmocka_unit_test(from_a_task),
        cmocka_unit_test(shutdown_live),
        cmocka_unit_test(cycles),
        cmocka_unit_test(threads),
        cmocka_unit_test(coexec_spreads),
        cmocka_unit_test(coexec_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
