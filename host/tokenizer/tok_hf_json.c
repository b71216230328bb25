/* Hugging Face tokenizer.json loading (jansson). Reads a BPE model (vocab, ranked merges, unk_token,
 * byte_fallback, fuse_unk, ignore_merges), added_tokens, the normalizer and pre-tokenizer trees, and
 * what the decoder and post-processor say about the dummy prefix and BOS; tokenizer_config.json
 * beside it supplies bos/eos and add_bos_token when present.
 *
 * Every malformed field is RLAE_ERR_INPUT naming the file and the JSON path ("model.merges[12]");
 * every component rlae does not implement (WordPiece/Unigram models, Lowercase normalizers,
 * Whitespace pre-tokenizers, ...) is an error naming it too, never a silently different encoding.
 * The post-processor is only read for BOS: rlae adds BOS itself (encode's add_bos) and nothing else. */
#include "tokenizer/tok_internal.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
    const char *file;
    rlae_tokenizer *t;
} ld;

static rlae_status bad(const ld *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rlae_status bad(const ld *c, const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rlae_fail(RLAE_ERR_INPUT, "%s: %s: %s", c->file, path, msg);
}

static rlae_status unsupported(const ld *c, const char *path, const char *type)
{
    return rlae_fail(RLAE_ERR_INPUT,
                     "%s: %s: component type \"%s\" is not supported by rlae's tokenizer (it reads BPE "
                     "models with ByteLevel/Split/Metaspace/Digits pre-tokenizers and NFC/NFD/NFKC/NFKD/"
                     "Prepend/Replace normalizers)",
                     c->file, path, type);
}

/* Optional boolean: absent or null -> def. */
static rlae_status get_bool(const ld *c, json_t *obj, const char *key, const char *path, int def, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return RLAE_OK;
    }
    if (!json_is_boolean(v))
        return bad(c, path, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return RLAE_OK;
}

static rlae_status get_string(const ld *c, json_t *obj, const char *key, const char *path, int required,
                              const char **s, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    *s = NULL;
    *len = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return bad(c, path, "\"%s\" is missing", key);
        return RLAE_OK;
    }
    if (!json_is_string(v))
        return bad(c, path, "\"%s\" must be a string", key);
    *s = json_string_value(v);
    *len = json_string_length(v);
    return RLAE_OK;
}

