/* scale.cl -- x[i] *= a. The launch size is the buffer's count (the
 * parameter's count rule is GLOBAL), so every work item is in range. */
__kernel void scale(__global float *x, const float a)
{
    size_t i = get_global_id(0);

    x[i] *= a;
}
