/* overhead_policy.c — the overhead cases under each scheduling policy, and with the submitting thread helping in its waits. */
#include "overhead.h"

/* The runtimes these rows run on, one per setting, made at a row's first
 * run (its warm-up) and kept until the case ends (overhead_policy_fini),
 * as the "fronta" rows keep the harness's runtime. */
typedef struct policy_rt {
    const char *sched;
    const char *devices;
    int wait_helps;
    fronta_runtime_t *rt;
} policy_rt_t;

enum { POL_WS, POL_EAGER, POL_HEFT, POL_WAITHELP, POL_COUNT };

/* heft on the pool alone would be ws under another name: its rows get
 * the pool and the OpenCL devices (the tasks are plain and run on the
 * pool all the same), so they pay what heft's front costs where it is
 * the default. The wait-help row is ws on the pool, as the fronta_ws row,
 * so the two differ only by wait_helps. */
static policy_rt_t rts[POL_COUNT] = {
    [POL_WS] = {"ws", "cpu", 0, NULL},
    [POL_EAGER] = {"eager", "cpu", 0, NULL},
    [POL_HEFT] = {"heft", "all", 0, NULL},
    [POL_WAITHELP] = {"ws", "cpu", 1, NULL},
};
static const bench_env_t *rts_env; /* what made them, for destroying */

void overhead_policy_fini(void)
{
    for (int i = 0; i < POL_COUNT; i++) {
        bench_runtime_destroy(rts_env, rts[i].rt);
        rts[i].rt = NULL;
    }
}

/* The runtime of setting i, made if need be; NULL after saying why. */
static fronta_runtime_t *policy_runtime(const bench_env_t *env, int i)
{
    policy_rt_t *p = &rts[i];
    fronta_config_t cfg = {
        .size = sizeof cfg,
        .sched = p->sched,
        .devices = p->devices,
        .wait_helps = p->wait_helps,
    };
    int rc;

    if (p->rt)
        return p->rt;
    if ((rc = bench_runtime_create(env, &cfg, &p->rt)) != 0) {
        p->rt = NULL;
        bench_api_error("fronta_runtime_create", rc);
        return NULL;
    }
    rts_env = env;
    if (!bench_runtime_sched_is(p->rt, p->sched)) {
        bench_runtime_destroy(env, p->rt);
        p->rt = NULL;
    }
    return p->rt;
}

/* fn, the fronta row's implementation, on setting i's runtime. */
static bench_status_t on_policy(const bench_env_t *env, int i, bench_fn fn, size_t n,
                                double *value)
{
    fronta_runtime_t *rt = policy_runtime(env, i);
    bench_env_t e = *env;

    if (!rt)
        return BENCH_ERROR;
    bench_row_runtime(env, rt);
    e.rt = rt;
    e.threads = fronta_runtime_cpu_threads(rt);
    return fn(&e, n, value);
}

bench_status_t overhead_independent_fronta_ws(const bench_env_t *env, size_t n, double *value)
{
    return on_policy(env, POL_WS, overhead_independent_fronta, n, value);
}

bench_status_t overhead_independent_fronta_eager(const bench_env_t *env, size_t n,
                                                 double *value)
{
    return on_policy(env, POL_EAGER, overhead_independent_fronta, n, value);
}

bench_status_t overhead_independent_fronta_heft(const bench_env_t *env, size_t n,
                                                double *value)
{
    return on_policy(env, POL_HEFT, overhead_independent_fronta, n, value);
}

bench_status_t overhead_independent_fronta_waithelp(const bench_env_t *env, size_t n,
                                                    double *value)
{
    return on_policy(env, POL_WAITHELP, overhead_independent_fronta, n, value);
}

bench_status_t overhead_chain_fronta_ws(const bench_env_t *env, size_t n, double *value)
{
    return on_policy(env, POL_WS, overhead_chain_fronta, n, value);
}

bench_status_t overhead_chain_fronta_eager(const bench_env_t *env, size_t n, double *value)
{
    return on_policy(env, POL_EAGER, overhead_chain_fronta, n, value);
}

bench_status_t overhead_chain_fronta_heft(const bench_env_t *env, size_t n, double *value)
{
    return on_policy(env, POL_HEFT, overhead_chain_fronta, n, value);
}
