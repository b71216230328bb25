/* The PPO / MAPPO update of the agent (agent.h, METHOD.md §5) and the double-precision loss hook
 * the gradient test uses. The network pass itself is agent_net.inc.
 *
 * One update on a buffer of N span steps:
 *   1. GAE(gamma, lambda) on the values recorded at acting time (reward units), bootstrapping
 *      truncated episodes from the supplied V(s_T); explained variance of those values.
 *   2. value_norm: the recorded values are normalised with the statistics they were predicted
 *      under (before this update's returns enter them), the normaliser is updated with the returns,
 *      and the critic is trained against the normalised returns (on-policy's ValueNorm).
 *   3. MAPPO: advantages normalised over the whole buffer; PPO: per minibatch (inside the loss).
 *   4. epochs x minibatches: each epoch draws a permutation keyed by (seed, update, epoch), the
 *      buffer is cut into `minibatches` nearly equal contiguous pieces of it; per piece: (PPO) its
 *      advantages normalised over the whole piece, the piece cut into RLAE_AGENT_GRAD_CHUNKS gradient
 *      chunks, each chunk's loss + backward on its own (on rank chunk % size), the chunk gradients
 *      gathered and added in chunk order weighted by their share of the rows (in double), global
 *      grad-norm clip, Adam step at the (optionally annealed) LR. The chunking is the same for any
 *      number of ranks, so the parameters are too, bit for bit.
 *   5. target_kl > 0: remaining epochs are skipped once an epoch's mean approx-KL exceeds it.
 * Metrics are means over the minibatches taken. */
#include "algorithms/agent_internal.h"

#include "algorithms/gae.h"
#include "core/rng.h"
#include "dist/comm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

rlae_ppo_params rlae_agent_ppo_params(const rlae_agent *a, const rlae_algorithm_config *hp)
{
    rlae_ppo_params p = a->spec.algo == RLAE_ALGO_MAPPO ? rlae_mappo_params_default() : rlae_ppo_params_default();
    p.clip = hp->clip;
    p.vf_coef = hp->value_coef;
    p.ent_coef = hp->entropy_coef;
    p.value_loss = a->spec.algo == RLAE_ALGO_MAPPO ? RLAE_VALUE_LOSS_HUBER : RLAE_VALUE_LOSS_MSE;
    p.clip_value = hp->clip_value;
    p.value_clip = hp->clip;
    p.huber_delta = hp->huber_delta;
    p.alpha_min = a->spec.net.alpha_min;
    return p;
}

rlae_status rlae_agent_loss_d(const rlae_agent *a, const rlae_algorithm_config *hp, int n, const float *obs,
                              const float *action, const float *logp, const float *value_old, const float *adv,
                              const float *ret, const double *params, double *grad, double *loss)
{
    rlae_agent_scratch_d s;
    RLAE_TRY(rlae_agent_scratch_alloc_d(a, n, &s));
    rlae_ppo_params pp = rlae_agent_ppo_params(a, hp);
    rlae_agent_rows rows = {obs, action, logp, value_old, adv, ret, NULL, n};
    rlae_ppo_metrics m;
    if (grad)
        memset(grad, 0, sizeof(double) * a->n_params);
    rlae_agent_loss_grad_d(a, &pp, a->spec.algo != RLAE_ALGO_MAPPO, &rows, params, grad, &s, &m);
    *loss = m.loss;
    rlae_agent_scratch_free_d(&s);
    return RLAE_OK;
}

static rlae_status check_batch(const rlae_agent *a, const rlae_algorithm_config *hp, const rlae_span_batch *b)
{
    if (b->n_episodes < 0 || (b->n_episodes > 0 && (!b->offset || b->offset[0] != 0)))
        return rlae_fail(RLAE_ERR_INPUT, "agent update: the span batch needs offset[0] = 0 and n_episodes >= 0");
    for (int e = 0; e < b->n_episodes; e++)
        if (b->offset[e + 1] < b->offset[e])
            return rlae_fail(RLAE_ERR_INPUT, "agent update: episode %d has offsets %d..%d (must not decrease)", e,
                             b->offset[e], b->offset[e + 1]);
    if (hp->epochs < 1 || hp->minibatches < 1)
        return rlae_fail(RLAE_ERR_INPUT, "agent update: algorithm.epochs (%d) and algorithm.minibatches (%d) "
                         "must be >= 1", hp->epochs, hp->minibatches);
    (void)a;
    return RLAE_OK;
}

/* Metrics a chunk contributes, weighted by its share of the minibatch's rows. */
enum { CM_LOSS, CM_PG, CM_V, CM_ENT, CM_KL, CM_CLIP, CM_N };

