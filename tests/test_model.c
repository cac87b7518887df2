/* Tests of the performance models (sched/model.c) and the heft policy (sched/heft.c): estimator, buckets, transfers, backlog, files, placement. */
#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/kernel.h"
#include "sched/model.h"
#include "sched/sched.h"

/* ---- fixtures: a CPU runtime for the allocator and settings, and fake
 * devices: 0 the pool, 1 a discrete GPU, 2 a device sharing host memory ---- */

static char cache_dir[256];
static fronta_runtime_t *rt;
static fronta_device_info_t devs[3];

static void make_devs(void)
{
    memset(devs, 0, sizeof devs);
    devs[0] = (fronta_device_info_t){.kind = FRONTA_DEVICE_CPU_POOL, .type = FRONTA_DEVTYPE_CPU,
                                     .compute_units = 2, .unified_memory = 1};
    snprintf(devs[0].name, sizeof devs[0].name, "test pool");
    snprintf(devs[0].version, sizeof devs[0].version, "1");
    devs[1] = (fronta_device_info_t){.kind = FRONTA_DEVICE_OPENCL, .type = FRONTA_DEVTYPE_GPU,
                                     .compute_units = 4};
    snprintf(devs[1].name, sizeof devs[1].name, "test gpu");
    snprintf(devs[1].version, sizeof devs[1].version, "2.0 tab\there");
    snprintf(devs[1].platform, sizeof devs[1].platform, "test platform");
    devs[2] = (fronta_device_info_t){.kind = FRONTA_DEVICE_OPENCL, .type = FRONTA_DEVTYPE_CPU,
                                     .compute_units = 2, .unified_memory = 1};
    snprintf(devs[2].name, sizeof devs[2].name, "test shared");
}

/* A fresh, empty directory as FRONTA_CACHE_DIR (a level that does not
 * exist yet: close must create it). */
static char bases[16][32];
static int nbases;

static void fresh_dir(void)
{
    assert_true(nbases < 16);
    char *base = bases[nbases];
    snprintf(base, sizeof bases[0], "/tmp/fronta-model-XXXXXX");
    assert_non_null(mkdtemp(base));
    snprintf(cache_dir, sizeof cache_dir, "%s/sub%d", base, nbases++);
    setenv("FRONTA_CACHE_DIR", cache_dir, 1);
}

static void remove_dirs(void)
{
    for (int i = 0; i < nbases; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", bases[i]);
        if (system(cmd) != 0)
            print_message("could not remove %s\n", bases[i]);
    }
}

static fronta__models *open_models(void)
{
    fronta__models *m = NULL;
    assert_int_equal(fronta__models_open_with(rt, devs, 3, &m), 0);
    assert_non_null(m);
    return m;
}

static struct fronta_kernel kern_a = {.index = 0, .name = "t.kern"};
static struct fronta_kernel kern_b = {.index = 1, .name = "t.other"};

static fronta__ktask task_of(struct fronta_kernel *k, size_t n)
{
    fronta__ktask kt;
    memset(&kt, 0, sizeof kt);
    kt.k = k;
    kt.nargs = 1;
    kt.args[0] = (fronta_arg_t){.kind = FRONTA_ARG_F32};
    kt.shape = (fronta__shape){.rows = 1, .cols = n, .n = n, .dims = 1};
    kt.est_dev = -1;
    return kt;
}

static void feed(fronta__models *m, struct fronta_kernel *k, size_t n, int dev, uint64_t ns,
                 int times)
{
    for (int i = 0; i < times; i++) {
        fronta__ktask kt = task_of(k, n);
        fronta__models_placed(m, &kt, dev, 1);
        fronta__models_ran(m, &kt, dev, ns, 1);
    }
}

static fronta__estimate est(fronta__models *m, struct fronta_kernel *k, size_t n, int dev)
{
    fronta__ktask kt = task_of(k, n);
    fronta__estimate e;
    fronta__models_estimate(m, &kt, dev, &e);
    return e;
}

/* ---- the estimator ---- */

