/* The agent's network pass and loss gradient (agent_internal.h): written once in agent_net.inc
 * and built for float (what act and update run) and double (what the gradient test checks
 * against finite differences). Accumulations inside the MLPs are double either way. */
#include "algorithms/agent_internal.h"
#include "algorithms/gae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define real float
#define RT RLAE_F
#include "algorithms/agent_net.inc"
#undef real
#undef RT

#define real double
#define RT RLAE_D
#include "algorithms/agent_net.inc"
#undef real
#undef RT
