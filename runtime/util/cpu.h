/* The CPU's vector extensions, for the loops that have a version for
 * them (the bundled kernels' divisible_by and gemm, compaction's copy). */
#ifndef FRONTA_UTIL_CPU_H
#define FRONTA_UTIL_CPU_H

/* 1 when the CPU has AVX2 (with fma: and FMA) and FRONTA_KERNELS_PORTABLE
 * is unset or 0; read at each call, so that a test can set it and cover
 * the baseline loops on an AVX2 machine too. 0 off x86-64. */
int fronta__cpu_avx2(int fma);

#endif /* FRONTA_UTIL_CPU_H */
