/* Tests of algorithms/ppo_loss: the fused PPO (Dirichlet) and MAPPO (per-agent Normal) losses.
 *
 * Every gradient the loss returns (w.r.t. the head logits, mu, log_std and the value prediction)
 * is checked against central finite differences of the loss in double, for every value-loss
 * variant (MSE, clipped MSE, Huber, clipped Huber). The minibatches are built so that each
 * region of the clipped surrogate and of the clipped value loss is visited, away from the kinks:
 * the old log-probabilities are set from target ratios r (0.5 / 1.5 outside the band on both the
 * binding and the non-binding side for either sign of A, 0.95 / 1.1 inside it), and the value
 * offsets put v inside and outside the clip range, the error inside and outside Huber's delta,
 * and make either branch of the max win. The metrics (approx-KL, clip fraction, loss parts) are
 * checked against the same targets computed by hand, and float against double. */
#include "test.h"

#include "algorithms/dirichlet.h"
#include "algorithms/gradcheck.h"
#include "algorithms/normal.h"
#include "algorithms/ppo_loss.h"
#include "core/rng.h"

#define NB 8 /* samples */
#define KB 3 /* members / agents */

/* Per sample: target ratio and advantage. With clip 0.2: s0 below the band, A > 0 (unclipped
 * branch, gradient flows); s1, s2 in the band; s3 above, A > 0 (clipped: no policy gradient);
 * s4 below, A < 0 (clipped); s5 above, A < 0 (unclipped); s6 in band; s7 above, A > 0 (clipped). */
static const double ratio_t[NB] = {0.5, 0.95, 1.1, 1.5, 0.6, 1.35, 1.05, 1.3};
static const double adv_t[NB] = {1.3, -0.7, 0.4, 0.9, -1.1, -0.5, 2.0, 0.2};
/* Per sample: v - v_old and R - v_old. See the comment in main for the region each one hits. */
static const double dv_t[NB] = {0.05, 0.5, -0.45, -0.1, 0.3, 0.15, -0.6, 0.7};
static const double voff_t[NB] = {0.5, 1.0, 1.0, -11.0, 12.0, -0.4, 13.0, -15.0};

typedef struct {
    int normal; /* 0: Dirichlet, 1: Normal */
    rlae_ppo_params p;
    rlae_ppo_batch_d b; /* pointers into the packed vector are patched on every evaluation */
} loss_ctx;

/* Packed variables: Dirichlet [head n*K | value n]; Normal [mu n*K | log_std n*K | value n]. */
static size_t n_vars(int normal) { return (size_t)(normal ? 2 : 1) * NB * KB + NB; }

static double loss_at(loss_ctx *c, const double *x, rlae_ppo_grads_d *g, rlae_ppo_metrics *m)
{
    rlae_ppo_batch_d b = c->b;
    if (c->normal) {
        b.mu = x;
        b.log_std = x + NB * KB;
        b.value = x + 2 * NB * KB;
    } else {
        b.head = x;
        b.value = x + NB * KB;
    }
    rlae_ppo_metrics mm;
    if (c->normal)
        rlae_ppo_loss_normal_d(&c->p, &b, g, m ? m : &mm);
    else
        rlae_ppo_loss_dirichlet_d(&c->p, &b, g, m ? m : &mm);
    return (m ? m : &mm)->loss;
}

static double f_loss(void *c, const double *x) { return loss_at(c, x, NULL, NULL); }

