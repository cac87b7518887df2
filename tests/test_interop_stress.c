/* Interop and zero-copy stress: the user's own OpenCL commands (fronta_opencl_buffer_acquire, never a clFinish before release) mixed with host accesses and pool and OpenCL kernel tasks, against a serial model, on the zero-copy and the copy path. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "test_kernels.h"

#include "fronta_opencl.h"

#include <unistd.h>

/* ---- kernels: fronta's (both implementations) and the user's own ------ */

/* Every element depends on its index, so a shifted or missed element
 * shows; uint32 arithmetic wraps alike in C and OpenCL C. */
static const char *is_cl_source =
    "__kernel void is_axpb(__global uint *x, int a, int b)\n"
    "{ size_t i = get_global_id(0); x[i] = x[i] * (uint)a + (uint)b + (uint)i; }\n"
    "__kernel void is_copy(__global const uint *src, __global uint *dst)\n"
    "{ size_t i = get_global_id(0); dst[i] = src[i]; }\n"
    "__kernel void is_set(__global uint *x, int v)\n"
    "{ size_t i = get_global_id(0); x[i] = (uint)v + (uint)i; }\n";

/* The user's kernels, built by the test in the device's context:
 * u_mul_add on fronta's buffers, and u_spin, a serial loop of a few
 * milliseconds on a scratch buffer of the user's own, put before the
 * user's other commands now and then so that they land late. */
static const char *user_source =
    "__kernel void u_mul_add(__global uint *x, uint k)\n"
    "{ size_t i = get_global_id(0); x[i] = x[i] * 5u + k; }\n"
    "__kernel void u_spin(__global uint *x, uint iters)\n"
    "{ uint a = x[0]; for (uint i = 0; i < iters; i++) a = a * 1664525u + 1013904223u;"
    " x[0] = a; }\n";

enum { SPIN_ITERS = 1u << 22 };

static uint32_t model_axpb(uint32_t x, int32_t a, int32_t b, size_t i)
{
    return x * (uint32_t)a + (uint32_t)b + (uint32_t)i;
}

static uint32_t model_set(int32_t v, size_t i)
{
    return (uint32_t)v + (uint32_t)i;
}

static uint32_t model_user(uint32_t x, uint32_t k)
{
    return x * 5u + k;
}

static int k_axpb(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    if (na != 3 || a[0].count != n)
        return FRONTA_EINVAL;
    uint32_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] = model_axpb(x[i], a[1].v.i32, a[2].v.i32, i);
    return 0;
}

static int k_copy(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    if (na != 2 || a[0].count != n || a[1].count != n)
        return FRONTA_EINVAL;
    memcpy(a[1].ptr, a[0].ptr, n * sizeof(uint32_t));
    return 0;
}

static int k_set(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    (void)ctx;
    if (na != 2 || a[0].count != n)
        return FRONTA_EINVAL;
    uint32_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] = model_set(a[1].v.i32, i);
    return 0;
}

static const fronta_param_t axpb_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_I32},
    {.kind = FRONTA_ARG_I32},
};
static const fronta_param_t copy_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_GLOBAL},
};
static const fronta_param_t set_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_I32},
};

static fronta_kernel_t *make_kernel(fronta_runtime_t *rt, const char *name,
                                    const fronta_param_t *p, size_t np, fronta_cpu_kernel_fn fn)
{
    fronta_kernel_desc_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = name;
    d.params = p;
    d.nparams = np;
    d.cpu = fn;
    d.cl_source = is_cl_source;
    d.cl_entry = name;
    fronta_kernel_t *k = NULL;
    int rc = fronta_kernel_create(rt, &d, &k);
    if (rc != 0)
        fail_msg("fronta_kernel_create(%s): %s", name, fronta_err_name(rc));
    return k;
}

#define CL_OK(call)                                                            \
    do {                                                                       \
        cl_int e_ = (call);                                                    \
        if (e_ != CL_SUCCESS)                                                  \
            fail_msg("%s: OpenCL error %d", #call, (int)e_);                   \
    } while (0)

/* ---- a runtime with its OpenCL device, kernels and the user's program -- */

typedef struct env {
    fronta_runtime_t *rt;
    int zero_copy;
    int cl; /* the OpenCL device's fronta id */
    cl_context ctx;
    cl_command_queue q;
    cl_device_id dev;
    cl_program prog;
    cl_kernel uk;   /* u_mul_add */
    cl_kernel spin; /* u_spin */
    cl_mem scratch; /* the user's own, for u_spin */
    fronta_kernel_t *axpb, *copy, *set;
} env_t;

/* 0 when there is no OpenCL device (the runtime is destroyed then). */
static int env_open(env_t *e, int zero_copy)
{
    memset(e, 0, sizeof *e);
    e->zero_copy = zero_copy;
    e->rt = ft_runtime_dev("all", zero_copy);
    e->cl = ft_cl_device(e->rt, 0);
    if (e->cl < 0) {
        fronta_runtime_destroy(e->rt);
        return 0;
    }
    assert_int_equal(fronta_opencl_device(e->rt, e->cl, &e->ctx, &e->q, &e->dev), 0);
    cl_int err;
    e->prog = clCreateProgramWithSource(e->ctx, 1, &user_source, NULL, &err);
    CL_OK(err);
    CL_OK(clBuildProgram(e->prog, 1, &e->dev, "", NULL, NULL));
    e->uk = clCreateKernel(e->prog, "u_mul_add", &err);
    CL_OK(err);
    e->spin = clCreateKernel(e->prog, "u_spin", &err);
    CL_OK(err);
    e->scratch = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, sizeof(cl_uint), NULL, &err);
    CL_OK(err);
    cl_uint iters = SPIN_ITERS;
    CL_OK(clSetKernelArg(e->spin, 0, sizeof e->scratch, &e->scratch));
    CL_OK(clSetKernelArg(e->spin, 1, sizeof iters, &iters));
    e->axpb = make_kernel(e->rt, "is_axpb", axpb_params, 3, k_axpb);
    e->copy = make_kernel(e->rt, "is_copy", copy_params, 2, k_copy);
    e->set = make_kernel(e->rt, "is_set", set_params, 2, k_set);
    return 1;
}

