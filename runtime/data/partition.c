/* Partitions: a buffer cut into chunk buffers (views of its host array, or
 * packed tiles) and made whole again, each step an internal task on the
 * pool, ordered among the buffer's accesses like any other. */
#include "core/kernel.h"

#include <stdio.h>
#include <string.h>

/* The automatic chunking (docs/arrays.md), guided: chunk k takes a
 * 1 / (2 W) share of what is left (W: the pool's threads plus the
 * devices), so the first chunks are large and the last small, and
 * workers that pull chunks as they finish end together. Never below
 * AUTO_MIN elements (with 4-byte elements 256 KiB: ~25 us of memory
 * traffic at 10 GB/s, 25x the cost of a kernel task on the pool; the
 * last chunk takes up to twice that rather than leave a crumb), never
 * above 1/8 of the smallest device's memory at 8 bytes an element (room
 * for a few chunks in flight). Counts only, never bytes: buffers of
 * different types partitioned automatically zip. */
#define AUTO_MIN ((size_t)64 << 10)
/* Chunk lengths (but the last) are multiples of this: an OpenCL driver
 * picks its work-group from the global size, and PoCL picks tiny ones for
 * sizes with small factors (a guided 11184810 ran scale 3x slower than
 * 64 equal chunks; rounded to 4096, 1.2x). Also keeps chunks of pages. */
#define AUTO_ALIGN ((size_t)4096)
#define AUTO_DEVMEM_SHARE 8
#define AUTO_MAX_CHUNKS 4096

typedef struct layout {
    size_t n;
    int tiled;
    size_t q, r;                      /* balanced: n chunks of q, the first r one longer */
    size_t len;                       /* fixed length (the last shorter); 0 otherwise */
    const size_t *lengths;            /* explicit, or automatic */
    size_t *auto_lengths;             /* owned: the automatic ones */
    size_t rows, cols, tr, tc, ntc;   /* tiles */
} layout;

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
    return 0;
}

/* ---- the layout ---- */

static size_t auto_max(const fronta_runtime_t *rt)
{
    size_t most = SIZE_MAX;
    for (int d = 1; d < rt->ndevices; d++) {
        fronta_device_info_t info = {.size = sizeof info};
        if (fronta_device_info(rt, d, &info) || !info.global_mem)
            continue;
        size_t share = (size_t)(info.global_mem / AUTO_DEVMEM_SHARE / 8);
        if (share && share < most)
            most = share;
    }
    return most < AUTO_MIN ? AUTO_MIN : most;
}

/* The guided lengths of `count` elements into lens (room for
 * AUTO_MAX_CHUNKS); returns how many. */
static size_t auto_lengths(const fronta_runtime_t *rt, size_t count, size_t *lens)
{
    size_t w = (size_t)rt->nworkers + (size_t)(rt->ndevices - 1), most = auto_max(rt);
    size_t n = 0, left = count;
    /* Past the cap, chunks of equal size: a huge array never needs more. */
    size_t floor_len = count / AUTO_MAX_CHUNKS + 1;
    if (floor_len < AUTO_MIN)
        floor_len = AUTO_MIN;
    floor_len = (floor_len + AUTO_ALIGN - 1) / AUTO_ALIGN * AUTO_ALIGN;
    while (left) {
        size_t len = left / (2 * (w ? w : 1)) / AUTO_ALIGN * AUTO_ALIGN;
        if (len < floor_len)
            len = floor_len;
        if (len > most)
            len = most / AUTO_ALIGN * AUTO_ALIGN;
        if (left - (len < left ? len : left) < floor_len) /* no crumb at the end */
            len = left;
        if (len > left)
            len = left;
        lens[n++] = len;
        left -= len;
        if (n == AUTO_MAX_CHUNKS - 1 && left) { /* cannot happen with floor_len; a guard */
            lens[n++] = left;
            left = 0;
        }
    }
    return n;
}

static int ways_set(const fronta_partition_t *p)
{
    return (p->nchunks != 0) + (p->chunk_len != 0) + (p->lengths || p->nlengths) +
           (p->rows || p->cols || p->tile_rows || p->tile_cols);
}

