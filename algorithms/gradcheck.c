/* Finite-difference gradient checking (see gradcheck.h). */
#include "algorithms/gradcheck.h"

#include <math.h>

double rlae_fd_partial(rlae_scalar_fn f, void *ctx, double *x, size_t i, double h)
{
    double x0 = x[i];
    x[i] = x0 - 2 * h;
    double fm2 = f(ctx, x);
    x[i] = x0 - h;
    double fm1 = f(ctx, x);
    x[i] = x0 + h;
    double fp1 = f(ctx, x);
    x[i] = x0 + 2 * h;
    double fp2 = f(ctx, x);
    x[i] = x0;
    /* Differences first: a function that does not depend on x[i] then gives exactly 0. */
    return (8 * (fp1 - fm1) - (fp2 - fm2)) / (12 * h);
}

double rlae_rel_err(double a, double b, double floor)
{
    double s = fmax(fmax(fabs(a), fabs(b)), floor);
    return fabs(a - b) / s;
}

double rlae_gradcheck(rlae_scalar_fn f, void *ctx, double *x, const double *grad, size_t n, double h,
                      double floor, size_t *worst_i)
{
    double worst = 0.0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double hi = h * fmax(1.0, fabs(x[i]));
        double fd = rlae_fd_partial(f, ctx, x, i, hi);
        double e = rlae_rel_err(grad[i], fd, floor);
        if (!(e <= worst)) { /* also catches NaN */
            worst = e;
            wi = i;
            if (isnan(e))
                break;
        }
    }
    if (worst_i)
        *worst_i = wi;
    return worst;
}
