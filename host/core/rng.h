/* Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel Random
 * Numbers: As Easy as 1, 2, 3", SC 2011; the Random123 library's philox4x32 with 10 rounds).
 *
 * Every random draw in rlae is a pure function of (seed, episode, span, token, draw index), so a
 * rollout's samples do not depend on batch composition, thread scheduling or the number of ranks:
 * the same episode drawn on one rank or on eight gets the same numbers. The block function is a
 * static inline usable from CUDA too (cuda/ includes this header), so a kernel that draws with the
 * same key and counter gets bit-identical uniforms to the CPU reference.
 *
 * Key and counter layout of rlae_rng (fixed: changing it changes every recorded run):
 *   key = {seed low 32 bits, seed high 32 bits}
 *   ctr = {block index, token, span, episode}
 * Block i yields 4 32-bit words; the stream of words is block 0 words 0..3, block 1 words 0..3, ... */
#ifndef RLAE_CORE_RNG_H
#define RLAE_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define RLAE_HD __host__ __device__
#else
#define RLAE_HD
#endif

#define RLAE_PHILOX_M0 0xD2511F53u
#define RLAE_PHILOX_M1 0xCD9E8D57u
#define RLAE_PHILOX_W0 0x9E3779B9u /* golden ratio */
#define RLAE_PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

/* One Philox4x32-10 block: out = philox(ctr, key). `out` may alias `ctr`. */
RLAE_HD static inline void rlae_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) { /* the key schedule bumps before every round but the first */
            k0 += RLAE_PHILOX_W0;
            k1 += RLAE_PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)RLAE_PHILOX_M0 * x0;
        uint64_t p1 = (uint64_t)RLAE_PHILOX_M1 * x2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        x0 = hi1 ^ x1 ^ k0;
        x1 = lo1;
        x2 = hi0 ^ x3 ^ k1;
        x3 = lo0;
    }
    out[0] = x0;
    out[1] = x1;
    out[2] = x2;
    out[3] = x3;
}

/* A 32-bit word -> float in [0, 1) using its top 24 bits, so every value is exactly representable
 * and 1.0f can never come out (a rounding-to-nearest conversion of 32 bits could produce it). */
RLAE_HD static inline float rlae_u32_to_unit_float(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

/* Word `i` of the rlae_rng stream for a key, computed without state (for kernels and for
 * random access): block i/4, word i%4. */
RLAE_HD static inline uint32_t rlae_rng_word_at(uint64_t seed, uint32_t episode, uint32_t span, uint32_t token,
                                                 uint64_t i)
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)(i >> 2), token, span, episode};
    uint32_t out[4];
    rlae_philox4x32_10(ctr, key, out);
    return out[i & 3];
}

#ifdef __cplusplus
extern "C" {
#endif

/* A stream of random numbers for one (seed, episode, span, token). Cheap to create: make one
 * wherever a draw is needed rather than passing a generator around. Not thread-safe; give each
 * thread its own (they are keyed, so two streams with different keys never overlap). */
typedef struct {
    uint32_t key[2];
    uint32_t ctr[4];     /* ctr[0] is the next block to compute */
    uint32_t buf[4];     /* the current block */
    int used;            /* words of buf already consumed (4: empty) */
    int have_normal;     /* Box-Muller makes normals in pairs; the second waits here */
    double spare_normal;
} rlae_rng;

void rlae_rng_init(rlae_rng *r, uint64_t seed, uint32_t episode, uint32_t span, uint32_t token);

uint32_t rlae_rng_u32(rlae_rng *r);
uint64_t rlae_rng_u64(rlae_rng *r);
/* Uniform in [0, 1) with 24 random bits (one word). */
float rlae_rng_uniform(rlae_rng *r);
/* Uniform in [0, 1) with 53 random bits (two words). */
double rlae_rng_uniform_double(rlae_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias (Lemire's multiply-and-reject). */
uint32_t rlae_rng_below(rlae_rng *r, uint32_t n);
/* Standard normal N(0, 1), Box-Muller. */
double rlae_rng_normal(rlae_rng *r);
/* Gamma(alpha, 1), alpha > 0: Marsaglia & Tsang (2000); for alpha < 1 it draws Gamma(alpha + 1)
 * and multiplies by U^(1/alpha). Returns NaN for alpha <= 0 or non-finite alpha. */
double rlae_rng_gamma(rlae_rng *r, double alpha);
/* log of a Gamma(alpha, 1) draw: the same draw as rlae_rng_gamma but never underflows, because for
 * alpha < 1 the U^(1/alpha) factor (which reaches 1e-300 for alpha ~ 0.01) is kept as a logarithm. */
double rlae_rng_log_gamma(rlae_rng *r, double alpha);
/* Dirichlet(alpha[0..k-1]) into out[0..k-1], all alpha > 0, k >= 1: normalised Gamma draws,
 * normalised in log space so that tiny concentrations still give a point on the simplex. */
void rlae_rng_dirichlet(rlae_rng *r, const double *alpha, int k, double *out);

#ifdef __cplusplus
}
#endif

#endif
