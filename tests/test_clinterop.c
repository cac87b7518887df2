/* Tests of fronta_opencl.h: the driver's context and queue, and device access to buffers from the user's own OpenCL code, in order with fronta's tasks. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "test_kernels.h"

#include "fronta_opencl.h"

static const char *user_src =
    "__kernel void twice(__global uint *x) { size_t i = get_global_id(0); x[i] = x[i] * 2u + 1u; }\n"
    "__kernel void fill3(__global uint *x) { size_t i = get_global_id(0); x[i] = 3u * (uint)i; }\n";

#define CL_OK(call)                                                            \
    do {                                                                       \
        cl_int e_ = (call);                                                    \
        if (e_ != CL_SUCCESS)                                                  \
            fail_msg("%s: OpenCL error %d", #call, (int)e_);                   \
    } while (0)

enum { N = 1021 };

static void run_kernel(cl_command_queue q, cl_kernel k, cl_mem m)
{
    size_t global = N;
    CL_OK(clSetKernelArg(k, 0, sizeof m, &m));
    CL_OK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
    /* No clFinish: the queue orders fronta's later commands after it. */
}

static void pause_a_little(void)
{
    double until = ft_now() + 0.05;
    while (ft_now() < until)
        sched_yield();
}

static void interop(int zero_copy)
{
    fronta_runtime_t *rt = ft_runtime_dev("all", zero_copy);
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    cl_context ctx = NULL;
    cl_command_queue q = NULL;
    cl_device_id dev = NULL;
    assert_int_equal(fronta_opencl_device(rt, cl, &ctx, &q, &dev), 0);
    assert_non_null(ctx);
    assert_non_null(q);
    assert_non_null(dev);
    assert_int_equal(fronta_opencl_device(rt, cl, NULL, NULL, NULL), 0);
    assert_int_equal(fronta_opencl_device(rt, 0, &ctx, &q, &dev), FRONTA_ENODEV);
    assert_int_equal(fronta_opencl_device(rt, -1, &ctx, &q, &dev), FRONTA_ENODEV);
    assert_int_equal(fronta_opencl_device(rt, fronta_device_count(rt), &ctx, &q, &dev),
                     FRONTA_ENODEV);
    assert_int_equal(fronta_opencl_device(rt, cl, &ctx, &q, &dev), 0);
    /* The queue belongs to that context and device. */
    cl_context qctx = NULL;
    cl_device_id qdev = NULL;
    CL_OK(clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL));
    CL_OK(clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL));
    assert_ptr_equal(qctx, ctx);
    assert_ptr_equal(qdev, dev);

    cl_int err;
    cl_program prog = clCreateProgramWithSource(ctx, 1, &user_src, NULL, &err);
    CL_OK(err);
    CL_OK(clBuildProgram(prog, 1, &dev, "", NULL, NULL));
    cl_kernel twice = clCreateKernel(prog, "twice", &err);
    CL_OK(err);
    cl_kernel fill3 = clCreateKernel(prog, "fill3", &err);
    CL_OK(err);

    ft_kernels_t k = ft_kernels(rt, "", FT_IMPL_BOTH);
    uint32_t *arr = malloc(N * sizeof *arr), *model = malloc(N * sizeof *model);
    assert_non_null(arr);
    assert_non_null(model);
    for (size_t i = 0; i < N; i++)
        arr[i] = model[i] = (uint32_t)i;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, arr, N, FRONTA_INT32, &b), 0);
    cl_mem m = (cl_mem)&m;
    assert_int_equal(fronta_opencl_buffer_acquire(b, 0, FRONTA_ACCESS_IN, FT_LIMIT, &m),
                     FRONTA_ENODEV);
    assert_null(m);
    assert_int_equal(fronta_opencl_buffer_acquire(b, cl, FRONTA_ACCESS_IN, FT_LIMIT, NULL),
                     FRONTA_EINVAL);
    assert_int_equal(fronta_opencl_buffer_acquire(NULL, cl, FRONTA_ACCESS_IN, FT_LIMIT, &m),
                     FRONTA_EINVAL);

    /* 1. A pool task, then the user's kernel (INOUT) on the device copy: it
     * waits for the task, and a task submitted meanwhile waits for it. */
    fronta_task_desc_t t5 = ft_task(k.add_const, FRONTA_NEED_CPU_POOL, FRONTA_INOUT(b),
                                    FRONTA_I32(5), FT_NOARG);
    fronta_future_t *f1 = ft_submit_ok(rt, &t5);
    assert_int_equal(fronta_opencl_buffer_acquire(b, cl, FRONTA_ACCESS_INOUT, FT_LIMIT, &m), 0);
    assert_non_null(m);
    assert_true(fronta_future_done(f1));
    run_kernel(q, twice, m);
    fronta_task_desc_t t7 = ft_task(k.add_const, FRONTA_NEED_OPENCL, FRONTA_INOUT(b),
                                    FRONTA_I32(7), FT_NOARG);
    fronta_future_t *f2 = ft_submit_ok(rt, &t7);
    pause_a_little();
    assert_false(fronta_future_done(f2));
    assert_int_equal(fronta_buffer_release(b), 0);
    FT_EXPECT_OUTCOME(f1, 0);
    FT_EXPECT_OUTCOME(f2, 0);
    for (size_t i = 0; i < N; i++)
        model[i] = ft_model_add_const(ft_model_add_const(model[i], 5, i) * 2u + 1u, 7, i);
    ft_check_buffer(b, model, N, "after pool, user kernel, device task");
    fronta_future_release(f1);
    fronta_future_release(f2);

    /* 2. The user's kernel right before a host read: no task between. */
    assert_int_equal(fronta_opencl_buffer_acquire(b, cl, FRONTA_ACCESS_INOUT, FT_LIMIT, &m), 0);
    run_kernel(q, twice, m);
    assert_int_equal(fronta_buffer_release(b), 0);
    for (size_t i = 0; i < N; i++)
        model[i] = model[i] * 2u + 1u;
    ft_check_buffer(b, model, N, "a host read after the user's kernel");

    /* 3. The host writes; the user reads the device copy (IN). */
    void *p;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_INOUT, FT_LIMIT, &p), 0);
    for (size_t i = 0; i < N; i++)
        ((uint32_t *)p)[i] = model[i] = (uint32_t)i * 11u + 2u;
    assert_int_equal(fronta_buffer_release(b), 0);
    assert_int_equal(fronta_opencl_buffer_acquire(b, cl, FRONTA_ACCESS_IN, FT_LIMIT, &m), 0);
    uint32_t *tmp = malloc(N * sizeof *tmp);
    assert_non_null(tmp);
    CL_OK(clEnqueueReadBuffer(q, m, CL_TRUE, 0, N * sizeof *tmp, tmp, 0, NULL, NULL));
    assert_int_equal(fronta_buffer_release(b), 0);
    for (size_t i = 0; i < N; i++)
        if (tmp[i] != model[i])
            fail_msg("device copy: element %zu is %u, expected %u", i, tmp[i], model[i]);
    free(tmp);

    /* 4. OUT: the user's kernel makes the contents; a pool task reads them. */
    assert_int_equal(fronta_opencl_buffer_acquire(b, cl, FRONTA_ACCESS_OUT, FT_LIMIT, &m), 0);
    run_kernel(q, fill3, m);
    assert_int_equal(fronta_buffer_release(b), 0);
    fronta_future_t *f3 = ft_submit_ok(rt, &t5);
    FT_EXPECT_OUTCOME(f3, 0);
    fronta_future_release(f3);
    for (size_t i = 0; i < N; i++)
        model[i] = ft_model_add_const(3u * (uint32_t)i, 5, i);
    ft_check_buffer(b, model, N, "a pool task after the user's OUT");

    /* 5. The user's kernel last: destroy leaves its result in the array. */
    assert_int_equal(fronta_opencl_buffer_acquire(b, cl, FRONTA_ACCESS_INOUT, FT_LIMIT, &m), 0);
    run_kernel(q, twice, m);
    assert_int_equal(fronta_buffer_release(b), 0);
    for (size_t i = 0; i < N; i++)
        model[i] = model[i] * 2u + 1u;
    assert_int_equal(fronta_buffer_destroy(b), 0);
    for (size_t i = 0; i < N; i++)
        if (arr[i] != model[i])
            fail_msg("after destroy: element %zu is %u, expected %u", i, arr[i], model[i]);

    clReleaseKernel(twice);
    clReleaseKernel(fill3);
    clReleaseProgram(prog);
    free(arr);
    free(model);
    fronta_runtime_destroy(rt);
}

static void interop_zero_copy(void **state)
{
    (void)state;
    interop(0);
}

static void interop_copy_path(void **state)
{
    (void)state;
    interop(-1);
}

int main(void)
{
    ft_filter();
    ft_cache_env();
    if (!ft_have_opencl()) {
        puts("no OpenCL device: skipped");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interop_zero_copy),
        cmocka_unit_test(interop_copy_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
