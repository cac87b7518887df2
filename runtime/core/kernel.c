/* Kernels: named computations with a CPU and/or an OpenCL implementation,
 * registered per runtime. */
#include "core/kernel.h"

#include <string.h>

size_t fronta_dtype_size(fronta_dtype_t type)
{
    switch (type) {
    case FRONTA_UINT8:
        return 1;
    case FRONTA_INT32:
    case FRONTA_FLOAT:
        return 4;
    case FRONTA_INT64:
    case FRONTA_DOUBLE:
        return 8;
    default:
        return 0;
    }
}

static char *dup_str(const fronta__allocator *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = fronta__mem_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void free_str(const fronta__allocator *a, char *s)
{
    if (s)
        fronta__mem_free(a, s, strlen(s) + 1);
}

static void kernel_free(fronta_runtime_t *rt, fronta_kernel_t *k)
{
    free_str(&rt->alloc, k->name);
    free_str(&rt->alloc, k->cl_source);
    free_str(&rt->alloc, k->cl_entry);
    free_str(&rt->alloc, k->cl_options);
    fronta__mem_free(&rt->alloc, k, sizeof *k);
}

static int params_valid(const fronta_param_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i].kind < FRONTA_ARG_BUFFER || p[i].kind > FRONTA_ARG_F64)
            return 0;
        if (p[i].kind != FRONTA_ARG_BUFFER)
            continue;
        if ((p[i].dtype && !fronta_dtype_size(p[i].dtype)) ||
            (unsigned)p[i].access > FRONTA_ACCESS_INOUT ||
            (unsigned)p[i].count > FRONTA_COUNT_ANY)
            return 0;
    }
    return 1;
}

static int desc_check(const fronta_kernel_desc_t *d)
{
    if (!d->name || !*d->name || (!d->cpu && !d->cl_source))
        return FRONTA_EINVAL;
    if (d->nparams > FRONTA_MAX_ARGS || (d->nparams && !d->params))
        return FRONTA_EINVAL;
    return params_valid(d->params, d->nparams) ? 0 : FRONTA_EINVAL;
}

static fronta_kernel_t *find_locked(fronta_runtime_t *rt, const char *name)
{
    for (fronta_kernel_t *k = rt->kernels; k; k = k->next)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

static fronta_kernel_t *kernel_build(fronta_runtime_t *rt, const fronta_kernel_desc_t *d)
{
    const fronta__allocator *a = &rt->alloc;
    fronta_kernel_t *k = fronta__mem_calloc(a, 1, sizeof *k);
    if (!k)
        return NULL;
    k->rt = rt;
    k->cpu = d->cpu;
    k->nparams = d->nparams;
    if (d->nparams)
        memcpy(k->params, d->params, d->nparams * sizeof *d->params);
    k->name = dup_str(a, d->name);
    k->cl_source = dup_str(a, d->cl_source);
    k->cl_entry = dup_str(a, d->cl_entry ? d->cl_entry : d->name);
    k->cl_options = dup_str(a, d->cl_options ? d->cl_options : "");
    if (!k->name || (d->cl_source && !k->cl_source) || !k->cl_entry || !k->cl_options) {
        kernel_free(rt, k);
        return NULL;
    }
    return k;
}

int fronta_kernel_create(fronta_runtime_t *rt, const fronta_kernel_desc_t *desc,
                         fronta_kernel_t **out)
{
    if (out)
        *out = NULL;
    fronta_kernel_desc_t d;
    if (!rt || !desc || !out || fronta__desc_read(&d, sizeof d, desc, sizeof(size_t)))
        return FRONTA_EINVAL;
    int rc = desc_check(&d);
    if (rc)
        return rc;
    fronta_kernel_t *k = kernel_build(rt, &d);
    if (!k)
        return FRONTA_ENOMEM;
    pthread_mutex_lock(&rt->kernel_lock);
    if (find_locked(rt, k->name)) {
        pthread_mutex_unlock(&rt->kernel_lock);
        kernel_free(rt, k);
        return FRONTA_EBUSY;
    }
    k->index = rt->nkernels++;
    k->next = rt->kernels;
    rt->kernels = k;
    pthread_mutex_unlock(&rt->kernel_lock);
    *out = k;
    return 0;
}

int fronta_kernel_find(fronta_runtime_t *rt, const char *name, fronta_kernel_t **out)
{
    if (out)
        *out = NULL;
    if (!rt || !name || !out)
        return FRONTA_EINVAL;
    pthread_mutex_lock(&rt->kernel_lock);
    fronta_kernel_t *k = find_locked(rt, name);
    pthread_mutex_unlock(&rt->kernel_lock);
    *out = k;
    return k ? 0 : FRONTA_ENOENT;
}

const char *fronta_kernel_name(const fronta_kernel_t *k)
{
    return k ? k->name : NULL;
}

int fronta__kernel_count(fronta_runtime_t *rt)
{
    pthread_mutex_lock(&rt->kernel_lock);
    int n = rt->nkernels;
    pthread_mutex_unlock(&rt->kernel_lock);
    return n;
}

void fronta__kernels_free_all(fronta_runtime_t *rt)
{
    while (rt->kernels) {
        fronta_kernel_t *k = rt->kernels;
        rt->kernels = k->next;
        kernel_free(rt, k);
    }
}
