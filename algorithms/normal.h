/* The Normal policies of RLAE_MAPPO (METHOD.md §2): agent k outputs (mu_k, log_std_k), draws a
 * scalar z_k ~ N(mu_k, sigma_k = exp(log_std_k)), and the ensemble weights are w = softmax(z) over
 * the active agents. The policy is over z, not w: the PPO ratio and the entropy are those of z,
 * and the softmax is a fixed map applied afterwards (it needs no gradient).
 *
 * For a diagonal Normal over n coordinates (n = 1 for one MAPPO agent):
 *   log p(z)            = sum_i -(z_i - mu_i)^2 / (2 sigma_i^2) - log_std_i - log(2 pi) / 2
 *   d log p / d mu_i    = (z_i - mu_i) / sigma_i^2
 *   d log p / d log_std_i = (z_i - mu_i)^2 / sigma_i^2 - 1
 *   H                   = sum_i log_std_i + (1 + log(2 pi)) / 2,  so d H / d log_std_i = 1.
 * log_std is unconstrained (as in cleanrl's and on-policy's state-independent log-std parameter).
 *
 * Float functions have plain names, double ones the suffix _d (algorithms/real.h). */
#ifndef RLAE_ALGORITHMS_NORMAL_H
#define RLAE_ALGORITHMS_NORMAL_H

#include "algorithms/real.h"
#include "algorithms/sampler.h"

#define RLAE_NORMAL_DECLARE(real, RT)                                                                  \
    /* log p(z | mu, sigma) summed over n coordinates. */                                             \
    double RT(rlae_normal_log_prob)(const real *mu, const real *log_std, const real *z, int n);        \
    /* Its gradients w.r.t. mu and log_std (either output may be NULL). */                            \
    void RT(rlae_normal_log_prob_grad)(const real *mu, const real *log_std, const real *z, int n,      \
                                       real *dmu, real *dlog_std);                                     \
    /* The entropy summed over n coordinates (its gradient is 1 per log_std). */                      \
    double RT(rlae_normal_entropy)(const real *log_std, int n);                                        \
    /* z_i = mu_i + sigma_i * N(0, 1) draws from s->normal. */                                        \
    void RT(rlae_normal_sample)(const real *mu, const real *log_std, int n, const rlae_sampler *s,     \
                                real *z);                                                              \
    /* w = softmax(z) over the entries with active[k] != 0 (all when active is NULL); inactive        \
     * entries get weight 0; with no active entry every weight is 0. */                              \
    void RT(rlae_softmax_masked)(const real *z, const unsigned char *active, int K, real *w);

RLAE_NORMAL_DECLARE(float, RLAE_F)
RLAE_NORMAL_DECLARE(double, RLAE_D)

#endif
