/* Partitions: a buffer cut into chunk buffers (views of its host array, or
 * packed tiles) and made whole again, each step an internal task on the
 * pool, ordered among the buffer's accesses like any other. */
#include "data/layout.h"

#include <stdio.h>
#include <string.h>

int fronta__buffer_usable(const fronta_buffer_t *b)
{
    if (b->part)
        return fronta__fail(FRONTA_EPARTITION,
                            "a buffer of %zu elements is partitioned into %zu chunks: use its "
                            "chunks, or unpartition it first", b->count, b->part->n);
    if (b->chunk_retired)
        return fronta__fail(FRONTA_EPARTITION,
                            "chunk %zu of a buffer that was unpartitioned since",
                            b->chunk_index);
    if (b->dying)
        return fronta__fail(FRONTA_EPARTITION, "a buffer being freed");
    /* A task racing the partition call from another thread would land
     * between the partition task and the chunks' first tasks, unordered
     * with them: it is refused as it would be a moment later. */
    if (b->part_busy)
        return fronta__fail(FRONTA_EPARTITION, "the buffer is being partitioned");
    return 0;
}

/* ---- chunks ---- */

static void chunk_free(fronta_buffer_t *c)
{
    fronta__buffer_free(c);
}

static fronta_buffer_t *chunk_new(fronta_buffer_t *b, const fronta__layout *L, size_t i,
                                  size_t offset_hint)
{
    fronta_runtime_t *rt = b->rt;
    fronta_buffer_t *c = fronta__mem_calloc(&rt->alloc, 1, sizeof *c);
    if (!c)
        return NULL;
    c->rt = rt;
    c->type = b->type;
    c->parent = b;
    fronta__layout_place(L, i, b->count, c);
    if (L->lengths) /* the running sum, instead of one per chunk */
        c->chunk_offset = offset_hint;
    size_t es = fronta_dtype_size(b->type);
    c->bytes = c->count * es;
    if (L->tiled) { /* packed, page-aligned: zero-copy on a device like any owned array */
        size_t pages = (c->bytes + 4095) & ~(size_t)4095;
        void *raw;
        if (!(c->host = fronta__mem_calloc_aligned(&rt->alloc, pages, &raw))) {
            fronta__mem_free(&rt->alloc, c, sizeof *c);
            return NULL;
        }
        c->owns_host = 1;
        c->host_raw = raw;
        c->host_alloc = pages + 63;
    } else {
        c->host = (char *)b->host + c->chunk_offset * es;
    }
    c->valid = 1;
    pthread_mutex_init(&c->lock, NULL);
    c->magic = FRONTA__BUF_MAGIC;
    return c;
}

static void part_free(fronta_runtime_t *rt, fronta__part *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->chunks[i])
            chunk_free(p->chunks[i]);
    if (p->writers) {
        for (size_t i = 0; i < p->n; i++)
            if (p->writers[i])
                fronta__task_release(p->writers[i]);
        fronta__mem_free(&rt->alloc, p->writers, p->n * sizeof *p->writers);
    }
    if (p->ptask)
        fronta__task_release(p->ptask);
    if (p->utask)
        fronta__task_release(p->utask);
    fronta__mem_free(&rt->alloc, p, sizeof *p + p->n * sizeof p->chunks[0]);
}

static fronta__part *part_new(fronta_buffer_t *b, const fronta__layout *L)
{
    fronta_runtime_t *rt = b->rt;
    size_t sz;
    if (fronta__size_array(sizeof(fronta__part), L->n, sizeof(fronta_buffer_t *), &sz))
        return NULL;
    fronta__part *p = fronta__mem_calloc(&rt->alloc, 1, sz);
    if (!p)
        return NULL;
    p->parent = b;
    p->n = L->n;
    p->tiled = L->tiled;
    p->rows = L->rows;
    p->cols = L->cols;
    p->tile_rows = L->tr;
    p->tile_cols = L->tc;
    size_t off = 0;
    for (size_t i = 0; i < L->n; i++) {
        if (!(p->chunks[i] = chunk_new(b, L, i, off))) {
            part_free(rt, p);
            return NULL;
        }
        off += p->chunks[i]->count;
    }
    return p;
}

