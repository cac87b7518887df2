/* gemm.c — the bundled kernel "gemm": C = alpha A B + beta C, row-major, float and double; blocked and vectorised on the CPU pool, tiled in local memory in OpenCL. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "util/cpu.h"

/* The AVX2+FMA micro-kernel is compiled for that target alone (the
 * library is built for the baseline ISA) and picked at run time. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define GEMM_X86 1
#include <immintrin.h>
#endif

extern const char fronta_kernel_src_gemm[];
void fronta__kernels_gemm_desc(fronta_kernel_desc_t *d);

/* Blocking (BLIS's names): a micro-tile of C is GEMM_MR rows x NR columns
 * (16 floats or 8 doubles: two AVX vectors), k goes in blocks of GEMM_KC,
 * so that a packed B panel (KC x NR, 16 KiB) stays in L1 while the
 * micro-kernel walks a GEMM_MC x KC block of packed A (in L2). A phase
 * packs A's block of GEMM_MB x KC and B's of KC x GEMM_NC, each once,
 * into a workspace allocated once per call (at most 8 or 16 MiB), then
 * computes that block of C. */
enum {
    GEMM_MR = 6,
    GEMM_KC = 256,
    GEMM_MC = 120,
    GEMM_MB = 4096,
    GEMM_NC = 4096,
    GEMM_TN = 512,          /* columns of a product chunk */
    GEMM_PACK_PANELS = 8    /* panels of a packing chunk */
};

/* The chunks of fronta_ctx_parallel depend on the shape alone (product:
 * GEMM_MC x GEMM_TN tiles of C's block); and since every element of C is
 * computed by one chunk in the same k order whatever the chunk, the result
 * does not depend on them or on the worker count. */
typedef struct gemm_job gemm_job;
struct gemm_job {
    const void *a, *b;
    void *c;
    size_t m, n, k;      /* C is m x n, A m x k, B k x n */
    double alpha, beta;  /* exact for either type */
    int avx2;
    /* The phase: C's block rows [i0, i0+mb) x columns [j0, j0+nc), k
     * block [p0, p0+kc); ap and bp hold its packed A and B. */
    size_t i0, mb, j0, nc, p0, kc;
    void *ap, *bp;
    size_t pack_a_chunks, tiles_n;
    void (*pack)(const gemm_job *g, size_t t);
    void (*product)(const gemm_job *g, size_t t);
};

/* ---- the typed instances ---- */

#define GT float
#define GN(x) x##_f32
#define GNR 16
#ifdef GEMM_X86
#define GV __m256
#define GV_LOAD _mm256_load_ps
#define GV_LOADU _mm256_loadu_ps
#define GV_STOREU _mm256_storeu_ps
#define GV_FMA _mm256_fmadd_ps
#define GV_MUL _mm256_mul_ps
#define GV_BCAST _mm256_broadcast_ss
#define GV_SET1 _mm256_set1_ps
#define GV_ZERO _mm256_setzero_ps
#endif
#include "gemm_tmpl.h"

#define GT double
#define GN(x) x##_f64
#define GNR 8
#ifdef GEMM_X86
#define GV __m256d
#define GV_LOAD _mm256_load_pd
#define GV_LOADU _mm256_loadu_pd
#define GV_STOREU _mm256_storeu_pd
#define GV_FMA _mm256_fmadd_pd
#define GV_MUL _mm256_mul_pd
#define GV_BCAST _mm256_broadcast_sd
#define GV_SET1 _mm256_set1_pd
#define GV_ZERO _mm256_setzero_pd
#endif
#include "gemm_tmpl.h"

/* ---- shapes ---- */

/* A is rows x k and B k x cols, k = count(A) / rows (the parameter rules
 * already made C rows x cols). */
/* A is rows x k and B k x cols for some k >= 1. */
static int gemm_dims(size_t na, size_t nb, size_t rows, size_t cols)
{
    if (rows == 0 || cols == 0 || na % rows != 0)
        return FRONTA_ESIZE;
    size_t k = na / rows;
    if (k == 0 || nb % cols != 0 || nb / cols != k)
        return FRONTA_ESIZE;
    return 0;
}

static int gemm_check(const fronta_arg_t *args, size_t nargs, size_t rows, size_t cols)
{
    if (nargs < 5)
        return FRONTA_EARG;
    return gemm_dims(fronta_buffer_count(args[0].buffer), fronta_buffer_count(args[1].buffer),
                     rows, cols);
}

/* The portable micro-kernel can be forced (FRONTA_GEMM_PORTABLE=1), so
 * that the tests exercise it on a machine with AVX2 too. */
static int gemm_use_avx2(void)
{
#ifdef GEMM_X86
    const char *env = getenv("FRONTA_GEMM_PORTABLE");
    if (env && *env && *env != '0')
        return 0;
    return fronta__cpu_avx2(1); /* FRONTA_KERNELS_PORTABLE too */
#else
    return 0;
#endif
}

