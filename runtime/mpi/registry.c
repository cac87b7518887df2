/* Distributed buffers: the table from a rank's buffer to its logical
 * array's state, registration, owners of chunks (block, cyclic, 2-D
 * block-cyclic), partition and unpartition across ranks. */
#include "mpi/mpi_internal.h"

#include <stdlib.h>
#include <string.h>

/* A removed entry: probing goes on past it. */
#define TOMB ((fronta__mpi_buf *)(uintptr_t)1)

static size_t slot_of(const fronta_mpi_t *m, const fronta_buffer_t *b)
{
    uint64_t h = (uint64_t)(uintptr_t)b * 0x9e3779b97f4a7c15ull; /* Fibonacci hashing */
    return (size_t)(h >> 17) & (m->table_cap - 1);
}

fronta__mpi_buf *fronta__mpi_find(const fronta_mpi_t *m, const fronta_buffer_t *b)
{
    if (!m->table_cap || !b)
        return NULL;
    for (size_t i = slot_of(m, b);; i = (i + 1) & (m->table_cap - 1)) {
        fronta__mpi_buf *d = m->table[i];
        if (!d)
            return NULL;
        if (d != TOMB && d->b == b)
            return d;
    }
}

static void insert(fronta_mpi_t *m, fronta__mpi_buf *d)
{
    size_t i = slot_of(m, d->b);
    while (m->table[i] && m->table[i] != TOMB)
        i = (i + 1) & (m->table_cap - 1);
    if (m->table[i] == TOMB)
        m->table_dead--;
    m->table[i] = d;
    m->table_used++;
}

/* Keep the load (live + removed) under a half: probes stay short. */
static int reserve(fronta_mpi_t *m)
{
    if ((m->table_used + m->table_dead + 1) * 2 <= m->table_cap)
        return 0;
    size_t cap = m->table_cap ? m->table_cap : 64;
    while ((m->table_used + 1) * 2 > cap / 2)
        cap *= 2;
    fronta__mpi_buf **old = m->table;
    size_t old_cap = m->table_cap;
    m->table = calloc(cap, sizeof *m->table);
    if (!m->table) {
        m->table = old;
        return FRONTA_ENOMEM;
    }
    m->table_cap = cap;
    m->table_used = m->table_dead = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] && old[i] != TOMB)
            insert(m, old[i]);
    free(old);
    return 0;
}

fronta__mpi_buf *fronta__mpi_add(fronta_mpi_t *m, fronta_buffer_t *b, int owner)
{
    if (reserve(m))
        return NULL;
    fronta__mpi_buf *d = calloc(1, sizeof *d);
    uint64_t *have = calloc((size_t)m->size, sizeof *have);
    if (!d || !have) {
        free(d);
        free(have);
        return NULL;
    }
    for (int r = 0; r < m->size; r++)
        have[r] = FRONTA__MPI_NONE;
    have[owner] = 0; /* version 0: the owner's contents at registration */
    d->b = b;
    d->owner = d->writer = owner;
    d->have = have;
    d->bytes = fronta_buffer_count(b) * fronta_dtype_size(fronta_buffer_dtype(b));
    insert(m, d);
    return d;
}

static void buf_free(fronta__mpi_buf *d)
{
    free(d->have);
    free(d);
}

void fronta__mpi_remove(fronta_mpi_t *m, fronta__mpi_buf *d)
{
    for (size_t i = slot_of(m, d->b);; i = (i + 1) & (m->table_cap - 1))
        if (m->table[i] == d) {
            m->table[i] = TOMB;
            m->table_used--;
            m->table_dead++;
            break;
        }
    buf_free(d);
}

void fronta__mpi_table_free(fronta_mpi_t *m)
{
    for (size_t i = 0; i < m->table_cap; i++)
        if (m->table[i] && m->table[i] != TOMB)
            buf_free(m->table[i]);
    free(m->table);
    m->table = NULL;
    m->table_cap = m->table_used = m->table_dead = 0;
}

/* ---- registration ---- */

