/* fronta_util.c — what the fronta rows of the cases share: reporting a
 * failed call, checking futures. */
#include "bench.h"

bench_status_t bench_api_error(const char *call, int rc)
{
    fprintf(stderr, "fronta-bench: %s: %s (%s)\n", call, fronta_err_name(rc),
            fronta_strerror(rc));
    return BENCH_ERROR;
}

bench_status_t bench_futures_check(fronta_future_t **f, size_t nf, const char *what)
{
    bench_status_t st = BENCH_OK;

    for (size_t i = 0; i < nf; i++) {
        fronta_error_t e;
        int rc = fronta_future_wait(f[i], BENCH_WAIT_S);

        if (rc == 0 && (rc = fronta_future_error(f[i], &e)) != 0 && st == BENCH_OK) {
            fprintf(stderr, "fronta-bench: %s %zu: %s (%s)\n", what, i, fronta_err_name(rc),
                    e.message ? e.message : fronta_strerror(rc));
            st = BENCH_ERROR;
        } else if (rc != 0 && st == BENCH_OK) {
            st = bench_api_error("fronta_future_wait", rc);
        }
        fronta_future_release(f[i]);
    }
    return st;
}
