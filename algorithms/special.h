/* Special functions for the Dirichlet policy: log-gamma, digamma and trigamma.
 *
 * The Dirichlet log-density and entropy (METHOD.md §5) are sums of lgamma terms; their gradients
 * with respect to the concentrations need digamma (psi = d lgamma / dx) and the entropy gradient
 * also trigamma (psi' = d psi / dx). Only x > 0 is needed (concentrations are positive), so there is
 * no reflection formula: non-positive or NaN arguments return NaN. Double precision only; float
 * callers convert (these are called a handful of times per sample). */
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

#endif
