/* Buffers: registration, the order of accesses (sequential consistency per
 * buffer), host access, destroy. */
#include "core/kernel.h"

#include <string.h>

int fronta__buffer_valid(const fronta_buffer_t *b)
{
    return b && b->magic == FRONTA__BUF_MAGIC;
}

size_t fronta_buffer_count(const fronta_buffer_t *b)
{
    return fronta__buffer_valid(b) ? b->count : 0;
}

fronta_dtype_t fronta_buffer_dtype(const fronta_buffer_t *b)
{
    return fronta__buffer_valid(b) ? b->type : (fronta_dtype_t)0;
}

/* ---- the order of accesses ---- */

size_t fronta__buffer_ndeps(const fronta_buffer_t *b, fronta_access_t mode)
{
    return 1 + ((mode & FRONTA_ACCESS_OUT) ? b->nreaders : 0);
}

void fronta__buffer_deps(const fronta_buffer_t *b, fronta_access_t mode,
                         fronta__dep_add_fn add, void *ud)
{
    /* A reader needs what the last writer made: its failure is the
     * reader's. A writer only waits for earlier readers and writers; an
     * OUT access replaces the contents, so even a failed writer before it
     * does not spoil it. */
    if (b->last_writer)
        add(ud, b->last_writer, !(mode & FRONTA_ACCESS_IN));
    if (mode & FRONTA_ACCESS_OUT)
        for (size_t i = 0; i < b->nreaders; i++)
            add(ud, b->readers[i], 1);
}

/* Readers that are done need no waiting for: forget them before growing. */
static void prune_readers(fronta_buffer_t *b)
{
    size_t j = 0;
    for (size_t i = 0; i < b->nreaders; i++) {
        if (fronta_future_done(b->readers[i]))
            fronta__task_release(b->readers[i]);
        else
            b->readers[j++] = b->readers[i];
    }
    b->nreaders = j;
}

int fronta__buffer_reserve(fronta_buffer_t *b, fronta_access_t mode)
{
    if ((mode & FRONTA_ACCESS_OUT) || b->nreaders < b->readers_cap)
        return 0;
    prune_readers(b);
    if (b->nreaders < b->readers_cap)
        return 0;
    size_t cap = b->readers_cap ? 2 * b->readers_cap : 8;
    void *p = fronta__mem_realloc(&b->rt->alloc, b->readers,
                                  b->readers_cap * sizeof *b->readers, cap * sizeof *b->readers);
    if (!p)
        return FRONTA_ENOMEM;
    b->readers = p;
    b->readers_cap = cap;
    return 0;
}

unsigned fronta__buffer_register(fronta_buffer_t *b, fronta_access_t mode, fronta_future_t *t)
{
    if (b->abandoned) { /* no longer the newest: nothing may take it over */
        fronta__task_release(b->abandoned);
        b->abandoned = NULL;
    }
    if (!(mode & FRONTA_ACCESS_OUT)) {
        b->readers[b->nreaders++] = t;
        return 1;
    }
    for (size_t i = 0; i < b->nreaders; i++)
        fronta__task_release(b->readers[i]);
    b->nreaders = 0;
    if (b->last_writer)
        fronta__task_release(b->last_writer);
    b->last_writer = t;
    return 1;
}

/* ---- creation ---- */

