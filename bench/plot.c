/* plot.c — fronta-bench --plot: the results as an SVG of ratio bars, written by hand. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* Geometry (px). One row per result, grouped by case; the bars start at
 * the reference line (ratio 1) and go left (faster) or right (slower). */
#define W 1000.0
#define LABEL_X 292.0 /* right edge of the row labels */
#define PX0 305.0     /* the ratio axis */
#define PX1 765.0
#define RATIO_X 778.0 /* right column: ratio, then median */
#define MEDIAN_X 836.0
#define TOP 138.0     /* first group header */
#define GROUP_H 24.0
#define ROW_H 19.0
#define GAP_H 8.0
#define BAR_H 12.0
#define FOOT_H 58.0
#define MAX_DEVICE_LINES 4

#define COLOUR_FRONTA "#3b6fb6"
#define COLOUR_BASELINE "#a3a3a3"
#define COLOUR_BAD "#c62828"
#define COLOUR_GRID "#e3e3e3"
#define COLOUR_DIM "#666666"
/* Text over the grid: a white outline keeps it readable. */
#define HALO "stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\""

/* The log axis: decades lo..hi, at least 0.1..10, at most 0.001..1000;
 * ratios beyond are drawn to the edge with an arrow and their value. */
typedef struct axis {
    int lo, hi;
    double y0, y1; /* the grid's vertical extent */
} axis_t;

/* Hand-written baselines (BENCHMARKS.md); every other impl name is fronta
 * (fronta_*, or a placement policy). */
static int is_baseline(const char *impl)
{
    static const char *const names[] = {"serial",    "openmp",  "omp_task",   "opencl_raw",
                                        "openblas",  "mpi_openmp", "mpi_raw", "oracle",
                                        "starpu"};

    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(impl, names[k]) == 0)
            return 1;
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (1..4), 0 if none. */
static int utf8_len(const unsigned char *p)
{
    int len = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;

    if (p[0] < 0x80)
        return 1;
    for (int k = 1; k < len; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Text as XML character data or attribute value. A device name is a
 * driver's string: what would make the file ill-formed (a control byte,
 * broken UTF-8) becomes '?'. */
static void xml_text(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int len = utf8_len(p);
        if (*p == '&' || *p == '<' || *p == '>' || *p == '"')
            fputs(*p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : "&quot;", f);
        else if (len == 0 || (*p < 0x20 && *p != '\t'))
            fputc('?', f);
        else
            fwrite(p, 1, (size_t)len, f);
        p += len ? len : 1;
    }
}

/* <text x y ...>s</text>; attrs: further attributes, "" for none. */
static void text_at(FILE *f, double x, double y, const char *attrs, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"%s%s>", x, y, attrs[0] ? " " : "", attrs);
    xml_text(f, s);
    fputs("</text>\n", f);
}

static void fmt_value(char *buf, size_t size, double v)
{
    double a = fabs(v);

    snprintf(buf, size, a >= 1e5 ? "%.2g" : a >= 1000.0 ? "%.0f" : a >= 10.0 ? "%.1f" : "%.2f", v);
}

/* ---- the axis ---------------------------------------------------------- */

static axis_t axis_of(const bench_result_t *r, size_t n)
{
    axis_t a = {-1, 1, 0.0, 0.0};

    for (size_t i = 0; i < n; i++) {
        double q = bench_result_ratio(r, n, i);
        if (isnan(q))
            continue;
        while (a.lo > -3 && q < pow(10.0, a.lo))
            a.lo--;
        while (a.hi < 3 && q > pow(10.0, a.hi))
            a.hi++;
    }
    return a;
}

/* x of ratio q (finite, > 0), clamped to the axis; *clipped says so. */
static double axis_x(const axis_t *a, double q, int *clipped)
{
    double e = log10(q), t;

    *clipped = e < a->lo ? -1 : e > a->hi ? 1 : 0;
    e = e < a->lo ? a->lo : e > a->hi ? a->hi : e;
    t = (e - a->lo) / (double)(a->hi - a->lo);
    return PX0 + t * (PX1 - PX0);
}

static void axis_labels(FILE *f, const axis_t *a, double y)
{
    for (int d = a->lo; d <= a->hi; d++)
        for (int m = 1; m <= 5; m++) {
            double q = m * pow(10.0, d);
            char label[32];
            int clip;
            if ((m != 1 && m != 2 && m != 5) || (d == a->hi && m > 1))
                continue;
            snprintf(label, sizeof label, "%g", q);
            text_at(f, axis_x(a, q, &clip), y,
                    m == 1 ? "text-anchor=\"middle\" font-size=\"11\""
                           : "text-anchor=\"middle\" font-size=\"9\" fill=\"" COLOUR_DIM "\"",
                    label);
        }
}

