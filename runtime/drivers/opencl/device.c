/* An OpenCL device's host side: a device thread that enqueues, and a
 * waiter that learns of completions.
 *
 * Completion is detected by a dedicated waiter blocking in clWaitForEvents
 * on the newest kernel it was handed (or on the write-back enqueued behind
 * it, writeback.c), not by event callbacks (not
 * reliable on every driver) nor by polling (a core burnt, or latency).
 * The queue is in order, so when that kernel is complete every kernel
 * before it is too: the waiter wakes once per batch, not once per kernel.
 * The device thread hands the waiter its newest kernel only when it runs
 * out of work (or every HAND_NS while busy), so a chain submitted back to
 * back is enqueued whole before anyone waits: no host wake-up inside it.
 *
 * Timing: the queue profiles its commands; each completed kernel's device
 * time (START of its first pass to END of its last) teaches the model and
 * goes to the trace, converted to host time (see ocl_dev.clk_off). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "drivers/opencl/fault.h"
#include "drivers/opencl/opencl.h"
#include "sched/sched.h"

#define HAND_NS 200000u

/* Append kt to a queue of the device (the caller holds its lock). */
static void queue_push(fronta__ktask **head, fronta__ktask **tail, fronta__ktask *kt)
{
    kt->qnext = NULL;
    if (*tail)
        (*tail)->qnext = kt;
    else
        *head = kt;
    *tail = kt;
}

/* ---- device time ---- */

int fronta__cl_devid(ocl_dev *d)
{
    int id = atomic_load_explicit(&d->devid, memory_order_relaxed);
    if (id)
        return id;
    const fronta_runtime_t *rt = d->st->rt;
    for (int i = 1; i < rt->ndevices && !id; i++)
        if (rt->devices[i].data == d->st && &d->st->dev[rt->devices[i].local] == d)
            id = i;
    if (!id) /* the table is not built yet (or is gone): the registry's order */
        return (int)(d - d->st->dev) + 1;
    atomic_store_explicit(&d->devid, id, memory_order_relaxed);
    return id;
}

static int prof(cl_event ev, cl_profiling_info what, cl_ulong *out)
{
    *out = 0;
    return ev && clGetEventProfilingInfo(ev, what, sizeof *out, out, NULL) == CL_SUCCESS &&
           *out != 0;
}

static uint64_t to_host(const ocl_dev *d, cl_ulong dev_ns)
{
    int_fast64_t off = atomic_load_explicit(&d->clk_off, memory_order_relaxed);
    return (uint64_t)((int_fast64_t)dev_ns + off);
}

/* host_ns - dev_ns bounds the offset from above: lower clk_off to it. */
static void clock_bound(ocl_dev *d, uint64_t host_ns, cl_ulong dev_ns)
{
    int_fast64_t off = (int_fast64_t)host_ns - (int_fast64_t)dev_ns;
    int_fast64_t cur = atomic_load_explicit(&d->clk_off, memory_order_relaxed);
    while (off < cur && !atomic_compare_exchange_weak_explicit(&d->clk_off, &cur, off,
                                                                memory_order_relaxed,
                                                                memory_order_relaxed)) {
    }
}

/* The first bound, from markers: a marker's QUEUED stamp is taken inside
 * the enqueue call, before the host time read just after it. The best of
 * a few, since a preempted call only loosens the bound. */
static void clock_init(ocl_dev *d)
{
    atomic_store_explicit(&d->clk_off, INT_FAST64_MAX, memory_order_relaxed);
    int_fast64_t lo = INT_FAST64_MIN; /* the matching lower bound: for the log */
    for (int i = 0; i < 4 && d->profiling; i++) {
        cl_event ev;
        uint64_t h0 = fronta__now_ns();
        if (clEnqueueMarkerWithWaitList(d->q, 0, NULL, &ev) != CL_SUCCESS)
            break;
        uint64_t h = fronta__now_ns();
        cl_ulong q;
        if (clWaitForEvents(1, &ev) == CL_SUCCESS &&
            (prof(ev, CL_PROFILING_COMMAND_QUEUED, &q) ||
             prof(ev, CL_PROFILING_COMMAND_SUBMIT, &q))) {
            clock_bound(d, h, q);
            if ((int_fast64_t)h0 - (int_fast64_t)q > lo)
                lo = (int_fast64_t)h0 - (int_fast64_t)q;
        }
        else if (prof(ev, CL_PROFILING_COMMAND_END, &q)) /* looser, still a bound */
            clock_bound(d, fronta__now_ns(), q);
        clReleaseEvent(ev);
    }
    int_fast64_t off = atomic_load_explicit(&d->clk_off, memory_order_relaxed);
    if (off == INT_FAST64_MAX)
        d->profiling = 0; /* no stamp came back: time on the host */
    FRONTA__LOG(d->st->rt, FRONTA_LOG_DEBUG, "OpenCL '%s': %s", d->info.name,
                d->profiling ? "profiling; host clock = device clock + offset" : "no profiling");
    if (d->profiling)
        FRONTA__LOG(d->st->rt, FRONTA_LOG_DEBUG,
                    "OpenCL '%s': clock offset %lld ns, within %lld ns (markers)", d->info.name,
                    (long long)off, lo == INT_FAST64_MIN ? -1ll : (long long)(off - lo));
}

