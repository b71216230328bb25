/* A Llama-family model's hyper-parameters and weights, however they were stored on disk.
 * Loaders (llama2.c checkpoints, HF safetensors directories) fill this; the forward reads it.
 * Layout conventions, whatever the source format:
 *   - every projection is [out, in] row-major (PyTorch nn.Linear layout): y = W x;
 *   - q/k rows are in Hugging Face order (RoPE rotates dims i and i + head_dim/2); loaders of
 *     formats with interleaved RoPE (llama2.c) permute wq/wk rows once at load time;
 *   - lm_head aliases tok_embeddings (not owned twice) when the embeddings are tied. */
#ifndef RLAE_MODEL_WEIGHTS_H
#define RLAE_MODEL_WEIGHTS_H

#include "core/status.h"
#include "core/tensor.h"

typedef enum { RLAE_ROPE_NONE = 0, RLAE_ROPE_LINEAR, RLAE_ROPE_LLAMA3 } rlae_rope_scaling;

typedef struct {
    char arch[32];       /* "llama", "mistral", "qwen2" */
    int dim;             /* hidden size */
    int hidden_dim;      /* MLP intermediate size */
    int n_layers;
    int n_heads;
    int n_kv_heads;
    int head_dim;
    int vocab_size;
    int max_seq_len;
    float norm_eps;
    float rope_theta;
    rlae_rope_scaling rope_scaling;
    float rope_factor;           /* LINEAR and LLAMA3 */
    float rope_low_freq_factor;  /* LLAMA3 */
    float rope_high_freq_factor; /* LLAMA3 */
    int rope_original_max_pos;   /* LLAMA3 */
    int qkv_bias;                /* Qwen2: q/k/v projections have biases */
    int tied_embeddings;
    int bos_id;                  /* -1 when unknown */
    int eos_id;                  /* -1 when unknown */
} rlae_model_config;

typedef struct {
    rlae_tensor attn_norm;        /* [dim] */
    rlae_tensor wq, wk, wv;       /* [n_heads*head_dim, dim], [n_kv_heads*head_dim, dim] x2 */
    rlae_tensor bq, bk, bv;       /* biases or empty (data == NULL) */
    rlae_tensor wo;               /* [dim, n_heads*head_dim] */
    rlae_tensor ffn_norm;         /* [dim] */
    rlae_tensor w_gate, w_up;     /* [hidden_dim, dim] */
    rlae_tensor w_down;           /* [dim, hidden_dim] */
} rlae_layer_weights;

typedef struct {
    rlae_model_config cfg;
    rlae_tensor tok_embeddings;   /* [vocab, dim] */
    rlae_layer_weights *layers;   /* n_layers */
    rlae_tensor final_norm;       /* [dim] */
    rlae_tensor lm_head;          /* [vocab, dim]; aliases tok_embeddings when tied */
    char source[1024];            /* the path it was loaded from, for messages */
} rlae_model_weights;

/* Loads a llama2.c legacy checkpoint (7 x int32 header, fp32 tensors) into fp32 CPU tensors.
 * Every size is checked against the file length; a bad file is RLAE_ERR_INPUT naming the file. */
rlae_status rlae_llama2c_load(const char *path, rlae_model_weights *out);

/* Frees every owned tensor (on whatever device) and the layer array; safe on a zeroed struct. */
void rlae_model_weights_free(rlae_model_weights *w);

/* ---- models on a device (weights_device.c, weights_random.c) --------------------------------- */

/* Moves a model loaded on the CPU (rlae_model_load) to `dev`, once: every tensor is uploaded and the
 * matrices (tok_embeddings, the seven projections of each layer, lm_head) are converted to
 * matrix_dtype, RLAE_F32 or RLAE_BF16 (round to nearest even; BF16 needs dev == RLAE_DEV_CUDA);
 * norms and biases stay fp32. A tied head keeps aliasing the embeddings. The host copies are freed;
 * rlae_model_weights_free releases the device memory. Then rlae_model_init(m, w, ...) runs the
 * forward on `dev` (its scratch, and the KV cache made with m->device, live there too, and the
 * forward's outputs are device pointers). On failure `w` is left as it was (still on the CPU).
 * dev == RLAE_DEV_CPU with RLAE_F32 is a no-op. */
rlae_status rlae_model_weights_to_device(rlae_model_weights *w, rlae_device dev, rlae_dtype matrix_dtype);

/* A random-weight model of the shape `cfg` created directly on `dev` (nothing is uploaded): every
 * matrix uniform in +-1/sqrt(fan_in) (embeddings +-1), norms 1, biases (when cfg->qkv_bias) +-0.1, in
 * matrix_dtype as above, from rlae_op_fill_uniform keyed by `seed` and the tensor: the same seed
 * gives the same model on the CPU and the GPU. cfg->head_dim 0 means dim / n_heads. For benchmarks
 * (rlae bench model --arch) and tests. Zeroed on failure. */
rlae_status rlae_model_weights_random(rlae_model_weights *w, const rlae_model_config *cfg, rlae_device dev,
                                      rlae_dtype matrix_dtype, uint64_t seed);

/* Shapes of well-known architectures for random-weight models: "llama3-8b" (Llama 3 8B),
 * "qwen2.5-7b" (Qwen2.5 7B: qkv bias, GQA 28:4), "mistral-7b" (Mistral 7B v0.3; no sliding window).
 * Unknown names are RLAE_ERR_INPUT listing RLAE_MODEL_PRESET_NAMES. */
#define RLAE_MODEL_PRESET_NAMES "llama3-8b|qwen2.5-7b|mistral-7b"
rlae_status rlae_model_config_preset(const char *name, rlae_model_config *cfg);

/* Bytes the weights of `w` occupy (aliases counted once), on whatever device. */
size_t rlae_model_weights_bytes(const rlae_model_weights *w);

/* Reorders rows of a [n_heads*head_dim, in] projection from interleaved RoPE pairs (2i, 2i+1) to
 * Hugging Face half-split pairs (i, i + head_dim/2), in place. */
void rlae_permute_rope_rows_to_hf(float *w, int n_heads, int head_dim, int in_dim);

#endif
