/* Tests of the counter-based random streams: fronta_random_u64 and the per-task ctx stream. */
#include "test_util.h"

enum { DRAWS = 16 };

typedef struct draws {
    uint64_t u[DRAWS];
    double d[4];
} draws_t;

static int draw_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    draws_t r;
    for (int i = 0; i < DRAWS; i++)
        r.u[i] = fronta_ctx_random(ctx);
    for (int i = 0; i < 4; i++)
        r.d[i] = fronta_ctx_random_double(ctx);
    return fronta_ctx_return(ctx, &r, sizeof r);
}

static int popcount64(uint64_t x)
{
    int n = 0;
    while (x) {
        x &= x - 1;
        n++;
    }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void generator_is_deterministic_and_varied(void **state)
{
    (void)state;
    enum { N = 1000 };
    uint64_t v[N];
    long bits = 0;
    for (uint64_t c = 0; c < N; c++) {
        v[c] = fronta_random_u64(12345, 678, c);
        assert_int_equal(v[c], fronta_random_u64(12345, 678, c));
        bits += popcount64(v[c]);
        /* Each input changes the output. */
        assert_int_not_equal(v[c], fronta_random_u64(12346, 678, c));
        assert_int_not_equal(v[c], fronta_random_u64(12345, 679, c));
    }
    /* Not constant, no repeats among a thousand draws. */
    qsort(v, N, sizeof v[0], cmp_u64);
    for (int i = 1; i < N; i++)
        assert_int_not_equal(v[i - 1], v[i]);
    /* About half the bits set (the mean of 1000 draws is 32 +- 0.13). */
    double mean = (double)bits / N;
    assert_true(mean > 30.0 && mean < 34.0);
    /* Key and counter are not interchangeable; zero inputs are fine. */
    assert_int_not_equal(fronta_random_u64(1, 2, 3), fronta_random_u64(1, 3, 2));
    assert_int_equal(fronta_random_u64(0, 0, 0), fronta_random_u64(0, 0, 0));
}

static fronta_runtime_t *rt_seeded(int threads, uint64_t seed)
{
    fronta_config_t cfg = {.size = sizeof cfg, .cpu_threads = threads, .seed = seed};
    fronta_runtime_t *rt = NULL;
    assert_int_equal(fronta_runtime_create(&cfg, &rt), 0);
    return rt;
}

/* Runs a map of n draw tasks and returns their results. */
static draws_t *run_map(fronta_runtime_t *rt, size_t n)
{
    fronta_future_t **fs = calloc(n, sizeof *fs);
    draws_t *out = calloc(n, sizeof *out);
    int *dummy = calloc(n, sizeof *dummy);
    assert_non_null(fs);
    assert_non_null(out);
    assert_non_null(dummy);
    assert_int_equal(fronta_map(rt, draw_task, dummy, sizeof *dummy, n, NULL, fs), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fronta_future_result(fs[i], FT_LIMIT, &out[i], sizeof out[i]), 0);
        fronta_future_release(fs[i]);
    }
    free(dummy);
    free(fs);
    return out;
}

static void ctx_stream_independent_of_threads(void **state)
{
    (void)state;
    enum { N = 1000 };
    const uint64_t seed = 0xC0FFEEull;
    draws_t *ref = NULL;
    for (int threads = 1; threads <= 3; threads++) {
        fronta_runtime_t *rt = rt_seeded(threads, seed);
        draws_t *got = run_map(rt, N);
        fronta_runtime_destroy(rt);
        if (!ref) {
            ref = got;
            continue;
        }
        size_t diff = 0;
        for (size_t i = 0; i < N; i++)
            diff += memcmp(&ref[i], &got[i], sizeof got[i]) != 0;
        if (diff)
            print_error("%d threads: %zu of %d tasks drew other values\n", threads,
                        diff, N);
        assert_int_equal(diff, 0);
        free(got);
    }
    /* The streams themselves are varied: within a task, across tasks, and
     * doubles lie in [0, 1). */
    for (size_t i = 0; i < N; i++) {
        assert_int_not_equal(ref[i].u[0], ref[i].u[1]);
        if (i > 0)
            assert_int_not_equal(ref[i].u[0], ref[i - 1].u[0]);
        for (int k = 0; k < 4; k++)
            assert_true(ref[i].d[k] >= 0.0 && ref[i].d[k] < 1.0);
    }
    /* Another seed gives other streams. */
    fronta_runtime_t *rt = rt_seeded(2, seed + 1);
    draws_t *other = run_map(rt, N);
    fronta_runtime_destroy(rt);
    size_t same = 0;
    for (size_t i = 0; i < N; i++)
        same += memcmp(&ref[i], &other[i], sizeof other[i]) == 0;
    assert_int_equal(same, 0);
    free(other);
    free(ref);
}

