/* Deferred host accesses: a place in a buffer's order of accesses that a
 * thread outside the pool takes up when its turn comes and ends later
 * (libfronta_mpi's sends and receives). Not public API: exported from
 * libfronta for fronta's companion libraries only, and free to change
 * with any release. */
#ifndef FRONTA_DATA_DEFERRED_H
#define FRONTA_DATA_DEFERRED_H

#include <stddef.h>

#include "fronta.h"

#define FRONTA_INTERNAL_API __attribute__((visibility("default")))

/* Called once when the access's turn comes: on the thread that completed
 * the last access it follows, or inside fronta__defer_submit when it
 * follows none. It must not block (it runs inside a completion). */
typedef void (*fronta__defer_ready_fn)(void *ud);

/* Take a place in b's order of accesses in mode, as fronta_buffer_acquire
 * does, without waiting: ready(ud) says when it may begin. *out is a
 * reference the caller releases (fronta_future_release) after
 * fronta__defer_end or a failed fronta__defer_begin. Any number of
 * deferred accesses of one buffer may be under way, as tasks may.
 * FRONTA_EINVAL, FRONTA_ENOMEM, FRONTA_ESHUTDOWN, FRONTA_EPARTITION. */
FRONTA_INTERNAL_API int fronta__defer_submit(fronta_buffer_t *b, fronta_access_t mode,
                                             fronta__defer_ready_fn ready, void *ud,
                                             fronta_future_t **out);
/* After ready: *host is b's host array, current for an IN mode (copied
 * back from a device if need be: this may wait for that copy). Fails,
 * and the access has then ended, with the error of the writer it follows
 * (that writer failed) or of the copy (msg says which). */
FRONTA_INTERNAL_API int fronta__defer_begin(fronta_buffer_t *b, fronta_future_t *h,
                                            fronta_access_t mode, void **host, char *msg,
                                            size_t msz);
/* End a begun access. code 0: for an OUT mode the host array is now the
 * only current copy. Else the access fails with code and msg: the tasks
 * that read after it fail with FRONTA_EDEPFAILED. */
FRONTA_INTERNAL_API void fronta__defer_end(fronta_buffer_t *b, fronta_future_t *h,
                                           fronta_access_t mode, int code, const char *msg);
/* fronta_submit's checks of a task, submitting nothing: 0 or the code
 * fronta_submit would return, with fronta_last_error. */
FRONTA_INTERNAL_API int fronta__submit_check(fronta_runtime_t *rt,
                                             const fronta_task_desc_t *task);
/* Set this thread's fronta_last_error() to msg; returns code. */
FRONTA_INTERNAL_API int fronta__set_last_error(int code, const char *msg);

/* A promise: a future that no task backs, RUNNING (so not cancellable:
 * FRONTA_EBUSY) until fronta__promise_settle, counted as one of rt's
 * tasks meanwhile (fronta_runtime_wait_all waits for it). id, unless 0,
 * is its task id, the one errors rooted in it name; key, unless 0, its
 * fronta_future_key (the stream key of the task it stands for). *out holds one
 * reference for the caller; the settle drops the other. FRONTA_EINVAL,
 * FRONTA_ENOMEM, FRONTA_ESHUTDOWN. */
FRONTA_INTERNAL_API int fronta__promise_new(fronta_runtime_t *rt, uint64_t id, uint64_t key,
                                            const char *name, fronta_future_t **out);
/* Complete a promise once, from any thread: code 0 finishes it with the
 * result res (size bytes, copied); FRONTA_ECANCELLED cancels it; another
 * code fails it, naming root (0: itself) with msg (copied). Its
 * successors and callbacks run in the caller's thread. FRONTA_EINVAL
 * (not a promise), FRONTA_EBUSY (settled already). */
FRONTA_INTERNAL_API int fronta__promise_settle(fronta_future_t *f, int code, uint64_t root,
                                               const char *msg, const void *res, size_t size);
/* The device that ran the task a promise stands for, as fronta_future_device
 * reports it (-1 until set; set it before the settle). FRONTA_EINVAL
 * when f is not a promise. */
FRONTA_INTERNAL_API int fronta__promise_set_device(fronta_future_t *f, int device);
/* 1 and *device when f is a promise; 0 when it is not. */
int fronta__promise_device(const fronta_future_t *f, int *device);

#endif
