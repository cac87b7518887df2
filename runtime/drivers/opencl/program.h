/* OpenCL programs built once per (source, options, device) and cached: in
 * memory for the runtime, and on disk for the next process. */
#ifndef FRONTA_DRIVERS_OPENCL_PROGRAM_H
#define FRONTA_DRIVERS_OPENCL_PROGRAM_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdint.h>

#include "util/alloc.h"

typedef struct fronta__clprog_cache fronta__clprog_cache;

typedef struct fronta__clprog_stats {
    uint64_t memory_hits, disk_hits, builds, build_failures;
} fronta__clprog_stats;

/* dir: the disk cache; NULL takes FRONTA_CACHE_DIR, else
 * $XDG_CACHE_HOME/fronta, else ~/.cache/fronta. A directory that cannot be
 * created leaves a memory-only cache (logged at info). */
int fronta__clprog_cache_create(const fronta__allocator *a, const char *dir,
                                fronta__clprog_cache **out);
/* Releases every program it built. */
void fronta__clprog_cache_destroy(fronta__clprog_cache *c);

/* A program built for dev in ctx, borrowed from the cache (valid until the
 * cache is destroyed). Every build adds -cl-kernel-arg-info to options, so
 * that kernels have argument info where the driver keeps it. On a build
 * failure: FRONTA_EBUILD, and *log (if not NULL) receives the build log,
 * allocated with the cache's allocator (free it with
 * fronta__clprog_log_free); nothing is cached. */
int fronta__clprog_get(fronta__clprog_cache *c, cl_context ctx, cl_device_id dev,
                       const char *source, const char *options, cl_program *out,
                       char **log);
void fronta__clprog_log_free(fronta__clprog_cache *c, char *log);
void fronta__clprog_cache_stats(fronta__clprog_cache *c, fronta__clprog_stats *out);
/* The directory in use, or "" when memory-only. */
const char *fronta__clprog_cache_dir(const fronta__clprog_cache *c);

#endif
