/* Tests of algorithms/agent: the full network's gradient against finite differences (double, via
 * rlae_agent_loss_d), act() (simplex, deterministic = Dirichlet mean / softmax(mu), logp = the
 * policy's log-density of the action, denormalised values), determinism (same seed -> identical
 * actions and parameters; save -> load -> continue == uninterrupted, bit for bit), and load's
 * failures (mismatching spec names the field; truncated or garbage files fail cleanly); with an
 * encoder member (spec.enc_dim): the gradient through its projection, save / load, refusal across
 * encoder / no encoder, and version-1 files (before the encoder) still loading.
 * The learning test (a contextual bandit) is test_agent_bandit.c. */
#include "test.h"

#include "algorithms/agent.h"
#include "algorithms/agent_internal.h"
#include "algorithms/dirichlet.h"
#include "algorithms/gradcheck.h"
#include "algorithms/normal.h"
#include "core/rng.h"

#include <stdint.h>

static int g_enc_dim; /* encoder width of small_spec (0 = no encoder) */

static rlae_agent_spec small_spec(rlae_algorithm algo, bool share, bool use_hidden, bool value_norm)
{
    rlae_agent_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.enc_dim = g_enc_dim;
    sp.algo = algo;
    sp.n_members = 3;
    sp.hidden_dim[0] = 5;
    sp.hidden_dim[1] = 3;
    sp.hidden_dim[2] = 4;
    sp.max_spans = 4;
    sp.net.hidden = 6;
    sp.net.layers = 2;
    sp.net.proj_dim = 3;
    sp.net.span_embed_dim = 2;
    sp.net.alpha_min = 1e-4;
    sp.net.use_hidden = use_hidden;
    sp.share_params = share;
    sp.value_norm = value_norm;
    sp.seed = 1234;
    return sp;
}

static rlae_algorithm_config hparams(rlae_algorithm algo)
{
    rlae_algorithm_config hp;
    memset(&hp, 0, sizeof hp);
    hp.name = algo;
    hp.lr = 3e-3;
    hp.gamma = 0.99;
    hp.gae_lambda = 0.95;
    hp.clip = 0.2;
    hp.clip_value = true;
    hp.value_coef = 0.5;
    hp.entropy_coef = 0.01;
    hp.max_grad_norm = 0.5;
    hp.epochs = 3;
    hp.minibatches = 2;
    hp.adam_eps = 1e-5;
    hp.huber_delta = 10.0;
    return hp;
}

/* Random observations: hidden states N(0,1), statistics uniform, span indices 0..5 (beyond
 * max_spans - 1 = 3, so the clamp is exercised), fraction uniform. */
static void random_obs(const rlae_agent *a, int n, uint32_t key, float *obs)
{
    rlae_rng r;
    rlae_rng_init(&r, 77, key, 0, 0);
    const int D = rlae_agent_obs_dim(a), E = rlae_agent_encoder_dim(a), sh = D - 2 - E;
    for (int i = 0; i < n; i++) {
        float *o = obs + (size_t)i * D;
        for (int j = 0; j < sh; j++)
            o[j] = (float)rlae_rng_normal(&r);
        o[sh] = (float)rlae_rng_below(&r, 6);
        o[sh + 1] = rlae_rng_uniform(&r);
        for (int j = sh + 2; j < D; j++) /* the encoder's pooled state */
            o[j] = (float)rlae_rng_normal(&r);
    }
}

/* ---- gradient check ------------------------------------------------------------------------- */

#define GN 7

typedef struct {
    const rlae_agent *a;
    const rlae_algorithm_config *hp;
    float obs[GN * 64], action[GN * 8], logp[GN * 8], vold[GN], adv[GN], ret[GN];
} gc_ctx;

static double f_loss(void *c, const double *x)
{
    gc_ctx *g = c;
    double loss;
    rlae_agent_loss_d(g->a, g->hp, GN, g->obs, g->action, g->logp, g->vold, g->adv, g->ret, x, NULL, &loss);
    return loss;
}

