/* `rlae generate --model PATH`: text generation with one model, streamed to stdout.
 *
 * Follows the conventions of llama2.c's reference runner (run.c) for llama2.c checkpoints:
 *   - the prompt is encoded as BOS + encode(" " + prompt) (the tokenizer does this), and the prompt
 *     is echoed: its tokens after BOS are printed with the same decode rule as generated ones, so the
 *     output reads prompt + continuation exactly as run.c prints it;
 *   - generation stops on BOS (id 1, which delimits stories) and, unlike run.c, also on EOS;
 *   - a token after BOS loses one leading space; "<0xXX>" pieces print that raw byte.
 * We differ from run.c where its behaviour is an accident: bytes are written exactly (run.c drops
 * any single non-printable byte, which mangles UTF-8 spelled with byte tokens), and --max-tokens
 * counts NEW tokens (run.c's -n `steps` counts positions, prompt included). Generation also stops
 * at the model's context (max_seq_len). Temperature 0 is greedy (ties to the lowest id).
 *
 * --device cpu|cuda|auto picks the backend (default cpu); on cuda the weights are uploaded once as
 * --dtype (bf16 by default there, f32 on the CPU; the KV cache takes the same dtype), the forward
 * runs on the GPU and only each step's logits rows come back to the host for the sampler. --device
 * cuda in a build without CUDA or on a machine without a GPU is a usage error (exit 2) saying what
 * to do.
 *
 * Hidden options for benchmarking (not in the help): --batch N runs N copies of the prompt as one
 * batch (each with its own random stream; only sequence 0 is printed) and --ignore-eos keeps
 * generating past BOS/EOS so every run does the same amount of work.
 * Timing on stderr at the end: prefill and decode tokens/s (decode counts every token of every
 * sequence forwarded one step at a time). */
#include "cli.h"

#include "core/device.h"
#include "core/rng.h"
#include "ensemble/member.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model_load.h"
#include "model/sampler.h"
#include "tokenizer/tokenizer.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *model, *tokenizer, *prompt, *device, *dtype;
    long max_tokens;
    float temperature, top_p;
    long top_k;
    uint64_t seed;
    int seed_given, stream, batch, ignore_eos;
} gen_args;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int parse_float(const char *s, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return 0;
    *out = v;
    return 1;
}

static int parse_args(int argc, char **argv, gen_args *a)
{
    memset(a, 0, sizeof *a);
    a->max_tokens = 256;
    a->temperature = 1.0f;
    a->top_p = 1.0f;
    a->stream = 1;
    a->batch = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        int has_val = i + 1 < argc;
        const char *v = has_val ? argv[i + 1] : NULL;
        long l;
        if (strcmp(o, "--no-stream") == 0) {
            a->stream = 0;
            continue;
        }
        if (strcmp(o, "--ignore-eos") == 0) {
            a->ignore_eos = 1;
            continue;
        }
        if (o[0] != '-' || o[1] != '-')
            return cli_usage_error("generate", "unexpected argument '%s' (a CONFIG must come first: rlae generate "
                                   "CONFIG --prompt TEXT)", o);
        if (!has_val)
            return cli_usage_error("generate", "option %s needs a value", o);
        i++;
        if (strcmp(o, "--model") == 0) {
            a->model = v;
        } else if (strcmp(o, "--device") == 0) {
            rlae_device_request r;
            if (rlae_device_request_parse(v, &r) != RLAE_OK) {
                rlae_clear_error();
                return cli_usage_error("generate", "--device takes %s, got '%s'", RLAE_DEVICE_REQUEST_NAMES, v);
            }
            a->device = v;
        } else if (strcmp(o, "--dtype") == 0) {
            if (strcmp(v, "f32") != 0 && strcmp(v, "bf16") != 0)
                return cli_usage_error("generate", "--dtype takes f32 or bf16 (the weights' type on the device), "
                                       "got '%s'", v);
            a->dtype = v;
        } else if (strcmp(o, "--tokenizer") == 0) {
            a->tokenizer = v;
        } else if (strcmp(o, "--prompt") == 0) {
            a->prompt = v;
        } else if (strcmp(o, "--max-tokens") == 0) {
            if (!parse_long(v, 0, 1L << 30, &a->max_tokens))
                return cli_usage_error("generate", "--max-tokens takes an integer >= 0, got '%s'", v);
        } else if (strcmp(o, "--temperature") == 0) {
            if (!parse_float(v, 0.0f, 100.0f, &a->temperature))
                return cli_usage_error("generate", "--temperature takes a number in [0, 100], got '%s'", v);
        } else if (strcmp(o, "--top-p") == 0) {
            if (!parse_float(v, 0.0f, 1.0f, &a->top_p))
                return cli_usage_error("generate", "--top-p takes a number in [0, 1], got '%s'", v);
        } else if (strcmp(o, "--top-k") == 0) {
            if (!parse_long(v, 0, 1L << 30, &a->top_k))
                return cli_usage_error("generate", "--top-k takes an integer >= 0 (0 = off), got '%s'", v);
        } else if (strcmp(o, "--seed") == 0) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-')
                return cli_usage_error("generate", "--seed takes a non-negative integer, got '%s'", v);
            a->seed = s;
            a->seed_given = 1;
        } else if (strcmp(o, "--batch") == 0) {
            if (!parse_long(v, 1, 4096, &l))
                return cli_usage_error("generate", "--batch takes an integer in [1, 4096], got '%s'", v);
            a->batch = (int)l;
        } else {
            return cli_usage_error("generate", "unknown option '%s'", o);
        }
    }
    if (!a->model)
        return cli_usage_error("generate", "--model PATH is required");
    return 0;
}

