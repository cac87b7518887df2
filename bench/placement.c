/* placement.c — the placement bench: a layered DAG of two kernel kinds, run under heft, eager, ws and an oracle, checked against a serial evaluation. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "placement.h"

static void placement_fini(void);

const bench_case_t placement_mixed = {
    .bench = "placement", .name = "mixed",
    .metric = "ms", .unit = "ms",
    .size = 65536, .quick_size = 4096,
    .reference = "oracle",
    .note = "no hand-written baseline; ratio is to the oracle (placed by a table it "
            "measures before its timed runs)",
    .fini = placement_fini,
};

/* The DAG: PL_LAYERS layers of PL_WIDTH tasks; task j of layer l is of
 * kind (l + j) % 2, so every layer holds as many of each and every chain
 * alternates. A poly task reads outputs j and j + 1 (mod width) of the
 * layer before (layer 0: the input array twice), a trig task output j;
 * each writes a buffer of its own. The last layer's buffers are the
 * result. Every buffer has n floats and the DAG is elementwise, so the
 * serial evaluation walks it once per element. */
#define PL_LAYERS 8
#define PL_WIDTH 16
#define PL_TASKS (PL_LAYERS * PL_WIDTH)

/* Results within this of the serial evaluation (absolute; values are
 * about 1): the devices' sin and cos differ in the last bit, and the
 * kinds are contractions, so the difference stays near 1e-7. */
#define PL_TOL 1e-5

static int kind_of(int l, int j)
{
    return (l + j) % 2 ? PL_TRIG : PL_POLY;
}

/* Inputs in [0, 1.5), the range the kinds produce. */
static float input_of(size_t i)
{
    return (float)(i % 1531) * (1.0f / 1024.0f);
}

/* ---- the serial evaluation, once per size ------------------------------ */

static struct {
    size_t n;
    float *want; /* PL_WIDTH x n: the last layer */
} ref;

static void ref_free(void)
{
    free(ref.want);
    ref.want = NULL;
    ref.n = 0;
}

static void ref_element(size_t i, float *out)
{
    float cur[PL_WIDTH], next[PL_WIDTH], x = input_of(i);

    for (int l = 0; l < PL_LAYERS; l++) {
        for (int j = 0; j < PL_WIDTH; j++) {
            float a = l ? cur[j] : x, b = l ? cur[(j + 1) % PL_WIDTH] : x;
            if (kind_of(l, j) == PL_POLY)
                pl_poly_serial(&a, &b, &next[j], 1);
            else
                pl_trig_serial(&a, &next[j], 1);
        }
        memcpy(cur, next, sizeof cur);
    }
    memcpy(out, cur, sizeof cur);
}

/* The expected last layer for n, computed (outside every timed region)
 * the first time; NULL when out of memory. Element by element with
 * OpenMP: the DAG is elementwise, so this is the serial evaluation
 * spread over the cores, and it takes no fronta code. */
static const float *ref_get(const bench_env_t *env, size_t n)
{
    float *w;

    if (ref.want && ref.n == n)
        return ref.want;
    ref_free();
    if (n > (size_t)-1 / (PL_WIDTH * sizeof(float)) || !(w = malloc(PL_WIDTH * n * sizeof *w)))
        return NULL;
#pragma omp parallel for num_threads(env->threads) schedule(static, 256)
    for (size_t i = 0; i < n; i++) {
        float out[PL_WIDTH];
        ref_element(i, out);
        for (int j = 0; j < PL_WIDTH; j++)
            w[(size_t)j * n + i] = out[j];
    }
    ref.want = w;
    ref.n = n;
    return w;
}

/* ---- the rows' runtimes ------------------------------------------------ */

enum { ROW_HEFT, ROW_EAGER, ROW_WS, ROW_ORACLE, ROW_COUNT };

typedef struct pl_row {
    const char *impl, *sched;
    fronta_runtime_t *rt;
    fronta_kernel_t *k[PL_KINDS];
    int dev[PL_KINDS];            /* oracle: the device for each kind */
    double table[PL_KINDS][BENCH_MAX_DEVICES]; /* oracle: ms per task */
    int ndev;
    char dir[256];                /* heft: its fresh cache directory */
    int runs;                     /* DAG runs so far */
    double first_ms;              /* the first one's time */
    unsigned placed[PL_KINDS][BENCH_MAX_DEVICES]; /* last run: tasks per device */
} pl_row_t;

