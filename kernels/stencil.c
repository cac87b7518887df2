/* stencil.c — the bundled kernel "stencil5": one Jacobi step of the 2-D 5-point stencil with a fixed boundary, float and double; row-wise vectorised on the CPU pool, one work item per element in OpenCL. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

extern const char fronta_kernel_src_stencil[];
void fronta__kernels_stencil5_desc(fronta_kernel_desc_t *d);

/* A chunk of fronta_ctx_parallel is a band of rows of about ST_CHUNK
 * elements (at least one row). */
enum { ST_CHUNK = 64 * 1024 };

typedef struct st_job {
    const void *a;
    void *b;
    size_t rows, cols, band;
    double c0, c1; /* exact for either type */
} st_job;

/* Row i of b from rows i-1, i, i+1 of a. The order of evaluation is the
 * contract (docs/kernels.md): s = ((up + down) + left) + right, then
 * c0 x + c1 s as two products and a sum. Each step is its own statement
 * so that no compiler fuses them into an FMA (clang's default
 * -ffp-contract=on fuses within one expression); OpenCL does the same.
 * In the compiler's 16-byte vectors (SSE2, NEON), written out: gcc -O2's
 * cost model does not vectorise the plain loop, and clang 14 not at all
 * (it turns the overlapping loads of the row into a second-order
 * recurrence it cannot vectorise). */
#define ST_ROW_FN(name, T) \
    typedef T name##_vec __attribute__((vector_size(16))); \
    static void name(const T *restrict up, const T *restrict mid, const T *restrict dn, \
                     T *restrict out, size_t cols, T c0, T c1) \
    { \
        enum { VN = 16 / sizeof(T) }; \
        size_t j = 1; \
        out[0] = mid[0]; \
        for (; j + VN < cols; j += VN) { \
            name##_vec u, d, l, r, x; \
            memcpy(&u, up + j, sizeof u); \
            memcpy(&d, dn + j, sizeof d); \
            memcpy(&l, mid + j - 1, sizeof l); \
            memcpy(&r, mid + j + 1, sizeof r); \
            memcpy(&x, mid + j, sizeof x); \
            name##_vec s = u + d; \
            s = s + l; \
            s = s + r; \
            name##_vec p = x * c0; \
            name##_vec q = s * c1; \
            name##_vec o = p + q; \
            memcpy(out + j, &o, sizeof o); \
        } \
        for (; j + 1 < cols; j++) { \
            T s = up[j] + dn[j]; \
            s = s + mid[j - 1]; \
            s = s + mid[j + 1]; \
            T p = c0 * mid[j]; \
            T q = c1 * s; \
            out[j] = p + q; \
        } \
        out[cols - 1] = mid[cols - 1]; \
    }
ST_ROW_FN(st_row_f32, float)
ST_ROW_FN(st_row_f64, double)
#undef ST_ROW_FN

#define ST_BAND_FN(name, T, row) \
    static void name(void *ud, size_t t) \
    { \
        const st_job *g = ud; \
        const T *a = g->a; \
        T *b = g->b; \
        size_t i0 = t * g->band, i1 = g->rows - i0 < g->band ? g->rows : i0 + g->band; \
        for (size_t i = i0; i < i1; i++) { \
            if (i == 0 || i + 1 == g->rows) \
                memcpy(b + i * g->cols, a + i * g->cols, g->cols * sizeof(T)); \
            else \
                row(a + (i - 1) * g->cols, a + i * g->cols, a + (i + 1) * g->cols, \
                    b + i * g->cols, g->cols, (T)g->c0, (T)g->c1); \
        } \
    }
ST_BAND_FN(st_band_f32, float, st_row_f32)
ST_BAND_FN(st_band_f64, double, st_row_f64)
#undef ST_BAND_FN

static int stencil_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    size_t rows, cols;
    if (nargs < 4 || fronta_ctx_shape(ctx, &rows, &cols) != 0 || cols == 0)
        return FRONTA_EARG;
    int dbl = fronta_ctx_arg_dtype(ctx, 0) == FRONTA_DOUBLE;
    (void)n;
    st_job g = {
        .a = args[0].ptr,
        .b = args[1].ptr,
        .rows = rows,
        .cols = cols,
        .band = cols >= ST_CHUNK ? 1 : ST_CHUNK / cols,
        .c0 = dbl ? args[2].v.f64 : args[2].v.f32,
        .c1 = dbl ? args[3].v.f64 : args[3].v.f32,
    };
    /* a and b are distinct (FRONTA_KERNEL_NO_ALIAS): no row is read after
     * the step has overwritten it. */
    return fronta_ctx_parallel(ctx, (rows + g.band - 1) / g.band,
                               dbl ? st_band_f64 : st_band_f32, &g);
}

static const fronta_param_t stencil_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_FLOAT, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
};

void fronta__kernels_stencil5_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .name = "stencil5",
        .params = stencil_params,
        .nparams = sizeof stencil_params / sizeof stencil_params[0],
        .cpu = stencil_cpu,
        .cl_source = fronta_kernel_src_stencil,
        .cl_entry = "stencil5",
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_NO_ALIAS,
        /* Rows of 256: on PoCL 3 times the speed of 16 x 16 work-groups
         * or of the driver's choice at 2048^2; coalesced on a GPU. */
        .cl_local = {256, 1},
    };
}
