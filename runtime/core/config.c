/* Runtime settings: the config struct, then FRONTA_* environment variables,
 * then defaults. */
#include "core/internal.h"
#include "sched/sched.h"

#include <errno.h>
#include <stdio.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_THREADS 4096

static int parse_threads(const char *name, const char *v, int *out, fronta_log_level_t lvl)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > MAX_THREADS) {
        fronta__log(lvl, FRONTA_LOG_ERROR,
                    "%s='%s' is not a thread count (an integer from 1 to %d)", name, v,
                    MAX_THREADS);
        return FRONTA_EENV;
    }
    *out = (int)n;
    return 0;
}

static int parse_log(const char *v, fronta_log_level_t *out)
{
    static const char *const names[] = {"", "error", "warn", "info", "debug", "off"};
    for (int i = 1; i <= FRONTA_LOG_OFF; i++)
        if (!strcasecmp(v, names[i])) {
            *out = (fronta_log_level_t)i;
            return 0;
        }
    fronta__log(FRONTA_LOG_ERROR, FRONTA_LOG_ERROR,
                "FRONTA_LOG='%s' is not one of error, warn, info, debug, off", v);
    return FRONTA_EENV;
}

/* FRONTA_DEVICES is a comma-separated list of tokens; which devices they
 * select is known only once drivers have looked (fronta_runtime_create),
 * so here they are only split and checked for size. */
static int split_devices(const char *list, fronta__devsel *sel, fronta_log_level_t lvl)
{
    char buf[1024];
    if (strlen(list) >= sizeof buf) {
        fronta__log(lvl, FRONTA_LOG_ERROR, "FRONTA_DEVICES is too long");
        return FRONTA_ENODEV;
    }
    strcpy(buf, list);
    char *save = NULL;
    sel->ntok = 0;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (sel->ntok == FRONTA__MAX_TOKENS || strlen(tok) >= sizeof sel->tok[0]) {
            fronta__log(lvl, FRONTA_LOG_ERROR,
                        "FRONTA_DEVICES: too many entries, or '%s' is too long", tok);
            return FRONTA_ENODEV;
        }
        strcpy(sel->tok[sel->ntok++], tok);
    }
    if (sel->ntok == 0) {
        fronta__log(lvl, FRONTA_LOG_ERROR, "FRONTA_DEVICES is empty");
        return FRONTA_ENODEV;
    }
    return 0;
}

static int parse_seed(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long s = strtoull(v, &end, 0);
    if (errno || end == v || *end) {
        fronta__log(FRONTA_LOG_ERROR, FRONTA_LOG_ERROR, "FRONTA_SEED='%s' is not an integer", v);
        return FRONTA_EENV;
    }
    *out = s;
    return 0;
}

/* The scheduler's settings (docs/scheduling.md). Strings are read during
 * create only: the caller's config need not outlive it. */
static int load_sched(const fronta_config_t *cfg, fronta__settings *out, fronta_log_level_t lvl)
{
    const char *v = cfg->sched;
    int from_env = !v && (v = getenv("FRONTA_SCHED")) && *v;
    out->sched[0] = 0;
    if (v && *v) {
        if (!fronta__sched_find(v)) {
            fronta__log(lvl, FRONTA_LOG_ERROR,
                        "%s'%s' is not a scheduling policy (ws, eager, heft)",
                        from_env ? "FRONTA_SCHED=" : "sched = ", v);
            return from_env ? FRONTA_EENV : FRONTA_EINVAL;
        }
        snprintf(out->sched, sizeof out->sched, "%s", v);
    }
    out->resources = cfg->resources ? cfg->resources : getenv("FRONTA_RESOURCES");
    out->trace = cfg->trace ? cfg->trace : getenv("FRONTA_TRACE");
    if (out->trace && !*out->trace)
        out->trace = NULL;
    out->worker_init = cfg->worker_init;
    out->worker_init_ud = cfg->worker_init_ud;
    out->wait_helps = cfg->wait_helps > 0;
    if (cfg->wait_helps == 0 && (v = getenv("FRONTA_WAIT_HELP")) && *v) {
        if (strcmp(v, "0") && strcmp(v, "1")) {
            fronta__log(lvl, FRONTA_LOG_ERROR, "FRONTA_WAIT_HELP='%s' is not 0 or 1", v);
            return FRONTA_EENV;
        }
        out->wait_helps = v[0] == '1';
    }
    out->rollback_host = cfg->rollback < 0;
    if (cfg->rollback == 0 && (v = getenv("FRONTA_ROLLBACK")) && *v) {
        if (strcmp(v, "full") && strcmp(v, "host")) {
            fronta__log(lvl, FRONTA_LOG_ERROR, "FRONTA_ROLLBACK='%s' is not full or host", v);
            return FRONTA_EENV;
        }
        out->rollback_host = v[0] == 'h';
    }
    out->mem_limit = cfg->device_mem_limit ? cfg->device_mem_limit
                                           : getenv("FRONTA_DEVICE_MEM_LIMIT");
    if (out->mem_limit && !*out->mem_limit)
        out->mem_limit = NULL;
    out->coexec = cfg->coexec >= 0;
    if (cfg->coexec == 0 && (v = getenv("FRONTA_COEXEC")) && *v) {
        if (strcmp(v, "0") && strcmp(v, "1")) {
            fronta__log(lvl, FRONTA_LOG_ERROR, "FRONTA_COEXEC='%s' is not 0 or 1", v);
            return FRONTA_EENV;
        }
        out->coexec = v[0] == '1';
    }
    if (cfg->progress_ms < 0)
        return FRONTA_EINVAL;
    out->progress = cfg->progress;
    out->progress_ud = cfg->progress_ud;
    out->progress_ms = cfg->progress_ms ? cfg->progress_ms : 200;
    return 0;
}

