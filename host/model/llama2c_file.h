/* llama2.c legacy checkpoints from memory (the file-based loader, rlae_llama2c_load, is declared in
 * weights.h). Exposed for the fuzz target and for tests that build checkpoints in memory. */
#ifndef RLAE_MODEL_LLAMA2C_FILE_H
#define RLAE_MODEL_LLAMA2C_FILE_H

#include <stddef.h>

#include "model/weights.h"

/* Parses a whole checkpoint held in `data` (`size` bytes, any alignment); `label` names it in
 * messages. Same checks and result as rlae_llama2c_load; `data` is not referenced afterwards. */
rlae_status rlae_llama2c_load_memory(const void *data, size_t size, const char *label, rlae_model_weights *out);

/* The configuration of the checkpoint at `path` from its header alone (the file's length is
 * checked against it, the weights are not read): what rlae_llama2c_load would put in out->cfg. */
rlae_status rlae_llama2c_read_config(const char *path, rlae_model_config *out);

#endif
