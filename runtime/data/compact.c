/* Compaction across chunks: fronta_compact, numpy's out = x[mask]. */
#include "data/chunkops.h"
#include "util/cpu.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

/* ---- compaction ----
 *
 * Every access to the user's buffers is registered at the call, so that
 * tasks submitted later on x, mask or out order after it (a step
 * submitted later, from inside a task once the counts are known, would
 * let a later write to x overtake its reads). Partitioned x and mask:
 *   count_i (IN x_i, IN mask_i)  pool tasks: chunk i's kept elements
 *                                counted per piece and, when they are
 *                                few, copied to a staging block;
 *   gather (OUT out, after every count_i)  one pool task: the counts'
 *                                scan, then each piece's kept elements
 *                                into out (from its staging block, else
 *                                from the chunk's host array); the rest
 *                                of out left as it was (zeroing it cost
 *                                as much as the compaction itself); its
 *                                result is *kept;
 *   hold_i (IN x_i, IN mask_i, after the gather)  no-op pool tasks that
 *                                keep later writers of the chunks waiting
 *                                until the gather has read them.
 * count_i becomes ready when the task that wrote mask_i completes, and
 * runs next on that worker, beside the kernels of the other chunks: the
 * mask is read once more in all (twice when one task after them all
 * counted and then scattered, 15% of the fused demo at 2^26), and the
 * gather copies about one element in 105.
 * So out is written by one task, which never starts when an input failed
 * (out then keeps its contents), and staging that finds no memory only
 * leaves the copying to the gather; the price is that the work stays on
 * the pool (a chunk on a device is brought to the host). Whole x and
 * mask: the bundled compact, on any device. */

/* Elements per piece of the counts and copies: enough to dwarf taking a
 * piece, fine enough that one large chunk still spreads. */
#define PIECE ((size_t)1 << 16)

typedef struct piece {
    const char *x;                    /* its first element, in its chunk's host array */
    const uint8_t *m;
    size_t len, off;                  /* elements; its kept count, after the scan its
                                         first kept element's place in out */
    char *stage;                      /* its kept elements (off of them, before the
                                         scan), staged by count_i, or NULL */
    size_t stage_bytes;
    int counted;                      /* off (and stage) set already, by the kernel
                                         writing the mask (fusion, below) */
} piece_t;

struct gather_rec;

/* count_i's part: its chunk's pieces, and its consumer of the pieces of
 * the kernel writing the chunk's mask. */
typedef struct chunk_job {
    fronta__piece_hook hook;          /* first: a hook is its job */
    struct gather_rec *g;
    size_t p0, np;
} chunk_job;

/* The plan, fixed at the call: the chunks' count tasks (k, then the
 * call's gate: a reference each, the gather's), the pieces and jobs. The
 * gather and every count task hold a reference to it. */
typedef struct gather_rec {
    atomic_size_t refs;
    fronta_runtime_t *rt;
    size_t k, np, es, bytes;
    fronta_future_t **fetch;
    piece_t *pieces;
    chunk_job *jobs;
    size_t ny, kept;                  /* at run time */
    char *y;
    unsigned char cells[];
} gather_rec;

static void rec_unref(gather_rec *g)
{
    if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < g->np; i++)
        if (g->pieces[i].stage)
            fronta__mem_free(&g->rt->alloc, g->pieces[i].stage, g->pieces[i].stage_bytes);
    fronta__mem_free(&g->rt->alloc, g, g->bytes);
}

/* The gather's reference, and the futures it waits for (a count task is
 * freed, dropping its own reference, only once they are released). */
static void gather_free(fronta_runtime_t *rt, void *priv)
{
    gather_rec *g = priv;
    (void)rt;
    for (size_t i = 0; i <= g->k; i++)
        if (g->fetch[i])
            fronta_future_release(g->fetch[i]);
    rec_unref(g);
}

