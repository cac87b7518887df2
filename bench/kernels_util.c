/* kernels_util.c — what the kernels bench's cases share: aligned arrays, inputs, and the timed fronta run. */
#include <stdlib.h>

#include "kernels_bench.h"

void *kb_alloc(size_t count, size_t size)
{
    void *p = NULL;

    /* Page-aligned, as zero-copy OpenCL paths want for a wrapped array. */
    if (size && count > ((size_t)-1 - 4096) / size) {
        fprintf(stderr, "fronta-bench: kernels: %zu x %zu bytes is too big\n", count, size);
        return NULL;
    }
    size_t bytes = count * size;

    /* posix_memalign may return NULL for 0 bytes: ask for one. */
    if (posix_memalign(&p, 4096, bytes > 0 ? bytes : 1) != 0) {
        fprintf(stderr, "fronta-bench: kernels: out of memory for %zu x %zu bytes\n", count,
                size);
        return NULL;
    }
    return p;
}

static struct {
    const bench_case_t *owner;
    void *p[KB_SCRATCH_SLOTS];
    size_t bytes[KB_SCRATCH_SLOTS];
    int registered;
} scratch;

static void scratch_free(void)
{
    for (int i = 0; i < KB_SCRATCH_SLOTS; i++) {
        free(scratch.p[i]);
        scratch.p[i] = NULL;
        scratch.bytes[i] = 0;
    }
    scratch.owner = NULL;
}

void *kb_scratch(const bench_case_t *c, int slot, size_t count, size_t size)
{
    if (slot < 0 || slot >= KB_SCRATCH_SLOTS)
        return NULL;
    if (!scratch.registered)
        scratch.registered = bench_at_exit(scratch_free) == 0;
    if (scratch.owner != c)
        scratch_free();
    scratch.owner = c;
    if (!scratch.p[slot] || scratch.bytes[slot] < count * size) {
        free(scratch.p[slot]);
        scratch.bytes[slot] = 0;
        if (!(scratch.p[slot] = kb_alloc(count, size)))
            return NULL;
        scratch.bytes[slot] = count * size;
    }
    return scratch.p[slot];
}

uint64_t kb_hash(uint64_t seed, uint64_t i)
{
    /* splitmix64's finaliser: consecutive indices give unrelated bits. */
    uint64_t z = seed * 0x9e3779b97f4a7c15u + i * 0xbf58476d1ce4e5b9u + 1;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

fronta_kernel_t *kb_kernel(const bench_env_t *env, const char *name)
{
    fronta_kernel_t *k = fronta_kernel_builtin(env->rt, name);

    if (!k)
        fprintf(stderr, "fronta-bench: fronta_kernel_builtin(\"%s\") returned NULL\n", name);
    return k;
}

fronta_buffer_t *kb_wrap(const bench_env_t *env, kb_bufs_t *bs, void *data, size_t count,
                         fronta_dtype_t type)
{
    int rc;

    if (bs->n == KB_MAX_BUFS) {
        fprintf(stderr, "fronta-bench: kernels: more than %d buffers\n", KB_MAX_BUFS);
        return NULL;
    }
    if ((rc = fronta_buffer_wrap(env->rt, data, count, type, &bs->b[bs->n])) != 0) {
        bench_api_error("fronta_buffer_wrap", rc);
        return NULL;
    }
    return bs->b[bs->n++];
}

bench_status_t kb_unwrap(kb_bufs_t *bs)
{
    bench_status_t st = BENCH_OK;

    /* Every one, even after a failure: each destroy waits for the tasks on
     * its buffer, so the host arrays may be freed afterwards. */
    for (size_t i = 0; i < bs->n; i++) {
        int rc = fronta_buffer_destroy(bs->b[i]);
        if (rc != 0 && st == BENCH_OK)
            st = bench_api_error("fronta_buffer_destroy", rc);
    }
    bs->n = 0;
    return st;
}

double kb_ms(uint64_t t0, uint64_t t1)
{
    return (double)(t1 - t0) / 1e6;
}

bench_status_t kb_fronta_time(const bench_env_t *env, const fronta_task_desc_t *tasks,
                              size_t ntasks, fronta_buffer_t *result, double *ms)
{
    fronta_future_t *f[KB_MAX_TASKS] = {0};
    const char *failed = NULL;
    bench_status_t st = BENCH_OK;
    size_t nf = 0;
    int rc = 0;

    if (ntasks == 0 || ntasks > KB_MAX_TASKS) {
        fprintf(stderr, "fronta-bench: kernels: %zu tasks (1..%d)\n", ntasks, KB_MAX_TASKS);
        return BENCH_ERROR;
    }
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < ntasks; i++) {
        if ((rc = fronta_submit(env->rt, &tasks[i], &f[nf])) != 0) {
            failed = "fronta_submit";
            break;
        }
        nf++;
    }
    if (rc == 0 && (rc = fronta_future_wait(f[nf - 1], BENCH_WAIT_S)) != 0)
        failed = "fronta_future_wait";
    /* A failed task leaves its failure on the buffer it writes: the
     * acquire reports it too, so the result is never read as valid. */
    if (rc == 0 && (rc = fronta_buffer_acquire(result, FRONTA_ACCESS_IN, BENCH_WAIT_S, NULL)) == 0)
        rc = fronta_buffer_release(result);
    if (rc != 0 && !failed)
        failed = "fronta_buffer_acquire/release";
    uint64_t t1 = bench_now_ns();

    *ms = kb_ms(t0, t1);
    if (rc)
        st = bench_api_error(failed, rc);
    if (bench_futures_check(f, nf, tasks[0].name ? tasks[0].name : "kernels task") != BENCH_OK)
        st = BENCH_ERROR;
    return st;
}
