/* fuzz_api.c — libFuzzer target over fronta's descriptor and argument checks; what they accept is run and its outcome checked. */
/*
 * The input is a stream of operations on one long-lived runtime (pool +
 * the default OpenCL devices): make buffers (some with counts near
 * SIZE_MAX), register kernels from random descriptors (0.1 ones, whose
 * parameters are in the 0.1 layout, among them), submit kernel tasks
 * (1-D and 2-D launches) and plain tasks (map, submit_call) with random
 * arguments, wait on them (fronta_wait, as_completed, huge counts
 * included), acquire buffers, cancel, add callbacks. An input whose first byte is 0xff instead
 * creates a runtime from a random fronta_config_t, which is slow (PoCL
 * start-up), so the fuzzer rarely takes that branch.
 *
 * Partitions (docs/arrays.md) are the operation bytes 252..255 (the others
 * keep the meaning they had before, and so the corpus does): 252 cuts a
 * buffer (every way, NULL and cut-short descriptors, bad lengths and
 * tiles; chunks and partitioned parents too), 253 unpartitions or asks
 * the chunk accessors, 254 maps a kernel over partitioned arguments
 * (fronta_submit_map), 255 reduces, compacts or concatenates. The chunks
 * of a partition into at most FZ_TRACK_CHUNKS are buffer slots of their
 * own, which every other operation then uses too: their shadows are
 * views of the parent's (tiles packed copies) brought home at the
 * unpartition, a map's chunk tasks are replayed as kernel tasks, and its
 * whole future is checked against theirs.
 *
 * Every call's code must be 0 or a documented FRONTA_E* code. What
 * validation accepts really runs: the iteration waits for each future
 * (bounded), checks its outcome against what the task was made to do, and
 * replays the buffer accesses in submission order on shadow copies, so the
 * contents the host sees (acquire, destroy's write-back) are checked
 * against a serial computation. Everything is released at the end of the
 * iteration.
 *
 * A defect known and being fixed can be tolerated for a while behind a
 * switch that is off by default (#ifdef FUZZ_KNOWN_BUG_<NAME> around the
 * input that triggers it; docs/testing.md), so that fuzzing goes on past
 * it; remove the switch with the fix.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fronta.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SEED 0x66757a7a5eedull
#define FZ_MAX_BUFS 6     /* made by op_buf_new */
#define FZ_MAX_SLOTS 48   /* those and the chunks the harness follows */
#define FZ_MAX_TASKS 64
#define FZ_MAX_KERNELS 6
#define FZ_MAX_OPS 24
#define FZ_MAX_EVENTS 1024
#define FZ_MAP_MAX 8
/* Kernels cannot be unregistered: the long-lived runtime is replaced
 * after this many, so that memory and name look-ups stay bounded. */
#define FZ_KERNELS_PER_RUNTIME 400
/* No single allocation above this reaches malloc: libFuzzer treats a huge
 * malloc as a crash, and fronta must turn a refusal into FRONTA_ENOMEM. */
#define FZ_ALLOC_MAX ((size_t)256 << 20)
/* A count whose array of pointers cannot exist. */
#define FZ_HUGE_MIN (SIZE_MAX / sizeof(void *) + 1)

/* ---- failing ------------------------------------------------------------ */

static void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("fuzz_api: FAILED: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* The codes fronta.h documents, from its own list. */
static const int fz_errnos[] = {
#define FZ_ERRNO(name, val, msg) val,
    FRONTA_ERRNO_MAP(FZ_ERRNO)
#undef FZ_ERRNO
};

static int code_documented(int rc)
{
    if (rc == 0)
        return 1;
    for (size_t i = 0; i < sizeof fz_errnos / sizeof fz_errnos[0]; i++)
        if (fz_errnos[i] == rc)
            return 1;
    return 0;
}

/* 0, or negative with a name: what every call may return. */
static int code_known(int rc)
{
    const char *name = fronta_err_name(rc);
    return rc == 0 ||
           (rc < 0 && name && !strcasestr(name, "unknown") && code_documented(rc));
}

/* A bit per code: FZ_OK, FZ_B(EINVAL), ... */
#define FZ_OK 1u
#define FZ_B(e) (1u << -(FRONTA_##e))

/* rc must be a documented code, and in `allowed` when that is not 0. */
static void check_rc(const char *what, int rc, unsigned allowed)
{
    if (!code_known(rc))
        fz_fail("%s returned %d (%s), not 0 or a FRONTA_E* code", what, rc, fronta_err_name(rc));
    if (allowed && !((rc == 0 ? FZ_OK : 1u << -rc) & allowed))
        fz_fail("%s returned %s, which its contract does not allow here", what,
                fronta_err_name(rc));
}

/* A task's outcome code: documented, or the positive code of a task that
 * returned one (known defect: pool.c passes it through). */
static void check_task_code(const char *what, int code)
{
    if (!code_known(code))
        fz_fail("%s: future's code %d (%s) is not 0 or a FRONTA_E* code", what, code,
                fronta_err_name(code));
}

static double fz_wait_limit = 20.0;

/* FRONTA_FUZZ_TRACE=1: a line per operation on stderr, to read what a
 * crashing input does. */
static int fz_trace;
#define FZ_TRACE(...)                                                           \
    do {                                                                        \
        if (fz_trace)                                                           \
            fprintf(stderr, "fuzz_api: " __VA_ARGS__);                          \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- input -------------------------------------------------------------- */

typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

static uint8_t in_u8(fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint64_t in_bytes(fz_in *in, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)in_u8(in) << (8 * i);
    return v;
}

static uint16_t in_u16(fz_in *in) { return (uint16_t)in_bytes(in, 2); }
static uint32_t in_u32(fz_in *in) { return (uint32_t)in_bytes(in, 4); }
static uint64_t in_u64(fz_in *in) { return in_bytes(in, 8); }

/* 0 .. n-1 (n <= 256) */
static unsigned in_pick(fz_in *in, unsigned n)
{
    return n ? in_u8(in) % n : 0;
}

/* ---- an allocator hook that counts, refuses huge sizes, injects faults --- */

typedef struct fz_heap {
    atomic_long blocks;
    atomic_long bytes;
    atomic_long calls;
    long fail_at;          /* the call number that fails (1-based); 0: none */
    int fail_after;        /* every call from fail_at on fails */
} fz_heap;

static void *fz_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    fz_heap *h = ud;
    if (new_size == 0) {
        if (ptr) {
            free(ptr);
            atomic_fetch_sub(&h->blocks, 1);
            atomic_fetch_sub(&h->bytes, (long)old_size);
        }
        return NULL;
    }
    long k = atomic_fetch_add(&h->calls, 1) + 1;
    if (new_size > FZ_ALLOC_MAX)
        return NULL;
    if (h->fail_at && (k == h->fail_at || (h->fail_after && k > h->fail_at)))
        return NULL;
    void *p = realloc(ptr, new_size);
    if (!p)
        return NULL;
    if (!ptr)
        atomic_fetch_add(&h->blocks, 1);
    atomic_fetch_add(&h->bytes, (long)new_size - (long)(ptr ? old_size : 0));
    return p;
}

/* ---- the long-lived runtime --------------------------------------------- */

static fronta_runtime_t *g_rt;
static fz_heap g_heap;
static int g_ndev;
static int g_has_gpu;
static int g_has_cl;
static fronta_kernel_t *g_scale, *g_saxpy;
static unsigned g_kernels;      /* registered in g_rt */
static unsigned long g_serial;  /* name suffixes, unique in the process */
static uint64_t g_salt;

static void rt_open(void)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    /* Quiet unless FRONTA_LOG asks: failing builds and tasks are the point. */
    cfg.log_level = getenv("FRONTA_LOG") ? FRONTA_LOG_DEFAULT : FRONTA_LOG_OFF;
    cfg.seed = FZ_SEED;
    cfg.alloc = fz_alloc;
    cfg.alloc_ud = &g_heap;
    int rc = fronta_runtime_create(&cfg, &g_rt);
    if (rc)
        fz_fail("cannot create the long-lived runtime: %s", fronta_strerror(rc));
    g_ndev = fronta_device_count(g_rt);
    g_has_gpu = g_has_cl = 0;
    for (int i = 1; i < g_ndev; i++) {
        fronta_device_info_t di;
        memset(&di, 0, sizeof di);
        di.size = sizeof di;
        if (fronta_device_info(g_rt, i, &di) == 0 && di.kind == FRONTA_DEVICE_OPENCL) {
            g_has_cl = 1;
            if (di.type == FRONTA_DEVTYPE_GPU)
                g_has_gpu = 1;
        }
    }
    /* Registered first, so that a user kernel named "scale" is EBUSY. */
    g_scale = fronta_kernel_builtin(g_rt, "scale");
    g_saxpy = fronta_kernel_builtin(g_rt, "saxpy");
    if (!g_scale || !g_saxpy)
        fz_fail("fronta_kernel_builtin(scale/saxpy) returned NULL");
    g_kernels = 2;
}

static void rt_close(void)
{
    fronta_runtime_destroy(g_rt);
    g_rt = NULL;
    if (atomic_load(&g_heap.blocks) != 0)
        fz_fail("runtime destroyed with %ld blocks (%ld bytes) still allocated through its hook",
                atomic_load(&g_heap.blocks), atomic_load(&g_heap.bytes));
}

/* ---- plain tasks -------------------------------------------------------- */

/* What a failing attempt returns. Positive values are not FRONTA_E*
 * codes: the runtime must report them as FRONTA_ETASK. */
static const int fz_codes[] = {
    0, FRONTA_ETASK, FRONTA_EINVAL, FRONTA_ENOMEM, FRONTA_ECANCELLED, FRONTA_EDEVICE,
    FRONTA_EDEPFAILED, FRONTA_ETIMEDOUT, 1, 42, INT_MAX,
};
#define FZ_NCODES (sizeof fz_codes / sizeof fz_codes[0])

/* The argument of fz_fn. */
typedef struct fz_targ {
    uint32_t tag;
    uint8_t code;      /* index in fz_codes, | 0x80: fail through fronta_ctx_fail */
    uint8_t fails;     /* attempts that fail before one succeeds */
    uint8_t children;  /* nested submissions, waited for */
    uint8_t big;       /* a result larger than a task's inline space */
} fz_targ;

/* Bits of fz_tres.bad: what a task saw that contradicts the contract. */
enum {
    FZ_BAD_CHILD_RC = 1,      /* a nested call returned an undocumented code */
    FZ_BAD_CHILD_KEY0 = 2,    /* a child's automatic key is 0 */
    FZ_BAD_CHILD_KEYDUP = 4,  /* two children (or child and parent) share a key */
    FZ_BAD_CHILD_RAND = 8,    /* a child's stream is not fronta_random_u64(seed, key, .) */
    FZ_BAD_CHILD_RESULT = 16, /* a finished child's result is wrong */
};

typedef struct fz_tres {
    uint32_t tag;
    uint32_t attempt;
    uint64_t rand0;    /* the first fronta_ctx_random of the attempt */
    uint64_t bad;
    int32_t child_rc;
    uint32_t pad;
    uint8_t fill[200]; /* only with big: pattern of tag */
} fz_tres;
#define FZ_TRES_SMALL offsetof(fz_tres, fill)

static int fz_child(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    uint64_t r = fronta_ctx_random(ctx);
    return fronta_ctx_return(ctx, &r, sizeof r);
}

static int fz_code_of(uint8_t c)
{
    return fz_codes[(c & 0x7f) % FZ_NCODES];
}

static int fz_fn(fronta_ctx_t *ctx, void *arg)
{
    fz_targ a;
    memcpy(&a, arg, sizeof a);
    fz_tres r;
    memset(&r, 0, sizeof r);
    r.tag = a.tag;
    r.attempt = fronta_ctx_attempt(ctx);
    r.rand0 = fronta_ctx_random(ctx);
    int code = fz_code_of(a.code);
    if (code && r.attempt < a.fails) {
        if (a.code & 0x80)
            return fronta_ctx_fail(ctx, code, "fz task %u attempt %u", a.tag, r.attempt);
        return code;
    }
    fronta_future_t *cf[4] = {NULL, NULL, NULL, NULL};
    uint64_t keys[5] = {0, 0, 0, 0, 0};
    unsigned nc = a.children % 4;
    fronta_runtime_t *rt = fronta_ctx_runtime(ctx);
    for (unsigned i = 0; i < nc; i++) {
        int rc = fronta_submit_fn(rt, fz_child, NULL, 0, &cf[i]);
        if (!code_known(rc))
            r.bad |= FZ_BAD_CHILD_RC;
        if (rc) {
            r.child_rc = rc;
            continue;
        }
        uint64_t k = fronta_future_key(cf[i]);
        if (k == 0)
            r.bad |= FZ_BAD_CHILD_KEY0;
        keys[i + 1] = k;
        for (unsigned j = 0; j < i; j++)
            if (cf[j] && keys[j + 1] == k)
                r.bad |= FZ_BAD_CHILD_KEYDUP;
    }
    for (unsigned i = 0; i < nc; i++) {
        if (!cf[i])
            continue;
        int rc = fronta_future_wait(cf[i], fz_wait_limit);
        if (!code_known(rc))
            r.bad |= FZ_BAD_CHILD_RC;
        if (rc == 0) {
            uint64_t v = 0;
            int rr = fronta_future_result(cf[i], 0, &v, sizeof v);
            if (rr)
                r.bad |= FZ_BAD_CHILD_RESULT;
            else if (v != fronta_random_u64(FZ_SEED, keys[i + 1], 0))
                r.bad |= FZ_BAD_CHILD_RAND;
        }
        fronta_future_release(cf[i]);
    }
    size_t size = FZ_TRES_SMALL;
    if (a.big) {
        memset(r.fill, (int)(a.tag & 0xff), sizeof r.fill);
        size = sizeof r;
    }
    int rc = fronta_ctx_return(ctx, &r, size);
    return rc;
}

/* For arguments too short to hold a fz_targ: reads nothing. */
static int fz_fn_noarg(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    fz_tres r;
    memset(&r, 0, sizeof r);
    r.tag = 0xffffffffu;
    r.attempt = fronta_ctx_attempt(ctx);
    r.rand0 = fronta_ctx_random(ctx);
    return fronta_ctx_return(ctx, &r, FZ_TRES_SMALL);
}

/* ---- kernels ------------------------------------------------------------ */

/* What a kernel does to its buffers; the shadow replay does the same. */
enum {
    FZ_OP_NOP = 0, /* writes nothing (random parameters: fz_cpu_code, fz_nop) */
    FZ_OP_SCALE,   /* x INOUT, a of x's scalar kind: x *= a (fz_scale: float; builtin
                      "scale": int32, int64, float, double) */
    FZ_OP_SAXPY,   /* x IN, y INOUT like x, a like x: y = a*x + y (builtin "saxpy") */
    FZ_OP_FILL,    /* int32 x OUT, i32 v: x = v */
    FZ_OP_FIRST,   /* int32 s IN (any count), int32 d OUT: d = s[0] */
    FZ_OP_AXPYD,   /* double x IN, double y INOUT, f64 a: y += a*x */
    FZ_OP_INC8,    /* uint8 x INOUT: x += 1 */
    FZ_OP_ADD64,   /* int64 x INOUT, i64 v: x += v (wrapping) */
};

static atomic_int g_impl_misuse; /* a CPU implementation got arguments its parameters exclude */

static int cpu_args_ok(const fronta_karg_t *a, size_t nargs, size_t want, size_t n,
                       unsigned buffers, unsigned global_buffers)
{
    if (nargs != want)
        return 0;
    for (size_t i = 0; i < nargs; i++) {
        int is_buf = (buffers >> i) & 1;
        if (is_buf != (a[i].ptr != NULL))
            return 0;
        if (((global_buffers >> i) & 1) && a[i].count != n)
            return 0;
        if (is_buf && a[i].count == 0)
            return 0;
    }
    return 1;
}

#define FZ_CPU_CHECK(want, bufs, gbufs)                                         \
    do {                                                                        \
        (void)ctx;                                                              \
        if (!cpu_args_ok(a, nargs, (want), n, (bufs), (gbufs))) {               \
            atomic_fetch_add(&g_impl_misuse, 1);                                \
            return FRONTA_EARG;                                                 \
        }                                                                       \
    } while (0)

static int cpu_scale(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    FZ_CPU_CHECK(2, 1u, 1u);
    float *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] *= a[1].v.f32;
    return 0;
}

static int cpu_fill(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    FZ_CPU_CHECK(2, 1u, 1u);
    int32_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] = a[1].v.i32;
    return 0;
}

static int cpu_first(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    FZ_CPU_CHECK(2, 3u, 2u);
    const int32_t *s = a[0].ptr;
    int32_t *d = a[1].ptr;
    int32_t v = s[0];
    for (size_t i = 0; i < n; i++)
        d[i] = v;
    return 0;
}

static int cpu_axpyd(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    FZ_CPU_CHECK(3, 3u, 3u);
    const double *x = a[0].ptr;
    double *y = a[1].ptr;
    for (size_t i = 0; i < n; i++)
        y[i] = a[2].v.f64 * x[i] + y[i];
    return 0;
}

static int cpu_inc8(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    FZ_CPU_CHECK(1, 1u, 1u);
    uint8_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] = (uint8_t)(x[i] + 1);
    return 0;
}

static int cpu_add64(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    FZ_CPU_CHECK(2, 1u, 1u);
    uint64_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] += (uint64_t)a[1].v.i64;
    return 0;
}

/* The CPU implementation of kernels with random parameters: it cannot
 * know their types, so it touches only the first and last byte of each
 * buffer (each has at least count bytes) and writes nothing. Its code
 * comes from the first scalar argument. */
static int fz_code_for_scalar(uint32_t bits)
{
    return fz_codes[bits % FZ_NCODES];
}

static int cpu_code(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    (void)ctx;
    (void)n;
    int code = 0, seen = 0;
    for (size_t i = 0; i < nargs; i++) {
        if (a[i].ptr) {
            const volatile unsigned char *p = a[i].ptr;
            (void)p[0];
            (void)p[a[i].count - 1];
        } else if (!seen) {
            seen = 1;
            code = fz_code_for_scalar((uint32_t)a[i].v.i32);
        }
    }
    return code;
}

/* FZ_I: the element of a work item, row-major, so that the sources serve
 * 1-D launches and 2-D ones (get_global_id(1) is the row, 0 in 1-D). */
#define FZ_I "(get_global_id(1) * get_global_size(0) + get_global_id(0))"
static const char src_scale[] =
    "__kernel void fz_scale(__global float *x, const float a)\n"
    "{ size_t i = " FZ_I "; x[i] *= a; }\n";
static const char src_fill[] =
    "__kernel void fz_fill(__global int *x, const int v)\n"
    "{ x[" FZ_I "] = v; }\n";
static const char src_first[] =
    "__kernel void fz_first(__global const int *s, __global int *d)\n"
    "{ d[" FZ_I "] = s[0]; }\n";
static const char src_axpyd[] =
    "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
    "#pragma OPENCL FP_CONTRACT OFF\n"
    "__kernel void fz_axpyd(__global const double *x, __global double *y, const double a)\n"
    "{ size_t i = " FZ_I "; y[i] = a * x[i] + y[i]; }\n";
static const char src_inc8[] =
    "__kernel void fz_inc8(__global uchar *x)\n"
    "{ size_t i = " FZ_I "; x[i] = (uchar)(x[i] + 1); }\n";
static const char src_add64[] =
    "__kernel void fz_add64(__global ulong *x, const ulong v)\n"
    "{ x[" FZ_I "] += v; }\n";
static const char src_nop[] = "__kernel void fz_nop(void) { }\n";
static const char src_bad[] =
    "__kernel void fz_bad(__global float *x { this is not OpenCL C }\n";

#define P_BUF(t, m, c) {.kind = FRONTA_ARG_BUFFER, .dtype = (t), .access = (m), .count = (c)}
#define P_SCALAR(k) {.kind = (k)}

typedef struct fz_template {
    int op;
    const char *entry;
    const char *src;
    fronta_cpu_kernel_fn cpu;
    size_t nparams;
    fronta_param_t params[3];
} fz_template;

static const fz_template fz_templates[] = {
    {FZ_OP_SCALE, "fz_scale", src_scale, cpu_scale, 2,
     {P_BUF(FRONTA_FLOAT, FRONTA_ACCESS_INOUT, FRONTA_COUNT_GLOBAL), P_SCALAR(FRONTA_ARG_F32)}},
    {FZ_OP_FILL, "fz_fill", src_fill, cpu_fill, 2,
     {P_BUF(FRONTA_INT32, FRONTA_ACCESS_OUT, FRONTA_COUNT_GLOBAL), P_SCALAR(FRONTA_ARG_I32)}},
    {FZ_OP_FIRST, "fz_first", src_first, cpu_first, 2,
     {P_BUF(FRONTA_INT32, FRONTA_ACCESS_IN, FRONTA_COUNT_ANY),
      P_BUF(FRONTA_INT32, FRONTA_ACCESS_OUT, FRONTA_COUNT_GLOBAL)}},
    {FZ_OP_AXPYD, "fz_axpyd", src_axpyd, cpu_axpyd, 3,
     {P_BUF(FRONTA_DOUBLE, FRONTA_ACCESS_IN, FRONTA_COUNT_GLOBAL),
      P_BUF(FRONTA_DOUBLE, FRONTA_ACCESS_INOUT, FRONTA_COUNT_GLOBAL), P_SCALAR(FRONTA_ARG_F64)}},
    {FZ_OP_INC8, "fz_inc8", src_inc8, cpu_inc8, 1,
     {P_BUF(FRONTA_UINT8, FRONTA_ACCESS_INOUT, FRONTA_COUNT_GLOBAL)}},
    {FZ_OP_ADD64, "fz_add64", src_add64, cpu_add64, 2,
     {P_BUF(FRONTA_INT64, FRONTA_ACCESS_INOUT, FRONTA_COUNT_GLOBAL), P_SCALAR(FRONTA_ARG_I64)}},
};
#define FZ_NTEMPLATES (sizeof fz_templates / sizeof fz_templates[0])

/* Build options: the first four build, the last does not. */
static const char *const fz_options[] = {NULL, "", "-cl-std=CL1.2", "-DFZ_UNUSED=1",
                                         "-cl-no-such-option"};
#define FZ_NOPTIONS_OK 4

/* A kernel registered in this iteration, as the harness sees it. */
typedef struct fz_kern {
    fronta_kernel_t *k;
    int op;           /* what it does when it runs */
    int has_cpu;
    int has_cl;       /* an OpenCL source (it may not build) */
    int cl_good;      /* its source, entry and options build and do `op` */
    int check;        /* has fz_check */
    size_t nparams;
    fronta_param_t params[FRONTA_MAX_ARGS];
    char name[96];
} fz_kern;

/* ---- buffers and the shadow model --------------------------------------- */

static size_t dsize(fronta_dtype_t t)
{
    switch (t) {
    case FRONTA_UINT8:
        return 1;
    case FRONTA_INT32:
    case FRONTA_FLOAT:
        return 4;
    case FRONTA_INT64:
    case FRONTA_DOUBLE:
        return 8;
    }
    return 0;
}

typedef struct fz_buf {
    fronta_buffer_t *b;     /* NULL once destroyed (or never made) */
    fronta_dtype_t type;
    size_t count;
    size_t bytes;
    void *user;             /* the wrapped array, or NULL: owned by fronta */
    int held;               /* acquired by the harness */
    fronta_access_t held_mode;
    void *held_host;
    /* replay state */
    unsigned char *shadow;
    double *err;            /* per element bound (float, double); 0: exact */
    int known;              /* shadow holds the contents */
    int poison;             /* 0 clean, <0 the failing writer's code, FZ_PZ_* */
    /* partitions */
    int part;               /* its live partition (index in it->parts), or -1 */
    int chunk_of;           /* the partition it is a chunk of, or -1 */
    size_t cidx;            /* its index there */
    int retired;            /* that partition was undone: a stale handle */
    void *host_seen;        /* an owned buffer's host array, once acquired */
    int view;               /* replay: shadow and err point into the parent's */
} fz_buf;

/* Poison besides a code: the outcome of the last writer is unknown, or it
 * failed because of its own inputs (FRONTA_EDEPFAILED, or
 * FRONTA_ECANCELLED when the failure started at a cancelled task). */
#define FZ_PZ_UNKNOWN 1
#define FZ_PZ_DEP 2

static int pz_failed(int poison)
{
    return poison < 0 || poison == FZ_PZ_DEP;
}

/* The poison of what reads a buffer of poison p and writes another. */
static int pz_through(int p)
{
    return pz_failed(p) ? FZ_PZ_DEP : p;
}

enum {
    FZ_EV_INIT,    /* data: initial contents */
    FZ_EV_TASK,    /* task: a kernel task */
    FZ_EV_HOSTW,   /* data: what the host wrote under an OUT/INOUT acquire */
    FZ_EV_SNAP,    /* data: what the host read under an IN/INOUT acquire */
    FZ_EV_ACQ,     /* rc: an IN/INOUT acquire that failed */
    FZ_EV_ACQOUT,  /* an OUT acquire that succeeded: clears a failure */
    FZ_EV_DESTROY, /* data: the wrapped array after destroy; buffer gone */
    FZ_EV_FINAL,   /* data: contents at the end */
    FZ_EV_PART,    /* task: the partition (it->parts) of buffer slot */
    FZ_EV_UNPART,  /* task: the partition undone */
};

typedef struct fz_ev {
    int type;
    int slot;
    int task;
    int rc;
    unsigned char *data;
} fz_ev;

/* A future of this iteration. */
enum {
    FZ_T_KERNEL,
    FZ_T_FN,
    FZ_T_NOARG,
    FZ_T_MAPALL,  /* fronta_submit_map's whole-map future */
    FZ_T_REDUCE,  /* fronta_reduce: x, result */
    FZ_T_COMPACT, /* fronta_compact: x, mask, out */
    FZ_T_CONCAT,  /* fronta_concat: bufs, out */
};
#define FZ_CONCAT_MAX 8

typedef struct fz_task {
    fronta_future_t *f;      /* NULL once released or detached by an op */
    int kind;
    int lost;                /* released/detached/fire-and-forget: outcome unknown */
    int cancel_rc;           /* 1: not tried; else what fronta_future_cancel returned */
    atomic_int *cb_count;    /* done-callback runs; NULL: none added */
    int cb_added;
    int preds[FZ_MAX_TASKS];
    int npreds;
    /* kernel tasks */
    int kern;                /* index in the iteration's kernels, -1 scale, -2 saxpy */
    int op;
    int has_cpu, cl_good;
    fronta_task_desc_t d;
    int slot[FRONTA_MAX_ARGS];
    size_t nargs, global;
    /* plain tasks */
    fz_targ targ;
    unsigned retries;
    int key_given;
    uint64_t key;
    /* a chunk's task of a map (the map's task index), or -1 */
    int map;
    /* FZ_T_MAPALL: its chunks' tasks, first .. first + nchunks - 1 */
    int first, nchunks;
    /* FZ_T_REDUCE, _COMPACT, _CONCAT: slots (-1: none), the reduction */
    int sx, smask, sout;
    int sbufs[FZ_CONCAT_MAX];
    int nsbufs;
    int rop;
    int px, pm;              /* the partitions x and mask were cut into, or -1 */
    int nofuture;            /* called without one: it runs all the same */
    /* at the end */
    int status;
    int code;
} fz_task;

/* A partition as the harness sees it. Chunks are followed (slots of
 * their own: tasks, acquires, maps on them) when there are few enough;
 * otherwise nothing of the harness touches them but the accessors and the
 * calls that read them (reduce, compact), and their contents stay the
 * parent's. */
#define FZ_MAX_PARTS 24
#define FZ_TRACK_CHUNKS 16
typedef struct fz_part {
    int parent;               /* slot */
    size_t n;
    int tiled;
    size_t rows, cols, tr, tc, ntc;
    size_t *off, *len;        /* each chunk's first element (1-D) and count */
    int first;                /* followed: chunk i is slot first + i; -1: not */
    int live;                 /* not unpartitioned yet */
} fz_part;

typedef struct fz_iter {
    fz_buf bufs[FZ_MAX_SLOTS];
    int nbufs;                /* slots in use: buffers and followed chunks */
    int nowned;               /* made by op_buf_new */
    fz_part parts[FZ_MAX_PARTS];
    int nparts;
    fz_task tasks[FZ_MAX_TASKS];
    int ntasks;
    fz_kern kerns[FZ_MAX_KERNELS];
    int nkerns;
    fz_ev evs[FZ_MAX_EVENTS];
    int nevs;
    fronta_as_completed_t *ac;
} fz_iter;

static fz_ev *ev_add(fz_iter *it, int type, int slot)
{
    if (it->nevs == FZ_MAX_EVENTS)
        fz_fail("harness: more than %d events in one iteration", FZ_MAX_EVENTS);
    fz_ev *e = &it->evs[it->nevs++];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->slot = slot;
    e->task = -1;
    return e;
}

static unsigned char *dup_bytes(const void *p, size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    if (!d)
        fz_fail("out of memory in the harness");
    if (n)
        memcpy(d, p, n);
    return d;
}

/* Contents the host writes: a pattern per seed, small values so that
 * float arithmetic stays exact or nearly. */
static void pattern(void *dst, fronta_dtype_t t, size_t count, uint32_t seed)
{
    for (size_t i = 0; i < count; i++) {
        uint32_t v = (uint32_t)i * 2654435761u + seed * 40503u;
        switch (t) {
        case FRONTA_UINT8:
            ((uint8_t *)dst)[i] = (uint8_t)(v >> 13);
            break;
        case FRONTA_INT32:
            ((int32_t *)dst)[i] = (int32_t)(v ^ (v >> 7));
            break;
        case FRONTA_INT64:
            ((int64_t *)dst)[i] = (int64_t)(((uint64_t)v << 29) ^ v);
            break;
        case FRONTA_FLOAT:
            ((float *)dst)[i] = (float)((int)((v >> 9) % 33) - 16) * 0.5f;
            break;
        case FRONTA_DOUBLE:
            ((double *)dst)[i] = (double)((int)((v >> 9) % 65) - 32) * 0.25;
            break;
        }
    }
}

static int elem_equal(fronta_dtype_t t, const unsigned char *got, const unsigned char *exp,
                      double err, size_t i)
{
    if (t == FRONTA_FLOAT || t == FRONTA_DOUBLE) {
        double g, e, tiny;
        if (t == FRONTA_FLOAT) {
            float gf, ef;
            memcpy(&gf, got + i * 4, 4);
            memcpy(&ef, exp + i * 4, 4);
            g = gf;
            e = ef;
            tiny = FLT_MIN; /* a device may flush denormals */
        } else {
            memcpy(&g, got + i * 8, 8);
            memcpy(&e, exp + i * 8, 8);
            tiny = DBL_MIN;
        }
        if (!isfinite(err))
            return 1; /* unknowable (a denormal input, an overflow) */
        if (isnan(e))
            return err > 0 || isnan(g);
        if (isinf(e))
            return err > 0 || g == e;
        return fabs(g - e) <= err + tiny;
    }
    size_t es = dsize(t);
    return !memcmp(got + i * es, exp + i * es, es);
}

