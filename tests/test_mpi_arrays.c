/* Tests of distributed arrays: 1-D 3-point and 2-D 5-point stencils over
 * chunks and tiles whose halos travel only through task accesses, and
 * the talk's demo
 * (divisible by 3, 5 and 7) over chunks owned round robin, both
 * bit-exact against serial on rank 0. */
#include "test_mpi.h"

/* ---- a 1-D stencil whose halo exchange is only task accesses ---- */

/* dst[i] = left + 2 mid + right of src around i, where the chunk's edges
 * read its neighbours' (args 1 and 3; flags bit 0 / bit 1 when they
 * exist, else the edge reads 0). Unsigned: wrapping is defined, so the
 * serial model matches bit for bit. */
static int stencil_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx, (void)na;
    uint64_t *d = a[0].ptr;
    const uint64_t *l = a[1].ptr, *m = a[2].ptr, *r = a[3].ptr;
    int64_t flags = a[4].v.i64;
    for (size_t i = 0; i < n; i++) {
        uint64_t lv = i ? m[i - 1] : (flags & 1) ? l[a[1].count - 1] : 0;
        uint64_t rv = i + 1 < n ? m[i + 1] : (flags & 2) ? r[0] : 0;
        d[i] = lv + 2u * m[i] + rv;
    }
    return 0;
}

static fronta_kernel_t *stencil_kernel(fronta_runtime_t *rt)
{
    const fronta_param_t p[5] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN,
         .count = FRONTA_COUNT_ANY}, /* neighbours: chunks differ by one element */
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN,
         .count = FRONTA_COUNT_ANY},
        {.kind = FRONTA_ARG_I64},
    };
    fronta_kernel_desc_t kd = {.name = "stencil3", .params = p, .nparams = 5,
                               .cpu = stencil_cpu};
    fronta_kernel_t *k = NULL;
    FM_REQUIRE(fronta_kernel_create(rt, &kd, &k) == 0);
    return k;
}

#define SN 1001 /* elements */
#define SK 8    /* chunks */
#define STEPS 12

static void stencil_model(uint64_t *a, uint64_t *b)
{
    for (int s = 0; s < STEPS; s++) {
        for (size_t i = 0; i < SN; i++)
            b[i] = (i ? a[i - 1] : 0) + 2u * a[i] + (i + 1 < SN ? a[i + 1] : 0);
        memcpy(a, b, sizeof(uint64_t) * SN);
    }
}

/* One step: chunk j of dst from chunks j-1, j, j+1 of src, on dst_j's
 * owner; the neighbours' chunks travel when another rank owns them. */
static void stencil_step(env *e, fronta_kernel_t *k, fronta_buffer_t *dst, fronta_buffer_t *src)
{
    for (size_t j = 0; j < SK; j++) {
        fronta_buffer_t *mid = fronta_buffer_chunk(src, j);
        fronta_buffer_t *l = j ? fronta_buffer_chunk(src, j - 1) : mid;
        fronta_buffer_t *r = j + 1 < SK ? fronta_buffer_chunk(src, j + 1) : mid;
        int64_t flags = (j ? 1 : 0) | (j + 1 < SK ? 2 : 0);
        fronta_task_desc_t td = {.size = sizeof td, .kernel = k, .nargs = 5,
                                 .args = {FRONTA_OUT(fronta_buffer_chunk(dst, j)),
                                          FRONTA_IN(l), FRONTA_IN(mid), FRONTA_IN(r),
                                          FRONTA_I64(flags)}};
        int rc = fronta_mpi_submit(e->m, FRONTA_MPI_OWNER, &td, NULL);
        if (rc)
            fprintf(stderr, "rank %d: step chunk %zu: %s (%s)\n", fm_rank, j, fronta_err_name(rc),
                    fronta_last_error());
        FM_REQUIRE(rc == 0);
    }
}

/* Both stencils' end: the two arrays whole again, the last one's latest
 * version fetched to rank 0 and compared there with the serial model
 * `want` (n elements); every rank gets the count of wrong elements. */
