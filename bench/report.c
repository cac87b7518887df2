/* report.c — fronta-bench's outputs: the table, the JSON file (BENCHMARKS.md), progress. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench.h"

const char *bench_result_reference(const bench_result_t *row)
{
    return row->impl->reference ? row->impl->reference : row->impl->c->reference;
}

/* Index of the row that is the reference of row i, when it ran and was
 * verified; -1 otherwise. */
static long reference_of(const bench_result_t *r, size_t n, size_t i)
{
    const bench_case_t *c = r[i].impl->c;
    const char *ref = bench_result_reference(&r[i]);

    for (size_t j = 0; j < n; j++)
        if (r[j].impl->c == c && strcmp(r[j].impl->impl, ref) == 0 &&
            r[j].status == BENCH_OK)
            return (long)j;
    return -1;
}

/* ratio > 1 always means "worse than the reference", whichever way the
 * metric points. */
double bench_result_ratio(const bench_result_t *r, size_t n, size_t i)
{
    long j = reference_of(r, n, i);
    const bench_result_t *row = &r[i];

    if (j < 0 || row->status != BENCH_OK || !(r[j].median > 0.0) || !(row->median > 0.0))
        return NAN;
    return row->impl->c->higher_is_better ? r[j].median / row->median
                                          : row->median / r[j].median;
}

int bench_result_is_reference(const bench_result_t *r, size_t n, size_t i)
{
    return reference_of(r, n, i) == (long)i;
}

/* Three significant digits at least, no exponent below 1e9: small
 * figures (0.0042 ms) must not print as 0.00. */
static void fmt_num(char *buf, size_t size, double v)
{
    double a = fabs(v);

    snprintf(buf, size, a >= 10.0 || a == 0.0 ? "%.1f" : a >= 0.1 ? "%.2f" : "%.3g", v);
}

static const char *status_word(bench_status_t st)
{
    return st == BENCH_WRONG ? "WRONG" : st == BENCH_ERROR ? "ERROR" : "";
}

typedef struct widths {
    int bench, name, impl;
} widths_t;

static widths_t widths_of(const bench_result_t *r, size_t n)
{
    widths_t w = {5, 4, 4};

    for (size_t i = 0; i < n; i++) {
        const bench_impl_t *im = r[i].impl;
        int lb = (int)strlen(im->c->bench), ln = (int)strlen(im->c->name);
        int li = (int)strlen(im->impl);
        w.bench = lb > w.bench ? lb : w.bench;
        w.name = ln > w.name ? ln : w.name;
        w.impl = li > w.impl ? li : w.impl;
    }
    return w;
}

static void table_row(const bench_result_t *r, size_t n, size_t i, widths_t w, FILE *out)
{
    const bench_result_t *row = &r[i];
    const bench_case_t *c = row->impl->c;
    char med[32], mn[32], mx[32], ratio[32] = "", extra[64] = "";
    double q = bench_result_ratio(r, n, i);

    if (row->status == BENCH_OK) {
        fmt_num(med, sizeof med, row->median);
        fmt_num(mn, sizeof mn, row->min);
        fmt_num(mx, sizeof mx, row->max);
        /* "*": the case's reference is not hand-written (its note);
         * "^": this row has a reference of its own (a footnote names it). */
        if (!isnan(q))
            snprintf(ratio, sizeof ratio, "%.2f%s", q,
                     row->impl->reference ? "^" : c->note ? "*" : "");
        if (row->impl->extra)
            snprintf(extra, sizeof extra, "  %s=%.2f", row->impl->extra, row->extra);
    } else {
        snprintf(med, sizeof med, "%s", status_word(row->status));
        mn[0] = mx[0] = '\0';
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-6s  %10zu  %4d  %-16s  %10s  %10s  %10s  %7s%s\n",
            w.bench, c->bench, w.name, c->name, w.impl, row->impl->impl,
            bench_dev_name(row->impl->dev), row->size, row->repeat, c->metric, med, mn, mx,
            ratio, extra);
}

/* What a footnote adds when row i has no ratio: whether its reference is
 * absent from the run or there but not verified. */
static const char *missing_reference(const bench_result_t *r, size_t n, size_t i)
{
    const char *ref = bench_result_reference(&r[i]);

    if (reference_of(r, n, i) >= 0)
        return "";
    for (size_t j = 0; j < n; j++)
        if (r[j].impl->c == r[i].impl->c && strcmp(r[j].impl->impl, ref) == 0)
            return " (not verified in this run: ratio blank)";
    return " (not in this run: ratio blank)";
}

