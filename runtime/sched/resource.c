/* Counted resources: the FRONTA_RESOURCES declarations, a task's needs,
 * and admission with a wait list per device. */
#include "sched/resource.h"
#include "core/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- parsing ---- */

static int name_index(const fronta__res *r, const char *name, size_t len)
{
    for (int i = 0; i < r->n; i++)
        if (strlen(r->name[i]) == len && !strncasecmp(r->name[i], name, len))
            return i;
    return -1;
}

static int name_add(fronta__res *r, const char *name, size_t len)
{
    int i = name_index(r, name, len);
    if (i >= 0 || r->n == FRONTA__MAX_RES || len >= sizeof r->name[0])
        return i;
    memcpy(r->name[r->n], name, len);
    r->name[r->n][len] = 0;
    return r->n++;
}

/* "8MiB", "2k", "3": SI units by 1000, binary ones (Ki, Mi...) by 1024,
 * an optional B. 0 for what does not parse or overflows. */
static uint64_t parse_amount(const char *s, const char *end)
{
    char buf[64];
    size_t len = (size_t)(end - s);
    if (len == 0 || len >= sizeof buf || !isdigit((unsigned char)*s))
        return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *u;
    errno = 0;
    unsigned long long v = strtoull(buf, &u, 10);
    if (errno)
        return 0;
    static const char units[] = "kMGT";
    unsigned shift = 0, power = 0;
    const char *p = strchr(units, *u == 'K' ? 'k' : *u);
    if (*u && p) {
        power = (unsigned)(p - units) + 1;
        u++;
        if (*u == 'i') {
            shift = 10 * power;
            power = 0;
            u++;
        }
    }
    if (*u == 'B')
        u++;
    if (*u)
        return 0;
    for (unsigned i = 0; i < power; i++) {
        if (v > UINT64_MAX / 1000)
            return 0;
        v *= 1000;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return 0;
    return (uint64_t)v << shift;
}

/* The devices a selector names: a device id, "pool", or a FRONTA_DEVICES
 * token ("all", "opencl", "opencl:gpu", a piece of a device's name). */
static uint64_t select_devices(fronta_runtime_t *rt, const char *sel)
{
    char *end;
    long id = strtol(sel, &end, 10);
    if (end != sel && !*end)
        return id >= 0 && id < rt->ndevices ? 1ull << id : 0;
    if (!strcasecmp(sel, "pool"))
        return 1;
    uint64_t mask = 0;
    for (int i = 0; i < rt->ndevices; i++) {
        fronta_device_info_t info = {.size = sizeof info};
        fronta_device_info(rt, i, &info);
        if (fronta__token_selects(sel, rt->devices[i].drv->name,
                                  fronta_device_type_name(info.type), info.name,
                                  info.platform))
            mask |= 1ull << i;
    }
    return mask;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

/* One "name=amount" for the devices of mask. */
static int parse_pair(fronta_runtime_t *rt, fronta__res *r, char *pair, uint64_t mask)
{
    pair = trim(pair);
    char *eq = strchr(pair, '=');
    size_t len = eq ? (size_t)(eq - pair) : 0;
    while (len && isspace((unsigned char)pair[len - 1]))
        len--;
    int ok = len > 0;
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)pair[i]) || pair[i] == '_' || pair[i] == '-' ||
             pair[i] == '.';
    if (!ok) {
        FRONTA__LOG(rt, FRONTA_LOG_ERROR,
                    "FRONTA_RESOURCES: '%s' is not name=amount (a name of letters, digits, "
                    "_ - .)", pair);
        return FRONTA_EENV;
    }
    char *amount = trim(eq + 1);
    uint64_t v = parse_amount(amount, amount + strlen(amount));
    if (v == 0) {
        FRONTA__LOG(rt, FRONTA_LOG_ERROR,
                    "FRONTA_RESOURCES: '%s' is not a positive amount (digits, then k M G T "
                    "or Ki Mi Gi Ti, then B if you like)", amount);
        return FRONTA_EENV;
    }
    int idx = name_add(r, pair, len);
    if (idx < 0) {
        FRONTA__LOG(rt, FRONTA_LOG_ERROR,
                    "FRONTA_RESOURCES: too many resource names (at most %d, mem included) "
                    "or '%.*s' is longer than 31", FRONTA__MAX_RES, (int)len, pair);
        return FRONTA_EENV;
    }
    for (int d = 0; d < rt->ndevices; d++)
        if (mask >> d & 1)
            r->cap[d][idx] = v;
    return 0;
}

