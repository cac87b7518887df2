/* Tests of the trace (FRONTA_TRACE: a Chrome trace-event file, parsed here by a strict JSON reader of the test's own), per-worker statistics and the progress hook. */
#include "test_json.h"
#include "test_kernels.h"

#include <pthread.h>
#include <unistd.h>

/* ---- the trace file, read back ---- */

typedef struct tev {
    char ph;
    char cat[16];
    char name[64];
    int tid;
    double ts, dur;
    long long id, bytes;        /* args; -1 absent */
} tev;

typedef struct trace {
    tev *ev;
    size_t n;
    char track[64][64];         /* thread_name metadata */
    int track_tid[64];
    int ntracks;
} trace;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

static void trace_event_add(trace *t, const jv *e)
{
    const char *ph = jv_str(e, "ph"), *name = jv_str(e, "name");
    assert_non_null(ph);
    assert_non_null(name);
    const jv *args = jv_get(e, "args");
    if (ph[0] == 'M') {
        if (!strcmp(name, "thread_name") && t->ntracks < 64) {
            const char *tn = jv_str(args, "name");
            assert_non_null(tn);
            snprintf(t->track[t->ntracks], sizeof t->track[0], "%s", tn);
            t->track_tid[t->ntracks++] = (int)jv_num(e, "tid", -1);
        }
        return;
    }
    tev *v = &t->ev[t->n++];
    memset(v, 0, sizeof *v);
    v->ph = ph[0];
    snprintf(v->cat, sizeof v->cat, "%s", jv_str(e, "cat") ? jv_str(e, "cat") : "");
    snprintf(v->name, sizeof v->name, "%s", name);
    v->tid = (int)jv_num(e, "tid", -1);
    v->ts = jv_num(e, "ts", -1e300);
    assert_true(v->ts > -1e300);
    v->dur = jv_num(e, "dur", 0);
    if (v->ph == 'X')
        assert_non_null(jv_get(e, "dur"));
    if (v->ph == 'i')
        assert_string_equal(jv_str(e, "s"), "t");
    v->id = (long long)jv_num(args, "id", -1);
    v->bytes = (long long)jv_num(args, "bytes", -1);
}

/* Parse the file strictly; every event of the traceEvents array kept. */
static trace trace_load(const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    jv root;
    const char *err = NULL;
    if (json_parse(text, len, &root, &err))
        fail_msg("%s is not valid JSON: %s", path, err);
    free(text);
    assert_string_equal(jv_str(&root, "displayTimeUnit"), "ns");
    const jv *evs = jv_get(&root, "traceEvents");
    assert_non_null(evs);
    assert_int_equal(evs->type, JARR);
    trace t;
    memset(&t, 0, sizeof t);
    t.ev = calloc(evs->n + 1, sizeof *t.ev);
    for (size_t i = 0; i < evs->n; i++) {
        assert_int_equal(evs->item[i].type, JOBJ);
        trace_event_add(&t, &evs->item[i]);
    }
    jv_free(&root);
    return t;
}

static const char *track_of(const trace *t, int tid)
{
    for (int i = 0; i < t->ntracks; i++)
        if (t->track_tid[i] == tid)
            return t->track[i];
    return NULL;
}

/* The first event of task id in category cat (and phase ph), or NULL. */
static const tev *find(const trace *t, long long id, const char *cat, char ph)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].id == id && !strcmp(t->ev[i].cat, cat) && t->ev[i].ph == ph)
            return &t->ev[i];
    return NULL;
}

/* Every event is on a named track; a task's submit, ready and run come
 * in that order. */
static void trace_check_common(const trace *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (!track_of(t, t->ev[i].tid))
            fail_msg("event '%s' (%s) on track %d, which has no thread_name", t->ev[i].name,
                     t->ev[i].cat, t->ev[i].tid);
    for (size_t i = 0; i < t->n; i++) {
        const tev *run = &t->ev[i];
        if (strcmp(run->cat, "run") || run->id <= 0)
            continue;
        const tev *sub = find(t, run->id, "submit", 'i');
        const tev *rdy = find(t, run->id, "ready", 'i');
        if (!sub)
            fail_msg("task %lld ran without a submit event", run->id);
        if (rdy && !(sub->ts <= rdy->ts && rdy->ts <= run->ts))
            fail_msg("task %lld: submit %.3f, ready %.3f, run %.3f out of order", run->id,
                     sub->ts, rdy->ts, run->ts);
        if (sub->ts > run->ts)
            fail_msg("task %lld: submit %.3f after its run %.3f", run->id, sub->ts, run->ts);
        assert_true(run->dur >= 0);
    }
}

