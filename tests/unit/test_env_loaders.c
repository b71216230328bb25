/* Dataset loaders on small files written here (temp dirs) and the TriviaQA fixture: well-formed
 * input loads with the right fields; every kind of malformed line is an error naming file:line.
 * Also synthetic generation: determinism, range independence, train/test disjointness. */
#include "test.h"

#include <bzlib.h>
#include <unistd.h>

#include "envs/env.h"

static char tmpdir[256];

static void write_file(const char *rel, const char *text, size_t n)
{
    char path[512], cmd[600];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    CHECK(system(cmd) == 0);
    *slash = '/';
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite(text, 1, n, f);
        fclose(f);
    }
}
static void write_text(const char *rel, const char *text) { write_file(rel, text, strlen(text)); }

/* Loads and expects failure whose message contains `want`. */
static void expect_error(const char *task, const char *split, const char *want, int line)
{
    env_items items = {0};
    rlae_status s = env_load(env_task_find(task), tmpdir, split, 0, &items);
    CHECK_MSG(s == RLAE_ERR_INPUT && strstr(rlae_last_error(), want), "line %d: status %d, message \"%s\", want \"%s\"",
              line, (int)s, rlae_last_error(), want);
    CHECK(items.n == 0 && items.v == NULL); /* env_load frees what a failed load built */
}

static void test_gsm8k_jsonl(void)
{
    write_text("gsm8k/test.jsonl",
               "{\"question\": \"Tom has 2 apples and buys 3. How many?\", \"answer\": \"2+3=<<2+3=5>>5\\n#### 5\"}\n"
               "{\"question\": \"Big?\", \"answer\": \"1000+234=<<1000+234=1234>>1234\\n#### 1,234\"}\n");
    env_items items = {0};
    const env_task *t = env_task_find("gsm8k");
    CHECK(env_load(t, tmpdir, "test", 0, &items) == RLAE_OK);
    CHECK_EQ_INT(items.n, 2);
    if (items.n == 2) {
        CHECK_EQ_STR(items.v[0].rationale, "2+3=5"); /* annotation stripped, "####" line gone */
        CHECK_EQ_STR(items.v[1].gold[0], "1,234");
        CHECK(items.v[1].gold_number == 1234);
        CHECK_EQ_STR(items.v[0].id, "gsm8k/test/0");
    }
    env_items_free(&items);
    CHECK(env_load(t, tmpdir, "test", 1, &items) == RLAE_OK && items.n == 1); /* limit */
    env_items_free(&items);

    write_text("gsm8k/test.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"question\": \"q\", \"answer\": \n");
    expect_error("gsm8k", "test", "gsm8k/test.jsonl:2: invalid JSON", __LINE__);
    write_text("gsm8k/test.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n\n{\"question\": \"q\", \"answer\": \"#### 1\"}\n");
    expect_error("gsm8k", "test", "gsm8k/test.jsonl:2: empty line", __LINE__);
    write_text("gsm8k/test.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"answer\": \"#### 1\"}\n");
    expect_error("gsm8k", "test", "test.jsonl:2: missing field \"question\"", __LINE__);
    write_text("gsm8k/test.jsonl", "{\"question\": \"q\", \"answer\": \"no marker\"}\n");
    expect_error("gsm8k", "test", "test.jsonl:1: the answer does not end in", __LINE__);
    write_text("gsm8k/test.jsonl", "[1, 2]\n");
    expect_error("gsm8k", "test", "test.jsonl:1: expected a JSON object", __LINE__);
    expect_error("gsm8k", "train", "train.jsonl", __LINE__); /* missing file names its path */
    /* CRLF line ends and a last line without newline are fine */
    write_text("gsm8k/test.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\r\n{\"question\": \"r\", \"answer\": \"#### -2\"}");
    CHECK(env_load(t, tmpdir, "test", 0, &items) == RLAE_OK && items.n == 2 && items.v[1].gold_number == -2);
    env_items_free(&items);
}

