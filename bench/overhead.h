/* overhead.h — the overhead bench: its cases and every implementation of them. */
#ifndef FRONTA_BENCH_OVERHEAD_H
#define FRONTA_BENCH_OVERHEAD_H

#include "bench.h"

extern const bench_case_t overhead_independent;
extern const bench_case_t overhead_chain;
extern const bench_case_t overhead_roundtrip;

/* overhead.c */
bench_status_t overhead_independent_fronta(const bench_env_t *env, size_t n, double *value);
bench_status_t overhead_chain_fronta(const bench_env_t *env, size_t n, double *value);
bench_status_t overhead_roundtrip_fronta(const bench_env_t *env, size_t n, double *value);

/* overhead_policy.c: the fronta rows on runtimes of their own, one per
 * setting (config.sched; wait_helps), kept from the row's warm-up to the
 * end of its case (overhead_policy_fini, the cases' fini). */
bench_status_t overhead_independent_fronta_ws(const bench_env_t *env, size_t n, double *value);
bench_status_t overhead_independent_fronta_eager(const bench_env_t *env, size_t n,
                                                 double *value);
bench_status_t overhead_independent_fronta_heft(const bench_env_t *env, size_t n,
                                                double *value);
bench_status_t overhead_independent_fronta_waithelp(const bench_env_t *env, size_t n,
                                                    double *value);
bench_status_t overhead_chain_fronta_ws(const bench_env_t *env, size_t n, double *value);
bench_status_t overhead_chain_fronta_eager(const bench_env_t *env, size_t n, double *value);
bench_status_t overhead_chain_fronta_heft(const bench_env_t *env, size_t n, double *value);
void overhead_policy_fini(void);

/* overhead_omp.c */
bench_status_t overhead_independent_omp_task(const bench_env_t *env, size_t n, double *value);

/* overhead_starpu.c, compiled only when StarPU is found */
bench_status_t overhead_independent_starpu(const bench_env_t *env, size_t n, double *value);
bench_status_t overhead_chain_starpu(const bench_env_t *env, size_t n, double *value);
bench_status_t overhead_roundtrip_starpu(const bench_env_t *env, size_t n, double *value);

/* Shared checks: one slot per task, each must have been bumped exactly once. */
unsigned char *overhead_slots_new(size_t n);
bench_status_t overhead_slots_check(const unsigned char *slots, size_t n);

#endif /* FRONTA_BENCH_OVERHEAD_H */
