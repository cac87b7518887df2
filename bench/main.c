/* main.c — fronta-bench: command line, running the selected cases, exit status. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_NAMES 64
#define DEV_ALL (-1)

typedef struct opts {
    const char *names[MAX_NAMES]; /* "bench" or "bench/case"; none: all */
    int nnames;
    int device;                   /* a bench_dev_t, or DEV_ALL */
    size_t size;                  /* 0: each case's default */
    int repeat;                   /* 0: the run policy decides (policy_of) */
    const char *json, *plot;
    int quick, quiet, list, help, stats;
} opts_t;

static void usage(FILE *out)
{
    fputs("usage: fronta-bench --list\n"
          "       fronta-bench [NAME...] [--device cpu|opencl|gpu|all] [--size N]\n"
          "                    [--repeat R] [--json FILE] [--plot FILE.svg] [--quick]\n"
          "                    [--stats] [--quiet]\n"
          "\n"
          "  NAME          a bench (\"overhead\") or one case (\"overhead/chain\");\n"
          "                none runs the whole suite (but the mpi group: MPI jobs\n"
          "                under mpiexec, run only when named)\n"
          "  --list, -l    list the devices, one per line, and exit\n"
          "  --device D    run only the implementations on D (default all)\n"
          "  --size N      problem size for every selected case (default per case)\n"
          "  --repeat R    exactly R timed runs per implementation, after one warm-up\n"
          "                (default: 3 to 9, as many as fit in about 2 s per row)\n"
          "  --json FILE   also write the results as JSON (see BENCHMARKS.md)\n"
          "  --plot FILE   also draw the ratios as an SVG picture\n"
          "  --quick       small sizes and 3 runs: a smoke run under a minute\n"
          "  --stats       after the table, per-worker statistics of each fronta row\n"
          "                (also in the JSON, as each row's \"stats\")\n"
          "  --quiet, -q   no progress on stderr (failures are still reported)\n"
          "\n"
          "Exit status: 0 all verified, 1 a result was wrong or a run failed,\n"
          "2 bad command line.\n",
          out);
}

static int bad_usage(const char *fmt, const char *what)
{
    fputs("fronta-bench: ", stderr);
    fprintf(stderr, fmt, what);
    fputs(" (try --help)\n", stderr);
    return -1;
}

/* Positive integer, also in 1e6 form; 0 when the text is not one. */
static size_t parse_count(const char *s)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 1.0 && v <= 1e15) || v != floor(v))
        return 0;
    return (size_t)v;
}

static int parse_device(const char *s)
{
    static const char *const names[] = {"cpu", "opencl", "gpu"};

    if (strcmp(s, "all") == 0)
        return DEV_ALL;
    for (int d = 0; d < (int)(sizeof names / sizeof names[0]); d++)
        if (strcmp(s, names[d]) == 0)
            return d;
    return -2;
}

