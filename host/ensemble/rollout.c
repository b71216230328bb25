/* The batched span rollout (rollout.h): prefill, then per step policy (at span boundaries) ->
 * mix_select -> record -> stops -> bridge (one forward per member for every running sequence).
 *
 * Bookkeeping: sequence b always uses cache slot b of every member. `active` lists the running
 * sequences; after every forward, row i of each member's logits and hidden buffers belongs to
 * active[i], so nothing is copied between steps. The host touches the chosen tokens once per step,
 * which it must: bridging and stop strings are decided on bytes.
 *
 * Members on a CUDA device (their weights moved there, rlae_member_load_on): the members' logits and
 * hidden rows, the member -> union maps (uploaded once) and mix_select's workspace live on the
 * device, allocated once in rlae_rollout_new. Per step the host uploads one small block (the rows'
 * weights, episode and step keys: d_in) and downloads one (chosen token, mixed probability, each
 * member's probability of it, top-1 and argmax: d_out); the forwards read their token ids from the
 * host as always (the forward stages its indices). At span boundaries only, the policy's inputs come
 * back: each member's logit statistics (d_stats, one copy) and last-position hidden rows. An
 * encoder member's hidden rows come back after each of its forwards (it pools them in double on the
 * host). The CPU path is the same code with host arrays, untouched by any of this. */
#include "ensemble/rollout.h"

#include "core/device.h"
#include "core/log.h"
#include "core/timer.h"
#include "dist/comm.h"
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rlae_rollout {
    rlae_member *m;
    int K;
    rlae_vocab_union *vu;
    rlae_rollout_options opt;
    char **stop;
    size_t *stop_len;
    int max_batch;
    rlae_device dev;
    rlae_mix_workspace *ws;
    int32_t *map[RLAE_MIX_MAX_MEMBERS]; /* member -> union map padded to the model's logits width */
    float *logits[RLAE_MIX_MAX_MEMBERS]; /* [max_batch, V_k] */
    float *hidden[RLAE_MIX_MAX_MEMBERS]; /* [max_batch, dim_k] */
    int32_t *feed[RLAE_MIX_MAX_MEMBERS]; /* tokens to append, sequence after sequence */
    size_t feed_cap[RLAE_MIX_MAX_MEMBERS];
    int *n_new[RLAE_MIX_MAX_MEMBERS];
    /* per running row, [max_batch] or [max_batch, K] */
    float *w_row, *w_seq, *mixed, *mprob, *mtop1, *ent, *stat_max, *stat_lse, *f_ent, *f_top1, *f_lp, *f_agree;
    int32_t *episode, *step, *token, *margmax;
    int *active, *slots, *seq_ids, *span_idx, *generated;
    uint32_t *ep_ids;
    double *acc_logp;  /* [max_batch, K] sums over the current span */
    int *acc_agree, *acc_n;
    rlae_comm *comm; /* model_parallel (rlae_rollout_set_comm); NULL: every member runs here */
    /* CUDA members only (dev == RLAE_DEV_CUDA; all empty on the CPU): logits[k] / hidden[k] point
     * into d_logits[k] / d_hidden[k] */
    rlae_tensor d_logits[RLAE_MIX_MAX_MEMBERS], d_hidden[RLAE_MIX_MAX_MEMBERS], d_map[RLAE_MIX_MAX_MEMBERS];
    rlae_tensor d_in;    /* I32 [B*K + 2B]: weights (float bits) [B, K], episode [B], step [B] */
    rlae_tensor d_out;   /* I32 [2B + 3BK]: token [B], mixed [B], member prob, top1, argmax [B, K] */
    rlae_tensor d_stats; /* F32 [K, 3, B]: max, lse, entropy per member at a span boundary */
    rlae_tensor d_enc_hid; /* F32 [enc_hid_cap]: the encoder's hidden rows of one forward */
    int32_t *h_in, *h_out;
    float *h_stats;
    float *h_hidden[RLAE_MIX_MAX_MEMBERS]; /* [B, dim_k]: hidden rows copied at span boundaries */
    /* the encoder member (rlae_rollout_set_encoder); NULL: none */
    rlae_member *enc;
    double *enc_sum;               /* [max_batch, d_enc] running sums per sequence */
    int *enc_cnt;                  /* [max_batch] tokens summed */
    float *enc_mean;               /* [max_batch, d_enc] rows of the span state */
    float *enc_hid;                /* [enc_hid_cap] hidden rows of one forward */
    size_t enc_hid_cap;
    int32_t *enc_feed;             /* tokens of one forward, sequence after sequence */
    size_t enc_feed_cap;
    int *enc_n_new, *enc_slots;    /* [max_batch] */
    int *enc_row_cnt;              /* [max_batch] tokens pooled, per row of the span state */
    int *enc_memo_at, *enc_memo_n; /* [union size]: spelling of union id u in enc_memo (n -1: not yet) */
    int *enc_memo_unspelled;
    int32_t *enc_memo;
    size_t enc_memo_len, enc_memo_cap;
    rlae_rollout_timing timing;
};

const char *rlae_end_reason_name(rlae_end_reason r)
{
    switch (r) {
    case RLAE_END_EOS: return "eos";
    case RLAE_END_STOP: return "stop";
    case RLAE_END_MAX_TOKENS: return "max_new_tokens";
    case RLAE_END_CONTEXT: return "context";
    default: return "running";
    }
}

void rlae_episode_free(rlae_episode *e)
{
    if (!e)
        return;
    free(e->text);
    free(e->raw);
    free(e->tokens);
    free(e->mixed_prob);
    free(e->member_prob);
    free(e->member_top1);
    free(e->member_argmax);
    free(e->span_start);
    free(e->span_weights);
    free(e->span_features);
    for (int k = 0; k < 8; k++)
        free(e->fed[k]);
    free(e->enc_fed);
    memset(e, 0, sizeof *e);
}

const rlae_rollout_timing *rlae_rollout_get_timing(const rlae_rollout *r) { return &r->timing; }

void rlae_rollout_free(rlae_rollout *r)
{
    if (!r)
        return;
    rlae_mix_workspace_free(r->ws);
    for (int k = 0; k < RLAE_MIX_MAX_MEMBERS; k++) {
        free(r->map[k]);
        if (r->dev == RLAE_DEV_CPU) {
            free(r->logits[k]);
            free(r->hidden[k]);
        }
        free(r->feed[k]);
        free(r->n_new[k]);
        rlae_ops_tensor_free(&r->d_logits[k]);
        rlae_ops_tensor_free(&r->d_hidden[k]);
        rlae_ops_tensor_free(&r->d_map[k]);
        free(r->h_hidden[k]);
    }
    rlae_ops_tensor_free(&r->d_in);
    rlae_ops_tensor_free(&r->d_out);
    rlae_ops_tensor_free(&r->d_stats);
    rlae_ops_tensor_free(&r->d_enc_hid);
    free(r->h_in);
    free(r->h_out);
    free(r->h_stats);
    for (int i = 0; i < r->opt.n_stop; i++)
        free(r->stop ? r->stop[i] : NULL);
    free(r->stop);
    free(r->stop_len);
    void *bufs[] = {r->w_row, r->w_seq, r->mixed, r->mprob, r->mtop1, r->ent, r->stat_max, r->stat_lse,
                    r->f_ent, r->f_top1, r->f_lp, r->f_agree, r->episode, r->step, r->token, r->margmax,
                    r->active, r->slots, r->seq_ids, r->span_idx, r->generated, r->ep_ids, r->acc_logp,
                    r->acc_agree, r->acc_n, r->enc_sum, r->enc_cnt, r->enc_mean, r->enc_hid, r->enc_feed,
                    r->enc_n_new, r->enc_slots, r->enc_row_cnt, r->enc_memo_at, r->enc_memo_n, r->enc_memo_unspelled, r->enc_memo};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(r);
}

