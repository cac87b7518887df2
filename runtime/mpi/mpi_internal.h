/* libfronta_mpi's internal types: the attached communicator, the state of
 * each distributed buffer, and the transfers the progress thread runs. */
#ifndef FRONTA_MPI_INTERNAL_H
#define FRONTA_MPI_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "fronta_mpi.h"

#define FRONTA__MPI_MAGIC 0x464d5049u /* "FMPI" */
/* have[r] when rank r holds no version of the buffer. */
#define FRONTA__MPI_NONE UINT64_MAX

/* A logical array as every rank sees it. Every rank keeps the same state
 * for every buffer, since every rank sees every submission: so a rank
 * knows, without asking, who holds which version and whether a peer has
 * a version already (no duplicate transfer). Under fronta_mpi.lock. */
typedef struct fronta__mpi_buf {
    fronta_buffer_t *b;               /* this rank's copy */
    int owner;
    int writer;                       /* holds the latest version for sure */
    uint64_t version;                 /* writes so far */
    uint64_t *have;                   /* [size]: the version rank r holds */
    size_t bytes;
    struct fronta__mpi_buf *parent;   /* a chunk's parent, else NULL */
} fronta__mpi_buf;

/* One message: a deferred access of this rank's copy (IN to send, OUT to
 * receive) that the progress thread begins when its turn comes. */
typedef struct fronta__mpi_xfer {
    struct fronta__mpi_xfer *next;    /* the ready list */
    struct fronta_mpi *m;
    fronta_buffer_t *b;
    fronta_future_t *h;               /* the access */
    size_t bytes;
    void *scratch;                    /* a receive whose access failed lands here */
    int peer, tag, is_send;
    int failed;                       /* the access failed: send an empty message */
    MPI_Request req;
} fronta__mpi_xfer;

/* The progress thread's requests in flight (its own: no lock). */
typedef struct fronta__mpi_active {
    fronta__mpi_xfer **x;
    MPI_Request *req;
    MPI_Status *st;
    int *idx;
    int n, cap;
} fronta__mpi_active;

struct fronta_mpi {
    uint32_t magic;
    fronta_runtime_t *rt;
    MPI_Comm comm;                    /* a duplicate of the user's */
    int rank, size;
    int tag_ub;
    /* Guards the table, the tag counter and the planned counters: one
     * submission at a time, so the order of submissions is the order of
     * planning on every rank. Never held while waiting for a task. */
    pthread_mutex_t lock;
    fronta__mpi_buf **table;          /* open addressing by buffer address */
    size_t table_cap, table_used, table_dead;
    uint64_t next_tag;
    fronta_mpi_stats_t st;
    /* The progress thread's queue. qlock is taken inside completions
     * (the ready callback) and never held while calling into fronta. */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;             /* work for the progress thread */
    pthread_cond_t idle;              /* outstanding reached 0 */
    fronta__mpi_xfer *ready_head, *ready_tail;
    size_t outstanding;               /* transfers submitted, not completed */
    int stop;
    pthread_t thread;
    fronta__mpi_active act;
    atomic_uint_fast64_t done, failed;
};

/* ---- attach.c ---- */
/* Set fronta_last_error (printf-like) and return code. */
int fronta__mpi_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fronta__mpi_valid(const fronta_mpi_t *m);

/* ---- progress.c ---- */
int fronta__mpi_progress_start(fronta_mpi_t *m);
/* Wait for every transfer, then stop the thread. */
void fronta__mpi_progress_stop(fronta_mpi_t *m);
/* Post a send of b to peer (is_send) or a receive from it, in b's order
 * of accesses; the progress thread runs it when its turn comes. */
int fronta__mpi_xfer_submit(fronta_mpi_t *m, fronta_buffer_t *b, int peer, int tag,
                            int is_send);

/* ---- registry.c (under m->lock) ---- */
fronta__mpi_buf *fronta__mpi_find(const fronta_mpi_t *m, const fronta_buffer_t *b);
fronta__mpi_buf *fronta__mpi_add(fronta_mpi_t *m, fronta_buffer_t *b, int owner);
void fronta__mpi_remove(fronta_mpi_t *m, fronta__mpi_buf *d);
void fronta__mpi_table_free(fronta_mpi_t *m);

/* ---- submit.c (under m->lock) ---- */
/* Make d's latest version current on rank `to` (a message from its writer
 * unless `to` has it): what a task's input and fronta_mpi_buffer_fetch do. */
int fronta__mpi_bring(fronta_mpi_t *m, fronta__mpi_buf *d, int to);

#endif
