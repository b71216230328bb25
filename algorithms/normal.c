/* Diagonal Normal policy math and the masked softmax of MAPPO (see normal.h). Written once in
 * normal.inc and instantiated here for float and double. */
#include "algorithms/normal.h"

#include <math.h>

#define RLAE_HALF_LOG_2PI 0.91893853320467274178 /* log(2 pi) / 2 */

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