static void prior_then_median(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    fronta__estimate e = est(m, &kern_a, 1000, 1);
    assert_int_equal(e.source, FRONTA__EST_PRIOR);
    assert_true(e.conf == 0.0);
    assert_true(e.ns > 0);
    /* Priors scale with compute units: the 4-unit GPU's per-element cost
     * is half the 2-unit shared device's. */
    uint64_t big1 = est(m, &kern_a, 1 << 24, 1).ns, big2 = est(m, &kern_a, 1 << 24, 2).ns;
    assert_true(big1 < big2 && big2 < 3 * big1);
    feed(m, &kern_a, 1000, 1, 5000, 1);
    e = est(m, &kern_a, 1000, 1);
    assert_int_equal(e.source, FRONTA__EST_SAMPLES);
    assert_int_equal(e.ns, 5000);
    assert_int_equal(e.samples, 1);
    assert_true(e.conf > 0.3 && e.conf < 0.34); /* 1/3 */
    /* One 100x spike, then agreeing samples: the estimate never moves. */
    feed(m, &kern_a, 1000, 1, 500000, 1);
    assert_int_equal(est(m, &kern_a, 1000, 1).ns, 5000);
    feed(m, &kern_a, 1000, 1, 5000, 14);
    e = est(m, &kern_a, 1000, 1);
    assert_int_equal(e.ns, 5000);
    assert_int_equal(e.samples, 16);
    assert_true(e.conf > 0.85); /* 16/18 */
    /* Other devices and sizes learnt nothing. */
    assert_int_equal(est(m, &kern_a, 1000, 2).source, FRONTA__EST_PRIOR);
    assert_int_equal(est(m, &kern_b, 1000, 1).source, FRONTA__EST_PRIOR);
    fronta__models_close(m);
}

static void confidence_reads_spread(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    double prev = 0;
    for (int i = 1; i <= 8; i++) { /* rises with agreeing samples */
        feed(m, &kern_a, 64, 1, 1000, 1);
        double c = est(m, &kern_a, 64, 1).conf;
        assert_true(c > prev);
        prev = c;
    }
    /* The same count of samples spread +-20%: less sure; two clusters
     * far apart: hardly at all. */
    static const uint64_t mild[8] = {800, 900, 1000, 1100, 1200, 850, 950, 1050};
    for (int i = 0; i < 8; i++) {
        feed(m, &kern_a, 64, 2, mild[i], 1);
        feed(m, &kern_a, 64, 0, i % 2 ? 500 : 1500, 1);
    }
    fronta__estimate some = est(m, &kern_a, 64, 2), wide = est(m, &kern_a, 64, 0);
    print_message("confidence of 8 samples: agreeing %.3f, +-20%% %.3f, +-50%% %.3f\n", prev,
                  some.conf, wide.conf);
    assert_true(some.conf < 0.95 * prev && some.conf > 0.5 * prev);
    assert_true(wide.conf < 0.5 * some.conf);
    assert_true(some.ns >= 800 && some.ns <= 1200);
    fronta__models_close(m);
}

/* The seam: 10% of measured durations inflated 100x. */
static void spikes_do_not_move_the_estimate(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    fronta__models_fault_spikes(m, 10, 100, 0);
    for (int i = 0; i < 200; i++) {
        feed(m, &kern_a, 4096, 1, 20000, 1);
        if (i >= 3) {
            uint64_t e = est(m, &kern_a, 4096, 1).ns;
            assert_true(e >= 10000 && e <= 40000);
        }
    }
    /* The seam does inflate: at 100% the estimate is the spikes'. */
    fronta__models_fault_spikes(m, 100, 100, 0);
    feed(m, &kern_a, 4096, 2, 20000, 16);
    assert_int_equal(est(m, &kern_a, 4096, 2).ns, 2000000);
    fronta__models_close(m);
}

static void buckets_interpolate(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    feed(m, &kern_a, 1024, 1, 10000, 8);
    feed(m, &kern_a, 4096, 1, 40000, 8);
    double c_near = est(m, &kern_a, 1024, 1).conf;
    fronta__estimate mid = est(m, &kern_a, 2048, 1);
    assert_int_equal(mid.source, FRONTA__EST_INTERP);
    assert_true(mid.ns >= 18000 && mid.ns <= 22000);
    assert_true(mid.conf > 0 && mid.conf < c_near);
    fronta__estimate up = est(m, &kern_a, 65536, 1); /* 16x the top: proportional */
    assert_true(up.ns >= 600000 && up.ns <= 680000);
    assert_true(up.conf < mid.conf); /* farther */
    fronta__estimate down = est(m, &kern_a, 256, 1);
    assert_true(down.ns >= 2000 && down.ns <= 3000);
    /* A bucket with samples is its own median, not interpolated. */
    assert_int_equal(est(m, &kern_a, 1500, 1).ns, 10000);
    fronta__models_close(m);
}

static void probes_one_in_flight(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    fronta__ktask kt = task_of(&kern_a, 100);
    assert_true(fronta__models_probe_claim(m, &kt, 1));
    assert_false(fronta__models_probe_claim(m, &kt, 1));
    assert_true(est(m, &kern_a, 100, 1).probing);
    assert_true(fronta__models_probe_claim(m, &kt, 2)); /* per device */
    fronta__ktask other = task_of(&kern_a, 1 << 20);
    assert_true(fronta__models_probe_claim(m, &other, 1)); /* per bucket */
    /* A probe that leaves without a measurement lets another go. */
    fronta__models_left(m, &kt, 1);
    assert_true(fronta__models_probe_claim(m, &kt, 1));
    /* Once measured, no more probes. */
    fronta__models_ran(m, &kt, 1, 700, 1);
    assert_false(fronta__models_probe_claim(m, &kt, 1));
    assert_false(est(m, &kern_a, 100, 1).probing);
    fronta__models_close(m);
}