static long result_on_rank0(env *e, fronta_buffer_t *ba, fronta_buffer_t *bb,
                            fronta_buffer_t *last, const uint64_t *want, size_t n)
{
    FM_REQUIRE(fronta_mpi_buffer_unpartition(e->m, ba) == 0);
    FM_REQUIRE(fronta_mpi_buffer_unpartition(e->m, bb) == 0);
    FM_REQUIRE(fronta_mpi_buffer_fetch(e->m, last, 0) == 0);
    FM_REQUIRE(fronta_mpi_wait_all(e->m, FT_LIMIT) == 0);
    long bad = 0;
    if (fm_rank == 0) {
        void *host = NULL;
        FM_REQUIRE(fronta_buffer_acquire(last, FRONTA_ACCESS_IN, FT_LIMIT, &host) == 0);
        for (size_t i = 0; i < n; i++)
            bad += ((uint64_t *)host)[i] != want[i];
        FM_REQUIRE(fronta_buffer_release(last) == 0);
    }
    MPI_Bcast(&bad, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    return bad;
}

static void stencil_run(fronta_mpi_dist_kind_t kind)
{
    static uint64_t a[SN], b[SN], ma[SN], mb[SN];
    for (size_t i = 0; i < SN; i++) {
        /* Only the owner's contents count: the others start wrong. */
        a[i] = fm_rank == 0 ? (uint64_t)(i * 7 % 13) : 0xdeadu;
        b[i] = 0xbeefu;
        ma[i] = (uint64_t)(i * 7 % 13);
    }
    env e;
    env_up(&e);
    fronta_kernel_t *k = stencil_kernel(e.rt);
    fronta_buffer_t *ba, *bb;
    FM_REQUIRE(fronta_buffer_wrap(e.rt, a, SN, FRONTA_INT64, &ba) == 0);
    FM_REQUIRE(fronta_buffer_wrap(e.rt, b, SN, FRONTA_INT64, &bb) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, ba, 0) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, bb, 0) == 0);
    fronta_partition_t how = {.size = sizeof how, .nchunks = SK};
    fronta_mpi_dist_t dist = {.size = sizeof dist, .kind = kind};
    FM_REQUIRE(fronta_mpi_buffer_partition(e.m, ba, &how, &dist) == 0);
    FM_REQUIRE(fronta_mpi_buffer_partition(e.m, bb, &how, &dist) == 0);
    for (int s = 0; s < STEPS; s++)
        stencil_step(&e, k, s % 2 ? ba : bb, s % 2 ? bb : ba);
    if (fm_rank == 0)
        stencil_model(ma, mb);
    long bad = result_on_rank0(&e, ba, bb, STEPS % 2 ? bb : ba, ma, SN);
    uint64_t sends = sum_all(stats(&e).sends);
    env_down(&e);
    if (fm_rank == 0)
        printf("stencil dist %d: %d steps, %llu messages, %ld wrong elements\n", (int)kind,
               STEPS, (unsigned long long)sends, bad);
    assert_int_equal(bad, 0);
    if (fm_size > 1)
        assert_true(sends > 0); /* halos did cross ranks */
}

void stencil_1d(void **state)
{
    (void)state;
    stencil_run(FRONTA_MPI_DIST_BLOCK);
    stencil_run(FRONTA_MPI_DIST_CYCLIC);
}

/* ---- a 2-D 5-point stencil over tiles ---- */

#define SR 37 /* rows: 5 tile rows of 8, the last of 5 */
#define SC 45 /* cols: 5 tile cols of 10, the last of 5 */
#define TR 8
#define TCOLS 10
#define NTR ((SR + TR - 1) / TR)
#define NTC ((SC + TCOLS - 1) / TCOLS)
#define STEPS2 7

/* d = 2 c + north + south + west + east around each element, zero beyond
 * the matrix. Tiles: args 1..5 are the centre, north, south, west and
 * east tiles (an absent neighbour is the centre again, flags say which
 * exist); the scalars give the shapes a neighbour's edge is read with. */
