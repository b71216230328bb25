/* Random-weight models and model placement on the CPU side (model/weights.h):
 *   - rlae_model_config_preset: the three presets have their published shapes; unknown names fail;
 *   - rlae_op_fill_uniform: values in [lo, hi), hand-checked against the hash of host/ops_hash.h,
 *     bf16 fills are the rounded fp32 fills, the same seed gives the same tensor;
 *   - rlae_model_weights_random on the CPU: a small qkv-bias model is deterministic in its seed,
 *     norms are 1, matrices within +-1/sqrt(fan_in), a tied head aliases the embeddings, and it runs
 *     through the forward to finite logits; bf16 on the CPU is refused;
 *   - rlae_model_weights_to_device: CPU/f32 is a no-op, bf16 on the CPU is refused, and (when no GPU
 *     is usable) a move to CUDA fails with the model left on the CPU and still usable. */
#include "test.h"

#include "core/device.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/weights.h"
#include "ops_hash.h"

static void test_presets(void)
{
    rlae_model_config c;
    CHECK(rlae_model_config_preset("llama3-8b", &c) == RLAE_OK);
    CHECK(c.dim == 4096 && c.hidden_dim == 14336 && c.n_layers == 32 && c.n_kv_heads == 8 && c.vocab_size == 128256);
    CHECK(rlae_model_config_preset("qwen2.5-7b", &c) == RLAE_OK);
    CHECK(c.dim == 3584 && c.n_heads == 28 && c.n_kv_heads == 4 && c.qkv_bias == 1 && c.vocab_size == 152064);
    CHECK(rlae_model_config_preset("mistral-7b", &c) == RLAE_OK);
    CHECK(c.dim == 4096 && c.vocab_size == 32768 && c.n_layers == 32);
    CHECK(rlae_model_config_preset("gpt2", &c) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "llama3-8b") != NULL);
}

static void test_fill(void)
{
    float f[1000], g[1000];
    uint16_t b[1000];
    int64_t n = 1000;
    rlae_tensor F = rlae_tensor_view(f, RLAE_F32, RLAE_DEV_CPU, 1, &n);
    rlae_tensor G = rlae_tensor_view(g, RLAE_F32, RLAE_DEV_CPU, 1, &n);
    rlae_tensor B = rlae_tensor_view(b, RLAE_BF16, RLAE_DEV_CPU, 1, &n);
    CHECK(rlae_op_fill_uniform(&F, -2.0f, 3.0f, 42) == RLAE_OK);
    CHECK(rlae_op_fill_uniform(&G, -2.0f, 3.0f, 42) == RLAE_OK);
    CHECK(rlae_op_fill_uniform(&B, -2.0f, 3.0f, 42) == RLAE_OK);
    CHECK(memcmp(f, g, sizeof f) == 0);
    double mean = 0;
    int in_range = 1, bf_ok = 1;
    for (int i = 0; i < 1000; i++) {
        in_range &= f[i] >= -2.0f && f[i] < 3.0f;
        bf_ok &= b[i] == rlae_f32_to_bf16(f[i]);
        mean += f[i] / 1000.0;
    }
    CHECK(in_range && bf_ok);
    CHECK_MSG(fabs(mean - 0.5) < 0.15, "mean %g of 1000 uniforms on [-2, 3)", mean);
    /* value 0 by hand: splitmix64 of seed + golden ratio, top 24 bits */
    uint64_t z = 42 + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    CHECK_NEAR(f[0], -2.0 + 5.0 * (double)(z >> 40) / 16777216.0, 1e-6);
    CHECK(rlae_op_fill_uniform(&G, -2.0f, 3.0f, 43) == RLAE_OK && memcmp(f, g, sizeof f) != 0);
}

static rlae_model_config small_config(void)
{
    rlae_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "qwen2");
    c.dim = 32, c.hidden_dim = 48, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.vocab_size = 50;
    c.max_seq_len = 64, c.norm_eps = 1e-6f, c.rope_theta = 10000.0f, c.qkv_bias = 1, c.tied_embeddings = 1;
    return c; /* head_dim 0: dim / n_heads */
}

