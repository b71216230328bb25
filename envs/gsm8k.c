/* GSM8K: grade-school maths word problems, k-shot chain of thought from the train split.
 *
 * Data: gsm8k/{train,test}.jsonl, {"question", "answer"}; the answer is a rationale ending in
 * "#### <number>" (gold), with "<<48/2=24>>" calculator annotations that we strip from the
 * few-shot rationales (they are an artefact of how the data was written, not how models reason).
 *
 * Extraction: the number after the FIRST "The answer is" or "####" (case-insensitive, on the same
 * line), else the LAST number anywhere in the text. First, because a few-shot model that keeps
 * going writes the next made-up question's answer after its own. Numbers are read the way people
 * write them: "$1,234.50" = 1234.5, "-3", "5 apples" = 5, "42." = 42 (the period ends a sentence).
 * Scoring compares numerically with a relative tolerance of 1e-6, so "18.00" matches 18. */
#include "envs/env_internal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

/* Skips one currency sign (UTF-8 aware); returns bytes skipped. */
static size_t currency(const char *s)
{
    if (*s == '$')
        return 1;
    if (!strncmp(s, "\xE2\x82\xAC", 3)) /* euro */
        return 3;
    if (!strncmp(s, "\xC2\xA3", 2)) /* pound */
        return 2;
    return 0;
}

/* Reads [sign][currency][sign]digits[,ddd]*[.digits] at s; length consumed, or 0 if none. */
static size_t parse_number_at(const char *s, double *v)
{
    const char *p = s;
    int neg = 0;
    for (int k = 0; k < 2; k++) {
        if (*p == '-' || *p == '+') {
            neg = *p == '-';
            p++;
        } else if (!strncmp(p, "\xE2\x88\x92", 3)) { /* U+2212 minus sign */
            neg = 1;
            p += 3;
        }
        if (k == 0)
            p += currency(p);
    }
    char digits[128];
    size_t n = 0;
    while (isdigit((unsigned char)*p) || (*p == ',' && n > 0 && isdigit((unsigned char)p[1]) &&
                                          isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) &&
                                          !isdigit((unsigned char)p[4]))) {
        if (*p == ',') {
            p++;
            continue;
        }
        if (n < sizeof digits - 2)
            digits[n++] = *p;
        p++;
    }
    if (*p == '.' && isdigit((unsigned char)p[1])) {
        if (n == 0 && n < sizeof digits - 2)
            digits[n++] = '0';
        digits[n++] = *p++;
        while (isdigit((unsigned char)*p)) {
            if (n < sizeof digits - 1)
                digits[n++] = *p;
            p++;
        }
    }
    if (n == 0)
        return 0;
    digits[n] = '\0';
    *v = strtod(digits, NULL);
    if (neg)
        *v = -*v;
    return (size_t)(p - s);
}

int env_parse_number(const char *s, double *v)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return parse_number_at(s, v) > 0;
}

/* Scans [p, end) for numbers; returns the first (want_last 0) or last one's value. A '-' counts
 * as a sign only when it does not follow a letter or digit ("16-3" is 16 then 3, not 16 and -3). */
static int scan_numbers(const char *text, const char *p, const char *end, int want_last, double *out)
{
    int found = 0;
    while (p < end) {
        double v;
        size_t n = 0;
        int starts = isdigit((unsigned char)*p) || *p == '$' || *p == '.' || (unsigned char)*p >= 0xC2 ||
                     ((*p == '-' || *p == '+') && (p == text || !isalnum((unsigned char)p[-1])));
        if (starts)
            n = parse_number_at(p, &v);
        if (n > 0 && p + n <= end) {
            *out = v;
            found = 1;
            if (!want_last)
                return 1;
            p += n;
        } else {
            p++;
        }
    }
    return found;
}

static char *format_number(double v)
{
    char buf[64];
    if (fabs(v) < 1e15 && v == floor(v))
        snprintf(buf, sizeof buf, "%.0f", v);
    else
        snprintf(buf, sizeof buf, "%.10g", v);
    return env_strdup(buf);
}

