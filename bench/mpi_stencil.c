/* mpi_stencil.c — mpi/stencil: a 2-D 5-point Jacobi stencil over ranks, fronta (halos as task accesses) and hand-written MPI + OpenMP. */
#include <stdlib.h>
#include <string.h>

#include "mpi_bench.h"

/* The grid is n x n floats, row-major. Float, not double: with every rank
 * holding a full copy of both grids (fronta_mpi's non-owners allocate
 * whole buffers), 4096^2 doubles would be 256 MiB per rank per grid.
 * Rows 0 and n-1 and columns 0 and n-1 are fixed (Dirichlet): every step
 * copies them. Every implementation computes a row with jacobi_row, one
 * function, so results are comparable bit for bit: each element is the
 * same four additions and one multiplication in the same order (no
 * reassociation, nothing to contract into an FMA). */
static void jacobi_row(float *restrict out, const float *restrict up,
                       const float *restrict c, const float *restrict down, size_t n)
{
    out[0] = c[0];
    for (size_t j = 1; j + 1 < n; j++)
        out[j] = 0.25f * ((up[j] + down[j]) + (c[j - 1] + c[j + 1]));
    out[n - 1] = c[n - 1];
}

/* Multiples of 1/8 below 13: exact in float, different along rows and
 * columns, so a row or a column shifted by one shows. */
static float init_value(size_t i, size_t j)
{
    return (float)((i * 7 + j * 13) % 101) / 8.0f;
}

static void init_rows(float *g, size_t first_row, size_t rows, size_t n)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < n; j++)
            g[i * n + j] = init_value(first_row + i, j);
}

/* Block b of nb: rows [*start, *start + *len), the first n % nb blocks one
 * longer (fronta_partition_t's nchunks rule). */
static void block_rows(size_t n, size_t nb, size_t b, size_t *start, size_t *len)
{
    size_t q = n / nb, r = n % nb;

    *start = b * q + (b < r ? b : r);
    *len = q + (b < r);
}

/* ---- the serial reference, computed once on rank 0 --------------------- */

static struct {
    float *grid;       /* after `steps` steps */
    size_t n;
    int steps;
} ref;

static float *grids[2]; /* fronta's two grids, kept from run to run */
static size_t grids_n;

void mb_stencil_fini(void)
{
    free(ref.grid);
    ref.grid = NULL;
    for (int i = 0; i < 2; i++) {
        free(grids[i]);
        grids[i] = NULL;
    }
    grids_n = 0;
}

static const float *reference(size_t n, int steps)
{
    float *a, *b;

    if (ref.grid && ref.n == n && ref.steps == steps)
        return ref.grid;
    free(ref.grid);
    ref.grid = NULL;
    a = malloc(n * n * sizeof *a);
    b = malloc(n * n * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        fprintf(stderr, "fronta-bench-mpi: no memory for the serial reference\n");
        return NULL;
    }
    init_rows(a, 0, n, n);
    for (int s = 0; s < steps; s++) {
        memcpy(b, a, n * sizeof *a);                       /* row 0 */
        memcpy(b + (n - 1) * n, a + (n - 1) * n, n * sizeof *a); /* row n-1 */
        for (size_t i = 1; i + 1 < n; i++)
            jacobi_row(b + i * n, a + (i - 1) * n, a + i * n, a + (i + 1) * n, n);
        float *t = a;
        a = b;
        b = t;
    }
    free(b);
    ref.grid = a;
    ref.n = n;
    ref.steps = steps;
    return a;
}

/* MB_OK when g (n x n) is the reference bit for bit. Rank 0 only. */
static mb_status_t check_grid(const float *g, size_t n, int steps, const char *impl)
{
    const float *want = reference(n, steps);

    if (!want)
        return MB_ERROR;
    if (memcmp(g, want, n * n * sizeof *g) == 0)
        return MB_OK;
    for (size_t k = 0; k < n * n; k++)
        if (memcmp(&g[k], &want[k], sizeof *g) != 0) {
            fprintf(stderr, "fronta-bench-mpi: stencil %s: grid[%zu][%zu] = %.9g, serial %.9g\n",
                    impl, k / n, k % n, (double)g[k], (double)want[k]);
            break;
        }
    return MB_WRONG;
}

/* ---- fronta ------------------------------------------------------------ */