static void test_gradient(rlae_algorithm algo, bool share, bool use_hidden, bool clip_value)
{
    rlae_agent_spec sp = small_spec(algo, share, use_hidden, false);
    rlae_agent *a;
    CHECK(rlae_agent_new(&sp, &a) == RLAE_OK);
    rlae_algorithm_config hp = hparams(algo);
    hp.clip_value = clip_value;
    hp.huber_delta = 0.7; /* so some value errors fall on Huber's linear branch */
    gc_ctx g;
    memset(&g, 0, sizeof g);
    g.a = a;
    g.hp = &hp;
    const int K = sp.n_members, lw = rlae_agent_logp_width(a);
    CHECK(rlae_agent_obs_dim(a) <= 64);
    random_obs(a, GN, 1, g.obs);
    uint32_t ep[GN];
    int span[GN];
    float w[GN * 8], value[GN];
    for (int i = 0; i < GN; i++) {
        ep[i] = (uint32_t)i;
        span[i] = i % 3;
    }
    CHECK(rlae_agent_act(a, GN, g.obs, ep, span, 0, w, g.action, g.logp, value) == RLAE_OK);
    /* Parameters away from the initial point (larger head weights, nonzero biases / log_std) so
     * every ratio region is reached; logp_old shifted so ratios land inside and outside the band. */
    size_t np = rlae_agent_n_params(a);
    double *x = malloc(sizeof(double) * np), *grad = malloc(sizeof(double) * np);
    rlae_rng r;
    rlae_rng_init(&r, 5, 5, 5, 5);
    for (size_t j = 0; j < np; j++)
        x[j] = rlae_agent_params(a)[j] + 0.3 * rlae_rng_normal(&r);
    static const double shift[GN] = {0.6, -0.5, 0.05, -0.08, 0.9, -1.1, 0.3};
    for (int i = 0; i < GN; i++) {
        for (int k = 0; k < lw; k++)
            g.logp[i * lw + k] += (float)(shift[i] / lw);
        g.adv[i] = (float)rlae_rng_normal(&r);
        g.ret[i] = (float)(2.0 * rlae_rng_normal(&r));
        g.vold[i] = g.ret[i] + (float)rlae_rng_normal(&r);
    }
    (void)K;
    double loss;
    CHECK(rlae_agent_loss_d(a, &hp, GN, g.obs, g.action, g.logp, g.vold, g.adv, g.ret, x, grad, &loss) == RLAE_OK);
    CHECK(isfinite(loss));
    size_t worst = 0;
    /* floor 1e-5: partials below it are compared absolutely (the loss is O(1), so finite differences
     * carry ~1e-11 of rounding). */
    double err = rlae_gradcheck(f_loss, &g, x, grad, np, 1e-5, 1e-5, &worst);
    /* Which block the worst parameter is in, for the message. */
    const char *where = "critic";
    if (worst < a->emb_off)
        where = "projection";
    else if (worst < a->actor_off[0])
        where = "span embedding";
    else if (worst < a->critic_off)
        where = "actor";
    else if (worst >= a->ls_off)
        where = "log_std";
    printf("gradient %s%s%s%s clip_value=%d: %zu params, max rel err %.2e (param %zu, %s)\n",
           algo == RLAE_ALGO_MAPPO ? "mappo" : "ppo", algo == RLAE_ALGO_MAPPO ? (share ? " shared" : " unshared") : "",
           use_hidden ? " +hidden" : "", g_enc_dim ? " +encoder" : "", clip_value, np, err, worst, where);
    if (g_enc_dim) { /* the encoder's projection is in the loss: it gets a gradient */
        double ge_enc = 0;
        for (size_t j = 0; j < a->enc_proj.n_params; j++)
            ge_enc += fabs(grad[a->enc_proj_off + j]);
        CHECK_MSG(a->enc_proj.n_params == (size_t)(g_enc_dim + 1) * sp.net.proj_dim && ge_enc > 0,
                  "encoder projection: %zu params, |grad| %g", a->enc_proj.n_params, ge_enc);
    }
    CHECK_MSG(err < 1e-5, "max relative error %.3e at parameter %zu (%s): analytic %.9g, numeric %.9g", err, worst,
              where, grad[worst], rlae_fd_partial(f_loss, &g, x, worst, 1e-5 * fmax(1.0, fabs(x[worst]))));
    /* Every block received some gradient. */
    double gp = 0, ge = 0, ga = 0, gc = 0;
    for (size_t j = 0; j < np; j++) {
        double v = fabs(grad[j]);
        if (j < a->emb_off)
            gp += v;
        else if (j < a->actor_off[0])
            ge += v;
        else if (j < a->critic_off)
            ga += v;
        else
            gc += v;
    }
    CHECK(ge > 0 && ga > 0 && gc > 0);
    CHECK(!use_hidden || gp > 0);
    free(x);
    free(grad);
    rlae_agent_free(a);
}

