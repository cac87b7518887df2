/* The progress thread: begins each transfer when its turn in the buffer's
 * order comes, posts it non-blocking, and completes it when MPI_Testsome
 * says it is done, sleeping with a backoff in between (not a busy core). */
#include "mpi/mpi_internal.h"
#include "data/deferred.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Backoff between polls that found nothing: from 5 us doubling to
 * 200 us. A new ready transfer wakes the thread at once (qcond); the
 * backoff bounds only how late a completion that MPI reports is seen.
 * For SPIN_NS after the last progress the thread polls without sleeping,
 * yielding the core between polls: a reply usually comes within that
 * (a remote dependency's round trip was 370 us with the backoff alone,
 * each side seeing the other's message one sleep late); past it, a rank
 * that waits long costs a few wake-ups a millisecond, not a core. */
#define BACKOFF_MIN_US 5u
#define BACKOFF_MAX_US 200u
#define SPIN_NS 200000u

static fronta_access_t xfer_mode(const fronta__mpi_xfer *x)
{
    return x->kind == FRONTA__X_BUF_SEND ? FRONTA_ACCESS_IN : FRONTA_ACCESS_OUT;
}

static int is_buf(const fronta__mpi_xfer *x)
{
    return x->kind == FRONTA__X_BUF_SEND || x->kind == FRONTA__X_BUF_RECV;
}

static int is_send(const fronta__mpi_xfer *x)
{
    return x->kind == FRONTA__X_BUF_SEND || x->kind == FRONTA__X_FUT_SEND;
}

void fronta__mpi_xfer_ready(fronta_mpi_t *m, fronta__mpi_xfer *x)
{
    pthread_mutex_lock(&m->qlock);
    x->next = NULL;
    if (m->ready_tail)
        m->ready_tail->next = x;
    else
        m->ready_head = x;
    m->ready_tail = x;
    pthread_cond_signal(&m->qcond);
    pthread_mutex_unlock(&m->qlock);
}

/* The access's turn came: runs inside a completion, so it only queues. */
static void on_ready(void *ud)
{
    fronta__mpi_xfer *x = ud;
    fronta__mpi_xfer_ready(x->m, x);
}

void fronta__mpi_outstanding_add(fronta_mpi_t *m, size_t n)
{
    pthread_mutex_lock(&m->qlock);
    m->outstanding += n;
    pthread_mutex_unlock(&m->qlock);
}

void fronta__mpi_outstanding_done(fronta_mpi_t *m)
{
    pthread_mutex_lock(&m->qlock);
    if (--m->outstanding == 0)
        pthread_cond_broadcast(&m->idle);
    pthread_mutex_unlock(&m->qlock);
}

int fronta__mpi_xfer_submit(fronta_mpi_t *m, fronta_buffer_t *b, int peer, int tag, int send)
{
    fronta__mpi_xfer *x = calloc(1, sizeof *x);
    if (!x)
        return fronta__mpi_fail(FRONTA_ENOMEM, "fronta_mpi: out of memory for a transfer");
    x->m = m;
    x->kind = send ? FRONTA__X_BUF_SEND : FRONTA__X_BUF_RECV;
    x->b = b;
    x->bytes = fronta_buffer_count(b) * fronta_dtype_size(fronta_buffer_dtype(b));
    x->peer = peer;
    x->tag = tag;
    x->req = MPI_REQUEST_NULL;
    /* Counted first: it may be ready, run and complete before the call returns. */
    fronta__mpi_outstanding_add(m, 1);
    int rc = fronta__defer_submit(b, xfer_mode(x), on_ready, x, &x->h);
    if (rc) {
        fronta__mpi_outstanding_done(m);
        free(x);
    }
    return rc;
}

static void finish(fronta_mpi_t *m, fronta__mpi_xfer *x, int code, const char *msg)
{
    if (is_buf(x)) {
        /* Counted before the access ends: whoever waits for it (wait_all)
         * then reads the counts with it. */
        atomic_fetch_add_explicit(&m->done, 1, memory_order_relaxed);
        if (code || x->failed)
            atomic_fetch_add_explicit(&m->failed, 1, memory_order_relaxed);
        /* Before the access fails its readers: their completion names its
         * id as their root, which must then read as the sender's. */
        if (x->kind == FRONTA__X_BUF_RECV && code == FRONTA_EDEPFAILED && x->root)
            fronta__mpi_id_put(m, fronta_future_task_id(x->h), x->root);
        if (!x->failed) /* else the access ended when it could not begin */
            fronta__defer_end(x->b, x->h, xfer_mode(x), code, msg);
        fronta_future_release(x->h);
        free(x->scratch);
    } else if (x->kind == FRONTA__X_FUT_SEND) {
        if (atomic_fetch_sub_explicit(&x->blob->refs, 1, memory_order_acq_rel) == 1)
            free(x->blob);
    } else {
        fronta__mpi_outcome_settle(x, code, msg);
        free(x->payload);
    }
    free(x);
    fronta__mpi_outstanding_done(m);
}

static void mpi_error(int err, const char *what, char *msg, size_t msz)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, s, &len) != MPI_SUCCESS)
        snprintf(s, sizeof s, "MPI error %d", err);
    snprintf(msg, msz, "fronta_mpi: %s failed: %s", what, s);
}

