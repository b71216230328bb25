/* The real datasets in ../shared/data: official split sizes, spot checks of parsed fields, a
 * policy that writes the gold answer scores 100% and an empty one 0% on every task, few-shot
 * prompts are deterministic, and a real file with one broken line is an error naming file:line.
 * Skips (77) when ../shared/data is absent. */
#include "test.h"

#include <unistd.h>

#include "envs/env.h"

static const char *data_dir;

typedef struct {
    const char *task, *split;
    size_t n;
} count_case;

static const count_case counts[] = {
    {"gsm8k", "test", 1319},         {"gsm8k", "train", 7473},       {"arc_challenge", "test", 1172},
    {"arc_challenge", "train", 1119}, {"arc_challenge", "dev", 299},  {"arc_easy", "test", 2376},
    {"arc_easy", "train", 2251},     {"arc_easy", "dev", 570},       {"mmlu", "test", 14042},
    {"mmlu", "dev", 285},            {"mmlu", "val", 1531},          {"piqa", "valid", 1838},
    {"piqa", "tests", 3084},         {"nq_open", "dev", 3610},       {"nq_open", "efficientqa_dev", 1800},
    {"nq_open", "efficientqa_test", 1769}, {"hellaswag", "val", 10042},
};

/* Scores every labelled item with the gold policy and the empty policy. */
static void check_policies(const env_task *t, const env_items *items, const char *split)
{
    size_t scored = 0, gold_ok = 0, empty_ok = 0;
    for (size_t i = 0; i < items->n; i++) {
        const env_item *it = &items->v[i];
        if (t->kind == ENV_ANSWER_CHOICE && it->gold_choice < 0)
            continue; /* PIQA tests: no answer key */
        scored++;
        char *g = t->gold_response(t, it);
        env_score s = env_score_text(t, g, it);
        gold_ok += s.correct && s.reward == 1.0;
        if (!(s.correct && s.reward == 1.0) && scored - gold_ok <= 3)
            fprintf(stderr, "%s/%s item %s: gold response \"%.200s\" scored %g\n", t->name, split, it->id, g,
                    s.reward);
        free(g);
        env_score e = env_score_text(t, "", it);
        empty_ok += e.reward == 0.0 && !e.correct;
    }
    CHECK_MSG(gold_ok == scored, "%s/%s: gold policy %zu of %zu", t->name, split, gold_ok, scored);
    CHECK_MSG(empty_ok == scored, "%s/%s: empty policy scored on %zu of %zu", t->name, split, scored - empty_ok,
              scored);
}

static void test_counts_and_policies(void)
{
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        const env_task *t = env_task_find(counts[c].task);
        env_items items = {0};
        rlae_status s = env_load(t, data_dir, counts[c].split, 0, &items);
        CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
        CHECK_MSG(items.n == counts[c].n, "%s/%s: %zu items, want %zu", counts[c].task, counts[c].split, items.n,
                  counts[c].n);
        check_policies(t, &items, counts[c].split);
        env_items_free(&items);
    }
    /* Synthetic has no files; its policies are checked on generated items. */
    const env_task *t = env_task_find("synthetic");
    env_items items = {0};
    CHECK(env_load(t, NULL, "test", 2000, &items) == RLAE_OK);
    check_policies(t, &items, "test");
    env_items_free(&items);
}

