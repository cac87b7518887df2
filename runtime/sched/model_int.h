/* The performance models' private state, shared by the models in memory (model.c) and their files (model_file.c). */
#ifndef FRONTA_SCHED_MODEL_INT_H
#define FRONTA_SCHED_MODEL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "sched/model.h"

/* Short names: only model.c and model_file.c include this header. */
#define RING 16                   /* samples kept per model: the recent past */
#define NBUCKETS 64               /* floor(log2(n)) of a size_t */
#define HEADS 256                 /* hash chains of families */

/* The last RING samples, oldest first from v[(next + RING - count) % RING]. */
typedef struct ring {
    uint64_t v[RING];
    unsigned count, next;
} ring;

typedef struct bucket {
    ring ns;                      /* under the family's lock */
    uint64_t n[RING];             /* each sample's n, beside ns.v */
    unsigned seen;                /* samples ever (the spike seam) */
    /* Published for lock-free readers: median ns, mean n, confidence x 1e6,
     * count. A reader may see them from two updates: off by one sample. */
    atomic_uint_fast64_t est, nrep;
    atomic_uint conf_ppm, samples;
} bucket;

/* The buckets of one (kernel, variant, device). */
typedef struct family {
    struct family *next;          /* chain; set before publication, then fixed */
    int kindex, dev;
    uint64_t variant;
    char *name;                   /* the kernel's: the file names kernels by name */
    size_t name_size;
    pthread_mutex_t lock;         /* guards the rings and bucket creation */
    atomic_uint_fast64_t known;   /* bit b: bucket b has samples */
    atomic_uint_fast64_t probing; /* bit b: a probe of bucket b is in flight */
    _Atomic(bucket *) b[NBUCKETS];
} family;

/* Copy bandwidth of one direction in bytes per ms (under xlock), and
 * its median for lock-free readers (0: none). */
typedef struct xring {
    ring bpms;
    atomic_uint_fast64_t med;
} xring;

/* A model read from a file and not yet claimed by a kernel of this run. */
typedef struct stored {
    struct stored *next;
    int dev, adopted;
    unsigned bucket;
    uint64_t variant, nrep;
    ring ns;
    size_t size;
    char name[];
} stored;

typedef struct devmodel {
    char header[512];             /* the file's first line, without '\n' */
    uint64_t hash;
    unsigned cu;
    int pool, free_copy;          /* copies cost nothing: zero-copy on shared memory */
    atomic_int dirty;             /* learned something this run: write at close */
    xring in, out;                /* host -> device, device -> host; under xlock */
    /* What its file held: every stored entry of the device in one block
     * (one allocation, not one per line: a runtime's creation must not
     * cost an allocation per model ever saved). */
    char *arena;
    size_t arena_size;
    _Alignas(64) atomic_uint_fast64_t backlog;
} devmodel;

struct fronta__models {
    fronta_log_level_t log;       /* rt's, kept: the runtime is being torn down at close */
    void *raw;                    /* the allocation behind this aligned struct */
    fronta_runtime_t *rt;
    const fronta__allocator *alloc;
    int ndev;
    unsigned spike_percent, spike_factor; /* the test seam */
    uint64_t spike_devs;
    char dir[512];                /* "": no cache directory */
    pthread_mutex_t lock;         /* guards family insertion and `stored` */
    pthread_mutex_t xlock;        /* guards the transfer rings */
    _Atomic(family *) heads[HEADS];
    stored *stored;
    devmodel dev[FRONTA__MAX_DEVICES];
};

/* Inline: fronta__model_ring_push is on the path of every task that learns. */
static inline unsigned fronta__model_ring_push(ring *r, uint64_t x)
{
    unsigned at = r->next;
    r->v[at] = x;
    r->next = (at + 1) % RING;
    if (r->count < RING)
        r->count++;
    return at;
}

static inline uint64_t fronta__model_ring_at(const ring *r, unsigned i)
{
    return r->v[(r->next + RING - r->count + i) % RING];
}

/* model.c; model_file.c seeds the copy rings with it at open. */
void fronta__model_xring_push(xring *r, uint64_t bpms);

/* model_file.c. The device's first line and the hash that names its
 * file, from the fields that identify it: a file learned on another
 * device or driver is never read. */
void fronta__model_file_key(devmodel *d, const fronta_device_info_t *in);
/* After the devices' keys: choose the cache directory, read each
 * device's file into m->stored and the copy rings. */
void fronta__model_file_load(fronta__models *m);
/* At close, before the families are freed: write the devices that
 * learned something this run. */
void fronta__model_file_save(fronta__models *m);
/* Free m->stored, adopted or not. */
void fronta__model_file_free(fronta__models *m);

#endif
