/* Tests of the OpenCL program cache (drivers/opencl/program.c): memory and disk hits, build errors, damaged files. */
#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include "drivers/opencl/program.h"

static const char *good = "__kernel void twice(__global float *x) { x[get_global_id(0)] *= 2.0f; }";
static const char *bad = "__kernel void twice(__global float *x) { x[get_global_id(0)] *= ; }";

typedef struct fixture {
    cl_device_id dev;
    cl_context ctx;
    fronta__allocator alloc;
    char dir[256];
} fixture;

static int setup(void **state)
{
    static fixture f;
    cl_platform_id p;
    cl_uint n = 0;
    if (clGetPlatformIDs(1, &p, &n) != CL_SUCCESS || n == 0 ||
        clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &f.dev, &n) != CL_SUCCESS || n == 0)
        return -1; /* no OpenCL: main() skips */
    cl_int err;
    f.ctx = clCreateContext(NULL, 1, &f.dev, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return -1;
    fronta__allocator_init(&f.alloc, NULL, NULL);
    snprintf(f.dir, sizeof f.dir, "/tmp/fronta-clcache-%ld", (long)getpid());
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        print_message("could not remove %s\n", f->dir);
    clReleaseContext(f->ctx);
    return 0;
}

static void kernel_exists(cl_program p)
{
    cl_int err;
    cl_kernel k = clCreateKernel(p, "twice", &err);
    assert_int_equal(err, CL_SUCCESS);
    clReleaseKernel(k);
}

/* Built once, then from memory, then (a new cache: a new process) from disk. */
static void memory_then_disk(void **state)
{
    fixture *f = *state;
    fronta__clprog_cache *c;
    assert_int_equal(fronta__clprog_cache_create(&f->alloc, f->dir, &c), 0);
    assert_string_equal(fronta__clprog_cache_dir(c), f->dir);
    cl_program p1, p2;
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, good, "", &p1, NULL), 0);
    kernel_exists(p1);
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, good, NULL, &p2, NULL), 0);
    assert_ptr_equal(p1, p2); /* NULL options are "" */
    fronta__clprog_stats st;
    fronta__clprog_cache_stats(c, &st);
    assert_int_equal(st.builds + st.disk_hits, 1);
    assert_int_equal(st.memory_hits, 1);
    fronta__clprog_cache_destroy(c);

    assert_int_equal(fronta__clprog_cache_create(&f->alloc, f->dir, &c), 0);
    double t0 = ft_now();
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, good, "", &p1, NULL), 0);
    print_message("[ info     ] from disk in %.3f s\n", ft_now() - t0);
    kernel_exists(p1);
    fronta__clprog_cache_stats(c, &st);
    assert_int_equal(st.disk_hits, 1);
    assert_int_equal(st.builds, 0);
    /* Other options are another program. */
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, good, "-cl-fast-relaxed-math", &p2, NULL), 0);
    assert_ptr_not_equal(p1, p2);
    fronta__clprog_cache_stats(c, &st);
    assert_int_equal(st.builds + st.disk_hits, 2);
    fronta__clprog_cache_destroy(c);
}

/* Invalid source: FRONTA_EBUILD with the compiler's log, nothing cached. */
static void build_error_carries_log(void **state)
{
    fixture *f = *state;
    fronta__clprog_cache *c;
    assert_int_equal(fronta__clprog_cache_create(&f->alloc, f->dir, &c), 0);
    cl_program p = NULL;
    char *log = NULL;
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, bad, "", &p, &log), FRONTA_EBUILD);
    assert_non_null(log);
    print_message("[ info     ] build log: %.120s\n", log);
    assert_non_null(strstr(log, "error"));
    fronta__clprog_log_free(c, log);
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, bad, "", &p, NULL), FRONTA_EBUILD);
    fronta__clprog_stats st;
    fronta__clprog_cache_stats(c, &st);
    assert_int_equal(st.build_failures, 2);
    assert_int_equal(st.memory_hits + st.disk_hits, 0);
    assert_int_equal(fronta__clprog_get(NULL, f->ctx, f->dev, good, "", &p, NULL), FRONTA_EINVAL);
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, NULL, "", &p, NULL), FRONTA_EINVAL);
    fronta__clprog_cache_destroy(c);
}

/* A damaged file is not trusted: the program is built again and the file
 * replaced. An unusable directory leaves a memory-only cache. */
static void damaged_file_and_bad_dir(void **state)
{
    fixture *f = *state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "for x in '%s'/*.clbin; do printf 'FRONTACL1\\ngarbage' > \"$x\"; done",
             f->dir);
    assert_int_equal(system(cmd), 0);
    fronta__clprog_cache *c;
    assert_int_equal(fronta__clprog_cache_create(&f->alloc, f->dir, &c), 0);
    cl_program p;
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, good, "", &p, NULL), 0);
    kernel_exists(p);
    fronta__clprog_stats st;
    fronta__clprog_cache_stats(c, &st);
    assert_int_equal(st.builds, 1);
    fronta__clprog_cache_destroy(c);

    assert_int_equal(fronta__clprog_cache_create(&f->alloc, "/proc/fronta-cannot-be-here", &c), 0);
    assert_string_equal(fronta__clprog_cache_dir(c), "");
    assert_int_equal(fronta__clprog_get(c, f->ctx, f->dev, good, "", &p, NULL), 0);
    kernel_exists(p);
    fronta__clprog_cache_destroy(c);
}

int main(void)
{
    ft_filter();
    cl_platform_id p;
    cl_uint n = 0;
    if (clGetPlatformIDs(1, &p, &n) != CL_SUCCESS || n == 0) {
        puts("no OpenCL platform: skipped");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_then_disk),
        cmocka_unit_test(build_error_carries_log),
        cmocka_unit_test(damaged_file_and_bad_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