static const char *type_of(json_t *obj)
{
    json_t *v = json_object_get(obj, "type");
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* {"String": "..."} or {"Regex": "..."} as a compiled regex (literal for String). */
static rlae_status get_pattern(const ld *c, json_t *obj, const char *path, pcre2_code **re,
                               const char **lit, size_t *lit_len)
{
    char where[512];
    json_t *p = json_object_get(obj, "pattern");
    snprintf(where, sizeof where, "%s: %s.pattern", c->file, path);
    if (!json_is_object(p))
        return bad(c, path, "\"pattern\" must be an object {\"String\": ...} or {\"Regex\": ...}");
    json_t *s = json_object_get(p, "String"), *r = json_object_get(p, "Regex");
    if (json_is_string(s)) {
        if (lit) {
            *lit = json_string_value(s);
            *lit_len = json_string_length(s);
            return RLAE_OK;
        }
        return tok_regex_compile(json_string_value(s), json_string_length(s), 1, where, re);
    }
    if (json_is_string(r))
        return tok_regex_compile(json_string_value(r), json_string_length(r), 0, where, re);
    return bad(c, path, "\"pattern\" must hold a \"String\" or a \"Regex\" string");
}

static uint8_t *dup_bytes(const char *s, size_t n)
{
    uint8_t *p = rlae_malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* ---- normalizer ------------------------------------------------------------------------------- */
static rlae_status parse_norm(const ld *c, json_t *j, const char *path, tok_norm *n)
{
    memset(n, 0, sizeof *n);
    if (!json_is_object(j))
        return bad(c, path, "must be an object with a \"type\"");
    const char *type = type_of(j);
    if (!type)
        return bad(c, path, "\"type\" is missing");
    char sub[512];
    if (strcmp(type, "NFC") == 0)
        n->type = TOK_NORM_NFC;
    else if (strcmp(type, "NFD") == 0)
        n->type = TOK_NORM_NFD;
    else if (strcmp(type, "NFKC") == 0)
        n->type = TOK_NORM_NFKC;
    else if (strcmp(type, "NFKD") == 0)
        n->type = TOK_NORM_NFKD;
    else if (strcmp(type, "Prepend") == 0) {
        const char *s;
        size_t len;
        n->type = TOK_NORM_PREPEND;
        RLAE_TRY(get_string(c, j, "prepend", path, 1, &s, &len));
        if (!(n->a = dup_bytes(s, len)))
            return RLAE_ERR_NOMEM;
        n->alen = len;
    } else if (strcmp(type, "Replace") == 0) {
        const char *s = NULL, *lit = NULL;
        size_t len, lit_len = 0;
        n->type = TOK_NORM_REPLACE;
        RLAE_TRY(get_string(c, j, "content", path, 1, &s, &len));
        if (!(n->b = dup_bytes(s, len)))
            return RLAE_ERR_NOMEM;
        n->blen = len;
        RLAE_TRY(get_pattern(c, j, path, &n->re, &lit, &lit_len));
        if (lit) {
            if (!(n->a = dup_bytes(lit, lit_len)))
                return RLAE_ERR_NOMEM;
            n->alen = lit_len;
        }
    } else if (strcmp(type, "Sequence") == 0) {
        n->type = TOK_NORM_SEQUENCE;
        json_t *arr = json_object_get(j, "normalizers");
        if (!json_is_array(arr))
            return bad(c, path, "\"normalizers\" must be an array");
        n->kids = rlae_calloc(json_array_size(arr) + 1, sizeof *n->kids);
        if (!n->kids)
            return RLAE_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(sub, sizeof sub, "%s.normalizers[%zu]", path, i);
            n->n_kids++;
            RLAE_TRY(parse_norm(c, json_array_get(arr, i), sub, &n->kids[i]));
        }
    } else
        return unsupported(c, path, type);
    return RLAE_OK;
}

/* ---- pre-tokenizer ---------------------------------------------------------------------------- */
static rlae_status parse_pre(const ld *c, json_t *j, const char *path, tok_pre *p)
{
    memset(p, 0, sizeof *p);
    if (!json_is_object(j))
        return bad(c, path, "must be an object with a \"type\"");
    const char *type = type_of(j);
    if (!type)
        return bad(c, path, "\"type\" is missing");
    char sub[512], where[600];
    if (strcmp(type, "ByteLevel") == 0) {
        int use_regex = 1;
        p->type = TOK_PRE_BYTELEVEL;
        RLAE_TRY(get_bool(c, j, "add_prefix_space", path, 1, &p->add_prefix_space));
        RLAE_TRY(get_bool(c, j, "use_regex", path, 1, &use_regex));
        snprintf(where, sizeof where, "%s: %s (GPT-2 regex)", c->file, path);
        if (use_regex)
            RLAE_TRY(tok_pre_bytelevel_regex(&p->re, where));
    } else if (strcmp(type, "Split") == 0) {
        const char *b;
        size_t blen;
        p->type = TOK_PRE_SPLIT;
        RLAE_TRY(get_pattern(c, j, path, &p->re, NULL, NULL));
        RLAE_TRY(get_bool(c, j, "invert", path, 0, &p->invert));
        RLAE_TRY(get_string(c, j, "behavior", path, 1, &b, &blen));
        static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                      "Contiguous"};
        int found = -1;
        for (int i = 0; i < 5; i++)
            if (strcmp(b, names[i]) == 0)
                found = i;
        if (found < 0)
            return bad(c, path, "\"behavior\" \"%s\" is not one of Removed, Isolated, MergedWithPrevious, "
                       "MergedWithNext, Contiguous", b);
        p->behavior = (tok_split_behavior)found;
    } else if (strcmp(type, "Metaspace") == 0) {
        const char *r, *scheme;
        size_t rlen, slen;
        p->type = TOK_PRE_METASPACE;
        RLAE_TRY(get_string(c, j, "replacement", path, 1, &r, &rlen));
        if (rlen == 0 || rlen > 4 || tok_utf8_char_len((const uint8_t *)r, rlen) != (int)rlen)
            return bad(c, path, "\"replacement\" must be a single character");
        memcpy(p->repl, r, rlen);
        p->repl_len = (int)rlen;
        RLAE_TRY(get_bool(c, j, "split", path, 1, &p->split));
        RLAE_TRY(get_string(c, j, "prepend_scheme", path, 0, &scheme, &slen));
        if (scheme) {
            if (strcmp(scheme, "always") == 0)
                p->prepend = TOK_PREPEND_ALWAYS;
            else if (strcmp(scheme, "first") == 0)
                p->prepend = TOK_PREPEND_FIRST;
            else if (strcmp(scheme, "never") == 0)
                p->prepend = TOK_PREPEND_NEVER;
            else
                return bad(c, path, "\"prepend_scheme\" \"%s\" is not always, first or never", scheme);
        } else { /* older files: add_prefix_space */
            int aps;
            RLAE_TRY(get_bool(c, j, "add_prefix_space", path, 1, &aps));
            p->prepend = aps ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
        }
    } else if (strcmp(type, "Digits") == 0) {
        p->type = TOK_PRE_DIGITS;
        RLAE_TRY(get_bool(c, j, "individual_digits", path, 0, &p->individual_digits));
        snprintf(where, sizeof where, "%s: %s", c->file, path);
        RLAE_TRY(tok_regex_compile("\\p{N}", 5, 0, where, &p->re));
    } else if (strcmp(type, "Sequence") == 0) {
        p->type = TOK_PRE_SEQUENCE;
        json_t *arr = json_object_get(j, "pretokenizers");
        if (!json_is_array(arr))
            return bad(c, path, "\"pretokenizers\" must be an array");
        p->kids = rlae_calloc(json_array_size(arr) + 1, sizeof *p->kids);
        if (!p->kids)
            return RLAE_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", path, i);
            p->n_kids++;
            RLAE_TRY(parse_pre(c, json_array_get(arr, i), sub, &p->kids[i]));
            /* rlae keeps raw bytes through pre-tokenization and maps them to the byte alphabet in
             * the model, which is only the same when ByteLevel comes last. */
            if (i > 0 && tok_pre_has_bytelevel(&p->kids[i - 1]))
                return bad(c, sub, "a pre-tokenizer after ByteLevel is not supported (ByteLevel must "
                           "come last)");
        }
    } else
        return unsupported(c, path, type);
    return RLAE_OK;
}

