/* Kernel tasks: argument checks, placement, the dependencies a task's
 * buffer accesses give it, submission, and the run of a CPU
 * implementation. */
#include "core/kernel.h"
#include "data/deferred.h"
#include "sched/sched.h"

#include <string.h>


fronta__ktask *fronta__ktask_of(const fronta_future_t *t)
{
    /* fn, unlike flags, never changes after submit: safe from any thread. */
    if (!fronta__is_ktask(t))
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
    int dev = -1;
    if (!kt && fronta__promise_device(f, &dev)) /* a handle of libfronta_mpi's */
        return dev;
    return kt ? atomic_load_explicit(&kt->dev, memory_order_acquire) : -1;
}

/* ---- checking a submission ---- */

typedef fronta__kbufs kbufs;

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

/* The scalar kind a FRONTA_ARG_SCALAR parameter takes for a buffer of type t. */
static fronta_arg_kind_t scalar_kind(fronta_dtype_t t)
{
    switch (t) {
    case FRONTA_INT64:
        return FRONTA_ARG_I64;
    case FRONTA_FLOAT:
        return FRONTA_ARG_F32;
    case FRONTA_DOUBLE:
        return FRONTA_ARG_F64;
    default: /* UINT8, INT32 */
        return FRONTA_ARG_I32;
    }
}

static int count_fits(const fronta_param_t *p, size_t count, const fronta__shape *sh)
{
    switch (p->count) {
    case FRONTA_COUNT_GLOBAL:
        return count == sh->n;
    case FRONTA_COUNT_ROWS:
        return count == sh->rows;
    case FRONTA_COUNT_COLS:
        return count == sh->cols;
    case FRONTA_COUNT_EXACT:
        return count == p->n;
    default:
        return 1;
    }
}

/* Argument a against parameter p; args are checked in order, so the
 * argument a `like` rule names (an earlier one) is already valid. */
static int check_arg(fronta_runtime_t *rt, const fronta_param_t *p, const fronta_arg_t *a,
                     const fronta_arg_t *args, const fronta__shape *sh)
{
    const fronta_buffer_t *like = p->like ? args[p->like - 1].buffer : NULL;
    if (p->kind == FRONTA_ARG_SCALAR)
        return a->kind == scalar_kind(like->type) ? 0 : FRONTA_EARG;
    if (a->kind != FRONTA_ARG_BUFFER) /* kinds were checked first */
        return 0;
    if (!fronta__buffer_valid(a->buffer) || a->buffer->rt != rt)
        return FRONTA_EINVAL;
    if (a->access < FRONTA_ACCESS_IN || a->access > FRONTA_ACCESS_INOUT)
        return FRONTA_EINVAL;
    fronta_dtype_t t = a->buffer->type;
    if ((p->access && a->access != p->access) || (p->dtype && t != p->dtype) ||
        (!p->dtype && p->dtypes && !(p->dtypes & FRONTA_DTYPE_BIT(t))) ||
        (like && t != like->type))
        return FRONTA_EARG;
    return count_fits(p, a->buffer->count, sh) ? 0 : FRONTA_ESIZE;
}

static size_t first_buffer_count(const fronta_task_desc_t *d, size_t nargs)
{
    for (size_t i = 0; i < nargs; i++)
        if (d->args[i].kind == FRONTA_ARG_BUFFER && fronta__buffer_valid(d->args[i].buffer))
            return d->args[i].buffer->count;
    return 0;
}

/* The launch shape: 2-D when rows or cols is set (then global and local
 * are not), else 1 x global (0: the first buffer's count). */
static int launch_shape(const fronta_task_desc_t *d, size_t nargs, fronta__shape *sh)
{
    memset(sh, 0, sizeof *sh);
    if (d->rows || d->cols) {
        if (!d->rows || !d->cols || d->global || d->local)
            return FRONTA_EINVAL;
        if (!d->local_rows != !d->local_cols)
            return FRONTA_EINVAL;
        if (d->local_rows && (d->rows % d->local_rows || d->cols % d->local_cols))
            return FRONTA_ESIZE;
        if (fronta__size_mul(d->rows, d->cols, &sh->n))
            return FRONTA_ERANGE;
        *sh = (fronta__shape){.rows = d->rows, .cols = d->cols, .n = sh->n,
                              .local_rows = d->local_rows, .local_cols = d->local_cols,
                              .dims = 2};
        return 0;
    }
    if (d->local_rows || d->local_cols)
        return FRONTA_EINVAL;
    size_t g = d->global ? d->global : first_buffer_count(d, nargs);
    if (!g)
        return FRONTA_EINVAL;
    if (d->local && g % d->local)
        return FRONTA_ESIZE;
    *sh = (fronta__shape){.rows = 1, .cols = g, .n = g, .local = d->local, .dims = 1};
    return 0;
}

