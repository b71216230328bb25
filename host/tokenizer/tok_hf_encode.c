/* Encoding with a tokenizer.json, in Hugging Face's order:
 *   1. added tokens that are special or not "normalized" are split out of the raw text (longest
 *      match at the leftmost position, with lstrip/rstrip/single_word);
 *   2. each text segment between them is normalized, then added tokens marked "normalized" are
 *      split out of the normalized text;
 *   3. the pre-tokenizer cuts the rest into words;
 *   4. each word goes through the BPE model: byte-level (each byte is the symbol of its GPT-2
 *      alphabet character) or SentencePiece-style (each UTF-8 character a symbol if it is in the
 *      vocabulary, else its <0xXX> byte tokens with byte_fallback, else unk, fused with fuse_unk),
 *      then ranked merges (tok_bpe.c); ignore_merges takes a word found whole in the vocabulary.
 * Invalid UTF-8 is never rejected: it passes normalization untouched, forms its own pre-token
 * gaps and is spelled by byte symbols (byte-level) or byte fallback / unk (SentencePiece style).
 * TOK_ENC_CONT encodes a continuation of a text: no Prepend normalizer, Metaspace prepend or
 * ByteLevel prefix space (rlae_tokenizer_spell). */
#include "tokenizer/tok_internal.h"

#include <string.h>

typedef struct {
    const rlae_tokenizer *t;
    int cont; /* continuation of a text: no prefix space from normalizer or pre-tokenizer */
    tok_bpe_ws *ws;
    tok_ids syms;
    tok_bytes tmp;
    tok_pieces words;
} enc;

static int hf_pair(const void *ctx, int32_t a, int32_t b, double *prio, int32_t *merged)
{
    const rlae_tokenizer *t = ctx;
    int32_t rank = tok_u64map_get(&t->merges, (uint64_t)(uint32_t)a << 32 | (uint32_t)b);
    if (rank < 0)
        return 0;
    *prio = rank;
    *merged = t->merge_new[rank];
    return 1;
}

static rlae_status push_unk(enc *e, int *prev_unk, unsigned at)
{
    const rlae_tokenizer *t = e->t;
    if (t->unk_id < 0)
        return rlae_fail(RLAE_ERR_INPUT,
                         "%s: text byte 0x%02x is not in the vocabulary and the model has no unk_token",
                         t->name, at);
    if (t->fuse_unk && *prev_unk)
        return RLAE_OK;
    *prev_unk = 1;
    return tok_ids_push(&e->syms, t->unk_id);
}

static rlae_status encode_word(enc *e, const uint8_t *w, size_t len, tok_ids *out)
{
    const rlae_tokenizer *t = e->t;
    int bytelevel = t->kind == RLAE_TOKENIZER_HF_BYTELEVEL;
    e->syms.n = 0;
    if (t->ignore_merges) {
        int32_t id;
        if (bytelevel) {
            e->tmp.n = 0;
            for (size_t i = 0; i < len; i++) {
                uint8_t u[4];
                RLAE_TRY(tok_bytes_append(&e->tmp, u, (size_t)tok_utf8_encode(tok_byte_to_unicode(w[i]), u)));
            }
            id = tok_strmap_get(&t->vocab, e->tmp.p, e->tmp.n);
        } else
            id = tok_strmap_get(&t->vocab, w, len);
        if (id >= 0)
            return tok_ids_push(out, id);
    }
    int prev_unk = 0;
    for (size_t i = 0; i < len;) {
        if (bytelevel) {
            int32_t id = t->byte_sym[w[i]];
            if (id >= 0) {
                RLAE_TRY(tok_ids_push(&e->syms, id));
                prev_unk = 0;
            } else
                RLAE_TRY(push_unk(e, &prev_unk, w[i]));
            i++;
            continue;
        }
        int cl = tok_utf8_char_len(w + i, len - i);
        size_t n = cl > 0 ? (size_t)cl : 1; /* an invalid byte is a symbol of its own */
        int32_t id = tok_strmap_get(&t->vocab, w + i, n);
        if (id >= 0) {
            RLAE_TRY(tok_ids_push(&e->syms, id));
            prev_unk = 0;
        } else {
            int all = t->byte_fallback;
            for (size_t k = 0; k < n && all; k++)
                all = t->byte_sym[w[i + k]] >= 0;
            if (all) {
                for (size_t k = 0; k < n; k++)
                    RLAE_TRY(tok_ids_push(&e->syms, t->byte_sym[w[i + k]]));
                prev_unk = 0;
            } else
                RLAE_TRY(push_unk(e, &prev_unk, w[i]));
        }
        i += n;
    }
    return tok_bpe_merge(e->ws, e->syms.p, e->syms.n, hf_pair, t, out);
}