static void emit(const uint8_t *bytes, size_t n, int stream, char **buf, size_t *len, size_t *cap)
{
    if (!bytes || !n)
        return;
    if (stream) {
        fwrite(bytes, 1, n, stdout);
        fflush(stdout);
        return;
    }
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 4096) + n;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, bytes, n);
    *len += n;
}

typedef struct {
    rlae_model_weights w;
    rlae_tokenizer *tok;
    rlae_model model;
    rlae_kv_cache cache;
    rlae_sampler sampler;
    int32_t *prompt_ids, *flat, *next;
    int *slots, *n_new, *active;
    float *logits;
    rlae_tensor dev_logits; /* [B, vocab] on the model's device when that is not the CPU */
    char *text;
} gen_state;

static void gen_free(gen_state *g)
{
    rlae_sampler_free(&g->sampler);
    rlae_kv_cache_free(&g->cache);
    rlae_model_free(&g->model);
    rlae_model_weights_free(&g->w);
    rlae_tokenizer_free(g->tok);
    free(g->prompt_ids);
    free(g->flat);
    free(g->next);
    free(g->slots);
    free(g->n_new);
    free(g->active);
    free(g->logits);
    rlae_ops_tensor_free(&g->dev_logits);
    free(g->text);
}

/* Runs one forward and leaves the logits of its n_seqs sequences in g->logits (host). */
static rlae_status forward_logits(gen_state *g, int n_seqs, const int32_t *tokens)
{
    if (g->model.device == RLAE_DEV_CPU)
        return rlae_forward(&g->model, &g->cache, n_seqs, g->slots, g->n_new, tokens, g->logits, NULL);
    RLAE_TRY(rlae_forward(&g->model, &g->cache, n_seqs, g->slots, g->n_new, tokens, g->dev_logits.data, NULL));
    int64_t shape[2] = {n_seqs, g->w.cfg.vocab_size};
    rlae_tensor src = rlae_tensor_view(g->dev_logits.data, RLAE_F32, g->model.device, 2, shape);
    rlae_tensor dst = rlae_tensor_view(g->logits, RLAE_F32, RLAE_DEV_CPU, 2, shape);
    return rlae_op_copy(&dst, &src); /* waits for the forward */
}

