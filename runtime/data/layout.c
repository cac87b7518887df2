/* Layouts of a partition: how a buffer is cut (the ways of
 * fronta_partition_t, the automatic guided rule), and where chunk i
 * sits. */
#include "data/layout.h"
#include "sched/resource.h"

#include <stdint.h>
#include <string.h>

/* The automatic chunking (docs/arrays.md), guided: chunk k takes a
 * 1 / (2 W) share of what is left (W: the pool's threads plus the
 * devices), so the first chunks are large and the last small, and
 * workers that pull chunks as they finish end together. Never below
 * AUTO_MIN elements (with 4-byte elements 256 KiB: ~25 us of memory
 * traffic at 10 GB/s, 25x the cost of a kernel task on the pool; the
 * last chunk takes up to twice that rather than leave a crumb), never
 * above 1/8 of the smallest device's memory (or its memory limit) at 8
 * bytes an element (room for a few chunks in flight). Counts only, never
 * bytes: buffers of different types partitioned automatically zip. */
#define AUTO_MIN ((size_t)64 << 10)
/* Chunk lengths (but the last) are multiples of this: an OpenCL driver
 * picks its work-group from the global size, and PoCL picks tiny ones for
 * sizes with small factors (a guided 11184810 ran scale 3x slower than
 * 64 equal chunks; rounded to 4096, 1.2x). Also keeps chunks of pages. */
#define AUTO_ALIGN ((size_t)4096)
#define AUTO_DEVMEM_SHARE 8
#define AUTO_MAX_CHUNKS 4096


static size_t auto_max(const fronta_runtime_t *rt)
{
    size_t most = SIZE_MAX;
    for (int d = 1; d < rt->ndevices; d++) {
        fronta_device_info_t info = {.size = sizeof info};
        if (fronta_device_info(rt, d, &info) || !info.global_mem)
            continue;
        uint64_t mem = info.global_mem, cap = fronta__res_mem_limit(rt->res, d);
        if (cap && cap < mem) /* FRONTA_DEVICE_MEM_LIMIT: what it may hold */
            mem = cap;
        size_t share = (size_t)(mem / AUTO_DEVMEM_SHARE / 8);
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

static int layout_lengths(const fronta_buffer_t *b, const fronta_partition_t *p, fronta__layout *L)
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

static int layout_tiles(const fronta_buffer_t *b, const fronta_partition_t *p, fronta__layout *L)
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

int fronta__layout_of(const fronta_buffer_t *b, const fronta_partition_t *p, fronta__layout *L)
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
void fronta__layout_place(const fronta__layout *L, size_t i, size_t total, fronta_buffer_t *c)
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

void fronta__layout_fini(const fronta_buffer_t *b, fronta__layout *L)
{
    if (L->auto_lengths)
        fronta__mem_free(&b->rt->alloc, L->auto_lengths,
                         AUTO_MAX_CHUNKS * sizeof *L->auto_lengths);
    L->auto_lengths = NULL;
}
