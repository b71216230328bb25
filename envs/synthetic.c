/* Seeded synthetic tasks for the demo and the tests: multi-digit addition, string reversal,
 * counting a letter, copying. Exact answers, so rewards are unambiguous and a tiny model can learn
 * them; each item carries its skill (item->subject) for per-skill accuracy.
 *
 * Determinism: item i of split s is a pure function of (config, s, i). Its skill comes from a hash
 * of (seed, s, i), so skill proportions do not depend on which items land in which split. Its text
 * comes from attempt a = 0, 1, ... of a hash of (seed, s, i, a): the first attempt whose question
 * hashes (seed-independently) into split s is taken. So a question can only ever appear in one
 * split - train and test are disjoint by construction, for every seed - and no item depends on
 * any other item, so any range [start, start+n) can be generated alone. */
#include "envs/env_internal.h"

#include <string.h>
#include <strings.h>

static const char *const skill_names[ENV_N_SKILLS] = {"add", "reverse", "count", "copy"};
enum { MAX_ADD_DIGITS = 18, MAX_STR = 256 };

const char *env_synthetic_skill_name(int skill)
{
    return skill >= 0 && skill < ENV_N_SKILLS ? skill_names[skill] : "?";
}

void env_synthetic_default_config(env_synthetic_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1234;
    for (int k = 0; k < ENV_N_SKILLS; k++)
        cfg->weights[k] = 1.0;
    cfg->min_len = 2;
    cfg->max_len = 6;
    cfg->test_fraction = 0.2;
}

/* Uniform double in [0, 1) from 53 bits of a hash. */
static double unit(uint64_t h) { return (double)(h >> 11) * (1.0 / 9007199254740992.0); }

/* The split a question belongs to; the salt is fixed so that the split of a text never depends
 * on the seed either. */
static int split_of(const char *question, double test_fraction)
{
    return unit(env_hash_str(0x73706C6974ull /* "split" */, question)) < test_fraction;
}

typedef struct {
    uint64_t key;
    uint64_t j;
} draws;
static uint64_t next(draws *d) { return env_mix64(d->key + 0x9E3779B97F4A7C15ull * ++d->j); }
static int below(draws *d, int n) { return (int)(unit(next(d)) * n); }

static void random_string(draws *d, char *s, int len, int alphabet)
{
    for (int k = 0; k < len; k++)
        s[k] = (char)('a' + below(d, alphabet));
    s[len] = '\0';
}

/* Writes question and answer of one attempt. */
static void make(const env_synthetic_config *cfg, int skill, draws *d, env_buf *q, env_buf *a)
{
    int len = cfg->min_len + below(d, cfg->max_len - cfg->min_len + 1);
    char s[MAX_STR + 1];
    switch (skill) {
    case ENV_SKILL_ADD: {
        uint64_t x[2];
        for (int k = 0; k < 2; k++) {
            int digits = cfg->min_len + below(d, cfg->max_len - cfg->min_len + 1);
            uint64_t lo = 1;
            for (int m = 1; m < digits; m++)
                lo *= 10;
            uint64_t span = lo * 9; /* digits-digit numbers: [lo, 10*lo) (or [0, 10) for 1 digit) */
            x[k] = digits == 1 ? (uint64_t)below(d, 10) : lo + next(d) % span;
        }
        env_buf_printf(q, "What is %llu + %llu?", (unsigned long long)x[0], (unsigned long long)x[1]);
        env_buf_printf(a, "%llu", (unsigned long long)(x[0] + x[1]));
        break;
    }
    case ENV_SKILL_REVERSE:
        random_string(d, s, len, 26);
        env_buf_printf(q, "Reverse the string: %s", s);
        for (int k = len - 1; k >= 0; k--)
            env_buf_putn(a, &s[k], 1);
        break;
    case ENV_SKILL_COUNT: {
        /* A five-letter alphabet keeps counts away from almost-always-zero. */
        random_string(d, s, len, 5);
        char c = (char)('a' + below(d, 5));
        int n = 0;
        for (int k = 0; k < len; k++)
            n += s[k] == c;
        env_buf_printf(q, "How many times does the letter '%c' appear in \"%s\"?", c, s);
        env_buf_printf(a, "%d", n);
        break;
    }
    default:
        random_string(d, s, len, 26);
        env_buf_printf(q, "Copy the string: %s", s);
        env_buf_puts(a, s);
        break;
    }
}

