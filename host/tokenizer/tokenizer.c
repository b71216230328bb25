/* The tokenizer API of tokenizer.h: choosing the kind from the path, the per-id tables every kind
 * fills (text as in the file, exact bytes, special flag), and encode/decode dispatch. The kinds
 * themselves live in tok_llama2c.c and tok_hf_json.c / tok_hf_encode.c. */
#include "tokenizer/tok_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

rlae_status tok_alloc_vocab(rlae_tokenizer *t, int vocab_size)
{
    t->vocab_size = vocab_size;
    t->text = rlae_calloc((size_t)vocab_size, sizeof *t->text);
    t->text_len = rlae_calloc((size_t)vocab_size, sizeof *t->text_len);
    t->bytes = rlae_calloc((size_t)vocab_size, sizeof *t->bytes);
    t->bytes_len = rlae_calloc((size_t)vocab_size, sizeof *t->bytes_len);
    t->special = rlae_calloc((size_t)vocab_size, 1);
    t->owns_bytes = rlae_calloc((size_t)vocab_size, 1);
    if (!t->text || !t->text_len || !t->bytes || !t->bytes_len || !t->special || !t->owns_bytes)
        return RLAE_ERR_NOMEM;
    for (int i = 0; i < vocab_size; i++)
        t->special[i] = 1; /* a hole until a token is set */
    return RLAE_OK;
}

rlae_status tok_set_text(rlae_tokenizer *t, int id, const void *text, size_t len)
{
    char *p = rlae_malloc(len + 1);
    if (!p)
        return RLAE_ERR_NOMEM;
    memcpy(p, text, len);
    p[len] = 0;
    if (t->owns_bytes[id])
        free(t->bytes[id]);
    free(t->text[id]);
    t->text[id] = p;
    t->text_len[id] = (uint32_t)len;
    t->bytes[id] = (uint8_t *)p;
    t->bytes_len[id] = (uint32_t)len;
    t->owns_bytes[id] = 0;
    t->special[id] = 0;
    return RLAE_OK;
}

rlae_status tok_set_bytes(rlae_tokenizer *t, int id, const void *bytes, size_t len)
{
    uint8_t *p = rlae_malloc(len + 1);
    if (!p)
        return RLAE_ERR_NOMEM;
    memcpy(p, bytes, len);
    p[len] = 0;
    if (t->owns_bytes[id])
        free(t->bytes[id]);
    t->bytes[id] = p;
    t->bytes_len[id] = (uint32_t)len;
    t->owns_bytes[id] = 1;
    return RLAE_OK;
}

