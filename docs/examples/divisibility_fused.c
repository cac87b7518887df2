/* divisibility_fused.c — the talk's demo as a C user writes it for speed: partition, one fused kernel mapped over the chunks, compaction. */
/*
 * data[(data % 3 == 0) & (data % 5 == 0) & (data % 7 == 0)] over
 * np.arange(size) in 9 fronta calls, marked [1] .. [9] below: 3 do the
 * work (the map, which cuts x and the mask into chunks alike for itself,
 * the compaction, its count), 6 set up and tear down (runtime, kernel,
 * three buffers, the runtime again, which leaves data[mask] in out[]).
 * divisibility.c is the same computation as the talk's graph of small
 * tasks, failures and retries included.
 */
#include <fronta.h>
#include <stdio.h>
#include <stdlib.h>

/* The fused kernel: one pass instead of three masks and two ands. Its
 * CPU implementation gets one chunk's host arrays; the OpenCL one runs
 * one work item per element, on whichever device the runtime picks. */
static int div357_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t na, size_t n)
{
    const int64_t *x = a[0].ptr;
    uint8_t *m = a[1].ptr;

    (void)ctx;
    (void)na;
    for (size_t i = 0; i < n; i++)
        m[i] = (x[i] % 3 == 0) & (x[i] % 5 == 0) & (x[i] % 7 == 0);
    return 0;
}

static const char div357_cl[] =
    "__kernel void div357(__global const long *x, __global uchar *m)\n"
    "{\n"
    "    long v = x[get_global_id(0)];\n"
    "    m[get_global_id(0)] = (v % 3 == 0) & (v % 5 == 0) & (v % 7 == 0);\n"
    "}\n";

static const fronta_param_t div357_params[] = {
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT64, .access = FRONTA_ACCESS_IN},
    {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_UINT8, .access = FRONTA_ACCESS_OUT},
};

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : (size_t)1 << 22, k = 0;
    int64_t *data = malloc(n * sizeof *data), *out = malloc(n * sizeof *out), kept = -1;
    fronta_kernel_desc_t kd = {.name = "div357", .params = div357_params, .nparams = 2,
                               .cpu = div357_cpu, .cl_source = div357_cl};
    fronta_runtime_t *rt;
    fronta_kernel_t *div357;
    fronta_buffer_t *x, *m, *o;
    fronta_future_t *map, *count;
    int rc;

    if (!n || !data || !out)
        return 2;
    for (size_t i = 0; i < n; i++)
        data[i] = (int64_t)i; /* np.arange(n) */

    if (fronta_runtime_create(NULL, &rt) != 0)                                      /* [1] */
        return 1;
    rc = fronta_kernel_create(rt, &kd, &div357)                                    /* [2] */
         || fronta_buffer_wrap(rt, data, n, FRONTA_INT64, &x)                      /* [3] */
         || fronta_buffer_create(rt, n, FRONTA_UINT8, &m)                          /* [4] */
         || fronta_buffer_wrap(rt, out, n, FRONTA_INT64, &o)                       /* [5] */
         || fronta_submit_map(rt, &(fronta_task_desc_t){.kernel = div357,          /* [6] */
                                                        .args = {FRONTA_IN(x), FRONTA_OUT(m)}},
                              &map, NULL)
         || fronta_compact(rt, x, m, o, &count)                                    /* [7] */
         || fronta_future_result(count, -1.0, &kept, sizeof kept);                 /* [8] */
    fronta_runtime_destroy(rt);                    /* [9] out[] holds data[mask] */

    for (size_t i = 0; i < n && rc == 0; i++)          /* the same, as a serial loop */
        if (data[i] % 3 == 0 && data[i] % 5 == 0 && data[i] % 7 == 0)
            rc = (int64_t)k >= kept || out[k++] != data[i];
    rc = rc || (int64_t)k != kept;
    if (rc == 0)
        printf("kept %lld of %zu elements, one kernel per chunk\n", (long long)kept, n);
    else
        fprintf(stderr, "divisibility_fused: failed or wrong (kept %lld elements)\n",
                (long long)kept);
    free(data);
    free(out);
    return rc != 0;
}
