/* arith.cl -- c[i] = a[i] op b[i]: the op is the kernel's -DOP_* option
 * (add, sub, mul, div, minimum, maximum), the type T0 with its unsigned
 * twin U0 and kind K0 the variant's. The launch is exactly the buffers'
 * count (count rule GLOBAL), so every work item is in range. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#if K0 == 2
#define EW_DIV(x, y) ((x) / (y))
#define EW_MIN(x, y) fmin(x, y)
#define EW_MAX(x, y) fmax(x, y)
#else
/* Integer division by 0 is undefined in OpenCL C (PoCL's idiv traps), as
 * is INT_MIN / -1: 0 for the first, the wrapped negation for the second.
 * The divisor is made safe as well, so that a compiler that evaluates
 * both sides of the choice still never divides by either. */
#define EW_SAFE(y) ((y) == 0 || (y) == -1 ? (T0)1 : (y))
#define EW_DIV(x, y)                                                          \
    ((y) == 0 ? (T0)0 : (y) == -1 ? (T0)((U0)0 - (U0)(x)) : (x) / EW_SAFE(y))
#define EW_MIN(x, y) ((x) < (y) ? (x) : (y))
#define EW_MAX(x, y) ((x) > (y) ? (x) : (y))
#endif

__kernel void ew_arith(__global const T0 *a, __global const T0 *b, __global T0 *c)
{
    size_t i = get_global_id(0);
    T0 x = a[i], y = b[i];

    /* Through U0: signed overflow is undefined, unsigned wraps (for
     * floats U0 is T0). */
#if defined(OP_ADD)
    c[i] = (T0)((U0)x + (U0)y);
#elif defined(OP_SUB)
    c[i] = (T0)((U0)x - (U0)y);
#elif defined(OP_MUL)
    c[i] = (T0)((U0)x * (U0)y);
#elif defined(OP_DIV)
    c[i] = EW_DIV(x, y);
#elif defined(OP_MIN)
    c[i] = EW_MIN(x, y);
#elif defined(OP_MAX)
    c[i] = EW_MAX(x, y);
#else
#error "arith.cl needs one of -DOP_ADD, -DOP_SUB, -DOP_MUL, -DOP_DIV, -DOP_MIN, -DOP_MAX"
#endif
}
