/* Random-weight models created directly on their device, and the shapes of well-known
 * architectures to make them from (weights.h rlae_model_weights_random, rlae_model_config_preset).
 * Benchmarks of 7-8B shapes need no checkpoint and no upload: every tensor is allocated on the
 * device and filled there by rlae_op_fill_uniform, whose values are the same on the CPU and the GPU
 * for the same seed. */
#include "model/weights_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

static rlae_status alloc_like(rlae_tensor *t, rlae_dtype dt, rlae_device dev, int64_t d0, int64_t d1)
{
    int64_t shape[2] = {d0, d1};
    return rlae_ops_tensor_alloc(t, dt, dev, d1 > 0 ? 2 : 1, shape);
}

static rlae_status alloc_all(rlae_model_weights *w, rlae_device dev, rlae_dtype mt)
{
    const rlae_model_config *c = &w->cfg;
    int64_t D = c->dim, H = c->hidden_dim, V = c->vocab_size;
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    RLAE_TRY(alloc_like(&w->tok_embeddings, mt, dev, V, D));
    for (int l = 0; l < c->n_layers; l++) {
        rlae_layer_weights *lw = &w->layers[l];
        RLAE_TRY(alloc_like(&lw->attn_norm, RLAE_F32, dev, D, 0));
        RLAE_TRY(alloc_like(&lw->wq, mt, dev, qd, D));
        RLAE_TRY(alloc_like(&lw->wk, mt, dev, kvd, D));
        RLAE_TRY(alloc_like(&lw->wv, mt, dev, kvd, D));
        if (c->qkv_bias) {
            RLAE_TRY(alloc_like(&lw->bq, RLAE_F32, dev, qd, 0));
            RLAE_TRY(alloc_like(&lw->bk, RLAE_F32, dev, kvd, 0));
            RLAE_TRY(alloc_like(&lw->bv, RLAE_F32, dev, kvd, 0));
        }
        RLAE_TRY(alloc_like(&lw->wo, mt, dev, D, qd));
        RLAE_TRY(alloc_like(&lw->ffn_norm, RLAE_F32, dev, D, 0));
        RLAE_TRY(alloc_like(&lw->w_gate, mt, dev, H, D));
        RLAE_TRY(alloc_like(&lw->w_up, mt, dev, H, D));
        RLAE_TRY(alloc_like(&lw->w_down, mt, dev, D, H));
    }
    RLAE_TRY(alloc_like(&w->final_norm, RLAE_F32, dev, D, 0));
    if (c->tied_embeddings) {
        w->lm_head = w->tok_embeddings;
        w->lm_head.owned = 0;
        return RLAE_OK;
    }
    return alloc_like(&w->lm_head, mt, dev, V, D);
}

