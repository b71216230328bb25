/* PIQA (physical commonsense): a goal and two solutions, pick the one that works.
 *
 * Data: piqa/<split>.jsonl with {"goal", "sol1", "sol2"} and, beside it, <split>-labels.lst with
 * one 0/1 per line aligned with the jsonl lines (0 = sol1). The "tests" split has no public labels:
 * it loads with gold_choice -1 (countable, not scorable). A labels file whose length differs from
 * the jsonl's is malformed - misalignment would silently score every item against the wrong key. */
#include "envs/env_internal.h"

#include <string.h>

static int has_labels(const char *split) { return strcmp(split, "tests") != 0; }

static rlae_status piqa_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                             env_items *out)
{
    char rel[64];
    snprintf(rel, sizeof rel, "piqa/%s.jsonl", split);
    char *path = env_path(data_dir, rel);
    snprintf(rel, sizeof rel, "piqa/%s-labels.lst", split);
    char *lpath = env_path(data_dir, rel);
    if (!path || !lpath) {
        free(path);
        free(lpath);
        return RLAE_ERR_NOMEM;
    }
    env_lines r, lr;
    memset(&lr, 0, sizeof lr);
    rlae_status s = env_lines_open(&r, path);
    if (s == RLAE_OK && has_labels(split) && (s = env_lines_open(&lr, lpath)) != RLAE_OK)
        env_lines_close(&r);
    free(path);
    free(lpath);
    if (s != RLAE_OK)
        return s;
    json_t *o = NULL;
    while ((s = env_jsonl_next(&r, &o)) == RLAE_OK && o) {
        const char *goal, *sol[2];
        if ((s = env_json_str(&r, o, "goal", &goal)) || (s = env_json_str(&r, o, "sol1", &sol[0])) ||
            (s = env_json_str(&r, o, "sol2", &sol[1])))
            break;
        int gold = -1;
        if (has_labels(split)) {
            char *l;
            size_t len;
            if (!env_lines_next(&lr, &l, &len)) {
                s = env_lines_fail(&r, "no label for this item: %s has only %ld lines", lr.path, lr.line);
                break;
            }
            if (len != 1 || (l[0] != '0' && l[0] != '1')) {
                s = env_lines_fail(&lr, "label \"%s\" is not 0 or 1", l);
                break;
            }
            gold = l[0] - '0';
        }
        env_item *it = env_items_push(out, t->name);
        if (!it) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        char where[512];
        snprintf(where, sizeof where, "%s:%ld", r.path, r.line);
        it->question = env_strdup(goal);
        it->gold_choice = gold;
        if ((s = env_item_add_choice(it, sol[0], "0", where)) || (s = env_item_add_choice(it, sol[1], "1", where)) ||
            (s = env_item_default_id(it, split, out->n - 1)))
            break;
        if (!it->question) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        json_decref(o);
        o = NULL;
        if (limit && out->n >= limit)
            break;
    }
    json_decref(o);
    /* With the whole split read, the labels file must be exhausted too. */
    char *l;
    size_t len;
    if (s == RLAE_OK && !limit && has_labels(split) && env_lines_next(&lr, &l, &len))
        s = env_lines_fail(&lr, "more labels than items in the jsonl file (%ld)", r.line);
    env_lines_close(&r);
    env_lines_close(&lr);
    return s;
}

static int piqa_present(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap)
{
    char rel[64];
    snprintf(rel, sizeof rel, "piqa/%s.jsonl", split);
    return env_path_present(data_dir, rel, path, cap);
}

static const char *const piqa_splits[] = {"train", "valid", "tests", NULL};
static const env_mc_style piqa_style = {
    .header = "Choose the solution that best achieves the goal",
    .qlabel = "Question",
};

const env_task env_task_piqa = {
    .name = "piqa",
    .description = "PIQA physical commonsense, two solutions per goal",
    .kind = ENV_ANSWER_CHOICE,
    .splits = piqa_splits,
    .eval_split = "valid",
    .shot_split = "train",
    .default_shots = 0,
    .load = piqa_load,
    .present = piqa_present,
    .format = env_mc_format,
    .extract = env_mc_extract,
    .score = env_mc_score,
    .gold_response = env_mc_gold_response,
    .params = &piqa_style,
};
