/* The future API: wait, status, result, error, cancel, callbacks, references. */
#include "core/internal.h"
#include "core/kernel.h"
#include "sched/sched.h"

#include <string.h>

static unsigned status_bits(const fronta_future_t *f)
{
    return atomic_load_explicit(&((fronta_future_t *)f)->state, memory_order_acquire) &
           FRONTA__ST_MASK;
}

int fronta_future_done(const fronta_future_t *f)
{
    return fronta__task_valid(f) && FRONTA__FINAL(status_bits(f));
}

fronta_status_t fronta_future_status(const fronta_future_t *f)
{
    if (!fronta__task_valid(f))
        return FRONTA_INVALID; /* not PENDING: a polling loop must end */
    switch (status_bits(f)) {
    case FRONTA__ST_RUNNING:
        return FRONTA_RUNNING;
    case FRONTA__ST_FINISHED:
        return FRONTA_FINISHED;
    case FRONTA__ST_FAILED:
        return FRONTA_FAILED;
    case FRONTA__ST_CANCELLED:
        return FRONTA_CANCELLED;
    default: /* pending, or claimed for a cancel that is being finalised */
        return FRONTA_PENDING;
    }
}

/* Sleep on the state word until final or the deadline. */
static int park_until_done(fronta_future_t *f, uint64_t deadline)
{
    for (;;) {
        unsigned s = atomic_load_explicit(&f->state, memory_order_acquire);
        if (FRONTA__FINAL(s))
            return 0;
        if (fronta__now_ns() >= deadline)
            return FRONTA_ETIMEDOUT;
        if (!(s & FRONTA__ST_WAITERS) &&
            !atomic_compare_exchange_weak_explicit(&f->state, &s, s | FRONTA__ST_WAITERS,
                                                   memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        fronta__park(&f->state, s | FRONTA__ST_WAITERS, deadline);
    }
}

/* Inside a task: run other tasks while waiting (fronta__help), and
 * nap briefly on the future when there are none. */
static int help_until_done(fronta__worker *w, fronta_future_t *f, uint64_t deadline)
{
    while (!FRONTA__FINAL(status_bits(f)) && fronta__now_ns() < deadline) {
        if (fronta__help(w))
            continue;
        uint64_t nap = fronta__now_ns() + 200000; /* 200 us, then look for work again */
        park_until_done(f, nap < deadline ? nap : deadline);
    }
    fronta__help_done(w);
    return FRONTA__FINAL(status_bits(f)) ? 0 : FRONTA_ETIMEDOUT;
}

static int spin_until_done(fronta_future_t *f, uint64_t deadline)
{
    return fronta__spin_below(&f->state, FRONTA__ST_MASK, FRONTA__ST_FINISHED,
                              f->rt->set.spin_us, deadline)
               ? FRONTA_ETIMEDOUT
               : 0;
}

int fronta_future_wait(fronta_future_t *f, double timeout)
{
    if (!fronta__task_valid(f))
        return FRONTA_EINVAL;
    if (FRONTA__FINAL(status_bits(f)))
        return 0;
    if (timeout == 0)
        return FRONTA_ETIMEDOUT;
    int rc = fronta__may_block(f->rt); /* f may need this very thread */
    if (rc)
        return rc;
    fronta__worker *g = fronta__guest_enter(f->rt); /* wait_helps: run tasks meanwhile */
    rc = fronta__future_wait(f, timeout);
    fronta__guest_leave(g);
    return rc;
}

int fronta__future_wait(fronta_future_t *f, double timeout)
{
    if (FRONTA__FINAL(status_bits(f)))
        return 0;
    uint64_t deadline = fronta__deadline(timeout);
    fronta__worker *w = fronta__worker_of(f->rt);
    if (w)
        return help_until_done(w, f, deadline);
    if (spin_until_done(f, deadline) == 0)
        return 0;
    return park_until_done(f, deadline);
}

static int outcome(const fronta_future_t *f)
{
    return status_bits(f) == FRONTA__ST_FINISHED ? 0 : f->err_code;
}

int fronta_future_result(fronta_future_t *f, double timeout, void *out, size_t size)
{
    if (!fronta__task_valid(f) || (size && !out))
        return FRONTA_EINVAL;
    int rc = fronta_future_wait(f, timeout);
    if (rc)
        return rc;
    if ((rc = outcome(f)))
        return rc;
    if (size != f->res_size)
        return FRONTA_ESIZE;
    if (size)
        memcpy(out, f->res, size);
    return 0;
}

int fronta_future_result_ptr(fronta_future_t *f, const void **ptr, size_t *size)
{
    if (!fronta__task_valid(f) || !ptr)
        return FRONTA_EINVAL;
    if (!FRONTA__FINAL(status_bits(f)))
        return FRONTA_EPENDING;
    int rc = outcome(f);
    if (rc)
        return rc;
    *ptr = f->res;
    if (size)
        *size = f->res_size;
    return 0;
}

int fronta_future_error(const fronta_future_t *f, fronta_error_t *err)
{
    if (!fronta__task_valid(f))
        return FRONTA_EINVAL;
    unsigned s = status_bits(f);
    if (!FRONTA__FINAL(s))
        return FRONTA_EPENDING;
    int code = outcome(f);
    if (err) {
        err->code = code;
        err->task_id = code ? f->err_root : f->id;
        err->message = code ? (f->err_msg ? f->err_msg : fronta_strerror(code)) : NULL;
    }
    return code;
}

uint64_t fronta_future_task_id(const fronta_future_t *f)
{
    return fronta__task_valid(f) ? f->id : 0;
}

uint64_t fronta_future_key(const fronta_future_t *f)
{
    return fronta__task_valid(f) ? f->key : 0;
}

int fronta_future_cancel(fronta_future_t *f)
{
    if (!fronta__task_valid(f))
        return FRONTA_EINVAL;
    const fronta__ktask *kt = fronta__ktask_of(f);
    if (kt && kt->k ? !fronta__ktask_cancel(f) : !fronta__claim(f)) {
        if (status_bits(f) == FRONTA__ST_RUNNING)
            atomic_store_explicit(&f->cancel_req, 1, memory_order_relaxed);
        return FRONTA_EBUSY;
    }
    if (kt && kt->k)
        return 0; /* fronta__ktask_cancel completes it, or leaves that to
                   * its last input: it holds a place in its buffers' order */
    /* Claimed: it never runs. Whoever holds its execution reference (a
     * queue, or the last input to finish) drops it on seeing the state. */
    f->final = FRONTA__ST_CANCELLED;
    fronta__set_error(f, FRONTA_ECANCELLED, f->id, NULL);
    /* Completion skips closing the list when it sees the only reference
     * (it assumes that is the execution's, so nobody can add to the list).
     * Here the execution's may be dropped meanwhile by a worker that
     * popped f and found it claimed, leaving the caller's: hold one more
     * so the list is closed and what is added later fires at once. */
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    fronta__complete(f);
    if (fronta__sched_unwait(f)) /* it waited for resources: nobody else holds it */
        fronta__exec_done(f);
    fronta__task_release(f);
    return 0;
}

/* ---- callbacks ---- */

typedef struct cb_node {
    fronta__node node;
    fronta_done_fn cb;
    void *ud;
} cb_node;

static void cb_fire(fronta__node *n, fronta_future_t *done, fronta__worklist *wl)
{
    (void)wl;
    cb_node *c = (cb_node *)n;
    /* Until it returns, done's completion is not counted: shutdown from
     * inside would wait for it forever (fronta__may_stop). */
    const fronta_runtime_t *outer = fronta__callback_enter(done->rt);
    c->cb(done, c->ud);
    fronta__callback_leave(outer);
    fronta__mem_free(&done->rt->alloc, c, sizeof *c);
}

int fronta__node_is_callback(const fronta__node *n)
{
    return n->fire == cb_fire;
}

int fronta_future_add_done_callback(fronta_future_t *f, fronta_done_fn cb, void *ud)
{
    if (!fronta__task_valid(f) || !cb)
        return FRONTA_EINVAL;
    cb_node *c = fronta__mem_alloc(&f->rt->alloc, sizeof *c);
    if (!c)
        return FRONTA_ENOMEM;
    c->node.fire = cb_fire;
    c->cb = cb;
    c->ud = ud;
    if (fronta__list_push(f, &c->node)) {
        /* Already done: run now, in the caller's thread. */
        fronta__mem_free(&f->rt->alloc, c, sizeof *c);
        cb(f, ud);
    }
    return 0;
}

/* ---- references ---- */

void fronta_future_retain(fronta_future_t *f)
{
    if (fronta__task_valid(f))
        atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void fronta_future_release(fronta_future_t *f)
{
    if (fronta__task_valid(f))
        fronta__task_release(f);
}

void fronta_future_detach(fronta_future_t *f)
{
    if (!fronta__task_valid(f))
        return;
    /* A detach racing with completion may miss the log line, never the
     * release. */
    atomic_store_explicit(&f->detached, 1, memory_order_seq_cst);
    if (status_bits(f) == FRONTA__ST_FAILED)
        fronta__log_detached_failure(f);
    fronta__task_release(f);
}
