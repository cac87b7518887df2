/* Co-execution: the chunks of one map spread over the pool and the
 * devices by measured throughput. The chunks are submitted held (their
 * order among the buffers' accesses fixed at submit) and released one by
 * one to the device that asks: each device keeps CX_INFLIGHT chunks, so
 * the first ones probe every device and the split then follows what each
 * device achieves, with no calibration run. Chunks come largest first
 * (the automatic partition is guided); the slowest device takes them
 * from the tail, and none takes a chunk it would finish after the
 * fastest finishes all that is left, so the devices end together. */
#include "core/kernel.h"
#include "sched/sched.h"

#include <stdint.h>
#include <string.h>

/* Two in flight a device: one runs while the next one's data moves. */
#define CX_INFLIGHT 2

typedef struct cx_dev {
    int id;
    int host_cores;                   /* computes on the host's cores (sidelined) */
    int inflight;
    size_t inflight_elems;
    uint64_t elems, busy_ns;          /* finished chunks: their elements and time */
    uint64_t since;                   /* when its current busy period began; 0 idle */
} cx_dev;

typedef struct cx_node {
    fronta__node node;                /* on the chunk's completion list */
    fronta__coexec *cx;
    size_t chunk;
    int dev;                          /* index into cx->dev */
    uint64_t t0;                      /* released at */
} cx_node;

struct fronta__coexec {
    fronta_runtime_t *rt;
    atomic_size_t refs;               /* one per chunk node + the map's */
    pthread_mutex_t lock;             /* guards what follows */
    size_t n, head, tail;             /* chunks [head, tail) are still held */
    size_t held_elems;
    int dispatching, again;           /* one dispatch loop at a time (see dispatch) */
    int ndev;
    cx_dev dev[FRONTA__MAX_DEVICES];
    fronta_future_t **chunk;          /* borrowed: the map holds references */
    cx_node *nodes;
};

static size_t elems_of(const fronta_future_t *t)
{
    const fronta__ktask *kt = fronta__ktask_of(t);
    return kt->shape.n;
}

/* Elements per nanosecond; 0 before the first chunk finishes there. */
static double rate(const cx_dev *d)
{
    return d->busy_ns ? (double)d->elems / (double)d->busy_ns : 0;
}

/* The device that would finish everything left soonest: the fastest
 * measured. -1 while any device is unmeasured (still probing). */
static int fastest(const fronta__coexec *cx)
{
    int best = -1;
    for (int i = 0; i < cx->ndev; i++) {
        if (rate(&cx->dev[i]) == 0)
            return -1;
        if (best < 0 || rate(&cx->dev[i]) > rate(&cx->dev[best]))
            best = i;
    }
    return best;
}

static int slowest(const fronta__coexec *cx)
{
    int worst = 0;
    for (int i = 1; i < cx->ndev; i++)
        if (rate(&cx->dev[i]) < rate(&cx->dev[worst]))
            worst = i;
    return worst;
}

/* Should device i take chunk c? Not when, by the measured rates, it would
 * finish c later than the fastest device finishes all that is left
 * (c included) -- unless nothing else is in flight to take it later. */
static int worth(const fronta__coexec *cx, int i, size_t c_elems)
{
    int f = fastest(cx);
    if (f < 0 || f == i)
        return 1;
    int others = 0;
    for (int j = 0; j < cx->ndev; j++)
        others += j != i ? cx->dev[j].inflight : 0;
    if (!others)
        return 1;
    double mine = (double)(cx->dev[i].inflight_elems + c_elems) / rate(&cx->dev[i]);
    double theirs = (double)(cx->held_elems + cx->dev[f].inflight_elems) / rate(&cx->dev[f]);
    return mine <= theirs;
}

/* Devices that compute on the host's cores (the pool, an OpenCL device of
 * type CPU such as PoCL) are alternatives, not partners: running both
 * only splits the same cores. Once measured, only the fastest of them
 * keeps taking chunks (unless it is the only one with work in flight
 * left to finish, which it is then). */
static int sidelined(const fronta__coexec *cx, int i)
{
    if (!cx->dev[i].host_cores || rate(&cx->dev[i]) == 0)
        return 0;
    for (int j = 0; j < cx->ndev; j++)
        if (j != i && cx->dev[j].host_cores && rate(&cx->dev[j]) > rate(&cx->dev[i]))
            return 1;
    return 0;
}

