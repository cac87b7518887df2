/* Kernel tasks: argument checks, placement, dependencies from buffer
 * accesses, chaining on a device, and the run of a CPU implementation. */
#include "core/kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cpu_run(fronta_ctx_t *ctx, void *arg);

fronta__ktask *fronta__ktask_of(const fronta_future_t *t)
{
    /* fn, unlike flags, never changes after submit: safe from any thread. */
    if (t->fn != cpu_run)
        return NULL;
    fronta__ktask *kt;
    memcpy(&kt, t->arg, sizeof kt);
    return kt;
}

int fronta_future_device(const fronta_future_t *f)
{
    if (!fronta__task_valid(f))
        return FRONTA_EINVAL;
    const fronta__ktask *kt = fronta__ktask_of(f);
    return kt ? atomic_load_explicit(&kt->dev, memory_order_acquire) : -1;
}

/* ---- checking a submission ---- */

/* The distinct buffers of a task, in address order (the lock order), each
 * with the union of its modes. */
typedef struct kbufs {
    fronta_buffer_t *b[FRONTA_MAX_ARGS];
    fronta_access_t mode[FRONTA_MAX_ARGS];
    size_t n;
} kbufs;

static void kbufs_add(kbufs *kb, fronta_buffer_t *b, fronta_access_t m)
{
    size_t i = 0;
    while (i < kb->n && (uintptr_t)kb->b[i] < (uintptr_t)b)
        i++;
    if (i < kb->n && kb->b[i] == b) {
        kb->mode[i] |= m;
        return;
    }
    memmove(&kb->b[i + 1], &kb->b[i], (kb->n - i) * sizeof kb->b[0]);
    memmove(&kb->mode[i + 1], &kb->mode[i], (kb->n - i) * sizeof kb->mode[0]);
    kb->b[i] = b;
    kb->mode[i] = m;
    kb->n++;
}

static int check_arg(fronta_runtime_t *rt, const fronta_param_t *p, const fronta_arg_t *a,
                     size_t global)
{
    if (a->kind != p->kind)
        return FRONTA_EARG;
    if (a->kind != FRONTA_ARG_BUFFER)
        return 0;
    if (!fronta__buffer_valid(a->buffer) || a->buffer->rt != rt)
        return FRONTA_EINVAL;
    if (a->access < FRONTA_ACCESS_IN || a->access > FRONTA_ACCESS_INOUT)
        return FRONTA_EINVAL;
    if ((p->access && a->access != p->access) || (p->dtype && a->buffer->type != p->dtype))
        return FRONTA_EARG;
    if (p->count == FRONTA_COUNT_GLOBAL && a->buffer->count != global)
        return FRONTA_ESIZE;
    return 0;
}

static size_t launch_size(const fronta_task_desc_t *d, size_t nargs)
{
    if (d->global)
        return d->global;
    for (size_t i = 0; i < nargs; i++)
        if (d->args[i].kind == FRONTA_ARG_BUFFER && fronta__buffer_valid(d->args[i].buffer))
            return d->args[i].buffer->count;
    return 0;
}

static int check_task(fronta_runtime_t *rt, const fronta_task_desc_t *d, size_t *nargs,
                      size_t *global, kbufs *kb)
{
    const fronta_kernel_t *k = d->kernel;
    if (!k || k->rt != rt || (d->nafter && !d->after))
        return FRONTA_EINVAL;
    size_t n = d->nargs;
    if (n == 0)
        while (n < FRONTA_MAX_ARGS && d->args[n].kind != FRONTA_ARG_NONE)
            n++;
    if (n != k->nparams)
        return FRONTA_EARG;
    for (size_t i = 0; i < n; i++) /* kinds first: a wrong kind is the mistake */
        if (d->args[i].kind != k->params[i].kind)
            return FRONTA_EARG;
    size_t g = launch_size(d, n);
    if (!g)
        return FRONTA_EINVAL;
    if (d->local && g % d->local)
        return FRONTA_ESIZE;
    kb->n = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = check_arg(rt, &k->params[i], &d->args[i], g);
        if (rc)
            return rc;
        if (d->args[i].kind == FRONTA_ARG_BUFFER)
            kbufs_add(kb, d->args[i].buffer, d->args[i].access);
    }
    for (size_t i = 0; i < d->nafter; i++)
        if (!fronta__task_valid(d->after[i]) || d->after[i]->rt != rt)
            return FRONTA_EINVAL;
    *nargs = n;
    *global = g;
    return 0;
}

