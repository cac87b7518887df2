/* machine.c — what fronta-bench runs on: CPUs, CPU model, and the devices --list shows. */
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char *const dev_names[BENCH_DEV_COUNT] = {
    [BENCH_DEV_CPU] = "cpu",
    [BENCH_DEV_OPENCL] = "opencl",
    [BENCH_DEV_GPU] = "gpu",
    [BENCH_DEV_ALL] = "all",
};

const char *bench_dev_name(bench_dev_t dev)
{
    return dev < BENCH_DEV_COUNT ? dev_names[dev] : "?";
}

/* "model name : AMD EPYC" from /proc/cpuinfo; "unknown" where there is
 * none (some ARM kernels name no model). */
static void probe_cpu_model(char *out, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];

    snprintf(out, size, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon)
            continue;
        colon += 1 + strspn(colon + 1, " \t");
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(out, size, "%s", colon);
        break;
    }
    fclose(f);
}

static bench_device_t *device_add(bench_machine_t *m)
{
    bench_device_t *d;

    if (m->ndevices >= BENCH_MAX_DEVICES)
        return NULL;
    d = &m->devices[m->ndevices++];
    memset(d, 0, sizeof *d);
    return d;
}

/* The runtime's own device list (fronta_device_info): the pool first,
 * then the OpenCL devices FRONTA_DEVICES selects. */
void bench_machine_probe(const bench_env_t *env, bench_machine_t *m)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    memset(m, 0, sizeof *m);
    m->cpus = n > 0 ? (int)n : 1;
    probe_cpu_model(m->cpu_model, sizeof m->cpu_model);
    for (int i = 0; i < fronta_device_count(env->rt); i++) {
        fronta_device_info_t info = {.size = sizeof info};
        bench_device_t *d;

        if (fronta_device_info(env->rt, i, &info) != 0 || !(d = device_add(m)))
            break;
        snprintf(d->name, sizeof d->name, "%s", info.name);
        if (info.kind == FRONTA_DEVICE_CPU_POOL) {
            d->kind = "cpu_pool";
            d->threads = (int)info.compute_units;
        } else {
            d->kind = "opencl";
            snprintf(d->type, sizeof d->type, "%s", fronta_device_type_name(info.type));
            snprintf(d->platform, sizeof d->platform, "%s", info.platform);
            d->global_mem = info.global_mem;
        }
    }
}

/* --device opencl takes every OpenCL device; --device gpu those of type
 * gpu; a row on "all" needs the pool and an OpenCL device. */
static int device_serves(const bench_device_t *d, bench_dev_t dev)
{
    switch (dev) {
    case BENCH_DEV_CPU:
        return strcmp(d->kind, "cpu_pool") == 0;
    case BENCH_DEV_OPENCL:
        return strcmp(d->kind, "opencl") == 0;
    case BENCH_DEV_GPU:
        return strcmp(d->kind, "opencl") == 0 && strcmp(d->type, "gpu") == 0;
    default:
        return 0;
    }
}

int bench_machine_has(const bench_machine_t *m, bench_dev_t dev)
{
    if (dev == BENCH_DEV_ALL)
        return bench_machine_has(m, BENCH_DEV_CPU) && bench_machine_has(m, BENCH_DEV_OPENCL);
    for (int i = 0; i < m->ndevices; i++)
        if (device_serves(&m->devices[i], dev))
            return 1;
    return 0;
}

/* One line per device: id, kind, name, then what matters for the kind. */
void bench_machine_list(const bench_machine_t *m, FILE *out)
{
    for (int i = 0; i < m->ndevices; i++) {
        const bench_device_t *d = &m->devices[i];

        fprintf(out, "%d  %-8s  %s", i, d->kind, d->name);
        if (d->threads)
            fprintf(out, "  threads=%d", d->threads);
        if (d->type[0])
            fprintf(out, "  type=%s", d->type);
        if (d->platform[0])
            fprintf(out, "  platform=\"%s\"", d->platform);
        if (d->global_mem)
            fprintf(out, "  global_mem=%llu", (unsigned long long)d->global_mem);
        fputc('\n', out);
    }
}
