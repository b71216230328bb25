/* libFuzzer target: arbitrary bytes as a llama2.c legacy checkpoint. The loader must either reject
 * the input or produce weights whose sizes match the header; it copies into owned tensors, so the
 * input buffer is not referenced afterwards. */
#include <stddef.h>
#include <stdint.h>

#include "model/llama2c_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rlae_model_weights w;
    if (rlae_llama2c_load_memory(data, size, "fuzz.bin", &w) != RLAE_OK)
        return 0;
    const rlae_model_config *c = &w.cfg;
    if (rlae_tensor_numel(&w.tok_embeddings) != (int64_t)c->vocab_size * c->dim ||
        rlae_tensor_numel(&w.layers[c->n_layers - 1].w_down) != (int64_t)c->dim * c->hidden_dim)
        __builtin_trap();
    rlae_model_weights_free(&w);
    return 0;
}