static void test_arc(void)
{
    write_text("arc/ARC-Easy/ARC-Easy-Dev.jsonl",
               "{\"id\":\"x1\",\"question\":{\"stem\":\"Which?\",\"choices\":[{\"text\":\"one\",\"label\":\"1\"},"
               "{\"text\":\"two\",\"label\":\"2\"},{\"text\":\"three\",\"label\":\"3\"}]},\"answerKey\":\"3\"}\n"
               "{\"id\":\"x2\",\"question\":{\"stem\":\"Which?\",\"choices\":[{\"text\":\"a\",\"label\":\"A\"},"
               "{\"text\":\"b\",\"label\":\"B\"}]},\"answerKey\":\"E\"}\n");
    expect_error("arc_easy", "dev", "ARC-Easy-Dev.jsonl:2: answerKey \"E\" matches none", __LINE__);
    write_text("arc/ARC-Easy/ARC-Easy-Dev.jsonl",
               "{\"id\":\"x1\",\"question\":{\"stem\":\"Which?\",\"choices\":[{\"text\":\"one\",\"label\":\"1\"},"
               "{\"text\":\"two\",\"label\":\"2\"},{\"text\":\"three\",\"label\":\"3\"}]},\"answerKey\":\"3\"}\n");
    env_items items = {0};
    const env_task *t = env_task_find("arc_easy");
    CHECK(env_load(t, tmpdir, "dev", 0, &items) == RLAE_OK && items.n == 1);
    if (items.n == 1) {
        CHECK_EQ_INT(items.v[0].gold_choice, 2);
        CHECK_EQ_STR(items.v[0].labels[2], "3");
        env_format_opts o = {0, 0, 0, ENV_STYLE_GENERATE};
        char *p = env_prompt(t, &items.v[0], NULL, &o);
        /* options relabelled A-C whatever the dataset's labels */
        CHECK_EQ_STR(p, "The following are multiple choice questions (with answers) about science.\n\n"
                        "Question: Which?\nA. one\nB. two\nC. three\nAnswer:");
        free(p);
        o.style = ENV_STYLE_LOGLIK;
        p = env_prompt(t, &items.v[0], NULL, &o);
        CHECK_EQ_STR(p, "The following are multiple choice questions (with answers) about science.\n\n"
                        "Question: Which?\nAnswer:");
        free(p);
        char *g = t->gold_response(t, &items.v[0]);
        CHECK_EQ_STR(g, "The answer is C.");
        CHECK(env_score_text(t, g, &items.v[0]).correct);
        free(g);
    }
    env_items_free(&items);
}

static void test_mmlu_csv(void)
{
    /* Quoted fields with commas, doubled quotes and a newline; record 2 starts on line 3. */
    write_text("mmlu/dev/alpha_dev.csv",
               "\"Two, lines\nhere\",\"say \"\"hi\"\"\",b,c,d,B\n"
               "Plain?,1,2,3,4,D\n");
    write_text("mmlu/dev/beta_dev.csv", "Q?,w,x,y,z,A\r\n");
    env_items items = {0};
    const env_task *t = env_task_find("mmlu");
    CHECK(env_load(t, tmpdir, "dev", 0, &items) == RLAE_OK);
    CHECK_EQ_INT(items.n, 3);
    if (items.n == 3) {
        CHECK_EQ_STR(items.v[0].question, "Two, lines\nhere");
        CHECK_EQ_STR(items.v[0].choices[0], "say \"hi\"");
        CHECK_EQ_INT(items.v[0].gold_choice, 1);
        CHECK_EQ_STR(items.v[1].subject, "alpha");
        CHECK_EQ_INT(items.v[1].gold_choice, 3);
        CHECK_EQ_STR(items.v[2].subject, "beta");
        CHECK_EQ_STR(items.v[2].choices[3], "z");
    }
    env_items_free(&items);
    write_text("mmlu/dev/beta_dev.csv", "Q?,w,x,y,z,A\n\"Multi\nline\",a,b,c,d,A\nBad,a,b,c,d,F\n");
    expect_error("mmlu", "dev", "beta_dev.csv:4: answer field is \"F\"", __LINE__);
    write_text("mmlu/dev/beta_dev.csv", "Q?,w,x,y,A\n");
    expect_error("mmlu", "dev", "beta_dev.csv:1: expected 6 fields", __LINE__);
    write_text("mmlu/dev/beta_dev.csv", "Q?,\"w,x,y,z,A\n");
    expect_error("mmlu", "dev", "beta_dev.csv:1: malformed CSV quoting", __LINE__);
    write_text("mmlu/dev/beta_dev.csv", "Q?,\"w\"x,y,z,A,B\n");
    expect_error("mmlu", "dev", "beta_dev.csv:1: malformed CSV quoting", __LINE__);
    write_text("mmlu/dev/beta_dev.csv", "Why?\",w,x,y,z,A\n"); /* stray quote in an unquoted field: kept */
    CHECK(env_load(env_task_find("mmlu"), tmpdir, "dev", 0, &items) == RLAE_OK && items.n == 3);
    if (items.n == 3)
        CHECK_EQ_STR(items.v[2].question, "Why?\"");
    env_items_free(&items);
    write_text("mmlu/dev/gamma_test.csv", "Q?,w,x,y,z,A\n");
    expect_error("mmlu", "dev", "gamma_test.csv: file name does not end in _dev.csv", __LINE__);
}

