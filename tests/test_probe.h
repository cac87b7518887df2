/* Probes: calls made on another thread (a task, a callback, a device thread), each timed and recorded, then checked on the main thread (cmocka is not thread-safe). Shared by test_regress.c and test_misuse.c. */
#ifndef FRONTA_TEST_PROBE_H
#define FRONTA_TEST_PROBE_H

#include <pthread.h>

#include "test_util.h"

/* Set by main() before any probe runs: the thread that asserts. */
static pthread_t main_thread;

/* The probing thread fills one row per call (the call's text, the code it
 * must return, a bound on its duration, what it returned and how long it
 * took), publishing each with a release store of n, then sets `finished`.
 * The main thread waits for `finished` with FT_LIMIT and asserts; on a
 * hang it prints the rows so far, so the call that hangs is the next. */
enum { PR_MAX = 64 };

typedef struct probe {
    atomic_int n;
    const char *what[PR_MAX];
    int want[PR_MAX];
    double bound[PR_MAX];
    atomic_int got[PR_MAX];
    atomic_llong us[PR_MAX];
    atomic_int finished;
    atomic_int on_main; /* ran on the main thread: not the context meant */
#ifdef FT_PROBE_FIELDS
    FT_PROBE_FIELDS /* what a file's probing code works on */
#endif
} probe_t;

static void probe_init(probe_t *p)
{
    memset(p, 0, sizeof *p);
    atomic_init(&p->n, 0);
    for (int i = 0; i < PR_MAX; i++) {
        atomic_init(&p->got[i], 0);
        atomic_init(&p->us[i], 0);
    }
    atomic_init(&p->finished, 0);
    atomic_init(&p->on_main, 0);
}

static void probe_put(probe_t *p, const char *what, int want, double bound, int got,
                      double secs)
{
    int i = atomic_load_explicit(&p->n, memory_order_relaxed);
    if (i >= PR_MAX)
        return;
    p->what[i] = what;
    p->want[i] = want;
    p->bound[i] = bound;
    atomic_store(&p->got[i], got);
    atomic_store(&p->us[i], (long long)(secs * 1e6));
    atomic_store_explicit(&p->n, i + 1, memory_order_release); /* publishes row i */
}

/* Time `call`, record it with the code it must return. */
#define PROBE(p, want, bound, call)                                            \
    do {                                                                       \
        double t0_ = ft_now();                                                 \
        int rc_ = (call);                                                      \
        probe_put((p), #call, (want), (bound), rc_, ft_now() - t0_);           \
    } while (0)

static void probe_finish(probe_t *p)
{
    if (pthread_equal(pthread_self(), main_thread))
        atomic_store(&p->on_main, 1);
    atomic_store(&p->finished, 1);
}

static int probe_print(probe_t *p, const char *label)
{
    int bad = 0, n = atomic_load_explicit(&p->n, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        int got = atomic_load(&p->got[i]);
        double secs = (double)atomic_load(&p->us[i]) * 1e-6;
        int ok = got == p->want[i] && secs <= p->bound[i];
        print_message("[ probe    ] %s: %-66s -> %s in %.1f ms%s\n", label, p->what[i],
                      fronta_err_name(got), secs * 1e3, ok ? "" : "   <-- WRONG");
        if (!ok) {
            print_error("%s: %s: expected %s within %.1f s, got %s after %.3f s\n", label,
                        p->what[i], fronta_err_name(p->want[i]), p->bound[i],
                        fronta_err_name(got), secs);
            bad++;
        }
    }
    return bad;
}

/* Main thread: wait for the probe, print every row, fail on any row whose
 * code or duration is not the documented one. */
static void probe_check(probe_t *p, const char *label, int on_main_ok)
{
    FT_SPIN_UNTIL(atomic_load(&p->finished));
    if (!atomic_load(&p->finished)) {
        probe_print(p, label);
        fail_msg("%s: the probe did not finish within %.0f s: the call after the last row "
                 "printed hangs", label, FT_LIMIT);
    }
    int bad = probe_print(p, label);
    if (!on_main_ok && atomic_load(&p->on_main))
        fail_msg("%s: the probe ran on the main thread, not in the context meant", label);
    if (bad)
        fail_msg("%s: %d of %d calls did not behave as documented", label, bad,
                 atomic_load(&p->n));
}

#endif
