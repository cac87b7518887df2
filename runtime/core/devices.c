/* The device list: device 0 the CPU pool, then each driver's devices. */
#include "core/internal.h"

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

int fronta_device_count(const fronta_runtime_t *rt)
{
    if (!rt)
        return FRONTA_EINVAL;
    int n = 0;
    for (int i = 0; i < rt->drivers_started; i++)
        n += fronta__drivers[i]->ndevices(rt, rt->driver_data[i]);
    return n;
}

int fronta_device_info(const fronta_runtime_t *rt, int id, fronta_device_info_t *out)
{
    if (!rt || !out || id < 0)
        return FRONTA_EINVAL;
    fronta_device_info_t info;
    memset(&info, 0, sizeof info);
    int base = 0;
    for (int i = 0; i < rt->drivers_started; i++) {
        const fronta__driver *d = fronta__drivers[i];
        int n = d->ndevices(rt, rt->driver_data[i]);
        if (id < base + n) {
            d->device_info(rt, rt->driver_data[i], id - base, &info);
            info.id = id;
            /* Copy only what the caller's (possibly older) struct holds. */
            size_t size = out->size ? out->size : sizeof info;
            if (size < sizeof(size_t))
                return FRONTA_EINVAL;
            info.size = size;
            memcpy(out, &info, size < sizeof info ? size : sizeof info);
            return 0;
        }
        base += n;
    }
    return FRONTA_EINVAL;
}
