/* Performance models in memory: kernel time per (kernel, variant, device, size bucket), copy bandwidth, backlog. */
#include "sched/model_int.h"

#include <string.h>

#include "core/kernel.h"

/* Priors, before a device has run a task of a kernel: one core spends
 * PRIOR_ELEM_NS per element, a device spreads that over its compute units,
 * and a launch costs what a task on the pool and a command on a device
 * queue cost here. Probes replace them as the first tasks arrive. */
#define PRIOR_ELEM_NS 1.0
#define PRIOR_POOL_LAUNCH_NS 2000.0
#define PRIOR_DEV_LAUNCH_NS 20000.0
/* A copy with no measurement: 8 GB/s plus 10 us (PCIe, roughly). */
#define PRIOR_XFER_NS_PER_BYTE 0.125
#define PRIOR_XFER_LATENCY_NS 10000.0

/* ---- keys ---- */

/* The element types of the arguments, 3 bits each (as OpenCL variants). */
static uint64_t variant_of(const fronta__ktask *kt)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < kt->nargs && i < FRONTA_MAX_ARGS; i++)
        v |= (uint64_t)fronta__arg_elem(&kt->args[i]) << (3 * i);
    return v;
}

static unsigned bucket_of(size_t n)
{
    return n ? 63u - (unsigned)__builtin_clzll((unsigned long long)n) : 0;
}

static unsigned head_of(int kindex, uint64_t variant, int dev)
{
    return (unsigned)(fronta__mix64(variant * 0x9e3779b97f4a7c15ull ^ (uint64_t)kindex << 8 ^
                                    (uint64_t)dev) & (HEADS - 1));
}

static int dev_ok(const fronta__models *m, int dev)
{
    return m && dev >= 0 && dev < m->ndev;
}

/* ---- robust statistics ---- */

static void sort_u64(uint64_t *a, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j && a[j - 1] > a[j]; j--) {
            uint64_t t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
}

/* The lower median: with two samples, a spike is not half the estimate. */
static uint64_t median_u64(const uint64_t *v, unsigned n)
{
    uint64_t s[RING];
    memcpy(s, v, n * sizeof *s);
    sort_u64(s, n);
    return s[(n - 1) / 2];
}

/* n/(n+2) grows with agreeing samples; 1 - MAD/median shrinks with spread,
 * and MAD, like the median, ignores a minority of spikes. */
static double confidence(const uint64_t *v, unsigned n, uint64_t med)
{
    uint64_t dev[RING];
    for (unsigned i = 0; i < n; i++)
        dev[i] = v[i] > med ? v[i] - med : med - v[i];
    /* The upper median of the deviations: of two clusters, the spread
     * between them counts (the lower one would read 0). */
    sort_u64(dev, n);
    double mad = (double)dev[n / 2];
    double spread = med ? mad / (double)med : 0.0;
    return (double)n / (n + 2.0) * (1.0 - (spread > 1.0 ? 1.0 : spread));
}

static void bucket_push(bucket *bk, uint64_t ns, uint64_t n)
{
    bk->n[fronta__model_ring_push(&bk->ns, ns)] = n ? n : 1;
    unsigned c = bk->ns.count;
    uint64_t med = median_u64(bk->ns.v, c), nsum = 0;
    for (unsigned i = 0; i < c; i++)
        nsum += bk->n[i];
    atomic_store_explicit(&bk->est, med, memory_order_relaxed);
    atomic_store_explicit(&bk->nrep, nsum / c, memory_order_relaxed);
    atomic_store_explicit(&bk->conf_ppm, (unsigned)(confidence(bk->ns.v, c, med) * 1e6),
                          memory_order_relaxed);
    atomic_store_explicit(&bk->samples, c, memory_order_relaxed);
}

/* ---- families ---- */

static family *family_find(fronta__models *m, unsigned h, int kindex, uint64_t variant, int dev)
{
    /* Acquire: a family is fully built before its release store. */
    for (family *f = atomic_load_explicit(&m->heads[h], memory_order_acquire); f; f = f->next)
        if (f->kindex == kindex && f->variant == variant && f->dev == dev)
            return f;
    return NULL;
}

