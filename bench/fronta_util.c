/* fronta_util.c — what the fronta rows of the cases share: reporting a
 * failed call, checking futures, runtimes of a row's own. */
#include <string.h>

#include "bench.h"

bench_status_t bench_api_error(const char *call, int rc)
{
    fprintf(stderr, "fronta-bench: %s: %s (%s)\n", call, fronta_err_name(rc),
            fronta_strerror(rc));
    return BENCH_ERROR;
}

bench_status_t bench_futures_check(fronta_future_t **f, size_t nf, const char *what)
{
    bench_status_t st = BENCH_OK;

    for (size_t i = 0; i < nf; i++) {
        fronta_error_t e;
        int rc = fronta_future_wait(f[i], BENCH_WAIT_S);

        if (rc == 0 && (rc = fronta_future_error(f[i], &e)) != 0 && st == BENCH_OK) {
            fprintf(stderr, "fronta-bench: %s %zu: %s (%s)\n", what, i, fronta_err_name(rc),
                    e.message ? e.message : fronta_strerror(rc));
            st = BENCH_ERROR;
        } else if (rc != 0 && st == BENCH_OK) {
            st = bench_api_error("fronta_future_wait", rc);
        }
        fronta_future_release(f[i]);
    }
    return st;
}

/* ---- runtimes of a row's own ------------------------------------------ */

int bench_runtime_create(const bench_env_t *env, const fronta_config_t *cfg,
                         fronta_runtime_t **out)
{
    fronta_config_t c = {.size = sizeof c};
    struct bench_progress *p = env->hooks ? env->hooks->prog : NULL;
    int rc;

    if (cfg)
        c = *cfg;
    bench_progress_hook(p, &c);
    rc = fronta_runtime_create(&c, out);
    bench_progress_attach(p, &c, rc == 0 ? *out : NULL);
    return rc;
}

void bench_runtime_destroy(const bench_env_t *env, fronta_runtime_t *rt)
{
    if (!rt)
        return;
    if (env->hooks && env->hooks->row_rt == rt)
        bench_row_runtime_done(env);
    (void)fronta_runtime_destroy(rt);
    bench_progress_detach(env->hooks ? env->hooks->prog : NULL, rt);
}

void bench_row_runtime(const bench_env_t *env, fronta_runtime_t *rt)
{
    bench_hooks_t *h = env->hooks;

    if (!h || !h->stats)
        return;
    if (h->row_rt)
        bench_row_runtime_done(env);
    h->row_rt = rt;
    bench_wstats_read(rt, &h->base);
}

void bench_row_runtime_done(const bench_env_t *env)
{
    bench_hooks_t *h = env->hooks;
    bench_wstats_t now;

    if (!h || !h->row_rt)
        return;
    bench_wstats_read(h->row_rt, &now);
    bench_wstats_add_delta(&h->delta, &now, &h->base);
    h->have_delta = 1;
    h->row_rt = NULL;
}

int bench_runtime_sched_is(fronta_runtime_t *rt, const char *want)
{
    const char *got = fronta_runtime_sched(rt);

    if (got && strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "fronta-bench: asked for policy \"%s\", the runtime uses \"%s\"\n", want,
            got ? got : "(none)");
    return 0;
}
