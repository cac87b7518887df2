/* The signature check of an OpenCL kernel function: its arguments, as the
 * driver describes them, against the kernel's parameters (a type-generic
 * kernel's against the types of the variant built), then against the
 * shape arguments FRONTA_KERNEL_CL_SHAPE_ARGS appends. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/opencl/opencl.h"

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

static int is_pointer(const ocl_arg *a)
{
    return a->addr == CL_KERNEL_ARG_ADDRESS_GLOBAL || a->addr == CL_KERNEL_ARG_ADDRESS_CONSTANT;
}

/* A __global or __constant pointer to elem (to vectors of it too); elem
 * 0: to anything. */
static int pointer_fits(int elem, const ocl_arg *a)
{
    int width, e = type_elem(a->type, &width);
    return is_pointer(a) && (!elem || !e || e == elem);
}

/* A private value of elem. set_args relies on it: PoCL dereferences a
 * scalar's bytes given for a pointer and crashes. */
static int value_fits(int elem, const ocl_arg *a)
{
    int width, e = type_elem(a->type, &width);
    return a->addr == CL_KERNEL_ARG_ADDRESS_PRIVATE && (!e || (e == elem && width == 1));
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
                                         "FRONTA_ARG_F32",  "FRONTA_ARG_F64",
                                         "FRONTA_ARG_SCALAR"};
static const char *const dtype_names[] = {"", "FRONTA_UINT8", "FRONTA_INT32", "FRONTA_INT64",
                                          "FRONTA_FLOAT", "FRONTA_DOUBLE", "?", "?"};
static const char *const scalar_names[] = {"", "FRONTA_ARG_I32", "FRONTA_ARG_I32",
                                           "FRONTA_ARG_I64", "FRONTA_ARG_F32",
                                           "FRONTA_ARG_F64", "?", "?"};
/* -DT<i>= of each element type (variant.c spells the same). */
static const char *const cl_names[] = {"?", "uchar", "int", "long", "float", "double", "?", "?"};

/* Whether parameter p takes its type from the task (a family, a like
 * rule, FRONTA_ARG_SCALAR): a generic kernel's variant fixes it. */
static int takes_family(const fronta_param_t *p)
{
    return p->kind == FRONTA_ARG_SCALAR || p->like ||
           (p->kind == FRONTA_ARG_BUFFER && !p->dtype && p->dtypes);
}

/* The element type argument i must have in variant sig; 0: any. */
static int expected_elem(const fronta_kernel_t *k, uint64_t sig, size_t i)
{
    const fronta_param_t *p = &k->params[i];
    if (k->generic && takes_family(p))
        return (int)fronta__cl_sig_elem(sig, i);
    if (p->kind == FRONTA_ARG_BUFFER)
        return (int)p->dtype;
    fronta_arg_t scalar = {.kind = p->kind};
    return (int)fronta__arg_elem(&scalar);
}

static int mismatch(ocl_dev *d, const fronta_kernel_t *k, uint64_t sig, cl_uint i,
                    const ocl_arg *a, char **msg)
{
    const fronta_param_t *p = &k->params[i];
    char takes[160];
    arg_spell(a, takes, sizeof takes);
    if (k->generic && takes_family(p)) {
        unsigned e = fronta__cl_sig_elem(sig, i);
        int buf = p->kind == FRONTA_ARG_BUFFER;
        *msg = fronta__cl_msg_fmt(
            d, "kernel '%s': argument %u is declared %s%s, here %s (-DT%u=%s), but its "
               "OpenCL function takes '%s'", k->name, (unsigned)i, kind_names[p->kind],
            buf ? " of a type family" : "", buf ? dtype_names[e] : scalar_names[e],
            (unsigned)i, cl_names[e], takes);
        return FRONTA_EARG;
    }
    int typed = p->kind == FRONTA_ARG_BUFFER && p->dtype;
    *msg = fronta__cl_msg_fmt(d, "kernel '%s': argument %u is declared %s%s%s but its OpenCL "
                                 "function takes '%s'", k->name, (unsigned)i,
                              kind_names[p->kind], typed ? " of " : "",
                              typed ? dtype_names[p->dtype & 7] : "", takes);
    return FRONTA_EARG;
}

