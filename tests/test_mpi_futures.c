/* Tests of futures across ranks: every rank's handle of every task, call
 * tasks whose argument futures' bytes come from other ranks, `after`
 * across ranks, global ids as the root of a failure on every rank, the
 * refusals, and random DAGs of call tasks against a model on every rank. */
#include "test_mpi.h"

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dull;
    return x ^ (x >> 33);
}

/* A call task's argument: its own value and its result's length. */
typedef struct carg {
    uint64_t k;
    uint32_t words;   /* the result: words uint64, word j = h + j */
    uint32_t fail;    /* fail on purpose */
} carg;

/* h = k, then mixed with the first word of each input in order (0 for an
 * input without bytes: a kernel task's). */
static int hash_fn(fronta_ctx_t *ctx, void *arg)
{
    const carg *a = arg;
    if (a->fail)
        return fronta_ctx_fail(ctx, FRONTA_ETASK, "task %llu failed on purpose",
                               (unsigned long long)a->k);
    uint64_t h = a->k;
    for (size_t i = 0; i < fronta_ctx_ninputs(ctx); i++) {
        size_t sz = 0;
        const uint64_t *in = fronta_ctx_input(ctx, i, &sz);
        if (sz == 0) {
            h = mix64(h);
            continue;
        }
        if (!in || sz % sizeof *in)
            return fronta_ctx_fail(ctx, FRONTA_ESIZE, "input %zu: %zu bytes", i, sz);
        /* Every word checked: the bytes arrived whole. */
        for (size_t j = 1; j < sz / sizeof *in; j++)
            if (in[j] != in[0] + j)
                return fronta_ctx_fail(ctx, FRONTA_ETASK, "input %zu word %zu wrong", i, j);
        h = mix64(h ^ in[0]);
    }
    uint64_t *out = fronta_ctx_result_buffer(ctx, a->words * sizeof *out);
    if (!out)
        return FRONTA_ENOMEM;
    for (uint32_t j = 0; j < a->words; j++)
        out[j] = h + j;
    return 0;
}

static fronta_future_t *call_on(env *e, int rank, carg a, fronta_future_t *const *after,
                                size_t nafter)
{
    fronta_call_t c = {.size = sizeof c, .fn = hash_fn, .arg = &a, .arg_size = sizeof a,
                       .after = after, .nafter = nafter};
    fronta_future_t *f = NULL;
    FM_REQUIRE(fronta_mpi_submit_call(e->m, rank, &c, &f) == 0 && f);
    return f;
}

/* The result's words on this rank: h, h + 1, ...; returns h. */
static uint64_t result_of(fronta_future_t *f, uint32_t words)
{
    const void *p = NULL;
    size_t sz = 0;
    FM_REQUIRE(fronta_future_wait(f, FT_LIMIT) == 0);
    FM_REQUIRE(fronta_future_result_ptr(f, &p, &sz) == 0 && sz == words * sizeof(uint64_t));
    const uint64_t *w = p;
    for (uint32_t j = 1; j < words; j++)
        FM_REQUIRE(w[j] == w[0] + j);
    return w[0];
}

/* A chain hopping rank to rank, each link reading the last one's result
 * (large ones too: heap results), then a fan-in of every link on the
 * last rank: every rank reads every result. */
void futures_chain(void **state)
{
    (void)state;
    enum { N = 9 };
    env e;
    env_up(&e);
    fronta_future_t *f[N + 1];
    uint64_t want[N + 1];
    for (int i = 0; i < N; i++) {
        carg a = {.k = 100u + (uint64_t)i, .words = i % 3 ? 1u : 300u};
        f[i] = call_on(&e, i % fm_size, a, i ? &f[i - 1] : NULL, i ? 1 : 0);
        want[i] = i ? mix64(a.k ^ want[i - 1]) : a.k;
    }
    carg fan = {.k = 7, .words = 2};
    f[N] = call_on(&e, fm_size - 1, fan, f, N);
    want[N] = fan.k;
    for (int i = 0; i < N; i++)
        want[N] = mix64(want[N] ^ want[i]);
    long bad = 0;
    for (int i = 0; i <= N; i++) {
        bad += result_of(f[i], i == N ? 2u : i % 3 ? 1u : 300u) != want[i];
        bad += fronta_future_task_id(f[i]) != FM_ID_BASE + 1u + (uint64_t)i;
        bad += fronta_future_status(f[i]) != FRONTA_FINISHED;
    }
    /* A handle cannot be cancelled (the task is another rank's or done). */
    int cancel = fronta_future_cancel(f[0]);
    fronta_mpi_stats_t s = stats(&e);
    for (int i = 0; i <= N; i++)
        fronta_future_release(f[i]);
    env_down(&e);
    assert_int_equal(bad, 0);
    assert_int_equal(cancel, FRONTA_EBUSY);
    uint64_t ran = 0;
    for (int i = 0; i < N; i++)
        ran += i % fm_size == fm_rank;
    ran += fm_rank == fm_size - 1;
    assert_int_equal(s.tasks_run, ran);
    assert_int_equal(s.futures_sent, ran * (uint64_t)(fm_size - 1));
    assert_int_equal(s.futures_received, fm_size > 1 ? N + 1 - ran : 0);
    assert_int_equal(s.sends + s.recvs, 0); /* no buffer moved */
}

