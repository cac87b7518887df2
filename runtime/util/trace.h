/* Tracing (FRONTA_TRACE): Chrome trace-event JSON that opens in Perfetto
 * and chrome://tracing. Events go to a buffer of the thread that records
 * them (no lock, no shared cache line on the way); the file is written at
 * destroy or fronta_runtime_trace_flush. rt->trace is NULL when tracing is
 * off, and every call site tests it first: off costs one branch. */
#ifndef FRONTA_UTIL_TRACE_H
#define FRONTA_UTIL_TRACE_H

#include <stdint.h>

#include "fronta.h"

typedef struct fronta__trace fronta__trace;

/* Tracks: one per pool thread, per device, per transfer direction of a
 * device, and one for what threads outside the pool do (submits). A
 * device's host thread has a track of its own beside the device's: its
 * enqueue spans overlap the device-time spans of the kernels before, and
 * spans on one track must nest. */
enum {
    FRONTA__TRACK_POOL = 0,       /* + pool thread index */
    FRONTA__TRACK_DEVICE = 1 << 12, /* + device id: device-side kernel time */
    FRONTA__TRACK_H2D = 2 << 12,  /* + device id: host -> device copies */
    FRONTA__TRACK_D2H = 3 << 12,  /* + device id: device -> host copies */
    FRONTA__TRACK_HOST = 4 << 12, /* threads outside the pool */
    FRONTA__TRACK_DEVQ = 5 << 12  /* + device id: its host thread (enqueue) */
};

/* What an event is. */
typedef enum fronta__trace_kind {
    FRONTA__TR_SUBMIT,            /* instant: the task was submitted */
    FRONTA__TR_READY,             /* instant: its inputs are done */
    FRONTA__TR_RUN,               /* span: it ran (pool: the function; device:
                                     device-side start and end) */
    FRONTA__TR_ENQUEUE,           /* span: a device thread prepared and enqueued it */
    FRONTA__TR_TRANSFER,          /* span: bytes copied (H2D or D2H track) */
    FRONTA__TR_RESWAIT            /* span: it waited for a resource */
} fronta__trace_kind;

/* At create, when settings name a file: opens (and truncates) it, so a
 * path that cannot be written fails create (FRONTA_EENV, message logged).
 * No effect on failure. */
int fronta__trace_open(fronta_runtime_t *rt, const char *path, fronta__trace **out);
/* At destroy, after every thread of the runtime has stopped: writes the
 * file and frees everything (NULL is fine). */
void fronta__trace_close(fronta__trace *tr);
/* Write every event recorded so far (the file is rewritten whole); may
 * run while other threads record (what they add meanwhile may or may not
 * be in). FRONTA_ESYS when writing fails. */
int fronta__trace_flush(fronta__trace *tr);
/* Record an event from any thread. name is not copied (a kernel's name, a
 * task's: they outlive the runtime's trace); t1 = t0 for an instant;
 * bytes only for transfers. Times: fronta__now_ns(). */
void fronta__trace_event(fronta__trace *tr, fronta__trace_kind kind, int track,
                         const char *name, uint64_t task_id, uint64_t t0, uint64_t t1,
                         uint64_t bytes);
/* Events lost because a buffer could not be allocated (they are counted,
 * never waited for). */
uint64_t fronta__trace_dropped(const fronta__trace *tr);

#endif