/* The value of "--opt V" or "--opt=V"; NULL when arg is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
    size_t len = strlen(opt);

    if (strncmp(argv[*i], opt, len) != 0)
        return NULL;
    if (argv[*i][len] == '=')
        return argv[*i] + len + 1;
    if (argv[*i][len] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse_valued(const char *opt, const char *v, opts_t *o)
{
    if (strcmp(opt, "--device") == 0) {
        o->device = parse_device(v);
        return o->device == -2 ? bad_usage("unknown device '%s'", v) : 0;
    }
    if (strcmp(opt, "--size") == 0)
        return (o->size = parse_count(v)) ? 0 : bad_usage("bad --size '%s'", v);
    if (strcmp(opt, "--repeat") == 0) {
        size_t r = parse_count(v);
        o->repeat = r <= 1000 ? (int)r : 0;
        return o->repeat ? 0 : bad_usage("bad --repeat '%s' (1..1000)", v);
    }
    if (strcmp(opt, "--plot") == 0)
        o->plot = v;
    else
        o->json = v;
    return 0;
}

/* 0, or -1 after printing why. */
static int parse_args(int argc, char **argv, opts_t *o)
{
    static const char *const valued[] = {"--device", "--size", "--repeat", "--json",
                                         "--plot"};

    memset(o, 0, sizeof *o);
    o->device = DEV_ALL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int missing = 0, done = 0;

        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !done; k++) {
            const char *v = opt_value(argc, argv, &i, valued[k], &missing);
            if (missing)
                return bad_usage("%s needs a value", valued[k]);
            if (v && parse_valued(valued[k], v, o))
                return -1;
            done = v != NULL;
        }
        if (done)
            continue;
        if (strcmp(a, "--quick") == 0)
            o->quick = 1;
        else if (strcmp(a, "--stats") == 0)
            o->stats = 1;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            o->quiet = 1;
        else if (strcmp(a, "--list") == 0 || strcmp(a, "-l") == 0)
            o->list = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            o->help = 1;
        else if (a[0] == '-')
            return bad_usage("unknown option '%s'", a);
        else if (o->nnames == MAX_NAMES)
            return bad_usage("too many names (%s)", a);
        else
            o->names[o->nnames++] = a;
    }
    return 0;
}

static int name_matches(const char *name, const bench_case_t *c)
{
    size_t lb = strlen(c->bench);

    if (strcmp(name, c->bench) == 0)
        return 1;
    return strncmp(name, c->bench, lb) == 0 && name[lb] == '/' &&
           strcmp(name + lb + 1, c->name) == 0;
}

static int case_selected(const opts_t *o, const bench_case_t *c)
{
    if (o->nnames == 0)
        return !c->opt_in;
    for (int i = 0; i < o->nnames; i++)
        if (name_matches(o->names[i], c))
            return 1;
    return 0;
}

/* Every NAME must name something: a typo must not silently run nothing. */
static int check_names(const opts_t *o)
{
    for (int i = 0; i < o->nnames; i++) {
        size_t k;
        for (k = 0; k < bench_registry_len; k++)
            if (name_matches(o->names[i], bench_registry[k].c))
                break;
        if (k == bench_registry_len)
            return bad_usage("unknown benchmark '%s'", o->names[i]);
    }
    return 0;
}

/* ---- cleanups ---------------------------------------------------------- */

static bench_cleanup_fn cleanups[8];
static int ncleanups;

int bench_at_exit(bench_cleanup_fn fn)
{
    if (ncleanups == (int)(sizeof cleanups / sizeof cleanups[0]))
        return -1;
    cleanups[ncleanups++] = fn;
    return 0;
}

void bench_run_cleanups(void)
{
    while (ncleanups > 0)
        cleanups[--ncleanups]();
}

/* ---- running ----------------------------------------------------------- */

/* How many timed runs each row of a case gets. The default run must cover
 * the whole suite in under 5 minutes on 2 cores, yet give the fast rows
 * (most of them) more than 3 samples on a noisy machine: rows repeat until
 * the case has spent budget_s per row on them, between min and max runs.
 * A run slower than the budget still gets min, and past SUITE_SOFT_S the
 * remaining cases get min only. --repeat R and --quick fix the count. */
typedef struct policy {
    int min, max;
    double budget_s; /* 0: always max */
} policy_t;

#define REPEAT_MIN 3
#define REPEAT_MAX 9
#define ROW_BUDGET_S 2.0
#define SUITE_SOFT_S 200.0

static policy_t policy_of(const opts_t *o)
{
    if (o->repeat)
        return (policy_t){o->repeat, o->repeat, 0.0};
    if (o->quick)
        return (policy_t){REPEAT_MIN, REPEAT_MIN, 0.0};
    return (policy_t){REPEAT_MIN, REPEAT_MAX, ROW_BUDGET_S};
}

