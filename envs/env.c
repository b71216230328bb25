/* Task-independent parts of the environments: items and their memory, strings, hashing, few-shot
 * selection and the glue that turns (task, item, shot pool) into a prompt and text into a score.
 *
 * Few-shot selection is a pure function of (seed, item id, pool): no hidden RNG state, so the same
 * prompt comes out whichever batch, rank or order an item is evaluated in. */
#include "envs/env_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- strings ---- */

static void buf_reserve(env_buf *b, size_t extra)
{
    if (b->oom || b->n + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1)
        cap *= 2;
    char *s = rlae_realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void env_buf_putn(env_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

void env_buf_puts(env_buf *b, const char *s) { env_buf_putn(b, s, strlen(s)); }

void env_buf_printf(env_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_reserve(b, (size_t)n);
        if (!b->oom) {
            vsnprintf(b->s + b->n, (size_t)n + 1, fmt, ap2);
            b->n += (size_t)n;
        }
    }
    va_end(ap2);
}

char *env_buf_take(env_buf *b)
{
    char *s = b->oom ? NULL : b->s;
    if (b->oom)
        free(b->s);
    else if (!s)
        s = env_strdup("");
    memset(b, 0, sizeof *b);
    return s;
}

char *env_strdup(const char *s) { return s ? rlae_strdup(s) : NULL; }

char *env_trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    memmove(s, s + i, n - i);
    s[n - i] = '\0';
    return s;
}

const char *env_stristr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

char *env_path(const char *data_dir, const char *rel)
{
    env_buf b = {0};
    env_buf_printf(&b, "%s/%s", data_dir, rel);
    return env_buf_take(&b);
}

int env_path_present(const char *data_dir, const char *rel, char *path, size_t cap)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/%s", data_dir, rel);
    if (path && cap)
        snprintf(path, cap, "%s", tmp);
    FILE *f = fopen(tmp, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

/* ---- hashing ---- */

uint64_t env_mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t env_hash_str(uint64_t seed, const char *s)
{
    /* FNV-1a over the bytes, then the splitmix finaliser with the seed, so that similar strings
     * and different seeds give unrelated values. */
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return env_mix64(h ^ env_mix64(seed));
}

/* ---- items ---- */

void env_item_clear(env_item *it)
{
    free(it->id);
    free(it->subject);
    free(it->question);
    free(it->context);
    for (int i = 0; i < it->n_choices; i++)
        free(it->choices[i]);
    for (int i = 0; i < it->n_gold; i++)
        free(it->gold[i]);
    free(it->gold);
    free(it->rationale);
    memset(it, 0, sizeof *it);
}

void env_items_free(env_items *items)
{
    for (size_t i = 0; i < items->n; i++)
        env_item_clear(&items->v[i]);
    free(items->v);
    memset(items, 0, sizeof *items);
}

env_item *env_items_push(env_items *items, const char *task)
{
    if (items->n == items->cap) {
        size_t cap = items->cap ? items->cap * 2 : 64;
        env_item *v = rlae_realloc(items->v, cap * sizeof *v);
        if (!v)
            return NULL;
        items->v = v;
        items->cap = cap;
    }
    env_item *it = &items->v[items->n++];
    memset(it, 0, sizeof *it);
    it->task = task;
    it->gold_choice = -1;
    return it;
}

rlae_status env_item_set_gold(env_item *it, const char *const *golds, int n)
{
    it->gold = rlae_calloc((size_t)(n > 0 ? n : 1), sizeof *it->gold);
    if (!it->gold)
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        it->gold[i] = env_strdup(golds[i]);
        if (!it->gold[i])
            return RLAE_ERR_NOMEM;
        it->n_gold = i + 1;
    }
    return RLAE_OK;
}

