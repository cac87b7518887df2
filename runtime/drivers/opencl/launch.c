/* Launching a kernel task on an OpenCL device: its kernel object (built
 * through the program cache, its signature checked against the kernel's
 * parameters), its buffers made valid on the device, its arguments, and
 * the enqueue behind its chained predecessors' events. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/opencl/fault.h"
#include "drivers/opencl/opencl.h"

#define MSG_SIZE 512

int fronta__cl_can_run(const void *data, int i, const fronta_kernel_t *k)
{
    (void)data;
    (void)i;
    return k->cl_source != NULL;
}

static char *msg_new(ocl_dev *d, size_t size)
{
    return fronta__mem_alloc(&d->st->rt->alloc, size);
}

void fronta__cl_msg_free(ocl_dev *d, char *msg)
{
    if (msg)
        fronta__mem_free(&d->st->rt->alloc, msg, strlen(msg) + 1);
}

/* A message sized to its text, so that free knows its size. */
static char *msg_fmt(ocl_dev *d, const char *fmt, ...) FRONTA_PRINTF(2, 3);
static char *msg_fmt(ocl_dev *d, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *m = n >= 0 ? msg_new(d, (size_t)n + 1) : NULL;
    if (m)
        vsnprintf(m, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    va_end(ap);
    return m;
}

/* ---- the OpenCL function's signature ---- */

/* A built-in type that no fronta type is (short, half): never a match. */
#define ELEM_OTHER (-1)

static const struct {
    const char *name;
    int elem; /* fronta_dtype_t or ELEM_OTHER */
} builtins[] = {
    {"char", FRONTA_UINT8},  {"uchar", FRONTA_UINT8},   {"short", ELEM_OTHER},
    {"ushort", ELEM_OTHER},  {"int", FRONTA_INT32},     {"uint", FRONTA_INT32},
    {"long", FRONTA_INT64},  {"ulong", FRONTA_INT64},   {"half", ELEM_OTHER},
    {"float", FRONTA_FLOAT}, {"double", FRONTA_DOUBLE}, {"bool", ELEM_OTHER},
};

/* Words a driver may keep in a type name that do not change the type. */
static const char *const qualifiers[] = {
    "const",    "volatile", "restrict", "__restrict", "signed",  "__global", "global",
    "__constant", "constant", "__local", "local",     "__private", "private",
};

static int is_qualifier(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof qualifiers / sizeof qualifiers[0]; i++)
        if (strlen(qualifiers[i]) == n && !memcmp(w, qualifiers[i], n))
            return 1;
    return 0;
}

/* The one type word of an OpenCL type name, with qualifiers, '*' and
 * spaces dropped and "unsigned X" spelt "uX": "const unsigned int *"
 * gives "uint". 0 when there is not exactly one ("struct s"). */
static int type_word(const char *name, char *out, size_t size)
{
    int unsig = 0, words = 0;
    strcpy(out, "int"); /* what a lone "unsigned" qualifies */
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, " \t*");
        if (n == 8 && !memcmp(p, "unsigned", 8)) {
            unsig = 1;
        } else if (n && !is_qualifier(p, n)) {
            if (words++ || n + 2 > size)
                return 0;
            memcpy(out, p, n);
            out[n] = 0;
        }
        p += n ? n : 1;
    }
    if (unsig) {
        memmove(out + 1, out, strlen(out) + 1);
        out[0] = 'u';
    }
    return words == 1 || (unsig && !words);
}

/* The element type an OpenCL type name is made of: FRONTA_INT32 for
 * "uint" or "const uint*", FRONTA_FLOAT (*width 4) for "float4";
 * ELEM_OTHER for a built-in no fronta type is; 0 for a name that is no
 * built-in (a typedef the driver prints as written, a struct): nothing
 * to compare it with. */
static int type_elem(const char *name, int *width)
{
    char w[32];
    *width = 1;
    if (!type_word(name, w, sizeof w))
        return 0;
    size_t n = strlen(w);
    while (n && isdigit((unsigned char)w[n - 1]))
        n--;
    if (w[n]) {
        *width = atoi(w + n);
        if (*width != 2 && *width != 3 && *width != 4 && *width != 8 && *width != 16)
            return 0;
        w[n] = 0;
    }
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (!strcmp(w, builtins[i].name))
            return builtins[i].elem;
    return 0;
}

typedef struct ocl_arg {
    cl_kernel_arg_address_qualifier addr;
    cl_kernel_arg_type_qualifier tq;
    char type[128]; /* the driver's spelling: "uchar*"; "" when unknown */
} ocl_arg;