#define ALLOC(p, n) (((p) = rlae_calloc((size_t)(n) > 0 ? (size_t)(n) : 1, sizeof *(p))) != NULL)

/* The device side of a rollout whose members are on CUDA (see the top of this file): every buffer
 * of a step, allocated once; the maps uploaded once. */
static rlae_status device_buffers(rlae_rollout *r)
{
    int K = r->K, B = r->max_batch;
    for (int k = 0; k < K; k++) {
        const rlae_model_config *c = &r->m[k].w.cfg;
        RLAE_TRY(rlae_ops_tensor_alloc(&r->d_logits[k], RLAE_F32, r->dev, 2, (int64_t[]){B, c->vocab_size}));
        RLAE_TRY(rlae_ops_tensor_alloc(&r->d_hidden[k], RLAE_F32, r->dev, 2, (int64_t[]){B, c->dim}));
        RLAE_TRY(rlae_ops_tensor_alloc(&r->d_map[k], RLAE_I32, r->dev, 1, (int64_t[]){c->vocab_size}));
        rlae_tensor hm = rlae_tensor_view(r->map[k], RLAE_I32, RLAE_DEV_CPU, 1, (int64_t[]){c->vocab_size});
        RLAE_TRY(rlae_op_copy(&r->d_map[k], &hm));
        r->logits[k] = r->d_logits[k].data;
        r->hidden[k] = r->d_hidden[k].data;
        if (!ALLOC(r->h_hidden[k], (size_t)B * c->dim))
            return RLAE_ERR_NOMEM;
    }
    int64_t n_in = (int64_t)B * K + 2 * B, n_out = 2 * (int64_t)B + 3 * (int64_t)B * K, n_st = 3 * (int64_t)B * K;
    RLAE_TRY(rlae_ops_tensor_alloc(&r->d_in, RLAE_I32, r->dev, 1, &n_in));
    RLAE_TRY(rlae_ops_tensor_alloc(&r->d_out, RLAE_I32, r->dev, 1, &n_out));
    RLAE_TRY(rlae_ops_tensor_alloc(&r->d_stats, RLAE_F32, r->dev, 1, &n_st));
    if (!ALLOC(r->h_in, n_in) || !ALLOC(r->h_out, n_out) || !ALLOC(r->h_stats, n_st))
        return RLAE_ERR_NOMEM;
    return rlae_ops_sync(r->dev); /* the maps' host copies may be read again; make the upload complete */
}

rlae_status rlae_rollout_new(rlae_member *members, int n_members, rlae_vocab_union *vu,
                             const rlae_rollout_options *opt, int max_batch, rlae_rollout **out)
{
    *out = NULL;
    if (n_members < 1 || n_members > RLAE_MIX_MAX_MEMBERS)
        return rlae_fail(RLAE_ERR_INPUT, "rollout: %d members (1..%d supported)", n_members, RLAE_MIX_MAX_MEMBERS);
    if (rlae_vocab_union_n_members(vu) != n_members)
        return rlae_fail(RLAE_ERR_INPUT, "rollout: the union was built for %d members, not %d",
                         rlae_vocab_union_n_members(vu), n_members);
    if (opt->span < 1 || opt->max_new_tokens < 1 || max_batch < 1)
        return rlae_fail(RLAE_ERR_INPUT, "rollout: span (%d), max_new_tokens (%d) and batch (%d) must be >= 1",
                         opt->span, opt->max_new_tokens, max_batch);
    /* a meta-only member (model_parallel, another rank's) has no model: only its cache's lengths and
     * device (the ensemble's) are checked */
    for (int k = 0; k < n_members; k++) {
        if ((!members[k].meta_only && members[k].model.max_seqs < max_batch) || members[k].cache.n_slots < max_batch)
            return rlae_fail(RLAE_ERR_INPUT, "rollout: member '%s' was loaded for batches of %d, not %d",
                             members[k].name, members[k].cache.n_slots, max_batch);
        if (members[k].cache.device != members[0].cache.device)
            return rlae_fail(RLAE_ERR_UNSUPPORTED, "rollout: members '%s' and '%s' are on different devices",
                             members[0].name, members[k].name);
    }
    rlae_rollout *r = rlae_calloc(1, sizeof *r);
    if (!r)
        return RLAE_ERR_NOMEM;
    r->m = members;
    r->K = n_members;
    r->vu = vu;
    r->opt = *opt;
    r->max_batch = max_batch;
    r->dev = members[0].cache.device;
    int K = n_members, B = max_batch;
    rlae_status s = RLAE_ERR_NOMEM;
    if (opt->n_stop > 0) {
        if (!ALLOC(r->stop, opt->n_stop) || !ALLOC(r->stop_len, opt->n_stop))
            goto fail;
        for (int i = 0; i < opt->n_stop; i++) {
            r->stop_len[i] = strlen(opt->stop[i]);
            if (r->stop_len[i] == 0) {
                r->opt.n_stop = i;
                s = rlae_fail(RLAE_ERR_INPUT, "rollout: stop string %d is empty; remove it from ensemble.stop", i);
                goto fail;
            }
            if (!(r->stop[i] = rlae_strdup(opt->stop[i]))) {
                r->opt.n_stop = i;
                goto fail;
            }
        }
    }
    r->opt.stop = NULL;
    int vocab[RLAE_MIX_MAX_MEMBERS];
    for (int k = 0; k < K; k++) {
        const rlae_model_config *c = &members[k].w.cfg;
        vocab[k] = c->vocab_size;
        int tv = rlae_tokenizer_vocab_size(members[k].tok);
        const int32_t *map = rlae_vocab_union_member_map(vu, k);
        if (!ALLOC(r->map[k], c->vocab_size) || !ALLOC(r->n_new[k], B))
            goto fail;
        if (r->dev == RLAE_DEV_CPU &&
            (!ALLOC(r->logits[k], (size_t)B * c->vocab_size) || !ALLOC(r->hidden[k], (size_t)B * c->dim)))
            goto fail;
        for (int t = 0; t < c->vocab_size; t++)
            r->map[k][t] = t < tv ? map[t] : -1; /* logits past the tokenizer's ids spell nothing */
        r->feed_cap[k] = (size_t)B * 8;
        if (!ALLOC(r->feed[k], r->feed_cap[k]))
            goto fail;
    }
    if (!ALLOC(r->w_row, B * K) || !ALLOC(r->w_seq, B * K) || !ALLOC(r->mixed, B) || !ALLOC(r->mprob, B * K) ||
        !ALLOC(r->mtop1, B * K) || !ALLOC(r->ent, B * K) || !ALLOC(r->stat_max, B) || !ALLOC(r->stat_lse, B) ||
        !ALLOC(r->f_ent, B * K) || !ALLOC(r->f_top1, B * K) || !ALLOC(r->f_lp, B * K) || !ALLOC(r->f_agree, B * K) ||
        !ALLOC(r->episode, B) || !ALLOC(r->step, B) || !ALLOC(r->token, B) || !ALLOC(r->margmax, B * K) ||
        !ALLOC(r->active, B) || !ALLOC(r->slots, B) || !ALLOC(r->seq_ids, B) || !ALLOC(r->span_idx, B) ||
        !ALLOC(r->generated, B) || !ALLOC(r->ep_ids, B) || !ALLOC(r->acc_logp, B * K) ||
        !ALLOC(r->acc_agree, B * K) || !ALLOC(r->acc_n, B))
        goto fail;
    if (r->dev != RLAE_DEV_CPU && (s = device_buffers(r)) != RLAE_OK) {
        s = rlae_wrap(s, "rollout: buffers of %d members on %s: ", K, rlae_device_name(r->dev));
        goto fail;
    }
    if ((s = rlae_mix_workspace_new(r->dev, B, K, vocab, rlae_vocab_union_size(vu), &r->ws)) != RLAE_OK)
        goto fail;
    *out = r;
    return RLAE_OK;
fail:
    rlae_rollout_free(r);
    return s;
}