enum { HAS_N = 1, HAS_S = 2, HAS_W = 4, HAS_E = 8 };

static int stencil5_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx, (void)na, (void)n;
    uint64_t *d = a[0].ptr;
    const uint64_t *c = a[1].ptr, *no = a[2].ptr, *so = a[3].ptr, *we = a[4].ptr,
                   *ea = a[5].ptr;
    size_t rows = (size_t)a[6].v.i64, cols = (size_t)a[7].v.i64;
    size_t n_rows = (size_t)a[8].v.i64, w_cols = (size_t)a[9].v.i64,
           e_cols = (size_t)a[10].v.i64;
    int64_t fl = a[11].v.i64;
    for (size_t r = 0; r < rows; r++)
        for (size_t q = 0; q < cols; q++) {
            uint64_t up = r ? c[(r - 1) * cols + q] : (fl & HAS_N) ? no[(n_rows - 1) * cols + q] : 0;
            uint64_t dn = r + 1 < rows ? c[(r + 1) * cols + q] : (fl & HAS_S) ? so[q] : 0;
            uint64_t lf = q ? c[r * cols + q - 1] : (fl & HAS_W) ? we[r * w_cols + w_cols - 1] : 0;
            uint64_t rt = q + 1 < cols ? c[r * cols + q + 1] : (fl & HAS_E) ? ea[r * e_cols] : 0;
            d[r * cols + q] = 2u * c[r * cols + q] + up + dn + lf + rt;
        }
    return 0;
}

static fronta_kernel_t *stencil5_kernel(fronta_runtime_t *rt)
{
    fronta_param_t p[12] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
    };
    for (int i = 2; i < 6; i++) /* neighbours: edge tiles differ in shape */
        p[i] = (fronta_param_t){.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64,
                                .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_ANY};
    for (int i = 6; i < 12; i++)
        p[i] = (fronta_param_t){.kind = FRONTA_ARG_I64};
    fronta_kernel_desc_t kd = {.name = "stencil5", .params = p, .nparams = 12,
                               .cpu = stencil5_cpu};
    fronta_kernel_t *k = NULL;
    FM_REQUIRE(fronta_kernel_create(rt, &kd, &k) == 0);
    return k;
}

static void stencil5_model(uint64_t *a, uint64_t *b)
{
    for (int s = 0; s < STEPS2; s++) {
        for (size_t r = 0; r < SR; r++)
            for (size_t q = 0; q < SC; q++)
                b[r * SC + q] = 2u * a[r * SC + q] + (r ? a[(r - 1) * SC + q] : 0) +
                                (r + 1 < SR ? a[(r + 1) * SC + q] : 0) +
                                (q ? a[r * SC + q - 1] : 0) + (q + 1 < SC ? a[r * SC + q + 1] : 0);
        memcpy(a, b, sizeof(uint64_t) * SR * SC);
    }
}

static fronta_buffer_t *tile(fronta_buffer_t *b, size_t tr, size_t tc)
{
    return fronta_buffer_chunk(b, tr * NTC + tc);
}

static size_t tile_dim(fronta_buffer_t *t, int cols)
{
    fronta_chunk_info_t ci = {.size = sizeof ci};
    FM_REQUIRE(fronta_buffer_chunk_info(t, &ci) == 0);
    return cols ? ci.cols : ci.rows;
}

