/* OpenCL programs built once per (source, options, device) and cached: in
 * memory for the runtime, and on disk (program binaries) for the next
 * process, so a second run skips the compiler (PoCL: ~1.6 s cold, ~2 ms
 * from a binary here). */
#include "drivers/opencl/program.h"
#include "util/cachedir.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fronta.h"

/* The key: two independent 64-bit FNV-1a hashes over everything a binary
 * depends on (source, options, device, platform and driver versions); 128
 * bits make a collision between different inputs practically impossible. */
typedef struct key {
    uint64_t h[2];
} key;

typedef struct entry {
    struct entry *next;
    cl_context ctx;
    cl_device_id dev;
    key k;
    cl_program prog;
} entry;

struct fronta__clprog_cache {
    const fronta__allocator *alloc;
    pthread_mutex_t lock;            /* guards entries and stats */
    entry *entries;
    fronta__clprog_stats stats;
    char dir[512];                   /* "" when memory-only */
};

static void fnv(uint64_t *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 0x100000001b3ull;
    }
}

static void key_add(key *k, const char *s)
{
    size_t n = strlen(s) + 1; /* the terminator separates fields */
    fnv(&k->h[0], s, n);
    fnv(&k->h[1], s, n);
}

static void key_add_info(key *k, cl_device_id dev, cl_device_info what)
{
    char buf[256] = "";
    clGetDeviceInfo(dev, what, sizeof buf, buf, NULL);
    buf[sizeof buf - 1] = 0;
    key_add(k, buf);
}

static key make_key(cl_device_id dev, const char *source, const char *options)
{
    key k = {{0xcbf29ce484222325ull, 0x84222325cbf29ce4ull}};
    key_add(&k, source);
    key_add(&k, options);
    key_add_info(&k, dev, CL_DEVICE_NAME);
    key_add_info(&k, dev, CL_DEVICE_VERSION);
    key_add_info(&k, dev, CL_DRIVER_VERSION);
    cl_platform_id p = NULL;
    char pv[256] = "";
    if (clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof p, &p, NULL) == CL_SUCCESS)
        clGetPlatformInfo(p, CL_PLATFORM_VERSION, sizeof pv, pv, NULL);
    pv[sizeof pv - 1] = 0;
    key_add(&k, pv);
    return k;
}

/* ---- the cache directory ---- */

static void choose_dir(fronta__clprog_cache *c, const char *dir)
{
    int n = 0;
    if (dir)
        n = snprintf(c->dir, sizeof c->dir, "%s", dir) >= (int)sizeof c->dir ? -1 : 0;
    else
        n = fronta__cache_dir(c->dir, sizeof c->dir);
    if (n < 0 || fronta__mkdirs(c->dir) || access(c->dir, W_OK))
        c->dir[0] = 0;
}

int fronta__clprog_cache_create(const fronta__allocator *a, const char *dir,
                                fronta__clprog_cache **out)
{
    fronta__clprog_cache *c = fronta__mem_calloc(a, 1, sizeof *c);
    if (!c)
        return FRONTA_ENOMEM;
    c->alloc = a;
    pthread_mutex_init(&c->lock, NULL);
    choose_dir(c, dir);
    *out = c;
    return 0;
}

void fronta__clprog_cache_destroy(fronta__clprog_cache *c)
{
    if (!c)
        return;
    for (entry *e = c->entries; e;) {
        entry *n = e->next;
        clReleaseProgram(e->prog);
        fronta__mem_free(c->alloc, e, sizeof *e);
        e = n;
    }
    pthread_mutex_destroy(&c->lock);
    fronta__mem_free(c->alloc, c, sizeof *c);
}

const char *fronta__clprog_cache_dir(const fronta__clprog_cache *c)
{
    return c->dir;
}

void fronta__clprog_cache_stats(fronta__clprog_cache *c, fronta__clprog_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}

void fronta__clprog_log_free(fronta__clprog_cache *c, char *log)
{
    if (log)
        fronta__mem_free(c->alloc, log, strlen(log) + 1);
}