/* Grid lines at 1, 2, 5 of each decade, the reference line at 1 on top. */
static void axis_draw(FILE *f, const axis_t *a)
{
    int clip;
    double x1 = axis_x(a, 1.0, &clip);

    fputs("<g class=\"grid\">\n", f);
    for (int d = a->lo; d <= a->hi; d++)
        for (int m = 1; m <= 5; m++) {
            double x = axis_x(a, m * pow(10.0, d), &clip);
            if ((m != 1 && m != 2 && m != 5) || (d == a->hi && m > 1))
                continue;
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    "stroke-width=\"1\"/>\n",
                    x, a->y0, x, a->y1, m == 1 ? "#c8c8c8" : COLOUR_GRID);
        }
    fputs("</g>\n", f);
    axis_labels(f, a, a->y0 - 6.0);
    axis_labels(f, a, a->y1 + 14.0);
    fprintf(f,
            "<line class=\"refline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#000000\" stroke-width=\"1.5\"/>\n",
            x1, a->y0, x1, a->y1);
}

/* ---- rows -------------------------------------------------------------- */

static double plot_height(const bench_result_t *r, size_t n)
{
    double h = TOP + FOOT_H;

    for (size_t i = 0; i < n; i++)
        h += ROW_H + (i == 0 || r[i].impl->c != r[i - 1].impl->c ? GROUP_H + GAP_H : 0.0);
    return h;
}

static void group_header(FILE *f, const bench_result_t *row, double y)
{
    const bench_case_t *c = row->impl->c;
    char head[512];

    /* One <text> of two spans: the details follow the name however long
     * it is. */
    fprintf(f, "<text x=\"12.0\" y=\"%.1f\" font-size=\"13\" " HALO
               "><tspan font-weight=\"bold\">", y);
    snprintf(head, sizeof head, "%s/%s", c->bench, c->name);
    xml_text(f, head);
    fputs("</tspan><tspan dx=\"12\" font-size=\"11\" fill=\"" COLOUR_DIM "\">", f);
    snprintf(head, sizeof head, "%s%s%s%s, %s is better, n=%zu; reference %s%s", c->metric,
             strcmp(c->metric, c->unit) ? " (" : "", strcmp(c->metric, c->unit) ? c->unit : "",
             strcmp(c->metric, c->unit) ? ")" : "", c->higher_is_better ? "higher" : "lower",
             row->size, c->reference, c->note ? " (not hand-written)" : "");
    xml_text(f, head);
    fputs("</tspan></text>\n", f);
}

/* Why row i has no ratio although it was verified. */
static const char *no_ratio_why(const bench_result_t *r, size_t n, size_t i)
{
    const char *ref = bench_result_reference(&r[i]);

    for (size_t j = 0; j < n; j++)
        if (r[j].impl->c == r[i].impl->c && strcmp(r[j].impl->impl, ref) == 0)
            return r[j].status != BENCH_OK ? "failed in this run" : "has no positive figure";
    return "is not in this run";
}

/* The tooltip: the row's figures in full. */
static void row_title(FILE *f, const bench_result_t *row, double q)
{
    const bench_impl_t *im = row->impl;
    char t[512], ratio[64] = "";
    int len;

    len = snprintf(t, sizeof t, "%s/%s %s on %s: ", im->c->bench, im->c->name, im->impl,
                   bench_dev_name(im->dev));
    len = len < 0 || len >= (int)sizeof t ? 0 : len;
    if (!isnan(q))
        snprintf(ratio, sizeof ratio, ", ratio %.3g to %s", q, bench_result_reference(row));
    if (row->status != BENCH_OK)
        snprintf(t + len, sizeof t - (size_t)len, "%s",
                 row->status == BENCH_WRONG ? "WRONG" : "ERROR");
    else
        snprintf(t + len, sizeof t - (size_t)len, "median %.4g %s (min %.4g, max %.4g, %d runs)%s",
                 row->median, im->c->unit, row->min, row->max, row->repeat, ratio);
    fputs("<title>", f);
    xml_text(f, t);
    fputs("</title>\n", f);
}

static void row_label(FILE *f, const bench_result_t *row, double y)
{
    const bench_impl_t *im = row->impl;
    char label[256];

    snprintf(label, sizeof label, "%s \xc2\xb7 %s%s%s", im->impl, bench_dev_name(im->dev),
             im->reference ? ", vs " : "", im->reference ? im->reference : "");
    text_at(f, LABEL_X, y, "text-anchor=\"end\" font-size=\"12\"", label);
}

