/* Spelling exact bytes as a tokenizer's tokens in the middle of a text (rlae_tokenizer_spell), and the
 * two predicates the union vocabulary needs beside it (prefix space, byte pieces).
 *
 * spell first runs the tokenizer's own pipeline as a continuation (TOK_ENC_CONT: no BOS, no dummy
 * prefix, Prepend normalizer, Metaspace prepend or ByteLevel prefix space) and keeps its ids when
 * they are all ordinary tokens whose bytes concatenate to exactly the input. Otherwise (a normalizer
 * rewrote the text, a character is missing from a vocabulary without byte fallback, run.c's
 * byte + 3 rule picked a wrong character) it spells by greedy longest match over the ordinary
 * tokens' exact byte strings, one unk per character nothing spells. That lookup table is built once
 * per tokenizer on first need, under a mutex, and cached in the tokenizer. */
#include "tokenizer/tok_internal.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t spell_mu = PTHREAD_MUTEX_INITIALIZER;

int rlae_tokenizer_is_byte_piece(const rlae_tokenizer *t, int id)
{
    if (id < 0 || id >= t->vocab_size)
        return -1;
    /* Byte-level vocabularies have no byte-fallback pieces: a "<0x41>" there is literal text. Elsewhere
     * a "<0xXX>" piece counts only when it was read as its byte (SPM json: with byte_fallback). */
    return t->kind != RLAE_TOKENIZER_HF_BYTELEVEL && !t->special[id] && t->bytes_len[id] == 1 &&
           tok_parse_byte_piece(t->text[id], t->text_len[id]) >= 0;
}

static int norm_prepends(const tok_norm *n)
{
    if (!n)
        return 0;
    if (n->type == TOK_NORM_PREPEND && ((n->alen == 3 && memcmp(n->a, "\xe2\x96\x81", 3) == 0) ||
                                        (n->alen == 1 && n->a[0] == ' ')))
        return 1;
    for (int i = 0; i < n->n_kids; i++)
        if (norm_prepends(&n->kids[i]))
            return 1;
    return 0;
}

static int pre_prepends(const tok_pre *p)
{
    if (!p)
        return 0;
    if ((p->type == TOK_PRE_METASPACE && p->prepend != TOK_PREPEND_NEVER) ||
        (p->type == TOK_PRE_BYTELEVEL && p->add_prefix_space))
        return 1;
    for (int i = 0; i < p->n_kids; i++)
        if (pre_prepends(&p->kids[i]))
            return 1;
    return 0;
}

int rlae_tokenizer_adds_prefix_space(const rlae_tokenizer *t)
{
    if (t->kind == RLAE_TOKENIZER_LLAMA2C)
        return 1;
    return norm_prepends(t->norm) || pre_prepends(t->pre);
}

/* 1 if ids are ordinary tokens whose bytes concatenate to exactly s[0..len). */
static int spells_exactly(const rlae_tokenizer *t, const int32_t *ids, size_t n, const uint8_t *s, size_t len)
{
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->vocab_size || t->special[id])
            return 0;
        size_t bl = t->bytes_len[id];
        if (bl > len - at || memcmp(t->bytes[id], s + at, bl) != 0)
            return 0;
        at += bl;
    }
    return at == len;
}

/* Exact bytes -> ordinary token id (an ordinary token before a byte piece with the same bytes, then
 * the lowest id), and the longest such byte string. Built once, kept in the tokenizer. */
static rlae_status spell_map(const rlae_tokenizer *t, const tok_strmap **map, size_t *max_len)
{
    rlae_status st = RLAE_OK;
    pthread_mutex_lock(&spell_mu);
    if (!t->spell_map) {
        tok_strmap *m = rlae_calloc(1, sizeof *m);
        size_t longest = 0;
        st = m ? tok_strmap_init(m, (size_t)t->vocab_size) : RLAE_ERR_NOMEM;
        for (int pass = 0; pass < 2 && st == RLAE_OK; pass++)
            for (int id = 0; id < t->vocab_size && st == RLAE_OK; id++) {
                size_t bl = t->bytes_len[id];
                if (t->special[id] || bl == 0 || rlae_tokenizer_is_byte_piece(t, id) != pass ||
                    tok_strmap_get(m, t->bytes[id], bl) >= 0)
                    continue;
                st = tok_strmap_put(m, t->bytes[id], bl, id);
                if (bl > longest)
                    longest = bl;
            }
        if (st == RLAE_OK) {
            rlae_tokenizer *w = (rlae_tokenizer *)t; /* the cache is the one mutable part */
            w->spell_map = m;
            w->spell_max_len = longest;
        } else if (m) {
            tok_strmap_free(m);
            free(m);
        }
    }
    *map = t->spell_map;
    *max_len = t->spell_max_len;
    pthread_mutex_unlock(&spell_mu);
    return st;
}

/* Greedy longest match; a character no token spells becomes unk (or nothing) and counts. */
static rlae_status spell_greedy(const rlae_tokenizer *t, const uint8_t *s, size_t len, tok_ids *out,
                                size_t *n_unspelled)
{
    const tok_strmap *m;
    size_t max_len;
    RLAE_TRY(spell_map(t, &m, &max_len));
    for (size_t i = 0; i < len;) {
        size_t l = len - i < max_len ? len - i : max_len;
        int32_t id = -1;
        for (; l > 0; l--)
            if ((id = tok_strmap_get(m, s + i, l)) >= 0)
                break;
        if (id >= 0) {
            RLAE_TRY(tok_ids_push(out, id));
            i += l;
            continue;
        }
        int cl = tok_utf8_char_len(s + i, len - i);
        size_t n = cl > 0 ? (size_t)cl : 1;
        *n_unspelled += n;
        if (t->unk_id >= 0 && t->unk_id < t->vocab_size)
            RLAE_TRY(tok_ids_push(out, t->unk_id));
        i += n;
    }
    return RLAE_OK;
}

rlae_status rlae_tokenizer_spell(const rlae_tokenizer *t, const void *text, size_t len, int32_t **ids,
                                 size_t *n_ids, size_t *n_unspelled)
{
    *ids = NULL;
    *n_ids = 0;
    *n_unspelled = 0;
    if (!text && len)
        return rlae_fail(RLAE_ERR_INPUT, "tokenizer spell: NULL text with length %zu", len);
    const uint8_t *s = text;
    tok_ids out = {0};
    rlae_status st = t->kind == RLAE_TOKENIZER_LLAMA2C ? tok_llama2c_encode(t, s, len, TOK_ENC_CONT, &out)
                                                       : tok_hf_encode(t, s, len, TOK_ENC_CONT, &out);
    if (st == RLAE_ERR_NOMEM)
        goto done;
    if (st != RLAE_OK || !spells_exactly(t, out.p, out.n, s, len)) {
        if (st != RLAE_OK) /* e.g. a character without unk: the fallback below handles it */
            rlae_clear_error();
        out.n = 0;
        st = spell_greedy(t, s, len, &out, n_unspelled);
    }
    if (st == RLAE_OK && !out.p && !(out.p = rlae_malloc(sizeof(int32_t))))
        st = RLAE_ERR_NOMEM;
done:
    if (st != RLAE_OK) {
        free(out.p);
        *n_unspelled = 0;
        return st;
    }
    *ids = out.p;
    *n_ids = out.n;
    return RLAE_OK;
}