static rlae_status check_config(const env_synthetic_config *cfg)
{
    double total = 0;
    for (int k = 0; k < ENV_N_SKILLS; k++) {
        if (!(cfg->weights[k] >= 0))
            return rlae_fail(RLAE_ERR_INPUT, "synthetic task: weight of skill %s is %g; weights must be >= 0",
                             skill_names[k], cfg->weights[k]);
        total += cfg->weights[k];
    }
    if (!(total > 0))
        return rlae_fail(RLAE_ERR_INPUT, "synthetic task: all skill weights are 0; give at least one skill "
                                         "a positive weight");
    if (cfg->min_len < 1 || cfg->max_len < cfg->min_len || cfg->max_len > MAX_ADD_DIGITS)
        return rlae_fail(RLAE_ERR_INPUT, "synthetic task: lengths [%d, %d] out of range; need "
                                         "1 <= min_len <= max_len <= %d", cfg->min_len, cfg->max_len,
                         MAX_ADD_DIGITS);
    if (!(cfg->test_fraction > 0 && cfg->test_fraction < 1))
        return rlae_fail(RLAE_ERR_INPUT, "synthetic task: test_fraction %g must be in (0, 1)",
                         cfg->test_fraction);
    return RLAE_OK;
}

rlae_status env_synthetic_generate(const env_synthetic_config *cfg, const char *split, size_t start,
                                   size_t n, env_items *out)
{
    RLAE_TRY(check_config(cfg));
    int want;
    if (strcmp(split, "train") == 0)
        want = 0;
    else if (strcmp(split, "test") == 0)
        want = 1;
    else
        return rlae_fail(RLAE_ERR_INPUT, "synthetic task has no split '%s'; use train or test", split);
    double total = 0;
    for (int k = 0; k < ENV_N_SKILLS; k++)
        total += cfg->weights[k];
    for (size_t i = start; i < start + n; i++) {
        uint64_t base = env_mix64(env_mix64(cfg->seed) ^ ((uint64_t)want << 62) ^ env_mix64(i));
        double u = unit(env_mix64(base)) * total;
        int skill = 0;
        while (skill < ENV_N_SKILLS - 1 && (u >= cfg->weights[skill] || cfg->weights[skill] == 0)) {
            u -= cfg->weights[skill];
            skill++;
        }
        while (cfg->weights[skill] == 0) /* rounding at the top end landed on a disabled skill */
            skill--;
        env_buf q = {0}, a = {0};
        /* Expected attempts: 1/test_fraction for test items; the bound only guards against
         * configurations whose whole item space hashes into the other split. */
        int ok = 0;
        for (uint64_t att = 0; att < 100000 && !ok; att++) {
            free(q.s);
            free(a.s);
            memset(&q, 0, sizeof q);
            memset(&a, 0, sizeof a);
            draws d = {env_mix64(base ^ env_mix64(att + 1)), 0};
            make(cfg, skill, &d, &q, &a);
            if (q.oom || a.oom)
                break;
            ok = split_of(q.s, cfg->test_fraction) == want;
        }
        char *qs = env_buf_take(&q), *as = env_buf_take(&a);
        if (!ok) {
            free(qs);
            free(as);
            return qs && as ? rlae_fail(RLAE_ERR_INPUT, "synthetic task: skill %s with lengths [%d, %d] has no "
                                                        "%s items; widen the lengths", skill_names[skill],
                                        cfg->min_len, cfg->max_len, split)
                            : RLAE_ERR_NOMEM;
        }
        env_item *it = env_items_push(out, "synthetic");
        rlae_status s = RLAE_OK;
        if (!it)
            s = RLAE_ERR_NOMEM;
        else {
            it->question = qs;
            qs = NULL;
            it->subject = env_strdup(skill_names[skill]);
            const char *g = as;
            if (!it->subject || (s = env_item_set_gold(it, &g, 1)) != RLAE_OK ||
                (s = env_item_default_id(it, split, i)) != RLAE_OK)
                s = RLAE_ERR_NOMEM;
        }
        free(qs);
        free(as);
        RLAE_TRY(s);
    }
    return RLAE_OK;
}

