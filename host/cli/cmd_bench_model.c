/* `rlae bench model`: prefill and decode throughput of one model, with random weights of a named
 * architecture (model/random_weights.h; rlae_model_weights_random makes them in memory directly on
 * the target device, never on disk) or a checkpoint (moved to the device with
 * rlae_model_weights_to_device). Reports ms per decode step (median over the timed steps, one warm-up step
 * excluded), tokens/s, the bytes a decode step reads (weights + the KV cache at the current
 * lengths), the achieved GB/s and its share of the device's measured bandwidth, and memory.
 * Also the option parsing and the decode loop that `rlae bench ensemble` reuses (bench.h). */
#include "cli.h"
#include "bench.h"

#include "core/device.h"
#include "core/rng.h"
#include "model/model_load.h"
#include "model/random_weights.h"
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_DEFAULT_CTX 128
#define BENCH_DEFAULT_TOKENS 64

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int parse_dtype(const char *v, rlae_dtype *out)
{
    if (strcmp(v, "fp32") == 0 || strcmp(v, "f32") == 0)
        *out = RLAE_F32;
    else if (strcmp(v, "bf16") == 0)
        *out = RLAE_BF16;
    else
        return cli_usage_error("bench", "--dtype must be fp32 (f32) or bf16 (got '%s')", v);
    return 0;
}

int bench_parse_opts(int argc, char **argv, int ensemble, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->ctx = BENCH_DEFAULT_CTX;
    o->tokens = BENCH_DEFAULT_TOKENS;
    o->seed = 1;
    const char *devname = "auto", *dtname = NULL;
    int seed = 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        int *slot = strcmp(a, "--batch") == 0    ? &o->batch
                    : strcmp(a, "--ctx") == 0    ? &o->ctx
                    : strcmp(a, "--tokens") == 0 ? &o->tokens
                    : strcmp(a, "--layers") == 0 ? &o->layers
                    : strcmp(a, "--vocab") == 0  ? &o->vocab
                    : strcmp(a, "--seed") == 0   ? &seed
                    : ensemble && strcmp(a, "--members") == 0 ? &o->members
                                                               : NULL;
        const char **sval = strcmp(a, "--arch") == 0     ? &o->arch
                            : strcmp(a, "--device") == 0 ? &devname
                            : strcmp(a, "--dtype") == 0  ? &dtname
                            : !ensemble && strcmp(a, "--model") == 0    ? &o->model_path
                            : ensemble && strcmp(a, "--tokenizer") == 0 ? &o->tokenizer
                                                                        : NULL;
        if (!slot && !sval)
            return cli_usage_error("bench", "unknown argument '%s' for bench %s", a, ensemble ? "ensemble" : "model");
        if (i + 1 >= argc)
            return cli_usage_error("bench", "%s needs a value", a);
        const char *val = argv[++i];
        if (sval) {
            *sval = val;
            continue;
        }
        int lo = slot == &seed ? 0 : 1;
        int hi = slot == &o->batch ? 4096 : slot == &o->members ? 8 : slot == &o->layers ? 1024 : 1 << 24;
        if (slot == &o->vocab)
            lo = 8;
        if (bench_parse_int(a, val, lo, hi, slot))
            return 2;
    }
    o->seed = (uint64_t)seed;
    if (!o->arch == !o->model_path)
        return cli_usage_error("bench", ensemble ? "give --arch NAME (%s)"
                                                 : "give one of --arch NAME (%s) or --model PATH",
                               RLAE_RANDOM_ARCH_NAMES);
    if (o->model_path && (o->layers || o->vocab))
        return cli_usage_error("bench", "--layers and --vocab change a random --arch model, not a --model checkpoint");
    if (ensemble && o->members == 0)
        return cli_usage_error("bench", "give --members K (1..8)");
    if (o->arch) {
        rlae_model_config c;
        if (rlae_random_arch_config(o->arch, &c) != RLAE_OK)
            return cli_usage_error("bench", "unknown --arch '%s' (known: %s)", o->arch, RLAE_RANDOM_ARCH_NAMES);
        if (o->ctx + o->tokens + 2 > c.max_seq_len)
            return cli_usage_error("bench", "--ctx %d + --tokens %d (+ 2 warm-up/margin) exceed %s's context of %d "
                                   "positions", o->ctx, o->tokens, o->arch, c.max_seq_len);
    }
    rlae_device_request req;
    rlae_status s = rlae_device_request_parse(devname, &req);
    if (s == RLAE_OK)
        s = rlae_device_resolve(req, &o->dev);
    if (s != RLAE_OK)
        return cli_report("bench", s); /* exit 2: unknown name, or cuda where there is none */
    o->dtype = o->dev == RLAE_DEV_CUDA ? RLAE_BF16 : RLAE_F32;
    if (dtname && parse_dtype(dtname, &o->dtype))
        return 2;
    return 0;
}