/* Leftmost-longest added-token match in s[from..len) among tokens whose `normalized` flag equals
 * want_normalized (special tokens always count as not normalized). Returns 1 with the matched span
 * (after lstrip/rstrip) and the id. */
static int next_added(const rlae_tokenizer *t, const uint8_t *s, size_t from, size_t len, int want_normalized,
                      size_t *ms, size_t *me, int32_t *id)
{
    for (size_t i = from; i < len; i++) {
        const tok_added *best = NULL;
        for (int k = 0; k < t->n_added; k++) {
            const tok_added *a = &t->added[k];
            int norm = a->normalized && !a->special;
            if (norm != want_normalized || a->len > len - i || (best && a->len <= best->len) ||
                a->content[0] != s[i] || memcmp(a->content, s + i, a->len) != 0)
                continue;
            if (a->single_word) {
                uint8_t before = i > 0 ? s[i - 1] : ' ', after = i + a->len < len ? s[i + a->len] : ' ';
                int wb = (before & 0x80) || before == '_' || (before >= '0' && before <= '9') ||
                         ((before | 0x20) >= 'a' && (before | 0x20) <= 'z');
                int wa = (after & 0x80) || after == '_' || (after >= '0' && after <= '9') ||
                         ((after | 0x20) >= 'a' && (after | 0x20) <= 'z');
                if (wb || wa)
                    continue;
            }
            best = a;
        }
        if (best) {
            size_t a0 = i, b0 = i + best->len;
            if (best->lstrip)
                while (a0 > from && (s[a0 - 1] == ' ' || (s[a0 - 1] >= '\t' && s[a0 - 1] <= '\r')))
                    a0--;
            if (best->rstrip)
                while (b0 < len && (s[b0] == ' ' || (s[b0] >= '\t' && s[b0] <= '\r')))
                    b0++;
            *ms = a0;
            *me = b0;
            *id = best->id;
            return 1;
        }
    }
    return 0;
}

/* Pre-tokenizes and encodes one piece of normalized text. */
static rlae_status encode_text(enc *e, const uint8_t *s, size_t len, int first, tok_ids *out)
{
    if (len == 0)
        return RLAE_OK;
    const rlae_tokenizer *t = e->t;
    tok_pieces in = {0};
    rlae_status st = tok_pieces_add(&in, s, len, first);
    tok_pieces_clear(&e->words);
    if (st == RLAE_OK) {
        if (t->pre)
            st = tok_pretokenize(t->pre, &in, e->cont, &e->words);
        else
            st = tok_pieces_add(&e->words, s, len, first);
    }
    for (size_t i = 0; i < e->words.n && st == RLAE_OK; i++)
        st = encode_word(e, e->words.buf.p + e->words.p[i].off, e->words.p[i].len, out);
    tok_pieces_free(&in);
    return st;
}

/* Normalizes one raw segment, splits normalized added tokens out of it, encodes the rest. */
static rlae_status encode_segment(enc *e, const uint8_t *s, size_t len, int first, tok_ids *out)
{
    const rlae_tokenizer *t = e->t;
    tok_bytes norm = {0};
    rlae_status st = RLAE_OK;
    const uint8_t *ns = s;
    size_t nl = len;
    if (t->norm && len > 0) {
        st = tok_normalize(t->norm, s, len, e->cont, &norm);
        ns = norm.p;
        nl = norm.n;
    }
    size_t pos = 0, ms, me;
    int32_t id;
    while (st == RLAE_OK && pos < nl) {
        int found = next_added(t, ns, pos, nl, 1, &ms, &me, &id);
        size_t end = found ? ms : nl;
        st = encode_text(e, ns + pos, end - pos, first && pos == 0, out);
        if (st == RLAE_OK && found)
            st = tok_ids_push(out, id);
        pos = found ? me : nl;
    }
    free(norm.p);
    return st;
}

rlae_status tok_hf_encode(const rlae_tokenizer *t, const uint8_t *s, size_t len, int flags, tok_ids *out)
{
    enc e = {.t = t, .cont = (flags & TOK_ENC_CONT) != 0, .ws = tok_bpe_ws_new()};
    if (!e.ws)
        return RLAE_ERR_NOMEM;
    rlae_status st = RLAE_OK;
    size_t pos = 0, ms, me;
    int32_t id;
    while (st == RLAE_OK && pos < len) {
        int found = next_added(t, s, pos, len, 0, &ms, &me, &id);
        size_t end = found ? ms : len;
        if (end > pos)
            st = encode_segment(&e, s + pos, end - pos, pos == 0, out);
        if (st == RLAE_OK && found)
            st = tok_ids_push(out, id);
        pos = found ? me : len;
    }
    tok_bpe_ws_free(e.ws);
    free(e.syms.p);
    free(e.tmp.p);
    tok_pieces_free(&e.words);
    return st;
}