static void compare_contents(const fz_iter *it, int slot, const unsigned char *got,
                             const char *when)
{
    const fz_buf *b = &it->bufs[slot];
    if (!b->known)
        return;
    for (size_t i = 0; i < b->count; i++)
        if (!elem_equal(b->type, got, b->shadow, b->err ? b->err[i] : 0, i)) {
            double g = 0, e = 0;
            if (b->type == FRONTA_FLOAT) {
                float gf, ef;
                memcpy(&gf, got + i * 4, 4);
                memcpy(&ef, b->shadow + i * 4, 4);
                g = gf;
                e = ef;
            } else if (b->type == FRONTA_DOUBLE) {
                memcpy(&g, got + i * 8, 8);
                memcpy(&e, b->shadow + i * 8, 8);
            } else {
                size_t es = dsize(b->type);
                uint64_t gv = 0, ev = 0;
                memcpy(&gv, got + i * es, es);
                memcpy(&ev, b->shadow + i * es, es);
                g = (double)gv;
                e = (double)ev;
            }
            fz_fail("%s: buffer %d (dtype %d, %zu elements) element %zu is %.9g, the serial "
                    "computation gives %.9g (bound %.3g)",
                    when, slot, (int)b->type, b->count, i, g, e, b->err ? b->err[i] : 0.0);
        }
}

/* ---- the serial computation of a kernel task ---------------------------- */

static int is_denormal(double v, double min)
{
    return v != 0 && fabs(v) < min;
}

/* x *= s on a float shadow: one rounding, the bits every device gives
 * for exact inputs; a bound grows from inexact ones. */
static void scale_f32(fz_buf *b, float s, size_t n)
{
    float *x = (float *)b->shadow;
    for (size_t i = 0; i < n; i++) {
        double e = b->err[i];
        int dn = is_denormal(x[i], FLT_MIN) || is_denormal(s, FLT_MIN);
        x[i] = x[i] * s;
        e = fabs((double)s) * e + (e > 0 ? 2 * FLT_EPSILON * fabs((double)x[i]) : 0);
        b->err[i] = dn || !isfinite(x[i]) || isnan(s) ? (e > 0 || dn ? INFINITY : 0) : e;
        if (is_denormal(x[i], FLT_MIN))
            b->err[i] = INFINITY;
    }
}

static void scale_f64(fz_buf *b, double s, size_t n)
{
    double *x = (double *)b->shadow;
    for (size_t i = 0; i < n; i++) {
        double e = b->err[i];
        int dn = is_denormal(x[i], DBL_MIN) || is_denormal(s, DBL_MIN);
        x[i] = x[i] * s;
        e = fabs(s) * e + (e > 0 ? 2 * DBL_EPSILON * fabs(x[i]) : 0);
        b->err[i] = dn || !isfinite(x[i]) || isnan(s) ? (e > 0 || dn ? INFINITY : 0) : e;
        if (is_denormal(x[i], DBL_MIN))
            b->err[i] = INFINITY;
    }
}

/* Integers wrap (two's complement): the arithmetic runs unsigned. */
static void scale_int(fz_buf *b, const fronta_arg_t *a, size_t n)
{
    if (b->type == FRONTA_INT64) {
        uint64_t *x = (uint64_t *)b->shadow, s = (uint64_t)a->v.i64;
        for (size_t i = 0; i < n; i++)
            x[i] *= s;
        return;
    }
    uint32_t *x = (uint32_t *)b->shadow, s = (uint32_t)a->v.i32;
    for (size_t i = 0; i < n; i++)
        x[i] *= s;
}

static void apply_scale(fz_buf *b, const fronta_arg_t *a, size_t n)
{
    if (b->type == FRONTA_FLOAT)
        scale_f32(b, a->v.f32, n);
    else if (b->type == FRONTA_DOUBLE)
        scale_f64(b, a->v.f64, n);
    else
        scale_int(b, a, n);
}

/* y = s*x + y: a rounded product, then a rounded sum (no FMA). bx may be
 * by: each element is read before it is written. */
static void axpy_f32(const fz_buf *bx, fz_buf *by, float s, size_t n)
{
    const float *x = (const float *)bx->shadow;
    float *y = (float *)by->shadow;
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], yi = y[i], ex = bx->err[i], ey = by->err[i];
        int dn = is_denormal(xi, FLT_MIN) || is_denormal(yi, FLT_MIN) || is_denormal(s, FLT_MIN);
        float p = s * x[i];
        y[i] = p + y[i];
        double e = fabs((double)s) * ex + ey +
                   2 * FLT_EPSILON * (fabs((double)s * xi) + fabs(yi) + fabs((double)y[i]));
        if (dn || !isfinite(p) || !isfinite(y[i]) || is_denormal(p, FLT_MIN) ||
            is_denormal(y[i], FLT_MIN))
            e = INFINITY;
        by->err[i] = e;
    }
}

static void axpy_f64(const fz_buf *bx, fz_buf *by, double s, size_t n)
{
    const double *x = (const double *)bx->shadow;
    double *y = (double *)by->shadow;
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], yi = y[i], ex = bx->err[i], ey = by->err[i];
        int dn = is_denormal(xi, DBL_MIN) || is_denormal(yi, DBL_MIN) || is_denormal(s, DBL_MIN);
        double p = s * xi;
        y[i] = p + yi;
        double e = fabs(s) * ex + ey + 2 * DBL_EPSILON * (fabs(p) + fabs(yi) + fabs(y[i]));
        if (dn || !isfinite(p) || !isfinite(y[i]) || is_denormal(p, DBL_MIN) ||
            is_denormal(y[i], DBL_MIN))
            e = INFINITY;
        by->err[i] = e;
    }
}

static void axpy_int(const fz_buf *bx, fz_buf *by, const fronta_arg_t *a, size_t n)
{
    if (by->type == FRONTA_INT64) {
        const uint64_t *x = (const uint64_t *)bx->shadow;
        uint64_t *y = (uint64_t *)by->shadow, s = (uint64_t)a->v.i64;
        for (size_t i = 0; i < n; i++)
            y[i] = s * x[i] + y[i];
        return;
    }
    const uint32_t *x = (const uint32_t *)bx->shadow;
    uint32_t *y = (uint32_t *)by->shadow, s = (uint32_t)a->v.i32;
    for (size_t i = 0; i < n; i++)
        y[i] = s * x[i] + y[i];
}

static void apply_axpy(const fz_buf *bx, fz_buf *by, const fronta_arg_t *a, size_t n)
{
    if (by->type == FRONTA_FLOAT)
        axpy_f32(bx, by, a->v.f32, n);
    else if (by->type == FRONTA_DOUBLE)
        axpy_f64(bx, by, a->v.f64, n);
    else
        axpy_int(bx, by, a, n);
}

static void apply_op(fz_iter *it, const fz_task *t)
{
    const fronta_arg_t *a = t->d.args;
    size_t n = t->global;
    fz_buf *b0 = t->nargs > 0 && t->slot[0] >= 0 ? &it->bufs[t->slot[0]] : NULL;
    fz_buf *b1 = t->nargs > 1 && t->slot[1] >= 0 ? &it->bufs[t->slot[1]] : NULL;
    switch (t->op) {
    case FZ_OP_SCALE:
        apply_scale(b0, &a[1], n);
        break;
    case FZ_OP_SAXPY:
    case FZ_OP_AXPYD:
        apply_axpy(b0, b1, &a[2], n);
        break;
    case FZ_OP_FILL: {
        int32_t *x = (int32_t *)b0->shadow;
        for (size_t i = 0; i < n; i++)
            x[i] = a[1].v.i32;
        break;
    }
    case FZ_OP_FIRST: {
        int32_t v;
        memcpy(&v, b0->shadow, sizeof v);
        int32_t *d = (int32_t *)b1->shadow;
        for (size_t i = 0; i < n; i++)
            d[i] = v;
        break;
    }
    case FZ_OP_INC8: {
        uint8_t *x = b0->shadow;
        for (size_t i = 0; i < n; i++)
            x[i] = (uint8_t)(x[i] + 1);
        break;
    }
    case FZ_OP_ADD64: {
        uint64_t *x = (uint64_t *)b0->shadow;
        for (size_t i = 0; i < n; i++)
            x[i] += (uint64_t)a[1].v.i64;
        break;
    }
    default:
        break;
    }
}

/* ---- iteration helpers -------------------------------------------------- */

static int live_buf(const fz_iter *it, unsigned pick)
{
    int live[FZ_MAX_SLOTS], n = 0;
    for (int i = 0; i < it->nbufs; i++)
        if (it->bufs[i].b)
            live[n++] = i;
    return n ? live[pick % (unsigned)n] : -1;
}

static int live_task(const fz_iter *it, unsigned pick)
{
    int live[FZ_MAX_TASKS], n = 0;
    for (int i = 0; i < it->ntasks; i++)
        if (it->tasks[i].f)
            live[n++] = i;
    return n ? live[pick % (unsigned)n] : -1;
}

/* Tasks and acquires refuse it (FRONTA_EPARTITION): a partitioned
 * parent, or a chunk of a partition undone since. */
static int buf_blocked(const fz_buf *b)
{
    return b->part >= 0 || b->retired;
}

static void release_held(fz_iter *it)
{
    for (int i = 0; i < it->nbufs; i++) {
        fz_buf *b = &it->bufs[i];
        if (!b->held)
            continue;
        check_rc("fronta_buffer_release", fronta_buffer_release(b->b), FZ_OK);
        b->held = 0;
    }
}

static int any_held(const fz_iter *it)
{
    for (int i = 0; i < it->nbufs; i++)
        if (it->bufs[i].held)
            return 1;
    return 0;
}

/* A timeout for a call that blocks: odd values only when nothing the
 * harness holds can keep it waiting forever. */
static double in_timeout(fz_in *in, const fz_iter *it)
{
    static const double safe[] = {0, 0.0005, 0.01, -0.0, 1e-300, 0.05};
    unsigned k = in_pick(in, 12);
    if (k < 6 || any_held(it))
        return safe[k % 6];
    switch (k) {
    case 6:
        return -1;
    case 7:
        return fz_wait_limit;
    case 8:
        return NAN;
    case 9:
        return 1e300;
    case 10:
        return INFINITY;
    default:
        return -INFINITY;
    }
}

/* ---- ops: buffers ------------------------------------------------------- */

static const size_t fz_counts[] = {1, 2, 3, 7, 16, 33, 64, 100, 256, 1000, 4096, 4097};
#define FZ_NCOUNTS (sizeof fz_counts / sizeof fz_counts[0])

static void op_buf_new(fz_iter *it, fz_in *in)
{
    if (it->nowned == FZ_MAX_BUFS || it->nbufs == FZ_MAX_SLOTS)
        return;
    uint8_t how = in_u8(in);
    fronta_dtype_t t = (fronta_dtype_t)(1 + (how & 7) % 5);
    size_t count;
    /* Mostly the count of the previous buffer: kernels want equal counts. */
    if (it->nbufs && (how & 0x30) != 0x30)
        count = it->bufs[it->nbufs - 1].count;
    else
        count = fz_counts[in_pick(in, FZ_NCOUNTS)];
    int wrap = (how & 0x40) != 0;
    uint32_t seed = in_u16(in);
    fz_buf *b = &it->bufs[it->nbufs];
    memset(b, 0, sizeof *b);
    b->part = b->chunk_of = -1;
    b->type = t;
    b->count = count;
    b->bytes = count * dsize(t);
    unsigned char *init = calloc(1, b->bytes);
    if (!init)
        fz_fail("out of memory in the harness");
    int rc;
    if (wrap) {
        b->user = malloc(b->bytes);
        if (!b->user)
            fz_fail("out of memory in the harness");
        pattern(b->user, t, count, seed);
        memcpy(init, b->user, b->bytes);
        rc = fronta_buffer_wrap(g_rt, b->user, count, t, &b->b);
    } else {
        rc = fronta_buffer_create(g_rt, count, t, &b->b);
    }
    FZ_TRACE("buffer %d: %s %zu of dtype %d: %s\n", it->nbufs, wrap ? "wrap" : "create", count,
             (int)t, fronta_err_name(rc));
    check_rc(wrap ? "fronta_buffer_wrap" : "fronta_buffer_create", rc, FZ_OK);
    if (fronta_buffer_count(b->b) != count || fronta_buffer_dtype(b->b) != t)
        fz_fail("buffer reports count %zu dtype %d, made with %zu, %d", fronta_buffer_count(b->b),
                (int)fronta_buffer_dtype(b->b), count, (int)t);
    int slot = it->nbufs++;
    it->nowned++;
    ev_add(it, FZ_EV_INIT, slot)->data = init;
    /* An owned buffer starts zero-filled; check it now and then. */
    if (!wrap && (how & 0x80)) {
        void *host = NULL;
        rc = fronta_buffer_acquire(b->b, FRONTA_ACCESS_IN, fz_wait_limit, &host);
        check_rc("fronta_buffer_acquire(IN) of a new buffer", rc, FZ_OK);
        for (size_t i = 0; i < b->bytes; i++)
            if (((unsigned char *)host)[i])
                fz_fail("fronta_buffer_create: byte %zu of %zu is not zero", i, b->bytes);
        check_rc("fronta_buffer_release", fronta_buffer_release(b->b), FZ_OK);
    }
}

/* Counts whose array cannot exist, or whose bytes overflow. */
static size_t huge_count(fz_in *in, size_t es)
{
    size_t e = es ? es : 1;
    switch (in_pick(in, 12)) {
    case 0:
        return SIZE_MAX;
    case 1:
        return SIZE_MAX / e;
    case 2:
        return SIZE_MAX / e - 1;
    case 3:
        return (SIZE_MAX - 4095) / e;
    case 4:
        return (SIZE_MAX - 4095) / e + 1;
    case 5:
        return (size_t)PTRDIFF_MAX / e + 1;
    case 6:
        return SIZE_MAX / e - in_u16(in);
    case 7:
        return ((size_t)1 << 63) / e + in_u8(in);
    case 8:
        return SIZE_MAX / 2 + 1;
    case 9:
        return (SIZE_MAX - 63) / e;
    case 10:
        return (size_t)in_u64(in) | ((size_t)1 << 63);
    default:
        return ((size_t)PTRDIFF_MAX - 4095) / e + 1;
    }
}

static void op_buf_huge(fz_iter *it, fz_in *in)
{
    (void)it;
    uint8_t how = in_u8(in);
    static const int dtypes[] = {FRONTA_UINT8, FRONTA_INT32, FRONTA_INT64, FRONTA_FLOAT,
                                 FRONTA_DOUBLE, 0, 6, -1, 255};
    fronta_dtype_t t = (fronta_dtype_t)dtypes[how % 9];
    size_t es = dsize(t);
    size_t count;
    int small = (how & 0x80) != 0; /* a plain count with a maybe-bad dtype */
    if (small)
        count = in_pick(in, 3); /* 0, 1, 2 */
    else
        count = huge_count(in, es);
    fronta_buffer_t *b = (fronta_buffer_t *)&how; /* must be cleared */
    int rc;
    int wrap = (how & 0x40) != 0;
    unsigned char arr[64];
    memset(arr, 0, sizeof arr);
    int exists = es && count && count <= sizeof arr / es;
    int impossible = es && count && (count > (size_t)PTRDIFF_MAX / es);
    if (wrap) {
        /* The array must be as large as a valid call says: hand a small one
         * only with counts no array can have. */
        if (!small && !impossible)
            return;
        if (small && !exists && count)
            return;
        rc = fronta_buffer_wrap(g_rt, arr, count, t, &b);
    } else {
        rc = fronta_buffer_create(g_rt, count, t, &b);
    }
    const char *what = wrap ? "fronta_buffer_wrap" : "fronta_buffer_create";
    check_rc(what, rc, FZ_OK | FZ_B(EINVAL) | FZ_B(ERANGE) | FZ_B(ENOMEM));
    if (rc) {
        if (b)
            fz_fail("%s failed (%s) and left *out non-NULL", what, fronta_err_name(rc));
        if (!es || !count) {
            if (rc != FRONTA_EINVAL)
                fz_fail("%s(count %zu, dtype %d) returned %s, not FRONTA_EINVAL", what, count,
                        (int)t, fronta_err_name(rc));
        }
        return;
    }
    if (!es || !count)
        fz_fail("%s accepted count %zu dtype %d", what, count, (int)t);
    if (impossible) {
        /* No array is that large; an owned one was allocated smaller
         * than its count says (the allocator hook refuses anything over
         * FZ_ALLOC_MAX), so indexing it would run off its end. */
        fz_fail("%s accepted %zu elements of %zu bytes (over PTRDIFF_MAX bytes): it must "
                "fail with FRONTA_ERANGE",
                what, count, es);
    }
    if (!wrap) {
        /* Say the allocator did give that much: the last element must be
         * writable and readable. */
        void *host = NULL;
        rc = fronta_buffer_acquire(b, FRONTA_ACCESS_OUT, fz_wait_limit, &host);
        check_rc("fronta_buffer_acquire(OUT) of a huge buffer", rc, FZ_OK);
        volatile unsigned char *last = (unsigned char *)host + (count - 1) * es;
        for (size_t i = 0; i < es; i++)
            last[i] = (unsigned char)(0xa5 ^ i);
        for (size_t i = 0; i < es; i++)
            if (last[i] != (unsigned char)(0xa5 ^ i))
                fz_fail("huge buffer: last element does not read back");
        check_rc("fronta_buffer_release", fronta_buffer_release(b), FZ_OK);
    }
    check_rc("fronta_buffer_destroy", fronta_buffer_destroy(b), FZ_OK);
}

static void unpartition_model(fz_iter *it, int s);
static void chunks_gone(fz_iter *it, int parent);

/* A chunk belongs to its parent (FRONTA_EPARTITION); a partitioned parent
 * is unpartitioned first, and its chunks' handles go with it. */
static void destroy_slot(fz_iter *it, int s)
{
    fz_buf *b = &it->bufs[s];
    int rc = fronta_buffer_destroy(b->b);
    FZ_TRACE("destroy buffer %d%s: %s\n", s,
             b->chunk_of >= 0 ? " (a chunk)" : b->part >= 0 ? " (partitioned)" : "",
             fronta_err_name(rc));
    if (b->chunk_of >= 0) {
        check_rc("fronta_buffer_destroy of a chunk", rc, FZ_B(EPARTITION));
        return;
    }
    check_rc("fronta_buffer_destroy", rc, FZ_OK);
    if (b->part >= 0)
        unpartition_model(it, s);
    chunks_gone(it, s);
    b->b = NULL;
    if (b->user)
        ev_add(it, FZ_EV_DESTROY, s)->data = dup_bytes(b->user, b->bytes);
}

static void op_buf_destroy(fz_iter *it, fz_in *in)
{
    int s = live_buf(it, in_u8(in));
    if (s < 0)
        return;
    release_held(it); /* destroy waits for the buffer's tasks: none may wait for us */
    destroy_slot(it, s);
}

/* docs/arrays.md "Views and tiles": on the host a 1-D chunk's array is
 * its parent's, at its offset; a tile's is its own. */
static void check_host(fz_iter *it, int s, void *host)
{
    fz_buf *b = &it->bufs[s];
    if (b->chunk_of < 0) {
        if (!b->user)
            b->host_seen = host;
        return;
    }
    const fz_part *P = &it->parts[b->chunk_of];
    const fz_buf *pb = &it->bufs[P->parent];
    const unsigned char *base = pb->user ? pb->user : pb->host_seen;
    if (!base)
        return;
    const unsigned char *h = host, *at = base + P->off[b->cidx] * dsize(b->type);
    if (!P->tiled && h != at)
        fz_fail("chunk %zu (1-D, offset %zu): host array %p, its parent's at the offset is %p",
                b->cidx, P->off[b->cidx], host, (const void *)at);
    if (P->tiled && h >= base && h < base + pb->bytes)
        fz_fail("tile %zu: its host array is inside its parent's (tiles are packed)", b->cidx);
}

static void op_acquire(fz_iter *it, fz_in *in)
{
    uint8_t how = in_u8(in);
    int s = live_buf(it, in_u8(in));
    if (s < 0)
        return;
    fz_buf *b = &it->bufs[s];
    if (b->held && (how & 0x80)) { /* release it */
        check_rc("fronta_buffer_release", fronta_buffer_release(b->b), FZ_OK);
        b->held = 0;
        return;
    }
    static const int modes[] = {FRONTA_ACCESS_IN, FRONTA_ACCESS_OUT, FRONTA_ACCESS_INOUT, 0, 4,
                                -1};
    int mode = modes[how % 6];
    double timeout = in_timeout(in, it);
    void *host = (void *)&how;
    int was_held = b->held;
    int rc = fronta_buffer_acquire(b->b, (fronta_access_t)mode, timeout, &host);
    FZ_TRACE("acquire buffer %d mode %d timeout %g: %s\n", s, mode, timeout, fronta_err_name(rc));
    check_rc("fronta_buffer_acquire", rc, 0);
    if (mode < FRONTA_ACCESS_IN || mode > FRONTA_ACCESS_INOUT) {
        if (rc != FRONTA_EINVAL)
            fz_fail("fronta_buffer_acquire(mode %d) returned %s, not FRONTA_EINVAL", mode,
                    fronta_err_name(rc));
        return;
    }
    if (was_held) {
        if (rc != FRONTA_EBUSY)
            fz_fail("fronta_buffer_acquire of a held buffer returned %s, not FRONTA_EBUSY",
                    fronta_err_name(rc));
        return;
    }
    if (buf_blocked(b)) {
        if (rc != FRONTA_EPARTITION)
            fz_fail("fronta_buffer_acquire of %s returned %s, not FRONTA_EPARTITION",
                    b->part >= 0 ? "a partitioned buffer" : "a retired chunk",
                    fronta_err_name(rc));
        return;
    }
    if (rc) {
        if (host)
            fz_fail("fronta_buffer_acquire failed (%s) and left *host set", fronta_err_name(rc));
        if (rc == FRONTA_EBUSY || rc == FRONTA_EINVAL)
            fz_fail("fronta_buffer_acquire of a free buffer returned %s", fronta_err_name(rc));
        if (rc != FRONTA_ETIMEDOUT) {
            fz_ev *e = ev_add(it, FZ_EV_ACQ, s);
            if (e)
                e->rc = rc;
        }
        return;
    }
    if (!host)
        fz_fail("fronta_buffer_acquire succeeded with a NULL host pointer");
    if (b->user && host != b->user)
        fz_fail("fronta_buffer_acquire of a wrapped buffer gave %p, not the user's %p", host,
                b->user);
    check_host(it, s, host);
    if (mode & FRONTA_ACCESS_IN) {
        fz_ev *e = ev_add(it, FZ_EV_SNAP, s);
        if (e)
            e->data = dup_bytes(host, b->bytes);
    } else {
        ev_add(it, FZ_EV_ACQOUT, s);
    }
    if (mode & FRONTA_ACCESS_OUT) {
        pattern(host, b->type, b->count, in_u16(in));
        fz_ev *e = ev_add(it, FZ_EV_HOSTW, s);
        if (e)
            e->data = dup_bytes(host, b->bytes);
    }
    b->held = 1;
    b->held_mode = (fronta_access_t)mode;
    b->held_host = host;
    if (!(how & 0x40)) { /* most accesses end at once; others stay held a while */
        check_rc("fronta_buffer_release", fronta_buffer_release(b->b), FZ_OK);
        b->held = 0;
    }
}

/* ---- ops: kernels ------------------------------------------------------- */

/* A parameter at index i. The fields since 0.2 (dtypes, like, SCALAR,
 * ROWS/COLS/EXACT with n) come from a third byte, for half the parameters. */
static void random_param(fz_in *in, fronta_param_t *p, size_t i)
{
    static const int kinds[] = {FRONTA_ARG_BUFFER, FRONTA_ARG_BUFFER, FRONTA_ARG_I32,
                                FRONTA_ARG_I64,    FRONTA_ARG_F32,    FRONTA_ARG_F64,
                                FRONTA_ARG_NONE,   7,                 -1};
    static const int dtypes[] = {0, FRONTA_UINT8, FRONTA_INT32, FRONTA_INT64, FRONTA_FLOAT,
                                 FRONTA_DOUBLE, 6, -3};
    uint8_t k = in_u8(in), m = in_u8(in);
    memset(p, 0, sizeof *p);
    p->kind = (fronta_arg_kind_t)kinds[k % 9];
    p->dtype = (fronta_dtype_t)dtypes[(k >> 4) % 8];
    static const int accesses[] = {0, 1, 2, 3, 4, -1};
    p->access = (fronta_access_t)accesses[m % 6];
    static const int counts[] = {FRONTA_COUNT_GLOBAL, FRONTA_COUNT_ANY, FRONTA_COUNT_ROWS, -1};
    p->count = (fronta_count_rule_t)counts[(m >> 4) % 4];
    if (!(m & 0x08))
        return;
    uint8_t x = in_u8(in);
    static const unsigned masks[] = {0,
                                     FRONTA_DTYPES_INT,
                                     FRONTA_DTYPES_FLOAT,
                                     FRONTA_DTYPES_NUMERIC,
                                     FRONTA_DTYPES_ALL,
                                     FRONTA_DTYPE_BIT(FRONTA_UINT8),
                                     FRONTA_DTYPE_BIT(FRONTA_INT32) | FRONTA_DTYPE_BIT(FRONTA_DOUBLE),
                                     FRONTA_DTYPE_BIT(0) | FRONTA_DTYPES_INT, /* bit 0: no type */
                                     FRONTA_DTYPE_BIT(6),
                                     FRONTA_DTYPES_NUMERIC};
    p->dtypes = masks[x % 10];
    if ((x & 0x30) == 0x30)
        p->dtype = 0; /* the mask decides */
    /* like: mostly an earlier parameter (a buffer, if it is one). */
    switch ((x >> 6) & 3) {
    case 0:
        break;
    case 1:
        p->like = i ? FRONTA_LIKE((int)(k % i)) : 0;
        break;
    case 2:
        p->like = FRONTA_LIKE(0);
        break;
    default: {
        static const int odd[] = {-1, FRONTA_LIKE(FRONTA_MAX_ARGS), 0, INT_MIN};
        p->like = (x & 0x08) ? FRONTA_LIKE((int)i) : odd[k & 3]; /* itself: invalid */
        break;
    }
    }
    if ((x >> 6) && (x & 0x04))
        p->kind = FRONTA_ARG_SCALAR;
    static const int counts2[] = {FRONTA_COUNT_COLS, FRONTA_COUNT_EXACT, FRONTA_COUNT_EXACT,
                                  FRONTA_COUNT_ROWS, 5};
    static const size_t ns[] = {0, 1, 7, 16, 100, 4096, SIZE_MAX, 33};
    if (m & 0x04) {
        p->count = (fronta_count_rule_t)counts2[(m >> 4) % 5];
        p->n = ns[(x >> 1) & 7];
    }
}

/* The parameter rules of docs/kernels.md ("Parameters"), for a buffer. */
static int buffer_param_valid(const fronta_param_t *p)
{
    return (!p->dtype || dsize(p->dtype)) && !(p->dtypes & ~(unsigned)FRONTA_DTYPES_ALL) &&
           (unsigned)p->access <= FRONTA_ACCESS_INOUT &&
           (unsigned)p->count <= FRONTA_COUNT_EXACT &&
           (p->count != FRONTA_COUNT_EXACT || p->n);
}

/* like names an earlier buffer parameter; it types a buffer, and a
 * FRONTA_ARG_SCALAR needs it (a fixed-kind scalar refuses it). */
static int params_valid(const fronta_param_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned kind = (unsigned)p[i].kind;
        int like = p[i].like;
        if (kind < FRONTA_ARG_BUFFER || kind > FRONTA_ARG_SCALAR)
            return 0;
        if (like && (like < 1 || (size_t)like > i || p[like - 1].kind != FRONTA_ARG_BUFFER))
            return 0;
        if (kind == FRONTA_ARG_BUFFER ? !buffer_param_valid(&p[i])
                                      : (kind == FRONTA_ARG_SCALAR) != (like != 0))
            return 0;
    }
    return 1;
}

/* The OpenCL launch fields (fronta.h): cl_local, cl_scratch and
 * cl_passes > 1 need the shape arguments, cl_groups needs cl_local in its
 * dimension, flags holds only FRONTA_KERNEL_*; cl_passes is at most 64
 * (runtime/core/kernel.c; fronta.h does not say). */
static int cl_fields_valid(const fronta_kernel_desc_t *d)
{
    int wants_shape = d->cl_local[0] || d->cl_local[1] || d->cl_scratch || d->cl_passes > 1;
    if (d->flags &
        ~(unsigned)(FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_NO_ALIAS | FRONTA_KERNEL_FLAT |
                    FRONTA_KERNEL_ELEMENTWISE))
        return 0;
    if (wants_shape && !(d->flags & FRONTA_KERNEL_CL_SHAPE_ARGS))
        return 0;
    if ((d->cl_groups[0] && !d->cl_local[0]) || (d->cl_groups[1] && !d->cl_local[1]))
        return 0;
    return d->cl_passes <= 64;
}

/* The 0.1 layout of a parameter: a descriptor whose size ends before
 * `flags` has its params array in it (docs/kernels.md). */
typedef struct fz_param_v1 {
    fronta_arg_kind_t kind;
    fronta_dtype_t dtype;
    fronta_access_t access;
    fronta_count_rule_t count;
} fz_param_v1;

static int kdesc_is_v1(size_t sz)
{
    return sz && sz < offsetof(fronta_kernel_desc_t, flags) + sizeof(unsigned);
}

/* Sizes at field boundaries of a struct: fronta reads `size` bytes. */
#define FZ_KSIZES 9
static size_t kdesc_size(unsigned k)
{
    /* A few of the top values: the 0.1 struct whole, and 0.2 ones cut
     * inside the OpenCL launch fields. */
    static const size_t later[] = {offsetof(fronta_kernel_desc_t, flags),
                                   offsetof(fronta_kernel_desc_t, cl_local),
                                   offsetof(fronta_kernel_desc_t, cl_scratch),
                                   offsetof(fronta_kernel_desc_t, check)};
    if (k >= 0xfc)
        return later[k & 3];
    switch (k % FZ_KSIZES) {
    case 0:
    case 1:
        return 0;
    case 2:
        return sizeof(fronta_kernel_desc_t);
    case 3:
        return sizeof(fronta_kernel_desc_t) + 40; /* a later version's larger struct */
    case 4:
        return 4; /* too small to hold size itself */
    case 5:
        return offsetof(fronta_kernel_desc_t, cpu);
    case 6:
        return offsetof(fronta_kernel_desc_t, cl_source);
    case 7:
        return offsetof(fronta_kernel_desc_t, cl_entry);
    default:
        return offsetof(fronta_kernel_desc_t, cl_options);
    }
}