rlae_status env_item_add_choice(env_item *it, const char *text, const char *label, const char *where)
{
    if (it->n_choices >= ENV_MAX_CHOICES)
        return rlae_fail(RLAE_ERR_INPUT, "%s: more than %d choices; rlae supports up to %d options",
                         where, ENV_MAX_CHOICES, ENV_MAX_CHOICES);
    char *t = env_strdup(text);
    if (!t)
        return RLAE_ERR_NOMEM;
    it->choices[it->n_choices] = t;
    snprintf(it->labels[it->n_choices], sizeof it->labels[0], "%s", label ? label : "");
    it->n_choices++;
    return RLAE_OK;
}

rlae_status env_item_default_id(env_item *it, const char *split, size_t index)
{
    env_buf b = {0};
    env_buf_printf(&b, "%s/%s/%zu", it->task, split, index);
    it->id = env_buf_take(&b);
    return it->id ? RLAE_OK : RLAE_ERR_NOMEM;
}

/* ---- loading, shots, prompts, scoring ---- */

rlae_status env_load(const env_task *t, const char *data_dir, const char *split, size_t limit,
                     env_items *out)
{
    int known = 0;
    for (const char *const *s = t->splits; *s; s++)
        known |= strcmp(*s, split) == 0;
    if (!known) {
        env_buf b = {0};
        for (const char *const *s = t->splits; *s; s++)
            env_buf_printf(&b, "%s%s", s == t->splits ? "" : ", ", *s);
        char *list = env_buf_take(&b);
        rlae_status st = rlae_fail(RLAE_ERR_INPUT, "task %s has no split '%s'; use one of: %s", t->name,
                                   split, list ? list : "?");
        free(list);
        return st;
    }
    rlae_status s = t->load(t, data_dir, split, limit, out);
    if (s != RLAE_OK) {
        env_items_free(out);
        return rlae_wrap(s, "loading task %s split %s: ", t->name, split);
    }
    return RLAE_OK;
}

static int same_item(const env_item *a, const env_item *b)
{
    if (a == b)
        return 1;
    if (a->id && b->id && strcmp(a->id, b->id) == 0)
        return 1;
    return a->question && b->question && strcmp(a->question, b->question) == 0;
}

int env_select_shots(const env_task *t, const env_items *pool, const env_item *item, int k,
                     uint64_t seed, int per_item, const env_item **out)
{
    if (!pool || k <= 0)
        return 0;
    int n = 0;
    if (t->shots_same_subject) {
        for (size_t i = 0; i < pool->n && n < k; i++) {
            const env_item *p = &pool->v[i];
            int same = (!p->subject && !item->subject) ||
                       (p->subject && item->subject && strcmp(p->subject, item->subject) == 0);
            if (same && !same_item(p, item))
                out[n++] = p;
        }
        return n;
    }
    /* A seeded walk over the pool: draw j of the key picks index h(key, j) mod size; repeats and
     * the item itself are skipped. Bounded so a pool of duplicates cannot loop forever. */
    uint64_t key = env_mix64(seed ^ 0x5407A1u) ^ (per_item && item->id ? env_hash_str(seed, item->id) : 0);
    for (uint64_t j = 0; n < k && j < (uint64_t)k * 64 + pool->n; j++) {
        const env_item *p = &pool->v[env_mix64(key + j) % pool->n];
        int dup = same_item(p, item);
        for (int m = 0; m < n && !dup; m++)
            dup = out[m] == p;
        if (!dup)
            out[n++] = p;
    }
    return n;
}

char *env_prompt(const env_task *t, const env_item *item, const env_items *pool,
                 const env_format_opts *opts)
{
    int k = opts->n_shots < 0 ? t->default_shots : opts->n_shots;
    const env_item **shots = NULL;
    int n = 0;
    if (k > 0 && pool && pool->n > 0) {
        shots = rlae_calloc((size_t)k, sizeof *shots);
        if (!shots)
            return NULL;
        n = env_select_shots(t, pool, item, k, opts->seed, opts->per_item_shots, shots);
    }
    char *p = t->format(t, item, shots, n, opts->style);
    free(shots);
    return p;
}

env_score env_score_text(const env_task *t, const char *text, const env_item *item)
{
    char *ans = t->extract(t, text ? text : "");
    env_score s = t->score(t, ans, item);
    free(ans);
    return s;
}
