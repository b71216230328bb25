/* The RLAE agent (METHOD.md §2, §4, §5): features at a span boundary -> weights over the members,
 * plus the critic, and the PPO / MAPPO update on a buffer of span steps.
 *
 * Observation of one sequence at a span boundary (rlae_agent_observe packs it from the rollout's
 * rlae_span_state into one flat float vector, so the trainer can store it and the update can
 * recompute everything from it):
 *   per member k: its final hidden state h_k (d_k floats; left out when net.use_hidden is false),
 *                 entropy, top-1 probability, mean log-prob of the last span's tokens, agreement;
 *   shared:       span index t (as a float, an index into a learned embedding), tokens generated /
 *                 max_new_tokens, and with an encoder member (spec.enc_dim > 0) its hidden state
 *                 pooled over the whole text so far (enc_dim floats, rlae_span_state.encoder).
 * Network (all parameters in one flat float buffer, orthogonal init as cleanrl / on-policy):
 *   member features f_k = [P_k h_k (learned linear projection to net.proj_dim), the 4 statistics];
 *   shared features s = [E[t] (net.span_embed_dim, learned table), fraction used, (encoder:)
 *                   P_e e (its own learned linear projection to net.proj_dim)]; for mappo the shared
 *                   features are part of every agent's observation o_k, so each agent sees the encoder.
 *   ppo:   x = [f_1 .. f_K, s] -> MLP trunk (net.layers x net.hidden, tanh) -> K head logits;
 *          alpha = softplus(head) + net.alpha_min; w ~ Dirichlet(alpha); deterministic: alpha/sum.
 *          critic: its own MLP on x -> V.
 *   mappo: agent k sees o_k = [f_k, s, member-id one-hot (share_params)] -> MLP -> mu_k; a learned
 *          state-independent log_std_k; z_k ~ Normal(mu_k, sigma_k); w = softmax(z);
 *          deterministic: z = mu. With share_params one MLP serves every agent, else one per agent.
 *          Centralised critic: MLP on [f_1 .. f_K, s] -> V (value normalisation per config).
 * Random draws are keyed by (seed, episode, span) through core/rng.h, so acting does not depend on
 * batch composition. */
#ifndef RLAE_ALGORITHMS_AGENT_H
#define RLAE_ALGORITHMS_AGENT_H

#include "config/config.h"
#include "core/status.h"
#include "ensemble/weight_policy.h"

#include <stdint.h>
#include <stdio.h>

#define RLAE_AGENT_MEMBER_STATS 4

typedef struct {
    rlae_algorithm algo;     /* RLAE_ALGO_PPO (Dirichlet) or RLAE_ALGO_MAPPO (Normal per member) */
    int n_members;           /* 1..8 */
    int hidden_dim[8];       /* d_k of each member's hidden state */
    int max_spans;           /* rows of the span-index embedding; larger indices use the last row */
    int enc_dim;             /* width of the encoder member's pooled hidden state; 0 = no encoder */
    rlae_agent_config net;   /* hidden, layers, proj_dim, span_embed_dim, alpha_min, use_hidden */
    bool share_params;       /* MAPPO: one actor network for every agent, with a member-id one-hot */
    bool value_norm;         /* keep a running normaliser of the value targets (MAPPO default) */
    uint64_t seed;           /* initialisation and action sampling */
} rlae_agent_spec;

typedef struct rlae_agent rlae_agent;

rlae_status rlae_agent_new(const rlae_agent_spec *spec, rlae_agent **out);
void rlae_agent_free(rlae_agent *a);

/* Floats in one observation. */
int rlae_agent_obs_dim(const rlae_agent *a);
/* The encoder width the agent was built for (spec.enc_dim; 0 = none). */
int rlae_agent_encoder_dim(const rlae_agent *a);
/* Floats of log-probability per step: 1 (ppo: the joint Dirichlet log-density) or K (mappo: one
 * per agent). */
int rlae_agent_logp_width(const rlae_agent *a);
size_t rlae_agent_n_params(const rlae_agent *a);

/* Packs sequence i (row i) of a span state into obs[rlae_agent_obs_dim]. With enc_dim > 0 the state
 * must carry an encoder of that width (the agent policy checks; a missing one packs zeros). */
void rlae_agent_observe(const rlae_agent *a, const rlae_span_state *st, int i, float *obs);