/* Each row block of the grid is three chunks: its top row, its middle
 * rows, its bottom row. The step of a block's top row reads the bottom
 * row chunk of the block above, and its bottom row's step the top row
 * chunk of the block below: so the halo exchange is only those tasks'
 * accesses, and what travels is one row each way, not a whole block
 * (fronta_mpi moves whole chunks). The three steps of a block are three
 * tasks: the middle one needs nothing from another rank, so it runs while
 * the halos are in flight, and the edge rows go first (priority 1) so
 * that their sends start early. */
enum { PART_TOP = 0, PART_MID = 1, PART_BOT = 2, PARTS = 3 };

/* Grid layout for nb blocks: the partition's lengths. */
static size_t *block_lengths(size_t n, size_t nb)
{
    size_t *len = malloc(PARTS * nb * sizeof *len);

    for (size_t b = 0; len && b < nb; b++) {
        size_t start, rows;
        block_rows(n, nb, b, &start, &rows);
        len[PARTS * b + PART_TOP] = n;
        len[PARTS * b + PART_MID] = (rows - 2) * n;
        len[PARTS * b + PART_BOT] = n;
    }
    return len;
}

/* mb_jacobi(OUT dst, IN prev, IN cur, IN next, I64 cols, I64 flags): dst
 * (as many rows as cur) is one step of cur, whose row above is prev's last
 * and row below next's first; flags bit 0: dst's first row is the grid's
 * row 0, bit 1: its last row is row n-1 (both fixed, copied). */
typedef struct jac {
    float *dst;
    const float *prev, *cur, *next;
    size_t prev_count, rows, cols;
    int64_t flags;
} jac_t;

#define JAC_GRAIN 16 /* rows per fronta_ctx_parallel index */

static void jac_body(void *ud, size_t g)
{
    const jac_t *j = ud;
    size_t n = j->cols;

    for (size_t i = g * JAC_GRAIN; i < j->rows && i < (g + 1) * JAC_GRAIN; i++) {
        const float *up = i ? j->cur + (i - 1) * n : j->prev + j->prev_count - n;
        const float *down = i + 1 < j->rows ? j->cur + (i + 1) * n : j->next;
        if ((i == 0 && (j->flags & 1)) || (i + 1 == j->rows && (j->flags & 2)))
            memcpy(j->dst + i * n, j->cur + i * n, n * sizeof(float));
        else
            jacobi_row(j->dst + i * n, up, j->cur + i * n, down, n);
    }
}

static int jacobi_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t count)
{
    (void)na, (void)count;
    jac_t j = {.dst = a[0].ptr, .prev = a[1].ptr, .cur = a[2].ptr, .next = a[3].ptr,
               .prev_count = a[1].count, .cols = (size_t)a[4].v.i64, .flags = a[5].v.i64};

    if (j.cols == 0 || a[2].count % j.cols || a[1].count < j.cols || a[3].count < j.cols)
        return fronta_ctx_fail(ctx, FRONTA_EARG, "mb_jacobi: chunks are not whole rows");
    j.rows = a[2].count / j.cols;
    return fronta_ctx_parallel(ctx, (j.rows + JAC_GRAIN - 1) / JAC_GRAIN, jac_body, &j);
}

/* mb_fill(OUT dst, I64 first_row, I64 cols): the initial rows. */
static int fill_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t count)
{
    (void)ctx, (void)na;
    size_t cols = (size_t)a[2].v.i64;

    init_rows(a[0].ptr, (size_t)a[1].v.i64, count / cols, cols);
    return 0;
}

static fronta_kernel_t *kernels(mb_env_t *e, fronta_kernel_t **fill)
{
    static const fronta_param_t jp[6] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_OUT,
         .count = FRONTA_COUNT_ANY},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN,
         .count = FRONTA_COUNT_ANY},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN,
         .count = FRONTA_COUNT_ANY},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN,
         .count = FRONTA_COUNT_ANY},
        {.kind = FRONTA_ARG_I64},
        {.kind = FRONTA_ARG_I64},
    };
    static const fronta_param_t fp[3] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_OUT},
        {.kind = FRONTA_ARG_I64},
        {.kind = FRONTA_ARG_I64},
    };
    static fronta_kernel_t *jac, *fil;
    fronta_kernel_desc_t jd = {.size = sizeof jd, .name = "mb_jacobi", .params = jp,
                               .nparams = 6, .cpu = jacobi_cpu};
    fronta_kernel_desc_t fd = {.size = sizeof fd, .name = "mb_fill", .params = fp,
                               .nparams = 3, .cpu = fill_cpu};

    if (!jac) {
        MB_CALL(e, fronta_kernel_create(e->rt, &jd, &jac));
        MB_CALL(e, fronta_kernel_create(e->rt, &fd, &fil));
    }
    *fill = fil;
    return jac;
}

