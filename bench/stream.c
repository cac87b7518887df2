/* stream.c — the stream bench: x *= a over a float array streamed in chunks through an OpenCL device whose memory fronta limits to an eighth of it, against the same program with no limit. */
#include <stdlib.h>
#include <string.h>

#include "stream.h"

/* The array is 256 MiB (16 MiB with --quick); the limited device holds an
 * eighth of it. GB/s counts the array's bytes once per run (10^9 bytes):
 * what the program holds, not what crosses the bus (each byte goes to the
 * device and back). */
const bench_case_t stream_out_of_core = {
    .bench = "stream", .name = "out_of_core",
    .metric = "GB_per_s", .unit = "GB/s", .higher_is_better = 1,
    .size = (size_t)1 << 26, .quick_size = (size_t)1 << 22,
    .reference = "fronta_opencl",
    .note = "no hand-written baseline; ratio is to fronta_opencl, the same program with "
            "no device memory limit (target: fronta <= 1.25, i.e. >= 0.8x its speed)",
    .fini = stream_out_of_core_fini,
};

/* Small integers times 3 stay exact in float: the check is bit-exact. */
#define ST_A 3.0f
/* 1 MiB chunks; arrays under 16 MiB get 16 chunks (--size 1000: smoke). */
#define ST_CHUNK ((size_t)1 << 18)
#define ST_MIN_CHUNKS 16
/* Calls of a row whose eviction counts are kept for the summary. */
#define ST_MAX_RUNS 64

static size_t st_chunk_len(size_t n)
{
    size_t len = (n + ST_MIN_CHUNKS - 1) / ST_MIN_CHUNKS;

    return len < 1 ? 1 : len > ST_CHUNK ? ST_CHUNK : len;
}

/* An eighth of the array, and room for two chunks at least: one being
 * computed, the next being uploaded. */
static uint64_t st_limit(size_t n)
{
    uint64_t lim = (uint64_t)n * sizeof(float) / 8, two = 2 * st_chunk_len(n) * sizeof(float);

    return lim < two ? two : lim;
}

static float st_input(size_t i)
{
    return (float)(i % 1000 + 1);
}

/* Page-aligned, every page touched (outside the clock); NULL after saying so. */
static float *st_data_new(size_t n)
{
    void *p = NULL;

    if (posix_memalign(&p, 4096, n * sizeof(float)) != 0) {
        fprintf(stderr, "fronta-bench: out of memory for %zu floats\n", n);
        return NULL;
    }
    float *x = p;
    for (size_t i = 0; i < n; i++)
        x[i] = st_input(i);
    return x;
}

static bench_status_t st_check(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (x[i] != st_input(i) * ST_A) {
            fprintf(stderr, "fronta-bench: stream: x[%zu] = %g, expected %g\n", i, (double)x[i],
                    (double)(st_input(i) * ST_A));
            return BENCH_WRONG;
        }
    }
    return BENCH_OK;
}

/* ---- the device's memory figures ---------------------------------------- */

/* Over the runtime's OpenCL devices (fronta_device_stats): the largest
 * peak, the evictions, write-backs and bytes copied so far, and whether
 * some device went past its limit or has another limit than the one
 * asked for. */
typedef struct st_mem {
    uint64_t peak, limit, evictions, writebacks, to_dev, to_host;
    int devices, over, other_limit;
} st_mem;

static void st_mem_read(fronta_runtime_t *rt, uint64_t want_limit, st_mem *m)
{
    int n = fronta_device_count(rt);

    memset(m, 0, sizeof *m);
    for (int id = 1; id < n; id++) {
        fronta_device_stats_t d = {.size = sizeof d};

        if (fronta_device_stats(rt, id, &d) != 0)
            continue;
        m->devices++;
        m->peak = d.mem_peak > m->peak ? d.mem_peak : m->peak;
        m->limit = d.mem_limit > m->limit ? d.mem_limit : m->limit;
        m->evictions += d.evictions;
        m->writebacks += d.writebacks;
        m->to_dev += d.bytes_to_device;
        m->to_host += d.bytes_to_host;
        m->over |= d.mem_limit && d.mem_peak > d.mem_limit;
        m->other_limit |= d.mem_limit != want_limit;
    }
}

/* ---- the rows' runtimes ------------------------------------------------- */

/* What the summary gives per run (median over the row's calls). */
enum st_fig { ST_EVICTIONS, ST_WRITEBACKS, ST_UP_MIB, ST_DOWN_MIB, ST_NFIGS };

/* Each row's runtime, made at its first run (outside the clock) and kept
 * until the case ends: pool + OpenCL devices as the harness's, the copy
 * path forced (zero_copy -1: PoCL shares host memory, and mapping would
 * move nothing), and for "fronta" the limit. Also what the row measured
 * for the summary. */
