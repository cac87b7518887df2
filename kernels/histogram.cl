/* histogram.cl -- h[b] = how many x fall in bin b of nb = count(h) equal
 * bins over [lo, hi), built per element type (T0, U0, K0, S0) with the
 * bin formula of histogram.c, so both give the same bins. Two passes over
 * at most 128 work-groups of 256, over the tiles of reduce.cl (16
 * consecutive elements per item, a contiguous block of tiles per group):
 *   nb <= 4096: pass 0 counts each group's elements into local memory
 *     (local atomics, flushed to the group's own uint64 slice of scratch
 *     every 2^31 elements, so no local count overflows), pass 1 sums the
 *     slices into h;
 *   more bins: pass 0 zeroes h, pass 1 counts into h itself, each int64
 *     bin as two 32-bit words: the increment that wraps the low word
 *     carries into the high one, so counts are exact without 64-bit
 *     atomics. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
/* (v - lo) * scale must stay two roundings, as in C. */
#pragma OPENCL FP_CONTRACT OFF

#define WG 256
#define LOCAL_BINS 4096
#define RUN 16
#define TILE (WG * RUN)
#define ROUND_TILES (1ul << 19) /* x 4096: 2^31 elements a group, no uint count overflows */
#define NONE ((ulong)-1)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#if K0 == 2
typedef T0 param_t; /* floats: nb / (hi - lo), in the element type */

param_t bin_param(T0 lo, T0 hi, ulong nb)
{
    return CAT(CAT(convert_, T0), _rte)(nb) / (hi - lo);
}

/* floor((v - lo) * scale), clamped to nb - 1 (rounding can reach nb). */
ulong bin_of(T0 v, T0 lo, T0 hi, ulong nb, param_t scale)
{
    if (!(v >= lo && v < hi))
        return NONE;
    T0 t = (v - lo) * scale;
    ulong b = t < CAT(CAT(convert_, T0), _rte)(nb) ? CAT(convert_ulong, _rtz)(t) : nb - 1;
    return b < nb ? b : nb - 1;
}
#else
typedef ulong param_t; /* integers: hi - lo, in unsigned */

param_t bin_param(T0 lo, T0 hi, ulong nb)
{
    return (ulong)((U0)hi - (U0)lo);
}

/* floor(a * b / c) for a < c, exactly: in 64 bits when c * b fits, else
 * by long division of the 128-bit product (the quotient is below b). */
ulong muldiv(ulong a, ulong b, ulong c)
{
    if (mul_hi(c, b) == 0)
        return a * b / c;
    ulong lo = a * b, r = mul_hi(a, b), q = 0;
    for (int k = 63; k >= 0; k--) {
        ulong top = r >> 63;
        r = (r << 1) | ((lo >> k) & 1ul);
        q <<= 1;
        if (top || r >= c) {
            r -= c;
            q |= 1ul;
        }
    }
    return q;
}

/* floor((v - lo) * nb / (hi - lo)), exactly. */
ulong bin_of(T0 v, T0 lo, T0 hi, ulong nb, param_t width)
{
    if (v < lo || v >= hi)
        return NONE;
    return muldiv((ulong)((U0)v - (U0)lo), nb, width);
}
#endif

/* h[b] as 32-bit words, for the atomics of many bins. */
#ifdef __ENDIAN_LITTLE__
#define LO_WORD(b) (2 * (b))
#define HI_WORD(b) (2 * (b) + 1)
#else
#define LO_WORD(b) (2 * (b) + 1)
#define HI_WORD(b) (2 * (b))
#endif

/* One item's run of tile t: into the group's local counts (few bins) or
 * into h's words (many). */
void count_run(__global const T0 *x, ulong i, ulong n, T0 lo, T0 hi, ulong nb, param_t p,
               __local uint *lh, volatile __global uint *w)
{
    for (uint k = 0; k < RUN && i + k < n; k++) {
        ulong b = bin_of(x[i + k], lo, hi, nb, p);
        if (b == NONE)
            continue;
        if (nb <= LOCAL_BINS)
            atomic_inc(&lh[b]);
        else if (atomic_inc(&w[LO_WORD(b)]) == 0xffffffffu)
            atomic_inc(&w[HI_WORD(b)]);
    }
}

/* The counting pass (pass 0 with few bins, pass 1 with many) walks the
 * group's block tile by tile, as reduce.cl does; with few bins every
 * ROUND_TILES tiles, and at the end, each item adds its bins (l, l + WG,
 * ...) of the local counts to the group's slice and clears them. The
 * barriers are reached by the whole group outside any branch on the pass
 * (PoCL 3.1 miscompiles barriers under an if / else-if chain). The other
 * pass: few bins, h = the sum of the slices; many, h = 0. */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_histogram(__global const T0 *x, __global long *h, T2 lo, T3 hi, ulong rows, ulong cols,
                 ulong nx, ulong nb, __global uchar *scratch, uint pass)
{
    __local uint lh[LOCAL_BINS];
    uint l = (uint)get_local_id(0), g = (uint)get_group_id(0);
    uint ng = (uint)get_num_groups(0);
    ulong n = rows * cols, ntiles = (n + TILE - 1) / TILE;
    ulong per = (ntiles + ng - 1) / ng, t0 = min((ulong)g * per, ntiles);
    int few = nb <= LOCAL_BINS, counting = few ? pass == 0 : pass == 1;
    ulong steps = counting ? min(t0 + per, ntiles) - t0 : 0;
    __global ulong *slices = (__global ulong *)scratch, *slice = slices + (few ? g * nb : 0);
    param_t p = bin_param(lo, hi, nb);

    if (counting && few)
        for (ulong b = l; b < nb; b += WG)
            slice[b] = lh[b] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (ulong st = 0; st < steps; st++) {
        count_run(x, (t0 + st) * TILE + (ulong)l * RUN, n, lo, hi, nb, p, lh,
                  (volatile __global uint *)h);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (few && ((st + 1) % ROUND_TILES == 0 || st + 1 == steps))
            for (ulong b = l; b < nb; b += WG) {
                slice[b] += lh[b];
                lh[b] = 0;
            }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (counting)
        return;
    ulong stride = (ulong)ng * WG;
    for (ulong b = get_global_id(0); b < nb; b += stride) {
        ulong s = 0;
        for (uint k = 0; few && k < ng; k++)
            s += slices[(ulong)k * nb + b];
        h[b] = (long)s;
    }
}