static int kinds_match(const fronta_kernel_t *k, const fronta_task_desc_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fronta_arg_kind_t want = k->params[i].kind, got = d->args[i].kind;
        if (want == FRONTA_ARG_SCALAR ? got < FRONTA_ARG_I32 || got > FRONTA_ARG_F64
                                      : got != want)
            return 0;
    }
    return 1;
}

/* A written buffer passed at two places (FRONTA_KERNEL_NO_ALIAS); at most
 * FRONTA_MAX_ARGS arguments, so pairs are cheap. */
static int writes_aliased(const fronta_task_desc_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (d->args[i].kind == FRONTA_ARG_BUFFER && d->args[j].kind == FRONTA_ARG_BUFFER &&
                d->args[i].buffer == d->args[j].buffer &&
                ((d->args[i].access | d->args[j].access) & FRONTA_ACCESS_OUT))
                return 1;
    return 0;
}

/* The kernel's own check, over the arguments as given. */
static int check_hook(const fronta_kernel_t *k, const fronta_task_desc_t *d, size_t n,
                      const fronta__shape *sh)
{
    int rc = k->check(d->args, n, sh->rows, sh->cols);
    return rc == FRONTA_ESIZE || rc == FRONTA_EARG || rc == 0 ? rc : FRONTA_EARG;
}

/* A retry reruns the task on its inputs as they were: a buffer it reads
 * and writes (INOUT, or IN at one place and OUT at another) would be read
 * as the failed attempt left it. */
static int check_retries(const fronta_task_desc_t *d, const kbufs *kb)
{
    if (d->retries > UINT16_MAX)
        return fronta__fail(FRONTA_ERANGE, "kernel '%s': %u retries, at most %u",
                            d->kernel->name, (unsigned)d->retries, (unsigned)UINT16_MAX);
    for (size_t i = 0; d->retries && i < kb->n; i++)
        if (kb->mode[i] == FRONTA_ACCESS_INOUT)
            return fronta__fail(FRONTA_ENOTSUP,
                                "kernel '%s': a buffer of %zu elements is read and written "
                                "(INOUT), so the task cannot be retried: a retry would read "
                                "what the failed attempt wrote", d->kernel->name,
                                kb->b[i]->count);
    return 0;
}

/* Why argument i was refused, for fronta_last_error: a refused submission
 * must say which argument and what it wanted, not leave an older
 * message standing. Only on the refusal path. */
static int refuse_arg(int rc, const fronta_kernel_t *k, size_t i, const fronta_arg_t *a,
                      const fronta__shape *sh)
{
    const fronta_param_t *p = &k->params[i];
    if (rc == FRONTA_ESIZE)
        return fronta__fail(rc, "kernel '%s', argument %zu: a buffer of %zu elements where "
                            "the parameter's count rule wants %zu (launch %zu x %zu)",
                            k->name, i, a->buffer->count,
                            p->count == FRONTA_COUNT_EXACT ? p->n
                            : p->count == FRONTA_COUNT_ROWS ? sh->rows
                            : p->count == FRONTA_COUNT_COLS ? sh->cols : sh->n,
                            sh->rows, sh->cols);
    if (rc == FRONTA_EINVAL)
        return fronta__fail(rc, "kernel '%s', argument %zu: not a buffer of this runtime, "
                            "or not an access mode", k->name, i);
    return fronta__fail(rc, "kernel '%s', argument %zu: its %s does not match the "
                        "parameter's", k->name, i,
                        p->kind == FRONTA_ARG_SCALAR ? "scalar type" : "access mode or dtype");
}