static int buffer_new(fronta_runtime_t *rt, void *data, size_t count, fronta_dtype_t type,
                      fronta_buffer_t **out)
{
    if (out)
        *out = NULL;
    size_t es = fronta_dtype_size(type);
    if (!rt || !out || !count || !es)
        return FRONTA_EINVAL;
    /* Page-aligned and a whole number of pages: devices that share host
     * memory can then use an owned array in place (zero-copy). The
     * rounding and the aligner's slack are part of the size check: an
     * array that cannot exist is refused, a wrapped one too. */
    size_t bytes, pages;
    if (fronta__size_array(0, count, es, &bytes) ||
        fronta__size_array(4095 + 63, 1, bytes, &pages))
        return FRONTA_ERANGE;
    pages = (bytes + 4095) & ~(size_t)4095;
    fronta_buffer_t *b = fronta__mem_calloc(&rt->alloc, 1, sizeof *b);
    if (!b)
        return FRONTA_ENOMEM;
    b->rt = rt;
    b->type = type;
    b->count = count;
    b->bytes = bytes;
    b->host = data;
    if (!data) {
        void *raw;
        b->host = fronta__mem_calloc_aligned(&rt->alloc, pages, &raw);
        if (!b->host) {
            fronta__mem_free(&rt->alloc, b, sizeof *b);
            return FRONTA_ENOMEM;
        }
        b->owns_host = 1;
        b->host_raw = raw;
        b->host_alloc = pages + 63;
    }
    b->valid = 1; /* the host copy is the contents */
    pthread_mutex_init(&b->lock, NULL);
    b->magic = FRONTA__BUF_MAGIC;
    pthread_mutex_lock(&rt->buf_lock);
    b->next = rt->buffers;
    if (rt->buffers)
        rt->buffers->prev = b;
    rt->buffers = b;
    pthread_mutex_unlock(&rt->buf_lock);
    *out = b;
    return 0;
}

int fronta_buffer_wrap(fronta_runtime_t *rt, void *data, size_t count, fronta_dtype_t type,
                       fronta_buffer_t **out)
{
    if (!data) {
        if (out)
            *out = NULL;
        return FRONTA_EINVAL;
    }
    return buffer_new(rt, data, count, type, out);
}

int fronta_buffer_create(fronta_runtime_t *rt, size_t count, fronta_dtype_t type,
                         fronta_buffer_t **out)
{
    return buffer_new(rt, NULL, count, type, out);
}

/* ---- host access ---- */

/* FRONTA_EBUSY when waiting for b here would wait for this very thread: a
 * kernel's CPU implementation that has b as an argument (the access would
 * follow the task that makes it), or one further out on this worker (it
 * cannot finish before the task running inside it returns), or a driver
 * thread (whose completions the access may wait for). */
static int waits_for_itself(const fronta_buffer_t *b)
{
    int rc = fronta__may_block(b->rt);
    if (rc)
        return rc;
    for (const fronta__ctx *c = fronta__current_ctx(); c; c = c->outer) {
        const fronta__ktask *kt = c->task->rt == b->rt ? fronta__ktask_of(c->task) : NULL;
        for (uint32_t i = 0; kt && i < kt->nargs; i++)
            if (kt->args[i].kind == FRONTA_ARG_BUFFER && kt->args[i].buffer == b)
                return FRONTA_EBUSY;
    }
    return 0;
}

/* After shutdown no task can touch b: the access is the host's alone. */
static int acquire_stopped(fronta_buffer_t *b, void **host)
{
    pthread_mutex_lock(&b->lock);
    int rc = fronta__buffer_usable(b);
    if (!rc && b->held)
        rc = FRONTA_EBUSY;
    if (!rc) {
        b->held = b->granted = 1;
        b->access_node = 0;
    }
    pthread_mutex_unlock(&b->lock);
    if (!rc && host)
        *host = b->host;
    return rc;
}

/* Is access h (in mode) still the newest in b's order of accesses? */
static int newest(const fronta_buffer_t *b, const fronta_future_t *h, fronta_access_t mode)
{
    if (mode & FRONTA_ACCESS_OUT)
        return b->last_writer == h && b->nreaders == 0;
    return b->nreaders && b->readers[b->nreaders - 1] == h;
}

/* With b->lock held: an access in `mode` may take over the one that timed
 * out last, if that is still the newest and of the same mode -- it sits
 * exactly where the new one would go. A polling loop (timeout 0) then
 * keeps one access in the order instead of adding one per poll. */
static fronta_future_t *adopt(fronta_buffer_t *b, fronta_access_t mode)
{
    fronta_future_t *h = b->abandoned;
    if (!h || b->abandoned_mode != mode)
        return NULL;
    b->abandoned = NULL;
    if (fronta__access_resume(h))
        return h; /* with the reference b->abandoned held */
    fronta__task_release(h); /* its turn came meanwhile: it has ended */
    return NULL;
}

