/* kernels_gemm_blas.c — the gemm case's OpenBLAS row (cblas_sgemm), compiled only when CMake finds OpenBLAS. */
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

#include "kernels_gemm.h"

/* As many OpenBLAS threads as fronta's pool has workers, set on every
 * run (OpenBLAS keeps it process-wide). The clock covers the one call. */
bench_status_t kernels_gemm_openblas(const bench_env_t *env, size_t n, double *value)
{
    float *a, *b, *c;
    bench_status_t st;

    if (gemm_data_new(n, &a, &b, &c))
        return BENCH_ERROR;
    openblas_set_num_threads(env->threads);
    int in = (int)n; /* n <= GEMM_MAX_N: fits blasint */
    uint64_t t0 = bench_now_ns();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, in, in, in, 1.0f, a, in, b, in,
                0.0f, c, in);
    uint64_t t1 = bench_now_ns();

    value[0] = gemm_gflops(n, kb_ms(t0, t1));
    st = gemm_data_check(env, c, n, "openblas");
    /* OpenBLAS's workers keep spinning (sched_yield) for 2^28 TSC cycles
     * after a call, about 0.1 s of a core here, before they sleep: let
     * them, or they steal a core from whichever row is timed next. */
    nanosleep(&(struct timespec){.tv_nsec = 200 * 1000 * 1000}, NULL);
    free(a);
    free(b);
    free(c);
    return st;
}
