/* fronta_mpi's lifecycle: attaching a runtime to a communicator, the
 * thread-level check, detaching, statistics. */
#include "mpi/mpi_internal.h"
#include "data/deferred.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fronta__mpi_fail(int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fronta__set_last_error(code, msg);
}

int fronta__mpi_valid(const fronta_mpi_t *m)
{
    return m && m->magic == FRONTA__MPI_MAGIC;
}

static const char *level_name(int level)
{
    switch (level) {
    case MPI_THREAD_SINGLE:
        return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
        return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
        return "MPI_THREAD_SERIALIZED";
    default:
        return "MPI_THREAD_MULTIPLE";
    }
}

/* MPI is usable from here: initialised, not finalised, and at a thread
 * level that lets the progress thread call it beside the user's threads
 * (SERIALIZED would need every MPI call of the program to go through one
 * lock of ours, which the user's own calls do not take). */
static int check_mpi(void)
{
    int init = 0, fin = 0, level = MPI_THREAD_SINGLE;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_attach: MPI is %s: call "
                                "MPI_Init_thread(..., MPI_THREAD_MULTIPLE, &provided) first",
                                fin ? "finalised already" : "not initialised");
    MPI_Query_thread(&level);
    if (level < MPI_THREAD_MULTIPLE)
        return fronta__mpi_fail(FRONTA_ENOTSUP, "fronta_mpi_attach: MPI provides %s; fronta_mpi "
                                "needs MPI_THREAD_MULTIPLE (its progress thread calls MPI "
                                "beside the program's threads)", level_name(level));
    return 0;
}

static void mpi_free(fronta_mpi_t *m)
{
    fronta__mpi_table_free(m);
    fronta__mpi_ids_free(m);
    pthread_mutex_destroy(&m->idlock);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->qlock);
    pthread_cond_destroy(&m->qcond);
    pthread_cond_destroy(&m->idle);
    m->magic = 0;
    free(m);
}

/* The duplicate communicator, its size, our rank and its largest tag;
 * errors come back as codes on it rather than aborting the job. */
static int comm_setup(fronta_mpi_t *m, MPI_Comm comm)
{
    if (MPI_Comm_dup(comm, &m->comm) != MPI_SUCCESS)
        return fronta__mpi_fail(FRONTA_ECOMM, "fronta_mpi_attach: MPI_Comm_dup failed");
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->size);
    int flag = 0;
    void *ub = NULL;
    MPI_Comm_get_attr(m->comm, MPI_TAG_UB, &ub, &flag);
    m->tag_ub = flag && ub ? *(int *)ub : 32767; /* the standard's least */
    return 0;
}

int fronta_mpi_attach(fronta_runtime_t *rt, MPI_Comm comm, fronta_mpi_t **out)
{
    if (out)
        *out = NULL;
    if (!rt || !out || comm == MPI_COMM_NULL)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_attach: no runtime, communicator "
                                "or out");
    int rc = check_mpi();
    if (rc)
        return rc;
    fronta_mpi_t *m = calloc(1, sizeof *m);
    if (!m)
        return fronta__mpi_fail(FRONTA_ENOMEM, "fronta_mpi_attach: out of memory");
    m->rt = rt;
    m->st.size = sizeof m->st;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->qlock, NULL);
    pthread_mutex_init(&m->idlock, NULL);
    pthread_condattr_t ca; /* the progress thread's backoff waits on a monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->qcond, &ca);
    pthread_cond_init(&m->idle, &ca);
    pthread_condattr_destroy(&ca);
    m->magic = FRONTA__MPI_MAGIC;
    if ((rc = comm_setup(m, comm))) {
        mpi_free(m);
        return rc;
    }
    if ((rc = fronta__mpi_progress_start(m))) {
        MPI_Comm_free(&m->comm);
        mpi_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int fronta_mpi_detach(fronta_mpi_t *m)
{
    if (!m)
        return 0;
    if (!fronta__mpi_valid(m))
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_detach: not a fronta_mpi_t");
    fronta__mpi_progress_stop(m);
    /* Our transfers are complete here; the barrier keeps the duplicate
     * communicator alive until every rank's are. */
    int rc = MPI_Barrier(m->comm) == MPI_SUCCESS ? 0 : FRONTA_ECOMM;
    MPI_Comm_free(&m->comm);
    mpi_free(m);
    return rc;
}

/* Until outstanding is 0 or the deadline (CLOCK_MONOTONIC) passes. */
static int transfers_wait(fronta_mpi_t *m, double timeout)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int forever = !(timeout >= 0) ? timeout < 0 : timeout > 1e9; /* NaN polls */
    if (!forever && timeout > 0) {
        double s = (double)dl.tv_sec + (double)dl.tv_nsec * 1e-9 + timeout;
        dl.tv_sec = (time_t)s;
        dl.tv_nsec = (long)((s - (double)dl.tv_sec) * 1e9);
    }
    int rc = 0;
    pthread_mutex_lock(&m->qlock);
    while (m->outstanding && !rc)
        rc = forever ? pthread_cond_wait(&m->idle, &m->qlock)
                     : pthread_cond_timedwait(&m->idle, &m->qlock, &dl);
    int left = m->outstanding != 0;
    pthread_mutex_unlock(&m->qlock);
    return left ? FRONTA_ETIMEDOUT : 0;
}

int fronta_mpi_wait_all(fronta_mpi_t *m, double timeout)
{
    if (!fronta__mpi_valid(m))
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_wait_all: no fronta_mpi_t");
    int rc = fronta_runtime_wait_all(m->rt, timeout);
    return rc ? rc : transfers_wait(m, timeout);
}

int fronta_mpi_rank(const fronta_mpi_t *m)
{
    return fronta__mpi_valid(m) ? m->rank : -1;
}

int fronta_mpi_size(const fronta_mpi_t *m)
{
    return fronta__mpi_valid(m) ? m->size : 0;
}

fronta_runtime_t *fronta_mpi_runtime(const fronta_mpi_t *m)
{
    return fronta__mpi_valid(m) ? m->rt : NULL;
}

int fronta_mpi_stats(fronta_mpi_t *m, fronta_mpi_stats_t *out)
{
    if (!fronta__mpi_valid(m) || !out)
        return FRONTA_EINVAL;
    size_t want = out->size && out->size < sizeof *out ? out->size : sizeof *out;
    fronta_mpi_stats_t s;
    pthread_mutex_lock(&m->lock);
    s = m->st;
    pthread_mutex_unlock(&m->lock);
    s.transfers_done = atomic_load_explicit(&m->done, memory_order_relaxed);
    s.transfers_failed = atomic_load_explicit(&m->failed, memory_order_relaxed);
    s.progress_cpu_ns = 0;
    clockid_t cid;
    struct timespec ts;
    /* The thread runs from attach to detach: its clock is valid here. */
    if (pthread_getcpuclockid(m->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0)
        s.progress_cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    s.size = want;
    memcpy(out, &s, want);
    return 0;
}
