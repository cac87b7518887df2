/* Tracing (util/trace.h): per-thread event buffers, Chrome trace-event JSON.
 *
 * Each thread that records gets a buffer of its own, a list of chunks of
 * CHUNK events. Appending is the owner's alone: it writes the event, then
 * publishes it by storing the chunk's count with release; a full chunk is
 * followed by a new one (no realloc: nothing ever moves). The writer
 * (flush, close) reads each count with acquire and the events below it, so
 * it may run while threads record. Chunks are freed only at close, when
 * nobody records any more. Buffers are found through a thread-local
 * pointer keyed by the trace's serial number, and registered once per
 * thread in a list under a mutex. */
#include "util/trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

#define CHUNK 4096
#define NAME_MAX_LEN 96
/* Resource waits overlap one another (many tasks wait at once): spans on
 * one track must nest, so the writer gives them lanes of their own, as
 * few as never overlap (at most MAX_LANES). */
#define TRACK_LANES (6 << 12)
#define MAX_LANES 64
#define MAX_TRACK (7 << 12)

typedef struct tr_event {
    uint64_t t0, t1, id, bytes;
    const char *name;
    int32_t track;
    uint8_t kind;
} tr_event;

typedef struct tr_chunk {
    _Atomic(struct tr_chunk *) next;  /* release-published by the owner */
    atomic_uint count;                /* events [0, count) are complete */
    tr_event ev[CHUNK];
} tr_chunk;

typedef struct tr_buf {
    struct tr_buf *next;              /* the trace's list; set before publication */
    pthread_t owner;
    tr_chunk *first;
    tr_chunk *cur;                    /* owner only */
} tr_buf;

/* Every event published so far (the writer's view: acquire loads). */
#define FOR_EACH_EVENT(bufs, e)                                                           \
    for (const tr_buf *b_ = (bufs); b_; b_ = b_->next)                                    \
        for (const tr_chunk *c_ = b_->first; c_;                                          \
             c_ = atomic_load_explicit(&c_->next, memory_order_acquire))                  \
            for (unsigned k_ = 0, n_ = atomic_load_explicit(&c_->count,                   \
                                                            memory_order_acquire);        \
                 k_ < n_ && ((e) = &c_->ev[k_]) != NULL; k_++)

struct fronta__trace {
    fronta_runtime_t *rt;
    fronta__allocator alloc;
    uint64_t serial;
    uint64_t base_ns;                 /* time 0 of the file: the runtime's creation */
    FILE *f;
    char *path;
    size_t path_size;
    pthread_mutex_t lock;             /* guards bufs (push) and the device names */
    pthread_mutex_t write_lock;       /* one writer at a time */
    tr_buf *bufs;
    atomic_uint_fast64_t dropped;
    int npool, ndev;                  /* tracks to name even without events */
    char devname[FRONTA__MAX_DEVICES][sizeof(((fronta_device_info_t *)0)->name)];
};

/* initial-exec, as core's thread state: no __tls_get_addr per event. */
static _Thread_local __attribute__((tls_model("initial-exec"))) struct {
    uint64_t serial;
    tr_buf *buf;
} tls_trace;

/* Serial numbers, not runtime pointers nor uids, key the thread-local
 * buffer: unique for the process's lifetime whenever the trace is opened. */
static atomic_uint_fast64_t next_serial = 1;

/* ---- recording ---- */

/* The runtime's device names, once its devices exist (under tr->lock):
 * at close they are gone. */
static void capture_names(fronta__trace *tr)
{
    fronta_runtime_t *rt = tr->rt;
    if (tr->npool < rt->nworkers)
        tr->npool = rt->nworkers;
    if (tr->ndev || rt->ndevices <= 1)
        return;
    for (int i = 1; i < rt->ndevices && i < FRONTA__MAX_DEVICES; i++) {
        fronta_device_info_t info;
        memset(&info, 0, sizeof info);
        if (fronta_device_info(rt, i, &info) == 0)
            snprintf(tr->devname[i], sizeof tr->devname[i], "%s", info.name);
    }
    tr->ndev = rt->ndevices;
}

static tr_chunk *chunk_new(fronta__trace *tr)
{
    tr_chunk *c = fronta__mem_alloc(&tr->alloc, sizeof *c);
    if (c) {
        atomic_init(&c->next, NULL);
        atomic_init(&c->count, 0);
    }
    return c;
}

/* This thread's buffer: the one it had (a thread id can be reused only
 * after its thread is gone, so taking over a dead thread's buffer is
 * safe), or a new one. */
