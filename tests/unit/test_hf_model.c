/* Loading Hugging Face directories: tiny Llama and Qwen2 models written here (config.json + BF16
 * safetensors, single and sharded) load into the weights.h layout with the right shapes and values;
 * a missing tensor, a wrong shape, an undeclared bias and a missing shard are errors naming the
 * tensor or shard. The transformers-written fixtures in tests/fixtures/models load too. */
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "model/hf_model.h"
#include "model/model_load.h"

static char g_dir[64];

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
} tspec;

/* Pseudo-random but reproducible weights, exact in bf16 (multiples of 1/64 in [-2, 2)). */
static float weight_value(uint32_t tensor, uint32_t k)
{
    uint32_t x = tensor * 2654435761u ^ (k + 0x9e3779b9u) * 2246822519u;
    x ^= x >> 15;
    x *= 2654435761u;
    return (float)((int)((x >> 16) % 256u) - 128) / 64.0f;
}

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int add(tspec *v, int n, const char *name, int ndim, int64_t d0, int64_t d1)
{
    snprintf(v[n].name, sizeof v[n].name, "%s", name);
    v[n].ndim = ndim;
    v[n].shape[0] = d0;
    v[n].shape[1] = d1;
    return n + 1;
}

/* The tensor set of a model: L layers, dim D, MLP H, q dim QD, kv dim KVD, vocab V. */
static int make_specs(tspec *v, int L, int D, int H, int QD, int KVD, int V, int bias, int head)
{
    int n = 0;
    char nm[96];
    n = add(v, n, "model.embed_tokens.weight", 2, V, D);
    for (int l = 0; l < L; l++) {
#define T(suffix, nd, a, b) (snprintf(nm, sizeof nm, "model.layers.%d." suffix, l), n = add(v, n, nm, nd, a, b))
        T("input_layernorm.weight", 1, D, 0);
        T("self_attn.q_proj.weight", 2, QD, D);
        T("self_attn.k_proj.weight", 2, KVD, D);
        T("self_attn.v_proj.weight", 2, KVD, D);
        T("self_attn.o_proj.weight", 2, D, QD);
        if (bias) {
            T("self_attn.q_proj.bias", 1, QD, 0);
            T("self_attn.k_proj.bias", 1, KVD, 0);
            T("self_attn.v_proj.bias", 1, KVD, 0);
        }
        T("post_attention_layernorm.weight", 1, D, 0);
        T("mlp.gate_proj.weight", 2, H, D);
        T("mlp.up_proj.weight", 2, H, D);
        T("mlp.down_proj.weight", 2, D, H);
#undef T
    }
    n = add(v, n, "model.norm.weight", 1, D, 0);
    if (head)
        n = add(v, n, "lm_head.weight", 2, V, D);
    return n;
}

static int64_t numel(const tspec *t) { return t->ndim == 1 ? t->shape[0] : t->shape[0] * t->shape[1]; }

/* Writes specs[0..n) as one BF16 safetensors file. */
static void write_st(const char *path, const tspec *specs, int n)
{
    size_t cap = 256 + (size_t)n * 200, len = 0;
    char *hdr = malloc(cap);
    int64_t off = 0;
    len += (size_t)snprintf(hdr + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        int64_t bytes = numel(&specs[i]) * 2;
        if (specs[i].ndim == 1)
            len += (size_t)snprintf(hdr + len, cap - len, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld],"
                                    "\"data_offsets\":[%lld,%lld]}", specs[i].name, (long long)specs[i].shape[0],
                                    (long long)off, (long long)(off + bytes));
        else
            len += (size_t)snprintf(hdr + len, cap - len, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld,%lld],"
                                    "\"data_offsets\":[%lld,%lld]}", specs[i].name, (long long)specs[i].shape[0],
                                    (long long)specs[i].shape[1], (long long)off, (long long)(off + bytes));
        off += bytes;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8) /* HF pads the header with spaces to keep the data 8-byte aligned */
        hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    unsigned char l8[8];
    for (int i = 0; i < 8; i++)
        l8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    fwrite(l8, 1, 8, f);
    fwrite(hdr, 1, len, f);
    for (int i = 0; i < n; i++) {
        uint32_t h = name_hash(specs[i].name);
        for (int64_t k = 0; k < numel(&specs[i]); k++) {
            uint16_t b = rlae_f32_to_bf16(weight_value(h, (uint32_t)k));
            unsigned char two[2] = {(unsigned char)b, (unsigned char)(b >> 8)};
            fwrite(two, 1, 2, f);
        }
    }
    fclose(f);
    free(hdr);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Makes g_dir/<sub> holding config.json and the tensors in `shards` files (1: model.safetensors). */
