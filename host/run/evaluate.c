/* One method on one task: load items, answer them by generation through the rollout or by option
 * log-likelihoods through the members' forward, score, summarise (evaluate.h). */
#include "run/evaluate.h"

#include "core/timer.h"
#include "envs/metrics.h"
#include "model/forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rlae_eval_options rlae_eval_options_from_config(const rlae_config *cfg)
{
    const rlae_task_config *t = &cfg->task;
    const char *dir = t->data_dir && t->data_dir[0] ? t->data_dir : getenv("RLAE_DATA_DIR");
    return (rlae_eval_options){.data_dir = dir && dir[0] ? dir : NULL,
                               .split = t->eval_split,
                               .limit = t->limit > 0 ? (size_t)t->limit : 0,
                               .shots = t->shots,
                               .seed = (uint64_t)cfg->run.seed,
                               .mc_scoring = t->mc_scoring,
                               .resamples = 1000,
                               .reserve_tokens = cfg->ensemble.max_new_tokens};
}

void rlae_eval_score_texts(const env_task *t, const env_items *items, const char *const *texts, double *correct,
                           double *f1)
{
    for (size_t i = 0; i < items->n; i++) {
        env_score s = env_score_text(t, texts[i] ? texts[i] : "", &items->v[i]);
        correct[i] = s.em;
        if (f1)
            f1[i] = s.f1;
    }
}

rlae_status rlae_eval_summarise(const env_task *t, const char *method, const char *split, const char *scoring,
                                const double *correct, const double *f1, size_t n, uint64_t seed, int resamples,
                                rlae_eval_result *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->task, sizeof out->task, "%s", t->name);
    snprintf(out->method, sizeof out->method, "%s", method);
    snprintf(out->split, sizeof out->split, "%s", split);
    snprintf(out->scoring, sizeof out->scoring, "%s", scoring);
    env_ci ci;
    RLAE_TRY(env_bootstrap_ci(correct, n, resamples > 0 ? resamples : 1000, 0.95, seed, &ci));
    out->n = n;
    out->accuracy = ci.mean;
    out->ci_low = ci.lo;
    out->ci_high = ci.hi;
    out->has_f1 = t->kind == ENV_ANSWER_TEXT && f1;
    out->f1 = out->has_f1 ? env_mean(f1, n) : 0.0;
    return RLAE_OK;
}

/* ---- what evaluation needs of the data: items, the shot pool, the prompts ---- */

typedef struct {
    env_items items, pool;
    char **prompts; /* [items.n] */
    const char *split;
    int borrowed; /* items and pool belong to the caller (rlae_eval_options.items) */
} eval_data;

static void eval_data_free(eval_data *d)
{
    for (size_t i = 0; d->prompts && i < d->items.n; i++)
        free(d->prompts[i]);
    free(d->prompts);
    if (!d->borrowed) {
        env_items_free(&d->items);
        env_items_free(&d->pool);
    }
}

static rlae_status eval_data_load(const env_task *t, const rlae_eval_options *o, env_style style, eval_data *d)
{
    memset(d, 0, sizeof *d);
    d->split = o->split && o->split[0] ? o->split : t->eval_split;
    const char *dir = o->data_dir ? o->data_dir : "";
    int k = o->shots < 0 ? t->default_shots : o->shots;
    rlae_status s = RLAE_OK;
    if (o->items) {
        d->borrowed = 1;
        d->items = *o->items;
        if (o->pool)
            d->pool = *o->pool;
        if (o->items_split)
            d->split = o->items_split;
        if (o->limit && o->limit < d->items.n)
            d->items.n = o->limit;
    } else {
        if (!dir[0] && t->kind != ENV_ANSWER_EXACT) /* only the synthetic tasks are generated, not read */
            return rlae_fail(RLAE_ERR_INPUT, "task %s: no data directory; set task.data_dir=PATH or the "
                             "RLAE_DATA_DIR environment variable (fetch the data with tools/fetch-data.sh)", t->name);
        RLAE_TRY(env_load(t, dir, d->split, o->limit, &d->items));
    }
    if (t->kind == ENV_ANSWER_CHOICE)
        for (size_t i = 0; i < d->items.n && s == RLAE_OK; i++)
            if (d->items.v[i].gold_choice < 0)
                s = rlae_fail(RLAE_ERR_INPUT, "task %s split %s: item %s has no gold answer (an unlabelled split); "
                              "evaluate on the %s split", t->name, d->split, d->items.v[i].id, t->eval_split);
    if (s == RLAE_OK && !d->borrowed && k > 0 && t->shot_split &&
        (s = env_load(t, dir, t->shot_split, 0, &d->pool)) != RLAE_OK)
        s = rlae_wrap(s, "few-shot examples (task.shots=%d; 0 needs none): ", k);
    env_format_opts fo = {.n_shots = k, .seed = o->seed, .per_item_shots = 0, .style = style};
    if (s == RLAE_OK && !(d->prompts = rlae_calloc(d->items.n ? d->items.n : 1, sizeof *d->prompts)))
        s = RLAE_ERR_NOMEM;
    for (size_t i = 0; i < d->items.n && s == RLAE_OK; i++)
        if (!(d->prompts[i] = env_prompt(t, &d->items.v[i], &d->pool, &fo)))
            s = RLAE_ERR_NOMEM;
    if (s != RLAE_OK)
        eval_data_free(d);
    return s;
}

