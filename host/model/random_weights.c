/* Random-weight models of named shapes (random_weights.h): the architecture table and the
 * counter-based fill, directly into CPU tensors or through a bounded host staging buffer into
 * device tensors (rlae_op_copy). */
#include "model/random_weights.h"

#include "core/rng.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    rlae_model_config cfg;
} arch_entry;

#define ARCH(NAME, ARCH_, DIM, HID, LAYERS, HEADS, KV, HD, VOCAB, SEQ, EPS, THETA, BIAS, TIED, BOS, EOS)          \
    {NAME,                                                                                                      \
     {.arch = ARCH_, .dim = DIM, .hidden_dim = HID, .n_layers = LAYERS, .n_heads = HEADS, .n_kv_heads = KV,     \
      .head_dim = HD, .vocab_size = VOCAB, .max_seq_len = SEQ, .norm_eps = EPS, .rope_theta = THETA,           \
      .rope_scaling = RLAE_ROPE_NONE, .qkv_bias = BIAS, .tied_embeddings = TIED, .bos_id = BOS, .eos_id = EOS}}

/* Shapes from each model's config.json (Hugging Face) or llama2.c checkpoint header. */
static const arch_entry archs[] = {
    ARCH("llama3-8b", "llama", 4096, 14336, 32, 32, 8, 128, 128256, 8192, 1e-5f, 500000.0f, 0, 0, 128000, 128001),
    ARCH("qwen2.5-7b", "qwen2", 3584, 18944, 28, 28, 4, 128, 152064, 32768, 1e-6f, 1000000.0f, 1, 0, 151643, 151643),
    ARCH("mistral-7b", "mistral", 4096, 14336, 32, 32, 8, 128, 32768, 32768, 1e-5f, 1000000.0f, 0, 0, 1, 2),
    ARCH("stories110m", "llama", 768, 2048, 12, 12, 12, 64, 32000, 1024, 1e-5f, 10000.0f, 0, 1, 1, 2),
    ARCH("stories15m", "llama", 288, 768, 6, 6, 6, 48, 32000, 256, 1e-5f, 10000.0f, 0, 1, 1, 2),
    ARCH("tiny", "llama", 64, 172, 5, 8, 4, 8, 512, 512, 1e-5f, 10000.0f, 0, 1, 1, 2),
};

rlae_status rlae_random_arch_config(const char *name, rlae_model_config *out)
{
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (name && strcmp(name, archs[i].name) == 0) {
            *out = archs[i].cfg;
            return RLAE_OK;
        }
    return rlae_fail(RLAE_ERR_INPUT, "unknown architecture '%s' (known: %s)", name ? name : "(none)",
                     RLAE_RANDOM_ARCH_NAMES);
}

/* Which tensor of a layer (or of the model) a counter belongs to; part of the value stream's key,
 * so adding a kind at the end keeps every existing value. */
enum {
    K_EMB = 1, K_HEAD, K_FINAL_NORM, K_ATTN_NORM, K_WQ, K_WK, K_WV, K_BQ, K_BK, K_BV, K_WO, K_FFN_NORM, K_GATE,
    K_UP, K_DOWN
};
#define STREAM_TAG 0x776e6472u /* "rndw": keeps these streams apart from rollout sampling streams */

typedef struct {
    uint64_t seed;
    uint32_t kind, layer;
    float bound; /* values uniform in [-bound, bound); bound < 0: the constant -bound */
} fill_spec;

static void store(void *dst, rlae_dtype dt, int64_t j, float v)
{
    if (dt == RLAE_F32)
        ((float *)dst)[j] = v;
    else if (dt == RLAE_BF16)
        ((uint16_t *)dst)[j] = rlae_f32_to_bf16(v);
    else
        ((uint16_t *)dst)[j] = rlae_f32_to_f16(v);
}

/* Elements [i0, i0 + n) of the tensor described by f, written to dst[0..n). */
static void fill_range(void *dst, rlae_dtype dt, const fill_spec *f, int64_t i0, int64_t n)
{
    if (f->bound < 0) {
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < n; j++)
            store(dst, dt, j, -f->bound);
        return;
    }
    uint32_t key[2] = {(uint32_t)f->seed, (uint32_t)(f->seed >> 32)};
    int64_t b0 = i0 >> 2, b1 = (i0 + n + 3) >> 2;
    float scale = 2.0f * f->bound;
