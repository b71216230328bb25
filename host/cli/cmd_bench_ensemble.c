/* `rlae bench ensemble`: K random-weight members of one architecture (seeds seed..seed+K-1, one
 * tokenizer file for all), run through the real ensemble engine (ensemble/rollout.h: prefill, then
 * per token mix_select -> bridge -> one forward per member) with uniform weights, greedy. Reports
 * the ensemble's time per generated token next to the sum of the members' solo per-token decode
 * times (bench_decode on each member alone, same batch and context), their ratio, and memory next
 * to weights + KV cache.
 *
 * The ensemble's per-token time is the difference of two rollouts of the same prompts that
 * generate NA and NA + N tokens, divided by N: prefill and set-up cancel out, and the device work of
 * every step is finished by the host's read of the chosen tokens. The rows of the LM head for each
 * member's EOS (and, for llama2.c tokenizers, BOS) are zeroed, so a random member never ends an
 * answer early: every sequence generates exactly the requested tokens.
 * --device cuda puts the members (weights, KV caches, the rollout's per-step buffers and mix_select)
 * on the GPU, --dtype as for `bench model` (bf16 by default there); only the chosen tokens and their
 * small per-token records come back to the host each step (ensemble/rollout.c). Without a GPU
 * --device cuda exits 2 (bench_parse_opts). */
#include "cli.h"
#include "bench.h"

#include "algorithms/baselines.h"
#include "core/device.h"
#include "core/fs.h"
#include "ensemble/member.h"
#include "ensemble/rollout.h"
#include "ensemble/vocab_union.h"
#include "model/random_weights.h"
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Default tokenizer of an architecture: stories260K's 512-token one for `tiny` (its vocabulary
 * size), Llama 2's 32000-token one for the rest (no Llama 3 / Qwen / Mistral tokenizer file ships
 * with the project; a larger model vocabulary keeps its full LM head, the extra logits just map to
 * nothing in the union). */
static rlae_status default_tokenizer(const char *arch, char *out, size_t n)
{
    const char *dir = getenv("RLAE_SHARED_DIR");
    if (!dir || !dir[0])
        dir = "../shared";
    snprintf(out, n, "%s/%s", dir,
             strcmp(arch, "tiny") == 0 ? "models/stories260K/tok512.bin" : "tokenizers/llama2/tokenizer.bin");
    if (!rlae_path_is_file(out))
        return rlae_fail(RLAE_ERR_INPUT, "no tokenizer for the members: %s does not exist (set RLAE_SHARED_DIR to the "
                         "shared assets folder, or name one with --tokenizer PATH)", out);
    return RLAE_OK;
}

/* Zeroes row `id` of the member's LM head (on its device, in its dtype). */
static rlae_status zero_head_row(rlae_member *m, int id)
{
    rlae_tensor *h = &m->w.lm_head;
    if (id < 0 || id >= m->w.cfg.vocab_size)
        return RLAE_OK;
    int64_t dim = m->w.cfg.dim;
    size_t esz = rlae_dtype_size(h->dtype);
    void *zeros = rlae_calloc((size_t)dim, esz);
    if (!zeros)
        return RLAE_ERR_NOMEM;
    rlae_tensor src = rlae_tensor_view(zeros, h->dtype, RLAE_DEV_CPU, 1, &dim);
    rlae_tensor dst = rlae_tensor_view((char *)h->data + (size_t)id * dim * esz, h->dtype, h->device, 1, &dim);
    rlae_status s = rlae_op_copy(&dst, &src);
    free(zeros);
    return s;
}

/* A prompt of repeated words whose encoding (BOS included) has C tokens for member m, or the
 * closest length below it that the words reach. */
static rlae_status make_prompt(const rlae_member *m, int C, char **text, int *n_tokens)
{
    int words = C > 1 ? C - 1 : 1, best_n = -1;
    char *best = NULL;
    rlae_status s = RLAE_OK;
    for (int tries = 0; tries < 8 && s == RLAE_OK; tries++) {
        char *t = rlae_malloc((size_t)words * 4 + 1);
        if (!t) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        size_t len = 0;
        for (int i = 0; i < words; i++) {
            if (i)
                t[len++] = ' ';
            memcpy(t + len, "the", 3);
            len += 3;
        }
        t[len] = '\0';
        int32_t *ids = NULL;
        size_t n = 0;
        s = rlae_member_encode_prompt(m, NULL, t, &ids, &n);
        free(ids);
        if (s == RLAE_OK && (int)n <= C && (int)n > best_n) {
            free(best);
            best = t;
            best_n = (int)n;
        } else
            free(t);
        if (s != RLAE_OK || (int)n == C)
            break;
        int next = words + (C - (int)n);
        words = next > 1 ? next : 1;
    }
    if (s == RLAE_OK && !best)
        s = rlae_fail(RLAE_ERR_INPUT, "bench ensemble: no prompt of at most %d tokens; raise --ctx", C);
    if (s != RLAE_OK) {
        free(best);
        return s;
    }
    *text = best;
    *n_tokens = best_n;
    return RLAE_OK;
}

