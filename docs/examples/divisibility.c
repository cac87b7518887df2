/* divisibility.c — the talk's Dask demo (notebooks/dask_demo_solution.ipynb) in C: load_data, then inside a task chunks checked by nested tasks on "gpu" tokens that fail at random and are retried, then data[mask]. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <fronta.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The notebook's knobs: slowness = 1, failure_rate = 0.2, retries = 5,
 * num_chunks = 15, divisors = [3, 5, 7]. Its seconds are milliseconds
 * here, so that the example runs in well under a second. */
#define SLOWNESS_S 0.005
#define FAILURE_RATE 0.2
#define RETRIES 5
#define NUM_CHUNKS 15
static const int64_t divisors[3] = {3, 5, 7};

/* Counted by the kernel, on whichever pool thread runs it. */
static atomic_uint failed_attempts; /* "Random failure occurred!" */
static atomic_uint retried_tasks;   /* succeeded on a retry */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ---- the two functions the notebook submits to workers ----------------- */

/* def load_data(size, latency_s=slowness):
 *     time.sleep(latency_s)           # pretend we're fetching from remote storage
 *     return np.arange(size, dtype=np.int64)
 * A kernel with only a CPU implementation is how a plain C function
 * writes a buffer: args[0].ptr is the buffer's host array. */
static int load_data(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    int64_t *data = args[0].ptr;

    (void)ctx;
    (void)nargs;
    sleep_s(SLOWNESS_S);
    for (size_t i = 0; i < n; i++)
        data[i] = (int64_t)i;
    return 0;
}

/* def check_divisibility_single(data, by):
 *     if np.random.random() < failure_rate: raise ValueError("Random failure occurred!")
 *     time.sleep(by * slowness * np.random.random())   # random sleep to simulate work
 *     return (data % by) == 0
 * np.random becomes the task's own random stream: its values depend on
 * the runtime's seed, the task and the attempt, never on which thread
 * runs it or when, so a run is reproducible (the talk's np.random gotcha,
 * solved by construction). CPU only, as the stream is. */
static int check_divisibility_single(fronta_ctx_t *ctx, const fronta_karg_t *args,
                                     size_t nargs, size_t n)
{
    const int64_t *data = args[0].ptr;
    int64_t by = args[1].v.i64;
    uint8_t *mask = args[2].ptr;

    (void)nargs;
    if (fronta_ctx_random_double(ctx) < FAILURE_RATE) {
        atomic_fetch_add(&failed_attempts, 1);
        return fronta_ctx_fail(ctx, FRONTA_ETASK, "Random failure occurred!");
    }
    sleep_s((double)by * SLOWNESS_S * fronta_ctx_random_double(ctx));
    for (size_t i = 0; i < n; i++)
        mask[i] = data[i] % by == 0;
    if (fronta_ctx_attempt(ctx) > 0)
        atomic_fetch_add(&retried_tasks, 1);
    return 0;
}

/* ---- the two functions that split the work from inside tasks ------------ */

typedef struct chunk_job {
    fronta_buffer_t *data, *mask;   /* chunk i of each */
    fronta_kernel_t *single;
} chunk_job;

/* The first failure among fs (waited for), as this task's error. */
static int first_error(fronta_ctx_t *ctx, fronta_future_t **fs, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        fronta_error_t e;
        int rc = fs[i] ? fronta_future_error(fs[i], &e) : FRONTA_EINVAL;
        if (rc)
            return fronta_ctx_fail(ctx, rc, "%s %zu: %s", what, i,
                                   fs[i] && e.message ? e.message : fronta_strerror(rc));
    }
    return 0;
}

/* def check_divisibility(data, divisors):
 *     with worker_client() as wc:
 *         part_futs = [wc.submit(check_divisibility_single, data, by,
 *                                resources={"GPU": 1}, retries=retries) for by in divisors]
 *         parts = wc.gather(part_futs)
 *     return np.logical_and.reduce(parts)
 * A task submits tasks as any thread does; waiting inside a task runs
 * other tasks meanwhile (Dask's worker_client secedes the same way). */