static tr_buf *buf_find(fronta__trace *tr)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&tr->lock);
    capture_names(tr);
    tr_buf *b = tr->bufs;
    while (b && !pthread_equal(b->owner, self))
        b = b->next;
    if (!b && (b = fronta__mem_alloc(&tr->alloc, sizeof *b)) != NULL) {
        b->owner = self;
        b->first = b->cur = chunk_new(tr);
        if (b->first) {
            b->next = tr->bufs;
            tr->bufs = b;
        } else {
            fronta__mem_free(&tr->alloc, b, sizeof *b);
            b = NULL;
        }
    }
    pthread_mutex_unlock(&tr->lock);
    if (b) {
        tls_trace.serial = tr->serial;
        tls_trace.buf = b;
    }
    return b;
}

void fronta__trace_event(fronta__trace *tr, fronta__trace_kind kind, int track,
                         const char *name, uint64_t task_id, uint64_t t0, uint64_t t1,
                         uint64_t bytes)
{
    if (!tr)
        return;
    tr_buf *b = tls_trace.serial == tr->serial ? tls_trace.buf : buf_find(tr);
    if (!b) {
        atomic_fetch_add_explicit(&tr->dropped, 1, memory_order_relaxed);
        return;
    }
    tr_chunk *c = b->cur;
    /* Relaxed: only this thread stores the count. */
    unsigned n = atomic_load_explicit(&c->count, memory_order_relaxed);
    if (n == CHUNK) {
        tr_chunk *nc = chunk_new(tr);
        if (!nc) {
            atomic_fetch_add_explicit(&tr->dropped, 1, memory_order_relaxed);
            return;
        }
        /* Release: a writer that sees the link sees the chunk's init. */
        atomic_store_explicit(&c->next, nc, memory_order_release);
        b->cur = c = nc;
        n = 0;
    }
    tr_event *e = &c->ev[n];
    e->t0 = t0;
    e->t1 = t1 < t0 ? t0 : t1;
    e->id = task_id;
    e->bytes = bytes;
    e->name = name;
    e->track = track;
    e->kind = (uint8_t)kind;
    /* Release: publishes the event's fields to a concurrent writer. */
    atomic_store_explicit(&c->count, n + 1, memory_order_release);
}

uint64_t fronta__trace_dropped(const fronta__trace *tr)
{
    return tr ? atomic_load_explicit(&tr->dropped, memory_order_relaxed) : 0;
}

/* ---- open and close ---- */

int fronta__trace_open(fronta_runtime_t *rt, const char *path, fronta__trace **out)
{
    *out = NULL;
    if (!path || !*path) {
        FRONTA__LOG(rt, FRONTA_LOG_ERROR, "FRONTA_TRACE: empty file name");
        return FRONTA_EENV;
    }
    fronta__trace *tr = fronta__mem_calloc(&rt->alloc, 1, sizeof *tr);
    if (!tr)
        return FRONTA_ENOMEM;
    tr->path_size = strlen(path) + 1;
    tr->path = fronta__mem_alloc(&rt->alloc, tr->path_size);
    if (!tr->path) {
        fronta__mem_free(&rt->alloc, tr, sizeof *tr);
        return FRONTA_ENOMEM;
    }
    memcpy(tr->path, path, tr->path_size);
    tr->f = fopen(path, "w");
    if (!tr->f) {
        FRONTA__LOG(rt, FRONTA_LOG_ERROR, "FRONTA_TRACE: cannot write '%s': %s", path,
                    strerror(errno));
        fronta__mem_free(&rt->alloc, tr->path, tr->path_size);
        fronta__mem_free(&rt->alloc, tr, sizeof *tr);
        return FRONTA_EENV;
    }
    tr->rt = rt;
    tr->alloc = rt->alloc;
    tr->serial = atomic_fetch_add_explicit(&next_serial, 1, memory_order_relaxed);
    tr->base_ns = rt->created_ns ? rt->created_ns : fronta__now_ns();
    pthread_mutex_init(&tr->lock, NULL);
    pthread_mutex_init(&tr->write_lock, NULL);
    atomic_init(&tr->dropped, 0);
    *out = tr;
    return 0;
}