static void trace_free(trace *t)
{
    free(t->ev);
}

/* ---- the programs traced ---- */

static void trace_path(char *buf, size_t size, const char *what)
{
    snprintf(buf, size, "%s/fronta-test-trace-%ld-%s.json",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid(), what);
}

static fronta_runtime_t *traced_runtime(const char *path, const char *devices, int zero_copy,
                                        const char *resources)
{
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    cfg.devices = devices;
    cfg.zero_copy = zero_copy;
    cfg.trace = path;
    cfg.resources = resources;
    fronta_runtime_t *rt = NULL;
    int rc = fronta_runtime_create(&cfg, &rt);
    if (rc)
        fail_msg("create with trace %s: %s", path, fronta_err_name(rc));
    return rt;
}

static int add_one(fronta_ctx_t *ctx, void *arg)
{
    int64_t x;
    memcpy(&x, arg, sizeof x);
    if (fronta_ctx_ninputs(ctx)) {
        int64_t in = 0;
        fronta_ctx_input_copy(ctx, 0, &in, sizeof in);
        x += in;
    }
    x += 1;
    return fronta_ctx_return(ctx, &x, sizeof x);
}

/* n plain tasks named "plain", each after the one before: each has a
 * submit, a ready (its input done) and a run. Returns the ids. */
static void plain_chain(fronta_runtime_t *rt, int n, uint64_t *ids)
{
    fronta_future_t *prev = NULL;
    for (int i = 0; i < n; i++) {
        int64_t zero = 0;
        fronta_call_t c;
        memset(&c, 0, sizeof c);
        c.size = sizeof c;
        c.fn = add_one;
        c.arg = &zero;
        c.arg_size = sizeof zero;
        c.after = prev ? &prev : NULL;
        c.nafter = prev != NULL;
        c.name = "plain";
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_call(rt, &c, &f), 0);
        ids[i] = fronta_future_task_id(f);
        if (prev)
            fronta_future_release(prev);
        prev = f;
    }
    int64_t last = 0;
    ft_wait(prev);
    assert_int_equal(fronta_future_result(prev, FT_LIMIT, &last, sizeof last), 0);
    assert_int_equal(last, n);
    fronta_future_release(prev);
}

static int spin_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    ft_busy_us(ctx, 50);
    return 0;
}

/* The reader the checks trust: it refuses what is not JSON. */
static void test_json_reader(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "[1 2]", "{\"a\" 1}", "\"a\nb\"",
        "\"\\x\"", "\"\\u12g4\"", "tru", "[1] x", "{a:1}", "\"\x01\"", "[[[[",
    };
    static const char *const good[] = {
        "{}", "[]", "0", "-0.5e+3", "\"\\u00e9\\n\\\"\"", " {\"a\": [1, true, null, \"x\"]} ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        jv v;
        const char *err;
        if (json_parse(bad[i], strlen(bad[i]), &v, &err) == 0)
            fail_msg("accepted '%s'", bad[i]);
    }
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        jv v;
        const char *err = NULL;
        if (json_parse(good[i], strlen(good[i]), &v, &err))
            fail_msg("refused '%s': %s", good[i], err);
        jv_free(&v);
    }
}

/* A name that needs escaping, and bytes that are not UTF-8. */
static const char odd_name[] = "we\"ird\\na\tme\n\x01\xff\xc3";