static int layout_lengths(const fronta_buffer_t *b, const fronta_partition_t *p, layout *L)
{
    if (!p->lengths || !p->nlengths)
        return fronta__fail(FRONTA_EINVAL, "partition: lengths and nlengths go together");
    if (p->nlengths > b->count)
        return fronta__fail(FRONTA_ERANGE, "partition: %zu chunks of a buffer of %zu elements",
                            p->nlengths, b->count);
    size_t sum = 0;
    for (size_t i = 0; i < p->nlengths; i++) {
        if (!p->lengths[i])
            return fronta__fail(FRONTA_EINVAL, "partition: length %zu is 0", i);
        if (fronta__size_add(sum, p->lengths[i], &sum) || sum > b->count)
            return fronta__fail(FRONTA_ERANGE, "partition: the lengths add up to more than "
                                "the buffer's %zu elements", b->count);
    }
    if (sum != b->count)
        return fronta__fail(FRONTA_ERANGE, "partition: the lengths add up to %zu, the buffer "
                            "has %zu elements", sum, b->count);
    L->n = p->nlengths;
    L->lengths = p->lengths;
    return 0;
}

static int layout_tiles(const fronta_buffer_t *b, const fronta_partition_t *p, layout *L)
{
    size_t rc;
    if (!p->rows || !p->cols || !p->tile_rows || !p->tile_cols)
        return fronta__fail(FRONTA_EINVAL, "partition: tiles need rows, cols, tile_rows and "
                            "tile_cols, all >= 1");
    if (fronta__size_mul(p->rows, p->cols, &rc) || rc != b->count)
        return fronta__fail(FRONTA_EINVAL, "partition: %zu x %zu is not the buffer's %zu "
                            "elements", p->rows, p->cols, b->count);
    L->tiled = 1;
    L->rows = p->rows;
    L->cols = p->cols;
    L->tr = p->tile_rows < p->rows ? p->tile_rows : p->rows;
    L->tc = p->tile_cols < p->cols ? p->tile_cols : p->cols;
    L->ntc = (p->cols + L->tc - 1) / L->tc;
    L->n = ((p->rows + L->tr - 1) / L->tr) * L->ntc;
    return 0;
}

static int layout_of(const fronta_buffer_t *b, const fronta_partition_t *p, layout *L)
{
    memset(L, 0, sizeof *L);
    if (ways_set(p) > 1)
        return fronta__fail(FRONTA_EINVAL, "partition: set one of nchunks, chunk_len, "
                            "lengths, tiles");
    if (p->lengths || p->nlengths)
        return layout_lengths(b, p, L);
    if (p->rows || p->cols || p->tile_rows || p->tile_cols)
        return layout_tiles(b, p, L);
    if (p->chunk_len) {
        L->len = p->chunk_len;
        L->n = b->count / p->chunk_len + (b->count % p->chunk_len != 0);
        return 0;
    }
    if (p->nchunks > b->count)
        return fronta__fail(FRONTA_ERANGE, "partition: %zu chunks of a buffer of %zu elements",
                            p->nchunks, b->count);
    if (!p->nchunks) {
        size_t *lens = fronta__mem_alloc(&b->rt->alloc, AUTO_MAX_CHUNKS * sizeof *lens);
        if (!lens)
            return FRONTA_ENOMEM;
        L->n = auto_lengths(b->rt, b->count, lens);
        L->lengths = L->auto_lengths = lens;
        return 0;
    }
    L->n = p->nchunks;
    L->q = b->count / L->n;
    L->r = b->count % L->n;
    return 0;
}

/* Chunk i's place: offset and count (1-D), or its tile. */
static void chunk_place(const layout *L, size_t i, size_t total, fronta_buffer_t *c)
{
    c->chunk_index = i;
    c->chunk_rows = 1;
    if (L->tiled) {
        c->chunk_tiled = 1;
        c->chunk_row = (i / L->ntc) * L->tr;
        c->chunk_col = (i % L->ntc) * L->tc;
        c->chunk_rows = L->rows - c->chunk_row < L->tr ? L->rows - c->chunk_row : L->tr;
        c->chunk_cols = L->cols - c->chunk_col < L->tc ? L->cols - c->chunk_col : L->tc;
        c->count = c->chunk_rows * c->chunk_cols;
        return;
    }
    if (L->lengths) {
        size_t off = 0;
        for (size_t j = 0; j < i; j++)
            off += L->lengths[j];
        c->chunk_offset = off;
        c->count = L->lengths[i];
    } else if (L->len) {
        c->chunk_offset = i * L->len;
        c->count = total - c->chunk_offset < L->len ? total - c->chunk_offset : L->len;
    } else {
        c->chunk_offset = i * L->q + (i < L->r ? i : L->r);
        c->count = L->q + (i < L->r);
    }
    c->chunk_cols = c->count;
}

