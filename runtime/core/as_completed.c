/* as_completed: futures handed out in completion order, with an eventfd
 * for event loops. */
#include "core/internal.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

typedef struct ac_node {
    fronta__node node;
    struct fronta_as_completed *ac;
    fronta_future_t *f;
    struct ac_node *prev, *next;   /* on the waiting list, then the done queue */
} ac_node;

/* References: the user's, plus one per node registered on a future, so a
 * completion racing with destroy still finds the iterator alive. */
struct fronta_as_completed {
    fronta_runtime_t *rt;
    atomic_uint refs;
    pthread_mutex_t lock;          /* guards everything below */
    pthread_cond_t cond;
    ac_node *waiting;              /* registered, not completed (doubly linked) */
    ac_node *done_head, *done_tail;
    size_t pending;                /* added and not yet returned */
    int efd;
    int destroyed;
    struct fronta_as_completed *rt_prev, *rt_next; /* rt->iterators, under rt->iter_lock */
};

static void unlink_waiting(fronta_as_completed_t *ac, ac_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        ac->waiting = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

static void free_node(fronta_as_completed_t *ac, ac_node *n, int release_future)
{
    if (release_future)
        fronta__task_release(n->f);
    fronta__mem_free(&ac->rt->alloc, n, sizeof *n);
}

static void ac_free(fronta_as_completed_t *ac)
{
    fronta_runtime_t *rt = ac->rt;
    pthread_mutex_lock(&rt->iter_lock);
    if (ac->rt_prev)
        ac->rt_prev->rt_next = ac->rt_next;
    else if (rt->iterators == ac)
        rt->iterators = ac->rt_next;
    if (ac->rt_next)
        ac->rt_next->rt_prev = ac->rt_prev;
    pthread_mutex_unlock(&rt->iter_lock);
    for (ac_node *n = ac->done_head; n;) {
        ac_node *next = n->next;
        free_node(ac, n, 1);
        n = next;
    }
    if (ac->efd >= 0)
        close(ac->efd);
    pthread_cond_destroy(&ac->cond);
    pthread_mutex_destroy(&ac->lock);
    fronta__mem_free(&ac->rt->alloc, ac, sizeof *ac);
}

static void ac_release(fronta_as_completed_t *ac)
{
    if (atomic_fetch_sub_explicit(&ac->refs, 1, memory_order_acq_rel) == 1)
        ac_free(ac);
}

static void signal_fd(fronta_as_completed_t *ac)
{
    uint64_t one = 1;
    if (ac->efd >= 0 && write(ac->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        FRONTA__LOG(ac->rt, FRONTA_LOG_WARN, "as_completed: eventfd write failed");
}

/* Called with the lock held. */
static void enqueue_done(fronta_as_completed_t *ac, ac_node *n)
{
    n->next = NULL;
    n->prev = ac->done_tail;
    if (ac->done_tail)
        ac->done_tail->next = n;
    else
        ac->done_head = n;
    ac->done_tail = n;
    signal_fd(ac);
    pthread_cond_signal(&ac->cond);
}

static void ac_fire(fronta__node *node, fronta_future_t *done, fronta__worklist *wl)
{
    (void)done;
    (void)wl;
    ac_node *n = (ac_node *)node;
    fronta_as_completed_t *ac = n->ac;
    pthread_mutex_lock(&ac->lock);
    unlink_waiting(ac, n);
    if (ac->destroyed)
        free_node(ac, n, 1);
    else
        enqueue_done(ac, n);
    pthread_mutex_unlock(&ac->lock);
    ac_release(ac);
}

/* Register f with a node allocated beforehand: cannot fail. */
static void add_node(fronta_as_completed_t *ac, fronta_future_t *f, ac_node *n)
{
    n->ac = ac;
    n->f = f;
    n->node.fire = ac_fire;
    pthread_mutex_lock(&ac->lock);
    ac->pending++;
    /* On the waiting list before it can fire, so the fire can unlink it. */
    n->next = ac->waiting;
    if (ac->waiting)
        ac->waiting->prev = n;
    ac->waiting = n;
    atomic_fetch_add_explicit(&ac->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&ac->lock);
    if (fronta__list_push(f, &n->node)) { /* already done */
        pthread_mutex_lock(&ac->lock);
        unlink_waiting(ac, n);
        enqueue_done(ac, n);
        pthread_mutex_unlock(&ac->lock);
        ac_release(ac);
    }
}

int fronta_as_completed_add(fronta_as_completed_t *ac, fronta_future_t *f)
{
    if (!ac || !fronta__task_valid(f) || f->rt != ac->rt)
        return FRONTA_EINVAL;
    ac_node *n = fronta__mem_calloc(&ac->rt->alloc, 1, sizeof *n);
    if (!n)
        return FRONTA_ENOMEM;
    add_node(ac, f, n);
    return 0;
}

int fronta_as_completed_create(fronta_runtime_t *rt, fronta_future_t *const *fs, size_t n,
                               fronta_as_completed_t **out)
{
    if (!rt || !out || (n && !fs))
        return FRONTA_EINVAL;
    if (n > FRONTA__COUNT_MAX) /* no such array: refuse before reading it */
        return FRONTA_ERANGE;
    for (size_t i = 0; i < n; i++)
        if (!fronta__task_valid(fs[i]) || fs[i]->rt != rt)
            return FRONTA_EINVAL;
    fronta_as_completed_t *ac = fronta__mem_calloc(&rt->alloc, 1, sizeof *ac);
    if (!ac)
        return FRONTA_ENOMEM;
    ac->rt = rt;
    ac->efd = -1;
    atomic_init(&ac->refs, 1);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ac->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&ac->lock, NULL);
    /* Allocate every node first so that failure has no effect. */
    ac_node **nodes = n ? fronta__mem_calloc(&rt->alloc, n, sizeof *nodes) : NULL;
    int rc = (n && !nodes) ? FRONTA_ENOMEM : 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (!(nodes[i] = fronta__mem_calloc(&rt->alloc, 1, sizeof **nodes)))
            rc = FRONTA_ENOMEM;
    if (rc) {
        for (size_t i = 0; nodes && i < n; i++)
            fronta__mem_free(&rt->alloc, nodes[i], sizeof **nodes);
        fronta__mem_free(&rt->alloc, nodes, n * sizeof *nodes);
        ac_free(ac);
        return rc;
    }
    pthread_mutex_lock(&rt->iter_lock);
    ac->rt_next = rt->iterators;
    if (rt->iterators)
        rt->iterators->rt_prev = ac;
    rt->iterators = ac;
    pthread_mutex_unlock(&rt->iter_lock);
    for (size_t i = 0; i < n; i++)
        add_node(ac, fs[i], nodes[i]);
    fronta__mem_free(&rt->alloc, nodes, n * sizeof *nodes);
    *out = ac;
    return 0;
}

static void drain_fd(fronta_as_completed_t *ac)
{
    uint64_t v;
    if (ac->efd >= 0 && read(ac->efd, &v, sizeof v) < 0 && errno != EAGAIN)
        FRONTA__LOG(ac->rt, FRONTA_LOG_WARN, "as_completed: eventfd read failed");
}

static void to_timespec(uint64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

int fronta_as_completed_next(fronta_as_completed_t *ac, double timeout, fronta_future_t **out)
{
    if (!ac || !out)
        return FRONTA_EINVAL;
    *out = NULL;
    uint64_t deadline = fronta__deadline(timeout);
    int rc = 0;
    pthread_mutex_lock(&ac->lock);
    while (!ac->done_head) {
        if (ac->pending == 0) {
            rc = FRONTA_EEMPTY;
            break;
        }
        if (fronta__now_ns() >= deadline) {
            rc = FRONTA_ETIMEDOUT;
            break;
        }
        if ((rc = fronta__may_block(ac->rt))) /* they may need this thread */
            break;
        uint64_t until = deadline;
        fronta__worker *w = fronta__worker_of(ac->rt);
        if (w) {
            /* Inside a task: run other tasks meanwhile (they may be the
             * ones we wait for), napping briefly when there are none. */
            pthread_mutex_unlock(&ac->lock);
            int ran = fronta__help(w);
            pthread_mutex_lock(&ac->lock);
            if (ran)
                continue;
            uint64_t nap = fronta__now_ns() + 200000;
            until = nap < deadline ? nap : deadline;
        }
        if (until == UINT64_MAX) {
            pthread_cond_wait(&ac->cond, &ac->lock);
        } else {
            struct timespec ts;
            to_timespec(until, &ts);
            pthread_cond_timedwait(&ac->cond, &ac->lock, &ts);
        }
    }
    ac_node *n = rc ? NULL : ac->done_head;
    if (n) {
        ac->done_head = n->next;
        if (!ac->done_head) {
            ac->done_tail = NULL;
            drain_fd(ac); /* readable exactly while something is queued */
        }
        ac->pending--;
        *out = n->f;
    }
    pthread_mutex_unlock(&ac->lock);
    fronta__worker *w = fronta__worker_of(ac->rt);
    if (w)
        fronta__help_done(w);
    if (n)
        free_node(ac, n, 0); /* the reference goes to the caller */
    return rc;
}

size_t fronta_as_completed_pending(const fronta_as_completed_t *ac)
{
    if (!ac)
        return 0;
    fronta_as_completed_t *m = (fronta_as_completed_t *)ac;
    pthread_mutex_lock(&m->lock);
    size_t n = m->pending;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int fronta_as_completed_fd(fronta_as_completed_t *ac)
{
    if (!ac)
        return FRONTA_EINVAL;
    pthread_mutex_lock(&ac->lock);
    if (ac->efd < 0) {
        ac->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (ac->efd >= 0 && ac->done_head)
            signal_fd(ac);
    }
    int fd = ac->efd >= 0 ? ac->efd : FRONTA_ESYS;
    pthread_mutex_unlock(&ac->lock);
    return fd;
}

void fronta_as_completed_destroy(fronta_as_completed_t *ac)
{
    if (!ac)
        return;
    /* Unlink each waiting node from its future. One that cannot be unlinked
     * is firing: its fire blocks on our lock, then frees it (destroyed). */
    pthread_mutex_lock(&ac->lock);
    ac->destroyed = 1;
    unsigned dropped = 0;
    for (ac_node *n = ac->waiting; n;) {
        ac_node *next = n->next;
        if (fronta__list_remove(n->f, &n->node) == 0) {
            unlink_waiting(ac, n);
            free_node(ac, n, 1);
            dropped++;
        }
        n = next;
    }
    pthread_mutex_unlock(&ac->lock);
    atomic_fetch_sub_explicit(&ac->refs, dropped, memory_order_relaxed);
    ac_release(ac);
}

void fronta__as_completed_reap(fronta_runtime_t *rt)
{
    /* Called by destroy after shutdown: no completion is in flight, so an
     * iterator the user forgot is destroyed here, as the user would. */
    for (;;) {
        pthread_mutex_lock(&rt->iter_lock);
        fronta_as_completed_t *ac = rt->iterators;
        while (ac && ac->destroyed)
            ac = ac->rt_next;
        pthread_mutex_unlock(&rt->iter_lock);
        if (!ac)
            return;
        fronta_as_completed_destroy(ac);
    }
}