int fronta__settings_load(const fronta_config_t *cfg, fronta__settings *out,
                          fronta_log_level_t *lvl_out)
{
    fronta_config_t local = {0};
    if (cfg && fronta__desc_read(&local, sizeof local, cfg, sizeof(size_t)))
        return FRONTA_EINVAL;
    cfg = &local;
    int rc;
    const char *v;
    out->log_level = cfg->log_level;
    if (out->log_level < 0 || out->log_level > FRONTA_LOG_OFF)
        return FRONTA_EINVAL;
    if (out->log_level == FRONTA_LOG_DEFAULT) {
        out->log_level = FRONTA_LOG_WARN;
        if ((v = getenv("FRONTA_LOG")) && *v && (rc = parse_log(v, &out->log_level)))
            return rc;
    }
    fronta_log_level_t lvl = out->log_level;
    *lvl_out = lvl;

    if (cfg->cpu_threads < 0 || cfg->cpu_threads > MAX_THREADS)
        return FRONTA_EINVAL;
    out->cpu_threads = cfg->cpu_threads;
    if (!out->cpu_threads && (v = getenv("FRONTA_CPU_THREADS")) &&
        (rc = parse_threads("FRONTA_CPU_THREADS", v, &out->cpu_threads, lvl)))
        return rc;
    if (!out->cpu_threads) /* OMP_NUM_THREADS, else the cores we may use */
        out->cpu_threads = omp_get_max_threads();
    if (out->cpu_threads > MAX_THREADS)
        out->cpu_threads = MAX_THREADS;

    const char *devs = cfg->devices ? cfg->devices : getenv("FRONTA_DEVICES");
    memset(&out->sel, 0, sizeof out->sel);
    if ((rc = split_devices(devs ? devs : "all", &out->sel, lvl)))
        return rc;

    out->seed = cfg->seed;
    if (!out->seed && (v = getenv("FRONTA_SEED")) && (rc = parse_seed(v, &out->seed)))
        return rc;
    if (!out->seed)
        out->seed = 0x5eed5eed5eed5eedull;

    /* Long enough to catch the next task of a submit/wait loop (a futex wake
     * costs ~40 us on these VMs), short enough not to burn a core. */
    if (cfg->spin_us > FRONTA_SPIN_US_MAX) {
        fronta__log(lvl, FRONTA_LOG_ERROR, "spin_us = %d is above FRONTA_SPIN_US_MAX (%d)",
                    cfg->spin_us, FRONTA_SPIN_US_MAX);
        return FRONTA_EINVAL;
    }
    out->spin_us = cfg->spin_us == 0 ? 50 : (cfg->spin_us < 0 ? 0 : cfg->spin_us);

    out->zero_copy = cfg->zero_copy >= 0;
    if (cfg->zero_copy == 0 && (v = getenv("FRONTA_ZERO_COPY")) && *v) {
        if (strcmp(v, "0") && strcmp(v, "1")) {
            fronta__log(lvl, FRONTA_LOG_ERROR, "FRONTA_ZERO_COPY='%s' is not 0 or 1", v);
            return FRONTA_EENV;
        }
        out->zero_copy = v[0] == '1';
    }
    return load_sched(cfg, out, lvl);
}
