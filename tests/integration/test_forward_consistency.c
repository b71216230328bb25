/* The batched forward must not depend on how work is cut up, and must match transformers:
 *  on stories260K (a real llama2.c model with GQA):
 *   (a) logits of token-by-token decode == logits of one prefill of the same tokens, for several
 *       chunk sizes (so chunk boundaries inside a sequence are covered);
 *   (b) a batch of 3 sequences of different lengths (prefill, then batched decode) == each alone;
 *   (c) appending a 3-token chunk to a cache == appending those tokens one at a time;
 *  on the tiny HF fixtures of tests/fixtures/models (Llama, Llama-3 rope scaling, Mistral, Qwen2
 *  with qkv bias, bf16 twin; made by tools/make_reference.py with transformers 4.46.3):
 *   (d) logits and final-normed hidden states of every prompt position, and the greedy
 *       continuations, agree with the recorded reference. */
#include "test.h"

#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model_load.h"
#include "model/sampler.h"

#include <stdint.h>

#define TOL 1e-4

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) /* also catches NaN */
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

#define OK(expr)                                                                                    \
    do {                                                                                            \
        rlae_status s_ = (expr);                                                                    \
        CHECK_MSG(s_ == RLAE_OK, "%s: %s", #expr, rlae_last_error());                               \
        if (s_ != RLAE_OK)                                                                          \
            return;                                                                                 \
    } while (0)

/* A deterministic token stream: BOS, then ids spread over the vocabulary. */
static void make_tokens(int32_t *t, int n, int vocab, uint32_t seed)
{
    t[0] = 1;
    for (int i = 1; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        t[i] = 3 + (int32_t)((seed >> 8) % (uint32_t)(vocab - 3));
    }
}

static void test_decode_vs_prefill(const rlae_model_weights *w)
{
    enum { N = 45 };
    int V = w->cfg.vocab_size;
    int32_t toks[N];
    make_tokens(toks, N, V, 7);
    float *all = malloc(sizeof(float) * N * V), *one = malloc(sizeof(float) * V);
    float *h_pre = malloc(sizeof(float) * w->cfg.dim), *h_dec = malloc(sizeof(float) * w->cfg.dim);
    int chunks[] = {256, 7, 1};
    rlae_model ref;
    rlae_kv_cache cref;
    OK(rlae_model_init(&ref, w, 1, 1));
    OK(rlae_kv_cache_init(&cref, &w->cfg, 1, 64, RLAE_DEV_CPU));
    /* token by token */
    float *dec = malloc(sizeof(float) * N * V);
    int slot = 0, one_tok = 1;
    for (int i = 0; i < N; i++)
        OK(rlae_forward(&ref, &cref, 1, &slot, &one_tok, &toks[i], dec + (size_t)i * V, i == N - 1 ? h_dec : NULL));
    CHECK_EQ_INT(rlae_kv_cache_len(&cref, 0), N);
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        rlae_model m;
        rlae_kv_cache cache;
        OK(rlae_model_init(&m, w, 1, chunks[c]));
        OK(rlae_kv_cache_init(&cache, &w->cfg, 1, 64, RLAE_DEV_CPU));
        int n = N;
        OK(rlae_forward_all(&m, &cache, 1, &slot, &n, toks, all, one, h_pre));
        double d = max_abs_diff(all, dec, (size_t)N * V);
        CHECK_MSG(d <= TOL, "(a) chunk %d: prefill vs decode logits differ by %g", chunks[c], d);
        d = max_abs_diff(one, dec + (size_t)(N - 1) * V, V);
        CHECK_MSG(d <= TOL, "(a) chunk %d: last-position logits differ by %g", chunks[c], d);
        d = max_abs_diff(h_pre, h_dec, w->cfg.dim);
        CHECK_MSG(d <= TOL, "(a) chunk %d: final hidden differs by %g", chunks[c], d);
        rlae_kv_cache_free(&cache);
        rlae_model_free(&m);
    }
    /* A full context is an error that leaves the cache as it was. */
    rlae_kv_cache small;
    OK(rlae_kv_cache_init(&small, &w->cfg, 1, 8, RLAE_DEV_CPU));
    int nine = 9;
    CHECK(rlae_forward(&ref, &small, 1, &slot, &nine, toks, NULL, NULL) == RLAE_ERR_INPUT);
    CHECK_EQ_INT(rlae_kv_cache_len(&small, 0), 0);
    int32_t bad = V;
    CHECK(rlae_forward(&ref, &small, 1, &slot, &one_tok, &bad, NULL, NULL) == RLAE_ERR_INPUT);
    rlae_kv_cache_free(&small);
    rlae_kv_cache_free(&cref);
    rlae_model_free(&ref);
    free(all), free(one), free(dec), free(h_pre), free(h_dec);
}