/* ---- decoder: only validated, and read for the dummy-prefix strip ----------------------------- */
static rlae_status parse_decoder(const ld *c, json_t *j, const char *path, int *strip)
{
    if (!j || json_is_null(j))
        return RLAE_OK;
    if (!json_is_object(j))
        return bad(c, path, "must be an object with a \"type\"");
    const char *type = type_of(j);
    if (!type)
        return bad(c, path, "\"type\" is missing");
    if (strcmp(type, "Sequence") == 0) {
        json_t *arr = json_object_get(j, "decoders");
        if (!json_is_array(arr))
            return bad(c, path, "\"decoders\" must be an array");
        char sub[512];
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(sub, sizeof sub, "%s.decoders[%zu]", path, i);
            RLAE_TRY(parse_decoder(c, json_array_get(arr, i), sub, strip));
        }
        return RLAE_OK;
    }
    if (strcmp(type, "Strip") == 0) {
        const char *content;
        size_t len;
        RLAE_TRY(get_string(c, j, "content", path, 1, &content, &len));
        json_t *start = json_object_get(j, "start");
        if (len == 1 && content[0] == ' ' && json_is_integer(start) && json_integer_value(start) >= 1)
            *strip = 1;
        return RLAE_OK;
    }
    if (strcmp(type, "Metaspace") == 0) {
        const char *scheme;
        size_t slen;
        int aps = 0;
        RLAE_TRY(get_string(c, j, "prepend_scheme", path, 0, &scheme, &slen));
        RLAE_TRY(get_bool(c, j, "add_prefix_space", path, 1, &aps));
        if (scheme ? strcmp(scheme, "never") != 0 : aps)
            *strip = 1;
        return RLAE_OK;
    }
    if (strcmp(type, "ByteLevel") == 0 || strcmp(type, "Replace") == 0 || strcmp(type, "ByteFallback") == 0 ||
        strcmp(type, "Fuse") == 0)
        return RLAE_OK; /* rlae decodes to exact bytes itself; these agree with it */
    return unsupported(c, path, type);
}

/* ---- model ------------------------------------------------------------------------------------ */
static rlae_status check_id(const ld *c, json_t *v, const char *path, int32_t *id)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (1 << 24))
        return bad(c, path, "id must be an integer in 0..16777215");
    *id = (int32_t)json_integer_value(v);
    return RLAE_OK;
}