typedef struct pick {
    size_t chunk;
    int dev;
} pick;

/* Device i's next chunk: from the tail (the smallest, guided) while it is
 * unmeasured -- a probe, one at a time -- or when it is the slowest of
 * several; else from the head. SIZE_MAX: none for it now. */
static size_t next_for(const fronta__coexec *cx, int i)
{
    const cx_dev *d = &cx->dev[i];
    int probing = rate(d) == 0;
    if (d->inflight >= (probing ? 1 : CX_INFLIGHT) || sidelined(cx, i))
        return SIZE_MAX;
    int from_tail = probing || (fastest(cx) >= 0 && i == slowest(cx) && cx->ndev > 1);
    size_t c = from_tail ? cx->tail - 1 : cx->head;
    return probing || worth(cx, i, elems_of(cx->chunk[c])) ? c : SIZE_MAX;
}

/* Under cx->lock: the chunks to release now, and to where. */
static size_t choose(fronta__coexec *cx, pick *out, size_t room)
{
    size_t k = 0;
    int progress = 1;
    while (progress && cx->head < cx->tail && k < room) {
        progress = 0;
        for (int i = 0; i < cx->ndev && cx->head < cx->tail && k < room; i++) {
            size_t c = next_for(cx, i);
            if (c == SIZE_MAX)
                continue;
            cx_dev *d = &cx->dev[i];
            size_t e = elems_of(cx->chunk[c]);
            if (c == cx->tail - 1)
                cx->tail--;
            else
                cx->head++;
            cx->held_elems -= e;
            d->inflight++;
            d->inflight_elems += e;
            if (!d->since)
                d->since = fronta__now_ns();
            out[k++] = (pick){c, i};
            progress = 1;
        }
    }
    /* Nothing in flight anywhere and chunks left (every device sidelined
     * or judged not worth it): the fastest takes the next, so the map
     * always ends. */
    int busy = 0;
    for (int i = 0; i < cx->ndev; i++)
        busy |= cx->dev[i].inflight > 0;
    if (!busy && !k && cx->head < cx->tail && room) {
        int f = fastest(cx) >= 0 ? fastest(cx) : 0;
        size_t e = elems_of(cx->chunk[cx->head]);
        cx->held_elems -= e;
        cx->dev[f].inflight++;
        cx->dev[f].inflight_elems += e;
        if (!cx->dev[f].since)
            cx->dev[f].since = fronta__now_ns();
        out[k++] = (pick){cx->head++, f};
    }
    return k;
}

/* Place chunk c on the device and let it go: its dependencies, and the
 * hold, are what its pending count still counts. */
static void release_to(fronta__coexec *cx, size_t c, int i, fronta__worklist *wl)
{
    fronta_future_t *t = cx->chunk[c];
    fronta__ktask *kt = fronta__ktask_of(t);
    int dev = cx->dev[i].id;
    cx->nodes[c].dev = i;
    cx->nodes[c].t0 = fronta__now_ns();
    if (atomic_load_explicit(&kt->dev, memory_order_relaxed) != dev) {
        fronta__sched_replace(cx->rt, kt, dev);
        atomic_store_explicit(&kt->dev, dev, memory_order_release);
        kt->can_fall_back = dev != 0 && fronta__sched_pool_admits(cx->rt, kt);
    }
    if (atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel) == 1)
        fronta__ktask_ready(t, wl);
}

/* Releasing a chunk may complete one at once (a cancelled chunk settles
 * inline), whose node dispatches again: that inner call only flags the
 * outer loop, so the stack stays flat however many chunks settle. */
static void dispatch(fronta__coexec *cx, fronta__worklist *wl)
{
    pick p[2 * FRONTA__MAX_DEVICES * CX_INFLIGHT];
    pthread_mutex_lock(&cx->lock);
    if (cx->dispatching) {
        cx->again = 1;
        pthread_mutex_unlock(&cx->lock);
        return;
    }
    cx->dispatching = 1;
    for (;;) {
        cx->again = 0;
        size_t k = choose(cx, p, sizeof p / sizeof p[0]);
        pthread_mutex_unlock(&cx->lock);
        for (size_t j = 0; j < k; j++)
            release_to(cx, p[j].chunk, p[j].dev, wl);
        pthread_mutex_lock(&cx->lock);
        if (!cx->again && k == 0)
            break;
    }
    cx->dispatching = 0;
    pthread_mutex_unlock(&cx->lock);
}

