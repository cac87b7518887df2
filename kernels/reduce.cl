/* reduce.cl -- sum, min, max and dot of one array, built per element type
 * (T0, U0, K0, S0): pass 0 folds each work-group's block into one partial
 * in scratch, pass 1 folds the partials in one work-group and writes r.
 * The launch is at most 128 groups of 256 (cl_local, cl_groups), fixed by
 * n alone, so the tree and the bits are the same on every run.
 *
 * Layout: tiles of 4096 elements, 16 consecutive ones per item; group g
 * owns a contiguous block of tiles and walks it tile by tile with a
 * barrier between tiles. The barrier orders nothing: it makes a CPU
 * device (PoCL), which runs the items of a group one after another
 * between barriers, stream each tile whole instead of walking one item's
 * elements across the block (6x slower there); a GPU reads each item's
 * 16 as wide loads. Every barrier is reached by the whole group outside
 * any branch on the pass, and no group returns before one (PoCL 3.1
 * miscompiles barriers under an if / else-if chain, and a return before
 * a barrier): a group with nothing to do runs the loops zero times. */
#ifdef FRONTA_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
/* dot's products are rounded before they are added, as on the CPU (and
 * as the stated bound counts them). */
#pragma OPENCL FP_CONTRACT OFF

#define WG 256

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

/* Sums accumulate floats in their type, integers in the unsigned twin
 * (wrapping); min and max keep the element type. */
#if K0 == 2
#define ACC T0
#define ZERO ((T0)(-0.0f)) /* the additive identity */
#define TO_T0(v) (v)
#define MIN_ID ((T0)NAN)   /* fmin(NaN, v) is v: NaN is only left when all are */
#define MAX_ID ((T0)NAN)
#define MIN2(a, b) fmin(a, b)
#define MAX2(a, b) fmax(a, b)
#else
#define ACC U0
#define ZERO ((U0)0)
#define TO_T0(v) CAT(as_, T0)(v) /* two's complement, bit for bit */
#if S0 == 4
#define MIN_ID INT_MAX
#define MAX_ID INT_MIN
#else
#define MIN_ID LONG_MAX
#define MAX_ID LONG_MIN
#endif
#define MIN2(a, b) min(a, b)
#define MAX2(a, b) max(a, b)
#endif
#define ADD2(a, b) ((a) + (b))

#define RUN 16
#define TILE (WG * RUN)

/* v folded over the work-group in lds by halves: 8 levels; lds[0] holds
 * the result. */
#define GROUP_TREE(lds, v, OP)                                                 \
    do {                                                                       \
        lds[l] = (v);                                                          \
        barrier(CLK_LOCAL_MEM_FENCE);                                          \
        for (uint s_ = WG / 2; s_ > 0; s_ >>= 1) {                             \
            if (l < s_)                                                        \
                lds[l] = OP(lds[l], lds[l + s_]);                              \
            barrier(CLK_LOCAL_MEM_FENCE);                                      \
        }                                                                      \
    } while (0)

/* The group's block, tiles [t0, t0 + steps); none in pass 1, where group
 * 0 alone folds the partials. */
#define PROLOGUE                                                               \
    uint l = (uint)get_local_id(0), g = (uint)get_group_id(0);                 \
    uint ng = (uint)get_num_groups(0);                                         \
    ulong n = rows * cols, ntiles = (n + TILE - 1) / TILE;                     \
    ulong per = (ntiles + ng - 1) / ng, t0 = min((ulong)g * per, ntiles);      \
    ulong steps = pass == 0 ? min(t0 + per, ntiles) - t0 : 0

/* Sums in blocks: a0 adds an item's run of 16, a1 16 a0's, a2 the
 * a1's -- at most 32 + m / 256 additions on an element's path for m
 * elements per item, where one running sum would have m. */
