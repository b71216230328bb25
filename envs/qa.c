/* Open-domain question answering: Natural Questions (open) and TriviaQA. Exact match and token F1
 * after SQuAD's answer normalisation, maximised over the gold answers (aliases).
 *
 * Normalisation (the SQuAD v1.1 evaluation script, in its order): lowercase (Unicode simple case
 * mapping via utf8proc), remove ASCII punctuation, remove the words a/an/the, collapse whitespace.
 * F1 is over whitespace tokens with multiset overlap; if either side normalises to nothing, F1 is
 * 1 when both do and 0 otherwise (SQuAD v2's rule; v1.1 would divide by zero).
 *
 * Extraction: the text after the first "The answer is" (any case) up to the end of that line,
 * else the first non-empty line (without a leading "Answer:"); surrounding quotes, spaces and one
 * trailing period are removed (the period is not part of an answer; "St. Louis" keeps its inner one). Nothing left =
 * no answer. Reward = EM; F1 is reported beside it.
 *
 * Data: nq_open/NQ-open.<split>.jsonl with {"question", "answer": [str, ...]} (train, dev,
 * efficientqa.dev.1.1, efficientqa.test.1.1). TriviaQA: the official JSON (one object,
 * "Data": [{"Question", "QuestionId", "Answer": {"Value", "Aliases", "NormalizedAliases"}}]) at
 * triviaqa/unfiltered-web-<split>.json (the open-domain setting uses the unfiltered set). */
#include "envs/env_internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

/* ---- normalisation, EM, F1 ---- */

static int is_ascii_punct(int c) { return c < 128 && ispunct(c); }

char *env_qa_normalize(const char *s)
{
    env_buf low = {0};
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)(s ? s : "");
    utf8proc_ssize_t n = (utf8proc_ssize_t)strlen((const char *)p);
    while (n > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, n, &cp);
        if (k <= 0) { /* invalid UTF-8: keep the byte as is (lowercased if ASCII) */
            char c = (char)tolower(*p);
            env_buf_putn(&low, &c, 1);
            p++;
            n--;
            continue;
        }
        if (cp < 128 && is_ascii_punct(cp)) {
            /* removed before the article pass, like SQuAD: "the-end" -> "theend" */
        } else {
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t m = utf8proc_encode_char(utf8proc_tolower(cp), enc);
            env_buf_putn(&low, (const char *)enc, (size_t)m);
        }
        p += k;
        n -= k;
    }
    char *t = env_buf_take(&low);
    if (!t)
        return NULL;
    /* Words: split on whitespace, drop a/an/the, join with single spaces. */
    env_buf out = {0};
    env_buf_puts(&out, "");
    char *save = NULL;
    for (char *w = strtok_r(t, " \t\n\r\f\v", &save); w; w = strtok_r(NULL, " \t\n\r\f\v", &save)) {
        if (!strcmp(w, "a") || !strcmp(w, "an") || !strcmp(w, "the"))
            continue;
        if (out.n)
            env_buf_putn(&out, " ", 1);
        env_buf_puts(&out, w);
    }
    free(t);
    return env_buf_take(&out);
}

double env_qa_exact_match(const char *pred, const char *const *golds, int n_golds)
{
    char *p = env_qa_normalize(pred);
    double best = 0;
    for (int i = 0; p && i < n_golds && best < 1; i++) {
        char *g = env_qa_normalize(golds[i]);
        if (g && strcmp(p, g) == 0)
            best = 1;
        free(g);
    }
    free(p);
    return best;
}

/* Splits a normalised string (single spaces) into words in place. */
static int split_words(char *s, char ***words)
{
    int n = 0;
    for (char *c = s; *c; c++)
        n += *c == ' ';
    n = *s ? n + 1 : 0;
    *words = rlae_calloc((size_t)(n ? n : 1), sizeof **words);
    if (!*words)
        return -1;
    int k = 0;
    char *save = NULL;
    for (char *w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save))
        (*words)[k++] = w;
    return k;
}

