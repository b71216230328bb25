/* GAE and advantage normalisation (see gae.h), written once in gae.inc and instantiated here for
 * float and double. Sums are in double whatever the storage type. */
#include "algorithms/gae.h"

#include <math.h>

#include "host/core/status.h"

#define real float
#define RT RLAE_F
#include "algorithms/gae.inc"
#undef real
#undef RT

#define real double
#define RT RLAE_D
#include "algorithms/gae.inc"
#undef real
#undef RT
