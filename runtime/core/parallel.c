/* fronta_ctx_parallel: a task spreads indexed work over the pool, its own
 * thread working too. */
#include "core/internal.h"

#include <string.h>

/* Shared by the caller and its helper tasks; on the caller's stack, which
 * outlives them: the caller returns only once every helper has finished
 * or was cancelled before it started. */
typedef struct par {
    void (*body)(void *ud, size_t i);
    void *ud;
    size_t n;
    /* The next index to claim. Relaxed: it only hands out indices; what
     * the bodies wrote reaches the caller through the helpers' completion
     * (release) and its wait on them (acquire). */
    atomic_size_t next;
} par;

static void run_indices(par *p)
{
    size_t i;
    while ((i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < p->n)
        p->body(p->ud, i);
}

static int helper(fronta_ctx_t *ctx, void *arg)
{
    par *p;
    (void)ctx;
    memcpy(&p, arg, sizeof p);
    run_indices(p);
    return 0;
}

/* At most this many helpers: one per other worker. */
#define MAX_HELPERS 64

int fronta_ctx_parallel(fronta_ctx_t *ctx, size_t n, void (*body)(void *ud, size_t i),
                        void *ud)
{
    if (!ctx || !body)
        return FRONTA_EINVAL;
    par p = {.body = body, .ud = ud, .n = n};
    atomic_init(&p.next, 0);
    fronta_runtime_t *rt = ctx->task->rt;
    size_t nh = rt->nworkers > 1 ? (size_t)rt->nworkers - 1 : 0;
    if (nh > MAX_HELPERS)
        nh = MAX_HELPERS;
    if (n <= 1 || nh == 0) {
        run_indices(&p);
        return 0;
    }
    if (nh > n - 1)
        nh = n - 1;
    /* Helpers are plain tasks that idle workers steal. One that cannot be
     * submitted (out of memory, shutdown) only means fewer hands: this
     * thread runs whatever is left. */
    fronta_future_t *h[MAX_HELPERS];
    size_t nsub = 0;
    par *pp = &p;
    fronta_call_t c = {.fn = helper, .arg = &pp, .arg_size = sizeof pp,
                       .priority = ctx->task->priority, .name = "fronta_ctx_parallel"};
    for (size_t i = 0; i < nh; i++)
        if (fronta__submit(rt, &c, &h[nsub]) == 0)
            nsub++;
    run_indices(&p);
    /* Every index is claimed. A helper still queued has nothing left to
     * do: cancel it rather than wait for a worker to reach it. */
    for (size_t i = 0; i < nsub; i++)
        fronta_future_cancel(h[i]);
    for (size_t i = 0; i < nsub; i++) {
        while (fronta__future_wait(h[i], 3600.0) != 0)
            ;
        fronta_future_release(h[i]);
    }
    return 0;
}