void fronta__trace_close(fronta__trace *tr)
{
    if (!tr)
        return;
    if (fronta__trace_flush(tr))
        FRONTA__LOG(tr->rt, FRONTA_LOG_ERROR, "FRONTA_TRACE: writing '%s' failed", tr->path);
    fclose(tr->f);
    for (tr_buf *b = tr->bufs, *nb; b; b = nb) {
        nb = b->next;
        for (tr_chunk *c = b->first, *nc; c; c = nc) {
            nc = atomic_load_explicit(&c->next, memory_order_relaxed);
            fronta__mem_free(&tr->alloc, c, sizeof *c);
        }
        fronta__mem_free(&tr->alloc, b, sizeof *b);
    }
    pthread_mutex_destroy(&tr->lock);
    pthread_mutex_destroy(&tr->write_lock);
    fronta__allocator a = tr->alloc;
    fronta__mem_free(&a, tr->path, tr->path_size);
    fronta__mem_free(&a, tr, sizeof *tr);
}

/* ---- writing ---- */

/* Output through a buffer of our own: printf's float formatting would be
 * most of the writer's time. */
typedef struct tr_out {
    FILE *f;
    size_t n;
    int err;
    char buf[1 << 16];
} tr_out;

static void out_flush(tr_out *o)
{
    if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n)
        o->err = 1;
    o->n = 0;
}

static void out_mem(tr_out *o, const char *s, size_t n)
{
    if (o->n + n > sizeof o->buf)
        out_flush(o);
    if (n > sizeof o->buf) {
        if (fwrite(s, 1, n, o->f) != n)
            o->err = 1;
        return;
    }
    memcpy(o->buf + o->n, s, n);
    o->n += n;
}

static void out_str(tr_out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static void out_u64(tr_out *o, uint64_t v)
{
    char tmp[24];
    int i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_mem(o, tmp + i, sizeof tmp - (size_t)i);
}

/* ns as microseconds with 3 decimals (the format's unit). */
static void out_us(tr_out *o, int64_t ns)
{
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    char frac[4] = {'.', (char)('0' + a / 100 % 10), (char)('0' + a / 10 % 10),
                    (char)('0' + a % 10)};
    if (ns < 0)
        out_mem(o, "-", 1);
    out_u64(o, a / 1000);
    out_mem(o, frac, 4);
}

/* Length of the valid UTF-8 sequence at s (0: not one). */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf8 || (s[0] < 0xc2 && s[0] >= 0x80))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A JSON string: quotes, backslashes and control characters escaped,
 * bytes that are not UTF-8 replaced (JSON text is UTF-8). */
static void out_json_str(tr_out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    out_mem(o, "\"", 1);
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && len < NAME_MAX_LEN; len++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p++};
            out_mem(o, e, 2);
        } else if (*p < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            out_mem(o, e, 6);
            p++;
        } else if (*p < 0x80) {
            out_mem(o, (const char *)p++, 1);
        } else {
            size_t n = utf8_len(p);
            out_mem(o, n ? (const char *)p : "?", n ? n : 1);
            p += n ? n : 1;
        }
    }
    out_mem(o, "\"", 1);
}

static void track_name(const fronta__trace *tr, int track, char *buf, size_t size,
                       int *sort);

static const char *const kind_cat[] = {"submit", "ready", "run", "enqueue", "transfer",
                                       "reswait"};

static const char *event_name(const tr_event *e)
{
    static const char *const dflt[] = {"submit", "ready", "task", "enqueue", "transfer",
                                       "resource wait"};
    if (e->kind == FRONTA__TR_SUBMIT || e->kind == FRONTA__TR_READY)
        return kind_cat[e->kind]; /* the task's name goes to args */
    return e->name && *e->name ? e->name : dflt[e->kind];
}

static void out_head(tr_out *o, const char *ph, int track, int64_t ts)
{
    out_str(o, ",\n{\"ph\":\"");
    out_str(o, ph);
    out_str(o, "\",\"pid\":1,\"tid\":");
    out_u64(o, (uint64_t)track);
    out_str(o, ",\"ts\":");
    out_us(o, ts);
}

/* Flows tie a task's submit to where it ran (Perfetto draws arrows). */
static void out_flow(tr_out *o, const tr_event *e, int64_t ts, int start)
{
    out_head(o, start ? "s" : "f", e->track, ts);
    out_str(o, start ? "" : ",\"bp\":\"e\"");
    out_str(o, ",\"cat\":\"flow\",\"name\":\"task\",\"id\":");
    out_u64(o, e->id);
    out_str(o, "}");
}