static int check_task(fronta_runtime_t *rt, const fronta_task_desc_t *d, size_t *nargs,
                      fronta__shape *sh, kbufs *kb)
{
    const fronta_kernel_t *k = d->kernel;
    if (!k || k->rt != rt || (d->nafter && !d->after))
        return fronta__fail(FRONTA_EINVAL, "submit: %s", !k ? "no kernel"
                            : k->rt != rt ? "a kernel of another runtime"
                                          : "nafter without after");
    /* Refused by count before after[] is read: the dependencies of a task
     * are counted in 32 bits, with room left for its buffers' (build). */
    if (d->nafter > UINT32_MAX / 4)
        return fronta__fail(FRONTA_ERANGE, "submit: %zu after futures", d->nafter);
    size_t n = d->nargs;
    if (n == 0)
        while (n < FRONTA_MAX_ARGS && d->args[n].kind != FRONTA_ARG_NONE)
            n++;
    if (n != k->nparams || !kinds_match(k, d, n)) /* kinds first: the likely mistake */
        return fronta__fail(FRONTA_EARG, "kernel '%s': %zu arguments given, it takes %zu%s",
                            k->name, n, k->nparams,
                            n == k->nparams ? " (one is of the wrong kind)" : "");
    int rc = launch_shape(d, n, sh);
    if (rc)
        return fronta__fail(rc, "kernel '%s': no valid launch shape from rows, cols, global "
                            "and local (or the first buffer's count)", k->name);
    kb->n = 0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = check_arg(rt, &k->params[i], &d->args[i], d->args, sh)))
            return refuse_arg(rc, k, i, &d->args[i], sh);
        if (d->args[i].kind == FRONTA_ARG_BUFFER)
            kbufs_add(kb, d->args[i].buffer, d->args[i].access);
    }
    if ((k->flags & FRONTA_KERNEL_NO_ALIAS) && writes_aliased(d, n))
        return fronta__fail(FRONTA_EARG, "kernel '%s': a buffer it writes is passed twice",
                            k->name);
    if (k->check && (rc = check_hook(k, d, n, sh)))
        return fronta__fail(rc, "kernel '%s': its check refused the arguments", k->name);
    if ((rc = check_retries(d, kb)))
        return rc;
    if ((k->flags & FRONTA_KERNEL_FLAT) && sh->dims == 2)
        *sh = (fronta__shape){.rows = 1, .cols = sh->n, .n = sh->n,
                              .local = sh->local_rows * sh->local_cols, .dims = 1};
    for (size_t i = 0; i < d->nafter; i++)
        if (!fronta__task_valid(d->after[i]) || d->after[i]->rt != rt)
            return fronta__fail(FRONTA_EINVAL, "submit: after[%zu] is not a future of this "
                                "runtime", i);
    *nargs = n;
    return 0;
}

/* ---- resources and retries ---- */

/* The task's resources, and the implicit one: its buffers' bytes of
 * memory, held on the device that runs it. */
static int resolve_needs(fronta_runtime_t *rt, const fronta_task_desc_t *d, const kbufs *kb,
                         fronta__rneed *rn)
{
    char msg[256];
    int rc = fronta__res_resolve(rt->res, d->resources, d->nresources, rn, msg, sizeof msg);
    if (rc)
        return fronta__fail(rc, "kernel '%s': %s", d->kernel->name, msg);
    uint64_t bytes = 0;
    for (size_t i = 0; i < kb->n; i++)
        bytes += kb->b[i]->bytes; /* each < SIZE_MAX / 2, at most 16 */
    int j = 0;
    while (j < rn->n && rn->idx[j] != FRONTA__RES_MEM)
        j++;
    if (j == rn->n) {
        rn->idx[j] = FRONTA__RES_MEM;
        rn->amount[rn->n++] = 0;
    }
    rn->amount[j] += bytes;
    return 0;
}

/* ---- dependencies ---- */

static void add_dep_cb(void *ud, fronta_future_t *p, int order_only)
{
    fronta__kdep_add(ud, p, order_only);
}

/* With the buffers locked: the tasks this one follows. kt->deps has room
 * for max_deps(). */
static void gather_deps(fronta__ktask *kt, const fronta_task_desc_t *desc, const kbufs *kb)
{
    for (size_t i = 0; i < desc->nafter; i++)
        fronta__kdep_add(kt, desc->after[i], 0);
    for (size_t i = 0; i < kb->n; i++)
        fronta__buffer_deps(kb->b[i], kb->mode[i], add_dep_cb, kt);
    for (size_t i = 0; i < kt->nextra; i++)
        if (kt->extra[i])
            fronta__kdep_add(kt, kt->extra[i], 1);
}

/* Up to this many possible dependencies, a linear search deduplicates
 * faster than an index costs to build. */
#define DEDUP_LINEAR 16