static void job_free(fronta_runtime_t *rt, void *priv)
{
    (void)rt;
    rec_unref(((chunk_job *)priv)->g);
}

/* The mask 16 bytes at a time: with SSE2 (x86-64's baseline) a compare
 * and a movemask, or a compare, an and and an add per 16 for the count,
 * so that a pass over a chunk's mask costs about 0.03 ns an element
 * instead of the 0.1-0.3 of byte loops. Bit j of nz16: m[j] != 0. */
#if defined(__x86_64__)
static unsigned nz16(const uint8_t *m)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)m);
    return ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) & 0xffffu;
}

/* Bytes of 0/1 summed in 16 lanes for up to 255 rounds, then added up. */
static size_t count_nz(const uint8_t *m, size_t len)
{
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi8(1);
    size_t c = 0, i = 0;
    while (len - i >= 16) {
        size_t rounds = (len - i) / 16 < 255 ? (len - i) / 16 : 255;
        __m128i acc = zero;
        for (size_t r = 0; r < rounds; r++, i += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(m + i));
            acc = _mm_add_epi8(acc, _mm_andnot_si128(_mm_cmpeq_epi8(v, zero), one));
        }
        __m128i sum = _mm_sad_epu8(acc, zero);
        c += (size_t)_mm_cvtsi128_si64(sum) +
             (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
    }
    for (; i < len; i++)
        c += m[i] != 0;
    return c;
}
#else
static unsigned nz16(const uint8_t *m)
{
    unsigned b = 0;
    for (unsigned j = 0; j < 16; j++)
        b |= (unsigned)(m[j] != 0) << j;
    return b;
}

static size_t count_nz(const uint8_t *m, size_t len)
{
    size_t c = 0;
    for (size_t i = 0; i < len; i++)
        c += m[i] != 0;
    return c;
}
#endif

/* How far ahead the sparse loop prefetches x: about 20 kept elements at
 * one in 105, so that many cache misses overlap (0.42 -> 0.2 ns an
 * element on a cold chunk, which is then about the mask's own read). */
#define AHEAD ((size_t)2048)

/* Kept elements of a piece at y[pos .. end).
 * Dense: branch-free, each element written at pos, which passes the kept
 * ones only (the loop stops before a write at end). Sparse (under one in
 * 8 kept): 16 mask bytes at a time, reading only the kept elements of x. */
#define DEF_SCATTER(S, T)                                                      \
    static void scatter_##S(const piece_t *p, char *yv, size_t pos, size_t end, \
                            int sparse, int hot)                               \
    {                                                                          \
        const T *x = (const T *)(const void *)p->x;                            \
        T *y = (T *)(void *)yv;                                                \
        size_t i = 0;                                                          \
        for (; sparse && i + 16 <= p->len && pos < end; i += 16) {             \
            if (!hot && i + AHEAD + 16 <= p->len) {                            \
                unsigned f = nz16(p->m + i + AHEAD);                           \
                if (f)                                                         \
                    __builtin_prefetch(x + i + AHEAD + (size_t)__builtin_ctz(f)); \
            }                                                                  \
            for (unsigned b = nz16(p->m + i); b && pos < end; b &= b - 1)      \
                y[pos++] = x[i + (size_t)__builtin_ctz(b)];                    \
        }                                                                      \
        for (; sparse && i < p->len && pos < end; i++)                         \
            if (p->m[i])                                                       \
                y[pos++] = x[i];                                               \
        for (; !sparse && i < p->len && pos < end; i++) {                      \
            y[pos] = x[i];                                                     \
            pos += p->m[i] != 0;                                               \
        }                                                                      \
    }
DEF_SCATTER(1, uint8_t)
DEF_SCATTER(4, uint32_t)
DEF_SCATTER(8, uint64_t)