static void submit_jacobi(mb_env_t *e, fronta_kernel_t *k, fronta_buffer_t *dst,
                          fronta_buffer_t *prev, fronta_buffer_t *cur, fronta_buffer_t *next,
                          size_t n, int64_t flags, int priority)
{
    fronta_task_desc_t td = {.size = sizeof td, .kernel = k, .nargs = 6,
                             .priority = priority, .name = "mb_jacobi",
                             .args = {FRONTA_OUT(dst), FRONTA_IN(prev), FRONTA_IN(cur),
                                      FRONTA_IN(next), FRONTA_I64((int64_t)n),
                                      FRONTA_I64(flags)}};

    MB_CALL(e, fronta_mpi_submit(e->m, FRONTA_MPI_OWNER, &td, NULL));
}

/* One step of every block, src's chunks to dst's. */
static void fronta_step(mb_env_t *e, fronta_kernel_t *k, fronta_buffer_t *dst,
                        fronta_buffer_t *src, size_t n, size_t nb)
{
#define SRC(b, p) fronta_buffer_chunk(src, PARTS * (b) + (p))
#define DST(b, p) fronta_buffer_chunk(dst, PARTS * (b) + (p))
    for (size_t b = 0; b < nb; b++) {
        int first = b == 0, last = b + 1 == nb;
        submit_jacobi(e, k, DST(b, PART_TOP), first ? SRC(b, PART_TOP) : SRC(b - 1, PART_BOT),
                      SRC(b, PART_TOP), SRC(b, PART_MID), n, first ? 1 : 0, 1);
        submit_jacobi(e, k, DST(b, PART_BOT), SRC(b, PART_MID), SRC(b, PART_BOT),
                      last ? SRC(b, PART_BOT) : SRC(b + 1, PART_TOP), n, last ? 2 : 0, 1);
    }
    for (size_t b = 0; b < nb; b++)
        submit_jacobi(e, k, DST(b, PART_MID), SRC(b, PART_TOP), SRC(b, PART_MID),
                      SRC(b, PART_BOT), n, 0, 0);
#undef SRC
#undef DST
}

/* Every rank's messages and bytes per step over the timed steps, and the
 * time its submission loop took per task submitted (run here or skipped:
 * every rank submits every task), as a note of rank 0's (fronta-bench
 * shows it), on the first run only; the most messages a rank sent per
 * step is the row's extra figure. docs/scale-out.md's projection uses
 * both. */
