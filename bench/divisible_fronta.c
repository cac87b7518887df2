/* divisible_fronta.c — the divisible bench's fronta rows: the talk's graph over chunks (unfused), and one fused kernel per chunk. */
#include <string.h>

#include "divisible.h"

/* ---- the fused kernel: m = x % 3 == 0 & x % 5 == 0 & x % 7 == 0 --------- */

static int fused_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    const int64_t *x = args[0].ptr;
    uint8_t *m = args[1].ptr;

    /* One chunk per task, several chunks per pool thread (dv_nchunks):
     * the loop stays on this thread rather than spreading over the pool.
     * Called on each piece of its chunk when fused with the compaction. */
    (void)ctx;
    (void)nargs;
    for (size_t i = 0; i < n; i++)
        m[i] = (uint8_t)dv_keep(x[i]);
    return 0;
}

static const char fused_cl[] =
    "__kernel void dv_fused(__global const long *x, __global uchar *m)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    long v = x[i];\n"
    "    m[i] = (v % 3 == 0) & (v % 5 == 0) & (v % 7 == 0);\n"
    "}\n";

static const fronta_param_t fused_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_OUT},
};

static fronta_kernel_t *fused_kernel(fronta_runtime_t *rt)
{
    const fronta_kernel_desc_t desc = {
        .size = sizeof desc,
        .name = "bench.divisible_357",
        .params = fused_params,
        .nparams = sizeof fused_params / sizeof fused_params[0],
        .cpu = fused_cpu,
        .cl_source = fused_cl,
        .cl_entry = "dv_fused",
        /* It is: so the compaction after the map counts each 64 Ki piece
         * as the kernel writes it, in cache (docs/arrays.md, section 5). */
        .flags = FRONTA_KERNEL_ELEMENTWISE,
    };
    fronta_kernel_t *k = NULL;
    int rc;

    if (fronta_kernel_find(rt, desc.name, &k) == 0)
        return k;
    if ((rc = fronta_kernel_create(rt, &desc, &k)) != 0) {
        bench_api_error("fronta_kernel_create", rc);
        return NULL;
    }
    return k;
}

/* ---- the rows' runtime ------------------------------------------------ */

/* A runtime of the rows' own, the CPU pool alone (devices "cpu"), made at
 * the first run (the warm-up) and kept until the case ends. The rows
 * compare fronta with loops on the same cores: on the harness's runtime
 * (pool + PoCL, heft) the chunk tasks of fronta_compact, which need any
 * device, would also be placed on PoCL, which shares those two cores,
 * and the rows would measure the placement instead. */
static fronta_runtime_t *dv_rt;
static const bench_env_t *dv_rt_env;

void divisible_fronta_fini(void)
{
    if (dv_rt)
        bench_runtime_destroy(dv_rt_env, dv_rt);
    dv_rt = NULL;
}

static fronta_runtime_t *dv_runtime(const bench_env_t *env)
{
    fronta_config_t cfg = {.size = sizeof cfg, .devices = "cpu", .cpu_threads = env->threads};
    int rc;

    if (dv_rt)
        return dv_rt;
    if ((rc = bench_runtime_create(env, &cfg, &dv_rt)) != 0) {
        dv_rt = NULL;
        bench_api_error("fronta_runtime_create", rc);
        return NULL;
    }
    dv_rt_env = env;
    return dv_rt;
}

/* ---- one run ----------------------------------------------------------- */

/* What one run made, so that an error part-way still destroys it all
 * (destroying waits for the tasks: the host arrays are then free). */
typedef struct dv_run {
    fronta_runtime_t *rt;
    fronta_buffer_t *x, *out, *m[DV_MASKS];
    fronta_future_t *f[8];
    size_t nf;
    const char *failed;
    int rc;
} dv_run_t;

/* How fronta's rows cut the arrays: dv_nchunks, the OpenMP loop's blocks
 * (chunks of about 2^20 elements, at least one per pool thread: 8 MiB of
 * input per task, so the per-task cost vanishes at 2^26; one chunk per
 * thread at 2^16, where it does not). Not the automatic choice
 * (fronta_buffer_partition(b, NULL)): it never cuts fewer than 2 x 65536
 * elements, so at 2^16 one task on one thread would face the loop's two
 * threads; at 2^26 its 23 guided chunks measured the same as these. */
static fronta_partition_t dv_how(size_t n, int threads)
{
    return (fronta_partition_t){.size = sizeof(fronta_partition_t),
                                .nchunks = dv_nchunks(n, threads)};
}

static int run_ok(dv_run_t *r, int rc, const char *call)
{
    if (rc && !r->rc) {
        r->rc = rc;
        r->failed = call;
    }
    return r->rc == 0;
}

static void run_wrap(dv_run_t *r, void *p, size_t n, fronta_dtype_t t, fronta_buffer_t **b)
{
    if (r->rc == 0)
        run_ok(r, fronta_buffer_wrap(r->rt, p, n, t, b), "fronta_buffer_wrap");
}

static void run_partition(dv_run_t *r, fronta_buffer_t *b, const fronta_partition_t *how)
{
    if (r->rc == 0)
        run_ok(r, fronta_buffer_partition(b, how), "fronta_buffer_partition");
}