static double f1_one(const char *pn, const char *gold)
{
    char *p = env_strdup(pn), *g = env_qa_normalize(gold);
    char **pw = NULL, **gw = NULL;
    double f1 = 0;
    int np = p ? split_words(p, &pw) : -1, ng = g ? split_words(g, &gw) : -1;
    if (np >= 0 && ng >= 0) {
        if (np == 0 || ng == 0) {
            f1 = np == ng;
        } else {
            /* Multiset overlap: each gold word can be matched once. */
            int same = 0;
            char *used = rlae_calloc((size_t)ng, 1);
            for (int i = 0; used && i < np; i++)
                for (int j = 0; j < ng; j++)
                    if (!used[j] && strcmp(pw[i], gw[j]) == 0) {
                        used[j] = 1;
                        same++;
                        break;
                    }
            free(used);
            if (same > 0) {
                double prec = (double)same / np, rec = (double)same / ng;
                f1 = 2 * prec * rec / (prec + rec);
            }
        }
    }
    free(pw);
    free(gw);
    free(p);
    free(g);
    return f1;
}

double env_qa_f1(const char *pred, const char *const *golds, int n_golds)
{
    char *p = env_qa_normalize(pred);
    double best = 0;
    for (int i = 0; p && i < n_golds; i++) {
        double f = f1_one(p, golds[i]);
        if (f > best)
            best = f;
    }
    free(p);
    return best;
}

/* ---- extraction, prompts, scores ---- */

static char *qa_extract(const env_task *t, const char *text)
{
    if (!text)
        return NULL;
    /* "Answer:" only counts at the start of the reply: later ones belong to questions a few-shot
     * model goes on to invent ("Paris\n\nQuestion: ...\nAnswer: Rome" answers Paris). */
    const char *a = env_stristr(text, "the answer is");
    const char *start = text;
    if (a) {
        start = a + strlen("the answer is");
    } else {
        while (*start == '\n' || *start == '\r' || *start == ' ' || *start == '\t')
            start++;
        if (strncasecmp(start, "answer:", 7) == 0)
            start += 7;
    }
    if (*start == ':') /* "The answer is: X" */
        start++;
    const char *end = strchr(start, '\n');
    env_buf buf = {0};
    env_buf_putn(&buf, start, end ? (size_t)(end - start) : strlen(start));
    char *s = env_buf_take(&buf);
    if (!s)
        return NULL;
    env_trim(s);
    size_t n = strlen(s);
    if (n && s[n - 1] == '.')
        s[--n] = '\0';
    env_trim(s);
    n = strlen(s);
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
        env_trim(s);
    }
    if (!*s) {
        free(s);
        return NULL;
    }
    return s;
}

static env_score qa_score(const env_task *t, const char *answer, const env_item *item)
{
    env_score s = {0, 0, 0, 0};
    if (!answer || !item->n_gold)
        return s;
    const char *const *g = (const char *const *)item->gold;
    s.em = env_qa_exact_match(answer, g, item->n_gold);
    s.f1 = env_qa_f1(answer, g, item->n_gold);
    s.reward = s.em;
    s.correct = s.em == 1.0;
    return s;
}

static char *qa_format(const env_task *t, const env_item *item, const env_item *const *shots, int n,
                       env_style style)
{
    env_buf b = {0};
    env_buf_puts(&b, "Answer these questions.\n\n");
    for (int i = 0; i < n; i++) {
        const char *q = shots[i]->question;
        size_t len = strlen(q);
        env_buf_printf(&b, "Question: %s%s\nAnswer: %s\n\n", q, len && q[len - 1] == '?' ? "" : "?",
                       shots[i]->n_gold ? shots[i]->gold[0] : "");
    }
    size_t len = strlen(item->question);
    /* NQ questions are lower-case search queries without a question mark; add one so they read
     * as questions, as the few-shot prompts of the GaC/DeePEn line of work do. */
    env_buf_printf(&b, "Question: %s%s\nAnswer:", item->question,
                   len && item->question[len - 1] == '?' ? "" : "?");
    return env_buf_take(&b);
}

