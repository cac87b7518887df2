/* registry.c — every (bench, case, impl) fronta-bench can run: a new benchmark is one line here. */
#include "coexec.h"
#include "divisible.h"
#include "kernel_chain.h"
#include "kernels_bench.h"
#include "mpi.h"
#include "overhead.h"
#include "placement.h"
#include "scale.h"
#include "stream.h"

/* The one place that knows whether StarPU was found: CMake compiles
 * overhead_starpu.c and defines FRONTA_BENCH_HAVE_STARPU together. */
#ifdef FRONTA_BENCH_HAVE_STARPU
#define IF_STARPU(...) __VA_ARGS__,
#else
#define IF_STARPU(...)
#endif

/* The same for the hand-written OpenCL baselines (*_raw.c, clraw.c),
 * compiled when fronta is built with OpenCL. */
#ifdef FRONTA_BENCH_HAVE_OPENCL
#define IF_OPENCL(...) __VA_ARGS__,
#else
#define IF_OPENCL(...)
#endif

/* And for OpenBLAS (kernels_gemm_blas.c), when CMake finds it. */
#ifdef FRONTA_BENCH_HAVE_OPENBLAS
#define IF_OPENBLAS(...) __VA_ARGS__,
#else
#define IF_OPENBLAS(...)
#endif

/* The four fields every row has; optional ones (bench_impl_t.reference,
 * .extra) follow as designated initialisers. */
#define ROW(case_, impl_, dev_, fn_) .c = &(case_), .impl = (impl_), .dev = (dev_), .run = (fn_)

/* Rows of one case stay together; the first row of a case sets its place
 * in the run order. */
