/* The fused PPO / MAPPO minibatch loss (see ppo_loss.h). The per-term pieces (clipped surrogate,
 * value losses) are plain double functions here; the batch loops are written once in
 * ppo_loss.inc and instantiated for float and double. The formulas follow cleanrl's
 * ppo_continuous_action.py (surrogate, MSE and clipped MSE value loss, k3 approx-KL, clip
 * fraction) and on-policy's r_mappo (Huber value loss with clipping, masked means over agents). */
#include "algorithms/ppo_loss.h"

#include <math.h>

#include "algorithms/dirichlet.h"
#include "algorithms/normal.h"
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

/* One clipped-surrogate term max(-A r, -A clip(r)) for log-ratio lr; *coef = its derivative with
 * respect to logp (through r = exp(lr)); accumulates the k3 KL and the clip count into acc. */
static double ppo_policy_term(const rlae_ppo_params *p, double A, double lr, double *coef, rlae_ppo_metrics *acc)
{
    double r = exp(lr);
    double rc = fmin(fmax(r, 1.0 - p->clip), 1.0 + p->clip);
    double unclipped = -A * r, clipped = -A * rc;
    acc->approx_kl += (r - 1.0) - lr;
    acc->clipfrac += fabs(r - 1.0) > p->clip;
    if (unclipped >= clipped) {
        /* The unclipped branch (inside the band both are equal and clamp passes the gradient). */
        *coef = -A * r;
        return unclipped;
    }
    *coef = 0.0; /* r is outside the band on the side the clip binds: clip(r) is constant */
    return clipped;
}

/* Turns the accumulated sums of the policy terms into means. */
static void ppo_finish_policy(rlae_ppo_metrics *acc, double inv)
{
    acc->pg_loss *= inv;
    acc->entropy *= inv;
    acc->approx_kl *= inv;
    acc->clipfrac *= inv;
}

/* Per-sample value loss of error e = R - v and its derivative with respect to v. */
static double value_loss_of(const rlae_ppo_params *p, double e, double *dv)
{
    if (p->value_loss == RLAE_VALUE_LOSS_HUBER) {
        double d = p->huber_delta;
        if (fabs(e) <= d) {
            *dv = -e;
            return 0.5 * e * e;
        }
        /* on-policy's huber_loss uses (e > d) for the linear branch, which zeroes the loss of large
         * negative errors; we use |e| > d, the Huber loss it intends. */
        *dv = e > 0 ? -d : d;
        return d * (fabs(e) - 0.5 * d);
    }
    *dv = -e;
    return 0.5 * e * e;
}

/* The per-sample value loss (optionally clipped) and d loss / d v. */
static double ppo_value_term(const rlae_ppo_params *p, double v, double v_old, double R, double *dv)
{
    double lu = value_loss_of(p, R - v, dv);
    if (!p->clip_value)
        return lu;
    double vc = v_old + fmin(fmax(v - v_old, -p->value_clip), p->value_clip);
    double dvc;
    double lc = value_loss_of(p, R - vc, &dvc);
    if (lu >= lc)
        return lu;
    /* The clipped branch wins only when v - v_old is outside the clip range (inside it v_c = v and
     * the two losses are equal), where v_c does not depend on v. */
    *dv = 0.0;
    return lc;
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
