/* mix_select on the CPU against hand-computed mixtures: tiny vocabularies with many-to-one maps and
 * specials (-1), one-hot / uniform / unnormalised weights, ties to the lowest union id, greedy and
 * sampled tokens (recomputed here from the documented rule with the same Philox word), top-k and
 * top-p, UniTE's top-k union, the gated mode, the per-member outputs, and bad inputs. */
#include "test.h"

#include "core/rng.h"
#include "ensemble/mix_select.h"

#include <stdint.h>

#define MAXK 3
#define MAXB 4

typedef struct {
    int k, b, u;
    int v[MAXK];
    float logits[MAXK][MAXB * 8];
    int32_t maps[MAXK][8];
    float w[MAXB * MAXK];
    int32_t episode[MAXB], step[MAXB];
    /* outputs */
    int32_t token[MAXB], argmax[MAXB * MAXK];
    float mixed[MAXB], mprob[MAXB * MAXK], top1[MAXB * MAXK], ent[MAXB * MAXK];
} mix_case;

/* Member k's logits = log p (the same row for every sequence) and its map. */
static void member(mix_case *c, int k, int v, const double *p, const int32_t *map)
{
    c->v[k] = v;
    for (int b = 0; b < MAXB; b++)
        for (int t = 0; t < v; t++)
            c->logits[k][b * v + t] = (float)log(p[t]);
    for (int t = 0; t < v; t++)
        c->maps[k][t] = map[t];
}

static rlae_status run(mix_case *c, const rlae_mix_params *p)
{
    rlae_tensor lg[MAXK], mp[MAXK];
    for (int k = 0; k < c->k; k++) {
        lg[k] = rlae_tensor_view(c->logits[k], RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){c->b, c->v[k]});
        mp[k] = rlae_tensor_view(c->maps[k], RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){c->v[k]});
    }
    rlae_tensor w = rlae_tensor_view(c->w, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){c->b, c->k});
    rlae_tensor ep = rlae_tensor_view(c->episode, RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){c->b});
    rlae_tensor st = rlae_tensor_view(c->step, RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){c->b});
    rlae_tensor tok = rlae_tensor_view(c->token, RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){c->b});
    rlae_tensor mx = rlae_tensor_view(c->mixed, RLAE_F32, RLAE_DEV_CPU, 1, (int64_t[]){c->b});
    int64_t bk[2] = {c->b, c->k};
    rlae_tensor mprob = rlae_tensor_view(c->mprob, RLAE_F32, RLAE_DEV_CPU, 2, bk);
    rlae_tensor top1 = rlae_tensor_view(c->top1, RLAE_F32, RLAE_DEV_CPU, 2, bk);
    rlae_tensor am = rlae_tensor_view(c->argmax, RLAE_I32, RLAE_DEV_CPU, 2, bk);
    rlae_tensor ent = rlae_tensor_view(c->ent, RLAE_F32, RLAE_DEV_CPU, 2, bk);
    rlae_mix_inputs in = {c->k, lg, mp, c->u, &w, &ep, &st};
    rlae_mix_outputs out = {&tok, &mx, &mprob, &top1, &am, &ent};
    rlae_mix_workspace *ws = NULL;
    rlae_status s = rlae_mix_workspace_new(RLAE_DEV_CPU, MAXB, c->k, c->v, c->u, &ws);
    if (s != RLAE_OK)
        return s;
    s = rlae_mix_select(&in, p, ws, &out);
    rlae_mix_workspace_free(ws);
    return s;
}

static void set_weights(mix_case *c, int b, const float *w)
{
    for (int k = 0; k < c->k; k++)
        c->w[b * c->k + k] = w[k];
}

/* The documented sampling rule, recomputed in double from the exact mixture q[0..n): probabilities
 * q^(1/T) normalised; top-k / top-p on the order (prob desc, id asc); the draw r = u * kept mass
 * over that order (or id order when nothing is truncated). *near is set when r lies within 1e-6 of
 * a cumulative boundary (float rounding could then pick the neighbour). */
