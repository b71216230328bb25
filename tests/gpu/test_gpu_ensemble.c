/* The ensemble rollout with its members on the GPU (ensemble/rollout.c's CUDA path) against the same
 * rollout on the CPU, on two real tiny models with different vocabularies from the shared assets
 * (stories260K: 512-token BPE; babyllama105: 105 characters), fp32 weights on both sides:
 *   - greedy, weights uniform, (1,0) and (0,1), batch 1 and batch 4 (different prompts, one empty):
 *     identical text, union tokens, end reasons and member argmax; the recorded per-token
 *     probabilities (mixed, each member's of the chosen token, each member's top-1) within 1e-4;
 *   - what the policy saw at every span boundary (entropy, top-1, span logprob and agreement, the
 *     first hidden values of each member) and after the last token of truncated answers
 *     (on_truncated), within 1e-4 (relative above 1);
 *   - with an encoder member (stories260K again) on the same device: its pooled mean within 1e-4;
 *   - bf16 members (members[].dtype auto on cuda) run to the end with probabilities in [0, 1].
 * Skips (77) in a CPU-only build, without a GPU, or without the shared models. */
#include "test.h"
#include "gpu_ops_util.h"

#include "algorithms/baselines.h"
#include "ensemble/member.h"
#include "ensemble/rollout.h"
#include "ensemble/vocab_union.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { K = 2, MAXB = 4, MAX_NEW = 60, SPAN = 5, NH = 4, MAX_REC = 512 };
#define TOL 1e-4

typedef struct {
    rlae_member m[K];
    rlae_member enc;
    rlae_vocab_union *vu;
} side;

/* One row of what a policy saw. */
typedef struct {
    int seq, span, truncated;
    float f[K][4];
    float h[K][NH];
    float e[NH];
} rec;

typedef struct {
    double w[K];
    rec r[MAX_REC];
    int n;
} recorder;

static void record(recorder *rc, const rlae_span_state *st, int truncated)
{
    for (int i = 0; i < st->n && rc->n < MAX_REC; i++) {
        rec *r = &rc->r[rc->n++];
        memset(r, 0, sizeof *r);
        r->seq = st->seq[i];
        r->span = st->span_index[i];
        r->truncated = truncated;
        for (int k = 0; k < K; k++) {
            r->f[k][0] = st->entropy[i * K + k];
            r->f[k][1] = st->top1[i * K + k];
            r->f[k][2] = st->span_logprob[i * K + k];
            r->f[k][3] = st->span_agree[i * K + k];
            for (int j = 0; j < NH && j < st->hidden_dim[k]; j++)
                r->h[k][j] = st->hidden[k][(size_t)i * st->hidden_dim[k] + j];
        }
        for (int j = 0; j < NH && st->encoder && j < st->encoder_dim; j++)
            r->e[j] = st->encoder[(size_t)i * st->encoder_dim + j];
    }
}

static rlae_status rec_decide(rlae_weight_policy *p, const rlae_span_state *st, float *w)
{
    recorder *rc = p->ctx;
    record(rc, st, 0);
    for (int i = 0; i < st->n; i++)
        for (int k = 0; k < K; k++)
            w[i * K + k] = (float)rc->w[k];
    return RLAE_OK;
}

static rlae_status rec_truncated(rlae_weight_policy *p, const rlae_span_state *st)
{
    record(p->ctx, st, 1);
    return RLAE_OK;
}

static int load_side(side *s, rlae_device dev, rlae_dtype_choice dt)
{
    rlae_member_config c[K] = {
        {.name = "stories", .path = (char *)test_shared_path("models/stories260K/stories260K.bin"), .tokenizer = "",
         .dtype = dt, .weight = 1},
        {.name = "baby", .path = (char *)test_shared_path("models/babyllama105/model5000.bin"),
         .tokenizer = (char *)test_shared_path("models/babyllama105/tok105.bin"), .dtype = dt, .weight = 1}};
    rlae_member_config ec = c[0];
    ec.name = "encoder";
    memset(s, 0, sizeof *s);
    const rlae_tokenizer *toks[K];
    const char *names[K];
    for (int k = 0; k < K; k++) {
        rlae_status st = rlae_member_load_on(&s->m[k], &c[k], dev, MAXB, 0);
        CHECK_MSG(st == RLAE_OK, "load %s on %s: %s", c[k].name, rlae_device_name(dev), rlae_last_error());
        if (st != RLAE_OK)
            return 0;
        CHECK(s->m[k].model.device == dev && s->m[k].cache.device == dev);
        toks[k] = s->m[k].tok;
        names[k] = s->m[k].name;
    }
    rlae_status st = rlae_member_load_on(&s->enc, &ec, dev, MAXB, 0);
    CHECK_MSG(st == RLAE_OK, "load the encoder on %s: %s", rlae_device_name(dev), rlae_last_error());
    if (st != RLAE_OK)
        return 0;
    CHECK(rlae_vocab_union_build(toks, K, names, &s->vu) == RLAE_OK);
    return s->vu != NULL;
}