/* With f->lock held (or f unpublished). NULL without memory. */
static bucket *bucket_get(fronta__models *m, family *f, unsigned b)
{
    bucket *bk = atomic_load_explicit(&f->b[b], memory_order_relaxed);
    if (!bk && (bk = fronta__mem_calloc(m->alloc, 1, sizeof *bk)))
        atomic_store_explicit(&f->b[b], bk, memory_order_release);
    return bk;
}

/* With m->lock held: what an earlier run stored for f's kernel. */
static void family_adopt(fronta__models *m, family *f)
{
    for (stored *s = m->stored; s; s = s->next) {
        if (s->adopted || s->dev != f->dev || s->variant != f->variant || strcmp(s->name, f->name))
            continue;
        bucket *bk = bucket_get(m, f, s->bucket);
        if (!bk)
            return;
        for (unsigned i = 0; i < s->ns.count; i++)
            bucket_push(bk, fronta__model_ring_at(&s->ns, i), s->nrep);
        bk->seen = s->ns.count;
        atomic_fetch_or_explicit(&f->known, 1ull << s->bucket, memory_order_relaxed);
        s->adopted = 1;
    }
}

static family *family_new(fronta__models *m, const fronta__ktask *kt, uint64_t variant, int dev)
{
    family *f = fronta__mem_calloc(m->alloc, 1, sizeof *f);
    if (!f)
        return NULL;
    f->name_size = strlen(kt->k->name) + 1;
    if (!(f->name = fronta__mem_alloc(m->alloc, f->name_size))) {
        fronta__mem_free(m->alloc, f, sizeof *f);
        return NULL;
    }
    memcpy(f->name, kt->k->name, f->name_size);
    f->kindex = kt->k->index;
    f->variant = variant;
    f->dev = dev;
    pthread_mutex_init(&f->lock, NULL);
    return f;
}

/* The family of kt on dev, made (and seeded from the file) the first time:
 * once per (kernel, variant, device) a run allocates, never per task. */
static family *family_get(fronta__models *m, const fronta__ktask *kt, int dev)
{
    if (!dev_ok(m, dev) || !kt->k)
        return NULL;
    uint64_t variant = variant_of(kt);
    unsigned h = head_of(kt->k->index, variant, dev);
    family *f = family_find(m, h, kt->k->index, variant, dev);
    if (f)
        return f;
    pthread_mutex_lock(&m->lock);
    if (!(f = family_find(m, h, kt->k->index, variant, dev)) &&
        (f = family_new(m, kt, variant, dev))) {
        family_adopt(m, f);
        f->next = atomic_load_explicit(&m->heads[h], memory_order_relaxed);
        atomic_store_explicit(&m->heads[h], f, memory_order_release);
    }
    pthread_mutex_unlock(&m->lock);
    return f;
}

static void family_free(fronta__models *m, family *f)
{
    for (unsigned b = 0; b < NBUCKETS; b++) {
        bucket *bk = atomic_load_explicit(&f->b[b], memory_order_relaxed);
        if (bk)
            fronta__mem_free(m->alloc, bk, sizeof *bk);
    }
    pthread_mutex_destroy(&f->lock);
    fronta__mem_free(m->alloc, f->name, f->name_size);
    fronta__mem_free(m->alloc, f, sizeof *f);
}

/* ---- estimates ---- */

static double prior_ns(const fronta__models *m, int dev, size_t n)
{
    const devmodel *d = &m->dev[dev];
    if (d->pool) /* one task runs on one thread: the pool's width is in its backlog */
        return PRIOR_POOL_LAUNCH_NS + PRIOR_ELEM_NS * (double)n;
    return PRIOR_DEV_LAUNCH_NS + PRIOR_ELEM_NS * (double)n / (d->cu ? d->cu : 1);
}

static void read_bucket(const family *f, unsigned b, double *ns, double *n, double *conf)
{
    const bucket *bk = atomic_load_explicit(&f->b[b], memory_order_acquire);
    *ns = (double)atomic_load_explicit(&bk->est, memory_order_relaxed);
    *n = (double)atomic_load_explicit(&bk->nrep, memory_order_relaxed);
    *conf = atomic_load_explicit(&bk->conf_ppm, memory_order_relaxed) / 1e6;
}

