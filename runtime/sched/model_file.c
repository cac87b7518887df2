/* Performance models' files: one per device in the cache directory, read at open, written at close. */
#include "sched/model_int.h"
#include "util/cachedir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_STORED 65536          /* lines read from one file: more is corrupt */

/* "perfmodel-<hash>.txt": a header line (magic, device name, driver
 * version, platform), then one line per bucket: kernel name, variant
 * (hex), bucket, mean n, the samples (ns, oldest first); "@in" / "@out"
 * lines: copy bandwidths (bytes/ms). */
static const char magic[] = "fronta-perfmodel 1";

/* The rule of the OpenCL program cache (util/cachedir.c). */
static void choose_dir(fronta__models *m)
{
    fronta__cache_dir(m->dir, sizeof m->dir);
}

void fronta__model_file_key(devmodel *d, const fronta_device_info_t *in)
{
    char f[3][128];
    snprintf(f[0], sizeof f[0], "%s", in->name);
    snprintf(f[1], sizeof f[1], "%s", in->version);
    snprintf(f[2], sizeof f[2], "%s", in->platform);
    for (int i = 0; i < 3; i++)
        for (char *p = f[i]; *p; p++)
            if (*p == '\t' || *p == '\n' || *p == '\r')
                *p = ' '; /* would break the format */
    snprintf(d->header, sizeof d->header, "%s\t%s\t%s\t%s", magic, f[0], f[1], f[2]);
    d->hash = 0xcbf29ce484222325ull; /* FNV-1a of the device's fields */
    for (const char *p = d->header + sizeof magic; *p; p++)
        d->hash = (d->hash ^ (unsigned char)*p) * 0x100000001b3ull;
}

static int path_of(const fronta__models *m, int dev, char *out, size_t size, const char *tail)
{
    int n = snprintf(out, size, "%s/perfmodel-%016llx.txt%s", m->dir,
                     (unsigned long long)m->dev[dev].hash, tail);
    return n > 0 && (size_t)n < size;
}

static void write_line(FILE *f, const char *head, const ring *r)
{
    fputs(head, f);
    for (unsigned i = 0; i < r->count; i++)
        fprintf(f, "%c%llu", i ? ' ' : '\t', (unsigned long long)fronta__model_ring_at(r, i));
    fputc('\n', f);
}

static void write_family(FILE *f, family *fam)
{
    char head[64];
    if (strpbrk(fam->name, "\t\n\r") || fam->name[0] == '@')
        return; /* a name the format cannot hold (or a transfer line's): not persisted */
    pthread_mutex_lock(&fam->lock);
    for (unsigned b = 0; b < NBUCKETS; b++) {
        const bucket *bk = atomic_load_explicit(&fam->b[b], memory_order_relaxed);
        if (!bk || !bk->ns.count)
            continue;
        snprintf(head, sizeof head, "\t%llx\t%u\t%llu", (unsigned long long)fam->variant, b,
                 (unsigned long long)atomic_load_explicit(&bk->nrep, memory_order_relaxed));
        fputs(fam->name, f);
        write_line(f, head, &bk->ns);
    }
    pthread_mutex_unlock(&fam->lock);
}

static int write_device(fronta__models *m, int dev, FILE *f)
{
    char head[64];
    fprintf(f, "%s\n", m->dev[dev].header);
    for (unsigned h = 0; h < HEADS; h++)
        for (family *fam = atomic_load_explicit(&m->heads[h], memory_order_acquire); fam;
             fam = fam->next)
            if (fam->dev == dev)
                write_family(f, fam);
    for (const stored *s = m->stored; s; s = s->next) /* kernels this run did not use */
        if (s->dev == dev && !s->adopted) {
            snprintf(head, sizeof head, "\t%llx\t%u\t%llu", (unsigned long long)s->variant,
                     s->bucket, (unsigned long long)s->nrep);
            fputs(s->name, f);
            write_line(f, head, &s->ns);
        }
    pthread_mutex_lock(&m->xlock);
    if (m->dev[dev].in.bpms.count)
        write_line(f, "@in", &m->dev[dev].in.bpms);
    if (m->dev[dev].out.bpms.count)
        write_line(f, "@out", &m->dev[dev].out.bpms);
    pthread_mutex_unlock(&m->xlock);
    return ferror(f);
}

/* Through a temporary file and a rename: another process reading at the
 * same time sees the old file or the whole new one. */
static void save_device(fronta__models *m, int dev)
{
    char path[600], tmp[640], tail[32];
    snprintf(tail, sizeof tail, ".%ld.tmp", (long)getpid());
    if (!atomic_load_explicit(&m->dev[dev].dirty, memory_order_relaxed) ||
        !path_of(m, dev, path, sizeof path, "") || !path_of(m, dev, tmp, sizeof tmp, tail))
        return;
    FILE *f = fopen(tmp, "w");
    int bad = !f || write_device(m, dev, f);
    bad |= f && fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        fronta__log(m->log, FRONTA_LOG_INFO, "performance models not saved to %s", path);
        unlink(tmp);
    }
}