static rlae_status set_token_bytes(const ld *c, rlae_tokenizer *t, int32_t id, const char *text, size_t len,
                                   int bytelevel)
{
    uint8_t *buf = rlae_malloc(len + 1);
    if (!buf)
        return RLAE_ERR_NOMEM;
    rlae_status s = RLAE_OK;
    if (bytelevel) {
        long n = tok_bytelevel_to_bytes((const uint8_t *)text, len, buf);
        if (n < 0)
            /* Not spelled in the byte alphabet: byte-level encoding can never produce it, so it is
             * kept out of the text vocabulary like a special token. */
            t->special[id] = 1;
        else
            s = tok_set_bytes(t, id, buf, (size_t)n);
        free(buf);
        return s;
    }
    /* SentencePiece style: "▁" is a space, "<0xXX>" (with byte fallback) that byte. */
    int b = t->byte_fallback ? tok_parse_byte_piece(text, len) : -1;
    if (b >= 0) {
        buf[0] = (uint8_t)b;
        s = tok_set_bytes(t, id, buf, 1);
        free(buf);
        return s;
    }
    int has_meta = 0;
    for (size_t i = 0; i + 3 <= len && !has_meta; i++)
        has_meta = memcmp(text + i, "\xe2\x96\x81", 3) == 0;
    if (!has_meta) {
        free(buf);
        return RLAE_OK; /* bytes alias the text */
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (i + 3 <= len && memcmp(text + i, "\xe2\x96\x81", 3) == 0) {
            buf[o++] = ' ';
            i += 3;
        } else
            buf[o++] = (uint8_t)text[i++];
    }
    (void)c;
    s = tok_set_bytes(t, id, buf, o);
    free(buf);
    return s;
}

static rlae_status parse_merge(const ld *c, json_t *m, size_t i, const char **a, size_t *al, const char **b,
                               size_t *bl)
{
    char path[64];
    snprintf(path, sizeof path, "model.merges[%zu]", i);
    if (json_is_string(m)) {
        const char *s = json_string_value(m), *sp = strchr(s, ' ');
        size_t n = json_string_length(m);
        if (!sp || strchr(sp + 1, ' '))
            return bad(c, path, "\"%s\" must be two tokens separated by one space", s);
        *a = s;
        *al = (size_t)(sp - s);
        *b = sp + 1;
        *bl = n - *al - 1;
        return RLAE_OK;
    }
    if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
        json_is_string(json_array_get(m, 1))) {
        *a = json_string_value(json_array_get(m, 0));
        *al = json_string_length(json_array_get(m, 0));
        *b = json_string_value(json_array_get(m, 1));
        *bl = json_string_length(json_array_get(m, 1));
        return RLAE_OK;
    }
    return bad(c, path, "must be \"a b\" or [\"a\", \"b\"]");
}