/* An access that timed out: keep it for adopt() while it is the newest. */
static void abandon(fronta_buffer_t *b, fronta_future_t *h, fronta_access_t mode)
{
    if (b->abandoned)
        fronta__task_release(b->abandoned);
    b->abandoned = NULL;
    if (newest(b, h, mode)) {
        b->abandoned = h; /* takes over the acquirer's reference */
        b->abandoned_mode = mode;
    } else {
        fronta__task_release(h);
    }
}

/* Wait for the access, then make the node's replica what mode needs. */
static int access_begin(fronta_buffer_t *b, fronta_future_t *h, int node, fronta_access_t mode,
                        double timeout)
{
    int rc = fronta__access_wait(h, timeout);
    if (rc)
        return rc;
    char msg[256];
    pthread_mutex_lock(&b->lock);
    if (node)
        rc = fronta__coh_alloc(b, node, msg, sizeof msg);
    if (!rc && (mode & FRONTA_ACCESS_IN))
        rc = fronta__coh_fetch(b, node, msg, sizeof msg);
    b->access_mode = mode;
    b->access_node = node;
    pthread_mutex_unlock(&b->lock);
    if (rc) {
        FRONTA__LOG(b->rt, FRONTA_LOG_ERROR, "buffer acquire: %s", msg);
        fronta__access_end_unchanged(h);
    }
    return rc;
}

/* The drivers run: an access that takes its place among b's tasks. */
static int acquire_live(fronta_buffer_t *b, int node, fronta_access_t mode, double timeout,
                        void **host)
{
    if (node < 0 || node >= b->rt->ndevices)
        return FRONTA_ENODEV;
    pthread_mutex_lock(&b->lock);
    /* Before adopting a timed-out access: a retired chunk or a
     * partitioned parent takes no access at all. */
    int unusable = fronta__buffer_usable(b);
    if (unusable) {
        pthread_mutex_unlock(&b->lock);
        return unusable;
    }
    int busy = b->held;
    fronta_future_t *h = NULL;
    if (!busy) { /* else the holder's b->access is left alone */
        h = adopt(b, mode);
        b->held = 1;
        b->access = h;
    }
    pthread_mutex_unlock(&b->lock);
    if (busy)
        return FRONTA_EBUSY;
    int rc = h ? 0 : fronta__access_submit(b, mode, &h);
    if (!rc)
        rc = access_begin(b, h, node, mode, timeout);
    if (rc) {
        pthread_mutex_lock(&b->lock);
        if (b->access == h)
            b->access = NULL;
        b->held = 0;
        if (rc == FRONTA_ETIMEDOUT)
            abandon(b, h, mode); /* it ends by itself when its turn comes */
        else if (h)
            fronta__task_release(h);
        pthread_mutex_unlock(&b->lock);
        return rc;
    }
    pthread_mutex_lock(&b->lock);
    b->granted = 1; /* from now on, release may end it */
    pthread_mutex_unlock(&b->lock);
    if (host)
        *host = node ? b->rep[node] : b->host;
    return 0;
}

int fronta__buffer_acquire_at(fronta_buffer_t *b, int node, fronta_access_t mode,
                              double timeout, void **host)
{
    if (host)
        *host = NULL;
    if (!fronta__buffer_valid(b) || mode < FRONTA_ACCESS_IN || mode > FRONTA_ACCESS_INOUT)
        return FRONTA_EINVAL;
    int rc = waits_for_itself(b);
    if (rc)
        return rc;
    fronta_runtime_t *rt = b->rt;
    pthread_rwlock_rdlock(&rt->stop_lock); /* drivers stay up or stay gone */
    if (rt->drivers_gone)
        rc = node == 0 ? acquire_stopped(b, host) : FRONTA_ESHUTDOWN;
    else
        rc = acquire_live(b, node, mode, timeout, host);
    pthread_rwlock_unlock(&rt->stop_lock);
    return rc;
}

int fronta_buffer_acquire(fronta_buffer_t *b, fronta_access_t mode, double timeout, void **host)
{
    return fronta__buffer_acquire_at(b, 0, mode, timeout, host);
}

