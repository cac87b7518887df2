/* bench.h — fronta-bench internals: the case registry, run environment, results. */
#ifndef FRONTA_BENCH_H
#define FRONTA_BENCH_H

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

/* Shared by every run of one fronta-bench process. */
typedef struct bench_env {
    fronta_runtime_t *rt;  /* created once, default config */
    int threads;           /* CPU pool threads; every CPU baseline uses as many */
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
    FILE *out;
    int tty;           /* redraw in place */
    int quiet;         /* --quiet: notes only */
    int width;         /* terminal columns */
    int shown;         /* length of the line on screen (tty), 0: none */
    size_t done, total;/* rows finished / selected over the whole run */
    uint64_t t0;       /* bench_now_ns at the start of the run */
} bench_progress_t;

void bench_progress_start(bench_progress_t *p, size_t total, int quiet);
/* Before run k of row im over n items: k == 0 is the warm-up, then timed
 * run k of at most max. */
void bench_progress_run(bench_progress_t *p, const bench_impl_t *im, size_t n, int k,
                        int max);
/* Row r finished; v holds its r->repeat timed values (unsorted). */
void bench_progress_row(bench_progress_t *p, const bench_result_t *r, const double *v);
void bench_progress_note(bench_progress_t *p, const char *fmt, ...) FRONTA_PRINTF(2, 3);
/* Clears the line on a terminal before the table is printed. */
void bench_progress_end(bench_progress_t *p);

/* plot.c: the results as an SVG of ratio bars, one per row, grouped by
 * case, on a log scale with the reference line at 1 (docs/benchmarks.md).
 * quick: whether the run used --quick sizes (said in the subtitle).
 * 0, or -1 with errno set (the file is then not left half-written). */
int bench_plot_svg(const bench_machine_t *m, const bench_result_t *r, size_t n, int quick,
                   const char *path);

#endif /* FRONTA_BENCH_H */
