/* Maps over chunks (fronta_submit_map), and the internal tasks that wait
 * for many futures whatever their outcome (the whole map's future). */
#include "core/kernel.h"

#include <stdio.h>
#include <string.h>

/* ---- after all: a function run once every input is done ---- */

typedef struct after_rec {
    fronta_fn_t fn;
    size_t size;
    unsigned char arg[];
} after_rec;

static void after_free(fronta_runtime_t *rt, void *priv)
{
    after_rec *r = priv;
    fronta__mem_free(&rt->alloc, r, sizeof *r + r->size);
}

static int after_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a, (void)na, (void)n;
    after_rec *r = fronta__ktask_priv(ctx);
    return r->fn(ctx, r->arg);
}

int fronta__submit_after_all(fronta_runtime_t *rt, fronta_future_t *const *fs, size_t n,
                             fronta_fn_t fn, const void *arg, size_t arg_size,
                             fronta_future_t **out)
{
    fronta_kernel_t *k = fronta__kernel_internal(rt, "fronta.after_all", after_run);
    after_rec *r = k ? fronta__mem_alloc(&rt->alloc, sizeof *r + arg_size) : NULL;
    if (!r)
        return FRONTA_ENOMEM;
    r->fn = fn;
    r->size = arg_size;
    if (arg_size)
        memcpy(r->arg, arg, arg_size);
    int rc = fronta__ktask_submit_internal(rt, k, NULL, 0, fs, n, r, after_free, out != NULL,
                                           out);
    if (rc)
        after_free(rt, r);
    return rc;
}

/* ---- the whole map's future ---- */

typedef struct map_rec {
    size_t n;
    fronta__coexec *cx;               /* co-executed: its dispatcher */
    fronta_future_t *chunk[];         /* a reference each */
} map_rec;

static void map_free(fronta_runtime_t *rt, void *priv)
{
    map_rec *m = priv;
    fronta__coexec_unref(m->cx);
    for (size_t i = 0; i < m->n; i++)
        if (m->chunk[i])
            fronta__task_release(m->chunk[i]);
    fronta__mem_free(&rt->alloc, m, sizeof *m + m->n * sizeof m->chunk[0]);
}

/* Done when every chunk is: the lowest failed chunk's error is the map's
 * (so the outcome does not depend on which chunk failed first in time). */
static int map_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a, (void)na, (void)n;
    const map_rec *m = fronta__ktask_priv(ctx);
    for (size_t i = 0; i < m->n; i++) {
        fronta_error_t e;
        int code = fronta_future_error(m->chunk[i], &e);
        if (code) {
            /* The chunk's root task stays the root: the map failed there. */
            char msg[512];
            snprintf(msg, sizeof msg, "chunk %zu of %zu (task %llu): %s", i, m->n,
                     (unsigned long long)fronta_future_task_id(m->chunk[i]),
                     e.message ? e.message : fronta_strerror(code));
            fronta__set_error(ctx->task, code, e.task_id, msg);
            return code;
        }
    }
    return 0;
}

/* ---- the map ---- */

typedef struct map_plan {
    fronta_task_desc_t d;             /* as given, normalised */
    size_t nargs;
    size_t n;                         /* chunks */
    int part[FRONTA_MAX_ARGS];        /* argument i is a partitioned buffer */
    fronta_buffer_t **chunks;         /* [i * nargs + a]: chunk i of argument a */
    size_t first;                     /* the first partitioned argument */
} map_plan;

static size_t desc_nargs(const fronta_task_desc_t *d)
{
    size_t n = d->nargs;
    if (n == 0)
        while (n < FRONTA_MAX_ARGS && d->args[n].kind != FRONTA_ARG_NONE)
            n++;
    return n > FRONTA_MAX_ARGS ? FRONTA_MAX_ARGS : n;
}

/* The arguments' chunk lists, snapshotted under each parent's lock. */
static int plan_chunks(fronta_runtime_t *rt, map_plan *mp)
{
    mp->n = 0;
    for (size_t a = 0; a < mp->nargs; a++) {
        const fronta_arg_t *g = &mp->d.args[a];
        if (g->kind != FRONTA_ARG_BUFFER || !fronta__buffer_valid(g->buffer))
            continue;
        size_t n = fronta_buffer_nchunks(g->buffer);
        if (!n)
            continue;
        if (mp->n && n != mp->n)
            return fronta__fail(FRONTA_ESIZE, "map: argument %zu has %zu chunks, argument %zu "
                                "%zu", a, n, mp->first, mp->n);
        if (!mp->n)
            mp->first = a;
        mp->n = n;
        mp->part[a] = 1;
    }
    if (!mp->n)
        return fronta__fail(FRONTA_EINVAL, "map: no argument is a partitioned buffer");
    for (size_t a = 0; a < mp->nargs; a++)
        if (mp->d.args[a].kind == FRONTA_ARG_BUFFER && !mp->part[a] &&
            mp->d.args[a].access != FRONTA_ACCESS_IN)
            return fronta__fail(FRONTA_EARG, "map: argument %zu is a whole buffer the kernel "
                                "writes: every chunk's task would overwrite it", a);
    size_t cells;
    if (fronta__size_mul(mp->n, mp->nargs, &cells) ||
        !(mp->chunks = fronta__mem_calloc(&rt->alloc, cells, sizeof *mp->chunks)))
        return FRONTA_ENOMEM;
    for (size_t a = 0; a < mp->nargs; a++)
        for (size_t i = 0; mp->part[a] && i < mp->n; i++)
            if (!(mp->chunks[i * mp->nargs + a] = fronta_buffer_chunk(mp->d.args[a].buffer, i)))
                return fronta__fail(FRONTA_ESIZE, "map: argument %zu was unpartitioned or "
                                    "partitioned again during the call", a);
    return 0;
}