/* A device access ends only when the commands the user enqueued during it
 * have finished: with zero-copy the device copy is the host array, and an
 * OUT access after this one skips the fetch, so a late command would land
 * on top of newer data. */
static int device_sync(fronta_buffer_t *b, int node)
{
    const fronta__device *dev = fronta__device_get(b->rt, node);
    char msg[256];
    if (!dev || !dev->drv->sync || dev->drv->sync(dev->data, dev->local, msg, sizeof msg) == 0)
        return 0;
    FRONTA__LOG(b->rt, FRONTA_LOG_ERROR, "buffer release: %s", msg);
    return FRONTA_EDEVICE;
}

int fronta_buffer_release(fronta_buffer_t *b)
{
    if (!fronta__buffer_valid(b))
        return FRONTA_EINVAL;
    pthread_mutex_lock(&b->lock);
    int node = b->granted && b->access ? b->access_node : 0;
    int granted = b->granted;
    pthread_mutex_unlock(&b->lock);
    /* An acquire still waiting is not the caller's to end (another
     * thread's, or the one this kernel runs before). */
    if (!granted)
        return FRONTA_EINVAL;
    /* Outside the lock: the user's commands may take long. The access is
     * still held, so nothing else reaches b meanwhile. */
    int rc = node ? device_sync(b, node) : 0;
    pthread_mutex_lock(&b->lock);
    if (!b->granted) { /* a racing release ended it meanwhile */
        pthread_mutex_unlock(&b->lock);
        return FRONTA_EINVAL;
    }
    fronta_future_t *h = b->access;
    if (h && (b->access_mode & FRONTA_ACCESS_OUT))
        fronta__coh_written(b, b->access_node);
    b->access = NULL;
    b->held = b->granted = 0;
    pthread_mutex_unlock(&b->lock);
    if (h) {
        fronta__access_end(h);
        fronta__task_release(h);
    }
    return rc;
}

/* ---- destroy ---- */

/* End destroy's access, which wrote nothing after all. */
static void release_unchanged(fronta_buffer_t *b)
{
    pthread_mutex_lock(&b->lock);
    fronta_future_t *h = b->access;
    b->access = NULL;
    b->held = b->granted = 0;
    pthread_mutex_unlock(&b->lock);
    fronta__access_end_unchanged(h);
    fronta__task_release(h);
}

void fronta__buffer_free(fronta_buffer_t *b)
{
    fronta_runtime_t *rt = b->rt;
    fronta__part_free_all(b);
    fronta__coh_drop_all(b);
    for (size_t i = 0; i < b->nreaders; i++)
        fronta__task_release(b->readers[i]);
    if (b->readers)
        fronta__mem_free(&rt->alloc, b->readers, b->readers_cap * sizeof *b->readers);
    if (b->last_writer)
        fronta__task_release(b->last_writer);
    if (b->abandoned)
        fronta__task_release(b->abandoned);
    if (b->owns_host)
        fronta__mem_free(&rt->alloc, b->host_raw, b->host_alloc);
    pthread_mutex_destroy(&b->lock);
    b->magic = 0;
    fronta__mem_free(&rt->alloc, b, sizeof *b);
}

static void unlink_buffer(fronta_buffer_t *b)
{
    fronta_runtime_t *rt = b->rt;
    pthread_mutex_lock(&rt->buf_lock);
    if (b->prev)
        b->prev->next = b->next;
    else
        rt->buffers = b->next;
    if (b->next)
        b->next->prev = b->prev;
    pthread_mutex_unlock(&rt->buf_lock);
}

/* The last valid contents to the host, device replicas freed. On failure
 * the replicas stay (the contents are still on the device) unless the
 * drivers are about to stop (`stopping`): then the host copy is all that
 * is left. */