/* A kernel's own check (fronta_kernel_check_fn): a code from what it is
 * given, so that the model, computing it from what the task passed, sees
 * whether fronta handed over the right counts, values and shape. */
static int fz_check_code(const fronta_karg_t *a, size_t nargs, size_t rows, size_t cols)
{
    uint64_t h = (uint64_t)nargs * 0x9e3779b97f4a7c15ull ^ rows * 31u ^ cols * 1000003u;
    for (size_t i = 0; i < nargs; i++) {
        uint64_t v = 0;
        memcpy(&v, &a[i].v, sizeof v);
        h = (h ^ a[i].count ^ v) * 0x100000001b3ull;
    }
    static const int codes[] = {0, 0, 0, 0, 0, FRONTA_ESIZE, FRONTA_EARG, 0};
    return codes[(h >> 29) % 8];
}

/* The hook sees the task's arguments: each buffer's count through the
 * public call, each scalar's value, as the model's fronta_karg_t has them. */
static int fz_check(const fronta_arg_t *args, size_t nargs, size_t rows, size_t cols)
{
    fronta_karg_t ka[FRONTA_MAX_ARGS];
    memset(ka, 0, sizeof ka);
    if (nargs > FRONTA_MAX_ARGS) {
        atomic_fetch_add(&g_impl_misuse, 1);
        return 0;
    }
    for (size_t i = 0; i < nargs; i++) {
        if (args[i].kind == FRONTA_ARG_BUFFER)
            ka[i].count = fronta_buffer_count(args[i].buffer);
        else
            memcpy(&ka[i].v, &args[i].v, sizeof ka[i].v);
    }
    return fz_check_code(ka, nargs, rows, cols);
}

static size_t fz_scratch(const fronta_karg_t *args, size_t nargs, size_t rows, size_t cols)
{
    (void)args;
    (void)nargs;
    return rows * 4 + (cols & 1023);
}

/* The OpenCL launch fields from one byte: valid combinations and not. */
static void random_cl_fields(fronta_kernel_desc_t *d, uint8_t c)
{
    static const unsigned flags[] = {0, FRONTA_KERNEL_CL_SHAPE_ARGS,
                                     FRONTA_KERNEL_CL_SHAPE_ARGS, 1u << 5};
    static const size_t locals[][2] = {{0, 0}, {64, 0}, {8, 8}, {0, 4}};
    static const unsigned passes[] = {0, 1, 3, 65};
    d->flags = flags[c & 3];
    memcpy(d->cl_local, locals[(c >> 2) & 3], sizeof d->cl_local);
    d->cl_groups[0] = (c & 0x10) ? 2 : 0;
    d->cl_groups[1] = (c & 0x10) && (c & 1) ? 2 : 0;
    d->cl_passes = passes[(c >> 5) & 3];
    d->cl_scratch = (c & 0x80) ? fz_scratch : NULL;
}

static void op_kernel(fz_iter *it, fz_in *in)
{
    uint8_t how = in_u8(in), how2 = in_u8(in), how3 = in_u8(in);
    const fz_template *tp = &fz_templates[how % FZ_NTEMPLATES];
    union {
        fronta_kernel_desc_t d;
        unsigned char raw[sizeof(fronta_kernel_desc_t) + 64];
    } u;
    memset(&u, 0, sizeof u);
    fronta_kernel_desc_t *d = &u.d;
    fronta_param_t params[FRONTA_MAX_ARGS + 8];
    memset(params, 0, sizeof params);

    /* Parameters: the template's, or random ones (then only code that can
     * run with any arguments). */
    int exact = !(how2 & 0x80);
    size_t np;
    if (exact) {
        np = tp->nparams;
        memcpy(params, tp->params, np * sizeof params[0]);
    } else {
        switch (how2 & 3) {
        case 0:
            np = in_pick(in, 5);
            break;
        case 1:
            np = in_pick(in, FRONTA_MAX_ARGS + 8);
            break;
        case 2:
            np = FRONTA_MAX_ARGS + in_pick(in, 8);
            break;
        default: {
            static const size_t huge[] = {SIZE_MAX, (size_t)1 << 32, ((size_t)1 << 32) + 1,
                                          (size_t)INT_MAX + 1};
            np = huge[in_pick(in, 4)];
            break;
        }
        }
        for (size_t i = 0; i < np && i < FRONTA_MAX_ARGS + 8; i++)
            random_param(in, &params[i], i);
    }
    d->nparams = np;

    /* Name: unique, or odd, or taken. */
    char name[400];
    unsigned long serial = ++g_serial;
    const char *nm = name;
    switch (in_pick(in, 10)) {
    case 0:
        nm = NULL;
        break;
    case 1:
        nm = "";
        break;
    case 2:
        nm = (how & 1) ? "scale" : "saxpy";
        break;
    case 3:
        if (it->nkerns) {
            nm = it->kerns[in_pick(in, (unsigned)it->nkerns)].name;
            break;
        }
        /* fall through */
    case 4: {
        size_t len = 200 + in_pick(in, 150);
        memset(name, 'k', len);
        snprintf(name + len, sizeof name - len, "%lu", serial);
        break;
    }
    case 5: {
        /* raw bytes, NUL-free */
        size_t len = in_pick(in, 24), j = 0;
        for (size_t i = 0; i < len; i++) {
            uint8_t c = in_u8(in);
            name[j++] = (char)(c ? c : '?');
        }
        snprintf(name + j, sizeof name - j, "#%lu", serial);
        break;
    }
    case 6:
        snprintf(name, sizeof name, "fz kernel %lu \xc3\xa9", serial);
        break;
    default:
        snprintf(name, sizeof name, "%s_%lu", tp->entry, serial);
        break;
    }
    d->name = nm;

    /* Implementations. */
    int want_cpu = !(how3 & 1), src = (how3 >> 1) & 3; /* 0 own, 1 nop, 2 bad, 3 none */
    const char *cl = NULL;
    if (exact) {
        d->cpu = want_cpu ? tp->cpu : NULL;
        cl = src == 0 ? tp->src : src == 1 ? src_nop : src == 2 ? src_bad : NULL;
    } else {
        d->cpu = want_cpu ? cpu_code : NULL;
        cl = src == 0 || src == 1 ? src_nop : src == 2 ? src_bad : NULL;
    }
    d->cl_source = cl;
    unsigned ent = (how3 >> 3) & 3; /* 0,1 the source's, 2 NULL (the name), 3 none */
    const char *entry = exact && src == 0 ? tp->entry : src == 1 || !exact ? "fz_nop" : "fz_bad";
    d->cl_entry = ent < 2 ? entry : ent == 2 ? NULL : "fz_no_such_entry";
    unsigned opt = in_pick(in, 8);
    opt = opt < 5 ? opt : 0;
    d->cl_options = fz_options[opt];

    d->size = kdesc_size(in_u8(in));
    int null_out = (how3 & 0x80) && (how2 & 0x40);
    /* Since 0.2 (dropped again by a smaller size): the check hook and the
     * OpenCL launch fields. */
    if (how2 & 0x04)
        d->check = fz_check;
    if (how2 & 0x08)
        random_cl_fields(d, in_u8(in));

    /* A 0.1 descriptor's parameters are in the 0.1 layout: what fronta
     * reads of them is the four fields, the model's parameters too. */
    size_t sz = d->size;
    int v1 = kdesc_is_v1(sz);
    fz_param_v1 params_v1[FRONTA_MAX_ARGS + 8];
    if (v1) {
        for (size_t i = 0; i < FRONTA_MAX_ARGS + 8; i++) {
            params_v1[i] = (fz_param_v1){params[i].kind, params[i].dtype, params[i].access,
                                         params[i].count};
            params[i] = (fronta_param_t){.kind = params[i].kind, .dtype = params[i].dtype,
                                         .access = params[i].access, .count = params[i].count};
        }
    }
    int no_params = (how3 & 0x40) && np;
    d->params = no_params ? NULL : v1 ? (const fronta_param_t *)(const void *)params_v1 : params;

    /* What fronta sees: fields past `size` are zero. */
    fronta_kernel_desc_t eff = *d;
    if (sz && sz < sizeof eff) {
        unsigned char *raw = (unsigned char *)&eff;
        memset(raw + sz, 0, sizeof eff - sz);
    }
    int expect;
    if (sz && sz < sizeof(size_t))
        expect = FRONTA_EINVAL;
    else if (!eff.name || !*eff.name || (!eff.cpu && !eff.cl_source))
        expect = FRONTA_EINVAL;
    else if (eff.nparams > FRONTA_MAX_ARGS || (eff.nparams && !eff.params))
        expect = FRONTA_EINVAL;
    else if (!cl_fields_valid(&eff))
        expect = FRONTA_EINVAL;
    else if (!params_valid(params, eff.nparams))
        expect = FRONTA_EINVAL;
    else if (null_out)
        expect = FRONTA_EINVAL;
    else
        expect = 0;
    int taken = 0;
    if (expect == 0) {
        fronta_kernel_t *found = NULL;
        taken = fronta_kernel_find(g_rt, eff.name, &found) == 0;
        if (taken)
            expect = FRONTA_EBUSY;
    }

    fronta_kernel_t *k = (fronta_kernel_t *)&how;
    int rc = fronta_kernel_create(g_rt, d, null_out ? NULL : &k);
    FZ_TRACE("kernel %d: template %s%s, nparams %zu, cpu %d, cl %s, entry %s, options %s, "
             "size %zu%s, check %d, flags %#x, cl_local %zu/%zu, cl_groups %zu/%zu, passes %u, "
             "scratch %d: %s\n",
             it->nkerns, tp->entry, exact ? "" : " (random parameters)", eff.nparams,
             eff.cpu != NULL, !eff.cl_source ? "none" : eff.cl_source == src_nop ? "nop"
                              : eff.cl_source == src_bad ? "bad" : "own",
             eff.cl_entry ? eff.cl_entry : "(name)", eff.cl_options ? eff.cl_options : "(null)",
             sz, v1 ? " (0.1)" : "", eff.check != NULL, eff.flags, eff.cl_local[0],
             eff.cl_local[1], eff.cl_groups[0], eff.cl_groups[1], eff.cl_passes,
             eff.cl_scratch != NULL, fronta_err_name(rc));
    for (size_t i = 0; fz_trace && !no_params && i < eff.nparams && i < FRONTA_MAX_ARGS; i++)
        FZ_TRACE("  param %zu: kind %d, dtype %d, dtypes %#x, like %d, access %d, count %d, "
                 "n %zu\n",
                 i, (int)params[i].kind, (int)params[i].dtype, params[i].dtypes, params[i].like,
                 (int)params[i].access, (int)params[i].count, params[i].n);
    check_rc("fronta_kernel_create", rc, 0);
    if (rc != expect)
        fz_fail("fronta_kernel_create returned %s, expected %s (size %zu, name %s, nparams %zu, "
                "cpu %d, cl %d)",
                fronta_err_name(rc), fronta_err_name(expect), sz,
                eff.name ? "set" : "NULL", eff.nparams, eff.cpu != NULL,
                eff.cl_source != NULL);
    if (null_out)
        return;
    if (rc) {
        if (k)
            fz_fail("fronta_kernel_create failed and left *out non-NULL");
        return;
    }
    g_kernels++;
    if (!k)
        fz_fail("fronta_kernel_create succeeded with *out NULL");
    const char *kn = fronta_kernel_name(k);
    if (!kn || strcmp(kn, eff.name))
        fz_fail("fronta_kernel_name gives %s for a kernel named %s", kn ? kn : "NULL", eff.name);
    fronta_kernel_t *found = NULL;
    if (fronta_kernel_find(g_rt, eff.name, &found) || found != k)
        fz_fail("fronta_kernel_find does not find the kernel just created");
    if (it->nkerns == FZ_MAX_KERNELS)
        return;
    fz_kern *fk = &it->kerns[it->nkerns++];
    memset(fk, 0, sizeof *fk);
    fk->k = k;
    fk->nparams = eff.nparams;
    if (eff.nparams)
        memcpy(fk->params, params, eff.nparams * sizeof fk->params[0]);
    fk->check = eff.check != NULL;
    snprintf(fk->name, sizeof fk->name, "%s", eff.name);
    if (strlen(eff.name) >= sizeof fk->name)
        fk->name[0] = 0; /* too long to reuse as a taken name */
    fk->has_cpu = eff.cpu != NULL;
    fk->has_cl = eff.cl_source != NULL;
    fk->op = exact ? tp->op : FZ_OP_NOP;
    const char *eff_entry = eff.cl_entry ? eff.cl_entry : eff.name;
    int opt_ok = 1;
    if (eff.cl_options)
        for (unsigned i = FZ_NOPTIONS_OK; i < sizeof fz_options / sizeof fz_options[0]; i++)
            if (fz_options[i] && !strcmp(eff.cl_options, fz_options[i]))
                opt_ok = 0;
    /* The templates' sources take no shape arguments. */
    fk->cl_good = exact && eff.cl_source == tp->src && !strcmp(eff_entry, tp->entry) && opt_ok &&
                  !eff.flags;
}

/* ---- ops: kernel tasks -------------------------------------------------- */

#define FZ_TSIZES 8
static size_t tdesc_size(unsigned k)
{
    switch (k % FZ_TSIZES) {
    case 0:
    case 1:
    case 2:
        return 0;
    case 3:
        /* the 0.1 struct: no 2-D fields */
        return (k & 0x80) ? offsetof(fronta_task_desc_t, rows) : sizeof(fronta_task_desc_t);
    case 4:
        /* rows and cols without their work-group */
        return (k & 0x80) ? offsetof(fronta_task_desc_t, local_rows)
                          : sizeof(fronta_task_desc_t) + 32;
    case 5:
        return offsetof(fronta_task_desc_t, kernel); /* too small */
    case 6:
        return offsetof(fronta_task_desc_t, global);
    default:
        return offsetof(fronta_task_desc_t, needs);
    }
}

static float in_f32(fz_in *in)
{
    static const float nice[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, -0.25f, 3.0f, 1.5f};
    uint8_t k = in_u8(in);
    if (k < 0xf0)
        return nice[k % 8];
    uint32_t bits = in_u32(in);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double in_f64(fz_in *in)
{
    static const double nice[] = {0.0, 1.0, -1.0, 0.5, 2.0, -0.25, 3.0, 0.125};
    uint8_t k = in_u8(in);
    if (k < 0xf0)
        return nice[k % 8];
    uint64_t bits = in_u64(in);
    double f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void scalar_value(fz_in *in, fronta_arg_t *a)
{
    switch (a->kind) {
    case FRONTA_ARG_I32:
        a->v.i32 = (int32_t)((in_u8(in) & 1) ? in_u32(in) : in_u8(in));
        break;
    case FRONTA_ARG_I64:
        a->v.i64 = (int64_t)((in_u8(in) & 1) ? in_u64(in) : in_u8(in));
        break;
    case FRONTA_ARG_F32:
        a->v.f32 = in_f32(in);
        break;
    case FRONTA_ARG_F64:
        a->v.f64 = in_f64(in);
        break;
    default:
        a->v.i64 = (int64_t)in_u64(in);
        break;
    }
}

/* The kernel's parameters, for the builtins too (docs/kernels.md: scale
 * is x INOUT [n] NUMERIC, a SCALAR like x; saxpy x IN [n] NUMERIC, y
 * INOUT [n] like x, a SCALAR like x). */
static const fronta_param_t p_scale[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_NUMERIC, .access = FRONTA_ACCESS_INOUT,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)}};
static const fronta_param_t p_saxpy[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_NUMERIC, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_INOUT,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)}};

/* The scalar kind a FRONTA_ARG_SCALAR takes for a buffer of type t. */
static fronta_arg_kind_t scalar_kind(fronta_dtype_t t)
{
    switch (t) {
    case FRONTA_INT64:
        return FRONTA_ARG_I64;
    case FRONTA_FLOAT:
        return FRONTA_ARG_F32;
    case FRONTA_DOUBLE:
        return FRONTA_ARG_F64;
    default:
        return FRONTA_ARG_I32;
    }
}

static int admits(const fronta_needs_t *n, int id)
{
    switch (n->device) {
    case FRONTA_NEED_ANY:
        return 1;
    case FRONTA_NEED_CPU_POOL:
        return id == 0;
    case FRONTA_NEED_OPENCL:
        return id > 0;
    case FRONTA_NEED_GPU:
        return id > 0 && g_has_gpu;
    case FRONTA_NEED_DEVICE:
        return id == n->device_id;
    }
    return 0;
}

/* A kernel as a task sees it. */
typedef struct fz_kview {
    const fronta_param_t *params;
    size_t nparams;
    int has_cpu, has_cl, check;
} fz_kview;

/* A launch: rows x cols = n work items. */
typedef struct fz_shape {
    size_t rows, cols, n;
} fz_shape;

static int refuse(const char **why, const char *reason, int code)
{
    *why = reason;
    return code;
}

/* docs/kernels.md "Launches": 2-D when rows or cols is set, with both
 * set, global and local 0, both work-group sides or neither, each
 * dividing its side; else 1-D of global (0: the first buffer's count). */
static int model_shape(const fz_iter *it, const fronta_task_desc_t *d, size_t n, const int *slot,
                       fz_shape *sh, const char **why)
{
    memset(sh, 0, sizeof *sh);
    if (d->rows || d->cols) {
        if (!d->rows || !d->cols)
            return refuse(why, "2-D launch with rows or cols 0", FRONTA_EINVAL);
        if (d->global || d->local)
            return refuse(why, "2-D launch with global or local", FRONTA_EINVAL);
        if (!d->local_rows != !d->local_cols)
            return refuse(why, "one of local_rows, local_cols", FRONTA_EINVAL);
        if (d->local_rows && (d->rows % d->local_rows || d->cols % d->local_cols))
            return refuse(why, "rows or cols not a multiple of its work-group side",
                          FRONTA_ESIZE);
        if (d->rows > SIZE_MAX / d->cols)
            return refuse(why, "rows x cols overflows", FRONTA_ERANGE);
        *sh = (fz_shape){d->rows, d->cols, d->rows * d->cols};
        return 0;
    }
    if (d->local_rows || d->local_cols)
        return refuse(why, "local_rows or local_cols on a 1-D launch", FRONTA_EINVAL);
    size_t g = d->global;
    for (size_t i = 0; !g && i < n; i++)
        if (d->args[i].kind == FRONTA_ARG_BUFFER && d->args[i].buffer)
            g = it->bufs[slot[i]].count;
    if (!g)
        return refuse(why, "no launch size", FRONTA_EINVAL);
    if (d->local && g % d->local)
        return refuse(why, "global not a multiple of local", FRONTA_ESIZE);
    *sh = (fz_shape){1, g, g};
    return 0;
}

/* The count a buffer of parameter p must have in launch sh; 0: any. */
static size_t count_wanted(const fronta_param_t *p, const fz_shape *sh)
{
    switch (p->count) {
    case FRONTA_COUNT_GLOBAL:
        return sh->n;
    case FRONTA_COUNT_ROWS:
        return sh->rows;
    case FRONTA_COUNT_COLS:
        return sh->cols;
    case FRONTA_COUNT_EXACT:
        return p->n;
    default:
        return 0;
    }
}

/* Argument i against its parameter; the arguments before it are valid,
 * so the one a like rule names is a buffer. */
static int model_arg(const fz_iter *it, const fronta_param_t *p, const fronta_task_desc_t *d,
                     size_t i, const int *slot, const fz_shape *sh, const char **why)
{
    const fronta_arg_t *a = &d->args[i];
    const fz_buf *like = p->like ? &it->bufs[slot[p->like - 1]] : NULL;
    if (p->kind == FRONTA_ARG_SCALAR)
        return a->kind == scalar_kind(like->type)
                   ? 0
                   : refuse(why, "scalar not of its like buffer's kind", FRONTA_EARG);
    if (a->kind != FRONTA_ARG_BUFFER)
        return 0;
    if (!a->buffer)
        return refuse(why, "NULL buffer", FRONTA_EINVAL);
    if (a->access < FRONTA_ACCESS_IN || a->access > FRONTA_ACCESS_INOUT)
        return refuse(why, "access mode", FRONTA_EINVAL);
    const fz_buf *b = &it->bufs[slot[i]];
    if (p->access && a->access != p->access)
        return refuse(why, "access differs from the parameter's", FRONTA_EARG);
    if (p->dtype && b->type != p->dtype)
        return refuse(why, "dtype differs from the parameter's", FRONTA_EARG);
    if (!p->dtype && p->dtypes && !(p->dtypes & FRONTA_DTYPE_BIT(b->type)))
        return refuse(why, "dtype not in the parameter's dtypes", FRONTA_EARG);
    if (like && b->type != like->type)
        return refuse(why, "dtype differs from its like buffer's", FRONTA_EARG);
    if (p->count != FRONTA_COUNT_ANY && b->count != count_wanted(p, sh))
        return refuse(why, "count differs from what the count rule says", FRONTA_ESIZE);
    return 0;
}

static int kinds_match(const fronta_param_t *p, const fronta_task_desc_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fronta_arg_kind_t got = d->args[i].kind;
        if (p[i].kind == FRONTA_ARG_SCALAR ? got < FRONTA_ARG_I32 || got > FRONTA_ARG_F64
                                           : got != p[i].kind)
            return 0;
    }
    return 1;
}

/* What the check hook returns, computed from the task's own arguments. */
static int model_check(const fz_iter *it, const fronta_task_desc_t *d, size_t n, const int *slot,
                       const fz_shape *sh)
{
    fronta_karg_t ka[FRONTA_MAX_ARGS];
    memset(ka, 0, sizeof ka);
    for (size_t i = 0; i < n; i++) {
        if (d->args[i].kind == FRONTA_ARG_BUFFER)
            ka[i].count = it->bufs[slot[i]].count;
        else
            memcpy(&ka[i].v, &d->args[i].v, sizeof ka[i].v);
    }
    return fz_check_code(ka, n, sh->rows, sh->cols);
}

/* What the documented contract answers to this task: 0, or the code of
 * the first rule it breaks in fronta_submit's order (the descriptor, the
 * after count, the argument count and kinds, the launch shape, each
 * argument in order, the kernel's check, the placement), with a reason.
 * The harness holds fronta to both: the code, and accepting exactly
 * what this accepts. */
/* The placement's rules (the scheduler's, when the task is built). */
static int place_expect(const fronta_task_desc_t *d, const fz_kview *kv, const char **why)
{
    if (d->needs.device == FRONTA_NEED_DEVICE &&
        (d->needs.device_id < 0 || d->needs.device_id >= g_ndev))
        return refuse(why, "no such device", FRONTA_ENODEV);
    if ((unsigned)d->needs.device > FRONTA_NEED_DEVICE)
        return refuse(why, "needs.device", FRONTA_EINVAL);
    int any = 0;
    for (int id = 0; id < g_ndev && !any; id++)
        if (admits(&d->needs, id) && (id == 0 ? kv->has_cpu : kv->has_cl))
            any = 1;
    if (!any)
        return refuse(why, "no implementation for an admissible device", FRONTA_ENOIMPL);
    return 0;
}

static int task_expect_ex(const fz_iter *it, const fronta_task_desc_t *d, size_t sz,
                          const fz_kview *kv, const int *slot, size_t *nargs_out,
                          fz_shape *sh, const char **why, int place)
{
    *why = NULL;
    memset(sh, 0, sizeof *sh);
    if (sz && sz < offsetof(fronta_task_desc_t, kernel) + sizeof d->kernel)
        return refuse(why, "size too small", FRONTA_EINVAL);
    if (!d->kernel)
        return refuse(why, "no kernel", FRONTA_EINVAL);
    if (d->nafter && !d->after)
        return refuse(why, "nafter without after", FRONTA_EINVAL);
    if (d->nafter > UINT32_MAX / 4)
        return refuse(why, "nafter above UINT32_MAX / 4", FRONTA_ERANGE);
    size_t n = d->nargs;
    if (n == 0)
        while (n < FRONTA_MAX_ARGS && d->args[n].kind != FRONTA_ARG_NONE)
            n++;
    if (n != kv->nparams)
        return refuse(why, "argument count", FRONTA_EARG);
    if (!kinds_match(kv->params, d, n))
        return refuse(why, "argument kind", FRONTA_EARG);
    int rc = model_shape(it, d, n, slot, sh, why);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = model_arg(it, &kv->params[i], d, i, slot, sh, why)))
            return rc;
    if (kv->check && (rc = model_check(it, d, n, slot, sh)))
        return refuse(why, "the kernel's check", rc);
    /* ktask.c checks the buffers' partition state before it places the
     * task: either code is a broken rule. */
    for (size_t i = 0; i < n; i++)
        if (d->args[i].kind == FRONTA_ARG_BUFFER && slot[i] >= 0 &&
            buf_blocked(&it->bufs[slot[i]]))
            return refuse(why, "a partitioned buffer or a retired chunk", FRONTA_EPARTITION);
    *nargs_out = n;
    return place ? place_expect(d, kv, why) : 0;
}

static int task_expect(const fz_iter *it, const fronta_task_desc_t *d, size_t sz,
                       const fz_kview *kv, const int *slot, size_t *nargs_out, fz_shape *sh,
                       const char **why)
{
    return task_expect_ex(it, d, sz, kv, slot, nargs_out, sh, why, 1);
}

/* A heap copy of exactly n (>= 1) future pointers, for calls with a count
 * no array can have: fronta must refuse them by the count alone, and a
 * read past these n is a heap-buffer-overflow that ASan reports, where the
 * unused entries of a larger array would hide it. */
static fronta_future_t **exact_array(fronta_future_t *const *fs, size_t n)
{
    fronta_future_t **a = malloc(n * sizeof *a);
    if (!a)
        fz_fail("out of memory in the harness");
    memcpy(a, fs, n * sizeof *a);
    return a;
}

static int pick_after(fz_iter *it, fz_in *in, fronta_future_t **after, int *preds, int max)
{
    int n = (int)in_pick(in, (unsigned)max + 1);
    int k = 0;
    for (int i = 0; i < n; i++) {
        int t = live_task(it, in_u8(in));
        if (t < 0)
            break;
        after[k] = it->tasks[t].f;
        preds[k++] = t;
    }
    return k;
}

/* The kernel of a task: a builtin, none, or one of this iteration's. */
static fronta_kernel_t *pick_kernel(fz_iter *it, fz_in *in, uint8_t how, fz_task *t,
                                    fz_kview *kv)
{
    fronta_kernel_t *k;
    *kv = (fz_kview){.has_cpu = 1, .has_cl = 1};
    t->cl_good = 1;
    unsigned which = in_pick(in, (unsigned)it->nkerns + 4);
    if (which == 0 || (which == 2 && !it->nkerns)) {
        k = g_scale;
        kv->params = p_scale;
        kv->nparams = 2;
        t->op = FZ_OP_SCALE;
        t->kern = -1;
    } else if (which == 1) {
        k = g_saxpy;
        kv->params = p_saxpy;
        kv->nparams = 3;
        t->op = FZ_OP_SAXPY;
        t->kern = -2;
    } else if (which == 3) {
        k = (how & 1) ? NULL : fronta_kernel_builtin(g_rt, "no-such-builtin");
        if (k)
            fz_fail("fronta_kernel_builtin(\"no-such-builtin\") is not NULL");
        kv->params = p_scale;
        kv->nparams = 2;
        t->op = FZ_OP_NOP;
        t->kern = -3;
    } else {
        const fz_kern *fk = &it->kerns[(which - 2) % (unsigned)it->nkerns];
        k = fk->k;
        kv->params = fk->params;
        kv->nparams = fk->nparams;
        kv->has_cpu = fk->has_cpu;
        kv->has_cl = fk->has_cl;
        kv->check = fk->check;
        t->cl_good = fk->cl_good;
        t->op = fk->op;
        t->kern = (int)(fk - it->kerns);
    }
    if (!g_has_cl)
        kv->has_cl = t->cl_good = 0;
    t->has_cpu = kv->has_cpu;
    return k;
}

/* The launch a task is to have, chosen before its buffers so that they
 * can match it; n 0: not known yet (a 1-D launch of the first buffer's
 * count) or no such product. */
typedef struct fz_launch {
    int two_d;
    int bad_gl; /* 2-D with global or local too */
    fz_shape sh;
} fz_launch;

/* A divisor of n (at most max), or 1. */
static size_t pick_divisor(fz_in *in, size_t n, size_t max)
{
    size_t divs[64];
    unsigned nd = 0;
    for (size_t q = 1; q <= n && q <= max && q <= 4097 && nd < 64; q++)
        if (n % q == 0)
            divs[nd++] = q;
    return nd ? divs[in_pick(in, nd)] : 1;
}

/* rows x cols of a buffer's count, mostly; now and then a shape or a
 * work-group fronta must refuse. */
static void launch_2d(const fz_iter *it, fz_in *in, uint8_t sb, fronta_task_desc_t *d,
                      fz_launch *L)
{
    size_t n;
    if (sb & 4) {
        int s = live_buf(it, in_u8(in));
        n = s >= 0 ? it->bufs[s].count : 1;
    } else {
        n = fz_counts[in_pick(in, FZ_NCOUNTS)];
    }
    size_t rows = pick_divisor(in, n, n), cols = n / rows, lr = 0, lc = 0;
    switch ((sb >> 3) & 7) {
    case 5:
        if (sb & 0x40)
            rows = 0;
        else
            cols = 0;
        break;
    case 6: /* mostly a product past SIZE_MAX */
        rows = (size_t)in_u64(in) | 1;
        cols = (size_t)in_u64(in) | 1;
        break;
    case 7:
        L->bad_gl = 1;
        break;
    default:
        break;
    }
    switch (sb >> 6) {
    case 1:
    case 2:
        lr = pick_divisor(in, rows, 16);
        lc = pick_divisor(in, cols, 256 / lr);
        break;
    case 3:
        if (sb & 0x20) { /* dividing or not */
            lr = 1 + in_pick(in, 8);
            lc = 1 + in_pick(in, 8);
        } else { /* one side only */
            lr = (sb & 4) ? 0 : 2;
            lc = lr ? 0 : 2;
        }
        break;
    default:
        break;
    }
    d->rows = rows;
    d->cols = cols;
    d->local_rows = lr;
    d->local_cols = lc;
    L->two_d = 1;
    L->sh.rows = rows;
    L->sh.cols = cols;
    L->sh.n = rows && cols && rows <= SIZE_MAX / cols ? rows * cols : 0;
}

