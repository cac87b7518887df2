/* Compaction across chunks (fronta_compact, numpy's out = x[mask]) and concatenation of whole buffers into one (fronta_concat). */
#include "data/chunkops.h"

#include <stdio.h>
#include <string.h>

/* ---- compaction ----
 *
 * Every access to the user's buffers is registered at the call, so that
 * tasks submitted later on x, mask or out order after it (a step
 * submitted later, from inside a task once the counts are known, would
 * let a later write to x overtake its reads). Partitioned x and mask:
 *   fetch_i (IN x_i, IN mask_i)  no-op pool tasks: chunk i's host copies
 *                                are current once they are done;
 *   gather (OUT out, after every fetch_i)  one pool task: counts per
 *                                piece, their scan, the scatter from the
 *                                chunks' host arrays into out (the rest
 *                                of out left as it was: zeroing it cost
 *                                as much as the compaction itself, 0.5
 *                                ns an element at 2^26 with 1 in 105
 *                                kept); its result is *kept;
 *   hold_i (IN x_i, IN mask_i, after the gather)  no-op pool tasks that
 *                                keep later writers of the chunks waiting
 *                                until the gather has read them.
 * So out is written by one task, which never starts when an input failed
 * (out then keeps its contents), no array is allocated, and the kept
 * elements are copied once; the price is that the work stays on the pool
 * (a chunk on a device is brought to the host). Whole x and mask: the
 * bundled compact, on any device. */

/* Elements per piece of the gather's count and scatter: enough to dwarf
 * taking a piece, fine enough that one large chunk still spreads. */
#define PIECE ((size_t)1 << 16)

typedef struct piece {
    const char *x;                    /* its first element, in its chunk's host array */
    const uint8_t *m;
    size_t len, off;                  /* elements; its first kept element's place in out */
} piece_t;

/* The gather's plan: the chunks' fetches (k, then the call's gate: a
 * reference each) and the pieces, fixed at the call. */
typedef struct gather_rec {
    size_t k, np, es;
    fronta_future_t **fetch;
    piece_t *pieces;
    size_t ny, kept;                  /* at run time */
    char *y;
    unsigned char cells[];
} gather_rec;

static void gather_free(fronta_runtime_t *rt, void *priv)
{
    gather_rec *g = priv;
    for (size_t i = 0; i <= g->k; i++)
        if (g->fetch[i])
            fronta_future_release(g->fetch[i]);
    fronta__mem_free(&rt->alloc, g,
                     sizeof *g + (g->k + 1) * sizeof *g->fetch + g->np * sizeof *g->pieces);
}

/* Kept elements of a piece at y[pos .. end). Dense: branch-free, each
 * element written at pos, which passes the kept ones only (the loop stops
 * before a write at end). Sparse (under one in 8 kept): a branch, which
 * then predicts well, over the mask 8 bytes at a time, reading only the
 * kept elements of x. */
#define DEF_SCATTER(S, T)                                                      \
    static void scatter_##S(const piece_t *p, char *yv, size_t pos, size_t end, \
                            int sparse)                                        \
    {                                                                          \
        const T *x = (const T *)(const void *)p->x;                            \
        T *y = (T *)(void *)yv;                                                \
        for (size_t i = 0; sparse && i < p->len && pos < end;) {               \
            uint64_t w8 = 1;                                                   \
            if (i + 8 <= p->len)                                               \
                memcpy(&w8, p->m + i, 8);                                      \
            if (!w8) { /* eight masked out at once */                          \
                i += 8;                                                        \
                continue;                                                      \
            }                                                                  \
            if (p->m[i])                                                       \
                y[pos++] = x[i];                                               \
            i++;                                                               \
        }                                                                      \
        for (size_t i = 0; !sparse && i < p->len && pos < end; i++) {          \
            y[pos] = x[i];                                                     \
            pos += p->m[i] != 0;                                               \
        }                                                                      \
    }
