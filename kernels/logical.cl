/* logical.cl -- logical_and, logical_or, logical_not over uchar masks (0
 * false, anything else true), writing 0 or 1. One small source for the
 * three; the launch is exactly the buffers' count. */
__kernel void ew_logical_and(__global const uchar *a, __global const uchar *b,
                             __global uchar *m)
{
    size_t i = get_global_id(0);

    m[i] = a[i] != 0 && b[i] != 0;
}

__kernel void ew_logical_or(__global const uchar *a, __global const uchar *b,
                            __global uchar *m)
{
    size_t i = get_global_id(0);

    m[i] = (a[i] | b[i]) != 0;
}

__kernel void ew_logical_not(__global const uchar *a, __global uchar *m)
{
    size_t i = get_global_id(0);

    m[i] = a[i] == 0;
}
