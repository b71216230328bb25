/* Learning test of algorithms/agent: a contextual bandit that PPO and MAPPO must solve.
 *
 * K = 3 "members". Each episode is one span (terminated). A context c in {0, 1, 2} is drawn per
 * episode (keyed RNG) and shown only through the member statistics: member c's top-1 probability
 * is 0.9 and its entropy 0.3, the others' 0.3 and 2.0 (plus small keyed noise on every statistic).
 * The reward is w[c], the probability that the mixture picks the right member, so the optimum is
 * 1 (all weight on member c) and uniform weights earn 1/3. The score is the deterministic policy's
 * (Dirichlet mean / softmax(mu)) expected reward averaged over the three contexts.
 *
 * Pass: for 3 seeds each of ppo, mappo (shared) and mappo (unshared), >= 95% of the optimum within
 * 200 updates of 64 episodes, evaluated every 5 updates; prints the fraction and updates per run. */
#include "test.h"

#include "algorithms/agent.h"
#include "core/rng.h"

#include <time.h>

enum { K = 3, EPISODES = 64, MAX_UPDATES = 200, EVAL_EVERY = 5 };

/* The observation of context c; noise from the keyed stream (NULL: none). */
static void context_obs(const rlae_agent *a, int c, rlae_rng *noise, float *obs)
{
    const int D = rlae_agent_obs_dim(a);
    CHECK(D == K * RLAE_AGENT_MEMBER_STATS + 2);
    for (int k = 0; k < K; k++) {
        float *o = obs + k * RLAE_AGENT_MEMBER_STATS;
        o[0] = k == c ? 0.3f : 2.0f; /* entropy */
        o[1] = k == c ? 0.9f : 0.3f; /* top-1 probability */
        o[2] = -1.0f;                /* span log-probability */
        o[3] = 0.5f;                 /* agreement */
        for (int j = 0; noise && j < RLAE_AGENT_MEMBER_STATS; j++)
            o[j] += (float)(0.05 * rlae_rng_normal(noise));
    }
    obs[D - 2] = 0.0f; /* span index */
    obs[D - 1] = 0.0f; /* fraction of max_new_tokens */
}

/* Expected reward of the deterministic policy, averaged over the contexts. */
static double evaluate(rlae_agent *a)
{
    float obs[K * 64], w[K * K];
    const int D = rlae_agent_obs_dim(a);
    for (int c = 0; c < K; c++)
        context_obs(a, c, NULL, obs + c * D);
    CHECK(rlae_agent_act(a, K, obs, NULL, NULL, 1, w, NULL, NULL, NULL) == RLAE_OK);
    double r = 0;
    for (int c = 0; c < K; c++)
        r += w[c * K + c] / K;
    return r;
}

static void run(rlae_algorithm algo, bool share, uint64_t seed)
{
    rlae_agent_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.algo = algo;
    sp.n_members = K;
    sp.max_spans = 2;
    sp.net.hidden = 32;
    sp.net.layers = 2;
    sp.net.proj_dim = 1;
    sp.net.span_embed_dim = 2;
    sp.net.alpha_min = 1e-4;
    sp.net.use_hidden = false;
    sp.share_params = share;
    sp.value_norm = algo == RLAE_ALGO_MAPPO;
    sp.seed = seed;
    rlae_algorithm_config hp;
    memset(&hp, 0, sizeof hp);
    hp.name = algo;
    hp.lr = 3e-4; /* the config default */
    hp.gamma = 0.99;
    hp.gae_lambda = 0.95;
    hp.clip = 0.2;
    hp.value_coef = 0.5;
    hp.entropy_coef = 0.01;
    hp.max_grad_norm = 0.5;
    hp.epochs = 4;
    hp.minibatches = 4;
    hp.adam_eps = 1e-5;
    hp.huber_delta = 10.0;
    rlae_agent *a;
    CHECK(rlae_agent_new(&sp, &a) == RLAE_OK);
    const int D = rlae_agent_obs_dim(a);
    static float obs[EPISODES * 64], w[EPISODES * K], action[EPISODES * K], logp[EPISODES * K], value[EPISODES],
        reward[EPISODES], bootstrap[EPISODES];
    static unsigned char term[EPISODES];
    int offset[EPISODES + 1], ctx[EPISODES], span[EPISODES];
    uint32_t ep[EPISODES];
    for (int e = 0; e <= EPISODES; e++)
        offset[e] = e;
    double uniform = 1.0 / K, start = evaluate(a), reached = start;
    int updates = 0;
    for (int u = 0; u < MAX_UPDATES && reached < 0.95; u++) {
        for (int e = 0; e < EPISODES; e++) {
            rlae_rng r;
            rlae_rng_init(&r, seed, (uint32_t)u, (uint32_t)e, 99);
            ctx[e] = (int)rlae_rng_below(&r, K);
            context_obs(a, ctx[e], &r, obs + (size_t)e * D);
            ep[e] = (uint32_t)(u * EPISODES + e);
            span[e] = 0;
            term[e] = 1;
            bootstrap[e] = 0;
        }
        CHECK(rlae_agent_act(a, EPISODES, obs, ep, span, 0, w, action, logp, value) == RLAE_OK);
        for (int e = 0; e < EPISODES; e++)
            reward[e] = w[e * K + ctx[e]];
        rlae_span_batch b = {.n_episodes = EPISODES, .offset = offset, .obs = obs, .action = action, .logp = logp,
                             .value = value, .reward = reward, .terminated = term, .bootstrap = bootstrap};
        rlae_update_metrics m;
        CHECK(rlae_agent_update(a, &hp, &b, u, MAX_UPDATES, &m) == RLAE_OK);
        CHECK(isfinite(m.loss) && m.epochs == hp.epochs && m.minibatches == (long)hp.epochs * hp.minibatches);
        updates = u + 1;
        if (updates % EVAL_EVERY == 0)
            reached = evaluate(a);
    }
    printf("bandit %-14s seed %llu: %.3f of the optimum after %3d updates (start %.3f, uniform %.3f)\n",
           algo == RLAE_ALGO_PPO ? "ppo" : share ? "mappo shared" : "mappo unshared", (unsigned long long)seed,
           reached, updates, start, uniform);
    CHECK_MSG(reached >= 0.95, "reached %.3f of the optimum", reached);
    CHECK(reached > uniform + 0.5); /* far above what uniform weights earn */
    rlae_agent_free(a);
}

int main(void)
{
    clock_t t0 = clock();
    for (uint64_t seed = 1; seed <= 3; seed++) {
        run(RLAE_ALGO_PPO, false, seed);
        run(RLAE_ALGO_MAPPO, true, seed);
        run(RLAE_ALGO_MAPPO, false, seed);
    }
    printf("bandit: %.2f s CPU\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    return test_summary("test_agent_bandit");
}
