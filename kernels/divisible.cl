/* divisible.cl -- m[i] = d != 0 and x[i] % d == 0 for the variant's INT
 * type T0 (d of the same type). A % by 0 is undefined and INT_MIN % -1
 * traps on PoCL's idiv: the divisor is made 1 for both (-1 divides
 * everything; 0 nothing, which the d != 0 says). The launch is exactly the
 * buffers' count. */
__kernel void ew_divisible_by(__global const T0 *x, const T0 d, __global uchar *m)
{
    size_t i = get_global_id(0);
    T0 e = d == 0 || d == -1 ? (T0)1 : d;

    m[i] = d != 0 && x[i] % e == 0;
}
