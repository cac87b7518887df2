/* bench.h — fronta-bench internals: the case registry, run environment, results. */
#ifndef FRONTA_BENCH_H
#define FRONTA_BENCH_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "fronta.h"

/* What one run of an implementation reports. */
typedef enum bench_status {
    BENCH_OK = 0,     /* ran, and the result matched the serial reference */
    BENCH_WRONG = 1,  /* ran, but the result is wrong: never shown as a speed */
    BENCH_ERROR = 2   /* could not run (an API call failed, a timeout) */
} bench_status_t;

/* Where an implementation runs; --device selects among these. */
typedef enum bench_dev {
    BENCH_DEV_CPU = 0,
    BENCH_DEV_OPENCL,
    BENCH_DEV_GPU,
    BENCH_DEV_ALL,    /* the pool and an OpenCL device together (placement,
                         heft): runs only when --device is all */
    BENCH_DEV_COUNT
} bench_dev_t;

/* One machine device, as --list and the JSON "devices" array show it.
 * Fields that do not apply to a kind are 0 / NULL and are not printed. */
typedef struct bench_device {
    const char *kind;      /* "cpu_pool", "opencl" */
    char name[128];
    char type[16];         /* OpenCL: "cpu", "gpu", "accelerator" */
    char platform[128];
    int threads;           /* cpu_pool */
    uint64_t global_mem;   /* OpenCL, bytes */
} bench_device_t;

#define BENCH_MAX_DEVICES 16

typedef struct bench_machine {
    int cpus;
    char cpu_model[128];
    bench_device_t devices[BENCH_MAX_DEVICES];
    int ndevices;
} bench_machine_t;

struct bench_hooks;

/* Shared by every run of one fronta-bench process. */
typedef struct bench_env {
    fronta_runtime_t *rt;  /* created once, default config */
    int threads;           /* CPU pool threads; every CPU baseline uses as many */
    /* What the harness lends the rows that make runtimes of their own
     * (bench_runtime_create): the progress hook, --stats. */
    struct bench_hooks *hooks;
    /* What a case that runs its rows elsewhere (the mpi group: another
     * process) must know of the run ahead of time: --quick, and the most
     * calls a row may get (its warm-up plus its timed runs at most). */
    int quick;
    int runs;
} bench_env_t;

/* Runs an implementation once over n items. Stores the run's metric in
 * value[0] (unit of the case) and, for a row that names an extra figure
 * (bench_impl_t.extra), that figure in value[1]; returns a bench_status_t.
 * Untimed set-up (allocation, zeroing) may happen inside, outside the
 * timed region. */
typedef bench_status_t (*bench_fn)(const bench_env_t *env, size_t n, double *value);

/* Doubles the value array of a bench_fn holds: the metric, the extra. */
#define BENCH_NVALUES 2

/* A case: what is measured and against what. */
typedef struct bench_case {
    const char *bench;       /* "overhead" */
    const char *name;        /* "independent" */
    const char *metric;      /* "ns_per_task" */
    const char *unit;        /* "ns" */
    int higher_is_better;    /* 0: "better": "lower" */
    size_t size;             /* default N */
    size_t quick_size;       /* N under --quick */
    const char *reference;   /* impl the ratio is taken against */
    const char *note;        /* footnote when the reference is not a
                                hand-written baseline; NULL otherwise */
    /* Optional: called once after the case's rows have all run (frees
     * what its rows kept from run to run: their runtimes). */
    void (*fini)(void);
    /* Optional: run only when named (`fronta-bench mpi`), not in the
     * whole suite that no NAME selects. */
    int opt_in;
    /* Optional: why the case cannot run on this machine (one line, the
     * same text for every case of a group: said once), or NULL when it
     * can. Its rows are then skipped, which is no failure. */
    const char *(*unavailable)(void);
} bench_case_t;

/* One row of the registry: an implementation of a case on a device. */
typedef struct bench_impl {
    const bench_case_t *c;
    const char *impl;        /* "fronta", "omp_task", "starpu", ... */
    bench_dev_t dev;
    bench_fn run;
    /* Optional, NULL when unused: */
    const char *reference;   /* impl this row's ratio is taken against,
                                instead of the case's: a fronta row on one
                                device against the baseline on the same
                                device ("fronta_opencl" vs "opencl_raw") */
    const char *extra;       /* name of a second figure the run reports in
                                value[1] ("host_wakeups"): the table shows
                                it after the row, the JSON as a field */
} bench_impl_t;