/* A tile between its packed host array and the parent's rows. */
static void tile_copy(fronta_buffer_t *b, fronta_buffer_t *c, int to_tile, size_t cols)
{
    size_t es = fronta_dtype_size(b->type);
    size_t row_bytes = c->chunk_cols * es;
    for (size_t r = 0; r < c->chunk_rows; r++) {
        char *whole = (char *)b->host + ((c->chunk_row + r) * cols + c->chunk_col) * es;
        char *tile = (char *)c->host + r * row_bytes;
        memcpy(to_tile ? tile : whole, to_tile ? whole : tile, row_bytes);
    }
}

/* ---- the partition task: b's contents on the host, its replicas gone
 * (the chunks' take over), tiles packed ---- */

static int partition_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a, (void)na, (void)n;
    fronta__part *p = fronta__ktask_priv(ctx);
    fronta_buffer_t *b = p->parent;
    /* The task holds b INOUT: its host copy is current (fronta__ktask_run
     * fetched it), and nothing else touches b until unpartition. */
    pthread_mutex_lock(&b->lock);
    fronta__coh_drop_all(b);
    pthread_mutex_unlock(&b->lock);
    for (size_t i = 0; p->tiled && i < p->n; i++)
        tile_copy(b, p->chunks[i], 1, p->cols);
    return 0;
}

/* Retired partitions whose unpartition is done hold nothing anyone reads. */
static void reap_retired(fronta_buffer_t *b)
{
    fronta__part **pp = &b->retired;
    while (*pp) {
        fronta__part *p = *pp;
        if (p->homed || (p->utask && fronta_future_done(p->utask))) {
            *pp = p->next;
            part_free(b->rt, p);
        } else {
            pp = &p->next;
        }
    }
}

/* Claim b for a partition or unpartition: one at a time, and never a
 * chunk. want_part: b must be partitioned (unpartition) or not. */