rlae_status bench_alloc_f32(rlae_tensor *t, rlae_device dev, int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    return rlae_ops_tensor_alloc(t, RLAE_F32, dev, 2, shape);
}

rlae_status bench_make_weights(const bench_opts *o, uint64_t seed, rlae_model_weights *w)
{
    memset(w, 0, sizeof *w);
    rlae_status s;
    if (o->model_path) {
        RLAE_TRY(rlae_model_load(o->model_path, "auto", w));
        if ((s = rlae_model_weights_to_device(w, o->dev, o->dtype)) != RLAE_OK) {
            rlae_model_weights_free(w);
            return rlae_wrap(s, "--device %s --dtype %s: ", rlae_device_name(o->dev), rlae_dtype_name(o->dtype));
        }
        return RLAE_OK;
    }
    rlae_model_config c;
    RLAE_TRY(rlae_random_arch_config(o->arch, &c));
    if (o->layers)
        c.n_layers = o->layers;
    if (o->vocab) {
        c.vocab_size = o->vocab;
        c.bos_id = c.bos_id < o->vocab ? c.bos_id : -1;
        c.eos_id = c.eos_id < o->vocab ? c.eos_id : -1;
    }
    if ((s = rlae_model_weights_random(w, &c, o->dev, o->dtype, seed)) != RLAE_OK)
        return rlae_wrap(s, "--device %s --dtype %s: ", rlae_device_name(o->dev), rlae_dtype_name(o->dtype));
    return RLAE_OK;
}

void bench_describe_model(const bench_opts *o, const rlae_model_weights *w, char *buf, size_t n)
{
    const rlae_model_config *c = &w->cfg;
    rlae_model_config full;
    int have_full = o->arch && rlae_random_arch_config(o->arch, &full) == RLAE_OK;
    char layers[64], vocab[64];
    if (have_full && o->layers && o->layers != full.n_layers)
        snprintf(layers, sizeof layers, "%d layers (--layers; the real model has %d)", c->n_layers, full.n_layers);
    else
        snprintf(layers, sizeof layers, "%d layers", c->n_layers);
    if (have_full && o->vocab && o->vocab != full.vocab_size)
        snprintf(vocab, sizeof vocab, "vocab %d (--vocab; the real model has %d)", c->vocab_size, full.vocab_size);
    else
        snprintf(vocab, sizeof vocab, "vocab %d", c->vocab_size);
    snprintf(buf, n, "%s: dim %d, %s, %d heads / %d kv heads x %d, MLP %d, %s, rope theta %g%s, %s head, %s weights",
             o->arch ? o->arch : o->model_path, c->dim, layers, c->n_heads, c->n_kv_heads, c->head_dim, c->hidden_dim,
             vocab, (double)c->rope_theta, c->qkv_bias ? ", qkv bias" : "", c->tied_embeddings ? "tied" : "untied",
             rlae_dtype_name(w->tok_embeddings.dtype));
}

void bench_decode_result_free(bench_decode_result *r)
{
    free(r->step_s);
    memset(r, 0, sizeof *r);
}

/* Bytes one decode step reads from the KV cache: keys and values of positions 0..len of every
 * sequence (the new one included), every layer, in the cache's dtype (that of --dtype: bf16 by
 * default on CUDA, so 2 bytes a value there). */
static double kv_step_bytes(const rlae_kv_cache *c, int B)
{
    double rows = 0;
    for (int b = 0; b < B; b++)
        rows += c->len[b] + 1;
    return rows * c->kv_dim * 2.0 * c->n_layers * rlae_dtype_size(c->k.dtype);
}