static void test_piqa(void)
{
    write_text("piqa/valid.jsonl", "{\"goal\":\"g1\",\"sol1\":\"a\",\"sol2\":\"b\"}\n{\"goal\":\"g2\",\"sol1\":\"c\",\"sol2\":\"d\"}\n");
    write_text("piqa/valid-labels.lst", "1\n0\n");
    env_items items = {0};
    const env_task *t = env_task_find("piqa");
    CHECK(env_load(t, tmpdir, "valid", 0, &items) == RLAE_OK && items.n == 2);
    if (items.n == 2)
        CHECK(items.v[0].gold_choice == 1 && items.v[1].gold_choice == 0);
    env_items_free(&items);
    write_text("piqa/valid-labels.lst", "1\n");
    expect_error("piqa", "valid", "valid.jsonl:2: no label for this item", __LINE__);
    write_text("piqa/valid-labels.lst", "1\n0\n1\n");
    expect_error("piqa", "valid", "valid-labels.lst:3: more labels than items", __LINE__);
    write_text("piqa/valid-labels.lst", "1\n2\n");
    expect_error("piqa", "valid", "valid-labels.lst:2: label \"2\" is not 0 or 1", __LINE__);
}

static void write_bz2(const char *rel, const char *text)
{
    unsigned int cap = (unsigned)strlen(text) * 2 + 600;
    char *out = malloc(cap);
    CHECK(BZ2_bzBuffToBuffCompress(out, &cap, (char *)text, (unsigned)strlen(text), 9, 0, 0) == BZ_OK);
    write_file(rel, out, cap);
    free(out);
}

static void test_hellaswag(void)
{
    write_bz2("hellaswag/hellaswag_val_full.txt.bz2", "Cooking: A man cuts\n2\nthe sky.\na tree.\nan onion.\nthe wind.\n"
                                                      "Sport: She runs\n0\nfast.\nslow.\nup.\ndown.\n");
    env_items items = {0};
    const env_task *t = env_task_find("hellaswag");
    CHECK(env_load(t, tmpdir, "val", 0, &items) == RLAE_OK && items.n == 2);
    if (items.n == 2) {
        CHECK_EQ_STR(items.v[0].question, "Cooking: A man cuts");
        CHECK_EQ_INT(items.v[0].gold_choice, 2);
        CHECK_EQ_STR(items.v[1].choices[3], "down.");
        env_format_opts o = {0, 0, 0, ENV_STYLE_LOGLIK};
        char *p = env_prompt(t, &items.v[0], NULL, &o);
        CHECK_EQ_STR(p, "Choose the most plausible continuation of the text.\n\nCooking: A man cuts");
        free(p);
        char buf[64];
        CHECK_EQ_STR(env_mc_continuation(&items.v[0], 2, buf, sizeof buf), " an onion.");
    }
    env_items_free(&items);
    write_bz2("hellaswag/hellaswag_val_full.txt.bz2", "Cooking: A man cuts\n2\nthe sky.\na tree.\nan onion.\nthe wind.\n"
                                                      "Sport: She runs\n7\nfast.\nslow.\nup.\ndown.\n");
    expect_error("hellaswag", "val", "hellaswag_val_full.txt.bz2:8: label \"7\" is not 0-3", __LINE__);
    write_bz2("hellaswag/hellaswag_val_full.txt.bz2", "Cooking: A man cuts\n2\nthe sky.\na tree.\n");
    expect_error("hellaswag", "val", "truncated: 2 of 4 endings", __LINE__);
    write_text("hellaswag/hellaswag_val_full.txt.bz2", "BZh9 not really bzip2");
    expect_error("hellaswag", "val", "bzip2", __LINE__);
}

