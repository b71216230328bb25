/* Hugging Face directory -> rlae_model_weights (see hf_model.h).
 * The expected tensor set is derived from config.json alone; the checkpoint must provide each one
 * with exactly the implied shape. Tensors the forward would silently ignore (e.g. an o_proj bias)
 * are reported, because ignoring them would produce a model that runs but computes the wrong thing. */
#include "model/hf_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "model/hf_config.h"
#include "model/safetensors.h"

static const char *dims_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

/* Looks up `name`, checks its shape is [d0] (ndim 1) or [d0, d1] (ndim 2), converts it to fp32. */
static rlae_status take(const rlae_st_checkpoint *ck, const char *name, int ndim, int64_t d0, int64_t d1,
                        rlae_tensor *dst)
{
    int64_t want[2] = {d0, d1};
    char ws[64], hs[256];
    const rlae_st_tensor *t = rlae_st_checkpoint_find(ck, name);
    if (!t)
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s' (shape %s) is missing; the checkpoint does not match "
                         "its config.json or is incomplete", rlae_st_checkpoint_source(ck), name,
                         dims_str(ws, sizeof ws, ndim, want));
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] == want[i];
    if (!ok)
        return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s' has shape %s but config.json implies %s; the checkpoint "
                         "and config.json do not match", t->file, name, dims_str(hs, sizeof hs, t->ndim, t->shape),
                         dims_str(ws, sizeof ws, ndim, want));
    return rlae_st_to_f32(t, dst);
}

/* Names of everything we load, so leftovers can be reported. */
typedef struct {
    char **v;
    size_t n, cap;
} name_list;

static rlae_status note(name_list *l, const char *name)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        char **nv = rlae_realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return RLAE_ERR_NOMEM;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n] = rlae_strdup(name);
    if (!l->v[l->n])
        return RLAE_ERR_NOMEM;
    l->n++;
    return RLAE_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Loads one named tensor, recording the name as consumed. */
static rlae_status take_noted(const rlae_st_checkpoint *ck, name_list *used, const char *name, int ndim, int64_t d0,
                              int64_t d1, rlae_tensor *dst)
{
    RLAE_TRY(note(used, name));
    return take(ck, name, ndim, d0, d1, dst);
}

static rlae_status load_tensors(const rlae_st_checkpoint *ck, rlae_model_weights *w, name_list *used)
{
    const rlae_model_config *c = &w->cfg;
    int64_t D = c->dim, H = c->hidden_dim, V = c->vocab_size;
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    char nm[128];

    RLAE_TRY(take_noted(ck, used, "model.embed_tokens.weight", 2, V, D, &w->tok_embeddings));
    w->layers = rlae_calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers)
        return RLAE_ERR_NOMEM;
    for (int l = 0; l < c->n_layers; l++) {
        rlae_layer_weights *lw = &w->layers[l];
        const struct {
            const char *suffix;
            int ndim;
            int64_t d0, d1;
            rlae_tensor *dst;
        } spec[] = {
            {"input_layernorm.weight", 1, D, 0, &lw->attn_norm},
            {"self_attn.q_proj.weight", 2, qd, D, &lw->wq},
            {"self_attn.k_proj.weight", 2, kvd, D, &lw->wk},
            {"self_attn.v_proj.weight", 2, kvd, D, &lw->wv},
            {"self_attn.o_proj.weight", 2, D, qd, &lw->wo},
            {"post_attention_layernorm.weight", 1, D, 0, &lw->ffn_norm},
            {"mlp.gate_proj.weight", 2, H, D, &lw->w_gate},
            {"mlp.up_proj.weight", 2, H, D, &lw->w_up},
            {"mlp.down_proj.weight", 2, D, H, &lw->w_down},
            {"self_attn.q_proj.bias", 1, qd, 0, &lw->bq},
            {"self_attn.k_proj.bias", 1, kvd, 0, &lw->bk},
            {"self_attn.v_proj.bias", 1, kvd, 0, &lw->bv},
        };
        size_t nspec = sizeof spec / sizeof spec[0] - (c->qkv_bias ? 0 : 3);
        for (size_t i = 0; i < nspec; i++) {
            snprintf(nm, sizeof nm, "model.layers.%d.%s", l, spec[i].suffix);
            RLAE_TRY(take_noted(ck, used, nm, spec[i].ndim, spec[i].d0, spec[i].d1, spec[i].dst));
        }
    }
    RLAE_TRY(take_noted(ck, used, "model.norm.weight", 1, D, 0, &w->final_norm));
    const rlae_st_tensor *head = rlae_st_checkpoint_find(ck, "lm_head.weight");
    if (c->tied_embeddings) {
        /* Some tied checkpoints still store a copy of the head; the config says it is the embedding. */
        if (head)
            RLAE_TRY(note(used, "lm_head.weight"));
        w->lm_head = w->tok_embeddings;
        w->lm_head.owned = 0;
    } else {
        if (!head)
            return rlae_fail(RLAE_ERR_INPUT, "%s: tensor 'lm_head.weight' (shape [%lld, %lld]) is missing while "
                             "config.json has tie_word_embeddings false; set it to true if the head shares the "
                             "embeddings", rlae_st_checkpoint_source(ck), (long long)V, (long long)D);
        RLAE_TRY(take_noted(ck, used, "lm_head.weight", 2, V, D, &w->lm_head));
    }
    return RLAE_OK;
}

