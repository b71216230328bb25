/* llama2.c tokenizer.bin: loading and the reference encoder of Karpathy's run.c.
 *
 * Layout: int32 max_token_length, then per token: float32 score, int32 len, len bytes. The file does
 * not store the vocabulary size, so we read records until the end of the file; a record cut short
 * is an error. Pieces are stored with SentencePiece's "▁" already turned into a space.
 *
 * Encoding reproduces run.c's encode() exactly, including its quirks, because llama2.c models were
 * trained and are prompted with it:
 *   - BOS (id 1) when asked, then the piece " " (SentencePiece's add_dummy_prefix) if the text is
 *     not empty and does not continue a text (TOK_ENC_CONT); both take part in merging like any
 *     other token;
 *   - the text is cut into UTF-8 groups (a byte plus up to 3 following continuation bytes, which is
 *     what run.c does even for invalid UTF-8); a group that is a piece becomes that id, otherwise
 *     each of its bytes becomes id byte + 3 (the <0xXX> pieces of byte-fallback vocabularies);
 *   - then the adjacent pair whose concatenation is a piece with the highest score (strictly above
 *     -1e10, leftmost on ties) is merged until none is left.
 * run.c indexes out of bounds when byte + 3 >= vocab size (vocabularies without byte fallback such
 * as babyllama105's 105 characters); there we emit <unk> (id 0), what SentencePiece would do. */
#include "tokenizer/tok_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int tok_parse_byte_piece(const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    const char *h = strchr(hex, s[3]), *l = strchr(hex, s[4]);
    if (!s[3] || !s[4] || !h || !l)
        return -1;
    return (int)((h - hex) * 16 + (l - hex));
}

static rlae_status read_exact(FILE *f, void *dst, size_t n, const char *path, const char *what, long at)
{
    if (fread(dst, 1, n, f) == n)
        return RLAE_OK;
    if (ferror(f))
        return rlae_fail(RLAE_ERR_IO, "%s: read error at byte %ld: %s", path, at, strerror(errno));
    return rlae_fail(RLAE_ERR_INPUT,
                     "%s: llama2.c tokenizer file is truncated: %s at byte %ld is cut short. "
                     "Re-export it (llama2.c tokenizer.py) or check the download",
                     path, what, at);
}

