/* The scalar formulas of the Dirichlet and Normal policies and of the PPO loss terms, as RLAE_HD
 * static inline functions (policy_math.inc) instantiated for double (plain names) and float (suffix
 * f). The CPU references (dirichlet.inc, normal.inc, ppo_loss.c) loop over these in double; the CUDA
 * kernels (cuda/ppo_loss.cu) call the float ones, so both sides evaluate one source of every formula.
 * Semantics: dirichlet.h, normal.h, ppo_loss.h. */
#ifndef RLAE_ALGORITHMS_POLICY_MATH_H
#define RLAE_ALGORITHMS_POLICY_MATH_H

#include <math.h>
#include <stddef.h>

#include "algorithms/hd.h"
#include "algorithms/special.h"

#ifndef RLAE_DIRICHLET_W_MIN
#define RLAE_DIRICHLET_W_MIN 1.17549435082228750797e-38 /* FLT_MIN (dirichlet.h) */
#endif
#define RLAE_HALF_LOG_2PI 0.91893853320467274178 /* log(2 pi) / 2 */

#define preal double
#define PN(name) name
#define PM_LOG log
#define PM_EXP exp
#define PM_LOG1P log1p
#define PM_FABS fabs
#define PM_FMAX fmax
#define PM_FMIN fmin
#include "algorithms/policy_math.inc"
#undef preal
#undef PN
#undef PM_LOG
#undef PM_EXP
#undef PM_LOG1P
#undef PM_FABS
#undef PM_FMAX
#undef PM_FMIN

#define preal float
#define PN(name) name##f
#define PM_LOG logf
#define PM_EXP expf
#define PM_LOG1P log1pf
#define PM_FABS fabsf
#define PM_FMAX fmaxf
#define PM_FMIN fminf
#include "algorithms/policy_math.inc"
#undef preal
#undef PN
#undef PM_LOG
#undef PM_EXP
#undef PM_LOG1P
#undef PM_FABS
#undef PM_FMAX
#undef PM_FMIN

#endif
