/* elementwise.c — the elementwise group's table and the chunked pool loop its CPU implementations share. */
#include "elementwise.h"

const fronta__builtin fronta__builtins_elementwise[] = {
    {"fill", fronta__ew_fill_desc},
    {"copy", fronta__ew_copy_desc},
    {"scale", fronta__ew_scale_desc},
    {"axpy", fronta__ew_axpy_desc},
    /* axpy under its 0.1 name: a kernel of its own in the runtime, with
     * the same parameters (registry.c names it from this table). */
    {"saxpy", fronta__ew_axpy_desc},
    {"add", fronta__ew_add_desc},
    {"sub", fronta__ew_sub_desc},
    {"mul", fronta__ew_mul_desc},
    {"div", fronta__ew_div_desc},
    {"minimum", fronta__ew_minimum_desc},
    {"maximum", fronta__ew_maximum_desc},
    {"eq", fronta__ew_eq_desc},
    {"ne", fronta__ew_ne_desc},
    {"lt", fronta__ew_lt_desc},
    {"le", fronta__ew_le_desc},
    {"gt", fronta__ew_gt_desc},
    {"ge", fronta__ew_ge_desc},
    {"select", fronta__ew_select_desc},
    {"divisible_by", fronta__ew_divisible_by_desc},
    {"logical_and", fronta__ew_logical_and_desc},
    {"logical_or", fronta__ew_logical_or_desc},
    {"logical_not", fronta__ew_logical_not_desc},
    {NULL, NULL},
};

typedef struct ew_split {
    fronta__ew_range_fn fn;
    void *ud;
    size_t n;
} ew_split;

static void ew_chunk(void *p, size_t i)
{
    const ew_split *s = p;
    size_t lo = i * FRONTA__EW_CHUNK;
    size_t hi = s->n - lo < FRONTA__EW_CHUNK ? s->n : lo + FRONTA__EW_CHUNK;

    s->fn(s->ud, lo, hi);
}

int fronta__ew_parallel(fronta_ctx_t *ctx, size_t n, fronta__ew_range_fn fn, void *ud)
{
    /* One chunk or less: handing it to the pool would only add the
     * hand-off to a few microseconds of work. */
    if (n <= FRONTA__EW_CHUNK) {
        fn(ud, 0, n);
        return 0;
    }
    ew_split s = {fn, ud, n};
    return fronta_ctx_parallel(ctx, (n - 1) / FRONTA__EW_CHUNK + 1, ew_chunk, &s);
}

typedef struct ew_binary_job {
    fronta__ew_binary_fn fn;
    const char *a, *b;
    char *c;
    size_t in_size, out_size;
} ew_binary_job;

static void ew_binary_range(void *ud, size_t lo, size_t hi)
{
    const ew_binary_job *j = ud;

    j->fn(j->a + lo * j->in_size, j->b + lo * j->in_size, j->c + lo * j->out_size, hi - lo);
}

int fronta__ew_binary(fronta_ctx_t *ctx, size_t n, fronta__ew_binary_fn fn, const void *a,
                      const void *b, void *c, size_t in_size, size_t out_size)
{
    ew_binary_job j = {fn, a, b, c, in_size, out_size};

    return fronta__ew_parallel(ctx, n, ew_binary_range, &j);
}