static void free_side(side *s)
{
    rlae_vocab_union_free(s->vu);
    for (int k = 0; k < K; k++)
        rlae_member_free(&s->m[k]);
    rlae_member_free(&s->enc);
}

/* One rollout on side s; the episodes in ep, what the policy saw in rc. */
static int run_side(side *s, const char *const *prompts, int B, int with_encoder, recorder *rc, rlae_episode *ep)
{
    rlae_rollout_options o = {.span = SPAN, .max_new_tokens = MAX_NEW, .temperature = 0, .seed = 5};
    rlae_rollout *r = NULL;
    rlae_status st = rlae_rollout_new(s->m, K, s->vu, &o, MAXB, &r);
    CHECK_MSG(st == RLAE_OK, "rollout_new: %s", rlae_last_error());
    if (st == RLAE_OK && with_encoder) {
        st = rlae_rollout_set_encoder(r, &s->enc);
        CHECK_MSG(st == RLAE_OK, "set_encoder: %s", rlae_last_error());
    }
    rlae_weight_policy pol = {.name = "recorder", .ctx = rc, .decide = rec_decide, .on_truncated = rec_truncated,
                              .mix_gate_member = -1};
    rlae_rollout_request req[MAXB];
    for (int b = 0; b < B; b++)
        req[b] = (rlae_rollout_request){.user = prompts[b], .episode = (uint32_t)(40 + b)};
    rc->n = 0;
    if (st == RLAE_OK) {
        st = rlae_rollout_run(r, req, B, &pol, ep);
        CHECK_MSG(st == RLAE_OK, "rollout_run: %s", rlae_last_error());
    }
    rlae_rollout_free(r);
    return st == RLAE_OK;
}

static int near(double a, double b) { return fabs(a - b) <= TOL * (fabs(b) > 1 ? fabs(b) : 1); }

static void compare(const char *what, const rlae_episode *c, const rlae_episode *g, int B, const recorder *rc,
                    const recorder *rg)
{
    for (int b = 0; b < B; b++) {
        const rlae_episode *x = &c[b], *y = &g[b];
        CHECK_MSG(x->text_len == y->text_len && memcmp(x->text, y->text, x->text_len) == 0,
                  "%s seq %d: text differs\n  cpu:  %.*s\n  cuda: %.*s", what, b, (int)x->text_len, x->text,
                  (int)y->text_len, y->text);
        CHECK_MSG(x->n_tokens == y->n_tokens && x->end == y->end, "%s seq %d: %d tokens (%s) on cpu, %d (%s) on cuda",
                  what, b, x->n_tokens, rlae_end_reason_name(x->end), y->n_tokens, rlae_end_reason_name(y->end));
        int n = x->n_tokens < y->n_tokens ? x->n_tokens : y->n_tokens, bad = 0;
        for (int t = 0; t < n && !bad; t++) {
            bad |= x->tokens[t] != y->tokens[t];
            bad |= !near(y->mixed_prob[t], x->mixed_prob[t]);
            for (int k = 0; k < K; k++) {
                bad |= !near(y->member_prob[t * K + k], x->member_prob[t * K + k]);
                bad |= !near(y->member_top1[t * K + k], x->member_top1[t * K + k]);
                bad |= x->member_argmax[t * K + k] != y->member_argmax[t * K + k];
            }
            CHECK_MSG(!bad, "%s seq %d token %d: cpu %d p=%.6f (%.6f, %.6f), cuda %d p=%.6f (%.6f, %.6f)", what, b, t,
                      x->tokens[t], x->mixed_prob[t], x->member_prob[t * K], x->member_prob[t * K + 1], y->tokens[t],
                      y->mixed_prob[t], y->member_prob[t * K], y->member_prob[t * K + 1]);
        }
        CHECK_MSG(x->n_spans == y->n_spans, "%s seq %d: %d spans on cpu, %d on cuda", what, b, x->n_spans, y->n_spans);
        for (int sp = 0; sp < x->n_spans && sp < y->n_spans; sp++)
            for (int j = 0; j < K * 4; j++)
                CHECK_MSG(near(y->span_features[sp * K * 4 + j], x->span_features[sp * K * 4 + j]),
                          "%s seq %d span %d feature %d: cpu %.6f cuda %.6f", what, b, sp, j,
                          x->span_features[sp * K * 4 + j], y->span_features[sp * K * 4 + j]);
    }
    CHECK_MSG(rc->n == rg->n, "%s: the policy was called for %d rows on cpu, %d on cuda", what, rc->n, rg->n);
    for (int i = 0; i < rc->n && i < rg->n; i++) {
        const rec *x = &rc->r[i], *y = &rg->r[i];
        int bad = x->seq != y->seq || x->span != y->span || x->truncated != y->truncated;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < 4; j++)
                bad |= !near(y->f[k][j], x->f[k][j]) || !near(y->h[k][j], x->h[k][j]);
        for (int j = 0; j < NH; j++)
            bad |= !near(y->e[j], x->e[j]);
        CHECK_MSG(!bad, "%s: policy row %d (seq %d span %d%s) differs: entropy %.6f/%.6f, hidden[0] %.6f/%.6f, "
                  "encoder %.6f/%.6f", what, i, x->seq, x->span, x->truncated ? ", truncated" : "", x->f[0][0],
                  y->f[0][0], x->h[0][0], y->h[0][0], x->e[0], y->e[0]);
    }
}

