/* libFuzzer target: arbitrary bytes as a tokenizer.json (through the load-from-memory entry point),
 * then, if it loaded, encode/decode a few short strings (valid and invalid UTF-8) and read every
 * token's bytes. Anything but a clean RLAE_ERR_* or success (a crash, a leak, an ASan report) is a
 * bug. Build: clang -fsanitize=fuzzer,address -Ihost -I. tests/fuzz/fuzz_tokenizer_json.c
 * host/tokenizer/[a-z]*.c host/core/status.c host/core/log.c -ljansson -lpcre2-8 -lutf8proc */
#include "tokenizer/tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rlae_tokenizer *t = NULL;
    if (rlae_tokenizer_load_json_mem((const char *)data, size, "fuzz.json", &t) != RLAE_OK)
        return 0;
    static const char *texts[] = {"Hello world", " a  b\n\tc", "caf\xc3\xa9 \xf0\x9f\x98\x80",
                                  "\xff\xfe\xc3", "<s>x</s>", ""};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (rlae_tokenizer_encode(t, texts[k], strlen(texts[k]), 1, &ids, &n) == RLAE_OK) {
            char *out = NULL;
            size_t len = 0;
            if (rlae_tokenizer_decode(t, ids, n, 0, &out, &len) == RLAE_OK)
                free(out);
            for (size_t i = 0; i < n; i++)
                (void)rlae_tokenizer_decode_piece(t, i ? ids[i - 1] : -1, ids[i], &len);
        }
        free(ids);
    }
    for (int id = 0; id < rlae_tokenizer_vocab_size(t); id++) {
        size_t len;
        (void)rlae_tokenizer_token_bytes(t, id, &len);
        (void)rlae_tokenizer_is_special(t, id);
    }
    rlae_tokenizer_free(t);
    return 0;
}