static void test_trace_plain(void **state)
{
    (void)state;
    char path[512];
    trace_path(path, sizeof path, "plain");
    fronta_runtime_t *rt = traced_runtime(path, "cpu", 0, NULL);
    enum { N = 50 };
    uint64_t ids[N];
    plain_chain(rt, N, ids);
    fronta_call_t c;
    memset(&c, 0, sizeof c);
    c.size = sizeof c;
    c.fn = spin_task;
    c.name = odd_name;
    fronta_future_t *odd;
    assert_int_equal(fronta_submit_call(rt, &c, &odd), 0);
    ft_wait(odd);
    long long odd_id = (long long)fronta_future_task_id(odd);
    fronta_future_release(odd);
    /* A flush gives a whole file, twice over (the second rewrites it). */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(fronta_runtime_trace_flush(rt), 0);
        trace t = trace_load(path);
        trace_check_common(&t);
        assert_non_null(find(&t, (long long)ids[N - 1], "run", 'X'));
        trace_free(&t);
    }
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    trace t = trace_load(path);
    trace_check_common(&t);
    for (int i = 0; i < N; i++) {
        assert_non_null(find(&t, (long long)ids[i], "submit", 'i'));
        assert_non_null(find(&t, (long long)ids[i], "ready", 'i'));
        const tev *run = find(&t, (long long)ids[i], "run", 'X');
        assert_non_null(run);
        assert_string_equal(run->name, "plain");
        assert_non_null(track_of(&t, run->tid));
        assert_non_null(strstr(track_of(&t, run->tid), "pool thread"));
    }
    const tev *o = find(&t, odd_id, "run", 'X');
    assert_non_null(o);
    assert_int_equal(strncmp(o->name, "we\"ird\\na\tme\n\x01?", 15), 0);
    /* Every pool thread has a track, with or without events. */
    for (int i = 0; i < 2; i++) {
        char want[32];
        snprintf(want, sizeof want, "pool thread %d", i);
        const char *tn = track_of(&t, i);
        if (!tn || strcmp(tn, want))
            fail_msg("track %d is '%s', not '%s'", i, tn ? tn : "(unnamed)", want);
    }
    trace_free(&t);
    unlink(path);
}

static int nop_task(fronta_ctx_t *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

/* Flushes while the pool records (chunks fill and grow under the
 * writer's feet): each file is whole and valid. */
static void test_trace_flush_while_recording(void **state)
{
    (void)state;
    char path[512];
    trace_path(path, sizeof path, "busy");
    fronta_runtime_t *rt = traced_runtime(path, "cpu", 0, NULL);
    size_t n = ft_scaled(20000, 2000), flushed = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fronta_submit_fn(rt, nop_task, NULL, 0, NULL), 0);
        if (i % (n / 4) == n / 8) {
            assert_int_equal(fronta_runtime_trace_flush(rt), 0);
            trace t = trace_load(path);
            assert_true(t.n >= flushed); /* grows, never loses what was written */
            flushed = t.n;
            trace_free(&t);
        }
    }
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    trace t = trace_load(path);
    trace_check_common(&t);
    assert_true(t.n >= 2 * n); /* a submit and a run each, at least */
    trace_free(&t);
    unlink(path);
}

/* A kernel chain on the OpenCL device with real copies: device-side
 * runs on the device's track, transfers with their bytes. */