/* ---- act ------------------------------------------------------------------------------------- */

/* A synthetic buffer: n_ep episodes of 1..4 steps, acted by `a`, rewards from the weights. */
typedef struct {
    int n_ep, N;
    int offset[65];
    float obs[256 * 64], action[256 * 8], logp[256 * 8], value[256], reward[256], bootstrap[64];
    unsigned char term[64];
} buffer;

static void fill_buffer(rlae_agent *a, uint32_t key, buffer *b)
{
    const int K = 3;
    b->n_ep = 24;
    b->offset[0] = 0;
    for (int e = 0; e < b->n_ep; e++)
        b->offset[e + 1] = b->offset[e] + 1 + (int)((e * 7 + key) % 4);
    b->N = b->offset[b->n_ep];
    random_obs(a, b->N, key, b->obs);
    uint32_t ep[256];
    int span[256];
    for (int e = 0; e < b->n_ep; e++)
        for (int t = b->offset[e]; t < b->offset[e + 1]; t++) {
            ep[t] = key * 1000u + (uint32_t)e;
            span[t] = t - b->offset[e];
        }
    float w[256 * 8];
    CHECK(rlae_agent_act(a, b->N, b->obs, ep, span, 0, w, b->action, b->logp, b->value) == RLAE_OK);
    for (int e = 0; e < b->n_ep; e++) {
        for (int t = b->offset[e]; t < b->offset[e + 1]; t++)
            b->reward[t] = t == b->offset[e + 1] - 1 ? w[(size_t)t * K + (e % K)] : 0.0f;
        b->term[e] = e % 3 != 0;
        b->bootstrap[e] = 0.25f;
    }
}

static rlae_span_batch as_batch(const buffer *b)
{
    return (rlae_span_batch){.n_episodes = b->n_ep, .offset = b->offset, .obs = b->obs, .action = b->action,
                             .logp = b->logp, .value = b->value, .reward = b->reward, .terminated = b->term,
                             .bootstrap = b->bootstrap};
}

