/* test_bk_elementwise.h — the reference of tests/test_bk_elementwise.c: values of every dtype, random data that reaches the edges, and each operation as a plain loop body written apart from the kernels. */
#ifndef FRONTA_TEST_BK_ELEMENTWISE_H
#define FRONTA_TEST_BK_ELEMENTWISE_H

#include <math.h>

#include "test_bk.h"

/* The operations of the kernels that have one (docs/kernels.md). */
enum { OP_NONE, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MIN, OP_MAX, OP_EQ, OP_NE, OP_LT, OP_LE,
       OP_GT, OP_GE, OP_AND, OP_OR, OP_NOT };

/* ---- values ------------------------------------------------------------ */

typedef union ft_v {
    uint8_t u8;
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
} ft_v;

static inline ft_v vget(const void *p, fronta_dtype_t t, size_t i)
{
    ft_v v;
    memset(&v, 0, sizeof v);
    switch (t) {
    case FRONTA_UINT8:
        v.u8 = ((const uint8_t *)p)[i];
        break;
    case FRONTA_INT32:
        v.i32 = ((const int32_t *)p)[i];
        break;
    case FRONTA_INT64:
        v.i64 = ((const int64_t *)p)[i];
        break;
    case FRONTA_FLOAT:
        v.f32 = ((const float *)p)[i];
        break;
    default:
        v.f64 = ((const double *)p)[i];
        break;
    }
    return v;
}

static inline void vput(void *p, fronta_dtype_t t, size_t i, ft_v v)
{
    switch (t) {
    case FRONTA_UINT8:
        ((uint8_t *)p)[i] = v.u8;
        break;
    case FRONTA_INT32:
        ((int32_t *)p)[i] = v.i32;
        break;
    case FRONTA_INT64:
        ((int64_t *)p)[i] = v.i64;
        break;
    case FRONTA_FLOAT:
        ((float *)p)[i] = v.f32;
        break;
    default:
        ((double *)p)[i] = v.f64;
        break;
    }
}

/* Equal, with NaN equal to NaN (its payload and sign may differ). */
static inline int veq(fronta_dtype_t t, ft_v a, ft_v b)
{
    switch (t) {
    case FRONTA_UINT8:
        return a.u8 == b.u8;
    case FRONTA_INT32:
        return a.i32 == b.i32;
    case FRONTA_INT64:
        return a.i64 == b.i64;
    case FRONTA_FLOAT:
        return (isnan(a.f32) && isnan(b.f32)) || a.f32 == b.f32;
    default:
        return (isnan(a.f64) && isnan(b.f64)) || a.f64 == b.f64;
    }
}

static inline const char *vstr(fronta_dtype_t t, ft_v v, char *buf, size_t len)
{
    switch (t) {
    case FRONTA_UINT8:
        snprintf(buf, len, "%u", v.u8);
        break;
    case FRONTA_INT32:
        snprintf(buf, len, "%d", v.i32);
        break;
    case FRONTA_INT64:
        snprintf(buf, len, "%lld", (long long)v.i64);
        break;
    case FRONTA_FLOAT:
        snprintf(buf, len, "%a", (double)v.f32);
        break;
    default:
        snprintf(buf, len, "%a", v.f64);
        break;
    }
    return buf;
}

/* Random data that reaches the edges: for integers a quarter small values
 * (equal, dividing, divisible), some extremes (INT_MIN, -1, 0, ...), the
 * rest any bits; for floats NaN, infinities and zero now and then, small
 * values, and values on a 1/1024 grid in [-1000, 1000]; for uint8 any
 * byte, 0, 1 and 255 more often (masks: anything non-zero is true). */
/* A number in [0, k) from the low 32 bits of r (k < 2^32), without the
 * cost of a 64-bit %. */
static inline uint64_t pick(uint64_t r, uint64_t k)
{
    return ((r & 0xffffffffu) * k) >> 32;
}

static inline void gen(void *p, fronta_dtype_t t, size_t n, uint64_t *s)
{
    static const int64_t e32[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX};
    static const int64_t e64[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX};
    static const uint8_t e8[] = {0, 1, 255, 0};
    static const double special[] = {NAN, INFINITY, -INFINITY, 0.0};
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ft_rand(s);
        unsigned sel = (unsigned)(r >> 58); /* 0 .. 63 */
        int64_t small = (int64_t)pick(r, 17) - 8;
        ft_v v;
        if (t == FRONTA_UINT8) {
            v.u8 = sel < 16 ? e8[r & 3] : (uint8_t)r;
        } else if (t == FRONTA_INT32) {
            v.i32 = sel < 16 ? (int32_t)small : sel < 22 ? (int32_t)e32[pick(r >> 16, 6)] : (int32_t)(uint32_t)r;
        } else if (t == FRONTA_INT64) {
            v.i64 = sel < 16 ? small : sel < 22 ? e64[pick(r >> 16, 6)] : (int64_t)r;
        } else {
            double f = sel == 0 ? special[r & 3]
                       : sel < 16 ? (double)small / 4
                                  : (double)((int64_t)pick(r, 2048001) - 1024000) / 1024.0;
            if (t == FRONTA_FLOAT)
                v.f32 = (float)f;
            else
                v.f64 = f;
        }
        vput(p, t, i, v);
    }
}