typedef struct run_ctx {
    const bench_env_t *env;
    const opts_t *o;
    policy_t pol;
    int cut_short;   /* SUITE_SOFT_S passed: said once */
    bench_progress_t *prog;
} run_ctx_t;

/* Timed values of one implementation over its runs. */
typedef struct samples {
    double v[1000], x[1000];
} samples_t;

static void result_init(bench_result_t *res, const bench_impl_t *im, size_t n)
{
    memset(res, 0, sizeof *res);
    res->impl = im;
    res->size = n;
}

static void result_finish(run_ctx_t *x, bench_result_t *res, const samples_t *s)
{
    int repeat = res->repeat;
    double v[1000], e[1000];

    if (res->status != BENCH_OK || repeat == 0) {
        res->status = res->status == BENCH_OK ? BENCH_ERROR : res->status;
        bench_progress_row(x->prog, res, NULL);
        return;
    }
    memcpy(v, s->v, (size_t)repeat * sizeof v[0]);
    memcpy(e, s->x, (size_t)repeat * sizeof e[0]);
    res->min = res->max = v[0];
    for (int r = 1; r < repeat; r++) {
        res->min = v[r] < res->min ? v[r] : res->min;
        res->max = v[r] > res->max ? v[r] : res->max;
    }
    res->median = bench_median(v, (size_t)repeat);
    if (res->impl->extra)
        res->extra = bench_median(e, (size_t)repeat);
    bench_progress_row(x->prog, res, s->v);
}

/* One call of a row's function, with --stats reading the counters of the
 * runtime it ran on around it (outside its timed region): env->rt's,
 * unless the row named one of its own (bench_row_runtime). */
static bench_status_t call_row(run_ctx_t *x, const bench_impl_t *im, size_t n,
                               bench_result_t *res, double *val)
{
    bench_hooks_t *h = x->env->hooks;
    bench_wstats_t base, now;
    bench_status_t st;

    h->row_rt = NULL;
    h->have_delta = 0;
    h->delta.n = 0;
    if (h->stats)
        bench_wstats_read(x->env->rt, &base);
    st = bench_inject_apply(im, im->run(x->env, n, val), val);
    if (!h->stats)
        return st;
    bench_row_runtime_done(x->env);
    if (!res->stats && !(res->stats = calloc(1, sizeof *res->stats)))
        return st;
    if (h->have_delta) {
        now.n = 0;
        bench_wstats_add_delta(res->stats, &h->delta, &now);
    } else {
        bench_wstats_read(x->env->rt, &now);
        bench_wstats_add_delta(res->stats, &now, &base);
    }
    res->stats->calls++;
    return st;
}

/* Runs row i once more; its wall time (set-up included: that is what the
 * suite's duration is made of) is added to *spent. */
static void run_once(run_ctx_t *x, const bench_impl_t *im, size_t n, bench_result_t *res,
                     samples_t *s, double *spent)
{
    double val[BENCH_NVALUES] = {0};
    uint64_t t0 = bench_now_ns();
    int r = res->repeat;

    bench_progress_run(x->prog, im, n, r + 1, x->pol.max);
    res->status = call_row(x, im, n, res, val);
    *spent += (double)(bench_now_ns() - t0) / 1e9;
    s->v[r] = val[0];
    s->x[r] = val[1];
    res->repeat = r + 1;
}

/* Whether the case should stop after `done` rounds of nim rows. */
static int rounds_done(const policy_t *pol, int done, double spent, size_t nim)
{
    if (done >= pol->max)
        return 1;
    return done >= pol->min && pol->budget_s > 0.0 && spent >= pol->budget_s * (double)nim;
}

/* Every implementation of the case is warmed up once, then the timed runs
 * go round-robin (run r of each implementation, then r + 1): on a noisy
 * machine drift then falls on all implementations alike instead of on
 * whichever ran last. An implementation stops at its first run that is
 * not verified, since its figures mean nothing. */
