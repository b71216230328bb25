/* Loading a config's task for training and evaluation (task_data.h). */
#include "run/task_data.h"

#include <stdlib.h>
#include <string.h>

/* task.synthetic.skills names (the config's words, and the env's short names). */
static int skill_index(const char *name)
{
    static const char *const long_names[ENV_N_SKILLS] = {"addition", "reversal", "counting", "copy"};
    for (int k = 0; k < ENV_N_SKILLS; k++)
        if (strcmp(name, long_names[k]) == 0 || strcmp(name, env_synthetic_skill_name(k)) == 0)
            return k;
    return -1;
}

static rlae_status synthetic_config(const rlae_config *cfg, env_synthetic_config *out)
{
    const rlae_synthetic_config *s = &cfg->task.synthetic;
    env_synthetic_default_config(out);
    out->seed = (uint64_t)s->seed;
    for (int k = 0; k < ENV_N_SKILLS; k++)
        out->weights[k] = 0;
    if (s->proportions.n && s->proportions.n != s->skills.n)
        return rlae_fail(RLAE_ERR_INPUT, "task.synthetic.proportions has %d entries but task.synthetic.skills %d; "
                         "give one proportion per skill, or none for equal shares", s->proportions.n, s->skills.n);
    for (int i = 0; i < s->skills.n; i++) {
        int k = skill_index(s->skills.items[i]);
        if (k < 0)
            return rlae_fail(RLAE_ERR_INPUT, "task.synthetic.skills: unknown skill '%s'; the skills are addition, "
                             "reversal, counting, copy", s->skills.items[i]);
        out->weights[k] += s->proportions.n ? s->proportions.items[i] : 1.0;
    }
    return RLAE_OK;
}

static const char *data_dir(const rlae_config *cfg)
{
    if (cfg->task.data_dir && cfg->task.data_dir[0])
        return cfg->task.data_dir;
    const char *env = getenv("RLAE_DATA_DIR");
    return env && env[0] ? env : NULL;
}

static int has_split(const env_task *t, const char *split)
{
    for (int i = 0; t->splits && t->splits[i]; i++)
        if (strcmp(t->splits[i], split) == 0)
            return 1;
    return 0;
}

rlae_status rlae_task_data_load(const rlae_config *cfg, const char *which, size_t limit, rlae_task_data *out)
{
    memset(out, 0, sizeof *out);
    const char *name = rlae_config_enum_name("task.name", (int)cfg->task.name);
    const env_task *t = name ? env_task_find(name) : NULL;
    if (!t)
        return rlae_fail(RLAE_ERR_INPUT, "task.name: no task '%s' is built in", name ? name : "?");
    int train = strcmp(which, "train") == 0;
    const char *split = train ? cfg->task.train_split : cfg->task.eval_split;
    if (!split || !split[0])
        split = train ? "train" : t->eval_split;
    out->task = t;
    out->fmt = (env_format_opts){.n_shots = cfg->task.shots, .seed = (uint64_t)cfg->run.seed, .per_item_shots = 0,
                                 .style = cfg->task.mc_scoring == RLAE_MC_GENERATE ? ENV_STYLE_GENERATE
                                                                                    : ENV_STYLE_LOGLIK};
    rlae_status s;
    if (cfg->task.name == RLAE_TASK_SYNTHETIC) {
        env_synthetic_config sc;
        RLAE_TRY(synthetic_config(cfg, &sc));
        if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)
            return rlae_fail(RLAE_ERR_INPUT, "task.%s_split: the synthetic task has splits train and test, not '%s'",
                             train ? "train" : "eval", split);
        size_t n = (size_t)(strcmp(split, "train") == 0 ? cfg->task.synthetic.n_train : cfg->task.synthetic.n_test);
        if (limit && limit < n)
            n = limit;
        s = env_synthetic_generate(&sc, split, 0, n, &out->items);
    } else {
        const char *dir = data_dir(cfg);
        if (!dir)
            return rlae_fail(RLAE_ERR_INPUT, "task %s needs its dataset: set task.data_dir in the config or "
                             "RLAE_DATA_DIR (tools/fetch-data.sh downloads the files)", t->name);
        if (!has_split(t, split))
            return rlae_fail(RLAE_ERR_INPUT, "task.%s_split: task %s has no split '%s'; set task.%s_split to one "
                             "it has (its evaluation split is %s)", train ? "train" : "eval", t->name, split,
                             train ? "train" : "eval", t->eval_split);
        s = env_load(t, dir, split, limit, &out->items);
        int shots = cfg->task.shots < 0 ? t->default_shots : cfg->task.shots;
        if (s == RLAE_OK && shots > 0 && t->shot_split)
            s = env_load(t, dir, t->shot_split, 0, &out->pool);
    }
    if (s == RLAE_OK && !(out->split = rlae_strdup(split)))
        s = RLAE_ERR_NOMEM;
    if (s == RLAE_OK && out->items.n == 0)
        s = rlae_fail(RLAE_ERR_INPUT, "task %s, split %s: no items", t->name, split);
    if (s != RLAE_OK)
        rlae_task_data_free(out);
    return s;
}

void rlae_task_data_free(rlae_task_data *d)
{
    env_items_free(&d->items);
    env_items_free(&d->pool);
    free(d->split);
    memset(d, 0, sizeof *d);
}

rlae_status rlae_task_data_prompt(const rlae_task_data *d, size_t i, char **out)
{
    *out = env_prompt(d->task, &d->items.v[i], d->pool.n ? &d->pool : NULL, &d->fmt);
    return *out ? RLAE_OK : RLAE_ERR_NOMEM;
}
