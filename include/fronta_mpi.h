/*
 * fronta_mpi.h — fronta over MPI (libfronta_mpi): every rank runs the same
 * program and submits the same tasks in the same order; each buffer has an
 * owner rank; a task runs on the rank that owns the first buffer it writes,
 * and the runtime infers the messages its inputs need (docs/scale-out.md).
 *
 * Every call below that takes a fronta_mpi_t is collective in the
 * StarPU-MPI sense: each rank of the communicator makes it, in the same
 * order, with the same arguments (buffers by their place in the order of
 * registration, not by address). Calls on one fronta_mpi_t are serialised
 * internally; submitting from several threads of one rank gives an order
 * that differs between ranks, so submit from one thread.
 */
#ifndef FRONTA_MPI_H
#define FRONTA_MPI_H

#include <mpi.h>

#include "fronta.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fronta_mpi fronta_mpi_t;

/* Attach rt to comm (duplicated: fronta's messages never match the
 * user's) and start the progress thread. MPI must be initialised with
 * MPI_Init_thread(..., MPI_THREAD_MULTIPLE, &provided): the progress
 * thread calls MPI while the user's threads may too. Collective over
 * comm. Errors (with fronta_last_error): FRONTA_EINVAL (NULLs, MPI not
 * initialised or finalised), FRONTA_ENOTSUP (thread level below
 * MPI_THREAD_MULTIPLE), FRONTA_ECOMM (an MPI call failed), FRONTA_ENOMEM,
 * FRONTA_ESYS (no thread). */
FRONTA_API FRONTA_NODISCARD int fronta_mpi_attach(fronta_runtime_t *rt, MPI_Comm comm,
                                                  fronta_mpi_t **out);
/* Wait until every transfer submitted on this rank has completed, then
 * synchronise with the other ranks (a barrier), stop the progress thread
 * and free m. Registered buffers stay the user's (unregistered). Call it
 * before destroying rt and before MPI_Finalize; collective. NULL: 0. */
FRONTA_API int fronta_mpi_detach(fronta_mpi_t *m);
/* fronta_runtime_wait_all, then wait until every transfer of this rank
 * has completed too (a send whose data's writer failed ends its access at
 * once but its empty message later). Not collective. timeout as
 * fronta_future_wait's (the runtime's wait, then the transfers', each
 * with it); FRONTA_ETIMEDOUT, or what fronta_runtime_wait_all returns. */
FRONTA_API int fronta_mpi_wait_all(fronta_mpi_t *m, double timeout);
FRONTA_API int fronta_mpi_rank(const fronta_mpi_t *m);
FRONTA_API int fronta_mpi_size(const fronta_mpi_t *m);
FRONTA_API fronta_runtime_t *fronta_mpi_runtime(const fronta_mpi_t *m);

/* ---- ownership ----------------------------------------------------------- */

/* b, a buffer of this rank's runtime, is rank `owner`'s logical array:
 * every rank registers its own buffer of the same type and count, in the
 * same order. The owner's contents are the array's; the others' are not
 * read (they serve as this rank's cache of received versions). Errors:
 * FRONTA_EINVAL (not a buffer, registered already, a chunk: chunks are
 * registered by fronta_mpi_buffer_partition), FRONTA_ERANGE (owner not a
 * rank), FRONTA_ENOMEM. */
FRONTA_API FRONTA_NODISCARD int fronta_mpi_buffer_register(fronta_mpi_t *m, fronta_buffer_t *b,
                                                           int owner);
/* Forget b (its chunks too), e.g. before fronta_buffer_destroy; waits
 * for nothing (transfers under way finish on their own). FRONTA_EINVAL
 * when b is not registered or is a chunk. */
FRONTA_API int fronta_mpi_buffer_unregister(fronta_mpi_t *m, fronta_buffer_t *b);
/* Owner of a registered buffer or chunk; -1 when not registered. */
FRONTA_API int fronta_mpi_buffer_owner(fronta_mpi_t *m, const fronta_buffer_t *b);

typedef enum fronta_mpi_dist_kind {
    FRONTA_MPI_DIST_OWNER = 0,     /* every chunk the parent's owner's */
    FRONTA_MPI_DIST_BLOCK,         /* chunk i: rank i * size / nchunks (contiguous runs) */
    FRONTA_MPI_DIST_CYCLIC,        /* chunk i: rank i % size (round robin) */
    FRONTA_MPI_DIST_BLOCK_CYCLIC_2D /* tiles (tr, tc) over a grid_rows x grid_cols
                                       process grid: rank (tr % grid_rows) * grid_cols
                                       + tc % grid_cols (ScaLAPACK's, one tile a block) */
} fronta_mpi_dist_kind_t;

