/* count.cl -- the number of nonzero bytes of a mask, in two passes as in
 * reduce.cl (the same tiles, and the barrier between them that makes a
 * CPU device stream them, and no return before a barrier): each
 * work-group's count into scratch, then one group's sum of those into r.
 * Counts are integers: exact in any order. */
#define WG 256
#define RUN 16
#define TILE (WG * RUN)

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_count(__global const uchar *m, __global long *r, ulong rows, ulong cols, ulong nm,
             ulong nr, __global uchar *scratch, uint pass)
{
    __local ulong lds[WG];
    __global ulong *part = (__global ulong *)scratch;
    uint l = (uint)get_local_id(0), g = (uint)get_group_id(0);
    uint ng = (uint)get_num_groups(0);
    ulong n = rows * cols, ntiles = (n + TILE - 1) / TILE;
    ulong per = (ntiles + ng - 1) / ng, t0 = min((ulong)g * per, ntiles);
    ulong steps = pass == 0 ? min(t0 + per, ntiles) - t0 : 0, c = 0;

    for (ulong st = 0; st < steps; st++) {
        ulong i = (t0 + st) * TILE + (ulong)l * RUN;
        for (uint k = 0; k < RUN && i + k < n; k++)
            c += m[i + k] != 0;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (pass == 1) /* group 0 alone; the others fold nothing */
        for (uint k = l; g == 0 && k < ng; k += WG)
            c += part[k];
    lds[l] = c;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (l < s)
            lds[l] += lds[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0 && pass == 0)
        part[g] = lds[0];
    if (l == 0 && pass == 1 && g == 0)
        r[0] = (long)lds[0];
}