int fronta_mpi_buffer_register(fronta_mpi_t *m, fronta_buffer_t *b, int owner)
{
    fronta_chunk_info_t ci = {.size = sizeof ci};
    if (!fronta__mpi_valid(m) || !fronta_buffer_count(b))
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_register: no fronta_mpi_t "
                                "or no buffer");
    if (owner < 0 || owner >= m->size)
        return fronta__mpi_fail(FRONTA_ERANGE, "fronta_mpi_buffer_register: owner %d is not a "
                                "rank of a communicator of %d", owner, m->size);
    if (fronta_buffer_chunk_info(b, &ci) == 0 || fronta_buffer_nchunks(b))
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_register: a chunk or a "
                                "partitioned buffer: register the whole buffer, then "
                                "partition it with fronta_mpi_buffer_partition");
    pthread_mutex_lock(&m->lock);
    int rc = 0;
    if (fronta__mpi_find(m, b))
        rc = fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_register: registered already");
    else if (!fronta__mpi_add(m, b, owner))
        rc = fronta__mpi_fail(FRONTA_ENOMEM, "fronta_mpi_buffer_register: out of memory");
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static void remove_chunks(fronta_mpi_t *m, fronta_buffer_t *b)
{
    size_t n = fronta_buffer_nchunks(b);
    for (size_t i = 0; i < n; i++) {
        fronta__mpi_buf *c = fronta__mpi_find(m, fronta_buffer_chunk(b, i));
        if (c)
            fronta__mpi_remove(m, c);
    }
}

int fronta_mpi_buffer_unregister(fronta_mpi_t *m, fronta_buffer_t *b)
{
    if (!fronta__mpi_valid(m))
        return FRONTA_EINVAL;
    pthread_mutex_lock(&m->lock);
    fronta__mpi_buf *d = fronta__mpi_find(m, b);
    int rc = d && !d->parent ? 0 : FRONTA_EINVAL;
    if (!rc) {
        remove_chunks(m, b);
        fronta__mpi_remove(m, d);
    }
    pthread_mutex_unlock(&m->lock);
    return rc ? fronta__mpi_fail(rc, "fronta_mpi_buffer_unregister: not a registered whole "
                                 "buffer") : 0;
}

int fronta_mpi_buffer_owner(fronta_mpi_t *m, const fronta_buffer_t *b)
{
    if (!fronta__mpi_valid(m))
        return -1;
    pthread_mutex_lock(&m->lock);
    const fronta__mpi_buf *d = fronta__mpi_find(m, b);
    int owner = d ? d->owner : -1;
    pthread_mutex_unlock(&m->lock);
    return owner;
}

/* ---- distributions ---- */

/* The most square grid rows x cols == size, rows <= cols. */
static void square_grid(int size, int *rows, int *cols)
{
    int r = 1;
    for (int i = 1; i * i <= size; i++)
        if (size % i == 0)
            r = i;
    *rows = r;
    *cols = size / r;
}

/* Read and check dist before anything is partitioned. tile_cols: tiles
 * per row of a tiled partition, 0 for a 1-D one. */
static int dist_read(const fronta_mpi_t *m, const fronta_mpi_dist_t *in, size_t tiles_per_row,
                     fronta_mpi_dist_t *d)
{
    memset(d, 0, sizeof *d);
    if (in) {
        size_t n = in->size && in->size < sizeof *d ? in->size : sizeof *d;
        memcpy(d, in, n);
    }
    if (d->kind < FRONTA_MPI_DIST_OWNER || d->kind > FRONTA_MPI_DIST_BLOCK_CYCLIC_2D)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_partition: unknown "
                                "distribution %d", (int)d->kind);
    if (d->kind != FRONTA_MPI_DIST_BLOCK_CYCLIC_2D)
        return 0;
    if (!tiles_per_row)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_partition: a 2-D "
                                "block-cyclic distribution needs a tiled partition "
                                "(rows, cols, tile_rows, tile_cols)");
    if (!d->grid_rows && !d->grid_cols)
        square_grid(m->size, &d->grid_rows, &d->grid_cols);
    if (d->grid_rows < 1 || d->grid_cols < 1)
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_partition: a process grid "
                                "of %d x %d", d->grid_rows, d->grid_cols);
    if ((long long)d->grid_rows * d->grid_cols > m->size)
        return fronta__mpi_fail(FRONTA_ERANGE, "fronta_mpi_buffer_partition: a %d x %d "
                                "process grid over %d ranks", d->grid_rows, d->grid_cols,
                                m->size);
    return 0;
}