#pragma omp parallel for schedule(static)
    for (int64_t b = b0; b < b1; b++) {
        uint32_t ctr[4] = {(uint32_t)b, f->layer, f->kind, STREAM_TAG}, out[4];
        rlae_philox4x32_10(ctr, key, out);
        for (int w = 0; w < 4; w++) {
            int64_t i = b * 4 + w;
            if (i >= i0 && i < i0 + n)
                store(dst, dt, i - i0, rlae_u32_to_unit_float(out[w]) * scale - f->bound);
        }
    }
}

static rlae_status fill_tensor(rlae_tensor *t, const fill_spec *f, void *staging, size_t staging_bytes)
{
    int64_t n = rlae_tensor_numel(t);
    size_t esz = rlae_dtype_size(t->dtype);
    if (t->device == RLAE_DEV_CPU) {
        fill_range(t->data, t->dtype, f, 0, n);
        return RLAE_OK;
    }
    int64_t per = (int64_t)(staging_bytes / esz);
    for (int64_t i0 = 0; i0 < n; i0 += per) {
        int64_t cnt = n - i0 < per ? n - i0 : per;
        fill_range(staging, t->dtype, f, i0, cnt);
        rlae_tensor src = rlae_tensor_view(staging, t->dtype, RLAE_DEV_CPU, 1, &cnt);
        rlae_tensor dst = rlae_tensor_view((char *)t->data + (size_t)i0 * esz, t->dtype, t->device, 1, &cnt);
        RLAE_TRY(rlae_op_copy(&dst, &src));
    }
    return RLAE_OK;
}

/* Allocates t ([d0] or [d0, d1]) and fills it. */
static rlae_status make(rlae_tensor *t, rlae_dtype dt, rlae_device dev, int64_t d0, int64_t d1, const fill_spec *f,
                        void *staging, size_t staging_bytes)
{
    int64_t shape[2] = {d0, d1};
    RLAE_TRY(rlae_ops_tensor_alloc(t, dt, dev, d1 > 0 ? 2 : 1, shape));
    return fill_tensor(t, f, staging, staging_bytes);
}

static void free_all(rlae_model_weights *w)
{
    /* ops-allocated tensors are released by the ops layer (device memory included) */
    if (w->layers) {
        for (int l = 0; l < w->cfg.n_layers; l++) {
            rlae_layer_weights *lw = &w->layers[l];
            rlae_tensor *all[] = {&lw->attn_norm, &lw->wq, &lw->wk, &lw->wv, &lw->bq, &lw->bk,
                                  &lw->bv, &lw->wo, &lw->ffn_norm, &lw->w_gate, &lw->w_up, &lw->w_down};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
                rlae_ops_tensor_free(all[i]);
        }
        free(w->layers);
    }
    if (w->lm_head.data != w->tok_embeddings.data)
        rlae_ops_tensor_free(&w->lm_head);
    rlae_ops_tensor_free(&w->tok_embeddings);
    rlae_ops_tensor_free(&w->final_norm);
    memset(w, 0, sizeof *w);
}

static rlae_status fill_model(rlae_model_weights *w, rlae_dtype dt, rlae_device dev, uint64_t seed, void *stg,
                              size_t stg_bytes)
{
    const rlae_model_config *c = &w->cfg;
    int64_t D = c->dim, H = c->hidden_dim, V = c->vocab_size;
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    float bd = sqrtf(3.0f / (float)D), bh = sqrtf(3.0f / (float)H), bq = sqrtf(3.0f / (float)qd);
    fill_spec f = {seed, K_EMB, 0, sqrtf(3.0f)};
    RLAE_TRY(make(&w->tok_embeddings, dt, dev, V, D, &f, stg, stg_bytes));
    if (!(w->layers = rlae_calloc((size_t)c->n_layers, sizeof *w->layers)))
        return RLAE_ERR_NOMEM;
    for (int l = 0; l < c->n_layers; l++) {
        rlae_layer_weights *lw = &w->layers[l];
        const struct {
            uint32_t kind;
            int64_t d0, d1;
            float bound;
            rlae_tensor *dst;
        } spec[] = {
            {K_ATTN_NORM, D, 0, -1.0f, &lw->attn_norm}, {K_WQ, qd, D, bd, &lw->wq},
            {K_WK, kvd, D, bd, &lw->wk},                {K_WV, kvd, D, bd, &lw->wv},
            {K_WO, D, qd, bq, &lw->wo},                 {K_FFN_NORM, D, 0, -1.0f, &lw->ffn_norm},
            {K_GATE, H, D, bd, &lw->w_gate},            {K_UP, H, D, bd, &lw->w_up},
            {K_DOWN, D, H, bh, &lw->w_down},            {K_BQ, qd, 0, 0.1f, &lw->bq},
            {K_BK, kvd, 0, 0.1f, &lw->bk},              {K_BV, kvd, 0, 0.1f, &lw->bv},
        };
        size_t nspec = sizeof spec / sizeof spec[0] - (c->qkv_bias ? 0 : 3);
        for (size_t i = 0; i < nspec; i++) {
            fill_spec fs = {seed, spec[i].kind, (uint32_t)l, spec[i].bound};
            rlae_dtype tdt = spec[i].d1 > 0 ? dt : RLAE_F32; /* norms and biases stay fp32 */
            RLAE_TRY(make(spec[i].dst, tdt, dev, spec[i].d0, spec[i].d1, &fs, stg, stg_bytes));
        }
    }
    f = (fill_spec){seed, K_FINAL_NORM, 0, -1.0f};
    RLAE_TRY(make(&w->final_norm, RLAE_F32, dev, D, 0, &f, stg, stg_bytes));
    if (c->tied_embeddings) {
        w->lm_head = w->tok_embeddings;
        w->lm_head.owned = 0;
        return RLAE_OK;
    }
    f = (fill_spec){seed, K_HEAD, 0, bd};
    return make(&w->lm_head, dt, dev, V, D, &f, stg, stg_bytes);
}

