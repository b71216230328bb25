/* One ensemble member: a frozen model with its tokenizer, chat template, forward state and a KV cache
 * with one slot per sequence of a batch. Loading resolves what a member config leaves implicit
 * (format, tokenizer beside the checkpoint, chat template from tokenizer_config.json) and checks that
 * the tokenizer and the model belong together. Used by the rollout (rollout.h) and by
 * `rlae generate --model`. A member can also be loaded without its weights (rlae_member_load_meta),
 * for a model_parallel rank that only needs to know another rank's member. */
#ifndef RLAE_ENSEMBLE_MEMBER_H
#define RLAE_ENSEMBLE_MEMBER_H

#include "config/config.h"
#include "core/status.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/weights.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *name;
    char *path;           /* checkpoint as given */
    char *tokenizer_path; /* resolved */
    rlae_model_weights w;
    rlae_tokenizer *tok;
    rlae_model model;
    rlae_kv_cache cache;
    int use_chat; /* 0: the prompt text is encoded as is; 1: formatted with `chat` */
    rlae_chat_template chat;
    int add_bos;
    int eos_id;      /* the id that ends an answer; llama2.c members also end on bos_id */
    int bos_id;
    int ends_on_bos; /* llama2.c convention: the model writes BOS between stories */
    int meta_only;   /* 1: loaded without weights (rlae_member_load_meta): w.cfg, the tokenizer, the chat
                      * template and a cache of lengths only (cache.len, n_slots, capacity; no keys or
                      * values); rlae_member_forward refuses it */
} rlae_member;

/* Finds the tokenizer for a checkpoint when none is named: an HF directory is its own tokenizer
 * (tokenizer.json inside); beside a llama2.c .bin the one tokenizer.bin / tok*.bin file. Writes the
 * path into out (cap bytes). Errors say where it looked and how to name one. */
rlae_status rlae_member_find_tokenizer(const char *checkpoint, char *out, size_t cap);

/* Loads member `cfg` (paths relative to the working directory) on the CPU to run batches of up to
 * max_batch sequences of up to `capacity` positions each (<= 0: the model's max_seq_len, capped to
 * it). Same as rlae_member_load_on(m, cfg, RLAE_DEV_CPU, ...). */
rlae_status rlae_member_load(rlae_member *m, const rlae_member_config *cfg, int max_batch, int capacity);
/* The same on `dev`: the weights are loaded on the CPU, then moved to dev once
 * (rlae_model_weights_to_device) with the matrix dtype rlae_member_matrix_dtype gives for
 * cfg->dtype; the forward's scratch and the KV cache (in the weights' dtype: bf16 weights get a
 * bf16 cache, f32 ones an f32 cache) live there too, so the forward's outputs are device pointers. */
rlae_status rlae_member_load_on(rlae_member *m, const rlae_member_config *cfg, rlae_device dev, int max_batch,
                                int capacity);
/* The matrix dtype of a member's weights on `dev` for members[].dtype `c`: on the CPU always f32
 * (the CPU backend computes in fp32; the setting is ignored there, as it always was); on CUDA auto
 * and bf16 -> RLAE_BF16, fp32 -> RLAE_F32, fp16 -> RLAE_ERR_INPUT naming `who` and the fix. */
rlae_status rlae_member_matrix_dtype(rlae_dtype_choice c, rlae_device dev, const char *who, rlae_dtype *out);
/* A member from weights already in memory (e.g. random weights for `rlae bench ensemble`, see
 * model/random_weights.h), with the tokenizer at tokenizer_path: the same checks and forward/cache
 * set-up as rlae_member_load, no chat template (prompts are encoded as given), on the device of
 * the weights (already moved, e.g. made there), with a KV cache in their dtype. Takes ownership of
 * *w (zeroed on return, on success and on failure); the member's path is w->source. */
rlae_status rlae_member_from_weights(rlae_member *m, const char *name, rlae_model_weights *w,
                                     const char *tokenizer_path, int max_batch, int capacity);
/* Member `cfg` without its weights, for a rank that only needs to know it (dist.placement
 * model_parallel: another rank runs its forward). The same resolution and checks as
 * rlae_member_load_on (format, tokenizer beside the checkpoint, tokenizer vs model vocabulary, chat
 * template), but only the configuration is read: config.json of an HF directory (no safetensors is
 * opened), the header of a llama2.c checkpoint (its length checked, the body never read). m->w holds
 * the configuration and no tensor; m->cache has the lengths of max_batch slots of `capacity`
 * positions (as rlae_member_load_on sizes them) on `dev`, for the bookkeeping a caller does without
 * running the model (rlae_kv_cache_len / _reset / _truncate work); m->meta_only is 1. */
rlae_status rlae_member_load_meta(rlae_member *m, const rlae_member_config *cfg, rlae_device dev, int max_batch,
                                  int capacity);
/* rlae_forward of the member's model on its cache (see model/forward.h for the arguments). A member
 * loaded with rlae_member_load_meta has no model: RLAE_ERR_RUNTIME saying so and where its forward
 * runs, never a crash. */
rlae_status rlae_member_forward(rlae_member *m, int n_seqs, const int *slots, const int *n_new, const int32_t *tokens,
                                float *logits_out, float *hidden_out);
void rlae_member_free(rlae_member *m);

/* The prompt ids member m gets for a question: the user text (with the system text, if any) through
 * the member's chat template when it has one, encoded with BOS as the tokenizer prefers. *ids is
 * malloc'd. An empty prompt with a tokenizer that adds no BOS is RLAE_ERR_INPUT. */
rlae_status rlae_member_encode_prompt(const rlae_member *m, const char *system, const char *user, int32_t **ids,
                                      size_t *n_ids);

#endif
