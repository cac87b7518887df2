/* gemm.cl — C = alpha A B + beta C, row-major (T0: float or double): a 16 x 16 work-group computes a 128 x 128 tile of C (64 x 64 for double), 8 x 8 outputs per work item (4 x 4), through tiles of A and B 16 deep in local memory. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define WG 16           /* work-group side (cl_local) */
#define TK WG           /* k per step: one k per work item as the tiles load */
/* Outputs per work item along each dimension. More work per item is what
 * pays on PoCL (8 x 8: 3-4 times the GFLOP/s of 1 x 1 at 1024^2) and
 * keeps a GPU's loads from local memory at 2 per 8 FMAs; double stays at
 * 4 x 4 so that its two tiles fit 32 KiB of local memory (the least a
 * device may have) with room to spare. */
#ifdef FRONTA_FP64
#define WPT 4
#else
#define WPT 8
#endif
#define TS (WG * WPT)   /* tile of C per work-group */

/* The launch is rows x cols rounded up to 16 x 16 work items, one per
 * element of C, but a work-group covers a TS x TS tile: the groups past
 * the last tile run no k step and store nothing. They do not return
 * early: PoCL 3.1 miscompiled a kernel with a return before its barrier
 * (transpose.cl), even a uniform one. */
__kernel __attribute__((reqd_work_group_size(WG, WG, 1))) void
gemm(__global const T0 *A, __global const T0 *B, __global T0 *C, const T0 alpha,
     const T0 beta, ulong rows, ulong cols, ulong na, ulong nb, ulong nc)
{
    /* A's tile transposed ([k][row]), one column of padding so that the
     * transposing stores fall in distinct banks. */
    __local T0 As[TK][TS + 1];
    __local T0 Bs[TK][TS];
    const ulong k = na / rows;
    const ulong r0 = get_group_id(1) * (ulong)TS, c0 = get_group_id(0) * (ulong)TS;
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    T0 acc[WPT][WPT];

    (void)nb;
    (void)nc;
    /* Uniform over the work-group, so the barriers in the loop are too. */
    const ulong kend = r0 < rows && c0 < cols ? k : 0;
    for (int i = 0; i < WPT; i++)
        for (int j = 0; j < WPT; j++)
            acc[i][j] = 0;

    for (ulong k0 = 0; k0 < kend; k0 += TK) {
        for (int l = 0; l < WPT; l++) {
            ulong ar = r0 + (ulong)(ty + WG * l), ak = k0 + (ulong)tx;
            As[tx][ty + WG * l] = ar < rows && ak < k ? A[ar * k + ak] : (T0)0;
            ulong bk = k0 + (ulong)ty, bc = c0 + (ulong)(tx + WG * l);
            Bs[ty][tx + WG * l] = bk < k && bc < cols ? B[bk * cols + bc] : (T0)0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; kk++) {
            T0 b[WPT];
            for (int j = 0; j < WPT; j++)
                b[j] = Bs[kk][tx + WG * j];
            for (int i = 0; i < WPT; i++) {
                T0 a = As[kk][ty + WG * i];
                for (int j = 0; j < WPT; j++)
                    acc[i][j] += a * b[j];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < WPT; i++) {
        ulong r = r0 + (ulong)(ty + WG * i);
        if (r >= rows)
            break;
        for (int j = 0; j < WPT; j++) {
            ulong c = c0 + (ulong)(tx + WG * j);
            if (c < cols) {
                /* beta 0: C is not read, so a NaN there does not propagate. */
                T0 v = alpha * acc[i][j];
                C[r * cols + c] = beta == (T0)0 ? v : v + beta * C[r * cols + c];
            }
        }
    }
}
