/* The device list: device 0 the CPU pool, then each driver's devices. */
#include "core/kernel.h"

#include <string.h>
#include <strings.h>

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return 0;
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return 0;
}

/* Words that name kinds of device, never pieces of a device name: "cpu"
 * must mean the pool even where an OpenCL device is called "... CPU". */
static int reserved(const char *token)
{
    static const char *const words[] = {"all", "cpu", "cpu_pool", "opencl"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!strcasecmp(token, words[i]))
            return 1;
    return strchr(token, ':') != NULL;
}

int fronta__token_selects(const char *token, const char *kind, const char *type,
                          const char *name, const char *platform)
{
    if (!strcasecmp(token, "all") || !strcasecmp(token, kind))
        return 1;
    size_t k = strlen(kind);
    if (!strncasecmp(token, kind, k) && token[k] == ':')
        return !strcasecmp(token + k + 1, type);
    if (reserved(token))
        return 0;
    /* Anything else names devices: a piece of the device or platform name. */
    return contains_nocase(name, token) || contains_nocase(platform, token);
}

const char *fronta_device_type_name(fronta_device_type_t type)
{
    switch (type) {
    case FRONTA_DEVTYPE_CPU:
        return "cpu";
    case FRONTA_DEVTYPE_GPU:
        return "gpu";
    case FRONTA_DEVTYPE_ACCELERATOR:
        return "accelerator";
    default:
        return "other";
    }
}

/* After the drivers started: one entry per device, ids in registry order. */
int fronta__devices_build(fronta_runtime_t *rt)
{
    rt->ndevices = 0;
    for (int i = 0; i < rt->drivers_started; i++) {
        const fronta__driver *d = fronta__drivers[i];
        int n = d->ndevices(rt, rt->driver_data[i]);
        for (int j = 0; j < n; j++) {
            if (rt->ndevices == FRONTA__MAX_DEVICES) {
                FRONTA__LOG(rt, FRONTA_LOG_WARN, "more than %d devices: the rest are unused",
                            FRONTA__MAX_DEVICES);
                return 0;
            }
            fronta_device_info_t info;
            memset(&info, 0, sizeof info);
            d->device_info(rt, rt->driver_data[i], j, &info);
            fronta__device *dev = &rt->devices[rt->ndevices++];
            dev->drv = d;
            dev->data = rt->driver_data[i];
            dev->local = j;
            dev->type = info.type;
            dev->kind = info.kind;
        }
    }
    return 0;
}

const fronta__device *fronta__device_get(const fronta_runtime_t *rt, int id)
{
    return id >= 0 && id < rt->ndevices ? &rt->devices[id] : NULL;
}

int fronta_device_count(const fronta_runtime_t *rt)
{
    return rt ? rt->ndevices : FRONTA_EINVAL;
}

int fronta_device_info(const fronta_runtime_t *rt, int id, fronta_device_info_t *out)
{
    if (!rt || !out)
        return FRONTA_EINVAL;
    const fronta__device *dev = fronta__device_get(rt, id);
    if (!dev)
        return FRONTA_EINVAL;
    size_t size = out->size ? out->size : sizeof(fronta_device_info_t);
    if (size < sizeof(size_t))
        return FRONTA_EINVAL;
    fronta_device_info_t info;
    memset(&info, 0, sizeof info);
    dev->drv->device_info(rt, dev->data, dev->local, &info);
    info.id = id;
    info.size = size;
    /* Copy only what the caller's (possibly older) struct holds. */
    memcpy(out, &info, size < sizeof info ? size : sizeof info);
    return 0;
}

int fronta_device_stats(fronta_runtime_t *rt, int id, fronta_device_stats_t *out)
{
    if (!rt || !out)
        return FRONTA_EINVAL;
    const fronta__device *dev = fronta__device_get(rt, id);
    size_t size = out->size ? out->size : sizeof(fronta_device_stats_t);
    if (!dev || size < sizeof(size_t))
        return FRONTA_EINVAL;
    fronta_device_stats_t s;
    memset(&s, 0, sizeof s);
    if (id == 0)
        s.tasks_run = atomic_load_explicit(&rt->pool_kernels_run, memory_order_relaxed);
    if (dev->drv->stats)
        dev->drv->stats(dev->data, dev->local, &s);
    s.size = size;
    memcpy(out, &s, size < sizeof s ? size : sizeof s);
    return 0;
}
