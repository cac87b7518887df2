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

/* The 0.1 layout of a parameter: a descriptor whose size ends before
 * `flags` was compiled against it, so its array has this stride. */
typedef struct param_v1 {
    fronta_arg_kind_t kind;
    fronta_dtype_t dtype;
    fronta_access_t access;
    fronta_count_rule_t count;
} param_v1;

static int desc_is_v1(const fronta_kernel_desc_t *user)
{
    return user->size && user->size < offsetof(fronta_kernel_desc_t, flags) + sizeof user->flags;
}

/* The user's parameters in today's layout. */
static void params_read(fronta_param_t *out, const fronta_kernel_desc_t *user,
                        const fronta_kernel_desc_t *d)
{
    if (!desc_is_v1(user)) {
        memcpy(out, d->params, d->nparams * sizeof *d->params);
        return;
    }
    const param_v1 *v = (const param_v1 *)(const void *)d->params;
    for (size_t i = 0; i < d->nparams; i++)
        out[i] = (fronta_param_t){.kind = v[i].kind, .dtype = v[i].dtype,
                                  .access = v[i].access, .count = v[i].count};
}

static int buffer_param_valid(const fronta_param_t *p)
{
    return (!p->dtype || fronta_dtype_size(p->dtype)) &&
           !(p->dtypes & ~(unsigned)FRONTA_DTYPES_ALL) &&
           (unsigned)p->access <= FRONTA_ACCESS_INOUT &&
           (unsigned)p->count <= FRONTA_COUNT_EXACT &&
           (p->count != FRONTA_COUNT_EXACT || p->n);
}

/* `like` names an earlier buffer parameter: the check reads that
 * argument's type before this one's. */
static int params_valid(const fronta_param_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i].kind < FRONTA_ARG_BUFFER || p[i].kind > FRONTA_ARG_SCALAR)
            return 0;
        if (p[i].like && (p[i].like < 1 || (size_t)p[i].like > i ||
                          p[p[i].like - 1].kind != FRONTA_ARG_BUFFER))
            return 0;
        /* like types a buffer or a FRONTA_ARG_SCALAR; on a scalar of a
         * fixed kind it would be a rule that never applies. */
        if ((p[i].kind == FRONTA_ARG_SCALAR) != (p[i].like != 0) &&
            p[i].kind != FRONTA_ARG_BUFFER)
            return 0;
        if (p[i].kind == FRONTA_ARG_BUFFER && !buffer_param_valid(&p[i]))
            return 0;
    }
    return 1;
}

/* The OpenCL launch options ask for the shape arguments they rely on. */
static int cl_fields_valid(const fronta_kernel_desc_t *d)
{
    int wants_shape = d->cl_local[0] || d->cl_local[1] || d->cl_scratch || d->cl_passes > 1;
    if (d->flags &
        ~(unsigned)(FRONTA_KERNEL_CL_SHAPE_ARGS | FRONTA_KERNEL_NO_ALIAS | FRONTA_KERNEL_FLAT |
                    FRONTA_KERNEL_ELEMENTWISE))
        return 0;
    if (wants_shape && !(d->flags & FRONTA_KERNEL_CL_SHAPE_ARGS))
        return 0;
    if ((d->cl_groups[0] && !d->cl_local[0]) || (d->cl_groups[1] && !d->cl_local[1]))
        return 0;
    return d->cl_passes <= 64;
}

static int desc_check(const fronta_kernel_desc_t *d)
{
    if (!d->name || !*d->name || (!d->cpu && !d->cl_source))
        return FRONTA_EINVAL;
    if (d->nparams > FRONTA_MAX_ARGS || (d->nparams && !d->params))
        return FRONTA_EINVAL;
    return cl_fields_valid(d) ? 0 : FRONTA_EINVAL;
}

static int params_generic(const fronta_param_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].kind == FRONTA_ARG_SCALAR || p[i].like ||
            (p[i].kind == FRONTA_ARG_BUFFER && !p[i].dtype && p[i].dtypes))
            return 1;
    return 0;
}

/* Internal kernels live in a namespace of their own: a user's kernel may
 * take any name, and never finds or replaces one of the runtime's. */
static fronta_kernel_t *find_in(fronta_runtime_t *rt, const char *name, int internal)
{
    for (fronta_kernel_t *k = rt->kernels; k; k = k->next)
        if (k->internal == internal && !strcmp(k->name, name))
            return k;
    return NULL;
}

static fronta_kernel_t *find_locked(fronta_runtime_t *rt, const char *name)
{
    return find_in(rt, name, 0);
}

static fronta_kernel_t *kernel_build(fronta_runtime_t *rt, const fronta_kernel_desc_t *d,
                                     const fronta_param_t *params)
{
    const fronta__allocator *a = &rt->alloc;
    fronta_kernel_t *k = fronta__mem_calloc(a, 1, sizeof *k);
    if (!k)
        return NULL;
    k->rt = rt;
    k->cpu = d->cpu;
    k->nparams = d->nparams;
    if (d->nparams)
        memcpy(k->params, params, d->nparams * sizeof *params);
    k->generic = params_generic(params, d->nparams);
    k->flags = d->flags;
    memcpy(k->cl_local, d->cl_local, sizeof k->cl_local);
    memcpy(k->cl_groups, d->cl_groups, sizeof k->cl_groups);
    k->cl_scratch = d->cl_scratch;
    k->cl_passes = d->cl_passes ? d->cl_passes : 1;
    k->check = d->check;
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
    fronta_param_t params[FRONTA_MAX_ARGS];
    params_read(params, desc, &d);
    if (!params_valid(params, d.nparams))
        return FRONTA_EINVAL;
    fronta_kernel_t *k = kernel_build(rt, &d, params);
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

fronta_kernel_t *fronta__kernel_internal(fronta_runtime_t *rt, const char *name,
                                         fronta_cpu_kernel_fn cpu)
{
    pthread_mutex_lock(&rt->kernel_lock);
    fronta_kernel_t *k = find_in(rt, name, 1);
    if (!k) {
        fronta_kernel_desc_t d = {.size = sizeof d, .name = name, .cpu = cpu};
        if ((k = kernel_build(rt, &d, NULL))) {
            k->internal = 1;
            k->index = rt->nkernels++;
            k->next = rt->kernels;
            rt->kernels = k;
        }
    }
    pthread_mutex_unlock(&rt->kernel_lock);
    return k;
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
