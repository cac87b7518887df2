/* Promises: futures that no task backs, settled from outside the pool
 * (libfronta_mpi's handles of tasks that run on another rank, or whose
 * outcome it relays). Declared in data/deferred.h. */
#include "core/internal.h"
#include "data/deferred.h"

#include <string.h>

/* Never called: a promise is never scheduled (it is created RUNNING). */
static int promise_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx, (void)arg;
    return FRONTA_ETASK;
}

int fronta__promise_new(fronta_runtime_t *rt, uint64_t id, uint64_t key, const char *name,
                        fronta_future_t **out)
{
    if (out)
        *out = NULL;
    if (!rt || !out)
        return fronta__fail(FRONTA_EINVAL, "promise: no runtime or out");
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    /* Counted as a task: fronta_runtime_wait_all and shutdown(WAIT) wait
     * for its settle, and complete_one's count of completions balances. */
    int rc = fronta__enter(rt, &sub, 1);
    if (rc)
        return rc;
    /* Its argument bytes hold the device fronta_future_device reports. */
    int dev = -1;
    fronta_call_t c = {.size = sizeof c, .fn = promise_fn, .arg = &dev, .arg_size = sizeof dev,
                       .name = name};
    fronta_future_t *t;
    if ((rc = fronta__task_new(rt, &sub, &c, 1, &t))) {
        fronta__unenter(rt, &sub, 1);
        return fronta__fail(rc, "promise: out of memory");
    }
    if (id)
        t->id = id; /* before anyone sees t: what errors and task_id name */
    if (key)
        t->key = key;
    /* RUNNING from the start: fronta_future_cancel answers FRONTA_EBUSY,
     * as for a task under way elsewhere, and no claim races the settle. */
    fronta__task_start(t);
    *out = t;
    return 0;
}

int fronta__promise_settle(fronta_future_t *f, int code, uint64_t root, const char *msg,
                           const void *res, size_t size)
{
    if (!fronta__task_valid(f) || f->fn != promise_fn || (size && !res) || size > UINT32_MAX)
        return FRONTA_EINVAL;
    if (FRONTA__FINAL(atomic_load_explicit(&f->state, memory_order_acquire)))
        return FRONTA_EBUSY;
    if (code == 0 && size) {
        void *dst = size <= FRONTA__RES_INLINE ? f->res_inline
                                               : fronta__mem_alloc(&f->rt->alloc, size);
        if (!dst) {
            code = FRONTA_ENOMEM;
            msg = "promise: out of memory for the result";
        } else {
            memcpy(dst, res, size);
            if (dst != f->res_inline)
                f->flags |= FRONTA__F_RES_HEAP;
            f->res = dst;
            f->res_size = (uint32_t)size;
        }
    }
    if (code) {
        f->final = code == FRONTA_ECANCELLED ? FRONTA__ST_CANCELLED : FRONTA__ST_FAILED;
        fronta__set_error(f, code, root ? root : f->id, msg);
    } else {
        f->final = FRONTA__ST_FINISHED;
    }
    /* Written above before complete's release publishes the state. */
    fronta__complete(f);
    fronta__task_release(f); /* the reference the execution would have held */
    return 0;
}

int fronta__promise_set_device(fronta_future_t *f, int device)
{
    if (!fronta__task_valid(f) || f->fn != promise_fn)
        return FRONTA_EINVAL;
    /* Atomic: a thread may ask fronta_future_device meanwhile. */
    __atomic_store_n((int *)f->arg, device, __ATOMIC_RELEASE);
    return 0;
}

int fronta__promise_device(const fronta_future_t *f, int *device)
{
    if (f->fn != promise_fn)
        return 0;
    *device = __atomic_load_n((const int *)f->arg, __ATOMIC_ACQUIRE);
    return 1;
}
