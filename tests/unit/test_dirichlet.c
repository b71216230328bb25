/* Tests of algorithms/dirichlet: density and entropy against mpmath values, every gradient against
 * central finite differences in double (alpha directly and through the softplus head, including
 * concentrations of 0.05 and the 1e-4 floor), float against double, and sampling (moments, the
 * underflow floor at tiny concentrations). */
#include "test.h"

#include "algorithms/dirichlet.h"
#include "algorithms/gradcheck.h"
#include "core/rng.h"

#define KMAX 8

typedef struct {
    int K;
    const double *w;
    int which; /* 0: log_prob(alpha), 1: entropy(alpha), 2: log_prob(head(x)), 3: entropy(head(x)) */
} fn_ctx;

static double f_eval(void *c, const double *x)
{
    const fn_ctx *f = c;
    double alpha[KMAX];
    if (f->which >= 2)
        rlae_dirichlet_head_d(x, f->K, RLAE_DIRICHLET_ALPHA_MIN, alpha);
    else
        memcpy(alpha, x, sizeof(double) * f->K);
    return f->which % 2 == 0 ? rlae_dirichlet_log_prob_d(alpha, f->w, f->K) : rlae_dirichlet_entropy_d(alpha, f->K);
}

static double lg_cb(void *ctx, double a) { return rlae_rng_log_gamma(ctx, a); }