static void test_batch_vs_alone(const rlae_model_weights *w)
{
    enum { B = 3, STEPS = 4 };
    int V = w->cfg.vocab_size, D = w->cfg.dim;
    int lens[B] = {5, 17, 9}, slots[B] = {2, 0, 1}; /* slots deliberately out of order */
    int32_t prompts[B][32], flat[64];
    int nf = 0;
    for (int b = 0; b < B; b++) {
        make_tokens(prompts[b], lens[b] + STEPS, V, 100 + b);
        for (int i = 0; i < lens[b]; i++)
            flat[nf++] = prompts[b][i];
    }
    /* alone: each sequence in its own cache, prefill then STEPS single-token decodes */
    float alone_logits[B][STEPS + 1][512], alone_hidden[B][STEPS + 1][512];
    CHECK(V <= 512 && D <= 512);
    rlae_model m1;
    OK(rlae_model_init(&m1, w, 1, 0));
    for (int b = 0; b < B; b++) {
        rlae_kv_cache c;
        OK(rlae_kv_cache_init(&c, &w->cfg, 1, 0, RLAE_DEV_CPU));
        int s0 = 0, one = 1;
        OK(rlae_forward(&m1, &c, 1, &s0, &lens[b], prompts[b], alone_logits[b][0], alone_hidden[b][0]));
        for (int t = 0; t < STEPS; t++)
            OK(rlae_forward(&m1, &c, 1, &s0, &one, &prompts[b][lens[b] + t], alone_logits[b][t + 1],
                            alone_hidden[b][t + 1]));
        rlae_kv_cache_free(&c);
    }
    rlae_model_free(&m1);

    /* together: one batched prefill with a small chunk (so chunks straddle sequences), then
     * batched decodes */
    rlae_model m;
    rlae_kv_cache c;
    OK(rlae_model_init(&m, w, B, 6));
    OK(rlae_kv_cache_init(&c, &w->cfg, B, 0, RLAE_DEV_CPU));
    float logits[B * 512], hidden[B * 512];
    OK(rlae_forward(&m, &c, B, slots, lens, flat, logits, hidden));
    for (int b = 0; b < B; b++) {
        double d = max_abs_diff(logits + (size_t)b * V, alone_logits[b][0], V);
        CHECK_MSG(d <= TOL, "(b) prefill of sequence %d: logits differ by %g", b, d);
        d = max_abs_diff(hidden + (size_t)b * D, alone_hidden[b][0], D);
        CHECK_MSG(d <= TOL, "(b) prefill of sequence %d: hidden differs by %g", b, d);
        CHECK_EQ_INT(rlae_kv_cache_len(&c, slots[b]), lens[b]);
    }
    int ones[B] = {1, 1, 1};
    for (int t = 0; t < STEPS; t++) {
        int32_t next[B];
        for (int b = 0; b < B; b++)
            next[b] = prompts[b][lens[b] + t];
        OK(rlae_forward(&m, &c, B, slots, ones, next, logits, hidden));
        for (int b = 0; b < B; b++) {
            double d = max_abs_diff(logits + (size_t)b * V, alone_logits[b][t + 1], V);
            CHECK_MSG(d <= TOL, "(b) decode step %d of sequence %d: logits differ by %g", t, b, d);
        }
    }
    /* Resetting one slot and re-running it alone gives its solo result again. */
    OK(rlae_kv_cache_reset(&c, slots[1]));
    OK(rlae_forward(&m, &c, 1, &slots[1], &lens[1], prompts[1], logits, NULL));
    CHECK(max_abs_diff(logits, alone_logits[1][0], V) <= TOL);
    rlae_kv_cache_free(&c);
    rlae_model_free(&m);
}

