/* The architectures `rlae bench model --arch` and `rlae bench ensemble --arch` know, and the bytes a
 * decode step reads. The 7-8B shapes are the presets of weights.h (rlae_model_config_preset:
 * llama3-8b, qwen2.5-7b, mistral-7b, from their config.json); this adds llama2.c TinyStories shapes
 * that a CPU runs in milliseconds. The weights themselves come from rlae_model_weights_random
 * (weights.h, weights_random.c): generated in memory directly on the target device, seeded, never
 * read from or written to disk. */
#ifndef RLAE_MODEL_RANDOM_WEIGHTS_H
#define RLAE_MODEL_RANDOM_WEIGHTS_H

#include "core/status.h"
#include "model/weights.h"

#define RLAE_RANDOM_ARCH_NAMES "llama3-8b|qwen2.5-7b|mistral-7b|stories110m|stories15m|tiny"

/* The hyper-parameters of a named architecture:
 *   llama3-8b, qwen2.5-7b, mistral-7b   rlae_model_config_preset (Meta-Llama-3-8B, Qwen2.5-7B with
 *                                       q/k/v biases, Mistral-7B-v0.3; untied heads)
 *   stories110m, stories15m             llama2.c TinyStories models (tied head, vocab 32000, the
 *                                       Llama 2 tokenizer's size)
 *   tiny                                the shape of stories260K (dim 64, 5 layers, 8 / 4 heads,
 *                                       vocab 512)
 * head_dim is set (dim / heads). Unknown name: RLAE_ERR_INPUT listing the names. */
rlae_status rlae_random_arch_config(const char *name, rlae_model_config *out);

/* Bytes one decode step of n_seqs sequences reads from the weights: every layer tensor, the final
 * norm, the whole LM head, and n_seqs rows of the embedding table (the gather), in their dtypes. */
double rlae_model_weights_step_bytes(const rlae_model_weights *w, int n_seqs);

#endif
