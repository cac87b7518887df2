/* Tasks: allocation, submission, dependency edges and completion. */
#include "core/internal.h"
#include "core/kernel.h"
#include "sched/sched.h"

#include <stdio.h>
#include <string.h>

uint64_t fronta__mix64(uint64_t x)
{
    /* SplitMix64's finaliser: a bijection with good avalanche. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* prepare() writes the first two lines only; keep the layout honest. */
_Static_assert(offsetof(fronta_future_t, err_code) == 128,
               "hot fields of a task must fill exactly two cache lines");

int fronta__task_valid(const fronta_future_t *t)
{
    /* Released handles are caught while their memory has not been reused
     * by a new task: a best effort, but it catches most double releases. */
    return t && t->magic == FRONTA__MAGIC_LIVE;
}

int fronta__res_run(fronta_ctx_t *ctx, void *arg)
{
    return ctx->task->rneed->fn(ctx, arg);
}

/* ---- memory ---- */

/* The gate block of a map with an in-flight limit; n <= FRONTA__COUNT_MAX
 * (map_check), so the size cannot wrap. */
static size_t map_size(size_t n)
{
    size_t bytes = SIZE_MAX;
    fronta__size_array(sizeof(fronta__map), n, sizeof(fronta_future_t *), &bytes);
    return bytes;
}

static void map_release_ref(fronta_runtime_t *rt, fronta__map *m)
{
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        fronta__mem_free(&rt->alloc, m, map_size(m->n));
}

void fronta__task_free_parts(fronta_future_t *t)
{
    const fronta__allocator *a = &t->rt->alloc;
    if (t->flags & FRONTA__F_ARG_HEAP)
        fronta__mem_free(a, t->arg, t->arg_size);
    if (t->flags & FRONTA__F_RES_HEAP)
        fronta__mem_free(a, t->res, t->res_size);
    if (t->flags & FRONTA__F_DEPS_HEAP)
        fronta__mem_free(a, t->deps, t->ndeps * sizeof *t->deps);
    if (t->flags & FRONTA__F_ERR)
        fronta__mem_free(a, t->err_msg, t->err_msg_size);
    if (t->flags & FRONTA__F_KTASK) {
        /* An internal task's data goes first: it may hold futures, whose
         * release must not find this task half freed. */
        fronta__ktask *kt = fronta__ktask_of(t);
        fronta__ktask_unhook(kt);
        if (kt->priv_free)
            kt->priv_free(t->rt, kt->priv);
        kt->priv_free = NULL;
        fronta__ktask_free(t);
    }
    if (t->flags & FRONTA__F_RES)
        fronta__mem_free(a, t->rneed, sizeof *t->rneed);
    if (t->map)
        map_release_ref(t->rt, t->map);
    t->flags = 0;
    t->map = NULL;
    t->magic = FRONTA__MAGIC_DEAD;
}

static void task_free(fronta_future_t *t)
{
    fronta_runtime_t *rt = t->rt;
    fronta__task_free_parts(t);
    fronta__cache_put(&rt->task_slab, fronta__thread_cache(rt), t);
}

void fronta__task_release(fronta_future_t *t)
{
    /* The only reference (a fire-and-forget task at its end): nobody else
     * can take one, since that needs one, so free without a locked op. */
    if (atomic_load_explicit(&t->refs, memory_order_acquire) == 1 ||
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        task_free(t);
}

void fronta__task_reset_result(fronta_future_t *t)
{
    if (t->flags & FRONTA__F_RES_HEAP)
        fronta__mem_free(&t->rt->alloc, t->res, t->res_size);
    t->flags &= (uint8_t)~FRONTA__F_RES_HEAP;
    t->res = t->res_inline;
    t->res_size = 0;
}

/* ---- errors ---- */

void fronta__set_error(fronta_future_t *t, int code, uint64_t root, const char *msg)
{
    const fronta__allocator *a = &t->rt->alloc;
    if (t->flags & FRONTA__F_ERR)
        fronta__mem_free(a, t->err_msg, t->err_msg_size);
    t->err_msg = NULL;
    t->err_msg_size = 0;
    t->err_code = code;
    t->err_root = root;
    if (code == 0) { /* cleared, for a retry */
        t->flags &= (uint8_t)~FRONTA__F_ERR;
        return;
    }
    t->flags |= FRONTA__F_ERR;
    if (!msg)
        return;
    size_t n = strlen(msg) + 1;
    /* Out of memory here loses only the text: code and root remain. */
    if ((t->err_msg = fronta__mem_alloc(a, n))) {
        memcpy(t->err_msg, msg, n);
        t->err_msg_size = n;
    }
}

/* t depends on `done`, which failed or was cancelled: t fails the same way
 * and names the root task, whose message it carries along the chain. */
void fronta__dep_fail(fronta_future_t *t, const fronta_future_t *done)
{
    const fronta__ktask *kt = fronta__ktask_of(t);
    if (kt && !kt->k) {
        /* A host access changes nothing by failing: what follows it sees
         * the contents, and so the failure, it was waiting for, as the
         * writer reported it (an access polled and abandoned must not turn
         * the writer's FRONTA_EBUILD into FRONTA_EDEPFAILED). */
        t->final = done->final;
        fronta__set_error(t, done->err_code, done->err_root, done->err_msg);
        return;
    }
    int cancelled = done->final == FRONTA__ST_CANCELLED;
    t->final = cancelled ? FRONTA__ST_CANCELLED : FRONTA__ST_FAILED;
    if (done->err_code == FRONTA_EDEPFAILED || (cancelled && done->err_root != done->id)) {
        fronta__set_error(t, done->err_code, done->err_root, done->err_msg);
        return;
    }
    char buf[400];
    if (cancelled)
        snprintf(buf, sizeof buf, "depends on task %llu, which was cancelled",
                 (unsigned long long)done->err_root);
    else
        snprintf(buf, sizeof buf, "depends on task %llu, which failed: %s",
                 (unsigned long long)done->err_root,
                 done->err_msg ? done->err_msg : fronta_strerror(done->err_code));
    fronta__set_error(t, cancelled ? FRONTA_ECANCELLED : FRONTA_EDEPFAILED, done->err_root,
                      buf);
}

/* ---- completion lists ---- */

int fronta__list_push(fronta_future_t *f, fronta__node *n)
{
    fronta__node *h = atomic_load_explicit(&f->list, memory_order_acquire);
    for (;;) {
        if (h == FRONTA__LIST_CLOSED)
            return 1;
        if ((uintptr_t)h & FRONTA__LIST_LOCK) {
            fronta__cpu_relax();
            h = atomic_load_explicit(&f->list, memory_order_acquire);
            continue;
        }
        n->next = h;
        if (atomic_compare_exchange_weak_explicit(&f->list, &h, n, memory_order_release,
                                                  memory_order_acquire))
            return 0;
    }
}

static fronta__node *list_close(fronta_future_t *f)
{
    fronta__node *h = atomic_load_explicit(&f->list, memory_order_acquire);
    for (;;) {
        if ((uintptr_t)h & FRONTA__LIST_LOCK) {
            fronta__cpu_relax();
            h = atomic_load_explicit(&f->list, memory_order_acquire);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&f->list, &h, FRONTA__LIST_CLOSED,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    /* Pushed last-first; fire in registration order. */
    fronta__node *r = NULL;
    while (h) {
        fronta__node *next = h->next;
        h->next = r;
        r = h;
        h = next;
    }
    return r;
}

int fronta__list_remove(fronta_future_t *f, fronta__node *n)
{
    fronta__node *h = atomic_load_explicit(&f->list, memory_order_acquire);
    for (;;) {
        if (h == FRONTA__LIST_CLOSED)
            return 1; /* closed: the node fires, or has fired */
        if ((uintptr_t)h & FRONTA__LIST_LOCK) {
            fronta__cpu_relax();
            h = atomic_load_explicit(&f->list, memory_order_acquire);
            continue;
        }
        fronta__node *locked = (fronta__node *)((uintptr_t)h | FRONTA__LIST_LOCK);
        if (atomic_compare_exchange_weak_explicit(&f->list, &h, locked, memory_order_acquire,
                                                  memory_order_acquire))
            break;
    }
    int found = 1;
    fronta__node *head = h;
    if (h == n) {
        head = n->next;
    } else {
        fronta__node *p = h;
        while (p && p->next != n)
            p = p->next;
        if (p)
            p->next = n->next;
        else
            found = 0;
    }
    atomic_store_explicit(&f->list, head, memory_order_release);
    return found ? 0 : 1;
}

/* ---- scheduling ---- */

/* sub: the calling thread, as fronta__submitter_get describes it. */
static void schedule_by(fronta_future_t *t, const fronta__submitter *sub, int lifo)
{
    fronta__sched_ready(t, sub, lifo);
}

static void schedule(fronta_future_t *t, int lifo)
{
    fronta__submitter sub;
    fronta__submitter_get(t->rt, &sub);
    schedule_by(t, &sub, lifo);
}

static void make_ready_ex(fronta_future_t *t, int lifo)
{
    if ((atomic_load_explicit(&t->state, memory_order_acquire) & FRONTA__ST_MASK) ==
        FRONTA__ST_PENDING)
        schedule(t, lifo);
    else
        fronta__exec_done(t); /* cancelled or failed while it waited */
}

void fronta__make_ready(fronta_future_t *t)
{
    make_ready_ex(t, 0);
}

void fronta__reschedule(fronta_future_t *t)
{
    if (t->flags & FRONTA__F_KTASK) /* admitted again on its device */
        fronta__sched_kernel_ready(t);
    else
        schedule(t, 0);
}

/* Open the gate of the next task of a map with an in-flight limit. A task
 * whose gate opens after it was cancelled took no slot: open one more. */
static void map_release_next(fronta__map *m)
{
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&m->next, 1, memory_order_acq_rel);
        if (i >= m->n)
            return;
        fronta_future_t *t = m->tasks[i];
        if (atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel) != 1)
            return;
        if ((atomic_load_explicit(&t->state, memory_order_acquire) & FRONTA__ST_MASK) ==
            FRONTA__ST_PENDING) {
            schedule(t, 0);
            return;
        }
        fronta__task_release(t);
    }
}

void fronta__exec_done(fronta_future_t *t)
{
    fronta__map *m = t->map;
    if (m && m->n)
        map_release_next(m);
    fronta__task_release(t);
}

/* PENDING -> RUNNING, keeping the waiters bit; 0 when no longer pending. */
int fronta__task_start(fronta_future_t *t)
{
    unsigned s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if ((s & FRONTA__ST_MASK) != FRONTA__ST_PENDING)
            return 0;
        if (atomic_compare_exchange_weak_explicit(
                &t->state, &s, (s & FRONTA__ST_WAITERS) | FRONTA__ST_RUNNING,
                memory_order_acq_rel, memory_order_acquire))
            return 1;
    }
}

