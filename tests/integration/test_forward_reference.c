/* The Llama-family forward against Hugging Face transformers, on the tiny random-weight models of
 * tests/fixtures/models (made, with their reference outputs, by tools/make_reference.py:
 * transformers 4.46.3, torch 1.13, fp32, eager attention; reference.json says how exactly):
 *   llama       Llama 2 style, GQA 4:2, untied head, intermediate 172, vocab 200
 *   llama3      Llama 3.1 rope scaling (all three frequency bands in use), theta 5e5, GQA 4:2
 *   qwen2       q/k/v biases, tied embeddings, GQA 6:2, head_dim 8
 *   mistral     multi-query 4:1, 3 layers, untied
 *   llama_bf16  the llama model stored in bfloat16 (reference from the upcast bf16 weights)
 * For each, loaded with rlae_model_load, three prompts (5, 11, 17 tokens) are run
 *   (a) prefill: all three in one rlae_forward_all call (chunk 256, and chunk 6 so chunks straddle
 *       prompts), then 8 batched greedy decode steps;
 *   (b) decode: token by token, the three sequences in one batch at their own positions, through
 *       the prompt and on along the greedy continuation;
 *   (c) append: ragged multi-token appends (2, 3 and 4 tokens per call) at non-zero positions;
 * and compared with the reference: logits at every prompt position, the final hidden state (after
 * the final RMSNorm) at every position, logits of every greedy step, all within TOL max abs, and
 * the greedy tokens exactly (the fixture guarantees a top-1/top-2 gap of at least 2e-3). */
#include "test.h"

#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model_load.h"

#include <stdint.h>

/* Max abs error allowed against transformers, for every fixture. The bf16 twin needs no looser
 * bound: its reference was computed from the same bf16-rounded weights upcast to fp32. */
#define TOL 1e-4

enum { MAX_PROMPTS = 8 };

typedef struct {
    int32_t n_prompts, vocab, dim, n_gen, n_tok;
    const int32_t *prompt_len, *prompt_tokens, *greedy;
    const float *logits, *hidden, *greedy_logits;
    int off[MAX_PROMPTS]; /* row of each prompt's first token in logits / hidden */
    unsigned char *buf;
} reference;

/* Reads reference.bin (format: tools/make_reference.py's docstring). Returns 0 with a failed CHECK
 * saying why on any inconsistency, so a stale or truncated fixture is reported, not misread. */
