/* select.cl -- y[i] = m[i] ? a[i] : b[i], m a uint8 mask, a, b and y of
 * the variant's type T1. (Not named select: that is an OpenCL builtin.)
 * The launch is exactly the buffers' count. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

__kernel void ew_select(__global const uchar *m, __global const T1 *a, __global const T1 *b,
                        __global T1 *y)
{
    size_t i = get_global_id(0);

    y[i] = m[i] ? a[i] : b[i];
}
