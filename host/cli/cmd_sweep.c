/* `rlae sweep EXPERIMENT [--jobs N] [--gpus LIST] [--max-runs N] [--out DIR] [--dry-run]`: plans the experiment
 * (exp/experiment.h) and runs what is not done (exp/sweep.h). SIGINT / SIGTERM stop starting runs and
 * pass the signal on to the running ones (training checkpoints), then the sweep exits 130; running
 * it again resumes. Exit 0 when every run is done, 1 when some failed, 2 on a bad experiment file. */
#include "cli.h"

#include "exp/experiment.h"
#include "exp/sweep.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_signal(int sig)
{
    rlae_sweep_request_stop(sig);
}

static int parse_count(const char *opt, const char *v, int min, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < min || n > RLAE_SWEEP_MAX_JOBS * 1000L)
        return cli_usage_error("sweep", "%s needs a whole number >= %d, not '%s'", opt, min, v);
    *out = (int)n;
    return 0;
}

static int parse_gpus(const char *v, int *gpus, int *n)
{
    *n = 0;
    for (const char *p = v; *p;) {
        char *end;
        long g = strtol(p, &end, 10);
        if (end == p || g < 0 || g > 1024 || (*end && *end != ','))
            return cli_usage_error("sweep", "--gpus takes device numbers separated by commas, e.g. --gpus 0,1; "
                                   "not '%s'", v);
        if (*n == RLAE_SWEEP_MAX_JOBS)
            return cli_usage_error("sweep", "--gpus: at most %d devices", RLAE_SWEEP_MAX_JOBS);
        gpus[(*n)++] = (int)g;
        p = *end ? end + 1 : end;
    }
    if (*n == 0)
        return cli_usage_error("sweep", "--gpus needs at least one device number");
    return 0;
}

int cmd_sweep(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help("sweep");
    const char *path = NULL, *out_dir = NULL;
    int jobs = 0, dry = 0, max_runs = 0, n_gpus = 0, rc;
    static int gpus[RLAE_SWEEP_MAX_JOBS];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--out")) {
            if (i + 1 >= argc)
                return cli_usage_error("sweep", "--out needs a directory");
            out_dir = argv[++i];
        } else if (!strcmp(a, "--jobs") || !strcmp(a, "--gpus") || !strcmp(a, "--max-runs")) {
            if (i + 1 >= argc)
                return cli_usage_error("sweep", "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--jobs") && (rc = parse_count(a, v, 1, &jobs)))
                return rc;
            if (!strcmp(a, "--max-runs") && (rc = parse_count(a, v, 1, &max_runs)))
                return rc;
            if (!strcmp(a, "--gpus") && (rc = parse_gpus(v, gpus, &n_gpus)))
                return rc;
        } else if (a[0] == '-') {
            return cli_usage_error("sweep", "unknown option '%s' (options: --jobs N, --gpus LIST, --max-runs N, "
                                   "--out DIR, --dry-run)", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_usage_error("sweep", "unexpected argument '%s': give one EXPERIMENT file", a);
        }
    }
    if (!path)
        return cli_usage_error("sweep", "missing EXPERIMENT (a file such as experiments/main.yaml)");
    if (jobs > RLAE_SWEEP_MAX_JOBS)
        return cli_usage_error("sweep", "--jobs: at most %d", RLAE_SWEEP_MAX_JOBS);
    if (n_gpus && jobs && jobs != n_gpus)
        return cli_usage_error("sweep", "--gpus places one run per GPU: --jobs %d does not match the %d GPUs given "
                               "(leave --jobs out)", jobs, n_gpus);
    rlae_experiment *e = NULL;
    rlae_status s = rlae_experiment_load(path, out_dir, &e);
    if (s != RLAE_OK)
        return cli_report("sweep", s);
    if (dry) {
        rlae_sweep_print_plan(e, stdout);
        rlae_experiment_free(e);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: the wait for children returns and the loop sees the stop */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rlae_sweep_options opt = {.jobs = jobs ? jobs : 1, .gpus = n_gpus ? gpus : NULL, .n_gpus = n_gpus,
                              .max_runs = max_runs, .out = stdout, .progress = stderr};
    rlae_sweep_result res;
    s = rlae_sweep_run(e, &opt, &res);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    rlae_experiment_free(e);
    return cli_report("sweep", s);
}
