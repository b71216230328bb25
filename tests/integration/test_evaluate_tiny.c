/* host/run/evaluate on the shared data and the two real tiny models (stories260K, babyllama105):
 *  - scoring through the evaluator's own path: gold responses score 100%, empty answers 0%, on
 *    every task whose data is present (20 items each);
 *  - end to end: 20 items of every task by generation (uniform weights) and, for multiple-choice
 *    tasks, by option log-likelihood (uniform mixture, normalised; one member alone, raw): n == 20,
 *    accuracies and intervals within [0, 1];
 *  - a prompt longer than babyllama105's 256-token context is an error naming the item and the
 *    member, unless prompts are cut from the left (then counted).
 * Skips (77) without ../shared. */
#include "test.h"

#include "algorithms/baselines.h"
#include "run/ensemble_setup.h"
#include "run/evaluate.h"

#include <string.h>

static char data_dir[4200];

/* Tasks with data here (synthetic is generated). */
static int task_present(const env_task *t)
{
    char path[4096];
    return t->kind == ENV_ANSWER_EXACT || t->present(t, data_dir, t->eval_split, path, sizeof path);
}

static void test_gold_and_empty(void)
{
    for (int i = 0; env_task_at(i); i++) {
        const env_task *t = env_task_at(i);
        if (!task_present(t))
            continue;
        env_items items = {0};
        CHECK_MSG(env_load(t, data_dir, t->eval_split, 20, &items) == RLAE_OK, "%s", rlae_last_error());
        char *gold[20] = {0};
        const char *empty[20] = {0};
        double correct[20], f1[20];
        for (size_t j = 0; j < items.n; j++)
            gold[j] = t->gold_response(t, &items.v[j]);
        rlae_eval_result r;
        rlae_eval_score_texts(t, &items, (const char *const *)gold, correct, f1);
        CHECK(rlae_eval_summarise(t, "gold", t->eval_split, "generate", correct, f1, items.n, 1, 200, &r) == RLAE_OK);
        CHECK_MSG(r.n == 20 && r.accuracy == 1.0 && (!r.has_f1 || r.f1 == 1.0), "%s: gold scores %g (n %zu)",
                  t->name, r.accuracy, r.n);
        rlae_eval_score_texts(t, &items, empty, correct, f1);
        CHECK(rlae_eval_summarise(t, "empty", t->eval_split, "generate", correct, f1, items.n, 1, 200, &r) == RLAE_OK);
        CHECK_MSG(r.accuracy == 0.0 && r.ci_high == 0.0 && (!r.has_f1 || r.f1 == 0.0), "%s: empty scores %g",
                  t->name, r.accuracy);
        for (size_t j = 0; j < items.n; j++)
            free(gold[j]);
        env_items_free(&items);
    }
}

static void check_row(const rlae_eval_result *r, const char *what)
{
    CHECK_MSG(r->n == 20, "%s: n = %zu", what, r->n);
    CHECK_MSG(r->accuracy >= 0 && r->accuracy <= 1 && r->ci_low <= r->accuracy && r->accuracy <= r->ci_high &&
                  r->ci_low >= 0 && r->ci_high <= 1,
              "%s: accuracy %g [%g, %g]", what, r->accuracy, r->ci_low, r->ci_high);
    printf("  %-34s %-12s acc %.3f [%.3f, %.3f] n %zu%s\n", what, r->scoring, r->accuracy, r->ci_low, r->ci_high,
           r->n, r->n_truncated ? " (some prompts cut)" : "");
}

static void test_tiny_models(void)
{
    const char *stories = test_shared_path("models/stories260K/stories260K.bin");
    const char *baby = test_shared_path("models/babyllama105/model5000.bin");
    const char *baby_tok = test_shared_path("models/babyllama105/tok105.bin");
    char yaml[16384];
    snprintf(yaml, sizeof yaml,
             "members:\n"
             "  - {name: stories, path: \"%s\"}\n"
             "  - {name: baby, path: \"%s\", tokenizer: \"%s\"}\n"
             "ensemble: {span: 8, max_new_tokens: 16, decoding: greedy, batch_size: 10}\n"
             "task: {shots: 0, data_dir: \"%s\"}\n",
             stories, baby, baby_tok, data_dir);
    rlae_config cfg;
    CHECK_MSG(rlae_config_load_string(yaml, "tiny.yaml", 0, NULL, &cfg) == RLAE_OK, "%s", rlae_last_error());
    rlae_ensemble e;
    CHECK_MSG(rlae_ensemble_open(&e, &cfg, cfg.ensemble.batch_size) == RLAE_OK, "%s", rlae_last_error());
    rlae_weight_policy uni, one;
    rlae_fixed_weights uctx, octx;
    CHECK(rlae_policy_uniform(&uni, &uctx, 2) == RLAE_OK);
    CHECK(rlae_policy_single(&one, &octx, 2, 0) == RLAE_OK);
    rlae_eval_options o = rlae_eval_options_from_config(&cfg);
    o.limit = 20;
    o.resamples = 200;

    /* Too long: ARC's zero-shot prompts exceed babyllama105's 256 characters. */
    const env_task *arc = env_task_find("arc_easy");
    rlae_eval_result r;
    rlae_status s = rlae_evaluate(&e, arc, &o, &uni, "uniform", &r);
    CHECK_MSG(s == RLAE_ERR_INPUT && strstr(rlae_last_error(), "item ") &&
                  strstr(rlae_last_error(), "member 'baby'") && strstr(rlae_last_error(), "--truncate-left"),
              "status %d: %s", (int)s, rlae_last_error());
    o.truncate_left = 1;

    for (int i = 0; env_task_at(i); i++) {
        const env_task *t = env_task_at(i);
        if (!task_present(t))
            continue;
        char what[96];
        o.mc_scoring = RLAE_MC_GENERATE;
        s = rlae_evaluate(&e, t, &o, &uni, "uniform", &r);
        CHECK_MSG(s == RLAE_OK, "%s: %s", t->name, rlae_last_error());
        snprintf(what, sizeof what, "%s uniform", t->name);
        if (s == RLAE_OK)
            check_row(&r, what);
        CHECK(!strcmp(r.scoring, "generate") && r.has_f1 == (t->kind == ENV_ANSWER_TEXT));
        if (t->kind != ENV_ANSWER_CHOICE)
            continue;
        o.mc_scoring = RLAE_MC_LOGLIK_NORM;
        s = rlae_evaluate(&e, t, &o, &uni, "uniform", &r);
        CHECK_MSG(s == RLAE_OK, "%s loglik: %s", t->name, rlae_last_error());
        if (s == RLAE_OK)
            check_row(&r, what);
        o.mc_scoring = RLAE_MC_LOGLIK;
        s = rlae_evaluate(&e, t, &o, &one, "single:stories", &r);
        CHECK_MSG(s == RLAE_OK, "%s loglik single: %s", t->name, rlae_last_error());
        snprintf(what, sizeof what, "%s single:stories", t->name);
        if (s == RLAE_OK)
            check_row(&r, what);
        CHECK(!strcmp(r.scoring, "loglik"));
    }
    rlae_ensemble_close(&e);
    rlae_config_free(&cfg);
}

int main(void)
{
    int n = snprintf(data_dir, sizeof data_dir, "%s/data", test_shared_dir());
    struct stat st;
    if (n >= (int)sizeof data_dir || stat(data_dir, &st) != 0) {
        printf("SKIP: %s not found\n", data_dir);
        return 77;
    }
    test_gold_and_empty();
    test_tiny_models();
    return test_summary("test_evaluate_tiny");
}
