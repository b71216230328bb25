/* The weight-policy interface: who decides the ensemble weights, once per span (METHOD.md §2).
 *
 * The rollout calls `decide` at every span boundary (before the first token, then every `span`
 * generated tokens) for the sequences that are still running, with what the members know at that
 * moment (rlae_span_state). The policy writes one weight vector per sequence; the weights hold for
 * the next `span` tokens. The baselines (algorithms/baselines.h: single member, uniform, fixed or
 * score weights, UniTE top-k union, GaC gated) and the RL agent implement the same interface, so
 * every row of a paper-style table runs through the same engine.
 *
 * A policy may also ask for a mixing variant that acts per token (UniTE's top-k union, GaC's
 * gate): it sets `mix_member_topk` / `mix_gate_member` and `mix_gate_threshold`, which the rollout
 * passes to mix_select at every step. */
#ifndef RLAE_ENSEMBLE_WEIGHT_POLICY_H
#define RLAE_ENSEMBLE_WEIGHT_POLICY_H

#include "core/status.h"

#include <stdint.h>

/* What the policy sees at a span boundary for n sequences and K members. Rows are sequences in the
 * order of `seq`; [n, K] arrays are row-major. Everything lives on the host. */
typedef struct {
    int n, n_members;
    const int *seq;           /* [n] index of the sequence in the rollout's batch */
    const uint32_t *episode;  /* [n] episode id (the sampling key) */
    const int *span_index;    /* [n] t: 0 before the first token */
    const int *generated;     /* [n] tokens generated so far */
    int max_new_tokens;
    /* member k's final hidden state (after the last RMSNorm) at the last position of sequence
     * seq[i]: hidden[k] + i * hidden_dim[k] */
    const float *const *hidden;
    const int *hidden_dim;    /* [K] */
    const float *entropy;     /* [n, K] entropy of member k's next-token distribution (nats) */
    const float *top1;        /* [n, K] its top-1 probability */
    const float *span_logprob;/* [n, K] mean log-probability member k gave the last span's chosen
                                 tokens (0 at t = 0) */
    const float *span_agree;  /* [n, K] fraction of the last span's tokens that were member k's own
                                 top-1 choice (0 at t = 0) */
    /* The encoder member (rlae_rollout_set_encoder), NULL / 0 without one: row i is the mean of its
     * post-norm hidden states over every token of sequence seq[i]'s text so far (prompt included),
     * encoder + i * encoder_dim; encoder_tokens[i] is how many tokens that mean is over. */
    const float *encoder;
    int encoder_dim;
    const int *encoder_tokens;
} rlae_span_state;

typedef struct rlae_weight_policy rlae_weight_policy;
struct rlae_weight_policy {
    const char *name;
    void *ctx;
    /* Writes weights[n, K] (each row >= 0 with a positive sum; the mixer normalises). */
    rlae_status (*decide)(rlae_weight_policy *p, const rlae_span_state *st, float *weights);
    void (*free_ctx)(void *ctx); /* may be NULL */
    /* Optional (NULL: skipped): called once at the end of a rollout with the state after the last
     * token of the sequences that max_new_tokens truncated (the rollout feeds that token first), so
     * a critic can bootstrap V(s_T). Sequences cut by a full member context are not included. */
    rlae_status (*on_truncated)(rlae_weight_policy *p, const rlae_span_state *st);
    int mix_member_topk;         /* > 0: UniTE top-k union */
    int mix_gate_member;         /* >= 0: GaC gated mode */
    float mix_gate_threshold;
};

#endif
