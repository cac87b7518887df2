/* test_bk.h — shared helpers of the bundled-kernel tests (tests/test_bk_*.c):
 * the edge sizes, random arrays of each dtype, and the devices to run on. */
#ifndef FRONTA_TEST_BK_H
#define FRONTA_TEST_BK_H

#include "test_kernels.h"
#include "test_util.h"

/* The edge sizes every kernel is tested at: 1, primes, non-multiples of
 * any work-group size, and 2^20 + 3 (several work-groups, a partial one).
 * Under a sanitizer the largest is 3 * 2^16 + 5, still several
 * work-groups and elementwise chunks and a partial one: 2^20 + 3 made
 * test_bk_elementwise 8 times slower there (216 s against 26 s, ASan). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FT_BK_LARGEST ((size_t)3 * 65536 + 5)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FT_BK_LARGEST ((size_t)3 * 65536 + 5)
#endif
#endif
#ifndef FT_BK_LARGEST
#define FT_BK_LARGEST (((size_t)1 << 20) + 3)
#endif
static const size_t ft_bk_sizes[] = {1, 2, 7, 31, 257, 1000, 4099, 65537, FT_BK_LARGEST};
#define FT_BK_NSIZES (sizeof ft_bk_sizes / sizeof ft_bk_sizes[0])

static const fronta_dtype_t ft_bk_numeric[] = {FRONTA_INT32, FRONTA_INT64, FRONTA_FLOAT,
                                               FRONTA_DOUBLE};
static const fronta_dtype_t ft_bk_all[] = {FRONTA_UINT8, FRONTA_INT32, FRONTA_INT64,
                                           FRONTA_FLOAT, FRONTA_DOUBLE};

static inline const char *ft_bk_dtype_name(fronta_dtype_t t)
{
    static const char *const names[] = {"?", "uint8", "int32", "int64", "float", "double"};
    return (unsigned)t <= FRONTA_DOUBLE ? names[t] : "?";
}

/* n random elements of type t: integers in [-range, range] (uint8 in
 * [0, 255], or {0, 1} when range is 1), floats uniform in [-range, range]
 * on a grid of 1/1024 so that sums of a few are exact. */
static inline void *ft_bk_random(size_t n, fronta_dtype_t t, int64_t range, uint64_t *s)
{
    void *p = calloc(n ? n : 1, fronta_dtype_size(t));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ft_rand(s);
        int64_t v = (int64_t)(r % (uint64_t)(2 * range + 1)) - range;
        double f = (double)(int64_t)(r % (uint64_t)(2 * range * 1024 + 1)) / 1024.0 -
                   (double)range;
        switch (t) {
        case FRONTA_UINT8:
            ((uint8_t *)p)[i] = range == 1 ? (uint8_t)(r & 1) : (uint8_t)r;
            break;
        case FRONTA_INT32:
            ((int32_t *)p)[i] = (int32_t)v;
            break;
        case FRONTA_INT64:
            ((int64_t *)p)[i] = v;
            break;
        case FRONTA_FLOAT:
            ((float *)p)[i] = (float)f;
            break;
        default:
            ((double *)p)[i] = f;
            break;
        }
    }
    return p;
}

/* Element i of an array of type t, as a double (exact for every value the
 * tests make, int64 included while |v| < 2^53). */
static inline double ft_bk_get(const void *p, fronta_dtype_t t, size_t i)
{
    switch (t) {
    case FRONTA_UINT8:
        return ((const uint8_t *)p)[i];
    case FRONTA_INT32:
        return ((const int32_t *)p)[i];
    case FRONTA_INT64:
        return (double)((const int64_t *)p)[i];
    case FRONTA_FLOAT:
        return ((const float *)p)[i];
    default:
        return ((const double *)p)[i];
    }
}

/* The scalar argument of a value for a buffer of type t (the kind
 * FRONTA_ARG_SCALAR parameters take: I32 for UINT8 and INT32). */
static inline fronta_arg_t ft_bk_scalar(fronta_dtype_t t, double v)
{
    switch (t) {
    case FRONTA_UINT8:
    case FRONTA_INT32:
        return FRONTA_I32((int32_t)v);
    case FRONTA_INT64:
        return FRONTA_I64((int64_t)v);
    case FRONTA_FLOAT:
        return FRONTA_F32((float)v);
    default:
        return FRONTA_F64(v);
    }
}

/* The places every kernel runs: the pool, then the first OpenCL device
 * (PoCL here) when the machine has one. A runtime made by ft_bk_runtime
 * has both. */
typedef struct ft_bk_place {
    const char *name;
    fronta_need_t need;
} ft_bk_place_t;

static inline size_t ft_bk_places(fronta_runtime_t *rt, ft_bk_place_t out[2])
{
    size_t n = 0;
    out[n++] = (ft_bk_place_t){"pool", FRONTA_NEED_CPU_POOL};
    if (ft_cl_device(rt, 0) >= 0)
        out[n++] = (ft_bk_place_t){"opencl", FRONTA_NEED_OPENCL};
    return n;
}

static inline fronta_runtime_t *ft_bk_runtime(void)
{
    ft_cache_env();
    return ft_runtime_dev("all", 0);
}

/* A wrapped buffer over p (n elements of t) that must be accepted. */
static inline fronta_buffer_t *ft_bk_wrap(fronta_runtime_t *rt, void *p, size_t n,
                                          fronta_dtype_t t)
{
    fronta_buffer_t *b = NULL;
    assert_int_equal(fronta_buffer_wrap(rt, p, n, t, &b), 0);
    return b;
}

/* Submit, wait, and check the task finished; names kernel, place, dtype
 * and size on failure. The buffers' host arrays are read after
 * fronta_buffer_destroy (or an acquire). */
static inline void ft_bk_run(fronta_runtime_t *rt, fronta_task_desc_t *t,
                             const ft_bk_place_t *pl, fronta_dtype_t dt, size_t n)
{
    fronta_future_t *f = NULL;
    t->size = sizeof *t;
    t->needs.device = pl->need;
    int rc = fronta_submit(rt, t, &f);
    if (rc != 0)
        fail_msg("%s on %s, %s, n=%zu: fronta_submit: %s", fronta_kernel_name(t->kernel),
                 pl->name, ft_bk_dtype_name(dt), n, fronta_err_name(rc));
    int out = ft_outcome(f);
    if (out != 0)
        fail_msg("%s on %s, %s, n=%zu: %s: %s", fronta_kernel_name(t->kernel), pl->name,
                 ft_bk_dtype_name(dt), n, fronta_err_name(out), ft_message(f));
    fronta_future_release(f);
}

#endif /* FRONTA_TEST_BK_H */