static void dedup_free(fronta_runtime_t *rt, fronta__ktask *kt)
{
    if (kt->dedup)
        fronta__mem_free(&rt->alloc, kt->dedup, kt->dedup_size * sizeof *kt->dedup);
    kt->dedup = NULL;
    kt->dedup_size = 0;
}

/* The buffers kt writes on the host without reading them, counted while
 * it runs (fronta_buffer.host_writers), where a device memory limit makes
 * evictions (only they read the count): else no lock is taken for it. */
static int host_writing(const fronta__ktask *kt, int add)
{
    if (!fronta__res_mem_limited(kt->task->rt->res))
        return 0;
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        if (a->kind != FRONTA_ARG_BUFFER || (a->access & FRONTA_ACCESS_INOUT) != FRONTA_ACCESS_OUT)
            continue;
        pthread_mutex_lock(&a->buffer->lock);
        a->buffer->host_writers += add;
        pthread_mutex_unlock(&a->buffer->lock);
    }
    return 1;
}

static size_t max_deps(const fronta_task_desc_t *desc, const kbufs *kb, size_t kt_extra)
{
    size_t n = desc->nafter + kt_extra;
    for (size_t i = 0; i < kb->n; i++)
        n += fronta__buffer_ndeps(kb->b[i], kb->mode[i]);
    return n;
}

/* ---- the CPU implementation, on a pool thread ---- */

fronta__piece_hook fronta__hook_closed;

int fronta__ktask_hook(fronta_future_t *t, const fronta_buffer_t *in, const fronta_buffer_t *out,
                       fronta__piece_hook *h)
{
    const fronta__ktask *kt = t ? fronta__ktask_of(t) : NULL;
    if (!kt || !kt->k || !kt->k->cpu || !(kt->k->flags & FRONTA_KERNEL_ELEMENTWISE) ||
        kt->shape.dims != 1 || !kt->shape.n || fronta_future_done(t))
        return 0;
    int reads = 0, writes = 0;
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        if (a->kind != FRONTA_ARG_BUFFER)
            continue;
        if (a->buffer->count != kt->shape.n) /* not every buffer can be cut alike */
            return 0;
        reads |= a->buffer == in;
        writes |= a->buffer == out && (a->access & FRONTA_ACCESS_OUT);
    }
    fronta__piece_hook *none = NULL;
    return reads && writes &&
           atomic_compare_exchange_strong_explicit(&((fronta__ktask *)kt)->hook, &none, h,
                                                   memory_order_acq_rel, memory_order_acquire);
}

void fronta__ktask_unhook(fronta__ktask *kt)
{
    /* Freed: no one can attach any more (an attacher holds a reference),
     * so a load does, and spares every task's free an atomic swap. */
    fronta__piece_hook *h = atomic_load_explicit(&kt->hook, memory_order_acquire);
    if (h && h != &fronta__hook_closed)
        h->release(h);
}

/* The consumer attached to an elementwise kernel, taken as it starts
 * (later attaches then fail); NULL when none. */
static fronta__piece_hook *take_hook(fronta__ktask *kt)
{
    if (!(kt->k->flags & FRONTA_KERNEL_ELEMENTWISE))
        return NULL;
    fronta__piece_hook *h = atomic_exchange_explicit(&kt->hook, &fronta__hook_closed,
                                                     memory_order_acq_rel);
    return h == &fronta__hook_closed ? NULL : h;
}

/* The launch piece by piece, the consumer after each while the piece is
 * in this core's cache (FRONTA_KERNEL_ELEMENTWISE says the pieces give
 * what one call would). */
static int run_pieces(fronta_ctx_t *ctx, const fronta__ktask *kt, const fronta_karg_t *ka,
                      fronta__piece_hook *h)
{
    fronta_karg_t kp[FRONTA_MAX_ARGS];
    size_t n = kt->shape.n;
    int rc = 0;
    for (size_t lo = 0, i = 0; lo < n && !rc; lo += h->piece, i++) {
        size_t len = n - lo < h->piece ? n - lo : h->piece;
        for (uint32_t a = 0; a < kt->nargs; a++) {
            kp[a] = ka[a];
            if (kt->args[a].kind != FRONTA_ARG_BUFFER)
                continue;
            kp[a].ptr = (char *)ka[a].ptr + lo * fronta_dtype_size(kt->args[a].buffer->type);
            kp[a].count = len;
        }
        if (!(rc = kt->k->cpu(ctx, kp, kt->nargs, len)))
            h->done(h, i, lo, len);
    }
    if (rc)
        h->undo(h);
    h->release(h);
    return rc;
}