/* No sample at n's bucket: linear between the nearest buckets below and
 * above that have some, else proportional to n from the nearest one.
 * Confidence halves per bucket of distance. */
static void interpolate(const family *f, uint64_t known, unsigned b, size_t n, fronta__estimate *e)
{
    uint64_t below = known & ((1ull << b) - 1);
    uint64_t above = b == 63 ? 0 : known & ~((2ull << b) - 1);
    double tl = 0, nl = 0, cl = 0, th = 0, nh = 0, ch = 0, t, c;
    unsigned dl = 64, dh = 64;
    if (below) {
        unsigned lb = 63u - (unsigned)__builtin_clzll(below);
        read_bucket(f, lb, &tl, &nl, &cl);
        dl = b - lb;
    }
    if (above) {
        unsigned hb = (unsigned)__builtin_ctzll(above);
        read_bucket(f, hb, &th, &nh, &ch);
        dh = hb - b;
    }
    if (below && above && nh > nl) {
        t = tl + (th - tl) * ((double)n - nl) / (nh - nl);
        c = cl < ch ? cl : ch;
    } else if (below) {
        t = nl > 0 ? tl * (double)n / nl : tl;
        c = cl;
    } else {
        t = nh > 0 ? th * (double)n / nh : th;
        c = ch;
    }
    unsigned d = dl < dh ? dl : dh;
    e->ns = t < 1 ? 1 : (uint64_t)t;
    e->conf = c / (double)(1ull << (d > 62 ? 62 : d));
    e->source = FRONTA__EST_INTERP;
}

void fronta__models_estimate(fronta__models *m, const fronta__ktask *kt, int dev,
                             fronta__estimate *e)
{
    memset(e, 0, sizeof *e);
    if (!dev_ok(m, dev))
        return;
    size_t n = kt->shape.n;
    unsigned b = bucket_of(n);
    const family *f = family_get(m, kt, dev);
    uint64_t known = f ? atomic_load_explicit(&f->known, memory_order_acquire) : 0;
    if (f)
        e->probing = (int)(atomic_load_explicit(&f->probing, memory_order_relaxed) >> b & 1);
    if (known >> b & 1) {
        const bucket *bk = atomic_load_explicit(&f->b[b], memory_order_acquire);
        e->ns = atomic_load_explicit(&bk->est, memory_order_relaxed);
        e->conf = atomic_load_explicit(&bk->conf_ppm, memory_order_relaxed) / 1e6;
        e->samples = atomic_load_explicit(&bk->samples, memory_order_relaxed);
        e->source = FRONTA__EST_SAMPLES;
    } else if (known) {
        interpolate(f, known, b, n, e);
    } else {
        e->ns = (uint64_t)prior_ns(m, dev, n);
        e->source = FRONTA__EST_PRIOR;
    }
}

const char *fronta__models_source_name(fronta__est_source s)
{
    return s == FRONTA__EST_SAMPLES ? "samples" : s == FRONTA__EST_INTERP ? "interp" : "prior";
}

uint64_t fronta__models_exec(fronta__models *m, const fronta__ktask *kt, int dev, double *conf)
{
    fronta__estimate e;
    fronta__models_estimate(m, kt, dev, &e);
    if (conf)
        *conf = e.conf;
    return e.ns;
}

int fronta__models_probe_claim(fronta__models *m, const fronta__ktask *kt, int dev)
{
    family *f = family_get(m, kt, dev);
    if (!f)
        return 0;
    uint64_t bit = 1ull << bucket_of(kt->shape.n);
    if (atomic_load_explicit(&f->known, memory_order_acquire) & bit)
        return 0;
    return !(atomic_fetch_or_explicit(&f->probing, bit, memory_order_relaxed) & bit);
}

/* ---- transfers ---- */


/* ns to copy `bytes` from node src to node dst; between two devices,
 * through the host, as coherence copies. */
