/* Performance models: per (kernel, dtype variant, device, size bucket) the
 * time a kernel task takes, learned online from the tasks that run; per
 * memory-node pair the bandwidth of copies; per device the backlog of
 * estimated work placed there and not yet done. Persisted in the cache
 * directory, one file per device keyed by its name and driver version.
 *
 * A model: the kernel (by index in memory, by name on disk), the variant
 * (each argument's element type, 3 bits), the device, the bucket
 * floor(log2(n)). It keeps its last 16 samples; the estimate is their
 * lower median, so a minority of spikes never moves it. Confidence is
 * n/(n+2) * (1 - min(1, MAD/median)), MAD the upper median of the
 * deviations from the median: 0 without samples. A bucket without samples
 * is interpolated (linearly in n) between the nearest buckets that have
 * some, or scaled by n from the nearest one, at the confidence of those
 * halved per bucket of distance; a (kernel, variant, device) with none at
 * all has a prior: 2 us + 1 ns per element on the pool (one thread),
 * 20 us + 1 ns per element / compute units on a device. Copies: the median
 * of the last 16 bandwidths per direction between the host and a device;
 * before any, free to shared memory (zero-copy), else 8 GB/s + 10 us.
 * Every call is thread-safe; estimates read without a lock. */
#ifndef FRONTA_SCHED_MODEL_H
#define FRONTA_SCHED_MODEL_H

#include "core/kernel.h"

typedef struct fronta__models fronta__models;

/* After the devices are known: load what earlier runs learned. No
 * effect on failure (ENOMEM); an unreadable cache only starts cold. */
int fronta__models_open(fronta_runtime_t *rt, fronta__models **out);
/* At destroy, after every task: persist, then free. */
void fronta__models_close(fronta__models *m);

/* Estimated ns for kt on dev (its execution only), with the confidence
 * in [0, 1] in *conf: 0 for a prior, towards 1 with samples that agree. */
uint64_t fronta__models_exec(fronta__models *m, const fronta__ktask *kt, int dev,
                             double *conf);
/* Estimated ns to bring kt's inputs (kb's buffers read, locked by the
 * caller) to dev's memory node: nothing for a buffer valid there or whose
 * pending writer is placed there; from the host where it is valid there,
 * else from the device that has (or will have) it, through the host. */
uint64_t fronta__models_xfer(fronta__models *m, const fronta__ktask *kt,
                             const fronta__kbufs *kb, int dev);
/* Estimated ns of work placed on dev and not done. */
uint64_t fronta__models_backlog(fronta__models *m, int dev);

/* kt was placed on dev with estimate est ns (kept in kt->est_ns): it
 * joins dev's backlog. */
void fronta__models_placed(fronta__models *m, fronta__ktask *kt, int dev, uint64_t est);
/* kt ran on dev in ns (ok: it succeeded; a failure teaches nothing but
 * leaves the backlog): the model learns, the estimate leaves the backlog. */
void fronta__models_ran(fronta__models *m, fronta__ktask *kt, int dev, uint64_t ns, int ok);
/* kt left dev without a measurement. ran or left once per placed; both
 * end a probe of kt's bucket on dev. */
void fronta__models_left(fronta__models *m, fronta__ktask *kt, int dev);
/* A copy of bytes from node src to dst took ns (one of them the host). */
void fronta__models_transfer(fronta__models *m, int src, int dst, uint64_t bytes,
                             uint64_t ns);

/* What the model knows of kt on dev: the execution estimate and where it
 * comes from, for a policy and its debug line. */
typedef enum fronta__est_source {
    FRONTA__EST_PRIOR,                /* nothing known for (kernel, variant, dev) */
    FRONTA__EST_INTERP,               /* from other size buckets, scaled by n */
    FRONTA__EST_SAMPLES               /* the median of kt's bucket */
} fronta__est_source;
typedef struct fronta__estimate {
    uint64_t ns;
    double conf;                      /* as fronta__models_exec's */
    unsigned samples;                 /* in kt's bucket on dev (at most 16) */
    int probing;                      /* a probe of that bucket is in flight on dev */
    fronta__est_source source;
} fronta__estimate;
void fronta__models_estimate(fronta__models *m, const fronta__ktask *kt, int dev,
                             fronta__estimate *out);
const char *fronta__models_source_name(fronta__est_source s);
/* Make kt the probe of its bucket on dev: 1 when the bucket has no sample
 * there and no other probe is in flight (then until a sample arrives or
 * the task leaves dev, no other task is a probe). */
int fronta__models_probe_claim(fronta__models *m, const fronta__ktask *kt, int dev);

/* ---- test seams ---- */
/* As fronta__models_open with these device descriptions (ids 0 ..
 * ndev - 1) instead of rt's devices; devs NULL: rt's. */
int fronta__models_open_with(fronta_runtime_t *rt, const fronta_device_info_t *devs, int ndev,
                             fronta__models **out);
/* Inflate `percent` of the measured durations `factor` times inside
 * fronta__models_ran, spread evenly over each bucket's samples (10: the
 * 10th, 20th, ... sample), on the devices of mask `devs` (bit id; 0:
 * all); percent 0 turns it off. */
void fronta__models_fault_spikes(fronta__models *m, unsigned percent, unsigned factor,
                                 uint64_t devs);

#endif
