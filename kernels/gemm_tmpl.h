/* gemm_tmpl.h — gemm's typed CPU pieces (packing, micro-kernels, one tile of C), included by gemm.c once per element type. */
/* Before including, define:
 *   GT          the element type (float, double)
 *   GN(x)       x with the type's suffix, naming this instance's functions
 *   GNR         columns of a micro-tile: two 256-bit vectors of GT
 *   GV, GV_LOAD, GV_LOADU, GV_STOREU, GV_FMA, GV_MUL, GV_BCAST, GV_SET1,
 *   GV_ZERO     the AVX2 vector type and operations (x86 only, under
 *               GEMM_X86)
 * GEMM_MR, GEMM_KC, GEMM_MC and gemm_job come from gemm.c. The end of this
 * file undefines the parameters above. */

/* ---- packing ---- */

/* A[i0 .. i0+m) x [p0 .. p0+kc) as panels of GEMM_MR rows, each stored
 * k-major (the MR values of one k together, what the micro-kernel
 * broadcasts); rows past m are zeros, so edge tiles run the same code. */
static void GN(pack_a)(const GT *a, size_t lda, size_t m, size_t kc, GT *restrict out)
{
    for (size_t i = 0; i < m; i += GEMM_MR) {
        size_t mr = m - i < GEMM_MR ? m - i : GEMM_MR;
        const GT *src = a + i * lda;
        if (mr == GEMM_MR) {
            for (size_t k = 0; k < kc; k++)
                for (size_t r = 0; r < GEMM_MR; r++)
                    out[k * GEMM_MR + r] = src[r * lda + k];
        } else {
            for (size_t k = 0; k < kc; k++)
                for (size_t r = 0; r < GEMM_MR; r++)
                    out[k * GEMM_MR + r] = r < mr ? src[r * lda + k] : (GT)0;
        }
        out += kc * GEMM_MR;
    }
}

/* B[p0 .. p0+kc) x [j0 .. j0+n) as panels of GNR columns, each stored
 * k-major (one contiguous row of GNR per k), panel p at out + p kc GNR;
 * columns past n are zeros. Row by row, so B is read sequentially. */
static void GN(pack_b)(const GT *b, size_t ldb, size_t n, size_t kc, GT *restrict out)
{
    size_t full = n / GNR * GNR;
    for (size_t k = 0; k < kc; k++) {
        const GT *row = b + k * ldb;
        for (size_t j = 0; j < full; j += GNR) {
            GT *dst = out + j * kc + k * GNR;
            for (size_t c = 0; c < GNR; c++)
                dst[c] = row[j + c];
        }
        if (full < n) {
            GT *dst = out + full * kc + k * GNR;
            for (size_t c = 0; c < GNR; c++)
                dst[c] = full + c < n ? row[full + c] : (GT)0;
        }
    }
}

/* ---- micro-kernels: a GEMM_MR x GNR tile of C from packed panels ---- */

/* c = alpha * (ap . bp) + beta * c, or alpha * (ap . bp) when !read (C
 * not read at all: a NaN there does not propagate, as BLAS with beta 0).
 * The portable version, in 16-byte vectors of the compiler's (SSE2,
 * NEON): half a tile at a time, 6 rows x 2 vectors, so that the 12
 * accumulators stay in 16 registers (a plain array of them goes through
 * the stack on every k: 25 times slower). Separate multiply and add:
 * ISO C mode does not fuse them. */
typedef GT GN(vec) __attribute__((vector_size(16)));
enum { GN(VN) = 16 / sizeof(GT) };

#define GEMM_GROW(r) \
    do { \
        GT av_ = a[(r)]; \
        c##r##0 += b0 * av_; \
        c##r##1 += b1 * av_; \
    } while (0)
#define GEMM_GSTORE1(r, x, off) \
    do { \
        GT *p_ = c + (r) * ldc + h + (off); \
        GN(vec) v_ = x * alpha; \
        if (read) { \
            GN(vec) o_; \
            memcpy(&o_, p_, sizeof o_); \
            v_ += o_ * beta; \
        } \
        memcpy(p_, &v_, sizeof v_); \
    } while (0)
