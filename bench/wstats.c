/* wstats.c — --stats: per-worker counters of the runtime each row ran on, summed over the row's runs, as text and JSON. */
#include <string.h>

#include "bench.h"

void bench_wstats_read(fronta_runtime_t *rt, bench_wstats_t *out)
{
    int n = rt ? fronta_worker_count(rt) : 0;

    out->n = 0;
    for (int i = 0; i < n && i < BENCH_MAX_WORKERS; i++) {
        fronta_worker_stats_t *w = &out->w[i];

        memset(w, 0, sizeof *w);
        w->size = sizeof *w;
        if (fronta_worker_stats(rt, i, w) != 0)
            break;
        out->n = i + 1;
    }
}

static uint64_t grown(uint64_t now, uint64_t base)
{
    return now >= base ? now - base : 0;
}

void bench_wstats_add_delta(bench_wstats_t *sum, const bench_wstats_t *now,
                            const bench_wstats_t *base)
{
    /* Workers are listed in a fixed order (pool threads, then devices),
     * so index i is the same worker in every reading of one runtime, and
     * of the runtimes a row makes one per run with the same settings. */
    for (int i = 0; i < now->n; i++) {
        fronta_worker_stats_t *s = &sum->w[i];
        const fronta_worker_stats_t *a = &now->w[i];
        fronta_worker_stats_t zero = {0};
        const fronta_worker_stats_t *b = i < base->n ? &base->w[i] : &zero;

        if (i >= sum->n) {
            memset(s, 0, sizeof *s);
            sum->n = i + 1;
        }
        s->device = a->device;
        s->thread = a->thread;
        s->tasks_run += grown(a->tasks_run, b->tasks_run);
        s->busy_ns += grown(a->busy_ns, b->busy_ns);
        s->bytes_in += grown(a->bytes_in, b->bytes_in);
        s->bytes_out += grown(a->bytes_out, b->bytes_out);
        s->host_wakeups += grown(a->host_wakeups, b->host_wakeups);
        s->resource_waits += grown(a->resource_waits, b->resource_waits);
    }
}

int bench_wstats_any(const bench_wstats_t *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->w[i].tasks_run)
            return 1;
    return 0;
}

/* "pool thread 1" or "device 1". */
static void worker_name(char *buf, size_t size, const fronta_worker_stats_t *w)
{
    if (w->thread >= 0)
        snprintf(buf, size, "pool thread %d", w->thread);
    else
        snprintf(buf, size, "device %d", w->device);
}

/* Bytes with a binary unit, three significant digits. */
static void fmt_bytes(char *buf, size_t size, uint64_t b)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;

    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, size, u ? "%.3g %s" : "%.0f %s", v, unit[u]);
}

static void print_block(const bench_result_t *r, FILE *out)
{
    const bench_impl_t *im = r->impl;
    const bench_wstats_t *s = r->stats;

    fprintf(out, "%s/%s %s (%s), %d runs:\n", im->c->bench, im->c->name, im->impl,
            bench_dev_name(im->dev), s->calls);
    fprintf(out, "  %-14s  %10s  %10s  %10s  %10s  %8s  %8s\n", "worker", "tasks", "busy_ms",
            "bytes_in", "bytes_out", "wakeups", "res_wait");
    for (int i = 0; i < s->n; i++) {
        const fronta_worker_stats_t *w = &s->w[i];
        char name[32], in[32], outb[32];

        worker_name(name, sizeof name, w);
        fmt_bytes(in, sizeof in, w->bytes_in);
        fmt_bytes(outb, sizeof outb, w->bytes_out);
        fprintf(out, "  %-14s  %10llu  %10.1f  %10s  %10s  %8llu  %8llu\n", name,
                (unsigned long long)w->tasks_run, (double)w->busy_ns / 1e6, in, outb,
                (unsigned long long)w->host_wakeups, (unsigned long long)w->resource_waits);
    }
}

void bench_wstats_print(const bench_result_t *r, size_t n, FILE *out)
{
    int first = 1;

    for (size_t i = 0; i < n; i++) {
        if (!r[i].stats || !bench_wstats_any(r[i].stats))
            continue;
        if (first)
            fputs("\nworker statistics (--stats): the growth of fronta_worker_stats over each "
                  "row's runs, warm-up included, on the runtime the row used\n",
                  out);
        first = 0;
        print_block(&r[i], out);
    }
}

void bench_wstats_json(FILE *f, const bench_wstats_t *s)
{
    fprintf(f, "{\"runs\": %d, \"workers\": [", s->calls);
    for (int i = 0; i < s->n; i++) {
        const fronta_worker_stats_t *w = &s->w[i];

        fprintf(f,
                "%s\n       {\"worker\": %d, \"device\": %d, \"thread\": %d, \"tasks_run\": %llu, "
                "\"busy_ns\": %llu, \"bytes_in\": %llu, \"bytes_out\": %llu, "
                "\"host_wakeups\": %llu, \"resource_waits\": %llu}",
                i ? "," : "", i, w->device, w->thread, (unsigned long long)w->tasks_run,
                (unsigned long long)w->busy_ns, (unsigned long long)w->bytes_in,
                (unsigned long long)w->bytes_out, (unsigned long long)w->host_wakeups,
                (unsigned long long)w->resource_waits);
    }
    fputs("]}", f);
}