typedef struct st_row {
    const char *impl;
    int limited;
    fronta_runtime_t *rt;
    const bench_env_t *env;
    size_t n;                /* the array the runtime was made for */
    uint64_t limit;          /* asked for; 0: none */
    char limit_str[32];      /* read by the runtime while it lives */
    char trace[512];         /* its FRONTA_TRACE file, or "" */
    st_mem last;             /* the device's figures after the last run */
    double fig[ST_NFIGS][ST_MAX_RUNS]; /* per run: st_fig */
    int runs;
} st_row;

static st_row st_rows[2] = {{.impl = "fronta", .limited = 1}, {.impl = "fronta_opencl"}};

static void st_row_drop(st_row *r)
{
    if (r->rt)
        bench_runtime_destroy(r->env, r->rt);
    r->rt = NULL;
    r->runs = 0;
}

/* Under FRONTA_TRACE=X.json each row's runtime writes X-<impl>.json:
 * the harness's runtime, destroyed last, would overwrite one shared file. */
static int st_trace_path(st_row *r)
{
    const char *t = getenv("FRONTA_TRACE");
    size_t len = t ? strlen(t) : 0;

    r->trace[0] = 0;
    if (!len)
        return 0;
    if (len > 5 && strcmp(t + len - 5, ".json") == 0)
        len -= 5;
    int w = snprintf(r->trace, sizeof r->trace, "%.*s-%s.json", (int)len, t, r->impl);
    return w > 0 && (size_t)w < sizeof r->trace;
}

static fronta_runtime_t *st_runtime(const bench_env_t *env, st_row *r, size_t n)
{
    if (r->rt && r->n == n)
        return r->rt;
    st_row_drop(r);
    r->limit = r->limited ? st_limit(n) : 0;
    snprintf(r->limit_str, sizeof r->limit_str, "%llu", (unsigned long long)r->limit);
    /* "" rather than NULL: no limit even under FRONTA_DEVICE_MEM_LIMIT
     * (a limit there would make the reference another limited run). */
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = env->threads, .zero_copy = -1,
                           .device_mem_limit = r->limited ? r->limit_str : ""};
    if (st_trace_path(r))
        cfg.trace = r->trace;
    int rc = bench_runtime_create(env, &cfg, &r->rt);
    if (rc) {
        r->rt = NULL;
        bench_api_error("fronta_runtime_create", rc);
        return NULL;
    }
    r->env = env;
    r->n = n;
    return r->rt;
}

static void st_median_note(const st_row *r)
{
    bench_progress_t *p = r->env->hooks ? r->env->hooks->prog : NULL;
    double med[ST_NFIGS], v[ST_MAX_RUNS];
    char line[320], lim[48];

    snprintf(lim, sizeof lim, "%.2f MiB = %s B", (double)r->limit / 1048576.0, r->limit_str);
    for (int k = 0; k < ST_NFIGS; k++) {
        memcpy(v, r->fig[k], (size_t)r->runs * sizeof v[0]);
        med[k] = bench_median(v, (size_t)r->runs);
    }
    snprintf(line, sizeof line,
             "fronta-bench: stream/out_of_core %s: device mem_peak %.2f MiB = %llu B (limit: "
             "%s); per run, median of %d: %.0f evictions, %.0f writebacks, %.1f MiB to the "
             "device, %.1f MiB back",
             r->impl, (double)r->last.peak / 1048576.0, (unsigned long long)r->last.peak,
             r->limit ? lim : "none", r->runs, med[ST_EVICTIONS], med[ST_WRITEBACKS],
             med[ST_UP_MIB], med[ST_DOWN_MIB]);
    if (p)
        bench_progress_note(p, "%s", line);
    else
        fprintf(stderr, "%s\n", line);
}

void stream_out_of_core_fini(void)
{
    for (size_t i = 0; i < sizeof st_rows / sizeof st_rows[0]; i++) {
        if (st_rows[i].rt && st_rows[i].runs)
            st_median_note(&st_rows[i]);
        st_row_drop(&st_rows[i]);
    }
}

/* ---- one run ------------------------------------------------------------ */

/* The map over x's chunks, then x made whole and acquired for reading:
 * the host array holds the result. 0 or a fronta code, *failed naming
 * the call. */
