/* mpi.h — the mpi bench group in fronta-bench: its cases, run by fronta-bench-mpi under mpiexec. */
#ifndef FRONTA_BENCH_MPI_H
#define FRONTA_BENCH_MPI_H

#include "bench.h"

extern const bench_case_t mpi_stencil, mpi_overhead;

/* Ranks of each case's job: the stencil over 4 (FRONTA_BENCH_MPI_NP
 * overrides), the ping-pong between 2. */
#define MPI_BENCH_STENCIL_NP 4
#define MPI_BENCH_OVERHEAD_NP 2
/* Time steps of the stencil: 20, 5 under --quick. */
#define MPI_BENCH_STEPS 20
#define MPI_BENCH_QUICK_STEPS 5

bench_status_t mpi_stencil_fronta(const bench_env_t *env, size_t n, double *value);
bench_status_t mpi_stencil_mpi_openmp(const bench_env_t *env, size_t n, double *value);
bench_status_t mpi_overhead_fronta(const bench_env_t *env, size_t n, double *value);
bench_status_t mpi_overhead_mpi_raw(const bench_env_t *env, size_t n, double *value);

#endif /* FRONTA_BENCH_MPI_H */