static rlae_status parse_model(const ld *c, json_t *root, json_t *model, int bytelevel)
{
    rlae_tokenizer *t = c->t;
    const char *type = type_of(model);
    if (!type && !json_object_get(model, "merges"))
        return bad(c, "model.type", "is missing");
    if (type && strcmp(type, "BPE") != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: model.type \"%s\" is not supported (rlae reads BPE models: "
                         "byte-level or SentencePiece-style with byte fallback)", c->file, type);
    json_t *v = json_object_get(model, "dropout");
    if (v && !json_is_null(v) && !(json_is_number(v) && json_number_value(v) == 0.0))
        return unsupported(c, "model.dropout", "BPE dropout");
    static const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const char *s;
        size_t n;
        char path[64];
        snprintf(path, sizeof path, "model.%s", affixes[i]);
        RLAE_TRY(get_string(c, model, affixes[i], "model", 0, &s, &n));
        if (s && n)
            return unsupported(c, path, s);
    }
    RLAE_TRY(get_bool(c, model, "byte_fallback", "model", 0, &t->byte_fallback));
    RLAE_TRY(get_bool(c, model, "fuse_unk", "model", 0, &t->fuse_unk));
    RLAE_TRY(get_bool(c, model, "ignore_merges", "model", 0, &t->ignore_merges));

    json_t *vocab = json_object_get(model, "vocab"), *added = json_object_get(root, "added_tokens");
    if (!json_is_object(vocab))
        return bad(c, "model.vocab", "must be an object mapping tokens to ids");
    if (added && !json_is_null(added) && !json_is_array(added))
        return bad(c, "added_tokens", "must be an array");
    /* The id space: the largest id of the vocabulary and the added tokens. */
    int32_t max_id = -1, id = 0;
    const char *key;
    size_t klen;
    json_t *val;
    char path[256];
    json_object_keylen_foreach(vocab, key, klen, val)
    {
        snprintf(path, sizeof path, "model.vocab[\"%.100s\"]", key);
        RLAE_TRY(check_id(c, val, path, &id));
        if (id > max_id)
            max_id = id;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *a = json_array_get(added, i);
        snprintf(path, sizeof path, "added_tokens[%zu].id", i);
        if (!json_is_object(a))
            return bad(c, path, "added token must be an object");
        RLAE_TRY(check_id(c, json_object_get(a, "id"), path, &id));
        if (id > max_id)
            max_id = id;
    }
    if (max_id < 0)
        return bad(c, "model.vocab", "is empty");
    RLAE_TRY(tok_alloc_vocab(t, max_id + 1));
    RLAE_TRY(tok_strmap_init(&t->vocab, json_object_size(vocab)));
    json_object_keylen_foreach(vocab, key, klen, val)
    {
        id = (int32_t)json_integer_value(val);
        if (t->text[id])
            return rlae_fail(RLAE_ERR_INPUT, "%s: model.vocab: id %d is given to both \"%.100s\" and "
                             "\"%.100s\"", c->file, (int)id, t->text[id], key);
        RLAE_TRY(tok_set_text(t, id, key, klen));
        RLAE_TRY(tok_strmap_put(&t->vocab, (const uint8_t *)t->text[id], klen, id));
        RLAE_TRY(set_token_bytes(c, t, id, key, klen, bytelevel));
    }

    /* unk and the initial symbols for single bytes */
    const char *unk;
    size_t unk_len;
    t->unk_id = -1;
    RLAE_TRY(get_string(c, model, "unk_token", "model", 0, &unk, &unk_len));
    if (unk && (t->unk_id = tok_strmap_get(&t->vocab, unk, unk_len)) < 0)
        return bad(c, "model.unk_token", "\"%s\" is not in model.vocab", unk);
    for (int b = 0; b < 256; b++) {
        uint8_t s[8];
        int n;
        if (bytelevel)
            n = tok_utf8_encode(tok_byte_to_unicode((uint8_t)b), s);
        else
            n = snprintf((char *)s, sizeof s, "<0x%02X>", b);
        t->byte_sym[b] = tok_strmap_get(&t->vocab, s, (size_t)n);
    }

    /* merges: (a, b) -> rank; the merged token is a + b and must be in the vocabulary */
    json_t *merges = json_object_get(model, "merges");
    if (!merges || json_is_null(merges))
        merges = NULL;
    else if (!json_is_array(merges))
        return bad(c, "model.merges", "must be an array");
    size_t nm = json_array_size(merges);
    RLAE_TRY(tok_u64map_init(&t->merges, nm));
    t->merge_new = rlae_malloc((nm + 1) * sizeof *t->merge_new);
    if (!t->merge_new)
        return RLAE_ERR_NOMEM;
    tok_bytes ab = {0};
    rlae_status s = RLAE_OK;
    for (size_t i = 0; i < nm; i++) {
        const char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        if ((s = parse_merge(c, json_array_get(merges, i), i, &a, &al, &b, &bl)) != RLAE_OK)
            break;
        snprintf(path, sizeof path, "model.merges[%zu]", i);
        int32_t ia = tok_strmap_get(&t->vocab, a, al), ib = tok_strmap_get(&t->vocab, b, bl);
        if ((s = tok_bytes_append(&ab, a, al)) != RLAE_OK || (s = tok_bytes_append(&ab, b, bl)) != RLAE_OK)
            break;
        int32_t iab = tok_strmap_get(&t->vocab, ab.p, ab.n);
        ab.n = 0;
        if (ia < 0 || ib < 0 || iab < 0) {
            const char *m = ia < 0 ? a : ib < 0 ? b : "(the two joined)";
            int ml = (int)(ia < 0 ? al : ib < 0 ? bl : strlen(m));
            s = bad(c, path, "token \"%.*s\" is not in model.vocab", ml > 100 ? 100 : ml, m);
            break;
        }
        /* HF builds a map from these; a repeated pair keeps its last rank, as there. */
        if ((s = tok_u64map_put(&t->merges, (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib, (int32_t)i)))
            break;
        t->merge_new[i] = iab;
    }
    free(ab.p);
    RLAE_TRY(s);

    /* added tokens: matched before the model; their text wins for their id */
    t->added = rlae_calloc(json_array_size(added) + 1, sizeof *t->added);
    if (!t->added)
        return RLAE_ERR_NOMEM;
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *a = json_array_get(added, i);
        const char *content;
        size_t len;
        int f[5];
        snprintf(path, sizeof path, "added_tokens[%zu]", i);
        RLAE_TRY(get_string(c, a, "content", path, 1, &content, &len));
        if (len == 0)
            return bad(c, path, "\"content\" is empty");
        static const char *flags[] = {"special", "lstrip", "rstrip", "single_word", "normalized"};
        for (int k = 0; k < 5; k++)
            RLAE_TRY(get_bool(c, a, flags[k], path, k == 4 ? -1 : 0, &f[k]));
        if (f[4] < 0)
            f[4] = !f[0]; /* HF's default: special tokens are matched on the raw text */
        tok_added *d = &t->added[t->n_added++];
        d->id = (int32_t)json_integer_value(json_object_get(a, "id"));
        if (!(d->content = dup_bytes(content, len)))
            return RLAE_ERR_NOMEM;
        d->len = len;
        d->special = (uint8_t)f[0];
        d->lstrip = (uint8_t)f[1];
        d->rstrip = (uint8_t)f[2];
        d->single_word = (uint8_t)f[3];
        d->normalized = (uint8_t)f[4];
        if (!t->text[d->id] || t->text_len[d->id] != len || memcmp(t->text[d->id], content, len) != 0) {
            if (t->text[d->id]) {
                /* The model's own text for this id stays a key of the vocabulary map: keep it. */
                char **r = rlae_realloc(t->retired, (size_t)(t->n_retired + 1) * sizeof *r);
                if (!r)
                    return RLAE_ERR_NOMEM;
                t->retired = r;
                t->retired[t->n_retired++] = t->text[d->id];
                if (!t->owns_bytes[d->id])
                    t->bytes[d->id] = NULL;
                t->text[d->id] = NULL;
            }
            RLAE_TRY(tok_set_text(t, d->id, content, len));
        }
        else if (t->owns_bytes[d->id]) /* literal content, not the model's spelling of it */
            RLAE_TRY(tok_set_bytes(t, d->id, content, len));
        t->special[d->id] = (uint8_t)f[0];
    }
    return RLAE_OK;
}

