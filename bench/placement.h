/* placement.h — the placement bench: a DAG of two kernel kinds, each faster on another device, under each policy and an oracle. */
#ifndef FRONTA_BENCH_PLACEMENT_H
#define FRONTA_BENCH_PLACEMENT_H

#include "bench.h"

extern const bench_case_t placement_mixed;

/* placement.c: n is the element count of every buffer of the DAG */
bench_status_t placement_mixed_heft(const bench_env_t *env, size_t n, double *value);
bench_status_t placement_mixed_eager(const bench_env_t *env, size_t n, double *value);
bench_status_t placement_mixed_ws(const bench_env_t *env, size_t n, double *value);
bench_status_t placement_mixed_oracle(const bench_env_t *env, size_t n, double *value);

/* ---- the two kinds (placement_kernels.c) ------------------------------ */

#define PL_STR_(x) #x
#define PL_STR(x) PL_STR_(x)

enum { PL_POLY = 0, PL_TRIG = 1, PL_KINDS = 2 };

/* Kind A's polynomial rounds and kind B's sin/cos rounds per element:
 * with the default size, one task of either kind takes about 2 ms on its
 * faster device (docs/benchmarks.md has the table). */
#define PL_POLY_ITERS 128
#define PL_TRIG_ITERS 4

/* The kinds registered in rt (created on the first call, found after):
 * k[PL_POLY] "bench.pl_poly" (IN a, IN b, OUT y) and k[PL_TRIG]
 * "bench.pl_trig" (IN a, OUT y), all buffers float and of the launch
 * size. 0, or -1 after saying why. */
int pl_kernels_get(fronta_runtime_t *rt, fronta_kernel_t *k[PL_KINDS]);

/* The serial references, which the CPU implementations run per chunk. */
void pl_poly_serial(const float *a, const float *b, float *y, size_t n);
void pl_trig_serial(const float *a, float *y, size_t n);

#endif /* FRONTA_BENCH_PLACEMENT_H */
