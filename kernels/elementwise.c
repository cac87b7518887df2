/* elementwise.c — the elementwise group's table (placeholder: scale and saxpy of 0.1). */
#include "kernels.h"

void fronta__kernels_scale_desc(fronta_kernel_desc_t *d);
void fronta__kernels_saxpy_desc(fronta_kernel_desc_t *d);

const fronta__builtin fronta__builtins_elementwise[] = {
    {"scale", fronta__kernels_scale_desc},
    {"saxpy", fronta__kernels_saxpy_desc},
    {NULL, NULL},
};