rlae_status bench_decode(rlae_model *m, rlae_kv_cache *cache, int B, int C, int N, uint64_t seed, float *logits,
                         float *hidden, bench_decode_result *r)
{
    memset(r, 0, sizeof *r);
    int V = m->w->cfg.vocab_size;
    int32_t *tok = rlae_malloc((size_t)B * C * sizeof *tok);
    int *ids = rlae_malloc((size_t)B * sizeof *ids), *n_new = rlae_malloc((size_t)B * sizeof *n_new);
    r->step_s = rlae_calloc((size_t)(N > 0 ? N : 1), sizeof *r->step_s);
    rlae_status s = tok && ids && n_new && r->step_s ? RLAE_OK : RLAE_ERR_NOMEM;
    rlae_rng g;
    rlae_rng_init(&g, seed, 0x62656e63u /* "benc" */, 0, 0);
    for (size_t i = 0; s == RLAE_OK && i < (size_t)B * C; i++)
        tok[i] = (int32_t)rlae_rng_below(&g, (uint32_t)V);
    for (int b = 0; s == RLAE_OK && b < B; b++) {
        ids[b] = b;
        n_new[b] = 1;
    }
    /* warm-up: first touch of the scratch and of the code paths, then forgotten */
    rlae_kv_cache_reset_all(cache);
    if (s == RLAE_OK)
        s = rlae_forward(m, cache, B, ids, n_new, tok, logits, hidden);
    if (s == RLAE_OK)
        s = bench_sync(m->device);
    rlae_kv_cache_reset_all(cache);
    for (int b = 0; b < B; b++)
        n_new[b] = C;
    double t0 = bench_now_s();
    if (s == RLAE_OK)
        s = rlae_forward(m, cache, B, ids, n_new, tok, logits, hidden);
    if (s == RLAE_OK)
        s = bench_sync(m->device);
    r->prefill_s = bench_now_s() - t0;
    for (int b = 0; b < B; b++)
        n_new[b] = 1;
    for (int step = -1; step < N && s == RLAE_OK; step++) { /* step -1: the warm-up step */
        for (int b = 0; b < B; b++)
            tok[b] = (int32_t)rlae_rng_below(&g, (uint32_t)V);
        if (step == 0)
            r->len_first = cache->len[0];
        double wb = rlae_model_weights_step_bytes(m->w, B), kb = kv_step_bytes(cache, B);
        t0 = bench_now_s();
        s = rlae_forward(m, cache, B, ids, n_new, tok, logits, hidden);
        if (s == RLAE_OK)
            s = bench_sync(m->device);
        double dt = bench_now_s() - t0;
        if (step >= 0) {
            r->step_s[step] = dt;
            r->weight_bytes += wb / N;
            r->kv_bytes += kb / N;
        }
    }
    r->steps = N;
    r->len_last = cache->len[0];
    if (s == RLAE_OK) {
        double *sorted = rlae_malloc((size_t)N * sizeof *sorted);
        if (!sorted)
            s = RLAE_ERR_NOMEM;
        else {
            memcpy(sorted, r->step_s, (size_t)N * sizeof *sorted);
            qsort(sorted, (size_t)N, sizeof *sorted, cmp_double);
            r->median_s = N % 2 ? sorted[N / 2] : 0.5 * (sorted[N / 2 - 1] + sorted[N / 2]);
            for (int i = 0; i < N; i++)
                r->mean_s += sorted[i] / N;
            free(sorted);
        }
    }
    free(tok);
    free(ids);
    free(n_new);
    if (s != RLAE_OK)
        bench_decode_result_free(r);
    return s;
}

static size_t model_scratch_bytes(const rlae_model *m)
{
    const rlae_tensor *all[] = {&m->x,   &m->xb,  &m->xb2, &m->q,   &m->k,    &m->v,        &m->att,    &m->hb,
                                &m->hb2, &m->tok, &m->pos, &m->slot, &m->last_row, &m->last_x, &m->last_h, &m->att_part};
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        n += all[i]->data ? rlae_tensor_nbytes(all[i]) : 0;
    return n;
}

