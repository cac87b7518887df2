/* portable.cl -- sum_portable, min_portable and max_portable: the tree
 * portable.c computes on the pool, operation for operation, so that the
 * pool and every OpenCL device give the same bits (built per element type,
 * T0 U0 K0 S0, and per operation, FRONTA_PORTABLE_OP 0 sum, 1 min, 2 max).
 *
 * The tree depends on n alone: blocks of 4096 elements; in a block, lane
 * j of 64 folds x[64 t + j], t = 0 .. 63, in order of t, then the lanes
 * meet by halves (j with j + 32, then j + 16, ...); the blocks' partials
 * meet in a pairwise tree in index order (i with i + w, w = 1, 2, 4 ...),
 * 16 blocks (a super-block) per item of scratch in pass 0, the
 * super-blocks' partials in one work-group in pass 1. Sums only add (no
 * product: nothing to contract), and OpenCL's + is correctly rounded.
 *
 * Every barrier is reached by the whole group through uniform loops, none
 * under a branch on the pass, and no item returns before one (PoCL 3.1
 * miscompiles both, docs/kernels.md). */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#pragma OPENCL FP_CONTRACT OFF

#define LANES 64
#define BLOCK 4096
#define SB_BLOCKS 16
#define SB ((ulong)BLOCK * SB_BLOCKS)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#if FRONTA_PORTABLE_OP == 0 && K0 != 2
/* Integer sums wrap in the unsigned twin; back to T0 bit for bit. */
#define ACC U0
#define ID ((U0)0)
#define OP(a, v) ((a) + (ACC)(v))
#define STORE(v) CAT(as_, T0)(v)
#elif FRONTA_PORTABLE_OP == 0
#define ACC T0
#define ID ((T0)(-0.0f)) /* the additive identity: keeps a sum of -0s -0 */
#define OP(a, v) ((a) + (v))
#define STORE(v) (v)
#elif K0 == 2
/* min and max of floats in the order where -0 < +0, NaNs skipped: the
 * extreme of a set in a total order, whatever the tree. */
#define ACC T0
#define ID ((T0)NAN)
#if FRONTA_PORTABLE_OP == 1
#define TAKE(a, v) (isnan(a) || (v) < (a) || ((v) == (a) && signbit(v)))
#else
#define TAKE(a, v) (isnan(a) || (v) > (a) || ((v) == (a) && !signbit(v)))
#endif
#define OP(a, v) (TAKE(a, v) ? (v) : (a))
#define STORE(v) (v)
#else
#define ACC T0
#if FRONTA_PORTABLE_OP == 1
#define ID (S0 == 4 ? (T0)INT_MAX : (T0)LONG_MAX)
#define OP(a, v) min(a, v)
#else
#define ID (S0 == 4 ? (T0)INT_MIN : (T0)LONG_MIN)
#define OP(a, v) max(a, v)
#endif
#define STORE(v) (v)
#endif

__kernel __attribute__((reqd_work_group_size(LANES, 1, 1))) void
fronta_portable(__global const T0 *x, __global T0 *r, ulong rows, ulong cols, ulong nx,
                ulong nr, __global uchar *scratch, uint pass)
{
    __local ACC lane[SB_BLOCKS][LANES];
    __global ACC *part = (__global ACC *)scratch;
    uint l = (uint)get_local_id(0), g = (uint)get_group_id(0);
    uint ng = (uint)get_num_groups(0);
    ulong n = rows * cols, nsb = (n + SB - 1) / SB;
    /* Super-blocks g, g + ng, ...: which group takes one changes no bit. */
    ulong mine = pass == 0 && g < nsb ? (nsb - g + ng - 1) / ng : 0;

    for (ulong s = 0; s < mine; s++) {
        ulong sb = g + s * ng, b0 = sb * SB_BLOCKS;
        ulong nb = (n + BLOCK - 1) / BLOCK - b0;
        uint m = nb < SB_BLOCKS ? (uint)nb : SB_BLOCKS;
        /* Each lane of every block first, then the blocks' lane trees side
         * by side, one barrier per level. The barrier after each block
         * orders nothing: it makes a CPU device, which runs the items one
         * after another between barriers, stream the block (16 KiB) whole
         * rather than walk each item's lane across the super-block. */
        for (uint b = 0; b < m; b++) {
            ulong base = (b0 + b) * BLOCK + l;
            ACC a = ID;
            if ((b0 + b + 1) * BLOCK <= n) /* a whole block: no bound to check */
                for (uint t = 0; t < BLOCK / LANES; t++)
                    a = OP(a, x[base + (ulong)t * LANES]);
            else
                for (uint t = 0; t < BLOCK / LANES; t++)
                    if (base + (ulong)t * LANES < n)
                        a = OP(a, x[base + (ulong)t * LANES]);
            lane[b][l] = a;
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        for (uint w = LANES / 2; w > 0; w >>= 1) {
            for (uint b = 0; l < w && b < m; b++)
                lane[b][l] = OP(lane[b][l], lane[b][l + w]);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (l == 0) {
            for (uint w = 1; w < m; w *= 2)
                for (uint i = 0; i + w < m; i += 2 * w)
                    lane[i][0] = OP(lane[i][0], lane[i + w][0]);
            part[sb] = lane[0][0];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    /* Pass 1: group 0's items take the pairs of each level; the barrier
     * (global fence) publishes a level to the group before the next. */
    for (ulong w = 1; pass == 1 && w < nsb; w *= 2) {
        for (ulong i = (ulong)l * 2 * w; g == 0 && i + w < nsb; i += (ulong)LANES * 2 * w)
            part[i] = OP(part[i], part[i + w]);
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
    if (pass == 1 && g == 0 && l == 0)
        r[0] = STORE(part[0]);
}