static void pick_launch(fz_iter *it, fz_in *in, uint8_t how, fronta_task_desc_t *d,
                        fz_launch *L)
{
    memset(L, 0, sizeof *L);
    unsigned gmode = how & 3;
    if (gmode == 1) {
        d->global = fz_counts[in_pick(in, FZ_NCOUNTS)];
    } else if (gmode == 2) {
        int s = live_buf(it, in_u8(in));
        d->global = s >= 0 ? it->bufs[s].count : 1;
    } else if (gmode == 3) {
        uint8_t sb = in_u8(in);
        if (sb & 3) {
            launch_2d(it, in, sb, d, L);
            return;
        }
        d->global = (size_t)in_u64(in);
        if ((sb & 0x0c) == 0x0c) /* a 2-D work-group side on a 1-D launch */
            *((sb & 0x10) ? &d->local_rows : &d->local_cols) = 1;
    }
    L->sh = (fz_shape){1, d->global, d->global};
}

/* The buffer argument a like rule names, when it is one. */
static const fz_buf *like_buf(const fz_iter *it, const fz_task *t, const fronta_task_desc_t *d,
                              const fronta_param_t *p, size_t i)
{
    if (p->like < 1 || (size_t)p->like > i)
        return NULL;
    size_t j = (size_t)p->like - 1;
    if (d->args[j].kind != FRONTA_ARG_BUFFER || t->slot[j] < 0)
        return NULL;
    return &it->bufs[t->slot[j]];
}

/* A buffer for parameter p: one of its type and count if there is one. */
static int pick_buffer(const fz_iter *it, fz_in *in, const fronta_param_t *p, const fz_buf *like,
                       const fz_launch *L, int perturb)
{
    int cand[FZ_MAX_SLOTS], nc = 0;
    size_t want = count_wanted(p, &L->sh);
    for (int s = 0; s < it->nbufs; s++) {
        const fz_buf *b = &it->bufs[s];
        if (!b->b)
            continue;
        if (!perturb &&
            ((p->dtype && b->type != p->dtype) ||
             (!p->dtype && p->dtypes && !(p->dtypes & FRONTA_DTYPE_BIT(b->type))) ||
             (like && b->type != like->type) || (want && b->count != want)))
            continue;
        cand[nc++] = s;
    }
    return nc ? cand[in_pick(in, (unsigned)nc)] : -1;
}

/* Arguments: matching the parameters, with a perturbation now and then. */
static void pick_args(fz_iter *it, fz_in *in, fz_task *t, fronta_task_desc_t *d,
                      const fz_kview *kv, fz_launch *L, int smart, uint8_t how2, size_t nfill)
{
    for (size_t i = 0; i < nfill; i++) {
        fronta_arg_t *a = &d->args[i];
        uint8_t ab = in_u8(in);
        int perturb = !smart || (ab & 0xe0) == 0xe0;
        fronta_param_t p =
            i < kv->nparams ? kv->params[i] : (fronta_param_t){.kind = FRONTA_ARG_I32};
        const fz_buf *like = like_buf(it, t, d, &p, i);
        if (perturb) {
            static const int kinds[] = {FRONTA_ARG_BUFFER, FRONTA_ARG_I32, FRONTA_ARG_I64,
                                        FRONTA_ARG_F32, FRONTA_ARG_F64, 9};
            a->kind = (fronta_arg_kind_t)kinds[ab % 6];
            if ((int)a->kind == 9 && (ab & 0x10))
                a->kind = FRONTA_ARG_SCALAR; /* a parameter's kind, never an argument's */
        } else if (p.kind == FRONTA_ARG_SCALAR) {
            a->kind = like ? scalar_kind(like->type) : FRONTA_ARG_I32;
        } else {
            a->kind = p.kind;
        }
        if (a->kind != FRONTA_ARG_BUFFER) {
            scalar_value(in, a);
            continue;
        }
        int s = pick_buffer(it, in, &p, like, L, perturb);
        if ((ab & 0x1f) == 0x1f)
            s = -1; /* a NULL buffer */
        if (s >= 0) {
            a->buffer = it->bufs[s].b;
            t->slot[i] = s;
            if (!L->two_d && !L->sh.n) /* the first buffer gives the launch size */
                L->sh = (fz_shape){1, it->bufs[s].count, it->bufs[s].count};
        }
        static const int accesses[] = {FRONTA_ACCESS_IN, FRONTA_ACCESS_OUT, FRONTA_ACCESS_INOUT,
                                       0, 4, -1};
        if (!perturb && p.access)
            a->access = p.access;
        else
            a->access = (fronta_access_t)accesses[(ab >> 2) % ((how2 & 0x80) ? 6 : 3)];
    }
}

static size_t pick_nargs(fz_in *in, size_t nfill)
{
    switch (in_pick(in, 8)) {
    case 0:
    case 1:
    case 2:
        return 0;
    case 3:
    case 4:
        return nfill;
    case 5:
        return in_pick(in, FRONTA_MAX_ARGS + 1);
    case 6:
        return FRONTA_MAX_ARGS + 1 + in_pick(in, 4);
    default: {
        static const size_t huge[] = {SIZE_MAX, (size_t)1 << 32, ((size_t)1 << 32) + 2,
                                      (size_t)UINT32_MAX};
        return huge[in_pick(in, 4)];
    }
    }
}

/* Kernels without a buffer of the launch size run as many work items as
 * the launch says, whatever their code: keep that small. */
static void bound_launch(fronta_task_desc_t *d, const fz_kview *kv)
{
    for (size_t i = 0; i < kv->nparams && i < FRONTA_MAX_ARGS; i++)
        if (kv->params[i].kind == FRONTA_ARG_BUFFER &&
            kv->params[i].count == FRONTA_COUNT_GLOBAL)
            return;
    if (d->global > 4096)
        d->global %= 4097;
    if (d->rows && d->cols && d->rows <= SIZE_MAX / d->cols && d->rows * d->cols > 4096) {
        d->rows = 1 + d->rows % 64;
        d->cols = 1 + d->cols % 64;
    }
}

static void op_submit(fz_iter *it, fz_in *in)
{
    if (it->ntasks == FZ_MAX_TASKS)
        return;
    uint8_t how = in_u8(in), how2 = in_u8(in);
    fz_task *t = &it->tasks[it->ntasks];
    memset(t, 0, sizeof *t);
    t->kind = FZ_T_KERNEL;
    t->cancel_rc = 1;
    t->map = t->sx = t->smask = t->sout = -1;
    for (int i = 0; i < FRONTA_MAX_ARGS; i++)
        t->slot[i] = -1;
    fz_kview kv;
    fronta_kernel_t *k = pick_kernel(it, in, how, t, &kv);

    union {
        fronta_task_desc_t d;
        unsigned char raw[sizeof(fronta_task_desc_t) + 64];
    } u;
    memset(&u, 0, sizeof u);
    fronta_task_desc_t *d = &u.d;
    d->kernel = k;

    /* The launch first: buffers are chosen to match it. */
    fz_launch L;
    pick_launch(it, in, how, d, &L);
    int smart = (how & 0x04) == 0;
    size_t nfill = smart ? kv.nparams : in_pick(in, FRONTA_MAX_ARGS + 1);
    if (nfill > FRONTA_MAX_ARGS)
        nfill = FRONTA_MAX_ARGS;
    pick_args(it, in, t, d, &kv, &L, smart, how2, nfill);
    d->nargs = pick_nargs(in, nfill);
    /* local (a 2-D launch takes neither it nor global, but now and then) */
    static const size_t locals[] = {0, 0, 0, 1, 2, 4, 8, 16, 64, 256, 1024, 4096, 3, 7};
    unsigned lk = in_pick(in, 16);
    d->local = lk < 14 ? locals[lk] : (size_t)in_u64(in);
    if (L.two_d && !L.bad_gl)
        d->local = 0;
    else if (L.two_d && !d->local)
        d->global = L.sh.n ? L.sh.n : 1;
    /* needs */
    static const int needs[] = {FRONTA_NEED_ANY, FRONTA_NEED_ANY, FRONTA_NEED_CPU_POOL,
                                FRONTA_NEED_OPENCL, FRONTA_NEED_GPU, FRONTA_NEED_DEVICE, 5,
                                -1};
    d->needs.device = (fronta_need_t)needs[how2 % 8];
    static const int ids[] = {0, 1, 2, -1, 3, 64, INT_MAX, INT_MIN};
    d->needs.device_id = ids[(how2 >> 3) % 8];
    d->priority = (how2 & 0x40) ? (int)in_u32(in) : 0;
    d->name = (how & 0x08) ? "fz task" : NULL;
    /* after */
    fronta_future_t *after[4] = {NULL, NULL, NULL, NULL}, **exact = NULL;
    int preds[4];
    int na = pick_after(it, in, after, preds, 4);
    uint8_t ak = in_u8(in);
    if ((ak & 7) == 7) {
        d->after = NULL;
        d->nafter = na ? (size_t)na : 1; /* no array: EINVAL */
        na = 0;
    } else if ((ak & 7) == 6 && na) {
        /* A count whose array cannot exist: refused before it is read. */
        d->after = exact = exact_array(after, (size_t)na);
        d->nafter = FZ_HUGE_MIN + in_u8(in);
        na = 0;
    } else {
        d->after = na ? after : NULL;
        d->nafter = (size_t)na;
    }
    d->size = tdesc_size(in_u8(in));
    bound_launch(d, &kv);

    fronta_task_desc_t eff = *d;
    size_t sz = d->size;
    if (sz && sz < sizeof eff)
        memset((unsigned char *)&eff + sz, 0, sizeof eff - sz);
    if (eff.nafter == 0 || !eff.after)
        na = 0; /* a short size drops after[] */
    size_t nargs = 0;
    fz_shape sh;
    const char *why;
    int expect = task_expect(it, &eff, sz, &kv, t->slot, &nargs, &sh, &why);

    int fire_forget = (how & 0xf0) == 0xf0;
    fronta_future_t *f = (fronta_future_t *)&how;
    int rc = fronta_submit(g_rt, d, fire_forget ? NULL : &f);
    free(exact);
    FZ_TRACE("task %d: kernel %d, nargs %zu (%zu filled), global %zu, local %zu, rows %zu, "
             "cols %zu, local %zu x %zu, needs %d/%d, nafter %zu, size %zu%s: %s%s%s\n",
             it->ntasks, t->kern, eff.nargs, nfill, eff.global, eff.local, eff.rows, eff.cols,
             eff.local_rows, eff.local_cols, (int)eff.needs.device, eff.needs.device_id,
             eff.nafter, sz, fire_forget ? ", fire-and-forget" : "", fronta_err_name(rc),
             why ? ", contract: " : "", why ? why : "");
    for (size_t i = 0; fz_trace && i < nfill; i++)
        FZ_TRACE("  arg %zu: kind %d, buffer %d, access %d, value %#llx\n", i,
                 (int)d->args[i].kind, t->slot[i], (int)d->args[i].access,
                 (unsigned long long)d->args[i].v.i64);
    for (int i = 0; fz_trace && i < na; i++)
        FZ_TRACE("  after: task %d\n", preds[i]);
    check_rc("fronta_submit", rc, 0);
    if (!fire_forget && rc && f)
        fz_fail("fronta_submit failed (%s) and left *out non-NULL", fronta_err_name(rc));
    if (rc != expect)
        fz_fail("fronta_submit returned %s, the contract says %s%s%s (kernel %d, nargs %zu, "
                "global %zu, local %zu, rows %zu, cols %zu, local %zu x %zu, needs %d/%d, "
                "size %zu)",
                fronta_err_name(rc), fronta_err_name(expect), why ? ": " : "", why ? why : "",
                t->kern, eff.nargs, eff.global, eff.local, eff.rows, eff.cols, eff.local_rows,
                eff.local_cols, (int)eff.needs.device, eff.needs.device_id, sz);
    if (rc)
        return;
    if (!fire_forget && !f)
        fz_fail("fronta_submit succeeded with *out NULL");
    it->ntasks++;
    t->f = fire_forget ? NULL : f;
    t->lost = fire_forget;
    t->d = eff;
    t->nargs = nargs;
    t->global = sh.n;
    t->npreds = na;
    memcpy(t->preds, preds, (size_t)na * sizeof preds[0]);
    fz_ev *e = ev_add(it, FZ_EV_TASK, -1);
    if (e)
        e->task = (int)(t - it->tasks);
    else
        t->lost = 1;
}

/* ---- ops: plain tasks --------------------------------------------------- */

static void in_targ(fz_in *in, fz_targ *a, uint32_t tag)
{
    memset(a, 0, sizeof *a);
    a->tag = tag;
    uint8_t c = in_u8(in);
    a->code = (uint8_t)((c & 0x80) | ((c & 0x7f) % FZ_NCODES));
    uint8_t f = in_u8(in);
    a->fails = (uint8_t)(f % 4);
    a->children = (uint8_t)((f >> 2) % 4);
    a->big = (uint8_t)((f >> 4) & 1);
}

static fz_task *new_fn_task(fz_iter *it, fronta_future_t *f, int kind, const fz_targ *a,
                            unsigned retries)
{
    fz_task *t = &it->tasks[it->ntasks++];
    memset(t, 0, sizeof *t);
    t->f = f;
    t->kind = kind;
    t->cancel_rc = 1;
    t->map = t->sx = t->smask = t->sout = -1;
    t->kern = -4;
    if (a)
        t->targ = *a;
    t->retries = retries;
    return t;
}

static void op_map(fz_iter *it, fz_in *in)
{
    uint8_t how = in_u8(in), how2 = in_u8(in);
    static const size_t asizes[] = {sizeof(fz_targ), sizeof(fz_targ), 0, 1, 4,
                                    sizeof(fz_targ) + 1, 100, 4096, (size_t)UINT32_MAX + 1,
                                    SIZE_MAX, SIZE_MAX / 2 + 1};
    size_t arg_size = asizes[how % 11];
    size_t n;
    int huge = (how2 & 0x0f) == 0x0f;
    if (huge) {
        static const size_t hn[] = {SIZE_MAX, FZ_HUGE_MIN, SIZE_MAX / 2, (size_t)1 << 62};
        n = hn[in_pick(in, 4)];
    } else {
        n = in_pick(in, FZ_MAP_MAX + 1);
    }
    if ((size_t)(FZ_MAX_TASKS - it->ntasks) < FZ_MAP_MAX && !huge)
        n = n < (size_t)(FZ_MAX_TASKS - it->ntasks) ? n : (size_t)(FZ_MAX_TASKS - it->ntasks);
    /* A valid call reads n * arg_size bytes: pass a smaller array only when
     * no array can have that size. */
    int impossible = huge || (arg_size && n > (size_t)PTRDIFF_MAX / arg_size);
    if (!impossible && arg_size > 4096)
        n = 0;
    unsigned char *args = NULL;
    fz_targ targs[FZ_MAP_MAX];
    if (!impossible && n && arg_size) {
        args = malloc(n * arg_size);
        if (!args)
            fz_fail("out of memory in the harness");
        for (size_t i = 0; i < n; i++) {
            unsigned char *p = args + i * arg_size;
            memset(p, 0xee, arg_size);
            if (arg_size >= sizeof(fz_targ)) {
                in_targ(in, &targs[i], (uint32_t)(g_salt ^ ((uint64_t)it->ntasks + i) << 8));
                memcpy(p, &targs[i], sizeof targs[i]);
            }
        }
    } else if (impossible) {
        args = calloc(1, 64);
    }
    fronta_fn_t fn = arg_size >= sizeof(fz_targ) ? fz_fn : fz_fn_noarg;
    if ((how2 & 0x30) == 0x30)
        fn = NULL;
    if ((how2 & 0xc0) == 0xc0 && n) { /* n elements, no array */
        free(args);
        args = NULL;
    }
    fronta_map_opts_t o;
    union {
        fronta_map_opts_t o;
        unsigned char raw[sizeof(fronta_map_opts_t) + 32];
    } uo;
    memset(&uo, 0, sizeof uo);
    uint8_t ob = in_u8(in);
    static const size_t osizes[] = {0, sizeof(fronta_map_opts_t), sizeof(fronta_map_opts_t) + 16,
                                    4, offsetof(fronta_map_opts_t, priority),
                                    offsetof(fronta_map_opts_t, retries)};
    uo.o.size = osizes[ob % 6];
    static const size_t inflight[] = {0, 1, 2, 3, SIZE_MAX};
    uo.o.max_inflight = inflight[(ob >> 3) % 5];
    uo.o.priority = (ob & 0x40) ? (int)in_u32(in) : 0;
    static const unsigned retries[] = {0, 1, 2, 3, 65535, 65536, UINT_MAX};
    uo.o.retries = retries[in_pick(in, 7)];
    int use_opts = (ob & 0x80) != 0;
    o = uo.o;
    size_t osz = o.size;
    fronta_map_opts_t eff = o;
    if (osz && osz < sizeof eff)
        memset((unsigned char *)&eff + osz, 0, sizeof eff - osz);
    fronta_future_t *out[FZ_MAP_MAX];
    for (size_t i = 0; i < FZ_MAP_MAX; i++)
        out[i] = (fronta_future_t *)&how;
    int null_out = (how & 0x80) && (how & 0x40);

    /* The contract: which calls must be refused. */
    int invalid = 0;
    if (use_opts && osz && osz < sizeof(size_t))
        invalid = 1;
    if (!fn || (n && null_out) || (n && arg_size && !args))
        invalid = 1;
    if (impossible || arg_size > UINT32_MAX || (use_opts && eff.retries > 65535))
        invalid = 1;

    int rc = fronta_map(g_rt, fn, args, arg_size, n, use_opts ? &uo.o : NULL,
                        null_out ? NULL : out);
    FZ_TRACE("map: n %zu, arg_size %zu, fn %s, opts %s (size %zu, inflight %zu, retries %u): "
             "%s, tasks %d..\n",
             n, arg_size, !fn ? "NULL" : fn == fz_fn ? "fz_fn" : "noarg", use_opts ? "set" : "NULL",
             osz, eff.max_inflight, eff.retries, fronta_err_name(rc), it->ntasks);
    check_rc("fronta_map", rc, 0);
    if (impossible && rc != FRONTA_ERANGE && rc != FRONTA_EINVAL)
        fz_fail("fronta_map(n %zu, arg_size %zu) returned %s: a count no array can have must "
                "be refused (FRONTA_ERANGE)",
                n, arg_size, fronta_err_name(rc));
    if (rc == 0 && invalid)
        fz_fail("fronta_map accepted an invalid call (n %zu, arg_size %zu, fn %s, args %s, "
                "out %s, opts size %zu retries %u)",
                n, arg_size, fn ? "set" : "NULL", args ? "set" : "NULL",
                null_out ? "NULL" : "set", osz, eff.retries);
    if (rc && !invalid && rc != FRONTA_ENOMEM)
        fz_fail("fronta_map refused a valid call with %s (n %zu, arg_size %zu)",
                fronta_err_name(rc), n, arg_size);
    free(args);
    if (rc || null_out)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!out[i] || out[i] == (fronta_future_t *)&how)
            fz_fail("fronta_map: out[%zu] not set", i);
        new_fn_task(it, out[i], fn == fz_fn ? FZ_T_FN : FZ_T_NOARG,
                    fn == fz_fn ? &targs[i] : NULL, use_opts ? eff.retries : 0);
    }
}

static void op_call(fz_iter *it, fz_in *in)
{
    if (it->ntasks == FZ_MAX_TASKS)
        return;
    uint8_t how = in_u8(in);
    union {
        fronta_call_t c;
        unsigned char raw[sizeof(fronta_call_t) + 32];
    } u;
    memset(&u, 0, sizeof u);
    fronta_call_t *c = &u.c;
    fz_targ a;
    in_targ(in, &a, (uint32_t)(g_salt ^ (uint64_t)it->ntasks << 8));
    c->fn = (how & 0x07) == 0x07 ? NULL : fz_fn; /* fz_fn_noarg below if size drops arg */
    c->arg = &a;
    c->arg_size = sizeof a;
    if ((how & 0x18) == 0x18) {
        c->arg = NULL; /* arg_size without an argument */
    }
    fronta_future_t *after[6], **exact = NULL;
    int preds[6];
    int na = pick_after(it, in, after, preds, 6);
    c->after = na ? after : NULL;
    c->nafter = (size_t)na;
    uint8_t ak = in_u8(in);
    if ((ak & 7) == 7) {
        c->after = NULL;
        c->nafter = 1 + (size_t)na;
        na = 0;
    } else if ((ak & 7) == 6 && na) {
        c->after = exact = exact_array(after, (size_t)na);
        c->nafter = FZ_HUGE_MIN + in_u8(in);
        na = 0;
    }
    static const unsigned retries[] = {0, 0, 1, 2, 3, 65535, 65536};
    c->retries = retries[in_pick(in, 7)];
    c->priority = (ak & 0x08) ? (int)in_u32(in) : 0;
    c->key = (ak & 0x10) ? in_u64(in) : 0;
    c->name = (ak & 0x20) ? "fz call" : NULL;
    static const size_t csizes[] = {0, 0, sizeof(fronta_call_t), sizeof(fronta_call_t) + 8,
                                    offsetof(fronta_call_t, fn), offsetof(fronta_call_t, arg),
                                    offsetof(fronta_call_t, after),
                                    offsetof(fronta_call_t, priority),
                                    offsetof(fronta_call_t, key)};
    c->size = csizes[in_pick(in, 9)];
    if (c->fn && c->size && c->size < offsetof(fronta_call_t, arg_size) + sizeof c->arg_size)
        c->fn = fz_fn_noarg; /* fronta will see no argument */
    fronta_call_t eff = *c;
    if (c->size && c->size < sizeof eff)
        memset((unsigned char *)&eff + c->size, 0, sizeof eff - c->size);
    int invalid = (c->size && c->size < offsetof(fronta_call_t, fn) + sizeof c->fn) || !eff.fn ||
                  (eff.arg_size && !eff.arg) || (eff.nafter && !eff.after) ||
                  eff.nafter >= FZ_HUGE_MIN || eff.retries > 65535;
    int fire_forget = (how & 0xe0) == 0xe0;
    fronta_future_t *f = (fronta_future_t *)&how;
    int rc = fronta_submit_call(g_rt, c, fire_forget ? NULL : &f);
    free(exact);
    FZ_TRACE("call: task %d, size %zu, nafter %zu, retries %u, key %llu, code %d, fails %u: %s\n",
             it->ntasks, c->size, eff.nafter, eff.retries, (unsigned long long)eff.key,
             fz_code_of(a.code), a.fails, fronta_err_name(rc));
    check_rc("fronta_submit_call", rc, 0);
    if (rc == 0 && invalid)
        fz_fail("fronta_submit_call accepted an invalid call (size %zu)", c->size);
    if (rc && !invalid)
        fz_fail("fronta_submit_call refused a valid call with %s (size %zu)",
                fronta_err_name(rc), c->size);
    if (rc) {
        if (!fire_forget && f)
            fz_fail("fronta_submit_call failed and left *out non-NULL");
        return;
    }
    /* Fields past size are zero for fronta: a short size drops after[]. */
    if (eff.nafter == 0)
        na = 0;
    fz_task *t = new_fn_task(it, fire_forget ? NULL : f, eff.arg_size ? FZ_T_FN : FZ_T_NOARG,
                             &a, eff.retries);
    t->lost = fire_forget;
    t->npreds = na;
    memcpy(t->preds, preds, (size_t)na * sizeof preds[0]);
    t->key_given = eff.key != 0;
    t->key = eff.key;
}

/* ---- ops: partitions ---------------------------------------------------- */

/* Tile i of P: its first row and column, and its shape. */
static void tile_of(const fz_part *P, size_t i, size_t *r0, size_t *c0, size_t *nr, size_t *nc)
{
    *r0 = (i / P->ntc) * P->tr;
    *c0 = (i % P->ntc) * P->tc;
    *nr = P->rows - *r0 < P->tr ? P->rows - *r0 : P->tr;
    *nc = P->cols - *c0 < P->tc ? P->cols - *c0 : P->tc;
}

static void part_alloc(fz_part *P, size_t n)
{
    P->n = n;
    P->off = calloc(n ? n : 1, sizeof *P->off);
    P->len = calloc(n ? n : 1, sizeof *P->len);
    if (!P->off || !P->len)
        fz_fail("out of memory in the harness");
}

/* The chunks a valid descriptor asks for (docs/arrays.md "The ways to
 * cut"); 0 for the automatic choice, whose chunks are read back. */
static int layout_expect(fz_part *P, const fronta_partition_t *e, size_t count)
{
    if (e->lengths) {
        part_alloc(P, e->nlengths);
        for (size_t i = 0, off = 0; i < P->n; off += e->lengths[i++]) {
            P->off[i] = off;
            P->len[i] = e->lengths[i];
        }
        return 1;
    }
    if (e->rows) {
        P->tiled = 1;
        P->rows = e->rows;
        P->cols = e->cols;
        P->tr = e->tile_rows < e->rows ? e->tile_rows : e->rows;
        P->tc = e->tile_cols < e->cols ? e->tile_cols : e->cols;
        P->ntc = (P->cols + P->tc - 1) / P->tc;
        part_alloc(P, ((P->rows + P->tr - 1) / P->tr) * P->ntc);
        for (size_t i = 0; i < P->n; i++) {
            size_t r0, c0, nr, nc;
            tile_of(P, i, &r0, &c0, &nr, &nc);
            P->off[i] = r0 * P->cols + c0;
            P->len[i] = nr * nc;
        }
        return 1;
    }
    if (e->chunk_len) {
        part_alloc(P, count / e->chunk_len + (count % e->chunk_len != 0));
        for (size_t i = 0; i < P->n; i++) {
            P->off[i] = i * e->chunk_len;
            P->len[i] = count - P->off[i] < e->chunk_len ? count - P->off[i] : e->chunk_len;
        }
        return 1;
    }
    if (e->nchunks) {
        size_t q = count / e->nchunks, r = count % e->nchunks;
        part_alloc(P, e->nchunks);
        for (size_t i = 0; i < P->n; i++) {
            P->off[i] = i * q + (i < r ? i : r);
            P->len[i] = q + (i < r);
        }
        return 1;
    }
    return 0;
}

/* The codes fronta_buffer_partition may answer (fronta.h: every rule the
 * call breaks, in any order); 0: it must succeed. */
static unsigned partition_expect(const fz_buf *b, int null_desc, size_t sz,
                                 const fronta_partition_t *e)
{
    unsigned exp = 0;
    if (!b)
        exp |= FZ_B(EINVAL);
    if (!null_desc && sz && sz < offsetof(fronta_partition_t, nchunks) + sizeof(size_t))
        return exp | FZ_B(EINVAL);
    if (b && b->chunk_of >= 0)
        exp |= FZ_B(ENOTSUP);
    if (b && b->part >= 0)
        exp |= FZ_B(EPARTITION);
    int tiles = e->rows || e->cols || e->tile_rows || e->tile_cols;
    int ways = (e->nchunks != 0) + (e->chunk_len != 0) + (e->lengths || e->nlengths) + tiles;
    size_t count = b ? b->count : 0;
    if (ways > 1)
        return exp | FZ_B(EINVAL);
    if (!b)
        return exp;
    if (e->lengths || e->nlengths) {
        if (!e->lengths || !e->nlengths)
            return exp | FZ_B(EINVAL);
        if (e->nlengths > count)
            return exp | FZ_B(ERANGE); /* more chunks than elements: not read further */
        size_t sum = 0;
        int over = 0;
        for (size_t i = 0; i < e->nlengths; i++) {
            if (!e->lengths[i])
                exp |= FZ_B(EINVAL);
            over |= e->lengths[i] > SIZE_MAX - sum;
            sum += e->lengths[i];
        }
        if (over || sum != count)
            exp |= FZ_B(ERANGE);
        return exp;
    }
    if (tiles) {
        if (!e->rows || !e->cols || !e->tile_rows || !e->tile_cols ||
            e->rows > SIZE_MAX / e->cols || e->rows * e->cols != count)
            exp |= FZ_B(EINVAL);
        return exp;
    }
    if (e->nchunks > count)
        exp |= FZ_B(ERANGE);
    return exp;
}

/* Lengths that sum to count (k of them, k <= 8), then now and then a rule
 * broken. *nl is what the descriptor says; the array holds exactly the
 * entries a valid call would read (heap, so that ASan sees a read past). */
static size_t *random_lengths(fz_in *in, size_t count, size_t *nl)
{
    size_t k = 1 + in_pick(in, 8);
    if (k > count)
        k = count;
    size_t *l = malloc(k * sizeof *l);
    if (!l)
        fz_fail("out of memory in the harness");
    size_t left = count;
    for (size_t i = 0; i < k; i++) {
        size_t room = left - (k - 1 - i); /* each later one needs 1 */
        size_t v = i + 1 == k ? left : 1 + (room > 1 ? in_u16(in) % room : 0);
        if (v > room)
            v = room;
        l[i] = v;
        left -= v;
    }
    *nl = k;
    size_t j = in_pick(in, (unsigned)k);
    switch (in_pick(in, 12)) {
    case 0:
        l[j] = 0;
        break;
    case 1:
        l[j] += 1;
        break;
    case 2:
        if (l[j] > 1)
            l[j] -= 1;
        break;
    case 3:
        l[j] = SIZE_MAX;
        break;
    case 4:
        l[j] = SIZE_MAX / 2 + 1; /* with another such: a sum that wraps to small */
        l[(j + 1) % k] = SIZE_MAX / 2 + 1;
        break;
    case 5:
        *nl = count + 1 + in_u8(in); /* more than elements: refused unread */
        break;
    case 6:
        *nl = SIZE_MAX;
        break;
    default:
        break;
    }
    return l;
}

static const size_t fz_sides[] = {1, 2, 3, 4, 7, 8, 16, 64, 0, SIZE_MAX, 5, 1000};

static void random_tiles(fz_in *in, size_t count, fronta_partition_t *p)
{
    size_t rows = pick_divisor(in, count, count);
    size_t cols = count / rows;
    switch (in_pick(in, 10)) {
    case 0:
        rows += 1; /* rows x cols != count */
        break;
    case 1:
        rows = SIZE_MAX / 2 + 1; /* the product wraps */
        cols = 2;
        break;
    case 2:
        cols = 0;
        break;
    default:
        break;
    }
    p->rows = rows;
    p->cols = cols;
    unsigned a = in_pick(in, 14), c = in_pick(in, 14);
    p->tile_rows = a < 12 ? fz_sides[a] : a == 12 ? rows : rows + 1;
    p->tile_cols = c < 12 ? fz_sides[c] : c == 12 ? cols : cols + 1;
    if (p->tile_rows == 0 && (a & 1))
        p->tile_rows = 1;
}

static size_t pick_nchunks(fz_in *in, size_t count)
{
    static const size_t v[] = {1, 2, 3, 4, 5, 7, 8, 16, 13, SIZE_MAX, (size_t)1 << 32, 6};
    unsigned k = in_pick(in, 15);
    if (k < 12)
        return v[k];
    return k == 12 ? count : k == 13 ? count + 1 : 1 + (size_t)in_u16(in);
}