static int unload(fronta_buffer_t *b, int stopping)
{
    char msg[256];
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    if (!(b->valid & 1) && (rc = fronta__coh_fetch(b, 0, msg, sizeof msg)))
        FRONTA__LOG(b->rt, FRONTA_LOG_ERROR, "buffer of %zu elements: contents not brought "
                    "back to the host: %s", b->count, msg);
    /* After b's own copy: chunks that are views write over it. */
    if (!rc && (b->part || b->retired) && (rc = fronta__part_unload(b, stopping, msg, sizeof msg)))
        FRONTA__LOG(b->rt, FRONTA_LOG_ERROR, "buffer of %zu elements: its chunks' contents "
                    "not brought back to the host: %s", b->count, msg);
    if (!rc || stopping) {
        fronta__coh_drop_all(b);
        b->valid = 1;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

int fronta_buffer_destroy(fronta_buffer_t *b)
{
    if (!b)
        return 0;
    if (!fronta__buffer_valid(b))
        return FRONTA_EINVAL;
    if (b->parent)
        return fronta__fail(FRONTA_EPARTITION, "buffer destroy: chunk %zu belongs to its "
                            "parent: destroy or unpartition that", b->chunk_index);
    int rc = waits_for_itself(b);
    if (rc)
        return rc;
    fronta_runtime_t *rt = b->rt;
    /* The access below follows the unpartition, and so every chunk task
     * (after shutdown it retires the chunks, already brought home). */
    if (fronta_buffer_nchunks(b) && !fronta__unpartition_idle(b) &&
        (rc = fronta_buffer_unpartition(b)))
        return rc;
    /* Read-locked: a shutdown either has not stopped the drivers (and
     * waits for us) or has finished with them. */
    pthread_rwlock_rdlock(&rt->stop_lock);
    if (!rt->drivers_gone) {
        /* Wait for every access: an OUT access follows them all. */
        rc = acquire_live(b, 0, FRONTA_ACCESS_OUT, -1, NULL);
        if (!rc && (rc = unload(b, 0))) /* b stays, its contents where they were */
            release_unchanged(b);
        else if (!rc)
            fronta_buffer_release(b); /* the host copy, the only one, is valid */
    } else if (b->held) {
        rc = FRONTA_EBUSY;
    }
    pthread_rwlock_unlock(&rt->stop_lock);
    if (rc)
        return rc;
    unlink_buffer(b);
    fronta__buffer_free(b);
    return 0;
}

void fronta__buffers_unload(fronta_runtime_t *rt)
{
    pthread_mutex_lock(&rt->buf_lock);
    for (fronta_buffer_t *b = rt->buffers; b; b = b->next)
        (void)unload(b, 1); /* logged; the drivers stop next */
    pthread_mutex_unlock(&rt->buf_lock);
}

void fronta__buffers_free_all(fronta_runtime_t *rt)
{
    while (rt->buffers) {
        fronta_buffer_t *b = rt->buffers;
        rt->buffers = b->next;
        fronta__buffer_free(b);
    }
}

/* ---- internal buffers ---- */

static int free_when_done(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    fronta_buffer_t *b;
    memcpy(&b, arg, sizeof b);
    unlink_buffer(b);
    fronta__buffer_free(b);
    return 0;
}

int fronta__buffer_destroy_async(fronta_buffer_t *b)
{
    fronta_runtime_t *rt = b->rt;
    pthread_mutex_lock(&b->lock);
    size_t n = 1 + b->nreaders;
    fronta_future_t **fs = fronta__mem_calloc(&rt->alloc, n, sizeof *fs);
    if (fs) {
        b->dying = 1; /* no task joins b's order from now on */
        fs[0] = b->last_writer;
        if (b->nreaders) /* readers is NULL until the first one */
            memcpy(fs + 1, b->readers, b->nreaders * sizeof *fs);
    }
    pthread_mutex_unlock(&b->lock);
    if (!fs)
        return FRONTA_ENOMEM;
    /* b's own references keep them alive until the free. */
    int rc = fronta__submit_after_all(rt, fs, n, free_when_done, &b, sizeof b, NULL);
    fronta__mem_free(&rt->alloc, fs, n * sizeof *fs);
    if (rc) {
        pthread_mutex_lock(&b->lock);
        b->dying = 0;
        pthread_mutex_unlock(&b->lock);
    }
    return rc;
}
