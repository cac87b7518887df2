/* Owner computes: where a task runs, the messages its inputs need (each
 * version sent to a rank at most once), and what its writes make stale;
 * the same plan on every rank, from the same submissions. */
#include "mpi/mpi_internal.h"
#include "data/deferred.h"

#include <limits.h>

/* A task's distinct buffers, in argument order, each with the union of
 * its modes (a buffer passed IN twice needs one message). */
typedef struct plan {
    fronta__mpi_buf *d[FRONTA_MAX_ARGS];
    fronta_access_t mode[FRONTA_MAX_ARGS];
    size_t n;
} plan;

static size_t nargs_of(const fronta_task_desc_t *t)
{
    if (t->nargs)
        return t->nargs;
    size_t n = 0;
    while (n < FRONTA_MAX_ARGS && t->args[n].kind != FRONTA_ARG_NONE)
        n++;
    return n;
}

static int gather(const fronta_mpi_t *m, const fronta_task_desc_t *t, plan *p)
{
    size_t nargs = nargs_of(t);
    p->n = 0;
    for (size_t i = 0; i < nargs; i++) {
        if (t->args[i].kind != FRONTA_ARG_BUFFER)
            continue;
        fronta__mpi_buf *d = fronta__mpi_find(m, t->args[i].buffer);
        if (!d)
            return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_submit: argument %zu is a "
                                    "buffer not registered with fronta_mpi_buffer_register", i);
        size_t k = 0;
        while (k < p->n && p->d[k] != d)
            k++;
        if (k == p->n) {
            p->d[p->n] = d;
            p->mode[p->n++] = t->args[i].access;
        } else {
            p->mode[k] = (fronta_access_t)(p->mode[k] | t->args[i].access);
        }
    }
    return 0;
}

/* Owner of the first written buffer, else of the first buffer, else 0. */
static int exec_rank(const plan *p)
{
    for (size_t k = 0; k < p->n; k++)
        if (p->mode[k] & FRONTA_ACCESS_OUT)
            return p->d[k]->owner;
    return p->n ? p->d[0]->owner : 0;
}

/* One MPI message carries at most INT_MAX bytes: a larger buffer that
 * has to travel is refused before anything is planned. */
static int check_size(const fronta__mpi_buf *d, int to)
{
    if (d->have[to] == d->version || d->bytes <= (size_t)INT_MAX)
        return 0;
    return fronta__mpi_fail(FRONTA_ERANGE, "fronta_mpi: a buffer of %zu bytes would travel in "
                            "one message (at most %d bytes): partition it", d->bytes, INT_MAX);
}

int fronta__mpi_bring(fronta_mpi_t *m, fronta__mpi_buf *d, int to)
{
    if (d->have[to] == d->version)
        return 0;
    int from = d->writer;
    /* Every rank counts every transfer: the same tag on both ends. Tags
     * wrap at the communicator's bound; one is reused only after tag_ub
     * later transfers, long after this one has matched. */
    int tag = (int)(m->next_tag++ % (uint64_t)m->tag_ub);
    int rc = 0;
    if (m->rank == from && !(rc = fronta__mpi_xfer_submit(m, d->b, to, tag, 1))) {
        m->st.sends++;
        m->st.bytes_sent += d->bytes;
    } else if (m->rank == to && !(rc = fronta__mpi_xfer_submit(m, d->b, from, tag, 0))) {
        m->st.recvs++;
        m->st.bytes_received += d->bytes;
    }
    /* Recorded whatever rc: the other ranks cannot know of a local
     * failure, and must stay in step with this one (docs/scale-out.md). */
    d->have[to] = d->version;
    return rc;
}

/* The inputs to rank exec, counting cached ones; stops at an error. */
static int bring_inputs(fronta_mpi_t *m, const plan *p, int exec)
{
    for (size_t k = 0; k < p->n; k++) {
        fronta__mpi_buf *d = p->d[k];
        if (!(p->mode[k] & FRONTA_ACCESS_IN))
            continue; /* overwritten whole: the old contents are not needed */
        if (d->have[exec] == d->version) {
            if (m->rank == exec && d->writer != exec)
                m->st.cache_hits++;
            continue;
        }
        int rc = fronta__mpi_bring(m, d, exec);
        if (rc)
            return rc;
    }
    return 0;
}

/* The task's writes: a new version, held by exec alone. */
static void record_writes(const plan *p, int exec)
{
    for (size_t k = 0; k < p->n; k++) {
        fronta__mpi_buf *d = p->d[k];
        if (!(p->mode[k] & FRONTA_ACCESS_OUT))
            continue;
        d->version++;
        d->writer = exec;
        d->have[exec] = d->version;
    }
}

/* Checks every rank makes alike, before anything is planned. */
static int check(fronta_mpi_t *m, int rank, const fronta_task_desc_t *t, plan *p, int *exec)
{
    if (rank != FRONTA_MPI_OWNER && (rank < 0 || rank >= m->size))
        return fronta__mpi_fail(FRONTA_ERANGE, "fronta_mpi_submit: rank %d of a communicator "
                                "of %d", rank, m->size);
    int rc = fronta__mpi_check_after(m, t->after, t->nafter, "fronta_mpi_submit");
    if (!rc)
        rc = fronta__submit_check(m->rt, t);
    if (!rc)
        rc = gather(m, t, p);
    if (rc)
        return rc;
    *exec = rank == FRONTA_MPI_OWNER ? exec_rank(p) : rank;
    for (size_t k = 0; k < p->n && !rc; k++)
        if (p->mode[k] & FRONTA_ACCESS_IN)
            rc = check_size(p->d[k], *exec);
    return rc;
}

int fronta_mpi_submit(fronta_mpi_t *m, int rank, const fronta_task_desc_t *task,
                      fronta_future_t **out)
{
    if (out)
        *out = NULL;
    if (!fronta__mpi_valid(m) || !task)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_submit: no fronta_mpi_t or no task");
    plan p = {.n = 0};
    int exec = 0;
    pthread_mutex_lock(&m->lock);
    int rc = check(m, rank, task, &p, &exec);
    fronta__mpi_task *rec = NULL;
    if (!rc)
        rc = fronta__mpi_task_open(m, exec, 0, out, &rec); /* a kernel task's key is its rank's */
    if (!rc) {
        rc = bring_inputs(m, &p, exec);
        /* The receives come first in this rank's order of accesses, so
         * the task follows them. A refusal here, after the checks passed
         * everywhere, is the handle's outcome on every rank (the buffers'
         * versions move on regardless, as on every rank). */
        if (rec) {
            fronta_future_t *real = NULL;
            int src = fronta_submit(m->rt, task, &real);
            fronta__mpi_task_submitted(rec, src, real);
            rc = rc ? rc : out ? 0 : src;
            m->st.tasks_run++;
        } else {
            m->st.tasks_skipped++;
        }
        record_writes(&p, exec);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int fronta_mpi_buffer_fetch(fronta_mpi_t *m, fronta_buffer_t *b, int rank)
{
    if (!fronta__mpi_valid(m))
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_fetch: no fronta_mpi_t");
    if (rank < 0 || rank >= m->size)
        return fronta__mpi_fail(FRONTA_ERANGE, "fronta_mpi_buffer_fetch: rank %d of a "
                                "communicator of %d", rank, m->size);
    pthread_mutex_lock(&m->lock);
    fronta__mpi_buf *d = fronta__mpi_find(m, b);
    int rc = d ? check_size(d, rank)
               : fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_fetch: not registered");
    if (!rc)
        rc = fronta__mpi_bring(m, d, rank);
    pthread_mutex_unlock(&m->lock);
    return rc;
}