static size_t pick_chunk_len(fz_in *in, size_t count)
{
    static const size_t v[] = {1, 2, 3, 7, 16, 64, 100, 1000, SIZE_MAX, 33, 256, 5};
    unsigned k = in_pick(in, 15);
    if (k < 12)
        return v[k];
    return k == 12 ? count : k == 13 ? count + 1 : 1 + (size_t)in_u16(in);
}

/* Sizes at the descriptor's field boundaries. */
static size_t psize(unsigned k)
{
    static const size_t s[] = {0,
                               0,
                               sizeof(fronta_partition_t),
                               sizeof(fronta_partition_t) + 16,
                               4,
                               offsetof(fronta_partition_t, nchunks),
                               offsetof(fronta_partition_t, chunk_len),
                               offsetof(fronta_partition_t, lengths),
                               offsetof(fronta_partition_t, nlengths),
                               offsetof(fronta_partition_t, rows),
                               offsetof(fronta_partition_t, tile_rows),
                               0};
    return s[k % 12];
}

/* Slots of whole buffers that are not chunks: what a partition mostly cuts. */
static int live_whole(const fz_iter *it, unsigned pick)
{
    int c[FZ_MAX_SLOTS], n = 0;
    for (int i = 0; i < it->nbufs; i++)
        if (it->bufs[i].b && it->bufs[i].chunk_of < 0 && it->bufs[i].part < 0)
            c[n++] = i;
    return n ? c[pick % (unsigned)n] : live_buf(it, pick);
}

static int live_parent(const fz_iter *it, unsigned pick)
{
    int c[FZ_MAX_SLOTS], n = 0;
    for (int i = 0; i < it->nbufs; i++)
        if (it->bufs[i].b && it->bufs[i].part >= 0)
            c[n++] = i;
    return n ? c[pick % (unsigned)n] : live_buf(it, pick);
}

/* The chunks of a partition that is no more, or of a buffer destroyed:
 * after a partition or destroy of the parent their handles are freed. */
static void chunks_gone(fz_iter *it, int parent)
{
    for (int s = 0; s < it->nbufs; s++) {
        fz_buf *c = &it->bufs[s];
        if (!c->b || c->chunk_of < 0 || it->parts[c->chunk_of].parent != parent ||
            it->parts[c->chunk_of].live)
            continue;
        /* Held, it is not freed yet: its partition's undoing waits for it. */
        if (c->held)
            check_rc("fronta_buffer_release of a retired chunk", fronta_buffer_release(c->b),
                     FZ_OK);
        c->held = 0;
        c->b = NULL;
    }
}

/* Retired chunks stay valid handles until their parent is destroyed or
 * partitioned again: a call that failed did neither. */
static void check_retired(const fz_iter *it, int parent)
{
    for (int s = 0; s < it->nbufs; s++) {
        const fz_buf *c = &it->bufs[s];
        if (!c->b || !c->retired || it->parts[c->chunk_of].parent != parent)
            continue;
        fronta_chunk_info_t ci;
        memset(&ci, 0, sizeof ci);
        ci.size = sizeof ci;
        int rc = fronta_buffer_chunk_info(c->b, &ci);
        if (rc || !ci.retired || ci.index != c->cidx || ci.parent != it->bufs[parent].b)
            fz_fail("retired chunk %zu (slot %d): fronta_buffer_chunk_info %s, retired %d, "
                    "index %zu",
                    c->cidx, s, fronta_err_name(rc), ci.retired, ci.index);
    }
}

/* Chunk i of P as fronta reports it, against the layout. */
static void check_chunk(const fz_iter *it, const fz_part *P, size_t i, fronta_buffer_t *c,
                        int explicit_layout)
{
    const fz_buf *pb = &it->bufs[P->parent];
    if (!c)
        fz_fail("fronta_buffer_chunk(%zu) of %zu is NULL", i, P->n);
    fronta_chunk_info_t ci;
    memset(&ci, 0, sizeof ci);
    ci.size = sizeof ci;
    int rc = fronta_buffer_chunk_info(c, &ci);
    if (rc)
        fz_fail("fronta_buffer_chunk_info of chunk %zu: %s", i, fronta_err_name(rc));
    if (!explicit_layout) { /* automatic: 1-D, consecutive, each >= 1 */
        P->off[i] = i ? P->off[i - 1] + P->len[i - 1] : 0;
        P->len[i] = fronta_buffer_count(c);
        if (!P->len[i])
            fz_fail("automatic partition: chunk %zu is empty", i);
    }
    size_t r0 = 0, c0 = 0, nr = 1, nc = P->len[i];
    if (P->tiled)
        tile_of(P, i, &r0, &c0, &nr, &nc);
    if (fronta_buffer_count(c) != P->len[i] || fronta_buffer_dtype(c) != pb->type ||
        ci.parent != pb->b || ci.index != i || ci.retired || ci.rows != nr || ci.cols != nc ||
        (P->tiled ? ci.row != r0 || ci.col != c0 : ci.offset != P->off[i]))
        fz_fail("chunk %zu of %zu (%s): count %zu dtype %d, info parent %s index %zu offset %zu "
                "row %zu col %zu shape %zu x %zu retired %d; expected count %zu offset %zu "
                "row %zu col %zu shape %zu x %zu",
                i, P->n, P->tiled ? "tile" : "1-D", fronta_buffer_count(c),
                (int)fronta_buffer_dtype(c), ci.parent == pb->b ? "right" : "WRONG", ci.index,
                ci.offset, ci.row, ci.col, ci.rows, ci.cols, ci.retired, P->len[i], P->off[i], r0,
                c0, nr, nc);
}

/* A successful partition: its chunks read back and checked, followed when
 * few enough, the event for the replay. */
static void partition_model(fz_iter *it, int s, const fronta_partition_t *e)
{
    fz_buf *b = &it->bufs[s];
    int pi = it->nparts++;
    fz_part *P = &it->parts[pi];
    memset(P, 0, sizeof *P);
    P->parent = s;
    P->first = -1;
    P->live = 1;
    size_t n = fronta_buffer_nchunks(b->b);
    int explicit_layout = layout_expect(P, e, b->count);
    if (!explicit_layout)
        part_alloc(P, n);
    if (n != P->n || !n || n > b->count)
        fz_fail("partition of %zu elements: fronta_buffer_nchunks %zu, the descriptor asks %zu",
                b->count, n, P->n);
    fronta_buffer_t *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        fronta_buffer_t *c = fronta_buffer_chunk(b->b, i);
        check_chunk(it, P, i, c, explicit_layout);
        if (c == prev || c == b->b)
            fz_fail("chunk %zu is the same handle as its neighbour or its parent", i);
        prev = c;
    }
    if (!explicit_layout && P->off[n - 1] + P->len[n - 1] != b->count)
        fz_fail("automatic partition: the chunks cover %zu of %zu elements",
                P->off[n - 1] + P->len[n - 1], b->count);
    if (fronta_buffer_chunk(b->b, n) || fronta_buffer_chunk(b->b, SIZE_MAX))
        fz_fail("fronta_buffer_chunk past the last chunk is not NULL");
    chunks_gone(it, s);
    b->part = pi;
    if (n <= FZ_TRACK_CHUNKS && it->nbufs + (int)n <= FZ_MAX_SLOTS) {
        P->first = it->nbufs;
        for (size_t i = 0; i < n; i++) {
            fz_buf *c = &it->bufs[it->nbufs++];
            memset(c, 0, sizeof *c);
            c->b = fronta_buffer_chunk(b->b, i);
            c->type = b->type;
            c->count = P->len[i];
            c->bytes = c->count * dsize(b->type);
            c->part = -1;
            c->chunk_of = pi;
            c->cidx = i;
        }
    }
    ev_add(it, FZ_EV_PART, s)->task = pi;
}

static void op_partition(fz_iter *it, fz_in *in)
{
    if (it->nparts == FZ_MAX_PARTS)
        return;
    uint8_t how = in_u8(in), how2 = in_u8(in);
    int s;
    switch (how2 >> 6) {
    case 2:
        s = live_buf(it, in_u8(in)); /* a chunk (ENOTSUP), a parent (EPARTITION) */
        break;
    case 3:
        s = (how2 & 0x20) ? -1 : live_whole(it, in_u8(in));
        break;
    default:
        s = live_whole(it, in_u8(in));
        break;
    }
    if (s < 0 && !(how2 & 0x20))
        return;
    fz_buf *b = s >= 0 ? &it->bufs[s] : NULL;
    size_t count = b ? b->count : 16;
    union {
        fronta_partition_t p;
        unsigned char raw[sizeof(fronta_partition_t) + 32];
    } u;
    memset(&u, 0, sizeof u);
    fronta_partition_t *p = &u.p;
    size_t *lens = NULL;
    int null_desc = 0;
    switch (how % 8) {
    case 0:
        null_desc = 1; /* automatic */
        break;
    case 1:
        break; /* no way set: automatic */
    case 2:
        p->nchunks = pick_nchunks(in, count);
        break;
    case 3:
        p->chunk_len = pick_chunk_len(in, count);
        break;
    case 4:
        p->lengths = lens = random_lengths(in, count, &p->nlengths);
        break;
    case 5:
        random_tiles(in, count, p);
        break;
    case 6: /* two ways */
        p->nchunks = 1 + in_pick(in, 4);
        if (how & 0x08)
            p->chunk_len = 1 + in_pick(in, 4);
        else
            random_tiles(in, count, p);
        break;
    default: /* one half of a way */
        if (how & 0x08)
            p->lengths = lens = random_lengths(in, count, &p->nlengths);
        else
            random_tiles(in, count, p);
        if (how & 0x10)
            p->nlengths = 0, p->tile_rows = 0;
        else
            p->lengths = NULL, p->rows = 0;
        break;
    }
    p->size = psize(in_u8(in));
    size_t sz = p->size;
    fronta_partition_t eff = *p;
    if (null_desc)
        memset(&eff, 0, sizeof eff);
    else if (sz && sz < sizeof eff)
        memset((unsigned char *)&eff + sz, 0, sizeof eff - sz);
    unsigned exp = partition_expect(b, null_desc, sz, &eff);
    size_t before = b ? fronta_buffer_nchunks(b->b) : 0;
    int rc = fronta_buffer_partition(b ? b->b : NULL, null_desc ? NULL : p);
    FZ_TRACE("partition buffer %d (%s): %s, size %zu, nchunks %zu, chunk_len %zu, nlengths "
             "%zu, tiles %zu x %zu by %zu x %zu: %s (expected %#x)\n",
             s, !b ? "NULL" : b->chunk_of >= 0 ? "a chunk" : b->part >= 0 ? "partitioned"
                                                                          : "whole",
             null_desc ? "NULL descriptor" : "descriptor", sz, eff.nchunks, eff.chunk_len,
             eff.nlengths, eff.rows, eff.cols, eff.tile_rows, eff.tile_cols, fronta_err_name(rc),
             exp);
    check_rc("fronta_buffer_partition", rc, exp ? exp : FZ_OK);
    if (rc) {
        free(lens);
        if (b && fronta_buffer_nchunks(b->b) != before)
            fz_fail("fronta_buffer_partition failed (%s), yet the chunk count changed from %zu "
                    "to %zu",
                    fronta_err_name(rc), before, fronta_buffer_nchunks(b->b));
        if (b)
            check_retired(it, s);
        return;
    }
    partition_model(it, s, &eff);
    free(lens);
}

/* A successful unpartition (by the call, or by destroy): the chunks
 * retire, and the replay brings their contents home. */
static void unpartition_model(fz_iter *it, int s)
{
    fz_buf *b = &it->bufs[s];
    fz_part *P = &it->parts[b->part];
    P->live = 0;
    for (int i = 0; i < it->nbufs; i++)
        if (it->bufs[i].chunk_of == b->part)
            it->bufs[i].retired = 1;
    ev_add(it, FZ_EV_UNPART, s)->task = b->part;
    b->part = -1;
}

/* fronta_buffer_chunk_info into a descriptor of size sz (others' bytes
 * must stay as they were), of slot s's handle or of chunk i of it. */
static void chunk_info_call(const fz_iter *it, fz_in *in, int s)
{
    const fz_buf *b = &it->bufs[s];
    static const size_t sizes[] = {0,
                                   sizeof(fronta_chunk_info_t),
                                   sizeof(fronta_chunk_info_t) + 16,
                                   4,
                                   offsetof(fronta_chunk_info_t, parent),
                                   offsetof(fronta_chunk_info_t, index),
                                   offsetof(fronta_chunk_info_t, offset),
                                   offsetof(fronta_chunk_info_t, rows),
                                   offsetof(fronta_chunk_info_t, retired)};
    uint8_t how = in_u8(in);
    size_t sz = sizes[how % 9];
    union {
        fronta_chunk_info_t ci;
        unsigned char raw[sizeof(fronta_chunk_info_t) + 32];
    } u;
    memset(&u, 0xa5, sizeof u);
    u.ci.size = sz;
    /* The handle: the slot's own, chunk i of a parent, or NULL. */
    const fronta_buffer_t *h = b->b;
    const fz_part *P = b->chunk_of >= 0 ? &it->parts[b->chunk_of] : NULL;
    size_t idx = b->cidx;
    if ((how & 0x30) == 0x10 && b->part >= 0) {
        P = &it->parts[b->part];
        idx = in_u16(in) % P->n;
        h = fronta_buffer_chunk(b->b, idx);
    } else if ((how & 0x30) == 0x20) {
        h = NULL;
    }
    int null_out = (how & 0xc0) == 0xc0;
    int rc = fronta_buffer_chunk_info(h, null_out ? NULL : &u.ci);
    int is_chunk = h && P && (h != b->b || b->chunk_of >= 0);
    check_rc("fronta_buffer_chunk_info", rc, 0);
    if (!is_chunk || null_out) {
        if (rc != FRONTA_EINVAL)
            fz_fail("fronta_buffer_chunk_info(%s, %s) returned %s, not FRONTA_EINVAL",
                    !h ? "NULL" : "a buffer that is not a chunk", null_out ? "NULL" : "out",
                    fronta_err_name(rc));
        return;
    }
    if (rc && !(sz && sz < sizeof(size_t) && rc == FRONTA_EINVAL))
        fz_fail("fronta_buffer_chunk_info (size %zu) of a chunk: %s", sz, fronta_err_name(rc));
    if (rc)
        return;
    size_t want = sz && sz < sizeof u.ci ? sz : sizeof u.ci;
    for (size_t i = want; i < sizeof u.raw; i++)
        if (u.raw[i] != 0xa5)
            fz_fail("fronta_buffer_chunk_info (size %zu) wrote byte %zu", sz, i);
#define FZ_HAS(f) (offsetof(fronta_chunk_info_t, f) + sizeof u.ci.f <= want)
    size_t r0 = 0, c0 = 0, nr = 1, nc = P->len[idx];
    if (P->tiled)
        tile_of(P, idx, &r0, &c0, &nr, &nc);
    int retired = !P->live;
    if ((FZ_HAS(parent) && u.ci.parent != it->bufs[P->parent].b) ||
        (FZ_HAS(index) && u.ci.index != idx) ||
        (FZ_HAS(offset) && !P->tiled && u.ci.offset != P->off[idx]) ||
        (FZ_HAS(rows) && u.ci.rows != nr) || (FZ_HAS(cols) && u.ci.cols != nc) ||
        (FZ_HAS(retired) && u.ci.retired != retired))
        fz_fail("fronta_buffer_chunk_info (size %zu) of chunk %zu of %zu: index %zu offset %zu "
                "shape %zu x %zu retired %d, expected offset %zu shape %zu x %zu retired %d",
                sz, idx, P->n, u.ci.index, u.ci.offset, u.ci.rows, u.ci.cols, u.ci.retired,
                P->off[idx], nr, nc, retired);
#undef FZ_HAS
}

static void chunk_queries(fz_iter *it, fz_in *in)
{
    if (fronta_buffer_nchunks(NULL) != 0 || fronta_buffer_chunk(NULL, 0))
        fz_fail("fronta_buffer_nchunks/chunk of NULL");
    int s = live_buf(it, in_u8(in));
    if (s < 0)
        return;
    fz_buf *b = &it->bufs[s];
    size_t n = fronta_buffer_nchunks(b->b), want = b->part >= 0 ? it->parts[b->part].n : 0;
    if (n != want)
        fz_fail("fronta_buffer_nchunks of buffer %d: %zu, expected %zu", s, n, want);
    size_t idx[] = {0, 1, want - 1, want, want + 1, SIZE_MAX, in_u16(in), SIZE_MAX / 2 + 1};
    size_t i = idx[in_pick(in, 8)];
    fronta_buffer_t *c = fronta_buffer_chunk(b->b, i);
    if ((i < want) != (c != NULL))
        fz_fail("fronta_buffer_chunk(%zu) of %zu chunks is %s", i, want, c ? "set" : "NULL");
    FZ_TRACE("chunks of buffer %d: %zu, chunk %zu %s\n", s, n, i, c ? "set" : "NULL");
    const fz_part *P = b->part >= 0 ? &it->parts[b->part] : NULL;
    if (c && P->first >= 0 && c != it->bufs[P->first + (int)i].b)
        fz_fail("fronta_buffer_chunk(%zu) is not the handle it gave at the partition", i);
    chunk_info_call(it, in, s);
}

static void op_unpartition(fz_iter *it, fz_in *in)
{
    uint8_t how = in_u8(in);
    if (how & 1) {
        chunk_queries(it, in);
        return;
    }
    int s;
    switch ((how >> 1) & 3) {
    case 2:
        s = live_buf(it, in_u8(in));
        break;
    case 3:
        s = -1;
        break;
    default:
        s = live_parent(it, in_u8(in));
        break;
    }
    if (s < 0 && ((how >> 1) & 3) != 3)
        return;
    fz_buf *b = s >= 0 ? &it->bufs[s] : NULL;
    int rc = fronta_buffer_unpartition(b ? b->b : NULL);
    FZ_TRACE("unpartition buffer %d: %s\n", s, fronta_err_name(rc));
    unsigned ok = b && b->part >= 0 ? FZ_OK : FZ_B(EINVAL);
    check_rc(b && b->chunk_of >= 0 ? "fronta_buffer_unpartition of a chunk (fronta.h: "
                                     "FRONTA_EINVAL when b is not partitioned)"
                                   : "fronta_buffer_unpartition",
             rc, ok);
    if (rc)
        return;
    unpartition_model(it, s);
    if (fronta_buffer_nchunks(b->b) != 0 || fronta_buffer_chunk(b->b, 0))
        fz_fail("an unpartitioned buffer still has chunks");
    check_retired(it, s);
}

/* ---- ops: maps over chunks ---------------------------------------------- */

/* Partitions the harness follows: a map's zipped arguments. */
static int followed_parent(const fz_iter *it, int s)
{
    return s >= 0 && it->bufs[s].b && it->bufs[s].part >= 0 &&
           it->parts[it->bufs[s].part].first >= 0;
}

static int same_lengths(const fz_part *a, const fz_part *b)
{
    return a->n == b->n && !memcmp(a->len, b->len, a->n * sizeof a->len[0]);
}

/* A buffer suits parameter p's type rules (and like's). */
static int type_fits(const fz_buf *b, const fronta_param_t *p, const fz_buf *like)
{
    return !((p->dtype && b->type != p->dtype) ||
             (!p->dtype && p->dtypes && !(p->dtypes & FRONTA_DTYPE_BIT(b->type))) ||
             (like && b->type != like->type));
}

/* A followed parent for parameter p, zipped with lead's (same lengths). */
static int pick_parent_for(const fz_iter *it, fz_in *in, const fronta_param_t *p,
                           const fz_buf *like, int lead)
{
    int c[FZ_MAX_SLOTS], n = 0;
    for (int s = 0; s < it->nbufs; s++)
        if (followed_parent(it, s) && type_fits(&it->bufs[s], p, like) &&
            (lead < 0 ||
             same_lengths(&it->parts[it->bufs[s].part], &it->parts[it->bufs[lead].part])))
            c[n++] = s;
    return n ? c[in_pick(in, (unsigned)n)] : -1;
}

/* A whole buffer read by every chunk's task: its count as chunk 0's
 * launch wants (COUNT_ANY: any). */
static int pick_whole_for(const fz_iter *it, fz_in *in, const fronta_param_t *p,
                          const fz_buf *like, int lead)
{
    const fz_part *P = &it->parts[it->bufs[lead].part];
    fz_shape sh = {1, P->len[0], P->len[0]};
    if (P->tiled) {
        size_t r0, c0;
        tile_of(P, 0, &r0, &c0, &sh.rows, &sh.cols);
    }
    size_t want = count_wanted(p, &sh);
    int c[FZ_MAX_SLOTS], n = 0;
    for (int s = 0; s < it->nbufs; s++) {
        const fz_buf *b = &it->bufs[s];
        if (b->b && !buf_blocked(b) && type_fits(b, p, like) &&
            (p->count == FRONTA_COUNT_ANY || b->count == want))
            c[n++] = s;
    }
    return n ? c[in_pick(in, (unsigned)n)] : -1;
}

/* Any slot a map may be handed, but partitions the harness does not
 * follow (their chunks have no slots to model). */
static int pick_map_any(const fz_iter *it, fz_in *in)
{
    int c[FZ_MAX_SLOTS], n = 0;
    for (int s = 0; s < it->nbufs; s++)
        if (it->bufs[s].b && (it->bufs[s].part < 0 || followed_parent(it, s)))
            c[n++] = s;
    return n ? c[in_pick(in, (unsigned)n)] : -1;
}

static void map_args(fz_iter *it, fz_in *in, fz_task *t, fronta_task_desc_t *d,
                     const fz_kview *kv, int smart, uint8_t how2, size_t nfill)
{
    static const int accesses[] = {FRONTA_ACCESS_IN, FRONTA_ACCESS_OUT, FRONTA_ACCESS_INOUT,
                                   0, 4, -1};
    int lead = -1;
    for (size_t i = 0; i < nfill; i++) {
        fronta_arg_t *a = &d->args[i];
        uint8_t ab = in_u8(in);
        int perturb = !smart || (ab & 0xe0) == 0xe0;
        fronta_param_t p =
            i < kv->nparams ? kv->params[i] : (fronta_param_t){.kind = FRONTA_ARG_I32};
        const fz_buf *like = like_buf(it, t, d, &p, i);
        if (perturb)
            a->kind = (ab & 1) ? FRONTA_ARG_BUFFER : (fronta_arg_kind_t)(1 + ab % 5);
        else if (p.kind == FRONTA_ARG_SCALAR)
            a->kind = like ? scalar_kind(like->type) : FRONTA_ARG_I32;
        else
            a->kind = p.kind;
        if (a->kind != FRONTA_ARG_BUFFER) {
            scalar_value(in, a);
            continue;
        }
        int s;
        if (perturb)
            s = pick_map_any(it, in);
        else if (lead < 0 || (p.access & FRONTA_ACCESS_OUT) || !(ab & 0x10))
            s = pick_parent_for(it, in, &p, like, lead);
        else
            s = pick_whole_for(it, in, &p, like, lead);
        if (s < 0 && !perturb)
            s = pick_map_any(it, in);
        if ((ab & 0x1f) == 0x1f)
            s = -1; /* a NULL buffer */
        if (s >= 0) {
            a->buffer = it->bufs[s].b;
            t->slot[i] = s;
            if (lead < 0 && followed_parent(it, s))
                lead = s;
        }
        if (!perturb && p.access)
            a->access = p.access;
        else if (!perturb)
            a->access = followed_parent(it, s) ? accesses[ab % 3] : FRONTA_ACCESS_IN;
        else
            a->access = (fronta_access_t)accesses[(ab >> 2) % ((how2 & 0x80) ? 6 : 3)];
    }
}

/* Chunk i's task as fronta_submit_map makes it (fronta.h): the chunks in
 * place of their parents, the launch of the first one's chunk. */
typedef struct fz_mchunk {
    fronta_task_desc_t d;
    int slot[FRONTA_MAX_ARGS];
    size_t nargs;
    fz_shape sh;
} fz_mchunk;

static void chunk_task_desc(const fz_iter *it, const fronta_task_desc_t *d, const int *slot,
                            size_t na, size_t first, size_t i, fz_mchunk *mc)
{
    mc->d = *d;
    memcpy(mc->slot, slot, sizeof mc->slot);
    for (size_t a = 0; a < na; a++) {
        if (d->args[a].kind != FRONTA_ARG_BUFFER || slot[a] < 0 || it->bufs[slot[a]].part < 0)
            continue;
        const fz_part *P = &it->parts[it->bufs[slot[a]].part];
        if (P->first < 0)
            fz_fail("harness: a map over a partition it does not follow");
        mc->slot[a] = P->first + (int)i;
        if (it->bufs[mc->slot[a]].b) /* else the map's own chunk: the model needs a handle */
            mc->d.args[a].buffer = it->bufs[mc->slot[a]].b;
    }
    const fz_part *P0 = &it->parts[it->bufs[slot[first]].part];
    if (P0->tiled || d->local_rows || d->local_cols) {
        size_t r0 = 0, c0 = 0, nr = 1, nc = P0->len[i];
        if (P0->tiled)
            tile_of(P0, i, &r0, &c0, &nr, &nc);
        mc->d.rows = nr;
        mc->d.cols = nc;
    } else {
        mc->d.global = P0->len[i];
    }
}

/* What fronta.h answers to a map: 0, or a code (and *alt, another the
 * contract allows) with a reason; mc[0 .. *n) the chunks' tasks. */
static int map_expect(const fz_iter *it, const fronta_task_desc_t *d, size_t sz,
                      const fz_kview *kv, const int *slot, size_t *n, fz_mchunk *mc,
                      unsigned *alt, const char **why)
{
    *why = NULL;
    *n = 0;
    *alt = 0;
    if (sz && sz < offsetof(fronta_task_desc_t, kernel) + sizeof d->kernel)
        return refuse(why, "size too small", FRONTA_EINVAL);
    if (d->global || d->rows || d->cols)
        return refuse(why, "a launch size given", FRONTA_EINVAL);
    if (d->nargs > FRONTA_MAX_ARGS) /* chunkmap.c: as fronta_submit, before the chunks */
        return refuse(why, "more than FRONTA_MAX_ARGS arguments", FRONTA_EARG);
    size_t na = d->nargs;
    if (na == 0)
        while (na < FRONTA_MAX_ARGS && d->args[na].kind != FRONTA_ARG_NONE)
            na++;
    if (na > FRONTA_MAX_ARGS)
        na = FRONTA_MAX_ARGS;
    size_t k = 0, first = 0;
    for (size_t a = 0; a < na; a++) {
        if (d->args[a].kind != FRONTA_ARG_BUFFER || slot[a] < 0 || it->bufs[slot[a]].part < 0)
            continue;
        size_t m = it->parts[it->bufs[slot[a]].part].n;
        if (k && m != k)
            return refuse(why, "zipped chunk counts differ", FRONTA_ESIZE);
        if (!k)
            first = a;
        k = m;
    }
    if (!k)
        return refuse(why, "no partitioned argument", FRONTA_EINVAL);
    for (size_t a = 0; a < na; a++)
        if (d->args[a].kind == FRONTA_ARG_BUFFER &&
            (slot[a] < 0 || it->bufs[slot[a]].part < 0) &&
            d->args[a].access != FRONTA_ACCESS_IN) {
            if (slot[a] < 0)
                *alt = FZ_B(EINVAL); /* fronta_submit's answer to a NULL buffer */
            return refuse(why, "a whole buffer written", FRONTA_EARG);
        }
    /* chunkmap.c checks every chunk as fronta_submit does, then submits
     * them: the placement (alike for all) is the first submission's. */
    for (size_t i = 0; i < k; i++) {
        chunk_task_desc(it, d, slot, na, first, i, &mc[i]);
        int rc = task_expect_ex(it, &mc[i].d, sz, kv, mc[i].slot, &mc[i].nargs, &mc[i].sh, why,
                                0);
        if (rc)
            return rc;
    }
    int rc = place_expect(&mc[0].d, kv, why);
    if (rc)
        return rc;
    *n = k;
    return 0;
}

/* The map's launch fields: mostly none; a launch size now and then
 * (refused), work-group sizes that divide the chunks or not. */
static void map_launch(const fz_iter *it, fz_in *in, fronta_task_desc_t *d, int lead)
{
    uint8_t lb = in_u8(in);
    const fz_part *P = lead >= 0 ? &it->parts[it->bufs[lead].part] : NULL;
    size_t len0 = P ? P->len[0] : 1, r0, c0, nr = 1, nc = len0;
    if (P && P->tiled)
        tile_of(P, 0, &r0, &c0, &nr, &nc);
    switch (lb & 7) {
    case 7:
        d->global = fz_counts[in_pick(in, FZ_NCOUNTS)];
        break;
    case 6:
        d->rows = 1 + in_pick(in, 4);
        d->cols = (lb & 8) ? 0 : 1 + in_pick(in, 4);
        break;
    case 5:
        d->local = pick_divisor(in, len0, 256);
        break;
    case 4:
        d->local = 1 + in_pick(in, 64);
        break;
    case 3:
        d->local_rows = pick_divisor(in, nr, 16);
        d->local_cols = pick_divisor(in, nc, 256 / d->local_rows);
        break;
    case 2:
        d->local_rows = (lb & 8) ? 0 : 2;
        d->local_cols = (lb & 8) ? 3 : 0;
        break;
    default:
        break;
    }
}

/* A map over whole buffers (fronta.h): those of the first buffer
 * argument's count, each once, are cut for it by the automatic rule (one
 * chunk each at the harness's counts). 0 when one is partitioned. */
static int auto_set(const fz_iter *it, const fronta_task_desc_t *d, const int *slot, int *set)
{
    size_t na = d->nargs, count = 0;
    if (na == 0)
        while (na < FRONTA_MAX_ARGS && d->args[na].kind != FRONTA_ARG_NONE)
            na++;
    int n = 0;
    for (size_t a = 0; a < na && a < FRONTA_MAX_ARGS; a++) {
        if (d->args[a].kind != FRONTA_ARG_BUFFER || slot[a] < 0)
            continue;
        const fz_buf *b = &it->bufs[slot[a]];
        if (b->part >= 0)
            return 0;
        if (!count)
            count = b->count;
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= set[j] == slot[a];
        if (b->count == count && !seen)
            set[n++] = slot[a];
    }
    return n;
}

static int auto_room(const fz_iter *it, int n)
{
    return it->nparts + n <= FZ_MAX_PARTS && it->nbufs + n <= FZ_MAX_SLOTS;
}

/* The map's own partition of s: one chunk, whose handle the harness never
 * has (a slot without one). */
