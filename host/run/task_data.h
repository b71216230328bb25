/* A config's task, loaded: the env task (envs/env.h), the items of one split, the pool few-shot
 * examples come from, and the prompt options (task.shots, the style task.mc_scoring implies), so
 * the trainer and the evaluator read tasks the same way.
 *
 * Splits: "train" uses task.train_split (default "train"), "eval" uses task.eval_split (default the
 * task's eval split). The synthetic task generates task.synthetic.n_train / n_test items of the
 * skills and proportions in task.synthetic. Other tasks read task.data_dir (default
 * $RLAE_DATA_DIR); neither set is RLAE_ERR_INPUT saying how to set one. */
#ifndef RLAE_RUN_TASK_DATA_H
#define RLAE_RUN_TASK_DATA_H

#include "config/config.h"
#include "core/status.h"
#include "envs/env.h"

typedef struct {
    const env_task *task;
    char *split;
    env_items items;
    env_items pool;      /* few-shot examples (empty when the task takes none) */
    env_format_opts fmt;
} rlae_task_data;

/* which: "train" or "eval". limit 0 = every item of the split. */
rlae_status rlae_task_data_load(const rlae_config *cfg, const char *which, size_t limit, rlae_task_data *out);
void rlae_task_data_free(rlae_task_data *d);

/* The prompt text of item i (malloc'd). */
rlae_status rlae_task_data_prompt(const rlae_task_data *d, size_t i, char **out);

#endif