/* ---- placement ---- */

static int admits(const fronta_runtime_t *rt, const fronta_needs_t *n, int id)
{
    const fronta__device *dev = &rt->devices[id];
    switch (n->device) {
    case FRONTA_NEED_ANY:
        return 1;
    case FRONTA_NEED_CPU_POOL:
        return dev->kind == FRONTA_DEVICE_CPU_POOL;
    case FRONTA_NEED_OPENCL:
        return dev->kind == FRONTA_DEVICE_OPENCL;
    case FRONTA_NEED_GPU:
        return dev->kind == FRONTA_DEVICE_OPENCL && dev->type == FRONTA_DEVTYPE_GPU;
    case FRONTA_NEED_DEVICE:
        return id == n->device_id;
    }
    return 0;
}

static int candidate(const fronta_runtime_t *rt, const fronta__ktask *kt, int id)
{
    const fronta__device *dev = &rt->devices[id];
    return admits(rt, &kt->needs, id) && dev->drv->can_run &&
           dev->drv->can_run(dev->data, dev->local, kt->k);
}

/* Eager placement, with buffer locks held: where the data's last writer
 * is queued (the chain stays on its device), else where the data it reads
 * lives (and the host copy is stale), else a GPU, else the pool, else any
 * device that can run it. */
static int place(const fronta_runtime_t *rt, fronta__ktask *kt, const kbufs *kb)
{
    if (kt->needs.device == FRONTA_NEED_DEVICE &&
        (kt->needs.device_id < 0 || kt->needs.device_id >= rt->ndevices))
        return FRONTA_ENODEV;
    if ((unsigned)kt->needs.device > FRONTA_NEED_DEVICE)
        return FRONTA_EINVAL;
    for (size_t i = 0; i < kb->n; i++) {
        const fronta_future_t *w = kb->b[i]->last_writer;
        const fronta__ktask *wk = w ? fronta__ktask_of(w) : NULL;
        int d = wk ? atomic_load_explicit(&wk->dev, memory_order_acquire) : 0;
        if (d > 0 && !fronta_future_done(w) && candidate(rt, kt, d))
            return d;
    }
    int pool = -1, other = -1, best = -1;
    size_t best_bytes = 0;
    for (int id = 1; id < rt->ndevices; id++) {
        /* The device that alone holds the most of what we read: running
         * there saves bringing it back to the host. */
        size_t bytes = 0;
        for (size_t i = 0; i < kb->n; i++)
            if ((kb->mode[i] & FRONTA_ACCESS_IN) && (kb->b[i]->valid & (1ull << id)) &&
                !(kb->b[i]->valid & 1))
                bytes += kb->b[i]->bytes;
        if (bytes > best_bytes && candidate(rt, kt, id)) {
            best = id;
            best_bytes = bytes;
        }
    }
    if (best > 0)
        return best;
    for (int id = 0; id < rt->ndevices; id++) {
        if (!candidate(rt, kt, id))
            continue;
        if (rt->devices[id].type == FRONTA_DEVTYPE_GPU &&
            rt->devices[id].kind == FRONTA_DEVICE_OPENCL)
            return id;
        if (id == 0)
            pool = 0;
        else if (other < 0)
            other = id;
    }
    if (pool == 0)
        return 0;
    return other >= 0 ? other : FRONTA_ENOIMPL;
}

/* ---- dependencies ---- */

static void ktask_ready(fronta_future_t *t);

static void release_preds(fronta__ktask *kt)
{
    for (uint32_t i = 0; i < kt->ndeps; i++)
        if (kt->deps[i].pred) {
            fronta__task_release(kt->deps[i].pred);
            kt->deps[i].pred = NULL;
        }
}

