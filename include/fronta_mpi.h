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
/* Wait until every transfer submitted on this rank and every fronta_mpi
 * task it runs have completed (the outcome messages of handles too, so
 * every handle of this rank is done),
 * then synchronise with the other ranks (a barrier), stop the progress
 * thread and free m. Handles stay valid until released or until the
 * runtime is destroyed. Registered buffers stay the user's (unregistered). Call it
 * before destroying rt and before MPI_Finalize; collective. NULL: 0. */
FRONTA_API int fronta_mpi_detach(fronta_mpi_t *m);
/* fronta_runtime_wait_all, then wait until every transfer of this rank
 * has completed too (a send whose data's writer failed ends its access at
 * once but its empty message later; the outcome messages of handles).
 * Handles count as the runtime's tasks, so the first wait waits for this
 * rank's proxies to hear from the ranks that run their tasks. Not
 * collective. timeout as
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

/* Handles and global ids (docs/scale-out.md, "Futures across ranks").
 * Every fronta_mpi task gets a global id, 2^63 + its place among the
 * fronta_mpi tasks of m (1, 2, ...), the same on every rank: it is
 * fronta_future_task_id of its handle on every rank, and the task_id of
 * fronta_error_t for every failure that started in it, on every rank,
 * whichever rank's dependent reports it (a failure that started in a
 * rank's own non-fronta_mpi task keeps that runtime's id; the message's
 * text, the running rank's, may name a local id: read the root from
 * task_id).
 *
 * With out non-NULL -- alike on every rank, like every argument -- each
 * rank gets a handle: on the running rank a future that completes with
 * the task, elsewhere a proxy that completes when the outcome message
 * from the running rank arrives (one small message to each other rank
 * when the task completes, eagerly: a rank may wait on it, read its
 * status, its error and root, and its result bytes, or name it in
 * `after`). Handles are RUNNING until done (fronta_future_cancel:
 * FRONTA_EBUSY) and count as tasks of the rank's runtime, so
 * fronta_runtime_wait_all waits for them; release each as usual. With
 * out NULL nothing is sent beyond what the task's data needs.
 * fronta_future_device of a handle: on the running rank, once it is done,
 * the device of that rank that ran the task (its pool, 0, or an OpenCL
 * device: each rank schedules its tasks over its own devices as on one
 * machine); -1 before, and on the other ranks. A
 * done-callback of a handle may run on the progress thread or inside a
 * fronta_mpi call: it must not call fronta_mpi_* on the same m. */

/* fronta_submit on every rank at once: the task runs on `rank`
 * (FRONTA_MPI_OWNER: the owner of its first OUT or INOUT buffer argument,
 * else of its first buffer, else rank 0). Each of its buffers must be
 * registered; each of its `after` futures must be a handle that
 * fronta_mpi_submit or fronta_mpi_submit_call gave on m (each rank
 * passes its own handle of the same task: on the running rank the task
 * then waits for the earlier task's outcome, received if it ran
 * elsewhere, and fails with FRONTA_EDEPFAILED naming its root when that
 * one failed). On that rank, inputs whose latest version is elsewhere are
 * received first (once per version: a version received stays cached,
 * read-only, until a write makes it stale), then the task is submitted;
 * the other ranks send what it needs from them and record what it
 * writes. The arguments are checked on every rank first (fronta_submit's
 * checks), so a call that fails fails everywhere and has no effect. A
 * refusal by the running rank's own fronta_submit after that (a resource
 * or device it lacks, shutdown) is, with a handle, the handle's outcome
 * on every rank (the call returns 0); without one, the running rank's
 * return. A task that writes a buffer it does not own leaves the latest
 * version on its rank; nothing is sent back until a task elsewhere reads
 * it. Errors: those of fronta_submit, FRONTA_EINVAL (a buffer not
 * registered, an `after` future that is not a handle of m), FRONTA_ERANGE
 * (rank), FRONTA_ENOMEM (no handle: the ranks are then out of step). */
FRONTA_API FRONTA_NODISCARD int fronta_mpi_submit(fronta_mpi_t *m, int rank,
                                                  const fronta_task_desc_t *task,
                                                  fronta_future_t **out);

/* fronta_submit_call on every rank at once: call->fn(ctx, arg) runs on
 * `rank` (a rank of the communicator: a plain task has no data to choose
 * by) after the `after` futures, handles of m as for fronta_mpi_submit;
 * inside it fronta_ctx_input(ctx, i) is the result of after[i], whose
 * bytes came with the earlier task's outcome message when it ran
 * elsewhere. Its own result travels to every rank with its outcome when
 * out is non-NULL (results are small values: keep large data in
 * buffers; at most INT_MAX bytes, else the other ranks' handles fail
 * with FRONTA_ERANGE). A key of 0 becomes the task's global id, so its
 * random stream does not depend on the rank that runs it; the handles'
 * fronta_future_key is the key on every rank (a kernel task's handle's
 * is not its stream's: that one is derived where it runs). The same
 * handles, refusals and errors as fronta_mpi_submit; the checks made on
 * every rank are fronta_submit_call's (FRONTA_EINVAL: no fn, arg_size
 * without arg, nafter without after, an `after` not a handle of m;
 * FRONTA_ERANGE: rank, arg_size, nafter or retries); resources are
 * checked on the running rank (a refusal there as above). */
FRONTA_API FRONTA_NODISCARD int fronta_mpi_submit_call(fronta_mpi_t *m, int rank,
                                                       const fronta_call_t *call,
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
    /* Since futures across ranks: outcome messages planned (at submit),
     * one per other rank for each task with handles; not in the above. */
    uint64_t futures_sent, futures_received;
    /* CPU time the progress thread has used (its polls, posts, spins and
     * copies), so that its cost can be measured; 0 where the system
     * cannot say. */
    uint64_t progress_cpu_ns;
} fronta_mpi_stats_t;
/* Counters of this rank since attach; any thread. */
FRONTA_API int fronta_mpi_stats(fronta_mpi_t *m, fronta_mpi_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif /* FRONTA_MPI_H */