int fronta__cl_event_span(ocl_dev *d, cl_event first, cl_event ev, uint64_t *t0,
                          uint64_t *t1)
{
    cl_ulong s, e;
    if (!d->profiling || !prof(first ? first : ev, CL_PROFILING_COMMAND_START, &s) ||
        !prof(ev, CL_PROFILING_COMMAND_END, &e) || e < s)
        return -1;
    *t0 = to_host(d, s);
    *t1 = to_host(d, e);
    return 0;
}

void fronta__cl_first_push(ocl_dev *d, fronta__ktask *kt, cl_event ev)
{
    ocl_first *f = fronta__mem_alloc(&d->st->rt->alloc, sizeof *f);
    if (!f) { /* the task's span starts at its last pass */
        clReleaseEvent(ev);
        return;
    }
    f->kt = kt;
    f->ev = ev;
    f->next = NULL;
    pthread_mutex_lock(&d->fl_lock);
    if (d->first_tail)
        d->first_tail->next = f;
    else
        d->first_head = f;
    d->first_tail = f;
    pthread_mutex_unlock(&d->fl_lock);
}

/* Waiter: kt's first-pass event, if it has one (the list is in queue
 * order, as completions are). The caller releases it. */
static cl_event first_pop(ocl_dev *d, const fronta__ktask *kt)
{
    cl_event ev = NULL;
    pthread_mutex_lock(&d->fl_lock);
    ocl_first *f = d->first_head;
    if (f && f->kt == kt) {
        d->first_head = f->next;
        if (!d->first_head)
            d->first_tail = NULL;
        ev = f->ev;
    } else {
        f = NULL;
    }
    pthread_mutex_unlock(&d->fl_lock);
    if (f)
        fronta__mem_free(&d->st->rt->alloc, f, sizeof *f);
    return ev;
}

/* Waiter, before kt completes: its device time to the model (always),
 * the busy counter and the trace. Without profiling stamps, the host's
 * view: from its enqueue to now. */
static void kernel_timed(ocl_dev *d, fronta__ktask *kt, int ok)
{
    fronta_runtime_t *rt = d->st->rt;
    int dev = atomic_load_explicit(&kt->dev, memory_order_relaxed);
    uint64_t now = fronta__now_ns(), t0, t1;
    cl_event first = first_pop(d, kt);
    cl_ulong end;
    if (ok && d->profiling && prof((cl_event)kt->event, CL_PROFILING_COMMAND_END, &end))
        clock_bound(d, now, end);
    if (!ok || fronta__cl_event_span(d, first, (cl_event)kt->event, &t0, &t1)) {
        t0 = kt->run_t0 && kt->run_t0 <= now ? kt->run_t0 : now;
        t1 = now;
    }
    if (first)
        clReleaseEvent(first);
    uint64_t ns = t1 - t0;
    atomic_fetch_add_explicit(&d->busy_ns, ns, memory_order_relaxed);
    /* The queue is in order: a span before the last one's end is the
     * offset's refinement showing, not overlap. Keep the track nested. */
    if (t0 < d->last_end)
        t0 = d->last_end < t1 ? d->last_end : t1;
    d->last_end = t1;
    if (rt->trace)
        fronta__trace_event(rt->trace, FRONTA__TR_RUN, FRONTA__TRACK_DEVICE + dev,
                            kt->task->name ? kt->task->name : kt->k->name, kt->task->id, t0,
                            t1, 0);
    fronta__sched_kernel_ran(rt, kt, dev, ns, ok);
}