/* pred completed: the dependency fires unless its enqueue fired it. */
static void kdep_complete(fronta__node *n, fronta_future_t *done, fronta__worklist *wl)
{
    fronta__kdep *d = (fronta__kdep *)((char *)n - offsetof(fronta__kdep, node));
    fronta_future_t *s = d->succ;
    if (!atomic_exchange_explicit(&d->fired, 1, memory_order_acq_rel)) {
        if (!d->order_only && done->final != FRONTA__ST_FINISHED && fronta__claim(s)) {
            fronta__dep_fail(s, done);
            atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
            s->work_next = wl->head;
            wl->head = s;
        }
        if (atomic_fetch_sub_explicit(&s->pending, 1, memory_order_acq_rel) == 1)
            ktask_ready(s);
    }
    fronta__task_release(s); /* the node's reference */
}

/* pred was enqueued on s's device: s may be enqueued behind its event. */
static void kdep_early(fronta__kdep *d)
{
    if (atomic_exchange_explicit(&d->fired, 1, memory_order_acq_rel))
        return;
    d->early = 1;
    if (atomic_fetch_sub_explicit(&d->succ->pending, 1, memory_order_acq_rel) == 1)
        ktask_ready(d->succ);
}

/* The enqueue list: a push-only stack closed once, as completion lists. */
static int enq_push(fronta__ktask *kt, fronta__node *n)
{
    fronta__node *h = atomic_load_explicit(&kt->enq_list, memory_order_acquire);
    do {
        if (h == FRONTA__LIST_CLOSED)
            return 1;
        n->next = h;
    } while (!atomic_compare_exchange_weak_explicit(&kt->enq_list, &h, n, memory_order_release,
                                                    memory_order_acquire));
    return 0;
}

void fronta__ktask_enqueued(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    fronta__node *h = atomic_exchange_explicit(&kt->enq_list, FRONTA__LIST_CLOSED,
                                               memory_order_acq_rel);
    fronta__node *r = NULL; /* oldest first: the chain's order */
    while (h && h != FRONTA__LIST_CLOSED) {
        fronta__node *next = h->next;
        h->next = r;
        r = h;
        h = next;
    }
    while (r) {
        fronta__node *next = r->next; /* s may be enqueued and done before we look again */
        kdep_early((fronta__kdep *)((char *)r - offsetof(fronta__kdep, enq)));
        r = next;
    }
}

static int same_device(const fronta__ktask *kt, const fronta_future_t *p)
{
    const fronta__ktask *pk = fronta__ktask_of(p);
    int d = atomic_load_explicit(&kt->dev, memory_order_relaxed);
    return pk && d > 0 && atomic_load_explicit(&pk->dev, memory_order_acquire) == d;
}

/* Link the dependencies, then let the task go once they are met. */
static void publish(fronta_future_t *t, fronta__ktask *kt)
{
    int claimed = 0;
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        fronta__kdep *d = &kt->deps[i];
        fronta_future_t *p = d->pred;
        if (fronta__list_push(p, &d->node) == 0) {
            if (same_device(kt, p) && enq_push(fronta__ktask_of(p), &d->enq))
                kdep_early(d); /* already enqueued */
            continue;
        }
        /* p is done: settle the dependency here. */
        atomic_store_explicit(&d->fired, 1, memory_order_relaxed);
        if (!d->order_only && p->final != FRONTA__ST_FINISHED && fronta__claim(t)) {
            fronta__dep_fail(t, p);
            claimed = 1;
        }
        atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel);
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_relaxed);
    }
    if (claimed)
        fronta__complete(t);
    if (atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel) == 1)
        ktask_ready(t);
}

/* Add pred p (deduplicated: a task named twice is one dependency, failing
 * ours unless every mention is order-only). */
static void add_dep(fronta__ktask *kt, fronta_future_t *p, int order_only)
{
    for (uint32_t i = 0; i < kt->ndeps; i++)
        if (kt->deps[i].pred == p) {
            kt->deps[i].order_only &= (uint8_t)order_only;
            return;
        }
    fronta__kdep *d = &kt->deps[kt->ndeps++];
    d->pred = p;
    d->order_only = (uint8_t)order_only;
    d->node.fire = kdep_complete;
}

static void add_dep_cb(void *ud, fronta_future_t *p, int order_only)
{
    add_dep(ud, p, order_only);
}

/* With the buffers locked: the tasks this one follows. kt->deps has room
 * for max_deps(). */