static int claim(fronta_buffer_t *b, int want_part)
{
    pthread_mutex_lock(&b->lock);
    int rc = 0;
    if (want_part && !b->part) /* a chunk, too, is not partitioned */
        rc = fronta__fail(FRONTA_EINVAL, "unpartition: the buffer is not partitioned");
    else if (b->parent)
        rc = fronta__fail(FRONTA_ENOTSUP, "partition: a chunk cannot be partitioned (nested "
                          "partitions are not supported): unpartition its parent instead");
    else if (b->dying || b->part_busy)
        rc = fronta__fail(FRONTA_EPARTITION, "partition: another partition or unpartition "
                          "of the buffer is under way");
    else if (!want_part && b->part)
        rc = fronta__fail(FRONTA_EPARTITION, "partition: the buffer is partitioned already");
    if (!rc)
        b->part_busy = 1; /* tasks on b are refused from here (fronta__buffer_usable) */
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static void unclaim(fronta_buffer_t *b)
{
    pthread_mutex_lock(&b->lock);
    b->part_busy = 0;
    pthread_mutex_unlock(&b->lock);
}

/* reap: free the chunks retired by earlier partitions of b whose
 * unpartition is done -- a user's partition does; the one a map over
 * whole buffers makes for itself does not (the user's retired handles
 * stay valid, as documented, until the user partitions again). */
static int partition(fronta_buffer_t *b, const fronta_partition_t *how, int reap)
{
    fronta_partition_t p;
    memset(&p, 0, sizeof p);
    if (!fronta__buffer_valid(b) ||
        (how && fronta__desc_read(&p, sizeof p, how, offsetof(fronta_partition_t, nchunks) +
                                                          sizeof p.nchunks)))
        return fronta__fail(FRONTA_EINVAL, "partition: no buffer or no descriptor size");
    fronta__layout L;
    int rc = claim(b, 0);
    if (rc)
        return rc;
    if ((rc = fronta__layout_of(b, &p, &L))) {
        unclaim(b);
        return rc;
    }
    fronta_runtime_t *rt = b->rt;
    fronta__part *part = part_new(b, &L);
    fronta__layout_fini(b, &L);
    fronta_kernel_t *k = fronta__kernel_internal(rt, "fronta.partition", partition_run);
    rc = part && k ? 0 : FRONTA_ENOMEM;
    fronta_arg_t arg = FRONTA_INOUT(b);
    if (!rc)
        rc = fronta__ktask_submit_internal(rt, k, &arg, 1, NULL, 0, part, NULL, 1,
                                           &part->ptask);
    if (rc) {
        if (part)
            part_free(rt, part);
        unclaim(b);
        return rc;
    }
    /* The chunks' first access follows the partition task: it gives them
     * their contents (and its failure). */
    for (size_t i = 0; i < part->n; i++) {
        fronta_buffer_t *c = part->chunks[i];
        atomic_fetch_add_explicit(&part->ptask->refs, 1, memory_order_relaxed);
        c->last_writer = part->ptask;
    }
    pthread_mutex_lock(&b->lock);
    b->part = part;
    b->part_busy = 0;
    if (reap) /* only now: a refused partition frees nothing */
        reap_retired(b);
    pthread_mutex_unlock(&b->lock);
    return 0;
}

int fronta_buffer_partition(fronta_buffer_t *b, const fronta_partition_t *how)
{
    return partition(b, how, 1);
}

int fronta__buffer_partition_keep(fronta_buffer_t *b, const fronta_partition_t *how)
{
    return partition(b, how, 0);
}

/* ---- the unpartition task: every chunk's contents back into b ---- */

/* With c->lock held: c's last valid contents in b's host array. */
static int chunk_home(fronta__part *p, fronta_buffer_t *c, char *msg, size_t msz)
{
    int rc = fronta__coh_fetch(c, 0, msg, msz);
    if (rc)
        return rc;
    if (p->tiled)
        tile_copy(p->parent, c, 0, p->cols);
    fronta__coh_drop_all(c);
    return 0;
}

/* The failure the chunks hand b: that of the lowest chunk whose last
 * writer failed or was cancelled. */
static int chunk_failure(fronta_ctx_t *ctx, const fronta__part *p)
{
    for (size_t i = 0; i < p->n; i++) {
        fronta_future_t *w = p->writers[i];
        fronta_error_t e;
        int code = w ? fronta_future_error(w, &e) : 0;
        if (code) { /* b fails where the chunk did: its root stays the root */
            char msg[512];
            snprintf(msg, sizeof msg, "chunk %zu of %zu: task %llu: %s", i, p->n,
                     (unsigned long long)fronta_future_task_id(w),
                     e.message ? e.message : fronta_strerror(code));
            fronta__set_error(ctx->task, code, e.task_id, msg);
            return code;
        }
    }
    return 0;
}

static int unpartition_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a, (void)na, (void)n;
    fronta__part *p = fronta__ktask_priv(ctx);
    fronta_error_t e;
    int prc = fronta_future_error(p->ptask, &e);
    char msg[256];
    int rc = 0;
    for (size_t i = 0; i < p->n; i++) {
        fronta_buffer_t *c = p->chunks[i];
        pthread_mutex_lock(&c->lock);
        /* A failed partition gave the chunks nothing: b (whose replicas
         * it left alone) keeps its contents, and what the chunks hold is
         * dropped. */
        int crc = prc ? 0 : chunk_home(p, c, msg, sizeof msg);
        if (prc)
            fronta__coh_drop_all(c);
        pthread_mutex_unlock(&c->lock);
        if (crc && !rc)
            rc = fronta_ctx_fail(ctx, crc, "chunk %zu of %zu: contents not brought back: %s",
                                 i, p->n, msg);
    }
    if (prc)
        return fronta_ctx_fail(ctx, prc, "the partition failed: %s",
                               e.message ? e.message : fronta_strerror(prc));
    return rc ? rc : chunk_failure(ctx, p);
}

/* Retire the chunks; *after gets every task on them (with references):
 * what the unpartition follows. */
static int retire_chunks(fronta__part *p, fronta_future_t ***after, size_t *nafter,
                         size_t *cap)
{
    fronta_runtime_t *rt = p->parent->rt;
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        fronta_buffer_t *c = p->chunks[i];
        pthread_mutex_lock(&c->lock);
        c->chunk_retired = 1; /* from now on no task joins c's order */
        n += 1 + c->nreaders;
        pthread_mutex_unlock(&c->lock);
    }
    *cap = n ? n : 1;
    fronta_future_t **fs = fronta__mem_calloc(&rt->alloc, *cap, sizeof *fs);
    p->writers = fronta__mem_calloc(&rt->alloc, p->n, sizeof *p->writers);
    if (!fs || !p->writers) {
        if (fs)
            fronta__mem_free(&rt->alloc, fs, *cap * sizeof *fs);
        return FRONTA_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        fronta_buffer_t *c = p->chunks[i];
        pthread_mutex_lock(&c->lock);
        if ((p->writers[i] = c->last_writer)) {
            fronta_future_retain(c->last_writer);
            fs[k++] = c->last_writer;
        }
        for (size_t j = 0; j < c->nreaders; j++)
            fs[k++] = c->readers[j];
        pthread_mutex_unlock(&c->lock);
    }
    *after = fs;
    *nafter = k;
    return 0;
}