int fronta__ktask_run(fronta_ctx_t *ctx, void *arg)
{
    fronta__ktask *kt;
    memcpy(&kt, arg, sizeof kt);
    fronta__ktask_release_preds(kt); /* all complete: nothing to check on the host */
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
    fronta_runtime_t *rt = ctx->task->rt;
    int counted = host_writing(kt, 1);
    uint64_t t0 = fronta__now_ns();
    fronta__piece_hook *h = take_hook(kt);
    int rc = h ? run_pieces(ctx, kt, ka, h) : kt->k->cpu(ctx, ka, kt->nargs, kt->shape.n);
    fronta__sched_kernel_ran(rt, kt, 0, fronta__now_ns() - t0, rc == 0);
    for (uint32_t i = 0; i < kt->nargs; i++) {
        fronta_buffer_t *b = kt->args[i].buffer;
        if (kt->args[i].kind != FRONTA_ARG_BUFFER || !(kt->args[i].access & FRONTA_ACCESS_OUT))
            continue;
        pthread_mutex_lock(&b->lock);
        if (rc == 0)
            fronta__coh_written(b, 0);
        if (counted && !(kt->args[i].access & FRONTA_ACCESS_IN))
            b->host_writers--;
        pthread_mutex_unlock(&b->lock);
    }
    atomic_fetch_add_explicit(&rt->pool_kernels_run, 1, memory_order_relaxed);
    return rc;
}

static const fronta__ktask *running_kernel(const fronta_ctx_t *ctx)
{
    const fronta__ktask *kt = ctx && ctx->task ? fronta__ktask_of(ctx->task) : NULL;
    return kt && kt->k ? kt : NULL;
}

int fronta_ctx_shape(const fronta_ctx_t *ctx, size_t *rows, size_t *cols)
{
    const fronta__ktask *kt = running_kernel(ctx);
    if (!kt)
        return FRONTA_EINVAL;
    if (rows)
        *rows = kt->shape.rows;
    if (cols)
        *cols = kt->shape.cols;
    return 0;
}

fronta_dtype_t fronta_ctx_arg_dtype(const fronta_ctx_t *ctx, size_t i)
{
    const fronta__ktask *kt = running_kernel(ctx);
    if (!kt || i >= kt->nargs || kt->args[i].kind != FRONTA_ARG_BUFFER)
        return 0;
    return kt->args[i].buffer->type;
}

/* ---- submission ---- */

void fronta__ktask_discard(fronta_runtime_t *rt, const fronta__submitter *sub,
                           fronta__ktask *kt)
{
    if (kt)
        dedup_free(rt, kt);
    if (kt && kt->deps)
        fronta__mem_free(&rt->alloc, kt->deps, kt->deps_cap * sizeof *kt->deps);
    if (kt)
        fronta__mem_free(&rt->alloc, kt, sizeof *kt);
    fronta__unenter(rt, sub, 1);
}

static void unlock_all(const kbufs *kb)
{
    for (size_t i = kb->n; i-- > 0;)
        pthread_mutex_unlock(&kb->b[i]->lock);
}

static fronta__ktask *ktask_new(fronta_runtime_t *rt, const fronta_task_desc_t *d,
                                size_t nargs, const fronta__shape *sh)
{
    fronta__ktask *kt = fronta__mem_calloc(&rt->alloc, 1, sizeof *kt);
    if (!kt)
        return NULL;
    kt->k = d->kernel;
    memcpy(kt->args, d->args, nargs * sizeof d->args[0]);
    kt->nargs = (uint32_t)nargs;
    kt->shape = *sh;
    kt->needs = d->needs;
    atomic_init(&kt->rn.dev, -1);
    kt->est_dev = -1;
    atomic_init(&kt->sched_dev, -1);
    atomic_init(&kt->hook, NULL);
    return kt;
}

/* With the buffers locked: place, size the dependencies, make room in the
 * buffers, build the task. Nothing is visible until this succeeds. */
