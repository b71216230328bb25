/* Multiple choice, shared by ARC, MMLU, PIQA and HellaSwag: the prompt layout, the letter
 * extraction rule, scoring, and the pure log-likelihood ranking a model-based scorer uses.
 *
 * Prompts always label options A, B, C, ... whatever the dataset's own labels (ARC has some 1-4),
 * so one extraction rule serves every task and gold is an index.
 *
 * Extraction rule (env_mc_extract_index). Letters outside A..(A+n-1) never count. The first
 * unambiguous answer is taken, trying these classes in order (position order within a class):
 *  1. The reply's first non-empty line is just a letter, optionally bracketed and/or followed by
 *     '.', ')' or ':' - "B", "b", "(b)", "B)", "C." (what a model continuing "Answer:" writes).
 *  2. An answer phrase: "answer is", "answer:", "answer is:" (any case), then optional spaces,
 *     '*', quotes or an opening bracket, then the letter. An upper-case letter must not be followed
 *     by a letter or digit ("Answer: Because" is no B). A lower-case letter must be bracketed or
 *     followed by '.', ')', ':' or the end of the line ("the answer is a dog" is no A, "the answer
 *     is (b)" is B). A letter followed by "or"/"and"/"/" and another option letter ("B or C") is
 *     ambiguous and skipped.
 *  3. A line that begins with an upper-case option letter and ')', '.' or ':' ("C) Paris").
 * Anything else - prose without such a pattern, an empty reply - is no answer, which scores 0.
 * Why classes before position: a reply that restates the options ("A) ... B) ... The answer is
 * B") must not be read as its first listed option. */
#include "envs/env_internal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

static int letter_index(char c, int n)
{
    int i = toupper((unsigned char)c) - 'A';
    return (isalpha((unsigned char)c) && i >= 0 && i < n) ? i : -1;
}

/* Class 1: the first non-empty line is a lone letter. */
static int lone_letter(const char *text, int n)
{
    const char *p = text;
    while (*p && isspace((unsigned char)*p))
        p++;
    const char *end = strchr(p, '\n');
    if (!end)
        end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    while (p < end && strchr("(['\"*", *p))
        p++;
    while (end > p && strchr(")]'\"*.:", end[-1]))
        end--;
    return end - p == 1 ? letter_index(*p, n) : -1;
}

/* After the letter at q: "or C", "and C", "/C" makes the answer ambiguous. */
static int ambiguous_after(const char *q, int n)
{
    while (*q && strchr(")]*.'\" \t", *q))
        q++;
    if (*q == '/')
        q++;
    else if (strncasecmp(q, "or ", 3) == 0)
        q += 3;
    else if (strncasecmp(q, "and ", 4) == 0)
        q += 4;
    else
        return 0;
    while (*q && strchr(" \t([*'\"", *q))
        q++;
    return letter_index(*q, n) >= 0 && !isalnum((unsigned char)q[1]);
}

/* Class 2 at p (which starts with "answer"): the letter index or -1. */
static int phrase_letter(const char *p, int n)
{
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    int ok = 0;
    if (strncasecmp(p, "is", 2) == 0 && !isalnum((unsigned char)p[2])) {
        p += 2;
        ok = 1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == ':') {
        p++;
        ok = 1;
    }
    if (!ok)
        return -1;
    int bracket = 0;
    while (*p && strchr(" \t*'\"([", *p)) {
        bracket |= *p == '(' || *p == '[';
        p++;
    }
    int i = letter_index(*p, n);
    if (i < 0)
        return -1;
    char next = p[1];
    if (isalnum((unsigned char)next))
        return -1;
    if (islower((unsigned char)*p) && !bracket && !strchr(".):\r\n", next))
        return -1; /* strchr also matches the terminating NUL: end of text is fine */
    return ambiguous_after(p + 1, n) ? -1 : i;
}

int env_mc_extract_index(const char *text, int n)
{
    if (!text || n <= 0)
        return -1;
    int i = lone_letter(text, n);
    if (i >= 0)
        return i;
    for (const char *p = text; *p; p++)
        if (strncasecmp(p, "answer", 6) == 0 && (i = phrase_letter(p, n)) >= 0)
            return i;
    for (const char *p = text; p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *q = *p == '(' ? p + 1 : p;
        if (isupper((unsigned char)*q) && (i = letter_index(*q, n)) >= 0 &&
            (q[1] == ')' || q[1] == '.' || q[1] == ':') && !ambiguous_after(q + 1, n))
            return i;
    }
    return -1;
}

const char *env_mc_continuation(const env_item *item, int i, char *buf, size_t cap)
{
    if (i < 0 || i >= item->n_choices || !cap)
        return NULL;
    snprintf(buf, cap, " %s", item->choices[i]);
    return buf;
}