static void stencil5_step(env *e, fronta_kernel_t *k, fronta_buffer_t *dst, fronta_buffer_t *src)
{
    for (size_t tr = 0; tr < NTR; tr++)
        for (size_t tc = 0; tc < NTC; tc++) {
            fronta_buffer_t *c = tile(src, tr, tc);
            int64_t fl = (tr ? HAS_N : 0) | (tr + 1 < NTR ? HAS_S : 0) | (tc ? HAS_W : 0) |
                         (tc + 1 < NTC ? HAS_E : 0);
            fronta_buffer_t *no = tr ? tile(src, tr - 1, tc) : c;
            fronta_buffer_t *so = tr + 1 < NTR ? tile(src, tr + 1, tc) : c;
            fronta_buffer_t *we = tc ? tile(src, tr, tc - 1) : c;
            fronta_buffer_t *ea = tc + 1 < NTC ? tile(src, tr, tc + 1) : c;
            fronta_task_desc_t td = {
                .size = sizeof td, .kernel = k, .nargs = 12,
                .args = {FRONTA_OUT(tile(dst, tr, tc)), FRONTA_IN(c), FRONTA_IN(no),
                         FRONTA_IN(so), FRONTA_IN(we), FRONTA_IN(ea),
                         FRONTA_I64((int64_t)tile_dim(c, 0)), FRONTA_I64((int64_t)tile_dim(c, 1)),
                         FRONTA_I64((int64_t)tile_dim(no, 0)),
                         FRONTA_I64((int64_t)tile_dim(we, 1)),
                         FRONTA_I64((int64_t)tile_dim(ea, 1)), FRONTA_I64(fl)}};
            FM_REQUIRE(fronta_mpi_submit(e->m, FRONTA_MPI_OWNER, &td, NULL) == 0);
        }
}

static void stencil2d_run(fronta_mpi_dist_kind_t kind)
{
    static uint64_t a[SR * SC], b[SR * SC], ma[SR * SC], mb[SR * SC];
    for (size_t i = 0; i < SR * SC; i++) {
        ma[i] = (uint64_t)(i * 2654435761u % 1009u);
        a[i] = fm_rank == 0 ? ma[i] : 0xdeadu; /* only the owner's contents count */
        b[i] = 0xbeefu;
    }
    env e;
    env_up(&e);
    fronta_kernel_t *k = stencil5_kernel(e.rt);
    fronta_buffer_t *ba, *bb;
    FM_REQUIRE(fronta_buffer_wrap(e.rt, a, SR * SC, FRONTA_INT64, &ba) == 0);
    FM_REQUIRE(fronta_buffer_wrap(e.rt, b, SR * SC, FRONTA_INT64, &bb) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, ba, 0) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, bb, 0) == 0);
    fronta_partition_t how = {.size = sizeof how, .rows = SR, .cols = SC, .tile_rows = TR,
                              .tile_cols = TCOLS};
    fronta_mpi_dist_t dist = {.size = sizeof dist, .kind = kind};
    FM_REQUIRE(fronta_mpi_buffer_partition(e.m, ba, &how, &dist) == 0);
    FM_REQUIRE(fronta_mpi_buffer_partition(e.m, bb, &how, &dist) == 0);
    FM_REQUIRE(fronta_buffer_nchunks(ba) == NTR * NTC);
    /* The owners spread: every rank owns some tile (25 tiles, <= 4 ranks). */
    int mine = 0;
    for (size_t i = 0; i < NTR * NTC; i++)
        mine += fronta_mpi_buffer_owner(e.m, fronta_buffer_chunk(ba, i)) == fm_rank;
    for (int s = 0; s < STEPS2; s++)
        stencil5_step(&e, k, s % 2 ? ba : bb, s % 2 ? bb : ba);
    if (fm_rank == 0)
        stencil5_model(ma, mb);
    long bad = result_on_rank0(&e, ba, bb, STEPS2 % 2 ? bb : ba, ma, SR * SC);
    fronta_mpi_stats_t st = stats(&e);
    uint64_t sends = sum_all(st.sends), failed = sum_all(st.transfers_failed);
    env_down(&e);
    if (fm_rank == 0)
        printf("stencil 2-D dist %d: %d steps over %d x %d tiles, %llu messages, %ld wrong\n",
               (int)kind, STEPS2, NTR, NTC, (unsigned long long)sends, bad);
    assert_int_equal(bad, 0);
    assert_int_equal(failed, 0);
    assert_true(mine > 0);
    if (fm_size > 1)
        assert_true(sends > 0); /* halos did cross ranks */
}