static void env_close(env_t *e)
{
    CL_OK(clFinish(e->q));
    clReleaseKernel(e->uk);
    clReleaseKernel(e->spin);
    clReleaseMemObject(e->scratch);
    clReleaseProgram(e->prog);
    fronta_runtime_destroy(e->rt);
}

/* The user's slow command on the device's queue, not waited for: what
 * the user enqueues after it lands milliseconds later. */
static void env_delay(const env_t *e)
{
    size_t one = 1;
    CL_OK(clEnqueueNDRangeKernel(e->q, e->spin, 1, NULL, &one, NULL, 0, NULL, NULL));
}

/* Whether this device runs the zero-copy path (the replica is the host
 * array) under e's setting. */
static int env_maps(const env_t *e)
{
    fronta_device_info_t info;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    assert_int_equal(fronta_device_info(e->rt, e->cl, &info), 0);
    return e->zero_copy >= 0 && info.unified_memory;
}

static const char *path_name(int zero_copy)
{
    return zero_copy < 0 ? "copy path" : "zero-copy";
}

/* Page-aligned memory the user owns, as a zero-copy user would wrap. */
static uint32_t *page_alloc(size_t n)
{
    void *p = NULL;
    size_t bytes = (n * sizeof(uint32_t) + 4095) & ~(size_t)4095;
    assert_int_equal(posix_memalign(&p, 4096, bytes), 0);
    return p;
}

/* ---- FRONTA_STRESS_SEED, FRONTA_STRESS_SCALE ---------------------------- */

static uint64_t the_seed;

static uint64_t stress_seed(void)
{
    const char *env = getenv("FRONTA_STRESS_SEED");
    if (!env || !*env)
        env = getenv("FRONTA_TEST_SEED");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Runs started in the same second still draw apart. */
    uint64_t seed = env && *env ? strtoull(env, NULL, 0)
                                : ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                                      ((uint64_t)getpid() << 40);
    print_message("[ seed     ] interop stress: FRONTA_STRESS_SEED=%llu\n",
                  (unsigned long long)seed);
    return seed;
}

/* ---- the stress: state and serial model -------------------------------- */

enum { NB = 4, RING = 16, LOGN = 64, MAXPEND = 24 };

enum {
    OP_HOST_IN, OP_HOST_INOUT, OP_HOST_OUT, OP_POOL_AXPB, OP_CL_AXPB, OP_COPY,
    OP_DEV_FILL, OP_DEV_WRITE, OP_DEV_WRITE_PART, OP_DEV_READ, OP_DEV_KERNEL,
    OP_DEV_MIX, OP_DEV_HELD, OP_WAIT, OP_SYNC, OP_COUNT
};

/* A staging array the device's queue may still be using: the source of a
 * non-blocking write (kept alive), or the target of a non-blocking read
 * (checked against `want` once the queue is finished). */
typedef struct pending {
    uint32_t *data;
    uint32_t *want; /* a read: what it must hold; NULL for a write */
    size_t n;
    size_t op;      /* the log entry of the step that made it */
} pending_t;

typedef struct stress {
    env_t *e;
    size_t n;
    fronta_buffer_t *b[NB];
    uint32_t *model[NB];
    uint32_t *wrapped[NB]; /* the user's array; NULL for a created buffer */
    void *wrapped_raw[NB];
    pending_t pend[MAXPEND];
    size_t npend;
    fronta_future_t **fs;
    size_t nfs, capfs;
    fronta_future_t *ring[RING];
    size_t nring;
    uint64_t rng;
    char log[LOGN][96];
    size_t nlog;
    size_t step_log; /* the log entry of the step being made */
    long ops[OP_COUNT];
} stress_t;

static const char *const op_names[OP_COUNT] = {
    "host IN", "host INOUT", "host OUT", "pool axpb", "OpenCL axpb", "copy",
    "dev fill", "dev write", "dev write part", "dev read", "dev kernel",
    "dev mix", "dev held", "wait", "clFinish",
};