/* CUDA members, before mix_select: the n rows' weights, episode and step keys (host arrays) in one
 * upload to d_in; io[0..7] become the device addresses of mix_select's inputs and outputs (weights,
 * episode, step, token, mixed, member prob, top1, argmax) inside d_in / d_out. */
static rlae_status device_step_in(rlae_rollout *r, int n, void **io)
{
    size_t B = (size_t)r->max_batch, K = (size_t)r->K;
    memcpy(r->h_in, r->w_row, (size_t)n * K * sizeof(float));
    memcpy(r->h_in + B * K, r->episode, (size_t)n * sizeof(int32_t));
    memcpy(r->h_in + B * K + B, r->step, (size_t)n * sizeof(int32_t));
    rlae_tensor src = rlae_tensor_view(r->h_in, RLAE_I32, RLAE_DEV_CPU, 1, r->d_in.shape);
    RLAE_TRY(rlae_op_copy(&r->d_in, &src));
    int32_t *in = r->d_in.data, *out = r->d_out.data;
    void *dev[8] = {in, in + B * K, in + B * K + B, out, out + B, out + 2 * B, out + 2 * B + B * K,
                    out + 2 * B + 2 * B * K};
    memcpy(io, dev, sizeof dev);
    return RLAE_OK;
}

/* CUDA members, after mix_select: d_out in one download (it waits for the step), unpacked into the
 * host arrays the rollout records from. */
static rlae_status device_step_out(rlae_rollout *r, int n)
{
    size_t B = (size_t)r->max_batch, K = (size_t)r->K, nk = (size_t)n * K;
    rlae_tensor dst = rlae_tensor_view(r->h_out, RLAE_I32, RLAE_DEV_CPU, 1, r->d_out.shape);
    RLAE_TRY(rlae_op_copy(&dst, &r->d_out));
    const int32_t *h = r->h_out;
    memcpy(r->token, h, (size_t)n * sizeof(int32_t));
    memcpy(r->mixed, h + B, (size_t)n * sizeof(float));
    memcpy(r->mprob, h + 2 * B, nk * sizeof(float));
    memcpy(r->mtop1, h + 2 * B + B * K, nk * sizeof(float));
    memcpy(r->margmax, h + 2 * B + 2 * B * K, nk * sizeof(int32_t));
    return RLAE_OK;
}

/* Allocates the per-episode arrays for at most `max_tokens` tokens. */
static rlae_status episode_init(rlae_episode *e, int K, uint32_t episode, int max_tokens, int span)
{
    memset(e, 0, sizeof *e);
    e->n_members = K;
    e->episode = episode;
    int max_spans = (max_tokens + span - 1) / span + 1;
    if (!ALLOC(e->tokens, max_tokens) || !ALLOC(e->mixed_prob, max_tokens) ||
        !ALLOC(e->member_prob, (size_t)max_tokens * K) || !ALLOC(e->member_top1, (size_t)max_tokens * K) ||
        !ALLOC(e->member_argmax, (size_t)max_tokens * K) || !ALLOC(e->span_start, max_spans) ||
        !ALLOC(e->span_weights, (size_t)max_spans * K) || !ALLOC(e->span_features, (size_t)max_spans * K * 4) ||
        !ALLOC(e->raw, 64) || !ALLOC(e->text, 1))
        return RLAE_ERR_NOMEM;
    return RLAE_OK;
}

static rlae_status grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return RLAE_OK;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *np = rlae_realloc(*p, nc * elem);
    if (!np)
        return RLAE_ERR_NOMEM;
    *p = np;
    *cap = nc;
    return RLAE_OK;
}

/* Appends ids to member k's record of what it was fed (record_fed only). */
static rlae_status record_fed(rlae_episode *e, int k, size_t *cap, const int32_t *ids, int n)
{
    void *p = e->fed[k];
    RLAE_TRY(grow(&p, cap, (size_t)e->n_fed[k] + (size_t)n + 1, sizeof(int32_t)));
    e->fed[k] = p;
    memcpy(e->fed[k] + e->n_fed[k], ids, (size_t)n * sizeof(int32_t));
    e->n_fed[k] += n;
    return RLAE_OK;
}

void rlae_rollout_set_comm(rlae_rollout *r, rlae_comm *comm)
{
    r->comm = comm && rlae_comm_size(comm) > 1 ? comm : NULL;
}

/* Member k's forward of n sequences. model_parallel: only the member's rank (k % size) runs it;
 * the others just advance the member's cache lengths (they hold no state of it that is read: there
 * the member is loaded meta-only, its cache being the host-side lengths that the context checks
 * read), and members_share then hands every rank the outputs. A meta-only member asked to run
 * here is an error (rlae_member_forward). */
static rlae_status member_compute(rlae_rollout *r, int k, int n, const int *slots, const int *n_new,
                                  const int32_t *tokens)
{
    rlae_member *m = &r->m[k];
    if (r->comm && rlae_comm_chunk_owner(r->comm, k) != rlae_comm_rank(r->comm)) {
        for (int i = 0; i < n; i++)
            m->cache.len[slots[i]] += n_new[i];
        return RLAE_OK;
    }
    return rlae_member_forward(m, n, slots, n_new, tokens, r->logits[k], r->hidden[k]);
}

/* model_parallel, after every member_compute of a step: each member's logits and hidden rows go
 * from its rank to every rank, so every rank mixes exactly the numbers one process would. The
 * members' logits are moved rather than the weighted union distributions summed across ranks: the
 * mixer adds member after member into one float accumulator, several tokens of one member may land
 * on one union entry, and per-rank partial sums would round differently (docs/distributed.md). */
