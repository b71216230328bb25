/* Special functions for the Dirichlet policy: log-gamma, digamma and trigamma.
 *
 * The Dirichlet log-density and entropy (METHOD.md §5) are sums of lgamma terms; their gradients
 * with respect to the concentrations need digamma (psi = d lgamma / dx) and the entropy gradient
 * also trigamma (psi' = d psi / dx). Only x > 0 is needed (concentrations are positive), so there is
 * no reflection formula: non-positive or NaN arguments return NaN. Double precision only; float
 * callers convert (these are called a handful of times per sample).
 *
 * The formulas live once, as RLAE_HD static inline cores in special.inc, instantiated below for double
 * (rlae_hd_lgamma, rlae_hd_digamma, rlae_hd_trigamma) and float (the same names with suffix f) so
 * that CUDA kernels (cuda/ppo_loss.cu) evaluate exactly the CPU's series in fp32. */
#ifndef RLAE_ALGORITHMS_SPECIAL_H
#define RLAE_ALGORITHMS_SPECIAL_H

/* log Gamma(x) for x > 0, from libm (lgamma_r, which unlike lgamma does not write the global signgam
 * and so is safe to call from several threads). */
double rlae_lgamma(double x);

/* psi(x) = d/dx log Gamma(x) for x > 0; absolute error about 1e-15 for x >= 1 and relative error
 * about 1e-14 below (where |psi| ~ 1/x grows). */
double rlae_digamma(double x);

/* psi'(x) = d^2/dx^2 log Gamma(x) for x > 0; relative error about 1e-14. */
double rlae_trigamma(double x);

#include <math.h>

#include "algorithms/hd.h"

/* The shift point of the recurrences (special.c): below it the series is not yet accurate. */
#define RLAE_PSI_SHIFT 10.0

#define sreal double
#define SN(name) name
#define SM_LOG log
#define SM_LGAMMA lgamma
#include "algorithms/special.inc"
#undef sreal
#undef SN
#undef SM_LOG
#undef SM_LGAMMA

#define sreal float
#define SN(name) name##f
#define SM_LOG logf
#define SM_LGAMMA lgammaf
#include "algorithms/special.inc"
#undef sreal
#undef SN
#undef SM_LOG
#undef SM_LGAMMA

#endif
