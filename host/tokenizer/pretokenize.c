/* tokenizer.json pre-tokenizers: ByteLevel (GPT-2's split regex), Split (regex or literal, all five
 * delimiter behaviours, invert), Metaspace, Digits and Sequence, on PCRE2 with UTF + UCP.
 *
 * HF tokenizers compiles these regexes with Oniguruma, whose \s is Unicode White_Space; PCRE2's \s
 * with UCP also matches U+180E, so \s and \S are rewritten to the explicit White_Space set.
 * Regexes run on valid UTF-8 runs only: a maximal run of invalid bytes is never matched, so it
 * becomes a gap of its own (for Isolated splitting: its own word), and the regex sees each valid run
 * as a whole string. That is the convention rlae documents for invalid input (HF cannot take it). */
#include "tokenizer/tok_internal.h"

#include <string.h>

/* GPT-2's pre-tokenization regex (ByteLevel with use_regex). */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Unicode White_Space (what Oniguruma and Rust's regex match with \s). */
#define WS_SET "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

rlae_status tok_regex_compile(const char *pattern, size_t len, int literal, const char *where,
                              pcre2_code **out)
{
    *out = NULL;
    tok_bytes b = {0};
    uint32_t opts = PCRE2_UTF | PCRE2_UCP;
    rlae_status st = RLAE_OK;
    if (literal) {
        opts |= PCRE2_LITERAL;
        st = tok_bytes_append(&b, pattern, len);
    } else {
        int in_class = 0;
        for (size_t i = 0; i < len && st == RLAE_OK; i++) {
            char c = pattern[i];
            if (c == '\\' && i + 1 < len) {
                char d = pattern[i + 1];
                if (d == 's')
                    st = tok_bytes_append(&b, in_class ? WS_SET : "[" WS_SET "]",
                                          strlen(WS_SET) + (in_class ? 0 : 2));
                else if (d == 'S' && !in_class)
                    st = tok_bytes_append(&b, "[^" WS_SET "]", strlen(WS_SET) + 3);
                else
                    st = tok_bytes_append(&b, pattern + i, 2); /* \S inside a class stays PCRE2's */
                i++;
                continue;
            }
            if (c == '[' && !in_class)
                in_class = 1;
            else if (c == ']' && in_class)
                in_class = 0;
            st = tok_bytes_append(&b, &c, 1);
        }
    }
    if (st != RLAE_OK) {
        free(b.p);
        return st;
    }
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile(b.p ? b.p : (const uint8_t *)"", b.n, opts, &err, &off, NULL);
    free(b.p);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return rlae_fail(RLAE_ERR_INPUT, "%s: regex does not compile (at offset %zu): %s", where,
                         (size_t)off, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional speed-up; falls back to the interpreter */
    *out = re;
    return RLAE_OK;
}

static void pre_clear(tok_pre *p)
{
    for (int i = 0; i < p->n_kids; i++)
        pre_clear(&p->kids[i]);
    free(p->kids);
    if (p->re)
        pcre2_code_free(p->re);
}

void tok_pre_free(tok_pre *p)
{
    if (!p)
        return;
    pre_clear(p);
    free(p);
}

int tok_pre_has_bytelevel(const tok_pre *p)
{
    if (!p)
        return 0;
    if (p->type == TOK_PRE_BYTELEVEL)
        return 1;
    for (int i = 0; i < p->n_kids; i++)
        if (tok_pre_has_bytelevel(&p->kids[i]))
            return 1;
    return 0;
}

/* (start, end, is_match) spans covering a piece, as HF's Pattern::find_matches returns them. */
typedef struct {
    size_t s, e;
    int m;
} span;
typedef struct {
    span *v;
    size_t n, cap;
} spans;

static rlae_status spans_push(spans *sp, size_t s, size_t e, int m)
{
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 32;
        span *v = rlae_realloc(sp->v, cap * sizeof *v);
        if (!v)
            return RLAE_ERR_NOMEM;
        sp->v = v;
        sp->cap = cap;
    }
    sp->v[sp->n++] = (span){s, e, m};
    return RLAE_OK;
}

static rlae_status find_matches(const pcre2_code *re, pcre2_match_data *md, const uint8_t *s, size_t len,
                                spans *out)
{
    out->n = 0;
    if (len == 0)
        return spans_push(out, 0, 0, 0);
    size_t prev = 0, i = 0;
    while (i < len) {
        size_t j = i;
        int cl;
        while (j < len && (cl = tok_utf8_char_len(s + j, len - j)) > 0)
            j += (size_t)cl;
        size_t pos = i;
        uint32_t flags = 0;
        while (pos <= j && i < j) {
            int rc = pcre2_match(re, s + i, j - i, pos - i, flags | PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH) {
                if (!flags)
                    break;
                /* no non-empty match here after an empty one: step one character */
                flags = 0;
                if (pos >= j)
                    break;
                pos += (size_t)tok_utf8_char_len(s + pos, j - pos);
                continue;
            }
            if (rc < 0)
                return rlae_fail(RLAE_ERR_RUNTIME, "tokenizer: regex match failed (PCRE2 error %d)", rc);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t ms = i + ov[0], me = i + ov[1];
            if (prev != ms)
                RLAE_TRY(spans_push(out, prev, ms, 0));
            RLAE_TRY(spans_push(out, ms, me, 1));
            prev = me;
            pos = me;
            flags = me == ms ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
            if (me == ms && pos >= j)
                break;
        }
        if (j < len) { /* the invalid run up to the next valid character is never matched */
            size_t k = j + 1;
            while (k < len && tok_utf8_char_len(s + k, len - k) == 0)
                k++;
            if (prev != j)
                RLAE_TRY(spans_push(out, prev, j, 0));
            RLAE_TRY(spans_push(out, j, k, 0));
            prev = k;
            j = k;
        }
        i = j;
    }
    if (prev != len)
        RLAE_TRY(spans_push(out, prev, len, 0));
    return RLAE_OK;
}

/* HF's NormalizedString::split for each delimiter behaviour; then empty pieces are dropped. */
static rlae_status apply_behavior(tok_split_behavior b, int invert, spans *sp, const uint8_t *s, int first,
                                  tok_pieces *out)
{
    if (invert)
        for (size_t i = 0; i < sp->n; i++)
            sp->v[i].m = !sp->v[i].m;
    size_t n = 0;
    int prev_match = 0;
    switch (b) {
    case TOK_SPLIT_ISOLATED:
    case TOK_SPLIT_REMOVED:
        n = sp->n;
        break;
    case TOK_SPLIT_MERGED_WITH_PREVIOUS:
        for (size_t i = 0; i < sp->n; i++) {
            span c = sp->v[i];
            if (c.m && !prev_match && n > 0)
                sp->v[n - 1].e = c.e;
            else
                sp->v[n++] = c;
            prev_match = c.m;
        }
        break;
    case TOK_SPLIT_MERGED_WITH_NEXT: {
        /* right to left, then back in order */
        size_t w = sp->n;
        for (size_t i = sp->n; i-- > 0;) {
            span c = sp->v[i];
            if (c.m && !prev_match && w < sp->n)
                sp->v[w].s = c.s;
            else
                sp->v[--w] = c;
            prev_match = c.m;
        }
        n = sp->n - w;
        memmove(sp->v, sp->v + w, n * sizeof *sp->v);
        break;
    }
    case TOK_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < sp->n; i++) {
            span c = sp->v[i];
            if (c.m == prev_match && n > 0)
                sp->v[n - 1].e = c.e;
            else
                sp->v[n++] = c;
            prev_match = c.m;
        }
        break;
    }
    for (size_t i = 0; i < n; i++) {
        span c = sp->v[i];
        if (b == TOK_SPLIT_REMOVED && c.m)
            continue;
        if (c.e > c.s)
            RLAE_TRY(tok_pieces_add(out, s + c.s, c.e - c.s, first && c.s == 0));
    }
    return RLAE_OK;
}

