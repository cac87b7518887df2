/* registry.c — every (bench, case, impl) fronta-bench can run: a new benchmark is one line here. */
#include "overhead.h"

/* The one place that knows whether StarPU was found: CMake compiles
 * overhead_starpu.c and defines FRONTA_BENCH_HAVE_STARPU together. */
#ifdef FRONTA_BENCH_HAVE_STARPU
#define IF_STARPU(...) __VA_ARGS__,
#else
#define IF_STARPU(...)
#endif

/* Rows of one case stay together; the first row of a case sets its place
 * in the run order. */
const bench_impl_t bench_registry[] = {
    {&overhead_independent, "fronta",   BENCH_DEV_CPU, overhead_independent_fronta},
    {&overhead_independent, "omp_task", BENCH_DEV_CPU, overhead_independent_omp_task},
    IF_STARPU({&overhead_independent, "starpu", BENCH_DEV_CPU, overhead_independent_starpu})
    {&overhead_chain,       "fronta",   BENCH_DEV_CPU, overhead_chain_fronta},
    IF_STARPU({&overhead_chain,       "starpu", BENCH_DEV_CPU, overhead_chain_starpu})
    {&overhead_roundtrip,   "fronta",   BENCH_DEV_CPU, overhead_roundtrip_fronta},
    IF_STARPU({&overhead_roundtrip,   "starpu", BENCH_DEV_CPU, overhead_roundtrip_starpu})
};

const size_t bench_registry_len = sizeof bench_registry / sizeof bench_registry[0];