env_mc_pick env_mc_pick_loglik(const double *loglik, const int *n_tokens, const int *n_bytes, int n)
{
    env_mc_pick r = {-1, -1, -1};
    double best_raw = -INFINITY, best_tok = -INFINITY, best_byte = -INFINITY;
    for (int i = 0; i < n; i++) {
        double l = loglik[i];
        if (isnan(l))
            continue;
        /* Strict '>' keeps the lower index on ties, so the pick never depends on float noise in
         * the order options were scored. */
        if (r.raw < 0 || l > best_raw) {
            best_raw = l;
            r.raw = i;
        }
        if (n_tokens && n_tokens[i] > 0 && (r.per_token < 0 || l / n_tokens[i] > best_tok)) {
            best_tok = l / n_tokens[i];
            r.per_token = i;
        }
        if (n_bytes && n_bytes[i] > 0 && (r.per_byte < 0 || l / n_bytes[i] > best_byte)) {
            best_byte = l / n_bytes[i];
            r.per_byte = i;
        }
    }
    return r;
}

/* ---- prompts, extraction and scoring for the task table ---- */

void env_mc_format_item(env_buf *b, const env_item *it, env_style style, int with_answer)
{
    if (it->context)
        env_buf_printf(b, "%s\n", it->context);
    env_buf_puts(b, it->question ? it->question : "");
    if (style == ENV_STYLE_GENERATE) {
        for (int i = 0; i < it->n_choices; i++)
            env_buf_printf(b, "\n%c. %s", 'A' + i, it->choices[i]);
        env_buf_puts(b, "\nAnswer:");
        if (with_answer)
            env_buf_printf(b, " %c\n\n", 'A' + (it->gold_choice >= 0 ? it->gold_choice : 0));
    } else if (with_answer && it->gold_choice >= 0) {
        env_buf_printf(b, " %s\n\n", it->choices[it->gold_choice]);
    }
}

static void put_header(env_buf *b, const env_mc_style *st, const env_item *item)
{
    if (!st || !st->header)
        return;
    env_buf_puts(b, st->header);
    if (item->subject) {
        env_buf_puts(b, " about ");
        for (const char *s = item->subject; *s; s++)
            env_buf_putn(b, *s == '_' ? " " : s, 1);
    }
    env_buf_puts(b, ".\n\n");
}

static void put_question(env_buf *b, const env_mc_style *st, const env_item *it, env_style style,
                         int with_answer)
{
    if (st && st->qlabel)
        env_buf_printf(b, "%s: ", st->qlabel);
    env_mc_format_item(b, it, style, with_answer);
    /* In log-likelihood style a labelled question still ends with "Answer:" so every option is
     * scored as the same kind of continuation; a bare context (HellaSwag) is continued directly. */
    if (style == ENV_STYLE_LOGLIK && st && st->qlabel && !with_answer)
        env_buf_puts(b, "\nAnswer:");
}

char *env_mc_format(const env_task *t, const env_item *item, const env_item *const *shots, int n,
                    env_style style)
{
    const env_mc_style *st = t->params;
    env_buf b = {0};
    put_header(&b, st, item);
    for (int i = 0; i < n; i++) {
        if (style == ENV_STYLE_LOGLIK && st && st->qlabel) {
            /* "Question: q\nAnswer: gold text" */
            env_buf_printf(&b, "%s: %s\nAnswer:", st->qlabel, shots[i]->question ? shots[i]->question : "");
            if (shots[i]->gold_choice >= 0)
                env_buf_printf(&b, " %s", shots[i]->choices[shots[i]->gold_choice]);
            env_buf_puts(&b, "\n\n");
        } else {
            put_question(&b, st, shots[i], style, 1);
        }
    }
    put_question(&b, st, item, style, 0);
    return env_buf_take(&b);
}

char *env_mc_extract(const env_task *t, const char *text)
{
    (void)t;
    /* The letter alone is the answer; ENV_MAX_CHOICES bounds the range here, the score checks it
     * against the item's own number of options. */
    int i = env_mc_extract_index(text, ENV_MAX_CHOICES);
    if (i < 0)
        return NULL;
    char s[2] = {(char)('A' + i), 0};
    return env_strdup(s);
}

env_score env_mc_score(const env_task *t, const char *answer, const env_item *item)
{
    (void)t;
    env_score s = {0, 0, 0, 0};
    if (answer && answer[0] && !answer[1] && item->gold_choice >= 0) {
        int i = letter_index(answer[0], item->n_choices);
        s.correct = i >= 0 && i == item->gold_choice;
    }
    s.reward = s.em = s.f1 = s.correct;
    return s;
}

char *env_mc_gold_response(const env_task *t, const env_item *item)
{
    (void)t;
    env_buf b = {0};
    env_buf_printf(&b, "The answer is %c.", 'A' + (item->gold_choice >= 0 ? item->gold_choice : 0));
    return env_buf_take(&b);
}
