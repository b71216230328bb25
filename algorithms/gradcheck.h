/* Finite-difference gradient checking, used by the unit tests of every analytic gradient here and
 * available to code built on top (the agent can check its whole backward pass the same way).
 *
 * The derivative is the 5-point central difference
 *   f'(x) ~ (f(x - 2h) - 8 f(x - h) + 8 f(x + h) - f(x + 2h)) / (12 h),
 * whose truncation error is O(h^4): with h ~ 1e-4 both truncation and rounding stay near 1e-11
 * relative in double, far below the 1e-5 the tests demand. */
#ifndef RLAE_ALGORITHMS_GRADCHECK_H
#define RLAE_ALGORITHMS_GRADCHECK_H

#include <stddef.h>

/* A scalar function of a parameter vector. */
typedef double (*rlae_scalar_fn)(void *ctx, const double *x);

/* d f / d x[i] at x by the 5-point stencil with step h. x is perturbed in place and restored. */
double rlae_fd_partial(rlae_scalar_fn f, void *ctx, double *x, size_t i, double h);

/* |a - b| / max(|a|, |b|, floor): relative error, with `floor` keeping it meaningful when both are
 * near zero (a gradient that is exactly zero in a clipped region). */
double rlae_rel_err(double a, double b, double floor);

/* Checks every partial of f at x against grad[0..n-1]; step h_i = h * max(1, |x_i|). Returns the
 * largest relative error (floor as above) and, if worst_i is not NULL, the index where it occurred. */
double rlae_gradcheck(rlae_scalar_fn f, void *ctx, double *x, const double *grad, size_t n, double h,
                      double floor, size_t *worst_i);

#endif
