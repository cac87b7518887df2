/* The scheduler front: the policy by name, ready tasks through resource
 * admission to the policy or their device, kernel placement among the
 * devices that can run a task, and the model's measurements. */
#include "sched/sched.h"
#include "core/kernel.h"
#include "sched/model.h"
#include "sched/resource.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const fronta__policy *const policies[] = {
    &fronta__policy_ws,
    &fronta__policy_eager,
    &fronta__policy_heft,
    NULL,
};

const fronta__policy *fronta__sched_find(const char *name)
{
    for (int i = 0; policies[i]; i++)
        if (!strcasecmp(policies[i]->name, name))
            return policies[i];
    return NULL;
}

const char *fronta_runtime_sched(const fronta_runtime_t *rt)
{
    return rt && rt->policy ? rt->policy->name : NULL;
}

/* heft where devices of more than one kind compete (placement is worth a
 * model); ws where every task runs on the pool or one kind of device. */
static const fronta__policy *default_policy(const fronta_runtime_t *rt)
{
    for (int i = 1; i < rt->ndevices; i++)
        if (rt->devices[i].kind != rt->devices[0].kind)
            return &fronta__policy_heft;
    return &fronta__policy_ws;
}

int fronta__sched_init(fronta_runtime_t *rt, const char *name)
{
    rt->policy = name && *name ? fronta__sched_find(name) : default_policy(rt);
    if (!rt->policy)
        return FRONTA_EINVAL; /* settings checked the name already */
    int rc = fronta__res_init(rt, rt->set.resources, &rt->res);
    if (rc)
        return rc;
    if ((rc = fronta__models_open(rt, &rt->models))) {
        fronta__res_fini(rt, rt->res);
        rt->res = NULL;
        return rc;
    }
    FRONTA__LOG(rt, FRONTA_LOG_INFO, "scheduler: %s (%s)", rt->policy->name,
                rt->policy->description);
    return 0;
}

/* At shutdown, once every task is done (and again, harmlessly, at
 * destroy): the models persist while the devices are still known. The
 * resources stay until destroy: futures are still readable. */
void fronta__sched_fini(fronta_runtime_t *rt)
{
    if (rt->models)
        fronta__models_close(rt->models);
    rt->models = NULL;
}

/* ---- plain tasks: admission, then the policy ---- */

static void plain_admitted(fronta__rneed *n)
{
    fronta_future_t *t = n->task;
    if (t->rt->trace)
        fronta__trace_event(t->rt->trace, FRONTA__TR_RESWAIT, FRONTA__TRACK_HOST,
                            t->name ? t->name : "task", t->id, n->wait_t0, fronta__now_ns(),
                            0);
    fronta__submitter sub;
    fronta__submitter_get(t->rt, &sub);
    t->rt->policy->push(t, &sub, 0);
}

/* The trace track of the thread that sub describes. */
static int track_of(const fronta__submitter *sub)
{
    return sub->w ? FRONTA__TRACK_POOL + sub->w->index : FRONTA__TRACK_HOST;
}

void fronta__sched_trace(fronta_runtime_t *rt, int kind, const fronta_future_t *t)
{
    fronta__submitter sub;
    fronta__submitter_get(rt, &sub);
    const fronta__ktask *kt = fronta__ktask_of(t);
    uint64_t now = fronta__now_ns();
    fronta__trace_event(rt->trace, (fronta__trace_kind)kind, track_of(&sub),
                        t->name ? t->name : kt && kt->k ? kt->k->name : "task", t->id, now,
                        now, 0);
}

/* The rare part of fronta__sched_ready: tracing, resource admission.
 * Returns 1 when t waits for resources (it is pushed once admitted). */
int fronta__sched_ready_slow(fronta_future_t *t, const fronta__submitter *sub)
{
    fronta_runtime_t *rt = t->rt;
    if (rt->trace && !fronta__is_ktask(t)) { /* a kernel's is fronta__sched_kernel_ready's */
        uint64_t now = fronta__now_ns();
        fronta__trace_event(rt->trace, FRONTA__TR_READY, track_of(sub),
                            t->name ? t->name : "task", t->id, now, now, 0);
    }
    if (!fronta__has_res(t))
        return 0;
    fronta__rneed *n = t->rneed;
    n->admit = plain_admitted;
    n->task = t;
    n->priority = t->priority;
    if (fronta__res_acquire(rt->res, n, 0))
        return 0;
    if (sub->w)
        atomic_fetch_add_explicit(&sub->w->res_waits, 1, memory_order_relaxed);
    return 1; /* waits, off every worker: plain_admitted pushes it */
}

