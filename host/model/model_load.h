/* One entry point for loading a member's weights, whatever the format on disk:
 * a Hugging Face directory (config.json + safetensors) or a llama2.c legacy checkpoint file. */
#ifndef RLAE_MODEL_MODEL_LOAD_H
#define RLAE_MODEL_MODEL_LOAD_H

#include "model/weights.h"

/* format: "auto" (or NULL): a directory with config.json is "hf", a regular file is "llama2c";
 *         "hf": path is a model directory; "llama2c": path is a .bin checkpoint.
 * A missing path, an unknown format or a path of the wrong kind is RLAE_ERR_INPUT saying what was
 * expected. On failure `out` is zeroed. */
rlae_status rlae_model_load(const char *path, const char *format, rlae_model_weights *out);
/* The same checks and configuration without the weights: out->cfg (from config.json, or from a
 * llama2.c header, the file's length checked) and out->source only; no tensor is read or allocated
 * (rlae_model_weights_free is still safe). For a rank that needs a model's shape, not its numbers. */
rlae_status rlae_model_load_config(const char *path, const char *format, rlae_model_weights *out);

#endif