static int check_divisibility(fronta_ctx_t *ctx, void *arg)
{
    const chunk_job *job = arg;
    fronta_runtime_t *rt = fronta_ctx_runtime(ctx);
    size_t n = fronta_buffer_count(job->data), nd;
    fronta_buffer_t *parts[3] = {0}, *both = NULL;
    fronta_future_t *futs[3] = {0}, *and_futs[2] = {0};
    fronta_kernel_t *land = fronta_kernel_builtin(rt, "logical_and");
    int rc = 0;

    for (int i = 0; i < 3 && rc == 0; i++) {
        if ((rc = fronta_buffer_create(rt, n, FRONTA_UINT8, &parts[i])) != 0)
            break;
        fronta_task_desc_t t = {
            .kernel = job->single,
            .args = {FRONTA_IN(job->data), FRONTA_I64(divisors[i]), FRONTA_OUT(parts[i])},
            .resources = {{"gpu", 1}}, /* resources={"GPU": 1}: two run at once */
            .nresources = 1,
            .retries = RETRIES,        /* retries=retries */
            .name = "check_divisibility_single",
        };
        rc = fronta_submit(rt, &t, &futs[i]);
    }
    /* parts = wc.gather(part_futs) */
    if (rc == 0 && (rc = fronta_wait(futs, 3, -1.0, FRONTA_ALL_COMPLETED, &nd)) == 0)
        rc = first_error(ctx, futs, 3, "check_divisibility_single");
    /* np.logical_and.reduce(parts): (3 and 5) and 7, into this chunk of
     * the mask; the tasks follow one another through their buffers. */
    if (rc == 0 && (rc = fronta_buffer_create(rt, n, FRONTA_UINT8, &both)) == 0) {
        fronta_task_desc_t a = {.kernel = land, .name = "logical_and",
                                .args = {FRONTA_IN(parts[0]), FRONTA_IN(parts[1]),
                                         FRONTA_OUT(both)}};
        fronta_task_desc_t b = {.kernel = land, .name = "logical_and",
                                .args = {FRONTA_IN(both), FRONTA_IN(parts[2]),
                                         FRONTA_OUT(job->mask)}};
        if ((rc = fronta_submit(rt, &a, &and_futs[0])) == 0 &&
            (rc = fronta_submit(rt, &b, &and_futs[1])) == 0 &&
            (rc = fronta_future_wait(and_futs[1], -1.0)) == 0)
            rc = first_error(ctx, and_futs, 2, "logical_and");
    }
    for (int i = 0; i < 3; i++) {
        fronta_future_release(futs[i]);
        (void)fronta_buffer_destroy(parts[i]); /* waits for its tasks */
    }
    for (int i = 0; i < 2; i++)
        fronta_future_release(and_futs[i]);
    (void)fronta_buffer_destroy(both);
    return rc;
}

typedef struct split_job {
    fronta_buffer_t *data, *out;
    fronta_kernel_t *single;
} split_job;

/* def is_divisible_by(data, divisors, num_chunks):
 *     with worker_client() as wc:
 *         chunks = np.array_split(data, num_chunks)
 *         part_futs = [wc.submit(check_divisibility, c, divisors) for c in chunks]
 *         parts = wc.gather(part_futs)
 *     return data[np.concatenate(parts, axis=0)]
 * Its result is how many elements it kept, an int64; they are in out. */
static int is_divisible_by(fronta_ctx_t *ctx, void *arg)
{
    const split_job *job = arg;
    fronta_runtime_t *rt = fronta_ctx_runtime(ctx);
    /* np.array_split's cut: the first count % num_chunks chunks one longer. */
    fronta_partition_t how = {.nchunks = NUM_CHUNKS};
    fronta_future_t *part_futs[NUM_CHUNKS] = {0}, *kept_f = NULL;
    fronta_buffer_t *mask = NULL;
    int64_t kept = 0;
    size_t nd;
    int rc;

    if ((rc = fronta_buffer_partition(job->data, &how)) != 0)
        return fronta_ctx_fail(ctx, rc, "array_split: %s", fronta_last_error());
    if ((rc = fronta_buffer_create(rt, fronta_buffer_count(job->data), FRONTA_UINT8,
                                   &mask)) == 0)
        rc = fronta_buffer_partition(mask, &how);
    for (size_t i = 0; i < NUM_CHUNKS && rc == 0; i++) {
        chunk_job c = {fronta_buffer_chunk(job->data, i), fronta_buffer_chunk(mask, i),
                       job->single};
        rc = fronta_submit_fn(rt, check_divisibility, &c, sizeof c, &part_futs[i]);
    }
    /* parts = wc.gather(part_futs): all of them, even after a failure, so
     * that no check is still writing the mask when it goes. */
    if (rc == 0 && (rc = fronta_wait(part_futs, NUM_CHUNKS, -1.0, FRONTA_ALL_COMPLETED,
                                     &nd)) == 0)
        rc = first_error(ctx, part_futs, NUM_CHUNKS, "check_divisibility on chunk");
    /* data[np.concatenate(parts)]: count per chunk, scan, scatter. */
    if (rc == 0 && (rc = fronta_compact(rt, job->data, mask, job->out, &kept_f)) == 0)
        rc = fronta_future_result(kept_f, -1.0, &kept, sizeof kept);
    for (size_t i = 0; i < NUM_CHUNKS; i++)
        fronta_future_release(part_futs[i]);
    fronta_future_release(kept_f);
    (void)fronta_buffer_destroy(mask); /* unpartitions it first */
    (void)fronta_buffer_unpartition(job->data);
    return rc ? rc : fronta_ctx_return(ctx, &kept, sizeof kept);
}

