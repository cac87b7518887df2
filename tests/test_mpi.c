/* Tests of libfronta_mpi under mpirun: random DAGs over distributed
 * buffers and chunks against a serial model on rank 0, transfers once per
 * version, failures across ranks, and the calls' checks. */
#include "test_mpi.h"

int fm_rank, fm_size;

#define L 64     /* elements of every whole buffer and of every chunk */
#define NB 6     /* whole buffers of a DAG */
#define NT 80    /* tasks of a DAG */

/* ---- the kernels: elementwise, so that aliasing is harmless ---- */

static uint64_t mix_inout_1(uint64_t d, uint64_t a, uint64_t b, uint64_t k)
{
    return d * 3u + (a ^ (b + k));
}

static uint64_t mix_out_1(uint64_t a, uint64_t b, uint64_t k)
{
    return (a * 5u) ^ (b + k * 7u);
}

static int mix_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n, int inout)
{
    (void)ctx, (void)nargs;
    int64_t *d = args[0].ptr;
    const int64_t *a = args[1].ptr, *b = args[2].ptr;
    uint64_t k = (uint64_t)args[3].v.i64;
    for (size_t i = 0; i < n; i++)
        d[i] = (int64_t)(inout ? mix_inout_1((uint64_t)d[i], (uint64_t)a[i], (uint64_t)b[i], k)
                               : mix_out_1((uint64_t)a[i], (uint64_t)b[i], k));
    return 0;
}

static int mix_inout_cpu(fronta_ctx_t *c, const fronta_karg_t *a, size_t na, size_t n)
{
    return mix_cpu(c, a, na, n, 1);
}

static int mix_out_cpu(fronta_ctx_t *c, const fronta_karg_t *a, size_t na, size_t n)
{
    return mix_cpu(c, a, na, n, 0);
}

static int fail_cpu(fronta_ctx_t *c, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a, (void)na, (void)n;
    return fronta_ctx_fail(c, FRONTA_ETASK, "failed on purpose");
}

static fronta_kernel_t *kernel(fronta_runtime_t *rt, const char *name, fronta_cpu_kernel_fn fn,
                               fronta_access_t dst)
{
    const fronta_param_t p[4] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = dst},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
        {.kind = FRONTA_ARG_I64},
    };
    fronta_kernel_desc_t kd = {.name = name, .params = p, .nparams = 4, .cpu = fn};
    fronta_kernel_t *k = NULL;
    FM_REQUIRE(fronta_kernel_create(rt, &kd, &k) == 0);
    return k;
}

/* ---- a rank's runtime, attached ---- */

void env_up(env *e)
{
    /* One pool thread and no OpenCL device per rank: up to 4 ranks share
     * this machine's 2 cores. */
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "cpu"};
    FM_REQUIRE(fronta_runtime_create(&cfg, &e->rt) == 0);
    FM_REQUIRE(fronta_mpi_attach(e->rt, MPI_COMM_WORLD, &e->m) == 0);
    FM_REQUIRE(fronta_mpi_rank(e->m) == fm_rank && fronta_mpi_size(e->m) == fm_size);
    e->inout = kernel(e->rt, "mix_inout", mix_inout_cpu, FRONTA_ACCESS_INOUT);
    e->out = kernel(e->rt, "mix_out", mix_out_cpu, FRONTA_ACCESS_OUT);
    e->fail = kernel(e->rt, "fail", fail_cpu, FRONTA_ACCESS_OUT);
}

void env_down(env *e)
{
    FM_REQUIRE(fronta_mpi_wait_all(e->m, FT_LIMIT) == 0);
    FM_REQUIRE(fronta_mpi_detach(e->m) == 0);
    FM_REQUIRE(fronta_runtime_destroy(e->rt) == 0);
}

fronta_mpi_stats_t stats(env *e)
{
    fronta_mpi_stats_t s = {.size = sizeof s};
    FM_REQUIRE(fronta_mpi_stats(e->m, &s) == 0);
    return s;
}

