/* Loading a Hugging Face model directory (config.json + safetensors, single or sharded) into
 * rlae_model_weights (weights.h): every tensor the forward needs is looked up by its HF name,
 * checked against the shape config.json implies, and converted once to an owned fp32 CPU tensor.
 * HF q/k rows are already in the half-split RoPE order weights.h wants, so nothing is permuted. */
#ifndef RLAE_MODEL_HF_MODEL_H
#define RLAE_MODEL_HF_MODEL_H

#include "model/weights.h"

/* Loads `dir`. Failures are RLAE_ERR_INPUT (or UNSUPPORTED for config features the forward lacks)
 * naming config.json or the tensor, with the expected and actual shape; `out` is left zeroed. */
rlae_status rlae_hf_load(const char *dir, rlae_model_weights *out);

#endif