void rlae_tokenizer_free(rlae_tokenizer *t)
{
    if (!t)
        return;
    for (int i = 0; t->text && i < t->vocab_size; i++) {
        if (t->owns_bytes && t->owns_bytes[i])
            free(t->bytes[i]);
        free(t->text[i]);
    }
    free(t->text);
    free(t->text_len);
    free(t->bytes);
    free(t->bytes_len);
    free(t->special);
    free(t->owns_bytes);
    free(t->scores);
    free(t->name);
    tok_strmap_free(&t->vocab);
    tok_u64map_free(&t->merges);
    free(t->merge_new);
    tok_norm_free(t->norm);
    tok_pre_free(t->pre);
    for (int i = 0; i < t->n_added; i++)
        free(t->added[i].content);
    free(t->added);
    for (int i = 0; i < t->n_retired; i++)
        free(t->retired[i]);
    free(t->retired);
    if (t->spell_map) {
        tok_strmap_free(t->spell_map);
        free(t->spell_map);
    }
    free(t);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static rlae_status read_file(const char *path, char **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rlae_fail(errno == ENOENT ? RLAE_ERR_INPUT : RLAE_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    tok_bytes b = {0};
    char chunk[65536];
    size_t got;
    rlae_status s = RLAE_OK;
    while (s == RLAE_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        s = tok_bytes_append(&b, chunk, got);
    if (s == RLAE_OK && ferror(f))
        s = rlae_fail(RLAE_ERR_IO, "%s: read error: %s", path, strerror(errno));
    fclose(f);
    if (s != RLAE_OK) {
        free(b.p);
        return s;
    }
    if (!b.p && (s = tok_bytes_append(&b, "", 0)) != RLAE_OK)
        return s;
    *out = (char *)b.p;
    *len = b.n;
    return RLAE_OK;
}

rlae_status rlae_tokenizer_load(const char *path, rlae_tokenizer **out)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return rlae_fail(RLAE_ERR_INPUT,
                         "%s: tokenizer not found (%s); give a tokenizer.json, a directory holding one, "
                         "or a llama2.c tokenizer.bin", path, strerror(errno));
    char json_path[4096], config_path[4096];
    const char *cfg = NULL;
    if (S_ISDIR(st.st_mode)) {
        snprintf(json_path, sizeof json_path, "%s/tokenizer.json", path);
        if (stat(json_path, &st) != 0)
            return rlae_fail(RLAE_ERR_INPUT,
                             "%s: directory has no tokenizer.json; rlae reads Hugging Face "
                             "tokenizer.json (a slow-only tokenizer.model must be converted first)", path);
    } else if (ends_with(path, ".json")) {
        snprintf(json_path, sizeof json_path, "%s", path);
    } else {
        rlae_tokenizer *t = NULL;
        RLAE_TRY(tok_llama2c_load(path, &t));
        t->name = rlae_strdup(path);
        if (!t->name) {
            rlae_tokenizer_free(t);
            return RLAE_ERR_NOMEM;
        }
        *out = t;
        return RLAE_OK;
    }
    /* tokenizer_config.json beside tokenizer.json carries bos/eos names and add_bos_token. */
    const char *slash = strrchr(json_path, '/');
    int dir_len = slash ? (int)(slash - json_path) : 1;
    snprintf(config_path, sizeof config_path, "%.*s/tokenizer_config.json", dir_len,
             slash ? json_path : ".");
    if (stat(config_path, &st) == 0)
        cfg = config_path;
    char *json = NULL;
    size_t len = 0;
    RLAE_TRY(read_file(json_path, &json, &len));
    rlae_status s = tok_hf_load_json(json, len, json_path, cfg, out);
    free(json);
    return s;
}

rlae_status rlae_tokenizer_load_json_mem(const char *json, size_t len, const char *name,
                                         rlae_tokenizer **out)
{
    *out = NULL;
    return tok_hf_load_json(json, len, name ? name : "(memory)", NULL, out);
}

rlae_tokenizer_kind rlae_tokenizer_get_kind(const rlae_tokenizer *t) { return t->kind; }
int rlae_tokenizer_vocab_size(const rlae_tokenizer *t) { return t->vocab_size; }
int rlae_tokenizer_bos_id(const rlae_tokenizer *t) { return t->bos_id; }
int rlae_tokenizer_eos_id(const rlae_tokenizer *t) { return t->eos_id; }
int rlae_tokenizer_default_add_bos(const rlae_tokenizer *t) { return t->add_bos && t->bos_id >= 0; }

const uint8_t *rlae_tokenizer_token_bytes(const rlae_tokenizer *t, int id, size_t *len)
{
    if (id < 0 || id >= t->vocab_size) {
        *len = 0;
        return NULL;
    }
    *len = t->bytes_len[id];
    return t->bytes[id] ? t->bytes[id] : (const uint8_t *)"";
}

int rlae_tokenizer_is_special(const rlae_tokenizer *t, int id)
{
    if (id < 0 || id >= t->vocab_size)
        return -1;
    return t->special[id];
}

const char *rlae_tokenizer_token_text(const rlae_tokenizer *t, int id)
{
    if (id < 0 || id >= t->vocab_size)
        return NULL;
    return t->text[id] ? t->text[id] : "";
}

int rlae_tokenizer_token_id(const rlae_tokenizer *t, const char *text)
{
    size_t len = strlen(text);
    for (int i = 0; i < t->n_added; i++) /* added tokens take precedence, as in HF */
        if (t->added[i].len == len && memcmp(t->added[i].content, text, len) == 0)
            return t->added[i].id;
    return tok_strmap_get(&t->vocab, text, len);
}

rlae_status rlae_tokenizer_encode(const rlae_tokenizer *t, const void *text, size_t len, int add_bos,
                                  int32_t **ids, size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    tok_ids out = {0};
    rlae_status s = RLAE_OK;
    if (!text && len)
        return rlae_fail(RLAE_ERR_INPUT, "tokenizer encode: NULL text with length %zu", len);
    if (t->kind == RLAE_TOKENIZER_LLAMA2C) {
        s = tok_llama2c_encode(t, text, len, add_bos ? TOK_ENC_BOS : 0, &out);
    } else {
        if (add_bos && t->bos_id >= 0)
            s = tok_ids_push(&out, t->bos_id);
        if (s == RLAE_OK)
            s = tok_hf_encode(t, text, len, 0, &out);
    }
    if (s == RLAE_OK && !out.p) { /* promised non-NULL even when empty */
        out.p = rlae_malloc(sizeof(int32_t));
        if (!out.p)
            s = RLAE_ERR_NOMEM;
    }
    if (s != RLAE_OK) {
        free(out.p);
        return s;
    }
    *ids = out.p;
    *n_ids = out.n;
    return RLAE_OK;
}

const uint8_t *rlae_tokenizer_decode_piece(const rlae_tokenizer *t, int prev_id, int id, size_t *len)
{
    const uint8_t *p = rlae_tokenizer_token_bytes(t, id, len);
    if (!p)
        return NULL;
    if (t->kind == RLAE_TOKENIZER_LLAMA2C) {
        /* run.c: strip first (on the stored piece), then parse "<0xXX>". */
        const char *piece = t->text[id];
        size_t n = t->text_len[id];
        if (prev_id == 1 && n > 0 && piece[0] == ' ') {
            piece++;
            n--;
        }
        if (t->bytes_len[id] == 1 && t->owns_bytes[id]) /* a byte piece */
            return p;
        *len = n;
        return (const uint8_t *)piece;
    }
    if (t->strip_prefix && prev_id >= 0 && prev_id == t->bos_id && *len > 0 && p[0] == ' ') {
        (*len)--;
        return p + 1;
    }
    return p;
}

rlae_status rlae_tokenizer_decode(const rlae_tokenizer *t, const int32_t *ids, size_t n_ids,
                                  int skip_special, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    tok_bytes b = {0};
    rlae_status s = tok_bytes_append(&b, "", 0);
    int seen_text = 0; /* a text token was output: no more dummy-prefix stripping */
    for (size_t i = 0; i < n_ids && s == RLAE_OK; i++) {
        int id = ids[i];
        if (id < 0 || id >= t->vocab_size) {
            s = rlae_fail(RLAE_ERR_INPUT, "tokenizer decode: id %d at position %zu is outside the "
                          "vocabulary (0..%d)", id, i, t->vocab_size - 1);
            break;
        }
        size_t len;
        const uint8_t *p;
        if (t->kind == RLAE_TOKENIZER_LLAMA2C) {
            /* run.c's streaming rule, plus the same strip at the very start (no BOS given). */
            p = rlae_tokenizer_decode_piece(t, i == 0 ? 1 : ids[i - 1], id, &len);
        } else {
            p = rlae_tokenizer_token_bytes(t, id, &len);
            if (t->strip_prefix && !seen_text && !t->special[id] && len > 0 && p[0] == ' ') {
                p++;
                len--;
            }
        }
        if (t->special[id]) {
            if (skip_special)
                continue;
        } else
            seen_text = 1;
        s = tok_bytes_append(&b, p, len);
    }
    if (s != RLAE_OK) {
        free(b.p);
        return s;
    }
    *out = (char *)b.p;
    *out_len = b.n;
    return RLAE_OK;
}