/* Relative weights of the operations. */
static const unsigned op_weight[OP_COUNT] = {
    10, 6, 4, 8, 8, 8, 7, 4, 4, 6, 6, 3, 3, 5, 2,
};

static void slog(stress_t *s, const char *fmt, ...) FRONTA_PRINTF(2, 3);
static void slog(stress_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->log[s->nlog % LOGN], sizeof s->log[0], fmt, ap);
    va_end(ap);
    s->nlog++;
}

static void sdump(stress_t *s)
{
    size_t from = s->nlog > LOGN ? s->nlog - LOGN : 0;
    for (size_t i = from; i < s->nlog; i++)
        print_error("  op %zu: %s\n", i, s->log[i % LOGN]);
}

static void sfail(stress_t *s, const char *what)
{
    print_error("interop stress (%s, n %zu, FRONTA_STRESS_SEED=%llu): %s\n",
                path_name(s->e->zero_copy), s->n, (unsigned long long)the_seed, what);
    sdump(s);
    fail();
}

static void scheck(stress_t *s, const uint32_t *want, const uint32_t *got, size_t n,
                   const char *when, size_t bi)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            char name[16], msg[240];
            if (bi < NB)
                snprintf(name, sizeof name, "b%zu", bi);
            else
                snprintf(name, sizeof name, "it");
            snprintf(msg, sizeof msg, "%s: %s, element %zu of %zu, is %u (0x%08x),"
                     " expected %u (0x%08x)", when, name, i, n, got[i], got[i], want[i],
                     want[i]);
            sfail(s, msg);
        }
}

static uint32_t srand32(stress_t *s)
{
    return (uint32_t)ft_rand(&s->rng);
}

static size_t srange(stress_t *s, size_t n)
{
    return (size_t)(ft_rand(&s->rng) % n);
}

/* ---- accesses ---------------------------------------------------------- */

/* Now and then an acquire polls (timeout 0) instead of waiting: each
 * poll that times out leaves an abandoned access in b's order, which the
 * next poll of the same mode takes over. */
static int spoll(stress_t *s)
{
    if (srange(s, 4))
        return 0;
    slog(s, "  polled");
    return 1;
}

static uint32_t *shost(stress_t *s, size_t bi, fronta_access_t mode)
{
    void *p = NULL;
    int rc;
    if (spoll(s)) {
        double deadline = ft_now() + FT_LIMIT;
        while ((rc = fronta_buffer_acquire(s->b[bi], mode, 0, &p)) == FRONTA_ETIMEDOUT &&
               ft_now() < deadline)
            sched_yield();
    } else {
        rc = fronta_buffer_acquire(s->b[bi], mode, FT_LIMIT, &p);
    }
    if (rc != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "host acquire b%zu mode %d: %s", bi, (int)mode,
                 fronta_err_name(rc));
        sfail(s, msg);
    }
    if (!p || (s->wrapped[bi] && p != (void *)s->wrapped[bi]))
        sfail(s, "host acquire gave another array");
    return p;
}

static cl_mem sdev(stress_t *s, size_t bi, fronta_access_t mode)
{
    cl_mem m = NULL;
    int rc;
    if (spoll(s)) {
        double deadline = ft_now() + FT_LIMIT;
        while ((rc = fronta_opencl_buffer_acquire(s->b[bi], s->e->cl, mode, 0, &m)) ==
                   FRONTA_ETIMEDOUT &&
               ft_now() < deadline)
            sched_yield();
    } else {
        rc = fronta_opencl_buffer_acquire(s->b[bi], s->e->cl, mode, FT_LIMIT, &m);
    }
    if (rc != 0 || !m) {
        char msg[96];
        snprintf(msg, sizeof msg, "device acquire b%zu mode %d: %s", bi, (int)mode,
                 fronta_err_name(rc));
        sfail(s, msg);
    }
    if (srange(s, 4) == 0) {
        slog(s, "  the user's slow kernel first");
        env_delay(s->e);
    }
    return m;
}

static void srelease(stress_t *s, size_t bi)
{
    int rc = fronta_buffer_release(s->b[bi]);
    if (rc != 0)
        sfail(s, "release failed");
}