static void run_rows(run_ctx_t *x, const bench_impl_t *const *im, size_t nim, size_t n,
                     bench_result_t *res)
{
    samples_t *s = calloc(nim, sizeof *s);
    double warm[BENCH_NVALUES], spent = 0.0;
    int live = 1;

    for (size_t i = 0; i < nim; i++) {
        result_init(&res[i], im[i], n);
        if (!s) {
            res[i].status = BENCH_ERROR;
            continue;
        }
        bench_progress_run(x->prog, im[i], n, 0, x->pol.max);
        res[i].status = call_row(x, im[i], n, &res[i], warm);
    }
    for (int r = 0; s && live && !rounds_done(&x->pol, r, spent, nim); r++) {
        live = 0;
        for (size_t i = 0; i < nim; i++)
            if (res[i].status == BENCH_OK) {
                run_once(x, im[i], n, &res[i], &s[i], &spent);
                live = 1;
            }
    }
    for (size_t i = 0; i < nim; i++)
        result_finish(x, &res[i], s ? &s[i] : NULL);
    free(s);
}

/* The rows of case c that this run selects and can run, into im[];
 * returns their number. say: print why a row is skipped. */
static size_t case_rows(const bench_machine_t *m, const opts_t *o, const bench_case_t *c,
                        const bench_impl_t **im, size_t cap, int say)
{
    static const char *said; /* the last reason given: a group's cases share one */
    const char *why = c->unavailable ? c->unavailable() : NULL;
    size_t nim = 0;

    if (why) {
        if (say && why != said)
            fprintf(stderr, "%s\n", why);
        said = say ? why : said;
        return 0;
    }
    for (size_t k = 0; k < bench_registry_len && nim < cap; k++) {
        const bench_impl_t *row = &bench_registry[k];
        if (row->c != c || (o->device != DEV_ALL && (int)row->dev != o->device))
            continue;
        if (!bench_machine_has(m, row->dev)) {
            if (say)
                fprintf(stderr, "%s/%s %s: skipped, no %s%s\n", c->bench, c->name, row->impl,
                        row->dev == BENCH_DEV_ALL ? "OpenCL device beside the pool"
                                                  : bench_dev_name(row->dev),
                        row->dev == BENCH_DEV_ALL ? "" : " device");
            continue;
        }
        im[nim++] = row;
    }
    if (say && nim == 0 && o->device != DEV_ALL)
        fprintf(stderr, "%s/%s: skipped, nothing to run on %s\n", c->bench, c->name,
                bench_dev_name((bench_dev_t)o->device));
    return nim;
}

/* Runs the selected rows of case c; returns how many results it added. */
static size_t run_case(run_ctx_t *x, const bench_machine_t *m, const bench_case_t *c,
                       bench_result_t *res)
{
    const opts_t *o = x->o;
    size_t n = o->size ? o->size : o->quick ? c->quick_size : c->size;
    const bench_impl_t *im[64];
    size_t nim = case_rows(m, o, c, im, 64, 0);
    double t = (double)(bench_now_ns() - x->prog->t0) / 1e9;

    if (x->pol.budget_s > 0.0 && t > SUITE_SOFT_S && !x->cut_short) {
        bench_progress_note(x->prog, "fronta-bench: past %.0f s: the remaining cases get "
                                      "%d runs per row", SUITE_SOFT_S, x->pol.min);
        x->pol.max = x->pol.min;
        x->cut_short = 1;
    }
    run_rows(x, im, nim, n, res);
    if (c->fini)
        c->fini();
    return nim;
}

/* Whether k is the first registry row of its case. */
static int case_first_row(size_t k)
{
    for (size_t j = 0; j < k; j++)
        if (bench_registry[j].c == bench_registry[k].c)
            return 0;
    return 1;
}

/* Rows this run will time, over all selected cases (the progress total);
 * says which rows are skipped, once, before anything runs. */