DEF_SCATTER(1, uint8_t)
DEF_SCATTER(4, uint32_t)
DEF_SCATTER(8, uint64_t)

/* 16 uint32 lanes of 0/1 (compares and adds of whole registers once
 * vectorised); a piece (<= 2^16) cannot overflow them. */
static void count_piece(void *ud, size_t i)
{
    gather_rec *g = ud;
    piece_t *p = &g->pieces[i];
    uint32_t lane[16] = {0};
    size_t j = 0, c = 0;
    for (; j + 16 <= p->len; j += 16)
        for (int l = 0; l < 16; l++)
            lane[l] += p->m[j + (size_t)l] != 0;
    for (; j < p->len; j++)
        c += p->m[j] != 0;
    for (int l = 0; l < 16; l++)
        c += lane[l];
    p->off = c; /* its count, until the scan */
}

static void scatter_piece(void *ud, size_t i)
{
    gather_rec *g = ud;
    const piece_t *p = &g->pieces[i];
    size_t next = i + 1 < g->np ? g->pieces[i + 1].off : g->kept;
    size_t end = next < g->ny ? next : g->ny;
    int sparse = (next - p->off) * 8 < p->len;
    if (p->off >= end)
        return;
    if (g->es == 1)
        scatter_1(p, g->y, p->off, end, sparse);
    else if (g->es == 4)
        scatter_4(p, g->y, p->off, end, sparse);
    else
        scatter_8(p, g->y, p->off, end, sparse);
}

static int parallel(fronta_ctx_t *ctx, size_t n, void (*body)(void *, size_t), void *ud)
{
    if (n == 1)
        body(ud, 0);
    return n > 1 ? fronta_ctx_parallel(ctx, n, body, ud) : 0;
}

/* Its one argument: out (OUT). Inputs that failed fail it (the lowest
 * chunk's error) before out is touched. */
static int gather_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)na, (void)n;
    gather_rec *g = fronta__ktask_priv(ctx);
    for (size_t i = 0; i < g->k; i++) {
        fronta_error_t e;
        int code = fronta_future_error(g->fetch[i], &e);
        if (code) { /* the chunk's root task stays the root */
            char msg[512];
            snprintf(msg, sizeof msg, "chunk %zu of %zu: %s", i, g->k,
                     e.message ? e.message : fronta_strerror(code));
            fronta__set_error(ctx->task, code, e.task_id, msg);
            return code;
        }
    }
    g->y = a[0].ptr;
    g->ny = a[0].count;
    int rc = parallel(ctx, g->np, count_piece, g);
    size_t s = 0;
    for (size_t i = 0; !rc && i < g->np; i++) {
        size_t c = g->pieces[i].off;
        g->pieces[i].off = s;
        s += c;
    }
    g->kept = s;
    if (!rc)
        rc = parallel(ctx, g->np, scatter_piece, g);
    int64_t kept = (int64_t)s;
    return rc ? rc : fronta_ctx_return(ctx, &kept, sizeof kept);
}

static int noop_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx, (void)a, (void)na, (void)n;
    return 0;
}

/* The chunks of x and mask, under their locks: alike (counts), and runs
 * of their parents' elements in index order (FRONTA_ENOTSUP for tiles of
 * more than one row that do not span the matrix's width). */
