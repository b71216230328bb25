/* The baseline weight policies (baselines.h): constant weights per decision, plus the per-token
 * mixing variant (UniTE top-k union, GaC gate) that the rollout hands to mix_select. */
#include "algorithms/baselines.h"

#include <math.h>
#include <string.h>

static rlae_status decide_fixed(rlae_weight_policy *p, const rlae_span_state *st, float *w)
{
    const rlae_fixed_weights *c = p->ctx;
    for (int i = 0; i < st->n; i++)
        memcpy(w + (size_t)i * st->n_members, c->weights, sizeof(float) * (size_t)st->n_members);
    return RLAE_OK;
}

static rlae_status init(rlae_weight_policy *p, rlae_fixed_weights *ctx, const char *name, int n_members,
                        const double *weights)
{
    memset(p, 0, sizeof *p);
    memset(ctx, 0, sizeof *ctx);
    if (n_members < 1 || n_members > 8)
        return rlae_fail(RLAE_ERR_INPUT, "policy %s: %d members (1..8 supported)", name, n_members);
    double sum = 0;
    for (int k = 0; k < n_members; k++) {
        double w = weights ? weights[k] : 1.0;
        if (!isfinite(w) || w < 0)
            return rlae_fail(RLAE_ERR_INPUT, "policy %s: weight of member %d is %g; set members[%d].weight to a "
                             "finite value >= 0", name, k, w, k);
        sum += w;
    }
    if (!(sum > 0))
        return rlae_fail(RLAE_ERR_INPUT, "policy %s: every member weight is 0; give at least one member a "
                         "positive members[].weight", name);
    ctx->n_members = n_members;
    for (int k = 0; k < n_members; k++)
        ctx->weights[k] = (float)((weights ? weights[k] : 1.0) / sum);
    p->name = name;
    p->ctx = ctx;
    p->decide = decide_fixed;
    p->mix_gate_member = -1;
    return RLAE_OK;
}

static rlae_status check_member(const char *policy, int member, int n_members)
{
    if (member < 0 || member >= n_members)
        return rlae_fail(RLAE_ERR_INPUT, "policy %s: member %d does not exist (there are %d)", policy, member,
                         n_members);
    return RLAE_OK;
}

rlae_status rlae_policy_single(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members, int member)
{
    RLAE_TRY(check_member("single", member, n_members));
    double w[8] = {0};
    w[member] = 1.0;
    return init(p, ctx, "single", n_members, w);
}

rlae_status rlae_policy_uniform(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members)
{
    return init(p, ctx, "uniform", n_members, NULL);
}

rlae_status rlae_policy_fixed(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members, const double *weights)
{
    return init(p, ctx, "score", n_members, weights);
}

rlae_status rlae_policy_topk(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members, int k)
{
    if (k < 1)
        return rlae_fail(RLAE_ERR_INPUT, "policy topk: k = %d; set ensemble.topk >= 1", k);
    RLAE_TRY(init(p, ctx, "topk", n_members, NULL));
    p->mix_member_topk = k;
    return RLAE_OK;
}

rlae_status rlae_policy_gated(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members, int primary,
                              float threshold)
{
    RLAE_TRY(check_member("gated", primary, n_members));
    if (!(threshold >= 0 && threshold <= 1))
        return rlae_fail(RLAE_ERR_INPUT, "policy gated: threshold %g; set ensemble.gate_threshold in [0, 1]",
                         (double)threshold);
    RLAE_TRY(init(p, ctx, "gated", n_members, NULL));
    p->mix_gate_member = primary;
    p->mix_gate_threshold = threshold;
    return RLAE_OK;
}

/* A member named in the config ("" = the first). */
static rlae_status member_by_name(const rlae_config *cfg, const char *key, const char *name, int *out)
{
    if (!name || !name[0]) {
        *out = 0;
        return RLAE_OK;
    }
    int k = rlae_config_member_index(cfg, name);
    if (k < 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: no member is named '%s'; use one of the members[].name values",
                         key, name);
    *out = k;
    return RLAE_OK;
}

rlae_status rlae_policy_from_config(rlae_weight_policy *p, rlae_fixed_weights *ctx, const rlae_config *cfg)
{
    const rlae_ensemble_config *e = &cfg->ensemble;
    int K = cfg->n_members, k = 0;
    double w[8];
    switch (e->policy) {
    case RLAE_POLICY_SINGLE:
        RLAE_TRY(member_by_name(cfg, "ensemble.single_member", e->single_member, &k));
        return rlae_policy_single(p, ctx, K, k);
    case RLAE_POLICY_UNIFORM:
        return rlae_policy_uniform(p, ctx, K);
    case RLAE_POLICY_SCORE:
        for (int i = 0; i < K && i < 8; i++)
            w[i] = cfg->members[i].weight;
        return rlae_policy_fixed(p, ctx, K, w);
    case RLAE_POLICY_TOPK:
        return rlae_policy_topk(p, ctx, K, e->topk);
    case RLAE_POLICY_GATED:
        RLAE_TRY(member_by_name(cfg, "ensemble.gate_member", e->gate_member, &k));
        return rlae_policy_gated(p, ctx, K, k, (float)e->gate_threshold);
    default:
        return rlae_fail(RLAE_ERR_INPUT, "ensemble.policy is agent: the agent's weights come from a trained "
                         "run (rlae train; then rlae generate --agent RUN_DIR, rlae eval --method agent:RUN_DIR); "
                         "or pick a baseline (single|uniform|score|topk|gated), e.g. ensemble.policy=uniform");
    }
}
