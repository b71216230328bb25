/* The task table: name -> task. Adding a family means one file and one line here. */
#include "envs/env.h"

#include <string.h>

extern const env_task env_task_gsm8k, env_task_arc_challenge, env_task_arc_easy, env_task_mmlu,
    env_task_piqa, env_task_hellaswag, env_task_nq_open, env_task_triviaqa, env_task_synthetic;

static const env_task *const tasks[] = {
    &env_task_gsm8k,     &env_task_arc_challenge, &env_task_arc_easy, &env_task_mmlu,      &env_task_piqa,
    &env_task_hellaswag, &env_task_nq_open,       &env_task_triviaqa, &env_task_synthetic,
};
enum { n_tasks = sizeof tasks / sizeof tasks[0] };

const env_task *env_task_find(const char *name)
{
    for (int i = 0; i < n_tasks; i++)
        if (strcmp(tasks[i]->name, name) == 0)
            return tasks[i];
    return NULL;
}

const env_task *env_task_at(int i) { return i >= 0 && i < n_tasks ? tasks[i] : NULL; }
