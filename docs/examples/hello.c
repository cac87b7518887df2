/*
 * hello.c — the talk's futures loop in miniature: submit, result, map,
 * as_completed, shutdown. Exits 0 only if every result is right.
 *
 *   cc hello.c $(pkg-config --cflags --libs fronta) -o hello && ./hello
 */
#include <fronta.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A task: square the int64 it is given and return it as the result. */
static int square(fronta_ctx_t *ctx, void *arg)
{
    int64_t x = *(const int64_t *)arg;
    int64_t y = x * x;
    return fronta_ctx_return(ctx, &y, sizeof y);
}

#define CHECK(call)                                                          \
    do {                                                                     \
        int rc_ = (call);                                                    \
        if (rc_ != 0) {                                                      \
            fprintf(stderr, "hello: %s failed: %s (%s)\n", #call,            \
                    fronta_strerror(rc_), fronta_err_name(rc_));             \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

enum { N = 10 };

int main(void)
{
    fronta_runtime_t *rt;
    CHECK(fronta_runtime_create(NULL, &rt)); /* defaults + FRONTA_* env */
    printf("fronta %s, %d CPU threads\n", fronta_version(),
           fronta_runtime_cpu_threads(rt));

    /* executor.submit(square, 7).result() */
    int64_t x = 7, y = 0;
    fronta_future_t *f;
    CHECK(fronta_submit_fn(rt, square, &x, sizeof x, &f));
    CHECK(fronta_future_result(f, -1.0, &y, sizeof y));
    fronta_future_release(f);
    printf("square(%lld) = %lld\n", (long long)x, (long long)y);
    int ok = (y == 49);

    /* executor.map(square, range(10)), drained with as_completed */
    int64_t xs[N];
    fronta_future_t *fs[N];
    for (int i = 0; i < N; i++)
        xs[i] = i;
    CHECK(fronta_map(rt, square, xs, sizeof xs[0], N, NULL, fs));

    fronta_as_completed_t *ac;
    CHECK(fronta_as_completed_create(rt, fs, N, &ac)); /* takes the refs */
    int64_t sum = 0;
    int seen = 0;
    for (;;) {
        fronta_future_t *done;
        int rc = fronta_as_completed_next(ac, -1.0, &done);
        if (rc == FRONTA_EEMPTY)
            break;
        CHECK(rc);
        CHECK(fronta_future_result(done, 0, &y, sizeof y));
        printf("  task %llu -> %lld\n",
               (unsigned long long)fronta_future_task_id(done), (long long)y);
        sum += y;
        seen++;
        fronta_future_release(done);
    }
    fronta_as_completed_destroy(ac);

    /* 0^2 + 1^2 + ... + 9^2 = 285 */
    printf("sum of squares 0..%d = %lld (%d results)\n", N - 1, (long long)sum,
           seen);
    ok = ok && sum == 285 && seen == N;

    CHECK(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT));
    fronta_runtime_destroy(rt);
    puts(ok ? "hello: ok" : "hello: WRONG RESULTS");
    return ok ? 0 : 1;
}
