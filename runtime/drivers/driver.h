/* The driver interface: what core reaches a backend through. A backend is
 * one folder plus one line in drivers/registry.c. */
#ifndef FRONTA_DRIVERS_DRIVER_H
#define FRONTA_DRIVERS_DRIVER_H

#include "fronta.h"

typedef struct fronta__worker fronta__worker;

/* FRONTA_DEVICES, split into tokens; each driver marks the tokens that
 * selected one of its devices, and a token nobody marks fails create. */
#define FRONTA__MAX_TOKENS 16
typedef struct fronta__devsel {
    int ntok;
    char tok[FRONTA__MAX_TOKENS][64];
    unsigned char matched[FRONTA__MAX_TOKENS];
} fronta__devsel;

typedef struct fronta__driver {
    const char *name;
    const char *description;
    /* Start the driver's devices that sel selects, marking the tokens that
     * matched; *data is the driver's state for this runtime. No effect on
     * failure. */
    int (*start)(fronta_runtime_t *rt, fronta__devsel *sel, void **data);
    /* The runtime is complete (scheduler chosen): its devices may take
     * tasks. NULL: nothing to do. */
    void (*ready)(fronta_runtime_t *rt, void *data);
    /* Stop and release; every task has completed before this. */
    void (*stop)(fronta_runtime_t *rt, void *data);
    /* The devices it started, described with ids from first_id on. */
    int (*ndevices)(const fronta_runtime_t *rt, const void *data);
    void (*device_info)(const fronta_runtime_t *rt, const void *data, int i,
                        fronta_device_info_t *out);

    /* ---- kernels: NULL for a driver that runs none ---- */
    /* Can device i run some implementation of k? */
    int (*can_run)(const void *data, int i, const fronta_kernel_t *k);
    /* Take a ready kernel task placed on device i (any thread). */
    void (*submit)(void *data, int i, fronta_future_t *t);
    /* Add the device's counters to *out. */
    void (*stats)(const void *data, int i, fronta_device_stats_t *out);
    /* Fill the device's worker counters (tasks_run, busy_ns: device time
     * of its kernels, bytes_in/out, host_wakeups); core adds
     * resource_waits. NULL: zeros. */
    void (*worker_stats)(const void *data, int i, fronta_worker_stats_t *out);

    /* ---- the pool: NULL for a driver that runs no plain tasks ----
     * Core and the scheduler reach the pool's threads only through these. */
    /* A task was queued for the pool: wake a sleeping worker if one must
     * be. after_plain_store: the queue's push ended with a relaxed store. */
    void (*notify)(void *data, int after_plain_store);
    /* On pool worker w, waiting for something: run one ready task (it may
     * be the one waited for); 1 when it ran one. Waiting this way keeps a
     * pool whose every thread waits from deadlocking. */
    int (*help)(void *data, fronta__worker *w);
    /* The wait is over: make what w kept for itself meanwhile stealable. */
    void (*help_done)(void *data, fronta__worker *w);

    /* ---- memory: NULL for a driver whose devices use host memory ---- */
    /* Give device i a replica of b (*rep). No effect on failure. Returns
     * 1 when the new replica already holds the host array's contents
     * (it is the host array: zero-copy). The three calls that can fail
     * describe the failure in msg. */
    int (*mem_alloc)(void *data, int i, fronta_buffer_t *b, void **rep, char *msg,
                     size_t msz);
    void (*mem_free)(void *data, int i, fronta_buffer_t *b, void *rep);
    /* Make the host array hold rep's contents; returns when it does. */
    int (*copy_to_host)(void *data, int i, fronta_buffer_t *b, void *rep, char *msg,
                        size_t msz);
    /* Make rep hold the host array's contents, ordered before any command
     * later enqueued on device i; may return before the copy is done. */
    int (*copy_from_host)(void *data, int i, fronta_buffer_t *b, void *rep, char *msg,
                          size_t msz);
    /* Return once every command enqueued on device i so far -- fronta's,
     * and the user's through interop -- has finished. NULL: nothing is
     * ever left running (the device has no queue of its own). */
    int (*sync)(void *data, int i, char *msg, size_t msz);
} fronta__driver;

/* A device of the runtime, as core sees it: id == its memory node (the
 * pool is device 0 and uses node 0, host memory). */
#define FRONTA__MAX_DEVICES 64
typedef struct fronta__device {
    const fronta__driver *drv;
    void *data;                    /* the driver's state */
    int local;                     /* index among the driver's devices */
    fronta_device_type_t type;
    fronta_device_kind_t kind;
} fronta__device;

/* NULL-terminated; the CPU pool first: it runs every plain C function. */
#define FRONTA__MAX_DRIVERS 4
extern const fronta__driver *const fronta__drivers[];
extern const fronta__driver fronta__driver_cpu;
extern const fronta__driver fronta__driver_opencl;

/* Does token select a device with these names? Shared matching rules:
 * "all"; a kind ("cpu", "opencl"); "opencl:<type>"; else a case-blind
 * substring of the device or platform name. */
int fronta__token_selects(const char *token, const char *kind, const char *type,
                          const char *name, const char *platform);

#endif
