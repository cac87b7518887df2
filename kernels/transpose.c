/* transpose.c — the bundled kernel "transpose": b (cols x rows) = a (rows x cols) transposed, any dtype; cache-blocked on the CPU pool, through local memory in OpenCL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

extern const char fronta_kernel_src_transpose[];
void fronta__kernels_transpose_desc(fronta_kernel_desc_t *d);

/* A chunk of fronta_ctx_parallel is a TR_CHUNK x TR_CHUNK tile of a (64 Ki
 * elements), walked in square blocks of TR_BLOCK_BYTES a row (32 x 32
 * floats): a block's rows of a and of b (two cache lines each) stay in L1
 * while it is copied; smaller or larger blocks measured slower. A row or column vector is a copy, in chunks of
 * TR_CHUNK^2 elements. */
enum { TR_CHUNK = 256, TR_BLOCK_BYTES = 128 };

typedef struct tr_job {
    const unsigned char *a;
    unsigned char *b;
    size_t rows, cols, es;
    size_t tiles_c;  /* chunks per row of chunks */
} tr_job;

/* Within a block, S x S squares go through registers where SSE2 (the
 * x86-64 baseline) has the shuffles: 8 x 8 of 1 byte, 4 x 4 of 4 bytes,
 * 2 x 2 of 8 bytes, two to four times the speed of element by element;
 * the block's ragged edges and other machines go element by element. */
#ifdef __SSE2__
#include <emmintrin.h>

static void tr_square_4(const uint32_t *a, size_t lda, uint32_t *b, size_t ldb)
{
    __m128i r0 = _mm_loadu_si128((const __m128i *)a);
    __m128i r1 = _mm_loadu_si128((const __m128i *)(a + lda));
    __m128i r2 = _mm_loadu_si128((const __m128i *)(a + 2 * lda));
    __m128i r3 = _mm_loadu_si128((const __m128i *)(a + 3 * lda));
    __m128i t0 = _mm_unpacklo_epi32(r0, r1), t1 = _mm_unpacklo_epi32(r2, r3);
    __m128i t2 = _mm_unpackhi_epi32(r0, r1), t3 = _mm_unpackhi_epi32(r2, r3);
    _mm_storeu_si128((__m128i *)b, _mm_unpacklo_epi64(t0, t1));
    _mm_storeu_si128((__m128i *)(b + ldb), _mm_unpackhi_epi64(t0, t1));
    _mm_storeu_si128((__m128i *)(b + 2 * ldb), _mm_unpacklo_epi64(t2, t3));
    _mm_storeu_si128((__m128i *)(b + 3 * ldb), _mm_unpackhi_epi64(t2, t3));
}

static void tr_square_1(const uint8_t *a, size_t lda, uint8_t *b, size_t ldb)
{
    __m128i r[8];
    for (int i = 0; i < 8; i++)
        r[i] = _mm_loadl_epi64((const __m128i *)(a + (size_t)i * lda));
    /* Interleave pairs of rows, then pairs of pairs, then quads: each
     * 8-byte half of v holds one column of the square. */
    __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpacklo_epi8(r[2], r[3]);
    __m128i t2 = _mm_unpacklo_epi8(r[4], r[5]), t3 = _mm_unpacklo_epi8(r[6], r[7]);
    __m128i u0 = _mm_unpacklo_epi16(t0, t1), u1 = _mm_unpackhi_epi16(t0, t1);
    __m128i u2 = _mm_unpacklo_epi16(t2, t3), u3 = _mm_unpackhi_epi16(t2, t3);
    __m128i v[4] = {_mm_unpacklo_epi32(u0, u2), _mm_unpackhi_epi32(u0, u2),
                    _mm_unpacklo_epi32(u1, u3), _mm_unpackhi_epi32(u1, u3)};
    for (int j = 0; j < 4; j++) {
        _mm_storel_epi64((__m128i *)(b + (size_t)(2 * j) * ldb), v[j]);
        _mm_storel_epi64((__m128i *)(b + (size_t)(2 * j + 1) * ldb), _mm_unpackhi_epi64(v[j], v[j]));
    }
}

static void tr_square_8(const uint64_t *a, size_t lda, uint64_t *b, size_t ldb)
{
    __m128i r0 = _mm_loadu_si128((const __m128i *)a);
    __m128i r1 = _mm_loadu_si128((const __m128i *)(a + lda));
    _mm_storeu_si128((__m128i *)b, _mm_unpacklo_epi64(r0, r1));
    _mm_storeu_si128((__m128i *)(b + ldb), _mm_unpackhi_epi64(r0, r1));
}
#define TR_S1 8
#define TR_S4 4
#define TR_S8 2
#else
/* Never called: S 1 makes the squares single elements. */
#define tr_square_1(a, lda, b, ldb) ((void)0)
#define tr_square_4(a, lda, b, ldb) ((void)0)
#define tr_square_8(a, lda, b, ldb) ((void)0)
#define TR_S1 1
#define TR_S4 1
#define TR_S8 1
#endif