typedef struct {
    char model[512], device[256], bandwidth[256];
    double ref_gbs;
    size_t weight_bytes, kv_bytes, scratch_bytes, dev_used;
    double rss, rss0; /* max RSS after the run; RSS before the model was made */
} model_report;

static double mb(double bytes) { return bytes / 1e6; }

static void print_text(const bench_opts *o, const model_report *mr, const bench_decode_result *r)
{
    int B = o->batch, C = o->ctx;
    double step_bytes = r->weight_bytes + r->kv_bytes, gbs = step_bytes / r->median_s / 1e9;
    printf("model: %s\n", mr->model);
    printf("device: %s\n", mr->device);
    printf("bandwidth: %s\n", mr->bandwidth);
    printf("prefill: %d x %d tokens in %.2f ms (%.1f tokens/s)\n", B, C, r->prefill_s * 1e3,
           (double)B * C / r->prefill_s);
    printf("decode: batch %d, %d timed steps after 1 warm-up step, context %d -> %d; tokens drawn at random (the "
           "forward alone)\n", B, r->steps, r->len_first, r->len_last);
    printf("ms/step: %.3f (median; mean %.3f)\n", r->median_s * 1e3, r->mean_s * 1e3);
    printf("ms/token: %.3f (per sequence: one token per step)\n", r->median_s * 1e3);
    printf("tokens/s: %.1f\n", B / r->median_s);
    printf("bytes/step: %.2f MB (weights %.2f MB + KV cache read %.2f MB, mean over the steps)\n", mb(step_bytes),
           mb(r->weight_bytes), mb(r->kv_bytes));
    printf("achieved: %.2f GB/s = %.1f%% of the measured bandwidth\n", gbs,
           mr->ref_gbs > 0 ? 100.0 * gbs / mr->ref_gbs : 0.0);
    double alloc = (double)mr->weight_bytes + mr->kv_bytes + mr->scratch_bytes;
    if (o->dev == RLAE_DEV_CPU)
        printf("memory: %.1f MB allocated (weights %.1f + KV cache %.1f + scratch and outputs %.1f); process max "
               "RSS %.1f MB above the %.1f MB before the model\n", mb(alloc), mb(mr->weight_bytes), mb(mr->kv_bytes),
               mb(mr->scratch_bytes), mb(mr->rss - mr->rss0), mb(mr->rss0));
    else
        printf("memory: %.1f MB device memory used (cudaMemGetInfo delta) = %.3fx weights %.1f + KV cache %.1f\n",
               mb(mr->dev_used), mr->dev_used / ((double)mr->weight_bytes + mr->kv_bytes), mb(mr->weight_bytes),
               mb(mr->kv_bytes));
}

static void json_str(const char *key, const char *v, int last)
{
    printf("  \"%s\": \"", key);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            putchar('\\');
        if ((unsigned char)*p >= 0x20)
            putchar(*p);
    }
    printf("\"%s\n", last ? "" : ",");
}

static void print_json(const bench_opts *o, const model_report *mr, const bench_decode_result *r)
{
    double step_bytes = r->weight_bytes + r->kv_bytes, gbs = step_bytes / r->median_s / 1e9;
    printf("{\n");
    json_str("benchmark", "model", 0);
    json_str("model", mr->model, 0);
    json_str("device", mr->device, 0);
    json_str("dtype", rlae_dtype_name(o->dtype), 0);
    printf("  \"batch\": %d,\n  \"ctx\": %d,\n  \"tokens\": %d,\n", o->batch, o->ctx, r->steps);
    printf("  \"prefill_ms\": %.4f,\n  \"prefill_tokens_per_s\": %.3f,\n", r->prefill_s * 1e3,
           (double)o->batch * o->ctx / r->prefill_s);
    printf("  \"ms_per_step\": %.4f,\n  \"ms_per_step_mean\": %.4f,\n  \"tokens_per_s\": %.3f,\n", r->median_s * 1e3,
           r->mean_s * 1e3, o->batch / r->median_s);
    printf("  \"bytes_per_step\": %.0f,\n  \"weight_bytes_per_step\": %.0f,\n  \"kv_bytes_per_step\": %.0f,\n",
           step_bytes, r->weight_bytes, r->kv_bytes);
    printf("  \"achieved_gbs\": %.4f,\n  \"reference_gbs\": %.4f,\n  \"percent_of_reference\": %.3f,\n", gbs,
           mr->ref_gbs, mr->ref_gbs > 0 ? 100.0 * gbs / mr->ref_gbs : 0.0);
    json_str("reference", mr->bandwidth, 0);
    printf("  \"weights_bytes\": %zu,\n  \"kv_cache_bytes\": %zu,\n  \"scratch_bytes\": %zu,\n", mr->weight_bytes,
           mr->kv_bytes, mr->scratch_bytes);
    printf("  \"device_memory_used_bytes\": %zu,\n  \"max_rss_bytes\": %.0f,\n  \"rss_before_model_bytes\": %.0f,\n",
           mr->dev_used, mr->rss, mr->rss0);
    printf("  \"step_ms\": [");
    for (int i = 0; i < r->steps; i++)
        printf("%s%.4f", i ? ", " : "", r->step_s[i] * 1e3);
    printf("]\n}\n");
}