/* One footnote per case whose reference is not a hand-written baseline. */
static void table_notes(const bench_result_t *r, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const bench_case_t *c = r[i].impl->c;
        size_t j;

        for (j = 0; j < i && r[j].impl->c != c; j++)
            ;
        if (j < i || !c->note)
            continue;
        fprintf(out, "* %s/%s: %s%s\n", c->bench, c->name, c->note,
                missing_reference(r, n, i));
    }
    for (size_t i = 0; i < n; i++) {
        const bench_impl_t *im = r[i].impl;

        if (im->reference)
            fprintf(out, "^ %s/%s %s: ratio to %s, not to the case's %s%s\n", im->c->bench,
                    im->c->name, im->impl, im->reference, im->c->reference,
                    missing_reference(r, n, i));
    }
}

void bench_report_table(const bench_result_t *r, size_t n, FILE *out)
{
    widths_t w = widths_of(r, n);

    fprintf(out, "%-*s  %-*s  %-*s  %-6s  %10s  %4s  %-16s  %10s  %10s  %10s  %7s\n",
            w.bench, "bench", w.name, "case", w.impl, "impl", "device", "size", "runs",
            "metric", "median", "min", "max", "ratio");
    for (size_t i = 0; i < n; i++)
        table_row(r, n, i, w, out);
    fprintf(out, "runs: timed runs after one warm-up; median, min, max over them\n"
                 "ratio: median / median of the case's reference impl "
                 "(>1: worse than it); reference = best hand-written baseline\n");
    table_notes(r, n, out);
}

/* ---- JSON, written by hand: the format is small and fixed ------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f); /* UTF-8 passes through as is */
    }
    fputc('"', f);
}