/* ---- transfers ---- */

static void transfers(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    struct fronta_buffer b;
    memset(&b, 0, sizeof b);
    b.bytes = 1 << 20;
    b.valid = 1; /* on the host only */
    fronta__kbufs kb = {.b = {&b}, .mode = {FRONTA_ACCESS_IN}, .n = 1};
    fronta__ktask kt = task_of(&kern_a, 1000);
    /* Prior: 8 GB/s + 10 us to the GPU, nothing to shared memory or the pool. */
    uint64_t x = fronta__models_xfer(m, &kt, &kb, 1);
    assert_true(x > 140000 && x < 142000);
    assert_int_equal(fronta__models_xfer(m, &kt, &kb, 2), 0);
    assert_int_equal(fronta__models_xfer(m, &kt, &kb, 0), 0);
    /* Measured: 1 byte/ns (1 GB/s), a spike of 100x slower ignored. */
    for (int i = 0; i < 9; i++)
        fronta__models_transfer(m, 0, 1, 1000000, i == 4 ? 100000000 : 1000000);
    x = fronta__models_xfer(m, &kt, &kb, 1);
    assert_true(x > 1040000 && x < 1060000);
    /* Valid there: free; written only (OUT): nothing fetched. */
    b.valid = 3;
    assert_int_equal(fronta__models_xfer(m, &kt, &kb, 1), 0);
    b.valid = 1;
    kb.mode[0] = FRONTA_ACCESS_OUT;
    assert_int_equal(fronta__models_xfer(m, &kt, &kb, 1), 0);
    /* Only on the GPU: to the pool costs GPU -> host (prior), to the
     * shared device that plus nothing. */
    kb.mode[0] = FRONTA_ACCESS_INOUT;
    b.valid = 2;
    uint64_t back = fronta__models_xfer(m, &kt, &kb, 0);
    assert_true(back > 140000 && back < 142000);
    assert_int_equal(fronta__models_xfer(m, &kt, &kb, 2), back);
    fronta__models_transfer(m, 1, 0, 2000000, 1000000); /* 2 bytes/ns back */
    back = fronta__models_xfer(m, &kt, &kb, 0);
    assert_true(back > 520000 && back < 530000);
    fronta__models_close(m);
}

/* ---- the backlog, from several threads ---- */

enum { THREADS = 4, PER_THREAD = 3000 };

typedef struct worker_arg {
    fronta__models *m;
    pthread_barrier_t *placed, *checked;
    fronta__ktask *kt;
    int id;
} worker_arg;

static void *backlog_worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++) {
        a->kt[i] = task_of(i % 3 ? &kern_a : &kern_b, 1000 + (size_t)i);
        fronta__models_placed(a->m, &a->kt[i], i % 2, 10);
    }
    pthread_barrier_wait(a->placed);
    pthread_barrier_wait(a->checked);
    for (int i = 0; i < PER_THREAD; i++) {
        int dev = a->kt[i].est_dev;
        if (i % 4)
            fronta__models_ran(a->m, &a->kt[i], dev, 100 + (uint64_t)a->id, i % 5 != 0);
        else
            fronta__models_left(a->m, &a->kt[i], dev);
    }
    return NULL;
}

static void backlog_threads(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    pthread_barrier_t placed, checked;
    pthread_barrier_init(&placed, NULL, THREADS + 1);
    pthread_barrier_init(&checked, NULL, THREADS + 1);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){.m = m, .placed = &placed, .checked = &checked, .id = i,
                               .kt = calloc(PER_THREAD, sizeof(fronta__ktask))};
        assert_non_null(args[i].kt);
        assert_int_equal(pthread_create(&th[i], NULL, backlog_worker, &args[i]), 0);
    }
    pthread_barrier_wait(&placed);
    assert_int_equal(fronta__models_backlog(m, 0), THREADS * PER_THREAD / 2 * 10);
    assert_int_equal(fronta__models_backlog(m, 1), THREADS * PER_THREAD / 2 * 10);
    pthread_barrier_wait(&checked);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        free(args[i].kt);
    }
    assert_int_equal(fronta__models_backlog(m, 0), 0);
    assert_int_equal(fronta__models_backlog(m, 1), 0);
    /* The samples all landed: the median is one of the threads'. */
    fronta__estimate e = est(m, &kern_a, 1024, 1);
    assert_int_equal(e.source, FRONTA__EST_SAMPLES);
    assert_true(e.ns >= 100 && e.ns < 100 + THREADS);
    pthread_barrier_destroy(&placed);
    pthread_barrier_destroy(&checked);
    fronta__models_close(m);
}

/* ---- files ---- */

