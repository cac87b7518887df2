/* Concatenation of whole buffers into one: fronta_concat. */
#include "data/chunkops.h"

/* The done future's task: it reads out after the unpartition, which is
 * done when every piece is home (and fails with the first failed one). */
static int concat_done_run(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx, (void)a, (void)na, (void)n;
    return 0;
}

static int concat_check(fronta_runtime_t *rt, fronta_buffer_t *const *bufs, size_t n,
                        fronta_buffer_t *out)
{
    if (!bufs || !n)
        return fronta__fail(FRONTA_EINVAL, "concat: no buffers");
    int rc = fronta__chunkops_buffer(rt, out, "concat: out");
    if (rc)
        return rc;
    if ((rc = fronta__buffer_usable(out)))
        return fronta__chunkops_fail(rc, "concat: out");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const fronta_buffer_t *b = bufs[i];
        if (fronta__chunkops_buffer(rt, b, "concat"))
            return fronta__fail(FRONTA_EINVAL, "concat: bufs[%zu] is not a buffer of this "
                                "runtime", i);
        if (b == out)
            return fronta__fail(FRONTA_EARG, "concat: bufs[%zu] is out", i);
        if (b->type != out->type)
            return fronta__fail(FRONTA_EARG, "concat: bufs[%zu] is not of out's type", i);
        if ((rc = fronta__buffer_usable(b)))
            return fronta__fail(rc, "concat: bufs[%zu] is partitioned, a retired chunk or "
                                "being freed: concatenate whole buffers (chunks are)", i);
        if (fronta__size_add(total, b->count, &total))
            return fronta__fail(FRONTA_ESIZE, "concat: the counts overflow");
    }
    if (total != out->count)
        return fronta__fail(FRONTA_ESIZE, "concat: the buffers hold %zu elements, out %zu",
                            total, out->count);
    return 0;
}

/* One copy per piece of out, partitioned by the buffers' counts, behind
 * a gate. Out of memory part-way, the copies, still pending, are
 * cancelled: out keeps its contents (its next reader sees a cancelled
 * writer). */
static int concat_pieces(fronta_runtime_t *rt, fronta_kernel_t *copy,
                         fronta_buffer_t *const *bufs, size_t n, fronta_buffer_t *out,
                         fronta_kernel_t *kd, fronta_future_t **done)
{
    fronta_future_t **fs = fronta__mem_calloc(&rt->alloc, n, sizeof *fs);
    size_t *len = fs ? fronta__mem_calloc(&rt->alloc, n, sizeof *len) : NULL;
    fronta__gate gate = {NULL, NULL};
    int rc = len ? fronta__chunkops_gate_close(rt, &gate)
                 : fronta__fail(FRONTA_ENOMEM, "concat: out of memory");
    for (size_t i = 0; !rc && i < n; i++)
        len[i] = bufs[i]->count;
    fronta_partition_t how = {.size = sizeof how, .lengths = len, .nlengths = n};
    int parted = 0;
    if (!rc && (rc = fronta_buffer_partition(out, &how)))
        rc = fronta__chunkops_fail(rc, "concat: out");
    else if (!rc)
        parted = 1;
    fronta_task_desc_t d = {.size = sizeof d, .kernel = copy, .nargs = 2, .name = "concat",
                            .after = &gate.f, .nafter = gate.f != NULL};
    for (size_t i = 0; !rc && i < n; i++) {
        d.args[0] = FRONTA_IN(bufs[i]);
        d.args[1] = FRONTA_OUT(fronta_buffer_chunk(out, i));
        fronta__chunkops_clear();
        if ((rc = fronta__ktask_check(rt, &d)))
            rc = fronta__chunkops_fail(rc, "concat: a piece");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        d.args[0] = FRONTA_IN(bufs[i]);
        d.args[1] = FRONTA_OUT(fronta_buffer_chunk(out, i));
        if ((rc = fronta_submit(rt, &d, &fs[i])))
            rc = fronta__fail(rc, "concat: piece %zu of %zu: %s", i, n, fronta_strerror(rc));
    }
    if (parted) {
        int urc = fronta_buffer_unpartition(out);
        rc = rc ? rc : urc;
    }
    fronta_arg_t arg = FRONTA_IN(out);
    if (!rc && done &&
        (rc = fronta__ktask_submit_internal(rt, kd, &arg, 1, NULL, 0, NULL, NULL, 1, done)))
        rc = fronta__fail(rc, "concat: out of memory for the done future");
    for (size_t i = 0; rc && fs && i < n; i++)
        if (fs[i])
            (void)fronta_future_cancel(fs[i]);
    fronta__chunkops_gate_open(&gate);
    for (size_t i = 0; fs && i < n; i++)
        if (fs[i])
            fronta_future_release(fs[i]);
    if (len)
        fronta__mem_free(&rt->alloc, len, n * sizeof *len);
    if (fs)
        fronta__mem_free(&rt->alloc, fs, n * sizeof *fs);
    return rc;
}

int fronta_concat(fronta_runtime_t *rt, fronta_buffer_t *const *bufs, size_t n,
                  fronta_buffer_t *out, fronta_future_t **done)
{
    if (done)
        *done = NULL;
    if (!rt)
        return fronta__fail(FRONTA_EINVAL, "concat: NULL runtime");
    int rc = concat_check(rt, bufs, n, out);
    if (rc)
        return rc;
    fronta_kernel_t *copy = fronta_kernel_builtin(rt, "copy");
    fronta_kernel_t *kd = fronta__kernel_internal(rt, "fronta.concat", concat_done_run);
    if (!copy || !kd)
        return fronta__fail(FRONTA_ENOMEM, "concat: out of memory");
    if (n == 1) {
        fronta_task_desc_t d = {.size = sizeof d, .kernel = copy, .nargs = 2, .name = "concat",
                                .args = {FRONTA_IN(bufs[0]), FRONTA_OUT(out)}};
        fronta__chunkops_clear();
        rc = fronta_submit(rt, &d, done);
        return rc ? fronta__chunkops_fail(rc, "concat") : 0;
    }
    return concat_pieces(rt, copy, bufs, n, out, kd, done);
}
