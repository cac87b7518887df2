/* kernels_gemm.h — what the gemm case's files share: inputs, the check, the OpenMP gemm. */
#ifndef FRONTA_BENCH_KERNELS_GEMM_H
#define FRONTA_BENCH_KERNELS_GEMM_H

#include "kernels_bench.h"

/* The largest side: |C| <= 16 n stays an exact float integer far beyond
 * it, and n x n floats must fit in memory. */
#define GEMM_MAX_N 65536

/* Page-aligned n x n inputs A and B and an output C (poisoned, so that an
 * element no one writes shows); -1 after saying why. Free with free(). */
int gemm_data_new(size_t n, float **a, float **b, float **c);
/* BENCH_OK when C is A B exactly (impl names the row in messages). The
 * first call for a size computes the reference with gemm_omp, untimed,
 * and checks it entry by entry against exact integer sums. */
bench_status_t gemm_data_check(const bench_env_t *env, const float *c, size_t n,
                               const char *impl);
/* 2 n^3 flops in ms, as GFLOP/s. */
double gemm_gflops(size_t n, double ms);

/* kernels_gemm_omp.c: C = A B, row-major, A m x k, B k x n, C m x n (not
 * read), over `threads` OpenMP threads. 0, or -1 when out of memory. */
int gemm_omp(int threads, size_t m, size_t n, size_t k, const float *a, const float *b,
             float *c);

#endif /* FRONTA_BENCH_KERNELS_GEMM_H */
