/* Layouts of a partition (data/layout.c): how a buffer is cut, and where
 * each chunk sits. */
#ifndef FRONTA_DATA_LAYOUT_H
#define FRONTA_DATA_LAYOUT_H

#include "core/kernel.h"

typedef struct fronta__layout {
    size_t n;
    int tiled;
    size_t q, r;                      /* balanced: n chunks of q, the first r one longer */
    size_t len;                       /* fixed length (the last shorter); 0 otherwise */
    const size_t *lengths;            /* explicit, or automatic */
    size_t *auto_lengths;             /* owned: the automatic ones */
    size_t rows, cols, tr, tc, ntc;   /* tiles */
} fronta__layout;

/* The layout p asks for b (with fronta_last_error's message on failure:
 * FRONTA_EINVAL, FRONTA_ERANGE, FRONTA_ENOMEM); fini frees what it holds. */
int fronta__layout_of(const fronta_buffer_t *b, const fronta_partition_t *p, fronta__layout *L);
void fronta__layout_fini(const fronta_buffer_t *b, fronta__layout *L);
/* Chunk i's index, offset, count and shape (of a parent of total elements). */
void fronta__layout_place(const fronta__layout *L, size_t i, size_t total, fronta_buffer_t *c);

#endif