#define SCL(s, call)                                                           \
    do {                                                                       \
        cl_int e_ = (call);                                                    \
        if (e_ != CL_SUCCESS) {                                                \
            char m_[160];                                                      \
            snprintf(m_, sizeof m_, "%s: OpenCL error %d", #call, (int)e_);    \
            sfail((s), m_);                                                    \
        }                                                                      \
    } while (0)

/* The queue finished: every read's staging array holds what the model
 * had at the read, every write's source may go. */
static void ssync(stress_t *s)
{
    SCL(s, clFinish(s->e->q));
    for (size_t i = 0; i < s->npend; i++) {
        pending_t *p = &s->pend[i];
        if (p->want) {
            char when[80];
            snprintf(when, sizeof when, "the staging array of op %zu (a read) after clFinish",
                     p->op);
            scheck(s, p->want, p->data, p->n, when, (size_t)-1);
            free(p->want);
        }
        free(p->data);
    }
    s->npend = 0;
}

/* A staging array of n elements for the current step; with a snapshot
 * of `want` when it is a read's target. */
static pending_t *spend(stress_t *s, size_t n, const uint32_t *want)
{
    if (s->npend == MAXPEND)
        ssync(s);
    pending_t *p = &s->pend[s->npend++];
    p->n = n;
    p->op = s->step_log;
    p->data = malloc(n * sizeof(uint32_t));
    assert_non_null(p->data);
    p->want = NULL;
    if (want) {
        p->want = malloc(n * sizeof(uint32_t));
        assert_non_null(p->want);
        memcpy(p->want, want, n * sizeof(uint32_t));
        /* Not the expected contents: a read that never ran shows. */
        for (size_t i = 0; i < n; i++)
            p->data[i] = ~want[i];
    }
    return p;
}

static void ssubmit(stress_t *s, fronta_task_desc_t *t)
{
    fronta_future_t *f = NULL;
    int rc = fronta_submit(s->e->rt, t, &f);
    if (rc != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "submit %s: %s", fronta_kernel_name(t->kernel),
                 fronta_err_name(rc));
        sfail(s, msg);
    }
    if (s->nfs == s->capfs) {
        s->capfs = s->capfs ? 2 * s->capfs : 256;
        s->fs = realloc(s->fs, s->capfs * sizeof *s->fs);
        assert_non_null(s->fs);
    }
    s->fs[s->nfs++] = f;
    s->ring[s->nring++ % RING] = f;
}

static void stask_axpb(stress_t *s, size_t bi, fronta_need_t need)
{
    int32_t a = (int32_t)(srand32(s) % 7) - 3, c = (int32_t)(srand32(s) % 2001) - 1000;
    fronta_task_desc_t t = ft_task(s->e->axpb, need, FRONTA_INOUT(s->b[bi]), FRONTA_I32(a),
                                   FRONTA_I32(c));
    for (size_t i = 0; i < s->n; i++)
        s->model[bi][i] = model_axpb(s->model[bi][i], a, c, i);
    slog(s, "axpb(b%zu, %d, %d) need %d", bi, a, c, (int)need);
    ssubmit(s, &t);
}

static void stask_copy(stress_t *s, size_t x, size_t y, fronta_need_t need)
{
    fronta_task_desc_t t = ft_task(s->e->copy, need, FRONTA_IN(s->b[x]), FRONTA_OUT(s->b[y]),
                                   FT_NOARG);
    memcpy(s->model[y], s->model[x], s->n * sizeof(uint32_t));
    slog(s, "copy(b%zu -> b%zu) need %d", x, y, (int)need);
    ssubmit(s, &t);
}

static fronta_need_t srand_need(stress_t *s)
{
    static const fronta_need_t needs[] = {FRONTA_NEED_CPU_POOL, FRONTA_NEED_OPENCL,
                                          FRONTA_NEED_ANY};
    return needs[srange(s, 3)];
}

/* The user's kernel on m, no wait: x = x * 5 + k. The model is the
 * caller's (suser_kernel applies it at once). */
static void suser_kernel_enqueue(stress_t *s, cl_mem m, uint32_t k)
{
    size_t global = s->n;
    SCL(s, clSetKernelArg(s->e->uk, 0, sizeof m, &m));
    SCL(s, clSetKernelArg(s->e->uk, 1, sizeof k, &k));
    SCL(s, clEnqueueNDRangeKernel(s->e->q, s->e->uk, 1, NULL, &global, NULL, 0, NULL, NULL));
}

static void suser_kernel(stress_t *s, size_t bi, cl_mem m, uint32_t k)
{
    suser_kernel_enqueue(s, m, k);
    for (size_t i = 0; i < s->n; i++)
        s->model[bi][i] = model_user(s->model[bi][i], k);
}

/* The user's fill of elements [off, off + len), no wait. */
static void suser_fill(stress_t *s, size_t bi, cl_mem m, size_t off, size_t len, uint32_t v)
{
    SCL(s, clEnqueueFillBuffer(s->e->q, m, &v, sizeof v, off * sizeof v, len * sizeof v, 0,
                               NULL, NULL));
    for (size_t i = off; i < off + len; i++)
        s->model[bi][i] = v;
}

/* A non-blocking write of [off, off + len) from a staging array that
 * stays alive until the next ssync. */
static void suser_write(stress_t *s, size_t bi, cl_mem m, size_t off, size_t len)
{
    pending_t *p = spend(s, len, NULL);
    uint32_t v = srand32(s);
    for (size_t i = 0; i < len; i++)
        p->data[i] = s->model[bi][off + i] = v ^ (uint32_t)(i * 2654435761u);
    SCL(s, clEnqueueWriteBuffer(s->e->q, m, CL_FALSE, off * sizeof(uint32_t),
                                len * sizeof(uint32_t), p->data, 0, NULL, NULL));
}

/* A non-blocking read of the whole buffer into a staging array that must
 * hold the model as it is now once the access is released (sreleased)
 * and again at the next ssync. */