static void test_trace_opencl(void **state)
{
    (void)state;
    char path[512];
    trace_path(path, sizeof path, "opencl");
    fronta_runtime_t *rt = traced_runtime(path, "all", -1, NULL);
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        unlink(path);
        skip();
    }
    enum { N = 6, COUNT = 4099 };
    float *x = malloc(COUNT * sizeof *x), *y = malloc(COUNT * sizeof *y);
    for (size_t i = 0; i < COUNT; i++) {
        x[i] = (float)(i % 7);
        y[i] = 1.0f;
    }
    fronta_buffer_t *bx, *by;
    assert_int_equal(fronta_buffer_wrap(rt, x, COUNT, FRONTA_FLOAT, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(rt, y, COUNT, FRONTA_FLOAT, &by), 0);
    fronta_task_desc_t d = ft_task(fronta_kernel_builtin(rt, "saxpy"), FRONTA_NEED_OPENCL,
                                   FRONTA_IN(bx), FRONTA_INOUT(by), FRONTA_F32(2.0f));
    fronta_future_t *f[N];
    for (int i = 0; i < N; i++)
        f[i] = ft_submit_ok(rt, &d);
    for (int i = 0; i < N; i++)
        FT_EXPECT_OUTCOME(f[i], 0);
    void *p;
    assert_int_equal(fronta_buffer_acquire(by, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
    assert_true(((float *)p)[5] == 1.0f + 2.0f * N * x[5]);
    assert_int_equal(fronta_buffer_release(by), 0);
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = fronta_future_task_id(f[i]);
        fronta_future_release(f[i]);
    }
    fronta_buffer_destroy(bx);
    fronta_buffer_destroy(by);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    free(x);
    free(y);

    trace t = trace_load(path);
    trace_check_common(&t);
    char want[64];
    snprintf(want, sizeof want, "device %d (", cl);
    for (int i = 0; i < N; i++) {
        const tev *run = find(&t, (long long)ids[i], "run", 'X');
        if (!run)
            fail_msg("kernel task %llu has no run event", (unsigned long long)ids[i]);
        const char *tn = track_of(&t, run->tid);
        if (strncmp(tn, want, strlen(want)))
            fail_msg("kernel task %llu ran on track '%s', not the device's",
                     (unsigned long long)ids[i], tn);
        assert_string_equal(run->name, "saxpy");
        assert_non_null(find(&t, (long long)ids[i], "enqueue", 'X'));
    }
    size_t h2d = 0, d2h = 0;
    for (size_t i = 0; i < t.n; i++) {
        const char *tn = track_of(&t, t.ev[i].tid);
        if (strcmp(t.ev[i].cat, "transfer"))
            continue;
        assert_true(t.ev[i].bytes > 0);
        h2d += strstr(tn, "host->device") != NULL;
        d2h += strstr(tn, "device->host") != NULL;
    }
    print_message("[ info     ] %zu events, %zu uploads, %zu downloads\n", t.n, h2d, d2h);
    assert_true(h2d >= 2); /* x and y */
    assert_true(d2h >= 1); /* y, read back */
    trace_free(&t);
    unlink(path);
}

/* Two tasks that each need the pool's only gpu token: the second waits. */
static int hold_token(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    ft_busy_us(ctx, 20000);
    return 0;
}

static void test_trace_reswait(void **state)
{
    (void)state;
    char path[512];
    trace_path(path, sizeof path, "reswait");
    fronta_runtime_t *rt = traced_runtime(path, "cpu", 0, "pool:gpu=1");
    fronta_future_t *f[2];
    uint64_t ids[2];
    for (int i = 0; i < 2; i++) {
        fronta_call_t c;
        memset(&c, 0, sizeof c);
        c.size = sizeof c;
        c.fn = hold_token;
        c.name = "gpu task";
        c.resources[0] = (fronta_resource_t){"gpu", 1};
        assert_int_equal(fronta_submit_call(rt, &c, &f[i]), 0);
        ids[i] = fronta_future_task_id(f[i]);
    }
    for (int i = 0; i < 2; i++) {
        ft_wait(f[i]);
        fronta_future_release(f[i]);
    }
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    trace t = trace_load(path);
    trace_check_common(&t);
    const tev *w0 = find(&t, (long long)ids[0], "reswait", 'X');
    const tev *w1 = find(&t, (long long)ids[1], "reswait", 'X');
    assert_true((w0 != NULL) + (w1 != NULL) == 1); /* one of them waited */
    const tev *w = w0 ? w0 : w1;
    const tev *run = find(&t, w->id, "run", 'X');
    assert_non_null(run);
    assert_true(w->ts + w->dur <= run->ts + 0.001);
    assert_true(w->dur > 1000.0); /* it waited for the other's 20 ms */
    trace_free(&t);
    unlink(path);
}

/* A kernel long enough per element (an LCG stepped reps times) that the
 * next chunk's upload has time to start beside it. */
#define SLOW_SOURCE                                                            \
    "__kernel void ft_slow(__global uint *x, int reps)\n"                      \
    "{ size_t i = get_global_id(0); uint v = x[i];\n"                         \
    "  for (int r = 0; r < reps; r++) v = v * 1664525u + 1013904223u;\n"      \
    "  x[i] = v; }\n"

static uint32_t slow_model(uint32_t v, int reps)
{
    for (int r = 0; r < reps; r++)
        v = v * 1664525u + 1013904223u;
    return v;
}

static fronta_kernel_t *slow_kernel(fronta_runtime_t *rt)
{
    static const fronta_param_t params[] = {
        {.kind = FRONTA_ARG_BUFFER, .dtype = FRONTA_INT32, .access = FRONTA_ACCESS_INOUT,
         .count = FRONTA_COUNT_GLOBAL},
        {.kind = FRONTA_ARG_I32},
    };
    fronta_kernel_desc_t d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.name = "ft_slow";
    d.params = params;
    d.nparams = 2;
    d.cl_source = SLOW_SOURCE;
    d.cl_entry = "ft_slow";
    fronta_kernel_t *k = NULL;
    assert_int_equal(fronta_kernel_create(rt, &d, &k), 0);
    return k;
}

/* A map streaming an array through a device limited to a few chunks, on
 * the copy path: uploads run on their own queue, so the trace shows
 * chunks' uploads overlapping other chunks' kernels. */
static void test_trace_stream(void **state)
{
    (void)state;
    char path[512];
    trace_path(path, sizeof path, "stream");
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    cfg.devices = "all";
    cfg.zero_copy = -1;
    cfg.trace = path;
    cfg.device_mem_limit = "8MiB";
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    if (ft_cl_device(rt, 0) < 0) {
        fronta_runtime_destroy(rt);
        unlink(path);
        skip();
    }
    enum { CHUNK = 1 << 18, NCHUNK = 32, REPS = 64 }; /* 1 MiB chunks, 32 MiB */
    size_t n = (size_t)CHUNK * NCHUNK;
    uint32_t *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (uint32_t)i;
    fronta_buffer_t *b;
    assert_int_equal(fronta_buffer_wrap(rt, x, n, FRONTA_INT32, &b), 0);
    fronta_partition_t p = {.size = sizeof p, .chunk_len = CHUNK};
    assert_int_equal(fronta_buffer_partition(b, &p), 0);
    fronta_task_desc_t d = ft_task(slow_kernel(rt), FRONTA_NEED_OPENCL, FRONTA_INOUT(b),
                                   FRONTA_I32(REPS), FT_NOARG);
    fronta_future_t *m = NULL;
    assert_int_equal(fronta_submit_map(rt, &d, &m, NULL), 0);
    FT_EXPECT_OUTCOME(m, 0);
    fronta_future_release(m);
    assert_int_equal(fronta_buffer_unpartition(b), 0);
    void *h;
    assert_int_equal(fronta_buffer_acquire(b, FRONTA_ACCESS_IN, FT_LIMIT, &h), 0);
    for (size_t i = 0; i < n; i++)
        if (x[i] != slow_model((uint32_t)i, REPS))
            fail_msg("x[%zu] = %u, expected %u", i, x[i], slow_model((uint32_t)i, REPS));
    assert_int_equal(fronta_buffer_release(b), 0);
    fronta_buffer_destroy(b);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    free(x);

    trace t = trace_load(path);
    trace_check_common(&t);
    size_t uploads = 0, overlapped = 0;
    for (size_t i = 0; i < t.n; i++) {
        const tev *u = &t.ev[i];
        if (strcmp(u->cat, "transfer") || !strstr(track_of(&t, u->tid), "host->device"))
            continue;
        uploads++;
        int any = 0;
        for (size_t j = 0; j < t.n && !any; j++) {
            const tev *k = &t.ev[j];
            any = !strcmp(k->cat, "run") && !strcmp(k->name, "ft_slow") &&
                  u->ts < k->ts + k->dur && k->ts < u->ts + u->dur;
        }
        overlapped += any;
    }
    print_message("[ info     ] %zu uploads, %zu beside a kernel\n", uploads, overlapped);
    assert_true(uploads >= NCHUNK);
    if (!overlapped)
        fail_msg("no upload overlaps a kernel: the transfers do not stream");
    trace_free(&t);
    unlink(path);
}

static void test_trace_unwritable(void **state)
{
    (void)state;
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 1;
    cfg.log_level = FRONTA_LOG_OFF;
    cfg.trace = "/nonexistent-dir-of-fronta/trace.json";
    fronta_runtime_t *rt = (fronta_runtime_t *)&cfg; /* must be cleared */
    assert_int_equal(fronta_runtime_create(&cfg, &rt), FRONTA_EENV);
    assert_null(rt);
    /* Off: nothing to flush. */
    rt = ft_runtime(1);
    assert_int_equal(fronta_runtime_trace_flush(rt), FRONTA_ENOTSUP);
    assert_int_equal(fronta_runtime_trace_flush(NULL), FRONTA_EINVAL);
    fronta_runtime_destroy(rt);
}

/* ---- worker statistics ---- */

static fronta_worker_stats_t wstats(fronta_runtime_t *rt, int i)
{
    fronta_worker_stats_t s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    assert_int_equal(fronta_worker_stats(rt, i, &s), 0);
    return s;
}

static void test_worker_stats_pool(void **state)
{
    (void)state;
    double t0 = ft_now();
    fronta_runtime_t *rt = ft_runtime_dev("cpu", 0);
    enum { N = 300 };
    assert_int_equal(fronta_worker_count(rt), fronta_runtime_cpu_threads(rt));
    for (int i = 0; i < N; i++)
        assert_int_equal(fronta_submit_fn(rt, spin_task, NULL, 0, NULL), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    uint64_t run = 0, wall = (uint64_t)((ft_now() - t0) * 1e9) + 1;
    for (int i = 0; i < fronta_worker_count(rt); i++) {
        fronta_worker_stats_t s = wstats(rt, i);
        assert_int_equal(s.size, sizeof s);
        assert_int_equal(s.device, 0);
        assert_int_equal(s.thread, i);
        assert_true(s.busy_ns <= wall + (uint64_t)((ft_now() - t0) * 1e9));
        run += s.tasks_run;
    }
    assert_int_equal(run, N);
    /* An older, shorter struct: only its fields are written. */
    unsigned char raw[sizeof(fronta_worker_stats_t)];
    memset(raw, 0xab, sizeof raw);
    fronta_worker_stats_t *old = (fronta_worker_stats_t *)raw;
    old->size = offsetof(fronta_worker_stats_t, tasks_run) + sizeof old->tasks_run;
    assert_int_equal(fronta_worker_stats(rt, 0, old), 0);
    for (size_t i = old->size; i < sizeof raw; i++)
        assert_int_equal(raw[i], 0xab);
    old->size = 1;
    assert_int_equal(fronta_worker_stats(rt, 0, old), FRONTA_EINVAL);
    fronta_worker_stats_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(fronta_worker_stats(rt, fronta_worker_count(rt), &s), FRONTA_EINVAL);
    assert_int_equal(fronta_worker_stats(rt, -1, &s), FRONTA_EINVAL);
    assert_int_equal(fronta_worker_stats(NULL, 0, &s), FRONTA_EINVAL);
    assert_int_equal(fronta_worker_stats(rt, 0, NULL), FRONTA_EINVAL);
    assert_int_equal(fronta_worker_count(NULL), FRONTA_EINVAL);
    fronta_runtime_destroy(rt);
}

/* A device worker: its kernels, its device time, the bytes copied. */
static void test_worker_stats_device(void **state)
{
    (void)state;
    double t0 = ft_now();
    fronta_runtime_t *rt = ft_runtime_dev("all", -1);
    int cl = ft_cl_device(rt, 0);
    if (cl < 0) {
        fronta_runtime_destroy(rt);
        skip();
    }
    int w = fronta_runtime_cpu_threads(rt) + cl - 1;
    assert_true(w < fronta_worker_count(rt));
    fronta_worker_stats_t s0 = wstats(rt, w);
    assert_int_equal(s0.device, cl);
    assert_int_equal(s0.thread, -1);
    enum { N = 5, COUNT = 1 << 16 };
    float *x = calloc(COUNT, sizeof *x), *y = calloc(COUNT, sizeof *y);
    fronta_buffer_t *bx, *by;
    assert_int_equal(fronta_buffer_wrap(rt, x, COUNT, FRONTA_FLOAT, &bx), 0);
    assert_int_equal(fronta_buffer_wrap(rt, y, COUNT, FRONTA_FLOAT, &by), 0);
    fronta_task_desc_t d = ft_task(fronta_kernel_builtin(rt, "saxpy"), FRONTA_NEED_OPENCL,
                                   FRONTA_IN(bx), FRONTA_INOUT(by), FRONTA_F32(2.0f));
    for (int i = 0; i < N; i++) {
        fronta_future_t *f = ft_submit_ok(rt, &d);
        FT_EXPECT_OUTCOME(f, 0);
        fronta_future_release(f);
    }
    void *p;
    assert_int_equal(fronta_buffer_acquire(by, FRONTA_ACCESS_IN, FT_LIMIT, &p), 0);
    assert_int_equal(fronta_buffer_release(by), 0);
    fronta_worker_stats_t s1 = wstats(rt, w);
    uint64_t wall = (uint64_t)((ft_now() - t0) * 1e9);
    print_message("[ info     ] device worker: %llu tasks, busy %llu ns, in %llu B, out %llu B,"
                  " %llu wake-ups\n", (unsigned long long)(s1.tasks_run - s0.tasks_run),
                  (unsigned long long)s1.busy_ns, (unsigned long long)s1.bytes_in,
                  (unsigned long long)s1.bytes_out, (unsigned long long)s1.host_wakeups);
    assert_int_equal(s1.tasks_run - s0.tasks_run, N);
    assert_true(s1.busy_ns > s0.busy_ns);
    assert_true(s1.busy_ns <= wall);
    assert_true(s1.bytes_in - s0.bytes_in >= 2 * COUNT * sizeof(float));
    assert_true(s1.bytes_out - s0.bytes_out >= COUNT * sizeof(float));
    assert_true(s1.host_wakeups >= 1);
    fronta_buffer_destroy(bx);
    fronta_buffer_destroy(by);
    fronta_runtime_destroy(rt);
    free(x);
    free(y);
}

/* ---- the progress hook ---- */

typedef struct progress_log {
    pthread_mutex_t lock;
    uint64_t c[4096], s[4096];
    size_t n;
    int wait_rc;                /* what a wait inside the hook returned */
    fronta_runtime_t *rt;
} progress_log;

static void on_progress(void *ud, uint64_t completed, uint64_t submitted)
{
    progress_log *l = ud;
    pthread_mutex_lock(&l->lock);
    if (l->n < 4096) {
        l->c[l->n] = completed;
        l->s[l->n] = submitted;
        l->n++;
    }
    fronta_runtime_t *rt = l->rt;
    pthread_mutex_unlock(&l->lock);
    if (rt)
        l->wait_rc = fronta_runtime_wait_all(rt, 0.001);
}

static void test_progress_hook(void **state)
{
    (void)state;
    progress_log *l = calloc(1, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
    l->wait_rc = 1;
    fronta_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.cpu_threads = 2;
    cfg.progress = on_progress;
    cfg.progress_ud = l;
    cfg.progress_ms = 2;
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    pthread_mutex_lock(&l->lock);
    l->rt = rt;
    pthread_mutex_unlock(&l->lock);
    enum { N = 400 };
    for (int i = 0; i < N; i++)
        assert_int_equal(fronta_submit_fn(rt, spin_task, NULL, 0, NULL), 0);
    assert_int_equal(fronta_runtime_wait_all(rt, FT_LIMIT), 0);
    uint64_t c, s;
    assert_int_equal(fronta_runtime_progress(rt, &c, &s), 0);
    assert_int_equal(c, N);
    assert_int_equal(s, N);
    assert_int_equal(fronta_runtime_progress(rt, NULL, NULL), 0);
    assert_int_equal(fronta_runtime_progress(NULL, &c, &s), FRONTA_EINVAL);
    assert_int_equal(fronta_runtime_destroy(rt), 0);
    print_message("[ info     ] %zu progress calls\n", l->n);
    assert_true(l->n >= 1);
    for (size_t i = 0; i < l->n; i++) {
        assert_true(l->c[i] <= l->s[i]);
        if (i) {
            assert_true(l->c[i] >= l->c[i - 1]);
            assert_true(l->s[i] >= l->s[i - 1]);
        }
    }
    assert_int_equal(l->c[l->n - 1], l->s[l->n - 1]);
    assert_int_equal(l->s[l->n - 1], N);
    assert_int_equal(l->wait_rc, FRONTA_EBUSY); /* a hook must not wait */
    pthread_mutex_destroy(&l->lock);
    free(l);
}

int main(void)
{
    ft_cache_env();
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_reader),
        cmocka_unit_test(test_trace_plain),
        cmocka_unit_test(test_trace_flush_while_recording),
        cmocka_unit_test(test_trace_opencl),
        cmocka_unit_test(test_trace_reswait),
        cmocka_unit_test(test_trace_stream),
        cmocka_unit_test(test_trace_unwritable),
        cmocka_unit_test(test_worker_stats_pool),
        cmocka_unit_test(test_worker_stats_device),
        cmocka_unit_test(test_progress_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