/* Strict decimal or hex: no sign, no spaces, at least one digit. */
static int parse_u64(const char **p, int hex, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;
    for (;; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (hex && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else
            break;
        if (v > (UINT64_MAX - d) / (hex ? 16 : 10))
            return -1;
        v = v * (hex ? 16 : 10) + d;
    }
    if (s == *p)
        return -1;
    *out = v;
    *p = s;
    return 0;
}

/* "\t1 2 3\n": 1 to RING samples, each > 0, and the line's end. */
static int parse_samples(const char *p, ring *r)
{
    memset(r, 0, sizeof *r);
    for (char sep = '\t'; *p == sep; sep = ' ') {
        uint64_t v;
        p++;
        if (r->count == RING || parse_u64(&p, 0, &v) || !v)
            return -1;
        fronta__model_ring_push(r, v);
    }
    return *p == '\n' && r->count ? 0 : -1;
}

/* Entries of one file: a sizing pass (base NULL) counts the bytes, the
 * second fills one block. */
typedef struct arena {
    char *base;
    size_t size, used;
} arena;

/* A model line into an entry of a (*out; NULL in the sizing pass), or -1. */
static int parse_model(int dev, const char *line, arena *a, stored **out)
{
    const char *tab = strchr(line, '\t'), *p;
    uint64_t b;
    stored key = {.dev = dev};
    if (!tab || tab == line)
        return -1;
    p = tab + 1;
    if (parse_u64(&p, 1, &key.variant) || *p++ != '\t' || parse_u64(&p, 0, &b) ||
        b >= NBUCKETS || *p++ != '\t' || parse_u64(&p, 0, &key.nrep) || !key.nrep ||
        parse_samples(p, &key.ns))
        return -1;
    key.bucket = (unsigned)b;
    size_t nlen = (size_t)(tab - line);
    size_t size = (sizeof key + nlen + 1 + 15) & ~(size_t)15; /* entries stay aligned */
    *out = NULL;
    if (!a->base) {
        a->used += size;
        return 0;
    }
    if (a->used + size > a->size)
        return -1; /* the file changed between the passes */
    stored *s = (stored *)(void *)(a->base + a->used);
    a->used += size;
    *s = key;
    s->size = size;
    memcpy(s->name, line, nlen);
    s->name[nlen] = 0;
    *out = s;
    return 0;
}

/* The lines after the header into *list (entries of a) and the rings
 * xr[2]; a reason when one is not as written. */
static const char *parse_lines(int dev, FILE *f, arena *a, stored **list, ring *xr)
{
    char line[4096];
    for (unsigned lines = 0; fgets(line, sizeof line, f);) {
        stored *s = NULL;
        if (!strchr(line, '\n') || ++lines > MAX_STORED)
            return "a line too long, or too many";
        if (!strncmp(line, "@in\t", 4) || !strncmp(line, "@out\t", 5)) {
            int o = line[1] == 'o';
            if (parse_samples(line + 3 + o, &xr[o]))
                return "a bad transfer line";
        } else if (parse_model(dev, line, a, &s)) {
            return "a bad model line";
        } else if (s) {
            s->next = *list;
            *list = s;
        }
    }
    return ferror(f) ? "a read error" : NULL;
}

/* Read the device's file into m->stored and its rings; a foreign or
 * corrupt file changes nothing. */
static void load_device(fronta__models *m, int dev)
{
    char path[600], line[sizeof m->dev[0].header + 2];
    FILE *f = m->dir[0] && path_of(m, dev, path, sizeof path, "") ? fopen(path, "r") : NULL;
    if (!f)
        return;
    stored *list = NULL;
    ring xr[2] = {{.count = 0}, {.count = 0}};
    arena a = {NULL, 0, 0};
    size_t hl = strlen(m->dev[dev].header);
    const char *why = "written for another device or driver";
    long body = -1;
    if (fgets(line, sizeof line, f) && !strncmp(line, m->dev[dev].header, hl) &&
        line[hl] == '\n' && (body = ftell(f)) >= 0)
        why = parse_lines(dev, f, &a, &list, xr); /* sizing */
    if (!why && a.used) {
        a.size = a.used;
        a.used = 0;
        xr[0].count = xr[1].count = 0;
        why = !(a.base = fronta__mem_alloc(m->alloc, a.size)) ? "out of memory"
              : fseek(f, body, SEEK_SET)                      ? "a seek error"
                                                              : parse_lines(dev, f, &a, &list, xr);
    }
    fclose(f);
    if (why) {
        fronta__log(m->log, FRONTA_LOG_INFO, "performance model file %s ignored: %s", path, why);
        if (a.base)
            fronta__mem_free(m->alloc, a.base, a.size);
        return;
    }
    m->dev[dev].arena = a.base;
    m->dev[dev].arena_size = a.size;
    for (unsigned i = 0; i < xr[0].count; i++)
        fronta__model_xring_push(&m->dev[dev].in, fronta__model_ring_at(&xr[0], i));
    for (unsigned i = 0; i < xr[1].count; i++)
        fronta__model_xring_push(&m->dev[dev].out, fronta__model_ring_at(&xr[1], i));
    while (list) {
        stored *n = list->next;
        list->next = m->stored;
        m->stored = list;
        list = n;
    }
}

void fronta__model_file_load(fronta__models *m)
{
    choose_dir(m);
    for (int i = 0; i < m->ndev; i++)
        load_device(m, i);
}

void fronta__model_file_save(fronta__models *m)
{
    if (m->dir[0] && !fronta__mkdirs(m->dir))
        for (int i = 0; i < m->ndev; i++)
            save_device(m, i);
}

void fronta__model_file_free(fronta__models *m)
{
    m->stored = NULL;
    for (int i = 0; i < m->ndev; i++)
        if (m->dev[i].arena)
            fronta__mem_free(m->alloc, m->dev[i].arena, m->dev[i].arena_size);
}