static rlae_status members_share(rlae_rollout *r, int n)
{
    if (!r->comm)
        return RLAE_OK;
    rlae_timer tm;
    rlae_timer_start(&tm);
    for (int k = 0; k < r->K; k++) {
        int owner = rlae_comm_chunk_owner(r->comm, k);
        const rlae_model_config *c = &r->m[k].w.cfg;
        RLAE_TRY(rlae_comm_bcast(r->comm, r->logits[k], sizeof(float) * (size_t)n * c->vocab_size, owner, r->dev));
        RLAE_TRY(rlae_comm_bcast(r->comm, r->hidden[k], sizeof(float) * (size_t)n * c->dim, owner, r->dev));
        r->timing.comm_bytes += (long)(sizeof(float) * (size_t)n * (c->vocab_size + c->dim));
    }
    r->timing.comm += rlae_timer_elapsed(&tm);
    return RLAE_OK;
}

rlae_status rlae_rollout_set_encoder(rlae_rollout *r, rlae_member *enc)
{
    if (!enc) {
        r->enc = NULL;
        return RLAE_OK;
    }
    if (enc->meta_only)
        return rlae_fail(RLAE_ERR_INPUT, "rollout: the encoder '%s' was loaded without its weights; every rank "
                         "runs the encoder, so load it with rlae_member_load_on", enc->name);
    if (enc->model.max_seqs < r->max_batch || enc->cache.n_slots < r->max_batch)
        return rlae_fail(RLAE_ERR_INPUT, "rollout: encoder '%s' was loaded for batches of %d, not %d", enc->name,
                         enc->cache.n_slots, r->max_batch);
    if (enc->model.device != r->dev)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "rollout: the encoder '%s' is on another device than the members",
                         enc->name);
    size_t B = (size_t)r->max_batch, d = (size_t)enc->w.cfg.dim, U = (size_t)rlae_vocab_union_size(r->vu);
    void *bufs[] = {r->enc_sum, r->enc_cnt, r->enc_mean, r->enc_n_new, r->enc_slots, r->enc_row_cnt, r->enc_memo_at,
                    r->enc_memo_n, r->enc_memo_unspelled};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    r->enc = NULL;
    if (!ALLOC(r->enc_sum, B * d) || !ALLOC(r->enc_cnt, B) || !ALLOC(r->enc_mean, B * d) ||
        !ALLOC(r->enc_n_new, B) || !ALLOC(r->enc_slots, B) || !ALLOC(r->enc_row_cnt, B) || !ALLOC(r->enc_memo_at, U) ||
        !ALLOC(r->enc_memo_n, U) || !ALLOC(r->enc_memo_unspelled, U))
        return RLAE_ERR_NOMEM;
    for (size_t u = 0; u < U; u++)
        r->enc_memo_n[u] = -1;
    r->enc = enc;
    return RLAE_OK;
}

/* The encoder's spelling of union entry u (memoised): *at indexes r->enc_memo (which may move when
 * a later entry is added, so callers copy before the next call). */
static rlae_status enc_spelling(rlae_rollout *r, int u, size_t *at, int *n, int *unspelled)
{
    if (r->enc_memo_n[u] < 0) {
        size_t nb, cnt = 0, uns = 0;
        const uint8_t *bytes = rlae_vocab_union_bytes(r->vu, u, &nb);
        int32_t *ids = NULL;
        RLAE_TRY(rlae_tokenizer_spell(r->enc->tok, bytes ? (const void *)bytes : "", bytes ? nb : 0, &ids, &cnt, &uns));
        void *p = r->enc_memo;
        rlae_status s = grow(&p, &r->enc_memo_cap, r->enc_memo_len + cnt, sizeof(int32_t));
        if (s != RLAE_OK) {
            free(ids);
            return s;
        }
        r->enc_memo = p;
        memcpy(r->enc_memo + r->enc_memo_len, ids, cnt * sizeof(int32_t));
        free(ids);
        r->enc_memo_at[u] = (int)r->enc_memo_len;
        r->enc_memo_n[u] = (int)cnt;
        r->enc_memo_unspelled[u] = (int)uns;
        r->enc_memo_len += cnt;
    }
    *at = (size_t)r->enc_memo_at[u];
    *n = r->enc_memo_n[u];
    *unspelled = r->enc_memo_unspelled[u];
    return RLAE_OK;
}

/* Appends the encoder's spelling of union token u to sequence b's slot in this step's feed (row
 * `row`, *fed tokens so far), unless its context is full (then it stops reading b for good). */
static rlae_status enc_queue(rlae_rollout *r, rlae_episode *e, int b, int u, int row, size_t *fed, size_t *rec_cap)
{
    r->enc_slots[row] = b;
    r->enc_n_new[row] = 0;
    if (e->enc_full)
        return RLAE_OK;
    size_t at;
    int n, unspelled;
    RLAE_TRY(enc_spelling(r, u, &at, &n, &unspelled));
    if (rlae_kv_cache_len(&r->enc->cache, b) + n > r->enc->cache.capacity) {
        e->enc_full = 1;
        return RLAE_OK;
    }
    void *f = r->enc_feed;
    RLAE_TRY(grow(&f, &r->enc_feed_cap, *fed + (size_t)n, sizeof(int32_t)));
    r->enc_feed = f;
    memcpy(r->enc_feed + *fed, r->enc_memo + at, (size_t)n * sizeof(int32_t));
    *fed += (size_t)n;
    r->enc_n_new[row] = n;
    e->enc_unspelled += unspelled;
    if (r->opt.record_fed) {
        void *p = e->enc_fed;
        RLAE_TRY(grow(&p, rec_cap, (size_t)e->n_enc_fed + (size_t)n + 1, sizeof(int32_t)));
        e->enc_fed = p;
        memcpy(e->enc_fed + e->n_enc_fed, r->enc_memo + at, (size_t)n * sizeof(int32_t));
        e->n_enc_fed += n;
    }
    return RLAE_OK;
}

/* The encoder's forward of the queued tokens of rows 0..n-1 (rows with nothing to read are left
 * out of the call) and the running sums: every new token's post-norm hidden state is added. */