/* "DEVICE:name=amount,name=amount" -- the selector ends at the last ':'
 * (it may hold one itself: "opencl:gpu:mem=2GiB"). */
static int parse_entry(fronta_runtime_t *rt, fronta__res *r, char *e)
{
    e = trim(e);
    if (!*e)
        return 0;
    char *colon = strrchr(e, ':');
    if (!colon) {
        FRONTA__LOG(rt, FRONTA_LOG_ERROR,
                    "FRONTA_RESOURCES: '%s' does not name a device (DEVICE:name=amount,...)",
                    e);
        return FRONTA_EENV;
    }
    *colon = 0;
    char *sel = trim(e);
    uint64_t mask = select_devices(rt, sel);
    if (!mask) {
        FRONTA__LOG(rt, FRONTA_LOG_ERROR,
                    "FRONTA_RESOURCES: '%s' names no device (pool, a device id, all, "
                    "opencl, opencl:gpu or a piece of a device name)", sel);
        return FRONTA_EENV;
    }
    char *save = NULL;
    for (char *p = strtok_r(colon + 1, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        int rc = parse_pair(rt, r, p, mask);
        if (rc)
            return rc;
    }
    return 0;
}

/* fn on each entry of spec between separators, on a copy; the first
 * error stops it. */
static int each_entry(fronta_runtime_t *rt, fronta__res *r, const char *spec, const char *seps,
                      int (*fn)(fronta_runtime_t *, fronta__res *, char *))
{
    size_t n = strlen(spec);
    char *buf = fronta__mem_alloc(&rt->alloc, n + 1);
    if (!buf)
        return FRONTA_ENOMEM;
    memcpy(buf, spec, n + 1);
    int rc = 0;
    char *save = NULL;
    for (char *e = strtok_r(buf, seps, &save); e && !rc; e = strtok_r(NULL, seps, &save))
        rc = fn(rt, r, e);
    fronta__mem_free(&rt->alloc, buf, n + 1);
    return rc;
}

static int parse_spec(fronta_runtime_t *rt, fronta__res *r, const char *spec)
{
    return each_entry(rt, r, spec, ";", parse_entry);
}

/* ---- FRONTA_DEVICE_MEM_LIMIT ---- */

/* One "amount" (every OpenCL device) or "DEVICE:amount" entry: the cap
 * of mem there becomes at most amount. */
static int limit_entry(fronta_runtime_t *rt, fronta__res *r, char *e)
{
    e = trim(e);
    if (!*e)
        return 0;
    char orig[128];
    snprintf(orig, sizeof orig, "%s", e);
    char *colon = strrchr(e, ':');
    uint64_t mask = 0;
    if (colon) {
        *colon = 0;
        mask = select_devices(rt, trim(e));
        e = colon + 1;
    } else {
        for (int d = 1; d < rt->ndevices; d++)
            mask |= 1ull << d;
    }
    e = trim(e);
    uint64_t v = parse_amount(e, e + strlen(e));
    if (!v || (colon && !mask)) {
        FRONTA__LOG(rt, FRONTA_LOG_ERROR, "FRONTA_DEVICE_MEM_LIMIT: '%s' is not AMOUNT or "
                    "DEVICE:AMOUNT (an amount: digits, then k M G T or Ki Mi Gi Ti, then B "
                    "if you like; a device: an id, opencl, opencl:gpu, a piece of its name)",
                    orig);
        return FRONTA_EENV;
    }
    for (int d = 0; d < rt->ndevices; d++)
        if (mask >> d & 1) {
            if (r->cap[d][FRONTA__RES_MEM] > v)
                r->cap[d][FRONTA__RES_MEM] = v;
            r->mem_limit[d] = v;
            r->mem_limited = 1;
        }
    return 0;
}

static int parse_limits(fronta_runtime_t *rt, fronta__res *r, const char *spec)
{
    return each_entry(rt, r, spec, ";,", limit_entry);
}

uint64_t fronta__res_mem_limit(const fronta__res *r, int dev)
{
    return r && dev >= 0 && dev < FRONTA__MAX_DEVICES ? r->mem_limit[dev] : 0;
}

/* ---- setup ---- */

int fronta__res_init(fronta_runtime_t *rt, const char *spec, fronta__res **out)
{
    fronta__res *r = fronta__mem_calloc(&rt->alloc, 1, sizeof *r);
    if (!r)
        return FRONTA_ENOMEM;
    name_add(r, "mem", 3);
    for (int d = 0; d < rt->ndevices; d++) {
        fronta_device_info_t info = {.size = sizeof info};
        fronta_device_info(rt, d, &info);
        /* The pool's budget is unlimited unless declared; a device's is
         * its global memory. */
        r->cap[d][FRONTA__RES_MEM] =
            info.global_mem ? info.global_mem : FRONTA__RES_UNLIMITED;
    }
    int rc = spec ? parse_spec(rt, r, spec) : 0;
    /* After the declarations: a limit caps a declared mem too. */
    if (!rc && rt->set.mem_limit)
        rc = parse_limits(rt, r, rt->set.mem_limit);
    if (rc) {
        fronta__mem_free(&rt->alloc, r, sizeof *r);
        return rc;
    }
    for (int d = 0; d < FRONTA__MAX_DEVICES; d++)
        pthread_mutex_init(&r->dev[d].lock, NULL);
    *out = r;
    return 0;
}

void fronta__res_fini(fronta_runtime_t *rt, fronta__res *r)
{
    if (!r)
        return;
    for (int d = 0; d < FRONTA__MAX_DEVICES; d++)
        pthread_mutex_destroy(&r->dev[d].lock);
    fronta__mem_free(&rt->alloc, r, sizeof *r);
}

/* ---- needs ---- */

int fronta__res_resolve(const fronta__res *r, const fronta_resource_t *need, size_t n,
                        fronta__rneed *out, char *msg, size_t msz)
{
    out->n = 0;
    atomic_store_explicit(&out->dev, -1, memory_order_relaxed);
    if (n == 0)
        while (n < FRONTA_MAX_RESOURCES && need[n].name)
            n++;
    if (n > FRONTA_MAX_RESOURCES) {
        snprintf(msg, msz, "%zu resource needs: at most %d", n, FRONTA_MAX_RESOURCES);
        return FRONTA_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!need[i].name || need[i].amount == 0) {
            snprintf(msg, msz, "resource need %zu: %s", i,
                     need[i].name ? "an amount of 0" : "no name");
            return FRONTA_EINVAL;
        }
        int idx = name_index(r, need[i].name, strlen(need[i].name));
        if (idx < 0) {
            snprintf(msg, msz, "resource '%s' (amount %llu): no worker declares it "
                     "(FRONTA_RESOURCES)", need[i].name, (unsigned long long)need[i].amount);
            return FRONTA_ERESOURCE;
        }
        int j = 0; /* the same name twice: one need of the sum */
        while (j < out->n && out->idx[j] != idx)
            j++;
        if (j == out->n) {
            out->idx[out->n] = (uint8_t)idx;
            out->amount[out->n++] = 0;
        }
        if (out->amount[j] > UINT64_MAX - need[i].amount) {
            snprintf(msg, msz, "resource '%s': the amounts overflow", need[i].name);
            return FRONTA_ERANGE;
        }
        out->amount[j] += need[i].amount;
    }
    return 0;
}

