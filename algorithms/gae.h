/* Generalised advantage estimation over the span steps of episodes (METHOD.md §2), and the two
 * advantage normalisations of §5.
 *
 * The rollout buffer stores episodes flat: episode e owns steps [offset[e], offset[e+1]). Step t
 * has the reward received after acting at t and the value V(s_t). For the last step of an episode
 * the next value is 0 when the episode terminated (EOS or a stop string: no future reward exists)
 * and the supplied bootstrap V(s_T) when it was truncated (max_new_tokens, or a rollout cut off
 * mid-episode): the answer could have gone on, and treating the cut as an end would teach the
 * critic that long answers are worth nothing.
 *
 *   delta_t = r_t + gamma V(s_{t+1}) - V(s_t),   A_t = delta_t + gamma lambda A_{t+1},   R_t = A_t + V(s_t)
 *
 * For MAPPO with value normalisation, pass de-normalised values (on-policy computes GAE on
 * denormalised predictions) and normalise the returns afterwards for the value loss.
 * Float functions have plain names, double ones the suffix _d (algorithms/real.h). */
#ifndef RLAE_ALGORITHMS_GAE_H
#define RLAE_ALGORITHMS_GAE_H

#include "algorithms/real.h"

#define RLAE_GAE_DECLARE(real, RT)                                                                     \
    /* offset: n_ep + 1 increasing step indices (offset[0] = 0 for a whole buffer). reward, value,    \
     * adv, ret: offset[n_ep] entries. terminated[e] != 0: episode e ended (no bootstrap);           \
     * otherwise bootstrap[e] = V(s_T) is used (bootstrap may be NULL if every episode terminated). \
     * adv and ret may not alias the inputs. */                                                      \
    void RT(rlae_gae)(int n_ep, const int *offset, const real *reward, const real *value,             \
                      const unsigned char *terminated, const real *bootstrap, double gamma,           \
                      double lambda, real *adv, real *ret);                                           \
    /* PPO (cleanrl): per minibatch, adv = (adv - mean) / (std + 1e-8) with the unbiased (n - 1)    \
     * standard deviation, as torch's Tensor.std. With n < 2 the std is taken as 0. */               \
    void RT(rlae_adv_normalize_minibatch)(real *adv, int n);                                          \
    /* MAPPO (on-policy): over the whole buffer, statistics from the entries with mask != 0 (all if \
     * mask is NULL), population std (numpy), adv = (adv - mean) / (std + 1e-5), applied to every  \
     * entry. With no active entry nothing changes. */                                              \
    void RT(rlae_adv_normalize_buffer)(real *adv, int n, const unsigned char *mask);

RLAE_GAE_DECLARE(float, RLAE_F)
RLAE_GAE_DECLARE(double, RLAE_D)

#endif