rlae_status tok_llama2c_load(const char *path, rlae_tokenizer **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rlae_fail(errno == ENOENT ? RLAE_ERR_INPUT : RLAE_ERR_IO,
                         "%s: cannot open tokenizer: %s", path, strerror(errno));
    rlae_status s = RLAE_OK;
    rlae_tokenizer *t = rlae_calloc(1, sizeof *t);
    uint8_t *piece = NULL;
    if (!t) {
        fclose(f);
        return RLAE_ERR_NOMEM;
    }
    t->kind = RLAE_TOKENIZER_LLAMA2C;
    int32_t mtl;
    if ((s = read_exact(f, &mtl, 4, path, "the max_token_length header", 0)) != RLAE_OK)
        goto fail;
    if (mtl <= 0 || mtl > (1 << 16)) {
        s = rlae_fail(RLAE_ERR_INPUT,
                      "%s: max_token_length %d in the header is not plausible; is this a llama2.c "
                      "tokenizer.bin?", path, (int)mtl);
        goto fail;
    }
    t->max_token_length = mtl;
    piece = rlae_malloc((size_t)mtl + 1);
    if (!piece) {
        s = RLAE_ERR_NOMEM;
        goto fail;
    }
    /* First pass: count records (the vocabulary size comes from the layout). */
    int n = 0;
    long at = 4;
    for (;;) {
        unsigned char rec[8];
        size_t got = fread(rec, 1, 8, f);
        if (got == 0 && feof(f))
            break;
        if (got != 8) {
            s = read_exact(f, rec + got, 8 - got, path, "a token record header", at);
            goto fail;
        }
        int32_t len;
        memcpy(&len, rec + 4, 4);
        if (len < 0 || len > mtl) {
            s = rlae_fail(RLAE_ERR_INPUT,
                          "%s: token %d at byte %ld has length %d outside 0..max_token_length %d; "
                          "the file is corrupt or not a llama2.c tokenizer.bin", path, n, at, (int)len,
                          (int)mtl);
            goto fail;
        }
        if ((s = read_exact(f, piece, (size_t)len, path, "a token's bytes", at + 8)) != RLAE_OK)
            goto fail;
        at += 8 + len;
        if (++n > (1 << 24)) {
            s = rlae_fail(RLAE_ERR_INPUT, "%s: more than 2^24 tokens; not a tokenizer.bin", path);
            goto fail;
        }
    }
    if (n < 3) {
        s = rlae_fail(RLAE_ERR_INPUT,
                      "%s: only %d tokens; a llama2.c tokenizer needs at least <unk>, BOS and EOS", path, n);
        goto fail;
    }
    if ((s = tok_alloc_vocab(t, n)) != RLAE_OK)
        goto fail;
    t->scores = rlae_malloc((size_t)n * sizeof *t->scores);
    if (!t->scores || (s = tok_strmap_init(&t->vocab, (size_t)n)) != RLAE_OK) {
        s = RLAE_ERR_NOMEM;
        goto fail;
    }
    /* Second pass: the tokens. */
    if (fseek(f, 4, SEEK_SET) != 0) {
        s = rlae_fail(RLAE_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        int32_t len;
        if ((s = read_exact(f, &t->scores[i], 4, path, "a score", -1)) != RLAE_OK ||
            (s = read_exact(f, &len, 4, path, "a length", -1)) != RLAE_OK ||
            (s = read_exact(f, piece, (size_t)len, path, "a token", -1)) != RLAE_OK ||
            (s = tok_set_text(t, i, piece, (size_t)len)) != RLAE_OK)
            goto fail;
        int b = tok_parse_byte_piece((const char *)piece, (size_t)len);
        if (b >= 0) {
            uint8_t byte = (uint8_t)b;
            if ((s = tok_set_bytes(t, i, &byte, 1)) != RLAE_OK)
                goto fail;
        }
        /* run.c looks pieces up with bsearch over a sorted copy; the vocabularies we know have no
         * duplicates, and if one had, the first id wins here. */
        if (tok_strmap_get(&t->vocab, t->text[i], (size_t)len) < 0 &&
            (s = tok_strmap_put(&t->vocab, (const uint8_t *)t->text[i], (size_t)len, i)) != RLAE_OK)
            goto fail;
    }
    /* llama2.c's conventions: 0 <unk>, 1 BOS, 2 EOS. */
    t->special[1] = t->special[2] = 1;
    if (strcmp(t->text[0], "<unk>") == 0)
        t->special[0] = 1;
    t->bos_id = 1;
    t->eos_id = 2;
    t->unk_id = 0;
    t->add_bos = 1;
    t->strip_prefix = 1;
    free(piece);
    fclose(f);
    *out = t;
    return RLAE_OK;
fail:
    free(piece);
    fclose(f);
    rlae_tokenizer_free(t);
    return s;
}

/* Pair rule of run.c: merge if the concatenated piece exists and its score beats -1e10. Scores are
 * negated because the engine merges the lowest value first. */
static int llama2c_pair(const void *ctx, int32_t a, int32_t b, double *prio, int32_t *merged)
{
    const rlae_tokenizer *t = ctx;
    size_t la = t->text_len[a], lb = t->text_len[b];
    if (la + lb > (size_t)t->max_token_length)
        return 0; /* no piece is longer than that */
    char buf[la + lb + 1];
    memcpy(buf, t->text[a], la);
    memcpy(buf + la, t->text[b], lb);
    int32_t id = tok_strmap_get(&t->vocab, buf, la + lb);
    if (id < 0 || !(t->scores[id] > -1e10f))
        return 0;
    *prio = -(double)t->scores[id];
    *merged = id;
    return 1;
}

rlae_status tok_llama2c_encode(const rlae_tokenizer *t, const uint8_t *s, size_t len, int flags,
                               tok_ids *out)
{
    tok_ids syms = {0};
    rlae_status st = RLAE_OK;
    if (flags & TOK_ENC_BOS)
        st = tok_ids_push(&syms, 1);
    if (st == RLAE_OK && len > 0 && !(flags & TOK_ENC_CONT)) {
        int32_t sp = tok_strmap_get(&t->vocab, " ", 1);
        /* run.c would push -1 here; a vocabulary without " " gets the byte fallback instead. */
        st = tok_ids_push(&syms, sp >= 0 ? sp : (' ' + 3 < t->vocab_size ? ' ' + 3 : 0));
    }
    for (size_t i = 0; i < len && st == RLAE_OK;) {
        size_t g = 1;
        while (i + g < len && g < 4 && (s[i + g] & 0xC0) == 0x80)
            g++;
        int32_t id = tok_strmap_get(&t->vocab, s + i, g);
        if (id >= 0)
            st = tok_ids_push(&syms, id);
        else
            for (size_t k = 0; k < g && st == RLAE_OK; k++) {
                int32_t b = (int32_t)s[i + k] + 3;
                st = tok_ids_push(&syms, b < t->vocab_size ? b : 0);
            }
        i += g;
    }
    tok_bpe_ws *ws = NULL;
    if (st == RLAE_OK) {
        ws = tok_bpe_ws_new();
        st = ws ? tok_bpe_merge(ws, syms.p, syms.n, llama2c_pair, t, out) : RLAE_ERR_NOMEM;
    }
    tok_bpe_ws_free(ws);
    free(syms.p);
    return st;
}
