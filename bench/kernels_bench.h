/* kernels_bench.h — the kernels bench: fronta's bundled gemm, sum, inclusive_scan and stencil5 against hand-written OpenMP (and OpenBLAS). */
#ifndef FRONTA_BENCH_KERNELS_H
#define FRONTA_BENCH_KERNELS_H

#include "bench.h"

extern const bench_case_t kernels_gemm;
extern const bench_case_t kernels_reduce;
extern const bench_case_t kernels_scan;
extern const bench_case_t kernels_stencil;

/* kernels_gemm.c: n is the side of the square matrices */
bench_status_t kernels_gemm_fronta_cpu(const bench_env_t *env, size_t n, double *value);
bench_status_t kernels_gemm_fronta_opencl(const bench_env_t *env, size_t n, double *value);
bench_status_t kernels_gemm_openmp(const bench_env_t *env, size_t n, double *value);
/* kernels_gemm_blas.c, compiled only when OpenBLAS is found */
bench_status_t kernels_gemm_openblas(const bench_env_t *env, size_t n, double *value);

/* kernels_reduce.c: n floats */
bench_status_t kernels_reduce_fronta_cpu(const bench_env_t *env, size_t n, double *value);
bench_status_t kernels_reduce_fronta_opencl(const bench_env_t *env, size_t n, double *value);
bench_status_t kernels_reduce_openmp(const bench_env_t *env, size_t n, double *value);

/* kernels_scan.c: n int32 */
bench_status_t kernels_scan_fronta_cpu(const bench_env_t *env, size_t n, double *value);
bench_status_t kernels_scan_fronta_opencl(const bench_env_t *env, size_t n, double *value);
bench_status_t kernels_scan_openmp(const bench_env_t *env, size_t n, double *value);

/* kernels_stencil.c: an n x n grid */
bench_status_t kernels_stencil_fronta_cpu(const bench_env_t *env, size_t n, double *value);
bench_status_t kernels_stencil_fronta_opencl(const bench_env_t *env, size_t n, double *value);
bench_status_t kernels_stencil_openmp(const bench_env_t *env, size_t n, double *value);

/* ---- shared by the cases (kernels_util.c) ----------------------------- */

/* Elements per chunk of the OpenMP baselines' dynamic loops: the chunk
 * size docs/kernels.md suggests for fronta_ctx_parallel, so both sides
 * balance load alike. */
#define KB_CHUNK ((size_t)64 * 1024)
/* Chunks of KB_CHUNK in n elements, and where chunk c ends. */
static inline size_t kb_nchunks(size_t n)
{
    return (n + KB_CHUNK - 1) / KB_CHUNK;
}
static inline size_t kb_chunk_end(size_t n, size_t c)
{
    return n - c * KB_CHUNK < KB_CHUNK ? n : (c + 1) * KB_CHUNK;
}
/* Tasks one fronta run submits at most (the stencil's steps). */
#define KB_MAX_TASKS 16
/* Buffers one fronta run wraps at most. */
#define KB_MAX_BUFS 4

/* A page-aligned array of count elements of size bytes, NULL after saying
 * so. Free with free(). */
void *kb_alloc(size_t count, size_t size);
/* Slots of kb_scratch per case. */
#define KB_SCRATCH_SLOTS 3
/* A page-aligned array of at least `bytes` that stays allocated from run
 * to run of case c: the big cases would otherwise page-fault a fresh
 * 256 MiB in every run, which costs more than the run it feeds. The
 * caller fills it every run and does not free it. The slots belong to one
 * case at a time (a request from another case frees them all) and are
 * freed at exit. NULL after saying why. */
void *kb_scratch(const bench_case_t *c, int slot, size_t count, size_t size);
/* A well-mixed 64-bit hash of (seed, i): the inputs are a function of the
 * index, so any run can rebuild them and the checks need no copy. */
uint64_t kb_hash(uint64_t seed, uint64_t i);
/* A cheap pseudo-random 32-bit value of i (murmur3's finaliser over i
 * times the golden ratio), for the big 1-D inputs: 32-bit operations
 * only, so the loops that build and check 2^26 elements vectorise, where
 * kb_hash's 64-bit multiplies do not. */
static inline uint32_t kb_mix32(size_t i)
{
    uint32_t h = (uint32_t)i * 0x9e3779b9u;

    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}
/* The bundled kernel, or NULL after saying it is missing. */
fronta_kernel_t *kb_kernel(const bench_env_t *env, const char *name);

/* The buffers of one fronta run over the caller's host arrays. */
typedef struct kb_bufs {
    fronta_buffer_t *b[KB_MAX_BUFS];
    size_t n;
} kb_bufs_t;

/* Wraps count elements of type at data as the next buffer of bs; the
 * buffer, or NULL after saying why. */
fronta_buffer_t *kb_wrap(const bench_env_t *env, kb_bufs_t *bs, void *data, size_t count,
                         fronta_dtype_t type);
/* Destroys every buffer of bs (which waits for their tasks and leaves the
 * last contents in the host arrays); BENCH_ERROR if one failed. */
bench_status_t kb_unwrap(kb_bufs_t *bs);
/* The timed part of every fronta row, as a user sees it: submit the tasks
 * in order (the buffers' accesses order them), wait for the last, and
 * acquire `result` for reading, so that its host array holds the result.
 * *ms gets the elapsed time. BENCH_OK only when every task succeeded. */
bench_status_t kb_fronta_time(const bench_env_t *env, const fronta_task_desc_t *tasks,
                              size_t ntasks, fronta_buffer_t *result, double *ms);

/* Milliseconds between two bench_now_ns() readings. */
double kb_ms(uint64_t t0, uint64_t t1);

#endif /* FRONTA_BENCH_KERNELS_H */