/* Acts on n observations obs[n, obs_dim]. Stochastic: draws keyed by (seed, episode[i], span[i]);
 * deterministic != 0: the Dirichlet mean / Normal means (episode and span unused, may be NULL).
 * Writes weights[n, K] (on the simplex), action[n, K] (ppo: w; mappo: z), logp[n, logp_width] and
 * value[n] (denormalised: in reward units). Any output except weights may be NULL. */
rlae_status rlae_agent_act(rlae_agent *a, int n, const float *obs, const uint32_t *episode, const int *span,
                           int deterministic, float *weights, float *action, float *logp, float *value);

/* A buffer of span steps, episode after episode: episode e owns steps offset[e] .. offset[e+1]-1. */
typedef struct {
    int n_episodes;
    const int *offset;               /* [n_episodes + 1], offset[0] = 0 */
    const float *obs;                /* [n_steps, obs_dim] */
    const float *action;             /* [n_steps, K] */
    const float *logp;               /* [n_steps, logp_width] at acting time */
    const float *value;              /* [n_steps] at acting time (reward units) */
    const float *reward;             /* [n_steps] (terminal reward on an episode's last step) */
    const unsigned char *terminated; /* [n_episodes]: 1 = ended (EOS / stop), 0 = truncated */
    const float *bootstrap;          /* [n_episodes]: V(s_T) of truncated episodes (reward units) */
} rlae_span_batch;

typedef struct {
    double loss, pg_loss, v_loss, entropy, approx_kl, clipfrac;
    double explained_variance, grad_norm, lr;
    int epochs;          /* epochs run (target_kl may stop early) */
    long minibatches;    /* optimiser steps taken */
} rlae_update_metrics;

/* One PPO / MAPPO update (hp: clip, epochs, minibatches, lr and its anneal over num_updates,
 * entropy and value coefficients, value clipping / Huber, max_grad_norm, adam_eps, target_kl).
 * GAE(gamma, lambda) with termination vs truncation; advantages normalised per minibatch (ppo) or
 * over the buffer (mappo). Minibatch order is drawn from the agent's seed and `update`, so two runs
 * with one seed are identical. `update` counts from 0 (update 0 of num_updates uses the full lr). */
rlae_status rlae_agent_update(rlae_agent *a, const rlae_algorithm_config *hp, const rlae_span_batch *b,
                              long update, long num_updates, rlae_update_metrics *m);

/* Gradient chunks per minibatch. Each minibatch's gradient is the sum, in chunk order, of the
 * gradients of RLAE_AGENT_GRAD_CHUNKS (or, for fewer rows, one per row) contiguous pieces of it,
 * each computed on its own and weighted by its share of the rows. The split does not depend on the
 * number of ranks, so a run on 1, 2, 3, 4, 6 or 12 ranks (12 = lcm(1, 2, 3, 4) balances them) adds
 * the same float numbers in the same order: bit-identical parameters (docs/distributed.md). */
#define RLAE_AGENT_GRAD_CHUNKS 12

struct rlae_comm;
/* rlae_agent_update with the chunks spread over the ranks of comm (chunk c on rank c % size) and
 * gathered back in chunk order; every rank passes the same batch and ends with the same
 * parameters. comm NULL: one process (what rlae_agent_update does). */
rlae_status rlae_agent_update_comm(rlae_agent *a, const rlae_algorithm_config *hp, const rlae_span_batch *b,
                                   long update, long num_updates, struct rlae_comm *comm, rlae_update_metrics *m);

/* Everything that makes a resumed run equal an uninterrupted one (spec, parameters, Adam state,
 * value normaliser, counters), in a versioned little-endian binary layout. load checks the spec
 * against `expect` (may be NULL) and names what differs. Errors name `name` (a path). */
/* For tests and tools: the current parameters (rlae_agent_n_params floats, in the agent's layout). */
const float *rlae_agent_params(const rlae_agent *a);
/* For the gradient test: the loss rlae_agent_update minimises on steps 0..n-1 taken as one
 * minibatch (advantages and value targets given, in the critic's space; ppo normalises the
 * advantages per minibatch as the update does), evaluated in double at params[n_params]; grad
 * (may be NULL) receives d loss / d params. */
rlae_status rlae_agent_loss_d(const rlae_agent *a, const rlae_algorithm_config *hp, int n, const float *obs,
                              const float *action, const float *logp, const float *value_old, const float *adv,
                              const float *ret, const double *params, double *grad, double *loss);

rlae_status rlae_agent_save(const rlae_agent *a, FILE *f, const char *name);
rlae_status rlae_agent_load(FILE *f, const char *name, const rlae_agent_spec *expect, rlae_agent **out);

#endif