static rlae_status enc_compute(rlae_rollout *r, int n, rlae_episode *ep)
{
    rlae_timer tm;
    rlae_timer_start(&tm);
    int m = 0;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (r->enc_n_new[i] > 0) { /* compact: rows keep their order, so the feed stays in place */
            r->enc_slots[m] = r->enc_slots[i];
            r->enc_n_new[m] = r->enc_n_new[i];
            total += (size_t)r->enc_n_new[i];
            m++;
        }
    if (m == 0)
        return RLAE_OK;
    const size_t d = (size_t)r->enc->w.cfg.dim;
    void *h = r->enc_hid;
    RLAE_TRY(grow(&h, &r->enc_hid_cap, total * d, sizeof(float)));
    r->enc_hid = h;
    if (r->dev == RLAE_DEV_CPU)
        RLAE_TRY(rlae_forward_hidden_all(&r->enc->model, &r->enc->cache, m, r->enc_slots, r->enc_n_new, r->enc_feed,
                                         r->enc_hid));
    else {
        /* the rows land on the device (its buffer grows with the host one: prefill sets the size,
         * steps then fit) and come back for the pooling */
        int64_t cap = (int64_t)r->enc_hid_cap, rows = (int64_t)(total * d);
        if (rlae_tensor_numel(&r->d_enc_hid) < cap) {
            rlae_ops_tensor_free(&r->d_enc_hid);
            RLAE_TRY(rlae_ops_tensor_alloc(&r->d_enc_hid, RLAE_F32, r->dev, 1, &cap));
        }
        RLAE_TRY(rlae_forward_hidden_all(&r->enc->model, &r->enc->cache, m, r->enc_slots, r->enc_n_new, r->enc_feed,
                                         r->d_enc_hid.data));
        rlae_tensor src = rlae_tensor_view(r->d_enc_hid.data, RLAE_F32, r->dev, 1, &rows);
        rlae_tensor dst = rlae_tensor_view(r->enc_hid, RLAE_F32, RLAE_DEV_CPU, 1, &rows);
        RLAE_TRY(rlae_op_copy(&dst, &src));
    }
    const float *row = r->enc_hid;
    for (int i = 0; i < m; i++) {
        int b = r->enc_slots[i];
        double *sum = r->enc_sum + (size_t)b * d;
        for (int t = 0; t < r->enc_n_new[i]; t++, row += d)
            for (size_t j = 0; j < d; j++)
                sum[j] += row[j];
        r->enc_cnt[b] += r->enc_n_new[i];
        ep[b].enc_tokens = r->enc_cnt[b];
    }
    r->timing.encoder += rlae_timer_elapsed(&tm);
    return RLAE_OK;
}

/* The encoder's prompts for the B sequences: encoded its own way, read from an empty cache. */
static rlae_status enc_prefill(rlae_rollout *r, const rlae_rollout_request *req, int B, rlae_episode *ep)
{
    rlae_member *m = r->enc;
    const size_t d = (size_t)m->w.cfg.dim;
    size_t fed = 0;
    rlae_status s = RLAE_OK;
    for (int b = 0; b < B && s == RLAE_OK; b++) {
        int32_t *ids = NULL;
        size_t n = 0;
        s = rlae_member_encode_prompt(m, req[b].system, req[b].user ? req[b].user : "", &ids, &n);
        if (s == RLAE_OK && (long)n >= m->cache.capacity)
            s = rlae_fail(RLAE_ERR_INPUT, "prompt %d has %zu tokens for the encoder '%s', whose context holds %d; "
                          "shorten the prompt or choose an encoder with a longer context (encoder.path)", b, n,
                          m->name, m->cache.capacity);
        if (s == RLAE_OK)
            s = rlae_kv_cache_reset(&m->cache, b);
        void *f = r->enc_feed;
        if (s == RLAE_OK && (s = grow(&f, &r->enc_feed_cap, fed + n, sizeof(int32_t))) == RLAE_OK) {
            r->enc_feed = f;
            memcpy(r->enc_feed + fed, ids, n * sizeof(int32_t));
            fed += n;
            r->enc_slots[b] = b;
            r->enc_n_new[b] = (int)n;
            r->enc_cnt[b] = 0;
            memset(r->enc_sum + (size_t)b * d, 0, d * sizeof(double));
            ep[b].enc_prompt_len = (int)n;
        }
        free(ids);
    }
    return s == RLAE_OK ? enc_compute(r, B, ep) : s;
}

/* Prompt encoding and prefill of every member for the B sequences. */
static rlae_status prefill(rlae_rollout *r, const rlae_rollout_request *req, int B, rlae_episode *ep)
{
    rlae_status s = RLAE_OK;
    for (int k = 0; k < r->K && s == RLAE_OK; k++) {
        rlae_member *m = &r->m[k];
        int32_t **ids = rlae_calloc((size_t)B, sizeof *ids);
        size_t *n = rlae_calloc((size_t)B, sizeof *n);
        if (!ids || !n)
            s = RLAE_ERR_NOMEM;
        size_t total = 0;
        for (int b = 0; b < B && s == RLAE_OK; b++) {
            s = rlae_member_encode_prompt(m, req[b].system, req[b].user ? req[b].user : "", &ids[b], &n[b]);
            if (s == RLAE_OK && (long)n[b] >= m->cache.capacity)
                s = rlae_fail(RLAE_ERR_INPUT, "prompt %d has %zu tokens for member '%s', whose context holds %d; "
                              "shorten the prompt", b, n[b], m->name, m->cache.capacity);
            if (s == RLAE_OK) {
                total += n[b];
                ep[b].prompt_len[k] = (int)n[b];
                r->n_new[k][b] = (int)n[b];
                r->slots[b] = b;
                s = rlae_kv_cache_reset(&m->cache, b);
            }
        }
        int32_t *flat = s == RLAE_OK ? rlae_malloc(total * sizeof *flat) : NULL;
        if (s == RLAE_OK && !flat)
            s = RLAE_ERR_NOMEM;
        for (int b = 0, at = 0; b < B && s == RLAE_OK; at += (int)n[b], b++)
            memcpy(flat + at, ids[b], n[b] * sizeof *flat);
        if (s == RLAE_OK)
            s = member_compute(r, k, B, r->slots, r->n_new[k], flat);
        free(flat);
        for (int b = 0; b < B && ids; b++)
            free(ids[b]);
        free(ids);
        free(n);
    }
    return s == RLAE_OK ? members_share(r, B) : s;
}

/* CUDA members, at a span boundary: every member's logit statistics of rows 0..n-1 into d_stats
 * (one launch per member), then one copy of them and one of each member's hidden rows to the host. */
static rlae_status device_span_inputs(rlae_rollout *r, int n)
{
    size_t B = (size_t)r->max_batch;
    int64_t sh1[1] = {n};
    for (int k = 0; k < r->K; k++) {
        int64_t sh2[2] = {n, r->m[k].w.cfg.vocab_size};
        float *st = (float *)r->d_stats.data + (size_t)k * 3 * B;
        rlae_tensor x = rlae_tensor_view(r->logits[k], RLAE_F32, r->dev, 2, sh2);
        rlae_tensor mx = rlae_tensor_view(st, RLAE_F32, r->dev, 1, sh1);
        rlae_tensor lse = rlae_tensor_view(st + B, RLAE_F32, r->dev, 1, sh1);
        rlae_tensor en = rlae_tensor_view(st + 2 * B, RLAE_F32, r->dev, 1, sh1);
        RLAE_TRY(rlae_op_logit_stats(&x, &mx, &lse, &en));
    }
    rlae_tensor hs = rlae_tensor_view(r->h_stats, RLAE_F32, RLAE_DEV_CPU, 1, r->d_stats.shape);
    RLAE_TRY(rlae_op_copy(&hs, &r->d_stats));
    for (int k = 0; k < r->K; k++) {
        int64_t sh2[2] = {n, r->m[k].w.cfg.dim};
        rlae_tensor src = rlae_tensor_view(r->hidden[k], RLAE_F32, r->dev, 2, sh2);
        rlae_tensor dst = rlae_tensor_view(r->h_hidden[k], RLAE_F32, RLAE_DEV_CPU, 2, sh2);
        RLAE_TRY(rlae_op_copy(&dst, &src));
    }
    return RLAE_OK;
}