/* ---- bos / eos -------------------------------------------------------------------------------- */
static int special_named(const rlae_tokenizer *t, const char *const *names)
{
    for (int k = 0; names[k]; k++)
        for (int i = 0; i < t->n_added; i++)
            if (t->added[i].special && strlen(names[k]) == t->added[i].len &&
                memcmp(names[k], t->added[i].content, t->added[i].len) == 0)
                return t->added[i].id;
    return -1;
}

static void bos_from_template(rlae_tokenizer *t, json_t *pp)
{
    if (!json_is_object(pp) || !type_of(pp))
        return;
    if (strcmp(type_of(pp), "Sequence") == 0) {
        json_t *arr = json_object_get(pp, "processors");
        for (size_t i = 0; i < json_array_size(arr); i++)
            bos_from_template(t, json_array_get(arr, i));
        return;
    }
    if (strcmp(type_of(pp), "TemplateProcessing") != 0)
        return;
    json_t *first = json_array_get(json_object_get(pp, "single"), 0);
    json_t *sp = json_object_get(first, "SpecialToken");
    json_t *name = json_object_get(sp, "id");
    if (json_is_string(name)) {
        int id = rlae_tokenizer_token_id(t, json_string_value(name));
        if (id >= 0) {
            t->bos_id = id;
            t->add_bos = 1;
        }
    }
}

static rlae_status token_from_config(const ld *c, json_t *cfg, const char *key, int *id)
{
    json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v))
        return RLAE_OK;
    if (json_is_object(v))
        v = json_object_get(v, "content");
    if (!json_is_string(v))
        return bad(c, key, "must be a string or an object with \"content\"");
    int found = rlae_tokenizer_token_id(c->t, json_string_value(v));
    if (found < 0)
        return bad(c, key, "\"%s\" is not a token of the tokenizer", json_string_value(v));
    *id = found;
    return RLAE_OK;
}

