/* mpi_main.c — fronta-bench-mpi: the `mpi` bench group's MPI program, started by fronta-bench under mpiexec (bench/mpi.c). */
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "mpi_bench.h"

/* libfronta does not link MPI, so fronta-bench cannot run these cases in
 * its own process: it starts this program under mpiexec, once per case,
 * and reads what rank 0 writes to --out:
 *
 *   row CASE IMPL ok|wrong|error K v_1 ... v_K [x K e_1 ... e_K]
 *   note TEXT
 *
 * one row per implementation, v_1 the warm-up then the timed runs (the
 * implementations take turns run by run, as fronta-bench's rows do), e_i
 * the row's extra figure per run. A row stops at its first run that is
 * not verified: K counts the runs up to and including that one. */

typedef struct mb_case {
    const char *name;
    mb_impl_t impls[2];
} mb_case_t;

static const mb_case_t cases[] = {
    {"stencil", {{"fronta", mb_stencil_fronta, 1}, {"mpi_openmp", mb_stencil_mpi_openmp, 1}}},
    {"overhead", {{"fronta", mb_overhead_fronta, 0}, {"mpi_raw", mb_overhead_mpi_raw, 0}}},
};
#define NCASES (sizeof cases / sizeof cases[0])
#define MAX_RUNS 1001

static int rank0;

void mb_fail(const mb_env_t *e, const char *call, int rc)
{
    fprintf(stderr, "fronta-bench-mpi: rank %d: %s: %s (%s)\n", e->rank, call,
            fronta_err_name(rc), fronta_last_error());
}

mb_status_t mb_agree(mb_status_t mine)
{
    int in = (int)mine, worst = 0;

    MPI_Allreduce(&in, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return (mb_status_t)worst;
}

static void usage(void)
{
    if (rank0)
        fputs("usage: mpiexec -n P fronta-bench-mpi stencil|overhead --size N --steps S\n"
              "                --runs R --out FILE\n"
              "  (started by `fronta-bench mpi`; R counts the warm-up)\n",
              stderr);
}

/* Parsed alike on every rank (same argv), so all agree to go on or stop. */
static int parse(int argc, char **argv, const mb_case_t **c, size_t *n, int *steps, int *runs,
                 const char **out)
{
    *c = NULL;
    *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long long x = v ? strtoll(v, &end, 10) : 0;
        int ok = v && end != v && *end == '\0' && x > 0;

        if (strcmp(a, "--size") == 0 && ok)
            *n = (size_t)x;
        else if (strcmp(a, "--steps") == 0 && ok && x <= 100000)
            *steps = (int)x;
        else if (strcmp(a, "--runs") == 0 && ok && x <= MAX_RUNS)
            *runs = (int)x;
        else if (strcmp(a, "--out") == 0 && v)
            *out = v;
        else {
            for (size_t k = 0; k < NCASES && a[0] != '-'; k++)
                if (strcmp(a, cases[k].name) == 0)
                    *c = &cases[k];
            if (!*c || a[0] == '-')
                return -1;
            continue;
        }
        i++;
    }
    return *c && *out ? 0 : -1;
}

/* This rank's runtime: the pool alone (OMP_NUM_THREADS / FRONTA_CPU_THREADS
 * threads), no OpenCL: the kernels are CPU code, and several ranks on one
 * node would each start PoCL. Without MPI_THREAD_MULTIPLE the fronta rows
 * report an error and the baselines still run. */
static void env_up(mb_env_t *e, int provided)
{
    fronta_config_t cfg = {.size = sizeof cfg, .devices = "cpu"};
    int rc = fronta_runtime_create(&cfg, &e->rt);

    if (rc != 0) {
        mb_fail(e, "fronta_runtime_create", rc);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    e->threads = fronta_runtime_cpu_threads(e->rt);
    if (provided < MPI_THREAD_MULTIPLE) {
        if (rank0)
            fprintf(stderr, "fronta-bench-mpi: MPI gives thread level %d, fronta_mpi needs "
                            "MPI_THREAD_MULTIPLE: the fronta rows cannot run\n", provided);
        return;
    }
    if ((rc = fronta_mpi_attach(e->rt, MPI_COMM_WORLD, &e->m)) != 0) {
        mb_fail(e, "fronta_mpi_attach", rc);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
}

static const char *status_name(mb_status_t s)
{
    return s == MB_OK ? "ok" : s == MB_WRONG ? "wrong" : "error";
}

int main(int argc, char **argv)
{
    static double v[2][MAX_RUNS], x[2][MAX_RUNS];
    mb_env_t e = {0};
    const mb_case_t *c;
    size_t n = 0;
    int steps = 1, runs = 1, provided = MPI_THREAD_SINGLE, done[2] = {0, 0};
    mb_status_t st[2] = {MB_OK, MB_OK};
    const char *path;

    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &e.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &e.size);
    rank0 = e.rank == 0;
    if (parse(argc, argv, &c, &n, &steps, &runs, &path) || n == 0) {
        usage();
        MPI_Finalize();
        return 2;
    }
    if (rank0 && !(e.out = fopen(path, "w"))) {
        perror(path);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (strcmp(c->name, "stencil") == 0 && n < 3 * (size_t)e.size) {
        if (rank0)
            fprintf(stderr, "fronta-bench-mpi: stencil: a %zu^2 grid is too small for %d "
                            "ranks (3 rows each at least)\n", n, e.size);
        /* Every rank saw the same arguments: all stop here alike. */
        if (e.out)
            fclose(e.out);
        MPI_Finalize();
        return 2;
    }
    env_up(&e, provided);
    if (rank0)
        fprintf(e.out, "note mpi/%s: %d ranks, each with %d fronta pool threads and %d OpenMP "
                       "threads\n", c->name, e.size, e.threads, omp_get_max_threads());
    /* Round robin, as fronta-bench's own rows: drift on a shared machine
     * falls on both implementations alike. */
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < 2; i++) {
            double val[2] = {0, 0};
            if (st[i] != MB_OK)
                continue;
            st[i] = c->impls[i].run(&e, n, steps, val);
            v[i][r] = val[0];
            x[i][r] = val[1];
            done[i] = r + 1;
        }
    if (rank0) {
        for (int i = 0; i < 2; i++) {
            fprintf(e.out, "row %s %s %s %d", c->name, c->impls[i].impl, status_name(st[i]),
                    done[i]);
            for (int r = 0; r < done[i]; r++)
                fprintf(e.out, " %.9g", v[i][r]);
            if (c->impls[i].has_extra) {
                fprintf(e.out, " x %d", done[i]);
                for (int r = 0; r < done[i]; r++)
                    fprintf(e.out, " %.9g", x[i][r]);
            }
            fputc('\n', e.out);
        }
        if (fclose(e.out) != 0)
            perror(path);
    }
    if (e.m)
        (void)fronta_mpi_detach(e.m);
    (void)fronta_runtime_destroy(e.rt);
    mb_stencil_fini();
    MPI_Finalize();
    return 0;
}
