/* divisible.h — the divisible bench: the talk's demo, data[data % 3 == 0 & data % 5 == 0 & data % 7 == 0], fronta against hand-written loops. */
#ifndef FRONTA_BENCH_DIVISIBLE_H
#define FRONTA_BENCH_DIVISIBLE_H

#include "bench.h"

extern const bench_case_t divisible_talk;
extern const bench_case_t divisible_small;

/* divisible.c: the case, its data and check, and the C baselines */
bench_status_t divisible_serial(const bench_env_t *env, size_t n, double *value);
bench_status_t divisible_openmp(const bench_env_t *env, size_t n, double *value);
/* divisible_fronta.c */
bench_status_t divisible_fronta_fused(const bench_env_t *env, size_t n, double *value);
bench_status_t divisible_fronta_unfused(const bench_env_t *env, size_t n, double *value);
void divisible_fronta_fini(void);
/* divisible_raw.c, compiled only with OpenCL */
bench_status_t divisible_opencl_raw(const bench_env_t *env, size_t n, double *value);

/* The predicate, one function for every C implementation (the fused
 * kernel's CPU side included), so they are compared like for like. The
 * three tests are combined with & rather than &&: no branch on data that
 * passes the first test a third of the time. gcc turns each % by a
 * constant into a multiply-high and a shift. */
static inline int dv_keep(int64_t x)
{
    return (x % 3 == 0) & (x % 5 == 0) & (x % 7 == 0);
}

/* The mask buffers a run may wrap: the unfused graph's three divisor
 * masks, their first logical_and, and the final mask. */
#define DV_MASKS 5

/* Everything a run of size n works on, made once per size and kept from
 * run to run (a fresh 512 MiB per run would cost page faults larger than
 * the run): the input, the output array, scratch masks, and the serial
 * reference. Arrays are page-aligned and touched when made. */
typedef struct dv_data {
    size_t n;
    int64_t *x;            /* the input, a function of the index */
    int64_t *out;          /* every implementation's result, n elements */
    uint8_t *mask[DV_MASKS];
    int64_t *ref;          /* the expected x[mask], ref_kept elements */
    size_t ref_kept;
} dv_data_t;

/* The data of size n (made, or kept from the last call); NULL after
 * saying why. Freed by the cases' fini. */
dv_data_t *dv_data_get(size_t n);
/* Overwrites the part of out a correct run writes, so that a run that
 * writes nothing cannot pass on the previous run's result. Untimed. */
void dv_data_poison(dv_data_t *d);
/* BENCH_OK when kept == ref_kept and out[0 .. kept) == ref. */
bench_status_t dv_data_check(const dv_data_t *d, size_t kept, const char *impl);

/* Blocks (of the OpenMP loop) or chunks (fronta's) for n elements over
 * `threads` threads: DV_CHUNK elements each, at least one per thread,
 * never more than n (see divisible.c). */
#define DV_CHUNK ((size_t)1 << 20)
size_t dv_nchunks(size_t n, int threads);

#endif /* FRONTA_BENCH_DIVISIBLE_H */