rlae_status rlae_random_weights(rlae_model_weights *w, const rlae_model_config *cfg, rlae_dtype dtype,
                                rlae_device dev, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    if (dtype != RLAE_F32 && dtype != RLAE_BF16 && dtype != RLAE_F16)
        return rlae_fail(RLAE_ERR_INPUT, "random weights: dtype %s is not a weight dtype (fp32, bf16 or fp16)",
                         rlae_dtype_name(dtype));
    if (cfg->dim <= 0 || cfg->hidden_dim <= 0 || cfg->n_layers <= 0 || cfg->n_heads <= 0 || cfg->n_kv_heads <= 0 ||
        cfg->head_dim <= 0 || cfg->vocab_size <= 0)
        return rlae_fail(RLAE_ERR_INPUT, "random weights: every size must be positive (dim %d, hidden %d, layers %d, "
                         "heads %d/%d, head_dim %d, vocab %d)", cfg->dim, cfg->hidden_dim, cfg->n_layers,
                         cfg->n_heads, cfg->n_kv_heads, cfg->head_dim, cfg->vocab_size);
    w->cfg = *cfg;
    snprintf(w->source, sizeof w->source, "random %s-shaped weights (seed %llu)", cfg->arch,
             (unsigned long long)seed);
    void *stg = NULL;
    size_t stg_bytes = RLAE_RANDOM_STAGING_BYTES;
    if (dev != RLAE_DEV_CPU && !(stg = rlae_malloc(stg_bytes)))
        return RLAE_ERR_NOMEM;
    rlae_status s = fill_model(w, dtype, dev, seed, stg, stg_bytes);
    free(stg);
    if (s != RLAE_OK) {
        free_all(w);
        return rlae_wrap(s, "random weights (%s, %s on %s): ", cfg->arch, rlae_dtype_name(dtype),
                         dev == RLAE_DEV_CPU ? "cpu" : "cuda");
    }
    return RLAE_OK;
}

static size_t layer_bytes(const rlae_layer_weights *lw)
{
    const rlae_tensor *all[] = {&lw->attn_norm, &lw->wq, &lw->wk, &lw->wv, &lw->bq, &lw->bk,
                                &lw->bv, &lw->wo, &lw->ffn_norm, &lw->w_gate, &lw->w_up, &lw->w_down};
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        n += all[i]->data ? rlae_tensor_nbytes(all[i]) : 0;
    return n;
}

size_t rlae_model_weights_nbytes(const rlae_model_weights *w)
{
    size_t n = rlae_tensor_nbytes(&w->tok_embeddings) + rlae_tensor_nbytes(&w->final_norm);
    if (w->lm_head.data && w->lm_head.data != w->tok_embeddings.data)
        n += rlae_tensor_nbytes(&w->lm_head);
    for (int l = 0; w->layers && l < w->cfg.n_layers; l++)
        n += layer_bytes(&w->layers[l]);
    return n;
}

double rlae_model_weights_step_bytes(const rlae_model_weights *w, int n_seqs)
{
    double n = (double)rlae_tensor_nbytes(&w->final_norm) + (double)rlae_tensor_nbytes(&w->lm_head);
    n += (double)n_seqs * w->cfg.dim * rlae_dtype_size(w->tok_embeddings.dtype);
    for (int l = 0; w->layers && l < w->cfg.n_layers; l++)
        n += (double)layer_bytes(&w->layers[l]);
    return n;
}