/* CL_SUCCESS, or why the driver describes no argument. */
static cl_int arg_info(cl_kernel kobj, cl_uint i, ocl_arg *a)
{
    cl_int err = clGetKernelArgInfo(kobj, i, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof a->addr,
                                    &a->addr, NULL);
    if (err)
        return err;
    /* A name too long for the buffer is no built-in: left unknown. */
    if (clGetKernelArgInfo(kobj, i, CL_KERNEL_ARG_TYPE_NAME, sizeof a->type, a->type, NULL))
        a->type[0] = 0;
    a->type[sizeof a->type - 1] = 0;
    if (clGetKernelArgInfo(kobj, i, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof a->tq, &a->tq, NULL))
        a->tq = 0;
    return CL_SUCCESS;
}

static int scalar_elem(fronta_arg_kind_t kind)
{
    switch (kind) {
    case FRONTA_ARG_I32:
        return FRONTA_INT32;
    case FRONTA_ARG_I64:
        return FRONTA_INT64;
    case FRONTA_ARG_F32:
        return FRONTA_FLOAT;
    default:
        return FRONTA_DOUBLE;
    }
}

/* Whether the function's argument a takes what p declares: a buffer a
 * __global or __constant pointer (to vectors of its element type too), a
 * scalar a private value of its type. set_args relies on it: PoCL
 * dereferences a scalar's bytes given for a pointer and crashes. */
static int arg_fits(const fronta_param_t *p, const ocl_arg *a)
{
    int width, elem = type_elem(a->type, &width);
    if (p->kind == FRONTA_ARG_BUFFER)
        return (a->addr == CL_KERNEL_ARG_ADDRESS_GLOBAL ||
                a->addr == CL_KERNEL_ARG_ADDRESS_CONSTANT) &&
               (!p->dtype || !elem || elem == (int)p->dtype);
    return a->addr == CL_KERNEL_ARG_ADDRESS_PRIVATE &&
           (!elem || (elem == scalar_elem(p->kind) && width == 1));
}

/* What the function takes, spelt as in source: "__global const uchar *". */
static void arg_spell(const ocl_arg *a, char *out, size_t size)
{
    const char *space = a->addr == CL_KERNEL_ARG_ADDRESS_GLOBAL     ? "__global "
                        : a->addr == CL_KERNEL_ARG_ADDRESS_CONSTANT ? "__constant "
                        : a->addr == CL_KERNEL_ARG_ADDRESS_LOCAL    ? "__local "
                                                                    : "";
    int ptr = *space != 0;
    const char *c = ptr && a->addr != CL_KERNEL_ARG_ADDRESS_CONSTANT &&
                            (a->tq & CL_KERNEL_ARG_TYPE_CONST) && !strstr(a->type, "const")
                        ? "const "
                        : "";
    size_t n = strlen(a->type);
    while (n && (a->type[n - 1] == '*' || a->type[n - 1] == ' '))
        n--;
    snprintf(out, size, "%s%s%.*s%s", space, c, n ? (int)n : 1, n ? a->type : "?",
             ptr ? " *" : "");
}

static const char *const kind_names[] = {"FRONTA_ARG_NONE", "FRONTA_ARG_BUFFER",
                                         "FRONTA_ARG_I32",  "FRONTA_ARG_I64",
                                         "FRONTA_ARG_F32",  "FRONTA_ARG_F64"};
static const char *const dtype_names[] = {"", "FRONTA_UINT8", "FRONTA_INT32", "FRONTA_INT64",
                                          "FRONTA_FLOAT", "FRONTA_DOUBLE"};

static int mismatch(ocl_dev *d, const fronta_kernel_t *k, cl_uint i, const ocl_arg *a,
                    char **msg)
{
    const fronta_param_t *p = &k->params[i];
    int typed = p->kind == FRONTA_ARG_BUFFER && p->dtype;
    char takes[160];
    arg_spell(a, takes, sizeof takes);
    *msg = msg_fmt(d, "kernel '%s': argument %u is declared %s%s%s but its OpenCL function "
                      "takes '%s'", k->name, (unsigned)i, kind_names[p->kind],
                   typed ? " of " : "", typed ? dtype_names[p->dtype] : "", takes);
    return FRONTA_EARG;
}

/* Each argument of the function against its parameter, before any task
 * sets one. OpenCL 1.2 guarantees argument info only for a program built
 * from source with -cl-kernel-arg-info (which the program cache adds to
 * every build); a program from a cached binary may lack it (PoCL 3.1 has
 * it when the binary is built with that option, as the cache does).
 * Where it is not available the count check stands alone: recompiling
 * from source only to check would undo the disk cache. */