/* Error for a prompt that does not fit: names the item, the member and the fix. */
static rlae_status too_long(const env_task *t, const env_item *it, const rlae_member *m, size_t need, int shots)
{
    return rlae_fail(RLAE_ERR_INPUT, "task %s item %s needs %zu tokens for member '%s', whose context holds %d; "
                     "use fewer few-shot examples (task.shots=%d now%s), members with longer contexts, or cut "
                     "prompts from the left (rlae eval --truncate-left)", t->name, it->id, need, m->name,
                     m->cache.capacity, shots, shots < 0 ? ", the task's default" : "");
}

static rlae_status prompt_tokens(const rlae_member *m, const char *system, const char *text, size_t *n)
{
    int32_t *ids;
    RLAE_TRY(rlae_member_encode_prompt(m, system, text, &ids, n));
    free(ids);
    return RLAE_OK;
}

/* With o->truncate_left, drops the fewest leading characters of `prompt` (in place) so that member k's
 * prompt tokens plus reserve[k] fit its context, for every k; *cut says whether anything was dropped.
 * Without it, or when even an empty prompt does not fit, the item is an error. */
static rlae_status fit_prompt(rlae_ensemble *e, const env_task *t, const rlae_eval_options *o, const env_item *it,
                              char *prompt, const size_t *reserve, int *cut)
{
    size_t len = strlen(prompt), off = 0;
    *cut = 0;
    for (int k = 0; k < e->n_members; k++) {
        const rlae_member *m = &e->members[k];
        size_t n, cap = (size_t)m->cache.capacity;
        RLAE_TRY(prompt_tokens(m, o->system, prompt + off, &n));
        if (n + reserve[k] <= cap)
            continue;
        if (!o->truncate_left)
            return too_long(t, it, m, n + reserve[k], o->shots);
        /* Smallest offset (at a UTF-8 character start) that fits; token counts fall as bytes go. */
        size_t lo = off, hi = len;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            while (mid < hi && ((unsigned char)prompt[mid] & 0xC0) == 0x80)
                mid++;
            RLAE_TRY(prompt_tokens(m, o->system, prompt + mid, &n));
            if (n + reserve[k] <= cap)
                hi = mid;
            else
                lo = mid + 1;
        }
        RLAE_TRY(prompt_tokens(m, o->system, prompt + hi, &n));
        if (n + reserve[k] > cap)
            return too_long(t, it, m, n + reserve[k], o->shots);
        off = hi;
        k = -1; /* check every member again on the shorter text */
    }
    if (off > 0) {
        memmove(prompt, prompt + off, len - off + 1);
        *cut = 1;
    }
    return RLAE_OK;
}

/* ---- generate ---- */

