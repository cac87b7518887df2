/* mpi_bench.h — fronta-bench-mpi internals: the MPI side of the `mpi` bench group. */
#ifndef FRONTA_BENCH_MPI_BENCH_H
#define FRONTA_BENCH_MPI_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mpi.h>

#include "fronta_mpi.h"

/* What one run of an implementation gave, on every rank alike (each
 * implementation reduces its verdict and its time over the ranks). */
typedef enum mb_status { MB_OK = 0, MB_WRONG = 1, MB_ERROR = 2 } mb_status_t;

/* Shared by the implementations of one fronta-bench-mpi process. */
typedef struct mb_env {
    int rank, size;
    fronta_runtime_t *rt;   /* this rank's runtime, devices "cpu" */
    fronta_mpi_t *m;        /* attached to MPI_COMM_WORLD */
    int threads;            /* the runtime's pool threads (OMP_NUM_THREADS) */
    FILE *out;              /* rank 0: the results file (rows, notes); else NULL */
} mb_env_t;

/* One implementation of a case: one run over size n (steps: the stencil's
 * time steps; unused by the ping-pong). Collective. Sets value[0] (the
 * metric) and value[1] (the row's extra figure, if it has one) on rank 0. */
typedef mb_status_t (*mb_fn)(mb_env_t *e, size_t n, int steps, double *value);

typedef struct mb_impl {
    const char *impl;       /* "fronta", "mpi_openmp", "mpi_raw" */
    mb_fn run;
    int has_extra;          /* value[1] is reported (as the row's extra) */
} mb_impl_t;

/* mpi_stencil.c */
mb_status_t mb_stencil_fronta(mb_env_t *e, size_t n, int steps, double *value);
mb_status_t mb_stencil_mpi_openmp(mb_env_t *e, size_t n, int steps, double *value);
/* Frees what the stencil kept between runs (the serial reference, fronta's
 * grids); after the runtime's last use of them. */
void mb_stencil_fini(void);

/* mpi_overhead.c */
mb_status_t mb_overhead_fronta(mb_env_t *e, size_t n, int steps, double *value);
mb_status_t mb_overhead_mpi_raw(mb_env_t *e, size_t n, int steps, double *value);

/* Every rank's status combined: the worst one. Collective. */
mb_status_t mb_agree(mb_status_t mine);
/* Print the failed fronta call on this rank (with fronta_last_error). */
void mb_fail(const mb_env_t *e, const char *call, int rc);
/* A fronta call failing in a benchmark fails on every rank alike
 * (fronta_mpi checks a call everywhere first) or leaves the ranks out of
 * step: either way the run cannot go on, and MPI cannot leave a rank
 * behind, so the job ends, saying which call. */
#define MB_CALL(e, call)                  \
    do {                                  \
        int rc_ = (call);                 \
        if (rc_ != 0) {                   \
            mb_fail((e), #call, rc_);     \
            MPI_Abort(MPI_COMM_WORLD, 3); \
        }                                 \
    } while (0)

#endif /* FRONTA_BENCH_MPI_BENCH_H */