/* The perfmodel files in the cache directory: their count, paths in paths. */
static int model_files(char paths[][512], int max)
{
    DIR *d = opendir(cache_dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) && n < max;)
        if (!strncmp(e->d_name, "perfmodel-", 10))
            snprintf(paths[n++], 512, "%s/%s", cache_dir, e->d_name);
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void learn_some(fronta__models *m)
{
    feed(m, &kern_a, 1000, 1, 7000, 5);
    feed(m, &kern_a, 1000, 1, 9000, 2);
    feed(m, &kern_a, 1 << 16, 1, 300000, 3);
    feed(m, &kern_a, 1000, 0, 2500, 4);
    fronta__models_transfer(m, 0, 1, 1 << 20, 500000);
}

static void round_trip(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    learn_some(m);
    fronta__estimate a = est(m, &kern_a, 1000, 1), b = est(m, &kern_a, 1 << 16, 1),
                     c = est(m, &kern_a, 1000, 0);
    struct fronta_buffer buf;
    memset(&buf, 0, sizeof buf);
    buf.bytes = 1 << 20;
    buf.valid = 1;
    fronta__kbufs kb = {.b = {&buf}, .mode = {FRONTA_ACCESS_IN}, .n = 1};
    fronta__ktask kt = task_of(&kern_a, 1000);
    uint64_t x = fronta__models_xfer(m, &kt, &kb, 1);
    fronta__models_close(m);
    char paths[4][512];
    assert_int_equal(model_files(paths, 4), 2); /* the pool and the GPU learnt */
    /* Another run: the kernel has another index, the name is the key. */
    struct fronta_kernel renumbered = {.index = 7, .name = "t.kern"};
    m = open_models();
    fronta__estimate a2 = est(m, &renumbered, 1000, 1), b2 = est(m, &renumbered, 1 << 16, 1),
                     c2 = est(m, &renumbered, 1000, 0);
    assert_int_equal(a2.source, FRONTA__EST_SAMPLES);
    assert_int_equal(a2.ns, a.ns);
    assert_int_equal(a2.samples, a.samples);
    assert_true(a2.conf == a.conf);
    assert_int_equal(b2.ns, b.ns);
    assert_int_equal(c2.ns, c.ns);
    assert_int_equal(fronta__models_xfer(m, &kt, &kb, 1), x);
    fronta__ktask probe = task_of(&renumbered, 1000);
    assert_false(fronta__models_probe_claim(m, &probe, 1)); /* known: no probe */
    /* What this run does not use survives its rewrite. */
    feed(m, &kern_b, 50, 1, 111, 1);
    fronta__models_close(m);
    m = open_models();
    assert_int_equal(est(m, &kern_a, 1000, 1).ns, a.ns);
    assert_int_equal(est(m, &kern_b, 50, 1).ns, 111);
    fronta__models_close(m);
}

static fronta__models *reopen_with(const char *path, const char *text, size_t len)
{
    spit(path, text, len);
    fronta__models *m = open_models();
    return m;
}

static void corrupt_files_ignored(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    learn_some(m);
    fronta__models_close(m);
    char paths[4][512], good[1 << 16], *gpu = NULL;
    assert_int_equal(model_files(paths, 4), 2);
    for (int i = 0; i < 2; i++)
        if (strstr(slurp(paths[i]), "test gpu"))
            gpu = paths[i];
    assert_non_null(gpu);
    snprintf(good, sizeof good, "%s", slurp(gpu));
    /* The format (docs/scheduling.md): fields by tabs, tabs in a field
     * made spaces; samples oldest first; bandwidths in bytes/ms. */
    assert_true(!strncmp(good, "fronta-perfmodel 1\ttest gpu\t2.0 tab here\ttest platform\n", 55));
    assert_non_null(strstr(good, "\nt.kern\t4\t9\t1000\t7000 7000 7000 7000 7000 9000 9000\n"));
    assert_non_null(strstr(good, "\nt.kern\t4\t16\t65536\t300000 300000 300000\n"));
    assert_non_null(strstr(good, "\n@in\t2097152\n"));
    char *body = strchr(good, '\n') + 1;
    static char bad[1 << 17];
    const char *cases[] = {
        "", "garbage\x01\x02\n", "fronta-perfmodel 1\tsomething else\t\t\n",
        NULL, /* the good header and a line with 17 samples */
        NULL, /* the good header, bucket 99 */
        NULL, /* the good header, a negative sample */
        NULL, /* the good header, a 10 kB line */
        NULL, /* the good file cut in the middle of a line */
    };
    size_t hl = (size_t)(body - good);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t len;
        if (cases[c]) {
            len = (size_t)snprintf(bad, sizeof bad, "%s", cases[c]);
        } else {
            memcpy(bad, good, hl);
            len = hl;
            if (c == 3)
                len += (size_t)snprintf(bad + len, sizeof bad - len,
                                        "t.kern\t7\t9\t1000\t1 2 3 4 5 6 7 8 9 1 2 3 4 5 6 7 8\n");
            else if (c == 4)
                len += (size_t)snprintf(bad + len, sizeof bad - len, "t.kern\t7\t99\t1000\t5\n");
            else if (c == 5)
                len += (size_t)snprintf(bad + len, sizeof bad - len, "t.kern\t7\t9\t1000\t-5\n");
            else if (c == 6) {
                len += (size_t)snprintf(bad + len, sizeof bad - len, "t.kern\t7\t9\t1000\t");
                for (int i = 0; i < 2000; i++)
                    len += (size_t)snprintf(bad + len, sizeof bad - len, "%s5", i ? " " : "");
                bad[len++] = '\n';
            } else {
                len = hl + (strlen(body) - 5);
                memcpy(bad + hl, body, len - hl);
            }
        }
        m = reopen_with(gpu, bad, len);
        if (est(m, &kern_a, 1000, 1).source != FRONTA__EST_PRIOR)
            fail_msg("corrupt case %zu was read", c);
        fronta__models_close(m);
    }
    /* The good file again: read (the cases above really were refused). */
    m = reopen_with(gpu, good, strlen(good));
    assert_int_equal(est(m, &kern_a, 1000, 1).source, FRONTA__EST_SAMPLES);
    fronta__models_close(m);
}

