/* Futures across ranks: every rank's handle of a fronta_mpi task (the
 * running rank's promise, the others' proxies), the outcome messages that
 * settle them, global ids, and plain function tasks on a chosen rank. */
#include "mpi/mpi_internal.h"
#include "data/deferred.h"

#include <stdlib.h>
#include <string.h>

int fronta__mpi_check_after(const fronta_mpi_t *m, fronta_future_t *const *after, size_t n,
                            const char *what)
{
    if (n && !after)
        return fronta__mpi_fail(FRONTA_EINVAL, "%s: nafter %zu and no after", what, n);
    for (size_t i = 0; i < n; i++) {
        /* A handle of m: its id is a global id m gave out. Checked the
         * same way on every rank, since every rank holds one for it. */
        uint64_t id = fronta_future_task_id(after[i]);
        if (id <= FRONTA__MPI_ID_BASE || id - FRONTA__MPI_ID_BASE > m->seq ||
            fronta_future_status(after[i]) == FRONTA_INVALID)
            return fronta__mpi_fail(FRONTA_EINVAL, "%s: after[%zu] is not a future that "
                                    "fronta_mpi_submit or fronta_mpi_submit_call gave on this "
                                    "fronta_mpi_t (a rank's own futures do not cross ranks)",
                                    what, i);
    }
    return 0;
}

/* The tag of rank r's message among the outcome's sends from exec. */
static int outcome_tag(const fronta_mpi_t *m, int base, int exec, int r)
{
    int k = r < exec ? r : r - 1;
    return (int)(((uint64_t)base + (uint64_t)k) % (uint64_t)m->tag_ub);
}

static int proxy_open(fronta_mpi_t *m, int exec, uint64_t gid, uint64_t key, int base,
                      fronta_future_t **out)
{
    fronta__mpi_xfer *x = calloc(1, sizeof *x);
    int rc = x ? fronta__promise_new(m->rt, gid, key, "fronta_mpi proxy", out) : FRONTA_ENOMEM;
    if (rc) {
        free(x);
        return fronta__mpi_fail(rc, "fronta_mpi: no handle for task %llu: %s",
                                (unsigned long long)gid, fronta_strerror(rc));
    }
    x->m = m;
    x->kind = FRONTA__X_FUT_RECV;
    x->peer = exec;
    x->tag = outcome_tag(m, base, exec, m->rank);
    x->req = MPI_REQUEST_NULL;
    x->gid = gid;
    x->proxy = *out; /* alive until settled: the promise's own reference */
    fronta__mpi_outstanding_add(m, 1);
    fronta__mpi_xfer_ready(m, x); /* posted at once: nothing to wait for here */
    m->st.futures_received++;
    return 0;
}

int fronta__mpi_task_open(fronta_mpi_t *m, int exec, uint64_t key, fronta_future_t **out,
                          fronta__mpi_task **rec)
{
    *rec = NULL;
    uint64_t gid = FRONTA__MPI_ID_BASE + ++m->seq;
    /* Every rank takes the same tags, handle or not on this rank: out is
     * an argument, alike on every rank. */
    int base = 0;
    if (out) {
        base = (int)(m->next_tag % (uint64_t)m->tag_ub);
        m->next_tag += (uint64_t)(m->size - 1);
    }
    if (m->rank != exec)
        return out && m->size > 1 ? proxy_open(m, exec, gid, key, base, out) : 0;
    fronta__mpi_task *r = calloc(1, sizeof *r);
    if (!r)
        return fronta__mpi_fail(FRONTA_ENOMEM, "fronta_mpi: out of memory for a task");
    r->m = m;
    r->gid = gid;
    r->tag_base = base;
    if (out) {
        int rc = fronta__promise_new(m->rt, gid, key, "fronta_mpi task", &r->promise);
        if (rc) {
            free(r);
            return fronta__mpi_fail(rc, "fronta_mpi: no handle for task %llu: %s",
                                    (unsigned long long)gid, fronta_strerror(rc));
        }
        *out = r->promise;
        /* The outcome's sends, planned now so that detach waits for them. */
        fronta__mpi_outstanding_add(m, (size_t)(m->size - 1));
        m->st.futures_sent += (uint64_t)(m->size - 1);
    }
    *rec = r;
    return 0;
}