static void test_chunk_append(const rlae_model_weights *w)
{
    enum { P = 10, K = 3 };
    int V = w->cfg.vocab_size;
    int32_t toks[P + K + 1];
    make_tokens(toks, P + K + 1, V, 33);
    rlae_model m;
    OK(rlae_model_init(&m, w, 2, 0));
    rlae_kv_cache c;
    OK(rlae_kv_cache_init(&c, &w->cfg, 2, 0, RLAE_DEV_CPU));
    int slots[2] = {0, 1}, p = P, k = K, one = 1;
    /* both slots hold the same prefix */
    OK(rlae_forward(&m, &c, 1, &slots[0], &p, toks, NULL, NULL));
    OK(rlae_forward(&m, &c, 1, &slots[1], &p, toks, NULL, NULL));
    float multi[K * 512], single[K * 512], last_multi[512], after_multi[512], after_single[512];
    OK(rlae_forward_all(&m, &c, 1, &slots[0], &k, toks + P, multi, last_multi, NULL));
    for (int i = 0; i < K; i++)
        OK(rlae_forward(&m, &c, 1, &slots[1], &one, toks + P + i, single + (size_t)i * V, NULL));
    double d = max_abs_diff(multi, single, (size_t)K * V);
    CHECK_MSG(d <= TOL, "(c) 3-token append vs one at a time: logits differ by %g", d);
    CHECK(max_abs_diff(last_multi, single + (size_t)(K - 1) * V, V) <= TOL);
    /* the caches must now be interchangeable: decode the same next token from both in one batch */
    int32_t nx[2] = {toks[P + K], toks[P + K]};
    int ones[2] = {1, 1};
    float both[2 * 512];
    OK(rlae_forward(&m, &c, 2, slots, ones, nx, both, NULL));
    memcpy(after_multi, both, sizeof(float) * V);
    memcpy(after_single, both + V, sizeof(float) * V);
    d = max_abs_diff(after_multi, after_single, V);
    CHECK_MSG(d <= TOL, "(c) next decode after the two appends differs by %g", d);
    /* truncating back to the prefix and appending again reproduces the same logits */
    OK(rlae_kv_cache_truncate(&c, 0, P));
    OK(rlae_forward_all(&m, &c, 1, &slots[0], &k, toks + P, single, NULL, NULL));
    CHECK(max_abs_diff(multi, single, (size_t)K * V) <= TOL);
    rlae_kv_cache_free(&c);
    rlae_model_free(&m);
}

/* ---- (d) transformers references ---------------------------------------------------------------- */

typedef struct {
    int32_t n_prompts, vocab, hidden, n_gen, n_prompt_tokens;
    int32_t *prompt_len, *prompt_tokens, *greedy;
    float *logits, *hidden_states, *greedy_logits;
    unsigned char *buf;
} reference;

static int read_reference(const char *path, reference *r)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    r->buf = malloc((size_t)n);
    size_t got = fread(r->buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n || n < 32 || memcmp(r->buf, "RLAEREF1", 8) != 0)
        return 0;
    int32_t h[6];
    memcpy(h, r->buf + 8, sizeof h); /* version, n_prompts, vocab, hidden, n_gen, n_prompt_tokens */
    r->n_prompts = h[1], r->vocab = h[2], r->hidden = h[3], r->n_gen = h[4], r->n_prompt_tokens = h[5];
    /* arrays follow in the order the header comment of reference.json lists */
    unsigned char *p = r->buf + 32;
    r->prompt_len = (int32_t *)p;
    p += 4 * (size_t)r->n_prompts;
    r->prompt_tokens = (int32_t *)p;
    p += 4 * (size_t)r->n_prompt_tokens;
    r->logits = (float *)p;
    p += 4 * (size_t)r->n_prompt_tokens * r->vocab;
    r->hidden_states = (float *)p;
    p += 4 * (size_t)r->n_prompt_tokens * r->hidden;
    r->greedy = (int32_t *)p;
    p += 4 * (size_t)r->n_prompts * r->n_gen;
    r->greedy_logits = (float *)p;
    p += 4 * (size_t)r->n_prompts * r->n_gen * r->vocab;
    return p - r->buf == n;
}

