/* Running an experiment's plan (experiment.h): every run that is not done becomes a child process of
 * the same rlae binary (/proc/self/exe: `rlae train ...`, `rlae train --resume DIR` or `rlae eval ...`)
 * in its own process group, with stdout and stderr appended to <run dir>/log.txt. Up to `jobs` run
 * at once; with GPUs, slot i always runs with CUDA_VISIBLE_DEVICES=gpus[i]. With several jobs and no
 * OMP_NUM_THREADS in the environment, each child gets OMP_NUM_THREADS = cores / jobs (at least 1). A run that exits 0 gets
 * its done.json marker (written atomically; it also records the child's wall and CPU time, which the
 * latency table reads). A failed run is reported at the end and the others go on; an agent's eval
 * runs wait for its train run and fail with it. rlae_sweep_request_stop (SIGINT / SIGTERM) stops
 * starting runs and passes the signal on to the running children once: `rlae train` checkpoints and
 * exits, so the next sweep resumes it. */
#ifndef RLAE_EXP_SWEEP_H
#define RLAE_EXP_SWEEP_H

#include "exp/experiment.h"

#include <stdio.h>

enum { RLAE_SWEEP_MAX_JOBS = 256 };

typedef struct {
    int jobs;          /* concurrent runs, >= 1 */
    const int *gpus;   /* n_gpus device ids, or NULL: jobs is then the number of slots */
    int n_gpus;
    int max_runs;      /* start at most this many runs (0: all) */
    FILE *out;         /* a line per started / finished run and the final report; NULL: silent */
    FILE *progress;    /* the progress line over the whole sweep; NULL: none */
    const char *exe;   /* the rlae binary to run; NULL: /proc/self/exe */
} rlae_sweep_options;

typedef struct {
    int total, already_done, ran, failed, remaining; /* remaining: not done after the sweep */
    int interrupted;
} rlae_sweep_result;

/* Prints the plan: one line per run with its status and command (the error of an invalid run). */
void rlae_sweep_print_plan(const rlae_experiment *e, FILE *out);

/* Runs what is pending. RLAE_OK when every run is done; RLAE_ERR_RUNTIME when some failed (they are
 * listed in `out` with their logs); RLAE_ERR_INTERRUPTED after a requested stop. */
rlae_status rlae_sweep_run(rlae_experiment *e, const rlae_sweep_options *opt, rlae_sweep_result *res);

/* Async-signal-safe: stop starting runs and forward `sig` to the running children. */
void rlae_sweep_request_stop(int sig);

#endif