#define GEMM_GSTORE(r) \
    do { \
        GEMM_GSTORE1(r, c##r##0, 0); \
        GEMM_GSTORE1(r, c##r##1, GN(VN)); \
    } while (0)

static void GN(micro_generic)(size_t kc, const GT *restrict ap, const GT *restrict bp, GT *c,
                              size_t ldc, GT alpha, GT beta, int read)
{
    for (size_t h = 0; h < GNR; h += 2 * GN(VN)) {
        GN(vec) c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
        GN(vec) c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
        const GT *a = ap, *b = bp + h;
        for (size_t k = 0; k < kc; k++) {
            GN(vec) b0, b1;
            memcpy(&b0, b, sizeof b0);
            memcpy(&b1, b + GN(VN), sizeof b1);
            GEMM_GROW(0);
            GEMM_GROW(1);
            GEMM_GROW(2);
            GEMM_GROW(3);
            GEMM_GROW(4);
            GEMM_GROW(5);
            a += GEMM_MR;
            b += GNR;
        }
        GEMM_GSTORE(0);
        GEMM_GSTORE(1);
        GEMM_GSTORE(2);
        GEMM_GSTORE(3);
        GEMM_GSTORE(4);
        GEMM_GSTORE(5);
    }
}
#undef GEMM_GROW
#undef GEMM_GSTORE1
#undef GEMM_GSTORE

#ifdef GEMM_X86
/* The AVX2+FMA version: 12 vector accumulators (6 rows x 2 vectors), two
 * loads of B and six broadcasts of A per k: 12 FMAs from 15 registers,
 * the shape that keeps both FMA pipes of a Haswell or Zen core busy. */
#define GEMM_ROW_FMA(r, o) \
    do { \
        GV av_ = GV_BCAST(ap + (o) * GEMM_MR + (r)); \
        c##r##0 = GV_FMA(av_, b0, c##r##0); \
        c##r##1 = GV_FMA(av_, b1, c##r##1); \
    } while (0)
#define GEMM_K_STEP(o) \
    do { \
        GV b0 = GV_LOAD(bp + (o) * GNR), b1 = GV_LOAD(bp + (o) * GNR + GNR / 2); \
        GEMM_ROW_FMA(0, o); \
        GEMM_ROW_FMA(1, o); \
        GEMM_ROW_FMA(2, o); \
        GEMM_ROW_FMA(3, o); \
        GEMM_ROW_FMA(4, o); \
        GEMM_ROW_FMA(5, o); \
    } while (0)
#define GEMM_ROW_STORE(r) \
    do { \
        GT *cr_ = c + (r) * ldc; \
        if (read) { \
            GV_STOREU(cr_, GV_FMA(va, c##r##0, GV_MUL(vb, GV_LOADU(cr_)))); \
            GV_STOREU(cr_ + GNR / 2, GV_FMA(va, c##r##1, GV_MUL(vb, GV_LOADU(cr_ + GNR / 2)))); \
        } else { \
            GV_STOREU(cr_, GV_MUL(va, c##r##0)); \
            GV_STOREU(cr_ + GNR / 2, GV_MUL(va, c##r##1)); \
        } \
    } while (0)

__attribute__((target("avx2,fma"))) static void
GN(micro_avx2)(size_t kc, const GT *restrict ap, const GT *restrict bp, GT *c, size_t ldc,
               GT alpha, GT beta, int read)
{
    GV c00 = GV_ZERO(), c01 = GV_ZERO(), c10 = GV_ZERO(), c11 = GV_ZERO();
    GV c20 = GV_ZERO(), c21 = GV_ZERO(), c30 = GV_ZERO(), c31 = GV_ZERO();
    GV c40 = GV_ZERO(), c41 = GV_ZERO(), c50 = GV_ZERO(), c51 = GV_ZERO();

    /* C's rows are far apart (ldc): start fetching them now, so that the
     * update after the loop does not wait for memory. */
    for (size_t r = 0; r < GEMM_MR; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + GNR - 1), _MM_HINT_T0);
    }
    size_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        GEMM_K_STEP(0);
        GEMM_K_STEP(1);
        GEMM_K_STEP(2);
        GEMM_K_STEP(3);
        ap += 4 * GEMM_MR;
        bp += 4 * GNR;
    }
    for (; k < kc; k++) {
        GEMM_K_STEP(0);
        ap += GEMM_MR;
        bp += GNR;
    }
    GV va = GV_SET1(alpha), vb = GV_SET1(beta);
    GEMM_ROW_STORE(0);
    GEMM_ROW_STORE(1);
    GEMM_ROW_STORE(2);
    GEMM_ROW_STORE(3);
    GEMM_ROW_STORE(4);
    GEMM_ROW_STORE(5);
}
#undef GEMM_ROW_FMA
#undef GEMM_K_STEP
#undef GEMM_ROW_STORE
#endif

#ifdef GEMM_X86
#define GEMM_FAST GN(micro_avx2)
#else
#define GEMM_FAST GN(micro_generic)
#endif

typedef void (*GN(micro_fn))(size_t kc, const GT *restrict ap, const GT *restrict bp, GT *c,
                             size_t ldc, GT alpha, GT beta, int read);

/* ---- one tile of C ---- */

/* A partial micro-tile (m < MR rows or n < NR columns at C's edges) goes
 * through a full-size copy, so it takes the same arithmetic as the rest. */
static void GN(micro_edge)(GN(micro_fn) micro, size_t kc, const GT *ap, const GT *bp, GT *c,
                           size_t ldc, size_t m, size_t n, GT alpha, GT beta, int read)
{
    GT t[GEMM_MR * GNR];
    for (size_t r = 0; r < GEMM_MR; r++)
        for (size_t j = 0; j < GNR; j++)
            t[r * GNR + j] = read && r < m && j < n ? c[r * ldc + j] : (GT)0;
    micro(kc, ap, bp, t, GNR, alpha, beta, read);
    for (size_t r = 0; r < m; r++)
        for (size_t j = 0; j < n; j++)
            c[r * ldc + j] = t[r * GNR + j];
}

/* Chunk t of the current phase's packing: GEMM_PACK_PANELS panels of
 * A's block (rows [i0, i0+mb) x k [p0, p0+kc)) for the first chunks, of
 * B's block (k [p0, p0+kc) x columns [j0, j0+nc)) for the others. */
static void GN(pack_chunk)(const gemm_job *g, size_t t)
{
    const GT *a = g->a, *b = g->b;
    if (t < g->pack_a_chunks) {
        size_t i = t * GEMM_PACK_PANELS * GEMM_MR;
        size_t m = g->mb - i < GEMM_PACK_PANELS * GEMM_MR ? g->mb - i : GEMM_PACK_PANELS * GEMM_MR;
        GN(pack_a)(a + (g->i0 + i) * g->k + g->p0, g->k, m, g->kc, (GT *)g->ap + i * g->kc);
    } else {
        size_t j = (t - g->pack_a_chunks) * GEMM_PACK_PANELS * GNR;
        size_t n = g->nc - j < GEMM_PACK_PANELS * GNR ? g->nc - j : GEMM_PACK_PANELS * GNR;
        GN(pack_b)(b + g->p0 * g->n + g->j0 + j, g->n, n, g->kc, (GT *)g->bp + j * g->kc);
    }
}

/* Chunk t of the current phase's product: rows [GEMM_MC t', +GEMM_MC) x
 * columns [GEMM_TN t'', +GEMM_TN) of C's block, from the packed A and B.
 * The first k block applies beta (or leaves C unread when beta is 0), the
 * next ones add into C; so every element sees the same operations in the
 * same order whichever chunk and thread computes it. */
static void GN(product_chunk)(const gemm_job *g, size_t t)
{
    size_t it = t / g->tiles_n * GEMM_MC, jt = t % g->tiles_n * GEMM_TN;
    size_t mc = g->mb - it < GEMM_MC ? g->mb - it : GEMM_MC;
    size_t n = g->nc - jt < GEMM_TN ? g->nc - jt : GEMM_TN;
    const GT *ap = (const GT *)g->ap + it * g->kc, *bp = g->bp;
    GT *c = (GT *)g->c + (g->i0 + it) * g->n + g->j0;
    const GT alpha = (GT)g->alpha;
    int first = g->p0 == 0;
    const GT bk = first ? (GT)g->beta : (GT)1;
    int read = !first || g->beta != 0;
    GN(micro_fn) micro = g->avx2 ? GEMM_FAST : GN(micro_generic);

    for (size_t jr = jt; jr < jt + n; jr += GNR) {
        size_t nr = jt + n - jr < GNR ? jt + n - jr : GNR;
        const GT *bpan = bp + jr * g->kc;
        for (size_t ir = 0; ir < mc; ir += GEMM_MR) {
            size_t mr = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
            const GT *apan = ap + ir * g->kc;
            GT *cc = c + ir * g->n + jr;
            if (mr == GEMM_MR && nr == GNR)
                micro(g->kc, apan, bpan, cc, g->n, alpha, bk, read);
            else
                GN(micro_edge)(micro, g->kc, apan, bpan, cc, g->n, mr, nr, alpha, bk, read);
        }
    }
}

#undef GEMM_FAST
/* The template's parameters end with it: the next instantiation defines
 * them anew. */
#undef GT
#undef GN
#undef GNR
#undef GV
#undef GV_LOAD
#undef GV_LOADU
#undef GV_STOREU
#undef GV_FMA
#undef GV_MUL
#undef GV_BCAST
#undef GV_SET1
#undef GV_ZERO