/* The bar of a verified row with a ratio: from 1 to q. */
static void row_bar(FILE *f, const axis_t *a, const bench_result_t *row, double q, int is_ref,
                    double y)
{
    int clip, clip1;
    double x1 = axis_x(a, 1.0, &clip1), xq = axis_x(a, q, &clip);
    double left = xq < x1 ? xq : x1, w = fabs(xq - x1);
    const char *fill = is_baseline(row->impl->impl) ? COLOUR_BASELINE : COLOUR_FRONTA;
    char v[32];

    if (is_ref) {
        fprintf(f, "<rect class=\"bar ref\" x=\"%.1f\" y=\"%.1f\" width=\"6.0\" height=\"%.1f\" "
                   "fill=\"#000000\"/>\n", x1 - 3.0, y, BAR_H);
    } else {
        w = w < 1.0 ? 1.0 : w; /* a ratio of 1.00 stays visible */
        fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"%s\"/>\n", left, y, w, BAR_H, fill);
    }
    if (clip) {
        double tip = clip > 0 ? PX1 + 7.0 : PX0 - 7.0, base = clip > 0 ? PX1 : PX0;
        fprintf(f, "<path class=\"clip\" d=\"M %.1f %.1f L %.1f %.1f L %.1f %.1f Z\" "
                   "fill=\"%s\"/>\n", base, y - 1.0, tip, y + BAR_H / 2.0, base,
                y + BAR_H + 1.0, fill);
    }
    fmt_value(v, sizeof v, q);
    if (is_ref)
        snprintf(v, sizeof v, "1 (ref)");
    text_at(f, RATIO_X, y + BAR_H - 2.0, "font-size=\"12\" font-weight=\"bold\"", v);
}

static void row_median(FILE *f, const bench_result_t *row, double y)
{
    char v[32], s[96];

    fmt_value(v, sizeof v, row->median);
    snprintf(s, sizeof s, "%s %s", v, row->impl->c->unit);
    text_at(f, MEDIAN_X, y, "font-size=\"11\" fill=\"" COLOUR_DIM "\"", s);
}

/* One result: <g class="row ok|noratio|wrong|error" data-row="b/c/i">. */
static void row_draw(FILE *f, const axis_t *a, const bench_result_t *r, size_t n, size_t i,
                     double y)
{
    const bench_result_t *row = &r[i];
    double q = bench_result_ratio(r, n, i), base = y + BAR_H - 2.0;
    const char *cls = row->status == BENCH_WRONG   ? "wrong"
                      : row->status == BENCH_ERROR ? "error"
                      : isnan(q)                   ? "noratio"
                                                   : "ok";
    char s[256];
    int clip;

    fprintf(f, "<g class=\"row %s\" data-row=\"", cls);
    snprintf(s, sizeof s, "%s/%s/%s", row->impl->c->bench, row->impl->c->name, row->impl->impl);
    xml_text(f, s);
    fputs("\">\n", f);
    row_title(f, row, q);
    row_label(f, row, base);
    if (row->status != BENCH_OK) {
        snprintf(s, sizeof s, "%s: %s, no figure shown",
                 row->status == BENCH_WRONG ? "WRONG" : "ERROR",
                 row->status == BENCH_WRONG ? "the result did not verify" : "the run failed");
        fprintf(f, "<rect class=\"mark\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"%s\"/>\n", axis_x(a, 1.0, &clip) - 4.0, y + 2.0, 8.0, BAR_H - 4.0,
                COLOUR_BAD);
        text_at(f, axis_x(a, 1.0, &clip) + 9.0, base,
                "font-size=\"12\" font-weight=\"bold\" fill=\"" COLOUR_BAD "\" " HALO, s);
    } else if (isnan(q)) {
        snprintf(s, sizeof s, "no ratio: the reference, %s, %s", bench_result_reference(row),
                 no_ratio_why(r, n, i));
        text_at(f, axis_x(a, 1.0, &clip) + 9.0, base,
                "font-size=\"11\" font-style=\"italic\" fill=\"" COLOUR_DIM "\" " HALO, s);
        row_median(f, row, base);
    } else {
        row_bar(f, a, row, q, bench_result_is_reference(r, n, i), y);
        row_median(f, row, base);
    }
    fputs("</g>\n", f);
}

/* ---- header and footer ------------------------------------------------- */