int fronta__res_fits(const fronta__res *r, const fronta__rneed *n, int dev, char *msg,
                     size_t msz)
{
    for (int i = 0; i < n->n; i++)
        if (r->cap[dev][n->idx[i]] < n->amount[i]) {
            if (msg)
                snprintf(msg, msz, "resource '%s' %llu: device %d declares %llu",
                         r->name[n->idx[i]], (unsigned long long)n->amount[i], dev,
                         (unsigned long long)r->cap[dev][n->idx[i]]);
            return 0;
        }
    return 1;
}

/* ---- admission ---- */

/* With the device's lock held. */
static int take(fronta__res *r, fronta__rneed *n, int dev)
{
    struct fronta__res_dev *rd = &r->dev[dev];
    for (int i = 0; i < n->n; i++) {
        uint64_t cap = r->cap[dev][n->idx[i]];
        if (cap != FRONTA__RES_UNLIMITED && rd->used[n->idx[i]] + n->amount[i] > cap)
            return 0;
    }
    for (int i = 0; i < n->n; i++)
        rd->used[n->idx[i]] += n->amount[i];
    atomic_store_explicit(&n->dev, dev, memory_order_relaxed);
    return 1;
}

/* Needs that can never wait there take no lock. */
static int unlimited(const fronta__res *r, const fronta__rneed *n, int dev)
{
    for (int i = 0; i < n->n; i++)
        if (r->cap[dev][n->idx[i]] != FRONTA__RES_UNLIMITED)
            return 0;
    return 1;
}

