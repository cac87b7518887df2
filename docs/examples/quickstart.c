/* quickstart.c — the README's example: the futures loop, then a bundled kernel over a buffer. */
#include <fronta.h>
#include <stdio.h>

static int square(fronta_ctx_t *ctx, void *arg) {        /* a task: any C function */
    int64_t x = *(int64_t *)arg, y = x * x;
    return fronta_ctx_return(ctx, &y, sizeof y);        /* the future's result */
}

int main(void) {
    fronta_runtime_t *rt;
    fronta_future_t *fs[8], *f;
    fronta_as_completed_t *ac;
    int64_t xs[8] = {0, 1, 2, 3, 4, 5, 6, 7}, y, total = 0;
    static int64_t data[1 << 20];
    static uint8_t mask[1 << 20];
    fronta_buffer_t *bd, *bm;
    if (fronta_runtime_create(NULL, &rt) != 0) return 1;      /* CPU pool + OpenCL devices */
    for (int i = 0; i < 8; i++)                               /* executor.submit(square, x) */
        if (fronta_submit_fn(rt, square, &xs[i], sizeof xs[i], &fs[i]) != 0) return 1;
    if (fronta_as_completed_create(rt, fs, 8, &ac) != 0) return 1;
    while (fronta_as_completed_next(ac, -1.0, &f) == 0) {     /* for f in as_completed(fs) */
        if (fronta_future_result(f, 0, &y, sizeof y) == 0) total += y;
        fronta_future_release(f);
    }
    fronta_as_completed_destroy(ac);
    for (int i = 0; i < 1 << 20; i++) data[i] = i;            /* mask = data % 3 == 0, */
    if (fronta_buffer_wrap(rt, data, 1 << 20, FRONTA_INT64, &bd) != 0 ||  /* on any device */
        fronta_buffer_wrap(rt, mask, 1 << 20, FRONTA_UINT8, &bm) != 0) return 1;
    fronta_task_desc_t t = {.kernel = fronta_kernel_builtin(rt, "divisible_by"),
                            .args = {FRONTA_IN(bd), FRONTA_I64(3), FRONTA_OUT(bm)}};
    if (fronta_submit(rt, &t, &f) != 0 || fronta_future_wait(f, -1.0) != 0) return 1;
    printf("sum of squares %lld; kernel on device %d\n", (long long)total, fronta_future_device(f));
    int rc = fronta_future_error(f, NULL);
    fronta_future_release(f);
    if (fronta_buffer_destroy(bm) != 0 || fronta_buffer_destroy(bd) != 0) return 1;  /* mask[] */
    fronta_runtime_destroy(rt);
    return rc != 0 || total != 140 || mask[999] != 1 || mask[1000] != 0;
}
