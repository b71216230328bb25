/* Episode records (episode_record.h): a fixed header, then every array padded to 8 bytes. */
#include "run/episode_record.h"

#include <stdlib.h>
#include <string.h>

#define RECORD_MAGIC 0x52454345u /* "ECER" */

typedef struct {
    uint32_t magic, index, episode;
    int32_t K, n_tokens, n_spans, end, terminated, truncated, correct;
    int32_t steps, D, L;
    int32_t n_unspelled[8], prompt_len[8];
    float bootstrap;
    double reward;
    uint64_t text_len, raw_len, prompt_bytes, total;
} record_head;

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

void rlae_record_buf_free(rlae_record_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

rlae_status rlae_record_buf_reserve(rlae_record_buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return RLAE_OK;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + more)
        nc *= 2;
    char *p = rlae_realloc(b->data, nc);
    if (!p)
        return RLAE_ERR_NOMEM;
    b->data = p;
    b->cap = nc;
    return RLAE_OK;
}

static void put(rlae_record_buf *b, const void *src, size_t bytes)
{
    if (bytes)
        memcpy(b->data + b->len, src, bytes);
    memset(b->data + b->len + bytes, 0, pad8(bytes) - bytes);
    b->len += pad8(bytes);
}

rlae_status rlae_record_append(rlae_record_buf *b, uint32_t index, const rlae_episode *e, double reward, int correct,
                               const char *prompt, const rlae_record_steps *st)
{
    const size_t T = (size_t)e->n_tokens, S = (size_t)e->n_spans, K = (size_t)e->n_members;
    const size_t St = (size_t)st->steps;
    const size_t pl = prompt ? strlen(prompt) : 0;
    size_t sizes[] = {T * 4, T * 4, T * K * 4, T * K * 4, T * K * 4, S * 4, S * K * 4, S * K * 16,
                      e->text_len, e->raw_len, pl,
                      St * (size_t)st->D * 4, St * K * 4, St * (size_t)st->L * 4, St * 4};
    size_t total = pad8(sizeof(record_head));
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += pad8(sizes[i]);
    RLAE_TRY(rlae_record_buf_reserve(b, total));
    record_head h;
    memset(&h, 0, sizeof h);
    /* field by field after the memset, so the padding bytes that go over the wire are zero */
    h.magic = RECORD_MAGIC;
    h.index = index;
    h.episode = e->episode;
    h.K = (int32_t)K;
    h.n_tokens = e->n_tokens;
    h.n_spans = e->n_spans;
    h.end = (int32_t)e->end;
    h.terminated = e->terminated;
    h.truncated = e->truncated;
    h.correct = correct;
    h.steps = st->steps;
    h.D = st->D;
    h.L = st->L;
    h.bootstrap = st->bootstrap;
    h.reward = reward;
    h.text_len = e->text_len;
    h.raw_len = e->raw_len;
    h.prompt_bytes = pl;
    h.total = total;
    for (int k = 0; k < 8; k++) {
        h.n_unspelled[k] = e->n_unspelled[k];
        h.prompt_len[k] = e->prompt_len[k];
    }
    put(b, &h, sizeof h);
    put(b, e->tokens, sizes[0]);
    put(b, e->mixed_prob, sizes[1]);
    put(b, e->member_prob, sizes[2]);
    put(b, e->member_top1, sizes[3]);
    put(b, e->member_argmax, sizes[4]);
    put(b, e->span_start, sizes[5]);
    put(b, e->span_weights, sizes[6]);
    put(b, e->span_features, sizes[7]);
    put(b, e->text, sizes[8]);
    put(b, e->raw, sizes[9]);
    put(b, prompt, sizes[10]);
    put(b, st->obs, sizes[11]);
    put(b, st->action, sizes[12]);
    put(b, st->logp, sizes[13]);
    put(b, st->value, sizes[14]);
    return RLAE_OK;
}

/* A copy of `bytes` bytes at data + *at (plus a NUL when text), advancing *at. */
static void *take(const char *data, size_t *at, size_t bytes, int text)
{
    char *p = rlae_malloc(bytes + (text ? 1 : 0) + (bytes || text ? 0 : 1));
    if (p) {
        if (bytes)
            memcpy(p, data + *at, bytes);
        if (text)
            p[bytes] = '\0';
    }
    *at += pad8(bytes);
    return p;
}

rlae_status rlae_record_read(const char *data, size_t len, size_t *at, int D, int K, int L, rlae_record *out)
{
    memset(out, 0, sizeof *out);
    record_head h;
    if (*at + sizeof h > len)
        return rlae_fail(RLAE_ERR_RUNTIME, "episode records: cut record at byte %zu of %zu", *at, len);
    memcpy(&h, data + *at, sizeof h);
    if (h.magic != RECORD_MAGIC || h.total > len - *at || h.K != K || h.D != D || h.L != L)
        return rlae_fail(RLAE_ERR_RUNTIME, "episode records: bad record at byte %zu (the ranks disagree about the "
                         "agent's shape, or the data was cut)", *at);
    size_t p = *at + pad8(sizeof h);
    const size_t T = (size_t)h.n_tokens, S = (size_t)h.n_spans, Kz = (size_t)K, St = (size_t)h.steps;
    rlae_episode *e = &out->ep;
    e->n_members = K;
    e->episode = h.episode;
    e->n_tokens = h.n_tokens;
    e->n_spans = h.n_spans;
    e->end = (rlae_end_reason)h.end;
    e->terminated = h.terminated;
    e->truncated = h.truncated;
    e->text_len = h.text_len;
    e->raw_len = h.raw_len;
    for (int k = 0; k < 8; k++) {
        e->n_unspelled[k] = h.n_unspelled[k];
        e->prompt_len[k] = h.prompt_len[k];
    }
    e->tokens = take(data, &p, T * 4, 0);
    e->mixed_prob = take(data, &p, T * 4, 0);
    e->member_prob = take(data, &p, T * Kz * 4, 0);
    e->member_top1 = take(data, &p, T * Kz * 4, 0);
    e->member_argmax = take(data, &p, T * Kz * 4, 0);
    e->span_start = take(data, &p, S * 4, 0);
    e->span_weights = take(data, &p, S * Kz * 4, 0);
    e->span_features = take(data, &p, S * Kz * 16, 0);
    e->text = take(data, &p, h.text_len, 1);
    e->raw = take(data, &p, h.raw_len, 1);
    out->prompt = take(data, &p, h.prompt_bytes, 1);
    out->index = h.index;
    out->reward = h.reward;
    out->correct = h.correct;
    out->st = (rlae_record_steps){.steps = h.steps, .D = D, .K = K, .L = L, .bootstrap = h.bootstrap};
    out->st.obs = (const float *)(data + p);
    p += pad8(St * (size_t)D * 4);
    out->st.action = (const float *)(data + p);
    p += pad8(St * Kz * 4);
    out->st.logp = (const float *)(data + p);
    p += pad8(St * (size_t)L * 4);
    out->st.value = (const float *)(data + p);
    *at += h.total;
    if (!e->tokens || !e->mixed_prob || !e->member_prob || !e->member_top1 || !e->member_argmax || !e->span_start ||
        !e->span_weights || !e->span_features || !e->text || !e->raw || !out->prompt) {
        rlae_episode_free(e);
        free(out->prompt);
        out->prompt = NULL;
        return RLAE_ERR_NOMEM;
    }
    return RLAE_OK;
}
