/* kernels_gemm_omp.c — the hand-written OpenMP sgemm the gemm case measures fronta against: Goto/BLIS blocking with packed A and B, a register-blocked micro-kernel (an AVX2+FMA build where the CPU has it), blocks of rows over the threads. */
#include <omp.h>
#include <stdlib.h>

#include "kernels_gemm.h"

/* The micro-kernel keeps an MR x NR tile of C in registers, NR two
 * vectors wide: 12 accumulators, two vectors of B and one broadcast of A
 * are 15 of the 16 vector registers x86-64 has, SSE or AVX. */
#define MR 6
#define NR_SSE 8
#define NR_AVX2 16
#define NR_MAX NR_AVX2
/* A packed KC x NR panel of B (16 KiB) stays in L1 while the MC rows of
 * an A block pass over it; the packed MC x KC block of A (96 KiB) stays
 * in L2 while the NC columns of B pass; the KC x NC block of B (1 MiB)
 * is shared by the threads from L3. */
#define KC 256
#define MC 96
#define NC 1024

/* c (ldc apart) = (first ? 0 : c) + ap . bp over kc, for the mr x nc top
 * left of the tile. ap: kc groups of MR (k-major), bp: kc rows of NR. */
typedef void (*micro_fn)(size_t kc, const float *restrict ap, const float *restrict bp,
                         float *c, size_t ldc, size_t mr, size_t nc, int first);

/* The tile t (nr wide) into c, where it is partial (C's edges). */
static void store_tile(const float *t, size_t nr, float *c, size_t ldc, size_t mr, size_t nc,
                       int first)
{
    for (size_t r = 0; r < mr; r++)
        for (size_t j = 0; j < nc; j++)
            c[r * ldc + j] = first ? t[r * nr + j] : c[r * ldc + j] + t[r * nr + j];
}

/* The portable build: plain loops the compiler vectorises over j (SSE2
 * on x86-64), for machines without AVX2. */
static void micro_sse(size_t kc, const float *restrict ap, const float *restrict bp, float *c,
                      size_t ldc, size_t mr, size_t nc, int first)
{
    float acc[MR][NR_SSE] = {{0}};

    for (size_t kk = 0; kk < kc; kk++) {
        const float *restrict brow = bp + kk * NR_SSE;
        for (int r = 0; r < MR; r++) {
            float av = ap[kk * MR + r];
            for (int j = 0; j < NR_SSE; j++)
                acc[r][j] += av * brow[j];
        }
    }
    store_tile(&acc[0][0], NR_SSE, c, ldc, mr, nc, first);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The AVX2+FMA build, in intrinsics: the compiler does not keep a plain
 * 6 x 16 accumulator array in registers (it round-trips it through the
 * stack on every k), and ISO C mode does not let gcc fuse a * b + c. Per
 * k: two loads of B, six broadcasts of A, twelve FMAs. */
#define ROW_FMA(r)                                                                 \
    do {                                                                           \
        __m256 av_ = _mm256_broadcast_ss(ap + (r));                                \
        c##r##0 = _mm256_fmadd_ps(av_, b0, c##r##0);                               \
        c##r##1 = _mm256_fmadd_ps(av_, b1, c##r##1);                               \
    } while (0)
#define ROW_STORE(r, dst, ld, add)                                                 \
    do {                                                                           \
        float *d_ = (dst) + (r) * (ld);                                            \
        __m256 v0_ = c##r##0, v1_ = c##r##1;                                       \
        if (add) {                                                                 \
            v0_ = _mm256_add_ps(v0_, _mm256_loadu_ps(d_));                         \
            v1_ = _mm256_add_ps(v1_, _mm256_loadu_ps(d_ + 8));                     \
        }                                                                          \
        _mm256_storeu_ps(d_, v0_);                                                 \
        _mm256_storeu_ps(d_ + 8, v1_);                                             \
    } while (0)
#define TILE_STORE(dst, ld, add)                                                   \
    do {                                                                           \
        ROW_STORE(0, dst, ld, add);                                                \
        ROW_STORE(1, dst, ld, add);                                                \
        ROW_STORE(2, dst, ld, add);                                                \
        ROW_STORE(3, dst, ld, add);                                                \
        ROW_STORE(4, dst, ld, add);                                                \
        ROW_STORE(5, dst, ld, add);                                                \
    } while (0)

__attribute__((target("avx2,fma"))) static void
micro_avx2(size_t kc, const float *restrict ap, const float *restrict bp, float *c, size_t ldc,
           size_t mr, size_t nc, int first)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;

    for (size_t kk = 0; kk < kc; kk++) {
        __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
        ROW_FMA(0);
        ROW_FMA(1);
        ROW_FMA(2);
        ROW_FMA(3);
        ROW_FMA(4);
        ROW_FMA(5);
        ap += MR;
        bp += NR_AVX2;
    }
    if (mr == MR && nc == NR_AVX2) {
        TILE_STORE(c, ldc, !first);
    } else {
        /* C's edges go through a full tile: one kernel for every shape. */
        float t[MR * NR_AVX2];
        TILE_STORE(t, NR_AVX2, 0);
        store_tile(t, NR_AVX2, c, ldc, mr, nc, first);
    }
}
#undef ROW_FMA
#undef ROW_STORE
#undef TILE_STORE