static pl_row_t rows[ROW_COUNT] = {
    [ROW_HEFT] = {.impl = "heft", .sched = "heft"},
    [ROW_EAGER] = {.impl = "eager", .sched = "eager"},
    [ROW_WS] = {.impl = "ws", .sched = "ws"},
    [ROW_ORACLE] = {.impl = "oracle", .sched = "ws"},
};
static const bench_env_t *rows_env;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) ? -1 : 0;
}

/* What the last run placed where, for the docs and for anyone wondering
 * why heft's figure is what it is. */
static void say_placed(const pl_row_t *r)
{
    char line[256];
    int len = 0;

    for (int k = 0; k < PL_KINDS; k++) {
        len += snprintf(line + len, sizeof line - (size_t)len, "%s%s on", k ? "; " : "",
                        k == PL_POLY ? "poly" : "trig");
        for (int d = 0; d < r->ndev && len < (int)sizeof line; d++)
            len += snprintf(line + len, sizeof line - (size_t)len, " dev%d %u", d,
                            r->placed[k][d]);
        if (len >= (int)sizeof line)
            break;
    }
    bench_progress_note(rows_env->hooks->prog, "placement/mixed %s: last run placed %s "
                        "(first run %.1f ms)", r->impl, line, r->first_ms);
}

static void placement_fini(void)
{
    for (int i = 0; i < ROW_COUNT; i++) {
        pl_row_t *r = &rows[i];

        if (r->rt && r->runs)
            say_placed(r);
        bench_runtime_destroy(rows_env, r->rt);
        r->rt = NULL;
        r->runs = 0;
        if (r->dir[0]) {
            (void)nftw(r->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
            r->dir[0] = '\0';
        }
    }
    ref_free();
}

/* ---- tasks ------------------------------------------------------------- */

/* Says which call failed; returns its code. */
static int api_fail(const char *call, int rc)
{
    (void)bench_api_error(call, rc);
    return rc;
}

/* A task of kind on the devices need admits (dev for FRONTA_NEED_DEVICE):
 * poly reads a and b, trig a; both write y. */
static int submit_kind(const pl_row_t *r, int kind, fronta_need_t need, int dev,
                       fronta_buffer_t *a, fronta_buffer_t *b, fronta_buffer_t *y,
                       fronta_future_t **f)
{
    fronta_task_desc_t t = {
        .size = sizeof t,
        .kernel = r->k[kind],
        .needs = {.device = need, .device_id = dev},
        .name = kind == PL_POLY ? "placement poly" : "placement trig",
    };

    t.args[0] = FRONTA_IN(a);
    if (kind == PL_POLY) {
        t.args[1] = FRONTA_IN(b);
        t.args[2] = FRONTA_OUT(y);
        t.nargs = 3;
    } else {
        t.args[1] = FRONTA_OUT(y);
        t.nargs = 2;
    }
    return fronta_submit(r->rt, &t, f);
}

/* Runs one task of kind on device dev over a and y, waiting for it; its
 * wall time in *ms. */
static int run_one(const pl_row_t *r, int kind, int dev, fronta_buffer_t *a,
                   fronta_buffer_t *y, double *ms)
{
    fronta_future_t *f;
    uint64_t t0 = bench_now_ns();
    int rc = submit_kind(r, kind, FRONTA_NEED_DEVICE, dev, a, a, y, &f);

    if (rc)
        return api_fail("fronta_submit", rc);
    rc = bench_futures_check(&f, 1, "placement probe") == BENCH_OK ? 0 : FRONTA_ETASK;
    *ms = (double)(bench_now_ns() - t0) / 1e6;
    return rc;
}

/* Every kind once on every OpenCL device at the DAG's size: the programs
 * are built (or loaded from the disk cache) and PoCL compiles its
 * work-group functions for the launch the DAG makes, outside every timed
 * run. With table: then reps (at most 9) timed tasks of each kind on
 * every device (the pool too), over the DAG's input, their median in
 * r->table, and r->dev[kind] the fastest. */
static int probe_devices(pl_row_t *r, size_t n, int table, int reps)
{
    fronta_buffer_t *a = NULL, *y = NULL;
    float *x = malloc(n * sizeof *x);
    int rc;

    if (!x)
        return api_fail("malloc", FRONTA_ENOMEM);
    for (size_t i = 0; i < n; i++)
        x[i] = input_of(i);
    if ((rc = fronta_buffer_wrap(r->rt, x, n, FRONTA_FLOAT, &a)) != 0 ||
        (rc = fronta_buffer_create(r->rt, n, FRONTA_FLOAT, &y)) != 0) {
        (void)fronta_buffer_destroy(a);
        free(x);
        return api_fail("fronta_buffer_wrap/create", rc);
    }
    reps = reps > 9 ? 9 : reps;
    for (int d = 0; d < r->ndev && rc == 0; d++) {
        for (int k = 0; k < PL_KINDS && rc == 0; k++) {
            double v[9], ms;
            if (d > 0)
                rc = run_one(r, k, d, a, y, &ms);
            for (int i = 0; table && i < reps && rc == 0; i++)
                rc = run_one(r, k, d, a, y, &v[i]);
            if (table && rc == 0)
                r->table[k][d] = bench_median(v, (size_t)reps);
        }
    }
    for (int k = 0; table && rc == 0 && k < PL_KINDS; k++) {
        r->dev[k] = 0;
        for (int d = 1; d < r->ndev; d++)
            if (r->table[k][d] < r->table[k][r->dev[k]])
                r->dev[k] = d;
    }
    (void)fronta_buffer_destroy(a); /* waits for its tasks: x may go */
    (void)fronta_buffer_destroy(y);
    free(x);
    return rc;
}

/* ---- one run of the DAG ------------------------------------------------ */

typedef struct pl_dag {
    float *x;                        /* the input, wrapped */
    fronta_buffer_t *in, *b[PL_TASKS];
    fronta_future_t *f[PL_TASKS];
    size_t nf;
} pl_dag_t;

/* Untimed: the input array and every task's output buffer. */
static int dag_alloc(const pl_row_t *r, size_t n, pl_dag_t *g)
{
    void *p = NULL;
    int rc;

    memset(g, 0, sizeof *g);
    if (posix_memalign(&p, 4096, n * sizeof(float)) != 0) {
        fprintf(stderr, "fronta-bench: placement: out of memory for %zu floats\n", n);
        return FRONTA_ENOMEM;
    }
    g->x = p;
    for (size_t i = 0; i < n; i++)
        g->x[i] = input_of(i);
    if ((rc = fronta_buffer_wrap(r->rt, g->x, n, FRONTA_FLOAT, &g->in)) != 0)
        return api_fail("fronta_buffer_wrap", rc);
    for (int t = 0; t < PL_TASKS; t++)
        if ((rc = fronta_buffer_create(r->rt, n, FRONTA_FLOAT, &g->b[t])) != 0)
            return api_fail("fronta_buffer_create", rc);
    return 0;
}

static void dag_free(pl_dag_t *g)
{
    /* Destroy waits for the buffer's tasks: x may be freed afterwards. */
    for (int t = 0; t < PL_TASKS; t++)
        (void)fronta_buffer_destroy(g->b[t]);
    (void)fronta_buffer_destroy(g->in);
    free(g->x);
}

/* Timed: submit the layers, then make the last layer's host copies valid. */
static int dag_submit_wait(pl_row_t *r, pl_dag_t *g)
{
    int oracle = r == &rows[ROW_ORACLE], rc = 0;

    for (int l = 0; l < PL_LAYERS && rc == 0; l++) {
        for (int j = 0; j < PL_WIDTH && rc == 0; j++) {
            int k = kind_of(l, j);
            fronta_buffer_t *a = l ? g->b[(l - 1) * PL_WIDTH + j] : g->in;
            fronta_buffer_t *b = l ? g->b[(l - 1) * PL_WIDTH + (j + 1) % PL_WIDTH] : g->in;
            rc = submit_kind(r, k, oracle ? FRONTA_NEED_DEVICE : FRONTA_NEED_ANY,
                             oracle ? r->dev[k] : 0, a, b, g->b[l * PL_WIDTH + j], &g->f[g->nf]);
            if (rc)
                return api_fail("fronta_submit", rc);
            g->nf++;
        }
    }
    for (int j = 0; j < PL_WIDTH && rc == 0; j++) {
        fronta_buffer_t *y = g->b[(PL_LAYERS - 1) * PL_WIDTH + j];
        if ((rc = fronta_buffer_acquire(y, FRONTA_ACCESS_IN, BENCH_WAIT_S, NULL)) == 0)
            rc = fronta_buffer_release(y);
        if (rc)
            return api_fail("fronta_buffer_acquire/release", rc);
    }
    return 0;
}

/* Where each task ran, by kind (before the futures are released). */
static void dag_count(pl_row_t *r, const pl_dag_t *g)
{
    memset(r->placed, 0, sizeof r->placed);
    for (size_t t = 0; t < g->nf; t++) {
        int d = fronta_future_device(g->f[t]);
        if (d >= 0 && d < BENCH_MAX_DEVICES)
            r->placed[kind_of((int)t / PL_WIDTH, (int)t % PL_WIDTH)][d]++;
    }
}

/* The last layer against the serial evaluation. */
static bench_status_t dag_check(const pl_dag_t *g, const float *want, size_t n)
{
    for (int j = 0; j < PL_WIDTH; j++) {
        fronta_buffer_t *y = g->b[(PL_LAYERS - 1) * PL_WIDTH + j];
        const float *w = want + (size_t)j * n;
        void *host = NULL;
        size_t bad = n;
        int rc = fronta_buffer_acquire(y, FRONTA_ACCESS_IN, BENCH_WAIT_S, &host);

        if (rc)
            return bench_api_error("fronta_buffer_acquire", rc);
        for (size_t i = 0; i < n && bad == n; i++)
            if (!(fabs((double)((const float *)host)[i] - (double)w[i]) <= PL_TOL))
                bad = i;
        if (bad < n)
            fprintf(stderr, "fronta-bench: placement: output %d [%zu] = %.9g, expected %.9g\n", j,
                    bad, (double)((const float *)host)[bad], (double)w[bad]);
        (void)fronta_buffer_release(y);
        if (bad < n)
            return BENCH_WRONG;
    }
    return BENCH_OK;
}

static bench_status_t dag_run(const bench_env_t *env, pl_row_t *r, size_t n, double *ms)
{
    const float *want = ref_get(env, n);
    bench_status_t st = BENCH_OK;
    pl_dag_t g;
    int rc;

    if (!want) {
        fprintf(stderr, "fronta-bench: placement: out of memory for the reference\n");
        return BENCH_ERROR;
    }
    if ((rc = dag_alloc(r, n, &g)) == 0) {
        uint64_t t0 = bench_now_ns();
        rc = dag_submit_wait(r, &g);
        *ms = (double)(bench_now_ns() - t0) / 1e6;
    }
    dag_count(r, &g);
    if (bench_futures_check(g.f, g.nf, "placement task") != BENCH_OK || rc)
        st = BENCH_ERROR;
    if (st == BENCH_OK)
        st = dag_check(&g, want, n);
    dag_free(&g);
    return st;
}

/* ---- set-up: each row's first call, the harness's warm-up -------------- */

/* FRONTA_CACHE_DIR for the runtimes made meanwhile (both the program
 * cache and the models read it at create): set to dir, or back to what it
 * was (dir NULL). */
static void cache_dir_set(const char *dir)
{
    static char *saved;
    static int had;

    if (dir) {
        const char *old = getenv("FRONTA_CACHE_DIR");
        had = old != NULL;
        saved = old ? strdup(old) : NULL;
        (void)setenv("FRONTA_CACHE_DIR", dir, 1);
        return;
    }
    if (had && saved)
        (void)setenv("FRONTA_CACHE_DIR", saved, 1);
    else
        (void)unsetenv("FRONTA_CACHE_DIR");
    free(saved);
    saved = NULL;
}

/* The performance models' files (perfmodel-*.txt, sched/model.c): what
 * the program warm-up taught goes, the built programs stay. */
static int models_only(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    if (flag == FTW_F && strncmp(path + ftw->base, "perfmodel-", 10) == 0)
        (void)remove(path);
    return 0;
}

static int runtime_make(const bench_env_t *env, pl_row_t *r)
{
    fronta_config_t cfg = {.size = sizeof cfg, .sched = r->sched, .devices = "all"};
    int rc = bench_runtime_create(env, &cfg, &r->rt);

    if (rc) {
        r->rt = NULL;
        return api_fail("fronta_runtime_create", rc);
    }
    if (!bench_runtime_sched_is(r->rt, r->sched) || pl_kernels_get(r->rt, r->k)) {
        bench_runtime_destroy(env, r->rt);
        r->rt = NULL;
        return FRONTA_EINVAL;
    }
    r->ndev = fronta_device_count(r->rt);
    r->ndev = r->ndev > BENCH_MAX_DEVICES ? BENCH_MAX_DEVICES : r->ndev;
    return 0;
}

/* heft starts from an empty cache directory of its own, with no model:
 * a scratch runtime there builds the programs first (so the first timed
 * run does not wait for PoCL's compiler), then its model files are
 * deleted before heft's runtime is made. */
static int heft_make(const bench_env_t *env, pl_row_t *r, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    pl_row_t scratch = {.impl = "heft warm-up", .sched = "ws"};
    int rc;

    snprintf(r->dir, sizeof r->dir, "%s/fronta-bench-heft-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(r->dir)) {
        fprintf(stderr, "fronta-bench: placement: mkdtemp %s: %s\n", r->dir, strerror(errno));
        r->dir[0] = '\0';
        return FRONTA_EINVAL;
    }
    cache_dir_set(r->dir);
    if ((rc = runtime_make(env, &scratch)) == 0) {
        rc = probe_devices(&scratch, n, 0, 0);
        bench_runtime_destroy(env, scratch.rt);
    }
    (void)nftw(r->dir, models_only, 8, FTW_PHYS);
    if (rc == 0)
        rc = runtime_make(env, r);
    cache_dir_set(NULL);
    return rc;
}

static void say_table(const bench_env_t *env, const pl_row_t *r)
{
    for (int k = 0; k < PL_KINDS; k++) {
        char line[256];
        int len = 0;

        for (int d = 0; d < r->ndev && len < (int)sizeof line; d++)
            len += snprintf(line + len, sizeof line - (size_t)len, "%sdev%d %.2f ms",
                            d ? ", " : "", d, r->table[k][d]);
        bench_progress_note(env->hooks->prog, "placement/mixed oracle: %s per task (n=%zu): %s "
                            "-> dev%d", k == PL_POLY ? "poly" : "trig", ref.n, line, r->dev[k]);
    }
}

/* The row's runtime and kernels, the programs built, the reference
 * computed; the oracle's table measured. No DAG runs here. */
static bench_status_t row_setup(const bench_env_t *env, pl_row_t *r, size_t n)
{
    int rc;

    rows_env = env;
    r->runs = 0;
    rc = r == &rows[ROW_HEFT] ? heft_make(env, r, n) : runtime_make(env, r);
    if (rc == 0 && r != &rows[ROW_HEFT])
        rc = probe_devices(r, n, r == &rows[ROW_ORACLE], 3);
    if (rc == 0 && !ref_get(env, n)) {
        fprintf(stderr, "fronta-bench: placement: out of memory for the reference\n");
        rc = FRONTA_ENOMEM;
    }
    if (rc == 0 && r == &rows[ROW_ORACLE])
        say_table(env, r);
    return rc ? BENCH_ERROR : BENCH_OK;
}

/* The harness calls a row first for its warm-up: that call sets up and
 * runs no DAG, so heft's first DAG is its first timed run, learning from
 * nothing. value[1] is that first run's time, for every run. */
static bench_status_t placement_row(const bench_env_t *env, int which, size_t n, double *value)
{
    pl_row_t *r = &rows[which];
    bench_status_t st;
    double ms = 0.0;

    if (!r->rt) {
        value[0] = value[1] = 0.0;
        return row_setup(env, r, n);
    }
    bench_row_runtime(env, r->rt);
    st = dag_run(env, r, n, &ms);
    if (r->runs++ == 0)
        r->first_ms = ms;
    value[0] = ms;
    value[1] = r->first_ms;
    return st;
}

bench_status_t placement_mixed_heft(const bench_env_t *env, size_t n, double *value)
{
    return placement_row(env, ROW_HEFT, n, value);
}

bench_status_t placement_mixed_eager(const bench_env_t *env, size_t n, double *value)
{
    return placement_row(env, ROW_EAGER, n, value);
}

bench_status_t placement_mixed_ws(const bench_env_t *env, size_t n, double *value)
{
    return placement_row(env, ROW_WS, n, value);
}

bench_status_t placement_mixed_oracle(const bench_env_t *env, size_t n, double *value)
{
    return placement_row(env, ROW_ORACLE, n, value);
}