/* Chunk i's task: its chunks in place of the parents, its launch shape. */
static void chunk_desc(const map_plan *mp, size_t i, fronta_task_desc_t *out)
{
    *out = mp->d;
    for (size_t a = 0; a < mp->nargs; a++)
        if (mp->part[a])
            out->args[a].buffer = mp->chunks[i * mp->nargs + a];
    const fronta_buffer_t *c = out->args[mp->first].buffer;
    if (c->chunk_tiled || mp->d.local_rows || mp->d.local_cols) {
        out->rows = c->chunk_rows;
        out->cols = c->chunk_cols;
    } else {
        out->global = c->count;
    }
}

static void plan_free(fronta_runtime_t *rt, map_plan *mp)
{
    if (mp->chunks)
        fronta__mem_free(&rt->alloc, mp->chunks, mp->n * mp->nargs * sizeof *mp->chunks);
    mp->chunks = NULL;
}

static int plan(fronta_runtime_t *rt, const fronta_task_desc_t *task, map_plan *mp)
{
    memset(mp, 0, sizeof *mp);
    if (fronta__desc_read(&mp->d, sizeof mp->d, task,
                          offsetof(fronta_task_desc_t, kernel) + sizeof mp->d.kernel))
        return FRONTA_EINVAL;
    if (mp->d.global || mp->d.rows || mp->d.cols)
        return fronta__fail(FRONTA_EINVAL, "map: the launch size is each chunk's: global, "
                            "rows and cols must be 0");
    if (mp->d.nargs > FRONTA_MAX_ARGS) /* as fronta_submit: not the kernel's count */
        return fronta__fail(FRONTA_EARG, "map: %zu arguments, at most %d", mp->d.nargs,
                            FRONTA_MAX_ARGS);
    mp->nargs = desc_nargs(&mp->d);
    mp->d.nargs = mp->nargs;
    int rc = plan_chunks(rt, mp);
    for (size_t i = 0; !rc && i < mp->n; i++) {
        fronta_task_desc_t c;
        chunk_desc(mp, i, &c);
        if ((rc = fronta__ktask_check(rt, &c)))
            fronta__fail(rc, "map: chunk %zu of %zu: %s", i, mp->n,
                         fronta_last_error()[0] ? fronta_last_error() : fronta_strerror(rc));
    }
    return rc;
}

/* Keys: chunk i's stream is keyed by chunk 0's key and i, so a map's
 * random numbers depend on the chunk, never on the worker. */
static uint64_t chunk_key(uint64_t key0, size_t i)
{
    return i ? fronta__mix64(key0 + 0x9e3779b97f4a7c15ull * (uint64_t)i) : 0;
}

/* Out of memory part-way: take back what went (held chunks need their
 * hold released to end). */
static void take_back(map_rec *m, size_t n, int held)
{
    for (size_t j = 0; j < n; j++)
        (void)fronta_future_cancel(m->chunk[j]);
    if (held)
        fronta__coexec_release_all(m->chunk, n);
}

static int submit_chunks(fronta_runtime_t *rt, const map_plan *mp, map_rec *m, int held)
{
    uint64_t key0 = 0;
    for (size_t i = 0; i < mp->n; i++) {
        fronta_task_desc_t c;
        chunk_desc(mp, i, &c);
        int rc = fronta__ktask_submit_desc(rt, &c, chunk_key(key0, i),
                                           held ? FRONTA__KT_HELD : 0, &m->chunk[i]);
        if (rc) {
            take_back(m, i, held);
            return rc;
        }
        if (i == 0)
            key0 = m->chunk[0]->key;
    }
    return 0;
}

/* Co-execute when the map may run anywhere, more than one device can run
 * it, and there is more than one chunk; FRONTA_COEXEC=0 turns it off. */
