/* kernels.h — the bundled kernels' internals: their tables and embedded OpenCL sources. */
#ifndef FRONTA_KERNELS_H
#define FRONTA_KERNELS_H

#include "fronta.h"

/* The .cl files as NUL-terminated text, generated at configure time from
 * kernels/<name>.cl (kernels/CMakeLists.txt): each kernel file declares the
 * sources it uses, `extern const char fronta_kernel_src_<name>[];`. */

/* A bundled kernel: its name and the function that fills its descriptor.
 * Everything the descriptor points to is static: create copies what it
 * keeps. */
typedef struct fronta__builtin {
    const char *name;
    void (*desc)(fronta_kernel_desc_t *d);
} fronta__builtin;

/* The groups, each a table ended by {NULL, NULL}, in the file of its
 * name: a new bundled kernel is a line in its group's table. */
extern const fronta__builtin fronta__builtins_elementwise[];
extern const fronta__builtin fronta__builtins_reduce[];
extern const fronta__builtin fronta__builtins_matrix[];

#endif /* FRONTA_KERNELS_H */