static rlae_status eval_generate(rlae_ensemble *e, const env_task *t, const rlae_eval_options *o,
                                 rlae_weight_policy *pol, eval_data *d, double *correct, double *f1, long *unspelled,
                                 size_t *truncated, int64_t *tokens, double *seconds)
{
    size_t n = d->items.n;
    int B = e->max_batch;
    /* Every prompt must leave room for at least one generated token in every member; when cutting,
     * for the whole answer (at most half the context). */
    for (size_t i = 0; i < n; i++) {
        size_t reserve[RLAE_MAX_MEMBERS];
        for (int k = 0; k < e->n_members; k++) {
            int half = e->members[k].cache.capacity / 2;
            reserve[k] = o->truncate_left ? (size_t)(o->reserve_tokens < half ? o->reserve_tokens : half) : 1;
        }
        int cut;
        RLAE_TRY(fit_prompt(e, t, o, &d->items.v[i], d->prompts[i], reserve, &cut));
        *truncated += (size_t)cut;
    }
    char **texts = rlae_calloc(n ? n : 1, sizeof *texts);
    rlae_episode *ep = rlae_calloc((size_t)B, sizeof *ep);
    rlae_rollout_request *req = rlae_calloc((size_t)B, sizeof *req);
    rlae_status s = texts && ep && req ? RLAE_OK : RLAE_ERR_NOMEM;
    for (size_t i0 = 0; i0 < n && s == RLAE_OK; i0 += (size_t)B) {
        int nb = n - i0 < (size_t)B ? (int)(n - i0) : B;
        for (int b = 0; b < nb; b++)
            req[b] = (rlae_rollout_request){.system = o->system, .user = d->prompts[i0 + b],
                                            .episode = (uint32_t)(i0 + b)};
        double t0 = rlae_time_now();
        s = rlae_rollout_run(e->ro, req, nb, pol, ep);
        *seconds += rlae_time_now() - t0;
        for (int b = 0; b < nb && s == RLAE_OK; b++) {
            *tokens += ep[b].n_tokens;
            for (int k = 0; k < e->n_members; k++)
                *unspelled += ep[b].n_unspelled[k];
            texts[i0 + b] = ep[b].text; /* taken over */
            ep[b].text = NULL;
        }
        for (int b = 0; b < nb; b++)
            rlae_episode_free(&ep[b]);
    }
    if (s == RLAE_OK)
        rlae_eval_score_texts(t, &d->items, (const char *const *)texts, correct, f1);
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    free(ep);
    free(req);
    return s;
}

/* ---- log-likelihood ---- */

enum { LL_BATCH = 64 }; /* most items per forward call */

/* One option of an item as every member sees it. */
typedef struct {
    int n_bytes;
    int32_t *cont[RLAE_MAX_MEMBERS];
    size_t n_cont[RLAE_MAX_MEMBERS];
    double loglik[RLAE_MAX_MEMBERS]; /* log P_k(option | context) */
} ll_option;

/* One item: its context per member, its options, the policy's weights for it. */
typedef struct {
    size_t item;
    int n_options;
    int32_t *ctx[RLAE_MAX_MEMBERS];
    size_t n_ctx[RLAE_MAX_MEMBERS];
    float w[RLAE_MAX_MEMBERS];
    ll_option opt[ENV_MAX_CHOICES];
} ll_item;

static void ll_items_free(ll_item *it, size_t n)
{
    for (size_t i = 0; it && i < n; i++)
        for (int k = 0; k < RLAE_MAX_MEMBERS; k++) {
            free(it[i].ctx[k]);
            for (int j = 0; j < ENV_MAX_CHOICES; j++)
                free(it[i].opt[j].cont[k]);
        }
    free(it);
}

/* log-softmax of `target` in a row of logits; entropy (nats) and top-1 probability when asked. */
static double row_logprob(const float *row, int V, int target, float *entropy, float *top1)
{
    float mx = row[0];
    for (int v = 1; v < V; v++)
        mx = row[v] > mx ? row[v] : mx;
    double z = 0.0, ez = 0.0;
    for (int v = 0; v < V; v++) {
        double p = exp((double)row[v] - mx);
        z += p;
        ez += p * ((double)row[v] - mx);
    }
    double lz = log(z);
    if (entropy)
        *entropy = (float)(lz - ez / z);
    if (top1)
        *top1 = (float)(1.0 / z);
    return (double)row[target] - mx - lz;
}

/* The first `rows` rows of a device output into host memory. */
static rlae_status download_rows(float *host, const rlae_tensor *d, int64_t rows)
{
    int64_t shape[2] = {rows, d->shape[1]};
    rlae_tensor src = rlae_tensor_view(d->data, RLAE_F32, d->device, 2, shape);
    rlae_tensor dst = rlae_tensor_view(host, RLAE_F32, RLAE_DEV_CPU, 2, shape);
    return rlae_op_copy(&dst, &src);
}