/* Settle the handle, tell the other ranks, forget rec. What is sent is
 * what the handle ended with (a result the promise had no memory for
 * fails it, and must fail the proxies alike). */
static void relay(fronta__mpi_task *rec, int code, uint64_t root, const char *msg,
                  const void *res, size_t size)
{
    fronta_future_t *p = rec->promise;
    if (p) {
        /* Held across the settle: the user may release theirs as soon as
         * it completes. */
        fronta_future_retain(p);
        (void)fronta__promise_settle(p, code, root, msg, res, size);
        fronta_error_t pe = {0};
        int pc = fronta_future_error(p, &pe);
        if (pc != code)
            fronta__mpi_outcome_send(rec, pc, pe.task_id, pe.message, NULL, 0);
        else
            fronta__mpi_outcome_send(rec, code, root, msg, res, size);
        fronta_future_release(p);
    }
    free(rec);
}

/* The real task completed (any thread: the one that completed it, or the
 * submitter when it was done already). */
static void on_real_done(fronta_future_t *f, void *ud)
{
    fronta__mpi_task *rec = ud;
    fronta_mpi_t *m = rec->m;
    fronta_error_t err = {0};
    int code = fronta_future_error(f, &err);
    uint64_t root = code ? fronta__mpi_id_global(m, err.task_id) : 0;
    /* Only a root is ever named later: a task that finished, or failed
     * because of another, leaves the map. */
    if (!code || err.task_id != rec->local_id)
        fronta__mpi_id_del(m, rec->local_id);
    const void *res = NULL;
    size_t size = 0;
    if (!code && fronta_future_result_ptr(f, &res, &size))
        res = NULL, size = 0;
    if (rec->promise) /* where it ran, as the task itself would say */
        (void)fronta__promise_set_device(rec->promise, fronta_future_device(f));
    relay(rec, code, root, code ? err.message : NULL, res, size);
    fronta_future_release(f);
    /* Last: detach may free m as soon as this rank has nothing left. */
    fronta__mpi_outstanding_done(m);
}

void fronta__mpi_task_submitted(fronta__mpi_task *rec, int rc, fronta_future_t *real)
{
    fronta_mpi_t *m = rec->m;
    if (rc) {
        /* Refused here after every rank's checks passed: the handle fails
         * with the refusal on every rank, which keeps them in step. */
        relay(rec, rc, rec->gid, fronta_last_error(), NULL, 0);
        return;
    }
    rec->local_id = fronta_future_task_id(real);
    /* Its callback uses m: detach waits for it as for a transfer, also
     * when no handle and no message depend on it. */
    fronta__mpi_outstanding_add(m, 1);
    /* Before the callback can run: a reader of what real writes may fail
     * and name real as its root at any time from here. */
    (void)fronta__mpi_id_put(m, rec->local_id, rec->gid); /* out of memory: readers keep
                                                            the local id as their root */
    if (fronta_future_add_done_callback(real, on_real_done, rec)) {
        /* No memory for the callback: wait here, late but correct. */
        fronta_future_wait(real, -1.0);
        on_real_done(real, rec);
    }
}

void fronta__mpi_outcome_send(fronta__mpi_task *rec, int code, uint64_t root, const char *msg,
                              const void *res, size_t size)
{
    fronta_mpi_t *m = rec->m;
    int peers = m->size - 1;
    if (peers <= 0)
        return;
    size_t msz = code && msg ? strlen(msg) + 1 : 0;
    if (size > (size_t)INT32_MAX - msz - 1) {
        /* One message carries at most INT_MAX bytes: the others fail. */
        code = FRONTA_ERANGE, root = rec->gid, res = NULL, size = 0;
        msg = "fronta_mpi: the result is too large for one message";
        msz = strlen(msg) + 1;
    }
    fronta__mpi_blob *b = malloc(sizeof *b + size + msz);
    if (!b && (b = malloc(sizeof *b))) {
        /* A header alone still settles the others' handles: failed. */
        code = FRONTA_ENOMEM, root = rec->gid, size = 0, msz = 0, msg = NULL;
    }
    if (!b) {
        /* Nothing to send with: the planned sends are given up, and the
         * other ranks' handles of this task stay pending. */
        for (int k = 0; k < peers; k++)
            fronta__mpi_outstanding_done(m);
        return;
    }
    atomic_init(&b->refs, peers);
    b->hdr = (fronta__mpi_hdr){.gid = rec->gid, .root = root, .code = code,
                               .res_size = (uint32_t)size, .msg_size = (uint32_t)msz};
    if (size)
        memcpy(b->data, res, size);
    if (msg && msz)
        memcpy(b->data + size, msg, msz);
    for (int r = 0; r < m->size; r++) {
        if (r == m->rank)
            continue;
        fronta__mpi_xfer *x = calloc(1, sizeof *x);
        if (!x) { /* out of memory: rank r's handle stays pending */
            if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
                free(b);
            fronta__mpi_outstanding_done(m);
            continue;
        }
        x->m = m;
        x->kind = FRONTA__X_FUT_SEND;
        x->peer = r;
        x->tag = outcome_tag(m, rec->tag_base, m->rank, r);
        x->req = MPI_REQUEST_NULL;
        x->gid = rec->gid;
        x->blob = b;
        fronta__mpi_xfer_ready(m, x); /* counted at submit */
    }
}