static pending_t *suser_read(stress_t *s, size_t bi, cl_mem m)
{
    pending_t *p = spend(s, s->n, s->model[bi]);
    SCL(s, clEnqueueReadBuffer(s->e->q, m, CL_FALSE, 0, s->n * sizeof(uint32_t), p->data, 0,
                               NULL, NULL));
    return p;
}

/* Release a device access whose commands read into p: release returns
 * once they have finished (fronta_opencl.h), no clFinish needed. */
static void sreleased(stress_t *s, size_t bi, const pending_t *p)
{
    srelease(s, bi);
    scheck(s, p->want, p->data, p->n, "the staging array of a read, right after release",
           (size_t)-1);
}

/* One random operation; the model follows it. */
static void sstep(stress_t *s)
{
    unsigned total = 0;
    for (int i = 0; i < OP_COUNT; i++)
        total += op_weight[i];
    unsigned r = (unsigned)(ft_rand(&s->rng) % total);
    int op = 0;
    while (r >= op_weight[op])
        r -= op_weight[op++];
    s->ops[op]++;
    s->step_log = s->nlog;
    size_t bi = srange(s, NB), other = (bi + 1 + srange(s, NB - 1)) % NB;
    size_t n = s->n;
    uint32_t v = srand32(s);
    uint32_t *h;
    cl_mem m;
    switch (op) {
    case OP_HOST_IN:
        slog(s, "host IN b%zu", bi);
        h = shost(s, bi, FRONTA_ACCESS_IN);
        scheck(s, s->model[bi], h, n, "host IN", bi);
        srelease(s, bi);
        break;
    case OP_HOST_INOUT:
        slog(s, "host INOUT b%zu ^ %u", bi, v);
        h = shost(s, bi, FRONTA_ACCESS_INOUT);
        scheck(s, s->model[bi], h, n, "host INOUT", bi);
        for (size_t i = 0; i < n; i += 1 + i % 3)
            h[i] = s->model[bi][i] = h[i] ^ (v + (uint32_t)i);
        srelease(s, bi);
        break;
    case OP_HOST_OUT:
        slog(s, "host OUT b%zu = %u * i + 1", bi, v);
        h = shost(s, bi, FRONTA_ACCESS_OUT);
        for (size_t i = 0; i < n; i++)
            h[i] = s->model[bi][i] = v * (uint32_t)i + 1u;
        srelease(s, bi);
        break;
    case OP_POOL_AXPB:
        stask_axpb(s, bi, FRONTA_NEED_CPU_POOL);
        break;
    case OP_CL_AXPB:
        stask_axpb(s, bi, FRONTA_NEED_OPENCL);
        break;
    case OP_COPY:
        stask_copy(s, bi, other, srand_need(s));
        break;
    case OP_DEV_FILL:
        slog(s, "dev OUT b%zu: fill %u", bi, v);
        m = sdev(s, bi, FRONTA_ACCESS_OUT);
        suser_fill(s, bi, m, 0, n, v);
        srelease(s, bi);
        break;
    case OP_DEV_WRITE:
        slog(s, "dev OUT b%zu: write all from staging", bi);
        m = sdev(s, bi, FRONTA_ACCESS_OUT);
        suser_write(s, bi, m, 0, n);
        srelease(s, bi);
        break;
    case OP_DEV_WRITE_PART: {
        size_t off = srange(s, n), len = 1 + srange(s, n - off);
        slog(s, "dev INOUT b%zu: write [%zu, %zu) from staging", bi, off, off + len);
        m = sdev(s, bi, FRONTA_ACCESS_INOUT);
        suser_write(s, bi, m, off, len);
        srelease(s, bi);
        break;
    }
    case OP_DEV_READ:
        slog(s, "dev IN b%zu: read into staging", bi);
        m = sdev(s, bi, FRONTA_ACCESS_IN);
        sreleased(s, bi, suser_read(s, bi, m));
        break;
    case OP_DEV_KERNEL:
        slog(s, "dev INOUT b%zu: user kernel k %u", bi, v);
        m = sdev(s, bi, FRONTA_ACCESS_INOUT);
        suser_kernel(s, bi, m, v);
        srelease(s, bi);
        break;
    case OP_DEV_MIX: {
        /* Several commands in one access: the queue orders them. */
        size_t off = srange(s, n), len = 1 + srange(s, n - off);
        slog(s, "dev INOUT b%zu: user kernel k %u, fill [%zu, %zu), read", bi, v, off,
             off + len);
        m = sdev(s, bi, FRONTA_ACCESS_INOUT);
        suser_kernel(s, bi, m, v);
        suser_fill(s, bi, m, off, len, ~v);
        sreleased(s, bi, suser_read(s, bi, m));
        break;
    }
    case OP_DEV_HELD: {
        /* Tasks submitted while the device access is held wait for its
         * release, and see the user's commands, which come first in
         * submission order. No other access meanwhile: a task on another
         * buffer may wait for this one. */
        slog(s, "dev INOUT b%zu held over tasks, user kernel k %u", bi, v);
        m = sdev(s, bi, FRONTA_ACCESS_INOUT);
        for (size_t i = 0; i < n; i++)
            s->model[bi][i] = model_user(s->model[bi][i], v);
        size_t ntask = 1 + srange(s, 2);
        for (size_t i = 0; i < ntask; i++) {
            if (srange(s, 2))
                stask_axpb(s, bi, srand_need(s));
            else
                stask_copy(s, bi, other, srand_need(s));
        }
        /* Only now the user's kernel, which the model applied first. */
        suser_kernel_enqueue(s, m, v);
        srelease(s, bi);
        break;
    }
    case OP_WAIT:
        if (s->nring) {
            size_t have = s->nring < RING ? s->nring : RING;
            fronta_future_t *f = s->ring[srange(s, have)];
            slog(s, "wait for task %llu", (unsigned long long)fronta_future_task_id(f));
            int rc = fronta_future_wait(f, FT_LIMIT);
            if (rc != 0 || fronta_future_error(f, NULL) != 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "wait: %s, task error %s (%s)", fronta_err_name(rc),
                         fronta_err_name(fronta_future_error(f, NULL)), ft_message(f));
                sfail(s, msg);
            }
        }
        break;
    default:
        slog(s, "clFinish, check %zu staging arrays", s->npend);
        ssync(s);
        break;
    }
}

