/* Value normalisation for MAPPO (METHOD.md §5; on-policy's ValueNorm for one scalar value).
 *
 * The critic predicts values in a normalised space whose statistics are running averages of the
 * returns it is trained on, so the value loss keeps a stable scale as rewards shift. The running
 * moments are exponential averages started at 0, debiased like Adam's moments:
 *   update with a batch x:   m  <- beta m  + (1 - beta) mean(x)
 *                            m2 <- beta m2 + (1 - beta) mean(x^2)
 *                            d  <- beta d  + (1 - beta)            (d = 1 - beta^updates)
 *   mean = m / max(d, eps),  var = max(m2 / max(d, eps) - mean^2, 1e-2)
 *   normalize(x) = (x - mean) / sqrt(var),  denormalize(y) = y sqrt(var) + mean
 * with beta = 0.99999 and eps = 1e-5. The trainer updates it with each update's returns, trains the
 * critic against normalize(returns), and de-normalises predictions before GAE. The state is plain
 * doubles, so checkpoints save the struct's fields. */
#ifndef RLAE_ALGORITHMS_VALUENORM_H
#define RLAE_ALGORITHMS_VALUENORM_H

#include "algorithms/real.h"

typedef struct {
    double running_mean, running_mean_sq, debiasing_term;
    double beta, epsilon;
} rlae_valuenorm;

#define RLAE_VALUENORM_BETA 0.99999
#define RLAE_VALUENORM_EPS 1e-5

/* Starts at zero moments with the given beta and epsilon (RLAE_VALUENORM_BETA, RLAE_VALUENORM_EPS). */
void rlae_valuenorm_init(rlae_valuenorm *vn, double beta, double epsilon);
/* The debiased mean and variance (variance floored at 1e-2). */
void rlae_valuenorm_mean_var(const rlae_valuenorm *vn, double *mean, double *var);

#define RLAE_VALUENORM_DECLARE(real, RT)                                                              \
    /* One update with the batch x[0..n-1] (n >= 1; n = 0 leaves the state unchanged). */           \
    void RT(rlae_valuenorm_update)(rlae_valuenorm *vn, const real *x, int n);                        \
    /* out = normalize(x) / denormalize(x); out may alias x. */                                      \
    void RT(rlae_valuenorm_normalize)(const rlae_valuenorm *vn, const real *x, int n, real *out);    \
    void RT(rlae_valuenorm_denormalize)(const rlae_valuenorm *vn, const real *x, int n, real *out);

RLAE_VALUENORM_DECLARE(float, RLAE_F)
RLAE_VALUENORM_DECLARE(double, RLAE_D)

#endif