static const char *write_model(const char *sub, const char *config, const tspec *specs, int n, int shards)
{
    static char dir[256];
    char p[512];
    snprintf(dir, sizeof dir, "%s/%s", g_dir, sub);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/config.json", dir);
    write_text(p, config);
    if (shards == 1) {
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        write_st(p, specs, n);
        return dir;
    }
    size_t cap = 256 + (size_t)n * 160, len = 0;
    char *idx = malloc(cap);
    len += (size_t)snprintf(idx + len, cap - len, "{\"metadata\":{},\"weight_map\":{");
    int per = (n + shards - 1) / shards;
    for (int s = 0; s < shards; s++) {
        int lo = s * per, hi = lo + per < n ? lo + per : n;
        char shard[64];
        snprintf(shard, sizeof shard, "model-%05d-of-%05d.safetensors", s + 1, shards);
        snprintf(p, sizeof p, "%s/%s", dir, shard);
        write_st(p, specs + lo, hi - lo);
        for (int i = lo; i < hi; i++)
            len += (size_t)snprintf(idx + len, cap - len, "%s\"%s\":\"%s\"", i ? "," : "", specs[i].name, shard);
    }
    snprintf(idx + len, cap - len, "}}");
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    write_text(p, idx);
    free(idx);
    return dir;
}

#define LLAMA_CFG                                                                                        \
    "{\"model_type\":\"llama\",\"hidden_size\":16,\"intermediate_size\":24,\"num_hidden_layers\":2,"     \
    "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"vocab_size\":32,\"max_position_embeddings\":64," \
    "\"rms_norm_eps\":1e-5,\"tie_word_embeddings\":false}"
#define QWEN_CFG                                                                                         \
    "{\"model_type\":\"qwen2\",\"hidden_size\":16,\"intermediate_size\":24,\"num_hidden_layers\":2,"     \
    "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"vocab_size\":32,\"tie_word_embeddings\":true}"

static int tensor_matches(const rlae_tensor *t, const char *name, int ndim, int64_t d0, int64_t d1)
{
    if (!t->data || !t->owned || t->dtype != RLAE_F32 || t->ndim != ndim || t->shape[0] != d0 ||
        (ndim == 2 && t->shape[1] != d1))
        return 0;
    uint32_t h = name_hash(name);
    for (int64_t k = 0; k < (ndim == 1 ? d0 : d0 * d1); k++)
        if (((const float *)t->data)[k] != weight_value(h, (uint32_t)k))
            return 0;
    return 1;
}