static int build(fronta_runtime_t *rt, const fronta__submitter *sub,
                 const fronta_task_desc_t *d, fronta__ktask *kt, const kbufs *kb,
                 int user_ref, fronta_future_t **out)
{
    int dev = kt->k ? fronta__sched_place(rt, kt, kb) : 0; /* an access is on the host */
    if (dev < 0)
        return dev;
    atomic_init(&kt->dev, dev);
    kt->can_fall_back = kt->k && dev != 0 && fronta__sched_pool_admits(rt, kt);
    kt->deps_cap = max_deps(d, kb, kt->nextra);
    if (kt->deps_cap > UINT32_MAX / 2)
        return FRONTA_ERANGE;
    if (kt->deps_cap &&
        !(kt->deps = fronta__mem_calloc(&rt->alloc, kt->deps_cap, sizeof *kt->deps)))
        return FRONTA_ENOMEM;
    if (kt->deps_cap > DEDUP_LINEAR) { /* at most half full: short probes */
        size_t n = 2 * DEDUP_LINEAR;
        while (n < 2 * kt->deps_cap)
            n *= 2;
        if (!(kt->dedup = fronta__mem_calloc(&rt->alloc, n, sizeof *kt->dedup)))
            return FRONTA_ENOMEM;
        kt->dedup_size = n;
    }
    for (size_t i = 0; i < kb->n; i++)
        if (fronta__buffer_reserve(kb->b[i], kb->mode[i]))
            return FRONTA_ENOMEM;
    fronta_call_t c = {.fn = fronta__ktask_run, .arg = &kt, .arg_size = sizeof kt,
                       .priority = d->priority, .name = d->name, .retries = d->retries,
                       .key = kt->key};
    return fronta__task_new(rt, sub, &c, user_ref, out);
}

int fronta__ktask_submit_locked(fronta_runtime_t *rt, const fronta__submitter *sub,
                                const fronta_task_desc_t *d, fronta__ktask *kt,
                                const kbufs *kb, int user_ref, fronta_future_t **out)
{
    fronta_future_t *t;
    int rc = 0;
    /* Under the buffers' locks: a partition or unpartition of one of
     * them is ordered entirely before or after this. */
    for (size_t i = 0; i < kb->n && !(kt->k && kt->k->internal) && !rc; i++)
        if (fronta__buffer_unusable(kb->b[i]))
            rc = fronta__buffer_usable(kb->b[i]);
    if (rc || (rc = build(rt, sub, d, kt, kb, user_ref, &t)))
        return rc;
    t->flags |= FRONTA__F_KTASK;
    kt->task = t;
    gather_deps(kt, d, kb);
    dedup_free(rt, kt);
    unsigned refs = kt->ndeps; /* one per completion node */
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        kt->deps[i].succ = t;
        atomic_fetch_add_explicit(&kt->deps[i].pred->refs, 1, memory_order_relaxed);
    }
    for (size_t i = 0; i < kb->n; i++)
        refs += fronta__buffer_register(kb->b[i], kb->mode[i], t);
    atomic_fetch_add_explicit(&t->refs, refs, memory_order_relaxed);
    /* The dependencies, plus a gate held while fronta__kdep_publish() links them. */
    atomic_init(&t->pending, 1 + (int)kt->ndeps + (kt->held ? 1 : 0));
    *out = t;
    return 0;
}

/* Lock kt's buffers, submit, unlock, publish; kt is consumed either way. */
static int submit_kt(fronta_runtime_t *rt, const fronta__submitter *sub,
                     const fronta_task_desc_t *d, fronta__ktask *kt, const kbufs *kb,
                     int user_ref, fronta_future_t **out)
{
    fronta_future_t *t = NULL;
    for (size_t i = 0; i < kb->n; i++)
        pthread_mutex_lock(&kb->b[i]->lock);
    int rc = fronta__ktask_submit_locked(rt, sub, d, kt, kb, user_ref, &t);
    unlock_all(kb);
    if (rc) {
        fronta__ktask_discard(rt, sub, kt);
        return rc;
    }
    if (out)
        *out = t;
    if (rt->trace)
        fronta__sched_trace(rt, FRONTA__TR_SUBMIT, t);
    fronta__kdep_publish(t, kt);
    return 0;
}