static int active_grow(fronta__mpi_active *a)
{
    int cap = a->cap ? a->cap * 2 : 64;
    void *x = realloc(a->x, (size_t)cap * sizeof *a->x);
    if (x)
        a->x = x;
    void *r = x ? realloc(a->req, (size_t)cap * sizeof *a->req) : NULL;
    if (r)
        a->req = r;
    void *s = r ? realloc(a->st, (size_t)cap * sizeof *a->st) : NULL;
    if (s)
        a->st = s;
    void *i = s ? realloc(a->idx, (size_t)cap * sizeof *a->idx) : NULL;
    if (i)
        a->idx = i;
    if (!i)
        return FRONTA_ENOMEM; /* the arrays that grew are fine at the old size */
    a->cap = cap;
    return 0;
}

/* A buffer access that cannot begin (its writer failed, or a copy did).
 * A receive still takes its message, into scratch, so that the sender's
 * request completes and later tags stay matched; a send names the
 * failure's root for the receiver. */
static void *begin(fronta_mpi_t *m, fronta__mpi_xfer *x)
{
    char msg[256];
    void *host = NULL;
    if (fronta__defer_begin(x->b, x->h, xfer_mode(x), &host, msg, sizeof msg) == 0)
        return host;
    x->failed = 1;
    if (x->kind == FRONTA__X_BUF_RECV) {
        x->scratch = malloc(x->bytes ? x->bytes : 1);
        return x->scratch;
    }
    fronta_error_t err;
    x->root = fronta_future_error(x->h, &err) ? fronta__mpi_id_global(m, err.task_id) : 0;
    return NULL;
}

static int post(fronta_mpi_t *m, fronta__mpi_xfer *x, void *buf, size_t count)
{
    return is_send(x) ? MPI_Isend(buf, (int)count, MPI_BYTE, x->peer, x->tag, m->comm, &x->req)
                      : MPI_Irecv(buf, (int)count, MPI_BYTE, x->peer, x->tag, m->comm, &x->req);
}

static int advance(fronta_mpi_t *m, fronta__mpi_xfer *x, MPI_Status *st, int *code, char *msg,
                   size_t msz);

