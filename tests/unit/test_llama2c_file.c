/* llama2.c checkpoints: the two shared models load with their documented headers, wq/wk rows come
 * out in Hugging Face RoPE order, an untied in-memory checkpoint keeps its own head, and truncated,
 * garbage, version-1 and overflowing headers are RLAE_ERR_INPUT naming the file. Also covers the
 * rlae_model_load dispatch (auto/hf/llama2c, missing paths). */
#include "test.h"

#include <unistd.h>

#include "model/llama2c_file.h"
#include "model/model_load.h"

static char g_dir[64];

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static const char *write_tmp(const char *name, const void *data, size_t n)
{
    static char p[4][256];
    static int next;
    char *path = p[next++ % 4];
    snprintf(path, 256, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

static void test_stories260k(void)
{
    const char *path = test_shared_path("models/stories260K/stories260K.bin");
    rlae_model_weights w;
    rlae_status s = rlae_llama2c_load(path, &w);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (s != RLAE_OK)
        return;
    const rlae_model_config *c = &w.cfg;
    CHECK_EQ_INT(c->dim, 64);
    CHECK_EQ_INT(c->hidden_dim, 172);
    CHECK_EQ_INT(c->n_layers, 5);
    CHECK_EQ_INT(c->n_heads, 8);
    CHECK_EQ_INT(c->n_kv_heads, 4);
    CHECK_EQ_INT(c->vocab_size, 512);
    CHECK_EQ_INT(c->max_seq_len, 512);
    CHECK_EQ_INT(c->head_dim, 8);
    CHECK_EQ_INT(c->tied_embeddings, 1);
    CHECK(w.lm_head.data == w.tok_embeddings.data && !w.lm_head.owned);
    CHECK(w.tok_embeddings.shape[0] == 512 && w.tok_embeddings.shape[1] == 64);
    CHECK(w.layers[4].wk.shape[0] == 32 && w.layers[4].wk.shape[1] == 64);
    CHECK(w.layers[0].w_down.shape[0] == 64 && w.layers[0].w_down.shape[1] == 172);
    CHECK_EQ_STR(w.source, path);

    /* wq rows are permuted from llama2.c's interleaved pairs to HF half-split order: HF row r of a head
     * is file row 2r (r < hs/2) or 2(r - hs/2) + 1. Compare with the raw file. */
    size_t n;
    unsigned char *raw = slurp(path, &n);
    CHECK(raw != NULL);
    if (raw) {
        const int D = 64, V = 512, L = 5, hs = 8;
        size_t wq0 = 28 + (size_t)(V * D + L * D) * 4; /* after embeddings and rms_att */
        int bad = 0;
        for (int h = 0; h < 8; h++)
            for (int r = 0; r < hs; r++) {
                int src = r < hs / 2 ? 2 * r : 2 * (r - hs / 2) + 1;
                const float *got = (const float *)w.layers[0].wq.data + (size_t)(h * hs + r) * D;
                bad += memcmp(got, raw + wq0 + (size_t)(h * hs + src) * D * 4, (size_t)D * 4) != 0;
            }
        CHECK_EQ_INT(bad, 0);

        /* A truncated copy is an error naming the file. */
        const char *trunc = write_tmp("stories_truncated.bin", raw, n - 100);
        rlae_model_weights t;
        CHECK(rlae_llama2c_load(trunc, &t) == RLAE_ERR_INPUT);
        CHECK_MSG(strstr(rlae_last_error(), "stories_truncated.bin") && strstr(rlae_last_error(), "truncated"), "%s",
                  rlae_last_error());
        CHECK(t.layers == NULL && t.tok_embeddings.data == NULL);
        /* So is one byte too many (the format has no trailing data). */
        unsigned char *longer = calloc(n + 1, 1);
        memcpy(longer, raw, n);
        CHECK(rlae_llama2c_load_memory(longer, n + 1, "longer.bin", &t) == RLAE_ERR_INPUT);
        free(longer);
        /* Garbage header. */
        unsigned char *garbage = malloc(n);
        memcpy(garbage, raw, n);
        memset(garbage, 0xff, 28);
        const char *gpath = write_tmp("garbage.bin", garbage, n);
        CHECK(rlae_llama2c_load(gpath, &t) == RLAE_ERR_INPUT);
        CHECK_MSG(strstr(rlae_last_error(), "garbage.bin") && strstr(rlae_last_error(), "implausible"), "%s",
                  rlae_last_error());
        /* vocab = INT32_MIN must not overflow when negated (UBSan would flag it). */
        memcpy(garbage, raw, 28);
        int32_t minv = INT32_MIN;
        memcpy(garbage + 20, &minv, 4);
        CHECK(rlae_llama2c_load_memory(garbage, n, "minvocab.bin", &t) == RLAE_ERR_INPUT);
        /* heads that do not divide dim. */
        memcpy(garbage, raw, 28);
        int32_t heads = 7;
        memcpy(garbage + 12, &heads, 4);
        CHECK(rlae_llama2c_load_memory(garbage, n, "heads.bin", &t) == RLAE_ERR_INPUT);
        CHECK(strstr(rlae_last_error(), "inconsistent") != NULL);
        /* A version-1 export. */
        const uint32_t v1[2] = {0x616b3432u, 1};
        memcpy(garbage, v1, sizeof v1);
        CHECK(rlae_llama2c_load_memory(garbage, n, "v1.bin", &t) == RLAE_ERR_INPUT);
        CHECK_MSG(strstr(rlae_last_error(), "version 1") && strstr(rlae_last_error(), "--version 0"), "%s",
                  rlae_last_error());
        CHECK(rlae_llama2c_load_memory(raw, 10, "short.bin", &t) == RLAE_ERR_INPUT);
        CHECK(strstr(rlae_last_error(), "short.bin") != NULL);
        free(garbage);
        free(raw);
    }
    rlae_model_weights_free(&w);
}

static void test_babyllama(void)
{
    rlae_model_weights w;
    rlae_status s = rlae_model_load(test_shared_path("models/babyllama105/model5000.bin"), "auto", &w);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (s != RLAE_OK)
        return;
    CHECK_EQ_INT(w.cfg.dim, 128);
    CHECK_EQ_INT(w.cfg.hidden_dim, 352);
    CHECK_EQ_INT(w.cfg.n_layers, 5);
    CHECK_EQ_INT(w.cfg.n_heads, 8);
    CHECK_EQ_INT(w.cfg.n_kv_heads, 4);
    CHECK_EQ_INT(w.cfg.vocab_size, 105);
    CHECK_EQ_INT(w.cfg.max_seq_len, 256);
    CHECK_EQ_INT(w.cfg.tied_embeddings, 1);
    rlae_model_weights_free(&w);
    CHECK(w.layers == NULL);
}

/* A tiny untied checkpoint built in memory: the head is its own tensor with the last values. */
static void test_untied_memory(void)
{
    const int32_t hdr[7] = {8, 16, 1, 2, 1, -10, 4};
    const int D = 8, H = 16, L = 1, V = 10, S = 4, hs = 4, kv = 4;
    size_t floats = (size_t)(V * D + L * (2 * D + D * D * 2 + kv * D * 2 + 3 * H * D) + D + S * hs + V * D);
    size_t n = 28 + floats * 4;
    unsigned char *buf = malloc(n + 1);
    memcpy(buf + 1, hdr, 28); /* +1: deliberately misaligned, as an mmap of a sub-file could be */
    for (size_t i = 0; i < floats; i++) {
        float v = (float)i;
        memcpy(buf + 1 + 28 + i * 4, &v, 4);
    }
    rlae_model_weights w;
    rlae_status s = rlae_llama2c_load_memory(buf + 1, n, "untied.bin", &w);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (s == RLAE_OK) {
        CHECK_EQ_INT(w.cfg.tied_embeddings, 0);
        CHECK_EQ_INT(w.cfg.vocab_size, 10);
        CHECK(w.lm_head.owned && w.lm_head.data != w.tok_embeddings.data);
        CHECK_NEAR(((float *)w.lm_head.data)[V * D - 1], (double)(floats - 1), 0);
        CHECK_NEAR(((float *)w.tok_embeddings.data)[1], 1.0, 0);
        rlae_model_weights_free(&w);
    }
    free(buf);
}

static void test_dispatch(void)
{
    rlae_model_weights w;
    CHECK(rlae_model_load("/nonexistent/model.bin", "auto", &w) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "/nonexistent/model.bin") && strstr(rlae_last_error(), "does not exist"));
    CHECK(rlae_model_load("", "auto", &w) == RLAE_ERR_INPUT);
    CHECK(rlae_model_load(g_dir, "bogus", &w) == RLAE_ERR_INPUT && strstr(rlae_last_error(), "bogus"));
    CHECK(rlae_model_load(g_dir, "auto", &w) == RLAE_ERR_INPUT && strstr(rlae_last_error(), "config.json"));
    CHECK(rlae_model_load(g_dir, "llama2c", &w) == RLAE_ERR_INPUT && strstr(rlae_last_error(), "directory"));
    const char *stories = test_shared_path("models/stories260K/stories260K.bin");
    CHECK(rlae_model_load(stories, "hf", &w) == RLAE_ERR_INPUT);
    CHECK(rlae_model_load(stories, "llama2c", &w) == RLAE_OK && w.cfg.dim == 64);
    rlae_model_weights_free(&w);
    const char *cfg = write_tmp("config.json", "{}", 2);
    CHECK(rlae_model_load(cfg, "auto", &w) == RLAE_ERR_INPUT && strstr(rlae_last_error(), "directory"));
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/rlae_test_l2c_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_untied_memory();
    test_stories260k();
    test_babyllama();
    test_dispatch();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", g_dir);
    return test_summary("test_llama2c_file");
}
