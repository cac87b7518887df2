/* saxpy.c — the bundled kernel "saxpy": y[i] = a * x[i] + y[i], on the CPU pool and in OpenCL. */
#include "kernels.h"

extern const char fronta_kernel_src_saxpy[];
void fronta__kernels_saxpy_desc(fronta_kernel_desc_t *d);

static const fronta_param_t saxpy_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_IN,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_INOUT,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_F32},
};

/* The runtime has already checked the arguments against saxpy_params, so
 * args[0] and args[1] are float buffers of n elements and args[2] a float. */
static int saxpy_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    const float *x = a[0].ptr;
    float *y = a[1].ptr;
    const float s = a[2].v.f32;

    (void)ctx;
    if (nargs < 3) /* checked at submit; a cheap guard against reading past args */
        return FRONTA_EARG;
    for (size_t i = 0; i < n; i++)
        y[i] = s * x[i] + y[i];
    return 0;
}

void fronta__kernels_saxpy_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .name = "saxpy",
        .params = saxpy_params,
        .nparams = sizeof saxpy_params / sizeof saxpy_params[0],
        .cpu = saxpy_cpu,
        .cl_source = fronta_kernel_src_saxpy,
        .cl_entry = "saxpy",
    };
}