/* ---- disk: "FRONTACL1\n", the 16-byte key, then the binary ---- */

static const char magic[10] = "FRONTACL1\n";

static void file_name(const fronta__clprog_cache *c, const key *k, char *out, size_t size)
{
    snprintf(out, size, "%s/%016llx%016llx.clbin", c->dir, (unsigned long long)k->h[0],
             (unsigned long long)k->h[1]);
}

/* The binary stored for k, or NULL; *size set. A short, foreign or
 * truncated file is ignored (and later overwritten). */
static unsigned char *disk_load(fronta__clprog_cache *c, const key *k, size_t *size)
{
    if (!c->dir[0])
        return NULL;
    char path[600];
    file_name(c, k, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *bin = NULL;
    char m[sizeof magic];
    key fk;
    long end = -1;
    if (fread(m, 1, sizeof m, f) == sizeof m && !memcmp(m, magic, sizeof m) &&
        fread(&fk, sizeof fk, 1, f) == 1 && !memcmp(&fk, k, sizeof fk) &&
        !fseek(f, 0, SEEK_END) && (end = ftell(f)) > (long)(sizeof m + sizeof fk)) {
        *size = (size_t)end - sizeof m - sizeof fk;
        if ((bin = fronta__mem_alloc(c->alloc, *size)) &&
            (fseek(f, (long)(sizeof m + sizeof fk), SEEK_SET) || fread(bin, 1, *size, f) != *size)) {
            fronta__mem_free(c->alloc, bin, *size);
            bin = NULL;
        }
    }
    fclose(f);
    return bin;
}

/* Write through a temporary file and rename, so that a concurrent reader
 * (another process) sees the old file or the whole new one. */
static void disk_store(fronta__clprog_cache *c, const key *k, cl_program prog)
{
    size_t size = 0;
    if (!c->dir[0] ||
        clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) || !size)
        return;
    unsigned char *bin = fronta__mem_alloc(c->alloc, size);
    unsigned char *bins[1] = {bin};
    if (!bin || clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL)) {
        fronta__mem_free(c->alloc, bin, size);
        return;
    }
    char path[600], tmp[640];
    file_name(c, k, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(magic, 1, sizeof magic, f) == sizeof magic &&
             fwrite(k, sizeof *k, 1, f) == 1 && fwrite(bin, 1, size, f) == size;
    if (f)
        ok = !fclose(f) && ok;
    if (!ok || rename(tmp, path))
        unlink(tmp);
    fronta__mem_free(c->alloc, bin, size);
}

/* ---- building ---- */

static char *build_log(fronta__clprog_cache *c, cl_program prog, cl_device_id dev)
{
    size_t n = 0;
    clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    char *raw = fronta__mem_calloc(c->alloc, 1, n + 1);
    if (!raw)
        return NULL;
    if (n)
        clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, n, raw, NULL);
    size_t len = strlen(raw);
    if (len == n)
        return raw;
    /* Exactly strlen + 1 bytes, as fronta__clprog_log_free assumes. */
    char *log = fronta__mem_alloc(c->alloc, len + 1);
    if (log)
        memcpy(log, raw, len + 1);
    fronta__mem_free(c->alloc, raw, n + 1);
    return log;
}