/* ---- heft on fake devices ---- */

static fronta_runtime_t *fake_rt(fronta__models *m)
{
    fronta_runtime_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ndevices = 2;
    f->nworkers = 2;
    f->devices[0].kind = FRONTA_DEVICE_CPU_POOL;
    f->devices[1].kind = FRONTA_DEVICE_OPENCL;
    f->models = m;
    f->set.log_level = FRONTA_LOG_WARN;
    return f;
}

static int place(fronta_runtime_t *f, fronta__ktask *kt)
{
    fronta__kbufs kb = {.n = 0};
    fronta__place_ctx pc = {.rt = f, .kt = kt, .kb = &kb, .cands = 3};
    return fronta__policy_heft.place(&pc);
}

/* Capture stderr into a file around one call of place: the debug line. */
static void debug_line(fronta_runtime_t *f, fronta__ktask *kt, char *out, size_t size)
{
    char path[] = "/tmp/fronta-model-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    f->set.log_level = FRONTA_LOG_DEBUG;
    place(f, kt);
    f->set.log_level = FRONTA_LOG_WARN;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    const char *text = slurp(path);
    size_t n = strlen(text);
    if (n >= size) /* the log line is cut, as the line buffer cuts it */
        n = size - 1;
    memcpy(out, text, n);
    out[n] = 0;
    unlink(path);
}

static void heft_probes_then_learns(void **state)
{
    (void)state;
    fresh_dir();
    fronta__models *m = open_models();
    fronta_runtime_t *f = fake_rt(m);
    assert_string_equal(fronta__policy_heft.name, "heft");
    fronta__ktask kt[3] = {task_of(&kern_a, 1000), task_of(&kern_a, 1000),
                           task_of(&kern_a, 1000)};
    /* Nothing known: one probe to each device, as the tasks arrive. */
    int d0 = place(f, &kt[0]), d1 = place(f, &kt[1]);
    assert_true(d0 != d1);
    assert_int_equal(kt[0].est_dev, d0);
    assert_true(fronta__models_backlog(m, d0) > 0);
    char line[600];
    debug_line(f, &kt[2], line, sizeof line); /* both probes in flight: by estimate */
    print_message("%s", line);
    assert_non_null(strstr(line, "heft: 't.kern' n=1000: dev0 "));
    assert_non_null(strstr(line, "; dev1 "));
    assert_non_null(strstr(line, "-> dev"));
    assert_non_null(strstr(line, "earliest finish"));
    assert_int_equal(strchr(line, '\n') - line + 1, (long)strlen(line)); /* one line */
    /* The pool takes 6x the GPU's time. */
    for (int i = 0; i < 3; i++)
        fronta__models_ran(m, &kt[i], kt[i].est_dev, kt[i].est_dev ? 10000 : 60000, 1);
    assert_int_equal(fronta__models_backlog(m, 0) + fronta__models_backlog(m, 1), 0);
    /* The GPU's 10% spikes (100x) do not send the work elsewhere (a mean
     * would read 11x and move it all to the pool). */
    fronta__models_fault_spikes(m, 10, 100, 0);
    int on_gpu = 0;
    for (int i = 0; i < 100; i++) {
        fronta__ktask t = task_of(&kern_a, 1000);
        int d = place(f, &t);
        on_gpu += d == 1;
        fronta__models_ran(m, &t, d, d ? 10000 : 60000, 1);
    }
    assert_true(on_gpu >= 95);
    /* Tasks that pile up: the GPU's backlog sends a share to the pool's
     * two threads (a third of the GPU's rate), the bulk stays. */
    fronta__ktask q[80];
    int to_pool = 0;
    for (int i = 0; i < 80; i++) {
        q[i] = task_of(&kern_a, 1000);
        to_pool += place(f, &q[i]) == 0;
    }
    print_message("80 queued tasks: %d to the pool\n", to_pool);
    assert_true(to_pool >= 10 && to_pool <= 30);
    for (int i = 0; i < 80; i++)
        fronta__models_left(m, &q[i], q[i].est_dev);
    free(f);
    fronta__models_close(m);
}