/* Submits tasks with keys key0..key0+n-1, in reverse order when asked,
 * and returns the draws indexed by key. */
static draws_t *run_keyed(fronta_runtime_t *rt, uint64_t key0, size_t n, int reverse)
{
    fronta_future_t **fs = calloc(n, sizeof *fs);
    draws_t *out = calloc(n, sizeof *out);
    assert_non_null(fs);
    assert_non_null(out);
    for (size_t k = 0; k < n; k++) {
        size_t i = reverse ? n - 1 - k : k;
        fronta_call_t call = {.size = sizeof call, .fn = draw_task, .key = key0 + i};
        assert_int_equal(fronta_submit_call(rt, &call, &fs[i]), 0);
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fronta_future_result(fs[i], FT_LIMIT, &out[i], sizeof out[i]), 0);
        fronta_future_release(fs[i]);
    }
    free(fs);
    return out;
}

static void explicit_keys(void **state)
{
    (void)state;
    enum { N = 257 };
    const uint64_t seed = 42, key0 = 1000;
    fronta_runtime_t *a = rt_seeded(1, seed);
    fronta_runtime_t *b = rt_seeded(3, seed);
    fronta_runtime_t *c = rt_seeded(2, seed + 7);
    /* Some unkeyed work first in b: keyed streams must not depend on it. */
    draws_t *noise = run_map(b, 11);
    free(noise);
    draws_t *da = run_keyed(a, key0, N, 0);
    draws_t *db = run_keyed(b, key0, N, 1);
    draws_t *dc = run_keyed(c, key0, N, 0);
    size_t diff = 0, same = 0;
    for (size_t i = 0; i < N; i++) {
        diff += memcmp(&da[i], &db[i], sizeof da[i]) != 0;
        same += memcmp(&da[i], &dc[i], sizeof da[i]) == 0;
    }
    assert_int_equal(diff, 0);
    assert_int_equal(same, 0);
    /* Different keys give different streams. */
    for (size_t i = 1; i < N; i++)
        assert_int_not_equal(da[i].u[0], da[i - 1].u[0]);
    free(da);
    free(db);
    free(dc);
    fronta_runtime_destroy(a);
    fronta_runtime_destroy(b);
    fronta_runtime_destroy(c);
}

/* docs/design.md §7: the n-th draw of a first attempt is
 * fronta_random_u64(seed, key, n), the key being fronta_call_t.key, or the
 * derived one that fronta_future_key reports. */
static void stream_matches_generator(void **state)
{
    (void)state;
    const uint64_t seed = 987654321;
    fronta_runtime_t *rt = rt_seeded(2, seed);
    fronta_call_t call = {.size = sizeof call, .fn = draw_task, .key = 31337};
    fronta_future_t *keyed = NULL, *unkeyed = NULL;
    assert_int_equal(fronta_submit_call(rt, &call, &keyed), 0);
    assert_int_equal(fronta_submit_fn(rt, draw_task, NULL, 0, &unkeyed), 0);
    draws_t a, b;
    assert_int_equal(fronta_future_result(keyed, FT_LIMIT, &a, sizeof a), 0);
    assert_int_equal(fronta_future_result(unkeyed, FT_LIMIT, &b, sizeof b), 0);
    uint64_t key = fronta_future_key(unkeyed);
    assert_int_equal(fronta_future_key(keyed), 31337);
    assert_int_not_equal(key, 0);
    for (uint64_t n = 0; n < DRAWS; n++) {
        assert_int_equal(a.u[n], fronta_random_u64(seed, 31337, n));
        assert_int_equal(b.u[n], fronta_random_u64(seed, key, n));
    }
    fronta_future_release(keyed);
    fronta_future_release(unkeyed);
    fronta_runtime_destroy(rt);
}

/* Draws on every attempt, fails the first: the retry gets another stream. */
typedef struct retry_draws {
    uint64_t first[4];
} retry_draws_t;

static int draw_then_fail_once(fronta_ctx_t *ctx, void *arg)
{
    retry_draws_t *r;
    memcpy(&r, arg, sizeof r);
    uint64_t v[4];
    for (int i = 0; i < 4; i++)
        v[i] = fronta_ctx_random(ctx);
    if (fronta_ctx_attempt(ctx) == 0) {
        memcpy(r->first, v, sizeof v);
        return FRONTA_ETASK;
    }
    return fronta_ctx_return(ctx, v, sizeof v);
}

