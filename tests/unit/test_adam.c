/* Tests of algorithms/adam: a two-step update computed by hand, gradient-norm clipping, the linear
 * LR anneal, and float against double. */
#include "test.h"

#include "algorithms/adam.h"

int main(void)
{
    /* One parameter p = 1, lr 0.1, betas 0.9 / 0.999, eps 1e-5, gradients 2 then -1.
     *   step 1: m = 0.1*2 = 0.2, v = 0.001*4 = 0.004; m^ = 0.2/0.1 = 2, v^ = 0.004/0.001 = 4
     *           p = 1 - 0.1 * 2 / (2 + 1e-5) = 0.9000004999975
     *   step 2: m = 0.9*0.2 - 0.1 = 0.08, v = 0.999*0.004 + 0.001*1 = 0.004996
     *           m^ = 0.08/0.19 = 0.42105263157894735, v^ = 0.004996/0.001999 = 2.49924962481244
     *           p = 0.9000004999975 - 0.1 * 0.42105263157894735 / (1.5809015228066683 + 1e-5)
     *             = 0.8733669645020137 */
    rlae_adam_hparams h = rlae_adam_defaults();
    CHECK_NEAR(h.eps, 1e-5, 0);
    h.lr = 0.1;
    rlae_adam_d a;
    CHECK(rlae_adam_init_d(&a, 1, &h) == RLAE_OK);
    double p = 1.0, g = 2.0;
    rlae_adam_step_d(&a, &p, &g);
    CHECK_NEAR(a.m[0], 0.2, 1e-16);
    CHECK_NEAR(a.v[0], 0.004, 1e-17);
    CHECK_NEAR(p, 0.9000004999975, 1e-15);
    g = -1.0;
    rlae_adam_step_d(&a, &p, &g);
    CHECK_NEAR(a.m[0], 0.08, 1e-16);
    CHECK_NEAR(a.v[0], 0.004996, 1e-17);
    CHECK_NEAR(p, 0.8733669645020137, 1e-14);
    CHECK_EQ_INT(a.t, 2);
    rlae_adam_free_d(&a);

    /* Float follows double to float rounding over a few steps on a vector. */
    {
        rlae_adam af;
        rlae_adam_d ad;
        h.lr = 1e-2;
        CHECK(rlae_adam_init(&af, 3, &h) == RLAE_OK);
        CHECK(rlae_adam_init_d(&ad, 3, &h) == RLAE_OK);
        float pf[3] = {0.5f, -1.0f, 2.0f};
        double pd[3] = {0.5, -1.0, 2.0};
        for (int s = 0; s < 5; s++) {
            float gf[3] = {0.3f * (float)(s + 1), -0.25f, 1e-3f};
            double gd[3] = {gf[0], gf[1], gf[2]};
            rlae_adam_step(&af, pf, gf);
            rlae_adam_step_d(&ad, pd, gd);
        }
        for (int i = 0; i < 3; i++)
            CHECK_NEAR(pf[i], pd[i], 1e-6);
        rlae_adam_free(&af);
        rlae_adam_free_d(&ad);
    }

    /* Clipping: (3, 4) has norm 5; with max 0.5 it becomes (3, 4) * 0.5 / (5 + 1e-6). */
    {
        float gr[2] = {3, 4};
        double n = rlae_grad_clip_norm(gr, 2, 0.5);
        CHECK_NEAR(n, 5.0, 1e-12);
        CHECK_NEAR(gr[0], 3 * 0.5 / (5 + 1e-6), 1e-7);
        CHECK_NEAR(gr[1], 4 * 0.5 / (5 + 1e-6), 1e-7);
        double gd[2] = {3, 4};
        CHECK_NEAR(rlae_grad_clip_norm_d(gd, 2, 10.0), 5.0, 1e-15); /* below the max: unchanged */
        CHECK_NEAR(gd[0], 3.0, 0);
        CHECK_NEAR(rlae_grad_clip_norm_d(gd, 2, 0.0), 5.0, 1e-15); /* 0: measure only */
        CHECK_NEAR(gd[1], 4.0, 0);
    }

    /* cleanrl's anneal over 4 updates: 1, 0.75, 0.5, 0.25 times lr0. */
    CHECK_NEAR(rlae_lr_linear_anneal(1e-3, 1, 4), 1e-3, 1e-18);
    CHECK_NEAR(rlae_lr_linear_anneal(1e-3, 2, 4), 7.5e-4, 1e-18);
    CHECK_NEAR(rlae_lr_linear_anneal(1e-3, 4, 4), 2.5e-4, 1e-18);
    return test_summary("test_adam");
}
