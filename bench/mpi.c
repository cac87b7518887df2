/* mpi.c — the mpi bench group: starts fronta-bench-mpi under mpiexec once per case and hands its runs to the harness as rows. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mpi.h"

extern char **environ;

/* libfronta never links MPI (docs/scale-out.md), and so neither does
 * fronta-bench: an MPI program must be started by mpiexec anyway. So the
 * group's cases run in fronta-bench-mpi (bench/mpi_main.c), one job per
 * case, started at the case's first row's warm-up with as many runs per
 * implementation as the harness may ask for (the warm-up included); each
 * call of a row then hands over the next run's figures, in order, with
 * the status fronta-bench-mpi checked for it. The job's own warm-up and
 * round robin mirror the harness's. */

static const char *unavailable(void);
static void mpi_fini(void);

/* Opt-in: the whole suite without names does not start MPI jobs (they
 * oversubscribe the machine with ranks, and under a batch scheduler
 * mpiexec would claim the allocation); `fronta-bench mpi` runs them. */
const bench_case_t mpi_stencil = {
    .bench = "mpi", .name = "stencil",
    .metric = "ms", .unit = "ms",
    .size = 4096, .quick_size = 256,
    .reference = "mpi_openmp",
    .opt_in = 1, .unavailable = unavailable, .fini = mpi_fini,
};

const bench_case_t mpi_overhead = {
    .bench = "mpi", .name = "overhead",
    .metric = "us_per_roundtrip", .unit = "us",
    .size = 1000, .quick_size = 100,
    .reference = "mpi_raw",
    .opt_in = 1, .unavailable = unavailable, .fini = mpi_fini,
};

/* Seconds a job may take before it is killed and its rows reported as
 * errors: a rank stuck in MPI must not hang the suite. */
#define MPI_JOB_LIMIT_S 900.0
#define MAX_VALUES 1001

typedef struct mrow {
    char impl[32];
    bench_status_t status;        /* of its last run */
    int k, next;                  /* runs reported, runs handed over */
    int has_x;
    double v[MAX_VALUES], x[MAX_VALUES];
} mrow_t;

/* The job of the case running now (rows of one case run together). */
static struct {
    const bench_case_t *c;        /* NULL: not started */
    int failed;                   /* the job did not give its rows */
    mrow_t rows[2];
    int nrows;
} job;

/* ---- finding the programs ---------------------------------------------- */