/* RUNNING -> PENDING, keeping the waiters bit: a retry, or a device task
 * that leaves for the pool; it can then be cancelled again. */
void fronta__task_unstart(fronta_future_t *t)
{
    unsigned s = atomic_load_explicit(&t->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        &t->state, &s, (s & FRONTA__ST_WAITERS) | FRONTA__ST_PENDING, memory_order_acq_rel,
        memory_order_relaxed))
        ;
}

int fronta__claim(fronta_future_t *t)
{
    unsigned s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if ((s & FRONTA__ST_MASK) != FRONTA__ST_PENDING)
            return 0;
        unsigned n = (s & FRONTA__ST_WAITERS) | FRONTA__ST_CLAIMED;
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, n, memory_order_acq_rel,
                                                  memory_order_acquire))
            return 1;
    }
}

/* ---- completion ---- */

static void edge_fire(fronta__node *n, fronta_future_t *done, fronta__worklist *wl)
{
    fronta__edge *e = (fronta__edge *)n;
    fronta_future_t *s = e->succ;
    if (done->final != FRONTA__ST_FINISHED && fronta__claim(s)) {
        fronta__dep_fail(s, done);
        /* acq_rel: pairs with publish's decrement, after its last read of
         * s->deps; the second of the two completes s. */
        if (atomic_fetch_sub_explicit(&s->settle, 1, memory_order_acq_rel) == 1) {
            atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
            s->work_next = wl->head;
            wl->head = s;
        }
    }
    if (atomic_fetch_sub_explicit(&s->pending, 1, memory_order_acq_rel) == 1)
        make_ready_ex(s, 1);
    fronta__task_release(s); /* the edge's reference */
}