/* ---- the CPU implementation ---- */

static size_t div_up(size_t x, size_t m)
{
    return (x + m - 1) / m;
}

static void gemm_pack_body(void *ud, size_t t)
{
    const gemm_job *g = ud;
    g->pack(g, t);
}

static void gemm_product_body(void *ud, size_t t)
{
    const gemm_job *g = ud;
    g->product(g, t);
}

/* The phases, in order: C's row blocks, column blocks, then k blocks
 * (the k blocks of one element in increasing order). */
static int gemm_phases(fronta_ctx_t *ctx, gemm_job *g, size_t nr)
{
    for (g->i0 = 0; g->i0 < g->m; g->i0 += GEMM_MB) {
        g->mb = g->m - g->i0 < GEMM_MB ? g->m - g->i0 : GEMM_MB;
        g->pack_a_chunks = div_up(g->mb, GEMM_PACK_PANELS * GEMM_MR);
        for (g->j0 = 0; g->j0 < g->n; g->j0 += GEMM_NC) {
            g->nc = g->n - g->j0 < GEMM_NC ? g->n - g->j0 : GEMM_NC;
            g->tiles_n = div_up(g->nc, GEMM_TN);
            size_t pack_b_chunks = div_up(g->nc, GEMM_PACK_PANELS * nr);
            for (g->p0 = 0; g->p0 < g->k; g->p0 += GEMM_KC) {
                g->kc = g->k - g->p0 < GEMM_KC ? g->k - g->p0 : GEMM_KC;
                int rc = fronta_ctx_parallel(ctx, g->pack_a_chunks + pack_b_chunks,
                                             gemm_pack_body, g);
                if (rc == 0)
                    rc = fronta_ctx_parallel(ctx, div_up(g->mb, GEMM_MC) * g->tiles_n,
                                             gemm_product_body, g);
                if (rc != 0)
                    return rc;
            }
        }
    }
    return 0;
}

static int gemm_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    size_t rows, cols;
    (void)n;
    if (nargs < 5 || fronta_ctx_shape(ctx, &rows, &cols) != 0 ||
        gemm_dims(args[0].count, args[1].count, rows, cols) != 0)
        return FRONTA_EARG;
    int dbl = fronta_ctx_arg_dtype(ctx, 0) == FRONTA_DOUBLE;
    size_t es = dbl ? sizeof(double) : sizeof(float), nr = dbl ? 8 : 16;
    gemm_job g = {
        .c = args[2].ptr,
        .m = rows,
        .n = cols,
        .k = args[0].count / rows,
        .alpha = dbl ? args[3].v.f64 : args[3].v.f32,
        .beta = dbl ? args[4].v.f64 : args[4].v.f32,
        .avx2 = gemm_use_avx2(),
        .pack = dbl ? pack_chunk_f64 : pack_chunk_f32,
        .product = dbl ? product_chunk_f64 : product_chunk_f32,
    };
    /* The workspace: A's block rounded up to whole panels, B's block to
     * whole panels and 64 bytes (so that A's starts aligned too), for the
     * micro-kernel's aligned loads. */
    size_t mb = rows < GEMM_MB ? rows : GEMM_MB, nb = cols < GEMM_NC ? cols : GEMM_NC;
    size_t kb = g.k < GEMM_KC ? g.k : GEMM_KC;
    size_t bsz = div_up(div_up(nb, nr) * nr * kb * es, 64) * 64;
    size_t asz = div_up(div_up(mb, GEMM_MR) * GEMM_MR * kb * es, 64) * 64;
    char *ws = aligned_alloc(64, bsz + asz);
    /* A and B are not C: FRONTA_KERNEL_NO_ALIAS refuses that at submit,
     * so no chunk reads what another has overwritten. */
    g.a = args[0].ptr;
    g.b = args[1].ptr;
    int rc = FRONTA_ENOMEM;
    if (ws) {
        g.bp = ws;
        g.ap = ws + bsz;
        rc = gemm_phases(ctx, &g, nr);
    }
    free(ws);
    return rc;
}

/* ---- the descriptor ---- */

static const fronta_param_t gemm_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_FLOAT, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_ANY},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_ANY},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_INOUT,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
    {.kind = FRONTA_ARG_SCALAR, .like = FRONTA_LIKE(0)},
};

void fronta__kernels_gemm_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .name = "gemm",
        .params = gemm_params,
        .nparams = sizeof gemm_params / sizeof gemm_params[0],
        .cpu = gemm_cpu,
        .cl_source = fronta_kernel_src_gemm,
        .cl_entry = "gemm",
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_NO_ALIAS,
        .cl_local = {16, 16},
        .check = gemm_check,
    };
}