/* ---- the reference ------------------------------------------------------ */

/* Two's complement wrap of u to the width of t. */
static inline int64_t wrap(fronta_dtype_t t, uint64_t u)
{
    return t == FRONTA_INT32 ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
}

static inline int64_t ref_int(int op, fronta_dtype_t t, int64_t x, int64_t y)
{
    switch (op) {
    case OP_ADD:
        return wrap(t, (uint64_t)x + (uint64_t)y);
    case OP_SUB:
        return wrap(t, (uint64_t)x - (uint64_t)y);
    case OP_MUL:
        return wrap(t, (uint64_t)x * (uint64_t)y);
    case OP_DIV:
        if (y == 0)
            return 0;
        if (y == -1)
            return wrap(t, 0 - (uint64_t)x);
        return x / y;
    case OP_MIN:
        return x < y ? x : y;
    default:
        return x > y ? x : y;
    }
}

/* IEEE fmin/fmax, written out: the tests do not link libm. */
static inline double ref_fmin(double x, double y)
{
    return isnan(x) ? y : isnan(y) ? x : x < y ? x : y;
}

static inline double ref_fmax(double x, double y)
{
    return isnan(x) ? y : isnan(y) ? x : x > y ? x : y;
}

static inline double ref_double(int op, double x, double y)
{
    switch (op) {
    case OP_ADD:
        return x + y;
    case OP_SUB:
        return x - y;
    case OP_MUL:
        return x * y;
    case OP_DIV:
        return x / y;
    case OP_MIN:
        return ref_fmin(x, y);
    default:
        return ref_fmax(x, y);
    }
}

static inline float ref_float(int op, float x, float y)
{
    switch (op) {
    case OP_ADD:
        return x + y;
    case OP_SUB:
        return x - y;
    case OP_MUL:
        return x * y;
    case OP_DIV:
        return x / y;
    case OP_MIN:
        return (float)ref_fmin(x, y); /* exact: x or y */
    default:
        return (float)ref_fmax(x, y);
    }
}

static inline ft_v ref_binary(int op, fronta_dtype_t t, ft_v x, ft_v y)
{
    ft_v r;
    memset(&r, 0, sizeof r);
    if (t == FRONTA_INT32)
        r.i32 = (int32_t)ref_int(op, t, x.i32, y.i32);
    else if (t == FRONTA_INT64)
        r.i64 = ref_int(op, t, x.i64, y.i64);
    else if (t == FRONTA_FLOAT)
        r.f32 = ref_float(op, x.f32, y.f32);
    else
        r.f64 = ref_double(op, x.f64, y.f64);
    return r;
}

/* Comparisons on doubles for every type but int64 (exact for all of them,
 * NaN included), on int64 for int64. */
static inline uint8_t ref_compare(int op, fronta_dtype_t t, ft_v x, ft_v y)
{
    if (t == FRONTA_INT64) {
        int64_t a = x.i64, b = y.i64;
        switch (op) {
        case OP_EQ: return a == b;
        case OP_NE: return a != b;
        case OP_LT: return a < b;
        case OP_LE: return a <= b;
        case OP_GT: return a > b;
        default: return a >= b;
        }
    }
    double a = t == FRONTA_UINT8 ? x.u8 : t == FRONTA_INT32 ? x.i32 : t == FRONTA_FLOAT ? x.f32 : x.f64;
    double b = t == FRONTA_UINT8 ? y.u8 : t == FRONTA_INT32 ? y.i32 : t == FRONTA_FLOAT ? y.f32 : y.f64;
    switch (op) {
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    default: return a >= b;
    }
}

/* y = a x + y as two rounded steps for floats (the kernel's contract, no
 * fused multiply-add), wrapping for integers; scale is y = a y. */
static inline ft_v ref_axpy(fronta_dtype_t t, ft_v a, ft_v x, ft_v y, int scale)
{
    ft_v r;
    memset(&r, 0, sizeof r);
    if (t == FRONTA_INT32)
        r.i32 = (int32_t)wrap(t, (uint64_t)(int64_t)a.i32 * (uint64_t)(int64_t)(scale ? y.i32 : x.i32) +
                                     (scale ? 0 : (uint64_t)(int64_t)y.i32));
    else if (t == FRONTA_INT64)
        r.i64 = wrap(t, (uint64_t)a.i64 * (uint64_t)(scale ? y.i64 : x.i64) +
                            (scale ? 0 : (uint64_t)y.i64));
    else if (t == FRONTA_FLOAT) {
        float p = a.f32 * (scale ? y.f32 : x.f32);
        r.f32 = scale ? p : p + y.f32;
    } else {
        double p = a.f64 * (scale ? y.f64 : x.f64);
        r.f64 = scale ? p : p + y.f64;
    }
    return r;
}

static inline uint8_t ref_divby(fronta_dtype_t t, ft_v x, ft_v d)
{
    int64_t a = t == FRONTA_INT32 ? x.i32 : x.i64, b = t == FRONTA_INT32 ? d.i32 : d.i64;
    if (b == 0)
        return 0;
    if (b == -1) /* INT64_MIN % -1 would trap */
        return 1;
    return a % b == 0;
}

#endif /* FRONTA_TEST_BK_ELEMENTWISE_H */