void fronta__cl_worker_stats(const void *data, int i, fronta_worker_stats_t *out)
{
    ocl_dev *d = (ocl_dev *)&((const ocl_state *)data)->dev[i];
    out->tasks_run = atomic_load_explicit(&d->tasks_run, memory_order_relaxed);
    out->busy_ns = atomic_load_explicit(&d->busy_ns, memory_order_relaxed);
    out->bytes_in = atomic_load_explicit(&d->bytes_to_dev, memory_order_relaxed);
    out->bytes_out = atomic_load_explicit(&d->bytes_to_host, memory_order_relaxed);
    out->host_wakeups = atomic_load_explicit(&d->wakeups, memory_order_relaxed);
}

/* ---- the waiter ---- */

/* Device thread: give the waiter the newest kernel, with the write-backs
 * of what the kernels since the last hand-over wrote (writeback.c). */
static void hand(ocl_dev *d)
{
    if (!d->unhanded_since)
        return;
    ocl_wb *wb = fronta__cl_wb_enqueue(d, d->node);
    pthread_mutex_lock(&d->fl_lock);
    d->fl_tail->drv = wb;
    d->handed = d->fl_tail;
    d->unhanded_since = 0;
    pthread_cond_signal(&d->fl_cond);
    pthread_mutex_unlock(&d->fl_lock);
}

void fronta__cl_undo_drain(ocl_dev *d)
{
    hand(d);
    while (d->undo_head)
        pthread_cond_wait(&d->undo_cond, &d->undo_lock);
}

void fronta__opencl_fault_skip(fronta_runtime_t *rt, int op, int skip)
{
    for (int id = 1; rt && op >= 1 && op <= 3 && id < rt->ndevices; id++)
        if (rt->devices[id].drv == &fronta__driver_opencl) {
            ocl_state *st = rt->devices[id].data;
            atomic_store_explicit(&st->fault_skip[op], skip, memory_order_release);
            return;
        }
}

cl_int fronta__cl_fault_after(ocl_state *st, int op)
{
    int n = atomic_load_explicit(&st->fault_skip[op], memory_order_acquire);
    while (n > 0)
        if (atomic_compare_exchange_weak_explicit(&st->fault_skip[op], &n, n - 1,
                                                  memory_order_acq_rel, memory_order_acquire))
            return CL_SUCCESS;
    return fronta__cl_fault(st, op);
}

static void complete_kernel(ocl_dev *d, fronta__ktask *kt)
{
    if ((atomic_load_explicit(&kt->task->state, memory_order_acquire) & FRONTA__ST_MASK) ==
        FRONTA__ST_CLAIMED) { /* a marker holding a claimed task's place */
        fronta__ktask_settle(kt->task, NULL);
        return;
    }
    cl_int status = CL_COMPLETE;
    cl_int err = clGetEventInfo((cl_event)kt->event, CL_EVENT_COMMAND_EXECUTION_STATUS,
                                sizeof status, &status, NULL);
    cl_int fault = fronta__cl_fault_after(d->st, FRONTA__CLFAULT_EVENT);
    if (fault)
        status = fault;
    else if (err)
        status = err;
    atomic_fetch_add_explicit(&d->tasks_run, 1, memory_order_relaxed);
    kernel_timed(d, kt, status >= 0);
    /* Before anyone can see it complete (and read what it wrote). */
    fronta__cl_undo_settle(d, kt, status >= 0);
    if (status >= 0) {
        fronta__ktask_finish(kt->task, 0, NULL);
        return;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "kernel '%s' failed on OpenCL device '%s': %s", kt->k->name,
             d->info.name, fronta__cl_err_name(status));
    fronta__ktask_finish(kt->task, FRONTA_EDEVICE, msg);
}

