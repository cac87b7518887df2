/* Coherence: a replica per memory node, each valid or not; data moves
 * lazily, when a task or the host is about to use it, always through the
 * host copy (node 0). Called with the buffer's lock held. */
#include "core/kernel.h"

#include <stdio.h>

#define BIT(n) (1ull << (n))

int fronta__coh_alloc(fronta_buffer_t *b, int node, char *msg, size_t msz)
{
    if (node == 0 || b->rep[node])
        return 0;
    const fronta__device *dev = fronta__device_get(b->rt, node);
    if (!dev || !dev->drv->mem_alloc) {
        snprintf(msg, msz, "device %d has no memory of its own", node);
        return FRONTA_ENODEV;
    }
    int rc = dev->drv->mem_alloc(dev->data, dev->local, b, &b->rep[node], msg, msz);
    if (rc < 0)
        return rc;
    if (rc == 1 && (b->valid & 1)) /* made over a current host array */
        b->valid |= 1ull << node;
    return 0;
}

/* The host copy from a device that has the contents. */
static int fetch_host(fronta_buffer_t *b, char *msg, size_t msz)
{
    for (int n = 1; n < FRONTA__MAX_DEVICES; n++) {
        if (!(b->valid & BIT(n)))
            continue;
        const fronta__device *dev = fronta__device_get(b->rt, n);
        if (!dev) {
            snprintf(msg, msz, "device %d is gone", n);
            return FRONTA_ENODEV;
        }
        int rc = dev->drv->copy_to_host(dev->data, dev->local, b, b->rep[n], msg, msz);
        if (rc)
            return rc;
        b->valid |= 1;
        return 0;
    }
    snprintf(msg, msz, "no valid copy of the buffer"); /* an invariant broken */
    return FRONTA_EDEVICE;
}

int fronta__coh_fetch(fronta_buffer_t *b, int node, char *msg, size_t msz)
{
    if (b->valid & BIT(node))
        return 0;
    if (node == 0)
        return fetch_host(b, msg, msz);
    int rc;
    if (!(b->valid & 1) && (rc = fetch_host(b, msg, msz)))
        return rc;
    if ((rc = fronta__coh_alloc(b, node, msg, msz)))
        return rc;
    const fronta__device *dev = fronta__device_get(b->rt, node);
    if ((rc = dev->drv->copy_from_host(dev->data, dev->local, b, b->rep[node], msg, msz)))
        return rc;
    b->valid |= BIT(node);
    return 0;
}

void fronta__coh_written(fronta_buffer_t *b, int node)
{
    b->valid = BIT(node);
    b->version++;
}

void fronta__coh_drop(fronta_buffer_t *b, int node)
{
    const fronta__device *dev = fronta__device_get(b->rt, node);
    if (dev && dev->drv->mem_free)
        dev->drv->mem_free(dev->data, dev->local, b, b->rep[node]);
    b->rep[node] = NULL;
    b->valid &= ~BIT(node);
}

void fronta__coh_drop_all(fronta_buffer_t *b)
{
    for (int n = 1; n < FRONTA__MAX_DEVICES; n++)
        if (b->rep[n])
            fronta__coh_drop(b, n);
}
