/* The whole forward on the GPU against the CPU forward (itself checked against transformers by
 * tests/integration/test_forward_reference.c), on the fixture models of tools/make_reference.py
 * (tests/fixtures/models: llama, llama3, qwen2, mistral, llama_bf16) and on a random-weight model
 * made on each device by rlae_model_weights_random (qkv bias, llama3 rope, GQA 8:2, a 250-token
 * prompt so decode crosses position 256).
 * For each: three prompts (5, 11, 17 tokens) prefilled in one rlae_forward_all call (logits at every
 * position), then 8 batched greedy decode steps in which the GPU is fed the CPU's tokens, so every
 * compared row has the same history. Checked:
 *   - fp32 weights on the GPU (chunk 256, and chunk 6 so chunks straddle prompts): every logit
 *     within TOL_F32 = 1e-4 of the CPU, and the greedy token equal wherever the CPU's top-2 gap
 *     exceeds 1e-3 (smaller gaps are rounding-order ties, counted but not failed);
 *   - bf16 weights (the llama_bf16 fixture, stored in bf16, so the conversion is exact): chunk 8,
 *     where every projection takes the fp32-activation GEMV path, within TOL_F32 and the same
 *     greedy tokens; chunk 256, where prefill rows go through cublasGemmEx with activations rounded
 *     to bf16, logits within TOL_BF16_GEMM = 2e-2 (1 + max |logit|) of the CPU.
 * Skips (77) without CUDA or a GPU. */
#include "test.h"

#include "gpu/gpu_ops_util.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model_load.h"

#define TOL_F32 1e-4
#define TOL_BF16_GEMM 2e-2
#define GAP 1e-3
#define P 3
#define G 8

typedef struct {
    int lens[P], total;
    int32_t *tokens; /* prompts, one after the other */
} prompts;

typedef struct {
    float *all;   /* [total, V] logits after every prompt token */
    float *steps; /* [G, P, V] logits of each decode step (step 0: after the prompt) */
} outputs;

static void make_prompts(prompts *pr, int vocab, int first_len)
{
    int lens[P] = {first_len, 11, 17};
    pr->total = 0;
    for (int b = 0; b < P; b++)
        pr->lens[b] = lens[b], pr->total += lens[b];
    pr->tokens = malloc(sizeof(int32_t) * (size_t)pr->total);
    for (int t = 0, b = 0, o = 0; t < pr->total; t++) {
        pr->tokens[t] = (int32_t)((t * 37 + b * 11 + 1) % vocab);
        if (++o == pr->lens[b])
            b++, o = 0;
    }
}

static int argmax_gap(const float *x, int n, double *gap)
{
    int best = 0, second = -1;
    for (int i = 1; i < n; i++) {
        if (x[i] > x[best]) {
            second = best;
            best = i;
        } else if (second < 0 || x[i] > x[second]) {
            second = i;
        }
    }
    *gap = second < 0 ? INFINITY : (double)x[best] - x[second];
    return best;
}