/* What a policy sees for the n_active rows of r->active (rlae_span_state): statistics of every
 * member's next-token distribution, the last span's features, the hidden states. */
static rlae_status span_state(rlae_rollout *r, int n_active, int t, const rlae_episode *ep, int max_new,
                              const float **hid, int *hdim, rlae_span_state *st)
{
    int K = r->K;
    if (r->dev != RLAE_DEV_CPU)
        RLAE_TRY(device_span_inputs(r, n_active));
    for (int k = 0; k < K; k++) {
        const float *smax = r->stat_max, *slse = r->stat_lse, *sent = r->ent;
        if (r->dev == RLAE_DEV_CPU) {
            int V = r->m[k].w.cfg.vocab_size;
            int64_t sh2[2] = {n_active, V}, sh1[1] = {n_active};
            rlae_tensor x = rlae_tensor_view(r->logits[k], RLAE_F32, r->dev, 2, sh2);
            rlae_tensor mx = rlae_tensor_view(r->stat_max, RLAE_F32, r->dev, 1, sh1);
            rlae_tensor lse = rlae_tensor_view(r->stat_lse, RLAE_F32, r->dev, 1, sh1);
            rlae_tensor en = rlae_tensor_view(r->ent, RLAE_F32, r->dev, 1, sh1);
            RLAE_TRY(rlae_op_logit_stats(&x, &mx, &lse, &en));
        } else {
            const float *hs = r->h_stats + (size_t)k * 3 * r->max_batch;
            smax = hs;
            slse = hs + r->max_batch;
            sent = hs + 2 * (size_t)r->max_batch;
        }
        for (int i = 0; i < n_active; i++) {
            int b = r->active[i];
            r->f_ent[i * K + k] = sent[i];
            r->f_top1[i * K + k] = expf(smax[i] - slse[i]);
            int cnt = r->acc_n[b];
            r->f_lp[i * K + k] = cnt ? (float)(r->acc_logp[b * K + k] / cnt) : 0.0f;
            r->f_agree[i * K + k] = cnt ? (float)r->acc_agree[b * K + k] / (float)cnt : 0.0f;
        }
    }
    for (int k = 0; k < K; k++) {
        hid[k] = r->dev == RLAE_DEV_CPU ? r->hidden[k] : r->h_hidden[k];
        hdim[k] = r->m[k].w.cfg.dim;
    }
    for (int i = 0; i < n_active; i++) {
        int b = r->active[i];
        r->seq_ids[i] = b;
        r->ep_ids[i] = ep[b].episode;
        r->span_idx[i] = ep[b].n_spans;
        r->generated[i] = t;
    }
    *st = (rlae_span_state){.n = n_active, .n_members = K, .seq = r->seq_ids, .episode = r->ep_ids,
                            .span_index = r->span_idx, .generated = r->generated, .max_new_tokens = max_new,
                            .hidden = hid, .hidden_dim = hdim, .entropy = r->f_ent, .top1 = r->f_top1,
                            .span_logprob = r->f_lp, .span_agree = r->f_agree};
    if (r->enc) {
        const size_t d = (size_t)r->enc->w.cfg.dim;
        for (int i = 0; i < n_active; i++) {
            int b = r->active[i];
            const double *sum = r->enc_sum + (size_t)b * d;
            double cnt = r->enc_cnt[b] > 0 ? (double)r->enc_cnt[b] : 1.0;
            for (size_t j = 0; j < d; j++)
                r->enc_mean[(size_t)i * d + j] = (float)(sum[j] / cnt);
            r->enc_row_cnt[i] = r->enc_cnt[b];
        }
        st->encoder = r->enc_mean;
        st->encoder_dim = (int)d;
        st->encoder_tokens = r->enc_row_cnt;
    }
    return RLAE_OK;
}

/* Span boundary: the policy's weights for the running rows (validated and normalised), recorded
 * into each episode with the features it saw. */
static rlae_status span_boundary(rlae_rollout *r, int n_active, int t, rlae_weight_policy *pol, rlae_episode *ep,
                                 int max_new)
{
    int K = r->K;
    const float *hid[RLAE_MIX_MAX_MEMBERS];
    int hdim[RLAE_MIX_MAX_MEMBERS];
    rlae_span_state st;
    RLAE_TRY(span_state(r, n_active, t, ep, max_new, hid, hdim, &st));
    RLAE_TRY(pol->decide(pol, &st, r->w_row));
    /* model_parallel: every rank's policy saw the same state; rank 0's weights are the ones used */
    if (r->comm)
        RLAE_TRY(rlae_comm_bcast(r->comm, r->w_row, sizeof(float) * (size_t)n_active * K, 0, RLAE_DEV_CPU));
    for (int i = 0; i < n_active; i++) {
        int b = r->active[i];
        double sum = 0;
        for (int k = 0; k < K; k++) {
            float w = r->w_row[i * K + k];
            if (!isfinite(w) || w < 0)
                return rlae_fail(RLAE_ERR_RUNTIME, "weight policy '%s' gave member %d the weight %g (sequence %d, "
                                 "span %d); weights must be finite and >= 0", pol->name, k, (double)w, b,
                                 ep[b].n_spans);
            sum += w;
        }
        if (!(sum > 0))
            return rlae_fail(RLAE_ERR_RUNTIME, "weight policy '%s' gave sequence %d all-zero weights at span %d",
                             pol->name, b, ep[b].n_spans);
        rlae_episode *e = &ep[b];
        int sp = e->n_spans++;
        e->span_start[sp] = t;
        for (int k = 0; k < K; k++) {
            float w = (float)(r->w_row[i * K + k] / sum);
            r->w_seq[b * K + k] = w;
            e->span_weights[sp * K + k] = w;
            float *f = e->span_features + ((size_t)sp * K + k) * 4;
            f[0] = r->f_ent[i * K + k];
            f[1] = r->f_top1[i * K + k];
            f[2] = r->f_lp[i * K + k];
            f[3] = r->f_agree[i * K + k];
            r->acc_logp[b * K + k] = 0;
            r->acc_agree[b * K + k] = 0;
        }
        r->acc_n[b] = 0;
    }
    return RLAE_OK;
}

/* Index where a stop string occurs in raw[0..len) if it ends inside the bytes appended since
 * `from` (earlier ones were checked before), else -1. */
static long find_stop(const rlae_rollout *r, const char *raw, size_t len, size_t from)
{
    long best = -1;
    for (int i = 0; i < r->opt.n_stop; i++) {
        size_t sl = r->stop_len[i];
        if (sl > len)
            continue;
        size_t start = from >= sl - 1 ? from - (sl - 1) : 0;
        for (size_t p = start; p + sl <= len; p++)
            if (memcmp(raw + p, r->stop[i], sl) == 0) {
                if (best < 0 || (long)p < best)
                    best = (long)p;
                break;
            }
    }
    return best;
}