/* Successors and waiters first, done-callbacks last, each in registration
 * order: a callback that waits for a successor of t finds it released
 * (ready, or running), not stuck behind the callback itself. */
static void fire_all(fronta_future_t *t, fronta__node *n, fronta__worklist *wl)
{
    fronta__node *cbs = NULL, **cb_tail = &cbs;
    while (n) {
        fronta__node *next = n->next; /* fire may free n */
        if (fronta__node_is_callback(n)) {
            n->next = NULL;
            *cb_tail = n;
            cb_tail = &n->next;
        } else {
            n->fire(n, t, wl);
        }
        n = next;
    }
    while (cbs) {
        fronta__node *next = cbs->next;
        cbs->fire(cbs, t, wl);
        cbs = next;
    }
}

static void complete_one(fronta_future_t *t, fronta__worklist *wl)
{
    fronta_runtime_t *rt = t->rt;
    if (atomic_load_explicit(&t->refs, memory_order_acquire) == 1 &&
        atomic_load_explicit(&t->list, memory_order_acquire) == NULL) {
        /* Only the execution holds the task: no handle, so no waiter; no
         * successor or callback registered, and none can be now. Publish
         * with a plain store instead of two locked instructions. */
        atomic_store_explicit(&t->state, t->final, memory_order_release);
    } else {
        unsigned old = atomic_exchange_explicit(&t->state, t->final, memory_order_acq_rel);
        if (old & FRONTA__ST_WAITERS)
            fronta__unpark_all(&t->state);
        fire_all(t, list_close(t), wl);
    }
    for (uint32_t i = 0; i < t->ndeps; i++)
        if (t->deps[i].pred) {
            fronta__task_release(t->deps[i].pred);
            t->deps[i].pred = NULL;
        }
    if (t->final == FRONTA__ST_FAILED &&
        atomic_load_explicit(&t->detached, memory_order_seq_cst))
        fronta__log_detached_failure(t);
    fronta__count_completed(rt, 1);
}