static void test_act(rlae_algorithm algo, bool share, bool value_norm)
{
    rlae_agent_spec sp = small_spec(algo, share, true, value_norm);
    rlae_agent *a;
    CHECK(rlae_agent_new(&sp, &a) == RLAE_OK);
    const int K = 3, lw = rlae_agent_logp_width(a);
    CHECK_EQ_INT(lw, algo == RLAE_ALGO_MAPPO ? K : 1);
    CHECK_EQ_INT(rlae_agent_obs_dim(a), 5 + 3 + 4 + 3 * 4 + 2);
    if (value_norm) { /* a few updates so the normaliser is far from identity */
        rlae_algorithm_config hp = hparams(algo);
        static buffer b;
        for (int u = 0; u < 3; u++) {
            fill_buffer(a, (uint32_t)u + 1, &b);
            for (int t = 0; t < b.N; t++)
                b.reward[t] = 5.0f + 3.0f * b.reward[t];
            rlae_span_batch sb = as_batch(&b);
            rlae_update_metrics m;
            CHECK(rlae_agent_update(a, &hp, &sb, u, 10, &m) == RLAE_OK);
        }
    }
    enum { N = 9 };
    float obs[N * 64], w[N * 8], act[N * 8], lp[N * 8], v[N];
    uint32_t ep[N];
    int span[N];
    random_obs(a, N, 42, obs);
    for (int i = 0; i < N; i++) {
        ep[i] = (uint32_t)(i * 3);
        span[i] = i;
    }
    /* Reference head outputs through the internal forward (double). */
    rlae_agent_scratch_d s;
    CHECK(rlae_agent_scratch_alloc_d(a, N, &s) == RLAE_OK);
    size_t np = rlae_agent_n_params(a);
    double *pd = malloc(sizeof(double) * np);
    for (size_t j = 0; j < np; j++)
        pd[j] = rlae_agent_params(a)[j];
    rlae_agent_forward_d(a, pd, obs, NULL, N, &s);
    for (int det = 0; det <= 1; det++) {
        CHECK(rlae_agent_act(a, N, obs, det ? NULL : ep, det ? NULL : span, det, w, act, lp, v) == RLAE_OK);
        for (int i = 0; i < N; i++) {
            double sum = 0;
            for (int k = 0; k < K; k++) {
                CHECK(w[i * K + k] >= 0);
                sum += w[i * K + k];
            }
            CHECK_NEAR(sum, 1.0, 1e-5);
            double wd[8], ad[8], zd[8];
            for (int k = 0; k < K; k++) {
                wd[k] = w[i * K + k];
                zd[k] = act[i * K + k];
            }
            if (algo == RLAE_ALGO_PPO) {
                rlae_dirichlet_head_d(s.head + i * K, K, sp.net.alpha_min, ad);
                if (det) {
                    double mean[8];
                    rlae_dirichlet_mean_d(ad, K, mean);
                    for (int k = 0; k < K; k++)
                        CHECK_NEAR(w[i * K + k], mean[k], 1e-6);
                }
                for (int k = 0; k < K; k++)
                    CHECK(act[i * K + k] == w[i * K + k]);
                double ref = rlae_dirichlet_log_prob_d(ad, wd, K);
                CHECK_NEAR(lp[i], ref, 1e-4 * (1 + fabs(ref)));
            } else {
                double sm[8];
                if (det)
                    for (int k = 0; k < K; k++)
                        CHECK_NEAR(act[i * K + k], s.head[i * K + k], 1e-6);
                rlae_softmax_masked_d(zd, NULL, K, sm);
                for (int k = 0; k < K; k++) {
                    CHECK_NEAR(w[i * K + k], sm[k], 1e-6);
                    double ref = rlae_normal_log_prob_d(s.head + i * K + k, s.log_std + i * K + k, zd + k, 1);
                    CHECK_NEAR(lp[i * K + k], ref, 1e-5 * (1 + fabs(ref)));
                }
            }
            double vref = s.value[i];
            if (value_norm)
                rlae_valuenorm_denormalize_d(&a->vn, &vref, 1, &vref);
            CHECK_NEAR(v[i], vref, 1e-4 * (1 + fabs(vref)));
        }
    }
    if (value_norm) { /* the values are in reward units (around 5..8 here), not normalised ones */
        double mean, var;
        rlae_valuenorm_mean_var(&a->vn, &mean, &var);
        CHECK(mean > 3.0);
    }
    /* Stochastic draws are keyed: the same (episode, span) gives the same action in any batch. */
    float w1[8], a1[8];
    CHECK(rlae_agent_act(a, N, obs, ep, span, 0, w, act, lp, v) == RLAE_OK);
    CHECK(rlae_agent_act(a, 1, obs + 4 * rlae_agent_obs_dim(a), ep + 4, span + 4, 0, w1, a1, NULL, NULL) == RLAE_OK);
    CHECK(memcmp(a1, act + 4 * K, sizeof(float) * K) == 0);
    CHECK(rlae_agent_act(a, N, obs, NULL, NULL, 0, w, act, lp, v) == RLAE_ERR_INPUT);
    free(pd);
    rlae_agent_scratch_free_d(&s);
    rlae_agent_free(a);
}

/* ---- determinism, save / load ------------------------------------------------------------------ */

static void run_updates(rlae_agent *a, int from, int to, rlae_update_metrics *last)
{
    rlae_algorithm_config hp = hparams(a->spec.algo);
    hp.anneal_lr = true;
    hp.target_kl = 0.5;
    static buffer b;
    for (int u = from; u < to; u++) {
        fill_buffer(a, (uint32_t)u + 1, &b);
        rlae_span_batch sb = as_batch(&b);
        CHECK(rlae_agent_update(a, &hp, &sb, u, 8, last) == RLAE_OK);
    }
}

static rlae_agent *roundtrip(rlae_agent *a, const rlae_agent_spec *expect)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK(rlae_agent_save(a, f, "tmp") == RLAE_OK);
    rewind(f);
    rlae_agent *b = NULL;
    CHECK(rlae_agent_load(f, "tmp", expect, &b) == RLAE_OK);
    fclose(f);
    return b;
}