/* A map of k over args (nargs of them) onto every chunk. */
static void run_map(dv_run_t *r, fronta_kernel_t *k, const fronta_arg_t *args, size_t nargs)
{
    fronta_task_desc_t t = {
        .size = sizeof t,
        .kernel = k,
        .nargs = nargs,
        .needs.device = FRONTA_NEED_CPU_POOL,
        .name = "divisible chunk",
    };

    if (r->rc != 0)
        return;
    if (!k) {
        run_ok(r, FRONTA_ENOENT, "fronta_kernel_builtin");
        return;
    }
    memcpy(t.args, args, nargs * sizeof args[0]);
    if (run_ok(r, fronta_submit_map(r->rt, &t, &r->f[r->nf], NULL), "fronta_submit_map"))
        r->nf++;
}

/* The fused row's graph: one kernel per chunk writes the mask. */
static void graph_fused(dv_run_t *r)
{
    run_map(r, fused_kernel(r->rt), (fronta_arg_t[]){FRONTA_IN(r->x), FRONTA_OUT(r->m[0])},
            2);
}

/* The talk's graph: per chunk three divisible_by, two logical_and. */
static void graph_unfused(dv_run_t *r)
{
    fronta_kernel_t *div = fronta_kernel_builtin(r->rt, "divisible_by");
    fronta_kernel_t *land = fronta_kernel_builtin(r->rt, "logical_and");
    static const int64_t by[3] = {3, 5, 7};

    for (int i = 0; i < 3; i++)
        run_map(r, div, (fronta_arg_t[]){FRONTA_IN(r->x), FRONTA_I64(by[i]),
                                         FRONTA_OUT(r->m[1 + i])}, 3);
    run_map(r, land, (fronta_arg_t[]){FRONTA_IN(r->m[1]), FRONTA_IN(r->m[2]),
                                     FRONTA_OUT(r->m[4])}, 3);
    run_map(r, land, (fronta_arg_t[]){FRONTA_IN(r->m[4]), FRONTA_IN(r->m[3]),
                                     FRONTA_OUT(r->m[0])}, 3);
}

/* Wraps the arrays and cuts the input and the masks alike. */
static void run_setup(dv_run_t *r, dv_data_t *d, int nmasks)
{
    fronta_partition_t how = dv_how(d->n, fronta_runtime_cpu_threads(r->rt));

    run_wrap(r, d->x, d->n, FRONTA_INT64, &r->x);
    run_wrap(r, d->out, d->n, FRONTA_INT64, &r->out);
    for (int i = 0; i < nmasks; i++)
        run_wrap(r, d->mask[i], d->n, FRONTA_UINT8, &r->m[i]);
    run_partition(r, r->x, &how);
    for (int i = 0; i < nmasks; i++)
        run_partition(r, r->m[i], &how);
}

/* x[mask] into out and its count into *kept; then every buffer
 * destroyed (a partitioned one is unpartitioned first), which leaves the
 * result in the output array. */
static void run_compact(dv_run_t *r, int64_t *kept)
{
    fronta_future_t **f = &r->f[r->nf];

    if (r->rc == 0 && run_ok(r, fronta_compact(r->rt, r->x, r->m[0], r->out, f),
                             "fronta_compact")) {
        r->nf++;
        run_ok(r, fronta_future_result(*f, BENCH_WAIT_S, kept, sizeof *kept),
               "fronta_future_result (kept)");
    }
    fronta_buffer_t *all[2 + DV_MASKS] = {r->out, r->x};
    memcpy(all + 2, r->m, sizeof r->m);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        run_ok(r, fronta_buffer_destroy(all[i]), "fronta_buffer_destroy");
}

/* Timed: from the input in a host array to x[mask] in the output array,
 * buffers wrapped, partitioned and destroyed inside the clock, as a user
 * would call it once. The arrays (the masks included: a user calling
 * this repeatedly keeps them) are allocated outside. */
static bench_status_t run_graph(const bench_env_t *env, size_t n, int fused, double *value)
{
    dv_run_t r = {.rt = dv_runtime(env)};
    dv_data_t *d = dv_data_get(n);
    int64_t kept = -1;

    if (!r.rt || !d)
        return BENCH_ERROR;
    bench_row_runtime(env, r.rt);
    dv_data_poison(d);
    uint64_t t0 = bench_now_ns();
    run_setup(&r, d, fused ? 1 : DV_MASKS);
    if (fused)
        graph_fused(&r);
    else
        graph_unfused(&r);
    run_compact(&r, &kept);
    uint64_t t1 = bench_now_ns();

    *value = (double)(t1 - t0) / (double)n;
    bench_status_t st = r.rc ? bench_api_error(r.failed, r.rc) : BENCH_OK;
    if (bench_futures_check(r.f, r.nf, "divisible map") != BENCH_OK)
        st = BENCH_ERROR;
    if (st == BENCH_OK)
        st = dv_data_check(d, kept < 0 ? 0 : (size_t)kept,
                           fused ? "fronta_fused" : "fronta_unfused");
    return st;
}

bench_status_t divisible_fronta_fused(const bench_env_t *env, size_t n, double *value)
{
    return run_graph(env, n, 1, value);
}

bench_status_t divisible_fronta_unfused(const bench_env_t *env, size_t n, double *value)
{
    return run_graph(env, n, 0, value);
}
