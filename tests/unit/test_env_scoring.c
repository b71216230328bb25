/* Answer extraction and scoring for every task family on hand-made tricky cases; the expected
 * values were worked out by hand (comments show the arithmetic where there is any). Also the
 * log-likelihood pick, subject aggregation and the bootstrap interval. */
#include "test.h"

#include "envs/env.h"
#include "envs/metrics.h"

/* want NULL: no answer expected. */
static void check_gsm(const char *text, const char *want, int line)
{
    char *got = env_gsm8k_extract_number(text);
    int ok = want ? (got && strcmp(got, want) == 0) : got == NULL;
    CHECK_MSG(ok, "line %d: extract(\"%s\") = %s, want %s", line, text, got ? got : "(none)", want ? want : "(none)");
    free(got);
}
#define CHECK_GSM(text, want) check_gsm(text, want, __LINE__)

static void test_gsm8k(void)
{
    CHECK_GSM("$1,234.50", "1234.5");
    CHECK_GSM("-3", "-3");
    CHECK_GSM("5 apples", "5");
    CHECK_GSM("She has 3 apples and 4 pears, so 7 fruits in total.", "7"); /* last number */
    CHECK_GSM("The answer is 42. Next question: 17 + 3 = 20", "42");       /* first marker wins */
    CHECK_GSM("16 - 3 - 4 = 9 eggs\n#### 9", "9");
    CHECK_GSM("16-3-4=9", "9");             /* '-' after a digit is not a sign */
    CHECK_GSM("The answer is 16-3", "16");
    CHECK_GSM("The answer is $18.00.", "18"); /* "." ends the sentence, ".00" is decimals */
    CHECK_GSM("The answer is: -5 degrees", "-5");
    CHECK_GSM("#### 1,450,000", "1450000");
    CHECK_GSM("The answer is unclear\nbut 12 or 13", "13"); /* no number on the marker's line */
    CHECK_GSM("costs \xE2\x88\x92" "7 dollars", "-7");       /* U+2212 minus */
    CHECK_GSM("It is 0.5 of 3,4,5", "5");                    /* "3,4,5" is a list, not 345 */
    CHECK_GSM("I don't know.", NULL);
    CHECK_GSM("", NULL);

    double v = 0;
    CHECK(env_parse_number("\xE2\x82\xAC" "2,500", &v) && v == 2500);
    CHECK(env_parse_number("-$5", &v) && v == -5);
    CHECK(env_parse_number(".25", &v) && v == 0.25);
    CHECK(!env_parse_number("apples", &v));

    const env_task *t = env_task_find("gsm8k");
    CHECK(t != NULL);
    if (!t)
        return;
    env_item it = {0};
    it.gold_number = 1234.5;
    env_score s = env_score_text(t, "So she pays $1,234.50 in total. The answer is $1,234.50.", &it);
    CHECK(s.correct && s.reward == 1.0);
    s = env_score_text(t, "The answer is 1234.", &it);
    CHECK(!s.correct && s.reward == 0.0);
    it.gold_number = 18;
    CHECK(env_score_text(t, "The answer is 18.00", &it).correct);
    CHECK(!env_score_text(t, "", &it).correct);
    CHECK(!env_score_text(t, NULL, &it).correct);
}

