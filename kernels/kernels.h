/* kernels.h — the bundled kernels' internals: their descriptors and embedded OpenCL sources. */
#ifndef FRONTA_KERNELS_H
#define FRONTA_KERNELS_H

#include "fronta.h"

/* The .cl files as NUL-terminated text, generated at configure time from
 * kernels/<name>.cl (kernels/CMakeLists.txt), so the library needs no
 * file at run time. */
extern const char fronta_kernel_src_scale[];
extern const char fronta_kernel_src_saxpy[];

/* Each fills *d for fronta_kernel_create. Everything it points to is
 * static: create copies what it keeps. */
void fronta__kernels_scale_desc(fronta_kernel_desc_t *d);
void fronta__kernels_saxpy_desc(fronta_kernel_desc_t *d);

#endif /* FRONTA_KERNELS_H */