static void test_determinism(rlae_algorithm algo, bool share, bool value_norm)
{
    rlae_agent_spec sp = small_spec(algo, share, true, value_norm);
    rlae_agent *a, *b;
    CHECK(rlae_agent_new(&sp, &a) == RLAE_OK);
    CHECK(rlae_agent_new(&sp, &b) == RLAE_OK);
    size_t np = rlae_agent_n_params(a);
    CHECK(memcmp(rlae_agent_params(a), rlae_agent_params(b), np * sizeof(float)) == 0);
    rlae_update_metrics ma, mb;
    run_updates(a, 0, 4, &ma);
    run_updates(b, 0, 2, &mb);
    rlae_agent *c = roundtrip(b, &sp);
    rlae_agent_free(b);
    if (!c)
        return;
    run_updates(c, 2, 4, &mb);
    CHECK_MSG(memcmp(rlae_agent_params(a), rlae_agent_params(c), np * sizeof(float)) == 0,
              "resumed run differs from the uninterrupted one");
    CHECK(memcmp(&ma, &mb, sizeof ma) == 0);
    CHECK(ma.minibatches > 0 && ma.epochs >= 1 && isfinite(ma.loss) && ma.grad_norm > 0);
    CHECK_NEAR(ma.lr, rlae_lr_linear_anneal(3e-3, 4, 8), 1e-12);
    /* The parameters moved. */
    rlae_agent *fresh;
    CHECK(rlae_agent_new(&sp, &fresh) == RLAE_OK);
    CHECK(memcmp(rlae_agent_params(a), rlae_agent_params(fresh), np * sizeof(float)) != 0);
    rlae_agent_free(fresh);

    /* Mismatching specs are named. */
    rlae_agent_spec bad = sp;
    bad.net.hidden = 7;
    FILE *f = tmpfile();
    CHECK(rlae_agent_save(a, f, "ckpt.bin") == RLAE_OK);
    long size = ftell(f);
    rewind(f);
    rlae_agent *x = NULL;
    CHECK(rlae_agent_load(f, "ckpt.bin", &bad, &x) == RLAE_ERR_INPUT && x == NULL);
    CHECK_MSG(strstr(rlae_last_error(), "agent.hidden") && strstr(rlae_last_error(), "ckpt.bin"), "%s",
              rlae_last_error());
    bad = sp;
    bad.hidden_dim[1] = 9;
    rewind(f);
    CHECK(rlae_agent_load(f, "ckpt.bin", &bad, &x) == RLAE_ERR_INPUT);
    CHECK_MSG(strstr(rlae_last_error(), "hidden_dim of member 1") != NULL, "%s", rlae_last_error());
    bad = sp;
    bad.algo = algo == RLAE_ALGO_PPO ? RLAE_ALGO_MAPPO : RLAE_ALGO_PPO;
    rewind(f);
    CHECK(rlae_agent_load(f, "ckpt.bin", &bad, &x) == RLAE_ERR_INPUT);
    CHECK_MSG(strstr(rlae_last_error(), "algorithm") != NULL, "%s", rlae_last_error());

    /* Truncated copies at many lengths, and garbage: RLAE_ERR_INPUT, nothing allocated. */
    unsigned char *bytes = malloc((size_t)size);
    rewind(f);
    CHECK(fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    int clean = 1;
    for (long cut = 0; cut < size; cut += 1 + cut / 3) {
        FILE *t = tmpfile();
        fwrite(bytes, 1, (size_t)cut, t);
        rewind(t);
        if (rlae_agent_load(t, "cut", NULL, &x) != RLAE_ERR_INPUT || x != NULL)
            clean = 0;
        fclose(t);
    }
    CHECK_MSG(clean, "a truncated agent state did not fail with RLAE_ERR_INPUT");
    rlae_rng r;
    rlae_rng_init(&r, 9, 9, 9, 9);
    for (int trial = 0; trial < 20; trial++) {
        FILE *t = tmpfile();
        unsigned char junk[600];
        for (size_t j = 0; j < sizeof junk; j++)
            junk[j] = (unsigned char)rlae_rng_u32(&r);
        if (trial % 2) /* a valid header followed by garbage */
            memcpy(junk, bytes, 12);
        fwrite(junk, 1, sizeof junk, t);
        rewind(t);
        CHECK(rlae_agent_load(t, "junk", NULL, &x) == RLAE_ERR_INPUT && x == NULL);
        fclose(t);
    }
    free(bytes);
    rlae_agent_free(a);
    rlae_agent_free(c);
}

/* target_kl stops the remaining epochs; the metrics count what ran. */
static void test_target_kl(void)
{
    rlae_agent_spec sp = small_spec(RLAE_ALGO_PPO, false, true, false);
    rlae_agent *a;
    CHECK(rlae_agent_new(&sp, &a) == RLAE_OK);
    static buffer b;
    fill_buffer(a, 3, &b);
    rlae_span_batch sb = as_batch(&b);
    rlae_algorithm_config hp = hparams(RLAE_ALGO_PPO);
    hp.epochs = 5;
    hp.target_kl = 1e-12;
    rlae_update_metrics m;
    CHECK(rlae_agent_update(a, &hp, &sb, 0, 1, &m) == RLAE_OK);
    CHECK_EQ_INT(m.epochs, 1);
    CHECK_EQ_INT(m.minibatches, hp.minibatches);
    CHECK(m.approx_kl > 0 && m.approx_kl < 0.1);
    hp.target_kl = 0;
    CHECK(rlae_agent_update(a, &hp, &sb, 1, 2, &m) == RLAE_OK);
    CHECK_EQ_INT(m.epochs, 5);
    /* An empty buffer is not an error and changes nothing. */
    rlae_span_batch empty = {.n_episodes = 0, .offset = b.offset};
    CHECK(rlae_agent_update(a, &hp, &empty, 2, 3, &m) == RLAE_OK && m.minibatches == 0);
    rlae_agent_free(a);
}

/* Agents with an encoder member: save / load round trip, refusal across encoder / no encoder (the
 * message says which side has one), and a version-1 file (written before the encoder existed: no
 * encoder width after the seed) still loading into an agent without one. */
static void test_encoder_state(void)
{
    g_enc_dim = 6;
    rlae_agent_spec se = small_spec(RLAE_ALGO_MAPPO, true, true, false);
    g_enc_dim = 0;
    rlae_agent_spec s0 = small_spec(RLAE_ALGO_MAPPO, true, true, false);
    rlae_agent *e, *z, *x = NULL;
    CHECK(rlae_agent_new(&se, &e) == RLAE_OK && rlae_agent_new(&s0, &z) == RLAE_OK);
    CHECK_EQ_INT(rlae_agent_obs_dim(e), rlae_agent_obs_dim(z) + 6);
    CHECK_EQ_INT(rlae_agent_encoder_dim(e), 6);
    /* without an encoder the layout is the old one; with it, the projection and wider inputs */
    CHECK_EQ_INT((int)rlae_agent_n_params(e) - (int)rlae_agent_n_params(z),
                 (6 + 1) * 3 /* P_e */ + 3 * 6 /* critic input */ + 3 * 6 /* shared actor input */);
    rlae_update_metrics um;
    run_updates(e, 0, 2, &um);
    rlae_agent *back = roundtrip(e, &se);
    if (back) {
        CHECK(memcmp(rlae_agent_params(back), rlae_agent_params(e), sizeof(float) * rlae_agent_n_params(e)) == 0);
        rlae_agent_free(back);
    }
    FILE *f = tmpfile();
    CHECK(rlae_agent_save(e, f, "enc.bin") == RLAE_OK);
    rewind(f);
    CHECK(rlae_agent_load(f, "enc.bin", &s0, &x) == RLAE_ERR_INPUT && x == NULL);
    CHECK_MSG(strstr(rlae_last_error(), "trained with an encoder member") && strstr(rlae_last_error(), "none"),
              "%s", rlae_last_error());
    fclose(f);
    f = tmpfile();
    CHECK(rlae_agent_save(z, f, "plain.bin") == RLAE_OK);
    long size = ftell(f);
    rewind(f);
    CHECK(rlae_agent_load(f, "plain.bin", &se, &x) == RLAE_ERR_INPUT && x == NULL);
    CHECK_MSG(strstr(rlae_last_error(), "trained without an encoder member") && strstr(rlae_last_error(), "encoder"),
              "%s", rlae_last_error());
    rlae_agent_spec wider = se;
    wider.enc_dim = 7;
    fclose(f);
    f = tmpfile();
    CHECK(rlae_agent_save(e, f, "enc.bin") == RLAE_OK);
    rewind(f);
    CHECK(rlae_agent_load(f, "enc.bin", &wider, &x) == RLAE_ERR_INPUT);
    CHECK_MSG(strstr(rlae_last_error(), "hidden size is 6 in the file but 7"), "%s", rlae_last_error());
    fclose(f);
    /* version 1: magic (8), version (4), the spec (80 bytes up to the seed), then the rest */
    f = tmpfile();
    CHECK(rlae_agent_save(z, f, "plain.bin") == RLAE_OK);
    unsigned char *bytes = malloc((size_t)size);
    rewind(f);
    CHECK(fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    CHECK(bytes[8] == 2 && bytes[92] == 0 && bytes[93] == 0); /* version 2, encoder width 0 */
    bytes[8] = 1;
    f = tmpfile();
    fwrite(bytes, 1, 92, f);
    fwrite(bytes + 96, 1, (size_t)size - 96, f);
    rewind(f);
    CHECK_MSG(rlae_agent_load(f, "v1.bin", &s0, &x) == RLAE_OK, "%s", rlae_last_error());
    if (x) {
        CHECK(memcmp(rlae_agent_params(x), rlae_agent_params(z), sizeof(float) * rlae_agent_n_params(z)) == 0);
        CHECK_EQ_INT(rlae_agent_encoder_dim(x), 0);
        rlae_agent_free(x);
    }
    fclose(f);
    free(bytes);
    rlae_agent_free(e);
    rlae_agent_free(z);
}

static void test_spec_errors(void)
{
    rlae_agent_spec sp = small_spec(RLAE_ALGO_PPO, false, true, false);
    rlae_agent *a = NULL;
    sp.n_members = 9;
    CHECK(rlae_agent_new(&sp, &a) == RLAE_ERR_INPUT && a == NULL);
    sp = small_spec(RLAE_ALGO_PPO, false, true, false);
    sp.net.layers = 8;
    CHECK(rlae_agent_new(&sp, &a) == RLAE_ERR_INPUT);
    sp = small_spec(RLAE_ALGO_PPO, false, true, false);
    sp.hidden_dim[2] = 0;
    CHECK(rlae_agent_new(&sp, &a) == RLAE_ERR_INPUT);
    sp.net.use_hidden = false; /* hidden dims unused then */
    CHECK(rlae_agent_new(&sp, &a) == RLAE_OK);
    CHECK_EQ_INT(rlae_agent_obs_dim(a), 3 * 4 + 2);
    rlae_agent_free(a);
}

int main(void)
{
    test_gradient(RLAE_ALGO_PPO, false, true, false);
    test_gradient(RLAE_ALGO_PPO, false, true, true);
    test_gradient(RLAE_ALGO_PPO, false, false, false);
    test_gradient(RLAE_ALGO_MAPPO, true, true, true);
    test_gradient(RLAE_ALGO_MAPPO, false, true, false);
    test_gradient(RLAE_ALGO_MAPPO, false, true, true);
    test_act(RLAE_ALGO_PPO, false, false);
    test_act(RLAE_ALGO_PPO, false, true);
    test_act(RLAE_ALGO_MAPPO, true, true);
    test_act(RLAE_ALGO_MAPPO, false, false);
    test_determinism(RLAE_ALGO_PPO, false, false);
    test_determinism(RLAE_ALGO_MAPPO, true, true);
    test_determinism(RLAE_ALGO_MAPPO, false, false);
    test_target_kl();
    test_spec_errors();
    g_enc_dim = 6; /* with an encoder member */
    test_gradient(RLAE_ALGO_PPO, false, true, false);
    test_gradient(RLAE_ALGO_PPO, false, false, true);
    test_gradient(RLAE_ALGO_MAPPO, true, true, true);
    test_gradient(RLAE_ALGO_MAPPO, false, false, false);
    test_determinism(RLAE_ALGO_PPO, false, false);
    test_determinism(RLAE_ALGO_MAPPO, true, true);
    g_enc_dim = 0;
    test_encoder_state();
    return test_summary("test_agent");
}