/* Buffer i: 0 wrapped page-aligned (what zero-copy users wrap), 2 wrapped
 * at a 4-byte offset into malloc'd memory, 1 and 3 created. */
static void sround_open(stress_t *s, size_t n)
{
    s->n = n;
    for (size_t i = 0; i < NB; i++) {
        s->model[i] = malloc(n * sizeof(uint32_t));
        assert_non_null(s->model[i]);
        for (size_t j = 0; j < n; j++)
            s->model[i][j] = srand32(s);
        if (i % 2 == 0) {
            if (i == 0) {
                s->wrapped[i] = page_alloc(n);
                s->wrapped_raw[i] = s->wrapped[i];
            } else {
                s->wrapped_raw[i] = malloc((n + 1) * sizeof(uint32_t));
                assert_non_null(s->wrapped_raw[i]);
                s->wrapped[i] = (uint32_t *)s->wrapped_raw[i] + 1;
            }
            memcpy(s->wrapped[i], s->model[i], n * sizeof(uint32_t));
            assert_int_equal(fronta_buffer_wrap(s->e->rt, s->wrapped[i], n, FRONTA_INT32,
                                                &s->b[i]), 0);
        } else {
            s->wrapped[i] = NULL;
            s->wrapped_raw[i] = NULL;
            assert_int_equal(fronta_buffer_create(s->e->rt, n, FRONTA_INT32, &s->b[i]), 0);
            uint32_t *h = shost(s, i, FRONTA_ACCESS_OUT);
            memcpy(h, s->model[i], n * sizeof(uint32_t));
            srelease(s, i);
        }
    }
}

static void sround(stress_t *s, size_t n, size_t steps)
{
    sround_open(s, n);
    slog(s, "round n %zu", n);
    /* Both directions at least once, whatever the draw: to the device
     * (the host's contents under the user's kernel), then back. */
    slog(s, "dev INOUT b0: user kernel k 7 (round start)");
    cl_mem m = sdev(s, 0, FRONTA_ACCESS_INOUT);
    suser_kernel(s, 0, m, 7);
    srelease(s, 0);
    for (size_t st = 0; st < steps; st++)
        sstep(s);
    for (size_t i = 0; i < NB; i++) {
        slog(s, "host IN b%zu (round end)", i);
        uint32_t *h = shost(s, i, FRONTA_ACCESS_IN);
        scheck(s, s->model[i], h, n, "end of round", i);
        srelease(s, i);
    }
    /* Destroy with the user's commands and tasks still queued: the
     * wrapped arrays get the last contents. */
    for (size_t i = 0; i < 6; i++)
        sstep(s);
    slog(s, "dev OUT b0: fill (before destroy)");
    m = sdev(s, 0, FRONTA_ACCESS_OUT);
    suser_fill(s, 0, m, 0, n, 0xdeadbeefu);
    srelease(s, 0);
    for (size_t i = 0; i < NB; i++) {
        slog(s, "destroy b%zu", i);
        if (fronta_buffer_destroy(s->b[i]) != 0)
            sfail(s, "destroy failed");
        if (s->wrapped[i])
            scheck(s, s->model[i], s->wrapped[i], n, "after destroy", i);
    }
    /* Nothing may land in the arrays after destroy. */
    ssync(s);
    for (size_t i = 0; i < NB; i++)
        if (s->wrapped[i])
            scheck(s, s->model[i], s->wrapped[i], n, "after destroy and clFinish", i);
    for (size_t i = 0; i < s->nfs; i++) {
        int e = ft_outcome(s->fs[i]);
        if (e != 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "task %zu of the round failed: %s (%s)", i,
                     fronta_err_name(e), ft_message(s->fs[i]));
            sfail(s, msg);
        }
        fronta_future_release(s->fs[i]);
    }
    s->nfs = 0;
    s->nring = 0;
    for (size_t i = 0; i < NB; i++) {
        free(s->model[i]);
        free(s->wrapped_raw[i]);
        s->model[i] = NULL;
        s->wrapped[i] = NULL;
        s->wrapped_raw[i] = NULL;
    }
}

