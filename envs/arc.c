/* ARC (AI2 Reasoning Challenge), Challenge and Easy sets: grade-school science multiple choice.
 *
 * Data: arc/ARC-<Set>/ARC-<Set>-{Train,Dev,Test}.jsonl as released by AI2:
 *   {"id", "question": {"stem", "choices": [{"text", "label"}, ...]}, "answerKey"}
 * Labels are mostly A-D, some 1-4, a few items have 3 or 5 options. Gold is the index of the
 * choice whose label equals answerKey; an answerKey that matches no label is a malformed line.
 * Prompts relabel options A, B, C, ... (mc.c), so extraction never has to know about 1-5. */
#include "envs/env_internal.h"

#include <string.h>

static const char *arc_set(const env_task *t) { return strcmp(t->name, "arc_easy") == 0 ? "Easy" : "Challenge"; }

static void arc_rel(const env_task *t, const char *split, char *rel, size_t cap)
{
    /* Split names are lower case in rlae, capitalised in the release's file names. */
    char cap_split[16];
    snprintf(cap_split, sizeof cap_split, "%s", split);
    cap_split[0] = (char)(cap_split[0] - 'a' + 'A');
    snprintf(rel, cap, "arc/ARC-%s/ARC-%s-%s.jsonl", arc_set(t), arc_set(t), cap_split);
}

static rlae_status parse_item(const env_task *t, env_lines *r, json_t *o, env_item *it)
{
    const char *id, *key, *stem;
    json_t *q = json_object_get(o, "question");
    RLAE_TRY(env_json_str(r, o, "id", &id));
    RLAE_TRY(env_json_str(r, o, "answerKey", &key));
    if (!json_is_object(q))
        return env_lines_fail(r, "field \"question\" is missing or not an object");
    RLAE_TRY(env_json_str(r, q, "stem", &stem));
    json_t *choices = json_object_get(q, "choices");
    if (!json_is_array(choices) || json_array_size(choices) < 2)
        return env_lines_fail(r, "\"question.choices\" must be an array of at least 2 options");
    size_t i;
    json_t *c;
    char where[512];
    snprintf(where, sizeof where, "%s:%ld", r->path, r->line);
    json_array_foreach(choices, i, c) {
        const char *text, *label;
        if (!json_is_object(c))
            return env_lines_fail(r, "choice %zu is not an object", i);
        RLAE_TRY(env_json_str(r, c, "text", &text));
        RLAE_TRY(env_json_str(r, c, "label", &label));
        RLAE_TRY(env_item_add_choice(it, text, label, where));
        if (strcmp(label, key) == 0) {
            if (it->gold_choice >= 0)
                return env_lines_fail(r, "label \"%s\" appears twice among the choices", label);
            it->gold_choice = (int)i;
        }
    }
    if (it->gold_choice < 0)
        return env_lines_fail(r, "answerKey \"%s\" matches none of the choice labels", key);
    it->id = env_strdup(id);
    it->question = env_strdup(stem);
    return it->id && it->question ? RLAE_OK : RLAE_ERR_NOMEM;
}

static rlae_status arc_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                            env_items *out)
{
    char rel[128];
    arc_rel(t, split, rel, sizeof rel);
    char *path = env_path(data_dir, rel);
    if (!path)
        return RLAE_ERR_NOMEM;
    env_lines r;
    rlae_status s = env_lines_open(&r, path);
    free(path);
    if (s != RLAE_OK)
        return s;
    json_t *o = NULL;
    while ((s = env_jsonl_next(&r, &o)) == RLAE_OK && o) {
        env_item *it = env_items_push(out, t->name);
        if (!it) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        s = parse_item(t, &r, o, it);
        json_decref(o);
        o = NULL;
        if (s != RLAE_OK || (limit && out->n >= limit))
            break;
    }
    json_decref(o);
    env_lines_close(&r);
    return s;
}

static int arc_present(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap)
{
    char rel[128];
    arc_rel(t, split, rel, sizeof rel);
    return env_path_present(data_dir, rel, path, cap);
}

static const char *const arc_splits[] = {"train", "dev", "test", NULL};
static const env_mc_style arc_style = {
    .header = "The following are multiple choice questions (with answers) about science",
    .qlabel = "Question",
};

const env_task env_task_arc_challenge = {
    .name = "arc_challenge",
    .description = "ARC-Challenge science multiple choice (3-5 options)",
    .kind = ENV_ANSWER_CHOICE,
    .splits = arc_splits,
    .eval_split = "test",
    .shot_split = "train",
    .default_shots = 0,
    .load = arc_load,
    .present = arc_present,
    .format = env_mc_format,
    .extract = env_mc_extract,
    .score = env_mc_score,
    .gold_response = env_mc_gold_response,
    .params = &arc_style,
};

const env_task env_task_arc_easy = {
    .name = "arc_easy",
    .description = "ARC-Easy science multiple choice (3-5 options)",
    .kind = ENV_ANSWER_CHOICE,
    .splits = arc_splits,
    .eval_split = "test",
    .shot_split = "train",
    .default_shots = 0,
    .load = arc_load,
    .present = arc_present,
    .format = env_mc_format,
    .extract = env_mc_extract,
    .score = env_mc_score,
    .gold_response = env_mc_gold_response,
    .params = &arc_style,
};