static void retry_gets_new_stream(void **state)
{
    (void)state;
    uint64_t second[2][4];
    retry_draws_t first[2];
    for (int run = 0; run < 2; run++) {
        fronta_runtime_t *rt = rt_seeded(run + 1, 5);
        retry_draws_t *rp = &first[run];
        fronta_call_t call = {.size = sizeof call, .fn = draw_then_fail_once,
                              .arg = &rp, .arg_size = sizeof rp, .retries = 1,
                              .key = 77};
        fronta_future_t *f = NULL;
        assert_int_equal(fronta_submit_call(rt, &call, &f), 0);
        assert_int_equal(fronta_future_result(f, FT_LIMIT, second[run], sizeof second[run]),
                         0);
        fronta_future_release(f);
        fronta_runtime_destroy(rt);
    }
    /* Attempt 1 differs from attempt 0, and both repeat across runs. */
    assert_memory_not_equal(first[0].first, second[0], sizeof second[0]);
    assert_memory_equal(first[0].first, first[1].first, sizeof first[0].first);
    assert_memory_equal(second[0], second[1], sizeof second[0]);
}

/* Nested tasks are keyed by (parent key, rank among its children), so their
 * streams do not depend on the thread count either. */
enum { KIDS = 8 };

static int parent_task(fronta_ctx_t *ctx, void *arg)
{
    (void)arg;
    fronta_future_t *kids[KIDS] = {NULL};
    uint64_t out[KIDS];
    int rc = 0;
    for (int i = 0; i < KIDS && rc == 0; i++)
        rc = fronta_submit_fn(fronta_ctx_runtime(ctx), draw_task, NULL, 0, &kids[i]);
    for (int i = 0; i < KIDS; i++) {
        draws_t d;
        if (rc == 0)
            rc = fronta_future_result(kids[i], FT_LIMIT, &d, sizeof d);
        if (rc == 0)
            out[i] = d.u[0] ^ d.u[DRAWS - 1];
        fronta_future_release(kids[i]);
    }
    return rc ? rc : fronta_ctx_return(ctx, out, sizeof out);
}

static void nested_streams_independent_of_threads(void **state)
{
    (void)state;
    enum { PARENTS = 23 };
    uint64_t ref[PARENTS][KIDS];
    for (int threads = 1; threads <= 3; threads++) {
        fronta_runtime_t *rt = rt_seeded(threads, 2024);
        fronta_future_t *fs[PARENTS];
        int dummy[PARENTS] = {0};
        assert_int_equal(fronta_map(rt, parent_task, dummy, sizeof dummy[0], PARENTS, NULL,
                                    fs), 0);
        for (int p = 0; p < PARENTS; p++) {
            uint64_t got[KIDS];
            assert_int_equal(fronta_future_result(fs[p], FT_LIMIT, got, sizeof got), 0);
            if (threads == 1)
                memcpy(ref[p], got, sizeof got);
            else
                assert_memory_equal(ref[p], got, sizeof got);
            fronta_future_release(fs[p]);
        }
        fronta_runtime_destroy(rt);
    }
    /* Siblings differ. */
    for (int k = 1; k < KIDS; k++)
        assert_int_not_equal(ref[0][k], ref[0][k - 1]);
}

static void seed_from_environment(void **state)
{
    (void)state;
    const char *old = getenv("FRONTA_SEED");
    char *saved = old ? strdup(old) : NULL;
    setenv("FRONTA_SEED", "77", 1);
    fronta_runtime_t *env_rt = NULL;
    assert_int_equal(fronta_runtime_create(NULL, &env_rt), 0);
    unsetenv("FRONTA_SEED");
    fronta_runtime_t *cfg_rt = rt_seeded(0, 77);
    draws_t *x = run_keyed(env_rt, 5, 3, 0);
    draws_t *y = run_keyed(cfg_rt, 5, 3, 0);
    assert_memory_equal(x, y, 3 * sizeof *x);
    free(x);
    free(y);
    fronta_runtime_destroy(env_rt);
    fronta_runtime_destroy(cfg_rt);
    if (saved) {
        setenv("FRONTA_SEED", saved, 1);
        free(saved);
    }
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generator_is_deterministic_and_varied),
        cmocka_unit_test(ctx_stream_independent_of_threads),
        cmocka_unit_test(explicit_keys),
        cmocka_unit_test(stream_matches_generator),
        cmocka_unit_test(retry_gets_new_stream),
        cmocka_unit_test(nested_streams_independent_of_threads),
        cmocka_unit_test(seed_from_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
