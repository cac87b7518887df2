/* Host accesses to buffers (fronta_buffer_acquire): kernel tasks without
 * a kernel that take their place in a buffer's order of accesses and never
 * run. */
#include "core/kernel.h"
#include "data/deferred.h"

#include <stdio.h>

/* The outcome of an access that changed nothing. A writing access that
 * wrote nothing leaves the contents its predecessor left: if that writer
 * failed, so does the access, or the readers after it would run on what
 * the failed writer did not make (an OUT access waits for a failed writer
 * without failing itself). Its predecessors are complete. */
static void unchanged_outcome(fronta_future_t *h)
{
    const fronta_future_t *w = fronta__ktask_of(h)->replaced;
    if (!w || w->final == FRONTA__ST_FINISHED) {
        h->final = FRONTA__ST_FINISHED;
        return;
    }
    h->final = w->final;
    fronta__set_error(h, w->err_code, w->err_root, w->err_msg);
}

/* An abandoned access whose turn came: it took no access, but completes
 * only now so that what follows it still follows what preceded it. Inside
 * a completion it goes on the caller's worklist: ending it here would
 * complete the next abandoned access from inside this one, one stack
 * frame per access (polls pile them up by the thousand). */
static void end_abandoned(fronta_future_t *h, fronta__worklist *wl)
{
    if (!fronta__task_start(h)) {
        fronta__ktask_settle(h, wl); /* failed by an access it depended on */
        return;
    }
    if (!wl) {
        fronta__access_end_unchanged(h);
        return;
    }
    unchanged_outcome(h);
    fronta__ktask_release_preds(fronta__ktask_of(h));
    h->work_next = wl->head; /* with its execution reference, which */
    wl->head = h;            /* fronta__complete drops after completing it */
}

/* Its turn came: wake the acquiring thread, or, if it gave up, end. */
void fronta__access_ready(fronta_future_t *h, fronta__worklist *wl)
{
    fronta__ktask *kt = fronta__ktask_of(h);
    if (kt->defer_ready) { /* never abandoned: its owner is told, and begins */
        atomic_store_explicit(&kt->access_state, FRONTA__ACCESS_READY, memory_order_release);
        kt->defer_ready(kt->defer_ud);
        return;
    }
    unsigned s = atomic_load_explicit(&kt->access_state, memory_order_acquire);
    for (;;) {
        /* An adopter may move ABANDONED back to WAITING under us: retry. */
        unsigned to = s == FRONTA__ACCESS_WAITING ? FRONTA__ACCESS_READY : FRONTA__ACCESS_ENDED;
        if (atomic_compare_exchange_weak_explicit(&kt->access_state, &s, to,
                                                  memory_order_acq_rel, memory_order_acquire))
            break;
    }
    if (s == FRONTA__ACCESS_WAITING)
        fronta__unpark_all(&kt->access_state);
    else
        end_abandoned(h, wl);
}

int fronta__access_resume(fronta_future_t *h)
{
    fronta__ktask *kt = fronta__ktask_of(h);
    unsigned s = FRONTA__ACCESS_ABANDONED;
    return atomic_compare_exchange_strong_explicit(&kt->access_state, &s,
                                                   FRONTA__ACCESS_WAITING,
                                                   memory_order_acq_rel, memory_order_acquire);
}

static int submit_access(fronta_buffer_t *b, fronta_access_t mode, fronta__defer_ready_fn ready,
                         void *ud, fronta_future_t **out)
{
    fronta_runtime_t *rt = b->rt;
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    /* Accepted during a shutdown: destroying a buffer is an access, and
     * the drivers cannot stop meanwhile (the caller holds stop_lock). */
    int rc = fronta__enter_ex(rt, &sub, 1, FRONTA__RT_STOP);
    if (rc)
        return rc;
    fronta_task_desc_t d = {.name = "host access"};
    fronta__kbufs kb = {.b = {b}, .mode = {mode}, .n = 1};
    fronta__ktask *kt = fronta__mem_calloc(&rt->alloc, 1, sizeof *kt);
    fronta_future_t *h = NULL;
    rc = kt ? 0 : FRONTA_ENOMEM;
    if (kt) { /* set before publish: its turn may come at once */
        kt->defer_ready = ready;
        kt->defer_ud = ud;
    }
    if (kt) { /* b->held keeps a second access out (fronta__buffer_acquire_at) */
        pthread_mutex_lock(&b->lock);
        fronta_future_t *prev = b->last_writer;
        if (!(rc = fronta__ktask_submit_locked(rt, &sub, &d, kt, &kb, 1, &h))) {
            if (!ready) /* a deferred access is not the acquirer's */
                b->access = h;
            if ((mode & FRONTA_ACCESS_OUT) && prev) { /* for fronta__access_end_unchanged */
                atomic_fetch_add_explicit(&prev->refs, 1, memory_order_relaxed);
                kt->replaced = prev;
            }
        }
        pthread_mutex_unlock(&b->lock);
    }
    if (rc) {
        fronta__ktask_discard(rt, &sub, kt);
        return rc;
    }
    *out = h; /* before publish: the ready callback's owner reads it */
    fronta__kdep_publish(h, kt);
    return 0;
}

