/* Tests of the device list: the CPU pool, OpenCL discovery (PoCL in CI) and FRONTA_DEVICES. */
#include "test_util.h"

static fronta_runtime_t *with_devices(const char *devices, int *rc)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = devices};
    fronta_runtime_t *rt = NULL;
    *rc = fronta_runtime_create(&cfg, &rt);
    return rt;
}

static int opencl_devices(fronta_runtime_t *rt, fronta_device_type_t type)
{
    int n = 0;
    for (int i = 0; i < fronta_device_count(rt); i++) {
        fronta_device_info_t d = {.size = sizeof d};
        assert_int_equal(fronta_device_info(rt, i, &d), 0);
        n += d.kind == FRONTA_DEVICE_OPENCL && (!type || d.type == type);
    }
    return n;
}

/* Device 0 is the pool, whatever FRONTA_DEVICES says. */
static void pool_is_device_zero(void **state)
{
    (void)state;
    int rc;
    fronta_runtime_t *rt = with_devices("cpu", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(fronta_device_count(rt), 1);
    fronta_device_info_t d = {.size = sizeof d};
    assert_int_equal(fronta_device_info(rt, 0, &d), 0);
    assert_int_equal(d.id, 0);
    assert_int_equal(d.kind, FRONTA_DEVICE_CPU_POOL);
    assert_int_equal(d.type, FRONTA_DEVTYPE_CPU);
    assert_int_equal(d.compute_units, 2);
    assert_true(d.name[0] != 0);
    assert_int_equal(fronta_device_info(rt, 1, &d), FRONTA_EINVAL);
    assert_int_equal(fronta_device_info(rt, -1, &d), FRONTA_EINVAL);
    assert_int_equal(fronta_device_info(NULL, 0, &d), FRONTA_EINVAL);
    assert_int_equal(fronta_device_info(rt, 0, NULL), FRONTA_EINVAL);
    assert_string_equal(fronta_device_type_name(d.type), "cpu");
    assert_string_equal(fronta_device_type_name(FRONTA_DEVTYPE_GPU), "gpu");
    assert_string_equal(fronta_device_type_name((fronta_device_type_t)0), "other");
    assert_int_equal(fronta_device_count(NULL), FRONTA_EINVAL);
    fronta_runtime_destroy(rt);
}

/* "all" (the default) finds the OpenCL devices; PoCL in CI. Skipped where
 * the machine has no OpenCL platform at all. */
static void opencl_devices_are_listed(void **state)
{
    (void)state;
    int rc;
    fronta_runtime_t *rt = with_devices("all", &rc);
    assert_int_equal(rc, 0);
    int n = opencl_devices(rt, 0);
    print_message("[ info     ] %d OpenCL device(s)\n", n);
    if (n == 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    for (int i = 1; i < fronta_device_count(rt); i++) {
        fronta_device_info_t d = {.size = sizeof d};
        assert_int_equal(fronta_device_info(rt, i, &d), 0);
        print_message("[ info     ] %d: %s | %s | %s | %u units | %llu bytes | unified %d\n",
                      d.id, d.name, d.vendor, d.platform, d.compute_units,
                      (unsigned long long)d.global_mem, d.unified_memory);
        assert_int_equal(d.id, i);
        assert_int_equal(d.kind, FRONTA_DEVICE_OPENCL);
        assert_true(d.name[0] && d.platform[0] && d.version[0]);
        assert_true(d.compute_units >= 1);
        assert_true(d.global_mem > 0);
    }
    /* The same list selected by kind, by type and by a piece of a name. */
    fronta_device_info_t first = {.size = sizeof first};
    assert_int_equal(fronta_device_info(rt, 1, &first), 0);
    fronta_runtime_destroy(rt);

    rt = with_devices("opencl", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(opencl_devices(rt, 0), n);
    fronta_runtime_destroy(rt);

    char piece[8];
    snprintf(piece, sizeof piece, "%s", first.name + (strlen(first.name) > 3 ? 1 : 0));
    rt = with_devices(piece, &rc);
    assert_int_equal(rc, 0);
    assert_true(opencl_devices(rt, 0) >= 1);
    fronta_runtime_destroy(rt);

    const char *type = first.type == FRONTA_DEVTYPE_GPU ? "opencl:gpu"
                       : first.type == FRONTA_DEVTYPE_CPU ? "opencl:cpu"
                                                          : NULL;
    if (type) {
        rt = with_devices(type, &rc);
        assert_int_equal(rc, 0);
        assert_true(opencl_devices(rt, first.type) >= 1);
        assert_int_equal(opencl_devices(rt, 0), opencl_devices(rt, first.type));
        fronta_runtime_destroy(rt);
    }
}

/* A token that selects nothing fails create, with no runtime left over. */
static void unknown_devices_fail_create(void **state)
{
    (void)state;
    const char *bad[] = {"no-such-device-xyz", "opencl:toaster", "cpu,no-such-device-xyz", ",",
                         "cpu:gpu"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        fronta_runtime_t *rt = with_devices(bad[i], &rc);
        assert_int_equal(rc, FRONTA_ENODEV);
        assert_null(rt);
    }
}

/* "cpu" means the pool alone, even where an OpenCL device's name says CPU;
 * a GPU asked for where there is none is an error, not a fallback. */
static void cpu_means_pool_and_gpu_is_checked(void **state)
{
    (void)state;
    int rc;
    fronta_runtime_t *rt = with_devices("CPU", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(opencl_devices(rt, 0), 0);
    fronta_runtime_destroy(rt);

    rt = with_devices("all", &rc);
    assert_int_equal(rc, 0);
    int gpus = opencl_devices(rt, FRONTA_DEVTYPE_GPU);
    fronta_runtime_destroy(rt);
    rt = with_devices("opencl:gpu", &rc);
    assert_int_equal(rc, gpus ? 0 : FRONTA_ENODEV);
    fronta_runtime_destroy(rt);
}

/* The config wins over the environment. */
static void config_wins_over_environment(void **state)
{
    (void)state;
    setenv("FRONTA_DEVICES", "no-such-device-xyz", 1);
    int rc;
    fronta_runtime_t *rt = with_devices("cpu", &rc);
    assert_int_equal(rc, 0);
    fronta_runtime_destroy(rt);
    rt = with_devices(NULL, &rc);
    assert_int_equal(rc, FRONTA_ENODEV);
    unsetenv("FRONTA_DEVICES");
}

/* A caller's older, shorter info struct gets only the fields it has. */
static void info_size_is_honoured(void **state)
{
    (void)state;
    int rc;
    fronta_runtime_t *rt = with_devices("cpu", &rc);
    assert_int_equal(rc, 0);
    size_t n = offsetof(fronta_device_info_t, vendor);
    fronta_device_info_t d;
    memset(&d, 0x5a, sizeof d);
    d.size = n;
    assert_int_equal(fronta_device_info(rt, 0, &d), 0);
    assert_string_equal(d.name, "OpenMP pool");
    assert_int_equal((unsigned char)d.vendor[0], 0x5a); /* untouched */
    d.size = 1;
    assert_int_equal(fronta_device_info(rt, 0, &d), FRONTA_EINVAL);
    fronta_runtime_destroy(rt);
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_is_device_zero),
        cmocka_unit_test(opencl_devices_are_listed),
        cmocka_unit_test(unknown_devices_fail_create),
        cmocka_unit_test(cpu_means_pool_and_gpu_is_checked),
        cmocka_unit_test(config_wins_over_environment),
        cmocka_unit_test(info_size_is_honoured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