/* The sparse copy of a piece in this core's cache (fusion), with AVX2:
 * 32 mask bytes a step and no prefetch, which halves the steps of the
 * loop above, its cost when nothing waits for memory (the fused demo's
 * compaction went from about 0.3 to 0.1 ns an element).
 * FRONTA_KERNELS_PORTABLE=1 takes the baseline loop (util/cpu.h). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HOT_AVX2 1
#include <immintrin.h>

__attribute__((target("avx2"))) static inline uint32_t nz32(const uint8_t *m)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)m);
    return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256()));
}

#define DEF_HOT(S, T)                                                          \
    __attribute__((target("avx2"))) static void hot_##S(const piece_t *p, char *yv, \
                                                        size_t end)            \
    {                                                                          \
        const T *x = (const T *)(const void *)p->x;                            \
        T *y = (T *)(void *)yv;                                                \
        size_t i = 0, pos = 0;                                                 \
        for (; i + 32 <= p->len && pos < end; i += 32)                         \
            for (uint32_t b = nz32(p->m + i); b && pos < end; b &= b - 1)      \
                y[pos++] = x[i + (size_t)__builtin_ctz(b)];                    \
        for (; i < p->len && pos < end; i++)                                   \
            if (p->m[i])                                                       \
                y[pos++] = x[i];                                               \
    }
DEF_HOT(1, uint8_t)
DEF_HOT(4, uint32_t)
DEF_HOT(8, uint64_t)

#endif

/* hot: x and the mask are in this core's cache (fusion): no prefetch. */
static void scatter(size_t es, const piece_t *p, char *y, size_t pos, size_t end, int sparse,
                    int hot)
{
#ifdef HOT_AVX2
    if (hot && sparse && !pos && fronta__cpu_avx2(0)) {
        if (es == 1)
            hot_1(p, y, end);
        else if (es == 4)
            hot_4(p, y, end);
        else
            hot_8(p, y, end);
        return;
    }
#endif
    if (es == 1)
        scatter_1(p, y, pos, end, sparse, hot);
    else if (es == 4)
        scatter_4(p, y, pos, end, sparse, hot);
    else
        scatter_8(p, y, pos, end, sparse, hot);
}

/* Count the piece's mask (a pass at memory speed, without branches);
 * when it keeps at most one element in 8 (past that the gather's dense
 * copy from x is as cheap), copy the kept elements aside in a second pass,
 * over the 64 KiB of mask the first one just brought into the core's
 * cache. The copy's block is the piece's own and exactly its size: one
 * taken for a whole chunk (1 MiB, beyond malloc's mmap threshold) cost a
 * fresh mapping, its page faults and an unmap per chunk, which doubled
 * the pass. No memory: the gather copies the piece from x. */
static void stage_piece(chunk_job *j, size_t i, int hot)
{
    gather_rec *g = j->g;
    piece_t *p = &g->pieces[j->p0 + i];
    if (p->counted)
        return;
    size_t c = count_nz(p->m, p->len);
    p->off = c; /* its count, until the scan */
    if (!c || c > p->len / 8)
        return;
    if ((p->stage = fronta__mem_alloc(&g->rt->alloc, c * g->es))) {
        p->stage_bytes = c * g->es;
        scatter(g->es, p, p->stage, 0, c, 1, hot);
    }
}

static void count_piece(void *ud, size_t i)
{
    stage_piece(ud, i, 0);
}

/* ---- fusion with the kernel that writes the mask ----
 *
 * When chunk i's mask is written by an elementwise kernel (FRONTA_KERNEL_
 * ELEMENTWISE) that also takes x_i, not started yet, the count's pieces
 * are its consumer (core/kernel.h): the pool runs the kernel 64 Ki
 * elements at a time and counts and stages each piece right after it,
 * while that piece's mask and x are still in the core's cache. Run so,
 * count_i finds its pieces counted and has nothing left to do: the pass
 * that read the mask and x again at memory speed (a tenth of the fused
 * demo's time at 2^26) is gone. On a device, or attached too late, the
 * kernel runs whole and count_i counts as before. */
