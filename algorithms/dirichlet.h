/* The Dirichlet policy of RLAE_PPO (METHOD.md §2, §5): the agent's head outputs K logits x, the
 * concentrations are alpha = softplus(x) + alpha_min, and the ensemble weights w ~ Dir(alpha).
 *
 *   log p(w | alpha) = lgamma(a0) - sum_i lgamma(a_i) + sum_i (a_i - 1) log w_i,    a0 = sum_i a_i
 *   H(alpha)         = sum_i lgamma(a_i) - lgamma(a0) + (a0 - K) psi(a0) - sum_i (a_i - 1) psi(a_i)
 *   d log p / d a_i  = psi(a0) - psi(a_i) + log w_i
 *   d H / d a_i      = (a0 - K) psi'(a0) - (a_i - 1) psi'(a_i)
 *
 * Weights that underflow: with small concentrations a Dirichlet draw can put weights far below
 * what a float can hold. Every weight is floored at RLAE_DIRICHLET_W_MIN (FLT_MIN, the smallest
 * normal float: PyTorch floors its gamma draws the same way) when sampled and again before every
 * log, so log w_i >= -87.3, a stored float weight is never 0 or denormal, and the log-probability
 * recorded at rollout time and the one recomputed in the update see the same value. The floor
 * leaves the weights summing to 1 within K * 1.2e-38.
 *
 * Array functions exist for float (plain names) and double (suffix _d); see algorithms/real.h.
 * Log-densities and entropies are returned as double in both. */
#ifndef RLAE_ALGORITHMS_DIRICHLET_H
#define RLAE_ALGORITHMS_DIRICHLET_H

#include "algorithms/real.h"
#include "algorithms/sampler.h"

#define RLAE_DIRICHLET_W_MIN 1.17549435082228750797e-38 /* FLT_MIN */
#define RLAE_DIRICHLET_ALPHA_MIN 1e-4                   /* METHOD.md §2 */

#define RLAE_DIRICHLET_DECLARE(real, RT)                                                               \
    /* log p(w | alpha) over K components. */                                                          \
    double RT(rlae_dirichlet_log_prob)(const real *alpha, const real *w, int K);                        \
    /* dlogp[i] = d log p / d alpha_i. */                                                              \
    void RT(rlae_dirichlet_log_prob_grad)(const real *alpha, const real *w, int K, real *dlogp);        \
    /* Differential entropy H(alpha). */                                                               \
    double RT(rlae_dirichlet_entropy)(const real *alpha, int K);                                       \
    /* dH[i] = d H / d alpha_i. */                                                                     \
    void RT(rlae_dirichlet_entropy_grad)(const real *alpha, int K, real *dH);                          \
    /* The mean alpha / sum(alpha): the deterministic action used for evaluation. */                   \
    void RT(rlae_dirichlet_mean)(const real *alpha, int K, real *w);                                   \
    /* A draw: log G_i ~ log Gamma(alpha_i, 1), w = softmax(log G), floored at W_MIN. */               \
    void RT(rlae_dirichlet_sample)(const real *alpha, int K, const rlae_sampler *s, real *w);          \
    /* The policy head: alpha_i = softplus(x_i) + alpha_min (alpha_min: RLAE_DIRICHLET_ALPHA_MIN). */  \
    void RT(rlae_dirichlet_head)(const real *x, int K, double alpha_min, real *alpha);                 \
    /* Chain rule through the head: dx_i = dalpha_i * sigmoid(x_i). dx may alias dalpha. */            \
    void RT(rlae_dirichlet_head_backward)(const real *x, const real *dalpha, int K, real *dx);

RLAE_DIRICHLET_DECLARE(float, RLAE_F)
RLAE_DIRICHLET_DECLARE(double, RLAE_D)

/* softplus(x) = log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|): exact for all x, no overflow. */
double rlae_softplus(double x);
/* sigmoid(x) = d softplus / dx, without overflow for large |x|. */
double rlae_sigmoid(double x);

#endif