static void test_mc(void)
{
    CHECK_EQ_INT(env_mc_extract_index("The answer is (B).", 4), 1);
    CHECK_EQ_INT(env_mc_extract_index("b", 4), 1);
    CHECK_EQ_INT(env_mc_extract_index("B)", 4), 1);
    CHECK_EQ_INT(env_mc_extract_index("Answer: C", 4), 2);
    CHECK_EQ_INT(env_mc_extract_index(" C\n\nQuestion: What is ...", 4), 2); /* continuation of "Answer:" */
    CHECK_EQ_INT(env_mc_extract_index("I am not sure.", 4), -1);             /* no letter pattern */
    CHECK_EQ_INT(env_mc_extract_index("", 4), -1);
    CHECK_EQ_INT(env_mc_extract_index(NULL, 4), -1);
    CHECK_EQ_INT(env_mc_extract_index("The answer is B or C.", 4), -1);      /* ambiguous */
    CHECK_EQ_INT(env_mc_extract_index("A) foo\nB) bar\nThe answer is B", 4), 1); /* phrase beats list */
    CHECK_EQ_INT(env_mc_extract_index("the answer is a dog", 4), -1);        /* article, not option A */
    CHECK_EQ_INT(env_mc_extract_index("the answer is (a)", 4), 0);
    CHECK_EQ_INT(env_mc_extract_index("the answer is d.", 4), 3);
    CHECK_EQ_INT(env_mc_extract_index("Answer: Because it floats.", 4), -1); /* no B */
    CHECK_EQ_INT(env_mc_extract_index("The answer is E.", 4), -1);           /* out of range */
    CHECK_EQ_INT(env_mc_extract_index("The answer is E.", 5), 4);
    CHECK_EQ_INT(env_mc_extract_index("The correct answer is **D**", 4), 3);
    CHECK_EQ_INT(env_mc_extract_index("Answer: C. The answer is B.", 4), 2); /* first wins */
    CHECK_EQ_INT(env_mc_extract_index("Let me think.\n(C) is right because", 4), 2);

    const env_task *t = env_task_find("arc_challenge");
    env_item it = {0};
    it.n_choices = 4;
    it.gold_choice = 1;
    CHECK(env_score_text(t, "The answer is B.", &it).correct);
    CHECK(env_score_text(t, "b", &it).correct);
    CHECK(!env_score_text(t, "The answer is C.", &it).correct);
    CHECK(!env_score_text(t, "", &it).correct);
    it.gold_choice = -1; /* unlabeled item: nothing is correct */
    CHECK(!env_score_text(t, "The answer is B.", &it).correct);

    /* Log-likelihood ranking: raw -10,-8,-12 -> option 1; per token -2,-4,-1.2 -> 2;
     * per byte -0.5,-2,-0.2 -> 2. */
    double ll[3] = {-10, -8, -12};
    int tok[3] = {5, 2, 10}, bytes[3] = {20, 4, 60};
    env_mc_pick p = env_mc_pick_loglik(ll, tok, bytes, 3);
    CHECK_EQ_INT(p.raw, 1);
    CHECK_EQ_INT(p.per_token, 2);
    CHECK_EQ_INT(p.per_byte, 2);
    double tie[2] = {-1, -1};
    p = env_mc_pick_loglik(tie, NULL, NULL, 2);
    CHECK_EQ_INT(p.raw, 0);
    CHECK_EQ_INT(p.per_token, -1);
    CHECK_EQ_INT(env_mc_pick_loglik(ll, tok, bytes, 0).raw, -1);

    char buf[64];
    env_item o = {0};
    char c0[] = "red", c1[] = "blue";
    o.n_choices = 2;
    o.choices[0] = c0;
    o.choices[1] = c1;
    CHECK_EQ_STR(env_mc_continuation(&o, 1, buf, sizeof buf), " blue");
    CHECK(env_mc_continuation(&o, 2, buf, sizeof buf) == NULL);
}

static void test_qa(void)
{
    char *n = env_qa_normalize("The  Quick, Brown fox!");
    CHECK_EQ_STR(n, "quick brown fox");
    free(n);
    n = env_qa_normalize("U.S.A.");
    CHECK_EQ_STR(n, "usa");
    free(n);
    n = env_qa_normalize("\xC3\x89" "cole Normale"); /* "École" lowercases through utf8proc */
    CHECK_EQ_STR(n, "\xC3\xA9" "cole normale");
    free(n);
    n = env_qa_normalize("theory of an atom"); /* "the" inside a word stays */
    CHECK_EQ_STR(n, "theory of atom");
    free(n);

    const char *beatles[] = {"Beatles"};
    CHECK(env_qa_exact_match("the Beatles", beatles, 1) == 1.0);
    const char *paris[] = {"paris"};
    CHECK(env_qa_exact_match("Paris.", paris, 1) == 1.0);
    const char *apple[] = {"Apple"};
    CHECK(env_qa_exact_match("an apple", apple, 1) == 1.0);
    const char *two[] = {"Bobby Scott", "Bob Russell"};
    CHECK(env_qa_exact_match("bob russell", two, 2) == 1.0);
    CHECK(env_qa_exact_match("Bob", two, 2) == 0.0);
    /* F1: pred {big, red, dog} vs {red, dog}: same 2, P = 2/3, R = 1, F1 = 2PR/(P+R) = 0.8 */
    const char *rd[] = {"red dog"};
    CHECK_NEAR(env_qa_f1("the big red dog", rd, 1), 0.8, 1e-12);
    /* max over golds: "Bobby" vs "Bobby Scott": P = 1, R = 1/2 -> 2/3; vs "Bob Russell": 0 */
    CHECK_NEAR(env_qa_f1("Bobby", two, 2), 2.0 / 3.0, 1e-12);
    /* multiset overlap: {dog, dog} vs {dog}: same 1, P = 1/2, R = 1 -> 2/3 */
    const char *dog[] = {"dog"};
    CHECK_NEAR(env_qa_f1("dog dog", dog, 1), 2.0 / 3.0, 1e-12);
    CHECK_NEAR(env_qa_f1("cat", dog, 1), 0.0, 0);

    const env_task *t = env_task_find("nq_open");
    char g0[] = "Bobby Scott", g1[] = "Bob Russell";
    char *golds[] = {g0, g1};
    env_item it = {0};
    it.gold = golds;
    it.n_gold = 2;
    env_score s = env_score_text(t, "The answer is Bob Russell.", &it);
    CHECK(s.correct && s.em == 1.0 && s.f1 == 1.0 && s.reward == 1.0);
    s = env_score_text(t, " bobby scott\n\nQuestion: who sang it?\nAnswer: Elvis", &it);
    CHECK(s.correct);
    s = env_score_text(t, "Answer: \"Bobby\"", &it);
    CHECK(!s.correct && s.reward == 0.0);
    CHECK_NEAR(s.f1, 2.0 / 3.0, 1e-12);
    s = env_score_text(t, "", &it);
    CHECK(!s.correct && s.f1 == 0.0);
}