int main(void)
{
    rlae_rng r;
    rlae_rng_init(&r, 2024, 0, 0, 0);
    double worst_all = 0;
    static const char *vname[4] = {"MSE", "clipped MSE", "Huber", "clipped Huber"};
    for (int normal = 0; normal < 2; normal++) {
        for (int vk = 0; vk < 4; vk++) {
            double worst = 0;
            for (int trial = 0; trial < 4; trial++) {
                loss_ctx c = {.normal = normal, .p = rlae_ppo_params_default()};
                c.p.value_loss = vk >= 2 ? RLAE_VALUE_LOSS_HUBER : RLAE_VALUE_LOSS_MSE;
                c.p.clip_value = vk % 2;
                c.p.ent_coef = 0.05; /* larger than the default so the entropy part is not negligible */
                double x[2 * NB * KB + NB], action[NB * KB], logp_old[NB * KB], adv[NB], v_old[NB], ret[NB];
                unsigned char active[NB * KB];
                double *value = x + (normal ? 2 : 1) * NB * KB;
                for (int i = 0; i < NB; i++) {
                    adv[i] = adv_t[i];
                    v_old[i] = -1 + 2 * rlae_rng_uniform_double(&r);
                    value[i] = v_old[i] + dv_t[i];
                    ret[i] = v_old[i] + voff_t[i];
                }
                if (!normal) {
                    for (int i = 0; i < NB; i++) {
                        double alpha[KB];
                        for (int k = 0; k < KB; k++) {
                            /* Logits from -4 (alpha 0.018) to 3; one member pinned at alpha = 0.05. */
                            x[i * KB + k] = (i + k + trial) % 5 == 0 ? log(expm1(0.05 - RLAE_DIRICHLET_ALPHA_MIN))
                                                                      : -4 + 7 * rlae_rng_uniform_double(&r);
                        }
                        rlae_dirichlet_head_d(x + i * KB, KB, RLAE_DIRICHLET_ALPHA_MIN, alpha);
                        rlae_rng_dirichlet(&r, alpha, KB, action + i * KB);
                        for (int k = 0; k < KB; k++)
                            action[i * KB + k] = fmax(action[i * KB + k], 1e-12);
                        logp_old[i] = rlae_dirichlet_log_prob_d(alpha, action + i * KB, KB) - log(ratio_t[i]);
                    }
                    c.b = (rlae_ppo_batch_d){.n = NB, .K = KB, .action = action, .logp_old = logp_old,
                                             .adv = adv, .value_old = v_old, .ret = ret};
                } else {
                    double *mu = x, *ls = x + NB * KB;
                    for (int j = 0; j < NB * KB; j++) {
                        int i = j / KB;
                        /* One pair in five inactive, its inputs NaN: the mask must keep them out. */
                        active[j] = (j + trial) % 5 != 2;
                        if (!active[j]) {
                            mu[j] = ls[j] = action[j] = logp_old[j] = NAN;
                            continue;
                        }
                        mu[j] = -1 + 2 * rlae_rng_uniform_double(&r);
                        ls[j] = -2 + 2.5 * rlae_rng_uniform_double(&r);
                        action[j] = mu[j] + exp(ls[j]) * rlae_rng_normal(&r);
                        /* Each agent gets the sample's target ratio on its own scalar. */
                        logp_old[j] = rlae_normal_log_prob_d(mu + j, ls + j, action + j, 1) - log(ratio_t[i]);
                    }
                    c.b = (rlae_ppo_batch_d){.n = NB, .K = KB, .action = action, .logp_old = logp_old,
                                             .active = active, .adv = adv, .value_old = v_old, .ret = ret};
                }
                size_t nv = n_vars(normal);
                double grad[2 * NB * KB + NB];
                rlae_ppo_grads_d g = {0};
                if (normal) {
                    g.d_mu = grad;
                    g.d_log_std = grad + NB * KB;
                    g.d_value = grad + 2 * NB * KB;
                } else {
                    g.d_head = grad;
                    g.d_value = grad + NB * KB;
                }
                rlae_ppo_metrics m;
                double L = loss_at(&c, x, &g, &m);
                CHECK(isfinite(L));
                size_t wi;
                double e = rlae_gradcheck(f_loss, &c, x, grad, nv, 1e-4, 1e-8, &wi);
                if (e > 1e-5)
                    printf("  %s %s trial %d: worst at var %zu: analytic %.10g\n", normal ? "normal" : "dirichlet",
                           vname[vk], trial, wi, grad[wi]);
                worst = fmax(worst, e);

                /* The policy gradient vanishes exactly where the clip binds (s3, s4, s7); elsewhere the
                 * surrogate contributes. For Dirichlet only the entropy part remains there. */
                {
                    rlae_ppo_params p0 = c.p;
                    c.p.ent_coef = 0;
                    rlae_ppo_grads_d g0 = g;
                    double tmp[2 * NB * KB + NB];
                    if (normal) {
                        g0.d_mu = tmp;
                        g0.d_log_std = tmp + NB * KB;
                        g0.d_value = tmp + 2 * NB * KB;
                    } else {
                        g0.d_head = tmp;
                        g0.d_value = tmp + NB * KB;
                    }
                    loss_at(&c, x, &g0, NULL);
                    for (int i = 0; i < NB; i++) {
                        int binds = i == 3 || i == 4 || i == 7;
                        for (int k = 0; k < KB; k++) {
                            if (normal && !active[i * KB + k])
                                continue;
                            double gi = tmp[i * KB + k];
                            CHECK_MSG(binds ? gi == 0.0 : gi != 0.0, "sample %d: policy grad %g", i, gi);
                        }
                    }
                    c.p = p0;
                }

                /* Metrics against the targets by hand. */
                double kl = 0, cf = 0, pg = 0, n_terms = 0;
                for (int i = 0; i < NB; i++) {
                    int terms = KB;
                    if (normal)
                        for (int k = 0; k < KB; k++)
                            terms -= !active[i * KB + k];
                    else
                        terms = 1;
                    double rt = ratio_t[i], rc = fmin(fmax(rt, 0.8), 1.2);
                    kl += terms * ((rt - 1) - log(rt));
                    cf += terms * (fabs(rt - 1) > 0.2);
                    pg += terms * fmax(-adv[i] * rt, -adv[i] * rc);
                    n_terms += terms;
                }
                CHECK_EQ_INT(m.n_terms, (long)n_terms);
                CHECK_NEAR(m.approx_kl, kl / n_terms, 1e-12);
                CHECK_NEAR(m.clipfrac, cf / n_terms, 1e-12);
                CHECK_NEAR(m.pg_loss, pg / n_terms, 1e-12);
                CHECK_NEAR(m.loss, m.pg_loss - c.p.ent_coef * m.entropy + c.p.vf_coef * m.v_loss, 1e-12);
            }
            printf("%s, %s value loss: max rel err vs FD %.3g\n", normal ? "MAPPO Normal" : "PPO Dirichlet", vname[vk],
                   worst);
            CHECK_MSG(worst < 1e-5, "%s %s: %.3g", normal ? "normal" : "dirichlet", vname[vk], worst);
            worst_all = fmax(worst_all, worst);
        }
    }
    printf("all PPO/MAPPO loss gradients: max rel err vs FD %.3g\n", worst_all);

    /* Value losses by hand at one sample each (v_old = 0). Values per the tables above:
     *   s1: v = 0.5, R = 1: MSE 0.5*0.25 = 0.125; clipped: v_c = 0.2, 0.5*max(0.25, 0.64) = 0.32.
     *   s3: v = -0.1, R = -11: Huber e = -10.9 -> 10*(10.9 - 5) = 59 (on-policy's (e > d) test would
     *       give 0 here; we use |e|). */
    {
        rlae_ppo_params p = rlae_ppo_params_default();
        double v = 0.5, vo = 0, R = 1, a = 0, lo = 0, act[1] = {1}, head[1] = {0};
        rlae_ppo_batch_d b = {.n = 1, .K = 1, .head = head, .action = act, .logp_old = &lo, .adv = &a,
                              .value = &v, .value_old = &vo, .ret = &R};
        rlae_ppo_metrics m;
        rlae_ppo_loss_dirichlet_d(&p, &b, NULL, &m);
        CHECK_NEAR(m.v_loss, 0.125, 1e-15);
        p.clip_value = 1;
        rlae_ppo_loss_dirichlet_d(&p, &b, NULL, &m);
        CHECK_NEAR(m.v_loss, 0.32, 1e-15);
        p = rlae_mappo_params_default();
        v = -0.1;
        R = -11;
        rlae_ppo_loss_dirichlet_d(&p, &b, NULL, &m);
        CHECK_NEAR(m.v_loss, 59.0, 1e-12);
    }

    /* Float against double on the same (float-representable) minibatch: the loss to 1e-5 and the
     * gradients to 1e-4 relative (floor 1e-6): float stores logp_old and the outputs. */
    {
        float head[NB * KB], act[NB * KB], lo[NB], adv[NB], v[NB], vo[NB], R[NB];
        double headd[NB * KB], actd[NB * KB], lod[NB], advd[NB], vd[NB], vod[NB], Rd[NB];
        for (int i = 0; i < NB; i++) {
            double alpha[KB], w[KB];
            for (int k = 0; k < KB; k++)
                headd[i * KB + k] = head[i * KB + k] = (float)(-3 + 6 * rlae_rng_uniform_double(&r));
            for (int k = 0; k < KB; k++)
                alpha[k] = rlae_softplus(head[i * KB + k]) + RLAE_DIRICHLET_ALPHA_MIN;
            rlae_rng_dirichlet(&r, alpha, KB, w);
            for (int k = 0; k < KB; k++)
                actd[i * KB + k] = act[i * KB + k] = (float)fmax(w[k], 1e-12);
            lod[i] = lo[i] = (float)(rlae_dirichlet_log_prob_d(alpha, actd + i * KB, KB) - log(ratio_t[i]));
            advd[i] = adv[i] = (float)adv_t[i];
            vod[i] = vo[i] = (float)(0.1 * i);
            vd[i] = v[i] = (float)(vo[i] + dv_t[i]);
            Rd[i] = R[i] = (float)(vo[i] + voff_t[i]);
        }
        rlae_ppo_params p = rlae_mappo_params_default();
        rlae_ppo_batch bf = {.n = NB, .K = KB, .head = head, .action = act, .logp_old = lo, .adv = adv,
                             .value = v, .value_old = vo, .ret = R};
        rlae_ppo_batch_d bd = {.n = NB, .K = KB, .head = headd, .action = actd, .logp_old = lod, .adv = advd,
                               .value = vd, .value_old = vod, .ret = Rd};
        float gh[NB * KB], gv[NB];
        double ghd[NB * KB], gvd[NB];
        rlae_ppo_grads gf = {.d_head = gh, .d_value = gv};
        rlae_ppo_grads_d gd = {.d_head = ghd, .d_value = gvd};
        rlae_ppo_metrics mf, md;
        rlae_ppo_loss_dirichlet(&p, &bf, &gf, &mf);
        rlae_ppo_loss_dirichlet_d(&p, &bd, &gd, &md);
        CHECK(rlae_rel_err(mf.loss, md.loss, 1e-6) < 1e-5);
        double we = 0;
        for (int j = 0; j < NB * KB; j++)
            we = fmax(we, rlae_rel_err(gh[j], ghd[j], 1e-6));
        for (int i = 0; i < NB; i++)
            we = fmax(we, rlae_rel_err(gv[i], gvd[i], 1e-6));
        printf("float vs double PPO loss gradients: max rel err %.3g (threshold 1e-4)\n", we);
        CHECK(we < 1e-4);
    }
    /* Explained variance: R = (1, 2, 3, 4), V = (1, 2, 3, 3): R - V = (0, 0, 0, 1) has population
     * variance 3/16, R has 5/4, so 1 - (3/16)/(5/4) = 0.85. A constant R gives NaN. */
    {
        const double R[4] = {1, 2, 3, 4}, V[4] = {1, 2, 3, 3};
        CHECK_NEAR(rlae_explained_variance_d(V, R, 4), 0.85, 1e-15);
        const float Rc[2] = {2, 2}, Vc[2] = {1, 3};
        CHECK(isnan(rlae_explained_variance(Vc, Rc, 2)));
    }
    return test_summary("test_ppo_loss");
}
