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
/* Global task ids: 2^63 + the task's sequence number on its fronta_mpi_t,
 * the same on every rank; a runtime's own ids never get there. */
#define FRONTA__MPI_ID_BASE (UINT64_C(1) << 63)

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

/* What one transfer is. A buffer's sends and receives are deferred
 * accesses of this rank's copy (IN to send, OUT to receive) that begin
 * when their turn in the buffer's order comes; a task's outcome (its
 * status, error and result, to a rank that holds a handle of it) is
 * ready at once: a receive is posted at submit, a send when the task
 * completes. */
enum {
    FRONTA__X_BUF_SEND,
    FRONTA__X_BUF_RECV,
    FRONTA__X_FUT_SEND,
    FRONTA__X_FUT_RECV
};

/* A task's outcome on the wire: this header, then (when res_size +
 * msg_size > 0) one message of the result bytes and the error message
 * (with its NUL), on the same tag: MPI keeps the order of two messages
 * of one sender and tag. */
typedef struct fronta__mpi_hdr {
    uint64_t gid;                     /* the task's global id: a check of the tag's pairing */
    uint64_t root;                    /* the global id of the failure's root, else 0 */
    int32_t code;                     /* 0: finished */
    uint32_t res_size, msg_size;
    uint32_t pad;
} fronta__mpi_hdr;

/* An outcome packed once, shared by its sends to every other rank. */
typedef struct fronta__mpi_blob {
    atomic_int refs;
    fronta__mpi_hdr hdr;
    unsigned char data[];             /* res_size + msg_size bytes */
} fronta__mpi_blob;

/* One message. Under the progress thread alone once it is queued. */
typedef struct fronta__mpi_xfer {
    struct fronta__mpi_xfer *next;    /* the ready list */
    struct fronta_mpi *m;
    int kind;                         /* FRONTA__X_* */
    int phase;                        /* 0: the first message; 1: the second */
    int peer, tag;
    MPI_Request req;
    /* buffers */
    fronta_buffer_t *b;
    fronta_future_t *h;               /* the access */
    size_t bytes;
    void *scratch;                    /* a receive whose access failed lands here */
    int failed;                       /* the access failed: send an empty message */
    /* A failed send's empty message is followed by the global id of the
     * failure's root, so that the readers on the receiving rank name it. */
    uint64_t root;
    /* outcomes */
    fronta__mpi_blob *blob;           /* a send's */
    fronta_future_t *proxy;           /* a receive's: settled from what arrives */
    uint64_t gid;
    fronta__mpi_hdr hdr;              /* a receive's header */
    unsigned char *payload;           /* a receive's result and message */
} fronta__mpi_xfer;

/* A task this rank runs, from its submission to its completion callback,
 * which relays its outcome to the handle and the other ranks. */
typedef struct fronta__mpi_task {
    struct fronta_mpi *m;
    uint64_t gid;
    uint64_t local_id;                /* the real task's id in this rank's runtime */
    fronta_future_t *promise;         /* the user's handle, or NULL when none was asked */
    int tag_base;                     /* the outcome's sends: one tag per other rank */
} fronta__mpi_task;

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
    uint64_t seq;                     /* fronta_mpi tasks submitted: the last global id */
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
    /* This rank's task ids that may be named as a failure's root, each
     * with the global id every rank names it by: the tasks it runs (until
     * they finish without being a root) and the receives that failed
     * (their root is the sender's). Under idlock alone: written at
     * submit, by completion callbacks and by the progress thread. */
    pthread_mutex_t idlock;
    uint64_t *id_keys, *id_vals;
    size_t id_cap, id_used, id_dead;
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

/* Queue x for the progress thread (any thread; takes qlock). */
void fronta__mpi_xfer_ready(fronta_mpi_t *m, fronta__mpi_xfer *x);
/* One transfer more, or less, that detach and wait_all wait for. */
void fronta__mpi_outstanding_add(fronta_mpi_t *m, size_t n);
void fronta__mpi_outstanding_done(fronta_mpi_t *m);

/* ---- ids.c (each takes idlock) ---- */
int fronta__mpi_id_put(fronta_mpi_t *m, uint64_t local, uint64_t gid);
void fronta__mpi_id_del(fronta_mpi_t *m, uint64_t local);
/* The global id of root: itself when it is one already, its entry's, or
 * root unchanged (a failure that began outside fronta_mpi's tasks). */
uint64_t fronta__mpi_id_global(fronta_mpi_t *m, uint64_t root);
void fronta__mpi_ids_free(fronta_mpi_t *m);

/* ---- futures.c (under m->lock) ---- */
/* 0 when each of the n futures is a handle fronta_mpi gave on m. */
int fronta__mpi_check_after(const fronta_mpi_t *m, fronta_future_t *const *after, size_t n,
                            const char *what);
/* A task passed every rank's checks and runs on exec: its global id, and
 * with a handle (out non-NULL, on every rank alike) the handle *out: a
 * promise on exec, a proxy fed by exec's outcome message elsewhere, its
 * fronta_future_key key (0: none given). *rec (exec only) goes to
 * fronta__mpi_task_submitted. */
int fronta__mpi_task_open(fronta_mpi_t *m, int exec, uint64_t key, fronta_future_t **out,
                          fronta__mpi_task **rec);
/* On exec, after the local submission: rc its code, real its future. */
void fronta__mpi_task_submitted(fronta__mpi_task *rec, int rc, fronta_future_t *real);
/* The outcome messages of a completed task, to every rank but this one. */
void fronta__mpi_outcome_send(fronta__mpi_task *rec, int code, uint64_t root, const char *msg,
                              const void *res, size_t size);
/* A received outcome: settle x->proxy (progress thread). */
void fronta__mpi_outcome_settle(fronta__mpi_xfer *x, int code, const char *msg);

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