static void gather_deps(fronta__ktask *kt, const fronta_task_desc_t *desc, const kbufs *kb)
{
    for (size_t i = 0; i < desc->nafter; i++)
        add_dep(kt, desc->after[i], 0);
    for (size_t i = 0; i < kb->n; i++)
        fronta__buffer_deps(kb->b[i], kb->mode[i], add_dep_cb, kt);
}

static size_t max_deps(const fronta_task_desc_t *desc, const kbufs *kb)
{
    size_t n = desc->nafter;
    for (size_t i = 0; i < kb->n; i++)
        n += fronta__buffer_ndeps(kb->b[i], kb->mode[i]);
    return n;
}

/* ---- the task's way to a device ---- */

static void access_ready(fronta_future_t *h);

static void ktask_ready(fronta_future_t *t)
{
    if (fronta__ktask_of(t)->k && (atomic_load_explicit(&t->state, memory_order_acquire) &
                                   FRONTA__ST_MASK) != FRONTA__ST_PENDING) {
        fronta__ktask_drop(t); /* cancelled or failed while it waited */
        return;
    }
    fronta__ktask *kt = fronta__ktask_of(t);
    if (!kt->k) {
        access_ready(t);
        return;
    }
    const fronta__device *dev = &t->rt->devices[atomic_load_explicit(&kt->dev,
                                                                      memory_order_acquire)];
    dev->drv->submit(dev->data, dev->local, t);
}

void fronta__ktask_drop(fronta_future_t *t)
{
    release_preds(fronta__ktask_of(t));
    fronta__exec_done(t);
}

int fronta__ktask_start(fronta_future_t *t)
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

void fronta__ktask_fall_back(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    /* Predecessors we were chained on are on the device's queue: on the
     * pool we must wait for them like any other dependency. */
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        const fronta__kdep *d = &kt->deps[i];
        if (!d->early)
            continue;
        fronta_future_wait(d->pred, -1);
        if (!d->order_only && d->pred->final != FRONTA__ST_FINISHED) {
            fronta__ktask_finish(t, 0, NULL); /* fails it, naming d->pred */
            return;
        }
    }
    /* Successors that chose to chain on our enqueue now wait for our
     * completion on the host: their completion nodes are still linked. */
    atomic_store_explicit(&kt->dev, 0, memory_order_release);
    unsigned s = atomic_load_explicit(&t->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        &t->state, &s, (s & FRONTA__ST_WAITERS) | FRONTA__ST_PENDING, memory_order_acq_rel,
        memory_order_relaxed))
        ;
    fronta__make_ready(t);
}

void fronta__ktask_finish(fronta_future_t *t, int code, const char *msg)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    t->final = FRONTA__ST_FINISHED;
    if (code) {
        t->final = FRONTA__ST_FAILED;
        fronta__set_error(t, code, t->id, msg);
    } else {
        /* Chained predecessors ran before us on the device; if one failed,
         * what we computed from its output is not a result. */
        for (uint32_t i = 0; i < kt->ndeps; i++) {
            const fronta__kdep *d = &kt->deps[i];
            if (d->early && !d->order_only && d->pred->final != FRONTA__ST_FINISHED) {
                fronta__dep_fail(t, d->pred);
                break;
            }
        }
    }
    release_preds(kt);
    fronta__complete(t);
    fronta__exec_done(t);
}

void fronta__ktask_free(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    const fronta__allocator *a = &t->rt->alloc;
    release_preds(kt);
    if (kt->event && kt->event_free)
        kt->event_free(kt->event);
    if (kt->deps)
        fronta__mem_free(a, kt->deps, kt->deps_cap * sizeof *kt->deps);
    fronta__mem_free(a, kt, sizeof *kt);
}

/* ---- the CPU implementation, on a pool thread ---- */

