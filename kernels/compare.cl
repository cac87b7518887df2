/* compare.cl -- m[i] = a[i] op b[i] as a uint8 mask: the op is the
 * kernel's -DOP_* option (eq, ne, lt, le, gt, ge), the type T0 the
 * variant's. A scalar comparison is 0 or 1, and false on a NaN operand
 * except for != (IEEE). The launch is exactly the buffers' count. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#if defined(OP_EQ)
#define EW_CMP(x, y) ((x) == (y))
#elif defined(OP_NE)
#define EW_CMP(x, y) ((x) != (y))
#elif defined(OP_LT)
#define EW_CMP(x, y) ((x) < (y))
#elif defined(OP_LE)
#define EW_CMP(x, y) ((x) <= (y))
#elif defined(OP_GT)
#define EW_CMP(x, y) ((x) > (y))
#elif defined(OP_GE)
#define EW_CMP(x, y) ((x) >= (y))
#else
#error "compare.cl needs one of -DOP_EQ, -DOP_NE, -DOP_LT, -DOP_LE, -DOP_GT, -DOP_GE"
#endif

__kernel void ew_compare(__global const T0 *a, __global const T0 *b, __global uchar *m)
{
    size_t i = get_global_id(0);

    m[i] = (uchar)EW_CMP(a[i], b[i]);
}