void stencil_2d(void **state)
{
    (void)state;
    stencil2d_run(FRONTA_MPI_DIST_BLOCK_CYCLIC_2D);
    stencil2d_run(FRONTA_MPI_DIST_BLOCK);
}

/* ---- the talk's demo, distributed ---- */

#define DN ((1u << 16) + 4093u) /* elements: chunks of unequal length */
#define DK 12                   /* chunks */

/* x's chunks round robin (the data); the three masks' in contiguous
 * runs, so that each check reads x's chunk from another rank; the
 * combined mask, the kept elements and the counts round robin again.
 * Per chunk: divisible_by 3, 5, 7, two logical_and, then the bundled
 * compact of that chunk (its kept elements and their count). The
 * whole-array fronta_compact has no MPI form: the chunks' kept elements
 * are concatenated on rank 0 after fetching them. */
void demo_divisible(void **state)
{
    (void)state;
    static int64_t x[DN], y[DN], cnt[DK], model[DN];
    static uint8_t mk[5][DN];
    for (size_t i = 0; i < DN; i++) {
        int64_t v = (int64_t)((i * 2654435761u) % 1000003u);
        x[i] = fm_rank == 0 ? v : -1;
        y[i] = -2;
    }
    env e;
    env_up(&e);
    fronta_buffer_t *bx, *by, *bc, *bm[5];
    FM_REQUIRE(fronta_buffer_wrap(e.rt, x, DN, FRONTA_INT64, &bx) == 0);
    FM_REQUIRE(fronta_buffer_wrap(e.rt, y, DN, FRONTA_INT64, &by) == 0);
    FM_REQUIRE(fronta_buffer_wrap(e.rt, cnt, DK, FRONTA_INT64, &bc) == 0);
    fronta_partition_t how = {.size = sizeof how, .nchunks = DK};
    fronta_mpi_dist_t cyc = {.size = sizeof cyc, .kind = FRONTA_MPI_DIST_CYCLIC};
    fronta_mpi_dist_t blk = {.size = sizeof blk, .kind = FRONTA_MPI_DIST_BLOCK};
    fronta_buffer_t *whole[3] = {bx, by, bc};
    for (int j = 0; j < 3; j++) {
        FM_REQUIRE(fronta_mpi_buffer_register(e.m, whole[j], 0) == 0);
        FM_REQUIRE(fronta_mpi_buffer_partition(e.m, whole[j], &how, &cyc) == 0);
    }
    for (int j = 0; j < 5; j++) {
        FM_REQUIRE(fronta_buffer_wrap(e.rt, mk[j], DN, FRONTA_UINT8, &bm[j]) == 0);
        FM_REQUIRE(fronta_mpi_buffer_register(e.m, bm[j], 0) == 0);
        FM_REQUIRE(fronta_mpi_buffer_partition(e.m, bm[j], &how, j < 3 ? &blk : &cyc) == 0);
    }
    fronta_kernel_t *div = fronta_kernel_builtin(e.rt, "divisible_by");
    fronta_kernel_t *land = fronta_kernel_builtin(e.rt, "logical_and");
    fronta_kernel_t *cmp = fronta_kernel_builtin(e.rt, "compact");
    FM_REQUIRE(div && land && cmp);
    static const int64_t divs[3] = {3, 5, 7};
    size_t off[DK], len[DK];
    fronta_future_t *done[DK];
#define CH(b, i) fronta_buffer_chunk((b), (i))
    for (size_t i = 0; i < DK; i++) {
        fronta_chunk_info_t ci = {.size = sizeof ci};
        FM_REQUIRE(fronta_buffer_chunk_info(CH(by, i), &ci) == 0);
        off[i] = ci.offset;
        len[i] = fronta_buffer_count(CH(by, i));
        for (int d = 0; d < 3; d++) {
            fronta_task_desc_t t = {.size = sizeof t, .kernel = div, .nargs = 3,
                                    .args = {FRONTA_IN(CH(bx, i)), FRONTA_I64(divs[d]),
                                             FRONTA_OUT(CH(bm[d], i))}};
            FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &t, NULL) == 0);
        }
        fronta_task_desc_t a1 = {.size = sizeof a1, .kernel = land, .nargs = 3,
                                 .args = {FRONTA_IN(CH(bm[0], i)), FRONTA_IN(CH(bm[1], i)),
                                          FRONTA_OUT(CH(bm[3], i))}};
        FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &a1, NULL) == 0);
        fronta_task_desc_t a2 = {.size = sizeof a2, .kernel = land, .nargs = 3,
                                 .args = {FRONTA_IN(CH(bm[3], i)), FRONTA_IN(CH(bm[2], i)),
                                          FRONTA_OUT(CH(bm[4], i))}};
        FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &a2, NULL) == 0);
        fronta_task_desc_t c = {.size = sizeof c, .kernel = cmp, .nargs = 4,
                                .args = {FRONTA_IN(CH(bx, i)), FRONTA_IN(CH(bm[4], i)),
                                         FRONTA_OUT(CH(by, i)), FRONTA_OUT(CH(bc, i))}};
        FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &c, &done[i]) == 0);
    }
