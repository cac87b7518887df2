/* report.c — fronta-bench's outputs: the table on stdout and the JSON file (BENCHMARKS.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* The impl row i's ratio is taken against: its own when the registry
 * names one, else its case's. */
static const char *reference_name(const bench_result_t *row)
{
    return row->impl->reference ? row->impl->reference : row->impl->c->reference;
}

/* Index of the row that is the reference of row i, when it ran and was
 * verified; -1 otherwise. */
static long reference_of(const bench_result_t *r, size_t n, size_t i)
{
    const bench_case_t *c = r[i].impl->c;
    const char *ref = reference_name(&r[i]);

    for (size_t j = 0; j < n; j++)
        if (r[j].impl->c == c && strcmp(r[j].impl->impl, ref) == 0 &&
            r[j].status == BENCH_OK)
            return (long)j;
    return -1;
}

/* ratio > 1 always means "worse than the reference", whichever way the
 * metric points. */
static double ratio_of(const bench_result_t *row, const bench_result_t *ref)
{
    if (ref->median <= 0.0 || row->median <= 0.0)
        return NAN;
    return row->impl->c->higher_is_better ? ref->median / row->median
                                          : row->median / ref->median;
}

static void fmt_num(char *buf, size_t size, double v)
{
    snprintf(buf, size, fabs(v) < 10.0 ? "%.2f" : "%.1f", v);
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
    long ref = reference_of(r, n, i);

    if (row->status == BENCH_OK) {
        fmt_num(med, sizeof med, row->median);
        fmt_num(mn, sizeof mn, row->min);
        fmt_num(mx, sizeof mx, row->max);
        /* "*": the case's reference is not hand-written (its note);
         * "^": this row has a reference of its own (a footnote names it). */
        if (ref >= 0 && !isnan(ratio_of(row, &r[ref])))
            snprintf(ratio, sizeof ratio, "%.2f%s", ratio_of(row, &r[ref]),
                     row->impl->reference ? "^" : c->note ? "*" : "");
        if (row->impl->extra)
            snprintf(extra, sizeof extra, "  %s=%.2f", row->impl->extra, row->extra);
    } else {
        snprintf(med, sizeof med, "%s", status_word(row->status));
        mn[0] = mx[0] = '\0';
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-6s  %10zu  %-16s  %10s  %10s  %10s  %7s%s\n",
            w.bench, c->bench, w.name, c->name, w.impl, row->impl->impl,
            bench_dev_name(row->impl->dev), row->size, c->metric, med, mn, mx, ratio,
            extra);
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
                reference_of(r, n, i) < 0 ? " (not in this run: ratio blank)" : "");
    }
    for (size_t i = 0; i < n; i++) {
        const bench_impl_t *im = r[i].impl;

        if (im->reference)
            fprintf(out, "^ %s/%s %s: ratio to %s, not to the case's %s%s\n", im->c->bench,
                    im->c->name, im->impl, im->reference, im->c->reference,
                    reference_of(r, n, i) < 0 ? " (not in this run: ratio blank)" : "");
    }
}

void bench_report_table(const bench_result_t *r, size_t n, FILE *out)
{
    widths_t w = widths_of(r, n);

    fprintf(out, "%-*s  %-*s  %-*s  %-6s  %10s  %-16s  %10s  %10s  %10s  %7s\n",
            w.bench, "bench", w.name, "case", w.impl, "impl", "device", "size", "metric",
            "median", "min", "max", "ratio");
    for (size_t i = 0; i < n; i++)
        table_row(r, n, i, w, out);
    fprintf(out, "ratio: median / median of the case's reference impl "
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
    json_str(f, reference_name(r));
    fputs(", \"ratio\": ", f);
    json_num(f, ratio, ok);
    if (r->impl->extra) {
        fputs(", ", f);
        json_str(f, r->impl->extra);
        fputs(": ", f);
        json_num(f, r->extra, ok);
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
        long ref = reference_of(r, n, i);
        json_result(f, &r[i], ref >= 0 ? ratio_of(&r[i], &r[ref]) : NAN);
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