/* Post x's first message; 1 (progress: it was started or ended). */
static int start(fronta_mpi_t *m, fronta__mpi_xfer *x)
{
    int rc;
    switch (x->kind) {
    case FRONTA__X_BUF_SEND: {
        void *host = begin(m, x);
        /* A failed sender sends an empty message: the receiver's count says
         * the data's writer failed (fronta__mpi_bring keeps bytes <= INT_MAX). */
        rc = post(m, x, host, x->failed ? 0 : x->bytes);
        break;
    }
    case FRONTA__X_BUF_RECV: {
        void *host = begin(m, x);
        rc = post(m, x, host, host ? x->bytes : 0);
        break;
    }
    case FRONTA__X_FUT_SEND:
        rc = post(m, x, &x->blob->hdr, sizeof x->blob->hdr);
        break;
    default:
        rc = post(m, x, &x->hdr, sizeof x->hdr);
        break;
    }
    if (rc != MPI_SUCCESS) {
        char msg[MPI_MAX_ERROR_STRING + 64];
        mpi_error(rc, is_send(x) ? "MPI_Isend" : "MPI_Irecv", msg, sizeof msg);
        finish(m, x, FRONTA_ECOMM, msg);
        return 1;
    }
    fronta__mpi_active *a = &m->act;
    if (a->n == a->cap && active_grow(a)) {
        /* No room to track it: wait for it here, late but correct. */
        for (;;) {
            MPI_Status st;
            rc = MPI_Wait(&x->req, &st);
            if (rc != MPI_SUCCESS) {
                finish(m, x, FRONTA_ECOMM, "fronta_mpi: MPI_Wait failed");
                return 1;
            }
            /* The second message of two, if any, the same way. */
            char msg[MPI_MAX_ERROR_STRING + 160];
            int code = 0;
            if (!advance(m, x, &st, &code, msg, sizeof msg)) {
                finish(m, x, code, msg[0] ? msg : NULL);
                return 1;
            }
        }
    }
    a->x[a->n] = x;
    a->req[a->n] = x->req;
    a->n++;
    return 1;
}

/* x's message completed well: post the second one and return 1, or
 * return 0 with the outcome in *code and msg. */
static int advance(fronta_mpi_t *m, fronta__mpi_xfer *x, MPI_Status *st, int *code, char *msg,
                   size_t msz)
{
    void *buf = NULL;
    size_t count = 0;
    int got = 0;
    *code = 0;
    msg[0] = 0;
    switch (x->kind) {
    case FRONTA__X_BUF_SEND:
        if (x->phase || !x->failed)
            return 0;
        buf = &x->root;
        count = sizeof x->root;
        break;
    case FRONTA__X_BUF_RECV:
        if (x->phase) {
            snprintf(msg, msz, "fronta_mpi: rank %d could not send this buffer: the task that "
                     "last wrote it there failed (root task %llu)", x->peer,
                     (unsigned long long)x->root);
            *code = FRONTA_EDEPFAILED;
            return 0;
        }
        if (MPI_Get_count(st, MPI_BYTE, &got) != MPI_SUCCESS || (size_t)got == x->bytes)
            return 0;
        if (got != 0) {
            snprintf(msg, msz, "fronta_mpi: %d bytes from rank %d where %zu were due: the "
                     "ranks registered different buffers", got, x->peer, x->bytes);
            *code = FRONTA_ECOMM;
            return 0;
        }
        buf = &x->root; /* the sender failed: its root follows */
        count = sizeof x->root;
        break;
    case FRONTA__X_FUT_SEND:
        count = (size_t)x->blob->hdr.res_size + x->blob->hdr.msg_size;
        if (x->phase || !count)
            return 0;
        buf = x->blob->data;
        break;
    default:
        if (x->phase)
            return 0;
        if (x->hdr.gid != x->gid) {
            snprintf(msg, msz, "fronta_mpi: the outcome of task %llu arrived where task %llu's "
                     "was due: the ranks submitted different tasks",
                     (unsigned long long)x->hdr.gid, (unsigned long long)x->gid);
            *code = FRONTA_ECOMM;
            return 0;
        }
        count = (size_t)x->hdr.res_size + x->hdr.msg_size;
        if (!count)
            return 0;
        /* Out of memory leaves the message unmatched: its tag comes round
         * again only tag_ub transfers later. */
        buf = x->payload = malloc(count);
        break;
    }
    x->phase = 1;
    int rc = buf || !count ? post(m, x, buf, count) : MPI_ERR_NO_MEM;
    if (rc != MPI_SUCCESS) {
        mpi_error(rc, is_send(x) ? "MPI_Isend" : "MPI_Irecv", msg, msz);
        *code = rc == MPI_ERR_NO_MEM ? FRONTA_ENOMEM : FRONTA_ECOMM;
        return 0;
    }
    return 1;
}