static rlae_status split_piece(const tok_pre *p, const pcre2_code *re, tok_split_behavior b, int invert,
                               const uint8_t *s, size_t len, int first, tok_pieces *out)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md)
        return RLAE_ERR_NOMEM;
    spans sp = {0};
    rlae_status st = find_matches(re, md, s, len, &sp);
    if (st == RLAE_OK)
        st = apply_behavior(b, invert, &sp, s, first, out);
    free(sp.v);
    pcre2_match_data_free(md);
    (void)p;
    return st;
}

static rlae_status metaspace(const tok_pre *p, const uint8_t *s, size_t len, int first, int cont,
                             tok_pieces *out)
{
    tok_bytes b = {0};
    rlae_status st = RLAE_OK;
    int starts = len >= (size_t)p->repl_len && memcmp(s, p->repl, (size_t)p->repl_len) == 0;
    if (!starts && len > 0 && s[0] == ' ')
        starts = 1; /* the space becomes the replacement, HF checks after replacing */
    if (!starts && !cont && (p->prepend == TOK_PREPEND_ALWAYS || (p->prepend == TOK_PREPEND_FIRST && first)))
        st = tok_bytes_append(&b, p->repl, (size_t)p->repl_len);
    for (size_t i = 0; i < len && st == RLAE_OK; i++)
        st = s[i] == ' ' ? tok_bytes_append(&b, p->repl, (size_t)p->repl_len) : tok_bytes_append(&b, s + i, 1);
    if (st == RLAE_OK && b.n > 0) {
        if (!p->split) {
            st = tok_pieces_add(out, b.p, b.n, first);
        } else {
            /* split on the replacement, MergedWithNext: each piece starts with it */
            size_t start = 0;
            for (size_t i = 1; i + (size_t)p->repl_len <= b.n && st == RLAE_OK; i++)
                if (memcmp(b.p + i, p->repl, (size_t)p->repl_len) == 0) {
                    st = tok_pieces_add(out, b.p + start, i - start, first && start == 0);
                    start = i;
                }
            if (st == RLAE_OK)
                st = tok_pieces_add(out, b.p + start, b.n - start, first && start == 0);
        }
    }
    free(b.p);
    return st;
}

