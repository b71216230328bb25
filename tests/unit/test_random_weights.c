/* Random-weight models for the benchmarks (model/random_weights.h architectures, made by
 * rlae_model_weights_random): every named architecture has the shape of its published config.json /
 * llama2.c header (numbers typed from those files, not from the tables); tensors have the implied
 * shapes, tied heads alias, q/k/v biases appear only with qkv_bias; the values are a function of
 * the seed alone (same seed: identical bytes; another seed: different) with the documented ranges
 * and variance; the weight and decode-step byte counts match a hand sum; bf16 matrices on the CPU
 * are refused; and a forward over two sequences gives finite, non-constant logits. */
#include "test.h"

#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/random_weights.h"
#include "ops.h"

typedef struct {
    const char *name;
    int dim, hidden, layers, heads, kv, vocab, max_seq, qkv_bias, tied;
    double theta, eps;
} expect_arch;

static void test_arch_table(void)
{
    static const expect_arch want[] = {
        /* meta-llama/Meta-Llama-3-8B config.json */
        {"llama3-8b", 4096, 14336, 32, 32, 8, 128256, 8192, 0, 0, 500000.0, 1e-5},
        /* Qwen/Qwen2.5-7B config.json (max_position_embeddings of the instruct model) */
        {"qwen2.5-7b", 3584, 18944, 28, 28, 4, 152064, 32768, 1, 0, 1000000.0, 1e-6},
        /* mistralai/Mistral-7B-v0.3 config.json */
        {"mistral-7b", 4096, 14336, 32, 32, 8, 32768, 32768, 0, 0, 1000000.0, 1e-5},
        /* llama2.c stories110M.bin / stories15M.bin headers; stories260K.bin (../shared) */
        {"stories110m", 768, 2048, 12, 12, 12, 32000, 1024, 0, 1, 10000.0, 1e-5},
        {"stories15m", 288, 768, 6, 6, 6, 32000, 256, 0, 1, 10000.0, 1e-5},
        {"tiny", 64, 172, 5, 8, 4, 512, 512, 0, 1, 10000.0, 1e-5},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const expect_arch *e = &want[i];
        rlae_model_config c;
        rlae_status s = rlae_random_arch_config(e->name, &c);
        CHECK_MSG(s == RLAE_OK, "%s: %s", e->name, rlae_last_error());
        if (s != RLAE_OK)
            continue;
        CHECK_EQ_INT(c.dim, e->dim);
        CHECK_EQ_INT(c.hidden_dim, e->hidden);
        CHECK_EQ_INT(c.n_layers, e->layers);
        CHECK_EQ_INT(c.n_heads, e->heads);
        CHECK_EQ_INT(c.n_kv_heads, e->kv);
        CHECK_EQ_INT(c.head_dim, e->dim / e->heads);
        CHECK_EQ_INT(c.vocab_size, e->vocab);
        CHECK_EQ_INT(c.max_seq_len, e->max_seq);
        CHECK_EQ_INT(c.qkv_bias, e->qkv_bias);
        CHECK_EQ_INT(c.tied_embeddings, e->tied);
        CHECK_NEAR(c.rope_theta, e->theta, 1e-3);
        CHECK_NEAR(c.norm_eps, e->eps, 1e-12);
        CHECK_EQ_INT(c.rope_scaling, RLAE_ROPE_NONE);
    }
    rlae_model_config c;
    CHECK(rlae_random_arch_config("llama-9000", &c) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "llama3-8b") != NULL);
    CHECK(rlae_random_arch_config(NULL, &c) == RLAE_ERR_INPUT);
}

static int same_shape(const rlae_tensor *t, int64_t d0, int64_t d1)
{
    if (d1 == 0)
        return t->ndim == 1 && t->shape[0] == d0;
    return t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1;
}

/* A small untied shape with biases and GQA, so every tensor kind is present. */
static rlae_model_config small_config(void)
{
    rlae_model_config c;
    rlae_random_arch_config("tiny", &c);
    c.n_layers = 2;
    c.vocab_size = 96;
    c.hidden_dim = 40;
    c.qkv_bias = 1;
    c.tied_embeddings = 0;
    return c;
}

