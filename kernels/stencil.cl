/* stencil.cl — one Jacobi step of the 2-D 5-point stencil with a fixed boundary (T0: float or double), one work item per element. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
/* The order of evaluation is the contract, the same as the CPU
 * implementation's: no fused multiply-adds. */
#pragma OPENCL FP_CONTRACT OFF

/* The launch is rows x cols rounded up to work-groups of 256 x 1 (cl_local):
 * items past the edges return. Boundary rows and columns are copied. */
__kernel void stencil5(__global const T0 *a, __global T0 *b, const T0 c0, const T0 c1,
                       ulong rows, ulong cols, ulong na, ulong nb)
{
    const ulong j = get_global_id(0), i = get_global_id(1);

    (void)na;
    (void)nb;
    if (i >= rows || j >= cols)
        return;
    const ulong x = i * cols + j;
    if (i == 0 || j == 0 || i + 1 == rows || j + 1 == cols) {
        b[x] = a[x];
        return;
    }
    T0 s = a[x - cols] + a[x + cols];
    s = s + a[x - 1];
    s = s + a[x + 1];
    T0 p = c0 * a[x];
    T0 q = c1 * s;
    b[x] = p + q;
}
