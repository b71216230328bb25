/* The Dirichlet policy's density, entropy, gradients, sampling and head (see dirichlet.h). The
 * functions are written once in dirichlet.inc and instantiated here for float and double; their
 * per-component formulas are the host/device cores of policy_math.h. */
#include "algorithms/dirichlet.h"

#include <math.h>

#include "algorithms/policy_math.h"

double rlae_softplus(double x) { return rlae_hd_softplus(x); }

double rlae_sigmoid(double x) { return rlae_hd_sigmoid(x); }

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