static void out_event(fronta__trace *tr, tr_out *o, const tr_event *e, int tid)
{
    int64_t ts = (int64_t)(e->t0 - tr->base_ns);
    int instant = e->kind == FRONTA__TR_SUBMIT || e->kind == FRONTA__TR_READY;
    out_head(o, instant ? "i" : "X", tid, ts);
    if (instant) {
        out_str(o, ",\"s\":\"t\"");
    } else {
        out_str(o, ",\"dur\":");
        out_us(o, (int64_t)(e->t1 - e->t0));
    }
    out_str(o, ",\"cat\":\"");
    out_str(o, e->kind < sizeof kind_cat / sizeof *kind_cat ? kind_cat[e->kind] : "other");
    out_str(o, "\",\"name\":");
    out_json_str(o, event_name(e));
    out_str(o, ",\"args\":{\"id\":");
    out_u64(o, e->id);
    if (e->kind == FRONTA__TR_TRANSFER) {
        out_str(o, ",\"bytes\":");
        out_u64(o, e->bytes);
    }
    if (instant && e->name && *e->name) {
        out_str(o, ",\"task\":");
        out_json_str(o, e->name);
    }
    if (tid != e->track) { /* a lane: say whose wait it was */
        char name[128];
        int sort;
        track_name(tr, e->track, name, sizeof name, &sort);
        out_str(o, ",\"worker\":");
        out_json_str(o, name);
    }
    out_str(o, "}}");
    if (e->id && e->kind == FRONTA__TR_SUBMIT)
        out_flow(o, e, ts, 1);
    else if (e->id && e->kind == FRONTA__TR_RUN)
        out_flow(o, e, ts, 0);
}

/* A track's name and its place in the list (pool threads first, then
 * each device with its threads and copy directions, then the host). */
static void track_name(const fronta__trace *tr, int track, char *buf, size_t size,
                       int *sort)
{
    int kind = track >> 12, i = track & 4095;
    const char *dn = i < FRONTA__MAX_DEVICES && tr->devname[i][0] ? tr->devname[i] : "?";
    *sort = kind == 0 ? i : kind == 4 ? 1 << 20 : kind == 6 ? (1 << 20) + 1 + i
                                                             : 4096 + i * 8 + kind;
    switch (kind) {
    case 0:
        snprintf(buf, size, "pool thread %d", i);
        break;
    case 1:
        snprintf(buf, size, "device %d (%s)", i, dn);
        break;
    case 2:
        snprintf(buf, size, "device %d host->device", i);
        break;
    case 3:
        snprintf(buf, size, "device %d device->host", i);
        break;
    case 4:
        snprintf(buf, size, "host threads");
        break;
    case 5:
        snprintf(buf, size, "device %d enqueue", i);
        break;
    case 6:
        snprintf(buf, size, "resource waits %d", i);
        break;
    default:
        snprintf(buf, size, "track %d", track);
        break;
    }
}

static void out_track(const fronta__trace *tr, tr_out *o, int track)
{
    char name[128];
    int sort;
    track_name(tr, track, name, sizeof name, &sort);
    out_str(o, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":");
    out_u64(o, (uint64_t)track);
    out_str(o, ",\"name\":\"thread_name\",\"args\":{\"name\":");
    out_json_str(o, name);
    out_str(o, "}},\n{\"ph\":\"M\",\"pid\":1,\"tid\":");
    out_u64(o, (uint64_t)track);
    out_str(o, ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":");
    out_u64(o, (uint64_t)sort);
    out_str(o, "}}");
}

/* ---- resource-wait lanes ---- */

typedef struct tr_lanes {
    const tr_event **ev;            /* the waits, by start */
    unsigned char *lane;
    size_t n, cap;
} tr_lanes;