uint64_t sum_all(uint64_t v)
{
    uint64_t s = 0;
    MPI_Allreduce(&v, &s, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return s;
}

/* ---- random DAGs against a serial model ---- */

uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

uint64_t seed_base(void)
{
    const char *s = getenv("FRONTA_TEST_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
    MPI_Bcast(&seed, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD); /* every rank the same flow */
    return seed | 1;
}

/* The DAG's arrays: NB whole buffers, then one partitioned into NC chunks
 * (slot NB + i is chunk i); model[] is rank 0's serial copy. */
typedef struct dag {
    int64_t data[NB + 1][6 * L];
    int64_t model[NB + 1][6 * L];
    fronta_buffer_t *b[NB + 1];
    fronta_buffer_t *slot[NB + 6];
    int64_t *mslot[NB + 6];
    size_t nslots;
} dag;

static void dag_fill(dag *g, uint64_t *rng, int owners[NB + 1])
{
    for (int j = 0; j <= NB; j++) {
        owners[j] = (int)(rng_next(rng) % (uint64_t)fm_size);
        for (size_t i = 0; i < 6 * L; i++) {
            g->model[j][i] = (int64_t)(j * 100003 + (int)i);
            /* A non-owner's contents must never be read: make them wrong. */
            g->data[j][i] = owners[j] == fm_rank ? g->model[j][i] : -777;
        }
    }
}

static void dag_partition(env *e, dag *g, fronta_mpi_dist_kind_t kind)
{
    fronta_partition_t how = {.size = sizeof how, .nchunks = 6};
    if (kind == FRONTA_MPI_DIST_BLOCK_CYCLIC_2D) /* 16 x 24 in 8 x 8 tiles: 2 x 3 tiles */
        how = (fronta_partition_t){.size = sizeof how, .rows = 16, .cols = 24,
                                   .tile_rows = 8, .tile_cols = 8};
    fronta_mpi_dist_t dist = {.size = sizeof dist, .kind = kind};
    FM_REQUIRE(fronta_mpi_buffer_partition(e->m, g->b[NB], &how, &dist) == 0);
    FM_REQUIRE(fronta_buffer_nchunks(g->b[NB]) == 6);
    for (size_t i = 0; i < 6; i++) {
        fronta_buffer_t *c = fronta_buffer_chunk(g->b[NB], i);
        fronta_chunk_info_t ci = {.size = sizeof ci};
        FM_REQUIRE(fronta_buffer_chunk_info(c, &ci) == 0 && fronta_buffer_count(c) == L);
        g->slot[NB + i] = c;
        /* The model's chunk i: a slice (1-D) or a tile, packed apart. */
        g->mslot[NB + i] = kind == FRONTA_MPI_DIST_BLOCK_CYCLIC_2D ? NULL
                                                                 : &g->model[NB][ci.offset];
        /* 2-D: 2 x 3 tiles over the most square grid (1x1, 1x2, 1x3, 2x2) */
        int grows = fm_size == 4 ? 2 : 1, gcols = fm_size / grows;
        int want = kind == FRONTA_MPI_DIST_CYCLIC ? (int)(i % (size_t)fm_size)
                 : kind == FRONTA_MPI_DIST_BLOCK ? (int)(i * (size_t)fm_size / 6)
                 : (int)(i / 3) % grows * gcols + (int)(i % 3) % gcols;
        FM_REQUIRE(fronta_mpi_buffer_owner(e->m, c) == want);
    }
    g->nslots = NB + 6;
}

/* 2-D: the model works on packed tiles, unpacked into model[NB] at the end. */
static int64_t tiles[6][L];

static void tiles_pack(dag *g, int unpack)
{
    for (size_t t = 0; t < 6; t++)
        for (size_t r = 0; r < 8; r++)
            for (size_t c = 0; c < 8; c++) {
                int64_t *whole = &g->model[NB][((t / 3) * 8 + r) * 24 + (t % 3) * 8 + c];
                if (unpack)
                    *whole = tiles[t][r * 8 + c];
                else
                    tiles[t][r * 8 + c] = *whole;
            }
    for (size_t t = 0; !unpack && t < 6; t++)
        g->mslot[NB + t] = tiles[t];
}

static void model_apply(int64_t *d, const int64_t *a, const int64_t *b, int64_t k, int inout)
{
    for (size_t i = 0; i < L; i++)
        d[i] = (int64_t)(inout ? mix_inout_1((uint64_t)d[i], (uint64_t)a[i], (uint64_t)b[i],
                                             (uint64_t)k)
                               : mix_out_1((uint64_t)a[i], (uint64_t)b[i], (uint64_t)k));
}

/* A call task of the DAG: k plus the count of its inputs, each of which
 * finished (kernel tasks' handles: no bytes). */
static int dag_call_fn(fronta_ctx_t *ctx, void *arg)
{
    uint64_t v = *(const uint64_t *)arg + fronta_ctx_ninputs(ctx);
    return fronta_ctx_return(ctx, &v, sizeof v);
}

/* Kernel tasks over the slots, each also after up to two random earlier
 * handles (an order the buffers may not give: the model is unchanged),
 * and every eighth step a call task on a random rank after up to three,
 * whose result every rank checks. */
typedef struct dag_hs {
    fronta_future_t *k[NT], *c[NT / 8 + 1];
    uint64_t want[NT / 8 + 1];
    size_t nk, nc;
} dag_hs;

static size_t dag_after(uint64_t *rng, dag_hs *h, size_t most, fronta_future_t **after)
{
    size_t n = h->nk ? (size_t)(rng_next(rng) % (most + 1)) : 0;
    for (size_t i = 0; i < n; i++)
        after[i] = h->k[rng_next(rng) % h->nk];
    return n;
}

static void dag_tasks(env *e, dag *g, uint64_t *rng, dag_hs *h)
{
    for (int t = 0; t < NT; t++) {
        size_t d = rng_next(rng) % g->nslots, a = rng_next(rng) % g->nslots,
               b = rng_next(rng) % g->nslots;
        int inout = (int)(rng_next(rng) & 1);
        int64_t k = (int64_t)(rng_next(rng) % 1000);
        int on = rng_next(rng) % 5 == 0 ? (int)(rng_next(rng) % (uint64_t)fm_size)
                                        : FRONTA_MPI_OWNER;
        fronta_future_t *after[3];
        fronta_task_desc_t td = {
            .size = sizeof td, .kernel = inout ? e->inout : e->out,
            .args = {inout ? FRONTA_INOUT(g->slot[d]) : FRONTA_OUT(g->slot[d]),
                     FRONTA_IN(g->slot[a]), FRONTA_IN(g->slot[b]), FRONTA_I64(k)},
            .nargs = 4, .after = after, .nafter = dag_after(rng, h, 2, after)};
        fronta_future_t *f = NULL;
        FM_REQUIRE(fronta_mpi_submit(e->m, on, &td, &f) == 0);
        FM_REQUIRE(f != NULL); /* a handle on every rank */
        h->k[h->nk++] = f;
        if (fm_rank == 0)
            model_apply(g->mslot[d], g->mslot[a], g->mslot[b], k, inout);
        if (t % 8 == 7) {
            uint64_t v = rng_next(rng) % 1000;
            fronta_call_t c = {.size = sizeof c, .fn = dag_call_fn, .arg = &v,
                               .arg_size = sizeof v, .after = after,
                               .nafter = dag_after(rng, h, 3, after)};
            h->want[h->nc] = v + c.nafter;
            int rank = (int)(rng_next(rng) % (uint64_t)fm_size);
            FM_REQUIRE(fronta_mpi_submit_call(e->m, rank, &c, &h->c[h->nc]) == 0);
            h->nc++;
        }
    }
}

/* Every handle finished on every rank; the calls' results; 0 or the
 * count of wrong ones. */
static long dag_handles(dag_hs *h)
{
    long bad = 0;
    for (size_t i = 0; i < h->nk; i++) {
        FM_REQUIRE(fronta_future_wait(h->k[i], FT_LIMIT) == 0);
        bad += fronta_future_status(h->k[i]) != FRONTA_FINISHED;
        fronta_future_release(h->k[i]);
    }
    for (size_t i = 0; i < h->nc; i++) {
        uint64_t v = 0;
        bad += fronta_future_result(h->c[i], FT_LIMIT, &v, sizeof v) != 0 || v != h->want[i];
        fronta_future_release(h->c[i]);
    }
    return bad;
}

/* Everything to rank 0, then compare there; returns the mismatches (on
 * every rank). */
static long dag_check(env *e, dag *g, int tiled)
{
    FM_REQUIRE(fronta_mpi_buffer_unpartition(e->m, g->b[NB]) == 0);
    for (int j = 0; j <= NB; j++)
        FM_REQUIRE(fronta_mpi_buffer_fetch(e->m, g->b[j], 0) == 0);
    FM_REQUIRE(fronta_mpi_wait_all(e->m, FT_LIMIT) == 0);
    if (tiled && fm_rank == 0)
        tiles_pack(g, 1);
    long bad = 0;
    for (int j = 0; fm_rank == 0 && j <= NB; j++) {
        void *host = NULL;
        FM_REQUIRE(fronta_buffer_acquire(g->b[j], FRONTA_ACCESS_IN, FT_LIMIT, &host) == 0);
        size_t n = fronta_buffer_count(g->b[j]);
        for (size_t i = 0; i < n; i++)
            bad += ((int64_t *)host)[i] != g->model[j][i];
        FM_REQUIRE(fronta_buffer_release(g->b[j]) == 0);
    }
    MPI_Bcast(&bad, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    return bad;
}

static void run_dag(fronta_mpi_dist_kind_t kind, uint64_t seed)
{
    static dag g; /* 2 x 7 x 3 KiB: off the stack */
    memset(&g, 0, sizeof g);
    uint64_t rng = seed;
    int owners[NB + 1];
    env e;
    env_up(&e);
    dag_fill(&g, &rng, owners);
    for (int j = 0; j <= NB; j++) {
        FM_REQUIRE(fronta_buffer_wrap(e.rt, g.data[j], j < NB ? L : 6 * L, FRONTA_INT64,
                                      &g.b[j]) == 0);
        FM_REQUIRE(fronta_mpi_buffer_register(e.m, g.b[j], owners[j]) == 0);
        g.slot[j] = g.b[j];
        g.mslot[j] = g.model[j];
    }
    dag_partition(&e, &g, kind);
    if (kind == FRONTA_MPI_DIST_BLOCK_CYCLIC_2D && fm_rank == 0)
        tiles_pack(&g, 0);
    static dag_hs h;
    memset(&h, 0, sizeof h);
    dag_tasks(&e, &g, &rng, &h);
    long bad = dag_check(&e, &g, kind == FRONTA_MPI_DIST_BLOCK_CYCLIC_2D);
    long bad_handles = (long)sum_all((uint64_t)dag_handles(&h));
    FM_REQUIRE(fronta_mpi_wait_all(e.m, FT_LIMIT) == 0);
    fronta_mpi_stats_t s = stats(&e);
    uint64_t sends = sum_all(s.sends), recvs = sum_all(s.recvs);
    uint64_t failed = sum_all(s.transfers_failed), done = sum_all(s.transfers_done);
    env_down(&e);
    if (fm_rank == 0)
        printf("dag seed %llu dist %d: %llu messages, %ld wrong elements\n",
               (unsigned long long)seed, (int)kind, (unsigned long long)sends, bad);
    assert_int_equal(bad, 0);
    assert_int_equal(bad_handles, 0);
    assert_int_equal(sends, recvs);
    assert_int_equal(done, sends + recvs);
    assert_int_equal(failed, 0);
    if (fm_size > 1)
        assert_true(sends > 0); /* the DAG did cross ranks */
}

static void dags(fronta_mpi_dist_kind_t kind)
{
    uint64_t seed = seed_base();
    for (uint64_t i = 0; i < 3; i++)
        run_dag(kind, seed + 2 * i);
}

static void dag_block(void **state)
{
    (void)state;
    dags(FRONTA_MPI_DIST_BLOCK);
}

static void dag_cyclic(void **state)
{
    (void)state;
    dags(FRONTA_MPI_DIST_CYCLIC);
}

static void dag_block_cyclic_2d(void **state)
{
    (void)state;
    dags(FRONTA_MPI_DIST_BLOCK_CYCLIC_2D);
}

/* ---- no duplicate transfer ---- */

static void submit_or_die(env *e, fronta_kernel_t *k, fronta_arg_t dst, fronta_buffer_t *a,
                          fronta_buffer_t *b)
{
    fronta_task_desc_t td = {.size = sizeof td, .kernel = k,
                             .args = {dst, FRONTA_IN(a), FRONTA_IN(b), FRONTA_I64(1)},
                             .nargs = 4};
    FM_REQUIRE(fronta_mpi_submit(e->m, FRONTA_MPI_OWNER, &td, NULL) == 0);
}

/* x lives on rank 0; ten tasks on rank 1 read it: one message per
 * version of x, whatever the number of readers. */
static void one_transfer_per_version(void **state)
{
    (void)state;
    if (fm_size < 2)
        skip();
    env e;
    env_up(&e);
    fronta_buffer_t *x, *ys[10];
    FM_REQUIRE(fronta_buffer_create(e.rt, L, FRONTA_INT64, &x) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, x, 0) == 0);
    for (int i = 0; i < 10; i++) {
        FM_REQUIRE(fronta_buffer_create(e.rt, L, FRONTA_INT64, &ys[i]) == 0);
        FM_REQUIRE(fronta_mpi_buffer_register(e.m, ys[i], 1) == 0);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 10; i++)
            submit_or_die(&e, e.out, FRONTA_OUT(ys[i]), x, x);
        submit_or_die(&e, e.inout, FRONTA_INOUT(x), x, x); /* a new version on rank 0 */
    }
    FM_REQUIRE(fronta_mpi_wait_all(e.m, FT_LIMIT) == 0);
    fronta_mpi_stats_t s = stats(&e);
    env_down(&e);
    uint64_t want_recv = fm_rank == 1 ? 2 : 0, want_send = fm_rank == 0 ? 2 : 0;
    assert_int_equal(s.recvs, want_recv);
    assert_int_equal(s.sends, want_send);
    assert_int_equal(s.bytes_received, want_recv * L * sizeof(int64_t));
    assert_int_equal(s.cache_hits, fm_rank == 1 ? 2 * 9 : 0); /* x, twice an argument, once a need */
    assert_int_equal(s.tasks_run, fm_rank == 1 ? 20 : fm_rank == 0 ? 2 : 0);
    assert_int_equal(s.transfers_done, want_recv + want_send);
    /* The progress thread posted and tested those: its CPU clock moved. */
    if (want_recv + want_send) {
        assert_true(s.progress_cpu_ns > 0);
    }
}

/* ---- a failure on one rank fails the readers on another ---- */

/* x fails on rank 0; y's writer on rank 1 reads x; z's on rank 2 (or 0)
 * follows y's task through `after`: every rank's handles name the
 * failed task's global id as the root, the one its own handle has. */
static void remote_failure(void **state)
{
    (void)state;
    if (fm_size < 2)
        skip();
    env e;
    env_up(&e);
    fronta_buffer_t *x, *y, *z;
    FM_REQUIRE(fronta_buffer_create(e.rt, L, FRONTA_INT64, &x) == 0);
    FM_REQUIRE(fronta_buffer_create(e.rt, L, FRONTA_INT64, &y) == 0);
    FM_REQUIRE(fronta_buffer_create(e.rt, L, FRONTA_INT64, &z) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, x, 0) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, y, 1) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, z, 2 % fm_size) == 0);
    fronta_task_desc_t td = {.size = sizeof td, .kernel = e.fail, .nargs = 4,
                             .args = {FRONTA_OUT(x), FRONTA_IN(y), FRONTA_IN(y), FRONTA_I64(1)}};
    fronta_future_t *fx = NULL, *fy = NULL, *fz = NULL;
    FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, &fx) == 0); /* y travels to 0 */
    td = (fronta_task_desc_t){.size = sizeof td, .kernel = e.out, .nargs = 4,
                              .args = {FRONTA_OUT(y), FRONTA_IN(x), FRONTA_IN(x), FRONTA_I64(1)}};
    FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, &fy) == 0);
    td = (fronta_task_desc_t){.size = sizeof td, .kernel = e.out, .nargs = 4,
                              .args = {FRONTA_OUT(z), FRONTA_IN(z), FRONTA_IN(z), FRONTA_I64(1)},
                              .after = &fy, .nafter = 1};
    FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, &fz) == 0);
    FM_REQUIRE(fx && fy && fz);
    fronta_error_t ex = {0}, ey = {0}, ez = {0};
    FM_REQUIRE(fronta_future_wait(fz, FT_LIMIT) == 0 && fronta_future_wait(fy, FT_LIMIT) == 0 &&
               fronta_future_wait(fx, FT_LIMIT) == 0);
    int cx = fronta_future_error(fx, &ex), cy = fronta_future_error(fy, &ey),
        cz = fronta_future_error(fz, &ez);
    uint64_t idx = fronta_future_task_id(fx), idy = fronta_future_task_id(fy);
    /* The same ids on every rank: the max and min across ranks agree. */
    uint64_t idmax = 0, idmin = 0;
    MPI_Allreduce(&idx, &idmax, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&idx, &idmin, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    fronta_future_release(fx);
    fronta_future_release(fy);
    fronta_future_release(fz);
    FM_REQUIRE(fronta_mpi_wait_all(e.m, FT_LIMIT) == 0);
    fronta_mpi_stats_t s = stats(&e);
    env_down(&e);
    assert_int_equal(idmax, idmin);
    assert_true(idx >= (UINT64_C(1) << 63) && idy == idx + 1);
    assert_int_equal(cx, FRONTA_ETASK);
    assert_int_equal(ex.task_id, idx);
    assert_int_equal(cy, FRONTA_EDEPFAILED);
    assert_int_equal(ey.task_id, idx);
    assert_int_equal(cz, FRONTA_EDEPFAILED);
    assert_int_equal(ez.task_id, idx);
    /* y to rank 0 went well; x back to rank 1 failed on both ends */
    assert_int_equal(s.transfers_failed, fm_rank <= 1 ? 1 : 0);
    /* each task's outcome to each other rank, from the rank that ran it */
    unsigned ran = (unsigned)((fm_rank == 0) + (fm_rank == 1) + (fm_rank == 2 % fm_size));
    assert_int_equal(s.futures_sent, ran * (unsigned)(fm_size - 1));
    assert_int_equal(s.futures_received, 3u - ran);
}

