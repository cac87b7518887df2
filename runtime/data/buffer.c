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
    if (count > SIZE_MAX / es)
        return FRONTA_ERANGE;
    fronta_buffer_t *b = fronta__mem_calloc(&rt->alloc, 1, sizeof *b);
    if (!b)
        return FRONTA_ENOMEM;
    b->rt = rt;
    b->type = type;
    b->count = count;
    b->bytes = count * es;
    b->host = data;
    if (!data) {
        /* Page-aligned and a whole number of pages: devices that share host
         * memory can then use it in place (zero-copy). */
        size_t bytes = (b->bytes + 4095) & ~(size_t)4095;
        void *raw;
        b->host = fronta__mem_calloc_aligned(&rt->alloc, bytes, &raw);
        if (!b->host) {
            fronta__mem_free(&rt->alloc, b, sizeof *b);
            return FRONTA_ENOMEM;
        }
        b->owns_host = 1;
        b->host_raw = raw;
        b->host_alloc = bytes + 63;
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

static int stopped(const fronta_runtime_t *rt)
{
    return rt->ndevices == 0; /* drivers gone: only the host copy is left */
}

/* After shutdown no task can touch b: the access is the host's alone. */
static int acquire_stopped(fronta_buffer_t *b, void **host)
{
    pthread_mutex_lock(&b->lock);
    int rc = b->held ? FRONTA_EBUSY : 0;
    b->held = !rc;
    b->access_node = 0;
    pthread_mutex_unlock(&b->lock);
    if (!rc && host)
        *host = b->host;
    return rc;
}

int fronta__buffer_acquire_at(fronta_buffer_t *b, int node, fronta_access_t mode,
                              double timeout, void **host)
{
    if (host)
        *host = NULL;
    if (!fronta__buffer_valid(b) || mode < FRONTA_ACCESS_IN || mode > FRONTA_ACCESS_INOUT)
        return FRONTA_EINVAL;
    if (stopped(b->rt))
        return node == 0 ? acquire_stopped(b, host) : FRONTA_ESHUTDOWN;
    if (node < 0 || node >= b->rt->ndevices)
        return FRONTA_ENODEV;
    pthread_mutex_lock(&b->lock);
    int busy = b->held;
    b->held = 1;
    pthread_mutex_unlock(&b->lock);
    if (busy)
        return FRONTA_EBUSY;
    fronta_future_t *h = NULL;
    int rc = fronta__access_submit(b, mode, &h);
    if (!rc && (rc = fronta__access_wait(h, timeout)) == 0) {
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
            fronta__access_end(h); /* nothing was changed */
        }
    }
    if (rc) {
        pthread_mutex_lock(&b->lock);
        if (b->access == h)
            b->access = NULL;
        b->held = 0;
        pthread_mutex_unlock(&b->lock);
        if (h)
            fronta__task_release(h);
        return rc;
    }
    if (host)
        *host = node ? b->rep[node] : b->host;
    return 0;
}

int fronta_buffer_acquire(fronta_buffer_t *b, fronta_access_t mode, double timeout, void **host)
{
    return fronta__buffer_acquire_at(b, 0, mode, timeout, host);
}

int fronta_buffer_release(fronta_buffer_t *b)
{
    if (!fronta__buffer_valid(b))
        return FRONTA_EINVAL;
    pthread_mutex_lock(&b->lock);
    if (!b->held) {
        pthread_mutex_unlock(&b->lock);
        return FRONTA_EINVAL;
    }
    fronta_future_t *h = b->access;
    if (h && (b->access_mode & FRONTA_ACCESS_OUT))
        fronta__coh_written(b, b->access_node);
    b->access = NULL;
    b->held = 0;
    pthread_mutex_unlock(&b->lock);
    if (h) {
        fronta__access_end(h);
        fronta__task_release(h);
    }
    return 0;
}

/* ---- destroy ---- */

static void drop_replicas(fronta_buffer_t *b)
{
    for (int n = 1; n < FRONTA__MAX_DEVICES; n++)
        if (b->rep[n])
            fronta__coh_drop(b, n);
}

static void buffer_free(fronta_buffer_t *b)
{
    fronta_runtime_t *rt = b->rt;
    drop_replicas(b);
    for (size_t i = 0; i < b->nreaders; i++)
        fronta__task_release(b->readers[i]);
    if (b->readers)
        fronta__mem_free(&rt->alloc, b->readers, b->readers_cap * sizeof *b->readers);
    if (b->last_writer)
        fronta__task_release(b->last_writer);
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

/* The last valid contents to the host, device replicas freed. */
static void unload(fronta_buffer_t *b)
{
    char msg[256];
    pthread_mutex_lock(&b->lock);
    if (!(b->valid & 1) && fronta__coh_fetch(b, 0, msg, sizeof msg))
        FRONTA__LOG(b->rt, FRONTA_LOG_ERROR, "buffer of %zu elements: contents lost: %s",
                    b->count, msg);
    drop_replicas(b);
    pthread_mutex_unlock(&b->lock);
}

int fronta_buffer_destroy(fronta_buffer_t *b)
{
    if (!b)
        return 0;
    if (!fronta__buffer_valid(b))
        return FRONTA_EINVAL;
    if (!stopped(b->rt)) {
        /* Wait for every access: an OUT access follows them all. */
        int rc = fronta__buffer_acquire_at(b, 0, FRONTA_ACCESS_OUT, -1, NULL);
        if (rc)
            return rc;
        unload(b);
        fronta_buffer_release(b); /* the host copy, now the only one, is valid */
    } else if (b->held) {
        return FRONTA_EBUSY;
    }
    unlink_buffer(b);
    buffer_free(b);
    return 0;
}

void fronta__buffers_unload(fronta_runtime_t *rt)
{
    pthread_mutex_lock(&rt->buf_lock);
    for (fronta_buffer_t *b = rt->buffers; b; b = b->next)
        unload(b);
    pthread_mutex_unlock(&rt->buf_lock);
}

void fronta__buffers_free_all(fronta_runtime_t *rt)
{
    while (rt->buffers) {
        fronta_buffer_t *b = rt->buffers;
        rt->buffers = b->next;
        buffer_free(b);
    }
}