static void stress(int zero_copy)
{
    env_t e;
    if (!env_open(&e, zero_copy))
        skip();
    stress_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->e = &e;
    s->rng = the_seed; /* both paths run the same sequences */
    int maps = env_maps(&e);
    fronta_device_stats_t d0 = ft_dstats(e.rt, e.cl);
    static const size_t sizes[] = {1, 13, 1021, 4099, 65537};
    size_t steps = ft_scaled(800, 200);
    for (size_t r = 0; r < sizeof sizes / sizeof sizes[0]; r++)
        sround(s, sizes[r], steps);
    fronta_device_stats_t d1 = ft_dstats(e.rt, e.cl);
    print_message("[ info     ] %s, %zu steps a round:", path_name(zero_copy), steps);
    for (int i = 0; i < OP_COUNT; i++)
        print_message(" %s %ld%s", op_names[i], s->ops[i], i + 1 < OP_COUNT ? "," : "\n");
    print_message("[ info     ] device %d: run %llu, chained %llu, fallbacks %llu,"
                  " to device %llu B, to host %llu B, maps %llu\n", e.cl,
                  (unsigned long long)(d1.tasks_run - d0.tasks_run),
                  (unsigned long long)(d1.kernels_chained - d0.kernels_chained),
                  (unsigned long long)(d1.fallbacks - d0.fallbacks),
                  (unsigned long long)(d1.bytes_to_device - d0.bytes_to_device),
                  (unsigned long long)(d1.bytes_to_host - d0.bytes_to_host),
                  (unsigned long long)(d1.maps - d0.maps));
    assert_int_equal(d1.fallbacks, d0.fallbacks);
    if (maps) {
        /* Zero-copy: maps, no copies. */
        assert_true(d1.maps > d0.maps);
        assert_int_equal(d1.bytes_to_device, d0.bytes_to_device);
        assert_int_equal(d1.bytes_to_host, d0.bytes_to_host);
    } else {
        /* The copy path: both directions, no maps. */
        assert_true(d1.bytes_to_device > d0.bytes_to_device);
        assert_true(d1.bytes_to_host > d0.bytes_to_host);
        assert_int_equal(d1.maps, d0.maps);
    }
    free(s->fs);
    free(s);
    env_close(&e);
}

static void stress_zero_copy(void **state)
{
    (void)state;
    stress(0);
}

static void stress_copy_path(void **state)
{
    (void)state;
    stress(-1);
}

/* ---- issue 7, defect 1: the user's commands before the next access ---- */

/* 256 KiB: the fill is then overtaken in most rounds (measured on PoCL
 * before the fix). Odd rounds put the user's slow kernel first, which
 * makes the race all but certain whatever the size. */
enum { REG_ROUNDS = 200, REG_N = 1 << 16 };

typedef enum reg_kind {
    REG_FILL_HOST_OUT, /* user fill OUT, then a host OUT */
    REG_FILL_POOL_OUT, /* user fill OUT, then a pool task's OUT */
    REG_READ_HOST_OUT  /* user read IN, then a host OUT */
} reg_kind_t;

static const char *const reg_names[] = {
    "fill, then host OUT", "fill, then pool task OUT", "read, then host OUT",
};

/* Elements of h[0..n) that differ from v + i; the first in *first. */
static size_t count_bad(const uint32_t *h, size_t n, uint32_t v, size_t *first)
{
    size_t bad = 0;
    for (size_t i = n; i-- > 0;)
        if (h[i] != v + (uint32_t)i) {
            bad++;
            *first = i;
        }
    return bad;
}

static void host_write(fronta_buffer_t *b, size_t n, uint32_t v)
{
    void *p = NULL;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, FT_LIMIT, &p), 0);
    for (size_t i = 0; i < n; i++)
        ((uint32_t *)p)[i] = v + (uint32_t)i;
    assert_int_equal(fronta_buffer_release(b), 0);
}

static size_t host_count_bad(fronta_buffer_t *b, size_t n, uint32_t v, size_t *first)
{
    void *p = NULL;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
    size_t bad = count_bad(p, n, v, first);
    assert_int_equal(fronta_buffer_release(b), 0);
    return bad;
}

/* One round; the number of elements wrong because the user's command,
 * not waited for, had not finished when release returned: *at_once of
 * them seen before the test's clFinish. */
