/* kernel_chain.h — the kernel_chain bench: dependent saxpy kernels on one OpenCL device. */
#ifndef FRONTA_BENCH_KERNEL_CHAIN_H
#define FRONTA_BENCH_KERNEL_CHAIN_H

#include "bench.h"

extern const bench_case_t kernel_chain_opencl;

/* Kernels per chain, each y = a * x + y on the previous one's y. */
#define CHAIN_LINKS 8
/* With x and y small integers, y + 8 * 2 * x stays exact in float. */
#define CHAIN_A 2.0f

/* kernel_chain.c */
bench_status_t kernel_chain_opencl_fronta(const bench_env_t *env, size_t n, double *value);

/* kernel_chain_raw.c, compiled only with OpenCL */
bench_status_t kernel_chain_opencl_raw(const bench_env_t *env, size_t n, double *value);

/* Shared by both: page-aligned, every page touched, x and y filled with
 * the input; 0, or -1 after saying so (nothing to free then). */
int chain_data_new(size_t n, float **x, float **y);
/* BENCH_OK when y holds the input after CHAIN_LINKS links. */
bench_status_t chain_data_check(const float *y, size_t n);

#endif /* FRONTA_BENCH_KERNEL_CHAIN_H */