/* Kernel tasks after call tasks of other ranks: they wait for them, and
 * fail (every rank's handle, with the call's id as root) when they fail;
 * a call after a kernel task of another rank reads its success. */
void futures_after_kernels(void **state)
{
    (void)state;
    env e;
    env_up(&e);
    fronta_buffer_t *x;
    FM_REQUIRE(fronta_buffer_create(e.rt, 64, FRONTA_INT64, &x) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, x, 0) == 0);
    fronta_future_t *ok = call_on(&e, fm_size - 1, (carg){.k = 1, .words = 1}, NULL, 0);
    fronta_future_t *bad = call_on(&e, fm_size - 1, (carg){.k = 2, .words = 1, .fail = 1},
                                   NULL, 0);
    fronta_task_desc_t td = {.size = sizeof td, .kernel = e.out, .nargs = 4,
                             .args = {FRONTA_OUT(x), FRONTA_IN(x), FRONTA_IN(x), FRONTA_I64(3)},
                             .after = &ok, .nafter = 1};
    fronta_future_t *k1 = NULL, *k2 = NULL;
    FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, &k1) == 0);
    td.after = &bad;
    FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, &k2) == 0);
    fronta_future_t *after_k[2] = {k1, ok};
    fronta_future_t *c1 = call_on(&e, 1 % fm_size, (carg){.k = 3, .words = 1}, after_k, 2);
    uint64_t h1 = result_of(c1, 1);
    fronta_error_t err = {0};
    FM_REQUIRE(fronta_future_wait(k2, FT_LIMIT) == 0 && fronta_future_wait(k1, FT_LIMIT) == 0);
    int c_k1 = fronta_future_error(k1, NULL), c_k2 = fronta_future_error(k2, &err);
    uint64_t root = err.task_id, bad_id = fronta_future_task_id(bad);
    size_t k1_size = 1;
    const void *p = NULL;
    FM_REQUIRE(fronta_future_result_ptr(k1, &p, &k1_size) == 0);
    fronta_future_release(ok);
    fronta_future_release(bad);
    fronta_future_release(k1);
    fronta_future_release(k2);
    fronta_future_release(c1);
    env_down(&e);
    assert_int_equal(c_k1, 0);
    assert_int_equal(k1_size, 0); /* a kernel task has no result bytes */
    assert_int_equal(c_k2, FRONTA_EDEPFAILED);
    assert_int_equal(root, bad_id);
    assert_int_equal(bad_id, FM_ID_BASE + 2);
    assert_true(h1 == mix64(mix64(3) ^ 1)); /* k1 without bytes, then ok's 1 */
}

/* A failed task's dependents report its global id on every rank, through
 * `after` (call and kernel tasks) and through a buffer read on another
 * rank, three hops away. */