static void test_triviaqa_fixture(void)
{
    const char *dir = test_fixture_path("data");
    const env_task *t = env_task_find("triviaqa");
    env_items items = {0};
    CHECK(env_load(t, dir, "dev", 0, &items) == RLAE_OK);
    CHECK_EQ_INT(items.n, 3);
    if (items.n == 3) {
        CHECK_EQ_STR(items.v[1].id, "fixture_2");
        CHECK_EQ_STR(items.v[1].gold[0], "The Beatles");
        CHECK_EQ_INT(items.v[1].n_gold, 1 + 3 + 2);
        CHECK(env_score_text(t, "The answer is the Fab Four.", &items.v[1]).correct); /* an alias */
        CHECK(env_score_text(t, "Sunset Blvd", &items.v[0]).correct);
        CHECK(!env_score_text(t, "Sunset", &items.v[0]).correct);
        CHECK(env_score_text(t, "seven", &items.v[2]).correct);
        for (size_t i = 0; i < items.n; i++) {
            char *g = t->gold_response(t, &items.v[i]);
            CHECK(env_score_text(t, g, &items.v[i]).reward == 1.0);
            free(g);
            CHECK(env_score_text(t, "", &items.v[i]).reward == 0.0);
        }
        env_format_opts o = {-1, 0, 0, ENV_STYLE_GENERATE};
        char *p = env_prompt(t, &items.v[2], &items, &o);
        CHECK_EQ_STR(p, "Answer these questions.\n\nQuestion: How many continents are there by the usual "
                        "English-language count?\nAnswer:");
        free(p);
    }
    env_items_free(&items);
    write_text("triviaqa/unfiltered-web-dev.json", "{\"Data\": [{\"Question\": \"q\", \"Answer\": {\"Value\": \"v\"}},\n"
                                                   "  {\"Question\": \"q\", \"Answer\": {}}]}\n");
    expect_error("triviaqa", "dev", "unfiltered-web-dev.json: Data[1]: needs string", __LINE__);
    write_text("triviaqa/unfiltered-web-dev.json", "{\"Data\": [\n  {\"Question\": \"q\",, }]}\n");
    expect_error("triviaqa", "dev", "unfiltered-web-dev.json:2:", __LINE__);
}