#define NT 6
static void note_traffic(const mb_env_t *e, const fronta_mpi_stats_t *s0,
                         const fronta_mpi_stats_t *s1, int steps, double submit_s,
                         double wall_s, double *max_sends)
{
    static int said;
    uint64_t tasks = (s1->tasks_run - s0->tasks_run) + (s1->tasks_skipped - s0->tasks_skipped);
    double mine[NT] = {(double)(s1->sends - s0->sends) / steps,
                       (double)(s1->recvs - s0->recvs) / steps,
                       (double)(s1->bytes_sent - s0->bytes_sent) / steps,
                       (double)(s1->bytes_received - s0->bytes_received) / steps,
                       tasks ? submit_s * 1e6 / (double)tasks : 0.0,
                       /* the progress thread's CPU, % of the steps' wall time */
                       wall_s > 0 ? (double)(s1->progress_cpu_ns - s0->progress_cpu_ns) /
                                        (wall_s * 1e7)
                                  : 0.0};
    double *all = e->rank == 0 ? malloc(NT * (size_t)e->size * sizeof *all) : NULL;

    MPI_Reduce(&mine[0], max_sends, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (e->rank == 0 && !all)
        MPI_Abort(MPI_COMM_WORLD, 3);
    MPI_Gather(mine, NT, MPI_DOUBLE, all, NT, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (e->rank == 0 && !said) {
        fprintf(e->out, "note mpi/stencil fronta, per rank per step (sends recvs bytes_sent "
                        "bytes_received), then us per task submitted, then the progress "
                        "thread's CPU in %% of the steps' time:");
        for (int r = 0; r < e->size; r++)
            fprintf(e->out, " [%d] %.0f %.0f %.0f %.0f %.2f %.1f%%", r, all[NT * r],
                    all[NT * r + 1], all[NT * r + 2], all[NT * r + 3], all[NT * r + 4],
                    all[NT * r + 5]);
        fprintf(e->out, "\n");
        said = 1;
    }
    free(all);
}

mb_status_t mb_stencil_fronta(mb_env_t *e, size_t n, int steps, double *value)
{
    /* One block per rank, as the baseline's: its middle task spreads over
     * the rank's pool (fronta_ctx_parallel), so more blocks would add only
     * submissions -- and every rank submits every rank's tasks. */
    size_t nb = (size_t)e->size;
    fronta_kernel_t *fill, *k;
    fronta_buffer_t *g[2];
    fronta_mpi_stats_t s0 = {.size = sizeof s0}, s1 = {.size = sizeof s1};
    mb_status_t st = MB_OK;
    size_t *lengths;
    double t, submit_s;

    if (!e->m)
        return MB_ERROR;
    k = kernels(e, &fill);
    if (grids_n != n) {
        for (int i = 0; i < 2; i++) {
            free(grids[i]);
            if (!(grids[i] = malloc(n * n * sizeof(float))))
                MPI_Abort(MPI_COMM_WORLD, 3);
        }
        grids_n = n;
    }
    if (!(lengths = block_lengths(n, nb)))
        MPI_Abort(MPI_COMM_WORLD, 3);
    fronta_partition_t how = {.size = sizeof how, .lengths = lengths, .nlengths = PARTS * nb};
    /* BLOCK over 3 nb chunks gives the three chunks of a block one rank,
     * and each rank a run of nb / size blocks. */
    fronta_mpi_dist_t dist = {.size = sizeof dist, .kind = FRONTA_MPI_DIST_BLOCK};
    for (int i = 0; i < 2; i++) {
        MB_CALL(e, fronta_buffer_wrap(e->rt, grids[i], n * n, FRONTA_FLOAT, &g[i]));
        MB_CALL(e, fronta_mpi_buffer_register(e->m, g[i], 0));
        MB_CALL(e, fronta_mpi_buffer_partition(e->m, g[i], &how, &dist));
    }
    free(lengths);
    /* Each owner fills its own chunks (OUT: nothing travels), untimed. */
    for (size_t c = 0; c < PARTS * nb; c++) {
        fronta_buffer_t *ch = fronta_buffer_chunk(g[0], c);
        fronta_chunk_info_t ci = {.size = sizeof ci};
        MB_CALL(e, fronta_buffer_chunk_info(ch, &ci));
        fronta_task_desc_t td = {.size = sizeof td, .kernel = fill, .nargs = 3,
                                 .args = {FRONTA_OUT(ch), FRONTA_I64((int64_t)(ci.offset / n)),
                                          FRONTA_I64((int64_t)n)}};
        MB_CALL(e, fronta_mpi_submit(e->m, FRONTA_MPI_OWNER, &td, NULL));
    }
    MB_CALL(e, fronta_mpi_wait_all(e->m, 300.0));
    MB_CALL(e, fronta_mpi_stats(e->m, &s0));
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    for (int s = 0; s < steps; s++)
        fronta_step(e, k, g[(s + 1) % 2], g[s % 2], n, nb);
    submit_s = MPI_Wtime() - t;
    MB_CALL(e, fronta_mpi_wait_all(e->m, 300.0));
    t = MPI_Wtime() - t;
    MPI_Reduce(&t, &value[0], 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    value[0] *= 1e3;
    MB_CALL(e, fronta_mpi_stats(e->m, &s1));
    note_traffic(e, &s0, &s1, steps, submit_s, t, &value[1]);

    /* The result to rank 0 (the chunks' latest versions), checked there. */
    fronta_buffer_t *last = g[steps % 2];
    MB_CALL(e, fronta_mpi_buffer_unpartition(e->m, last));
    MB_CALL(e, fronta_mpi_buffer_fetch(e->m, last, 0));
    MB_CALL(e, fronta_mpi_wait_all(e->m, 300.0));
    if (e->rank == 0) {
        void *host = NULL;
        MB_CALL(e, fronta_buffer_acquire(last, FRONTA_ACCESS_IN, 300.0, &host));
        st = check_grid(host, n, steps, "fronta");
        (void)fronta_buffer_release(last);
    }
    for (int i = 0; i < 2; i++) {
        MB_CALL(e, fronta_mpi_buffer_unregister(e->m, g[i]));
        MB_CALL(e, fronta_buffer_destroy(g[i]));
    }
    return mb_agree(st);
}

/* ---- MPI + OpenMP, by hand --------------------------------------------- */

/* Rank r holds its row block (fronta's blocks with nb = size) plus a ghost
 * row above and below; each step posts the ghost rows' receives and the
 * edge rows' sends (non-blocking), waits for all four, then an OpenMP
 * loop over the block. */
mb_status_t mb_stencil_mpi_openmp(mb_env_t *e, size_t n, int steps, double *value)
{
    size_t start, rows;
    int up = e->rank - 1, down = e->rank + 1 < e->size ? e->rank + 1 : -1;
    float *a, *b, *all = NULL;
    mb_status_t st = MB_OK;
    double t, sends_per_step = (up >= 0) + (down >= 0);

    block_rows(n, (size_t)e->size, (size_t)e->rank, &start, &rows);
    a = malloc((rows + 2) * n * sizeof *a);
    b = malloc((rows + 2) * n * sizeof *b);
    if (!a || !b)
        MPI_Abort(MPI_COMM_WORLD, 3);
    init_rows(a + n, start, rows, n);
    /* Touched before the clock, as fronta's grids are (they are reused
     * from run to run): page faults are not the stencil. */
    memset(a, 0, n * sizeof *a);
    memset(a + (rows + 1) * n, 0, n * sizeof *a);
    memset(b, 0, (rows + 2) * n * sizeof *b);
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    for (int s = 0; s < steps; s++) {
        MPI_Request rq[4];
        int nrq = 0;
        if (up >= 0) {
            MPI_Irecv(a, (int)n, MPI_FLOAT, up, 0, MPI_COMM_WORLD, &rq[nrq++]);
            MPI_Isend(a + n, (int)n, MPI_FLOAT, up, 0, MPI_COMM_WORLD, &rq[nrq++]);
        }
        if (down >= 0) {
            MPI_Irecv(a + (rows + 1) * n, (int)n, MPI_FLOAT, down, 0, MPI_COMM_WORLD,
                      &rq[nrq++]);
            MPI_Isend(a + rows * n, (int)n, MPI_FLOAT, down, 0, MPI_COMM_WORLD, &rq[nrq++]);
        }
        MPI_Waitall(nrq, rq, MPI_STATUSES_IGNORE);
#pragma omp parallel for schedule(static)
        for (size_t i = 1; i <= rows; i++) {
            size_t gi = start + i - 1;
            if (gi == 0 || gi + 1 == n)
                memcpy(b + i * n, a + i * n, n * sizeof *a);
            else
                jacobi_row(b + i * n, a + (i - 1) * n, a + i * n, a + (i + 1) * n, n);
        }
        float *tmp = a;
        a = b;
        b = tmp;
    }
    t = MPI_Wtime() - t;
    MPI_Reduce(&t, &value[0], 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    value[0] *= 1e3;
    MPI_Reduce(&sends_per_step, &value[1], 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);

    /* Gather the blocks to rank 0 (untimed) and check there. */
    int *counts = NULL, *displs = NULL;
    if (e->rank == 0) {
        all = malloc(n * n * sizeof *all);
        counts = malloc((size_t)e->size * sizeof *counts);
        displs = malloc((size_t)e->size * sizeof *displs);
        if (!all || !counts || !displs)
            MPI_Abort(MPI_COMM_WORLD, 3);
        for (int r = 0; r < e->size; r++) {
            size_t s0, len;
            block_rows(n, (size_t)e->size, (size_t)r, &s0, &len);
            counts[r] = (int)(len * n);
            displs[r] = (int)(s0 * n);
        }
    }
    MPI_Gatherv(a + n, (int)(rows * n), MPI_FLOAT, all, counts, displs, MPI_FLOAT, 0,
                MPI_COMM_WORLD);
    if (e->rank == 0)
        st = check_grid(all, n, steps, "mpi_openmp");
    free(all);
    free(counts);
    free(displs);
    free(a);
    free(b);
    return mb_agree(st);
}
