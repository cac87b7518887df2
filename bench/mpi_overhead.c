/* mpi_overhead.c — mpi/overhead: the cost of a remote dependency, a ping-pong of 1-element tasks between ranks 0 and 1 against raw MPI_Send/MPI_Recv. */
#include "mpi_bench.h"

/* Both implementations compute the same chain: A (rank 0's) and B (rank
 * 1's) start at 0; round i sets A = B + 1 on rank 0, then B = A + 1 on
 * rank 1. Each assignment needs the value the other rank just wrote, so a
 * round is two remote dependencies in a row: one round trip. After n
 * rounds A = 2n - 1 and B = 2n, which each owner checks. The metric is
 * the run's wall time (max over the ranks) over n, in us per round trip;
 * a one-way remote dependency (message, the task it releases) is half. */

static int pp_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t count)
{
    (void)ctx, (void)na, (void)count;
    ((int64_t *)a[0].ptr)[0] = ((const int64_t *)a[1].ptr)[0] + 1;
    return 0;
}

static fronta_kernel_t *pp_kernel(mb_env_t *e)
{
    static const fronta_param_t p[2] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT},
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
    };
    static fronta_kernel_t *k;
    fronta_kernel_desc_t kd = {.size = sizeof kd, .name = "mb_pingpong", .params = p,
                               .nparams = 2, .cpu = pp_cpu};
    int rc;

    if (!k && (rc = fronta_kernel_create(e->rt, &kd, &k)) != 0) {
        mb_fail(e, "fronta_kernel_create", rc);
        return NULL;
    }
    return k;
}

/* What this rank's owned value must be after n rounds: MB_OK or MB_WRONG. */
static mb_status_t pp_check(const mb_env_t *e, int64_t a, int64_t b, size_t n, const char *impl)
{
    int64_t want = e->rank == 0 ? 2 * (int64_t)n - 1 : 2 * (int64_t)n, got = e->rank == 0 ? a : b;

    if (e->rank > 1 || got == want)
        return MB_OK;
    fprintf(stderr, "fronta-bench-mpi: overhead %s: rank %d holds %lld after %zu rounds, "
                    "expected %lld\n", impl, e->rank, (long long)got, n, (long long)want);
    return MB_WRONG;
}

/* Every rank submits all 2n tasks at once (the StarPU-MPI way: each rank
 * sees the whole flow); the timed region ends when the last task and
 * message of every rank are done. So a round trip's figure is what a
 * dependency crossing ranks costs end to end: the send posted when the
 * writer ends, the receive's completion noticed by the progress thread,
 * the reader released and run, its own send. Submission overlaps it. */
mb_status_t mb_overhead_fronta(mb_env_t *e, size_t n, int steps, double *value)
{
    fronta_kernel_t *k = e->m ? pp_kernel(e) : NULL;
    int64_t a = 0, b = 0;
    fronta_buffer_t *ba, *bb;
    mb_status_t st;
    double t;

    (void)steps;
    if (!k || e->size < 2)
        return mb_agree(MB_ERROR);
    MB_CALL(e, fronta_buffer_wrap(e->rt, &a, 1, FRONTA_INT64, &ba));
    MB_CALL(e, fronta_buffer_wrap(e->rt, &b, 1, FRONTA_INT64, &bb));
    MB_CALL(e, fronta_mpi_buffer_register(e->m, ba, 0));
    MB_CALL(e, fronta_mpi_buffer_register(e->m, bb, 1 % e->size));
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    for (size_t i = 0; i < n; i++) {
        fronta_task_desc_t t0 = {.size = sizeof t0, .kernel = k, .nargs = 2, .name = "ping",
                                 .args = {FRONTA_OUT(ba), FRONTA_IN(bb)}};
        fronta_task_desc_t t1 = {.size = sizeof t1, .kernel = k, .nargs = 2, .name = "pong",
                                 .args = {FRONTA_OUT(bb), FRONTA_IN(ba)}};
        MB_CALL(e, fronta_mpi_submit(e->m, FRONTA_MPI_OWNER, &t0, NULL));
        MB_CALL(e, fronta_mpi_submit(e->m, FRONTA_MPI_OWNER, &t1, NULL));
    }
    MB_CALL(e, fronta_mpi_wait_all(e->m, 300.0));
    t = MPI_Wtime() - t;
    MPI_Reduce(&t, &value[0], 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    value[0] = value[0] * 1e6 / (double)n;
    MB_CALL(e, fronta_mpi_buffer_unregister(e->m, ba));
    MB_CALL(e, fronta_mpi_buffer_unregister(e->m, bb));
    /* destroy writes the last valid contents back to a and b. */
    MB_CALL(e, fronta_buffer_destroy(ba));
    MB_CALL(e, fronta_buffer_destroy(bb));
    st = pp_check(e, a, b, n, "fronta");
    return mb_agree(st);
}

/* The same chain by hand: rank 1 first sends B (0), then each round rank
 * 0 receives B and sends A = B + 1, rank 1 receives A and (but in the last
 * round) sends B = A + 1: 2n messages of 8 bytes, as fronta's. */
mb_status_t mb_overhead_mpi_raw(mb_env_t *e, size_t n, int steps, double *value)
{
    int64_t a = 0, b = 0;
    double t;

    (void)steps;
    if (e->size < 2)
        return mb_agree(MB_ERROR);
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    if (e->rank == 1)
        MPI_Send(&b, 1, MPI_INT64_T, 0, 0, MPI_COMM_WORLD);
    for (size_t i = 0; i < n && e->rank < 2; i++) {
        if (e->rank == 0) {
            MPI_Recv(&b, 1, MPI_INT64_T, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            a = b + 1;
            MPI_Send(&a, 1, MPI_INT64_T, 1, 0, MPI_COMM_WORLD);
        } else {
            MPI_Recv(&a, 1, MPI_INT64_T, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            b = a + 1;
            if (i + 1 < n)
                MPI_Send(&b, 1, MPI_INT64_T, 0, 0, MPI_COMM_WORLD);
        }
    }
    t = MPI_Wtime() - t;
    MPI_Reduce(&t, &value[0], 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    value[0] = value[0] * 1e6 / (double)n;
    return mb_agree(pp_check(e, a, b, n, "mpi_raw"));
}