static double copy_ns(const fronta__models *m, int src, int dst, size_t bytes)
{
    if (src == dst || !bytes)
        return 0;
    if (src && dst)
        return copy_ns(m, src, 0, bytes) + copy_ns(m, 0, dst, bytes);
    const devmodel *d = &m->dev[src ? src : dst];
    uint64_t bpms = atomic_load_explicit(src ? &d->out.med : &d->in.med, memory_order_relaxed);
    if (bpms)
        return (double)bytes * 1e6 / (double)bpms;
    return d->free_copy ? 0 : PRIOR_XFER_LATENCY_NS + PRIOR_XFER_NS_PER_BYTE * (double)bytes;
}

/* Where b's current contents will be when kt runs: the device of a
 * pending writer (its output replaces what is valid now), else a node
 * where it is valid, the host first; -1 when dev already has it. */
static int source_node(const fronta__models *m, const fronta_buffer_t *b, int dev)
{
    const fronta_future_t *w = b->last_writer;
    const fronta__ktask *wk = w ? fronta__ktask_of(w) : NULL;
    if (wk && !fronta_future_done(w)) {
        int wd = atomic_load_explicit(&wk->dev, memory_order_acquire);
        return wd == dev ? -1 : wd >= 0 && wd < m->ndev ? wd : 0;
    }
    if (b->valid >> dev & 1)
        return -1;
    if ((b->valid & 1) || !b->valid)
        return 0;
    int s = __builtin_ctzll(b->valid);
    return s < m->ndev ? s : 0;
}

uint64_t fronta__models_xfer(fronta__models *m, const fronta__ktask *kt, const fronta__kbufs *kb,
                             int dev)
{
    (void)kt;
    if (!dev_ok(m, dev) || !kb)
        return 0;
    double t = 0;
    for (size_t i = 0; i < kb->n; i++) {
        if (!(kb->mode[i] & FRONTA_ACCESS_IN))
            continue;
        int src = source_node(m, kb->b[i], dev);
        if (src >= 0)
            t += copy_ns(m, src, dev, kb->b[i]->bytes);
    }
    return (uint64_t)t;
}

/* With xlock held, or before m is shared (the file's lines at open). */
void fronta__model_xring_push(xring *r, uint64_t bpms)
{
    fronta__model_ring_push(&r->bpms, bpms ? bpms : 1);
    atomic_store_explicit(&r->med, median_u64(r->bpms.v, r->bpms.count), memory_order_relaxed);
}

void fronta__models_transfer(fronta__models *m, int src, int dst, uint64_t bytes, uint64_t ns)
{
    /* Device-to-device copies go through the host here: only pairs with
     * the host are modelled. */
    if (!dev_ok(m, src) || !dev_ok(m, dst) || src == dst || (src && dst) || !bytes)
        return;
    devmodel *d = &m->dev[src ? src : dst];
    pthread_mutex_lock(&m->xlock);
    fronta__model_xring_push(src ? &d->out : &d->in,
                             (uint64_t)((double)bytes * 1e6 / (double)(ns ? ns : 1)));
    pthread_mutex_unlock(&m->xlock);
    atomic_store_explicit(&d->dirty, 1, memory_order_relaxed);
}

/* ---- backlog and learning ---- */

uint64_t fronta__models_backlog(fronta__models *m, int dev)
{
    return dev_ok(m, dev) ? atomic_load_explicit(&m->dev[dev].backlog, memory_order_relaxed) : 0;
}

void fronta__models_placed(fronta__models *m, fronta__ktask *kt, int dev, uint64_t est)
{
    kt->est_ns = est;
    kt->est_dev = -1;
    if (!dev_ok(m, dev))
        return;
    kt->est_dev = dev;
    atomic_fetch_add_explicit(&m->dev[dev].backlog, est, memory_order_relaxed);
}

/* The caller owns kt at ran/left (one of them per placement). */
static void unplace(fronta__models *m, fronta__ktask *kt)
{
    if (dev_ok(m, kt->est_dev))
        atomic_fetch_sub_explicit(&m->dev[kt->est_dev].backlog, kt->est_ns, memory_order_relaxed);
    kt->est_dev = -1;
}

static void probe_over(fronta__models *m, const fronta__ktask *kt, int dev)
{
    family *f = kt->k ? family_get(m, kt, dev) : NULL;
    if (f)
        atomic_fetch_and_explicit(&f->probing, ~(1ull << bucket_of(kt->shape.n)),
                                  memory_order_relaxed);
}