int fronta__ktask_submit_desc(fronta_runtime_t *rt, const fronta_task_desc_t *d, uint64_t key,
                              unsigned kflags, fronta_future_t **out)
{
    size_t nargs;
    fronta__shape sh;
    kbufs kb;
    int rc = check_task(rt, d, &nargs, &sh, &kb);
    if (rc)
        return rc;
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    if ((rc = fronta__enter(rt, &sub, 1)))
        return rc;
    fronta__ktask *kt = ktask_new(rt, d, nargs, &sh);
    if (!kt) {
        fronta__ktask_discard(rt, &sub, NULL);
        return FRONTA_ENOMEM;
    }
    kt->key = key;
    kt->held = kt->movable = (kflags & FRONTA__KT_HELD) != 0;
    if ((rc = resolve_needs(rt, d, &kb, &kt->rn))) {
        fronta__ktask_discard(rt, &sub, kt);
        return rc;
    }
    return submit_kt(rt, &sub, d, kt, &kb, out != NULL, out);
}

/* The caller's descriptor, of whatever size it was built with, into d. */
static int read_desc(fronta_runtime_t *rt, const fronta_task_desc_t *task,
                     fronta_task_desc_t *d)
{
    if (!rt || !task ||
        fronta__desc_read(d, sizeof *d, task, offsetof(fronta_task_desc_t, kernel) +
                                                  sizeof d->kernel))
        return fronta__fail(FRONTA_EINVAL, "submit: no runtime, no task descriptor, or a "
                            "descriptor size that is too small");
    return 0;
}

int fronta_submit(fronta_runtime_t *rt, const fronta_task_desc_t *task, fronta_future_t **out)
{
    if (out)
        *out = NULL;
    fronta_task_desc_t d;
    int rc = read_desc(rt, task, &d);
    return rc ? rc : fronta__ktask_submit_desc(rt, &d, 0, 0, out);
}

int fronta__submit_check(fronta_runtime_t *rt, const fronta_task_desc_t *task)
{
    fronta_task_desc_t d;
    int rc = read_desc(rt, task, &d);
    return rc ? rc : fronta__ktask_check(rt, &d);
}

int fronta__ktask_check(fronta_runtime_t *rt, const fronta_task_desc_t *d)
{
    size_t nargs;
    fronta__shape sh;
    kbufs kb;
    int rc = check_task(rt, d, &nargs, &sh, &kb);
    fronta__rneed rn;
    memset(&rn, 0, sizeof rn);
    if (!rc)
        rc = resolve_needs(rt, d, &kb, &rn);
    /* Read without the locks: the submission checks again under them. */
    for (size_t i = 0; i < kb.n && !rc; i++)
        rc = fronta__buffer_usable(kb.b[i]);
    return rc;
}

int fronta__ktask_submit_internal(fronta_runtime_t *rt, fronta_kernel_t *k,
                                  const fronta_arg_t *args, size_t nargs,
                                  fronta_future_t *const *after, size_t nafter, void *priv,
                                  void (*priv_free)(fronta_runtime_t *, void *),
                                  int user_ref, fronta_future_t **out)
{
    if (out)
        *out = NULL;
    if (!k || nargs > FRONTA_MAX_ARGS)
        return FRONTA_EINVAL;
    fronta_task_desc_t d = {.size = sizeof d, .kernel = k, .nargs = nargs, .name = k->name};
    if (nargs)
        memcpy(d.args, args, nargs * sizeof *args);
    kbufs kb = {.n = 0};
    for (size_t i = 0; i < nargs; i++)
        if (args[i].kind == FRONTA_ARG_BUFFER)
            kbufs_add(&kb, args[i].buffer, args[i].access);
    fronta__shape sh = {.rows = 1, .cols = 1, .n = 1, .dims = 1};
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    /* Accepted during a shutdown, as host accesses are: destroying a
     * partitioned buffer unpartitions it. */
    int rc = fronta__enter_ex(rt, &sub, 1, FRONTA__RT_STOP);
    if (rc)
        return rc;
    fronta__ktask *kt = ktask_new(rt, &d, nargs, &sh);
    if (!kt) {
        fronta__ktask_discard(rt, &sub, NULL);
        return FRONTA_ENOMEM;
    }
    kt->extra = after;
    kt->nextra = nafter;
    /* Set before publish: the task may run, and be freed, at once. */
    kt->priv = priv;
    kt->priv_free = priv_free;
    rc = submit_kt(rt, &sub, &d, kt, &kb, user_ref, out);
    return rc;
}

void *fronta__ktask_priv(const fronta_ctx_t *ctx)
{
    const fronta__ktask *kt = ctx && ctx->task ? fronta__ktask_of(ctx->task) : NULL;
    return kt ? kt->priv : NULL;
}
