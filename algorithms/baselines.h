/* The baseline weight policies (METHOD.md §3, the rows of the paper-style tables), each a
 * rlae_weight_policy (host/ensemble/weight_policy.h) so the rollout runs them exactly like the agent:
 *
 *   single   one member alone: weight 1 on it, 0 on the others (the others are still fed the
 *            text, so switching policies never changes what the members have seen);
 *   uniform  GaC's average: 1/K each;
 *   fixed    fixed weights, e.g. GaC's score-proportional weights (each member's benchmark score);
 *            normalised to sum 1;
 *   topk     UniTE (Yao et al., ICLR 2025): uniform weights over the union of each member's top-k
 *            entries; nothing outside every member's top-k is ever chosen;
 *   gated    GaC's threshold mode: the primary member alone while its top-1 probability is at least
 *            the threshold, the uniform ensemble otherwise (decided per token by mix_select).
 *
 * None keeps state across calls; a policy struct is filled in place and needs no freeing. */
#ifndef RLAE_ALGORITHMS_BASELINES_H
#define RLAE_ALGORITHMS_BASELINES_H

#include "config/config.h"
#include "ensemble/weight_policy.h"

typedef struct {
    int n_members;
    float weights[8]; /* the fixed weights every decision returns */
} rlae_fixed_weights;

/* Each fills *p (and *ctx, which must outlive p). Errors: member out of range, K outside 1..8,
 * a negative / non-finite weight or an all-zero vector, k or threshold out of range. */
rlae_status rlae_policy_single(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members, int member);
rlae_status rlae_policy_uniform(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members);
rlae_status rlae_policy_fixed(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members, const double *weights);
rlae_status rlae_policy_topk(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members, int k);
rlae_status rlae_policy_gated(rlae_weight_policy *p, rlae_fixed_weights *ctx, int n_members, int primary,
                              float threshold);

/* The baseline named by cfg->ensemble.policy (single_member / gate_member resolved by name, fixed
 * weights from members[i].weight, topk from ensemble.topk). `agent` is not a baseline:
 * RLAE_ERR_INPUT pointing at `rlae train`. */
rlae_status rlae_policy_from_config(rlae_weight_policy *p, rlae_fixed_weights *ctx, const rlae_config *cfg);

#endif