void futures_roots(void **state)
{
    (void)state;
    env e;
    env_up(&e);
    int last = fm_size - 1;
    fronta_buffer_t *x, *y;
    FM_REQUIRE(fronta_buffer_create(e.rt, 64, FRONTA_INT64, &x) == 0);
    FM_REQUIRE(fronta_buffer_create(e.rt, 64, FRONTA_INT64, &y) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, x, 1 % fm_size) == 0);
    FM_REQUIRE(fronta_mpi_buffer_register(e.m, y, 0) == 0);
    fronta_future_t *f = call_on(&e, last, (carg){.k = 9, .words = 1, .fail = 1}, NULL, 0);
    fronta_future_t *d1 = call_on(&e, 0, (carg){.k = 10, .words = 1}, &f, 1);
    /* d2 writes x after d1; d3 reads x on rank 0 (x travels, failed) */
    fronta_task_desc_t td = {.size = sizeof td, .kernel = e.out, .nargs = 4,
                             .args = {FRONTA_OUT(x), FRONTA_IN(y), FRONTA_IN(y), FRONTA_I64(3)},
                             .after = &d1, .nafter = 1};
    fronta_future_t *d2 = NULL, *d3 = NULL;
    FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, &d2) == 0);
    td = (fronta_task_desc_t){.size = sizeof td, .kernel = e.out, .nargs = 4,
                              .args = {FRONTA_OUT(y), FRONTA_IN(x), FRONTA_IN(x), FRONTA_I64(4)}};
    FM_REQUIRE(fronta_mpi_submit(e.m, FRONTA_MPI_OWNER, &td, &d3) == 0);
    fronta_future_t *d4 = call_on(&e, last, (carg){.k = 11, .words = 1}, &d3, 1);
    fronta_future_t *all[5] = {f, d1, d2, d3, d4};
    size_t nd = 0;
    FM_REQUIRE(fronta_wait(all, 5, FT_LIMIT, FRONTA_ALL_COMPLETED, &nd) == 0 && nd == 5);
    uint64_t fid = fronta_future_task_id(f);
    long bad = 0;
    for (int i = 0; i < 5; i++) {
        fronta_error_t err = {0};
        int code = fronta_future_error(all[i], &err);
        int want = all[i] == f ? FRONTA_ETASK : FRONTA_EDEPFAILED;
        if (code != want || err.task_id != fid || !err.message) {
            fprintf(stderr, "rank %d: handle %llu: %s root %llu (%s)\n", fm_rank,
                    (unsigned long long)(fronta_future_task_id(all[i]) - FM_ID_BASE),
                    fronta_err_name(code), (unsigned long long)err.task_id,
                    err.message ? err.message : "");
            bad++;
        }
        if (all[i] == f && (!err.message || !strstr(err.message, "on purpose")))
            bad++; /* the message travels too */
    }
    for (int i = 0; i < 5; i++)
        fronta_future_release(all[i]);
    FM_REQUIRE(fronta_mpi_wait_all(e.m, FT_LIMIT) == 0);
    uint64_t failed = sum_all(stats(&e).transfers_failed);
    env_down(&e);
    assert_int_equal(bad, 0);
    assert_int_equal(fid, FM_ID_BASE + 1);
    if (fm_size > 1)
        assert_int_equal(failed, 2); /* x's one message, on both ends */
}

/* The refusals, alike on every rank, with fronta_last_error, and no
 * effect: the next task still gets the next id. */
