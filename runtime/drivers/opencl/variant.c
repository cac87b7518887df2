/* Kernel objects per device: one per kernel, or, for a type-generic
 * kernel, one per combination of its arguments' element types (a
 * variant), each from its own program built with -DT<i>/U<i>/K<i>/S<i>
 * (and -DFRONTA_FP64) through the program cache. */
#include <stdio.h>
#include <string.h>

#include "drivers/opencl/opencl.h"

/* Per element type (fronta_dtype_t): the -D values of a parameter. */
static const struct {
    const char *t, *u;
    int kind, size;
} elem_defs[8] = {
    [FRONTA_UINT8] = {"uchar", "uchar", 0, 1}, [FRONTA_INT32] = {"int", "uint", 1, 4},
    [FRONTA_INT64] = {"long", "ulong", 1, 8},  [FRONTA_FLOAT] = {"float", "float", 2, 4},
    [FRONTA_DOUBLE] = {"double", "double", 2, 8},
};

/* Never 0 for a task of a generic kernel: each argument's code is a
 * dtype (1 .. 5), so it cannot be taken for the 0 of a kernel that is not
 * generic. 3 bits x FRONTA_MAX_ARGS fit 64. */
uint64_t fronta__cl_variant_sig(const fronta__ktask *kt)
{
    uint64_t sig = 0;
    for (uint32_t i = 0; i < kt->nargs; i++)
        sig |= (uint64_t)fronta__arg_elem(&kt->args[i]) << (3 * i);
    return sig;
}

/* k->cl_options and the variant's defines, allocated (*size bytes). */
static char *variant_options(ocl_dev *d, const fronta_kernel_t *k, uint64_t sig, size_t *size)
{
    enum { PER_PARAM = 64 }; /* " -DT15=double -DU15=double -DK15=2 -DS15=8" */
    *size = strlen(k->cl_options) + k->nparams * PER_PARAM + sizeof " -DFRONTA_FP64";
    char *o = fronta__mem_alloc(&d->st->rt->alloc, *size);
    if (!o)
        return NULL;
    size_t n = (size_t)snprintf(o, *size, "%s", k->cl_options);
    int fp64 = 0;
    for (size_t i = 0; i < k->nparams; i++) {
        unsigned e = fronta__cl_sig_elem(sig, i);
        if (!elem_defs[e].t)
            continue; /* no type: submit checked every argument */
        fp64 |= e == FRONTA_DOUBLE;
        n += (size_t)snprintf(o + n, *size - n, "%s-DT%zu=%s -DU%zu=%s -DK%zu=%d -DS%zu=%d",
                              n ? " " : "", i, elem_defs[e].t, i, elem_defs[e].u, i,
                              elem_defs[e].kind, i, elem_defs[e].size);
    }
    if (fp64)
        snprintf(o + n, *size - n, " -DFRONTA_FP64");
    return o;
}

static int build_program(ocl_dev *d, const fronta_kernel_t *k, uint64_t sig, cl_program *prog,
                         char **msg)
{
    size_t osize = 0;
    char *opts = sig ? variant_options(d, k, sig, &osize) : k->cl_options;
    if (!opts) {
        *msg = fronta__cl_msg_fmt(d, "kernel '%s': out of host memory for its build options",
                                  k->name);
        return FRONTA_ENOMEM;
    }
    char *log = NULL;
    int rc = fronta__clprog_get(d->st->progs, d->ctx, d->id, k->cl_source, opts, prog, &log);
    if (rc)
        *msg = fronta__cl_msg_fmt(d, "OpenCL build of kernel '%s'%s%s%s for '%s' failed:\n%s",
                                  k->name, sig ? " (" : "", sig ? opts : "", sig ? ")" : "",
                                  d->info.name, log ? log : fronta_strerror(rc));
    if (log)
        fronta__clprog_log_free(d->st->progs, log);
    if (sig)
        fronta__mem_free(&d->st->rt->alloc, opts, osize);
    return rc;
}

/* The device's per-dimension work-item limits, asked once. */
static void item_limits(ocl_dev *d)
{
    if (d->item_max[0])
        return;
    size_t sizes[16], n = 0;
    d->item_max[0] = d->item_max[1] = SIZE_MAX; /* unknown: the enqueue decides */
    if (!clGetDeviceInfo(d->id, CL_DEVICE_MAX_WORK_ITEM_SIZES, 0, NULL, &n) &&
        n >= 2 * sizeof sizes[0] && n <= sizeof sizes &&
        !clGetDeviceInfo(d->id, CL_DEVICE_MAX_WORK_ITEM_SIZES, n, sizes, NULL)) {
        d->item_max[0] = sizes[0];
        d->item_max[1] = sizes[1];
    }
}

