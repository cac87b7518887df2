/* concurrent.futures.wait: block on many futures at once, without polling. */
#include "core/internal.h"

#include <string.h>

/* One block per call: the waiter and a node per future it registers on.
 * A node left registered when the call returns is unlinked; a node whose
 * future is completing right then cannot be, so the block lives until the
 * last such node has fired (refs). */
typedef struct waitset waitset;
typedef struct ws_node {
    fronta__node node;
    waitset *ws;
    fronta_future_t *f;
    int registered;
} ws_node;

struct waitset {
    atomic_uint refs;
    atomic_uint seq;        /* futex word: bumped when the condition holds */
    atomic_size_t ndone;
    atomic_uint failed;
    size_t target;          /* completions that satisfy ALL_COMPLETED */
    fronta_return_when_t when;
    fronta_runtime_t *rt;
    size_t n;
    ws_node nodes[];
};

/* n <= FRONTA__COUNT_MAX / 2 (wait_check): these sizes cannot wrap, but
 * they are computed with the checked helpers all the same. */
static size_t ws_size(size_t n)
{
    size_t bytes = SIZE_MAX;
    fronta__size_array(sizeof(waitset), n, sizeof(ws_node), &bytes);
    return bytes;
}

/* The node array is followed by scratch space for the partition. */
static size_t ws_alloc_size(size_t n)
{
    size_t bytes = SIZE_MAX;
    fronta__size_array(ws_size(n), n, sizeof(fronta_future_t *), &bytes);
    return bytes;
}

static void ws_release(waitset *ws)
{
    if (atomic_fetch_sub_explicit(&ws->refs, 1, memory_order_acq_rel) == 1)
        fronta__mem_free(&ws->rt->alloc, ws, ws_alloc_size(ws->n));
}

static int ws_satisfied(waitset *ws)
{
    size_t done = atomic_load_explicit(&ws->ndone, memory_order_acquire);
    switch (ws->when) {
    case FRONTA_FIRST_COMPLETED:
        return done >= 1 || ws->target == 0;
    case FRONTA_FIRST_EXCEPTION:
        if (atomic_load_explicit(&ws->failed, memory_order_acquire))
            return 1;
        /* fall through */
    default:
        return done >= ws->target;
    }
}

static void ws_count(waitset *ws, const fronta_future_t *done)
{
    if (done->final == FRONTA__ST_FAILED)
        atomic_store_explicit(&ws->failed, 1, memory_order_release);
    atomic_fetch_add_explicit(&ws->ndone, 1, memory_order_acq_rel);
}

static void ws_fire(fronta__node *n, fronta_future_t *done, fronta__worklist *wl)
{
    (void)wl;
    waitset *ws = ((ws_node *)n)->ws;
    ws_count(ws, done);
    /* Wake only when the condition turns true: a waiter on 1e6 futures
     * must not be woken 1e6 times. */
    if (ws_satisfied(ws)) {
        atomic_fetch_add_explicit(&ws->seq, 1, memory_order_release);
        fronta__unpark_all(&ws->seq);
    }
    ws_release(ws);
}

static void ws_register(waitset *ws, fronta_future_t *const *fs)
{
    for (size_t i = 0; i < ws->n; i++) {
        ws_node *nd = &ws->nodes[i];
        nd->ws = ws;
        nd->f = fs[i];
        nd->node.fire = ws_fire;
        if (FRONTA__FINAL(atomic_load_explicit(&fs[i]->state, memory_order_acquire))) {
            ws_count(ws, fs[i]);
            continue;
        }
        atomic_fetch_add_explicit(&ws->refs, 1, memory_order_relaxed);
        if (fronta__list_push(fs[i], &nd->node) == 0) {
            nd->registered = 1;
        } else { /* completed meanwhile */
            ws_count(ws, fs[i]);
            atomic_fetch_sub_explicit(&ws->refs, 1, memory_order_relaxed);
        }
    }
}

static int ws_block(waitset *ws, uint64_t deadline)
{
    /* Inside a task the worker runs other tasks while it waits, as in
     * fronta_future_wait, and naps only briefly when there are none. */
    fronta__worker *w = fronta__worker_of(ws->rt);
    for (;;) {
        unsigned seq = atomic_load_explicit(&ws->seq, memory_order_acquire);
        if (ws_satisfied(ws))
            return 0;
        uint64_t now = fronta__now_ns();
        if (now >= deadline)
            return FRONTA_ETIMEDOUT;
        int rc = fronta__may_block(ws->rt); /* they may need this thread */
        if (rc)
            return rc;
        if (!w) {
            fronta__park(&ws->seq, seq, deadline);
            continue;
        }
        if (fronta__help(w))
            continue;
        uint64_t nap = now + 200000;
        fronta__park(&ws->seq, seq, nap < deadline ? nap : deadline);
    }
}

static void ws_unregister(waitset *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        if (ws->nodes[i].registered &&
            fronta__list_remove(ws->nodes[i].f, &ws->nodes[i].node) == 0)
            ws_release(ws); /* unlinked: it will never fire */
}

/* Stable partition, done first; tmp has room for n pointers. */
static size_t partition(fronta_future_t **fs, size_t n, fronta_future_t **tmp)
{
    size_t d = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (FRONTA__FINAL(atomic_load_explicit(&fs[i]->state, memory_order_acquire)))
            fs[d++] = fs[i];
        else
            tmp[k++] = fs[i];
    }
    memcpy(fs + d, tmp, k * sizeof *fs);
    return d;
}

static int wait_check(fronta_future_t **fs, size_t n, fronta_return_when_t when,
                      size_t *ndone)
{
    if (!ndone || (n && !fs) || when < FRONTA_ALL_COMPLETED || when > FRONTA_FIRST_EXCEPTION)
        return FRONTA_EINVAL;
    if (n > FRONTA__COUNT_MAX / 2) /* no such array, nor room for our block */
        return FRONTA_ERANGE;
    for (size_t i = 0; i < n; i++)
        if (!fronta__task_valid(fs[i]) || fs[i]->rt != fs[0]->rt)
            return FRONTA_EINVAL;
    return 0;
}

int fronta_wait(fronta_future_t **fs, size_t n, double timeout, fronta_return_when_t when,
                size_t *ndone)
{
    int rc = wait_check(fs, n, when, ndone);
    if (rc)
        return rc;
    if (n == 0) {
        *ndone = 0;
        return 0;
    }
    fronta_runtime_t *rt = fs[0]->rt;
    waitset *ws = fronta__mem_calloc(&rt->alloc, 1, ws_alloc_size(n));
    if (!ws)
        return FRONTA_ENOMEM;
    ws->rt = rt;
    ws->n = n;
    ws->when = when;
    ws->target = n;
    atomic_init(&ws->refs, 1);
    ws_register(ws, fs);
    fronta__worker *g = timeout != 0 ? fronta__guest_enter(rt) : NULL;
    rc = ws_block(ws, fronta__deadline(timeout));
    fronta__worker *w = fronta__worker_of(rt);
    if (w)
        fronta__help_done(w);
    fronta__guest_leave(g);
    ws_unregister(ws);
    fronta_future_t **tmp = (fronta_future_t **)((char *)ws + ws_size(n));
    *ndone = partition(fs, n, tmp);
    if (rc && ws_satisfied(ws))
        rc = 0;
    ws_release(ws);
    return rc;
}
