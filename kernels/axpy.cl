/* axpy.cl -- scale (x[i] *= a) and axpy (y[i] = a x[i] + y[i]) for the
 * variant's NUMERIC type T0, whose scalar kind is T0 too (int, long,
 * float, double), so both functions compile with either one's macros.
 * The launch is exactly the buffers' count. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* A rounded product then a rounded sum, as on the pool: an FMA would give
 * other bits. */
#pragma OPENCL FP_CONTRACT OFF

/* Through U0: integers wrap (signed overflow is undefined); for floats U0
 * is T0. */
__kernel void ew_scale(__global T0 *x, const T0 a)
{
    size_t i = get_global_id(0);

    x[i] = (T0)((U0)x[i] * (U0)a);
}

__kernel void ew_axpy(__global const T0 *x, __global T0 *y, const T0 a)
{
    size_t i = get_global_id(0);

    y[i] = (T0)((U0)a * (U0)x[i] + (U0)y[i]);
}