static void auto_part(fz_iter *it, int s)
{
    fz_buf *b = &it->bufs[s];
    int pi = it->nparts++;
    fz_part *P = &it->parts[pi];
    memset(P, 0, sizeof *P);
    P->parent = s;
    P->live = 1;
    part_alloc(P, 1);
    P->len[0] = b->count;
    P->first = it->nbufs;
    fz_buf *c = &it->bufs[it->nbufs++];
    memset(c, 0, sizeof *c);
    c->type = b->type;
    c->count = b->count;
    c->bytes = b->bytes;
    c->part = -1;
    c->chunk_of = pi;
    b->part = pi;
    ev_add(it, FZ_EV_PART, s)->task = pi;
}

/* Room for a map: its chunks' tasks, its own, each an event. */
static int map_room(const fz_iter *it)
{
    return it->ntasks + FZ_TRACK_CHUNKS + 1 <= FZ_MAX_TASKS &&
           it->nevs + FZ_TRACK_CHUNKS + 4 * FZ_MAX_SLOTS <= FZ_MAX_EVENTS;
}

static void map_record(fz_iter *it, const fz_task *proto, const fz_mchunk *mc, size_t n,
                       fronta_future_t *whole, fronta_future_t **cf, const int *preds, int na)
{
    int mi = it->ntasks + (int)n;
    for (size_t i = 0; i < n; i++) {
        fz_task *t = &it->tasks[it->ntasks++];
        *t = *proto;
        t->f = cf ? cf[i] : NULL;
        t->map = mi;
        t->d = mc[i].d;
        memcpy(t->slot, mc[i].slot, sizeof t->slot);
        t->nargs = mc[i].nargs;
        t->global = mc[i].sh.n;
        t->npreds = na;
        memcpy(t->preds, preds, (size_t)na * sizeof preds[0]);
        ev_add(it, FZ_EV_TASK, -1)->task = (int)(t - it->tasks);
    }
    fz_task *m = &it->tasks[it->ntasks++];
    memset(m, 0, sizeof *m);
    m->f = whole;
    m->kind = FZ_T_MAPALL;
    m->cancel_rc = 1;
    m->map = m->sx = m->smask = m->sout = -1;
    m->first = mi - (int)n;
    m->nchunks = (int)n;
    for (size_t i = 0; cf && i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (fronta_future_key(cf[i]) == fronta_future_key(cf[j]))
                fz_fail("fronta_submit_map: chunks %zu and %zu have the same key", j, i);
}

static void op_map_chunks(fz_iter *it, fz_in *in)
{
    uint8_t how = in_u8(in), how2 = in_u8(in);
    fz_task proto;
    memset(&proto, 0, sizeof proto);
    proto.kind = FZ_T_KERNEL;
    proto.cancel_rc = 1;
    proto.map = proto.sx = proto.smask = proto.sout = -1;
    for (int i = 0; i < FRONTA_MAX_ARGS; i++)
        proto.slot[i] = -1;
    fz_kview kv;
    fronta_kernel_t *k = pick_kernel(it, in, how, &proto, &kv);
    union {
        fronta_task_desc_t d;
        unsigned char raw[sizeof(fronta_task_desc_t) + 64];
    } u;
    memset(&u, 0, sizeof u);
    fronta_task_desc_t *d = &u.d;
    d->kernel = k;
    int smart = (how & 0x04) == 0;
    size_t nfill = smart ? kv.nparams : in_pick(in, FRONTA_MAX_ARGS + 1);
    if (nfill > FRONTA_MAX_ARGS)
        nfill = FRONTA_MAX_ARGS;
    map_args(it, in, &proto, d, &kv, smart, how2, nfill);
    d->nargs = pick_nargs(in, nfill);
    int lead = -1;
    for (size_t i = 0; i < nfill && lead < 0; i++)
        if (d->args[i].kind == FRONTA_ARG_BUFFER && followed_parent(it, proto.slot[i]))
            lead = proto.slot[i];
    map_launch(it, in, d, lead);
    static const int needs[] = {FRONTA_NEED_ANY, FRONTA_NEED_ANY, FRONTA_NEED_CPU_POOL,
                                FRONTA_NEED_OPENCL, FRONTA_NEED_GPU, FRONTA_NEED_DEVICE, 5, -1};
    d->needs.device = (fronta_need_t)needs[how2 % 8];
    static const int ids[] = {0, 1, 2, -1, 3, 64, INT_MAX, INT_MIN};
    d->needs.device_id = ids[(how2 >> 3) % 8];
    d->priority = (how2 & 0x40) ? (int)in_u32(in) : 0;
    d->name = (how & 0x08) ? "fz map" : NULL;
    fronta_future_t *after[4] = {NULL, NULL, NULL, NULL};
    int preds[4];
    int na = pick_after(it, in, after, preds, 4);
    d->after = na ? after : NULL;
    d->nafter = (size_t)na;
    d->size = tdesc_size(in_u8(in));
    bound_launch(d, &kv);

    fronta_task_desc_t eff = *d;
    size_t sz = d->size;
    if (sz && sz < sizeof eff)
        memset((unsigned char *)&eff + sz, 0, sizeof eff - sz);
    if (eff.nafter == 0 || !eff.after)
        na = 0;
    fz_mchunk *mc = calloc(FZ_TRACK_CHUNKS, sizeof *mc);
    if (!mc)
        fz_fail("out of memory in the harness");
    size_t n = 0;
    unsigned alt = 0;
    const char *why = NULL;
    int expect;
    /* The calls refused before anything else: nothing happens. */
    int null_rt = (how & 0xf0) == 0xb0, null_task = (how & 0xf0) == 0x70;
    int null_out = (how & 0xc0) == 0xc0 || !map_room(it);
    int with_chunks = (how & 0x30) != 0x30;
    int set[FRONTA_MAX_ARGS], nset = 0, done = 0;
    if (null_rt || null_task || null_out || (sz && sz < offsetof(fronta_task_desc_t, kernel) +
                                                          sizeof d->kernel)) {
        expect = refuse(&why, "NULL runtime, task or out, or the size", FRONTA_EINVAL);
    } else if ((nset = auto_set(it, &eff, proto.slot, set)) && with_chunks) {
        expect = refuse(&why, "chunks for a map over whole buffers", FRONTA_EINVAL);
    } else if (nset && !auto_room(it, nset)) {
        free(mc);
        return;
    } else {
        /* Over whole buffers the map cuts them first, stopping at one it
         * cannot cut (a chunk: FRONTA_ENOTSUP), and makes whole again
         * what it cut, whatever the outcome. */
        while (done < nset && it->bufs[set[done]].chunk_of < 0)
            auto_part(it, set[done++]);
        if (done < nset) {
            expect = refuse(&why, "a chunk among the whole buffers to cut", FRONTA_ENOTSUP);
            alt = FZ_B(EPARTITION);
        } else {
            expect = map_expect(it, &eff, sz, &kv, proto.slot, &n, mc, &alt, &why);
        }
    }
    size_t ncf = expect == 0 ? n : 1;
    fronta_future_t **cf = with_chunks ? calloc(ncf, sizeof *cf) : NULL;
    if (with_chunks && !cf)
        fz_fail("out of memory in the harness");
    fronta_future_t *whole = (fronta_future_t *)&how;
    int rc = fronta_submit_map(null_rt ? NULL : g_rt, null_task ? NULL : d,
                               null_out ? NULL : &whole, cf);
    FZ_TRACE("map: kernel %d, nargs %zu (%zu filled), local %zu, local %zu x %zu, needs %d/%d, "
             "nafter %d, size %zu, %zu chunks%s%s: %s%s%s\n",
             proto.kern, eff.nargs, nfill, eff.local, eff.local_rows, eff.local_cols,
             (int)eff.needs.device, eff.needs.device_id, na, sz, n,
             with_chunks ? "" : " (no chunk futures)", nset ? " (over whole buffers)" : "",
             fronta_err_name(rc), why ? ", contract: " : "", why ? why : "");
    for (size_t i = 0; fz_trace && i < nfill; i++)
        FZ_TRACE("  arg %zu: kind %d, buffer %d, access %d\n", i, (int)d->args[i].kind,
                 proto.slot[i], (int)d->args[i].access);
    check_rc("fronta_submit_map", rc, 0);
    if (rc != expect && !(rc < 0 && ((1u << -rc) & alt)))
        fz_fail("fronta_submit_map returned %s, the contract says %s%s%s (kernel %d, %zu "
                "chunks, nargs %zu, local %zu, %zu x %zu, needs %d/%d, size %zu)",
                fronta_err_name(rc), fronta_err_name(expect), why ? ": " : "", why ? why : "",
                proto.kern, n, eff.nargs, eff.local, eff.local_rows, eff.local_cols,
                (int)eff.needs.device, eff.needs.device_id, sz);
    if (rc && !null_out && whole)
        fz_fail("fronta_submit_map failed (%s) and left *out non-NULL", fronta_err_name(rc));
    if (!rc) {
        if (!whole || whole == (fronta_future_t *)&how)
            fz_fail("fronta_submit_map succeeded without setting *out");
        for (size_t i = 0; cf && i < n; i++)
            if (!cf[i])
                fz_fail("fronta_submit_map: chunks[%zu] not set", i);
        map_record(it, &proto, mc, n, whole, cf, preds, na);
    }
    for (int i = 0; i < done; i++)
        unpartition_model(it, set[i]);
    free(cf);
    free(mc);
}

/* ---- ops: reductions, compaction, concatenation -------------------------- */

/* A call's future out-parameter: untouched-NULL when it fails, set when it
 * succeeds (sentinel: what the caller stored before the call). 1 when the
 * call succeeded. */
static int future_contract(const char *call, const char *param, int rc, int null_out,
                           const fronta_future_t *f, const void *sentinel)
{
    if (rc) {
        if (!null_out && f)
            fz_fail("%s failed (%s) and left *%s non-NULL", call, fronta_err_name(rc), param);
        return 0;
    }
    if (!null_out && (!f || (const void *)f == sentinel))
        fz_fail("%s succeeded without setting *%s", call, param);
    return 1;
}


static int valid_rop(int op)
{
    return op >= FRONTA_REDUCE_SUM && op <= FRONTA_REDUCE_OR;
}

/* The type of the value of op over x of type t (0: x's type does not
 * suit op). */
static fronta_dtype_t rop_type(int op, fronta_dtype_t t)
{
    if (op <= FRONTA_REDUCE_MAX)
        return t == FRONTA_UINT8 ? (fronta_dtype_t)0 : t;
    if (t != FRONTA_UINT8)
        return (fronta_dtype_t)0;
    return op == FRONTA_REDUCE_COUNT ? FRONTA_INT64 : FRONTA_UINT8;
}

/* A slot, by what a byte asks: mostly one that fits (pred), sometimes any
 * live one, rarely none. */
static int pick_slot_if(const fz_iter *it, fz_in *in, unsigned mode,
                        int (*pred)(const fz_iter *, int, const void *), const void *ud)
{
    if (mode == 3)
        return -1;
    int c[FZ_MAX_SLOTS], n = 0;
    for (int s = 0; s < it->nbufs; s++)
        if (it->bufs[s].b && (mode == 2 || pred(it, s, ud)))
            c[n++] = s;
    return n ? c[in_pick(in, (unsigned)n)] : live_buf(it, in_u8(in));
}

static int fits_rop(const fz_iter *it, int s, const void *ud)
{
    const fz_buf *b = &it->bufs[s];
    return rop_type(*(const int *)ud, b->type) && !b->retired;
}

static int fits_unretired(const fz_iter *it, int s, const void *ud)
{
    (void)ud;
    return !it->bufs[s].retired;
}

typedef struct fz_want {
    fronta_dtype_t type;
    size_t count; /* 0: any */
} fz_want;

static int fits_whole(const fz_iter *it, int s, const void *ud)
{
    const fz_want *w = ud;
    const fz_buf *b = &it->bufs[s];
    return !buf_blocked(b) && (!w->type || b->type == w->type) && (!w->count || b->count == w->count);
}

/* The chunk count (0: whole) and state of a reduce or compact input. */
static size_t in_chunks(const fz_iter *it, int s)
{
    return s >= 0 && it->bufs[s].part >= 0 ? it->parts[it->bufs[s].part].n : 0;
}

static fz_task *special_task(fz_iter *it, int kind, fronta_future_t *f)
{
    fz_task *t = &it->tasks[it->ntasks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->f = f;
    t->nofuture = f == NULL;
    t->cancel_rc = 1;
    t->map = t->sx = t->smask = t->sout = t->px = t->pm = -1;
    ev_add(it, FZ_EV_TASK, -1)->task = (int)(t - it->tasks);
    return t;
}

static void op_reduce(fz_iter *it, fz_in *in, uint8_t how)
{
    static const int ops[] = {FRONTA_REDUCE_SUM, FRONTA_REDUCE_MIN,   FRONTA_REDUCE_MAX,
                              FRONTA_REDUCE_COUNT, FRONTA_REDUCE_AND, FRONTA_REDUCE_OR,
                              FRONTA_REDUCE_SUM, 0, 7, -1};
    int rop = ops[in_pick(in, 10)];
    int sx = pick_slot_if(it, in, (how >> 2) & 3, fits_rop, &rop);
    if (sx < 0 && ((how >> 2) & 3) != 3)
        return;
    const fz_buf *x = sx >= 0 ? &it->bufs[sx] : NULL;
    fronta_dtype_t vt = x && valid_rop(rop) ? rop_type(rop, x->type) : (fronta_dtype_t)0;
    fz_want w = {vt ? vt : FRONTA_INT32, 1};
    unsigned rm = (how >> 4) & 3;
    int sr = rm == 0 ? -1 : pick_slot_if(it, in, rm == 1 ? 0 : rm, fits_whole, &w);
    const fz_buf *r = sr >= 0 ? &it->bufs[sr] : NULL;
    int null_out = (how & 0xc0) == 0xc0, null_rt = (how & 0xf0) == 0xb0 && (in_u8(in) & 1);
    unsigned exp = 0;
    if (null_rt || (null_out && !r) || !x)
        exp |= FZ_B(EINVAL);
    if (x && !valid_rop(rop))
        exp |= FZ_B(EINVAL);
    if (x && valid_rop(rop) && !vt)
        exp |= FZ_B(EARG);
    if (r && vt && r->type != vt)
        exp |= FZ_B(EARG);
    if (r && r->count != 1)
        exp |= FZ_B(ESIZE); /* fronta.h: "result has not one element" */
    if (r && buf_blocked(r))
        exp |= FZ_B(EPARTITION);
    if (x && x->retired)
        exp |= FZ_B(EPARTITION);
    fronta_future_t *f = (fronta_future_t *)&how;
    int rc = fronta_reduce(null_rt ? NULL : g_rt, x ? x->b : NULL, (fronta_reduce_op_t)rop,
                           r ? r->b : NULL, null_out ? NULL : &f);
    FZ_TRACE("reduce: op %d of buffer %d (%zu chunks) into %d%s: %s (expected %#x) %s\n", rop,
             sx, in_chunks(it, sx), sr, null_out ? ", no future" : "", fronta_err_name(rc), exp,
             rc ? fronta_last_error() : "");
    check_rc("fronta_reduce", rc, exp ? exp : FZ_OK);
    if (!future_contract("fronta_reduce", "out", rc, null_out, f, &how))
        return;
    fz_task *t = special_task(it, FZ_T_REDUCE, null_out ? NULL : f);
    t->sx = sx;
    t->sout = sr;
    t->rop = rop;
    t->px = x->part;
}

static void op_compact(fz_iter *it, fz_in *in, uint8_t how)
{
    fz_want any = {(fronta_dtype_t)0, 0};
    unsigned mx = (how >> 2) & 3;
    int sx = pick_slot_if(it, in, mx == 1 ? 0 : mx, fits_unretired, NULL);
    if (sx < 0 && mx != 3)
        return;
    const fz_buf *x = sx >= 0 ? &it->bufs[sx] : NULL;
    /* The mask: uint8, cut like x (a parent of the same lengths) or whole of
     * x's count. */
    int sm = -1;
    unsigned mm = (how >> 4) & 3;
    if (mm < 2 && x) {
        int c[FZ_MAX_SLOTS], n = 0;
        for (int s = 0; s < it->nbufs; s++) {
            const fz_buf *m = &it->bufs[s];
            if (!m->b || m->type != FRONTA_UINT8 || m->retired)
                continue;
            if (x->part >= 0 ? m->part >= 0 && same_lengths(&it->parts[m->part],
                                                            &it->parts[x->part])
                             : m->part < 0 && m->count == x->count)
                c[n++] = s;
        }
        sm = n ? c[in_pick(in, (unsigned)n)] : live_buf(it, in_u8(in));
    } else if (mm == 2) {
        sm = live_buf(it, in_u8(in));
    }
    fz_want wo = {x ? x->type : FRONTA_INT32, (in_u8(in) & 3) ? (x ? x->count : 0) : 0};
    unsigned om = (how >> 6) & 3;
    int so = pick_slot_if(it, in, om == 1 ? 0 : om, fits_whole, om == 1 ? &any : &wo);
    if (om == 1 && so >= 0 && x && it->bufs[so].type != x->type)
        so = pick_slot_if(it, in, 0, fits_whole, &wo);
    const fz_buf *m = sm >= 0 ? &it->bufs[sm] : NULL, *o = so >= 0 ? &it->bufs[so] : NULL;
    int null_kept = (in_u8(in) & 7) == 7;
    unsigned exp = 0;
    if (!x || !m || !o)
        exp |= FZ_B(EINVAL);
    else {
        /* compact.c: out may be x, not what is read while it is written (the
         * mask, a chunk of x or of the mask); fronta.h says only "types". */
        if (m->type != FRONTA_UINT8 || o->type != x->type || o == m ||
            (o->chunk_of >= 0 && (it->parts[o->chunk_of].parent == sx ||
                                  it->parts[o->chunk_of].parent == sm)))
            exp |= FZ_B(EARG);
        if (buf_blocked(o) || x->retired || m->retired)
            exp |= FZ_B(EPARTITION);
        size_t kx = in_chunks(it, sx), km = in_chunks(it, sm);
        if (!x->retired && !m->retired) {
            if (kx != km || (!kx && x->count != m->count) ||
                (kx && !same_lengths(&it->parts[x->part], &it->parts[m->part])))
                exp |= FZ_B(ESIZE);
            for (int j = 0; kx && kx == km && j < 2; j++) {
                const fz_part *P = &it->parts[(j ? m : x)->part];
                if (P->tiled && P->tr > 1 && P->tc < P->cols)
                    exp |= FZ_B(ENOTSUP); /* tiles not in index order (compact.c) */
            }
        }
    }
    fronta_future_t *f = (fronta_future_t *)&how;
    FZ_TRACE("compact: x %d (dtype %d, %zu), mask %d (dtype %d, %zu), out %d (dtype %d, %zu)\n",
             sx, x ? (int)x->type : 0, x ? x->count : 0, sm, m ? (int)m->type : 0,
             m ? m->count : 0, so, o ? (int)o->type : 0, o ? o->count : 0);
    int rc = fronta_compact(g_rt, x ? x->b : NULL, m ? m->b : NULL, o ? o->b : NULL,
                            null_kept ? NULL : &f);
    FZ_TRACE("compact: buffer %d (%zu chunks) by mask %d (%zu chunks) into %d%s: %s (expected "
             "%#x) %s\n",
             sx, in_chunks(it, sx), sm, in_chunks(it, sm), so, null_kept ? ", no future" : "",
             fronta_err_name(rc), exp, rc ? fronta_last_error() : "");
    check_rc("fronta_compact", rc, exp ? exp : FZ_OK);
    if (!future_contract("fronta_compact", "kept", rc, null_kept, f, &how))
        return;
    fz_task *t = special_task(it, FZ_T_COMPACT, null_kept ? NULL : f);
    t->sx = sx;
    t->smask = sm;
    t->sout = so;
    t->px = x->part;
    t->pm = m->part;
}

static void op_concat(fz_iter *it, fz_in *in, uint8_t how)
{
    int sb[FZ_CONCAT_MAX];
    size_t n = 0, total = 0;
    int p = (how & 0x0c) == 0x0c ? -1 : live_parent(it, in_u8(in));
    if ((how & 0x10) && p >= 0 && followed_parent(it, p)) { /* a parent's chunks */
        const fz_part *P = &it->parts[it->bufs[p].part];
        for (size_t i = 0; i < P->n && n < FZ_CONCAT_MAX; i++)
            sb[n++] = P->first + (int)i;
    } else {
        size_t want = in_pick(in, FZ_CONCAT_MAX + 1);
        fz_want w = {(fronta_dtype_t)0, 0};
        for (size_t i = 0; i < want; i++) {
            int s = pick_slot_if(it, in, (how & 0x0c) == 0x0c ? 2 : 0, fits_whole, &w);
            if (s < 0)
                break;
            if (!w.type)
                w.type = it->bufs[s].type;
            sb[n++] = s;
        }
    }
    for (size_t i = 0; i < n; i++)
        total += it->bufs[sb[i]].count;
    fz_want wo = {n ? it->bufs[sb[0]].type : FRONTA_INT32, total};
    unsigned om = (how >> 5) & 3;
    int so = pick_slot_if(it, in, om == 1 ? 0 : om, fits_whole, &wo);
    uint8_t nb = in_u8(in);
    if ((nb & 7) == 7 && n)
        sb[in_pick(in, (unsigned)n)] = -1; /* a NULL entry */
    int null_bufs = (nb & 0x18) == 0x18, null_done = (nb & 0x60) == 0x60;
    size_t ncall = (nb & 0x80) && n ? n - 1 : n;
    const fz_buf *o = so >= 0 ? &it->bufs[so] : NULL;
    unsigned exp = 0;
    int to_chunk = 0;
    if (null_bufs || !ncall || !o)
        exp |= FZ_B(EINVAL);
    else {
        if (buf_blocked(o))
            exp |= FZ_B(EPARTITION);
        size_t sum = 0;
        int over = 0;
        for (size_t i = 0; i < ncall; i++) {
            const fz_buf *b = sb[i] >= 0 ? &it->bufs[sb[i]] : NULL;
            if (!b) {
                exp |= FZ_B(EINVAL);
                continue;
            }
            if (b == o || b->type != o->type)
                exp |= FZ_B(EARG);
            if (buf_blocked(b))
                exp |= FZ_B(EPARTITION);
            over |= b->count > SIZE_MAX - sum;
            sum += b->count;
        }
        if (over || sum != o->count)
            exp |= FZ_B(ESIZE);
        to_chunk = !exp && ncall > 1 && o->chunk_of >= 0;
    }
    fronta_buffer_t **arr = NULL;
    if (!null_bufs && ncall) {
        arr = malloc(ncall * sizeof *arr); /* exactly n: a read past is ASan's */
        if (!arr)
            fz_fail("out of memory in the harness");
        for (size_t i = 0; i < ncall; i++)
            arr[i] = sb[i] >= 0 ? it->bufs[sb[i]].b : NULL;
    }
    unsigned ok = exp ? exp : FZ_OK;
    if (to_chunk)
        ok |= FZ_B(ENOTSUP);
    fronta_future_t *f = (fronta_future_t *)&how;
    int rc = fronta_concat(g_rt, null_bufs ? NULL : arr, ncall, o ? o->b : NULL,
                           null_done ? NULL : &f);
    free(arr);
    FZ_TRACE("concat: %zu buffers into %d%s: %s (expected %#x) %s\n", ncall, so,
             null_done ? ", no future" : "", fronta_err_name(rc), exp, rc ? fronta_last_error() : "");
    check_rc(to_chunk ? "fronta_concat of several buffers into a chunk" : "fronta_concat", rc,
             ok);
    if (!future_contract("fronta_concat", "done", rc, null_done, f, &how))
        return;
    fz_task *t = special_task(it, FZ_T_CONCAT, null_done ? NULL : f);
    t->sout = so;
    t->nsbufs = (int)ncall;
    memcpy(t->sbufs, sb, ncall * sizeof sb[0]);
}

static void op_chunkops(fz_iter *it, fz_in *in)
{
    if (it->ntasks == FZ_MAX_TASKS || it->nevs + 4 * FZ_MAX_SLOTS + 2 > FZ_MAX_EVENTS)
        return;
    uint8_t how = in_u8(in);
    switch (how % 3) {
    case 0:
        op_reduce(it, in, how);
        break;
    case 1:
        op_compact(it, in, how);
        break;
    default:
        op_concat(it, in, how);
        break;
    }
}

/* ---- ops: waiting ------------------------------------------------------- */

static void op_wait(fz_iter *it, fz_in *in)
{
    uint8_t how = in_u8(in);
    fronta_future_t *fs[FZ_MAX_TASKS], *orig[FZ_MAX_TASKS];
    size_t n = 0;
    for (int i = 0; i < it->ntasks; i++)
        if (it->tasks[i].f && (in_u8(in) & 1))
            fs[n++] = it->tasks[i].f;
    memcpy(orig, fs, n * sizeof fs[0]);
    static const int whens[] = {FRONTA_ALL_COMPLETED, FRONTA_FIRST_COMPLETED,
                                FRONTA_FIRST_EXCEPTION, 3, -1};
    int when = whens[how % 5];
    double timeout = in_timeout(in, it);
    size_t ndone = (size_t)-1;
    if ((how & 0xe0) == 0xe0) {
        static const size_t hn[] = {SIZE_MAX, FZ_HUGE_MIN, SIZE_MAX / 2 + 1, (size_t)1 << 62};
        size_t big = hn[in_pick(in, 4)];
        int t0 = live_task(it, 0);
        if (!n && t0 >= 0)
            fs[n++] = it->tasks[t0].f;
        if (!n)
            return;
        fronta_future_t **exact = exact_array(fs, n);
        int rc = fronta_wait(exact, big, timeout, (fronta_return_when_t)when, &ndone);
        free(exact);
        if (rc != FRONTA_ERANGE && rc != FRONTA_EINVAL)
            fz_fail("fronta_wait(n = %zu) returned %s: a count no array can have must be "
                    "refused (FRONTA_ERANGE)",
                    big, fronta_err_name(rc));
        return;
    }
    int null_fs = (how & 0x18) == 0x18 && n;
    int rc = fronta_wait(null_fs ? NULL : fs, n, timeout, (fronta_return_when_t)when, &ndone);
    check_rc("fronta_wait", rc, FZ_OK | FZ_B(ETIMEDOUT) | FZ_B(EINVAL));
    int invalid = null_fs || when < 0 || when > FRONTA_FIRST_EXCEPTION;
    if (invalid != (rc == FRONTA_EINVAL))
        fz_fail("fronta_wait returned %s for a call that is %s", fronta_err_name(rc),
                invalid ? "invalid" : "valid");
    if (rc == FRONTA_EINVAL)
        return;
    if (ndone > n)
        fz_fail("fronta_wait: ndone %zu of %zu", ndone, n);
    /* A permutation, the done ones first. */
    for (size_t i = 0; i < n; i++) {
        size_t c1 = 0, c2 = 0;
        for (size_t j = 0; j < n; j++) {
            c1 += fs[j] == orig[i];
            c2 += orig[j] == orig[i];
        }
        if (c1 != c2)
            fz_fail("fronta_wait: the futures after the call are not those given");
    }
    for (size_t i = 0; i < ndone; i++)
        if (!fronta_future_done(fs[i]))
            fz_fail("fronta_wait: future %zu of the done part is not done", i);
    if (rc == 0 && n) {
        if (when == FRONTA_ALL_COMPLETED && ndone != n)
            fz_fail("fronta_wait(ALL_COMPLETED) returned 0 with %zu of %zu done", ndone, n);
        if (when == FRONTA_FIRST_COMPLETED && ndone == 0)
            fz_fail("fronta_wait(FIRST_COMPLETED) returned 0 with none done");
        if (when == FRONTA_FIRST_EXCEPTION && ndone != n) {
            int failed = 0;
            for (size_t i = 0; i < ndone; i++)
                failed |= fronta_future_status(fs[i]) == FRONTA_FAILED;
            if (!failed)
                fz_fail("fronta_wait(FIRST_EXCEPTION) returned 0 with %zu of %zu done, none "
                        "failed",
                        ndone, n);
        }
    }
}

static void drain_ac(fz_iter *it, double timeout)
{
    if (!it->ac)
        return;
    for (;;) {
        fronta_future_t *f = NULL;
        int rc = fronta_as_completed_next(it->ac, timeout, &f);
        check_rc("fronta_as_completed_next", rc, FZ_OK | FZ_B(EEMPTY) | FZ_B(ETIMEDOUT));
        if (rc)
            break;
        if (!f || !fronta_future_done(f))
            fz_fail("fronta_as_completed_next returned a future that is not done");
        fronta_future_release(f);
    }
}

static void op_as_completed(fz_iter *it, fz_in *in)
{
    uint8_t how = in_u8(in);
    if (it->ac) { /* drain what is there, then end it */
        drain_ac(it, (how & 1) ? 0 : 0.001);
        if (how & 2) {
            fronta_as_completed_destroy(it->ac);
            it->ac = NULL;
        }
        return;
    }
    fronta_future_t *fs[FZ_MAX_TASKS];
    size_t n = 0;
    for (int i = 0; i < it->ntasks; i++)
        if (it->tasks[i].f && (in_u8(in) & 1))
            fs[n++] = it->tasks[i].f;
    fronta_as_completed_t *ac = (fronta_as_completed_t *)&how;
    if ((how & 0xe0) == 0xe0) {
        static const size_t hn[] = {SIZE_MAX, FZ_HUGE_MIN, SIZE_MAX / 2 + 1, (size_t)1 << 62};
        size_t big = hn[in_pick(in, 4)];
        int t0 = live_task(it, 0);
        if (!n && t0 >= 0)
            fs[n++] = it->tasks[t0].f;
        if (!n)
            return;
        fronta_future_t **exact = exact_array(fs, n);
        int rc = fronta_as_completed_create(g_rt, exact, big, &ac);
        free(exact);
        if (rc != FRONTA_ERANGE && rc != FRONTA_EINVAL)
            fz_fail("fronta_as_completed_create(n = %zu) returned %s: a count no array can "
                    "have must be refused (FRONTA_ERANGE)",
                    big, fronta_err_name(rc));
        if (rc == 0)
            fronta_as_completed_destroy(ac);
        return;
    }
    /* create takes over a reference per future: hand it extra ones. */
    for (size_t i = 0; i < n; i++)
        fronta_future_retain(fs[i]);
    int rc = fronta_as_completed_create(g_rt, fs, n, &ac);
    check_rc("fronta_as_completed_create", rc, FZ_OK | FZ_B(ENOMEM) | FZ_B(ESYS));
    if (rc) {
        for (size_t i = 0; i < n; i++)
            fronta_future_release(fs[i]);
        return;
    }
    if (fronta_as_completed_fd(ac) < 0)
        fz_fail("fronta_as_completed_fd < 0");
    it->ac = ac;
    if (fronta_as_completed_pending(ac) != n)
        fz_fail("fronta_as_completed_pending: %zu, %zu were added", fronta_as_completed_pending(ac),
                n);
    if (how & 4)
        drain_ac(it, 0);
}

/* ---- ops: the rest ------------------------------------------------------ */

static void fz_done_cb(fronta_future_t *f, void *ud)
{
    if (!fronta_future_done(f))
        abort();
    atomic_fetch_add((atomic_int *)ud, 1);
}

static void op_future(fz_iter *it, fz_in *in)
{
    uint8_t how = in_u8(in);
    int ti = live_task(it, in_u8(in));
    if (ti < 0)
        return;
    fz_task *t = &it->tasks[ti];
    switch (how % 5) {
    case 0: {
        int rc = fronta_future_cancel(t->f);
        FZ_TRACE("cancel task %d: %s\n", ti, fronta_err_name(rc));
        check_rc("fronta_future_cancel", rc, FZ_OK | FZ_B(EBUSY));
        if (t->cancel_rc != 0)
            t->cancel_rc = rc;
        break;
    }
    case 1: {
        if (!t->cb_count) {
            t->cb_count = malloc(sizeof *t->cb_count);
            if (!t->cb_count)
                fz_fail("out of memory in the harness");
            atomic_init(t->cb_count, 0);
        }
        int null_cb = (how & 0x80) != 0;
        int rc = fronta_future_add_done_callback(t->f, null_cb ? NULL : fz_done_cb, t->cb_count);
        check_rc("fronta_future_add_done_callback", rc, null_cb ? FZ_B(EINVAL) : FZ_OK);
        if (!rc)
            t->cb_added++;
        break;
    }
    case 2:
        /* Dropping the handle: the task still runs; its outcome is lost. */
        if (how & 0x80)
            fronta_future_detach(t->f);
        else
            fronta_future_release(t->f);
        t->f = NULL;
        t->lost = 1;
        break;
    case 3: {
        int rc = fronta_future_wait(t->f, in_timeout(in, it));
        check_rc("fronta_future_wait", rc, FZ_OK | FZ_B(ETIMEDOUT));
        if (rc == 0 && !fronta_future_done(t->f))
            fz_fail("fronta_future_wait returned 0 for a future that is not done");
        break;
    }
    default: {
        fronta_error_t err;
        int rc = fronta_future_error(t->f, &err);
        check_task_code("fronta_future_error", rc);
        if (rc == 0 && fronta_future_status(t->f) != FRONTA_FINISHED)
            fz_fail("fronta_future_error 0 for a future that is not finished");
        break;
    }
    }
}

static void op_info(fz_iter *it, fz_in *in)
{
    (void)it;
    uint8_t how = in_u8(in);
    static const int ids[] = {0, 1, 2, -1, 3, INT_MAX, INT_MIN};
    int id = ids[how % 7];
    union {
        fronta_device_info_t i;
        unsigned char raw[sizeof(fronta_device_info_t) + 32];
    } ui;
    memset(&ui, 0, sizeof ui);
    static const size_t isizes[] = {0, sizeof(fronta_device_info_t),
                                    sizeof(fronta_device_info_t) + 16, 4,
                                    offsetof(fronta_device_info_t, name),
                                    offsetof(fronta_device_info_t, compute_units)};
    ui.i.size = isizes[(how >> 3) % 6];
    size_t isz = ui.i.size;
    int full = isz == 0 || isz >= sizeof(fronta_device_info_t);
    int rc = fronta_device_info(g_rt, id, &ui.i);
    check_rc("fronta_device_info", rc, FZ_OK | FZ_B(EINVAL) | FZ_B(ENODEV));
    if (rc == 0 && (id < 0 || id >= g_ndev))
        fz_fail("fronta_device_info accepted device %d of %d", id, g_ndev);
    if (rc && id >= 0 && id < g_ndev && full)
        fz_fail("fronta_device_info(%d) failed with %s", id, fronta_err_name(rc));
    if (rc == 0 && full && (ui.i.id != id || !memchr(ui.i.name, 0, sizeof ui.i.name)))
        fz_fail("fronta_device_info(%d) gives id %d, or a name without its terminator", id,
                ui.i.id);
    fronta_device_stats_t st;
    memset(&st, 0, sizeof st);
    st.size = (how & 0x40) ? 0 : sizeof st;
    rc = fronta_device_stats(g_rt, id, &st);
    check_rc("fronta_device_stats", rc, FZ_OK | FZ_B(EINVAL) | FZ_B(ENODEV));
    if (rc == 0 && (id < 0 || id >= g_ndev))
        fz_fail("fronta_device_stats accepted device %d of %d", id, g_ndev);
    /* Error texts of any code. */
    int code = (int)in_u32(in);
    if (!fronta_strerror(code) || !fronta_err_name(code))
        fz_fail("fronta_strerror/err_name(%d) returned NULL", code);
    const char *cn = fronta_err_name(code);
    if (!code_documented(code) && !strcasestr(cn, "unknown"))
        fz_fail("fronta_err_name(%d) = %s names an undefined code", code, cn);
    /* Kernel look-ups of odd names. */
    fronta_kernel_t *k = (fronta_kernel_t *)&how;
    char name[16];
    snprintf(name, sizeof name, "fz-%u", (unsigned)in_u16(in));
    rc = fronta_kernel_find(g_rt, (how & 0x80) ? NULL : name, &k);
    check_rc("fronta_kernel_find", rc, FZ_OK | FZ_B(ENOENT) | FZ_B(EINVAL));
    if (rc && k)
        fz_fail("fronta_kernel_find failed and left *out non-NULL");
    fronta_stats_t rs;
    check_rc("fronta_runtime_stats", fronta_runtime_stats(g_rt, &rs), FZ_OK);
    if (rs.tasks_run > 0 && rs.tasks_submitted == 0)
        fz_fail("fronta_runtime_stats: tasks run without any submitted");
}

static void op_wait_all(fz_iter *it, fz_in *in)
{
    double timeout = in_timeout(in, it);
    int rc = fronta_runtime_wait_all(g_rt, timeout);
    check_rc("fronta_runtime_wait_all", rc, FZ_OK | FZ_B(ETIMEDOUT));
}

/* ---- the replay of partitions and of the calls across chunks ------------ */

/* Tile i of P between its packed shadow and the parent's rows. */
static void tile_shadow(fz_buf *pb, const fz_part *P, size_t i, fz_buf *c, int to_tile)
{
    size_t es = dsize(pb->type), r0, c0, nr, nc;
    tile_of(P, i, &r0, &c0, &nr, &nc);
    for (size_t r = 0; r < nr; r++) {
        size_t w = (r0 + r) * P->cols + c0, t = r * nc;
        if (to_tile) {
            memcpy(c->shadow + t * es, pb->shadow + w * es, nc * es);
            memcpy(c->err + t, pb->err + w, nc * sizeof *c->err);
        } else {
            memcpy(pb->shadow + w * es, c->shadow + t * es, nc * es);
            memcpy(pb->err + w, c->err + t, nc * sizeof *c->err);
        }
    }
}

/* The chunks take the parent's contents: 1-D chunks are views of its
 * shadow (as fronta's are of its host array), tiles packed copies; each
 * reads as the parent does, failed as its readers fail. */
static void replay_part(fz_iter *it, int pi)
{
    const fz_part *P = &it->parts[pi];
    fz_buf *pb = &it->bufs[P->parent];
    size_t es = dsize(pb->type);
    for (size_t i = 0; P->first >= 0 && i < P->n; i++) {
        fz_buf *c = &it->bufs[P->first + (int)i];
        c->known = pb->known;
        c->poison = pz_through(pb->poison);
        if (P->tiled) {
            tile_shadow(pb, P, i, c, 1);
            continue;
        }
        free(c->shadow);
        free(c->err);
        c->shadow = pb->shadow + P->off[i] * es;
        c->err = pb->err + P->off[i];
        c->view = 1;
    }
}

/* docs/arrays.md "Ordering": the parent's contents are then the chunks';
 * when the last writer of a chunk failed, the parent reads as failed with
 * that error (the lowest such chunk). Chunks nothing followed are what
 * the partition gave them: the parent's own contents. */
static void replay_unpart(fz_iter *it, int pi)
{
    const fz_part *P = &it->parts[pi];
    fz_buf *pb = &it->bufs[P->parent];
    int before = pb->poison;
    /* fronta.h: a failed partition gave the chunks nothing: the
     * unpartition leaves the parent as it was, failed, and drops what the
     * chunks hold. */
    if (before) {
        pb->poison = pz_through(before);
        pb->known = 0;
        return;
    }
    if (P->first < 0) {
        pb->poison = pz_through(before);
        return;
    }
    int known = 1, poison = 0;
    for (size_t i = 0; i < P->n; i++) {
        fz_buf *c = &it->bufs[P->first + (int)i];
        known &= c->known;
        if (!poison && c->poison)
            poison = c->poison;
        if (P->tiled)
            tile_shadow(pb, P, i, c, 0);
    }
    pb->known = known;
    pb->poison = poison;
}

/* An input of reduce or compact as the call reads it: the elements in
 * chunk order, each chunk's length, and whether they are known and clean
 * (FZ_PZ_DEP: some chunk's last writer failed). */
typedef struct fz_gv {
    unsigned char *data;
    double *err;
    size_t n, k;
    const size_t *lens;
    int known, poison;
} fz_gv;

static int pz_merge(int a, int b)
{
    if (pz_failed(a) || pz_failed(b))
        return FZ_PZ_DEP;
    return a || b ? FZ_PZ_UNKNOWN : 0;
}

static void gv_make(const fz_iter *it, int s, int pi, fz_gv *g)
{
    const fz_buf *b = &it->bufs[s];
    size_t es = dsize(b->type);
    memset(g, 0, sizeof *g);
    g->n = b->count;
    g->data = dup_bytes(b->shadow, b->bytes);
    g->err = malloc((b->count ? b->count : 1) * sizeof *g->err);
    if (!g->err)
        fz_fail("out of memory in the harness");
    memcpy(g->err, b->err, b->count * sizeof *g->err);
    g->known = b->known;
    g->poison = pz_through(b->poison);
    if (pi < 0)
        return;
    const fz_part *P = &it->parts[pi];
    g->k = P->n;
    g->lens = P->len;
    if (P->first < 0) { /* nothing wrote the chunks: the parent's, in chunk order */
        for (size_t i = 0, at = 0; P->tiled && i < P->n; at += P->len[i++]) {
            size_t r0, c0, nr, nc;
            tile_of(P, i, &r0, &c0, &nr, &nc);
            for (size_t r = 0; r < nr; r++) {
                memcpy(g->data + (at + r * nc) * es, b->shadow + ((r0 + r) * P->cols + c0) * es,
                       nc * es);
                memcpy(g->err + at + r * nc, b->err + (r0 + r) * P->cols + c0,
                       nc * sizeof *g->err);
            }
        }
        return;
    }
    g->known = 1;
    g->poison = 0;
    for (size_t i = 0, at = 0; i < P->n; at += P->len[i++]) {
        const fz_buf *c = &it->bufs[P->first + (int)i];
        memcpy(g->data + at * es, c->shadow, c->bytes);
        memcpy(g->err + at, c->err, c->count * sizeof *g->err);
        g->known &= c->known;
        g->poison = pz_merge(g->poison, c->poison);
    }
}

static void gv_free(fz_gv *g)
{
    free(g->data);
    free(g->err);
}

/* ---- the reductions' reference: docs/kernels.md's portable tree ---------- */

typedef union fz_val {
    uint8_t u8;
    uint32_t u32;
    uint64_t u64;
    float f32;
    double f64;
} fz_val;

#define FZ_TAKE_MIN(a, v) (isnan(a) || (v) < (a) || ((v) == (a) && signbit(v)))
#define FZ_TAKE_MAX(a, v) (isnan(a) || (v) > (a) || ((v) == (a) && !signbit(v)))

/* One combine of op over type t; *sub set when a float result is
 * subnormal (a device may flush it: the bits are then not the model's). */
static fz_val comb(int op, fronta_dtype_t t, fz_val a, fz_val b, int *sub)
{
    switch (t) {
    case FRONTA_INT32:
        if (op == FRONTA_REDUCE_SUM)
            a.u32 += b.u32;
        else if (op == FRONTA_REDUCE_MIN ? (int32_t)b.u32 < (int32_t)a.u32
                                         : (int32_t)b.u32 > (int32_t)a.u32)
            a = b;
        return a;
    case FRONTA_INT64:
        if (op == FRONTA_REDUCE_SUM)
            a.u64 += b.u64;
        else if (op == FRONTA_REDUCE_MIN ? (int64_t)b.u64 < (int64_t)a.u64
                                         : (int64_t)b.u64 > (int64_t)a.u64)
            a = b;
        return a;
    case FRONTA_FLOAT:
        if (op == FRONTA_REDUCE_SUM)
            a.f32 = a.f32 + b.f32;
        else if (op == FRONTA_REDUCE_MIN ? FZ_TAKE_MIN(a.f32, b.f32) : FZ_TAKE_MAX(a.f32, b.f32))
            a = b;
        *sub |= is_denormal(a.f32, FLT_MIN);
        return a;
    default:
        if (op == FRONTA_REDUCE_SUM)
            a.f64 = a.f64 + b.f64;
        else if (op == FRONTA_REDUCE_MIN ? FZ_TAKE_MIN(a.f64, b.f64) : FZ_TAKE_MAX(a.f64, b.f64))
            a = b;
        *sub |= is_denormal(a.f64, DBL_MIN);
        return a;
    }
}

static fz_val ident(int op, fronta_dtype_t t)
{
    fz_val v;
    memset(&v, 0, sizeof v);
    int fl = t == FRONTA_FLOAT || t == FRONTA_DOUBLE;
    if (op == FRONTA_REDUCE_SUM && fl)
        t == FRONTA_FLOAT ? (void)(v.f32 = -0.0f) : (void)(v.f64 = -0.0);
    else if (fl && op != FRONTA_REDUCE_SUM)
        t == FRONTA_FLOAT ? (void)(v.f32 = NAN) : (void)(v.f64 = NAN);
    else if (op == FRONTA_REDUCE_MIN)
        t == FRONTA_INT32 ? (void)(v.u32 = INT32_MAX) : (void)(v.u64 = INT64_MAX);
    else if (op == FRONTA_REDUCE_MAX)
        t == FRONTA_INT32 ? (void)(v.u32 = (uint32_t)INT32_MIN) : (void)(v.u64 = (uint64_t)INT64_MIN);
    return v;
}

/* p[0 .. m) folded pairwise (i with i + w, w = 1, 2, 4 ...). */
static fz_val pairwise(int op, fronta_dtype_t t, fz_val *p, size_t m, int *sub)
{
    for (size_t w = 1; w < m; w *= 2)
        for (size_t i = 0; i + w < m; i += 2 * w)
            p[i] = comb(op, t, p[i], p[i + w], sub);
    return p[0];
}

/* A chunk's partial: blocks of 4096 in 64 lanes, each block's lanes
 * halved, then the blocks pairwise. */
static fz_val portable(int op, fronta_dtype_t t, const unsigned char *x, size_t n, int *sub)
{
    size_t es = dsize(t), nb = (n + 4095) / 4096;
    fz_val *p = calloc(nb ? nb : 1, sizeof *p), lane[64];
    if (!p)
        fz_fail("out of memory in the harness");
    for (size_t b = 0; b < nb; b++) {
        for (int j = 0; j < 64; j++)
            lane[j] = ident(op, t);
        for (size_t i = b * 4096; i < n && i < (b + 1) * 4096; i++) {
            fz_val v;
            memset(&v, 0, sizeof v);
            memcpy(&v, x + i * es, es);
            lane[i % 64] = comb(op, t, lane[i % 64], v, sub);
        }
        for (int w = 32; w > 0; w /= 2)
            for (int j = 0; j < w; j++)
                lane[j] = comb(op, t, lane[j], lane[j + w], sub);
        p[b] = lane[0];
    }
    fz_val r = nb ? pairwise(op, t, p, nb, sub) : ident(op, t);
    free(p);
    return r;
}

/* fronta_reduce's value (docs/arrays.md "Determinism"): a partial per
 * chunk (one for x whole), then the partials pairwise in chunk order. */
static fz_val ref_reduce(int op, fronta_dtype_t t, const fz_gv *g, int *sub)
{
    size_t m = g->k ? g->k : 1, es = dsize(t);
    fz_val *p = calloc(m, sizeof *p), r;
    if (!p)
        fz_fail("out of memory in the harness");
    int counts = op >= FRONTA_REDUCE_COUNT;
    size_t at = 0;
    for (size_t i = 0; i < m; i++) {
        size_t len = g->k ? g->lens[i] : g->n;
        if (counts)
            for (size_t j = 0; j < len; j++)
                p[i].u64 += g->data[at + j] != 0;
        else
            p[i] = portable(op, t, g->data + at * es, len, sub);
        at += len;
    }
    r = pairwise(counts ? FRONTA_REDUCE_SUM : op, counts ? FRONTA_INT64 : t, p, m, sub);
    free(p);
    if (op == FRONTA_REDUCE_AND || op == FRONTA_REDUCE_OR) {
        uint64_t set = r.u64;
        memset(&r, 0, sizeof r);
        r.u8 = op == FRONTA_REDUCE_AND ? set == g->n : set != 0;
    }
    return r;
}

/* Exact inputs (no error bound, nothing subnormal): the value's bits are
 * fixed by the tree. */
static int gv_exact(const fz_gv *g, fronta_dtype_t t)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->err[i] != 0)
            return 0;
        double v = 0;
        if (t == FRONTA_FLOAT) {
            float f;
            memcpy(&f, g->data + i * 4, 4);
            v = f;
        } else if (t == FRONTA_DOUBLE) {
            memcpy(&v, g->data + i * 8, 8);
        }
        if (is_denormal(v, t == FRONTA_FLOAT ? FLT_MIN : DBL_MIN))
            return 0;
    }
    return 1;
}