static int cmp_strp(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

static void test_synthetic(void)
{
    env_synthetic_config cfg;
    env_synthetic_default_config(&cfg);
    env_items a = {0}, b = {0}, c = {0};
    CHECK(env_synthetic_generate(&cfg, "train", 0, 200, &a) == RLAE_OK);
    CHECK(env_synthetic_generate(&cfg, "train", 0, 200, &b) == RLAE_OK);
    CHECK(env_synthetic_generate(&cfg, "train", 150, 10, &c) == RLAE_OK); /* a range on its own */
    int same = a.n == 200 && b.n == 200 && c.n == 10, skills[ENV_N_SKILLS] = {0};
    for (size_t i = 0; same && i < a.n; i++) {
        same = !strcmp(a.v[i].question, b.v[i].question) && !strcmp(a.v[i].gold[0], b.v[i].gold[0]) &&
               !strcmp(a.v[i].id, b.v[i].id);
        for (int k = 0; k < ENV_N_SKILLS; k++)
            skills[k] += !strcmp(a.v[i].subject, env_synthetic_skill_name(k));
    }
    for (size_t i = 0; same && i < c.n; i++)
        same = !strcmp(c.v[i].question, a.v[150 + i].question) && !strcmp(c.v[i].id, a.v[150 + i].id);
    CHECK(same);
    for (int k = 0; k < ENV_N_SKILLS; k++) /* equal weights: 50 expected each of 200 */
        CHECK_MSG(skills[k] > 25 && skills[k] < 75, "skill %s: %d of 200", env_synthetic_skill_name(k), skills[k]);
    /* answers are right: check the additions by recomputing them */
    for (size_t i = 0; i < a.n; i++) {
        unsigned long long x, y;
        if (sscanf(a.v[i].question, "What is %llu + %llu?", &x, &y) == 2) {
            char want[32];
            snprintf(want, sizeof want, "%llu", x + y);
            CHECK_EQ_STR(a.v[i].gold[0], want);
        }
    }
    env_items_free(&a);
    env_items_free(&b);
    env_items_free(&c);

    cfg.seed = 99;
    CHECK(env_synthetic_generate(&cfg, "train", 0, 50, &a) == RLAE_OK);
    cfg.seed = 1234;
    CHECK(env_synthetic_generate(&cfg, "train", 0, 50, &b) == RLAE_OK);
    int differ = 0;
    for (size_t i = 0; i < 50 && i < a.n && i < b.n; i++)
        differ += strcmp(a.v[i].question, b.v[i].question) != 0;
    CHECK(differ > 40); /* another seed, other items */
    env_items_free(&a);
    env_items_free(&b);

    /* Disjointness over 10k items of each split: no test question appears in train. */
    CHECK(env_synthetic_generate(&cfg, "train", 0, 10000, &a) == RLAE_OK);
    CHECK(env_synthetic_generate(&cfg, "test", 0, 10000, &b) == RLAE_OK);
    char **tr = malloc(a.n * sizeof *tr);
    for (size_t i = 0; i < a.n; i++)
        tr[i] = a.v[i].question;
    qsort(tr, a.n, sizeof *tr, cmp_strp);
    size_t overlap = 0;
    for (size_t i = 0; i < b.n; i++)
        overlap += bsearch(&b.v[i].question, tr, a.n, sizeof *tr, cmp_strp) != NULL;
    CHECK_EQ_INT(overlap, 0);
    CHECK_EQ_INT(b.n, 10000);
    free(tr);
    env_items_free(&a);
    env_items_free(&b);

    cfg.weights[0] = 1;
    cfg.weights[1] = cfg.weights[2] = cfg.weights[3] = 0;
    CHECK(env_synthetic_generate(&cfg, "test", 0, 100, &a) == RLAE_OK);
    int adds = 0;
    for (size_t i = 0; i < a.n; i++)
        adds += !strcmp(a.v[i].subject, "add");
    CHECK_EQ_INT(adds, 100);
    env_items_free(&a);
    cfg.weights[0] = 0;
    CHECK(env_synthetic_generate(&cfg, "test", 0, 1, &a) == RLAE_ERR_INPUT);
    env_synthetic_default_config(&cfg);
    CHECK(env_synthetic_generate(&cfg, "dev", 0, 1, &a) == RLAE_ERR_INPUT);

    /* few-shot prompt from the train split: deterministic, never the item itself */
    const env_task *t = env_task_find("synthetic");
    CHECK(env_load(t, NULL, "train", 100, &a) == RLAE_OK);
    CHECK(env_load(t, NULL, "test", 5, &b) == RLAE_OK);
    env_format_opts o = {-1, 3, 1, ENV_STYLE_GENERATE};
    char *p1 = env_prompt(t, &b.v[0], &a, &o), *p2 = env_prompt(t, &b.v[0], &a, &o);
    CHECK(p1 && p2 && !strcmp(p1, p2));
    int q = 0;
    for (const char *s = p1; (s = strstr(s, "Question:")); s++)
        q++;
    CHECK_EQ_INT(q, 4); /* 3 shots + the item */
    free(p1);
    free(p2);
    const env_item *shots[3];
    CHECK_EQ_INT(env_select_shots(t, &a, &a.v[0], 3, 5, 1, shots), 3);
    for (int i = 0; i < 3; i++)
        CHECK(shots[i] != &a.v[0]);
    env_items_free(&a);
    env_items_free(&b);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rlae-test-env-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_gsm8k_jsonl();
    test_arc();
    test_mmlu_csv();
    test_piqa();
    test_hellaswag();
    test_triviaqa_fixture();
    test_synthetic();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary("test_env_loaders");
}