static int add_one(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    (void)ctx;
    (void)nargs;
    float *x = a[0].ptr;
    for (size_t i = 0; i < n; i++)
        x[i] += 1.0f;
    return 0;
}

/* A device that must wait for an input's writer on another device starts
 * when that device's queue drains: a GPU with an empty queue but a copy to
 * make does not look sooner than the pool its input's writer queues on. */
static void heft_waits_for_inputs(void **state)
{
    (void)state;
    fresh_dir();
    static const fronta_param_t p[] = {{.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT,
                                        .access = FRONTA_ACCESS_INOUT,
                                        .count = FRONTA_COUNT_GLOBAL}};
    fronta_kernel_desc_t kd = {.size = sizeof kd, .name = "t.add1", .params = p, .nparams = 1,
                               .cpu = add_one};
    fronta_kernel_t *k;
    assert_int_equal(fronta_kernel_create(rt, &kd, &k), 0);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(rt, 1000, FRONTA_FLOAT, &b), 0);
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(rt, &gate);
    fronta_task_desc_t tw = {.size = sizeof tw, .kernel = k, .args = {FRONTA_INOUT(b)},
                             .after = &g, .nafter = 1};
    fronta_future_t *w = NULL;
    assert_int_equal(fronta_submit(rt, &tw, &w), 0); /* pending on the pool */
    fronta__models *m = open_models();
    fronta_runtime_t *f = fake_rt(m);
    feed(m, &kern_a, 1000, 0, 10000, 4); /* the pool: 10 us */
    feed(m, &kern_a, 1000, 1, 5000, 4);  /* the GPU: 5 us */
    fronta__kbufs kb = {.b = {b}, .mode = {FRONTA_ACCESS_INOUT}, .n = 1};
    fronta__ktask kt = task_of(&kern_a, 1000);
    fronta__place_ctx pc = {.rt = f, .kt = &kt, .kb = &kb, .cands = 3};
    /* GPU: 5 us + a copy of 10.5 us (prior) > the pool's 10 us. */
    assert_int_equal(fronta__policy_heft.place(&pc), 0);
    fronta__models_left(m, &kt, kt.est_dev);
    /* 100 us queued per pool thread: the GPU would start in 100 us too. */
    fronta__ktask queued = task_of(&kern_a, 1000);
    fronta__models_placed(m, &queued, 0, 200000);
    kt = task_of(&kern_a, 1000);
    assert_int_equal(fronta__policy_heft.place(&pc), 0);
    fronta__models_left(m, &kt, kt.est_dev);
    fronta__models_left(m, &queued, 0);
    ft_gate_open(&gate);
    assert_int_equal(fronta_future_wait(w, FT_LIMIT), 0);
    fronta_future_release(w);
    fronta_future_release(g);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    free(f);
    fronta__models_close(m);
}

/* ---- end to end: the public API on the pool and an OpenCL device ---- */

/* The CPU implementation spins cpu_spin_ns: set to 6x what the OpenCL
 * one takes on the device, so that a model fooled by the spikes (a mean
 * reads 11x) would send the work to the pool. */
static atomic_llong cpu_spin_ns;

static int slow_cpu(fronta_ctx_t *ctx, const fronta_karg_t *a, size_t nargs, size_t n)
{
    (void)nargs;
    float *x = a[0].ptr;
    ft_busy_us(ctx, (double)atomic_load(&cpu_spin_ns) / 1000.0);
    for (size_t i = 0; i < n; i++)
        x[i] += 1.0f;
    return 0;
}

static const char *fast_cl =
    "__kernel void t_fast(__global float *x) {\n"
    "    size_t i = get_global_id(0);\n"
    "    float v = x[i], w = 0.0f;\n"
    "    for (int r = 0; r < 64; r++) w = w * 0.5f + v;\n" /* device time, not launch cost */
    "    x[i] = v + 1.0f + (w - 2.0f * v) * 0.0f;\n"
    "}\n";

enum { E2E_N = 4096 };