static char *qa_gold_response(const env_task *t, const env_item *item)
{
    env_buf b = {0};
    /* On one line, as a model writes it: a few EfficientQA answers contain line breaks, which
     * extraction would cut at (whitespace is collapsed by normalisation, so EM is unchanged). */
    env_buf_puts(&b, "The answer is ");
    for (const char *s = item->n_gold ? item->gold[0] : ""; *s; s++)
        env_buf_putn(&b, *s == '\n' || *s == '\r' ? " " : s, 1);
    env_buf_puts(&b, ".");
    return env_buf_take(&b);
}

/* ---- NQ-open ---- */

static void nq_rel(const char *split, char *rel, size_t cap)
{
    if (!strncmp(split, "efficientqa_", 12))
        snprintf(rel, cap, "nq_open/NQ-open.efficientqa.%s.1.1.jsonl", split + 12);
    else
        snprintf(rel, cap, "nq_open/NQ-open.%s.jsonl", split);
}

static rlae_status nq_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                           env_items *out)
{
    char rel[128];
    nq_rel(split, rel, sizeof rel);
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
        const char *q;
        if ((s = env_json_str(&r, o, "question", &q)))
            break;
        json_t *ans = json_object_get(o, "answer");
        if (!json_is_array(ans) || json_array_size(ans) == 0) {
            s = env_lines_fail(&r, "field \"answer\" must be a non-empty array of strings");
            break;
        }
        size_t na = json_array_size(ans);
        const char **golds = rlae_calloc(na, sizeof *golds);
        env_item *it = golds ? env_items_push(out, t->name) : NULL;
        if (!it) {
            free(golds);
            s = RLAE_ERR_NOMEM;
            break;
        }
        for (size_t i = 0; i < na && s == RLAE_OK; i++) {
            golds[i] = json_string_value(json_array_get(ans, i));
            if (!golds[i])
                s = env_lines_fail(&r, "answer %zu is not a string", i);
        }
        if (s == RLAE_OK)
            s = env_item_set_gold(it, golds, (int)na);
        free(golds);
        it->question = env_strdup(q);
        if (s == RLAE_OK && !it->question)
            s = RLAE_ERR_NOMEM;
        if (s == RLAE_OK)
            s = env_item_default_id(it, split, out->n - 1);
        json_decref(o);
        o = NULL;
        if (s != RLAE_OK || (limit && out->n >= limit))
            break;
    }
    json_decref(o);
    env_lines_close(&r);
    return s;
}

static int nq_present(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap)
{
    char rel[128];
    nq_rel(split, rel, sizeof rel);
    return env_path_present(data_dir, rel, path, cap);
}

/* ---- TriviaQA ---- */

static rlae_status tqa_entry(const char *path, const char *split, size_t i, json_t *e, env_item *it)
{
    json_t *q = json_object_get(e, "Question"), *id = json_object_get(e, "QuestionId");
    json_t *a = json_object_get(e, "Answer");
    json_t *value = a ? json_object_get(a, "Value") : NULL;
    json_t *aliases = a ? json_object_get(a, "Aliases") : NULL, *norm = a ? json_object_get(a, "NormalizedAliases") : NULL;
    if (!json_is_string(q) || !json_is_object(a) || !json_is_string(value))
        return rlae_fail(RLAE_ERR_INPUT, "%s: Data[%zu]: needs string \"Question\" and \"Answer\": "
                                         "{\"Value\": string, ...}", path, i);
    if ((aliases && !json_is_array(aliases)) || (norm && !json_is_array(norm)))
        return rlae_fail(RLAE_ERR_INPUT, "%s: Data[%zu]: Answer.Aliases / NormalizedAliases must be arrays",
                         path, i);
    size_t na = 1 + json_array_size(aliases) + json_array_size(norm), k = 0;
    const char **golds = rlae_calloc(na, sizeof *golds);
    if (!golds)
        return RLAE_ERR_NOMEM;
    golds[k++] = json_string_value(value);
    json_t *lists[2] = {aliases, norm}, *v;
    size_t j;
    rlae_status s = RLAE_OK;
    for (int l = 0; l < 2; l++)
        json_array_foreach(lists[l], j, v) {
            if (!json_is_string(v) && s == RLAE_OK)
                s = rlae_fail(RLAE_ERR_INPUT, "%s: Data[%zu]: alias %zu is not a string", path, i, j);
            golds[k++] = json_string_value(v);
        }
    if (s == RLAE_OK)
        s = env_item_set_gold(it, golds, (int)k);
    free(golds);
    RLAE_TRY(s);
    it->question = env_strdup(json_string_value(q));
    if (json_is_string(id))
        it->id = env_strdup(json_string_value(id));
    else
        RLAE_TRY(env_item_default_id(it, split, i));
    return it->question && it->id ? RLAE_OK : RLAE_ERR_NOMEM;
}

