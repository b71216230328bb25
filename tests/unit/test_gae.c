/* Tests of algorithms/gae: GAE over flat episodes against hand-computed cases (termination without
 * bootstrap, truncation with bootstrap, an empty episode, the lambda = 0 / lambda = 1 limits), and
 * the two advantage normalisations (cleanrl's per-minibatch, on-policy's masked whole-buffer). */
#include "test.h"

#include "algorithms/gae.h"

int main(void)
{
    /* Four episodes stored flat, gamma = 0.9, lambda = 0.8 (gamma * lambda = 0.72):
     *   ep0 steps 0..2, terminated: r = (0, 0, 1), V = (0.5, 0.6, 0.7)
     *     t2: delta = 1 + 0.9*0 - 0.7 = 0.3                     A = 0.3
     *     t1: delta = 0 + 0.9*0.7 - 0.6 = 0.03                 A = 0.03 + 0.72*0.3   = 0.246
     *     t0: delta = 0 + 0.9*0.6 - 0.5 = 0.04                 A = 0.04 + 0.72*0.246 = 0.21712
     *     returns A + V = (0.71712, 0.846, 1.0)
     *   ep1 empty (offset 3..3)
     *   ep2 steps 3..4, truncated with V(s_T) = 2: r = (0, 0.5), V = (1.0, 1.5)
     *     t4: delta = 0.5 + 0.9*2.0 - 1.5 = 0.8                 A = 0.8
     *     t3: delta = 0 + 0.9*1.5 - 1.0 = 0.35                 A = 0.35 + 0.72*0.8 = 0.926
     *     returns (1.926, 2.3)
     *   ep3 step 5, terminated: r = 1, V = 0.25 -> A = 0.75, return 1. Its bootstrap (99) must be
     *     ignored because it terminated. */
    const int off[5] = {0, 3, 3, 5, 6};
    const double rew[6] = {0, 0, 1, 0, 0.5, 1};
    const double val[6] = {0.5, 0.6, 0.7, 1.0, 1.5, 0.25};
    const unsigned char term[4] = {1, 1, 0, 1};
    const double boot[4] = {99, 99, 2.0, 99};
    const double adv_expect[6] = {0.21712, 0.246, 0.3, 0.926, 0.8, 0.75};
    const double ret_expect[6] = {0.71712, 0.846, 1.0, 1.926, 2.3, 1.0};
    double adv[6], ret[6];
    rlae_gae_d(4, off, rew, val, term, boot, 0.9, 0.8, adv, ret);
    for (int t = 0; t < 6; t++) {
        CHECK_NEAR(adv[t], adv_expect[t], 1e-14);
        CHECK_NEAR(ret[t], ret_expect[t], 1e-14);
    }

    /* The same ep2 treated as terminated instead: no bootstrap.
     *   t4: delta = 0.5 - 1.5 = -1.0   A = -1.0;   t3: A = 0.35 + 0.72*(-1.0) = -0.37 */
    {
        const unsigned char term2[4] = {1, 1, 1, 1};
        rlae_gae_d(4, off, rew, val, term2, NULL, 0.9, 0.8, adv, ret);
        CHECK_NEAR(adv[4], -1.0, 1e-14);
        CHECK_NEAR(adv[3], -0.37, 1e-14);
        CHECK_NEAR(adv[0], 0.21712, 1e-14); /* other episodes unchanged */
    }

    /* Limits on ep0: lambda = 0 gives the one-step TD error; gamma = lambda = 1 gives the
     * Monte-Carlo return minus V: (1 - 0.5, 1 - 0.6, 1 - 0.7). */
    rlae_gae_d(1, off, rew, val, term, boot, 0.9, 0.0, adv, ret);
    CHECK_NEAR(adv[0], 0.04, 1e-15);
    CHECK_NEAR(adv[1], 0.03, 1e-15);
    CHECK_NEAR(adv[2], 0.3, 1e-15);
    rlae_gae_d(1, off, rew, val, term, boot, 1.0, 1.0, adv, ret);
    CHECK_NEAR(adv[0], 0.5, 1e-15);
    CHECK_NEAR(adv[1], 0.4, 1e-15);
    CHECK_NEAR(ret[0], 1.0, 1e-15);

    /* Float agrees with double to float rounding. */
    {
        float rf[6], vf[6], bf[4], af[6], retf[6];
        for (int t = 0; t < 6; t++) {
            rf[t] = (float)rew[t];
            vf[t] = (float)val[t];
        }
        for (int e = 0; e < 4; e++)
            bf[e] = (float)boot[e];
        rlae_gae(4, off, rf, vf, term, bf, 0.9, 0.8, af, retf);
        for (int t = 0; t < 6; t++) {
            CHECK_NEAR(af[t], adv_expect[t], 1e-6);
            CHECK_NEAR(retf[t], ret_expect[t], 1e-6);
        }
    }

    /* Minibatch normalisation (cleanrl): (1, 2, 3, 4) has mean 2.5 and unbiased std sqrt(5/3) =
     * 1.2909944487358056, so 1 -> -1.5 / (1.2909944487358056 + 1e-8). */
    {
        double a[4] = {1, 2, 3, 4};
        rlae_adv_normalize_minibatch_d(a, 4);
        CHECK_NEAR(a[0], -1.5 / (1.2909944487358056 + 1e-8), 1e-14);
        CHECK_NEAR(a[3], 1.5 / (1.2909944487358056 + 1e-8), 1e-14);
        double one[1] = {3.0};
        rlae_adv_normalize_minibatch_d(one, 1); /* n = 1: std 0, the entry becomes 0 */
        CHECK_NEAR(one[0], 0.0, 0);
        float af2[4] = {1, 2, 3, 4};
        rlae_adv_normalize_minibatch(af2, 4);
        CHECK_NEAR(af2[1], -0.5 / (1.2909944487358056 + 1e-8), 1e-6);
    }
    /* Buffer normalisation (on-policy): statistics over the active entries (1, 2, 3): mean 2,
     * population std sqrt(2/3) = 0.816496580927726; every entry is normalised, the masked 100 too. */
    {
        double a[4] = {1, 2, 3, 100};
        const unsigned char mask[4] = {1, 1, 1, 0};
        rlae_adv_normalize_buffer_d(a, 4, mask);
        CHECK_NEAR(a[0], -1.0 / (0.816496580927726 + 1e-5), 1e-13);
        CHECK_NEAR(a[1], 0.0, 1e-15);
        CHECK_NEAR(a[3], 98.0 / (0.816496580927726 + 1e-5), 1e-11);
        double b[2] = {5, 7};
        rlae_adv_normalize_buffer_d(b, 2, NULL); /* mean 6, population std 1 */
        CHECK_NEAR(b[0], -1.0 / (1.0 + 1e-5), 1e-14);
        const unsigned char none[2] = {0, 0};
        rlae_adv_normalize_buffer_d(b, 2, none); /* nothing active: unchanged */
        CHECK_NEAR(b[0], -1.0 / (1.0 + 1e-5), 1e-14);
    }
    return test_summary("test_gae");
}
