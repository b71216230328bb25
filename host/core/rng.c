/* The stateful side of the counter-based RNG (see rng.h): a small buffer over Philox blocks, and
 * the distributions PPO and sampling need (uniform, normal, Gamma, Dirichlet). Everything is
 * derived from the word stream of one key, so a draw sequence is reproducible from its key alone. */
#include "core/rng.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

void rlae_rng_init(rlae_rng *r, uint64_t seed, uint32_t episode, uint32_t span, uint32_t token)
{
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->ctr[0] = 0;
    r->ctr[1] = token;
    r->ctr[2] = span;
    r->ctr[3] = episode;
    r->used = 4;
    r->have_normal = 0;
    r->spare_normal = 0.0;
}

uint32_t rlae_rng_u32(rlae_rng *r)
{
    if (r->used == 4) {
        rlae_philox4x32_10(r->ctr, r->key, r->buf);
        r->ctr[0]++; /* 2^32 blocks = 2^34 words per key: far beyond any episode's needs */
        r->used = 0;
    }
    return r->buf[r->used++];
}

uint64_t rlae_rng_u64(rlae_rng *r)
{
    uint64_t hi = rlae_rng_u32(r);
    return (hi << 32) | rlae_rng_u32(r);
}

float rlae_rng_uniform(rlae_rng *r) { return rlae_u32_to_unit_float(rlae_rng_u32(r)); }

double rlae_rng_uniform_double(rlae_rng *r)
{
    return (double)(rlae_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); /* 2^-53 */
}

uint32_t rlae_rng_below(rlae_rng *r, uint32_t n)
{
    /* Lemire, "Fast random integer generation in an interval" (2019): the high word of x*n is
     * uniform on [0, n) once the few low words below 2^32 mod n are rejected. */
    uint64_t m = (uint64_t)rlae_rng_u32(r) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (lo < threshold) {
            m = (uint64_t)rlae_rng_u32(r) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double rlae_rng_normal(rlae_rng *r)
{
    if (r->have_normal) {
        r->have_normal = 0;
        return r->spare_normal;
    }
    double u1 = 1.0 - rlae_rng_uniform_double(r); /* (0, 1]: log(u1) is finite */
    double u2 = rlae_rng_uniform_double(r);
    double rad = sqrt(-2.0 * log(u1));
    double th = 2.0 * M_PI * u2;
    r->spare_normal = rad * sin(th);
    r->have_normal = 1;
    return rad * cos(th);
}

/* Marsaglia & Tsang, "A simple method for generating gamma variables" (ACM TOMS 2000), alpha >= 1.
 * Returns the log of the draw: d*v is always > 0, so the log is finite. */
static double log_gamma_ge1(rlae_rng *r, double alpha)
{
    double d = alpha - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rlae_rng_normal(r), v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double u = rlae_rng_uniform_double(r), x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + d * (1.0 - v + log(v)))
            return log(d) + log(v);
    }
}

double rlae_rng_log_gamma(rlae_rng *r, double alpha)
{
    if (!(alpha > 0.0) || !isfinite(alpha))
        return NAN;
    if (alpha >= 1.0)
        return log_gamma_ge1(r, alpha);
    /* Gamma(a) = Gamma(a + 1) * U^(1/a) (Marsaglia & Tsang, section 6), U in (0, 1]. */
    double lg = log_gamma_ge1(r, alpha + 1.0);
    double u = 1.0 - rlae_rng_uniform_double(r);
    return lg + log(u) / alpha;
}

double rlae_rng_gamma(rlae_rng *r, double alpha) { return exp(rlae_rng_log_gamma(r, alpha)); }

void rlae_rng_dirichlet(rlae_rng *r, const double *alpha, int k, double *out)
{
    double mx = -INFINITY;
    for (int i = 0; i < k; i++) {
        out[i] = rlae_rng_log_gamma(r, alpha[i]);
        if (out[i] > mx)
            mx = out[i];
    }
    double sum = 0.0;
    for (int i = 0; i < k; i++) {
        out[i] = exp(out[i] - mx);
        sum += out[i];
    }
    for (int i = 0; i < k; i++)
        out[i] /= sum;
}