static void cx_free(fronta__coexec *cx)
{
    fronta_runtime_t *rt = cx->rt;
    pthread_mutex_destroy(&cx->lock);
    fronta__mem_free(&rt->alloc, cx->nodes, cx->n * sizeof *cx->nodes);
    fronta__mem_free(&rt->alloc, cx->chunk, cx->n * sizeof *cx->chunk);
    fronta__mem_free(&rt->alloc, cx, sizeof *cx);
}

void fronta__coexec_unref(fronta__coexec *cx)
{
    if (cx && atomic_fetch_sub_explicit(&cx->refs, 1, memory_order_acq_rel) == 1)
        cx_free(cx);
}

/* A chunk is done: its device learns its rate, and asks for more. */
static void chunk_done(fronta__node *n, fronta_future_t *done, fronta__worklist *wl)
{
    cx_node *cn = (cx_node *)n;
    fronta__coexec *cx = cn->cx;
    uint64_t now = fronta__now_ns();
    pthread_mutex_lock(&cx->lock);
    cx_dev *d = &cx->dev[cn->dev];
    size_t e = elems_of(done);
    d->inflight--;
    d->inflight_elems -= e;
    if (done->final == FRONTA__ST_FINISHED && d->since) {
        /* Busy time, not turnaround: two in flight overlap. */
        uint64_t from = d->since > cn->t0 ? d->since : cn->t0;
        d->busy_ns += now > from ? now - from : 1;
        d->elems += e;
    }
    d->since = d->inflight ? now : 0;
    pthread_mutex_unlock(&cx->lock);
    dispatch(cx, wl);
    fronta__coexec_unref(cx);
}

fronta__coexec *fronta__coexec_start(fronta_runtime_t *rt, fronta_future_t *const *chunks,
                                     size_t n, uint64_t mask)
{
    fronta__coexec *cx = fronta__mem_calloc(&rt->alloc, 1, sizeof *cx);
    cx_node *nodes = cx ? fronta__mem_calloc(&rt->alloc, n, sizeof *nodes) : NULL;
    fronta_future_t **own = nodes ? fronta__mem_calloc(&rt->alloc, n, sizeof *own) : NULL;
    if (!own) {
        if (nodes)
            fronta__mem_free(&rt->alloc, nodes, n * sizeof *nodes);
        if (cx)
            fronta__mem_free(&rt->alloc, cx, sizeof *cx);
        return NULL;
    }
    /* Borrowed: a chunk is read only while held, and the map's references
     * outlive that (the map completes after every chunk). */
    memcpy(own, chunks, n * sizeof *own);
    cx->chunk = own;
    cx->rt = rt;
    cx->n = cx->tail = n;
    cx->nodes = nodes;
    pthread_mutex_init(&cx->lock, NULL);
    /* The devices every chunk may go to, within the mask the map found:
     * the chunks differ only in size, and a large one may not fit where
     * a small one does ("mem"). */
    for (size_t i = 0; i < n; i++)
        mask &= fronta__sched_candidates(rt, fronta__ktask_of(chunks[i]));
    if (!(mask & (mask - 1))) { /* one device at most: each chunk where it was placed */
        cx_free(cx);
        return NULL;
    }
    for (int id = 0; id < rt->ndevices; id++)
        if (mask >> id & 1)
            cx->dev[cx->ndev++] = (cx_dev){
                .id = id, .host_cores = rt->devices[id].kind == FRONTA_DEVICE_CPU_POOL ||
                                        rt->devices[id].type == FRONTA_DEVTYPE_CPU};
    atomic_init(&cx->refs, n + 1);
    for (size_t i = 0; i < n; i++) {
        cx->held_elems += elems_of(chunks[i]);
        nodes[i] = (cx_node){.node.fire = chunk_done, .cx = cx, .chunk = i};
        /* Held chunks cannot complete before they are released. */
        (void)fronta__list_push(chunks[i], &nodes[i].node);
    }
    dispatch(cx, NULL);
    return cx;
}

void fronta__coexec_release_all(fronta_future_t *const *chunks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (chunks[i] && atomic_fetch_sub_explicit(&chunks[i]->pending, 1,
                                                   memory_order_acq_rel) == 1)
            fronta__ktask_ready(chunks[i], NULL);
}
