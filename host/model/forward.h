/* The Llama-family forward pass (Llama 2/3 incl. rope scaling, Mistral, Qwen2 with qkv bias, tied or
 * untied head) over a batch of sequences that each append their own number of new tokens at their
 * own position in a KV cache (kv_cache.h). One function serves prefill (many tokens), decode (one
 * token per sequence) and the ensemble's multi-token bridge (a few tokens appended to one sequence):
 * nothing is ever recomputed.
 *
 * Execution: the batch's new tokens are laid out sequence after sequence and processed in chunks of
 * at most `chunk` rows; a chunk may hold the tail of one sequence and the head of the next. Each row
 * carries (cache slot, position), so attention is causal per sequence whatever the chunking, and all
 * scratch is sized by `chunk` (and max_seqs), allocated once in rlae_model_init.
 *
 * Outputs live on the model's device (m->device, the device of its weights): plain host float
 * arrays on the CPU, device pointers (e.g. rlae_ops_tensor_alloc'd on RLAE_DEV_CUDA) when the
 * weights were moved with rlae_model_weights_to_device; the KV cache must be on that device too.
 * A CUDA forward returns once its work is queued on the thread's ops stream; rlae_op_copy of an
 * output to the host (or rlae_ops_sync) waits for it:
 *   logits_out  [n_seqs, vocab]  next-token logits after the LAST new token of each sequence;
 *   hidden_out  [n_seqs, dim]    the hidden state at that same position AFTER the final RMSNorm,
 *                                i.e. exactly the vector the LM head multiplies (what HF calls
 *                                last_hidden_state); the agent's features use it;
 *   logits_all  [sum n_new, vocab] (rlae_forward_all) logits after every new token, rows in the
 *                                same order as `tokens`; for log-likelihood scoring.
 *   hidden_all  [sum n_new, dim] (rlae_forward_hidden_all) the post-norm hidden state after every
 *                                new token, same row order; an encoder member pools it.
 * Any output may be NULL; with all NULL the call only extends the caches (cheapest prefill). */
#ifndef RLAE_MODEL_FORWARD_H
#define RLAE_MODEL_FORWARD_H

#include "core/status.h"
#include "core/tensor.h"
#include "model/kv_cache.h"
#include "model/weights.h"
#include "ops.h"

#include <stdint.h>

#define RLAE_FORWARD_DEFAULT_CHUNK 256
#define RLAE_FORWARD_GRAPHS 8 /* decode-step graphs kept per model (least recently used goes) */

typedef struct {
    const rlae_model_weights *w; /* not owned */
    rlae_device device;          /* where the weights, the scratch and the outputs live */
    int max_seqs;                /* most sequences in one call */
    int chunk;                   /* most token rows per pass */
    int q_dim, kv_dim;
    rlae_rope_params rope;
    /* scratch on the device, [chunk, *] */
    rlae_tensor x, xb, xb2, q, k, v, att, hb, hb2;
    rlae_tensor tok, pos, slot, last_row; /* I32 [chunk] */
    rlae_tensor last_x, last_h;           /* [max_seqs, dim]: pre- and post-norm last rows */
    rlae_tensor att_part;                 /* CUDA only: the attention's split-K partials (ops.h
                                             rlae_op_attention_ws), a fixed size; empty on the CPU */
    int32_t *h_tok, *h_pos, *h_slot, *h_last; /* host staging of the index tensors, [chunk] */
    /* CUDA graphs of decode steps (one new token per sequence), each for the shapes and buffers it
     * bakes in: the rows, the cache and the outputs. A step runs eagerly the first time its key is
     * seen, is captured the second time and replayed from then on (forward.c). */
    struct rlae_forward_graph {
        int64_t rows;
        const void *cache_k, *cache_v;
        int cache_slots, cache_capacity;
        const float *logits, *hidden;
        int seen;
        void *graph;
        uint64_t used;
    } graphs[RLAE_FORWARD_GRAPHS];
    uint64_t graph_clock;
    int use_graphs;     /* CUDA models: 1 unless the environment sets RLAE_CUDA_GRAPHS=0 */
    long graph_replays; /* decode steps replayed from a graph so far */
} rlae_model;

/* Prepares a model to run `w` (which must outlive it): checks the config, allocates scratch for at
 * most max_seqs sequences per call and chunk rows per pass (chunk <= 0: RLAE_FORWARD_DEFAULT_CHUNK). */
rlae_status rlae_model_init(rlae_model *m, const rlae_model_weights *w, int max_seqs, int chunk);
void rlae_model_free(rlae_model *m);

/* Appends n_new_tokens[i] tokens (>= 1) to sequence seq_ids[i] (a cache slot, distinct within the
 * call) at its current length, for i < n_seqs; `tokens` holds them sequence after sequence. On
 * success each slot's length grows by its n_new; on failure the cache lengths are unchanged. */
rlae_status rlae_forward(rlae_model *m, rlae_kv_cache *cache, int n_seqs, const int *seq_ids,
                         const int *n_new_tokens, const int32_t *tokens, float *logits_out, float *hidden_out);

/* As rlae_forward, plus logits after every new token in logits_all [sum n_new, vocab]. */
rlae_status rlae_forward_all(rlae_model *m, rlae_kv_cache *cache, int n_seqs, const int *seq_ids,
                             const int *n_new_tokens, const int32_t *tokens, float *logits_all, float *logits_out,
                             float *hidden_out);

/* Extends the caches like rlae_forward and writes the post-norm hidden state of every new token to
 * hidden_all [sum n_new, dim] (no logits: the LM head is skipped). */
rlae_status rlae_forward_hidden_all(rlae_model *m, rlae_kv_cache *cache, int n_seqs, const int *seq_ids,
                                    const int *n_new_tokens, const int32_t *tokens, float *hidden_all);

#endif
