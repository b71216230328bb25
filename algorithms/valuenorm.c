/* ValueNorm (see valuenorm.h): the state functions here, the array functions written once in
 * valuenorm.inc and instantiated for float and double. */
#include "algorithms/valuenorm.h"

#include <math.h>

void rlae_valuenorm_init(rlae_valuenorm *vn, double beta, double epsilon)
{
    vn->running_mean = vn->running_mean_sq = vn->debiasing_term = 0.0;
    vn->beta = beta;
    vn->epsilon = epsilon;
}

void rlae_valuenorm_mean_var(const rlae_valuenorm *vn, double *mean, double *var)
{
    double d = fmax(vn->debiasing_term, vn->epsilon);
    double m = vn->running_mean / d;
    double m2 = vn->running_mean_sq / d;
    *mean = m;
    *var = fmax(m2 - m * m, 1e-2);
}

#define real float
#define RT RLAE_F
#include "algorithms/valuenorm.inc"
#undef real
#undef RT

#define real double
#define RT RLAE_D
#include "algorithms/valuenorm.inc"
#undef real
#undef RT
