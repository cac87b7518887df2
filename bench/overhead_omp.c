/* overhead_omp.c — the omp_task baseline of the overhead bench (libgomp tasks). */
#include <stdlib.h>

#include "overhead.h"

/* The same work as fronta's empty task: bump the task's own slot. */
bench_status_t overhead_independent_omp_task(const bench_env_t *env, size_t n, double *value)
{
    unsigned char *slots = overhead_slots_new(n);
    bench_status_t st;

    if (!slots)
        return BENCH_ERROR;
    /* Starting the team is inside the timed region: a user of omp tasks
     * pays it once per parallel region, and over n tasks it is noise. The
     * num_threads clause gives the team fronta's pool size without
     * touching the process-wide ICV (fronta's pool is OpenMP too). */
    uint64_t t0 = bench_now_ns();
#pragma omp parallel num_threads(env->threads)
#pragma omp single
    {
        for (size_t i = 0; i < n; i++) {
            unsigned char *p = &slots[i];
#pragma omp task firstprivate(p)
            (*p)++;
        }
#pragma omp taskwait
    }
    uint64_t t1 = bench_now_ns();

    st = overhead_slots_check(slots, n);
    *value = (double)(t1 - t0) / (double)n;
    free(slots);
    return st;
}
