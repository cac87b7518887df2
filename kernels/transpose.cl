/* transpose.cl — b (cols x rows) = a (rows x cols) transposed, any element type T0: a 16 x 16 work-group reads a tile of a row by row into local memory and writes it to b row by row, so that both sides are coalesced. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define TILE 16 /* the work-group side (cl_local) */

/* The launch is rows x cols rounded up to whole tiles: work items past
 * the edges load nothing and store nothing, but reach the barrier. */
__kernel __attribute__((reqd_work_group_size(TILE, TILE, 1))) void
transpose(__global const T0 *a, __global T0 *b, ulong rows, ulong cols, ulong na, ulong nb)
{
    /* One column of padding: the column reads of the second half fall in
     * distinct banks. */
    __local T0 tile[TILE][TILE + 1];
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    const ulong c0 = get_group_id(0) * (ulong)TILE, r0 = get_group_id(1) * (ulong)TILE;

    (void)nb;
    /* A vector's transpose is a copy: one element per work item, rather
     * than one row in 16 of the tiles busy. Every work item still reaches
     * the barrier (PoCL miscompiled an early return before it, although
     * rows and cols are the same for the whole launch). */
    const int vector = rows == 1 || cols == 1;
    ulong r = r0 + (ulong)ty, c = c0 + (ulong)tx;
    if (vector) {
        ulong i = get_global_id(1) * get_global_size(0) + get_global_id(0);
        if (i < na)
            b[i] = a[i];
    } else if (r < rows && c < cols) {
        tile[ty][tx] = a[r * cols + c];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    /* b's row c0 + ty, column r0 + tx, holds a[r0 + tx][c0 + ty]. */
    ulong br = c0 + (ulong)ty, bc = r0 + (ulong)tx;
    if (!vector && br < cols && bc < rows)
        b[br * rows + bc] = tile[tx][ty];
}