void futures_refusals(void **state)
{
    (void)state;
    env e;
    env_up(&e);
    fronta_future_t *local = NULL, *none = NULL;
    carg a = {.k = 1, .words = 1};
    FM_REQUIRE(fronta_submit_fn(e.rt, hash_fn, &a, sizeof a, &local) == 0);
    fronta_call_t c = {.size = sizeof c, .fn = hash_fn, .arg = &a, .arg_size = sizeof a};
    int codes[8];
    int nmsg = 0;
    codes[0] = fronta_mpi_submit_call(e.m, fm_size, &c, &none);
    nmsg += strstr(fronta_last_error(), "fronta_mpi_submit_call") != NULL;
    codes[1] = fronta_mpi_submit_call(e.m, FRONTA_MPI_OWNER, &c, &none);
    c.fn = NULL;
    codes[2] = fronta_mpi_submit_call(e.m, 0, &c, &none);
    nmsg += strstr(fronta_last_error(), "no fn") != NULL;
    c.fn = hash_fn;
    c.after = &local; /* a rank's own future */
    c.nafter = 1;
    codes[3] = fronta_mpi_submit_call(e.m, 0, &c, &none);
    nmsg += strstr(fronta_last_error(), "after[0]") != NULL;
    c.after = NULL; /* nafter without after */
    codes[4] = fronta_mpi_submit_call(e.m, 0, &c, &none);
    c.nafter = 0;
    c.arg = NULL;
    codes[5] = fronta_mpi_submit_call(e.m, 0, &c, &none);
    codes[6] = fronta_mpi_submit_call(NULL, 0, &c, &none);
    codes[7] = fronta_mpi_submit_call(e.m, 0, NULL, &none);
    static _Alignas(64) unsigned char junk[1024]; /* not a future at all */
    fronta_future_t *wild = (fronta_future_t *)junk;
    fronta_task_desc_t td = {.size = sizeof td, .kernel = e.out, .nargs = 0, .after = &wild,
                             .nafter = 1};
    int kwild = fronta_mpi_submit(e.m, 0, &td, &none);
    c.arg = &a;
    fronta_future_t *next = call_on(&e, 0, a, NULL, 0);
    uint64_t next_id = fronta_future_task_id(next);
    FM_REQUIRE(fronta_future_wait(next, FT_LIMIT) == 0);
    fronta_future_release(next);
    /* A need the running rank's pool does not declare: refused there
     * only, after every rank's checks, so every rank's handle fails with
     * it and every rank's call returns 0; without a handle, the running
     * rank alone returns it. */
    fronta_call_t needy = {.size = sizeof needy, .fn = hash_fn, .arg = &a,
                           .arg_size = sizeof a, .resources = {{"gpu", 1}}, .nresources = 1};
    fronta_future_t *nf = NULL;
    int needy_rc = fronta_mpi_submit_call(e.m, fm_size - 1, &needy, &nf);
    FM_REQUIRE(nf && fronta_future_wait(nf, FT_LIMIT) == 0);
    fronta_error_t nerr = {0};
    int needy_code = fronta_future_error(nf, &nerr);
    uint64_t needy_id = fronta_future_task_id(nf);
    fronta_future_release(nf);
    int needy_bare = fronta_mpi_submit_call(e.m, fm_size - 1, &needy, NULL);
    FM_REQUIRE(fronta_future_wait(local, FT_LIMIT) == 0);
    fronta_future_release(local);
    fronta_mpi_stats_t s = stats(&e);
    env_down(&e);
    assert_int_equal(codes[0], FRONTA_ERANGE);
    assert_int_equal(codes[1], FRONTA_ERANGE);
    assert_int_equal(codes[2], FRONTA_EINVAL);
    assert_int_equal(codes[3], FRONTA_EINVAL);
    assert_int_equal(codes[4], FRONTA_EINVAL);
    assert_int_equal(codes[5], FRONTA_EINVAL);
    assert_int_equal(codes[6], FRONTA_EINVAL);
    assert_int_equal(codes[7], FRONTA_EINVAL);
    assert_int_equal(kwild, FRONTA_EINVAL);
    assert_int_equal(nmsg, 3);
    assert_true(none == NULL);
    assert_int_equal(next_id, FM_ID_BASE + 1);
    assert_int_equal(needy_rc, 0);
    assert_int_equal(needy_code, FRONTA_ERESOURCE);
    assert_int_equal(nerr.task_id, needy_id);
    assert_int_equal(needy_id, FM_ID_BASE + 2);
    assert_int_equal(needy_bare, fm_rank == fm_size - 1 ? FRONTA_ERESOURCE : 0);
    assert_int_equal(s.tasks_run + s.tasks_skipped, 3);
}

static int random_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    uint64_t v[2] = {fronta_ctx_random(ctx), fronta_ctx_random(ctx)};
    return fronta_ctx_return(ctx, v, sizeof v);
}

/* The first call task of two runs, on rank 0 then on the last rank: its
 * random stream is keyed by its global id (key 0), so both draw the same
 * values (whatever else each rank submitted first), and every rank's
 * handle reports that key. */
void futures_random(void **state)
{
    (void)state;
    uint64_t got[2][2], key[2];
    for (int run = 0; run < 2; run++) {
        env e;
        env_up(&e);
        fronta_call_t c = {.size = sizeof c, .fn = random_fn};
        fronta_future_t *f = NULL;
        if (run) { /* a local task first: an automatic key would differ now */
            FM_REQUIRE(fronta_submit_fn(e.rt, random_fn, NULL, 0, &f) == 0);
            FM_REQUIRE(fronta_future_wait(f, FT_LIMIT) == 0);
            fronta_future_release(f);
        }
        FM_REQUIRE(fronta_mpi_submit_call(e.m, run ? fm_size - 1 : 0, &c, &f) == 0);
        FM_REQUIRE(fronta_future_result(f, FT_LIMIT, got[run], sizeof got[run]) == 0);
        key[run] = fronta_future_key(f);
        fronta_future_release(f);
        env_down(&e);
    }
    assert_true(got[0][0] == got[1][0] && got[0][1] == got[1][1]);
    assert_true(got[0][0] != got[0][1]);
    assert_true(key[0] == FM_ID_BASE + 1 && key[1] == FM_ID_BASE + 1);
}