void fronta__log_detached_failure(const fronta_future_t *t)
{
    FRONTA__LOG(t->rt, FRONTA_LOG_WARN, "detached task %llu%s%s failed: %s",
                (unsigned long long)t->id, t->name ? " " : "", t->name ? t->name : "",
                t->err_msg ? t->err_msg : fronta_strerror(t->err_code));
}

void fronta__complete(fronta_future_t *t)
{
    /* A worklist, not recursion: failing the head of a 10k-task chain must
     * not need 10k stack frames. */
    fronta__worklist wl = {NULL};
    complete_one(t, &wl);
    while (wl.head) {
        fronta_future_t *x = wl.head;
        wl.head = x->work_next;
        complete_one(x, &wl);
        fronta__task_release(x);
    }
}

/* ---- submission ---- */

static int check_call(fronta_runtime_t *rt, const fronta_call_t *c)
{
    if (!rt || !c || !c->fn)
        return FRONTA_EINVAL;
    if (c->arg_size && !c->arg)
        return FRONTA_EINVAL;
    if (c->nafter && !c->after)
        return FRONTA_EINVAL;
    if (c->arg_size > UINT32_MAX || c->nafter > UINT32_MAX || c->retries > UINT16_MAX)
        return FRONTA_ERANGE;
    for (size_t i = 0; i < c->nafter; i++)
        if (!fronta__task_valid(c->after[i]) || c->after[i]->rt != rt)
            return FRONTA_EINVAL;
    return 0;
}