static int expected_sample(const double *q, int n, double temp, int top_k, double top_p, float u, int *near)
{
    double pr[16], sum = 0.0;
    int ord[16];
    for (int i = 0; i < n; i++) {
        pr[i] = q[i] > 0 ? pow(q[i], 1.0 / temp) : 0.0;
        sum += pr[i];
        ord[i] = i;
    }
    for (int i = 0; i < n; i++)
        pr[i] /= sum;
    int use_k = top_k > 0 && top_k < n, use_p = top_p > 0 && top_p < 1;
    if (use_k || use_p)
        for (int i = 1; i < n; i++) /* insertion sort: prob desc, id asc */
            for (int j = i; j > 0 && pr[ord[j]] > pr[ord[j - 1]]; j--) {
                int t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
    int kept = use_k ? top_k : n;
    double mass = 0.0;
    for (int i = 0; i < kept; i++) {
        mass += pr[ord[i]];
        if (use_p && mass >= top_p) {
            kept = i + 1;
            break;
        }
    }
    if (!use_k && !use_p)
        mass = 1.0;
    double r = u * mass, cdf = 0.0;
    *near = 0;
    int pick = -1;
    for (int i = 0; i < kept; i++) {
        cdf += pr[ord[i]];
        if (fabs(r - cdf) < 1e-6)
            *near = 1;
        if (pick < 0 && r < cdf)
            pick = ord[i];
    }
    return pick;
}

static float draw_u(uint64_t seed, int32_t episode, int32_t step)
{
    return rlae_u32_to_unit_float(rlae_rng_word_at(seed, (uint32_t)episode, RLAE_MIX_RNG_SPAN, (uint32_t)step, 0));
}

/* Two members over a union of 4: A (V 3) p = .2 .3 .5, map 0 1 1 -> P_A = .2 .8 0 0;
 * B (V 4) p = .1 .2 .3 .4, map 3 2 -1 0 (token 2 special) -> P_B = .4 0 .2 .1. */
static void two_members(mix_case *c, int b)
{
    memset(c, 0, sizeof *c);
    c->k = 2;
    c->b = b;
    c->u = 4;
    member(c, 0, 3, (const double[]){0.2, 0.3, 0.5}, (const int32_t[]){0, 1, 1});
    member(c, 1, 4, (const double[]){0.1, 0.2, 0.3, 0.4}, (const int32_t[]){3, 2, -1, 0});
}

static void test_greedy_and_outputs(void)
{
    mix_case c;
    two_members(&c, 4);
    set_weights(&c, 0, (const float[]){1, 0});  /* q = P_A: A's own choice, union 1 */
    set_weights(&c, 1, (const float[]){0, 1});  /* q = P_B: union 0 */
    set_weights(&c, 2, (const float[]){1, 1});  /* q = .3 .4 .1 .05 -> 1 */
    set_weights(&c, 3, (const float[]){1, 3});  /* w = .25 .75: q = .35 .2 .15 .075 -> 0 */
    rlae_mix_params p = rlae_mix_params_default();
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], 1);
    CHECK_EQ_INT(c.token[1], 0);
    CHECK_EQ_INT(c.token[2], 1);
    CHECK_EQ_INT(c.token[3], 0);
    CHECK_NEAR(c.mixed[0], 0.8, 1e-6);
    CHECK_NEAR(c.mixed[1], 0.4, 1e-6);
    CHECK_NEAR(c.mixed[2], 0.4, 1e-6);
    CHECK_NEAR(c.mixed[3], 0.35, 1e-6);
    /* member_prob = P_k(token) */
    CHECK_NEAR(c.mprob[0], 0.8, 1e-6);
    CHECK_NEAR(c.mprob[1], 0.0, 1e-7);
    CHECK_NEAR(c.mprob[2], 0.2, 1e-6);
    CHECK_NEAR(c.mprob[3], 0.4, 1e-6);
    CHECK_NEAR(c.mprob[6], 0.2, 1e-6);
    CHECK_NEAR(c.mprob[7], 0.4, 1e-6);
    double ha = -(0.2 * log(0.2) + 0.3 * log(0.3) + 0.5 * log(0.5));
    double hb = -(0.1 * log(0.1) + 0.2 * log(0.2) + 0.3 * log(0.3) + 0.4 * log(0.4));
    for (int b = 0; b < 4; b++) {
        CHECK_NEAR(c.top1[b * 2], 0.5, 1e-6);
        CHECK_NEAR(c.top1[b * 2 + 1], 0.4, 1e-6);
        CHECK_EQ_INT(c.argmax[b * 2], 1);     /* A's token 2 -> union 1 */
        CHECK_EQ_INT(c.argmax[b * 2 + 1], 0); /* B's token 3 -> union 0 */
        CHECK_NEAR(c.ent[b * 2], ha, 1e-5);
        CHECK_NEAR(c.ent[b * 2 + 1], hb, 1e-5);
    }
}

