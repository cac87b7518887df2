/* overhead_starpu.c — the StarPU baselines of the overhead bench (built only when StarPU is found). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <starpu.h>

#include "overhead.h"

/* 0: not tried yet, 1: up, -1: starpu_init failed (every run then errors). */
static int starpu_state;

static void starpu_down(void)
{
    starpu_resume();
    starpu_shutdown();
}

/* Starts StarPU once per process, with as many CPU workers as fronta's pool
 * and nothing else, then pauses it: idle StarPU workers poll in a tight
 * loop and would steal the CPUs from the other implementations. */
static int starpu_up(const bench_env_t *env)
{
    struct starpu_conf conf;
    int rc;

    if (starpu_state)
        return starpu_state > 0 ? 0 : -1;
    starpu_state = -1;
    setenv("STARPU_SILENT", "1", 1);
    starpu_conf_init(&conf);
    conf.ncpus = env->threads;
    conf.ncuda = 0;
    conf.nopencl = 0;
    conf.nmic = 0;
    conf.nmpi_ms = 0;
    rc = starpu_init(&conf);
    if (rc) {
        fprintf(stderr, "fronta-bench: starpu_init: %s\n", strerror(-rc));
        return -1;
    }
    /* STARPU_NCPU in the environment wins over conf.ncpus: say so, since
     * the comparison assumes equal thread counts. */
    if ((int)starpu_cpu_worker_get_count() != env->threads)
        fprintf(stderr, "fronta-bench: warning: StarPU has %u CPU workers, fronta %d\n",
                starpu_cpu_worker_get_count(), env->threads);
    starpu_pause();
    if (bench_at_exit(starpu_down)) {
        starpu_down();
        return -1;
    }
    starpu_state = 1;
    return 0;
}

static bench_status_t starpu_error(const char *call, int rc)
{
    fprintf(stderr, "fronta-bench: %s: %s\n", call, strerror(rc < 0 ? -rc : rc));
    return BENCH_ERROR;
}

/* Same work as fronta's empty task: bump the task's own slot. */
static void empty_cpu(void *buffers[], void *cl_arg)
{
    unsigned char *slot = cl_arg;

    (void)buffers;
    (*slot)++;
}

/* A chain link: ordering comes from the declared dependencies alone, so a
 * shared counter that ends at n shows they held. */
static void chain_cpu(void *buffers[], void *cl_arg)
{
    uint64_t *count = cl_arg;

    (void)buffers;
    (*count)++;
}

static struct starpu_codelet empty_cl = {
    .where = STARPU_CPU,
    .cpu_funcs = {empty_cpu},
    .nbuffers = 0,
    .name = "fronta_bench_empty",
};

static struct starpu_codelet chain_cl = {
    .where = STARPU_CPU,
    .cpu_funcs = {chain_cpu},
    .nbuffers = 0,
    .name = "fronta_bench_chain",
};

/* The lightest StarPU path: starpu_task_create + submit with cl_arg
 * pointing at the slot (starpu_task_insert would pack a copy, costing more). */
bench_status_t overhead_independent_starpu(const bench_env_t *env, size_t n, double *value)
{
    unsigned char *slots;
    bench_status_t st = BENCH_OK;
    int rc = 0, wrc;

    if (starpu_up(env) || !(slots = overhead_slots_new(n)))
        return BENCH_ERROR;
    starpu_resume();
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct starpu_task *t = starpu_task_create();
        t->cl = &empty_cl;
        t->cl_arg = &slots[i];
        rc = starpu_task_submit(t);
        if (rc)
            starpu_task_destroy(t);
    }
    wrc = starpu_task_wait_for_all();
    uint64_t t1 = bench_now_ns();
    starpu_pause();

    if (rc || wrc)
        st = starpu_error(rc ? "starpu_task_submit" : "starpu_task_wait_for_all",
                          rc ? rc : wrc);
    else
        st = overhead_slots_check(slots, n);
    *value = (double)(t1 - t0) / (double)n;
    free(slots);
    return st;
}

/* Explicit task dependencies (starpu_task_declare_deps_array), not a shared
 * data handle in RW mode: it is the same DAG fronta is given, without
 * StarPU's data-coherence work. Links keep destroy = 0 because a dependency
 * may only be declared on a task that has not been freed yet; they are
 * destroyed inside the timed region, as fronta frees its tasks inside it. */
bench_status_t overhead_chain_starpu(const bench_env_t *env, size_t n, double *value)
{
    struct starpu_task **links;
    uint64_t count = 0;
    size_t i, nsub = 0;
    int rc = 0, wrc;

    if (starpu_up(env) || !(links = malloc(n * sizeof *links)))
        return BENCH_ERROR;
    starpu_resume();
    uint64_t t0 = bench_now_ns();
    for (i = 0; i < n && rc == 0; i++) {
        struct starpu_task *t = starpu_task_create();
        t->cl = &chain_cl;
        t->cl_arg = &count;
        t->destroy = 0;
        if (i > 0)
            starpu_task_declare_deps_array(t, 1, &links[i - 1]);
        rc = starpu_task_submit(t);
        links[i] = t;
        nsub += rc == 0;
    }
    wrc = starpu_task_wait_for_all();
    for (i = 0; i < n && i <= nsub; i++)
        starpu_task_destroy(links[i]);
    uint64_t t1 = bench_now_ns();
    starpu_pause();

    free(links);
    *value = (double)(t1 - t0) / (double)n;
    if (rc || wrc)
        return starpu_error(rc ? "starpu_task_submit" : "starpu_task_wait_for_all",
                            rc ? rc : wrc);
    if (count != n) {
        fprintf(stderr, "fronta-bench: starpu chain of %zu counted %llu\n", n,
                (unsigned long long)count);
        return BENCH_WRONG;
    }
    return BENCH_OK;
}

/* One synchronous task per round trip (task->synchronous = 1: submit
 * returns once it has run). Per-run metric: median of the individually
 * timed round trips, as for fronta (see overhead_roundtrip in overhead.c). */
bench_status_t overhead_roundtrip_starpu(const bench_env_t *env, size_t n, double *value)
{
    unsigned char *slots;
    double *ns;
    int rc = 0;

    if (starpu_up(env) || !(slots = overhead_slots_new(n)))
        return BENCH_ERROR;
    if (!(ns = malloc(n * sizeof *ns))) {
        free(slots);
        return BENCH_ERROR;
    }
    starpu_resume();
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint64_t t0 = bench_now_ns();
        struct starpu_task *t = starpu_task_create();
        t->cl = &empty_cl;
        t->cl_arg = &slots[i];
        t->synchronous = 1;
        rc = starpu_task_submit(t);
        uint64_t t1 = bench_now_ns();
        if (rc)
            starpu_task_destroy(t);
        ns[i] = (double)(t1 - t0);
    }
    starpu_pause();

    bench_status_t st = rc ? starpu_error("starpu_task_submit", rc)
                           : overhead_slots_check(slots, n);
    *value = st == BENCH_OK ? bench_median(ns, n) : 0.0;
    free(slots);
    free(ns);
    return st;
}