static int chunk_owner(const fronta_mpi_dist_t *d, int size, int parent_owner, size_t i,
                       size_t n, size_t tiles_per_row)
{
    switch (d->kind) {
    case FRONTA_MPI_DIST_BLOCK:
        return (int)((unsigned long long)i * (unsigned)size / n);
    case FRONTA_MPI_DIST_CYCLIC:
        return (int)(i % (size_t)size);
    case FRONTA_MPI_DIST_BLOCK_CYCLIC_2D: {
        size_t tr = i / tiles_per_row, tc = i % tiles_per_row;
        return (int)(tr % (size_t)d->grid_rows) * d->grid_cols + (int)(tc % (size_t)d->grid_cols);
    }
    default:
        return parent_owner;
    }
}

/* Chunk c starts as a view of the parent's latest version: where that
 * was, the chunk's version 0 is. */
static int add_chunks(fronta_mpi_t *m, fronta__mpi_buf *p, const fronta_mpi_dist_t *dist,
                      size_t tiles_per_row)
{
    size_t n = fronta_buffer_nchunks(p->b);
    for (size_t i = 0; i < n; i++) {
        int owner = chunk_owner(dist, m->size, p->owner, i, n, tiles_per_row);
        fronta__mpi_buf *c = fronta__mpi_add(m, fronta_buffer_chunk(p->b, i), owner);
        if (!c) {
            remove_chunks(m, p->b);
            return fronta__mpi_fail(FRONTA_ENOMEM, "fronta_mpi_buffer_partition: out of "
                                    "memory");
        }
        c->parent = p;
        c->writer = p->writer;
        for (int r = 0; r < m->size; r++)
            c->have[r] = p->have[r] == p->version ? 0 : FRONTA__MPI_NONE;
    }
    return 0;
}

int fronta_mpi_buffer_partition(fronta_mpi_t *m, fronta_buffer_t *b,
                                const fronta_partition_t *how, const fronta_mpi_dist_t *dist)
{
    if (!fronta__mpi_valid(m))
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_partition: no fronta_mpi_t");
    size_t tpr = how && how->tile_rows && how->tile_cols
                     ? (how->cols + how->tile_cols - 1) / how->tile_cols : 0;
    fronta_mpi_dist_t d;
    pthread_mutex_lock(&m->lock);
    fronta__mpi_buf *p = fronta__mpi_find(m, b);
    int rc = p && !p->parent ? dist_read(m, dist, tpr, &d)
                             : fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_partition: "
                                                "not a registered whole buffer");
    if (!rc)
        rc = fronta_buffer_partition(b, how);
    if (!rc && (rc = add_chunks(m, p, &d, tpr)))
        fronta_buffer_unpartition(b); /* out of memory: b whole again, as before */
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* After the chunks came home: b's latest version is on every rank that
 * holds every chunk's. */
static void whole_again(fronta_mpi_t *m, fronta__mpi_buf *p)
{
    size_t n = fronta_buffer_nchunks(p->b);
    p->version++;
    p->writer = p->owner;
    for (int r = 0; r < m->size; r++) {
        int all = 1;
        for (size_t i = 0; i < n && all; i++) {
            const fronta__mpi_buf *c = fronta__mpi_find(m, fronta_buffer_chunk(p->b, i));
            all = c && c->have[r] == c->version;
        }
        p->have[r] = all ? p->version : FRONTA__MPI_NONE;
    }
}

int fronta_mpi_buffer_unpartition(fronta_mpi_t *m, fronta_buffer_t *b)
{
    if (!fronta__mpi_valid(m))
        return fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_unpartition: no fronta_mpi_t");
    pthread_mutex_lock(&m->lock);
    fronta__mpi_buf *p = fronta__mpi_find(m, b);
    size_t n = p && !p->parent ? fronta_buffer_nchunks(b) : 0;
    int rc = n ? 0 : fronta__mpi_fail(FRONTA_EINVAL, "fronta_mpi_buffer_unpartition: not a "
                                      "registered, partitioned buffer");
    for (size_t i = 0; i < n && !rc; i++) {
        fronta__mpi_buf *c = fronta__mpi_find(m, fronta_buffer_chunk(b, i));
        rc = c ? fronta__mpi_bring(m, c, p->owner) : FRONTA_EINVAL;
    }
    if (!rc) {
        whole_again(m, p);
        remove_chunks(m, b);
        rc = fronta_buffer_unpartition(b);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}
