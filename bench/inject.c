/* inject.c — FRONTA_BENCH_INJECT: fault injection into rows' results, for the harness's own tests. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* FRONTA_BENCH_INJECT="bench/case/impl=EFFECT,..." makes every run of the
 * named rows report WRONG ("wrong"), ERROR ("error") or its metric times F
 * ("xF"): the only way to see a WRONG row, an error and an off-scale ratio
 * in the table, the JSON and the picture without breaking a benchmark. */
typedef struct inject {
    char row[192];
    int status;    /* a bench_status_t to report, or -1: scale */
    double factor;
} inject_t;

static inject_t injects[8];
static int ninjects;

static int inject_parse_one(const char *item, size_t len)
{
    const char *eq = memchr(item, '=', len);
    inject_t *in = &injects[ninjects];
    char effect[64];
    size_t lr;

    if (!eq || ninjects == (int)(sizeof injects / sizeof injects[0]) ||
        (lr = (size_t)(eq - item)) == 0 || lr >= sizeof in->row ||
        len - lr - 1 >= sizeof effect)
        return -1;
    memcpy(in->row, item, lr);
    in->row[lr] = '\0';
    memcpy(effect, eq + 1, len - lr - 1);
    effect[len - lr - 1] = '\0';
    in->status = strcmp(effect, "wrong") == 0   ? BENCH_WRONG
                 : strcmp(effect, "error") == 0 ? BENCH_ERROR
                                                : -1;
    if (in->status < 0) {
        char *end;
        errno = 0;
        in->factor = effect[0] == 'x' ? strtod(effect + 1, &end) : 0.0;
        if (effect[0] != 'x' || errno || end == effect + 1 || *end ||
            !(in->factor > 0.0 && isfinite(in->factor)))
            return -1;
    }
    for (size_t k = 0; k < bench_registry_len; k++) {
        char row[192];
        const bench_impl_t *im = &bench_registry[k];
        snprintf(row, sizeof row, "%s/%s/%s", im->c->bench, im->c->name, im->impl);
        if (strcmp(row, in->row) == 0) {
            ninjects++;
            return 0;
        }
    }
    return -1; /* no such row in this build */
}

/* 0, or -1 after printing why: a typo must not silently test nothing. */
int bench_inject_parse(void)
{
    const char *s = getenv("FRONTA_BENCH_INJECT");

    while (s && *s) {
        size_t len = strcspn(s, ",");
        if (inject_parse_one(s, len)) {
            fprintf(stderr, "fronta-bench: bad FRONTA_BENCH_INJECT item near '%s' (try --help)\n",
                    s);
            return -1;
        }
        s += len + (s[len] == ',');
    }
    return 0;
}

bench_status_t bench_inject_apply(const bench_impl_t *im, bench_status_t st, double *val)
{
    char row[192];

    snprintf(row, sizeof row, "%s/%s/%s", im->c->bench, im->c->name, im->impl);
    for (int k = 0; k < ninjects; k++) {
        if (strcmp(injects[k].row, row) != 0)
            continue;
        if (injects[k].status >= 0)
            return st == BENCH_OK ? (bench_status_t)injects[k].status : st;
        val[0] *= injects[k].factor;
    }
    return st;
}