static int st_stream(fronta_runtime_t *rt, fronta_buffer_t *b, fronta_future_t **f,
                     const char **failed)
{
    fronta_kernel_t *k = fronta_kernel_builtin(rt, "scale");
    int rc;

    *failed = "fronta_kernel_builtin(\"scale\")";
    if (!k)
        return FRONTA_ENOENT;
    fronta_task_desc_t t = {
        .size = sizeof t,
        .kernel = k,
        .args = {FRONTA_INOUT(b), FRONTA_F32(ST_A)},
        .nargs = 2,
        .needs.device = FRONTA_NEED_OPENCL,
        .name = "stream chunk",
    };
    *failed = "fronta_submit_map";
    if ((rc = fronta_submit_map(rt, &t, f, NULL)) != 0)
        return rc;
    *failed = "fronta_buffer_unpartition";
    if ((rc = fronta_buffer_unpartition(b)) != 0)
        return rc;
    /* The acquire follows every chunk's task: no wait on the map's future
     * (its error is checked after the clock). */
    *failed = "fronta_buffer_acquire";
    if ((rc = fronta_buffer_acquire(b, FRONTA_ACCESS_IN, BENCH_WAIT_S, NULL)) != 0)
        return rc;
    return fronta_buffer_release(b);
}

/* What the device counted during the run: a peak over the limit, or a
 * limit other than the one asked for, is a wrong result. */
static bench_status_t st_account(st_row *r, const st_mem *m0, const st_mem *m1)
{
    r->last = *m1;
    if (r->runs < ST_MAX_RUNS) {
        r->fig[ST_EVICTIONS][r->runs] = (double)(m1->evictions - m0->evictions);
        r->fig[ST_WRITEBACKS][r->runs] = (double)(m1->writebacks - m0->writebacks);
        r->fig[ST_UP_MIB][r->runs] = (double)(m1->to_dev - m0->to_dev) / 1048576.0;
        r->fig[ST_DOWN_MIB][r->runs] = (double)(m1->to_host - m0->to_host) / 1048576.0;
        r->runs++;
    }
    if (m1->devices == 0) {
        fprintf(stderr, "fronta-bench: stream %s: the runtime has no OpenCL device\n", r->impl);
        return BENCH_ERROR;
    }
    if (m1->other_limit) {
        fprintf(stderr, "fronta-bench: stream %s: a device's mem_limit is %llu, asked for %llu\n",
                r->impl, (unsigned long long)m1->limit, (unsigned long long)r->limit);
        return BENCH_WRONG;
    }
    if (m1->over) {
        fprintf(stderr, "fronta-bench: stream %s: mem_peak %llu over the limit %llu\n", r->impl,
                (unsigned long long)m1->peak, (unsigned long long)m1->limit);
        return BENCH_WRONG;
    }
    return BENCH_OK;
}

static bench_status_t st_run(const bench_env_t *env, st_row *r, size_t n, double *value)
{
    fronta_runtime_t *rt = st_runtime(env, r, n);
    fronta_partition_t how = {.size = sizeof how, .chunk_len = st_chunk_len(n)};
    fronta_buffer_t *b = NULL;
    fronta_future_t *f = NULL;
    bench_status_t st = BENCH_OK;
    const char *failed = "fronta_buffer_wrap";
    st_mem m0, m1;
    float *x;
    int rc;

    if (!rt || !(x = st_data_new(n)))
        return BENCH_ERROR;
    bench_row_runtime(env, rt);
    st_mem_read(rt, r->limit, &m0);
    if ((rc = fronta_buffer_wrap(rt, x, n, FRONTA_FLOAT, &b)) == 0 &&
        (rc = fronta_buffer_partition(b, &how)) != 0)
        failed = "fronta_buffer_partition";
    uint64_t t0 = bench_now_ns();
    if (rc == 0)
        rc = st_stream(rt, b, &f, &failed);
    uint64_t t1 = bench_now_ns();
    st_mem_read(rt, r->limit, &m1);

    value[0] = (double)n * sizeof(float) / ((double)(t1 - t0 ? t1 - t0 : 1));
    value[1] = (double)m1.peak / 1048576.0;
    if (rc)
        st = bench_api_error(failed, rc);
    /* Destroy even after a failure: it waits for the chunks' tasks, so the
     * host array may be freed afterwards. */
    if (b && fronta_buffer_destroy(b) != 0 && st == BENCH_OK)
        st = BENCH_ERROR;
    if (f && bench_futures_check(&f, 1, "stream map") != BENCH_OK)
        st = BENCH_ERROR;
    bench_status_t acc = st_account(r, &m0, &m1);
    if (st == BENCH_OK)
        st = acc;
    if (st == BENCH_OK)
        st = st_check(x, n);
    free(x);
    return st;
}

bench_status_t stream_out_of_core_fronta(const bench_env_t *env, size_t n, double *value)
{
    return st_run(env, &st_rows[0], n, value);
}

bench_status_t stream_out_of_core_fronta_opencl(const bench_env_t *env, size_t n, double *value)
{
    return st_run(env, &st_rows[1], n, value);
}