#undef CH
    /* Every rank sees every chunk's compaction finish. */
    size_t nd = 0;
    FM_REQUIRE(fronta_wait(done, DK, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd) == 0 && nd == DK);
    long bad = 0;
    for (size_t i = 0; i < DK; i++) {
        bad += fronta_future_status(done[i]) != FRONTA_FINISHED;
        fronta_future_release(done[i]);
    }
    FM_REQUIRE(fronta_mpi_buffer_unpartition(e.m, by) == 0);
    FM_REQUIRE(fronta_mpi_buffer_unpartition(e.m, bc) == 0);
    FM_REQUIRE(fronta_mpi_wait_all(e.m, FT_LIMIT) == 0);
    size_t kept = 0, nwant = 0;
    if (fm_rank == 0) {
        for (size_t i = 0; i < DN; i++) {
            int64_t v = (int64_t)((i * 2654435761u) % 1000003u);
            if (v % 3 == 0 && v % 5 == 0 && v % 7 == 0)
                model[nwant++] = v;
        }
        void *hy = NULL, *hc = NULL;
        FM_REQUIRE(fronta_buffer_acquire(by, FRONTA_ACCESS_IN, FT_LIMIT, &hy) == 0);
        FM_REQUIRE(fronta_buffer_acquire(bc, FRONTA_ACCESS_IN, FT_LIMIT, &hc) == 0);
        const int64_t *ys = hy, *cs = hc;
        for (size_t i = 0; i < DK; i++) { /* concatenate each chunk's kept elements */
            FM_REQUIRE(cs[i] >= 0 && (size_t)cs[i] <= len[i]);
            for (size_t j = 0; j < (size_t)cs[i]; j++, kept++)
                bad += kept >= nwant || ys[off[i] + j] != model[kept];
        }
        FM_REQUIRE(fronta_buffer_release(by) == 0);
        FM_REQUIRE(fronta_buffer_release(bc) == 0);
        bad += kept != nwant;
    }
    MPI_Bcast(&bad, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    uint64_t sends = sum_all(stats(&e).sends);
    for (int j = 0; j < 5; j++)
        FM_REQUIRE(fronta_mpi_buffer_unpartition(e.m, bm[j]) == 0);
    FM_REQUIRE(fronta_mpi_buffer_unpartition(e.m, bx) == 0);
    env_down(&e);
    if (fm_rank == 0)
        printf("demo: %u elements in %d chunks, %zu kept, %llu messages, %ld wrong\n", DN, DK,
               kept, (unsigned long long)sends, bad);
    assert_int_equal(bad, 0);
    if (fm_size > 1)
        assert_true(sends > 0);
}