static rlae_status pre_one(const tok_pre *p, const uint8_t *s, size_t len, int first, int cont, tok_pieces *out)
{
    switch (p->type) {
    case TOK_PRE_BYTELEVEL: {
        if (p->add_prefix_space && !cont && (len == 0 || s[0] != ' ')) {
            tok_bytes b = {0};
            rlae_status st = tok_bytes_append(&b, " ", 1);
            if (st == RLAE_OK)
                st = tok_bytes_append(&b, s, len);
            if (st == RLAE_OK)
                st = p->re ? split_piece(p, p->re, TOK_SPLIT_ISOLATED, 0, b.p, b.n, first, out)
                           : tok_pieces_add(out, b.p, b.n, first);
            free(b.p);
            return st;
        }
        if (!p->re)
            return len ? tok_pieces_add(out, s, len, first) : RLAE_OK;
        return split_piece(p, p->re, TOK_SPLIT_ISOLATED, 0, s, len, first, out);
    }
    case TOK_PRE_SPLIT:
        return split_piece(p, p->re, p->behavior, p->invert, s, len, first, out);
    case TOK_PRE_DIGITS:
        return split_piece(p, p->re, p->individual_digits ? TOK_SPLIT_ISOLATED : TOK_SPLIT_CONTIGUOUS, 0, s,
                           len, first, out);
    case TOK_PRE_METASPACE:
        return metaspace(p, s, len, first, cont, out);
    case TOK_PRE_SEQUENCE:
        break;
    }
    tok_pieces cur = {0}, next = {0};
    rlae_status st = tok_pieces_add(&cur, s, len, first);
    for (int i = 0; i < p->n_kids && st == RLAE_OK; i++) {
        tok_pieces_clear(&next);
        st = tok_pretokenize(&p->kids[i], &cur, cont, &next);
        tok_pieces t = cur;
        cur = next;
        next = t;
    }
    for (size_t i = 0; i < cur.n && st == RLAE_OK; i++)
        st = tok_pieces_add(out, cur.buf.p + cur.p[i].off, cur.p[i].len, cur.p[i].first);
    tok_pieces_free(&cur);
    tok_pieces_free(&next);
    return st;
}

rlae_status tok_pretokenize(const tok_pre *p, const tok_pieces *in, int cont, tok_pieces *out)
{
    for (size_t i = 0; i < in->n; i++)
        RLAE_TRY(pre_one(p, in->buf.p + in->p[i].off, in->p[i].len, in->p[i].first, cont, out));
    return RLAE_OK;
}

rlae_status tok_pre_bytelevel_regex(pcre2_code **out, const char *where)
{
    return tok_regex_compile(gpt2_pattern, sizeof gpt2_pattern - 1, 0, where, out);
}