static void test_fields(void)
{
    env_items items = {0};
    CHECK(env_load(env_task_find("gsm8k"), data_dir, "test", 1, &items) == RLAE_OK && items.n == 1);
    if (items.n == 1) {
        CHECK(items.v[0].gold_number == 18);
        CHECK(strncmp(items.v[0].question, "Janet\xE2\x80\x99s ducks lay 16 eggs", 26) == 0);
        CHECK(strstr(items.v[0].rationale, "<<") == NULL);
    }
    env_items_free(&items);

    CHECK(env_load(env_task_find("hellaswag"), data_dir, "val", 2, &items) == RLAE_OK && items.n == 2);
    if (items.n == 2) {
        CHECK_EQ_STR(items.v[0].question, "Roof shingle removal: A man is sitting on a roof. he");
        CHECK_EQ_INT(items.v[0].gold_choice, 3);
        CHECK_EQ_STR(items.v[0].choices[3], "starts pulling up roofing on a roof.");
    }
    env_items_free(&items);

    /* ARC items labelled 1-4: gold maps through the label, prompts show letters. */
    CHECK(env_load(env_task_find("arc_challenge"), data_dir, "test", 0, &items) == RLAE_OK);
    int numeric = 0, five = 0;
    for (size_t i = 0; i < items.n; i++) {
        const env_item *it = &items.v[i];
        if (it->labels[0][0] == '1') {
            numeric++;
            CHECK(it->labels[it->gold_choice][0] == (char)('1' + it->gold_choice));
        }
        five += it->n_choices == 5;
    }
    CHECK(numeric > 0);
    CHECK(five > 0);
    env_items_free(&items);

    CHECK(env_load(env_task_find("mmlu"), data_dir, "test", 0, &items) == RLAE_OK);
    if (items.n == 14042) {
        CHECK_EQ_STR(items.v[0].subject, "abstract_algebra");
        CHECK_EQ_STR(items.v[14041].subject, "world_religions");
        int *correct = calloc(items.n, sizeof *correct);
        for (size_t i = 0; i < items.n; i++)
            correct[i] = items.v[i].gold_choice == 0; /* "always A" */
        env_group_acc g;
        CHECK(env_group_accuracy(&items, correct, &g) == RLAE_OK);
        CHECK_EQ_INT(g.n_subjects, 57);
        int sum = 0;
        for (int k = 0; k < g.n_subjects; k++)
            sum += g.subjects[k].n;
        CHECK_EQ_INT(sum, 14042);
        CHECK(g.micro > 0.15 && g.micro < 0.35); /* about a quarter of keys are A */
        env_group_acc_free(&g);
        free(correct);
    }
    env_items_free(&items);

    CHECK(env_load(env_task_find("nq_open"), data_dir, "dev", 1, &items) == RLAE_OK && items.n == 1);
    if (items.n == 1) {
        CHECK_EQ_INT(items.v[0].n_gold, 2);
        CHECK_EQ_STR(items.v[0].gold[1], "December 1972");
        CHECK(env_score_text(env_task_find("nq_open"), "december 1972.", &items.v[0]).correct);
    }
    env_items_free(&items);
}

static void test_few_shot(void)
{
    const env_task *t = env_task_find("gsm8k");
    env_items train = {0}, test = {0};
    CHECK(env_load(t, data_dir, "train", 0, &train) == RLAE_OK);
    CHECK(env_load(t, data_dir, "test", 3, &test) == RLAE_OK);
    if (train.n && test.n == 3) {
        env_format_opts o = {-1, 11, 0, ENV_STYLE_GENERATE};
        char *a = env_prompt(t, &test.v[0], &train, &o), *b = env_prompt(t, &test.v[0], &train, &o);
        char *c = env_prompt(t, &test.v[1], &train, &o);
        CHECK(a && b && strcmp(a, b) == 0);
        int q = 0;
        for (const char *s = a; (s = strstr(s, "\nQuestion: ")); s++)
            q++;
        CHECK_EQ_INT(q, 8); /* 8 shots, then the item (the first "Question:" starts the prompt) */
        CHECK(strstr(a, "The answer is ") != NULL && strstr(a, "<<") == NULL);
        /* shared shots: the prompts of two items differ only after the shots */
        const char *last_a = strstr(a, test.v[0].question), *last_c = strstr(c, test.v[1].question);
        CHECK(last_a && last_c && last_a - a == last_c - c && strncmp(a, c, (size_t)(last_a - a)) == 0);
        o.seed = 12;
        char *d = env_prompt(t, &test.v[0], &train, &o);
        CHECK(d && strcmp(a, d) != 0);
        o.seed = 11;
        o.per_item_shots = 1;
        char *e = env_prompt(t, &test.v[1], &train, &o), *f = env_prompt(t, &test.v[2], &train, &o);
        CHECK(e && f && strncmp(e, f, 200) != 0);
        free(a), free(b), free(c), free(d), free(e), free(f);
        /* shots drawn from train for a train item never include the item itself */
        const env_item *shots[8];
        for (size_t i = 0; i < 50; i++) {
            int n = env_select_shots(t, &train, &train.v[i], 8, 3, 1, shots);
            CHECK_EQ_INT(n, 8);
            for (int k = 0; k < n; k++)
                CHECK(shots[k] != &train.v[i]);
        }
    }
    env_items_free(&train);
    env_items_free(&test);

    /* MMLU: the first 5 dev items of the item's subject, in file order */
    t = env_task_find("mmlu");
    env_items dev = {0};
    CHECK(env_load(t, data_dir, "dev", 0, &dev) == RLAE_OK);
    CHECK(env_load(t, data_dir, "test", 200, &test) == RLAE_OK);
    if (dev.n == 285 && test.n == 200) {
        const env_item *it = &test.v[150]; /* second subject (abstract_algebra has 100) */
        env_format_opts o = {-1, 0, 0, ENV_STYLE_GENERATE};
        char *p = env_prompt(t, it, &dev, &o);
        CHECK(p && strncmp(p, "The following are multiple choice questions (with answers) about anatomy.\n\n", 75) == 0);
        const char *prev = p;
        for (size_t k = 0; k < dev.n; k++)
            if (!strcmp(dev.v[k].subject, it->subject)) {
                const char *at = strstr(prev, dev.v[k].question);
                CHECK(at != NULL);
                prev = at ? at : prev;
            }
        int answers = 0;
        for (const char *s = p; (s = strstr(s, "\nAnswer: ")); s++)
            answers++;
        CHECK_EQ_INT(answers, 5);
        free(p);
    }
    env_items_free(&dev);
    env_items_free(&test);
}

