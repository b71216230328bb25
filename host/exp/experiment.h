/* Experiment files (docs/experiments.md): a YAML file naming a models file (the members), tasks (each
 * a run config, optionally with overrides), methods, seeds, overrides for every run and a grid of
 * overrides. Loading one expands it into a plan of runs, each with a stable id derived from its
 * resolved config (rlae_config_write_yaml with run.out_dir blanked, SHA-256, 10 hex digits, after a
 * readable slug) and its own directory <out_dir>/runs/<id>:
 *
 *   eval run    one baseline (single:NAME, uniform, score, topk, gated) or one trained agent on one
 *               task and seed: `rlae eval run.yaml --method M` writes eval.h5 / eval.csv there.
 *   train run   one agent (rlae_ppo, rlae_mappo) on its training task and seed: `rlae train run.yaml`
 *               (or `--resume DIR`) writes checkpoint.bin and run.h5; its eval runs
 *               (`--method agent:TRAIN_DIR`) depend on it.
 *
 * A run's status comes from its directory: `done` (the done.json marker, written atomically by the
 * sweep after the child succeeded), `partial` (the directory exists without the marker: interrupted
 * or failed; a train run with checkpoint.bin resumes from it), `pending`, or `invalid` (its config
 * does not resolve; the error is kept and reported as that run's failure). This module only plans;
 * host/exp/sweep.c runs the plan and host/exp/table.c reads the results. */
#ifndef RLAE_EXP_EXPERIMENT_H
#define RLAE_EXP_EXPERIMENT_H

#include "core/status.h"

typedef enum { EXP_RUN_EVAL = 0, EXP_RUN_TRAIN } exp_run_kind;
typedef enum { EXP_PENDING = 0, EXP_PARTIAL, EXP_DONE, EXP_INVALID } exp_run_status;

/* One "key=value" override as the config loader takes it (value in YAML syntax). */
typedef struct {
    char *arg;
} exp_override;

typedef struct {
    char *name;   /* column label */
    char *config; /* path of its run config (relative paths resolved against the experiment file) */
    exp_override *overrides;
    int n_overrides;
} exp_task;

typedef struct {
    char *label; /* "single:chars", "uniform", ..., "rlae_ppo", "rlae_mappo" */
    int agent;   /* 1: rlae_ppo / rlae_mappo (trained, then evaluated) */
    exp_override *overrides; /* method_overrides of the experiment file, then the method's own */
    int n_overrides;
} exp_method;

typedef struct {
    char *key; /* "ensemble.span" */
    char **values; /* YAML text of each value */
    int n_values;
} exp_axis;

typedef struct {
    exp_run_kind kind;
    char *id;   /* slug-hash, e.g. "uniform-addition-s1-span8-3fa2c09b1d" */
    char *dir;  /* <out_dir>/runs/<id> */
    int method, task, seed_index, point; /* indices into the experiment's lists; point: grid point */
    int depends; /* eval of an agent: index of its train run; else -1 */
    char *yaml;  /* the resolved config with run.out_dir = dir (written to <dir>/run.yaml); NULL if invalid */
    char *error; /* invalid: why the config does not resolve */
    exp_run_status status;
} exp_run;

typedef struct {
    char *path;    /* the experiment file as given */
    char *name;
    char *out_dir;
    char *models;  /* path of the models file */
    char **members; /* member names from the models file */
    int n_members;
    exp_task *tasks;
    int n_tasks;
    int train_task; /* agents train on this task and are evaluated on every task; -1: each task its own */
    exp_method *methods;
    int n_methods;
    int *seeds;
    int n_seeds;
    exp_override *overrides;
    int n_overrides;
    exp_axis *grid;
    int n_axes;
    int n_points; /* product of the axes' sizes (1 without a grid) */
    exp_run *runs;
    int n_runs;
} rlae_experiment;

/* Parses `path` and the models file it names (out_dir, when not NULL, replaces the file's out_dir), resolves every run's config and reads every run's
 * status. A malformed experiment or models file is RLAE_ERR_INPUT naming file:line:column; a run
 * whose config alone does not resolve (a bad override value in the grid, say) is not an error here:
 * it is planned with status EXP_INVALID and its message. */
rlae_status rlae_experiment_load(const char *path, const char *out_dir, rlae_experiment **out);
void rlae_experiment_free(rlae_experiment *e);

/* Re-reads the status of run i from its directory (invalid runs stay invalid). */
void rlae_experiment_run_status(rlae_experiment *e, int i);

const char *rlae_experiment_status_name(exp_run_status s);

/* The value of grid axis a at grid point p (YAML text). */
const char *rlae_experiment_point_value(const rlae_experiment *e, int p, int a);

/* The rlae command line (argv[0] = "rlae", NULL-terminated, malloc'd: free with
 * rlae_experiment_argv_free) that runs or continues run i given its current status. */
char **rlae_experiment_run_argv(const rlae_experiment *e, int i);
void rlae_experiment_argv_free(char **argv);

/* <dir>/<file> of run i (malloc'd). */
char *rlae_experiment_run_file(const rlae_experiment *e, int i, const char *file);

#define RLAE_EXP_DONE_MARKER "done.json"
#define RLAE_EXP_RUN_CONFIG "run.yaml"
#define RLAE_EXP_RUN_LOG "log.txt"

#endif