static fronta_future_t *e2e_submit(fronta_runtime_t *r, fronta_kernel_t *k, fronta_buffer_t *b,
                                   int dev)
{
    fronta_task_desc_t t = {.size = sizeof t, .kernel = k, .args = {FRONTA_INOUT(b)}};
    if (dev >= 0)
        t.needs = (fronta_needs_t){.device = FRONTA_NEED_DEVICE, .device_id = dev};
    fronta_future_t *f = NULL;
    assert_int_equal(fronta_submit(r, &t, &f), 0);
    return f;
}

/* What the runtime's model learnt of k on dev (the test sees inside). */
static uint64_t learnt(fronta_runtime_t *r, fronta_kernel_t *k, fronta_buffer_t *b, int dev)
{
    fronta__ktask kt;
    memset(&kt, 0, sizeof kt);
    kt.k = k;
    kt.nargs = 1;
    kt.args[0] = (fronta_arg_t){.kind = FRONTA_ARG_BUFFER, .access = FRONTA_ACCESS_INOUT,
                                .buffer = b};
    kt.shape = (fronta__shape){.rows = 1, .cols = E2E_N, .n = E2E_N, .dims = 1};
    fronta__estimate e;
    fronta__models_estimate(r->models, &kt, dev, &e);
    return e.source == FRONTA__EST_SAMPLES ? e.ns : 0;
}

static fronta_runtime_t *heft_runtime(int *cl)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "all",
                           .sched = "heft"};
    fronta_runtime_t *r = NULL;
    if (fronta_runtime_create(&cfg, &r) != 0)
        return NULL;
    *cl = ft_cl_device(r, 0);
    const char *sched = fronta_runtime_sched(r);
    if (*cl < 0 || !sched || strcmp(sched, "heft") || !r->models) {
        print_message("no OpenCL device, or heft not in use (%s): skipped\n",
                      sched ? sched : "none");
        fronta_runtime_destroy(r);
        return NULL;
    }
    return r;
}

static void heft_end_to_end(void **state)
{
    (void)state;
    fresh_dir();
    int cl = -1;
    fronta_runtime_t *r = heft_runtime(&cl);
    if (!r)
        skip();
    static const fronta_param_t p[] = {{.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT,
                                        .access = FRONTA_ACCESS_INOUT,
                                        .count = FRONTA_COUNT_GLOBAL}};
    fronta_kernel_desc_t kd = {.size = sizeof kd, .name = "t_fast", .params = p, .nparams = 1,
                               .cpu = slow_cpu, .cl_source = fast_cl};
    fronta_kernel_t *k;
    assert_int_equal(fronta_kernel_create(r, &kd, &k), 0);
    enum { WIDTH = 2, WAVES = 80, WARMUP = 40, CALIB = 16 };
    fronta_buffer_t *b[WIDTH];
    for (int i = 0; i < WIDTH; i++)
        assert_int_equal(fronta_buffer_create(r, E2E_N, FRONTA_FLOAT, &b[i]), 0);
    /* How long the OpenCL implementation takes (tasks pinned there). */
    for (int i = 0; i < CALIB; i++) {
        fronta_future_t *f = e2e_submit(r, k, b[0], cl);
        assert_int_equal(fronta_future_wait(f, FT_LIMIT), 0);
        fronta_future_release(f);
    }
    uint64_t t_cl = learnt(r, k, b[0], cl);
    assert_true(t_cl > 0);
    atomic_store(&cpu_spin_ns, (long long)(6 * t_cl));
    /* Then heft, from there on with 10% of the OpenCL device's durations
     * inflated 100x (the pool's too would hide a non-robust estimator:
     * both would be inflated). */
    fronta__models_fault_spikes(r->models, 10, 100, 1ull << cl);
    int fast = 0, counted = 0, seen = 0;
    for (int w = 0; w < WAVES; w++) {
        fronta_future_t *f[WIDTH];
        for (int i = 0; i < WIDTH; i++)
            f[i] = e2e_submit(r, k, b[i], -1);
        for (int i = 0; i < WIDTH; i++) {
            assert_int_equal(fronta_future_wait(f[i], FT_LIMIT), 0);
            if (seen++ >= WARMUP) { /* the ring of 16 is the spiked samples' by then */
                counted++;
                fast += fronta_future_device(f[i]) == cl;
            }
            fronta_future_release(f[i]);
        }
    }
    print_message("heft: OpenCL %.1f us on the device, the pool %.1f us; %d of %d tasks on "
                  "the OpenCL device\n", (double)t_cl / 1e3,
                  (double)learnt(r, k, b[0], 0) / 1e3, fast, counted);
    assert_true(fast * 10 >= counted * 8);
    for (int i = 0; i < WIDTH; i++) {
        float *h = NULL;
        int runs = WAVES + (i ? 0 : CALIB);
        assert_int_equal(fronta_buffer_acquire(b[i], FRONTA_ACCESS_IN, FT_LIMIT, (void **)&h), 0);
        assert_true(h[0] == (float)runs && h[E2E_N - 1] == (float)runs);
        assert_int_equal(fronta_buffer_release(b[i]), 0);
        assert_int_equal(fronta_buffer_destroy(b[i]), 0);
    }
    fronta_runtime_destroy(r);
    char paths[4][512];
    assert_true(model_files(paths, 4) >= 2); /* learnt, saved at destroy */
}