static void test_ties_and_specials(void)
{
    /* A (V 2) with equal logits, map 2 1: P_A = 0 .5 .5 -> union tie 1 vs 2 goes to 1; A's own
     * argmax tie goes to its token 0 -> union 2. */
    mix_case c;
    memset(&c, 0, sizeof c);
    c.k = 1;
    c.b = 1;
    c.u = 3;
    member(&c, 0, 2, (const double[]){0.5, 0.5}, (const int32_t[]){2, 1});
    set_weights(&c, 0, (const float[]){2});
    rlae_mix_params p = rlae_mix_params_default();
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], 1);
    CHECK_EQ_INT(c.argmax[0], 2);
    CHECK_NEAR(c.mixed[0], 0.5, 1e-6);

    /* every token special: q is 0 everywhere -> token -1; the argmax is outside the union -> -1 */
    member(&c, 0, 2, (const double[]){0.7, 0.3}, (const int32_t[]){-1, -1});
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], -1);
    CHECK_EQ_INT(c.argmax[0], -1);
    CHECK_NEAR(c.mixed[0], 0.0, 0.0);
    CHECK_NEAR(c.mprob[0], 0.0, 0.0);
}

static void test_sampling(void)
{
    mix_case c;
    two_members(&c, 4);
    const double q[4] = {0.3, 0.4, 0.1, 0.05}; /* uniform weights; B's special keeps .15 out */
    for (int b = 0; b < 4; b++) {
        set_weights(&c, b, (const float[]){0.5f, 0.5f});
        c.episode[b] = 7 + b;
    }
    struct {
        float t;
        int k;
        float p;
    } cfg[] = {{1.0f, 0, 0.0f}, {0.5f, 0, 0.0f}, {2.0f, 0, 1.0f}, {1.0f, 2, 0.0f}, {1.0f, 0, 0.5f},
               {1.0f, 0, 0.4f}, {0.7f, 3, 0.8f}, {1.0f, 1, 0.0f}};
    int checked = 0, near = 0, seen[4] = {0};
    for (size_t ci = 0; ci < sizeof cfg / sizeof cfg[0]; ci++)
        for (uint64_t seed = 1; seed <= 6; seed++)
            for (int step = 0; step < 5; step++) {
                for (int b = 0; b < 4; b++)
                    c.step[b] = step * 3 + b;
                rlae_mix_params p = rlae_mix_params_default();
                p.temperature = cfg[ci].t;
                p.top_k = cfg[ci].k;
                p.top_p = cfg[ci].p;
                p.seed = seed;
                CHECK(run(&c, &p) == RLAE_OK);
                for (int b = 0; b < 4; b++) {
                    int nr;
                    float u = draw_u(seed, c.episode[b], c.step[b]);
                    int want = expected_sample(q, 4, cfg[ci].t, cfg[ci].k, cfg[ci].p, u, &nr);
                    if (nr) {
                        near++;
                        continue;
                    }
                    checked++;
                    CHECK_MSG(c.token[b] == want, "T %g top_k %d top_p %g seed %llu step %d: token %d, want %d (u %g)",
                              (double)cfg[ci].t, cfg[ci].k, (double)cfg[ci].p, (unsigned long long)seed, c.step[b],
                              c.token[b], want, (double)u);
                    if (c.token[b] >= 0 && c.token[b] < 4)
                        seen[c.token[b]]++;
                    CHECK_NEAR(c.mixed[b], q[c.token[b]], 1e-6);
                }
            }
    CHECK(checked > 900 && near < 10);
    CHECK(seen[0] > 0 && seen[1] > 0 && seen[2] > 0 && seen[3] > 0); /* the draws cover every entry */
}