static void check_llama(const rlae_model_weights *w)
{
    CHECK_EQ_STR(w->cfg.arch, "llama");
    CHECK(tensor_matches(&w->tok_embeddings, "model.embed_tokens.weight", 2, 32, 16));
    CHECK(tensor_matches(&w->lm_head, "lm_head.weight", 2, 32, 16));
    CHECK(tensor_matches(&w->final_norm, "model.norm.weight", 1, 16, 0));
    CHECK(tensor_matches(&w->layers[1].wq, "model.layers.1.self_attn.q_proj.weight", 2, 16, 16));
    CHECK(tensor_matches(&w->layers[1].wk, "model.layers.1.self_attn.k_proj.weight", 2, 8, 16));
    CHECK(tensor_matches(&w->layers[0].wv, "model.layers.0.self_attn.v_proj.weight", 2, 8, 16));
    CHECK(tensor_matches(&w->layers[0].wo, "model.layers.0.self_attn.o_proj.weight", 2, 16, 16));
    CHECK(tensor_matches(&w->layers[0].w_gate, "model.layers.0.mlp.gate_proj.weight", 2, 24, 16));
    CHECK(tensor_matches(&w->layers[1].w_up, "model.layers.1.mlp.up_proj.weight", 2, 24, 16));
    CHECK(tensor_matches(&w->layers[1].w_down, "model.layers.1.mlp.down_proj.weight", 2, 16, 24));
    CHECK(tensor_matches(&w->layers[1].attn_norm, "model.layers.1.input_layernorm.weight", 1, 16, 0));
    CHECK(tensor_matches(&w->layers[1].ffn_norm, "model.layers.1.post_attention_layernorm.weight", 1, 16, 0));
    CHECK(w->layers[0].bq.data == NULL && w->layers[1].bv.data == NULL);
}

static void expect_fail(const char *dir, rlae_status want, const char *a, const char *b)
{
    rlae_model_weights w;
    rlae_clear_error();
    rlae_status s = rlae_model_load(dir, "auto", &w);
    const char *msg = rlae_last_error();
    if (getenv("RLAE_TEST_VERBOSE"))
        printf("  %s\n", msg);
    CHECK_MSG(s == want, "status %s, message %s", rlae_status_name(s), msg);
    CHECK_MSG(a == NULL || strstr(msg, a), "message lacks \"%s\": %s", a, msg);
    CHECK_MSG(b == NULL || strstr(msg, b), "message lacks \"%s\": %s", b, msg);
    CHECK(w.layers == NULL && w.tok_embeddings.data == NULL);
}

static void test_synthetic(void)
{
    tspec specs[64];
    int n = make_specs(specs, 2, 16, 24, 16, 8, 32, 0, 1);
    rlae_model_weights w;
    const char *dir = write_model("llama", LLAMA_CFG, specs, n, 1);
    rlae_status s = rlae_model_load(dir, "auto", &w);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (s == RLAE_OK) {
        check_llama(&w);
        rlae_model_weights_free(&w);
    }

    dir = write_model("llama_sharded", LLAMA_CFG, specs, n, 3);
    s = rlae_hf_load(dir, &w);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (s == RLAE_OK) {
        check_llama(&w);
        rlae_model_weights_free(&w);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/model-00002-of-00003.safetensors", dir);
    unlink(p);
    expect_fail(dir, RLAE_ERR_INPUT, "model-00002-of-00003.safetensors", "model.safetensors.index.json");

    /* Qwen2: q/k/v biases, tied head (lm_head aliases the embeddings). */
    int nq = make_specs(specs, 2, 16, 24, 16, 8, 32, 1, 0);
    dir = write_model("qwen2", QWEN_CFG, specs, nq, 1);
    s = rlae_model_load(dir, "hf", &w);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (s == RLAE_OK) {
        CHECK(w.cfg.qkv_bias && w.cfg.tied_embeddings);
        CHECK(w.lm_head.data == w.tok_embeddings.data && !w.lm_head.owned);
        CHECK(tensor_matches(&w.layers[1].bq, "model.layers.1.self_attn.q_proj.bias", 1, 16, 0));
        CHECK(tensor_matches(&w.layers[0].bk, "model.layers.0.self_attn.k_proj.bias", 1, 8, 0));
        CHECK(tensor_matches(&w.layers[0].bv, "model.layers.0.self_attn.v_proj.bias", 1, 8, 0));
        rlae_model_weights_free(&w);
    }

    /* Missing tensor: named, with its expected shape. */
    tspec less[64];
    n = make_specs(specs, 2, 16, 24, 16, 8, 32, 0, 1);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(specs[i].name, "model.layers.1.mlp.up_proj.weight") != 0)
            less[m++] = specs[i];
    dir = write_model("missing", LLAMA_CFG, less, m, 1);
    expect_fail(dir, RLAE_ERR_INPUT, "'model.layers.1.mlp.up_proj.weight'", "[24, 16]");
    /* Untied config without lm_head. */
    dir = write_model("nohead", LLAMA_CFG, specs, n - 1, 1);
    expect_fail(dir, RLAE_ERR_INPUT, "'lm_head.weight'", "tie_word_embeddings");
    /* Wrong shape: expected and actual both named. */
    tspec bad[64];
    memcpy(bad, specs, sizeof bad);
    for (int i = 0; i < n; i++)
        if (strcmp(bad[i].name, "model.layers.0.self_attn.k_proj.weight") == 0)
            bad[i].shape[0] = 16;
    dir = write_model("shape", LLAMA_CFG, bad, n, 1);
    expect_fail(dir, RLAE_ERR_INPUT, "'model.layers.0.self_attn.k_proj.weight' has shape [16, 16]", "implies [8, 16]");
    /* A bias the config does not declare would be silently dropped: refuse. */
    int nb = make_specs(specs, 2, 16, 24, 16, 8, 32, 1, 1);
    dir = write_model("llama_bias", LLAMA_CFG, specs, nb, 1);
    expect_fail(dir, RLAE_ERR_UNSUPPORTED, "_proj.bias'", "does not declare");
    /* More layers in the checkpoint than in config.json. */
    int n3 = make_specs(specs, 3, 16, 24, 16, 8, 32, 0, 1);
    dir = write_model("layers3", LLAMA_CFG, specs, n3, 1);
    expect_fail(dir, RLAE_ERR_INPUT, "model.layers.2.", NULL);
    /* Bad config is reported before any weights are touched. */
    dir = write_model("badcfg", "{\"model_type\":\"llama\"}", specs, n, 1);
    expect_fail(dir, RLAE_ERR_INPUT, "config.json", "hidden_size");
    /* No weights at all. */
    snprintf(p, sizeof p, "%s/noweights", g_dir);
    mkdir(p, 0755);
    char cfgp[600];
    snprintf(cfgp, sizeof cfgp, "%s/config.json", p);
    write_text(cfgp, LLAMA_CFG);
    expect_fail(p, RLAE_ERR_INPUT, "model.safetensors", NULL);
}

