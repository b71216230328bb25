/* The Dirichlet policy's density, entropy, gradients, sampling and head (see dirichlet.h). The
 * functions are written once in dirichlet.inc and instantiated here for float and double. */
#include "algorithms/dirichlet.h"

#include <math.h>

#include "algorithms/special.h"

/* Floors a weight at W_MIN (see dirichlet.h); a NaN passes through so that bugs stay visible. */
static inline double dirichlet_floor(double w) { return w < RLAE_DIRICHLET_W_MIN ? RLAE_DIRICHLET_W_MIN : w; }

double rlae_softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

double rlae_sigmoid(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

#define real float
#define RT RLAE_F
#include "algorithms/dirichlet.inc"
#undef real
#undef RT

#define real double
#define RT RLAE_D
#include "algorithms/dirichlet.inc"
#undef real
#undef RT
