/* Accuracy statistics for evaluation tables: the mean and a percentile-bootstrap confidence
 * interval over items, resampled with a counter-based generator so the interval is a pure
 * function of (values, seed, resamples) and reproduces exactly across machines and runs. */
#ifndef RLAE_ENVS_METRICS_H
#define RLAE_ENVS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    double mean;
    double lo, hi; /* the interval's ends; both = mean when n < 2 */
    size_t n;
} env_ci;

double env_mean(const double *x, size_t n);

/* Percentile bootstrap: `resamples` (e.g. 1000) resamples of n items drawn with replacement; the
 * interval is the (1-level)/2 and (1+level)/2 quantiles of the resampled means (level 0.95 for a
 * 95% interval). n = 0: mean 0, empty interval. */
rlae_status env_bootstrap_ci(const double *x, size_t n, int resamples, double level, uint64_t seed, env_ci *out);

#endif