void fronta__sched_release(fronta_future_t *t)
{
    if (fronta__has_res(t))
        fronta__res_release(t->rt->res, t->rneed);
}

int fronta__sched_unwait(fronta_future_t *t)
{
    return fronta__has_res(t) && fronta__res_unwait(t->rt->res, t->rneed);
}

/* ---- kernel tasks: candidates and placement ---- */

static int admits(const fronta_runtime_t *rt, const fronta_needs_t *n, int id)
{
    const fronta__device *dev = &rt->devices[id];
    switch (n->device) {
    case FRONTA_NEED_ANY:
        return 1;
    case FRONTA_NEED_CPU_POOL:
        return dev->kind == FRONTA_DEVICE_CPU_POOL;
    case FRONTA_NEED_OPENCL:
        return dev->kind == FRONTA_DEVICE_OPENCL;
    case FRONTA_NEED_GPU:
        return dev->kind == FRONTA_DEVICE_OPENCL && dev->type == FRONTA_DEVTYPE_GPU;
    case FRONTA_NEED_DEVICE:
        return id == n->device_id;
    }
    return 0;
}

static int can_run(const fronta_runtime_t *rt, const fronta__ktask *kt, int id)
{
    const fronta__device *dev = &rt->devices[id];
    return admits(rt, &kt->needs, id) && dev->drv->can_run &&
           dev->drv->can_run(dev->data, dev->local, kt->k);
}

uint64_t fronta__sched_candidates(const fronta_runtime_t *rt, const fronta__ktask *kt)
{
    uint64_t m = 0;
    for (int id = 0; id < rt->ndevices; id++)
        if (can_run(rt, kt, id) && fronta__res_fits(rt->res, &kt->rn, id, NULL, 0))
            m |= 1ull << id;
    return m;
}

uint64_t fronta__coexec_devices(fronta_runtime_t *rt, const fronta_task_desc_t *d)
{
    if (d->needs.device != FRONTA_NEED_ANY || !d->kernel)
        return 0;
    uint64_t m = 0;
    for (int id = 0; id < rt->ndevices; id++) {
        const fronta__device *dev = &rt->devices[id];
        if (dev->drv->can_run && dev->drv->can_run(dev->data, dev->local, d->kernel))
            m |= 1ull << id;
    }
    return m & (m - 1) ? m : 0;
}

int fronta__sched_pool_admits(const fronta_runtime_t *rt, const fronta__ktask *kt)
{
    return can_run(rt, kt, 0) && fronta__res_fits(rt->res, &kt->rn, 0, NULL, 0);
}

int fronta__sched_place(fronta_runtime_t *rt, fronta__ktask *kt, const fronta__kbufs *kb)
{
    if (kt->needs.device == FRONTA_NEED_DEVICE &&
        (kt->needs.device_id < 0 || kt->needs.device_id >= rt->ndevices))
        return fronta__fail(FRONTA_ENODEV, "needs device %d: the runtime has %d devices",
                            kt->needs.device_id, rt->ndevices);
    if ((unsigned)kt->needs.device > FRONTA_NEED_DEVICE)
        return fronta__fail(FRONTA_EINVAL, "kernel '%s': needs.device %u is not a "
                            "fronta_need_t", kt->k->name, (unsigned)kt->needs.device);
    uint64_t cands = 0, runnable = 0;
    char why[256] = "";
    for (int id = 0; id < rt->ndevices; id++) {
        if (!can_run(rt, kt, id))
            continue;
        runnable |= 1ull << id;
        if (fronta__res_fits(rt->res, &kt->rn, id, why[0] ? NULL : why, sizeof why))
            cands |= 1ull << id;
    }
    if (!runnable)
        return fronta__fail(FRONTA_ENOIMPL, "kernel '%s': no device its needs admit has an "
                            "implementation of it (CPU for the pool, OpenCL for a device)",
                            kt->k->name);
    if (!cands)
        return fronta__fail(FRONTA_ERESOURCE, "kernel '%s': no device that can run it has "
                            "the resources: %s", kt->k->name, why);
    int dev;
    if (cands & (cands - 1)) {
        dev = rt->policy->place(&(fronta__place_ctx){rt, kt, kb, cands});
        if (dev < 0 || !(cands >> dev & 1))
            dev = __builtin_ctzll(cands); /* a policy's mistake must not lose the task */
    } else {
        /* One choice: no policy asked, but its work joins the device's
         * backlog, which heft weighs for the tasks that do have a choice. */
        dev = __builtin_ctzll(cands);
        if (rt->models)
            fronta__models_placed(rt->models, kt, dev,
                                  fronta__models_exec(rt->models, kt, dev, &(double){0}));
    }
    atomic_store_explicit(&kt->sched_dev, dev, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->inflight[dev], 1, memory_order_relaxed);
    return dev;
}

