/* Diagonal Normal policy math and the masked softmax of MAPPO (see normal.h). Written once in
 * normal.inc and instantiated here for float and double. */
#include "algorithms/normal.h"

#include <math.h>

#include "algorithms/policy_math.h"

#define real float
#define RT RLAE_F
#include "algorithms/normal.inc"
#undef real
#undef RT

#define real double
#define RT RLAE_D
#include "algorithms/normal.inc"
#undef real
#undef RT