static int by_start(const void *a, const void *b)
{
    const tr_event *x = *(const tr_event *const *)a, *y = *(const tr_event *const *)b;
    return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

/* Greedy interval colouring: each wait takes the first lane free at its
 * start (or, past MAX_LANES, the one that frees first). No effect when
 * out of memory: the waits stay on their workers' tracks. */
static void lanes_build(fronta__trace *tr, const tr_buf *bufs, tr_lanes *l)
{
    const tr_event *e;
    size_t n = 0;
    memset(l, 0, sizeof *l);
    FOR_EACH_EVENT(bufs, e) {
        n += e->kind == FRONTA__TR_RESWAIT;
    }
    /* One block: the pointers, then a lane byte each. */
    if (!n || !(l->ev = fronta__mem_alloc(&tr->alloc, n * (sizeof *l->ev + 1))))
        return;
    l->lane = (unsigned char *)(l->ev + n);
    l->cap = n;
    FOR_EACH_EVENT(bufs, e) {
        if (e->kind == FRONTA__TR_RESWAIT && l->n < n)
            l->ev[l->n++] = e; /* one recorded since the count waits for the next flush */
    }
    qsort(l->ev, l->n, sizeof *l->ev, by_start);
    uint64_t end[MAX_LANES] = {0};
    for (size_t i = 0; i < l->n; i++) {
        int best = 0;
        for (int k = 0; k < MAX_LANES; k++) {
            if (end[k] <= l->ev[i]->t0) {
                best = k;
                break;
            }
            if (end[k] < end[best])
                best = k;
        }
        l->lane[i] = (unsigned char)best;
        end[best] = l->ev[i]->t1 > l->ev[i]->t0 ? l->ev[i]->t1 : l->ev[i]->t0 + 1;
    }
}

static void lanes_free(fronta__trace *tr, tr_lanes *l)
{
    if (l->ev)
        fronta__mem_free(&tr->alloc, l->ev, l->cap * (sizeof *l->ev + 1));
}

/* Tracks to name: those with events, and every pool thread and device. */
static void mark_tracks(const fronta__trace *tr, const tr_buf *bufs, const tr_lanes *l,
                        unsigned char *used)
{
    for (int i = 0; i < tr->npool && i < 4096; i++)
        used[FRONTA__TRACK_POOL + i] = 1;
    for (int i = 1; i < tr->ndev; i++)
        used[FRONTA__TRACK_DEVICE + i] = 1;
    const tr_event *e;
    FOR_EACH_EVENT(bufs, e) {
        if (e->track >= 0 && e->track < TRACK_LANES && (e->kind != FRONTA__TR_RESWAIT || !l->ev))
            used[e->track] = 1;
    }
    for (size_t i = 0; i < l->n; i++)
        used[TRACK_LANES + l->lane[i]] = 1;
}

static void write_all(fronta__trace *tr, tr_out *o, const tr_buf *bufs, unsigned char *used)
{
    tr_lanes l;
    lanes_build(tr, bufs, &l);
    out_str(o, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"fronta_version\":");
    out_json_str(o, fronta_version());
    out_str(o, ",\"dropped_events\":");
    out_u64(o, fronta__trace_dropped(tr));
    out_str(o, "},\"traceEvents\":[\n{\"ph\":\"M\",\"pid\":1,\"tid\":0,"
               "\"name\":\"process_name\",\"args\":{\"name\":\"fronta\"}}");
    mark_tracks(tr, bufs, &l, used);
    for (int t = 0; t < MAX_TRACK; t++)
        if (used[t])
            out_track(tr, o, t);
    const tr_event *e;
    /* The loop's loads of each count are acquire: the events below are
     * complete. */
    FOR_EACH_EVENT(bufs, e) {
        if (e->kind != FRONTA__TR_RESWAIT || !l.ev)
            out_event(tr, o, e, e->track);
    }
    for (size_t i = 0; i < l.n; i++)
        out_event(tr, o, l.ev[i], TRACK_LANES + l.lane[i]);
    out_str(o, "\n]}\n");
    out_flush(o);
    lanes_free(tr, &l);
}

int fronta__trace_flush(fronta__trace *tr)
{
    if (!tr)
        return FRONTA_EINVAL;
    tr_out *o = fronta__mem_alloc(&tr->alloc, sizeof *o);
    unsigned char *used = fronta__mem_calloc(&tr->alloc, MAX_TRACK, 1);
    if (!o || !used) {
        if (o)
            fronta__mem_free(&tr->alloc, o, sizeof *o);
        return FRONTA_ENOMEM;
    }
    pthread_mutex_lock(&tr->write_lock);
    pthread_mutex_lock(&tr->lock);
    capture_names(tr);
    const tr_buf *bufs = tr->bufs; /* pushed at the head: a snapshot */
    pthread_mutex_unlock(&tr->lock);
    o->f = tr->f;
    o->n = 0;
    o->err = 0;
    rewind(tr->f);
    write_all(tr, o, bufs, used);
    /* Cut what an earlier, longer flush left after the end. */
    long end = ftell(tr->f);
    int err = o->err || fflush(tr->f) != 0 || end < 0 || ftruncate(fileno(tr->f), end) != 0;
    pthread_mutex_unlock(&tr->write_lock);
    fronta__mem_free(&tr->alloc, used, MAX_TRACK);
    fronta__mem_free(&tr->alloc, o, sizeof *o);
    return err ? FRONTA_ESYS : 0;
}
