/* Random-weight models of known shapes, generated in memory for benchmarks (`rlae bench model`,
 * `rlae bench ensemble`): the real hyper-parameters of Llama-3-8B, Qwen2.5-7B and Mistral-7B, and
 * small llama2.c shapes that run on a CPU. Nothing is read from or written to disk.
 *
 * Values are a pure function of (seed, tensor, element): Philox4x32-10 (core/rng.h) keyed by the
 * seed, with the counter (element block, layer, tensor kind, tag), so the same seed gives bit-identical
 * weights on any device, in any dtype's rounding, whatever the thread count. Distributions are
 * benign for a forward pass: projections uniform with variance 1/in (logits stay O(1)), embeddings
 * with variance 1, norms 1, biases uniform in [-0.1, 0.1].
 *
 * On a CUDA device the values are generated on the host in bounded chunks (at most
 * RLAE_RANDOM_STAGING_BYTES at a time) and copied into device tensors, so the host never holds the
 * whole model. The tensors come from the ops layer (rlae_ops_tensor_alloc) on `dev`: matrices
 * (embeddings, projections, LM head) in `dtype`, norms and biases in fp32; whether the forward
 * accepts that dtype on that device is the ops' business. */
#ifndef RLAE_MODEL_RANDOM_WEIGHTS_H
#define RLAE_MODEL_RANDOM_WEIGHTS_H

#include "core/status.h"
#include "core/tensor.h"
#include "model/weights.h"

#include <stddef.h>
#include <stdint.h>

#define RLAE_RANDOM_ARCH_NAMES "llama3-8b|qwen2.5-7b|mistral-7b|stories110m|stories15m|tiny"
#define RLAE_RANDOM_STAGING_BYTES ((size_t)64 << 20)

/* The hyper-parameters of a named architecture:
 *   llama3-8b    Meta-Llama-3-8B: dim 4096, 32 layers, 32 heads / 8 kv heads, MLP 14336, vocab 128256,
 *                rope theta 500000, untied head
 *   qwen2.5-7b   Qwen2.5-7B: dim 3584, 28 layers, 28 / 4 heads, MLP 18944, vocab 152064, theta 1e6,
 *                q/k/v biases, untied head, RMSNorm eps 1e-6
 *   mistral-7b   Mistral-7B-v0.3: dim 4096, 32 layers, 32 / 8 heads, MLP 14336, vocab 32768, theta
 *                1e6, untied head, no sliding window
 *   stories110m, stories15m   llama2.c TinyStories models (tied head, vocab 32000)
 *   tiny         the shape of stories260K (dim 64, 5 layers, 8 / 4 heads, vocab 512)
 * Unknown name: RLAE_ERR_INPUT listing the names. */
rlae_status rlae_random_arch_config(const char *name, rlae_model_config *out);

/* Allocates and fills every tensor of a model with configuration *cfg (any shape the forward
 * accepts; cfg->arch etc. are copied as given) on `dev`, matrices in `dtype` (RLAE_F32, RLAE_BF16
 * or RLAE_F16). w->source names the architecture and the seed. On failure *w is zeroed. */
rlae_status rlae_random_weights(rlae_model_weights *w, const rlae_model_config *cfg, rlae_dtype dtype,
                                rlae_device dev, uint64_t seed);

/* Bytes of weight memory *w holds (a tied head counted once). */
size_t rlae_model_weights_nbytes(const rlae_model_weights *w);

/* Bytes one decode step reads from the weights: every layer tensor, the final norm, the LM head,
 * and n_seqs rows of the embedding table (the gather). */
double rlae_model_weights_step_bytes(const rlae_model_weights *w, int n_seqs);

#endif
