/* One method on one task: load items, answer them by generation through the rollout or by option
 * log-likelihoods through the members' forward, score, summarise (evaluate.h). */
#include "run/evaluate.h"

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
                               .resamples = 1000};
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
} eval_data;

static void eval_data_free(eval_data *d)
{
    for (size_t i = 0; d->prompts && i < d->items.n; i++)
        free(d->prompts[i]);
    free(d->prompts);
    env_items_free(&d->items);
    env_items_free(&d->pool);
}

static rlae_status eval_data_load(const env_task *t, const rlae_eval_options *o, env_style style, eval_data *d)
{
    memset(d, 0, sizeof *d);
    d->split = o->split && o->split[0] ? o->split : t->eval_split;
    const char *dir = o->data_dir ? o->data_dir : "";
    if (!dir[0] && t->kind != ENV_ANSWER_EXACT) /* only the synthetic tasks are generated, not read */
        return rlae_fail(RLAE_ERR_INPUT, "task %s: no data directory; set task.data_dir=PATH or the RLAE_DATA_DIR "
                         "environment variable (fetch the data with tools/fetch-data.sh)", t->name);
    RLAE_TRY(env_load(t, dir, d->split, o->limit, &d->items));
    rlae_status s = RLAE_OK;
    if (t->kind == ENV_ANSWER_CHOICE)
        for (size_t i = 0; i < d->items.n && s == RLAE_OK; i++)
            if (d->items.v[i].gold_choice < 0)
                s = rlae_fail(RLAE_ERR_INPUT, "task %s split %s: item %s has no gold answer (an unlabelled split); "
                              "evaluate on the %s split", t->name, d->split, d->items.v[i].id, t->eval_split);
    int k = o->shots < 0 ? t->default_shots : o->shots;
    if (s == RLAE_OK && k > 0 && t->shot_split && (s = env_load(t, dir, t->shot_split, 0, &d->pool)) != RLAE_OK)
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
                     "use fewer few-shot examples (task.shots=%d now%s), a shorter split, or members with longer "
                     "contexts", t->name, it->id, need, m->name, m->cache.capacity, shots,
                     shots < 0 ? ", the task's default" : "");
}

/* ---- generate ---- */