static uint64_t task_key(fronta_runtime_t *rt, const fronta__submitter *s, uint64_t key,
                         uint64_t id)
{
    if (key)
        return key;
    fronta__ctx *ctx = fronta__current_ctx();
    /* A child's key follows from its parent's and its rank among the
     * parent's children, so nested submissions are as reproducible as
     * top-level ones whatever thread runs the parent. A top-level task's
     * follows from its rank among its thread's submissions. */
    if (ctx && ctx->task->rt == rt) {
        /* Hash the parent first, then add the rank: mixing parent ^ rank
         * symmetrically would give task s's child r the key of task r's
         * child s. 0 is the "automatic" sentinel: never hand it out. */
        uint64_t k = fronta__mix64(fronta__mix64(ctx->task->key ^ 0x6a09e667f3bcc909ull) +
                                   ++ctx->children * 0x9e3779b97f4a7c15ull);
        return k ? k : 0x9e3779b97f4a7c15ull;
    }
    if (s->x)
        return fronta__mix64((uint64_t)(s->x - rt->ext) << 56 ^ ++s->x->seq);
    return id;
}

/* Build a task, unpublished: on failure nothing is visible anywhere. */
static int prepare(fronta_runtime_t *rt, const fronta__submitter *sub, const fronta_call_t *c,
                   const fronta__rneed *rn, int with_user_ref, fronta_future_t **out)
{
    fronta_future_t *t = fronta__cache_get(&rt->task_slab, sub->cache);
    if (!t)
        return FRONTA_ENOMEM;
    /* Field by field rather than memset: only the first two lines. */
    atomic_init(&t->state, FRONTA__ST_PENDING);
    atomic_init(&t->list, NULL);
    t->magic = FRONTA__MAGIC_LIVE;
    t->rt = rt;
    t->fn = c->fn;
    t->arg = t->arg_inline;
    t->arg_size = (uint32_t)c->arg_size;
    t->priority = c->priority;
    t->res = t->res_inline;
    t->res_size = 0;
    t->map = NULL;
    t->name = c->name;
    t->deps = t->dep_inline;
    t->ndeps = (uint32_t)c->nafter;
    t->flags = 0;
    t->final = 0;
    atomic_init(&t->cancel_req, 0);
    atomic_init(&t->detached, 0);
    t->attempt = 0;
    t->retries = (uint16_t)c->retries;
    if (c->arg_size > FRONTA__ARG_INLINE) {
        t->arg = fronta__mem_alloc(&rt->alloc, c->arg_size);
        t->flags |= FRONTA__F_ARG_HEAP;
    }
    if (c->nafter > FRONTA__DEP_INLINE) {
        t->deps = fronta__mem_calloc(&rt->alloc, c->nafter, sizeof *t->deps);
        t->flags |= FRONTA__F_DEPS_HEAP;
    }
    if (__builtin_expect(rn != NULL, 0) && (t->rneed = fronta__mem_alloc(&rt->alloc, sizeof *rn))) {
        *t->rneed = *rn;
        t->rneed->fn = c->fn;
        t->fn = fronta__res_run; /* what fronta__has_res reads, on any thread */
        t->flags |= FRONTA__F_RES;
    }
    if (!t->arg || !t->deps || (rn && !(t->flags & FRONTA__F_RES))) {
        if (!t->arg)
            t->flags &= ~FRONTA__F_ARG_HEAP;
        if (!t->deps)
            t->flags &= ~FRONTA__F_DEPS_HEAP;
        task_free(t);
        return FRONTA_ENOMEM;
    }
    if (c->arg_size)
        memcpy(t->arg, c->arg, c->arg_size);
    t->id = fronta__new_id(rt, sub);
    t->key = task_key(rt, sub, c->key, t->id);
    atomic_init(&t->refs, 1u + (with_user_ref ? 1u : 0u) + t->ndeps);
    /* Inputs, plus a guard held while publish() links them; a task without
     * inputs has nothing to guard and is made ready directly. */
    atomic_init(&t->pending, t->ndeps ? 1 + (int)t->ndeps : 0);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        fronta__edge *e = &t->deps[i];
        e->node.fire = edge_fire;
        e->pred = c->after[i];
        e->succ = t;
    }
    *out = t;
    return 0;
}