/* kt leaves the device it was placed on: once per placement. */
static int unplace(fronta_runtime_t *rt, fronta__ktask *kt)
{
    int d = atomic_exchange_explicit(&kt->sched_dev, -1, memory_order_acq_rel);
    if (d >= 0)
        atomic_fetch_sub_explicit(&rt->inflight[d], 1, memory_order_relaxed);
    return d;
}

void fronta__sched_kernel_ran(fronta_runtime_t *rt, fronta__ktask *kt, int dev, uint64_t ns,
                              int ok)
{
    if (unplace(rt, kt) >= 0 && rt->models)
        fronta__models_ran(rt->models, kt, dev, ns, ok);
}

void fronta__sched_kernel_left(fronta_runtime_t *rt, fronta__ktask *kt, int dev)
{
    if (unplace(rt, kt) >= 0 && rt->models)
        fronta__models_left(rt->models, kt, dev);
}

void fronta__sched_transfer(fronta_runtime_t *rt, int src, int dst, uint64_t bytes,
                            uint64_t ns)
{
    /* A driver thread times copies whenever they complete, not in a
     * task's order: one may be reported after the last task completed,
     * as shutdown closes the models (it holds stop_lock for writing from
     * then on). The read lock orders a report before that, or drops it
     * (a sample less; also in shutdown's brief idle checks). */
    if (pthread_rwlock_tryrdlock(&rt->stop_lock))
        return;
    if (rt->models)
        fronta__models_transfer(rt->models, src, dst, bytes, ns);
    pthread_rwlock_unlock(&rt->stop_lock);
}

/* A retry or a fallback places the task again, on dev. */
void fronta__sched_replace(fronta_runtime_t *rt, fronta__ktask *kt, int dev)
{
    fronta__sched_kernel_left(rt, kt, atomic_load_explicit(&kt->dev, memory_order_relaxed));
    atomic_store_explicit(&kt->sched_dev, dev, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->inflight[dev], 1, memory_order_relaxed);
    if (rt->models)
        fronta__models_placed(rt->models, kt, dev,
                              fronta__models_exec(rt->models, kt, dev, &(double){0}));
}

/* ---- kernel tasks: admission on their device ---- */

static void kernel_go(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    const fronta__device *dev = &t->rt->devices[atomic_load_explicit(&kt->dev,
                                                                    memory_order_acquire)];
    dev->drv->submit(dev->data, dev->local, t);
}

static void kernel_admitted(fronta__rneed *n)
{
    fronta_future_t *t = n->task;
    if (t->rt->trace)
        fronta__trace_event(t->rt->trace, FRONTA__TR_RESWAIT, FRONTA__TRACK_DEVICE +
                                atomic_load_explicit(&n->dev, memory_order_relaxed),
                            t->name ? t->name : fronta__ktask_of(t)->k->name, t->id,
                            n->wait_t0, fronta__now_ns(), 0);
    kernel_go(t);
}

void fronta__sched_kernel_ready(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    if (t->rt->trace)
        fronta__sched_trace(t->rt, FRONTA__TR_READY, t);
    if (kt->rn.n) {
        int dev = atomic_load_explicit(&kt->dev, memory_order_acquire);
        kt->rn.admit = kernel_admitted;
        kt->rn.task = t;
        kt->rn.priority = t->priority;
        if (!fronta__res_acquire(t->rt->res, &kt->rn, dev))
            return;
    }
    kernel_go(t);
}

void fronta__sched_kernel_release(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    if (kt->rn.n)
        fronta__res_release(t->rt->res, &kt->rn);
}

int fronta__sched_kernel_unwait(fronta_future_t *t)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    return kt->rn.n && fronta__res_unwait(t->rt->res, &kt->rn);
}
