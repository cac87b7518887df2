/* Kernels several tests share: INT32 kernels with a CPU and an OpenCL implementation, exact (uint32 wrap-around) arithmetic. */
#ifndef FRONTA_TEST_KERNELS_H
#define FRONTA_TEST_KERNELS_H

#include "test_util.h"

/* The three kernels, written so that every element depends on its index:
 * a kernel that misses or shifts elements gives another result.
 *   ft_add_const(x INOUT, c):       x[i] += c + i
 *   ft_copy_scaled(x IN, y OUT, k): y[i] = x[i] * k + i
 *   ft_add_into(x IN, y INOUT):     y[i] += x[i]
 * uint32 arithmetic wraps in C and in OpenCL C alike, so results are exact
 * whatever the values. One source for all three: the program cache builds
 * it once. */
#define FT_INT_CL_SOURCE                                                       \
    "__kernel void ft_add_const(__global uint *x, int c)\n"                    \
    "{ size_t i = get_global_id(0); x[i] += (uint)c + (uint)i; }\n"           \
    "__kernel void ft_copy_scaled(__global const uint *x, __global uint *y, int k)\n" \
    "{ size_t i = get_global_id(0); y[i] = x[i] * (uint)k + (uint)i; }\n"    \
    "__kernel void ft_add_into(__global const uint *x, __global uint *y)\n"  \
    "{ size_t i = get_global_id(0); y[i] += x[i]; }\n"

static inline uint32_t ft_model_add_const(uint32_t x, int32_t c, size_t i)
{
    return x + (uint32_t)c + (uint32_t)i;
}

static inline uint32_t ft_model_copy_scaled(uint32_t x, int32_t k, size_t i)
{
    return x * (uint32_t)k + (uint32_t)i;
}

static inline int ft_k_add_const(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na,
                                 size_t n)
{
    (void)ctx;
    if (na != 2 || a[0].count != n)
        return FRONTA_EINVAL;
    uint32_t *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] = ft_model_add_const(x[i], a[1].v.i32, i);
    return 0;
}

static inline int ft_k_copy_scaled(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na,
                                   size_t n)
{
    (void)ctx;
    if (na != 3 || a[0].count != n || a[1].count != n)
        return FRONTA_EINVAL;
    const uint32_t *x = a[0].ptr;
    uint32_t *y = a[1].ptr;
    for (size_t i = 0; i < n; i++)
        y[i] = ft_model_copy_scaled(x[i], a[2].v.i32, i);
    return 0;
}

static inline int ft_k_add_into(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na,
                                size_t n)
{
    (void)ctx;
    if (na != 2 || a[0].count != n || a[1].count != n)
        return FRONTA_EINVAL;
    const uint32_t *x = a[0].ptr;
    uint32_t *y = a[1].ptr;
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
    return 0;
}

static const fronta_param_t ft_add_const_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_I32, .dtype = 0, .access = 0, .count = 0},
};
static const fronta_param_t ft_copy_scaled_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_I32, .dtype = 0, .access = 0, .count = 0},
};
static const fronta_param_t ft_add_into_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT, .count = FRONTA_COUNT_GLOBAL},
};

enum { FT_IMPL_CPU = 1, FT_IMPL_CL = 2, FT_IMPL_BOTH = 3 };

typedef struct ft_kernels {
    fronta_kernel_t *add_const, *copy_scaled, *add_into;
} ft_kernels_t;

/* Register one of the three with the implementations `impl` asks for,
 * under entry + suffix (names are unique per runtime). */
static inline fronta_kernel_t *ft_kernel_make(fronta_runtime_t *rt, const char *entry,
                                              const char *suffix, int impl)
{
    const fronta_param_t *params;
    size_t np;
    fronta_cpu_kernel_fn cpu;
    if (!strcmp(entry, "ft_add_const")) {
        params = ft_add_const_params;
        np = 2;
        cpu = ft_k_add_const;
    } else if (!strcmp(entry, "ft_copy_scaled")) {
        params = ft_copy_scaled_params;
        np = 3;
        cpu = ft_k_copy_scaled;
    } else {
        params = ft_add_into_params;
        np = 2;
        cpu = ft_k_add_into;
    }
    char name[64];
    snprintf(name, sizeof name, "%s%s", entry, suffix);
    fronta_kernel_desc_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = name;
    d.params = params;
    d.nparams = np;
    d.cpu = (impl & FT_IMPL_CPU) ? cpu : NULL;
    d.cl_source = (impl & FT_IMPL_CL) ? FT_INT_CL_SOURCE : NULL;
    d.cl_entry = entry;
    fronta_kernel_t *k = NULL;
    int rc = fronta_kernel_create(rt, &d, &k);
    if (rc != 0)
        fail_msg("fronta_kernel_create(%s): %s", name, fronta_err_name(rc));
    assert_non_null(k);
    return k;
}

static inline ft_kernels_t ft_kernels(fronta_runtime_t *rt, const char *suffix, int impl)
{
    ft_kernels_t k;
    k.add_const = ft_kernel_make(rt, "ft_add_const", suffix, impl);
    k.copy_scaled = ft_kernel_make(rt, "ft_copy_scaled", suffix, impl);
    k.add_into = ft_kernel_make(rt, "ft_add_into", suffix, impl);
    return k;
}

/* A task descriptor: kernel, needs, then the arguments (up to four; the
 * list ends at the first FRONTA_ARG_NONE). */
static inline fronta_task_desc_t ft_task(fronta_kernel_t *k, fronta_need_t need,
                                         fronta_arg_t a0, fronta_arg_t a1,
                                         fronta_arg_t a2)
{
    fronta_task_desc_t t;
    memset(&t, 0, sizeof t);
    t.size = sizeof t;
    t.kernel = k;
    t.args[0] = a0;
    t.args[1] = a1;
    t.args[2] = a2;
    t.needs.device = need;
    return t;
}

#define FT_NOARG ((fronta_arg_t){.kind = FRONTA_ARG_NONE})

/* Submit a task that must be accepted; returns its future. */
static inline fronta_future_t *ft_submit_ok(fronta_runtime_t *rt, const fronta_task_desc_t *t)
{
    fronta_future_t *f = NULL;
    int rc = fronta_submit(rt, t, &f);
    if (rc != 0)
        fail_msg("fronta_submit(%s, need %d): %s",
                 t->kernel ? fronta_kernel_name(t->kernel) : "NULL", (int)t->needs.device,
                 fronta_err_name(rc));
    assert_non_null(f);
    return f;
}

/* Read a whole INT32 buffer through acquire(IN) and compare with want;
 * names the first differing element. */
static inline void ft_check_buffer(fronta_buffer_t *b, const uint32_t *want, size_t n,
                                   const char *what)
{
    void *p = NULL;
    int rc = fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &p);
    if (rc != 0)
        fail_msg("%s: acquire IN: %s", what, fronta_err_name(rc));
    assert_non_null(p);
    const uint32_t *got = p;
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (got[i] != want[i])
            bad = i;
    uint32_t g = bad < n ? got[bad] : 0;
    assert_int_equal(fronta_buffer_release(b), 0);
    if (bad < n)
        fail_msg("%s: element %zu of %zu is %u, expected %u", what, bad, n, g, want[bad]);
}

#endif /* FRONTA_TEST_KERNELS_H */