static void device_line(char *buf, size_t size, int id, const bench_device_t *d)
{
    if (d->threads)
        snprintf(buf, size, "device %d: %s, %s, %d threads", id, d->kind, d->name, d->threads);
    else
        snprintf(buf, size, "device %d: %s %s, %s (%s)", id, d->kind, d->type, d->name,
                 d->platform);
}

static void header(FILE *f, const bench_machine_t *m, int quick)
{
    char s[512], date[32] = "";
    time_t now = time(NULL);
    struct tm tm;

    if (gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(s, sizeof s, "fronta %s \xe2\x80\x94 fronta-bench, ratio to the reference",
             fronta_version());
    text_at(f, 12.0, 26.0, "font-size=\"18\" font-weight=\"bold\"", s);
    snprintf(s, sizeof s, "%s, %d CPUs; %s, %s sizes", m->cpu_model, m->cpus, date,
             quick ? "--quick" : "default");
    text_at(f, 12.0, 46.0, "font-size=\"12\"", s);
    for (int i = 0; i < m->ndevices && i < MAX_DEVICE_LINES; i++) {
        device_line(s, sizeof s, i, &m->devices[i]);
        text_at(f, 12.0, 62.0 + 14.0 * i, "font-size=\"11\" fill=\"" COLOUR_DIM "\"", s);
    }
    if (m->ndevices > MAX_DEVICE_LINES) {
        snprintf(s, sizeof s, "and %d more devices", m->ndevices - MAX_DEVICE_LINES);
        text_at(f, 500.0, 62.0, "font-size=\"11\" fill=\"" COLOUR_DIM "\"", s);
    }
}

static void legend(FILE *f, double y)
{
    static const struct {
        const char *colour, *what;
    } keys[] = {{COLOUR_FRONTA, "fronta"},
                {COLOUR_BASELINE, "hand-written baseline"},
                {"#000000", "the reference (1)"},
                {COLOUR_BAD, "WRONG or ERROR: no figure"}};
    double x = 12.0;

    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12.0\" height=\"10.0\" fill=\"%s\"/>\n",
                x, y - 9.0, keys[k].colour);
        text_at(f, x + 17.0, y, "font-size=\"11\"", keys[k].what);
        x += 30.0 + 6.5 * (double)strlen(keys[k].what);
    }
    text_at(f, RATIO_X, y, "font-size=\"11\" fill=\"" COLOUR_DIM "\"", "ratio");
    text_at(f, MEDIAN_X, y, "font-size=\"11\" fill=\"" COLOUR_DIM "\"", "median");
}

static void footer(FILE *f, const axis_t *a, double y)
{
    int clip;
    double x1 = axis_x(a, 1.0, &clip);

    text_at(f, x1 - 8.0, y, "text-anchor=\"end\" font-size=\"11\"",
            "\xe2\x86\x90 faster than the reference");
    text_at(f, x1 + 8.0, y, "font-size=\"11\"", "slower than the reference \xe2\x86\x92");
    text_at(f, 12.0, y + 18.0, "font-size=\"10\" fill=\"" COLOUR_DIM "\"",
            "ratio = median / median of the case's reference in the same run "
            "(> 1: worse, whichever way the metric points), log scale; "
            "beyond the axis: an arrow, the value on the right");
}

static void plot_write(FILE *f, const bench_machine_t *m, const bench_result_t *r, size_t n,
                       int quick)
{
    double h = plot_height(r, n), y = TOP;
    axis_t a = axis_of(r, n);

    a.y0 = TOP - 14.0;
    a.y1 = h - FOOT_H + 2.0;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" fill=\"#222222\">\n",
            W, h, W, h);
    fprintf(f, "<rect x=\"0.0\" y=\"0.0\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\"/>\n", W,
            h);
    header(f, m, quick);
    legend(f, TOP - 40.0);
    axis_draw(f, &a);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || r[i].impl->c != r[i - 1].impl->c) {
            y += GAP_H;
            group_header(f, &r[i], y + 14.0);
            y += GROUP_H;
        }
        row_draw(f, &a, r, n, i, y);
        y += ROW_H;
    }
    footer(f, &a, h - FOOT_H + 30.0);
    fputs("</svg>\n", f);
}

/* Written to FILE.tmp, then renamed: a reader never sees half a file. */
int bench_plot_svg(const bench_machine_t *m, const bench_result_t *r, size_t n, int quick,
                   const char *path)
{
    char tmp[4096];
    FILE *f;
    int bad;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!(f = fopen(tmp, "w")))
        return -1;
    plot_write(f, m, r, n, quick);
    bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}
