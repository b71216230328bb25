/* Per-sequence KV cache (see kv_cache.h). Memory comes from the ops layer so it lands on the model's
 * device; only the per-slot lengths live on the host. */
#include "model/kv_cache.h"

#include "ops.h"

#include <string.h>

rlae_status rlae_kv_cache_init(rlae_kv_cache *c, const rlae_model_config *cfg, int n_slots, int capacity,
                               rlae_device dev)
{
    return rlae_kv_cache_init_dtype(c, cfg, n_slots, capacity, dev, RLAE_F32);
}

rlae_dtype rlae_kv_cache_default_dtype(rlae_device dev) { return dev == RLAE_DEV_CUDA ? RLAE_BF16 : RLAE_F32; }

rlae_status rlae_kv_cache_init_dtype(rlae_kv_cache *c, const rlae_model_config *cfg, int n_slots, int capacity,
                                     rlae_device dev, rlae_dtype dtype)
{
    memset(c, 0, sizeof *c);
    if (dtype != RLAE_F32 && !(dtype == RLAE_BF16 && dev == RLAE_DEV_CUDA))
        return rlae_fail(RLAE_ERR_INPUT, "KV cache: %s on %s is not supported; use f32 (bf16 caches are for CUDA "
                         "devices)", rlae_dtype_name(dtype), dev == RLAE_DEV_CUDA ? "cuda" : "cpu");
    if (capacity <= 0)
        capacity = cfg->max_seq_len;
    if (n_slots <= 0 || capacity <= 0)
        return rlae_fail(RLAE_ERR_INPUT, "KV cache: need at least one sequence and one position (got %d x %d)",
                         n_slots, capacity);
    c->n_layers = cfg->n_layers;
    c->n_slots = n_slots;
    c->capacity = capacity;
    c->kv_dim = cfg->n_kv_heads * cfg->head_dim;
    c->device = dev;
    c->dtype = dtype;
    int64_t shape[4] = {c->n_layers, n_slots, capacity, c->kv_dim};
    rlae_status s = rlae_ops_tensor_alloc(&c->k, dtype, dev, 4, shape);
    if (s == RLAE_OK)
        s = rlae_ops_tensor_alloc(&c->v, dtype, dev, 4, shape);
    if (s == RLAE_OK && !(c->len = rlae_calloc((size_t)n_slots, sizeof(int))))
        s = RLAE_ERR_NOMEM;
    if (s != RLAE_OK) {
        rlae_wrap(s, "KV cache of %d sequences x %d positions x %d layers: ", n_slots, capacity, c->n_layers);
        rlae_kv_cache_free(c);
    }
    return s;
}

void rlae_kv_cache_free(rlae_kv_cache *c)
{
    rlae_ops_tensor_free(&c->k);
    rlae_ops_tensor_free(&c->v);
    free(c->len);
    memset(c, 0, sizeof *c);
}

int rlae_kv_cache_len(const rlae_kv_cache *c, int slot)
{
    return slot >= 0 && slot < c->n_slots ? c->len[slot] : -1;
}

rlae_status rlae_kv_cache_reset(rlae_kv_cache *c, int slot)
{
    return rlae_kv_cache_truncate(c, slot, 0);
}

void rlae_kv_cache_reset_all(rlae_kv_cache *c)
{
    for (int i = 0; i < c->n_slots; i++)
        c->len[i] = 0;
}

rlae_status rlae_kv_cache_truncate(rlae_kv_cache *c, int slot, int new_len)
{
    if (slot < 0 || slot >= c->n_slots)
        return rlae_fail(RLAE_ERR_RUNTIME, "KV cache: slot %d outside 0..%d", slot, c->n_slots - 1);
    if (new_len < 0 || new_len > c->len[slot])
        return rlae_fail(RLAE_ERR_RUNTIME, "KV cache: cannot truncate slot %d from %d to %d tokens", slot,
                         c->len[slot], new_len);
    c->len[slot] = new_len;
    return RLAE_OK;
}

static rlae_tensor layer_view(const rlae_kv_cache *c, const rlae_tensor *all, int layer)
{
    int64_t shape[3] = {c->n_slots, c->capacity, c->kv_dim};
    size_t per_layer = (size_t)c->n_slots * c->capacity * c->kv_dim * rlae_dtype_size(all->dtype);
    return rlae_tensor_view((char *)all->data + per_layer * layer, all->dtype, c->device, 3, shape);
}

rlae_tensor rlae_kv_cache_layer_k(const rlae_kv_cache *c, int layer) { return layer_view(c, &c->k, layer); }
rlae_tensor rlae_kv_cache_layer_v(const rlae_kv_cache *c, int layer) { return layer_view(c, &c->v, layer); }