static int cpu_run(fronta_ctx_t *ctx, void *arg)
{
    fronta__ktask *kt;
    memcpy(&kt, arg, sizeof kt);
    release_preds(kt); /* all complete: nothing to check on the host */
    fronta_karg_t ka[FRONTA_MAX_ARGS];
    char msg[256];
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        memset(&ka[i], 0, sizeof ka[i]);
        if (a->kind != FRONTA_ARG_BUFFER) {
            memcpy(&ka[i].v, &a->v, sizeof a->v);
            continue;
        }
        fronta_buffer_t *b = a->buffer;
        ka[i].ptr = b->host;
        ka[i].count = b->count;
        if (!(a->access & FRONTA_ACCESS_IN))
            continue;
        pthread_mutex_lock(&b->lock);
        int rc = fronta__coh_fetch(b, 0, msg, sizeof msg);
        pthread_mutex_unlock(&b->lock);
        if (rc)
            return fronta_ctx_fail(ctx, rc, "%s", msg);
    }
    int rc = kt->k->cpu(ctx, ka, kt->nargs, kt->global);
    if (rc == 0)
        for (uint32_t i = 0; i < kt->nargs; i++) {
            fronta_buffer_t *b = kt->args[i].buffer;
            if (kt->args[i].kind != FRONTA_ARG_BUFFER ||
                !(kt->args[i].access & FRONTA_ACCESS_OUT))
                continue;
            pthread_mutex_lock(&b->lock);
            fronta__coh_written(b, 0);
            pthread_mutex_unlock(&b->lock);
        }
    atomic_fetch_add_explicit(&ctx->task->rt->pool_kernels_run, 1, memory_order_relaxed);
    return rc;
}

/* ---- submission ---- */

static void unlock_all(const kbufs *kb)
{
    for (size_t i = kb->n; i-- > 0;)
        pthread_mutex_unlock(&kb->b[i]->lock);
}

static fronta__ktask *ktask_new(fronta_runtime_t *rt, const fronta_task_desc_t *d,
                                size_t nargs, size_t global)
{
    fronta__ktask *kt = fronta__mem_calloc(&rt->alloc, 1, sizeof *kt);
    if (!kt)
        return NULL;
    kt->k = d->kernel;
    memcpy(kt->args, d->args, nargs * sizeof d->args[0]);
    kt->nargs = (uint32_t)nargs;
    kt->global = global;
    kt->local = d->local;
    kt->needs = d->needs;
    return kt;
}

/* With the buffers locked: place, size the dependencies, make room in the
 * buffers, build the task. Nothing is visible until this succeeds. */
static int build(fronta_runtime_t *rt, const fronta__submitter *sub,
                 const fronta_task_desc_t *d, fronta__ktask *kt, const kbufs *kb,
                 int user_ref, fronta_future_t **out)
{
    int dev = kt->k ? place(rt, kt, kb) : 0; /* a host access is on the host */
    if (dev < 0)
        return dev;
    atomic_init(&kt->dev, dev);
    kt->can_fall_back = kt->k && dev != 0 && kt->k->cpu && candidate(rt, kt, 0);
    kt->deps_cap = max_deps(d, kb);
    if (kt->deps_cap &&
        !(kt->deps = fronta__mem_calloc(&rt->alloc, kt->deps_cap, sizeof *kt->deps)))
        return FRONTA_ENOMEM;
    for (size_t i = 0; i < kb->n; i++)
        if (fronta__buffer_reserve(kb->b[i], kb->mode[i]))
            return FRONTA_ENOMEM;
    fronta_call_t c = {.fn = cpu_run, .arg = &kt, .arg_size = sizeof kt,
                       .priority = d->priority, .name = d->name};
    return fronta__task_new(rt, sub, &c, user_ref, out);
}

static int submit_locked(fronta_runtime_t *rt, const fronta__submitter *sub,
                         const fronta_task_desc_t *d, fronta__ktask *kt, const kbufs *kb,
                         int user_ref, fronta_future_t **out)
{
    fronta_future_t *t;
    int rc = build(rt, sub, d, kt, kb, user_ref, &t);
    if (rc)
        return rc;
    t->flags |= FRONTA__F_KTASK;
    kt->task = t;
    gather_deps(kt, d, kb);
    unsigned refs = kt->ndeps; /* one per completion node */
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        kt->deps[i].succ = t;
        atomic_fetch_add_explicit(&kt->deps[i].pred->refs, 1, memory_order_relaxed);
    }
    for (size_t i = 0; i < kb->n; i++)
        refs += fronta__buffer_register(kb->b[i], kb->mode[i], t);
    atomic_fetch_add_explicit(&t->refs, refs, memory_order_relaxed);
    /* The dependencies, plus a gate held while publish() links them. */
    atomic_init(&t->pending, 1 + (int)kt->ndeps);
    *out = t;
    return 0;
}

