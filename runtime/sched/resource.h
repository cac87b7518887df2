/* Counted resources: what workers declare (FRONTA_RESOURCES), what tasks
 * need, and admission: a task takes its amounts on the device that runs
 * it before it starts and gives them back when it ends; one that does not
 * fit waits here, off every worker, until a holder gives back. */
#ifndef FRONTA_SCHED_RESOURCE_H
#define FRONTA_SCHED_RESOURCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "fronta.h"
#include "drivers/driver.h"

/* Distinct resource names of a runtime, "mem" (index 0) included. */
#define FRONTA__MAX_RES 8
#define FRONTA__RES_MEM 0
#define FRONTA__RES_UNLIMITED UINT64_MAX

typedef struct fronta__rneed fronta__rneed;
/* Called, outside every lock, for a waiting need once it is admitted. */
typedef void (*fronta__admit_fn)(fronta__rneed *n);

/* A task's needs, resolved to indices; lives in the task. */
struct fronta__rneed {
    uint8_t n;
    uint8_t idx[FRONTA_MAX_RESOURCES + 1];  /* + the implicit mem of a kernel task */
    uint64_t amount[FRONTA_MAX_RESOURCES + 1];
    /* Where held or waited for; -1: neither. Atomic: a cancel reads it
     * without the lock to find the wait list (relaxed: the list's lock
     * orders the rest). */
    _Atomic int dev;
    int priority;                           /* waiters are admitted highest first */
    uint64_t wait_t0;                       /* when it started waiting (trace) */
    fronta__admit_fn admit;
    void *task;                             /* the fronta_future_t */
    fronta_fn_t fn;                         /* a plain task's own function */
    fronta__rneed *wnext;
};

typedef struct fronta__res {
    int n;                                  /* names in use */
    char name[FRONTA__MAX_RES][32];
    /* cap 0: not declared there; FRONTA__RES_UNLIMITED: no limit. */
    uint64_t cap[FRONTA__MAX_DEVICES][FRONTA__MAX_RES];
    /* FRONTA_DEVICE_MEM_LIMIT per device (0: none): what the device's
     * replicas may occupy, and a cap on mem. */
    uint64_t mem_limit[FRONTA__MAX_DEVICES];
    int mem_limited;                /* any device has one */
    /* Per device, guarding used and the wait list. */
    struct fronta__res_dev {
        pthread_mutex_t lock;
        uint64_t used[FRONTA__MAX_RES];
        fronta__rneed *waiting;             /* by priority, then arrival */
        uint64_t waits;                     /* needs that had to wait (stats) */
    } dev[FRONTA__MAX_DEVICES];
} fronta__res;

/* After the devices are built: the declarations of spec (may be NULL),
 * plus the built-in mem of each device. FRONTA_EENV (message logged) for
 * a spec that does not parse or names no device. No effect on failure. */
int fronta__res_init(fronta_runtime_t *rt, const char *spec, fronta__res **out);
void fronta__res_fini(fronta_runtime_t *rt, fronta__res *r);
/* FRONTA_DEVICE_MEM_LIMIT of device dev, in bytes; 0 when none. */
uint64_t fronta__res_mem_limit(const fronta__res *r, int dev);
/* Whether any device has a FRONTA_DEVICE_MEM_LIMIT (eviction exists). */
static inline int fronta__res_mem_limited(const fronta__res *r)
{
    return r && r->mem_limited;
}

/* Resolve a task's needs (n of them; n 0: up to the first NULL name).
 * FRONTA_ERESOURCE (msg names it) for a name nobody declares, EINVAL for
 * an amount of 0 or more than FRONTA_MAX_RESOURCES needs. */
int fronta__res_resolve(const fronta__res *r, const fronta_resource_t *need, size_t n,
                        fronta__rneed *out, char *msg, size_t msz);
/* Could dev ever admit n (its capacity covers every amount)? When not and
 * msg is given, says which need. */
int fronta__res_fits(const fronta__res *r, const fronta__rneed *n, int dev, char *msg,
                     size_t msz);
/* Take n's amounts on dev: 1 when taken, 0 when n now waits (n->admit is
 * called once it is taken). */
int fronta__res_acquire(fronta__res *r, fronta__rneed *n, int dev);
/* Give back what n holds (no effect when it holds nothing); admits the
 * waiters that now fit. */
void fronta__res_release(fronta__res *r, fronta__rneed *n);
/* Take n off its wait list (a cancel): 1 when it was waiting. */
int fronta__res_unwait(fronta__res *r, fronta__rneed *n);

#endif