static int check_signature(ocl_dev *d, const fronta_kernel_t *k, cl_kernel kobj, char **msg)
{
    for (cl_uint i = 0; i < (cl_uint)k->nparams; i++) {
        ocl_arg a;
        cl_int err = arg_info(kobj, i, &a);
        if (err) {
            FRONTA__LOG(d->st->rt, FRONTA_LOG_DEBUG,
                        "kernel '%s' on '%s': no argument info (%s), only the argument "
                        "count is checked", k->name, d->info.name,
                        err == CL_KERNEL_ARG_INFO_NOT_AVAILABLE
                            ? "CL_KERNEL_ARG_INFO_NOT_AVAILABLE"
                            : fronta__cl_err_name(err));
            return 0;
        }
        if (!arg_fits(&k->params[i], &a))
            return mismatch(d, k, i, &a, msg);
    }
    return 0;
}

/* ---- kernel objects ---- */

void fronta__cl_kernels_release(ocl_dev *d)
{
    for (int i = 0; i < d->nkobj; i++)
        if (d->kobj[i])
            clReleaseKernel(d->kobj[i]);
    if (d->kobj)
        fronta__mem_free(&d->st->rt->alloc, d->kobj, (size_t)d->nkobj * sizeof *d->kobj);
    d->kobj = NULL;
    d->nkobj = 0;
}

static int grow_kobj(ocl_dev *d, int index)
{
    if (index < d->nkobj)
        return 0;
    int n = d->nkobj ? d->nkobj : 8;
    while (n <= index)
        n *= 2;
    cl_kernel *k = fronta__mem_realloc(&d->st->rt->alloc, d->kobj,
                                       (size_t)d->nkobj * sizeof *k, (size_t)n * sizeof *k);
    if (!k)
        return FRONTA_ENOMEM;
    memset(k + d->nkobj, 0, (size_t)(n - d->nkobj) * sizeof *k);
    d->kobj = k;
    d->nkobj = n;
    return 0;
}

static int build_kernel(ocl_dev *d, const fronta_kernel_t *k, cl_kernel *out, char **msg)
{
    cl_program prog;
    char *log = NULL;
    int rc = fronta__clprog_get(d->st->progs, d->ctx, d->id, k->cl_source, k->cl_options,
                                &prog, &log);
    if (rc) {
        *msg = msg_fmt(d, "OpenCL build of kernel '%s' for '%s' failed:\n%s", k->name,
                       d->info.name, log ? log : fronta_strerror(rc));
        if (log)
            fronta__clprog_log_free(d->st->progs, log);
        return rc;
    }
    cl_int err;
    cl_kernel kobj = clCreateKernel(prog, k->cl_entry, &err);
    if (!kobj) {
        *msg = msg_fmt(d, "kernel '%s': no __kernel '%s' in its OpenCL source (%s)", k->name,
                       k->cl_entry, fronta__cl_err_name(err));
        return FRONTA_EBUILD;
    }
    cl_uint nargs = 0;
    clGetKernelInfo(kobj, CL_KERNEL_NUM_ARGS, sizeof nargs, &nargs, NULL);
    if (nargs != k->nparams) {
        *msg = msg_fmt(d, "kernel '%s': its OpenCL function takes %u arguments, its "
                          "parameters are %zu", k->name, (unsigned)nargs, k->nparams);
        clReleaseKernel(kobj);
        return FRONTA_EARG;
    }
    rc = check_signature(d, k, kobj, msg);
    if (rc) {
        clReleaseKernel(kobj);
        return rc;
    }
    *out = kobj;
    return 0;
}

/* The kernel object of k on d, built at first use. Failures are not
 * cached: the next task tries again (the program cache keeps successes). */
static int kernel_object(ocl_dev *d, const fronta_kernel_t *k, cl_kernel *out, char **msg)
{
    if (grow_kobj(d, k->index))
        return FRONTA_ENOMEM;
    if (!d->kobj[k->index]) {
        int rc = build_kernel(d, k, &d->kobj[k->index], msg);
        if (rc)
            return rc;
    }
    *out = d->kobj[k->index];
    return 0;
}

/* ---- data and arguments ---- */

/* Buffers the kernel reads made valid here; each buffer allocated. */
static int prepare_buffers(ocl_dev *d, const fronta__ktask *kt, int node, char **msg)
{
    char m[MSG_SIZE];
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        if (a->kind != FRONTA_ARG_BUFFER)
            continue;
        fronta_buffer_t *b = a->buffer;
        pthread_mutex_lock(&b->lock);
        int rc = fronta__coh_alloc(b, node, m, sizeof m);
        if (!rc && (a->access & FRONTA_ACCESS_IN))
            rc = fronta__coh_fetch(b, node, m, sizeof m);
        pthread_mutex_unlock(&b->lock);
        if (rc) {
            *msg = msg_fmt(d, "kernel '%s': %s", kt->k->name, m);
            return rc;
        }
    }
    return 0;
}