static size_t count_rows(const bench_machine_t *m, const opts_t *o)
{
    const bench_impl_t *im[64];
    size_t total = 0;

    for (size_t k = 0; k < bench_registry_len; k++)
        if (case_first_row(k) && case_selected(o, bench_registry[k].c))
            total += case_rows(m, o, bench_registry[k].c, im, 64, 1);
    return total;
}

/* Each selected case once, in registry order. */
static size_t run_suite(run_ctx_t *x, const bench_machine_t *m, bench_result_t *res)
{
    size_t nres = 0;

    for (size_t k = 0; k < bench_registry_len; k++) {
        const bench_case_t *c = bench_registry[k].c;
        if (case_first_row(k) && case_selected(x->o, c))
            nres += run_case(x, m, c, res + nres);
    }
    return nres;
}

static int report(const bench_machine_t *m, const opts_t *o, const bench_result_t *res,
                  size_t nres)
{
    int rc = 0;

    if (nres) {
        bench_report_table(res, nres, stdout);
        if (o->stats)
            bench_wstats_print(res, nres, stdout);
    } else
        fprintf(stderr, "fronta-bench: nothing ran\n");
    for (size_t i = 0; i < nres; i++)
        rc |= res[i].status != BENCH_OK;
    if (o->json && bench_report_json(m, res, nres, o->json)) {
        fprintf(stderr, "fronta-bench: cannot write %s: %s\n", o->json, strerror(errno));
        rc = 1;
    }
    if (o->plot && bench_plot_svg(m, res, nres, o->quick, o->plot)) {
        fprintf(stderr, "fronta-bench: cannot write %s: %s\n", o->plot, strerror(errno));
        rc = 1;
    }
    return rc;
}

static int run_selected(const bench_env_t *env, const bench_machine_t *m, const opts_t *o)
{
    run_ctx_t x = {.env = env, .o = o, .pol = policy_of(o), .prog = env->hooks->prog};
    size_t total = count_rows(m, o), nres;
    bench_result_t *res = calloc(total ? total : 1, sizeof *res);
    int rc;

    if (!res)
        return 1;
    bench_progress_start(x.prog, total);
    nres = run_suite(&x, m, res);
    bench_progress_end(x.prog);
    rc = report(m, o, res, nres);
    for (size_t i = 0; i < nres; i++)
        free(res[i].stats);
    free(res);
    return rc;
}

static int run(const opts_t *o)
{
    static bench_progress_t prog;
    bench_hooks_t hooks = {.prog = &prog, .stats = o->stats};
    bench_env_t env = {.hooks = &hooks};
    bench_machine_t m;
    int rc;

    /* Before the shared runtime, which gets the progress hook too. */
    bench_progress_init(&prog, o->quiet || o->list);
    if ((rc = bench_runtime_create(&env, NULL, &env.rt)) != 0) {
        fprintf(stderr, "fronta-bench: fronta_runtime_create: %s\n", fronta_strerror(rc));
        return 1;
    }
    env.threads = fronta_runtime_cpu_threads(env.rt);
    env.quick = o->quick;
    env.runs = 1 + policy_of(o).max;
    bench_machine_probe(&env, &m);
    if (o->list) {
        bench_machine_list(&m, stdout);
        bench_runtime_destroy(&env, env.rt);
        return 0;
    }
    if (o->device != DEV_ALL && !bench_machine_has(&m, (bench_dev_t)o->device))
        fprintf(stderr, "fronta-bench: no %s device (none found, or fronta built "
                        "without OpenCL): its cases are skipped\n",
                bench_dev_name((bench_dev_t)o->device));
    rc = run_selected(&env, &m, o);
    bench_run_cleanups();
    bench_runtime_destroy(&env, env.rt);
    return rc;
}

int main(int argc, char **argv)
{
    opts_t o;

    if (parse_args(argc, argv, &o) || check_names(&o) || bench_inject_parse())
        return 2;
    if (o.help) {
        usage(stdout);
        return 0;
    }
    return run(&o);
}
