/* llama2.c legacy checkpoints from memory (the file-based loader, rlae_llama2c_load, is declared in
 * weights.h). Exposed for the fuzz target and for tests that build checkpoints in memory. */
#ifndef RLAE_MODEL_LLAMA2C_FILE_H
#define RLAE_MODEL_LLAMA2C_FILE_H

#include <stddef.h>

#include "model/weights.h"

/* Parses a whole checkpoint held in `data` (`size` bytes, any alignment); `label` names it in
 * messages. Same checks and result as rlae_llama2c_load; `data` is not referenced afterwards. */
rlae_status rlae_llama2c_load_memory(const void *data, size_t size, const char *label, rlae_model_weights *out);

#endif