static int slow_fn(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    volatile uint64_t x = 1;
    for (uint64_t i = 0; i < 20000000u; i++)
        x = x * 6364136223846793005u + 1;
    uint64_t v = x;
    return fronta_ctx_return(ctx, &v, sizeof v);
}

/* Detach at once after tasks without handles: it waits for the tasks
 * this rank runs (their completion callbacks use m), so nothing runs on
 * a freed m (ASan's use-after-free otherwise). */
void futures_detach_waits(void **state)
{
    (void)state;
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = 1, .devices = "cpu"};
    fronta_runtime_t *rt = NULL;
    fronta_mpi_t *m = NULL;
    FM_REQUIRE(fronta_runtime_create(&cfg, &rt) == 0);
    FM_REQUIRE(fronta_mpi_attach(rt, MPI_COMM_WORLD, &m) == 0);
    fronta_call_t c = {.size = sizeof c, .fn = slow_fn};
    for (int r = 0; r < fm_size; r++)
        FM_REQUIRE(fronta_mpi_submit_call(m, r, &c, NULL) == 0);
    fronta_mpi_stats_t s = {.size = sizeof s};
    FM_REQUIRE(fronta_mpi_stats(m, &s) == 0);
    int rc = fronta_mpi_detach(m);
    FM_REQUIRE(fronta_runtime_destroy(rt) == 0);
    assert_int_equal(rc, 0);
    assert_int_equal(s.tasks_run, 1);
    assert_int_equal(s.futures_sent + s.futures_received, 0); /* no handle: no message */
}

/* ---- random DAGs of call tasks ---- */

#define NC 60

/* Task t runs on a random rank after up to 3 random earlier tasks; one
 * random task fails on purpose. Every rank models every outcome: a
 * result (its hash), or a failure whose root is the failing task. */
static void run_calls(uint64_t seed)
{
    uint64_t rng = seed;
    env e;
    env_up(&e);
    fronta_future_t *f[NC];
    uint64_t want[NC];
    int failed[NC];
    uint32_t words[NC];
    int fail_at = (int)(rng_next(&rng) % NC);
    for (int t = 0; t < NC; t++) {
        fronta_future_t *after[3];
        int idx[3];
        size_t n = t ? (size_t)(rng_next(&rng) % 4) : 0;
        for (size_t i = 0; i < n; i++) {
            idx[i] = (int)(rng_next(&rng) % (uint64_t)t);
            after[i] = f[idx[i]];
        }
        carg a = {.k = rng_next(&rng), .words = 1u + (uint32_t)(rng_next(&rng) % 12),
                  .fail = t == fail_at};
        int rank = (int)(rng_next(&rng) % (uint64_t)fm_size);
        f[t] = call_on(&e, rank, a, after, n);
        words[t] = a.words;
        failed[t] = t == fail_at;
        want[t] = a.k;
        for (size_t i = 0; i < n; i++) {
            failed[t] |= failed[idx[i]];
            want[t] = mix64(want[t] ^ want[idx[i]]);
        }
    }
    long bad = 0;
    uint64_t root = fronta_future_task_id(f[fail_at]);
    for (int t = 0; t < NC; t++) {
        FM_REQUIRE(fronta_future_wait(f[t], FT_LIMIT) == 0);
        fronta_error_t err = {0};
        int code = fronta_future_error(f[t], &err);
        if (failed[t])
            bad += code != (t == fail_at ? FRONTA_ETASK : FRONTA_EDEPFAILED) ||
                   err.task_id != root;
        else
            bad += code != 0 || result_of(f[t], words[t]) != want[t];
        fronta_future_release(f[t]);
    }
    env_down(&e);
    if (fm_rank == 0)
        printf("calls seed %llu: %d tasks, %ld wrong\n", (unsigned long long)seed, NC, bad);
    assert_int_equal(sum_all((uint64_t)bad), 0);
}

void dag_calls(void **state)
{
    (void)state;
    uint64_t seed = seed_base();
    for (uint64_t i = 0; i < 3; i++)
        run_calls(seed + 2 * i);
}
