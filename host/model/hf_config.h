/* Hugging Face config.json -> rlae_model_config (weights.h), for Llama 2/3, Mistral and Qwen2/2.5.
 *
 * Required keys: model_type (llama | mistral | qwen2), hidden_size, intermediate_size,
 * num_hidden_layers, num_attention_heads, vocab_size. Optional keys take transformers' defaults:
 *   num_key_value_heads = num_attention_heads, head_dim = hidden_size / num_attention_heads,
 *   max_position_embeddings = 2048 (llama) / 32768 (mistral, qwen2), rms_norm_eps = 1e-6,
 *   rope_theta = 10000, rope_scaling = null (also accepted: {"rope_type"|"type": "llama3", factor,
 *   low_freq_factor, high_freq_factor, original_max_position_embeddings}, {"type": "linear", factor},
 *   and "default"), tie_word_embeddings = false, attention_bias = false (qwen2 always has q/k/v
 *   biases), bos_token_id / eos_token_id = -1 when absent or null.
 * eos_token_id may be a list (Llama 3 instruct: [128001, 128008, 128009]); we keep the first. The
 * tokenizer/chat-template layer owns the full stop set, so one id here is enough for the model.
 * sliding_window (Mistral v0.1, Qwen2) is not applied: rlae runs contexts far shorter than any
 * window in these families, so attention is identical; it is noted in a debug log line only.
 * Missing required keys, wrong JSON types and other model_types are RLAE_ERR_INPUT naming the file
 * and the key;
 * features the forward does not implement (other rope types, o_proj/MLP biases, non-SiLU
 * activations) are RLAE_ERR_UNSUPPORTED. */
#ifndef RLAE_MODEL_HF_CONFIG_H
#define RLAE_MODEL_HF_CONFIG_H

#include <stddef.h>

#include "model/weights.h"

/* Reads and parses a config.json file. */
rlae_status rlae_hf_config_load(const char *config_json_path, rlae_model_config *out);
/* Parses config.json text already in memory; `label` names it in messages. */
rlae_status rlae_hf_config_parse(const char *text, size_t len, const char *label, rlae_model_config *out);

#endif