static recorder rec_cpu, rec_gpu;

static void case_run(side *cpu, side *gpu, const char *what, double w0, double w1, const char *const *prompts, int B,
                     int with_encoder)
{
    rlae_episode ec[MAXB], eg[MAXB];
    rec_cpu.w[0] = rec_gpu.w[0] = w0;
    rec_cpu.w[1] = rec_gpu.w[1] = w1;
    int okc = run_side(cpu, prompts, B, with_encoder, &rec_cpu, ec);
    int okg = okc && run_side(gpu, prompts, B, with_encoder, &rec_gpu, eg);
    if (okc && okg) {
        compare(what, ec, eg, B, &rec_cpu, &rec_gpu);
        printf("%s: %d tokens in sequence 0 (%s), %d policy rows\n", what, eg[0].n_tokens,
               rlae_end_reason_name(eg[0].end), rec_gpu.n);
    }
    for (int b = 0; okc && b < B; b++)
        rlae_episode_free(&ec[b]);
    for (int b = 0; okg && b < B; b++)
        rlae_episode_free(&eg[b]);
}

int main(void)
{
    gpu_test_require_gpu();
    static side cpu, gpu;
    if (!load_side(&cpu, RLAE_DEV_CPU, RLAE_DTYPE_FP32) || !load_side(&gpu, RLAE_DEV_CUDA, RLAE_DTYPE_FP32))
        return test_summary("test_gpu_ensemble");
    CHECK(gpu.m[0].w.tok_embeddings.dtype == RLAE_F32 && gpu.m[0].cache.dtype == RLAE_F32);
    const char *one[1] = {"Once upon a time"};
    const char *four[MAXB] = {"", "Once upon a time", "The cat sat", "Lily and Tom"};
    const double w[3][K] = {{0.5, 0.5}, {1, 0}, {0, 1}};
    const char *wn[3] = {"uniform", "(1,0)", "(0,1)"};
    for (int i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s batch 1", wn[i]);
        case_run(&cpu, &gpu, what, w[i][0], w[i][1], one, 1, 0);
        snprintf(what, sizeof what, "%s batch 4", wn[i]);
        case_run(&cpu, &gpu, what, w[i][0], w[i][1], four, MAXB, 0);
    }
    case_run(&cpu, &gpu, "uniform batch 4 with an encoder", 0.5, 0.5, four, MAXB, 1);
    free_side(&gpu);

    /* bf16 members, the default on cuda: they run and record probabilities */
    static side bf;
    if (load_side(&bf, RLAE_DEV_CUDA, RLAE_DTYPE_AUTO)) {
        CHECK(bf.m[0].w.tok_embeddings.dtype == RLAE_BF16 && bf.m[0].cache.dtype == RLAE_BF16);
        rlae_episode ep[MAXB];
        rec_gpu.w[0] = rec_gpu.w[1] = 0.5;
        if (run_side(&bf, four, MAXB, 0, &rec_gpu, ep)) {
            printf("bf16 batch 4: '%.60s'\n", ep[1].text);
            for (int b = 0; b < MAXB; b++) {
                int ok = ep[b].n_tokens > 0;
                for (int t = 0; t < ep[b].n_tokens; t++)
                    ok &= ep[b].mixed_prob[t] > 0 && ep[b].mixed_prob[t] <= 1.0001f;
                CHECK_MSG(ok, "bf16 seq %d: %d tokens, a mixed probability outside (0, 1]", b, ep[b].n_tokens);
                rlae_episode_free(&ep[b]);
            }
        }
        free_side(&bf);
    }
    free_side(&cpu);
    return test_summary("test_gpu_ensemble");
}
