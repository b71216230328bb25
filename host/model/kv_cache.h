/* Per-sequence KV cache of a Llama-family model for up to n_slots sequences.
 * Keys and values live on the model's device as [n_layers, n_slots, capacity, kv_dim], fp32, or
 * bf16 on a CUDA device (half the bytes a decode step reads; written rounded to nearest even, read
 * with fp32 accumulation); each slot holds one sequence, whose length (tokens cached) is kept on the host because the
 * host decides positions. The forward (forward.h) appends at len[slot] and advances it; nothing is
 * ever recomputed. Truncating a slot just lowers its length: rows beyond it are never read and are
 * overwritten by the next append. */
#ifndef RLAE_MODEL_KV_CACHE_H
#define RLAE_MODEL_KV_CACHE_H

#include "core/status.h"
#include "core/tensor.h"
#include "model/weights.h"

typedef struct {
    int n_layers;
    int n_slots;   /* sequences it can hold (the maximum batch) */
    int capacity;  /* positions per sequence */
    int kv_dim;    /* n_kv_heads * head_dim */
    rlae_device device;
    rlae_dtype dtype; /* of k and v: RLAE_F32, or RLAE_BF16 on a CUDA device */
    rlae_tensor k, v; /* [n_layers, n_slots, capacity, kv_dim] */
    int *len;         /* host, [n_slots]: tokens cached per slot */
} rlae_kv_cache;

/* capacity <= 0 means cfg->max_seq_len. Zeroed on failure. An fp32 cache on any device. */
rlae_status rlae_kv_cache_init(rlae_kv_cache *c, const rlae_model_config *cfg, int n_slots, int capacity,
                               rlae_device dev);
/* The same with the cache's dtype: RLAE_F32, or RLAE_BF16 on a CUDA device only (RLAE_ERR_INPUT
 * otherwise, naming the fix). */
rlae_status rlae_kv_cache_init_dtype(rlae_kv_cache *c, const rlae_model_config *cfg, int n_slots, int capacity,
                                     rlae_device dev, rlae_dtype dtype);
/* The dtype a cache on `dev` should default to: bf16 on CUDA, fp32 on the CPU. */
rlae_dtype rlae_kv_cache_default_dtype(rlae_device dev);
void rlae_kv_cache_free(rlae_kv_cache *c);

/* Tokens cached in `slot` (its next position). */
int rlae_kv_cache_len(const rlae_kv_cache *c, int slot);
/* Empties one slot, or every slot. */
rlae_status rlae_kv_cache_reset(rlae_kv_cache *c, int slot);
void rlae_kv_cache_reset_all(rlae_kv_cache *c);
/* Keeps the first new_len tokens of `slot` (0 <= new_len <= current length). */
rlae_status rlae_kv_cache_truncate(rlae_kv_cache *c, int slot, int new_len);

/* Views of one layer, [n_slots, capacity, kv_dim], as the attention op takes them. */
rlae_tensor rlae_kv_cache_layer_k(const rlae_kv_cache *c, int layer);
rlae_tensor rlae_kv_cache_layer_v(const rlae_kv_cache *c, int layer);

#endif
