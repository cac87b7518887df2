/* elementwise.h — what the elementwise group's files share: the chunked pool loop and the descriptors. */
#ifndef FRONTA_KERNELS_ELEMENTWISE_H
#define FRONTA_KERNELS_ELEMENTWISE_H

#include "kernels.h"

/* Elements per fronta_ctx_parallel chunk: large enough that a chunk's
 * work (tens of microseconds) dwarfs taking it, small enough that 2^20
 * elements keep 16 workers busy. Launches up to one chunk run inline. */
#define FRONTA__EW_CHUNK ((size_t)1 << 16)

/* Run fn(ud, lo, hi) over [0, n) in chunks of FRONTA__EW_CHUNK, spread
 * over the pool. Elementwise results do not depend on the chunking. */
typedef void (*fronta__ew_range_fn)(void *ud, size_t lo, size_t hi);
int fronta__ew_parallel(fronta_ctx_t *ctx, size_t n, fronta__ew_range_fn fn, void *ud);

/* c[i] = f(a[i], b[i]) over [0, n) in chunks: fn runs the plain loop over
 * n elements from the pointers it is given; a and b have elements of
 * in_size bytes, c of out_size. */
typedef void (*fronta__ew_binary_fn)(const void *a, const void *b, void *c, size_t n);
int fronta__ew_binary(fronta_ctx_t *ctx, size_t n, fronta__ew_binary_fn fn, const void *a,
                      const void *b, void *c, size_t in_size, size_t out_size);

/* The index of a dtype in the per-type loop tables, {uint8, int32, int64,
 * float, double} = {0 .. 4}; -1 for anything else (a guard: the runtime
 * has checked the type against the parameters already). */
static inline int fronta__ew_type(fronta_dtype_t t)
{
    return t >= FRONTA_UINT8 && t <= FRONTA_DOUBLE ? (int)t - (int)FRONTA_UINT8 : -1;
}

/* The descriptors, one per kernel, in the files of their families; the
 * names that use them are elementwise.c's table. */
void fronta__ew_fill_desc(fronta_kernel_desc_t *d);
void fronta__ew_copy_desc(fronta_kernel_desc_t *d);
void fronta__ew_scale_desc(fronta_kernel_desc_t *d);
void fronta__ew_axpy_desc(fronta_kernel_desc_t *d);
void fronta__ew_add_desc(fronta_kernel_desc_t *d);
void fronta__ew_sub_desc(fronta_kernel_desc_t *d);
void fronta__ew_mul_desc(fronta_kernel_desc_t *d);
void fronta__ew_div_desc(fronta_kernel_desc_t *d);
void fronta__ew_minimum_desc(fronta_kernel_desc_t *d);
void fronta__ew_maximum_desc(fronta_kernel_desc_t *d);
void fronta__ew_eq_desc(fronta_kernel_desc_t *d);
void fronta__ew_ne_desc(fronta_kernel_desc_t *d);
void fronta__ew_lt_desc(fronta_kernel_desc_t *d);
void fronta__ew_le_desc(fronta_kernel_desc_t *d);
void fronta__ew_gt_desc(fronta_kernel_desc_t *d);
void fronta__ew_ge_desc(fronta_kernel_desc_t *d);
void fronta__ew_select_desc(fronta_kernel_desc_t *d);
void fronta__ew_divisible_by_desc(fronta_kernel_desc_t *d);
void fronta__ew_logical_and_desc(fronta_kernel_desc_t *d);
void fronta__ew_logical_or_desc(fronta_kernel_desc_t *d);
void fronta__ew_logical_not_desc(fronta_kernel_desc_t *d);

#endif /* FRONTA_KERNELS_ELEMENTWISE_H */