/* The registry (registry.c), in run order, rows of a case together. */
extern const bench_impl_t bench_registry[];
extern const size_t bench_registry_len;

/* One table row / JSON result. */
typedef struct bench_result {
    const bench_impl_t *impl;
    size_t size;
    int repeat;
    bench_status_t status;   /* worst status over warm-up and repeats */
    double median, min, max; /* meaningful only when status == BENCH_OK */
    double extra;            /* median of value[1] when impl->extra is set */
    struct bench_wstats *stats; /* --stats: the row's per-worker sums, or NULL */
} bench_result_t;

/* Callbacks run once at exit, newest first (StarPU's shutdown, ...). */
typedef void (*bench_cleanup_fn)(void);
int bench_at_exit(bench_cleanup_fn fn);
void bench_run_cleanups(void);

/* fronta_util.c: what the fronta rows share */
/* Print the failed call and its error; BENCH_ERROR. */
bench_status_t bench_api_error(const char *call, int rc);
/* Every future must have finished (what: the row's name for a task, in
 * messages); releases them. */
bench_status_t bench_futures_check(fronta_future_t **f, size_t nf, const char *what);

/* ---- runtimes of a row's own (fronta_util.c) ------------------------- */

/* fronta_runtime_create for a row that needs settings of its own (a
 * policy, wait_helps): cfg (may be NULL) plus the harness's progress hook
 * when progress is shown. The runtime shows in the progress line and in
 * --stats; destroy it with bench_runtime_destroy. 0 or a fronta code. */
int bench_runtime_create(const bench_env_t *env, const fronta_config_t *cfg,
                         fronta_runtime_t **out);
void bench_runtime_destroy(const bench_env_t *env, fronta_runtime_t *rt);
/* The call of a row fn now runs on rt, not env->rt: --stats counts rt's
 * workers from here to the end of the call (or to bench_row_runtime_done:
 * call it before destroying rt inside the call). Outside any timed
 * region: it reads every worker's counters. */
void bench_row_runtime(const bench_env_t *env, fronta_runtime_t *rt);
void bench_row_runtime_done(const bench_env_t *env);
/* rt uses the policy it was asked for (fronta_runtime_sched); else says
 * so: a figure must not be reported under another policy's name. */
int bench_runtime_sched_is(fronta_runtime_t *rt, const char *want);

/* ---- --stats (wstats.c) ------------------------------------------------ */

#define BENCH_MAX_WORKERS 32

/* Per-worker counters of one runtime (fronta_worker_stats), or sums of
 * their growth over a row's runs. */
typedef struct bench_wstats {
    int n;                                 /* workers */
    int calls;                             /* runs summed (warm-up included) */
    fronta_worker_stats_t w[BENCH_MAX_WORKERS];
} bench_wstats_t;

/* Reads rt's workers (n 0 when it cannot). */
void bench_wstats_read(fronta_runtime_t *rt, bench_wstats_t *out);
/* sum += now - base, worker by worker (the counters only grow; base may
 * have n 0: then sum += now). Leaves sum->calls alone. */
void bench_wstats_add_delta(bench_wstats_t *sum, const bench_wstats_t *now,
                            const bench_wstats_t *base);
/* Whether a row's sums show any fronta work (tasks run). */
int bench_wstats_any(const bench_wstats_t *s);
/* The --stats section after the table, one block per row that ran tasks. */
void bench_wstats_print(const bench_result_t *r, size_t n, FILE *out);
/* The row's "stats" member for the JSON (without a leading comma). */
void bench_wstats_json(FILE *f, const bench_wstats_t *s);

/* The harness's side of a call (main.c): what bench_row_runtime records. */
typedef struct bench_hooks {
    struct bench_progress *prog; /* progress with task counts, or NULL */
    int stats;                   /* --stats */
    fronta_runtime_t *row_rt;    /* the call's own runtime, or NULL */
    bench_wstats_t base, delta;  /* row_rt at bench_row_runtime; its growth */
    int have_delta;
} bench_hooks_t;

/* inject.c: FRONTA_BENCH_INJECT="bench/case/impl=EFFECT,..." (docs/
 * benchmarks.md). parse: 0, or -1 after saying why; apply: the status
 * (and value) a run of im reports instead of st (and val). */
int bench_inject_parse(void);
bench_status_t bench_inject_apply(const bench_impl_t *im, bench_status_t st, double *val);

/* stats.c */
uint64_t bench_now_ns(void);
double bench_median(double *v, size_t n); /* sorts v in place */