static int spiked(const fronta__models *m, int dev, unsigned seen)
{
    unsigned p = m->spike_percent;
    return p && (m->spike_devs >> dev & 1) &&
           (uint64_t)seen * p / 100 > (uint64_t)(seen - 1) * p / 100;
}

static void learn(fronta__models *m, family *f, const fronta__ktask *kt, uint64_t ns)
{
    unsigned b = bucket_of(kt->shape.n);
    pthread_mutex_lock(&f->lock);
    bucket *bk = bucket_get(m, f, b);
    if (bk) {
        if (spiked(m, f->dev, ++bk->seen))
            ns *= m->spike_factor;
        bucket_push(bk, ns, kt->shape.n);
        /* Release: a reader that sees the bit sees the bucket's figures. */
        atomic_fetch_or_explicit(&f->known, 1ull << b, memory_order_release);
    }
    pthread_mutex_unlock(&f->lock);
}

void fronta__models_ran(fronta__models *m, fronta__ktask *kt, int dev, uint64_t ns, int ok)
{
    if (!m)
        return;
    unplace(m, kt);
    family *f = ok && kt->k ? family_get(m, kt, dev) : NULL;
    if (f) {
        learn(m, f, kt, ns);
        atomic_store_explicit(&m->dev[dev].dirty, 1, memory_order_relaxed);
    }
    if (dev_ok(m, dev) && kt->k)
        probe_over(m, kt, dev);
}

void fronta__models_left(fronta__models *m, fronta__ktask *kt, int dev)
{
    if (!m)
        return;
    unplace(m, kt);
    if (dev_ok(m, dev) && kt->k)
        probe_over(m, kt, dev);
}

void fronta__models_fault_spikes(fronta__models *m, unsigned percent, unsigned factor,
                                 uint64_t devs)
{
    if (!m)
        return;
    m->spike_percent = percent > 100 ? 100 : percent;
    m->spike_factor = factor ? factor : 1;
    m->spike_devs = devs ? devs : ~0ull;
}

/* ---- open and close ---- */

/* The file's key, then what the priors and copy estimates need. */
static void device_init(fronta__models *m, int id, const fronta_device_info_t *in)
{
    devmodel *d = &m->dev[id];
    fronta__model_file_key(d, in);
    d->cu = in->compute_units ? in->compute_units : 1;
    d->pool = in->kind == FRONTA_DEVICE_CPU_POOL;
    d->free_copy = d->pool || (in->unified_memory && m->rt->set.zero_copy);
}

int fronta__models_open_with(fronta_runtime_t *rt, const fronta_device_info_t *devs, int ndev,
                             fronta__models **out)
{
    void *raw;
    *out = NULL;
    fronta__models *m = fronta__mem_calloc_aligned(&rt->alloc, sizeof *m, &raw);
    if (!m)
        return FRONTA_ENOMEM;
    m->raw = raw;
    m->rt = rt;
    m->alloc = &rt->alloc;
    m->log = rt->set.log_level;
    m->ndev = devs ? ndev : rt->ndevices;
    if (m->ndev > FRONTA__MAX_DEVICES)
        m->ndev = FRONTA__MAX_DEVICES;
    for (int i = 0; i < m->ndev; i++) {
        fronta_device_info_t info = {.size = sizeof info};
        if (devs)
            info = devs[i];
        else if (fronta_device_info(rt, i, &info))
            memset(&info, 0, sizeof info);
        device_init(m, i, &info);
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->xlock, NULL);
    fronta__model_file_load(m);
    *out = m;
    return 0;
}

int fronta__models_open(fronta_runtime_t *rt, fronta__models **out)
{
    return fronta__models_open_with(rt, NULL, 0, out);
}

void fronta__models_close(fronta__models *m)
{
    if (!m)
        return;
    fronta__model_file_save(m);
    for (unsigned h = 0; h < HEADS; h++)
        for (family *f = atomic_load_explicit(&m->heads[h], memory_order_relaxed), *n; f; f = n) {
            n = f->next;
            family_free(m, f);
        }
    fronta__model_file_free(m);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->xlock);
    fronta__mem_free(m->alloc, m->raw, sizeof *m + 63);
}