/* How the chunks of a partition are owned. Zero-initialise. */
typedef struct fronta_mpi_dist {
    size_t size;                   /* as fronta_config_t.size */
    fronta_mpi_dist_kind_t kind;
    int grid_rows, grid_cols;      /* 2-D: the process grid (product <= size);
                                      both 0: the most square grid of size */
} fronta_mpi_dist_t;

/* fronta_buffer_partition of a registered buffer, then each chunk
 * registered with the owner dist gives it (NULL: the parent's owner).
 * The chunks start with the parent's contents where the parent's latest
 * version was. Errors: those of fronta_buffer_partition, FRONTA_EINVAL
 * (b not registered, a 2-D distribution of a 1-D partition, bad dist),
 * FRONTA_ERANGE (grid larger than the communicator). */
FRONTA_API FRONTA_NODISCARD int fronta_mpi_buffer_partition(fronta_mpi_t *m, fronta_buffer_t *b,
                                                            const fronta_partition_t *how,
                                                            const fronta_mpi_dist_t *dist);
/* Bring every chunk's latest version to b's owner, then
 * fronta_buffer_unpartition: b is whole again, its latest version on its
 * owner (and on any rank that held every chunk's). Chunks are
 * unregistered. FRONTA_EINVAL when b is not a registered, partitioned
 * buffer. */
FRONTA_API int fronta_mpi_buffer_unpartition(fronta_mpi_t *m, fronta_buffer_t *b);
/* Make b's latest version current on `rank` (a message from the rank that
 * holds it, unless rank has it already), ordered after every task
 * submitted on b so far: on that rank, fronta_buffer_acquire(b, IN) then
 * reads it. FRONTA_EINVAL (not registered), FRONTA_ERANGE (rank). */
FRONTA_API FRONTA_NODISCARD int fronta_mpi_buffer_fetch(fronta_mpi_t *m, fronta_buffer_t *b,
                                                        int rank);

/* ---- tasks --------------------------------------------------------------- */

/* Run on the owner of the task's first written buffer. */
#define FRONTA_MPI_OWNER (-1)

/* fronta_submit on every rank at once: the task runs on `rank`
 * (FRONTA_MPI_OWNER: the owner of its first OUT or INOUT buffer argument,
 * else of its first buffer, else rank 0). Each of its buffers must be
 * registered. On that rank, inputs whose latest version is elsewhere are
 * received first (once per version: a version received stays cached,
 * read-only, until a write makes it stale), the task is submitted, and
 * *out (may be NULL) is its future; the other ranks send what it needs
 * from them, record what it writes, and get *out = NULL. The arguments
 * are checked on every rank first (fronta_submit's checks), so a call
 * that fails fails everywhere and has no effect. A task that writes a
 * buffer it does not own leaves the latest version on its rank; nothing
 * is sent back until a task elsewhere reads it. Errors: those of
 * fronta_submit, FRONTA_EINVAL (a buffer not registered), FRONTA_ERANGE
 * (rank), FRONTA_ENOTSUP (`after` futures: not across ranks yet). */
FRONTA_API FRONTA_NODISCARD int fronta_mpi_submit(fronta_mpi_t *m, int rank,
                                                  const fronta_task_desc_t *task,
                                                  fronta_future_t **out);

/* ---- statistics ---------------------------------------------------------- */

typedef struct fronta_mpi_stats {
    size_t size;                   /* as fronta_config_t.size */
    uint64_t tasks_run;            /* tasks this rank submitted to its runtime */
    uint64_t tasks_skipped;        /* tasks that ran on another rank */
    uint64_t sends, recvs;         /* messages planned (at submit) */
    uint64_t bytes_sent, bytes_received;
    uint64_t cache_hits;           /* inputs already here as a received version */
    uint64_t transfers_done;       /* sends and receives completed */
    uint64_t transfers_failed;     /* ... of which failed (the data's writer or MPI) */
} fronta_mpi_stats_t;
/* Counters of this rank since attach; any thread. */
FRONTA_API int fronta_mpi_stats(fronta_mpi_t *m, fronta_mpi_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif /* FRONTA_MPI_H */
