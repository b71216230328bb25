/* Adam, linear LR anneal and gradient-norm clipping (see adam.h). The array code is written once in
 * adam.inc and instantiated for float and double. */
#include "algorithms/adam.h"

#include <math.h>
#include <stdlib.h>

rlae_adam_hparams rlae_adam_defaults(void)
{
    rlae_adam_hparams h = {.lr = 3e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-5};
    return h;
}

double rlae_lr_linear_anneal(double lr0, long update, long num_updates)
{
    if (num_updates <= 0)
        return lr0;
    return lr0 * (1.0 - (double)(update - 1) / (double)num_updates);
}

#define real float
#define RT RLAE_F
#include "algorithms/adam.inc"
#undef real
#undef RT

#define real double
#define RT RLAE_D
#include "algorithms/adam.inc"
#undef real
#undef RT
