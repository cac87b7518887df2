/* stream.h — the stream bench: an array larger than a device's memory limit streamed through it in chunks. */
#ifndef FRONTA_BENCH_STREAM_H
#define FRONTA_BENCH_STREAM_H

#include "bench.h"

extern const bench_case_t stream_out_of_core;

/* n: floats of the array. "fronta": the device limited to an eighth of
 * the array (FRONTA_DEVICE_MEM_LIMIT); "fronta_opencl": the same program
 * on the same device, no limit (the ratio's reference). */
bench_status_t stream_out_of_core_fronta(const bench_env_t *env, size_t n, double *value);
bench_status_t stream_out_of_core_fronta_opencl(const bench_env_t *env, size_t n, double *value);
/* Prints each row's memory figures and destroys the rows' runtimes. */
void stream_out_of_core_fini(void);

#endif /* FRONTA_BENCH_STREAM_H */