static void *waiter_main(void *arg)
{
    ocl_dev *d = arg;
    fronta__driver_thread_enter(d->st->rt); /* callbacks here must not wait */
    pthread_mutex_lock(&d->fl_lock);
    for (;;) {
        while (!d->handed && !d->fl_stop)
            pthread_cond_wait(&d->fl_cond, &d->fl_lock);
        if (!d->handed)
            break;
        fronta__ktask *tail = d->handed;
        d->handed = NULL;
        const ocl_wb *wb = tail->drv;
        cl_event ev = wb && wb->last ? wb->last : tail->event;
        pthread_mutex_unlock(&d->fl_lock);
        /* A failed kernel makes this return an error: each kernel's own
         * status is read below. */
        clWaitForEvents(1, &ev);
        atomic_fetch_add_explicit(&d->wakeups, 1, memory_order_relaxed);
        pthread_mutex_lock(&d->fl_lock);
        fronta__ktask *head = d->fl_head;
        d->fl_head = tail->qnext;
        if (!d->fl_head)
            d->fl_tail = NULL;
        tail->qnext = NULL;
        pthread_mutex_unlock(&d->fl_lock);
        /* Host copies first, while no successor can have written them. */
        for (fronta__ktask *k = head; k; k = k->qnext)
            if (k->drv) {
                fronta__cl_wb_apply(d, k->drv);
                k->drv = NULL;
            }
        /* The batch's uploads are done too (the queue is in order). Reported
         * before the completions, which may be the runtime's last: shutdown
         * closes the models once every task is complete, so a report after
         * them raced models_close and could read the models freed. */
        fronta__cl_xfer_drain(d, 0);
        while (head) {
            fronta__ktask *next = head->qnext; /* head may be freed by its completion */
            complete_kernel(d, head);
            head = next;
        }
        pthread_mutex_lock(&d->fl_lock);
    }
    pthread_mutex_unlock(&d->fl_lock);
    return NULL;
}

/* ---- the device thread ---- */

/* kt's command is on the queue: the waiter completes it in order. */
static void track(ocl_dev *d, fronta__ktask *kt)
{
    pthread_mutex_lock(&d->fl_lock);
    queue_push(&d->fl_head, &d->fl_tail, kt);
    if (!d->unhanded_since)
        d->unhanded_since = fronta__now_ns();
    pthread_mutex_unlock(&d->fl_lock);
}

static void enqueued(ocl_dev *d, fronta__ktask *kt)
{
    track(d, kt);
    /* Successors chained on this kernel become ready now, on this thread:
     * they are enqueued in this same batch. */
    fronta__ktask_enqueued(kt->task);
}

static void fall_back(ocl_dev *d, fronta_future_t *t, const char *msg)
{
    FRONTA__LOG(t->rt, FRONTA_LOG_WARN, "%s; running task %llu on the CPU pool instead", msg,
                (unsigned long long)t->id);
    atomic_fetch_add_explicit(&d->fallbacks, 1, memory_order_relaxed);
    hand(d); /* it may wait for kernels enqueued here: let them complete */
    fronta__ktask_fall_back(t);
}

static void release_event(void *ev)
{
    clReleaseEvent((cl_event)ev);
}

/* A task claimed without running (failed by an input, cancelled) that was
 * chained behind kernels of this queue: it completes after them, so that
 * what follows it in its buffers' order follows them too. A marker holds
 * its place; the waiter completes it when the marker is reached. */
static void settle_in_order(ocl_dev *d, fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    if ((atomic_load_explicit(&t->state, memory_order_acquire) & FRONTA__ST_MASK) !=
        FRONTA__ST_CLAIMED) {
        fronta__ktask_drop(t); /* completed already */
        return;
    }
    cl_event ev = NULL;
    if (!fronta__ktask_chained(kt) || clEnqueueMarkerWithWaitList(d->q, 0, NULL, &ev)) {
        if (fronta__ktask_chained(kt))
            clFinish(d->q); /* no marker: wait for those kernels here */
        fronta__ktask_settle(t, NULL);
        return;
    }
    kt->event = ev;
    kt->event_free = release_event;
    /* Not enqueued() : a successor chained on the marker would run on what
     * this task never made. They wait for its (failed) completion. */
    track(d, kt);
}