static void unretire(fronta__part *p)
{
    for (size_t i = 0; i < p->n; i++) {
        pthread_mutex_lock(&p->chunks[i]->lock);
        p->chunks[i]->chunk_retired = 0;
        pthread_mutex_unlock(&p->chunks[i]->lock);
        if (p->writers && p->writers[i])
            fronta__task_release(p->writers[i]);
    }
    if (p->writers)
        fronta__mem_free(&p->parent->rt->alloc, p->writers, p->n * sizeof *p->writers);
    p->writers = NULL;
}

/* b whole again: p goes to its retired list, and the claim ends. */
static void retire_part(fronta_buffer_t *b, fronta__part *p, int homed)
{
    pthread_mutex_lock(&b->lock);
    p->homed = homed;
    b->part = NULL;
    p->next = b->retired;
    b->retired = p;
    b->part_busy = 0;
    pthread_mutex_unlock(&b->lock);
}

/* After shutdown no task runs and the chunks' contents are home already
 * (fronta__buffers_unload): retiring them is all there is to do. */
static void unpartition_stopped(fronta_buffer_t *b, fronta__part *p)
{
    for (size_t i = 0; i < p->n; i++) {
        pthread_mutex_lock(&p->chunks[i]->lock);
        p->chunks[i]->chunk_retired = 1;
        pthread_mutex_unlock(&p->chunks[i]->lock);
    }
    retire_part(b, p, 0);
}

static int unpartition_live(fronta_buffer_t *b);

int fronta_buffer_unpartition(fronta_buffer_t *b)
{
    if (!fronta__buffer_valid(b))
        return fronta__fail(FRONTA_EINVAL, "unpartition: not a buffer");
    int rc = claim(b, 1);
    if (rc)
        return rc;
    fronta_runtime_t *rt = b->rt;
    pthread_rwlock_rdlock(&rt->stop_lock); /* the drivers stay up or stay gone */
    if (rt->drivers_gone)
        unpartition_stopped(b, b->part);
    else
        rc = unpartition_live(b);
    pthread_rwlock_unlock(&rt->stop_lock);
    return rc;
}

static int unpartition_live(fronta_buffer_t *b)
{
    int rc;
    fronta__part *p = b->part; /* claimed: stays */
    fronta_runtime_t *rt = b->rt;
    fronta_future_t **after = NULL;
    size_t nafter = 0, cap = 0;
    fronta_kernel_t *k = fronta__kernel_internal(rt, "fronta.unpartition", unpartition_run);
    rc = k ? retire_chunks(p, &after, &nafter, &cap) : FRONTA_ENOMEM;
    fronta_arg_t arg = FRONTA_OUT(b);
    if (!rc)
        rc = fronta__ktask_submit_internal(rt, k, &arg, 1, after, nafter, p, NULL, 1,
                                           &p->utask);
    if (after) /* the readers were borrowed; the writers' references are p->writers' */
        fronta__mem_free(&rt->alloc, after, cap * sizeof *after);
    if (rc) {
        unretire(p);
        unclaim(b);
        return rc;
    }
    retire_part(b, p, 0);
    return 0;
}

/* ---- unpartition without a task ---- */

static int chunk_idle(const fronta_buffer_t *c)
{
    if (c->held || c->chunk_retired || !(c->valid & 1) ||
        (c->last_writer && !fronta_future_done(c->last_writer)))
        return 0;
    for (size_t j = 0; j < c->nreaders; j++)
        if (!fronta_future_done(c->readers[j]))
            return 0;
    return 1;
}

/* Retire the chunks while each is idle; 0, all of them put back, at the
 * first that is not. */
static int retire_idle(fronta__part *p)
{
    size_t i = 0;
    for (; i < p->n; i++) {
        fronta_buffer_t *c = p->chunks[i];
        pthread_mutex_lock(&c->lock);
        int idle = chunk_idle(c);
        c->chunk_retired = idle; /* from now on no task joins c's order */
        pthread_mutex_unlock(&c->lock);
        if (!idle)
            break;
    }
    if (i == p->n)
        return 1;
    unretire(p); /* the chunks past i were never retired */
    return 0;
}

/* What the unpartition task would do, here: a task would cost a round
 * trip through the pool (10-20 us on a VM, each buffer of a pipeline
 * destroyed one after the other) for a buffer about to be freed. With
 * every chunk's host copy current, bringing them home cannot fail. A
 * failed partition is left to the task, which knows what it gave. */
