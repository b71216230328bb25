/* Philox4x32-10 against the published Random123 known-answer vectors (tests/kat_vectors of
 * github.com/DEShawResearch/random123, the three "philox4x32 10" lines), the stream's
 * counter-based properties, and the distributions' moments over 1e5 draws with a fixed seed. */
#include "core/rng.h"
#include "test.h"

#include <math.h>
#include <stdint.h>

static void test_kat(void)
{
    static const struct {
        uint32_t ctr[4], key[2], want[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t t = 0; t < sizeof kat / sizeof kat[0]; t++) {
        uint32_t out[4];
        rlae_philox4x32_10(kat[t].ctr, kat[t].key, out);
        for (int i = 0; i < 4; i++)
            CHECK_MSG(out[i] == kat[t].want[i], "vector %zu word %d: got %08x want %08x", t, i, out[i],
                      kat[t].want[i]);
        /* in-place use (out aliasing ctr) must give the same answer */
        uint32_t io[4] = {kat[t].ctr[0], kat[t].ctr[1], kat[t].ctr[2], kat[t].ctr[3]};
        rlae_philox4x32_10(io, kat[t].key, io);
        CHECK(io[0] == kat[t].want[0] && io[3] == kat[t].want[3]);
    }
}

static void test_stream_layout(void)
{
    /* The stream is documented as ctr = {block, token, span, episode}, key = seed halves. */
    uint64_t seed = 0x0123456789abcdefULL;
    rlae_rng r;
    rlae_rng_init(&r, seed, 7, 3, 11);
    uint32_t ctr[4] = {0, 11, 3, 7}, key[2] = {0x89abcdef, 0x01234567}, blk[4];
    rlae_philox4x32_10(ctr, key, blk);
    for (int i = 0; i < 4; i++)
        CHECK(rlae_rng_u32(&r) == blk[i]);
    ctr[0] = 1;
    rlae_philox4x32_10(ctr, key, blk);
    CHECK(rlae_rng_u32(&r) == blk[0]);

    /* Random access equals sequential access. */
    rlae_rng_init(&r, seed, 7, 3, 11);
    int ok = 1;
    for (uint64_t i = 0; i < 103; i++)
        ok &= rlae_rng_u32(&r) == rlae_rng_word_at(seed, 7, 3, 11, i);
    CHECK(ok);
}

static void test_order_independence(void)
{
    /* Draws of one key do not depend on what other keys drew in between. */
    enum { N = 50 };
    double alone_a[N], alone_b[N];
    rlae_rng a, b;
    rlae_rng_init(&a, 42, 1, 0, 0);
    for (int i = 0; i < N; i++)
        alone_a[i] = rlae_rng_normal(&a);
    rlae_rng_init(&b, 42, 2, 0, 0);
    for (int i = 0; i < N; i++)
        alone_b[i] = rlae_rng_gamma(&b, 0.7);
    rlae_rng_init(&a, 42, 1, 0, 0);
    rlae_rng_init(&b, 42, 2, 0, 0);
    int same = 1;
    for (int i = N - 1; i >= 0; i--) { /* interleaved, and b first */
        double gb = rlae_rng_gamma(&b, 0.7);
        double na = rlae_rng_normal(&a);
        same &= gb == alone_b[N - 1 - i] && na == alone_a[N - 1 - i];
    }
    CHECK(same);

    /* Each key component changes the stream. */
    rlae_rng k0, k1, k2, k3, k4;
    rlae_rng_init(&k0, 5, 1, 2, 3);
    rlae_rng_init(&k1, 6, 1, 2, 3);
    rlae_rng_init(&k2, 5, 9, 2, 3);
    rlae_rng_init(&k3, 5, 1, 9, 3);
    rlae_rng_init(&k4, 5, 1, 2, 9);
    uint32_t w0 = rlae_rng_u32(&k0);
    CHECK(w0 != rlae_rng_u32(&k1));
    CHECK(w0 != rlae_rng_u32(&k2));
    CHECK(w0 != rlae_rng_u32(&k3));
    CHECK(w0 != rlae_rng_u32(&k4));
    /* The high half of the seed matters too. */
    rlae_rng h0, h1;
    rlae_rng_init(&h0, 1, 0, 0, 0);
    rlae_rng_init(&h1, 1 | (1ULL << 32), 0, 0, 0);
    CHECK(rlae_rng_u32(&h0) != rlae_rng_u32(&h1));
}

#define NS 100000

static void moments(const double *x, int n, double *mean, double *var)
{
    double m = 0, v = 0;
    for (int i = 0; i < n; i++)
        m += x[i];
    m /= n;
    for (int i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *var = v / (n - 1);
}

static double xs[NS];

static void test_uniform(void)
{
    rlae_rng r;
    rlae_rng_init(&r, 2024, 0, 0, 0);
    int in_range = 1, grid = 1;
    for (int i = 0; i < NS; i++) {
        float u = rlae_rng_uniform(&r);
        in_range &= u >= 0.0f && u < 1.0f;
        grid &= (double)u * 16777216.0 == floor((double)u * 16777216.0); /* 24-bit grid */
        xs[i] = u;
    }
    CHECK(in_range);
    CHECK(grid);
    double m, v;
    moments(xs, NS, &m, &v);
    CHECK_NEAR(m, 0.5, 0.005);
    CHECK_NEAR(v, 1.0 / 12.0, 0.002);
    /* The largest word maps below 1. */
    CHECK(rlae_u32_to_unit_float(0xffffffffu) < 1.0f);
    CHECK(rlae_u32_to_unit_float(0) == 0.0f);

    rlae_rng_init(&r, 2025, 0, 0, 0);
    in_range = 1;
    for (int i = 0; i < NS; i++) {
        xs[i] = rlae_rng_uniform_double(&r);
        in_range &= xs[i] >= 0.0 && xs[i] < 1.0;
    }
    CHECK(in_range);
    moments(xs, NS, &m, &v);
    CHECK_NEAR(m, 0.5, 0.005);
    CHECK_NEAR(v, 1.0 / 12.0, 0.002);

    /* below(n): range and per-bin counts (expected 1e4 each, sd ~95). */
    int counts[10] = {0};
    rlae_rng_init(&r, 2026, 0, 0, 0);
    int below_ok = 1;
    for (int i = 0; i < NS; i++) {
        uint32_t b = rlae_rng_below(&r, 10);
        below_ok &= b < 10;
        if (b < 10)
            counts[b]++;
    }
    CHECK(below_ok);
    for (int i = 0; i < 10; i++)
        CHECK_MSG(abs(counts[i] - NS / 10) < 600, "bin %d has %d", i, counts[i]);
    CHECK(rlae_rng_below(&r, 1) == 0);
}

static void test_normal(void)
{
    rlae_rng r;
    rlae_rng_init(&r, 99, 0, 0, 0);
    int finite = 1, beyond3 = 0;
    for (int i = 0; i < NS; i++) {
        xs[i] = rlae_rng_normal(&r);
        finite &= isfinite(xs[i]);
        beyond3 += fabs(xs[i]) > 3.0;
    }
    CHECK(finite);
    double m, v;
    moments(xs, NS, &m, &v);
    CHECK_NEAR(m, 0.0, 0.015);
    CHECK_NEAR(v, 1.0, 0.03);
    /* P(|Z| > 3) = 0.0027 -> ~270 of 1e5 */
    CHECK_MSG(beyond3 > 170 && beyond3 < 370, "beyond3 = %d", beyond3);
}

static void test_gamma(void)
{
    static const double alphas[] = {0.05, 0.3, 1.0, 2.5, 7.0};
    for (size_t a = 0; a < sizeof alphas / sizeof alphas[0]; a++) {
        double alpha = alphas[a];
        rlae_rng r;
        rlae_rng_init(&r, 7, (uint32_t)a, 0, 0);
        int positive = 1;
        for (int i = 0; i < NS; i++) {
            xs[i] = rlae_rng_gamma(&r, alpha);
            positive &= xs[i] >= 0.0 && isfinite(xs[i]);
        }
        CHECK(positive);
        double m, v;
        moments(xs, NS, &m, &v);
        /* Gamma(a,1): mean a, variance a, excess kurtosis 6/a. Tolerances are 6 standard errors. */
        double se_mean = sqrt(alpha / NS);
        double se_var = alpha * sqrt((2.0 + 6.0 / alpha) / NS);
        CHECK_MSG(fabs(m - alpha) < 6 * se_mean, "alpha %g: mean %g", alpha, m);
        CHECK_MSG(fabs(v - alpha) < 6 * se_var, "alpha %g: var %g", alpha, v);
    }
    rlae_rng r;
    rlae_rng_init(&r, 1, 0, 0, 0);
    CHECK(isnan(rlae_rng_gamma(&r, 0.0)));
    CHECK(isnan(rlae_rng_gamma(&r, -1.0)));
    CHECK(isnan(rlae_rng_gamma(&r, NAN)));
    /* For very small alpha the draw underflows in linear space but not in log space. */
    double lg = rlae_rng_log_gamma(&r, 1e-3);
    CHECK(isfinite(lg));
}

static void test_dirichlet(void)
{
    const double alpha[3] = {0.5, 2.0, 5.0};
    const double asum = 7.5;
    double mean[3] = {0}, sq0 = 0;
    rlae_rng r;
    rlae_rng_init(&r, 11, 0, 0, 0);
    int simplex = 1;
    for (int i = 0; i < NS; i++) {
        double p[3];
        rlae_rng_dirichlet(&r, alpha, 3, p);
        double s = p[0] + p[1] + p[2];
        simplex &= fabs(s - 1.0) < 1e-12 && p[0] >= 0 && p[1] >= 0 && p[2] >= 0;
        for (int k = 0; k < 3; k++)
            mean[k] += p[k];
        sq0 += p[0] * p[0];
    }
    CHECK(simplex);
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(mean[k] / NS, alpha[k] / asum, 0.003);
    /* Var(p0) = a0 (A - a0) / (A^2 (A + 1)) */
    double m0 = mean[0] / NS, var0 = sq0 / NS - m0 * m0;
    CHECK_NEAR(var0, alpha[0] * (asum - alpha[0]) / (asum * asum * (asum + 1.0)), 0.0005);

    /* Tiny concentrations still land on the simplex (log-space normalisation). */
    const double tiny[4] = {1e-3, 1e-3, 1e-3, 1e-3};
    double p[4];
    rlae_rng_dirichlet(&r, tiny, 4, p);
    double s = p[0] + p[1] + p[2] + p[3];
    CHECK_NEAR(s, 1.0, 1e-12);
}

int main(void)
{
    test_kat();
    test_stream_layout();
    test_order_independence();
    test_uniform();
    test_normal();
    test_gamma();
    test_dirichlet();
    return test_summary("test_rng");
}