/* Member k's log-likelihoods for items it[0..nb-1] in cache slots 0..nb-1. The contexts go in one
 * forward call (the state the policy sees, and the first option token's probability); then, option
 * by option, each slot is cut back to its context and the option's remaining tokens are appended
 * with logits after every token. A context is thus computed once, not once per option. */
static rlae_status ll_member(rlae_member *m, int k, ll_item *it, int nb, float *hidden, float *entropy, float *top1,
                             int K)
{
    int V = m->w.cfg.vocab_size;
    int slots[LL_BATCH], n_new[LL_BATCH], max_opt = 0;
    size_t tot_ctx = 0, tot_rest = 1;
    for (int b = 0; b < nb; b++) {
        tot_ctx += it[b].n_ctx[k];
        max_opt = it[b].n_options > max_opt ? it[b].n_options : max_opt;
        size_t longest = 0;
        for (int j = 0; j < it[b].n_options; j++)
            longest = it[b].opt[j].n_cont[k] > longest ? it[b].opt[j].n_cont[k] : longest;
        tot_rest += longest;
    }
    int32_t *tok = rlae_malloc((tot_ctx > tot_rest ? tot_ctx : tot_rest) * sizeof *tok);
    float *logits = rlae_malloc((size_t)nb * V * sizeof *logits);
    float *all = rlae_malloc(tot_rest * (size_t)V * sizeof *all);
    rlae_status s = tok && logits && all ? RLAE_OK : RLAE_ERR_NOMEM;
    /* A member on a GPU writes its outputs to device buffers, copied back after each forward. */
    rlae_device dev = m->model.device;
    rlae_tensor d_logits = {0}, d_all = {0}, d_hidden = {0};
    if (s == RLAE_OK && dev != RLAE_DEV_CPU) {
        s = rlae_ops_tensor_alloc(&d_logits, RLAE_F32, dev, 2, (int64_t[]){nb, V});
        if (s == RLAE_OK)
            s = rlae_ops_tensor_alloc(&d_all, RLAE_F32, dev, 2, (int64_t[]){(int64_t)tot_rest, V});
        if (s == RLAE_OK && hidden)
            s = rlae_ops_tensor_alloc(&d_hidden, RLAE_F32, dev, 2, (int64_t[]){nb, m->w.cfg.dim});
    }
    float *out_logits = dev != RLAE_DEV_CPU ? d_logits.data : logits;
    float *out_all = dev != RLAE_DEV_CPU ? d_all.data : all;
    float *out_hidden = dev != RLAE_DEV_CPU && hidden ? d_hidden.data : hidden;
    size_t at = 0;
    for (int b = 0; b < nb && s == RLAE_OK; b++) {
        s = rlae_kv_cache_reset(&m->cache, b);
        slots[b] = b;
        n_new[b] = (int)it[b].n_ctx[k];
        memcpy(tok + at, it[b].ctx[k], it[b].n_ctx[k] * sizeof *tok);
        at += it[b].n_ctx[k];
    }
    if (s == RLAE_OK)
        s = rlae_forward(&m->model, &m->cache, nb, slots, n_new, tok, out_logits, out_hidden);
    if (s == RLAE_OK && dev != RLAE_DEV_CPU)
        s = download_rows(logits, &d_logits, nb);
    if (s == RLAE_OK && dev != RLAE_DEV_CPU && hidden)
        s = download_rows(hidden, &d_hidden, nb);
    for (int b = 0; b < nb && s == RLAE_OK; b++)
        (void)row_logprob(logits + (size_t)b * V, V, 0, &entropy[b * K + k], &top1[b * K + k]);
    for (int j = 0; j < max_opt && s == RLAE_OK; j++) {
        int n_seq = 0;
        at = 0;
        for (int b = 0; b < nb && s == RLAE_OK; b++) {
            if (j >= it[b].n_options)
                continue;
            ll_option *o = &it[b].opt[j];
            o->loglik[k] = row_logprob(logits + (size_t)b * V, V, o->cont[k][0], NULL, NULL);
            if (o->n_cont[k] > 1 && (s = rlae_kv_cache_truncate(&m->cache, b, (int)it[b].n_ctx[k])) == RLAE_OK) {
                slots[n_seq] = b;
                n_new[n_seq++] = (int)o->n_cont[k] - 1;
                memcpy(tok + at, o->cont[k], (o->n_cont[k] - 1) * sizeof *tok);
                at += o->n_cont[k] - 1;
            }
        }
        if (s == RLAE_OK && n_seq > 0)
            s = rlae_forward_all(&m->model, &m->cache, n_seq, slots, n_new, tok, out_all, NULL, NULL);
        if (s == RLAE_OK && n_seq > 0 && dev != RLAE_DEV_CPU)
            s = download_rows(all, &d_all, (int64_t)at);
        size_t row = 0;
        for (int q = 0; q < n_seq && s == RLAE_OK; q++) {
            ll_option *o = &it[slots[q]].opt[j];
            for (size_t i = 1; i < o->n_cont[k]; i++, row++)
                o->loglik[k] += row_logprob(all + row * V, V, o->cont[k][i], NULL, NULL);
        }
    }
    rlae_ops_tensor_free(&d_logits);
    rlae_ops_tensor_free(&d_all);
    rlae_ops_tensor_free(&d_hidden);
    free(tok);
    free(logits);
    free(all);
    return s;
}