int main(void)
{
    /* mpmath (30 digits) for alpha = (0.05, 2.5, 0.7), w = (0.1, 0.6, 0.3). */
    {
        const double a[3] = {0.05, 2.5, 0.7}, w[3] = {0.1, 0.6, 0.3};
        CHECK_NEAR(rlae_dirichlet_log_prob_d(a, w, 3), -0.796218142954452968, 1e-12);
        CHECK_NEAR(rlae_dirichlet_entropy_d(a, 3), -18.0608196540974861, 1e-11);
        /* The flat Dirichlet(1,1,1) is uniform on the simplex of area 1/2: log p = log 2, H = -log 2. */
        const double one[3] = {1, 1, 1};
        CHECK_NEAR(rlae_dirichlet_log_prob_d(one, w, 3), log(2.0), 1e-14);
        CHECK_NEAR(rlae_dirichlet_entropy_d(one, 3), -log(2.0), 1e-14);
        double m[3];
        rlae_dirichlet_mean_d(a, 3, m);
        CHECK_NEAR(m[1], 2.5 / 3.25, 1e-15);
    }

    /* Gradient checks at random points. */
    rlae_rng r;
    rlae_rng_init(&r, 7, 0, 0, 0);
    double worst[4] = {0, 0, 0, 0};
    for (int trial = 0; trial < 40; trial++) {
        int K = 2 + trial % (KMAX - 1);
        double alpha[KMAX], x[KMAX], w[KMAX], g[KMAX];
        for (int i = 0; i < K; i++) {
            /* Mix tiny (0.05, at the floor 1e-4 + softplus), moderate and large concentrations. */
            int kind = (trial + i) % 4;
            alpha[i] = kind == 0 ? 0.05 : kind == 1 ? 0.05 + 3 * rlae_rng_uniform_double(&r)
                                      : kind == 2 ? 0.3 + rlae_rng_uniform_double(&r) : 5 + 40 * rlae_rng_uniform_double(&r);
            x[i] = -6 + 12 * rlae_rng_uniform_double(&r);
        }
        rlae_rng_dirichlet(&r, alpha, K, w);
        for (int i = 0; i < K; i++)
            w[i] = fmax(w[i], 1e-12); /* keep log w finite for the difference quotients */
        for (int which = 0; which < 4; which++) {
            fn_ctx f = {K, w, which};
            if (which == 0) {
                rlae_dirichlet_log_prob_grad_d(alpha, w, K, g);
            } else if (which == 1) {
                rlae_dirichlet_entropy_grad_d(alpha, K, g);
            } else {
                double a2[KMAX];
                rlae_dirichlet_head_d(x, K, RLAE_DIRICHLET_ALPHA_MIN, a2);
                if (which == 2)
                    rlae_dirichlet_log_prob_grad_d(a2, w, K, g);
                else
                    rlae_dirichlet_entropy_grad_d(a2, K, g);
                rlae_dirichlet_head_backward_d(x, g, K, g);
            }
            double *pt = which < 2 ? alpha : x;
            /* Steps h * max(1, |x_i|): 1e-5 on alpha, whose lgamma derivatives grow like 1/alpha^k
             * near 0.05; 1e-4 on the logits, where softplus flattens that curvature. */
            double e = rlae_gradcheck(f_eval, &f, pt, g, (size_t)K, which < 2 ? 1e-5 : 1e-4, 1e-8, NULL);
            worst[which] = fmax(worst[which], e);
        }
    }
    printf("max rel err vs FD: dlogp/dalpha %.3g, dH/dalpha %.3g, dlogp/dx %.3g, dH/dx %.3g\n", worst[0], worst[1],
           worst[2], worst[3]);
    for (int j = 0; j < 4; j++)
        CHECK_MSG(worst[j] < 1e-5, "gradient %d: %.3g", j, worst[j]);

    /* Float against double on the same inputs: logp/H to 1e-5 relative (they are sums of lgamma
     * terms of size ~10 computed in double from float inputs), gradients to 1e-5 relative. */
    {
        const float af[4] = {0.05f, 1.3f, 7.0f, 0.4f}, wf[4] = {0.01f, 0.2f, 0.7f, 0.09f};
        double ad[4], wd[4], gd[4];
        float gf[4];
        for (int i = 0; i < 4; i++) {
            ad[i] = af[i];
            wd[i] = wf[i];
        }
        CHECK_NEAR(rlae_dirichlet_log_prob(af, wf, 4), rlae_dirichlet_log_prob_d(ad, wd, 4), 1e-12);
        CHECK_NEAR(rlae_dirichlet_entropy(af, 4), rlae_dirichlet_entropy_d(ad, 4), 1e-12);
        rlae_dirichlet_entropy_grad(af, 4, gf);
        rlae_dirichlet_entropy_grad_d(ad, 4, gd);
        for (int i = 0; i < 4; i++)
            CHECK_MSG(rlae_rel_err(gf[i], gd[i], 1e-6) < 1e-6, "float dH[%d] %g vs %g", i, gf[i], gd[i]);
    }

    /* Head: softplus is exact at the extremes, alpha never below alpha_min. */
    CHECK_NEAR(rlae_softplus(-800.0), 0.0, 1e-300);
    CHECK_NEAR(rlae_softplus(800.0), 800.0, 0);
    CHECK_NEAR(rlae_softplus(0.0), log(2.0), 1e-16);
    CHECK_NEAR(rlae_sigmoid(-800.0), 0.0, 1e-300);
    CHECK_NEAR(rlae_sigmoid(800.0), 1.0, 0);
    {
        float x[2] = {-100.0f, 3.0f}, a[2];
        rlae_dirichlet_head(x, 2, RLAE_DIRICHLET_ALPHA_MIN, a);
        CHECK(a[0] >= (float)RLAE_DIRICHLET_ALPHA_MIN);
        CHECK_NEAR(a[1], log1p(exp(3.0)) + 1e-4, 1e-6);
    }

    /* Sampling: the mean of many draws approaches alpha / a0 (std of the mean < 0.005 here). */
    {
        rlae_sampler s = {NULL, lg_cb, &r};
        const float alpha[3] = {0.5f, 2.0f, 4.5f};
        double mean[3] = {0, 0, 0};
        const int N = 20000;
        float w[3];
        for (int n = 0; n < N; n++) {
            rlae_dirichlet_sample(alpha, 3, &s, w);
            for (int i = 0; i < 3; i++)
                mean[i] += w[i] / (double)N;
        }
        for (int i = 0; i < 3; i++)
            CHECK_NEAR(mean[i], alpha[i] / 7.0, 0.01);
    }
    /* Tiny concentrations: every draw is a finite point on the simplex, no weight below the floor,
     * and the log-density is finite. In float, nearly all of the mass lands on one member. */
    {
        rlae_sampler s = {NULL, lg_cb, &r};
        const float alpha[4] = {1e-4f, 1e-4f, 0.05f, 1e-4f};
        int bad = 0, floored = 0;
        for (int n = 0; n < 2000; n++) {
            float w[4];
            rlae_dirichlet_sample(alpha, 4, &s, w);
            double sum = 0;
            for (int i = 0; i < 4; i++) {
                sum += w[i];
                bad += !(w[i] >= (float)RLAE_DIRICHLET_W_MIN) || !isfinite(w[i]);
                floored += w[i] == (float)RLAE_DIRICHLET_W_MIN;
            }
            bad += fabs(sum - 1.0) > 1e-6;
            bad += !isfinite(rlae_dirichlet_log_prob(alpha, w, 4));
        }
        CHECK_EQ_INT(bad, 0);
        CHECK(floored > 0); /* the floor really is exercised at these concentrations */
    }
    /* A weight of exactly 0 is floored before the log instead of giving -inf. */
    {
        const double a[2] = {0.5, 0.5}, w[2] = {0.0, 1.0};
        CHECK(isfinite(rlae_dirichlet_log_prob_d(a, w, 2)));
    }
    return test_summary("test_dirichlet");
}
