/*
 * poll.c — fronta in an event loop: the C counterpart of
 * asyncio.wrap_future. Twenty tasks of different lengths run on the pool
 * while the main thread sits in poll(2) on the as_completed file
 * descriptor with a 10 ms timeout; each timeout is a tick of "other work".
 * When the descriptor is readable the loop drains every completed future
 * with fronta_as_completed_next(ac, 0, &f), which never blocks.
 *
 * Exits 0 only if every result is right, every task was seen once, and the
 * results arrived through the descriptor.
 *
 *   cc -std=c11 poll.c $(pkg-config --cflags --libs fronta) -o poll && ./poll
 */
#define _POSIX_C_SOURCE 200809L

#include <fronta.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 20, TICK_MS = 10, GIVE_UP_MS = 30000 };

typedef struct job {
    int64_t index;
    int sleep_ms;   /* how long the task pretends to compute */
} job_t;

typedef struct answer {
    int64_t index;
    int64_t cube;
} answer_t;

/* A task of varying duration: sleep, then return index^3 with its index. */
static int slow_cube(fronta_ctx_t *ctx, void *arg)
{
    const job_t *j = arg;
    struct timespec ts = {j->sleep_ms / 1000, (long)(j->sleep_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    answer_t a = {j->index, j->index * j->index * j->index};
    return fronta_ctx_return(ctx, &a, sizeof a);
}

#define CHECK(call)                                                          \
    do {                                                                     \
        int rc_ = (call);                                                    \
        if (rc_ != 0) {                                                      \
            fprintf(stderr, "poll: %s failed: %s (%s)\n", #call,             \
                    fronta_strerror(rc_), fronta_err_name(rc_));             \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

int main(void)
{
    fronta_runtime_t *rt;
    CHECK(fronta_runtime_create(NULL, &rt));

    /* Durations 5..100 ms in a scrambled order, so completion order differs
     * from submission order. */
    job_t jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i].index = i;
        jobs[i].sleep_ms = 5 + ((i * 7) % N) * 5;
    }
    fronta_future_t *fs[N];
    CHECK(fronta_map(rt, slow_cube, jobs, sizeof jobs[0], N, NULL, fs));

    fronta_as_completed_t *ac;
    CHECK(fronta_as_completed_create(rt, fs, N, &ac)); /* takes the N refs */
    int fd = fronta_as_completed_fd(ac);
    if (fd < 0) {
        fprintf(stderr, "poll: no descriptor: %s\n", fronta_strerror(fd));
        return 1;
    }

    int seen[N] = {0};
    int received = 0, wrong = 0, ticks = 0, fd_wakeups = 0, spurious = 0;
    int done = 0;
    printf("completion order:");
    while (!done) {
        if (ticks * TICK_MS > GIVE_UP_MS) {
            fprintf(stderr, "\npoll: gave up after %d ms\n", GIVE_UP_MS);
            return 1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, TICK_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        if (n == 0) {          /* the loop's "other work" */
            ticks++;
            continue;
        }
        if (!(p.revents & POLLIN)) {
            fprintf(stderr, "\npoll: unexpected revents 0x%x\n", (unsigned)p.revents);
            return 1;
        }
        fd_wakeups++;
        /* Drain: the descriptor stays readable while futures are queued. */
        int got = 0;
        for (;;) {
            fronta_future_t *f;
            int rc = fronta_as_completed_next(ac, 0, &f);
            if (rc == FRONTA_ETIMEDOUT)
                break;             /* queue empty, more to come */
            if (rc == FRONTA_EEMPTY) {
                done = 1;          /* every future has been returned */
                break;
            }
            CHECK(rc);
            got++;
            answer_t a;
            rc = fronta_future_result(f, 0, &a, sizeof a);
            if (rc != 0) {
                fprintf(stderr, "\npoll: task %llu: %s\n",
                        (unsigned long long)fronta_future_task_id(f), fronta_strerror(rc));
                wrong++;
            } else if (a.index < 0 || a.index >= N || seen[a.index] ||
                       a.cube != a.index * a.index * a.index) {
                fprintf(stderr, "\npoll: bad answer index=%lld cube=%lld\n",
                        (long long)a.index, (long long)a.cube);
                wrong++;
            } else {
                seen[a.index] = 1;
                printf(" %lld", (long long)a.index);
            }
            received++;
            fronta_future_release(f); /* next() handed us this reference */
        }
        /* One consumer: readable means something was queued. */
        if (got == 0 && !done)
            spurious++;
    }
    printf("\n");
    fronta_as_completed_destroy(ac);

    int missing = 0;
    for (int i = 0; i < N; i++)
        missing += !seen[i];
    printf("%d results, %d wrong, %d missing; %d ticks of other work, "
           "%d descriptor wake-ups, %d spurious\n",
           received, wrong, missing, ticks, fd_wakeups, spurious);

    CHECK(fronta_runtime_shutdown(rt, FRONTA_SHUTDOWN_WAIT));
    fronta_runtime_destroy(rt);

    int ok = received == N && wrong == 0 && missing == 0 && fd_wakeups > 0 &&
             spurious == 0;
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