/* ---- task table entry ---- */

static rlae_status syn_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                            env_items *out)
{
    /* No files: the registry's default configuration, `limit` items (1000 when 0). */
    return env_synthetic_generate(t->params, split, 0, limit ? limit : 1000, out);
}

static int syn_present(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap)
{
    snprintf(path, cap, "(generated)");
    return 0; /* nothing on disk to check */
}

static char *syn_format(const env_task *t, const env_item *item, const env_item *const *shots, int n,
                        env_style style)
{
    env_buf b = {0};
    for (int i = 0; i < n; i++)
        env_buf_printf(&b, "Question: %s\nAnswer: %s\n\n", shots[i]->question, shots[i]->n_gold ? shots[i]->gold[0] : "");
    env_buf_printf(&b, "Question: %s\nAnswer:", item->question);
    return env_buf_take(&b);
}

/* The answer after "The answer is", else the first non-empty line (without a leading "Answer:");
 * spaces, quotes and a trailing period removed (the same rule as qa.c). Compared exactly (answers are digits or lower-case letters). */
static char *syn_extract(const env_task *t, const char *text)
{
    if (!text)
        return NULL;
    const char *p = env_stristr(text, "the answer is");
    if (p) {
        p += strlen("the answer is");
    } else {
        for (p = text; *p == '\n' || *p == '\r' || *p == ' ' || *p == '\t'; p++) {
        }
        if (strncasecmp(p, "answer:", 7) == 0)
            p += 7;
    }
    if (*p == ':')
        p++;
    const char *end = strchr(p, '\n');
    env_buf b = {0};
    env_buf_putn(&b, p, end ? (size_t)(end - p) : strlen(p));
    char *s = env_buf_take(&b);
    if (!s)
        return NULL;
    env_trim(s);
    size_t n = strlen(s);
    if (n && s[n - 1] == '.')
        s[--n] = '\0';
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
    env_trim(s);
    if (!*s) {
        free(s);
        return NULL;
    }
    return s;
}

static env_score syn_score(const env_task *t, const char *answer, const env_item *item)
{
    env_score s = {0, 0, 0, 0};
    s.correct = answer && item->n_gold && strcmp(answer, item->gold[0]) == 0;
    s.reward = s.em = s.f1 = s.correct;
    return s;
}

static char *syn_gold_response(const env_task *t, const env_item *item)
{
    env_buf b = {0};
    env_buf_printf(&b, "The answer is %s.", item->n_gold ? item->gold[0] : "");
    return env_buf_take(&b);
}

static const env_synthetic_config default_cfg = {
    .seed = 1234,
    .weights = {1, 1, 1, 1},
    .min_len = 2,
    .max_len = 6,
    .test_fraction = 0.2,
};
static const char *const syn_splits[] = {"train", "test", NULL};

const env_task env_task_synthetic = {
    .name = "synthetic",
    .description = "seeded synthetic skills (addition, reversal, counting, copying), exact match",
    .kind = ENV_ANSWER_EXACT,
    .splits = syn_splits,
    .eval_split = "test",
    .shot_split = "train",
    .default_shots = 3,
    .load = syn_load,
    .present = syn_present,
    .format = syn_format,
    .extract = syn_extract,
    .score = syn_score,
    .gold_response = syn_gold_response,
    .params = &default_cfg,
};