static int reference_read(const char *path, reference *r)
{
    memset(r, 0, sizeof *r);
    const uint32_t one = 1;
    if (*(const unsigned char *)&one != 1) {
        printf("SKIP: reference.bin is little-endian; this host is not\n");
        exit(77);
    }
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "cannot open %s (rerun tools/make_reference.py)", path);
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    r->buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = n > 0 ? fread(r->buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (n < 32 || got != (size_t)n || memcmp(r->buf, "RLAEREF1", 8) != 0) {
        CHECK_MSG(0, "%s: not a RLAEREF1 file of its full length", path);
        return 0;
    }
    int32_t h[6];
    memcpy(h, r->buf + 8, sizeof h);
    r->n_prompts = h[1], r->vocab = h[2], r->dim = h[3], r->n_gen = h[4], r->n_tok = h[5];
    if (h[0] != 1 || r->n_prompts < 1 || r->n_prompts > MAX_PROMPTS || r->vocab < 2 || r->dim < 1 ||
        r->n_gen < 1 || r->n_tok < r->n_prompts) {
        CHECK_MSG(0, "%s: bad header (version %d, %d prompts, vocab %d, dim %d, n_gen %d, %d tokens)", path,
                  h[0], h[1], h[2], h[3], h[4], h[5]);
        return 0;
    }
    size_t P = (size_t)r->n_prompts, T = (size_t)r->n_tok, V = (size_t)r->vocab, G = (size_t)r->n_gen;
    size_t want = 32 + 4 * (P + T + T * V + T * (size_t)r->dim + P * G + P * G * V);
    if ((size_t)n != want) {
        CHECK_MSG(0, "%s: %ld bytes, header implies %zu", path, n, want);
        return 0;
    }
    unsigned char *p = r->buf + 32;
    r->prompt_len = (const int32_t *)p, p += 4 * P;
    r->prompt_tokens = (const int32_t *)p, p += 4 * T;
    r->logits = (const float *)p, p += 4 * T * V;
    r->hidden = (const float *)p, p += 4 * T * (size_t)r->dim;
    r->greedy = (const int32_t *)p, p += 4 * P * G;
    r->greedy_logits = (const float *)p;
    int off = 0;
    for (int b = 0; b < r->n_prompts; b++) {
        r->off[b] = off;
        off += r->prompt_len[b];
        if (r->prompt_len[b] < 1) {
            CHECK_MSG(0, "%s: prompt %d is empty", path, b);
            return 0;
        }
    }
    CHECK_MSG(off == r->n_tok, "%s: prompt lengths sum to %d, header says %d", path, off, r->n_tok);
    return off == r->n_tok;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Token t (0-based) of prompt b followed by its greedy continuation. */
static int32_t seq_token(const reference *r, int b, int t)
{
    int L = r->prompt_len[b];
    return t < L ? r->prompt_tokens[r->off[b] + t] : r->greedy[b * r->n_gen + (t - L)];
}

/* The reference logits after token t of that sequence (t <= L + n_gen - 2): a prompt row, or the
 * logits of greedy step t - L + 1 (step 0 is the last prompt row again). */
static const float *ref_logits_after(const reference *r, int b, int t)
{
    int L = r->prompt_len[b];
    if (t < L)
        return r->logits + (size_t)(r->off[b] + t) * r->vocab;
    return r->greedy_logits + ((size_t)b * r->n_gen + (size_t)(t - L + 1)) * r->vocab;
}

typedef struct {
    double logits, hidden;
    int greedy_mismatches;
} errors;

static void note(double *worst, double d)
{
    if (!(d <= *worst))
        *worst = d;
}

#define OK(name, expr)                                                                              \
    do {                                                                                            \
        rlae_status s_ = (expr);                                                                    \
        CHECK_MSG(s_ == RLAE_OK, "%s: %s: %s", name, #expr, rlae_last_error());                     \
        if (s_ != RLAE_OK)                                                                          \
            goto done;                                                                              \
    } while (0)

/* (a) the prompts in one call, then batched greedy decode. Prompt b goes to slot P-1-b, so slot
 * ids and the order of sequences in the call differ. */
static void run_prefill(const char *name, const rlae_model_weights *w, const reference *r, int chunk,
                        errors *e)
{
    int P = r->n_prompts, V = r->vocab, D = r->dim, G = r->n_gen;
    rlae_model m;
    rlae_kv_cache c;
    memset(&m, 0, sizeof m);
    memset(&c, 0, sizeof c);
    float *all = malloc(sizeof(float) * (size_t)r->n_tok * V);
    float *last = malloc(sizeof(float) * (size_t)P * V), *hid = malloc(sizeof(float) * (size_t)P * D);
    int slots[MAX_PROMPTS], lens[MAX_PROMPTS], ones[MAX_PROMPTS];
    int32_t next[MAX_PROMPTS];
    for (int b = 0; b < P; b++)
        slots[b] = P - 1 - b, lens[b] = r->prompt_len[b], ones[b] = 1;
    OK(name, rlae_model_init(&m, w, P, chunk));
    OK(name, rlae_kv_cache_init(&c, &w->cfg, P, 0, RLAE_DEV_CPU));
    OK(name, rlae_forward_all(&m, &c, P, slots, lens, r->prompt_tokens, all, last, hid));
    for (int b = 0; b < P; b++) {
        int L = r->prompt_len[b];
        CHECK_EQ_INT(rlae_kv_cache_len(&c, slots[b]), L);
        double d = max_abs_diff(all + (size_t)r->off[b] * V, r->logits + (size_t)r->off[b] * V, (size_t)L * V);
        CHECK_MSG(d <= TOL, "%s (a, chunk %d): prompt %d logits (all positions) differ by %.3g", name, chunk, b, d);
        note(&e->logits, d);
        d = max_abs_diff(last + (size_t)b * V, r->logits + (size_t)(r->off[b] + L - 1) * V, V);
        CHECK_MSG(d <= TOL, "%s (a, chunk %d): prompt %d last logits differ by %.3g", name, chunk, b, d);
        note(&e->logits, d);
        d = max_abs_diff(hid + (size_t)b * D, r->hidden + (size_t)(r->off[b] + L - 1) * D, D);
        CHECK_MSG(d <= TOL, "%s (a, chunk %d): prompt %d final hidden differs by %.3g", name, chunk, b, d);
        note(&e->hidden, d);
    }
    for (int g = 0; g < G; g++) {
        if (g > 0)
            OK(name, rlae_forward(&m, &c, P, slots, ones, next, last, NULL));
        for (int b = 0; b < P; b++) {
            const float *want = r->greedy_logits + ((size_t)b * G + g) * V;
            double d = max_abs_diff(last + (size_t)b * V, want, V);
            CHECK_MSG(d <= TOL, "%s (a, chunk %d): prompt %d greedy step %d logits differ by %.3g", name, chunk, b,
                      g, d);
            note(&e->logits, d);
            int tok = argmax(last + (size_t)b * V, V), ref = r->greedy[b * G + g];
            CHECK_MSG(tok == ref, "%s (a, chunk %d): prompt %d greedy token %d is %d, transformers %d", name,
                      chunk, b, g, tok, ref);
            e->greedy_mismatches += tok != ref;
            next[b] = ref; /* follow the reference, so one miss does not hide the rest */
        }
    }
done:
    rlae_kv_cache_free(&c);
    rlae_model_free(&m);
    free(all), free(last), free(hid);
}

/* (b) step-by-step: every call appends one token to each sequence that still has one, so the batch
 * holds sequences at different positions and shrinks as the shorter ones end. (c) the same with
 * `step + b` tokens per sequence per call (step 0: one token each). */
static void run_incremental(const char *name, const rlae_model_weights *w, const reference *r, int step,
                            errors *e)
{
    int P = r->n_prompts, V = r->vocab, D = r->dim, G = r->n_gen;
    const char *mode = step ? "c" : "b";
    rlae_model m;
    rlae_kv_cache c;
    memset(&m, 0, sizeof m);
    memset(&c, 0, sizeof c);
    int total = 0, maxlen = 0;
    for (int b = 0; b < P; b++) {
        int n = r->prompt_len[b] + G - 1; /* the last greedy token is never fed */
        total += n;
        if (n > maxlen)
            maxlen = n;
    }
    float *all = malloc(sizeof(float) * (size_t)total * V);
    float *last = malloc(sizeof(float) * (size_t)P * V), *hid = malloc(sizeof(float) * (size_t)P * D);
    int32_t *toks = malloc(sizeof(int32_t) * (size_t)total);
    int done_[MAX_PROMPTS] = {0};
    OK(name, rlae_model_init(&m, w, P, step ? 5 : 0));
    OK(name, rlae_kv_cache_init(&c, &w->cfg, P, maxlen + 1, RLAE_DEV_CPU));
    for (;;) {
        int ids[MAX_PROMPTS], nnew[MAX_PROMPTS], which[MAX_PROMPTS], n = 0, nt = 0;
        for (int b = 0; b < P; b++) {
            int len = r->prompt_len[b] + G - 1, k = step ? step + b : 1;
            if (done_[b] >= len)
                continue;
            if (k > len - done_[b])
                k = len - done_[b];
            ids[n] = b, nnew[n] = k, which[n] = b;
            for (int i = 0; i < k; i++)
                toks[nt++] = seq_token(r, b, done_[b] + i);
            n++;
        }
        if (n == 0)
            break;
        OK(name, rlae_forward_all(&m, &c, n, ids, nnew, toks, all, last, hid));
        int row = 0;
        for (int i = 0; i < n; i++) {
            int b = which[i], L = r->prompt_len[b];
            for (int j = 0; j < nnew[i]; j++, row++) {
                int t = done_[b] + j; /* the token just fed */
                const float *got = all + (size_t)row * V;
                double d = max_abs_diff(got, ref_logits_after(r, b, t), V);
                CHECK_MSG(d <= TOL, "%s (%s): prompt %d logits after token %d differ by %.3g", name, mode, b, t, d);
                note(&e->logits, d);
                if (t >= L - 1) {
                    int g = t - L + 1, tok = argmax(got, V), ref = r->greedy[b * G + g];
                    CHECK_MSG(tok == ref, "%s (%s): prompt %d greedy token %d is %d, transformers %d", name, mode,
                              b, g, tok, ref);
                    e->greedy_mismatches += tok != ref;
                }
            }
            int t_last = done_[b] + nnew[i] - 1;
            double d = max_abs_diff(last + (size_t)i * V, all + (size_t)(row - 1) * V, V);
            /* same quantity, possibly another matmul shape (gemv vs gemm): rounding-level only */
            CHECK_MSG(d <= 1e-5, "%s (%s): prompt %d logits_out != last row of logits_all (%.3g)", name, mode, b, d);
            if (t_last < L) { /* the reference has hidden states for prompt positions */
                d = max_abs_diff(hid + (size_t)i * D, r->hidden + (size_t)(r->off[b] + t_last) * D, D);
                CHECK_MSG(d <= TOL, "%s (%s): prompt %d final hidden at position %d differs by %.3g", name, mode, b,
                          t_last, d);
                note(&e->hidden, d);
            }
            done_[b] += nnew[i];
            CHECK_EQ_INT(rlae_kv_cache_len(&c, b), done_[b]);
        }
    }
done:
    rlae_kv_cache_free(&c);
    rlae_model_free(&m);
    free(all), free(last), free(hid), free(toks);
}

static void test_model(const char *name, const char *arch, int tied, int qkv_bias, rlae_rope_scaling scaling)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", test_fixture_path("models"));
    size_t l = strlen(dir);
    snprintf(dir + l, sizeof dir - l, "/%s", name);
    snprintf(path, sizeof path, "%s/reference.bin", dir);
    reference r;
    rlae_model_weights w;
    memset(&w, 0, sizeof w);
    if (!reference_read(path, &r))
        goto out;
    rlae_status s = rlae_model_load(dir, "auto", &w);
    CHECK_MSG(s == RLAE_OK, "%s: load: %s", name, rlae_last_error());
    if (s != RLAE_OK)
        goto out;
    /* the loader read what make_reference.py meant to exercise */
    CHECK_EQ_STR(w.cfg.arch, arch);
    CHECK_EQ_INT(w.cfg.tied_embeddings, tied);
    CHECK_EQ_INT(w.cfg.qkv_bias, qkv_bias);
    CHECK_EQ_INT(w.cfg.rope_scaling, scaling);
    CHECK_EQ_INT(w.cfg.vocab_size, r.vocab);
    CHECK_EQ_INT(w.cfg.dim, r.dim);
    if (w.cfg.vocab_size != r.vocab || w.cfg.dim != r.dim)
        goto out;
    errors ea = {0, 0, 0}, eb = {0, 0, 0}, ec = {0, 0, 0};
    run_prefill(name, &w, &r, RLAE_FORWARD_DEFAULT_CHUNK, &ea);
    run_prefill(name, &w, &r, 6, &ea);
    run_incremental(name, &w, &r, 0, &eb);
    run_incremental(name, &w, &r, 2, &ec);
    printf("%-10s max abs error vs transformers: (a) prefill logits %.2e hidden %.2e | (b) decode logits "
           "%.2e hidden %.2e | (c) append logits %.2e hidden %.2e | greedy mismatches %d (tol %g)\n",
           name, ea.logits, ea.hidden, eb.logits, eb.hidden, ec.logits, ec.hidden,
           ea.greedy_mismatches + eb.greedy_mismatches + ec.greedy_mismatches, TOL);
out:
    rlae_model_weights_free(&w);
    free(r.buf);
}

int main(void)
{
    test_model("llama", "llama", 0, 0, RLAE_ROPE_NONE);
    test_model("llama3", "llama", 0, 0, RLAE_ROPE_LLAMA3);
    test_model("qwen2", "qwen2", 1, 1, RLAE_ROPE_NONE);
    test_model("mistral", "mistral", 0, 0, RLAE_ROPE_NONE);
    test_model("llama_bf16", "llama", 0, 0, RLAE_ROPE_NONE);
    return test_summary("test_forward_reference");
}
