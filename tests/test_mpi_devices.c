/* A rank's OpenCL device under fronta_mpi: kernel tasks placed on each
 * rank's device read versions received from another rank and write ones
 * that another rank then receives, so every transfer passes between a
 * device replica and the message (the progress thread brings a device's
 * copy home before a send; a received version goes up for the kernel). */
#include "test_mpi.h"

#define DN 4099 /* doubles: no multiple of a work-group */

/* A runtime with the pool and the first OpenCL device, on every rank; 0
 * on every rank when one of them has no device (then the case skips). */
static int env_devices(env *e, int *cl)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "all",
                           .log_level = FRONTA_LOG_OFF};
    FM_REQUIRE(fronta_runtime_create(&cfg, &e->rt) == 0);
    *cl = ft_cl_device(e->rt, 0);
    int have = *cl >= 0, all = 0;
    MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all) {
        FM_REQUIRE(fronta_runtime_destroy(e->rt) == 0);
        return 0;
    }
    FM_REQUIRE(fronta_mpi_attach(e->rt, MPI_COMM_WORLD, &e->m) == 0);
    return 1;
}

/* One kernel task on `rank`, placed by needs; its handle (every rank). */
static fronta_future_t *on(env *e, int rank, fronta_need_t need, const char *kernel,
                           fronta_arg_t a0, fronta_arg_t a1)
{
    fronta_task_desc_t t = {.size = sizeof t, .kernel = fronta_kernel_builtin(e->rt, kernel),
                            .args = {a0, a1}, .nargs = 2, .needs.device = need};
    fronta_future_t *f = NULL;
    FM_REQUIRE(t.kernel && fronta_mpi_submit(e->m, rank, &t, &f) == 0 && f);
    return f;
}

/* x = 3 on rank 0's device; y = x, y *= 2 on the last rank's device; z = y
 * on rank 0's pool: z is 6 everywhere, and each task ran where its needs
 * said, on its rank. */
void devices_per_rank(void **state)
{
    (void)state;
    env e;
    int cl = -1;
    if (!env_devices(&e, &cl))
        skip();
    int last = fm_size - 1;
    fronta_buffer_t *x, *y, *z;
    FM_REQUIRE(fronta_buffer_create(e.rt, DN, FRONTA_DOUBLE, &x) == 0);
    FM_REQUIRE(fronta_buffer_create(e.rt, DN, FRONTA_DOUBLE, &y) == 0);
    FM_REQUIRE(fronta_buffer_create(e.rt, DN, FRONTA_DOUBLE, &z) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, x, 0) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, y, last) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, z, 0) == 0);
    fronta_future_t *f[4];
    f[0] = on(&e, 0, FRONTA_NEED_OPENCL, "fill", FRONTA_OUT(x), FRONTA_F64(3.0));
    f[1] = on(&e, last, FRONTA_NEED_OPENCL, "copy", FRONTA_IN(x), FRONTA_OUT(y));
    f[2] = on(&e, last, FRONTA_NEED_OPENCL, "scale", FRONTA_INOUT(y), FRONTA_F64(2.0));
    f[3] = on(&e, 0, FRONTA_NEED_CPU_POOL, "copy", FRONTA_IN(y), FRONTA_OUT(z));
    const int ran_on[4] = {0, last, last, 0}, device[4] = {cl, cl, cl, 0};
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        FM_REQUIRE(fronta_future_wait(f[i], FT_LIMIT) == 0);
        bad |= fronta_future_error(f[i], NULL) != 0;
        if (ran_on[i] == fm_rank && fronta_future_device(f[i]) != device[i]) {
            print_error("rank %d: task %d ran on device %d, not %d\n", fm_rank, i,
                        fronta_future_device(f[i]), device[i]);
            bad = 1;
        }
        fronta_future_release(f[i]);
    }
    double z0 = 0, zn = 0;
    if (fm_rank == 0) {
        void *h = NULL;
        FM_REQUIRE(fronta_buffer_acquire(z, FRONTA_ACCESS_IN, FT_LIMIT, &h) == 0);
        const double *v = h;
        for (size_t i = 0; i < DN; i++)
            bad |= v[i] != 6.0;
        z0 = v[0], zn = v[DN - 1];
        FM_REQUIRE(fronta_buffer_release(z) == 0);
    }
    fronta_mpi_stats_t s = stats(&e);
    env_down(&e);
    int any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (fm_rank == 0 && any)
        print_error("z[0] %g, z[%d] %g (want 6)\n", z0, DN - 1, zn);
    assert_int_equal(any, 0);
    /* x to the last rank, y back to rank 0: one message each way. */
    if (fm_rank == 0 || fm_rank == last)
        assert_int_equal(s.bytes_sent + s.bytes_received, 2 * DN * sizeof(double));
}