int fronta__access_submit(fronta_buffer_t *b, fronta_access_t mode, fronta_future_t **out)
{
    return submit_access(b, mode, NULL, NULL, out);
}

/* The error an access reports: that of the writer it read after, as the
 * writer itself reported it (FRONTA_EDEPFAILED if it was failed by its
 * own inputs). */
static int writer_error(const fronta__ktask *kt, const fronta_future_t *h)
{
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        const fronta_future_t *p = kt->deps[i].pred;
        if (p && !kt->deps[i].order_only && p->final != FRONTA__ST_FINISHED)
            return p->err_code;
    }
    return h->err_code ? h->err_code : FRONTA_EDEPFAILED;
}

int fronta__access_wait(fronta_future_t *h, double timeout)
{
    fronta__ktask *kt = fronta__ktask_of(h);
    uint64_t deadline = fronta__deadline(timeout);
    fronta__worker *w = fronta__worker_of(h->rt);
    /* Outside the pool, spin a little first as a future wait does: a
     * destroy or an acquire right after the last task would otherwise pay
     * a wake-up (20 us a buffer destroyed on this VM's 2^16 pipelines). */
    if (!w)
        (void)fronta__spin_below(&kt->access_state, ~0u, FRONTA__ACCESS_READY,
                                 h->rt->set.spin_us, deadline);
    while (atomic_load_explicit(&kt->access_state, memory_order_acquire) ==
           FRONTA__ACCESS_WAITING) {
        /* Inside a task, run others meanwhile: the ones we wait for may
         * need this very worker. */
        if (w && fronta__help(w))
            continue;
        if (fronta__now_ns() >= deadline) {
            unsigned s = FRONTA__ACCESS_WAITING;
            if (atomic_compare_exchange_strong_explicit(&kt->access_state, &s,
                                                        FRONTA__ACCESS_ABANDONED,
                                                        memory_order_acq_rel,
                                                        memory_order_acquire))
                return FRONTA_ETIMEDOUT;
            break; /* became ready just now */
        }
        uint64_t until = w ? fronta__now_ns() + 100000 : deadline;
        fronta__park(&kt->access_state, FRONTA__ACCESS_WAITING,
                     until < deadline ? until : deadline);
    }
    if (w)
        fronta__help_done(w);
    if (!fronta__task_start(h)) { /* failed with an access it depended on */
        int rc = writer_error(kt, h);
        fronta__ktask_settle(h, NULL);
        return rc;
    }
    return 0;
}

void fronta__access_end(fronta_future_t *h)
{
    fronta__ktask_finish(h, 0, NULL);
}

void fronta__access_end_unchanged(fronta_future_t *h)
{
    unchanged_outcome(h);
    fronta__ktask_release_preds(fronta__ktask_of(h));
    fronta__complete(h);
    fronta__exec_done(h);
}

/* ---- deferred accesses (data/deferred.h) ---- */

int fronta__defer_submit(fronta_buffer_t *b, fronta_access_t mode, fronta__defer_ready_fn ready,
                         void *ud, fronta_future_t **out)
{
    if (out)
        *out = NULL;
    if (!fronta__buffer_valid(b) || !ready || !out || mode < FRONTA_ACCESS_IN ||
        mode > FRONTA_ACCESS_INOUT)
        return FRONTA_EINVAL;
    pthread_mutex_lock(&b->lock);
    int rc = fronta__buffer_usable(b);
    pthread_mutex_unlock(&b->lock);
    return rc ? rc : submit_access(b, mode, ready, ud, out);
}

int fronta__defer_begin(fronta_buffer_t *b, fronta_future_t *h, fronta_access_t mode,
                        void **host, char *msg, size_t msz)
{
    fronta__ktask *kt = fronta__ktask_of(h);
    *host = NULL;
    if (!fronta__task_start(h)) { /* failed with the writer it follows */
        int rc = writer_error(kt, h);
        snprintf(msg, msz, "%s", h->err_msg ? h->err_msg : fronta_strerror(rc));
        fronta__ktask_settle(h, NULL);
        return rc;
    }
    /* Drivers stay up: shutdown waits for this access, a counted task. */
    pthread_mutex_lock(&b->lock);
    int rc = (mode & FRONTA_ACCESS_IN) ? fronta__coh_fetch(b, 0, msg, msz) : 0;
    pthread_mutex_unlock(&b->lock);
    if (rc) {
        fronta__access_end_unchanged(h);
        return rc;
    }
    *host = b->host;
    return 0;
}

void fronta__defer_end(fronta_buffer_t *b, fronta_future_t *h, fronta_access_t mode, int code,
                       const char *msg)
{
    if (!code && (mode & FRONTA_ACCESS_OUT)) {
        pthread_mutex_lock(&b->lock);
        fronta__coh_written(b, 0);
        pthread_mutex_unlock(&b->lock);
    }
    fronta__ktask_finish(h, code, code ? msg : NULL);
}
