/* Internal to host/model: a flat list of a model's tensors, so code that treats every tensor alike
 * (device upload in weights_device.c, random init in weights_random.c, byte counts) walks one list
 * instead of repeating the layer layout of weights.h. */
#ifndef RLAE_MODEL_WEIGHTS_INTERNAL_H
#define RLAE_MODEL_WEIGHTS_INTERNAL_H

#include "model/weights.h"

typedef enum {
    RLAE_WREF_MATRIX = 0, /* an embedding/projection matrix: takes the model's matrix dtype */
    RLAE_WREF_NORM,       /* an RMSNorm weight: fp32 */
    RLAE_WREF_BIAS        /* a projection bias: fp32, absent (data == NULL) unless cfg.qkv_bias */
} rlae_weight_kind;

typedef struct {
    rlae_tensor *t;
    rlae_weight_kind kind;
} rlae_weight_ref;

/* How many entries rlae_weights_tensor_list writes (absent biases included, with data == NULL). */
int rlae_weights_tensor_count(const rlae_model_weights *w);
/* Fills out[0..count) in a fixed order (embeddings, per layer: attn_norm wq wk wv bq bk bv wo ffn_norm
 * w_gate w_up w_down, then final_norm, lm_head); returns the count. w->layers must be allocated. */
int rlae_weights_tensor_list(rlae_model_weights *w, rlae_weight_ref *out, int cap);

#endif