/* For sequences truncated by max_new_tokens: feed the last chosen token (where every member's
 * context still has room) and show the policy the state after it, so a critic can bootstrap V(s_T).
 * Sequences cut by a full context cannot be fed and are not shown. */
static rlae_status final_states(rlae_rollout *r, int B, rlae_weight_policy *pol, rlae_episode *ep, int max_new)
{
    int K = r->K, n = 0;
    size_t feed_n[RLAE_MIX_MAX_MEMBERS] = {0}, enc_fed = 0;
    for (int b = 0; b < B; b++) {
        rlae_episode *e = &ep[b];
        if (e->end != RLAE_END_MAX_TOKENS || e->n_tokens == 0)
            continue;
        int u = e->tokens[e->n_tokens - 1], cnt[RLAE_MIX_MAX_MEMBERS], fits = 1, unspelled;
        const int32_t *ids[RLAE_MIX_MAX_MEMBERS];
        for (int k = 0; k < K; k++) {
            RLAE_TRY(rlae_vocab_union_member_tokens(r->vu, k, u, &ids[k], &cnt[k], &unspelled));
            fits &= cnt[k] > 0 && rlae_kv_cache_len(&r->m[k].cache, b) + cnt[k] <= r->m[k].cache.capacity;
        }
        if (!fits)
            continue;
        for (int k = 0; k < K; k++) {
            void *f = r->feed[k];
            RLAE_TRY(grow(&f, &r->feed_cap[k], feed_n[k] + (size_t)cnt[k], sizeof(int32_t)));
            r->feed[k] = f;
            memcpy(r->feed[k] + feed_n[k], ids[k], (size_t)cnt[k] * sizeof(int32_t));
            feed_n[k] += (size_t)cnt[k];
            r->n_new[k][n] = cnt[k];
        }
        if (r->enc) {
            size_t rec_cap = (size_t)e->n_enc_fed; /* grows from the exact length: realloc keeps the data */
            RLAE_TRY(enc_queue(r, e, b, u, n, &enc_fed, &rec_cap));
        }
        r->active[n] = b;
        r->slots[n] = b;
        n++;
    }
    if (n == 0)
        return RLAE_OK;
    for (int k = 0; k < K; k++)
        RLAE_TRY(member_compute(r, k, n, r->slots, r->n_new[k], r->feed[k]));
    RLAE_TRY(members_share(r, n));
    if (r->enc)
        RLAE_TRY(enc_compute(r, n, ep));
    const float *hid[RLAE_MIX_MAX_MEMBERS];
    int hdim[RLAE_MIX_MAX_MEMBERS];
    rlae_span_state st;
    RLAE_TRY(span_state(r, n, max_new, ep, max_new, hid, hdim, &st));
    return pol->on_truncated(pol, &st);
}

