/* Loading one ensemble member (member.h): weights, tokenizer, chat template, forward state and KV
 * cache, with the checks that catch a tokenizer paired with the wrong model. */
#include "ensemble/member.h"

#include "core/device.h"
#include "core/fs.h"
#include "model/model_load.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

rlae_status rlae_member_find_tokenizer(const char *checkpoint, char *out, size_t cap)
{
    if (rlae_path_is_dir(checkpoint)) {
        snprintf(out, cap, "%s", checkpoint);
        return RLAE_OK;
    }
    char *dir = rlae_path_dirname(checkpoint);
    if (!dir)
        return RLAE_ERR_NOMEM;
    DIR *d = opendir(dir);
    if (!d) {
        rlae_status s = rlae_fail(RLAE_ERR_INPUT, "cannot list %s to find the tokenizer of %s: %s; name it with "
                                  "`tokenizer:` (config) or --tokenizer PATH", dir, checkpoint, strerror(errno));
        free(dir);
        return s;
    }
    int found = 0;
    char first[1024] = "", second[1024] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n >= 4 && strcmp(e->d_name + n - 4, ".bin") == 0 && strncmp(e->d_name, "tok", 3) == 0) {
            snprintf(found ? second : first, sizeof first, "%s", e->d_name);
            found++;
        }
    }
    closedir(d);
    rlae_status s = RLAE_OK;
    if (found == 1)
        snprintf(out, cap, "%s/%s", dir, first);
    else if (found == 0)
        s = rlae_fail(RLAE_ERR_INPUT, "no tokenizer next to %s (looked for tok*.bin / tokenizer.bin in %s); name it "
                      "with `tokenizer:` (config) or --tokenizer PATH", checkpoint, dir);
    else
        s = rlae_fail(RLAE_ERR_INPUT, "%d candidate tokenizers next to %s (%s, %s, ...); choose one with "
                      "`tokenizer:` (config) or --tokenizer PATH", found, checkpoint, first, second);
    free(dir);
    return s;
}

/* The chat template a member config asks for; "auto" reads tokenizer_config.json of an HF member
 * (absent: plain text) and uses none for llama2.c members, which are base models. */
static rlae_status resolve_chat(rlae_member *m, const rlae_member_config *cfg)
{
    static const rlae_chat_template named[] = {
        [RLAE_TEMPLATE_LLAMA2] = RLAE_CHAT_LLAMA2, [RLAE_TEMPLATE_LLAMA3] = RLAE_CHAT_LLAMA3,
        [RLAE_TEMPLATE_CHATML] = RLAE_CHAT_CHATML, [RLAE_TEMPLATE_MISTRAL] = RLAE_CHAT_MISTRAL,
        [RLAE_TEMPLATE_PLAIN] = RLAE_CHAT_PLAIN};
    m->use_chat = 0;
    m->chat = RLAE_CHAT_PLAIN;
    if (cfg->chat_template == RLAE_TEMPLATE_NONE)
        return RLAE_OK;
    if (cfg->chat_template != RLAE_TEMPLATE_AUTO) {
        m->use_chat = 1;
        m->chat = named[cfg->chat_template];
        return RLAE_OK;
    }
    if (rlae_tokenizer_get_kind(m->tok) == RLAE_TOKENIZER_LLAMA2C)
        return RLAE_OK;
    const char *base = rlae_path_is_dir(m->tokenizer_path) ? m->tokenizer_path : NULL;
    char *dir = base ? NULL : rlae_path_dirname(m->tokenizer_path);
    char *tc = rlae_path_join(base ? base : dir, "tokenizer_config.json");
    free(dir);
    if (!tc)
        return RLAE_ERR_NOMEM;
    rlae_status s = RLAE_OK;
    if (rlae_path_is_file(tc)) {
        s = rlae_chat_template_from_tokenizer_config(tc, &m->chat);
        m->use_chat = s == RLAE_OK;
    }
    free(tc);
    return s;
}

/* What every member holds, weights or not: name, paths, tokenizer and its ids, checked against the
 * model configuration m->w.cfg (already set, m->w.source too); *capacity resolved against the model's
 * context. */
