/* matrix.c — the matrix group's table: gemm, transpose, stencil5 (2-D launches over row-major matrices). */
#include "kernels.h"

void fronta__kernels_gemm_desc(fronta_kernel_desc_t *d);
void fronta__kernels_transpose_desc(fronta_kernel_desc_t *d);
void fronta__kernels_stencil5_desc(fronta_kernel_desc_t *d);

const fronta__builtin fronta__builtins_matrix[] = {
    {"gemm", fronta__kernels_gemm_desc},
    {"transpose", fronta__kernels_transpose_desc},
    {"stencil5", fronta__kernels_stencil5_desc},
    {NULL, NULL},
};