static uint64_t mask_of(const fronta__rneed *n)
{
    uint64_t m = 0;
    for (int i = 0; i < n->n; i++)
        m |= 1ull << n->idx[i];
    return m;
}

static int blocked_by_waiters(const struct fronta__res_dev *rd, const fronta__rneed *n)
{
    uint64_t mine = mask_of(n);
    for (const fronta__rneed *w = rd->waiting; w && w->priority >= n->priority; w = w->wnext)
        if (mask_of(w) & mine)
            return 1;
    return 0;
}

int fronta__res_acquire(fronta__res *r, fronta__rneed *n, int dev)
{
    if (unlimited(r, n, dev)) {
        atomic_store_explicit(&n->dev, -1, memory_order_relaxed); /* holds nothing anyone counts */
        return 1;
    }
    struct fronta__res_dev *rd = &r->dev[dev];
    pthread_mutex_lock(&rd->lock);
    /* Waiters first: a newcomer must not overtake one of at least its
     * priority that waits for a resource it needs too (it would starve a
     * large need); a need of other resources passes. */
    int ok = !blocked_by_waiters(rd, n) && take(r, n, dev);
    if (!ok) {
        fronta__rneed **p = &rd->waiting;
        while (*p && (*p)->priority >= n->priority)
            p = &(*p)->wnext;
        n->wnext = *p;
        *p = n;
        atomic_store_explicit(&n->dev, dev, memory_order_relaxed);
        n->wait_t0 = fronta__now_ns();
        rd->waits++;
    }
    pthread_mutex_unlock(&rd->lock);
    return ok;
}

/* With the lock held: unlink the waiters that now fit, in order; a waiter
 * that does not fit stops the scan only for needs it shares (a small
 * need of another resource may pass it). */
static fronta__rneed *admit_waiters(fronta__res *r, int dev)
{
    struct fronta__res_dev *rd = &r->dev[dev];
    fronta__rneed *admitted = NULL, **tail = &admitted;
    uint64_t blocked = 0; /* resource indices a waiter ahead still waits for */
    for (fronta__rneed **p = &rd->waiting; *p;) {
        fronta__rneed *w = *p;
        uint64_t mine = mask_of(w);
        if (!(mine & blocked) && take(r, w, dev)) {
            *p = w->wnext;
            w->wnext = NULL;
            *tail = w;
            tail = &w->wnext;
            continue;
        }
        blocked |= mine;
        p = &w->wnext;
    }
    return admitted;
}

void fronta__res_release(fronta__res *r, fronta__rneed *n)
{
    int dev = atomic_load_explicit(&n->dev, memory_order_relaxed);
    if (dev < 0)
        return;
    struct fronta__res_dev *rd = &r->dev[dev];
    pthread_mutex_lock(&rd->lock);
    for (int i = 0; i < n->n; i++)
        rd->used[n->idx[i]] -= n->amount[i];
    atomic_store_explicit(&n->dev, -1, memory_order_relaxed);
    fronta__rneed *go = rd->waiting ? admit_waiters(r, dev) : NULL;
    pthread_mutex_unlock(&rd->lock);
    while (go) { /* outside the lock: admitting may run or release others */
        fronta__rneed *next = go->wnext;
        go->admit(go);
        go = next;
    }
}

int fronta__res_unwait(fronta__res *r, fronta__rneed *n)
{
    int dev = atomic_load_explicit(&n->dev, memory_order_relaxed);
    if (dev < 0)
        return 0;
    struct fronta__res_dev *rd = &r->dev[dev];
    int found = 0;
    pthread_mutex_lock(&rd->lock);
    for (fronta__rneed **p = &rd->waiting; *p; p = &(*p)->wnext)
        if (*p == n) {
            *p = n->wnext;
            atomic_store_explicit(&n->dev, -1, memory_order_relaxed);
            found = 1;
            break;
        }
    fronta__rneed *go = found && rd->waiting ? admit_waiters(r, dev) : NULL;
    pthread_mutex_unlock(&rd->lock);
    while (go) { /* what waited behind it may fit now */
        fronta__rneed *next = go->wnext;
        go->admit(go);
        go = next;
    }
    return found;
}