/* The policy's weights at the end of each item's context (span 0), normalised; a gate acts once. */
static rlae_status ll_weights(rlae_ensemble *e, rlae_weight_policy *pol, ll_item *it, int nb, float *const *hidden,
                              const float *entropy, const float *top1)
{
    int K = e->n_members;
    int seq[LL_BATCH], zero[LL_BATCH], hidden_dim[RLAE_MAX_MEMBERS];
    uint32_t episode[LL_BATCH];
    float zf[LL_BATCH * RLAE_MAX_MEMBERS] = {0}, w[LL_BATCH * RLAE_MAX_MEMBERS];
    const float *hid[RLAE_MAX_MEMBERS];
    for (int k = 0; k < K; k++) {
        hidden_dim[k] = e->members[k].w.cfg.dim;
        hid[k] = hidden[k];
    }
    for (int b = 0; b < nb; b++) {
        seq[b] = b;
        zero[b] = 0;
        episode[b] = (uint32_t)it[b].item;
    }
    rlae_span_state st = {.n = nb, .n_members = K, .seq = seq, .episode = episode, .span_index = zero,
                          .generated = zero, .max_new_tokens = 1, .hidden = hid, .hidden_dim = hidden_dim,
                          .entropy = entropy, .top1 = top1, .span_logprob = zf, .span_agree = zf};
    RLAE_TRY(pol->decide(pol, &st, w));
    for (int b = 0; b < nb; b++) {
        int g = pol->mix_gate_member;
        if (g >= 0 && g < K)
            for (int k = 0; k < K; k++)
                w[b * K + k] = top1[b * K + g] >= pol->mix_gate_threshold ? (float)(k == g) : 1.0f;
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += w[b * K + k] > 0 ? w[b * K + k] : 0;
        if (!(sum > 0))
            return rlae_fail(RLAE_ERR_RUNTIME, "weight policy '%s' gave item %zu all-zero weights", pol->name,
                             it[b].item);
        for (int k = 0; k < K; k++)
            it[b].w[k] = w[b * K + k] > 0 ? (float)(w[b * K + k] / sum) : 0.0f;
    }
    return RLAE_OK;
}

/* Spells every option for every member, fits the context to the longest option (fit_prompt), then
 * encodes the context once per member. */