static rlae_status tqa_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                            env_items *out)
{
    char rel[128];
    snprintf(rel, sizeof rel, "triviaqa/unfiltered-web-%s.json", split);
    char *path = env_path(data_dir, rel);
    if (!path)
        return RLAE_ERR_NOMEM;
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    rlae_status s = RLAE_OK;
    json_t *data = root ? json_object_get(root, "Data") : NULL;
    if (!root)
        s = rlae_fail(RLAE_ERR_INPUT, "%s:%d:%d: %s; expected TriviaQA's official JSON (tools/fetch-data.sh)",
                      path, err.line, err.column, err.text);
    else if (!json_is_array(data))
        s = rlae_fail(RLAE_ERR_INPUT, "%s: no \"Data\" array at the top level; expected TriviaQA's official "
                                      "JSON layout", path);
    size_t i;
    json_t *e;
    if (s == RLAE_OK)
        json_array_foreach(data, i, e) {
            env_item *it = env_items_push(out, t->name);
            if (!it) {
                s = RLAE_ERR_NOMEM;
                break;
            }
            if (!json_is_object(e)) {
                s = rlae_fail(RLAE_ERR_INPUT, "%s: Data[%zu] is not an object", path, i);
                break;
            }
            if ((s = tqa_entry(path, split, i, e, it)) != RLAE_OK || (limit && out->n >= limit))
                break;
        }
    json_decref(root);
    free(path);
    return s;
}

static int tqa_present(const env_task *t, const char *data_dir, const char *split, char *path, size_t cap)
{
    char rel[128];
    snprintf(rel, sizeof rel, "triviaqa/unfiltered-web-%s.json", split);
    return env_path_present(data_dir, rel, path, cap);
}

static const char *const nq_splits[] = {"train", "dev", "efficientqa_dev", "efficientqa_test", NULL};
static const char *const tqa_splits[] = {"train", "dev", NULL};

const env_task env_task_nq_open = {
    .name = "nq_open",
    .description = "Natural Questions (open): short answers, EM and F1 over the gold aliases",
    .kind = ENV_ANSWER_TEXT,
    .splits = nq_splits,
    .eval_split = "dev",
    .shot_split = "train",
    .default_shots = 0,
    .load = nq_load,
    .present = nq_present,
    .format = qa_format,
    .extract = qa_extract,
    .score = qa_score,
    .gold_response = qa_gold_response,
};

const env_task env_task_triviaqa = {
    .name = "triviaqa",
    .description = "TriviaQA (unfiltered, open-domain): EM and F1 over the answer aliases",
    .kind = ENV_ANSWER_TEXT,
    .splits = tqa_splits,
    .eval_split = "dev",
    .shot_split = "train",
    .default_shots = 0,
    .load = tqa_load,
    .present = tqa_present,
    .format = qa_format,
    .extract = qa_extract,
    .score = qa_score,
    .gold_response = qa_gold_response,
};