int bench_model(int argc, char **argv)
{
    bench_opts o;
    int rc = bench_parse_opts(argc, argv, 0, &o);
    if (rc)
        return rc;
    model_report mr;
    memset(&mr, 0, sizeof mr);
    rlae_device_describe(o.dev, mr.device, sizeof mr.device);
    size_t free0 = bench_device_free_bytes(o.dev);
    mr.rss0 = bench_rss_bytes();
    rlae_model_weights w;
    rlae_model m;
    rlae_kv_cache cache;
    rlae_tensor logits = {0};
    bench_decode_result r;
    memset(&m, 0, sizeof m);
    memset(&cache, 0, sizeof cache);
    memset(&r, 0, sizeof r);
    if (!o.json)
        fprintf(stderr, "bench model: making the weights...\n");
    rlae_status s = bench_make_weights(&o, o.seed, &w);
    if (s == RLAE_OK && o.model_path && o.ctx + o.tokens + 2 > w.cfg.max_seq_len)
        s = rlae_fail(RLAE_ERR_INPUT, "--ctx %d + --tokens %d (+ 2) exceed the context of %s (%d positions)", o.ctx,
                      o.tokens, o.model_path, w.cfg.max_seq_len);
    if (s == RLAE_OK)
        s = rlae_model_init(&m, &w, o.batch, 0);
    if (s == RLAE_OK)
        s = rlae_kv_cache_init_dtype(&cache, &w.cfg, o.batch, o.ctx + o.tokens + 2, o.dev, o.dtype); /* as --dtype */
    if (s == RLAE_OK)
        s = bench_alloc_f32(&logits, o.dev, o.batch, w.cfg.vocab_size);
    if (s == RLAE_OK)
        s = bench_decode(&m, &cache, o.batch, o.ctx, o.tokens, o.seed, logits.data, NULL, &r);
    if (s == RLAE_OK) {
        bench_describe_model(&o, &w, mr.model, sizeof mr.model);
        mr.weight_bytes = rlae_model_weights_bytes(&w);
        mr.kv_bytes = rlae_tensor_nbytes(&cache.k) + rlae_tensor_nbytes(&cache.v);
        mr.scratch_bytes = model_scratch_bytes(&m) + rlae_tensor_nbytes(&logits);
        mr.rss = bench_max_rss_bytes();
        size_t free1 = bench_device_free_bytes(o.dev);
        mr.dev_used = free0 > free1 ? free0 - free1 : 0;
        /* measured last, so that its buffers do not count in the memory figures above */
        s = bench_reference_gbs(o.dev, &mr.ref_gbs, mr.bandwidth, sizeof mr.bandwidth);
    }
    if (s == RLAE_OK) {
        if (o.json)
            print_json(&o, &mr, &r);
        else
            print_text(&o, &mr, &r);
    }
    bench_decode_result_free(&r);
    rlae_ops_tensor_free(&logits);
    rlae_kv_cache_free(&cache);
    rlae_model_free(&m);
    rlae_model_weights_free(&w);
    if (s != RLAE_OK)
        return cli_report("bench", s);
    return fflush(stdout) == 0 ? 0 : 1;
}
