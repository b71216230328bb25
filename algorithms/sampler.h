/* Random-number callbacks the RL math samples through.
 *
 * algorithms/ does not depend on any particular generator: the agent wires these to host/core/rng.h
 * (Philox, keyed per episode/span so draws are reproducible), and the tests wire them to a tiny
 * local generator. Each callback receives `ctx` unchanged. */
#ifndef RLAE_ALGORITHMS_SAMPLER_H
#define RLAE_ALGORITHMS_SAMPLER_H

typedef struct {
    /* A standard normal N(0, 1) draw (Normal policies, orthogonal initialisation). */
    double (*normal)(void *ctx);
    /* The natural log of a Gamma(alpha, 1) draw, alpha > 0 (Dirichlet sampling). A log so that tiny
     * concentrations (alpha ~ 0.01, whose draws reach 1e-300 and below) do not underflow to 0;
     * rlae_rng_log_gamma has exactly this contract. */
    double (*log_gamma)(void *ctx, double alpha);
    void *ctx;
} rlae_sampler;

#endif
