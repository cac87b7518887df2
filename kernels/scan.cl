/* scan.cl -- inclusive and exclusive prefix sums, built per element type
 * (T0, U0, K0, S0), in three passes over at most 128 work-groups of 256:
 * each group owns a contiguous block of tiles of 2048 elements (8 per
 * item, consecutive); pass 0 sums each block into scratch, pass 1 turns
 * those sums into each block's offset, pass 2 scans each block tile by
 * tile from its offset. x and y may be the same buffer: each item reads
 * its 8 elements before it writes them, and no one else touches them. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define WG 256
#define K 8
#define TILE (WG * K)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#if K0 == 2
#define ACC T0
#define ZERO ((T0)(-0.0f)) /* the additive identity */
#define TO_T0(v) (v)
#else
#define ACC U0             /* integers wrap, in the unsigned twin */
#define ZERO ((U0)0)
#define TO_T0(v) CAT(as_, T0)(v)
#endif

/* The inclusive scan of v over the work-group, Hillis-Steele with two
 * buffers (one barrier per step, 8 steps); returns the buffer that holds
 * it. Every item must call it. */
__local ACC *group_scan(__local ACC *a, __local ACC *b, ACC v, uint l)
{
    a[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint d = 1; d < WG; d <<= 1) {
        ACC t = a[l];
        if (l >= d)
            t = a[l - d] + t;
        b[l] = t;
        barrier(CLK_LOCAL_MEM_FENCE);
        __local ACC *s = a;
        a = b;
        b = s;
    }
    return a;
}

/* Every pass is a uniform loop of group scans, with no barrier under a
 * branch on the pass (PoCL 3.1 miscompiles an if / else-if chain whose
 * branches hold barriers: a guarded store ran on every item) and no
 * return before one (a group with nothing to do runs zero steps), and a
 * step per tile, so that a CPU device streams tiles whole:
 *   pass 0, a step per tile: each item's 8 summed, the group's scan of
 *     those; the block's sum is the tile totals added in order;
 *   pass 1, group 0, one step: the block sums; each becomes the sum of
 *     the blocks before it (+0 for the first, so that an exclusive scan
 *     starts at 0, not -0);
 *   pass 2, a step per tile: each item's 8 in order, then the items'
 *     totals; y = (carry + items before) + the item's own prefix. */
void scan(__global const T0 *x, __global T0 *y, ulong n, __global uchar *scratch, uint pass,
          int ex, __local ACC *a, __local ACC *b)
{
    __global ACC *part = (__global ACC *)scratch;
    uint l = (uint)get_local_id(0), g = (uint)get_group_id(0);
    uint ng = (uint)get_num_groups(0);
    ulong ntiles = (n + TILE - 1) / TILE, per = (ntiles + ng - 1) / ng;
    ulong t0 = min((ulong)g * per, ntiles), t1 = min(t0 + per, ntiles);

    ACC own = pass == 1 && g == 0 && l < ng ? part[l] : ZERO;
    ACC carry = pass == 2 ? part[g] : ZERO;
    ulong steps = pass == 1 ? g == 0 : t1 - t0;
    for (ulong st = 0; st < steps; st++) {
        ulong base = (t0 + st) * TILE + (ulong)l * K;
        ACC p[K];
        if (pass != 1) {
            own = ZERO;
            for (uint k = 0; k < K; k++) {
                ACC v = base + k < n ? (ACC)x[base + k] : ZERO;
                p[k] = ex ? own : own + v;
                own += v;
            }
        }
        __local ACC *inc = group_scan(a, b, own, l);
        if (pass == 0)
            carry += inc[WG - 1];
        if (pass == 1 && l < ng)
            part[l] = l ? inc[l - 1] : (ACC)0;
        if (pass == 2) {
            ACC start = carry + (l ? inc[l - 1] : ZERO);
            for (uint k = 0; k < K; k++)
                if (base + k < n)
                    y[base + k] = TO_T0(start + p[k]);
            carry += inc[WG - 1];
        }
        barrier(CLK_LOCAL_MEM_FENCE); /* inc is the next step's first buffer */
    }
    if (pass == 0 && l == 0)
        part[g] = carry;
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_inclusive_scan(__global const T0 *x, __global T0 *y, ulong rows, ulong cols, ulong nx,
                      ulong ny, __global uchar *scratch, uint pass)
{
    __local ACC a[WG], b[WG];
    scan(x, y, rows * cols, scratch, pass, 0, a, b);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_exclusive_scan(__global const T0 *x, __global T0 *y, ulong rows, ulong cols, ulong nx,
                      ulong ny, __global uchar *scratch, uint pass)
{
    __local ACC a[WG], b[WG];
    scan(x, y, rows * cols, scratch, pass, 1, a, b);
}