#define OK(expr)                                                                              \
    do {                                                                                      \
        rlae_status s_ = (expr);                                                              \
        CHECK_MSG(s_ == RLAE_OK, "%s: %s: %s", what, #expr, rlae_last_error());               \
        if (s_ != RLAE_OK)                                                                    \
            goto done;                                                                        \
    } while (0)

/* Prefill + G greedy steps of `w` on its own device. follow == NULL: feed own argmax and record it in
 * greedy[P*G]; else feed follow[b*G + g]. Outputs land in host memory. Returns 1 on success. */
static int run_model(const char *what, const rlae_model_weights *w, int chunk, const prompts *pr, const int32_t *follow,
                     int32_t *greedy, outputs *out)
{
    int V = w->cfg.vocab_size, ok = 0;
    rlae_device dev = w->tok_embeddings.device;
    rlae_model m;
    rlae_kv_cache c;
    memset(&m, 0, sizeof m);
    memset(&c, 0, sizeof c);
    float *cpu_last = NULL;
    rlae_tensor all_d, last_d;
    memset(&all_d, 0, sizeof all_d);
    memset(&last_d, 0, sizeof last_d);
    int slots[P], ones[P];
    int32_t next[P];
    for (int b = 0; b < P; b++)
        slots[b] = P - 1 - b, ones[b] = 1;
    OK(rlae_model_init(&m, w, P, chunk));
    OK(rlae_kv_cache_init(&c, &w->cfg, P, 0, dev));
    float *all = out->all, *last = cpu_last = malloc(sizeof(float) * (size_t)P * V);
    if (dev == RLAE_DEV_CUDA) {
        OK(rlae_ops_tensor_alloc(&all_d, RLAE_F32, dev, 2, (int64_t[]){pr->total, V}));
        OK(rlae_ops_tensor_alloc(&last_d, RLAE_F32, dev, 2, (int64_t[]){P, V}));
        all = all_d.data, last = last_d.data;
    }
    OK(rlae_forward_all(&m, &c, P, slots, pr->lens, pr->tokens, all, last, NULL));
    for (int g = 0; g < G; g++) {
        if (g > 0) {
            OK(rlae_forward(&m, &c, P, slots, ones, next, last, NULL));
        }
        float *host_step = out->steps + (size_t)g * P * V;
        if (dev == RLAE_DEV_CUDA) {
            gpu_download(host_step, &last_d);
            if (g == 0)
                gpu_download(out->all, &all_d);
        } else {
            memcpy(host_step, last, sizeof(float) * (size_t)P * V);
        }
        for (int b = 0; b < P; b++) {
            double gap;
            int tok = argmax_gap(host_step + (size_t)b * V, V, &gap);
            if (follow) {
                next[b] = follow[b * G + g];
            } else {
                greedy[b * G + g] = tok;
                next[b] = tok;
            }
        }
    }
    ok = 1;
done:
    free(cpu_last);
    rlae_ops_tensor_free(&all_d);
    rlae_ops_tensor_free(&last_d);
    rlae_kv_cache_free(&c);
    rlae_model_free(&m);
    return ok;
}

static outputs outputs_alloc(const prompts *pr, int V)
{
    outputs o = {malloc(sizeof(float) * (size_t)pr->total * V), malloc(sizeof(float) * (size_t)G * P * V)};
    return o;
}

static double max_abs(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

/* Runs `gpu_w` (on the GPU) with the CPU's tokens and compares with the CPU outputs. */
static void compare_run(const char *name, const char *variant, const rlae_model_weights *gpu_w, int chunk,
                        const prompts *pr, const int32_t *cpu_greedy, const outputs *cpu, double tol, int check_tokens)
{
    int V = gpu_w->cfg.vocab_size;
    char what[160];
    snprintf(what, sizeof what, "%s (%s, chunk %d)", name, variant, chunk);
    outputs o = outputs_alloc(pr, V);
    int32_t gpu_greedy[P * G];
    if (run_model(what, gpu_w, chunk, pr, cpu_greedy, gpu_greedy, &o)) {
        size_t w = 0;
        double e = gpu_test_err(o.all, cpu->all, (size_t)pr->total * V, tol, 0.0, &w);
        CHECK_MSG(e <= 1.0, "%s: prompt logits differ by %.3g at row %zu (gpu %.7g cpu %.7g, tol %.3g)", what,
                  e * tol, w / (size_t)V, (double)o.all[w], (double)cpu->all[w], tol);
        e = gpu_test_err(o.steps, cpu->steps, (size_t)G * P * V, tol, 0.0, &w);
        CHECK_MSG(e <= 1.0, "%s: decode logits differ by %.3g at step %zu (gpu %.7g cpu %.7g, tol %.3g)", what,
                  e * tol, w / ((size_t)P * V), (double)o.steps[w], (double)cpu->steps[w], tol);
        int ties = 0, miss = 0;
        for (int g = 0; g < G && check_tokens; g++)
            for (int b = 0; b < P; b++) {
                double gap, gg;
                int c_tok = argmax_gap(cpu->steps + ((size_t)g * P + b) * V, V, &gap);
                int g_tok = argmax_gap(o.steps + ((size_t)g * P + b) * V, V, &gg);
                if (g_tok != c_tok) {
                    if (gap > GAP)
                        miss++;
                    else
                        ties++;
                }
            }
        CHECK_MSG(miss == 0, "%s: %d greedy tokens differ from the CPU's", what, miss);
        printf("%s: prompt+decode logits within %.3g; greedy %s (%d near-ties differ)\n", what, tol,
               miss ? "DIFFERS" : "same", ties);
    }
    free(o.all), free(o.steps);
}

static void fixture(const char *name)
{
    char path[4096], what[128];
    snprintf(path, sizeof path, "%s/tests/fixtures/models/%s", test_source_dir(), name);
    snprintf(what, sizeof what, "%s", name);
    rlae_model_weights wc, wg, wb;
    memset(&wc, 0, sizeof wc), memset(&wg, 0, sizeof wg), memset(&wb, 0, sizeof wb);
    prompts pr = {{0}, 0, NULL};
    outputs cpu = {NULL, NULL};
    int bf16 = strstr(name, "bf16") != NULL;
    OK(rlae_model_load(path, "auto", &wc));
    OK(rlae_model_load(path, "auto", &wg));
    OK(rlae_model_weights_to_device(&wg, RLAE_DEV_CUDA, RLAE_F32));
    CHECK(wg.tok_embeddings.device == RLAE_DEV_CUDA && wg.layers[0].wq.device == RLAE_DEV_CUDA);
    if (bf16) {
        OK(rlae_model_load(path, "auto", &wb));
        OK(rlae_model_weights_to_device(&wb, RLAE_DEV_CUDA, RLAE_BF16));
        CHECK(wb.layers[0].wq.dtype == RLAE_BF16 && wb.layers[0].attn_norm.dtype == RLAE_F32);
    }
    make_prompts(&pr, wc.cfg.vocab_size, 5);
    cpu = outputs_alloc(&pr, wc.cfg.vocab_size);
    int32_t greedy[P * G];
    if (!run_model(what, &wc, 256, &pr, NULL, greedy, &cpu))
        goto done;
    compare_run(name, "f32", &wg, 256, &pr, greedy, &cpu, TOL_F32, 1);
    compare_run(name, "f32", &wg, 6, &pr, greedy, &cpu, TOL_F32, 1);
    if (bf16) {
        compare_run(name, "bf16 gemv", &wb, 8, &pr, greedy, &cpu, TOL_F32, 1);
        double scale = 1.0 + max_abs(cpu.all, (size_t)pr.total * wc.cfg.vocab_size);
        compare_run(name, "bf16 gemm", &wb, 256, &pr, greedy, &cpu, TOL_BF16_GEMM * scale, 0);
    }
done:
    free(pr.tokens), free(cpu.all), free(cpu.steps);
    rlae_model_weights_free(&wc), rlae_model_weights_free(&wg), rlae_model_weights_free(&wb);
}

static void random_model(void)
{
    const char *what = "random model";
    rlae_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "qwen2");
    cfg.dim = 64, cfg.hidden_dim = 160, cfg.n_layers = 2, cfg.n_heads = 8, cfg.n_kv_heads = 2, cfg.head_dim = 8;
    cfg.vocab_size = 301, cfg.max_seq_len = 600, cfg.norm_eps = 1e-6f, cfg.rope_theta = 500000.0f;
    cfg.rope_scaling = RLAE_ROPE_LLAMA3, cfg.rope_factor = 8, cfg.rope_low_freq_factor = 1;
    cfg.rope_high_freq_factor = 4, cfg.rope_original_max_pos = 64, cfg.qkv_bias = 1, cfg.tied_embeddings = 1;
    rlae_model_weights wc, wg;
    memset(&wc, 0, sizeof wc), memset(&wg, 0, sizeof wg);
    prompts pr = {{0}, 0, NULL};
    outputs cpu = {NULL, NULL};
    OK(rlae_model_weights_random(&wc, &cfg, RLAE_DEV_CPU, RLAE_F32, 7));
    OK(rlae_model_weights_random(&wg, &cfg, RLAE_DEV_CUDA, RLAE_F32, 7));
    make_prompts(&pr, cfg.vocab_size, 250);
    cpu = outputs_alloc(&pr, cfg.vocab_size);
    int32_t greedy[P * G];
    if (!run_model(what, &wc, 256, &pr, NULL, greedy, &cpu))
        goto done;
    compare_run(what, "f32", &wg, 256, &pr, greedy, &cpu, TOL_F32, 1);
    compare_run(what, "f32", &wg, 64, &pr, greedy, &cpu, TOL_F32, 1);
done:
    free(pr.tokens), free(cpu.all), free(cpu.steps);
    rlae_model_weights_free(&wc), rlae_model_weights_free(&wg);
}

/* Decode steps replayed from CUDA graphs (forward.c decode_step) give bit-identical logits to the
 * same steps run op by op (use_graphs = 0), on a bf16 model with a bf16 KV cache, with the batch
 * changing between 3 sequences and 1 (two graph keys, each run eagerly once, captured, replayed),
 * and the replays are counted. */
static void graphs_vs_eager(void)
{
    const char *what = "graphs vs op by op";
    enum { STEPS = 12 };
    rlae_model_config cfg;
    rlae_model_weights w;
    rlae_model m[2];
    rlae_kv_cache c[2];
    rlae_tensor lg[2];
    float *host[2] = {NULL, NULL};
    memset(&w, 0, sizeof w), memset(m, 0, sizeof m), memset(c, 0, sizeof c), memset(lg, 0, sizeof lg);
    OK(rlae_model_config_preset("llama3-8b", &cfg));
    cfg.dim = 256, cfg.hidden_dim = 704, cfg.n_layers = 3, cfg.n_heads = 8, cfg.n_kv_heads = 2;
    cfg.head_dim = 32, cfg.vocab_size = 1000, cfg.max_seq_len = 256;
    OK(rlae_model_weights_random(&w, &cfg, RLAE_DEV_CUDA, RLAE_BF16, 11));
    for (int run = 0; run < 2; run++) {
        host[run] = calloc((size_t)STEPS * P * cfg.vocab_size, sizeof(float));
        OK(rlae_model_init(&m[run], &w, P, 0));
        m[run].use_graphs = run == 1;
        OK(rlae_kv_cache_init_dtype(&c[run], &cfg, P, 0, RLAE_DEV_CUDA, RLAE_BF16));
        OK(rlae_ops_tensor_alloc(&lg[run], RLAE_F32, RLAE_DEV_CUDA, 2, (int64_t[]){P, cfg.vocab_size}));
        int slots[P] = {0, 1, 2}, ones[P] = {1, 1, 1}, lens[P] = {5, 9, 2};
        int32_t prompt[16], next[P];
        for (int i = 0; i < 16; i++)
            prompt[i] = (i * 37 + 11) % cfg.vocab_size;
        OK(rlae_forward(&m[run], &c[run], P, slots, lens, prompt, lg[run].data, NULL));
        for (int g = 0; g < STEPS; g++) {
            int n = (g / 3) % 2 ? 1 : P; /* 3 steps of 3 sequences, 3 of 1, ... */
            for (int b = 0; b < n; b++)
                next[b] = (int32_t)((g * 101 + b * 7 + 3) % cfg.vocab_size);
            OK(rlae_forward(&m[run], &c[run], n, slots, ones, next, lg[run].data, NULL));
            rlae_tensor rows =
                rlae_tensor_view(lg[run].data, RLAE_F32, RLAE_DEV_CUDA, 2, (int64_t[]){n, cfg.vocab_size});
            gpu_download(host[run] + (size_t)g * P * cfg.vocab_size, &rows);
        }
    }
    size_t n = (size_t)STEPS * P * cfg.vocab_size, diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += memcmp(&host[0][i], &host[1][i], sizeof(float)) != 0;
    CHECK_MSG(diff == 0, "%s: %zu of %zu logits differ", what, diff, n);
    CHECK_MSG(m[0].graph_replays == 0, "op by op: %ld graph replays", m[0].graph_replays);
    /* each key (3 sequences, 1 sequence) has 6 steps: the first eager, then 5 launched from its graph */
    CHECK_MSG(m[1].graph_replays == 10, "graphs: %ld replays of 12 decode steps (expected 10)", m[1].graph_replays);
done:
    for (int run = 0; run < 2; run++) {
        free(host[run]);
        rlae_ops_tensor_free(&lg[run]);
        rlae_kv_cache_free(&c[run]);
        rlae_model_free(&m[run]);
    }
    rlae_model_weights_free(&w);
}

int main(void)
{
    gpu_test_require_gpu();
    const char *names[] = {"llama", "llama3", "qwen2", "mistral", "llama_bf16"};
    for (int i = 0; i < 5; i++)
        fixture(names[i]);
    random_model();
    graphs_vs_eager();
    return test_summary("test_gpu_forward");
}
