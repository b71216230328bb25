/* libFuzzer target: arbitrary bytes as a Hugging Face config.json. Accepted configs must satisfy
 * the invariants the forward relies on (positive sizes, heads divisible by kv heads, even head_dim). */
#include <stddef.h>
#include <stdint.h>

#include "model/hf_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rlae_model_config c;
    if (rlae_hf_config_parse((const char *)data, size, "fuzz/config.json", &c) != RLAE_OK)
        return 0;
    if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
        c.n_heads % c.n_kv_heads != 0 || c.head_dim <= 0 || c.head_dim % 2 != 0 || c.vocab_size <= 0 ||
        c.max_seq_len <= 0 || !(c.norm_eps > 0) || !(c.rope_theta > 0))
        __builtin_trap();
    return 0;
}
