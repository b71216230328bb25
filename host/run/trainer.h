/* `rlae train`: the RLAE training loop (METHOD.md §2, §5; ARCHITECTURE.md "Data flow").
 *
 * Per iteration: train.episodes_per_iter questions are drawn from the task's training split (a pure
 * function of run.seed and the iteration), answered by the ensemble in batches of
 * ensemble.batch_size with the agent choosing weights every ensemble.span tokens, scored by the
 * task (terminal reward, minus algorithm.length_penalty per token), and the agent takes one
 * PPO / MAPPO update on the span steps. Every train.eval_every iterations (and at the end) the agent
 * is evaluated with deterministic weights on the evaluation split (train.eval_limit items).
 *
 * The run directory (run.out_dir) holds config.yaml (the resolved config, written at the start) and
 * checkpoint.bin (agent, optimiser, value normaliser and the next iteration; written atomically every
 * train.checkpoint_every iterations, at the end, and when a stop is requested). Everything random is
 * keyed by (seed, iteration or episode, span, token), so a run resumed from a checkpoint continues
 * exactly as the uninterrupted run would have.
 *
 * Several ranks (options.comm, dist.placement; docs/distributed.md): an iteration's episodes are cut
 * into rollout chunks of ensemble.batch_size, the same chunks for any number of ranks. data_parallel
 * runs chunk q on rank q % size and gathers every episode record to every rank in episode order;
 * model_parallel runs every chunk on every rank with the members spread over the ranks. The update's
 * gradient chunks are spread over the ranks too (agent.h). Episodes, log and agent parameters are
 * bit-identical to a one-process run with the same seed; the parameters are compared across ranks
 * (a hash) after every update. Rank 0 alone writes config.yaml, the run log, the checkpoints and the
 * progress lines, and evaluates (data_parallel) or leads the evaluation (model_parallel). */
#ifndef RLAE_RUN_TRAINER_H
#define RLAE_RUN_TRAINER_H

#include "algorithms/agent.h"
#include "config/config.h"
#include "core/status.h"
#include "dist/comm.h"
#include "run/ensemble_setup.h"

#include <stdio.h>

typedef struct {
    int resume;     /* continue from <run.out_dir>/checkpoint.bin */
    FILE *progress; /* one line per iteration and evaluation; NULL = silent */
    rlae_comm *comm; /* the ranks of a multi-process run (dist/comm.h); NULL = one process */
} rlae_train_options;

/* Per-iteration summary, for callers and tests. */
typedef struct {
    int iteration;
    double reward, accuracy, mean_tokens;
    double mean_weight[8];
    rlae_update_metrics update;
    double seconds;
} rlae_train_iteration;

/* Runs (or resumes) training. RLAE_ERR_INTERRUPTED after a requested stop, with the checkpoint
 * written. If `last` is non-NULL it receives the summary of the last iteration run. */
rlae_status rlae_train(const rlae_config *cfg, const rlae_train_options *opt, rlae_train_iteration *last);

/* Asks a running rlae_train to finish its current iteration, write a checkpoint and return
 * (async-signal-safe: SIGINT / SIGTERM handlers call it). */
void rlae_train_request_stop(void);

/* Path of the checkpoint inside a run directory (malloc'd). */
char *rlae_train_checkpoint_path(const char *run_dir);

/* An agent trained with an encoder member needs that encoder wherever it runs. When cfg names no
 * encoder and the run of `checkpoint` (its config.yaml beside the checkpoint) had one, cfg takes
 * that run's encoder section and *adopted is set; when both name encoders and they differ, it is
 * RLAE_ERR_INPUT naming both. No config.yaml beside the checkpoint: nothing to do. */
rlae_status rlae_train_adopt_encoder(const char *checkpoint, rlae_config *cfg, int *adopted);

/* The trained agent of a checkpoint (a checkpoint.bin, or a run directory holding one), checked
 * against the agent that cfg and e's members call for (a mismatch names the differing setting). */
rlae_status rlae_train_load_agent(const char *checkpoint, const rlae_config *cfg, const rlae_ensemble *e,
                                  rlae_agent **out);

#endif
