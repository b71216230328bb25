/* Tests of algorithms/normal: log-density and entropy against closed forms, the gradients w.r.t. mu
 * and log_std against central finite differences in double, float against double, sampling
 * moments, and the masked softmax that turns MAPPO's per-agent draws into ensemble weights. */
#include "test.h"

#include "algorithms/gradcheck.h"
#include "algorithms/normal.h"
#include "core/rng.h"

#define N 5

typedef struct {
    const double *z;
    int which; /* 0: log_prob as a function of (mu, log_std) packed [mu | log_std]; 1: entropy */
} fn_ctx;

static double f_eval(void *c, const double *p)
{
    const fn_ctx *f = c;
    return f->which == 0 ? rlae_normal_log_prob_d(p, p + N, f->z, N) : rlae_normal_entropy_d(p + N, N);
}

static double normal_cb(void *ctx) { return rlae_rng_normal(ctx); }

int main(void)
{
    const double half_log_2pi = 0.5 * log(2 * 3.14159265358979323846);
    {
        double mu = 0.3, ls = log(2.0), z = 1.3; /* u = 0.5 */
        CHECK_NEAR(rlae_normal_log_prob_d(&mu, &ls, &z, 1), -0.125 - log(2.0) - half_log_2pi, 1e-15);
        CHECK_NEAR(rlae_normal_entropy_d(&ls, 1), 0.5 + half_log_2pi + log(2.0), 1e-15);
    }

    rlae_rng r;
    rlae_rng_init(&r, 11, 0, 0, 0);
    double worst_lp = 0, worst_h = 0;
    for (int trial = 0; trial < 30; trial++) {
        double p[2 * N], z[N], g[2 * N];
        for (int i = 0; i < N; i++) {
            p[i] = -2 + 4 * rlae_rng_uniform_double(&r);
            p[N + i] = -3 + 4 * rlae_rng_uniform_double(&r); /* sigma from 0.05 to 2.7 */
            z[i] = p[i] + exp(p[N + i]) * 2.5 * rlae_rng_normal(&r);
        }
        fn_ctx f0 = {z, 0}, f1 = {z, 1};
        rlae_normal_log_prob_grad_d(p, p + N, z, N, g, g + N);
        worst_lp = fmax(worst_lp, rlae_gradcheck(f_eval, &f0, p, g, 2 * N, 1e-4, 1e-8, NULL));
        for (int i = 0; i < N; i++) {
            g[i] = 0;
            g[N + i] = 1; /* d H / d log_std = 1 */
        }
        worst_h = fmax(worst_h, rlae_gradcheck(f_eval, &f1, p, g, 2 * N, 1e-4, 1e-8, NULL));
    }
    printf("max rel err vs FD: dlogp/d(mu, log_std) %.3g, dH/d(mu, log_std) %.3g\n", worst_lp, worst_h);
    CHECK(worst_lp < 1e-5);
    CHECK(worst_h < 1e-5);

    /* Float against double (float thresholds: 1e-6 relative on the log-density, gradients). */
    {
        float mu[3] = {0.1f, -1.0f, 2.0f}, ls[3] = {-1.0f, 0.0f, 0.5f}, z[3] = {0.3f, -2.5f, 2.2f};
        double mud[3], lsd[3], zd[3];
        for (int i = 0; i < 3; i++) {
            mud[i] = mu[i];
            lsd[i] = ls[i];
            zd[i] = z[i];
        }
        double a = rlae_normal_log_prob(mu, ls, z, 3), b = rlae_normal_log_prob_d(mud, lsd, zd, 3);
        CHECK(rlae_rel_err(a, b, 1e-6) < 1e-6);
        float gm[3], gl[3];
        double gmd[3], gld[3];
        rlae_normal_log_prob_grad(mu, ls, z, 3, gm, gl);
        rlae_normal_log_prob_grad_d(mud, lsd, zd, 3, gmd, gld);
        for (int i = 0; i < 3; i++) {
            CHECK(rlae_rel_err(gm[i], gmd[i], 1e-6) < 1e-6);
            CHECK(rlae_rel_err(gl[i], gld[i], 1e-6) < 1e-6);
        }
    }

    /* Sampling: mean and standard deviation of z (50000 draws: std errors 0.003 and 0.002). */
    {
        rlae_sampler s = {normal_cb, NULL, &r};
        float mu = 0.7f, ls = (float)log(0.5), z;
        double m = 0, m2 = 0;
        const int M = 50000;
        for (int n = 0; n < M; n++) {
            rlae_normal_sample(&mu, &ls, 1, &s, &z);
            m += z / (double)M;
            m2 += (double)z * z / M;
        }
        CHECK_NEAR(m, 0.7, 0.015);
        CHECK_NEAR(sqrt(m2 - m * m), 0.5, 0.01);
    }

    /* Masked softmax: inactive members get 0, the active ones share 1; extreme logits are stable. */
    {
        float z[4] = {1.0f, 500.0f, 1.0f + (float)log(3.0), -2.0f}, w[4];
        unsigned char act[4] = {1, 0, 1, 0};
        rlae_softmax_masked(z, act, 4, w);
        CHECK_NEAR(w[0], 0.25, 1e-6);
        CHECK_NEAR(w[2], 0.75, 1e-6);
        CHECK(w[1] == 0.0f && w[3] == 0.0f);
        rlae_softmax_masked(z, NULL, 4, w);
        CHECK_NEAR(w[1], 1.0, 1e-6);
        CHECK(isfinite(w[0]) && isfinite(w[3]));
        unsigned char none[4] = {0, 0, 0, 0};
        rlae_softmax_masked(z, none, 4, w);
        CHECK(w[0] == 0.0f && w[1] == 0.0f && w[2] == 0.0f && w[3] == 0.0f);
    }
    return test_summary("test_normal");
}
