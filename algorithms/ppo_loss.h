/* The fused PPO / MAPPO loss of one minibatch, its gradients with respect to the policy-head
 * outputs and the value predictions, and the per-update debug metrics (METHOD.md §5).
 *
 * The networks that produce the head outputs (algorithms/mlp.h) backpropagate these gradients;
 * nothing here knows about parameters. The loss of a minibatch is
 *   loss = pg_loss - ent_coef * entropy + vf_coef * v_loss
 *   pg_loss = mean over ratio terms of max(-A r, -A clip(r, 1 - clip, 1 + clip)),  r = exp(logp - logp_old)
 *   entropy = mean over ratio terms of the policy entropy
 *   v_loss  = mean over samples of one of (e = R - v, e_c = R - v_c, v_c = v_old + clip(v - v_old, +-value_clip))
 *               MSE:          0.5 e^2                      clipped MSE:   0.5 max(e^2, e_c^2)   (cleanrl)
 *               Huber(delta): h(e)                         clipped Huber: max(h(e), h(e_c))     (on-policy)
 *             with h(e) = e^2/2 for |e| <= delta, else delta (|e| - delta/2).
 *
 * Ratio terms: RLAE_PPO (Dirichlet) has one joint ratio per sample. RLAE_MAPPO (Normal) has one
 * ratio per (sample, active agent) on that agent's own scalar z_k, all sharing the sample's
 * advantage; the policy and entropy terms are averaged over the active (sample, agent) pairs, which
 * is on-policy's masked mean over agent rows (so the loss is a sum over each sample's agents,
 * normalised by the number of active pairs). The value loss always averages over samples: MAPPO's
 * centralised critic gives one V(s) per sample. For MAPPO with value normalisation, pass the
 * returns already normalised (algorithms/valuenorm.h) so that R, v and v_old share one scale.
 *
 * Advantages are used as given: normalise them first (algorithms/gae.h). Gradients are of the loss
 * above (already divided by the number of terms); they are written, not accumulated, and any
 * output pointer may be NULL to skip it. Derivatives at the clip kinks follow PyTorch's choices
 * (clamp passes the gradient on its boundary; ties between the two branches are equal anyway). */
#ifndef RLAE_ALGORITHMS_PPO_LOSS_H
#define RLAE_ALGORITHMS_PPO_LOSS_H

#include "algorithms/real.h"

/* Largest action dimension K (members or agents) the loss handles: it keeps one sample's
 * concentrations on the stack. Far above any ensemble we would run. */
#define RLAE_PPO_MAX_K 256

typedef enum { RLAE_VALUE_LOSS_MSE = 0, RLAE_VALUE_LOSS_HUBER = 1 } rlae_value_loss;

typedef struct {
    double clip;              /* ratio clip epsilon (0.2) */
    double vf_coef;           /* value-loss coefficient (0.5) */
    double ent_coef;          /* entropy bonus coefficient (0.01) */
    rlae_value_loss value_loss;
    int clip_value;           /* nonzero: clipped value loss (max of unclipped and clipped) */
    double value_clip;        /* value clip range (0.2, cleanrl and on-policy reuse the ratio clip) */
    double huber_delta;       /* Huber threshold (10) */
    double alpha_min;         /* Dirichlet head floor: alpha = softplus(x) + alpha_min (1e-4) */
} rlae_ppo_params;

/* cleanrl's PPO: clip 0.2, vf 0.5, ent 0.01, MSE value loss without clipping. */
rlae_ppo_params rlae_ppo_params_default(void);
/* on-policy's MAPPO: as above but Huber(10) value loss with value clipping. (on-policy's own value
 * coefficient is 1; METHOD.md §5 fixes 0.5 for both algorithms.) */
rlae_ppo_params rlae_mappo_params_default(void);

typedef struct {
    double loss, pg_loss, v_loss;
    double entropy;   /* mean entropy per ratio term */
    double approx_kl; /* k3 estimator: mean of (r - 1) - log r over ratio terms */
    double clipfrac;  /* fraction of ratio terms with |r - 1| > clip */
    long n_terms;     /* ratio terms averaged: samples (PPO) or active (sample, agent) pairs (MAPPO) */
} rlae_ppo_metrics;

#define RLAE_PPO_LOSS_DECLARE(real, RT)                                                               \
    /* One minibatch of n samples, K actions each; arrays are row-major, sample-major. */             \
    typedef struct {                                                                                  \
        int n, K;                                                                                     \
        const real *head;            /* Dirichlet: n x K pre-softplus logits */                       \
        const real *mu, *log_std;    /* Normal: n x K, agent k's mean and log std */                  \
        const real *action;          /* n x K: the weights w (Dirichlet) or the draws z (Normal) */   \
        const real *logp_old;        /* Dirichlet: n (joint); Normal: n x K (per agent) */            \
        const unsigned char *active; /* Normal: n x K, 0 = agent inactive; NULL = all active */       \
        const real *adv;             /* n, normalised advantages */                                   \
        const real *value;           /* n, value predictions of the current critic */                 \
        const real *value_old;       /* n, predictions at rollout time (value clipping only) */       \
        const real *ret;             /* n, value targets (returns; normalised for ValueNorm) */       \
    } RT(rlae_ppo_batch);                                                                             \
    typedef struct {                                                                                  \
        real *d_head;              /* n x K, d loss / d logits (Dirichlet) */                          \
        real *d_mu, *d_log_std;    /* n x K, d loss / d mu, d log_std (Normal; 0 where inactive) */   \
        real *d_value;             /* n, d loss / d value */                                          \
    } RT(rlae_ppo_grads);                                                                             \
    /* RLAE_PPO: Dirichlet policy over w, one joint ratio per sample. */                              \
    void RT(rlae_ppo_loss_dirichlet)(const rlae_ppo_params *p, const RT(rlae_ppo_batch) *b,           \
                                     RT(rlae_ppo_grads) *g, rlae_ppo_metrics *m);                     \
    /* RLAE_MAPPO: per-agent Normal over z_k, one ratio per active (sample, agent). */                \
    void RT(rlae_ppo_loss_normal)(const rlae_ppo_params *p, const RT(rlae_ppo_batch) *b,              \
                                  RT(rlae_ppo_grads) *g, rlae_ppo_metrics *m);                     \
    /* The explained-variance debug metric over a buffer (cleanrl): 1 - Var(R - V) / Var(R), with   \
     * population variances; NaN when Var(R) = 0. */                                                \
    double RT(rlae_explained_variance)(const real *value, const real *ret, int n);

RLAE_PPO_LOSS_DECLARE(float, RLAE_F)
RLAE_PPO_LOSS_DECLARE(double, RLAE_D)

#endif