/* A writer held back behind a gate on device `on`, then a task of any
 * device on the same buffer: where does heft put it? */
static int chained_place(fronta_runtime_t *r, fronta_kernel_t *k, fronta_buffer_t *b, int on)
{
    ft_gate_t gate;
    ft_gate_init(&gate, 0);
    fronta_future_t *g = ft_gate_submit(r, &gate);
    fronta_task_desc_t tw = {.size = sizeof tw, .kernel = k, .args = {FRONTA_INOUT(b)},
                             .after = &g, .nafter = 1,
                             .needs = {.device = FRONTA_NEED_DEVICE, .device_id = on}};
    fronta_future_t *w = NULL;
    assert_int_equal(fronta_submit(r, &tw, &w), 0);
    fronta_future_t *x = e2e_submit(r, k, b, -1);
    int dev = fronta_future_device(x);
    ft_gate_open(&gate);
    assert_int_equal(fronta_future_wait(x, FT_LIMIT), 0);
    assert_int_equal(fronta_future_wait(w, FT_LIMIT), 0);
    fronta_future_release(x);
    fronta_future_release(w);
    fronta_future_release(g);
    return dev;
}

static void heft_chains(void **state)
{
    (void)state;
    fresh_dir();
    int cl = -1;
    fronta_runtime_t *r = heft_runtime(&cl);
    if (!r)
        skip();
    static const fronta_param_t p[] = {{.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_FLOAT,
                                        .access = FRONTA_ACCESS_INOUT,
                                        .count = FRONTA_COUNT_GLOBAL}};
    fronta_kernel_desc_t kd = {.size = sizeof kd, .name = "t_fast", .params = p, .nparams = 1,
                               .cpu = slow_cpu, .cl_source = fast_cl};
    fronta_kernel_t *k, *fresh;
    assert_int_equal(fronta_kernel_create(r, &kd, &k), 0);
    kd.name = "t_fresh";
    kd.cl_entry = "t_fast";
    assert_int_equal(fronta_kernel_create(r, &kd, &fresh), 0);
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_create(r, E2E_N, FRONTA_FLOAT, &b), 0);
    /* Nothing measured: a chain stays where its writer is, either way. */
    assert_int_equal(chained_place(r, fresh, b, cl), cl);
    assert_int_equal(chained_place(r, fresh, b, 0), 0);
    /* Measured: the pool 6x slower than the OpenCL device. */
    for (int i = 0; i < 8; i++) {
        fronta_future_t *f = e2e_submit(r, k, b, cl);
        assert_int_equal(fronta_future_wait(f, FT_LIMIT), 0);
        fronta_future_release(f);
    }
    uint64_t t_cl = learnt(r, k, b, cl);
    assert_true(t_cl > 0);
    /* The device measured, the pool a prior (which reads faster): the
     * chain stays until the pool is measured. */
    assert_int_equal(chained_place(r, k, b, cl), cl);
    atomic_store(&cpu_spin_ns, (long long)(6 * t_cl));
    for (int i = 0; i < 3; i++) {
        fronta_future_t *f = e2e_submit(r, k, b, 0);
        assert_int_equal(fronta_future_wait(f, FT_LIMIT), 0);
        fronta_future_release(f);
    }
    assert_true(learnt(r, k, b, 0) > 0);
    /* A chain on the pool leaves it for the device measured to finish
     * sooner; a chain on that device stays. */
    assert_int_equal(chained_place(r, k, b, 0), cl);
    assert_int_equal(chained_place(r, k, b, cl), cl);
    assert_int_equal(fronta_buffer_destroy(b), 0);
    fronta_runtime_destroy(r);
}

int main(void)
{
    ft_filter();
    make_devs();
    fresh_dir();
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 2, .devices = "cpu"};
    if (fronta_runtime_create(&cfg, &rt) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prior_then_median),
        cmocka_unit_test(confidence_reads_spread),
        cmocka_unit_test(spikes_do_not_move_the_estimate),
        cmocka_unit_test(buckets_interpolate),
        cmocka_unit_test(probes_one_in_flight),
        cmocka_unit_test(transfers),
        cmocka_unit_test(backlog_threads),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(corrupt_files_ignored),
        cmocka_unit_test(heft_probes_then_learns),
        cmocka_unit_test(heft_waits_for_inputs),
        cmocka_unit_test(heft_end_to_end),
        cmocka_unit_test(heft_chains),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fronta_runtime_destroy(rt);
    remove_dirs();
    return rc;
}