static int same_value(fronta_dtype_t t, fz_val a, fz_val b)
{
    if (t == FRONTA_FLOAT)
        return (isnan(a.f32) && isnan(b.f32)) || !memcmp(&a.f32, &b.f32, 4);
    if (t == FRONTA_DOUBLE)
        return (isnan(a.f64) && isnan(b.f64)) || !memcmp(&a.f64, &b.f64, 8);
    return !memcmp(&a, &b, dsize(t));
}

/* ---- the outcome of a call across chunks -------------------------------- */

static const char *special_name(int kind)
{
    return kind == FZ_T_REDUCE ? "fronta_reduce" : kind == FZ_T_COMPACT ? "fronta_compact"
                                                                       : "fronta_concat";
}

/* Did its work take effect? Internal tasks over clean inputs cannot fail
 * (nothing injects faults into the long-lived runtime), so without a
 * future, or with one let go, they did unless cancelled. Else *w is what
 * the buffers it writes read as. */
static int special_outcome(const fz_task *t, int idx, int in_pz, int *w)
{
    *w = pz_failed(in_pz) ? FZ_PZ_DEP : FZ_PZ_UNKNOWN;
    if (!t->f || t->lost)
        return in_pz == 0 && t->cancel_rc == 1;
    int st = t->status;
    if (in_pz == 0 && t->cancel_rc == 1 && st != FRONTA_FINISHED) {
        fronta_error_t err;
        memset(&err, 0, sizeof err);
        fronta_future_error(t->f, &err);
        fz_fail("%s (task %d) over clean inputs ended with status %d, %s: %s",
                special_name(t->kind), idx, st, fronta_err_name(t->code),
                err.message ? err.message : "");
    }
    if (pz_failed(in_pz) && st == FRONTA_FINISHED)
        fz_fail("%s (task %d) finished though the last writer of an input failed",
                special_name(t->kind), idx);
    if (pz_failed(in_pz) && t->cancel_rc == 1 && t->code != FRONTA_EDEPFAILED &&
        t->code != FRONTA_ECANCELLED)
        fz_fail("%s (task %d): an input failed, yet its code is %s", special_name(t->kind), idx,
                fronta_err_name(t->code));
    return st == FRONTA_FINISHED;
}

static void written(fz_buf *o, int ok, int w)
{
    if (ok) {
        o->poison = 0;
        return;
    }
    o->poison = w;
    o->known = 0;
}

static void replay_reduce(fz_iter *it, fz_task *t, int idx)
{
    const fz_buf *x = &it->bufs[t->sx];
    fz_gv g;
    gv_make(it, t->sx, t->px, &g);
    fronta_dtype_t vt = rop_type(t->rop, x->type);
    int w, ok = special_outcome(t, idx, g.poison, &w);
    int sub = 0;
    fz_val v = ref_reduce(t->rop, x->type, &g, &sub);
    int exact = g.known && gv_exact(&g, x->type) && !sub;
    if (ok && t->f && !t->lost && g.known) {
        fz_val got;
        memset(&got, 0, sizeof got);
        int rc = fronta_future_result(t->f, 0, &got, dsize(vt));
        if (rc)
            fz_fail("fronta_reduce (task %d): fronta_future_result: %s", idx, fronta_err_name(rc));
        if (exact && !same_value(vt, got, v))
            fz_fail("fronta_reduce (task %d) op %d over %zu elements in %zu chunks (dtype %d): "
                    "value %#llx (%.9g), the portable tree gives %#llx (%.9g)",
                    idx, t->rop, g.n, g.k, (int)x->type, (unsigned long long)got.u64,
                    vt == FRONTA_FLOAT ? (double)got.f32 : got.f64, (unsigned long long)v.u64,
                    vt == FRONTA_FLOAT ? (double)v.f32 : v.f64);
        v = got;
    }
    if (t->sout >= 0) {
        fz_buf *o = &it->bufs[t->sout];
        written(o, ok, w);
        if (ok) {
            memcpy(o->shadow, &v, dsize(vt));
            o->err[0] = exact ? 0 : INFINITY;
            o->known = g.known;
        }
    }
    gv_free(&g);
}

static void replay_compact(fz_iter *it, fz_task *t, int idx)
{
    fz_gv gx, gm;
    gv_make(it, t->sx, t->px, &gx);
    gv_make(it, t->smask, t->pm, &gm);
    int w, ok = special_outcome(t, idx, pz_merge(gx.poison, gm.poison), &w);
    size_t kept = 0;
    for (size_t i = 0; i < gm.n; i++)
        kept += gm.data[i] != 0;
    if (ok && t->f && !t->lost && gm.known) {
        int64_t got = -1;
        int rc = fronta_future_result(t->f, 0, &got, sizeof got);
        if (rc || got != (int64_t)kept)
            fz_fail("fronta_compact (task %d): kept %lld (%s), the mask has %zu set of %zu",
                    idx, (long long)got, fronta_err_name(rc), kept, gm.n);
    }
    fz_buf *o = &it->bufs[t->sout];
    written(o, ok, w);
    if (ok) {
        size_t es = dsize(o->type), j = 0;
        /* Partitioned inputs leave the rest of out as it was (compact.c);
         * the bundled compact of whole ones zeroes it. */
        if (t->px < 0) {
            memset(o->shadow, 0, o->bytes);
            memset(o->err, 0, o->count * sizeof *o->err);
        }
        for (size_t i = 0; i < gx.n && j < o->count; i++)
            if (gm.data[i]) {
                memcpy(o->shadow + j * es, gx.data + i * es, es);
                o->err[j++] = gx.err[i];
            }
        /* x as out too: gx is a copy. The tail kept is known if it was. */
        o->known = gx.known && gm.known && (t->px < 0 || o->known);
    }
    gv_free(&gx);
    gv_free(&gm);
}

static void replay_concat(fz_iter *it, fz_task *t, int idx)
{
    fz_buf *o = &it->bufs[t->sout];
    int in = 0, known = 1;
    for (int i = 0; i < t->nsbufs; i++) {
        const fz_buf *b = &it->bufs[t->sbufs[i]];
        in = pz_merge(in, b->poison);
        known &= b->known;
    }
    /* fronta.h: several pieces go through a partition of out, which
     * reads it: out's failed last writer fails the concatenation. */
    if (t->nsbufs > 1)
        in = pz_merge(in, o->poison);
    int w, ok = special_outcome(t, idx, in, &w);
    if (ok) {
        unsigned char *data = malloc(o->bytes ? o->bytes : 1);
        double *err = malloc((o->count ? o->count : 1) * sizeof *err);
        if (!data || !err)
            fz_fail("out of memory in the harness");
        for (int i = 0, at = 0; i < t->nsbufs; i++) {
            const fz_buf *b = &it->bufs[t->sbufs[i]];
            memcpy(data + (size_t)at * dsize(o->type), b->shadow, b->bytes);
            memcpy(err + at, b->err, b->count * sizeof *err);
            at += (int)b->count;
        }
        memcpy(o->shadow, data, o->bytes);
        memcpy(o->err, err, o->count * sizeof *err);
        free(data);
        free(err);
        o->known = known;
    }
    written(o, ok, w);
}

static void replay_special(fz_iter *it, fz_task *t, int idx)
{
    switch (t->kind) {
    case FZ_T_REDUCE:
        replay_reduce(it, t, idx);
        break;
    case FZ_T_COMPACT:
        replay_compact(it, t, idx);
        break;
    case FZ_T_CONCAT:
        replay_concat(it, t, idx);
        break;
    default:
        break;
    }
}

/* ---- maps: the whole map's future against its chunks' -------------------- */

/* Chunks without futures of their own finished exactly when the map did. */
static void map_chunk_outcomes(fz_iter *it, const fz_task *m)
{
    int ok = m->f && !m->lost && m->cancel_rc != 0 && m->status == FRONTA_FINISHED;
    for (int i = 0; i < m->nchunks; i++) {
        fz_task *c = &it->tasks[m->first + i];
        if (c->f || c->lost)
            continue;
        if (ok) {
            c->status = FRONTA_FINISHED;
            c->code = 0;
        } else {
            c->lost = 1;
        }
    }
}

/* fronta.h: *out fails with the error of the failed or cancelled chunk of
 * lowest index (its code, its root task, a message naming the chunk);
 * cancelling it cancels only the gathering. */
static void check_map(fz_iter *it, int idx)
{
    fz_task *m = &it->tasks[idx];
    if (!m->f || m->lost)
        return;
    if (m->cancel_rc == 0) {
        if (m->status != FRONTA_CANCELLED || m->code != FRONTA_ECANCELLED)
            fz_fail("map %d: cancelled, yet status %d code %s", idx, m->status,
                    fronta_err_name(m->code));
        return;
    }
    int low = -1, unknown = 0, any_failed = 0;
    for (int i = 0; i < m->nchunks; i++) {
        const fz_task *c = &it->tasks[m->first + i];
        if (c->lost) {
            unknown |= low < 0;
            continue;
        }
        if (c->status != FRONTA_FINISHED) {
            any_failed = 1;
            if (low < 0)
                low = i;
        }
    }
    if ((any_failed && m->status == FRONTA_FINISHED) ||
        (!any_failed && !unknown && m->status != FRONTA_FINISHED))
        fz_fail("map %d of %d chunks: status %d code %s, yet %s", idx, m->nchunks, m->status,
                fronta_err_name(m->code),
                any_failed ? "a chunk did not finish" : "every chunk finished");
    if (low < 0 || unknown)
        return;
    const fz_task *c = &it->tasks[m->first + low];
    fronta_error_t em, ec;
    memset(&em, 0, sizeof em);
    memset(&ec, 0, sizeof ec);
    fronta_future_error(m->f, &em);
    if (c->f)
        fronta_future_error(c->f, &ec);
    if (m->status != FRONTA_FAILED || m->code != c->code || (c->f && em.task_id != ec.task_id) ||
        !em.message || !strstr(em.message, "chunk"))
        fz_fail("map %d: status %d code %s root %llu (%s); its lowest failed chunk %d: status %d "
                "code %s root %llu",
                idx, m->status, fronta_err_name(m->code), (unsigned long long)em.task_id,
                em.message ? em.message : "no message", low, c->status, fronta_err_name(c->code),
                (unsigned long long)ec.task_id);
}

/* The whole map's future is done only once every chunk's is. */
static void wait_maps_first(fz_iter *it)
{
    for (int i = 0; i < it->ntasks; i++) {
        fz_task *m = &it->tasks[i];
        if (m->kind != FZ_T_MAPALL || !m->f || m->cancel_rc == 0)
            continue;
        if (fronta_future_wait(m->f, fz_wait_limit))
            fz_fail("map %d not done after %.0f s: a hang", i, fz_wait_limit);
        for (int j = 0; j < m->nchunks; j++) {
            const fz_task *c = &it->tasks[m->first + j];
            if (c->f && !fronta_future_done(c->f))
                fz_fail("map %d is done, its chunk %d is not", i, j);
        }
    }
}

/* ---- the end of an iteration: outcomes, replay, release ----------------- */

static int status_failed(int st)
{
    return st == FRONTA_FAILED || st == FRONTA_CANCELLED;
}

/* The outcome a plain task's own attempts give, when its inputs finished
 * and it was not cancelled. */
static void fn_expected(const fz_task *t, int *status, int *code, unsigned *attempt)
{
    int c = fz_code_of(t->targ.code);
    if (t->kind == FZ_T_NOARG || c == 0 || t->targ.fails == 0) {
        *status = FRONTA_FINISHED;
        *code = 0;
        *attempt = 0;
    } else if (t->targ.fails <= t->retries) {
        *status = FRONTA_FINISHED;
        *code = 0;
        *attempt = t->targ.fails;
    } else {
        *status = FRONTA_FAILED;
        *code = c > 0 ? FRONTA_ETASK : c;
        *attempt = t->retries;
    }
}

