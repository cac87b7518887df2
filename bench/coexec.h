/* coexec.h — the coexec bench: one map spread over the pool and an OpenCL device by measured throughput. */
#ifndef FRONTA_BENCH_COEXEC_H
#define FRONTA_BENCH_COEXEC_H

#include "bench.h"

extern const bench_case_t coexec_map;

/* n: elements of the mapped array (automatic guided chunking) */
bench_status_t coexec_map_fronta_cpu(const bench_env_t *env, size_t n, double *value);
bench_status_t coexec_map_fronta_opencl(const bench_env_t *env, size_t n, double *value);
bench_status_t coexec_map_fronta_auto(const bench_env_t *env, size_t n, double *value);

#endif
