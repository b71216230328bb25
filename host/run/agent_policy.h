/* The RL agent as a weight policy (ensemble/weight_policy.h): at each span boundary it packs every
 * running sequence's observation, acts (a Dirichlet / Normal draw keyed by (seed, episode, span), or
 * the deterministic mean for evaluation) and records what PPO needs per sequence and span step:
 * observation, action, log-probability, value. At the end of a rollout it records V(s_T) of
 * truncated answers for the bootstrap. The trainer reads the records into a span batch. */
#ifndef RLAE_RUN_AGENT_POLICY_H
#define RLAE_RUN_AGENT_POLICY_H

#include "algorithms/agent.h"
#include "ensemble/weight_policy.h"

typedef struct {
    rlae_weight_policy base; /* pass &p->base to the rollout */
    rlae_agent *agent;       /* not owned */
    int deterministic;
    int max_batch, max_spans, obs_dim, n_members, logp_width;
    /* per sequence b of the rollout batch, step s < n_steps[b] */
    float *obs;       /* [max_batch, max_spans, obs_dim] */
    float *action;    /* [max_batch, max_spans, K] */
    float *logp;      /* [max_batch, max_spans, logp_width] */
    float *value;     /* [max_batch, max_spans] */
    int *n_steps;     /* [max_batch] */
    float *bootstrap; /* [max_batch]: V(s_T) when has_bootstrap */
    unsigned char *has_bootstrap;
    /* scratch for one decision over max_batch rows */
    float *s_obs, *s_action, *s_logp, *s_value;
} rlae_agent_policy;

/* n_members: the agent's K; max_spans: the most decisions one answer can take
 * (ceil(max_new_tokens / span)). */
rlae_status rlae_agent_policy_init(rlae_agent_policy *p, rlae_agent *agent, int n_members, int max_batch,
                                   int max_spans, int deterministic);
void rlae_agent_policy_free(rlae_agent_policy *p);
/* Forgets the records. Not required between rollouts: a sequence's records restart by themselves
 * at its first decision (span 0). */
void rlae_agent_policy_reset(rlae_agent_policy *p);

#endif