static rlae_status member_common(rlae_member *m, const char *name, const char *tokenizer_path, int *capacity)
{
    if (!(m->name = rlae_strdup(name)) || !(m->path = rlae_strdup(m->w.source)) ||
        !(m->tokenizer_path = rlae_strdup(tokenizer_path)))
        return RLAE_ERR_NOMEM;
    rlae_status s = rlae_tokenizer_load(tokenizer_path, &m->tok);
    if (s != RLAE_OK)
        return rlae_wrap(s, "member '%s': ", name);
    const rlae_model_config *c = &m->w.cfg;
    int tv = rlae_tokenizer_vocab_size(m->tok);
    if (tv > c->vocab_size)
        return rlae_fail(RLAE_ERR_INPUT, "member '%s': tokenizer %s has %d tokens but model %s only %d logits; they "
                         "do not belong together (set members[].tokenizer)", name, tokenizer_path, tv, m->path,
                         c->vocab_size);
    m->add_bos = rlae_tokenizer_default_add_bos(m->tok);
    m->bos_id = rlae_tokenizer_bos_id(m->tok) >= 0 ? rlae_tokenizer_bos_id(m->tok) : c->bos_id;
    m->eos_id = rlae_tokenizer_eos_id(m->tok) >= 0 ? rlae_tokenizer_eos_id(m->tok) : c->eos_id;
    m->ends_on_bos = rlae_tokenizer_get_kind(m->tok) == RLAE_TOKENIZER_LLAMA2C;
    if (*capacity <= 0 || *capacity > c->max_seq_len)
        *capacity = c->max_seq_len;
    return RLAE_OK;
}

rlae_status rlae_member_from_weights(rlae_member *m, const char *name, rlae_model_weights *w,
                                     const char *tokenizer_path, int max_batch, int capacity)
{
    memset(m, 0, sizeof *m);
    m->w = *w;
    memset(w, 0, sizeof *w);
    rlae_status s = member_common(m, name, tokenizer_path, &capacity);
    /* the cache in the weights' dtype: f32 everywhere, bf16 with bf16 weights on CUDA */
    rlae_dtype kv = m->w.tok_embeddings.dtype == RLAE_BF16 ? RLAE_BF16 : RLAE_F32;
    if (s == RLAE_OK && (s = rlae_model_init(&m->model, &m->w, max_batch, 0)) == RLAE_OK)
        s = rlae_kv_cache_init_dtype(&m->cache, &m->w.cfg, max_batch, capacity, m->model.device, kv);
    if (s != RLAE_OK)
        rlae_member_free(m);
    return s;
}

/* A meta-only member's cache: the per-slot lengths on the host and the sizes, no keys or values. */
static rlae_status lengths_only_cache(rlae_member *m, rlae_device dev, int max_batch, int capacity)
{
    const rlae_model_config *c = &m->w.cfg;
    if (max_batch <= 0)
        return rlae_fail(RLAE_ERR_INPUT, "member '%s': batches of %d sequences (need >= 1)", m->name, max_batch);
    rlae_kv_cache *k = &m->cache;
    *k = (rlae_kv_cache){.n_layers = c->n_layers, .n_slots = max_batch, .capacity = capacity,
                         .kv_dim = c->n_kv_heads * c->head_dim, .device = dev, .dtype = RLAE_F32};
    if (!(k->len = rlae_calloc((size_t)max_batch, sizeof(int))))
        return RLAE_ERR_NOMEM;
    /* no scratch: max_seqs 0 makes a stray rlae_forward on it an error, not a crash */
    m->model.w = &m->w;
    m->model.device = dev;
    return RLAE_OK;
}

rlae_status rlae_member_matrix_dtype(rlae_dtype_choice c, rlae_device dev, const char *who, rlae_dtype *out)
{
    *out = RLAE_F32;
    if (dev != RLAE_DEV_CUDA || c == RLAE_DTYPE_FP32)
        return RLAE_OK;
    if (c == RLAE_DTYPE_FP16)
        return rlae_fail(RLAE_ERR_INPUT, "%s: dtype fp16 is not supported on cuda (the CUDA backend runs bf16 or fp32 "
                         "weights); set dtype: bf16 (or auto) or fp32", who);
    *out = RLAE_BF16; /* auto, bf16 */
    return RLAE_OK;
}

rlae_status rlae_member_load(rlae_member *m, const rlae_member_config *cfg, int max_batch, int capacity)
{
    return rlae_member_load_on(m, cfg, RLAE_DEV_CPU, max_batch, capacity);
}

