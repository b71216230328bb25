/* Digamma and trigamma by upward recurrence then an asymptotic (Stirling-type) series.
 *
 * Both series are accurate only for large x, so small arguments are first shifted up with the
 * recurrences psi(x) = psi(x + 1) - 1/x and psi'(x) = psi'(x + 1) + 1/x^2 until x >= 10. At x = 10
 * the next omitted series term is below 1e-16, so the series is truncated after the x^-14 / x^-15
 * terms. The recurrence terms all have the same sign, so no cancellation happens even for the
 * smallest concentrations (alpha_min = 1e-4: psi ~ -1e4, psi' ~ 1e8). */
#include "algorithms/special.h"

#include <math.h>

/* The shift point: below it the asymptotic series is not yet accurate to double precision. */
#define RLAE_PSI_SHIFT 10.0

double rlae_lgamma(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

double rlae_digamma(double x)
{
    if (!(x > 0.0) || isinf(x))
        return isinf(x) && x > 0 ? INFINITY : NAN;
    double acc = 0.0;
    while (x < RLAE_PSI_SHIFT) {
        acc -= 1.0 / x;
        x += 1.0;
    }
    /* psi(x) ~ ln x - 1/(2x) - sum_{n>=1} B_{2n} / (2n x^{2n}), Bernoulli numbers B_2 = 1/6,
     * B_4 = -1/30, B_6 = 1/42, B_8 = -1/30, B_10 = 5/66, B_12 = -691/2730, B_14 = 7/6. */
    double x2 = 1.0 / (x * x);
    double series = x2 * (1.0 / 12 -
                    x2 * (1.0 / 120 -
                    x2 * (1.0 / 252 -
                    x2 * (1.0 / 240 -
                    x2 * (1.0 / 132 -
                    x2 * (691.0 / 32760 -
                    x2 * (1.0 / 12)))))));
    return acc + log(x) - 0.5 / x - series;
}

double rlae_trigamma(double x)
{
    if (!(x > 0.0) || isinf(x))
        return isinf(x) && x > 0 ? 0.0 : NAN;
    double acc = 0.0;
    while (x < RLAE_PSI_SHIFT) {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    /* psi'(x) ~ 1/x + 1/(2x^2) + sum_{n>=1} B_{2n} / x^{2n+1}. */
    double ix = 1.0 / x, x2 = ix * ix;
    double series = ix * x2 * (1.0 / 6 -
                    x2 * (1.0 / 30 -
                    x2 * (1.0 / 42 -
                    x2 * (1.0 / 30 -
                    x2 * (5.0 / 66 -
                    x2 * (691.0 / 2730 -
                    x2 * (7.0 / 6)))))));
    return acc + ix + 0.5 * x2 + series;
}
