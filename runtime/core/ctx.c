/* What a running task sees: its inputs, its result, errors, random stream. */
#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Room for a result of size bytes: the inline bytes, the heap block it
 * already has when the size is the same, or a new one (NULL: no memory). */
static void *result_room(fronta_future_t *t, size_t size)
{
    if (size <= FRONTA__RES_INLINE)
        return t->res_inline;
    if ((t->flags & FRONTA__F_RES_HEAP) && t->res_size == size)
        return t->res;
    return fronta__mem_alloc(&t->rt->alloc, size);
}

/* dst (from result_room) becomes the result; the old one is freed. */
static void result_set(fronta_future_t *t, void *dst, size_t size)
{
    if ((t->flags & FRONTA__F_RES_HEAP) && dst != t->res) {
        fronta__mem_free(&t->rt->alloc, t->res, t->res_size);
        t->flags &= ~FRONTA__F_RES_HEAP;
    }
    if (dst != t->res_inline)
        t->flags |= FRONTA__F_RES_HEAP;
    t->res = dst;
    t->res_size = (uint32_t)size;
}

void *fronta_ctx_result_buffer(fronta_ctx_t *ctx, size_t size)
{
    if (!ctx || !ctx->task || size > UINT32_MAX)
        return NULL;
    void *dst = result_room(ctx->task, size);
    if (dst) /* else the previous result stays */
        result_set(ctx->task, dst, size);
    return dst;
}

int fronta_ctx_return(fronta_ctx_t *ctx, const void *value, size_t size)
{
    if (!ctx || (size && !value))
        return FRONTA_EINVAL;
    if (size > UINT32_MAX)
        return FRONTA_ERANGE;
    void *dst = result_room(ctx->task, size);
    if (!dst)
        return FRONTA_ENOMEM; /* the previous result stays */
    if (size) /* before the old result is freed: value may point into it */
        memmove(dst, value, size);
    result_set(ctx->task, dst, size);
    return 0;
}

int fronta_ctx_fail(fronta_ctx_t *ctx, int code, const char *fmt, ...)
{
    if (code >= 0)
        code = FRONTA_ETASK;
    if (!ctx)
        return code;
    char buf[512];
    buf[0] = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
    }
    fronta_future_t *t = ctx->task;
    fronta__set_error(t, code, t->id, fmt ? buf : NULL);
    return code;
}

size_t fronta_ctx_ninputs(const fronta_ctx_t *ctx)
{
    return ctx ? ctx->task->ndeps : 0;
}

const void *fronta_ctx_input(const fronta_ctx_t *ctx, size_t i, size_t *size)
{
    if (!ctx || i >= ctx->task->ndeps) {
        if (size)
            *size = 0;
        return NULL;
    }
    const fronta_future_t *p = ctx->task->deps[i].pred;
    if (size)
        *size = p->res_size;
    return p->res;
}

int fronta_ctx_input_copy(const fronta_ctx_t *ctx, size_t i, void *out, size_t size)
{
    if (!ctx || i >= ctx->task->ndeps || (size && !out))
        return FRONTA_EINVAL;
    const fronta_future_t *p = ctx->task->deps[i].pred;
    if (p->res_size != size)
        return FRONTA_ESIZE;
    if (size)
        memcpy(out, p->res, size);
    return 0;
}

fronta_runtime_t *fronta_ctx_runtime(const fronta_ctx_t *ctx)
{
    return ctx ? ctx->task->rt : NULL;
}

uint64_t fronta_ctx_task_id(const fronta_ctx_t *ctx)
{
    return ctx ? ctx->task->id : 0;
}

unsigned fronta_ctx_attempt(const fronta_ctx_t *ctx)
{
    return ctx ? ctx->task->attempt : 0;
}

int fronta_ctx_worker(const fronta_ctx_t *ctx)
{
    return ctx && ctx->worker ? ctx->worker->index : -1;
}

int fronta_ctx_cancel_requested(const fronta_ctx_t *ctx)
{
    if (!ctx)
        return 0;
    return atomic_load_explicit(&ctx->task->cancel_req, memory_order_relaxed) ||
           (atomic_load_explicit(&ctx->task->rt->flags, memory_order_relaxed) &
            FRONTA__RT_CANCELLING);
}

uint64_t fronta_random_u64(uint64_t seed, uint64_t key, uint64_t counter)
{
    /* Counter-based: hash (seed, key, counter) with chained SplitMix64
     * finalisers; no state to share, so no thread can perturb it. */
    uint64_t h = fronta__mix64(seed ^ 0x243f6a8885a308d3ull);
    h = fronta__mix64(h ^ key);
    return fronta__mix64(h + (counter + 1) * 0x9e3779b97f4a7c15ull);
}

uint64_t fronta_ctx_random(fronta_ctx_t *ctx)
{
    if (!ctx)
        return 0;
    const fronta_future_t *t = ctx->task;
    uint64_t key = t->attempt ? fronta__mix64(t->key ^ t->attempt) : t->key;
    return fronta_random_u64(t->rt->set.seed, key, ctx->rng_counter++);
}

double fronta_ctx_random_double(fronta_ctx_t *ctx)
{
    return (double)(fronta_ctx_random(ctx) >> 11) * 0x1.0p-53;
}