#define REPS 3

static double median3(const double *x)
{
    double a = x[0], b = x[1], c = x[2];
    return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}

typedef struct {
    rlae_member m[RLAE_MIX_MAX_MEMBERS];
    int K;
    rlae_tensor logits[RLAE_MIX_MAX_MEMBERS], hidden[RLAE_MIX_MAX_MEMBERS];
    rlae_vocab_union *vu;
    rlae_rollout *ro_a, *ro_b;
} ens_state;

static void ens_free(ens_state *e)
{
    rlae_rollout_free(e->ro_a);
    rlae_rollout_free(e->ro_b);
    rlae_vocab_union_free(e->vu);
    for (int k = 0; k < e->K; k++) {
        rlae_ops_tensor_free(&e->logits[k]);
        rlae_ops_tensor_free(&e->hidden[k]);
        rlae_member_free(&e->m[k]);
    }
    memset(e, 0, sizeof *e);
}

/* One rollout of B copies of the prompt; wall seconds in *secs; every episode must reach max_new. */
static rlae_status run_rollout(rlae_rollout *ro, const char *prompt, int B, int max_new, rlae_weight_policy *pol,
                               double *secs, int *prompt_len)
{
    rlae_episode *ep = rlae_calloc((size_t)B, sizeof *ep);
    rlae_rollout_request *req = rlae_calloc((size_t)B, sizeof *req);
    if (!ep || !req) {
        free(ep);
        free(req);
        return RLAE_ERR_NOMEM;
    }
    for (int b = 0; b < B; b++)
        req[b] = (rlae_rollout_request){.system = NULL, .user = prompt, .episode = (uint32_t)b};
    double t0 = bench_now_s();
    rlae_status s = rlae_rollout_run(ro, req, B, pol, ep);
    *secs = bench_now_s() - t0;
    for (int b = 0; b < B && s == RLAE_OK; b++)
        if (ep[b].n_tokens != max_new)
            s = rlae_fail(RLAE_ERR_RUNTIME, "bench ensemble: sequence %d ended after %d of %d tokens (%s)", b,
                          ep[b].n_tokens, max_new, rlae_end_reason_name(ep[b].end));
    if (s == RLAE_OK)
        *prompt_len = ep[0].prompt_len[0];
    for (int b = 0; b < B; b++)
        rlae_episode_free(&ep[b]);
    free(ep);
    free(req);
    return s;
}

