/* scale.c — the bundled kernel "scale": x[i] *= a, on the CPU pool and in OpenCL. */
#include "kernels.h"

extern const char fronta_kernel_src_scale[];
void fronta__kernels_scale_desc(fronta_kernel_desc_t *d);

static const fronta_param_t scale_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT, .access = FRONTA_ACCESS_INOUT,
     .count = FRONTA_COUNT_GLOBAL},
    {.kind = FRONTA_ARG_F32},
};

/* The runtime has already checked the arguments against scale_params, so
 * args[0] is a float buffer of n elements and args[1] a float. */
static int scale_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    float *x = a[0].ptr;
    const float s = a[1].v.f32;

    (void)ctx;
    if (nargs < 2) /* checked at submit; a cheap guard against reading past args */
        return FRONTA_EARG;
    for (size_t i = 0; i < n; i++)
        x[i] *= s;
    return 0;
}

void fronta__kernels_scale_desc(fronta_kernel_desc_t *d)
{
    *d = (fronta_kernel_desc_t){
        .size = sizeof *d,
        .name = "scale",
        .params = scale_params,
        .nparams = sizeof scale_params / sizeof scale_params[0],
        .cpu = scale_cpu,
        .cl_source = fronta_kernel_src_scale,
        .cl_entry = "scale",
    };
}
