/* The sampler with fixed uniforms: greedy ties, plain multinomial boundaries, the masses top-k and
 * top-p keep, temperature, and a frequency check of truncated sampling against its renormalised
 * distribution. */
#include "test.h"

#include "model/sampler.h"

/* logits whose softmax is exactly-ish p (log p) */
static void logits_of(const double *p, int n, float *out)
{
    for (int i = 0; i < n; i++)
        out[i] = (float)log(p[i]);
}

int main(void)
{
    /* greedy: ties go to the lowest id; temperature 0 ignores top-k/top-p */
    float tie[5] = {1, 3, 3, 2, 3};
    CHECK_EQ_INT(rlae_argmax(tie, 5), 1);
    rlae_sampler s;
    CHECK(rlae_sampler_init(&s, 5, 0.0f, 2, 0.5f) == RLAE_OK);
    CHECK_EQ_INT(rlae_sampler_sample(&s, tie, 0.99f), 1);
    rlae_sampler_free(&s);

    const double p[4] = {0.1, 0.2, 0.3, 0.4};
    float lg[4];
    logits_of(p, 4, lg);

    /* plain multinomial, id order: cdf 0.1, 0.3, 0.6, 1.0 */
    CHECK(rlae_sampler_init(&s, 4, 1.0f, 0, 1.0f) == RLAE_OK);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.0f), 0);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.09f), 0);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.11f), 1);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.29f), 1);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.31f), 2);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.61f), 3);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.99999994f), 3);
    rlae_sampler_free(&s);

    /* top-k 2 keeps {3: 0.4, 2: 0.3}, mass 0.7, visited most probable first: cut at u = 0.4/0.7 */
    CHECK(rlae_sampler_init(&s, 4, 1.0f, 2, 1.0f) == RLAE_OK);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.0f), 3);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.57f), 3);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.58f), 2);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.99f), 2);
    rlae_sampler_free(&s);

    /* top-p 0.35: the first token (0.4) already reaches it, so only id 3 is ever drawn */
    CHECK(rlae_sampler_init(&s, 4, 1.0f, 0, 0.35f) == RLAE_OK);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.0f), 3);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.99f), 3);
    rlae_sampler_free(&s);
    /* top-p 0.75: 0.4 + 0.3 = 0.7 < 0.75, + 0.2 = 0.9 reaches it: keeps {3, 2, 1}, mass 0.9;
     * cuts at u = 0.4/0.9 = 0.444 and 0.7/0.9 = 0.778 */
    CHECK(rlae_sampler_init(&s, 4, 1.0f, 0, 0.75f) == RLAE_OK);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.44f), 3);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.45f), 2);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.77f), 2);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.79f), 1);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.9999f), 1); /* never id 0 */
    rlae_sampler_free(&s);
    /* top-k and top-p together: k = 3 then p = 0.75 (same set) */
    CHECK(rlae_sampler_init(&s, 4, 1.0f, 3, 0.75f) == RLAE_OK);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, 0.9999f), 1);
    rlae_sampler_free(&s);
    /* ties in top-k: two equal logits, k = 1 keeps the lower id */
    float tl[4] = {2, 5, 5, 1};
    CHECK(rlae_sampler_init(&s, 4, 1.0f, 1, 1.0f) == RLAE_OK);
    CHECK_EQ_INT(rlae_sampler_sample(&s, tl, 0.99f), 1);
    rlae_sampler_free(&s);

    /* temperature 2: q ~ p^(1/2); the first cut of the id-order cdf is sqrt(0.1)/sum sqrt(p) */
    double z = 0;
    for (int i = 0; i < 4; i++)
        z += sqrt(p[i]);
    double cut = sqrt(p[0]) / z;
    CHECK(rlae_sampler_init(&s, 4, 2.0f, 0, 1.0f) == RLAE_OK);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, (float)(cut - 1e-4)), 0);
    CHECK_EQ_INT(rlae_sampler_sample(&s, lg, (float)(cut + 1e-4)), 1);
    rlae_sampler_free(&s);

    /* frequencies: top-k 3 over 6 tokens, evenly spaced uniforms, match the renormalised masses */
    const double p6[6] = {0.05, 0.25, 0.1, 0.3, 0.2, 0.1};
    float l6[6];
    logits_of(p6, 6, l6);
    CHECK(rlae_sampler_init(&s, 6, 1.0f, 3, 1.0f) == RLAE_OK);
    int count[6] = {0};
    enum { DRAWS = 20000 };
    for (int i = 0; i < DRAWS; i++)
        count[rlae_sampler_sample(&s, l6, (i + 0.5f) / DRAWS)]++;
    CHECK_EQ_INT(count[0] + count[2] + count[5], 0);
    CHECK_NEAR(count[3] / (double)DRAWS, 0.3 / 0.75, 1e-3);
    CHECK_NEAR(count[1] / (double)DRAWS, 0.25 / 0.75, 1e-3);
    CHECK_NEAR(count[4] / (double)DRAWS, 0.2 / 0.75, 1e-3);
    rlae_sampler_free(&s);

    /* bad settings */
    CHECK(rlae_sampler_init(&s, 4, -1.0f, 0, 1.0f) == RLAE_ERR_INPUT);
    CHECK(rlae_sampler_init(&s, 4, 1.0f, 0, 1.5f) == RLAE_ERR_INPUT);
    CHECK(rlae_sampler_init(&s, 0, 1.0f, 0, 1.0f) == RLAE_ERR_INPUT);
    return test_summary("test_sampler");
}
