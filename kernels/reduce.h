/* reduce.h — the reduce group's shared CPU pieces: the chunk plan that fixes a reduction's tree, per-dtype chunk operations, and the OpenCL shape the group's kernels are written for. */
#ifndef FRONTA_KERNELS_REDUCE_H
#define FRONTA_KERNELS_REDUCE_H

#include "kernels.h"

/* ---- OpenCL: every kernel of the group runs 256-item work-groups (the
 * WG its .cl is written for) over at most 128 of them, so a launch's tree
 * depends on n alone. 128 <= 256: one work-group combines the groups'
 * partials with one partial per item, as the .cl files assume. */
#define FRONTA__RED_CL_LOCAL 256
#define FRONTA__RED_CL_GROUPS 128

/* ---- CPU: a launch is cut into chunks whose size depends on n only,
 * never on the pool, and chunk k's partial lands in slot k: the tree, and
 * so the bits, are the same with 1 worker or 16. 64 Ki elements keep a
 * chunk's fronta_ctx_parallel claim negligible; at most 1024 chunks keep
 * the partials on the calling thread's stack (8 KiB). */
#define FRONTA__RED_CHUNK ((size_t)1 << 16)
#define FRONTA__RED_MAX_CHUNKS 1024
/* Independent accumulators per chunk: 16 lanes fill four SSE (two AVX)
 * registers of floats, enough to hide the add latency, and gcc
 * vectorises a loop over them without -ffast-math. */
#define FRONTA__RED_LANES 16

typedef struct fronta__red_plan {
    size_t n;     /* elements */
    size_t size;  /* elements per chunk (the last may hold fewer) */
    size_t count; /* chunks, 1 .. FRONTA__RED_MAX_CHUNKS */
} fronta__red_plan;

static inline fronta__red_plan fronta__red_plan_of(size_t n)
{
    size_t c = n / FRONTA__RED_CHUNK + (n % FRONTA__RED_CHUNK != 0);
    size_t mult = c <= FRONTA__RED_MAX_CHUNKS
                      ? 1
                      : c / FRONTA__RED_MAX_CHUNKS + (c % FRONTA__RED_MAX_CHUNKS != 0);
    fronta__red_plan p = {.n = n, .size = FRONTA__RED_CHUNK * mult};
    p.count = n / p.size + (n % p.size != 0);
    if (!p.count)
        p.count = 1;
    return p;
}

static inline size_t fronta__red_begin(const fronta__red_plan *p, size_t k)
{
    return k * p->size;
}

static inline size_t fronta__red_len(const fronta__red_plan *p, size_t k)
{
    size_t b = k * p->size;
    return b >= p->n ? 0 : (p->n - b < p->size ? p->n - b : p->size);
}

/* Run body(ud, k) for every chunk k, over the pool when there are two or
 * more. */
int fronta__red_run(fronta_ctx_t *ctx, const fronta__red_plan *p,
                    void (*body)(void *ud, size_t k), void *ud);

/* A chunk's partial: the accumulator of its dtype (integers in their
 * unsigned twin, which wraps). */
typedef union fronta__red_part {
    uint32_t u32;
    uint64_t u64;
    float f32;
    double f64;
} fronta__red_part;

/* What the group does per element type (NUMERIC: int32, int64, float,
 * double). */
typedef struct fronta__red_ops {
    size_t esize;
    /* One chunk's sum, dot, min and max (y is read by dot only). */
    fronta__red_part (*sum)(const void *x, const void *y, size_t len);
    fronta__red_part (*dot)(const void *x, const void *y, size_t len);
    fronta__red_part (*min)(const void *x, const void *y, size_t len);
    fronta__red_part (*max)(const void *x, const void *y, size_t len);
    /* a + b, min(a, b), max(a, b) of two partials. */
    fronta__red_part (*add)(fronta__red_part a, fronta__red_part b);
    fronta__red_part (*min2)(fronta__red_part a, fronta__red_part b);
    fronta__red_part (*max2)(fronta__red_part a, fronta__red_part b);
    /* *r = the partial as an element. */
    void (*store)(void *r, fronta__red_part v);
    /* The prefix sums of one chunk starting from off (see scan.c). */
    void (*scan)(const void *x, void *y, size_t len, fronta__red_part off, int exclusive);
    fronta__red_part zero;
} fronta__red_ops;

/* The operations of a NUMERIC dtype, NULL for any other. */
const fronta__red_ops *fronta__red_ops_of(fronta_dtype_t t);

/* Combine parts[0 .. m) in a fixed pairwise tree (depth ceil(log2 m)). */
fronta__red_part fronta__red_tree(fronta__red_part *parts, size_t m,
                                  fronta__red_part (*op)(fronta__red_part, fronta__red_part));

/* Nonzero bytes of m[0 .. len), vectorised. */
uint64_t fronta__red_count_chunk(const uint8_t *m, size_t len);

/* The per-dtype scan of one chunk, defined in scan.c. */
void fronta__scan_chunk_i32(const void *x, void *y, size_t len, fronta__red_part off, int ex);
void fronta__scan_chunk_i64(const void *x, void *y, size_t len, fronta__red_part off, int ex);
void fronta__scan_chunk_f32(const void *x, void *y, size_t len, fronta__red_part off, int ex);
void fronta__scan_chunk_f64(const void *x, void *y, size_t len, fronta__red_part off, int ex);

/* The descriptor hooks every kernel of the group shares. */
size_t fronta__red_scratch_partials(const fronta_karg_t *args, size_t nargs, size_t rows,
                                    size_t cols);

#endif /* FRONTA_KERNELS_REDUCE_H */