/* Three members, V 3, p = .4 .35 .25 each, maps {0,3,4} {1,3,4} {2,3,4} over a union of 5:
 * uniform q = .133 .133 .133 .35 .25. Entry 3 is everyone's second choice. */
static void three_members(mix_case *c)
{
    memset(c, 0, sizeof *c);
    c->k = 3;
    c->b = 2;
    c->u = 5;
    const double p[3] = {0.4, 0.35, 0.25};
    member(c, 0, 3, p, (const int32_t[]){0, 3, 4});
    member(c, 1, 3, p, (const int32_t[]){1, 3, 4});
    member(c, 2, 3, p, (const int32_t[]){2, 3, 4});
    set_weights(c, 0, (const float[]){1, 1, 1});
    set_weights(c, 1, (const float[]){1, 1, 0});
}

static void test_unite(void)
{
    mix_case c;
    three_members(&c);
    rlae_mix_params p = rlae_mix_params_default();
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], 3); /* plain mixture: the shared second choice wins */
    CHECK_NEAR(c.mixed[0], 0.35, 1e-6);

    p.member_topk = 1; /* eligible: {0, 1, 2} (row 0), {0, 1} (row 1, member 2 unweighted) */
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], 0);
    CHECK_NEAR(c.mixed[0], 0.4 / 3, 1e-6);
    CHECK_EQ_INT(c.token[1], 0);
    CHECK_NEAR(c.mixed[1], 0.2, 1e-6);
    CHECK_NEAR(c.mprob[0], 0.4, 1e-6);
    CHECK_NEAR(c.mprob[1], 0.0, 0.0);

    p.member_topk = 2; /* entry 3 is in everyone's top 2 */
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], 3);
    CHECK_EQ_INT(c.token[1], 3);

    /* sampling never leaves the eligible set */
    p.member_topk = 1;
    p.temperature = 1.0f;
    int bad = 0, n = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        p.seed = seed;
        c.step[0] = c.step[1] = (int32_t)seed;
        CHECK(run(&c, &p) == RLAE_OK);
        bad += c.token[0] > 2 || c.token[0] < 0;
        bad += c.token[1] > 1 || c.token[1] < 0;
        n++;
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_gated(void)
{
    /* gate on A (top1 .5). Weights .01 / 1 would make the mixture pick B's union 0. */
    mix_case c;
    two_members(&c, 1);
    set_weights(&c, 0, (const float[]){0.01f, 1.0f});
    rlae_mix_params p = rlae_mix_params_default();
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], 0);
    p.gate_member = 0;
    p.gate_threshold = 0.45f; /* confident: A alone, its union choice 1 with q = P_A */
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], 1);
    CHECK_NEAR(c.mixed[0], 0.8, 1e-6);
    p.gate_threshold = 0.6f; /* not confident: the mixture */
    CHECK(run(&c, &p) == RLAE_OK);
    CHECK_EQ_INT(c.token[0], 0);
    CHECK_NEAR(c.mixed[0], (0.01 * 0.2 + 0.4) / 1.01, 1e-6);
}

