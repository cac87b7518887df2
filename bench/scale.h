/* scale.h — the scale bench: x *= a over one host array in chunks, on the CPU pool and OpenCL. */
#ifndef FRONTA_BENCH_SCALE_H
#define FRONTA_BENCH_SCALE_H

#include "bench.h"

extern const bench_case_t scale_chunked;

/* Chunks per run: each is one task (one kernel launch) over a slice; for
 * fronta, one chunk of the partitioned array (one task of the map). */
#define SCALE_CHUNKS 64
/* The factor: small integers times 3 stay exact in float, so the check
 * compares for equality. */
#define SCALE_A 3.0f

/* scale.c */
bench_status_t scale_chunked_fronta_cpu(const bench_env_t *env, size_t n, double *value);
bench_status_t scale_chunked_fronta_opencl(const bench_env_t *env, size_t n, double *value);
bench_status_t scale_chunked_openmp(const bench_env_t *env, size_t n, double *value);

/* scale_raw.c, compiled only with OpenCL */
bench_status_t scale_chunked_opencl_raw(const bench_env_t *env, size_t n, double *value);

/* Shared by every implementation. */
/* How many chunks n elements make (fewer than SCALE_CHUNKS when n is
 * smaller, so that no chunk is empty). */
size_t scale_nchunks(size_t n);
/* Chunk i of n elements in nchunks: [*off, *off + *len), as
 * fronta_partition_t.nchunks cuts them. */
void scale_chunk(size_t n, size_t nchunks, size_t i, size_t *off, size_t *len);
/* A page-aligned array of n floats holding the input, every page touched;
 * NULL after saying so. Free with free(). */
float *scale_data_new(size_t n);
/* BENCH_OK when every x[i] is input(i) * SCALE_A. */
bench_status_t scale_data_check(const float *x, size_t n);

#endif /* FRONTA_BENCH_SCALE_H */
