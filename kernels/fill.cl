/* fill.cl -- fill (x[i] = v) and copy (y[i] = x[i]) for the variant's
 * types T0, T1 (fill's v is a scalar: int for a uchar array, whose low
 * byte the conversion keeps). One source: each function compiles with the
 * other's macros too. The launch is exactly the buffers' count. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

__kernel void ew_fill(__global T0 *x, const T1 v)
{
    x[get_global_id(0)] = (T0)v;
}

__kernel void ew_copy(__global const T0 *x, __global T1 *y)
{
    size_t i = get_global_id(0);

    y[i] = x[i];
}