static int build_kernel(ocl_dev *d, const fronta_kernel_t *k, uint64_t sig, ocl_kobj *out,
                        char **msg)
{
    cl_program prog;
    int rc = build_program(d, k, sig, &prog, msg);
    if (rc)
        return rc;
    cl_int err;
    cl_kernel obj = clCreateKernel(prog, k->cl_entry, &err);
    if (!obj) {
        *msg = fronta__cl_msg_fmt(d, "kernel '%s': no __kernel '%s' in its OpenCL source (%s)",
                                  k->name, k->cl_entry, fronta__cl_err_name(err));
        return FRONTA_EBUILD;
    }
    cl_uint nargs = 0, trailer = fronta__cl_trailer(k);
    clGetKernelInfo(obj, CL_KERNEL_NUM_ARGS, sizeof nargs, &nargs, NULL);
    if (nargs != k->nparams + trailer) {
        if (trailer)
            *msg = fronta__cl_msg_fmt(d, "kernel '%s': its OpenCL function takes %u arguments, "
                                         "its parameters are %zu and its shape arguments "
                                         "(FRONTA_KERNEL_CL_SHAPE_ARGS) %u", k->name,
                                      (unsigned)nargs, k->nparams, (unsigned)trailer);
        else
            *msg = fronta__cl_msg_fmt(d, "kernel '%s': its OpenCL function takes %u arguments, "
                                         "its parameters are %zu", k->name, (unsigned)nargs,
                                      k->nparams);
        clReleaseKernel(obj);
        return FRONTA_EARG;
    }
    rc = fronta__cl_check_signature(d, k, sig, obj, msg);
    if (rc) {
        clReleaseKernel(obj);
        return rc;
    }
    size_t wg = 0;
    if (clGetKernelWorkGroupInfo(obj, d->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) ||
        !wg)
        wg = SIZE_MAX; /* unknown: the enqueue decides */
    item_limits(d);
    *out = (ocl_kobj){.sig = sig, .obj = obj, .wg_max = wg};
    return 0;
}

/* ---- the cache ---- */

static void slot_release(ocl_dev *d, ocl_kslot *s)
{
    if (s->first.obj)
        clReleaseKernel(s->first.obj);
    for (int i = 0; i < s->nmore; i++)
        clReleaseKernel(s->more[i].obj);
    if (s->more)
        fronta__mem_free(&d->st->rt->alloc, s->more, (size_t)s->cap * sizeof *s->more);
}

void fronta__cl_kernels_release(ocl_dev *d)
{
    for (int i = 0; i < d->nkobj; i++)
        slot_release(d, &d->kobj[i]);
    if (d->kobj)
        fronta__mem_free(&d->st->rt->alloc, d->kobj, (size_t)d->nkobj * sizeof *d->kobj);
    d->kobj = NULL;
    d->nkobj = 0;
    fronta__cl_scratch_release(d); /* the device stops: its scratch goes too */
}

static int grow_slots(ocl_dev *d, int index)
{
    if (index < d->nkobj)
        return 0;
    int n = d->nkobj ? d->nkobj : 8;
    while (n <= index)
        n *= 2;
    ocl_kslot *s = fronta__mem_realloc(&d->st->rt->alloc, d->kobj,
                                       (size_t)d->nkobj * sizeof *s, (size_t)n * sizeof *s);
    if (!s)
        return FRONTA_ENOMEM;
    memset(s + d->nkobj, 0, (size_t)(n - d->nkobj) * sizeof *s);
    d->kobj = s;
    d->nkobj = n;
    return 0;
}

/* Room for one more variant in s->more. */
static int grow_more(ocl_dev *d, ocl_kslot *s)
{
    if (s->nmore < s->cap)
        return 0;
    int cap = s->cap ? 2 * s->cap : 4;
    ocl_kobj *m = fronta__mem_realloc(&d->st->rt->alloc, s->more,
                                      (size_t)s->cap * sizeof *m, (size_t)cap * sizeof *m);
    if (!m)
        return FRONTA_ENOMEM;
    s->more = m;
    s->cap = cap;
    return 0;
}

/* Where variant sig's object is kept in s, or NULL: a new place (obj
 * NULL) when none is built, NULL when there is no room. */
static ocl_kobj *slot_find(ocl_dev *d, ocl_kslot *s, uint64_t sig)
{
    if (!s->first.obj || s->first.sig == sig)
        return &s->first;
    for (int i = 0; i < s->nmore; i++)
        if (s->more[i].sig == sig)
            return &s->more[i];
    if (grow_more(d, s))
        return NULL;
    s->more[s->nmore] = (ocl_kobj){.sig = sig};
    return &s->more[s->nmore]; /* counted once built */
}

/* Failures are not cached: the next task tries again (the program cache
 * keeps successful builds). A kernel that is not generic costs what it
 * did before variants: its object is the slot's first. */
int fronta__cl_kernel_object(ocl_dev *d, const fronta__ktask *kt, const ocl_kobj **out,
                             char **msg)
{
    const fronta_kernel_t *k = kt->k;
    if (grow_slots(d, k->index)) {
        *msg = fronta__cl_msg_fmt(d, "kernel '%s': out of host memory for its kernel object",
                                  k->name);
        return FRONTA_ENOMEM;
    }
    ocl_kslot *s = &d->kobj[k->index];
    uint64_t sig = k->generic ? fronta__cl_variant_sig(kt) : 0;
    if (s->first.obj && s->first.sig == sig) {
        *out = &s->first;
        return 0;
    }
    ocl_kobj *o = slot_find(d, s, sig);
    if (!o) {
        *msg = fronta__cl_msg_fmt(d, "kernel '%s': out of host memory for a variant", k->name);
        return FRONTA_ENOMEM;
    }
    if (!o->obj) {
        int rc = build_kernel(d, k, sig, o, msg);
        if (rc)
            return rc;
        if (o != &s->first)
            s->nmore++;
    }
    *out = o;
    return 0;
}