static void process(ocl_dev *d, fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    if ((atomic_load_explicit(&t->rt->flags, memory_order_relaxed) & FRONTA__RT_CANCELLING) &&
        fronta__claim(t)) {
        /* This thread holds the task: it may cancel it in its own order,
         * which fronta_future_cancel does not do for a task on its way here. */
        t->final = FRONTA__ST_CANCELLED;
        fronta__set_error(t, FRONTA_ECANCELLED, t->id, NULL);
    }
    if (!fronta__task_start(t)) {
        settle_in_order(d, t);
        return;
    }
    d->node = atomic_load_explicit(&kt->dev, memory_order_relaxed);
    char *msg = NULL;
    int rc = fronta__cl_launch(d, t, &msg);
    if (rc) {
        /* Uploads of its inputs may still be reading host arrays that the
         * task's end lets others write: let them finish first. */
        clFinish(d->tq);
        clFinish(d->q);
    }
    if (rc == 0) {
        enqueued(d, kt);
    } else if (kt->can_fall_back) {
        fall_back(d, t, msg ? msg : fronta_strerror(rc));
    } else {
        fronta__sched_kernel_ran(t->rt, kt, d->node, 0, 0); /* leaves the backlog */
        fronta__ktask_finish(t, rc, msg);
    }
    fronta__cl_msg_free(d, msg);
}

/* The device thread's share of a task, from taking it to its enqueue. */
static void enqueue_traced(ocl_dev *d, fronta_future_t *t, uint64_t t0)
{
    fronta_runtime_t *rt = d->st->rt;
    fronta__ktask *kt = fronta__ktask_of(t);
    /* Before processing: t may be gone after (a failure completes it). */
    const char *name = t->name ? t->name : kt->k ? kt->k->name : NULL;
    uint64_t id = t->id;
    int dev = fronta__cl_devid(d);
    process(d, t);
    fronta__trace_event(rt->trace, FRONTA__TR_ENQUEUE, FRONTA__TRACK_DEVQ + dev, name, id, t0,
                        fronta__now_ns(), 0);
}

void fronta__cl_submit(void *data, int i, fronta_future_t *t)
{
    ocl_dev *d = &((ocl_state *)data)->dev[i];
    pthread_mutex_lock(&d->lock);
    queue_push(&d->in_head, &d->in_tail, fronta__ktask_of(t));
    atomic_fetch_add_explicit(&d->in_count, 1, memory_order_release);
    if (d->idle)
        pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

/* Device thread: has the newest kernel not yet handed over finished? */
static int newest_done(ocl_dev *d)
{
    pthread_mutex_lock(&d->fl_lock);
    /* Unhanded kernels are not the waiter's yet: fl_tail stays alive. */
    cl_event ev = d->unhanded_since && d->fl_tail ? (cl_event)d->fl_tail->event : NULL;
    pthread_mutex_unlock(&d->fl_lock);
    cl_int status = CL_COMPLETE;
    if (ev && clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                             NULL) != CL_SUCCESS)
        return 1; /* let the waiter find out what is wrong */
    return !ev || status <= CL_COMPLETE;
}

/* Spin a little for more work before handing over and sleeping: the next
 * kernel of a chain being submitted is microseconds away. Bounded by
 * HAND_NS whatever spin_us says, and cut short once the newest kernel has
 * finished: nothing can chain on it any more, so spinning on would only
 * delay reporting its completion. */
static int spin_for_work(ocl_dev *d)
{
    int us = d->st->rt->set.spin_us;
    uint64_t ns = us > 0 ? (uint64_t)us * 1000u : 0;
    if (ns > HAND_NS)
        ns = HAND_NS;
    uint64_t end = fronta__now_ns() + ns;
    for (unsigned i = 1; ns && fronta__now_ns() < end; i++) {
        if (atomic_load_explicit(&d->in_count, memory_order_acquire))
            return 1;
        if ((i & 255) == 0 && newest_done(d))
            return 0;
        fronta__cpu_relax();
    }
    return 0;
}

static void run_batch(ocl_dev *d, fronta__ktask *head)
{
    int traced = d->st->rt->trace != NULL;
    while (head) {
        fronta__ktask *next = head->qnext;
        if (traced)
            enqueue_traced(d, head->task, fronta__now_ns());
        else
            process(d, head->task);
        head = next;
    }
    if (d->unhanded_since && fronta__now_ns() - d->unhanded_since > HAND_NS)
        hand(d); /* busy for long: let completions be reported */
}

