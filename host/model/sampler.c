/* Greedy / temperature / top-k / top-p selection (see sampler.h). Runs on the host over one row of
 * logits; the ensemble's batched mixing and selection will be an op of its own. */
#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

rlae_status rlae_sampler_init(rlae_sampler *s, int vocab_size, float temperature, int top_k, float top_p)
{
    memset(s, 0, sizeof *s);
    if (vocab_size < 1)
        return rlae_fail(RLAE_ERR_INPUT, "sampler: vocabulary size %d", vocab_size);
    if (!(temperature >= 0.0f) || !isfinite(temperature))
        return rlae_fail(RLAE_ERR_INPUT, "sampler: temperature must be >= 0 (got %g)", (double)temperature);
    if (!(top_p >= 0.0f && top_p <= 1.0f))
        return rlae_fail(RLAE_ERR_INPUT, "sampler: top-p must be in [0, 1] (got %g)", (double)top_p);
    if (top_k < 0)
        return rlae_fail(RLAE_ERR_INPUT, "sampler: top-k must be >= 0 (got %d)", top_k);
    s->vocab_size = vocab_size;
    s->temperature = temperature;
    s->top_k = top_k;
    s->top_p = top_p;
    s->probs = rlae_malloc((size_t)vocab_size * sizeof *s->probs);
    s->sorted = rlae_malloc((size_t)vocab_size * sizeof *s->sorted);
    if (!s->probs || !s->sorted) {
        rlae_sampler_free(s);
        return RLAE_ERR_NOMEM;
    }
    return RLAE_OK;
}

void rlae_sampler_free(rlae_sampler *s)
{
    free(s->probs);
    free(s->sorted);
    memset(s, 0, sizeof *s);
}

int rlae_argmax(const float *logits, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best]) /* strict: an equal later logit keeps the lower id */
            best = i;
    return best;
}

/* Most probable first; equal probabilities by increasing id, so the order is total and the result
 * does not depend on qsort's (unstable) handling of ties. */
static int by_prob_desc(const void *a, const void *b)
{
    const rlae_prob_id *x = a, *y = b;
    if (x->prob != y->prob)
        return x->prob > y->prob ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int rlae_sampler_sample(rlae_sampler *s, const float *logits, float u)
{
    int n = s->vocab_size;
    if (s->temperature <= 0.0f)
        return rlae_argmax(logits, n);

    /* softmax(logits / T) with the max subtracted first */
    float m = logits[rlae_argmax(logits, n)];
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        s->probs[i] = expf((logits[i] - m) / s->temperature);
        sum += s->probs[i];
    }
    for (int i = 0; i < n; i++)
        s->probs[i] = (float)(s->probs[i] / sum);

    int use_k = s->top_k > 0 && s->top_k < n;
    int use_p = s->top_p > 0.0f && s->top_p < 1.0f;
    if (!use_k && !use_p) { /* plain multinomial in id order */
        float cdf = 0.0f;
        int last = 0;
        for (int i = 0; i < n; i++) {
            cdf += s->probs[i];
            if (u < cdf)
                return i;
            if (s->probs[i] > 0.0f)
                last = i;
        }
        return last; /* rounding left the cdf just short of 1: the last token that has probability */
    }

    for (int i = 0; i < n; i++) {
        s->sorted[i].prob = s->probs[i];
        s->sorted[i].id = i;
    }
    /* A full sort is O(V log V) per token; fine for a CLI. Top-k alone could use selection. */
    qsort(s->sorted, (size_t)n, sizeof *s->sorted, by_prob_desc);
    int kept = use_k ? s->top_k : n;
    double mass = 0.0;
    for (int i = 0; i < kept; i++) {
        mass += s->sorted[i].prob;
        if (use_p && mass >= s->top_p) { /* keep the token that reaches the nucleus mass */
            kept = i + 1;
            break;
        }
    }
    double r = (double)u * mass, cdf = 0.0;
    int last = 0;
    for (int i = 0; i < kept; i++) {
        cdf += s->sorted[i].prob;
        if (r < cdf)
            return s->sorted[i].id;
        if (s->sorted[i].prob > 0.0f)
            last = i;
    }
    return s->sorted[last].id; /* as above: never a token of probability 0 (a -inf logit) */
}
