/* The driver interface: what core reaches a backend through. A backend is
 * one folder plus one line in drivers/registry.c. */
#ifndef FRONTA_DRIVERS_DRIVER_H
#define FRONTA_DRIVERS_DRIVER_H

#include "fronta.h"

typedef struct fronta__driver {
    const char *name;
    const char *description;
    /* Non-zero when a FRONTA_DEVICES token (e.g. "cpu") selects this driver. */
    int (*selects)(const char *token);
    /* Start the driver's workers for rt; no effect on failure. */
    int (*start)(fronta_runtime_t *rt);
    /* Stop and join the workers; every task has completed before this. */
    void (*stop)(fronta_runtime_t *rt);
} fronta__driver;

/* NULL-terminated; the CPU pool first: it runs every plain C function. */
extern const fronta__driver *const fronta__drivers[];
extern const fronta__driver fronta__driver_cpu;

#endif