int fronta__task_new(fronta_runtime_t *rt, const fronta__submitter *sub, const fronta_call_t *c,
                     int with_user_ref, fronta_future_t **out)
{
    return prepare(rt, sub, c, NULL, with_user_ref, out);
}

/* Link t to its inputs and, unless gated, let it run once they are done. */
static void publish(fronta_future_t *t, const fronta__submitter *sub, int gated)
{
    if (t->ndeps == 0) {
        if (!gated) /* else map_release_next opens the gate; nobody can
                     * have claimed t yet, so it is pending */
            schedule_by(t, sub, 0);
        return;
    }
    /* Before the first edge is linked, so every edge sees it: see
     * fronta_future.settle. An edge that fires on a failed input claims t
     * but leaves completing it to us until the loop is over. */
    atomic_store_explicit(&t->settle, 2, memory_order_relaxed);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        fronta_future_t *p = t->deps[i].pred;
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
        if (fronta__list_push(p, &t->deps[i].node) == 0)
            continue;
        /* Already done: no edge will fire, so settle it here. */
        if (p->final != FRONTA__ST_FINISHED && fronta__claim(t)) {
            fronta__dep_fail(t, p);
            atomic_fetch_sub_explicit(&t->settle, 1, memory_order_acq_rel);
        }
        atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel);
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_relaxed);
    }
    /* t->deps is not read below: a failed input's claim may complete t. */
    if (atomic_fetch_sub_explicit(&t->settle, 1, memory_order_acq_rel) == 1)
        fronta__complete(t);
    if (atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel) == 1)
        fronta__make_ready(t);
}

/* A plain task's resources, from those the pool declares. */
static int plain_needs(fronta_runtime_t *rt, const fronta_resource_t *need, size_t n,
                       fronta__rneed *rn)
{
    char msg[256];
    int rc = fronta__res_resolve(rt->res, need, n, rn, msg, sizeof msg);
    if (!rc && !fronta__res_fits(rt->res, rn, 0, msg, sizeof msg))
        rc = FRONTA_ERESOURCE; /* plain tasks run on the pool only */
    return rc ? fronta__fail(rc, "plain task: %s", msg) : 0;
}

int fronta__submit(fronta_runtime_t *rt, const fronta_call_t *c, fronta_future_t **out)
{
    if (out)
        *out = NULL;
    int rc = check_call(rt, c);
    if (rc)
        return rc;
    fronta__rneed rn, *rnp = NULL;
    if (__builtin_expect(c->nresources || c->resources[0].name, 0)) {
        if ((rc = plain_needs(rt, c->resources, c->nresources, &rn)))
            return rc;
        rnp = &rn;
    }
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    if ((rc = fronta__enter(rt, &sub, 1)))
        return rc;
    fronta_future_t *t;
    if ((rc = prepare(rt, &sub, c, rnp, out != NULL, &t))) {
        fronta__unenter(rt, &sub, 1);
        return rc;
    }
    if (out)
        *out = t;
    if (__builtin_expect(rt->trace != NULL, 0))
        fronta__sched_trace(rt, FRONTA__TR_SUBMIT, t);
    publish(t, &sub, 0);
    return 0;
}

int fronta_submit_call(fronta_runtime_t *rt, const fronta_call_t *call, fronta_future_t **out)
{
    if (out)
        *out = NULL;
    if (!call)
        return FRONTA_EINVAL;
    if (call->size == 0 || call->size == sizeof *call)
        return fronta__submit(rt, call, out);
    fronta_call_t c; /* another version's layout */
    if (fronta__desc_read(&c, sizeof c, call, offsetof(fronta_call_t, fn) + sizeof c.fn))
        return FRONTA_EINVAL;
    return fronta__submit(rt, &c, out);
}