/* ---- chunks ---- */

static void chunk_free(fronta_buffer_t *c)
{
    fronta__buffer_free(c);
}

static fronta_buffer_t *chunk_new(fronta_buffer_t *b, const layout *L, size_t i,
                                  size_t offset_hint)
{
    fronta_runtime_t *rt = b->rt;
    fronta_buffer_t *c = fronta__mem_calloc(&rt->alloc, 1, sizeof *c);
    if (!c)
        return NULL;
    c->rt = rt;
    c->type = b->type;
    c->parent = b;
    chunk_place(L, i, b->count, c);
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

static fronta__part *part_new(fronta_buffer_t *b, const layout *L)
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
    for (int d = 1; d < FRONTA__MAX_DEVICES; d++)
        if (b->rep[d])
            fronta__coh_drop(b, d);
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
        if (p->utask && fronta_future_done(p->utask)) {
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
    if (b->parent)
        rc = fronta__fail(FRONTA_ENOTSUP, "partition: a chunk cannot be partitioned (nested "
                          "partitions are not supported): unpartition its parent instead");
    else if (b->dying || b->part_busy)
        rc = fronta__fail(FRONTA_EPARTITION, "partition: another partition or unpartition "
                          "of the buffer is under way");
    else if (!want_part && b->part)
        rc = fronta__fail(FRONTA_EPARTITION, "partition: the buffer is partitioned already");
    else if (want_part && !b->part)
        rc = fronta__fail(FRONTA_EINVAL, "unpartition: the buffer is not partitioned");
    if (!rc) {
        b->part_busy = 1; /* tasks on b are still accepted: they come before */
        if (!want_part)
            reap_retired(b);
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static void unclaim(fronta_buffer_t *b)
{
    pthread_mutex_lock(&b->lock);
    b->part_busy = 0;
    pthread_mutex_unlock(&b->lock);
}

int fronta_buffer_partition(fronta_buffer_t *b, const fronta_partition_t *how)
{
    fronta_partition_t p;
    memset(&p, 0, sizeof p);
    if (!fronta__buffer_valid(b) ||
        (how && fronta__desc_read(&p, sizeof p, how, offsetof(fronta_partition_t, nchunks) +
                                                          sizeof p.nchunks)))
        return fronta__fail(FRONTA_EINVAL, "partition: no buffer or no descriptor size");
    layout L;
    int rc = claim(b, 0);
    if (rc)
        return rc;
    if ((rc = layout_of(b, &p, &L))) {
        unclaim(b);
        return rc;
    }
    fronta_runtime_t *rt = b->rt;
    fronta__part *part = part_new(b, &L);
    if (L.auto_lengths)
        fronta__mem_free(&rt->alloc, L.auto_lengths, AUTO_MAX_CHUNKS * sizeof *L.auto_lengths);
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
    pthread_mutex_unlock(&b->lock);
    return 0;
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
    for (int d = 1; d < FRONTA__MAX_DEVICES; d++)
        if (c->rep[d])
            fronta__coh_drop(c, d);
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
            for (int d = 1; d < FRONTA__MAX_DEVICES; d++)
                if (c->rep[d])
                    fronta__coh_drop(c, d);
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

/* After shutdown no task runs and the chunks' contents are home already
 * (fronta__buffers_unload): retiring them is all there is to do. */
static void unpartition_stopped(fronta_buffer_t *b, fronta__part *p)
{
    for (size_t i = 0; i < p->n; i++) {
        pthread_mutex_lock(&p->chunks[i]->lock);
        p->chunks[i]->chunk_retired = 1;
        pthread_mutex_unlock(&p->chunks[i]->lock);
    }
    pthread_mutex_lock(&b->lock);
    b->part = NULL;
    p->next = b->retired;
    b->retired = p;
    b->part_busy = 0;
    pthread_mutex_unlock(&b->lock);
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
    pthread_mutex_lock(&b->lock);
    b->part = NULL;
    p->next = b->retired;
    b->retired = p;
    b->part_busy = 0;
    pthread_mutex_unlock(&b->lock);
    return 0;
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
    return !p->utask || fronta_future_status(p->utask) != FRONTA_FINISHED;
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
                for (int d = 1; d < FRONTA__MAX_DEVICES; d++)
                    if (c->rep[d])
                        fronta__coh_drop(c, d);
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