/* Reports tensors in the checkpoint that no field consumed. Biases and projections we do not model
 * change the output, so those are errors; other leftovers (rotary inv_freq buffers) are only logged. */
static rlae_status check_leftovers(const rlae_st_checkpoint *ck, name_list *used)
{
    qsort(used->v, used->n, sizeof *used->v, cmp_str);
    size_t extra = 0;
    for (size_t i = 0; i < rlae_st_checkpoint_count(ck); i++) {
        const rlae_st_tensor *t = rlae_st_checkpoint_at(ck, i);
        const char *key = t->name;
        if (bsearch(&key, used->v, used->n, sizeof *used->v, cmp_str))
            continue;
        size_t len = strlen(t->name);
        if (len > 5 && strcmp(t->name + len - 5, ".bias") == 0)
            return rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: tensor '%s' is a bias that config.json does not declare "
                             "(attention_bias/model_type) and the forward would ignore; refusing to load a model "
                             "that would compute the wrong thing", t->file, t->name);
        if (strncmp(t->name, "model.layers.", 13) == 0 && !strstr(t->name, "rotary_emb"))
            return rlae_fail(RLAE_ERR_INPUT, "%s: tensor '%s' is not part of the %s architecture described by "
                             "config.json (too many layers, or a different model?)", t->file, t->name,
                             "Llama-family");
        if (extra++ == 0)
            rlae_debug("%s: ignoring tensor '%s', which the forward does not use", t->file, t->name);
    }
    if (extra > 1)
        rlae_debug("%s: ignored %zu unused tensors in all", rlae_st_checkpoint_source(ck), extra);
    return RLAE_OK;
}

rlae_status rlae_hf_load(const char *dir, rlae_model_weights *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", dir);
    size_t need = strlen(dir) + sizeof "/config.json";
    char *cfg_path = rlae_malloc(need);
    if (!cfg_path)
        return RLAE_ERR_NOMEM;
    snprintf(cfg_path, need, "%s/config.json", dir);
    rlae_status s = rlae_hf_config_load(cfg_path, &out->cfg);
    free(cfg_path);
    if (s != RLAE_OK) {
        memset(out, 0, sizeof *out);
        return s;
    }
    rlae_st_checkpoint *ck = NULL;
    name_list used = {0};
    s = rlae_st_checkpoint_open_dir(dir, &ck);
    if (s == RLAE_OK)
        s = load_tensors(ck, out, &used);
    if (s == RLAE_OK)
        s = check_leftovers(ck, &used);
    for (size_t i = 0; i < used.n; i++)
        free(used.v[i]);
    free(used.v);
    rlae_st_checkpoint_close(ck);
    if (s != RLAE_OK)
        rlae_model_weights_free(out); /* safe on partial loads: unloaded tensors are zeroed */
    return s;
}