static rlae_status ll_encode(rlae_ensemble *e, const env_task *t, const rlae_eval_options *o, eval_data *d,
                             ll_item *items, long *unspelled, size_t *truncated)
{
    for (size_t i = 0; i < d->items.n; i++) {
        const env_item *it = &d->items.v[i];
        ll_item *li = &items[i];
        size_t reserve[RLAE_MAX_MEMBERS] = {0};
        li->item = i;
        li->n_options = it->n_choices;
        for (int j = 0; j < it->n_choices; j++) {
            ll_option *op = &li->opt[j];
            char buf[4096];
            const char *cont = env_mc_continuation(it, j, buf, sizeof buf);
            op->n_bytes = (int)strlen(cont);
            for (int k = 0; k < e->n_members; k++) {
                size_t unsp = 0;
                RLAE_TRY(rlae_tokenizer_spell(e->members[k].tok, cont, strlen(cont), &op->cont[k], &op->n_cont[k],
                                              &unsp));
                *unspelled += (long)unsp;
                if (op->n_cont[k] == 0)
                    return rlae_fail(RLAE_ERR_INPUT, "task %s item %s: option %d is empty for member '%s'", t->name,
                                     it->id, j, e->members[k].name);
                reserve[k] = op->n_cont[k] > reserve[k] ? op->n_cont[k] : reserve[k];
            }
        }
        int cut;
        RLAE_TRY(fit_prompt(e, t, o, it, d->prompts[i], reserve, &cut));
        *truncated += (size_t)cut;
        for (int k = 0; k < e->n_members; k++)
            RLAE_TRY(rlae_member_encode_prompt(&e->members[k], o->system, d->prompts[i], &li->ctx[k], &li->n_ctx[k]));
    }
    return RLAE_OK;
}

/* log sum_k w_k exp(loglik_k) over the members with a positive weight. */
static double mixture_loglik(const float *w, const double *loglik, int K)
{
    double mx = -INFINITY, sum = 0.0;
    for (int k = 0; k < K; k++)
        if (w[k] > 0)
            mx = fmax(mx, log(w[k]) + loglik[k]);
    if (!isfinite(mx))
        return -INFINITY;
    for (int k = 0; k < K; k++)
        if (w[k] > 0)
            sum += exp(log(w[k]) + loglik[k] - mx);
    return mx + log(sum);
}

static rlae_status eval_loglik(rlae_ensemble *e, const env_task *t, const rlae_eval_options *o,
                               rlae_weight_policy *pol, eval_data *d, double *correct, long *unspelled,
                               size_t *truncated, double *seconds)
{
    int K = e->n_members;
    int B = e->max_batch < LL_BATCH ? e->max_batch : LL_BATCH;
    size_t n = d->items.n;
    ll_item *items = rlae_calloc(n ? n : 1, sizeof *items);
    float *hidden[RLAE_MAX_MEMBERS] = {0};
    float entropy[LL_BATCH * RLAE_MAX_MEMBERS], top1[LL_BATCH * RLAE_MAX_MEMBERS];
    rlae_status s = items ? RLAE_OK : RLAE_ERR_NOMEM;
    for (int k = 0; k < K && s == RLAE_OK; k++)
        if (!(hidden[k] = rlae_malloc((size_t)B * e->members[k].w.cfg.dim * sizeof(float))))
            s = RLAE_ERR_NOMEM;
    if (s == RLAE_OK)
        s = ll_encode(e, t, o, d, items, unspelled, truncated);
    double t0 = rlae_time_now();
    for (size_t i0 = 0; i0 < n && s == RLAE_OK; i0 += (size_t)B) {
        int nb = n - i0 < (size_t)B ? (int)(n - i0) : B;
        for (int k = 0; k < K && s == RLAE_OK; k++)
            s = ll_member(&e->members[k], k, items + i0, nb, hidden[k], entropy, top1, K);
        if (s == RLAE_OK)
            s = ll_weights(e, pol, items + i0, nb, hidden, entropy, top1);
    }
    *seconds = rlae_time_now() - t0;
    for (size_t i = 0; i < n && s == RLAE_OK; i++) {
        const ll_item *li = &items[i];
        double ll[ENV_MAX_CHOICES];
        int nbytes[ENV_MAX_CHOICES];
        for (int j = 0; j < li->n_options; j++) {
            ll[j] = mixture_loglik(li->w, li->opt[j].loglik, K);
            nbytes[j] = li->opt[j].n_bytes;
        }
        /* The per-token pick is not used (members tokenize differently): bytes stand in for tokens. */
        env_mc_pick pick = env_mc_pick_loglik(ll, nbytes, nbytes, li->n_options);
        int chosen = o->mc_scoring == RLAE_MC_LOGLIK_NORM ? pick.per_byte : pick.raw;
        correct[i] = chosen == d->items.v[i].gold_choice;
    }
    for (int k = 0; k < K; k++)
        free(hidden[k]);
    ll_items_free(items, n);
    return s;
}