int fronta_submit(fronta_runtime_t *rt, const fronta_task_desc_t *task, fronta_future_t **out)
{
    if (out)
        *out = NULL;
    fronta_task_desc_t d;
    if (!rt || !task ||
        fronta__desc_read(&d, sizeof d, task, offsetof(fronta_task_desc_t, kernel) +
                                                  sizeof d.kernel))
        return FRONTA_EINVAL;
    size_t nargs, global;
    kbufs kb;
    int rc = check_task(rt, &d, &nargs, &global, &kb);
    if (rc)
        return rc;
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    if ((rc = fronta__enter(rt, &sub, 1)))
        return rc;
    fronta__ktask *kt = ktask_new(rt, &d, nargs, global);
    fronta_future_t *t = NULL;
    if (kt) {
        for (size_t i = 0; i < kb.n; i++)
            pthread_mutex_lock(&kb.b[i]->lock);
        rc = submit_locked(rt, &sub, &d, kt, &kb, out != NULL, &t);
        unlock_all(&kb);
    } else {
        rc = FRONTA_ENOMEM;
    }
    if (rc) {
        if (kt && kt->deps)
            fronta__mem_free(&rt->alloc, kt->deps, kt->deps_cap * sizeof *kt->deps);
        if (kt)
            fronta__mem_free(&rt->alloc, kt, sizeof *kt);
        fronta__count_completed(rt, 1);
        return rc;
    }
    if (out)
        *out = t;
    publish(t, kt);
    return 0;
}

/* ---- host accesses ---- */

/* Its turn came: wake the acquiring thread, or, if it gave up, end. */
static void access_ready(fronta_future_t *h)
{
    fronta__ktask *kt = fronta__ktask_of(h);
    unsigned s = FRONTA__ACCESS_WAITING;
    if (atomic_compare_exchange_strong_explicit(&kt->access_state, &s, FRONTA__ACCESS_READY,
                                                memory_order_acq_rel, memory_order_acquire)) {
        fronta__unpark_all(&kt->access_state);
        return;
    }
    /* Abandoned after a timeout: it took no access, but completes only now
     * so that what follows it still follows what preceded it. */
    if (fronta__ktask_start(h))
        fronta__ktask_finish(h, 0, NULL);
    else
        fronta__ktask_drop(h);
}

int fronta__access_submit(fronta_buffer_t *b, fronta_access_t mode, fronta_future_t **out)
{
    fronta_runtime_t *rt = b->rt;
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    int rc = fronta__enter(rt, &sub, 1);
    if (rc)
        return rc;
    fronta_task_desc_t d = {.name = "host access"};
    kbufs kb = {.b = {b}, .mode = {mode}, .n = 1};
    fronta__ktask *kt = fronta__mem_calloc(&rt->alloc, 1, sizeof *kt);
    fronta_future_t *h = NULL;
    rc = kt ? 0 : FRONTA_ENOMEM;
    if (kt) {
        kt->needs.device = FRONTA_NEED_CPU_POOL; /* placement: the host */
        pthread_mutex_lock(&b->lock);
        rc = b->access ? FRONTA_EBUSY : 0;
        if (!rc && !(rc = submit_locked(rt, &sub, &d, kt, &kb, 1, &h)))
            b->access = h;
        pthread_mutex_unlock(&b->lock);
    }
    if (rc) {
        if (kt && kt->deps)
            fronta__mem_free(&rt->alloc, kt->deps, kt->deps_cap * sizeof *kt->deps);
        if (kt)
            fronta__mem_free(&rt->alloc, kt, sizeof *kt);
        fronta__count_completed(rt, 1);
        return rc;
    }
    publish(h, kt);
    *out = h;
    return 0;
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
    while (atomic_load_explicit(&kt->access_state, memory_order_acquire) ==
           FRONTA__ACCESS_WAITING) {
        /* Inside a task, run others meanwhile: the ones we wait for may
         * need this very worker. */
        if (w && fronta__pool_help(w))
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
        fronta__pool_help_done(w);
    if (!fronta__ktask_start(h)) { /* failed with an access it depended on */
        int rc = writer_error(kt, h);
        fronta__ktask_drop(h);
        return rc;
    }
    return 0;
}

void fronta__access_end(fronta_future_t *h)
{
    fronta__ktask_finish(h, 0, NULL);
}