static void test_hf_reference(const char *name)
{
    char dir[4096], ref_path[4200];
    snprintf(dir, sizeof dir, "%s", test_fixture_path("models/"));
    strncat(dir, name, sizeof dir - strlen(dir) - 1);
    snprintf(ref_path, sizeof ref_path, "%s/reference.bin", dir);
    reference r;
    if (!read_reference(ref_path, &r)) {
        CHECK_MSG(0, "%s: cannot read %s", name, ref_path);
        free(r.buf);
        return;
    }
    rlae_model_weights w;
    rlae_status s = rlae_model_load(dir, "auto", &w);
    CHECK_MSG(s == RLAE_OK, "%s: load: %s", name, rlae_last_error());
    if (s != RLAE_OK) {
        free(r.buf);
        return;
    }
    int B = r.n_prompts, V = r.vocab, D = r.hidden, G = r.n_gen;
    CHECK_EQ_INT(w.cfg.vocab_size, V);
    rlae_model m;
    rlae_kv_cache c;
    int *slots = malloc(sizeof(int) * B), *ones = malloc(sizeof(int) * B);
    float *all = malloc(sizeof(float) * r.n_prompt_tokens * V), *last = malloc(sizeof(float) * B * V);
    float *hid = malloc(sizeof(float) * B * D);
    s = rlae_model_init(&m, &w, B, 8);
    if (s == RLAE_OK)
        s = rlae_kv_cache_init(&c, &w.cfg, B, 0, RLAE_DEV_CPU);
    CHECK_MSG(s == RLAE_OK, "%s: %s", name, rlae_last_error());
    for (int b = 0; b < B; b++)
        slots[b] = b, ones[b] = 1;
    /* all prompts in one batched call, chunk 8 so chunks straddle prompts */
    if (s == RLAE_OK)
        s = rlae_forward_all(&m, &c, B, slots, r.prompt_len, r.prompt_tokens, all, last, hid);
    CHECK_MSG(s == RLAE_OK, "%s: forward: %s", name, rlae_last_error());
    if (s == RLAE_OK) {
        double d = max_abs_diff(all, r.logits, (size_t)r.n_prompt_tokens * V);
        CHECK_MSG(d <= 2e-4, "(d) %s: prompt logits differ from transformers by %g", name, d);
        int off = 0;
        for (int b = 0; b < B; b++) {
            off += r.prompt_len[b];
            d = max_abs_diff(hid + (size_t)b * D, r.hidden_states + (size_t)(off - 1) * D, D);
            CHECK_MSG(d <= 2e-4, "(d) %s: final hidden of prompt %d differs by %g", name, b, d);
        }
        /* greedy continuation, batched decode */
        for (int g = 0; g < G && s == RLAE_OK; g++) {
            int32_t next[16];
            for (int b = 0; b < B; b++) {
                next[b] = rlae_argmax(last + (size_t)b * V, V);
                CHECK_MSG(next[b] == r.greedy[b * G + g], "(d) %s: prompt %d greedy token %d: %d, reference %d",
                          name, b, g, next[b], r.greedy[b * G + g]);
                d = max_abs_diff(last + (size_t)b * V, r.greedy_logits + ((size_t)b * G + g) * V, V);
                CHECK_MSG(d <= 2e-4, "(d) %s: prompt %d greedy step %d logits differ by %g", name, b, g, d);
                next[b] = r.greedy[b * G + g]; /* follow the reference even after a mismatch */
            }
            s = rlae_forward(&m, &c, B, slots, ones, next, last, NULL);
            CHECK_MSG(s == RLAE_OK, "%s: decode: %s", name, rlae_last_error());
        }
        rlae_kv_cache_free(&c);
    }
    rlae_model_free(&m);
    rlae_model_weights_free(&w);
    free(slots), free(ones), free(all), free(last), free(hid), free(r.buf);
}

/* test_shared_path with a buffer large enough that gcc's -Wformat-truncation stays quiet on
 * long literal names. Exits 77 (skip) when the file is missing. */
static const char *shared_file(const char *rel)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s/%s", test_shared_dir(), rel);
    struct stat st;
    if (stat(buf, &st) != 0) {
        printf("SKIP: shared asset %s not found\n", buf);
        exit(77);
    }
    return buf;
}

int main(void)
{
    const char *path = shared_file("models/stories260K/stories260K.bin");
    rlae_model_weights w;
    rlae_status s = rlae_llama2c_load(path, &w);
    CHECK_MSG(s == RLAE_OK, "load: %s", rlae_last_error());
    if (s != RLAE_OK)
        return test_summary("test_forward_consistency");
    test_decode_vs_prefill(&w);
    test_batch_vs_alone(&w);
    test_chunk_append(&w);
    rlae_model_weights_free(&w);
    const char *fixtures[] = {"llama", "llama3", "mistral", "qwen2", "llama_bf16"};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        test_hf_reference(fixtures[i]);
    return test_summary("test_forward_consistency");
}