static rlae_status eval_generate(rlae_ensemble *e, const env_task *t, const rlae_eval_options *o,
                                 rlae_weight_policy *pol, eval_data *d, double *correct, double *f1, long *unspelled)
{
    size_t n = d->items.n;
    int B = e->max_batch;
    /* Every prompt must leave room for at least one generated token in every member. */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < e->n_members; k++) {
            int32_t *ids;
            size_t n_ids;
            RLAE_TRY(rlae_member_encode_prompt(&e->members[k], o->system, d->prompts[i], &ids, &n_ids));
            free(ids);
            if ((long)n_ids >= e->members[k].cache.capacity)
                return too_long(t, &d->items.v[i], &e->members[k], n_ids + 1, o->shots);
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
        s = rlae_rollout_run(e->ro, req, nb, pol, ep);
        for (int b = 0; b < nb && s == RLAE_OK; b++) {
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

enum { LL_BATCH = 64 }; /* most (item, option) pairs per forward call */

/* One (item, option) pair as member k sees it. */
typedef struct {
    size_t item;
    int option;
    int n_bytes;
    int32_t *ctx[RLAE_MAX_MEMBERS], *cont[RLAE_MAX_MEMBERS];
    size_t n_ctx[RLAE_MAX_MEMBERS], n_cont[RLAE_MAX_MEMBERS];
    double loglik[RLAE_MAX_MEMBERS]; /* log P_k(option | context) */
    float w[RLAE_MAX_MEMBERS];
} ll_pair;

static void ll_pairs_free(ll_pair *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        for (int k = 0; k < RLAE_MAX_MEMBERS; k++) {
            free(p[i].ctx[k]);
            free(p[i].cont[k]);
        }
    free(p);
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

/* Member k's log-likelihoods for pairs p[0..nb-1] (slots 0..nb-1): the contexts in one forward call
 * (giving the state the policy sees and the first option token's probability), then the options'
 * remaining tokens in a second with logits after every token. */
static rlae_status ll_member(rlae_member *m, int k, ll_pair *p, int nb, float *hidden, float *entropy, float *top1,
                             int K)
{
    int V = m->w.cfg.vocab_size;
    int slots[LL_BATCH], n_new[LL_BATCH];
    size_t tot_ctx = 0, tot_rest = 0;
    for (int b = 0; b < nb; b++) {
        tot_ctx += p[b].n_ctx[k];
        tot_rest += p[b].n_cont[k] - 1;
    }
    int32_t *tok = rlae_malloc((tot_ctx > tot_rest ? tot_ctx : tot_rest + 1) * sizeof *tok);
    float *logits = rlae_malloc((size_t)nb * V * sizeof *logits);
    float *all = rlae_malloc((tot_rest + 1) * (size_t)V * sizeof *all);
    rlae_status s = tok && logits && all ? RLAE_OK : RLAE_ERR_NOMEM;
    size_t at = 0;
    for (int b = 0; b < nb && s == RLAE_OK; b++) {
        s = rlae_kv_cache_reset(&m->cache, b);
        slots[b] = b;
        n_new[b] = (int)p[b].n_ctx[k];
        memcpy(tok + at, p[b].ctx[k], p[b].n_ctx[k] * sizeof *tok);
        at += p[b].n_ctx[k];
    }
    if (s == RLAE_OK)
        s = rlae_forward(&m->model, &m->cache, nb, slots, n_new, tok, logits, hidden);
    int n_seq = 0;
    at = 0;
    for (int b = 0; b < nb && s == RLAE_OK; b++) {
        p[b].loglik[k] = row_logprob(logits + (size_t)b * V, V, p[b].cont[k][0], &entropy[b * K + k],
                                     &top1[b * K + k]);
        if (p[b].n_cont[k] > 1) {
            slots[n_seq] = b;
            n_new[n_seq++] = (int)p[b].n_cont[k] - 1;
            memcpy(tok + at, p[b].cont[k], (p[b].n_cont[k] - 1) * sizeof *tok);
            at += p[b].n_cont[k] - 1;
        }
    }
    if (s == RLAE_OK && n_seq > 0)
        s = rlae_forward_all(&m->model, &m->cache, n_seq, slots, n_new, tok, all, NULL, NULL);
    size_t row = 0;
    for (int b = 0; b < nb && s == RLAE_OK; b++)
        for (size_t j = 1; j < p[b].n_cont[k]; j++, row++)
            p[b].loglik[k] += row_logprob(all + row * V, V, p[b].cont[k][j], NULL, NULL);
    free(tok);
    free(logits);
    free(all);
    return s;
}

/* The policy's weights at the end of each pair's context (span 0), normalised; a gate acts once. */
static rlae_status ll_weights(rlae_ensemble *e, rlae_weight_policy *pol, ll_pair *p, int nb, float *const *hidden,
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
        episode[b] = (uint32_t)p[b].item;
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
                             p[b].item);
        for (int k = 0; k < K; k++)
            p[b].w[k] = w[b * K + k] > 0 ? (float)(w[b * K + k] / sum) : 0.0f;
    }
    return RLAE_OK;
}

/* Encodes every pair for every member; checks that each fits the member's context. */
static rlae_status ll_encode(rlae_ensemble *e, const env_task *t, const rlae_eval_options *o, eval_data *d,
                             ll_pair *pairs, long *unspelled)
{
    size_t np = 0;
    for (size_t i = 0; i < d->items.n; i++) {
        const env_item *it = &d->items.v[i];
        for (int j = 0; j < it->n_choices; j++, np++) {
            ll_pair *p = &pairs[np];
            p->item = i;
            p->option = j;
            char buf[4096];
            const char *cont = env_mc_continuation(it, j, buf, sizeof buf);
            p->n_bytes = (int)strlen(cont);
            for (int k = 0; k < e->n_members; k++) {
                rlae_member *m = &e->members[k];
                size_t unsp = 0;
                RLAE_TRY(rlae_member_encode_prompt(m, o->system, d->prompts[i], &p->ctx[k], &p->n_ctx[k]));
                RLAE_TRY(rlae_tokenizer_spell(m->tok, cont, strlen(cont), &p->cont[k], &p->n_cont[k], &unsp));
                *unspelled += (long)unsp;
                if (p->n_cont[k] == 0)
                    return rlae_fail(RLAE_ERR_INPUT, "task %s item %s: option %d is empty for member '%s'", t->name,
                                     it->id, j, m->name);
                if ((long)(p->n_ctx[k] + p->n_cont[k]) > m->cache.capacity)
                    return too_long(t, it, m, p->n_ctx[k] + p->n_cont[k], o->shots);
            }
        }
    }
    return RLAE_OK;
}

static rlae_status eval_loglik(rlae_ensemble *e, const env_task *t, const rlae_eval_options *o,
                               rlae_weight_policy *pol, eval_data *d, double *correct, long *unspelled)
{
    int K = e->n_members;
    int B = e->max_batch < LL_BATCH ? e->max_batch : LL_BATCH;
    size_t np = 0;
    for (size_t i = 0; i < d->items.n; i++)
        np += (size_t)d->items.v[i].n_choices;
    ll_pair *pairs = rlae_calloc(np ? np : 1, sizeof *pairs);
    float *hidden[RLAE_MAX_MEMBERS] = {0};
    float entropy[LL_BATCH * RLAE_MAX_MEMBERS], top1[LL_BATCH * RLAE_MAX_MEMBERS];
    rlae_status s = pairs ? RLAE_OK : RLAE_ERR_NOMEM;
    for (int k = 0; k < K && s == RLAE_OK; k++)
        if (!(hidden[k] = rlae_malloc((size_t)B * e->members[k].w.cfg.dim * sizeof(float))))
            s = RLAE_ERR_NOMEM;
    if (s == RLAE_OK)
        s = ll_encode(e, t, o, d, pairs, unspelled);
    for (size_t p0 = 0; p0 < np && s == RLAE_OK; p0 += (size_t)B) {
        int nb = np - p0 < (size_t)B ? (int)(np - p0) : B;
        for (int k = 0; k < K && s == RLAE_OK; k++)
            s = ll_member(&e->members[k], k, pairs + p0, nb, hidden[k], entropy, top1, K);
        if (s == RLAE_OK)
            s = ll_weights(e, pol, pairs + p0, nb, hidden, entropy, top1);
    }
    /* Mixture per option, then the pick per item. */
    for (size_t i = 0, p0 = 0; i < d->items.n && s == RLAE_OK; p0 += (size_t)d->items.v[i].n_choices, i++) {
        const env_item *it = &d->items.v[i];
        double ll[ENV_MAX_CHOICES];
        int nbytes[ENV_MAX_CHOICES];
        for (int j = 0; j < it->n_choices; j++) {
            const ll_pair *p = &pairs[p0 + j];
            double mx = -INFINITY, sum = 0.0;
            for (int k = 0; k < K; k++)
                if (p->w[k] > 0)
                    mx = fmax(mx, log(p->w[k]) + p->loglik[k]);
            for (int k = 0; k < K; k++)
                if (p->w[k] > 0 && isfinite(mx))
                    sum += exp(log(p->w[k]) + p->loglik[k] - mx);
            ll[j] = isfinite(mx) ? mx + log(sum) : -INFINITY;
            nbytes[j] = p->n_bytes;
        }
        /* The per-token pick is not used (members tokenize differently): bytes stand in for tokens. */
        env_mc_pick pick = env_mc_pick_loglik(ll, nbytes, nbytes, it->n_choices);
        int chosen = o->mc_scoring == RLAE_MC_LOGLIK_NORM ? pick.per_byte : pick.raw;
        correct[i] = chosen == it->gold_choice;
    }
    for (int k = 0; k < K; k++)
        free(hidden[k]);
    ll_pairs_free(pairs, np);
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
    rlae_status s = correct && f1 ? RLAE_OK : RLAE_ERR_NOMEM;
    if (s == RLAE_OK)
        s = loglik ? eval_loglik(e, t, opt, policy, &d, correct, &unspelled)
                   : eval_generate(e, t, opt, policy, &d, correct, f1, &unspelled);
    const char *scoring = !loglik ? "generate" : opt->mc_scoring == RLAE_MC_LOGLIK_NORM ? "loglik_norm" : "loglik";
    if (s == RLAE_OK)
        s = rlae_eval_summarise(t, method, d.split, scoring, correct, f1, n, opt->seed, opt->resamples, out);
    if (s == RLAE_OK)
        out->n_unspelled = unspelled;
    else
        s = rlae_wrap(s, "evaluating %s on %s: ", method, t->name);
    free(correct);
    free(f1);
    eval_data_free(&d);
    return s;
}