static rlae_status read_config(rlae_tokenizer *t, const char *path)
{
    json_error_t err;
    json_t *cfg = json_load_file(path, JSON_DECODE_ANY, &err);
    if (!cfg)
        return rlae_fail(RLAE_ERR_INPUT, "%s:%d:%d: not valid JSON: %s", path, err.line, err.column, err.text);
    ld c = {path, t};
    rlae_status s = RLAE_OK;
    if (!json_is_object(cfg))
        s = bad(&c, "(root)", "must be an object");
    if (s == RLAE_OK)
        s = token_from_config(&c, cfg, "bos_token", &t->bos_id);
    if (s == RLAE_OK)
        s = token_from_config(&c, cfg, "eos_token", &t->eos_id);
    json_t *ab = json_object_get(cfg, "add_bos_token");
    if (s == RLAE_OK && ab && !json_is_null(ab)) {
        if (!json_is_boolean(ab))
            s = bad(&c, "add_bos_token", "must be true or false");
        else
            t->add_bos = json_is_true(ab);
    }
    json_decref(cfg);
    return s;
}

rlae_status tok_hf_load_json(const char *json, size_t len, const char *name, const char *config_path,
                             rlae_tokenizer **out)
{
    *out = NULL;
    json_error_t err;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &err);
    if (!root)
        return rlae_fail(RLAE_ERR_INPUT, "%s:%d:%d: not valid JSON (%s); the file may be truncated", name,
                         err.line, err.column, err.text);
    rlae_status s = RLAE_OK;
    rlae_tokenizer *t = rlae_calloc(1, sizeof *t);
    ld c = {name, t};
    if (!t) {
        json_decref(root);
        return RLAE_ERR_NOMEM;
    }
    t->bos_id = t->eos_id = t->unk_id = -1;
    if (!(t->name = rlae_strdup(name))) {
        s = RLAE_ERR_NOMEM;
        goto done;
    }
    if (!json_is_object(root)) {
        s = bad(&c, "(root)", "must be an object; is this a Hugging Face tokenizer.json?");
        goto done;
    }
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) {
        s = bad(&c, "model", "is missing or not an object; is this a Hugging Face tokenizer.json?");
        goto done;
    }
    json_t *j = json_object_get(root, "normalizer");
    if (j && !json_is_null(j)) {
        if (!(t->norm = rlae_calloc(1, sizeof *t->norm)) || (s = parse_norm(&c, j, "normalizer", t->norm)))
            goto done;
    }
    j = json_object_get(root, "pre_tokenizer");
    if (j && !json_is_null(j)) {
        if (!(t->pre = rlae_calloc(1, sizeof *t->pre)) || (s = parse_pre(&c, j, "pre_tokenizer", t->pre)))
            goto done;
        if (t->pre->type == TOK_PRE_SEQUENCE)
            for (int i = 0; i + 1 < t->pre->n_kids; i++)
                if (tok_pre_has_bytelevel(&t->pre->kids[i])) {
                    s = bad(&c, "pre_tokenizer", "ByteLevel must be the last pre-tokenizer of the sequence");
                    goto done;
                }
    }
    json_t *dec = json_object_get(root, "decoder");
    int bytelevel = tok_pre_has_bytelevel(t->pre) ||
                    (json_is_object(dec) && type_of(dec) && strcmp(type_of(dec), "ByteLevel") == 0);
    t->kind = bytelevel ? RLAE_TOKENIZER_HF_BYTELEVEL : RLAE_TOKENIZER_HF_SPM;
    if ((s = parse_model(&c, root, model, bytelevel)) != RLAE_OK)
        goto done;
    if ((s = parse_decoder(&c, dec, "decoder", &t->strip_prefix)) != RLAE_OK)
        goto done;
    bos_from_template(t, json_object_get(root, "post_processor"));
    if (t->eos_id < 0) {
        static const char *const eos_names[] = {"</s>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>", NULL};
        t->eos_id = special_named(t, eos_names);
    }
    if (t->bos_id < 0) {
        static const char *const bos_names[] = {"<s>", "<|begin_of_text|>", NULL};
        t->bos_id = special_named(t, bos_names);
    }
    if (config_path)
        s = read_config(t, config_path);
done:
    json_decref(root);
    if (s != RLAE_OK) {
        rlae_tokenizer_free(t);
        return s;
    }
    *out = t;
    return RLAE_OK;
}