static int executable(const char *p)
{
    struct stat st;

    return p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* fronta-bench-mpi: FRONTA_BENCH_MPI, else next to this executable. */
static const char *child_path(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("FRONTA_BENCH_MPI");
    ssize_t len;
    char *slash;

    if (env && *env)
        return env;
    len = readlink("/proc/self/exe", path, sizeof path - 32);
    if (len <= 0)
        return NULL;
    path[len] = '\0';
    if (!(slash = strrchr(path, '/')))
        return NULL;
    strcpy(slash + 1, "fronta-bench-mpi");
    return path;
}

/* mpiexec: FRONTA_BENCH_MPIEXEC, else the one CMake found, else mpiexec or
 * mpirun in PATH. */
static const char *mpiexec_path(void)
{
    static char found[PATH_MAX];
    const char *env = getenv("FRONTA_BENCH_MPIEXEC"), *path = getenv("PATH");
    static const char *const names[] = {"mpiexec", "mpirun"};

    if (env && *env)
        return env;
#ifdef FRONTA_BENCH_MPIEXEC_PATH
    if (executable(FRONTA_BENCH_MPIEXEC_PATH))
        return FRONTA_BENCH_MPIEXEC_PATH;
#endif
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        for (const char *p = path; p && *p;) {
            const char *end = strchr(p, ':');
            size_t dl = end ? (size_t)(end - p) : strlen(p);
            if (dl && dl + strlen(names[k]) + 2 < sizeof found) {
                memcpy(found, p, dl);
                found[dl] = '/';
                strcpy(found + dl + 1, names[k]);
                if (executable(found))
                    return found;
            }
            p = end ? end + 1 : NULL;
        }
    return NULL;
}

/* Why the group cannot run here (one line, said once for the group), or
 * NULL when it can. */
static const char *unavailable(void)
{
    static char why[PATH_MAX + 128];
    const char *child;

#ifndef FRONTA_BENCH_HAVE_MPI
    return "mpi: skipped, fronta-bench-mpi not built (it needs libfronta_mpi: MPI found at "
           "configure time, e.g. Debian's libopenmpi-dev openmpi-bin, and no ThreadSanitizer)";
#endif
    child = child_path();
    if (!executable(child)) {
        snprintf(why, sizeof why, "mpi: skipped, %s not found (set FRONTA_BENCH_MPI)",
                 child ? child : "fronta-bench-mpi");
        return why;
    }
    if (!executable(mpiexec_path())) {
        const char *env = getenv("FRONTA_BENCH_MPIEXEC");
        if (env && *env) {
            snprintf(why, sizeof why, "mpi: skipped, FRONTA_BENCH_MPIEXEC=%s is not an "
                                      "executable", env);
            return why;
        }
        return "mpi: skipped, mpiexec not found (put it in PATH or set FRONTA_BENCH_MPIEXEC)";
    }
    return NULL;
}

/* ---- running a job ------------------------------------------------------ */

/* argv under fork, stdout to out_fd (stderr stays ours), stdin from
 * /dev/null, env as given; its own process group, so that a job that
 * outlives the limit is ended whole (mpiexec and its ranks). Returns the
 * exit status, 128 + signal, or -1 when it could not start or was killed
 * at the limit (said). */
static int spawn(char *const argv[], char *const envp[], int out_fd, double limit_s)
{
    struct timespec nap = {0, 5 * 1000 * 1000};
    uint64_t t0 = bench_now_ns();
    int status, devnull = open("/dev/null", O_RDONLY);
    pid_t pid, got;

    if (devnull < 0 || (pid = fork()) < 0) {
        fprintf(stderr, "fronta-bench: cannot start %s: %s\n", argv[0], strerror(errno));
        if (devnull >= 0)
            close(devnull);
        return -1;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec: the parent
         * has other threads (the runtime's). */
        setpgid(0, 0);
        dup2(devnull, 0);
        dup2(out_fd, 1);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(devnull);
    setpgid(pid, pid); /* also here: whichever runs first, the group exists */
    while ((got = waitpid(pid, &status, WNOHANG)) == 0) {
        if ((double)(bench_now_ns() - t0) / 1e9 > limit_s) {
            fprintf(stderr, "fronta-bench: %s ran past %.0f s: killed\n", argv[0], limit_s);
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        nanosleep(&nap, NULL);
    }
    if (got < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Whether mpiexec is Open MPI's, which refuses more ranks than cores
 * without --oversubscribe and root without --allow-run-as-root (CI's
 * containers). Asked once, of the binary itself (FRONTA_BENCH_MPIEXEC may
 * name another than CMake's). */
static int is_open_mpi(const char *mpiexec, char *const envp[])
{
    static int known = -1;
    char tmpl[] = "/tmp/fronta-bench-mpiver-XXXXXX", buf[4096];
    char *argv[] = {(char *)mpiexec, "--version", NULL};
    int fd;
    ssize_t len;

    if (known >= 0)
        return known;
    known = 0;
    if ((fd = mkstemp(tmpl)) < 0)
        return known;
    unlink(tmpl);
    if (spawn(argv, envp, fd, 30.0) == 0 && lseek(fd, 0, SEEK_SET) == 0 &&
        (len = read(fd, buf, sizeof buf - 1)) > 0) {
        buf[len] = '\0';
        known = strstr(buf, "Open MPI") || strstr(buf, "OpenRTE");
    }
    close(fd);
    return known;
}

/* The environment of the job: ours, plus OMP_NUM_THREADS = cores / ranks
 * (at least 1) unless the user set the ranks' threads themselves, so that
 * ranks sharing a node do not oversubscribe it with pool threads too. */
static char **job_env(int np, char *omp, size_t omp_len)
{
    size_t n = 0;
    char **envp;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    while (environ[n])
        n++;
    if (!(envp = calloc(n + 2, sizeof *envp)))
        return NULL;
    memcpy(envp, environ, n * sizeof *envp);
    if (!getenv("OMP_NUM_THREADS") && !getenv("FRONTA_CPU_THREADS")) {
        snprintf(omp, omp_len, "OMP_NUM_THREADS=%ld", cpus / np > 1 ? cpus / np : 1);
        envp[n] = omp;
    }
    return envp;
}

static int job_np(const bench_case_t *c)
{
    const char *s = getenv("FRONTA_BENCH_MPI_NP");
    long np = s ? strtol(s, NULL, 10) : 0;

    if (c == &mpi_overhead)
        return MPI_BENCH_OVERHEAD_NP;
    return np >= 2 && np <= 4096 ? (int)np : MPI_BENCH_STENCIL_NP;
}

/* One "row CASE IMPL STATUS K v... [x K e...]" line into job.rows. */
static void parse_row(char *line)
{
    char *save = NULL, *tok;
    mrow_t *r = &job.rows[job.nrows];
    int k;

    if (job.nrows == 2)
        return;
    memset(r, 0, sizeof *r);
    strtok_r(line, " \n", &save);                  /* "row" */
    if (!strtok_r(NULL, " \n", &save) || !(tok = strtok_r(NULL, " \n", &save)))
        return;                                    /* case, impl */
    snprintf(r->impl, sizeof r->impl, "%s", tok);
    if (!(tok = strtok_r(NULL, " \n", &save)))
        return;
    r->status = strcmp(tok, "ok") == 0 ? BENCH_OK : strcmp(tok, "wrong") == 0 ? BENCH_WRONG
                                                                               : BENCH_ERROR;
    if (!(tok = strtok_r(NULL, " \n", &save)) || (k = atoi(tok)) < 0 || k > MAX_VALUES)
        return;
    for (r->k = 0; r->k < k && (tok = strtok_r(NULL, " \n", &save)); r->k++)
        r->v[r->k] = strtod(tok, NULL);
    if (r->k != k)
        return;
    if ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "x") == 0 &&
        (tok = strtok_r(NULL, " \n", &save)) && atoi(tok) == k) {
        int i;
        for (i = 0; i < k && (tok = strtok_r(NULL, " \n", &save)); i++)
            r->x[i] = strtod(tok, NULL);
        r->has_x = i == k;
    }
    job.nrows++;
}

/* Runs case c's job; its rows (or job.failed) after. */
static void job_run(const bench_env_t *env, const bench_case_t *c, size_t n)
{
    const char *mpiexec = mpiexec_path(), *child = child_path();
    char tmpl[PATH_MAX], omp[64], np[16], size[32], steps[16], runs[16];
    const char *tmpdir = getenv("TMPDIR");
    char *argv[24], line[65536], **envp = job_env(job_np(c), omp, sizeof omp);
    int fd = -1, a = 0, rc;
    FILE *f;

    memset(&job, 0, sizeof job);
    job.c = c;
    job.failed = 1;
    snprintf(tmpl, sizeof tmpl, "%s/fronta-bench-mpi-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!envp || !mpiexec || (fd = mkstemp(tmpl)) < 0) {
        fprintf(stderr, "fronta-bench: mpi/%s: cannot set the job up\n", c->name);
        free(envp);
        return;
    }
    snprintf(np, sizeof np, "%d", job_np(c));
    snprintf(size, sizeof size, "%zu", n);
    snprintf(steps, sizeof steps, "%d", env->quick ? MPI_BENCH_QUICK_STEPS : MPI_BENCH_STEPS);
    snprintf(runs, sizeof runs, "%d", env->runs < MAX_VALUES ? env->runs : MAX_VALUES);
    argv[a++] = (char *)mpiexec;
    if (is_open_mpi(mpiexec, envp)) {
        argv[a++] = "--oversubscribe";
        if (geteuid() == 0)
            argv[a++] = "--allow-run-as-root";
    }
    argv[a++] = "-n";
    argv[a++] = np;
    argv[a++] = (char *)child;
    argv[a++] = (char *)c->name;
    argv[a++] = "--size", argv[a++] = size;
    argv[a++] = "--steps", argv[a++] = steps;
    argv[a++] = "--runs", argv[a++] = runs;
    argv[a++] = "--out", argv[a++] = tmpl;
    argv[a] = NULL;
    /* The ranks' stdout goes to our stderr: the table owns stdout. */
    rc = spawn(argv, envp, 2, MPI_JOB_LIMIT_S);
    free(envp);
    close(fd);
    if (rc != 0) {
        fprintf(stderr, "fronta-bench: mpi/%s: %s -n %s %s exited with status %d%s\n", c->name,
                mpiexec, np, child, rc, rc == 2 ? " (bad arguments: see above)" : "");
        unlink(tmpl);
        return;
    }
    if (!(f = fopen(tmpl, "r"))) {
        unlink(tmpl);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "row ", 4) == 0)
            parse_row(line);
        else if (strncmp(line, "note ", 5) == 0) {
            line[strcspn(line, "\n")] = '\0';
            if (env->hooks && env->hooks->prog)
                bench_progress_note(env->hooks->prog, "%s", line + 5);
            else
                fprintf(stderr, "%s\n", line + 5);
        }
    }
    fclose(f);
    unlink(tmpl);
    job.failed = job.nrows == 0;
}

/* After the case's rows: the next case starts a job of its own. */
static void mpi_fini(void)
{
    job.c = NULL;
}

/* The next run of c's row impl. */
static bench_status_t mpi_row(const bench_env_t *env, const bench_case_t *c, const char *impl,
                              size_t n, double *value)
{
    mrow_t *r = NULL;

    if (job.c != c)
        job_run(env, c, n);
    for (int i = 0; i < job.nrows; i++)
        if (strcmp(job.rows[i].impl, impl) == 0)
            r = &job.rows[i];
    if (job.failed || !r) {
        if (!job.failed)
            fprintf(stderr, "fronta-bench: mpi/%s: no %s row from the job\n", c->name, impl);
        return BENCH_ERROR;
    }
    if (r->next >= r->k) {
        fprintf(stderr, "fronta-bench: mpi/%s %s: the job gave %d runs, asked for more\n",
                c->name, impl, r->k);
        return BENCH_ERROR;
    }
    value[0] = r->v[r->next];
    value[1] = r->has_x ? r->x[r->next] : 0.0;
    r->next++;
    return r->next < r->k ? BENCH_OK : r->status;
}

bench_status_t mpi_stencil_fronta(const bench_env_t *env, size_t n, double *value)
{
    return mpi_row(env, &mpi_stencil, "fronta", n, value);
}

bench_status_t mpi_stencil_mpi_openmp(const bench_env_t *env, size_t n, double *value)
{
    return mpi_row(env, &mpi_stencil, "mpi_openmp", n, value);
}

bench_status_t mpi_overhead_fronta(const bench_env_t *env, size_t n, double *value)
{
    return mpi_row(env, &mpi_overhead, "fronta", n, value);
}

bench_status_t mpi_overhead_mpi_raw(const bench_env_t *env, size_t n, double *value)
{
    return mpi_row(env, &mpi_overhead, "mpi_raw", n, value);
}