/* A number, or null where there is none to give (a WRONG row, NaN). */
static void json_num(FILE *f, double v, int valid)
{
    if (valid && isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static void json_device(FILE *f, int id, const bench_device_t *d)
{
    fprintf(f, "{\"id\": %d, \"kind\": ", id);
    json_str(f, d->kind);
    if (d->type[0]) {
        fputs(", \"type\": ", f);
        json_str(f, d->type);
    }
    fputs(", \"name\": ", f);
    json_str(f, d->name);
    if (d->platform[0]) {
        fputs(", \"platform\": ", f);
        json_str(f, d->platform);
    }
    if (d->threads)
        fprintf(f, ", \"threads\": %d", d->threads);
    if (d->global_mem)
        fprintf(f, ", \"global_mem\": %llu", (unsigned long long)d->global_mem);
    fputc('}', f);
}

static void json_machine(FILE *f, const bench_machine_t *m)
{
    fprintf(f, "  \"machine\": {\"cpus\": %d, \"cpu_model\": ", m->cpus);
    json_str(f, m->cpu_model);
    fputs(",\n              \"devices\": [", f);
    for (int i = 0; i < m->ndevices; i++) {
        fputs(i ? ",\n                          " : "", f);
        json_device(f, i, &m->devices[i]);
    }
    fputs("]},\n", f);
}

/* ratio is NaN when the row has none (its reference did not run, or a
 * figure is not positive). */
static void json_result(FILE *f, const bench_result_t *r, double ratio)
{
    const bench_case_t *c = r->impl->c;
    int ok = r->status == BENCH_OK;

    fputs("    {\"bench\": ", f);
    json_str(f, c->bench);
    fputs(", \"case\": ", f);
    json_str(f, c->name);
    fputs(", \"impl\": ", f);
    json_str(f, r->impl->impl);
    fputs(", \"device\": ", f);
    json_str(f, bench_dev_name(r->impl->dev));
    fprintf(f, ",\n     \"size\": %zu, \"repeat\": %d, \"metric\": ", r->size, r->repeat);
    json_str(f, c->metric);
    fputs(", \"unit\": ", f);
    json_str(f, c->unit);
    fputs(",\n     \"median\": ", f);
    json_num(f, r->median, ok);
    fputs(", \"min\": ", f);
    json_num(f, r->min, ok);
    fputs(", \"max\": ", f);
    json_num(f, r->max, ok);
    fprintf(f, ", \"better\": \"%s\", \"verified\": %s",
            c->higher_is_better ? "higher" : "lower", ok ? "true" : "false");
    /* Fields added after the first version of the format: readers that
     * predate them ignore them. */
    fputs(",\n     \"reference\": ", f);
    json_str(f, bench_result_reference(r));
    fputs(", \"ratio\": ", f);
    json_num(f, ratio, ok);
    if (r->impl->extra) {
        fputs(", ", f);
        json_str(f, r->impl->extra);
        fputs(": ", f);
        json_num(f, r->extra, ok);
    }
    if (r->stats && bench_wstats_any(r->stats)) {
        fputs(",\n     \"stats\": ", f);
        bench_wstats_json(f, r->stats);
    }
    fputc('}', f);
}

/* Written to FILE.tmp, then renamed: a reader never sees half a file. */
int bench_report_json(const bench_machine_t *m, const bench_result_t *r, size_t n,
                      const char *path)
{
    char tmp[4096];
    FILE *f;
    int bad;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    if (!(f = fopen(tmp, "w")))
        return -1;
    fputs("{\n  \"fronta_version\": ", f);
    json_str(f, fronta_version());
    fputs(",\n", f);
    json_machine(f, m);
    fputs("  \"results\": [\n", f);
    for (size_t i = 0; i < n; i++) {
        json_result(f, &r[i], bench_result_ratio(r, n, i));
        fputs(i + 1 < n ? ",\n" : "\n", f);
    }
    fputs("  ]\n}\n", f);
    bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

/* ---- progress on stderr ----------------------------------------------- */

static int terminal_width(FILE *f)
{
    struct winsize ws;

    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

void bench_progress_init(bench_progress_t *p, int quiet)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->out = stderr;
    p->tty = isatty(fileno(stderr));
    p->quiet = quiet;
    p->width = p->tty ? terminal_width(stderr) : 0;
    p->t0 = bench_now_ns();
    for (size_t i = 0; i < sizeof p->rts / sizeof p->rts[0]; i++)
        p->rts[i].p = p;
}

void bench_progress_start(bench_progress_t *p, size_t total)
{
    p->total = total;
    p->t0 = bench_now_ns();
}

static double elapsed_s(const bench_progress_t *p)
{
    return (double)(bench_now_ns() - p->t0) / 1e9;
}

/* Blanks the in-place line, so that a lasting line starts at column 0.
 * Spaces rather than an escape sequence: any terminal understands them.
 * Caller holds p->lock. */
static void clear_line(bench_progress_t *p)
{
    if (p->shown)
        fprintf(p->out, "\r%*s\r", p->shown, "");
    p->shown = 0;
    p->len = 0; /* no run line for the hooks to redraw */
}

/* Redraws the terminal line as line followed by tail. A line longer than
 * the terminal wraps, and \r then returns to its last screen line only:
 * cut it to fit, from line rather than from tail (the counts that move).
 * Caller holds p->lock. */
static void draw_line(bench_progress_t *p, const char *line, const char *tail)
{
    char buf[640];
    int lt = (int)strlen(tail), room = p->width - 1 - lt, len;

    len = snprintf(buf, sizeof buf, "%.*s%s", room > 0 ? room : 0, line, room > 0 ? tail : "");
    len = len < 0 ? 0 : len >= (int)sizeof buf ? (int)sizeof buf - 1 : len;
    if (len > p->width - 1)
        len = p->width - 1;
    buf[len] = '\0';
    fprintf(p->out, "\r%s%*s", buf, p->shown > len ? p->shown - len : 0, "");
    p->shown = len;
    fflush(p->out);
}

static void row_name(char *buf, size_t size, const bench_impl_t *im)
{
    snprintf(buf, size, "%s/%s %s", im->c->bench, im->c->name, im->impl);
}

/* Each runtime's counts now, so the hook shows those of this run alone.
 * Caller holds p->lock. */
static void tasks_rebase(bench_progress_t *p)
{
    for (size_t i = 0; i < sizeof p->rts / sizeof p->rts[0]; i++)
        if (p->rts[i].rt)
            (void)fronta_runtime_progress(p->rts[i].rt, &p->rts[i].c0, &p->rts[i].s0);
}

void bench_progress_run(bench_progress_t *p, const bench_impl_t *im, size_t n, int k, int max)
{
    char name[192], what[32];
    int len;

    if (p->quiet || (!p->tty && k > 0))
        return;
    row_name(name, sizeof name, im);
    if (k == 0)
        snprintf(what, sizeof what, "warm-up");
    else
        snprintf(what, sizeof what, "run %d/%d", k, max);
    pthread_mutex_lock(&p->lock);
    len = snprintf(p->line, sizeof p->line, "[%zu/%zu rows, %.1f s] %s (%s, n=%zu): %s",
                   p->done, p->total, elapsed_s(p), name, bench_dev_name(im->dev), n, what);
    if (!p->tty) {
        fprintf(p->out, "%s\n", p->line);
    } else {
        draw_line(p, p->line, "");
        p->len = len > 0 ? len : 0;
        p->tick_ns = bench_now_ns();
        tasks_rebase(p);
    }
    pthread_mutex_unlock(&p->lock);
}

/* ---- task counts from the runtimes' progress hooks --------------------- */

/* Runs on a thread of the runtime, while the main thread may print: every
 * access to the line is under p->lock. */
static void progress_tasks(void *ud, uint64_t completed, uint64_t submitted)
{
    struct bench_prt *r = ud;
    bench_progress_t *p = r->p;
    char tail[64];
    uint64_t now = bench_now_ns();

    pthread_mutex_lock(&p->lock);
    if (p->len > 0 && r->rt && now - p->tick_ns >= (uint64_t)BENCH_PROGRESS_MS * 1000000u &&
        completed >= r->c0 && submitted >= r->s0) {
        snprintf(tail, sizeof tail, "  %llu/%llu tasks", (unsigned long long)(completed - r->c0),
                 (unsigned long long)(submitted - r->s0));
        draw_line(p, p->line, tail);
        p->tick_ns = now;
    }
    pthread_mutex_unlock(&p->lock);
}

void bench_progress_hook(bench_progress_t *p, fronta_config_t *cfg)
{
    if (!p || p->quiet || !p->tty)
        return;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < sizeof p->rts / sizeof p->rts[0]; i++) {
        /* Claimed, not attached yet: the hook may already run inside
         * fronta_runtime_create, and then shows nothing (rt NULL). */
        if (!p->rts[i].claimed) {
            p->rts[i].claimed = 1;
            p->rts[i].rt = NULL;
            cfg->progress = progress_tasks;
            cfg->progress_ud = &p->rts[i];
            cfg->progress_ms = BENCH_PROGRESS_MS;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
}

void bench_progress_attach(bench_progress_t *p, const fronta_config_t *cfg,
                           fronta_runtime_t *rt)
{
    struct bench_prt *r;

    if (!p || cfg->progress != progress_tasks)
        return;
    r = cfg->progress_ud;
    pthread_mutex_lock(&p->lock);
    r->rt = rt;
    r->claimed = rt != NULL;
    r->c0 = r->s0 = 0;
    pthread_mutex_unlock(&p->lock);
}

void bench_progress_detach(bench_progress_t *p, fronta_runtime_t *rt)
{
    if (!p || !rt)
        return;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < sizeof p->rts / sizeof p->rts[0]; i++)
        if (p->rts[i].rt == rt) {
            p->rts[i].rt = NULL;
            p->rts[i].claimed = 0;
        }
    pthread_mutex_unlock(&p->lock);
}

void bench_progress_row(bench_progress_t *p, const bench_result_t *r, const double *v)
{
    const bench_case_t *c = r->impl->c;
    char name[192], num[32];

    p->done++;
    if (p->quiet && r->status == BENCH_OK)
        return;
    pthread_mutex_lock(&p->lock);
    clear_line(p);
    row_name(name, sizeof name, r->impl);
    fprintf(p->out, "[%zu/%zu rows, %.1f s] %s (n=%zu):", p->done, p->total, elapsed_s(p),
            name, r->size);
    if (r->status != BENCH_OK) {
        if (r->repeat)
            fprintf(p->out, " %s at timed run %d\n", status_word(r->status), r->repeat);
        else
            fprintf(p->out, " %s at warm-up\n", status_word(r->status));
        pthread_mutex_unlock(&p->lock);
        return;
    }
    for (int k = 0; k < r->repeat && k < 16; k++) {
        fmt_num(num, sizeof num, v[k]);
        fprintf(p->out, " %s", num);
    }
    fmt_num(num, sizeof num, r->median);
    fprintf(p->out, "%s %s -> median %s (%d runs)\n", r->repeat > 16 ? " ..." : "", c->unit, num,
            r->repeat);
    pthread_mutex_unlock(&p->lock);
}

void bench_progress_note(bench_progress_t *p, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&p->lock);
    clear_line(p);
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    pthread_mutex_unlock(&p->lock);
}

void bench_progress_end(bench_progress_t *p)
{
    pthread_mutex_lock(&p->lock);
    clear_line(p);
    pthread_mutex_unlock(&p->lock);
    if (!p->quiet)
        fprintf(p->out, "fronta-bench: %zu rows in %.1f s\n", p->done, elapsed_s(p));
}
