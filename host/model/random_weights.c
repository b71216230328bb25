/* Architecture names for the benchmarks and the decode-step byte count (random_weights.h). */
#include "model/random_weights.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int dim, hidden, layers, heads, kv_heads, vocab, max_seq;
} small_arch;

/* llama2.c checkpoint headers (stories110M.bin, stories15M.bin, stories260K.bin): rope theta 10000,
 * RMSNorm eps 1e-5, tied classifier, BOS 1 / EOS 2 as llama2.c's tokenizers number them. */
static const small_arch small[] = {
    {"stories110m", 768, 2048, 12, 12, 12, 32000, 1024},
    {"stories15m", 288, 768, 6, 6, 6, 32000, 256},
    {"tiny", 64, 172, 5, 8, 4, 512, 512},
};

rlae_status rlae_random_arch_config(const char *name, rlae_model_config *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; name && i < sizeof small / sizeof small[0]; i++)
        if (strcmp(name, small[i].name) == 0) {
            const small_arch *a = &small[i];
            snprintf(out->arch, sizeof out->arch, "llama");
            out->dim = a->dim;
            out->hidden_dim = a->hidden;
            out->n_layers = a->layers;
            out->n_heads = a->heads;
            out->n_kv_heads = a->kv_heads;
            out->head_dim = a->dim / a->heads;
            out->vocab_size = a->vocab;
            out->max_seq_len = a->max_seq;
            out->norm_eps = 1e-5f;
            out->rope_theta = 10000.0f;
            out->rope_scaling = RLAE_ROPE_NONE;
            out->tied_embeddings = 1;
            out->bos_id = 1;
            out->eos_id = 2;
            return RLAE_OK;
        }
    if (name && rlae_model_config_preset(name, out) == RLAE_OK) {
        if (out->head_dim <= 0 && out->n_heads > 0)
            out->head_dim = out->dim / out->n_heads;
        return RLAE_OK;
    }
    memset(out, 0, sizeof *out);
    return rlae_fail(RLAE_ERR_INPUT, "unknown architecture '%s' (known: %s)", name ? name : "(none)",
                     RLAE_RANDOM_ARCH_NAMES);
}

static double layer_bytes(const rlae_layer_weights *lw)
{
    const rlae_tensor *all[] = {&lw->attn_norm, &lw->wq, &lw->wk, &lw->wv, &lw->bq, &lw->bk,
                                &lw->bv, &lw->wo, &lw->ffn_norm, &lw->w_gate, &lw->w_up, &lw->w_down};
    double n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        n += all[i]->data ? (double)rlae_tensor_nbytes(all[i]) : 0.0;
    return n;
}

double rlae_model_weights_step_bytes(const rlae_model_weights *w, int n_seqs)
{
    double n = (double)rlae_tensor_nbytes(&w->final_norm) + (double)rlae_tensor_nbytes(&w->lm_head);
    n += (double)n_seqs * w->cfg.dim * rlae_dtype_size(w->tok_embeddings.dtype);
    for (int l = 0; w->layers && l < w->cfg.n_layers; l++)
        n += layer_bytes(&w->layers[l]);
    return n;
}