static size_t reg_round(const env_t *e, reg_kind_t kind, fronta_buffer_t *b, uint32_t *staging,
                        size_t n, int r, size_t *at_once, size_t *first)
{
    uint32_t old = 0x5a000000u + (uint32_t)r * 4096u, newer = 0xa5000000u + (uint32_t)r;
    cl_mem m = NULL;
    *at_once = 0;
    if (kind == REG_READ_HOST_OUT) {
        /* The device copy holds `old`; the user reads it, not waiting;
         * then the host overwrites it. The staging array must hold `old`
         * from the release on. */
        host_write(b, n, old);
        memset(staging, 0, n * sizeof *staging);
        assert_int_equal(fronta_opencl_buffer_acquire(b, e->cl, FRONTA_ACCESS_IN, FT_LIMIT, &m),
                         0);
        if (r % 2)
            env_delay(e);
        CL_OK(clEnqueueReadBuffer(e->q, m, CL_FALSE, 0, n * sizeof *staging, staging, 0, NULL,
                                  NULL));
        assert_int_equal(fronta_buffer_release(b), 0);
        /* Release returned once the read finished (fronta_opencl.h). */
        *at_once = count_bad(staging, n, old, first);
        host_write(b, n, newer);
        CL_OK(clFinish(e->q));
        size_t late_first = 0, late = count_bad(staging, n, old, &late_first);
        if (!*at_once)
            *first = late_first;
        return late > *at_once ? late : *at_once;
    }
    /* The user fills the device copy with `old`, not waiting; then the
     * host or a pool task overwrites all of it with `newer`. */
    assert_int_equal(fronta_opencl_buffer_acquire(b, e->cl, FRONTA_ACCESS_OUT, FT_LIMIT, &m), 0);
    if (r % 2)
        env_delay(e);
    CL_OK(clEnqueueFillBuffer(e->q, m, &old, sizeof old, 0, n * sizeof old, 0, NULL, NULL));
    assert_int_equal(fronta_buffer_release(b), 0);
    if (kind == REG_FILL_HOST_OUT) {
        host_write(b, n, newer);
    } else {
        fronta_task_desc_t t = ft_task(e->set, FRONTA_NEED_CPU_POOL, FRONTA_OUT(b),
                                       FRONTA_I32((int32_t)newer), FT_NOARG);
        fronta_future_t *f = ft_submit_ok(e->rt, &t);
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
    }
    *at_once = host_count_bad(b, n, newer, first);
    CL_OK(clFinish(e->q));
    size_t late_first = 0, late = host_count_bad(b, n, newer, &late_first);
    if (!*at_once)
        *first = late_first;
    return late > *at_once ? late : *at_once;
}

/* REG_ROUNDS rounds of the scenario on one path; the rounds that went
 * wrong; -1 without a device. */
static int reg_path(reg_kind_t kind, int zero_copy)
{
    env_t e;
    if (!env_open(&e, zero_copy))
        return -1;
    size_t n = REG_N;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(e.rt, n, FRONTA_INT32, &b), 0);
    uint32_t *staging = page_alloc(n);
    int lost[2] = {0, 0}, seen_at_once = 0, first_round = -1;
    size_t first_elem = 0, first_bad = 0;
    for (int r = 0; r < REG_ROUNDS; r++) {
        size_t at_once = 0, first = 0;
        size_t bad = reg_round(&e, kind, b, staging, n, r, &at_once, &first);
        if (!bad)
            continue;
        lost[r % 2]++;
        seen_at_once += at_once != 0;
        if (first_round < 0) {
            first_round = r;
            first_elem = first;
            first_bad = bad;
        }
    }
    print_message("[ info     ] %s, %s, %zu elements: %d of %d rounds wrong"
                  " (%d of them with the slow kernel first; %d seen before clFinish)",
                  reg_names[kind], path_name(zero_copy), n, lost[0] + lost[1], REG_ROUNDS,
                  lost[1], seen_at_once);
    if (first_round >= 0)
        print_message("; first in round %d: %zu elements, the first at %zu\n", first_round,
                      first_bad, first_elem);
    else
        print_message("\n");
    assert_int_equal(fronta_buffer_destroy(b), 0);
    free(staging);
    env_close(&e);
    return lost[0] + lost[1];
}

/* Both paths, then the verdict, so that one run reports both. */
static void reg_run(reg_kind_t kind)
{
    int zc = reg_path(kind, 0);
    if (zc < 0)
        skip();
    int cp = reg_path(kind, -1);
    if (zc || cp)
        fail_msg("%s: the user's command had not finished at release in %d rounds"
                 " (zero-copy) and %d (copy path) of %d", reg_names[kind], zc, cp, REG_ROUNDS);
}

static void interop_fill_then_host_out(void **state)
{
    (void)state;
    reg_run(REG_FILL_HOST_OUT);
}

static void interop_fill_then_pool_out(void **state)
{
    (void)state;
    reg_run(REG_FILL_POOL_OUT);
}

static void interop_read_then_host_out(void **state)
{
    (void)state;
    reg_run(REG_READ_HOST_OUT);
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    if (!ft_have_opencl()) {
        puts("no OpenCL device: skipped");
        return 77;
    }
    the_seed = stress_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interop_fill_then_host_out),
        cmocka_unit_test(interop_fill_then_pool_out),
        cmocka_unit_test(interop_read_then_host_out),
        cmocka_unit_test(stress_zero_copy),
        cmocka_unit_test(stress_copy_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