int fronta__unpartition_idle(fronta_buffer_t *b)
{
    fronta_runtime_t *rt = b->rt;
    pthread_rwlock_rdlock(&rt->stop_lock);
    pthread_mutex_lock(&b->lock);
    fronta__part *p = b->part;
    int ok = p && !b->part_busy && !b->dying && !rt->drivers_gone &&
             fronta_future_status(p->ptask) == FRONTA_FINISHED;
    if (ok)
        b->part_busy = 1; /* claimed, as claim() does */
    pthread_mutex_unlock(&b->lock);
    if (ok && !(ok = retire_idle(p)))
        unclaim(b);
    for (size_t i = 0; ok && i < p->n; i++) {
        char msg[8];
        pthread_mutex_lock(&p->chunks[i]->lock);
        (void)chunk_home(p, p->chunks[i], msg, sizeof msg);
        pthread_mutex_unlock(&p->chunks[i]->lock);
    }
    if (ok)
        retire_part(b, p, 1);
    pthread_rwlock_unlock(&rt->stop_lock);
    return ok;
}

/* ---- accessors ---- */

size_t fronta_buffer_nchunks(const fronta_buffer_t *b)
{
    if (!fronta__buffer_valid(b))
        return 0;
    fronta_buffer_t *m = (fronta_buffer_t *)b; /* the lock, not the contents */
    pthread_mutex_lock(&m->lock);
    size_t n = b->part ? b->part->n : 0;
    pthread_mutex_unlock(&m->lock);
    return n;
}

fronta_buffer_t *fronta_buffer_chunk(const fronta_buffer_t *b, size_t i)
{
    if (!fronta__buffer_valid(b))
        return NULL;
    fronta_buffer_t *m = (fronta_buffer_t *)b;
    pthread_mutex_lock(&m->lock);
    fronta_buffer_t *c = b->part && i < b->part->n ? b->part->chunks[i] : NULL;
    pthread_mutex_unlock(&m->lock);
    return c;
}

int fronta_buffer_chunk_info(const fronta_buffer_t *c, fronta_chunk_info_t *out)
{
    if (!fronta__buffer_valid(c) || !c->parent || !out)
        return FRONTA_EINVAL;
    fronta_chunk_info_t info = {.size = sizeof info, .parent = c->parent,
                                .index = c->chunk_index, .offset = c->chunk_offset,
                                .row = c->chunk_row, .col = c->chunk_col,
                                .rows = c->chunk_rows, .cols = c->chunk_cols};
    fronta_buffer_t *m = (fronta_buffer_t *)c;
    pthread_mutex_lock(&m->lock);
    info.retired = c->chunk_retired;
    pthread_mutex_unlock(&m->lock);
    size_t want = out->size && out->size < sizeof info ? out->size : sizeof info;
    memcpy(out, &info, want);
    if (want >= sizeof(size_t))
        out->size = want;
    return 0;
}

/* ---- shutdown and free ---- */

/* A partition whose chunks may hold contents b does not: the live one,
 * and a retired one whose unpartition never ran (cancelled). */
static int part_pending(const fronta__part *p)
{
    return !p->homed && (!p->utask || fronta_future_status(p->utask) != FRONTA_FINISHED);
}

int fronta__part_unload(fronta_buffer_t *b, int stopping, char *msg, size_t msz)
{
    int rc = 0;
    fronta__part *list[2] = {b->retired, b->part}; /* the newest retired, then the live one */
    for (int l = 0; l < 2; l++) {
        fronta__part *p = list[l];
        if (!p || !part_pending(p) || fronta_future_status(p->ptask) != FRONTA_FINISHED)
            continue;
        for (size_t i = 0; i < p->n; i++) {
            fronta_buffer_t *c = p->chunks[i];
            pthread_mutex_lock(&c->lock);
            int crc = chunk_home(p, c, msg, msz);
            if (crc && stopping)
                fronta__coh_drop_all(c);
            pthread_mutex_unlock(&c->lock);
            rc = rc ? rc : crc;
        }
    }
    return rc;
}

void fronta__part_free_all(fronta_buffer_t *b)
{
    if (b->part)
        part_free(b->rt, b->part);
    b->part = NULL;
    while (b->retired) {
        fronta__part *p = b->retired;
        b->retired = p->next;
        part_free(b->rt, p);
    }
}
