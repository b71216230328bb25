/* What the agent's three source files share (not part of the public API; see agent.h):
 *   agent.c         the network layout, initialisation, observe, act, save / load
 *   agent_net.c     the network's forward pass and the PPO / MAPPO loss with its full backward
 *                   (heads, trunk, per-member projections, span embedding), written once in
 *                   agent_net.inc and built for float (training) and double (gradient tests)
 *   agent_update.c  the update: GAE, advantage / value normalisation, epochs of shuffled
 *                   minibatches, gradient clip, Adam, target-KL early stop, metrics.
 *
 * Parameter buffer, in this order: per member k the projection P_k (a one-layer rlae_mlp
 * d_k -> proj_dim, with bias; only when use_hidden), the encoder's projection P_e (enc_dim ->
 * proj_dim, only with an encoder; none without, so the layout of agents without one is unchanged),
 * the span embedding [max_spans][span_embed_dim],
 * the actor(s), the critic, and (MAPPO) one log_std per agent.
 *
 * Widths: member features F = (use_hidden ? proj_dim : 0) + 4; shared features S = span_embed_dim +
 * 1 + PE (PE = proj_dim with an encoder, else 0); trunk / critic input X = K F + S; MAPPO actor
 * input A = F + S (+ K for the member-id one-hot with share_params). Observation: member k's block
 * [h_k (d_k if use_hidden), 4 stats] at obs_off[k], then [span index, fraction] at sh_off, then the
 * encoder's pooled state [enc_dim] at sh_off + 2. */
#ifndef RLAE_ALGORITHMS_AGENT_INTERNAL_H
#define RLAE_ALGORITHMS_AGENT_INTERNAL_H

#include "algorithms/adam.h"
#include "algorithms/agent.h"
#include "algorithms/mlp.h"
#include "algorithms/ppo_loss.h"
#include "algorithms/valuenorm.h"

#define RLAE_AGENT_MAX_K 8
/* The fourth Philox key word (`token`) of the agent's draws, so they never meet the rollout's. */
#define RLAE_AGENT_RNG_ACT 0xA6E70001u
#define RLAE_AGENT_RNG_INIT 0xA6E70002u
#define RLAE_AGENT_RNG_PERM 0xA6E70003u

/* The data of the steps a loss is computed on (float, as the buffer stores it). Row r of the
 * minibatch is step idx[r] (r itself when idx is NULL). logp has logp_width floats per step. */
typedef struct {
    const float *obs, *action, *logp, *value_old, *adv, *ret;
    const int *idx;
    int n;
} rlae_agent_rows;

/* Scratch of one forward / backward for up to `cap` rows; one allocation (`block`). */
#define RLAE_AGENT_SCRATCH_DECLARE(real, RT)                                                          \
    typedef struct {                                                                                  \
        int cap;                                                                                      \
        real *block;                                                                                  \
        real *h, *pout, *x, *O, *acache, *ccache, *head, *mu_a, *log_std, *value;                     \
        real *act, *logp_old, *adv, *ret, *vold;                                                      \
        real *d_head, *d_mu, *d_ls, *d_value, *dy_a, *dx, *dxa, *dO, *dP, *mlp_scratch;               \
    } RT(rlae_agent_scratch);                                                                         \
    rlae_status RT(rlae_agent_scratch_alloc)(const rlae_agent *a, int cap, RT(rlae_agent_scratch) *s);  \
    void RT(rlae_agent_scratch_free)(RT(rlae_agent_scratch) *s);                                      \
    /* Forward of rows 0..n-1: s->head (ppo logits, n x K) or s->head = mu and s->log_std (mappo,    \
     * n x K), s->value (critic output, normalised space when value_norm). */                         \
    void RT(rlae_agent_forward)(const rlae_agent *a, const real *params, const float *obs,            \
                                const int *idx, int n, RT(rlae_agent_scratch) *s);                     \
    /* The loss of the rows and, unless grad is NULL, its gradient ADDED into grad. norm_adv: per-   \
     * minibatch advantage normalisation (ppo). */                                                    \
    void RT(rlae_agent_loss_grad)(const rlae_agent *a, const rlae_ppo_params *pp, int norm_adv,        \
                                  const rlae_agent_rows *rows, const real *params, real *grad,         \
                                  RT(rlae_agent_scratch) *s, rlae_ppo_metrics *m);

RLAE_AGENT_SCRATCH_DECLARE(float, RLAE_F)
RLAE_AGENT_SCRATCH_DECLARE(double, RLAE_D)

struct rlae_agent {
    rlae_agent_spec spec;
    int K, obs_dim, logp_width;
    int F, S, X, A, P, PE, ed, max_d;
    int obs_off[RLAE_AGENT_MAX_K], sh_off;
    rlae_mlp proj[RLAE_AGENT_MAX_K];
    size_t proj_off[RLAE_AGENT_MAX_K];
    rlae_mlp enc_proj; /* P_e (PE > 0) */
    size_t enc_proj_off;
    size_t emb_off;
    int n_actors; /* ppo: 1; mappo: 1 shared or K */
    rlae_mlp actor[RLAE_AGENT_MAX_K];
    size_t actor_off[RLAE_AGENT_MAX_K];
    rlae_mlp critic;
    size_t critic_off, ls_off, n_params;
    float *params, *grad;
    rlae_adam adam;
    rlae_valuenorm vn;
    long updates_done;
    rlae_agent_scratch s; /* grows on demand at the start of act / update */
};

/* Row of the span embedding for a stored span index: rounded, clamped to 0 .. max_spans - 1. */
static inline int rlae_agent_span_row(const rlae_agent *a, float t)
{
    if (!(t > 0.0f))
        return 0;
    if (t >= (float)(a->spec.max_spans - 1))
        return a->spec.max_spans - 1;
    return (int)(t + 0.5f);
}

/* Grows a->s to hold n rows (allocation happens only here, at the start of act / update). */
rlae_status rlae_agent_reserve(rlae_agent *a, int n);
/* The loss settings of hp for this agent (MSE for ppo, Huber for mappo, value clip = hp->clip). */
rlae_ppo_params rlae_agent_ppo_params(const rlae_agent *a, const rlae_algorithm_config *hp);

#endif