static int set_args(ocl_dev *d, const fronta__ktask *kt, int node, cl_kernel kobj, char **msg)
{
    for (uint32_t i = 0; i < kt->nargs; i++) {
        const fronta_arg_t *a = &kt->args[i];
        cl_int err;
        switch (a->kind) {
        case FRONTA_ARG_BUFFER: {
            const ocl_rep *r = a->buffer->rep[node];
            err = clSetKernelArg(kobj, i, sizeof r->mem, &r->mem);
            break;
        }
        case FRONTA_ARG_I32:
            err = clSetKernelArg(kobj, i, sizeof a->v.i32, &a->v.i32);
            break;
        case FRONTA_ARG_I64:
            err = clSetKernelArg(kobj, i, sizeof a->v.i64, &a->v.i64);
            break;
        case FRONTA_ARG_F32:
            err = clSetKernelArg(kobj, i, sizeof a->v.f32, &a->v.f32);
            break;
        default:
            err = clSetKernelArg(kobj, i, sizeof a->v.f64, &a->v.f64);
            break;
        }
        if (err) {
            *msg = msg_fmt(d, "kernel '%s': argument %u does not fit its OpenCL function (%s)",
                           kt->k->name, (unsigned)i, fronta__cl_err_name(err));
            return FRONTA_EARG;
        }
    }
    return 0;
}

/* ---- enqueue ---- */

static void event_free(void *ev)
{
    clReleaseEvent((cl_event)ev);
}

static int enqueue(ocl_dev *d, fronta__ktask *kt, cl_kernel kobj, char **msg)
{
    cl_event stack[16], *wait = stack;
    cl_uint nwait = 0;
    const fronta__allocator *a = &d->st->rt->alloc;
    if (kt->ndeps > 16 && !(wait = fronta__mem_calloc(a, kt->ndeps, sizeof *wait))) {
        *msg = msg_fmt(d, "kernel '%s': out of host memory for its wait list", kt->k->name);
        return FRONTA_ENOMEM;
    }
    /* Chained predecessors: their events order us on the device. */
    for (uint32_t i = 0; i < kt->ndeps; i++) {
        const fronta__ktask *pk = kt->deps[i].early ? fronta__ktask_of(kt->deps[i].pred) : NULL;
        if (pk && pk->event)
            wait[nwait++] = pk->event;
    }
    cl_event ev = NULL;
    cl_int err = fronta__cl_fault(d->st, FRONTA__CLFAULT_ENQUEUE);
    if (!err)
        err = clEnqueueNDRangeKernel(d->q, kobj, 1, NULL, &kt->global,
                                     kt->local ? &kt->local : NULL, nwait,
                                     nwait ? wait : NULL, &ev);
    if (wait != stack)
        fronta__mem_free(a, wait, kt->ndeps * sizeof *wait);
    if (err) {
        *msg = msg_fmt(d, "kernel '%s': enqueue on OpenCL device '%s' failed (%s)",
                       kt->k->name, d->info.name, fronta__cl_err_name(err));
        return FRONTA_EDEVICE;
    }
    kt->event = ev;
    kt->event_free = event_free;
    if (nwait)
        atomic_fetch_add_explicit(&d->chained, 1, memory_order_relaxed);
    return 0;
}

int fronta__cl_launch(ocl_dev *d, fronta_future_t *t, char **msg)
{
    fronta__ktask *kt = fronta__ktask_of(t);
    int node = atomic_load_explicit(&kt->dev, memory_order_relaxed);
    cl_kernel kobj;
    int rc = kernel_object(d, kt->k, &kobj, msg);
    if (!rc)
        rc = prepare_buffers(d, kt, node, msg);
    if (!rc)
        rc = set_args(d, kt, node, kobj, msg);
    if (!rc)
        rc = enqueue(d, kt, kobj, msg);
    if (rc)
        return rc;
    /* In queue order the outputs are now the device's: later kernels on
     * this queue see them; anyone else waits for our completion. */
    for (uint32_t i = 0; i < kt->nargs; i++) {
        fronta_buffer_t *b = kt->args[i].buffer;
        if (kt->args[i].kind != FRONTA_ARG_BUFFER || !(kt->args[i].access & FRONTA_ACCESS_OUT))
            continue;
        pthread_mutex_lock(&b->lock);
        fronta__coh_written(b, node);
        if (((const ocl_rep *)b->rep[node])->zero_copy)
            fronta__cl_wb_note(d, b);
        pthread_mutex_unlock(&b->lock);
    }
    return 0;
}
