/* divisible.c — the divisible bench's cases, data and check, and its serial and OpenMP baselines. */
#include <stdlib.h>
#include <string.h>

#include "divisible.h"

static void dv_case_fini(void);

/* One case per size: the talk's (its notebook ran 2^26) and a small one,
 * where the per-task cost of a futures graph decides (the talk's Dask
 * graph is 2400x the OpenMP loop there). The ratio is to the OpenMP loop,
 * the fastest hand-written code on the CPU. */
const bench_case_t divisible_talk = {
    .bench = "divisible", .name = "talk",
    .metric = "ns_per_element", .unit = "ns",
    .size = (size_t)1 << 26, .quick_size = (size_t)1 << 18,
    .reference = "openmp",
    .fini = dv_case_fini,
};

const bench_case_t divisible_small = {
    .bench = "divisible", .name = "small",
    .metric = "ns_per_element", .unit = "ns",
    .size = (size_t)1 << 16, .quick_size = (size_t)1 << 12,
    .reference = "openmp",
    .fini = dv_case_fini,
};

/* ---- data ---------------------------------------------------------------- */

static dv_data_t data;

/* Pseudo-random int32 values, negatives included (C's % keeps the sign;
 * the tests are == 0, so they agree with numpy's): about one in 105 is
 * kept. murmur3's finaliser of the index, so any run can rebuild them. */
static int64_t input(size_t i)
{
    uint32_t h = (uint32_t)i * 0x9e3779b9u;

    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return (int64_t)(int32_t)h;
}

static void *page_alloc(size_t bytes)
{
    void *p = NULL;

    if (posix_memalign(&p, 4096, bytes ? bytes : 1) != 0) {
        fprintf(stderr, "fronta-bench: divisible: out of memory for %zu bytes\n", bytes);
        return NULL;
    }
    return p;
}

static void dv_data_free(void)
{
    free(data.x);
    free(data.out);
    free(data.ref);
    for (int i = 0; i < DV_MASKS; i++)
        free(data.mask[i]);
    memset(&data, 0, sizeof data);
}

/* When a case ends: its arrays, and the runtime its fronta rows kept. */
static void dv_case_fini(void)
{
    dv_data_free();
    divisible_fronta_fini();
}

dv_data_t *dv_data_get(size_t n)
{
    if (data.x && data.n == n)
        return &data;
    dv_data_free();
    data.n = n;
    data.x = page_alloc(n * sizeof(int64_t));
    data.out = page_alloc(n * sizeof(int64_t));
    data.ref = page_alloc(n * sizeof(int64_t));
    int ok = data.x && data.out && data.ref;
    for (int i = 0; i < DV_MASKS; i++)
        ok = (data.mask[i] = page_alloc(n)) != NULL && ok;
    if (!ok) {
        dv_data_free();
        return NULL;
    }
    /* Every page touched now: no run pays its first-touch faults. */
    memset(data.out, 0, n * sizeof(int64_t));
    for (int i = 0; i < DV_MASKS; i++)
        memset(data.mask[i], 0, n);
    for (size_t i = 0; i < n; i++) {
        int64_t v = input(i);
        data.x[i] = v;
        if (dv_keep(v))
            data.ref[data.ref_kept++] = v;
    }
    return &data;
}

void dv_data_poison(dv_data_t *d)
{
    size_t m = d->ref_kept < d->n ? d->ref_kept + 1 : d->n;

    for (size_t i = 0; i < m; i++)
        d->out[i] = INT64_MIN;
}

bench_status_t dv_data_check(const dv_data_t *d, size_t kept, const char *impl)
{
    if (kept != d->ref_kept) {
        fprintf(stderr, "fronta-bench: divisible %s: kept %zu elements, expected %zu\n", impl,
                kept, d->ref_kept);
        return BENCH_WRONG;
    }
    for (size_t i = 0; i < kept; i++) {
        if (d->out[i] != d->ref[i]) {
            fprintf(stderr, "fronta-bench: divisible %s: out[%zu] = %lld, expected %lld\n",
                    impl, i, (long long)d->out[i], (long long)d->ref[i]);
            return BENCH_WRONG;
        }
    }
    return BENCH_OK;
}

size_t dv_nchunks(size_t n, int threads)
{
    size_t c = (n + DV_CHUNK - 1) / DV_CHUNK, t = threads > 0 ? (size_t)threads : 1;

    c = c < t ? t : c;
    return c < n ? c : n ? n : 1;
}

/* ---- the C baselines ------------------------------------------------------ */

/* What a C programmer writes first. The branch is taken for about one
 * element in 105: predicted, it costs less than an unconditional store of
 * every element would (which doubles the bytes written). */
static size_t keep_range(const int64_t *x, size_t lo, size_t hi, int64_t *out)
{
    size_t k = 0;

    for (size_t i = lo; i < hi; i++)
        if (dv_keep(x[i]))
            out[k++] = x[i];
    return k;
}

bench_status_t divisible_serial(const bench_env_t *env, size_t n, double *value)
{
    dv_data_t *d = dv_data_get(n);

    (void)env;
    if (!d)
        return BENCH_ERROR;
    dv_data_poison(d);
    uint64_t t0 = bench_now_ns();
    size_t kept = keep_range(d->x, 0, n, d->out);
    uint64_t t1 = bench_now_ns();

    *value = (double)(t1 - t0) / (double)n;
    return dv_data_check(d, kept, "serial");
}

/* The fastest loop we could write, one pass over the data: each block
 * keeps its elements at its own start in out (a block of [lo, hi) keeps
 * at most hi - lo, so blocks never write each other's part), then the
 * blocks' kept runs move down to their places in index order. That move
 * is a serial memmove of about n / 105 elements: block b's destination
 * starts at or below lo_b and ends at or below hi_b, so no move
 * overwrites a run not yet moved. Blocks are taken dynamically, one at a
 * time, as fronta's chunks are, so a core lost to another process costs
 * both alike. */
bench_status_t divisible_openmp(const bench_env_t *env, size_t n, double *value)
{
    dv_data_t *d = dv_data_get(n);
    size_t nb = dv_nchunks(n, env->threads), kept = 0;
    size_t *cnt = malloc(nb * sizeof *cnt);

    if (!d || !cnt) {
        free(cnt);
        return BENCH_ERROR;
    }
    dv_data_poison(d);
    uint64_t t0 = bench_now_ns();
#pragma omp parallel for schedule(dynamic, 1) num_threads(env->threads)
    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * n / nb, hi = (b + 1) * n / nb;
        cnt[b] = keep_range(d->x, lo, hi, d->out + lo);
    }
    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * n / nb;
        if (lo != kept)
            memmove(d->out + kept, d->out + lo, cnt[b] * sizeof(int64_t));
        kept += cnt[b];
    }
    uint64_t t1 = bench_now_ns();

    *value = (double)(t1 - t0) / (double)n;
    free(cnt);
    return dv_data_check(d, kept, "openmp");
}