rlae_status rlae_model_weights_random(rlae_model_weights *w, const rlae_model_config *cfg, rlae_device dev,
                                      rlae_dtype matrix_dtype, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->cfg = *cfg;
    rlae_model_config *c = &w->cfg;
    if (c->head_dim <= 0 && c->n_heads > 0)
        c->head_dim = c->dim / c->n_heads;
    snprintf(w->source, sizeof w->source, "random %s model (seed %llu)", c->arch[0] ? c->arch : "llama",
             (unsigned long long)seed);
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->vocab_size <= 0 || c->head_dim <= 0 || c->max_seq_len <= 0) {
        rlae_status s = rlae_fail(RLAE_ERR_INPUT, "%s: every size must be >= 1 (dim %d, hidden %d, layers %d, heads "
                                  "%d/%d, head_dim %d, vocab %d, context %d)", w->source, c->dim, c->hidden_dim,
                                  c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size, c->max_seq_len);
        memset(w, 0, sizeof *w);
        return s;
    }
    if (matrix_dtype != RLAE_F32 && !(matrix_dtype == RLAE_BF16 && dev == RLAE_DEV_CUDA)) {
        rlae_status s = rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: matrices can be f32, or bf16 on a CUDA device (asked %s "
                                  "on %s)", w->source, rlae_dtype_name(matrix_dtype), dev == RLAE_DEV_CUDA ? "cuda" : "cpu");
        memset(w, 0, sizeof *w);
        return s;
    }
    rlae_status s = RLAE_OK;
    if (!(w->layers = rlae_calloc((size_t)c->n_layers, sizeof *w->layers)))
        s = RLAE_ERR_NOMEM;
    if (s == RLAE_OK)
        s = alloc_all(w, dev, matrix_dtype);
    int n = rlae_weights_tensor_count(w);
    rlae_weight_ref *refs = s == RLAE_OK ? rlae_malloc((size_t)n * sizeof *refs) : NULL;
    if (s == RLAE_OK && !refs)
        s = RLAE_ERR_NOMEM;
    if (s == RLAE_OK)
        n = rlae_weights_tensor_list(w, refs, n);
    for (int i = 0; s == RLAE_OK && i < n; i++) {
        rlae_tensor *t = refs[i].t;
        if (!t->data || !t->owned)
            continue; /* absent bias, or the tied head */
        float lo = 1.0f, hi = 1.0f; /* norms */
        if (refs[i].kind == RLAE_WREF_BIAS) {
            lo = -0.1f, hi = 0.1f;
        } else if (refs[i].kind == RLAE_WREF_MATRIX) {
            hi = t == &w->tok_embeddings ? 1.0f : 1.0f / sqrtf((float)t->shape[1]);
            lo = -hi;
        }
        s = rlae_op_fill_uniform(t, lo, hi, seed * 0x100000001B3ull + (uint64_t)i);
    }
    free(refs);
    if (s == RLAE_OK)
        s = rlae_ops_sync(dev);
    if (s != RLAE_OK) {
        rlae_wrap(s, "%s: ", w->source);
        rlae_model_weights_free(w);
    }
    return s;
}

rlae_status rlae_model_config_preset(const char *name, rlae_model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bos_id = cfg->eos_id = -1;
    cfg->n_heads = 32;
    cfg->n_kv_heads = 8;
    cfg->head_dim = 128;
    cfg->norm_eps = 1e-5f;
    if (name && strcmp(name, "llama3-8b") == 0) { /* Meta-Llama-3-8B config.json */
        snprintf(cfg->arch, sizeof cfg->arch, "llama");
        cfg->dim = 4096, cfg->hidden_dim = 14336, cfg->n_layers = 32, cfg->vocab_size = 128256;
        cfg->max_seq_len = 8192, cfg->rope_theta = 500000.0f;
        cfg->bos_id = 128000, cfg->eos_id = 128001;
    } else if (name && strcmp(name, "qwen2.5-7b") == 0) { /* Qwen2.5-7B config.json */
        snprintf(cfg->arch, sizeof cfg->arch, "qwen2");
        cfg->dim = 3584, cfg->hidden_dim = 18944, cfg->n_layers = 28, cfg->vocab_size = 152064;
        cfg->n_heads = 28, cfg->n_kv_heads = 4, cfg->max_seq_len = 32768, cfg->rope_theta = 1000000.0f;
        cfg->norm_eps = 1e-6f, cfg->qkv_bias = 1, cfg->eos_id = 151643;
    } else if (name && strcmp(name, "mistral-7b") == 0) { /* Mistral-7B-v0.3 config.json */
        snprintf(cfg->arch, sizeof cfg->arch, "mistral");
        cfg->dim = 4096, cfg->hidden_dim = 14336, cfg->n_layers = 32, cfg->vocab_size = 32768;
        cfg->max_seq_len = 32768, cfg->rope_theta = 1000000.0f;
        cfg->bos_id = 1, cfg->eos_id = 2;
    } else {
        rlae_status s = rlae_fail(RLAE_ERR_INPUT, "unknown architecture '%s': expected one of %s",
                                  name ? name : "(null)", RLAE_MODEL_PRESET_NAMES);
        memset(cfg, 0, sizeof *cfg);
        return s;
    }
    return RLAE_OK;
}