static void hook_done(fronta__piece_hook *h, size_t index, size_t lo, size_t len)
{
    chunk_job *j = (chunk_job *)(void *)h;
    (void)lo, (void)len;
    if (index < j->np) {
        stage_piece(j, index, 1);
        j->g->pieces[j->p0 + index].counted = 1;
    }
}

/* A piece failed: the kernel is retried or the task fails, either way
 * what was counted may be stale. */
static void hook_undo(fronta__piece_hook *h)
{
    chunk_job *j = (chunk_job *)(void *)h;
    for (size_t i = 0; i < j->np; i++) {
        piece_t *p = &j->g->pieces[j->p0 + i];
        if (p->stage)
            fronta__mem_free(&j->g->rt->alloc, p->stage, p->stage_bytes);
        p->stage = NULL;
        p->counted = 0;
    }
}

static void hook_release(fronta__piece_hook *h)
{
    rec_unref(((chunk_job *)(void *)h)->g);
}

/* Chunk i's pieces offered to its mask's writer; a reference to g for it
 * when taken. */
static void offer_pieces(gather_rec *g, fronta_buffer_t *xi, fronta_buffer_t *mi, size_t i)
{
    chunk_job *j = &g->jobs[i];
    j->hook = (fronta__piece_hook){.piece = PIECE, .done = hook_done, .undo = hook_undo,
                                   .release = hook_release};
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    pthread_mutex_lock(&mi->lock);
    int taken = fronta__ktask_hook(mi->last_writer, xi, mi, &j->hook);
    pthread_mutex_unlock(&mi->lock);
    if (!taken)
        rec_unref(g);
}

static int parallel(fronta_ctx_t *ctx, size_t n, void (*body)(void *, size_t), void *ud)
{
    if (n == 1)
        body(ud, 0);
    return n > 1 ? fronta_ctx_parallel(ctx, n, body, ud) : 0;
}

/* count_i. Staging that finds no memory only leaves the copying to the
 * gather. A chunk of at most 64 pieces stays on this thread: the other
 * workers are usually running the chunks' kernels, and a helper task that
 * waits for one costs more than the chunk's pass. */
static int count_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)a, (void)na, (void)n;
    chunk_job *j = fronta__ktask_priv(ctx);
    if (j->np > 64)
        return parallel(ctx, j->np, count_piece, j);
    for (size_t i = 0; i < j->np; i++)
        count_piece(j, i);
    return 0;
}

static void gather_piece(void *ud, size_t i)
{
    gather_rec *g = ud;
    const piece_t *p = &g->pieces[i];
    size_t next = i + 1 < g->np ? g->pieces[i + 1].off : g->kept;
    size_t end = next < g->ny ? next : g->ny;
    if (p->off >= end)
        return;
    if (p->stage)
        memcpy(g->y + p->off * g->es, p->stage, (end - p->off) * g->es);
    else
        scatter(g->es, p, g->y, p->off, end, (next - p->off) * 8 < p->len, 0);
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
    size_t s = 0;
    for (size_t i = 0; i < g->np; i++) {
        size_t c = g->pieces[i].off;
        g->pieces[i].off = s;
        s += c;
    }
    g->kept = s;
    int rc = parallel(ctx, g->np, gather_piece, g);
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
        !fronta__size_array(sz, np, sizeof(piece_t), &sz) &&
        !fronta__size_array(sz, k, sizeof(chunk_job), &sz))
        g = fronta__mem_calloc(&rt->alloc, 1, sz);
    if (!g)
        return fronta__fail(FRONTA_ENOMEM, "compact: out of memory");
    *g = (gather_rec){.rt = rt, .k = k, .np = np, .es = es, .bytes = sz};
    atomic_init(&g->refs, 1); /* the gather's */
    g->fetch = (fronta_future_t **)(void *)g->cells;
    g->pieces = (piece_t *)(void *)(g->fetch + k + 1);
    g->jobs = (chunk_job *)(void *)(g->pieces + np);
    for (size_t i = 0, p = 0; i < k; i++) {
        g->jobs[i] = (chunk_job){.g = g, .p0 = p};
        for (size_t lo = 0; lo < xc[i]->count; lo += PIECE, p++, g->jobs[i].np++)
            g->pieces[p] = (piece_t){.x = (const char *)xc[i]->host + lo * es,
                                     .m = (const uint8_t *)xc[k + i]->host + lo,
                                     .len = xc[i]->count - lo < PIECE ? xc[i]->count - lo
                                                                       : PIECE};
    }
    *out = g;
    return 0;
}

