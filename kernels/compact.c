/* compact.c — the bundled kernel "compact": the elements of x whose mask is set, in index order (numpy's x[mask]), and how many there are. */
#include <stdint.h>
#include <string.h>

#include "reduce.h"

extern const char fronta_kernel_src_compact[];
void fronta__kernels_compact_desc(fronta_kernel_desc_t *d);

/* One chunk's kept elements into y[pos .. end), where end is where the
 * next chunk's start (or y's end). Branch-free: every element is written
 * at pos and pos advances past the kept ones only, so an element that is
 * not kept is overwritten by the next kept one, and the loop stops when
 * the chunk's share of y is full, before a write past it. */
#define DEF_SCATTER(S, T)                                                      \
    static void scatter_##S(const void *xv, const uint8_t *m, void *yv, size_t len, \
                            size_t pos, size_t end)                            \
    {                                                                          \
        const T *x = xv;                                                       \
        T *y = yv;                                                             \
        for (size_t i = 0; i < len && pos < end; i++) {                        \
            y[pos] = x[i];                                                     \
            pos += m[i] != 0;                                                  \
        }                                                                      \
    }

DEF_SCATTER(1, uint8_t)
DEF_SCATTER(4, uint32_t)
DEF_SCATTER(8, uint64_t)

typedef struct compact_job {
    const char *x;
    const uint8_t *m;
    char *y;
    size_t esize, ny;
    fronta__red_plan plan;
    uint64_t *parts; /* set elements per chunk, then each chunk's offset */
    void (*scatter)(const void *x, const uint8_t *m, void *y, size_t len, size_t pos,
                    size_t end);
} compact_job;

static void count_body(void *ud, size_t k)
{
    compact_job *j = ud;
    j->parts[k] = fronta__red_count_chunk(j->m + fronta__red_begin(&j->plan, k),
                                          fronta__red_len(&j->plan, k));
}

static void scatter_body(void *ud, size_t k)
{
    compact_job *j = ud;
    size_t b = fronta__red_begin(&j->plan, k);
    uint64_t end = k + 1 < j->plan.count ? j->parts[k + 1] : UINT64_MAX;
    if (j->parts[k] >= j->ny)
        return;
    j->scatter(j->x + b * j->esize, j->m + b, j->y, fronta__red_len(&j->plan, k),
               (size_t)j->parts[k], end < j->ny ? (size_t)end : j->ny);
}

/* Counts per chunk, their prefix in chunk order, then each chunk's
 * scatter to its place; y's tail is zeroed. With y the same array as x,
 * the scatters run in order on this thread: each writes at or below what
 * it reads, never into what a later chunk is still to read. */
static int compact_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    uint64_t parts[FRONTA__RED_MAX_CHUNKS], total = 0;
    size_t es = fronta_dtype_size(fronta_ctx_arg_dtype(ctx, 0));
    if (nargs != 4 || (es != 1 && es != 4 && es != 8))
        return FRONTA_EARG; /* checked at submit; a guard against misuse */
    compact_job j = {.x = a[0].ptr, .m = a[1].ptr, .y = a[2].ptr, .esize = es,
                     .ny = a[2].count, .plan = fronta__red_plan_of(n), .parts = parts,
                     .scatter = es == 1 ? scatter_1 : es == 4 ? scatter_4 : scatter_8};
    int rc = fronta__red_run(ctx, &j.plan, count_body, &j);
    if (rc)
        return rc;
    for (size_t k = 0; k < j.plan.count; k++) {
        uint64_t c = parts[k];
        parts[k] = total;
        total += c;
    }
    if (a[0].ptr == a[2].ptr)
        for (size_t k = 0; k < j.plan.count; k++)
            scatter_body(&j, k);
    else if ((rc = fronta__red_run(ctx, &j.plan, scatter_body, &j)))
        return rc;
    size_t kept = total < j.ny ? (size_t)total : j.ny;
    memset(j.y + kept * es, 0, (j.ny - kept) * es);
    *(int64_t *)a[3].ptr = (int64_t)total;
    return 0;
}

static const fronta_param_t compact_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_IN, .count = FRONTA_COUNT_GLOBAL,
     .dtypes = FRONTA_DTYPES_ALL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_OUT, .count = FRONTA_COUNT_ANY,
     .like = FRONTA_LIKE(0)},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_EXACT, .n = 1},
};

/* Three passes: set elements per work-group, their scan (and kept), each
 * group's scatter. */
void fronta__kernels_compact_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .params = compact_params,
        .nparams = 4,
        .cpu = compact_cpu,
        .cl_source = fronta_kernel_src_compact,
        .cl_entry = "fronta_compact",
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_FLAT,
        .cl_local = {FRONTA__RED_CL_LOCAL, 0},
        .cl_groups = {FRONTA__RED_CL_GROUPS, 0},
        .cl_scratch = fronta__red_scratch_partials,
        .cl_passes = 3,
    };
}