#define ITEM_SUM(OUT, TERM)                                                    \
    do {                                                                       \
        ACC a2 = ZERO, a1 = ZERO;                                              \
        for (ulong st = 0; st < steps; st++) {                                 \
            ulong i = (t0 + st) * TILE + (ulong)l * RUN;                       \
            ACC a0 = ZERO;                                                     \
            if (i + RUN <= n)                                                  \
                for (uint c_ = 0; c_ < RUN; c_++)                              \
                    a0 += TERM(i + c_);                                        \
            else                                                               \
                for (uint c_ = 0; i + c_ < n; c_++)                            \
                    a0 += TERM(i + c_);                                        \
            a1 += a0;                                                          \
            if ((st & 15) == 15) {                                             \
                a2 += a1;                                                      \
                a1 = ZERO;                                                     \
            }                                                                  \
            barrier(CLK_LOCAL_MEM_FENCE);                                      \
        }                                                                      \
        OUT = a2 + a1;                                                         \
    } while (0)

/* min and max over the same runs. */
#define ITEM_FOLD(OUT, OP, ID)                                                 \
    do {                                                                       \
        T0 a_ = ID;                                                            \
        for (ulong st = 0; st < steps; st++) {                                 \
            ulong i = (t0 + st) * TILE + (ulong)l * RUN;                       \
            for (uint c_ = 0; c_ < RUN && i + c_ < n; c_++)                    \
                a_ = OP(a_, x[i + c_]);                                        \
            barrier(CLK_LOCAL_MEM_FENCE);                                      \
        }                                                                      \
        OUT = a_;                                                              \
    } while (0)

#define SUM_TERM(i) ((ACC)x[i])
#define DOT_TERM(i) ((ACC)x[i] * (ACC)y[i])
#define SAME(v) (v)

/* Pass 1 and the stores, shared by the four kernels: v this item's
 * value, P the partial's type, OP its fold, STORE(v) what r[0] becomes. */
#define FINISH(P, OP, STORE, ID)                                               \
    do {                                                                       \
        __global P *part = (__global P *)scratch;                              \
        if (pass == 1) {                                                       \
            v = ID;                                                            \
            for (uint k = l; g == 0 && k < ng; k += WG)                        \
                v = OP(v, part[k]);                                            \
        }                                                                      \
        GROUP_TREE(lds, v, OP);                                                \
        if (l == 0 && pass == 0)                                               \
            part[g] = lds[0];                                                  \
        if (l == 0 && pass == 1 && g == 0)                                     \
            r[0] = STORE(lds[0]);                                              \
    } while (0)

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_sum(__global const T0 *x, __global T0 *r, ulong rows, ulong cols, ulong nx, ulong nr,
           __global uchar *scratch, uint pass)
{
    __local ACC lds[WG];
    PROLOGUE;
    ACC v;
    ITEM_SUM(v, SUM_TERM);
    FINISH(ACC, ADD2, TO_T0, ZERO);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_dot(__global const T0 *x, __global const T0 *y, __global T0 *r, ulong rows, ulong cols,
           ulong nx, ulong ny, ulong nr, __global uchar *scratch, uint pass)
{
    __local ACC lds[WG];
    PROLOGUE;
    ACC v;
    ITEM_SUM(v, DOT_TERM);
    FINISH(ACC, ADD2, TO_T0, ZERO);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_min(__global const T0 *x, __global T0 *r, ulong rows, ulong cols, ulong nx, ulong nr,
           __global uchar *scratch, uint pass)
{
    __local T0 lds[WG];
    PROLOGUE;
    T0 v;
    ITEM_FOLD(v, MIN2, MIN_ID);
    FINISH(T0, MIN2, SAME, MIN_ID);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
fronta_max(__global const T0 *x, __global T0 *r, ulong rows, ulong cols, ulong nx, ulong nr,
           __global uchar *scratch, uint pass)
{
    __local T0 lds[WG];
    PROLOGUE;
    T0 v;
    ITEM_FOLD(v, MAX2, MAX_ID);
    FINISH(T0, MAX2, SAME, MAX_ID);
}