int bench_ensemble(int argc, char **argv)
{
    bench_opts o;
    int rc = bench_parse_opts(argc, argv, 1, &o);
    if (rc)
        return rc;
    char tok_path[4096], device[256], model[512];
    rlae_status s = RLAE_OK;
    if (o.tokenizer)
        snprintf(tok_path, sizeof tok_path, "%s", o.tokenizer);
    else
        s = default_tokenizer(o.arch, tok_path, sizeof tok_path);
    if (s != RLAE_OK)
        return cli_report("bench", s);
    rlae_device_describe(o.dev, device, sizeof device);

    int K = o.members, B = o.batch, C = o.ctx, N = o.tokens;
    int NA = N / 4 > 2 ? N / 4 : 2, NB = NA + N;
    int capacity = C + NB + 4;
    rlae_model_config arch;
    if (rlae_random_arch_config(o.arch, &arch) == RLAE_OK && capacity > arch.max_seq_len)
        return cli_usage_error("bench", "--ctx %d and --tokens %d need %d positions per member (two rollouts of %d and "
                               "%d tokens, + 4), beyond %s's context of %d", C, N, capacity, NA, NB, o.arch,
                               arch.max_seq_len);
    size_t free0 = bench_device_free_bytes(o.dev);
    double rss0 = bench_rss_bytes();
    ens_state e;
    memset(&e, 0, sizeof e);
    double solo_mean[RLAE_MIX_MAX_MEMBERS], solo_median[RLAE_MIX_MAX_MEMBERS], weights_bytes = 0, kv_bytes = 0;
    if (!o.json)
        fprintf(stderr, "bench ensemble: making %d members...\n", K);
    for (int k = 0; k < K && s == RLAE_OK; k++) {
        rlae_model_weights w;
        char name[32];
        snprintf(name, sizeof name, "m%d", k);
        s = bench_make_weights(&o, o.seed + (uint64_t)k, &w);
        if (s == RLAE_OK && k == 0)
            bench_describe_model(&o, &w, model, sizeof model);
        if (s == RLAE_OK)
            weights_bytes += (double)rlae_model_weights_bytes(&w);
        if (s == RLAE_OK && (s = rlae_member_from_weights(&e.m[k], name, &w, tok_path, B, capacity)) == RLAE_OK)
            e.K = k + 1;
    }
    for (int k = 0; k < e.K && s == RLAE_OK; k++) {
        rlae_member *m = &e.m[k];
        kv_bytes += (double)rlae_tensor_nbytes(&m->cache.k) + (double)rlae_tensor_nbytes(&m->cache.v);
        s = zero_head_row(m, m->eos_id);
        if (s == RLAE_OK && m->ends_on_bos)
            s = zero_head_row(m, m->bos_id);
        if (s == RLAE_OK)
            s = bench_alloc_f32(&e.logits[k], o.dev, B, m->w.cfg.vocab_size);
        if (s == RLAE_OK)
            s = bench_alloc_f32(&e.hidden[k], o.dev, B, m->w.cfg.dim);
    }
    /* each member alone: the same decode loop as `bench model`, with logits and hidden states out
     * as the rollout asks for them */
    double solo_sum = 0;
    for (int k = 0; k < e.K && s == RLAE_OK; k++) {
        bench_decode_result r;
        s = bench_decode(&e.m[k].model, &e.m[k].cache, B, C, N, o.seed + (uint64_t)k, e.logits[k].data,
                         e.hidden[k].data, &r);
        if (s == RLAE_OK) {
            solo_mean[k] = r.mean_s;
            solo_median[k] = r.median_s;
            solo_sum += r.mean_s;
        }
        bench_decode_result_free(&r);
    }
    const rlae_tokenizer *toks[RLAE_MIX_MAX_MEMBERS];
    const char *names[RLAE_MIX_MAX_MEMBERS];
    for (int k = 0; k < e.K; k++) {
        toks[k] = e.m[k].tok;
        names[k] = e.m[k].name;
    }
    if (s == RLAE_OK)
        s = rlae_vocab_union_build(toks, K, names, &e.vu);
    char *prompt = NULL;
    int prompt_tokens = 0;
    if (s == RLAE_OK)
        s = make_prompt(&e.m[0], C, &prompt, &prompt_tokens);
    rlae_rollout_options opt = {.span = 8, .max_new_tokens = NA, .temperature = 0.0f, .top_k = 0, .top_p = 1.0f,
                                .seed = o.seed};
    if (s == RLAE_OK)
        s = rlae_rollout_new(e.m, K, e.vu, &opt, B, &e.ro_a);
    opt.max_new_tokens = NB;
    if (s == RLAE_OK)
        s = rlae_rollout_new(e.m, K, e.vu, &opt, B, &e.ro_b);
    rlae_weight_policy pol;
    rlae_fixed_weights pctx;
    if (s == RLAE_OK)
        s = rlae_policy_uniform(&pol, &pctx, K);
    /* one warm-up run of each, then REPS alternating timed runs; the median of each length */
    double ta[REPS + 1], tb[REPS + 1];
    int plen = 0;
    rlae_rollout_timing tm0 = {0};
    for (int rep = 0; rep <= REPS && s == RLAE_OK; rep++) {
        s = run_rollout(e.ro_a, prompt, B, NA, &pol, &ta[rep], &plen);
        if (s == RLAE_OK && rep == 1)
            tm0 = *rlae_rollout_get_timing(e.ro_b);
        if (s == RLAE_OK)
            s = run_rollout(e.ro_b, prompt, B, NB, &pol, &tb[rep], &plen);
    }
    free(prompt);
    double per_token = s == RLAE_OK ? (median3(tb + 1) - median3(ta + 1)) / N : 0;
    if (s == RLAE_OK && per_token <= 0)
        s = rlae_fail(RLAE_ERR_RUNTIME, "bench ensemble: the rollout of %d tokens was not slower than the one of %d "
                      "(timing noise: a busy machine?); raise --tokens", NB, NA);
    if (s != RLAE_OK) {
        ens_free(&e);
        return cli_report("bench", s);
    }
    double ratio = per_token / solo_sum;
    /* the phases of the timed runs of the longer rollout */
    rlae_rollout_timing t1 = *rlae_rollout_get_timing(e.ro_b), tmv = {
        .forward = t1.forward - tm0.forward, .mix = t1.mix - tm0.mix, .bridge = t1.bridge - tm0.bridge,
        .policy = t1.policy - tm0.policy, .steps = t1.steps - tm0.steps};
    const rlae_rollout_timing *tm = &tmv;
    double steps = tm->steps > 0 ? (double)tm->steps / REPS : 1.0;
    tmv.forward /= REPS;
    tmv.mix /= REPS;
    tmv.bridge /= REPS;
    tmv.policy /= REPS;
    double mem_used = o.dev == RLAE_DEV_CPU ? bench_max_rss_bytes() - rss0
                                            : (double)(free0 - bench_device_free_bytes(o.dev));
    double mem_ratio = mem_used / (weights_bytes + kv_bytes);
    const char *mem_how = o.dev == RLAE_DEV_CPU ? "process max RSS above the RSS before the members"
                                                : "device memory used (cudaMemGetInfo delta)";
    if (o.json) {
        printf("{\n  \"benchmark\": \"ensemble\",\n  \"model\": \"%s\",\n  \"device\": \"%s\",\n", model, device);
        printf("  \"members\": %d,\n  \"batch\": %d,\n  \"ctx\": %d,\n  \"prompt_tokens\": %d,\n  \"tokens\": %d,\n",
               K, B, C, plen, N);
        printf("  \"union_size\": %d,\n  \"solo_ms_per_token\": [", rlae_vocab_union_size(e.vu));
        for (int k = 0; k < K; k++)
            printf("%s%.4f", k ? ", " : "", solo_mean[k] * 1e3);
        printf("],\n  \"solo_sum_ms_per_token\": %.4f,\n  \"ensemble_ms_per_token\": %.4f,\n", solo_sum * 1e3,
               per_token * 1e3);
        printf("  \"ratio\": %.4f,\n  \"forward_ms_per_step\": %.4f,\n  \"mix_ms_per_step\": %.4f,\n", ratio,
               tm->forward / (steps - 1 > 0 ? steps - 1 : 1) * 1e3, tm->mix / steps * 1e3);
        printf("  \"bridge_ms_per_step\": %.4f,\n  \"policy_ms_per_step\": %.4f,\n", tm->bridge / steps * 1e3,
               tm->policy / steps * 1e3);
        printf("  \"memory_bytes\": %.0f,\n  \"weights_bytes\": %.0f,\n  \"kv_cache_bytes\": %.0f,\n", mem_used,
               weights_bytes, kv_bytes);
        printf("  \"memory_ratio\": %.4f\n}\n", mem_ratio);
    } else {
        printf("ensemble: %d members of %s (seeds %llu..%llu)\n", K, model, (unsigned long long)o.seed,
               (unsigned long long)(o.seed + (uint64_t)K - 1));
        printf("tokenizer: %s (%d tokens; union %d)\n", tok_path, rlae_tokenizer_vocab_size(e.m[0].tok),
               rlae_vocab_union_size(e.vu));
        printf("device: %s\n", device);
        printf("batch %d, prompt %d tokens (random tokens of --ctx %d for solo), %d tokens timed\n", B, plen, C, N);
        printf("solo ms/token (mean over %d steps; median):", N);
        for (int k = 0; k < K; k++)
            printf(" %s %.3f (%.3f)", e.m[k].name, solo_mean[k] * 1e3, solo_median[k] * 1e3);
        printf("\nsum of solo ms/token: %.3f\n", solo_sum * 1e3);
        printf("ensemble ms/token: %.3f (rollouts of %d and %d tokens, uniform weights, greedy: difference of the "
               "medians of %d runs / %d)\n", per_token * 1e3, NA, NB, REPS, N);
        printf("ratio ensemble / sum of solo: %.3f\n", ratio);
        printf("ensemble step (rollouts of %d tokens, mean): forward %.3f ms, mix %.3f ms, bridge %.3f ms, policy %.3f "
               "ms\n", NB, tm->forward / (steps - 1 > 0 ? steps - 1 : 1) * 1e3, tm->mix / steps * 1e3,
               tm->bridge / steps * 1e3, tm->policy / steps * 1e3);
        printf("memory: %s %.1f MB = %.3fx (weights %.1f MB + KV cache %.1f MB)\n", mem_how, mem_used / 1e6,
               mem_ratio, weights_bytes / 1e6, kv_bytes / 1e6);
    }
    ens_free(&e);
    return fflush(stdout) == 0 ? 0 : 1;
}
