/* chunkops.h — what reductions (data/reduce.c), compaction and concatenation (data/compact.c) across chunks share. */
#ifndef FRONTA_DATA_CHUNKOPS_H
#define FRONTA_DATA_CHUNKOPS_H

#include "core/kernel.h"

/* 0 when b is a buffer of rt; else FRONTA_EINVAL with a message naming
 * `what` (fronta_last_error). */
int fronta__chunkops_buffer(fronta_runtime_t *rt, const fronta_buffer_t *b, const char *what);

/* Fail with code rc, the message `what: ` and what the failed step said
 * (fronta_last_error), or rc's text when it said nothing since
 * fronta__chunkops_clear. */
int fronta__chunkops_fail(int rc, const char *what);
void fronta__chunkops_clear(void);

/* b's chunk count, 0 when whole; FRONTA_EPARTITION (through *rc) when b
 * is a retired chunk or is being freed. */
size_t fronta__chunkops_chunks(const fronta_buffer_t *b, const char *what, int *rc);

/* An internal buffer of count elements of t, cut as `how` says (NULL:
 * whole). Fails with nothing left behind. */
int fronta__chunkops_temp(fronta_runtime_t *rt, size_t count, fronta_dtype_t t,
                          const fronta_partition_t *how, fronta_buffer_t **out);

/* Let go of an internal buffer: unpartitioned if it still is, freed once
 * the tasks submitted on it so far are done. */
void fronta__chunkops_drop(fronta_buffer_t *b);

/* A gate: tasks submitted with f among their `after` futures wait until
 * it opens (f NULL: no gate could be had, on a thread that may not hold
 * a buffer access; nothing waits). */
typedef struct fronta__gate {
    fronta_buffer_t *d;
    fronta_future_t *f;
} fronta__gate;
int fronta__chunkops_gate_close(fronta_runtime_t *rt, fronta__gate *g);
void fronta__chunkops_gate_open(fronta__gate *g);

/* The last step of a reduction: one pool task that folds the partials
 * (parts, of the op's partial type: x's type for SUM, MIN, MAX; int64
 * counts for COUNT, AND, OR) in a fixed pairwise tree in index order,
 * writes the value to result (a one-element buffer of the op's type, or
 * NULL) and returns it as its future's result. n: the count of the
 * reduced array (AND compares the count of set elements with it). *out
 * (may be NULL) is the task's future. */
int fronta__reduce_finish(fronta_runtime_t *rt, fronta_buffer_t *parts, fronta_reduce_op_t op,
                          fronta_dtype_t xtype, size_t n, fronta_buffer_t *result,
                          fronta_future_t **out);

#endif /* FRONTA_DATA_CHUNKOPS_H */