const bench_impl_t bench_registry[] = {
    /* "fronta" runs the default policy (the harness's runtime); the
     * fronta_<policy> rows set config.sched, and heft's and wait-help's
     * ratios are to fronta_ws: the targets (heft <= 2x ws per
     * task) and the difference wait_helps makes. */
    {ROW(overhead_independent, "fronta",   BENCH_DEV_CPU, overhead_independent_fronta)},
    {ROW(overhead_independent, "fronta_ws", BENCH_DEV_CPU, overhead_independent_fronta_ws)},
    {ROW(overhead_independent, "fronta_eager", BENCH_DEV_CPU,
         overhead_independent_fronta_eager)},
    {ROW(overhead_independent, "fronta_heft", BENCH_DEV_ALL, overhead_independent_fronta_heft),
     .reference = "fronta_ws"},
    {ROW(overhead_independent, "fronta_waithelp", BENCH_DEV_CPU,
         overhead_independent_fronta_waithelp),
     .reference = "fronta_ws"},
    {ROW(overhead_independent, "omp_task", BENCH_DEV_CPU, overhead_independent_omp_task)},
    IF_STARPU({ROW(overhead_independent, "starpu", BENCH_DEV_CPU, overhead_independent_starpu)})
    {ROW(overhead_chain,       "fronta",   BENCH_DEV_CPU, overhead_chain_fronta)},
    {ROW(overhead_chain, "fronta_ws",    BENCH_DEV_CPU, overhead_chain_fronta_ws)},
    {ROW(overhead_chain, "fronta_eager", BENCH_DEV_CPU, overhead_chain_fronta_eager)},
    {ROW(overhead_chain, "fronta_heft",  BENCH_DEV_ALL, overhead_chain_fronta_heft),
     .reference = "fronta_ws"},
    IF_STARPU({ROW(overhead_chain,       "starpu", BENCH_DEV_CPU, overhead_chain_starpu)})
    {ROW(overhead_roundtrip,   "fronta",   BENCH_DEV_CPU, overhead_roundtrip_fronta)},
    IF_STARPU({ROW(overhead_roundtrip,   "starpu", BENCH_DEV_CPU, overhead_roundtrip_starpu)})
    {ROW(scale_chunked, "fronta_cpu",    BENCH_DEV_CPU,    scale_chunked_fronta_cpu)},
    {ROW(scale_chunked, "fronta_opencl", BENCH_DEV_OPENCL, scale_chunked_fronta_opencl),
     .reference = "opencl_raw"},
    {ROW(scale_chunked, "openmp",        BENCH_DEV_CPU,    scale_chunked_openmp)},
    IF_OPENCL({ROW(scale_chunked, "opencl_raw", BENCH_DEV_OPENCL, scale_chunked_opencl_raw)})
    /* The talk's demo at its size and at a small one; ratios to the
     * OpenMP loop (the fastest hand-written code on the CPU). */
    {ROW(divisible_talk, "fronta_unfused", BENCH_DEV_CPU, divisible_fronta_unfused)},
    {ROW(divisible_talk, "fronta_fused",   BENCH_DEV_CPU, divisible_fronta_fused)},
    {ROW(divisible_talk, "serial",         BENCH_DEV_CPU, divisible_serial)},
    {ROW(divisible_talk, "openmp",         BENCH_DEV_CPU, divisible_openmp)},
    IF_OPENCL({ROW(divisible_talk, "opencl_raw", BENCH_DEV_OPENCL, divisible_opencl_raw)})
    {ROW(divisible_small, "fronta_unfused", BENCH_DEV_CPU, divisible_fronta_unfused)},
    {ROW(divisible_small, "fronta_fused",   BENCH_DEV_CPU, divisible_fronta_fused)},
    {ROW(divisible_small, "serial",         BENCH_DEV_CPU, divisible_serial)},
    {ROW(divisible_small, "openmp",         BENCH_DEV_CPU, divisible_openmp)},
    IF_OPENCL({ROW(divisible_small, "opencl_raw", BENCH_DEV_OPENCL, divisible_opencl_raw)})
    /* One map of a polynomial over the pool alone, OpenCL alone, and both
     * (co-executed): ratios to fronta_cpu; the target is fronta_auto
     * within 1/0.95 of the better single device. */
    {ROW(coexec_map, "fronta_cpu",    BENCH_DEV_CPU,    coexec_map_fronta_cpu)},
    {ROW(coexec_map, "fronta_opencl", BENCH_DEV_OPENCL, coexec_map_fronta_opencl)},
    {ROW(coexec_map, "fronta_auto",   BENCH_DEV_ALL,    coexec_map_fronta_auto)},
    {ROW(kernel_chain_opencl, "fronta",  BENCH_DEV_OPENCL, kernel_chain_opencl_fronta),
     .extra = "host_wakeups"},
    IF_OPENCL({ROW(kernel_chain_opencl, "opencl_raw", BENCH_DEV_OPENCL, kernel_chain_opencl_raw)})
    /* The fronta rows' ratios are to the hand-written OpenMP code; the
     * openblas row's is to fronta_cpu, so it reads as fronta_cpu's share
     * of OpenBLAS's GFLOP/s, the second gemm target (>= 0.8). */
    {ROW(kernels_gemm, "fronta_cpu",    BENCH_DEV_CPU,    kernels_gemm_fronta_cpu)},
    {ROW(kernels_gemm, "fronta_opencl", BENCH_DEV_OPENCL, kernels_gemm_fronta_opencl)},
    {ROW(kernels_gemm, "openmp",        BENCH_DEV_CPU,    kernels_gemm_openmp)},
    IF_OPENBLAS({ROW(kernels_gemm, "openblas", BENCH_DEV_CPU, kernels_gemm_openblas),
                 .reference = "fronta_cpu"})
    {ROW(kernels_reduce, "fronta_cpu",    BENCH_DEV_CPU,    kernels_reduce_fronta_cpu)},
    {ROW(kernels_reduce, "fronta_opencl", BENCH_DEV_OPENCL, kernels_reduce_fronta_opencl)},
    {ROW(kernels_reduce, "openmp",        BENCH_DEV_CPU,    kernels_reduce_openmp)},
    {ROW(kernels_scan, "fronta_cpu",    BENCH_DEV_CPU,    kernels_scan_fronta_cpu)},
    {ROW(kernels_scan, "fronta_opencl", BENCH_DEV_OPENCL, kernels_scan_fronta_opencl)},
    {ROW(kernels_scan, "openmp",        BENCH_DEV_CPU,    kernels_scan_openmp)},
    {ROW(kernels_stencil, "fronta_cpu",    BENCH_DEV_CPU,    kernels_stencil_fronta_cpu)},
    {ROW(kernels_stencil, "fronta_opencl", BENCH_DEV_OPENCL, kernels_stencil_fronta_opencl)},
    {ROW(kernels_stencil, "openmp",        BENCH_DEV_CPU,    kernels_stencil_openmp)},
    /* The same map through a device limited to an eighth of the array
     * and with no limit, both on the copy path; the ratio is to the
     * unlimited one (target: >= 0.8x its speed). */
    {ROW(stream_out_of_core, "fronta",        BENCH_DEV_OPENCL, stream_out_of_core_fronta),
     .extra = "mem_peak_MiB"},
    {ROW(stream_out_of_core, "fronta_opencl", BENCH_DEV_OPENCL, stream_out_of_core_fronta_opencl),
     .extra = "mem_peak_MiB"},
    /* Ratios to the oracle; first_ms is each row's first timed DAG (heft's
     * learning run: no calibration, a cold model directory). */
    {ROW(placement_mixed, "heft",   BENCH_DEV_ALL, placement_mixed_heft), .extra = "first_ms"},
    {ROW(placement_mixed, "eager",  BENCH_DEV_ALL, placement_mixed_eager), .extra = "first_ms"},
    {ROW(placement_mixed, "ws",     BENCH_DEV_ALL, placement_mixed_ws), .extra = "first_ms"},
    {ROW(placement_mixed, "oracle", BENCH_DEV_ALL, placement_mixed_oracle), .extra = "first_ms"},
    /* Run in fronta-bench-mpi under mpiexec (mpi.c); only when named. The
     * stencil rows' extra is the most messages a rank sent per step. */
    {ROW(mpi_stencil, "fronta",     BENCH_DEV_CPU, mpi_stencil_fronta),
     .extra = "msgs_per_rank_step"},
    {ROW(mpi_stencil, "mpi_openmp", BENCH_DEV_CPU, mpi_stencil_mpi_openmp),
     .extra = "msgs_per_rank_step"},
    {ROW(mpi_overhead, "fronta",    BENCH_DEV_CPU, mpi_overhead_fronta)},
    {ROW(mpi_overhead, "mpi_raw",   BENCH_DEV_CPU, mpi_overhead_mpi_raw)},
};

const size_t bench_registry_len = sizeof bench_registry / sizeof bench_registry[0];