static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define micro_avx2 micro_sse
static int have_avx2(void)
{
    return 0;
}
#endif

/* ---- packing ----------------------------------------------------------- */

/* B[p0 .. p0+kc) x [j0 .. j0+nc) as panels of nr columns, each kc rows of
 * nr, zero-padded past column nc: the micro-kernel reads it with unit
 * stride. One panel per call, so the threads share the packing. */
static void pack_b_panel(const float *b, size_t ldb, size_t kc, size_t nc, size_t nr,
                         size_t jr, float *restrict out)
{
    out += jr * kc;
    for (size_t kk = 0; kk < kc; kk++)
        for (size_t j = 0; j < nr; j++)
            out[kk * nr + j] = jr + j < nc ? b[kk * ldb + jr + j] : 0.0f;
}

/* A[i0 .. i0+mc) x [p0 .. p0+kc) as panels of MR rows, each kc groups of
 * MR (what the micro-kernel broadcasts), zero rows past mc. */
static void pack_a(const float *a, size_t lda, size_t mc, size_t kc, float *restrict out)
{
    for (size_t i = 0; i < mc; i += MR, out += kc * MR)
        for (size_t kk = 0; kk < kc; kk++)
            for (size_t r = 0; r < MR; r++)
                out[kk * MR + r] = i + r < mc ? a[(i + r) * lda + kk] : 0.0f;
}

/* ---- the blocked product ----------------------------------------------- */

typedef struct job {
    size_t m, n, k, nr;
    const float *a, *b;
    float *c, *bp, *ap; /* ap: one MC x KC block per thread */
    micro_fn micro;
} job_t;

/* The MC-row block ic of C, columns [jc, jc + nc), from the packed B
 * block of the inner slice [pc, pc + kc). */
static void block(const job_t *g, float *ap, size_t ic, size_t jc, size_t nc, size_t pc,
                  size_t kc)
{
    size_t mc = g->m - ic < MC ? g->m - ic : MC;

    pack_a(g->a + ic * g->k + pc, g->k, mc, kc, ap);
    for (size_t jr = 0; jr < nc; jr += g->nr) {
        size_t ncr = nc - jr < g->nr ? nc - jr : g->nr;
        for (size_t ir = 0; ir < mc; ir += MR) {
            size_t mr = mc - ir < MR ? mc - ir : MR;
            g->micro(kc, ap + ir * kc, g->bp + jr * kc, g->c + (ic + ir) * g->n + jc + jr,
                     g->n, mr, ncr, pc == 0);
        }
    }
}

/* Inside the team: for each block of B, pack it together, then share out
 * the row blocks. Each loop's implicit barrier keeps the packed B whole
 * while it is read and unread while it is repacked. */
static void team(const job_t *g)
{
    float *ap = g->ap + (size_t)omp_get_thread_num() * MC * KC;
    size_t nblocks = (g->m + MC - 1) / MC;

    for (size_t jc = 0; jc < g->n; jc += NC) {
        size_t nc = g->n - jc < NC ? g->n - jc : NC, np = (nc + g->nr - 1) / g->nr;
        for (size_t pc = 0; pc < g->k; pc += KC) {
            size_t kc = g->k - pc < KC ? g->k - pc : KC;
#pragma omp for schedule(static)
            for (size_t p = 0; p < np; p++)
                pack_b_panel(g->b + pc * g->n + jc, g->n, kc, nc, g->nr, p * g->nr, g->bp);
            /* Dynamic: the last block may be short, and on a shared
             * machine a descheduled thread takes fewer blocks. */
#pragma omp for schedule(dynamic, 1)
            for (size_t blk = 0; blk < nblocks; blk++)
                block(g, ap, blk * MC, jc, nc, pc, kc);
        }
    }
}

int gemm_omp(int threads, size_t m, size_t n, size_t k, const float *a, const float *b,
             float *c)
{
    int avx2 = have_avx2();
    job_t g = {.m = m, .n = n, .k = k, .nr = avx2 ? NR_AVX2 : NR_SSE, .a = a, .b = b,
               .c = c, .micro = avx2 ? micro_avx2 : micro_sse};

    if (k == 0) {
        for (size_t i = 0; i < m * n; i++)
            c[i] = 0.0f;
        return 0;
    }
    if (threads < 1)
        threads = 1;
    /* Both packing buffers before the team, so that no thread can fail
     * alone between barriers. */
    g.bp = kb_alloc((size_t)KC * (NC + NR_MAX), sizeof(float));
    g.ap = kb_alloc((size_t)threads * MC * KC, sizeof(float));
    if (g.bp && g.ap) {
#pragma omp parallel num_threads(threads)
        team(&g);
    }
    int rc = g.bp && g.ap ? 0 : -1;
    free(g.bp);
    free(g.ap);
    return rc;
}