static void test_shapes_and_bytes(void)
{
    rlae_model_config c = small_config();
    rlae_model_weights w;
    rlae_status s = rlae_model_weights_random(&w, &c, RLAE_DEV_CPU, RLAE_F32, 7);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (s != RLAE_OK)
        return;
    int64_t D = 64, H = 40, V = 96, qd = 64, kvd = 32;
    CHECK(same_shape(&w.tok_embeddings, V, D));
    CHECK(same_shape(&w.lm_head, V, D));
    CHECK(w.lm_head.data != w.tok_embeddings.data);
    CHECK(same_shape(&w.final_norm, D, 0));
    size_t want = 0;
    for (int l = 0; l < 2; l++) {
        const rlae_layer_weights *lw = &w.layers[l];
        CHECK(same_shape(&lw->wq, qd, D) && same_shape(&lw->wk, kvd, D) && same_shape(&lw->wv, kvd, D));
        CHECK(same_shape(&lw->wo, D, qd));
        CHECK(same_shape(&lw->w_gate, H, D) && same_shape(&lw->w_up, H, D) && same_shape(&lw->w_down, D, H));
        CHECK(same_shape(&lw->bq, qd, 0) && same_shape(&lw->bk, kvd, 0) && same_shape(&lw->bv, kvd, 0));
        CHECK(same_shape(&lw->attn_norm, D, 0) && same_shape(&lw->ffn_norm, D, 0));
        CHECK(((float *)lw->attn_norm.data)[5] == 1.0f && ((float *)lw->ffn_norm.data)[D - 1] == 1.0f);
        CHECK(lw->wq.dtype == RLAE_F32 && lw->bq.dtype == RLAE_F32);
        want += (size_t)(qd * D + 2 * kvd * D + D * qd + 3 * H * D + qd + 2 * kvd + 2 * D) * 4;
    }
    size_t layers = want;
    want += (size_t)(2 * V * D + D) * 4;
    CHECK_EQ_INT(rlae_model_weights_bytes(&w), want);
    /* a step reads every layer, the norm, the head and 3 embedding rows */
    CHECK_NEAR(rlae_model_weights_step_bytes(&w, 3), (double)layers + (double)(D + V * D + 3 * D) * 4, 0.5);
    rlae_model_weights_free(&w);

    /* tied and bias-free: the head aliases, no biases, bytes count the table once */
    rlae_random_arch_config("tiny", &c);
    s = rlae_model_weights_random(&w, &c, RLAE_DEV_CPU, RLAE_F32, 7);
    CHECK(s == RLAE_OK);
    if (s == RLAE_OK) {
        CHECK(w.lm_head.data == w.tok_embeddings.data);
        CHECK(w.layers[0].bq.data == NULL && w.layers[4].bv.data == NULL);
        size_t per_layer = (size_t)(64 * 64 * 2 + 32 * 64 * 2 + 3 * 172 * 64 + 2 * 64) * 4;
        CHECK_EQ_INT(rlae_model_weights_bytes(&w), 5 * per_layer + (size_t)(512 * 64 + 64) * 4);
        rlae_model_weights_free(&w);
    }

    /* bad inputs: a zero size; bf16 matrices on the CPU (its backend computes fp32) */
    c.dim = 0;
    CHECK(rlae_model_weights_random(&w, &c, RLAE_DEV_CPU, RLAE_F32, 1) == RLAE_ERR_INPUT);
    rlae_random_arch_config("tiny", &c);
    CHECK(rlae_model_weights_random(&w, &c, RLAE_DEV_CPU, RLAE_BF16, 1) == RLAE_ERR_UNSUPPORTED);
    CHECK(w.layers == NULL && w.tok_embeddings.data == NULL);
}

static int tensors_equal(const rlae_tensor *a, const rlae_tensor *b)
{
    return rlae_tensor_nbytes(a) == rlae_tensor_nbytes(b) && memcmp(a->data, b->data, rlae_tensor_nbytes(a)) == 0;
}

