/* Sleeping and waking threads on a 32-bit word (Linux futex), and clocks. */
#include "util/park.h"

#include <errno.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t fronta__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fronta__deadline(double timeout_s)
{
    /* NaN compares false both ways: without this it would reach the
     * conversion below, which is undefined for it. A NaN timeout is a
     * poll, like 0: it must neither hang nor crash. */
    if (timeout_s != timeout_s)
        return fronta__now_ns();
    if (timeout_s < 0 || timeout_s > 1e9)
        return UINT64_MAX;
    return fronta__now_ns() + (uint64_t)(timeout_s * 1e9);
}

void fronta__park(atomic_uint *word, unsigned expected, uint64_t deadline_ns)
{
    struct timespec ts, *tsp = NULL;
    if (deadline_ns != 0 && deadline_ns != UINT64_MAX) {
        uint64_t now = fronta__now_ns();
        if (now >= deadline_ns)
            return;
        uint64_t d = deadline_ns - now;
        ts.tv_sec = (time_t)(d / 1000000000u);
        ts.tv_nsec = (long)(d % 1000000000u);
        tsp = &ts;
    }
    /* A private futex: the word never lives in shared memory. */
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
}

void fronta__unpark_one(atomic_uint *word)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void fronta__unpark_all(atomic_uint *word)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

int fronta__spin_below(atomic_uint *word, unsigned mask, unsigned below, int spin_us,
                       uint64_t deadline_ns)
{
    if (spin_us <= 0)
        return -1;
    uint64_t start = fronta__now_ns();
    uint64_t end = start + (uint64_t)spin_us * 1000u;
    if (end > deadline_ns)
        end = deadline_ns;
    for (unsigned i = 1;; i++) {
        if ((atomic_load_explicit(word, memory_order_acquire) & mask) >= below)
            return 0;
        fronta__cpu_relax();
        if ((i & 63) == 0) {
            uint64_t now = fronta__now_ns();
            if (now >= end)
                return -1;
            if (now - start > 5000)
                sched_yield();
        }
    }
}
