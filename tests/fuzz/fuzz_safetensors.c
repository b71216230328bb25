/* libFuzzer target: arbitrary bytes as a .safetensors file. Parses from memory (no copy, so ASan
 * sees reads one past the input), then exercises every accessor on every tensor the parser accepts:
 * lookup by name, typed views and fp32 conversion, reading every converted element. Any crash,
 * leak or sanitizer report is a bug; error returns are the expected outcome for most inputs. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rlae_safetensors *st = NULL;
    if (rlae_safetensors_open_memory(data, size, "fuzz.safetensors", &st) != RLAE_OK)
        return 0;
    volatile float sink = 0;
    (void)rlae_safetensors_metadata(st, "format");
    for (size_t i = 0; i < rlae_safetensors_count(st); i++) {
        const rlae_st_tensor *t = rlae_safetensors_at(st, i);
        if (rlae_safetensors_find(st, t->name) != t)
            __builtin_trap(); /* names are unique and sorted: lookup must find this very entry */
        if (t->nbytes > size)
            __builtin_trap(); /* a validated tensor cannot be larger than the file */
        rlae_tensor v, f;
        if (rlae_st_view(t, &v) == RLAE_OK && v.data && rlae_tensor_nbytes(&v) != t->nbytes)
            __builtin_trap();
        if (rlae_st_to_f32(t, &f) == RLAE_OK) {
            int64_t n = rlae_tensor_numel(&f);
            for (int64_t k = 0; k < n; k++)
                sink += ((const float *)f.data)[k];
            rlae_tensor_free(&f);
        }
    }
    (void)sink;
    rlae_safetensors_close(st);
    return 0;
}