/* ---- the notebook's cells ------------------------------------------------ */

static const fronta_param_t load_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT},
};
static const fronta_param_t single_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_I64},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_OUT},
};

/* Exit status 1 unless out[0 .. kept) is what a serial loop over
 * np.arange(size) keeps. */
static int check(const int64_t *out, int64_t kept, size_t size)
{
    int64_t k = 0;

    for (size_t i = 0; i < size; i++) {
        int64_t x = (int64_t)i;
        if (x % 3 == 0 && x % 5 == 0 && x % 7 == 0) {
            if (k >= kept || out[k] != x) {
                fprintf(stderr, "divisibility: element %lld is %lld, expected %lld\n",
                        (long long)k, k < kept ? (long long)out[k] : -1LL, (long long)x);
                return 1;
            }
            k++;
        }
    }
    if (k != kept) {
        fprintf(stderr, "divisibility: kept %lld elements, expected %lld\n", (long long)kept,
                (long long)k);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? strtoull(argv[1], NULL, 0) : (size_t)1 << 20;
    fronta_config_t cfg = {
        .resources = "pool:gpu=2", /* dask.config.set({"...resources.GPU": 2}) */
        .seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 2025,
    };
    fronta_runtime_t *rt;
    fronta_kernel_t *kload, *ksingle;
    fronta_buffer_t *data, *out;
    fronta_future_t *data_future, *result_future;
    int64_t kept = -1, *result = malloc((size ? size : 1) * sizeof *result);
    int rc;

    if (size < NUM_CHUNKS || !result) {
        fprintf(stderr, "usage: divisibility [SIZE >= %d] [SEED]\n", NUM_CHUNKS);
        free(result);
        return 2;
    }
    /* client = Client(), with two GPU tokens on its workers */
    if (fronta_runtime_create(&cfg, &rt) != 0)
        return 1;
    fronta_kernel_desc_t dl = {.name = "load_data", .params = load_params, .nparams = 1,
                               .cpu = load_data};
    fronta_kernel_desc_t ds = {.name = "check_divisibility_single", .params = single_params,
                               .nparams = 3, .cpu = check_divisibility_single};
    if (fronta_kernel_create(rt, &dl, &kload) != 0 ||
        fronta_kernel_create(rt, &ds, &ksingle) != 0 ||
        fronta_buffer_create(rt, size, FRONTA_INT64, &data) != 0 ||
        fronta_buffer_wrap(rt, result, size, FRONTA_INT64, &out) != 0)
        return 1;

    /* 1) data_future = client.submit(load_data, size) */
    fronta_task_desc_t load = {.kernel = kload, .args = {FRONTA_OUT(data)}, .name = "load_data"};
    if (fronta_submit(rt, &load, &data_future) != 0)
        return 1;
    /* 2) result_future = client.submit(is_divisible_by, data_future, ...) */
    split_job job = {data, out, ksingle};
    fronta_call_t call = {.fn = is_divisible_by, .arg = &job, .arg_size = sizeof job,
                          .after = &data_future, .nafter = 1, .name = "is_divisible_by"};
    if (fronta_submit_call(rt, &call, &result_future) != 0)
        return 1;
    /* 3) result = result_future.result() */
    rc = fronta_future_result(result_future, -1.0, &kept, sizeof kept);
    if (rc != 0) {
        fronta_error_t e;
        fronta_future_error(result_future, &e);
        fprintf(stderr, "divisibility: %s\n", e.message ? e.message : fronta_strerror(rc));
    }
    /* out's host array, result[], now holds data[mask]. */
    if (fronta_buffer_destroy(out) != 0 || fronta_buffer_destroy(data) != 0)
        rc = rc ? rc : 1;
    fronta_runtime_destroy(rt);
    if (rc == 0 && (rc = check(result, kept, size)) == 0)
        printf("kept %lld of %zu elements (the last %lld); %u attempts failed at random "
               "and were retried (%u tasks needed a retry)\n",
               (long long)kept, size, (long long)result[kept - 1],
               atomic_load(&failed_attempts), atomic_load(&retried_tasks));
    free(result);
    return rc != 0;
}