static void test_determinism_and_values(void)
{
    rlae_model_config c = small_config();
    rlae_model_weights a, b, d;
    CHECK(rlae_model_weights_random(&a, &c, RLAE_DEV_CPU, RLAE_F32, 42) == RLAE_OK);
    CHECK(rlae_model_weights_random(&b, &c, RLAE_DEV_CPU, RLAE_F32, 42) == RLAE_OK);
    CHECK(rlae_model_weights_random(&d, &c, RLAE_DEV_CPU, RLAE_F32, 43) == RLAE_OK);
    CHECK(tensors_equal(&a.tok_embeddings, &b.tok_embeddings));
    CHECK(tensors_equal(&a.layers[1].w_down, &b.layers[1].w_down));
    CHECK(tensors_equal(&a.layers[0].bk, &b.layers[0].bk));
    CHECK(tensors_equal(&a.lm_head, &b.lm_head));
    CHECK(!tensors_equal(&a.tok_embeddings, &d.tok_embeddings));
    CHECK(!tensors_equal(&a.layers[1].w_down, &d.layers[1].w_down));
    /* different tensors and layers of one model draw different values */
    CHECK(memcmp(a.layers[0].wq.data, a.layers[1].wq.data, 64 * sizeof(float)) != 0);
    CHECK(memcmp(a.layers[0].w_gate.data, a.layers[0].w_up.data, 64 * sizeof(float)) != 0);
    CHECK(((float *)a.layers[1].ffn_norm.data)[3] == 1.0f && ((float *)a.final_norm.data)[63] == 1.0f);

    /* ranges and variance (weights.h): embeddings U(-1, 1), matrices U(+-1/sqrt(fan_in)), biases
     * U(+-0.1); a uniform on [-h, h] has variance h^2/3 */
    struct {
        const rlae_tensor *t;
        double bound;
    } r[] = {{&a.tok_embeddings, 1.0}, {&a.layers[0].wq, 1.0 / 8.0}, {&a.layers[1].w_down, 1.0 / sqrt(40.0)},
             {&a.lm_head, 1.0 / 8.0}, {&a.layers[0].bq, 0.1}};
    for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) {
        const float *x = r[k].t->data;
        int64_t n = rlae_tensor_numel(r[k].t);
        double sum = 0, sq = 0, mx = 0;
        for (int64_t i = 0; i < n; i++) {
            sum += x[i];
            sq += (double)x[i] * x[i];
            mx = fabs(x[i]) > mx ? fabs(x[i]) : mx;
        }
        double var = sq / n, want = r[k].bound * r[k].bound / 3.0;
        CHECK_MSG(mx <= r[k].bound * (1 + 1e-6) && mx > 0.9 * r[k].bound, "tensor %zu: max |x| %g, bound %g", k, mx,
                  r[k].bound);
        /* n >= 64 uniforms: the sample variance is within 35% (3 standard errors) */
        CHECK_MSG(fabs(var / want - 1.0) < 0.35, "tensor %zu: variance %g, expected %g (n %lld)", k, var, want,
                  (long long)n);
        CHECK_MSG(fabs(sum / n) < 4.0 * r[k].bound / sqrt(3.0 * n), "tensor %zu: mean %g", k, sum / n);
    }
    rlae_model_weights_free(&a);
    rlae_model_weights_free(&b);
    rlae_model_weights_free(&d);
}

static void test_forward_runs(void)
{
    rlae_model_config c = small_config();
    rlae_model_weights w;
    rlae_model m;
    rlae_kv_cache kv;
    CHECK(rlae_model_weights_random(&w, &c, RLAE_DEV_CPU, RLAE_F32, 5) == RLAE_OK);
    rlae_status s = rlae_model_init(&m, &w, 2, 0);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (s == RLAE_OK)
        s = rlae_kv_cache_init(&kv, &w.cfg, 2, 16, RLAE_DEV_CPU);
    CHECK(s == RLAE_OK);
    if (s != RLAE_OK)
        return;
    int ids[2] = {0, 1}, n_new[2] = {5, 3};
    int32_t tok[8] = {1, 17, 33, 90, 4, 1, 60, 2};
    float logits[2 * 96], logits2[2 * 96];
    s = rlae_forward(&m, &kv, 2, ids, n_new, tok, logits, NULL);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    int finite = 1, distinct = 0;
    for (int i = 0; i < 2 * 96; i++) {
        finite &= isfinite(logits[i]);
        distinct += logits[i] != logits[0];
    }
    CHECK(finite);
    CHECK(distinct > 150);
    /* the two sequences differ, so their logits do */
    CHECK(memcmp(logits, logits + 96, 96 * sizeof(float)) != 0);
    /* one decode step more: still finite */
    int one[2] = {1, 1};
    int32_t next[2] = {7, 8};
    s = rlae_forward(&m, &kv, 2, ids, one, next, logits2, NULL);
    CHECK(s == RLAE_OK);
    finite = 1;
    for (int i = 0; i < 2 * 96; i++)
        finite &= isfinite(logits2[i]);
    CHECK(finite);
    CHECK_EQ_INT(rlae_kv_cache_len(&kv, 0), 6);
    rlae_kv_cache_free(&kv);
    rlae_model_free(&m);
    rlae_model_weights_free(&w);
}

int main(void)
{
    test_arch_table();
    test_shapes_and_bytes();
    test_determinism_and_values();
    test_forward_runs();
    return test_summary("test_random_weights");
}