static void *device_main(void *arg)
{
    ocl_dev *d = arg;
    fronta__driver_thread_enter(d->st->rt);
    pthread_mutex_lock(&d->lock);
    for (;;) {
        if (d->in_head) {
            fronta__ktask *head = d->in_head;
            unsigned n = 0;
            for (fronta__ktask *k = head; k; k = k->qnext)
                n++;
            d->in_head = d->in_tail = NULL;
            atomic_fetch_sub_explicit(&d->in_count, n, memory_order_relaxed);
            pthread_mutex_unlock(&d->lock);
            run_batch(d, head);
            pthread_mutex_lock(&d->lock);
            continue;
        }
        if (d->stop)
            break;
        pthread_mutex_unlock(&d->lock);
        int more = spin_for_work(d);
        if (!more)
            hand(d);
        pthread_mutex_lock(&d->lock);
        if (more || d->in_head || d->stop)
            continue;
        d->idle = 1;
        pthread_cond_wait(&d->cond, &d->lock);
        d->idle = 0;
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* ---- start and stop ---- */

static int create_queue(ocl_dev *d)
{
    cl_int err;
    d->ctx = clCreateContext(NULL, 1, &d->id, NULL, NULL, &err);
    if (!d->ctx) {
        FRONTA__LOG(d->st->rt, FRONTA_LOG_WARN, "OpenCL '%s': clCreateContext: %s",
                    d->info.name, fronta__cl_err_name(err));
        return -1;
    }
    /* Profiling is required of every device by OpenCL 1.2; a driver that
     * refuses it still runs, timed on the host. */
    d->q = clCreateCommandQueue(d->ctx, d->id, CL_QUEUE_PROFILING_ENABLE, &err);
    d->profiling = d->q != NULL;
    if (!d->q)
        d->q = clCreateCommandQueue(d->ctx, d->id, 0, &err);
    if (!d->q) {
        FRONTA__LOG(d->st->rt, FRONTA_LOG_WARN, "OpenCL '%s': clCreateCommandQueue: %s",
                    d->info.name, fronta__cl_err_name(err));
        clReleaseContext(d->ctx);
        return -1;
    }
    /* The transfer queue, on the copy path only: zero-copy transfers are
     * maps, which synchronise in q's order. */
    d->tq = NULL;
    if (!(d->st->zero_copy && d->info.unified_memory))
        d->tq = clCreateCommandQueue(d->ctx, d->id, d->profiling ? CL_QUEUE_PROFILING_ENABLE : 0,
                                     &err);
    if (!d->tq)
        d->tq = d->q;
    return 0;
}

static void release_queues(ocl_dev *d)
{
    if (d->tq != d->q)
        clReleaseCommandQueue(d->tq);
    clReleaseCommandQueue(d->q);
}

int fronta__cl_dev_start(ocl_dev *d)
{
    if (create_queue(d))
        return -1;
    clock_init(d);
    fronta__cl_undo_init(d);
    fronta__cl_budget_init(d);
    pthread_mutex_init(&d->xf_lock, NULL);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    pthread_mutex_init(&d->fl_lock, NULL);
    pthread_cond_init(&d->fl_cond, NULL);
    if (pthread_create(&d->thread, NULL, device_main, d)) {
        d->running = 0;
    } else if (pthread_create(&d->waiter, NULL, waiter_main, d)) {
        pthread_mutex_lock(&d->lock);
        d->stop = 1;
        pthread_cond_signal(&d->cond);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->thread, NULL);
        d->running = 0;
    } else {
        d->running = 1;
        return 0;
    }
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->fl_lock);
    pthread_cond_destroy(&d->fl_cond);
    pthread_mutex_destroy(&d->xf_lock);
    fronta__cl_undo_release(d);
    fronta__cl_budget_release(d);
    release_queues(d);
    clReleaseContext(d->ctx);
    return -1;
}

/* Every task has completed: both threads are idle. */
void fronta__cl_dev_stop(ocl_dev *d)
{
    pthread_mutex_lock(&d->lock);
    d->stop = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    pthread_mutex_lock(&d->fl_lock);
    d->fl_stop = 1;
    pthread_cond_signal(&d->fl_cond);
    pthread_mutex_unlock(&d->fl_lock);
    pthread_join(d->waiter, NULL);
    fronta__cl_kernels_release(d);
    fronta__cl_wb_release(d);
    clFinish(d->tq);
    clFinish(d->q);
    fronta__cl_xfer_drain(d, 1);
    fronta__cl_undo_release(d);
    fronta__cl_budget_release(d);
    while (d->first_head) /* none is left unless a launch broke its promise */
        clReleaseEvent(first_pop(d, d->first_head->kt));
    pthread_mutex_destroy(&d->xf_lock);
    release_queues(d);
    clReleaseContext(d->ctx);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->fl_lock);
    pthread_cond_destroy(&d->fl_cond);
}
