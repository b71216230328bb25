/* The fused PPO / MAPPO minibatch loss (see ppo_loss.h). The per-term pieces (clipped surrogate,
 * value losses) are the host/device cores of policy_math.h, shared with cuda/ppo_loss.cu; the batch
 * loops are written once in ppo_loss.inc and instantiated for float and double. The formulas follow cleanrl's
 * ppo_continuous_action.py (surrogate, MSE and clipped MSE value loss, k3 approx-KL, clip
 * fraction) and on-policy's r_mappo (Huber value loss with clipping, masked means over agents). */
#include "algorithms/ppo_loss.h"

#include <math.h>

#include "algorithms/dirichlet.h"
#include "algorithms/normal.h"
#include "algorithms/policy_math.h"
#include "host/core/status.h"

rlae_ppo_params rlae_ppo_params_default(void)
{
    rlae_ppo_params p = {.clip = 0.2,
                         .vf_coef = 0.5,
                         .ent_coef = 0.01,
                         .value_loss = RLAE_VALUE_LOSS_MSE,
                         .clip_value = 0,
                         .value_clip = 0.2,
                         .huber_delta = 10.0,
                         .alpha_min = RLAE_DIRICHLET_ALPHA_MIN};
    return p;
}

rlae_ppo_params rlae_mappo_params_default(void)
{
    rlae_ppo_params p = rlae_ppo_params_default();
    p.value_loss = RLAE_VALUE_LOSS_HUBER;
    p.clip_value = 1;
    return p;
}

/* One clipped-surrogate term (policy_math.h) for log-ratio lr; *coef = its derivative with respect
 * to logp; accumulates the k3 KL and the clip count into acc. */
static double ppo_policy_term(const rlae_ppo_params *p, double A, double lr, double *coef, rlae_ppo_metrics *acc)
{
    double kl, clipped;
    double t = rlae_hd_ppo_policy_term(p->clip, A, lr, coef, &kl, &clipped);
    acc->approx_kl += kl;
    acc->clipfrac += clipped;
    return t;
}

/* Turns the accumulated sums of the policy terms into means. */
static void ppo_finish_policy(rlae_ppo_metrics *acc, double inv)
{
    acc->pg_loss *= inv;
    acc->entropy *= inv;
    acc->approx_kl *= inv;
    acc->clipfrac *= inv;
}

/* The per-sample value loss (optionally clipped; policy_math.h) and d loss / d v. */
static double ppo_value_term(const rlae_ppo_params *p, double v, double v_old, double R, double *dv)
{
    return rlae_hd_value_term(p->value_loss == RLAE_VALUE_LOSS_HUBER, p->huber_delta, p->clip_value, p->value_clip,
                              v, v_old, R, dv);
}

#define real float
#define RT RLAE_F
#include "algorithms/ppo_loss.inc"
#undef real
#undef RT

#define real double
#define RT RLAE_D
#include "algorithms/ppo_loss.inc"
#undef real
#undef RT