void fronta__mpi_outcome_settle(fronta__mpi_xfer *x, int code, const char *msg)
{
    const fronta__mpi_hdr *h = &x->hdr;
    if (code) { /* the messages failed: the proxy names itself */
        fronta__promise_settle(x->proxy, code, x->gid, msg, NULL, 0);
        return;
    }
    const char *text = h->msg_size ? (const char *)x->payload + h->res_size : NULL;
    if (text && text[h->msg_size - 1] != '\0')
        text = NULL; /* not a string: keep the code alone */
    fronta__promise_settle(x->proxy, h->code, h->root, text, h->code ? NULL : x->payload,
                           h->code ? 0 : h->res_size);
}

/* ---- plain function tasks ---- */

static int read_call(const fronta_call_t *in, fronta_call_t *c)
{
    memset(c, 0, sizeof *c);
    if (!in)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_submit_call: no call");
    size_t n = in->size && in->size < sizeof *c ? in->size : sizeof *c;
    memcpy(c, in, n);
    c->size = sizeof *c;
    return 0;
}

/* fronta_submit_call's own checks, made on every rank. */
static int check_call(const fronta_mpi_t *m, int rank, const fronta_call_t *c)
{
    if (rank < 0 || rank >= m->size)
        return fronta__mpi_fail(FRONTA_ERANGE, "fronta_mpi_submit_call: rank %d of a "
                                "communicator of %d", rank, m->size);
    if (!c->fn)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_submit_call: no fn");
    if (c->arg_size && !c->arg)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_submit_call: arg_size %zu and no "
                                "arg", c->arg_size);
    if (c->arg_size > UINT32_MAX || c->nafter > UINT32_MAX || c->retries > UINT16_MAX)
        return fronta__mpi_fail(FRONTA_ERANGE, "fronta_mpi_submit_call: arg_size, nafter or "
                                "retries out of range");
    return fronta__mpi_check_after(m, c->after, c->nafter, "fronta_mpi_submit_call");
}

int fronta_mpi_submit_call(fronta_mpi_t *m, int rank, const fronta_call_t *call,
                           fronta_future_t **out)
{
    if (out)
        *out = NULL;
    if (!fronta__mpi_valid(m))
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_submit_call: no fronta_mpi_t");
    fronta_call_t c;
    int rc = read_call(call, &c);
    pthread_mutex_lock(&m->lock);
    if (!rc)
        rc = check_call(m, rank, &c);
    fronta__mpi_task *rec = NULL;
    /* The random stream follows from the task, not from the rank that
     * happens to run it or its count of submissions: key 0 becomes the
     * global id the task is about to get, on every rank (its handles'
     * fronta_future_key). */
    if (!rc && !c.key)
        c.key = FRONTA__MPI_ID_BASE + m->seq + 1;
    if (!rc)
        rc = fronta__mpi_task_open(m, rank, c.key, out, &rec);
    if (!rc && rec) {
        fronta_future_t *real = NULL;
        int src = fronta_submit_call(m->rt, &c, &real);
        /* With a handle, a refusal here is its outcome on every rank. */
        rc = out ? 0 : src;
        fronta__mpi_task_submitted(rec, src, real);
        m->st.tasks_run++;
    } else if (!rc) {
        m->st.tasks_skipped++;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}