/* rlae_member_load_on (meta 0) and rlae_member_load_meta (meta 1). */
static rlae_status load_member(rlae_member *m, const rlae_member_config *cfg, rlae_device dev, int max_batch,
                               int capacity, int meta)
{
    static const char *formats[] = {[RLAE_FORMAT_AUTO] = "auto", [RLAE_FORMAT_HF] = "hf",
                                    [RLAE_FORMAT_LLAMA2C] = "llama2c"};
    memset(m, 0, sizeof *m);
    char who[256];
    snprintf(who, sizeof who, "member '%s'", cfg->name);
    rlae_dtype dt;
    RLAE_TRY(rlae_member_matrix_dtype(cfg->dtype, dev, who, &dt));
    rlae_model_weights w;
    rlae_status s = meta ? rlae_model_load_config(cfg->path, formats[cfg->format], &w)
                         : rlae_model_load(cfg->path, formats[cfg->format], &w);
    if (s != RLAE_OK)
        return rlae_wrap(s, "member '%s': ", cfg->name);
    char tok_path[4096];
    if (cfg->tokenizer && cfg->tokenizer[0])
        snprintf(tok_path, sizeof tok_path, "%s", cfg->tokenizer);
    else if ((s = rlae_member_find_tokenizer(cfg->path, tok_path, sizeof tok_path)) != RLAE_OK) {
        rlae_model_weights_free(&w);
        return s;
    }
    if (meta) {
        m->w = w;
        m->meta_only = 1;
        if ((s = member_common(m, cfg->name, tok_path, &capacity)) == RLAE_OK)
            s = lengths_only_cache(m, dev, max_batch, capacity);
        if (s != RLAE_OK) {
            rlae_member_free(m);
            return s;
        }
    } else {
        if ((s = rlae_model_weights_to_device(&w, dev, dt)) != RLAE_OK) { /* a no-op on the CPU */
            rlae_model_weights_free(&w);
            return rlae_wrap(s, "member '%s': moving %s to %s: ", cfg->name, cfg->path, rlae_device_name(dev));
        }
        if ((s = rlae_member_from_weights(m, cfg->name, &w, tok_path, max_batch, capacity)) != RLAE_OK)
            return s;
    }
    if ((s = resolve_chat(m, cfg)) != RLAE_OK)
        rlae_member_free(m);
    return s;
}

rlae_status rlae_member_load_on(rlae_member *m, const rlae_member_config *cfg, rlae_device dev, int max_batch,
                                int capacity)
{
    return load_member(m, cfg, dev, max_batch, capacity, 0);
}

rlae_status rlae_member_load_meta(rlae_member *m, const rlae_member_config *cfg, rlae_device dev, int max_batch,
                                  int capacity)
{
    return load_member(m, cfg, dev, max_batch, capacity, 1);
}

rlae_status rlae_member_forward(rlae_member *m, int n_seqs, const int *slots, const int *n_new, const int32_t *tokens,
                                float *logits_out, float *hidden_out)
{
    if (m->meta_only)
        return rlae_fail(RLAE_ERR_RUNTIME, "member '%s' (%s) was loaded without its weights (tokenizer and "
                         "configuration only): its forward cannot run in this process; with dist.placement "
                         "model_parallel it runs on the rank that holds it (member k on rank k mod N)", m->name,
                         m->path);
    return rlae_forward(&m->model, &m->cache, n_seqs, slots, n_new, tokens, logits_out, hidden_out);
}

void rlae_member_free(rlae_member *m)
{
    rlae_kv_cache_free(&m->cache);
    rlae_model_free(&m->model);
    rlae_model_weights_free(&m->w);
    rlae_tokenizer_free(m->tok);
    free(m->name);
    free(m->path);
    free(m->tokenizer_path);
    memset(m, 0, sizeof *m);
}

rlae_status rlae_member_encode_prompt(const rlae_member *m, const char *system, const char *user, int32_t **ids,
                                      size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    char *text = NULL;
    if (m->use_chat)
        RLAE_TRY(rlae_chat_format(m->chat, system, user, &text));
    else if (system && system[0]) {
        size_t n = strlen(system) + strlen(user) + 3;
        if (!(text = rlae_malloc(n)))
            return RLAE_ERR_NOMEM;
        snprintf(text, n, "%s\n\n%s", system, user);
    }
    const char *t = text ? text : user;
    rlae_status s = rlae_tokenizer_encode(m->tok, t, strlen(t), m->add_bos, ids, n_ids);
    free(text);
    if (s == RLAE_OK && *n_ids == 0) {
        free(*ids);
        *ids = NULL;
        s = rlae_fail(RLAE_ERR_INPUT, "member '%s': the prompt is empty and its tokenizer %s adds no BOS; give a "
                      "prompt", m->name, m->tokenizer_path);
    }
    return s;
}
