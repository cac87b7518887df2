/* saxpy.cl -- y[i] = a * x[i] + y[i]. Both buffers have the launch size
 * (count rule GLOBAL), so every work item is in range. */
__kernel void saxpy(__global const float *x, __global float *y, const float a)
{
    size_t i = get_global_id(0);

    y[i] = a * x[i] + y[i];
}
