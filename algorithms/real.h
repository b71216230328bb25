/* How the numeric modules of algorithms/ are written once and built for two precisions.
 *
 * Production paths (the agent, the PPO/MAPPO update) store everything in float. The gradient tests
 * need the very same math in double, where central finite differences can confirm an analytic
 * gradient to 1e-5 relative error (float rounding would drown that). So each numeric module is
 * written once against two macros and compiled twice:
 *
 *   real      the element type of every array argument (float or double)
 *   RT(name)  the function/type name for that instantiation: RLAE_F (float: the plain name) or
 *             RLAE_D (double: name with a _d suffix, e.g. rlae_gae_d)
 *
 * Headers declare both sets with one macro per module, invoked as (float, RLAE_F) and
 * (double, RLAE_D); the module's .c includes its <module>.inc body twice. Scalars inside the
 * math (sums, logs, digamma) are always double, so the float path loses precision only where it
 * stores results. */
#ifndef RLAE_ALGORITHMS_REAL_H
#define RLAE_ALGORITHMS_REAL_H

#define RLAE_F(name) name
#define RLAE_D(name) name##_d

#endif
