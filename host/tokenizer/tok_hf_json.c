/* Hugging Face tokenizer.json loading (in progress: this revision handles llama2.c files only). */
#include "tokenizer/tok_internal.h"

rlae_status tok_hf_load_json(const char *json, size_t len, const char *name, const char *config_path,
                             rlae_tokenizer **out)
{
    (void)json; (void)len; (void)config_path;
    *out = NULL;
    return rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: tokenizer.json support is not in this revision of rlae yet",
                     name);
}

rlae_status tok_hf_encode(const rlae_tokenizer *t, const uint8_t *s, size_t len, int add_bos, tok_ids *out)
{
    (void)t; (void)s; (void)len; (void)add_bos; (void)out;
    return RLAE_ERR_UNSUPPORTED;
}

void tok_norm_free(tok_norm *n) { (void)n; }
void tok_pre_free(tok_pre *p) { (void)p; }
