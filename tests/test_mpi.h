/* What test_mpi's files share: the rank, the job-wide require, a rank's
 * runtime attached to MPI_COMM_WORLD, and the test cases of each file. */
#ifndef TEST_MPI_H
#define TEST_MPI_H

#include "test_util.h"

#include <mpi.h>

#include "fronta_mpi.h"

/* A failure mid-test on one rank would leave the others waiting for it:
 * end the whole job instead, with the reason (MPI cannot go on without a
 * rank anyway). cmocka's asserts are used once the ranks agree. */
#define FM_REQUIRE(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "rank %d: %s:%d: %s failed (%s)\n", fm_rank, __FILE__,    \
                    __LINE__, #cond, fronta_last_error());                            \
            MPI_Abort(MPI_COMM_WORLD, 1);                                             \
        }                                                                             \
    } while (0)

extern int fm_rank, fm_size;

/* Global ids of fronta_mpi tasks (fronta_mpi.h): 2^63 + sequence. */
#define FM_ID_BASE (UINT64_C(1) << 63)

typedef struct env {
    fronta_runtime_t *rt;
    fronta_mpi_t *m;
    fronta_kernel_t *inout, *out, *fail; /* int64 (dst, a, b, k): mix, mix, fail */
} env;

void env_up(env *e);
void env_down(env *e);
fronta_mpi_stats_t stats(env *e);
uint64_t sum_all(uint64_t v);
uint64_t rng_next(uint64_t *s);
uint64_t seed_base(void);

/* test_mpi_futures.c */
void futures_chain(void **state);
void futures_after_kernels(void **state);
void futures_roots(void **state);
void futures_refusals(void **state);
void dag_calls(void **state);
void futures_random(void **state);
void futures_detach_waits(void **state);
/* test_mpi_arrays.c */
void stencil_1d(void **state);
void stencil_2d(void **state);
void demo_divisible(void **state);
/* test_mpi_devices.c */
void devices_per_rank(void **state);

#endif