/* Per-subject accuracy with its bootstrap interval (items sorted by subject, stable). */
static const env_items *sort_items;
static int by_subject(const void *a, const void *b)
{
    const env_item *x = &sort_items->v[*(const size_t *)a], *y = &sort_items->v[*(const size_t *)b];
    int c = strcmp(x->subject ? x->subject : "", y->subject ? y->subject : "");
    return c ? c : (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static rlae_status group_by_subject(const env_items *items, const double *correct, const rlae_eval_options *o,
                                    rlae_eval_result *out)
{
    size_t n = items->n;
    int any = 0;
    for (size_t i = 0; i < n && !any; i++)
        any = items->v[i].subject != NULL;
    if (!any)
        return RLAE_OK;
    size_t *idx = rlae_malloc(sizeof *idx * n);
    double *vals = rlae_malloc(sizeof *vals * n);
    rlae_status s = idx && vals ? RLAE_OK : RLAE_ERR_NOMEM;
    for (size_t i = 0; i < n && s == RLAE_OK; i++)
        idx[i] = i;
    if (s == RLAE_OK) {
        sort_items = items; /* qsort has no context argument; evaluation is single-threaded */
        qsort(idx, n, sizeof *idx, by_subject);
    }
    double macro = 0;
    int groups = 0;
    for (size_t a = 0; a < n && s == RLAE_OK;) {
        const char *sub = items->v[idx[a]].subject ? items->v[idx[a]].subject : "";
        size_t b = a;
        while (b < n && strcmp(items->v[idx[b]].subject ? items->v[idx[b]].subject : "", sub) == 0) {
            vals[b - a] = correct[idx[b]];
            b++;
        }
        env_ci ci;
        s = env_bootstrap_ci(vals, b - a, o->resamples > 0 ? o->resamples : 1000, 0.95, o->seed, &ci);
        if (s == RLAE_OK) {
            macro += ci.mean;
            groups++;
            if (out->n_groups < RLAE_EVAL_MAX_GROUPS) {
                rlae_eval_group *g = &out->groups[out->n_groups++];
                snprintf(g->name, sizeof g->name, "%s", sub);
                g->n = b - a;
                g->accuracy = ci.mean;
                g->ci_low = ci.lo;
                g->ci_high = ci.hi;
            } else {
                out->groups_truncated = 1;
            }
        }
        a = b;
    }
    if (s == RLAE_OK && groups)
        out->macro_accuracy = macro / (double)groups; /* over every subject, listed or not */
    free(idx);
    free(vals);
    return s;
}

rlae_status rlae_evaluate(rlae_ensemble *e, const env_task *t, const rlae_eval_options *opt,
                          rlae_weight_policy *policy, const char *method, rlae_eval_result *out)
{
    int loglik = t->kind == ENV_ANSWER_CHOICE && opt->mc_scoring != RLAE_MC_GENERATE;
    eval_data d;
    RLAE_TRY(eval_data_load(t, opt, loglik ? ENV_STYLE_LOGLIK : ENV_STYLE_GENERATE, &d));
    size_t n = d.items.n;
    double *correct = rlae_calloc(n ? n : 1, sizeof *correct), *f1 = rlae_calloc(n ? n : 1, sizeof *f1);
    long unspelled = 0;
    size_t truncated = 0;
    int64_t tokens = 0;
    double seconds = 0;
    rlae_status s = correct && f1 ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK)
        s = loglik ? eval_loglik(e, t, opt, policy, &d, correct, &unspelled, &truncated, &seconds)
                   : eval_generate(e, t, opt, policy, &d, correct, f1, &unspelled, &truncated, &tokens, &seconds);
    const char *scoring = !loglik ? "generate" : opt->mc_scoring == RLAE_MC_LOGLIK_NORM ? "loglik_norm" : "loglik";
    if (s == RLAE_OK)
        s = rlae_eval_summarise(t, method, d.split, scoring, correct, f1, n, opt->seed, opt->resamples, out);
    if (s == RLAE_OK) {
        out->n_unspelled = unspelled;
        out->n_truncated = truncated;
        out->tokens = tokens;
        out->gen_seconds = seconds;
        s = group_by_subject(&d.items, correct, opt, out);
    }
    else
        s = rlae_wrap(s, "evaluating %s on %s: ", method, t->name);
    free(correct);
    free(f1);
    eval_data_free(&d);
    return s;
}
