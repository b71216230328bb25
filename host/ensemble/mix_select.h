/* mix_select: the fused ensemble step (METHOD.md §3, step 3), one call per generated token for a
 * batch of B sequences and K members:
 *
 *   p_k      = softmax(logits_k[b])                      fp32, over member k's own vocabulary
 *   P_k(u)   = sum_{t : map_k[t] == u} p_k[t]            projection into the union (many-to-one adds)
 *   q(u)     = sum_k w[b,k] P_k(u) / sum_k w[b,k]        mixing in probability space, never logits
 *   token[b] = argmax_u q(u)              (temperature <= 0; ties to the lowest union id), or
 *              a draw from q^(1/T) with top-k / top-p exactly as model/sampler.h defines them on the
 *              "logits" log q, using u = rlae_rng_word_at(seed, episode[b], RLAE_MIX_RNG_SPAN,
 *              step[b], 0) turned into [0,1) by rlae_u32_to_unit_float.
 *
 * Variants selected by rlae_mix_params:
 *   member_topk > 0   UniTE's "top-k union": only entries that are among the member_topk most
 *                     probable union entries (by P_k) of some member with weight > 0 are eligible;
 *                     q of every other entry is 0. An entry outside every member's top-k is never
 *                     chosen.
 *   gate_member >= 0  GaC's gated mode: a sequence whose gate member's top-1 probability (max_t p_g)
 *                     is >= gate_threshold uses weights one-hot on the gate member for this token, so
 *                     the gate member's own choice is taken unchanged; otherwise w[b] as given.
 *
 * Outputs, per sequence (all on the logits' device; optional ones may be NULL):
 *   token         I32 [B]     chosen union id
 *   mixed_prob    F32 [B]     q(token) with the weights actually used (before temperature)
 *   member_prob   F32 [B, K]  P_k(token): each member's probability of the chosen entry
 *   member_top1   F32 [B, K]  max_t p_k[t]                       (optional; confidence, gating)
 *   member_argmax I32 [B, K]  map_k[argmax_t p_k[t]] (ties: lowest member id; -1 if that token
 *                             is outside the union)             (optional; agreement feature)
 *   member_entropy F32 [B, K] -sum_t p_k[t] log p_k[t], nats     (optional; agent features)
 *
 * Entries with map -1 (special tokens other than EOS) carry probability that no union entry gets; q
 * is NOT renormalised for them (so mixed_prob may sum below 1 over the union); a row whose q is 0
 * everywhere (all mass on left-out tokens) gets token -1 and mixed_prob 0. Weights must be finite
 * and >= 0 with a positive sum per row (checked on the CPU; on the GPU a bad row yields token -1).
 *
 * Cost: per step the kernel reads each member's logits twice (softmax statistics, then the scatter
 * into the union) and makes one pass over the union for the selection; nothing returns to the host
 * in between. Backends: mix_select_cpu.c (the reference, OpenMP over sequences) and
 * cuda/mix_select.cu; mix_select.c validates and dispatches. */
#ifndef RLAE_ENSEMBLE_MIX_SELECT_H
#define RLAE_ENSEMBLE_MIX_SELECT_H

#include "core/status.h"
#include "core/tensor.h"

#include <stdint.h>

#define RLAE_MIX_MAX_MEMBERS 8
/* The rng "span" word reserved for the mixer's draws, so they never collide with the agent's. */
#define RLAE_MIX_RNG_SPAN 0xFFFFFFFFu

typedef struct {
    float temperature; /* <= 0: greedy */
    int top_k;         /* sampling: keep the top_k most probable entries; <= 0: off */
    float top_p;       /* sampling: nucleus; <= 0 or >= 1: off */
    int member_topk;   /* > 0: UniTE top-k union */
    int gate_member;   /* >= 0: GaC gated mode on this member; -1: off */
    float gate_threshold;
    uint64_t seed;
} rlae_mix_params;

/* Default parameters: greedy, no variant (gate_member -1). */
rlae_mix_params rlae_mix_params_default(void);

/* Scratch for up to max_batch sequences over a union of union_size entries on `dev`, sized for
 * members with vocab_sizes[0..n_members-1]. Allocate once per rollout; no allocation per step. */
typedef struct rlae_mix_workspace rlae_mix_workspace;
rlae_status rlae_mix_workspace_new(rlae_device dev, int max_batch, int n_members, const int *vocab_sizes,
                                   int union_size, rlae_mix_workspace **out);
void rlae_mix_workspace_free(rlae_mix_workspace *ws);

/* Inputs: logits[k] F32 [B, V_k] and maps[k] I32 [V_k] for k < n_members; weights F32 [B, K];
 * episode and step I32 [B] (the sampling key). B <= max_batch of the workspace. */
typedef struct {
    int n_members;
    const rlae_tensor *logits; /* [n_members] */
    const rlae_tensor *maps;   /* [n_members] */
    int union_size;
    const rlae_tensor *weights;
    const rlae_tensor *episode;
    const rlae_tensor *step;
} rlae_mix_inputs;

typedef struct {
    rlae_tensor *token;
    rlae_tensor *mixed_prob;
    rlae_tensor *member_prob;
    rlae_tensor *member_top1;    /* may be NULL */
    rlae_tensor *member_argmax;  /* may be NULL */
    rlae_tensor *member_entropy; /* may be NULL */
} rlae_mix_outputs;

rlae_status rlae_mix_select(const rlae_mix_inputs *in, const rlae_mix_params *p, rlae_mix_workspace *ws,
                            const rlae_mix_outputs *out);

#endif