rlae_status rlae_rollout_run(rlae_rollout *r, const rlae_rollout_request *req, int B, rlae_weight_policy *pol,
                             rlae_episode *ep)
{
    if (B < 1 || B > r->max_batch)
        return rlae_fail(RLAE_ERR_INPUT, "rollout: batch of %d (this rollout takes 1..%d)", B, r->max_batch);
    int K = r->K, max_new = r->opt.max_new_tokens;
    rlae_status s = RLAE_OK;
    size_t raw_cap[B], fed_cap[B][8], enc_rec_cap[B];
    memset(fed_cap, 0, sizeof fed_cap);
    memset(enc_rec_cap, 0, sizeof enc_rec_cap);
    for (int b = 0; b < B; b++) {
        raw_cap[b] = 64;
        if ((s = episode_init(&ep[b], K, req[b].episode, max_new, r->opt.span)) != RLAE_OK)
            goto fail;
    }
    int strip_space = 0;
    for (int k = 0; k < K; k++)
        strip_space |= rlae_tokenizer_adds_prefix_space(r->m[k].tok);

    rlae_timer tm;
    rlae_timer_start(&tm);
    if ((s = prefill(r, req, B, ep)) != RLAE_OK)
        goto fail;
    r->timing.prefill += rlae_timer_elapsed(&tm);
    if (r->enc && (s = enc_prefill(r, req, B, ep)) != RLAE_OK)
        goto fail;

    int n_active = B;
    for (int b = 0; b < B; b++) {
        r->active[b] = b;
        r->acc_n[b] = 0;
    }
    rlae_mix_params mp = rlae_mix_params_default();
    mp.temperature = r->opt.temperature;
    mp.top_k = r->opt.top_k;
    mp.top_p = r->opt.top_p;
    mp.seed = r->opt.seed;
    mp.member_topk = pol->mix_member_topk;
    mp.gate_member = pol->mix_gate_member;
    mp.gate_threshold = pol->mix_gate_threshold;

    for (int t = 0; t < max_new && n_active > 0; t++) {
        if (t % r->opt.span == 0) {
            rlae_timer_start(&tm);
            if ((s = span_boundary(r, n_active, t, pol, ep, max_new)) != RLAE_OK)
                goto fail;
            r->timing.policy += rlae_timer_elapsed(&tm);
        }
        /* mix */
        rlae_timer_start(&tm);
        for (int i = 0; i < n_active; i++) {
            int b = r->active[i];
            memcpy(r->w_row + i * K, r->w_seq + b * K, (size_t)K * sizeof(float));
            r->episode[i] = (int32_t)ep[b].episode;
            r->step[i] = t;
        }
        /* where mix_select reads and writes: the host arrays on the CPU, d_in / d_out on a device */
        void *io[8] = {r->w_row, r->episode, r->step, r->token, r->mixed, r->mprob, r->mtop1, r->margmax};
        if (r->dev != RLAE_DEV_CPU && (s = device_step_in(r, n_active, io)) != RLAE_OK)
            goto fail;
        rlae_tensor lg[RLAE_MIX_MAX_MEMBERS], mp_t[RLAE_MIX_MAX_MEMBERS];
        for (int k = 0; k < K; k++) {
            int V = r->m[k].w.cfg.vocab_size;
            int64_t sh[2] = {n_active, V}, shm[1] = {V};
            lg[k] = rlae_tensor_view(r->logits[k], RLAE_F32, r->dev, 2, sh);
            mp_t[k] = rlae_tensor_view(r->dev == RLAE_DEV_CPU ? r->map[k] : r->d_map[k].data, RLAE_I32, r->dev, 1, shm);
        }
        int64_t shB[1] = {n_active}, shBK[2] = {n_active, K};
        rlae_tensor w_t = rlae_tensor_view(io[0], RLAE_F32, r->dev, 2, shBK);
        rlae_tensor ep_t = rlae_tensor_view(io[1], RLAE_I32, r->dev, 1, shB);
        rlae_tensor st_t = rlae_tensor_view(io[2], RLAE_I32, r->dev, 1, shB);
        rlae_tensor tok_t = rlae_tensor_view(io[3], RLAE_I32, r->dev, 1, shB);
        rlae_tensor mix_t = rlae_tensor_view(io[4], RLAE_F32, r->dev, 1, shB);
        rlae_tensor mpr_t = rlae_tensor_view(io[5], RLAE_F32, r->dev, 2, shBK);
        rlae_tensor top_t = rlae_tensor_view(io[6], RLAE_F32, r->dev, 2, shBK);
        rlae_tensor arg_t = rlae_tensor_view(io[7], RLAE_I32, r->dev, 2, shBK);
        rlae_mix_inputs in = {.n_members = K, .logits = lg, .maps = mp_t, .union_size = rlae_vocab_union_size(r->vu),
                              .weights = &w_t, .episode = &ep_t, .step = &st_t};
        rlae_mix_outputs out = {.token = &tok_t, .mixed_prob = &mix_t, .member_prob = &mpr_t,
                                .member_top1 = &top_t, .member_argmax = &arg_t, .member_entropy = NULL};
        if ((s = rlae_mix_select(&in, &mp, r->ws, &out)) != RLAE_OK)
            goto fail;
        if (r->dev != RLAE_DEV_CPU && (s = device_step_out(r, n_active)) != RLAE_OK)
            goto fail;
        r->timing.mix += rlae_timer_elapsed(&tm);
        r->timing.steps++;
        r->timing.tokens += n_active;

        /* record, stops, bridge lookups */
        rlae_timer_start(&tm);
        int kept = 0;
        size_t feed_n[RLAE_MIX_MAX_MEMBERS] = {0}, enc_fed = 0;
        for (int i = 0; i < n_active; i++) {
            int b = r->active[i];
            rlae_episode *e = &ep[b];
            int u = r->token[i];
            int at = e->n_tokens++;
            e->tokens[at] = u;
            e->mixed_prob[at] = r->mixed[i];
            for (int k = 0; k < K; k++) {
                float p = r->mprob[i * K + k];
                e->member_prob[at * K + k] = p;
                e->member_top1[at * K + k] = r->mtop1[i * K + k];
                e->member_argmax[at * K + k] = r->margmax[i * K + k];
                r->acc_logp[b * K + k] += log(p > 1e-30f ? (double)p : 1e-30);
                r->acc_agree[b * K + k] += r->margmax[i * K + k] == u;
            }
            r->acc_n[b]++;
            if (u == RLAE_UNION_EOS) {
                e->end = RLAE_END_EOS;
                continue;
            }
            size_t nb;
            const uint8_t *bytes = rlae_vocab_union_bytes(r->vu, u, &nb);
            if (!bytes) { /* -1: every member put all its mass on tokens outside the union */
                s = rlae_fail(RLAE_ERR_RUNTIME, "episode %u, token %d: no union entry has any probability (the "
                              "members' mass is all on special tokens such as unk or pad); check the members' "
                              "tokenizers", e->episode, at);
                goto fail;
            }
            void *raw = e->raw;
            if ((s = grow(&raw, &raw_cap[b], e->raw_len + nb + 1, 1)) != RLAE_OK)
                goto fail;
            e->raw = raw;
            size_t from = e->raw_len;
            memcpy(e->raw + e->raw_len, bytes, nb);
            e->raw_len += nb;
            e->raw[e->raw_len] = '\0';
            long stop_at = find_stop(r, e->raw, e->raw_len, from);
            if (stop_at >= 0) {
                e->end = RLAE_END_STOP;
                continue;
            }
            if (t + 1 == max_new) {
                e->end = RLAE_END_MAX_TOKENS;
                continue;
            }
            /* the bridge: each member's spelling of u, if it fits in the member's context */
            const int32_t *ids[RLAE_MIX_MAX_MEMBERS];
            int n[RLAE_MIX_MAX_MEMBERS], fits = 1;
            for (int k = 0; k < K; k++) {
                int unspelled = 0;
                if ((s = rlae_vocab_union_member_tokens(r->vu, k, u, &ids[k], &n[k], &unspelled)) != RLAE_OK)
                    goto fail;
                e->n_unspelled[k] += unspelled;
                if (rlae_kv_cache_len(&r->m[k].cache, b) + n[k] > r->m[k].cache.capacity)
                    fits = 0;
            }
            if (!fits) {
                e->end = RLAE_END_CONTEXT;
                continue;
            }
            for (int k = 0; k < K; k++) {
                void *f = r->feed[k];
                if ((s = grow(&f, &r->feed_cap[k], feed_n[k] + (size_t)n[k], sizeof(int32_t))) != RLAE_OK)
                    goto fail;
                r->feed[k] = f;
                memcpy(r->feed[k] + feed_n[k], ids[k], (size_t)n[k] * sizeof(int32_t));
                feed_n[k] += (size_t)n[k];
                r->n_new[k][kept] = n[k];
                r->timing.member_tokens += n[k];
                if (r->opt.record_fed && (s = record_fed(e, k, &fed_cap[b][k], ids[k], n[k])) != RLAE_OK)
                    goto fail;
            }
            if (r->enc && (s = enc_queue(r, e, b, u, kept, &enc_fed, &enc_rec_cap[b])) != RLAE_OK)
                goto fail;
            r->active[kept] = b;
            r->slots[kept] = b;
            kept++;
        }
        n_active = kept;
        r->timing.bridge += rlae_timer_elapsed(&tm);
        if (n_active == 0)
            break;
        rlae_timer_start(&tm);
        for (int k = 0; k < K && s == RLAE_OK; k++)
            s = member_compute(r, k, n_active, r->slots, r->n_new[k], r->feed[k]);
        if (s != RLAE_OK || (s = members_share(r, n_active)) != RLAE_OK)
            goto fail;
        /* a device's forwards are only queued: wait here so that `forward` times them, not `mix` */
        if (r->dev != RLAE_DEV_CPU && (s = rlae_ops_sync(r->dev)) != RLAE_OK)
            goto fail;
        r->timing.forward += rlae_timer_elapsed(&tm);
        if (r->enc && (s = enc_compute(r, n_active, ep)) != RLAE_OK)
            goto fail;
    }

    if (pol->on_truncated && (s = final_states(r, B, pol, ep, max_new)) != RLAE_OK)
        goto fail;

    /* the answers' text */
    for (int b = 0; b < B; b++) {
        rlae_episode *e = &ep[b];
        e->terminated = e->end == RLAE_END_EOS || e->end == RLAE_END_STOP;
        e->truncated = !e->terminated;
        if (e->end == RLAE_END_NONE)
            e->end = RLAE_END_MAX_TOKENS;
        size_t end = e->raw_len;
        if (e->end == RLAE_END_STOP) {
            long at = find_stop(r, e->raw, e->raw_len, 0);
            end = at >= 0 ? (size_t)at : end;
        }
        int prompt_empty = (!req[b].user || !req[b].user[0]) && (!req[b].system || !req[b].system[0]);
        size_t start = prompt_empty && strip_space && e->raw_len > 0 && e->raw[0] == ' ' ? 1 : 0;
        if (start > end)
            start = end;
        free(e->text);
        if (!(e->text = rlae_malloc(end - start + 1))) {
            s = RLAE_ERR_NOMEM;
            goto fail;
        }
        memcpy(e->text, e->raw + start, end - start);
        e->text[end - start] = '\0';
        e->text_len = end - start;
    }
    return RLAE_OK;
fail:
    for (int b = 0; b < B; b++)
        rlae_episode_free(&ep[b]);
    return s;
}
