/* Sleeping and waking threads on a 32-bit word (Linux futex), and clocks. */
#ifndef FRONTA_UTIL_PARK_H
#define FRONTA_UTIL_PARK_H

#include <stdatomic.h>
#include <stdint.h>

/* Sleep while *word == expected, at most until the monotonic deadline
 * (ns; 0 = no deadline). Returns early on wake, signal or spurious wakeup:
 * callers always re-check their condition. */
void fronta__park(atomic_uint *word, unsigned expected, uint64_t deadline_ns);
void fronta__unpark_one(atomic_uint *word);
void fronta__unpark_all(atomic_uint *word);

/* Spin while (*word & mask) < below, for at most spin_us microseconds
 * (none when <= 0) and never past the deadline: 0 once it is not, else
 * nonzero (the caller then parks). Waking a parked thread costs 10-20 us
 * on a VM, several times a short task. Past 5 us it yields the core at
 * each look: the thread that will change the word may need it when there
 * are more threads than cores. */
int fronta__spin_below(atomic_uint *word, unsigned mask, unsigned below, int spin_us,
                       uint64_t deadline_ns);

uint64_t fronta__now_ns(void);
/* Deadline for a timeout in seconds: < 0 → UINT64_MAX (forever). */
uint64_t fronta__deadline(double timeout_s);

static inline void fronta__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
