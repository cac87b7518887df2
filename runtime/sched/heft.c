/* The heft policy: a kernel task goes to the device with the earliest estimated finish; plain tasks as ws. */
#include "sched/sched.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/kernel.h"
#include "sched/model.h"

typedef struct cand {
    int dev;
    uint64_t backlog, xfer, finish;
    fronta__estimate e;
} cand;

/* The devices where the pending kernel writers of kt's buffers are
 * placed (bit id), and the first of them among cands: the chain, which
 * stays there when nothing finishes sooner (-1: none). */
static int writers(const fronta_runtime_t *rt, const fronta__kbufs *kb, uint64_t cands,
                   uint64_t *wdevs)
{
    int chain = -1;
    *wdevs = 0;
    for (size_t i = 0; kb && i < kb->n; i++) {
        const fronta_future_t *w = kb->b[i]->last_writer;
        const fronta__ktask *wk = w ? fronta__ktask_of(w) : NULL;
        if (!wk || !wk->k || fronta_future_done(w))
            continue;
        int d = atomic_load_explicit(&wk->dev, memory_order_acquire);
        if (d < 0 || d >= rt->ndevices)
            continue;
        *wdevs |= 1ull << d;
        if (chain < 0 && (cands >> d & 1))
            chain = d;
    }
    return chain;
}

/* Tasks a device runs at once: the pool one per thread, a device queue
 * one after another. */
static uint64_t lanes(const fronta_runtime_t *rt, int dev)
{
    return rt->devices[dev].kind == FRONTA_DEVICE_CPU_POOL && rt->nworkers > 1
               ? (uint64_t)rt->nworkers
               : 1;
}

/* Earlier finish; on a tie the chain's device, then the lower id. */
static int better(const cand *a, const cand *b, int chain)
{
    if (a->finish != b->finish)
        return a->finish < b->finish;
    if ((a->dev == chain) != (b->dev == chain))
        return a->dev == chain;
    return a->dev < b->dev;
}

static uint64_t queue_ns(const fronta_runtime_t *rt, fronta__models *m, int dev)
{
    return fronta__models_backlog(m, dev) / lanes(rt, dev);
}

/* When kt's inputs are ready for dev: a pending writer on another device
 * finishes at the latest when that device's queue drains (on its own
 * device the queue orders them: nothing to wait for beyond the backlog). */
static uint64_t ready_ns(const fronta_runtime_t *rt, fronta__models *m, uint64_t wdevs, int dev)
{
    uint64_t ready = 0;
    for (uint64_t left = wdevs & ~(1ull << dev); left; left &= left - 1) {
        uint64_t q = queue_ns(rt, m, __builtin_ctzll(left));
        ready = q > ready ? q : ready;
    }
    return ready;
}

static void estimate_all(const fronta__place_ctx *pc, fronta__models *m, uint64_t wdevs,
                         cand *c, int *nc)
{
    *nc = 0;
    for (uint64_t left = pc->cands; left; left &= left - 1) {
        cand *x = &c[(*nc)++];
        x->dev = __builtin_ctzll(left);
        fronta__models_estimate(m, pc->kt, x->dev, &x->e);
        x->backlog = queue_ns(pc->rt, m, x->dev);
        uint64_t ready = ready_ns(pc->rt, m, wdevs, x->dev);
        if (ready > x->backlog)
            x->backlog = ready; /* starts when both the device and the inputs are */
        x->xfer = fronta__models_xfer(m, pc->kt, pc->kb, x->dev);
        x->finish = x->backlog + x->xfer + x->e.ns;
    }
}

/* The first task of a size on a device that has never run one is sent
 * there: the measurement replaces the prior as the tasks arrive, with no
 * calibration run. The earliest finishing unmeasured device first; one
 * probe in flight per bucket and device. A chained task probes only its
 * chain's device: a probe elsewhere would break the chain on no evidence.
 * -1: no probe. */
static int pick_probe(fronta__models *m, const fronta__ktask *kt, const cand *c, int nc, int chain)
{
    uint64_t tried = 0;
    for (;;) {
        int p = -1;
        for (int i = 0; i < nc; i++)
            if (!c[i].e.samples && !c[i].e.probing && !(tried >> i & 1) &&
                (chain < 0 || c[i].dev == chain) && (p < 0 || better(&c[i], &c[p], chain)))
                p = i;
        if (p < 0 || fronta__models_probe_claim(m, kt, c[p].dev))
            return p;
        tried |= 1ull << p; /* another submitter's probe got there first */
    }
}