static uint64_t coexec_mask(fronta_runtime_t *rt, const map_plan *mp)
{
    if (mp->n < 2 || !rt->set.coexec)
        return 0;
    fronta_task_desc_t c;
    chunk_desc(mp, 0, &c);
    return fronta__coexec_devices(rt, &c);
}

static int map_submit(fronta_runtime_t *rt, const fronta_task_desc_t *task,
                      fronta_future_t **out, fronta_future_t **chunks)
{
    map_plan mp;
    int rc = plan(rt, task, &mp);
    map_rec *m = NULL;
    if (!rc && !(m = fronta__mem_calloc(&rt->alloc, 1, sizeof *m + mp.n * sizeof m->chunk[0])))
        rc = FRONTA_ENOMEM;
    uint64_t mask = rc ? 0 : coexec_mask(rt, &mp);
    if (!rc) {
        m->n = mp.n;
        rc = submit_chunks(rt, &mp, m, mask != 0);
    }
    if (!rc) {
        fronta_kernel_t *k = fronta__kernel_internal(rt, "fronta.map", map_run);
        rc = k ? fronta__ktask_submit_internal(rt, k, NULL, 0, m->chunk, m->n, m, map_free, 1,
                                               out)
               : FRONTA_ENOMEM;
        if (rc)
            take_back(m, m->n, mask != 0);
    }
    if (!rc && mask) {
        /* The gather holds m (and so cx) from here on: it cannot be
         * freed before every chunk, released by cx, has completed. */
        m->cx = fronta__coexec_start(rt, m->chunk, m->n, mask);
        if (!m->cx) /* no dispatcher: each chunk goes where it was placed */
            fronta__coexec_release_all(m->chunk, m->n);
    }
    plan_free(rt, &mp);
    if (rc) {
        if (m)
            map_free(rt, m);
        return rc;
    }
    /* m is the gather's now (freed with it), and so are its references
     * to the chunks: the caller gets references of its own. */
    for (size_t i = 0; chunks && i < mp.n; i++) {
        fronta_future_retain(m->chunk[i]);
        chunks[i] = m->chunk[i];
    }
    return 0;
}

/* ---- a map over whole buffers: partitioned for it ---- */

typedef struct auto_set {
    fronta_buffer_t *b[FRONTA_MAX_ARGS];
    size_t n;
} auto_set;

/* The buffer arguments a map over whole buffers cuts: those of the first
 * buffer argument's count (each once); 0 when one is partitioned
 * already (the map then zips the user's partitions). */
static int auto_pick(const fronta_task_desc_t *d, auto_set *s)
{
    size_t count = 0, nargs = desc_nargs(d);
    s->n = 0;
    for (size_t a = 0; a < nargs; a++) {
        fronta_buffer_t *b = d->args[a].kind == FRONTA_ARG_BUFFER ? d->args[a].buffer : NULL;
        if (!fronta__buffer_valid(b))
            continue;
        if (fronta_buffer_nchunks(b))
            return 0;
        if (!count)
            count = b->count;
        int seen = 0;
        for (size_t j = 0; j < s->n; j++)
            seen |= s->b[j] == b;
        if (b->count == count && !seen)
            s->b[s->n++] = b;
    }
    return s->n > 0;
}

static void auto_unpartition(fronta_runtime_t *rt, const auto_set *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = fronta_buffer_unpartition(s->b[i]);
        if (rc) /* out of memory: the buffer stays cut, its chunks still usable */
            FRONTA__LOG(rt, FRONTA_LOG_ERROR, "map: a buffer of %zu elements partitioned for "
                        "the map stays partitioned: %s", s->b[i]->count, fronta_strerror(rc));
    }
}

int fronta_submit_map(fronta_runtime_t *rt, const fronta_task_desc_t *task,
                      fronta_future_t **out, fronta_future_t **chunks)
{
    if (out)
        *out = NULL;
    if (!rt || !task || !out)
        return fronta__fail(FRONTA_EINVAL, "map: NULL runtime, task or out");
    fronta_task_desc_t d;
    if (fronta__desc_read(&d, sizeof d, task,
                          offsetof(fronta_task_desc_t, kernel) + sizeof d.kernel))
        return FRONTA_EINVAL;
    auto_set s;
    if (!auto_pick(&d, &s))
        return map_submit(rt, task, out, chunks);
    if (chunks)
        return fronta__fail(FRONTA_EINVAL, "map: over whole buffers the chunk count is the "
                            "map's choice: chunks must be NULL (partition first to get them)");
    /* Cut alike (the automatic rule reads counts only), mapped, made whole
     * again: every step ordered among the buffers' accesses, so the call
     * still does not wait. */
    int rc = 0;
    size_t done = 0;
    while (done < s.n && !(rc = fronta__buffer_partition_keep(s.b[done], NULL)))
        done++;
    if (!rc)
        rc = map_submit(rt, task, out, NULL);
    auto_unpartition(rt, &s, done);
    return rc;
}