static void test_synthetic_scoring(void)
{
    const env_task *t = env_task_find("synthetic");
    char g[] = "5758";
    char *golds[] = {g};
    env_item it = {0};
    it.gold = golds;
    it.n_gold = 1;
    CHECK(env_score_text(t, "The answer is 5758.", &it).correct);
    CHECK(env_score_text(t, " 5758\nQuestion: What is 1 + 1?", &it).correct);
    CHECK(!env_score_text(t, "5,758", &it).correct); /* exact: formatting counts */
    CHECK(!env_score_text(t, "", &it).correct);
}

static void test_metrics(void)
{
    double ones[10];
    for (int i = 0; i < 10; i++)
        ones[i] = 1;
    env_ci ci;
    CHECK(env_bootstrap_ci(ones, 10, 1000, 0.95, 7, &ci) == RLAE_OK);
    CHECK(ci.mean == 1 && ci.lo == 1 && ci.hi == 1);
    double half[100];
    for (int i = 0; i < 100; i++)
        half[i] = i % 2;
    CHECK(env_bootstrap_ci(half, 100, 1000, 0.95, 7, &ci) == RLAE_OK);
    /* mean 0.5, standard error sqrt(.25/100) = 0.05, so about 0.5 -+ 0.098 */
    CHECK_NEAR(ci.mean, 0.5, 1e-12);
    CHECK_MSG(ci.lo > 0.38 && ci.lo < 0.42 && ci.hi > 0.58 && ci.hi < 0.62, "ci [%g, %g]", ci.lo, ci.hi);
    env_ci again;
    env_bootstrap_ci(half, 100, 1000, 0.95, 7, &again);
    CHECK(again.lo == ci.lo && again.hi == ci.hi); /* same seed, same interval */
    CHECK(env_bootstrap_ci(half, 100, 0, 0.95, 7, &ci) == RLAE_ERR_INPUT);
    CHECK(env_bootstrap_ci(NULL, 0, 1000, 0.95, 7, &ci) == RLAE_OK && ci.n == 0 && ci.mean == 0);

    /* subjects b, a, b with correct 1, 0, 0: a = 0/1, b = 1/2, micro 1/3, macro (0 + .5)/2 */
    env_item v[3] = {{0}};
    char a[] = "a", b[] = "b";
    v[0].subject = b;
    v[1].subject = a;
    v[2].subject = b;
    env_items items = {v, 3, 3};
    int correct[3] = {1, 0, 0};
    env_group_acc g;
    CHECK(env_group_accuracy(&items, correct, &g) == RLAE_OK);
    CHECK_EQ_INT(g.n_subjects, 2);
    if (g.n_subjects == 2) {
        CHECK_EQ_STR(g.subjects[0].subject, "a");
        CHECK_NEAR(g.subjects[0].accuracy, 0.0, 0);
        CHECK_NEAR(g.subjects[1].accuracy, 0.5, 0);
        CHECK_EQ_INT(g.subjects[1].n, 2);
    }
    CHECK_NEAR(g.micro, 1.0 / 3.0, 1e-12);
    CHECK_NEAR(g.macro, 0.25, 1e-12);
    env_group_acc_free(&g);
}

static void test_registry(void)
{
    const char *names[] = {"gsm8k", "arc_challenge", "arc_easy", "mmlu", "piqa", "hellaswag",
                           "nq_open", "triviaqa", "synthetic"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const env_task *t = env_task_find(names[i]);
        CHECK_MSG(t && strcmp(t->name, names[i]) == 0, "task %s", names[i]);
    }
    CHECK(env_task_find("nope") == NULL);
    int n = 0;
    while (env_task_at(n))
        n++;
    CHECK_EQ_INT(n, 9);
    env_items items = {0};
    CHECK(env_load(env_task_find("gsm8k"), "/nonexistent", "validation", 0, &items) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "no split 'validation'") != NULL);
}

int main(void)
{
    test_gsm8k();
    test_mc();
    test_qa();
    test_synthetic_scoring();
    test_metrics();
    test_registry();
    return test_summary("test_env_scoring");
}