/* count_i for every chunk, each with a reference to g. */
static int submit_counts(fronta_runtime_t *rt, fronta_kernel_t *kc, fronta_buffer_t **xc,
                         gather_rec *g)
{
    for (size_t i = 0; i < g->k; i++) {
        fronta_arg_t args[] = {FRONTA_IN(xc[i]), FRONTA_IN(xc[g->k + i])};
        offer_pieces(g, xc[i], xc[g->k + i], i);
        atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
        int rc = fronta__ktask_submit_internal(rt, kc, args, 2, NULL, 0, &g->jobs[i], job_free,
                                               1, &g->fetch[i]);
        if (rc) {
            rec_unref(g); /* never submitted: its reference is still ours */
            return rc;
        }
    }
    return 0;
}

/* hold_i, after the gather, for every chunk. */
static int submit_holds(fronta_runtime_t *rt, fronta_kernel_t *kn, fronta_buffer_t **xc,
                        size_t k, fronta_future_t *after)
{
    for (size_t i = 0; i < k; i++) {
        fronta_arg_t args[] = {FRONTA_IN(xc[i]), FRONTA_IN(xc[k + i])};
        int rc = fronta__ktask_submit_internal(rt, kn, args, 2, &after, 1, NULL, NULL, 0, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* The partitioned case: counts, the gather and holds, the gather behind a
 * gate.
 * Out of memory part-way, the gather, still pending, is cancelled: out
 * keeps its contents (its next reader sees the cancelled writer). */
static int compact_chunks(fronta_runtime_t *rt, fronta_buffer_t *x, fronta_buffer_t *mask,
                          fronta_buffer_t *out, size_t k, fronta_future_t **kept)
{
    fronta_kernel_t *kn = fronta__kernel_internal(rt, "fronta.compact_hold", noop_run);
    fronta_kernel_t *kg = fronta__kernel_internal(rt, "fronta.compact", gather_run);
    fronta_kernel_t *kc = fronta__kernel_internal(rt, "fronta.compact_count", count_run);
    fronta_buffer_t **xc = fronta__mem_calloc(&rt->alloc, 2 * k, sizeof *xc);
    gather_rec *g = NULL;
    fronta_future_t *gf = NULL;
    fronta__gate gate = {NULL, NULL};
    int rc = kn && kg && kc && xc ? gather_plan(rt, x, mask, k, xc, &g)
                            : fronta__fail(FRONTA_ENOMEM, "compact: out of memory");
    if (!rc && (rc = fronta__chunkops_gate_close(rt, &gate)))
        rc = fronta__chunkops_fail(rc, "compact");
    if (!rc && (rc = submit_counts(rt, kc, xc, g)))
        rc = fronta__fail(rc, "compact: out of memory for the chunks' tasks");
    if (!rc && (g->fetch[k] = gate.f))
        fronta_future_retain(gate.f);
    fronta_arg_t arg = FRONTA_OUT(out);
    if (!rc && (rc = fronta__ktask_submit_internal(rt, kg, &arg, 1, g->fetch, k + 1, g,
                                                   gather_free, 1, &gf)))
        rc = fronta__fail(rc, "compact: out of memory for the gather");
    else if (!rc)
        g = NULL; /* the gather's */
    if (!rc && (rc = submit_holds(rt, kn, xc, k, gf)))
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