/* Bytes of one chunk's record: CM_N doubles, then n_params floats, padded so that records laid end
 * to end keep their doubles 8-byte aligned (n_params may be odd). */
static size_t chunk_record_bytes(size_t n_params)
{
    size_t b = sizeof(double) * CM_N + sizeof(float) * n_params;
    return (b + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

/* One minibatch (rows idx[0..n-1]): the chunked gradient into a->grad and its metrics. */
static rlae_status minibatch_grad(rlae_agent *a, const rlae_ppo_params *pp, rlae_agent_rows rows,
                                  const int *idx, int n, rlae_comm *comm, char *rec_all, rlae_ppo_metrics *pm)
{
    const size_t P = a->n_params, rec = chunk_record_bytes(P);
    const int G = n < RLAE_AGENT_GRAD_CHUNKS ? n : RLAE_AGENT_GRAD_CHUNKS;
    const int size = rlae_comm_size(comm), rank = rlae_comm_rank(comm);
    /* this rank's chunks are written one after another at the start of rec_all (size 1: in place) */
    char *mine = rec_all + (size > 1 ? (size_t)G * rec : 0);
    int j = 0;
    for (int g = rank; g < G; g += size, j++) {
        const int lo = (int)((long long)g * n / G), hi = (int)((long long)(g + 1) * n / G);
        double *cm = (double *)(mine + (size_t)j * rec);
        float *grad = (float *)(cm + CM_N);
        memset(grad, 0, sizeof(float) * P);
        rows.idx = idx + lo;
        rows.n = hi - lo;
        rlae_ppo_metrics m;
        rlae_agent_loss_grad(a, pp, 0, &rows, a->params, grad, &a->s, &m);
        cm[CM_LOSS] = m.loss;
        cm[CM_PG] = m.pg_loss;
        cm[CM_V] = m.v_loss;
        cm[CM_ENT] = m.entropy;
        cm[CM_KL] = m.approx_kl;
        cm[CM_CLIP] = m.clipfrac;
    }
    RLAE_TRY(rlae_comm_gather_chunks(comm, G, rec, mine, rec_all));
    /* sum over chunks in chunk order, each weighted by rows / n (the chunk loss is a mean over its rows) */
    double w[RLAE_AGENT_GRAD_CHUNKS];
    for (int g = 0; g < G; g++)
        w[g] = (double)((int)((long long)(g + 1) * n / G) - (int)((long long)g * n / G)) / (double)n;
    double acc[CM_N] = {0};
    for (int g = 0; g < G; g++) {
        const double *cm = (const double *)(rec_all + (size_t)g * rec);
        for (int k = 0; k < CM_N; k++)
            acc[k] += w[g] * cm[k];
    }
    for (size_t p = 0; p < P; p++) {
        double sum = 0.0;
        for (int g = 0; g < G; g++)
            sum += w[g] * ((const float *)(rec_all + (size_t)g * rec + sizeof(double) * CM_N))[p];
        a->grad[p] = (float)sum;
    }
    memset(pm, 0, sizeof *pm);
    pm->loss = acc[CM_LOSS];
    pm->pg_loss = acc[CM_PG];
    pm->v_loss = acc[CM_V];
    pm->entropy = acc[CM_ENT];
    pm->approx_kl = acc[CM_KL];
    pm->clipfrac = acc[CM_CLIP];
    return RLAE_OK;
}

rlae_status rlae_agent_update(rlae_agent *a, const rlae_algorithm_config *hp, const rlae_span_batch *b, long update,
                              long num_updates, rlae_update_metrics *m)
{
    return rlae_agent_update_comm(a, hp, b, update, num_updates, NULL, m);
}

rlae_status rlae_agent_update_comm(rlae_agent *a, const rlae_algorithm_config *hp, const rlae_span_batch *b,
                                   long update, long num_updates, rlae_comm *comm, rlae_update_metrics *m)
{
    memset(m, 0, sizeof *m);
    RLAE_TRY(check_batch(a, hp, b));
    const int N = b->n_episodes ? b->offset[b->n_episodes] : 0;
    double lr = hp->lr;
    if (hp->anneal_lr && num_updates > 0) {
        long u = update + 1 < 1 ? 1 : (update + 1 > num_updates ? num_updates : update + 1);
        lr = rlae_lr_linear_anneal(hp->lr, u, num_updates);
    }
    m->lr = lr;
    if (N == 0)
        return RLAE_OK;
    const int M = hp->minibatches < N ? hp->minibatches : N;
    const int mb_cap = (N + M - 1) / M;
    const int G = mb_cap < RLAE_AGENT_GRAD_CHUNKS ? mb_cap : RLAE_AGENT_GRAD_CHUNKS;
    const size_t rec = chunk_record_bytes(a->n_params);
    const int ranks = rlae_comm_size(comm);
    /* every chunk's record, plus (with several ranks) this rank's own before the gather */
    const size_t rec_n = (size_t)G + (ranks > 1 ? (size_t)(G + ranks - 1) / ranks : 0);
    float *adv = rlae_malloc(sizeof(float) * (size_t)N), *ret = rlae_malloc(sizeof(float) * (size_t)N);
    float *vold = rlae_malloc(sizeof(float) * (size_t)N), *advn = rlae_malloc(sizeof(float) * (size_t)N);
    float *tmp = rlae_malloc(sizeof(float) * (size_t)mb_cap);
    int *perm = rlae_malloc(sizeof(int) * (size_t)N);
    char *recs = rlae_malloc(rec * rec_n);
    rlae_status s = adv && ret && vold && advn && tmp && perm && recs ? rlae_agent_reserve(a, mb_cap) : RLAE_ERR_NOMEM;
    if (s != RLAE_OK)
        goto done;

    rlae_gae(b->n_episodes, b->offset, b->reward, b->value, b->terminated, b->bootstrap, hp->gamma, hp->gae_lambda,
             adv, ret);
    m->explained_variance = rlae_explained_variance(b->value, ret, N);
    if (a->spec.value_norm) {
        rlae_valuenorm_normalize(&a->vn, b->value, N, vold);
        rlae_valuenorm_update(&a->vn, ret, N);
        rlae_valuenorm_normalize(&a->vn, ret, N, ret);
    } else {
        memcpy(vold, b->value, sizeof(float) * (size_t)N);
    }
    const int mappo = a->spec.algo == RLAE_ALGO_MAPPO;
    if (mappo)
        rlae_adv_normalize_buffer(adv, N, NULL);

    rlae_ppo_params pp = rlae_agent_ppo_params(a, hp);
    a->adam.h.lr = lr;
    a->adam.h.eps = hp->adam_eps;
    /* PPO normalises advantages per minibatch: over the whole minibatch, before it is chunked */
    rlae_agent_rows rows = {b->obs, b->action, b->logp, vold, mappo ? adv : advn, ret, NULL, 0};
    for (int ep = 0; ep < hp->epochs && s == RLAE_OK; ep++) {
        rlae_rng rng;
        rlae_rng_init(&rng, a->spec.seed, (uint32_t)update, (uint32_t)ep, RLAE_AGENT_RNG_PERM);
        for (int i = 0; i < N; i++)
            perm[i] = i;
        for (int i = N - 1; i > 0; i--) {
            int j = (int)rlae_rng_below(&rng, (uint32_t)(i + 1));
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        double kl = 0.0;
        for (int mb = 0; mb < M; mb++) {
            const int lo = (int)((long long)mb * N / M), hi = (int)((long long)(mb + 1) * N / M);
            if (!mappo) {
                for (int r = lo; r < hi; r++)
                    tmp[r - lo] = adv[perm[r]];
                rlae_adv_normalize_minibatch(tmp, hi - lo);
                for (int r = lo; r < hi; r++)
                    advn[perm[r]] = tmp[r - lo];
            }
            rlae_ppo_metrics pm;
            if ((s = minibatch_grad(a, &pp, rows, perm + lo, hi - lo, comm, recs, &pm)) != RLAE_OK)
                break;
            double gn = rlae_grad_clip_norm(a->grad, a->n_params, hp->max_grad_norm);
            rlae_adam_step(&a->adam, a->params, a->grad);
            m->loss += pm.loss;
            m->pg_loss += pm.pg_loss;
            m->v_loss += pm.v_loss;
            m->entropy += pm.entropy;
            m->approx_kl += pm.approx_kl;
            m->clipfrac += pm.clipfrac;
            m->grad_norm += gn;
            m->minibatches++;
            kl += pm.approx_kl;
        }
        if (s != RLAE_OK)
            break;
        m->epochs++;
        if (hp->target_kl > 0 && kl / M > hp->target_kl)
            break;
    }
    if (s != RLAE_OK)
        goto done;
    const double inv = 1.0 / (double)m->minibatches;
    m->loss *= inv;
    m->pg_loss *= inv;
    m->v_loss *= inv;
    m->entropy *= inv;
    m->approx_kl *= inv;
    m->clipfrac *= inv;
    m->grad_norm *= inv;
    a->updates_done++;
done:
    free(adv);
    free(ret);
    free(vold);
    free(advn);
    free(tmp);
    free(perm);
    free(recs);
    return s;
}