static void expect_input_error(mix_case *c, const rlae_mix_params *p, const char *needle)
{
    rlae_clear_error();
    CHECK(run(c, p) == RLAE_ERR_INPUT);
    CHECK_MSG(strstr(rlae_last_error(), "mix_select") && strstr(rlae_last_error(), needle), "message '%s' lacks '%s'",
              rlae_last_error(), needle);
}

static void test_bad_inputs(void)
{
    mix_case c;
    rlae_mix_params p = rlae_mix_params_default();
    two_members(&c, 1);
    set_weights(&c, 0, (const float[]){0, 0});
    expect_input_error(&c, &p, "sums to 0");
    set_weights(&c, 0, (const float[]){1, -0.5f});
    expect_input_error(&c, &p, "weights[0, 1]");
    set_weights(&c, 0, (const float[]){NAN, 1});
    expect_input_error(&c, &p, "weights[0, 0]");
    set_weights(&c, 0, (const float[]){1, 1});
    c.maps[1][2] = 4; /* == union size */
    expect_input_error(&c, &p, "maps[1][2]");
    c.maps[1][2] = -2;
    expect_input_error(&c, &p, "maps[1][2]");
    c.maps[1][2] = -1;
    p.gate_member = 2;
    expect_input_error(&c, &p, "gate_member");
    p = rlae_mix_params_default();
    CHECK(run(&c, &p) == RLAE_OK);

    /* shape mismatch: member 1's logits narrower than the workspace's vocabulary */
    rlae_tensor lg[2] = {rlae_tensor_view(c.logits[0], RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){1, 3}),
                         rlae_tensor_view(c.logits[1], RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){1, 3})};
    rlae_tensor mp[2] = {rlae_tensor_view(c.maps[0], RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){3}),
                         rlae_tensor_view(c.maps[1], RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){4})};
    rlae_tensor w = rlae_tensor_view(c.w, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){1, 2});
    rlae_tensor ep = rlae_tensor_view(c.episode, RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){1});
    rlae_tensor tok = rlae_tensor_view(c.token, RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){1});
    rlae_tensor mx = rlae_tensor_view(c.mixed, RLAE_F32, RLAE_DEV_CPU, 1, (int64_t[]){1});
    rlae_tensor mprob = rlae_tensor_view(c.mprob, RLAE_F32, RLAE_DEV_CPU, 2, (int64_t[]){1, 2});
    rlae_mix_inputs in = {2, lg, mp, 4, &w, &ep, &ep};
    rlae_mix_outputs out = {&tok, &mx, &mprob, NULL, NULL, NULL};
    rlae_mix_workspace *ws = NULL;
    CHECK(rlae_mix_workspace_new(RLAE_DEV_CPU, 1, 2, c.v, 4, &ws) == RLAE_OK);
    CHECK(rlae_mix_select(&in, &p, ws, &out) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "logits[1]") != NULL);
    lg[1].shape[1] = 4;
    CHECK(rlae_mix_select(&in, &p, ws, &out) == RLAE_OK); /* optional outputs left out */
    CHECK_EQ_INT(c.token[0], 1);
    w.shape[1] = 3;
    CHECK(rlae_mix_select(&in, &p, ws, &out) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "weights") != NULL);
    w.shape[1] = 2;
    mprob.dtype = RLAE_I32;
    CHECK(rlae_mix_select(&in, &p, ws, &out) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "member_prob") != NULL);
    rlae_mix_workspace_free(ws);
    CHECK(rlae_mix_workspace_new(RLAE_DEV_CPU, 0, 2, c.v, 4, &ws) == RLAE_ERR_INPUT);
}

int main(void)
{
    test_greedy_and_outputs();
    test_ties_and_specials();
    test_sampling();
    test_unite();
    test_gated();
    test_bad_inputs();
    return test_summary("test_mix_select");
}
