/* compact.cl -- y = the x[i] whose mask m[i] is set, in index order, and
 * kept = how many; built per element type of x (T0). Three passes over
 * at most 128 work-groups of 256, each owning a contiguous block of tiles
 * of 2048 elements (8 consecutive per item): pass 0 counts each block's
 * set elements into scratch, pass 1 turns the counts into each block's
 * first place in y (and the total, kept), pass 2 scatters each block and
 * zeroes y past the total. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define WG 256
#define K 8
#define TILE (WG * K)

/* The inclusive scan of v over the work-group (Hillis-Steele, two
 * buffers); returns the buffer that holds it. Every item must call it.
 * The barriers fence global memory too: with y the same buffer as x, a
 * place one item writes may be one another item has just read. */
__local ulong *group_scan(__local ulong *a, __local ulong *b, ulong v, uint l)
{
    a[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    for (uint d = 1; d < WG; d <<= 1) {
        ulong t = a[l];
        if (l >= d)
            t += a[l - d];
        b[l] = t;
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
        __local ulong *s = a;
        a = b;
        b = s;
    }
    return a;
}

/* As in scan.cl, every pass is a uniform loop of group scans with no
 * barrier under a branch on the pass (PoCL 3.1 miscompiles that), a step
 * per tile so that a CPU device streams tiles whole:
 *   pass 0, a step per tile: the items' counts; the block's count is the
 *     tile totals added;
 *   pass 1, group 0, one step: the block counts; each becomes the count
 *     before its block, part[ng] the total;
 *   pass 2, a step per tile: each item reads its 8, the scan of their
 *     counts places them (its barriers separate every read from every
 *     write), and only places below ny are written; then y past the
 *     total is zeroed, and kept is the total.
 * With y the same buffer as x, blocks would overwrite what other groups
 * still read: group 0 then does all the tiles, in order, each writing at
 * or below what it reads. */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_compact(__global const T0 *x, __global const uchar *m, __global T0 *y,
               __global long *kept, ulong rows, ulong cols, ulong nx, ulong nm, ulong ny,
               ulong nkept, __global uchar *scratch, uint pass)
{
    __local ulong a[WG], b[WG];
    __global ulong *part = (__global ulong *)scratch;
    uint l = (uint)get_local_id(0), g = (uint)get_group_id(0);
    uint ng = (uint)get_num_groups(0);
    ulong n = rows * cols, ntiles = (n + TILE - 1) / TILE, per = (ntiles + ng - 1) / ng;
    ulong t0 = min((ulong)g * per, ntiles), t1 = min(t0 + per, ntiles);
    int alias = (__global const void *)x == (__global const void *)y;

    /* Group 0 alone in pass 1, and in pass 2 over y = x; the others run
     * no steps (no return before a barrier: PoCL 3.1 miscompiles it). */
    int idle = (pass == 1 || (pass == 2 && alias)) && g != 0;
    if (pass == 2 && alias) {
        t0 = 0;
        t1 = ntiles;
    }
    ulong own = pass == 1 && !idle && l < ng ? part[l] : 0;
    ulong pos0 = pass == 2 && !alias ? part[g] : 0;
    ulong steps = idle ? 0 : pass == 1 ? 1 : t1 - t0;
    for (ulong st = 0; st < steps; st++) {
        ulong base = (t0 + st) * TILE + (ulong)l * K;
        T0 v[K];
        uchar set[K];
        if (pass != 1) {
            own = 0;
            for (uint k = 0; k < K; k++) {
                set[k] = base + k < n && m[base + k] != 0;
                v[k] = set[k] && pass == 2 ? x[base + k] : (T0)0;
                own += set[k];
            }
        }
        __local ulong *s = group_scan(a, b, own, l);
        if (pass == 0)
            pos0 += s[WG - 1];
        if (pass == 1 && l < ng)
            part[l] = l ? s[l - 1] : 0;
        if (pass == 1 && l == 0)
            part[ng] = s[WG - 1];
        if (pass == 2) {
            ulong pos = pos0 + s[l] - own;
            for (uint k = 0; k < K; k++)
                if (set[k]) {
                    if (pos < ny)
                        y[pos] = v[k];
                    pos++;
                }
            pos0 += s[WG - 1];
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE); /* s: the next step's buffer */
    }
    if (pass == 0 && l == 0)
        part[g] = pos0;
    if (pass != 2 || idle)
        return;
    ulong from = part[ng] + (alias ? l : get_global_id(0));
    ulong step = alias ? WG : get_global_size(0);
    for (ulong j = from; j < ny; j += step)
        y[j] = (T0)0;
    /* Last, after every read of x: kept may be x's one element. */
    if (g == 0 && l == 0)
        kept[0] = (long)part[ng];
}