int fronta_submit_fn(fronta_runtime_t *rt, fronta_fn_t fn, const void *arg, size_t arg_size,
                     fronta_future_t **out)
{
    /* The fields fronta__submit reads, one store each: zeroing the whole
     * call (its resource array included) costs the hot path more. */
    fronta_call_t c;
    c.fn = fn;
    c.arg = arg;
    c.arg_size = arg_size;
    c.after = NULL;
    c.nafter = 0;
    c.priority = 0;
    c.retries = 0;
    c.key = 0;
    c.name = NULL;
    c.resources[0].name = NULL;
    c.nresources = 0;
    return fronta__submit(rt, &c, out);
}

/* ---- map ---- */

static int map_check(fronta_runtime_t *rt, fronta_fn_t fn, const void *args, size_t arg_size,
                     size_t n, const fronta_map_opts_t *o, fronta_future_t **out)
{
    if (!rt || !fn || (n && !out) || (n && arg_size && !args))
        return FRONTA_EINVAL;
    size_t bytes;
    if (arg_size > UINT32_MAX || n > FRONTA__COUNT_MAX ||
        fronta__size_array(0, n, arg_size, &bytes) || (o && o->retries > UINT16_MAX))
        return FRONTA_ERANGE;
    return 0;
}

int fronta_map(fronta_runtime_t *rt, fronta_fn_t fn, const void *args, size_t arg_size,
               size_t n, const fronta_map_opts_t *opts, fronta_future_t **out)
{
    fronta_map_opts_t o;
    if (opts && fronta__desc_read(&o, sizeof o, opts, sizeof(size_t)))
        return FRONTA_EINVAL;
    opts = opts ? &o : NULL;
    int rc = map_check(rt, fn, args, arg_size, n, opts, out);
    if (rc || n == 0)
        return rc;
    fronta__rneed rn, *rnp = NULL;
    if (opts && (opts->nresources || opts->resources[0].name)) {
        if ((rc = plain_needs(rt, opts->resources, opts->nresources, &rn)))
            return rc;
        rnp = &rn;
    }
    size_t limit = opts ? opts->max_inflight : 0;
    fronta__map *m = NULL;
    if (limit && limit < n) {
        m = fronta__mem_alloc(&rt->alloc, map_size(n));
        if (!m)
            return FRONTA_ENOMEM;
        m->n = n;
        atomic_init(&m->refs, n);
        atomic_init(&m->next, limit);
    }
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    if ((rc = fronta__enter(rt, &sub, n))) {
        if (m)
            fronta__mem_free(&rt->alloc, m, map_size(n));
        return rc;
    }
    fronta_call_t c = {.fn = fn, .arg_size = arg_size,
                       .priority = opts ? opts->priority : 0,
                       .retries = opts ? opts->retries : 0};
    size_t i;
    for (i = 0; i < n; i++) {
        /* args may be NULL when arg_size is 0: no offset on NULL. */
        c.arg = arg_size ? (const char *)args + i * arg_size : NULL;
        if ((rc = prepare(rt, &sub, &c, rnp, 1, &out[i])))
            break;
        if (m) {
            out[i]->map = m;
            m->tasks[i] = out[i];
            /* The gate, closed before any task of the map can run and
             * open it (map_release_next). */
            if (i >= limit)
                atomic_init(&out[i]->pending, 1);
        }
    }
    if (rc) { /* roll back: nothing was published */
        while (i--) {
            out[i]->map = NULL;
            fronta__task_release(out[i]);
            fronta__task_release(out[i]);
            out[i] = NULL;
        }
        if (m)
            fronta__mem_free(&rt->alloc, m, map_size(n));
        fronta__unenter(rt, &sub, n);
        return rc;
    }
    for (i = 0; i < n; i++) {
        if (rt->trace)
            fronta__sched_trace(rt, FRONTA__TR_SUBMIT, out[i]);
        publish(out[i], &sub, m && i >= limit);
    }
    return 0;
}