/* One block [i0, i1) x [j0, j1) for each element size: the whole S x S
 * squares, then the edges element by element, b's rows written in
 * order. */
#define TR_BLOCK_FN(name, T, S, square) \
    static void name(const void *av, void *bv, size_t rows, size_t cols, size_t i0, \
                     size_t i1, size_t j0, size_t j1) \
    { \
        const T *a = av; \
        T *b = bv; \
        size_t ie = S > 1 ? i0 + (i1 - i0) / S * S : i0; \
        size_t je = S > 1 ? j0 + (j1 - j0) / S * S : j0; \
        for (size_t j = j0; j < je; j += S) \
            for (size_t i = i0; i < ie; i += S) \
                square(a + i * cols + j, cols, b + j * rows + i, rows); \
        for (size_t j = j0; j < j1; j++) \
            for (size_t i = j < je ? ie : i0; i < i1; i++) \
                b[j * rows + i] = a[i * cols + j]; \
    }
TR_BLOCK_FN(tr_block_1, uint8_t, TR_S1, tr_square_1)
TR_BLOCK_FN(tr_block_4, uint32_t, TR_S4, tr_square_4)
TR_BLOCK_FN(tr_block_8, uint64_t, TR_S8, tr_square_8)
#undef TR_BLOCK_FN

static void tr_tile(void *ud, size_t t)
{
    const tr_job *g = ud;
    size_t i0 = t / g->tiles_c * TR_CHUNK, j0 = t % g->tiles_c * TR_CHUNK;
    size_t i1 = g->rows - i0 < TR_CHUNK ? g->rows : i0 + TR_CHUNK;
    size_t j1 = g->cols - j0 < TR_CHUNK ? g->cols : j0 + TR_CHUNK;
    void (*block)(const void *, void *, size_t, size_t, size_t, size_t, size_t, size_t) =
        g->es == 1 ? tr_block_1 : g->es == 4 ? tr_block_4 : tr_block_8;

    size_t bs = TR_BLOCK_BYTES / g->es;
    for (size_t i = i0; i < i1; i += bs)
        for (size_t j = j0; j < j1; j += bs)
            block(g->a, g->b, g->rows, g->cols, i, i1 - i < bs ? i1 : i + bs, j,
                  j1 - j < bs ? j1 : j + bs);
}

/* A vector's transpose has the same elements in the same order. */
static void tr_copy(void *ud, size_t t)
{
    const tr_job *g = ud;
    size_t n = g->rows * g->cols, i0 = t * TR_CHUNK * TR_CHUNK;
    size_t len = n - i0 < TR_CHUNK * TR_CHUNK ? n - i0 : TR_CHUNK * TR_CHUNK;
    memcpy(g->b + i0 * g->es, g->a + i0 * g->es, len * g->es);
}

static int transpose_cpu(fronta_ctx_t *ctx, const fronta_karg_t *args, size_t nargs, size_t n)
{
    size_t rows, cols;
    if (nargs < 2 || fronta_ctx_shape(ctx, &rows, &cols) != 0)
        return FRONTA_EARG;
    tr_job g = {
        .a = args[0].ptr,
        .b = args[1].ptr,
        .rows = rows,
        .cols = cols,
        .es = fronta_dtype_size(fronta_ctx_arg_dtype(ctx, 0)),
        .tiles_c = (cols + TR_CHUNK - 1) / TR_CHUNK,
    };
    /* a and b are distinct: FRONTA_KERNEL_NO_ALIAS refuses one buffer at
     * both places at submit. */
    if (rows == 1 || cols == 1)
        return fronta_ctx_parallel(ctx, (n + TR_CHUNK * TR_CHUNK - 1) / (TR_CHUNK * TR_CHUNK),
                                   tr_copy, &g);
    return fronta_ctx_parallel(ctx, (rows + TR_CHUNK - 1) / TR_CHUNK * g.tiles_c, tr_tile, &g);
}

static const fronta_param_t transpose_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtypes = FRONTA_DTYPES_ALL, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .like = FRONTA_LIKE(0), .access = FRONTA_ACCESS_OUT,
     .count = FRONTA_COUNT_GLOBAL},
};

void fronta__kernels_transpose_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .name = "transpose",
        .params = transpose_params,
        .nparams = sizeof transpose_params / sizeof transpose_params[0],
        .cpu = transpose_cpu,
        .cl_source = fronta_kernel_src_transpose,
        .cl_entry = "transpose",
        .flags = FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_NO_ALIAS,
        .cl_local = {16, 16},
    };
}