cl_uint fronta__cl_trailer(const fronta_kernel_t *k)
{
    if (!(k->flags & FRONTA_KERNEL_CL_SHAPE_ARGS))
        return 0;
    cl_uint n = 2 + (k->cl_scratch != NULL) + (k->cl_passes > 1);
    for (size_t i = 0; i < k->nparams; i++)
        n += k->params[i].kind == FRONTA_ARG_BUFFER;
    return n;
}

/* What trailer argument j (0: rows) must be, spelt as in source, and
 * whether a fits it. */
static int trailer_fits(const fronta_kernel_t *k, cl_uint j, const ocl_arg *a, char *what,
                        size_t size)
{
    cl_uint nbuf = fronta__cl_trailer(k) - 2 - (k->cl_scratch != NULL) - (k->cl_passes > 1);
    if (j < 2) {
        snprintf(what, size, "ulong %s", j ? "cols" : "rows");
        return value_fits(FRONTA_INT64, a);
    }
    if (j < 2 + nbuf) {
        size_t b = 0, seen = 0;
        while (b < k->nparams && (k->params[b].kind != FRONTA_ARG_BUFFER || seen++ < j - 2))
            b++;
        snprintf(what, size, "ulong, the count of argument %zu", b);
        return value_fits(FRONTA_INT64, a);
    }
    if (k->cl_scratch && j == 2 + nbuf) {
        /* Any pointee: a kernel may see its scratch as T0 partials. */
        snprintf(what, size, "__global uchar *scratch");
        return a->addr == CL_KERNEL_ARG_ADDRESS_GLOBAL;
    }
    snprintf(what, size, "uint pass");
    return value_fits(FRONTA_INT32, a);
}

static int trailer_mismatch(ocl_dev *d, const fronta_kernel_t *k, cl_uint i, const ocl_arg *a,
                            const char *what, char **msg)
{
    char takes[160];
    arg_spell(a, takes, sizeof takes);
    *msg = fronta__cl_msg_fmt(d, "kernel '%s': argument %u of its OpenCL function is the shape "
                                 "argument '%s' (FRONTA_KERNEL_CL_SHAPE_ARGS) but it takes '%s'",
                              k->name, (unsigned)i, what, takes);
    return FRONTA_EARG;
}

/* OpenCL 1.2 guarantees argument info only for a program built from
 * source with -cl-kernel-arg-info (which the program cache adds to every
 * build); a program from a cached binary may lack it (PoCL 3.1 has it
 * when the binary is built with that option, as the cache does). Where it
 * is not available the count check stands alone: recompiling from source
 * only to check would undo the disk cache. */
int fronta__cl_check_signature(ocl_dev *d, const fronta_kernel_t *k, uint64_t sig,
                               cl_kernel obj, char **msg)
{
    cl_uint n = (cl_uint)k->nparams + fronta__cl_trailer(k);
    for (cl_uint i = 0; i < n; i++) {
        ocl_arg a;
        cl_int err = arg_info(obj, i, &a);
        if (err) {
            FRONTA__LOG(d->st->rt, FRONTA_LOG_DEBUG,
                        "kernel '%s' on '%s': no argument info (%s), only the argument "
                        "count is checked", k->name, d->info.name,
                        err == CL_KERNEL_ARG_INFO_NOT_AVAILABLE
                            ? "CL_KERNEL_ARG_INFO_NOT_AVAILABLE"
                            : fronta__cl_err_name(err));
            return 0;
        }
        if (i >= k->nparams) {
            char what[64];
            if (!trailer_fits(k, i - (cl_uint)k->nparams, &a, what, sizeof what))
                return trailer_mismatch(d, k, i, &a, what, msg);
            continue;
        }
        int elem = expected_elem(k, sig, i);
        int fits = k->params[i].kind == FRONTA_ARG_BUFFER ? pointer_fits(elem, &a)
                                                          : value_fits(elem, &a);
        if (!fits)
            return mismatch(d, k, sig, i, &a, msg);
    }
    return 0;
}
