/* reduce.c — the reduce group's table (placeholder). */
#include "kernels.h"

const fronta__builtin fronta__builtins_reduce[] = {
    {NULL, NULL},
};
