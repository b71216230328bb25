/* Digamma and trigamma by upward recurrence then an asymptotic (Stirling-type) series.
 *
 * Both series are accurate only for large x, so small arguments are first shifted up with the
 * recurrences psi(x) = psi(x + 1) - 1/x and psi'(x) = psi'(x + 1) + 1/x^2 until x >= 10. At x = 10
 * the next omitted series term is below 1e-16, so the series is truncated after the x^-14 / x^-15
 * terms (the float instantiation keeps the same shift and series). The recurrence terms all have
 * the same sign, so no cancellation happens even for the smallest concentrations (alpha_min = 1e-4:
 * psi ~ -1e4, psi' ~ 1e8). The cores are in special.inc (static inline, host and device); these are
 * the library's callable double entry points. */
#include "algorithms/special.h"

double rlae_lgamma(double x) { return rlae_hd_lgamma(x); }

double rlae_digamma(double x) { return rlae_hd_digamma(x); }

double rlae_trigamma(double x) { return rlae_hd_trigamma(x); }