static int chunks_of(fronta_buffer_t *b, size_t k, fronta_buffer_t **c, const char *what)
{
    pthread_mutex_lock(&b->lock);
    const fronta__part *p = b->part;
    int rc = 0;
    if (!p || p->n != k)
        rc = fronta__fail(FRONTA_ESIZE, "compact: %s was partitioned again during the call",
                          what);
    else if (p->tiled && p->tile_rows > 1 && p->tile_cols < p->cols)
        rc = fronta__fail(FRONTA_ENOTSUP, "compact: %s is cut into tiles, whose elements are "
                          "not in the matrix's index order: use 1-D chunks or whole rows",
                          what);
    for (size_t i = 0; !rc && i < k; i++)
        c[i] = p->chunks[i];
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* The plan: x's and mask's chunks side by side (2k), checked alike, then
 * the pieces. */
static int gather_plan(fronta_runtime_t *rt, fronta_buffer_t *x, fronta_buffer_t *mask,
                       size_t k, fronta_buffer_t **xc, gather_rec **out)
{
    int rc = chunks_of(x, k, xc, "x");
    if (!rc)
        rc = chunks_of(mask, k, xc + k, "mask");
    size_t np = 0;
    for (size_t i = 0; !rc && i < k; i++) {
        if (xc[i]->count != xc[k + i]->count)
            return fronta__fail(FRONTA_ESIZE, "compact: chunk %zu of x has %zu elements, of "
                                "mask %zu", i, xc[i]->count, xc[k + i]->count);
        np += (xc[i]->count + PIECE - 1) / PIECE;
    }
    if (rc)
        return rc;
    size_t es = fronta_dtype_size(x->type), sz = sizeof(gather_rec);
    gather_rec *g = NULL;
    if (!fronta__size_array(sz, k + 1, sizeof(fronta_future_t *), &sz) &&
        !fronta__size_array(sz, np, sizeof(piece_t), &sz))
        g = fronta__mem_calloc(&rt->alloc, 1, sz);
    if (!g)
        return fronta__fail(FRONTA_ENOMEM, "compact: out of memory");
    *g = (gather_rec){.k = k, .np = np, .es = es};
    g->fetch = (fronta_future_t **)(void *)g->cells;
    g->pieces = (piece_t *)(void *)(g->fetch + k + 1);
    for (size_t i = 0, p = 0; i < k; i++)
        for (size_t lo = 0; lo < xc[i]->count; lo += PIECE, p++)
            g->pieces[p] = (piece_t){.x = (const char *)xc[i]->host + lo * es,
                                     .m = (const uint8_t *)xc[k + i]->host + lo,
                                     .len = xc[i]->count - lo < PIECE ? xc[i]->count - lo
                                                                       : PIECE};
    *out = g;
    return 0;
}

/* fetch_i (or hold_i after the gather) for every chunk; fs[i] gets their
 * futures when not NULL. */
static int submit_readers(fronta_runtime_t *rt, fronta_kernel_t *kn, fronta_buffer_t **xc,
                          size_t k, fronta_future_t *after, fronta_future_t **fs)
{
    for (size_t i = 0; i < k; i++) {
        fronta_arg_t args[] = {FRONTA_IN(xc[i]), FRONTA_IN(xc[k + i])};
        int rc = fronta__ktask_submit_internal(rt, kn, args, 2, after ? &after : NULL,
                                               after ? 1 : 0, NULL, NULL, fs != NULL,
                                               fs ? &fs[i] : NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* The partitioned case: fetches, the gather and holds, behind a gate.
 * Out of memory part-way, the gather, still pending, is cancelled: out
 * keeps its contents (its next reader sees the cancelled writer). */
static int compact_chunks(fronta_runtime_t *rt, fronta_buffer_t *x, fronta_buffer_t *mask,
                          fronta_buffer_t *out, size_t k, fronta_future_t **kept)
{
    fronta_kernel_t *kn = fronta__kernel_internal(rt, "fronta.compact_hold", noop_run);
    fronta_kernel_t *kg = fronta__kernel_internal(rt, "fronta.compact", gather_run);
    fronta_buffer_t **xc = fronta__mem_calloc(&rt->alloc, 2 * k, sizeof *xc);
    gather_rec *g = NULL;
    fronta_future_t *gf = NULL;
    fronta__gate gate = {NULL, NULL};
    int rc = kn && kg && xc ? gather_plan(rt, x, mask, k, xc, &g)
                            : fronta__fail(FRONTA_ENOMEM, "compact: out of memory");
    if (!rc && (rc = fronta__chunkops_gate_close(rt, &gate)))
        rc = fronta__chunkops_fail(rc, "compact");
    if (!rc && (rc = submit_readers(rt, kn, xc, k, NULL, g->fetch)))
        rc = fronta__fail(rc, "compact: out of memory for the chunks' tasks");
    if (!rc && (g->fetch[k] = gate.f))
        fronta_future_retain(gate.f);
    fronta_arg_t arg = FRONTA_OUT(out);
    if (!rc && (rc = fronta__ktask_submit_internal(rt, kg, &arg, 1, g->fetch, k + 1, g,
                                                   gather_free, 1, &gf)))
        rc = fronta__fail(rc, "compact: out of memory for the gather");
    else if (!rc)
        g = NULL; /* the gather's */
    if (!rc && (rc = submit_readers(rt, kn, xc, k, gf, NULL)))
        rc = fronta__fail(rc, "compact: out of memory for the chunks' tasks");
    if (rc && gf)
        (void)fronta_future_cancel(gf);
    fronta__chunkops_gate_open(&gate);
    if (g)
        gather_free(rt, g);
    if (xc)
        fronta__mem_free(&rt->alloc, xc, 2 * k * sizeof *xc);
    if (gf && (rc || !kept))
        fronta_future_release(gf);
    else if (gf)
        *kept = gf;
    return rc;
}

/* Whole x and mask: the bundled compact straight into out, and its count
 * as the result of a pool task that reads it. */
static int compact_whole(fronta_runtime_t *rt, fronta_buffer_t *x, fronta_buffer_t *mask,
                         fronta_buffer_t *out, fronta_future_t **kept)
{
    fronta_kernel_t *kc = fronta_kernel_builtin(rt, "compact");
    fronta_buffer_t *kb = NULL;
    fronta_future_t *f = NULL;
    fronta__gate gate = {NULL, NULL};
    int rc = kc ? fronta__chunkops_temp(rt, 1, FRONTA_INT64, NULL, &kb) : FRONTA_ENOMEM;
    if (!rc)
        rc = fronta__chunkops_gate_close(rt, &gate);
    if (rc)
        rc = fronta__fail(rc, "compact: out of memory");
    fronta_task_desc_t d = {.size = sizeof d, .kernel = kc, .nargs = 4,
                            .args = {FRONTA_IN(x), FRONTA_IN(mask), FRONTA_OUT(out),
                                     FRONTA_OUT(kb)},
                            .after = &gate.f, .nafter = gate.f != NULL, .name = "compact"};
    fronta__chunkops_clear();
    if (!rc && (rc = fronta_submit(rt, &d, &f)))
        rc = fronta__chunkops_fail(rc, "compact");
    if (!rc && kept &&
        (rc = fronta__reduce_finish(rt, kb, FRONTA_REDUCE_COUNT, FRONTA_UINT8, x->count, NULL,
                                    kept)))
        rc = fronta__chunkops_fail(rc, "compact: the count");
    if (rc && f) /* still behind the gate: it never runs */
        (void)fronta_future_cancel(f);
    fronta__chunkops_gate_open(&gate);
    if (f)
        fronta_future_release(f);
    fronta__chunkops_drop(kb);
    return rc;
}

/* x and mask partitioned into as many chunks (k), or both whole (k 0). */
static int compact_layout(fronta_buffer_t *x, fronta_buffer_t *mask, size_t *k, int *rc)
{
    *k = fronta__chunkops_chunks(x, "compact: x", rc);
    size_t km = *rc ? 0 : fronta__chunkops_chunks(mask, "compact: mask", rc);
    if (*rc)
        return *rc;
    if (*k != km)
        return *rc = fronta__fail(FRONTA_ESIZE, "compact: x has %zu chunks, mask %zu "
                                  "(0: whole)", *k, km);
    if (!*k && x->count != mask->count)
        return *rc = fronta__fail(FRONTA_ESIZE, "compact: x has %zu elements, mask %zu",
                                  x->count, mask->count);
    return 0;
}

static int compact_check(fronta_runtime_t *rt, fronta_buffer_t *x, fronta_buffer_t *mask,
                         fronta_buffer_t *out)
{
    int rc;
    if ((rc = fronta__chunkops_buffer(rt, x, "compact: x")) ||
        (rc = fronta__chunkops_buffer(rt, mask, "compact: mask")) ||
        (rc = fronta__chunkops_buffer(rt, out, "compact: out")))
        return rc;
    if (mask->type != FRONTA_UINT8)
        return fronta__fail(FRONTA_EARG, "compact: mask must be uint8");
    if (out->type != x->type)
        return fronta__fail(FRONTA_EARG, "compact: out must be of x's type");
    /* Whole: the bundled compact reads the mask while it writes out (x
     * as out is fine). Partitioned: the gather reads every chunk while it
     * writes out. */
    if (out == mask || (out->parent && (out->parent == x || out->parent == mask)))
        return fronta__fail(FRONTA_EARG, "compact: out cannot be the mask, nor a chunk of x "
                            "or mask (they are read while out is written)");
    if ((rc = fronta__buffer_usable(out)))
        return fronta__chunkops_fail(rc, "compact: out");
    return 0;
}

int fronta_compact(fronta_runtime_t *rt, fronta_buffer_t *x, fronta_buffer_t *mask,
                   fronta_buffer_t *out, fronta_future_t **kept)
{
    if (kept)
        *kept = NULL;
    if (!rt)
        return fronta__fail(FRONTA_EINVAL, "compact: NULL runtime");
    size_t k;
    int rc = compact_check(rt, x, mask, out);
    if (rc || compact_layout(x, mask, &k, &rc))
        return rc;
    return k ? compact_chunks(rt, x, mask, out, k, kept) : compact_whole(rt, x, mask, out, kept);
}

/* ---- concatenation ---- */

/* The done future's task: it reads out after the unpartition, which is
 * done when every piece is home (and fails with the first failed one). */
static int concat_done_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx, (void)a, (void)na, (void)n;
    return 0;
}

static int concat_check(fronta_runtime_t *rt, fronta_buffer_t *const *bufs, size_t n,
                        fronta_buffer_t *out)
{
    if (!bufs || !n)
        return fronta__fail(FRONTA_EINVAL, "concat: no buffers");
    int rc = fronta__chunkops_buffer(rt, out, "concat: out");
    if (rc)
        return rc;
    if ((rc = fronta__buffer_usable(out)))
        return fronta__chunkops_fail(rc, "concat: out");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const fronta_buffer_t *b = bufs[i];
        if (fronta__chunkops_buffer(rt, b, "concat"))
            return fronta__fail(FRONTA_EINVAL, "concat: bufs[%zu] is not a buffer of this "
                                "runtime", i);
        if (b == out)
            return fronta__fail(FRONTA_EARG, "concat: bufs[%zu] is out", i);
        if (b->type != out->type)
            return fronta__fail(FRONTA_EARG, "concat: bufs[%zu] is not of out's type", i);
        if ((rc = fronta__buffer_usable(b)))
            return fronta__fail(rc, "concat: bufs[%zu] is partitioned, a retired chunk or "
                                "being freed: concatenate whole buffers (chunks are)", i);
        if (fronta__size_add(total, b->count, &total))
            return fronta__fail(FRONTA_ESIZE, "concat: the counts overflow");
    }
    if (total != out->count)
        return fronta__fail(FRONTA_ESIZE, "concat: the buffers hold %zu elements, out %zu",
                            total, out->count);
    return 0;
}

/* One copy per piece of out, partitioned by the buffers' counts, behind
 * a gate. Out of memory part-way, the copies, still pending, are
 * cancelled: out keeps its contents (its next reader sees a cancelled
 * writer). */
static int concat_pieces(fronta_runtime_t *rt, fronta_kernel_t *copy,
                         fronta_buffer_t *const *bufs, size_t n, fronta_buffer_t *out,
                         fronta_kernel_t *kd, fronta_future_t **done)
{
    fronta_future_t **fs = fronta__mem_calloc(&rt->alloc, n, sizeof *fs);
    size_t *len = fs ? fronta__mem_calloc(&rt->alloc, n, sizeof *len) : NULL;
    fronta__gate gate = {NULL, NULL};
    int rc = len ? fronta__chunkops_gate_close(rt, &gate)
                 : fronta__fail(FRONTA_ENOMEM, "concat: out of memory");
    for (size_t i = 0; !rc && i < n; i++)
        len[i] = bufs[i]->count;
    fronta_partition_t how = {.size = sizeof how, .lengths = len, .nlengths = n};
    int parted = 0;
    if (!rc && (rc = fronta_buffer_partition(out, &how)))
        rc = fronta__chunkops_fail(rc, "concat: out");
    else if (!rc)
        parted = 1;
    fronta_task_desc_t d = {.size = sizeof d, .kernel = copy, .nargs = 2, .name = "concat",
                            .after = &gate.f, .nafter = gate.f != NULL};
    for (size_t i = 0; !rc && i < n; i++) {
        d.args[0] = FRONTA_IN(bufs[i]);
        d.args[1] = FRONTA_OUT(fronta_buffer_chunk(out, i));
        fronta__chunkops_clear();
        if ((rc = fronta__ktask_check(rt, &d)))
            rc = fronta__chunkops_fail(rc, "concat: a piece");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        d.args[0] = FRONTA_IN(bufs[i]);
        d.args[1] = FRONTA_OUT(fronta_buffer_chunk(out, i));
        if ((rc = fronta_submit(rt, &d, &fs[i])))
            rc = fronta__fail(rc, "concat: piece %zu of %zu: %s", i, n, fronta_strerror(rc));
    }
    if (parted) {
        int urc = fronta_buffer_unpartition(out);
        rc = rc ? rc : urc;
    }
    fronta_arg_t arg = FRONTA_IN(out);
    if (!rc && done &&
        (rc = fronta__ktask_submit_internal(rt, kd, &arg, 1, NULL, 0, NULL, NULL, 1, done)))
        rc = fronta__fail(rc, "concat: out of memory for the done future");
    for (size_t i = 0; rc && fs && i < n; i++)
        if (fs[i])
            (void)fronta_future_cancel(fs[i]);
    fronta__chunkops_gate_open(&gate);
    for (size_t i = 0; fs && i < n; i++)
        if (fs[i])
            fronta_future_release(fs[i]);
    if (len)
        fronta__mem_free(&rt->alloc, len, n * sizeof *len);
    if (fs)
        fronta__mem_free(&rt->alloc, fs, n * sizeof *fs);
    return rc;
}

int fronta_concat(fronta_runtime_t *rt, fronta_buffer_t *const *bufs, size_t n,
                  fronta_buffer_t *out, fronta_future_t **done)
{
    if (done)
        *done = NULL;
    if (!rt)
        return fronta__fail(FRONTA_EINVAL, "concat: NULL runtime");
    int rc = concat_check(rt, bufs, n, out);
    if (rc)
        return rc;
    fronta_kernel_t *copy = fronta_kernel_builtin(rt, "copy");
    fronta_kernel_t *kd = fronta__kernel_internal(rt, "fronta.concat", concat_done_run);
    if (!copy || !kd)
        return fronta__fail(FRONTA_ENOMEM, "concat: out of memory");
    if (n == 1) {
        fronta_task_desc_t d = {.size = sizeof d, .kernel = copy, .nargs = 2, .name = "concat",
                                .args = {FRONTA_IN(bufs[0]), FRONTA_OUT(out)}};
        fronta__chunkops_clear();
        rc = fronta_submit(rt, &d, done);
        return rc ? fronta__chunkops_fail(rc, "concat") : 0;
    }
    return concat_pieces(rt, copy, bufs, n, out, kd, done);
}