static cl_program from_binary(cl_context ctx, cl_device_id dev, const unsigned char *bin,
                              size_t size, const char *options)
{
    cl_int st = CL_SUCCESS, err;
    cl_program p = clCreateProgramWithBinary(ctx, 1, &dev, &size, &bin, &st, &err);
    if (err != CL_SUCCESS || st != CL_SUCCESS)
        return NULL;
    if (clBuildProgram(p, 1, &dev, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

/* Build outside the lock: a compile can take seconds. Returns 0, or
 * FRONTA_EBUILD with *log set. */
static int build(fronta__clprog_cache *c, cl_context ctx, cl_device_id dev, const key *k,
                 const char *source, const char *options, cl_program *out, char **log,
                 int *from_disk)
{
    size_t size = 0;
    unsigned char *bin = disk_load(c, k, &size);
    *from_disk = 0;
    if (bin) {
        *out = from_binary(ctx, dev, bin, size, options);
        fronta__mem_free(c->alloc, bin, size);
        if (*out) {
            *from_disk = 1;
            return 0;
        }
    }
    cl_int err;
    cl_program p = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
    if (err != CL_SUCCESS)
        return err == CL_OUT_OF_HOST_MEMORY ? FRONTA_ENOMEM : FRONTA_EBUILD;
    if (clBuildProgram(p, 1, &dev, options, NULL, NULL) != CL_SUCCESS) {
        if (log)
            *log = build_log(c, p, dev);
        clReleaseProgram(p);
        return FRONTA_EBUILD;
    }
    disk_store(c, k, p);
    *out = p;
    return 0;
}

/* The cached program of (source, options, dev), else a new one cached. */
static int get(fronta__clprog_cache *c, cl_context ctx, cl_device_id dev, const char *source,
               const char *options, cl_program *out, char **log)
{
    key k = make_key(dev, source, options);
    pthread_mutex_lock(&c->lock);
    for (entry *e = c->entries; e; e = e->next)
        if (e->ctx == ctx && e->dev == dev && !memcmp(&e->k, &k, sizeof k)) {
            c->stats.memory_hits++;
            *out = e->prog;
            pthread_mutex_unlock(&c->lock);
            return 0;
        }
    pthread_mutex_unlock(&c->lock);

    entry *e = fronta__mem_calloc(c->alloc, 1, sizeof *e);
    if (!e)
        return FRONTA_ENOMEM;
    int from_disk;
    int rc = build(c, ctx, dev, &k, source, options, &e->prog, log, &from_disk);
    pthread_mutex_lock(&c->lock);
    if (rc) {
        c->stats.build_failures += rc == FRONTA_EBUILD;
        pthread_mutex_unlock(&c->lock);
        fronta__mem_free(c->alloc, e, sizeof *e);
        return rc;
    }
    *(from_disk ? &c->stats.disk_hits : &c->stats.builds) += 1;
    /* Another thread may have built the same program meanwhile: keep one. */
    for (entry *o = c->entries; o; o = o->next)
        if (o->ctx == ctx && o->dev == dev && !memcmp(&o->k, &k, sizeof k)) {
            *out = o->prog;
            pthread_mutex_unlock(&c->lock);
            clReleaseProgram(e->prog);
            fronta__mem_free(c->alloc, e, sizeof *e);
            return 0;
        }
    e->ctx = ctx;
    e->dev = dev;
    e->k = k;
    e->next = c->entries;
    c->entries = e;
    *out = e->prog;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Every build asks for kernel argument info, which launch.c checks each
 * kernel's signature with: OpenCL 1.2 guarantees it only for programs
 * built with -cl-kernel-arg-info. The option is part of the options the
 * key hashes, so a binary cached by a build without it (older versions of
 * this cache) is never taken for one that carries the info. */
static const char arg_info_option[] = "-cl-kernel-arg-info";

int fronta__clprog_get(fronta__clprog_cache *c, cl_context ctx, cl_device_id dev,
                       const char *source, const char *options, cl_program *out,
                       char **log)
{
    if (log)
        *log = NULL;
    if (!c || !ctx || !dev || !source || !out)
        return FRONTA_EINVAL;
    if (!options)
        options = "";
    size_t size = strlen(options) + 1 + sizeof arg_info_option;
    char *all = fronta__mem_alloc(c->alloc, size);
    if (!all)
        return FRONTA_ENOMEM;
    snprintf(all, size, "%s%s%s", options, *options ? " " : "", arg_info_option);
    int rc = get(c, ctx, dev, source, all, out, log);
    fronta__mem_free(c->alloc, all, size);
    return rc;
}
