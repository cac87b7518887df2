/* matrix.c — the matrix group's table (placeholder). */
#include "kernels.h"

const fronta__builtin fronta__builtins_matrix[] = {
    {NULL, NULL},
};