static void test_random_model(void)
{
    rlae_model_config c = small_config();
    rlae_model_weights a, b;
    CHECK(rlae_model_weights_random(&a, &c, RLAE_DEV_CPU, RLAE_F32, 5) == RLAE_OK);
    CHECK(rlae_model_weights_random(&b, &c, RLAE_DEV_CPU, RLAE_F32, 5) == RLAE_OK);
    CHECK_EQ_INT(a.cfg.head_dim, 8);
    CHECK(a.lm_head.data == a.tok_embeddings.data && !a.lm_head.owned);
    CHECK(memcmp(a.layers[1].w_down.data, b.layers[1].w_down.data, rlae_tensor_nbytes(&a.layers[1].w_down)) == 0);
    CHECK(memcmp(a.layers[0].wq.data, a.layers[0].wk.data, 8 * sizeof(float)) != 0); /* tensors differ */
    const float *norm = a.layers[0].attn_norm.data, *wd = a.layers[0].w_down.data, *bq = a.layers[0].bq.data;
    int ok = 1;
    for (int i = 0; i < c.dim; i++)
        ok &= norm[i] == 1.0f;
    for (int i = 0; i < c.dim * c.hidden_dim; i++)
        ok &= fabsf(wd[i]) <= 1.0f / sqrtf((float)c.hidden_dim);
    for (int i = 0; i < c.dim; i++)
        ok &= fabsf(bq[i]) <= 0.1f;
    CHECK(ok);
    /* bytes: embeddings once (tied) + per layer 7 matrices, 2 norms, 3 biases + final norm */
    size_t want = 4 * ((size_t)50 * 32 + 2 * ((size_t)32 * 32 * 2 + 16 * 32 * 2 + 48 * 32 * 3 + 32 * 2 + 32 + 16 * 2) + 32);
    CHECK_EQ_INT(rlae_model_weights_bytes(&a), want);

    rlae_model m;
    rlae_kv_cache kv;
    int slot = 0, n_new = 5;
    int32_t toks[5] = {1, 7, 3, 49, 0};
    float logits[50];
    CHECK(rlae_model_init(&m, &a, 1, 0) == RLAE_OK);
    CHECK(rlae_kv_cache_init(&kv, &a.cfg, 1, 0, RLAE_DEV_CPU) == RLAE_OK);
    CHECK(rlae_forward(&m, &kv, 1, &slot, &n_new, toks, logits, NULL) == RLAE_OK);
    int finite = 1;
    for (int i = 0; i < 50; i++)
        finite &= isfinite(logits[i]);
    CHECK(finite);
    rlae_kv_cache_free(&kv);
    rlae_model_free(&m);

    rlae_model_weights z;
    CHECK(rlae_model_weights_random(&z, &c, RLAE_DEV_CPU, RLAE_BF16, 5) == RLAE_ERR_UNSUPPORTED);
    CHECK(z.layers == NULL);
    c.n_layers = 0;
    CHECK(rlae_model_weights_random(&z, &c, RLAE_DEV_CPU, RLAE_F32, 5) == RLAE_ERR_INPUT);
    rlae_model_weights_free(&a);
    rlae_model_weights_free(&b);
}

static void test_to_device(void)
{
    rlae_model_config c = small_config();
    rlae_model_weights w;
    CHECK(rlae_model_weights_random(&w, &c, RLAE_DEV_CPU, RLAE_F32, 9) == RLAE_OK);
    void *emb = w.tok_embeddings.data;
    CHECK(rlae_model_weights_to_device(&w, RLAE_DEV_CPU, RLAE_F32) == RLAE_OK);
    CHECK(w.tok_embeddings.data == emb);
    CHECK(rlae_model_weights_to_device(&w, RLAE_DEV_CPU, RLAE_BF16) == RLAE_ERR_UNSUPPORTED);
    CHECK(rlae_model_weights_to_device(&w, RLAE_DEV_CPU, RLAE_I32) == RLAE_ERR_INPUT);
    if (rlae_device_gpu_count() == 0) {
        CHECK(rlae_model_weights_to_device(&w, RLAE_DEV_CUDA, RLAE_BF16) == RLAE_ERR_UNSUPPORTED);
        CHECK(w.tok_embeddings.data == emb && w.tok_embeddings.device == RLAE_DEV_CPU);
        CHECK(w.layers[1].wq.device == RLAE_DEV_CPU && w.layers[1].wq.data != NULL);
    }
    rlae_model_weights_free(&w);
}

int main(void)
{
    test_presets();
    test_fill();
    test_random_model();
    test_to_device();
    return test_summary("test_model_random");
}