/* machine.c */
void bench_machine_probe(const bench_env_t *env, bench_machine_t *m);
int bench_machine_has(const bench_machine_t *m, bench_dev_t dev);
void bench_machine_list(const bench_machine_t *m, FILE *out);
const char *bench_dev_name(bench_dev_t dev);

/* report.c */
void bench_report_table(const bench_result_t *r, size_t n, FILE *out);
int bench_report_json(const bench_machine_t *m, const bench_result_t *r, size_t n,
                      const char *path);

/* Seconds any wait may block before the run is reported as an error
 * rather than hanging the whole suite. */
#define BENCH_WAIT_S 120.0

/* ---- added for the main program: ratios, progress, the picture ---------- */

/* The impl row's ratio is taken against (its own, else its case's). */
const char *bench_result_reference(const bench_result_t *row);
/* Row i's ratio to its reference row in r[0..n), > 1 meaning worse
 * whichever way the metric points; NaN when there is none (the reference
 * did not run or was not verified, row i is not verified, a median is not
 * positive). The table, the JSON and the picture all use this one. */
double bench_result_ratio(const bench_result_t *r, size_t n, size_t i);
/* Whether row i is the reference row of its own ratio (ratio 1 by
 * definition: the picture marks it rather than drawing a bar). */
int bench_result_is_reference(const bench_result_t *r, size_t n, size_t i);

/* Progress on stderr while the suite runs (report.c): on a terminal one
 * line redrawn in place; otherwise plain lines, one when a row starts and
 * one when it finishes. Lines that must stay (a skipped row, a failed
 * call) go through bench_progress_note so they do not land mid-line. */
typedef struct bench_progress {
    pthread_mutex_t lock;  /* the line: runtimes' progress hooks print too */
    FILE *out;
    int tty;           /* redraw in place */
    int quiet;         /* --quiet: notes only */
    int width;         /* terminal columns */
    int shown;         /* length of the line on screen (tty), 0: none */
    size_t done, total;/* rows finished / selected over the whole run */
    uint64_t t0;       /* bench_now_ns at the start of the run */
    /* Task counts (tty only): the line of the run in progress, the time of
     * the last redraw by a hook, and per runtime the counts when the run
     * started. */
    char line[512];
    int len;
    uint64_t tick_ns;
    struct bench_prt {
        struct bench_progress *p;
        fronta_runtime_t *rt;      /* the runtime, once attached */
        int claimed;               /* slot in use (by rt, or by one being made) */
        uint64_t c0, s0;
    } rts[16];
} bench_progress_t;

/* Before any runtime is made (they may get the hook), then once the
 * number of rows is known. */
void bench_progress_init(bench_progress_t *p, int quiet);
void bench_progress_start(bench_progress_t *p, size_t total);
/* Before run k of row im over n items: k == 0 is the warm-up, then timed
 * run k of at most max. */
void bench_progress_run(bench_progress_t *p, const bench_impl_t *im, size_t n, int k,
                        int max);
/* Row r finished; v holds its r->repeat timed values (unsorted). */
void bench_progress_row(bench_progress_t *p, const bench_result_t *r, const double *v);
void bench_progress_note(bench_progress_t *p, const char *fmt, ...) FRONTA_PRINTF(2, 3);
/* Clears the line on a terminal before the table is printed. */
void bench_progress_end(bench_progress_t *p);
/* Task counts in the line: on a terminal, not --quiet, a runtime made
 * with cfg from bench_progress_hook shows "done/submitted tasks" of the
 * run in progress, redrawn at most every BENCH_PROGRESS_MS. The hook's
 * slot is claimed before the runtime exists (cfg unchanged when progress
 * is not shown or the slots are taken); bench_progress_attach names the
 * runtime once made (NULL: creation failed, the slot is freed), and
 * bench_progress_detach frees the slot after it is destroyed. */
#define BENCH_PROGRESS_MS 200
void bench_progress_hook(bench_progress_t *p, fronta_config_t *cfg);
void bench_progress_attach(bench_progress_t *p, const fronta_config_t *cfg,
                           fronta_runtime_t *rt);
void bench_progress_detach(bench_progress_t *p, fronta_runtime_t *rt);

/* plot.c: the results as an SVG of ratio bars, one per row, grouped by
 * case, on a log scale with the reference line at 1 (docs/benchmarks.md).
 * quick: whether the run used --quick sizes (said in the subtitle).
 * 0, or -1 with errno set (the file is then not left half-written). */
int bench_plot_svg(const bench_machine_t *m, const bench_result_t *r, size_t n, int quick,
                   const char *path);

#endif /* FRONTA_BENCH_H */
