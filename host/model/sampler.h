/* Next-token selection from logits: greedy argmax, or temperature sampling restricted to the top-k
 * tokens and/or the top-p nucleus. The sampler is pure: the caller passes the uniform draw u in
 * [0, 1) (from core/rng.h, keyed by seed/episode/span/token), so a choice is reproducible from its
 * inputs alone. The scratch for sorting is allocated once at init: no allocation per token.
 *
 * Semantics (in this order):
 *   temperature <= 0           greedy: the largest logit, ties to the lowest id (top_k/top_p unused);
 *   p = softmax(logits / T);
 *   top_k > 0                  keep the k most probable tokens (ties to the lower id);
 *   0 < top_p < 1              of those, keep the smallest prefix (most probable first) whose mass
 *                              reaches top_p (llama2.c's rule: the token that crosses it is kept);
 *   then draw the token where the cumulative kept mass first exceeds u * (kept mass), visiting
 *   tokens most probable first (when truncated) or in id order (when nothing is truncated, as
 *   llama2.c's sample_mult does). */
#ifndef RLAE_MODEL_SAMPLER_H
#define RLAE_MODEL_SAMPLER_H

#include "core/status.h"

typedef struct {
    float prob;
    int id;
} rlae_prob_id;

typedef struct {
    int vocab_size;
    float temperature; /* <= 0: greedy */
    int top_k;         /* <= 0 or >= vocab: off */
    float top_p;       /* <= 0 or >= 1: off */
    float *probs;      /* [vocab] scratch */
    rlae_prob_id *sorted; /* [vocab] scratch */
} rlae_sampler;

rlae_status rlae_sampler_init(rlae_sampler *s, int vocab_size, float temperature, int top_k, float top_p);
void rlae_sampler_free(rlae_sampler *s);

/* Largest logit, ties to the lowest id. */
int rlae_argmax(const float *logits, int n);

/* Chooses the next token from logits[vocab_size] with the uniform u in [0, 1). */
int rlae_sampler_sample(rlae_sampler *s, const float *logits, float u);

#endif