/* Copies a real file into a temp data dir with line `bad` replaced; loading must name file:line. */
static void test_broken_copy(const char *rel, const char *task, const char *split, int bad, const char *repl,
                             const char *also)
{
    char tmp[] = "/tmp/rlae-test-data-XXXXXX";
    if (!mkdtemp(tmp)) {
        CHECK(0);
        return;
    }
    char src[4200], dst[4200], cmd[13000];
    int n1 = snprintf(src, sizeof src, "%s/%s", data_dir, rel);
    int n2 = snprintf(dst, sizeof dst, "%s/%s", tmp, rel);
    int n3 = snprintf(cmd, sizeof cmd,
                      "mkdir -p \"$(dirname '%s')\" && awk 'NR==%d{print \"%s\"; next} {print}' '%s' > '%s'", dst,
                      bad, repl, src, dst);
    CHECK(n1 < (int)sizeof src && n2 < (int)sizeof dst && n3 < (int)sizeof cmd);
    CHECK(system(cmd) == 0);
    if (also) { /* a companion file copied unchanged (PIQA's labels) */
        snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/%s'", data_dir, also, tmp, also);
        CHECK(system(cmd) == 0);
    }
    env_items items = {0};
    rlae_status s = env_load(env_task_find(task), tmp, split, 0, &items);
    char want[256];
    snprintf(want, sizeof want, "%s:%d:", rel, bad);
    CHECK_MSG(s == RLAE_ERR_INPUT && strstr(rlae_last_error(), want), "%s: status %d, \"%s\"", rel, (int)s,
              rlae_last_error());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    /* test_shared_dir skips (77) without ../shared; the data folder inside it is checked here. */
    static char dir[4200];
    int n = snprintf(dir, sizeof dir, "%s/data", test_shared_dir());
    struct stat st;
    if (n >= (int)sizeof dir || stat(dir, &st) != 0) {
        printf("SKIP: %s not found\n", dir);
        return 77;
    }
    data_dir = dir;
    test_counts_and_policies();
    test_fields();
    test_few_shot();
    test_broken_copy("gsm8k/test.jsonl", "gsm8k", "test", 700, "{\\\"question\\\": \\\"q\\\", \\\"answer\\\": 7", NULL);
    test_broken_copy("arc/ARC-Easy/ARC-Easy-Test.jsonl", "arc_easy", "test", 2000, "not json", NULL);
    test_broken_copy("nq_open/NQ-open.dev.jsonl", "nq_open", "dev", 3610, "{\\\"question\\\": \\\"q\\\", \\\"answer\\\": []}", NULL);
    test_broken_copy("mmlu/test/anatomy_test.csv", "mmlu", "test", 3, "only,three,fields", NULL);
    test_broken_copy("piqa/valid.jsonl", "piqa", "valid", 5, "{\\\"goal\\\": 1}", "piqa/valid-labels.lst");
    return test_summary("test_data_shared");
}