/* ---- the calls' checks: the same refusal on every rank, no effect ---- */

static void refusals(void **state)
{
    (void)state;
    env e;
    env_up(&e);
    fronta_buffer_t *x, *lost;
    FM_REQUIRE(fronta_buffer_create(e.rt, L, FRONTA_INT64, &x) == 0);
    FM_REQUIRE(fronta_buffer_create(e.rt, L, FRONTA_INT64, &lost) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, x, fm_size - 1) == 0);
    int twice = fronta_mpi_buffer_register(e.m, x, 0);
    int range = fronta_mpi_buffer_register(e.m, lost, fm_size);
    fronta_task_desc_t td = {.size = sizeof td, .kernel = e.out,
                             .args = {FRONTA_OUT(x), FRONTA_IN(lost), FRONTA_IN(x),
                                      FRONTA_I64(1)}, .nargs = 4};
    int unregistered = fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, NULL);
    td.args[1] = FRONTA_IN(x);
    int bad_rank = fronta_mpi_submit(e.m, fm_size, &td, NULL);
    fronta_future_t *none = NULL;
    td.after = &none;
    td.nafter = 1;
    int after = fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, NULL);
    td.nafter = 0;
    td.args[3] = FRONTA_F64(1.0); /* the kernel takes an I64: fronta_submit's check */
    int arg = fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, NULL);
    fronta_partition_t how = {.size = sizeof how, .nchunks = 2};
    fronta_mpi_dist_t d2 = {.size = sizeof d2, .kind = FRONTA_MPI_DIST_BLOCK_CYCLIC_2D};
    int flat_2d = fronta_mpi_buffer_partition(e.m, x, &how, &d2);
    size_t nchunks = fronta_buffer_nchunks(x);
    fronta_mpi_stats_t s = stats(&e);
    env_down(&e);
    assert_int_equal(twice, FRONTA_EINVAL);
    assert_int_equal(range, FRONTA_ERANGE);
    assert_int_equal(unregistered, FRONTA_EINVAL);
    assert_int_equal(bad_rank, FRONTA_ERANGE);
    assert_int_equal(after, FRONTA_EINVAL);
    assert_int_equal(arg, FRONTA_EARG);
    assert_int_equal(flat_2d, FRONTA_EINVAL);
    assert_int_equal(nchunks, 0);
    assert_int_equal(s.sends + s.recvs + s.tasks_run + s.tasks_skipped, 0);
}