/* Complete what MPI has done; 1 when something was. */
static int test_some(fronta_mpi_t *m)
{
    fronta__mpi_active *a = &m->act;
    if (!a->n)
        return 0;
    int outcount = 0;
    int rc = MPI_Testsome(a->n, a->req, &outcount, a->idx, a->st);
    if ((rc != MPI_SUCCESS && rc != MPI_ERR_IN_STATUS) || outcount == MPI_UNDEFINED ||
        outcount == 0)
        return 0;
    for (int k = 0; k < outcount; k++) {
        int i = a->idx[k];
        fronta__mpi_xfer *x = a->x[i];
        char msg[MPI_MAX_ERROR_STRING + 160];
        int err = rc == MPI_ERR_IN_STATUS ? a->st[k].MPI_ERROR : MPI_SUCCESS;
        int code = 0;
        if (err != MPI_SUCCESS) {
            mpi_error(err, is_send(x) ? "a send" : "a receive", msg, sizeof msg);
            code = FRONTA_ECOMM;
        } else if (advance(m, x, &a->st[k], &code, msg, sizeof msg)) {
            a->req[i] = x->req; /* its second message: stays in flight */
            continue;
        }
        finish(m, x, code, msg[0] ? msg : NULL);
        a->x[i] = NULL;
    }
    int n = 0; /* keep the rest in posting order */
    for (int i = 0; i < a->n; i++)
        if (a->x[i]) {
            a->x[n] = a->x[i];
            a->req[n++] = a->req[i];
        }
    a->n = n;
    return 1;
}

static void wait_us(fronta_mpi_t *m, unsigned us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)us * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&m->qcond, &m->qlock, &ts);
}

/* Take the ready list, sleeping first when there is nothing to do: on
 * the condition alone with no request in flight, with the backoff while
 * requests are. *stop: nothing is left and detach asked us to leave. */
static fronta__mpi_xfer *take_ready(fronta_mpi_t *m, unsigned backoff, int *stop)
{
    pthread_mutex_lock(&m->qlock);
    while (!m->ready_head && !m->act.n && !m->stop)
        pthread_cond_wait(&m->qcond, &m->qlock);
    if (!m->ready_head && m->act.n && backoff)
        wait_us(m, backoff);
    fronta__mpi_xfer *r = m->ready_head;
    m->ready_head = m->ready_tail = NULL;
    *stop = m->stop && !r && !m->act.n;
    pthread_mutex_unlock(&m->qlock);
    return r;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The next sleep after a poll: none (a yield) while the last progress is
 * recent, else the backoff's next step. */
static unsigned next_backoff(unsigned backoff, int progressed, uint64_t *last)
{
    uint64_t t = now_ns();
    if (progressed)
        *last = t;
    if (progressed || t - *last < SPIN_NS) {
        if (!progressed)
            sched_yield();
        return 0;
    }
    return backoff ? (backoff * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : backoff * 2)
                   : BACKOFF_MIN_US;
}

static void *progress_main(void *arg)
{
    fronta_mpi_t *m = arg;
    unsigned backoff = 0;
    uint64_t last = now_ns();
#ifdef PR_SET_TIMERSLACK
    /* Sleeps of 5-200 us, not the 50 us more Linux's default slack adds. */
    (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
#endif
    for (;;) {
        int stop = 0;
        fronta__mpi_xfer *r = take_ready(m, backoff, &stop);
        if (stop)
            break;
        int progressed = 0;
        while (r) {
            fronta__mpi_xfer *next = r->next;
            progressed |= start(m, r);
            r = next;
        }
        progressed |= test_some(m);
        backoff = next_backoff(backoff, progressed, &last);
    }
    return NULL;
}

int fronta__mpi_progress_start(fronta_mpi_t *m)
{
    int rc = pthread_create(&m->thread, NULL, progress_main, m);
    if (rc)
        return fronta__mpi_fail(FRONTA_ESYS, "fronta_mpi_attach: no progress thread: %s",
                                strerror(rc));
    return 0;
}

void fronta__mpi_progress_stop(fronta_mpi_t *m)
{
    pthread_mutex_lock(&m->qlock);
    while (m->outstanding)
        pthread_cond_wait(&m->idle, &m->qlock);
    m->stop = 1;
    pthread_cond_signal(&m->qcond);
    pthread_mutex_unlock(&m->qlock);
    pthread_join(m->thread, NULL);
    free(m->act.x);
    free(m->act.req);
    free(m->act.st);
    free(m->act.idx);
    memset(&m->act, 0, sizeof m->act);
}
