/* The CPU's vector extensions (util/cpu.h). */
#include "util/cpu.h"

#include <stdlib.h>

int fronta__cpu_avx2(int fma)
{
    const char *env = getenv("FRONTA_KERNELS_PORTABLE");
    if (env && *env && *env != '0')
        return 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* Bit 0: known; bit 1: AVX2; bit 2: FMA. A race sets it twice to the
     * same value. */
    static int has;
    int h = __atomic_load_n(&has, __ATOMIC_RELAXED);
    if (!h) {
        __builtin_cpu_init();
        h = 1 | (__builtin_cpu_supports("avx2") ? 2 : 0) | (__builtin_cpu_supports("fma") ? 4 : 0);
        __atomic_store_n(&has, h, __ATOMIC_RELAXED);
    }
    return (h & 2) && (!fma || (h & 4));
#else
    (void)fma;
    return 0;
#endif
}