static void check_fn_task(const fz_iter *it, const fz_task *t, int idx)
{
    int st = t->status, code = t->code;
    int pred_failed = 0, pred_cancelled = 0;
    for (int i = 0; i < t->npreds; i++) {
        const fz_task *p = &it->tasks[t->preds[i]];
        if (p->lost)
            return; /* unknowable */
        pred_failed |= p->status == FRONTA_FAILED;
        pred_cancelled |= p->status == FRONTA_CANCELLED;
    }
    if (t->cancel_rc == 0) {
        if (st != FRONTA_CANCELLED || code != FRONTA_ECANCELLED)
            fz_fail("task %d: cancelled before it ran, yet status %d code %s", idx, st,
                    fronta_err_name(code));
        return;
    }
    if (pred_failed || pred_cancelled) {
        int ok = (pred_failed && st == FRONTA_FAILED && code == FRONTA_EDEPFAILED) ||
                 (pred_cancelled && st == FRONTA_CANCELLED && code == FRONTA_ECANCELLED);
        if (!ok)
            fz_fail("task %d: an input failed or was cancelled, yet status %d code %s", idx, st,
                    fronta_err_name(code));
        return;
    }
    if (t->cancel_rc != 1)
        return; /* a cancel request while it ran changes retries */
    int est, ecode;
    unsigned eatt;
    fn_expected(t, &est, &ecode, &eatt);
    if (st != est || code != ecode)
        fz_fail("task %d (code %d, fails %u, retries %u): status %d code %s, expected status %d "
                "code %s",
                idx, fz_code_of(t->targ.code), t->targ.fails, t->retries, st,
                fronta_err_name(code), est, fronta_err_name(ecode));
    if (st != FRONTA_FINISHED)
        return;
    fz_tres r;
    memset(&r, 0, sizeof r);
    size_t size = t->kind == FZ_T_FN && t->targ.big ? sizeof r : FZ_TRES_SMALL;
    int rc = fronta_future_result(t->f, 0, &r, size);
    if (rc)
        fz_fail("task %d: fronta_future_result of a finished task: %s", idx, fronta_err_name(rc));
    rc = fronta_future_result(t->f, 0, &r, size + 1);
    if (rc != FRONTA_ESIZE)
        fz_fail("task %d: fronta_future_result with the wrong size: %s, not FRONTA_ESIZE", idx,
                fronta_err_name(rc));
    const void *ptr = NULL;
    size_t psize = 0;
    rc = fronta_future_result_ptr(t->f, &ptr, &psize);
    if (rc || psize != size || !ptr)
        fz_fail("task %d: fronta_future_result_ptr: %s, size %zu of %zu", idx,
                fronta_err_name(rc), psize, size);
    uint32_t tag = t->kind == FZ_T_FN ? t->targ.tag : 0xffffffffu;
    if (r.tag != tag || r.attempt != eatt)
        fz_fail("task %d: result tag %u attempt %u, expected %u attempt %u", idx, r.tag, r.attempt,
                tag, eatt);
    uint64_t key = fronta_future_key(t->f);
    if (t->key_given && key != t->key)
        fz_fail("task %d: fronta_future_key %llu, the call's key was %llu", idx,
                (unsigned long long)key, (unsigned long long)t->key);
    if (eatt == 0 && r.rand0 != fronta_random_u64(FZ_SEED, key, 0))
        fz_fail("task %d: its first random value is not fronta_random_u64(seed, key, 0)", idx);
    if (r.bad)
        fz_fail("task %d: nested submissions broke the contract (bits %#llx: 1 code, 2 key 0, "
                "4 keys shared, 8 stream, 16 result), child rc %d",
                idx, (unsigned long long)r.bad, r.child_rc);
    if (size == sizeof r)
        for (size_t i = 0; i < sizeof r.fill; i++)
            if (r.fill[i] != (uint8_t)(tag & 0xff))
                fz_fail("task %d: large result corrupted at byte %zu", idx, i);
}

/* Replay the buffer accesses in submission order on the shadows, and
 * check kernel tasks' outcomes on the way. */
static void replay(fz_iter *it)
{
    for (int s = 0; s < it->nbufs; s++) {
        fz_buf *b = &it->bufs[s];
        b->shadow = calloc(1, b->bytes ? b->bytes : 1);
        b->err = calloc(b->count ? b->count : 1, sizeof *b->err);
        if (!b->shadow || !b->err)
            fz_fail("out of memory in the harness");
        b->known = 0;
        b->poison = 0;
    }
    for (int e = 0; e < it->nevs; e++) {
        fz_ev *ev = &it->evs[e];
        fz_buf *b = ev->slot >= 0 ? &it->bufs[ev->slot] : NULL;
        switch (ev->type) {
        case FZ_EV_INIT:
            memcpy(b->shadow, ev->data, b->bytes);
            b->known = 1;
            break;
        case FZ_EV_HOSTW:
            memcpy(b->shadow, ev->data, b->bytes);
            memset(b->err, 0, b->count * sizeof *b->err);
            b->known = 1;
            b->poison = 0;
            break;
        case FZ_EV_ACQOUT:
            b->poison = 0;
            break;
        case FZ_EV_SNAP:
            if (pz_failed(b->poison))
                fz_fail("fronta_buffer_acquire(IN) succeeded on buffer %d whose last writer "
                        "failed with %s",
                        ev->slot, b->poison < 0 ? fronta_err_name(b->poison) : "its inputs' failure");
            compare_contents(it, ev->slot, ev->data, "host read under fronta_buffer_acquire");
            break;
        case FZ_EV_ACQ:
            if (b->poison == 0)
                fz_fail("fronta_buffer_acquire on buffer %d failed with %s; its last writer "
                        "did not fail",
                        ev->slot, fronta_err_name(ev->rc));
            if (b->poison == FZ_PZ_DEP && ev->rc != FRONTA_EDEPFAILED &&
                ev->rc != FRONTA_ECANCELLED)
                fz_fail("fronta_buffer_acquire on buffer %d failed with %s, its last writer "
                        "with FRONTA_EDEPFAILED or FRONTA_ECANCELLED",
                        ev->slot, fronta_err_name(ev->rc));
            if (b->poison < 0 && ev->rc != b->poison)
                fz_fail("fronta_buffer_acquire on buffer %d failed with %s, its last writer "
                        "with %s",
                        ev->slot, fronta_err_name(ev->rc), fronta_err_name(b->poison));
            break;
        case FZ_EV_DESTROY:
            if (b->poison == 0)
                compare_contents(it, ev->slot, ev->data, "wrapped array after destroy");
            break;
        case FZ_EV_FINAL:
            if (b->poison == 0)
                compare_contents(it, ev->slot, ev->data, "contents at the end");
            break;
        case FZ_EV_PART:
            replay_part(it, ev->task);
            break;
        case FZ_EV_UNPART:
            replay_unpart(it, ev->task);
            break;
        case FZ_EV_TASK: {
            fz_task *t = &it->tasks[ev->task];
            if (t->kind != FZ_T_KERNEL) {
                replay_special(it, t, ev->task);
                break;
            }
            int in_poison = 0, in_unknown = 0, pred_bad = 0, pred_unknown = 0;
            for (size_t i = 0; i < t->nargs; i++) {
                if (t->slot[i] < 0 || !(t->d.args[i].access & FRONTA_ACCESS_IN))
                    continue;
                int p = it->bufs[t->slot[i]].poison;
                in_poison |= pz_failed(p);
                in_unknown |= p == FZ_PZ_UNKNOWN;
            }
            for (int i = 0; i < t->npreds; i++) {
                const fz_task *p = &it->tasks[t->preds[i]];
                pred_unknown |= p->lost;
                pred_bad |= !p->lost && status_failed(p->status);
            }
            if (!t->lost) {
                int st = t->status;
                if ((in_poison || pred_bad) && st == FRONTA_FINISHED) {
                    for (int i = 0; i < t->npreds; i++)
                        fprintf(stderr, "fuzz_api: input %d: task %d, status %d, code %s\n", i,
                                t->preds[i], it->tasks[t->preds[i]].status,
                                fronta_err_name(it->tasks[t->preds[i]].code));
                    for (size_t i = 0; i < t->nargs; i++)
                        if (t->slot[i] >= 0)
                            fprintf(stderr, "fuzz_api: argument %zu: buffer %d, access %d, its "
                                    "last writer's code %s\n",
                                    i, t->slot[i], (int)t->d.args[i].access,
                                    it->bufs[t->slot[i]].poison < 0
                                        ? fronta_err_name(it->bufs[t->slot[i]].poison)
                                        : it->bufs[t->slot[i]].poison == FZ_PZ_DEP
                                              ? "its inputs' failure"
                                              : "none");
                    fz_fail("kernel task %d (op %d, kernel %d) finished though %s failed",
                            ev->task, t->op, t->kern,
                            in_poison ? "the last writer of a buffer it reads" : "an input");
                }
                if ((in_poison || pred_bad) && t->cancel_rc != 0 &&
                    t->code != FRONTA_EDEPFAILED && t->code != FRONTA_ECANCELLED)
                    fz_fail("kernel task %d: an input failed, yet its code is %s", ev->task,
                            fronta_err_name(t->code));
                /* A bundled or template kernel with an implementation that
                 * can run where needs allows must succeed. */
                int pool_ok = t->has_cpu && admits(&t->d.needs, 0);
                int cl_ok = t->cl_good && g_ndev > 1 &&
                            (t->d.needs.device == FRONTA_NEED_ANY ||
                             t->d.needs.device == FRONTA_NEED_OPENCL ||
                             (t->d.needs.device == FRONTA_NEED_DEVICE &&
                              t->d.needs.device_id > 0)) &&
                            t->d.local <= 256 && t->d.local_rows * t->d.local_cols <= 256;
                if (t->op != FZ_OP_NOP && !in_poison && !in_unknown && !pred_bad &&
                    !pred_unknown && t->cancel_rc == 1 && (pool_ok || cl_ok) &&
                    st != FRONTA_FINISHED) {
                    fronta_error_t err;
                    memset(&err, 0, sizeof err);
                    fronta_future_error(t->f, &err);
                    fz_fail("kernel task %d (op %d, kernel %d, global %zu, local %zu, needs "
                            "%d/%d) failed with %s: %s",
                            ev->task, t->op, t->kern, t->global, t->d.local,
                            (int)t->d.needs.device, t->d.needs.device_id,
                            fronta_err_name(t->code), err.message ? err.message : "");
                }
                /* A CPU-only kernel of random parameters returns its code. */
                if (t->op == FZ_OP_NOP && t->kern >= 0 && !t->cl_good &&
                    !it->kerns[t->kern].has_cl && !in_poison && !in_unknown && !pred_bad &&
                    !pred_unknown && t->cancel_rc == 1) {
                    int code = 0;
                    for (size_t i = 0; i < t->nargs; i++)
                        if (t->d.args[i].kind != FRONTA_ARG_BUFFER) {
                            code = fz_code_for_scalar((uint32_t)t->d.args[i].v.i32);
                            break;
                        }
                    int ecode = code > 0 ? FRONTA_ETASK : code;
                    if (t->code != ecode)
                        fz_fail("kernel task %d (CPU only) returned %d: outcome %s, expected %s",
                                ev->task, code, fronta_err_name(t->code), fronta_err_name(ecode));
                }
            }
            int ok = !t->lost && t->status == FRONTA_FINISHED;
            if (ok)
                apply_op(it, t);
            for (size_t i = 0; i < t->nargs; i++) {
                if (t->slot[i] < 0 || !(t->d.args[i].access & FRONTA_ACCESS_OUT))
                    continue;
                fz_buf *w = &it->bufs[t->slot[i]];
                if (t->lost) {
                    w->known = 0;
                    w->poison = 1;
                } else if (!ok) {
                    w->poison = t->code ? t->code : FRONTA_ETASK;
                } else {
                    w->poison = 0;
                    /* A kernel that writes nothing leaves OUT-only contents undefined. */
                    int merged_out_only = 1;
                    for (size_t j = 0; j < t->nargs; j++)
                        if (t->slot[j] == t->slot[i] && (t->d.args[j].access & FRONTA_ACCESS_IN))
                            merged_out_only = 0;
                    if (t->op == FZ_OP_NOP && merged_out_only)
                        w->known = 0;
                }
            }
            break;
        }
        }
    }
}

/* Contents at the end, through an acquire (refused on a partitioned
 * parent and a retired chunk). */
static void final_read(fz_iter *it, int s)
{
    fz_buf *b = &it->bufs[s];
    void *host = NULL;
    double t0 = now_s();
    int rc = fronta_buffer_acquire(b->b, FRONTA_ACCESS_IN, buf_blocked(b) ? 0 : fz_wait_limit,
                                   &host);
    check_rc("fronta_buffer_acquire(IN) at the end", rc,
             buf_blocked(b) ? FZ_B(EPARTITION) : 0);
    if (buf_blocked(b))
        return;
    /* A writer that failed with FRONTA_ETIMEDOUT passes that code on
     * at once (the replay checks it); only a full wait is a hang. */
    int hang = rc == FRONTA_ETIMEDOUT && now_s() - t0 >= fz_wait_limit / 2;
    if (rc == 0) {
        check_host(it, s, host);
        ev_add(it, FZ_EV_FINAL, s)->data = dup_bytes(host, b->bytes);
        check_rc("fronta_buffer_release", fronta_buffer_release(b->b), FZ_OK);
    } else if (hang) {
        fz_fail("buffer %d: acquire timed out at the end: a hang", s);
    } else {
        ev_add(it, FZ_EV_ACQ, s)->rc = rc;
    }
}

static void finish(fz_iter *it)
{
    release_held(it);
    wait_maps_first(it);
    /* Every future completes. */
    double deadline = now_s() + fz_wait_limit;
    for (int i = 0; i < it->ntasks; i++) {
        fz_task *t = &it->tasks[i];
        if (!t->f)
            continue;
        double left = deadline - now_s();
        int rc = fronta_future_wait(t->f, left > 0.1 ? left : 0.1);
        if (rc)
            fz_fail("future %d not done after %.0f s (%s): a hang", i, fz_wait_limit,
                    fronta_err_name(rc));
        fronta_error_t err;
        memset(&err, 0, sizeof err);
        t->code = fronta_future_error(t->f, &err);
        t->status = fronta_future_status(t->f);
        check_task_code("fronta_future_error", t->code);
        if ((t->code == 0) != (t->status == FRONTA_FINISHED))
            fz_fail("future %d: status %d with code %s", i, t->status, fronta_err_name(t->code));
        if (t->code && !err.message)
            fz_fail("future %d failed with a NULL message", i);
        if (t->code != err.code)
            fz_fail("future %d: fronta_future_error returned %d, err.code %d", i, t->code,
                    err.code);
    }
    int rc = fronta_runtime_wait_all(g_rt, fz_wait_limit);
    if (rc)
        fz_fail("fronta_runtime_wait_all: %s after %.0f s: a hang", fronta_err_name(rc),
                fz_wait_limit);
    for (int i = 0; i < it->ntasks; i++)
        if (it->tasks[i].kind == FZ_T_MAPALL) {
            map_chunk_outcomes(it, &it->tasks[i]);
            check_map(it, i);
        }
    if (atomic_load(&g_impl_misuse))
        fz_fail("a CPU implementation was called with arguments its parameters exclude");
    /* Callbacks: exactly once each. */
    for (int i = 0; i < it->ntasks; i++) {
        fz_task *t = &it->tasks[i];
        if (!t->cb_count)
            continue;
        double dl = now_s() + fz_wait_limit;
        while (atomic_load(t->cb_count) < t->cb_added && now_s() < dl)
            sched_yield();
        if (atomic_load(t->cb_count) != t->cb_added)
            fz_fail("future %d: %d done-callbacks added, %d ran", i, t->cb_added,
                    atomic_load(t->cb_count));
    }
    /* as_completed hands back every future. */
    if (it->ac) {
        drain_ac(it, fz_wait_limit);
        if (fronta_as_completed_pending(it->ac) != 0)
            fz_fail("as_completed: %zu futures left after all completed",
                    fronta_as_completed_pending(it->ac));
        fronta_future_t *f = NULL;
        rc = fronta_as_completed_next(it->ac, 0, &f);
        if (rc != FRONTA_EEMPTY)
            fz_fail("fronta_as_completed_next on a drained iterator: %s", fronta_err_name(rc));
        fronta_as_completed_destroy(it->ac);
        it->ac = NULL;
    }
    /* Final contents: every live chunk and buffer, then the buffers go
     * (an owned parent unpartitioned by hand so that its contents can be
     * read; a wrapped one by destroy, which must leave the chunks' results
     * in the user's array). */
    for (int s = 0; s < it->nbufs; s++)
        if (it->bufs[s].b)
            final_read(it, s);
    for (int s = 0; s < it->nbufs; s++) {
        fz_buf *b = &it->bufs[s];
        if (!b->b || b->chunk_of >= 0)
            continue;
        if (b->part >= 0 && !b->user) {
            check_rc("fronta_buffer_unpartition at the end", fronta_buffer_unpartition(b->b),
                     FZ_OK);
            unpartition_model(it, s);
            final_read(it, s);
        }
        destroy_slot(it, s);
    }
    for (int i = 0; i < it->ntasks; i++) {
        fz_task *t = &it->tasks[i];
        if (t->f && (t->kind == FZ_T_FN || t->kind == FZ_T_NOARG))
            check_fn_task(it, t, i);
    }
    replay(it);
    for (int i = 0; i < it->ntasks; i++) {
        if (it->tasks[i].f)
            fronta_future_release(it->tasks[i].f);
        free(it->tasks[i].cb_count);
    }
    for (int e = 0; e < it->nevs; e++)
        free(it->evs[e].data);
    for (int s = 0; s < it->nbufs; s++) {
        free(it->bufs[s].user);
        if (!it->bufs[s].view) {
            free(it->bufs[s].shadow);
            free(it->bufs[s].err);
        }
    }
    for (int p = 0; p < it->nparts; p++) {
        free(it->parts[p].off);
        free(it->parts[p].len);
    }
}

/* ---- the runtime_create branch ------------------------------------------ */

static const char *const fz_devices[] = {
    "cpu", "all", "opencl", "opencl:cpu", "opencl:gpu", "opencl:accelerator", "pthread",
    "Portable", "no-such-device", "", ",", " , ", "cpu,opencl", "cpu,cpu", "opencl:",
    "OPENCL", NULL,
};
#define FZ_NDEVICES (sizeof fz_devices / sizeof fz_devices[0])

/* Those that select the pool alone or the pool and every OpenCL device:
 * create must succeed with them. */
static int devices_ok(const char *d)
{
    return !d || !strcmp(d, "cpu") || !strcmp(d, "all") || !strcmp(d, "cpu,cpu");
}

static void fuzz_create(fz_in *in)
{
    union {
        fronta_config_t c;
        unsigned char raw[sizeof(fronta_config_t) + 64];
    } u;
    memset(&u, 0, sizeof u);
    fronta_config_t *c = &u.c;
    uint8_t how = in_u8(in), how2 = in_u8(in);
    static const int threads[] = {0, 1, 2, 1, -1, INT_MIN, 4097, 100000};
    c->cpu_threads = threads[how % 8];
    char devs[1400];
    unsigned dk = in_pick(in, FZ_NDEVICES + 3);
    if (dk < FZ_NDEVICES) {
        c->devices = fz_devices[dk];
    } else if (dk == FZ_NDEVICES) {
        memset(devs, 'c', 1100); /* longer than fronta's buffer */
        devs[1100] = 0;
        c->devices = devs;
    } else if (dk == FZ_NDEVICES + 1) {
        size_t j = 0;
        for (int i = 0; i < 40 && j < sizeof devs - 8; i++)
            j += (size_t)snprintf(devs + j, sizeof devs - j, "cpu,");
        c->devices = devs;
    } else {
        size_t len = in_pick(in, 40), j = 0;
        for (size_t i = 0; i < len; i++) {
            uint8_t ch = in_u8(in);
            devs[j++] = (char)(ch ? ch : ',');
        }
        devs[j] = 0;
        c->devices = devs;
    }
    static const int logs[] = {FRONTA_LOG_OFF, FRONTA_LOG_OFF, FRONTA_LOG_DEFAULT, FRONTA_LOG_ERROR,
                               6, -1};
    c->log_level = (fronta_log_level_t)logs[(how >> 3) % 6];
    c->seed = (how2 & 1) ? in_u64(in) : 0;
    static const int spins[] = {0, -1, 1, 50, 1000, 100000, 100001, INT_MAX, INT_MIN};
    c->spin_us = spins[in_pick(in, 9)];
    static const int zc[] = {0, 1, -1, INT_MIN};
    c->zero_copy = zc[(how2 >> 1) % 4];
    fz_heap heap;
    memset(&heap, 0, sizeof heap);
    int faults = (how2 & 0x08) != 0;
    if (faults || (how2 & 0x10)) {
        c->alloc = fz_alloc;
        c->alloc_ud = &heap;
        if (faults) {
            heap.fail_at = 1 + in_u8(in);
            heap.fail_after = (how2 & 0x20) != 0;
            if (!c->devices || strcmp(c->devices, "cpu"))
                c->devices = "cpu"; /* OpenCL allocations skip the hook: keep it cheap */
        }
    }
    static const size_t sizes[] = {0, 0, sizeof(fronta_config_t), sizeof(fronta_config_t) + 24,
                                   4, offsetof(fronta_config_t, devices),
                                   offsetof(fronta_config_t, seed),
                                   offsetof(fronta_config_t, alloc),
                                   offsetof(fronta_config_t, spin_us)};
    c->size = sizes[in_pick(in, 9)];
    int null_cfg = (how2 & 0xc0) == 0xc0;

    fronta_config_t eff = *c;
    size_t sz = c->size;
    if (sz && sz < sizeof eff)
        memset((unsigned char *)&eff + sz, 0, sizeof eff - sz);
    if (null_cfg)
        memset(&eff, 0, sizeof eff);
    int bad = 0, certain = 1;
    if (!null_cfg && sz && sz < sizeof(size_t))
        bad = 1;
    if (eff.log_level < 0 || eff.log_level > FRONTA_LOG_OFF)
        bad = 1;
    if (eff.cpu_threads < 0 || eff.cpu_threads > 4096)
        bad = 1;
    if (eff.spin_us > FRONTA_SPIN_US_MAX)
        bad = 1;
    if (eff.devices && !devices_ok(eff.devices))
        certain = 0;
    if (eff.alloc)
        certain = 0; /* faults */

    fronta_runtime_t *rt = (fronta_runtime_t *)&how;
    int rc = fronta_runtime_create(null_cfg ? NULL : c, &rt);
    check_rc("fronta_runtime_create", rc, 0);
    if (rc) {
        if (rt)
            fz_fail("fronta_runtime_create failed (%s) and left *out non-NULL",
                    fronta_err_name(rc));
        if (!bad && certain)
            fz_fail("fronta_runtime_create refused a valid config with %s (size %zu, threads "
                    "%d, devices %s, log %d, spin %d)",
                    fronta_err_name(rc), sz, eff.cpu_threads,
                    eff.devices ? eff.devices : "(default)", (int)eff.log_level, eff.spin_us);
    } else {
        if (bad)
            fz_fail("fronta_runtime_create accepted an invalid config (size %zu, threads %d, log "
                    "%d, spin %d)",
                    sz, eff.cpu_threads, (int)eff.log_level, eff.spin_us);
        if (eff.cpu_threads > 0 && fronta_runtime_cpu_threads(rt) != eff.cpu_threads)
            fz_fail("fronta_runtime_cpu_threads %d, configured %d", fronta_runtime_cpu_threads(rt),
                    eff.cpu_threads);
        int nd = fronta_device_count(rt);
        if (nd < 1 || (eff.devices && !strcmp(eff.devices, "cpu") && nd != 1))
            fz_fail("fronta_device_count %d for devices %s", nd,
                    eff.devices ? eff.devices : "(default)");
        /* A little work, each step allowed to fail only with ENOMEM when
         * the allocator injects faults. */
        unsigned allowed = eff.alloc ? FZ_OK | FZ_B(ENOMEM) : FZ_OK;
        fz_targ a;
        in_targ(in, &a, 7);
        a.fails = 0;
        fronta_future_t *f = NULL;
        rc = fronta_submit_fn(rt, fz_fn, &a, sizeof a, &f);
        check_rc("fronta_submit_fn (new runtime)", rc, allowed);
        float x[5] = {1, 2, 3, 4, 5};
        fronta_buffer_t *bx = NULL;
        fronta_future_t *kf = NULL;
        int brc = fronta_buffer_wrap(rt, x, 5, FRONTA_FLOAT, &bx);
        check_rc("fronta_buffer_wrap (new runtime)", brc, allowed);
        if (brc == 0) {
            fronta_kernel_t *sk = fronta_kernel_builtin(rt, "scale");
            if (!sk && !eff.alloc)
                fz_fail("fronta_kernel_builtin(scale) NULL in a new runtime");
            fronta_task_desc_t d;
            memset(&d, 0, sizeof d);
            d.kernel = sk;
            d.args[0] = FRONTA_INOUT(bx);
            d.args[1] = FRONTA_F32(2.0f);
            int krc = fronta_submit(rt, &d, &kf);
            check_rc("fronta_submit (new runtime)", krc,
                     eff.alloc ? FZ_OK | FZ_B(ENOMEM) | FZ_B(EINVAL) : FZ_OK);
            /* A kernel or buffer of another runtime is refused. */
            if (sk && g_rt) {
                fronta_future_t *xf = NULL;
                d.kernel = g_scale;
                int xrc = fronta_submit(rt, &d, &xf);
                if (xrc != FRONTA_EINVAL)
                    fz_fail("fronta_submit with another runtime's kernel: %s",
                            fronta_err_name(xrc));
            }
        }
        static const int hows[] = {FRONTA_SHUTDOWN_WAIT, FRONTA_SHUTDOWN_CANCEL_PENDING, 2, -1};
        int how_sd = hows[in_pick(in, 4)];
        rc = fronta_runtime_shutdown(rt, (fronta_shutdown_t)how_sd);
        check_rc("fronta_runtime_shutdown", rc,
                 how_sd == 0 || how_sd == 1 ? FZ_OK : FZ_B(EINVAL));
        if (rc == 0) {
            fronta_future_t *late = NULL;
            rc = fronta_submit_fn(rt, fz_fn_noarg, NULL, 0, &late);
            if (rc != FRONTA_ESHUTDOWN)
                fz_fail("fronta_submit_fn after shutdown: %s, not FRONTA_ESHUTDOWN",
                        fronta_err_name(rc));
        }
        if (f) {
            rc = fronta_future_wait(f, fz_wait_limit);
            if (rc)
                fz_fail("new runtime: task not done (%s)", fronta_err_name(rc));
            int code = fronta_future_error(f, NULL);
            check_task_code("new runtime task", code);
            fronta_future_release(f);
        }
        if (kf) {
            rc = fronta_future_wait(kf, fz_wait_limit);
            if (rc)
                fz_fail("new runtime: kernel task not done (%s)", fronta_err_name(rc));
            int code = fronta_future_error(kf, NULL);
            check_task_code("new runtime kernel task", code);
            if (code == 0 || how_sd == FRONTA_SHUTDOWN_WAIT) {
                if (code == 0 && brc == 0) {
                    void *host = NULL;
                    int arc = fronta_buffer_acquire(bx, FRONTA_ACCESS_IN, fz_wait_limit, &host);
                    check_rc("fronta_buffer_acquire (new runtime)", arc, allowed);
                    if (arc == 0) {
                        for (int i = 0; i < 5; i++)
                            if (((float *)host)[i] != 2.0f * (float)(i + 1))
                                fz_fail("new runtime: scale gave x[%d] = %g", i,
                                        (double)((float *)host)[i]);
                        check_rc("fronta_buffer_release", fronta_buffer_release(bx), FZ_OK);
                    }
                }
            }
            fronta_future_release(kf);
        }
        /* destroy takes its turn among b's accesses, which needs memory:
         * under injected faults it may fail (the runtime frees b then). */
        if (bx)
            check_rc("fronta_buffer_destroy (new runtime)", fronta_buffer_destroy(bx), allowed);
        fronta_runtime_destroy(rt);
    }
    if (atomic_load(&heap.blocks) != 0)
        fz_fail("runtime_create/destroy with the allocator hook (fail at %ld%s): %ld blocks, "
                "%ld bytes not freed",
                heap.fail_at, heap.fail_after ? " and after" : "", atomic_load(&heap.blocks),
                atomic_load(&heap.bytes));
    if (atomic_load(&heap.bytes) != 0)
        fz_fail("allocator hook: every block freed, yet %ld bytes unaccounted for (wrong "
                "old_size passed to the hook)",
                atomic_load(&heap.bytes));
}

/* ---- libFuzzer entry points --------------------------------------------- */

static void fz_atexit(void)
{
    if (g_rt)
        rt_close();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
#ifdef FZ_CACHE_DIR
    setenv("FRONTA_CACHE_DIR", FZ_CACHE_DIR, 0);
#endif
    fz_trace = getenv("FRONTA_FUZZ_TRACE") && atoi(getenv("FRONTA_FUZZ_TRACE"));
    const char *w = getenv("FRONTA_FUZZ_WAIT");
    if (w && atof(w) > 0)
        fz_wait_limit = atof(w);
    /* PoCL's LLVM installs crash handlers (SIGABRT, SIGSEGV, ...) when it
     * starts, and libFuzzer, which sets its own after this function, leaves
     * a signal alone that already has one: an abort() (fz_fail) would then
     * kill the process without saving the input. Put back what was there
     * before the first runtime (LLVM registers its handlers once a
     * process, so they do not come back). */
    struct sigaction before[32];
    for (int sig = 1; sig < 32; sig++)
        sigaction(sig, NULL, &before[sig]);
    /* A code has a name exactly when fronta.h lists it. */
    for (int c = -200; c <= 200; c++) {
        const char *name = fronta_err_name(c);
        int named = name && !strcasestr(name, "unknown");
        if (named != code_documented(c))
            fz_fail("fronta_err_name(%d) = %s", c, name ? name : "NULL");
    }
    rt_open();
    for (int sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &before[sig], NULL);
    atexit(fz_atexit);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    if (size && data[0] == 0xff) {
        in_u8(&in);
        fuzz_create(&in);
        return 0;
    }
    if (g_kernels > FZ_KERNELS_PER_RUNTIME) {
        rt_close();
        rt_open();
    }
    g_salt = (uint64_t)size * 0x9e3779b97f4a7c15ull;
    static fz_iter it;
    memset(&it, 0, sizeof it);
    for (int nops = 0; in.n && nops < FZ_MAX_OPS; nops++) {
        /* The operation's byte: 0 .. 251 as before partitions (the corpus
         * keeps its meaning), the four values above them partitions. */
        uint8_t opb = in_u8(&in);
        if (opb >= 252) {
            static void (*const part_ops[])(fz_iter *, fz_in *) = {
                op_partition, op_unpartition, op_map_chunks, op_chunkops};
            part_ops[opb - 252](&it, &in);
            continue;
        }
        switch (opb % 14) {
        case 0:
        case 1:
            op_buf_new(&it, &in);
            break;
        case 2:
            op_buf_huge(&it, &in);
            break;
        case 3:
            op_kernel(&it, &in);
            break;
        case 4:
        case 5:
            op_submit(&it, &in);
            break;
        case 6:
            op_map(&it, &in);
            break;
        case 7:
            op_call(&it, &in);
            break;
        case 8:
            op_wait(&it, &in);
            break;
        case 9:
            op_as_completed(&it, &in);
            break;
        case 10:
            op_acquire(&it, &in);
            break;
        case 11:
            op_future(&it, &in);
            break;
        case 12:
            op_buf_destroy(&it, &in);
            break;
        default:
            if (in_u8(&in) & 1)
                op_info(&it, &in);
            else
                op_wait_all(&it, &in);
            break;
        }
    }
    finish(&it);
    return 0;
}
