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
    int repeat;                   /* 0: 5, or 3 with --quick */
    const char *json;
    int quick, list, help;
} opts_t;

static void usage(FILE *out)
{
    fputs("usage: fronta-bench --list\n"
          "       fronta-bench [NAME...] [--device cpu|opencl|gpu|all] [--size N]\n"
          "                    [--repeat R] [--json FILE] [--quick]\n"
          "\n"
          "  NAME          a bench (\"overhead\") or one case (\"overhead/chain\");\n"
          "                none runs the whole suite\n"
          "  --list, -l    list the devices, one per line, and exit\n"
          "  --device D    run only the implementations on D (default all)\n"
          "  --size N      problem size for every selected case (default per case)\n"
          "  --repeat R    timed runs per implementation, after one warm-up (default 5)\n"
          "  --json FILE   also write the results as JSON (see BENCHMARKS.md)\n"
          "  --quick       small sizes and 3 runs: a smoke run under a minute\n"
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
    for (int d = 0; d < BENCH_DEV_COUNT; d++)
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
    o->json = v;
    return 0;
}

/* 0, or -1 after printing why. */
static int parse_args(int argc, char **argv, opts_t *o)
{
    static const char *const valued[] = {"--device", "--size", "--repeat", "--json"};

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
        return 1;
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

/* Timed values of one implementation over the repeats of its case. */
typedef struct samples {
    double v[1000], x[1000];
} samples_t;

static void result_init(bench_result_t *res, const bench_impl_t *im, size_t n, int repeat)
{
    memset(res, 0, sizeof *res);
    res->impl = im;
    res->size = n;
    res->repeat = repeat;
}

static void result_finish(bench_result_t *res, const samples_t *s)
{
    const bench_case_t *c = res->impl->c;
    int repeat = res->repeat;
    double v[1000], x[1000];

    fprintf(stderr, "%s/%s %s (n=%zu):", c->bench, c->name, res->impl->impl, res->size);
    if (res->status != BENCH_OK) {
        fprintf(stderr, " %s\n", res->status == BENCH_WRONG ? "WRONG" : "ERROR");
        return;
    }
    memcpy(v, s->v, (size_t)repeat * sizeof v[0]);
    memcpy(x, s->x, (size_t)repeat * sizeof x[0]);
    res->min = res->max = v[0];
    for (int r = 0; r < repeat; r++) {
        fprintf(stderr, " %.1f", v[r]);
        res->min = v[r] < res->min ? v[r] : res->min;
        res->max = v[r] > res->max ? v[r] : res->max;
    }
    res->median = bench_median(v, (size_t)repeat);
    if (res->impl->extra)
        res->extra = bench_median(x, (size_t)repeat);
    fprintf(stderr, " %s -> median %.1f\n", c->unit, res->median);
}

/* Every implementation of the case is warmed up once, then the timed runs
 * go round-robin (repeat r of each implementation, then r + 1): on a
 * noisy machine drift then falls on all implementations alike instead of
 * on whichever ran last. An implementation stops at its first run that is
 * not verified, since its figures mean nothing. */
static void run_rows(const bench_env_t *env, const bench_impl_t *const *im, size_t nim,
                     size_t n, int repeat, bench_result_t *res)
{
    samples_t *s = calloc(nim, sizeof *s);
    double warm[BENCH_NVALUES];

    for (size_t i = 0; i < nim; i++) {
        result_init(&res[i], im[i], n, repeat);
        if (!s) {
            res[i].status = BENCH_ERROR;
            continue;
        }
        fprintf(stderr, "%s/%s %s (n=%zu): warm-up\n", im[i]->c->bench, im[i]->c->name,
                im[i]->impl, n);
        res[i].status = im[i]->run(env, n, warm);
    }
    for (int r = 0; s && r < repeat; r++)
        for (size_t i = 0; i < nim; i++) {
            if (res[i].status != BENCH_OK)
                continue;
            double val[BENCH_NVALUES] = {0};
            res[i].status = im[i]->run(env, n, val);
            s[i].v[r] = val[0];
            s[i].x[r] = val[1];
        }
    for (size_t i = 0; i < nim; i++)
        result_finish(&res[i], s ? &s[i] : NULL);
    free(s);
}

/* Runs the selected rows of case c; returns how many results it added. */
static size_t run_case(const bench_env_t *env, const bench_machine_t *m, const opts_t *o,
                       const bench_case_t *c, bench_result_t *res)
{
    size_t n = o->size ? o->size : o->quick ? c->quick_size : c->size;
    int repeat = o->repeat ? o->repeat : o->quick ? 3 : 5;
    const bench_impl_t *im[64];
    size_t nim = 0;

    for (size_t k = 0; k < bench_registry_len && nim < 64; k++) {
        const bench_impl_t *row = &bench_registry[k];
        if (row->c != c || (o->device != DEV_ALL && (int)row->dev != o->device))
            continue;
        if (!bench_machine_has(m, row->dev)) {
            fprintf(stderr, "%s/%s %s: skipped, no %s device\n", c->bench, c->name,
                    row->impl, bench_dev_name(row->dev));
            continue;
        }
        im[nim++] = row;
    }
    if (nim == 0 && o->device != DEV_ALL)
        fprintf(stderr, "%s/%s: skipped, nothing to run on %s\n", c->bench, c->name,
                bench_dev_name((bench_dev_t)o->device));
    run_rows(env, im, nim, n, repeat, res);
    return nim;
}

/* Each selected case once, in registry order. */
static size_t run_suite(const bench_env_t *env, const bench_machine_t *m, const opts_t *o,
                        bench_result_t *res)
{
    size_t nres = 0;

    for (size_t k = 0; k < bench_registry_len; k++) {
        const bench_case_t *c = bench_registry[k].c;
        size_t j;
        for (j = 0; j < k && bench_registry[j].c != c; j++)
            ;
        if (j == k && case_selected(o, c))
            nres += run_case(env, m, o, c, res + nres);
    }
    return nres;
}

static int report(const bench_machine_t *m, const opts_t *o, const bench_result_t *res,
                  size_t nres)
{
    int rc = 0;

    if (nres)
        bench_report_table(res, nres, stdout);
    else
        fprintf(stderr, "fronta-bench: nothing ran\n");
    for (size_t i = 0; i < nres; i++)
        rc |= res[i].status != BENCH_OK;
    if (o->json && bench_report_json(m, res, nres, o->json)) {
        fprintf(stderr, "fronta-bench: cannot write %s: %s\n", o->json, strerror(errno));
        rc = 1;
    }
    return rc;
}

static int run(const opts_t *o)
{
    bench_env_t env = {0};
    bench_machine_t m;
    bench_result_t *res;
    int rc = fronta_runtime_create(NULL, &env.rt);

    if (rc) {
        fprintf(stderr, "fronta-bench: fronta_runtime_create: %s\n", fronta_strerror(rc));
        return 1;
    }
    env.threads = fronta_runtime_cpu_threads(env.rt);
    bench_machine_probe(&env, &m);
    if (o->list) {
        bench_machine_list(&m, stdout);
        fronta_runtime_destroy(env.rt);
        return 0;
    }
    if (o->device != DEV_ALL && !bench_machine_has(&m, (bench_dev_t)o->device))
        fprintf(stderr, "fronta-bench: no %s device (none found, or fronta built "
                        "without OpenCL): its cases are skipped\n",
                bench_dev_name((bench_dev_t)o->device));
    if (!(res = calloc(bench_registry_len, sizeof *res))) {
        fronta_runtime_destroy(env.rt);
        return 1;
    }
    rc = report(&m, o, res, run_suite(&env, &m, o, res));
    bench_run_cleanups();
    fronta_runtime_destroy(env.rt);
    free(res);
    return rc;
}

int main(int argc, char **argv)
{
    opts_t o;

    if (parse_args(argc, argv, &o) || check_names(&o))
        return 2;
    if (o.help) {
        usage(stdout);
        return 0;
    }
    return run(&o);
}