int main(void)
{
    int provided = MPI_THREAD_SINGLE;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &fm_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &fm_size);
    if (provided < MPI_THREAD_MULTIPLE) {
        fprintf(stderr, "MPI gives no MPI_THREAD_MULTIPLE here: skipped\n");
        MPI_Finalize();
        return 77;
    }
    if (fm_rank == 0)
        printf("test_mpi: %d ranks\n", fm_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals),
        cmocka_unit_test(one_transfer_per_version),
        cmocka_unit_test(remote_failure),
        cmocka_unit_test(dag_block),
        cmocka_unit_test(dag_cyclic),
        cmocka_unit_test(dag_block_cyclic_2d),
        cmocka_unit_test(stencil_1d),
        cmocka_unit_test(futures_refusals),
        cmocka_unit_test(futures_chain),
        cmocka_unit_test(futures_after_kernels),
        cmocka_unit_test(futures_roots),
        cmocka_unit_test(futures_random),
        cmocka_unit_test(futures_detach_waits),
        cmocka_unit_test(dag_calls),
        cmocka_unit_test(stencil_2d),
        cmocka_unit_test(demo_divisible),
        cmocka_unit_test(devices_per_rank),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    /* A rank that failed an assert must not leave the others waiting. */
    int worst = 0;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return worst ? 1 : 0;
}