/* Resolves --device and --dtype and moves the loaded weights there. */
static rlae_status place_model(const gen_args *a, gen_state *g)
{
    rlae_device_request req = RLAE_DEVREQ_CPU;
    if (a->device)
        RLAE_TRY(rlae_device_request_parse(a->device, &req));
    rlae_device dev;
    rlae_status s = rlae_device_resolve(req, &dev);
    if (s != RLAE_OK)
        return rlae_wrap(s, "--device %s: ", a->device);
    rlae_dtype dt = dev == RLAE_DEV_CUDA ? RLAE_BF16 : RLAE_F32;
    if (a->dtype)
        dt = strcmp(a->dtype, "bf16") == 0 ? RLAE_BF16 : RLAE_F32;
    if (dt == RLAE_BF16 && dev != RLAE_DEV_CUDA)
        return rlae_fail(RLAE_ERR_INPUT, "--dtype bf16 needs --device cuda (the CPU backend runs f32 weights); drop "
                         "--dtype or use --dtype f32");
    return rlae_model_weights_to_device(&g->w, dev, dt);
}

static rlae_status run(const gen_args *a, gen_state *g)
{
    RLAE_TRY(rlae_model_load(a->model, "auto", &g->w));
    RLAE_TRY(place_model(a, g));
    const rlae_model_config *c = &g->w.cfg;
    char tok_path[5200];
    if (a->tokenizer)
        snprintf(tok_path, sizeof tok_path, "%s", a->tokenizer);
    else
        RLAE_TRY(rlae_member_find_tokenizer(a->model, tok_path, sizeof tok_path));
    RLAE_TRY(rlae_tokenizer_load(tok_path, &g->tok));
    int tv = rlae_tokenizer_vocab_size(g->tok);
    if (tv > c->vocab_size)
        return rlae_fail(RLAE_ERR_INPUT, "tokenizer %s has %d tokens but model %s only %d logits; they do not belong "
                         "together", tok_path, tv, a->model, c->vocab_size);
    int llama2c = rlae_tokenizer_get_kind(g->tok) == RLAE_TOKENIZER_LLAMA2C;
    int bos = rlae_tokenizer_bos_id(g->tok), eos = rlae_tokenizer_eos_id(g->tok);
    if (bos < 0)
        bos = c->bos_id;
    if (eos < 0)
        eos = c->eos_id;

    const char *prompt = a->prompt ? a->prompt : "";
    size_t n_prompt = 0;
    RLAE_TRY(rlae_tokenizer_encode(g->tok, prompt, strlen(prompt), rlae_tokenizer_default_add_bos(g->tok),
                                   &g->prompt_ids, &n_prompt));
    if (n_prompt == 0)
        return rlae_fail(RLAE_ERR_INPUT, "the prompt is empty and tokenizer %s adds no BOS: give --prompt TEXT",
                         tok_path);
    if ((long)n_prompt >= c->max_seq_len)
        return rlae_fail(RLAE_ERR_INPUT, "the prompt has %zu tokens; model %s has a context of %d", n_prompt,
                         a->model, c->max_seq_len);
    long max_new = a->max_tokens;
    if ((long)n_prompt + max_new > c->max_seq_len)
        max_new = c->max_seq_len - (long)n_prompt; /* run.c caps at seq_len the same way */

    int B = a->batch;
    RLAE_TRY(rlae_model_init(&g->model, &g->w, B, 0));
    /* the KV cache takes the weights' dtype: bf16 on CUDA by default, f32 with --dtype f32 */
    RLAE_TRY(rlae_kv_cache_init_dtype(&g->cache, c, B, c->max_seq_len, g->model.device, g->w.tok_embeddings.dtype));
    RLAE_TRY(rlae_sampler_init(&g->sampler, c->vocab_size, a->temperature, (int)a->top_k, a->top_p));
    g->flat = rlae_malloc(sizeof(int32_t) * n_prompt * (size_t)B);
    g->next = rlae_malloc(sizeof(int32_t) * (size_t)B);
    g->slots = rlae_malloc(sizeof(int) * (size_t)B);
    g->n_new = rlae_malloc(sizeof(int) * (size_t)B);
    g->active = rlae_malloc(sizeof(int) * (size_t)B);
    g->logits = rlae_malloc(sizeof(float) * (size_t)B * c->vocab_size);
    if (!g->flat || !g->next || !g->slots || !g->n_new || !g->active || !g->logits)
        return RLAE_ERR_NOMEM;
    if (g->model.device != RLAE_DEV_CPU) {
        int64_t shape[2] = {B, c->vocab_size};
        RLAE_TRY(rlae_ops_tensor_alloc(&g->dev_logits, RLAE_F32, g->model.device, 2, shape));
    }
    uint64_t seed = a->seed_given ? a->seed : (uint64_t)time(NULL);

    size_t text_len = 0, text_cap = 0;
    /* echo the prompt as run.c does: every token after BOS, decoded after its predecessor (a
     * tokenizer that adds no BOS has its first token echoed too) */
    for (size_t i = g->prompt_ids[0] == bos ? 1 : 0; i < n_prompt; i++) {
        size_t n;
        const uint8_t *p = rlae_tokenizer_decode_piece(g->tok, i ? g->prompt_ids[i - 1] : -1, g->prompt_ids[i], &n);
        emit(p, n, a->stream, &g->text, &text_len, &text_cap);
    }

    /* prefill: every sequence of the batch gets the same prompt */
    for (int b = 0; b < B; b++) {
        g->slots[b] = b;
        g->n_new[b] = (int)n_prompt;
        memcpy(g->flat + (size_t)b * n_prompt, g->prompt_ids, sizeof(int32_t) * n_prompt);
    }
    double t0 = now_s();
    RLAE_TRY(forward_logits(g, B, g->flat));
    double t_prefill = now_s() - t0;

    /* decode: `active` lists the sequences still running; logits row i belongs to active[i] */
    int n_active = B;
    int32_t prev0 = g->prompt_ids[n_prompt - 1];
    long decode_tokens = 0, generated0 = 0;
    for (int b = 0; b < B; b++)
        g->active[b] = b;
    double t1 = now_s();
    for (long step = 0; step < max_new && n_active > 0; step++) {
        int kept = 0;
        for (int i = 0; i < n_active; i++) {
            int b = g->active[i];
            rlae_rng rng;
            rlae_rng_init(&rng, seed, (uint32_t)b, 0, (uint32_t)step);
            int32_t next = rlae_sampler_sample(&g->sampler, g->logits + (size_t)i * c->vocab_size,
                                               rlae_rng_uniform(&rng));
            int stop = !a->ignore_eos && (next == eos || (llama2c && next == bos));
            if (stop)
                continue;
            if (b == 0) {
                size_t n;
                const uint8_t *p = rlae_tokenizer_decode_piece(g->tok, prev0, next, &n);
                emit(p, n, a->stream, &g->text, &text_len, &text_cap);
                prev0 = next;
                generated0++;
            }
            g->active[kept] = b;
            g->slots[kept] = b;
            g->n_new[kept] = 1;
            g->next[kept] = next;
            kept++;
        }
        n_active = kept;
        if (n_active == 0 || step + 1 == max_new) /* the last token needs no forward */
            break;
        RLAE_TRY(forward_logits(g, n_active, g->next));
        decode_tokens += n_active;
    }
    double t_decode = now_s() - t1;
    if (!a->stream && text_len)
        fwrite(g->text, 1, text_len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    fprintf(stderr,
            "rlae generate: %zu prompt tokens x %d seq: prefill %.1f tok/s (%.2f ms); %ld tokens generated (seq 0); "
            "decode %ld tokens in %.2f ms: %.1f tok/s; seed %llu; %s %s\n",
            n_prompt, B, t_prefill > 0 ? (double)n_prompt * B / t_prefill : 0.0, 1e3 * t_prefill, generated0,
            decode_tokens, 1e3 * t_decode, t_decode > 0 ? (double)decode_tokens / t_decode : 0.0,
            (unsigned long long)seed, rlae_device_name(g->model.device), rlae_dtype_name(g->w.tok_embeddings.dtype));
    return RLAE_OK;
}

int cmd_generate(int argc, char **argv)
{
    if (argc > 1 && argv[1][0] != '-')
        return cmd_generate_ensemble(argc, argv);
    gen_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    gen_state g;
    memset(&g, 0, sizeof g);
    rlae_status s = run(&a, &g);
    gen_free(&g);
    return cli_report("generate", s);
}