/* The transformers-written fixtures: every architecture loads, and the bf16 twin of the llama fixture
 * holds the fp32 weights rounded to bf16. */
static void test_fixtures(void)
{
    const char *names[] = {"llama", "llama3", "qwen2", "mistral", "llama_bf16"};
    rlae_model_weights w[5];
    int ok[5];
    for (int i = 0; i < 5; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", test_fixture_path("models/"));
        snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "%s", names[i]);
        struct stat st;
        if (stat(dir, &st) != 0) {
            printf("note: fixture %s absent\n", dir);
            ok[i] = 0;
            continue;
        }
        rlae_status s = rlae_model_load(dir, "auto", &w[i]);
        CHECK_MSG(s == RLAE_OK, "%s: %s", names[i], rlae_last_error());
        ok[i] = s == RLAE_OK;
    }
    if (ok[2])
        CHECK(w[2].cfg.qkv_bias && w[2].layers[0].bq.data && w[2].lm_head.data == w[2].tok_embeddings.data);
    if (ok[1])
        CHECK(w[1].cfg.rope_scaling == RLAE_ROPE_LLAMA3 && w[1].lm_head.data != w[1].tok_embeddings.data);
    if (ok[0] && ok[4]) {
        int64_t n = rlae_tensor_numel(&w[0].layers[1].wq);
        int bad = 0;
        for (int64_t k = 0; k < n; k++) {
            float a = ((float *)w[0].layers[1].wq.data)[k], b = ((float *)w[4].layers[1].wq.data)[k];
            bad += rlae_bf16_to_f32(rlae_f32_to_bf16(a)) != b;
        }
        CHECK_EQ_INT(bad, 0);
    }
    for (int i = 0; i < 5; i++)
        if (ok[i])
            rlae_model_weights_free(&w[i]);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/rlae_test_hf_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_synthetic();
    test_fixtures();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", g_dir);
    return test_summary("test_hf_model");
}
