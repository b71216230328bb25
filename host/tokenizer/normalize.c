/* tokenizer.json normalizers: NFC/NFD/NFKC/NFKD (utf8proc), Prepend (skipped for a continuation of
 * a text), Replace, and Sequences of them.
 * HF tokenizers only ever see valid UTF-8 (Rust strings); rlae accepts any bytes, so Unicode
 * normalization is applied to each maximal valid run and invalid bytes pass through untouched
 * (they then reach the model, where byte-level BPE or byte fallback spells them exactly). */
#include "tokenizer/tok_internal.h"

#include <string.h>
#include <utf8proc.h>

/* Frees what a node owns (kids are stored inline in an array), not the node itself. */
static void norm_clear(tok_norm *n)
{
    for (int i = 0; i < n->n_kids; i++)
        norm_clear(&n->kids[i]);
    free(n->kids);
    free(n->a);
    free(n->b);
    if (n->re)
        pcre2_code_free(n->re);
}

void tok_norm_free(tok_norm *n)
{
    if (!n)
        return;
    norm_clear(n);
    free(n);
}

static rlae_status unicode_normalize(utf8proc_option_t opt, const uint8_t *s, size_t len, tok_bytes *out)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        int cl;
        while (j < len && (cl = tok_utf8_char_len(s + j, len - j)) > 0)
            j += (size_t)cl;
        if (j > i) {
            utf8proc_uint8_t *dst = NULL;
            utf8proc_ssize_t n = utf8proc_map(s + i, (utf8proc_ssize_t)(j - i), &dst, opt);
            if (n < 0)
                return rlae_fail(RLAE_ERR_RUNTIME, "tokenizer: Unicode normalization failed: %s",
                                 utf8proc_errmsg(n));
            rlae_status st = tok_bytes_append(out, dst, (size_t)n);
            free(dst);
            RLAE_TRY(st);
        }
        /* An invalid byte: copy it and resynchronise on the next byte. */
        if (j < len)
            RLAE_TRY(tok_bytes_append(out, s + j, 1));
        i = j + (j < len);
    }
    return RLAE_OK;
}

static rlae_status replace_literal(const tok_norm *n, const uint8_t *s, size_t len, tok_bytes *out)
{
    size_t i = 0;
    while (i < len) {
        if (n->alen > 0 && i + n->alen <= len && memcmp(s + i, n->a, n->alen) == 0) {
            RLAE_TRY(tok_bytes_append(out, n->b, n->blen));
            i += n->alen;
        } else {
            RLAE_TRY(tok_bytes_append(out, s + i, 1));
            i++;
        }
    }
    return RLAE_OK;
}

static rlae_status replace_regex(const tok_norm *n, const uint8_t *s, size_t len, tok_bytes *out)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(n->re, NULL);
    if (!md)
        return rlae_fail(RLAE_ERR_NOMEM, "tokenizer: out of memory for regex match data");
    rlae_status st = RLAE_OK;
    size_t i = 0;
    while (i < len && st == RLAE_OK) {
        /* The regex runs on valid UTF-8 runs only; an invalid byte is copied as is. */
        size_t j = i;
        int cl;
        while (j < len && (cl = tok_utf8_char_len(s + j, len - j)) > 0)
            j += (size_t)cl;
        size_t pos = i;
        while (pos < j && st == RLAE_OK) {
            int rc = pcre2_match(n->re, s + i, j - i, pos - i, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc < 0) {
                st = tok_bytes_append(out, s + pos, j - pos);
                pos = j;
                break;
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t ms = i + ov[0], me = i + ov[1];
            st = tok_bytes_append(out, s + pos, ms - pos);
            if (st == RLAE_OK)
                st = tok_bytes_append(out, n->b, n->blen);
            if (me == ms) { /* empty match: keep one character and move on */
                int c = ms < j ? tok_utf8_char_len(s + ms, j - ms) : 0;
                if (st == RLAE_OK && c > 0)
                    st = tok_bytes_append(out, s + ms, (size_t)c);
                me = ms + (size_t)(c > 0 ? c : 1);
            }
            pos = me;
        }
        if (j < len && st == RLAE_OK)
            st = tok_bytes_append(out, s + j, 1);
        i = j + (j < len);
    }
    pcre2_match_data_free(md);
    return st;
}

rlae_status tok_normalize(const tok_norm *n, const uint8_t *s, size_t len, int cont, tok_bytes *out)
{
    switch (n->type) {
    case TOK_NORM_NFC:
        return unicode_normalize(UTF8PROC_STABLE | UTF8PROC_COMPOSE, s, len, out);
    case TOK_NORM_NFD:
        return unicode_normalize(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, s, len, out);
    case TOK_NORM_NFKC:
        return unicode_normalize(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT, s, len, out);
    case TOK_NORM_NFKD:
        return unicode_normalize(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, s, len, out);
    case TOK_NORM_PREPEND:
        if (len == 0) /* HF prepends only to non-empty strings */
            return RLAE_OK;
        if (cont) /* a continuation of a text gets no prefix */
            return tok_bytes_append(out, s, len);
        RLAE_TRY(tok_bytes_append(out, n->a, n->alen));
        return tok_bytes_append(out, s, len);
    case TOK_NORM_REPLACE:
        return n->re ? replace_regex(n, s, len, out) : replace_literal(n, s, len, out);
    case TOK_NORM_SEQUENCE:
        break;
    }
    /* Sequence: ping-pong between two buffers. */
    tok_bytes cur = {0}, next = {0};
    rlae_status st = tok_bytes_append(&cur, s, len);
    for (int i = 0; i < n->n_kids && st == RLAE_OK; i++) {
        next.n = 0;
        st = tok_normalize(&n->kids[i], cur.p, cur.n, cont, &next);
        tok_bytes t = cur;
        cur = next;
        next = t;
    }
    if (st == RLAE_OK)
        st = tok_bytes_append(out, cur.p, cur.n);
    free(cur.p);
    free(next.p);
    return st;
}