char *env_gsm8k_extract_number(const char *text)
{
    if (!text)
        return NULL;
    const char *a = env_stristr(text, "the answer is");
    const char *h = strstr(text, "####");
    const char *m = a && (!h || a < h) ? a : h;
    double v;
    if (m) {
        m += m == a ? strlen("the answer is") : 4;
        const char *eol = strchr(m, '\n');
        if (!eol)
            eol = m + strlen(m);
        if (scan_numbers(text, m, eol, 0, &v))
            return format_number(v);
    }
    if (scan_numbers(text, text, text + strlen(text), 1, &v))
        return format_number(v);
    return NULL;
}

/* ---- task ---- */

static rlae_status gsm8k_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                              env_items *out)
{
    char rel[64];
    snprintf(rel, sizeof rel, "gsm8k/%s.jsonl", split);
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
        const char *q, *a;
        if ((s = env_json_str(&r, o, "question", &q)) != RLAE_OK || (s = env_json_str(&r, o, "answer", &a)))
            break;
        const char *h = strstr(a, "####");
        double v;
        if (!h || !env_parse_number(h + 4, &v)) {
            s = env_lines_fail(&r, "the answer does not end in \"#### <number>\"");
            break;
        }
        env_item *it = env_items_push(out, t->name);
        if (!it) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        /* The rationale for few-shot prompts: everything before "####", calculator
         * annotations "<<...>>" removed. */
        env_buf b = {0};
        for (const char *p = a; p < h;) {
            const char *open = strstr(p, "<<"), *close = open ? strstr(open, ">>") : NULL;
            if (open && close && close < h) {
                env_buf_putn(&b, p, (size_t)(open - p));
                p = close + 2;
            } else {
                env_buf_putn(&b, p, (size_t)(h - p));
                break;
            }
        }
        it->rationale = env_buf_take(&b);
        char gold[64];
        snprintf(gold, sizeof gold, "%s", h + 4);
        const char *g = env_trim(gold);
        it->question = env_strdup(q);
        it->gold_number = v;
        if (!it->rationale || !it->question || (s = env_item_set_gold(it, &g, 1)) != RLAE_OK ||
            (s = env_item_default_id(it, split, out->n - 1)) != RLAE_OK) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        env_trim(it->rationale);
        json_decref(o);
        o = NULL;
        if (limit && out->n >= limit)
            break;
    }
    json_decref(o);
    env_lines_close(&r);
    return s;
}

static int gsm8k_present(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap)
{
    char rel[64];
    snprintf(rel, sizeof rel, "gsm8k/%s.jsonl", split);
    return env_path_present(data_dir, rel, path, cap);
}

static char *gsm8k_format(const env_task *t, const env_item *item, const env_item *const *shots, int n,
                          env_style style)
{
    env_buf b = {0};
    for (int i = 0; i < n; i++)
        env_buf_printf(&b, "Question: %s\nAnswer: %s\nThe answer is %s.\n\n", shots[i]->question,
                       shots[i]->rationale ? shots[i]->rationale : "",
                       shots[i]->n_gold ? shots[i]->gold[0] : "");
    env_buf_printf(&b, "Question: %s\nAnswer:", item->question);
    return env_buf_take(&b);
}

static char *gsm8k_extract(const env_task *t, const char *text) { return env_gsm8k_extract_number(text); }

static env_score gsm8k_score(const env_task *t, const char *answer, const env_item *item)
{
    env_score s = {0, 0, 0, 0};
    double v;
    if (answer && env_parse_number(answer, &v))
        s.correct = fabs(v - item->gold_number) <= 1e-6 * fmax(1.0, fabs(item->gold_number));
    s.reward = s.em = s.f1 = s.correct;
    return s;
}

static char *gsm8k_gold_response(const env_task *t, const env_item *item)
{
    env_buf b = {0};
    env_buf_printf(&b, "%s\n#### %s", item->rationale ? item->rationale : "", item->n_gold ? item->gold[0] : "");
    return env_buf_take(&b);
}

static const char *const gsm8k_splits[] = {"train", "test", NULL};

const env_task env_task_gsm8k = {
    .name = "gsm8k",
    .description = "GSM8K grade-school maths, k-shot chain of thought, numeric answer",
    .kind = ENV_ANSWER_NUMBER,
    .splits = gsm8k_splits,
    .eval_split = "test",
    .shot_split = "train",
    .default_shots = 8,
    .load = gsm8k_load,
    .present = gsm8k_present,
    .format = gsm8k_format,
    .extract = gsm8k_extract,
    .score = gsm8k_score,
    .gold_response = gsm8k_gold_response,
};