/* The earliest finish; but a chain leaves its device only on measured
 * evidence: while its device's estimate or the other's is a prior, it
 * stays (as eager placement keeps it). */
static int pick_best(const cand *c, int nc, int chain, const char **why)
{
    int b = 0, ch = -1, tie = 0;
    for (int i = 0; i < nc; i++) {
        if (better(&c[i], &c[b], chain))
            b = i;
        if (c[i].dev == chain)
            ch = i;
    }
    for (int i = 0; i < nc; i++)
        tie |= i != b && c[i].finish == c[b].finish;
    if (ch >= 0 && ch != b &&
        (c[b].e.source == FRONTA__EST_PRIOR || c[ch].e.source == FRONTA__EST_PRIOR)) {
        *why = "the chain stays: no measurement says another device finishes sooner";
        return ch;
    }
    *why = !tie ? "earliest finish"
           : c[b].dev == chain ? "earliest finish, tie: the chain stays"
                               : "earliest finish, tie: the lower id";
    return b;
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

/* printf into line at *n, never past cap (a full line is cut, not lost). */
FRONTA_PRINTF(4, 5)
static void append(char *line, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(line + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n = (size_t)w < cap - *n ? *n + (size_t)w : cap - 1;
}

/* One line per placement (FRONTA_LOG=debug): every candidate's queue +
 * transfers + execution = finish, the estimate's confidence and source,
 * and the reason for the choice. */
static void log_place(const fronta__place_ctx *pc, const cand *c, int nc, int pick,
                      const char *why)
{
    char line[480];
    size_t n = 0;
    const fronta__ktask *kt = pc->kt;
    append(line, sizeof line, &n, "heft: '%s' n=%zu", kt->k->name, kt->shape.n);
    if (kt->task)
        append(line, sizeof line, &n, " task %llu", (unsigned long long)kt->task->id);
    for (int i = 0; i < nc; i++) {
        const cand *x = &c[i];
        append(line, sizeof line, &n, "%s dev%d %.1f+%.1f+%.1f=%.1fus (conf %.2f, ",
               i ? ";" : ":", x->dev, us(x->backlog), us(x->xfer), us(x->e.ns), us(x->finish),
               x->e.conf);
        if (x->e.source == FRONTA__EST_SAMPLES)
            append(line, sizeof line, &n, "%u sample%s", x->e.samples, x->e.samples > 1 ? "s" : "");
        else
            append(line, sizeof line, &n, "%s", fronta__models_source_name(x->e.source));
        append(line, sizeof line, &n, "%s)", x->e.probing ? ", probing" : "");
    }
    append(line, sizeof line, &n, " -> dev%d: %s", c[pick].dev, why);
    FRONTA__LOG(pc->rt, FRONTA_LOG_DEBUG, "%s", line);
}

static int heft_place(const fronta__place_ctx *pc)
{
    fronta__models *m = pc->rt->models;
    uint64_t wdevs;
    int chain = writers(pc->rt, pc->kb, pc->cands, &wdevs);
    if (!m) /* no models (out of memory at create): the chain, else the lowest id */
        return chain >= 0 ? chain : __builtin_ctzll(pc->cands);
    cand c[FRONTA__MAX_DEVICES];
    int nc;
    estimate_all(pc, m, wdevs, c, &nc);
    int pick = pick_probe(m, pc->kt, c, nc, chain);
    const char *why = "probe: no sample of this size there yet";
    if (pick < 0)
        pick = pick_best(c, nc, chain, &why);
    fronta__models_placed(m, pc->kt, c[pick].dev, c[pick].e.ns);
    if (pc->rt->set.log_level == FRONTA_LOG_DEBUG) /* OFF is above DEBUG */
        log_place(pc, c, nc, pick, why);
    return c[pick].dev;
}

const fronta__policy fronta__policy_heft = {
    .name = "heft",
    .description = "kernel tasks to the device with the earliest estimated finish (backlog + "
                   "input transfers + learned execution time); plain tasks work-stealing as ws",
    .push = fronta__ws_push,
    .pop = fronta__ws_pop,
    .has_work = fronta__ws_has_work,
    .place = heft_place,
};
